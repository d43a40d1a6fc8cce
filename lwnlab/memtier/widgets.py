"""Widgets: move a kernel knob, rerun the simulation, watch pages move.

``make_simulator()`` returns a :class:`Simulator` whose attributes are the controls
(``hot_threshold``, ``rate_limit``, ``dram_share``, ``demotion``, ``auto_adjust``,
``promotion``, ``numa_balancing``, ``soft_limit``, ``scale_factor``), the figure artists
(``lines``) and the latest :class:`~lwnlab.memtier.results.Result` (``result``).  Every
control has ``continuous_update=False``; a change reruns the simulation with the same
numba kernels (argument types never change, so nothing recompiles) and updates the
artists in place.
"""

from __future__ import annotations

import dataclasses
import html
import time

import ipywidgets as W
import numpy as np

from lwnlab.errors import LwnlabError
from lwnlab.memtier import presets
from lwnlab.memtier import sim as S
from lwnlab.memtier.params import SimConfig
from lwnlab.ui import ErrorBox, figure

RATE_LIMITS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 65536)


def widget_config() -> SimConfig:
    """The notebook's default: the default preset, 20 simulated seconds at 250k accesses/s."""
    return presets.default().replace(seconds=20, accesses_per_sec=250_000)


class Simulator:
    """Controls, plots and the latest result of one interactive tiering simulation."""

    def __init__(self, cfg: SimConfig | None = None):
        self.base = cfg or widget_config()
        p = self.base.policy
        total = sum(n.pages for n in self.base.nodes)
        fast = sum(n.pages for n in self.base.nodes if n.kind == "dram")
        st = dict(continuous_update=False, style={"description_width": "150px"}, layout=W.Layout(width="420px"))
        self.hot_threshold = W.IntSlider(value=p.hot_threshold_ms, min=125, max=4000, step=125,
                                         description="hot_threshold_ms", **st)
        self.rate_limit = W.SelectionSlider(options=RATE_LIMITS, value=min(RATE_LIMITS, key=lambda r: abs(
            r - p.promote_rate_limit_mbps)), description="rate limit MB/s", **st)
        self.dram_share = W.FloatSlider(value=round(fast / total, 3), min=0.05, max=0.9, step=0.01,
                                        description="DRAM share", readout_format=".2f", **st)
        self.demotion = W.Checkbox(value=p.demotion_enabled, description="demotion_enabled (5.15)", indent=False)
        self.auto_adjust = W.Checkbox(value=p.auto_adjust, description="threshold auto-adjust (6.1)", indent=False)
        self.promotion = W.ToggleButtons(options=[("MRU (5.18)", "mru"), ("hot (6.1)", "hot")], value=p.promotion,
                                         description="promotion")
        self.numa_balancing = W.Dropdown(options=[("0: off", 0), ("2: tiering", 2), ("3: normal+tiering", 3)],
                                         value=p.numa_balancing, description="numa_balancing")
        multi = len(self.base.cgroups) > 1
        last = self.base.cgroups[-1]
        lim = last.soft_limit_pages
        self.soft_limit = W.FloatSlider(value=(lim / fast) if (multi and lim is not None) else 1.0, min=0.0, max=1.0,
                                        step=0.05, description="soft limit (DRAM share)", disabled=not multi,
                                        readout_format=".2f", **st)
        self.scale_factor = W.IntSlider(value=p.toptier_scale_factor, min=0, max=5000, step=250,
                                        description="toptier_scale_factor", disabled=not multi, **st)
        self.controls = [self.hot_threshold, self.rate_limit, self.dram_share, self.demotion, self.auto_adjust,
                         self.promotion, self.numa_balancing, self.soft_limit, self.scale_factor]
        self.error = ErrorBox()
        self.summary = W.HTML()
        self.result = None
        self.config = None
        self.runs = 0
        self.last_seconds = 0.0

        self.view, axes = figure(2, 2, figsize=(8.0, 5.0))
        (a_hit, a_mig), (a_th, a_free) = axes
        self.axes = {"hit": a_hit, "migration": a_mig, "threshold": a_th, "free": a_free}
        x = np.arange(1, self.base.seconds + 1)
        z = np.zeros_like(x, dtype=float)
        self.lines = {
            "fast_hit": a_hit.plot(x, z, color="C0", label="fast-tier hit ratio")[0],
            "throughput": a_hit.plot(x, z, color="C2", ls="--", label="throughput / all-DRAM")[0],
            "promoted": a_mig.plot(x, z, color="C3", label="promoted")[0],
            "demoted": a_mig.plot(x, z, color="C4", label="demoted")[0],
            "threshold": a_th.plot(x, z, color="C1", drawstyle="steps-mid")[0],
            "free": a_free.plot(x, z, color="C0", label="free")[0],
        }
        # where the pages are: each cgroup's pages on the top tier (the RFC's memory.toptier_usage_in_bytes)
        self.cg_names = [c.name or f"cg{i}" for i, c in enumerate(self.base.cgroups)]
        for i, name in enumerate(self.cg_names):
            self.lines[f"toptier:{name}"] = a_free.plot(x, z, color=f"C{5 + i % 5}", lw=1.2,
                                                        label=f"{name} on top tier")[0]
        self.soft_line = a_free.axhline(0, color="C1", lw=1.0, ls="--", label="soft limit (RFC)", visible=multi)
        self.wmark_lines = [a_free.axhline(0, color=c, lw=0.8, ls=":", label=n)
                            for n, c in zip(("min", "low", "high", "promo"), ("C3", "C1", "C2", "C4"))]
        a_hit.set_ylim(0, 1.05)
        a_hit.set_ylabel("ratio")
        a_hit.legend(fontsize=7, loc="lower right")
        a_mig.set_ylabel("MB/s")
        a_mig.legend(fontsize=7)
        a_th.set_ylabel("hot threshold, ms")
        a_free.set_ylabel("fast node pages")
        a_free.legend(fontsize=7, ncol=2)
        for a in (a_th, a_free):
            a.set_xlabel("simulated s")
        for c in self.controls:
            c.observe(self._changed, names="value")
        self.widget = W.VBox([
            W.HBox([W.VBox([self.hot_threshold, self.rate_limit, self.dram_share, self.soft_limit,
                            self.scale_factor]),
                    W.VBox([self.promotion, self.numa_balancing, self.demotion, self.auto_adjust])]),
            self.error.widget, self.view.widget, self.summary])
        self.run()

    # ---- model
    def current_config(self) -> SimConfig:
        b = self.base
        total = sum(n.pages for n in b.nodes)
        fast_idx = [i for i, n in enumerate(b.nodes) if n.kind == "dram"]
        slow_idx = [i for i, n in enumerate(b.nodes) if n.kind != "dram"]
        share = float(self.dram_share.value)
        fast_total = max(1024, int(total * share))
        slow_total = max(1024, total - fast_total)
        nodes = list(b.nodes)
        for group, amount in ((fast_idx, fast_total), (slow_idx, slow_total)):
            for i in group:
                nodes[i] = dataclasses.replace(nodes[i], pages=max(1, amount // len(group)))
        cgroups = list(b.cgroups)
        if len(cgroups) > 1:
            cgroups[-1] = dataclasses.replace(cgroups[-1], soft_limit_pages=int(self.soft_limit.value * fast_total))
        policy = dataclasses.replace(
            b.policy, hot_threshold_ms=int(self.hot_threshold.value), promote_rate_limit_mbps=int(self.rate_limit.value),
            demotion_enabled=bool(self.demotion.value), auto_adjust=bool(self.auto_adjust.value),
            promotion=str(self.promotion.value), numa_balancing=int(self.numa_balancing.value),
            toptier_scale_factor=int(self.scale_factor.value))
        return dataclasses.replace(b, nodes=tuple(nodes), cgroups=tuple(cgroups), policy=policy)

    def _changed(self, change=None):
        self.run()

    def run(self):
        """Rerun with the controls' values and update every artist."""
        t0 = time.perf_counter()
        try:
            cfg = self.current_config()
            res = S.run(cfg)
        except LwnlabError as e:
            self.error.show(e)
            return None
        self.error.clear()
        self.config, self.result = cfg, res
        self.runs += 1
        self._draw(res)
        self.last_seconds = time.perf_counter() - t0
        return res

    def _draw(self, res):
        x = res.seconds
        fast = [i for i, n in enumerate(res.config.nodes) if n.kind == "dram"][0]
        self.lines["fast_hit"].set_data(x, res.fast_hit_ratio())
        self.lines["throughput"].set_data(x, res.relative_throughput())
        self.lines["promoted"].set_data(x, res.promoted_mbps())
        self.lines["demoted"].set_data(x, res.demoted_mbps())
        self.lines["threshold"].set_data(x, res.threshold_ms())
        self.lines["free"].set_data(x, res.free_pages()[:, fast])
        for ln, v in zip(self.wmark_lines, res.machine.wmark[fast]):
            ln.set_ydata([v, v])
        top = res.toptier_pages()
        for i, name in enumerate(self.cg_names):
            self.lines[f"toptier:{name}"].set_data(x, top[:, i])
        lim = res.config.cgroups[-1].soft_limit_pages
        if len(self.cg_names) > 1 and lim is not None:
            self.soft_line.set_ydata([lim, lim])
        for a in self.axes.values():
            a.set_xlim(0.5, x[-1] + 0.5)
        for k in ("migration", "threshold", "free"):
            a = self.axes[k]
            a.relim()
            a.autoscale_view(scalex=False)
        ymax = max(float(res.free_pages()[:, fast].max()), float(res.machine.wmark[fast][3]), float(top.max()))
        self.axes["free"].set_ylim(0, ymax * 1.15 + 1)
        tot = res.totals()
        self.summary.value = (
            f"<b>fast-tier hit ratio</b> {tot['fast_hit_ratio']:.3f} &nbsp; <b>promoted</b> {tot['promoted_mb']:.1f} MB"
            f" &nbsp; <b>demoted</b> {tot['demoted_mb']:.1f} MB &nbsp; <b>hot threshold</b> "
            f"{tot['final_threshold_ms']} ms &nbsp; <b>throughput</b> {tot['relative_throughput']:.3f} of all-DRAM"
            f"<br><small>{html.escape(', '.join(f'node{i}: tier {int(t)}' for i, t in enumerate(res.machine.tier)))}"
            f"; watermarks (fast node) min/low/high/promo = {'/'.join(map(str, res.machine.wmark[fast]))} pages</small>")
        self.view.redraw()


def make_simulator(cfg: SimConfig | None = None) -> Simulator:
    """The interactive simulation (default: :func:`widget_config`)."""
    return Simulator(cfg)


def make_softlimit_explorer() -> Simulator:
    """The simulator on the two-cgroup soft-limit preset (soft limit and scale factor sliders enabled)."""
    return Simulator(presets.softlimit().replace(seconds=20))
