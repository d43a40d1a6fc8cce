"""Random programs for property and differential tests (and the benchmark).

Generators take a ``draw(lo, hi) -> int`` function (inclusive bounds), so the
same code serves hypothesis (``st.data()``), ``random.Random`` and numpy.

* :func:`ebpf_scalar_program`: programs the kernel's verifier accepts as a
  socket filter: every register initialised, stack slots written before any
  load, forward conditional jumps only, shift and division constants in range.
  They exercise every ALU/ALU64 operation (incl. sdiv/smod, movsx, byte
  swaps), JMP/JMP32 comparisons, loads/stores of every size and atomics.
* :func:`classic_filter`: seccomp filters, mostly valid, some breaking
  exactly one of the kernel's rules.
"""

from __future__ import annotations

import random
from typing import Callable

from lwnlab.bpf import isa
from lwnlab.bpf.classic import CInsn
from lwnlab.bpf.program import Insn

Draw = Callable[[int, int], int]

INTERESTING32 = [0, 1, 2, 3, 7, 8, 31, 32, 63, 64, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
                 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFE, 0xFFFFFFFF, 39, 0x40000000, 0xC000003E]


def from_random(rng: random.Random) -> Draw:
    return lambda lo, hi: rng.randint(lo, hi)


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def _imm(draw: Draw) -> int:
    if draw(0, 2) == 0:
        return _s32(draw(0, 0xFFFFFFFF))
    return _s32(INTERESTING32[draw(0, len(INTERESTING32) - 1)] - (draw(0, 1) and 0))


def _imm64(draw: Draw) -> int:
    if draw(0, 1):
        return draw(0, (1 << 64) - 1)
    hi = INTERESTING32[draw(0, len(INTERESTING32) - 1)]
    lo = INTERESTING32[draw(0, len(INTERESTING32) - 1)]
    return (hi << 32) | lo


STACK_SLOTS = 4  # 8-byte slots at r10-8 .. r10-32 written by the prologue


def ebpf_scalar_program(draw: Draw, *, max_body: int = 24) -> list[Insn]:
    """A verifier-safe program over scalars and the stack (see module docstring). Ends with exit."""
    pro: list[Insn] = []
    for r in range(10):
        if draw(0, 2) == 0:
            v = _imm64(draw)
            lo, hi = _s32(v & 0xFFFFFFFF), _s32(v >> 32)
            pro += [Insn(isa.LDDW, r, 0, 0, lo), Insn(0, 0, 0, 0, hi)]
        else:
            pro.append(Insn(isa.BPF_ALU64 | isa.BPF_MOV | isa.BPF_K, r, 0, 0, _imm(draw)))
    for s in range(STACK_SLOTS):
        pro.append(Insn(isa.BPF_STX | isa.BPF_MEM | isa.BPF_DW, 10, draw(0, 9), -8 * (s + 1)))
    n = draw(1, max_body)
    body: list[list[Insn]] = []
    for _ in range(n):
        body.append(_body_insn(draw))
    # resolve jumps: a conditional jump's offset counts slots up to at most the end of the body
    flat: list[Insn] = []
    sizes = [len(b) for b in body]
    starts = []
    pos = 0
    for s in sizes:
        starts.append(pos)
        pos += s
    total = pos
    for bi, b in enumerate(body):
        for x in b:
            if x.code & 7 in (isa.BPF_JMP, isa.BPF_JMP32) and x.code & 0xF0 not in (isa.BPF_CALL, isa.BPF_EXIT):
                here = starts[bi] + 1
                # jump to the start of a later body instruction, or to the end
                choices = [s for s in starts if s >= here] + [total]
                tgt = choices[draw(0, len(choices) - 1)]
                x = Insn(x.code, x.dst, x.src, tgt - here, x.imm)
            flat.append(x)
    main = pro + flat
    if draw(0, 2) == 0:  # end main with a call to a leaf function: r0 = f(r1..r5), r6-r9 kept
        return main + [Insn(isa.BPF_JMP | isa.BPF_CALL, 0, isa.BPF_PSEUDO_CALL, 0, 1),
                       Insn(isa.BPF_JMP | isa.BPF_EXIT)] + _leaf(draw)
    return main + [Insn(isa.BPF_JMP | isa.BPF_EXIT)]


def _leaf(draw: Draw) -> list[Insn]:
    """A callee the verifier accepts: reads only its arguments r1-r5, uses its own stack frame."""
    out = [Insn(isa.BPF_ALU64 | isa.BPF_MOV | isa.BPF_X, 0, draw(1, 5)),
           Insn(isa.BPF_STX | isa.BPF_MEM | isa.BPF_DW, 10, draw(1, 5), -8)]
    for _ in range(draw(0, 6)):
        op = (isa.BPF_ADD, isa.BPF_SUB, isa.BPF_MUL, isa.BPF_XOR, isa.BPF_OR, isa.BPF_AND)[draw(0, 5)]
        cls = isa.BPF_ALU64 if draw(0, 1) else isa.BPF_ALU
        out.append(Insn(cls | op | isa.BPF_X, draw(0, 5), draw(0, 5)))
    out += [Insn(isa.BPF_LDX | isa.BPF_MEM | isa.BPF_DW, draw(1, 5), 10, -8),
            Insn(isa.BPF_ALU64 | isa.BPF_ADD | isa.BPF_X, 0, draw(1, 5)),
            Insn(isa.BPF_JMP | isa.BPF_EXIT)]
    return out


def insert_before(insns: list[Insn], at: int, new: Insn) -> list[Insn]:
    """Insert one slot before pc ``at``, fixing every jump, gotol and local call that crosses it."""
    out = []
    for pc, x in enumerate(insns):
        info = isa.OPCODES.get(x.code)
        kind = info.kind if info else None
        if kind in ("ja", "jmp") or (kind == "call" and x.src == isa.BPF_PSEUDO_CALL):
            use_imm = kind == "call" or x.code == isa.BPF_JMP32 | isa.BPF_JA
            delta = x.imm if use_imm else x.off
            tgt = pc + 1 + delta
            if pc < at < tgt:  # a jump to `at` itself lands on the new slot
                delta += 1
            elif tgt < at <= pc:
                delta -= 1
            x = Insn(x.code, x.dst, x.src, x.off if use_imm else delta, delta if use_imm else x.imm)
        out.append(x)
    return out[:at] + [new] + out[at:]


def main_exit(insns: list[Insn]) -> int:
    """pc of the main function's final exit."""
    from lwnlab.bpf.program import subprogram_starts

    starts = subprogram_starts(insns) + [len(insns)]
    return starts[1] - 1


_ALU_OPS = [isa.BPF_ADD, isa.BPF_SUB, isa.BPF_MUL, isa.BPF_DIV, isa.BPF_OR, isa.BPF_AND, isa.BPF_LSH,
            isa.BPF_RSH, isa.BPF_NEG, isa.BPF_MOD, isa.BPF_XOR, isa.BPF_MOV, isa.BPF_ARSH, isa.BPF_END]
_JOPS = list(isa.JMP_OPS)


def _body_insn(draw: Draw) -> list[Insn]:
    kind = draw(0, 9)
    dst = draw(0, 9)
    src = draw(0, 9)
    if kind <= 4:  # ALU
        cls = isa.BPF_ALU64 if draw(0, 1) else isa.BPF_ALU
        bits = 64 if cls == isa.BPF_ALU64 else 32
        op = _ALU_OPS[draw(0, len(_ALU_OPS) - 1)]
        if op == isa.BPF_NEG:
            return [Insn(cls | op, dst)]
        if op == isa.BPF_END:
            width = (16, 32, 64)[draw(0, 2)]
            if cls == isa.BPF_ALU64:
                return [Insn(cls | op, dst, 0, 0, width)]
            return [Insn(cls | op | (isa.BPF_TO_BE if draw(0, 1) else isa.BPF_TO_LE), dst, 0, 0, width)]
        use_x = draw(0, 1)
        off = 0
        if op in (isa.BPF_DIV, isa.BPF_MOD) and draw(0, 1):
            off = 1
        if op == isa.BPF_MOV and use_x and draw(0, 2) == 0:
            off = (8, 16, 32)[draw(0, 2)] if bits == 64 else (8, 16)[draw(0, 1)]
        if use_x:
            return [Insn(cls | op | isa.BPF_X, dst, src, off)]
        imm = _imm(draw)
        if op in (isa.BPF_LSH, isa.BPF_RSH, isa.BPF_ARSH):
            imm = draw(0, bits - 1)
        if op in (isa.BPF_DIV, isa.BPF_MOD) and imm == 0:
            imm = 3
        return [Insn(cls | op | isa.BPF_K, dst, 0, off, imm)]
    if kind <= 6:  # conditional jump (offset fixed later)
        cls = isa.BPF_JMP if draw(0, 1) else isa.BPF_JMP32
        op = _JOPS[draw(0, len(_JOPS) - 1)]
        if draw(0, 1):
            return [Insn(cls | op | isa.BPF_X, dst, src, 0)]
        return [Insn(cls | op | isa.BPF_K, dst, 0, 0, _imm(draw))]
    slot = draw(0, STACK_SLOTS - 1)
    size = (isa.BPF_B, isa.BPF_H, isa.BPF_W, isa.BPF_DW)[draw(0, 3)]
    nbytes = isa.SIZE_BYTES[size]
    off = -8 * (slot + 1) + nbytes * draw(0, 8 // nbytes - 1)
    if kind == 7:  # load
        mode = isa.BPF_MEMSX if (size != isa.BPF_DW and draw(0, 2) == 0) else isa.BPF_MEM
        return [Insn(isa.BPF_LDX | mode | size, dst, 10, off)]
    if kind == 8:  # store
        if draw(0, 1):
            return [Insn(isa.BPF_STX | isa.BPF_MEM | size, 10, src, off)]
        return [Insn(isa.BPF_ST | isa.BPF_MEM | size, 10, 0, off, _imm(draw))]
    size = (isa.BPF_W, isa.BPF_DW)[draw(0, 1)]
    nbytes = isa.SIZE_BYTES[size]
    off = -8 * (slot + 1) + nbytes * draw(0, 8 // nbytes - 1)
    aop = list(isa.ATOMIC_OPS)[draw(0, len(isa.ATOMIC_OPS) - 1)]
    return [Insn(isa.BPF_STX | isa.BPF_ATOMIC | size, 10, src, off, aop)]


# --------------------------------------------------------------------------- classic

_RETS = [0x7FFF0000, 0x7FFC0000, 0x7FF00000, 0x7FC00000, 0x00050000, 0x00030000, 0x00000000, 0x80000000,
         0x00010000]
_SECCOMP_CODES = sorted(isa.SECCOMP_OPCODES - {isa.BPF_RET | isa.BPF_K, isa.BPF_RET | isa.BPF_A})
_BAD_CODES = [isa.BPF_ALU | isa.BPF_MOD | isa.BPF_K, isa.BPF_ALU | isa.BPF_MOD | isa.BPF_X,
              isa.BPF_LD | isa.BPF_H | isa.BPF_ABS, isa.BPF_LD | isa.BPF_B | isa.BPF_ABS,
              isa.BPF_LD | isa.BPF_W | isa.BPF_IND, isa.BPF_LDX | isa.BPF_B | isa.BPF_MSH, 0x0E, 0xFF, 0x100 | 0x20]


def ret_value(draw: Draw) -> int:
    r = _RETS[draw(0, len(_RETS) - 1)]
    kind = draw(0, 3)
    data = 0 if kind == 0 else (draw(0, 40) if kind < 3 else draw(0, 0xFFFF))
    return r | data


def classic_filter(draw: Draw, *, max_len: int = 14, valid_bias: int = 6, nr_values=(39, 110, 186, 600)) -> list[CInsn]:
    """A random seccomp filter; with probability ~valid_bias/(valid_bias+1) it follows every rule."""
    n = draw(1, max_len)
    valid = draw(0, valid_bias) != 0
    prog: list[CInsn] = []
    written = 0  # M[] slots written so far on the straight line
    for pc in range(n - 1):
        left = n - pc - 2  # instructions after the next one
        c = _SECCOMP_CODES[draw(0, len(_SECCOMP_CODES) - 1)]
        k = INTERESTING32[draw(0, len(INTERESTING32) - 1)] if draw(0, 2) else draw(0, 0xFFFFFFFF)
        jt = jf = 0
        if c == isa.BPF_LD | isa.BPF_W | isa.BPF_ABS:
            k = 4 * draw(0, 15)
            if draw(0, 3) == 0:
                k = 0
        elif c in (isa.BPF_LD | isa.BPF_MEM, isa.BPF_LDX | isa.BPF_MEM):
            if written:
                slots = [i for i in range(16) if written >> i & 1]
                k = slots[draw(0, len(slots) - 1)]
            else:
                c, k = isa.BPF_ST, draw(0, 15)
        elif c in (isa.BPF_ST, isa.BPF_STX):
            k = draw(0, 15)
        elif c in (isa.BPF_ALU | isa.BPF_LSH | isa.BPF_K, isa.BPF_ALU | isa.BPF_RSH | isa.BPF_K):
            k = draw(0, 31)
        elif c == isa.BPF_ALU | isa.BPF_DIV | isa.BPF_K:
            k = k or 1
        elif c == isa.BPF_JMP | isa.BPF_JA:
            k = draw(0, left)
        elif c & 7 == isa.BPF_JMP:
            jt, jf = draw(0, min(left, 255)), draw(0, min(left, 255))
            if c & isa.BPF_X == isa.BPF_K and draw(0, 2) == 0:
                k = nr_values[draw(0, len(nr_values) - 1)]
        if c in (isa.BPF_ST, isa.BPF_STX):
            written |= 1 << k
        if c & 7 == isa.BPF_JMP:
            written = 0  # keep memory reads on straight lines (check_load_and_stores is path-sensitive)
        prog.append(CInsn(c, jt, jf, k & 0xFFFFFFFF))
    prog.append(CInsn(isa.BPF_RET | isa.BPF_K, 0, 0, ret_value(draw)) if draw(0, 4) else
                CInsn(isa.BPF_RET | isa.BPF_A))
    if not valid:
        prog = _break(prog, draw)
    return prog


def _break(prog: list[CInsn], draw: Draw) -> list[CInsn]:
    """Break one rule (or, sometimes, none: the generator does not promise a rejection)."""
    i = draw(0, len(prog) - 1)
    how = draw(0, 7)
    x = prog[i]
    if how == 0:
        prog[i] = CInsn(_BAD_CODES[draw(0, len(_BAD_CODES) - 1)], 0, 0, x.k)
    elif how == 1:
        prog[i] = CInsn(isa.BPF_LD | isa.BPF_W | isa.BPF_ABS, 0, 0, draw(0, 80))
    elif how == 2:
        prog[i] = CInsn(isa.BPF_JMP | isa.BPF_JEQ | isa.BPF_K, draw(0, 255), draw(0, 255), x.k)
    elif how == 3:
        prog[i] = CInsn(isa.BPF_LD | isa.BPF_MEM, 0, 0, draw(0, 17))
    elif how == 4:
        prog[i] = CInsn(isa.BPF_ALU | (isa.BPF_LSH, isa.BPF_RSH)[draw(0, 1)] | isa.BPF_K, 0, 0, draw(28, 40))
    elif how == 5:
        prog[i] = CInsn(isa.BPF_ALU | isa.BPF_DIV | isa.BPF_K, 0, 0, draw(0, 1))
    elif how == 6:
        prog[-1] = CInsn(isa.BPF_ALU | isa.BPF_ADD | isa.BPF_K, 0, 0, 1)
    else:
        prog[i] = CInsn(isa.BPF_JMP | isa.BPF_JA, 0, 0, draw(0, len(prog)))
    return prog
