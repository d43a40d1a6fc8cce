"""Find printk-family call sites in C sources and resolve their formats as the compiler would.

What the kernel stores for each call (``struct pi_entry``) is reproduced:
``fmt`` (with the KERN_SOH level prefix for printk/pr_*), ``level`` (set by
dev_printk and subsystem wrappers), ``subsys_fmt_prefix`` (``"%s %s: "`` for
dev_*), ``func`` (``__func__``), ``file`` and ``line``.

* ``pr_*`` expand to ``printk(KERN_<L> pr_fmt(fmt))``; ``pr_cont`` to
  ``printk(KERN_CONT fmt)`` (no pr_fmt); ``dev_<level>`` to an entry with the
  level separate, prefix ``"%s %s: "`` and ``dev_fmt(fmt)``; ``dev_printk``
  takes its level argument and does *not* apply dev_fmt (include/linux/dev_printk.h).
* ``pr_fmt``/``dev_fmt`` are the definitions in effect at the call (the last
  ``#define`` before it, in the file or a local header it includes; ``#undef``
  restores the default); ``KBUILD_MODNAME`` comes from the Makefiles
  (:mod:`lwnlab.printk.kbuild`); ``__func__`` in a ``pr_fmt`` is a run-time
  argument, so the prefix shows ``%s``.
* A format built from macros resolves when every macro is a string literal
  defined in the file or a local header it includes; otherwise the call is
  kept and counted as unresolved (the kernel makes no entry:
  ``__builtin_constant_p`` would fail only for non-constant formats, so an
  unresolved *macro* is our limitation, an unresolved *variable* is the
  kernel's).
* Families the kernel does not index (``netdev_*``, ``netif_*``,
  ``dev_err_probe``, ``WARN*``, ``ext4_msg``, ``DRM_ERROR``, ``sdev_printk``,
  and the debug calls under ``CONFIG_DYNAMIC_DEBUG=y`` as Debian builds) are
  kept with ``in_kernel_index=False`` and the reason.
* A ``#define`` in the file whose body calls a family with one of its
  parameters as the format (``#define foo_err(x, fmt, ...) dev_err(x->dev, "foo: " fmt, ...)``)
  becomes a local wrapper: its uses are call sites, as the preprocessor would make them.
"""

from __future__ import annotations

import bisect
import codecs
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

import numpy as np

from lwnlab.errors import SourceError
from lwnlab.printk import kbuild
from lwnlab.printk.lexer import (T_IDENT, T_PP_BEGIN, T_PP_END, T_PUNCT, T_STRING, Lexer, NameTable, Tokens,
                                 find_calls, scan_structure, split_args, tokenize)

KERN_SOH = b"\x01"
KERN_LEVEL_MACROS = {
    "KERN_EMERG": b"\x010", "KERN_ALERT": b"\x011", "KERN_CRIT": b"\x012", "KERN_ERR": b"\x013",
    "KERN_WARNING": b"\x014", "KERN_NOTICE": b"\x015", "KERN_INFO": b"\x016", "KERN_DEBUG": b"\x017",
    "KERN_DEFAULT": b"", "KERN_CONT": b"\x01c", "KERN_SOH": b"\x01",
}
LEVEL_WORDS = ("emerg", "alert", "crit", "err", "warn", "notice", "info")
LEVEL_OF_WORD = {"emerg": 0, "alert": 1, "crit": 2, "err": 3, "warn": 4, "warning": 4, "notice": 5, "info": 6,
                 "debug": 7, "dbg": 7, "devel": 7}
DEV_PREFIX = b"%s %s: "

# ----------------------------------------------------------------------------- families


@dataclass(frozen=True)
class Family:
    """How one macro turns its arguments into a ``pi_entry`` (or a message the index lacks)."""

    name: str
    fmt_arg: int  # argument index of the format
    level: bytes | None = None  # a fixed KERN_* string stored as entry->level (dev_*, wrappers)
    fmt_level: bytes = b""  # a KERN_* prefix that goes *into* fmt (pr_*: KERN_ERR pr_fmt(fmt))
    level_arg: int = -1  # dev_printk(level, dev, fmt): level taken from this argument
    pr_fmt: bool = False
    dev_fmt: bool = False
    subsys_prefix: bytes | None = None  # entry->subsys_fmt_prefix (or the run-time prefix if not indexed)
    extra_prefixes: tuple[bytes, ...] = (b"",)  # literal text the wrapper puts before fmt (one entry each)
    indexed: str = "yes"  # "yes", "no", "debug" (only when DEBUG is defined)
    reason: str = ""  # why it is not in the kernel's index
    kind: str = "printk"  # printk, pr, dev, wrapper, netdev, warn, ...


def _builtin_families() -> dict[str, Family]:
    F: dict[str, Family] = {}

    def add(f: Family):
        F[f.name] = f

    for n in ("printk", "printk_deferred", "printk_once", "printk_deferred_once", "printk_ratelimited"):
        add(Family(n, 0, kind="printk"))
    for w in LEVEL_WORDS:
        lv = KERN_LEVEL_MACROS["KERN_WARNING" if w == "warn" else "KERN_" + w.upper()]
        for suf in ("", "_once", "_ratelimited"):
            add(Family(f"pr_{w}{suf}", 0, fmt_level=lv, pr_fmt=True, kind="pr"))
        for suf in ("", "_once", "_ratelimited"):
            add(Family(f"dev_{w}{suf}", 1, level=lv, dev_fmt=True, subsys_prefix=DEV_PREFIX, kind="dev"))
        # wrappers the kernel indexes because they expand to the above
        add(Family(f"pci_{w}", 1, level=lv, dev_fmt=True, subsys_prefix=DEV_PREFIX, kind="pci"))
        for suf in ("", "_once", "_ratelimited"):
            if w in ("emerg", "alert", "crit"):
                continue
            add(Family(f"drm_{w}{suf}", 1, level=lv, dev_fmt=True, subsys_prefix=DEV_PREFIX,
                       extra_prefixes=(b"[drm] *ERROR* " if w == "err" else b"[drm] ",), kind="drm"))
        if w not in ("emerg", "alert", "crit"):
            add(Family(f"ata_dev_{w}", 1, fmt_level=lv, pr_fmt=True, extra_prefixes=(b"ata%u.%02u: ",), kind="ata"))
            add(Family(f"ata_port_{w}", 1, fmt_level=lv, pr_fmt=True, extra_prefixes=(b"ata%u: ",), kind="ata"))
            add(Family(f"ata_link_{w}", 1, fmt_level=lv, pr_fmt=True,
                       extra_prefixes=(b"ata%u.%02u: ", b"ata%u: "), kind="ata"))
        add(Family(f"xfs_{w}", 1, level=lv, subsys_prefix=b"%sXFS%s: ", kind="xfs"))
        # not indexed: out-of-line functions
        add(Family(f"netdev_{w}", 1, level=lv, subsys_prefix=b"%s %s %s%s: ", indexed="no",
                   reason="netdev_* are out-of-line functions (include/net/net_debug.h)", kind="netdev"))
        for suf in ("_once", "_ratelimited"):
            add(Family(f"netdev_{w}{suf}", 1, level=lv, subsys_prefix=b"%s %s %s%s: ", indexed="no",
                       reason="netdev_* are out-of-line functions (include/net/net_debug.h)", kind="netdev"))
        add(Family(f"netif_{w}", 3, level=lv, subsys_prefix=b"%s %s %s%s: ", indexed="no",
                   reason="netif_* expand to out-of-line netdev_* functions", kind="netdev"))
    for n in ("pr_cont",):
        add(Family(n, 0, fmt_level=KERN_LEVEL_MACROS["KERN_CONT"], kind="pr"))
    for n in ("pr_devel", "pr_devel_once", "pr_devel_ratelimited", "pr_debug_once"):
        add(Family(n, 0, fmt_level=KERN_LEVEL_MACROS["KERN_DEBUG"], pr_fmt=True, indexed="debug",
                   reason="no_printk() unless DEBUG is defined", kind="pr"))
    for n in ("pr_debug", "pr_debug_ratelimited"):
        add(Family(n, 0, fmt_level=KERN_LEVEL_MACROS["KERN_DEBUG"], pr_fmt=True, indexed="no",
                   reason="dynamic debug (CONFIG_DYNAMIC_DEBUG=y): listed in dynamic_debug/control", kind="pr"))
    for n in ("dev_dbg", "dev_dbg_once", "dev_dbg_ratelimited", "dev_vdbg"):
        add(Family(n, 1, level=KERN_LEVEL_MACROS["KERN_DEBUG"], dev_fmt=True, subsys_prefix=DEV_PREFIX, indexed="no",
                   reason="dynamic debug (CONFIG_DYNAMIC_DEBUG=y): listed in dynamic_debug/control", kind="dev"))
    for n in ("pci_dbg",):
        add(Family(n, 1, level=KERN_LEVEL_MACROS["KERN_DEBUG"], dev_fmt=True, subsys_prefix=DEV_PREFIX, indexed="no",
                   reason="dynamic debug (CONFIG_DYNAMIC_DEBUG=y): listed in dynamic_debug/control", kind="pci"))
    add(Family("netdev_dbg", 1, level=KERN_LEVEL_MACROS["KERN_DEBUG"], subsys_prefix=b"%s %s %s%s: ", indexed="no",
               reason="dynamic debug (CONFIG_DYNAMIC_DEBUG=y)", kind="netdev"))
    add(Family("netif_dbg", 3, level=KERN_LEVEL_MACROS["KERN_DEBUG"], subsys_prefix=b"%s %s %s%s: ", indexed="no",
               reason="dynamic debug (CONFIG_DYNAMIC_DEBUG=y)", kind="netdev"))
    add(Family("netdev_printk", 2, level_arg=0, subsys_prefix=b"%s %s %s%s: ", indexed="no",
               reason="netdev_printk is an out-of-line function", kind="netdev"))
    add(Family("dev_printk", 2, level_arg=0, subsys_prefix=DEV_PREFIX, kind="dev"))
    add(Family("pci_printk", 2, level_arg=0, subsys_prefix=DEV_PREFIX, kind="pci"))
    add(Family("shost_printk", 2, level_arg=0, subsys_prefix=DEV_PREFIX, kind="scsi"))
    add(Family("xfs_alert_tag", 2, level=KERN_LEVEL_MACROS["KERN_ALERT"], subsys_prefix=b"%sXFS%s: ", kind="xfs"))
    add(Family("xfs_debug", 1, level=KERN_LEVEL_MACROS["KERN_DEBUG"], subsys_prefix=b"%sXFS%s: ", indexed="debug",
               reason="xfs_debug() is empty unless DEBUG is defined", kind="xfs"))
    add(Family("fat_msg", 2, level_arg=1, subsys_prefix=b"%sFAT-fs (%s): ", kind="fat"))
    add(Family("dev_err_probe", 2, level=KERN_LEVEL_MACROS["KERN_ERR"], subsys_prefix=b"%s %s: error %pe: ",
               indexed="no", reason="dev_err_probe is a function", kind="dev"))
    for n, a in (("WARN", 1), ("WARN_ONCE", 1), ("WARN_RATELIMIT", 1), ("WARN_TAINT", 2), ("WARN_TAINT_ONCE", 2)):
        add(Family(n, a, level=KERN_LEVEL_MACROS["KERN_WARNING"], indexed="no",
                   reason="WARN* prints through warn_slowpath_fmt", kind="warn"))
    for n in ("dev_WARN", "dev_WARN_ONCE"):
        add(Family(n, 1 if n == "dev_WARN" else 2, level=KERN_LEVEL_MACROS["KERN_WARNING"], subsys_prefix=DEV_PREFIX,
                   indexed="no", reason="WARN* prints through warn_slowpath_fmt", kind="warn"))
    add(Family("ext4_msg", 2, level_arg=1, subsys_prefix=b"EXT4-fs (%s): ", indexed="no",
               reason="ext4_msg/__ext4_msg is not wrapped for the index", kind="ext4"))
    add(Family("DRM_ERROR", 0, level=KERN_LEVEL_MACROS["KERN_ERR"], subsys_prefix=b"[drm:%ps] *ERROR* ", indexed="no",
               reason="DRM_ERROR/__drm_err is not wrapped for the index", kind="drm"))
    add(Family("sdev_printk", 2, level_arg=0, subsys_prefix=DEV_PREFIX, indexed="no",
               reason="sdev_printk/sdev_prefix_printk is not wrapped for the index", kind="scsi"))
    return F


FAMILIES: dict[str, Family] = _builtin_families()
FAMILY_TABLE = NameTable.build(FAMILIES)

#: identifiers that may precede a function's name in its definition and look like calls
ATTRIBUTE_NAMES = frozenset("""__attribute__ __attribute __printf __scanf __acquires __releases __must_hold __section
__aligned __cold __hot __weak __used __maybe_unused __no_sanitize_address __noreturn __alias __diag_push
__diag_ignore __nocfi __naked __visible __init __exit __always_inline noinline __no_kcsan __bpf_kfunc
__cond_acquires __cond_releases __no_profile __malloc __realloc_size __alloc_size __counted_by
DEFINE_GUARD asmlinkage __latent_entropy __ro_after_init __read_mostly __randomize_layout __packed
__nocapture __retain_section __assume_aligned __bpf_fastcall""".split())

# ----------------------------------------------------------------------------- C literals


_SIMPLE_ESC = {ord("n"): 10, ord("t"): 9, ord("r"): 13, ord("v"): 11, ord("f"): 12, ord("a"): 7, ord("b"): 8,
               ord("e"): 27, ord("E"): 27, ord("\\"): 92, ord("'"): 39, ord('"'): 34, ord("?"): 63}


_IF0 = re.compile(rb"#[ \t]*if[ \t]+0[ \t]*(?:\n|/[*/])")
_MACRO_NAME = re.compile(r"[A-Z]")  # has an upper-case letter: macro-like (DRV_NAME, MYIOC_s_ERR_FMT)
_HARD_ESC = re.compile(rb"\\(?:[^ntrabfv\\'\"0-7]|[0-7]{1,3}[89]|[4-7][0-7][0-7]|$)")


def decode_c_string(tok: bytes) -> bytes | None:
    """The bytes of one narrow C string literal token (quotes included); None for wide literals."""
    if not tok.startswith(b'"'):
        if tok.startswith(b'u8"'):
            tok = tok[2:]
        else:
            return None  # L"", u"", U"": not a printk format
    body = tok[1:-1] if len(tok) >= 2 and tok.endswith(b'"') else tok[1:]
    if b"\\" not in body:
        return body
    if not _HARD_ESC.search(body):
        return codecs.escape_decode(body)[0]  # only escapes C and Python read alike
    out = bytearray()
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c != 92 or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        d = body[i + 1]
        if d in _SIMPLE_ESC:
            out.append(_SIMPLE_ESC[d])
            i += 2
        elif 48 <= d <= 55:
            j = i + 1
            v = 0
            while j < n and j < i + 4 and 48 <= body[j] <= 55:
                v = v * 8 + body[j] - 48
                j += 1
            out.append(v & 0xFF)
            i = j
        elif d == ord("x"):
            j = i + 2
            v = 0
            while j < n and chr(body[j]) in "0123456789abcdefABCDEF":
                v = v * 16 + int(chr(body[j]), 16)
                j += 1
            out.append(v & 0xFF)
            i = j
        elif d in (ord("u"), ord("U")):
            k = 4 if d == ord("u") else 8
            try:
                out += chr(int(body[i + 2:i + 2 + k], 16)).encode()
            except ValueError:
                out += body[i:i + 2]
            i += 2 + k
        elif d == 10:  # line splice inside a literal
            i += 2
        else:
            out.append(d)
            i += 2
    return bytes(out)


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class CallSite:
    """One call of a printk-family macro, resolved as far as the source allows."""

    file: str
    line: int
    func: str
    macro: str
    fmt: bytes | None  # entry->fmt: KERN_SOH level prefix (if any) + pr_fmt/dev_fmt applied; None: unresolved
    level: bytes | None  # entry->level (None: the level, if any, is inside fmt)
    subsys_prefix: bytes | None
    in_kernel_index: bool
    reason: str = ""  # why not indexed, or why unresolved
    module: str = ""  # KBUILD_MODNAME of the object
    kind: str = "printk"


@dataclass
class FileResult:
    path: str
    calls: list[CallSite] = field(default_factory=list)
    unresolved: int = 0
    skipped: dict = field(default_factory=dict)
    bytes: int = 0
    pr_fmt_defs: list[tuple[int, str]] = field(default_factory=list)  # (line, raw body text)
    skipped_if0: int = 0  # calls under "#if 0"


# ----------------------------------------------------------------------------- per-file macro knowledge


@dataclass
class _Define:
    name: str
    params: tuple[str, ...] | None
    body: tuple[int, int]  # token range [a, b) in the defining file's tokens
    tok: int  # token index of the '#'
    line: int
    undef: bool = False


def _parse_define(tk: Tokens, t_hash: int, a: int, e: int) -> _Define | None:
    kind, start, end = tk.kind, tk.start, tk.end
    if a >= e or kind[a] != T_IDENT:
        return None
    name = tk.text(a).decode("latin-1")
    params = None
    b = a + 1
    # function-like only if '(' immediately follows the name
    if b < e and kind[b] == T_PUNCT and tk.buf[start[b]] == 40 and start[b] == end[a]:
        params_l = []
        b += 1
        while b < e and not (kind[b] == T_PUNCT and tk.buf[start[b]] == 41):
            if kind[b] == T_IDENT:
                params_l.append(tk.text(b).decode("latin-1"))
            b += 1
        # `...` is not a token (operators make none): note a variadic tail by the gap text
        params = tuple(params_l)
        b += 1
    return _Define(name, params, (b, e), t_hash, int(tk.line[t_hash]))


def _find_defines(tk: Tokens, data: bytes, name: str) -> list[_Define]:
    """``#define name`` / ``#undef name`` directives of ``name`` in file order (bytes search, then tokens)."""
    nb = name.encode()
    out: list[_Define] = []
    pos = data.find(nb)
    if pos < 0:
        return out
    kind, start = tk.kind, tk.start
    nt = len(tk)
    while pos >= 0:
        t = int(np.searchsorted(start, pos))
        if t < nt and start[t] == pos and kind[t] == T_IDENT and tk.end[t] - pos == len(nb) and t >= 2 \
                and kind[t - 2] == T_PP_BEGIN and kind[t - 1] == T_IDENT:
            what = tk.text(t - 1)
            if what == b"define":
                e = t
                while e < nt and kind[e] != T_PP_END:
                    e += 1
                d = _parse_define(tk, t - 2, t, e)
                if d is not None:
                    out.append(d)
            elif what == b"undef":
                out.append(_Define(name, None, (t, t), t - 2, int(tk.line[t]), True))
        pos = data.find(nb, pos + len(nb))
    return out


class _HeaderCache:
    """Headers read once per run: tokens, includes, and definitions looked up by name."""

    def __init__(self):
        self.cache: dict = {}
        self.memo: dict = {}

    def get(self, path: str):
        if path not in self.cache:
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError:
                self.cache[path] = None
                return None
            tk = tokenize(data)
            incs: list[tuple[str, bool]] = []
            pos = data.find(b"include")
            while pos >= 0:
                t = int(np.searchsorted(tk.start, pos))
                if t < len(tk) and tk.start[t] == pos and t >= 1 and tk.kind[t - 1] == T_PP_BEGIN:
                    e = t + 1
                    while e < len(tk) and tk.kind[e] != T_PP_END:
                        e += 1
                    if e > t + 1 and tk.kind[t + 1] == T_STRING:
                        incs.append((tk.text(t + 1)[1:-1].decode("latin-1"), True))
                    else:
                        raw = data[pos + 7:tk.start[e] if e < len(tk) else len(data)].decode("latin-1")
                        lt, gt = raw.find("<"), raw.find(">")
                        if 0 <= lt < gt:
                            incs.append((raw[lt + 1:gt].strip(), False))
                pos = data.find(b"include", pos + 7)
            self.cache[path] = [tk, data, incs, {}]
        return self.cache[path]

    def closure_lookup(self, path: str, name: str, local_only: bool, include_dir: str):
        """``name`` defined in ``path`` or (recursively) in what it includes; memoised per run."""
        key = (path, name, local_only)
        memo = self.memo
        if key in memo:
            return memo[key]
        memo[key] = None  # cycles: a header being searched contributes nothing more
        entry = self.get(path)
        if entry is None:
            return None
        d = self.define(entry, name)
        if d is not None:
            memo[key] = (entry[0], d)
            return memo[key]
        base = os.path.dirname(path)
        for inc, is_local in entry[2]:
            if is_local:
                p = os.path.normpath(os.path.join(base, inc))
            elif local_only:
                continue
            else:
                p = os.path.join(include_dir, inc)
            got = self.closure_lookup(p, name, local_only, include_dir)
            if got is not None:
                memo[key] = got
                return got
        return None

    def define(self, entry, name: str):
        tk, data, incs, defs = entry
        if name not in defs:
            found = [d for d in _find_defines(tk, data, name) if not d.undef]
            defs[name] = found[0] if found else None
        return defs[name]


# ----------------------------------------------------------------------------- the extractor


class Extractor:
    """Extract call sites from files of one source tree (``root``), reusing lexer memory and caches."""

    def __init__(self, root: str | os.PathLike, *, families: dict[str, Family] | None = None,
                 local_wrappers: bool = True):
        self.root = Path(root)
        self.families = dict(FAMILIES if families is None else families)
        self.table = FAMILY_TABLE if families is None else NameTable.build(self.families)
        self.local_wrappers = local_wrappers
        self.lexer = Lexer()
        self.headers = _HeaderCache()
        self.include_dir = os.path.join(str(self.root), "include")
        self._modname: dict[str, str] = {}

    # -- helpers
    def modname(self, rel: str) -> str:
        if rel not in self._modname:
            self._modname[rel] = kbuild.modname_for(self.root, rel)
        return self._modname[rel]

    def extract_file(self, path: str | os.PathLike, rel: str | None = None, data: bytes | None = None) -> FileResult:
        path = str(path)
        if rel is None:
            try:
                rel = str(Path(path).resolve().relative_to(self.root.resolve()))
            except ValueError:
                rel = os.path.basename(path)
        if data is None:
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError as e:
                raise SourceError(f"cannot read: {e.strerror}", file=path) from e
        tk = self.lexer.run(data)
        res = FileResult(rel, bytes=len(data))
        res.skipped = tk.skipped() if int(tk.stats[2:7].sum()) else {}
        ctx = _FileContext(self, tk, path, rel)
        ctx.run(res)
        return res


class _FileContext:
    """Everything known about one file while extracting it."""

    def __init__(self, ex: Extractor, tk: Tokens, path: str, rel: str):
        self.ex = ex
        self.tk = tk
        self.path = path
        self.rel = rel
        self._defs: dict[str, list[_Define]] = {}
        self.data = tk.buf.tobytes()
        self._inc_cache: dict = {}
        self._incs = None
        self._modname: str | None = None

    # -- macro tables, built lazily
    def defs_of(self, name: str) -> list[_Define]:
        got = self._defs.get(name)
        if got is None:
            got = self._defs[name] = _find_defines(self.tk, self.data, name)
        return got

    def _includes(self) -> list[tuple[str, bool]]:
        if self._incs is None:
            incs = []
            pos = self.data.find(b"include")
            tk = self.tk
            while pos >= 0:
                t = int(np.searchsorted(tk.start, pos))
                if t < len(tk) and tk.start[t] == pos and t >= 1 and tk.kind[t - 1] == T_PP_BEGIN:
                    e = t + 1
                    while e < len(tk) and tk.kind[e] != T_PP_END:
                        e += 1
                    if e > t + 1 and tk.kind[t + 1] == T_STRING:
                        incs.append((os.path.normpath(os.path.join(os.path.dirname(self.path),
                                                                   tk.text(t + 1)[1:-1].decode("latin-1"))), True))
                    else:
                        raw = self.data[pos + 7:tk.start[e] if e < len(tk) else len(self.data)].decode("latin-1")
                        lt, gt = raw.find("<"), raw.find(">")
                        if 0 <= lt < gt:
                            incs.append((os.path.join(self.ex.include_dir, raw[lt + 1:gt].strip()), False))
                pos = self.data.find(b"include", pos + 7)
            self._incs = incs
        return self._incs

    def include_lookup(self, name: str, local_only: bool):
        """The first definition of ``name`` in the headers this file includes (depth first, in order)."""
        key = (name, local_only)
        if key in self._inc_cache:
            return self._inc_cache[key]
        found = None
        for p, local in self._includes():
            if local or not local_only:
                found = self.ex.headers.closure_lookup(p, name, local_only, self.ex.include_dir)
                if found is not None:
                    break
        self._inc_cache[key] = found
        return found

    def lookup(self, name: str, at_tok: int) -> tuple[Tokens, _Define] | None:
        """The definition of ``name`` in effect at token ``at_tok`` (file first, then local headers)."""
        lst = self.defs_of(name)
        if lst:
            best = None
            for d in lst:
                if d.tok < at_tok:
                    best = d
            if best is not None:
                return None if best.undef else (self.tk, best)
        # pr_fmt/dev_fmt: only local headers count (linux/printk.h's default is the identity anyway).
        # Other names are searched in headers only when they look like macros (some upper case): an
        # all-lower-case name in a format argument is a variable in all but a handful of files.
        if name in ("pr_fmt", "dev_fmt"):
            return self.include_lookup(name, local_only=True)
        if not _MACRO_NAME.search(name):
            return None
        return self.include_lookup(name, local_only=False)

    def modname(self) -> str:
        if self._modname is None:
            self._modname = self.ex.modname(self.rel)
        return self._modname

    # -- format resolution
    def resolve(self, tk: Tokens, a: int, b: int, at_tok: int, params: dict | None = None, depth: int = 0):
        """Concatenate tokens [a, b) of ``tk`` into bytes.  Returns (bytes, None) or (None, why)."""
        if depth > 12:
            return None, "macro recursion too deep"
        out = bytearray()
        kind, start, end, buf = tk.kind, tk.start, tk.end, tk.buf
        t = a
        prev_end = None
        while t < b:
            k = kind[t]
            if prev_end is not None:
                gap = buf[prev_end:start[t]].tobytes().replace(b"\\\n", b"")
                if gap.strip() and not _only_comments(gap):
                    return None, f"expression in format: {gap.strip()[:20].decode('latin-1')!r}"
            if k == T_STRING:
                s = decode_c_string(tk.text(t))
                if s is None:
                    return None, "wide string literal"
                out += s
                prev_end = end[t]
                t += 1
                continue
            if k == T_PUNCT:
                c = buf[start[t]]
                if c in (40, 41):  # parentheses around literals
                    prev_end = end[t]
                    t += 1
                    continue
                return None, f"{chr(c)!r} in format"
            if k == T_IDENT:
                name = tk.text(t).decode("latin-1")
                if params is not None and name in params:
                    val = params[name]
                    if val is None:
                        return None, f"format comes from macro parameter {name}"
                    out += val
                    prev_end = end[t]
                    t += 1
                    continue
                if name in KERN_LEVEL_MACROS:
                    out += KERN_LEVEL_MACROS[name]
                    prev_end = end[t]
                    t += 1
                    continue
                if name == "KBUILD_MODNAME":
                    out += self.modname().encode()
                    prev_end = end[t]
                    t += 1
                    continue
                if name == "KBUILD_BASENAME":  # -DKBUILD_BASENAME='"file"' ('-' -> '_')
                    out += kbuild.name_fix(os.path.splitext(os.path.basename(self.rel))[0]).encode()
                    prev_end = end[t]
                    t += 1
                    continue
                if name == "__FILE__":  # relative to the tree: the kernel builds with -fmacro-prefix-map
                    out += self.rel.encode()
                    prev_end = end[t]
                    t += 1
                    continue
                if name in ("__stringify", "__stringify_1") and t + 1 < b and kind[t + 1] == T_PUNCT \
                        and buf[start[t + 1]] == 40:
                    close = _match_paren(tk, t + 1, b)
                    if close < 0:
                        return None, f"unbalanced {name}("
                    out += self.stringify(tk, t + 2, close, at_tok)
                    prev_end = end[close]
                    t = close + 1
                    continue
                if name in ("pr_fmt", "dev_fmt") and t + 1 < b and kind[t + 1] == T_PUNCT and buf[start[t + 1]] == 40:
                    close = _match_paren(tk, t + 1, b)
                    if close < 0:
                        return None, f"unbalanced {name}("
                    inner, why = self.resolve(tk, t + 2, close, at_tok, params, depth + 1)
                    if inner is None:
                        return None, why
                    val, why = self.apply_fmt_macro(name, inner, at_tok)
                    if val is None:
                        return None, why
                    out += val
                    prev_end = end[close]
                    t = close + 1
                    continue
                got = self.lookup(name, at_tok) if tk is self.tk else (self.lookup(name, at_tok) or None)
                if got is None or got[1].params is not None:
                    return None, f"{name} is not a string literal macro"
                dtk, d = got
                val, why = self.resolve(dtk, d.body[0], d.body[1], at_tok if dtk is self.tk else 1 << 30,
                                        None, depth + 1)
                if val is None:
                    return None, why
                out += val
                prev_end = end[t]
                t += 1
                continue
            return None, "non-literal token in format"
        return bytes(out), None

    def stringify(self, tk: Tokens, a: int, b: int, at_tok: int) -> bytes:
        """``__stringify(x)``: the text of ``x`` after one level of object-like macro expansion."""
        if b - a == 1 and tk.kind[a] == T_IDENT:
            got = self.lookup(tk.text(a).decode("latin-1"), at_tok)
            if got is not None and got[1].params is None:
                dtk, d = got
                if d.body[1] > d.body[0]:
                    return dtk.buf[dtk.start[d.body[0]]:dtk.end[d.body[1] - 1]].tobytes().strip()
        if b <= a:
            return b""
        return b" ".join(tk.buf[tk.start[a]:tk.end[b - 1]].tobytes().split())

    def apply_fmt_macro(self, name: str, fmt: bytes, at_tok: int):
        """Expand ``pr_fmt(fmt)``/``dev_fmt(fmt)`` as defined at ``at_tok`` (default: identity)."""
        got = self.lookup(name, at_tok)
        if got is None:
            return fmt, None
        dtk, d = got
        if d.params is None and d.body[1] - d.body[0] == 1 and dtk.kind[d.body[0]] == T_IDENT:
            alias = dtk.text(d.body[0]).decode("latin-1")  # e.g. #define dev_fmt pr_fmt
            if alias in ("pr_fmt", "dev_fmt") and alias != name:
                return self.apply_fmt_macro(alias, fmt, at_tok)
        if d.params is None or len(d.params) != 1:
            return None, f"{name} is not a one-parameter macro"
        a, b = d.body
        # the format is the part before the first top-level comma (", __func__" is a run-time argument)
        depth = 0
        stop = b
        for t in range(a, b):
            if dtk.kind[t] == T_PUNCT:
                c = dtk.buf[dtk.start[t]]
                if c in (40, 91, 123):
                    depth += 1
                elif c in (41, 93, 125):
                    depth -= 1
                elif c == 44 and depth == 0:
                    stop = t
                    break
        return self.resolve(dtk, a, stop, at_tok if dtk is self.tk else 1 << 30, {d.params[0]: fmt})

    # -- the main loop
    def run(self, res: FileResult):
        tk = self.tk
        fn_open, fn_close, fn_cands, pp = scan_structure(tk.kind, tk.start, tk.end, tk.buf)
        self.pp = pp
        self.fn_open = fn_open.tolist()
        self.fn_close = fn_close
        self.fn_cands = fn_cands
        ex = self.ex
        calls, names, in_pp = find_calls(tk.kind, tk.start, tk.end, tk.buf, ex.table.blob, ex.table.offs,
                                         ex.table.slots, np.int64(ex.table.mask))
        if b"pr_fmt" in self.data:
            for d in self.defs_of("pr_fmt"):
                if d.params is not None:
                    a, b = d.body
                    body = tk.buf[tk.start[a]:tk.end[b - 1]].tobytes() if b > a else b""
                    res.pr_fmt_defs.append((d.line, body.decode("latin-1")))
        fams = [ex.families[ex.table.names[i]] for i in names.tolist()]
        if self.ex.local_wrappers and in_pp.any():
            extra = self.local_wrappers(calls, fams, in_pp)
            if extra:
                table = NameTable.build(extra)
                c2, n2, p2 = find_calls(tk.kind, tk.start, tk.end, tk.buf, table.blob, table.offs, table.slots,
                                        np.int64(table.mask))
                keep = p2 == 0
                calls = np.concatenate([calls, c2[keep]])
                in_pp = np.concatenate([in_pp, p2[keep]])
                fams = fams + [extra[table.names[i]] for i in n2[keep].tolist()]
        if calls.shape[0] == 0:
            return
        keep = in_pp == 0
        if _IF0.search(self.data):  # code under "#if 0" is never compiled: no entries
            for a, b in self.if0_ranges():
                keep &= ~((calls > a) & (calls < b))
            res.skipped_if0 = int(((in_pp == 0) & ~keep).sum())
        sel = np.nonzero(keep)[0]
        if sel.shape[0] == 0:
            return
        ctoks = calls[sel].astype(np.int32)
        bounds, nargs, close = split_args(tk.kind, tk.start, tk.buf, ctoks, np.int64(6))
        for j, ci in enumerate(sel.tolist()):
            self.one_call(res, int(ctoks[j]), fams[ci], bounds[j], int(nargs[j]))

    def local_wrappers(self, calls, fams, in_pp) -> dict[str, Family]:
        """Families for ``#define``s of this file whose body calls a family with a parameter as format."""
        tk = self.tk
        out: dict[str, Family] = {}
        pp_list = self.pp.tolist()
        idx = np.nonzero(in_pp)[0].tolist()
        if not idx:
            return out
        ctoks = calls[idx].astype(np.int32)
        bounds, nargs, close = split_args(tk.kind, tk.start, tk.buf, ctoks, np.int64(6))
        for j, ci in enumerate(idx):
            t = int(ctoks[j])
            k = bisect.bisect_right(pp_list, t) - 1
            if k < 0:
                continue
            h = pp_list[k]
            if tk.text(h + 1) != b"define":
                continue
            e = h
            while e < len(tk) and tk.kind[e] != T_PP_END:
                e += 1
            d = _parse_define(tk, h, h + 2, e)
            if d is None or d.params is None or d.name in self.ex.families or d.name in out:
                continue
            fam = fams[ci]
            na = int(nargs[j])
            if fam.fmt_arg >= na or fam.fmt_arg >= 6:
                continue
            a, b = int(bounds[j, fam.fmt_arg]) + 1, int(bounds[j, fam.fmt_arg + 1])
            # which wrapper parameter is the format?
            ptoks = [u for u in range(a, b) if tk.kind[u] == T_IDENT and tk.text(u).decode("latin-1") in d.params]
            if len(ptoks) != 1:
                continue
            pname = tk.text(ptoks[0]).decode("latin-1")
            before, why = self.resolve(tk, a, ptoks[0], 1 << 30, None)
            after, why2 = self.resolve(tk, ptoks[0] + 1, b, 1 << 30, None)
            if before is None or after is None or after:
                continue
            level_arg = -1
            level = fam.level
            if fam.level_arg >= 0 and fam.level_arg < na:
                la, lb = int(bounds[j, fam.level_arg]) + 1, int(bounds[j, fam.level_arg + 1])
                lnames = [tk.text(u).decode("latin-1") for u in range(la, lb) if tk.kind[u] == T_IDENT]
                if len(lnames) == 1 and lnames[0] in d.params:
                    level_arg = d.params.index(lnames[0])
                elif len(lnames) == 1 and lnames[0] in KERN_LEVEL_MACROS:
                    level = KERN_LEVEL_MACROS[lnames[0]]
                else:
                    continue
            out[d.name] = replace(fam, name=d.name, fmt_arg=d.params.index(pname), level=level, level_arg=level_arg,
                                  extra_prefixes=tuple(before + p for p in fam.extra_prefixes),
                                  kind=f"local:{fam.name}")
        return out

    def if0_ranges(self) -> list[tuple[int, int]]:
        """Token ranges of ``#if 0`` branches (to the matching ``#else``/``#elif``/``#endif``)."""
        tk = self.tk
        out = []
        stack: list[tuple[bool, int]] = []  # (is an "#if 0" branch, its start token)
        for t in self.pp.tolist():
            if t + 1 >= len(tk) or tk.kind[t + 1] != T_IDENT:
                continue
            name = tk.text(t + 1)
            if name in (b"if", b"ifdef", b"ifndef"):
                zero = name == b"if" and t + 3 < len(tk) and tk.text(t + 2) == b"0" and tk.kind[t + 3] == T_PP_END
                stack.append((zero, t))
            elif name in (b"else", b"elif") and stack:
                zero, start = stack[-1]
                if zero:
                    out.append((start, t))
                stack[-1] = (False, t)
            elif name == b"endif" and stack:
                zero, start = stack.pop()
                if zero:
                    out.append((start, t))
        out += [(start, len(tk)) for zero, start in stack if zero]
        return out

    def func_of(self, t: int) -> str:
        k = bisect.bisect_right(self.fn_open, t) - 1
        if k < 0 or t > self.fn_close[k]:
            return ""
        tk = self.tk
        for c in self.fn_cands[k].tolist():
            if c < 0:
                break
            nm = tk.text(c).decode("latin-1")
            if nm in ATTRIBUTE_NAMES or nm.startswith("__attribute"):
                continue
            if nm.startswith("SYSCALL_DEFINE") or nm.startswith("COMPAT_SYSCALL_DEFINE"):
                arg = c + 2
                if arg < len(tk) and tk.kind[arg] == T_IDENT:
                    pre = "__do_compat_sys_" if nm.startswith("COMPAT") else "__do_sys_"
                    return pre + tk.text(arg).decode("latin-1")
            return nm
        return ""

    def has_debug(self, at_tok: int) -> bool:
        got = [d for d in self.defs_of("DEBUG") if not d.undef]
        return bool(got) and any(d.tok < at_tok for d in got)

    def one_call(self, res: FileResult, t: int, fam: Family, bounds, nargs: int):
        tk = self.tk
        line = int(tk.line[t])
        func = self.func_of(t)
        macro = fam.name

        def emit(fmt, level, why, indexed, reason):
            res.calls.append(CallSite(self.rel, line, func, macro, fmt, level, fam.subsys_prefix, indexed,
                                      reason or why or "", self.modname(), fam.kind))

        if fam.fmt_arg >= nargs or fam.fmt_arg >= 6:
            res.unresolved += 1
            emit(None, fam.level, "too few arguments", False, "")
            return
        indexed = fam.indexed == "yes" or (fam.indexed == "debug" and self.has_debug(t))
        reason = "" if indexed else fam.reason
        level = fam.level
        if fam.level_arg >= 0:
            la, lb = int(bounds[fam.level_arg]) + 1, int(bounds[fam.level_arg + 1])
            level, why = self.resolve(tk, la, lb, t)
            if level is None:
                indexed = False
                reason = reason or "level is not a constant"
        a, b = int(bounds[fam.fmt_arg]) + 1, int(bounds[fam.fmt_arg + 1])
        if b < a:
            res.unresolved += 1
            emit(None, level, "unterminated call", False, "")
            return
        raw, why = self.resolve(tk, a, b, t)
        if raw is None:
            res.unresolved += 1
            emit(None, level, why, False, reason)
            return
        for pre in fam.extra_prefixes:
            body = pre + raw
            if fam.pr_fmt:
                body, why = self.apply_fmt_macro("pr_fmt", body, t)
            elif fam.dev_fmt:
                body, why = self.apply_fmt_macro("dev_fmt", body, t)
            if body is None:
                res.unresolved += 1
                emit(None, level, why, False, reason)
                continue
            emit(fam.fmt_level + body, level, None, indexed, reason)


def _only_comments(gap: bytes) -> bool:
    g = gap.strip()
    while g:
        if g.startswith(b"/*"):
            e = g.find(b"*/")
            if e < 0:
                return False
            g = g[e + 2:].strip()
        elif g.startswith(b"//"):
            e = g.find(b"\n")
            g = g[e + 1:].strip() if e >= 0 else b""
        elif g.startswith(b"\\\n"):
            g = g[2:].strip()
        else:
            return False
    return True


def _match_paren(tk: Tokens, t: int, limit: int) -> int:
    depth = 0
    for u in range(t, limit):
        if tk.kind[u] == T_PUNCT:
            c = tk.buf[tk.start[u]]
            if c == 40:
                depth += 1
            elif c == 41:
                depth -= 1
                if depth == 0:
                    return u
    return -1


def _has(buf: np.ndarray, needle: bytes) -> bool:
    return needle in buf.tobytes()


# ----------------------------------------------------------------------------- trees

EXCLUDE_TOP = ("tools", "Documentation", "samples", "scripts", "usr", "debian")


def source_files(root: str | os.PathLike, subdirs: Iterable[str] = (), *, headers: bool = False,
                 exclude_top: tuple[str, ...] = EXCLUDE_TOP) -> list[tuple[str, str]]:
    """(absolute path, path relative to ``root``) of the ``.c`` (and ``.h``) files to index, sorted."""
    root = Path(root)
    if not root.is_dir():
        raise SourceError("not a directory", file=str(root))
    exts = (".c", ".h") if headers else (".c",)
    starts = [root / s for s in subdirs] if subdirs else [root]
    out = []
    for s in starts:
        if s.is_file():
            out.append((str(s), str(s.relative_to(root))))
            continue
        if not s.is_dir():
            raise SourceError("no such file or directory in the tree", file=str(s))
        for d, dirs, files in os.walk(s):
            rel_d = os.path.relpath(d, root)
            if rel_d == ".":
                dirs[:] = [x for x in dirs if x not in exclude_top and not x.startswith(".")]
            else:
                dirs[:] = [x for x in dirs if not x.startswith(".")]
            for f in files:
                if f.endswith(exts):
                    p = os.path.join(d, f)
                    out.append((p, os.path.normpath(os.path.join(rel_d, f))))
    out.sort(key=lambda x: x[1])
    return out


def extract_tree(root: str | os.PathLike, subdirs: Iterable[str] = (), *, headers: bool = False,
                 progress=None) -> list[FileResult]:
    """Extract every file of ``root`` (or of ``subdirs`` under it).  ``progress(n)`` is called per file."""
    ex = Extractor(root)
    out = []
    for p, rel in source_files(root, subdirs, headers=headers):
        out.append(ex.extract_file(p, rel))
        if progress is not None:
            progress(1)
    return out


__all__ = ["Family", "FAMILIES", "CallSite", "FileResult", "Extractor", "extract_tree", "source_files",
           "decode_c_string", "KERN_LEVEL_MACROS"]
