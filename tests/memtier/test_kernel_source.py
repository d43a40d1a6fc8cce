"""The kernel code the scan-period, rate-limit and jiffies ports rest on, read from Debian's 6.1 and 6.12 trees.

Skips a version whose tree is not unpacked (``lwnlab printk fetch --version 6.1|6.12``).
"""

import re

import pytest

VERSIONS = ("6.1", "6.12")


def _tree(version):
    from lwnlab.printk.sources import find_tree

    t = find_tree(version, need="kernel/sched/fair.c")
    if t is None or not t.has("mm/memory.c"):
        pytest.skip(f"no Linux {version} source tree (lwnlab printk fetch --version {version})")
    return t.path


def _squash(path):
    return re.sub(r"\s+", " ", path.read_text(errors="replace"))


@pytest.mark.parametrize("version", VERSIONS)
def test_scan_period_code_is_what_the_simulation_ports(version):
    root = _tree(version)
    fair = _squash(root / "kernel/sched/fair.c")
    for frag in (
        # task_tick_numa(): the first period comes from task_scan_start() (the RSS at that tick)
        "if (!curr->node_stamp) curr->numa_scan_period = task_scan_start(curr);",
        # task_scan_min(): floor from MAX_SCAN_WINDOW, scan_period_min over the windows
        "windows = MAX_SCAN_WINDOW / scan_size; floor = 1000 / windows;",
        "scan = sysctl_numa_balancing_scan_period_min / task_nr_scan_windows(p);",
        "smax = sysctl_numa_balancing_scan_period_max / task_nr_scan_windows(p);",
        # task_numa_fault(): slow-tier faults return early in tiering mode, top-tier ones go on
        "if (!node_is_toptier(mem_node) && (sysctl_numa_balancing_mode & NUMA_BALANCING_MEMORY_TIERING ||",
        # task_numa_placement(): once per numa_scan_seq
        "if (p->numa_scan_seq == seq) return; p->numa_scan_seq = seq;",
        # update_task_scan_period(): no local and no shared faults -> double, push the next scan out
        "if (local + shared == 0 || p->numa_faults_locality[2]) { p->numa_scan_period = min(p->numa_scan_period_max, "
        "p->numa_scan_period << 1); p->mm->numa_next_scan = jiffies + msecs_to_jiffies(p->numa_scan_period);",
        "period_slot = DIV_ROUND_UP(p->numa_scan_period, NUMA_PERIOD_SLOTS);",
        # numa_migrate_preferred()
        "interval = min(interval, msecs_to_jiffies(p->numa_scan_period) / 16);",
        # the rate limit's pages are an unsigned int shift
        "static unsigned int sysctl_numa_balancing_promote_rate_limit = 65536;" if version == "6.12" else
        "unsigned int sysctl_numa_balancing_promote_rate_limit = 65536;",
    ):
        assert frag in fair, (version, frag)
    assert re.search(r"#define NUMA_PERIOD_SLOTS 10", fair) and re.search(r"#define NUMA_PERIOD_THRESHOLD 7", fair)
    memory = _squash(root / "mm/memory.c")
    # do_numa_page(): after a successful migration task_numa_fault() sees the target node
    assert re.search(r"(page_nid|nid) = target_nid; flags \|= TNF_MIGRATED; task_numa_fault\(last_cpupid, "
                     r"(page_nid|nid), (1|nr_pages), flags\);", memory), version
    # tiering mode passes last_cpupid = -1 for slow-tier folios: private faults
    assert "last_cpupid = (-1 & LAST_CPUPID_MASK);" in memory or \
        "*last_cpupid = (-1 & LAST_CPUPID_MASK);" in memory, version


@pytest.mark.parametrize("version", VERSIONS)
def test_jiffies_to_msecs_and_slit_rules(version):
    root = _tree(version)
    if not (root / "kernel/time/time.c").is_file():
        pytest.skip("kernel/time not unpacked")
    t = _squash(root / "kernel/time/time.c")
    assert "return (MSEC_PER_SEC / HZ) * j;" in t and "return DIV_ROUND_UP(j * HZ_TO_MSEC_NUM, HZ_TO_MSEC_DEN);" in t
    srat = root / "drivers/acpi/numa/srat.c"
    if srat.is_file():
        s = _squash(srat)
        assert "if (i == j) { if (val != LOCAL_DISTANCE) return 0; } else if (val <= LOCAL_DISTANCE) return 0;" in s
    node_h = root / "include/linux/node.h"
    if node_h.is_file() and version == "6.12":
        assert "struct access_coordinate { unsigned int read_bandwidth;" in _squash(node_h)
