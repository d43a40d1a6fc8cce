"""The printk index: entries as ``struct pi_entry`` holds them, and the kernel's debugfs text.

:func:`pi_show_line` reproduces ``pi_show()`` of kernel/printk/index.c (6.1 and
6.12 alike):

* the header ``# <level/flags> filename:line function "format"``;
* the level comes from ``entry->level`` when set, else from the KERN_SOH
  prefix of ``fmt`` (``printk_parse_prefix``: the first ``'0'..'7'`` sets the
  level, ``'c'`` sets LOG_CONT; the prefix is stripped from the output);
* ``<N>``, ``<-1>`` (no level), ``<c>`` (KERN_CONT without level) or ``<N,c>``;
* the body is ``subsys_fmt_prefix`` then ``fmt``, each through
  ``seq_escape_str(s, src, ESCAPE_ANY | ESCAPE_NAP | ESCAPE_APPEND, "\\"\\\\")``
  (:func:`escape`), which stops at the first NUL like any C string.
"""

from __future__ import annotations

import gc
import json
import re
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Iterable

from lwnlab.errors import SourceError

HEADER = '# <level/flags> filename:line function "format"'
LOGLEVEL_DEFAULT = -1


# ----------------------------------------------------------------------------- escaping (lib/string_helpers.c)

def _escape_table() -> list[str]:
    t = []
    for c in range(256):
        if c in (0x22, 0x5C):  # in the "only" dict with ESCAPE_APPEND: not passed through; ESCAPE_SPECIAL
            t.append("\\" + chr(c))
        elif 0x20 <= c <= 0x7E:  # isascii && isprint: ESCAPE_NAP passes it through
            t.append(chr(c))
        elif c in (10, 13, 9, 11, 12):  # ESCAPE_SPACE
            t.append("\\" + {10: "n", 13: "r", 9: "t", 11: "v", 12: "f"}[c])
        elif c == 7:  # ESCAPE_SPECIAL
            t.append("\\a")
        elif c == 27:
            t.append("\\e")
        elif c == 0:  # ESCAPE_NULL (unreachable through seq_escape_str, which stops at NUL)
            t.append("\\0")
        else:  # ESCAPE_OCTAL, e.g. every byte >= 0x80 of UTF-8 text
            t.append("\\%03o" % c)
    return t


_ESC = _escape_table()


def escape(data: bytes) -> str:
    """``seq_escape_printf_format()``: the kernel's escaping of a format (up to its first NUL)."""
    nul = data.find(b"\0")
    if nul >= 0:
        data = data[:nul]
    return "".join(_ESC[c] for c in data)


_UNESC = {"n": 10, "r": 13, "t": 9, "v": 11, "f": 12, "a": 7, "e": 27, "\\": 92, '"': 34, "0": 0}
_UNESC_RE = re.compile(r'\\([0-7]{3}|[nrtvfae\\"0])')


def unescape(text: str, *, where: dict | None = None) -> bytes:
    """Inverse of :func:`escape`."""
    out = bytearray()
    i = 0
    while True:
        j = text.find("\\", i)
        if j < 0:
            out += text[i:].encode("latin-1", errors="strict") if all(ord(c) < 256 for c in text[i:]) \
                else text[i:].encode()
            return bytes(out)
        chunk = text[i:j]
        out += chunk.encode("latin-1") if all(ord(c) < 256 for c in chunk) else chunk.encode()
        m = _UNESC_RE.match(text, j)
        if not m:
            raise SourceError(f"bad escape {text[j:j + 4]!r} in format", **(where or {}))
        g = m.group(1)
        out.append(int(g, 8) if len(g) == 3 else _UNESC[g])
        i = m.end()


def parse_prefix(text: bytes) -> tuple[int, bool, int]:
    """``printk_parse_prefix()``: (level, LOG_CONT, prefix length) of a KERN_SOH prefix."""
    level = LOGLEVEL_DEFAULT
    cont = False
    i = 0
    while i + 1 < len(text) and text[i] == 1 and text[i + 1] != 0:
        k = text[i + 1]
        if 0x30 <= k <= 0x37:
            if level == LOGLEVEL_DEFAULT:
                level = k - 0x30
        elif k == 0x63:  # 'c'
            cont = True
        else:
            break
        i += 2
    return level, cont, i


def level_field(level: int, cont: bool) -> str:
    if cont:
        return "<c>" if level == LOGLEVEL_DEFAULT else f"<{level},c>"
    return f"<{level}>"


# ----------------------------------------------------------------------------- entries


@dataclass(frozen=True)
class Entry:
    """One index entry: ``struct pi_entry`` plus what lwnlab knows about the call."""

    fmt: bytes
    func: str
    file: str
    line: int
    level: bytes | None = None  # entry->level
    subsys_fmt_prefix: bytes | None = None
    in_kernel_index: bool = True
    macro: str = ""
    module: str = ""
    reason: str = ""

    @cached_property
    def level_flags(self) -> tuple[int, bool, int]:
        """(level, cont, prefix length stripped from fmt)."""
        if self.level is not None:
            lv, cont, _ = parse_prefix(self.level)
            return lv, cont, 0
        return parse_prefix(self.fmt)

    @property
    def levelno(self) -> int:
        return self.level_flags[0]

    @property
    def cont(self) -> bool:
        return self.level_flags[1]

    @cached_property
    def body(self) -> bytes:
        """What pi_show prints between the quotes, unescaped: prefix + fmt (level prefix stripped)."""
        pre = self.subsys_fmt_prefix or b""
        nul = pre.find(b"\0")
        pre = pre[:nul] if nul >= 0 else pre
        f = self.fmt[self.level_flags[2]:]
        nul = f.find(b"\0")
        return pre + (f[:nul] if nul >= 0 else f)

    @property
    def message_fmt(self) -> bytes:
        """The format of the message text alone (no subsys prefix, no level)."""
        f = self.fmt[self.level_flags[2]:]
        nul = f.find(b"\0")
        return f[:nul] if nul >= 0 else f

    @property
    def text(self) -> str:
        """The body as readable text (UTF-8, with undecodable bytes escaped)."""
        return self.body.decode("utf-8", errors="backslashreplace")

    def debugfs_line(self) -> str:
        lv, cont, _ = self.level_flags
        return f'{level_field(lv, cont)} {self.file}:{self.line} {self.func} "{escape(self.body)}"'

    def to_json(self) -> dict:
        lv, cont, _ = self.level_flags
        return {"file": self.file, "line": self.line, "func": self.func, "level": lv, "cont": cont,
                "format": self.text, "format_escaped": escape(self.body),
                "fmt_escaped": escape(self.fmt), "level_escaped": None if self.level is None else escape(self.level),
                "subsys_fmt_prefix": None if self.subsys_fmt_prefix is None else escape(self.subsys_fmt_prefix),
                "in_kernel_index": self.in_kernel_index, "macro": self.macro, "module": self.module,
                "reason": self.reason}

    @classmethod
    def from_json(cls, d: dict, where: dict | None = None) -> "Entry":
        if not isinstance(d, dict):
            raise SourceError(f"bad index entry: expected an object, got {type(d).__name__}", **(where or {}))
        for k in ("fmt_escaped", "format_escaped", "level_escaped", "subsys_fmt_prefix"):
            if d.get(k) is not None and not isinstance(d[k], str):
                raise SourceError(f"bad index entry: {k!r} must be a string", **(where or {}))
        try:
            lvl = d.get("level_escaped")
            pre = d.get("subsys_fmt_prefix")
            if "fmt_escaped" in d:
                fmt = unescape(d["fmt_escaped"], where=where)
            else:
                fmt = _level_bytes(int(d.get("level", -1)), bool(d.get("cont"))) + unescape(d["format_escaped"], where=where)
                pre = None
            return cls(fmt=fmt, func=str(d.get("func", "")), file=str(d["file"]), line=int(d["line"]),
                       level=None if lvl is None else unescape(lvl, where=where),
                       subsys_fmt_prefix=None if pre is None else unescape(pre, where=where),
                       in_kernel_index=bool(d.get("in_kernel_index", True)), macro=str(d.get("macro", "")),
                       module=str(d.get("module", "")), reason=str(d.get("reason", "")))
        except KeyError as e:
            raise SourceError(f"bad index entry: missing {e.args[0]!r}", **(where or {})) from e
        except (TypeError, ValueError) as e:
            raise SourceError(f"bad index entry: {e}", **(where or {})) from e


def _level_bytes(level: int, cont: bool) -> bytes:
    out = b""
    if cont:
        out += b"\x01c"
    if 0 <= level <= 7:
        out += b"\x01" + bytes([0x30 + level])
    return out


_LINE_RE = re.compile(r'^<(-1|[0-7]|c|[0-7],c)> (\S+):(\d+) (\S*) "(.*)"$')


@dataclass
class Index:
    """All entries of one source tree (or of one debugfs file)."""

    entries: list[Entry]
    source: str = ""
    stats: dict | None = None

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries)

    def kernel_only(self) -> "Index":
        return Index([e for e in self.entries if e.in_kernel_index], self.source, self.stats)

    def to_text(self, only_kernel_index: bool = False) -> str:
        """The debugfs file's text (``printk/index/<module>``): header, then one line per entry."""
        lines = [HEADER]
        for e in self.entries:
            if only_kernel_index and not e.in_kernel_index:
                continue
            lines.append(e.debugfs_line())
        return "\n".join(lines) + "\n"

    def to_json(self, only_kernel_index: bool = False) -> dict:
        ents = [e.to_json() for e in self.entries if e.in_kernel_index or not only_kernel_index]
        return {"format": "lwnlab-printk-index", "version": 1, "source": self.source,
                "stats": self.stats or {}, "entries": ents}

    def by_module(self) -> dict[str, "Index"]:
        """One index per module (KBUILD_MODNAME), like debugfs's per-module files."""
        groups: dict[str, list[Entry]] = defaultdict(list)
        for e in self.entries:
            groups[e.module or "vmlinux"].append(e)
        return {k: Index(v, self.source) for k, v in sorted(groups.items())}

    def search(self, text: str = "", level: int | None = None, file: str = "", only_kernel_index: bool = False):
        t = text.lower()
        out = []
        for e in self.entries:
            if only_kernel_index and not e.in_kernel_index:
                continue
            if level is not None and e.levelno != level:
                continue
            if file and file not in e.file:
                continue
            if t and t not in e.text.lower():
                continue
            out.append(e)
        return out

    def write(self, path: str | Path, *, json_format: bool | None = None, only_kernel_index: bool = False) -> None:
        path = Path(path)
        if json_format is None:
            json_format = path.suffix == ".json"
        if json_format:
            path.write_text(json.dumps(self.to_json(only_kernel_index)))
        else:
            path.write_text(self.to_text(only_kernel_index), encoding="latin-1")

    # -- reading
    @classmethod
    def from_text(cls, text: str, source: str = "") -> "Index":
        entries = []
        for no, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            m = _LINE_RE.match(line)
            if not m:
                raise SourceError("not a printk index line (expected '<L> FILE:LINE FUNC \"FORMAT\"')",
                                  file=source or None, line=no)
            lv_s, file, ln, func, body = m.groups()
            cont = lv_s.endswith("c")
            lv = -1 if lv_s in ("c", "-1") else int(lv_s[0])
            fmt = unescape(body, where={"file": source or None, "line": no})
            entries.append(Entry(fmt=fmt, func=func, file=file, line=int(ln), level=_level_bytes(lv, cont) or None))
        return cls(entries, source)

    @classmethod
    def from_json(cls, data, source: str = "") -> "Index":
        if isinstance(data, dict):
            ents = data.get("entries")
        else:
            ents = data
        if not isinstance(ents, list):
            raise SourceError("JSON index must be an object with an 'entries' list", file=source or None)
        out = [Entry.from_json(d, {"file": source or None, "field": f"entries[{i}]"}) for i, d in enumerate(ents)]
        return cls(out, data.get("source", source) if isinstance(data, dict) else source,
                   data.get("stats") if isinstance(data, dict) else None)

    @classmethod
    def load(cls, path: str | Path) -> "Index":
        path = Path(path)
        if path.is_dir():
            raise SourceError("is a directory; give an index file (build one with 'lwnlab printk index')",
                              file=str(path))
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise SourceError(f"cannot read: {e.strerror}", file=str(path)) from e
        head = raw.lstrip()[:1]
        if head in (b"{", b"["):
            try:
                data = json.loads(raw)
            except ValueError as e:
                raise SourceError(f"invalid JSON: {e}", file=str(path)) from e
            return cls.from_json(data, str(path))
        return cls.from_text(raw.decode("latin-1"), str(path))


def _extract_chunk(args):
    """Worker: extract a chunk of files (a fresh Extractor per process, header caches and all).

    Returns compact per-file summaries and the entries, so that only entries cross the pipe."""
    root, chunk = args
    from lwnlab.printk.extract import Extractor

    ex = _WORKER.get(root)
    if ex is None:
        ex = _WORKER[root] = Extractor(root)
    with _no_gc():
        return [_summarise(ex.extract_file(p, rel)) for p, rel in chunk]


@contextmanager
def _no_gc():
    """No cyclic garbage collection while many long-lived objects are made: the collector would walk
    all of them again and again (it took longer than building the 200k entries themselves)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _summarise(r):
    """What a worker sends back for one file: counts, and its entries as plain tuples in
    :data:`_ENTRY_FIELDS` order (pickling tuples is several times cheaper than dataclasses)."""
    ents = [(c.fmt, c.func, c.file, c.line, c.level, c.subsys_prefix, c.in_kernel_index, c.macro, c.module, c.reason)
            for c in r.calls if c.fmt is not None]
    return (r.bytes, r.unresolved, len(r.pr_fmt_defs), {k: (n, f"{r.path}:{ln}") for k, (n, ln) in r.skipped.items()},
            len(r.calls), ents)


_ENTRY_FIELDS = ("fmt", "func", "file", "line", "level", "subsys_fmt_prefix", "in_kernel_index", "macro", "module",
                 "reason")


def _entries(tuples) -> list[Entry]:
    """Entries from :func:`_summarise`'s tuples without running the frozen dataclass's ``__init__``
    (the same fields, set directly: a third of the cost for 200k entries)."""
    new = object.__new__
    fields = _ENTRY_FIELDS
    out = []
    for t in tuples:
        e = new(Entry)
        e.__dict__.update(zip(fields, t))
        out.append(e)
    return out


_WORKER: dict = {}


def build_index(root: str | Path, subdirs: Iterable[str] = (), *, headers: bool = False, progress: bool | None = None,
                callback=None, jobs: int = 1) -> Index:
    """Extract ``root`` (or ``subdirs`` of it) into an :class:`Index`.

    ``progress``: show a tqdm bar (default: when stderr is a terminal);
    ``callback(done, total)`` is called per file (the notebook's progress widget);
    ``jobs``: worker processes (each with its own lexer and header cache).
    """
    import sys

    from lwnlab.printk.extract import Extractor, source_files

    files = source_files(root, subdirs, headers=headers)
    bar = None
    if progress is None:
        progress = sys.stderr.isatty()
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(files), unit="file", desc="printk index", leave=False)

    def results():
        if jobs <= 1 or len(files) < 200:
            ex = Extractor(root)
            for p, rel in files:
                yield [_summarise(ex.extract_file(p, rel))]
            return
        import multiprocessing as mp

        # contiguous chunks keep a directory (and the headers it includes) in one process
        size = max(50, len(files) // (jobs * 16))
        chunks = [(str(root), files[i:i + size]) for i in range(0, len(files), size)]
        if "fork" in mp.get_all_start_methods():
            ctx = mp.get_context("fork")
            # scan include/ for wrapper macros once, here: the forked workers inherit it (and the compiled kernels)
            ex = _WORKER.get(str(root))
            if ex is None:
                ex = _WORKER[str(root)] = Extractor(root)
            ex.prepare()
        else:
            ctx = mp.get_context()
        with ctx.Pool(jobs) as pool:
            yield from pool.imap(_extract_chunk, chunks)

    entries: list[Entry] = []
    nbytes = ncalls = unresolved = 0
    skipped: dict[str, int] = defaultdict(int)
    skipped_first: dict[str, str] = {}  # kind -> "file:line" of its first occurrence
    pr_fmt = 0
    done = 0
    with _no_gc():
        for batch in results():
            for nb, unres, npr, sk, nc, ents in batch:
                nbytes += nb
                unresolved += unres
                pr_fmt += npr
                ncalls += nc
                for k, (n, where) in sk.items():
                    skipped[k] += n
                    skipped_first.setdefault(k, where)
                entries += _entries(ents)
            done += len(batch)
            if bar is not None:
                bar.update(len(batch))
            if callback is not None:
                callback(done, len(files))
    if bar is not None:
        bar.close()
    stats = {"files": len(files), "bytes": nbytes, "calls": ncalls, "resolved": ncalls - unresolved,
             "unresolved": unresolved, "entries": len(entries),
             "in_kernel_index": sum(e.in_kernel_index for e in entries), "pr_fmt_defines": pr_fmt,
             "lexer_skipped": dict(skipped), "lexer_skipped_first": skipped_first}
    return Index(entries, str(root), stats)


__all__ = ["Entry", "Index", "build_index", "escape", "unescape", "parse_prefix", "level_field", "HEADER"]
