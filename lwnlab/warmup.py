"""``python -m lwnlab.warmup``: compile every numba kernel into the on-disk cache.

binder/postBuild runs this with ``NUMBA_CPU_NAME=generic`` so that the cache
baked into the image is valid on whichever CPU the pod lands on.

numba compiles in Python and holds the GIL, so one process uses one core.  The
labs' kernels are independent of one another, so with several cores the
warm-up compiles the labs in parallel processes (``--jobs``, default: one per
core), each writing its own lab's part of the shared cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from lwnlab.errors import ExecutionError, UsageError


def _cores(cpu_max: str = "/sys/fs/cgroup/cpu.max") -> int:
    """The cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota (containers, Binder)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    try:
        with open(cpu_max) as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            n = min(n, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota to honour
    return n


#: each lab's cold compile on a 2-core machine, in seconds (``lwnlab warmup --jobs 1 --json``, November 2026).
#: Only the order of the parallel warm-up uses it (the longest first keeps the cores busy to the end); neither
#: kernel counts nor source lines predict numba's compile time well enough for that.
COMPILE_SECONDS = {"lwnlab.bpf": 29.0, "lwnlab.memtier": 26.0, "lwnlab.interp": 18.0, "lwnlab.printk": 8.5,
                   "lwnlab.tour": 0.5}


def lab_of(kernel: str) -> str:
    """``lwnlab.interp.vm.run`` -> ``lwnlab.interp``; ``lwnlab.tour.quicken`` -> ``lwnlab.tour``."""
    return ".".join(kernel.split(".")[:2])


def run(verbose: bool = True, only: list[str] | None = None, jobs: int | None = None) -> dict[str, float]:
    """Compile (or load) every kernel with a warm-up; ``only`` keeps kernels whose names start with one of these.

    ``jobs`` processes compile different labs at once (default: one per core, at most one per lab; 1: all in
    this process).  Returns the seconds spent per kernel.
    """
    from lwnlab import _jit

    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs must be at least 1, not {jobs}")
    t0 = time.perf_counter()
    _jit.import_all_kernels()
    kernels = {n: k for n, k in _jit.KERNELS.items()
               if k.warmup is not None and (not only or any(n.startswith(p) for p in only))}
    if only and not kernels:
        raise UsageError(f"--only {' '.join(only)}: no kernel's name starts with that (names look like "
                         "lwnlab.interp.vm.run)")
    labs = {lab_of(name) for name in kernels}
    jobs = min(jobs or _cores(), len(labs)) if not _jit.jit_disabled() else 1
    where = "plain Python, NUMBA_DISABLE_JIT" if _jit.jit_disabled() else _jit.cache_dir()
    if jobs <= 1:
        n = len(kernels)
        done = [0]

        def progress(name: str) -> None:
            done[0] += 1
            if verbose:
                print(f"[{done[0]:>3}/{n}] {name}", flush=True)

        times = _jit.warm(kernels, progress=progress)
        if verbose:
            print(f"warmed {len(times)} kernels in {time.perf_counter() - t0:.1f} s (cache: {where})")
        return times

    times = _parallel(sorted(labs, key=lambda lab: -COMPILE_SECONDS.get(lab, 20.0)), only, jobs, verbose)
    if verbose:
        print(f"warmed {len(times)} kernels in {time.perf_counter() - t0:.1f} s, {jobs} processes (cache: {where})")
    return times


def _parallel(order: list[str], only: list[str] | None, jobs: int, verbose: bool) -> dict[str, float]:
    """One child process per lab, ``jobs`` at a time, in ``order``."""
    queue = list(order)
    env = {**os.environ, "LWNLAB_COMPILE_NOTICE": "0"}  # the children's live lines would interleave: we report
    running: list[tuple[str, subprocess.Popen, float]] = []
    times: dict[str, float] = {}
    finished = 0
    try:
        while queue or running:
            while queue and len(running) < jobs:
                lab = queue.pop(0)
                # this lab's kernels, narrowed by --only where a prefix reaches inside the lab
                prefixes = [p for p in (only or []) if p.startswith(lab + ".")] or [lab + "."]
                cmd = [sys.executable, "-m", "lwnlab.warmup", "--jobs", "1", "--json"]
                for p in prefixes:
                    cmd += ["--only", p]
                running.append((lab, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                      text=True, env=env), time.perf_counter()))
            time.sleep(0.05)
            for item in list(running):
                lab, proc, started = item
                if proc.poll() is None:
                    continue
                running.remove(item)
                out, err = proc.communicate()
                if proc.returncode != 0:
                    raise ExecutionError(f"warming {lab} failed (exit {proc.returncode}):\n{err.strip()}")
                got = json.loads(out)["kernels"]
                times.update(got)
                finished += 1
                if verbose:
                    print(f"[{finished}/{len(order)}] {lab}: {len(got)} kernels in "
                          f"{time.perf_counter() - started:.1f} s", flush=True)
    finally:
        for _, proc, _ in running:  # an error or Ctrl-C: don't leave compiling children behind
            proc.kill()
            proc.wait()
    return times


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m lwnlab.warmup", description=__doc__)
    ap.add_argument("-q", "--quiet", action="store_true")
    ap.add_argument("--only", action="append", metavar="PREFIX", help="only kernels whose names start with PREFIX")
    ap.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                    help="compile N labs at once in separate processes (default: one per core)")
    ap.add_argument("--json", action="store_true", help="print seconds per kernel as JSON")
    a = ap.parse_args(argv)
    try:
        times = run(verbose=not (a.quiet or a.json), only=a.only, jobs=a.jobs)
    except (UsageError, ExecutionError) as e:
        print(f"python -m lwnlab.warmup: error: {e}", file=sys.stderr)
        return 2
    if a.json:
        print(json.dumps({"kernels": times}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
