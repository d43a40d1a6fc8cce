"""A static stand-in for the kernel's precision tracking (``mark_chain_precision``), used by state pruning.

The kernel compares a scalar of an explored state with the current one only when the scalar is
*precise*: when some later check relied on its value (a branch the bounds decided, pointer
arithmetic, a helper's size or key, a stack slot that is read back...).  Other scalars match any
scalar, which keeps the number of explored paths linear on programs whose branches only change
counters nobody checks.  lwnlab computes, before the walk, an over-approximation of the registers
whose value may still matter from each pc on (:func:`demanded`): a register outside that set can
hold any scalar without changing what the verifier decides from there, so pruning may ignore it.
The analysis is conservative where the kernel is path-sensitive (every conditional-jump operand is
treated as used, every value stored through a may-be-stack pointer is treated as read back), so
lwnlab prunes at most as often as the kernel.

Two passes over each function's control-flow graph:

* forward, which registers may hold a pointer, and which may point to the stack
  (r10, the context in r1, the function's arguments, lddw map sources, helper results, copies,
  pointer arithmetic, and loads when some pointer may have been spilled);
* backward, the demanded registers: conditional-jump operands, both operands of a register
  ``+=``/``-=`` where either may be a pointer, helper and function-call arguments r1-r5, r0 at a
  subprogram's exit, the value and r0 of stores and atomics through a may-be-stack pointer, the
  index register of ``ld_ind``, and every operand of an instruction whose result is demanded.
"""

from __future__ import annotations

from lwnlab.bpf import isa

ALL = 0x7FF


def _succ(insns, pc, k, x):
    if k == "lddw":
        return (pc + 2,)
    if k == "ja":
        return (pc + 1 + (x.imm if x.code == isa.BPF_JMP32 | isa.BPF_JA else x.off),)
    if k == "jmp":
        return (pc + 1, pc + 1 + x.off)
    if k == "exit":
        return ()
    return (pc + 1,)


def demanded(insns, subprogs: list[int], subprog_of: list[int], call_args) -> list[int]:
    """Bit mask per pc of the registers whose value may matter from that pc on (before the insn)."""
    n = len(insns)
    kinds = []
    pc = 0
    order = []
    while pc < n:
        x = insns[pc]
        k = isa.OPCODES[x.code].kind
        kinds.append(k)
        order.append(pc)
        if k == "lddw":
            kinds.append(None)
            pc += 2
        else:
            pc += 1
    # ---- forward: may-pointer and may-stack-pointer masks before each insn
    may_ptr = [0] * n
    may_stk = [0] * n
    seen = [False] * n
    for si, start in enumerate(subprogs):
        entry_p = (1 << 10) | (1 << 1) if si == 0 else (1 << 10) | 0b111110
        entry_s = (1 << 10) if si == 0 else (1 << 10) | 0b111110
        may_ptr[start] |= entry_p
        may_stk[start] |= entry_s
        seen[start] = True
    spill_ptr = spill_stk = False
    changed = True
    while changed:
        changed = False
        for pc in order:
            if not seen[pc]:
                continue
            x = insns[pc]
            k = kinds[pc]
            p, s = may_ptr[pc], may_stk[pc]
            d, sr = 1 << x.dst, 1 << x.src
            use_x = bool(x.code & isa.BPF_X)
            if k == "mov":
                is64 = x.code & 7 == isa.BPF_ALU64
                if use_x and is64 and not x.off:
                    p = (p & ~d) | (d if p & sr else 0)
                    s = (s & ~d) | (d if s & sr else 0)
                else:
                    p, s = p & ~d, s & ~d
            elif k == "alu":
                op = x.code & 0xF0
                if x.code & 7 == isa.BPF_ALU64 and op in (isa.BPF_ADD, isa.BPF_SUB):
                    if use_x:
                        p = p | (d if p & sr else 0)
                        s = s | (d if s & sr else 0)
                else:
                    p, s = p & ~d, s & ~d
            elif k in ("neg", "alu_end"):
                p, s = p & ~d, s & ~d
            elif k in ("ldx", "ldxsx"):
                p = (p & ~d) | (d if spill_ptr and k == "ldx" else 0)
                s = (s & ~d) | (d if spill_stk and k == "ldx" else 0)
            elif k in ("stx", "atomic"):
                if p & sr and not spill_ptr:
                    spill_ptr, changed = True, True
                if s & sr and not spill_stk:
                    spill_stk, changed = True, True
                if k == "atomic":
                    load = 1 if x.imm == isa.BPF_CMPXCHG else (sr if x.imm & isa.BPF_FETCH else 0)
                    p = (p & ~load) | (load if spill_ptr else 0)
                    s = (s & ~load) | (load if spill_stk else 0)
            elif k == "lddw":
                p = (p & ~d) | (d if x.src else 0)
                s = s & ~d
            elif k in ("call", "ld_abs", "ld_ind"):
                p, s = (p & ~0b111111) | (1 if k == "call" else 0), s & ~0b111111
            for q in _succ(insns, pc, k, x):
                if q < n and (may_ptr[q] | p != may_ptr[q] or may_stk[q] | s != may_stk[q] or not seen[q]):
                    may_ptr[q] |= p
                    may_stk[q] |= s
                    seen[q] = True
                    changed = True
    # ---- backward: demanded registers
    dem = [0] * (n + 2)
    changed = True
    while changed:
        changed = False
        for pc in reversed(order):
            x = insns[pc]
            k = kinds[pc]
            out = 0
            for q in _succ(insns, pc, k, x):
                if q < n:
                    out |= dem[q]
            d, sr = 1 << x.dst, 1 << x.src
            use_x = bool(x.code & isa.BPF_X)
            p, s = may_ptr[pc], may_stk[pc]
            v = out
            if k == "mov":
                v = out & ~d
                if out & d and use_x:
                    v |= sr
            elif k in ("alu", "neg", "alu_end"):
                if out & d:
                    v |= d | (sr if use_x else 0)
                op = x.code & 0xF0
                if k == "alu" and use_x and op in (isa.BPF_ADD, isa.BPF_SUB) and (p & (d | sr)):
                    v |= d | sr
            elif k in ("ldx", "ldxsx", "lddw"):
                v = out & ~d
            elif k == "stx":
                if s & d:
                    v |= sr
            elif k == "atomic":
                load = 1 if x.imm == isa.BPF_CMPXCHG else (sr if x.imm & isa.BPF_FETCH else 0)
                v = out & ~load
                if s & d:
                    v |= sr | (1 if x.imm == isa.BPF_CMPXCHG else 0)
            elif k == "jmp":
                v |= d | (sr if use_x else 0)
            elif k == "call":
                v = (out & ~0b111111) | call_args(x)
            elif k in ("ld_abs", "ld_ind"):
                v = (out & ~0b111111) | (sr if k == "ld_ind" else 0)
            elif k == "exit":
                v = 1 if subprog_of and subprog_of[pc] != 0 else 0
            v &= ALL
            if v != dem[pc]:
                dem[pc] = v
                changed = True
    return dem
