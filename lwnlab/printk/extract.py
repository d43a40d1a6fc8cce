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
from typing import Iterable, NamedTuple

import numpy as np

from lwnlab.errors import SourceError
from lwnlab.printk import kbuild
from lwnlab.printk.lexer import (T_IDENT, T_PP_BEGIN, T_PP_END, T_PUNCT, T_STRING, Lexer, NameTable, Tokens,
                                 find_calls, find_if_const, find_includes, scan_structure, split_args, tokenize)

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
    fmt_arg: int  # argument index of the format; -1: a fixed format, all in extra_prefixes (ASSERT(cond))
    level: bytes | None = None  # a fixed KERN_* string stored as entry->level (dev_*, wrappers)
    fmt_level: bytes = b""  # a KERN_* prefix that goes *into* fmt (pr_*: KERN_ERR pr_fmt(fmt))
    level_arg: int = -1  # dev_printk(level, dev, fmt): level taken from this argument
    pr_fmt: bool = False
    dev_fmt: bool = False
    subsys_prefix: bytes | None = None  # entry->subsys_fmt_prefix (or the run-time prefix if not indexed)
    extra_prefixes: tuple = (b"",)  # text the wrapper puts before fmt, one entry per alternative: bytes, or a
    # tuple of pieces (bytes, or a (Tokens, a, b) range of a header resolved in the calling file, e.g. KBUILD_MODNAME)
    prefix_arg: int = -1  # printk_index_subsys_emit(prefix, level, fmt): subsys_fmt_prefix from this argument
    suffix: bytes = b""  # text the wrapper puts after fmt (ACPI's ec_log_raw: pr_info(fmt "\n", ...))
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
        # include/linux/net.h: net_ratelimited_function(pr_<level>, fmt, ...) calls pr_<level>(fmt, ...)
        # (the family is a macro argument, which no wrapper derivation can see)
        add(Family(f"net_{w}_ratelimited", 0, fmt_level=lv, pr_fmt=True, kind="pr"))
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
    for n in ("pr_debug", "pr_debug_ratelimited", "net_dbg_ratelimited"):
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
    # the wrappers' own API (include/linux/printk.h): xfs, fat and btrfs (6.1) are built on it; a level of
    # NULL means the level is inside fmt (btrfs_err: KERN_ERR fmt)
    add(Family("printk_index_subsys_emit", 2, level_arg=1, prefix_arg=0, kind="subsys"))
    add(Family("dev_err_probe", 2, level=KERN_LEVEL_MACROS["KERN_ERR"], subsys_prefix=b"%s %s: error %pe: ",
               indexed="no", reason="dev_err_probe is a function", kind="dev"))
    # kernel/panic.c: __warn_printk(fmt, ...) prints the "cut here" line with pr_warn, then vprintk(fmt): the
    # message's level is the KERN_* inside fmt (WARN(c, KERN_ERR "BTRFS: ...")), else the default
    for n, a in (("WARN", 1), ("WARN_ONCE", 1), ("WARN_RATELIMIT", 1), ("WARN_TAINT", 2), ("WARN_TAINT_ONCE", 2)):
        add(Family(n, a, level=None, indexed="no",
                   reason="WARN* prints through warn_slowpath_fmt", kind="warn"))
    for n in ("dev_WARN", "dev_WARN_ONCE"):
        add(Family(n, 1 if n == "dev_WARN" else 2, level=None, subsys_prefix=DEV_PREFIX,
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

#: macros that call a macro passed as an argument with the arguments after it: dynamic debug's factory
#: macros (``_dynamic_func_call_no_desc(fmt, func, args...)`` calls ``func(args...)``; when ``func`` is itself a
#: wrapper macro, btrfs_debug -> btrfs_printk in 6.1, its index entry is made too), once_lite.h's
#: ``DO_ONCE_LITE_IF(cond, func, ...)`` (trace.h's MEM_FAIL passes pr_err) and net.h's
#: ``net_ratelimited_function(function, ...)``: {name: index of the func argument}
DYN_CALLS = {"_dynamic_func_call_no_desc": 1, "_dynamic_func_call_cls_no_desc": 2, "DO_ONCE_LITE_IF": 1,
             "DO_ONCE_LITE": 0, "net_ratelimited_function": 0}
DYN_TABLE = NameTable.build(DYN_CALLS)
DYN_FAMILIES = {n: Family(n, 0, indexed="no", kind="dyncall") for n in DYN_CALLS}

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


class CallSite(NamedTuple):
    """One call of a printk-family macro, resolved as far as the source allows (a named tuple: one is made
    per call site, 200k per kernel tree)."""

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


_INC_HEAD = re.compile(rb"[ \t]*#[ \t]*")
_INC_TAIL = re.compile(rb'include(?:_next)?[ \t]*(?:"([^"\n]*)"|<([^>\n]*)>)')


def _include_candidates(data: bytes) -> list[tuple[int, bytes | None, bytes | None]]:
    """``(offset of '#', quoted name, angle name)`` of the lines that look like ``#include``."""
    out = []
    pos = data.find(b"include")
    while pos >= 0:
        ls = data.rfind(b"\n", 0, pos) + 1
        h = _INC_HEAD.fullmatch(data, ls, pos)
        if h is not None:
            m = _INC_TAIL.match(data, pos)
            if m is not None:
                out.append((data.index(b"#", ls, pos), m.group(1), m.group(2)))
        pos = data.find(b"include", pos + 7)
    return out


_INC_ARG = re.compile(rb'[ \t]*(?:"([^"\n]*)"|<([^>\n]*)>)')


def _parse_includes(tk: Tokens | None, data: bytes, pp=None) -> list[tuple[str, bool]]:
    """``(name, quoted)`` of the ``#include "name"`` / ``#include <name>`` directives, in order.

    With tokens (and ``pp``, the T_PP_BEGIN token indices), the directives are found among the tokens,
    so an ``#include`` inside a comment does not count; without, from the lines of the text."""
    if tk is None:
        found = _include_candidates(data)
    else:
        if pp is None:
            pp = np.nonzero(tk.kind == T_PP_BEGIN)[0]
        found = []
        end = tk.end
        for t in find_includes(pp.astype(np.int32, copy=False), tk.kind, tk.start, end, tk.buf).tolist():
            e = int(end[t])
            stop = data.find(b"\n", e)
            m = _INC_ARG.match(data, e, stop if stop >= 0 else len(data))
            if m is not None:
                found.append((0, m.group(1), m.group(2)))
    return [((q if q is not None else a).decode("latin-1").strip(), q is not None) for _, q, a in found]


_QUOTED: dict[tuple[str, str], str] = {}
_ANGLE: dict[tuple[str, str], str] = {}


def _resolve_includes(path: str, incs: list[tuple[str, bool]], include_dir: str) -> list[tuple[str, bool]]:
    """Absolute paths of a file's includes.  ``"name"`` is looked up beside the file, then (as Kbuild's
    ``-I$(srctree)/$(src)`` of a driver's top directory makes it) in the directories above it, then in
    ``include/``; ``<name>`` in ``include/`` (``arch/*/include`` is not searched)."""
    base = os.path.dirname(path)
    out = []
    for name, local in incs:
        if not local:
            key = (include_dir, name)
            got = _ANGLE.get(key)
            if got is None:
                got = _ANGLE[key] = os.path.join(include_dir, name)
            out.append((got, False))
            continue
        key = (base, name)
        got = _QUOTED.get(key)
        if got is None:
            got = os.path.normpath(os.path.join(base, name))
            if not os.path.isfile(got):
                root = os.path.dirname(include_dir)
                d = base
                while len(d) > len(root) and d.startswith(root):
                    d = os.path.dirname(d)
                    cand = os.path.normpath(os.path.join(d, name))
                    if os.path.isfile(cand):
                        got = cand
                        break
                else:
                    cand = os.path.normpath(os.path.join(include_dir, name))
                    if os.path.isfile(cand):
                        got = cand
            _QUOTED[key] = got
        out.append((got, True))
    return out


_DEFINE_NAME_RE = re.compile(rb"#[ \t]*define[ \t]+([A-Za-z_][A-Za-z0-9_]*)")


_FUNC_DEFINE_RE = re.compile(rb"#[ \t]*define[ \t]+[A-Za-z_][A-Za-z0-9_]*\(")


class _Header:
    """One header, read once per run: resolved includes, then (on demand) tokens, the names it
    ``#define``s, and the wrapper macros visible in it."""

    __slots__ = ("path", "data", "incs", "_tk", "_defined", "defs", "visible")

    def __init__(self, path: str, data: bytes, include_dir: str):
        self.path = path
        self.data = data
        # includes from the text alone (no tokens): an "#include" inside a comment is taken too
        self.incs = _resolve_includes(path, _parse_includes(None, data), include_dir)
        self._tk = None
        self._defined = None
        self.defs: dict = {}
        self.visible: dict | None = None  # wrapper macros visible in it (its own and its quoted includes')

    @property
    def tk(self) -> Tokens:
        if self._tk is None:
            self._tk = tokenize(self.data)
        return self._tk

    def define(self, name: str):
        """The first ``#define name`` of this header (all ``#if`` branches count), or None."""
        if self._defined is None:
            self._defined = frozenset(m.decode("latin-1") for m in _DEFINE_NAME_RE.findall(self.data))
        if name not in self._defined:
            return None
        got = self.defs.get(name, False)
        if got is False:
            found = [d for d in _find_defines(self.tk, self.data, name) if not d.undef]
            got = self.defs[name] = found[0] if found else None
        return got


class _HeaderCache:
    """Headers read once per run: tokens, includes, and definitions looked up by name."""

    def __init__(self, include_dir: str = ""):
        self.include_dir = include_dir
        self.cache: dict[str, _Header | None] = {}
        self.memo: dict = {}

    def get(self, path: str) -> _Header | None:
        h = self.cache.get(path, False)
        if h is False:
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError:
                data = None
            h = self.cache[path] = None if data is None else _Header(path, data, self.include_dir)
        return h

    def closure_lookup(self, path: str, name: str, local_only: bool, include_dir: str = ""):
        """``name`` defined in ``path`` or (recursively) in what it includes; memoised per run."""
        key = (path, name, local_only)
        memo = self.memo
        if key in memo:
            return memo[key]
        memo[key] = None  # cycles: a header being searched contributes nothing more
        h = self.get(path)
        if h is None:
            return None
        d = h.define(name)
        if d is not None:
            memo[key] = (h.tk, d)
            return memo[key]
        for p, is_local in h.incs:
            if local_only and not is_local:
                continue
            got = self.closure_lookup(p, name, local_only)
            if got is not None:
                memo[key] = got
                return got
        return None


def _const_bytes(tk: Tokens, a: int, b: int, lookup=None, depth: int = 0) -> bytes | None:
    """Tokens ``[a, b)`` as a compile-time string without a calling file: string literals, ``KERN_*``,
    parentheses and object-like macros that ``lookup(name) -> (Tokens, _Define) | None`` finds; else None."""
    if depth > 8:
        return None
    out = bytearray()
    kind, start, end, buf = tk.kind, tk.start, tk.end, tk.buf
    prev = None
    for t in range(a, b):
        if prev is not None and start[t] > prev:
            gap = buf[prev:start[t]].tobytes().replace(b"\\\n", b"")
            if gap.strip() and not _only_comments(gap):
                return None
        prev = end[t]
        k = kind[t]
        if k == T_STRING:
            v = decode_c_string(tk.text(t))
            if v is None:
                return None
            out += v
        elif k == T_PUNCT and buf[start[t]] in (40, 41):
            continue
        elif k == T_IDENT:
            name = tk.text(t).decode("latin-1")
            if name in KERN_LEVEL_MACROS:
                out += KERN_LEVEL_MACROS[name]
                continue
            got = lookup(name) if lookup is not None else None
            if got is None or got[1].params is not None:
                return None
            dtk, d = got
            v = _const_bytes(dtk, d.body[0], d.body[1], lookup, depth + 1)
            if v is None:
                return None
            out += v
        else:
            return None
    return bytes(out)


def _join_prefix(inner, outer):
    """``inner`` (a wrapper's prefix alternative) followed by ``outer`` (text the calling macro adds)."""
    if isinstance(inner, bytes) and isinstance(outer, bytes):
        return inner + outer
    pieces = list(inner) if isinstance(inner, tuple) else [inner]
    pieces += list(outer) if isinstance(outer, tuple) else [outer]
    merged: list = []
    for x in pieces:
        if isinstance(x, bytes) and merged and isinstance(merged[-1], bytes):
            merged[-1] += x
        elif not (isinstance(x, bytes) and not x):
            merged.append(x)
    if all(isinstance(x, bytes) for x in merged):
        return b"".join(merged)
    return tuple(merged)


def _derive_wrappers(tk: Tokens, pp_list: list, calls, fams: list, known, skip, before_text, const_text,
                     kind_prefix: str, fixed: bool = True) -> dict[str, Family]:
    """Families for the ``#define``s of ``tk`` whose body calls a family (``calls``/``fams``, all inside
    directives) with one of the macro's parameters as the format, or with a fixed format (then each
    use of the macro is a call site of that format: ``fmt_arg`` -1, the format in ``extra_prefixes``).

    ``known(name)`` finds a family by name (for dynamic debug's ``func`` argument), ``skip`` holds names
    that are families already; ``before_text(a, b)`` gives the text the macro puts before the format
    (bytes, a lazy piece, or None), ``const_text(a, b)`` a constant (bytes or None).  ``fixed``: derive
    fixed-format wrappers too (not from include/, whose BUG()/BUG_ON() print only where the arch has no
    HAVE_ARCH_BUG: x86 and arm64 have it); a macro that also passes a parameter as a format is a
    parameter wrapper (ext4_debug)."""
    out: dict[str, Family] = {}
    if not calls:
        return out
    ctoks = np.array(calls, np.int32)
    bounds, nargs, close = split_args(tk.kind, tk.start, tk.buf, ctoks, np.int64(8))
    kind = tk.kind
    for j, t in enumerate(calls):
        k = bisect.bisect_right(pp_list, t) - 1
        if k < 0:
            continue
        h = pp_list[k]
        if h + 1 >= len(tk) or tk.text(h + 1) != b"define":
            continue
        e = h
        while e < len(tk) and kind[e] != T_PP_END:
            e += 1
        d = _parse_define(tk, h, h + 2, e)
        if d is None or d.params is None or d.name in skip or t == h + 2:
            continue  # (t == h + 2: the "call" is the macro's own name, "#define foo(x) ...")
        fam = fams[j]
        if fam.name == d.name:
            continue
        prev = out.get(d.name)
        if prev is not None and prev.fmt_arg >= 0:
            continue
        if fam.fmt_arg < 0:  # a call of a fixed-format wrapper: this macro prints the same
            if fixed and prev is None and fam.level_arg < 0 and fam.prefix_arg < 0:
                out[d.name] = replace(fam, name=d.name)
            continue
        shift = 0
        na = int(nargs[j])
        if fam.kind == "dyncall":  # _dynamic_func_call_no_desc(fmt, func, args...): func(args...)
            f = DYN_CALLS[fam.name]
            if f >= na:
                continue
            fa, fb = int(bounds[j, f]) + 1, int(bounds[j, f + 1])
            if fb - fa != 1 or kind[fa] != T_IDENT:
                continue
            fam = known(tk.text(fa).decode("latin-1"))
            if fam is None or fam.kind == "dyncall" or fam.fmt_arg < 0:
                continue
            shift = f + 1
            na -= shift
        if fam.fmt_arg >= na or fam.fmt_arg + shift >= 8:
            continue
        a, b = int(bounds[j, fam.fmt_arg + shift]) + 1, int(bounds[j, fam.fmt_arg + shift + 1])
        # "printk(KERN_DEBUG pr_fmt(fmt), ...)" (pm_pr_dbg, hfs_dbg, wcn36xx_err): pr_fmt/dev_fmt is the one
        # in effect where the wrapper is used, and the constant before it is the level inside fmt
        fmt_macro, fmt_level = None, fam.fmt_level
        if not (fam.pr_fmt or fam.dev_fmt):
            for u in range(a, b - 2):
                if kind[u] == T_IDENT and tk.text(u) in (b"pr_fmt", b"dev_fmt") and kind[u + 1] == T_PUNCT \
                        and tk.buf[tk.start[u + 1]] == 40:
                    close = _match_paren(tk, u + 1, b)
                    lead = const_text(a, u) if u > a else b""
                    if close == b - 1 and lead is not None:
                        fmt_macro, fmt_level = tk.text(u).decode("latin-1"), fmt_level + lead
                        a, b = u + 2, close
                    break
        # which wrapper parameter is the format?
        ptoks = [u for u in range(a, b) if kind[u] == T_IDENT and tk.text(u).decode("latin-1") in d.params]
        if not ptoks and fixed and fam.level_arg < 0 and fam.prefix_arg < 0 and fmt_macro is None:
            # a fixed format (ext4's ASSERT(), percpu's PCPU_SETUP_BUG_ON()): every use of the macro is a
            # call site with that format; several such calls in one macro are alternatives, one entry each
            fixed = before_text(a, b)
            if fixed is None or (isinstance(fixed, bytes) and not fixed):
                continue
            alts = tuple(_join_prefix(p, fixed) for p in fam.extra_prefixes)
            if prev is not None:
                if prev.kind != f"{kind_prefix}:{fam.name}":
                    continue  # calls of different families: one entry kind per macro
                out[d.name] = replace(prev, extra_prefixes=prev.extra_prefixes + alts)
            else:
                out[d.name] = replace(fam, name=d.name, fmt_arg=-1, extra_prefixes=alts,
                                      kind=f"{kind_prefix}:{fam.name}")
            continue
        if len(ptoks) != 1:
            continue  # (a parameter format replaces fixed ones seen before in the same macro)
        pname = tk.text(ptoks[0]).decode("latin-1")
        before = before_text(a, ptoks[0])
        after = const_text(ptoks[0] + 1, b)
        if before is None or after is None:
            continue
        level_arg = -1
        level = fam.level
        if fam.level_arg >= 0:
            if fam.level_arg >= na or fam.level_arg + shift >= 8:
                continue
            la, lb = int(bounds[j, fam.level_arg + shift]) + 1, int(bounds[j, fam.level_arg + shift + 1])
            lnames = [tk.text(u).decode("latin-1") for u in range(la, lb) if kind[u] == T_IDENT]
            if len(lnames) == 1 and lnames[0] in d.params:
                level_arg = d.params.index(lnames[0])
            elif len(lnames) == 1 and lnames[0] in KERN_LEVEL_MACROS:
                level = KERN_LEVEL_MACROS[lnames[0]]
            elif len(lnames) == 1 and lnames[0] == "NULL":
                level = None  # the level, if any, is inside fmt
            else:
                continue
        prefix, prefix_arg = fam.subsys_prefix, -1
        if fam.prefix_arg >= 0:
            if fam.prefix_arg >= na or fam.prefix_arg + shift >= 8:
                continue
            prefix = const_text(int(bounds[j, fam.prefix_arg + shift]) + 1, int(bounds[j, fam.prefix_arg + shift + 1]))
            if prefix is None:
                continue
        out[d.name] = replace(fam, name=d.name, fmt_arg=d.params.index(pname), level=level, level_arg=level_arg,
                              subsys_prefix=prefix, prefix_arg=prefix_arg, fmt_level=fmt_level, suffix=after + fam.suffix,
                              pr_fmt=fam.pr_fmt or fmt_macro == "pr_fmt", dev_fmt=fam.dev_fmt or fmt_macro == "dev_fmt",
                              extra_prefixes=tuple(_join_prefix(p, before) for p in fam.extra_prefixes),
                              kind=f"{kind_prefix}:{fam.name}")
    return out


# ----------------------------------------------------------------------------- the extractor


class Extractor:
    """Extract call sites from files of one source tree (``root``), reusing lexer memory and caches.

    Wrapper macros are found in three places, each read once per Extractor (per worker process):

    * ``#define``s of the file itself (``local_wrappers``);
    * headers the file includes with ``#include "..."`` (relative to the including file), and what
      those include the same way (``header_wrappers``);
    * every header under ``include/`` (``header_wrappers``): scanned once, on first use, for macros
      like ``hid_err``/``phydev_err``; a call counts only when the file's includes reach the definition.

    Nested wrappers (``btrfs_err`` -> ``btrfs_printk`` -> ``printk_index_subsys_emit``) are resolved
    round by round.  Headers under ``arch/*/include`` (``<asm/...>``) are not scanned for wrappers.
    """

    def __init__(self, root: str | os.PathLike, *, families: dict[str, Family] | None = None,
                 local_wrappers: bool = True, header_wrappers: bool = True):
        self.root = Path(root)
        self.base_families = dict(FAMILIES if families is None else families)
        self.families = dict(self.base_families)
        self.table = FAMILY_TABLE if families is None else NameTable.build(self.families)
        self.local_wrappers = local_wrappers
        self.header_wrappers = header_wrappers
        self.lexer = Lexer()
        self.include_dir = os.path.join(str(self.root), "include")
        self.headers = _HeaderCache(self.include_dir)
        self.global_wrappers: dict[str, Family] | None = None  # from include/, after prepare()
        self._tables: dict[frozenset, NameTable] = {}
        self._modname: dict[str, str] = {}

    # -- helpers
    def modname(self, rel: str) -> str:
        if rel not in self._modname:
            self._modname[rel] = kbuild.modname_for(self.root, rel)
        return self._modname[rel]

    def table_of(self, fams: dict) -> NameTable:
        key = frozenset(fams)
        t = self._tables.get(key)
        if t is None:
            t = self._tables[key] = NameTable.build(sorted(key))
        return t

    def prepare(self) -> None:
        """Scan ``include/`` for wrapper macros (once; the pool's parent calls it before forking)."""
        if self.global_wrappers is not None:
            return
        self.global_wrappers = {}
        if not self.header_wrappers or not os.path.isdir(self.include_dir):
            return
        found: dict[str, Family] = {}
        datas = []
        for d, dirs, files in os.walk(self.include_dir):
            dirs.sort()
            for f in sorted(files):
                if f.endswith(".h"):
                    path = os.path.join(d, f)
                    try:
                        with open(path, "rb") as fh:
                            data = fh.read()
                    except OSError:
                        continue
                    if b"define" in data:
                        datas.append((path, data))
        tables = [(self.table, self.families)]
        for _round in range(6):
            new: dict[str, Family] = {}
            for path, data in datas:
                tk = self.lexer.run(data)
                hits = self._pp_calls(tk, data, tables)
                if not hits:
                    continue
                h = self.headers.get(path)  # keeps its tokens: wrappers may refer to them
                if h is None:
                    continue
                got = self._derive(h.tk, h.data, tables, {**found, **new}, self._header_texts(h), "header",
                                   fixed=False)
                for k, v in got.items():
                    new.setdefault(k, v)
            if not new:
                break
            found.update(new)
            tables = [(self.table_of(new), new)]
        self.global_wrappers = found
        if found:
            self.families = {**self.base_families, **{k: v for k, v in found.items() if k not in self.base_families}}
            self.table = NameTable.build(self.families)

    def _pp_calls(self, tk: Tokens, data: bytes, tables) -> list[tuple[int, Family]]:
        """Calls inside directives of any family of ``tables`` (and of dynamic debug's factory macros)."""
        out = []
        if b"define" not in data:
            return out
        for table, fams in tables:
            c, n, in_pp = find_calls(tk.kind, tk.start, tk.end, tk.buf, table.blob, table.offs, table.slots,
                                     np.int64(table.mask))
            for q in np.nonzero(in_pp)[0].tolist():
                out.append((int(c[q]), fams[table.names[n[q]]]))
        if b"_dynamic_func_call" in data or b"DO_ONCE_LITE" in data or b"net_ratelimited_function" in data:
            t = DYN_TABLE
            c, n, in_pp = find_calls(tk.kind, tk.start, tk.end, tk.buf, t.blob, t.offs, t.slots, np.int64(t.mask))
            for q in np.nonzero(in_pp)[0].tolist():
                out.append((int(c[q]), DYN_FAMILIES[t.names[n[q]]]))
        out.sort(key=lambda x: x[0])
        return out

    def _derive(self, tk: Tokens, data: bytes, tables, avail: dict, texts, kind_prefix: str,
                families: dict | None = None, fixed: bool = True) -> dict[str, Family]:
        """Wrappers defined in ``tk``, round by round (a wrapper of a wrapper of the same file).

        ``avail``: wrappers visible there already; ``families``: the families a definition of the same
        name does not replace (default: all of this extractor's)."""
        fams_base = self.families if families is None else families
        before_text, const_text = texts
        derived: dict[str, Family] = {}
        pp_list = None
        while tables:
            hits = self._pp_calls(tk, data, tables)
            if not hits:
                break
            if pp_list is None:
                pp_list = np.nonzero(tk.kind == T_PP_BEGIN)[0].tolist()

            def known(name, derived=derived):
                return derived.get(name) or avail.get(name) or self.families.get(name)

            skip = _Skip(derived, avail, fams_base)
            new = _derive_wrappers(tk, pp_list, [c for c, _ in hits], [f for _, f in hits], known, skip, before_text,
                                   const_text, kind_prefix, fixed)
            if not new:
                break
            derived.update(new)
            tables = [(self.table_of(new), new)]
        return derived

    def _header_texts(self, h: _Header):
        def lookup(name):
            d = h.define(name)
            return None if d is None else (h.tk, d)

        def const_text(a, b):
            return _const_bytes(h.tk, a, b, lookup)

        def before_text(a, b):
            if b <= a:
                return b""
            v = _const_bytes(h.tk, a, b, lookup)
            return v if v is not None else ((h.tk, a, b),)  # resolved in the calling file (KBUILD_MODNAME...)

        return before_text, const_text

    def visible_wrappers(self, path: str) -> dict[str, Family]:
        """Wrapper macros a file gets by ``#include "path"``: the header's own and its quoted includes'."""
        h = self.headers.get(path)
        if h is None:
            return {}
        if h.visible is not None:
            return h.visible
        h.visible = {}  # cycles
        inc: dict[str, Family] = {}
        for p, local in h.incs:
            if local:
                for k, v in self.visible_wrappers(p).items():
                    inc.setdefault(k, v)
        own = {}
        if _FUNC_DEFINE_RE.search(h.data):  # only function-like macros can be wrappers
            tables = [(self.table, self.families)] + ([(self.table_of(inc), inc)] if inc else [])
            own = self._derive(h.tk, h.data, tables, inc, self._header_texts(h), "header")
        vis = dict(own)
        for k, v in inc.items():
            vis.setdefault(k, v)
        h.visible = vis
        return vis

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
        if self.global_wrappers is None:
            self.prepare()
        tk = self.lexer.run(data)
        res = FileResult(rel, bytes=len(data))
        res.skipped = tk.skipped() if int(tk.stats[2:7].sum()) else {}
        ctx = _FileContext(self, tk, path, rel, data)
        ctx.run(res)
        return res


class _Skip:
    """``name in skip``: a name that is a family already (derived, available or built in)."""

    __slots__ = ("maps",)

    def __init__(self, *maps):
        self.maps = maps

    def __contains__(self, name) -> bool:
        return any(name in m for m in self.maps)


class _FileContext:
    """Everything known about one file while extracting it."""

    def __init__(self, ex: Extractor, tk: Tokens, path: str, rel: str, data: bytes | None = None):
        self.ex = ex
        self.tk = tk
        self.path = path
        self.rel = rel
        self._defs: dict[str, list[_Define]] = {}
        self.data = data if type(data) is bytes else tk.buf.tobytes()
        self._inc_cache: dict = {}
        self._incs = None
        self._func_names: dict[int, str] = {}
        self._modname: str | None = None

    # -- macro tables, built lazily
    def defs_of(self, name: str) -> list[_Define]:
        got = self._defs.get(name)
        if got is None:
            got = self._defs[name] = _find_defines(self.tk, self.data, name)
        return got

    def _includes(self) -> list[tuple[str, bool]]:
        if self._incs is None:
            self._incs = _resolve_includes(self.path, _parse_includes(self.tk, self.data, self.pp), self.ex.include_dir)
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
        kind, start, end, buf = tk.kind, tk.start, tk.end, tk.buf
        if b - a == 1 and kind[a] == T_STRING:  # the common case: one literal
            v = decode_c_string(tk.text(a))
            return (v, None) if v is not None else (None, "wide string literal")
        out = bytearray()
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
        self.fn_close = fn_close.tolist()
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
        visible: dict[str, Family] = {}
        if ex.header_wrappers:
            for p, local in self._includes():
                if local:
                    got = ex.visible_wrappers(p)
                    if got and got is not visible:
                        visible = {**got, **visible} if visible else got  # the first definition wins
        if ex.global_wrappers and fams:
            # a wrapper macro of include/ counts only where the file's includes reach its definition, and
            # not where the file or a local header defines the name itself
            bad: dict[str, bool] = {}
            for f in fams:
                nm = f.name
                if nm in ex.global_wrappers and nm not in ex.base_families and nm not in bad:
                    bad[nm] = nm in visible or any(not d.undef for d in self.defs_of(nm)) \
                        or self.include_lookup(nm, local_only=False) is None
            if any(bad.values()):
                keep = np.array([not bad.get(f.name, False) for f in fams], bool)
                calls, in_pp = calls[keep], in_pp[keep]
                fams = [f for f, k in zip(fams, keep.tolist()) if k]
        parts = [(calls, in_pp, fams)]
        if visible:
            parts.append(self._calls_of(visible))
        if ex.local_wrappers and any(x[1].any() for x in parts):
            texts = (lambda a, b: self.resolve(tk, a, b, 1 << 30, None)[0],) * 2
            tables = [(ex.table, ex.families)] + ([(ex.table_of(visible), visible)] if visible else [])
            extra = ex._derive(tk, self.data, tables, visible, texts, "local", ex.base_families)
            if extra:
                parts.append(self._calls_of(extra))
        if len(parts) > 1:
            calls = np.concatenate([x[0] for x in parts])
            in_pp = np.concatenate([x[1] for x in parts])
            fams = [f for x in parts for f in x[2]]
            order = np.argsort(calls, kind="stable")  # file order
            calls, in_pp = calls[order], in_pp[order]
            fams = [fams[i] for i in order.tolist()]
        if calls.shape[0] == 0:
            return
        keep = in_pp == 0
        if find_if_const(self.pp, tk.kind, tk.start, tk.end, tk.buf).shape[0]:  # "#if 0" code is never compiled
            for a, b in self.if0_ranges():
                keep &= ~((calls > a) & (calls < b))
            res.skipped_if0 = int(((in_pp == 0) & ~keep).sum())
        sel = np.nonzero(keep)[0]
        if sel.shape[0] == 0:
            return
        ctoks = calls[sel].astype(np.int32)
        bounds, nargs, close = split_args(tk.kind, tk.start, tk.buf, ctoks, np.int64(6))
        for t, ci, bnd, na in zip(ctoks.tolist(), sel.tolist(), bounds.tolist(), nargs.tolist()):
            self.one_call(res, t, fams[ci], bnd, na)

    def _calls_of(self, fams: dict[str, Family]):
        tk = self.tk
        table = self.ex.table_of(fams)
        c, n, p = find_calls(tk.kind, tk.start, tk.end, tk.buf, table.blob, table.offs, table.slots,
                             np.int64(table.mask))
        return c, p, [fams[table.names[i]] for i in n.tolist()]

    def if0_ranges(self) -> list[tuple[int, int]]:
        """Token ranges of dead branches: ``#if 0`` to its ``#else``/``#elif``/``#endif``, and what follows
        the ``#else``/``#elif`` of an ``#if 1`` (to the ``#endif``).  Every other condition counts as true."""
        tk = self.tk
        out = []
        stack: list[tuple[bool, int, bool]] = []  # (dead branch, its start token, an "#if 1" chain)
        for t in self.pp.tolist():
            if t + 1 >= len(tk) or tk.kind[t + 1] != T_IDENT:
                continue
            name = tk.text(t + 1)
            if name in (b"if", b"ifdef", b"ifndef"):
                const = name == b"if" and t + 3 < len(tk) and tk.kind[t + 3] == T_PP_END and tk.text(t + 2) in (b"0", b"1")
                stack.append((const and tk.text(t + 2) == b"0", t, const and tk.text(t + 2) == b"1"))
            elif name in (b"else", b"elif") and stack:
                zero, start, one = stack[-1]
                if zero:
                    out.append((start, t))
                stack[-1] = (one, t, one)  # after "#if 1", every other branch is dead
            elif name == b"endif" and stack:
                zero, start, _ = stack.pop()
                if zero:
                    out.append((start, t))
        out += [(start, len(tk)) for zero, start, _ in stack if zero]
        return out

    def func_of(self, t: int) -> str:
        k = bisect.bisect_right(self.fn_open, t) - 1
        if k < 0 or t > self.fn_close[k]:
            return ""
        got = self._func_names.get(k)
        if got is None:
            got = self._func_names[k] = self._func_name(k)
        return got

    def _func_name(self, k: int) -> str:
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
        prefix = fam.subsys_prefix

        def emit(fmt, level, why, indexed, reason):
            res.calls.append(CallSite(self.rel, line, func, macro, fmt, level, prefix, indexed,
                                      reason or why or "", self.modname(), fam.kind))

        if fam.fmt_arg >= 0 and (fam.fmt_arg >= nargs or fam.fmt_arg >= 6):
            res.unresolved += 1
            emit(None, fam.level, "too few arguments", False, "")
            return
        indexed = fam.indexed == "yes" or (fam.indexed == "debug" and self.has_debug(t))
        reason = "" if indexed else fam.reason
        level = fam.level
        if fam.level_arg >= 0:
            la, lb = bounds[fam.level_arg] + 1, bounds[fam.level_arg + 1]
            if lb == la + 1 and tk.kind[la] == T_IDENT and tk.text(la) == b"NULL":
                level = None  # printk_index_subsys_emit(prefix, NULL, fmt): the level is in fmt
            else:
                level, why = self.resolve(tk, la, lb, t)
                if level is None:
                    indexed = False
                    reason = reason or "level is not a constant"
        if fam.prefix_arg >= 0:
            if fam.prefix_arg >= nargs:
                res.unresolved += 1
                emit(None, level, "too few arguments", False, "")
                return
            prefix, why = self.resolve(tk, bounds[fam.prefix_arg] + 1, bounds[fam.prefix_arg + 1], t)
            if prefix is None:  # the kernel refuses to compile a non-constant subsys_fmt_prefix
                res.unresolved += 1
                emit(None, level, why, False, reason)
                return
        if fam.fmt_arg < 0:  # a fixed-format wrapper: the whole format is in extra_prefixes
            raw, why = b"", None
        else:
            a, b = bounds[fam.fmt_arg] + 1, bounds[fam.fmt_arg + 1]
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
            if not isinstance(pre, bytes):  # pieces of a header wrapper that depend on the calling file
                pre, why = self.resolve_pieces(pre, t)
                if pre is None:
                    res.unresolved += 1
                    emit(None, level, why, False, reason)
                    continue
            body = pre + raw + fam.suffix
            if fam.pr_fmt:
                body, why = self.apply_fmt_macro("pr_fmt", body, t)
            elif fam.dev_fmt:
                body, why = self.apply_fmt_macro("dev_fmt", body, t)
            if body is None:
                res.unresolved += 1
                emit(None, level, why, False, reason)
                continue
            emit(fam.fmt_level + body, level, None, indexed, reason)

    def resolve_pieces(self, pieces: tuple, at_tok: int):
        out = b""
        for x in pieces:
            if isinstance(x, bytes):
                out += x
                continue
            ptk, a, b = x
            v, why = self.resolve(ptk, a, b, at_tok if ptk is self.tk else 1 << 30, None)
            if v is None:
                return None, why
            out += v
        return out, None


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
        for d, dirs, files in os.walk(s, onerror=_walk_error):
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


def _walk_error(e: OSError):
    """os.walk ignores directories it cannot list: a silently smaller index is a wrong answer."""
    raise SourceError(f"cannot read directory: {e.strerror}", file=e.filename) from e


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
