"""Named configurations: the notebook's default machine and one per reference experiment.

Sizes are scaled down from the published setups so that a run takes seconds; what is kept
is the ratio that matters (DRAM : slow memory, working set : DRAM, access rate per page
against hot_threshold_ms).  Each preset is a function returning a :class:`SimConfig`.
"""

from __future__ import annotations

from typing import Callable

from lwnlab.errors import ConfigError
from lwnlab.memtier.params import CgroupSpec, NodeSpec, Policy, SimConfig

TIERING = dict(numa_balancing=2, demotion_enabled=True)

#: The published runs used processes of tens to hundreds of GB: task_nr_scan_windows() is then in
#: the hundreds, task_scan_min() sits at the MAX_SCAN_WINDOW floor (1000 / (2560 / 256) = 100 ms) and
#: task_scan_max() = 60000 / windows is close to it (234 ms at 64 GiB, 100 ms from 150 GiB on), so
#: update_task_scan_period() can hardly slow the scanner down: every page is scanned at a steady
#: pace.  A scaled-down process of a few hundred MB would instead see its period double after every
#: pass, up to 60 s, as a small process on a real kernel does.  The presets that reproduce those
#: large-machine experiments therefore pin the window period to one pass per scan_period_min
#: (1000 ms for a process of <= 256 MB); 'default' keeps the kernel's own dynamics for its 1 GiB process.
LARGE_PROCESS_SCAN = dict(scan_period_ms=1000)


def default() -> SimConfig:
    """DRAM 256 MiB + PMEM 1 GiB; one pmbench-like process (Gaussian, 80:20) over 1 GiB; tiering and demotion on."""
    return SimConfig(
        nodes=(NodeSpec(pages=1 << 16, kind="dram"), NodeSpec(pages=1 << 18, kind="pmem")),
        cgroups=(CgroupSpec(pages=1 << 18, pattern="gaussian", shape=0.04, read_ratio=0.8),),
        policy=Policy(**TIERING), seconds=20, accesses_per_sec=500_000)


def hotness() -> SimConfig:
    """Experiment 1: page groups accessed as Poisson processes at rates 0.1..8 /s, all on the slow tier.

    DRAM is filled by a cold 'filler' first, so promotions fail (no room) but every hint fault's
    latency is tested against hot_threshold_ms: P(candidate) = 1 - exp(-lambda * th).
    """
    rates = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
    n = 4096
    cgs = [CgroupSpec(pages=1 << 14, pattern="uniform", weight=1e-9, name="filler", prefault=True)]
    for lam in rates:
        cgs.append(CgroupSpec(pages=n, pattern="uniform", weight=lam * n, name=f"lambda={lam:g}/s", scramble=False))
    total = sum(lam * n for lam in rates)
    return SimConfig(
        nodes=(NodeSpec(pages=1 << 14, kind="dram"), NodeSpec(pages=1 << 16, kind="pmem")),
        cgroups=tuple(cgs),
        policy=Policy(numa_balancing=2, demotion_enabled=False, swap=False, auto_adjust=False),
        seconds=60, accesses_per_sec=int(round(total / 1000.0)) * 1000)


def ladder() -> SimConfig:
    """Experiment 2 (Huang Ying's pmbench ladder): Gaussian, 80:20 read:write, DRAM : slow = 1 : 4."""
    return SimConfig(
        nodes=(NodeSpec(pages=1 << 13, kind="dram"), NodeSpec(pages=1 << 15, kind="pmem")),
        cgroups=(CgroupSpec(pages=36 * 1024, pattern="gaussian", shape=0.04, read_ratio=0.8),),
        policy=Policy(**TIERING, **LARGE_PROCESS_SCAN), seconds=240, accesses_per_sec=125_000)


def phase() -> SimConfig:
    """Experiment 4: a hot set that moves every 40 s; the rate limit decides how fast DRAM follows."""
    return SimConfig(
        nodes=(NodeSpec(pages=1 << 14, kind="dram"), NodeSpec(pages=1 << 16, kind="pmem")),
        cgroups=(CgroupSpec(pages=64 * 1024, pattern="hotset", shape=0.15, hot_share=0.9, phase_ms=40_000,
                            phase_shift=0.5, read_ratio=0.8),),
        policy=Policy(**TIERING, **LARGE_PROCESS_SCAN, promote_rate_limit_mbps=16), seconds=80, accesses_per_sec=250_000)


def softlimit() -> SimConfig:
    """Experiment 5: a latency-sensitive cgroup (working set < DRAM) next to a batch cgroup with a soft limit."""
    dram = 1 << 15
    ls_ws = 12 * 1024
    return SimConfig(
        nodes=(NodeSpec(pages=dram, kind="dram"), NodeSpec(pages=1 << 17, kind="pmem")),
        cgroups=(
            CgroupSpec(pages=ls_ws, pattern="uniform", weight=1.0, name="latency-sensitive", prefault=True),
            CgroupSpec(pages=96 * 1024, pattern="zipf", shape=0.6, weight=3.0, name="batch", prefault=True,
                       soft_limit_pages=dram - ls_ws - 4096),
        ),
        policy=Policy(**TIERING), seconds=40, accesses_per_sec=250_000)


def tpp() -> SimConfig:
    """Experiment 3 (TPP's cache case): top tier : CXL = 1 : 4, hot anonymous pages touched after a cold start."""
    return SimConfig(
        nodes=(NodeSpec(pages=1 << 14, kind="dram"), NodeSpec(pages=1 << 16, kind="cxl")),
        cgroups=(CgroupSpec(pages=1 << 16, pattern="zipf", shape=0.99, read_ratio=0.9),),
        policy=Policy(**TIERING, **LARGE_PROCESS_SCAN), seconds=60, accesses_per_sec=250_000)


PRESETS: dict[str, tuple[str, Callable[[], SimConfig]]] = {
    "default": ("the notebook's machine: DRAM 256 MiB + PMEM 1 GiB, Gaussian pmbench-like load", default),
    "hotness": ("experiment 1: promotion probability vs access rate (1 - e^-lambda*th)", hotness),
    "ladder": ("experiment 2: Huang Ying's pmbench ladder (Gaussian, 80:20, DRAM:PMEM 1:4)", ladder),
    "tpp": ("experiment 3: TPP's 1:4 CXL case, Zipf 0.99", tpp),
    "phase": ("experiment 4: rate limit across a hot-set phase change every 40 s", phase),
    "softlimit": ("experiment 5: two cgroups, the RFC's toptier soft limit", softlimit),
}


def get(name: str) -> SimConfig:
    try:
        return PRESETS[name][1]()
    except KeyError:
        raise ConfigError(f"unknown preset {name!r} (known: {', '.join(PRESETS)})", field="preset") from None
