"""Property tests: config round trips, invariants on random small machines, numba == plain Python."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lwnlab.errors import ConfigError
from lwnlab.memtier import sim as S
from lwnlab.memtier.params import CgroupSpec, NodeSpec, Policy, SimConfig, config_from_dict, to_dict, validate

N = int(os.environ.get("LWNLAB_HYPOTHESIS_EXAMPLES", "15"))

nodes = st.tuples(st.integers(512, 4096), st.integers(512, 8192), st.sampled_from(["pmem", "cxl"]))
cgroup = st.builds(
    CgroupSpec, pages=st.integers(64, 6000),
    pattern=st.sampled_from(["uniform", "zipf", "gaussian", "pareto", "scan", "hotset"]),
    shape=st.sampled_from([0.1, 0.5, 0.99, 1.2]), read_ratio=st.floats(0, 1), weight=st.floats(0.1, 10),
    phase_ms=st.sampled_from([0, 700]), prefault=st.booleans(),
    soft_limit_pages=st.one_of(st.none(), st.integers(0, 3000)))
policy = st.builds(
    Policy, numa_balancing=st.sampled_from([0, 2, 3]), demotion_enabled=st.booleans(),
    promotion=st.sampled_from(["hot", "mru"]), hot_threshold_ms=st.integers(0, 3000),
    promote_rate_limit_mbps=st.sampled_from([0, 1, 4, 65536]), auto_adjust=st.booleans(),
    tpp_active_check=st.booleans(), swap=st.booleans(), scan_period_ms=st.sampled_from([None, 100, 400]),
    scan_delay_ms=st.sampled_from([0, 1000]), kswapd_pages_per_ms=st.sampled_from([1, 64, 256]))


@st.composite
def configs(draw):
    d, s, kind = draw(nodes)
    return SimConfig(nodes=(NodeSpec(pages=d), NodeSpec(pages=s, kind=kind)),
                     cgroups=tuple(draw(st.lists(cgroup, min_size=1, max_size=3))), policy=draw(policy),
                     seconds=draw(st.integers(1, 3)), accesses_per_sec=draw(st.sampled_from([2000, 10000])),
                     seed=draw(st.integers(0, 2 ** 32)))


@settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_config_round_trips_through_json(cfg):
    data = json.loads(json.dumps(to_dict(cfg)))
    try:
        validate(cfg)
    except ConfigError as e:
        # an invalid config is just as invalid as JSON, and the error names the same field
        with pytest.raises(ConfigError) as e2:
            config_from_dict(data)
        assert e2.value.field == e.field
        return
    assert config_from_dict(data) == cfg


@settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_invariants_hold_on_random_machines(cfg):
    try:
        res = S.run(cfg)
    except ConfigError:
        assume(False)   # e.g. hotset with shape > 1: rejected up front, as it should be
    pn = res.page_node
    for n in range(res.machine.nnodes):
        free = res.node_series[-1, n, S.N_FREE]
        assert 0 <= free <= res.machine.pages[n]
        assert (pn == n).sum() == res.machine.pages[n] - free
    s = res.series.sum(0)
    assert s[S.S_ACC] + s[S.S_OOM] == cfg.seconds * cfg.accesses_per_sec
    assert s[S.S_ACC] == s[S.S_READ] + s[S.S_WRITE]
    assert s[S.S_PROMO] <= s[S.S_HINT]
    if cfg.policy.numa_balancing == 0:
        assert s[S.S_HINT] == 0
    if not cfg.policy.demotion_enabled:
        assert s[S.S_DEMOTE_KSWAPD] + s[S.S_DEMOTE_DIRECT] == 0
    top = res.machine.toptier
    use = np.array([((pn[int(res.args[7][c, 0]):int(res.args[7][c, 0] + res.args[7][c, 1])] >= 0)
                     & top[np.maximum(pn[int(res.args[7][c, 0]):int(res.args[7][c, 0] + res.args[7][c, 1])], 0)]
                     ).sum() for c in range(len(cfg.cgroups))])
    assert np.array_equal(use, res.toptier_pages()[-1])
    assert ((res.stamp <= (1 << cfg.policy.access_time_bits) - 1)).all()
    # tiers are never over capacity, at any second
    assert (res.node_series[:, :, S.N_FREE] >= 0).all()
    assert (res.node_series[:, :, S.N_FREE] <= res.machine.pages[None, :]).all()
    # every page is somewhere: untouched, on a node or in swap, and nothing else
    assert ((pn >= S.NODE_SWAP) & (pn < res.machine.nnodes)).all()
    p = cfg.policy
    if p.numa_balancing and p.promotion == "hot":
        # numa_promotion_rate_limit(): at most rate_limit candidates pass per window of > 1000 ms, so a
        # second sees at most two windows' worth and the run at most seconds + 1 windows (bypass aside)
        rl = (p.promote_rate_limit_mbps << 8) & 0xFFFFFFFF
        limited = res.series[:, S.S_PROMO] - res.series[:, S.S_BYPASS]
        assert (limited <= 2 * rl).all()
        assert limited.sum() <= rl * (cfg.seconds + 1)
        # the threshold stays within [unit_th, 2 * hot_threshold_ms]
        th = res.node_series[:, :, S.N_THRESH][:, res.machine.toptier]
        unit = p.hot_threshold_ms * 2 // 16
        assert ((th == p.hot_threshold_ms) | ((th >= unit) & (th <= 2 * p.hot_threshold_ms))).all()
    # the same seed gives the same run
    again = S.run(cfg)
    assert np.array_equal(again.series, res.series) and np.array_equal(again.page_node, res.page_node)
    assert np.array_equal(again.cg_series, res.cg_series)


_CHILD = r"""
import json, sys
import numpy as np
from lwnlab.memtier import sim
from lwnlab.memtier.params import config_from_dict
res = sim.run(config_from_dict(json.loads(sys.argv[1])))
print(json.dumps({"series": res.series.tolist(), "node": res.node_series.tolist(), "cg": res.cg_series.tolist(),
                  "page_node": res.page_node.tolist()}))
"""


@pytest.mark.parametrize("scan_period_ms", [200, None])
def test_numba_and_plain_python_give_the_same_run(scan_period_ms):
    cfg = SimConfig(nodes=(NodeSpec(pages=1024), NodeSpec(pages=4096, kind="pmem")),
                    cgroups=(CgroupSpec(pages=2000, pattern="hotset", shape=0.2, phase_ms=1500),
                             CgroupSpec(pages=1500, pattern="uniform", soft_limit_pages=300, weight=0.5),
                             CgroupSpec(pages=500, pattern="scan", shape=3, prefault=False)),
                    policy=Policy(numa_balancing=2, demotion_enabled=True, promote_rate_limit_mbps=1,
                                  scan_period_ms=scan_period_ms, scan_delay_ms=0, tpp_active_check=True),
                    seconds=3, accesses_per_sec=4000, seed=11)
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", _CHILD, json.dumps(to_dict(cfg))],
                         env={**os.environ, "NUMBA_DISABLE_JIT": "1"}, capture_output=True, text=True, check=True)
    py = json.loads(out.stdout)
    res = S.run(cfg)
    assert res.totals()["pgpromote_success"] > 0 and res.totals()["pgdemote_kswapd"] > 0
    assert py["series"] == res.series.tolist()
    assert py["node"] == res.node_series.tolist()
    assert py["cg"] == res.cg_series.tolist()
    assert py["page_node"] == res.page_node.tolist()
    if scan_period_ms is None:
        assert res.scan_period_ms()[-1].max() > 1000    # the kernel's period adapted
