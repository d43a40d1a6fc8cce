"""Fetch and unpack Debian's ``linux-source-6.1`` / ``linux-source-6.12`` into a cache folder.

Both packages are in Debian bookworm's configured suites (``bookworm`` and
``bookworm-security``: linux-source-6.1 6.1.192-2 and linux-source-6.12
6.12.117-1~deb12u1 at the time of writing), so a plain ``apt-get download``
gets them; no extra suite is needed.  The ``.deb`` holds
``/usr/src/linux-source-X.tar.xz``; we stream that tarball out of the package
with ``dpkg-deb --fsys-tarfile`` and unpack it with ``tar -xJ``, either whole
(about 1.7 GB, for the benchmark) or only some sub-directories (for CI).

Layout of the cache (default ``~/.cache/lwnlab``, or ``$LWNLAB_CACHE``)::

    debs/linux-source-6.12_6.12.117-1~deb12u1_all.deb
    linux-source-6.12/            the unpacked tree (Makefile, include/, drivers/...)
    linux-source-6.12/.lwnlab-source.json   what was unpacked (version, subsets)

Command line: ``lwnlab printk fetch --version 6.12 [--subsystem drivers/pci ...]``.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lwnlab.errors import UnavailableError, UsageError

VERSIONS = ("6.1", "6.12")
MARKER = ".lwnlab-source.json"

#: the directories the integration tests, the notebook and CI need: a small subsystem
#: with pr_fmt/dev_fmt/KBUILD_MODNAME variety, plus the printk headers the tests cross-check.
CI_SUBSYSTEMS = (
    "drivers/pci",
    "kernel/printk",
    "include/linux/printk.h",
    "include/linux/dev_printk.h",
    "include/linux/kern_levels.h",
    "include/linux/ratelimit_types.h",
    "lib/string_helpers.c",
)


def cache_root(cache: str | os.PathLike | None = None) -> Path:
    if cache:
        return Path(cache).expanduser()
    env = os.environ.get("LWNLAB_CACHE")
    if env:
        return Path(env).expanduser()
    return Path("~/.cache/lwnlab").expanduser()


def _check_version(version: str) -> str:
    if version not in VERSIONS:
        raise UsageError(f"unknown kernel version {version!r}; choose one of {', '.join(VERSIONS)}",
                         field="version")
    return version


@dataclass(frozen=True)
class SourceTree:
    """An unpacked (maybe partial) linux-source tree."""

    version: str
    path: Path
    package_version: str
    subsystems: tuple[str, ...]  # empty: the whole tree

    @property
    def complete(self) -> bool:
        return not self.subsystems

    def has(self, sub: str) -> bool:
        return (self.path / sub).exists()


def tree_dir(version: str, cache=None) -> Path:
    return cache_root(cache) / f"linux-source-{_check_version(version)}"


def find_tree(version: str, cache=None, need: str | None = None) -> SourceTree | None:
    """The unpacked tree for ``version`` if present (and containing ``need``), else None."""
    path = tree_dir(version, cache)
    marker = path / MARKER
    if not marker.is_file():
        return None
    try:
        meta = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    tree = SourceTree(version, path, meta.get("package_version", "?"), tuple(meta.get("subsystems", ())))
    if need is not None and not tree.has(need):
        return None
    return tree


def _run(cmd, **kw):
    try:
        return subprocess.run(cmd, check=True, **kw)
    except FileNotFoundError as e:
        raise UnavailableError(f"{cmd[0]} is not installed; fetching linux-source needs Debian's apt and dpkg") from e
    except subprocess.CalledProcessError as e:
        err = (e.stderr or b"").decode(errors="replace").strip() if isinstance(e.stderr, bytes) else (e.stderr or "")
        raise UnavailableError(f"{' '.join(map(str, cmd))} failed (status {e.returncode}): {err[-400:]}") from e


def download_deb(version: str, cache=None, *, quiet: bool = False) -> Path:
    """``apt-get download linux-source-X`` into ``<cache>/debs`` (reused when already there)."""
    debs = cache_root(cache) / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    pkg = f"linux-source-{_check_version(version)}"
    have = sorted(glob.glob(str(debs / f"{pkg}_*_all.deb")))
    if have:
        return Path(have[-1])
    if shutil.which("apt-get") is None:
        raise UnavailableError(f"apt-get is not available: download {pkg} from a Debian mirror "
                               f"into {debs} by hand")
    if not quiet:
        print(f"lwnlab: apt-get download {pkg} (about 150 MB) into {debs}", file=sys.stderr)
    _run(["apt-get", "download", pkg], cwd=debs, capture_output=True)
    have = sorted(glob.glob(str(debs / f"{pkg}_*_all.deb")))
    if not have:
        raise UnavailableError(f"apt-get download {pkg} produced no .deb in {debs}")
    return Path(have[-1])


def fetch(version: str = "6.12", cache=None, subsystems=(), *, quiet: bool = False) -> SourceTree:
    """Download (if needed) and unpack linux-source-``version``; return the tree.

    ``subsystems`` restricts unpacking to those paths (relative to the tree
    root, e.g. ``drivers/pci``); top-level and per-directory Makefiles/Kbuild
    files along the way are always unpacked so KBUILD_MODNAME can be resolved.
    A tree already unpacked with a superset of what is asked is reused.
    """
    _check_version(version)
    subsystems = tuple(sorted({s.strip("/") for s in subsystems if s.strip("/")}))
    for s in subsystems:
        if ".." in Path(s).parts or Path(s).is_absolute():
            raise UsageError(f"subsystem path {s!r} must be relative to the tree root", field="subsystem")
    existing = find_tree(version, cache)
    if existing is not None:
        if existing.complete or (subsystems and all(existing.has(s) for s in subsystems)):
            return existing
    deb = download_deb(version, cache, quiet=quiet)
    dest = tree_dir(version, cache)
    dest.mkdir(parents=True, exist_ok=True)
    inner = f"./usr/src/linux-source-{version}.tar.xz"
    top = f"linux-source-{version}"
    members: list[str] = []
    wildcards: list[str] = []
    if subsystems:
        members = [f"{top}/{s}" for s in subsystems] + [f"{top}/Makefile"]
        # the Makefiles of every parent directory, for KBUILD_MODNAME
        parents = {str(Path(s).parent) for s in subsystems} | set(subsystems)
        for p in sorted(parents):
            parts = Path(p).parts
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                wildcards += [f"{top}/{d}/Makefile", f"{top}/{d}/Kbuild"]
    if not quiet:
        what = "the whole tree (about 1.7 GB)" if not subsystems else ", ".join(subsystems)
        print(f"lwnlab: unpacking {deb.name}: {what} into {dest}", file=sys.stderr)
    dpkg = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    try:
        tar1 = subprocess.Popen(["tar", "-xO", "-f", "-", inner], stdin=dpkg.stdout, stdout=subprocess.PIPE)
        dpkg.stdout.close()
        cmd = ["tar", "-xJ", "-f", "-", "-C", str(dest), "--strip-components=1", "--no-same-owner"]
        if subsystems:
            cmd += ["--wildcards", "--no-wildcards-match-slash"]
            cmd += sorted(set(wildcards))
            # a plain member name also extracts everything below it
            cmd += ["--no-wildcards"] + members
        tar2 = subprocess.run(cmd, stdin=tar1.stdout, capture_output=True)
        tar1.stdout.close()
        tar1.wait()
    finally:
        dpkg.wait()
    if tar2.returncode not in (0,) and subsystems:
        # tar exits 2 when a requested member (e.g. a Kbuild that does not exist) is absent
        missing = [s for s in subsystems if not (dest / s).exists()]
        if missing:
            raise UsageError(f"not in linux-source-{version}: {', '.join(missing)}", field="subsystem")
    elif tar2.returncode != 0:
        raise UnavailableError(f"unpacking {deb} failed: {tar2.stderr.decode(errors='replace')[-400:]}")
    prev = set(existing.subsystems) if existing is not None else set()
    pkg_version = deb.name.split("_")[1] if "_" in deb.name else "?"
    meta = {"version": version, "package": f"linux-source-{version}", "package_version": pkg_version,
            "subsystems": sorted(prev | set(subsystems)) if subsystems else []}
    (dest / MARKER).write_text(json.dumps(meta, indent=1))
    return find_tree(version, cache)


def require_tree(version: str = "6.12", need: str | None = None, cache=None) -> SourceTree:
    """The unpacked tree or :class:`UnavailableError` saying how to get it."""
    tree = find_tree(version, cache, need)
    if tree is None:
        extra = f" --subsystem {need}" if need else ""
        raise UnavailableError(f"linux-source-{version}{' ' + need if need else ''} is not unpacked in "
                               f"{cache_root(cache)}; run: lwnlab printk fetch --version {version}{extra}")
    return tree


__all__ = ["VERSIONS", "CI_SUBSYSTEMS", "SourceTree", "cache_root", "tree_dir", "find_tree", "fetch",
           "download_deb", "require_tree"]
