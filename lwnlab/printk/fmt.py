"""printf formats as the kernel's vsprintf reads them, compiled to matchers.

:func:`parse` splits a format into literal pieces and conversions the way
``format_decode()`` in lib/vsprintf.c does: flags ``-+ #0``, width (digits or
``*``), precision (``.digits`` or ``.*``), qualifiers ``hh h l ll L z Z t j``
and the conversion ``d i o u x X c s p n %``.  After ``%p`` the kernel skips
*every* following alphanumeric character (``while (isalnum(*fmt)) fmt++``),
so ``%pI4`` is one conversion and so is ``%pMR``.

Each conversion gets the set of strings the kernel can print for it
(:data:`CONV_SPECS`), expressed once as a *program* of three operations that
both back-ends share:

* ``LIT`` text, ``RUN`` of a byte class between min and max times (greedy), and
  ``ANY`` (lazy, min..max bytes: ``%s``, ``%pV``, ``%pd``...);
* :meth:`Format.regex` writes the same program as a Python regex (for ``re``
  and for interegular's automata), and :mod:`lwnlab.printk.match` runs it in
  numba.

``%s``-like conversions are "free text": they can carry any word, which the
rule auditor must know (:attr:`Conv.free`).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np

# ----------------------------------------------------------------------------- byte classes


def _cls(chars: str = "", *, ranges=(), negate: str | None = None) -> np.ndarray:
    m = np.zeros(256, np.uint8)
    if negate is not None:
        m[:] = 1
        for c in negate.encode("latin-1"):
            m[c] = 0
        return m
    for c in chars.encode("latin-1"):
        m[c] = 1
    for a, b in ranges:
        m[ord(a):ord(b) + 1] = 1
    return m


#: name -> (regex character class, 256-byte membership)
CLASSES: dict[str, tuple[str, np.ndarray]] = {
    "digit": (r"[0-9]", _cls(ranges=[("0", "9")])),
    "hex": (r"[0-9a-f]", _cls(ranges=[("0", "9"), ("a", "f")])),
    "HEX": (r"[0-9A-F]", _cls(ranges=[("0", "9"), ("A", "F")])),
    "xdigit": (r"[0-9A-Fa-f]", _cls(ranges=[("0", "9"), ("a", "f"), ("A", "F")])),
    "oct": (r"[0-7]", _cls(ranges=[("0", "7")])),
    "space": (r"[ ]", _cls(" ")),
    "sign": (r"[-]", _cls("-")),
    "pmsign": (r"[-+ ]", _cls("-+ ")),
    "nonspace": (r"[^\s]", _cls(negate=" \t\n\r\v\f")),
    "ipv4": (r"[0-9.]", _cls(".", ranges=[("0", "9")])),
    "ipv6": (r"[0-9A-Fa-f:.]", _cls(":.", ranges=[("0", "9"), ("a", "f"), ("A", "F")])),
    "sockaddr": (r"[0-9A-Fa-f:.\[\]%/]", _cls(":.[]%/", ranges=[("0", "9"), ("a", "f"), ("A", "F")])),
    "mac": (r"[0-9A-Fa-f:-]", _cls(":-", ranges=[("0", "9"), ("a", "f"), ("A", "F")])),
    "uuid": (r"[0-9A-Fa-f-]", _cls("-", ranges=[("0", "9"), ("a", "f"), ("A", "F")])),
    "errname": (r"[-A-Z0-9_]", _cls("-_", ranges=[("A", "Z"), ("0", "9")])),
    # %p, %px, %pK, %pa: hashed or raw hex (8 or 16 digits, %pa with 0x), or the kernel's placeholders
    # "(____ptrval____)", "(ptrval)", "(null)", "(efault)": hex digits plus the letters of those words
    "ptr": (r"[0-9a-f()_ptrvlnux]", _cls("()_ptrvlnux", ranges=[("0", "9"), ("a", "f")])),
    "resource": (r"[^\]\n]", _cls(negate="]\n")),
    "bitmap": (r"[0-9a-f,-]", _cls(",-", ranges=[("0", "9"), ("a", "f")])),
    "hexdump": (r"[0-9a-f :-]", _cls(" :-", ranges=[("0", "9"), ("a", "f")])),
    "time": (r"[0-9: T.-]", _cls(": T.-", ranges=[("0", "9")])),
    "flags": (r"[A-Za-z0-9_|()x]", _cls("_|()x", ranges=[("A", "Z"), ("a", "z"), ("0", "9")])),
    "any": (r"[\s\S]", _cls(negate="")),
}
CLASS_IDS = {name: i for i, name in enumerate(CLASSES)}
CLASS_TABLE = np.stack([m for _, m in CLASSES.values()]).astype(np.uint8)

INF = 1 << 20

# program ops
OP_LIT, OP_RUN, OP_ANY, OP_OPT = 0, 1, 2, 3  # OPT: an optional literal (the "0x" of %#x)


@dataclass(frozen=True)
class Conv:
    """One conversion specification, e.g. ``%-08.3lx`` or ``%pI4``."""

    text: str  # as written
    flags: str
    width: int | None  # -1 for '*'
    precision: int | None  # -1 for '.*'
    qualifier: str
    conv: str  # d i o u x X c s p n %
    ext: str = ""  # letters after %p

    @property
    def free(self) -> bool:
        """True when the conversion can print arbitrary text (any word a rule may look for)."""
        if self.conv == "s":
            return True
        if self.conv == "p":
            e = self.ext[:1]
            return e in ("V", "d", "D", "A") or self.ext.startswith("4cc")
        return False

    def program(self) -> list[tuple]:
        """The strings this conversion may print, as ops (see module doc)."""
        c, f = self.conv, self.flags
        pad = self.width is not None and self.width != 0
        pre = [(OP_RUN, "space", 0, INF)] if pad and "-" not in f else []
        post = [(OP_RUN, "space", 0, INF)] if pad and "-" in f else []
        if c in "di":
            sign = "pmsign" if ("+" in f or " " in f) else "sign"
            return pre + [(OP_RUN, sign, 0, 1), (OP_RUN, "digit", 1, INF)] + post
        if c == "u":
            return pre + [(OP_RUN, "digit", 1, INF)] + post
        if c in "xX":
            cls = "hex" if c == "x" else "HEX"
            body = [(OP_RUN, cls, 1, INF)]
            if "#" in f:  # "0x" prefix (none for zero): an optional literal
                return pre + [(OP_OPT, "0x")] + body + post
            return pre + body + post
        if c == "o":
            return pre + [(OP_RUN, "oct", 1, INF)] + post
        if c == "c":
            return pre + [(OP_RUN, "any", 1, 1)] + post
        if c == "s":
            hi = INF if self.precision is None or self.precision < 0 else self.precision
            return [(OP_ANY, 0, hi)]
        if c == "p":
            return self._pointer()
        return [(OP_ANY, 0, INF)]  # %n and the like print nothing sensible: be permissive

    def _pointer(self) -> list[tuple]:
        e = self.ext
        k = e[:1]
        if k in ("V", "d", "D", "A") or e.startswith("4cc"):
            return [(OP_ANY, 0, INF)]
        if k in ("S", "s", "B", "F", "f"):  # symbol+0xoff/0xsize [module], or a raw address
            return [(OP_ANY, 1, INF)]
        if k in ("x", "K", "a", "N") or k == "":
            return [(OP_RUN, "ptr", 6, 18)]
        if k in ("M", "m"):
            return [(OP_RUN, "mac", 12, 17)]
        if k in ("I", "i"):
            if e[1:2] == "4":
                return [(OP_RUN, "ipv4", 7, 15)]
            if e[1:2] == "6":
                return [(OP_RUN, "ipv6", 2, 39)]
            return [(OP_RUN, "sockaddr", 2, 64)]
        if k == "U":
            return [(OP_RUN, "uuid", 36, 36)]
        if k == "e":
            return [(OP_RUN, "errname", 1, 32)]
        if k in ("R", "r"):
            return [(OP_LIT, "["), (OP_RUN, "resource", 0, INF), (OP_LIT, "]")]
        if k == "b":
            return [(OP_RUN, "bitmap", 0, INF)]
        if k == "h":
            return [(OP_RUN, "hexdump", 0, INF)]
        if k == "t":
            return [(OP_RUN, "time", 1, 64)]
        if k in ("O", "g", "C"):
            return [(OP_RUN, "nonspace", 1, INF)]
        if k == "G":
            return [(OP_RUN, "flags", 0, INF)]
        return [(OP_RUN, "ptr", 1, INF)]



_CONV_RE = re.compile(rb"%([-+ #0]*)(\*|[0-9]+)?(?:\.(\*|[0-9]*))?(hh|h|ll|l|L|z|Z|t|j|q)?([diouxXcspn%])")


@dataclass(frozen=True)
class Format:
    """A format: literal pieces and conversions in order."""

    raw: bytes
    parts: tuple  # bytes (literal) or Conv

    @property
    def literals(self) -> list[bytes]:
        return [p for p in self.parts if isinstance(p, bytes) and p]

    @cached_property
    def literal_chars(self) -> int:
        """How much fixed text the format has: the specificity used to rank matches."""
        return sum(len(p) for p in self.literals)

    @property
    def longest_literal(self) -> bytes:
        lits = self.literals
        return max(lits, key=len) if lits else b""

    @property
    def fixed_text(self) -> bytes:
        """The literal text with each conversion replaced by a NUL (never in a message)."""
        return b"".join(p if isinstance(p, bytes) else b"\0" for p in self.parts)

    @property
    def convs(self) -> list[Conv]:
        return [p for p in self.parts if isinstance(p, Conv)]

    @property
    def can_print_words(self) -> bool:
        """True when some conversion can print letters beyond hex digits (%s, %c, %pS, %pe, %p...)."""
        for op in self.program():
            if op[0] == OP_ANY or (op[0] == OP_RUN and op[1] in ("nonspace", "any", "ptr", "errname", "flags",
                                                                 "resource", "time")):
                return True
        return False

    @property
    def has_free(self) -> bool:
        return any(c.free for c in self.convs)

    def program(self) -> list[tuple]:
        return self._program

    @cached_property
    def _program(self) -> list[tuple]:
        ops: list[tuple] = []
        for p in self.parts:
            if isinstance(p, bytes):
                if p:
                    ops.append((OP_LIT, p))
            else:
                for op in p.program():
                    if op[0] in (OP_LIT, OP_OPT):
                        ops.append((op[0], op[1].encode("latin-1")))
                    else:
                        ops.append(op)
        # merge adjacent literals
        out: list[tuple] = []
        for op in ops:
            if op[0] == OP_LIT and out and out[-1][0] == OP_LIT:
                out[-1] = (OP_LIT, out[-1][1] + op[1])
            else:
                out.append(op)
        return out

    def regex(self, *, for_fsm: bool = False, free_class: str | None = None) -> str:
        """The same language as a Python regex (bytes decoded as latin-1).

        With ``for_fsm`` lazy quantifiers become greedy (automata have no laziness)
        and unbounded runs use ``*``/``+`` so interegular can build them.
        ``free_class`` replaces the "any character" of free-text conversions
        (the auditor uses it to keep a word out of them).
        """
        out = []
        for op in self.program():
            if op[0] == OP_LIT:
                out.append(re.escape(op[1].decode("latin-1")))
            elif op[0] == OP_OPT:
                out.append("(?:" + re.escape(op[1].decode("latin-1")) + ")?")
            elif op[0] == OP_RUN:
                _, name, lo, hi = op
                cls = CLASSES[name][0]
                out.append(cls + _quant(lo, hi, lazy=False))
            else:
                _, lo, hi = op
                any_ = free_class or ("." if for_fsm else r"[\s\S]")
                out.append(any_ + _quant(lo, hi, lazy=not for_fsm))
        return "".join(out)

    def regex_marked(self) -> str:
        """For the rule auditor: :meth:`regex` (automaton flavour), with every character of the fixed
        text replaced by its *marked* twin (:func:`mark`), while conversions print unmarked latin-1
        text.  Intersected with a rule whose words must be marked, it tells whether the format's own
        text can supply those words, or only its arguments."""
        out = []
        for p in self.parts:
            if isinstance(p, bytes):
                out.append("".join(re.escape(mark(ch)) for ch in p.decode("latin-1")))
                continue
            for op in p.program():
                if op[0] == OP_LIT:
                    out.append(re.escape(op[1]))
                elif op[0] == OP_OPT:
                    out.append("(?:" + re.escape(op[1]) + ")?")
                elif op[0] == OP_RUN:
                    _, name, lo, hi = op
                    out.append(CLASSES[name][0] + _quant(lo, hi, lazy=False))
                else:
                    _, lo, hi = op
                    out.append("[\\x00-\\t\\x0b-\\xff]" + _quant(lo, hi, lazy=False))
        return "".join(out)

    def instantiate(self, rng: random.Random) -> bytes:
        """A message the kernel could print with this format (random arguments)."""
        out = bytearray()
        for p in self.parts:
            if isinstance(p, bytes):
                out += p
            else:
                out += _sample_conv(p, rng)
        return bytes(out)


MARK_BASE = 0xE000  # marked twins live in the Unicode private use area, U+E000..U+E0FF


def mark(ch: str) -> str:
    """The marked twin of a latin-1 character: the same character, printed by a format's fixed text."""
    return chr(MARK_BASE + ord(ch))


def _quant(lo: int, hi: int, lazy: bool) -> str:
    q = "?" if lazy else ""
    if hi >= INF:
        return ("*" if lo == 0 else "+" if lo == 1 else "{%d,}" % lo) + q
    if lo == hi:
        return "" if lo == 1 else "{%d}" % lo
    if lo == 0 and hi == 1:
        return "?" + q
    return "{%d,%d}" % (lo, hi) + q


def parse(fmt: bytes | str) -> Format:
    """Split ``fmt`` into literal pieces and :class:`Conv` (never raises: bad ``%`` is literal text)."""
    if isinstance(fmt, str):
        fmt = fmt.encode("utf-8", errors="surrogateescape")
    raw = fmt
    if fmt.endswith(b"\n"):
        fmt = fmt[:-1]  # printk strips one trailing newline
    parts: list = []
    lit = bytearray()
    i = 0
    n = len(fmt)
    while i < n:
        j = fmt.find(b"%", i)
        if j < 0:
            lit += fmt[i:]
            break
        lit += fmt[i:j]
        m = _CONV_RE.match(fmt, j)
        if not m:
            lit += b"%"  # vsprintf prints an unknown conversion's '%' (and what follows) literally
            i = j + 1
            continue
        flags, width, prec, qual, conv = m.groups()
        conv = chr(conv[0])
        end = m.end()
        if conv == "%":
            lit += b"%"
            i = end
            continue
        ext = ""
        if conv == "p":
            k = end
            while k < n and (48 <= fmt[k] <= 57 or 65 <= fmt[k] <= 90 or 97 <= fmt[k] <= 122):
                k += 1
            ext = fmt[end:k].decode("latin-1")
            end = k
        if lit:
            parts.append(bytes(lit))
            lit = bytearray()
        parts.append(Conv(fmt[j:end].decode("latin-1"), flags.decode() if flags else "",
                          None if width is None else (-1 if width == b"*" else int(width)),
                          None if prec is None else (-1 if prec == b"*" else int(prec or 0)),
                          qual.decode() if qual else "", conv, ext))
        i = end
    if lit:
        parts.append(bytes(lit))
    return Format(raw, tuple(parts))


# ----------------------------------------------------------------------------- random instantiation

_WORDS = ["eth0", "sda1", "nvme0n1", "0000:00:1f.2", "usb1", "cpu3", "zone", "ok", "timeout", "fw", "mmc0",
          "enp3s0", "hub", "i2c-1", "port2", "thermal", "x", "dm-0", "card0", "pcieport"]
_ERRS = ["-ENOMEM", "-EINVAL", "-EIO", "-ENODEV", "-ETIMEDOUT", "-EBUSY", "-EPROBE_DEFER", "-22"]


def _sample_conv(c: Conv, rng: random.Random) -> bytes:
    k = c.conv
    if k in "di":
        v = rng.choice([0, 1, 7, 42, 1000, -1, -12, 65535, rng.randrange(-10**6, 10**6)])
        s = str(v)
        if ("+" in c.flags) and v >= 0:
            s = "+" + s
    elif k == "u":
        s = str(rng.choice([0, 1, 3, 100, 4096, rng.randrange(10**9)]))
    elif k in "xX":
        v = rng.choice([0, 1, 0xff, 0xdead, rng.randrange(1 << 32)])
        s = format(v, "x" if k == "x" else "X")
        if "#" in c.flags and v:
            s = "0x" + s
    elif k == "o":
        s = format(rng.randrange(4096), "o")
    elif k == "c":
        s = rng.choice("abcxyz0:")
    elif k == "s":
        s = rng.choice(_WORDS + ["", "two words", "a:b"])
        if c.precision is not None and c.precision >= 0:
            s = s[:c.precision]
    elif k == "p":
        e = c.ext[:1]
        if e in ("S", "s", "B", "F", "f"):
            s = rng.choice(["do_one_initcall+0x4e/0x1f0", "foo_probe+0x12/0x80 [foo]", "0xffffffffc0a01234"])
        elif e in ("M", "m"):
            s = ":".join("%02x" % rng.randrange(256) for _ in range(6))
        elif e in ("I", "i") and c.ext[1:2] == "4":
            s = ".".join(str(rng.randrange(256)) for _ in range(4))
        elif e in ("I", "i"):
            s = "fe80::1"
        elif e == "U":
            s = "123e4567-e89b-12d3-a456-426614174000"
        elif e == "e":
            s = rng.choice(_ERRS)
        elif e in ("R", "r"):
            s = "[mem 0xfe000000-0xfe0fffff 64bit]"
        elif e in ("V", "d", "D", "A"):
            s = rng.choice(_WORDS)
        elif e in ("O", "g", "C"):
            s = rng.choice(["/soc/i2c@40005400", "sda", "nvme0n1p2"])
        elif e == "b":
            s = rng.choice(["0-3", "ff,00000000"])
        elif e == "h":
            s = "00 11 22"
        elif e == "t":
            s = "2021-06-03T12:00:00"
        elif e == "G":
            s = "referenced|uptodate"
        else:
            s = rng.choice(["ffff8881003c2000", "00000000a1b2c3d4", "(____ptrval____)"])
    else:
        s = ""
    if c.width is not None and c.width > 0 and k not in "sp":
        s = s.rjust(c.width, "0" if "0" in c.flags and "-" not in c.flags and k != "c" else " ") \
            if "-" not in c.flags else s.ljust(c.width)
    return s.encode("latin-1")


__all__ = ["parse", "Format", "Conv", "mark", "MARK_BASE", "CLASSES", "CLASS_IDS", "CLASS_TABLE", "OP_LIT", "OP_RUN", "OP_ANY", "OP_OPT", "INF"]
