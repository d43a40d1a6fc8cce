"""numa_promotion_adjust_threshold() and numa_promotion_rate_limit(), step by step (kernel/sched/fair.c, 6.12)."""

import numpy as np

from lwnlab.memtier import sim as S


def _kst():
    return np.zeros((1, S.NK), np.int64)


def _adjust(kst, diff, now, rate_limit=100, ref_th=1000, period=60000):
    kst[0, S.K_CANDIDATE] += diff
    S.numa_promotion_adjust_threshold(kst, 0, rate_limit, ref_th, now, period)
    return int(kst[0, S.K_THRESHOLD])


def test_adjuster_steps_down_to_unit_th_and_stays():
    # rate_limit 100 pages/s -> ref_cand = 100 * 60000 / 1000 = 6000; > 6600 means "too many candidates"
    kst = _kst()
    seq = [_adjust(kst, 7000, 60001 * k) for k in range(1, 11)]
    assert seq == [875, 750, 625, 500, 375, 250, 125, 125, 125, 125]


def test_adjuster_steps_up_to_twice_the_default():
    kst = _kst()
    seq = [_adjust(kst, 0, 60001 * k) for k in range(1, 11)]
    assert seq == [1125, 1250, 1375, 1500, 1625, 1750, 1875, 2000, 2000, 2000]


def test_adjuster_band_is_exclusive_at_plus_minus_ten_percent():
    kst = _kst()
    assert _adjust(kst, 6600, 60001) == 1000     # 6600 > 6600 is false: unchanged (nbp_threshold = ref_th)
    assert _adjust(kst, 6601, 120002) == 875     # just above the band
    assert _adjust(kst, 5400, 180003) == 875     # 5400 < 5400 is false: unchanged
    assert _adjust(kst, 5399, 240004) == 1000    # just below the band


def test_adjuster_runs_only_after_more_than_one_period():
    kst = _kst()
    kst[0, S.K_CANDIDATE] = 10 ** 6
    S.numa_promotion_adjust_threshold(kst, 0, 100, 1000, 60000, 60000)   # now - start == period: not yet
    assert kst[0, S.K_THRESHOLD] == 0 and kst[0, S.K_TH_START] == 0
    S.numa_promotion_adjust_threshold(kst, 0, 100, 1000, 60001, 60000)
    assert kst[0, S.K_THRESHOLD] == 875 and kst[0, S.K_TH_START] == 60001
    assert kst[0, S.K_TH_NR_CAND] == 10 ** 6
    # candidates are counted from the snapshot: another 6000 in the next period is in the band
    kst[0, S.K_CANDIDATE] += 6000
    S.numa_promotion_adjust_threshold(kst, 0, 100, 1000, 120002, 60000)
    assert kst[0, S.K_THRESHOLD] == 875


def test_adjuster_with_the_default_rate_limit_drifts_up():
    # 65536 MB/s << 8 pages/s: ref_cand ~ 1e9, so any real workload is "too few": th rises to 2000 ms
    kst = _kst()
    seq = [_adjust(kst, 50000, 60001 * k, rate_limit=65536 << 8) for k in range(1, 10)]
    assert seq[-1] == 2000 and seq[0] == 1125


def test_adjuster_unsigned_wrap_when_default_is_raised():
    # th = 125 from ref_th 1000; then hot_threshold_ms is raised to 2000: unit_th = 250 and
    # th - unit_th wraps in unsigned int, so max() keeps the huge value, as the kernel would
    kst = _kst()
    kst[0, S.K_THRESHOLD] = 125
    th = _adjust(kst, 10 ** 9, 60001, ref_th=2000)
    assert th == (125 - 250) & 0xFFFFFFFF


def test_rate_limit_window():
    kst = _kst()
    # window starts at the first call more than 1000 ms after nbp_rl_start (0)
    res = [bool(S.numa_promotion_rate_limit(kst, 0, 3, 1, 1001)) for _ in range(5)]
    assert res == [False, False, False, True, True]     # rate_limit candidates pass, then refused
    assert kst[0, S.K_CANDIDATE] == 5                   # refused ones still count as candidates
    assert S.numa_promotion_rate_limit(kst, 0, 3, 1, 2001)  # 2001 - 1001 = 1000: same window
    assert not S.numa_promotion_rate_limit(kst, 0, 3, 1, 2002)  # > 1000 ms: new window
    assert kst[0, S.K_RL_START] == 2002 and kst[0, S.K_RL_NR_CAND] == 7


def test_rate_limit_window_is_unsigned_modular():
    kst = _kst()
    kst[0, S.K_RL_START] = 0xFFFFFF00  # a window opened just before jiffies_to_msecs() wraps at 2**32
    assert not S.numa_promotion_rate_limit(kst, 0, 2, 1, 0xFFFFFF00 + 500)
    assert S.numa_promotion_rate_limit(kst, 0, 2, 1, 0xFFFFFF00 + 600)   # 2 candidates: limit reached
    # 0x10 - 0xFFFFFF00 = 0x110 (272 ms) as unsigned int: still the same window
    assert S.numa_promotion_rate_limit(kst, 0, 2, 1, 0x10)
    # 0x400 - 0xFFFFFF00 = 0x500 (1280 ms): a new window
    assert not S.numa_promotion_rate_limit(kst, 0, 2, 1, 0x400)
    assert kst[0, S.K_RL_START] == 0x400


def test_jiffies_msecs_resolution():
    assert [S.jiffies_msecs(250, t) for t in (0, 3, 4, 7, 8, 1001)] == [0, 0, 4, 4, 8, 1000]
    assert S.jiffies_msecs(1000, 1234) == 1234
    assert S.jiffies_msecs(100, 1234) == 1230
    # HZ=300 does not divide 1000: DIV_ROUND_UP(j * 10, 3) (HZ_TO_MSEC_NUM/DEN = 10/3), not 3 * j
    assert [S.jiffies_msecs(300, t) for t in (0, 3, 4, 7, 1000, 60001)] == [0, 0, 4, 7, 1000, 60000]


def test_rate_limit_shift_wraps_in_unsigned_int():
    """should_numa_migrate_memory(): ``sysctl_numa_balancing_promote_rate_limit << (20 - PAGE_SHIFT)`` is
    computed in unsigned int (the sysctl's type) before it is stored in the unsigned long rate_limit,
    so 2**24 MB/s becomes 2**32 -> 0 pages/s and every candidate is refused; 2**24 + 1 gives 256."""
    import pytest

    from lwnlab.errors import ConfigError
    from lwnlab.memtier.params import CgroupSpec, NodeSpec, Policy, SimConfig

    def run(mbps):
        cfg = SimConfig(nodes=(NodeSpec(pages=1 << 12), NodeSpec(pages=1 << 14, kind="pmem")),
                        cgroups=(CgroupSpec(pages=12 * 1024, pattern="gaussian", shape=0.05),),
                        policy=Policy(numa_balancing=2, demotion_enabled=True, promote_rate_limit_mbps=mbps,
                                      auto_adjust=False),
                        seconds=6, accesses_per_sec=50_000)
        return S.run(cfg).totals()

    t = run(1 << 24)
    assert t["pgpromote_candidate"] > 0 and t["promote_ratelimited"] == t["pgpromote_candidate"]
    assert t["pgpromote_success"] == t["free_space_bypass"]
    t = run((1 << 24) + 1)                                  # (2**24 + 1) << 8 mod 2**32 = 256 pages/s
    assert 0 < t["pgpromote_success"] - t["free_space_bypass"] <= 256 * 6
    with pytest.raises(ConfigError) as e:                   # proc_dointvec_minmax: at most INT_MAX
        run(1 << 31)
    assert e.value.field == "policy.promote_rate_limit_mbps"
