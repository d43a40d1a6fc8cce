"""lwnlab's eBPF interpreter vs the live kernel (BPF_PROG_LOAD socket filter + BPF_PROG_TEST_RUN).

Random verifier-safe programs (lwnlab.bpf.randprog) run on both; the kernel's retval is a u32, so
each program also runs with ``rsh r0, 32`` before its exit to compare the upper half.
Scale with LWNLAB_DIFF_EXAMPLES (default 150 programs).
"""

import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from lwnlab.bpf import asm, disasm, isa, program, randprog, vm
from lwnlab.bpf.program import Insn
from lwnlab.seccomp import kernel
from lwnlab.system import probe_bpf

pytestmark = pytest.mark.kernel
EXAMPLES = int(os.environ.get("LWNLAB_DIFF_EXAMPLES", "150"))

_p = probe_bpf()
if not _p.usable:
    pytest.skip(f"bpf(BPF_PROG_LOAD) is not usable here: {_p.detail}", allow_module_level=True)


def kernel_r0(insns):
    """The full 64-bit r0 the kernel computes (two runs: low half, then high half)."""
    lo = kernel.run_ebpf(program.encode(insns))
    hi_prog = randprog.insert_before(insns, randprog.main_exit(insns),
                                     Insn(isa.BPF_ALU64 | isa.BPF_RSH | isa.BPF_K, 0, 0, 0, 32))
    hi = kernel.run_ebpf(program.encode(hi_prog))
    assert lo.loaded and hi.loaded, lo.log[-2000:] + hi.log[-2000:]
    return lo.retval | (hi.retval << 32)


def lwnlab_r0(insns):
    res = vm.run_program(program.to_array(insns))
    assert res.error is None, res.error
    return res.r0


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_random_programs_agree_with_the_kernel(data):
    draw = lambda lo, hi: data.draw(st.integers(lo, hi))  # noqa: E731
    insns = randprog.ebpf_scalar_program(draw)
    program.check_program(insns)
    assert lwnlab_r0(insns) == kernel_r0(insns), "\n" + disasm.disassemble(insns)


@pytest.mark.parametrize("text,expect", [
    ("mov %r0, 0x1234\nadd %r0, 5\nexit", 4665),
    ("mov %r0, 7\nmov %r1, 0\ndiv %r0, %r1\nexit", 0),
    ("mov %r0, 7\nmov %r1, 0\nmod %r0, %r1\nexit", 7),
    ("lddw %r0, 0x100000007\nmov %r1, 0\nmod32 %r0, %r1\nexit", 7),
    ("mov %r0, -7\nmov %r1, 2\nsdiv %r0, %r1\nexit", (-3) & 0xFFFFFFFFFFFFFFFF),
    ("lddw %r0, 0x8000000000000000\nmov %r1, -1\nsdiv %r0, %r1\nexit", 0x8000000000000000),
    ("lddw %r0, 0x8000000000000000\nmov %r1, -1\nsmod %r0, %r1\nexit", 0),
    ("mov %r0, 1\nmov %r1, 65\nlsh %r0, %r1\nexit", 2),
    ("lddw %r0, 0x1122334455667788\nbe16 %r0\nexit", 0x8877),
    ("lddw %r0, 0x1122334455667788\nbswap64 %r0\nexit", 0x8877665544332211),
    ("mov %r1, 0x80\nmovsx8 %r0, %r1\nexit", 0xFFFFFFFFFFFFFF80),
    ("mov %r1, 5\nstxdw [%r10-8], %r1\nmov %r2, 3\nlock fetch add [%r10-8], %r2\nldxdw %r0, [%r10-8]\n"
     "add %r0, %r2\nexit", 13),
    ("mov %r1, 5\nstxdw [%r10-8], %r1\nmov %r0, 5\nmov %r2, 9\nlock cmpxchg [%r10-8], %r2\nldxdw %r1, [%r10-8]\n"
     "add %r0, %r1\nexit", 14),
    ("mov %r6, 2\ncall local f\nadd %r0, %r6\nexit\nf: mov %r6, 40\nmov %r0, %r6\nexit", 42),
    ("mov %r0, 1\njeq %r0, 2, +1\ngotol +1\nmov %r0, 2\nexit", 1),
])
def test_fixed_programs(text, expect):
    insns = asm.assemble(text)
    assert lwnlab_r0(insns) == expect
    assert kernel_r0(insns) == expect


@pytest.mark.parametrize("text,frag", [
    ("mov %r0, %r2\nexit", "!read_ok"),
    ("mov %r0, 1", "last insn"),
])
def test_kernel_refuses_what_lwnlab_cannot_run(text, frag):
    insns = asm.assemble(text)
    out = kernel.run_ebpf(program.encode(insns))
    assert not out.loaded and frag in out.log + str(out.errno)


# ------------------------------------------------------------------ map semantics vs the kernel's maps


def _map_ops(draw_int, n):
    ops = []
    for _ in range(n):
        ops.append((draw_int(0, 3), draw_int(0, 9), draw_int(0, 1 << 20), draw_int(0, 6)))
    return ops


@pytest.mark.parametrize("map_type,max_entries", [(1, 4), (2, 6)])
@settings(max_examples=max(10, EXAMPLES // 5), deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_map_errnos_agree_with_the_kernel(map_type, max_entries, data):
    """Random lookup/update(flags 0..6)/delete/next_key sequences on an array or hash map: same return
    values and errnos as bpf(2) on the live kernel, and the same contents at the end."""
    from lwnlab.bpf import kernel_maps, maps
    from lwnlab.bpf.helpers import MapSpec

    ok, why = kernel_maps.available()
    if not ok:
        pytest.skip(f"cannot create BPF maps here: {why}")
    draw = lambda lo, hi: data.draw(st.integers(lo, hi))  # noqa: E731
    ours = maps.create(MapSpec(map_type, 4, 8, max_entries, "m"))
    with kernel_maps.KernelMap(map_type, 4, 8, max_entries) as theirs:
        for op, key, value, flags in _map_ops(draw, 40):
            if op == 0:
                want = theirs.lookup(key)
                assert ours.lookup(key) == want, ("lookup", key)
            elif op == 1:
                assert ours.update(key, value, flags) == theirs.update(key, value, flags), ("update", key, flags)
            elif op == 2:
                assert ours.delete(key) == theirs.delete(key), ("delete", key)
            elif map_type == 2 or ours.lookup(key) is None:
                # a hash map's order is its buckets' (jhash with a random seed): only an absent key's
                # answer (the first key, or -ENOENT when empty) is comparable
                rk, _ = theirs.next_key(key)
                assert ours.next_key(key)[0] == rk, ("next_key", key)
        kernel_contents = {}
        rc, k = theirs.next_key(None)
        while rc == 0:
            kernel_contents[k] = int.from_bytes(theirs.lookup(k), "little")
            rc, k = theirs.next_key(k)
        assert ours.as_dict() == kernel_contents


def _helper_program(ops):
    """A program that makes the helper calls in ``ops`` on map 1 and stores each result in out[i] (map 2)."""
    lines = []
    for i, (op, key, value, flags) in enumerate(ops):
        lines += [f"stw [%r10-4], {key}", f"stdw [%r10-16], {value}", "lddw %r1, map_fd(1)", "mov %r2, %r10",
                  "add %r2, -4"]
        if op == 0:
            lines += ["call 1", "jeq %r0, 0, +2", "ldxdw %r0, [%r0+0]", "ja +1", "mov %r0, -1"]
        elif op == 1:
            lines += ["mov %r3, %r10", "add %r3, -16", f"mov %r4, {flags}", "call 2"]
        else:
            lines += ["call 3"]
        lines += ["stxdw [%r10-24], %r0", f"stw [%r10-28], {i}", "lddw %r1, map_fd(2)", "mov %r2, %r10",
                  "add %r2, -28", "mov %r3, %r10", "add %r3, -24", "mov %r4, 0", "call 2"]
    lines += ["mov %r0, 0", "exit"]
    return asm.assemble("\n".join(lines))


@pytest.mark.parametrize("map_type,max_entries", [(1, 3), (2, 5)])
@settings(max_examples=max(10, EXAMPLES // 10), deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_map_helpers_in_programs_agree_with_the_kernel(map_type, max_entries, data):
    """The same helper calls made by a program: lwnlab's runtime (map ops inside the numba loop) vs
    a socket filter in the live kernel, compared on every return value and the final contents."""
    from lwnlab.bpf import kernel_maps, maps
    from lwnlab.bpf.helpers import MapSpec
    from lwnlab.bpf.runtime import Runtime

    import numpy as np

    ok, why = kernel_maps.available()
    if not ok:
        pytest.skip(f"cannot create BPF maps here: {why}")
    draw = lambda lo, hi: data.draw(st.integers(lo, hi))  # noqa: E731
    ops = [(draw(0, 2), draw(0, 7), draw(0, 1000), draw(0, 5)) for _ in range(draw(1, 24))]
    insns = _helper_program(ops)
    target = maps.create(MapSpec(map_type, 4, 8, max_entries, "m"))
    out = maps.create(MapSpec(2, 4, 8, len(ops), "out"))
    rt = Runtime({1: target, 2: out})
    rt.run_words(rt.resolve(insns), np.zeros((1, 16), np.uint32))
    with kernel_maps.KernelMap(map_type, 4, 8, max_entries) as kt, kernel_maps.KernelMap(2, 4, 8, len(ops)) as ko:
        loaded, retval, log = kernel_maps.run_with_maps(insns, {1: kt, 2: ko})
        assert loaded, log[-3000:]
        for i in range(len(ops)):
            assert out.lookup(i) == ko.lookup(i), (i, ops[i])
        kernel_contents = {}
        rc, k = kt.next_key(None)
        while rc == 0:
            kernel_contents[k] = int.from_bytes(kt.lookup(k), "little")
            rc, k = kt.next_key(k)
        assert target.as_dict() == kernel_contents
