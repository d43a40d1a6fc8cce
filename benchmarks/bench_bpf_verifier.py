"""lwnlab's eBPF verifier (pure Python) against the live kernel's verifier on the same programs.

Every figure is measured in this run beside its baseline:

* a 1000-instruction straight-line program (ALU, stack stores and loads), verified with the full
  log and the per-instruction states the notebook's step slider shows -- vs the kernel's
  BPF_PROG_LOAD of the same program (root; log level 0); target < 1 s;
* the same without the log (``log_level=0``), the verifier's own cost;
* a ~1000-instruction program of map lookups with null checks, value accesses and branches over a
  real hash map -- vs the kernel loading it with a map of the same shape; target < 1 s;
* a loop with an unknown bound, refused at the kernel's 1M-instruction budget
  ("BPF program is too large. Processed 1000001 insn") thanks to loop acceleration -- vs the kernel
  walking the same million instructions; target "well under a few seconds";
* the plain walk of that loop (acceleration off) on a 100,000-instruction budget, to show what the
  acceleration saves (its 1M-budget time is about ten times this).

When bpf() is not usable (not root, or a sandbox), the kernel baselines are replaced by the plain
walk (acceleration and log off), and the line says so.  CPU seconds are printed beside wall seconds
(the machine is shared).
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_of, figure, finish, header  # noqa: E402

B = "bench_bpf_vrf"


def straight_line(n: int = 1000):
    from lwnlab.bpf import asm
    lines = []
    for i in range(n - 2):
        r = i % 9 + (1 if i % 9 >= 1 else 0)  # r0, r2..r9 (r1 keeps the context)
        k = i % 5
        if i < 9:
            lines.append(f"mov %r{r}, {i * 7 + 1}")
        elif k == 0:
            lines.append(f"add %r{r}, {i}")
        elif k == 1:
            lines.append(f"xor %r{r}, %r{(r + 2) % 10 if (r + 2) % 10 not in (1,) else 0}")
        elif k == 2:
            lines.append(f"stxdw [%r10-{8 * (i % 16 + 1)}], %r{r}")
        elif k == 3:
            lines.append(f"ldxdw %r{r}, [%r10-{8 * ((i - 1) % 16 + 1)}]")
        else:
            lines.append(f"lsh %r{r}, 3")
    lines += ["mov %r0, 0", "exit"]
    return asm.assemble("\n".join(lines))


def map_program(fd: int, blocks: int = 52):
    """About 1000 instructions: lookups, null checks, value reads and writes, branches."""
    from lwnlab.bpf import asm
    out = ["mov %r6, %r1", "mov %r7, 0"]
    for i in range(blocks):
        out += [f"stdw [%r10-8], {i}", f"lddw %r1, map_fd({fd})", "mov %r2, %r10", "add %r2, -8", "call 1",
                "jeq %r0, 0, +9", "ldxdw %r3, [%r0+0]", "add %r7, %r3", "ldxw %r4, [%r6+0]", "and %r4, 7",
                "mov %r5, %r0", "add %r5, %r4", "ldxb %r3, [%r5+0]", f"jgt %r3, {i}, +1", "stxdw [%r0+8], %r7",
                "add %r7, 1", "and %r7, 0xffff"]
    out += ["mov %r0, %r7", "exit"]
    return asm.assemble("\n".join(out))


UNBOUNDED = "ldxw %r2, [%r1+0]\nmov %r0, 0\nmov %r1, 0\nl: add %r1, 1\nadd %r0, 3\njlt %r1, %r2, l\nexit"


def _kernel():
    """(load(insns) -> seconds, create_map(spec) -> fd) or None when bpf() is not usable."""
    from lwnlab import system
    from lwnlab.bpf import program

    if not system.probe_bpf().usable:
        return None

    def load(insns) -> bool:
        prog = program.encode(insns)
        buf = ctypes.create_string_buffer(bytes(prog), len(prog))
        lic = ctypes.create_string_buffer(b"GPL")
        attr = ctypes.create_string_buffer(144)
        struct.pack_into("<IIQQIIQ", attr, 0, system.BPF_PROG_TYPE_SOCKET_FILTER, len(prog) // 8,
                         ctypes.addressof(buf), ctypes.addressof(lic), 0, 0, 0)
        fd, _ = system.raw_syscall("bpf", system.BPF_PROG_LOAD, attr, 144)
        if fd >= 0:
            os.close(fd)
        return fd >= 0

    def create_map(spec) -> int:
        attr = ctypes.create_string_buffer(128)
        struct.pack_into("<IIIII", attr, 0, spec.type, spec.key_size, spec.value_size, spec.max_entries, 0)
        fd, err = system.raw_syscall("bpf", 0, attr, 128)
        if fd < 0:
            raise OSError(err, os.strerror(err))
        return fd

    return load, create_map


def _cpu(fn) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


def main() -> None:
    from lwnlab.bpf import verifier
    from lwnlab.bpf.helpers import MapSpec
    from lwnlab.bpf.asm import assemble

    header(B, "lwnlab's Python verifier vs the live kernel's verifier")
    k = _kernel()
    spec = MapSpec(1, 8, 16, 64)

    # --- 1000-insn straight line --------------------------------------------------------------
    prog = straight_line()
    v = verifier.check(prog)
    assert v.accepted and v.processed == len(prog), v.message
    t_log = best_of(lambda: verifier.check(prog), repeat=5)
    t_nolog = best_of(lambda: verifier.check(prog, log_level=0), repeat=5)
    cpu = _cpu(lambda: verifier.check(prog))
    if k is not None:
        assert k[0](prog)
        t_k = best_of(lambda: k[0](prog), repeat=20)
        base, bname = t_k, "kernel BPF_PROG_LOAD"
    else:
        base, bname = t_nolog, "lwnlab without log"
    figure(B, f"straight {len(prog)} insns, log", t_log, "s", bname, base, target="< 1 s", ok=t_log < 1.0,
           note=f"cpu {cpu:.3f} s")
    figure(B, f"straight {len(prog)} insns, no log", t_nolog, "s", bname, base, target="< 1 s", ok=t_nolog < 1.0)

    # --- ~1000 insns of map lookups and branches ---------------------------------------------
    fd = k[1](spec) if k is not None else 3
    try:
        mp = map_program(fd)
        maps = {fd: spec}
        v = verifier.check(mp, maps=maps)
        assert v.accepted, v.message
        t_map = best_of(lambda: verifier.check(mp, maps=maps), repeat=3)
        cpu = _cpu(lambda: verifier.check(mp, maps=maps))
        if k is not None:
            assert k[0](mp)
            base, bname = best_of(lambda: k[0](mp), repeat=10), "kernel BPF_PROG_LOAD"
        else:
            base, bname = best_of(lambda: verifier.check(mp, maps=maps, log_level=0), repeat=3), "lwnlab without log"
        figure(B, f"maps+branches {len(mp)} insns", t_map, "s", bname, base, target="< 1 s", ok=t_map < 1.0,
               note=f"cpu {cpu:.3f} s, {v.processed} insns processed")
    finally:
        if k is not None:
            os.close(fd)

    # --- unbounded loop: refused at the 1M budget ---------------------------------------------
    loop = assemble(UNBOUNDED)
    v = verifier.check(loop, log_level=0)
    assert not v.accepted and v.processed == 1_000_001, v.message
    t_loop = best_of(lambda: verifier.check(loop), repeat=3)
    if k is not None:
        assert not k[0](loop)
        base, bname = best_of(lambda: k[0](loop), repeat=3), "kernel (walks 1M insns)"
    else:
        base, bname = t_loop, "lwnlab (no kernel)"
    figure(B, "unbounded loop, 1M budget", t_loop, "s", bname, base, target="< 2 s", ok=t_loop < 2.0,
           note="BPF program is too large. Processed 1000001 insn")
    t_plain = best_of(lambda: verifier.check(loop, log_level=0, max_insns=100_000, accelerate_loops=False),
                      repeat=1)
    figure(B, "accelerated, 1M budget", t_loop, "s", "plain walk, 100k budget", t_plain,
           note="acceleration off for the baseline, on a tenth of the budget (the full walk takes ~10x)")
    finish()


if __name__ == "__main__":
    main()
