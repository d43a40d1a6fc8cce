"""The eBPF verifier: an abstract interpreter over every path, in the spirit of ``kernel/bpf/verifier.c``.

The kernel is the reference: :mod:`tests.differential.test_bpf_verifier_kernel` compares
accept/reject with the live kernel (Linux 6.18 on the development machine, as root) on generated
socket filters with real maps, and the messages are the kernel's words (6.12 source, with the
6.18 wording where the live kernel differs: noted at each place).

API: :func:`verify` (raises :class:`~lwnlab.errors.VerifierError` with ``.pc`` and ``.log`` on
rejection) and :func:`check` (returns the :class:`Verdict`).  Both take ``maps`` (lddw imm ->
:class:`~lwnlab.bpf.helpers.MapSpec`), ``privileges``/``gates`` (:mod:`lwnlab.bpf.helpers`) and
``privileged`` as a shorthand.  A Verdict carries the log, the pc and message of a rejection, and
the states for a step slider (``insn_states``: (pc, insn text, state after) in processing order;
``states``: pc -> states before it).

What it models:

* register types: ``NOT_INIT``, ``SCALAR`` (unsigned and signed 64-bit bounds plus a tnum of known
  bits, :mod:`lwnlab.bpf.verifier_tnum`), ``PTR_TO_CTX``, ``PTR_TO_STACK`` (of any call frame),
  ``CONST_PTR_TO_MAP``, ``PTR_TO_MAP_VALUE`` and ``PTR_TO_MAP_VALUE_OR_NULL`` (with an id shared by
  its copies and spills); reads of uninitialised registers (``R2 !read_ok``), r10 read only;
* the structural passes: calls need CAP_BPF, lddw map sources resolved (``fd N is not pointing to
  valid bpf_map``, direct values of one-element arrays), subprogram boundaries, jumps out of range,
  last insn not an exit or jump, unreachable insns, back-edges for unprivileged loaders;
* the stack: bounds, strict alignment, per-byte slot types (invalid / misc / zero / spilled
  register), spill and fill, uninitialised reads refused for unprivileged loaders;
* the context of the program type (:data:`PROG_TYPES`): the proposed seccomp type (read only,
  ``off % size == 0``, nr/arch as u32, instruction_pointer and args as u64; return a scalar) and
  socket filters (``struct __sk_buff`` minus the ``sk`` pointer, refused: documented, conservative);
* map values: fixed and variable offsets against value_size (check_mem_region_access), pointer
  arithmetic, atomics (strict alignment), pointer leaks into maps for unprivileged loaders;
* linked scalars: ``r2 = r1`` (and ``r2 = r1 + k``, BPF_ADD_CONST) share an id, and a branch on one
  bounds the others, spilled copies included (sync_linked_regs);
* null checks: ``if rX == 0``/``!= 0`` (64-bit only, as the kernel) turn every copy and spill with
  the same id into a map value or a scalar 0 on each side; pointer comparisons refused for
  unprivileged loaders; an array lookup with a constant in-range key is never NULL (6.14+);
* helper calls: :func:`lwnlab.bpf.helpers.check_helper_allowed` (ids, program types, privileges,
  the LSM "almost cBPF" and Yama gates), each argument as check_func_arg does (map pointer, key
  and value memory on the stack or in a map value, memory and size pairs, raw (uninit) memory the
  helper fills in, ctx, anything), R1-R5 dead afterwards, R0 the return type, map/function
  compatibility (tail calls need a prog_array, task storage a task_storage map);
* bpf-to-bpf calls: frames with R1-R5 passed and R6-R9 kept, R0 returned (not a stack pointer), at
  most 8 frames, the combined stack of a call chain at most 512 bytes (rounded as the JIT does);
* branches: both successors explored, a branch the bounds decide is pruned, bounds refined on each
  side; explored states prune the paths they subsume at the kernel's prune points (jumps, their
  targets, after calls), with the kernel's heuristics for adding and evicting states, a static
  register liveness (dead registers are not compared) and a static stand-in for precision tracking
  (:mod:`lwnlab.bpf.verifier_precision`: scalars no later check can depend on match any scalar), so
  the processed counts are the kernel's on typical programs;
* loops: a loop coming back to an identical state is "infinite loop detected"; at most 1,000,000
  processed instructions ("BPF program is too large. Processed 1000001 insn").  Loops whose
  iterations differ only by counters whose bounds advance by fixed steps are fast-forwarded: the
  skip is checked by one abstract iteration from the join of the skipped states (same work, no
  error, counters advanced by one step) and one from the landing state, so the processed count is
  the plain walk's; an unbounded loop reaches the budget in milliseconds.  Scalars that no check
  reads (static precision) may change in any way meanwhile (a running sum): they become unknown.
  A loop whose only changes are such scalars can only end at the budget, and is skipped to it.

Not modelled (refused with a message saying so, or documented): path-sensitive precision (the
static stand-in is conservative: lwnlab prunes at most as often as the kernel, so its processed
counts can be higher on some branchy programs; accept/reject agree on the corpus), separate 32-bit
bounds (the 32-bit views are derived from the 64-bit ones),
Spectre v1/v4 sanitation for loaders without CAP_PERFMON beyond sanitize_check_bounds (stack and
map value pointers kept in bounds) and the variable-offset refusals -- in particular the kernel's
exploration of speculative paths (sanitize_speculative_path), which makes Linux 6.18 refuse a counted
loop such as ``r0 = 0; l: r0 += 1; if r0 < 10 goto l`` for a CAP_BPF-only loader ("infinite loop
detected") that lwnlab accepts --, packets, BTF, kfuncs, callbacks, spin locks, and the ``sk``
field of ``__sk_buff``.

Privileges follow the kernel's split: CAP_BPF (``bpf_capable``) allows back-edges, bpf-to-bpf calls,
1M instructions and scalar spill tracking; CAP_PERFMON allows pointer leaks (``allow_ptr_leaks``),
uninitialised stack reads (``allow_uninit_stack``) and skips the Spectre checks (``bypass_spec_v1``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lwnlab.bpf import helpers as H
from lwnlab.bpf import isa
from lwnlab.bpf import verifier_tnum as tn
from lwnlab.bpf.disasm import pseudo_c_one
from lwnlab.bpf.helpers import Gates, MapSpec, Privileges
from lwnlab.bpf.program import Insn, check_program
from lwnlab.bpf.verifier_tnum import M32, M64, Tnum
from lwnlab.errors import FilterError, VerifierError

NOT_INIT, SCALAR, PTR_TO_CTX, PTR_TO_STACK = "not_init", "scalar", "ctx", "fp"
CONST_PTR_TO_MAP, PTR_TO_MAP_VALUE, PTR_TO_MAP_VALUE_OR_NULL = "map_ptr", "map_value", "map_value_or_null"
POINTERS = (PTR_TO_CTX, PTR_TO_STACK, CONST_PTR_TO_MAP, PTR_TO_MAP_VALUE, PTR_TO_MAP_VALUE_OR_NULL)
S64_MIN, S64_MAX = -(1 << 63), (1 << 63) - 1
BPF_MAX_VAR_OFF = 1 << 29
BPF_MAX_VAR_SIZ = 1 << 29
BPF_COMPLEXITY_LIMIT_JMP_SEQ = 8192
STACK_INVALID, STACK_MISC, STACK_ZERO, STACK_SPILL = 0, 1, 2, 3


def _s64(v: int) -> int:
    v &= M64
    return v - (1 << 64) if v >> 63 else v


# --------------------------------------------------------------------------- register state


@dataclass(frozen=True, slots=True)
class Reg:
    type: str = NOT_INIT
    off: int = 0  # fixed offset of a pointer
    umin: int = 0
    umax: int = M64
    smin: int = S64_MIN
    smax: int = S64_MAX
    var: Tnum = tn.UNKNOWN  # scalar value, or a pointer's variable offset
    id: int = 0  # PTR_TO_MAP_VALUE_OR_NULL: copies share it, a null check resolves them all
    map: object = None  # the MapSpec of a map pointer or map value pointer
    frame: int = 0  # PTR_TO_STACK: the call frame whose stack it points into

    # ---- constructors
    @staticmethod
    def const(v: int) -> "Reg":
        v &= M64
        return Reg(SCALAR, 0, v, v, _s64(v), _s64(v), tn.const(v))

    @staticmethod
    def unknown() -> "Reg":
        return _UNKNOWN

    @staticmethod
    def ptr(t: str, off: int = 0, *, map=None, id: int = 0, frame: int = 0) -> "Reg":
        return Reg(t, off, 0, 0, 0, 0, _ZERO_T, id, map, frame)

    @staticmethod
    def bounded(umin: int, umax: int, smin: int = S64_MIN, smax: int = S64_MAX, var: Tnum = tn.UNKNOWN,
                type: str = SCALAR, off: int = 0) -> "Reg | None":
        """Tighten the five views against each other (__reg_deduce_bounds); None if empty."""
        for _ in range(3):
            var = tn.intersect(var, tn.trange(umin, umax))
            umin = max(umin, var.value)
            umax = min(umax, var.value | var.mask)
            if smin >= 0 or smax < 0:  # signed range within one half: same order as unsigned
                umin = max(umin, smin & M64)
                umax = min(umax, smax & M64)
            if _s64(umin) <= _s64(umax):  # unsigned range does not cross the sign boundary
                smin = max(smin, _s64(umin))
                smax = min(smax, _s64(umax))
            if umin > umax or smin > smax:
                return None
        return Reg(type, off, umin, umax, smin, smax, var)

    def with_var(self, umin, umax, smin, smax, var) -> "Reg":
        """This pointer with another variable offset."""
        return Reg(self.type, self.off, umin, umax, smin, smax, var, self.id, self.map, self.frame)

    def with_off(self, off: int) -> "Reg":
        return Reg(self.type, off, self.umin, self.umax, self.smin, self.smax, self.var, self.id, self.map,
                   self.frame)

    # ---- queries
    def is_const(self) -> bool:
        return self.type == SCALAR and self.var.mask == 0

    @property
    def value(self) -> int:
        return self.var.value

    def is_ptr(self) -> bool:
        return self.type in POINTERS

    def u32_range(self) -> tuple[int, int]:
        if self.umax <= M32:
            return self.umin, self.umax
        if -(1 << 31) <= self.smin and self.smax < 0:  # small negatives: the low half is v + 2**32
            return self.smin + (1 << 32), self.smax + (1 << 32)
        t = tn.subreg(self.var)
        return t.value, t.value | t.mask

    def s32_range(self) -> tuple[int, int]:
        if -(1 << 31) <= self.smin and self.smax < (1 << 31):  # the low half as s32 is the value itself
            return self.smin, self.smax
        lo, hi = self.u32_range()
        if hi < 1 << 31:
            return lo, hi
        if lo >= 1 << 31:
            return lo - (1 << 32), hi - (1 << 32)
        return -(1 << 31), (1 << 31) - 1

    def describe(self, curframe: int | None = None) -> str:
        """The kernel's print_verifier_state style: ``scalar(umax=255,var_off=(0x0; 0xff))``."""
        if self.type == NOT_INIT:
            return "?"
        if self.type == SCALAR:
            if self.var.mask == 0:
                return str(_s64(self.value))
            parts = [f"id={self.id & 0x7FFFFFFF}" + (f"+{self.off}" if self.off else "")] if self.id else []
            if self.smin != S64_MIN:
                parts.append(f"smin={self.smin}")
            if self.smax != S64_MAX:
                parts.append(f"smax={self.smax}")
            if self.umin != 0:
                parts.append(f"umin={self.umin}")
            if self.umax != M64:
                parts.append(f"umax={self.umax}")
            if self.var != tn.UNKNOWN:
                parts.append(f"var_off={self.var}")
            return f"scalar({','.join(parts)})"
        if self.type == PTR_TO_STACK:
            base = f"fp{self.off}" if curframe is None or curframe == self.frame else f"fp[{self.frame}]{self.off}"
        else:
            parts = []
            if self.id:
                parts.append(f"id={self.id}")
            if self.off:
                parts.append(f"off={self.off}")
            if self.map is not None:
                if getattr(self.map, "name", ""):
                    parts.append(f"map={self.map.name}")
                parts.append(f"ks={self.map.key_size},vs={self.map.value_size}")
            base = f"{self.type}({','.join(parts)})"
        if not self.var.is_const() or self.var.value:
            base += f"(var_off={self.var},smin={self.smin},smax={self.smax})"
        return base


_ZERO_T = tn.const(0)
_UNKNOWN = Reg(SCALAR)
_NOT_INIT = Reg()


def _reg_contains(old: Reg, cur: Reg, idmap: dict | None = None) -> bool:
    """regsafe(): every run from ``cur`` behaves like some run from ``old``."""
    if old.type == NOT_INIT:
        return True
    if old.type != cur.type:
        return False
    if old.type == SCALAR:
        if old.id or cur.id:  # check_scalar_ids(): linked registers must be linked the same way
            if idmap is None or old.off != cur.off:
                return False
            o = ("s", old.id) if old.id else ("t", id(old), len(idmap))
            c = ("s", cur.id) if cur.id else ("u", id(cur), len(idmap))
            if idmap.setdefault(("o",) + o, c) != c or idmap.setdefault(("c",) + c, o) != o:
                return False
        if old is cur or old == cur:
            return True
        return (old.umin <= cur.umin and cur.umax <= old.umax and old.smin <= cur.smin and cur.smax <= old.smax
                and tn.contains(old.var, cur.var))
    if old.id or cur.id:  # check_ids(): the same pairing of ids throughout the state
        if idmap is None:
            return False
        if not (old.id and cur.id):
            return False
        m = idmap.setdefault(("o", old.id), cur.id)
        r = idmap.setdefault(("c", cur.id), old.id)
        if m != cur.id or r != old.id:
            return False
        return (old.off, old.var, old.umin, old.umax, old.smin, old.smax, old.map, old.frame) == \
            (cur.off, cur.var, cur.umin, cur.umax, cur.smin, cur.smax, cur.map, cur.frame)
    return old == cur


# --------------------------------------------------------------------------- whole state


class Frame:
    """One call frame (struct bpf_func_state): registers, the 512-byte stack, spilled registers."""

    __slots__ = ("regs", "stack", "spills", "callsite", "subprog", "depth")

    def __init__(self, regs, stack, spills, callsite: int = -1, subprog: int = 0, depth: int = 0):
        self.regs, self.stack, self.spills = regs, stack, spills
        self.callsite, self.subprog, self.depth = callsite, subprog, depth

    def copy(self) -> "Frame":
        return Frame(list(self.regs), list(self.stack), dict(self.spills), self.callsite, self.subprog, self.depth)

    def key(self):
        return (self.callsite, tuple(self.regs), tuple(self.stack), tuple(sorted(self.spills.items())))


class State:
    """struct bpf_verifier_state: the call frames (the last is the current one)."""

    __slots__ = ("frames", "parent")

    def __init__(self, frames, parent=None):
        self.frames = frames
        self.parent = parent

    @property
    def cur(self) -> Frame:
        return self.frames[-1]

    @property
    def regs(self) -> list:
        return self.frames[-1].regs

    @property
    def stack(self) -> list:
        return self.frames[-1].stack

    @property
    def spills(self) -> dict:
        return self.frames[-1].spills

    @property
    def depth(self) -> int:
        return self.frames[-1].depth

    def copy(self) -> "State":
        return State([f.copy() for f in self.frames], self.parent)

    def key(self):
        return tuple(f.key() for f in self.frames)

    def describe(self) -> str:
        cf = len(self.frames) - 1
        fr = self.frames[-1]
        out = []
        for i, r in enumerate(fr.regs):
            if r.type != NOT_INIT:
                out.append(f"R{i}={r.describe(cf)}")
        for base in sorted(fr.spills):
            r, size = fr.spills[base]
            out.append(f"fp{base - 512}={r.describe(cf)}")
        stack = fr.stack
        for b in range(max(0, (512 - fr.depth) // 8 * 8), 512, 8):
            if b in fr.spills:
                continue
            sl = stack[b:b + 8]
            if any(sl):
                out.append(f"fp{b - 512}=" + "".join("?mz"[t] if t < 3 else "r" for t in reversed(sl)))
        text = " ".join(out)
        return text if cf == 0 else f"frame{cf}: {text}"


@dataclass
class Checkpoint:
    pc: int
    state: State
    parent: "Checkpoint | None"
    branches: int = 1
    hit: int = 0
    miss: int = 0
    key: tuple | None = None  # the stored state's exact key, computed once


def _stack_contains(old: Frame, cur: Frame, idmap: dict) -> bool:
    ostack, cstack = old.stack, cur.stack
    if ostack != cstack:
        for i in range(512):
            o, c = ostack[i], cstack[i]
            if o == STACK_INVALID or o == c:
                continue
            if o == STACK_MISC and c != STACK_INVALID:
                if c == STACK_SPILL and cur.spills.get(i - i % 8, (_NOT_INIT,))[0].type != SCALAR:
                    return False
                continue
            return False
    for base, (r, size) in old.spills.items():
        c = cur.spills.get(base)
        if c is None or c[1] != size or not _reg_contains(r, c[0], idmap):
            return False
    return True


def _subsumes(old: State, cur: State, live: list | None = None, pc: int = 0) -> bool:
    """states_equal(): ``old`` covers ``cur``; registers dead at the frame's resume point are not compared
    (a static liveness, a superset of the kernel's REG_LIVE_READ marks: sound, sometimes less pruning)."""
    if len(old.frames) != len(cur.frames):
        return False
    idmap: dict = {}
    n = len(old.frames)
    for fi, (fo, fc) in enumerate(zip(old.frames, cur.frames)):
        if fo.callsite != fc.callsite:
            return False
        if live is None:
            mask, prec = 0x7FF, 0x7FF
        else:
            at = pc if fi == n - 1 else old.frames[fi + 1].callsite + 1
            mask, prec = live[0][at], live[1][at]
        for i, (o, c) in enumerate(zip(fo.regs, fc.regs)):
            if not mask >> i & 1:
                continue
            if not prec >> i & 1 and o.type == SCALAR and c.type == SCALAR:
                continue  # an imprecise scalar matches any scalar (regsafe() with !rold->precise)
            if not _reg_contains(o, c, idmap):
                return False
        if not _stack_contains(fo, fc, idmap):
            return False
    return True


def _get(st: State, fi: int, kind: str, idx: int):
    fr = st.frames[fi]
    if kind == "r":
        return fr.regs[idx]
    sp = fr.spills.get(idx)
    return None if sp is None else sp[0]


def _set(st: State, fi: int, kind: str, idx: int, r: Reg) -> None:
    fr = st.frames[fi]
    if kind == "r":
        fr.regs[idx] = r
    else:
        fr.spills[idx] = (r, fr.spills[idx][1])


def _differing_scalars(s0: State, s1: State, s2: State) -> list | None:
    """``[(frame, 'r'|'s', index, a, b, c)]`` for the registers and spilled scalars that differ between three
    states that are otherwise alike (same frames, stack slot types and spill slots); None when they are not
    alike, or a slot that differs is not a scalar (a spill: not an 8-byte one)."""
    if not (len(s0.frames) == len(s1.frames) == len(s2.frames)):
        return None
    out = []
    for fi, (f0, f1, f2) in enumerate(zip(s0.frames, s1.frames, s2.frames)):
        if f0.callsite != f2.callsite or f0.stack != f1.stack or f1.stack != f2.stack \
                or f0.spills.keys() != f2.spills.keys() or f1.spills.keys() != f2.spills.keys():
            return None
        pairs = [("r", i, f0.regs[i], f1.regs[i], f2.regs[i]) for i in range(11)]
        pairs += [("s", k, f0.spills[k][0], f1.spills[k][0], f2.spills[k][0]) for k in f2.spills]
        for kind, idx, a, b, c in pairs:
            if a == b == c:
                continue
            if not (a.type == b.type == c.type == SCALAR) or (kind == "s" and f2.spills[idx][1] != 8):
                return None
            out.append((fi, kind, idx, a, b, c))
    return out


def _counter_steps(s0: State, s1: State, s2: State) -> dict | None:
    """{(frame, 'r'|'s', index): (dumin, dumax, dsmin, dsmax)} when the three states differ only by scalars
    whose bounds advance by the same steps each time (a counter, or a bound a loop test refines); None
    otherwise."""
    slots = _differing_scalars(s0, s1, s2)
    if slots is None:
        return None
    steps = {}
    for fi, kind, idx, a, b, c in slots:
        if not (a.is_const() and b.is_const() and c.is_const()) and not (a.var == b.var == c.var):
            return None
        st = (b.umin - a.umin, b.umax - a.umax, b.smin - a.smin, b.smax - a.smax)
        if st != (c.umin - b.umin, c.umax - b.umax, c.smin - b.smin, c.smax - b.smax) or not any(st):
            return None
        steps[(fi, kind, idx)] = st
    return steps or None


def _varying_scalars(s0: State, s1: State, s2: State) -> list | None:
    """The (frame, kind, index) of the scalars that differ between three otherwise equal states."""
    slots = _differing_scalars(s0, s1, s2)
    if not slots:
        return None
    return [(fi, kind, idx) for fi, kind, idx, *_ in slots]


def _shifted(r: Reg, step: tuple, m: int) -> Reg | None:
    """The register m iterations later (bounds advanced), or None if that leaves the 64-bit ranges."""
    umin, umax, smin, smax = r.umin + m * step[0], r.umax + m * step[1], r.smin + m * step[2], r.smax + m * step[3]
    if not (0 <= umin <= umax <= M64 and S64_MIN <= smin <= smax <= S64_MAX):
        return None
    if r.is_const():
        if umin != umax or _s64(umin) != smin:
            return None
        return Reg.const(umin)
    return Reg.bounded(umin, umax, smin, smax, r.var)


def _advance(st: State, steps: dict, m: int) -> bool:
    for key, step in steps.items():
        nr = _shifted(_get(st, *key), step, m)
        if nr is None:
            return False
        _set(st, *key, nr)
    return True


def _call_args(x: Insn) -> int:
    """Registers a call reads: the helper's arguments (all of r1-r5 for a function or an unknown helper)."""
    if x.src == 0 and x.imm in H.HELPERS:
        return (1 << (len(H.HELPERS[x.imm].args) + 1)) - 2
    return 0b111110


# --------------------------------------------------------------------------- program types (context access)


@dataclass(frozen=True)
class ProgType:
    name: str
    ctx_size: int
    writable: bool
    ld_abs: bool
    #: return value range for check_return_code, or None for any scalar
    ret_range: tuple | None = None

    def ctx_access(self, off: int, size: int, write: bool) -> str | None:
        """None when the access is allowed, else the reason (the kernel just says 'invalid bpf_context access')."""
        if self.name == "seccomp":
            return _seccomp_access(off, size, write)
        return _skb_access(off, size, write)


#: the kernel's words (do_check / check_alu_op / check_cond_jmp_op ...) for a malformed instruction, by kind
_RESERVED = {"alu": "BPF_ALU", "mov": "BPF_MOV", "neg": "BPF_NEG", "alu_end": "BPF_END", "ldx": "BPF_LDX",
             "ldxsx": "BPF_LDX", "st": "BPF_ST", "stx": "BPF_STX", "atomic": "BPF_STX", "ld_abs": "BPF_LD_[ABS|IND]",
             "ld_ind": "BPF_LD_[ABS|IND]", "lddw": "BPF_LD_IMM64", "ja": "BPF_JA", "jmp": "BPF_JMP/JMP32",
             "call": "BPF_CALL", "exit": "BPF_EXIT"}


def _malformed_in_kernel_words(insns: list, pc: int, detail: str) -> str:
    """The loader's structural complaint about insns[pc] as the kernel's verifier words it, lwnlab's
    detail in parentheses: 'BPF_ALU uses reserved fields (reserved field imm is 5, must be 0 for add)'."""
    x = insns[pc]
    info = isa.OPCODES.get(x.code)
    if info is None:  # do_check(): an LDX of an unknown mode or size is "reserved fields", the rest unknown
        if x.code & 7 == isa.BPF_LDX:
            return f"BPF_LDX uses reserved fields (unknown opcode {x.code:02x})"
        return f"unknown opcode {x.code:02x}"
    if info.kind == "atomic" and info.imms is not None and x.imm not in info.imms:
        return f"BPF_ATOMIC uses invalid atomic opcode {x.imm & M32:02x}"
    if info.kind == "lddw" and detail.startswith(("invalid second slot", "lddw is missing")):
        return f"invalid BPF_LD_IMM insn ({detail})"
    if detail.startswith(("reserved field", "invalid offset", "invalid immediate", "invalid register",
                          "call with src_reg")) and info.kind in _RESERVED:
        return f"{_RESERVED[info.kind]} uses reserved fields ({detail})"
    return detail


def _seccomp_access(off: int, size: int, write: bool) -> str | None:
    # seccomp_is_valid_access() of the 2021 RFC patch set (proposed, never merged)
    if write:
        return "the seccomp context is read only"
    if off < 0 or off >= 64:
        return "offset outside struct seccomp_data"
    if off % size:
        return "misaligned context access"
    if off < 8:  # inside nr (0..3) or arch (4..7)
        return None if off in (0, 4) and size == 4 else "nr and arch are read as u32"
    return None if size == 8 else "instruction_pointer and args[] are read as u64"


# struct __sk_buff (include/uapi/linux/bpf.h), 192 bytes: name -> (offset, size)
SK_BUFF = {
    "len": (0, 4), "pkt_type": (4, 4), "mark": (8, 4), "queue_mapping": (12, 4), "protocol": (16, 4),
    "vlan_present": (20, 4), "vlan_tci": (24, 4), "vlan_proto": (28, 4), "priority": (32, 4),
    "ingress_ifindex": (36, 4), "ifindex": (40, 4), "tc_index": (44, 4), "cb": (48, 20), "hash": (68, 4),
    "tc_classid": (72, 4), "data": (76, 4), "data_end": (80, 4), "napi_id": (84, 4), "family": (88, 4),
    "remote_ip4": (92, 4), "local_ip4": (96, 4), "remote_ip6": (100, 16), "local_ip6": (116, 16),
    "remote_port": (132, 4), "local_port": (136, 4), "data_meta": (140, 4), "flow_keys": (144, 8),
    "tstamp": (152, 8), "wire_len": (160, 4), "gso_segs": (164, 4), "sk": (168, 8), "gso_size": (176, 4),
    "tstamp_type": (180, 1), "hwtstamp": (184, 8),
}
SK_BUFF_SIZE = 192


def _skb_field(off: int) -> str | None:
    for name, (o, s) in SK_BUFF.items():
        if o <= off < o + s:
            return name
    return None


def _skb_access(off: int, size: int, write: bool) -> str | None:
    # sk_filter_is_valid_access() then bpf_skb_is_valid_access() (net/core/filter.c)
    f = _skb_field(off)
    if f in ("tc_classid", "data", "data_meta", "data_end", "family", "remote_ip4", "local_ip4", "remote_ip6",
             "local_ip6", "remote_port", "local_port", "tstamp", "wire_len", "hwtstamp"):
        return f"__sk_buff.{f} is not accessible to socket filters"
    if write and f != "cb":
        return "socket filters may write only __sk_buff.cb[]"
    if off < 0 or off >= SK_BUFF_SIZE:
        return "offset outside struct __sk_buff"
    if off % size:
        return "misaligned context access"
    if f == "cb":
        return None if off + size <= 68 else "access past cb[4]"
    if f == "flow_keys":
        return "__sk_buff.flow_keys is not accessible"
    if f == "sk":
        return "__sk_buff.sk (a socket pointer) is not modelled by lwnlab yet"
    if f is None or f == "tstamp_type":
        return "padding or tstamp_type of __sk_buff"
    if write:
        return None if size == 4 else "context writes must be u32"
    return None if size <= 4 else "narrow loads only: this field is u32"


PROG_TYPES = {
    "seccomp": ProgType("seccomp", 64, False, False, None),
    "socket_filter": ProgType("socket_filter", SK_BUFF_SIZE, True, True, None),
}


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    log: str
    processed: int
    pc: int | None = None
    message: str = ""
    #: pc -> the register/stack states seen there (strings, in processing order; for the notebook)
    states: dict = field(default_factory=dict)
    #: the walk in processing order: (pc, "pc: (code) insn", state after it) -- a slider steps through it
    #: (the state before it, for the rejected instruction)
    insn_states: list = field(default_factory=list)
    prog_type: str = "socket_filter"
    #: stack depth of each subprogram (bytes), as check_max_stack_depth sums them
    stack_depth: tuple = ()

    def raise_for(self) -> "Verdict":
        if not self.accepted:
            raise VerifierError(self.message, pc=self.pc, log=self.log)
        return self

    def to_json(self) -> dict:
        return {"accepted": self.accepted, "prog_type": self.prog_type, "processed": self.processed,
                "pc": self.pc, "message": self.message, "log": self.log}


class _Reject(Exception):
    def __init__(self, msg: str, pc: int, pre: tuple = ()):
        self.msg, self.pc, self.pre = msg, pc, pre


#: bpf-to-bpf calls nest at most this deep (MAX_CALL_FRAMES)
MAX_CALL_FRAMES = 8
MAX_BPF_STACK = 512
#: how many (pc, state) pairs a Verdict keeps for the step slider
MAX_INSN_STATES = 20000
#: log lines kept before a long walk stops logging each instruction (the kernel's log buffer is finite too)
MAX_LOG_LINES = 200_000


def _kernel_helper_names() -> dict:
    names = {hid: "bpf_" + name for hid, name in H.KNOWN_UNMODELLED.items()}
    names.update({h.id: h.c_name for h in H.HELPERS.values()})
    return names


# --------------------------------------------------------------------------- the verifier


class Verifier:
    def __init__(self, insns: list[Insn], prog_type: str = "socket_filter", privileged: bool = True,
                 max_insns: int = isa.BPF_COMPLEXITY_LIMIT_INSNS, log_level: int = 1, *,
                 maps: dict | None = None, privileges: Privileges | None = None, gates: Gates | None = None,
                 accelerate_loops: bool = True):
        if prog_type not in PROG_TYPES:
            raise VerifierError(f"unknown program type {prog_type!r} (known: {', '.join(PROG_TYPES)})",
                                field="prog_type")
        self.insns = list(insns)
        self.pt = PROG_TYPES[prog_type]
        if privileges is None:
            privileges = Privileges.root() if privileged else Privileges.unprivileged()
        self.privs = privileges
        # The kernel's verifier has two kinds of privilege (since 5.8): env->bpf_capable (CAP_BPF: back-edges and
        # bounded loops, 1M instructions, bpf-to-bpf calls, scalar spill tracking) and the perfmon ones
        # (CAP_PERFMON: allow_ptr_leaks, allow_uninit_stack, bypass_spec_v1/v4). ``priv`` is the latter;
        # a loader with CAP_BPF alone gets loops but no pointer leaks (observed on Linux 6.18).
        self.priv = privileges.perfmon_capable
        self.gates = gates or Gates()
        self.maps = dict(maps or {})
        self.max_insns = max_insns
        self.log: list[str] = []
        self.log_level = log_level
        self.processed = 0
        self.explored: dict[int, list[Checkpoint]] = {}
        self.prune_points: set[int] = set()
        self.ld_maps: dict[int, tuple] = {}  # pc of lddw -> (kind, MapSpec, value offset)
        self.subprogs: list[int] = [0]
        self.subprog_depth: list[int] = [0]
        self.subprog_of: list[int] = []
        self.id_gen = 0
        self.states: dict[int, list[str]] = {}
        self.insn_states: list[tuple[int, str]] = []
        self.helper_names = _kernel_helper_names()
        self._texts: dict[int, str] = {}
        self.accelerate = accelerate_loops
        self.jmps_processed = 0
        self.prev_jmps = 0
        self.prev_insns = 0
        self.loop_hist: dict = {}
        self.subprog_tail_call: set[int] = set()
        self.loop_retry: dict[int, int] = {}
        self.loop_pcs: set[int] = set()
        self.to_budget = False
        self.live: list | None = None
        self.precise: list | None = None
        self.use_precision = True
        self.arrivals: list = []
        self._pending: list = []

    # ---- logging
    def _insn_text(self, pc: int) -> str:
        t = self._texts.get(pc)
        if t is None:
            text, _ = pseudo_c_one(self.insns, pc, self.helper_names)
            t = self._texts[pc] = f"{pc}: ({self.insns[pc].code:02x}) {text}"
        return t

    # ---- structural passes
    def _check_structure(self) -> None:
        n = len(self.insns)
        # add_subprog_and_kfunc(): calls to other functions need CAP_BPF
        for pc, x in enumerate(self.insns):
            if x.code == isa.BPF_JMP | isa.BPF_CALL and x.src == isa.BPF_PSEUDO_CALL \
                    or x.code == isa.LDDW and x.src == isa.BPF_PSEUDO_FUNC:
                if not self.privs.bpf_capable:
                    raise _Reject("loading/calling other bpf or kernel functions are allowed for CAP_BPF and "
                                  "CAP_SYS_ADMIN", pc)
                if self.pt.name == "seccomp" and self.gates.lsm_restrict:
                    raise _Reject("bpf-to-bpf calls are not allowed: the seccomp_extended LSM hook restricts this "
                                  "filter to almost-cBPF", pc)
        try:
            check_program(self.insns, max_insns=isa.BPF_COMPLEXITY_LIMIT_INSNS if self.privs.bpf_capable
                          else isa.BPF_MAXINSNS,
                          allow_pseudo=True)
        except FilterError as e:
            msg = e.message
            if msg.startswith("jump to pc"):
                tgt = msg.split()[3].rstrip(",")
                msg = f"jump out of range from insn {e.pc} to {tgt}"
            elif msg.startswith("last instruction is not"):
                msg = "last insn is not an exit or jmp"
            elif msg.startswith("frame pointer"):
                msg = "frame pointer is read only"
            elif msg.startswith("call to pc"):
                tgt = msg.split()[3].rstrip(",")
                msg = "call to invalid destination" if e.pc is None else \
                    f"jump out of range from insn {e.pc} to {tgt}"
            elif e.pc is not None and e.pc < len(self.insns):
                msg = _malformed_in_kernel_words(self.insns, e.pc, msg)
            raise _Reject(msg, e.pc if e.pc is not None else 0) from None
        self._resolve_maps()
        from lwnlab.bpf.program import subprogram_starts
        self.subprogs = subprogram_starts(self.insns)
        self.subprog_depth = [0] * len(self.subprogs)
        owner = []
        si = 0
        for pc in range(n):
            while si + 1 < len(self.subprogs) and pc >= self.subprogs[si + 1]:
                si += 1
            owner.append(si)
        self.subprog_of = owner
        self.live = self._liveness()
        from lwnlab.bpf.verifier_precision import demanded
        self.precise = demanded(self.insns, self.subprogs, self.subprog_of, _call_args) if self.use_precision else [0x7FF] * (n + 2)
        # check_cfg: reachability and back-edges; prune points where visit_insn() marks them
        seen = [False] * n
        succ: dict[int, list[int]] = {}
        pc = 0
        while pc < n:
            x = self.insns[pc]
            info = isa.OPCODES[x.code]
            k = info.kind
            if k == "lddw":
                succ[pc] = [pc + 2]
                seen[pc + 1] = True  # the second slot is never "unreachable"
                pc += 2
                continue
            if k == "exit":
                succ[pc] = []
            elif k == "ja":
                d = x.imm if x.code == isa.BPF_JMP32 | isa.BPF_JA else x.off
                succ[pc] = [pc + 1 + d]
                self.prune_points.add(pc + 1 + d)
            elif k == "jmp":
                succ[pc] = [pc + 1, pc + 1 + x.off]
                self.prune_points.update((pc, pc + 1 + x.off))  # push_insn(): BRANCH targets too
            elif k == "call":
                self.prune_points.add(pc + 1)
                if x.src == isa.BPF_PSEUDO_CALL:
                    succ[pc] = [pc + 1, pc + 1 + x.imm]
                    self.prune_points.update((pc, pc + 1 + x.imm))
                else:
                    succ[pc] = [pc + 1]
            else:
                succ[pc] = [pc + 1]
            pc += 1
        # prune points inside a backward jump's range: loop heads, where loop acceleration watches
        backs = [(pc + 1 + (x.imm if x.code == isa.BPF_JMP32 | isa.BPF_JA else x.off), pc)
                 for pc, x in enumerate(self.insns) if pc in succ and isa.OPCODES[x.code].kind in ("ja", "jmp")
                 and (x.imm if x.code == isa.BPF_JMP32 | isa.BPF_JA else x.off) < 0]
        self.loop_pcs = {p for p in self.prune_points if any(lo <= p <= hi for lo, hi in backs)}
        order = {}
        stack = [(0, iter(succ[0]))]
        order[0] = "on"
        seen[0] = True
        while stack:
            pc, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                order[pc] = "done"
                stack.pop()
                continue
            if nxt >= n:
                raise _Reject(f"jump out of range from insn {pc} to {nxt}", pc)
            if order.get(nxt) == "on" and not self.privs.bpf_capable:
                raise _Reject(f"back-edge from insn {pc} to {nxt}", pc)
            if nxt not in order:
                order[nxt] = "on"
                seen[nxt] = True
                stack.append((nxt, iter(succ[nxt])))
        for pc in range(n):
            if not seen[pc]:
                raise _Reject(f"unreachable insn {pc}", pc)

    def _liveness(self) -> list:
        """Registers (bit i = Ri) that may be read before being written, from each pc on, within its function."""
        n = len(self.insns)
        use = [0] * n
        dfn = [0] * n
        succ: list = [()] * n
        CLOBBER = 0b111111
        pc = 0
        while pc < n:
            x = self.insns[pc]
            info = isa.OPCODES[x.code]
            k = info.kind
            d, sr = 1 << x.dst, 1 << x.src
            u = df = 0
            nxt = (pc + 1,)
            if k in ("alu", "neg", "alu_end"):
                u, df = d | (sr if x.code & isa.BPF_X else 0), d
            elif k == "mov":
                u, df = (sr if x.code & isa.BPF_X else 0), d
            elif k in ("ldx", "ldxsx"):
                u, df = sr, d
            elif k == "st":
                u = d
            elif k == "stx":
                u = d | sr
            elif k == "atomic":
                u = d | sr | (1 if x.imm == isa.BPF_CMPXCHG else 0)
                df = 1 if x.imm == isa.BPF_CMPXCHG else (sr if x.imm & isa.BPF_FETCH else 0)
            elif k == "lddw":
                df, nxt = d, (pc + 2,)
            elif k in ("ld_abs", "ld_ind"):
                u, df = (1 << 6) | (sr if k == "ld_ind" else 0), CLOBBER
            elif k == "ja":
                nxt = (pc + 1 + (x.imm if x.code == isa.BPF_JMP32 | isa.BPF_JA else x.off),)
            elif k == "jmp":
                u, nxt = d | (sr if x.code & isa.BPF_X else 0), (pc + 1, pc + 1 + x.off)
            elif k == "call":
                u, df = _call_args(x), CLOBBER
            elif k == "exit":
                u, nxt = 1, ()
            use[pc], dfn[pc], succ[pc] = u | (1 << 10), df, nxt
            pc += 2 if k == "lddw" else 1
        live = [0] * (n + 2)
        changed = True
        while changed:
            changed = False
            for pc in range(n - 1, -1, -1):
                out = 0
                for q in succ[pc]:
                    if q < n:
                        out |= live[q]
                v = use[pc] | (out & ~dfn[pc])
                if v != live[pc]:
                    live[pc] = v
                    changed = True
        return live

    def _resolve_maps(self) -> None:
        """resolve_pseudo_ldimm64(): lddw with a map source names a map the loader knows."""
        for pc, x in enumerate(self.insns):
            if x.code != isa.LDDW or x.src == 0 or (pc and self.insns[pc - 1].code == isa.LDDW
                                                     and (pc - 1) in self.ld_maps):
                continue
            if x.src in (isa.BPF_PSEUDO_BTF_ID, isa.BPF_PSEUDO_FUNC):
                raise _Reject(f"lddw with src {x.src} ({isa.LDDW_SRC_NAMES[x.src]}) is not modelled by lwnlab's "
                              "verifier (no BTF, no callbacks)", pc)
            if self.pt.name == "seccomp" and self.gates.lsm_restrict:
                raise _Reject("maps are not allowed: the seccomp_extended LSM hook restricts this filter to "
                              "almost-cBPF", pc)
            spec = self.maps.get(x.imm)
            if not isinstance(spec, MapSpec):
                if x.src in (isa.BPF_PSEUDO_MAP_IDX, isa.BPF_PSEUDO_MAP_IDX_VALUE):
                    raise _Reject(f"fd_array[{x.imm}] is not pointing to valid bpf_map", pc)
                raise _Reject(f"fd {x.imm} is not pointing to valid bpf_map", pc)
            off = self.insns[pc + 1].imm & M32
            if x.src in (isa.BPF_PSEUDO_MAP_VALUE, isa.BPF_PSEUDO_MAP_IDX_VALUE):
                if spec.type != 2 or spec.max_entries != 1:  # map_direct_value_addr: arrays of one element
                    raise _Reject("direct value access on this map type is not supported "
                                  f"({spec.type_name}, max_entries={spec.max_entries})", pc)
                if off >= spec.value_size:
                    raise _Reject(f"invalid access to map value pointer, value_size={spec.value_size} off={off}",
                                  pc)
                self.ld_maps[pc] = ("value", spec, off)
            else:
                self.ld_maps[pc] = ("map", spec, 0)

    # ---- main loop
    def run(self) -> Verdict:
        try:
            self._check_structure()
            self._do_check()
            self._check_max_stack_depth()
        except _Reject as r:
            self.log.extend(r.pre)
            self.log.append(r.msg)
            self.log.append(f"processed {self.processed} insns (limit {isa.BPF_COMPLEXITY_LIMIT_INSNS})")
            return self._verdict(False, r.pc, r.pre[0] if r.pre else r.msg)
        self.log.append(f"processed {self.processed} insns (limit {isa.BPF_COMPLEXITY_LIMIT_INSNS})")
        return self._verdict(True, None, "")

    def _verdict(self, ok: bool, pc, msg: str) -> Verdict:
        return Verdict(ok, "\n".join(self.log) + "\n", self.processed, pc, msg, self.states, self.insn_states,
                       self.pt.name, tuple(self.subprog_depth))

    def _initial(self) -> State:
        regs = [_NOT_INIT] * 11
        regs[1] = Reg.ptr(PTR_TO_CTX)
        regs[10] = Reg.ptr(PTR_TO_STACK)
        return State([Frame(regs, [STACK_INVALID] * 512, {})])

    def _end_path(self, st: State) -> None:
        cp = st.parent
        while cp is not None:
            cp.branches -= 1
            if cp.branches > 0:
                break
            cp = cp.parent

    def _record(self, pc: int, text: str, before: str, after: str) -> None:
        self.states.setdefault(pc, []).append(before)
        if len(self.insn_states) < MAX_INSN_STATES:
            self.insn_states.append((pc, text, after))

    def _do_check(self, pc: int = 0, st: State | None = None, stop: tuple | None = None) -> None:
        pending: list[tuple[int, int, State]] = []
        self._pending = pending
        if st is None:
            st = self._initial()
        log = self.log_level > 0
        first = True
        while True:
            if pc is None:
                if not pending:
                    return
                src, pc, st = pending.pop()
                if log:
                    self.log.append(f"from {src} to {pc}: {st.describe()}")
            self.processed += 1
            if self.processed > self.max_insns:
                raise _Reject(f"BPF program is too large. Processed {self.processed} insn", pc)
            if stop is not None:  # a loop-acceleration trial: stop where the next iteration starts
                if pc == stop[0] and len(st.frames) == stop[1] and not first:
                    self.arrivals.append(st)
                    pc = None
                    continue
                first = False
            elif pc in self.prune_points:
                verdict = self._visit(pc, st)
                if verdict == "prune":
                    if log:
                        self.log.append(f"{pc}: safe")
                    self._end_path(st)
                    pc = None
                    continue
                if verdict is not None and verdict != "new":  # a fast-forwarded loop
                    st = verdict
            if log and len(self.log) >= MAX_LOG_LINES:  # a grind: keep the head of the log
                log = False
                self.log.append(f"... (lwnlab: the log stops after {MAX_LOG_LINES} lines; the walk goes on)")
            if log:
                text = self._insn_text(pc)
                before = st.describe()
                self.log.append(text)
            try:
                nxt, branch = self._step(pc, st)
            except _Reject as r:
                if not log:
                    text, before = self._insn_text(pc), st.describe()
                self._record(pc, text, before, before)
                self.log.append(f"{pc}: {before}")
                raise r
            if log:
                self._record(pc, text, before, st.describe())
            if branch is not None:
                if st.parent is not None:
                    st.parent.branches += 1
                pending.append((pc, branch[0], branch[1]))
                if len(pending) > BPF_COMPLEXITY_LIMIT_JMP_SEQ:
                    raise _Reject(f"The sequence of {len(pending)} jumps is too complex.", pc)
            if nxt is None:
                self._end_path(st)
            pc = nxt

    def _visit(self, pc: int, st: State):
        """is_state_visited(): prune against explored states, detect loops, maybe add a checkpoint."""
        add_new = (self.jmps_processed - self.prev_jmps >= 2 and self.processed - self.prev_insns >= 8)
        lst = self.explored.setdefault(pc, [])
        key = None
        i = 0
        while i < len(lst):
            cp = lst[i]
            if cp.branches > 0:
                if len(cp.state.frames) == len(st.frames):
                    if key is None:
                        key = st.key()
                    if cp.key is None:
                        cp.key = cp.state.key()
                    if cp.key == key and not self.to_budget:
                        raise _Reject(f"infinite loop detected at insn {pc}", pc)
                if self.jmps_processed - self.prev_jmps < 20 and self.processed - self.prev_insns < 100:
                    add_new = False
            elif _subsumes(cp.state, st, (self.live, self.precise), pc):
                cp.hit += 1
                return "prune"
            if add_new:
                cp.miss += 1
            if cp.miss > cp.hit * 3 + 3:
                lst.pop(i)
                continue
            i += 1
        if self.accelerate and pc in self.loop_pcs and not self.to_budget:
            fast = self._accelerate(pc, st)
            if fast is not None:
                return fast
        if not add_new:
            return None
        cp = Checkpoint(pc, st.copy(), st.parent)
        cp.state.parent = None
        lst.append(cp)
        st.parent = cp
        self.prev_jmps, self.prev_insns = self.jmps_processed, self.processed
        return "new"

    def _accelerate(self, pc: int, st: State):
        """Fast-forward a loop whose iterations differ only by constant counters (see the module docstring).

        Three visits of the loop head in a row with the same work (processed insns, pending states)
        and states that differ only by constant scalars advancing by the same steps: try to skip m
        iterations.  The skip is checked by one abstract iteration from the state whose counters
        hold every value the skipped iterations would give them: it must process exactly the same
        number of instructions without an error and come back with the counters advanced by one
        step.  Then every skipped iteration would have done the same, and the walk resumes at the
        state m iterations later with the processed count the kernel would have reached.
        """
        if self.processed < self.loop_retry.get(pc, 0):
            return None
        hist = self.loop_hist.setdefault(pc, [])
        hist.append((self.processed, len(self._pending), st.copy()))
        if len(hist) > 3:
            hist.pop(0)
        if len(hist) < 3:
            return None
        (p0, l0, s0), (p1, l1, s1), (p2, l2, s2) = hist
        d = p2 - p1
        if d <= 0 or p1 - p0 != d or not (l0 == l1 == l2):
            return None
        steps = _counter_steps(s0, s1, s2)
        free: list = []
        if not steps:  # not a linear progression: maybe a loop that can only run into the budget
            fast = self._budget_fast_forward(pc, st, s0, s1, s2, d)
            if fast is not None:
                return fast
            mixed = self._mixed_steps(pc, s0, s1, s2)
            if mixed is None:
                self.loop_retry[pc] = self.processed + 64 * d
                hist.clear()
                return None
            steps, free = mixed
        m = (self.max_insns - self.processed) // d - 2
        while m >= 4:
            if self._trial(pc, s2, steps, m, d, free):
                new = s2.copy()
                _advance(new, steps, m)
                for key in free:
                    _set(new, *key, _UNKNOWN)
                new.parent = st.parent
                self.processed += m * d
                hist.clear()
                if self.log_level:
                    self.log.append(f"{pc}: loop fast-forwarded by {m} iterations of {d} insns (lwnlab)")
                return new
            m //= 2
        self.loop_retry[pc] = self.processed + 64 * d
        return None

    def _budget_fast_forward(self, pc: int, st: State, s0: State, s1: State, s2: State, d: int):
        """A loop whose iterations differ only in scalars that evolve in any way (``r3 = r3 * 3 + 1``) and that
        no check ever reads (the static precision of :mod:`lwnlab.bpf.verifier_precision`).

        Such scalars cannot change what the walk decides, so every iteration repeats the same paths and
        the loop can only end at the budget; one iteration from the state where they are unknown must
        confirm it (same work, no error, same shape back).  Skip to the last iterations before it and go on from that unknown
        state, so the budget is crossed at the kernel's count.  (The kernel may instead find an exact
        repeat of a state and say "infinite loop detected": a refusal too.)
        """
        keys = _varying_scalars(s0, s1, s2)
        if not keys:
            return None
        # only scalars no later check can read (static precision): then no decision depends on them, and
        # every iteration repeats the same paths, so the loop can only end at the budget
        n = len(s2.frames)
        for fi, kind, idx in keys:
            at = pc if fi == n - 1 else s2.frames[fi + 1].callsite + 1
            if kind != "r" or self.precise[at] >> idx & 1:
                return None
        w = s2.copy()
        w.parent = None
        for key in keys:
            _set(w, *key, _UNKNOWN)
        back = self._one_iteration(pc, w, d)
        if back is None:
            return None
        for key in keys:
            r = _get(back, *key)
            if r is None or r.type != SCALAR:
                return None
            _set(back, *key, _UNKNOWN)
        if back.key() != w.key():
            return None
        m = (self.max_insns - self.processed) // d - 2
        if m < 4:
            return None
        self.processed += m * d
        self.to_budget = True  # the walk goes on from an abstraction: no exact-repeat detection from here
        w.parent = st.parent
        if self.log_level:
            self.log.append(f"{pc}: loop fast-forwarded by {m} iterations of {d} insns, its changing scalars "
                            "shown as unknown (lwnlab: it can only end at the budget)")
        self.loop_hist.pop(pc, None)
        return w

    def _mixed_steps(self, pc: int, s0: State, s1: State, s2: State):
        """Linear counters plus scalars no check reads (a running sum): ({key: step}, [free keys]) or None.

        The free scalars become unknown in the trials and after the skip: nothing the walk decides depends
        on them (static precision), so the verdict is the plain walk's; the log shows them as unknown."""
        keys = _varying_scalars(s0, s1, s2)
        if not keys:
            return None
        n = len(s2.frames)
        steps, free = {}, []
        for key in keys:
            fi, kind, idx = key
            a, b, c = _get(s0, *key), _get(s1, *key), _get(s2, *key)
            st = (b.umin - a.umin, b.umax - a.umax, b.smin - a.smin, b.smax - a.smax)
            linear = (st == (c.umin - b.umin, c.umax - b.umax, c.smin - b.smin, c.smax - b.smax) and any(st)
                      and ((a.is_const() and b.is_const() and c.is_const()) or a.var == b.var == c.var)
                      and kind == "r" or (kind == "s" and False))
            at = pc if fi == n - 1 else s2.frames[fi + 1].callsite + 1
            if linear:
                steps[key] = st
            elif kind == "r" and not self.precise[at] >> idx & 1:
                free.append(key)
            else:
                return None
        if not steps or not free:
            return None
        return steps, free

    def _trial(self, pc: int, s2: State, steps: dict, m: int, d: int, free: list = ()) -> bool:
        # 1. every skipped iteration at once: the counters hold the join of their values over the m iterations
        w = s2.copy()
        w.parent = None
        for key in free:
            _set(w, *key, _UNKNOWN)
        for key, step in steps.items():
            r = _get(s2, *key)
            end = _shifted(r, step, m)
            if end is None:
                return False
            j = Reg.bounded(min(r.umin, end.umin), max(r.umax, end.umax), min(r.smin, end.smin),
                            max(r.smax, end.smax), r.var if r.var == end.var else tn.UNKNOWN)
            if j is None:
                return False
            _set(w, *key, j)
        back = self._one_iteration(pc, w, d)
        if back is None:
            return False
        for key, step in steps.items():
            r, got = _get(w, *key), _get(back, *key)
            if got is None or got.type != SCALAR or (got.umin - r.umin, got.umax - r.umax, got.smin - r.smin,
                                                      got.smax - r.smax) != step:
                return False
            _set(back, *key, r)
        for key in free:
            r = _get(back, *key)
            if r is None or r.type != SCALAR:
                return False
            _set(back, *key, _UNKNOWN)
        if back.key() != w.key():
            return False
        # 2. the extrapolated state itself iterates the same way (the skip lands on the kernel's state)
        end = s2.copy()
        end.parent = None
        if not _advance(end, steps, m):
            return False
        for key in free:
            _set(end, *key, _UNKNOWN)
        back = self._one_iteration(pc, end, d)
        nxt = end.copy()
        if back is None or not _advance(nxt, steps, 1):
            return False
        for key in free:
            r = _get(back, *key)
            if r is None or r.type != SCALAR:
                return False
            _set(back, *key, _UNKNOWN)
        return back.key() == nxt.key()

    def _one_iteration(self, pc: int, st: State, d: int) -> State | None:
        """Walk from the loop head until every path ends or comes back to it; the state that comes back."""
        import copy
        sub = copy.copy(self)
        sub.explored, sub.log, sub.log_level, sub.processed = {}, [], 0, -1  # the head is counted already
        sub.states, sub.insn_states, sub.accelerate, sub.loop_hist = {}, [], False, {}
        sub.subprog_depth = list(self.subprog_depth)
        sub.max_insns = 4 * d + 16
        sub.arrivals = []
        try:
            sub._do_check(pc, st.copy(), stop=(pc, len(st.frames)))
        except _Reject:
            return None
        if sub.processed != d or len(sub.arrivals) != 1 or sub.subprog_depth != self.subprog_depth:
            return None
        return sub.arrivals[0]

    # ---- register helpers
    def _read(self, st: State, r: int, pc: int) -> Reg:
        reg = st.regs[r]
        if reg.type == NOT_INIT:
            raise _Reject(f"R{r} !read_ok", pc)
        return reg

    def _leak(self, reg: Reg) -> bool:
        return reg.is_ptr() and not self.priv

    # ---- one instruction; returns (next pc or None, (target pc, state) or None)
    def _step(self, pc: int, st: State):
        x = self.insns[pc]
        info = isa.OPCODES[x.code]
        k = info.kind
        cls = x.code & 7
        if k in ("alu", "mov", "neg", "alu_end"):
            self._alu(pc, x, k, cls, st)
            return pc + 1, None
        if k == "lddw":
            if x.src != 0:
                kind, spec, off = self.ld_maps[pc]
                if kind == "map":
                    st.regs[x.dst] = Reg.ptr(CONST_PTR_TO_MAP, map=spec)
                else:
                    st.regs[x.dst] = Reg.ptr(PTR_TO_MAP_VALUE, off, map=spec)
                return pc + 2, None
            v = (x.imm & M32) | ((self.insns[pc + 1].imm & M32) << 32)
            st.regs[x.dst] = Reg.const(v)
            return pc + 2, None
        if k in ("ldx", "ldxsx"):
            base = self._read(st, x.src, pc)
            size = isa.SIZE_BYTES[x.code & 0x18]
            val = self._mem(pc, st, x.src, base, x.off, size, write=False, value=None, sx=(k == "ldxsx"))
            st.regs[x.dst] = val
            return pc + 1, None
        if k in ("st", "stx"):
            base = self._read(st, x.dst, pc)
            size = isa.SIZE_BYTES[x.code & 0x18]
            if k == "st":
                # Linux 6.18 accepts BPF_ST into the context (observed); the field rules still apply
                value, vreg = Reg.const(x.imm), None
            else:
                value, vreg = self._read(st, x.src, pc), x.src
            self._mem(pc, st, x.dst, base, x.off, size, write=True, value=value, value_regno=vreg, is_st=(k == "st"))
            return pc + 1, None
        if k == "atomic":
            return self._atomic(pc, x, st), None
        if k in ("ld_abs", "ld_ind"):
            if not self.pt.ld_abs:
                raise _Reject("BPF_LD_[ABS|IND] instructions not allowed for this program type", pc)
            r6 = self._read(st, 6, pc)
            if r6.type != PTR_TO_CTX:
                raise _Reject("at the time of BPF_LD_ABS|IND R6 != pointer to skb", pc)
            if k == "ld_ind":
                self._read(st, x.src, pc)
            for r in range(1, 6):
                st.regs[r] = Reg()
            size = isa.SIZE_BYTES[x.code & 0x18]
            st.regs[0] = Reg.bounded(0, (1 << (8 * size)) - 1)
            return pc + 1, None
        self.jmps_processed += 1
        if k == "ja":
            d = x.imm if cls == isa.BPF_JMP32 else x.off
            return pc + 1 + d, None
        if k == "exit":
            if len(st.frames) > 1:
                return self._return_from_subprog(pc, st), None
            r0 = st.regs[0]
            if r0.type == NOT_INIT:
                raise _Reject("R0 !read_ok", pc)
            if self._leak(r0):
                raise _Reject("R0 leaks addr as return value", pc)
            if self.pt.name == "seccomp" and r0.type != SCALAR:
                raise _Reject(f"At program exit the register R0 is not a known value ({r0.type})", pc)
            return None, None
        if k == "call":
            if x.src == isa.BPF_PSEUDO_CALL:
                return self._call_subprog(pc, x, st), None
            return self._call_helper(pc, x, st), None
        if k == "jmp":
            return self._cond_jmp(pc, x, cls, st)
        raise _Reject(f"unknown opcode {x.code:02x}", pc)  # pragma: no cover

    # ---- helper calls (check_helper_call / check_func_arg)
    def _call_helper(self, pc: int, x: Insn, st: State) -> int:
        hid = x.imm
        if self.pt.name == "socket_filter" and hid in H.SOCKET_FILTER_EXTRA:
            proto = H.HELPERS[hid]
        else:
            try:
                proto = H.check_helper_allowed(hid, self.pt.name, self.privs, self.gates)
            except VerifierError as e:
                raise _Reject(e.message, pc) from None
        regs = st.regs
        map_spec = None
        const_key = None
        mem = None  # (regno, reg, raw) of the last ARG_PTR_TO_[UNINIT_]MEM, sized by the next argument
        raw_write = None  # (regno, reg, size) the helper fills in (meta->raw_mode)
        for i, at in enumerate(proto.args):
            regno = i + 1
            reg = regs[regno]
            if reg.type == NOT_INIT:
                raise _Reject(f"R{regno} !read_ok", pc)
            if at == H.ARG_ANYTHING:
                if self._leak(reg):
                    raise _Reject(f"R{regno} leaks addr into helper function", pc)
                continue
            is_null = reg.type == SCALAR and reg.var.mask == 0 and reg.var.value == 0
            if is_null and at in (H.ARG_PTR_TO_MAP_VALUE_OR_NULL, H.ARG_PTR_TO_TASK_OR_NULL):
                continue
            expected = _ARG_TYPES[at]
            if reg.type not in expected[0]:
                raise _Reject(f"R{regno} type={reg.type} expected={expected[1]}", pc)
            if at == H.ARG_PTR_TO_CTX and (reg.off or not reg.var.is_const() or reg.var.value):
                raise _Reject(f"dereference of modified ctx ptr R{regno} off={reg.off} disallowed", pc)
            if at == H.ARG_CONST_MAP_PTR:
                map_spec = reg.map
                if hid == 12 and map_spec.type != H.BPF_MAP_TYPE_PROG_ARRAY:
                    raise _Reject("expected prog array map for tail call", pc)  # Linux 6.18 (observed)
            elif at in (H.ARG_PTR_TO_MAP_KEY, H.ARG_PTR_TO_MAP_VALUE, H.ARG_PTR_TO_MAP_VALUE_OR_NULL):
                if map_spec is None:
                    what = "key" if at == H.ARG_PTR_TO_MAP_KEY else "value"
                    raise _Reject(f"invalid map_ptr to access map->{what}", pc)
                size = map_spec.key_size if at == H.ARG_PTR_TO_MAP_KEY else map_spec.value_size
                self._helper_mem(pc, st, regno, reg, size, False, False)
                if at == H.ARG_PTR_TO_MAP_KEY and map_spec.type == H.BPF_MAP_TYPE_ARRAY:
                    const_key = self._const_map_key(st, reg, size)
            elif at in (H.ARG_PTR_TO_MEM, H.ARG_PTR_TO_UNINIT_MEM):
                mem = (regno, reg, at == H.ARG_PTR_TO_UNINIT_MEM)
            elif at in (H.ARG_CONST_SIZE, H.ARG_CONST_SIZE_OR_ZERO):
                zero_ok = at == H.ARG_CONST_SIZE_OR_ZERO
                if mem is None or mem[0] != regno - 1:  # pragma: no cover - the table pairs them
                    raise _Reject(f"verifier internal error: size argument R{regno} without memory", pc)
                raw = mem[2] and reg.var.mask == 0  # a variable size disables raw mode
                if reg.smin < 0:
                    raise _Reject(f"R{regno} min value is negative, either use unsigned or 'var &= const'", pc)
                if reg.umin == 0 and not zero_ok:
                    raise _Reject(f"R{regno} invalid zero-sized read: u64=[{_s64(reg.umin)},{_s64(reg.umax)}]", pc)
                if reg.umax >= BPF_MAX_VAR_SIZ:
                    raise _Reject(f"R{regno} unbounded memory access, use 'var &= const' or 'if (var < const)'", pc)
                self._helper_mem(pc, st, mem[0], mem[1], reg.umax, zero_ok, raw, write=mem[2])
                if raw:
                    raw_write = (mem[0], mem[1], reg.umax)
        if raw_write is not None:  # the helper writes these bytes: STACK_MISC from now on
            rno, preg, size = raw_write
            for j in range(size):
                self._mem(pc, st, rno, preg, j, 1, write=True, value=None)
        for r in range(1, 6):
            regs[r] = _NOT_INIT
        if proto.ret == H.RET_INTEGER:
            regs[0] = _UNKNOWN
        elif proto.ret == H.RET_VOID:
            regs[0] = _NOT_INIT
        elif proto.ret == H.RET_PTR_TO_MAP_VALUE_OR_NULL:
            if map_spec is None:  # pragma: no cover
                raise _Reject("kernel subsystem misconfigured verifier", pc)
            if hid == 1 and const_key is not None and const_key < map_spec.max_entries:
                # Linux 6.14+ (observed on 6.18): an array lookup with a constant in-range key is never NULL
                regs[0] = Reg.ptr(PTR_TO_MAP_VALUE, map=map_spec)
            else:
                self.id_gen += 1
                regs[0] = Reg.ptr(PTR_TO_MAP_VALUE_OR_NULL, map=map_spec, id=self.id_gen)
        else:  # pragma: no cover - no modelled helper returns a task pointer
            raise _Reject(f"unknown return type {proto.ret} of {proto.c_name}#{hid}", pc)
        if map_spec is not None:
            self._check_map_func_compatibility(pc, map_spec, proto)
        if proto.id == 12 and self.subprog_of:
            self.subprog_tail_call.add(self.subprog_of[pc])
        return pc + 1

    def _const_map_key(self, st: State, reg: Reg, key_size: int):
        """get_constant_map_key(): the key on the stack as a constant (zeroed bytes or a scalar spill)."""
        if not self.privs.bpf_capable or reg.type != PTR_TO_STACK or not reg.var.is_const():
            return None
        fr = st.frames[reg.frame]
        k = _s64(reg.var.value) + reg.off + 512
        if not 0 <= k < 512:
            return None
        end = k - k % 8 + 8
        stack = fr.stack
        zeros = 0
        for i in range(k, end):
            if stack[i] != STACK_ZERO:
                break
            zeros += 1
        if zeros >= key_size:
            return 0
        sp = fr.spills.get(k - k % 8)
        if sp is None or sp[0].type != SCALAR:
            return None
        n = 0
        for i in range(k, end):
            if stack[i] != STACK_SPILL:
                break
            n += 1
        if n != key_size or sp[0].var.mask:
            return None
        return sp[0].var.value

    def _check_map_func_compatibility(self, pc: int, spec, proto) -> None:
        fid = proto.id
        ok = True
        if spec.type == H.BPF_MAP_TYPE_PROG_ARRAY and fid != 12:
            ok = False
        if spec.type == H.BPF_MAP_TYPE_TASK_STORAGE and fid not in (156, 157):
            ok = False
        if fid == 12 and spec.type != H.BPF_MAP_TYPE_PROG_ARRAY:
            ok = False
        if fid in (156, 157) and spec.type != H.BPF_MAP_TYPE_TASK_STORAGE:
            ok = False
        if not ok:
            raise _Reject(f"cannot pass map_type {spec.type} into func {proto.c_name}#{fid}", pc)

    def _helper_mem(self, pc: int, st: State, regno: int, reg: Reg, size: int, zero_ok: bool, raw: bool,
                    write: bool = False) -> None:
        """check_helper_mem_access(): memory a helper reads (or, raw, fills in)."""
        if reg.type == PTR_TO_MAP_VALUE:
            self._map_region(pc, regno, reg, reg.off, size, reg.map.value_size, zero_ok)
            return
        # PTR_TO_STACK: check_stack_range_initialized(ACCESS_HELPER)
        fr = st.frames[reg.frame]
        if size == 0 and not zero_ok:
            raise _Reject("invalid zero-sized read", pc)
        if reg.var.is_const():
            min_off = max_off = _s64(reg.var.value) + reg.off
        else:
            if reg.smax >= BPF_MAX_VAR_OFF or reg.smin <= -BPF_MAX_VAR_OFF:
                raise _Reject(f"invalid unbounded variable-offset indirect access to stack R{regno}", pc)
            min_off, max_off = reg.smin + reg.off, reg.smax + reg.off
        if min_off < -MAX_BPF_STACK or min_off > -1 or max_off + size > 0:
            # Linux 6.18 words helper accesses as reads or writes (6.12 said "indirect access to")
            verb = "write to" if write else "read from"
            if reg.var.is_const():
                raise _Reject(f"invalid {verb} stack R{regno} off={reg.off} size={size}", pc)
            raise _Reject(f"invalid variable-offset {verb} stack R{regno} var_off={reg.var} "
                          f"off={reg.off} size={size}", pc)
        if -min_off > fr.depth:
            fr.depth = -min_off
            if -min_off > self.subprog_depth[fr.subprog]:
                self.subprog_depth[fr.subprog] = -min_off
        if not reg.var.is_const():
            if not self.privs.perfmon_capable:  # !env->bypass_spec_v1
                raise _Reject(f"R{regno} indirect variable offset stack access prohibited for !root, "
                              f"var_off={reg.var}", pc)
            raw = False
        if raw:
            return
        stack = fr.stack
        for i in range(min_off, max_off + size):
            b = i + 512
            t = stack[b]
            if t == STACK_MISC:
                continue
            if t == STACK_ZERO or (t == STACK_INVALID and self.priv):
                continue  # helper reads do not clobber the slot (Linux 6.18: a zeroed key stays constant)
            if t == STACK_SPILL:
                sp = fr.spills.get(b - b % 8)
                if sp is not None and (sp[0].type == SCALAR or self.priv):
                    continue
            if reg.var.is_const():
                raise _Reject(f"invalid indirect read from stack R{regno} off {min_off}+{i - min_off} size {size}",
                              pc)
            raise _Reject(f"invalid indirect read from stack R{regno} var_off {reg.var}+{i - min_off} size {size}",
                          pc)

    # ---- bpf-to-bpf calls (check_func_call / prepare_func_exit)
    def _call_subprog(self, pc: int, x: Insn, st: State) -> int:
        target = pc + 1 + x.imm
        if len(st.frames) >= MAX_CALL_FRAMES:
            raise _Reject(f"the call stack of {len(st.frames) + 1} frames is too deep", pc)
        caller = st.frames[-1]
        regs = [_NOT_INIT] * 11
        for r in range(1, 6):
            regs[r] = caller.regs[r]
        fno = len(st.frames)
        regs[10] = Reg.ptr(PTR_TO_STACK, frame=fno)
        for r in range(0, 6):
            caller.regs[r] = _NOT_INIT
        st.frames.append(Frame(regs, [STACK_INVALID] * 512, {}, pc, self.subprogs.index(target)))
        if self.log_level:
            self.log.append(f"caller:\n{_frame_text(caller, fno - 1)}\ncallee:\n{_frame_text(st.frames[-1], fno)}")
        return target

    def _return_from_subprog(self, pc: int, st: State) -> int:
        callee = st.frames[-1]
        r0 = callee.regs[0]
        if r0.type == PTR_TO_STACK:
            raise _Reject("cannot return stack pointer to the caller", pc)
        st.frames.pop()
        st.frames[-1].regs[0] = r0
        if self.log_level:
            self.log.append(f"returning from callee:\n{_frame_text(callee, len(st.frames))}\n"
                            f"to caller at {callee.callsite + 1}:\n{_frame_text(st.frames[-1], len(st.frames) - 1)}")
        return callee.callsite + 1

    def _check_max_stack_depth(self) -> None:
        """check_max_stack_depth(): the deepest chain of calls fits in 512 bytes of stack, 8 frames."""
        calls: dict[int, list[tuple[int, int]]] = {i: [] for i in range(len(self.subprogs))}
        for pc, x in enumerate(self.insns):
            if x.code == isa.BPF_JMP | isa.BPF_CALL and x.src == isa.BPF_PSEUDO_CALL and self.subprog_of:
                calls[self.subprog_of[pc]].append((pc, self.subprogs.index(pc + 1 + x.imm)))

        def walk(idx: int, frame: int, depth: int, site: int) -> None:
            if idx and idx in self.subprog_tail_call and depth >= 256:
                raise _Reject("tail_calls are not allowed when call stack of previous frames is "
                              f"{depth} bytes. Too large", site)
            d = self.subprog_depth[idx]
            depth += (d + 15) // 16 * 16  # round_up_stack_depth() with the JIT on
            if depth > MAX_BPF_STACK:
                raise _Reject(f"combined stack size of {frame + 1} calls is {depth}. Too large", site)
            for cpc, callee in calls[idx]:
                if frame + 1 >= MAX_CALL_FRAMES:
                    raise _Reject(f"the call stack of {frame + 1} frames is too deep !", cpc)
                walk(callee, frame + 1, depth, cpc)

        if len(self.subprogs) > 1:
            walk(0, 0, 0, 0)

    # ---- ALU
    def _alu(self, pc: int, x: Insn, k: str, cls: int, st: State) -> None:
        is64 = cls == isa.BPF_ALU64
        op = x.code & 0xF0
        if k in ("neg", "alu_end"):
            dst = self._read(st, x.dst, pc)
            if dst.is_ptr():
                if not self.priv:
                    raise _Reject(f"R{x.dst} pointer arithmetic prohibited", pc)
                st.regs[x.dst] = Reg.unknown()  # check_reg_arg(DST_OP): an unknown scalar (observed, 6.18)
                return
            res = self._scalar_unary(op, dst, x, is64)
            st.regs[x.dst] = _unlink(res)
            return
        if x.code & isa.BPF_X:
            src = self._read(st, x.src, pc)
        else:
            src = Reg.const(x.imm if is64 else x.imm & M32)
        if k == "mov":
            if x.off:  # movsx
                if src.is_ptr():  # check_alu_op(): root gets an unknown scalar
                    if not self.priv:
                        raise _Reject(f"R{x.src} sign-extension part of pointer" if is64
                                      else f"R{x.src} partial copy of pointer", pc)
                    st.regs[x.dst] = _UNKNOWN if is64 else Reg.bounded(0, M32)
                    return
                bits = x.off
                st.regs[x.dst] = self._sext(src, bits, is64)
                return
            if is64:
                if x.code & isa.BPF_X and src.type == SCALAR and not src.id and src.var.mask:
                    # linked scalars: copies share an id, so a branch on one bounds the others
                    self.id_gen += 1
                    src = _relink(src, self.id_gen, 0)
                    st.regs[x.src] = src
                st.regs[x.dst] = src
            else:
                if src.is_ptr():
                    if not self.priv:
                        raise _Reject(f"R{x.src} partial copy of pointer", pc)
                    st.regs[x.dst] = Reg.bounded(0, M32)
                elif x.code & isa.BPF_X and src.type == SCALAR and src.umax <= M32 and src.var.mask:
                    if not src.id:
                        self.id_gen += 1
                        src = _relink(src, self.id_gen, 0)
                        st.regs[x.src] = src
                    st.regs[x.dst] = src
                else:
                    st.regs[x.dst] = _unlink(_zext32(src))
            return
        dst = self._read(st, x.dst, pc)
        if not x.code & isa.BPF_X:  # check_alu_op(): constant operands, checked once both registers are read
            if op in (isa.BPF_DIV, isa.BPF_MOD) and x.imm == 0:
                raise _Reject("div by zero", pc)
            if op in (isa.BPF_LSH, isa.BPF_RSH, isa.BPF_ARSH) and not 0 <= x.imm < (64 if is64 else 32):
                raise _Reject(f"invalid shift {x.imm}", pc)
        if dst.is_ptr() or src.is_ptr():
            st.regs[x.dst] = self._ptr_alu(pc, x, op, is64, dst, src)
            return
        res = _unlink(_scalar_alu(op, dst, src, is64, x.off))
        if dst.id and is64 and op == isa.BPF_ADD and src.is_const() and self.privs.bpf_capable:
            # BPF_ADD_CONST: r2 = r1 + k stays linked to r1 (once), k at most S32_MAX
            if not dst.id & ADD_CONST and src.value <= 0x7FFFFFFF:
                res = _relink(res, dst.id | ADD_CONST, src.value)
        st.regs[x.dst] = res

    def _sext(self, src: Reg, bits: int, is64: bool) -> Reg:
        if src.is_const():
            v = src.value & ((1 << bits) - 1)
            if v >> (bits - 1):
                v -= 1 << bits
            return Reg.const(v) if is64 else Reg.const(v & M32)
        if is64:
            return Reg.bounded(0, M64, -(1 << (bits - 1)), (1 << (bits - 1)) - 1)
        return Reg.bounded(0, M32)

    def _scalar_unary(self, op: int, dst: Reg, x: Insn, is64: bool) -> Reg:
        if op == isa.BPF_NEG:  # tracked as 0 - dst (Linux 6.18 prunes on negated bounds: observed)
            return _scalar_alu(isa.BPF_SUB, Reg.const(0), dst, is64, 0)
        if dst.is_const():  # byte swaps of a constant
            return Reg.const(_swap(dst.value, x.imm, x.code & isa.BPF_X, is64))
        return Reg.unknown()

    def _ptr_alu(self, pc: int, x: Insn, op: int, is64: bool, dst: Reg, src: Reg) -> Reg:
        if dst.is_ptr() and src.is_ptr():
            if op == isa.BPF_SUB and self.priv:
                return Reg.unknown()
            raise _Reject(f"R{x.dst} pointer {isa.ALU_OPS[op][1]} pointer prohibited", pc)
        if not is64:
            # 32-bit ALU ops on pointers produce (meaningless) scalars: SUB for privileged loaders only
            if op == isa.BPF_SUB and self.priv:
                return Reg.unknown()  # __mark_reg_unknown(): all 64 bits
            raise _Reject(f"R{x.dst} 32-bit pointer arithmetic prohibited", pc)
        ptr, off = (dst, src) if dst.is_ptr() else (src, dst)
        if ptr.type == PTR_TO_MAP_VALUE_OR_NULL:
            raise _Reject(f"R{x.dst} pointer arithmetic on {ptr.type} prohibited, null-check it first", pc)
        if ptr.type == CONST_PTR_TO_MAP:
            if not (off.is_const() and off.value == 0 and op == isa.BPF_ADD):
                raise _Reject(f"R{x.dst} pointer arithmetic on {ptr.type} prohibited", pc)
        if op not in (isa.BPF_ADD, isa.BPF_SUB):
            r = x.dst
            if op in (isa.BPF_AND, isa.BPF_OR, isa.BPF_XOR):
                raise _Reject(f"R{r} bitwise operator {isa.ALU_OPS[op][1]} on pointer prohibited", pc)
            raise _Reject(f"R{r} pointer arithmetic with {isa.ALU_OPS[op][1]} operator prohibited", pc)
        ptr, off = (dst, src) if dst.is_ptr() else (src, dst)
        if op == isa.BPF_SUB and not dst.is_ptr():
            raise _Reject(f"R{x.dst} tried to subtract pointer from scalar", pc)
        if op == isa.BPF_SUB and ptr.type == PTR_TO_STACK:
            raise _Reject(f"R{x.dst} subtraction from stack pointer prohibited", pc)
        if off.is_const():
            v = _s64(off.value)
            if v >= BPF_MAX_VAR_OFF or v <= -BPF_MAX_VAR_OFF:
                raise _Reject(f"math between {ptr.type} pointer and {v} is not allowed", pc)
            new_off = ptr.off + v if op == isa.BPF_ADD else ptr.off - v
            if new_off >= BPF_MAX_VAR_OFF or new_off <= -BPF_MAX_VAR_OFF:
                raise _Reject(f"value {new_off} makes {ptr.type} pointer be out of bounds", pc)
            return self._sanitize_check_bounds(pc, x.dst, ptr.with_off(new_off))
        # check_reg_sane_offset() on the offset register
        if off.smin == S64_MIN:
            raise _Reject(f"math between {ptr.type} pointer and register with unbounded min value is not allowed",
                          pc)
        if off.smin >= BPF_MAX_VAR_OFF or off.smin <= -BPF_MAX_VAR_OFF:
            raise _Reject(f"value {off.smin} makes {ptr.type} pointer be out of bounds", pc)
        if not self.priv and ptr.type == PTR_TO_STACK:
            raise _Reject(f"R{x.dst} variable stack access prohibited for !root", pc)
        pvar = Reg(SCALAR, 0, ptr.umin, ptr.umax, ptr.smin, ptr.smax, ptr.var)
        nv = _scalar_alu(op, pvar, off, True, 0)
        if nv.smin == S64_MIN or nv.smin >= BPF_MAX_VAR_OFF or nv.smin <= -BPF_MAX_VAR_OFF:
            raise _Reject(f"value {nv.smin} makes {ptr.type} pointer be out of bounds", pc)
        return self._sanitize_check_bounds(pc, x.dst, ptr.with_var(nv.umin, nv.umax, nv.smin, nv.smax, nv.var))

    def _sanitize_check_bounds(self, pc: int, regno: int, r: Reg) -> Reg:
        """sanitize_check_bounds(): without bypass_spec_v1 (CAP_PERFMON) the pointer that pointer arithmetic
        makes must stay inside its object, so that later accesses can be masked against speculation."""
        if self.priv:
            return r
        if r.type == PTR_TO_STACK and r.var.is_const():  # check_stack_access_for_ptr_arithmetic()
            off = r.off + _s64(r.var.value)
            if off >= 0 or off < -MAX_BPF_STACK:
                raise _Reject(f"R{regno} stack pointer arithmetic goes out of range, prohibited for !root; "
                              f"off={off}", pc)
        elif r.type == PTR_TO_MAP_VALUE and r.map is not None:  # check_map_access(off, size 1)
            if r.off + r.smin < 0 or r.off + r.umax + 1 > r.map.value_size:
                raise _Reject(f"R{regno} pointer arithmetic of map value goes out of range, prohibited for !root",
                              pc)
        return r

    def _atomic(self, pc: int, x: Insn, st: State) -> int:
        base = self._read(st, x.dst, pc)
        src = self._read(st, x.src, pc)
        if x.imm == isa.BPF_CMPXCHG:
            self._read(st, 0, pc)
        if base.type == PTR_TO_CTX:
            raise _Reject(f"BPF_ATOMIC stores into R{x.dst} ctx is not allowed", pc)
        if src.is_ptr() and not self.priv:
            raise _Reject(f"R{x.src} leaks addr into mem", pc)
        size = isa.SIZE_BYTES[x.code & 0x18]
        load = 0 if x.imm == isa.BPF_CMPXCHG else (x.src if x.imm & isa.BPF_FETCH else None)
        # check_atomic(): a read into the load register, then a write; both with strict alignment
        self._atomic_align(pc, x, base, size)
        val = self._mem(pc, st, x.dst, base, x.off, size, write=False, value=None)
        if load is not None:
            if base.type != PTR_TO_STACK:  # Linux 6.18: not narrowed to the access size (observed)
                val = _UNKNOWN
            st.regs[load] = val if size == 8 or val.umax <= M32 else Reg.bounded(0, M32)
        base = st.regs[x.dst]  # the load may have replaced the pointer (r0 = cmpxchg(*(r0 + off), ...))
        self._atomic_align(pc, x, base, size)
        self._mem(pc, st, x.dst, base, x.off, size, write=True, value=None)
        return pc + 1

    def _atomic_align(self, pc: int, x: Insn, base: Reg, size: int) -> None:
        if base.type == PTR_TO_STACK or size == 1:
            return  # the stack checks its own alignment
        t = tn.add(base.var, tn.const(base.off + x.off))
        if (t.value | t.mask) & (size - 1):
            v = base.var.value if base.var.is_const() else base.var
            desc = "value " if base.type == PTR_TO_MAP_VALUE else ""
            raise _Reject(f"misaligned {desc}access off {v}+{base.off}+{x.off} size {size}", pc)

    # ---- memory
    def _mem(self, pc, st, regno, base: Reg, off, size, *, write, value, value_regno=None, is_st=False,
             sx=False) -> Reg | None:
        if base.type == SCALAR:
            raise _Reject(f"R{regno} invalid mem access 'scalar'", pc)
        if base.type == PTR_TO_CTX:
            if base.off < 0:
                raise _Reject(f"negative offset ctx ptr R{regno} off={base.off} disallowed", pc)
            if base.off:
                raise _Reject(f"dereference of modified ctx ptr R{regno} off={base.off} disallowed", pc)
            if not base.var.is_const() or base.var.value:
                raise _Reject(f"variable ctx access var_off={base.var} disallowed", pc)
            if write and value is not None and value.is_ptr() and not self.priv:
                raise _Reject(f"R{value_regno} leaks addr into ctx", pc)
            why = self.pt.ctx_access(off, size, write)
            if why is not None:
                raise _Reject(f"invalid bpf_context access off={off} size={size} ({why})", pc)
            if write:
                return None
            return self._loaded(None, size, sx)
        if base.type == PTR_TO_STACK:
            return self._stack(pc, st, regno, base, off, size, write, value, value_regno, is_st, sx)
        if base.type == PTR_TO_MAP_VALUE:
            if write and value is not None and value.is_ptr() and not self.priv:
                raise _Reject(f"R{value_regno} leaks addr into map", pc)
            self._map_region(pc, regno, base, base.off + off, size, base.map.value_size)
            if write:
                return None
            return self._loaded(None, size, sx)
        raise _Reject(f"R{regno} invalid mem access '{base.type}'", pc)

    def _map_region(self, pc, regno, reg: Reg, off: int, size: int, mem_size: int, zero_ok: bool = False,
                    what: str = "map value") -> None:
        """check_mem_region_access(): the fixed and the variable offset of a map pointer against the size."""
        def ok(o):
            return o >= 0 and (size > 0 or (size == 0 and zero_ok)) and o + size <= mem_size

        def bad(o):
            name = "key_size" if what == "map key" else "value_size"
            return (f"invalid access to {what}, {name}={mem_size} off={o} size={size}",)

        smin = reg.smin
        if smin < 0 and (smin == S64_MIN or not (-(1 << 31) <= off + smin < (1 << 31)) or smin + off < 0):
            raise _Reject(f"R{regno} min value is negative, either use unsigned index or do a if (index >=0) "
                          "check.", pc)
        if not ok(smin + off):
            raise _Reject(f"R{regno} min value is outside of the allowed memory range", pc, bad(smin + off))
        if reg.umax >= BPF_MAX_VAR_OFF:
            raise _Reject(f"R{regno} unbounded memory access, make sure to bounds check any such access", pc)
        if not ok(reg.umax + off):
            raise _Reject(f"R{regno} max value is outside of the allowed memory range", pc, bad(reg.umax + off))

    def _stack(self, pc, st, regno, base, off, size, write, value, value_regno, is_st, sx):
        verb = "write to" if write else "read from"
        st = st.frames[base.frame]  # func(env, reg): the frame the pointer points into
        # check_ptr_alignment(): always strict for the stack, variable offsets included, before the bounds
        t = tn.add(base.var, tn.const((base.off + off) & M64))
        if (t.value | t.mask) & (size - 1):
            shown = _s64(base.var.value) if base.var.is_const() else base.var
            raise _Reject(f"misaligned stack access off {shown}+{base.off}+{off} size {size}", pc)
        if not base.var.is_const():
            lo, hi = base.off + off + base.smin, base.off + off + base.smax
            if lo < -512 or hi + size > 0:
                raise _Reject(f"invalid variable-offset {verb} stack R{regno} var_off={base.var} "
                              f"off={base.off + off} size={size}", pc)
            idx = range(lo + 512, hi + size + 512)
            if -lo > st.depth:
                st.depth = -lo
                if -lo > self.subprog_depth[st.subprog]:
                    self.subprog_depth[st.subprog] = -lo
            if write:
                for i in idx:
                    if st.stack[i] == STACK_SPILL:
                        self._destroy_spill(st, i - i % 8)
                for i in idx:
                    if not (st.stack[i] == STACK_ZERO and value is not None and value.is_const()
                            and value.value == 0):
                        st.stack[i] = STACK_MISC
                return None
            if not self.priv:
                for i in idx:
                    if st.stack[i] == STACK_INVALID:
                        raise _Reject(f"invalid variable-offset read from stack R{regno} var_off={base.var} "
                                      f"off={base.off + off} size={size}", pc)
            return self._loaded(None, size, sx)
        a = base.off + base.var.value + off
        if a < -512 or a + size > 0:
            raise _Reject(f"invalid {verb} stack R{regno} off={a} size={size}", pc)
        i0 = a + 512
        if -a > st.depth:
            st.depth = -a
            if -a > self.subprog_depth[st.subprog]:
                self.subprog_depth[st.subprog] = -a
        slot = i0 - i0 % 8
        if write:
            if value is not None and value.is_ptr():
                if size != 8:
                    raise _Reject("invalid size of register spill", pc)
            for i in range(i0, i0 + size):
                if st.stack[i] == STACK_SPILL:
                    if not self.priv and st.spills[i - i % 8][0].is_ptr():
                        raise _Reject("attempt to corrupt spilled pointer on stack", pc)
                    self._destroy_spill(st, i - i % 8)
            if value is not None and (value.is_ptr() or (i0 % 8 == 0 and self.privs.bpf_capable)):
                v = value if value.is_ptr() else _trunc(value, size)
                st.spills[slot] = (v, size)
                for i in range(slot, slot + 8):
                    if i < i0 + size:
                        st.stack[i] = STACK_SPILL
                    # bytes of the slot above the spill keep their type
                return None
            t = STACK_ZERO if value is not None and value.is_const() and _trunc(value, size).value == 0 else STACK_MISC
            for i in range(i0, i0 + size):
                st.stack[i] = t
            return None
        # read
        types = st.stack[i0:i0 + size]
        if STACK_SPILL in types:
            r, ssize = st.spills.get(slot, (None, 0))
            if r is not None and i0 == slot and size == ssize and all(t == STACK_SPILL for t in types):
                if sx and r.type == SCALAR:
                    return self._sext(r, 8 * size, True)
                return r
            if r is not None and r.is_ptr():
                raise _Reject("invalid size of register fill", pc)
            if r is not None and i0 == slot and size < ssize and r.type == SCALAR:
                return self._loaded(_trunc(r, size), size, sx)
        if not self.priv and STACK_INVALID in types:
            # Linux 6.18: a read below the stack this path has written so far (allocated_stack, whole
            # 8-byte slots) is refused as out of the state's stack; inside it, the first byte never
            # written is named (check_stack_read_fixed_off: off + i)
            written = [k for k in range(len(st.stack)) if st.stack[k] != STACK_INVALID]
            allocated = (512 - min(written) + 7) // 8 * 8 if written else 0
            if -a > allocated:
                raise _Reject(f"invalid read from stack R{regno} off={a} size={size}", pc)
            first = next(k for k, t in enumerate(types) if t == STACK_INVALID)
            raise _Reject(f"invalid read from stack off {a}+{first} size {size}", pc)
        if all(t == STACK_ZERO for t in types):
            return Reg.const(0)
        return self._loaded(None, size, sx)

    def _destroy_spill(self, st: State, slot: int) -> None:
        st.spills.pop(slot, None)
        for i in range(slot, slot + 8):
            if st.stack[i] == STACK_SPILL:
                st.stack[i] = STACK_MISC

    def _loaded(self, r: Reg | None, size: int, sx: bool) -> Reg:
        if r is not None and not sx:
            return r
        if sx:
            if r is not None and r.is_const():
                return self._sext(r, 8 * size, True)
            return Reg.bounded(0, M64, -(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1)
        return Reg.unknown() if size == 8 else Reg.bounded(0, (1 << (8 * size)) - 1)

    # ---- conditional jumps
    def _cond_jmp(self, pc: int, x: Insn, cls: int, st: State):
        is32 = cls == isa.BPF_JMP32
        op = x.code & 0xF0
        dst = self._read(st, x.dst, pc)
        use_x = x.code & isa.BPF_X
        if use_x:
            src = self._read(st, x.src, pc)
            if self._leak(src):
                raise _Reject(f"R{x.src} pointer comparison prohibited", pc)
        else:
            src = Reg.const(x.imm & M32 if is32 else x.imm)
        null_check = (not is32 and not use_x and x.imm == 0 and op in (isa.BPF_JEQ, isa.BPF_JNE)
                      and dst.type == PTR_TO_MAP_VALUE_OR_NULL)
        taken = _branch_taken(op, dst, src, is32)
        tgt = pc + 1 + x.off
        if taken == 1:
            return tgt, None
        if taken == 0:
            return pc + 1, None
        t_dst, t_src = _refine(op, dst, src, is32, True)
        f_dst, f_src = _refine(op, dst, src, is32, False)
        if t_dst is None or f_dst is None:  # an empty side: the bounds say it is dead after all
            return (pc + 1, None) if t_dst is None else (tgt, None)
        if not null_check and self._leak(dst):
            raise _Reject(f"R{x.dst} pointer comparison prohibited", pc)
        other = st.copy()
        if dst.type == SCALAR and dst.id:
            t_dst, f_dst = _relink(t_dst, dst.id, dst.off), _relink(f_dst, dst.id, dst.off)
        if use_x and src.type == SCALAR and src.id:
            t_src, f_src = _relink(t_src, src.id, src.off), _relink(f_src, src.id, src.off)
        other.regs[x.dst] = t_dst
        st.regs[x.dst] = f_dst
        if use_x:
            other.regs[x.src] = t_src if x.src != x.dst else t_dst
            st.regs[x.src] = f_src if x.src != x.dst else f_dst
            if src.type == SCALAR and src.id and x.src != x.dst:
                _sync_linked(other, other.regs[x.src])
                _sync_linked(st, st.regs[x.src])
        if dst.type == SCALAR and dst.id:
            _sync_linked(other, other.regs[x.dst])
            _sync_linked(st, st.regs[x.dst])
        if null_check:
            # mark_ptr_or_null_regs(): every copy with the same id, in every frame, on each side
            _mark_ptr_or_null(st, dst.id, op == isa.BPF_JNE)
            _mark_ptr_or_null(other, dst.id, op == isa.BPF_JEQ)
        elif use_x and not is32 and dst.is_ptr() and src.is_ptr() and op in (isa.BPF_JEQ, isa.BPF_JNE):
            eq = other if op == isa.BPF_JEQ else st
            if _not_null(dst) and src.type == PTR_TO_MAP_VALUE_OR_NULL:
                eq.regs[x.src] = _non_null(src)
            if _not_null(src) and dst.type == PTR_TO_MAP_VALUE_OR_NULL:
                eq.regs[x.dst] = _non_null(dst)
        return pc + 1, (tgt, other)


ADD_CONST = 1 << 31  # the kernel's BPF_ADD_CONST flag in a scalar's id


def _relink(r: Reg, rid: int, off: int) -> Reg:
    return Reg(r.type, off, r.umin, r.umax, r.smin, r.smax, r.var, rid, r.map, r.frame)


def _unlink(r: Reg) -> Reg:
    if r.type == SCALAR and (r.id or r.off):
        return Reg(SCALAR, 0, r.umin, r.umax, r.smin, r.smax, r.var)
    return r


def _linked_value(r: Reg, known: Reg) -> Reg:
    """sync_linked_regs(): ``r`` is ``known`` plus the difference of their constant offsets."""
    if r.off == known.off:
        return known
    delta = _s64((r.off - known.off) & M64)
    base = Reg(SCALAR, 0, known.umin, known.umax, known.smin, known.smax, known.var)
    v = _scalar_alu(isa.BPF_ADD, base, Reg.const(delta), True, 0)
    return _relink(v, r.id, r.off)


def _sync_linked(st: State, known: Reg) -> None:
    base = known.id & ~ADD_CONST
    for fr in st.frames:
        regs = fr.regs
        for i, r in enumerate(regs):
            if r.type == SCALAR and r.id and (r.id & ~ADD_CONST) == base:
                regs[i] = _linked_value(r, known)
        for slot, (r, size) in list(fr.spills.items()):
            if r.type == SCALAR and r.id and (r.id & ~ADD_CONST) == base:
                fr.spills[slot] = (_linked_value(r, known), size)


def _not_null(r: Reg) -> bool:
    return r.type == PTR_TO_MAP_VALUE


def _non_null(r: Reg) -> Reg:
    return Reg(PTR_TO_MAP_VALUE, r.off, r.umin, r.umax, r.smin, r.smax, r.var, 0, r.map, r.frame)


def _mark_ptr_or_null(st: State, rid: int, is_null: bool) -> None:
    for fr in st.frames:
        regs = fr.regs
        for i, r in enumerate(regs):
            if r.type == PTR_TO_MAP_VALUE_OR_NULL and r.id == rid:
                regs[i] = Reg.const(0) if is_null else _non_null(r)
        for base, (r, size) in list(fr.spills.items()):
            if r.type == PTR_TO_MAP_VALUE_OR_NULL and r.id == rid:
                fr.spills[base] = (Reg.const(0) if is_null else _non_null(r), size)


_MEM_TYPES = ((PTR_TO_STACK, PTR_TO_MAP_VALUE),
              "fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_")
#: compatible_reg_types[]: what each argument type accepts (lwnlab's register types) and the kernel's list
_ARG_TYPES = {
    H.ARG_CONST_MAP_PTR: ((CONST_PTR_TO_MAP,), "map_ptr"),
    H.ARG_PTR_TO_MAP_KEY: _MEM_TYPES,
    H.ARG_PTR_TO_MAP_VALUE: _MEM_TYPES,
    H.ARG_PTR_TO_MAP_VALUE_OR_NULL: _MEM_TYPES,
    H.ARG_PTR_TO_MEM: _MEM_TYPES,
    H.ARG_PTR_TO_UNINIT_MEM: _MEM_TYPES,
    H.ARG_CONST_SIZE: ((SCALAR,), "scalar"),
    H.ARG_CONST_SIZE_OR_ZERO: ((SCALAR,), "scalar"),
    H.ARG_PTR_TO_CTX: ((PTR_TO_CTX,), "ctx"),
    H.ARG_PTR_TO_TASK_OR_NULL: ((), "ptr_, trusted_ptr_, rcu_ptr_"),
    H.ARG_PTR_TO_TASK: ((), "ptr_, trusted_ptr_, rcu_ptr_"),
}


def _frame_text(fr: Frame, fno: int) -> str:
    st = State([fr])
    return f" frame{fno}: " + st.describe()


# --------------------------------------------------------------------------- scalar arithmetic


def _trunc(r: Reg, size: int) -> Reg:
    if size == 8 or r.is_ptr():
        return r
    m = (1 << (8 * size)) - 1
    if r.is_const():
        return Reg.const(r.value & m)
    if r.umax <= m:
        return r
    t = Tnum(r.var.value & m, r.var.mask & m)
    return Reg.bounded(0, m, var=t) or Reg.bounded(0, m)


def _zext32(r: Reg) -> Reg:
    return _trunc(r, 4)


def _scalar_alu(op: int, a: Reg, b: Reg, is64: bool, off: int) -> Reg:
    if not is64:
        a, b = _zext32(a), _zext32(b)
    bits = 64 if is64 else 32
    mask = M64 if is64 else M32
    if op in (isa.BPF_LSH, isa.BPF_RSH, isa.BPF_ARSH) and (not b.is_const() or b.value >= bits):
        # is_safe_to_compute_dst_reg_range(): a shift by an unknown or out-of-range amount gives an
        # unknown result, even between constants (the CPU masks the count; the verifier does not assume it)
        return Reg.unknown() if is64 else Reg.bounded(0, M32)
    if a.is_const() and b.is_const() and op not in (isa.BPF_DIV, isa.BPF_MOD):
        return Reg.const(_exact(op, a.value, b.value, bits, off))
    r = None
    if op == isa.BPF_ADD:
        var = tn.add(a.var, b.var)
        lo, hi = a.umin + b.umin, a.umax + b.umax
        slo, shi = a.smin + b.smin, a.smax + b.smax
        r = _mk(lo, hi, slo, shi, var, bits)
    elif op == isa.BPF_SUB:
        var = tn.sub(a.var, b.var)
        lo, hi = a.umin - b.umax, a.umax - b.umin
        slo, shi = a.smin - b.smax, a.smax - b.smin
        r = _mk(lo, hi, slo, shi, var, bits)
    elif op == isa.BPF_MUL:
        var = tn.mul(a.var, b.var)
        lo, hi = a.umin * b.umin, a.umax * b.umax
        corners = [x * y for x in (a.smin, a.smax) for y in (b.smin, b.smax)]
        slo, shi = min(corners), max(corners)  # signed tracking (6.x): give up on s64 overflow
        if bits == 32:
            slo = shi = None
        r = _mk(lo, hi, slo, shi, var, bits)
    elif op == isa.BPF_AND:
        r = _mk(0, min(a.umax, b.umax), None, None, tn.and_(a.var, b.var), bits)
    elif op == isa.BPF_OR:
        var = tn.or_(a.var, b.var)
        r = _mk(max(a.umin, b.umin), var.value | var.mask, None, None, var, bits)
    elif op == isa.BPF_XOR:
        var = tn.xor(a.var, b.var)
        r = _mk(var.value, var.value | var.mask, None, None, var, bits)
    elif op == isa.BPF_LSH:
        s = b.value
        var = tn.lshift(a.var, s)
        if is64:
            r = _mk(a.umin << s, a.umax << s, None, None, var, 64)
        else:
            r = _mk(a.umin << s, a.umax << s, None, None, tn.subreg(var), 32)
    elif op == isa.BPF_RSH:
        s = b.value
        r = _mk(a.umin >> s, a.umax >> s, None, None, tn.rshift(a.var, s), bits)
    elif op == isa.BPF_ARSH:
        s = b.value
        var = tn.arshift(a.var if is64 else tn.subreg(a.var), s, bits)
        r = _mk(0, mask, None, None, var, bits)
    if r is None:  # div, mod (defined for 0 at run time), anything imprecise
        return Reg.unknown() if is64 else Reg.bounded(0, M32)
    return r


def _mk(lo: int, hi: int, slo, shi, var: Tnum, bits: int) -> Reg:
    mask = (1 << bits) - 1
    if bits == 32:
        var = tn.subreg(var)
        if not (0 <= lo and hi <= M32):
            lo, hi = 0, M32
        return Reg.bounded(lo, hi, var=var) or Reg.bounded(0, M32, var=var) or Reg.bounded(0, M32)
    if not (0 <= lo and hi <= mask):
        lo, hi = 0, M64
    if slo is None or not (S64_MIN <= slo and shi <= S64_MAX):
        slo, shi = S64_MIN, S64_MAX
    return Reg.bounded(lo, hi, slo, shi, var) or Reg.bounded(0, M64, var=var) or Reg.unknown()


def _exact(op: int, a: int, b: int, bits: int, off: int) -> int:
    m = (1 << bits) - 1
    a &= m
    b &= m
    if op == isa.BPF_ADD:
        return (a + b) & m
    if op == isa.BPF_SUB:
        return (a - b) & m
    if op == isa.BPF_MUL:
        return (a * b) & m
    if op == isa.BPF_OR:
        return a | b
    if op == isa.BPF_AND:
        return a & b
    if op == isa.BPF_XOR:
        return a ^ b
    if op == isa.BPF_LSH:
        return (a << (b & (bits - 1))) & m
    if op == isa.BPF_RSH:
        return a >> (b & (bits - 1))
    if op == isa.BPF_ARSH:
        sa = a - (1 << bits) if a >> (bits - 1) else a
        return (sa >> (b & (bits - 1))) & m
    if op == isa.BPF_MOV:
        return b
    raise AssertionError(op)  # pragma: no cover


def _swap(v: int, bits: int, to_be: int, is64: bool) -> int:
    v &= (1 << bits) - 1
    if is64 or to_be:  # bswap, or to big-endian on this little-endian machine
        return int.from_bytes(v.to_bytes(bits // 8, "little"), "big")
    return v


def _views(r: Reg, is32: bool):
    """(umin, umax, smin, smax, tnum) of the compared width."""
    if is32:
        lo, hi = r.u32_range()
        slo, shi = r.s32_range()
        return lo, hi, slo, shi, tn.subreg(r.var)
    return r.umin, r.umax, r.smin, r.smax, r.var


def _branch_taken(op: int, a: Reg, b: Reg, is32: bool) -> int:
    """is_branch_taken(): 1 always, 0 never, -1 unknown."""
    if a.is_ptr() or b.is_ptr():
        p, o = (a, b) if a.is_ptr() else (b, a)
        # reg_not_null(): map values are, ctx and stack pointers are not (observed: Linux 6.18 walks both
        # sides of "if r1 != 0x0" with r1 = ctx)
        if p.type in (PTR_TO_MAP_VALUE,) and o.is_const() \
                and o.value == 0 and not (a.is_ptr() and b.is_ptr()):
            if op == isa.BPF_JEQ:
                return 0
            if op == isa.BPF_JNE:
                return 1
        return -1
    au, aU, as_, aS, at = _views(a, is32)
    bu, bU, bs, bS, bt = _views(b, is32)
    if op == isa.BPF_JEQ or op == isa.BPF_JNE:
        if at.is_const() and bt.is_const():
            eq = at.value == bt.value
        elif au > bU or aU < bu or as_ > bS or aS < bs or (at.value ^ bt.value) & ~(at.mask | bt.mask):
            eq = False
        else:
            return -1
        return int(eq) if op == isa.BPF_JEQ else int(not eq)
    if op == isa.BPF_JSET:
        if at.value & bt.value:
            return 1
        if not ((at.value | at.mask) & (bt.value | bt.mask)):
            return 0
        return -1
    table = {
        isa.BPF_JGT: (au > bU, aU <= bu), isa.BPF_JGE: (au >= bU, aU < bu),
        isa.BPF_JLT: (aU < bu, au >= bU), isa.BPF_JLE: (aU <= bu, au > bU),
        isa.BPF_JSGT: (as_ > bS, aS <= bs), isa.BPF_JSGE: (as_ >= bS, aS < bs),
        isa.BPF_JSLT: (aS < bs, as_ >= bS), isa.BPF_JSLE: (aS <= bs, as_ > bS),
    }
    yes, no = table[op]
    return 1 if yes else (0 if no else -1)


_INVERT = {isa.BPF_JEQ: isa.BPF_JNE, isa.BPF_JNE: isa.BPF_JEQ, isa.BPF_JGT: isa.BPF_JLE, isa.BPF_JLE: isa.BPF_JGT,
           isa.BPF_JGE: isa.BPF_JLT, isa.BPF_JLT: isa.BPF_JGE, isa.BPF_JSGT: isa.BPF_JSLE,
           isa.BPF_JSLE: isa.BPF_JSGT, isa.BPF_JSGE: isa.BPF_JSLT, isa.BPF_JSLT: isa.BPF_JSGE}
_SWAP = {isa.BPF_JEQ: isa.BPF_JEQ, isa.BPF_JNE: isa.BPF_JNE, isa.BPF_JGT: isa.BPF_JLT, isa.BPF_JLT: isa.BPF_JGT,
         isa.BPF_JGE: isa.BPF_JLE, isa.BPF_JLE: isa.BPF_JGE, isa.BPF_JSGT: isa.BPF_JSLT,
         isa.BPF_JSLT: isa.BPF_JSGT, isa.BPF_JSGE: isa.BPF_JSLE, isa.BPF_JSLE: isa.BPF_JSGE}


def _refine(op: int, a: Reg, b: Reg, is32: bool, taken: bool):
    """reg_set_min_max(): the two registers narrowed by the branch outcome (None = impossible)."""
    if a.is_ptr() or b.is_ptr():
        return a, b
    if is32 and not (a.umax <= M32 and b.umax <= M32):
        return a, b  # only 32-bit views known: keep the 64-bit state (sound, less precise than the kernel)
    if op == isa.BPF_JSET:
        if not taken and b.is_const():
            na = Reg.bounded(a.umin, a.umax, a.smin, a.smax, Tnum(a.var.value & ~b.value & M64,
                                                                   a.var.mask & ~b.value & M64))
            return (na, b) if na is not None else (None, None)
        if taken and b.is_const() and b.value and not (b.value & (b.value - 1)):
            na = Reg.bounded(a.umin, a.umax, a.smin, a.smax, tn.or_(a.var, tn.const(b.value)))
            return (na, b) if na is not None else (None, None)
        return a, b
    if is32 and op in (isa.BPF_JSGT, isa.BPF_JSGE, isa.BPF_JSLT, isa.BPF_JSLE):
        if not (a.umax < 1 << 31 and b.umax < 1 << 31):
            return a, b
    if not taken:
        op = _INVERT[op]
    na = _narrow(op, a, b)
    nb = _narrow(_SWAP[op], b, a)
    if na is None or nb is None:
        return None, None
    return na, nb


def _narrow(op: int, a: Reg, b: Reg) -> Reg | None:
    umin, umax, smin, smax, var = a.umin, a.umax, a.smin, a.smax, a.var
    if op == isa.BPF_JEQ:
        umin, umax = max(umin, b.umin), min(umax, b.umax)
        smin, smax = max(smin, b.smin), min(smax, b.smax)
        var = tn.intersect(var, b.var)
        if (a.var.value ^ b.var.value) & ~(a.var.mask | b.var.mask):
            return None
    elif op == isa.BPF_JNE:
        if b.is_const():
            v = b.value
            if umin == v:
                umin += 1
            if umax == v:
                umax -= 1
            if smin == _s64(v):
                smin += 1
            if smax == _s64(v):
                smax -= 1
            if a.is_const() and a.value == v:
                return None
    elif op == isa.BPF_JGT:
        umin = max(umin, b.umin + 1)
    elif op == isa.BPF_JGE:
        umin = max(umin, b.umin)
    elif op == isa.BPF_JLT:
        umax = min(umax, b.umax - 1)
    elif op == isa.BPF_JLE:
        umax = min(umax, b.umax)
    elif op == isa.BPF_JSGT:
        smin = max(smin, b.smin + 1)
    elif op == isa.BPF_JSGE:
        smin = max(smin, b.smin)
    elif op == isa.BPF_JSLT:
        smax = min(smax, b.smax - 1)
    elif op == isa.BPF_JSLE:
        smax = min(smax, b.smax)
    if umin > umax or smin > smax or umax < 0 or umin > M64:
        return None
    return Reg.bounded(umin, umax, smin, smax, var)


# --------------------------------------------------------------------------- public API


def check(insns, prog_type: str = "socket_filter", *, privileged: bool = True, maps: dict | None = None,
          privileges: Privileges | None = None, gates: Gates | None = None,
          max_insns: int = isa.BPF_COMPLEXITY_LIMIT_INSNS, log_level: int = 1,
          accelerate_loops: bool = True) -> Verdict:
    """Run the verifier and return its :class:`Verdict` (accepted or not, the log, pc, message, states).

    ``maps`` maps the imm of ``lddw`` to a :class:`~lwnlab.bpf.helpers.MapSpec`: the fd for
    ``BPF_PSEUDO_MAP_FD``/``_VALUE`` and the index for ``BPF_PSEUDO_MAP_IDX``/``_IDX_VALUE``.
    ``privileges`` defaults to root when ``privileged`` else to an unprivileged loader; ``gates``
    are the seccomp proposal's LSM/Yama switches.
    """
    if isinstance(insns, (bytes, bytearray)):
        from lwnlab.bpf.program import decode
        insns = decode(insns)
    return Verifier(insns, prog_type, privileged, max_insns, log_level, maps=maps, privileges=privileges,
                    gates=gates, accelerate_loops=accelerate_loops).run()


def verify(insns, prog_type: str = "socket_filter", *, privileged: bool = True, maps: dict | None = None,
           privileges: Privileges | None = None, gates: Gates | None = None, **kw) -> Verdict:
    """Like :func:`check`, but a rejection raises :class:`~lwnlab.errors.VerifierError` (``.pc``, ``.log``)."""
    v = check(insns, prog_type, privileged=privileged, maps=maps, privileges=privileges, gates=gates, **kw)
    return v.raise_for()
