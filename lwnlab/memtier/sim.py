"""The page-level simulation: one numba loop over simulated milliseconds and accesses.

Per page (structure of arrays, :data:`BYTES_PER_PAGE` bytes): the node it lives on
(int8; -1 never touched, -2 swapped out), LRU flags (uint8), the access-time
stamp kept in ``_last_cpupid`` (uint32, ``PAGE_ACCESS_TIME_MASK`` bits) and the
LRU list links (two int32).  Per (node, cgroup) there are two LRU lists,
inactive and active, exactly as a memcg lruvec has for anon pages.

Every millisecond of simulated time:

1. kswapd runs on every node where it is awake: ``balance_pgdat`` reclaims in
   ``SWAP_CLUSTER_MAX`` batches until ``pgdat_balanced()`` (free > WMARK_PROMO in
   tiering mode, WMARK_HIGH otherwise), demoting to ``next_demotion_node()``
   when demotion is enabled (5.15), swapping otherwise; with the RFC's soft
   limits it first reclaims from the cgroup most over its toptier soft limit
   while free < toptier_scale_factor;
2. each process's NUMA scanner (``task_numa_work``) runs when due: up to
   ``scan_size_mb`` of address space, skipping PTEs that are already PROT_NONE
   and top-tier pages in tiering-only mode, stamping slow-tier pages with
   ``jiffies_to_msecs(jiffies)``;
3. the accesses of that millisecond: first touch allocates (low watermark,
   fallback down the zonelist, slow path at min after waking kswapd, direct
   reclaim); an access to a PROT_NONE page is a hint fault, which runs
   ``should_numa_migrate_memory()`` (5.18 MRU or 6.1 hot selection, rate limit,
   threshold adjustment, free-space bypass) and ``migrate_balanced_pgdat()``.

Tunables arrive in one int64 array (:data:`IP_*` indices), so moving a
slider never changes argument types and never recompiles.
"""

from __future__ import annotations

import numpy as np

from lwnlab._jit import jit
from lwnlab.memtier.workloads import (
    CI_CPU, CI_N, CI_PREFAULT, CI_SOFT, CI_START, fill_accesses, next_u64, seed_rng,
)

# page flags
F_YOUNG = 1       # PTE accessed bit
F_PGREF = 2       # PG_referenced
F_ACTIVE = 4      # PG_active: on the active LRU
F_PROTNONE = 8    # armed for a NUMA hint fault
F_DEMOTED = 16    # has been demoted (for the ping-pong count)

NODE_NONE = -1
NODE_SWAP = -2

BYTES_PER_PAGE = 1 + 1 + 4 + 4 + 4  # node int8, flags uint8, stamp uint32, prev/next int32

# policy integer parameters
(IP_MODE, IP_DEMOTION, IP_HOT, IP_HOT_TH, IP_RATE_MBPS, IP_AUTO, IP_BYPASS, IP_SCAN_DELAY, IP_SCAN_PERIOD,
 IP_SCAN_MAX, IP_SCAN_PAGES, IP_HZ, IP_TIME_MASK, IP_TPP, IP_SOFT, IP_SWAP, IP_KSWAPD_BUDGET, IP_SECONDS,
 IP_APMS, IP_SEED, IP_SCAN_MIN) = range(21)
NIP = 21

# node columns
NI_PAGES, NI_MIN, NI_LOW, NI_HIGH, NI_PROMO, NI_ENOUGH, NI_TTW, NI_TOPTIER = range(8)
NNI = 8

# per-second series
(S_ACC, S_FAST, S_READ, S_WRITE, S_HINT, S_LATTEST, S_CAND, S_PROMO, S_PROMO_FAIL, S_RL_DENY, S_LAT_FAIL,
 S_BYPASS, S_DEMOTE_KSWAPD, S_DEMOTE_DIRECT, S_SWAPOUT, S_SWAPIN, S_ALLOC, S_FALLBACK, S_DIRECT_RECLAIM,
 S_ARMED, S_KSWAPD_WAKE, S_OOM, S_TPP_SKIP, S_PINGPONG, S_SOFT_RECLAIM) = range(25)
NS = 25
SERIES_NAMES = ("accesses", "fast_hits", "reads", "writes", "hint_faults", "latency_tests", "pgpromote_candidate",
                "pgpromote_success", "promote_fail_wmark", "promote_ratelimited", "latency_too_high",
                "free_space_bypass", "pgdemote_kswapd", "pgdemote_direct", "pswpout", "pswpin", "allocations",
                "alloc_fallback", "direct_reclaim", "ptes_armed", "kswapd_wakeups", "oom", "tpp_inactive_skip",
                "ping_pong", "softlimit_reclaimed")
# per node per second
N_FREE, N_READ, N_WRITE, N_THRESH, N_KSWAPD_MS = range(5)
NNS = 5
# per cgroup per second
C_ACC, C_FAST, C_TOPTIER, C_HINT, C_LATTEST, C_CAND, C_PROMO, C_DEMOTE, C_SWAPIN, C_ARMED, C_SCAN_PERIOD = range(11)
NCS = 11

# kernel state per node (returned for tests): nbp_* fields of pglist_data
K_RL_START, K_RL_NR_CAND, K_TH_START, K_TH_NR_CAND, K_THRESHOLD, K_CANDIDATE = range(6)
NK = 6


# ----------------------------------------------------------------------------- fair.c, ported


@jit(warmup=lambda: (np.zeros((1, 6), np.int64), 0, 256, 1000, 61000, 60000))
def numa_promotion_adjust_threshold(kst, nid, rate_limit, ref_th, now, th_period):
    """kernel/sched/fair.c numa_promotion_adjust_threshold(), in unsigned int/long arithmetic.

    ``kst[nid]`` holds the node's nbp_* fields; ``now`` is jiffies_to_msecs(jiffies).
    """
    start = kst[nid, K_TH_START]
    if ((now - start) & 0xFFFFFFFF) > th_period:
        kst[nid, K_TH_START] = now
        ref_cand = rate_limit * th_period // 1000
        nr_cand = kst[nid, K_CANDIDATE]
        diff_cand = nr_cand - kst[nid, K_TH_NR_CAND]
        unit_th = (ref_th * 2 // 16) & 0xFFFFFFFF  # NUMA_MIGRATION_ADJUST_STEPS
        th = kst[nid, K_THRESHOLD]
        if th == 0:
            th = ref_th
        if diff_cand > ref_cand * 11 // 10:
            th = (th - unit_th) & 0xFFFFFFFF  # unsigned int: wraps if th < unit_th
            if th < unit_th:
                th = unit_th
        elif diff_cand < ref_cand * 9 // 10:
            th = (th + unit_th) & 0xFFFFFFFF
            if th > ref_th * 2:
                th = ref_th * 2
        kst[nid, K_TH_NR_CAND] = nr_cand
        kst[nid, K_THRESHOLD] = th


@jit(warmup=lambda: (np.zeros((1, 6), np.int64), 0, 256, 1, 1001))
def numa_promotion_rate_limit(kst, nid, rate_limit, nr, now):
    """fair.c numa_promotion_rate_limit(): count ``nr`` candidates; True = over the limit, do not promote."""
    kst[nid, K_CANDIDATE] += nr
    nr_cand = kst[nid, K_CANDIDATE]
    start = kst[nid, K_RL_START]
    if ((now - start) & 0xFFFFFFFF) > 1000:
        kst[nid, K_RL_START] = now
        kst[nid, K_RL_NR_CAND] = nr_cand
    return nr_cand - kst[nid, K_RL_NR_CAND] >= rate_limit


@jit(warmup=lambda: (250, 1000))
def jiffies_msecs(hz, t_ms):
    """jiffies_to_msecs(jiffies) at simulated time ``t_ms``, as an unsigned int (kernel/time/time.c).

    HZ dividing 1000: (MSEC_PER_SEC / HZ) * j; otherwise (HZ=300) DIV_ROUND_UP(j * HZ_TO_MSEC_NUM,
    HZ_TO_MSEC_DEN) with NUM/DEN = 1000/HZ in lowest terms, i.e. ceil(j * 1000 / HZ).
    """
    j = (t_ms * hz) // 1000
    if 1000 % hz == 0:
        return ((1000 // hz) * j) & 0xFFFFFFFF
    return ((j * 1000 + hz - 1) // hz) & 0xFFFFFFFF


@jit(warmup=lambda: (0, 65536, 1000))
def task_scan_min_ms(rss, scan_pages, scan_period_min):
    """fair.c task_scan_min(): ms between scan windows for a process with ``rss`` resident pages.

    ``task_nr_scan_windows()`` = round_up(rss or one window, scan pages) / scan pages;
    never more than MAX_SCAN_WINDOW (2560) MB/s: floor = 1000 / (2560 / scan_size_mb).
    """
    scan_size = scan_pages >> 8
    windows = 1
    if scan_size < 2560:
        windows = 2560 // scan_size
    floor = 1000 // windows
    r = rss if rss > 0 else scan_pages
    nwin = (r + scan_pages - 1) // scan_pages
    scan = scan_period_min // nwin
    return max(floor, scan)


@jit(warmup=lambda: (0, 65536, 1000, 60000))
def task_scan_max_ms(rss, scan_pages, scan_period_min, scan_period_max):
    """fair.c task_scan_max() (no numa_group): max(task_scan_min, scan_period_max / windows)."""
    smin = task_scan_min_ms(rss, scan_pages, scan_period_min)
    r = rss if rss > 0 else scan_pages
    nwin = (r + scan_pages - 1) // scan_pages
    return max(smin, scan_period_max // nwin)


@jit(warmup=lambda: (np.zeros((1, 12), np.int64) + 8, np.zeros(8, np.int8), 0))
def cgroup_rss(cg_i, page_node, c):
    """get_mm_rss(): resident pages of cgroup ``c``'s process."""
    base = cg_i[c, CI_START]
    n = 0
    for r in range(cg_i[c, CI_N]):
        if page_node[base + r] >= 0:
            n += 1
    return n


# numa state per process (the task_struct/mm_struct fields task_numa_fault() and task_numa_work() use)
(T_PERIOD, T_PERIOD_MAX, T_NEXT_SCAN, T_MM_SEQ, T_P_SEQ, T_RETRY, T_PREFERRED, T_LOCAL, T_REMOTE, T_FAULTS) = range(10)
NT = 10


@jit(warmup=lambda: (np.zeros((1, NT), np.int64), np.zeros((1, 12), np.int64) + 8, np.zeros(8, np.int8), 0, 0,
                     1500, 250, 65536, 1000, 60000))
def task_numa_fault(ts, cg_i, page_node, c, local, t, hz, scan_pages, scan_period_min, scan_period_max):
    """fair.c task_numa_fault() for a fault that got this far (the page is on a top-tier node now).

    Tiering mode returns before this for slow-tier pages, so only a *promoted* page (mem_node =
    the fast node, not local: the folio was on the slow node) or, in mode 3, a hint fault on a
    top-tier page gets here.  All faults are private (tiering passes last_cpupid = -1).  When the
    scanner has finished a pass since the last time (numa_scan_seq), task_numa_placement() runs
    update_task_scan_period(): with no local faults (``local + shared == 0``) the scan period
    doubles up to task_scan_max() and the next window is pushed out; otherwise all-private faults
    (ps_ratio 10 >= NUMA_PERIOD_THRESHOLD 7) add 3 slots of period/10.  numa_migrate_preferred()
    then sets numa_migrate_retry = jiffies + min(HZ, msecs_to_jiffies(period) / 16).
    """
    j = (t * hz) // 1000
    if j > ts[c, T_RETRY]:  # time_after(jiffies, p->numa_migrate_retry)
        if ts[c, T_P_SEQ] != ts[c, T_MM_SEQ]:  # task_numa_placement()
            ts[c, T_P_SEQ] = ts[c, T_MM_SEQ]
            rss = cgroup_rss(cg_i, page_node, c)
            ts[c, T_PERIOD_MAX] = task_scan_max_ms(rss, scan_pages, scan_period_min, scan_period_max)
            period = ts[c, T_PERIOD]
            if ts[c, T_LOCAL] == 0:
                period = min(ts[c, T_PERIOD_MAX], period << 1)
                ts[c, T_NEXT_SCAN] = t + period  # mm->numa_next_scan = jiffies + msecs_to_jiffies(period)
            else:
                slot = (period + 9) // 10  # DIV_ROUND_UP(period, NUMA_PERIOD_SLOTS)
                period = period + 3 * slot  # ps_ratio 10 - NUMA_PERIOD_THRESHOLD 7
                lo = task_scan_min_ms(rss, scan_pages, scan_period_min)
                if period < lo:
                    period = lo
                if period > ts[c, T_PERIOD_MAX]:
                    period = ts[c, T_PERIOD_MAX]
            ts[c, T_PERIOD] = period
            ts[c, T_LOCAL] = 0
            ts[c, T_REMOTE] = 0
            if ts[c, T_FAULTS] > 0:
                ts[c, T_PREFERRED] = 1  # max_faults > 0: sched_setnuma(p, max_nid)
        if ts[c, T_PREFERRED] != 0:  # numa_migrate_preferred()
            jp = (ts[c, T_PERIOD] * hz + 999) // 1000  # msecs_to_jiffies() rounds up
            ts[c, T_RETRY] = j + min(hz, jp // 16)
    ts[c, T_FAULTS] += 1
    if local:
        ts[c, T_LOCAL] += 1
    else:
        ts[c, T_REMOTE] += 1


# ----------------------------------------------------------------------------- LRU lists


@jit(warmup=lambda: (np.full(2, -1, np.int64), np.full(2, -1, np.int64), np.zeros(2, np.int64),
                     np.zeros(1, np.int32), np.zeros(1, np.int32), 0, 0))
def lru_add(lh, lt, lc, prv, nxt, L, p):
    """list_add(): page ``p`` at the head (most recent end) of list ``L``."""
    h = lh[L]
    prv[p] = -1
    nxt[p] = h
    if h >= 0:
        prv[h] = p
    else:
        lt[L] = p
    lh[L] = p
    lc[L] += 1


@jit(warmup=lambda: (np.zeros(2, np.int64), np.zeros(2, np.int64), np.ones(2, np.int64),
                     np.full(1, -1, np.int32), np.full(1, -1, np.int32), 0, 0))
def lru_del(lh, lt, lc, prv, nxt, L, p):
    """list_del(): unlink page ``p`` from list ``L``."""
    a = prv[p]
    b = nxt[p]
    if a >= 0:
        nxt[a] = b
    else:
        lh[L] = b
    if b >= 0:
        prv[b] = a
    else:
        lt[L] = a
    lc[L] -= 1
    prv[p] = -1
    nxt[p] = -1


# ----------------------------------------------------------------------------- the simulation


def _warm_args():
    from lwnlab.memtier.params import SimConfig, NodeSpec, CgroupSpec
    cfg = SimConfig(nodes=(NodeSpec(pages=4096), NodeSpec(pages=8192, kind="pmem")), cgroups=(CgroupSpec(pages=8192),),
                    seconds=1, accesses_per_sec=2000)
    return prepare(cfg, demotion_enabled=True)[0]


@jit(warmup=_warm_args)
def simulate(ip, node_i, zl, dem, dem_n, lower, lower_n, cg_i, cg_f,
             page_node, flags, stamp, prv, nxt, lh, lt, lc, kst,
             series, node_series, cg_series, ts):
    """Run ``ip[IP_SECONDS]`` simulated seconds; fill the series arrays; return the number of accesses.

    ``ts[c]`` holds process ``c``'s NUMA-balancing state (T_* columns), zero at the start.
    """
    nn = node_i.shape[0]
    ncg = cg_i.shape[0]
    mode = ip[IP_MODE]
    demotion = ip[IP_DEMOTION] != 0
    hot = ip[IP_HOT] != 0
    def_th = ip[IP_HOT_TH] & 0xFFFFFFFF
    # sysctl << (20 - PAGE_SHIFT): pages per second; the shift is done on the unsigned int sysctl, so
    # it wraps at 2**32 before it is widened to unsigned long (16777216 MB/s and up: rate_limit 0)
    rate_limit = (ip[IP_RATE_MBPS] << 8) & 0xFFFFFFFF
    auto = ip[IP_AUTO] != 0
    bypass = ip[IP_BYPASS] != 0
    scan_period = ip[IP_SCAN_PERIOD]  # 0: the kernel's own (task_scan_start(), then update_task_scan_period())
    scan_min = ip[IP_SCAN_MIN]
    th_period = ip[IP_SCAN_MAX]
    scan_pages = ip[IP_SCAN_PAGES]
    hz = ip[IP_HZ]
    tmask = ip[IP_TIME_MASK]
    tpp = ip[IP_TPP] != 0
    soft = ip[IP_SOFT] != 0
    swap = ip[IP_SWAP] != 0
    budget = ip[IP_KSWAPD_BUDGET]
    seconds = ip[IP_SECONDS]
    apms = ip[IP_APMS]
    tiering = (mode & 2) != 0

    rng = np.zeros(4, np.uint64)
    seed_rng(rng, ip[IP_SEED])
    free = np.empty(nn, np.int64)
    for n in range(nn):
        free[n] = node_i[n, NI_PAGES]
    awake = np.zeros(nn, np.int64)
    rr = np.zeros(nn, np.int64)  # kswapd's round-robin position over memcgs
    toptier_use = np.zeros(ncg, np.int64)
    scanpos = np.zeros(ncg, np.int64)
    scan_off = np.zeros(ncg, np.int64)
    for c in range(ncg):
        ts[c, T_NEXT_SCAN] = ip[IP_SCAN_DELAY]  # mm->numa_next_scan = jiffies + scan_delay at exec
        ts[c, T_RETRY] = -1
    cbuf = np.empty(apms, np.int64)
    pbuf = np.empty(apms, np.int64)
    wbuf = np.empty(apms, np.int8)
    tmp = np.empty(apms, np.int64)
    loc_rw = np.zeros(2 * nn, np.int64)
    loc_cg = np.zeros(2 * ncg, np.int64)
    top = np.zeros(nn, np.int64)
    for n in range(nn):
        top[n] = 1 if node_i[n, NI_TOPTIER] != 0 else 0
    any_soft = False
    for c in range(ncg):
        if cg_i[c, CI_SOFT] >= 0:
            any_soft = True
    soft = soft and any_soft
    sec = 0
    now = np.int64(0)
    ticks = np.empty(2, np.int64)  # [current ms (-1: prefault), ms of the last futile direct reclaim]
    ticks[0] = -1
    ticks[1] = -2

    # ---- prefault: touch pages in address order (pmbench initialises its buffer first)
    for c in range(ncg):
        if cg_i[c, CI_PREFAULT] == 0:
            continue
        base = cg_i[c, CI_START]
        for r in range(cg_i[c, CI_N]):
            _fault_in(base + r, c, 0, False, node_i, zl, dem, dem_n, lower, lower_n, cg_i, page_node, flags, stamp,
                      prv, nxt, lh, lt, lc, free, awake, rr, toptier_use, rng, series, cg_series, tmask, mode,
                      demotion, swap, ncg, ticks)
            flags[base + r] = 0  # initialised long ago: not young

    total_ms = seconds * 1000
    for t in range(total_ms):
        now = jiffies_msecs(hz, t)
        ticks[0] = t
        # ---- kswapd
        for n in range(nn):
            if soft and node_i[n, NI_TOPTIER] != 0 and free[n] < node_i[n, NI_TTW] and awake[n] == 0:
                awake[n] = 1
                series[sec, S_KSWAPD_WAKE] += 1
            if awake[n] != 0:
                node_series[sec, n, N_KSWAPD_MS] += 1
                _kswapd(n, budget, node_i, dem, dem_n, lower, lower_n, cg_i, page_node, flags, stamp, prv, nxt,
                        lh, lt, lc, free, awake, rr, toptier_use, rng, series, cg_series, sec, tmask, mode,
                        demotion, swap, soft, ncg)
        # ---- NUMA scanner, one per process
        if mode != 0:
            for c in range(ncg):
                if t >= ts[c, T_NEXT_SCAN]:
                    if ts[c, T_PERIOD] == 0:
                        if scan_period > 0:
                            ts[c, T_PERIOD] = scan_period
                        else:
                            # task_tick_numa(): the first tick after scan_delay of runtime sets
                            # numa_scan_period = task_scan_start(p), from the RSS the process has by then
                            ts[c, T_PERIOD] = task_scan_min_ms(cgroup_rss(cg_i, page_node, c), scan_pages, scan_min)
                    ts[c, T_NEXT_SCAN] = t + ts[c, T_PERIOD]  # task_numa_work(): next_scan = now + period
                    armed = _scan_window(c, now, cg_i, node_i, page_node, flags, stamp, scan_off, scan_pages,
                                         tmask, mode, ts)
                    series[sec, S_ARMED] += armed
                    cg_series[sec, c, C_ARMED] += armed
        # ---- this millisecond's accesses
        fill_accesses(cg_i, cg_f, scanpos, rng, t, cbuf, pbuf, wbuf, tmp)
        for k in range(apms):
            c = cbuf[k]
            p = pbuf[k]
            w = wbuf[k] != 0
            nd = page_node[p]
            if nd < 0:
                if nd == NODE_SWAP:
                    series[sec, S_SWAPIN] += 1
                    cg_series[sec, c, C_SWAPIN] += 1
                nd = _fault_in(p, c, sec, True, node_i, zl, dem, dem_n, lower, lower_n, cg_i, page_node, flags, stamp,
                               prv, nxt, lh, lt, lc, free, awake, rr, toptier_use, rng, series, cg_series, tmask,
                               mode, demotion, swap, ncg, ticks)
                if nd < 0:
                    series[sec, S_OOM] += 1
                    continue
            f = flags[p]
            if f & F_PROTNONE:
                # do_numa_page(): restore the PTE, then maybe migrate
                flags[p] = f & (0xFF ^ F_PROTNONE)
                series[sec, S_HINT] += 1
                cg_series[sec, c, C_HINT] += 1
                if tiering and node_i[nd, NI_TOPTIER] == 0:
                    dst = cg_i[c, CI_CPU]
                    ok = True
                    if tpp and (flags[p] & F_ACTIVE) == 0:
                        # TPP: promote only active pages; folio_mark_accessed() otherwise
                        ok = False
                        series[sec, S_TPP_SKIP] += 1
                        if flags[p] & F_PGREF:
                            L = (nd * ncg + c) * 2
                            lru_del(lh, lt, lc, prv, nxt, L, p)
                            flags[p] = (flags[p] & (0xFF ^ F_PGREF)) | F_ACTIVE
                            lru_add(lh, lt, lc, prv, nxt, L + 1, p)
                        else:
                            flags[p] |= F_PGREF
                    if ok:
                        if hot:
                            ok = False
                            if bypass and free[dst] > node_i[dst, NI_ENOUGH]:
                                kst[dst, K_THRESHOLD] = 0  # "workload changed, reset hot threshold"
                                series[sec, S_BYPASS] += 1
                                ok = True
                            else:
                                if auto:
                                    numa_promotion_adjust_threshold(kst, dst, rate_limit, def_th, now, th_period)
                                th = kst[dst, K_THRESHOLD]
                                if th == 0:
                                    th = def_th
                                latency = (now - stamp[p]) & tmask  # numa_hint_fault_latency()
                                stamp[p] = now & tmask
                                series[sec, S_LATTEST] += 1
                                cg_series[sec, c, C_LATTEST] += 1
                                if latency >= th:
                                    series[sec, S_LAT_FAIL] += 1
                                else:
                                    series[sec, S_CAND] += 1
                                    cg_series[sec, c, C_CAND] += 1
                                    if numa_promotion_rate_limit(kst, dst, rate_limit, 1, now):
                                        series[sec, S_RL_DENY] += 1
                                    else:
                                        ok = True
                    if ok:
                        # numamigrate_isolate_folio(): migrate_balanced_pgdat(dst, 1) or wake kswapd there
                        if free[dst] > node_i[dst, NI_HIGH] + 1:
                            _move(p, c, nd, dst, node_i, page_node, flags, stamp, prv, nxt, lh, lt, lc, free,
                                  toptier_use, tmask, mode, ncg)
                            if flags[p] & F_DEMOTED:
                                series[sec, S_PINGPONG] += 1
                                flags[p] &= 0xFF ^ F_DEMOTED
                            series[sec, S_PROMO] += 1
                            cg_series[sec, c, C_PROMO] += 1
                            nd = dst
                            if scan_period == 0:  # TNF_MIGRATED, mem_node = dst (top tier), not local
                                task_numa_fault(ts, cg_i, page_node, c, False, t, hz, scan_pages, scan_min,
                                                th_period)
                        else:
                            series[sec, S_PROMO_FAIL] += 1
                            if awake[dst] == 0:
                                awake[dst] = 1
                                series[sec, S_KSWAPD_WAKE] += 1
                elif node_i[nd, NI_TOPTIER] != 0 and scan_period == 0:
                    # mode 3: a hint fault on a top-tier page counts (local if on the CPU's node)
                    task_numa_fault(ts, cg_i, page_node, c, nd == cg_i[c, CI_CPU], t, hz, scan_pages, scan_min,
                                    th_period)
            flags[p] |= F_YOUNG
            # tick-local counters (flushed below): [node, write] and [cgroup, fast]
            loc_rw[nd * 2 + (1 if w else 0)] += 1
            loc_cg[c * 2 + top[nd]] += 1
        for n in range(nn):
            r_ = loc_rw[n * 2]
            w_ = loc_rw[n * 2 + 1]
            node_series[sec, n, N_READ] += r_
            node_series[sec, n, N_WRITE] += w_
            series[sec, S_READ] += r_
            series[sec, S_WRITE] += w_
            series[sec, S_ACC] += r_ + w_
            if top[n] != 0:
                series[sec, S_FAST] += r_ + w_
            loc_rw[n * 2] = 0
            loc_rw[n * 2 + 1] = 0
        for c in range(ncg):
            slow_ = loc_cg[c * 2]
            fast_ = loc_cg[c * 2 + 1]
            cg_series[sec, c, C_ACC] += slow_ + fast_
            cg_series[sec, c, C_FAST] += fast_
            loc_cg[c * 2] = 0
            loc_cg[c * 2 + 1] = 0
        # ---- end of a simulated second: snapshot levels
        if (t + 1) % 1000 == 0:
            for n in range(nn):
                node_series[sec, n, N_FREE] = free[n]
                th = kst[n, K_THRESHOLD]
                node_series[sec, n, N_THRESH] = th if th != 0 else def_th
            for c in range(ncg):
                cg_series[sec, c, C_TOPTIER] = toptier_use[c]
                cg_series[sec, c, C_SCAN_PERIOD] = ts[c, T_PERIOD]
            sec += 1
    return seconds * 1000 * apms


@jit
def _move(p, c, src, dst, node_i, page_node, flags, stamp, prv, nxt, lh, lt, lc, free, toptier_use, tmask, mode, ncg):
    """Migrate page ``p`` of cgroup ``c`` from ``src`` to ``dst`` (same LRU list kind, at its head)."""
    act = 1 if flags[p] & F_ACTIVE else 0
    lru_del(lh, lt, lc, prv, nxt, (src * ncg + c) * 2 + act, p)
    lru_add(lh, lt, lc, prv, nxt, (dst * ncg + c) * 2 + act, p)
    page_node[p] = dst
    free[src] += 1
    free[dst] -= 1
    flags[p] &= 0xFF ^ F_PROTNONE
    # folio_migrate_flags(): cpupid reset to -1 when crossing tiers in tiering mode
    if (mode & 2) and node_i[src, NI_TOPTIER] != node_i[dst, NI_TOPTIER]:
        stamp[p] = tmask
    if node_i[src, NI_TOPTIER] != 0:
        toptier_use[c] -= 1
    if node_i[dst, NI_TOPTIER] != 0:
        toptier_use[c] += 1


@jit
def _alloc_node(cpu, node_i, zl, free, awake, series, sec):
    """get_page_from_freelist(): the node to allocate on, or -1 (kswapd woken, min watermark tried)."""
    nn = zl.shape[0]
    for k in range(nn):  # fast path: ALLOC_WMARK_LOW down the zonelist
        n = zl[cpu, k]
        if free[n] > node_i[n, NI_LOW]:
            if k > 0:
                series[sec, S_FALLBACK] += 1
            return n
    for k in range(nn):  # slow path: wake_all_kswapds(), then ALLOC_WMARK_MIN
        n = zl[cpu, k]
        if awake[n] == 0:
            awake[n] = 1
            series[sec, S_KSWAPD_WAKE] += 1
    for k in range(nn):
        n = zl[cpu, k]
        if free[n] > node_i[n, NI_MIN]:
            if k > 0:
                series[sec, S_FALLBACK] += 1
            return n
    return -1


@jit
def _fault_in(p, c, sec, count, node_i, zl, dem, dem_n, lower, lower_n, cg_i, page_node, flags, stamp, prv, nxt,
              lh, lt, lc, free, awake, rr, toptier_use, rng, series, cg_series, tmask, mode, demotion, swap, ncg, ticks):
    """First touch (or swap-in) of page ``p``: allocate near the CPU, reclaiming directly if needed.

    ``ticks`` = [current ms, ms of the last futile direct reclaim]: once direct reclaim made no
    progress at all, the rest of that millisecond's failing allocations go straight to OOM
    (the kernel gives up retrying too; should_reclaim_retry()).
    """
    cpu = cg_i[c, CI_CPU]
    n = _alloc_node(cpu, node_i, zl, free, awake, series, sec)
    if n < 0 and ticks[1] == ticks[0]:
        return -1
    if n < 0:
        # __alloc_pages_direct_reclaim(): reclaim SWAP_CLUSTER_MAX on the zonelist, then retry at min
        # (priority rounds: each scans more, until something was reclaimed)
        series[sec, S_DIRECT_RECLAIM] += 1
        nn = zl.shape[0]
        got = 0
        for prio in range(4):
            for k in range(nn):
                m = zl[cpu, k]
                resident = node_i[m, NI_PAGES] - free[m]
                got = _shrink_node(m, -1, 32, min((32 * 8) << (2 * prio), resident), True, node_i, dem, dem_n, lower, lower_n,
                                   page_node, flags, stamp, prv, nxt, lh, lt, lc, free, awake, rr, toptier_use, rng,
                                   series, cg_series, sec, tmask, mode, demotion, swap, ncg, False)
                if got > 0:
                    break
            if got > 0:
                break
        n = _alloc_node(cpu, node_i, zl, free, awake, series, sec)
        if n < 0:
            if got == 0:
                ticks[1] = ticks[0]
            return -1
    page_node[p] = n
    free[n] -= 1
    flags[p] = F_YOUNG
    stamp[p] = tmask  # page_cpupid_reset_last()
    lru_add(lh, lt, lc, prv, nxt, (n * ncg + c) * 2, p)  # new anon folios start inactive (5.9+)
    if node_i[n, NI_TOPTIER] != 0:
        toptier_use[c] += 1
    if count:
        series[sec, S_ALLOC] += 1
    return n


@jit
def _reclaim_page(p, c, n, direct, node_i, dem, dem_n, lower, lower_n, page_node, flags, stamp, prv, nxt, lh, lt, lc,
                  free, awake, toptier_use, rng, series, cg_series, sec, tmask, mode, demotion, swap, ncg):
    """Reclaim inactive page ``p`` from node ``n``: demote_folio_list() if possible, else swap out. 1 if freed."""
    if demotion and dem_n[n] > 0:
        # next_demotion_node(): a random preferred target; alloc_demote_folio() may fall back to lower tiers
        t = dem[n, 0]
        if dem_n[n] > 1:
            t = dem[n, np.int64(next_u64(rng) % np.uint64(dem_n[n]))]
        target = -1
        if free[t] > node_i[t, NI_LOW]:
            target = t
        else:
            if awake[t] == 0:
                awake[t] = 1
                series[sec, S_KSWAPD_WAKE] += 1
            if free[t] > node_i[t, NI_MIN]:
                target = t
            else:
                for k in range(lower_n[n]):
                    m = lower[n, k]
                    if free[m] > node_i[m, NI_MIN]:
                        target = m
                        break
        if target >= 0:
            _move(p, c, n, target, node_i, page_node, flags, stamp, prv, nxt, lh, lt, lc, free, toptier_use, tmask,
                  mode, ncg)
            flags[p] |= F_DEMOTED
            if direct:
                series[sec, S_DEMOTE_DIRECT] += 1
            else:
                series[sec, S_DEMOTE_KSWAPD] += 1
            cg_series[sec, c, C_DEMOTE] += 1
            return 1
    if not swap:
        return 0
    lru_del(lh, lt, lc, prv, nxt, (n * ncg + c) * 2, p)
    page_node[p] = NODE_SWAP
    flags[p] = 0
    free[n] += 1
    if node_i[n, NI_TOPTIER] != 0:
        toptier_use[c] -= 1
    series[sec, S_SWAPOUT] += 1
    return 1


@jit
def _shrink_lruvec(n, c, nr, direct, node_i, dem, dem_n, lower, lower_n, page_node, flags, stamp, prv, nxt, lh, lt,
                   lc, free, awake, toptier_use, rng, series, cg_series, sec, tmask, mode, demotion, swap, ncg):
    """shrink_lruvec() for one memcg on one node: balance active/inactive, then scan ``nr`` inactive pages.

    Returns (scanned, reclaimed) packed as scanned * 2**32 + reclaimed.
    """
    Li = (n * ncg + c) * 2
    La = Li + 1
    inactive = lc[Li]
    active = lc[La]
    gb = (inactive + active) >> 18  # (inactive + active) >> (30 - PAGE_SHIFT)
    ratio = 1
    if gb > 0:
        ratio = np.int64(np.sqrt(10.0 * gb))
        while (ratio + 1) * (ratio + 1) <= 10 * gb:
            ratio += 1
        while ratio * ratio > 10 * gb:
            ratio -= 1
    scanned = 0
    if inactive * ratio < active:  # inactive_is_low(): shrink_active_list() deactivates from the tail
        for _ in range(nr):
            q = lt[La]
            if q < 0:
                break
            lru_del(lh, lt, lc, prv, nxt, La, q)
            flags[q] &= 0xFF ^ (F_ACTIVE | F_YOUNG)  # folio_referenced() clears the young bits; anon is deactivated
            lru_add(lh, lt, lc, prv, nxt, Li, q)
            scanned += 1
    reclaimed = 0
    for _ in range(nr):
        q = lt[Li]
        if q < 0:
            break
        scanned += 1
        f = flags[q]
        young = (f & F_YOUNG) != 0
        was_ref = (f & F_PGREF) != 0
        f &= 0xFF ^ (F_YOUNG | F_PGREF)  # folio_referenced() / folio_test_clear_referenced()
        if young:
            f |= F_PGREF
            flags[q] = f
            lru_del(lh, lt, lc, prv, nxt, Li, q)
            if was_ref:  # FOLIOREF_ACTIVATE
                flags[q] = f | F_ACTIVE
                lru_add(lh, lt, lc, prv, nxt, La, q)
            else:  # FOLIOREF_KEEP
                lru_add(lh, lt, lc, prv, nxt, Li, q)
            continue
        flags[q] = f
        if _reclaim_page(q, c, n, direct, node_i, dem, dem_n, lower, lower_n, page_node, flags, stamp, prv, nxt,
                         lh, lt, lc, free, awake, toptier_use, rng, series, cg_series, sec, tmask, mode, demotion,
                         swap, ncg):
            reclaimed += 1
        else:  # could not reclaim: rotate
            lru_del(lh, lt, lc, prv, nxt, Li, q)
            lru_add(lh, lt, lc, prv, nxt, Li, q)
    return scanned * 4294967296 + reclaimed


@jit
def _shrink_node(n, only_cg, want, max_scan, direct, node_i, dem, dem_n, lower, lower_n, page_node, flags, stamp,
                 prv, nxt, lh, lt, lc, free, awake, rr, toptier_use, rng, series, cg_series, sec, tmask, mode,
                 demotion, swap, ncg, soft_phase):
    """Reclaim up to ``want`` pages from node ``n`` scanning at most ``max_scan``; memcgs round-robin (or ``only_cg``)."""
    got = 0
    scanned = 0
    idle = 0
    while got < want and scanned < max_scan and idle < ncg:
        if only_cg >= 0:
            c = only_cg
        else:
            c = rr[n] % ncg
            rr[n] += 1
        Li = (n * ncg + c) * 2
        if lc[Li] + lc[Li + 1] == 0:
            idle += 1
            if only_cg >= 0:
                break
            continue
        r = _shrink_lruvec(n, c, min(32, want - got), direct, node_i, dem, dem_n, lower, lower_n, page_node, flags, stamp, prv, nxt,
                           lh, lt, lc, free, awake, toptier_use, rng, series, cg_series, sec, tmask, mode, demotion,
                           swap, ncg)
        s = r >> 32
        g = r & 0xFFFFFFFF
        scanned += s
        got += g
        if soft_phase:
            series[sec, S_SOFT_RECLAIM] += g
        if s == 0:
            idle += 1
        else:
            idle = 0
    return got


@jit
def _kswapd(n, budget, node_i, dem, dem_n, lower, lower_n, cg_i, page_node, flags, stamp, prv, nxt, lh, lt, lc,
            free, awake, rr, toptier_use, rng, series, cg_series, sec, tmask, mode, demotion, swap, soft, ncg):
    """One millisecond of kswapd on node ``n`` (balance_pgdat), with at most ``budget`` pages scanned."""
    spent = 0
    # RFC: top-tier soft limit first, biggest excess first, while free < toptier_scale_factor
    if soft and node_i[n, NI_TOPTIER] != 0:
        while spent < budget and free[n] < node_i[n, NI_TTW]:
            best = -1
            excess = 0
            for c in range(cg_i.shape[0]):
                lim = cg_i[c, CI_SOFT]
                if lim >= 0 and toptier_use[c] - lim > excess:
                    excess = toptier_use[c] - lim
                    best = c
            if best < 0:
                break
            want = min(excess, budget - spent)
            got = _shrink_node(n, best, want, want * 4 + 64, False, node_i, dem, dem_n, lower, lower_n, page_node,
                               flags, stamp, prv, nxt, lh, lt, lc, free, awake, rr, toptier_use, rng, series,
                               cg_series, sec, tmask, mode, demotion, swap, ncg, True)
            spent += want
            if got == 0:
                break
    mark = node_i[n, NI_PROMO] if (mode & 2) else node_i[n, NI_HIGH]  # pgdat_balanced()
    if free[n] > mark:
        if not (soft and node_i[n, NI_TOPTIER] != 0 and free[n] < node_i[n, NI_TTW]):
            awake[n] = 0
        return
    if spent < budget:
        # kswapd_shrink_node(): nr_to_reclaim = max(high_wmark_pages, SWAP_CLUSTER_MAX) per round
        want = max(node_i[n, NI_HIGH], 32)
        _shrink_node(n, -1, want, budget - spent, False, node_i, dem, dem_n, lower, lower_n, page_node, flags, stamp,
                     prv, nxt, lh, lt, lc, free, awake, rr, toptier_use, rng, series, cg_series, sec, tmask, mode,
                     demotion, swap, ncg, False)
    if free[n] > mark:
        awake[n] = 0


@jit
def _scan_window(c, now, cg_i, node_i, page_node, flags, stamp, scan_off, scan_pages, tmask, mode, ts):
    """task_numa_work(): arm up to scan_size of the process's address space; returns PTEs updated.

    The process is one VMA.  A window that uses up its pages exactly at the VMA's end leaves
    numa_scan_offset there (``goto out`` with a VMA in hand); the next window then finds no VMA and
    calls reset_ptenuma_scan() before scanning from 0.  A window that runs past the VMA's end
    without using up its pages resets right away.  Each reset bumps numa_scan_seq (ts[c, T_MM_SEQ]).
    """
    base = cg_i[c, CI_START]
    n = cg_i[c, CI_N]
    pages = scan_pages
    virtpages = scan_pages * 8
    off = scan_off[c]
    armed = 0
    if off >= n:  # vma_next() finds nothing at the offset: reset_ptenuma_scan(), start at 0
        ts[c, T_MM_SEQ] += 1
        off = 0
    while True:
        end = ((off + pages + 511) // 512) * 512  # ALIGN(start + pages, HPAGE_SIZE)
        if end > n:
            end = n
        upd = 0
        for r in range(off, end):
            p = base + r
            nd = page_node[p]
            if nd < 0:
                continue
            f = flags[p]
            if f & F_PROTNONE:  # already PROT_NONE: skipped, keeps its old stamp
                continue
            top = node_i[nd, NI_TOPTIER] != 0
            if top and (mode & 1) == 0:  # tiering only: top-tier pages are not scanned
                continue
            if (mode & 2) and not top:
                stamp[p] = now & tmask  # folio_xchg_access_time()
            flags[p] = f | F_PROTNONE
            upd += 1
        armed += upd
        span = end - off
        if upd > 0:
            pages -= span
        virtpages -= span
        off = end
        if pages <= 0 or virtpages <= 0:
            break  # goto out: numa_scan_offset = start, even at the VMA's end
        if off >= n:
            ts[c, T_MM_SEQ] += 1  # past the last VMA: reset_ptenuma_scan() at out
            off = 0
            break
    scan_off[c] = off
    return armed


# ----------------------------------------------------------------------------- Python side


def policy_ints(cfg, **override) -> np.ndarray:
    """The int64 parameter vector for ``cfg`` (``override``: policy fields to replace)."""
    import dataclasses

    p = dataclasses.replace(cfg.policy, **override) if override else cfg.policy
    ip = np.zeros(NIP, np.int64)
    ip[IP_MODE] = p.numa_balancing
    ip[IP_DEMOTION] = int(p.demotion_enabled)
    ip[IP_HOT] = int(p.promotion == "hot")
    ip[IP_HOT_TH] = p.hot_threshold_ms
    ip[IP_RATE_MBPS] = p.promote_rate_limit_mbps
    ip[IP_AUTO] = int(p.auto_adjust)
    ip[IP_BYPASS] = int(p.free_space_bypass)
    ip[IP_SCAN_DELAY] = p.scan_delay_ms
    ip[IP_SCAN_PERIOD] = 0 if p.scan_period_ms is None else p.scan_period_ms  # 0: the kernel's dynamics
    ip[IP_SCAN_MAX] = p.scan_period_max_ms
    ip[IP_SCAN_PAGES] = p.scan_size_mb << 8
    ip[IP_HZ] = p.hz
    ip[IP_TIME_MASK] = (1 << p.access_time_bits) - 1
    ip[IP_TPP] = int(p.tpp_active_check)
    ip[IP_SOFT] = int(p.soft_limit)
    ip[IP_SWAP] = int(p.swap)
    ip[IP_KSWAPD_BUDGET] = p.kswapd_pages_per_ms
    ip[IP_SECONDS] = cfg.seconds
    ip[IP_APMS] = cfg.accesses_per_sec // 1000
    ip[IP_SEED] = cfg.seed
    ip[IP_SCAN_MIN] = p.scan_period_min_ms
    return ip


def memory_available() -> int | None:
    """Bytes of memory this machine can still give (MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def state_bytes(npages: int, seconds: int, nn: int, ncg: int) -> int:
    """Bytes of simulation state: BYTES_PER_PAGE per modelled page plus the per-second series."""
    return npages * BYTES_PER_PAGE + seconds * (NS + nn * NNS + ncg * NCS) * 8


def _check_memory(npages: int, seconds: int, nn: int, ncg: int) -> None:
    from lwnlab.errors import ConfigError

    need = state_bytes(npages, seconds, nn, ncg)
    avail = memory_available()
    if avail is not None and need > 0.8 * avail:
        raise ConfigError(f"{npages:,} pages need {need / 2**30:.1f} GiB of simulation state "
                          f"({BYTES_PER_PAGE} bytes per page), more than this machine has free "
                          f"({avail / 2**30:.1f} GiB available)", field="cgroups")


def prepare(cfg, **policy_override):
    """Validate ``cfg`` and build every array :func:`simulate` takes: (args tuple, machine)."""
    from lwnlab.memtier.machine import build_machine
    from lwnlab.memtier.params import validate, with_policy
    from lwnlab.memtier.workloads import compile_cgroups

    cfg = with_policy(cfg, **policy_override)
    validate(cfg)
    m = build_machine(cfg)
    nn = m.nnodes
    ncg = len(cfg.cgroups)
    node_i = np.zeros((nn, NNI), np.int64)
    node_i[:, NI_PAGES] = m.pages
    node_i[:, NI_MIN:NI_PROMO + 1] = m.wmark
    node_i[:, NI_ENOUGH] = m.enough
    node_i[:, NI_TTW] = m.toptier_wmark
    node_i[:, NI_TOPTIER] = m.toptier.astype(np.int64)
    dem = np.full((nn, nn), -1, np.int64)
    dem_n = np.zeros(nn, np.int64)
    lower = np.full((nn, nn), -1, np.int64)
    lower_n = np.zeros(nn, np.int64)
    for i in range(nn):
        dem_n[i] = len(m.demotion[i])
        dem[i, :dem_n[i]] = m.demotion[i]
        lower_n[i] = len(m.lower_tier[i])
        lower[i, :lower_n[i]] = m.lower_tier[i]
    cg_i, cg_f = compile_cgroups(cfg.cgroups)
    npages = int(sum(c.pages for c in cfg.cgroups))
    _check_memory(npages, cfg.seconds, nn, ncg)
    page_node = np.full(npages, NODE_NONE, np.int8)
    flags = np.zeros(npages, np.uint8)
    stamp = np.zeros(npages, np.uint32)
    prv = np.full(npages, -1, np.int32)
    nxt = np.full(npages, -1, np.int32)
    nl = nn * ncg * 2
    lh = np.full(nl, -1, np.int64)
    lt = np.full(nl, -1, np.int64)
    lc = np.zeros(nl, np.int64)
    kst = np.zeros((nn, NK), np.int64)
    s = cfg.seconds
    series = np.zeros((s, NS), np.int64)
    node_series = np.zeros((s, nn, NNS), np.int64)
    cg_series = np.zeros((s, ncg, NCS), np.int64)
    ts = np.zeros((ncg, NT), np.int64)
    args = (policy_ints(cfg), node_i, m.zonelists, dem, dem_n, lower, lower_n, cg_i, cg_f,
            page_node, flags, stamp, prv, nxt, lh, lt, lc, kst, series, node_series, cg_series, ts)
    return args, m


def run(cfg, progress=None, **policy_override):
    """Simulate ``cfg`` and return a :class:`~lwnlab.memtier.results.Result`.

    ``progress(done_seconds, total_seconds)``, if given, is called about ten times a second
    while the (GIL-free) kernel runs in a worker thread; it reads how many simulated seconds
    already have accesses counted.
    """
    from lwnlab.memtier.results import Result

    args, m = prepare(cfg, **policy_override)
    if policy_override:
        import dataclasses

        cfg = dataclasses.replace(cfg, policy=dataclasses.replace(cfg.policy, **policy_override))
    if progress is None:
        simulate(*args)
    else:
        import threading

        series = args[18]
        err = []

        def work():
            try:
                simulate(*args)
            except BaseException as e:  # pragma: no cover - re-raised below
                err.append(e)

        th = threading.Thread(target=work, daemon=True)
        th.start()
        while th.is_alive():
            th.join(0.1)
            progress(int(np.count_nonzero(series[:, S_ACC] + series[:, S_OOM])), cfg.seconds)
        if err:
            raise err[0]
        progress(cfg.seconds, cfg.seconds)
    return Result(cfg, m, args)
