"""The loader's structural checks: what the kernel refuses before the verifier proper."""

import pytest

from lwnlab.bpf import asm, program
from lwnlab.bpf.program import Insn
from lwnlab.errors import FilterError


def check(insns):
    program.check_program(insns)


@pytest.mark.parametrize("insns,pc,frag", [
    ([], None, "empty"),
    ([Insn(0x07, 0, 0, 0, 1)], 0, "last instruction"),
    ([Insn(0x8F), Insn(0x95)], 0, "unknown opcode"),
    ([Insn(0xB7, 0, 3, 0, 1), Insn(0x95)], 0, "src_reg"),
    ([Insn(0x95, 1)], 0, "dst_reg"),
    ([Insn(0x95, 0, 0, 0, 1)], 0, "imm"),
    ([Insn(0x05, 0, 0, 5), Insn(0x95)], 0, "outside"),
    ([Insn(0x05, 0, 0, -2), Insn(0x95)], 0, "outside"),
    ([Insn(0xB7, 11, 0, 0, 1), Insn(0x95)], 0, "register"),
    ([Insn(0xB7, 10, 0, 0, 1), Insn(0x95)], 0, "frame pointer"),
    ([Insn(0xDB, 10, 10, -8, 0xE1), Insn(0x95)], 0, "frame pointer"),
    ([Insn(0x18, 0, 0, 0, 1)], 0, "second slot"),
    ([Insn(0x18, 0, 0, 0, 1), Insn(0x07, 0, 0, 0, 0), Insn(0x95)], 1, "second slot"),
    ([Insn(0x15, 0, 0, 1, 0), Insn(0x18), Insn(0), Insn(0x95)], 0, "middle of lddw"),
    ([Insn(0xDC, 1, 0, 0, 8), Insn(0x95)], 0, "immediate"),
    ([Insn(0xDB, 10, 1, -8, 0x02), Insn(0x95)], 0, "atomic"),
    ([Insn(0x3F, 1, 2, 2), Insn(0x95)], 0, "offset"),
    ([Insn(0xBF, 1, 2, 7), Insn(0x95)], 0, "offset"),
    ([Insn(0x85, 0, 1, 0, 5), Insn(0x95)], 0, "outside"),
    ([Insn(0x85, 0, 2, 0, 5), Insn(0x95)], 0, "kfunc"),
    ([Insn(0x18, 1, 1, 0, 3), Insn(0), Insn(0x95)], 0, "maps"),
])
def test_refusals_name_the_pc(insns, pc, frag):
    with pytest.raises(FilterError) as ei:
        check(insns)
    assert ei.value.pc == pc and frag in ei.value.message


def test_functions_must_end_in_exit_and_jumps_stay_inside():
    check(asm.assemble("call local f\nexit\nf: mov %r0, 1\nexit"))
    with pytest.raises(FilterError, match="function"):
        check(asm.assemble("ja +2\nexit\nf: mov %r0, 1\nexit\ncall local f"))
    with pytest.raises(FilterError, match="last instruction"):
        check(asm.assemble("call local f\nmov %r0, 0\nf: mov %r0, 1\nexit"))


def test_decode_odd_length():
    with pytest.raises(FilterError, match="multiple of 8"):
        program.decode(bytes(12))
