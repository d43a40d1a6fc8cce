"""Widgets of the seccomp lab: a filter workbench, a trace view, stacked filters, libseccomp's policies.

Every factory returns an object whose attributes are the controls, the figure
artists and the latest result, so tests drive them by setting ``.value``.
Controls that re-run filters use ``continuous_update=False``; re-runs never
compile anything new (argument types are fixed: int64/uint32 arrays).
"""

from __future__ import annotations

import errno
import html
from dataclasses import dataclass, field

import ipywidgets as W
import numpy as np

from lwnlab.errors import LwnlabError
from lwnlab.ui import ErrorBox, figure

ACTION_ORDER = ["KILL_PROCESS", "KILL_THREAD", "TRAP", "ERRNO", "USER_NOTIF", "TRACE", "LOG", "ALLOW"]
ACTION_COLOURS = {"KILL_PROCESS": "#7f0000", "KILL_THREAD": "#d62728", "TRAP": "#ff7f0e", "ERRNO": "#bcbd22",
                  "USER_NOTIF": "#9467bd", "TRACE": "#8c564b", "LOG": "#17becf", "ALLOW": "#2ca02c",
                  "UNKNOWN": "#000000"}

EXAMPLE_FILTER = """\
; a small policy in the style of libseccomp's output
    ld arch
    jeq #AUDIT_ARCH_X86_64, 1, 0
    ret KILL_PROCESS
    ld nr
    jge #0x40000000, kill      ; x32 ABI: refuse
    jeq #execve, kill, 0
    jeq #openat, 0, allow
    ld args[2]                 ; openat's flags (low half)
    and #3                     ; O_ACCMODE
    jeq #1, 0, allow           ; O_WRONLY?
    ret ERRNO(13)              ; EACCES
allow:
    ret ALLOW
kill:
    ret KILL
"""


def _action_of(ret: int) -> str:
    from lwnlab.seccomp.actions import action_name

    n = action_name(ret)
    return "UNKNOWN" if n.startswith("UNKNOWN") else n


def _listing_html(insns, path: list[int], arch: str, error_pc: int | None = None) -> str:
    from lwnlab.bpf.classic_asm import _annotate, disasm_one

    notes = _annotate(list(insns), arch)
    seen = set(path)
    last = path[-1] if path else None
    rows = []
    for pc, (x, note) in enumerate(zip(insns, notes)):
        style = ""
        if pc == error_pc:
            style = "background:#ffd6d6"
        elif pc == last:
            style = "background:#ffe9a8;font-weight:bold"
        elif pc in seen:
            style = "background:#e3f2e1"
        text = html.escape(f"{pc:04d}: {disasm_one(x):<26} ; {note}" if note else f"{pc:04d}: {disasm_one(x)}")
        rows.append(f'<div style="{style}">{text}</div>')
    return ('<div style="font-family:monospace;font-size:12px;white-space:pre;line-height:1.35">'
            + "".join(rows) + "</div>")


# --------------------------------------------------------------------------- the filter workbench


@dataclass
class FilterLab:
    """A classic filter in a text box, a syscall picker, and the path the filter took."""

    source: W.Textarea
    arch: W.Dropdown
    syscall: W.Combobox
    args: list
    ip: W.Text
    verdict: W.HTML
    listing: W.HTML
    errors: ErrorBox
    kernel_button: W.Button
    kernel_result: W.HTML
    widget: W.Widget
    filter: object = None
    result: object = None  # Decision
    path: list = field(default_factory=list)
    kernel: object = None
    rejected: bytes | None = None  # the assembled filter when the kernel's rules refuse it

    def update(self, *_):
        from lwnlab.bpf import classic
        from lwnlab.seccomp.data import SeccompData
        from lwnlab.seccomp.filter import Filter, Stack

        self.errors.clear()
        self.kernel_result.value = ""
        self.filter, self.result, self.path, self.rejected = None, None, [], None
        try:
            try:
                f = Filter.from_asm(self.source.value, arch=self.arch.value)
            except classic.ClassicRejected as e:
                from lwnlab.bpf.classic_asm import assemble
                from lwnlab.seccomp.syscalls import get_arch

                insns = assemble(self.source.value, arch=self.arch.value)
                self.listing.value = _listing_html(insns, [], self.arch.value, e.pc)
                self.rejected = classic.encode(insns, get_arch(self.arch.value).big_endian)  # for ask_kernel
                raise
            args = []
            for i, a in enumerate(self.args):
                try:
                    args.append(int(a.value.strip() or "0", 0))
                except ValueError:
                    raise LwnlabError(f"args[{i}] = {a.value!r} is not a number", field=f"args[{i}]") from None
            try:
                ip = int(self.ip.value.strip() or "0", 0)
            except ValueError:
                raise LwnlabError(f"ip = {self.ip.value!r} is not a number", field="ip") from None
            d = SeccompData.make(self.arch.value, self.syscall.value.strip(), args, ip)
            ret, path = f.run_with_path(d)
            dec = Stack([f], cache=False).decide(d)
        except LwnlabError as e:
            self.errors.show(e)
            self.verdict.value = ""
            return
        self.filter, self.result, self.path = f, dec, path
        eff = dec.effect
        colour = ACTION_COLOURS.get(_action_of(ret), "#000")
        self.verdict.value = (f'<b style="color:{colour};font-size:15px">{html.escape(eff.action)}'
                              f'{"(" + str(dec.data) + ")" if eff.action in ("ERRNO", "TRAP", "TRACE") else ""}</b>'
                              f" &nbsp; ret {ret:#010x}, {len(path)} instructions executed"
                              f" ({f.converted_length} eBPF instructions after conversion)<br>"
                              f"<i>{html.escape(eff.note or 'the syscall runs')}</i>")
        self.listing.value = _listing_html(f.insns, path, self.arch.value)

    def ask_kernel(self, *_):
        """Install the filter in a child process and make the syscall (x86_64, where allowed)."""
        from lwnlab.seccomp import kernel

        ok, why = kernel.available()
        if not ok or self.arch.value != "x86_64":
            self.kernel_result.value = f"<i>kernel oracle unavailable: {html.escape(why if not ok else 'x86_64 only')}</i>"
            return
        if self.filter is None and self.rejected:  # lwnlab refuses it: show that the kernel does too
            accepted, err = kernel.seccomp_accepts(self.rejected)
            self.kernel = None
            self.kernel_result.value = "<b>kernel:</b> " + html.escape(
                "seccomp() accepted the filter" if accepted else
                f"seccomp() refused the filter: {errno.errorcode.get(err, err)}")
            return
        if self.filter is None or self.result is None:
            self.kernel_result.value = "<i>nothing to ask the kernel: fix the error above first</i>"
            return
        d = self.result.data_in
        nr = d.nr_signed
        if nr not in kernel.safe_syscalls():
            self.kernel_result.value = ("<i>the kernel oracle only makes harmless syscalls (getpid, getuid, ... "
                                        "or numbers no syscall has); pick one of those</i>")
            return
        out = kernel.run_seccomp([self.filter.to_bytes()], nr, d.args)
        self.kernel = out
        self.kernel_result.value = f"<b>kernel:</b> {html.escape(out.summary())}"


def make_filter_lab(source: str = EXAMPLE_FILTER, *, arch: str = "x86_64", syscall: str = "openat",
                    args=(0xFFFFFFFFFFFFFF9C, 0x1000, 0, 0, 0, 0)) -> FilterLab:
    from lwnlab.seccomp.syscalls import ARCHES, table

    src = W.Textarea(value=source, layout=W.Layout(width="100%", height="260px"), continuous_update=False,
                     description="")
    arch_w = W.Dropdown(options=[a for a in ARCHES if table(a)], value=arch, description="arch")
    names = sorted(table(arch))
    sc = W.Combobox(value=syscall, options=names, description="syscall", ensure_option=False, continuous_update=False)
    arg_ws = [W.Text(value=hex(a), description=f"args[{i}]", continuous_update=False,
                     layout=W.Layout(width="200px")) for i, a in enumerate(list(args) + [0] * (6 - len(args)))]
    ip = W.Text(value="0x0", description="ip", continuous_update=False, layout=W.Layout(width="200px"))
    verdict = W.HTML()
    listing = W.HTML()
    errors = ErrorBox()
    kb = W.Button(description="ask the live kernel", tooltip="installs the filter in a forked child (x86_64)")
    kr = W.HTML()
    controls = W.VBox([W.HBox([arch_w, sc, ip]), W.HBox(arg_ws[:3]), W.HBox(arg_ws[3:]), W.HBox([kb, kr])])
    box = W.VBox([W.HBox([W.VBox([src], layout=W.Layout(width="48%")), W.VBox([listing], layout=W.Layout(width="52%"))]),
                  controls, verdict, errors.widget])
    lab = FilterLab(src, arch_w, sc, arg_ws, ip, verdict, listing, errors, kb, kr, box)

    def arch_changed(change):
        sc.options = sorted(table(change["new"]))
        lab.update()

    for w in [src, sc, ip, *arg_ws]:
        w.observe(lab.update, names="value")
    arch_w.observe(arch_changed, names="value")
    kb.on_click(lab.ask_kernel)
    lab.update()
    return lab


# --------------------------------------------------------------------------- a trace, coloured by action


@dataclass
class TraceView:
    source: W.Textarea
    errors: ErrorBox
    summary: W.HTML
    view: object
    ax: object
    scatter: object
    bars: object
    widget: W.Widget
    label: str
    trace: list
    words: np.ndarray
    result: tuple = None  # (ret, filter, steps)
    counts: dict = field(default_factory=dict)
    actions: np.ndarray = None

    def update(self, *_):
        from lwnlab.seccomp.filter import Filter, Stack

        self.errors.clear()
        try:
            f = Filter.from_asm(self.source.value)
            stack = Stack([f])
            res = stack.run_batch(self.words)
        except LwnlabError as e:
            self.errors.show(e)  # and no stale answer beside it (the dots keep their last colours)
            self.result, self.counts, self.actions = None, {}, None
            self.summary.value = f"{html.escape(self.label)}: <i>not run: the filter has an error</i>"
            return
        self.result = res
        ret = res[0]
        acts = np.array([_action_of(int(r)) for r in np.unique(ret)])
        lookup = {int(r): a for r, a in zip(np.unique(ret), acts)}
        self.actions = np.array([lookup[int(r)] for r in ret])
        self.counts = {a: int((self.actions == a).sum()) for a in ACTION_ORDER + ["UNKNOWN"]
                       if (self.actions == a).any()}
        colours = [ACTION_COLOURS[a] for a in self.actions]
        self.scatter.set_facecolors(colours)
        for rect, a in zip(self.bars, ACTION_ORDER):
            rect.set_height(self.counts.get(a, 0))
        self.ax[1].set_ylim(0, max(1, max(self.counts.values(), default=1)) * 1.15)
        steps = res[2]
        cached = int((res[1] == -2).sum())
        self.summary.value = (f"{html.escape(self.label)}: {len(self.trace)} syscalls; "
                              + ", ".join(f"{k} {v}" for k, v in self.counts.items())
                              + f"; {cached} answered by the action cache; mean {steps.mean():.1f} instructions")
        self.view.redraw()


def make_trace_view(source: str = EXAMPLE_FILTER, trace=None, label: str | None = None) -> TraceView:
    """A trace (default: the recorded ``ls -la /etc``) run through the filter, coloured by action."""
    from lwnlab.seccomp.data import batch_words
    from lwnlab.seccomp.trace import RECORDED_LABEL, recorded_trace

    if trace is None:
        trace, label = recorded_trace(), RECORDED_LABEL
    label = label or "trace"
    words = batch_words(trace)
    view, ax = figure(1, 2, figsize=(8.5, 3.2), gridspec_kw={"width_ratios": [2.6, 1]})
    nr = np.array([d.nr_signed for d in trace])
    sc = ax[0].scatter(np.arange(len(trace)), nr, s=9, c="#999999")
    ax[0].set_xlabel("syscall # in the trace")
    ax[0].set_ylabel("nr")
    ax[0].set_title(label, fontsize=9)
    bars = ax[1].bar(range(len(ACTION_ORDER)), [0] * len(ACTION_ORDER),
                     color=[ACTION_COLOURS[a] for a in ACTION_ORDER])
    short = {"KILL_PROCESS": "KILL_P", "KILL_THREAD": "KILL_T", "USER_NOTIF": "NOTIF"}
    ax[1].set_xticks(range(len(ACTION_ORDER)), [short.get(a, a) for a in ACTION_ORDER], fontsize=7, rotation=60)
    ax[1].set_title("actions", fontsize=9)
    src = W.Textarea(value=source, layout=W.Layout(width="100%", height="200px"), continuous_update=False)
    errors = ErrorBox()
    summary = W.HTML()
    box = W.VBox([src, errors.widget, summary, view.widget])
    tv = TraceView(src, errors, summary, view, ax, sc, bars, box, label, trace, words)
    src.observe(tv.update, names="value")
    tv.update()
    return tv


# --------------------------------------------------------------------------- stacking two filters


OLDER = """\
; older filter: a broad policy
    ld nr
    jeq #openat, 0, 1
    ret ERRNO(1)
    ret ALLOW
"""
NEWER = """\
; newer filter: added later (e.g. by a sandboxed child)
    ld nr
    jeq #openat, 0, 1
    ret ERRNO(2)
    jeq #write, 0, 1
    ret LOG
    ret ALLOW
"""


@dataclass
class StackLab:
    older: W.Textarea
    newer: W.Textarea
    syscall: W.Combobox
    table: W.HTML
    errors: ErrorBox
    widget: W.Widget
    result: object = None
    per_filter: list = field(default_factory=list)

    def update(self, *_):
        from lwnlab.seccomp.actions import format_action
        from lwnlab.seccomp.data import SeccompData
        from lwnlab.seccomp.filter import Filter, Stack

        self.errors.clear()
        try:
            fs = [Filter.from_asm(self.older.value, file="older"), Filter.from_asm(self.newer.value, file="newer")]
            d = SeccompData.make("x86_64", self.syscall.value.strip())
            stack = Stack(fs, cache=False)
            dec = stack.decide(d)
        except LwnlabError as e:
            self.errors.show(e)
            self.result, self.per_filter, self.table.value = None, [], ""
            return
        self.per_filter = [f.run(d) for f in fs]
        self.result = dec
        rows = []
        for i, (name, r) in enumerate(zip(("older (0)", "newer (1)"), self.per_filter)):
            mark = " &larr; decides" if dec.filter == i else ""
            rows.append(f"<tr><td>{name}</td><td>{html.escape(format_action(r))}</td><td>{mark}</td></tr>")
        who = f"filter {dec.filter}" if dec.filter >= 0 else "no filter (nothing beat ALLOW)"
        self.table.value = ("<table style='font-family:monospace'>" + "".join(rows) + "</table>"
                            f"<b>result: {html.escape(format_action(dec.ret))}</b> from {who}: the kernel walks newest "
                            "to oldest and keeps a result only if its action is strictly lower")


def make_stack_lab(older: str = OLDER, newer: str = NEWER, syscall: str = "openat") -> StackLab:
    from lwnlab.seccomp.syscalls import table

    o = W.Textarea(value=older, layout=W.Layout(width="49%", height="170px"), continuous_update=False)
    n = W.Textarea(value=newer, layout=W.Layout(width="49%", height="170px"), continuous_update=False)
    sc = W.Combobox(value=syscall, options=sorted(table("x86_64")), description="syscall", continuous_update=False)
    t = W.HTML()
    errors = ErrorBox()
    lab = StackLab(o, n, sc, t, errors, W.VBox([W.HBox([o, n]), sc, t, errors.widget]))
    for w in (o, n, sc):
        w.observe(lab.update, names="value")
    lab.update()
    return lab


# --------------------------------------------------------------------------- libseccomp's policies


@dataclass
class PolicyView:
    linear: object
    tree: object
    view: object
    ax: object
    lines: list
    summary: W.HTML
    widget: W.Widget
    steps: dict = field(default_factory=dict)


def make_policy_view() -> PolicyView:
    """The container-style policy built by libseccomp, as a linear chain and as a binary tree."""
    from lwnlab.seccomp import libseccomp as L
    from lwnlab.seccomp.data import SeccompData, batch_words
    from lwnlab.seccomp.filter import Stack

    lin, tree = L.container_policy(), L.container_policy(tree=True)
    nrs = np.arange(0, 460)
    words = batch_words([SeccompData.make("x86_64", int(n)) for n in nrs])
    steps = {}
    for name, pol in (("linear", lin), ("tree", tree)):
        steps[name] = Stack([pol.filter], cache=False).run_batch(words)[2]
    view, ax = figure(figsize=(8.0, 3.0))
    l1, = ax.plot(nrs, steps["linear"], lw=1, label=f"linear ({lin.instructions} insns)")
    l2, = ax.plot(nrs, steps["tree"], lw=1, label=f"binary tree ({tree.instructions} insns)")
    ax.set_xlabel("x86_64 syscall number")
    ax.set_ylabel("instructions executed")
    ax.legend(fontsize=8)
    summary = W.HTML(
        f"libseccomp {'(SCMP_FLTATR_CTL_OPTIMIZE=2 for the tree)'}: linear {lin.instructions} instructions, mean path "
        f"{steps['linear'].mean():.1f} (max {steps['linear'].max()}); tree {tree.instructions} instructions, mean path "
        f"{steps['tree'].mean():.1f} (max {steps['tree'].max()}) over nr 0..459")
    view.redraw()
    return PolicyView(lin, tree, view, ax, [l1, l2], summary, W.VBox([summary, view.widget]), steps)


# --------------------------------------------------------------------------- small tables for the notebook


def data_table(d) -> W.HTML:
    """struct seccomp_data of one syscall: fields, and the 16 words a classic ``ld [k]`` reads."""
    from lwnlab.seccomp.data import describe_offset
    from lwnlab.seccomp.syscalls import arch_by_audit, syscall_name

    arches = arch_by_audit(d.arch)
    name = next((syscall_name(a, d.nr_signed) for a in arches if syscall_name(a, d.nr_signed)), None)
    head = (f"<b>{html.escape(name or str(d.nr_signed))}</b> on "
            f"{html.escape('/'.join(a.name for a in arches) or hex(d.arch))} "
            f"({'big' if d.big_endian else 'little'}-endian): nr={d.nr_signed}, arch={d.arch:#010x}, "
            f"ip={d.instruction_pointer:#x}, args=[{', '.join(hex(a) for a in d.args)}]")
    w = d.words()
    cells = "".join(f"<td style='padding:0 6px'>[{4 * i}]<br><code>{int(v):#010x}</code><br>"
                    f"<small>{html.escape(describe_offset(4 * i, d.big_endian))}</small></td>" for i, v in enumerate(w))
    return W.HTML(f"{head}<table style='font-size:11px;text-align:center'><tr>{cells}</tr></table>")


def rejection_table(examples: dict) -> W.HTML:
    """{label: filter text} -> what the kernel's checks say about each (accepted, or the check and pc)."""
    from lwnlab.bpf import classic
    from lwnlab.bpf.classic_asm import assemble

    rows = []
    for label, text in examples.items():
        try:
            prog = assemble(text)
            checked = classic.validate_seccomp(prog)
            verdict = f"accepted ({classic.converted_length(checked)} eBPF instructions after conversion)"
        except classic.ClassicRejected as e:
            verdict = f"EINVAL at pc {e.pc}: {e.detail} <i>[{e.stage}: {e.reason}]</i>" if e.pc is not None else \
                f"EINVAL: {e.detail} <i>[{e.stage}: {e.reason}]</i>"
        except LwnlabError as e:
            verdict = f"does not assemble: {html.escape(e.describe())}"
        rows.append(f"<tr><td><code>{html.escape(label)}</code></td><td>{verdict}</td></tr>")
    return W.HTML("<table>" + "".join(rows) + "</table>")


def _kind_text(k: dict) -> str:
    kind = k["kind"]
    if kind == "errno":
        return f"fails with errno {k['errno']}"
    if kind == "trap":
        return f"SIGSYS trap, si_errno {k['si_errno']}"
    if kind == "killed":
        return "killed by SIGSYS"
    if kind == "returned0":
        return "returns 0 without running"
    return "runs"


def kernel_comparison(text: str, calls: list) -> W.HTML:
    """lwnlab's prediction and the live kernel's behaviour side by side (x86_64, harmless syscalls)."""
    from lwnlab.seccomp import kernel
    from lwnlab.seccomp.data import SeccompData
    from lwnlab.seccomp.filter import Filter, Stack

    f = Filter.from_asm(text)
    ok, why = kernel.available()
    import platform

    if platform.machine() != "x86_64":
        ok, why = False, f"this machine is {platform.machine()}, the oracle makes x86_64 syscalls"
    rows = []
    for nr, args in calls:
        d = SeccompData(nr & 0xFFFFFFFF, 0xC000003E, kernel.syscall_ip() if ok else 0, tuple(args))
        dec = Stack([f]).decide(d)
        mine = kernel.normalise_expected(kernel.expected_outcome(dec.ret, nr), nr)
        if ok:
            out = kernel.run_seccomp([f.to_bytes()], nr, args)
            theirs = kernel.observed_kind(out, nr)
            agree = "&#10004;" if theirs == mine else "&#10008; DISAGREE"
            k = f"{html.escape(out.summary())}"
        else:
            agree, k = "", f"<i>unavailable: {html.escape(why)}</i>"
        name = kernel.safe_syscalls().get(nr, str(nr))
        rows.append(f"<tr><td>{html.escape(name)} ({nr})</td><td>{html.escape(dec.effect.action)}"
                    f"({dec.data}) &rarr; {html.escape(_kind_text(mine))}</td><td>{k}</td><td>{agree}</td></tr>")
    return W.HTML("<table><tr><th>syscall</th><th>lwnlab predicts</th><th>the kernel did</th><th></th></tr>"
                  + "".join(rows) + "</table>")
