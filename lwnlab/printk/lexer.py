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

from lwnlab._jit import jit, jit_disabled

# token kinds
T_IDENT, T_NUMBER, T_STRING, T_CHAR, T_PUNCT, T_PP_BEGIN, T_PP_END = 0, 1, 2, 3, 4, 5, 6
KIND_NAMES = ("ident", "number", "string", "char", "punct", "pp-begin", "pp-end")

# indices into the stats array (counts) and the first-offset array
S_TOKENS, S_STRINGS, S_UNTERM_STRING, S_UNTERM_CHAR, S_UNTERM_COMMENT, S_ODD_BYTE, S_NUL, S_LINES, S_COMMENTS = range(9)
N_STATS = 9
SKIP_NAMES = {S_UNTERM_STRING: "unterminated string literal", S_UNTERM_CHAR: "unterminated character literal",
              S_UNTERM_COMMENT: "unterminated comment", S_ODD_BYTE: "byte outside the C character set",
              S_NUL: "NUL byte"}


# byte classes of the main dispatch (one table load and one compare for the common cases)
C_IDENT, C_DIGIT, C_DOLLAR, C_SPACE, C_PUNCT, C_OP, C_NL, C_SLASH, C_DQUOTE, C_SQUOTE, C_HASH, C_BSLASH, C_DOT, \
    C_NUL, C_ODD = range(15)


def _char_classes() -> np.ndarray:
    cls = np.full(256, C_ODD, np.uint8)  # bytes >= 0x80 and control characters
    for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_":
        cls[c] = C_IDENT
    for c in b"0123456789":
        cls[c] = C_DIGIT
    cls[ord("$")] = C_DOLLAR  # continues an identifier; starts nothing
    for c in b" \t\r\v\f":
        cls[c] = C_SPACE
    for c in b"()[]{},;=":
        cls[c] = C_PUNCT
    for c in b"+-*&|<>!~?:^%@`":  # operators that start nothing else ('/', '.', quotes and '\\' do)
        cls[c] = C_OP
    for c, k in ((10, C_NL), (ord("/"), C_SLASH), (ord('"'), C_DQUOTE), (ord("'"), C_SQUOTE), (ord("#"), C_HASH),
                 (ord("\\"), C_BSLASH), (ord("."), C_DOT), (0, C_NUL)):
        cls[c] = k
    return cls


#: byte classes the lexer takes as an argument (the ``C_*`` constants): identifier characters are the
#: classes <= C_DOLLAR, C_DIGIT starts a number, C_PUNCT makes a one-byte token, C_OP makes none
CHAR_CLASS = _char_classes()


# ----------------------------------------------------------------------------- eight bytes at a time
#
# Identifiers, comments and literals are skipped with SWAR ("SIMD within a register") tests on eight
# bytes loaded at once: every byte's top bit says whether it belongs to the set looked for, the first
# such byte is found with a count of trailing zeros, and the newlines a comment skips are counted from
# the same mask, so that the loops branch once per eight bytes instead of once per byte.  Every test is
# exact for all 256 byte values (no carry crosses a byte), and the eight bytes are loaded only when
# they are all inside the buffer; the last few bytes of a buffer go through plain byte loops.

def _rep(b: int) -> np.uint64:
    return np.uint64(int.from_bytes(bytes([b]) * 8, "little"))


_H = _rep(0x80)  # the top bit of every byte
_M7 = _rep(0x7F)
_Z = np.uint64(0)
_ONE = np.uint64(1)
_SH7, _SH8, _SH16, _SH32, _FF = np.uint64(7), np.uint64(8), np.uint64(16), np.uint64(32), np.uint64(0xFF)
_CASE = _rep(0x20)
_GE_A, _GT_Z = _rep(0x80 - ord("a")), _rep(0x7F - ord("z"))  # x + _GE_A has the top bit iff x >= 'a' (x < 0x80)
_GE_0, _GT_9 = _rep(0x80 - ord("0")), _rep(0x7F - ord("9"))
_R_US, _R_DOLLAR, _R_NL, _R_STAR, _R_BSL, _R_DQ, _R_SQ = (_rep(c) for c in b"_$\n*\\\"'")

if jit_disabled():  # plain Python (NUMBA_DISABLE_JIT=1): the same arithmetic on numpy scalars
    def load8(buf, i):
        """The 8 bytes at ``buf[i:i+8]`` as a little-endian uint64 (``i + 8 <= len(buf)``)."""
        return np.uint64(int.from_bytes(buf[i:i + 8].tobytes(), "little"))

    def ctz64(x):
        x = int(x)
        return (x & -x).bit_length() - 1
else:
    from llvmlite import ir as _ir
    from numba.core import types as _types
    from numba.cpython.unsafe.numbers import trailing_zeros as ctz64
    from numba.extending import intrinsic

    @intrinsic
    def load8(typingctx, arr, idx):
        """The 8 bytes at ``arr[idx:idx+8]`` as a little-endian uint64: one unaligned load, no checks
        (the caller guarantees ``idx + 8 <= len(arr)``)."""
        if not (isinstance(arr, _types.Array) and arr.dtype == _types.uint8 and isinstance(idx, _types.Integer)):
            return None
        sig = _types.uint64(arr, idx)

        def codegen(context, builder, signature, args):
            a, i = args
            ary = context.make_array(signature.args[0])(context, builder, a)
            ptr = builder.gep(ary.data, [i])
            return builder.load(builder.bitcast(ptr, _ir.IntType(64).as_pointer()), align=1)

        return sig, codegen


@jit
def _eq8(x, r):
    """Top bit set in each byte of ``x`` equal to the byte repeated in ``r``."""
    t = x ^ r
    return ~(((t & _M7) + _M7) | t) & _H


@jit
def _count8(m):
    """How many bytes of ``m`` have their top bit set (``m`` has no other bits)."""
    c = m >> _SH7
    c = c + (c >> _SH8)
    c = c + (c >> _SH16)
    c = c + (c >> _SH32)
    return np.int64(c & _FF)


@jit
def _below(m):
    """The bits below the lowest set bit of ``m`` (``m != 0``)."""
    return (m & (~m + _ONE)) - _ONE


@jit
def _ident_end(buf, j, n, cls):
    """End of the identifier characters ``[A-Za-z0-9_$]`` starting at ``j``."""
    while j + 8 <= n:
        x = load8(buf, j)
        x7 = x & _M7
        y = x7 | _CASE  # folds A-Z onto a-z (and nothing else onto a-z)
        letter = (y + _GE_A) & ~(y + _GT_Z)
        digit = (x7 + _GE_0) & ~(x7 + _GT_9)
        t = x7 ^ _R_US
        not_us = (t + _M7) | t
        t = x7 ^ _R_DOLLAR
        not_dollar = (t + _M7) | t
        other = ~((letter | digit | ~not_us | ~not_dollar) & ~x) & _H  # ~x: bytes >= 0x80 are not identifier bytes
        if other != _Z:
            return j + (ctz64(other) >> 3)
        j += 8
    while j < n and cls[buf[np.uint64(j)]] <= C_DOLLAR:
        j += 1
    return j


_WARM_SRC = b'#define X "a\\"b" /* c */\nint f(void) { return \'x\'; }\n'


def _workspace(n: int):
    cap = n + 2
    return (np.empty(cap, np.int8), np.empty(cap, np.int32), np.empty(cap, np.int32), np.empty(cap, np.int32),
            np.zeros(9, np.int64), np.full(9, -1, np.int64))


def _warm_lex():
    buf = np.frombuffer(_WARM_SRC, dtype=np.uint8)
    return (buf, CHAR_CLASS) + _workspace(buf.shape[0])


@jit(warmup=_warm_lex, boundscheck=False)
def lex(buf, cls, kind, start, end, line, stats, first):
    """Tokenize ``buf`` (uint8 array) into the given arrays (capacity >= len(buf) + 2).

    ``cls`` is :data:`CHAR_CLASS`.  Fills ``stats``/``first`` (length 9,
    see ``S_*``) and returns the number of tokens.

    Every array index below is cast to uint64 (``buf[U(i)]``): numba then
    skips the negative-index wraparound it adds to each signed index (all
    indices here are non-negative and in bounds by construction).
    """
    U = np.uint64
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
        c = buf[U(i)]
        cc = cls[c]
        # ---- identifiers (and the L, u, U, u8 prefixes of literals)
        if cc == C_IDENT:
            j = _ident_end(buf, i + 1, n, cls)
            bol = False
            if j < n and j - i <= 2 and (buf[U(j)] == 34 or buf[U(j)] == 39):
                w = j - i
                if (w == 1 and (c == 76 or c == 117 or c == 85)) or (w == 2 and c == 117 and buf[U(i + 1)] == 56):
                    i, ln = _literal(buf, i, j, n, ln, kind, start, end, line, nt, stats, first)
                    nt += 1
                    continue
            kind[U(nt)] = T_IDENT
            start[U(nt)] = i
            end[U(nt)] = j
            line[U(nt)] = ln
            nt += 1
            i = j
            continue
        if cc == C_SPACE:
            i += 1
            while i < n and cls[buf[U(i)]] == C_SPACE:
                i += 1
            continue
        if cc == C_PUNCT:
            bol = False
            kind[U(nt)] = T_PUNCT
            start[U(nt)] = i
            end[U(nt)] = i + 1
            line[U(nt)] = ln
            nt += 1
            i += 1
            continue
        if cc == C_OP:  # an operator character: no token
            bol = False
            i += 1
            continue
        if cc == C_NL:
            if in_pp:
                kind[U(nt)] = T_PP_END
                start[U(nt)] = i
                end[U(nt)] = i
                line[U(nt)] = ln
                nt += 1
                in_pp = False
            ln += 1
            bol = True
            i += 1
            continue
        # ---- comments (they leave ``bol`` alone), or a lone '/'
        if cc == C_SLASH:
            if i + 1 < n and buf[U(i + 1)] == 42:  # /*
                stats[S_COMMENTS] += 1
                j = i + 2
                closed = False
                while j < n:
                    if j + 8 <= n:
                        x = load8(buf, j)
                        star = _eq8(x, _R_STAR)
                        nl = _eq8(x, _R_NL)
                        if star == _Z:
                            ln += _count8(nl)
                            j += 8
                            continue
                        ln += _count8(nl & _below(star))
                        j += ctz64(star) >> 3
                    else:
                        d = buf[U(j)]
                        if d == 10:
                            ln += 1
                        if d != 42:
                            j += 1
                            continue
                    # buf[j] is '*'
                    if j + 1 < n and buf[U(j + 1)] == 47:
                        closed = True
                        break
                    j += 1
                if closed:
                    i = j + 2
                else:
                    stats[S_UNTERM_COMMENT] += 1
                    if first[S_UNTERM_COMMENT] < 0:
                        first[S_UNTERM_COMMENT] = i
                    i = n
                continue
            if i + 1 < n and buf[U(i + 1)] == 47:  # //
                stats[S_COMMENTS] += 1
                j = i + 2
                while j < n:
                    if j + 8 <= n:
                        x = load8(buf, j)
                        m = _eq8(x, _R_NL) | _eq8(x, _R_BSL)
                        if m == _Z:
                            j += 8
                            continue
                        j += ctz64(m) >> 3
                    d = buf[U(j)]
                    if d == 10:
                        break
                    if d == 92 and j + 1 < n and buf[U(j + 1)] == 10:  # continued comment line
                        ln += 1
                        j += 2
                        continue
                    j += 1
                i = j
                continue
            bol = False
            i += 1
            continue
        # ---- string and character literals
        if cc == C_DQUOTE or cc == C_SQUOTE:
            bol = False
            i, ln = _literal(buf, i, i, n, ln, kind, start, end, line, nt, stats, first)
            nt += 1
            continue
        # ---- pp-numbers
        if cc == C_DIGIT or (cc == C_DOT and i + 1 < n and cls[buf[U(i + 1)]] == C_DIGIT):
            bol = False
            j = i + 1
            while j < n:
                d = buf[U(j)]
                if cls[d] <= C_DIGIT or d == 46:
                    if (d == 101 or d == 69 or d == 112 or d == 80) and j + 1 < n and (buf[U(j + 1)] == 43 or buf[U(j + 1)] == 45):
                        j += 2
                    else:
                        j += 1
                elif d == 39 and j + 1 < n and cls[buf[U(j + 1)]] == C_DIGIT:  # C23 digit separator
                    j += 2
                else:
                    break
            kind[U(nt)] = T_NUMBER
            start[U(nt)] = i
            end[U(nt)] = j
            line[U(nt)] = ln
            nt += 1
            i = j
            continue
        # ---- a directive starts with '#' first on its line; elsewhere '#' is punctuation
        if cc == C_HASH:
            if bol and not in_pp:
                kind[U(nt)] = T_PP_BEGIN
                in_pp = True
            else:
                kind[U(nt)] = T_PUNCT
            bol = False
            start[U(nt)] = i
            end[U(nt)] = i + 1
            line[U(nt)] = ln
            nt += 1
            i += 1
            continue
        # ---- line splices, or a lone backslash
        if cc == C_BSLASH:
            if i + 1 < n and buf[U(i + 1)] == 10:
                i += 2
                ln += 1
                continue
            if i + 2 < n and buf[U(i + 1)] == 13 and buf[U(i + 2)] == 10:
                i += 3
                ln += 1
                continue
            bol = False
            i += 1
            continue
        # ---- '$', '.' and odd bytes: no token
        bol = False
        if cc == C_NUL:
            stats[S_NUL] += 1
            if first[S_NUL] < 0:
                first[S_NUL] = i
        elif cc == C_ODD:
            stats[S_ODD_BYTE] += 1
            if first[S_ODD_BYTE] < 0:
                first[S_ODD_BYTE] = i
        i += 1
    if in_pp:
        kind[U(nt)] = T_PP_END
        start[U(nt)] = n
        end[U(nt)] = n
        line[U(nt)] = ln
        nt += 1
    stats[S_TOKENS] = nt
    stats[S_LINES] = ln if (n == 0 or buf[U(n - 1)] != 10) else ln - 1
    return nt


@jit
def _literal(buf, i, j, n, ln, kind, start, end, line, nt, stats, first):
    """The string or character literal whose opening quote is ``buf[j]`` (``i``: its prefix, if any).

    Writes token ``nt`` (on line ``ln``) and returns where the literal ends and the line
    number there (a backslash-newline inside a literal continues it on the next line).
    An unterminated literal stops before its newline, or at the end of the buffer.
    """
    U = np.uint64
    q = buf[U(j)]
    rq = _R_DQ if q == 34 else _R_SQ
    tok_line = ln
    k = j + 1
    closed = False
    while k < n:
        if k + 8 <= n:
            x = load8(buf, k)
            m = _eq8(x, rq) | _eq8(x, _R_NL) | _eq8(x, _R_BSL)
            if m == _Z:
                k += 8
                continue
            k += ctz64(m) >> 3
        d = buf[U(k)]
        if d == q:
            closed = True
            break
        if d == 10:
            break
        if d == 92 and k + 1 < n:
            if buf[U(k + 1)] == 10:
                ln += 1
            k += 2
            continue
        k += 1
    if not closed:
        s = S_UNTERM_STRING if q == 34 else S_UNTERM_CHAR
        stats[s] += 1
        if first[s] < 0:
            first[s] = i
        stop = k if k < n else n
    else:
        stop = k + 1
    if q == 34:
        kind[U(nt)] = T_STRING
        stats[S_STRINGS] += 1
    else:
        kind[U(nt)] = T_CHAR
    start[U(nt)] = i
    end[U(nt)] = stop
    line[U(nt)] = tok_line
    return stop, ln


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


def _warm_includes():
    t = tokenize(b'#include "a.h"\n# include_next <b.h>\n#define X 1\n')
    pp = np.nonzero(t.kind == T_PP_BEGIN)[0].astype(np.int32)
    return (pp, t.kind, t.start, t.end, t.buf)


@jit(warmup=_warm_includes)
def find_includes(pp, kind, start, end, buf):
    """Token indices of the ``include``/``include_next`` names of the directives ``pp`` (T_PP_BEGIN tokens)."""
    out = np.empty(pp.shape[0], np.int32)
    m = 0
    nt = kind.shape[0]
    for q in range(pp.shape[0]):
        t = pp[q] + 1
        if t >= nt or kind[t] != T_IDENT:
            continue
        s = start[t]
        ln = end[t] - s
        if (ln == 7 or ln == 12) and buf[s] == 105 and buf[s + 1] == 110 and buf[s + 2] == 99 and buf[s + 3] == 108 \
                and buf[s + 4] == 117 and buf[s + 5] == 100 and buf[s + 6] == 101:  # include
            if ln == 12 and not (buf[s + 7] == 95 and buf[s + 8] == 110 and buf[s + 9] == 101 and buf[s + 10] == 120
                                 and buf[s + 11] == 116):  # _next
                continue
            out[m] = t
            m += 1
    return out[:m]


@jit(warmup=_warm_includes)
def find_if_const(pp, kind, start, end, buf):
    """Token indices (the ``#``) of the ``#if 0`` and ``#if 1`` directives among ``pp``."""
    out = np.empty(pp.shape[0], np.int32)
    m = 0
    nt = kind.shape[0]
    for q in range(pp.shape[0]):
        t = pp[q]
        if t + 3 >= nt or kind[t + 1] != T_IDENT or kind[t + 2] != T_NUMBER or kind[t + 3] != T_PP_END:
            continue
        s = start[t + 1]
        if end[t + 1] - s != 2 or buf[s] != 105 or buf[s + 1] != 102:  # "if"
            continue
        s = start[t + 2]
        if end[t + 2] - s == 1 and (buf[s] == 48 or buf[s] == 49):  # 0 or 1
            out[m] = t
            m += 1
    return out[:m]


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


class Tokens:
    """The lexer's output for one buffer, with a report of what was skipped (read-only by convention).

    A plain slotted class, not a dataclass: one is made per file lexed, and a frozen
    dataclass's ``__init__`` costs as much as lexing a small file."""

    __slots__ = ("buf", "kind", "start", "end", "line", "stats", "first")

    def __init__(self, buf: np.ndarray, kind: np.ndarray, start: np.ndarray, end: np.ndarray, line: np.ndarray,
                 stats: np.ndarray, first: np.ndarray):
        self.buf = buf
        self.kind = kind
        self.start = start
        self.end = end
        self.line = line
        self.stats = stats
        self.first = first

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
    if type(data) is bytes:
        buf = np.frombuffer(data, dtype=np.uint8)
    elif isinstance(data, np.ndarray):
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
           "find_includes", "find_if_const",
           "T_IDENT", "T_NUMBER", "T_STRING", "T_CHAR", "T_PUNCT", "T_PP_BEGIN", "T_PP_END", "KIND_NAMES"]
