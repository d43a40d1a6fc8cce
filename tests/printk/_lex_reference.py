"""The lexer as it was before the eight-bytes-at-a-time rewrite: a plain byte loop, kept as the reference.

tests/printk/test_lexer.py checks that :func:`lwnlab.printk.lexer.lex` gives exactly the same tokens,
lines, counts and first offsets as this one (run as plain Python) on random and C-like inputs.
One deliberate difference is folded in here: a backslash-newline inside an ``L``/``u``/``U``/``u8``
literal counts a line, as it always did in unprefixed literals.
"""

import numpy as np


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
REF_CLASS = _char_classes()


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
                            if buf[k2 + 1] == 10:
                                ln += 1
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
