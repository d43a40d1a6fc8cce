"""lwnlab.memtier against the real kernel: the live machine's watermarks, and Linux 6.12's sources.

* ``/proc/zoneinfo`` prints every zone's min/low/high/promo watermarks (plus boost) and managed
  pages; :func:`lwnlab.memtier.machine.zone_watermarks` must recompute them exactly from
  ``/proc/sys/vm/min_free_kbytes`` and ``watermark_scale_factor``;
* ``/sys/devices/virtual/memory_tiering``: plain DRAM nodes sit in memory_tier4 (adistance 576);
* the kernel sources (``$LWNLAB_KERNEL_SRC``, or the tree ``lwnlab printk fetch --version 6.12``
  unpacks) must still contain the constants and expressions the simulation ports.

Each check skips with its reason when the machine lacks the file.
"""

import os
import re
from pathlib import Path

import pytest

from lwnlab.memtier import machine as M
from lwnlab.memtier.params import (MAX_SCAN_WINDOW, MEMTIER_ADISTANCE_DRAM, MEMTIER_CHUNK_BITS,
                                   MEMTIER_DEFAULT_DAX_ADISTANCE, NUMA_MIGRATION_ADJUST_STEPS, NodeSpec, Policy,
                                   SimConfig)


def _zoneinfo():
    try:
        text = Path("/proc/zoneinfo").read_text()
    except OSError:
        pytest.skip("no /proc/zoneinfo here")
    zones = []
    for block in re.split(r"(?m)^Node ", text)[1:]:
        head = block.splitlines()[0]
        node, zone = re.match(r"(\d+), zone\s+(\S+)", head).groups()
        vals = {}
        for key in ("boost", "min", "low", "high", "promo", "managed"):
            m = re.search(rf"(?m)^\s+{key}\s+(\d+)$", block)
            if m:
                vals[key] = int(m.group(1))
        free = re.search(r"pages free\s+(\d+)", block)
        if free is None or "managed" not in vals:
            continue
        zones.append((int(node), zone, vals))
    if not zones:
        pytest.skip("/proc/zoneinfo has no zones with watermarks")
    return zones


def test_live_zone_watermarks_match_setup_per_zone_wmarks():
    zones = _zoneinfo()
    mfk = int(Path("/proc/sys/vm/min_free_kbytes").read_text())
    wsf = int(Path("/proc/sys/vm/watermark_scale_factor").read_text())
    managed = [v["managed"] for _, _, v in zones]
    special = [z in ("HighMem", "Movable") for _, z, _ in zones]   # is_highmem() || ZONE_MOVABLE
    _, marks = M.zone_watermarks(managed, special, watermark_scale_factor=wsf, min_free_kb=mfk)
    for (node, zone, v), w in zip(zones, marks):
        boost = v.get("boost", 0)
        live = [v["min"] - boost, v["low"] - boost, v["high"] - boost]
        ours = [w.min, w.low, w.high]
        if "promo" in v:
            live.append(v["promo"] - boost)
            ours.append(w.promo)
        assert live == ours, f"node {node} zone {zone}: live {live} vs computed {ours} (managed {v['managed']})"


def test_live_memory_tiers_put_dram_in_tier4():
    base = Path("/sys/devices/virtual/memory_tiering")
    if not base.is_dir():
        pytest.skip("no /sys/devices/virtual/memory_tiering (kernel < 6.1 or CONFIG_NUMA off)")
    has_cpu = Path("/sys/devices/system/node/has_cpu")
    if not has_cpu.exists():
        pytest.skip("no /sys/devices/system/node/has_cpu")
    tiers = {p.name: p.joinpath("nodelist").read_text().strip() for p in base.glob("memory_tier*")}
    m = M.build_machine(SimConfig(nodes=(NodeSpec(pages=4096),)))
    assert int(m.tier[0]) == 4
    cpu_nodes = has_cpu.read_text().strip()
    assert f"memory_tier{int(m.tier[0])}" in tiers, tiers
    if cpu_nodes == tiers["memory_tier4"]:
        return
    pytest.skip(f"CPU nodes {cpu_nodes} vs memory_tier4 {tiers['memory_tier4']}: this machine's DRAM has HMAT data")


def _source_tree() -> Path:
    env = os.environ.get("LWNLAB_KERNEL_SRC")
    if env and Path(env, "kernel/sched/fair.c").is_file():
        return Path(env)
    try:
        from lwnlab.printk.sources import find_tree

        t = find_tree("6.12", need="kernel/sched/fair.c")
        if t is not None and t.has("mm/memory-tiers.c") and t.has("mm/page_alloc.c"):
            return t.path
    except ImportError:
        pass
    pytest.skip("no Linux 6.12 source: set LWNLAB_KERNEL_SRC, or run: lwnlab printk fetch --version 6.12 "
                "--subsystem kernel/sched --subsystem mm --subsystem include/linux --subsystem drivers/dax")


def _read(tree: Path, rel: str) -> str:
    p = tree / rel
    if not p.is_file():
        pytest.skip(f"{rel} is not in {tree}")
    return p.read_text(errors="replace")


def _squash(s: str) -> str:
    return re.sub(r"\s+", " ", s)


def test_kernel_source_constants():
    tree = _source_tree()
    fair = _read(tree, "kernel/sched/fair.c")
    p = Policy()
    assert int(re.search(r"sysctl_numa_balancing_promote_rate_limit = (\d+);", fair).group(1)) == \
        p.promote_rate_limit_mbps
    assert re.search(r"sysctl_numa_balancing_hot_threshold = MSEC_PER_SEC;", fair) and p.hot_threshold_ms == 1000
    for name, val in (("scan_period_min", p.scan_period_min_ms), ("scan_period_max", p.scan_period_max_ms),
                      ("scan_size", p.scan_size_mb), ("scan_delay", p.scan_delay_ms)):
        assert int(re.search(rf"sysctl_numa_balancing_{name} = (\d+);", fair).group(1)) == val, name
    assert int(re.search(r"#define NUMA_MIGRATION_ADJUST_STEPS\s+(\d+)", fair).group(1)) == NUMA_MIGRATION_ADJUST_STEPS
    assert int(re.search(r"#define MAX_SCAN_WINDOW (\d+)", fair).group(1)) == MAX_SCAN_WINDOW
    h = _read(tree, "include/linux/memory-tiers.h")
    assert int(re.search(r"#define MEMTIER_CHUNK_BITS\s+(\d+)", h).group(1)) == MEMTIER_CHUNK_BITS
    assert "((4L * MEMTIER_CHUNK_SIZE) + (MEMTIER_CHUNK_SIZE >> 1))" in h and MEMTIER_ADISTANCE_DRAM == 576
    kmem = _read(tree, "drivers/dax/kmem.c")
    assert "(MEMTIER_ADISTANCE_DRAM * 5)" in kmem and MEMTIER_DEFAULT_DAX_ADISTANCE == 2880
    pa = _read(tree, "mm/page_alloc.c")
    assert int(re.search(r"watermark_scale_factor = (\d+);", pa).group(1)) == p.watermark_scale_factor
    assert "int_sqrt(lowmem_kbytes * 16)" in pa and "clamp(new_min_free_kbytes, 128, 262144)" in pa


def test_kernel_source_algorithms_are_the_ported_ones():
    tree = _source_tree()
    fair = _squash(_read(tree, "kernel/sched/fair.c"))
    for frag in ("ref_cand = rate_limit * sysctl_numa_balancing_scan_period_max / MSEC_PER_SEC;",
                 "unit_th = ref_th * 2 / NUMA_MIGRATION_ADJUST_STEPS;",
                 "th = pgdat->nbp_threshold ? : ref_th;",
                 "if (diff_cand > ref_cand * 11 / 10) th = max(th - unit_th, unit_th);",
                 "else if (diff_cand < ref_cand * 9 / 10) th = min(th + unit_th, ref_th * 2);",
                 "if (now - start > MSEC_PER_SEC &&",
                 "if (nr_cand - pgdat->nbp_rl_nr_cand >= rate_limit) return true;",
                 "enough_wmark = max(1UL * 1024 * 1024 * 1024 >> PAGE_SHIFT, pgdat->node_present_pages >> 4);",
                 "promo_wmark_pages(zone) + enough_wmark,",
                 "pgdat->nbp_threshold = 0; return true;",
                 "rate_limit = sysctl_numa_balancing_promote_rate_limit << \\ (20 - PAGE_SHIFT);",
                 "if (latency >= th) return false;",
                 "return (time - last_time) & PAGE_ACCESS_TIME_MASK;"):
        assert frag in fair, frag
    pa = _squash(_read(tree, "mm/page_alloc.c"))
    for frag in ("tmp = max_t(u64, tmp >> 2, mult_frac(zone_managed_pages(zone), watermark_scale_factor, 10000));",
                 "zone->_watermark[WMARK_PROMO] = high_wmark_pages(zone) + tmp;",
                 "min_pages = clamp(min_pages, SWAP_CLUSTER_MAX, 128UL);"):
        assert frag in pa, frag
    mig = _squash(_read(tree, "mm/migrate.c"))
    assert "high_wmark_pages(zone) + nr_migrate_pages," in mig
    vm = _squash(_read(tree, "mm/vmscan.c"))
    assert "if (sysctl_numa_balancing_mode & NUMA_BALANCING_MEMORY_TIERING) mark = promo_wmark_pages(zone);" in vm
    assert "sc->nr_to_reclaim += max(high_wmark_pages(zone), SWAP_CLUSTER_MAX);" in vm
    mt = _squash(_read(tree, "mm/memory-tiers.c"))
    assert "top_tier_adistance = memtier->adistance_start + MEMTIER_CHUNK_SIZE - 1;" in mt
    assert ("*adist = MEMTIER_ADISTANCE_DRAM * (perf->read_latency + perf->write_latency) / "
            "(default_dram_perf.read_latency + default_dram_perf.write_latency) * "
            "(default_dram_perf.read_bandwidth + default_dram_perf.write_bandwidth) / "
            "(perf->read_bandwidth + perf->write_bandwidth);") in mt
