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
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_of, figure, finish, header  # noqa: E402

from lwnlab.interp import execute, preset  # noqa: E402

B = "bench_interp"
N = 200_000


def vm_time(src, func, args, policy, repeat=5):
    """Best kernel seconds and the run (executes the module body + one call of func)."""
    best, res = float("inf"), None
    for _ in range(repeat):
        r = execute(src, func, [args], policy)
        if r.seconds < best:
            best, res = r.seconds, r
    return best, res


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
    t, r = vm_time(DISPATCH, "f", (N,), pol)
    ns_vm = t / r.instructions * 1e9
    ns = {}
    exec(DISPATCH, ns)
    f = ns["f"]
    for _ in range(3):
        f(1000)  # let CPython quicken it too
    per_iter = min(timeit.repeat(lambda: f(N), number=1, repeat=5)) / N
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
    t_off, r_off = vm_time(HEAVY, "work", (N,), "off")
    t_on, r_on = vm_time(HEAVY, "work", (N,), "cpython312")
    assert r_on.result == r_off.result
    figure(B, "global/attr loop, specialized", t_on * 1e3, "ms", "same loop, policy off", t_off * 1e3,
           target=">= 1.3x", ok=t_off / t_on >= 1.3, note=f"hit rate {r_on.hit_rate:.2%}")


# ------------------------------------------------------------------------------------------ 3. LOAD_GLOBAL_BUILTIN
def _loads(expr, k=20):
    body = "\n".join(f"        x = {expr}" for _ in range(k)) if expr else "        pass"
    return f"def f(n):\n    y = 1\n    x = 0\n    for i in range(n):\n{body}\n    return x\n"


CLASS_SRC = "class P:\n    k = 1\n"


def load_cost(policy, expr, k=20, rounds=7):
    """ns per `x = expr` minus half an `x = y` (the STORE_FAST), over an empty loop; runs interleaved."""
    p = policy
    best = {"e": float("inf"), "y": float("inf"), "0": float("inf")}
    srcs = {"e": CLASS_SRC + _loads(expr, k), "y": CLASS_SRC + _loads("y", k), "0": CLASS_SRC + _loads(None)}
    for _ in range(rounds):
        for key, src in srcs.items():
            best[key] = min(best[key], execute(src, "f", [(N,)], p).seconds)
    pair = (best["e"] - best["0"]) / (k * N)
    store = (best["y"] - best["0"]) / (k * N) / 2
    return max(pair - store, 1e-12) * 1e9, store * 1e9


def bench_load_global_builtin():
    spec, st = load_cost(preset("cpython312", superinstructions=False), "len")
    gen, _ = load_cost(preset("off"), "len")
    figure(B, "LOAD_GLOBAL_BUILTIN ns", spec, "ns", "generic LOAD_GLOBAL (builtin)", gen,
           target=">= 5x", ok=gen / spec >= 5, note=f"(a LOAD_FAST/STORE_FAST costs ~{st:.2f} ns here)")
    rehash, _ = load_cost(preset("off", hash_cached=False), "len")
    figure(B, "LOAD_GLOBAL_BUILTIN ns", spec, "ns", "generic, rehash each lookup", rehash,
           note="(hash_cached=False)")
    aspec, _ = load_cost(preset("cpython312", superinstructions=False), "P.k")
    agen, _ = load_cost(preset("off"), "P.k")
    figure(B, "LOAD_ATTR_CLASS ns", aspec, "ns", "generic LOAD_ATTR (class)", agen,
           note="(includes the LOAD_GLOBAL of P)")


# ------------------------------------------------------------------------------------------ 4. adaptive overhead
UNSPEC = """
def f(n):
    t = 0.5
    for i in range(n):
        t = t + i // 3 - i % 7
    return t
"""


def bench_overhead():
    t_off, _ = vm_time(UNSPEC, "f", (N,), "off")
    t_on, r_on = vm_time(UNSPEC, "f", (N,), preset("cpython312", families=("LOAD_GLOBAL", "BINARY_OP")))
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
