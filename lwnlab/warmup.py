"""``python -m lwnlab.warmup``: compile every numba kernel into the on-disk cache.

binder/postBuild runs this with ``NUMBA_CPU_NAME=generic`` so that the cache
baked into the image is valid on whichever CPU the pod lands on.
"""

from __future__ import annotations

import sys
import time


def run(verbose: bool = True, only: list[str] | None = None) -> dict[str, float]:
    """Compile (or load) every kernel with a warm-up; ``only`` keeps kernels whose names start with one of these."""
    from lwnlab import _jit

    t0 = time.perf_counter()
    _jit.import_all_kernels()
    kernels = {n: k for n, k in _jit.KERNELS.items() if not only or any(n.startswith(p) for p in only)}
    n = sum(1 for k in kernels.values() if k.warmup is not None)
    done = [0]

    def progress(name: str) -> None:
        done[0] += 1
        if verbose:
            print(f"[{done[0]:>3}/{n}] {name}", flush=True)

    times = _jit.warm(kernels, progress=progress)
    if verbose:
        where = "plain Python, NUMBA_DISABLE_JIT" if _jit.jit_disabled() else _jit.cache_dir()
        print(f"warmed {len(times)} kernels in {time.perf_counter() - t0:.1f} s (cache: {where})")
    return times


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(prog="python -m lwnlab.warmup", description=__doc__)
    ap.add_argument("-q", "--quiet", action="store_true")
    ap.add_argument("--only", action="append", metavar="PREFIX", help="only kernels whose names start with PREFIX")
    a = ap.parse_args()
    run(verbose=not a.quiet, only=a.only)
