"""What a simulation produced: per-second series, totals and the cost model's verdict."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lwnlab.memtier import sim as S
from lwnlab.memtier.machine import second_time_ns
from lwnlab.memtier.params import PAGE_SIZE, to_dict

MB = 1 << 20


@dataclass
class Result:
    """The outcome of :func:`lwnlab.memtier.sim.run`.

    ``series`` (int64[seconds, len(SERIES_NAMES)]), ``node_series`` (int64[seconds, nodes, 5]: free, reads,
    writes, threshold, kswapd ms) and ``cg_series`` (int64[seconds, cgroups, sim.NCS]: accesses, fast hits, top-tier
    pages, hint faults, latency tests, candidates, promotions, demotions, swap-ins, PTEs armed, NUMA scan period in ms)
    are per simulated second.
    """

    config: object
    machine: object
    args: tuple = field(repr=False)

    def __post_init__(self):
        a = self.args
        self.series = a[18]
        self.node_series = a[19]
        self.cg_series = a[20]
        self.kernel_state = a[17]
        self.numa_state = a[21]
        self.page_node = a[9]
        self.flags = a[10]
        self.stamp = a[11]
        self._times = None

    # ---- per second
    def column(self, name: str) -> np.ndarray:
        return self.series[:, S.SERIES_NAMES.index(name)]

    @property
    def seconds(self) -> np.ndarray:
        return np.arange(1, self.series.shape[0] + 1)

    def fast_hit_ratio(self) -> np.ndarray:
        acc = self.series[:, S.S_ACC]
        return np.where(acc > 0, self.series[:, S.S_FAST] / np.maximum(acc, 1), 0.0)

    def promoted_mbps(self) -> np.ndarray:
        return self.series[:, S.S_PROMO] * PAGE_SIZE / MB

    def demoted_mbps(self) -> np.ndarray:
        return (self.series[:, S.S_DEMOTE_KSWAPD] + self.series[:, S.S_DEMOTE_DIRECT]) * PAGE_SIZE / MB

    def threshold_ms(self, node: int | None = None) -> np.ndarray:
        if node is None:
            node = self.config.cgroups[0].cpu_node
        return self.node_series[:, node, S.N_THRESH]

    def free_pages(self) -> np.ndarray:
        return self.node_series[:, :, S.N_FREE]

    def toptier_pages(self) -> np.ndarray:
        return self.cg_series[:, :, S.C_TOPTIER]

    def scan_period_ms(self) -> np.ndarray:
        """Per second and cgroup: the process's numa_scan_period (ms) at the end of the second (0: not scanning yet)."""
        return self.cg_series[:, :, S.C_SCAN_PERIOD]

    def cg_fast_hit_ratio(self) -> np.ndarray:
        acc = self.cg_series[:, :, S.C_ACC]
        return np.where(acc > 0, self.cg_series[:, :, S.C_FAST] / np.maximum(acc, 1), 0.0)

    def times_ns(self) -> tuple[np.ndarray, np.ndarray]:
        """(modelled time of each second's work, same work on an all-DRAM machine), in ns."""
        if self._times is None:
            m, cost = self.machine, self.config.cost
            perf = m.perf
            dram = next((p for p, s in zip(perf, m.specs) if s.kind == "dram"), perf[0])
            t, t0 = [], []
            for s in range(self.series.shape[0]):
                r = self.node_series[s, :, S.N_READ].astype(float)
                w = self.node_series[s, :, S.N_WRITE].astype(float)
                row = self.series[s]
                migr = int(row[S.S_PROMO] + row[S.S_DEMOTE_KSWAPD] + row[S.S_DEMOTE_DIRECT])
                t.append(second_time_ns(r, w, perf, cost, hint_faults=int(row[S.S_HINT]), migrations=migr,
                                        swapins=int(row[S.S_SWAPIN])))
                t0.append(second_time_ns(np.array([r.sum()]), np.array([w.sum()]), (dram,), cost))
            self._times = (np.array(t), np.array(t0))
        return self._times

    def relative_throughput(self) -> np.ndarray:
        """Per second: throughput relative to an all-DRAM machine running the same accesses (1.0 = as fast)."""
        t, t0 = self.times_ns()
        return np.where(t > 0, t0 / np.maximum(t, 1e-9), 1.0)

    def accesses_per_second_modelled(self) -> np.ndarray:
        t, _ = self.times_ns()
        return self.series[:, S.S_ACC] / np.maximum(t, 1e-9) * 1e9

    # ---- totals
    def totals(self) -> dict:
        s = self.series.sum(axis=0)
        t, t0 = self.times_ns()
        acc = int(s[S.S_ACC])
        out = {
            "accesses": acc,
            "fast_hit_ratio": float(s[S.S_FAST] / acc) if acc else 0.0,
            "promoted_mb": float(s[S.S_PROMO] * PAGE_SIZE / MB),
            "demoted_mb": float((s[S.S_DEMOTE_KSWAPD] + s[S.S_DEMOTE_DIRECT]) * PAGE_SIZE / MB),
            "relative_throughput": float(t0.sum() / t.sum()) if t.sum() > 0 else 1.0,
            "modelled_accesses_per_sec": float(acc / t.sum() * 1e9) if t.sum() > 0 else 0.0,
            "final_threshold_ms": int(self.threshold_ms()[-1]),
        }
        for i, name in enumerate(S.SERIES_NAMES):
            if name not in ("accesses",):
                out[name] = int(s[i])
        return out

    def series_dict(self) -> dict:
        out = {
            "second": self.seconds.tolist(),
            "fast_hit_ratio": [round(x, 6) for x in self.fast_hit_ratio().tolist()],
            "promoted_mbps": self.promoted_mbps().tolist(),
            "demoted_mbps": self.demoted_mbps().tolist(),
            "hot_threshold_ms": self.threshold_ms().tolist(),
            "relative_throughput": [round(x, 6) for x in self.relative_throughput().tolist()],
            "free_pages": {self.machine.names[i]: self.free_pages()[:, i].tolist() for i in range(self.machine.nnodes)},
            "toptier_pages": {self._cg_name(c): self.toptier_pages()[:, c].tolist()
                              for c in range(len(self.config.cgroups))},
            "scan_period_ms": {self._cg_name(c): self.scan_period_ms()[:, c].tolist()
                               for c in range(len(self.config.cgroups))},
        }
        for name in ("hint_faults", "pgpromote_candidate", "pgpromote_success", "pgdemote_kswapd", "pswpout"):
            out[name] = self.column(name).tolist()
        return out

    def watermarks(self) -> dict:
        return {self.machine.names[i]: dict(zip(("min", "low", "high", "promo"), map(int, self.machine.wmark[i])))
                for i in range(self.machine.nnodes)}

    def _cg_name(self, c: int) -> str:
        return self.config.cgroups[c].name or f"cg{c}"

    def to_json(self) -> dict:
        return {"config": to_dict(self.config), "watermarks": self.watermarks(),
                "tiers": {f"memory_tier{k}": v for k, v in self.machine.tiers().items()},
                "totals": self.totals(), "series": self.series_dict()}

    def summary(self) -> str:
        tot = self.totals()
        lines = [self.machine.describe(), ""]
        lines.append(f"{tot['accesses']:,} accesses in {self.series.shape[0]} simulated s")
        lines.append(f"fast-tier hit ratio   {tot['fast_hit_ratio']:.4f}")
        lines.append(f"promoted              {tot['promoted_mb']:.1f} MB  ({tot['pgpromote_success']} pages; "
                     f"candidates {tot['pgpromote_candidate']}, rate-limited {tot['promote_ratelimited']}, "
                     f"no room {tot['promote_fail_wmark']})")
        lines.append(f"demoted               {tot['demoted_mb']:.1f} MB  (kswapd {tot['pgdemote_kswapd']}, "
                     f"direct {tot['pgdemote_direct']}); swapped out {tot['pswpout']} pages")
        lines.append(f"hint faults           {tot['hint_faults']}  (PTEs armed {tot['ptes_armed']})")
        lines.append(f"hot threshold at end  {tot['final_threshold_ms']} ms")
        lines.append(f"relative throughput   {tot['relative_throughput']:.3f} of an all-DRAM machine")
        return "\n".join(lines)
