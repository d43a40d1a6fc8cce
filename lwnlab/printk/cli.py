"""``lwnlab printk ...``: fetch kernel sources, build an index, match logs, audit rules, diff versions."""

from __future__ import annotations

import sys

from lwnlab.cli import EXIT_NEGATIVE, EXIT_OK, group, print_json


def register(subparsers) -> None:
    p, sub = group(subparsers, "printk", "printk indexing on real kernel sources (lab 2)",
                   "Build the catalogue CONFIG_PRINTK_INDEX would show in debugfs from kernel sources, "
                   "map log lines to their source, audit monitoring rules and diff two kernel versions.")

    f = sub.add_parser("fetch", help="download and unpack Debian's linux-source-6.1/6.12 into a cache",
                       description="apt-get download linux-source-VERSION and unpack it (whole, or only the "
                       "given subsystems) under CACHE/linux-source-VERSION.")
    f.add_argument("--version", default="6.12", choices=("6.1", "6.12"), help="kernel version (default 6.12)")
    f.add_argument("--cache", default=None, help="cache folder (default ~/.cache/lwnlab or $LWNLAB_CACHE)")
    f.add_argument("--subsystem", action="append", default=[], metavar="PATH",
                   help="unpack only this path of the tree (repeatable), e.g. drivers/pci")
    f.add_argument("--ci", action="store_true", help="unpack only what the integration tests use")
    f.set_defaults(func=_fetch)

    i = sub.add_parser("index", help="build the printk index of a source tree",
                       description="Extract every printk-family call of SRC_DIR (its .c files) and print the "
                       "index in the kernel's debugfs format (printk/index/<module>), or as JSON.")
    i.add_argument("src", metavar="SRC_DIR", help="kernel source tree (or a part of one)")
    i.add_argument("--subdir", action="append", default=[], metavar="PATH",
                   help="only index this part of SRC_DIR (repeatable); KBUILD_MODNAME still comes from SRC_DIR's Makefiles")
    i.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    i.add_argument("--json", action="store_true", help="JSON with every field (kernel-indexed or not)")
    i.add_argument("--only-kernel-index", action="store_true",
                   help="only entries the kernel itself would index (drop netdev_*, dev_err_probe, WARN, debug...)")
    i.add_argument("--headers", action="store_true", help="also index .h files")
    i.add_argument("--split", metavar="DIR",
                   help="write one debugfs-style file per module (KBUILD_MODNAME) into DIR, like printk/index/<module>")
    i.add_argument("--stats", action="store_true", help="print extraction statistics on stderr")
    i.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                   help="worker processes (default: the number of CPUs, at most 4)")
    i.set_defaults(func=_index)

    m = sub.add_parser("match", help="map log lines to the format and file:line that printed them",
                       description="Each line of LOGFILE ('-' for stdin: bare messages, dmesg [timestamps], syslog "
                       "or journal prefixes, /dev/kmsg records) is matched to the most specific format of INDEX.")
    m.add_argument("index", metavar="INDEX", help="an index (debugfs text or JSON) from 'lwnlab printk index'")
    m.add_argument("logfile", metavar="LOGFILE", help="log file, or - for stdin")
    m.add_argument("--json", action="store_true", help="machine-readable output")
    m.add_argument("--no-cont", action="store_true", help="do not try to join pr_cont fragments")
    m.add_argument("--no-cache", action="store_true",
                   help="build the matcher afresh (by default a matcher built for the same INDEX bytes is "
                   "loaded from ~/.cache/lwnlab/printk-matchers, or $LWNLAB_MATCHER_CACHE)")
    m.set_defaults(func=_match)

    a = sub.add_parser("audit", help="check monitoring rules against an index",
                       description="For each rule (a regex over log lines): 'match' (a format's fixed text supplies "
                       "it), 'wildcard-only' (only %%s-style arguments could), or 'stale' (no message of this kernel "
                       "can match). Exit status 1 when any rule is stale.")
    a.add_argument("index", metavar="INDEX")
    a.add_argument("--rules", required=True, metavar="RULES",
                   help="a file with one regex per line, or JSON {\"rules\": [{\"pattern\": ...}]}")
    a.add_argument("--json", action="store_true")
    a.add_argument("--max-formats", type=int, default=5, help="formats to list per rule (default 5)")
    a.set_defaults(func=_audit)

    d = sub.add_parser("diff", help="compare two indices: removed, added, reworded messages",
                       description="Compare OLD_INDEX and NEW_INDEX by (file, function, format), ignoring line "
                       "numbers; pair rewordings within a function; with --rules, report the rules each change breaks "
                       "(exit status 1 when some rule breaks).")
    d.add_argument("old", metavar="OLD_INDEX")
    d.add_argument("new", metavar="NEW_INDEX")
    d.add_argument("--rules", metavar="RULES")
    d.add_argument("--json", action="store_true")
    d.add_argument("--threshold", type=float, default=0.6, help="similarity to pair a rewording (default 0.6)")
    d.set_defaults(func=_diff)


def _fetch(args) -> int:
    from lwnlab.printk import sources

    subs = list(args.subsystem) + (list(sources.CI_SUBSYSTEMS) if args.ci else [])
    tree = sources.fetch(args.version, args.cache, subs)
    print(tree.path)
    return EXIT_OK


def _index(args) -> int:
    from pathlib import Path

    from lwnlab.errors import SourceError, UsageError
    from lwnlab.printk.index import build_index

    if not Path(args.src).is_dir():
        raise SourceError("not a directory (give a kernel source tree)", file=args.src)
    import os

    jobs = args.jobs if args.jobs is not None else min(4, os.cpu_count() or 1)
    if jobs < 1:
        raise UsageError("--jobs must be at least 1", field="jobs")
    ix = build_index(args.src, args.subdir, headers=args.headers, jobs=jobs)
    if args.stats:
        print(" ".join(f"{k}={v}" for k, v in ix.stats.items()), file=sys.stderr)
    if ix.stats.get("files") == 0:
        print(f"lwnlab: note: no .c files under {args.src}" + (" (--headers adds .h)" if not args.headers else ""),
              file=sys.stderr)
    for what, n in ix.stats.get("lexer_skipped", {}).items():
        # the lexer never fails on odd input: say what it skipped, and where it first did
        print(f"lwnlab: note: the lexer skipped {what} ({n}x, first at {ix.stats['lexer_skipped_first'][what]})",
              file=sys.stderr)
    if args.split:
        out = Path(args.split)
        out.mkdir(parents=True, exist_ok=True)
        groups = ix.by_module()
        for mod, sub in groups.items():
            safe = mod.replace("/", "_").replace(":", "+") or "vmlinux"
            sub.write(out / (safe + (".json" if args.json else "")), json_format=args.json,
                      only_kernel_index=args.only_kernel_index)
        print(f"lwnlab: {len(ix)} entries in {len(groups)} module files under {out}", file=sys.stderr)
        return EXIT_OK
    if args.json:
        import json

        text = json.dumps(ix.to_json(args.only_kernel_index))
    else:
        text = ix.to_text(args.only_kernel_index)
    if args.output:
        with open(args.output, "w", encoding="latin-1" if not args.json else "utf-8") as f:
            f.write(text if args.json else text)
        print(f"lwnlab: {len(ix)} entries written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


def _read_lines(path: str) -> list[str]:
    if path == "-":
        return sys.stdin.read().splitlines()
    with open(path, "rb") as f:
        return f.read().decode("utf-8", errors="surrogateescape").splitlines()


def _match(args) -> int:
    from lwnlab.printk.index import Index, escape
    from lwnlab.printk.match import Matcher

    ix = Index.load(args.index)
    lines = _read_lines(args.logfile)
    # building the matcher of a whole kernel takes seconds (a progress bar on a terminal); it is cached per index file
    m, _cached = Matcher.for_index_file(args.index, ix, use_cache=not args.no_cache)
    res = m.match(lines, join_cont=not args.no_cont)
    if args.json:
        print_json({"matched": sum(r.matched for r in res), "lines": len(res), "results": [r.to_json() for r in res]})
        return EXIT_OK
    for r in res:
        if r.entry is None:
            print(f"unmatched\t{r.line}")
        else:
            e = r.entry
            extra = "".join(f" + {f.file}:{f.line}" for f in r.fragments)
            print(f"{e.file}:{e.line}{extra}\t{e.func}\t\"{escape(e.body)}\"\t{r.line}")
    return EXIT_OK


def _audit(args) -> int:
    from lwnlab.printk.audit import Auditor, load_rules
    from lwnlab.printk.index import Index, escape

    ix = Index.load(args.index)
    rules = load_rules(args.rules)
    verdicts = Auditor(ix).audit_all(rules)
    if args.json:
        out = []
        for v in verdicts:
            j = v.to_json()
            j["formats"] = j["formats"][: args.max_formats]
            out.append(j)
        print_json({"rules": out, "stale": sum(v.verdict == "stale" for v in verdicts)})
    else:
        for v in verdicts:
            print(f"{v.verdict}\t{v.rule.pattern}" + (f"\t({v.note})" if v.note else ""))
            for e in v.formats[: args.max_formats]:
                print(f"\t{e.file}:{e.line} {e.func} \"{escape(e.body)}\"")
    return EXIT_NEGATIVE if any(v.verdict == "stale" for v in verdicts) else EXIT_OK


def _diff(args) -> int:
    from lwnlab.printk.audit import load_rules
    from lwnlab.printk.diff import diff
    from lwnlab.printk.index import Index

    old, new = Index.load(args.old), Index.load(args.new)
    rules = load_rules(args.rules) if args.rules else None
    d = diff(old, new, threshold=args.threshold, rules=rules)
    if args.json:
        print_json(d.to_json())
    else:
        print(d.to_text())
    return EXIT_NEGATIVE if d.broken else EXIT_OK
