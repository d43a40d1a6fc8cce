"""Widgets for lab 1: edit a function, pick a policy, watch it specialize.

:func:`make_lab` returns an :class:`InterpLab` whose attributes are the controls
(``source``, ``func``, ``calls``, ``policy``, ``warmup``, ``miss_budget``,
``backoff_cap``, ``backoff_start``, ``saturating``, ``superinstructions``,
``hash_cached``, ``intern``, ``families``, ``step``), the figure artists (``hit_line``, ``hit_bars``, ``miss_bars``,
``speed_bars``) and the latest results (``result``, ``baseline``, ``error``).
Changing a control re-runs the model (the VM takes every tunable as an
argument, so nothing recompiles); the step slider scrubs the timeline and shows
the quickened bytecode at that moment.

:func:`make_side_panel` shows the host CPython's ``dis(adaptive=True)`` next to
lwnlab's disassembly.
"""

from __future__ import annotations

import ast
import html

import ipywidgets as W
import numpy as np

from lwnlab.errors import LwnlabError, UsageError
from lwnlab.interp import opcodes as O
from lwnlab.interp.policy import POLICIES, preset
from lwnlab.ui import ErrorBox, figure

DEFAULT_SOURCE = '''def add(a, b):
    return a + b
'''
DEFAULT_CALLS = "[(1, 2)] * 10 + [(1.5, 2.5)] * 100"

_KIND_COLOUR = {O.SPECIALIZED: "#1b7f3b", O.ADAPTIVE: "#b26a00", O.BASE: "#444", O.SUPER: "#1f5fa8",
                O.QUICK: "#777", O.PLAIN: "#444"}


#: the most items a calls expression may build (the VM takes at most policy.MAX_CALLS calls anyway)
MAX_CALL_ITEMS = 1_000_000


def parse_calls(text: str) -> list:
    """``"[(1, 2)] * 10"`` -> a list of argument tuples (literals and ``*``/``+`` of lists only)."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        raise UsageError(f"calls: {e.msg}", field="calls", column=e.offset) from None
    except (ValueError, MemoryError, RecursionError) as e:
        raise UsageError(f"calls: cannot parse ({e})", field="calls") from None

    def ev(node):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
            a, b = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Mult):
                seq, n = (a, b) if isinstance(b, int) else (b, a)
                if isinstance(seq, (list, tuple, str)) and isinstance(n, int) and len(seq) * max(n, 0) > MAX_CALL_ITEMS:
                    raise UsageError(f"calls: at most {MAX_CALL_ITEMS} calls", field="calls")
            return a + b if isinstance(node.op, ast.Add) else a * b
        return ast.literal_eval(node)

    try:
        v = ev(tree.body)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError, OverflowError) as e:
        raise UsageError(f"calls: expected a list of argument tuples such as {DEFAULT_CALLS!r} ({e})",
                         field="calls") from None
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if not isinstance(v, list):
        raise UsageError("calls: expected a list of argument tuples (or an int for functions without "
                         "parameters)", field="calls")
    return [c if isinstance(c, tuple) else (c,) for c in v]


def code_html(result, event_index: int | None = None) -> str:
    """The function's instructions at a moment of the timeline, coloured by kind."""
    prog = result.program
    f = prog.funcs[prog.func_index(result.func)]
    code = result.code if event_index is None else result.code_at(event_index)
    changed = set()
    if event_index is not None and 0 <= event_index < len(result.timeline):
        changed.add(result.timeline[event_index].pc)
    rows = []
    for k, ins in enumerate(f.code):
        pc = f.entry + k
        op = O.TABLE[int(code[pc])]
        style = f"color:{_KIND_COLOUR.get(op.kind, '#444')}"
        if pc in changed:
            style += ";background:#fff3b0;font-weight:bold"
        rows.append(f'<div style="{style}">{k:>4}  line {ins.line:<3} {html.escape(op.name)}</div>')
    return ('<div style="font-family:monospace;font-size:12px;white-space:pre;line-height:1.25">'
            + "".join(rows) + "</div>")


class InterpLab:
    """Controls, artists and results of the lab-1 widget (see :func:`make_lab`)."""

    def __init__(self, source: str = DEFAULT_SOURCE, func: str = "add", calls: str = DEFAULT_CALLS,
                 policy: str = "cpython311"):
        lay = W.Layout(width="auto")
        self.source = W.Textarea(value=source, layout=W.Layout(width="100%", height="140px"),
                                 continuous_update=False, description="")
        self.func = W.Text(value=func, description="function", continuous_update=False, layout=lay)
        self.calls = W.Text(value=calls, description="calls", continuous_update=False,
                            layout=W.Layout(width="420px"))
        self.policy = W.Dropdown(options=POLICIES, value=policy, description="policy")
        self.warmup = W.IntSlider(value=8, min=0, max=64, description="warmup", continuous_update=False)
        self.miss_budget = W.IntSlider(value=53, min=1, max=200, description="miss budget", continuous_update=False)
        self.backoff_cap = W.IntSlider(value=12, min=1, max=12, description="backoff cap", continuous_update=False)
        # 3.11: the backoff exponent a deopt restarts the adaptive counter with (adaptive_counter_start(): 5 -> 31)
        self.backoff_start = W.IntSlider(value=5, min=0, max=12, description="backoff start",
                                         continuous_update=False)
        # what makes the generic LOAD_GLOBAL/LOAD_ATTR slow or fast (the fact sheet's two toggles)
        self.hash_cached = W.Checkbox(value=True, description="cached string hash")
        self.intern = W.Checkbox(value=True, description="interned names")
        self.saturating = W.Checkbox(value=False, description="saturating counter (PEP text)")
        self.superinstructions = W.Checkbox(value=True, description="superinstructions")
        self.families = W.SelectMultiple(options=O.FAMILIES, value=O.FAMILIES, description="families",
                                         rows=5)
        self.step = W.IntSlider(value=0, min=-1, max=0, description="event", continuous_update=True,
                                layout=W.Layout(width="100%"))
        self.event_label = W.HTML()
        self.code = W.HTML()
        self.summary = W.HTML()
        self.errors = ErrorBox()
        self.result = None
        self.baseline = None
        self.error: LwnlabError | None = None
        self.runs = 0
        self._syncing = False

        self.view, axes = figure(1, 3, figsize=(10.0, 2.8))
        self.ax_rate, self.ax_fam, self.ax_speed = axes
        (self.hit_line,) = self.ax_rate.plot([], [], color="#1b7f3b")
        self.ax_rate.set_title("hit rate by call", fontsize=9)
        self.ax_rate.set_ylim(-0.05, 1.05)
        self.ax_rate.set_xlabel("call", fontsize=8)
        x = np.arange(len(O.FAMILIES))
        self.hit_bars = self.ax_fam.bar(x - 0.2, np.zeros(len(x)), 0.4, color="#1b7f3b", label="hit")
        self.miss_bars = self.ax_fam.bar(x + 0.2, np.zeros(len(x)), 0.4, color="#b00020", label="miss")
        self.ax_fam.set_xticks(x, [f.replace("_", "\n", 1) for f in O.FAMILIES], fontsize=6)
        self.ax_fam.set_yscale("symlog")
        self.ax_fam.legend(fontsize=7)
        self.ax_fam.set_title("per family", fontsize=9)
        self.speed_bars = self.ax_speed.bar([0, 1], [0.0, 0.0], color=["#777", "#1b7f3b"])
        self.ax_speed.set_xticks([0, 1], ["off", "policy"], fontsize=8)
        self.ax_speed.set_title("speed vs off (higher is faster)", fontsize=9)
        self.speedup: float | None = None

        for w in (self.source, self.func, self.calls, self.policy, self.warmup, self.miss_budget, self.backoff_cap,
                  self.backoff_start, self.saturating, self.superinstructions, self.hash_cached, self.intern,
                  self.families):
            w.observe(self._on_change, names="value")
        self.policy.observe(self._on_policy, names="value")
        self.step.observe(self._on_step, names="value")
        self._apply_policy_defaults(policy)
        self.widget = W.VBox([
            W.HTML("<b>Function</b> (lwnlab's Python subset)"), self.source,
            W.HBox([self.func, self.calls]),
            W.HBox([self.policy, self.warmup, self.miss_budget]),
            W.HBox([self.backoff_cap, self.backoff_start, self.saturating]),
            W.HBox([self.superinstructions, self.hash_cached, self.intern]), self.families,
            self.errors.widget, self.summary, self.view.widget,
            W.HTML("<b>Timeline</b>: drag to see the bytecode after each state change"), self.step, self.event_label,
            self.code,
        ])
        self.update()

    # ------------------------------------------------------------ policy presets
    def _apply_policy_defaults(self, name: str) -> None:
        p = preset(name)
        self._syncing = True
        try:
            self.warmup.value = p.warmup
            self.miss_budget.value = p.miss_budget
            self.backoff_cap.value = p.backoff_cap
            self.backoff_start.value = p.deopt_backoff
            self.hash_cached.value = p.hash_cached
            self.intern.value = p.intern
            self.saturating.value = p.saturating
            self.superinstructions.value = p.superinstructions
        finally:
            self._syncing = False

    def _on_policy(self, change) -> None:
        self._apply_policy_defaults(change["new"])
        self.update()

    def _on_change(self, change) -> None:
        if self._syncing or change["owner"] is self.policy:
            return
        self.update()

    def current_policy(self):
        return preset(self.policy.value, warmup=self.warmup.value, miss_budget=self.miss_budget.value,
                      backoff_cap=self.backoff_cap.value, deopt_backoff=self.backoff_start.value,
                      saturating=self.saturating.value, superinstructions=self.superinstructions.value,
                      hash_cached=self.hash_cached.value, intern=self.intern.value,
                      families=tuple(self.families.value))

    # ------------------------------------------------------------ running
    def update(self) -> None:
        from lwnlab.interp.machine import execute

        self.runs += 1
        try:
            calls = parse_calls(self.calls.value)
            pol = self.current_policy()
            res = execute(self.source.value, self.func.value.strip(), calls, pol, filename="<editor>")
            base = execute(self.source.value, self.func.value.strip(), calls, "off", filename="<editor>")
        except LwnlabError as e:
            self.error = e
            self.errors.show(e)
            return
        self.error = None
        self.errors.clear()
        self.result, self.baseline = res, base
        # the VM's own time for the same calls (RunResult.seconds), not compile + build + run: the bars compare
        # the interpreters, and instructions/s would not (superinstructions make the policy run fewer of them)
        self._times = (max(base.seconds, 1e-9), max(res.seconds, 1e-9))
        self._draw()

    def _draw(self) -> None:
        r = self.result
        pc = r.percall
        calls = np.arange(1, len(pc) + 1)
        hits = np.diff(np.concatenate([[0], pc[:, 1]]))
        misses = np.diff(np.concatenate([[0], pc[:, 2]]))
        tot = hits + misses
        rate = np.where(tot > 0, hits / np.maximum(tot, 1), np.nan)
        self.hit_line.set_data(calls, rate)
        self.ax_rate.set_xlim(0.5, max(2, len(calls)) + 0.5)
        hmax = 1
        for k, fam in enumerate(O.FAMILIES):
            s = r.stats[fam]
            self.hit_bars[k].set_height(s["hit"])
            self.miss_bars[k].set_height(s["miss"])
            hmax = max(hmax, s["hit"], s["miss"])
        self.ax_fam.set_ylim(0, hmax * 2)
        t_off, t_on = self._times
        self.speedup = t_off / t_on
        for bar, v in zip(self.speed_bars, (1.0, self.speedup)):
            bar.set_height(v)
        self.ax_speed.set_ylim(0, max(1.0, self.speedup) * 1.2)
        self.ax_speed.set_title(f"speed vs off: {self.speedup:.2f}x (one run, noisy)", fontsize=9)
        self.view.redraw()
        self.summary.value = (f"<b>result</b> <code>{html.escape(repr(r.result))}</code> &nbsp; "
                              f"{r.instructions} instructions, hit rate {r.hit_rate:.1%}, "
                              f"{len(r.timeline)} events")
        n = len(r.timeline)
        self.step.max = max(n - 1, -1)
        self.step.min = -1
        self.step.value = n - 1
        self._on_step({"new": self.step.value})

    def _on_step(self, change) -> None:
        if self.result is None:
            return
        k = change["new"]
        tl = self.result.timeline
        if 0 <= k < len(tl):
            self.event_label.value = f"<code>{html.escape(str(tl[k]))}</code>"
        else:
            self.event_label.value = "<i>before the run</i>"
        self.code.value = code_html(self.result, k)


def make_lab(**kw) -> InterpLab:
    """The main widget of lab 1 (see :class:`InterpLab`)."""
    return InterpLab(**kw)


class SidePanel:
    """lwnlab's adaptive disassembly next to the host CPython's, for the same function and calls.

    With ``lab=`` (an :class:`InterpLab`) the panel follows that lab's editor, function, calls and policy, so
    it always shows the code being edited there."""

    def __init__(self, source: str = DEFAULT_SOURCE, func: str = "add", calls: str = DEFAULT_CALLS,
                 policy: str = "cpython311", lab: InterpLab | None = None):
        if lab is not None:
            source, func, calls, policy = lab.source.value, lab.func.value, lab.calls.value, lab.policy.value
        self.source = W.Textarea(value=source, layout=W.Layout(width="100%", height="120px"),
                                 continuous_update=False)
        self.func = W.Text(value=func, description="function", continuous_update=False)
        self.calls = W.Text(value=calls, description="calls", continuous_update=False, layout=W.Layout(width="420px"))
        self.policy = W.Dropdown(options=POLICIES, value=policy, description="lwnlab")
        self.ours = W.HTML()
        self.host = W.HTML()
        self.errors = ErrorBox()
        self.result = None
        self.panel = None
        for w in (self.source, self.func, self.calls, self.policy):
            w.observe(lambda ch: self.update(), names="value")
        self.links = []
        if lab is not None:
            self.links = [W.dlink((getattr(lab, name), "value"), (getattr(self, name), "value"))
                          for name in ("source", "func", "calls", "policy")]
        self.widget = W.VBox([self.source, W.HBox([self.func, self.calls, self.policy]), self.errors.widget,
                              W.HBox([W.VBox([W.HTML("<b>lwnlab</b>"), self.ours]),
                                      W.VBox([W.HTML("<b>host CPython</b>"), self.host])])])
        self.update()

    def update(self) -> None:
        from lwnlab.interp.cpython import panel
        from lwnlab.interp.machine import execute

        try:
            calls = parse_calls(self.calls.value)
            self.result = execute(self.source.value, self.func.value.strip(), calls, self.policy.value,
                                  filename="<editor>")
        except LwnlabError as e:
            # nothing below may show the previous code's disassemblies next to this code's error
            self.result = self.panel = None
            self.ours.value = self.host.value = ""
            self.errors.show(e)
            return
        self.errors.clear()
        self.ours.value = f"<pre>{html.escape(self.result.dis())}</pre>"
        try:
            self.panel = panel(self.source.value, self.func.value.strip(), calls)
            self.host.value = f"<pre>{html.escape(self.panel.text())}</pre>"
        except LwnlabError as e:
            self.panel = None
            self.host.value = f"<i>{html.escape(e.describe())}</i>"


def make_side_panel(**kw) -> SidePanel:
    """The CPython side panel; ``make_side_panel(lab=lab)`` follows a lab's code (see :class:`SidePanel`)."""
    return SidePanel(**kw)
