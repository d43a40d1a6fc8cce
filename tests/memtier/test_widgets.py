"""Widget state: controls drive the simulation, artists follow the result, nothing recompiles."""

import numpy as np

from lwnlab.memtier import sim as S
from lwnlab.memtier.params import NodeSpec
from lwnlab.memtier.widgets import make_simulator, make_softlimit_explorer, widget_config


def small_cfg():
    return widget_config().replace(seconds=6, accesses_per_sec=100_000)


def test_controls_start_from_kernel_values_and_are_not_continuous():
    s = make_simulator(small_cfg())
    assert s.hot_threshold.value == 1000
    assert s.rate_limit.value == 65536
    assert s.auto_adjust.value is True and s.promotion.value == "hot"
    for c in (s.hot_threshold, s.rate_limit, s.dram_share, s.soft_limit, s.scale_factor):
        assert c.continuous_update is False
    assert s.soft_limit.disabled and s.scale_factor.disabled      # one cgroup: no soft limit to set
    assert s.result is not None and s.runs == 1


def test_slider_change_reruns_and_updates_artists(no_recompile):
    s = make_simulator(small_cfg())
    first = s.result
    with no_recompile():
        s.hot_threshold.value = 250
        s.rate_limit.value = 4
        s.dram_share.value = 0.35
        s.demotion.value = False
        s.auto_adjust.value = False
        s.promotion.value = "mru"
        s.numa_balancing.value = 0
    assert s.runs == 8
    assert s.config.policy.numa_balancing == 0 and s.config.policy.promotion == "mru"
    assert s.result is not first
    x, y = s.lines["fast_hit"].get_data()
    assert np.allclose(y, s.result.fast_hit_ratio())
    assert np.allclose(s.lines["promoted"].get_data()[1], 0)          # numa_balancing 0: nothing promoted
    fast_pages = s.config.nodes[0].pages
    assert abs(fast_pages / sum(n.pages for n in s.config.nodes) - 0.35) < 0.01
    assert s.wmark_lines[3].get_ydata()[0] == s.result.machine.wmark[0][3]
    assert s.view.redraws == s.runs


def test_threshold_line_follows_the_knob():
    s = make_simulator(small_cfg())
    s.hot_threshold.value = 500
    th = s.lines["threshold"].get_data()[1]
    assert (th == 500).all()      # the adjuster's first period (60 s) has not ended yet


def test_rate_limit_widget_limits_promotions():
    s = make_simulator(small_cfg())
    s.dram_share.value = 0.15
    free = s.result.totals()["pgpromote_success"]
    s.rate_limit.value = 1
    assert s.result.totals()["pgpromote_success"] < free
    assert s.result.column("pgpromote_success").max() <= 2 * 256


def test_softlimit_explorer_changes_the_limit():
    s = make_softlimit_explorer()
    assert not s.soft_limit.disabled
    s.soft_limit.value = 0.3
    lim = s.config.cgroups[-1].soft_limit_pages
    assert lim == int(0.3 * s.config.nodes[0].pages)
    assert s.result.totals()["softlimit_reclaimed"] > 0
    s.scale_factor.value = 0
    assert s.result.totals()["softlimit_reclaimed"] == 0    # never below 0% free: kswapd never enforces it


def test_bad_input_shows_an_error_not_a_traceback():
    s = make_simulator(small_cfg())
    s.base = s.base.replace(nodes=(NodeSpec(pages=4096), NodeSpec(pages=4096, kind="pmem", zone="weird")))
    assert s.run() is None
    assert "nodes[1].zone" in s.error.widget.value


def test_where_the_pages_are_per_cgroup_and_the_soft_limit_line(no_recompile):
    s = make_softlimit_explorer()
    with no_recompile():
        s.soft_limit.value = 0.4
    top = s.result.toptier_pages()
    for i, name in enumerate(s.cg_names):
        assert np.array_equal(s.lines[f"toptier:{name}"].get_data()[1], top[:, i])
    lim = s.config.cgroups[-1].soft_limit_pages
    assert s.soft_line.get_visible() and s.soft_line.get_ydata()[0] == lim == int(0.4 * s.config.nodes[0].pages)
    assert s.axes["free"].get_ylim()[1] > top.max()
    one = make_simulator(small_cfg())
    assert not one.soft_line.get_visible() and list(one.cg_names) == ["cg0"]
