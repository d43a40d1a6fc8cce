"""The simulated machine: nodes, memory tiers, watermarks, demotion targets, and the cost model.

Each function ports one piece of Linux 6.12, in the kernel's integer arithmetic:

* :func:`min_free_kbytes` / :func:`zone_watermarks`: ``calculate_min_free_kbytes()`` and
  ``__setup_per_zone_wmarks()`` (mm/page_alloc.c), including ``WMARK_PROMO``;
* :func:`mt_perf_to_adistance` and :func:`build_tiers`: mm/memory-tiers.c (tier id =
  adistance >> MEMTIER_CHUNK_BITS, ``top_tier_adistance``, ``node_is_toptier()``);
* :func:`demotion_targets`: ``establish_demotion_targets()`` (``node_demotion[n].preferred`` =
  nearest nodes of the *next* lower tier; ``lower_tier_mask`` = all lower tiers);
* :func:`free_space_enough_mark`: ``pgdat_free_space_enough()`` (fair.c);
* :func:`task_scan_min`: fair.c, the time between NUMA scan windows.

Simplifications, stated once: one zone per node, managed == present pages,
no lowmem_reserve, no highatomic/CMA reserves (so ``zone_watermark_ok(z, 0, mark)``
is ``free > mark``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lwnlab.memtier.params import (
    MAX_SCAN_WINDOW, MEMTIER_ADISTANCE_DRAM, MEMTIER_CHUNK_BITS, MEMTIER_CHUNK_SIZE,
    MEMTIER_DEFAULT_DAX_ADISTANCE, PAGE_SHIFT, SWAP_CLUSTER_MAX, NodeSpec, SimConfig, _node_cpus, validate,
)


# ----------------------------------------------------------------------------- watermarks


def int_sqrt(x: int) -> int:
    """lib/math/int_sqrt.c: floor(sqrt(x)) for an unsigned long."""
    return math.isqrt(int(x))


def min_free_kbytes(lowmem_kbytes: int) -> int:
    """``calculate_min_free_kbytes()``: int_sqrt(lowmem_kbytes * 16), clamped to [128, 262144]."""
    return min(max(int_sqrt(lowmem_kbytes * 16), 128), 262144)


def mult_frac(x: int, n: int, d: int) -> int:
    """include/linux/math.h mult_frac(): x * n / d without overflowing."""
    q, r = divmod(x, d)
    return q * n + (r * n) // d


@dataclass(frozen=True)
class Watermarks:
    """One zone's watermarks in pages (``zone->_watermark[]``)."""

    min: int
    low: int
    high: int
    promo: int

    def as_tuple(self):
        return (self.min, self.low, self.high, self.promo)


def zone_watermarks(managed: list[int], movable: list[bool], *, watermark_scale_factor: int = 10,
                    min_free_kb: int | None = None) -> tuple[int, list[Watermarks]]:
    """``__setup_per_zone_wmarks()`` for zones with ``managed`` pages; returns (min_free_kbytes, marks).

    ``lowmem_pages`` counts the !highmem, !movable zones; ``min_free_kbytes`` defaults to
    :func:`min_free_kbytes` of the lowmem in kB (``nr_free_buffer_pages()`` at boot, before
    any high watermark exists).
    """
    lowmem_pages = sum(m for m, mv in zip(managed, movable) if not mv)
    if min_free_kb is None:
        min_free_kb = min_free_kbytes(lowmem_pages << (PAGE_SHIFT - 10))
    pages_min = min_free_kb >> (PAGE_SHIFT - 10)
    out = []
    for m, mv in zip(managed, movable):
        tmp = (pages_min * m) // lowmem_pages if lowmem_pages else 0  # div64_ul; the kernel always has lowmem
        if mv:
            wmin = min(max(m // 1024, SWAP_CLUSTER_MAX), 128)  # clamp(managed/1024, SWAP_CLUSTER_MAX, 128)
        else:
            wmin = tmp
        tmp = max(tmp >> 2, mult_frac(m, watermark_scale_factor, 10000))
        low = wmin + tmp
        high = low + tmp
        promo = high + tmp
        out.append(Watermarks(wmin, low, high, promo))
    return min_free_kb, out


def free_space_enough_mark(present_pages: int, promo: int) -> int:
    """``pgdat_free_space_enough()``: true while free > promo + max(1 GiB, present/16) (this returns that mark)."""
    return promo + max((1 << 30) >> PAGE_SHIFT, present_pages >> 4)


def toptier_wmark(managed: int, toptier_scale_factor: int) -> int:
    """RFC: the free level below which kswapd enforces toptier soft limits (scale factor in 1/10000)."""
    return mult_frac(managed, toptier_scale_factor, 10000)


# ----------------------------------------------------------------------------- tiers


def mt_perf_to_adistance(perf: dict, dram_perf: dict) -> int:
    """mm/memory-tiers.c ``mt_perf_to_adistance()`` in its integer order of operations.

    ``adist = 576 * (Rlat+Wlat) / (Rlat_dram+Wlat_dram) * (Rbw_dram+Wbw_dram) / (Rbw+Wbw)``,
    latencies in ns and bandwidths in MB/s as ``struct access_coordinate`` holds them (unsigned int:
    the arithmetic is 32-bit unsigned).
    """
    lat = int(perf["read_latency_ns"]) + int(perf["write_latency_ns"])
    bw = int(perf["read_bw_mbps"]) + int(perf["write_bw_mbps"])
    dlat = int(dram_perf["read_latency_ns"]) + int(dram_perf["write_latency_ns"])
    dbw = int(dram_perf["read_bw_mbps"]) + int(dram_perf["write_bw_mbps"])
    if lat == 0 or bw == 0:
        raise ValueError("-EINVAL: zero latency or bandwidth")
    # struct access_coordinate holds unsigned ints, so the products wrap at 2**32 as in the kernel
    m = 0xFFFFFFFF
    return ((((MEMTIER_ADISTANCE_DRAM * lat) & m) // dlat * dbw) & m) // bw


def tier_of(adistance: int) -> int:
    """memory_tierN: N = adistance >> MEMTIER_CHUNK_BITS (adistance_start = round_down(adist, 128))."""
    return adistance >> MEMTIER_CHUNK_BITS


def node_adistance(spec: NodeSpec, dram_perf: dict | None) -> int:
    if spec.adistance is not None:
        return int(spec.adistance)
    if spec.kind == "dram":
        return MEMTIER_ADISTANCE_DRAM
    if spec.hmat and dram_perf is not None:
        return mt_perf_to_adistance(spec.perf(), dram_perf)
    return MEMTIER_DEFAULT_DAX_ADISTANCE


def default_distances(n: int) -> np.ndarray:
    d = np.full((n, n), 20, np.int64)
    np.fill_diagonal(d, 10)
    return d


def zonelist(node: int, dist: np.ndarray) -> list[int]:
    """Fallback order from ``node`` (build_zonelists via find_next_best_node: distance, then node id)."""
    n = dist.shape[0]
    return sorted(range(n), key=lambda j: (0 if j == node else 1, dist[node, j], j))


@dataclass(frozen=True)
class Machine:
    """Everything about the nodes the simulation kernel needs, as plain Python and numpy."""

    specs: tuple
    names: tuple
    pages: np.ndarray          # int64[nn]
    cpus: np.ndarray           # bool[nn]
    adistance: np.ndarray      # int64[nn]
    tier: np.ndarray           # int64[nn] memory_tierN ids
    toptier: np.ndarray        # bool[nn] node_is_toptier()
    top_tier_adistance: int
    min_free_kbytes: int
    wmark: np.ndarray          # int64[nn, 4] min/low/high/promo
    enough: np.ndarray         # int64[nn] promo + max(1 GiB, present/16)
    toptier_wmark: np.ndarray  # int64[nn] RFC soft-limit wake level
    distances: np.ndarray      # int64[nn, nn]
    demotion: tuple            # per node: tuple of preferred demotion targets
    lower_tier: tuple          # per node: tuple of all nodes in lower tiers, by distance
    zonelists: np.ndarray      # int64[nn, nn] fallback order
    perf: tuple                # per node dict of latencies (ns) and bandwidths (MB/s)

    @property
    def nnodes(self) -> int:
        return len(self.specs)

    def tiers(self) -> dict[int, list[int]]:
        """memory_tierN -> nodelist, as /sys/devices/virtual/memory_tiering shows it."""
        out: dict[int, list[int]] = {}
        for i, t in enumerate(self.tier):
            out.setdefault(int(t), []).append(i)
        return dict(sorted(out.items()))

    def describe(self) -> str:
        lines = []
        for i, s in enumerate(self.specs):
            w = self.wmark[i]
            lines.append(
                f"node{i} {self.names[i]:<8} {int(self.pages[i]) * 4 // 1024:>9} MiB  adist {int(self.adistance[i]):>5}"
                f"  memory_tier{int(self.tier[i]):<3} {'top tier' if self.toptier[i] else 'slow    '}"
                f"  wmark min/low/high/promo {w[0]}/{w[1]}/{w[2]}/{w[3]} pages"
                f"  demotes to {list(self.demotion[i]) or '-'}")
        lines.append(f"min_free_kbytes {self.min_free_kbytes}")
        return "\n".join(lines)


def build_machine(cfg: SimConfig) -> Machine:
    """Tiers, watermarks and demotion targets for ``cfg.nodes`` (validated first)."""
    validate(cfg)
    specs = tuple(cfg.nodes)
    nn = len(specs)
    names = tuple(s.name or f"{s.kind}{i}" for i, s in enumerate(specs))
    pages = np.array([s.pages for s in specs], np.int64)
    cpus = np.array([_node_cpus(s) for s in specs], bool)
    dram = next((s.perf() for s in specs if s.kind == "dram"), None)  # default_dram_perf: the CPU nodes' DRAM
    adist = np.array([node_adistance(s, dram) for s in specs], np.int64)
    tier = adist >> MEMTIER_CHUNK_BITS
    # establish_demotion_targets(): walking tiers from the slowest, the first tier with CPUs
    tiers_sorted = sorted(set(int(t) for t in tier))
    top_adist = -1
    for t in reversed(tiers_sorted):
        if any(cpus[i] for i in range(nn) if tier[i] == t):
            top_adist = t * MEMTIER_CHUNK_SIZE + MEMTIER_CHUNK_SIZE - 1
            break
    toptier = np.array([int(t) * MEMTIER_CHUNK_SIZE <= top_adist for t in tier], bool)
    mfk, marks = zone_watermarks([int(p) for p in pages], [s.zone == "movable" for s in specs],
                                 watermark_scale_factor=cfg.policy.watermark_scale_factor,
                                 min_free_kb=cfg.policy.min_free_kbytes)
    wmark = np.array([m.as_tuple() for m in marks], np.int64).reshape(nn, 4)
    enough = np.array([free_space_enough_mark(int(p), int(w[3])) for p, w in zip(pages, wmark)], np.int64)
    ttw = np.array([toptier_wmark(int(p), cfg.policy.toptier_scale_factor) for p in pages], np.int64)
    dist = default_distances(nn) if cfg.distances is None else np.array(cfg.distances, np.int64).reshape(nn, nn)
    demotion, lower = demotion_targets(tier, dist)
    zl = np.array([zonelist(i, dist) for i in range(nn)], np.int64).reshape(nn, nn)
    return Machine(specs, names, pages, cpus, adist, tier, toptier, top_adist, mfk, wmark, enough, ttw, dist,
                   demotion, lower, zl, tuple(s.perf() for s in specs))


def demotion_targets(tier: np.ndarray, dist: np.ndarray) -> tuple[tuple, tuple]:
    """``establish_demotion_targets()``: (preferred targets per node, lower-tier fallback nodes per node)."""
    nn = len(tier)
    tiers_sorted = sorted(set(int(t) for t in tier))
    preferred, lower = [], []
    for n in range(nn):
        k = tiers_sorted.index(int(tier[n]))
        if k == len(tiers_sorted) - 1:
            preferred.append(())
            lower.append(())
            continue
        nxt = tiers_sorted[k + 1]
        cands = sorted((int(dist[n, j]), j) for j in range(nn) if tier[j] == nxt)
        best = cands[0][0]
        preferred.append(tuple(j for d, j in cands if d == best))
        lower.append(tuple(j for _, j in sorted((int(dist[n, j]), j) for j in range(nn) if tier[j] > tier[n])))
    return tuple(preferred), tuple(lower)


# ----------------------------------------------------------------------------- NUMA scanner


def task_nr_scan_windows(rss_pages: int, scan_size_mb: int) -> int:
    nr_scan_pages = scan_size_mb << (20 - PAGE_SHIFT)
    rss = rss_pages or nr_scan_pages
    return -(-rss // nr_scan_pages)


def task_scan_min(rss_pages: int, scan_size_mb: int = 256, scan_period_min_ms: int = 1000) -> int:
    """fair.c ``task_scan_min()``: ms between scan windows (never more than MAX_SCAN_WINDOW MB/s)."""
    windows = MAX_SCAN_WINDOW // scan_size_mb if scan_size_mb < MAX_SCAN_WINDOW else 1
    floor = 1000 // windows
    scan = scan_period_min_ms // task_nr_scan_windows(rss_pages, scan_size_mb)
    return max(floor, scan)


def scan_period_ms(policy, rss_pages: int = 0) -> int:
    """The first window period: ``policy.scan_period_ms`` if pinned, else the kernel's task_scan_start().

    task_tick_numa() sets ``numa_scan_period = task_scan_start(p)`` on the first tick after
    scan_delay of runtime, from the RSS the process has by then (a pass over the resident memory
    takes scan_period_min).  The simulation then follows update_task_scan_period(): in tiering mode
    every promoted page reaches task_numa_fault() as a private, non-local fault, so after each
    complete pass the period doubles, up to task_scan_max() (see :func:`lwnlab.memtier.sim.task_numa_fault`).
    """
    if policy.scan_period_ms is not None:
        return int(policy.scan_period_ms)
    return task_scan_min(rss_pages, policy.scan_size_mb, policy.scan_period_min_ms)


def task_scan_max(rss_pages: int, scan_size_mb: int = 256, scan_period_min_ms: int = 1000,
                  scan_period_max_ms: int = 60000) -> int:
    """fair.c ``task_scan_max()`` without a numa_group: max(task_scan_min, scan_period_max / windows)."""
    return max(task_scan_min(rss_pages, scan_size_mb, scan_period_min_ms),
               scan_period_max_ms // task_nr_scan_windows(rss_pages, scan_size_mb))


# ----------------------------------------------------------------------------- cost model


def loaded_latency(idle_ns: float, util: float, cap: float) -> float:
    """Colloid-style loaded latency idle/(1-util), capped at ``cap`` x idle."""
    if util >= 1.0 - 1.0 / cap:
        return idle_ns * cap
    return idle_ns / (1.0 - util)


def second_time_ns(reads: np.ndarray, writes: np.ndarray, perf: tuple, cost, *, hint_faults: int = 0,
                   migrations: int = 0, swapins: int = 0, iters: int = 40) -> float:
    """Wall time (ns) to serve one simulated second's accesses on the modelled machine.

    time = cpu + sum_nodes(reads*lat_r + writes*lat_w)/mlp + faults*hint + migrations*migrate + swapins*swapin,
    with each node's latency loaded by its utilisation (bytes/time / bandwidth), solved by fixed point,
    and never less than any node's bytes / bandwidth (the bandwidth floor).
    """
    nacc = float(reads.sum() + writes.sum())
    fixed = nacc * cost.cpu_ns_per_access + hint_faults * cost.hint_fault_ns + migrations * cost.migrate_ns \
        + swapins * cost.swapin_ns
    if nacc == 0:
        return fixed
    bpa = cost.bytes_per_access
    floor = 0.0
    for i, p in enumerate(perf):
        floor = max(floor, reads[i] * bpa / (p["read_bw_mbps"] * 1e-3) + writes[i] * bpa / (p["write_bw_mbps"] * 1e-3))
    t = max(fixed + sum((reads[i] * p["read_latency_ns"] + writes[i] * p["write_latency_ns"]) for i, p in enumerate(perf))
            / cost.mlp, floor, 1.0)
    for _ in range(iters):
        mem = 0.0
        for i, p in enumerate(perf):
            # utilisation: bytes/ns over bandwidth in bytes/ns (MB/s * 1e-3)
            ur = reads[i] * bpa / t / (p["read_bw_mbps"] * 1e-3)
            uw = writes[i] * bpa / t / (p["write_bw_mbps"] * 1e-3)
            u = ur + uw
            mem += reads[i] * loaded_latency(p["read_latency_ns"], u, cost.latency_cap) \
                + writes[i] * loaded_latency(p["write_latency_ns"], u, cost.latency_cap)
        t_new = max(fixed + mem / cost.mlp, floor)
        if abs(t_new - t) <= 1e-9 * t:
            t = t_new
            break
        t = 0.5 * (t + t_new)
    return t
