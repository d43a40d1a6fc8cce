"""Workload generators: determinism, ranges, and the shape of each distribution."""

import math

import numpy as np
import pytest

from lwnlab.errors import ConfigError
from lwnlab.memtier.params import CgroupSpec
from lwnlab.memtier.workloads import generate


@pytest.mark.parametrize("pattern,shape", [("uniform", 0), ("zipf", 0.99), ("zipf", 1.2), ("gaussian", 0.1),
                                           ("pareto", 1.161), ("scan", 3), ("hotset", 0.1)])
def test_deterministic_and_in_range(pattern, shape):
    c = CgroupSpec(pages=10_000, pattern=pattern, shape=shape)
    a = generate(c, 20_000, seed=5)
    b = generate(c, 20_000, seed=5)
    d = generate(c, 20_000, seed=6)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert pattern == "scan" or not np.array_equal(a[0], d[0])
    assert a[0].min() >= 0 and a[0].max() < 10_000


def test_uniform_and_read_ratio():
    p, w, _ = generate(CgroupSpec(pages=100, pattern="uniform", read_ratio=0.8), 200_000, seed=1)
    counts = np.bincount(p, minlength=100)
    assert counts.min() > 1700 and counts.max() < 2300
    assert abs(w.mean() - 0.2) < 0.005


def test_zipf_rank_frequencies():
    n, s = 1000, 0.99
    p, _, _ = generate(CgroupSpec(pages=n, pattern="zipf", shape=s, scramble=False), 400_000, seed=2)
    f = np.bincount(p, minlength=n) / p.size
    h = sum(1 / k ** s for k in range(1, n + 1))
    for k in (1, 2, 10, 100):
        assert abs(f[k - 1] - 1 / k ** s / h) < 0.1 * (1 / k ** s / h) + 0.001


def test_gaussian_mean_and_sigma():
    p, _, _ = generate(CgroupSpec(pages=100_000, pattern="gaussian", shape=0.05), 200_000, seed=3)
    assert abs(p.mean() - 50_000) < 100
    assert abs(p.std() - 5000) < 100


def test_pareto_80_20():
    # bounded Pareto on [1, n+1) with alpha 1.161: P(rank < r) = (1 - r^-a) / (1 - (n+1)^-a)
    n, a = 10_000, 1.161
    p, _, _ = generate(CgroupSpec(pages=n, pattern="pareto", shape=a, scramble=False), 200_000, seed=4)
    for r in (1, 10, 100):
        expect = (1 - (r + 1) ** -a) / (1 - (n + 1) ** -a)
        assert abs((p < r).mean() - expect) < 0.01


def test_scan_and_hotset_and_phase_change():
    p, _, _ = generate(CgroupSpec(pages=10, pattern="scan", shape=3), 7)
    assert list(p) == [0, 3, 6, 9, 2, 5, 8]
    p, _, _ = generate(CgroupSpec(pages=1000, pattern="hotset", shape=0.1, hot_share=0.9, scramble=False),
                       100_000, seed=1)
    assert abs((p < 100).mean() - (0.9 + 0.1 * 0.1)) < 0.01
    c = CgroupSpec(pages=1000, pattern="hotset", shape=0.1, hot_share=1.0, phase_ms=10, phase_shift=0.5,
                   scramble=False)
    p, _, _ = generate(c, 20_000, seed=1, accesses_per_sec=1_000_000)   # 1000 per ms: 20 ms
    assert p[:10_000].max() < 100 and p[10_000:].min() >= 500 and p[10_000:].max() < 600


def test_several_cgroups_by_weight():
    cgs = (CgroupSpec(pages=100, weight=1.0), CgroupSpec(pages=50, weight=3.0))
    p, _, c = generate(cgs, 100_000, seed=1)
    assert abs((c == 1).mean() - 0.75) < 0.01
    assert p[c == 0].max() < 100 and p[c == 1].min() >= 100 and p[c == 1].max() < 150


def test_bad_workload_input():
    with pytest.raises(ConfigError) as e:
        generate(CgroupSpec(pages=100, pattern="zipf", shape=0), 10)
    assert e.value.field == "cgroups[0].shape"
    with pytest.raises(ConfigError):
        generate(CgroupSpec(pages=100), -1)
    with pytest.raises(ConfigError) as e:
        generate(CgroupSpec(pages=100, pattern="bimodal"), 10)
    assert e.value.field == "cgroups[0].pattern"


def test_scan_stride_larger_than_the_address_space_wraps_by_modulo():
    import numpy as np

    from lwnlab.memtier.params import CgroupSpec
    from lwnlab.memtier.workloads import generate

    # stride 2**30 over 1000 pages: position k * 2**30 mod 1000 (the old loop subtracted n one at a time)
    pages, _, _ = generate(CgroupSpec(pages=1000, pattern="scan", shape=float(1 << 30), scramble=False), 50)
    assert pages.tolist() == [(k * (1 << 30)) % 1000 for k in range(50)]


def test_the_register_held_rng_step_is_next_u64_split_in_two_halves():
    import numpy as np

    from lwnlab.memtier.workloads import next_u64, seed_rng, xoshiro_halves

    a = np.zeros(4, np.uint64)
    seed_rng(a, 12345)
    s = tuple(a)
    b = a.copy()
    for _ in range(1000):
        hi, lo, *s = xoshiro_halves(*(np.uint64(x) for x in s))  # (a Python int >= 2**63 would type anew)
        r = int(next_u64(b))
        assert hi == (r >> 32) / 2**32 and lo == (r & 0xFFFFFFFF) / 2**32
        assert 0.0 <= hi < 1.0 and 0.0 <= lo < 1.0
    assert [int(x) for x in s] == [int(x) for x in b]
