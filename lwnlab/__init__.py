"""lwnlab: an interactive workbook on four pieces of systems work from LWN.net's
weekly edition of June 3, 2021.

Each lab is a subpackage with a real, numba-accelerated model, a notebook that
wraps it with widgets, and a sub-command group of the ``lwnlab`` command.
"""

from __future__ import annotations

from dataclasses import dataclass

__version__ = "0.1.0"

#: the LWN weekly edition the labs come from
LWN_EDITION = "LWN.net weekly edition of June 3, 2021"


@dataclass(frozen=True)
class Lab:
    """One lab of the workbook."""

    number: int
    key: str  # sub-command group / subpackage name
    title: str
    notebook: str  # file name under notebooks/
    packages: tuple[str, ...]  # subpackages of lwnlab that implement it
    topic: str  # the piece of systems work it teaches
    #: further notebooks of the same lab, in reading order (e.g. a part 2)
    more_notebooks: tuple[str, ...] = ()

    @property
    def notebooks(self) -> tuple[str, ...]:
        return (self.notebook, *self.more_notebooks)


#: The labs, in workbook order.  ``notebook`` is the file under notebooks/.
LABS: tuple[Lab, ...] = (
    Lab(0, "start", "Start here: how the workbook works", "00_start_here.ipynb", ("tour",),
        "how to use the workbook, widgets and numba"),
    Lab(1, "interp", "PEP 659: CPython's specializing adaptive interpreter", "01_adaptive_interpreter.ipynb",
        ("interp",), "PEP 659, quickening and specialization (CPython 3.11)"),
    Lab(2, "printk", "printk() indexing: a catalogue of the kernel's log messages", "02_printk_index.ipynb",
        ("printk",), "CONFIG_PRINTK_INDEX (merged in 5.15)"),
    Lab(3, "seccomp", "seccomp() filters in classic BPF and eBPF", "03_seccomp_ebpf.ipynb",
        ("bpf", "seccomp"), "seccomp filters and the proposed BPF_PROG_TYPE_SECCOMP",
        ("03b_ebpf_seccomp.ipynb",)),
    Lab(4, "memtier", "Top-tier memory management: demotion, promotion and limits", "04_memory_tiers.ipynb",
        ("memtier",), "memory tiering: demotion (5.15), promotion (5.18, 6.1), top-tier limits (RFC)"),
)

__all__ = ["__version__", "LABS", "Lab", "LWN_EDITION"]


def _install_notebook_error_display() -> None:
    import sys

    if "IPython" in sys.modules:  # only inside IPython/Jupyter; never imports IPython itself
        from lwnlab import _ipython

        _ipython.install()


_install_notebook_error_display()
