"""An assembler for eBPF in the uBPF dialect (the one bpf_conformance tests are written in).

::

    mov32 %r0, 1            # ALU32 with an immediate (suffix 32 = 32-bit)
    add %r1, %r2            # ALU64 register form
    ldxw %r0, [%r1+4]       # load, sizes b h w dw; ldxsb/ldxsh/ldxsw sign-extend
    stxdw [%r10-8], %r1     # store a register; stw [%r10-4], 7 stores an immediate
    lock add [%r10-8], %r1  # atomics: lock [fetch] add/or/and/xor[32], lock xchg[32], lock cmpxchg[32]
    jeq %r1, 0x5, +2        # conditional jumps: jeq jgt jge jset jne jsgt jsge jlt jle jslt jsle [32]
    ja done                 # or a label; gotol takes a 32-bit offset
    lddw %r0, 0x1122334455667788
    lddw %r1, map_fd(3)     # pseudo sources: map_fd(fd), map_value(fd, off), btf_var(id), func(label),
                            # map_idx(i), map_idx_value(i, off)
    call 1                  # a helper by id; 'call local f' calls a function of the program
    le16/be32/bswap64 %r0   # byte swaps; sdiv/smod[32]; movsx8/16/32 %r0, %r1 and movsx832/1632
    exit
    .insn 0x07, 0, 0, 0, 5  # raw slot: code, dst, src, offset, imm

Comments start with ``#``, ``;`` or ``//``.  Labels are ``name:``.  Every
error is an :class:`~lwnlab.errors.AsmError` with line and column.
"""

from __future__ import annotations

import re

from lwnlab.bpf import isa
from lwnlab.bpf.program import Insn, encode
from lwnlab.errors import AsmError

_ALU = {"add": isa.BPF_ADD, "sub": isa.BPF_SUB, "mul": isa.BPF_MUL, "div": isa.BPF_DIV, "or": isa.BPF_OR,
        "and": isa.BPF_AND, "lsh": isa.BPF_LSH, "rsh": isa.BPF_RSH, "mod": isa.BPF_MOD, "xor": isa.BPF_XOR,
        "mov": isa.BPF_MOV, "arsh": isa.BPF_ARSH}
_SIGNED = {"sdiv": isa.BPF_DIV, "smod": isa.BPF_MOD}
_JMP = {mn: op for op, (mn, _) in isa.JMP_OPS.items()}
_SIZES = {"b": isa.BPF_B, "h": isa.BPF_H, "w": isa.BPF_W, "dw": isa.BPF_DW}
_ATOMIC = {"add": isa.BPF_ADD, "or": isa.BPF_OR, "and": isa.BPF_AND, "xor": isa.BPF_XOR}

#: lddw's pseudo sources, ``lddw %r1, map_fd(3)`` ... (include/uapi/linux/bpf.h BPF_PSEUDO_*)
_PSEUDO = {"map_fd": isa.BPF_PSEUDO_MAP_FD, "map_value": isa.BPF_PSEUDO_MAP_VALUE, "btf_var": isa.BPF_PSEUDO_BTF_ID,
           "func": isa.BPF_PSEUDO_FUNC, "map_idx": isa.BPF_PSEUDO_MAP_IDX,
           "map_idx_value": isa.BPF_PSEUDO_MAP_IDX_VALUE}
_LABEL_RE = re.compile(r"^([A-Za-z_.$][\w.$]*)\s*:")
_REG_RE = re.compile(r"^%?r(\d+)$")
_MEM_RE = re.compile(r"^\[\s*(%?r\d+)\s*(?:([+-])\s*(0x[0-9a-fA-F]+|\d+))?\s*\]$")


def _strip_comment(line: str) -> str:
    cut = len(line)
    for tok in ("#", ";", "//"):
        i = line.find(tok)
        if i >= 0:
            cut = min(cut, i)
    return line[:cut]


class _Line:
    def __init__(self, lineno: int, text: str, col: int, file: str | None):
        self.lineno, self.text, self.col, self.file = lineno, text, col, file

    def err(self, msg: str, col: int | None = None) -> AsmError:
        return AsmError(msg, line=self.lineno, column=(col if col is not None else self.col) + 1, file=self.file)

    def col_of(self, token: str) -> int:
        i = self.text.find(token)
        return self.col + (i if i >= 0 else 0)


def parse_int(tok: str, ln: _Line, lo: int, hi: int, what: str) -> int:
    t = tok.strip()
    try:
        v = int(t, 0)
    except ValueError:
        raise ln.err(f"expected {what}, got {t!r}", ln.col_of(t)) from None
    if not lo <= v <= hi:
        raise ln.err(f"{what} {t} out of range [{lo}, {hi}]", ln.col_of(t))
    return v


def _reg(tok: str, ln: _Line) -> int:
    m = _REG_RE.match(tok.strip())
    if not m or int(m.group(1)) > 10:
        raise ln.err(f"expected a register %r0..%r10, got {tok.strip()!r}", ln.col_of(tok.strip()))
    return int(m.group(1))


def _is_reg(tok: str) -> bool:
    return bool(_REG_RE.match(tok.strip()))


def _mem(tok: str, ln: _Line) -> tuple[int, int]:
    m = _MEM_RE.match(tok.strip())
    if not m:
        raise ln.err(f"expected a memory operand like [%r1+4], got {tok.strip()!r}", ln.col_of(tok.strip()))
    reg = _reg(m.group(1), ln)
    off = 0
    if m.group(3):
        off = int(m.group(3), 0) * (-1 if m.group(2) == "-" else 1)
    if not -0x8000 <= off <= 0x7FFF:
        raise ln.err(f"offset {off} does not fit in 16 bits", ln.col_of(tok.strip()))
    return reg, off


def _imm32(tok: str, ln: _Line) -> int:
    v = parse_int(tok, ln, -(1 << 31), (1 << 32) - 1, "a 32-bit immediate")
    return v - (1 << 32) if v >= (1 << 31) else v


def _ops(rest: str, ln: _Line, n: int, mn: str) -> list[str]:
    ops = [o.strip() for o in rest.split(",")] if rest.strip() else []
    if len(ops) != n:
        raise ln.err(f"{mn} takes {n} operand{'s' if n != 1 else ''}, got {len(ops)}")
    return ops


def _helper_by_name(tok: str) -> int | None:
    """A helper's id from its name (``bpf_map_lookup_elem``, ``map_lookup_elem``, ``bpf_map_lookup_elem#1``)."""
    from lwnlab.bpf.helpers import HELPERS, KNOWN_UNMODELLED

    name, _, num = tok.strip().partition("#")
    name = name.removeprefix("bpf_")
    for hid, h in HELPERS.items():
        if h.name == name:
            return hid if not num or num == str(hid) else None
    for hid, n in KNOWN_UNMODELLED.items():
        if n == name:
            return hid if not num or num == str(hid) else None
    return None


def assemble(text: str, *, file: str | None = None) -> list[Insn]:
    """Assemble uBPF-style text to instructions (lddw is two slots)."""
    lines = []
    labels: dict[str, int] = {}
    pc = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        body = _strip_comment(raw)
        col = 0
        while True:
            stripped = body.lstrip()
            col += len(body) - len(stripped)
            body = stripped
            m = _LABEL_RE.match(body)
            if not m:
                break
            name = m.group(1)
            if name in labels:
                raise AsmError(f"label {name!r} defined twice", line=lineno, column=col + 1, file=file)
            labels[name] = pc
            col += m.end()
            body = body[m.end():]
        body = body.rstrip()
        if not body:
            continue
        ln = _Line(lineno, body, col, file)
        mn = body.split(None, 1)[0].lower()
        size = 2 if mn == "lddw" else 1
        lines.append((ln, pc))
        pc += size
    out: list[Insn] = []
    for ln, at in lines:
        insns = _assemble_one(ln, at, labels)
        out.extend(insns)
    return out


def assemble_bytes(text: str, *, file: str | None = None) -> bytes:
    return encode(assemble(text, file=file))


def _target(tok: str, ln: _Line, pc: int, labels: dict[str, int], bits: int = 16) -> int:
    t = tok.strip()
    if t and (t[0] in "+-" or t[0].isdigit()):
        lim = (1 << (bits - 1))
        return parse_int(t, ln, -lim, lim - 1, f"a {bits}-bit jump offset")
    if t in labels:
        d = labels[t] - (pc + 1)
        lim = (1 << (bits - 1))
        if not -lim <= d < lim:
            raise ln.err(f"label {t!r} is {d} instructions away, too far for a {bits}-bit offset", ln.col_of(t))
        return d
    raise ln.err(f"unknown label {t!r}", ln.col_of(t))


def _assemble_one(ln: _Line, pc: int, labels: dict[str, int]) -> list[Insn]:
    parts = ln.text.split(None, 1)
    mn = parts[0].lower()
    rest = parts[1] if len(parts) > 1 else ""

    if mn == ".insn":
        ops = _ops(rest, ln, 5, ".insn")
        code = parse_int(ops[0], ln, 0, 255, "an opcode byte")
        dst = parse_int(ops[1], ln, 0, 15, "a register number")
        src = parse_int(ops[2], ln, 0, 15, "a register number")
        off = parse_int(ops[3], ln, -0x8000, 0xFFFF, "a 16-bit offset")
        imm = _imm32(ops[4], ln)
        return [Insn(code, dst, src, off - 0x10000 if off >= 0x8000 else off, imm)]
    if mn == "exit":
        _ops(rest, ln, 0, mn)
        return [Insn(isa.BPF_JMP | isa.BPF_EXIT)]
    if mn == "call":
        words = rest.split()
        if words and words[0].lower() == "local":
            if len(words) != 2:
                raise ln.err("call local takes one label or offset")
            return [Insn(isa.BPF_JMP | isa.BPF_CALL, src=isa.BPF_PSEUDO_CALL,
                         imm=_target(words[1], ln, pc, labels, bits=32))]
        ops = _ops(rest, ln, 1, mn)
        hid = _helper_by_name(ops[0])
        if hid is not None:  # call bpf_map_lookup_elem (as the kernel's log prints it, with or without #1)
            return [Insn(isa.BPF_JMP | isa.BPF_CALL, imm=hid)]
        return [Insn(isa.BPF_JMP | isa.BPF_CALL, imm=parse_int(ops[0], ln, 0, (1 << 31) - 1, "a helper id or name"))]
    if mn == "lock":
        words = rest.split(None)
        opw = []
        while words and not words[0].startswith("["):
            opw.append(words.pop(0).lower())
        operands = " ".join(words)
        name = " ".join(opw)
        is32 = name.endswith("32")
        base = name[:-2] if is32 else name
        size = isa.BPF_W if is32 else isa.BPF_DW
        if base in _ATOMIC:
            aop = _ATOMIC[base]
        elif base.startswith("fetch ") and base[6:] in _ATOMIC:
            aop = _ATOMIC[base[6:]] | isa.BPF_FETCH
        elif base == "xchg":
            aop = isa.BPF_XCHG
        elif base == "cmpxchg":
            aop = isa.BPF_CMPXCHG
        else:
            raise ln.err(f"unknown atomic operation {name!r} (add, or, and, xor, fetch <op>, xchg, cmpxchg)")
        ops = _ops(operands, ln, 2, "lock " + name)
        dst, off = _mem(ops[0], ln)
        return [Insn(isa.BPF_STX | isa.BPF_ATOMIC | size, dst, _reg(ops[1], ln), off, aop)]
    if mn == "lddw":
        m = re.fullmatch(r"\s*(%?r\d+)\s*,\s*([a-z_]+)\(\s*([^,)]+?)\s*(?:,\s*([^)]+?)\s*)?\)\s*", rest)
        if m and m.group(2) in _PSEUDO:
            src = _PSEUDO[m.group(2)]
            dst = _reg(m.group(1), ln)
            if src == isa.BPF_PSEUDO_FUNC:
                first = _target(m.group(3), ln, pc, labels, bits=32)
            else:
                first = parse_int(m.group(3), ln, 0, (1 << 31) - 1, f"a {m.group(2)} number")
            second = 0
            if src in (isa.BPF_PSEUDO_MAP_VALUE, isa.BPF_PSEUDO_MAP_IDX_VALUE):
                if m.group(4) is None:
                    raise ln.err(f"{m.group(2)} takes a map and an offset: {m.group(2)}(map, offset)")
                second = parse_int(m.group(4), ln, 0, (1 << 31) - 1, "a value offset")
            elif m.group(4) is not None:
                raise ln.err(f"{m.group(2)} takes one number")
            return [Insn(isa.LDDW, dst, src, 0, first), Insn(0, 0, 0, 0, second)]
        ops = _ops(rest, ln, 2, mn)
        dst = _reg(ops[0], ln)
        v = parse_int(ops[1], ln, -(1 << 63), (1 << 64) - 1, "a 64-bit immediate") & ((1 << 64) - 1)
        lo, hi = v & 0xFFFFFFFF, v >> 32
        s = lambda x: x - (1 << 32) if x >= (1 << 31) else x  # noqa: E731
        return [Insn(isa.LDDW, dst, 0, 0, s(lo)), Insn(0, 0, 0, 0, s(hi))]
    if mn in ("ja", "gotol"):
        ops = _ops(rest, ln, 1, mn)
        if mn == "ja":
            return [Insn(isa.BPF_JMP | isa.BPF_JA, off=_target(ops[0], ln, pc, labels))]
        return [Insn(isa.BPF_JMP32 | isa.BPF_JA, imm=_target(ops[0], ln, pc, labels, bits=32))]
    base32 = mn.endswith("32") and mn[:-2] in _JMP
    if mn in _JMP or base32:
        op = _JMP[mn[:-2] if base32 else mn]
        cls = isa.BPF_JMP32 if base32 else isa.BPF_JMP
        ops = _ops(rest, ln, 3, mn)
        dst = _reg(ops[0], ln)
        off = _target(ops[2], ln, pc, labels)
        if _is_reg(ops[1]):
            return [Insn(cls | op | isa.BPF_X, dst, _reg(ops[1], ln), off)]
        return [Insn(cls | op | isa.BPF_K, dst, 0, off, _imm32(ops[1], ln))]
    m = re.fullmatch(r"(le|be|bswap)(16|32|64)", mn)
    if m:
        ops = _ops(rest, ln, 1, mn)
        kind, width = m.group(1), int(m.group(2))
        code = {"le": isa.BPF_ALU | isa.BPF_END | isa.BPF_TO_LE, "be": isa.BPF_ALU | isa.BPF_END | isa.BPF_TO_BE,
                "bswap": isa.BPF_ALU64 | isa.BPF_END}[kind]
        return [Insn(code, _reg(ops[0], ln), imm=width)]
    m = re.fullmatch(r"ldx(s?)(b|h|w|dw)", mn)
    if m:
        ops = _ops(rest, ln, 2, mn)
        if m.group(1) and m.group(2) == "dw":
            raise ln.err("there is no sign-extending 64-bit load (ldxsdw)")
        mode = isa.BPF_MEMSX if m.group(1) else isa.BPF_MEM
        src, off = _mem(ops[1], ln)
        return [Insn(isa.BPF_LDX | mode | _SIZES[m.group(2)], _reg(ops[0], ln), src, off)]
    m = re.fullmatch(r"st(x?)(b|h|w|dw)", mn)
    if m:
        ops = _ops(rest, ln, 2, mn)
        dst, off = _mem(ops[0], ln)
        if m.group(1):
            return [Insn(isa.BPF_STX | isa.BPF_MEM | _SIZES[m.group(2)], dst, _reg(ops[1], ln), off)]
        return [Insn(isa.BPF_ST | isa.BPF_MEM | _SIZES[m.group(2)], dst, 0, off, _imm32(ops[1], ln))]
    m = re.fullmatch(r"ld(abs|ind)(b|h|w|dw)", mn)
    if m:
        if m.group(1) == "abs":
            ops = _ops(rest, ln, 1, mn)
            return [Insn(isa.BPF_LD | isa.BPF_ABS | _SIZES[m.group(2)], imm=_imm32(ops[0], ln))]
        ops = _ops(rest, ln, 2, mn)
        return [Insn(isa.BPF_LD | isa.BPF_IND | _SIZES[m.group(2)], 0, _reg(ops[0], ln), 0, _imm32(ops[1], ln))]
    m = re.fullmatch(r"movsx(8|16|32)(32)?", mn)
    if m:
        width, is32 = int(m.group(1)), bool(m.group(2))
        if is32 and width == 32:
            raise ln.err("movsx3232 does not exist (32-bit movsx takes 8 or 16)")
        ops = _ops(rest, ln, 2, mn)
        cls = isa.BPF_ALU if is32 else isa.BPF_ALU64
        return [Insn(cls | isa.BPF_MOV | isa.BPF_X, _reg(ops[0], ln), _reg(ops[1], ln), width)]
    m = re.fullmatch(r"(neg)(32)?", mn)
    if m:
        ops = _ops(rest, ln, 1, mn)
        cls = isa.BPF_ALU if m.group(2) else isa.BPF_ALU64
        return [Insn(cls | isa.BPF_NEG, _reg(ops[0], ln))]
    m = re.fullmatch(r"([a-z]+?)(32|64)?", mn)
    if m and (m.group(1) in _ALU or m.group(1) in _SIGNED):
        name = m.group(1)
        cls = isa.BPF_ALU if m.group(2) == "32" else isa.BPF_ALU64
        op = _ALU.get(name, _SIGNED.get(name))
        off = 1 if name in _SIGNED else 0
        ops = _ops(rest, ln, 2, mn)
        dst = _reg(ops[0], ln)
        if _is_reg(ops[1]):
            return [Insn(cls | op | isa.BPF_X, dst, _reg(ops[1], ln), off)]
        return [Insn(cls | op | isa.BPF_K, dst, 0, off, _imm32(ops[1], ln))]
    raise ln.err(f"unknown mnemonic {parts[0]!r}")
