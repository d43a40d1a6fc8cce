"""One error hierarchy for all of lwnlab.

Every error a user can cause with bad input is a :class:`LwnlabError`
subclass that carries *where* the problem is (a file with line and column, a
program counter, or a field name).  The CLI prints ``lwnlab: error: <message>``
and exits with status 2; notebooks show :meth:`LwnlabError.describe` instead
of a stack trace.

Anything else that escapes is a bug in lwnlab, not in the input.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where in the input an error was found.  Every part is optional."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    pc: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.file is not None:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            parts.append(where)
        elif self.line is not None:
            parts.append(f"line {self.line}" + (f", column {self.column}" if self.column is not None else ""))
        if self.pc is not None:
            parts.append(f"pc {self.pc}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        return ", ".join(parts)


class LwnlabError(Exception):
    """Base class of every error lwnlab reports about its input.

    ``LwnlabError("bad thing", line=3, column=7, file="f.py")`` formats as
    ``f.py:3:7: bad thing``; ``pc=`` and ``field=`` add ``pc 12`` and
    ``field 'seconds'``.
    """

    #: a short word for the kind of error, used in JSON output
    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        pc: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.location = Location(file=file, line=line, column=column, pc=pc, field=field)
        super().__init__(self.describe())

    # convenience accessors, so callers need not reach into .location
    @property
    def line(self) -> int | None:
        return self.location.line

    @property
    def column(self) -> int | None:
        return self.location.column

    @property
    def pc(self) -> int | None:
        return self.location.pc

    @property
    def field(self) -> str | None:
        return self.location.field

    def describe(self) -> str:
        where = str(self.location)
        return f"{where}: {self.message}" if where else self.message

    def to_json(self) -> dict:
        d = {"kind": self.kind, "message": self.message}
        for k in ("file", "line", "column", "pc", "field"):
            v = getattr(self.location, k)
            if v is not None:
                d[k] = v
        return d

    def _repr_html_(self) -> str:  # notebooks show the message, not a stack
        import html

        return f'<div class="lwnlab-error" style="color:#b00020"><b>{type(self).__name__}</b>: {html.escape(self.describe())}</div>'


class UsageError(LwnlabError):
    """The command line or an API call was used wrongly."""

    kind = "usage"


class ConfigError(LwnlabError):
    """A configuration (JSON file, parameter set) is invalid; names the field."""

    kind = "config"


class CompileError(LwnlabError):
    """Source code is outside a supported subset; names the construct, line and column."""

    kind = "compile"


class AsmError(LwnlabError):
    """An assembly listing cannot be assembled; names the line."""

    kind = "asm"


class FilterError(LwnlabError):
    """A BPF or seccomp filter is malformed or rejected by the kernel's rules; names the pc."""

    kind = "filter"


class VerifierError(FilterError):
    """The eBPF verifier rejected a program; carries the verifier log."""

    kind = "verifier"

    def __init__(self, message: str, *, log: str = "", **where) -> None:
        self.log = log
        super().__init__(message, **where)


class ExecutionError(LwnlabError):
    """A program faulted while running (bad memory access, budget exhausted, overflow)."""

    kind = "execution"


class SourceError(LwnlabError):
    """Input files (C sources, indices, logs, ELF objects) cannot be read or parsed."""

    kind = "source"


class UnavailableError(LwnlabError):
    """Something this machine lacks (a syscall, root, clang, kernel sources)."""

    kind = "unavailable"
