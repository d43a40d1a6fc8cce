"""numba cold-compile vs cached-load time of every kernel lwnlab registers with its jit shim.

Each measurement is a fresh Python process with its own NUMBA_CACHE_DIR: the first process compiles
every kernel (cold) and writes the cache, the second loads them from it (what the second start of a
notebook costs). The same pair is measured with NUMBA_CPU_NAME=generic, which Binder uses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import figure, finish, header  # noqa: E402

PROBE = r"""
import json, time
t0 = time.perf_counter()
from lwnlab import _jit
_jit.import_all_kernels()
t1 = time.perf_counter()
times = _jit.warm()
t2 = time.perf_counter()
hits = sum(sum(k.func.stats.cache_hits.values()) for k in _jit.KERNELS.values() if hasattr(k.func, "stats"))
print(json.dumps({"import": t1 - t0, "warm": t2 - t1, "kernels": len(times), "hits": hits}))
"""


def run(cache: str, extra_env: dict | None = None) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache, **(extra_env or {})}
    env.pop("NUMBA_DISABLE_JIT", None)
    out = subprocess.check_output([sys.executable, "-c", PROBE], env=env, text=True)
    return json.loads(out.strip().splitlines()[-1])


def pair(extra_env: dict | None = None, repeat: int = 1) -> tuple[dict, dict]:
    best_cold = best_warm = None
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as cache:
            cold = run(cache, extra_env)
            warm = run(cache, extra_env)
        if best_cold is None or cold["warm"] < best_cold["warm"]:
            best_cold = cold
        if best_warm is None or warm["warm"] < best_warm["warm"]:
            best_warm = warm
    return best_cold, best_warm


def main() -> None:
    header("bench_jit", "numba compile vs cached load of every registered kernel, in fresh processes")
    cold, warm = pair()
    n = cold["kernels"]
    figure("bench_jit", f"cached load ({n} kernels)", warm["warm"], "s", "cold compile", cold["warm"],
           target="cached load < 0.5 s", ok=warm["warm"] < 0.5,
           note=f"{warm['hits']} cache hits; import {warm['import']:.2f} s")
    figure("bench_jit", "cached load per kernel", warm["warm"] / max(n, 1) * 1e3, "ms",
           "cold compile per kernel", cold["warm"] / max(n, 1) * 1e3)
    gcold, gwarm = pair({"NUMBA_CPU_NAME": "generic"}, repeat=1)
    figure("bench_jit", "generic: cached load", gwarm["warm"], "s", "generic: cold compile", gcold["warm"],
           note="NUMBA_CPU_NAME=generic, as on Binder")
    figure("bench_jit", "generic cold compile", gcold["warm"], "s", "host-CPU cold compile", cold["warm"])
    finish()


if __name__ == "__main__":
    main()
