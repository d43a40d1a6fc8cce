"""Widgets for the eBPF machine: assemble, check and run a program as you type it."""

from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as W

from lwnlab.errors import LwnlabError
from lwnlab.ui import ErrorBox

EXAMPLE = """\
; sum the bytes of the memory r1 points to (r2 = its length)
    mov %r0, 0
    mov %r3, 0
loop:
    jge %r3, %r2, done
    mov %r4, %r1
    add %r4, %r3
    ldxb %r5, [%r4]
    add %r0, %r5
    add %r3, 1
    ja loop
done:
    exit
"""


@dataclass
class EbpfRunner:
    """A uBPF-dialect program, its memory, and the run's result (r0 or the fault and its pc)."""

    source: W.Textarea
    memory: W.Text
    budget: W.BoundedIntText
    output: W.HTML
    listing: W.HTML
    errors: ErrorBox
    widget: W.Widget
    result: object = None
    insns: list = None

    def update(self, *_):
        from lwnlab.bpf import asm, disasm, program, vm

        self.errors.clear()
        try:
            insns = asm.assemble(self.source.value)
            program.check_program(insns)
            t = "".join(self.memory.value.split())
            try:
                mem = bytes.fromhex(t)
            except ValueError:
                raise LwnlabError("memory must be hex bytes, e.g. 01 02 ff", field="memory") from None
            res = vm.run_program(program.to_array(insns), mem, budget=int(self.budget.value))
        except LwnlabError as e:
            self.errors.show(e)
            self.result = None
            self.output.value = ""
            return
        self.insns, self.result = insns, res
        if res.error is None:
            self.output.value = f"<b>r0 = {res.r0:#x}</b> ({res.r0}) after {res.steps} instructions"
        else:
            self.output.value = (f'<b style="color:#b00020">fault</b>: {html.escape(res.error.describe())} '
                                 f"after {res.steps} instructions")
        self.listing.value = ('<pre style="font-size:12px">' + html.escape(disasm.pseudo_c(insns)) + "</pre>")


def make_ebpf_runner(source: str = EXAMPLE, memory: str = "01 02 03 04 05") -> EbpfRunner:
    src = W.Textarea(value=source, layout=W.Layout(width="50%", height="260px"), continuous_update=False)
    mem = W.Text(value=memory, description="memory", continuous_update=False, layout=W.Layout(width="420px"))
    budget = W.BoundedIntText(value=100_000, min=1, max=10_000_000, description="budget")
    out = W.HTML()
    listing = W.HTML()
    errors = ErrorBox()
    r = EbpfRunner(src, mem, budget, out, listing, errors,
                   W.VBox([W.HBox([src, listing]), W.HBox([mem, budget]), out, errors.widget]))
    for w in (src, mem, budget):
        w.observe(r.update, names="value")
    r.update()
    return r
