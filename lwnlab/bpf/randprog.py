"""Random programs for property and differential tests (and the benchmark).

Generators take a ``draw(lo, hi) -> int`` function (inclusive bounds), so the
same code serves hypothesis (``st.data()``), ``random.Random`` and numpy.

* :func:`ebpf_scalar_program`: programs the kernel's verifier accepts as a
  socket filter: every register initialised, stack slots written before any
  load, forward conditional jumps only, shift and division constants in range.
  They exercise every ALU/ALU64 operation (incl. sdiv/smod, movsx, byte
  swaps), JMP/JMP32 comparisons, loads/stores of every size and atomics.
* :func:`verifier_program`: socket filters for the verifier differential test, accepted or not
  (maps, helpers, null checks, atomics, loops, bpf-to-bpf calls; its docstring lists what is not
  generated and why).
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


# --------------------------------------------------------------------------- verifier corpus

#: helper ids the corpus calls: the maps trio, the scalar helpers every socket filter may call, and some
#: the gates refuse (get_current_pid_tgid: seccomp only; a kfunc-era id past the modelled table)
CORPUS_HELPERS = (1, 1, 1, 2, 3, 5, 7, 8, 12)
CORPUS_MAPS = {"array": (2, 4, 8, 4), "array1": (2, 4, 16, 1), "hash": (1, 8, 16, 16), "prog_array": (3, 4, 4, 4)}
_ALL_SIZES = (isa.BPF_B, isa.BPF_H, isa.BPF_W, isa.BPF_DW)
_CTX_OFFS = (0, 4, 8, 16, 48, 52, 56, 60, 64)


def verifier_program(draw: Draw, maps: dict[str, int], *, max_blocks: int = 8) -> list[Insn]:
    """A random socket filter for the verifier differential test (accepted or refused: both are tested).

    ``maps`` gives the lddw imm (a map fd) of each role of :data:`CORPUS_MAPS` the caller created.
    Blocks: scalar ALU (byte swaps, movsx, sdiv/smod), sign-extending and plain stack loads, atomics
    on the stack and on map values, forward jumps, map lookups with and without null checks (JMP and
    JMP32) and accesses at in- and out-of-bounds offsets, updates and deletes, scalar helpers,
    tail calls, small bounded loops, and bpf-to-bpf calls to a leaf function.

    Not generated (documented gaps of lwnlab's verifier, or too slow for CI): unbounded loops (the
    kernel grinds to its 1M-insn budget), callbacks (bpf_loop, for_each_map_elem), kfuncs, BTF,
    spin locks, packet access, and loader-unprivileged runs (the machine's
    ``kernel.unprivileged_bpf_disabled`` forbids them, so there is no oracle).
    """
    roles = sorted(maps)
    out: list = []
    # prologue: initialise registers, keep the context in r6
    out.append(Insn(isa.BPF_ALU64 | isa.BPF_MOV | isa.BPF_X, 6, 1))
    for r in (0, 2, 3, 4, 5, 7, 8, 9):
        if draw(0, 3):
            out.append(Insn(isa.BPF_ALU64 | isa.BPF_MOV | isa.BPF_K, r, 0, 0, _imm(draw)))
    for s in range(2):
        if draw(0, 2):
            out.append(Insn(isa.BPF_ST | isa.BPF_MEM | isa.BPF_DW, 10, 0, -8 * (s + 1), draw(0, 5)))
    blocks: list[list] = []
    has_sub = draw(0, 3) == 0
    for _ in range(draw(1, max_blocks)):
        blocks.append(_vblock(draw, maps, roles, has_sub))
    if has_sub and not any(isinstance(x, Insn) and x.src == isa.BPF_PSEUDO_CALL and x.code == isa.BPF_JMP | isa.BPF_CALL
                           for b in blocks for x in b):
        blocks.append(_vblock(draw, maps, roles, has_sub, kind=12))
    # resolve: ("fwd", insn) jumps to the start of a later block (or the tail)
    starts, pos = [], len(out)
    for b in blocks:
        starts.append(pos)
        pos += len(b)
    total = pos
    for bi, b in enumerate(blocks):
        for j, x in enumerate(b):
            if isinstance(x, tuple):
                here = starts[bi] + j + 1
                choices = [st for st in starts if st >= here] + [total]
                tgt = choices[draw(0, len(choices) - 1)]
                x = Insn(x[1].code, x[1].dst, x[1].src, tgt - here, x[1].imm)
            out.append(x)
    if draw(0, 5):
        out.append(Insn(isa.BPF_ALU64 | isa.BPF_MOV | isa.BPF_K, 0, 0, 0, draw(0, 1)))
    out.append(Insn(isa.BPF_JMP | isa.BPF_EXIT))
    if has_sub:
        sub_at = len(out)
        out += _vleaf(draw)
        # fix the local calls (imm = placeholder -1 marks them)
        fixed = []
        for pc, x in enumerate(out):
            if x.code == isa.BPF_JMP | isa.BPF_CALL and x.src == isa.BPF_PSEUDO_CALL and x.imm == -1:
                x = Insn(x.code, 0, isa.BPF_PSEUDO_CALL, 0, sub_at - pc - 1)
            fixed.append(x)
        out = fixed
    return out


def _ld_map(reg: int, fd: int, src: int = isa.BPF_PSEUDO_MAP_FD, off: int = 0) -> list[Insn]:
    return [Insn(isa.LDDW, reg, src, 0, fd), Insn(0, 0, 0, 0, off)]


def _role(draw: Draw, roles: list[str], usual: tuple) -> str:
    """Mostly a map of the usual roles, sometimes any (then the verifier may refuse the pairing)."""
    pool = [r for r in roles if r in usual] if draw(0, 5) else roles
    pool = pool or roles
    return pool[draw(0, len(pool) - 1)]


def _reinit(draw: Draw) -> list[Insn]:
    """After a call r1-r5 are dead: usually give some of them values again."""
    if draw(0, 3) == 0:
        return []
    return [Insn(isa.BPF_ALU64 | isa.BPF_MOV | isa.BPF_K, r, 0, 0, draw(0, 7)) for r in (2, 3, 4, 5) if draw(0, 3)]


def _vblock(draw: Draw, maps: dict[str, int], roles: list[str], has_sub: bool, kind: int | None = None) -> list:
    if kind is None:
        kind = draw(0, 15)
    mov = isa.BPF_ALU64 | isa.BPF_MOV
    if kind <= 3:  # scalar ALU (incl. bswap, movsx, sdiv/smod) on r0, r2-r5, r7-r9
        b = _body_insn(draw)
        fixed = []
        for x in b:
            if x.code & 7 in (isa.BPF_JMP, isa.BPF_JMP32):
                fixed.append(("fwd", x))
            elif (x.code & 7) in (isa.BPF_LDX, isa.BPF_STX, isa.BPF_ST):
                fixed.append(x)
            else:
                d = (0, 2, 3, 4, 5, 7, 8, 9)[draw(0, 7)]
                sr = (0, 2, 3, 4, 5, 7, 8, 9)[draw(0, 7)]
                use_src = x.code & isa.BPF_X and x.code & 0xF0 != isa.BPF_END
                fixed.append(Insn(x.code, d, sr if use_src else 0, x.off, x.imm))
        return fixed
    if kind == 4:  # context load through r6 (sometimes sign-extending)
        size = _ALL_SIZES[draw(0, 3)]
        mode = isa.BPF_MEMSX if size != isa.BPF_DW and draw(0, 5) == 0 else isa.BPF_MEM
        return [Insn(isa.BPF_LDX | mode | size, (0, 2, 3, 7)[draw(0, 3)], 6, _CTX_OFFS[draw(0, len(_CTX_OFFS) - 1)])]
    if kind <= 7:  # map lookup, null check, access
        role = _role(draw, roles, ("array", "array1", "hash"))
        key_off = (-8, -16, -8, -4, -24)[draw(0, 4)]
        b = []
        if draw(0, 3):
            size = (isa.BPF_W, isa.BPF_DW)[draw(0, 1)]
            b.append(Insn(isa.BPF_ST | isa.BPF_MEM | size, 10, 0, key_off if key_off % 8 == 0 else -8,
                          (0, 1, 3, 4, 100)[draw(0, 4)]))
        b += _ld_map(1, maps[role])
        b += [Insn(mov | isa.BPF_X, 2, 10), Insn(isa.BPF_ALU64 | isa.BPF_ADD | isa.BPF_K, 2, 0, 0, key_off),
              Insn(isa.BPF_JMP | isa.BPF_CALL, 0, 0, 0, 1)]
        access = _vaccess(draw)
        chk = draw(0, 5)
        if chk <= 2:  # if r0 == 0 goto skip
            b.append(Insn(isa.BPF_JMP | isa.BPF_JEQ | isa.BPF_K, 0, 0, len(access), 0))
        elif chk == 3:  # if r0 != 0 goto access; skip
            b += [Insn(isa.BPF_JMP | isa.BPF_JNE | isa.BPF_K, 0, 0, 1, 0), Insn(isa.BPF_JMP | isa.BPF_JA, 0, 0,
                                                                               len(access), 0)]
        elif chk == 4:  # a 32-bit "null check" (does not count)
            b.append(Insn(isa.BPF_JMP32 | isa.BPF_JEQ | isa.BPF_K, 0, 0, len(access), 0))
        b += access
        b.append(Insn(mov | isa.BPF_K, 0, 0, 0, 0))
        return b + _reinit(draw)
    if kind == 8:  # update / delete
        role = _role(draw, roles, ("array", "hash"))
        b = [Insn(isa.BPF_ST | isa.BPF_MEM | isa.BPF_DW, 10, 0, -8, draw(0, 3)),
             Insn(isa.BPF_ST | isa.BPF_MEM | isa.BPF_DW, 10, 0, -16, 0)] if draw(0, 3) else []
        b += _ld_map(1, maps[role])
        b += [Insn(mov | isa.BPF_X, 2, 10), Insn(isa.BPF_ALU64 | isa.BPF_ADD | isa.BPF_K, 2, 0, 0, -8)]
        if draw(0, 1):
            b += [Insn(mov | isa.BPF_X, 3, 10), Insn(isa.BPF_ALU64 | isa.BPF_ADD | isa.BPF_K, 3, 0, 0,
                                                      (-16, -32, -8)[draw(0, 2)]),
                  Insn(mov | isa.BPF_K, 4, 0, 0, draw(0, 3)), Insn(isa.BPF_JMP | isa.BPF_CALL, 0, 0, 0, 2)]
        else:
            b.append(Insn(isa.BPF_JMP | isa.BPF_CALL, 0, 0, 0, 3))
        return b + _reinit(draw)
    if kind == 9:  # scalar helpers (and a few the gates refuse)
        hid = (5, 7, 8, 5, 7, 14, 15, 35, 6, 112, 300, 1)[draw(0, 11)]
        return [Insn(isa.BPF_JMP | isa.BPF_CALL, 0, 0, 0, hid)] + _reinit(draw)
    if kind == 10:  # tail call
        role = _role(draw, roles, ("prog_array",))
        return [Insn(mov | isa.BPF_X, 1, 6)] + _ld_map(2, maps[role]) + \
            [Insn(mov | isa.BPF_K, 3, 0, 0, draw(0, 5)), Insn(isa.BPF_JMP | isa.BPF_CALL, 0, 0, 0, 12)] + _reinit(draw)
    if kind == 11:  # a bounded loop: r7 counts up to a small bound (constant or masked context value)
        body = [Insn(isa.BPF_ALU64 | (isa.BPF_ADD, isa.BPF_XOR, isa.BPF_MUL)[draw(0, 2)] | isa.BPF_X, 8, 7)]
        n = draw(1, 12)
        pre = [Insn(mov | isa.BPF_K, 7, 0, 0, 0), Insn(mov | isa.BPF_K, 8, 0, 0, 1)]
        if draw(0, 2) == 0:
            pre += [Insn(isa.BPF_LDX | isa.BPF_MEM | isa.BPF_W, 9, 6, 0),
                    Insn(isa.BPF_ALU64 | isa.BPF_AND | isa.BPF_K, 9, 0, 0, 7)]
            cond = Insn(isa.BPF_JMP | isa.BPF_JLT | isa.BPF_X, 7, 9, -(len(body) + 2), 0)
        else:
            cond = Insn((isa.BPF_JMP, isa.BPF_JMP32)[draw(0, 1)] | isa.BPF_JLT | isa.BPF_K, 7, 0,
                        -(len(body) + 2), n)
        return pre + body + [Insn(isa.BPF_ALU64 | isa.BPF_ADD | isa.BPF_K, 7, 0, 0, 1), cond]
    if kind == 12:  # pointer to a stack slot as the leaf's argument, or plain call
        if not has_sub:
            return [Insn(mov | isa.BPF_K, 0, 0, 0, 1)]
        b = [Insn(mov | isa.BPF_X, 1, 10), Insn(isa.BPF_ALU64 | isa.BPF_ADD | isa.BPF_K, 1, 0, 0, -8)]
        if draw(0, 1):
            b.append(Insn(mov | isa.BPF_K, 2, 0, 0, draw(0, 9)))
        b.append(Insn(isa.BPF_JMP | isa.BPF_CALL, 0, isa.BPF_PSEUDO_CALL, 0, -1))
        return b + _reinit(draw)
    if kind == 13:  # atomics on the stack
        size = (isa.BPF_W, isa.BPF_DW)[draw(0, 1)]
        aop = list(isa.ATOMIC_OPS)[draw(0, len(isa.ATOMIC_OPS) - 1)]
        return [Insn(isa.BPF_STX | isa.BPF_ATOMIC | size, 10, (0, 2, 3)[draw(0, 2)],
                     (-8, -16, -4, -12)[draw(0, 3)] if size == isa.BPF_W else (-8, -16)[draw(0, 1)], aop)]
    if kind == 14:  # a direct map value (array of one element), read or written
        if "array1" not in maps:
            return []
        off = (0, 4, 8, 0, 4, 8, 12, 16)[draw(0, 7)]
        size = _ALL_SIZES[draw(0, 3)]
        b = _ld_map(2, maps["array1"], isa.BPF_PSEUDO_MAP_VALUE, off)
        if draw(0, 1):
            return b + [Insn(isa.BPF_LDX | isa.BPF_MEM | size, 3, 2, (0, 4, -4)[draw(0, 2)])]
        return b + [Insn(isa.BPF_ST | isa.BPF_MEM | size, 2, 0, (0, 4, -4)[draw(0, 2)], 7)]
    # forward conditional jump
    cls = (isa.BPF_JMP, isa.BPF_JMP32)[draw(0, 1)]
    op = _JOPS[draw(0, len(_JOPS) - 1)]
    return [("fwd", Insn(cls | op | isa.BPF_K, (0, 2, 3, 7)[draw(0, 3)], 0, 0, _imm(draw)))]


def _vaccess(draw: Draw) -> list[Insn]:
    """Accesses through r0 (a map value, or maybe NULL): loads, stores, atomics, pointer arithmetic."""
    out = []
    for _ in range(draw(1, 3)):
        k = draw(0, 5)
        size = _ALL_SIZES[draw(0, 3)]
        off = (0, 4, 8, 12, 16, -4, 6)[draw(0, 6)]
        if k <= 1:
            mode = isa.BPF_MEMSX if size != isa.BPF_DW and draw(0, 4) == 0 else isa.BPF_MEM
            out.append(Insn(isa.BPF_LDX | mode | size, (2, 3, 7)[draw(0, 2)], 0, off))
        elif k == 2:
            out.append(Insn(isa.BPF_STX | isa.BPF_MEM | size, 0, (6, 7, 10, 2)[draw(0, 3)], off))
        elif k == 3:
            asz = (isa.BPF_W, isa.BPF_DW)[draw(0, 1)]
            out.append(Insn(isa.BPF_STX | isa.BPF_ATOMIC | asz, 0, 7, (0, 4, 8)[draw(0, 2)],
                            list(isa.ATOMIC_OPS)[draw(0, len(isa.ATOMIC_OPS) - 1)]))
        elif k == 4:  # r0 += bounded index
            out += [Insn(isa.BPF_LDX | isa.BPF_MEM | isa.BPF_W, 8, 6, 0),
                    Insn(isa.BPF_ALU64 | isa.BPF_AND | isa.BPF_K, 8, 0, 0, (3, 7, 15, 0xFF)[draw(0, 3)]),
                    Insn(isa.BPF_ALU64 | isa.BPF_ADD | isa.BPF_X, 0, 8)]
        else:
            out.append(Insn(isa.BPF_ALU64 | isa.BPF_ADD | isa.BPF_K, 0, 0, 0, (4, 8, -4)[draw(0, 2)]))
    return out


def _vleaf(draw: Draw) -> list[Insn]:
    """The callee: uses r1 (maybe a pointer to the caller's stack), its own stack, returns a scalar."""
    mov = isa.BPF_ALU64 | isa.BPF_MOV
    out = []
    k = draw(0, 4)
    if k == 0:
        out.append(Insn(isa.BPF_LDX | isa.BPF_MEM | isa.BPF_DW, 0, 1, 0))  # read through the argument
    elif k == 1:
        out += [Insn(isa.BPF_ST | isa.BPF_MEM | isa.BPF_DW, 1, 0, 0, 5), Insn(mov | isa.BPF_K, 0, 0, 0, 0)]
    elif k == 2:
        out += [Insn(isa.BPF_ST | isa.BPF_MEM | isa.BPF_DW, 10, 0, -(8 * draw(1, 64)), 1),
                Insn(mov | isa.BPF_X, 0, 2)]
    elif k == 3:
        out.append(Insn(mov | isa.BPF_X, 0, 6))  # callee-saved registers are not the callee's
    else:
        out += [Insn(mov | isa.BPF_K, 0, 0, 0, 2), Insn(isa.BPF_JMP | isa.BPF_CALL, 0, 0, 0, 7)]
    out.append(Insn(isa.BPF_JMP | isa.BPF_EXIT))
    return out


def pruning_program(draw: Draw, map_fd: int, *, max_diamonds: int = 8) -> list[Insn]:
    """Diamonds that give r7-r9 different values on each side, then checks that may depend on them.

    For the state-pruning rules (liveness, precision): a check that reads a register (a branch, a
    stack or map-value offset, a helper size) makes its values matter, so paths that differ in it
    must not be pruned; registers no check reads may be.  ``map_fd`` names an array map with
    4-byte keys and 16-byte values.
    """
    mov, alu = isa.BPF_ALU64 | isa.BPF_MOV, isa.BPF_ALU64
    out = [Insn(mov | isa.BPF_X, 6, 1)] + [Insn(mov | isa.BPF_K, r, 0, 0, 0) for r in (7, 8, 9)]
    for i in range(draw(1, max_diamonds)):
        r = draw(7, 9)
        out.append(Insn(isa.BPF_LDX | isa.BPF_MEM | isa.BPF_B, 2, 6, draw(0, 3)))
        if draw(0, 3) == 0:  # a copy before the test: linked scalars (the branch bounds both)
            out.append(Insn((mov, isa.BPF_ALU | isa.BPF_MOV)[draw(0, 1)] | isa.BPF_X, draw(7, 9), 2))
            if draw(0, 1):
                out.append(Insn(alu | isa.BPF_ADD | isa.BPF_K, out[-1].dst, 0, 0, (1, 8, 16)[draw(0, 2)]))
        side = []
        k = draw(0, 3)
        if k == 0:
            side.append(Insn(mov | isa.BPF_K, r, 0, 0, (0, 4, 8, 12, 16, 24)[draw(0, 5)]))
        elif k == 1:
            side.append(Insn(alu | isa.BPF_ADD | isa.BPF_K, r, 0, 0, (1, 4, 8)[draw(0, 2)]))
        elif k == 2:
            side.append(Insn(alu | isa.BPF_LSH | isa.BPF_K, r, 0, 0, 1))
        else:
            side.append(Insn(mov | isa.BPF_X, r, 2))
        out.append(Insn(isa.BPF_JMP | (isa.BPF_JGT, isa.BPF_JSET, isa.BPF_JEQ)[draw(0, 2)] | isa.BPF_K, 2, 0,
                        len(side), draw(0, 7)))
        out += side
    for _ in range(draw(1, 2)):
        r = draw(7, 9)
        k = draw(0, 4)
        if k == 0:  # a stack offset
            out += [Insn(alu | isa.BPF_AND | isa.BPF_K, r, 0, 0, 0x18) if draw(0, 1) else
                    Insn(mov | isa.BPF_X, r, r),
                    Insn(mov | isa.BPF_X, 3, 10), Insn(alu | isa.BPF_ADD | isa.BPF_K, 3, 0, 0, -24),
                    Insn(alu | isa.BPF_ADD | isa.BPF_X, 3, r),
                    Insn(isa.BPF_ST | isa.BPF_MEM | isa.BPF_DW, 3, 0, 0, 1)]
        elif k == 1:  # a map value offset
            out += [Insn(isa.BPF_ST | isa.BPF_MEM | isa.BPF_W, 10, 0, -4, 0), Insn(isa.LDDW, 1, 1, 0, map_fd),
                    Insn(0), Insn(mov | isa.BPF_X, 2, 10), Insn(alu | isa.BPF_ADD | isa.BPF_K, 2, 0, 0, -4),
                    Insn(isa.BPF_JMP | isa.BPF_CALL, 0, 0, 0, 1), Insn(isa.BPF_JMP | isa.BPF_JEQ | isa.BPF_K, 0, 0, 2, 0),
                    Insn(alu | isa.BPF_ADD | isa.BPF_X, 0, r), Insn(isa.BPF_LDX | isa.BPF_MEM | isa.BPF_W, 4, 0, 0)]
        elif k == 2:  # a branch on it that guards a bad read
            out += [Insn(isa.BPF_JMP | isa.BPF_JNE | isa.BPF_K, r, 0, 1, (0, 4, 8, 16, 24)[draw(0, 4)]),
                    Insn(isa.BPF_LDX | isa.BPF_MEM | isa.BPF_DW, 4, 10, -64)]  # fine for root: reads as unknown
            if draw(0, 1):
                out[-1] = Insn(mov | isa.BPF_X, 4, 5)  # r5 is never set: the read is refused
        elif k == 3:  # a helper size
            out += [Insn(alu | isa.BPF_AND | isa.BPF_K, r, 0, 0, 0x1F) if draw(0, 1) else Insn(mov | isa.BPF_X, r, r),
                    Insn(mov | isa.BPF_X, 1, 10), Insn(alu | isa.BPF_ADD | isa.BPF_K, 1, 0, 0, -16),
                    Insn(mov | isa.BPF_X, 2, r), Insn(mov | isa.BPF_K, 3, 0, 0, 0),
                    Insn(isa.BPF_JMP | isa.BPF_CALL, 0, 0, 0, 112)]
        else:  # nothing checks it
            out.append(Insn(alu | isa.BPF_XOR | isa.BPF_X, 0, r))
    out += [Insn(mov | isa.BPF_K, 0, 0, 0, 0), Insn(isa.BPF_JMP | isa.BPF_EXIT)]
    return out


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
