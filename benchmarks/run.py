#!/usr/bin/env python3
"""Run every benchmarks/bench_*.py (or those named) and print their figures.

    python benchmarks/run.py            # all
    python benchmarks/run.py jit interp # bench_jit.py and bench_interp.py
    python benchmarks/run.py --json out.json

Each benchmark runs in its own process (so numba's compile caches and memory
do not leak between them) and prints one line per figure: the measured value,
the baseline measured in the same run, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="benchmarks to run (bench_NAME.py); default: all")
    ap.add_argument("--json", metavar="FILE", help="also write every figure to FILE as JSON")
    args = ap.parse_args(argv)
    files = sorted(HERE.glob("bench_*.py"))
    if args.names:
        wanted = {n.removeprefix("bench_").removesuffix(".py") for n in args.names}
        unknown = wanted - {f.stem.removeprefix("bench_") for f in files}
        if unknown:
            ap.error(f"no such benchmark: {', '.join(sorted(unknown))} (have: "
                     f"{', '.join(f.stem.removeprefix('bench_') for f in files)})")
        files = [f for f in files if f.stem.removeprefix("bench_") in wanted]
    figures, failed = [], []
    for f in files:
        print(f"== {f.name}", flush=True)
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
            out = tmp.name
        env = {**os.environ, "LWNLAB_BENCH_JSON": out}
        t0 = time.perf_counter()
        rc = subprocess.call([sys.executable, str(f)], env=env, cwd=HERE.parent)
        took = time.perf_counter() - t0
        try:
            figures += json.loads(Path(out).read_text() or "[]")
        except (OSError, json.JSONDecodeError):
            pass
        finally:
            Path(out).unlink(missing_ok=True)
        if rc != 0:
            failed.append(f.name)
            print(f"!! {f.name} exited with status {rc}", flush=True)
        print(f"   ({took:.1f} s)", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    missed = [fg for fg in figures if fg.get("ok") is False]
    print(f"{len(figures)} figures from {len(files)} benchmarks; {len(missed)} targets missed; "
          f"{len(failed)} benchmarks failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
