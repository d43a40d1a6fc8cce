"""The BPF machine: classic seccomp filters and the eBPF interpreter, against pure-Python interpreters.

Every figure is measured in this run beside its baseline:

* cBPF ns per executed instruction (numba batch engine) on the Docker-style linear policy built by
  libseccomp (~970 instructions), over random syscalls -- vs the pure-Python classic interpreter
  (lwnlab.bpf.reference.run_classic) on a sample of the same syscalls; target <= 5 ns/insn;
* a 1M-syscall trace through that ~1000-instruction filter, seconds; target "about a second";
* the eBPF interpreter ns per instruction on an ALU/branch loop -- vs the pure-Python eBPF
  interpreter (lwnlab.bpf.reference.run); target <= 10 ns/insn;
* re-running a 10k-syscall trace after a widget edit (assemble + check + run) -- target < 50 ms;
* linear vs binary-tree policy: mean path over nr 0..459 (reference: 311 vs 16 instructions);
* the action cache: syscalls answered without running the filter, and what it saves;
* an eBPF seccomp filter (the 2021 proposal, never merged) that counts syscalls in an array map and
  then decides, ns per instruction (target <= 15) -- vs the classic filter making the same decision.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_of, figure, finish, header  # noqa: E402

B = "bench_bpf"


def random_words(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = np.zeros((n, 16), np.uint32)
    w[:, 0] = rng.integers(0, 460, n)
    w[:, 1] = 0xC000003E
    w[:, 2:] = rng.integers(0, 1 << 32, (n, 14), dtype=np.uint64).astype(np.uint32)
    return w


def main() -> None:
    from lwnlab.bpf import asm, program, reference, vm
    from lwnlab.seccomp import libseccomp as L
    from lwnlab.seccomp.filter import Filter, Stack

    header(B, "classic seccomp filters and eBPF in numba vs pure Python")
    lin = L.container_policy()
    tree = L.container_policy(tree=True)
    stack = Stack([lin.filter], cache=False)

    # --- cBPF ns/insn ------------------------------------------------------------------
    w = random_words(200_000)
    stack.run_batch(w[:10])  # compile / load from cache
    _, _, steps = stack.run_batch(w)
    total = int(steps.sum())
    t = best_of(lambda: stack.run_batch(w), repeat=5)
    ns_numba = t / total * 1e9
    prog = list(lin.filter.checked)
    sample = w[:1500]
    t0 = time.perf_counter()
    psteps = 0
    for row in sample:
        _, s = reference.run_classic(prog, row)
        psteps += s
    ns_py = (time.perf_counter() - t0) / psteps * 1e9
    figure(B, "cbpf_ns_per_insn", ns_numba, "ns", "pure_python_cbpf", ns_py, target="<= 5 ns/insn",
           ok=ns_numba <= 5.0, note=f"{lin.instructions}-insn linear policy, mean path {total / len(w):.0f}")

    # --- 1M syscalls through the ~1000-instruction filter ------------------------------------
    big = random_words(1_000_000, seed=1)
    t1m = best_of(lambda: stack.run_batch(big), repeat=2)
    py_1m = ns_py * 1e-9 * (total / len(w)) * 1_000_000
    figure(B, "trace_1M_syscalls", t1m, "s", "pure_python_projected", py_1m, target="about 1 s",
           ok=t1m <= 1.5, note="pure Python projected from its ns/insn")

    # --- eBPF ns/insn -----------------------------------------------------------------------
    src = """
        mov %r0, 0
        mov %r3, 0
        lddw %r4, {n}
    loop:
        add %r0, %r3
        xor %r0, 0x55
        lsh %r0, 1
        rsh %r0, 1
        stxdw [%r10-8], %r0
        ldxdw %r5, [%r10-8]
        add %r3, 1
        jlt %r3, %r4, loop
        exit
    """
    big_prog = program.to_array(asm.assemble(src.format(n=2_000_000)))
    vm.run_program(big_prog[:0] if False else program.to_array(asm.assemble(src.format(n=10))), budget=10 ** 9)
    res = vm.run_program(big_prog, budget=10 ** 9)
    te = best_of(lambda: vm.run_program(big_prog, budget=10 ** 9), repeat=3)
    ns_e = te / res.steps * 1e9
    small = asm.assemble(src.format(n=20_000))
    t0 = time.perf_counter()
    reference.run(small, budget=10 ** 9)
    ns_epy = (time.perf_counter() - t0) / (20_000 * 8 + 4) * 1e9
    figure(B, "ebpf_ns_per_insn", ns_e, "ns", "pure_python_ebpf", ns_epy, target="<= 10 ns/insn", ok=ns_e <= 10.0,
           note="ALU + stack load/store + branch loop")

    # --- 10k-syscall re-run after a widget edit ------------------------------------------------
    text = """
        ld arch
        jeq #AUDIT_ARCH_X86_64, 1, 0
        ret KILL_PROCESS
        ld nr
        jge #0x40000000, kill
        jeq #execve, kill, 0
        jeq #openat, 0, allow
        ld args[2]
        and #3
        jeq #1, 0, allow
        ret ERRNO({e})
    allow:
        ret ALLOW
    kill:
        ret KILL
    """
    w10k = random_words(10_000, seed=2)
    n_edit = [0]

    def edit():
        n_edit[0] += 1
        f = Filter.from_asm(text.format(e=n_edit[0] % 100 + 1))
        return Stack([f]).run_batch(w10k)

    edit()
    t_edit = best_of(edit, repeat=7)
    f0 = Filter.from_asm(text.format(e=1))
    p0 = list(f0.checked)
    t0 = time.perf_counter()
    for row in w10k[:2000]:
        reference.run_classic(p0, row)
    py_10k = (time.perf_counter() - t0) * 5
    figure(B, "widget_rerun_10k", t_edit * 1e3, "ms", "pure_python_10k", py_10k * 1e3, target="< 50 ms",
           ok=t_edit < 0.05, note="assemble + kernel checks + action cache + run")

    # --- linear vs tree -------------------------------------------------------------------------
    mlin, maxlin = L.mean_path(lin.filter)
    mtree, maxtree = L.mean_path(tree.filter)
    figure(B, "tree_mean_path", mtree, "insns", "linear_mean_path", mlin, target="~16 vs ~311 (reference)",
           ok=mtree < 25 and 250 < mlin < 400,
           note=f"{tree.instructions} vs {lin.instructions} insns; max path {maxtree} vs {maxlin}")

    # --- the action cache -------------------------------------------------------------------------
    from lwnlab.seccomp.trace import recorded_trace
    from lwnlab.seccomp.data import batch_words

    tw = batch_words(recorded_trace())
    cached_stack = Stack([lin.filter], cache=True)
    cached_stack.run_batch(tw)
    _, who, st_c = cached_stack.run_batch(tw)
    _, _, st_n = stack.run_batch(tw)
    tw_big = np.repeat(tw, 200, axis=0)
    t_c = best_of(lambda: cached_stack.run_batch(tw_big), repeat=3) / len(tw_big) * 1e9
    t_n = best_of(lambda: stack.run_batch(tw_big), repeat=3) / len(tw_big) * 1e9
    figure(B, "action_cache_ns_per_syscall", t_c, "ns", "no_cache_ns_per_syscall", t_n,
           target="cache hits skip BPF (kernel: +8 vs +92 ns)", ok=t_c < t_n,
           note=f"recorded ls trace: {int((who == -2).sum())}/{len(tw)} cached, "
                f"{st_c.mean():.1f} vs {st_n.mean():.1f} insns/syscall")

    # --- eBPF seccomp filter with a map (BPF_PROG_TYPE_SECCOMP: proposed 2021, never merged) -------
    ebpf_map_filter(stack_cls=Stack, filter_cls=Filter)
    finish()


COUNTER = """
.map 1 counts array key_size=4 value_size=8 max_entries=512
    ldxw %r6, [%r1+0]               # nr
    stxw [%r10-4], %r6
    lddw %r1, map_fd(1)
    mov %r2, %r10
    add %r2, -4
    call 1                          # counts[nr]
    jeq %r0, 0, allow
    mov %r1, 1
    lock add [%r0+0], %r1           # counts[nr] += 1
    jne %r6, 101, allow
    mov32 %r0, 0x00050001           # ptrace: ERRNO(EPERM)
    exit
allow:
    mov32 %r0, 0x7fff0000
    exit
"""
SAME_DECISION = """
    ld nr
    jeq #ptrace, 0, allow
    ret ERRNO(1)
allow:
    ret ALLOW
"""


def ebpf_map_filter(stack_cls, filter_cls) -> None:
    """ns per instruction of an eBPF seccomp filter that counts syscalls per number in an array map
    (the map lookup runs inside the numba loop) and then decides; vs the classic filter deciding the same."""
    from lwnlab.seccomp.ebpf import EbpfFilter

    n = 1_000_000
    w = random_words(n, seed=3)
    f = EbpfFilter.from_asm(COUNTER, verify=False)
    f.run_words(w[:10])
    r_e, st_e = f.run_words(w)
    t_e = best_of(lambda: f.run_words(w), repeat=5)
    cpu_e = float("inf")
    for _ in range(3):  # CPU time of this (single-threaded) run: less disturbed by other processes
        cpu0 = time.process_time()
        f.run_words(w)
        cpu_e = min(cpu_e, time.process_time() - cpu0)
    classic = stack_cls([filter_cls.from_asm(SAME_DECISION)], cache=False)
    r_c, _, st_c = classic.run_batch(w)
    assert (r_c == r_e).all(), "the two filters must decide the same"
    t_c = best_of(lambda: classic.run_batch(w), repeat=5)
    ns_insn = t_e / int(st_e.sum()) * 1e9
    figure(B, "ebpf_map_filter_ns_per_insn", ns_insn, "ns", "classic_cbpf_ns_per_insn",
           t_c / int(st_c.sum()) * 1e9, target="<= 15 ns/insn", ok=ns_insn <= 15.0,
           note=f"array-map counter + decision, {st_e.mean():.1f} insns/syscall incl. 1 map lookup; "
                f"CPU {cpu_e / int(st_e.sum()) * 1e9:.2f} ns/insn; eBPF seccomp = 2021 proposal, never merged")
    figure(B, "ebpf_map_filter_ns_per_syscall", t_e / n * 1e9, "ns", "classic_same_decision_ns", t_c / n * 1e9,
           note=f"same decisions on {n} random syscalls ({st_c.mean():.1f} classic insns/syscall; the classic "
                "filter cannot count)")


if __name__ == "__main__":
    main()
