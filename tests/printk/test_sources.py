"""The source fetcher's bookkeeping (no download here: CI runs `lwnlab printk fetch`)."""

import json

import pytest

from lwnlab.errors import UnavailableError, UsageError
from lwnlab.printk import sources


def test_unknown_version_and_bad_subsystem(tmp_path):
    with pytest.raises(UsageError, match="6.1, 6.12"):
        sources.fetch("5.10", tmp_path)
    with pytest.raises(UsageError, match="relative"):
        sources.fetch("6.12", tmp_path, ["../etc"])


def test_find_tree_reads_the_marker(tmp_path):
    assert sources.find_tree("6.12", tmp_path) is None
    d = tmp_path / "linux-source-6.12"
    (d / "drivers/pci").mkdir(parents=True)
    (d / ".lwnlab-source.json").write_text(json.dumps({"package_version": "6.12.117-1~deb12u1",
                                                       "subsystems": ["drivers/pci"]}))
    t = sources.find_tree("6.12", tmp_path)
    assert t.package_version == "6.12.117-1~deb12u1" and not t.complete and t.has("drivers/pci")
    assert sources.find_tree("6.12", tmp_path, need="drivers/pci") is not None
    assert sources.find_tree("6.12", tmp_path, need="fs/xfs") is None
    with pytest.raises(UnavailableError, match="lwnlab printk fetch --version 6.12 --subsystem fs/xfs"):
        sources.require_tree("6.12", "fs/xfs", tmp_path)


def test_existing_tree_is_reused_without_download(tmp_path, monkeypatch):
    d = tmp_path / "linux-source-6.1"
    d.mkdir()
    (d / ".lwnlab-source.json").write_text(json.dumps({"package_version": "6.1.192-2", "subsystems": []}))
    monkeypatch.setattr(sources, "download_deb", lambda *a, **k: pytest.fail("must not download"))
    assert sources.fetch("6.1", tmp_path, ["drivers/pci"]).complete


def test_cache_root_env(monkeypatch, tmp_path):
    monkeypatch.setenv("LWNLAB_CACHE", str(tmp_path))
    assert sources.cache_root() == tmp_path
    assert sources.tree_dir("6.1") == tmp_path / "linux-source-6.1"
