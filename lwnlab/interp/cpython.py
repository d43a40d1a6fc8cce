"""The side panel: what the *host* CPython's specializer did to the same function.

Runs the function on this interpreter (3.11 or newer), then reads
``dis.get_instructions(co, adaptive=True)`` and the first inline-cache word of
every instruction from ``co._co_code_adaptive`` (private; the offset gaps
between instructions reveal the caches, so no layout table is needed).  Names
and layouts change every release, so everything is keyed on
``sys.version_info``:

* 3.11: ``*_ADAPTIVE`` forms exist; their counter word is 12-bit value +
  4-bit backoff; on a *specialized* instruction the word is a plain miss count;
* 3.12+: value/backoff in every state;
* 3.13+: ``JUMP_BACKWARD`` and ``POP_JUMP_IF_*`` have 1-unit caches for tier-2
  bookkeeping, not specialization counters: they are filtered out.

Failure *reasons* need a ``--enable-pystats`` build; the panel shows state,
lwnlab's VM explains why.  On Python < 3.11 :func:`panel` raises
:class:`~lwnlab.errors.UnavailableError`.
"""

from __future__ import annotations

import contextlib
import dis
import signal
import sys
import threading
from dataclasses import dataclass, field

from lwnlab.errors import CompileError, ExecutionError, UnavailableError, UsageError

_NOT_COUNTERS_313 = ("JUMP_BACKWARD", "POP_JUMP_IF_FALSE", "POP_JUMP_IF_TRUE", "POP_JUMP_IF_NONE",
                     "POP_JUMP_IF_NOT_NONE")


def available() -> bool:
    return sys.version_info >= (3, 11) and hasattr(dis, "_all_opname") or sys.version_info >= (3, 11)


def specializations() -> dict[str, list[str]]:
    """family -> specialized members on this interpreter (``opcode._specializations`` or 3.13's metadata)."""
    try:
        import opcode

        spec = getattr(opcode, "_specializations", None)
        if spec is None:
            import _opcode_metadata  # type: ignore  # 3.13+

            spec = _opcode_metadata._specializations
        return {k: list(v) for k, v in spec.items()}
    except Exception:  # a future version moved it again
        return {}


@dataclass
class Row:
    offset: int
    opname: str
    argrepr: str
    line: int | None
    n_cache: int
    word: int | None
    state: str  # "plain", "base", "adaptive", "specialized", "quickened"
    value: int | None
    backoff: int | None

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Panel:
    version: str
    func: str
    calls: int
    result: object
    error: str | None
    rows: list[Row] = field(default_factory=list)

    @property
    def specialized(self) -> list[str]:
        return [r.opname for r in self.rows if r.state == "specialized"]

    def text(self) -> str:
        head = f"# CPython {self.version}: {self.func} after {self.calls} call(s)"
        if self.error:
            head += f"  (raised {self.error})"
        else:
            head += f"  -> {self.result!r}"
        lines = [head, f"{'offset':>6}  {'instruction':<32} {'state':<12} {'caches':>6} {'counter':>8}  value/backoff"]
        for r in self.rows:
            ctr = "" if r.word is None else str(r.word)
            vb = "" if r.value is None else (f"{r.value}/{r.backoff}" if r.backoff is not None else f"{r.value} misses left")
            arg = f" ({r.argrepr})" if r.argrepr else ""
            lines.append(f"{r.offset:>6}  {(r.opname + arg)[:32]:<32} {r.state:<12} {r.n_cache:>6} {ctr:>8}  {vb}")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"version": self.version, "func": self.func, "calls": self.calls, "result": repr(self.result),
                "error": self.error, "rows": [r.to_json() for r in self.rows]}


def live_rows(func) -> list[Row]:
    """The recipe of the reference sheet: opnames with adaptive=True and the first cache word."""
    if sys.version_info < (3, 11):
        raise UnavailableError(f"the adaptive interpreter needs CPython 3.11+, this is {sys.version.split()[0]}")
    co = func.__code__
    raw = co._co_code_adaptive
    ins = list(dis.get_instructions(co, adaptive=True))
    spec = specializations()
    members = {m: fam for fam, ms in spec.items() for m in ms}
    out = []
    for cur, nxt in zip(ins, ins[1:] + [None]):
        end = nxt.offset if nxt else len(raw)
        n_cache = (end - cur.offset) // 2 - 1
        word = int.from_bytes(raw[cur.offset + 2:cur.offset + 4], sys.byteorder) if n_cache > 0 else None
        name = cur.opname
        if sys.version_info >= (3, 13) and name in _NOT_COUNTERS_313:
            word, n_cache = None, 0
        if name.endswith("_ADAPTIVE"):
            state = "adaptive"
        elif name in members and name not in spec:
            # superinstructions and *_QUICK forms have no cache: they are rewritten, not specialized
            state = "specialized" if n_cache > 0 else "quickened"
        elif n_cache > 0:
            state = "base"
        else:
            state = "plain"
        value = backoff = None
        if word is not None:
            if sys.version_info < (3, 12) and state == "specialized":
                value = word  # 3.11: a plain miss count on specialized instructions
            else:
                value, backoff = word >> 4, word & 15
        line = cur.positions.lineno if getattr(cur, "positions", None) else None
        out.append(Row(cur.offset, name, cur.argrepr, line, n_cache, word, state, value, backoff))
    return out


class _Timeout(BaseException):
    """Raised by the alarm inside the host run (a BaseException, so the per-call ``except Exception`` lets it by)."""


@contextlib.contextmanager
def _deadline(seconds: float | None):
    """Interrupt the host run after ``seconds`` (main thread with SIGALRM only; elsewhere no limit)."""
    if (not seconds or seconds <= 0 or not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()):
        yield
        return

    def _alarm(signum, frame):
        raise _Timeout()

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


#: how long the host CPython may run the module body and all calls (an endless loop must not hang the panel)
HOST_TIMEOUT = 20.0


def panel(source: str, func: str, calls, filename: str = "<input>", *, timeout: float | None = None) -> Panel:
    """Run ``func`` from ``source`` on this CPython once per entry of ``calls``; read its adaptive state.

    The host run (module body and calls) is stopped after ``timeout`` seconds (default :data:`HOST_TIMEOUT`;
    0 for no limit) with an :class:`~lwnlab.errors.ExecutionError`: lwnlab's VM has its step limit, CPython
    has none."""
    if timeout is None:
        timeout = HOST_TIMEOUT
    try:
        with _deadline(timeout):
            return _panel(source, func, calls, filename)
    except _Timeout:
        raise ExecutionError(f"the host CPython did not finish {func!r} within {timeout:g} s "
                             "(an endless loop?); stopped", file=filename) from None


def _panel(source: str, func: str, calls, filename: str) -> Panel:
    if sys.version_info < (3, 11):
        raise UnavailableError(f"the CPython side panel needs CPython 3.11 or newer (this is "
                               f"{sys.version.split()[0]}); lwnlab's own VM works on any version")
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as e:
        raise CompileError(f"syntax error: {e.msg}", file=filename, line=e.lineno, column=e.offset) from None
    ns: dict = {"__name__": "__lwnlab_panel__"}
    try:
        exec(code, ns)
    except Exception as e:  # the module body raised
        raise ExecutionError(f"the module body raised {type(e).__name__}: {e}", file=filename) from None
    target = ns
    obj = None
    for part in func.split("."):
        obj = target.get(part) if isinstance(target, dict) else getattr(target, part, None)
        target = obj
    if obj is None or not hasattr(obj, "__code__"):
        raise UsageError(f"no function {func!r} in {filename}", field="func")
    if isinstance(calls, int):
        calls = [()] * calls
    result, error = None, None
    n = 0
    for args in calls:
        n += 1
        try:
            result = obj(*args)
        except Exception as e:  # keep going: CPython's counters still count
            error = f"{type(e).__name__}: {e}"
    ver = ".".join(map(str, sys.version_info[:3]))
    return Panel(ver, func, n, result, error, live_rows(obj))
