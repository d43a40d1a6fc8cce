"""KBUILD_MODNAME from the kernel's Makefiles.

Kbuild defines ``-DKBUILD_MODNAME='"name"'`` for every object (built-in or
module): ``modname_flags = -DKBUILD_MODNAME=$(call name-fix,$(modname))``
where ``modname`` is the name of the module (or built-in "module") the object
is linked into and ``name-fix`` maps ``-`` to ``_``.  For a composite object
(``foo-y := a.o b.o`` or ``foo-objs := ...`` with ``obj-m += foo.o``) the
name is the composite's, not the file's basename; an object linked into
several composites gets their names sorted and joined with ``:``
(``modname = $(subst $(space),:,$(sort $(mod)))`` in scripts/Makefile.lib).
A ``foo-y`` list makes a composite only when ``foo.o`` itself is in an
``obj-*`` list (``multi-obj-ym``): mm/Makefile's ``mmu-y := ... mmap.o ...``
is a plain variable expanded into ``obj-y``, so mmap.c's name is ``mmap``.

We parse ``Makefile``/``Kbuild`` with continuations joined and every
``$(CONFIG_...)`` condition taken as true (a superset of all configs), which
is what an index over all architectures and configs needs.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

_ASSIGN = re.compile(r"^\s*([A-Za-z0-9_.+/-]+?)-(y|m|objs|\$\([A-Za-z0-9_]+\)|\$\(CONFIG_[A-Za-z0-9_]+:m=y\))\s*(?::=|\+=|=|\?=)\s*(.*)$")


def name_fix(name: str) -> str:
    """Kbuild's ``name-fix``: ``-`` becomes ``_``."""
    return name.replace("-", "_")


@lru_cache(maxsize=4096)
def _parse_makefile(path: str) -> dict[str, set[str]]:
    """``{object path (relative to the Makefile's dir, without .o): {composite names}}``.

    Objects listed in ``obj-*`` map to themselves (the empty set means "its own module"); a ``foo-y``
    list counts as composite ``foo`` only when ``foo.o`` is listed in ``obj-*`` (Kbuild's
    ``multi-obj-ym``), else its objects are built under their own names.
    """
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return {}
    text = re.sub(r"\\\n", " ", text)
    parent: dict[str, set[str]] = {}
    listed: set[str] = set()  # objects of obj-* lists
    for raw in text.splitlines():
        line = raw.split("#", 1)[0]
        m = _ASSIGN.match(line)
        if not m:
            continue
        lhs, rhs = m.group(1), m.group(3)
        if lhs in ("subdir", "always", "targets", "extra", "hostprogs", "userprogs", "clean-files", "lib",
                   "ccflags", "asflags", "ldflags", "subdir-ccflags", "CFLAGS", "AFLAGS"):
            continue
        for word in rhs.split():
            if not word.endswith(".o") or "$" in word:
                continue
            obj = word[:-2]
            if lhs in ("obj", "lib"):
                parent.setdefault(obj, set())
                listed.add(obj)
            else:
                parent.setdefault(obj, set()).add(lhs)
    for obj, names in parent.items():
        names.intersection_update(listed)  # foo-y without obj-* += foo.o: not a composite
    return parent


@lru_cache(maxsize=65536)
def _makefiles(d: str) -> tuple[str, ...]:
    return tuple(p for p in (os.path.join(d, "Kbuild"), os.path.join(d, "Makefile")) if os.path.isfile(p))


def modname_for(tree: str | Path, relpath: str) -> str:
    """KBUILD_MODNAME of the object built from ``relpath`` (a ``.c`` under ``tree``)."""
    tree = str(tree)
    stem = os.path.splitext(os.path.normpath(relpath))[0]
    d = os.path.dirname(stem)
    # look in the file's own directory, then in parents (which may name it as sub/file.o)
    while True:
        for mf in _makefiles(os.path.join(tree, d) if d else tree):
            table = _parse_makefile(mf)
            key = stem[len(d) + 1:] if d else stem  # d is a parent of stem: no os.path.relpath needed
            if key in table:
                names = _resolve(table, key, 0)
                return ":".join(sorted({name_fix(n) for n in names}))
        if not d:
            break
        d = os.path.dirname(d)
    return name_fix(os.path.basename(stem))


def _resolve(table: dict[str, set[str]], obj: str, depth: int) -> set[str]:
    parents = table.get(obj, set())
    if not parents or depth > 8:
        return {os.path.basename(obj)}
    out: set[str] = set()
    for p in parents:
        out |= _resolve(table, p, depth + 1) if p in table and table[p] and p != obj else {os.path.basename(p)}
    return out


__all__ = ["modname_for", "name_fix"]
