"""Map log lines back to the index entry (file:line, format) that printed them.

1. Every format is compiled (:mod:`lwnlab.printk.fmt`) into a small program
   of ``LIT``/``RUN``/``ANY``/``OPT`` ops, flattened into numpy arrays.
2. **Prefilter**: each format is keyed by its *rarest* literal q-gram (up to 7
   bytes, packed into a uint64) and by the rarest one that does not overlap it;
   the keys live in an open-addressing hash table.  A numba kernel slides over
   each line, looks up every q-gram and collects the formats whose keys both
   occur: a format can only match a line that contains its literals.  (Formats with no literal at all, like ``"%s\\n"``, are
   always candidates, last.)
3. **Verify** the candidates with a backtracking matcher over the ops, in
   order of decreasing literal characters: *the most specific format wins*
   (without that rule ``"%s %s: %s"`` from dev_* would swallow everything).
4. Lines are normalised first (dmesg ``[ts]``, syslog and journal prefixes,
   ``/dev/kmsg`` records, ``<N>`` level prefixes); a line that no format
   matches whole is tried as a head format without ``\\n`` followed by
   ``pr_cont`` (``<c>``) fragments of the same function: dmesg shows them joined.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lwnlab._jit import jit
from lwnlab.printk import fmt as F
from lwnlab.printk.index import Entry, Index

QMAX = 7  # long literals are keyed by 7-byte grams
#: a printk record's text is at most PRINTKRB_RECORD_MAX = 1024 bytes (kernel/printk/internal.h, 6.12; 6.1's
#: LOG_LINE_MAX is smaller); a log line four times longer (room for escaping by syslog or journald) is no
#: kernel message, and is reported unmatched without being tried (a 10 MB line took minutes)
MAX_MESSAGE_BYTES = 4 * 1024
QSHORT = 4  # literals of 4..6 bytes by 4-byte grams; formats whose literals are all shorter are tried last


# ----------------------------------------------------------------------------- numba kernels


def _warm_run():
    prog = _compile_programs([F.parse(b"x=%d %s ok")])
    line = np.frombuffer(b"x=12 ab ok", np.uint8)
    return (line, np.int64(0), np.int64(line.shape[0]), prog[0], np.int64(0), np.int64(prog[0].shape[0]), prog[1],
            F.CLASS_TABLE, np.zeros((256, 3), np.int64), np.int64(100000))


@jit(warmup=_warm_run)
def run_prog(line, s, e, ops, o0, o1, blob, cls, stack, budget):
    """Does ``line[s:e]`` match ops[o0:o1] whole?  1 yes, 0 no, -1 budget or stack exhausted."""
    sp = 0
    cap = stack.shape[0]
    i = o0
    pos = s
    steps = 0
    while True:
        steps += 1
        if steps > budget:
            return -1
        fail = False
        if i == o1:
            if pos == e:
                return 1
            fail = True
        else:
            op = ops[i, 0]
            if op == 0:  # LIT
                a = ops[i, 1]
                b = ops[i, 2]
                if pos + b > e:
                    fail = True
                else:
                    for q in range(b):
                        if line[pos + q] != blob[a + q]:
                            fail = True
                            break
                    if not fail:
                        pos += b
                        i += 1
            elif op == 1:  # RUN, greedy
                c = ops[i, 1]
                lo = ops[i, 2]
                hi = ops[i, 3]
                k = 0
                while k < hi and pos + k < e and cls[c, line[pos + k]] != 0:
                    k += 1
                if k < lo:
                    fail = True
                else:
                    if k > lo:
                        if sp >= cap:
                            return -1
                        stack[sp, 0] = i
                        stack[sp, 1] = pos
                        stack[sp, 2] = k
                        sp += 1
                    pos += k
                    i += 1
            elif op == 2:  # ANY, lazy
                lo = ops[i, 2]
                hi = ops[i, 3]
                k = lo
                if pos + k > e:
                    fail = True
                elif i + 1 < o1 and ops[i + 1, 0] == 0:
                    # skip ahead to where the next literal can start
                    f0 = blob[ops[i + 1, 1]]
                    while pos + k < e and k <= hi and line[pos + k] != f0:
                        k += 1
                    if pos + k >= e or k > hi:
                        fail = True
                if not fail:
                    if k < hi and pos + k < e:
                        if sp >= cap:
                            return -1
                        stack[sp, 0] = i
                        stack[sp, 1] = pos
                        stack[sp, 2] = k
                        sp += 1
                    pos += k
                    i += 1
            else:  # OPT literal
                a = ops[i, 1]
                b = ops[i, 2]
                ok = pos + b <= e
                if ok:
                    for q in range(b):
                        if line[pos + q] != blob[a + q]:
                            ok = False
                            break
                if ok:
                    if sp >= cap:
                        return -1
                    stack[sp, 0] = i
                    stack[sp, 1] = pos
                    stack[sp, 2] = 0
                    sp += 1
                    pos += b
                i += 1
        if fail:
            while True:
                if sp == 0:
                    return 0
                sp -= 1
                j = stack[sp, 0]
                p0 = stack[sp, 1]
                k = stack[sp, 2]
                op = ops[j, 0]
                if op == 1:
                    k -= 1
                    if k > ops[j, 2]:
                        stack[sp, 2] = k
                        sp += 1
                    pos = p0 + k
                    i = j + 1
                    break
                elif op == 2:
                    k += 1
                    hi = ops[j, 3]
                    if j + 1 < o1 and ops[j + 1, 0] == 0:
                        f0 = blob[ops[j + 1, 1]]
                        while p0 + k < e and k <= hi and line[p0 + k] != f0:
                            k += 1
                        if p0 + k >= e or k > hi:
                            continue
                    elif p0 + k > e or k > hi:
                        continue
                    if k < hi and p0 + k < e:
                        stack[sp, 2] = k
                        sp += 1
                    pos = p0 + k
                    i = j + 1
                    break
                else:  # OPT: now without the literal
                    pos = p0
                    i = j + 1
                    break


@jit(warmup=lambda: _warm_run()[:7])
def lits_in_order(line, s, e, ops, o0, o1, blob):
    """Necessary condition for a match, in linear time: the format's literals occur in order
    (the first one at the start when the format starts with it, the last one at the end)."""
    pos = s
    for i in range(o0, o1):
        if ops[i, 0] != 0:
            continue
        a = ops[i, 1]
        b = ops[i, 2]
        if i == o0:
            if pos + b > e:
                return False
            for q in range(b):
                if line[pos + q] != blob[a + q]:
                    return False
            pos += b
            continue
        if i == o1 - 1:
            st = e - b
            if st < pos:
                return False
            for q in range(b):
                if line[st + q] != blob[a + q]:
                    return False
            return True
        found = -1
        f0 = blob[a]
        p = pos
        while p + b <= e:
            if line[p] == f0:
                ok = True
                for q in range(1, b):
                    if line[p + q] != blob[a + q]:
                        ok = False
                        break
                if ok:
                    found = p
                    break
            p += 1
        if found < 0:
            return False
        pos = found + b
    return True


def _warm_match():
    m = Matcher.from_formats([b"x=%d %s ok\n", b"%s\n"])
    buf, offs = _pack_lines([b"x=1 y ok", b"zzz"])
    return m._kernel_args(buf, offs)


@jit(warmup=_warm_match)
def match_lines(buf, offs, ops, op_start, blob, cls, score, nokey, hkeys, hstart, hlist, hmask, lens, need, bloom,
                budget, out, ncand_out):
    """For each line ``buf[offs[i]:offs[i+1]]``: the best matching format (or -1; -2 unknown)."""
    nl = offs.shape[0] - 1
    nf = score.shape[0]
    stamp = np.full(nf, -1, np.int64)
    got = np.zeros(nf, np.int64)
    cand = np.empty(nf + 1, np.int64)
    stack = np.zeros((512, 3), np.int64)
    for li in range(nl):
        s = offs[li]
        e = offs[li + 1]
        nc = 0
        for p in range(s, e):
            v = np.uint64(0)
            for L in range(1, QMAX + 1):
                if p + L > e:
                    break
                v = v | (np.uint64(buf[p + L - 1]) << np.uint64(8 * (L - 1)))
                if lens[L] == 0:
                    continue
                key = v | (np.uint64(L) << np.uint64(56))
                hm = key * np.uint64(0x9E3779B97F4A7C15)
                # a 256 KB bitmap of the keys answers most "not a key" cheaply, from cache
                bb = np.int64(hm >> np.uint64(43))
                if (bloom[bb >> 6] >> np.uint64(bb & 63)) & np.uint64(1) == np.uint64(0):
                    continue
                h = hm >> np.uint64(40)
                slot = np.int64(h) & hmask
                while hkeys[slot] != np.uint64(0):
                    if hkeys[slot] == key:
                        for q in range(hstart[slot], hstart[slot + 1]):
                            code = hlist[q]
                            f = code >> 1
                            bit = 1 << (code & 1)
                            if stamp[f] != li:
                                stamp[f] = li
                                got[f] = 0
                            if got[f] & bit == 0:
                                got[f] |= bit
                                if got[f] == need[f]:
                                    cand[nc] = f
                                    nc += 1
                        break
                    slot = (slot + 1) & hmask
        ncand_out[li] = nc
        best = -1
        undecided = -1
        if nc > 0:
            sc = np.empty(nc, np.int64)
            for q in range(nc):
                sc[q] = -score[cand[q]] * (nf + 1) + cand[q]
            order = np.argsort(sc)
            for q in range(nc):
                f = cand[order[q]]
                if not lits_in_order(buf, s, e, ops, op_start[f], op_start[f + 1], blob):
                    continue
                r = run_prog(buf, s, e, ops, op_start[f], op_start[f + 1], blob, cls, stack, budget)
                if r == 1:
                    best = f
                    break
                if r < 0 and undecided < 0:
                    undecided = f
        if best == -1 and undecided < 0:
            for q in range(nokey.shape[0]):
                f = nokey[q]
                if not lits_in_order(buf, s, e, ops, op_start[f], op_start[f + 1], blob):
                    continue
                r = run_prog(buf, s, e, ops, op_start[f], op_start[f + 1], blob, cls, stack, budget)
                if r == 1:
                    best = f
                    break
                if r < 0 and undecided < 0:
                    undecided = f
        if best == -1 and undecided >= 0:
            best = -2 - undecided  # the budget ran out: the caller lets re decide that one
        out[li] = best
    return out


# ----------------------------------------------------------------------------- building


@jit(warmup=lambda: (np.array([5, 9], np.uint64), np.int64(16)))
def _hash_insert(ukeys, size):
    """Open addressing with linear probing: the slot of each (distinct, non-zero) key."""
    hkeys = np.zeros(size, np.uint64)
    slot_of = np.empty(ukeys.shape[0], np.int64)
    mask = size - 1
    for j in range(ukeys.shape[0]):
        k = ukeys[j]
        s = np.int64((k * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)) & mask
        while hkeys[s] != np.uint64(0):
            s = (s + 1) & mask
        hkeys[s] = k
        slot_of[j] = s
    return hkeys, slot_of


def _compile_programs(formats: list[F.Format]):
    rows = []
    starts = [0]
    blob = bytearray()
    for f in formats:
        for op in f.program():
            if op[0] in (F.OP_LIT, F.OP_OPT):
                rows.append((op[0], len(blob), len(op[1]), 0))
                blob += op[1]
            elif op[0] == F.OP_RUN:
                rows.append((F.OP_RUN, F.CLASS_IDS[op[1]], op[2], min(op[3], F.INF)))
            else:
                rows.append((F.OP_ANY, 0, op[1], min(op[2], F.INF)))
        starts.append(len(rows))
    ops = np.array(rows, np.int64).reshape(-1, 4) if rows else np.zeros((0, 4), np.int64)
    return ops, np.frombuffer(bytes(blob) or b"\0", np.uint8).copy(), np.array(starts, np.int64)


def _pack(gram: bytes) -> int:
    v = 0
    for k, c in enumerate(gram):
        v |= c << (8 * k)
    return v | (len(gram) << 56)


def _grams(f: F.Format) -> list[int]:
    out = set()
    for op in f.program():
        if op[0] != F.OP_LIT:
            continue
        p = op[1]
        q = QMAX if len(p) >= QMAX else QSHORT
        for i in range(len(p) - q + 1):
            out.add(_pack(p[i:i + q]))
    return list(out)


def _grams_pos(f: F.Format) -> list[tuple[int, int, int]]:
    """(packed gram, literal piece number, offset) of every q-gram of the format's literals."""
    out = []
    k = 0
    for op in f.program():
        if op[0] != F.OP_LIT:
            continue
        p = op[1]
        q = QMAX if len(p) >= QMAX else QSHORT
        out += [(_pack(p[i:i + q]), k, i) for i in range(len(p) - q + 1)]
        k += 1
    return out


def _pack_lines(lines: list[bytes]):
    offs = np.zeros(len(lines) + 1, np.int64)
    np.cumsum([len(x) for x in lines], out=offs[1:])
    buf = np.frombuffer(b"".join(lines) or b"\0", np.uint8)
    return buf, offs


# ----------------------------------------------------------------------------- normalising log lines

_TS = re.compile(r"^\[\s*\d+\.\d+\]\s?")
_SYSLOG = re.compile(r"^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:?\d\d|Z)?)"
                     r" \S+ kernel: ")
_KMSG = re.compile(r"^(\d+),(\d+),(\d+),([^;]*);")
# a /dev/kmsg dictionary line: one space, then KEY=value (Documentation/ABI/testing/dev-kmsg); kernel
# messages such as "  PCI_ERR0 = %08x" (two spaces, spaced '=') are messages, not dictionaries
_KMSG_DICT = re.compile(r"^ [A-Z][A-Z0-9_]*=")
_LEVEL = re.compile(r"^<(\d)>")


def normalise(line: str) -> str | None:
    """The message text of a log line, or None for lines that carry none (kmsg dictionaries)."""
    line = line.rstrip("\r\n")
    if _KMSG_DICT.match(line):
        return None  # /dev/kmsg continuation (SUBSYSTEM=..., DEVICE=...)
    m = _KMSG.match(line)
    if m:
        return line[m.end():]
    m = _SYSLOG.match(line)
    if m:
        line = line[m.end():]
    m = _LEVEL.match(line)
    if m:
        line = line[m.end():]
    m = _TS.match(line)
    if m:
        line = line[m.end():]
    return line


# ----------------------------------------------------------------------------- the matcher


@dataclass
class MatchResult:
    line: str  # the normalised message
    entry: Entry | None
    fragments: list[Entry] = field(default_factory=list)  # pr_cont fragments joined after the head
    candidates: int = 0

    @property
    def matched(self) -> bool:
        return self.entry is not None

    def to_json(self) -> dict:
        if self.entry is None:
            return {"line": self.line, "matched": False}
        e = self.entry
        d = {"line": self.line, "matched": True, "file": e.file, "lineno": e.line, "func": e.func,
             "level": e.levelno, "format": e.text, "in_kernel_index": e.in_kernel_index}
        if self.fragments:
            d["continuations"] = [{"file": f.file, "lineno": f.line, "format": f.text} for f in self.fragments]
        return d


class _LazyFormats(Sequence):
    """``F.parse(entry.body)`` per entry, parsed on first use (a cached matcher needs few of them)."""

    def __init__(self, entries: list[Entry]):
        self._entries = entries
        self._got: dict[int, F.Format] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        f = self._got.get(i)
        if f is None:
            f = self._got[i] = F.parse(self._entries[i].body)
        return f


#: the arrays a built matcher consists of (what :meth:`Matcher.for_index_file` caches)
STATE_FIELDS = ("score", "urep", "uscore", "ops", "blob", "op_start", "nokey", "need", "hkeys", "hstart", "hlist",
                "hmask", "lens", "bloom", "lit_blob", "lit_off", "flags")
MATCHER_CACHE_FORMAT = 1  # bump when the arrays change meaning
_F_CONT, _F_NL = 1, 2  # flags: a pr_cont fragment (<c> without level); the format ends with a newline


class Matcher:
    """All formats of an index, compiled once; :meth:`match` maps many lines at a time.

    ``progress``: show tqdm bars while building (default: when stderr is a terminal and there are
    more than 20,000 entries).  :meth:`for_index_file` keeps built matchers on disk."""

    def __init__(self, entries: list[Entry], formats: list[F.Format] | None = None, budget: int = 20000,
                 progress: bool | None = None, _state: dict | None = None):
        self.entries = list(entries)
        self.budget = budget
        self._regex_cache: dict[int, re.Pattern] = {}
        if _state is not None:
            self.formats = formats if formats is not None else _LazyFormats(self.entries)
            for k in STATE_FIELDS:
                setattr(self, k, _state[k])
            self.hmask = np.int64(self.hmask)
            return
        if progress is None:
            import sys

            progress = sys.stderr.isatty() and len(self.entries) > 20000

        def bar(it, desc, total):
            if not progress:
                return it
            from tqdm import tqdm

            return tqdm(it, desc=desc, total=total, unit="fmt", leave=False)

        cache: dict[bytes, F.Format] = {}
        if formats is None:
            formats = [cache[e.body] if e.body in cache else cache.setdefault(e.body, F.parse(e.body))
                       for e in bar(self.entries, "matcher: parsing formats", len(self.entries))]
        self.formats = formats  # per entry
        self.score = np.array([f.literal_chars for f in self.formats], np.int64)
        # the kernels work on unique format texts; each maps back to its first entry
        first: dict[bytes, int] = {}
        for i, e in enumerate(self.entries):
            first.setdefault(e.body, i)
        self.urep = np.array(list(first.values()), np.int64)
        self.uformats = [self.formats[i] for i in self.urep.tolist()]
        self.uscore = self.score[self.urep] if len(self.urep) else np.zeros(0, np.int64)
        self.ops, self.blob, self.op_start = _compile_programs(bar(self.uformats, "matcher: compiling",
                                                                   len(self.uformats)))
        self._build_prefilter()
        lits = [f.longest_literal for f in self.formats]
        self.lit_off = np.zeros(len(lits) + 1, np.int64)
        np.cumsum([len(x) for x in lits], out=self.lit_off[1:])
        self.lit_blob = np.frombuffer(b"".join(lits) or b"\0", np.uint8).copy()
        self.flags = np.array([(_F_CONT if (e.cont and e.levelno == -1) else 0) | (_F_NL if e.body.endswith(b"\n") else 0)
                               for e in self.entries], np.int8)

    def state(self) -> dict[str, np.ndarray]:
        """The built arrays (:data:`STATE_FIELDS`), enough to rebuild the matcher for the same entries."""
        return {k: np.asarray(getattr(self, k)) for k in STATE_FIELDS}

    @classmethod
    def for_index_file(cls, path, index: Index | None = None, *, cache_dir=None, use_cache: bool = True,
                       progress: bool | None = None, **kw) -> tuple["Matcher", bool]:
        """The matcher of the index file ``path`` (and its loaded ``index``), from the on-disk cache when
        it holds one built from the same bytes by the same lwnlab code; built (and cached) otherwise.

        The cache is ``<cache_dir>/<sha256 of the file>-<code fingerprint>.npz``, by default
        ``$LWNLAB_MATCHER_CACHE`` or ``~/.cache/lwnlab/printk-matchers`` (``$LWNLAB_CACHE`` moves the
        latter); the 8 most recently used are kept.  Returns ``(matcher, loaded_from_cache)``."""
        import hashlib
        import os
        from pathlib import Path

        path = Path(path)
        if index is None:
            index = Index.load(path)
        if not use_cache:
            return cls(list(index.entries), progress=progress, **kw), False
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        d = Path(cache_dir) if cache_dir is not None else matcher_cache_dir()
        file = d / f"{h.hexdigest()}-{_code_fingerprint()}.npz"
        if file.is_file():
            try:
                with np.load(file, allow_pickle=False) as z:
                    state = {k: z[k] for k in STATE_FIELDS}
                if state["score"].shape[0] == len(index.entries) and state["flags"].shape[0] == len(index.entries):
                    os.utime(file)  # most recently used
                    return cls(list(index.entries), _state=state, **kw), True
            except (OSError, ValueError, KeyError):
                pass  # unreadable or from another layout: build it again
        m = cls(list(index.entries), progress=progress, **kw)
        try:
            d.mkdir(parents=True, exist_ok=True)
            tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp.npz")
            np.savez(tmp, **m.state())
            os.replace(tmp, file)
            old = sorted(d.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
            for p in old[8:]:
                p.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only cache only costs the next call a rebuild
        return m, False

    def longest_literal(self, i: int) -> bytes:
        return self.lit_blob[self.lit_off[i]:self.lit_off[i + 1]].tobytes()

    @classmethod
    def from_index(cls, index: Index, **kw) -> "Matcher":
        return cls(list(index.entries), **kw)

    @classmethod
    def from_formats(cls, fmts: list[bytes], **kw) -> "Matcher":
        return cls([Entry(fmt=f, func="", file="", line=0) for f in fmts], **kw)

    def _build_prefilter(self):
        """Two keys per format: its rarest gram and the rarest one not overlapping it; a line is a
        candidate for a format only when it contains both (one key when the format has one).
        Built with numpy over all literal pieces at once."""
        nf = len(self.uformats)
        pf, pno, pbytes = [], [], []
        for u, f in enumerate(self.uformats):
            k = 0
            for op in f.program():
                if op[0] == F.OP_LIT:
                    if len(op[1]) >= QSHORT:
                        pf.append(u)
                        pno.append(k)
                        pbytes.append(op[1])
                    k += 1
        need = np.zeros(nf, np.int64)
        has = np.zeros(nf, bool)
        pairs_k, pairs_c = [np.zeros(0, np.uint64)], [np.zeros(0, np.int64)]
        if pbytes:
            plen = np.array([len(b) for b in pbytes], np.int64)
            pstart = np.zeros(len(plen), np.int64)
            np.cumsum(plen[:-1], out=pstart[1:])
            pq = np.where(plen >= QMAX, QMAX, QSHORT)
            nwin = plen - pq + 1
            piece_of = np.repeat(np.arange(len(plen)), nwin)
            off = np.arange(piece_of.shape[0]) - np.repeat(np.cumsum(nwin) - nwin, nwin)
            pos = pstart[piece_of] + off
            q = pq[piece_of]
            blob = np.frombuffer(b"".join(pbytes) + b"\0" * QMAX, np.uint8).astype(np.uint64)
            gram = np.zeros(pos.shape[0], np.uint64)
            for k in range(QMAX):
                part = blob[pos + k] << np.uint64(8 * k)
                gram |= np.where(k < q, part, np.uint64(0))
            gram |= q.astype(np.uint64) << np.uint64(56)
            fmt = np.array(pf, np.int64)[piece_of]
            pnum = np.array(pno, np.int64)[piece_of]
            # how many formats contain each gram (each format counted once)
            o = np.lexsort((gram, fmt))
            fs, gs = fmt[o], gram[o]
            newpair = np.ones(fs.shape[0], bool)
            newpair[1:] = (fs[1:] != fs[:-1]) | (gs[1:] != gs[:-1])
            ug, cnt = np.unique(gs[newpair], return_counts=True)
            freq = cnt[np.searchsorted(ug, gram)]
            # rarest first, then longer, then leftmost: one composite key (freq < 2^36, off < 2^20)
            comp = (freq.astype(np.int64) << 24) | ((QMAX + 1 - q) << 20) | np.minimum(off, (1 << 20) - 1)
            o = np.lexsort((comp, fmt))
            fmt, gram, pnum, off, q = fmt[o], gram[o], pnum[o], off[o], q[o]
            firstrow = np.ones(fmt.shape[0], bool)
            firstrow[1:] = fmt[1:] != fmt[:-1]
            f0 = fmt[firstrow]
            g0 = np.zeros(nf, np.uint64)
            p0 = np.zeros(nf, np.int64)
            o0 = np.zeros(nf, np.int64)
            q0 = np.zeros(nf, np.int64)
            g0[f0], p0[f0], o0[f0], q0[f0] = gram[firstrow], pnum[firstrow], off[firstrow], q[firstrow]
            has[f0] = True
            need[f0] = 1
            ok = (gram != g0[fmt]) & ((pnum != p0[fmt]) | (np.abs(off - o0[fmt]) >= q0[fmt]))
            rows = np.nonzero(ok)[0]
            second = rows[np.concatenate([[True], fmt[rows][1:] != fmt[rows][:-1]])] if rows.shape[0] else rows
            f1 = fmt[second]
            need[f1] = 3
            pairs_k = [g0[f0], gram[second]]
            pairs_c = [2 * f0, 2 * f1 + 1]
        self.nokey = np.array(sorted(np.nonzero(~has)[0].tolist(), key=lambda i: -self.uscore[i]), np.int64)
        self.need = need
        keys = np.concatenate(pairs_k).astype(np.uint64)
        codes = np.concatenate(pairs_c).astype(np.int64)
        order = np.lexsort((-self.uscore[codes // 2] if len(codes) else codes, keys))
        keys, codes = keys[order], codes[order]
        ukeys, first = np.unique(keys, return_index=True)
        size = 16
        while size < 2 * len(ukeys) + 2:
            size *= 2
        hkeys, slot_of = _hash_insert(ukeys, np.int64(size))
        mask = size - 1
        # CSR in slot order: rows sorted by key, so each row's slot is its key's
        key_idx = np.repeat(np.arange(len(ukeys)), np.diff(np.append(first, len(keys))))
        row_slot = slot_of[key_idx]
        by_slot = np.argsort(row_slot, kind="stable")  # keeps the score order within a key
        hlist = codes[by_slot]
        hstart = np.zeros(size + 1, np.int64)
        np.cumsum(np.bincount(row_slot, minlength=size), out=hstart[1:])
        lens = np.zeros(QMAX + 1, np.int64)
        for k in ukeys.tolist():
            lens[k >> 56] = 1
        # the bitmap: bit (key * golden) >> 43 (21 bits) for every key
        bloom = np.zeros(1 << 15, np.uint64)
        if len(ukeys):
            bits = ((ukeys * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(43)).astype(np.int64)
            np.bitwise_or.at(bloom, bits >> 6, np.left_shift(np.uint64(1), (bits & 63).astype(np.uint64)))
        self.bloom = bloom
        self.hkeys, self.hstart, self.hlist, self.hmask, self.lens = hkeys, hstart, hlist, np.int64(mask), lens

    def _kernel_args(self, buf, offs):
        out = np.full(offs.shape[0] - 1, -1, np.int64)
        ncand = np.zeros(offs.shape[0] - 1, np.int64)
        return (buf, offs, self.ops, self.op_start, self.blob, F.CLASS_TABLE, self.uscore, self.nokey, self.hkeys,
                self.hstart, self.hlist, self.hmask, self.lens, self.need, self.bloom, np.int64(self.budget), out,
                ncand)

    def regex(self, i: int) -> re.Pattern:
        r = self._regex_cache.get(i)
        if r is None:
            r = self._regex_cache[i] = re.compile(self.formats[i].regex(), re.S)
        return r

    def match_messages(self, msgs: list[bytes], threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Best format index per message (already normalised, bytes), -1 for none; and candidate counts.

        ``threads`` > 1 splits the lines between threads (the kernel releases the GIL)."""
        if threads > 1 and len(msgs) >= 2 * threads:
            from concurrent.futures import ThreadPoolExecutor

            step = (len(msgs) + threads - 1) // threads
            parts = [msgs[i:i + step] for i in range(0, len(msgs), step)]
            with ThreadPoolExecutor(threads) as pool:
                res = list(pool.map(self.match_messages, parts))
            return np.concatenate([r[0] for r in res]), np.concatenate([r[1] for r in res])
        long = [i for i, x in enumerate(msgs) if len(x) > MAX_MESSAGE_BYTES]
        if long:
            keep = [i for i, x in enumerate(msgs) if len(x) <= MAX_MESSAGE_BYTES]
            out = np.full(len(msgs), -1, np.int64)
            ncand = np.zeros(len(msgs), np.int64)
            if keep:
                o, c = self.match_messages([msgs[i] for i in keep])
                out[keep], ncand[keep] = o, c
            return out, ncand
        buf, offs = _pack_lines(msgs)
        args = self._kernel_args(buf, offs)
        out = match_lines(*args)
        ncand = args[-1]
        for li in np.nonzero(out <= -2)[0].tolist():  # the budget ran out: let re decide that one format
            u = int(-2 - out[li])
            m = msgs[li].decode("latin-1")
            out[li] = u if self.regex(int(self.urep[u])).fullmatch(m) else -1
        hit = out >= 0
        out[hit] = self.urep[out[hit]]  # unique format -> its first entry
        return out, ncand

    def match(self, lines: list[str], join_cont: bool = True) -> list[MatchResult]:
        """Match raw log lines (any of the supported prefixes); one result per line with a message.

        With ``join_cont``, a line may also be a head format followed by ``pr_cont`` (``<c>``) fragments
        of the same function, as dmesg shows them joined; that reading wins when its formats have more
        literal characters than the best whole-line format (a real kernel always has a ``"%s\\n"``
        or ``"%s: %s %02x: %s\\n"`` that swallows the joined text whole)."""
        msgs = []
        texts = []
        for ln in lines:
            t = normalise(ln)
            if t is None:
                continue
            texts.append(t)
            msgs.append(t.encode("utf-8", errors="surrogateescape"))
        best, ncand = self.match_messages(msgs)
        out = []
        joined: dict = {}  # logs repeat messages word for word: join each distinct one once
        for t, m, b, nc in zip(texts, msgs, best.tolist(), ncand.tolist()):
            res = None
            if join_cont and len(m) <= MAX_MESSAGE_BYTES:
                if m not in joined:
                    joined[m] = self._match_cont(m, int(self.score[b]) if b >= 0 else -1)
                hit = joined[m]
                if hit is not None:
                    res = MatchResult(t, hit.entry, list(hit.fragments))
            if res is None:
                res = MatchResult(t, self.entries[b] if b >= 0 else None, candidates=nc)
            res.line = t
            res.candidates = nc
            out.append(res)
        return out

    def _cont_tables(self):
        """pr_cont fragments (<c> without a level) by (file, function), and the heads that can precede
        them: formats without a newline in a function that has fragments, most literal text first.
        A pr_cont sequence is one function's work (a loop, a few conditions); allowing fragments of
        other functions would let unrelated short fragments (", ", "%c", " %d") spell any line."""
        if not hasattr(self, "_conts"):
            self._conts: dict[tuple[str, str], list[int]] = {}
            heads = []
            flags = self.flags.tolist()
            for i, e in enumerate(self.entries):
                if flags[i] & _F_CONT:
                    self._conts.setdefault((e.file, e.func), []).append(i)
                elif not flags[i] & _F_NL:
                    heads.append(i)
            heads = [i for i in heads if (self.entries[i].file, self.entries[i].func) in self._conts
                     and self.score[i] > 0]
            heads.sort(key=lambda i: -self.score[i])
            # cheap necessary conditions: a head that starts with fixed text must start the line; one
            # that starts with a conversion needs a literal of QSHORT+ bytes in it (weaker heads are
            # no more specific than the "%s"-style format that matched the whole line); the line must
            # end as some fragment of the head's function can end
            self._heads, self._head_lits = [], []
            for i in heads:
                prog = self.formats[i].program()
                if prog and prog[0][0] == F.OP_LIT:
                    self._heads.append(i)
                    self._head_lits.append((True, prog[0][1]))
                else:
                    lit = self.longest_literal(i)
                    if len(lit) >= QSHORT:
                        self._heads.append(i)
                        self._head_lits.append((False, lit))
            self._head_by_first: dict[int, list] = {}
            self._heads_inner = []
            for h, (at_start, lit) in zip(self._heads, self._head_lits):
                if at_start:
                    self._head_by_first.setdefault(lit[0], []).append((h, (at_start, lit)))
                else:
                    self._heads_inner.append((h, (at_start, lit)))
            self._tails: dict = {}
            # the most fixed text a function's fragments can add (each format counted once, as scored)
            self._cap = {key: sum(int(self.score[k]) for k in set(ks)) for key, ks in self._conts.items()}
            for key, ks in self._conts.items():
                ks.sort(key=lambda i: -self.score[i])
                ends = set()
                for k in ks:
                    prog = self.formats[k].program()
                    ends.add(prog[-1][1] if prog and prog[-1][0] == F.OP_LIT else None)
                self._tails[key] = None if None in ends else tuple(ends)
        return self._conts, self._heads, self._head_lits

    def _match_cont(self, msg: bytes, better_than: int = -1) -> MatchResult | None:
        """``head`` + ``pr_cont`` fragments: a format without ``\\n`` matching a prefix, then <c> entries of
        its function up to the end; the reading with the most literal characters (each format's once),
        if that is more than ``better_than``.  Each format is run as a set of positions over its ops (no backtracking), with
        a work budget per line, so no line can make it slow."""
        conts, heads, lits = self._cont_tables()
        if not conts:
            return None
        s = msg.decode("latin-1")
        n = len(msg)
        work = [self.budget]
        best = None
        best_score = better_than
        memo: dict = {}
        if not msg or best_score >= n:
            return None  # a reading cannot have more fixed text than the line has characters
        score = self.score
        for h, (at_start, lit) in self._head_by_first.get(msg[0], []) + self._heads_inner:
            key = (self.entries[h].file, self.entries[h].func)
            if int(score[h]) + self._cap[key] <= best_score:
                continue  # even with every fragment of its function it cannot beat the best reading
            if not (msg.startswith(lit) if at_start else lit in msg):
                continue
            tails = self._tails[key]
            if tails is not None and not msg.endswith(tails):
                continue
            ends = self._ends(h, msg, [0], work)
            if ends is None:
                return None  # out of budget: keep the whole-line answer
            fr = conts[key]
            for e in sorted(ends, reverse=True):
                if e >= n:
                    continue  # the head alone: a whole-line format
                got = self._best_tail(msg, e, fr, memo, work)
                if got is None and work[0] <= 0:
                    return None
                if got is not None:
                    # the fixed text of the formats involved, each counted once: a fragment repeated
                    # 60 times (" %04x") is no more specific than once
                    total = int(self.score[h]) + sum(int(self.score[f]) for f in set(got[1]))
                    if total > best_score:
                        best, best_score = (h, got[1]), total
        if best is None:
            return None
        h, frags = best
        return MatchResult(s, self.entries[h], [self.entries[f] for f in frags])

    def _ends(self, i: int, msg: bytes, starts, work) -> set[int] | None:
        """Where format ``i`` can end when it starts at one of ``starts`` (None when out of budget)."""
        n = len(msg)
        q = sorted(set(starts))
        for op in self.formats[i].program():
            if not q:
                return set()
            work[0] -= len(q)
            if work[0] <= 0:
                return None
            if op[0] == F.OP_LIT:
                lit = op[1]
                q = [p + len(lit) for p in q if msg.startswith(lit, p)]
            elif op[0] == F.OP_OPT:
                lit = op[1]
                q = sorted(set(q) | {p + len(lit) for p in q if msg.startswith(lit, p)})
            elif op[0] == F.OP_RUN:
                _, name, lo, hi = op
                tbl = F.CLASS_TABLE[F.CLASS_IDS[name]]
                out: set[int] = set()
                for p in q:
                    k = 0
                    while k < hi and p + k < n and tbl[msg[p + k]]:
                        k += 1
                    work[0] -= k
                    if k >= lo:
                        out.update(range(p + lo, p + k + 1))
                q = sorted(out)
            else:  # ANY: any text of lo..hi characters
                _, lo, hi = op
                out = set()
                for p in q:
                    out.update(range(p + lo, min(p + hi, n) + 1))
                    if hi >= F.INF:
                        break  # from the first start every later position is reachable
                work[0] -= len(out)
                q = sorted(out)
        return set(q)

    def _best_tail(self, msg: bytes, p: int, conts: list[int], memo: dict, work):
        """(literal characters, fragments) of the best way for ``conts`` to print ``msg[p:]`` whole."""
        n = len(msg)
        key = (p, id(conts))
        if key in memo:
            return memo[key]
        memo[key] = None  # no fragment prints nothing: no cycles
        best = None
        for k in conts:
            ends = self._ends(k, msg, [p], work)
            if ends is None:
                return None
            for e in ends:
                if e <= p:
                    continue
                if e == n:
                    tail = (0, [])
                else:
                    tail = self._best_tail(msg, e, conts, memo, work)
                    if tail is None:
                        if work[0] <= 0:
                            return None
                        continue
                sc = int(self.score[k]) + tail[0]
                if best is None or sc > best[0]:
                    best = (sc, [k] + tail[1])
        memo[key] = best
        return best


def matcher_cache_dir():
    """Where :meth:`Matcher.for_index_file` keeps built matchers."""
    import os
    from pathlib import Path

    env = os.environ.get("LWNLAB_MATCHER_CACHE")
    if env:
        return Path(env).expanduser()
    from lwnlab.printk.sources import cache_root

    return cache_root() / "printk-matchers"


def _code_fingerprint() -> str:
    """lwnlab's version and the source of the code that builds the arrays: a cache made by other code
    (another release, or an edited fmt.py/match.py) is never loaded."""
    import hashlib
    from pathlib import Path

    import lwnlab

    h = hashlib.sha256(f"{lwnlab.__version__}/{MATCHER_CACHE_FORMAT}".encode())
    for mod in (F.__file__, __file__):
        h.update(Path(mod).read_bytes())
    return h.hexdigest()[:16]


__all__ = ["Matcher", "MatchResult", "normalise", "match_lines", "run_prog", "matcher_cache_dir", "STATE_FIELDS"]
