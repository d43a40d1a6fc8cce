"""Format matching: vsprintf parsing, round trips (instantiate a format, match it back), log-line normalisation."""

import random
import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lwnlab.printk import fmt as F
from lwnlab.printk.index import build_index
from lwnlab.printk.match import Matcher, normalise, run_prog

from .conftest import EXAMPLES, SAMPLE


def test_parse_conversions_like_vsprintf():
    f = F.parse(b"%-08.3lx|%*d|%.*s|%%|%hhu|%zd|%pI4:%pMR|%pS%s\n")
    convs = [(c.flags, c.width, c.precision, c.qualifier, c.conv, c.ext) for c in f.convs]
    assert convs == [("-0", 8, 3, "l", "x", ""), ("", -1, None, "", "d", ""), ("", None, -1, "", "s", ""),
                     ("", None, None, "hh", "u", ""), ("", None, None, "z", "d", ""), ("", None, None, "", "p", "I4"),
                     ("", None, None, "", "p", "MR"), ("", None, None, "", "p", "S"), ("", None, None, "", "s", "")]
    assert b"|%|" in f.fixed_text.replace(b"\0", b"")
    # %p swallows every alphanumeric after it, like pointer() + the isalnum loop
    assert F.parse(b"%pinfo x").convs[0].ext == "info"
    # a bad conversion is literal text; the trailing newline is not part of the message
    assert F.parse(b"50%!\n").parts == (b"50%!",)


CONVS = ["%d", "%i", "%u", "%x", "%X", "%#x", "%lu", "%lld", "%5d", "%-4d", "%08x", "%c", "%s", "%.3s", "%p",
         "%px", "%pK", "%pS", "%ps", "%pM", "%pMR", "%pI4", "%pI6c", "%pU", "%pUb", "%pe", "%pa", "%pR", "%pOF",
         "%pg", "%pd", "%pV", "%o", "%%", "%zu", "%hhx"]
WORDS = ["CPU", " on fire", ": ", " temp=", "error ", "ok", "[", "]", " (", ")", "/", "-", "x"]


@st.composite
def formats(draw):
    parts = draw(st.lists(st.one_of(st.sampled_from(CONVS), st.sampled_from(WORDS)), min_size=1, max_size=8))
    return "".join(parts).encode()


@settings(max_examples=EXAMPLES, deadline=None)
@given(formats(), st.integers(0, 2**32))
def test_round_trip_instantiate_and_match(fmt, seed):
    f = F.parse(fmt)
    msg = f.instantiate(random.Random(seed))
    assert re.fullmatch(f.regex(), msg.decode("latin-1"), re.S), (fmt, msg)
    m = Matcher.from_formats([fmt, b"unrelated %d words\n"])
    best, _ = m.match_messages([msg])
    assert best[0] >= 0
    # whatever format wins must really produce the message (here: the only candidate or an equal)
    assert re.fullmatch(m.formats[best[0]].regex(), msg.decode("latin-1"), re.S)


@settings(max_examples=EXAMPLES, deadline=None)
@given(formats(), st.text(alphabet="0123456789abcdefCPU on fire:()[]-/x. ", max_size=30))
def test_numba_matcher_agrees_with_re(fmt, text):
    """Differential: the numba program and the Python regex accept the same strings."""
    f = F.parse(fmt)
    m = Matcher.from_formats([fmt])
    line = np.frombuffer(text.encode(), np.uint8)
    r = run_prog(line, np.int64(0), np.int64(line.shape[0]), m.ops, np.int64(0), np.int64(m.ops.shape[0]), m.blob,
                 F.CLASS_TABLE, np.zeros((512, 3), np.int64), np.int64(10**6))
    assert (r == 1) == bool(re.fullmatch(f.regex(), text, re.S))


def test_most_specific_format_wins():
    m = Matcher.from_formats([b"%s %s: %s\n", b"%s %s: link is down\n", b"%s\n", b"%s %s: link is %s\n"])
    best, _ = m.match_messages([b"e1000e 0000:00:19.0: link is down", b"e1000e 0000:00:19.0: link is up",
                                b"anything", b"a b: c"])
    assert best.tolist() == [1, 3, 2, 0]


def test_normalise_prefixes():
    assert normalise("[    1.234567] hello") == "hello"
    assert normalise("Jun  3 12:00:00 host kernel: [ 5.000000] hi there") == "hi there"
    assert normalise("2021-06-03T12:00:00.123+00:00 host kernel: msg") == "msg"
    assert normalise("6,1234,5678901,-;kmsg text") == "kmsg text"
    assert normalise(" SUBSYSTEM=pci") is None
    assert normalise("<4>[    2.5] lvl") == "lvl"
    assert normalise("plain") == "plain"


def test_sample_tree_lines_and_pr_cont():
    ix = build_index(SAMPLE / "v1", progress=False)
    m = Matcher.from_index(ix)
    res = m.match(["[    1.0] firewatch: CPU3 on fire: 110 C",
                   "firewatch: temperatures: 40 41 42",
                   "e1000e 0000:00:19.0: zone CPU2 running hot (95 C)",
                   "fan_ctl: fan_set_speed: fan at  1200 rpm ( 20%)",
                   "thermal shutdown at ffff888100000000 (do_thing+0x10/0x20 [mod])",
                   "no such message"])
    got = [(r.entry.func, len(r.fragments)) if r.entry else None for r in res]
    assert got == [("firewatch_check", 0), ("firewatch_report", 3), ("firewatch_check", 0), ("fan_set_speed", 0),
                   ("heat_panic", 0), None]


def test_synthetic_accuracy_on_sample():
    ix = build_index(SAMPLE / "v2", progress=False)
    m = Matcher.from_index(ix)
    rng = random.Random(5)
    idx = [rng.randrange(len(m.formats)) for _ in range(300)]
    msgs = [m.formats[i].instantiate(rng) for i in idx]
    best, _ = m.match_messages(msgs)
    ok = sum(b >= 0 and m.entries[b].body == m.entries[i].body for i, b in zip(idx, best.tolist()))
    assert ok / len(idx) >= 0.9
    assert (best >= 0).all()


def test_threads_give_the_same_answers():
    ix = build_index(SAMPLE / "v2", progress=False)
    m = Matcher.from_index(ix)
    rng = random.Random(9)
    msgs = [f.instantiate(rng) for f in m.formats for _ in range(3)]
    a, na = m.match_messages(msgs)
    b, nb = m.match_messages(msgs, threads=2)
    assert a.tolist() == b.tolist() and na.tolist() == nb.tolist()


def test_matcher_is_cached_per_index_file(tmp_path):
    from lwnlab.printk.index import build_index
    from lwnlab.printk.match import Matcher

    ix = build_index(SAMPLE / "v1", progress=False)
    path = tmp_path / "ix.txt"
    ix.write(path)
    cache = tmp_path / "cache"
    lines = ["[ 1.5] firewatch: CPU1 on fire: 120 C", "nothing like it"]
    m1, hit1 = Matcher.for_index_file(path, cache_dir=cache)
    m2, hit2 = Matcher.for_index_file(path, cache_dir=cache)
    assert (hit1, hit2) == (False, True) and len(list(cache.glob("*.npz"))) == 1
    for k, v in m1.state().items():
        assert np.array_equal(v, m2.state()[k]), k
    r1, r2 = m1.match(lines), m2.match(lines)
    assert [(r.entry.file, r.entry.line) if r.entry else None for r in r1] == \
        [(r.entry.file, r.entry.line) if r.entry else None for r in r2] and r2[0].entry is not None
    assert m2.regex(0).pattern == m1.regex(0).pattern  # formats are parsed on demand
    # a changed index is another file: built again, the old cache stays
    path.write_text(path.read_text() + '<3> x.c:1 f "brand new %d"\n')
    m3, hit3 = Matcher.for_index_file(path, cache_dir=cache)
    assert not hit3 and len(m3.entries) == len(ix) + 1 and len(list(cache.glob("*.npz"))) == 2
    assert m3.match(["brand new 7"])[0].entry.file == "x.c"
    # a damaged cache file is rebuilt, not trusted
    for p in cache.glob("*.npz"):
        p.write_bytes(b"junk")
    m4, hit4 = Matcher.for_index_file(path, cache_dir=cache)
    assert not hit4 and m4.match(["brand new 7"])[0].entry.file == "x.c"
    m5, hit5 = Matcher.for_index_file(path, cache_dir=cache)
    assert hit5


def test_pr_cont_join_beats_a_wildcard_whole_line_format(tree):
    """Every real kernel has "%s\\n" formats (and "%s: %s %02x: %s\\n"...), which match any joined pr_cont
    line whole: the joined reading must still win when its formats have more fixed text."""
    root = tree({
        "drivers/net/yf.c": '#define pr_fmt(fmt) "yf: " fmt\n'
                            'void tx_timeout(void) { int i;\n pr_warn("  Tx ring %p: ", ring);\n'
                            ' for (i = 0; i < 4; i++)\n  pr_cont(" %04x /%08x", a, b);\n pr_cont("\\n"); }\n',
        "lib/any.c": 'void dump(void) { printk("%s\\n", buf); printk(KERN_ERR "%s: %s %02x: %s\\n", a, b, c, d); }\n',
        "arch/x/traps.c": 'void show_registers(void) { int i;\n printk("Code:");\n'
                          ' for (i = 0; i < 8; i++) pr_cont(" %s", w);\n pr_cont("\\n"); }\n'
                          'void show_opcodes(void) { printk("Code: %s end\\n", w); }\n',
    })
    m = Matcher.from_index(build_index(root, progress=False))
    r = m.match(["[ 12.5] yf:   Tx ring 00000000deadbeef:  0001 /00000002 0003 /00000004"])[0]
    assert (r.entry.file, r.entry.line) == ("drivers/net/yf.c", 3)
    assert [(f.line, f.text) for f in r.fragments] == [(5, " %04x /%08x"), (5, " %04x /%08x")]
    # a fragment repeated is no more specific than once: "Code:" + " %s" (6 fixed characters) loses to
    # "Code: %s end" (10), though eight " %s" would spell the line too
    r = m.match(["Code: 1 2 3 4 5 6 7 end"])[0]
    assert (r.entry.func, r.fragments) == ("show_opcodes", [])
    r = m.match(["Code: 1 2 3 4 5 6 7 8"])[0]
    assert r.entry.func == "show_registers" and len(r.fragments) == 8
    # a line that is not a joined sequence keeps its whole-line format
    r = m.match(["yf: x: y 00: z"])[0]
    assert r.entry.file == "lib/any.c" and r.fragments == []
    # a repeated line (joined once per run) gets the same reading, with its own timestamp-free text
    rs = m.match(["[ 1.0] Code: 1 2 3 4 5 6 7 8", "Code: 9 9 9 9 9 9 9 9", "[ 2.0] Code: 1 2 3 4 5 6 7 8"])
    assert [(r.line, r.entry.func, len(r.fragments)) for r in rs] == [
        ("Code: 1 2 3 4 5 6 7 8", "show_registers", 8), ("Code: 9 9 9 9 9 9 9 9", "show_registers", 8),
        ("Code: 1 2 3 4 5 6 7 8", "show_registers", 8)]
    assert rs[0].fragments is not rs[2].fragments


def test_messages_that_look_like_kmsg_dictionaries_are_kept():
    """Only " KEY=value" (one space, no spaces around '=') is a /dev/kmsg dictionary line; alpha's
    "  PCI_ERR0 = %08x" and the like are kernel messages and must get a result line each."""
    assert normalise(" SUBSYSTEM=pci") is None and normalise(" DEVICE=+pci:0000:00:1f.2") is None
    for msg in ("  PCI_ERR0 = 0xa7cf94d7", "  WHOAMI      = 69eb8cb4", "  EV5 BC_TAG_ADDR                =    dead"):
        assert normalise(msg) == msg
    m = Matcher.from_formats([b"  PCI_ERR0 = %08x\n", b"x %d\n"])
    res = m.match(["  PCI_ERR0 = a7cf94d7", "x 1"])
    assert [r.entry.fmt for r in res] == [b"  PCI_ERR0 = %08x\n", b"x %d\n"]


def test_a_line_longer_than_any_kernel_record_is_unmatched_at_once():
    """printk records hold at most 1024 bytes of text; a 10 MB line (a broken log) took minutes to match."""
    from lwnlab.printk.match import MAX_MESSAGE_BYTES

    m = Matcher.from_formats([b"%s\n", b"Tx ring %p: ", b"x %d\n"])
    huge = "x " + " 0001 /00000002" * 200_000  # "%s" would take it whole: it is no message, so unmatched
    res = m.match([huge, "x 5", "a" * (MAX_MESSAGE_BYTES + 1), "a" * MAX_MESSAGE_BYTES])
    assert [r.entry.fmt if r.entry else None for r in res] == [None, b"x %d\n", None, b"%s\n"]
