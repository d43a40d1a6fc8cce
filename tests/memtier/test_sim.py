"""The simulation: invariants, determinism, reclaim order, soft limits, rate limit, the hotness curve."""

import math

import numpy as np
import pytest

from lwnlab.errors import ConfigError
from lwnlab.memtier import presets, sim as S
from lwnlab.memtier.params import CgroupSpec, NodeSpec, Policy, SimConfig

from ._kernel import Box


def small(**kw):
    base = dict(nodes=(NodeSpec(pages=1 << 12), NodeSpec(pages=1 << 14, kind="pmem")),
                cgroups=(CgroupSpec(pages=12 * 1024, pattern="gaussian", shape=0.05),),
                policy=Policy(numa_balancing=2, demotion_enabled=True), seconds=6, accesses_per_sec=50_000)
    base.update(kw)
    return SimConfig(**base)


def check_invariants(res):
    pn = res.page_node
    m = res.machine
    for n in range(m.nnodes):
        used = int((pn == n).sum())
        assert used == m.pages[n] - res.node_series[-1, n, S.N_FREE]
        assert res.node_series[-1, n, S.N_FREE] >= 0
    # LRU lists hold exactly the resident pages, each once
    args = res.args
    lh, lc, nxt = args[14], args[16], args[13]
    seen = np.zeros(pn.shape[0], np.int64)
    for L in range(lh.shape[0]):
        p, k = int(lh[L]), 0
        n = L // 2 // len(res.config.cgroups)
        while p >= 0:
            assert pn[p] == n
            seen[p] += 1
            k += 1
            p = int(nxt[p])
        assert k == lc[L]
    assert np.array_equal(seen, (pn >= 0).astype(np.int64))
    # accesses add up
    s = res.series.sum(0)
    assert s[S.S_ACC] == s[S.S_READ] + s[S.S_WRITE]
    assert s[S.S_CAND] == s[S.S_LATTEST] - s[S.S_LAT_FAIL]


def test_runs_and_keeps_invariants():
    res = S.run(small())
    check_invariants(res)
    tot = res.totals()
    assert tot["accesses"] == 6 * 50_000
    assert tot["hint_faults"] > 0 and tot["pgpromote_success"] > 0 and tot["pgdemote_kswapd"] > 0
    assert 0 < tot["relative_throughput"] < 1
    # promotion moves the Gaussian's centre into DRAM: the hit ratio rises
    fh = res.fast_hit_ratio()
    assert fh[-1] > fh[0] + 0.2


def test_same_seed_same_run_other_seed_differs():
    a, b, c = S.run(small()), S.run(small()), S.run(small(seed=2))
    assert np.array_equal(a.series, b.series) and np.array_equal(a.page_node, b.page_node)
    assert not np.array_equal(a.series, c.series)


def test_no_promotion_without_tiering_mode_and_no_demotion_when_disabled():
    res = S.run(small(policy=Policy(numa_balancing=0, demotion_enabled=True)))
    t = res.totals()
    assert t["hint_faults"] == 0 and t["pgpromote_success"] == 0 and t["ptes_armed"] == 0
    res = S.run(small(policy=Policy(numa_balancing=2, demotion_enabled=False)))
    t = res.totals()
    assert t["pgdemote_kswapd"] == 0 and t["pgdemote_direct"] == 0
    check_invariants(res)


def test_tiering_mode_only_arms_slow_pages_mode3_arms_all():
    r2 = S.run(small(policy=Policy(numa_balancing=2, demotion_enabled=True)))
    assert (r2.flags[r2.page_node == 0] & S.F_PROTNONE).sum() == 0
    r3 = S.run(small(policy=Policy(numa_balancing=3, demotion_enabled=True)))
    assert r3.totals()["ptes_armed"] > r2.totals()["ptes_armed"]


def test_rate_limit_caps_promotions_per_window():
    # DRAM stays full, so no free-space bypass; 1 MB/s = 256 pages per window
    cfg = small(policy=Policy(numa_balancing=2, demotion_enabled=True, promote_rate_limit_mbps=1), seconds=12)
    res = S.run(cfg)
    assert res.totals()["free_space_bypass"] == 0
    promo = res.column("pgpromote_success")
    assert promo.max() <= 2 * 256      # a window spans > 1000 ms, so a second sees at most two windows' worth
    # windows are 1001+ ms long: over the run no more than limit * (windows) promotions
    assert promo.sum() <= 256 * (12 * 1000 // 1001 + 1)
    assert res.totals()["promote_ratelimited"] > 0
    unl = S.run(small(seconds=12))
    assert unl.totals()["pgpromote_success"] > promo.sum()


def test_mru_promotes_more_than_hot_selection():
    mru = S.run(small(policy=Policy(numa_balancing=2, demotion_enabled=True, promotion="mru"), seconds=10))
    hot = S.run(small(policy=Policy(numa_balancing=2, demotion_enabled=True, promotion="hot", hot_threshold_ms=250),
                      seconds=10))
    assert mru.totals()["latency_tests"] == 0
    assert hot.totals()["latency_too_high"] > 0
    assert mru.totals()["pgpromote_success"] > hot.totals()["pgpromote_success"]


def test_free_space_bypass_promotes_everything_while_dram_is_empty():
    # DRAM 8 GiB-ish and mostly empty: promo + max(1 GiB, present/16) is far below free
    cfg = SimConfig(nodes=(NodeSpec(pages=1 << 19), NodeSpec(pages=1 << 14, kind="pmem")),
                    cgroups=(CgroupSpec(pages=1 << 13, pattern="uniform", prefault=False),),
                    policy=Policy(numa_balancing=2, demotion_enabled=True, scan_delay_ms=0), seconds=3,
                    accesses_per_sec=20_000)
    # force the pages onto PMEM: a CPU node whose zonelist starts with PMEM is not possible, so pre-place them
    args, m = S.prepare(cfg)
    page_node = args[9]
    res = S.run(cfg)
    t = res.totals()
    assert t["latency_tests"] == 0      # everything allocated in DRAM: nothing to promote
    assert res.fast_hit_ratio().min() == 1.0


def test_demotion_takes_the_oldest_unreferenced_inactive_pages_first():
    cfg = SimConfig(nodes=(NodeSpec(pages=2048), NodeSpec(pages=8192, kind="pmem")),
                    cgroups=(CgroupSpec(pages=4096, prefault=False),),
                    policy=Policy(numa_balancing=2, demotion_enabled=True))
    b = Box(cfg)
    low, promo = int(b.node_i[0, S.NI_LOW]), int(b.node_i[0, S.NI_PROMO])
    placed = []
    for r in range(2048 - low - 1):
        assert b.fault(0, r) == 0
        placed.append(r)
    b.flags[:] = 0
    young = set(placed[:50:2])           # every other one of the 50 oldest pages was referenced
    for r in young:
        b.flags[r] |= S.F_YOUNG
    free0 = int(b.free[0])
    b.kswapd(0, 1 << 20)
    demoted = [r for r in placed if b.page_node[r] == 1]
    # kswapd_shrink_node() aims at max(high_wmark, SWAP_CLUSTER_MAX) pages per round, in 32-page scans
    high = int(b.node_i[0, S.NI_HIGH])
    assert len(demoted) == high and b.free[0] > promo
    assert b.free[0] == free0 + len(demoted)
    oldest_unref = [r for r in placed if r not in young][:len(demoted)]
    assert demoted == sorted(oldest_unref)
    need = len(demoted)
    # the referenced ones got a second chance: PG_referenced set, back at the head of the inactive list
    for r in young:
        assert b.page_node[r] == 0 and b.flags[r] & S.F_PGREF
    assert b.lru(0, 0, False)[:len(young)] == sorted(young, reverse=True)
    assert b.awake[0] == 0
    assert int(b.series[0, S.S_DEMOTE_KSWAPD]) == need


def test_second_reference_activates_and_balance_deactivates():
    cfg = SimConfig(nodes=(NodeSpec(pages=2048), NodeSpec(pages=8192, kind="pmem")),
                    cgroups=(CgroupSpec(pages=4096, prefault=False),),
                    policy=Policy(numa_balancing=2, demotion_enabled=True))
    b = Box(cfg)
    for r in range(1000):
        b.fault(0, r)
    b.flags[:] = S.F_YOUNG | S.F_PGREF   # referenced twice: FOLIOREF_ACTIVATE
    S._shrink_lruvec(0, 0, 32, False, b.node_i, b.dem, b.dem_n, b.lower, b.lower_n, b.page_node, b.flags, b.stamp,
                     b.prv, b.nxt, b.lh, b.lt, b.lc, b.free, b.awake, b.toptier_use, b.rng, b.series, b.cg_series, 0,
                     b.tmask, b.mode, b.demotion, b.swap, b.ncg)
    act = b.lru(0, 0, True)
    assert act == list(range(31, -1, -1)) and all(b.flags[p] & S.F_ACTIVE for p in act)


def test_soft_limit_reclaims_biggest_excess_first():
    dram = 4096
    cfg = SimConfig(nodes=(NodeSpec(pages=dram), NodeSpec(pages=16384, kind="pmem")),
                    cgroups=(CgroupSpec(pages=4096, prefault=False, soft_limit_pages=1800),
                             CgroupSpec(pages=4096, prefault=False, soft_limit_pages=1480)),
                    policy=Policy(numa_balancing=2, demotion_enabled=True))
    b = Box(cfg)
    for r in range(1900):
        b.fault(0, r)      # cg0: 1900 on DRAM, excess 100
        b.fault(1, r)      # cg1: 1900 on DRAM, excess 420
    b.flags[:] = 0
    ttw = int(b.node_i[0, S.NI_TTW])
    assert ttw == dram * 2000 // 10000 and b.free[0] < ttw
    b.awake[0] = 1                       # woken by the tick's free < toptier_wmark check
    b.kswapd(0, 300, soft=True)          # one millisecond's budget: all of it goes to the biggest excess
    assert list(b.toptier_use) == [1900, 1600]
    assert b.awake[0] == 1               # still below toptier_scale_factor: stays awake
    b.kswapd(0, 300, soft=True)          # cg1's 120 first, then cg0's 100
    assert list(b.toptier_use) == [1800, 1480]
    assert int(b.series[0, S.S_SOFT_RECLAIM]) == 520
    assert int(b.cg_series[0, 0, S.C_DEMOTE]) == 100 and int(b.cg_series[0, 1, S.C_DEMOTE]) == 420
    # the oldest pages of each cgroup went first
    assert all(b.page_node[r] == 1 for r in range(100)) and b.page_node[100] == 0


def test_hotness_curve_within_two_percent():
    cfg = presets.hotness()
    res = S.run(cfg)
    tot_w = sum(c.weight for c in cfg.cgroups)
    for c, spec in enumerate(cfg.cgroups):
        if spec.name == "filler":
            continue
        armed = res.cg_series[:, c, S.C_ARMED].sum()
        cand = res.cg_series[:, c, S.C_CAND].sum()
        lam = cfg.accesses_per_sec * spec.weight / tot_w / spec.pages
        expect = 1 - math.exp(-lam * cfg.policy.hot_threshold_ms / 1000)
        assert armed > 20000
        assert abs(cand / armed - expect) < 0.02, (spec.name, cand / armed, expect)
    assert res.totals()["pgpromote_success"] == 0   # DRAM is full and cannot be reclaimed


def test_phase_change_recovers_hit_ratio():
    cfg = presets.phase().replace(seconds=60)
    res = S.run(cfg.with_policy(promote_rate_limit_mbps=64))
    fh = res.fast_hit_ratio()
    assert fh[40] < fh[38] - 0.2          # the hot set moved at 40 s
    assert fh[-1] > fh[40] + 0.2          # and promotion brought it back


def test_bad_configs_name_the_field():
    with pytest.raises(ConfigError) as e:
        S.run(small(nodes=(NodeSpec(pages=4096), NodeSpec(pages=0, kind="pmem"))))
    assert e.value.field == "nodes[1].pages"
    with pytest.raises(ConfigError) as e:
        S.run(small(cgroups=(CgroupSpec(pages=-5),)))
    assert e.value.field == "cgroups[0].pages"
    with pytest.raises(ConfigError) as e:
        S.run(small(accesses_per_sec=1500))
    assert e.value.field == "accesses_per_sec"
    with pytest.raises(ConfigError) as e:
        S.run(small(), hot_threshold_ms=-1)
    assert e.value.field == "policy.hot_threshold_ms"
    with pytest.raises(ConfigError) as e:
        S.run(small(policy=Policy(numa_balancing=1)))
    assert e.value.field == "policy.numa_balancing"
    with pytest.raises(ConfigError) as e:
        S.run(small(nodes=(NodeSpec(pages=4096, kind="pmem"),)))
    assert e.value.field == "nodes"   # no node with CPUs


def test_oom_when_everything_is_full_and_nothing_can_be_reclaimed():
    cfg = SimConfig(nodes=(NodeSpec(pages=1024), NodeSpec(pages=1024, kind="pmem")),
                    cgroups=(CgroupSpec(pages=4096, prefault=False),),
                    policy=Policy(numa_balancing=2, demotion_enabled=True, swap=False), seconds=1,
                    accesses_per_sec=4_000)
    res = S.run(cfg)
    t = res.totals()
    assert t["oom"] > 0
    assert t["accesses"] + t["oom"] == 4_000
    check_invariants(res)


def test_swap_out_and_in_when_memory_is_short():
    cfg = SimConfig(nodes=(NodeSpec(pages=1024), NodeSpec(pages=1024, kind="pmem")),
                    cgroups=(CgroupSpec(pages=4096, prefault=False),),
                    policy=Policy(numa_balancing=2, demotion_enabled=True), seconds=2, accesses_per_sec=20_000)
    res = S.run(cfg)
    t = res.totals()
    assert t["pswpout"] > 0 and t["pswpin"] > 0 and t["oom"] == 0
    check_invariants(res)


def test_progress_callback_reports_simulated_seconds():
    seen = []
    res = S.run(small(seconds=4), progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (4, 4)
    assert all(0 <= d <= 4 and t == 4 for d, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert np.array_equal(res.series, S.run(small(seconds=4)).series)


def test_python_api_bad_input_is_a_config_error():
    with pytest.raises(ConfigError) as e:
        S.run(small(seconds=1), hot_thresold_ms=5)          # was: TypeError from dataclasses.replace
    assert e.value.field == "policy.hot_thresold_ms" and "hot_threshold_ms" in str(e.value)
    with pytest.raises(ConfigError):
        S.run("default")                                    # was: AttributeError
    with pytest.raises(ConfigError) as e:
        small().with_policy(scan_size=4)
    assert e.value.field == "policy.scan_size"
