"""A C lexer in numba over the raw bytes of a source file.

It never fails: odd input (bytes >= 0x80 outside literals, NULs, stray control
characters, unterminated strings, character literals or comments) is skipped
and counted, with the offset of the first occurrence of each kind, so the
caller can say what was skipped and where.

Tokens are four parallel arrays: ``kind`` (see the ``T_*`` constants),
``start``/``end`` (byte offsets, end exclusive) and ``line`` (1-based line of
the token's first byte).  String tokens include their quotes (and an ``L``,
``u``, ``U`` or ``u8`` prefix); adjacent string literals stay separate tokens
and are concatenated by :func:`lwnlab.printk.extract.join_literals`, exactly
as translation phase 6 does.  A preprocessor directive is the tokens between a
``T_PP_BEGIN`` (the ``#`` first on its line) and a ``T_PP_END`` (the end of
the logical line, after backslash-newline continuations).

Two more kernels work on the token arrays: :func:`scan_structure` finds the
function bodies (top-level ``{`` after ``name(...)``, with ``#if``/``#else``
branches restoring the brace depth as a preprocessor-aware reader must) and
:func:`find_calls` finds calls of a set of names, looked up in an
open-addressing hash table passed in as arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lwnlab._jit import jit

# token kinds
T_IDENT, T_NUMBER, T_STRING, T_CHAR, T_PUNCT, T_PP_BEGIN, T_PP_END = 0, 1, 2, 3, 4, 5, 6
KIND_NAMES = ("ident", "number", "string", "char", "punct", "pp-begin", "pp-end")

# indices into the stats array (counts) and the first-offset array
S_TOKENS, S_STRINGS, S_UNTERM_STRING, S_UNTERM_CHAR, S_UNTERM_COMMENT, S_ODD_BYTE, S_NUL, S_LINES, S_COMMENTS = range(9)
N_STATS = 9
SKIP_NAMES = {S_UNTERM_STRING: "unterminated string literal", S_UNTERM_CHAR: "unterminated character literal",
              S_UNTERM_COMMENT: "unterminated comment", S_ODD_BYTE: "byte outside the C character set",
              S_NUL: "NUL byte"}


def _char_classes() -> np.ndarray:
    cls = np.zeros(256, np.uint8)
    for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$":
        cls[c] = 1
    for c in b" \t\r\v\f":
        cls[c] = 2
    for c in b"()[]{},;=#":
        cls[c] = 3
    for c in b"+-*&|<>!~?:^%@`":  # operators that start nothing else ('/', '.', quotes and '\\' do)
        cls[c] = 4
    return cls


#: byte classes the lexer takes as an argument: 1 identifier character, 2 horizontal space,
#: 3 punctuation that makes a token, 4 operators that make none (the gaps between tokens keep them)
CHAR_CLASS = _char_classes()


_WARM_SRC = b'#define X "a\\"b" /* c */\nint f(void) { return \'x\'; }\n'


def _workspace(n: int):
    cap = n + 2
    return (np.empty(cap, np.int8), np.empty(cap, np.int32), np.empty(cap, np.int32), np.empty(cap, np.int32),
            np.zeros(9, np.int64), np.full(9, -1, np.int64))


def _warm_lex():
    buf = np.frombuffer(_WARM_SRC, dtype=np.uint8)
    return (buf, CHAR_CLASS) + _workspace(buf.shape[0])


@jit(warmup=_warm_lex)
def lex(buf, cls, kind, start, end, line, stats, first):
    """Tokenize ``buf`` (uint8 array) into the given arrays (capacity >= len(buf) + 2).

    ``cls`` is :data:`CHAR_CLASS`.  Fills ``stats``/``first`` (length 9,
    see ``S_*``) and returns the number of tokens.
    """
    n = buf.shape[0]
    for q in range(9):
        stats[q] = 0
        first[q] = -1
    nt = 0
    i = 0
    ln = 1
    bol = True  # only whitespace (or comments) since the last newline
    in_pp = False
    while i < n:
        c = buf[i]
        cc = cls[c]
        if cc == 2:
            i += 1
            while i < n and cls[buf[i]] == 2:
                i += 1
            continue
        # ---- identifiers (and literal prefixes)
        if cc == 1 and c >= 65:
            bol = False
            tok_line = ln
            j = i + 1
            while j < n and cls[buf[j]] == 1:
                j += 1
            if j < n and (buf[j] == 34 or buf[j] == 39):
                ln_pre = j - i
                is_pre = False
                if ln_pre == 1 and (buf[i] == 76 or buf[i] == 117 or buf[i] == 85):  # L u U
                    is_pre = True
                elif ln_pre == 2 and buf[i] == 117 and buf[i + 1] == 56:  # u8
                    is_pre = True
                if is_pre:
                    q = buf[j]
                    k2 = j + 1
                    closed = False
                    while k2 < n:
                        d = buf[k2]
                        if d == q:
                            closed = True
                            break
                        if d == 10:
                            break
                        if d == 92 and k2 + 1 < n:
                            k2 += 2
                            continue
                        k2 += 1
                    if not closed:
                        kk = 2 if q == 34 else 3
                        stats[kk] += 1
                        if first[kk] < 0:
                            first[kk] = i
                        stop = k2 if k2 < n else n
                    else:
                        stop = k2 + 1
                    kind[nt] = 2 if q == 34 else 3
                    if q == 34:
                        stats[1] += 1
                    start[nt] = i
                    end[nt] = stop
                    line[nt] = tok_line
                    nt += 1
                    i = stop
                    continue
            kind[nt] = 0
            start[nt] = i
            end[nt] = j
            line[nt] = tok_line
            nt += 1
            i = j
            continue
        # ---- the frequent one-byte cases first
        if cc == 3 and c != 35:  # structural punctuation other than '#'
            bol = False
            kind[nt] = 4
            start[nt] = i
            end[nt] = i + 1
            line[nt] = ln
            nt += 1
            i += 1
            continue
        if cc == 4:  # an operator character: no token
            bol = False
            i += 1
            continue
        # ---- newlines and line splices
        if c == 10:  # '\n'
            if in_pp:
                kind[nt] = 6
                start[nt] = i
                end[nt] = i
                line[nt] = ln
                nt += 1
                in_pp = False
            ln += 1
            bol = True
            i += 1
            continue
        if c == 92 and i + 1 < n and (buf[i + 1] == 10 or (buf[i + 1] == 13 and i + 2 < n and buf[i + 2] == 10)):
            i += 2 if buf[i + 1] == 10 else 3
            ln += 1
            continue
        # ---- comments
        if c == 47 and i + 1 < n and buf[i + 1] == 42:  # /*
            stats[8] += 1
            j = i + 2
            closed = False
            while j + 1 < n:
                if buf[j] == 42 and buf[j + 1] == 47:
                    closed = True
                    break
                if buf[j] == 10:
                    ln += 1
                j += 1
            if not closed:
                if j < n and buf[j] == 10:
                    ln += 1
                stats[4] += 1
                if first[4] < 0:
                    first[4] = i
                i = n
            else:
                i = j + 2
            continue
        if c == 47 and i + 1 < n and buf[i + 1] == 47:  # //
            stats[8] += 1
            j = i + 2
            while j < n and buf[j] != 10:
                if buf[j] == 92 and j + 1 < n and buf[j + 1] == 10:  # continued comment line
                    ln += 1
                    j += 2
                    continue
                j += 1
            i = j
            continue
        # ---- a directive starts with '#' first on its line
        if c == 35 and bol and not in_pp:
            kind[nt] = 5
            start[nt] = i
            end[nt] = i + 1
            line[nt] = ln
            nt += 1
            in_pp = True
            bol = False
            i += 1
            continue
        bol = False
        tok_line = ln
        # ---- string and character literals (with L, u, U, u8 prefixes handled below)
        if c == 34 or c == 39:
            q = c
            j = i + 1
            closed = False
            while j < n:
                d = buf[j]
                if d == q:
                    closed = True
                    break
                if d == 10:
                    break
                if d == 92 and j + 1 < n:
                    if buf[j + 1] == 10:
                        ln += 1
                    j += 2
                    continue
                j += 1
            if not closed:
                k = 2 if q == 34 else 3
                stats[k] += 1
                if first[k] < 0:
                    first[k] = i
                stop = j if j < n else n
            else:
                stop = j + 1
            kind[nt] = 2 if q == 34 else 3
            if q == 34:
                stats[1] += 1
            start[nt] = i
            end[nt] = stop
            line[nt] = tok_line
            nt += 1
            i = stop
            continue
        # ---- pp-numbers
        if (c >= 48 and c <= 57) or (c == 46 and i + 1 < n and buf[i + 1] >= 48 and buf[i + 1] <= 57):
            j = i + 1
            while j < n:
                d = buf[j]
                if (d >= 48 and d <= 57) or (d >= 65 and d <= 90) or (d >= 97 and d <= 122) or d == 95 or d == 46:
                    if (d == 101 or d == 69 or d == 112 or d == 80) and j + 1 < n and (buf[j + 1] == 43 or buf[j + 1] == 45):
                        j += 2
                    else:
                        j += 1
                elif d == 39 and j + 1 < n and buf[j + 1] >= 48 and buf[j + 1] <= 57:  # C23 digit separator
                    j += 2
                else:
                    break
            kind[nt] = 1
            start[nt] = i
            end[nt] = j
            line[nt] = tok_line
            nt += 1
            i = j
            continue
        # ---- punctuation (one byte per token) and odd bytes
        if cls[c] == 3:  # structural punctuation; other operators make no token
            kind[nt] = 4
            start[nt] = i
            end[nt] = i + 1
            line[nt] = tok_line
            nt += 1
            i += 1
            continue
        if c >= 33 and c <= 126:
            i += 1
            continue
        if c == 0:
            stats[6] += 1
            if first[6] < 0:
                first[6] = i
        else:
            stats[5] += 1
            if first[5] < 0:
                first[5] = i
        i += 1
    if in_pp:
        kind[nt] = 6
        start[nt] = n
        end[nt] = n
        line[nt] = ln
        nt += 1
    stats[0] = nt
    stats[7] = ln if (n == 0 or buf[n - 1] != 10) else ln - 1
    return nt


def _warm_structure():
    t = tokenize(_WARM_SRC)
    return (t.kind, t.start, t.end, t.buf)


@jit(warmup=_warm_structure)
def scan_structure(kind, start, end, buf):
    """Find function bodies and directives.

    Returns ``(fn_open, fn_close, fn_cands, pp)``: for each function body the
    token index of its ``{`` and ``}``, up to 4 candidate name tokens (every
    ``ident (`` at depth 0 since the previous ``;``/``}``/directive, -1 padded),
    and the token indices of every ``T_PP_BEGIN``.
    """
    nt = kind.shape[0]
    fn_open = np.empty(nt // 2 + 1, np.int32)
    fn_close = np.empty(nt // 2 + 1, np.int32)
    fn_cands = np.full((nt // 2 + 1, 4), -1, np.int32)
    pp = np.empty(nt + 1, np.int32)
    npp = 0
    nf = 0
    depth = 0
    paren = 0
    cands = np.full(4, -1, np.int32)
    ncand = 0
    last_sig = -1  # last significant (non-directive) token kind: 0 ident, 1 ')', 2 other
    cur_fn = -1
    # #if stack of brace depths: depth at #if, depth at end of first branch
    if_depth = np.zeros(64, np.int64)
    if_after = np.full(64, -1, np.int64)
    nif = 0
    t = 0
    while t < nt:
        k = kind[t]
        if k == 5:  # directive: look at its name, skip to T_PP_END
            pp[npp] = t
            npp += 1
            if t + 1 < nt and kind[t + 1] == 0:
                s = start[t + 1]
                ln = end[t + 1] - s
                c0 = buf[s]
                if c0 == 105 and ln >= 2 and buf[s + 1] == 102:  # if, ifdef, ifndef
                    if nif < 64:
                        if_depth[nif] = depth
                        if_after[nif] = -1
                    nif += 1
                elif c0 == 101 and ln == 4 and buf[s + 1] == 108:  # else / elif
                    if nif > 0 and nif <= 64:
                        if if_after[nif - 1] < 0:
                            if_after[nif - 1] = depth
                        depth = if_depth[nif - 1]
                elif c0 == 101 and ln == 5 and buf[s + 1] == 110:  # endif
                    if nif > 0:
                        if nif <= 64 and if_after[nif - 1] >= 0:
                            depth = if_after[nif - 1]
                        nif -= 1
            while t < nt and kind[t] != 6:
                t += 1
            t += 1
            ncand = 0
            continue
        if k == 4:
            c = buf[start[t]]
            if c == 40:  # (
                if depth == 0 and paren == 0 and t > 0 and kind[t - 1] == 0:
                    if ncand < 4:
                        cands[ncand] = t - 1
                        ncand += 1
                paren += 1
                last_sig = 2
            elif c == 41:  # )
                if paren > 0:
                    paren -= 1
                last_sig = 1
            elif c == 123:  # {
                if depth == 0 and paren == 0 and ncand > 0 and (last_sig == 1 or last_sig == 0):
                    fn_open[nf] = t
                    fn_close[nf] = nt - 1
                    for q in range(4):
                        fn_cands[nf, q] = cands[q] if q < ncand else -1
                    cur_fn = nf
                    nf += 1
                depth += 1
                paren = 0
                last_sig = 2
            elif c == 125:  # }
                if depth > 0:
                    depth -= 1
                if depth == 0:
                    if cur_fn >= 0:
                        fn_close[cur_fn] = t
                        cur_fn = -1
                    ncand = 0
                paren = 0
                last_sig = 2
            elif c == 59:  # ;
                if depth == 0 and paren == 0:
                    ncand = 0
                last_sig = 2
            elif c == 61 and depth == 0 and paren == 0:  # '=' initializer: not a function
                ncand = 0
                last_sig = 2
            else:
                last_sig = 2
        elif k == 0:
            last_sig = 0
        else:
            last_sig = 2
        t += 1
    return fn_open[:nf], fn_close[:nf], fn_cands[:nf], pp[:npp]


def fnv1a(b: bytes) -> int:
    h = 2166136261
    for x in b:
        h = ((h ^ x) * 16777619) & 0xFFFFFFFF
    return h


@dataclass(frozen=True)
class NameTable:
    """An open-addressing hash table of names (FNV-1a, linear probing) as arrays for numba."""

    names: tuple[str, ...]
    blob: np.ndarray  # uint8, all names concatenated
    offs: np.ndarray  # int64, len(names)+1
    slots: np.ndarray  # int64, -1 empty, else name index
    mask: int

    @classmethod
    def build(cls, names) -> "NameTable":
        names = tuple(dict.fromkeys(names))
        size = 16
        while size < 2 * len(names) + 2:
            size *= 2
        slots = np.full(size, -1, np.int64)
        enc = [n.encode() for n in names]
        offs = np.zeros(len(enc) + 1, np.int64)
        for i, e in enumerate(enc):
            offs[i + 1] = offs[i] + len(e)
            h = fnv1a(e) & (size - 1)
            while slots[h] >= 0:
                h = (h + 1) & (size - 1)
            slots[h] = i
        blob = np.frombuffer(b"".join(enc) or b"\0", dtype=np.uint8).copy()
        return cls(names, blob, offs, slots, size - 1)

    def lookup(self, name: str) -> int:
        return self.names.index(name) if name in self.names else -1


def _warm_calls():
    tk = tokenize(b"void f(void) { printk(\"x\"); }\n")
    t = NameTable.build(["printk"])
    return (tk.kind, tk.start, tk.end, tk.buf, t.blob, t.offs, t.slots, np.int64(t.mask))


@jit(warmup=_warm_calls)
def find_calls(kind, start, end, buf, blob, offs, slots, mask):
    """Token indices of identifiers in the table followed by ``(``, with their name index.

    Returns ``(tok, name, in_pp)``; ``in_pp`` is 1 for uses inside a directive
    (a ``#define`` body: a wrapper macro).
    """
    nt = kind.shape[0]
    out_t = np.empty(nt // 2 + 1, np.int32)
    out_n = np.empty(nt // 2 + 1, np.int32)
    out_pp = np.empty(nt // 2 + 1, np.int8)
    m = 0
    in_pp = 0
    for t in range(nt):
        k = kind[t]
        if k == 5:
            in_pp = 1
            continue
        if k == 6:
            in_pp = 0
            continue
        if k != 0 or t + 1 >= nt or kind[t + 1] != 4 or buf[start[t + 1]] != 40:
            continue
        s = start[t]
        ln = end[t] - s
        h = np.uint32(2166136261)
        for q in range(ln):
            h = (h ^ np.uint32(buf[s + q])) * np.uint32(16777619)
        slot = np.int64(h) & mask
        while slots[slot] >= 0:
            ni = slots[slot]
            a = offs[ni]
            b = offs[ni + 1]
            if b - a == ln:
                same = True
                for q in range(ln):
                    if blob[a + q] != buf[s + q]:
                        same = False
                        break
                if same:
                    out_t[m] = t
                    out_n[m] = ni
                    out_pp[m] = in_pp
                    m += 1
                    break
            slot = (slot + 1) & mask
    return out_t[:m], out_n[:m], out_pp[:m]


def _warm_args():
    tk = tokenize(b"void f(void) { printk(\"x\", (a, b), c); }\n")
    return (tk.kind, tk.start, tk.buf, np.array([5], np.int32), np.int64(8))


@jit(warmup=_warm_args)
def split_args(kind, start, buf, calls, maxargs):
    """For each call token (the name), the token ranges of its top-level arguments.

    Returns ``(bounds, nargs, close)``: ``bounds[i, j]`` is the token index of
    the comma (or paren) *before* argument j, so argument j spans tokens
    ``bounds[i, j] + 1 .. bounds[i, j + 1] - 1``; ``nargs[i]`` counts all the
    arguments (only the first ``maxargs`` have bounds) and ``close[i]`` is the
    closing parenthesis, or -1 when the file ends first.  Directive tokens
    inside the argument list (``#ifdef`` in the middle of a call) are skipped
    by the caller; here they are just tokens.
    """
    nt = kind.shape[0]
    nc = calls.shape[0]
    bounds = np.full((nc, maxargs + 1), -1, np.int32)
    nargs = np.zeros(nc, np.int32)
    close = np.full(nc, -1, np.int32)
    for i in range(nc):
        t = calls[i] + 1  # the '('
        bounds[i, 0] = t
        depth = 0
        na = 0
        u = t
        while u < nt:
            k = kind[u]
            if k == 4:
                c = buf[start[u]]
                if c == 40 or c == 91 or c == 123:
                    depth += 1
                elif c == 41 or c == 93 or c == 125:
                    depth -= 1
                    if depth == 0:
                        na += 1
                        if na <= maxargs:
                            bounds[i, na] = u
                        close[i] = u
                        break
                elif c == 44 and depth == 1:
                    na += 1
                    if na <= maxargs:
                        bounds[i, na] = u
                elif c == 59 and depth <= 1:  # ';' cannot be inside a call: broken input
                    break
            u += 1
        if na == 1 and bounds[i, 1] == t + 1:
            na = 0  # f()
        nargs[i] = na
    return bounds, nargs, close


@dataclass(frozen=True)
class Tokens:
    """The lexer's output for one buffer, with a report of what was skipped."""

    buf: np.ndarray
    kind: np.ndarray
    start: np.ndarray
    end: np.ndarray
    line: np.ndarray
    stats: np.ndarray
    first: np.ndarray

    def __len__(self) -> int:
        return int(self.kind.shape[0])

    def text(self, i: int) -> bytes:
        return self.buf[self.start[i]:self.end[i]].tobytes()

    def line_of_offset(self, off: int) -> int:
        return int(np.count_nonzero(self.buf[:off] == 10)) + 1

    def skipped(self) -> dict[str, tuple[int, int]]:
        """What the lexer skipped: ``{what: (count, line of the first one)}``."""
        out = {}
        for k, name in SKIP_NAMES.items():
            if self.stats[k]:
                out[name] = (int(self.stats[k]), self.line_of_offset(int(self.first[k])))
        return out


def _as_buf(data) -> np.ndarray:
    if isinstance(data, np.ndarray):
        buf = np.ascontiguousarray(data).view(np.uint8).ravel() if (data.dtype != np.uint8 or data.ndim != 1) else data
    else:
        buf = np.frombuffer(bytes(data), dtype=np.uint8)
    if buf.shape[0] >= 2**31 - 4:
        from lwnlab.errors import SourceError

        raise SourceError(f"input of {buf.shape[0]} bytes is too large for the lexer (limit 2 GiB)")
    return buf


class Lexer:
    """Reusable token arrays: lexing many files allocates (and page-faults) once.

    The :class:`Tokens` returned by :meth:`run` are views into the workspace
    and are only valid until the next :meth:`run`; use :func:`tokenize` for
    tokens to keep.
    """

    def __init__(self, capacity: int = 1 << 16):
        self._ws = _workspace(capacity)

    def run(self, data) -> Tokens:
        buf = _as_buf(data)
        if self._ws[0].shape[0] < buf.shape[0] + 2:
            self._ws = _workspace(max(buf.shape[0] + 2, 2 * self._ws[0].shape[0]))
        kind, start, end, line, stats, first = self._ws
        nt = lex(buf, CHAR_CLASS, kind, start, end, line, stats, first)
        return Tokens(buf, kind[:nt], start[:nt], end[:nt], line[:nt], stats, first)


def lex_all(buffers, threads: int = 1) -> dict:
    """Lex many buffers (bytes or uint8 arrays), in ``threads`` threads: the kernel releases the GIL.

    Returns totals: tokens, string literals and what was skipped.  (For throughput
    measurements and whole-tree statistics; the extractor lexes file by file.)"""
    bufs = [_as_buf(b) for b in buffers]

    def work(part):
        lx = Lexer()
        tot = np.zeros(N_STATS, np.int64)
        for b in part:
            tot += lx.run(b).stats
        return tot

    if threads <= 1 or len(bufs) < 2:
        tot = work(bufs)
    else:
        from concurrent.futures import ThreadPoolExecutor

        parts = [bufs[i::threads] for i in range(threads)]
        with ThreadPoolExecutor(threads) as pool:
            tot = sum(pool.map(work, parts))
    out = {"tokens": int(tot[S_TOKENS]), "strings": int(tot[S_STRINGS]), "comments": int(tot[S_COMMENTS])}
    out.update({name: int(tot[k]) for k, name in SKIP_NAMES.items()})
    return out


def tokenize(data) -> Tokens:
    """Lex ``data`` (bytes or a uint8 array) into fresh arrays; never raises on odd content."""
    buf = _as_buf(data)
    kind, start, end, line, stats, first = _workspace(buf.shape[0])
    nt = lex(buf, CHAR_CLASS, kind, start, end, line, stats, first)
    return Tokens(buf, kind[:nt].copy(), start[:nt].copy(), end[:nt].copy(), line[:nt].copy(), stats, first)


__all__ = ["lex", "lex_all", "tokenize", "Lexer", "CHAR_CLASS", "Tokens", "scan_structure", "find_calls", "split_args", "NameTable",
           "T_IDENT", "T_NUMBER", "T_STRING", "T_CHAR", "T_PUNCT", "T_PP_BEGIN", "T_PP_END", "KIND_NAMES"]
