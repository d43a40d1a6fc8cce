"""Stateful seccomp policies a classic filter cannot express, as eBPF seccomp filters.

**A what-if model**: ``BPF_PROG_TYPE_SECCOMP`` was proposed by YiFei Zhu et al. in 2021 and never
merged.  Each policy is a readable uBPF-assembly file beside this module (its comment header says
what it does); :func:`load` loads one with its maps, :func:`demo_trace` gives a small trace that
shows it working (with pids and the user memory its helpers read).

* ``execve_once``: allow ``execve`` once per process, then EPERM (a flag in task storage);
* ``count_limit``: count syscalls per number in a hash map, deny a number after N calls (N in a map);
* ``deny_openat_path``: EACCES for ``openat("/etc/shadow")``, reading the path with
  ``bpf_probe_read_user_str`` (CAP_BPF + CAP_PERFMON only: unprivileged loading is refused).
"""

from __future__ import annotations

from pathlib import Path

from lwnlab.bpf.helpers import Gates, Privileges
from lwnlab.errors import UsageError

HERE = Path(__file__).resolve().parent

EXAMPLES = {
    "execve_once": "allow execve once per process, then EPERM (task storage flag)",
    "count_limit": "count syscalls per number (hash map); EPERM for a number after N calls (N in an array map)",
    "deny_openat_path": "EACCES for openat(\"/etc/shadow\"), path read with bpf_probe_read_user_str (privileged)",
}

#: what each example needs from its loader (None: anyone may load it)
NEEDS = {"execve_once": None, "count_limit": None, "deny_openat_path": "CAP_BPF and CAP_PERFMON"}


def path(name: str) -> Path:
    if name not in EXAMPLES:
        raise UsageError(f"no eBPF seccomp example {name!r} (have: {', '.join(EXAMPLES)})", field="name")
    return HERE / f"{name}.s"


def source(name: str) -> str:
    return path(name).read_text()


def load(name: str, *, privileges: Privileges | None = None, gates: Gates | None = None, verify: bool = True,
         limit: int | None = None, **kw):
    """Load example ``name`` as an :class:`~lwnlab.seccomp.ebpf.EbpfFilter` with its maps.

    ``privileges`` default: unprivileged for the first two, root-like (CAP_BPF, CAP_PERFMON,
    CAP_SYS_PTRACE, CAP_SYS_ADMIN) for ``deny_openat_path``.  ``limit`` sets count_limit's N.
    """
    from lwnlab.seccomp.ebpf import EbpfFilter

    p = path(name)
    if privileges is None:
        privileges = Privileges.root() if NEEDS[name] else Privileges()
    f = EbpfFilter.from_asm(p.read_text(), file=str(p), privileges=privileges, gates=gates or Gates(),
                            verify=verify, **kw)
    if limit is not None:
        if name != "count_limit":
            raise UsageError("limit= is count_limit's N", field="limit")
        f.maps["limit"].update(0, int(limit))
    return f


def demo_trace(name: str) -> list:
    """A short synthetic trace (labelled so) that exercises the example."""
    from lwnlab.seccomp.trace import event

    path(name)
    if name == "execve_once":
        return [event("execve", pid=100), event("read", pid=100), event("execve", pid=100),
                event("execve", pid=200), event("execve", pid=200), event("execve", pid=100)]
    if name == "count_limit":
        return [event(n, pid=100) for n in ("getpid", "getpid", "read", "getpid", "getpid", "read", "getpid")]
    shadow, passwd = 0x7FFD_0000_1000, 0x7FFD_0000_2000
    mem = {shadow: "/etc/shadow\0", passwd: "/etc/passwd\0"}
    return [event("openat", [-100 & 0xFFFFFFFFFFFFFFFF, passwd, 0], pid=100, memory=mem),
            event("openat", [-100 & 0xFFFFFFFFFFFFFFFF, shadow, 0], pid=100, memory=mem),
            event("openat", [-100 & 0xFFFFFFFFFFFFFFFF, 0xDEAD0000, 0], pid=100, memory=mem),
            event("openat", [-100 & 0xFFFFFFFFFFFFFFFF, shadow, 0], pid=300, dumpable=False, memory=mem),
            event("read", [3, 0, 0], pid=100)]
