"""What every benchmarks/bench_*.py uses to print its figures.

One line per figure, always with the absolute numbers beside the ratio, and
the baseline measured in the same run::

    bench_jit  cached_load              0.153 s     vs cold_compile        2.310 s      15.10x faster   (target >= 5x: ok)

:func:`figure` prints such a line and returns a dict for the runner's JSON.
Timings come from :func:`best_of`, which takes the best of several repeats so
that a busy machine disturbs the figure less.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Callable

_FIGURES: list[dict] = []


def best_of(fn: Callable[[], object], repeat: int = 5, number: int = 1) -> float:
    """The best wall-clock seconds per call of ``fn`` over ``repeat`` rounds of ``number`` calls."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def _fmt(v: float, unit: str) -> str:
    return f"{v:10.4g} {unit:<8}"


def figure(bench: str, name: str, value: float, unit: str, baseline_name: str, baseline: float,
           *, lower_is_better: bool = True, target: str | None = None, ok: bool | None = None,
           note: str = "") -> dict:
    """Print one figure: ``value`` against ``baseline`` (same unit), and the ratio.

    The ratio is written so that > 1 means ``value`` is better than the
    baseline ("faster", "smaller"...).  ``target``/``ok`` say what the issue
    asks for and whether this run reached it.
    """
    if value > 0 and baseline > 0:
        ratio = baseline / value if lower_is_better else value / baseline
    else:
        ratio = float("nan")
    word = "better" if ratio >= 1 else "worse"
    tgt = ""
    if target is not None:
        tgt = f"   (target {target}: {'ok' if ok else 'MISSED'})" if ok is not None else f"   (target {target})"
    line = (f"{bench:<14} {name:<30} {_fmt(value, unit)} vs {baseline_name:<26} {_fmt(baseline, unit)}"
            f" {ratio:8.2f}x {word}{tgt}{'   ' + note if note else ''}")
    print(line, flush=True)
    rec = {"bench": bench, "name": name, "value": value, "unit": unit, "baseline_name": baseline_name,
           "baseline": baseline, "ratio": ratio, "target": target, "ok": ok, "note": note}
    _FIGURES.append(rec)
    return rec


def finish() -> None:
    """Write the figures as JSON when the runner asks for it (LWNLAB_BENCH_JSON=path)."""
    path = os.environ.get("LWNLAB_BENCH_JSON")
    if path:
        with open(path, "w") as f:
            json.dump(_FIGURES, f, indent=1)


def header(bench: str, what: str) -> None:
    print(f"# {bench}: {what}", file=sys.stderr, flush=True)
