"""printk index on Debian's linux-source-6.1 / 6.12: lexer, whole-tree extraction, matching, rule audit, diff.

Needs the unpacked trees (``lwnlab printk fetch --version 6.1`` and ``--version 6.12``, whole trees).
Every figure is printed beside a pure-Python baseline measured in the same run:

* lexer MB/s (numba) vs Python ``re`` scanning for the families (literal-led regex) and vs a pure-Python
  byte-loop lexer (measured on a slice: it is ~50x slower);
* whole-tree extraction seconds (2 worker processes) vs the regex scan over the same bytes;
* matching lines/s and top-1 accuracy on synthetic lines vs a pure-Python matcher (same prefilter idea,
  verified with ``re``);
* auditing 100 rules vs brute-force automaton intersection (projected from a measured sample);
* the 6.1 -> 6.12 diff on the "kernel-like" subset, against the reference sheet's counts.

``LWNLAB_BENCH_QUICK=1`` uses a few subsystems instead of the whole trees.
"""

from __future__ import annotations

import os
import random
import re
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_of, figure, finish, header  # noqa: E402

B = "bench_printk"
QUICK = bool(os.environ.get("LWNLAB_BENCH_QUICK"))
QUICK_SUBDIRS = ["drivers/net", "drivers/pci", "kernel", "fs/ext4"]
FAMILY_RE = re.compile(rb"(?:printk|pr_|dev_|netdev_|netif_)[a-z_]*\s*\(")  # the reference's literal-led scan


def logging_re():
    """The families' own names (printk, pr_*, dev_*, netdev_*, netif_* logging macros), as one regex."""
    from lwnlab.printk.extract import FAMILIES

    names = sorted((n for n in FAMILIES if n.startswith(("printk", "pr_", "dev_", "netdev_", "netif_"))), key=len,
                   reverse=True)
    return re.compile(rb"\b(?:" + b"|".join(n.encode() for n in names) + rb")\s*\(")


def tree(version):
    from lwnlab.printk.sources import find_tree

    t = find_tree(version)
    if t is None or (not t.complete and not QUICK):
        print(f"{B}: linux-source-{version} (whole tree) is not unpacked; run: lwnlab printk fetch --version {version}",
              file=sys.stderr)
        sys.exit(0)
    return t.path


def load(root):
    from lwnlab.printk.extract import source_files

    files = source_files(root, QUICK_SUBDIRS if QUICK else ())
    datas = []
    for p, rel in files:
        with open(p, "rb") as f:
            datas.append(f.read())
    return files, datas


def py_lexer(data: bytes) -> int:
    """The pure-Python baseline: comments, strings and char literals skipped byte by byte; counts identifiers."""
    i, n, idents = 0, len(data), 0
    while i < n:
        c = data[i]
        if c == 47 and i + 1 < n and data[i + 1] == 42:
            j = data.find(b"*/", i + 2)
            i = n if j < 0 else j + 2
        elif c == 47 and i + 1 < n and data[i + 1] == 47:
            j = data.find(b"\n", i)
            i = n if j < 0 else j
        elif c == 34 or c == 39:
            j = i + 1
            while j < n and data[j] != c and data[j] != 10:
                j += 2 if data[j] == 92 else 1
            i = j + 1
        elif (65 <= c <= 90) or (97 <= c <= 122) or c == 95:
            j = i + 1
            while j < n and ((65 <= data[j] <= 90) or (97 <= data[j] <= 122) or (48 <= data[j] <= 57) or data[j] == 95):
                j += 1
            idents += 1
            i = j
        else:
            i += 1
    return idents


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main():
    import numpy as np

    from lwnlab.printk.index import build_index
    from lwnlab.printk.lexer import Lexer

    header(B, "printk index on linux-source-6.1/6.12" + (" (QUICK: a few subsystems)" if QUICK else ""))
    root61, root612 = tree("6.1"), tree("6.12")
    files, datas = load(root61)
    mb = sum(len(d) for d in datas) / 1e6
    header(B, f"6.1 scan set: {len(files)} .c files, {mb:.0f} MB in memory")

    # ---------------------------------------------------------------- lexer vs regex vs Python lexer
    lx = Lexer()
    arrs = [np.frombuffer(d, np.uint8) for d in datas]
    lx.run(arrs[0])
    t_lex = best_of(lambda: [lx.run(a) for a in arrs], repeat=3)
    c0 = time.process_time()
    for a in arrs:
        lx.run(a)
    cpu_lex = time.process_time() - c0
    t_re = best_of(lambda: sum(len(FAMILY_RE.findall(d)) for d in datas), repeat=1)
    LOG_RE = logging_re()
    regex_hits = sum(len(LOG_RE.findall(d)) for d in datas)
    sl = b"".join(datas)[: 3_000_000]
    t_py = best_of(lambda: py_lexer(sl), repeat=1)
    figure(B, "lexer (numba)", mb / t_lex, "MB/s", "python re family scan", mb / t_re, lower_is_better=False,
           target=">= 500 MB/s", ok=mb / t_lex >= 500,
           note=f"{mb / cpu_lex:.0f} MB per CPU-second; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    from lwnlab.printk.lexer import lex_all

    lex_all(arrs[:4], threads=2)
    t_lex2 = best_of(lambda: lex_all(arrs, threads=2), repeat=3)
    figure(B, "lexer (numba, 2 threads)", mb / t_lex2, "MB/s", "python re family scan", mb / t_re,
           lower_is_better=False, target=">= 500 MB/s", ok=mb / t_lex2 >= 500,
           note="the kernel is nogil: one Lexer workspace per thread")
    figure(B, "lexer (numba) vs python lexer", mb / t_lex, "MB/s", "pure-python byte lexer", len(sl) / 1e6 / t_py,
           lower_is_better=False, note="python lexer timed on the first 3 MB")

    # ---------------------------------------------------------------- whole-tree extraction
    jobs = 2
    c0, t0 = cpu_children(), time.perf_counter()
    ix61 = build_index(root61, QUICK_SUBDIRS if QUICK else (), progress=False, jobs=jobs)
    t_ext = time.perf_counter() - t0
    cpu = cpu_children() - c0
    st = ix61.stats
    figure(B, f"extract 6.1 tree (-j{jobs})", t_ext, "s", "python re family scan", t_re, target="<= 15 s",
           ok=t_ext <= 15, note=f"{st['files']} files, {cpu:.1f} CPU-s in workers; reference rough extractor 87.5 s")
    fam = re.compile(r"^(printk|pr_|dev_|netdev_|netif_)")
    ours = sum(1 for e in ix61 if fam.match(e.macro))
    from lwnlab.printk.extract import FAMILIES

    wrapped = [e for e in ix61 if e.macro not in FAMILIES]
    figure(B, "call sites resolved (families)", ours, "calls", "regex hits (incl. comments, #defines)", regex_hits,
           lower_is_better=False, target=">= 95% recall", ok=ours >= 0.95 * regex_hits,
           note=f"{st['resolved']}/{st['calls']} calls resolved to constant formats "
                f"({100 * st['resolved'] / max(1, st['calls']):.1f}%), {st['pr_fmt_defines']} pr_fmt defines in .c files; "
                f"+{len(wrapped)} entries through wrapper macros (file-local, drivers' headers, include/), "
                f"{sum(e.in_kernel_index for e in wrapped)} of them in the kernel's index, "
                f"{sum(e.macro.startswith('btrfs_') and e.in_kernel_index for e in wrapped)} btrfs_* in it")
    ix612 = build_index(root612, QUICK_SUBDIRS if QUICK else (), progress=False, jobs=jobs)
    print(f"# {B}: 6.12: {ix612.stats['resolved']}/{ix612.stats['calls']} calls resolved, "
          f"{sum(e.macro.startswith('btrfs_') and e.in_kernel_index for e in ix612)} btrfs_* entries in the kernel's "
          f"index (the emit moved out of line in 6.12; btrfs_abort_transaction's WARN is kept, not indexed)",
          file=sys.stderr)

    # ---------------------------------------------------------------- pr_fmt definitions (.c and .h)
    from lwnlab.printk.extract import _find_defines, source_files

    n_def = n_plain = n_mod = n_func = 0
    for p, rel in source_files(root61, QUICK_SUBDIRS if QUICK else (), headers=True,
                               exclude_top=("tools", "Documentation", "samples")):
        with open(p, "rb") as fh:
            data = fh.read()
        if b"pr_fmt" not in data:
            continue
        tk = lx.run(data)
        for dd in _find_defines(tk, data, "pr_fmt"):
            if dd.undef or dd.params is None:
                continue
            a, b = dd.body
            body = b" ".join(tk.buf[tk.start[a]:tk.end[b - 1]].tobytes().split()) if b > a else b""
            n_def += 1
            n_plain += bool(re.fullmatch(rb'KBUILD_MODNAME ": " fmt', body))
            n_mod += b"KBUILD_MODNAME" in body
            n_func += b"__func__" in body
    figure(B, "pr_fmt defines (.c+.h)", n_def, "defs", "reference sheet", 2226, lower_is_better=False,
           note=f"exactly KBUILD_MODNAME \": \" fmt: {n_plain} (reference 1233); mentions KBUILD_MODNAME: {n_mod} "
                f"(1345); uses __func__: {n_func} (149)")

    # ---------------------------------------------------------------- matching
    from lwnlab.printk import fmt as F
    from lwnlab.printk.match import Matcher, _grams

    ents = [e for e in ix612 if not (e.cont and e.levelno == -1)]  # pr_cont fragments are joined, not matched alone
    t0 = time.perf_counter()
    m = Matcher(ents)
    t_build = time.perf_counter() - t0
    rng = random.Random(2021)
    picks = rng.sample(range(len(ents)), 2000)
    idx = [i for i in picks for _ in range(10)]
    msgs = [m.formats[i].instantiate(rng) for i in idx]
    m.match_messages(msgs[:10])
    t_match = best_of(lambda: m.match_messages(msgs), repeat=3)
    best, _ = m.match_messages(msgs)
    strict = sum(b >= 0 and m.entries[b].body == m.entries[i].body for i, b in zip(idx, best.tolist()))
    tie = 0
    for i, b, msg in zip(idx, best.tolist(), msgs):
        if b >= 0 and m.entries[b].body != m.entries[i].body and m.score[b] == m.score[i] \
                and m.regex(b).fullmatch(msg.decode("latin-1")):
            tie += 1
    # pure-Python matcher: a dict from each format's key gram to formats, every gram of the line looked up,
    # candidates verified with re.fullmatch in order of literal characters
    keymap = {}
    for i, f in enumerate(m.formats):
        gs = _grams(f)
        if gs:
            keymap.setdefault(min(gs), []).append(i)
    sample = msgs[:2000]

    def py_match():
        out = []
        for msg in sample:
            s = msg.decode("latin-1")
            cands = set()
            for p in range(len(msg)):
                for L in (4, 7):
                    if p + L > len(msg):
                        break
                    g = int.from_bytes(msg[p:p + L], "little") | (L << 56)
                    cands.update(keymap.get(g, ()))
            hit = -1
            for c in sorted(cands, key=lambda c: -m.score[c]):
                if m.regex(c).fullmatch(s):
                    hit = c
                    break
            out.append(hit)
        return out

    py_match()  # compiles the candidates' regexes once: time the matching, not re.compile
    t_py = best_of(py_match, repeat=1)
    t_match2 = best_of(lambda: m.match_messages(msgs, threads=2), repeat=3)
    lps = len(msgs) / t_match
    figure(B, "match lines/s (numba)", lps, "lines/s", "pure-python matcher", len(sample) / t_py,
           lower_is_better=False, target=">= 200k lines/s", ok=lps >= 200_000,
           note=f"{len(ents)} formats, build {t_build:.1f} s; reference pure-python 30k lines/s")
    figure(B, "match lines/s (numba, 2 thr)", len(msgs) / t_match2, "lines/s", "pure-python matcher",
           len(sample) / t_py, lower_is_better=False, target=">= 200k lines/s", ok=len(msgs) / t_match2 >= 200_000)
    acc = (strict + tie) / len(idx)
    figure(B, "top-1 attribution", 100 * acc, "%", "strict (same format text)", 100 * strict / len(idx),
           lower_is_better=False, target=">= 98%", ok=acc >= 0.98,
           note="ties: an equally specific format prints the same text (e.g. %d vs %u of 42)")

    # ---------------------------------------------------------------- the matcher, cached per index file
    import tempfile

    with tempfile.TemporaryDirectory() as td:
        ixf = Path(td) / "ix612.txt"
        ix612.write(ixf)
        t0 = time.perf_counter()
        m_cold, hit0 = Matcher.for_index_file(ixf, ix612, cache_dir=Path(td) / "mc", progress=False)
        t_cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        m_warm, hit1 = Matcher.for_index_file(ixf, ix612, cache_dir=Path(td) / "mc", progress=False)
        t_warm = time.perf_counter() - t0
        same = bool(np.array_equal(m_cold.match_messages(msgs[:2000])[0], m_warm.match_messages(msgs[:2000])[0]))
        del m_cold, m_warm
    figure(B, "matcher from cache", t_warm, "s", "matcher build", t_cold, target="cached per index file",
           ok=hit1 and not hit0 and same, note=f"{len(ix612)} entries (index file already loaded); same answers: {same}")

    # ---------------------------------------------------------------- audit 100 rules
    import interegular

    from lwnlab.printk.audit import Auditor, Rule
    from lwnlab.printk.diff import diff

    kern = lambda ix: [e for e in ix if e.in_kernel_index or e.macro.startswith(("netdev", "dev_err_probe"))]  # noqa
    d = diff(kern(ix61), kern(ix612))
    rules = []
    live = [e for e in ix612 if e.in_kernel_index and len(F.parse(e.body).longest_literal) >= 14]
    for e in rng.sample(live, 40):
        lit = F.parse(e.body).longest_literal.decode("latin-1").strip()
        words = lit.split()
        if len(words) >= 3:
            k = rng.randrange(len(words))
            rules.append(" ".join(re.escape(w) if j != k else r"\S+" for j, w in enumerate(words)))
        else:
            rules.append(re.escape(lit))
    for r in rng.sample(d.reworded, min(30, len(d.reworded))):
        rules.append(re.escape(F.parse(r.old.body).longest_literal.decode("latin-1").strip()))
    rules += [r"BUG: unable to handle kernel NULL pointer dereference at .*", r"divide error: 0000 \[#\d+\] SMP",
              r"task \S+:\w+ blocked for more than \w+ seconds\.", r"kernel BUG at .*",
              r"Kernel panic - not syncing: .*", r"Out of memory: Kill(ed)? process \d+",
              r"EXT4-fs error \(device \S+\)", r"BUG: kernel NULL pointer dereference, address: \S+",
              r"(?i)hung task", r"blk_update_request: I/O error, dev \S+, sector \d+",
              r"I/O error, dev \S+, sector \d+", r"soft lockup - CPU#\d+ stuck for \d+s!",
              r"NETDEV WATCHDOG: \S+ \(\S+\): transmit queue \d+ timed out",
              r"Memory cgroup out of memory: Killed process \d+", r"watchdog: BUG: soft lockup",
              r"rcu: INFO: rcu_sched self-detected stall on CPU", r"nfs: server \S+ not responding",
              r"XFS \(\S+\): Corruption detected", r"mce: \[Hardware Error\]: Machine check events logged",
              r"CPU\d+: Package temperature above threshold"]
    rules += [f"{w} {v} quux{n}" for n, (w, v) in enumerate(zip(["frobnicated", "zorched", "wibbled", "splined",
                                                                  "defenestrated", "glorped", "snarfed", "quuxed",
                                                                  "flummoxed", "bamboozled"],
                                                                 ["widget", "gizmo", "doohickey", "sprocket", "gadget",
                                                                  "thingamajig", "whatsit", "gubbins", "doodad",
                                                                  "contraption"]))]
    rules = rules[:100]
    aud = Auditor(ix612)
    t0 = time.perf_counter()
    verdicts = [aud.audit(Rule(r)) for r in rules]
    t_aud = time.perf_counter() - t0
    # brute force: intersect one rule with every format; measured on 200 formats, projected to the index
    # (a few formats make interegular's automaton blow up: each gets at most 2 s, so the projection is a lower bound)
    import signal

    rf = interegular.parse_pattern(".*(?:" + "link is down" + ").*").to_fsm()
    sample_f = rng.sample(range(len(aud.formats)), 200)

    def _too_slow(*_a):
        raise TimeoutError

    old_h = signal.signal(signal.SIGALRM, _too_slow)
    cut = 0
    t0 = time.perf_counter()
    for i in sample_f:
        signal.alarm(2)
        try:
            rf.intersection(interegular.parse_pattern(aud.formats[i].regex(for_fsm=True)).to_fsm()).empty()
        except TimeoutError:
            cut += 1
        finally:
            signal.alarm(0)
    signal.signal(signal.SIGALRM, old_h)
    per = (time.perf_counter() - t0) / 200
    brute = per * len(aud.formats) * len(rules)
    counts = {v: sum(x.verdict == v for x in verdicts) for v in ("match", "wildcard-only", "stale")}
    worst = max(x.seconds for x in verdicts)
    figure(B, f"audit {len(rules)} rules", t_aud, "s", "brute-force intersection", brute, target="< 60 s",
           ok=t_aud < 60, note=f"{counts}; slowest rule {worst:.2f} s; brute force projected from 200 formats "
                               f"({1 / per:.0f} formats/s, {cut} cut at 2 s) over {len(aud.formats)} unique formats")

    # ---------------------------------------------------------------- diff 6.1 -> 6.12
    kl = lambda ix: [e for e in ix if e.macro.startswith(("pr_", "printk", "dev_")) and "dbg" not in e.macro  # noqa
                     and not e.macro.startswith(("pr_debug", "pr_devel")) and e.macro != "dev_err_probe"]
    a, b = kl(ix61), kl(ix612)
    fa, fb = {e.body for e in a}, {e.body for e in b}
    dk = diff(a, b)
    figure(B, "diff: formats removed", len(fa - fb), "fmts", "reference sheet", 7803, lower_is_better=False,
           note=f"kernel-like subset: {len(a)} -> {len(b)} entries, {len(fa)} -> {len(fb)} unique formats")
    figure(B, "diff: formats added", len(fb - fa), "fmts", "reference sheet", 12884, lower_is_better=False,
           note=f"by (file, func, fmt): removed {len(dk.removed)}, added {len(dk.added)}, reworded "
                f"{len(dk.reworded)}, kept {dk.kept} of which moved {dk.moved} (never reported as changed)")
    finish()


if __name__ == "__main__":
    main()
