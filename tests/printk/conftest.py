"""Helpers for the printk tests: small trees written on the fly, the sample tree, the real sources."""

import os
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "lwnlab" / "printk" / "sample_tree"
EXAMPLES = int(os.environ.get("LWNLAB_HYPOTHESIS_EXAMPLES", "60"))


@pytest.fixture(autouse=True)
def _matcher_cache(tmp_path_factory, monkeypatch):
    """Built matchers go to a temporary folder, not the user's cache."""
    monkeypatch.setenv("LWNLAB_MATCHER_CACHE", str(tmp_path_factory.getbasetemp() / "printk-matchers"))


@pytest.fixture
def tree(tmp_path):
    """``tree({"path": "text", ...})`` writes files under a temporary tree root and returns it."""

    def make(files: dict) -> Path:
        for rel, text in files.items():
            p = tmp_path / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(text.encode("latin-1") if isinstance(text, str) else text)
        return tmp_path

    return make


def real_tree(version: str, need: str):
    from lwnlab.printk.sources import find_tree

    t = find_tree(version, need=need)
    if t is None:
        pytest.skip(f"linux-source-{version} with {need} is not unpacked "
                    f"(run: lwnlab printk fetch --version {version} --ci)")
    return t.path
