"""Small pieces every lab's widgets share: a figure that redraws in place, an error box.

Widget factories (``lwnlab.<topic>.widgets.make_<thing>()``) build their
plots with :func:`figure` and report bad input with :class:`ErrorBox`, so that
all labs behave alike:

* with ipympl (``%matplotlib widget``, the notebooks' default) the figure's
  canvas *is* the widget and ``redraw()`` is ``draw_idle()``;
* with any other backend (Agg in tests, inline elsewhere) the figure is shown in
  an ``Output`` widget and ``redraw()`` re-displays it.

Either way callbacks update artists (``set_ydata``, ``set_data``...) and call
``view.redraw()``: nothing is re-plotted from scratch.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import ipywidgets as W
import matplotlib
import matplotlib.pyplot as plt

from lwnlab.errors import LwnlabError


def is_ipympl() -> bool:
    return "ipympl" in matplotlib.get_backend().lower() or "widget" in matplotlib.get_backend().lower()


@dataclass
class FigureView:
    """A matplotlib figure plus the widget that shows it."""

    fig: "matplotlib.figure.Figure"
    widget: W.Widget
    redraws: int = 0

    def redraw(self) -> None:
        self.redraws += 1
        if isinstance(self.widget, W.Output):
            from IPython.display import display

            with self.widget:
                self.widget.clear_output(wait=True)
                display(self.fig)
        else:
            self.fig.canvas.draw_idle()


def figure(nrows: int = 1, ncols: int = 1, *, figsize=(7.0, 3.2), **subplot_kw):
    """Create ``(view, axes)``; ``view.widget`` goes into the layout, ``view.redraw()`` refreshes it."""
    with plt.ioff():
        fig, axes = plt.subplots(nrows, ncols, figsize=figsize, layout="constrained", **subplot_kw)
    if is_ipympl():
        fig.canvas.header_visible = False
        fig.canvas.toolbar_visible = False
        fig.canvas.resizable = False
        widget = fig.canvas
    else:
        widget = W.Output()
    view = FigureView(fig, widget)
    return view, axes


@dataclass
class ErrorBox:
    """An HTML widget that shows an :class:`~lwnlab.errors.LwnlabError` (message, not stack)."""

    widget: W.HTML = field(default_factory=lambda: W.HTML(value=""))
    error: LwnlabError | None = None

    def show(self, err: LwnlabError) -> None:
        self.error = err
        self.widget.value = (
            '<div style="color:#b00020;font-family:monospace;white-space:pre-wrap">'
            f"{html.escape(type(err).__name__)}: {html.escape(err.describe())}</div>"
        )

    def clear(self) -> None:
        self.error = None
        self.widget.value = ""

    @property
    def message(self) -> str:
        return self.error.describe() if self.error else ""


class Check:
    """The result of an exercise's self-check: truthy when passed, shown as a coloured line.

    ``check_*`` functions of the labs return this instead of printing, so tests
    can assert on ``.passed`` and notebooks show a clear verdict.
    """

    def __init__(self, passed: bool, message: str) -> None:
        self.passed = bool(passed)
        self.message = message

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"{'PASS' if self.passed else 'NOT YET'}: {self.message}"

    def _repr_html_(self) -> str:
        colour = "#1b7f3b" if self.passed else "#b26a00"
        mark = "&#10004; Correct" if self.passed else "&#10008; Not yet"
        return f'<div style="color:{colour};font-weight:bold">{mark}: {html.escape(self.message)}</div>'
