"""The NUMA scanner's period, as kernel/sched/fair.c (6.1 and 6.12 alike) sets it.

* task_tick_numa(): on the first tick after scan_delay of runtime, ``numa_scan_period =
  task_scan_start(p)`` = task_scan_min(p), from the RSS the process has *then* (not from an empty mm);
* do_numa_page() calls task_numa_fault() with mem_node = the target after a successful migration,
  so in tiering mode a promoted page passes the ``!node_is_toptier(mem_node)`` early return; with
  last_cpupid = -1 (tiering) the fault is private, and the folio was on the slow node, so not local;
* task_numa_placement() runs once per completed pass (numa_scan_seq) and calls
  update_task_scan_period(): ``local + shared == 0`` doubles the period up to task_scan_max();
  otherwise (all private: ps_ratio 10 >= NUMA_PERIOD_THRESHOLD 7) it adds 3 * DIV_ROUND_UP(period, 10);
* numa_migrate_preferred() sets numa_migrate_retry = jiffies + min(HZ, msecs_to_jiffies(period) / 16).
"""

import numpy as np

from lwnlab.memtier import machine as M
from lwnlab.memtier import sim as S
from lwnlab.memtier.params import CgroupSpec, NodeSpec, Policy, SimConfig
from lwnlab.memtier.workloads import NCI


def test_task_scan_min_and_max_by_hand():
    # fair.c task_scan_min(): windows = 2560 / 256 = 10, floor = 1000 / 10 = 100 ms;
    # scan = scan_period_min / task_nr_scan_windows(p); task_scan_max(): max(min, 60000 / windows)
    cases = [  # rss pages, min, max
        (0, 1000, 60000),              # empty mm: one window
        (1 << 18, 250, 15000),         # 1 GiB: 4 windows of 256 MB
        (3 << 16, 333, 20000),         # 768 MiB: 3 windows
        ((3 << 16) + 1, 250, 15000),   # one page more: round_up -> 4 windows
        (16 << 20, 100, 234),          # 64 GiB: 256 windows, min at the MAX_SCAN_WINDOW floor, max 60000 / 256
        (64 << 20, 100, 100),          # 256 GiB: 1024 windows, both at the floor
    ]
    for rss, lo, hi in cases:
        assert M.task_scan_min(rss) == lo == S.task_scan_min_ms(rss, 256 << 8, 1000), rss
        assert M.task_scan_max(rss) == hi == S.task_scan_max_ms(rss, 256 << 8, 1000, 60000), rss


def _ts(period=1000):
    ts = np.zeros((1, S.NT), np.int64)
    ts[0, S.T_PERIOD] = period
    ts[0, S.T_RETRY] = -1
    return ts


def test_update_task_scan_period_step_by_step():
    cg_i = np.zeros((1, NCI), np.int64)
    cg_i[0, 1] = 1 << 16                      # CI_N: 256 MB, all resident -> one window, max 60000
    pn = np.zeros(1 << 16, np.int8)
    ts = _ts(1000)
    call = lambda t, local=False: S.task_numa_fault(ts, cg_i, pn, 0, local, t, 250, 256 << 8, 1000, 60000)
    call(1500)                                # same numa_scan_seq: no placement
    assert ts[0, S.T_PERIOD] == 1000 and ts[0, S.T_FAULTS] == 1 and ts[0, S.T_REMOTE] == 1
    ts[0, S.T_MM_SEQ] = 1                     # the scanner finished a pass
    call(2000)                                # jiffies 500: placement, no local faults -> double
    assert ts[0, S.T_PERIOD] == 2000 and ts[0, S.T_NEXT_SCAN] == 4000 and ts[0, S.T_PERIOD_MAX] == 60000
    assert ts[0, S.T_PREFERRED] == 1
    # numa_migrate_retry = 500 + min(250, msecs_to_jiffies(2000) / 16 = 500 / 16 = 31)
    assert ts[0, S.T_RETRY] == 531 and ts[0, S.T_REMOTE] == 1 and ts[0, S.T_LOCAL] == 0
    ts[0, S.T_MM_SEQ] = 2
    call(2120)                                # jiffies 530: not after 531, no placement yet
    assert ts[0, S.T_PERIOD] == 2000
    call(2200)                                # jiffies 550
    assert ts[0, S.T_PERIOD] == 4000 and ts[0, S.T_NEXT_SCAN] == 6200
    assert ts[0, S.T_RETRY] == 550 + 1000 // 16
    call(2500, local=True)                    # mode 3: a top-tier fault on the CPU's node
    ts[0, S.T_MM_SEQ] = 3
    call(3000)                                # local 1: 4000 + 3 * DIV_ROUND_UP(4000, 10)
    assert ts[0, S.T_PERIOD] == 5200 and ts[0, S.T_NEXT_SCAN] == 6200
    for k in range(4, 12):                    # doubling stops at task_scan_max()
        ts[0, S.T_MM_SEQ] = k
        call(3000 + 1000 * k)
    assert ts[0, S.T_PERIOD] == 60000


def _one_gib_process(**policy):
    return SimConfig(nodes=(NodeSpec(pages=1 << 16), NodeSpec(pages=1 << 18, kind="pmem")),
                     cgroups=(CgroupSpec(pages=1 << 18, pattern="uniform"),),
                     policy=Policy(**{"numa_balancing": 2, "demotion_enabled": True, "promotion": "mru", **policy}),
                     seconds=70, accesses_per_sec=20_000)


def test_first_period_comes_from_the_rss_and_tiering_doubles_it_after_each_pass():
    res = S.run(_one_gib_process(scan_delay_ms=1500))
    per = res.scan_period_ms()[:, 0]
    # windows at 1500 and 1750 ms in second 1; the pass ends at 2250 ms
    assert per[0] == 0 and per[1] == 250                   # prefaulted 1 GiB at the first tick: 4 windows -> 250 ms, not 1000
    steps = sorted(set(per[1:].tolist()))
    assert steps == [250, 500, 1000, 2000, 4000, 8000, 15000]   # capped by task_scan_max() = 60000 / 4
    assert (np.diff(per) >= 0).all()
    # a pass of 4 windows every 250 ms: the whole 1 GiB is armed in the first simulated second after the delay
    assert res.cg_series[2, 0, S.C_ARMED] > (1 << 18) * 0.35


def test_pinned_period_does_not_adapt_and_failed_promotions_do_not_count():
    res = S.run(_one_gib_process(scan_period_ms=300))
    assert set(res.scan_period_ms()[1:, 0].tolist()) == {300}
    # no room and no demotion: every promotion fails, task_numa_fault() returns early, the period stays
    cfg = _one_gib_process(demotion_enabled=False, swap=False).replace(seconds=8)
    res = S.run(cfg)
    assert res.totals()["pgpromote_success"] == 0 and res.totals()["hint_faults"] > 0
    assert set(res.scan_period_ms()[1:, 0].tolist()) == {250}


def _window_box(npages):
    from ._kernel import Box

    cfg = SimConfig(nodes=(NodeSpec(pages=4096), NodeSpec(pages=8192, kind="pmem")),
                    cgroups=(CgroupSpec(pages=npages, prefault=False),), policy=Policy(numa_balancing=2))
    b = Box(cfg)
    b.page_node[:] = 1          # everything on the slow tier
    b.flags[:] = 0
    return b


def _window(b, off, now=5000):
    b.ts[0, S.T_MM_SEQ] = 0
    b.flags[:] = 0
    scan_off = np.array([off], np.int64)
    armed = S._scan_window(0, now, b.cg_i, b.node_i, b.page_node, b.flags, b.stamp, scan_off, 512, b.tmask, b.mode,
                           b.ts)
    return armed, int(scan_off[0]), int(b.ts[0, S.T_MM_SEQ])


def test_scan_windows_and_numa_scan_seq_like_task_numa_work():
    b = _window_box(2048)                     # exactly 4 windows of 512 pages
    assert _window(b, 0) == (512, 512, 0)
    # the 4th window uses its pages up exactly at the VMA's end: 'goto out' keeps the offset there
    assert _window(b, 1536) == (512, 2048, 0)
    # the next window finds no VMA at the offset: reset_ptenuma_scan(), then it scans from 0
    assert _window(b, 2048) == (512, 512, 1)
    b = _window_box(1800)                     # 3.5 windows
    # the last window runs past the end with pages left: reset at 'out', the next one starts at 0
    assert _window(b, 1536) == (264, 0, 1)
    # already-armed PTEs are skipped and keep their stamp; they do not use up the window's pages
    b.flags[:] = S.F_PROTNONE
    b.stamp[:] = 7
    scan_off = np.array([0], np.int64)
    armed = S._scan_window(0, 9000, b.cg_i, b.node_i, b.page_node, b.flags, b.stamp, scan_off, 512, b.tmask, b.mode,
                           b.ts)
    assert armed == 0 and (b.stamp == 7).all()
