"""Over real kernel sources (linux-source-6.12 from Debian), when unpacked; CI fetches them with
``lwnlab printk fetch --version 6.12 --ci``.  Skips with the reason otherwise."""

import random
import re

import pytest

from lwnlab.printk.extract import KERN_LEVEL_MACROS
from lwnlab.printk.index import HEADER, build_index, escape
from lwnlab.printk.match import Matcher

from .conftest import real_tree


@pytest.fixture(scope="module")
def pci():
    root = real_tree("6.12", "drivers/pci")
    return root, build_index(root, ["drivers/pci"], progress=False)


def test_kern_levels_match_the_kernel_header():
    root = real_tree("6.12", "include/linux/kern_levels.h")
    text = (root / "include/linux/kern_levels.h").read_text()
    for name, val in KERN_LEVEL_MACROS.items():
        if name == "KERN_SOH":
            assert '#define KERN_SOH\t"\\001"' in text
            continue
        m = re.search(r"#define %s\s+(KERN_SOH )?\"(\w*)\"" % name, text)
        assert m, name
        assert val == ((b"\x01" if m.group(1) else b"") + m.group(2).encode())


def test_debugfs_format_matches_index_c():
    root = real_tree("6.12", "kernel/printk")
    src = (root / "kernel/printk/index.c").read_text()
    assert 'seq_puts(s, "# <level/flags> filename:line function \\"format\\"\\n");' in src
    assert HEADER == '# <level/flags> filename:line function "format"'
    assert 'seq_puts(s, "<c>")' in src and 'seq_printf(s, "<%d,c>", level)' in src and 'seq_printf(s, "<%d>", level)' in src
    assert "seq_escape_str(s, src, ESCAPE_ANY | ESCAPE_NAP | ESCAPE_APPEND, \"\\\"\\\\\")" in src
    helpers = (root / "lib/string_helpers.c").read_text() if (root / "lib/string_helpers.c").exists() else ""
    if helpers:
        assert "case '\"':\n\t\tto = '\"';" in helpers  # escape_special() escapes the double quote
    assert escape(b'"\\\x1b\x07\x80') == '\\"\\\\\\e\\a\\200'


def test_pci_stub_line(pci):
    root, ix = pci
    lines = [e.debugfs_line() for e in ix if e.file == "drivers/pci/pci-stub.c"]
    assert any(re.fullmatch(r'<4> drivers/pci/pci-stub\.c:\d+ pci_stub_init "pci-stub: invalid ID string \\"%s\\"\\n"', x)
               for x in lines), lines


def test_pci_extraction_quality(pci):
    root, ix = pci
    st = ix.stats
    assert st["files"] > 150 and st["calls"] > 2000
    assert st["resolved"] / st["calls"] >= 0.98
    # drivers/pci/pci.h-using files define dev_fmt as pr_fmt "PCI: ": dev_* messages carry it
    assert any(e.text.startswith("%s %s: PCI: ") for e in ix if e.file.startswith("drivers/pci/"))
    # composite/renamed objects: pcie-designware-host.c builds into pcie_designware_host? check it is a real name
    mods = {e.module for e in ix}
    assert all(m and "-" not in m for m in mods)
    kinds = {e.macro for e in ix if not e.in_kernel_index}
    assert {"dev_dbg", "dev_err_probe"} <= kinds


def test_pci_synthetic_matching(pci):
    root, ix = pci
    m = Matcher.from_index(ix)
    rng = random.Random(1)
    idx = [rng.randrange(len(m.formats)) for _ in range(2000)]
    msgs = [m.formats[i].instantiate(rng) for i in idx]
    best, _ = m.match_messages(msgs)
    same = sum(b >= 0 and m.entries[b].body == m.entries[i].body for i, b in zip(idx, best.tolist()))
    assert (best >= 0).mean() >= 0.99
    assert same / len(idx) >= 0.95


def test_parallel_extraction_is_identical(pci):
    root, ix = pci
    from lwnlab.printk.index import build_index

    ix2 = build_index(root, ["drivers/pci"], progress=False, jobs=2)
    assert ix2.entries == ix.entries and ix2.stats == ix.stats
