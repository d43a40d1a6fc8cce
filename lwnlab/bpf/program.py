"""eBPF programs as data: instructions, the byte encoding, and the loader's structural checks.

:func:`check_program` refuses what the kernel's loader refuses before the
verifier proper runs (``bpf_check`` → ``check_subprogs``, ``resolve_pseudo_ldimm64``,
``do_check``'s opcode and reserved-field tests): an empty program, unknown
opcodes, non-zero reserved fields, bad registers, writes to r10, a jump
outside its function or into the middle of ``lddw``, and a function whose last
instruction is not ``exit`` or a jump.  Each refusal is a
:class:`~lwnlab.errors.FilterError` naming the pc.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from lwnlab.bpf import isa
from lwnlab.errors import FilterError


@dataclass(frozen=True)
class Insn:
    """One 64-bit eBPF slot (``struct bpf_insn``)."""

    code: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0

    def encode(self) -> bytes:
        return struct.pack("<BBhi", self.code & 0xFF, (self.dst & 0xF) | ((self.src & 0xF) << 4),
                           _s16(self.off), _s32(self.imm))

    @property
    def info(self) -> isa.OpInfo | None:
        return isa.OPCODES.get(self.code)


def _s16(v: int) -> int:
    v &= 0xFFFF
    return v - 0x10000 if v & 0x8000 else v


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - 0x100000000 if v & 0x80000000 else v


def decode(raw: bytes, *, what: str = "program") -> list[Insn]:
    """Bytes (little-endian ``struct bpf_insn`` array) to instructions."""
    raw = bytes(raw)
    if len(raw) % 8:
        raise FilterError(f"{what} is {len(raw)} bytes, not a multiple of 8 (truncated instruction at "
                          f"pc {len(raw) // 8})", pc=len(raw) // 8)
    out = []
    for i in range(0, len(raw), 8):
        code, regs, off, imm = struct.unpack_from("<BBhi", raw, i)
        out.append(Insn(code, regs & 0xF, regs >> 4, off, imm))
    return out


def encode(insns: list[Insn]) -> bytes:
    return b"".join(i.encode() for i in insns)


def to_array(insns: list[Insn]) -> np.ndarray:
    """The interpreter's int64[n, 5] form (code, dst, src, off, imm)."""
    a = np.zeros((len(insns), 5), dtype=np.int64)
    for i, x in enumerate(insns):
        a[i] = (x.code, x.dst, x.src, _s16(x.off), _s32(x.imm))
    return a


def from_array(a: np.ndarray) -> list[Insn]:
    return [Insn(int(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in a]


def lddw_value(lo: Insn, hi: Insn) -> int:
    return (lo.imm & 0xFFFFFFFF) | ((hi.imm & 0xFFFFFFFF) << 32)


def subprogram_starts(insns: list[Insn]) -> list[int]:
    """pc of each function: 0 and every target of ``call local`` (and of lddw src 4)."""
    starts = {0}
    for pc, x in enumerate(insns):
        if x.code == isa.BPF_JMP | isa.BPF_CALL and x.src == isa.BPF_PSEUDO_CALL:
            starts.add(pc + 1 + _s32(x.imm))
        if x.code == isa.LDDW and x.src == isa.BPF_PSEUDO_FUNC:
            starts.add(pc + 1 + _s32(x.imm))
    return sorted(starts)


def check_program(insns: list[Insn], *, max_insns: int = isa.BPF_COMPLEXITY_LIMIT_INSNS,
                  allow_pseudo: bool = False) -> None:
    """Raise FilterError (with the pc) for anything the kernel's loader would refuse."""
    n = len(insns)
    if n == 0:
        raise FilterError("empty program (the kernel refuses a program of 0 instructions)")
    if n > max_insns:
        raise FilterError(f"program of {n} instructions exceeds the limit of {max_insns}")
    second = set()  # pcs that are the second slot of lddw
    pc = 0
    while pc < n:
        x = insns[pc]
        info = isa.OPCODES.get(x.code)
        if info is None:
            raise FilterError(f"unknown opcode {x.code:#04x}", pc=pc)
        if x.dst > 10 or x.src > 10:
            raise FilterError(f"invalid register r{max(x.dst, x.src)} (r0..r10 exist)", pc=pc)
        if info.src_zero and x.src != 0 and info.kind != "call":
            raise FilterError(f"reserved field src_reg is {x.src}, must be 0 for {info.name}", pc=pc)
        if info.dst_zero and x.dst != 0:
            raise FilterError(f"reserved field dst_reg is {x.dst}, must be 0 for {info.name}", pc=pc)
        if info.imm_zero and x.imm != 0:
            raise FilterError(f"reserved field imm is {x.imm}, must be 0 for {info.name}", pc=pc)
        if info.off_zero and x.off != 0:
            raise FilterError(f"reserved field offset is {x.off}, must be 0 for {info.name}", pc=pc)
        if info.offsets is not None and x.off not in info.offsets:
            raise FilterError(f"invalid offset {x.off} for {info.name} (allowed: {list(info.offsets)})", pc=pc)
        if info.imms is not None and x.imm not in info.imms:
            what = "atomic operation" if info.kind == "atomic" else "immediate"
            raise FilterError(f"invalid {what} {x.imm:#x} for {info.name}", pc=pc)
        writes_dst = info.kind in ("alu", "alu_end", "mov", "neg", "ldx", "ldxsx", "lddw")
        if writes_dst and x.dst == isa.FP_REG:
            raise FilterError("frame pointer r10 is read only", pc=pc)
        if info.kind == "atomic" and x.imm & isa.BPF_FETCH and x.src == isa.FP_REG:
            raise FilterError("frame pointer r10 is read only (the atomic operation would write it)", pc=pc)
        if info.kind == "call":
            if x.src not in (0, isa.BPF_PSEUDO_CALL):
                raise FilterError(f"call with src_reg {x.src} (kfunc calls by BTF id are not supported)", pc=pc)
            if x.src == 0 and x.imm < 0:
                raise FilterError(f"invalid helper function id {x.imm}", pc=pc)
        if info.kind == "lddw":
            if pc + 1 >= n:
                raise FilterError("lddw is missing its second slot (truncated program)", pc=pc)
            y = insns[pc + 1]
            if y.code != 0 or y.dst != 0 or y.src != 0 or y.off != 0:
                raise FilterError("invalid second slot of lddw (code, registers and offset must be 0)", pc=pc + 1)
            if x.src not in isa.LDDW_SRC_NAMES:
                raise FilterError(f"lddw with unknown src_reg {x.src}", pc=pc)
            if x.src != 0 and not allow_pseudo:
                raise FilterError(f"lddw with src_reg {x.src} ({isa.LDDW_SRC_NAMES[x.src]}) needs maps/BTF, "
                                  "not available here", pc=pc)
            second.add(pc + 1)
            pc += 2
            continue
        pc += 1
    starts = subprogram_starts(insns)
    for s in starts:
        if s < 0 or s >= n or s in second:
            raise FilterError(f"call to pc {s}, outside the program", pc=_caller_of(insns, s))
    bounds = starts + [n]
    for fi in range(len(starts)):
        lo, hi = bounds[fi], bounds[fi + 1]
        for pc in range(lo, hi):
            if pc in second:
                continue
            x = insns[pc]
            info = isa.OPCODES[x.code]
            if info.kind in ("ja", "jmp"):
                delta = x.imm if x.code == isa.BPF_JMP32 | isa.BPF_JA else x.off
                tgt = pc + 1 + delta
                if tgt < lo or tgt >= hi:
                    raise FilterError(f"jump to pc {tgt}, outside the {'program' if len(starts) == 1 else 'function'}"
                                      f" [{lo}, {hi})", pc=pc)
                if tgt in second:
                    raise FilterError(f"jump into the middle of lddw at pc {tgt - 1}", pc=pc)
        last = hi - 1
        lx = insns[last] if last not in second else insns[last]
        if last in second or isa.OPCODES[lx.code].kind not in ("exit", "ja"):
            raise FilterError("last instruction is not an exit or a jump (the program can fall off its end)",
                              pc=last)


def _caller_of(insns: list[Insn], target: int) -> int | None:
    for pc, x in enumerate(insns):
        if x.code == isa.BPF_JMP | isa.BPF_CALL and x.src == 1 and pc + 1 + x.imm == target:
            return pc
    return None
