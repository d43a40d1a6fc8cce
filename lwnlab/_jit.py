"""The one place that configures numba for lwnlab.

Every numba kernel in the package is declared with :func:`jit`::

    from lwnlab._jit import jit

    @jit(warmup=lambda: (np.zeros(8, np.int64), 3))
    def kernel(xs, n): ...

What it decides, for every kernel alike:

* ``cache=True``: compiled machine code is written to disk (beside the module
  in ``__pycache__``, or under ``NUMBA_CACHE_DIR``), so the second start of a
  notebook loads instead of recompiling;
* ``nogil=True`` and ``error_model="numpy"``: kernels validate their own
  inputs (division by zero, bounds) in Python or explicitly, so numba's
  Python-style exception checks are not needed on hot paths;
* ``NUMBA_DISABLE_JIT=1`` (numba's own switch) or a missing numba turn every
  kernel into the plain Python function, for debuggers and coverage.

``warmup`` is a callable returning example arguments; ``python -m
lwnlab.warmup`` calls every registered kernel once with them so that Binder
images and CI start with a warm cache.  :func:`no_recompile` lets tests prove
that moving a widget control does not compile anything new.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable

try:  # numba is a hard runtime dependency, but keep the package importable without it
    import numba
except ImportError:  # pragma: no cover - exercised only in a numba-less install
    numba = None

#: options every kernel gets; a kernel may override single ones with care
DEFAULT_OPTIONS: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy"}


def jit_disabled() -> bool:
    """True when kernels run as plain Python (no numba, or NUMBA_DISABLE_JIT=1)."""
    if numba is None:
        return True
    return bool(numba.config.DISABLE_JIT)


@dataclass
class Kernel:
    """A registered kernel: its dispatcher (or plain function) and how to warm it."""

    name: str
    func: Any
    warmup: Callable[[], tuple] | None

    @property
    def py_func(self):
        return getattr(self.func, "py_func", self.func)

    def signatures(self) -> list:
        return list(getattr(self.func, "signatures", []))


#: every kernel declared with :func:`jit`, by ``module.qualname``
KERNELS: dict[str, Kernel] = {}


def jit(fn: Callable | None = None, *, warmup: Callable[[], tuple] | None = None, **overrides):
    """Compile ``fn`` with numba in nopython mode with lwnlab's options.

    Usable bare (``@jit``) or with arguments (``@jit(warmup=..., inline="always")``).
    """

    def wrap(f: Callable):
        name = f"{f.__module__}.{f.__qualname__}"
        if jit_disabled():
            compiled = f
        else:
            compiled = numba.njit(**{**DEFAULT_OPTIONS, **overrides})(f)
        KERNELS[name] = Kernel(name, compiled, warmup)
        return compiled

    return wrap(fn) if fn is not None else wrap


class CompileNotice:
    """Tells the user that lwnlab's kernels are compiling (numba's ``numba:compile`` events).

    numba raises the event only when it really compiles, not when it loads a
    kernel from its disk cache, so a warm start shows nothing.  Kernels compile
    nested (a kernel compiles the kernels it calls), so one notice spans the
    outermost compile and counts every lwnlab kernel finished inside it.
    """

    def __init__(self):
        self.depth = 0  # nesting of lwnlab compiles in progress
        self.done = 0
        self.bar = None
        self.t0 = 0.0
        self.plain = False

    @staticmethod
    def mode() -> str:
        """'notebook' (a bar), 'terminal' (a live line), 'plain' (two lines) or '' (say nothing)."""
        env = os.environ.get("LWNLAB_COMPILE_NOTICE", "").strip().lower()
        if env in ("0", "no", "off", "false"):
            return ""
        try:
            ip = sys.modules["IPython"].get_ipython() if "IPython" in sys.modules else None
        except Exception:  # pragma: no cover - a broken IPython install
            ip = None
        if ip is not None and type(ip).__name__ == "ZMQInteractiveShell":
            return "notebook"
        try:
            tty = sys.stderr is not None and sys.stderr.isatty()
        except (AttributeError, ValueError):  # a replaced or closed stderr
            tty = False
        if tty:
            return "terminal"
        return "plain" if env in ("1", "yes", "on", "true") else ""

    @staticmethod
    def _lab(event) -> str | None:
        disp = event.data.get("dispatcher") if isinstance(event.data, dict) else None
        mod = getattr(getattr(disp, "py_func", None), "__module__", "") or ""
        return ".".join(mod.split(".")[:2]) if mod.startswith("lwnlab.") else None  # lwnlab.interp.vm -> lwnlab.interp

    def on_start(self, event) -> None:
        lab = self._lab(event)
        if lab is None:
            return
        self.depth += 1
        if self.depth > 1:
            return
        self.done, self.t0, self.bar, self.plain = 0, time.perf_counter(), None, False
        mode = self.mode()
        desc = f"lwnlab: compiling {lab} with numba, once (cached afterwards)"
        try:
            if mode == "notebook":
                from tqdm.notebook import tqdm
            elif mode == "terminal":
                from tqdm import tqdm
            else:
                raise ImportError(mode)
            self.bar = tqdm(desc=desc, leave=False, bar_format="{desc}: {n} kernels [{elapsed}]")
        except Exception:  # plain mode, or no tqdm / no widgets: a line now and one at the end
            if mode:
                print(desc + " ...", file=sys.stderr, flush=True)
                self.plain = True

    def on_end(self, event) -> None:
        if self._lab(event) is None or self.depth == 0:
            return
        self.depth -= 1
        self.done += 1
        if self.bar is not None:
            try:
                self.bar.update(1)
                if self.depth == 0:
                    self.bar.close()
            except Exception:  # pragma: no cover - a display that went away
                pass
        if self.depth == 0:
            self.bar = None
            if self.plain:
                kernels = f"{self.done} kernel{'s' if self.done != 1 else ''}"
                print(f"lwnlab: compiled {kernels} in {time.perf_counter() - self.t0:.1f} s", file=sys.stderr, flush=True)


NOTICE = CompileNotice()
if numba is not None:
    try:
        from numba.core import event as _event

        class _Listener(_event.Listener):
            def on_start(self, event):
                NOTICE.on_start(event)

            def on_end(self, event):
                NOTICE.on_end(event)

        _event.register("numba:compile", _Listener())
    except Exception:  # pragma: no cover - numba's event API moved: compile silently, as before
        pass


def signature_snapshot() -> dict[str, int]:
    """How many compiled signatures each kernel has right now."""
    return {name: len(k.signatures()) for name, k in KERNELS.items()}


@contextmanager
def no_recompile():
    """Context manager: raise AssertionError if any kernel compiles a new signature inside.

    Kernels that were never compiled before the block may compile once inside
    it (first use is not a recompile); a kernel that already had a signature
    must not gain another.
    """
    before = signature_snapshot()
    yield
    after = signature_snapshot()
    grown = {n: (before.get(n, 0), c) for n, c in after.items() if before.get(n, 0) > 0 and c > before.get(n, 0)}
    if grown:
        detail = ", ".join(f"{n} ({a} -> {b} signatures)" for n, (a, b) in sorted(grown.items()))
        raise AssertionError(f"numba recompiled: {detail}")


def import_all_kernels() -> list[str]:
    """Import every lwnlab module so that every kernel is registered; return the module names."""
    import importlib
    import pkgutil

    import lwnlab

    names = []
    for info in pkgutil.walk_packages(lwnlab.__path__, prefix="lwnlab."):
        if info.name.rsplit(".", 1)[-1] in ("__main__", "warmup"):
            continue
        importlib.import_module(info.name)
        names.append(info.name)
    return names


def warm(kernels: dict[str, Kernel] | None = None, progress: Callable[[str], None] | None = None) -> dict[str, float]:
    """Call every kernel that has a warmup once; return seconds spent per kernel."""
    out: dict[str, float] = {}
    for name, k in sorted((kernels or KERNELS).items()):
        if k.warmup is None:
            continue
        if progress:
            progress(name)
        t0 = time.perf_counter()
        k.func(*k.warmup())
        out[name] = time.perf_counter() - t0
    return out


def clear_cache() -> int:
    """Delete lwnlab's compiled kernels from numba's on-disk cache; return how many files went.

    numba's cache is keyed on a kernel's own source file, so it does not notice
    when a function it calls in *another* module changes: after editing such a
    callee, clear the cache (``lwnlab warmup --clear``) or results may be stale.
    """
    import glob

    import lwnlab

    roots = {os.path.dirname(os.path.abspath(lwnlab.__file__))}
    if numba is not None and numba.config.CACHE_DIR:
        roots.add(os.path.abspath(numba.config.CACHE_DIR))
    n = 0
    for root in roots:
        for pattern in ("**/*.nbi", "**/*.nbc"):
            for f in glob.glob(os.path.join(root, pattern), recursive=True):
                if numba is not None and numba.config.CACHE_DIR and root == os.path.abspath(numba.config.CACHE_DIR):
                    if "lwnlab" not in os.path.relpath(f, root):
                        continue  # another package's cache
                try:
                    os.remove(f)
                    n += 1
                except OSError:
                    pass
    return n


def cache_dir() -> str:
    """Where numba writes (or would write) lwnlab's compiled kernels."""
    if numba is None:
        return "(numba is not installed)"
    if numba.config.CACHE_DIR:
        return os.path.abspath(numba.config.CACHE_DIR)
    try:
        from numba.core.caching import FunctionCache

        import lwnlab._jit as me

        probe = me.__file__
        for locator_cls in FunctionCache._impl_class._locator_classes:
            locator = locator_cls.from_function(cache_dir, probe)
            if locator is not None:
                return locator.get_cache_path()
    except Exception:  # numba internals moved: fall back to numba's documented default
        pass
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")
