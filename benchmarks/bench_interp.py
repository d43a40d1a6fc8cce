#!/usr/bin/env python3
"""Lab 1 figures: dispatch cost vs CPython, specialization gains, adaptive overhead, compile/cached load.

Every figure is measured in this run, with its baseline beside it (benchmarks/_common.py).
"""

from __future__ import annotations

import dis
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_of, figure, finish, header  # noqa: E402

from lwnlab.interp import execute, preset  # noqa: E402

B = "bench_interp"
N = 200_000


def vm_time(src, func, args, policy, repeat=5):
    """Best kernel seconds and the run (executes the module body + one call of func)."""
    return vm_times(src, func, args, [policy], repeat)[0]


def vm_times(src, func, args, policies, repeat=7, extra=None):
    """vm_time for several policies, measured in interleaved rounds (a burst of load on a shared machine then hits
    every configuration alike instead of one); ``extra`` is a callable timed in the same rounds (best seconds)."""
    best = [(float("inf"), None) for _ in policies]
    best_extra = float("inf")
    for _ in range(repeat):
        for k, pol in enumerate(policies):
            r = execute(src, func, [args], pol)
            if r.seconds < best[k][0]:
                best[k] = (r.seconds, r)
        if extra is not None:
            t0 = time.perf_counter()
            extra()
            best_extra = min(best_extra, time.perf_counter() - t0)
    return best + ([best_extra] if extra is not None else [])


def per_iter_bytecodes(fn) -> int:
    """CPython bytecodes executed per iteration of fn's (single) for loop: FOR_ITER .. JUMP_BACKWARD."""
    ins = [i for i in dis.get_instructions(fn) if i.opname != "CACHE"]
    start = next(k for k, i in enumerate(ins) if i.opname == "FOR_ITER")
    end = next(k for k, i in enumerate(ins) if i.opname.startswith("JUMP_BACKWARD"))
    return end - start + 1


# ------------------------------------------------------------------------------------------ 1. dispatch
DISPATCH = """
def f(n):
    a = 0
    for i in range(n):
        b = a
        c = b
        d = c
        a = d
        b = a
        c = b
        d = c
        a = d
    return a
"""


def bench_dispatch():
    pol = preset("cpython312", superinstructions=False)
    ns = {}
    exec(DISPATCH, ns)
    f = ns["f"]
    for _ in range(3):
        f(1000)  # let CPython quicken it too
    (t, r), t_cpy = vm_times(DISPATCH, "f", (N,), [pol], repeat=9, extra=lambda: f(N))
    ns_vm = t / r.instructions * 1e9
    per_iter = t_cpy / N
    nb = per_iter_bytecodes(f)
    ns_cpy = per_iter / nb * 1e9
    figure(B, "dispatch ns/instruction", ns_vm, "ns", f"CPython {sys.version_info[0]}.{sys.version_info[1]} "
           "ns/bytecode", ns_cpy, target="<= 2 ns", ok=ns_vm <= 2.0,
           note=f"({r.instructions} VM instructions; CPython {nb} bytecodes/iteration)")


# ------------------------------------------------------------------------------------------ 2. whole loop
HEAVY = """
class P:
    def __init__(self, x):
        self.x = x
        self.y = x + 1
SCALE = 3
OFFSET = 7
def work(n):
    p = P(2)
    t = 0
    for i in range(n):
        t = t + p.x * SCALE + p.y - OFFSET + len(LIST)
    return t
LIST = [1, 2, 3]
"""


def bench_whole_loop():
    (t_off, r_off), (t_on, r_on) = vm_times(HEAVY, "work", (N,), ["off", "cpython312"])
    assert r_on.result == r_off.result
    figure(B, "global/attr loop, specialized", t_on * 1e3, "ms", "same loop, policy off", t_off * 1e3,
           target=">= 1.3x", ok=t_off / t_on >= 1.3, note=f"hit rate {r_on.hit_rate:.2%}")


# ------------------------------------------------------------------------------------------ 3. LOAD_GLOBAL_BUILTIN
def _loads(expr, k=20):
    body = "\n".join(f"        x = {expr}" for _ in range(k)) if expr else "        pass"
    return f"def f(n):\n    y = 1\n    x = 0\n    for i in range(n):\n{body}\n    return x\n"


CLASS_SRC = "class P:\n    k = 1\n"


def load_cost(policy, expr, k=20, rounds=7):
    """Per-statement ns of `x = expr` and of `x = y`, each over an empty loop; the three loops run interleaved.

    Returns (stmt, ref): stmt = one `x = expr` (LOAD_xxx + STORE_FAST), ref = one `x = y` (LOAD_FAST +
    STORE_FAST)."""
    p = policy
    best = {"e": float("inf"), "y": float("inf"), "0": float("inf")}
    srcs = {"e": CLASS_SRC + _loads(expr, k), "y": CLASS_SRC + _loads("y", k), "0": CLASS_SRC + _loads(None)}
    for _ in range(rounds):
        for key, src in srcs.items():
            best[key] = min(best[key], execute(src, "f", [(N,)], p).seconds)
    stmt = (best["e"] - best["0"]) / (k * N) * 1e9
    ref = (best["y"] - best["0"]) / (k * N) * 1e9
    return stmt, ref


def _instr(stmt, ref):
    """Estimated cost of the load instruction alone: the statement minus a STORE_FAST (half an `x = y`)."""
    return stmt - ref / 2


def bench_load_global_builtin():
    # The target is about the instruction alone.  A load must be followed by something that consumes its value, so
    # the loop body is 20 statements `x = len` (LOAD_GLOBAL_xxx + STORE_FAST); an empty loop is subtracted.
    # (a) The instruction, estimated: the statement minus its STORE_FAST, taken as half an `x = y` (LOAD_FAST +
    #     STORE_FAST, both trivial) measured interleaved in the same run.  The target is judged on this.
    # (b) Whole statements: their ratio is a LOWER BOUND of the instruction ratio (the shared STORE_FAST dilutes it).
    # On a loaded machine the difference in (a) can come out at or below zero; it is then reported as unresolved.
    s_spec, ref = load_cost(preset("cpython312", superinstructions=False), "len", rounds=9)
    s_gen, _ = load_cost(preset("off"), "len", rounds=9)
    i_spec, i_gen = _instr(s_spec, ref), _instr(s_gen, ref)
    # Soundness: the generic statement's STORE_FAST runs in the full loop, which may cost more than the hot loop's
    # half an x = y subtracted here; the note gives the ratio with a whole x = y subtracted from the generic side
    # instead (a generous allowance for that STORE_FAST, so a conservative ratio).
    cons = (s_gen - ref) / i_spec if i_spec > 0.05 else float("nan")
    if i_spec > 0.05:
        figure(B, "LOAD_GLOBAL_BUILTIN alone (est.)", i_spec, "ns", "generic LOAD_GLOBAL (builtin)", i_gen,
               target=">= 5x", ok=i_gen / i_spec >= 5,
               note=f"(statement minus half an x = y, which costs {ref:.2f} ns here; {cons:.2f}x if the generic's "
                    "STORE_FAST cost a whole x = y)")
    else:
        print(f"{B}   LOAD_GLOBAL_BUILTIN alone: {i_spec:+.2f} ns estimate (below resolution: not distinguishable "
              f"from a LOAD_FAST) vs generic {i_gen:.2f} ns")
    figure(B, "x = len (LOAD_GLOBAL_BUILTIN+STORE)", s_spec, "ns", "x = len, generic LOAD_GLOBAL", s_gen,
           note="(whole statements: a lower bound of the instruction ratio)")
    s_re, _ = load_cost(preset("off", hash_cached=False), "len")
    figure(B, "x = len (LOAD_GLOBAL_BUILTIN+STORE)", s_spec, "ns", "generic, rehash each lookup", s_re,
           note="(hash_cached=False)")
    a_spec, _ = load_cost(preset("cpython312", superinstructions=False), "P.k")
    a_gen, _ = load_cost(preset("off"), "P.k")
    figure(B, "x = P.k (LOAD_ATTR_CLASS, statement)", a_spec, "ns", "x = P.k, generic LOAD_ATTR", a_gen,
           note="(includes the LOAD_GLOBAL of P and the STORE_FAST)")


# ------------------------------------------------------------------------------------------ 4. adaptive overhead
UNSPEC = """
def f(n):
    t = 0.5
    for i in range(n):
        t = t + i // 3 - i % 7
    return t
"""


def bench_overhead():
    (t_off, _), (t_on, r_on) = vm_times(UNSPEC, "f", (N,), ["off", preset("cpython312",
                                                                            families=("LOAD_GLOBAL", "BINARY_OP"))])
    overhead = t_on / t_off - 1
    figure(B, "unspecializable loop, adaptive", t_on * 1e3, "ms", "same loop, policy off", t_off * 1e3,
           target="overhead <= 10%", ok=overhead <= 0.10,
           note=f"overhead {overhead:+.1%}; BINARY_OP fails {r_on.stats['BINARY_OP']['specialize_fail']}x")


# ------------------------------------------------------------------------------------------ 5. compile / load
def bench_compile():
    # numba/numpy import time is not the VM's: import them first, then time loading lwnlab's kernels + a call
    code = ("import numba, numpy, time; t=time.perf_counter(); from lwnlab.interp import execute; "
            "execute('def f(a):\\n    return a + 1\\n', 'f', [(1,)]); print(time.perf_counter()-t)")
    with tempfile.TemporaryDirectory() as d:
        env = {**os.environ, "NUMBA_CACHE_DIR": d}
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        cold = float(out.stdout.strip().splitlines()[-1])
        wall_cold = time.perf_counter() - t0
        warm = min(float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                        check=True).stdout.strip().splitlines()[-1]) for _ in range(3))
    figure(B, "cached load + first run", warm, "s", "cold compile + first run", cold,
           target="cached < 0.5 s; cold a few s", ok=warm < 0.5 and cold < 5,
           note=f"(cold process wall {wall_cold:.1f} s)")


def main():
    header(B, "lwnlab's PEP 659 VM")
    execute("def f(a):\n    return a\n", "f", [(1,)])  # load the kernel once
    bench_dispatch()
    bench_whole_loop()
    bench_load_global_builtin()
    bench_overhead()
    if os.environ.get("LWNLAB_BENCH_SKIP_COMPILE") != "1":
        bench_compile()
    finish()


if __name__ == "__main__":
    main()
