"""Classic BPF assembly in the style of the kernel's bpf_asm, with seccomp-tools' conveniences.

::

    .arch x86_64                     ; names below resolve for this arch (default x86_64)
        ld arch                      ; = ld [4]   (also: ld nr, ld ip, ld ip.hi, ld args[2], ld args[2].hi)
        jeq #AUDIT_ARCH_X86_64, 1, 0 ; jt, jf: relative skips or labels; jf may be omitted (0)
        ret KILL_PROCESS
        ld [0]
        jge #0x40000000, kill        ; x32 guard
        jeq #execve, kill, allow     ; syscall names resolve to numbers
    allow:
        ret ALLOW                    ; or ret #0x7fff0000, ret ERRNO(1), ret TRAP(3), ret a
    kill:
        ret KILL

Also: ``ld #k``, ``ld len``, ``ld M[k]``, ``ldh/ldb [k]``, ``ld/ldh/ldb [x+k]``,
``ldx #k``, ``ldx len``, ``ldx M[k]``, ``ldxb 4*([k]&0xf)``, ``st/stx M[k]``,
``add/sub/mul/div/mod/and/or/xor/lsh/rsh #k|x``, ``neg``, ``tax``, ``txa``,
``ja``/``jmp``, ``jeq/jgt/jge/jset #k|x, jt[, jf]`` and the inverted forms
``jne/jneq``, ``jlt``, ``jle`` (jt and jf swapped), ``.insn code, jt, jf, k``.
Comments start with ``;`` or ``//`` (or a line starting with ``# ``), a leading ``NNNN:`` pc is
ignored (so the disassembler's listing assembles back).

seccomp-tools' C-like statements are accepted too, line by line, and mix with the above:
``A = arch``, ``A = sys_number``, ``A = args[2]``, ``A = args[0] >> 32``, ``A = data[16]``,
``A = mem[1]``, ``A = X``, ``X = A``, ``mem[1] = A``, ``A &= 0x3`` (any of ``+ - * / % & | ^ << >>``),
``A = -A``, ``if (A != ARCH_X86_64) goto dead``, ``if (A == execve) goto 0011 else goto 0004``,
``if !(A & 2) goto ok``, ``goto L``, ``return ERRNO(1)``, ``return A``.  A number after ``goto``
is an absolute line, as the listing of ``lwnlab seccomp disasm --c`` prints it, and that listing
(columns and all) assembles back.
"""

from __future__ import annotations

import re

from lwnlab.bpf import isa
from lwnlab.bpf.classic import CInsn
from lwnlab.errors import AsmError

_ALU = {"add": isa.BPF_ADD, "sub": isa.BPF_SUB, "mul": isa.BPF_MUL, "div": isa.BPF_DIV, "mod": isa.BPF_MOD,
        "and": isa.BPF_AND, "or": isa.BPF_OR, "xor": isa.BPF_XOR, "lsh": isa.BPF_LSH, "rsh": isa.BPF_RSH}
_JMP = {"jeq": isa.BPF_JEQ, "jgt": isa.BPF_JGT, "jge": isa.BPF_JGE, "jset": isa.BPF_JSET}
_JMP_INV = {"jne": isa.BPF_JEQ, "jneq": isa.BPF_JEQ, "jlt": isa.BPF_JGE, "jle": isa.BPF_JGT}
_LABEL = re.compile(r"^([A-Za-z_.$][\w.$]*)\s*:(?!\S)")
_PCNUM = re.compile(r"^\d+\s*:\s*")


class _Ctx:
    def __init__(self, arch: str, file: str | None):
        from lwnlab.seccomp.syscalls import get_arch

        self.arch = get_arch(arch)
        self.file = file


def _err(msg: str, lineno: int, col: int, file: str | None) -> AsmError:
    return AsmError(msg, line=lineno, column=col + 1, file=file)


def _value(tok: str, ctx: _Ctx, lineno: int, col: int) -> int:
    """A 32-bit constant: number, syscall name, AUDIT_ARCH_* name, or seccomp action."""
    from lwnlab.seccomp import syscalls
    from lwnlab.seccomp.actions import parse_action

    t = tok.strip().lstrip("#").strip()
    try:
        v = int(t, 0)
    except ValueError:
        pass
    else:
        if not -(1 << 31) <= v < (1 << 32):
            raise _err(f"constant {t} does not fit in 32 bits", lineno, col, ctx.file)
        return v & 0xFFFFFFFF
    if t.upper() in syscalls.AUDIT_ARCH_VALUES:
        return syscalls.AUDIT_ARCH_VALUES[t.upper()]
    if "AUDIT_" + t.upper() in syscalls.AUDIT_ARCH_VALUES:  # seccomp-tools writes ARCH_X86_64
        return syscalls.AUDIT_ARCH_VALUES["AUDIT_" + t.upper()]
    tbl = syscalls.table(ctx.arch.name)
    if t in tbl:
        return tbl[t] & 0xFFFFFFFF
    m = re.fullmatch(r"([\w-]+):(\w+)", t)  # another ABI's number, as the notes print it: x32:read
    if m and m.group(1).lower() in syscalls.ARCHES and m.group(2) in syscalls.table(m.group(1).lower()):
        return syscalls.table(m.group(1).lower())[m.group(2)] & 0xFFFFFFFF
    try:
        return parse_action(t)
    except Exception:  # noqa: BLE001 - fall through to a clear error
        pass
    raise _err(f"unknown constant {t!r}: not a number, a syscall of {ctx.arch.name}, an AUDIT_ARCH_* name "
               "or a seccomp action", lineno, col, ctx.file)


def _field_offset(t: str, ctx: _Ctx) -> int | None:
    from lwnlab.seccomp.data import arg_offset, ip_offset

    t = t.strip().lower().replace(" ", "")
    if t == "nr":
        return 0
    if t == "arch":
        return 4
    m = re.fullmatch(r"(ip|instruction_pointer)(\.hi|\.lo)?", t)
    if m:
        return ip_offset(m.group(2) == ".hi", ctx.arch.big_endian)
    m = re.fullmatch(r"args?\[(\d)\](\.hi|\.lo)?", t)
    if m and int(m.group(1)) < 6:
        return arg_offset(int(m.group(1)), m.group(2) == ".hi", ctx.arch.big_endian)
    return None


def assemble(text: str, *, arch: str = "x86_64", file: str | None = None) -> list[CInsn]:
    """Assemble to a list of struct sock_filter (raises AsmError with line and column)."""
    ctx = _Ctx(arch, file)
    rows = []
    labels: dict[str, int] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(";", 1)[0].split("//", 1)[0]
        head = line.lstrip()
        if head.startswith("#!") or head == "#" or head.startswith("# "):
            continue  # a whole-line comment (``#`` is otherwise the immediate prefix)
        if _LISTING_HEAD.fullmatch(head.rstrip()):
            continue  # the header of a ``seccomp disasm --c`` / seccomp-tools listing
        col = len(line) - len(line.lstrip())
        body = line.strip()
        m = _PCNUM.match(body)
        if m:
            body = body[m.end():]
            col += m.end()
        while True:
            m = _LABEL.match(body)
            if not m:
                break
            name = m.group(1)
            if name in labels:
                raise _err(f"label {name!r} defined twice", lineno, col, file)
            labels[name] = len(rows)
            body = body[m.end():].lstrip()
            col += m.end()
        if not body:
            continue
        c_form = _c_like_to_asm(body, len(rows), lineno, col, file)
        if c_form is not None:  # seccomp-tools' C-like statements (and its disasm listing's columns)
            body = c_form
        if body.lower().startswith(".arch"):
            parts = body.split()
            if len(parts) != 2:
                raise _err(".arch takes one architecture name", lineno, col, file)
            try:
                ctx = _Ctx(parts[1], file)
            except Exception as e:  # UsageError from get_arch
                raise _err(str(getattr(e, "message", e)), lineno, col, file) from None
            continue
        rows.append((lineno, col, body, ctx))
    return [_one(body, lineno, col, pc, labels, c) for pc, (lineno, col, body, c) in enumerate(rows)]


_LISTING_HEAD = re.compile(r"line\s+CODE\s+JT\s+JF\s+K|=+")
_COLUMNS = re.compile(r"^0x[0-9a-fA-F]{2,4}\s+0x[0-9a-fA-F]{2}\s+0x[0-9a-fA-F]{2}\s+0x[0-9a-fA-F]{8}\s+")
_C_ALU = {"+": "add", "-": "sub", "*": "mul", "/": "div", "%": "mod", "&": "and", "|": "or", "^": "xor",
          "<<": "lsh", ">>": "rsh"}
_C_CMP = {"==": "jeq", "!=": "jne", ">": "jgt", ">=": "jge", "<": "jlt", "<=": "jle", "&": "jset"}
_C_IF = re.compile(r"if\s*(!?)\s*\(\s*A\s*(==|!=|>=|<=|>|<|&)\s*(.+?)\s*\)\s*goto\s+(\S+)"
                   r"(?:\s+else\s+goto\s+(\S+))?")


def _c_like_to_asm(body: str, pc: int, lineno: int, col: int, file) -> str | None:
    """One statement of seccomp-tools' C-like syntax (``A = arch``, ``if (A != ARCH_X86_64) goto 0010``,
    ``A &= 0x3``, ``mem[0] = A``, ``goto dead``, ``return ERRNO(1)``) as bpf_asm text; None if the line is
    not in that syntax.  ``goto NNNN`` names an absolute line (as the disassembler prints), a word a label.
    The columns of a ``seccomp disasm --c`` listing (``0x20 0x00 0x00 0x00000004``) are skipped."""
    m = _COLUMNS.match(body)
    had_columns = m is not None
    if m:
        body = body[m.end():]
    b = body.strip()

    def target(t: str) -> str:
        if re.fullmatch(r"\d+", t):
            rel = int(t, 10) - pc - 1
            if rel < 0:
                raise _err(f"goto {t} from line {pc:04d} jumps backwards; classic BPF jumps only forward",
                           lineno, col, file)
            return str(rel)
        return t

    def operand(v: str) -> str:
        v = v.strip()
        return "x" if v in ("X", "x") else "#" + v

    m = re.fullmatch(r"A\s*=\s*(.+)", b)
    if m:
        rhs = m.group(1).strip()
        mm = re.fullmatch(r"args\[(\d)\]\s*>>\s*32", rhs)
        if rhs == "-A":
            return "neg"
        if rhs in ("X", "x"):
            return "txa"
        if mm:
            return f"ld args[{mm.group(1)}].hi"
        mm = re.fullmatch(r"(?:mem|M)\[(.+)\]", rhs)
        if mm:
            return f"ld M[{mm.group(1)}]"
        mm = re.fullmatch(r"(?:data)?\[(.+)\]", rhs)
        if mm:
            return f"ld [{mm.group(1)}]"
        if rhs == "sys_number":
            return "ld nr"
        if rhs in ("len", "sizeof(struct seccomp_data)"):
            return "ld len"
        if re.fullmatch(r"(nr|arch|ip|instruction_pointer|args?\[\d\])(\.hi|\.lo)?", rhs):
            return f"ld {rhs}"
        return f"ld #{rhs}"
    m = re.fullmatch(r"X\s*=\s*(.+)", b)
    if m:
        rhs = m.group(1).strip()
        mm = re.fullmatch(r"(?:mem|M)\[(.+)\]", rhs)
        if rhs == "A":
            return "tax"
        if mm:
            return f"ldx M[{mm.group(1)}]"
        if rhs in ("len", "sizeof(struct seccomp_data)"):
            return "ldx len"
        return f"ldx #{rhs}"
    m = re.fullmatch(r"(?:mem|M)\[(.+)\]\s*=\s*([AX])", b)
    if m:
        return f"{'st' if m.group(2) == 'A' else 'stx'} M[{m.group(1)}]"
    m = re.fullmatch(r"A\s*(<<|>>|[-+*/%&|^])=\s*(.+)", b)
    if m:
        return f"{_C_ALU[m.group(1)]} {operand(m.group(2))}"
    m = _C_IF.fullmatch(b)
    if m:
        neg, op, val, t1, t2 = m.groups()
        if neg and op != "&":
            raise _err("only !(A & k) is negated in this syntax; write the opposite comparison", lineno, col, file)
        t1, t2 = target(t1), target(t2) if t2 else "0"
        if neg:  # if !(A & k) goto t1 else goto t2
            return f"jset {operand(val)}, {t2}, {t1}"
        return f"{_C_CMP[op]} {operand(val)}, {t1}, {t2}"  # jne/jlt/jle also take (when true, when false)
    m = re.fullmatch(r"goto\s+(\S+)", b)
    if m:
        return f"ja {target(m.group(1))}"
    m = re.fullmatch(r"return\s+(.+)", b)
    if m:
        v = m.group(1).strip()
        return "ret a" if v == "A" else f"ret {v}"
    return b if had_columns else None  # a listing line whose text is plain bpf_asm ("and #3")


def _target(tok: str, pc: int, labels: dict[str, int], lineno: int, col: int, file, limit: int) -> int:
    t = tok.strip()
    if re.fullmatch(r"\+?\d+|0x[0-9a-fA-F]+", t):
        v = int(t, 0)
    elif t in labels:
        v = labels[t] - pc - 1
        if v < 0:
            raise _err(f"label {t!r} is backwards; classic BPF jumps only forward", lineno, col, file)
    else:
        raise _err(f"unknown label {t!r}" if re.fullmatch(r"[A-Za-z_.$][\w.$]*", t) else
                   f"expected a forward offset or a label, got {t!r}", lineno, col, file)
    if v > limit:
        raise _err(f"jump offset {v} does not fit (max {limit})", lineno, col, file)
    return v


def _one(body: str, lineno: int, col: int, pc: int, labels: dict[str, int], ctx: _Ctx) -> CInsn:
    file = ctx.file
    parts = body.split(None, 1)
    mn = parts[0].lower()
    rest = parts[1].strip() if len(parts) > 1 else ""
    ops = [o.strip() for o in rest.split(",")] if rest else []
    col_ops = col + len(parts[0]) + 1

    def need(n: int | tuple):
        ok = len(ops) in (n if isinstance(n, tuple) else (n,))
        if not ok:
            raise _err(f"{mn} takes {n if isinstance(n, int) else ' or '.join(map(str, n))} operand(s), got "
                       f"{len(ops)}", lineno, col, file)

    if mn == ".insn":
        need(4)
        vals = []
        for o, lim in zip(ops, (0xFFFF, 0xFF, 0xFF, 0xFFFFFFFF)):
            try:
                v = int(o, 0)
            except ValueError:
                raise _err(f"expected a number, got {o!r}", lineno, col_ops, file) from None
            if not 0 <= v <= lim:
                raise _err(f"{o} out of range [0, {lim:#x}]", lineno, col_ops, file)
            vals.append(v)
        return CInsn(*vals)
    if mn in ("ld", "ldh", "ldb", "ldx", "ldxb", "ldi", "ldxi"):
        need(1)
        o = ops[0].replace(" ", "")
        size = {"ld": isa.BPF_W, "ldi": isa.BPF_W, "ldh": isa.BPF_H, "ldb": isa.BPF_B, "ldx": isa.BPF_W,
                "ldxi": isa.BPF_W, "ldxb": isa.BPF_B}[mn]
        is_x = mn.startswith("ldx")
        cls = isa.BPF_LDX if is_x else isa.BPF_LD
        m = re.fullmatch(r"4\*\(\[(.+)\]&0xf\)", o)
        if m:
            if mn not in ("ldx", "ldxb"):
                raise _err("4*([k]&0xf) is only for ldx", lineno, col_ops, file)
            return CInsn(isa.BPF_LDX | isa.BPF_B | isa.BPF_MSH, 0, 0, _value(m.group(1), ctx, lineno, col_ops))
        if o.lower() in ("#len", "len", "#pktlen"):
            return CInsn(cls | isa.BPF_W | isa.BPF_LEN)
        m = re.fullmatch(r"[Mm]\[(.+)\]", o)
        if m:
            if mn not in ("ld", "ldx"):
                raise _err(f"{mn} cannot load scratch memory", lineno, col_ops, file)
            return CInsn(cls | isa.BPF_MEM, 0, 0, _value(m.group(1), ctx, lineno, col_ops))
        m = re.fullmatch(r"\[(?:%?x|X)\+(.+)\]", o)
        if m and not is_x:
            return CInsn(isa.BPF_LD | size | isa.BPF_IND, 0, 0, _value(m.group(1), ctx, lineno, col_ops))
        m = re.fullmatch(r"\[(.+)\]", o)
        if m and not is_x:
            return CInsn(isa.BPF_LD | size | isa.BPF_ABS, 0, 0, _value(m.group(1), ctx, lineno, col_ops))
        if o.startswith("#"):
            return CInsn(cls | isa.BPF_IMM, 0, 0, _value(o, ctx, lineno, col_ops))
        off = _field_offset(o, ctx)
        if off is not None and mn == "ld":
            return CInsn(isa.BPF_LD | isa.BPF_W | isa.BPF_ABS, 0, 0, off)
        if mn in ("ldi", "ldxi"):
            return CInsn(cls | isa.BPF_IMM, 0, 0, _value(o, ctx, lineno, col_ops))
        raise _err(f"cannot parse operand {ops[0]!r} of {mn} (ld [k], ld nr, ld args[i], ld #k, ld M[k], ld len...)",
                   lineno, col_ops, file)
    if mn in ("st", "stx"):
        need(1)
        m = re.fullmatch(r"[Mm]\[(.+)\]", ops[0].replace(" ", ""))
        if not m:
            raise _err(f"{mn} takes M[k]", lineno, col_ops, file)
        return CInsn(isa.BPF_ST if mn == "st" else isa.BPF_STX, 0, 0, _value(m.group(1), ctx, lineno, col_ops))
    if mn in _ALU:
        need(1)
        o = ops[0]
        if o.lower() in ("x", "%x"):
            return CInsn(isa.BPF_ALU | _ALU[mn] | isa.BPF_X)
        return CInsn(isa.BPF_ALU | _ALU[mn] | isa.BPF_K, 0, 0, _value(o, ctx, lineno, col_ops))
    if mn == "neg":
        need(0)
        return CInsn(isa.BPF_ALU | isa.BPF_NEG)
    if mn in ("tax", "txa"):
        need(0)
        return CInsn(isa.BPF_MISC | (isa.BPF_TAX if mn == "tax" else isa.BPF_TXA))
    if mn in ("ja", "jmp"):
        need(1)
        return CInsn(isa.BPF_JMP | isa.BPF_JA, 0, 0, _target(ops[0], pc, labels, lineno, col_ops, file, 0xFFFFFFFF))
    if mn in _JMP or mn in _JMP_INV:
        need((2, 3))
        op = _JMP.get(mn, _JMP_INV.get(mn))
        src = isa.BPF_X if ops[0].lower() in ("x", "%x") else isa.BPF_K
        k = 0 if src == isa.BPF_X else _value(ops[0], ctx, lineno, col_ops)
        t1 = _target(ops[1], pc, labels, lineno, col_ops, file, 255)
        t2 = _target(ops[2], pc, labels, lineno, col_ops, file, 255) if len(ops) == 3 else 0
        jt, jf = (t2, t1) if mn in _JMP_INV else (t1, t2)
        return CInsn(isa.BPF_JMP | op | src, jt, jf, k)
    if mn == "ret":
        need(1)
        o = ops[0]
        if o.lower() in ("a", "%a"):
            return CInsn(isa.BPF_RET | isa.BPF_A)
        return CInsn(isa.BPF_RET | isa.BPF_K, 0, 0, _value(o, ctx, lineno, col_ops))
    raise _err(f"unknown mnemonic {parts[0]!r}", lineno, col, file)


# --------------------------------------------------------------------------- disassembler


def _k(v: int) -> str:
    return f"#{v:#x}" if v > 9 else f"#{v}"


def disasm_one(x: CInsn) -> str:
    """One instruction in the assembler's syntax (numeric operands; round-trips)."""
    c, k = x.code, x.k
    cls = c & 7
    if c not in isa.CLASSIC_OPCODES and c != isa.SECCOMP_LD_ABS:
        return f".insn {c:#06x}, {x.jt}, {x.jf}, {k:#x}"
    if c == isa.SECCOMP_LD_ABS:
        return f".insn {c:#06x}, {x.jt}, {x.jf}, {k:#x}"
    mn = isa.CLASSIC_OPCODES[c]
    if x.jt or x.jf:
        if c & 7 != isa.BPF_JMP or c == isa.BPF_JMP | isa.BPF_JA:
            return f".insn {c:#06x}, {x.jt}, {x.jf}, {k:#x}"
    if cls in (isa.BPF_LD, isa.BPF_LDX):
        mode = c & 0xE0
        if mode == isa.BPF_ABS:
            return f"{mn} [{k}]"
        if mode == isa.BPF_IND:
            return f"{mn} [x+{k}]"
        if mode == isa.BPF_LEN:
            return f"{mn} len" if not k else f".insn {c:#06x}, 0, 0, {k:#x}"
        if mode == isa.BPF_MEM:
            return f"{mn} M[{k}]"
        if mode == isa.BPF_MSH:
            return f"ldx 4*([{k}]&0xf)"
        return f"{mn} {_k(k)}"
    if cls in (isa.BPF_ST, isa.BPF_STX):
        return f"{mn} M[{k}]"
    if cls == isa.BPF_ALU:
        if c == isa.BPF_ALU | isa.BPF_NEG:
            return "neg" if not k else f".insn {c:#06x}, 0, 0, {k:#x}"
        if c & isa.BPF_X:
            return f"{mn} x" if not k else f".insn {c:#06x}, 0, 0, {k:#x}"
        return f"{mn} {_k(k)}"
    if cls == isa.BPF_JMP:
        if c == isa.BPF_JMP | isa.BPF_JA:
            return f"ja {k}"
        if c & isa.BPF_X:
            return f"{mn} x, {x.jt}, {x.jf}" if not k else f".insn {c:#06x}, {x.jt}, {x.jf}, {k:#x}"
        return f"{mn} {_k(k)}, {x.jt}, {x.jf}"
    if cls == isa.BPF_RET:
        if c == isa.BPF_RET | isa.BPF_A:
            return "ret a" if not k else f".insn {c:#06x}, 0, 0, {k:#x}"
        return f"ret {_k(k)}"
    if cls == isa.BPF_MISC:
        return mn if not k else f".insn {c:#06x}, 0, 0, {k:#x}"
    return f".insn {c:#06x}, {x.jt}, {x.jf}, {k:#x}"  # pragma: no cover


def _annotate(insns: list[CInsn], arch: str) -> list[str]:
    """seccomp-tools-like notes: what A holds, syscall/arch/action names, jump targets."""
    from lwnlab.seccomp import syscalls
    from lwnlab.seccomp.actions import format_action
    from lwnlab.seccomp.data import describe_offset

    a = syscalls.get_arch(arch)
    n = len(insns)
    unset = object()
    src_in: list = [unset] * (n + 1)  # what A holds on entry to each pc (None: unknown / paths disagree)
    if n:
        src_in[0] = None

    def flow(to: int, value) -> None:
        if 0 <= to <= n:
            src_in[to] = value if src_in[to] is unset or src_in[to] == value else None

    notes = []
    for pc, x in enumerate(insns):
        c = x.code
        src = None if src_in[pc] is unset else src_in[pc]
        note = ""
        if c not in isa.CLASSIC_OPCODES and c != isa.SECCOMP_LD_ABS:
            notes.append("invalid opcode")
            flow(pc + 1, None)
            continue
        if c in (isa.BPF_LD | isa.BPF_W | isa.BPF_ABS, isa.SECCOMP_LD_ABS):
            src = describe_offset(x.k, a.big_endian)
            note = f"A = {src}"
        elif c & 7 == isa.BPF_JMP and c != isa.BPF_JMP | isa.BPF_JA:
            op = {0x10: "==", 0x20: ">", 0x30: ">=", 0x40: "&"}[c & 0xF0]
            if c & isa.BPF_X:
                val = "X"
            elif src == "nr" and c & 0xF0 == isa.BPF_JEQ:
                name = syscalls.syscall_name(a, x.k) if x.k < 0x80000000 else None
                if name is None and x.k & syscalls.X32_SYSCALL_BIT and a.name == "x86_64":
                    n32 = syscalls.syscall_name("x32", x.k)
                    name = f"x32:{n32}" if n32 else None
                val = name or f"{x.k:#x}"
            elif src == "arch":
                val = next((nm for nm, v in syscalls.AUDIT_ARCH_VALUES.items() if v == x.k), f"{x.k:#x}")
            else:
                val = f"{x.k:#x}"
            note = f"if (A {op} {val}) goto {pc + 1 + x.jt:04d} else goto {pc + 1 + x.jf:04d}"
            flow(pc + 1 + x.jt, src)
            flow(pc + 1 + x.jf, src)
            notes.append(note)
            continue
        elif c == isa.BPF_JMP | isa.BPF_JA:
            note = f"goto {pc + 1 + x.k:04d}"
            flow(pc + 1 + x.k, src)
            notes.append(note)
            continue
        elif c == isa.BPF_RET | isa.BPF_K:
            note = f"return {format_action(x.k)}"
        elif c == isa.BPF_RET | isa.BPF_A:
            note = "return A"
        elif c in (isa.BPF_LD | isa.BPF_MEM, isa.BPF_LD | isa.BPF_IMM, isa.BPF_MISC | isa.BPF_TXA,
                   isa.BPF_LD | isa.BPF_W | isa.BPF_LEN) or c & 7 in (isa.BPF_ALU, isa.BPF_LD):
            src = None
        notes.append(note)
        if c & 7 != isa.BPF_RET:
            flow(pc + 1, src)
    return notes


def disassemble(insns: list[CInsn], *, arch: str = "x86_64", pcs: bool = True, notes: bool = True) -> str:
    """A listing that assembles back to the same bytes: ``NNNN: insn ; note``."""
    ann = _annotate(insns, arch) if notes else [""] * len(insns)
    lines = [f".arch {arch}"] if arch != "x86_64" else []
    for pc, (x, note) in enumerate(zip(insns, ann)):
        text = disasm_one(x)
        prefix = f"{pc:04d}: " if pcs else ""
        lines.append(f"{prefix}{text:<28}" + (f" ; {note}" if note else "")
                     if note else f"{prefix}{text}")
    return "\n".join(lines) + "\n"


def c_like(insns: list[CInsn], *, arch: str = "x86_64") -> str:
    """seccomp-tools' C-like view: `` 0000: 0x20 0x00 0x00 0x00000004  A = arch``."""
    ann = _annotate(insns, arch)
    out = [" line  CODE  JT   JF      K", "================================="]
    for pc, (x, note) in enumerate(zip(insns, ann)):
        plain = disasm_one(x)
        text = note if note and not plain.startswith(".insn") else plain  # odd unused fields stay visible
        out.append(f" {pc:04d}: {x.code:#04x} {x.jt:#04x} {x.jf:#04x} {x.k:#010x}  {text}")
    return "\n".join(out) + "\n"
