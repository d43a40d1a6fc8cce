"""The debugfs text format of kernel/printk/index.c: header, level field forms, seq_escape_str escaping."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lwnlab.errors import SourceError
from lwnlab.printk.index import HEADER, Entry, Index, escape, level_field, parse_prefix, unescape

from .conftest import EXAMPLES


def test_header_is_the_kernels():
    assert HEADER == '# <level/flags> filename:line function "format"'
    assert Index([]).to_text() == HEADER + "\n"


@pytest.mark.parametrize("raw,esc", [
    (b'"', '\\"'), (b"\\", "\\\\"), (b"\n", "\\n"), (b"\t", "\\t"), (b"\r", "\\r"), (b"\v", "\\v"), (b"\f", "\\f"),
    (b"\a", "\\a"), (b"\x1b", "\\e"), (b"\x01", "\\001"), (b"\x7f", "\\177"), (b"\b", "\\010"),
    (b"caf\xc3\xa9", "caf\\303\\251"), (b" ~'%", " ~'%"), (b"a\0b", "a"),  # seq_escape_str stops at NUL
])
def test_escaping_rules(raw, esc):
    assert escape(raw) == esc


def test_documented_pci_stub_line_round_trips():
    line = '<4> drivers/pci/pci-stub.c:69 pci_stub_init "pci-stub: invalid ID string \\"%s\\"\\n"'
    ix = Index.from_text(HEADER + "\n" + line + "\n")
    (e,) = ix.entries
    assert e.body == b'pci-stub: invalid ID string "%s"\n' and e.levelno == 4
    assert ix.to_text() == HEADER + "\n" + line + "\n"
    e2 = Entry(fmt=b"\x014pci-stub: invalid ID string \"%s\"\n", func="pci_stub_init",
               file="drivers/pci/pci-stub.c", line=69)
    assert e2.debugfs_line() == line


@pytest.mark.parametrize("fmt,level,expect", [
    (b"\x013x", None, "<3>"), (b"x", None, "<-1>"), (b"\x01cx", None, "<c>"), (b"\x01c\x014x", None, "<4,c>"),
    (b"\x016\x013x", None, "<6>"), (b"x", b"\x015", "<5>"), (b"\x013x", b"\x01c", "<c>"),
    (b"\x01zx", None, "<-1>"),  # not a level: stays in the text
])
def test_level_forms(fmt, level, expect):
    e = Entry(fmt=fmt, func="f", file="a.c", line=1, level=level)
    assert e.debugfs_line().split(" ")[0] == expect


def test_level_prefix_is_stripped_only_from_fmt():
    e = Entry(fmt=b"\x013\x01cmsg", func="f", file="a.c", line=1, subsys_fmt_prefix=b"%s %s: ")
    assert e.debugfs_line() == '<3,c> a.c:1 f "%s %s: msg"'
    e = Entry(fmt=b"\x01zmsg", func="f", file="a.c", line=1)
    assert e.debugfs_line() == '<-1> a.c:1 f "\\001zmsg"'
    assert parse_prefix(b"\x01") == (-1, False, 0)
    assert level_field(-1, True) == "<c>" and level_field(2, True) == "<2,c>"


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.binary(max_size=80).filter(lambda b: b"\0" not in b))
def test_escape_round_trip(data):
    assert unescape(escape(data)) == data
    assert "\n" not in escape(data) and all(32 <= ord(c) < 127 for c in escape(data))


def test_text_and_json_round_trip():
    ents = [Entry(fmt=b"\x013err \"%s\"\n", func="f", file="a.c", line=3, module="a"),
            Entry(fmt=b"cont", func="g", file="b.c", line=4, level=b"\x01c"),
            Entry(fmt=b"x\xc3\xa9\n", func="h", file="c.c", line=5, level=b"\x016", subsys_fmt_prefix=b"%s %s: ",
                  in_kernel_index=False, macro="netdev_info", reason="r")]
    ix = Index(ents)
    back = Index.from_text(ix.to_text())
    assert back.to_text() == ix.to_text()
    j = Index.from_json(json.loads(json.dumps(ix.to_json())))
    assert j.entries == ents


def test_bad_index_input_names_the_line(tmp_path):
    p = tmp_path / "ix.txt"
    p.write_text(HEADER + '\n<3> a.c:1 f "ok"\nnot an entry\n')
    with pytest.raises(SourceError) as ei:
        Index.load(p)
    assert ei.value.line == 3
    p.write_text('<3> a.c:1 f "bad \\q escape"\n')
    with pytest.raises(SourceError, match="bad escape"):
        Index.load(p)
    p.write_text('{"entries": [{"file": 3}]}')
    with pytest.raises(SourceError, match="entries\\[0\\]"):
        Index.load(p)
    with pytest.raises(SourceError, match="directory"):
        Index.load(tmp_path)


def test_by_module_and_search():
    ents = [Entry(fmt=b"\x013a\n", func="f", file="x.c", line=1, module="m1"),
            Entry(fmt=b"\x016b\n", func="f", file="y.c", line=1, module="m2"),
            Entry(fmt=b"\x013c\n", func="f", file="y.c", line=2, module="m2")]
    ix = Index(ents)
    assert sorted(ix.by_module()) == ["m1", "m2"] and len(ix.by_module()["m2"]) == 2
    assert [e.line for e in ix.search(level=3, file="y.c")] == [2]
    assert [e.file for e in ix.search(text="B")] == ["y.c"]


@pytest.mark.parametrize("entries, msg", [
    ("[5]", "expected an object, got int"),
    ('[{"file": "a.c", "line": 1, "format_escaped": 7}]', "'format_escaped' must be a string"),
    ('[{"file": "a.c", "line": 1, "fmt_escaped": ["x"]}]', "'fmt_escaped' must be a string"),
    ('[{"file": "a.c", "line": 1}]', "missing 'format_escaped'"),
    ('[{"line": 1, "format_escaped": "x"}]', "missing 'file'"),
])
def test_malformed_json_entries_are_source_errors(tmp_path, entries, msg):
    p = tmp_path / "ix.json"
    p.write_text('{"entries": %s}' % entries)
    with pytest.raises(SourceError, match=msg) as ei:
        Index.load(p)
    assert ei.value.location.field == "entries[0]" and ei.value.location.file == str(p)
