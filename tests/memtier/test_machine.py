"""Watermarks, tiers and demotion targets against hand computations from Linux 6.12's sources."""

import numpy as np
import pytest

from lwnlab.memtier import machine as M
from lwnlab.memtier.params import CgroupSpec, NodeSpec, SimConfig


def test_min_free_kbytes_formula_and_clamp():
    # int_sqrt(lowmem_kB * 16), clamped to [128, 262144]
    assert M.min_free_kbytes(64 << 20) == 32768          # 64 GiB -> 32 MiB
    assert M.min_free_kbytes(1024) == 128                # sqrt(16384) = 128
    assert M.min_free_kbytes(100) == 128                 # sqrt(1600) = 40 -> clamped up
    assert M.min_free_kbytes(4 << 30) == 262144          # 4 TiB -> sqrt(2^36) = 262144
    assert M.min_free_kbytes(16 << 30) == 262144         # clamped down
    assert M.min_free_kbytes(1000003) == 4000            # int_sqrt(16000048) = 4000 (floor)


def test_worked_example_64gib_node():
    pages = 16 << 20  # 64 GiB of 4 KiB pages
    mfk, (w,) = M.zone_watermarks([pages], [False])
    assert mfk == 32768
    # min = 32768 kB >> 2 = 8192 pages; tmp = max(8192 >> 2, 16777216 * 10 / 10000) = 16777
    assert (w.min, w.low, w.high, w.promo) == (8192, 8192 + 16777, 8192 + 2 * 16777, 8192 + 3 * 16777)
    # pgdat_free_space_enough(): promo + max(1 GiB, present/16)
    assert M.free_space_enough_mark(pages, w.promo) == w.promo + (pages >> 4)
    assert M.free_space_enough_mark(1 << 20, 100) == 100 + 262144  # 4 GiB node: 1 GiB dominates


def test_min_shared_by_size_and_small_zone_uses_min_over_4():
    # two normal zones share pages_min in proportion; tmp >> 2 wins when watermark_scale_factor is small
    mfk, (a, b) = M.zone_watermarks([3 << 18, 1 << 18], [False, False])
    lowmem_kb = (4 << 18) * 4
    assert mfk == int(np.sqrt(lowmem_kb * 16))
    pages_min = mfk >> 2
    assert a.min == pages_min * (3 << 18) // (4 << 18)
    assert b.min == pages_min * (1 << 18) // (4 << 18)
    for z, m in ((a, 3 << 18), (b, 1 << 18)):
        tmp = max(z.min >> 2, m * 10 // 10000)
        assert (z.low, z.high, z.promo) == (z.min + tmp, z.min + 2 * tmp, z.min + 3 * tmp)


def test_movable_zone_min_is_clamped_and_excluded_from_lowmem():
    mfk, (dram, pmem) = M.zone_watermarks([1 << 18, 1 << 20], [False, True])
    assert mfk == M.min_free_kbytes((1 << 18) * 4)   # only the normal zone is lowmem
    assert pmem.min == 128                           # clamp(1M/1024, 32, 128)
    _, (_, small) = M.zone_watermarks([1 << 18, 1 << 14], [False, True])
    assert small.min == 32                           # clamp(16, SWAP_CLUSTER_MAX, 128)
    # the distance steps still use the proportional share (pages_min * managed / lowmem_pages)
    share = (mfk >> 2) * (1 << 20) // (1 << 18)
    tmp = max(share >> 2, (1 << 20) * 10 // 10000)
    assert pmem.low == 128 + tmp


def test_watermark_scale_factor_and_user_min_free_kbytes():
    _, (w,) = M.zone_watermarks([1 << 20], [False], watermark_scale_factor=1000)
    assert w.low - w.min == (1 << 20) * 1000 // 10000
    mfk, (w,) = M.zone_watermarks([1 << 20], [False], min_free_kb=65536)
    assert mfk == 65536 and w.min == 16384


def test_mult_frac_matches_exact_division():
    for x in (0, 1, 9999, 10000, 16777216, 123456789):
        assert M.mult_frac(x, 10, 10000) == x * 10 // 10000


def test_adistance_tiers_and_hmat_formula():
    assert M.tier_of(576) == 4 and M.tier_of(2880) == 22
    dram = {"read_latency_ns": 90, "write_latency_ns": 90, "read_bw_mbps": 100000, "write_bw_mbps": 100000}
    cxl = {"read_latency_ns": 180, "write_latency_ns": 180, "read_bw_mbps": 50000, "write_bw_mbps": 50000}
    assert M.mt_perf_to_adistance(cxl, dram) == 2304      # 576 * 2 * 2
    assert M.tier_of(2304) == 18
    # integer order of operations: 576 * 305+94 / 180 * 200000 / 53300
    pmem = {"read_latency_ns": 305, "write_latency_ns": 94, "read_bw_mbps": 39400, "write_bw_mbps": 13900}
    assert M.mt_perf_to_adistance(pmem, dram) == 576 * 399 // 180 * 200000 // 53300


def test_build_machine_tiers_toptier_and_demotion():
    cfg = SimConfig(nodes=(NodeSpec(pages=4096), NodeSpec(pages=8192, kind="pmem")))
    m = M.build_machine(cfg)
    assert list(m.adistance) == [576, 2880]
    assert list(m.tier) == [4, 22]
    assert list(m.toptier) == [True, False]
    assert m.top_tier_adistance == 4 * 128 + 127
    assert m.demotion == ((1,), ())
    assert m.tiers() == {4: [0], 22: [1]}


def test_demotion_goes_to_next_tier_only_nearest_nodes():
    # 2 sockets: DRAM 0,1 (CPUs), CXL 2 (hmat: 576*400//180*200000//100000 = 2560, tier 20), PMEM 3,4 (tier 22)
    nodes = (NodeSpec(pages=4096), NodeSpec(pages=4096), NodeSpec(pages=4096, kind="cxl", hmat=True),
             NodeSpec(pages=4096, kind="pmem"), NodeSpec(pages=4096, kind="pmem"))
    d = [[10, 21, 14, 17, 28], [21, 10, 24, 28, 17], [14, 24, 10, 26, 26], [17, 28, 26, 10, 28], [28, 17, 26, 28, 10]]
    m = M.build_machine(SimConfig(nodes=nodes, distances=tuple(map(tuple, d))))
    assert [int(t) for t in m.tier] == [4, 4, 20, 22, 22]
    assert m.demotion[0] == (2,) and m.demotion[1] == (2,)   # the next lower tier only, even if farther
    assert m.demotion[2] == (3, 4)                           # equal distance: both preferred
    assert m.demotion[3] == () and m.demotion[4] == ()
    assert m.lower_tier[0] == (2, 3, 4)                      # lower_tier_mask: all lower tiers, by distance
    assert list(m.toptier) == [True, True, False, False, False]


def test_cpuless_dram_is_still_top_tier_and_cpu_slow_tier_moves_the_top():
    m = M.build_machine(SimConfig(nodes=(NodeSpec(pages=4096), NodeSpec(pages=4096, cpus=False),
                                         NodeSpec(pages=4096, kind="pmem"))))
    assert list(m.toptier) == [True, True, False]
    m = M.build_machine(SimConfig(nodes=(NodeSpec(pages=4096), NodeSpec(pages=4096, kind="pmem", cpus=True))))
    # a tier with CPUs is "top": everything up to it counts as top tier
    assert list(m.toptier) == [True, True]


def test_task_scan_min():
    assert M.task_scan_min(0) == 1000                      # a fresh process: one window per second
    assert M.task_scan_min(16 << 20) == 100                # 64 GiB: 256 windows -> floor 1000/(2560/256)
    assert M.task_scan_min(3 << 16) == 333                 # 768 MiB: 3 windows
    assert M.task_scan_min(0, scan_size_mb=4096) == 1000


def test_cost_model_loaded_latency_and_floor():
    from lwnlab.memtier.params import CostModel

    cost = CostModel(cpu_ns_per_access=0.0)
    perf = ({"read_latency_ns": 100.0, "write_latency_ns": 100.0, "read_bw_mbps": 1e9, "write_bw_mbps": 1e9},)
    t = M.second_time_ns(np.array([1000.0]), np.array([0.0]), perf, cost)
    assert t == pytest.approx(100_000, rel=1e-6)            # idle: reads * latency
    slow = ({"read_latency_ns": 100.0, "write_latency_ns": 100.0, "read_bw_mbps": 1.0, "write_bw_mbps": 1.0},)
    t = M.second_time_ns(np.array([1000.0]), np.array([0.0]), slow, cost)
    assert t >= 1000 * 64 / 1e-3 * (1 - 1e-9)               # bandwidth floor: bytes / (1 MB/s)
    assert M.loaded_latency(100.0, 0.5, 10.0) == pytest.approx(200.0)
    assert M.loaded_latency(100.0, 0.99, 10.0) == pytest.approx(1000.0)


def test_mt_perf_to_adistance_is_unsigned_int_arithmetic():
    # mm/memory-tiers.c: every operand is an unsigned int of struct access_coordinate, so
    # 576 * 1800 / 180 = 5760, then 5760 * 1000000 wraps at 2**32 before the last division
    dram = {"read_latency_ns": 90, "write_latency_ns": 90, "read_bw_mbps": 500000, "write_bw_mbps": 500000}
    slow = {"read_latency_ns": 900, "write_latency_ns": 900, "read_bw_mbps": 1000, "write_bw_mbps": 1000}
    assert M.mt_perf_to_adistance(slow, dram) == ((5760 * 1000000) % 2**32) // 2000 == 732516


def test_knob_table_names_real_fields_and_both_names():
    import dataclasses

    from lwnlab.memtier.params import KNOBS, CgroupSpec, Policy, knob_table

    policy = {f.name for f in dataclasses.fields(Policy)}
    for field, merged, proposal, origin in KNOBS:
        if field.startswith("policy."):
            assert field.split(".", 1)[1] in policy, field
        elif field.startswith("cgroups[i]."):
            assert field.split(".", 1)[1] in {f.name for f in dataclasses.fields(CgroupSpec)}, field
        assert merged and proposal and origin
    text = knob_table()
    for name in ("numa_balancing_promote_rate_limit_MBps", "numa_balancing_rate_limit_mbps", "hot_threshold_ms",
                 "kernel.numa_balancing_hot_threshold_ms", "demotion_enabled", "RECLAIM_MIGRATE",
                 "memory.toptier_soft_limit_in_bytes", "vm.toptier_scale_factor", "memory.toptier_usage_in_bytes"):
        assert name in text, name
