"""The reference experiments: each returns its data and draws its plot.

1. :func:`hotness_curve`: promotion-candidate probability per hint fault against the access rate,
   beside the teaching formula 1 - e^(-lambda * th);
2. :func:`promotion_ladder`: no promotion -> MRU (5.18) -> hot selection -> rate limit -> auto-adjust
   (6.1), next to the published pmbench steps;
3. :func:`ratelimit_sweep`: time to converge after a hot-set phase change against the rate limit;
4. :func:`softlimit`: two cgroups with and without the RFC's toptier soft limit.

Every function takes the configuration to start from (a preset by default), so the notebook can
run smaller versions of the same experiment.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from lwnlab.memtier import presets
from lwnlab.memtier import sim as S

#: Huang Ying's 6.1 series cover letter (v4, June 2022): pmbench score (M accesses/s) and promotion MB/s
PUBLISHED_LADDER = (
    ("base (5.18 MRU promotion)", 146.9, 725.6),
    ("hot selection", 165.7, 544.0),
    ("rate limit", 162.8, 165.2),
    ("auto-adjust", 170.5, 136.9),
)
#: RFC-V5 (Feb 2021): no promotion 74.2 M -> NUMA-balancing promotion 146.1 M (+97%)
PUBLISHED_BASE = (("no promotion", 74.2), ("promotion", 146.1))


@dataclass
class Experiment:
    """Data of one experiment plus the figure drawn from it."""

    name: str
    data: dict
    results: dict = field(default_factory=dict, repr=False)
    figure: object = field(default=None, repr=False)

    def _repr_html_(self):  # pragma: no cover - notebook display
        import html

        return f"<b>{html.escape(self.name)}</b><pre>{html.escape(self.table())}</pre>"

    def table(self) -> str:
        rows = self.data.get("rows")
        if not rows:
            return str(self.data)
        keys = list(rows[0])
        w = {k: max(len(k), *(len(_fmt(r[k])) for r in rows)) for k in keys}
        out = ["  ".join(k.ljust(w[k]) for k in keys)]
        for r in rows:
            out.append("  ".join(_fmt(r[k]).ljust(w[k]) for k in keys))
        return "\n".join(out)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _figure(ncols=1, figsize=(7.0, 3.2)):
    import matplotlib.pyplot as plt

    with plt.ioff():
        fig, axes = plt.subplots(1, ncols, figsize=figsize, layout="constrained")
    return fig, axes


# ----------------------------------------------------------------------------- 1. hotness curve


def hotness_curve(cfg=None, *, plot: bool = True) -> Experiment:
    """Measured P(candidate | hint fault) per page group against 1 - exp(-lambda * th)."""
    cfg = cfg or presets.hotness()
    res = S.run(cfg)
    tot_w = sum(c.weight for c in cfg.cgroups)
    th = cfg.policy.hot_threshold_ms / 1000.0
    rows = []
    for c, spec in enumerate(cfg.cgroups):
        if spec.name == "filler":
            continue
        # per arming (one scan of the page): every arming is followed by one hint fault, and with
        # th <= the scan period the fault that makes a candidate falls in the arming's own second,
        # so candidates / armings is not biased by faults still pending when the run ends
        armed = int(res.cg_series[:, c, S.C_ARMED].sum())
        tests = int(res.cg_series[:, c, S.C_LATTEST].sum())
        cand = int(res.cg_series[:, c, S.C_CAND].sum())
        lam = cfg.accesses_per_sec * spec.weight / tot_w / spec.pages
        p = cand / armed if armed else float("nan")
        rows.append({"lambda_per_s": lam, "armed": armed, "hint_faults": tests, "candidates": cand, "measured": p,
                     "expected": 1 - math.exp(-lam * th),
                     "stderr": math.sqrt(max(p * (1 - p), 1e-12) / armed) if armed else float("nan")})
    exp = Experiment("hotness curve", {"rows": rows, "hot_threshold_ms": cfg.policy.hot_threshold_ms},
                     {"run": res})
    if plot:
        fig, ax = _figure()
        lam = np.array([r["lambda_per_s"] for r in rows])
        xs = np.geomspace(lam.min() / 2, lam.max() * 2, 200)
        ax.plot(xs, 1 - np.exp(-xs * th), "-", color="0.5", label=r"$1-e^{-\lambda\,th}$")
        ax.errorbar(lam, [r["measured"] for r in rows], yerr=[2 * r["stderr"] for r in rows], fmt="o",
                    color="C1", label="simulated (±2σ)")
        ax.axvline(1 / th, color="C0", lw=0.8, ls=":", label=r"$\lambda = 1/th$")
        ax.set_xscale("log")
        ax.set_xlabel("accesses per second to the page (λ)")
        ax.set_ylabel("P(promotion candidate)")
        ax.set_title(f"hot_threshold_ms = {cfg.policy.hot_threshold_ms}")
        ax.legend(loc="upper left", fontsize=8)
        exp.figure = fig
    return exp


# ----------------------------------------------------------------------------- 2. the promotion ladder


LADDER_STEPS = (
    ("no promotion", dict(numa_balancing=0)),
    ("MRU promotion (5.18)", dict(promotion="mru")),
    ("hot selection (6.1)", dict(promotion="hot", auto_adjust=False)),
    ("+ rate limit", dict(promotion="hot", auto_adjust=False, promote_rate_limit_mbps=None)),
    ("+ auto-adjust", dict(promotion="hot", auto_adjust=True, promote_rate_limit_mbps=None)),
)


def promotion_ladder(cfg=None, *, rate_limit_mbps: int = 1, warmup_s: int = 60, plot: bool = True) -> Experiment:
    """Run the ladder; score = modelled accesses/s, promotion = MB/s, both averaged after ``warmup_s``."""
    cfg = cfg or presets.ladder()
    warmup_s = min(warmup_s, max(cfg.seconds - 1, 0))
    rows, results = [], {}
    for name, kw in LADDER_STEPS:
        kw = {k: (rate_limit_mbps if v is None else v) for k, v in kw.items()}
        res = S.run(cfg, **kw)
        sl = slice(warmup_s, None)
        t, _ = res.times_ns()
        score = float(res.series[sl, S.S_ACC].sum() / t[sl].sum() * 1e9 / 1e6)
        rows.append({"step": name, "score_Macc_s": score,
                     "relative_throughput": float(res.relative_throughput()[sl].mean()),
                     "fast_hit_ratio": float(res.fast_hit_ratio()[sl].mean()),
                     "promoted_MBps": float(res.promoted_mbps()[sl].mean()),
                     "final_threshold_ms": int(res.threshold_ms()[-1])})
        results[name] = res
    for i, r in enumerate(rows):
        prev = rows[i - 1] if i else None
        r["score_change"] = (r["score_Macc_s"] / prev["score_Macc_s"] - 1) if prev else 0.0
        r["promotion_change"] = ((r["promoted_MBps"] / prev["promoted_MBps"] - 1)
                                 if prev and prev["promoted_MBps"] > 0 else 0.0)
    published = [{"step": s, "score_Macc_s": sc, "promoted_MBps": mb} for s, sc, mb in PUBLISHED_LADDER]
    exp = Experiment("promotion ladder", {"rows": rows, "published": published, "published_base": PUBLISHED_BASE,
                                          "rate_limit_mbps": rate_limit_mbps}, results)
    if plot:
        fig, (a1, a2) = _figure(2, (8.0, 3.2))
        names = [r["step"].replace(" (", "\n(") for r in rows]
        x = np.arange(len(rows))
        a1.bar(x, [r["relative_throughput"] for r in rows], color="C0")
        a1.set_xticks(x, names, fontsize=7, rotation=30, ha="right")
        a1.set_ylabel("throughput / all-DRAM")
        a2.bar(x, [r["promoted_MBps"] for r in rows], color="C3")
        a2.set_xticks(x, names, fontsize=7, rotation=30, ha="right")
        a2.set_ylabel("promotion MB/s")
        exp.figure = fig
    return exp


def ladder_directions(exp: Experiment) -> dict[str, bool]:
    """Does the model reproduce the published signs? (step -> agrees)"""
    r = {row["step"]: row for row in exp.data["rows"]}
    names = [s for s, _ in LADDER_STEPS]
    base, mru, hot, rl, auto = (r[n] for n in names)
    return {
        "MRU promotion beats no promotion by a lot (+97% published)": mru["score_Macc_s"] > 1.3 * base["score_Macc_s"],
        "hot selection: higher score (+12.8%)": hot["score_Macc_s"] > mru["score_Macc_s"],
        "hot selection: fewer promotions (-25%)": hot["promoted_MBps"] < mru["promoted_MBps"],
        "rate limit: far fewer promotions (-70%)": rl["promoted_MBps"] < 0.75 * hot["promoted_MBps"],
        "rate limit: score within 2% (-1.7%)": rl["score_Macc_s"] > 0.98 * hot["score_Macc_s"],
        "auto-adjust: promotions not higher (-17%)": auto["promoted_MBps"] <= rl["promoted_MBps"] * 1.02,
        "auto-adjust: score not lower (+4.7%)": auto["score_Macc_s"] >= 0.99 * rl["score_Macc_s"],
    }


# ----------------------------------------------------------------------------- 3. rate-limit sweep


def converge_seconds(fast: np.ndarray, change_s: int, window: int = 5, tol: float = 0.02) -> float:
    """Seconds after ``change_s`` until the hit ratio is back within ``tol`` of its level before the change."""
    before = float(fast[max(change_s - window, 0):change_s].mean())
    for s in range(change_s, len(fast)):
        if fast[s] >= before - tol:
            return float(s - change_s + 1)
    return float("inf")


def ratelimit_sweep(cfg=None, limits=(2, 4, 8, 16, 32, 65536), *, plot: bool = True) -> Experiment:
    """For each promote_rate_limit_MBps: time to converge after the first phase change, and steady throughput."""
    cfg = cfg or presets.phase()
    phase_s = cfg.cgroups[0].phase_ms // 1000
    rows, results = [], {}
    for lim in limits:
        res = S.run(cfg, promote_rate_limit_mbps=int(lim))
        fh = res.fast_hit_ratio()
        rt = res.relative_throughput()
        conv = converge_seconds(fh, phase_s)
        rows.append({"rate_limit_MBps": int(lim), "converge_s": conv,
                     "steady_throughput": float(rt[max(phase_s - 10, 0):phase_s].mean()),
                     "throughput_over_run": float(res.totals()["relative_throughput"]),
                     "promoted_MB": float(res.totals()["promoted_mb"])})
        results[lim] = res
    exp = Experiment("rate-limit sweep", {"rows": rows, "phase_s": phase_s}, results)
    if plot:
        fig, (a1, a2) = _figure(2, (8.0, 3.2))
        for lim in limits:
            a1.plot(results[lim].seconds, results[lim].fast_hit_ratio(), lw=1, label=f"{lim} MB/s")
        a1.axvline(phase_s, color="0.5", ls=":")
        a1.set_xlabel("simulated s")
        a1.set_ylabel("fast-tier hit ratio")
        a1.legend(fontsize=7)
        lims = [r["rate_limit_MBps"] for r in rows]
        a2.plot(lims, [r["converge_s"] for r in rows], "o-", label="time to converge")
        a2.set_xscale("log")
        a2.set_xlabel("promote_rate_limit_MBps")
        a2.set_ylabel("seconds")
        a2b = a2.twinx()
        a2b.plot(lims, [r["throughput_over_run"] for r in rows], "s--", color="C2", label="throughput")
        a2b.set_ylabel("throughput / all-DRAM")
        exp.figure = fig
    return exp


# ----------------------------------------------------------------------------- 4. soft limits


def softlimit(cfg=None, *, plot: bool = True) -> Experiment:
    """The RFC's toptier soft limit: the latency-sensitive cgroup's DRAM hit ratio with and without it."""
    cfg = cfg or presets.softlimit()
    with_limit = S.run(cfg)
    without = S.run(cfg, soft_limit=False)
    rows = []
    for name, res in (("no soft limit", without), ("batch soft limit (RFC)", with_limit)):
        fh = res.cg_fast_hit_ratio()
        dem = res.cg_series[:, :, S.C_DEMOTE]
        rows.append({"setup": name,
                     "ls_fast_hit_ratio": float(fh[-10:, 0].mean()),
                     "batch_fast_hit_ratio": float(fh[-10:, 1].mean()),
                     "ls_toptier_pages": int(res.toptier_pages()[-1, 0]),
                     "batch_toptier_pages": int(res.toptier_pages()[-1, 1]),
                     "softlimit_reclaimed": int(res.totals()["softlimit_reclaimed"]),
                     "batch_demote_peak_per_s": int(dem[:, 1].max()),
                     "relative_throughput": float(res.totals()["relative_throughput"])})
    exp = Experiment("toptier soft limit", {"rows": rows}, {"without": without, "with": with_limit})
    if plot:
        fig, (a1, a2) = _figure(2, (8.0, 3.2))
        for res, ls, lab in ((without, "--", "no limit"), (with_limit, "-", "soft limit")):
            a1.plot(res.seconds, res.cg_fast_hit_ratio()[:, 0], ls, color="C0", label=f"LS, {lab}")
            a1.plot(res.seconds, res.cg_fast_hit_ratio()[:, 1], ls, color="C1", label=f"batch, {lab}")
            a2.plot(res.seconds, res.cg_series[:, 1, S.C_DEMOTE] * 4 / 1024, ls, color="C1", label=f"batch, {lab}")
        a1.set_xlabel("simulated s")
        a1.set_ylabel("fast-tier hit ratio")
        a1.legend(fontsize=7)
        a2.set_xlabel("simulated s")
        a2.set_ylabel("batch pages demoted, MB/s")
        a2.legend(fontsize=7)
        exp.figure = fig
    return exp


def scaled(cfg, *, seconds: int | None = None, accesses_per_sec: int | None = None):
    """A copy of ``cfg`` with another length or access rate (for quick notebook runs)."""
    kw = {}
    if seconds is not None:
        kw["seconds"] = seconds
    if accesses_per_sec is not None:
        kw["accesses_per_sec"] = accesses_per_sec
    return dataclasses.replace(cfg, **kw)
