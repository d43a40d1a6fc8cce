"""SECCOMP_RET_* actions: values, data, precedence across stacked filters, and what the kernel does.

The return value of a filter is ``action | data``: the top 16 bits (with bit
31, ``SECCOMP_RET_ACTION_FULL`` = 0xffff0000) select the action, the low 16
bits (``SECCOMP_RET_DATA``) carry its data.  When several filters are
stacked, ``seccomp_run_filters`` walks from the newest to the oldest and keeps
a result only if ``(s32)(ret & 0xffff0000)`` is *strictly* lower than the one
it has: the lowest action wins and ties go to the newest filter.

:func:`effect` is ``__seccomp_filter``'s switch: ERRNO is capped at
MAX_ERRNO (4095); TRACE without a tracer and USER_NOTIF without a listener
fail the call with ENOSYS; any action value the kernel does not define kills
the process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lwnlab.errors import UsageError

SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_KILL_THREAD = 0x00000000
SECCOMP_RET_KILL = SECCOMP_RET_KILL_THREAD
SECCOMP_RET_TRAP = 0x00030000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_USER_NOTIF = 0x7FC00000
SECCOMP_RET_TRACE = 0x7FF00000
SECCOMP_RET_LOG = 0x7FFC0000
SECCOMP_RET_ALLOW = 0x7FFF0000

SECCOMP_RET_ACTION_FULL = 0xFFFF0000
SECCOMP_RET_ACTION = 0x7FFF0000
SECCOMP_RET_DATA = 0x0000FFFF
MAX_ERRNO = 4095
ENOSYS = 38
SIGSYS = 31

#: name -> value, in precedence order (most restrictive first)
ACTIONS = {
    "KILL_PROCESS": SECCOMP_RET_KILL_PROCESS,
    "KILL_THREAD": SECCOMP_RET_KILL_THREAD,
    "TRAP": SECCOMP_RET_TRAP,
    "ERRNO": SECCOMP_RET_ERRNO,
    "USER_NOTIF": SECCOMP_RET_USER_NOTIF,
    "TRACE": SECCOMP_RET_TRACE,
    "LOG": SECCOMP_RET_LOG,
    "ALLOW": SECCOMP_RET_ALLOW,
}
ACTION_NAMES = {v: k for k, v in ACTIONS.items()}
ALIASES = {"KILL": "KILL_THREAD", "NOTIFY": "USER_NOTIF", "USER_NOTIFY": "USER_NOTIF"}

#: seccomp(2) operations and flags
SECCOMP_SET_MODE_STRICT, SECCOMP_SET_MODE_FILTER, SECCOMP_GET_ACTION_AVAIL, SECCOMP_GET_NOTIF_SIZES = 0, 1, 2, 3
FILTER_FLAGS = {"TSYNC": 1, "LOG": 2, "SPEC_ALLOW": 4, "NEW_LISTENER": 8, "TSYNC_ESRCH": 16,
                "WAIT_KILLABLE_RECV": 32}

#: limits: BPF_MAXINSNS per filter, MAX_INSNS_PER_PATH over a stack (+4 per attached filter)
BPF_MAXINSNS = 4096
MAX_INSNS_PER_PATH = (1 << 18) // 8
STACK_PENALTY = 4


def action_only(ret: int) -> int:
    """ACTION_ONLY(ret): the signed action, the key of the precedence order."""
    v = ret & SECCOMP_RET_ACTION_FULL
    return v - (1 << 32) if v & 0x80000000 else v


def action_name(ret: int) -> str:
    """KILL_PROCESS ... ALLOW, or UNKNOWN(0x...) for values the kernel does not define."""
    a = ret & SECCOMP_RET_ACTION_FULL
    return ACTION_NAMES.get(a, f"UNKNOWN({a:#010x})")


def parse_action(text: str) -> int:
    """``ALLOW``, ``ERRNO(13)``, ``TRAP(5)``, ``TRACE(1)``, ``KILL``, ``0x7fff0000`` -> the 32-bit value."""
    t = text.strip()
    try:
        v = int(t, 0)
    except ValueError:
        pass
    else:
        if not 0 <= v < (1 << 32):
            raise UsageError(f"action value {t} does not fit in 32 bits", field="action")
        return v
    m = re.fullmatch(r"(?:SECCOMP_RET_|SCMP_ACT_)?([A-Za-z_]+)\s*(?:\(\s*([^)]*)\s*\))?", t)
    if not m:
        raise UsageError(f"unknown seccomp action {t!r}", field="action")
    name = m.group(1).upper()
    name = ALIASES.get(name, name)
    if name not in ACTIONS:
        raise UsageError(f"unknown seccomp action {t!r} (known: {', '.join(ACTIONS)})", field="action")
    data = 0
    if m.group(2):
        try:
            data = int(m.group(2), 0)
        except ValueError:
            raise UsageError(f"action data {m.group(2)!r} is not a number", field="action") from None
        if not 0 <= data <= SECCOMP_RET_DATA:
            raise UsageError(f"action data {data} does not fit in 16 bits", field="action")
    return ACTIONS[name] | data


def format_action(ret: int) -> str:
    """``ERRNO(13)``, ``ALLOW``, ``TRAP(0)``...; the inverse of :func:`parse_action` for defined actions."""
    name = action_name(ret)
    data = ret & SECCOMP_RET_DATA
    if name.startswith("UNKNOWN"):
        return f"{ret:#010x}"
    if name in ("ERRNO", "TRAP", "TRACE") or data:
        return f"{name}({data})"
    return name


def precedence(results: list[int]) -> tuple[int, int]:
    """``seccomp_run_filters``: results ordered oldest..newest -> (ret, index of the deciding filter).

    The index is -1 when nothing beat ALLOW (the kernel's ``match`` stays NULL).
    """
    ret, match = SECCOMP_RET_ALLOW, -1
    for i in range(len(results) - 1, -1, -1):
        cur = results[i] & 0xFFFFFFFF
        if action_only(cur) < action_only(ret):
            ret, match = cur, i
    return ret, match


@dataclass(frozen=True)
class Effect:
    """What happens to the syscall (``__seccomp_filter``)."""

    action: str
    data: int
    runs: bool  # whether the syscall itself executes
    errno: int | None = None  # the errno the caller sees (0 = returns 0 without running)
    signal: int | None = None  # SIGSYS for TRAP and the KILLs
    killed: str | None = None  # "thread" or "process"
    logged: bool = False
    note: str = ""

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None and v != ""}


def effect(ret: int, *, tracer: bool = False, listener: bool = False, single_thread: bool = True) -> Effect:
    """What the kernel does with a filter result ``ret``."""
    ret &= 0xFFFFFFFF
    data = ret & SECCOMP_RET_DATA
    action = ret & SECCOMP_RET_ACTION_FULL
    name = action_name(ret)
    if action == SECCOMP_RET_ERRNO:
        import errno as _errno

        e = min(data, MAX_ERRNO)
        if e == 0:
            note = "skipped: returns 0 without running (ERRNO with data 0)"
        else:
            note = f"skipped: fails with errno {e}" + (f" ({_errno.errorcode[e]})" if e in _errno.errorcode else "")
            note += f", capped from {data} at MAX_ERRNO" if data > MAX_ERRNO else ""
        return Effect(name, data, False, errno=e, note=note)
    if action == SECCOMP_RET_TRAP:
        return Effect(name, data, False, signal=SIGSYS, note=f"SIGSYS with si_errno={data}, syscall skipped")
    if action == SECCOMP_RET_TRACE:
        if not tracer:
            return Effect(name, data, False, errno=ENOSYS, note="no tracer attached: fails with ENOSYS")
        return Effect(name, data, True, note="PTRACE_EVENT_SECCOMP to the tracer, then the filters run again")
    if action == SECCOMP_RET_USER_NOTIF:
        if not listener:
            return Effect(name, data, False, errno=ENOSYS, note="no listener: fails with ENOSYS")
        return Effect(name, data, False, note="the listener decides the result")
    if action == SECCOMP_RET_LOG:
        return Effect(name, data, True, logged=True, note="allowed and logged")
    if action == SECCOMP_RET_ALLOW:
        return Effect(name, data, True)
    if action == SECCOMP_RET_KILL_THREAD:
        who = "process" if single_thread else "thread"
        return Effect(name, data, False, signal=SIGSYS, killed=who, logged=True,
                      note="thread killed by SIGSYS" + (" (the last thread: the process dies, with a core dump)"
                                                        if single_thread else ""))
    return Effect(name, data, False, signal=SIGSYS, killed="process", logged=True,
                  note="process killed by SIGSYS with a core dump" +
                  ("" if action == SECCOMP_RET_KILL_PROCESS else " (undefined action value)"))
