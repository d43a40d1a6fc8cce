"""Syscall traces: read JSON lines, CSV, or ``strace -e raw=all`` logs; ship one recorded trace.

Formats (:func:`read_trace` detects which; :func:`read_events` also keeps the task fields —
pid, tid, uid, gid, dumpable, a user-memory image for path arguments — that eBPF filters' helpers
read):

* JSON lines: ``{"nr": 0, "args": [3, 140737488, 832]}`` or ``{"syscall": "read", "arch": "x86_64",
  "args": [...], "ip": 4198400}`` -- ``nr`` may be negative;
* CSV with the header ``nr,arch,arg0,arg1,arg2,arg3,arg4,arg5,ip`` (numbers may be hex; ``nr``
  may be a name; empty cells are 0, an empty arch is the default);
* strace output recorded with ``strace -f -e raw=all -o FILE cmd`` (``PID name(args...) = ret``).

:func:`recorded_trace` returns the trace shipped with lwnlab: **recorded** on
Linux 6.18 x86_64 with ``strace -f -e raw=all ls -la /etc`` (strace 6.1).
:func:`synthetic_trace` makes a random one and says so in its name.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lwnlab.errors import SourceError, UsageError
from lwnlab.seccomp.data import SeccompData
from lwnlab.seccomp.syscalls import get_arch, syscall_nr

CSV_HEADER = ["nr", "arch", "arg0", "arg1", "arg2", "arg3", "arg4", "arg5", "ip"]
_STRACE = re.compile(r"^(?:\[pid\s+)?(\d+)\]?\s+([a-z_0-9]+)\((.*)\)\s+=\s+(.*)$")
_STRACE_NOPID = re.compile(r"^([a-z_0-9]+)\((.*)\)\s+=\s+(.*)$")

RECORDED = Path(__file__).with_name("traces") / "ls_la_etc.strace"
RECORDED_LABEL = "recorded: strace -f -e raw=all ls -la /etc (Linux 6.18, x86_64)"


def _num(v, what: str, file: str, line: int) -> int:
    if isinstance(v, bool):
        raise SourceError(f"{what}: expected a number, got {v!r}", file=file, line=line, field=what)
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        try:
            return int(v.strip(), 0) if v.strip() else 0
        except ValueError:
            pass
    raise SourceError(f"{what}: expected a number, got {v!r}", file=file, line=line, field=what)


def _make(arch: str, sysc, args, ip, file: str, line: int) -> SeccompData:
    try:
        return SeccompData.make(arch, sysc, args, ip)
    except UsageError as e:
        raise SourceError(e.message, file=file, line=line, field=e.field) from None


def parse_trace(text: str, *, default_arch: str = "x86_64", file: str = "<trace>") -> list[SeccompData]:
    lines = text.splitlines()
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    if not first:
        return []
    if first.startswith("{"):
        return _parse_jsonl(lines, default_arch, file)
    if first.replace(" ", "").lower().startswith("nr,"):
        return _parse_csv(text, default_arch, file)
    if _is_strace(first):
        return _parse_strace(lines, default_arch, file)
    raise SourceError("not a trace: expected JSON lines, CSV with the header "
                      f"{','.join(CSV_HEADER)}, or strace -e raw=all output", file=file, line=1)


def read_trace(path: str, *, default_arch: str = "x86_64") -> list[SeccompData]:
    with open(path, encoding="utf-8", errors="replace") as f:
        return parse_trace(f.read(), default_arch=default_arch, file=path)


def _parse_jsonl(lines, default_arch, file):
    out = []
    for i, raw in enumerate(lines, start=1):
        s = raw.strip()
        if not s:
            continue
        try:
            obj = json.loads(s)
        except json.JSONDecodeError as e:
            raise SourceError(f"invalid JSON: {e.msg}", file=file, line=i, column=e.colno) from None
        if not isinstance(obj, dict):
            raise SourceError("each line must be a JSON object", file=file, line=i)
        if "nr" in obj:
            sysc = _num(obj["nr"], "nr", file, i)
        elif "syscall" in obj:
            sysc = obj["syscall"]
            if not isinstance(sysc, (str, int)):
                raise SourceError("syscall must be a name or a number", file=file, line=i, field="syscall")
        else:
            raise SourceError("missing 'nr' or 'syscall'", file=file, line=i, field="nr")
        args = obj.get("args", [])
        if not isinstance(args, list):
            raise SourceError("args must be a list of up to six integers", file=file, line=i, field="args")
        if len(args) > 6:
            raise SourceError(f"{len(args)} args; a syscall has at most 6", file=file, line=i, field="args")
        args = [_num(a, f"args[{j}]", file, i) for j, a in enumerate(args)]
        arch = obj.get("arch") or default_arch
        d = _make(str(arch), sysc, args, _num(obj.get("ip", 0), "ip", file, i), file, i)
        if "nr" in obj and "syscall" in obj:  # both given: they must name the same syscall
            other = _make(str(arch), obj["syscall"], args, 0, file, i) \
                if isinstance(obj["syscall"], (str, int)) and not isinstance(obj["syscall"], bool) else None
            if other is None or other.nr != d.nr:
                raise SourceError(f"nr {d.nr_signed} and syscall {obj['syscall']!r} disagree on {arch}",
                                  file=file, line=i, field="syscall")
        out.append(d)
    return out


def _parse_csv(text, default_arch, file):
    rd = csv.reader(io.StringIO(text))
    out = []
    header = None
    for i, row in enumerate(rd, start=1):
        if not row or not "".join(row).strip():
            continue
        if header is None:
            header = [h.strip().lower() for h in row]
            if header != CSV_HEADER:
                raise SourceError(f"CSV header must be {','.join(CSV_HEADER)}", file=file, line=i)
            continue
        if len(row) != len(CSV_HEADER):
            raise SourceError(f"{len(row)} columns, expected {len(CSV_HEADER)}", file=file, line=i)
        sysc = row[0].strip()
        if not sysc:
            raise SourceError("empty nr", file=file, line=i, field="nr")
        arch = row[1].strip() or default_arch
        args = [_num(a, f"arg{j}", file, i) for j, a in enumerate(row[2:8])]
        out.append(_make(arch, sysc, args, _num(row[8], "ip", file, i), file, i))
    return out


_UNFINISHED = re.compile(r"^(?:\[pid\s+)?(\d+)?\]?\s*([a-z_0-9]+)\((.*?)\s*<unfinished \.\.\.>$")
_RESUMED = re.compile(r"^(?:\[pid\s+)?(\d+)?\]?\s*<\.\.\. ([a-z_0-9]+) resumed>(.*)\)\s+=\s+(.*)$")


def _parse_strace(lines, default_arch, file):
    return [d for d, _ in _parse_strace_pids(lines, default_arch, file)]


def _parse_strace_pids(lines, default_arch, file):
    """``strace -f -e raw=all`` output: every argument a number.  A call interrupted by another thread's
    (``<unfinished ...>`` then ``<... read resumed>``) is put back together; it counts where it began,
    which is when seccomp saw it.  Symbolic arguments (strace without raw=all) and unknown syscall names
    are errors naming the line: reading them as 0 or dropping the call would give a wrong answer."""
    out: list = []
    pending: dict = {}  # (pid, name) -> (index in out, line, the argument text so far)
    for i, raw in enumerate(lines, start=1):
        s = raw.strip()
        m = _UNFINISHED.match(s)
        if m:
            pending[(m.group(1), m.group(2))] = (len(out), i, m.group(3))
            out.append((None, _pid(m.group(1))))  # filled in when the call resumes
            continue
        m = _RESUMED.match(s)
        if m:
            key = (m.group(1), m.group(2))
            if key not in pending:
                continue  # resumed from before the trace began
            at, line, head = pending.pop(key)
            out[at] = (_strace_call(m.group(2), head + m.group(3), default_arch, file, line), out[at][1])
            continue
        m = _STRACE.match(s)
        if m:
            pid, name, argtext = _pid(m.group(1)), m.group(2), m.group(3)
        else:
            m = _STRACE_NOPID.match(s)
            if not m:
                continue  # signals, "+++ exited" lines
            pid, name, argtext = None, m.group(1), m.group(2)
        out.append((_strace_call(name, argtext, default_arch, file, i), pid))
    for at, line, head in pending.values():  # never resumed (the trace ended): the arguments strace printed
        out[at] = (_strace_call(None, head, default_arch, file, line, name_from=lines[line - 1]), out[at][1])
    return out


def _is_strace(first_line: str) -> bool:
    return bool(_STRACE.match(first_line) or _STRACE_NOPID.match(first_line) or _UNFINISHED.match(first_line))


def _pid(text):
    return int(text) if text else None


def _strace_call(name, argtext, default_arch, file, line, name_from=None):
    if name is None:
        name = _UNFINISHED.match(name_from.strip()).group(2)
    args = []
    for a in [x.strip() for x in argtext.split(",") if x.strip()][:6]:
        try:
            args.append(int(a, 0))
        except ValueError:
            raise SourceError(f"{name}: argument {a[:40]!r} is not a number; record the trace with "
                              "strace -e raw=all", file=file, line=line, field="args") from None
    m = re.fullmatch(r"syscall_(0x[0-9a-f]+|\d+)", name)  # strace's name for a number it does not know
    return _make(default_arch, int(m.group(1), 0) if m else name, args, 0, file, line)


# --------------------------------------------------------------------------- traces with tasks (for eBPF filters)


@dataclass(frozen=True)
class Event:
    """A syscall with the task that made it: what eBPF seccomp filters' helpers read.

    (eBPF seccomp filters are a model of YiFei Zhu's 2021 proposal, never merged.)  ``pid`` is the
    process (tgid), ``tid`` the thread (defaults to pid); ``memory`` maps user addresses to bytes
    (e.g. the path an ``openat`` points to); ``ts_ns`` an explicit CLOCK_MONOTONIC time, if any.
    """

    data: SeccompData
    pid: int = 1000
    tid: int | None = None
    uid: int = 1000
    gid: int = 1000
    dumpable: bool = True
    memory: tuple = ()  # ((addr, bytes), ...)
    ts_ns: int | None = None

    def task(self):
        from lwnlab.bpf.runtime import SimTask, UserMemory

        return SimTask(pid=self.tid if self.tid is not None else self.pid, tgid=self.pid, uid=self.uid,
                       gid=self.gid, dumpable=self.dumpable, memory=UserMemory(dict(self.memory)))

    @property
    def nr(self) -> int:
        return self.data.nr

    @property
    def arch(self) -> int:
        return self.data.arch

    def words(self) -> np.ndarray:
        """The syscall's seccomp_data words (as :meth:`SeccompData.words`)."""
        return self.data.words()

    def to_json(self) -> dict:
        d = self.data.to_json()
        d.update(pid=self.pid, uid=self.uid, gid=self.gid)
        if self.tid is not None:
            d["tid"] = self.tid
        if not self.dumpable:
            d["dumpable"] = False
        if self.memory:
            d["mem"] = {f"{a:#x}": {"hex": b.hex()} for a, b in self.memory}
        if self.ts_ns is not None:
            d["ts_ns"] = self.ts_ns
        return d


def event(syscall, args=(), *, arch: str = "x86_64", pid: int = 1000, tid: int | None = None, uid: int = 1000,
          gid: int = 1000, dumpable: bool = True, memory: dict | None = None, ts_ns: int | None = None) -> Event:
    """Build an Event; ``memory`` values may be str (UTF-8, add the NUL yourself) or bytes."""
    mem = tuple(sorted((int(a), v.encode() if isinstance(v, str) else bytes(v)) for a, v in (memory or {}).items()))
    return Event(SeccompData.make(arch, syscall, args), pid, tid, uid, gid, dumpable, mem, ts_ns)


def _mem_from_json(obj, file: str, line: int) -> tuple:
    if not isinstance(obj, dict):
        raise SourceError('"mem" must be an object {"ADDR": "text" | {"hex": "..."}}', file=file, line=line,
                          field="mem")
    out = []
    for a, v in obj.items():
        addr = _num(a, "mem address", file, line)
        if isinstance(v, str):
            b = v.encode()
        elif isinstance(v, dict) and isinstance(v.get("hex"), str):
            try:
                b = bytes.fromhex(v["hex"])
            except ValueError:
                raise SourceError(f"mem[{a}]: invalid hex", file=file, line=line, field="mem") from None
        else:
            raise SourceError(f'mem[{a}]: expected a string or {{"hex": "..."}}', file=file, line=line, field="mem")
        if addr < 0 or addr + len(b) > (1 << 47):
            raise SourceError(f"mem[{a}]: outside user space", file=file, line=line, field="mem")
        out.append((addr, b))
    return tuple(sorted(out))


def parse_events(text: str, *, default_arch: str = "x86_64", file: str = "<trace>") -> list[Event]:
    """Like :func:`parse_trace`, keeping per-syscall task fields: JSON lines may add ``pid``, ``tid``,
    ``uid``, ``gid``, ``dumpable``, ``mem`` (``{"0x7ffd1000": "/etc/shadow\\u0000"}`` or
    ``{"ADDR": {"hex": "2f6574..."}}``) and ``ts_ns``; strace lines give the pid."""
    datas = parse_trace(text, default_arch=default_arch, file=file)
    lines = text.splitlines()
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    if not first.startswith("{"):
        if datas and _is_strace(first):  # the pid of each call
            calls = _parse_strace_pids(lines, default_arch, file)
            if len(calls) == len(datas) and all(p is not None for _, p in calls):
                return [Event(d, pid=p) for d, p in calls]
        return [Event(d) for d in datas]
    out = []
    objs = [(i, json.loads(raw)) for i, raw in enumerate(lines, start=1) if raw.strip()]
    for d, (i, obj) in zip(datas, objs):
        kw = {}
        for k in ("pid", "tid", "uid", "gid", "ts_ns"):
            if k in obj:
                v = _num(obj[k], k, file, i)
                if k != "ts_ns" and not 0 <= v < (1 << 32):
                    raise SourceError(f"{k} {v} does not fit in 32 bits", file=file, line=i, field=k)
                kw[k] = v
        if "dumpable" in obj:
            if not isinstance(obj["dumpable"], bool):
                raise SourceError("dumpable must be true or false", file=file, line=i, field="dumpable")
            kw["dumpable"] = obj["dumpable"]
        if "mem" in obj:
            kw["memory"] = _mem_from_json(obj["mem"], file, i)
        out.append(Event(d, **kw))
    return out


def read_events(path: str, *, default_arch: str = "x86_64") -> list[Event]:
    with open(path, encoding="utf-8", errors="replace") as f:
        return parse_events(f.read(), default_arch=default_arch, file=path)


def recorded_trace() -> list[SeccompData]:
    """The shipped trace (see RECORDED_LABEL)."""
    return read_trace(str(RECORDED))


def synthetic_trace(n: int, *, arch: str = "x86_64", seed: int = 0, names: list[str] | None = None) -> list[SeccompData]:
    """A random trace over common syscalls (labelled synthetic wherever it is shown)."""
    a = get_arch(arch)
    rng = np.random.default_rng(seed)
    pool = names or ["read", "write", "openat", "close", "fstat", "mmap", "mprotect", "munmap", "brk", "futex",
                     "rt_sigaction", "ioctl", "getpid", "lseek", "newfstatat", "clock_gettime", "poll",
                     "execve", "socket", "connect", "ptrace", "mount", "kexec_load"]
    pool = [p for p in pool if _known(a.name, p)]
    weights = np.linspace(3.0, 0.2, len(pool))
    weights /= weights.sum()
    out = []
    for _ in range(n):
        name = pool[rng.choice(len(pool), p=weights)]
        args = [int(rng.integers(0, 1 << 16)) for _ in range(6)]
        out.append(SeccompData.make(a, name, args))
    return out


def _known(arch: str, name: str) -> bool:
    try:
        syscall_nr(arch, name)
        return True
    except UsageError:
        return False
