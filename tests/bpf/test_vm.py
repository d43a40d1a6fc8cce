"""The numba eBPF interpreter: RFC 9669 semantics, bounds checks, and agreement with the reference."""

import random

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from lwnlab.bpf import asm, isa, program, randprog, reference, vm
from lwnlab.errors import ExecutionError

from .conftest import EXAMPLES

M64 = (1 << 64) - 1


def run(text, mem=b"", **kw):
    insns = asm.assemble(text)
    return vm.run_program(program.to_array(insns), mem, **kw)


def r0(text, mem=b"", **kw):
    res = run(text, mem, **kw)
    assert res.error is None, res.error
    return res.r0


@pytest.mark.parametrize("text,expect", [
    ("mov %r0, 0x1234\nadd %r0, 5\nexit", 4665),
    ("mov %r0, 7\ndiv %r0, %r1\nexit", 0),  # r1 = 0 with no memory: div by 0 -> 0
    ("mov %r0, 7\nmod %r0, %r1\nexit", 7),  # mod by 0 leaves dst
    ("lddw %r0, 0x100000007\nmod32 %r0, %r1\nexit", 7),  # 32-bit mod by 0 zeroes the upper half
    ("lddw %r0, 0x100000007\ndiv32 %r0, %r1\nexit", 0),
    ("mov %r0, 1\nmov %r1, 65\nlsh %r0, %r1\nexit", 2),  # shift count masked to 63
    ("mov32 %r0, 1\nmov %r1, 33\nlsh32 %r0, %r1\nexit", 2),  # masked to 31
    ("mov32 %r0, 0x80\nmov %r1, 32\nrsh32 %r0, %r1\nexit", 0x80),
    ("mov %r0, -8\narsh %r0, 1\nexit", (-4) & M64),
    ("mov32 %r0, -8\narsh32 %r0, 1\nexit", 0xFFFFFFFC),
    ("mov %r0, -7\nsdiv %r0, 2\nexit", (-3) & M64),
    ("mov %r0, -7\nsmod %r0, 2\nexit", (-1) & M64),
    ("mov %r0, 7\nsmod %r0, -2\nexit", 1),
    ("lddw %r0, 0x8000000000000000\nsdiv %r0, -1\nexit", 0x8000000000000000),
    ("lddw %r0, 0x8000000000000000\nsmod %r0, -1\nexit", 0),
    ("mov32 %r0, -7\nsdiv32 %r0, 2\nexit", 0xFFFFFFFD),
    ("mov %r0, -1\nmov32 %r0, %r0\nexit", 0xFFFFFFFF),
    ("mov %r1, 0x80\nmovsx8 %r0, %r1\nexit", 0xFFFFFFFFFFFFFF80),
    ("mov %r1, 0x8000\nmovsx1632 %r0, %r1\nexit", 0xFFFF8000),
    ("lddw %r1, 0x80000000\nmovsx32 %r0, %r1\nexit", 0xFFFFFFFF80000000),
    ("lddw %r0, 0x1122334455667788\nbe16 %r0\nexit", 0x8877),
    ("lddw %r0, 0x1122334455667788\nbe32 %r0\nexit", 0x88776655),
    ("lddw %r0, 0x1122334455667788\nbe64 %r0\nexit", 0x8877665544332211),
    ("lddw %r0, 0x1122334455667788\nle16 %r0\nexit", 0x7788),
    ("lddw %r0, 0x1122334455667788\nle64 %r0\nexit", 0x1122334455667788),
    ("lddw %r0, 0x1122334455667788\nbswap32 %r0\nexit", 0x88776655),
    ("mov %r0, 5\nneg %r0\nexit", (-5) & M64),
    ("mov32 %r0, 5\nneg32 %r0\nexit", 0xFFFFFFFB),
    ("lddw %r0, 0xffffffff\nmul %r0, %r0\nexit", 0xFFFFFFFE00000001),
    ("mov %r0, -1\njsgt %r0, 0, +1\nmov %r0, 3\nexit", 3),
    ("lddw %r0, 0x1ffffffff\njeq32 %r0, -1, +1\nmov %r0, 3\nexit", 0x1FFFFFFFF),
    ("mov %r0, 0\njset %r0, 1, +1\nmov %r0, 9\nexit", 9),
    ("mov %r0, 1\ngotol +1\nmov %r0, 2\nexit", 1),
])
def test_semantics(text, expect):
    assert r0(text) == expect


def test_memory_and_uBPF_convention():
    mem = bytes(range(1, 9))
    assert r0("mov %r0, %r2\nexit", mem) == 8
    assert r0("ldxw %r0, [%r1+2]\nexit", mem) == 0x06050403
    assert r0("ldxh %r0, [%r1]\nexit", b"\xff\xff") == 0xFFFF
    assert r0("ldxsh %r0, [%r1]\nexit", b"\xff\xff") == M64
    res = run("stw [%r1+4], 0x11223344\nmov %r0, 0\nexit", bytes(8))
    assert res.memory["mem"].tobytes() == bytes(4) + bytes.fromhex("44332211")


def test_stack_and_atomics():
    src = """
    mov %r1, 5
    stxdw [%r10-8], %r1
    mov %r2, 3
    lock add [%r10-8], %r2
    lock fetch add [%r10-8], %r2   ; r2 = 8, mem = 11
    mov %r0, 11
    mov %r3, 99
    lock cmpxchg [%r10-8], %r3     ; equal: mem = 99, r0 = 11
    ldxdw %r4, [%r10-8]
    mov %r5, 1
    lock xchg [%r10-8], %r5        ; r5 = 99, mem = 1
    ldxdw %r0, [%r10-8]
    add %r0, %r4
    add %r0, %r5
    add %r0, %r2
    exit
    """
    assert r0(src) == 1 + 99 + 99 + 8


def test_atomic32_fetch_and_cmpxchg_mismatch():
    src = """
    lddw %r1, 0xffffffff00000005
    stxdw [%r10-8], %r1
    mov %r0, 7
    mov %r2, 1
    lock cmpxchg32 [%r10-8], %r2   ; 5 != 7: no store, r0 = 5
    exit
    """
    assert r0(src) == 5


def test_local_calls_have_their_own_frames():
    src = """
    mov %r6, 100
    stdw [%r10-8], 1
    call local f
    ldxdw %r1, [%r10-8]
    add %r0, %r1
    add %r0, %r6        ; r6 restored by the call
    exit
    f:
    mov %r6, 5
    stdw [%r10-8], 40   ; the callee's own frame
    ldxdw %r0, [%r10-8]
    exit
    """
    assert r0(src) == 40 + 1 + 100


def test_recursion_depth_limit():
    res = run("call local f\nexit\nf: call local f\nexit")
    assert res.error is not None and "too deep" in res.error.message and res.error.pc == 2


def test_out_of_bounds_names_pc_and_address():
    res = run("mov %r0, 0\nldxw %r0, [%r1+8]\nexit", bytes(8))
    assert isinstance(res.error, ExecutionError)
    assert res.error.pc == 1 and "out-of-bounds" in res.error.message and "0x100000008" in res.error.message


def test_stack_overflow_and_host_pointers_are_refused():
    assert run("stdw [%r10+0], 1\nexit").error.pc == 0
    assert run("stdw [%r10-520], 1\nexit").error is not None  # below the frame
    assert run("lddw %r1, 0x7fffffffe000\nldxdw %r0, [%r1]\nexit").error is not None


def test_misaligned_stack_access():
    res = run("stw [%r10-6], 1\nexit")
    assert res.error is not None and "misaligned" in res.error.message
    assert run("stw [%r1+1], 1\nmov %r0, 0\nexit", bytes(8)).error is None  # unaligned packet access is fine
    assert run("stw [%r1+1], 1\nexit", bytes(8), align=vm.ALIGN_ALL).error is not None


def test_budget_stops_infinite_loops():
    res = run("ja -1\nexit", budget=1000)
    assert res.error is not None and "budget" in res.error.message and res.steps == 1000


def test_readonly_region():
    m = vm.Machine(program.to_array(asm.assemble("stw [%r1+0], 1\nexit")))
    res = m.run([vm.Region("ctx", vm.MEM_BASE, np.zeros(8, np.uint8), writable=False)], args=(vm.MEM_BASE,))
    assert res.error is not None and "read-only" in res.error.message


def test_helper_hook():
    m = vm.Machine(program.to_array(asm.assemble("mov %r1, 20\ncall 7\nadd %r0, 1\nexit")),
                   helpers={7: lambda machine, regs: int(regs[1]) * 2})
    assert m.run().r0 == 41
    res = vm.Machine(program.to_array(asm.assemble("call 9\nexit"))).run()
    assert res.error is not None and "unknown helper function 9" in res.error.message and res.error.pc == 0
    # a helper the kernel has: the error says where it is available instead of calling it unknown
    res = vm.Machine(program.to_array(asm.assemble("call 5\nexit"))).run()
    assert "bpf_ktime_get_ns" in res.error.message and "seccomp run --ebpf" in res.error.message
    res = vm.Machine(program.to_array(asm.assemble("call 9999\nexit"))).run()
    assert res.error.message == "call to unknown helper function 9999"


def test_helpers_read_and_write_memory_with_bounds_checks():
    def strlen(machine, regs):
        data = machine.read(int(regs[1]), int(regs[2]))
        return data.index(0) if 0 in data else len(data)

    def poke(machine, regs):
        machine.write(int(regs[1]), b"\x2a")
        return 0

    m = vm.Machine(program.to_array(asm.assemble("call 1\nexit")), helpers={1: strlen})
    res = m.run([vm.Region("mem", vm.MEM_BASE, np.frombuffer(b"abc\0zz", np.uint8).copy())], args=(vm.MEM_BASE, 6))
    assert res.r0 == 3
    m = vm.Machine(program.to_array(asm.assemble("mov %r1, %r10\nadd %r1, -8\ncall 2\nldxb %r0, [%r10-8]\nexit")),
                   helpers={2: poke})
    assert m.run().r0 == 42
    res = vm.Machine(program.to_array(asm.assemble("call 1\nexit")), helpers={1: strlen}).run(args=(0, 4))
    assert res.error is not None and "helper 1" in res.error.message and res.error.pc == 0


def test_legacy_packet_loads():
    insns = asm.assemble("ldabsh 2\nexit")
    res = vm.run_program(program.to_array(insns), bytes([0, 0, 0x12, 0x34]), packet=True)
    assert res.r0 == 0x1234
    res = vm.run_program(program.to_array(insns), bytes([0, 0, 0x12]), packet=True)
    assert res.r0 == 0 and res.error is None  # out of bounds: the program ends with 0


def test_widget_style_reruns_do_not_recompile(no_recompile):
    insns = program.to_array(asm.assemble("mov %r0, 1\nexit"))
    vm.run_program(insns)
    with no_recompile():
        for k in range(3):
            vm.run_program(program.to_array(asm.assemble(f"mov %r0, {k}\nadd %r0, %r2\nexit")), bytes(k))


# ------------------------------------------------------------------ numba vs the pure-Python reference

@settings(max_examples=EXAMPLES, deadline=None)
@given(st.data())
def test_numba_agrees_with_reference(data):
    draw = lambda lo, hi: data.draw(st.integers(lo, hi))  # noqa: E731
    insns = randprog.ebpf_scalar_program(draw)
    program.check_program(insns)
    res = vm.run_program(program.to_array(insns))
    want, _ = reference.run(insns)
    assert res.error is None
    assert res.r0 == want, "\n" + __import__("lwnlab.bpf.disasm", fromlist=["x"]).disassemble(insns)


def test_numba_agrees_with_reference_on_faults():
    rng = random.Random(5)
    for _ in range(40):
        off = rng.choice([-16, -9, 0, 6, 8, 60])
        text = f"ldxdw %r0, [%r1{off:+d}]\nexit"
        insns = asm.assemble(text)
        res = vm.run_program(program.to_array(insns), bytes(16))
        try:
            want, _ = reference.run(insns, bytes(16))
            assert res.error is None and res.r0 == want
        except reference.RefFault as f:
            assert res.error is not None and res.error.pc == f.pc


# ------------------------------------------------------------------ maps inside the loop, batches


def _runtime_with(text, **maps_):
    from lwnlab.bpf.runtime import Runtime

    rt = Runtime(maps_)
    return rt, rt.resolve(asm.assemble(text))


COUNT = """
    ldxw %r2, [%r1+0]
    stxw [%r10-4], %r2
    lddw %r1, map_fd(1)
    mov %r2, %r10
    add %r2, -4
    call 1
    jeq %r0, 0, out
    mov %r1, 1
    lock add [%r0+0], %r1
    ldxdw %r0, [%r0+0]
out:
    exit
"""


def test_map_calls_run_inside_the_loop_without_python():
    from lwnlab.bpf import maps

    counts = maps.array("counts", 8, 4)
    rt, prog = _runtime_with(COUNT, **{"1": counts})
    words = np.zeros((5, 16), np.uint32)
    words[:, 0] = [1, 1, 3, 9, 1]
    regs = np.zeros(isa.MAX_REG, np.uint64)
    frames = np.zeros((isa.MAX_CALL_FRAMES, 6), np.uint64)
    state = np.zeros(vm.STATE_LEN, np.int64)
    state[vm.ST_STACK_END] = rt.stack_end
    r0 = np.zeros(5, np.int64)
    steps = np.zeros(5, np.int64)
    done = vm.run_batch(prog.array, rt.arena, rt.table, regs, frames, state, np.int64(1000), np.int64(vm.ALIGN_STACK),
                        rt.map_table, np.int64(rt.ctx_region), words, np.int64(0), r0, steps)
    assert done == 5  # never paused for Python
    assert list(r0) == [1, 2, 1, 0, 3] and counts.as_dict() == {0: 0, 1: 3, 2: 0, 3: 1}
    assert list(steps) == [11, 11, 11, 8, 11]  # lddw is one instruction (two slots)


def test_map_value_pointer_is_bounds_checked():
    from lwnlab.bpf import maps
    from lwnlab.errors import ExecutionError

    text = COUNT.replace("ldxdw %r0, [%r0+0]", "ldxdw %r0, [%r0+8]")  # one past the 8-byte value, last slot
    rt, prog = _runtime_with(text, **{"1": maps.array("a", 8, 2)})
    words = np.zeros((1, 16), np.uint32)
    assert rt.run_words(prog, words)[0][0] == 0  # slot 0 + 8 is slot 1: inside the region
    words[0, 0] = 1
    with pytest.raises(ExecutionError, match="out-of-bounds") as e:
        rt.run_words(prog, words)
    assert e.value.pc == 10  # pcs count slots: lddw takes two


def test_map_helpers_with_a_bad_map_pointer_or_key():
    from lwnlab.bpf import maps
    from lwnlab.errors import ExecutionError

    rt, prog = _runtime_with("mov %r1, 7\ncall 1\nexit", **{"1": maps.array("a", 8, 2)})
    with pytest.raises(ExecutionError, match="not a map"):
        rt.run_words(prog, np.zeros((1, 16), np.uint32))
    rt, prog = _runtime_with("lddw %r1, map_fd(1)\nmov %r2, 0\ncall 1\nexit", **{"1": maps.array("a", 8, 2)})
    with pytest.raises(ExecutionError, match="out-of-bounds memory access at address 0x0") as e:
        rt.run_words(prog, np.zeros((1, 16), np.uint32))
    assert e.value.pc == 3


def test_access_size_helper():
    for code, size in ((0x61, 4), (0x69, 2), (0x71, 1), (0x79, 8), (0x63, 4), (0x7B, 8), (0x72, 1)):
        assert getattr(vm._access_size, "py_func", vm._access_size)(code) == size
    assert r0("stb [%r10-1], 0x1ff\nsth [%r10-4], 0x12345\nldxb %r0, [%r10-1]\nldxh %r1, [%r10-4]\n"
              "lsh %r1, 8\nor %r0, %r1\nexit") == 0x2345FF


def test_run_batch_refuses_a_context_region_too_small():
    prog, arena, regions, regs, frames, state, budget, align, _, maps_ = vm._warm()
    regions = np.array([[vm.STACK_BASE, isa.STACK_SIZE * isa.MAX_CALL_FRAMES, 0, vm.RF_WRITABLE | vm.RF_STACK],
                        [vm.MEM_BASE, 8, 0, 0]], dtype=np.int64)
    out = np.zeros(2, np.int64)
    row = vm.run_batch(prog, arena, regions, regs, frames, state, budget, align, maps_, np.int64(1),
                       np.zeros((2, 16), np.uint32), np.int64(0), out, out.copy())
    assert row == 0 and state[vm.ST_STATUS] == vm.ERR_OOB


def test_runtime_run_words_validates_shapes():
    from lwnlab.bpf.runtime import Runtime
    from lwnlab.errors import UsageError

    rt = Runtime()
    prog = rt.resolve(asm.assemble("mov %r0, 1\nexit"))
    with pytest.raises(UsageError, match=r"\(N, 16\)"):
        rt.run_words(prog, np.zeros((2, 8), np.uint32))
    r0, steps = rt.run_words(prog, np.zeros((3, 16), np.uint32))
    assert list(r0) == [1, 1, 1] and list(steps) == [2, 2, 2]


def test_one_map_under_two_numbers():
    from lwnlab.bpf import maps

    m = maps.array("a", 8, 4)
    text = COUNT.replace("lddw %r1, map_fd(1)", "lddw %r1, map_fd(2)")
    rt, prog = _runtime_with(COUNT, **{"1": m, "2": m})
    prog2 = rt.resolve(asm.assemble(text))
    w = np.zeros((1, 16), np.uint32)
    rt.run_words(prog, w)
    rt.run_words(prog2, w)
    assert m.as_dict(nonzero=True) == {0: 2} and rt.map_rows == {1: 0, 2: 0}
