"""``lwnlab memtier``: run the tiering simulation from the command line.

    lwnlab memtier run [--preset NAME | --config FILE.json] [--seconds N] [--seed S] [--json]
    lwnlab memtier presets [--json]
    lwnlab memtier machine [--preset NAME | --config FILE.json] [--json]
"""

from __future__ import annotations

import argparse
import sys

from lwnlab.cli import EXIT_OK, group, print_json


def register(subparsers) -> None:
    p, sub = group(subparsers, "memtier", "top-tier memory management: simulate Linux's memory tiering",
                   description="Simulate Linux's memory tiering page by page: demotion (5.15), NUMA-balancing "
                   "promotion (5.18), hot-page selection, rate limit and threshold auto-adjustment (6.1), and the "
                   "never-merged per-cgroup toptier soft limit RFC.")
    r = sub.add_parser("run", help="run a simulation and print its summary",
                       description="Run a simulation of a preset or a JSON configuration and print the totals "
                       "(fast-tier hit ratio, promoted/demoted MB, relative throughput). With --json, print "
                       "{config, watermarks, tiers, totals, series}.",
                       epilog="A configuration file holds any of: nodes, cgroups, policy, cost, seconds, "
                       "accesses_per_sec, seed, distances (see 'lwnlab memtier presets --json' for examples).")
    src = r.add_mutually_exclusive_group()
    src.add_argument("--preset", metavar="NAME", help="a preset (see 'lwnlab memtier presets'); default: default")
    src.add_argument("--config", metavar="FILE.json",
                     help="a JSON configuration, or TOML if the name ends in .toml (partial policy/cost sections allowed)")
    r.add_argument("--seconds", type=_positive, metavar="N", help="simulated seconds (overrides the preset/config)")
    r.add_argument("--seed", type=_nonneg, metavar="S", help="random seed (overrides the preset/config)")
    r.add_argument("--json", action="store_true", help="machine-readable output")
    r.set_defaults(func=_cmd_run)

    ps = sub.add_parser("presets", help="list the presets (one per reference experiment)",
                        description="List the named configurations. With --json, print each one's full configuration.")
    ps.add_argument("--json", action="store_true", help="machine-readable output")
    ps.set_defaults(func=_cmd_presets)

    m = sub.add_parser("machine", help="show nodes, memory tiers, watermarks and demotion targets",
                       description="Show what the kernel would compute for a configuration's nodes: abstract "
                       "distance and memory_tierN, node_is_toptier(), min/low/high/promo watermarks and "
                       "demotion targets.")
    src = m.add_mutually_exclusive_group()
    src.add_argument("--preset", metavar="NAME")
    src.add_argument("--config", metavar="FILE.json", help="a JSON (or .toml) configuration")
    m.add_argument("--json", action="store_true", help="machine-readable output")
    m.set_defaults(func=_cmd_machine)


def _positive(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}")
    return v


def _nonneg(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {s!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {s!r}")
    return v


def _load(args):
    from lwnlab.memtier import presets
    from lwnlab.memtier.params import load_config, validate

    if getattr(args, "config", None):
        cfg = load_config(args.config)
    else:
        cfg = presets.get(args.preset or "default")
    kw = {}
    if getattr(args, "seconds", None) is not None:
        kw["seconds"] = args.seconds
    if getattr(args, "seed", None) is not None:
        kw["seed"] = args.seed
    if kw:
        cfg = cfg.replace(**kw)
    return validate(cfg)


def _cmd_run(args) -> int:
    from lwnlab.memtier import sim

    cfg = _load(args)
    progress = None
    if sys.stderr.isatty() and cfg.seconds * cfg.accesses_per_sec >= 20_000_000:
        from tqdm import tqdm

        bar = tqdm(total=cfg.seconds, unit="sim s", desc="simulating", leave=False)

        def progress(done, total):
            bar.update(done - bar.n)
    try:
        res = sim.run(cfg, progress=progress)
    finally:
        if progress is not None:
            bar.close()
    if args.json:
        print_json(res.to_json())
    else:
        print(res.summary())
    return EXIT_OK


def _cmd_presets(args) -> int:
    from lwnlab.memtier.params import to_dict
    from lwnlab.memtier.presets import PRESETS

    if args.json:
        print_json({name: {"description": d, "config": to_dict(f())} for name, (d, f) in PRESETS.items()})
    else:
        w = max(len(n) for n in PRESETS)
        for name, (d, _) in PRESETS.items():
            print(f"{name:<{w}}  {d}")
    return EXIT_OK


def _cmd_machine(args) -> int:
    from lwnlab.memtier.machine import build_machine

    cfg = _load(args)
    m = build_machine(cfg)
    if args.json:
        print_json({
            "min_free_kbytes": m.min_free_kbytes,
            "top_tier_adistance": m.top_tier_adistance,
            "nodes": [{"node": i, "name": m.names[i], "pages": int(m.pages[i]), "adistance": int(m.adistance[i]),
                       "memory_tier": int(m.tier[i]), "toptier": bool(m.toptier[i]),
                       "watermarks": dict(zip(("min", "low", "high", "promo"), map(int, m.wmark[i]))),
                       "free_space_enough_above": int(m.enough[i]),
                       "demotion_targets": list(m.demotion[i]), "lower_tier_nodes": list(m.lower_tier[i])}
                      for i in range(m.nnodes)],
        })
    else:
        print(m.describe())
    return EXIT_OK
