"""Parameters of the tiering simulation: frozen dataclasses whose defaults are the kernel's.

Every knob carries its kernel name (and, where the proposal the LWN article
described used another name, that one too) in its docstring.  Constants were
checked against Linux 6.12 (Debian's linux-source-6.12):

* ``kernel/sched/fair.c``: ``sysctl_numa_balancing_hot_threshold = MSEC_PER_SEC``,
  ``sysctl_numa_balancing_promote_rate_limit = 65536``, ``scan_period_min 1000``,
  ``scan_period_max 60000``, ``scan_size 256``, ``scan_delay 1000``,
  ``NUMA_MIGRATION_ADJUST_STEPS 16``, ``MAX_SCAN_WINDOW 2560``;
* ``mm/page_alloc.c``: ``watermark_scale_factor = 10``, ``min_free_kbytes``
  ``= int_sqrt(lowmem_kB * 16)`` clamped to [128, 262144];
* ``mm/memory-tiers.c`` / ``include/linux/memory-tiers.h``: ``MEMTIER_CHUNK_BITS 7``,
  ``MEMTIER_ADISTANCE_DRAM 576``, ``MEMTIER_DEFAULT_DAX_ADISTANCE 2880``;
* ``/sys/kernel/mm/numa/demotion_enabled``: default false.

Configurations come from Python or from JSON (:func:`config_from_dict`); every
problem is a :class:`~lwnlab.errors.ConfigError` naming the field.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field, fields
from typing import Any

from lwnlab.errors import ConfigError

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
MEMTIER_CHUNK_BITS = 7
MEMTIER_CHUNK_SIZE = 1 << MEMTIER_CHUNK_BITS
MEMTIER_ADISTANCE_DRAM = 4 * MEMTIER_CHUNK_SIZE + (MEMTIER_CHUNK_SIZE >> 1)  # 576
MEMTIER_DEFAULT_DAX_ADISTANCE = MEMTIER_ADISTANCE_DRAM * 5  # 2880
NUMA_MIGRATION_ADJUST_STEPS = 16
MAX_SCAN_WINDOW = 2560  # MB/s, fair.c
SWAP_CLUSTER_MAX = 32
HPAGE_PMD_NR = 512  # 2 MiB / 4 KiB: task_numa_work aligns window ends to HPAGE_SIZE

#: documented per-kind defaults of the cost model (see memory-tiers.md §7)
#: read/write idle latency in ns, read/write bandwidth in MB/s (the units of
#: struct access_coordinate, which mt_perf_to_adistance() reads)
KIND_DEFAULTS: dict[str, dict[str, float]] = {
    # local DDR4/5: ~80-100 ns (81 ns random load, Izraelevitz et al. 2019); ~100 GB/s per socket (unverified)
    "dram": {"read_latency_ns": 90.0, "write_latency_ns": 90.0, "read_bw_mbps": 100_000.0, "write_bw_mbps": 100_000.0},
    # Optane DCPMM, 6 DIMMs: 305 ns random read, 39.4 GB/s read, 13.9 GB/s write (Izraelevitz'19);
    # stores are acknowledged by the ADR domain, ~94 ns
    "pmem": {"read_latency_ns": 305.0, "write_latency_ns": 94.0, "read_bw_mbps": 39_400.0, "write_bw_mbps": 13_900.0},
    # CXL expander: ~2x DRAM latency (Pond, ASPLOS'23), about half the bandwidth (Meta/TPP)
    "cxl": {"read_latency_ns": 200.0, "write_latency_ns": 200.0, "read_bw_mbps": 50_000.0, "write_bw_mbps": 50_000.0},
}

#: most accesses one run may simulate (seconds * accesses_per_sec), so that no input makes a run take days
MAX_ACCESSES = 10**10

PATTERNS = ("uniform", "zipf", "gaussian", "pareto", "scan", "hotset")


def _doc(text: str, default=dataclasses.MISSING, default_factory=dataclasses.MISSING):
    kw = {"metadata": {"doc": text}}
    if default_factory is not dataclasses.MISSING:
        return field(default_factory=default_factory, **kw)
    return field(default=default, **kw)


@dataclass(frozen=True)
class NodeSpec:
    """One NUMA node with one zone of memory."""

    pages: int = _doc("capacity in 4 KiB pages (present == managed pages; one zone per node)")
    kind: str = _doc("'dram', 'pmem' or 'cxl': picks the cost-model defaults and the default abstract distance", "dram")
    name: str = _doc("label for plots; default '<kind><id>'", "")
    cpus: bool | None = _doc("node has CPUs (N_CPU); default: True for DRAM, False otherwise", None)
    adistance: int | None = _doc(
        "abstract distance; default: 576 (MEMTIER_ADISTANCE_DRAM) for DRAM, 2880 "
        "(MEMTIER_DEFAULT_DAX_ADISTANCE, dax/kmem) for slow memory, or mt_perf_to_adistance() when hmat=True", None)
    hmat: bool = _doc("derive the abstract distance from latency/bandwidth like mt_perf_to_adistance() (6.7, HMAT/CDAT)", False)
    zone: str = _doc("'normal' or 'movable' (dax/kmem memory is often onlined movable); matters for min watermarks", "normal")
    read_latency_ns: float | None = _doc("idle read latency (ns); default per kind", None)
    write_latency_ns: float | None = _doc("idle write latency (ns); default per kind", None)
    read_bw_mbps: float | None = _doc("read bandwidth (MB/s); default per kind", None)
    write_bw_mbps: float | None = _doc("write bandwidth (MB/s); default per kind", None)

    def perf(self) -> dict[str, float]:
        base = KIND_DEFAULTS[self.kind]
        return {k: float(getattr(self, k) if getattr(self, k) is not None else base[k]) for k in base}


@dataclass(frozen=True)
class CgroupSpec:
    """A cgroup running one process: its address space, access pattern and (RFC) top-tier soft limit."""

    pages: int = _doc("size of the process's address space in 4 KiB pages (pmbench 'mapsize')")
    pattern: str = _doc("uniform | zipf | gaussian (pmbench 'normal') | pareto | scan | hotset", "uniform")
    shape: float = _doc(
        "zipf: exponent s (YCSB 0.99); gaussian: sigma as a fraction of pages; pareto: alpha (1.161 ~ 80/20); "
        "scan: stride in pages; hotset: fraction of pages that are hot", 0.0)
    hot_share: float = _doc("hotset: fraction of accesses that go to the hot set (the rest uniform)", 0.9)
    read_ratio: float = _doc("fraction of accesses that are reads (pmbench 80:20 -> 0.8)", 0.8)
    weight: float = _doc("share of all accesses issued by this cgroup (relative)", 1.0)
    phase_ms: int = _doc("rotate the hot region every phase_ms milliseconds (0: never)", 0)
    phase_shift: float = _doc("how far each phase change moves the hot region, as a fraction of pages", 0.5)
    scramble: bool | None = _doc("map popularity ranks to pages by a fixed permutation; default: zipf/pareto/uniform yes", None)
    prefault: bool = _doc("touch every page in address order at start (pmbench does); else first touch on first access", True)
    cpu_node: int = _doc("node whose CPUs run the process (allocation preference, promotion target)", 0)
    soft_limit_pages: int | None = _doc(
        "RFC (Tim Chen, 2021; never merged): memory.toptier_soft_limit_in_bytes, in pages; None = unlimited", None)
    name: str = _doc("label for plots; default 'cg<index>'", "")


@dataclass(frozen=True)
class Policy:
    """Kernel tunables.  Defaults are Linux 6.12's."""

    numa_balancing: int = _doc(
        "sysctl kernel.numa_balancing: 0 off, 2 NUMA_BALANCING_MEMORY_TIERING (5.18), 3 normal+tiering. "
        "(Mode 1, normal balancing between CPU nodes, is not modelled.)  The kernel's default is 1 on NUMA machines; "
        "tiering needs 2 or 3", 2)
    demotion_enabled: bool = _doc(
        "/sys/kernel/mm/numa/demotion_enabled (5.15, default false). RFC: vm.zone_reclaim_mode bit 8 RECLAIM_MIGRATE", False)
    promotion: str = _doc("'hot' = 6.1 hot-page selection by hint-fault latency; 'mru' = 5.18 promote on every hint fault", "hot")
    hot_threshold_ms: int = _doc(
        "debugfs sched/numa_balancing/hot_threshold_ms (6.1, default 1000). RFC: sysctl kernel.numa_balancing_hot_threshold_ms", 1000)
    promote_rate_limit_mbps: int = _doc(
        "sysctl kernel.numa_balancing_promote_rate_limit_MBps (6.1, default 65536 = effectively off). "
        "RFC: numa_balancing_rate_limit_mbps", 65536)
    auto_adjust: bool = _doc(
        "numa_promotion_adjust_threshold() (6.1; always on in the kernel). False reproduces the series' "
        "intermediate step 'hot selection + rate limit' without it", True)
    free_space_bypass: bool = _doc("pgdat_free_space_enough(): promote unconditionally while the fast node has "
                                   "free > promo + max(1 GiB, present/16) (always on in the kernel)", True)
    scan_delay_ms: int = _doc("debugfs numa_balancing/scan_delay_ms (1000)", 1000)
    scan_period_min_ms: int = _doc("debugfs numa_balancing/scan_period_min_ms (1000)", 1000)
    scan_period_max_ms: int = _doc("debugfs numa_balancing/scan_period_max_ms (60000); also the adjuster's period", 60000)
    scan_size_mb: int = _doc("debugfs numa_balancing/scan_size_mb (256)", 256)
    scan_period_ms: int | None = _doc(
        "None = the kernel's scan period: task_scan_start() from the RSS at the first tick after scan_delay "
        "(max(1000 / (MAX_SCAN_WINDOW / scan_size), scan_period_min / windows)), then update_task_scan_period() "
        "after each complete pass (tiering: promoted pages are non-local faults, so it doubles up to "
        "task_scan_max() = max(that, scan_period_max / windows)).  A number pins the time between windows "
        "(model only: the kernel has no such knob)", None)
    watermark_scale_factor: int = _doc("sysctl vm.watermark_scale_factor (10 = 0.1%)", 10)
    min_free_kbytes: int | None = _doc("sysctl vm.min_free_kbytes; None = int_sqrt(lowmem_kB*16) clamped to [128, 262144]", None)
    hz: int = _doc("CONFIG_HZ (Debian: 250): jiffies_to_msecs() resolution of the access-time stamps", 250)
    access_time_bits: int = _doc("LAST_CPUPID_SHIFT = 8 + NR_CPUS_BITS (Debian x86_64: 8 + 13 = 21; at least 12): "
                                 "PAGE_ACCESS_TIME_MASK width", 21)
    tpp_active_check: bool = _doc("TPP (Meta, 2021; not merged): promote only folios on the active LRU, else mark accessed", False)
    toptier_scale_factor: int = _doc(
        "RFC (never merged): sysctl vm.toptier_scale_factor (default 2000 = 20%): kswapd wakes when top-tier "
        "free falls below this share and reclaims from cgroups over their toptier soft limit, biggest excess first", 2000)
    soft_limit: bool = _doc("RFC: enforce the cgroups' soft_limit_pages (memory.toptier_soft_limit_in_bytes)", True)
    swap: bool = _doc("reclaim that cannot demote swaps out (else it fails and rotates the page)", True)
    kswapd_pages_per_ms: int = _doc("model: pages kswapd can scan per millisecond per node (~1 GB/s of 4 KiB pages)", 256)


@dataclass(frozen=True)
class CostModel:
    """What an access, a hint fault, a migration and a swap-in cost (see memory-tiers.md §7)."""

    bytes_per_access: int = _doc("bytes moved per access (one cache line)", 64)
    mlp: float = _doc("memory-level parallelism: accesses in flight (pmbench-style dependent loads: 1)", 1.0)
    cpu_ns_per_access: float = _doc("compute time per access besides memory", 5.0)
    hint_fault_ns: float = _doc("cost of one NUMA hint fault (~1 us, unverified)", 1000.0)
    migrate_ns: float = _doc("cost of migrating one 4 KiB page (published ~1-5 us; 2 us)", 2000.0)
    swapin_ns: float = _doc("cost of a major fault from swap (fast SSD/zswap ~20 us)", 20000.0)
    latency_cap: float = _doc("loaded latency idle/(1-util) is capped at this multiple of idle", 10.0)


@dataclass(frozen=True)
class SimConfig:
    """A whole experiment: machine, processes, policy, cost model and run length."""

    nodes: tuple = _doc("NodeSpec per NUMA node", default_factory=lambda: (NodeSpec(pages=1 << 16, kind="dram"),
                                                                          NodeSpec(pages=1 << 18, kind="pmem")))
    cgroups: tuple = _doc("CgroupSpec per cgroup/process", default_factory=lambda: (CgroupSpec(pages=1 << 18),))
    policy: Policy = _doc("kernel tunables", default_factory=Policy)
    cost: CostModel = _doc("cost model", default_factory=CostModel)
    seconds: int = _doc("simulated seconds", 10)
    accesses_per_sec: int = _doc("accesses issued per simulated second (all cgroups together; a multiple of 1000)", 1_000_000)
    seed: int = _doc("random seed: same seed, same run", 1)
    distances: tuple | None = _doc("SLIT node distance matrix; default 10 local, 20 remote", None)

    def replace(self, **kw) -> "SimConfig":
        return dataclasses.replace(self, **kw)

    def with_policy(self, **kw) -> "SimConfig":
        return with_policy(self, **kw)

    def to_dict(self) -> dict:
        return to_dict(self)


# ----------------------------------------------------------------------------- validation


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) or (hasattr(v, "dtype") and v.dtype.kind in "iu")


def _is_num(v) -> bool:
    return (_is_int(v) or isinstance(v, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def _need_int(where: str, v, lo=None, hi=None):
    if not _is_int(v):
        raise ConfigError(f"expected an integer, got {v!r}", field=where)
    if lo is not None and v < lo:
        raise ConfigError(f"must be >= {lo}, got {v}", field=where)
    if hi is not None and v > hi:
        raise ConfigError(f"must be <= {hi}, got {v}", field=where)


def _need_num(where: str, v, lo=None, hi=None, lo_open=False):
    if not _is_num(v):
        raise ConfigError(f"expected a finite number, got {v!r}", field=where)
    if lo is not None and (v <= lo if lo_open else v < lo):
        raise ConfigError(f"must be {'>' if lo_open else '>='} {lo}, got {v}", field=where)
    if hi is not None and v > hi:
        raise ConfigError(f"must be <= {hi}, got {v}", field=where)


def _need_bool(where: str, v):
    if not isinstance(v, bool):
        raise ConfigError(f"expected true or false, got {v!r}", field=where)


def validate(cfg: SimConfig) -> SimConfig:
    """Check every field; raise ConfigError naming the first bad one.  Returns ``cfg``."""
    if not isinstance(cfg, SimConfig):
        raise ConfigError(f"expected a SimConfig (see lwnlab.memtier.presets), got {type(cfg).__name__}")
    if not isinstance(cfg.nodes, (tuple, list)) or not cfg.nodes:
        raise ConfigError("at least one node is needed", field="nodes")
    nn = len(cfg.nodes)
    if nn > 64:
        raise ConfigError(f"at most 64 nodes are modelled, got {nn}", field="nodes")
    for i, n in enumerate(cfg.nodes):
        w = f"nodes[{i}]"
        if not isinstance(n, NodeSpec):
            raise ConfigError("expected a node description", field=w)
        _need_int(f"{w}.pages", n.pages)
        if n.pages <= 0:
            raise ConfigError(f"a node (and so its memory tier) must have memory: pages must be > 0, got {n.pages}",
                              field=f"{w}.pages")
        if n.pages > (1 << 31) - 1:
            raise ConfigError("at most 2**31-1 pages per node", field=f"{w}.pages")
        if not isinstance(n.kind, str) or n.kind not in KIND_DEFAULTS:
            raise ConfigError(f"unknown kind {n.kind!r} (known: {', '.join(KIND_DEFAULTS)})", field=f"{w}.kind")
        if n.zone not in ("normal", "movable"):
            raise ConfigError(f"zone must be 'normal' or 'movable', got {n.zone!r}", field=f"{w}.zone")
        if n.cpus is not None:
            _need_bool(f"{w}.cpus", n.cpus)
        _need_bool(f"{w}.hmat", n.hmat)
        if n.adistance is not None:
            _need_int(f"{w}.adistance", n.adistance, 0, 1 << 20)
        for k in ("read_latency_ns", "write_latency_ns", "read_bw_mbps", "write_bw_mbps"):
            v = getattr(n, k)
            if v is not None:
                _need_num(f"{w}.{k}", v, 0, lo_open=True)
        if not isinstance(n.name, str):
            raise ConfigError("expected a string", field=f"{w}.name")
    if not any(_node_cpus(n) for n in cfg.nodes):
        raise ConfigError("no node has CPUs (set cpus: true on a node)", field="nodes")
    if not isinstance(cfg.cgroups, (tuple, list)) or not cfg.cgroups:
        raise ConfigError("at least one cgroup is needed", field="cgroups")
    if len(cfg.cgroups) > 32:
        raise ConfigError(f"at most 32 cgroups are modelled, got {len(cfg.cgroups)}", field="cgroups")
    total = 0
    for i, c in enumerate(cfg.cgroups):
        w = f"cgroups[{i}]"
        if not isinstance(c, CgroupSpec):
            raise ConfigError("expected a cgroup description", field=w)
        _need_int(f"{w}.pages", c.pages)
        if c.pages <= 0:
            raise ConfigError(f"pages must be > 0, got {c.pages}", field=f"{w}.pages")
        total += c.pages
        if not isinstance(c.pattern, str) or c.pattern not in PATTERNS:
            raise ConfigError(f"unknown pattern {c.pattern!r} (known: {', '.join(PATTERNS)})", field=f"{w}.pattern")
        _need_num(f"{w}.shape", c.shape, 0)
        if c.pattern == "zipf" and not (0 < c.shape <= 100):
            # beyond s = 100 every draw is rank 1 anyway, and the sampler's constants lose all precision
            raise ConfigError(f"zipf needs an exponent shape in (0, 100] (YCSB: 0.99), got {c.shape}",
                              field=f"{w}.shape")
        if c.pattern == "pareto" and c.shape <= 0:
            raise ConfigError("pareto needs alpha shape > 0 (80/20: 1.161)", field=f"{w}.shape")
        if c.pattern == "gaussian" and not (0 < c.shape <= 10):
            # samples outside the address space are redrawn: a sigma of many address spaces would never finish
            raise ConfigError(f"gaussian needs sigma shape in (0, 10] (a fraction of pages), got {c.shape}",
                              field=f"{w}.shape")
        if c.pattern == "scan" and c.shape >= 1 << 31:
            raise ConfigError(f"scan stride shape must be < 2**31 pages, got {c.shape}", field=f"{w}.shape")
        if c.pattern == "hotset" and not (0 < c.shape <= 1):
            raise ConfigError("hotset needs shape in (0, 1]: the hot fraction of pages", field=f"{w}.shape")
        _need_num(f"{w}.hot_share", c.hot_share, 0, 1)
        _need_num(f"{w}.read_ratio", c.read_ratio, 0, 1)
        _need_num(f"{w}.weight", c.weight, 0, lo_open=True)
        _need_int(f"{w}.phase_ms", c.phase_ms, 0, 1 << 40)
        _need_num(f"{w}.phase_shift", c.phase_shift, 0, 1)
        if c.scramble is not None:
            _need_bool(f"{w}.scramble", c.scramble)
        _need_bool(f"{w}.prefault", c.prefault)
        _need_int(f"{w}.cpu_node", c.cpu_node, 0, nn - 1)
        if not _node_cpus(cfg.nodes[c.cpu_node]):
            raise ConfigError(f"node {c.cpu_node} has no CPUs", field=f"{w}.cpu_node")
        if c.soft_limit_pages is not None:
            _need_int(f"{w}.soft_limit_pages", c.soft_limit_pages, 0, 1 << 40)
        if not isinstance(c.name, str):
            raise ConfigError("expected a string", field=f"{w}.name")
    if total > (1 << 31) - 1:
        raise ConfigError("at most 2**31-1 pages in all cgroups together", field="cgroups")
    # names label the series (JSON keys): two alike would silently merge
    for what, items, default in (("nodes", cfg.nodes, lambda i, x: f"{x.kind}{i}"),
                                 ("cgroups", cfg.cgroups, lambda i, x: f"cg{i}")):
        seen: dict[str, int] = {}
        for i, x in enumerate(items):
            name = x.name or default(i, x)
            if name in seen:
                raise ConfigError(f"name {name!r} is already used by {what}[{seen[name]}]", field=f"{what}[{i}].name")
            seen[name] = i
    p = cfg.policy
    if not isinstance(p, Policy):
        raise ConfigError("expected a policy", field="policy")
    if p.numa_balancing not in (0, 2, 3) or not _is_int(p.numa_balancing):
        raise ConfigError(f"must be 0, 2 (tiering) or 3 (normal+tiering); mode 1 is not modelled, got {p.numa_balancing!r}",
                          field="policy.numa_balancing")
    _need_bool("policy.demotion_enabled", p.demotion_enabled)
    if p.promotion not in ("hot", "mru"):
        raise ConfigError(f"must be 'hot' (6.1) or 'mru' (5.18), got {p.promotion!r}", field="policy.promotion")
    _need_int("policy.hot_threshold_ms", p.hot_threshold_ms, 0, (1 << 31) - 1)
    # proc_dointvec_minmax(), extra1 SYSCTL_ZERO: 0..INT_MAX
    _need_int("policy.promote_rate_limit_mbps", p.promote_rate_limit_mbps, 0, (1 << 31) - 1)
    for k in ("auto_adjust", "free_space_bypass", "tpp_active_check", "soft_limit", "swap"):
        _need_bool(f"policy.{k}", getattr(p, k))
    _need_int("policy.scan_delay_ms", p.scan_delay_ms, 0, 1 << 30)
    _need_int("policy.scan_period_min_ms", p.scan_period_min_ms, 1, 1 << 30)
    _need_int("policy.scan_period_max_ms", p.scan_period_max_ms, 1, 1 << 30)
    _need_int("policy.scan_size_mb", p.scan_size_mb, 1, 1 << 20)
    if p.scan_period_ms is not None:
        _need_int("policy.scan_period_ms", p.scan_period_ms, 1, 1 << 30)
    _need_int("policy.watermark_scale_factor", p.watermark_scale_factor, 1, 3000)  # sysctl bounds
    if p.min_free_kbytes is not None:
        _need_int("policy.min_free_kbytes", p.min_free_kbytes, 0, (1 << 31) - 1)  # proc_dointvec_minmax
    if p.hz not in (100, 250, 300, 1000) or not _is_int(p.hz):
        raise ConfigError(f"CONFIG_HZ must be 100, 250, 300 or 1000, got {p.hz!r}", field="policy.hz")
    _need_int("policy.access_time_bits", p.access_time_bits, 12, 31)
    _need_int("policy.toptier_scale_factor", p.toptier_scale_factor, 0, 10000)
    _need_int("policy.kswapd_pages_per_ms", p.kswapd_pages_per_ms, 1, 1 << 30)
    c = cfg.cost
    if not isinstance(c, CostModel):
        raise ConfigError("expected a cost model", field="cost")
    _need_int("cost.bytes_per_access", c.bytes_per_access, 1, 1 << 20)
    _need_num("cost.mlp", c.mlp, 0, lo_open=True)
    for k in ("cpu_ns_per_access", "hint_fault_ns", "migrate_ns", "swapin_ns"):
        _need_num(f"cost.{k}", getattr(c, k), 0)
    _need_num("cost.latency_cap", c.latency_cap, 1)
    _need_int("seconds", cfg.seconds, 1, 100_000)
    _need_int("accesses_per_sec", cfg.accesses_per_sec, 1000, 10**10)
    if cfg.accesses_per_sec % 1000:
        raise ConfigError(f"must be a multiple of 1000 (the simulation ticks every millisecond), got {cfg.accesses_per_sec}",
                          field="accesses_per_sec")
    if cfg.seconds * cfg.accesses_per_sec > MAX_ACCESSES:
        raise ConfigError(f"seconds * accesses_per_sec = {cfg.seconds * cfg.accesses_per_sec:.3g} accesses: at most "
                          f"{MAX_ACCESSES:.0e} per run (minutes of CPU time at 20-50 M accesses/s)",
                          field="seconds")
    _need_int("seed", cfg.seed, 0, (1 << 63) - 1)
    if cfg.distances is not None:
        d = cfg.distances
        if not isinstance(d, (tuple, list)) or len(d) != nn or any(not isinstance(r, (tuple, list)) or len(r) != nn for r in d):
            raise ConfigError(f"must be a {nn}x{nn} matrix", field="distances")
        for i in range(nn):
            for j in range(nn):
                _need_int(f"distances[{i}][{j}]", d[i][j], 1, 255)
                # drivers/acpi/numa/srat.c slit_valid(): LOCAL_DISTANCE (10) on the diagonal, more elsewhere
                if i == j and d[i][j] != 10:
                    raise ConfigError(f"a node's distance to itself is LOCAL_DISTANCE (10), got {d[i][j]}",
                                      field=f"distances[{i}][{j}]")
                if i != j and d[i][j] <= 10:
                    raise ConfigError(f"a remote distance must be > LOCAL_DISTANCE (10), got {d[i][j]}",
                                      field=f"distances[{i}][{j}]")
    return cfg


def with_policy(cfg: SimConfig, **override) -> SimConfig:
    """``cfg`` with policy fields replaced; an unknown field is a ConfigError naming it."""
    if not isinstance(cfg, SimConfig):
        raise ConfigError(f"expected a SimConfig (see lwnlab.memtier.presets), got {type(cfg).__name__}")
    names = {f.name for f in fields(Policy)}
    for k in override:
        if k not in names:
            near = _near(k, names)
            raise ConfigError(f"unknown policy knob {k!r}" + (f" (did you mean {near!r}?)" if near else ""),
                              field=f"policy.{k}")
    return dataclasses.replace(cfg, policy=dataclasses.replace(cfg.policy, **override)) if override else cfg


def _node_cpus(n: NodeSpec) -> bool:
    return (n.kind == "dram") if n.cpus is None else bool(n.cpus)


# ----------------------------------------------------------------------------- dict / JSON


_SECTIONS = {"policy": Policy, "cost": CostModel}


def _build(cls, data: Any, where: str):
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise ConfigError(f"expected an object with the fields of {cls.__name__}, got {type(data).__name__}",
                          field=where or None)
    names = {f.name for f in fields(cls)}
    for k in data:
        if k not in names:
            near = _near(k, names)
            raise ConfigError(f"unknown key {k!r}" + (f" (did you mean {near!r}?)" if near else ""),
                              field=f"{where}.{k}" if where else k)
    required = [f.name for f in fields(cls) if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    for r in required:
        if r not in data:
            raise ConfigError("missing required key", field=f"{where}.{r}" if where else r)
    return cls(**data)


def _near(k: str, names) -> str | None:
    import difflib

    m = difflib.get_close_matches(k, list(names), n=1)
    return m[0] if m else None


def config_from_dict(data: dict, *, base: SimConfig | None = None) -> SimConfig:
    """Build and validate a SimConfig from plain data (e.g. parsed JSON).

    Sections ``policy`` and ``cost`` may be partial (they override ``base``'s);
    ``nodes`` and ``cgroups`` replace the base lists.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"a configuration is a JSON object, got {type(data).__name__}")
    base = base or SimConfig()
    names = {f.name for f in fields(SimConfig)}
    kw: dict[str, Any] = {}
    for k, v in data.items():
        if k not in names:
            near = _near(k, names)
            raise ConfigError(f"unknown key {k!r}" + (f" (did you mean {near!r}?)" if near else ""), field=k)
        if k == "nodes":
            if not isinstance(v, list) or not v:
                raise ConfigError("expected a non-empty list of nodes", field="nodes")
            kw[k] = tuple(_build(NodeSpec, x, f"nodes[{i}]") for i, x in enumerate(v))
        elif k == "cgroups":
            if not isinstance(v, list) or not v:
                raise ConfigError("expected a non-empty list of cgroups", field="cgroups")
            kw[k] = tuple(_build(CgroupSpec, x, f"cgroups[{i}]") for i, x in enumerate(v))
        elif k in _SECTIONS:
            cls = _SECTIONS[k]
            if not isinstance(v, dict):
                raise ConfigError(f"expected an object, got {type(v).__name__}", field=k)
            _build(cls, {**{f.name: getattr(getattr(base, k), f.name) for f in fields(cls)}, **v}, k)
            kw[k] = dataclasses.replace(getattr(base, k), **v)
        elif k == "distances":
            if v is not None and not isinstance(v, list):
                raise ConfigError(f"expected a list of rows (an NxN matrix) or null, got {type(v).__name__}",
                                  field="distances")
            kw[k] = None if v is None else tuple(tuple(r) if isinstance(r, list) else r for r in v)
        else:
            kw[k] = v
    try:
        cfg = dataclasses.replace(base, **kw)
    except TypeError as e:  # pragma: no cover - guarded above
        raise ConfigError(str(e)) from None
    return validate(cfg)


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ConfigError(f"key {k!r} is given twice", field=k)
        out[k] = v
    return out


def load_config(path: str) -> SimConfig:
    """Read a configuration file: JSON, or TOML when the name ends in ``.toml`` (see :func:`config_from_dict`)."""
    from lwnlab.errors import SourceError

    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise SourceError(f"not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}): a configuration is "
                          "a JSON (or .toml) file", file=path, line=line) from None
    try:
        if str(path).endswith(".toml"):
            import re
            import tomllib

            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as e:
                m = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
                raise SourceError(f"not valid TOML: {str(e)}", file=path, line=int(m.group(1)) if m else None,
                                  column=int(m.group(2)) if m else None) from None
        else:
            try:
                data = json.loads(text, object_pairs_hook=_no_duplicates)
            except json.JSONDecodeError as e:
                raise SourceError(f"not valid JSON: {e.msg}", file=path, line=e.lineno, column=e.colno) from None
        return config_from_dict(data)
    except ConfigError as e:
        raise ConfigError(e.message, file=path, field=e.field) from None


def to_dict(obj) -> Any:
    """Plain-data form of a config (round-trips through :func:`config_from_dict`)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, (tuple, list)):
        return [to_dict(x) for x in obj]
    return obj


#: Every tunable of the model with the interface Linux merged and the name the proposals used
#: (field, merged interface or "never merged", proposal's name, where it came from).
KNOBS: tuple[tuple[str, str, str, str], ...] = (
    ("policy.numa_balancing", "sysctl kernel.numa_balancing = 2 (NUMA_BALANCING_MEMORY_TIERING), 5.18",
     "same sysctl; reviewers asked for one central tiering switch or a tristate", "Huang Ying, tiering v13"),
    ("policy.demotion_enabled", "/sys/kernel/mm/numa/demotion_enabled (default false), 5.15",
     "vm.zone_reclaim_mode bit 8 (RECLAIM_MIGRATE)", "Dave Hansen, migrate in lieu of discard"),
    ("policy.hot_threshold_ms", "debugfs sched/numa_balancing/hot_threshold_ms (1000), 6.1",
     "sysctl kernel.numa_balancing_hot_threshold_ms", "Huang Ying, hot page selection"),
    ("policy.promote_rate_limit_mbps", "sysctl kernel.numa_balancing_promote_rate_limit_MBps (65536), 6.1",
     "numa_balancing_rate_limit_mbps", "Huang Ying, rate limit"),
    ("policy.auto_adjust", "numa_promotion_adjust_threshold(), always on, 6.1", "-", "Huang Ying, auto-adjust"),
    ("policy.watermark_scale_factor", "sysctl vm.watermark_scale_factor (10); WMARK_PROMO = high + tmp, 5.18",
     "v11: promo = high + max(10 MB, high/4); TPP: vm.demote_scale_factor", "Johannes Weiner's review"),
    ("cgroups[i].soft_limit_pages", "never merged",
     "memory.toptier_soft_limit_in_bytes (later sketch: memory_toptier.{max,high,min})", "Tim Chen's RFC, 2021"),
    ("Result.toptier_pages()", "never merged (memory.numa_stat shows per-node usage)",
     "memory.toptier_usage_in_bytes", "Tim Chen's RFC, 2021"),
    ("policy.toptier_scale_factor", "never merged", "sysctl vm.toptier_scale_factor (2000 = 20%)",
     "Tim Chen's RFC, 2021"),
    ("policy.soft_limit", "never merged", "(enforcing the limits above in kswapd)", "Tim Chen's RFC, 2021"),
    ("policy.tpp_active_check", "never merged as a knob", "promote only folios on the active LRU",
     "TPP (Meta), 2021"),
    ("(no field)", "memory.reclaim nodes= in v6.1, reverted for 6.2 and in 6.1.y stable; no memory.demote",
     "memory.demote / demote= (Google)", "Mina Almasry; Yosry Ahmed, Wei Xu"),
)


def knob_table() -> str:
    """:data:`KNOBS` as a plain-text table: model field, merged interface, proposal's name, origin."""
    heads = ("model", "merged in Linux", "proposal's name", "from")
    w = [max(len(h), *(len(r[i]) for r in KNOBS)) for i, h in enumerate(heads)]
    lines = ["  ".join(h.ljust(w[i]) for i, h in enumerate(heads)).rstrip()]
    lines += ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip() for r in KNOBS]
    return "\n".join(lines)


def describe(cls) -> list[tuple[str, Any, str]]:
    """(name, default, doc) for every field of a parameter class: the knob table of the notebook."""
    out = []
    for f in fields(cls):
        d = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        out.append((f.name, d, f.metadata.get("doc", "")))
    return out
