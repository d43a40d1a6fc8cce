"""Classic BPF: the kernel's checks (reason + pc), conversion to eBPF, the numba engine, asm round trips."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from lwnlab.bpf import classic, classic_asm, cvm, isa, program, randprog, vm
from lwnlab.bpf.classic import ClassicRejected, CInsn
from lwnlab.errors import AsmError, FilterError
from lwnlab.seccomp.data import SeccompData, words_to_ctx_bytes

from .conftest import EXAMPLES

RET_ALLOW = CInsn(0x06, 0, 0, 0x7FFF0000)


def rejected(prog):
    with pytest.raises(ClassicRejected) as ei:
        classic.validate_seccomp(prog)
    return ei.value


@pytest.mark.parametrize("prog,reason,pc", [
    ([], "length", None),
    ([RET_ALLOW] * 4097, "length", None),
    ([CInsn(0x20, 0, 0, 2), RET_ALLOW], "seccomp-data-offset", 0),
    ([CInsn(0x20, 0, 0, 64), RET_ALLOW], "seccomp-data-offset", 0),
    ([CInsn(0x28, 0, 0, 0), RET_ALLOW], "not-allowed-in-seccomp", 0),  # ldh [0]
    ([CInsn(0x94, 0, 0, 3), RET_ALLOW], "not-allowed-in-seccomp", 1 - 1),  # mod #3
    ([CInsn(0x34, 0, 0, 0), RET_ALLOW], "div-by-zero", 0),
    ([CInsn(0x94, 0, 0, 0), RET_ALLOW], "div-by-zero", 0),
    ([CInsn(0x64, 0, 0, 32), RET_ALLOW], "shift-too-large", 0),
    ([CInsn(0x60, 0, 0, 0), RET_ALLOW], "uninitialised-memory", 0),
    ([CInsn(0x02, 0, 0, 16), RET_ALLOW], "memory-index", 0),
    ([CInsn(0x20, 0, 0, 0)], "no-final-ret", 0),
    ([CInsn(0x05, 0, 0, 1), RET_ALLOW], "jump-out-of-range", 0),
    ([CInsn(0x15, 1, 0, 0), RET_ALLOW], "jump-out-of-range", 0),
    ([CInsn(0xB1, 0, 0, 0), RET_ALLOW], "not-allowed-in-seccomp", 0),  # ldx msh
    ([CInsn(0x40, 0, 0, 0), RET_ALLOW], "not-allowed-in-seccomp", 0),  # ld [x+0]
    ([CInsn(0x20, 0, 0, 0xFFFFF000 + 4), RET_ALLOW], "not-allowed-in-seccomp", 0) if False else
    ([CInsn(0x20, 0, 0, 0xFFFFF000 + 4), RET_ALLOW], "seccomp-data-offset", 0),  # known ancillary, then seccomp
    ([CInsn(0x20, 0, 0, 0xFFFFF000 + 400), RET_ALLOW], "ancillary-load", 0),
    ([CInsn(0x0E, 0, 0, 0)], "opcode", 0),  # ret x does not exist
    ([CInsn(0x120, 0, 0, 0), RET_ALLOW], "opcode", 0),  # high byte set
])
def test_rejections(prog, reason, pc):
    e = rejected(prog)
    assert e.reason == reason and e.pc == pc


def test_memory_flow_check_is_path_sensitive():
    # M[0] written only on the jt path, then read after the join: rejected at the read
    prog = [CInsn(0x20, 0, 0, 0), CInsn(0x15, 0, 1, 39), CInsn(0x02, 0, 0, 0), CInsn(0x60, 0, 0, 0), RET_ALLOW]
    assert rejected(prog).pc == 3
    # written before the branch: accepted
    classic.validate_seccomp([CInsn(0x02, 0, 0, 0), CInsn(0x15, 0, 1, 39), CInsn(0x60), CInsn(0x60), RET_ALLOW])


def test_accepted_edge_cases():
    classic.validate_seccomp([RET_ALLOW] * 4096)
    classic.validate_seccomp([CInsn(0x20, 0, 0, 60), RET_ALLOW])
    out = classic.validate_seccomp([CInsn(0x80), CInsn(0x81), CInsn(0x16)])
    assert out[0] == CInsn(0x00, 0, 0, 64) and out[1] == CInsn(0x01, 0, 0, 64)


def test_conversion_matches_the_kernel():
    prog = classic.validate_seccomp([
        CInsn(0x20, 0, 0, 4),            # ld arch
        CInsn(0x15, 1, 0, 0xC000003E),   # k has bit 31: through TMP, jt=1 jf=0 -> single jeq
        CInsn(0x06, 0, 0, 0),
        CInsn(0x3C, 0, 0, 0),            # div x: guarded
        CInsn(0x25, 0, 1, 5),            # jgt with jt == 0: inverted to jle
        CInsn(0x02, 0, 0, 3),            # st M[3] -> r10 - 16
        CInsn(0x16, 0, 0, 0),
    ])
    ebpf, addrs = classic.convert(prog)
    got = [(x.code, x.dst, x.src, x.off, x.imm) for x in ebpf]
    assert got == [
        (0xAC, 0, 0, 0, 0), (0xAC, 7, 7, 0, 0), (0xBF, 6, 1, 0, 0),      # A ^= A; X ^= X; CTX = R1
        (0x61, 0, 6, 4, 0),                                               # A = *(u32 *)(ctx + 4)
        (0xB4, 2, 0, 0, -0x3FFFFFC2), (0x1D, 0, 2, 2, 0),                  # tmp = k; if A == tmp goto +2
        (0xB4, 0, 0, 0, 0), (0x95, 0, 0, 0, 0),                            # ret #0
        (0xBC, 7, 7, 0, 0), (0x55, 7, 0, 2, 0), (0xAC, 0, 0, 0, 0), (0x95, 0, 0, 0, 0), (0x3C, 0, 7, 0, 0),
        (0xB5, 0, 0, 1, 5),                                               # if A <= 5 goto (pc 6)
        (0x63, 10, 0, -16, 0),                                            # *(u32 *)(r10 - 16) = A
        (0x95, 0, 0, 0, 0),                                               # ret a
    ]
    assert addrs == [3, 4, 6, 8, 13, 14, 15]
    assert classic.converted_length(prog) == len(ebpf)


def test_decode_truncated_and_big_endian():
    with pytest.raises(FilterError) as ei:
        classic.decode(bytes(12))
    assert ei.value.pc == 1
    raw = classic.encode([CInsn(0x20, 0, 0, 4), RET_ALLOW], big_endian=True)
    assert classic.detect_big_endian(raw)
    assert classic.decode(raw) == [CInsn(0x20, 0, 0, 4), RET_ALLOW]


# ------------------------------------------------------------------ the engine vs the converted program

def _run_both(prog, d: SeccompData):
    checked = classic.validate_seccomp(prog)
    code, jt, jf, k = classic.to_arrays(checked)
    path = np.zeros(len(prog) + 1, dtype=np.int64)
    ret, steps = cvm.run_path(cvm.decode(code, jt, jf, k), d.words().reshape(1, 16), path)
    ebpf, _ = classic.convert(checked)
    ctx = np.frombuffer(words_to_ctx_bytes(d.words()), dtype=np.uint8).copy()
    res = vm.Machine(program.to_array(ebpf)).run([vm.Region("ctx", vm.MEM_BASE, ctx, writable=False)],
                                                 args=(vm.MEM_BASE,))
    assert res.error is None
    return int(ret), res.r0 & 0xFFFFFFFF


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.data(), st.integers(0, 600), st.lists(st.integers(0, (1 << 64) - 1), min_size=6, max_size=6),
       st.booleans())
def test_engine_agrees_with_converted_ebpf(data, nr, args, be):
    draw = lambda lo, hi: data.draw(st.integers(lo, hi))  # noqa: E731
    prog = randprog.classic_filter(draw, valid_bias=1000)
    try:
        classic.validate_seccomp(prog)
    except ClassicRejected:
        return
    d = SeccompData(nr, 0xC000003E, 0x1234, tuple(args), be)
    a, b = _run_both(prog, d)
    assert a == b


@pytest.mark.parametrize("x,expect", [(0, 0), (33, 2), (32, 1)])
def test_runtime_edge_cases(x, expect):
    # A = 1 << X  (X from args[0]); X = 0 for division -> returns 0 (KILL_THREAD)
    prog = [CInsn(0x20, 0, 0, 16), CInsn(0x07), CInsn(0x00, 0, 0, 1), CInsn(0x6C), CInsn(0x16)]
    d = SeccompData(39, 0xC000003E, 0, (x,))
    assert _run_both(prog, d) == (1 << (x & 31),) * 2
    div = [CInsn(0x20, 0, 0, 16), CInsn(0x07), CInsn(0x00, 0, 0, 100), CInsn(0x3C), CInsn(0x16)]
    got = _run_both(div, d)
    assert got == ((0, 0) if x == 0 else (100 // x,) * 2)


# ------------------------------------------------------------------ assembler / disassembler

def test_symbolic_assembly():
    prog = classic_asm.assemble("""
        ld arch
        jeq #AUDIT_ARCH_X86_64, 1, 0
        ret KILL_PROCESS
        ld nr
        jge #0x40000000, kill
        jeq #execve, kill, 0   ; names resolve for the arch
        ld args[1].hi
        ld args[1]
        ret ERRNO(13)
    kill:
        ret KILL
    """)
    assert prog[0] == CInsn(0x20, 0, 0, 4) and prog[1] == CInsn(0x15, 1, 0, 0xC000003E)
    assert prog[2] == CInsn(0x06, 0, 0, 0x80000000) and prog[3] == CInsn(0x20, 0, 0, 0)
    assert prog[4] == CInsn(0x35, 4, 0, 0x40000000) and prog[5] == CInsn(0x15, 3, 0, 59)
    assert prog[6] == CInsn(0x20, 0, 0, 28) and prog[7] == CInsn(0x20, 0, 0, 24)
    assert prog[8] == CInsn(0x06, 0, 0, 0x5000D) and prog[9] == CInsn(0x06)


def test_big_endian_offsets_and_arch_directive():
    prog = classic_asm.assemble(".arch s390x\nld args[0]\nld args[0].hi\njeq #read, 0, 0\nret ALLOW")
    assert [x.k for x in prog[:3]] == [20, 16, 3]


def test_bpf_asm_forms():
    prog = classic_asm.assemble("ldx #3\nldx M[0]\nld [x+4]\nldh [2]\nldxb 4*([14]&0xf)\nld len\nst M[1]\n"
                                "add x\nneg\ntax\ntxa\njne #5, 1\njlt x, 0, 1\nja 0\nret a")
    assert [x.code for x in prog] == [0x01, 0x61, 0x40, 0x28, 0xB1, 0x80, 0x02, 0x0C, 0x84, 0x07, 0x87, 0x15,
                                      0x3D, 0x05, 0x16]
    assert (prog[11].jt, prog[11].jf) == (0, 1) and (prog[12].jt, prog[12].jf) == (1, 0)


@pytest.mark.parametrize("text,line,frag", [
    ("ld [0]\nfrob #1", 2, "unknown mnemonic"),
    ("jeq #openatt, 0, 0", 1, "unknown constant"),
    ("ret #0x100000000", 1, "32 bits"),
    ("ja back\nback: ret a\nja back", 3, "backwards"),
    ("jeq #1, 300, 0", 1, "does not fit"),
    ("ld args[7]", 1, "cannot parse"),
    (".arch vax", 1, "unknown architecture"),
])
def test_asm_errors(text, line, frag):
    with pytest.raises(AsmError) as ei:
        classic_asm.assemble(text)
    assert ei.value.line == line and frag in ei.value.message


@st.composite
def any_cinsn(draw):
    return CInsn(draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 255)), draw(st.integers(0, 255)),
                 draw(st.integers(0, 0xFFFFFFFF)))


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.one_of(any_cinsn(), st.builds(lambda c, jt, jf, k: CInsn(c, jt, jf, k),
                                                     st.sampled_from(sorted(isa.CLASSIC_OPCODES)),
                                                     st.integers(0, 3), st.integers(0, 3),
                                                     st.integers(0, 0xFFFFFFFF))), min_size=1, max_size=20))
def test_disasm_asm_round_trip(prog):
    text = classic_asm.disassemble(prog)
    assert classic_asm.assemble(text) == prog
    classic_asm.c_like(prog)


def test_engine_is_safe_on_unchecked_programs():
    """Even without the kernel's checks, the batch engine stops with an error instead of reading out of bounds."""
    for prog in ([CInsn(0x15, 200, 0, 1), RET_ALLOW], [CInsn(0x20, 0, 0, 4000), RET_ALLOW],
                 [CInsn(0x60, 0, 0, 99), RET_ALLOW], [CInsn(0x20, 0, 0, 0)], [CInsn(0x05, 0, 0, 7), RET_ALLOW],
                 [CInsn(0xFF), RET_ALLOW]):
        dec = cvm.decode(*classic.to_arrays(prog))
        path = np.zeros(8, dtype=np.int64)
        ret, _ = cvm.run_path(dec, np.zeros((1, 16), np.uint32), path)
        assert ret == cvm.RUN_ERROR, prog


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.builds(lambda c, jt, jf, k: CInsn(c, jt, jf, k), st.sampled_from(sorted(isa.CLASSIC_OPCODES)),
                          st.integers(0, 3), st.integers(0, 3), st.sampled_from([0, 4, 16, 20, 59, 0xC000003E,
                                                                                  0x40000001, 0x7FFF0000])),
                min_size=1, max_size=20))
def test_c_like_listing_assembles_back(prog):
    """`seccomp disasm --c` (seccomp-tools' listing: columns, A = ..., if (...) goto NNNN) is assembler input."""
    assert classic_asm.assemble(classic_asm.c_like(prog)) == prog


def test_seccomp_tools_statements():
    src = """
    # seccomp-tools style
    A = arch
    if (A != ARCH_X86_64) goto dead
    A = sys_number
    if (A >= 0x40000000) goto dead
    if (A == execve) goto dead
    if (A == openat) goto check else goto ok
    check:
    A = args[2]
    A &= 0x3
    if (A == 1) goto deny
    if !(A & 2) goto ok else goto deny
    ok:
    return ALLOW
    deny:
    return ERRNO(13)
    dead:
    return KILL
    """
    bpf_asm = """
    ld arch
    jne #AUDIT_ARCH_X86_64, dead
    ld nr
    jge #0x40000000, dead
    jeq #execve, dead
    jeq #openat, check, ok
    check: ld args[2]
    and #3
    jeq #1, deny
    jset #2, deny, ok
    ok: ret ALLOW
    deny: ret ERRNO(13)
    dead: ret KILL
    """
    assert classic_asm.assemble(src) == classic_asm.assemble(bpf_asm)
    more = classic_asm.assemble("A = X\nX = A\nmem[3] = A\nmem[4] = X\nA = mem[3]\nX = mem[4]\nA = -A\nA += X\n"
                                "A <<= 2\nA = data[16]\nA = args[0] >> 32\nX = 5\nA = 7\nif (A > X) goto 0015\n"
                                "return A\nreturn ALLOW")
    assert more == classic_asm.assemble("txa\ntax\nst M[3]\nstx M[4]\nld M[3]\nldx M[4]\nneg\nadd x\nlsh #2\n"
                                        "ld [16]\nld args[0].hi\nldx #5\nld #7\njgt x, 1, 0\nret a\nret ALLOW")
    with pytest.raises(AsmError, match="backwards"):
        classic_asm.assemble("A = nr\nif (A == 1) goto 0000\nreturn ALLOW")
    with pytest.raises(AsmError, match="line 1"):
        classic_asm.assemble("if !(A == 1) goto 0001\nreturn ALLOW")
