"""Self-checks for the notebook's exercises; each returns a :class:`lwnlab.ui.Check`."""

from __future__ import annotations

import math

from lwnlab.memtier import machine as M
from lwnlab.ui import Check


def check_watermarks(min_pages, low_pages, high_pages, promo_pages, *, node_gib: int = 64) -> Check:
    """Exercise 1: the watermarks (in 4 KiB pages) of a lone ``node_gib`` GiB node, as __setup_per_zone_wmarks()."""
    if None in (min_pages, low_pages, high_pages, promo_pages):
        return Check(False, "fill in all four numbers (pages)")
    _, (w,) = M.zone_watermarks([node_gib << 18], [False])
    got = (int(min_pages), int(low_pages), int(high_pages), int(promo_pages))
    want = w.as_tuple()
    if got == want:
        return Check(True, f"min/low/high/promo = {'/'.join(map(str, want))} pages: min_free_kbytes = "
                           f"int_sqrt({node_gib << 20} kB * 16), and each step is max(min/4, 0.1% of the node)")
    wrong = [n for n, a, b in zip(("min", "low", "high", "promo"), got, want) if a != b]
    hint = ("min = min_free_kbytes / 4 (kB -> pages); " if "min" in wrong else "") + \
        "each step adds tmp = max(min >> 2, managed * watermark_scale_factor / 10000)"
    return Check(False, f"{', '.join(wrong)} not right yet. Hint: {hint}")


def check_half_rate(rate_per_s, *, hot_threshold_ms: int = 1000) -> Check:
    """Exercise 2: the access rate (per second) at which a scanned page becomes a candidate half of the time."""
    if rate_per_s is None:
        return Check(False, "give a rate in accesses per second")
    want = math.log(2) / (hot_threshold_ms / 1000)
    if abs(float(rate_per_s) - want) <= 0.02 * want:
        return Check(True, f"lambda = ln 2 / th = {want:.3f} /s: 1 - e^(-lambda th) = 1/2")
    return Check(False, "solve 1 - exp(-lambda * th) = 0.5 for lambda, with th in seconds")


def _phase_run(limit: int, cfg=None):
    from lwnlab.memtier import experiments as E
    from lwnlab.memtier import presets, sim

    cfg = cfg or presets.phase()
    res = sim.run(cfg, promote_rate_limit_mbps=int(limit))
    phase_s = cfg.cgroups[0].phase_ms // 1000
    return E.converge_seconds(res.fast_hit_ratio(), phase_s), res.totals()["relative_throughput"]


def check_rate_limit(limit_mbps, *, cfg=None, within_s: float = 10.0, max_loss: float = 0.02) -> Check:
    """Exercise 3: the smallest rate limit (from the widget's values) that converges within ``within_s``
    after the phase preset's hot-set change while losing at most ``max_loss`` throughput against no limit."""
    from lwnlab.memtier.widgets import RATE_LIMITS

    if limit_mbps is None:
        return Check(False, "pick a value of the rate-limit slider (MB/s)")
    if int(limit_mbps) not in RATE_LIMITS:
        return Check(False, f"pick one of the slider's values: {RATE_LIMITS}")
    _, ref = _phase_run(65536, cfg)

    def ok(lim):
        conv, thr = _phase_run(lim, cfg)
        return conv <= within_s and thr >= (1 - max_loss) * ref, conv, thr

    good, conv, thr = ok(int(limit_mbps))
    if not good:
        return Check(False, f"{limit_mbps} MB/s: converges in {conv:g} s, throughput {thr:.3f} vs {ref:.3f} "
                            "unlimited; try a larger limit")
    i = RATE_LIMITS.index(int(limit_mbps))
    if i > 0:
        smaller, c2, t2 = ok(RATE_LIMITS[i - 1])
        if smaller:
            return Check(False, f"{limit_mbps} MB/s works, but so does {RATE_LIMITS[i - 1]} MB/s: find the smallest")
    return Check(True, f"{limit_mbps} MB/s: converges in {conv:g} s at {thr:.3f} of all-DRAM "
                       f"(unlimited: {ref:.3f}); halving it would be too slow")


def check_soft_limit(limit_pages, *, cfg=None) -> Check:
    """Exercise 4: a batch soft limit that gives the latency-sensitive cgroup >= 99% DRAM hits
    while leaving the batch cgroup at least half of DRAM."""
    import dataclasses

    from lwnlab.memtier import presets, sim

    if limit_pages is None:
        return Check(False, "give the batch cgroup's toptier soft limit in pages")
    cfg = cfg or presets.softlimit()
    dram = cfg.nodes[0].pages
    cgs = list(cfg.cgroups)
    cgs[-1] = dataclasses.replace(cgs[-1], soft_limit_pages=int(limit_pages))
    res = sim.run(dataclasses.replace(cfg, cgroups=tuple(cgs)))
    ls = float(res.cg_fast_hit_ratio()[-10:, 0].mean())
    if int(limit_pages) < dram // 2:
        return Check(False, f"LS hits {ls:.3f}, but a limit below half of DRAM ({dram // 2} pages) starves the batch job")
    if ls >= 0.99:
        return Check(True, f"LS cgroup: {ls:.4f} of its accesses hit DRAM with the batch job limited to "
                           f"{int(limit_pages)} of {dram} DRAM pages")
    return Check(False, f"LS hits only {ls:.3f}: the batch job still crowds it out; lower the limit "
                        f"(room needed: the LS working set of {cfg.cgroups[0].pages} pages plus watermarks)")
