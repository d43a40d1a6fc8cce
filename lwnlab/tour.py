"""The front page's live demo: one adaptive instruction quickening, in numba.

This is a deliberately small model, used by ``00_start_here`` to show that
numba compiles and that a widget drives a plot.  Lab 1 (``lwnlab.interp``)
models the real thing: a whole bytecode VM with CPython's families, guards
and counter policies.

One ``BINARY_OP`` site, executed once per call, sees a stream of operand kinds (int+int, float+float,
or str+str).  It starts *adaptive* with a warm-up counter; when the counter
runs out it specializes for the kind it sees (``BINARY_OP_ADD_INT`` or
``BINARY_OP_ADD_FLOAT``; there is no specialization for str here, so that is
a failure and the counter backs off).  A specialized instruction counts
misses; after ``miss_budget`` misses it deoptimizes back to the adaptive form
with a backoff counter.  The counters follow CPython 3.11 exactly, so the
demo reproduces 3.11's measured timeline for ``def add(a, b): return a + b``:
specialized on call 8, deoptimized on the 53rd miss, re-specialized 32 calls
later; an unspecializable site tries again at calls 8, 9, 12, 19, 34, 65...
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from lwnlab._jit import jit, jit_disabled
from lwnlab.errors import ConfigError
from lwnlab.ui import Check

#: operand kinds in the stream
INT, FLOAT, STR = 0, 1, 2
KIND_NAMES = ("int", "float", "str")
#: states of the instruction
NOT_QUICKENED, ADAPTIVE, SPEC_INT, SPEC_FLOAT = 0, 1, 2, 3
STATE_NAMES = ("BINARY_OP", "BINARY_OP_ADAPTIVE", "BINARY_OP_ADD_INT", "BINARY_OP_ADD_FLOAT")
#: CPython 3.11's constants (Include/internal/pycore_code.h)
QUICKENING_WARMUP_DELAY = 8
MISS_COUNTER_START = 53
ADAPTIVE_BACKOFF_START = 5  # adaptive_counter_start(): value 2**5 - 1 = 31
MAX_BACKOFF_VALUE = 12  # value capped at 2**12 - 1 = 4095


@jit(warmup=lambda: (400, 200, 0.05, 1))
def operand_stream(n, switch_at, noise, seed):
    """``n`` operand kinds: ints, then floats from call ``switch_at`` (1-based) on, with a ``noise`` share of strs."""
    np.random.seed(seed)
    out = np.empty(n, np.int64)
    for i in range(n):
        if np.random.random() < noise:
            out[i] = STR
        elif i + 1 < switch_at:
            out[i] = INT
        else:
            out[i] = FLOAT
    return out


@jit(warmup=lambda: (np.zeros(16, np.int64), 8, 53, 5, 12))
def quicken(kinds, warmup, miss_budget, restart_backoff, max_backoff):
    """Run the site once per call over ``kinds``, as CPython 3.11 would.

    Returns (state per call, hit per call, specialization attempt per call,
    events) where ``events[k]`` =
    (call index, from_state, to_state) for every state change.  The rules are
    3.11's: the code object quickens after ``warmup`` calls and the adaptive
    instruction tries to specialize at once; a failed attempt backs off
    (backoff b+1, value 2**b - 1, and the failing execution itself counts one
    down); a specialized instruction deoptimizes on its ``miss_budget``-th
    miss to the adaptive form with value 2**restart_backoff - 1.
    """
    n = kinds.shape[0]
    state = np.empty(n, np.int64)
    hit = np.zeros(n, np.int64)
    attempt = np.zeros(n, np.int64)
    events = np.empty((n, 3), np.int64)
    nev = 0
    cur = NOT_QUICKENED
    calls_left = warmup
    value = 0
    backoff = 0
    for i in range(n):
        k = kinds[i]
        if cur == NOT_QUICKENED:
            calls_left -= 1
            if calls_left <= 0:  # _PyCode_Quicken: ADAPTIVE with counter 0
                events[nev, 0] = i
                events[nev, 1] = cur
                events[nev, 2] = ADAPTIVE
                nev += 1
                cur = ADAPTIVE
                value = 0
                backoff = 0
        if cur == ADAPTIVE:
            if value == 0:
                attempt[i] = 1
                if k == INT or k == FLOAT:  # success: specialize and run the specialized op (a hit)
                    new = SPEC_INT if k == INT else SPEC_FLOAT
                    events[nev, 0] = i
                    events[nev, 1] = cur
                    events[nev, 2] = new
                    nev += 1
                    cur = new
                    value = miss_budget
                    state[i] = cur
                    hit[i] = 1
                    continue
                # failure: adaptive_counter_backoff, then the same instruction re-runs and counts down
                backoff = min(backoff + 1, max_backoff)
                value = (1 << backoff) - 1
            if value > 0:
                value -= 1
            state[i] = cur
            continue
        state[i] = cur
        if cur == NOT_QUICKENED:
            continue
        want = INT if cur == SPEC_INT else FLOAT
        if k == want:
            hit[i] = 1
        else:  # miss: count down; at zero go back to ADAPTIVE with adaptive_counter_start()
            value -= 1
            if value <= 0:
                events[nev, 0] = i
                events[nev, 1] = cur
                events[nev, 2] = ADAPTIVE
                nev += 1
                cur = ADAPTIVE
                backoff = restart_backoff
                value = (1 << restart_backoff) - 1
    return state, hit, attempt, events[:nev].copy()


@dataclass(frozen=True)
class TourParams:
    """Knobs of the demo; defaults are CPython 3.11's (warm-up 8, miss budget 53)."""

    steps: int = 400
    switch_at: int = 201  # the first call that sees floats
    noise: float = 0.02
    warmup: int = QUICKENING_WARMUP_DELAY
    miss_budget: int = MISS_COUNTER_START
    restart_backoff: int = ADAPTIVE_BACKOFF_START
    max_backoff: int = MAX_BACKOFF_VALUE
    seed: int = 1

    def validate(self) -> "TourParams":
        for name in ("steps", "warmup", "miss_budget", "restart_backoff", "max_backoff", "switch_at", "seed"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v < 0:
                raise ConfigError(f"must be a whole number >= 0, got {v!r}", field=name)
        if not 1 <= self.steps <= 10_000_000:
            raise ConfigError(f"must be between 1 and 10,000,000, got {self.steps}", field="steps")
        if self.miss_budget < 1:
            raise ConfigError("must be at least 1", field="miss_budget")
        if not 0.0 <= float(self.noise) <= 1.0:
            raise ConfigError(f"must be a fraction between 0 and 1, got {self.noise}", field="noise")
        for name in ("restart_backoff", "max_backoff"):
            if getattr(self, name) > 15:
                raise ConfigError("must be at most 15 (the backoff is a 4-bit field)", field=name)
        return self


@dataclass
class TourResult:
    params: TourParams
    kinds: np.ndarray
    state: np.ndarray
    hit: np.ndarray
    attempt: np.ndarray
    events: np.ndarray = field(repr=False)

    @property
    def hit_rate(self) -> float:
        return float(self.hit.mean()) if self.hit.size else 0.0

    @property
    def deopts(self) -> int:
        if not self.events.size:
            return 0
        ev = self.events
        return int(np.sum((ev[:, 2] == ADAPTIVE) & (ev[:, 1] != NOT_QUICKENED)))

    @property
    def specializations(self) -> int:
        return int(np.sum(self.events[:, 2] >= SPEC_INT)) if self.events.size else 0

    def attempt_calls(self) -> list[int]:
        """The 1-based calls at which the adaptive instruction tried to specialize."""
        return [int(i) + 1 for i in np.flatnonzero(self.attempt)]

    def first_specialized_step(self) -> int | None:
        """The 1-based call at which the instruction first ran specialized."""
        idx = np.flatnonzero(self.state >= SPEC_INT)
        return int(idx[0]) + 1 if idx.size else None


def simulate(params: TourParams | None = None, **overrides) -> TourResult:
    """Run the demo with ``params`` (or TourParams defaults with ``overrides``)."""
    p = (params or TourParams()).__class__(**{**(params or TourParams()).__dict__, **overrides}).validate()
    kinds = operand_stream(np.int64(p.steps), np.int64(p.switch_at), np.float64(p.noise), np.int64(p.seed))
    state, hit, attempt, events = quicken(kinds, np.int64(p.warmup), np.int64(p.miss_budget),
                                 np.int64(p.restart_backoff), np.int64(p.max_backoff))
    return TourResult(p, kinds, state, hit, attempt, events)


def numba_check() -> Check:
    """The front page's live check: do numba kernels compile and run here?"""
    t0 = time.perf_counter()
    r = simulate(steps=1000, switch_at=501, noise=0.0)
    took = time.perf_counter() - t0
    expected_first = TourParams().warmup  # specializes right after the warm-up runs out
    ok = r.first_specialized_step() == expected_first and r.deopts == 1
    how = "plain Python (NUMBA_DISABLE_JIT is set)" if jit_disabled() else "numba-compiled"
    return Check(ok, f"{how} kernels ran 1000 steps in {took * 1000:.0f} ms (first call includes "
                     f"compiling or loading from the cache); specialized at step {r.first_specialized_step()}, "
                     f"deoptimized {r.deopts} time(s) after the switch to floats")


# --------------------------------------------------------------------------- the front page's widget


@dataclass
class QuickeningDemo:
    """What :func:`make_quickening_demo` returns: controls, artists and the latest result."""

    ui: object
    controls: dict
    view: object
    artists: dict
    result: TourResult
    error: object

    def _ipython_display_(self):  # display(demo) shows the UI
        from IPython.display import display

        display(self.ui)


def make_quickening_demo(params: TourParams | None = None) -> QuickeningDemo:
    """A widget: sliders for the counters, a plot of the instruction's state and hit rate per call."""
    import ipywidgets as W

    from lwnlab.errors import LwnlabError
    from lwnlab.ui import ErrorBox, figure

    p = (params or TourParams()).validate()
    style = {"description_width": "initial"}
    controls = {
        "warmup": W.IntSlider(value=p.warmup, min=1, max=64, description="warm-up calls", style=style,
                              continuous_update=False),
        "miss_budget": W.IntSlider(value=p.miss_budget, min=1, max=200, description="miss budget", style=style,
                                   continuous_update=False),
        "switch_at": W.IntSlider(value=p.switch_at, min=1, max=p.steps, description="floats from call",
                                 style=style, continuous_update=False),
        "noise": W.FloatSlider(value=p.noise, min=0.0, max=0.5, step=0.01, description="share of str operands",
                               style=style, continuous_update=False),
    }
    view, (ax_state, ax_hit) = figure(2, 1, figsize=(7.5, 4.2), sharex=True)
    calls = np.arange(1, p.steps + 1)
    err = ErrorBox()
    r = simulate(p)
    (state_line,) = ax_state.step(calls, r.state, where="post", color="#3465a4", lw=1.5)
    ax_state.set_yticks(range(len(STATE_NAMES)), STATE_NAMES, fontsize=8)
    ax_state.set_ylim(-0.4, len(STATE_NAMES) - 0.6)
    ax_state.set_title("One BINARY_OP site, quickened with CPython 3.11's counters", fontsize=10)
    switch_line = ax_state.axvline(p.switch_at, color="#cc0000", ls=":", lw=1)
    window = 20
    (hit_line,) = ax_hit.plot(calls, _rolling(r.hit, window), color="#4e9a06")
    ax_hit.set_ylim(-0.05, 1.05)
    ax_hit.set_ylabel(f"hit rate\n(last {window} calls)", fontsize=8)
    ax_hit.set_xlabel("call")
    summary = W.HTML()
    demo = QuickeningDemo(ui=None, controls=controls, view=view,
                          artists={"state": state_line, "hit": hit_line, "switch": switch_line},
                          result=r, error=err)

    def describe(res: TourResult) -> str:
        first = res.first_specialized_step()
        return (f"specialized first at call <b>{first}</b>, {res.specializations} specialization(s), "
                f"{res.deopts} deopt(s), hit rate <b>{res.hit_rate:.0%}</b>")

    def update(_change=None):
        try:
            res = simulate(p, **{k: c.value for k, c in controls.items()})
        except LwnlabError as e:
            err.show(e)
            return
        err.clear()
        demo.result = res
        state_line.set_ydata(res.state)
        hit_line.set_ydata(_rolling(res.hit, window))
        switch_line.set_xdata([res.params.switch_at, res.params.switch_at])
        summary.value = describe(res)
        view.redraw()

    for c in controls.values():
        c.observe(update, names="value")
    summary.value = describe(r)
    demo.ui = W.VBox([W.HBox([W.VBox(list(controls.values())[:2]), W.VBox(list(controls.values())[2:])]),
                      summary, err.widget, view.widget])
    view.redraw()
    return demo


def _rolling(x: np.ndarray, w: int) -> np.ndarray:
    c = np.cumsum(np.r_[0, x.astype(np.float64)])
    n = np.arange(1, x.size + 1)
    lo = np.maximum(n - w, 0)
    return (c[n] - c[lo]) / (n - lo)
