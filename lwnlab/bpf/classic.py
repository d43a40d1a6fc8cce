"""Classic BPF as seccomp takes it: ``struct sock_filter``, the kernel's checks, and conversion to eBPF.

The three steps of ``seccomp_prepare_filter`` are kept apart, as in the kernel:

1. :func:`check_classic` is ``bpf_check_classic`` (``net/core/filter.c``):
   ``chk_code_allowed``, constant division by zero, shifts >= 32, scratch
   memory indexes, jump ranges, unknown ancillary loads, the final RET, and
   ``check_load_and_stores`` (no path may read ``M[k]`` before writing it);
2. :func:`check_seccomp` is ``seccomp_check_filter`` (``kernel/seccomp.c``):
   a second whitelist, 32-bit aligned loads inside ``struct seccomp_data``,
   ``len`` rewritten to 64;
3. :func:`convert` is ``bpf_convert_filter``: the program in eBPF with the
   kernel's register mapping (A=r0, X=r7, TMP=r2, CTX=r6, M[k] at
   ``r10 - (4k+4)``) and its jump and division rewrites.

The kernel answers every rejection with a bare EINVAL; lwnlab says which
check failed (:attr:`ClassicRejected.reason`) and at which pc.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from lwnlab.bpf import isa
from lwnlab.bpf.program import Insn
from lwnlab.errors import FilterError

SOCK_FILTER_SIZE = 8  # struct sock_filter {u16 code; u8 jt; u8 jf; u32 k;}

# reasons, one per kernel check (the "reason class" the tests compare)
R_LENGTH = "length"
R_OPCODE = "opcode"
R_DIV_ZERO = "div-by-zero"
R_SHIFT = "shift-too-large"
R_MEM_INDEX = "memory-index"
R_JUMP = "jump-out-of-range"
R_ANCILLARY = "ancillary-load"
R_NO_RET = "no-final-ret"
R_UNINIT_MEM = "uninitialised-memory"
R_SECCOMP_OPCODE = "not-allowed-in-seccomp"
R_SECCOMP_LOAD = "seccomp-data-offset"

#: the ancillary offsets bpf_anc_helper knows (SKF_AD_OFF + SKF_AD_*)
SKF_AD = {0: "protocol", 4: "pkttype", 8: "ifindex", 12: "nlattr", 16: "nlattr_nest", 20: "mark", 24: "queue",
          28: "hatype", 32: "rxhash", 36: "cpu", 40: "alu_xor_x", 44: "vlan_tag", 48: "vlan_tag_present",
          52: "pay_offset", 56: "random", 60: "vlan_tpid"}


class ClassicRejected(FilterError):
    """The kernel would refuse this filter (EINVAL); ``reason`` names the check, ``pc`` where."""

    def __init__(self, reason: str, message: str, *, pc: int | None = None, stage: str = "bpf_check_classic",
                 file: str | None = None):
        self.reason = reason
        self.stage = stage
        self.detail = message
        super().__init__(f"{message} [{stage}: {reason}]", pc=pc, file=file)

    def with_file(self, file: str) -> "ClassicRejected":
        return ClassicRejected(self.reason, self.detail, pc=self.pc, stage=self.stage, file=file)

    def to_json(self) -> dict:
        d = super().to_json()
        d.update(reason=self.reason, stage=self.stage)
        return d


@dataclass(frozen=True)
class CInsn:
    """One ``struct sock_filter``."""

    code: int
    jt: int = 0
    jf: int = 0
    k: int = 0

    def encode(self, big_endian: bool = False) -> bytes:
        return struct.pack((">" if big_endian else "<") + "HBBI", self.code, self.jt, self.jf, self.k & 0xFFFFFFFF)


def decode(raw: bytes, *, big_endian: bool | None = None, what: str = "filter",
           max_insns: int | None = None) -> list[CInsn]:
    """Bytes to instructions; byte order detected when ``big_endian`` is None (libseccomp exports
    big-endian targets' filters in their order).  With ``max_insns`` (seccomp: BPF_MAXINSNS) a longer
    filter is refused before anything is decoded, as seccomp_prepare_filter refuses it up front."""
    raw = bytes(raw)
    if len(raw) == 0:
        raise ClassicRejected(R_LENGTH, f"{what} is empty (0 instructions)", stage="seccomp_prepare_filter")
    if len(raw) % SOCK_FILTER_SIZE:
        raise FilterError(f"{what} is {len(raw)} bytes, not a multiple of 8: truncated struct sock_filter at pc "
                          f"{len(raw) // 8}", pc=len(raw) // 8)
    if max_insns is not None and len(raw) // SOCK_FILTER_SIZE > max_insns:
        raise ClassicRejected(R_LENGTH, f"filter has {len(raw) // SOCK_FILTER_SIZE} instructions; 1..{max_insns} "
                              "are allowed", stage="seccomp_prepare_filter")
    if big_endian is None:
        big_endian = detect_big_endian(raw)
    fmt = (">" if big_endian else "<") + "HBBI"
    return [CInsn(*struct.unpack_from(fmt, raw, i)) for i in range(0, len(raw), SOCK_FILTER_SIZE)]


def detect_big_endian(raw: bytes) -> bool:
    """True when the codes only make sense read big-endian (every code fits a byte that way)."""
    n = len(raw) // 8
    le = [struct.unpack_from("<H", raw, 8 * i)[0] for i in range(n)]
    be = [struct.unpack_from(">H", raw, 8 * i)[0] for i in range(n)]
    le_ok = sum(c in isa.CLASSIC_OPCODES for c in le)
    be_ok = sum(c in isa.CLASSIC_OPCODES for c in be)
    return be_ok > le_ok


def encode(insns: list[CInsn], big_endian: bool = False) -> bytes:
    return b"".join(i.encode(big_endian) for i in insns)


def to_arrays(insns: list[CInsn]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    code = np.array([i.code for i in insns], dtype=np.int64)
    jt = np.array([i.jt for i in insns], dtype=np.int64)
    jf = np.array([i.jf for i in insns], dtype=np.int64)
    k = np.array([i.k & 0xFFFFFFFF for i in insns], dtype=np.int64)
    return code, jt, jf, k


# --------------------------------------------------------------------------- bpf_check_classic


def _anc_known(x: CInsn) -> bool:
    """bpf_anc_helper: is this LD ABS one of the known ancillary loads?"""
    off = (x.k - (1 << 32)) - isa.SKF_AD_OFF if x.k >= 0x80000000 else None
    return off is not None and off in SKF_AD


def check_load_and_stores(insns: list[CInsn]) -> None:
    """The kernel's flow check: reading M[k] is refused if some path reaches it without a write."""
    flen = len(insns)
    masks = [0xFFFF] * flen
    memvalid = 0
    for pc, x in enumerate(insns):
        memvalid &= masks[pc]
        c = x.code
        if c in (isa.BPF_ST, isa.BPF_STX):
            memvalid |= 1 << x.k
        elif c in (isa.BPF_LD | isa.BPF_MEM, isa.BPF_LDX | isa.BPF_MEM):
            if not memvalid & (1 << x.k):
                raise ClassicRejected(R_UNINIT_MEM, f"M[{x.k}] may be read before it is written "
                                      "(the kernel never zeroes scratch memory)", pc=pc, stage="check_load_and_stores")
        elif c == isa.BPF_JMP | isa.BPF_JA:
            masks[pc + 1 + x.k] &= memvalid
            memvalid = 0xFFFF
        elif c in _COND_JUMPS:
            masks[pc + 1 + x.jt] &= memvalid
            masks[pc + 1 + x.jf] &= memvalid
            memvalid = 0xFFFF


_COND_JUMPS = frozenset(isa.BPF_JMP | op | s for op in (isa.BPF_JEQ, isa.BPF_JGE, isa.BPF_JGT, isa.BPF_JSET)
                        for s in (isa.BPF_K, isa.BPF_X))


def check_length(insns: list[CInsn]) -> None:
    if len(insns) == 0 or len(insns) > isa.BPF_MAXINSNS:
        raise ClassicRejected(R_LENGTH, f"filter has {len(insns)} instructions; 1..{isa.BPF_MAXINSNS} are allowed",
                              stage="seccomp_prepare_filter")


def check_classic(insns: list[CInsn]) -> None:
    """bpf_check_classic, in the kernel's order; raises ClassicRejected naming the check and the pc."""
    check_length(insns)
    flen = len(insns)
    for pc, x in enumerate(insns):
        c = x.code
        if c not in isa.CLASSIC_OPCODES:
            raise ClassicRejected(R_OPCODE, f"opcode {c:#06x} is not a classic BPF instruction", pc=pc)
        if c in (isa.BPF_ALU | isa.BPF_DIV | isa.BPF_K, isa.BPF_ALU | isa.BPF_MOD | isa.BPF_K):
            if x.k == 0:
                raise ClassicRejected(R_DIV_ZERO, f"{'division' if c & 0xF0 == isa.BPF_DIV else 'modulo'} "
                                      "by constant 0", pc=pc)
        elif c in (isa.BPF_ALU | isa.BPF_LSH | isa.BPF_K, isa.BPF_ALU | isa.BPF_RSH | isa.BPF_K):
            if x.k >= 32:
                raise ClassicRejected(R_SHIFT, f"shift by constant {x.k} (must be < 32)", pc=pc)
        elif c in (isa.BPF_LD | isa.BPF_MEM, isa.BPF_LDX | isa.BPF_MEM, isa.BPF_ST, isa.BPF_STX):
            if x.k >= isa.BPF_MEMWORDS:
                raise ClassicRejected(R_MEM_INDEX, f"scratch memory M[{x.k}] does not exist (M[0]..M[15])", pc=pc)
        elif c == isa.BPF_JMP | isa.BPF_JA:
            if x.k >= flen - pc - 1:
                raise ClassicRejected(R_JUMP, f"ja +{x.k} jumps to pc {pc + 1 + x.k}, past the last instruction "
                                      f"(pc {flen - 1})", pc=pc)
        elif c in _COND_JUMPS:
            if pc + x.jt + 1 >= flen or pc + x.jf + 1 >= flen:
                bad = max(pc + x.jt + 1, pc + x.jf + 1)
                raise ClassicRejected(R_JUMP, f"conditional jump to pc {bad}, past the last instruction "
                                      f"(pc {flen - 1})", pc=pc)
        elif c in (isa.BPF_LD | isa.BPF_W | isa.BPF_ABS, isa.BPF_LD | isa.BPF_H | isa.BPF_ABS,
                   isa.BPF_LD | isa.BPF_B | isa.BPF_ABS):
            if not _anc_known(x) and x.k >= (isa.SKF_AD_OFF & 0xFFFFFFFF):
                raise ClassicRejected(R_ANCILLARY, f"unknown ancillary load at k={x.k:#x}", pc=pc)
    last = insns[-1].code
    if last not in (isa.BPF_RET | isa.BPF_K, isa.BPF_RET | isa.BPF_A):
        raise ClassicRejected(R_NO_RET, "the last instruction is not a return (ret #k or ret a)", pc=flen - 1)
    check_load_and_stores(insns)


def check_seccomp(insns: list[CInsn]) -> list[CInsn]:
    """seccomp_check_filter: the second whitelist; returns the program with the kernel's rewrites
    (LD|W|ABS becomes the private LDX|W|ABS, ``len`` becomes the constant 64)."""
    out = []
    for pc, x in enumerate(insns):
        c = x.code
        if c == isa.BPF_LD | isa.BPF_W | isa.BPF_ABS:
            if x.k >= 64 or x.k & 3:
                raise ClassicRejected(R_SECCOMP_LOAD, f"ld [{x.k}] is outside struct seccomp_data or not 32-bit "
                                      "aligned (k < 64 and k % 4 == 0 are required)", pc=pc,
                                      stage="seccomp_check_filter")
            out.append(CInsn(isa.SECCOMP_LD_ABS, x.jt, x.jf, x.k))
        elif c == isa.BPF_LD | isa.BPF_W | isa.BPF_LEN:
            out.append(CInsn(isa.BPF_LD | isa.BPF_IMM, x.jt, x.jf, 64))
        elif c == isa.BPF_LDX | isa.BPF_W | isa.BPF_LEN:
            out.append(CInsn(isa.BPF_LDX | isa.BPF_IMM, x.jt, x.jf, 64))
        elif c in isa.SECCOMP_OPCODES:
            out.append(x)
        else:
            name = _mnemonic_of(c)
            raise ClassicRejected(R_SECCOMP_OPCODE, f"{name} ({c:#04x}) is classic BPF but seccomp refuses it", pc=pc,
                                  stage="seccomp_check_filter")
    return out


def _mnemonic_of(c: int) -> str:
    m = isa.CLASSIC_OPCODES.get(c, "?")
    mode = c & 0xE0
    if c & 7 in (isa.BPF_LD, isa.BPF_LDX):
        return {isa.BPF_ABS: f"{m} [k]", isa.BPF_IND: f"{m} [x+k]", isa.BPF_MSH: "ldxb 4*([k]&0xf)"}.get(mode, m)
    return m


def validate_seccomp(insns: list[CInsn]) -> list[CInsn]:
    """The whole of seccomp_prepare_filter's checking: length, bpf_check_classic, seccomp_check_filter."""
    check_classic(insns)
    return check_seccomp(insns)


# --------------------------------------------------------------------------- bpf_convert_filter

REG_A, REG_X, REG_TMP, REG_CTX, REG_FP = 0, 7, 2, 6, 10
PROLOGUE = 3


def _expansion(x: CInsn) -> int:
    c = x.code
    if c in (isa.BPF_ALU | isa.BPF_DIV | isa.BPF_X, isa.BPF_ALU | isa.BPF_MOD | isa.BPF_X):
        return 5
    if c in _COND_JUMPS:
        n = 1 if (c & isa.BPF_X == isa.BPF_K and x.k & 0x80000000) else 0
        op = c & 0xF0
        if x.jf == 0 or (x.jt == 0 and op in (isa.BPF_JEQ, isa.BPF_JGT, isa.BPF_JGE)):
            return n + 1
        return n + 2
    if c == isa.BPF_RET | isa.BPF_K:
        return 2
    return 1


def convert(prog: list[CInsn]) -> tuple[list[Insn], list[int]]:
    """bpf_convert_filter for a seccomp-checked program (output of :func:`check_seccomp`).

    Returns the eBPF program and ``addrs`` (eBPF pc of each classic pc).
    """
    addrs = []
    pos = PROLOGUE
    for x in prog:
        addrs.append(pos)
        pos += _expansion(x)
    out = [Insn(isa.BPF_ALU | isa.BPF_XOR | isa.BPF_X, REG_A, REG_A),
           Insn(isa.BPF_ALU | isa.BPF_XOR | isa.BPF_X, REG_X, REG_X),
           Insn(isa.BPF_ALU64 | isa.BPF_MOV | isa.BPF_X, REG_CTX, 1)]
    for i, x in enumerate(prog):
        c = x.code
        k = x.k & 0xFFFFFFFF
        sk = k - (1 << 32) if k & 0x80000000 else k
        tmp: list[Insn] = []

        def jump(code: int, target: int, dst: int = 0, src: int = 0, imm: int = 0) -> Insn:
            off = addrs[target] - addrs[i] - 1 - len(tmp)
            if not -0x8000 <= off <= 0x7FFF:
                raise FilterError("converted jump does not fit in 16 bits", pc=i)
            return Insn(code, dst, src, off, imm)

        if c & 7 == isa.BPF_ALU:
            if c in (isa.BPF_ALU | isa.BPF_DIV | isa.BPF_X, isa.BPF_ALU | isa.BPF_MOD | isa.BPF_X):
                tmp += [Insn(isa.BPF_ALU | isa.BPF_MOV | isa.BPF_X, REG_X, REG_X),
                        Insn(isa.BPF_JMP | isa.BPF_JNE | isa.BPF_K, REG_X, 0, 2, 0),
                        Insn(isa.BPF_ALU | isa.BPF_XOR | isa.BPF_X, REG_A, REG_A),
                        Insn(isa.BPF_JMP | isa.BPF_EXIT)]
            tmp.append(Insn(c, REG_A, REG_X, 0, sk))
        elif c == isa.BPF_JMP | isa.BPF_JA:
            tmp.append(jump(c, i + k + 1))
        elif c in _COND_JUMPS:
            op = c & 0xF0
            if c & isa.BPF_X == isa.BPF_K and k & 0x80000000:
                tmp.append(Insn(isa.BPF_ALU | isa.BPF_MOV | isa.BPF_K, REG_TMP, 0, 0, sk))
                src, imm, bsrc = REG_TMP, 0, isa.BPF_X
            elif c & isa.BPF_X:
                src, imm, bsrc = REG_X, 0, isa.BPF_X
            else:
                src, imm, bsrc = 0, sk, isa.BPF_K
            if x.jf == 0:
                tmp.append(jump(isa.BPF_JMP | op | bsrc, i + x.jt + 1, REG_A, src, imm))
            elif x.jt == 0 and op in (isa.BPF_JEQ, isa.BPF_JGT, isa.BPF_JGE):
                inv = {isa.BPF_JEQ: isa.BPF_JNE, isa.BPF_JGT: isa.BPF_JLE, isa.BPF_JGE: isa.BPF_JLT}[op]
                tmp.append(jump(isa.BPF_JMP | inv | bsrc, i + x.jf + 1, REG_A, src, imm))
            else:
                tmp.append(jump(isa.BPF_JMP | op | bsrc, i + x.jt + 1, REG_A, src, imm))
                tmp.append(jump(isa.BPF_JMP | isa.BPF_JA, i + x.jf + 1))
        elif c in (isa.BPF_RET | isa.BPF_K, isa.BPF_RET | isa.BPF_A):
            if c == isa.BPF_RET | isa.BPF_K:
                tmp.append(Insn(isa.BPF_ALU | isa.BPF_MOV | isa.BPF_K, 0, 0, 0, sk))
            tmp.append(Insn(isa.BPF_JMP | isa.BPF_EXIT))
        elif c in (isa.BPF_ST, isa.BPF_STX):
            tmp.append(Insn(isa.BPF_STX | isa.BPF_MEM | isa.BPF_W, REG_FP, REG_A if c == isa.BPF_ST else REG_X,
                            -(k * 4 + 4)))
        elif c in (isa.BPF_LD | isa.BPF_MEM, isa.BPF_LDX | isa.BPF_MEM):
            tmp.append(Insn(isa.BPF_LDX | isa.BPF_MEM | isa.BPF_W, REG_A if c & 7 == isa.BPF_LD else REG_X, REG_FP,
                            -(k * 4 + 4)))
        elif c in (isa.BPF_LD | isa.BPF_IMM, isa.BPF_LDX | isa.BPF_IMM):
            tmp.append(Insn(isa.BPF_ALU | isa.BPF_MOV | isa.BPF_K, REG_A if c & 7 == isa.BPF_LD else REG_X, 0, 0, sk))
        elif c == isa.BPF_MISC | isa.BPF_TAX:
            tmp.append(Insn(isa.BPF_ALU64 | isa.BPF_MOV | isa.BPF_X, REG_X, REG_A))
        elif c == isa.BPF_MISC | isa.BPF_TXA:
            tmp.append(Insn(isa.BPF_ALU64 | isa.BPF_MOV | isa.BPF_X, REG_A, REG_X))
        elif c == isa.SECCOMP_LD_ABS:
            tmp.append(Insn(isa.BPF_LDX | isa.BPF_MEM | isa.BPF_W, REG_A, REG_CTX, k))
        else:
            raise FilterError(f"opcode {c:#04x} cannot be converted (only seccomp-checked filters are)", pc=i)
        assert len(tmp) == _expansion(x), (i, x, tmp)
        out.extend(tmp)
    return out, addrs


def converted_length(prog: list[CInsn]) -> int:
    """prog->len after bpf_migrate_filter (what seccomp_attach_filter adds up)."""
    return PROLOGUE + sum(_expansion(x) for x in prog)
