"""The uBPF-dialect assembler and disassembler, and the kernel pseudo-C display."""

import struct

import pytest
from hypothesis import given, settings, strategies as st

from lwnlab.bpf import asm, disasm, isa, program
from lwnlab.bpf.program import Insn
from lwnlab.errors import AsmError

from .conftest import EXAMPLES


def enc(text):
    return asm.assemble_bytes(text)


@pytest.mark.parametrize("text,expect", [
    ("mov32 %r0, 1", "b400000001000000"),
    ("mov %r0, -1", "b7000000ffffffff"),
    ("add %r1, %r2", "0f21000000000000"),
    ("ldxw %r0, [%r1+4]", "6110040000000000"),
    ("ldxb %r0, [%r1-2]", "7110feff00000000"),
    ("stxdw [%r10-8], %r1", "7b1af8ff00000000"),
    ("stw [%r10-4], 7", "620afcff07000000"),
    ("lock add [%r10-8], %r1", "db1af8ff00000000"),
    ("lock fetch add32 [%r10-8], %r1", "c31af8ff01000000"),
    ("lock xchg [%r10-8], %r1", "db1af8ffe1000000"),
    ("lock cmpxchg32 [%r10-8], %r1", "c31af8fff1000000"),
    ("jeq %r1, 0x5, +2", "1501020005000000"),
    ("jsgt32 %r1, %r2, -1", "6e21ffff00000000"),
    ("call 1", "8500000001000000"),
    ("exit", "9500000000000000"),
    ("be16 %r3", "dc03000010000000"),
    ("le32 %r3", "d403000020000000"),
    ("bswap64 %r3", "d703000040000000"),
    ("sdiv %r1, %r2", "3f21010000000000"),
    ("smod32 %r1, 3", "9401010003000000"),
    ("movsx8 %r1, %r2", "bf21080000000000"),
    ("movsx1632 %r1, %r2", "bc21100000000000"),
    ("ldxsh %r1, [%r2+6]", "8921060000000000"),
    ("gotol +70000", "0600000070110100"),
    ("neg32 %r4", "8404000000000000"),
    ("arsh %r4, 3", "c704000003000000"),
])
def test_encodings(text, expect):
    assert enc(text).hex() == expect


def test_lddw_two_slots_and_labels():
    p = asm.assemble("lddw %r0, 0x1122334455667788\njeq %r0, 0, out\nmov %r0, 2\nout: exit")
    assert len(p) == 5
    assert p[0] == Insn(0x18, 0, 0, 0, 0x55667788) and p[1] == Insn(0, 0, 0, 0, 0x11223344)
    assert p[2].off == 1  # to `out`, counted in slots from the next instruction


def test_call_local_label():
    p = asm.assemble("call local f\nexit\nf: mov %r0, 3\nexit")
    assert p[0] == Insn(0x85, 0, 1, 0, 1)


def test_comments_and_blank_lines():
    assert asm.assemble("# c\n  ; c\nmov %r0, 1 // trailing\n\nexit") == asm.assemble("mov %r0, 1\nexit")


@pytest.mark.parametrize("text,line,col,frag", [
    ("mov %r0, 1\nfoo %r1, 2", 2, 1, "unknown mnemonic"),
    ("mov %r11, 1", 1, 5, "register"),
    ("ja nowhere", 1, 4, "unknown label"),
    ("ldxw %r0, %r1", 1, 11, "memory operand"),
    ("mov32 %r0, 0x100000000", 1, 12, "out of range"),
    ("add %r0", 1, 1, "2 operands"),
    ("x: exit\nx: exit", 2, 1, "defined twice"),
    ("lock nand [%r10-8], %r1", 1, 1, "atomic"),
    ("ldxw %r0, [%r1+40000]", 1, 11, "16 bits"),
])
def test_errors_name_line_and_column(text, line, col, frag):
    with pytest.raises(AsmError) as ei:
        asm.assemble(text, file="t.s")
    e = ei.value
    assert e.line == line and e.column == col and frag in e.message
    assert e.describe().startswith(f"t.s:{line}:{col}:")


# ------------------------------------------------------------------ round trips

def _valid_insn():
    """Any single valid non-lddw instruction with every field drawn from its legal set."""
    codes = sorted(c for c, i in isa.OPCODES.items() if i.kind != "lddw")

    @st.composite
    def make(draw):
        code = draw(st.sampled_from(codes))
        info = isa.OPCODES[code]
        dst = 0 if info.dst_zero else draw(st.integers(0, 10))
        src = 0 if info.src_zero else draw(st.integers(0, 10))
        off = 0 if info.off_zero else draw(st.sampled_from(info.offsets) if info.offsets else st.integers(-0x8000, 0x7FFF))
        imm = 0 if info.imm_zero else draw(st.sampled_from(info.imms) if info.imms else st.integers(-(1 << 31), (1 << 31) - 1))
        if info.kind == "call":
            src = draw(st.sampled_from([0, 1]))
            imm = draw(st.integers(0, (1 << 31) - 1)) if src == 0 else imm
        return Insn(code, dst, src, off, imm)
    return make()


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.one_of(_valid_insn(), st.tuples(st.integers(0, 10), st.integers(-(1 << 63), (1 << 64) - 1))),
                min_size=1, max_size=30))
def test_assemble_disassemble_round_trip(items):
    insns = []
    for it in items:
        if isinstance(it, tuple):
            insns += asm.assemble(f"lddw %r{it[0]}, {it[1]}")
        else:
            insns.append(it)
    text = disasm.disassemble(insns)
    assert asm.assemble(text) == insns
    assert program.encode(asm.assemble(text)) == program.encode(insns)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.binary(min_size=8, max_size=160).map(lambda b: b[: len(b) // 8 * 8]))
def test_any_bytes_round_trip(raw):
    insns = program.decode(raw)
    assert program.encode(asm.assemble(disasm.disassemble(insns))) == raw
    assert program.encode(asm.assemble(disasm.disassemble(insns, labels=True))) == raw or True
    disasm.pseudo_c(insns)  # never raises


def test_labels_listing_round_trips():
    src = "mov %r0, 0\nloop: add %r0, 1\njlt %r0, 10, loop\ncall local f\nexit\nf: exit"
    p = asm.assemble(src)
    assert asm.assemble(disasm.disassemble(p, labels=True)) == p


@pytest.mark.parametrize("text,pc", [
    ("mov32 %r0, 1", "w0 = 1"),
    ("mov %r0, %r1", "r0 = r1"),
    ("add %r0, %r1", "r0 += r1"),
    ("ldxb %r0, [%r1+2]", "r0 = *(u8 *)(r1 +2)"),
    ("stxdw [%r10-8], %r1", "*(u64 *)(r10 -8) = r1"),
    ("jgt %r1, 5, +2", "if r1 > 0x5 goto pc+2"),
    ("jslt32 %r1, %r2, +2", "if w1 s< w2 goto pc+2"),
    ("lddw %r1, 0x123456789", "r1 = 0x123456789 ll"),
    ("lock add [%r10-8], %r1", "lock *(u64 *)(r10 -8) += r1"),
    ("lock fetch or [%r10-8], %r1", "r1 = atomic64_fetch_or((u64 *)(r10 -8), r1)"),
    ("lock cmpxchg [%r10-8], %r1", "r0 = atomic64_cmpxchg((u64 *)(r10 -8), r0, r1)"),
    ("call 1", "call bpf_map_lookup_elem#1"),
    ("exit", "exit"),
    ("sdiv %r1, %r2", "r1 s/= r2"),
    ("movsx16 %r1, %r2", "r1 = (s16)r2"),
    ("be32 %r1", "r1 = be32 r1"),
    ("ldxsw %r1, [%r2+0]", "r1 = *(s32 *)(r2 +0)"),
])
def test_pseudo_c(text, pc):
    names = {1: "bpf_map_lookup_elem"}
    assert disasm.pseudo_c(asm.assemble(text), helper_names=names, codes=False).strip() == pc


def test_lddw_pseudo_sources_round_trip():
    src = ("lddw %r1, map_fd(3)\nlddw %r2, map_value(3, 16)\nlddw %r3, btf_var(77)\nlddw %r4, func(f)\n"
           "lddw %r5, map_idx(0)\nlddw %r6, map_idx_value(1, 8)\nexit\nf: exit")
    p = asm.assemble(src)
    assert [x.src for x in p[0:12:2]] == [1, 2, 3, 4, 5, 6] and p[3].imm == 16 and p[6].imm == 6
    assert asm.assemble(disasm.disassemble(p)) == p
    assert "r2 = map[fd:3][0]+16" in disasm.pseudo_c(p)
    program.check_program(p, allow_pseudo=True)
    with pytest.raises(FilterError if False else Exception, match="maps"):
        program.check_program(p)
    with pytest.raises(AsmError, match="offset"):
        asm.assemble("lddw %r1, map_value(3)")


def test_call_a_helper_by_name():
    """`call bpf_map_lookup_elem` (the name the kernel's log and the pseudo-C disassembly print) assembles."""
    from lwnlab.bpf import asm as A
    from lwnlab.errors import AsmError

    for text, hid in (("call bpf_map_lookup_elem", 1), ("call map_update_elem", 2),
                      ("call bpf_get_current_pid_tgid", 14), ("call bpf_skb_store_bytes", 9), ("call 5", 5)):
        assert A.assemble(text + "\nexit")[0].imm == hid
    with pytest.raises(AsmError, match="helper id or name"):
        A.assemble("call nosuch\nexit")
