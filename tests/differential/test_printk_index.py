"""Differential checks of lwnlab.printk against the running kernel, where it exposes its index.

* ``/sys/kernel/debug/printk/index/*`` exists only with CONFIG_PRINTK_INDEX=y and debugfs mounted:
  every line must parse and re-emit byte for byte (levels, escaping);
* ``/sys/kernel/debug/dynamic_debug/control`` (CONFIG_DYNAMIC_DEBUG): its formats must compile to matchers.

Skips with the reason otherwise (Debian kernels do not enable CONFIG_PRINTK_INDEX).
"""

import gzip
from pathlib import Path

import pytest

from lwnlab.printk.index import HEADER, Index

INDEX_DIR = Path("/sys/kernel/debug/printk/index")


def _config(opt: str) -> str:
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            for line in f:
                if line.startswith(opt + "=") or line.startswith(f"# {opt} is not set"):
                    return line.strip()
    except OSError:
        pass
    return f"{opt}: unknown (no /proc/config.gz)"


def test_live_printk_index_round_trips():
    try:
        files = sorted(INDEX_DIR.iterdir()) if INDEX_DIR.is_dir() else []
    except PermissionError:
        pytest.skip("debugfs is not readable here (need root)")
    if not files:
        pytest.skip(f"no {INDEX_DIR} on this kernel ({_config('CONFIG_PRINTK_INDEX')}, debugfs mounted: "
                    f"{Path('/sys/kernel/debug').is_dir() and any(Path('/sys/kernel/debug').iterdir())})")
    for f in files[:50]:
        text = f.read_bytes().decode("latin-1")
        assert text.splitlines()[0] == HEADER
        ix = Index.from_text(text, str(f))
        assert ix.to_text() == text, f


def test_live_dynamic_debug_formats_compile():
    ctl = Path("/sys/kernel/debug/dynamic_debug/control")
    if not ctl.is_file():
        pytest.skip(f"no {ctl} ({_config('CONFIG_DYNAMIC_DEBUG')}; debugfs not mounted?)")
    from lwnlab.printk import fmt as F

    lines = ctl.read_text(errors="replace").splitlines()[1:2000]
    assert lines
    for ln in lines:
        q = ln.find(' "')
        if q < 0:
            continue
        body = ln[q + 2:].rstrip().rstrip('"')
        F.parse(body.encode("latin-1", errors="replace")).regex()
