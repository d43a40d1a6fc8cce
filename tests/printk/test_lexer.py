"""The numba lexer: token kinds, line numbers, and odd input it must skip and report."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lwnlab.printk.lexer import (T_CHAR, T_IDENT, T_NUMBER, T_PP_BEGIN, T_PP_END, T_PUNCT, T_STRING, Lexer,
                                 NameTable, find_calls, scan_structure, split_args, tokenize)

from .conftest import EXAMPLES


def kinds_texts(src: bytes):
    t = tokenize(src)
    return [(int(k), t.text(i)) for i, k in enumerate(t.kind)]


def test_basic_tokens_and_lines():
    src = b'int x = 0x1fULL; /* c\nomment */ char c = \'"\';\nputs("a\\"b" "c");\n'
    t = tokenize(src)
    got = [(int(k), t.text(i), int(t.line[i])) for i, k in enumerate(t.kind)]
    assert (T_IDENT, b"int", 1) in got
    assert (T_NUMBER, b"0x1fULL", 1) in got
    assert (T_CHAR, b"'\"'", 2) in got          # a quote inside a char literal starts no string
    assert (T_STRING, b'"a\\"b"', 3) in got      # escaped quote stays inside
    assert (T_STRING, b'"c"', 3) in got          # adjacent literals are separate tokens
    assert not any(b"omment" in x[1] for x in got)
    assert t.skipped() == {}
    assert int(t.stats[7]) == 3


def test_directives_and_continuations():
    src = b'#define pr_fmt(fmt) \\\n\tKBUILD_MODNAME ": " fmt\nint a;\n  # include <x.h>\nb # c\n'
    kt = kinds_texts(src)
    assert kt[0] == (T_PP_BEGIN, b"#")
    ends = [i for i, (k, _) in enumerate(kt) if k == T_PP_END]
    body = [x for _, x in kt[1:ends[0]]]
    assert body == [b"define", b"pr_fmt", b"(", b"fmt", b")", b"KBUILD_MODNAME", b'": "', b"fmt"]
    # indented '#' starts a directive; a '#' in the middle of a line does not
    assert kt.count((T_PP_BEGIN, b"#")) == 2
    assert (T_PUNCT, b"#") in kt
    t = tokenize(src)
    lines = {t.text(i): int(t.line[i]) for i in range(len(t))}
    assert lines[b"KBUILD_MODNAME"] == 2 and lines[b"a"] == 3


def test_comments_do_not_hide_code_and_strings_hide_comments():
    kt = kinds_texts(b'a // x "y\nb "/* not a comment */" c /* "z" */ d\n')
    assert [x for k, x in kt if k == T_IDENT] == [b"a", b"b", b"c", b"d"]
    assert (T_STRING, b'"/* not a comment */"') in kt


def test_string_prefixes():
    kt = kinds_texts(b'L"wide" u8"utf" U\'c\' Lx "n"\n')
    assert kt[0] == (T_STRING, b'L"wide"') and kt[1] == (T_STRING, b'u8"utf"') and kt[2] == (T_CHAR, b"U'c'")
    assert kt[3] == (T_IDENT, b"Lx")


def test_odd_input_is_skipped_and_reported():
    src = b'ok();\n\x00\xff\xfe x;\n"unterminated\n\'c\nfoo(); /* never closed\n'
    t = tokenize(src)
    sk = t.skipped()
    assert sk["NUL byte"] == (1, 2)
    assert sk["byte outside the C character set"] == (2, 2)
    assert sk["unterminated string literal"] == (1, 3)
    assert sk["unterminated character literal"] == (1, 4)
    assert sk["unterminated comment"] == (1, 5)
    names = [t.text(i) for i in range(len(t)) if t.kind[i] == T_IDENT]
    assert names == [b"ok", b"x", b"foo"]


def test_empty_and_tiny_inputs():
    for src in (b"", b"\n", b"#", b"\\", b'"', b"'", b"/*", b"/", b"\\\n"):
        t = tokenize(src)
        assert len(t) <= len(src) + 1


def test_lexer_workspace_reuse_matches_fresh():
    lx = Lexer(capacity=4)
    for src in (b"a(b, c);", b"x" * 1000 + b"(1);", b'p("q");'):
        a = lx.run(src)
        b = tokenize(src)
        assert a.kind.tolist() == b.kind.tolist() and a.start.tolist() == b.start.tolist()


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.binary(max_size=400))
def test_never_fails_on_random_bytes(data):
    t = tokenize(data)
    n = len(data)
    assert np.all(t.start <= t.end) and np.all(t.end <= n)
    assert np.all(np.diff(t.start) >= 0)
    assert np.all(np.diff(t.line) >= 0) and (len(t) == 0 or t.line[0] >= 1)
    fo, fc, cands, pp = scan_structure(t.kind, t.start, t.end, t.buf)
    assert np.all(fo <= fc)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.sampled_from([b"f(", b")", b",", b"printk", b'"s"', b"/*", b"*/", b"\n#define ", b"'", b"\\\n",
                                 b" ", b"{", b"}", b";", b"\x00", b"\xc3\xa9"]), max_size=60))
def test_calls_and_args_stay_in_bounds(parts):
    src = b"".join(parts)
    t = tokenize(src)
    tab = NameTable.build(["printk", "f"])
    calls, names, in_pp = find_calls(t.kind, t.start, t.end, t.buf, tab.blob, tab.offs, tab.slots, np.int64(tab.mask))
    for c in calls.tolist():
        assert t.text(c) in (b"printk", b"f") and t.text(c + 1) == b"("
    b, na, close = split_args(t.kind, t.start, t.buf, calls.astype(np.int32), np.int64(4))
    assert np.all(b < max(len(t), 1)) and np.all(close < max(len(t), 1))


def test_function_bodies_and_if_else_braces():
    src = b"""static int __init foo(void)
{
#ifdef A
	if (x) {
#else
	if (y) {
#endif
		bar();
	}
	return 0;
}
struct s { int a; };
int tbl[] = { 1, 2 };
void baz(int a) __must_hold(&l) { qux(); }
"""
    t = tokenize(src)
    fo, fc, cands, pp = scan_structure(t.kind, t.start, t.end, t.buf)
    names = [[t.text(c) for c in row if c >= 0] for row in cands.tolist()]
    assert names == [[b"foo"], [b"baz", b"__must_hold"]]
    # the #if/#else restore keeps foo's body closing at its own brace
    assert t.line[fc[0]] == 11


def test_lex_all_threads_agree():
    from lwnlab.printk.lexer import lex_all

    bufs = [b'int a = "x"; /* c */\n', b'"open\n', b"\x00\xff f(1);\n"] * 5
    one, two = lex_all(bufs, threads=1), lex_all(bufs, threads=2)
    assert one == two and one["strings"] == 10 and one["NUL byte"] == 5 and one["unterminated string literal"] == 5


# ----------------------------------------------------------------------------- the fast lexer vs the byte loop

def _both(src: bytes):
    from lwnlab.printk.lexer import CHAR_CLASS, _workspace, lex

    from ._lex_reference import REF_CLASS
    from ._lex_reference import lex as ref_lex

    buf = np.frombuffer(src, np.uint8)
    a, b = _workspace(len(src)), _workspace(len(src))
    na = lex(buf, CHAR_CLASS, *a)
    nb = ref_lex(buf, REF_CLASS, *b)
    return (na, [x[:na].tolist() for x in a[:4]], a[4].tolist(), a[5].tolist()), \
        (nb, [x[:nb].tolist() for x in b[:4]], b[4].tolist(), b[5].tolist())


_C_PIECES = [b"printk", b"dev_err_probe_with_a_long_name", b"$x", b"a$b", b"L", b"u8", b"U", b"u", b"0x1fULL", b"1e+5",
             b".5", b"1'000", b"(", b")", b",", b";", b"{", b"}", b"=", b"->", b"#", b"\n#define ", b"\n# if 0\n",
             b" ", b"\t\t", b"\n", b"\r\n", b"\\\n", b"\\\r\n", b"\\", b"/", b"/*", b"*/", b"/* long comment\n\n with ***",
             b"//", b"// line comment \\\n continued", b'"', b'"str\\"ing\\\\"', b'"a\\\nb"', b"'", b"'\\''", b"'x'",
             b"\x00", b"\xff", b"\xc3\xa9", b"\x7f", b"\x01", b"*", b"/**/", b"abcdefgh", b"ABCDEFGHIJ_0123456789"]


@settings(max_examples=4 * EXAMPLES, deadline=None)
@given(st.lists(st.sampled_from(_C_PIECES), max_size=80))
def test_fast_lexer_equals_the_byte_loop_on_c_like_input(parts):
    a, b = _both(b"".join(parts))
    assert a == b


@settings(max_examples=2 * EXAMPLES, deadline=None)
@given(st.binary(max_size=300))
def test_fast_lexer_equals_the_byte_loop_on_random_bytes(data):
    a, b = _both(data)
    assert a == b


def test_fast_lexer_at_every_distance_from_the_end():
    # the 8-byte loads stop 8 bytes before the end: every construct must end right at any offset
    for body in (b"identifier_of_some_length", b"/* c\n\n*/", b"/* open\n", b"// x\\\ny", b'"s\\"\\\nt"', b"'c", b"u8\"x\"",
                 b"   \t x", b"\xff\xfe\x00abc"):
        for pad in range(0, 18):
            for tail in (b"", b"\n", b"*", b"/"):
                src = b"x" * pad + b" " + body + tail
                a, b = _both(src)
                assert a == b, (pad, body, tail)


def test_lexer_without_numba_gives_the_same_tokens():
    import json
    import os
    import subprocess
    import sys

    from .conftest import SAMPLE

    src = sorted(SAMPLE.rglob("*.c"))[0]
    code = ("import json, sys; from lwnlab._jit import jit_disabled; assert jit_disabled(); "
            "from lwnlab.printk.lexer import tokenize; t = tokenize(open(sys.argv[1], 'rb').read()); "
            "print(json.dumps([x.tolist() for x in (t.kind, t.start, t.end, t.line, t.stats, t.first)]))")
    out = subprocess.run([sys.executable, "-c", code, str(src)], env={**os.environ, "NUMBA_DISABLE_JIT": "1"},
                         capture_output=True, text=True, check=True).stdout
    t = tokenize(src.read_bytes())
    assert json.loads(out) == [x.tolist() for x in (t.kind, t.start, t.end, t.line, t.stats, t.first)]
