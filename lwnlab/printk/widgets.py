"""Widgets for the printk-index notebook.  Each factory returns an object whose attributes are
the controls, the figure artists and the latest result, so tests drive them by setting ``.value``.

* :func:`make_indexer`: index a tree with a progress bar (the live part of the story);
* :func:`make_browser`: search the index by text, level and file; bars count entries per level;
* :func:`make_matcher`: paste dmesg lines, see the source of each;
* :func:`make_rule_checker`: type a monitoring rule, see its verdict and formats as you type;
* :func:`make_diff_view`: two versions side by side, rewordings highlighted.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import ipywidgets as W
import numpy as np

from lwnlab.errors import LwnlabError
from lwnlab.printk.index import Index, build_index
from lwnlab.ui import ErrorBox, figure

LEVEL_NAMES = ["emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"]
MONO = "font-family:monospace;font-size:12px"


def _esc(s: str) -> str:
    return html.escape(s)


def _entry_row(e) -> str:
    lv = e.debugfs_line().split(" ", 1)[0]
    flag = "" if e.in_kernel_index else f' <span style="color:#888">(not indexed: {_esc(e.reason)})</span>'
    return (f"<tr><td>{_esc(lv)}</td><td>{_esc(e.file)}:{e.line}</td><td>{_esc(e.func)}</td>"
            f"<td>{_esc(e.text.rstrip(chr(10)))}{flag}</td></tr>")


def _table(rows: list[str], head: str = "<th>level</th><th>file:line</th><th>function</th><th>format</th>") -> str:
    return (f'<div style="max-height:260px;overflow:auto"><table style="{MONO}">'
            f"<tr style='text-align:left'>{head}</tr>{''.join(rows)}</table></div>")


# ----------------------------------------------------------------------------- indexer


@dataclass
class Indexer:
    root: str
    subdirs: list
    button: W.Button
    progress: W.IntProgress
    status: W.HTML
    widget: W.Widget
    index: Index | None = None

    def run(self) -> Index:
        def cb(done, total):
            self.progress.max = total
            self.progress.value = done

        self.status.value = f"indexing {self.root} {' '.join(self.subdirs)} ..."
        self.index = build_index(self.root, self.subdirs, progress=False, callback=cb)
        st = self.index.stats
        self.status.value = (f"{st['files']} files, {st['bytes'] / 1e6:.1f} MB: {st['calls']} calls, "
                             f"{st['resolved']} resolved ({st['unresolved']} not constant), "
                             f"{st['in_kernel_index']} in the kernel's own index")
        return self.index


def make_indexer(root, subdirs=(), run: bool = False) -> Indexer:
    button = W.Button(description="Build the index", button_style="primary")
    progress = W.IntProgress(value=0, min=0, max=1, description="files")
    status = W.HTML()
    ix = Indexer(str(root), list(subdirs), button, progress, status, W.VBox([W.HBox([button, progress]), status]))
    button.on_click(lambda _: ix.run())
    if run:
        ix.run()
    return ix


# ----------------------------------------------------------------------------- browser


@dataclass
class Browser:
    index: Index
    text: W.Text
    level: W.Dropdown
    file: W.Text
    only_kernel: W.Checkbox
    table: W.HTML
    count: W.HTML
    view: object
    bars: object
    widget: W.Widget
    result: list = field(default_factory=list)
    limit: int = 200

    def update(self, *_):
        lv = self.level.value
        self.result = self.index.search(self.text.value, None if lv == "all" else int(lv), self.file.value,
                                        self.only_kernel.value)
        counts = np.zeros(9, np.int64)
        for e in self.result:
            counts[e.levelno + 1 if e.levelno >= -1 else 0] += 1
        for b, h in zip(self.bars, counts):
            b.set_height(h)
        ax = self.bars[0].axes
        ax.set_ylim(0, max(1, counts.max()) * 1.15)
        self.view.redraw()
        self.count.value = f"{len(self.result)} of {len(self.index)} entries"
        self.table.value = _table([_entry_row(e) for e in self.result[: self.limit]])


def make_browser(index: Index) -> Browser:
    text = W.Text(description="text", placeholder="e.g. timeout")
    level = W.Dropdown(options=[("all", "all"), ("-1 (none)", "-1")] + [(f"{i} {n}", str(i)) for i, n in enumerate(LEVEL_NAMES)],
                       value="all", description="level")
    file = W.Text(description="file", placeholder="e.g. drivers/pci/")
    only = W.Checkbox(description="only what the kernel indexes", value=False)
    view, ax = figure(figsize=(6.5, 2.2))
    bars = ax.bar(range(9), np.zeros(9), color=["#999"] + ["#b00020", "#c62828", "#e65100", "#ef6c00", "#f9a825",
                                                          "#1565c0", "#2e7d32", "#6a1b9a"])
    ax.set_xticks(range(9), ["none"] + LEVEL_NAMES, fontsize=8)
    ax.set_ylabel("entries")
    table, count = W.HTML(), W.HTML()
    b = Browser(index, text, level, file, only, table, count, view, bars,
                W.VBox([W.HBox([text, level]), W.HBox([file, only]), count, view.widget, table]))
    for c in (text, level, file, only):
        c.observe(b.update, names="value")
    b.update()
    return b


# ----------------------------------------------------------------------------- matcher


@dataclass
class MatcherBox:
    matcher: object
    lines: W.Textarea
    table: W.HTML
    widget: W.Widget
    result: list = field(default_factory=list)

    def update(self, *_):
        self.result = self.matcher.match(self.lines.value.splitlines())
        rows = []
        for r in self.result:
            if r.entry is None:
                rows.append(f"<tr><td>{_esc(r.line)}</td><td colspan=2 style='color:#b26a00'>unmatched</td></tr>")
            else:
                e = r.entry
                more = "".join(f" + {_esc(f.file)}:{f.line}" for f in r.fragments)
                rows.append(f"<tr><td>{_esc(r.line)}</td><td>{_esc(e.file)}:{e.line}{more} {_esc(e.func)}</td>"
                            f"<td>{_esc(e.text.rstrip(chr(10)))}</td></tr>")
        self.table.value = _table(rows, "<th>log line</th><th>source</th><th>format</th>")


def make_matcher(index: Index, example: str = "") -> MatcherBox:
    from lwnlab.printk.match import Matcher

    m = Matcher.from_index(index)
    lines = W.Textarea(value=example, placeholder="paste dmesg or syslog lines",
                       layout=W.Layout(width="95%", height="110px"), continuous_update=False)
    box = MatcherBox(m, lines, W.HTML(), None)
    box.widget = W.VBox([lines, box.table])
    lines.observe(box.update, names="value")
    box.update()
    return box


# ----------------------------------------------------------------------------- rule checker


@dataclass
class RuleChecker:
    auditor: object
    rule: W.Text
    verdict_html: W.HTML
    table: W.HTML
    errors: ErrorBox
    widget: W.Widget
    verdict: object = None

    COLOURS = {"match": "#1b7f3b", "wildcard-only": "#b26a00", "stale": "#b00020"}

    def update(self, *_):
        pat = self.rule.value
        if not pat:
            self.verdict = None
            self.verdict_html.value = ""
            self.table.value = ""
            self.errors.clear()
            return
        try:
            v = self.auditor.audit(pat)
        except LwnlabError as e:
            self.errors.show(e)
            self.verdict = None
            self.verdict_html.value = ""
            return
        self.errors.clear()
        self.verdict = v
        c = self.COLOURS[v.verdict]
        note = f" ({_esc(v.note)})" if v.note else ""
        self.verdict_html.value = (f'<b style="color:{c}">{v.verdict}</b>: key word {_esc(repr(v.key))}, '
                                   f"{v.checked} automaton intersections in {v.seconds * 1000:.0f} ms{note}")
        self.table.value = _table([_entry_row(e) for e in v.formats[:50]])


def make_rule_checker(index: Index, rule: str = "") -> RuleChecker:
    from lwnlab.printk.audit import Auditor

    text = W.Text(value=rule, description="rule", placeholder=r"e.g. CPU\d+ on fire",
                  layout=W.Layout(width="70%"), continuous_update=True)
    rc = RuleChecker(Auditor(index), text, W.HTML(), W.HTML(), ErrorBox(), None)
    rc.widget = W.VBox([text, rc.errors.widget, rc.verdict_html, rc.table])
    text.observe(rc.update, names="value")
    rc.update()
    return rc


# ----------------------------------------------------------------------------- diff view


def highlight(rw) -> str:
    """HTML of a rewording: deleted text struck out in red, inserted text in green."""
    out = []
    for tag, a, b in rw.word_diff():
        if tag == "equal":
            out.append(_esc(a))
            continue
        if a:
            out.append(f'<del style="background:#fdd">{_esc(a)}</del>')
        if b:
            out.append(f'<ins style="background:#dfd">{_esc(b)}</ins>')
    return "".join(out)


@dataclass
class DiffView:
    old: Index
    new: Index
    file: W.Text
    summary: W.HTML
    table: W.HTML
    view: object
    bars: object
    widget: W.Widget
    result: object = None

    def update(self, *_):
        from lwnlab.printk.diff import diff

        f = self.file.value
        old = [e for e in self.old.entries if f in e.file]
        new = [e for e in self.new.entries if f in e.file]
        d = self.result = diff(old, new)
        s = d.summary()
        vals = [s["kept"] - s["moved"], s["moved"], s["reworded"], s["removed"], s["added"]]
        for b, v in zip(self.bars, vals):
            b.set_width(v)
        self.bars[0].axes.set_xlim(0, max(1, max(vals)) * 1.15)
        self.view.redraw()
        self.summary.value = (f"kept {s['kept']} (of which moved {s['moved']}), reworded {s['reworded']}, "
                              f"removed {s['removed']}, added {s['added']}")
        rows = [f"<tr><td>~</td><td>{_esc(r.old.file)} {_esc(r.old.func)}</td><td>{highlight(r)}</td></tr>"
                for r in d.reworded[:150]]
        rows += [f"<tr><td style='color:#b00020'>-</td><td>{_esc(e.file)}:{e.line} {_esc(e.func)}</td>"
                 f"<td>{_esc(e.text.rstrip(chr(10)))}</td></tr>" for e in d.removed[:100]]
        rows += [f"<tr><td style='color:#1b7f3b'>+</td><td>{_esc(e.file)}:{e.line} {_esc(e.func)}</td>"
                 f"<td>{_esc(e.text.rstrip(chr(10)))}</td></tr>" for e in d.added[:100]]
        self.table.value = _table(rows, "<th></th><th>where</th><th>format</th>")


def make_diff_view(old: Index, new: Index, file: str = "") -> DiffView:
    text = W.Text(value=file, description="file", placeholder="filter by path", continuous_update=False)
    view, ax = figure(figsize=(6.5, 1.8))
    labels = ["unchanged", "moved", "reworded", "removed", "added"]
    bars = ax.barh(range(5), np.zeros(5), color=["#9e9e9e", "#90caf9", "#ffb74d", "#e57373", "#81c784"])
    ax.set_yticks(range(5), labels, fontsize=8)
    ax.invert_yaxis()
    dv = DiffView(old, new, text, W.HTML(), W.HTML(), view, bars, None)
    dv.widget = W.VBox([text, dv.summary, view.widget, dv.table])
    text.observe(dv.update, names="value")
    dv.update()
    return dv


__all__ = ["make_indexer", "make_browser", "make_matcher", "make_rule_checker", "make_diff_view", "highlight"]
