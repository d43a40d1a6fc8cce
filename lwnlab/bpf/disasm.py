"""Disassemblers: back to the uBPF dialect (round-trips through :mod:`lwnlab.bpf.asm`),
and the kernel's pseudo-C (the verifier log's and ``bpftool prog dump xlated``'s form,
``kernel/bpf/disasm.c``).

Slots that are not valid instructions are shown as ``.insn code, dst, src, off, imm``,
which the assembler takes back unchanged, so *any* byte string round-trips.
"""

from __future__ import annotations

from lwnlab.bpf import isa
from lwnlab.bpf.program import Insn, lddw_value

_ALU_NAMES = {op: mn for op, (mn, _) in isa.ALU_OPS.items()}
_ATOMIC_BASE = {isa.BPF_ADD: "add", isa.BPF_OR: "or", isa.BPF_AND: "and", isa.BPF_XOR: "xor"}


def _num(v: int) -> str:
    return str(v) if -256 < v < 256 else (f"-{-v:#x}" if v < 0 else f"{v:#x}")


def _off(v: int) -> str:
    return f"+{v}" if v >= 0 else str(v)


def _memop(reg: int, off: int) -> str:
    if off == 0:
        return f"[%r{reg}]"
    return f"[%r{reg}{'+' if off >= 0 else '-'}{abs(off):#x}]" if abs(off) >= 256 else f"[%r{reg}{_off(off)}]"


def _raw(x: Insn) -> str:
    return f".insn {x.code:#04x}, {x.dst}, {x.src}, {x.off}, {x.imm}"


def _valid(x: Insn, strict: bool = True) -> bool:
    """Whether the slot is a well-formed instruction whose text encodes every field."""
    info = isa.OPCODES.get(x.code)
    if info is None or x.dst > 10 or x.src > 10:
        return False
    # the kernel's own display (strict=False) tolerates what converted cBPF leaves in src of K-form insns
    if strict and info.src_zero and x.src and info.kind != "call":
        return False
    if info.dst_zero and x.dst:
        return False
    if info.imm_zero and x.imm:
        return False
    if info.off_zero and x.off:
        return False
    if info.offsets is not None and x.off not in info.offsets:
        return False
    if info.imms is not None and x.imm not in info.imms:
        return False
    if info.kind == "call" and (x.src not in (0, 1) or (x.src == 0 and x.imm < 0)):
        return False
    return True


def disasm_one(insns: list[Insn], pc: int, labels: dict[int, str] | None = None) -> tuple[str, int]:
    """Text of the instruction at pc in uBPF syntax, and how many slots it used."""
    x = insns[pc]
    if not _valid(x):
        return _raw(x), 1
    info = isa.OPCODES[x.code]
    cls = x.code & 7
    k = info.kind

    def tgt(delta: int) -> str:
        if labels is not None and (pc + 1 + delta) in labels:
            return labels[pc + 1 + delta]
        return _off(delta)

    if k in ("alu", "mov", "neg"):
        sfx = "32" if cls == isa.BPF_ALU else ""
        op = x.code & 0xF0
        name = _ALU_NAMES[op]
        if k == "neg":
            return f"neg{sfx} %r{x.dst}", 1
        if k == "mov" and x.off:
            return f"movsx{x.off}{sfx} %r{x.dst}, %r{x.src}", 1
        if x.off == 1:
            name = "s" + name
        rhs = f"%r{x.src}" if x.code & isa.BPF_X else _num(x.imm)
        return f"{name}{sfx} %r{x.dst}, {rhs}", 1
    if k == "alu_end":
        kind = "bswap" if cls == isa.BPF_ALU64 else ("be" if x.code & isa.BPF_X else "le")
        return f"{kind}{x.imm} %r{x.dst}", 1
    if k in ("ldx", "ldxsx"):
        s = isa.SIZE_SUFFIX[x.code & 0x18]
        return f"ldx{'s' if k == 'ldxsx' else ''}{s} %r{x.dst}, {_memop(x.src, x.off)}", 1
    if k == "st":
        return f"st{isa.SIZE_SUFFIX[x.code & 0x18]} {_memop(x.dst, x.off)}, {_num(x.imm)}", 1
    if k == "stx":
        return f"stx{isa.SIZE_SUFFIX[x.code & 0x18]} {_memop(x.dst, x.off)}, %r{x.src}", 1
    if k == "atomic":
        sfx = "32" if (x.code & 0x18) == isa.BPF_W else ""
        if x.imm == isa.BPF_XCHG:
            name = "xchg"
        elif x.imm == isa.BPF_CMPXCHG:
            name = "cmpxchg"
        else:
            name = ("fetch " if x.imm & isa.BPF_FETCH else "") + _ATOMIC_BASE[x.imm & 0xF0]
        return f"lock {name}{sfx} {_memop(x.dst, x.off)}, %r{x.src}", 1
    if k == "lddw":
        if pc + 1 >= len(insns) or x.src not in isa.LDDW_SRC_NAMES or x.off:
            return _raw(x), 1
        y = insns[pc + 1]
        if y.code or y.dst or y.src or y.off:
            return _raw(x), 1
        if x.src == 0:
            return f"lddw %r{x.dst}, {lddw_value(x, y):#x}", 2
        name = isa.LDDW_SRC_NAMES[x.src]
        if x.src == isa.BPF_PSEUDO_FUNC:
            return f"lddw %r{x.dst}, func({tgt(x.imm)})", 2
        if x.imm < 0 or y.imm < 0:
            return _raw(x), 1
        if x.src in (isa.BPF_PSEUDO_MAP_VALUE, isa.BPF_PSEUDO_MAP_IDX_VALUE):
            return f"lddw %r{x.dst}, {name}({x.imm}, {y.imm})", 2
        if y.imm:
            return _raw(x), 1
        return f"lddw %r{x.dst}, {name}({x.imm})", 2
    if k == "ld_abs":
        return f"ldabs{isa.SIZE_SUFFIX[x.code & 0x18]} {_num(x.imm)}", 1
    if k == "ld_ind":
        return f"ldind{isa.SIZE_SUFFIX[x.code & 0x18]} %r{x.src}, {_num(x.imm)}", 1
    if k == "ja":
        if cls == isa.BPF_JMP32:
            return f"gotol {tgt(x.imm)}", 1
        return f"ja {tgt(x.off)}", 1
    if k == "jmp":
        name = isa.JMP_OPS[x.code & 0xF0][0] + ("32" if cls == isa.BPF_JMP32 else "")
        rhs = f"%r{x.src}" if x.code & isa.BPF_X else _num(x.imm)
        return f"{name} %r{x.dst}, {rhs}, {tgt(x.off)}", 1
    if k == "call":
        if x.src == isa.BPF_PSEUDO_CALL:
            return f"call local {tgt(x.imm)}", 1
        return f"call {x.imm}", 1
    if k == "exit":
        return "exit", 1
    return _raw(x), 1  # pragma: no cover


def _labels(insns: list[Insn]) -> dict[int, str]:
    targets = set()
    pc = 0
    while pc < len(insns):
        x = insns[pc]
        _, used = disasm_one(insns, pc)
        if _valid(x):
            k = isa.OPCODES[x.code].kind
            if k == "ja":
                targets.add(pc + 1 + (x.imm if x.code & 7 == isa.BPF_JMP32 else x.off))
            elif k == "jmp":
                targets.add(pc + 1 + x.off)
            elif k == "call" and x.src == 1:
                targets.add(pc + 1 + x.imm)
            elif k == "lddw" and x.src == isa.BPF_PSEUDO_FUNC:
                targets.add(pc + 1 + x.imm)
        pc += used
    return {t: f"L{t}" for t in sorted(targets) if 0 <= t <= len(insns)}


def disassemble(insns: list[Insn], *, labels: bool = False, pcs: bool = False) -> str:
    """The whole program in uBPF syntax, one instruction per line."""
    names = _labels(insns) if labels else None
    out = []
    pc = 0
    while pc < len(insns):
        if names and pc in names:
            out.append(f"{names[pc]}:")
        text, used = disasm_one(insns, pc, names)
        out.append((f"{pc:4d}: " if pcs else ("    " if names else "")) + text)
        pc += used
    if names and len(insns) in names:
        out.append(f"{names[len(insns)]}:")
    return "\n".join(out) + ("\n" if out else "")


# --------------------------------------------------------------------------- kernel pseudo-C

_PSEUDO_OPS = {op: c for op, (_, c) in isa.ALU_OPS.items()}
_ATOMIC_C = {isa.BPF_ADD: "+=", isa.BPF_OR: "|=", isa.BPF_AND: "&=", isa.BPF_XOR: "^="}
_ATOMIC_FETCH = {isa.BPF_ADD: "add", isa.BPF_OR: "or", isa.BPF_AND: "and", isa.BPF_XOR: "xor"}


def pseudo_c_one(insns: list[Insn], pc: int, helper_names: dict[int, str] | None = None) -> tuple[str, int]:
    """One instruction as ``kernel/bpf/disasm.c`` prints it (without the leading ``(code)``)."""
    x = insns[pc]
    if not _valid(x, strict=False):
        return f"invalid insn code {x.code:#04x}", 1
    info = isa.OPCODES[x.code]
    cls = x.code & 7
    k = info.kind
    r = "w" if cls in (isa.BPF_ALU, isa.BPF_JMP32) else "r"
    if k in ("alu", "mov", "neg"):
        op = x.code & 0xF0
        if k == "neg":
            return f"{r}{x.dst} = -{r}{x.dst}", 1
        if x.code & isa.BPF_X:
            rhs = f"{r}{x.src}"
            if k == "mov" and x.off:
                rhs = f"(s{x.off}){r}{x.src}"
        else:
            rhs = str(x.imm)
        c = _PSEUDO_OPS[op]
        if x.off == 1 and op in (isa.BPF_DIV, isa.BPF_MOD):
            c = "s" + c
        return f"{r}{x.dst} {c} {rhs}", 1
    if k == "alu_end":
        kind = "bswap" if cls == isa.BPF_ALU64 else ("be" if x.code & isa.BPF_X else "le")
        return f"r{x.dst} = {kind}{x.imm} r{x.dst}", 1
    if k in ("ldx", "ldxsx"):
        t = isa.SIZE_CTYPE[x.code & 0x18]
        if k == "ldxsx":
            t = "s" + t[1:]
        return f"r{x.dst} = *({t} *)(r{x.src} {x.off:+d})", 1
    if k == "st":
        return f"*({isa.SIZE_CTYPE[x.code & 0x18]} *)(r{x.dst} {x.off:+d}) = {x.imm}", 1
    if k == "stx":
        return f"*({isa.SIZE_CTYPE[x.code & 0x18]} *)(r{x.dst} {x.off:+d}) = r{x.src}", 1
    if k == "atomic":
        t = isa.SIZE_CTYPE[x.code & 0x18]
        w = "r" if t == "u64" else "w"
        sfx = "64" if t == "u64" else ""
        mem = f"({t} *)(r{x.dst} {x.off:+d})"
        if x.imm == isa.BPF_XCHG:
            return f"{w}{x.src} = atomic{sfx}_xchg({mem}, {w}{x.src})", 1
        if x.imm == isa.BPF_CMPXCHG:
            return f"{w}0 = atomic{sfx}_cmpxchg({mem}, {w}0, {w}{x.src})", 1
        if x.imm & isa.BPF_FETCH:
            return f"{w}{x.src} = atomic{sfx}_fetch_{_ATOMIC_FETCH[x.imm & 0xF0]}({mem}, {w}{x.src})", 1
        return f"lock *{mem} {_ATOMIC_C[x.imm]} {w}{x.src}", 1
    if k == "lddw":
        if pc + 1 >= len(insns):
            return "invalid lddw (truncated)", 1
        y = insns[pc + 1]
        form = {isa.BPF_PSEUDO_MAP_FD: f"map[fd:{x.imm}]", isa.BPF_PSEUDO_MAP_VALUE: f"map[fd:{x.imm}][0]+{y.imm}",
                isa.BPF_PSEUDO_BTF_ID: f"btf_var[id:{x.imm}]", isa.BPF_PSEUDO_FUNC: f"func pc{x.imm:+d}",
                isa.BPF_PSEUDO_MAP_IDX: f"map[idx:{x.imm}]",
                isa.BPF_PSEUDO_MAP_IDX_VALUE: f"map[idx:{x.imm}][0]+{y.imm}"}.get(x.src)
        if form is not None:
            return f"r{x.dst} = {form}", 2
        return f"r{x.dst} = {lddw_value(x, y):#x} ll", 2
    if k == "ld_abs":
        return f"r0 = *({isa.SIZE_CTYPE[x.code & 0x18]} *)skb[{x.imm}]", 1
    if k == "ld_ind":
        return f"r0 = *({isa.SIZE_CTYPE[x.code & 0x18]} *)skb[r{x.src} + {x.imm}]", 1
    if k == "ja":
        if cls == isa.BPF_JMP32:
            return f"gotol pc{x.imm:+d}", 1
        return f"goto pc{x.off:+d}", 1
    if k == "jmp":
        c = isa.JMP_OPS[x.code & 0xF0][1]
        rhs = f"{r}{x.src}" if x.code & isa.BPF_X else f"{x.imm & 0xFFFFFFFF:#x}"
        return f"if {r}{x.dst} {c} {rhs} goto pc{x.off:+d}", 1
    if k == "call":
        if x.src == isa.BPF_PSEUDO_CALL:
            return f"call pc{x.imm:+d}", 1
        name = (helper_names or {}).get(x.imm, "unknown")
        return f"call {name}#{x.imm}", 1
    if k == "exit":
        return "exit", 1
    return "?", 1  # pragma: no cover


def pseudo_c(insns: list[Insn], *, helper_names: dict[int, str] | None = None, codes: bool = True) -> str:
    """The program as ``bpftool prog dump xlated`` shows it: ``pc: (code) text``."""
    out = []
    pc = 0
    while pc < len(insns):
        text, used = pseudo_c_one(insns, pc, helper_names)
        prefix = f"{pc:4d}: ({insns[pc].code:02x}) " if codes else ""
        out.append(prefix + text)
        pc += used
    return "\n".join(out) + ("\n" if out else "")
