"""Lab 1: PEP 659, the specializing adaptive interpreter, on lwnlab's own bytecode VM.

* :func:`compile_source` (``compiler.py``) turns a Python subset into bytecode,
* :mod:`~lwnlab.interp.opcodes` is the one instruction table,
* :func:`execute` (``machine.py``) runs a function on the numba VM (``vm.py``) under a
  :class:`~lwnlab.interp.policy.Policy` and returns a :class:`RunResult` with stats,
  a timeline and an adaptive disassembly,
* :mod:`~lwnlab.interp.cpython` is the side panel reading the host CPython.
"""

from lwnlab.interp.compiler import Program, compile_source
from lwnlab.interp.policy import POLICIES, Policy, preset

__all__ = ["compile_source", "Program", "Policy", "preset", "POLICIES", "execute", "RunResult"]


def __getattr__(name):  # keep `import lwnlab.interp` light: the VM (numba) loads on first use
    if name in ("execute", "RunResult"):
        from lwnlab.interp import machine

        return getattr(machine, name)
    raise AttributeError(name)
