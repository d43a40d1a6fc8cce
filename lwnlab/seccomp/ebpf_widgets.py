"""Widgets of Lab 3, part 2: eBPF seccomp filters as proposed in 2021 (never merged).

Factories, each returning an object whose attributes are its controls and its latest result, so
tests drive them by setting ``.value`` and reading state:

* :func:`make_side_by_side` — one policy as a classic filter (and the eBPF the kernel converts it
  to) beside the same policy written natively in eBPF, both run over a recorded trace;
* :func:`make_verifier_lab` — an eBPF program, the loader's privileges and the proposal's gates; the
  verifier's verdict and log, and a step slider over the register states it explored;
* :func:`make_map_trace` — a stateful policy run over a trace, a step slider, and the maps'
  contents after that syscall;
* :func:`make_privilege_board` — capability and gate switches: which helpers a seccomp filter may
  call, and which example policies still load;
* :func:`make_c_lab` — a filter written in C, compiled by clang, loaded like libbpf would.

Moving a control never compiles anything: programs run on the one numba eBPF kernel, whose
argument types do not change; the verifier is Python.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import ipywidgets as W
import numpy as np

from lwnlab.bpf.helpers import HELPERS, Gates, Privileges, check_helper_allowed
from lwnlab.errors import LwnlabError, VerifierError
from lwnlab.seccomp.widgets import ACTION_COLOURS, ACTION_ORDER, EXAMPLE_FILTER, _action_of
from lwnlab.ui import ErrorBox, figure

PROPOSED = ('<div style="background:#fff4ce;border-left:4px solid #e0a800;padding:4px 8px;margin:4px 0">'
            "<b>What-if model.</b> <code>BPF_PROG_TYPE_SECCOMP</code> was proposed in May 2021 "
            "(YiFei Zhu et al., RFC, 12 patches) and <b>never merged</b>: no released kernel runs these filters."
            "</div>")

#: EXAMPLE_FILTER of part 1, written natively in eBPF (uBPF-style assembly)
NATIVE_EXAMPLE = """\
; the part-1 policy, written natively in eBPF: 64-bit registers, named offsets, no A/X shuffling
    ldxw %r2, [%r1+4]              ; arch (u32)
    jne32 %r2, 0xc000003e, kill    ; not AUDIT_ARCH_X86_64: kill
    ldxw %r2, [%r1+0]              ; nr
    jge %r2, 0x40000000, kill      ; x32 ABI: refuse
    jeq %r2, 59, kill              ; execve
    jne %r2, 257, allow            ; not openat
    ldxdw %r3, [%r1+32]            ; args[2] (openat's flags), all 64 bits in one load
    and %r3, 3                     ; O_ACCMODE
    jne %r3, 1, allow              ; not O_WRONLY
    mov32 %r0, 0x0005000d          ; ERRNO(EACCES)
    exit
allow:
    mov32 %r0, 0x7fff0000          ; ALLOW
    exit
kill:
    mov32 %r0, 0                   ; KILL (KILL_THREAD), as `ret KILL`
    exit
"""

#: a program the verifier rejects: the map value is used before the NULL check
UNCHECKED_LOOKUP = """\
; count calls per syscall number -- but the lookup's result is used without a NULL check
.map 1 counts array key_size=4 value_size=8 max_entries=512
    ldxw %r2, [%r1+0]              ; nr
    stxw [%r10-4], %r2             ; key = nr
    lddw %r1, map_fd(1)
    mov %r2, %r10
    add %r2, -4
    call 1                         ; r0 = bpf_map_lookup_elem(&counts, &nr): a pointer, or NULL
    mov %r1, 1
    lock add [%r0+0], %r1          ; *r0 += 1 -- but r0 may be NULL
    mov32 %r0, 0x7fff0000
    exit
"""


def _pre(text: str, height: str | None = None) -> str:
    style = "font-family:monospace;font-size:12px;white-space:pre;line-height:1.3"
    if height:
        style += f";max-height:{height};overflow:auto"
    return f'<div style="{style}">{html.escape(text)}</div>'


def _privileges(cap_bpf: bool, cap_perfmon: bool, cap_sys_ptrace: bool) -> Privileges:
    return Privileges(cap_bpf=cap_bpf, cap_perfmon=cap_perfmon, cap_sys_ptrace=cap_sys_ptrace)


@dataclass
class CapSwitches:
    """The loader's capabilities and the proposal's two gates, as checkboxes."""

    cap_bpf: W.Checkbox
    cap_perfmon: W.Checkbox
    cap_sys_ptrace: W.Checkbox
    lsm_restrict: W.Checkbox
    yama: W.Checkbox
    widget: W.Widget

    @property
    def privileges(self) -> Privileges:
        return _privileges(self.cap_bpf.value, self.cap_perfmon.value, self.cap_sys_ptrace.value)

    @property
    def gates(self) -> Gates:
        return Gates(lsm_restrict=self.lsm_restrict.value, yama=self.yama.value)

    def observe(self, fn) -> None:
        for c in (self.cap_bpf, self.cap_perfmon, self.cap_sys_ptrace, self.lsm_restrict, self.yama):
            c.observe(fn, names="value")


def _cap_switches(privileged: bool = False) -> CapSwitches:
    lay = W.Layout(width="auto")
    cb = W.Checkbox(value=privileged, description="CAP_BPF", indent=False, layout=lay)
    cp = W.Checkbox(value=privileged, description="CAP_PERFMON", indent=False, layout=lay)
    ct = W.Checkbox(value=privileged, description="CAP_SYS_PTRACE", indent=False, layout=lay)
    lsm = W.Checkbox(value=False, description="LSM hook: almost-cBPF only", indent=False, layout=lay)
    yama = W.Checkbox(value=False, description="Yama gate", indent=False, layout=lay)
    box = W.VBox([W.HBox([W.HTML("<b>loader:</b>&nbsp;"), cb, cp, ct]),
                  W.HBox([W.HTML("<b>gates:</b>&nbsp;"), lsm, yama])])
    return CapSwitches(cb, cp, ct, lsm, yama, box)


# --------------------------------------------------------------------------- classic vs native


@dataclass
class SideBySide:
    classic_src: W.Textarea
    native_src: W.Textarea
    errors: ErrorBox
    classic_out: W.HTML
    native_out: W.HTML
    summary: W.HTML
    view: object
    ax: object
    widget: W.Widget
    trace: list
    comparison: object = None
    classic_steps: float = 0.0
    native_steps: float = 0.0

    def update(self, *_):
        from lwnlab.bpf.disasm import pseudo_c
        from lwnlab.seccomp.data import batch_words
        from lwnlab.seccomp.ebpf import Comparison, EbpfFilter
        from lwnlab.seccomp.filter import Filter

        self.errors.clear()
        try:
            cf = Filter.from_asm(self.classic_src.value)
            nf = EbpfFilter.from_asm(self.native_src.value)
            conv = EbpfFilter.from_classic(cf)  # bpf_convert_filter's program: what the kernel really runs
            words = batch_words(self.trace)
            a, s_classic = conv.run_words(words)
            b, s_native = nf.run_words(words)
        except LwnlabError as e:
            self.errors.show(e)
            self.comparison = None
            return
        bad = tuple((int(i), int(a[i]), int(b[i])) for i in np.nonzero(a != b)[0])
        cmp = Comparison(pseudo_c(list(conv.insns)), pseudo_c(list(nf.insns)), len(conv), len(nf),
                         len(a) - len(bad), len(a), bad)
        self.comparison = cmp
        self.classic_steps, self.native_steps = float(np.mean(s_classic)), float(np.mean(s_native))
        self.classic_out.value = ("<b>classic filter, as the kernel converts it</b> (<code>bpf_convert_filter</code>, "
                                  f"{cmp.classic_len} insns)" + _pre(cmp.classic_ebpf, "300px"))
        self.native_out.value = (f"<b>written natively in eBPF</b> ({cmp.native_len} insns)"
                                 + _pre(cmp.native, "300px"))
        agree = cmp.agree == cmp.total
        colour = "#1b7f3b" if agree else "#b00020"
        self.summary.value = (
            f'<span style="color:{colour}"><b>{cmp.agree} of {cmp.total}</b> syscalls of the recorded trace get the '
            f"same decision</span>; eBPF instructions executed per syscall: converted classic "
            f"<b>{self.classic_steps:.1f}</b>, native eBPF <b>{self.native_steps:.1f}</b>."
            + ("" if agree else f" First disagreement: syscall #{cmp.disagreements[0][0]} "
               f"(classic {cmp.disagreements[0][1]:#x}, native {cmp.disagreements[0][2]:#x})."))
        ax = self.ax
        ax.clear()
        ax.bar([0, 1], [cmp.classic_len, cmp.native_len], color=["#7f7f7f", "#1f77b4"], width=0.35,
               label="program length")
        ax.bar([0.35, 1.35], [self.classic_steps, self.native_steps], color=["#c7c7c7", "#aec7e8"], width=0.35,
               label="executed per syscall (mean)")
        ax.set_xticks([0.17, 1.17], ["converted classic", "native eBPF"])
        ax.set_ylabel("instructions")
        ax.legend(fontsize=8)
        self.view.redraw()


def make_side_by_side(classic: str = EXAMPLE_FILTER, native: str = NATIVE_EXAMPLE, trace=None) -> SideBySide:
    """The same policy as a classic filter and as native eBPF, run over the recorded ``ls -la /etc``."""
    from lwnlab.seccomp.trace import recorded_trace

    trace = recorded_trace() if trace is None else list(trace)
    lay = W.Layout(width="100%", height="260px")
    c = W.Textarea(value=classic, layout=lay, continuous_update=False)
    n = W.Textarea(value=native, layout=lay, continuous_update=False)
    view, ax = figure(figsize=(5.5, 2.6))
    errors = ErrorBox()
    co, no, summary = W.HTML(), W.HTML(), W.HTML()
    box = W.VBox([W.HTML(PROPOSED),
                  W.HBox([W.VBox([W.HTML("<b>classic (bpf_asm)</b>"), c, co], layout=W.Layout(width="50%")),
                          W.VBox([W.HTML("<b>eBPF (uBPF assembly)</b>"), n, no], layout=W.Layout(width="50%"))]),
                  errors.widget, summary, view.widget])
    s = SideBySide(c, n, errors, co, no, summary, view, ax, box, trace)
    c.observe(s.update, names="value")
    n.observe(s.update, names="value")
    s.update()
    return s


# --------------------------------------------------------------------------- the verifier


@dataclass
class VerifierLab:
    source: W.Textarea
    prog_type: W.Dropdown
    caps: CapSwitches
    step: W.IntSlider
    errors: ErrorBox
    verdict_html: W.HTML
    state_html: W.HTML
    log_html: W.HTML
    widget: W.Widget
    verdict: object = None
    steps: list = field(default_factory=list)  # (pc, insn text, state text)

    @property
    def accepted(self) -> bool | None:
        return None if self.verdict is None else bool(self.verdict.accepted)

    def update(self, *_):
        from lwnlab.bpf import verifier
        from lwnlab.bpf.asm import assemble
        from lwnlab.bpf.maps import parse_map_directives

        self.errors.clear()
        try:
            body, specs, _ = parse_map_directives(self.source.value)
            insns = assemble(body)
            v = verifier.check(insns, self.prog_type.value, maps=specs, privileges=self.caps.privileges,
                               gates=self.caps.gates, privileged=self.caps.privileges.privileged)
        except LwnlabError as e:
            self.errors.show(e)
            self.verdict = None
            self.steps = []
            self.verdict_html.value = self.state_html.value = self.log_html.value = ""
            return
        self.verdict = v
        self.steps = [tuple(step) for step in v.insn_states]
        if v.accepted:
            self.verdict_html.value = ('<div style="color:#1b7f3b;font-weight:bold">accepted</div>'
                                       f"<div>{v.processed} instructions processed</div>")
        else:
            where = f" at pc {v.pc}" if v.pc is not None else ""
            self.verdict_html.value = (f'<div style="color:#b00020;font-weight:bold">rejected{where}: '
                                       f"{html.escape(v.message)}</div>")
        self.log_html.value = _pre(v.log, "260px")
        self.step.max = max(len(self.steps) - 1, 0)
        self.step.value = self.step.max if not v.accepted else 0
        self.show_step()

    def show_step(self, *_):
        if not self.steps:
            self.state_html.value = ""
            return
        pc, text, state = self.steps[min(self.step.value, len(self.steps) - 1)]
        self.state_html.value = (f"<b>step {self.step.value}</b>: <code>{html.escape(text)}</code>"
                                 + _pre(_state_table(state)))


def _state_table(state: str) -> str:
    """One register per line: ``R1=ctx() R10=fp0`` -> aligned rows."""
    if not state:
        return "(no state recorded at this step)"
    parts = state.split()
    return "\n".join(parts)


def make_verifier_lab(source: str = UNCHECKED_LOOKUP, prog_type: str = "seccomp",
                      privileged: bool = False) -> VerifierLab:
    """An eBPF program in a text box, verified as the proposal's seccomp type (or a socket filter)."""
    src = W.Textarea(value=source, layout=W.Layout(width="100%", height="230px"), continuous_update=False)
    pt = W.Dropdown(options=["seccomp", "socket_filter"], value=prog_type, description="prog type")
    caps = _cap_switches(privileged)
    step = W.IntSlider(value=0, min=0, max=0, description="step", continuous_update=True,
                       layout=W.Layout(width="95%"))
    errors = ErrorBox()
    vh, sh, lh = W.HTML(), W.HTML(), W.HTML()
    box = W.VBox([W.HTML(PROPOSED), src, W.HBox([pt]), caps.widget, errors.widget, vh, step, sh,
                  W.HTML("<b>verifier log</b>"), lh])
    lab = VerifierLab(src, pt, caps, step, errors, vh, sh, lh, box)
    src.observe(lab.update, names="value")
    pt.observe(lab.update, names="value")
    caps.observe(lab.update)
    step.observe(lab.show_step, names="value")
    lab.update()
    return lab


# --------------------------------------------------------------------------- maps over a trace


@dataclass
class MapTrace:
    policy: W.Dropdown
    limit: W.IntSlider
    step: W.IntSlider
    errors: ErrorBox
    source_html: W.HTML
    table_html: W.HTML
    maps_html: W.HTML
    view: object
    ax: object
    widget: W.Widget
    filter: object = None
    trace: list = field(default_factory=list)
    results: list = field(default_factory=list)  # (Decision, snapshot)

    def update(self, *_):
        from lwnlab.seccomp import ebpf_examples as E
        from lwnlab.seccomp.filter import Stack

        self.errors.clear()
        name = self.policy.value
        self.limit.disabled = name != "count_limit"
        try:
            kw = {"limit": self.limit.value} if name == "count_limit" else {}
            self.filter = E.load(name, **kw)
            self.trace = E.demo_trace(name)
            self.results = Stack([self.filter]).trace_with_snapshots(self.trace)
        except LwnlabError as e:
            self.errors.show(e)
            self.results = []
            return
        self.source_html.value = _pre(E.source(name), "220px")
        self.step.max = len(self.results) - 1
        self.step.value = min(self.step.value, self.step.max)
        self.show_step()

    @property
    def maps_now(self) -> dict:
        """The maps' contents after the syscall at the slider, by name."""
        if not self.results:
            return {}
        snap = self.results[self.step.value][1]
        out = {}
        for per_filter in snap.values():
            out.update(per_filter)
        return out

    @property
    def decisions(self) -> list:
        return [d for d, _ in self.results]

    def show_step(self, *_):
        if not self.results:
            return
        from lwnlab.seccomp.syscalls import arch_by_audit, syscall_name

        i = self.step.value
        rows = []
        for k, (dec, _) in enumerate(self.results):
            ev = self.trace[k]
            d = ev.data if hasattr(ev, "data") else ev
            act = _action_of(dec.ret)
            style = "font-weight:bold;background:#ffe9a8" if k == i else ("color:#aaa" if k > i else "")
            what = f"{act}({dec.data})" if act in ("ERRNO", "TRAP") else act
            pid = getattr(ev, "pid", "")
            rows.append(f'<tr style="{style}"><td>{k}</td><td>{pid}</td><td>{_name(d, arch_by_audit, syscall_name)}</td>'
                        f'<td style="color:{ACTION_COLOURS.get(act, "#000")}">{what if k <= i else ""}</td></tr>')
        self.table_html.value = ('<table style="font-family:monospace;font-size:12px"><tr><th>#</th><th>pid</th>'
                                 "<th>syscall</th><th>decision</th></tr>" + "".join(rows) + "</table>")
        maps = self.maps_now
        self.maps_html.value = "<b>maps after this syscall</b>" + _pre(
            "\n".join(f"{n}: {v}" for n, v in maps.items()) or "(no maps)")
        ax = self.ax
        ax.clear()
        counts = maps.get("counts") or maps.get("exec_seen") or {}
        if counts:
            keys = sorted(counts)
            labels = [_label(self.policy.value, k) for k in keys]
            ax.bar(range(len(keys)), [counts[k] for k in keys], color="#1f77b4")
            ax.set_xticks(range(len(keys)), labels, fontsize=8)
            lim = maps.get("limit", {}).get(0)
            if lim:
                ax.axhline(lim, color="#d62728", ls="--", lw=1, label=f"N = {lim}")
                ax.legend(fontsize=8)
            ax.set_title("map contents after syscall #%d" % i, fontsize=9)
        else:
            ax.text(0.5, 0.5, "this policy keeps no map state", ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
        self.view.redraw()


def _name(d, arch_by_audit, syscall_name) -> str:
    arches = arch_by_audit(d.arch)
    n = syscall_name(arches[0], d.nr_signed) if arches else None
    return n or f"nr {d.nr_signed}"


def _label(policy: str, key) -> str:
    if policy == "count_limit":
        from lwnlab.seccomp.syscalls import syscall_name

        try:
            return syscall_name("x86_64", int(key))
        except Exception:  # noqa: BLE001 - a label only
            return str(key)
    return f"pid {key}"


def make_map_trace(policy: str = "count_limit", limit: int = 2) -> MapTrace:
    """A stateful policy over a small (synthetic, labelled) trace; a slider steps through it."""
    from lwnlab.seccomp import ebpf_examples as E

    pol = W.Dropdown(options=[(f"{k}: {v}", k) for k, v in E.EXAMPLES.items()], value=policy,
                     description="policy", layout=W.Layout(width="95%"))
    lim = W.IntSlider(value=limit, min=0, max=6, description="N", continuous_update=False)
    step = W.IntSlider(value=0, min=0, max=0, description="syscall #", continuous_update=True)
    view, ax = figure(figsize=(5, 2.4))
    errors = ErrorBox()
    src, table, maps = W.HTML(), W.HTML(), W.HTML()
    box = W.VBox([W.HTML(PROPOSED), pol, lim, errors.widget,
                  W.HBox([W.VBox([W.HTML("<b>the filter</b>"), src], layout=W.Layout(width="55%")),
                          W.VBox([W.HTML("<b>trace</b> (synthetic)"), table], layout=W.Layout(width="45%"))]),
                  step, W.HBox([maps, view.widget])])
    mt = MapTrace(pol, lim, step, errors, src, table, maps, view, ax, box)
    pol.observe(mt.update, names="value")
    lim.observe(mt.update, names="value")
    step.observe(mt.show_step, names="value")
    mt.update()
    return mt


# --------------------------------------------------------------------------- privileges and gates


@dataclass
class PrivilegeBoard:
    caps: CapSwitches
    helpers_html: W.HTML
    examples_html: W.HTML
    widget: W.Widget
    allowed: dict = field(default_factory=dict)  # helper name -> bool
    loads: dict = field(default_factory=dict)  # example name -> (bool, message)

    def update(self, *_):
        from lwnlab.seccomp import ebpf_examples as E

        privs, gates = self.caps.privileges, self.caps.gates
        rows = []
        self.allowed = {}
        for h in sorted(HELPERS.values(), key=lambda h: h.id):
            try:
                check_helper_allowed(h.id, "seccomp", privs, gates)
                ok, why = True, ""
            except VerifierError as e:
                ok, why = False, e.message
                if "(" in why:  # the gate that refused it: "needs CAP_BPF and CAP_PERFMON"
                    why = why[why.index("(") + 1:].rstrip(")")
            self.allowed[h.name] = ok
            mark = '<span style="color:#1b7f3b">&#10004;</span>' if ok else '<span style="color:#b00020">&#10008;</span>'
            rows.append(f"<tr><td>{mark}</td><td><code>{h.c_name}#{h.id}</code></td><td>{h.gate}</td>"
                        f'<td style="font-size:11px;max-width:28em">{html.escape(why)}</td></tr>')
        self.helpers_html.value = ('<table style="font-size:12px;line-height:1.25"><tr><th></th><th>helper</th>'
                                   "<th>gate</th><th>why not</th></tr>" + "".join(rows) + "</table>")
        self.loads = {}
        rows = []
        for name in E.EXAMPLES:
            try:
                E.load(name, privileges=privs, gates=gates)
                ok, msg = True, "loads"
            except LwnlabError as e:
                ok, msg = False, e.message
            self.loads[name] = (ok, msg)
            colour = "#1b7f3b" if ok else "#b00020"
            rows.append(f'<tr><td><code>{name}</code></td><td style="color:{colour}">{html.escape(msg)}</td></tr>')
        self.examples_html.value = ("<b>the example policies, loaded by this loader</b>"
                                    '<table style="font-size:12px;line-height:1.25">' + "".join(rows) + "</table>")


def make_privilege_board(privileged: bool = False) -> PrivilegeBoard:
    """Switch capabilities and gates; see which helpers a seccomp filter may call and what still loads."""
    caps = _cap_switches(privileged)
    hh, eh = W.HTML(), W.HTML()
    box = W.VBox([W.HTML(PROPOSED), caps.widget, hh, eh])
    b = PrivilegeBoard(caps, hh, eh, box)
    caps.observe(b.update)
    b.update()
    return b


# --------------------------------------------------------------------------- a filter in C

C_EXAMPLE = r"""// count calls per syscall number; refuse a number after 3 calls (a stateful policy in C)
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 512);
    __type(key, __u32);
    __type(value, __u64);
} counts SEC(".maps");

SEC("seccomp")
int limit_calls(struct seccomp_data *ctx)
{
    __u32 nr = ctx->nr;
    __u64 *n = bpf_map_lookup_elem(&counts, &nr);

    if (!n)                      /* the verifier insists on this check */
        return SECCOMP_RET_ALLOW;
    __sync_fetch_and_add(n, 1);
    if (*n > 3)
        return SECCOMP_RET_ERRNO | 1;   /* EPERM */
    return SECCOMP_RET_ALLOW;
}

char _license[] SEC("license") = "GPL";
"""


@dataclass
class CLab:
    source: W.Textarea
    errors: ErrorBox
    out: W.HTML
    widget: W.Widget
    filter: object = None
    decisions: list = field(default_factory=list)
    trace: list = field(default_factory=list)

    def update(self, *_):
        from lwnlab.bpf.disasm import pseudo_c
        from lwnlab.bpf.elf import load_c
        from lwnlab.bpf.helpers import HELPER_NAMES
        from lwnlab.seccomp.ebpf import EbpfFilter
        from lwnlab.seccomp.filter import Stack

        self.errors.clear()
        try:
            self.filter = EbpfFilter.from_object(load_c(self.source.value))
            self.decisions = Stack([self.filter]).trace(self.trace)
        except LwnlabError as e:
            self.errors.show(e)
            self.filter = None
            self.decisions = []
            self.out.value = ""
            return
        from lwnlab.seccomp.syscalls import syscall_name

        seq = " ".join(f"{syscall_name('x86_64', getattr(ev, 'data', ev).nr)}→{_action_of(d.ret)}"
                       for ev, d in zip(self.trace, self.decisions))
        self.out.value = (f"<b>clang's output, as loaded</b> ({len(self.filter)} insns; maps: "
                          f"{', '.join(self.filter.maps) or 'none'})"
                          + _pre(pseudo_c(list(self.filter.insns), helper_names=HELPER_NAMES), "260px")
                          + f"<b>on the trace</b>: <code>{html.escape(seq)}</code>")


def make_c_lab(source: str = C_EXAMPLE, trace=None) -> CLab:
    """Write the filter in C; clang compiles it to BPF, lwnlab loads the object like libbpf and verifies it."""
    from lwnlab.seccomp.trace import event

    if trace is None:
        trace = [event(n) for n in ("getpid", "getpid", "read", "getpid", "getpid", "getpid", "read")]
    src = W.Textarea(value=source, layout=W.Layout(width="100%", height="330px"), continuous_update=False)
    errors = ErrorBox()
    out = W.HTML()
    box = W.VBox([W.HTML(PROPOSED), src, errors.widget, out])
    lab = CLab(src, errors, out, box, trace=list(trace))
    src.observe(lab.update, names="value")
    lab.update()
    return lab


__all__ = ["make_side_by_side", "make_verifier_lab", "make_map_trace", "make_privilege_board", "make_c_lab",
           "NATIVE_EXAMPLE", "UNCHECKED_LOOKUP", "C_EXAMPLE", "ACTION_ORDER"]
