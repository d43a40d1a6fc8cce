"""Reference experiments and exercise self-checks."""

import math

from lwnlab.memtier import experiments as E
from lwnlab.memtier import exercises as X
from lwnlab.memtier import machine as M
from lwnlab.memtier import presets


def test_ladder_reproduces_the_published_directions():
    exp = E.promotion_ladder(presets.ladder().replace(seconds=120), warmup_s=60, plot=False)
    d = E.ladder_directions(exp)
    assert all(d.values()), d
    rows = {r["step"]: r for r in exp.data["rows"]}
    # no promotion -> MRU promotion: about 2x (published +97%)
    assert 1.6 < rows["MRU promotion (5.18)"]["score_Macc_s"] / rows["no promotion"]["score_Macc_s"] < 2.6


def test_softlimit_protects_the_latency_sensitive_cgroup():
    exp = E.softlimit(presets.softlimit().replace(seconds=25), plot=False)
    without, with_ = exp.data["rows"]
    assert without["ls_fast_hit_ratio"] < 0.5
    assert with_["ls_fast_hit_ratio"] >= 0.99
    assert with_["softlimit_reclaimed"] > 0 and without["softlimit_reclaimed"] == 0


def test_rate_limit_sweep_converges_faster_with_a_higher_limit():
    exp = E.ratelimit_sweep(presets.phase().replace(seconds=55), limits=(4, 64), plot=False)
    slow, fast = exp.data["rows"]
    assert fast["converge_s"] < slow["converge_s"]
    assert fast["promoted_MB"] > slow["promoted_MB"]


def test_converge_seconds():
    import numpy as np

    f = np.array([0.9] * 10 + [0.2, 0.5, 0.85, 0.9, 0.9])
    assert E.converge_seconds(f, 10) == 4.0
    assert E.converge_seconds(np.array([0.9] * 10 + [0.1] * 5), 10) == math.inf


def test_exercise_checks():
    _, (w,) = M.zone_watermarks([64 << 18], [False])
    assert X.check_watermarks(*w.as_tuple())
    assert not X.check_watermarks(w.min, w.low, w.high, w.promo + 1)
    assert not X.check_watermarks(None, None, None, None)
    assert X.check_half_rate(math.log(2))
    assert X.check_half_rate(math.log(2) * 2, hot_threshold_ms=500)
    assert not X.check_half_rate(0.5)
    assert not X.check_rate_limit(None) and not X.check_rate_limit(3)
    assert not X.check_soft_limit(None)
    cfg = presets.softlimit().replace(seconds=20)
    assert X.check_soft_limit(16384, cfg=cfg)
    assert not X.check_soft_limit(28000, cfg=cfg)
    assert not X.check_soft_limit(1000, cfg=cfg)     # starves the batch job
