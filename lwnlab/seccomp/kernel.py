"""The live kernel as oracle: install filters in a forked child and watch what happens; run eBPF
programs with ``BPF_PROG_TEST_RUN``.

**Classic filters** (:func:`run_seccomp`).  The parent maps a shared page and
forks.  The child sets ``PR_SET_NO_NEW_PRIVS``, installs each filter with
``seccomp(SECCOMP_SET_MODE_FILTER, flags, &sock_fprog)`` (oldest first),
makes the syscall under test with ``syscall(3)``, and writes the result into
the shared page -- memory writes are not syscalls, so the filters do not see
the reporting.  A SIGSYS handler (``sigaction`` with ``SA_SIGINFO`` through
ctypes) records TRAP's ``si_errno``; a KILL leaves no record and the parent
sees SIGSYS.  After reporting, the child exits; if a filter refuses even
that, the parent kills it (its own child, by pid).

Only harmless syscalls are made for real: an ALLOW or LOG verdict runs the
syscall, so tests use the ``getpid`` family (which ignore their arguments) and
numbers no syscall has.  :func:`safe_syscalls` lists them.

**eBPF** (:func:`run_ebpf`): ``bpf(BPF_PROG_LOAD)`` a ``SOCKET_FILTER`` with
the verifier log on, then ``BPF_PROG_TEST_RUN`` on a zeroed 64-byte packet.
``retval`` is a u32: the upper half of r0 is lost (run twice, shifting, to
see it).
"""

from __future__ import annotations

import ctypes
import errno as _errno
import mmap
import os
import signal
import struct
import time
from dataclasses import dataclass

from lwnlab import system
from lwnlab.errors import UnavailableError
from lwnlab.seccomp import actions

SYS_getpid, SYS_getppid, SYS_gettid, SYS_getuid, SYS_getgid = 39, 110, 186, 102, 104
SYS_geteuid, SYS_getegid, SYS_getpgrp, SYS_sched_yield = 107, 108, 111, 24
SYS_exit, SYS_exit_group = 60, 231

BPF_PROG_TEST_RUN = 10
MARK_READY, MARK_DONE, MARK_TRAP = 0x11, 0x22, 0x33


X32_GETPID = 0x40000000 | SYS_getpid
_SAFE: dict[int, str] = {}


def safe_syscalls() -> dict[int, str]:
    """x86_64 syscalls that are safe to really make with any arguments, and ones that do not exist.

    Names in parentheses fail with ENOSYS when they run. x32's getpid (0x40000027) is one of them
    where the kernel is built without CONFIG_X86_X32_ABI (probed once).
    """
    if not _SAFE:
        _SAFE.update({SYS_getpid: "getpid", SYS_getppid: "getppid", SYS_gettid: "gettid", SYS_getuid: "getuid",
                      SYS_getgid: "getgid", SYS_geteuid: "geteuid", SYS_getegid: "getegid", SYS_getpgrp: "getpgrp",
                      SYS_sched_yield: "sched_yield", 600: "(none)", 1000: "(none)", 4095: "(none)",
                      -1: "(nr -1)", 0x7FFFFFFF: "(none)"})
        import platform

        if platform.machine() == "x86_64":
            r = system.libc().syscall(ctypes.c_long(X32_GETPID))
            _SAFE[X32_GETPID] = "(x32 getpid: no x32 ABI here)" if r < 0 else "x32 getpid"
    return _SAFE


@dataclass(frozen=True)
class KernelOutcome:
    """What the kernel did with one syscall under the installed filters."""

    installed: bool
    install_errno: int = 0
    install_failed_at: int | None = None  # index of the filter seccomp() refused
    returned: bool = False
    rc: int | None = None
    errno: int | None = None
    trapped: bool = False
    trap_errno: int | None = None
    trap_syscall: int | None = None
    trap_arch: int | None = None
    trap_ip: int | None = None
    signal: int | None = None
    child_pid: int = 0

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def summary(self) -> str:
        if not self.installed:
            return f"seccomp() refused filter {self.install_failed_at}: {_errno.errorcode.get(self.install_errno, self.install_errno)}"
        if self.trapped:
            return f"SIGSYS trap (si_errno={self.trap_errno})"
        if self.signal is not None and not self.returned:
            return f"killed by signal {self.signal} ({signal.Signals(self.signal).name})"
        if self.rc is not None and self.rc < 0:
            return f"returned -1, errno {self.errno} ({_errno.errorcode.get(self.errno, '?')})"
        return f"returned {self.rc}"


def available() -> tuple[bool, str]:
    p = system.probe_seccomp()
    return p.usable, p.detail


def _need_x86_64():
    import platform

    if platform.machine() != "x86_64":
        raise UnavailableError(f"the kernel oracle runs x86_64 syscalls; this machine is {platform.machine()}")


class _SigInfo(ctypes.Structure):
    _fields_ = [("si_signo", ctypes.c_int), ("si_errno", ctypes.c_int), ("si_code", ctypes.c_int),
                ("_pad", ctypes.c_int), ("si_call_addr", ctypes.c_uint64), ("si_syscall", ctypes.c_int),
                ("si_arch", ctypes.c_uint)]


_HANDLER_T = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.POINTER(_SigInfo), ctypes.c_void_p)


class _Sigaction(ctypes.Structure):
    _fields_ = [("sa_sigaction", _HANDLER_T), ("sa_mask", ctypes.c_uint64 * 16), ("sa_flags", ctypes.c_int),
                ("sa_restorer", ctypes.c_void_p)]


SA_SIGINFO = 4


def run_seccomp(filters: list[bytes], nr: int, args=(0, 0, 0, 0, 0, 0), *, flags: int = 0,
                timeout: float = 5.0) -> KernelOutcome:
    """Install ``filters`` (raw struct sock_filter bytes, oldest first) in a child, make syscall ``nr``."""
    _need_x86_64()
    ok, why = available()
    if not ok:
        raise UnavailableError(f"seccomp is not usable here: {why}")
    libc = system.libc()
    shm = mmap.mmap(-1, 4096, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
    bufs = [ctypes.create_string_buffer(bytes(f), max(len(f), 1)) for f in filters]
    progs = []
    for f, b in zip(filters, bufs):
        fp = ctypes.create_string_buffer(16)
        struct.pack_into("<HxxxxxxQ", fp, 0, len(f) // 8, ctypes.addressof(b))
        progs.append(fp)
    cargs = [ctypes.c_long(_s64(a)) for a in (list(args) + [0] * 6)[:6]]
    c_nr = ctypes.c_long(nr)
    seccomp_nr = ctypes.c_long(system.syscall_number("seccomp"))
    prctl_nr = ctypes.c_long(system.syscall_number("prctl"))
    syscall = libc.syscall
    get_errno = ctypes.get_errno

    def on_sigsys(signo, info, ctx):  # runs in the child only
        i = info.contents
        struct.pack_into("<BxxxiiIQ", shm, 64, MARK_TRAP, i.si_errno, i.si_syscall, i.si_arch, i.si_call_addr)

    handler = _HANDLER_T(on_sigsys)
    sa = _Sigaction()
    sa.sa_sigaction = handler
    sa.sa_flags = SA_SIGINFO
    libc.sigaction.argtypes = (ctypes.c_int, ctypes.POINTER(_Sigaction), ctypes.c_void_p)

    pid = os.fork()
    if pid == 0:  # ---------------------------------------------------------------- child
        try:
            libc.sigaction(signal.SIGSYS, ctypes.byref(sa), None)
            if syscall(prctl_nr, ctypes.c_long(system.PR_SET_NO_NEW_PRIVS), ctypes.c_long(1), ctypes.c_long(0),
                       ctypes.c_long(0), ctypes.c_long(0)) != 0:
                struct.pack_into("<Bxxxii", shm, 0, 0xEE, get_errno(), -1)
                os._exit(3)
            for i, fp in enumerate(progs):
                r = syscall(seccomp_nr, ctypes.c_long(1), ctypes.c_long(flags), fp, ctypes.c_long(0),
                            ctypes.c_long(0), ctypes.c_long(0))
                if r != 0:
                    struct.pack_into("<Bxxxii", shm, 0, 0xEE, get_errno(), i)
                    os._exit(3)
            shm[0] = MARK_READY
            r = syscall(c_nr, *cargs)
            e = get_errno()
            struct.pack_into("<BxxxqI", shm, 16, MARK_DONE, r, e)
            libc._exit(0)
            syscall(ctypes.c_long(SYS_exit), ctypes.c_long(0))
            while True:  # every way out was refused: the parent kills us
                pass
        except BaseException:
            os._exit(4)
    # ------------------------------------------------------------------------------ parent
    status = None
    t0 = time.monotonic()
    while True:
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid == pid:
            status = st
            break
        if shm[16] == MARK_DONE or shm[64] == MARK_TRAP or time.monotonic() - t0 > timeout:
            time.sleep(0.002)
            wpid, st = os.waitpid(pid, os.WNOHANG)
            if wpid == pid:
                status = st
                break
            if time.monotonic() - t0 > timeout or shm[16] == MARK_DONE:
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
                break
        time.sleep(0.0005)
    del handler
    if shm[0] == 0xEE:
        err, idx = struct.unpack_from("<ii", shm, 4)
        return KernelOutcome(False, install_errno=err, install_failed_at=idx, child_pid=pid)
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    trapped = shm[64] == MARK_TRAP
    t_errno = t_sys = t_arch = t_ip = None
    if trapped:
        t_errno, t_sys, t_arch, t_ip = struct.unpack_from("<iiIQ", shm, 68)
        t_arch &= 0xFFFFFFFF
    if shm[16] == MARK_DONE:
        r, e = struct.unpack_from("<qI", shm, 20)
        ret_sig = None if sig == signal.SIGKILL else sig
        return KernelOutcome(True, returned=True, rc=r, errno=(e if r < 0 else 0), trapped=trapped,
                             trap_errno=t_errno, trap_syscall=t_sys, trap_arch=t_arch, trap_ip=t_ip,
                             signal=ret_sig, child_pid=pid)
    if shm[0] != MARK_READY:
        return KernelOutcome(True, returned=False, signal=sig, child_pid=pid)
    return KernelOutcome(True, returned=False, trapped=trapped, trap_errno=t_errno, trap_syscall=t_sys,
                         trap_arch=t_arch, trap_ip=t_ip, signal=sig, child_pid=pid)


def _s64(v: int) -> int:
    v = int(v) & 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v >= (1 << 63) else v


_IP_CACHE: list[int] = []


def syscall_ip() -> int:
    """seccomp_data.instruction_pointer of syscalls made through libc's syscall() in this process.

    Found once by trapping getpid and reading si_call_addr (the kernel's view of the ip).
    """
    if _IP_CACHE:
        return _IP_CACHE[0]
    from lwnlab.bpf.classic import CInsn, encode

    prog = [CInsn(0x20, 0, 0, 0), CInsn(0x15, 0, 1, SYS_getpid), CInsn(0x06, 0, 0, actions.SECCOMP_RET_TRAP),
            CInsn(0x06, 0, 0, actions.SECCOMP_RET_ALLOW)]
    out = run_seccomp([encode(prog)], SYS_getpid)
    if not out.trapped or out.trap_ip is None:
        raise UnavailableError(f"could not find the syscall instruction pointer ({out.summary()})")
    _IP_CACHE.append(out.trap_ip)
    return out.trap_ip


def expected_outcome(ret: int, nr: int) -> dict:
    """The observable outcome lwnlab predicts for a stack result ``ret`` on syscall ``nr``."""
    e = actions.effect(ret)
    if e.killed:
        return {"kind": "killed", "signal": actions.SIGSYS}
    if e.signal == actions.SIGSYS:
        return {"kind": "trap", "si_errno": e.data}
    if e.errno is not None:
        return {"kind": "errno", "errno": e.errno} if e.errno else {"kind": "returned0"}
    return {"kind": "ran"}


def observed_kind(o: KernelOutcome, nr: int) -> dict:
    """Reduce a KernelOutcome to the same shape as :func:`expected_outcome`."""
    if not o.installed:
        return {"kind": "refused", "errno": o.install_errno}
    if o.trapped:
        return {"kind": "trap", "si_errno": o.trap_errno}
    if not o.returned:
        return {"kind": "killed", "signal": o.signal}
    if o.rc is not None and o.rc < 0:
        if nr in safe_syscalls() and safe_syscalls()[nr].startswith("(") and o.errno == _errno.ENOSYS:
            # a syscall that does not exist: ALLOW/LOG let it run and it fails with ENOSYS --
            # indistinguishable from TRACE/USER_NOTIF's ENOSYS, so both are "ran-or-enosys"
            return {"kind": "ran"}
        return {"kind": "errno", "errno": o.errno}
    if o.rc == 0 and nr not in (SYS_getuid, SYS_getgid, SYS_geteuid, SYS_getegid, SYS_sched_yield):
        return {"kind": "returned0"}
    return {"kind": "ran"}


def normalise_expected(exp: dict, nr: int) -> dict:
    """Fold predictions the kernel cannot tell apart (see observed_kind)."""
    names = safe_syscalls()
    fake = nr in names and names[nr].startswith("(")
    if exp["kind"] == "errno" and exp["errno"] == _errno.ENOSYS and fake:
        return {"kind": "ran"}
    if exp["kind"] == "returned0" and nr in (SYS_getuid, SYS_getgid, SYS_geteuid, SYS_getegid, SYS_sched_yield):
        return {"kind": "ran"}  # root's uid 0 and sched_yield's 0 look like ERRNO(0)
    return exp


def seccomp_accepts(raw: bytes) -> tuple[bool, int]:
    """Does seccomp(SET_MODE_FILTER) accept this filter? (errno when not). Installs it in a child."""
    out = run_seccomp([raw], SYS_getpid)
    return out.installed, out.install_errno


# --------------------------------------------------------------------------- eBPF


@dataclass(frozen=True)
class BpfRun:
    loaded: bool
    retval: int | None = None  # u32
    errno: int = 0
    log: str = ""


def run_ebpf(prog: bytes, *, data: bytes = bytes(64), log_size: int = 1 << 16) -> BpfRun:
    """BPF_PROG_LOAD (socket filter) + BPF_PROG_TEST_RUN; the verifier log on refusal."""
    p = system.probe_bpf()
    if not p.usable:
        raise UnavailableError(f"bpf() is not usable here: {p.detail}")
    insn_buf = ctypes.create_string_buffer(bytes(prog), max(len(prog), 1))
    lic = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(log_size)
    attr = ctypes.create_string_buffer(144)
    struct.pack_into("<IIQQIIQ", attr, 0, system.BPF_PROG_TYPE_SOCKET_FILTER, len(prog) // 8,
                     ctypes.addressof(insn_buf), ctypes.addressof(lic), 1, log_size, ctypes.addressof(log))
    fd, err = system.raw_syscall("bpf", system.BPF_PROG_LOAD, attr, 144)
    if fd < 0:
        return BpfRun(False, errno=err, log=log.value.decode(errors="replace"))
    try:
        din = ctypes.create_string_buffer(bytes(data), len(data))
        t = ctypes.create_string_buffer(80)
        struct.pack_into("<IIIIQQII", t, 0, fd, 0, len(data), 0, ctypes.addressof(din), 0, 1, 0)
        r, err = system.raw_syscall("bpf", BPF_PROG_TEST_RUN, t, 80)
        if r < 0:
            return BpfRun(True, None, err, "BPF_PROG_TEST_RUN failed")
        (retval,) = struct.unpack_from("<I", t, 4)
        return BpfRun(True, retval)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- reading filters back

PTRACE_ATTACH, PTRACE_DETACH, PTRACE_SECCOMP_GET_FILTER = 16, 17, 0x420C


def dump_filters(pid: int) -> list[bytes]:
    """The classic filters installed in process ``pid``, oldest first (PTRACE_SECCOMP_GET_FILTER).

    Needs CAP_SYS_ADMIN and a kernel with CONFIG_CHECKPOINT_RESTORE, as ``seccomp-tools dump -p`` does.
    The process is stopped (PTRACE_ATTACH) while its filters are read, then detached.
    """
    libc = system.libc()
    libc.ptrace.restype = ctypes.c_long
    libc.ptrace.argtypes = (ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
    if libc.ptrace(PTRACE_ATTACH, pid, None, None) != 0:
        e = ctypes.get_errno()
        raise UnavailableError(f"cannot attach to pid {pid}: {os.strerror(e)}")
    try:
        os.waitpid(pid, getattr(os, "__WALL", 0x40000000))
        out = []
        for i in range(1024):
            n = libc.ptrace(PTRACE_SECCOMP_GET_FILTER, pid, ctypes.c_void_p(i), None)
            if n < 0:
                e = ctypes.get_errno()
                if e == _errno.ENOENT:
                    break
                if e == _errno.EINVAL and i == 0:
                    break  # no seccomp filter at all
                raise UnavailableError(f"PTRACE_SECCOMP_GET_FILTER on pid {pid}: {os.strerror(e)}")
            buf = ctypes.create_string_buffer(8 * n)
            m = libc.ptrace(PTRACE_SECCOMP_GET_FILTER, pid, ctypes.c_void_p(i), buf)
            out.append(buf.raw[:8 * m])
        return out  # get_nth_filter: index 0 is the oldest filter
    finally:
        libc.ptrace(PTRACE_DETACH, pid, None, None)


def action_available(action: int) -> tuple[bool, int]:
    """seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &action): does this kernel know the action? (ok, errno)."""
    _need_x86_64()
    buf = ctypes.c_uint32(action & 0xFFFFFFFF)
    r, err = system.raw_syscall("seccomp", actions.SECCOMP_GET_ACTION_AVAIL, 0, ctypes.byref(buf))
    return r == 0, err
