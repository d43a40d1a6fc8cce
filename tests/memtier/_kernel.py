"""Drive the simulation's kernel pieces (page faults, kswapd) by hand, for order-of-reclaim tests."""

import numpy as np

from lwnlab.memtier import sim as S


class Box:
    def __init__(self, cfg):
        args, m = S.prepare(cfg)
        (self.ip, self.node_i, self.zl, self.dem, self.dem_n, self.lower, self.lower_n, self.cg_i, self.cg_f,
         self.page_node, self.flags, self.stamp, self.prv, self.nxt, self.lh, self.lt, self.lc, self.kst,
         self.series, self.node_series, self.cg_series, self.ts) = args
        self.m = m
        nn, ncg = m.nnodes, len(cfg.cgroups)
        self.ncg = ncg
        self.free = m.pages.astype(np.int64).copy()
        self.awake = np.zeros(nn, np.int64)
        self.rr = np.zeros(nn, np.int64)
        self.toptier_use = np.zeros(ncg, np.int64)
        self.rng = np.zeros(4, np.uint64)
        S.seed_rng(self.rng, 1)
        self.mode = int(self.ip[S.IP_MODE])
        self.demotion = bool(self.ip[S.IP_DEMOTION])
        self.swap = bool(self.ip[S.IP_SWAP])
        self.tmask = int(self.ip[S.IP_TIME_MASK])

    def fault(self, c, r):
        p = int(self.cg_i[c, 0]) + r
        return S._fault_in(p, c, 0, True, self.node_i, self.zl, self.dem, self.dem_n, self.lower, self.lower_n,
                           self.cg_i, self.page_node, self.flags, self.stamp, self.prv, self.nxt, self.lh, self.lt,
                           self.lc, self.free, self.awake, self.rr, self.toptier_use, self.rng, self.series,
                           self.cg_series, self.tmask, self.mode, self.demotion, self.swap, self.ncg,
                           np.array([0, -1], np.int64))

    def kswapd(self, n, budget, soft=False):
        S._kswapd(n, budget, self.node_i, self.dem, self.dem_n, self.lower, self.lower_n, self.cg_i, self.page_node,
                  self.flags, self.stamp, self.prv, self.nxt, self.lh, self.lt, self.lc, self.free, self.awake,
                  self.rr, self.toptier_use, self.rng, self.series, self.cg_series, 0, self.tmask, self.mode,
                  self.demotion, self.swap, soft, self.ncg)

    def lru(self, n, c, active):
        """Pages of list (n, c, active) from head (newest) to tail (oldest)."""
        L = (n * self.ncg + c) * 2 + (1 if active else 0)
        out, p = [], int(self.lh[L])
        while p >= 0:
            out.append(p)
            p = int(self.nxt[p])
        assert len(out) == self.lc[L]
        return out
