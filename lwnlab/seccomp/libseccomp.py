"""Interop with libseccomp (through ``pyseccomp``, a ctypes binding): filters it builds load directly.

:func:`export` returns the raw BPF libseccomp generates (``seccomp_export_bpf``
into a memfd, since ``export_bpf_mem`` only exists from libseccomp 2.6);
:func:`container_policy` builds a container-style policy modelled on Docker's
default profile (``moby/profiles`` seccomp/default.json: default ERRNO(EPERM),
an allow-list of the common syscalls, ``personality`` and ``socket`` allowed
only for some argument values, ``clone3`` answering ENOSYS), for x86_64 with
the x86 and x32 ABIs, linear or as a binary tree (``SCMP_FLTATR_CTL_OPTIMIZE``).
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from lwnlab.errors import UnavailableError, UsageError
from lwnlab.seccomp.filter import Filter

SCMP_FLTATR_CTL_OPTIMIZE = 8  # enum scmp_filter_attr
SCMP_FLTATR_CTL_TSYNC = 4
SCMP_FLTATR_API_TSKIP = 5


def _sc():
    try:
        import pyseccomp
    except (ImportError, OSError) as e:  # the binding, or libseccomp.so itself, is missing
        raise UnavailableError(f"libseccomp is not usable here: {e}") from None
    return pyseccomp


def export(f) -> bytes:
    """The BPF program of a pyseccomp/seccomp ``SyscallFilter`` as raw bytes."""
    fd = os.memfd_create("lwnlab-bpf")
    with os.fdopen(fd, "w+b") as fh:
        f.export_bpf(fh)
        fh.flush()
        fh.seek(0)
        return fh.read()


def export_pfc(f) -> str:
    fd = os.memfd_create("lwnlab-pfc")
    with os.fdopen(fd, "w+b") as fh:
        f.export_pfc(fh)
        fh.flush()
        fh.seek(0)
        return fh.read().decode()


#: Docker's default allow-list (moby/profiles seccomp/default.json, the unconditional ALLOW group),
#: trimmed of nothing but syscalls libseccomp 2.5.4 does not know on x86_64.
DOCKER_ALLOW = """
accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown chown32 clock_adjtime
clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep
clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3 epoll_create epoll_create1
epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat
exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat
fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr
fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue
futex_time64 futex_wait futex_waitv futex_wake futimesat getcpu getcwd getdents getdents64 getegid getegid32
geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid
getpriority getrandom getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid
getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr inotify_add_watch
inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents
io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit ipc kill landlock_add_rule
landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listxattr
llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise map_shadow_stack membarrier memfd_create
memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr
mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap
msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat _newselect
open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll
ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64
pwritev pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg
remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending
rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64
rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
sched_get_priority_min sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64
sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select semctl semget
semop semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32
setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority setregid setregid32
setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid setsockopt
set_thread_area set_tid_address setuid setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack
signalfd signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statx
symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete
timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime
timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname
unlink unlinkat utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev
arch_prctl modify_ldt clone
""".split()


@dataclass(frozen=True)
class Policy:
    """A libseccomp-built filter with the facts the notebook shows."""

    name: str
    raw: bytes
    filter: Filter
    pfc: str
    tree: bool
    rules: int

    @property
    def instructions(self) -> int:
        return len(self.filter)


def container_policy(*, tree: bool = False, x32: bool = True, i386: bool = True, errno_ret: int = errno.EPERM,
                     extra_allow: tuple = ()) -> Policy:
    """A Docker-style default policy built by libseccomp (see module docstring)."""
    sc = _sc()
    f = sc.SyscallFilter(sc.ERRNO(errno_ret))
    if i386:
        f.add_arch(sc.Arch.X86)
    if x32:
        f.add_arch(sc.Arch.X32)
    if tree:
        try:
            f.set_attr(SCMP_FLTATR_CTL_OPTIMIZE, 2)
        except Exception as e:  # libseccomp < 2.5
            raise UnavailableError(f"this libseccomp cannot build a binary tree: {e}") from None
    rules = 0
    for name in DOCKER_ALLOW + list(extra_allow):
        try:
            f.add_rule(sc.ALLOW, name)
            rules += 1
        except (ValueError, OSError):
            pass  # not a syscall on any of the filter's ABIs, as Docker skips them
    # Docker: personality only for PER_LINUX (0), PER_LINUX32 (8), UNAME26 (0x20000), and their | 0xffffffff
    for v in (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF):
        f.add_rule(sc.ALLOW, "personality", sc.Arg(0, sc.EQ, v))
        rules += 1
    # Docker: socket() for every family but AF_VSOCK (40) without CAP_SYS_ADMIN... modelled as a0 != 40
    f.add_rule(sc.ALLOW, "socket", sc.Arg(0, sc.NE, 40))
    rules += 1
    # Docker: clone3 answers ENOSYS so that glibc falls back to clone
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    rules += 1
    raw = export(f)
    flt = Filter.prepare(raw, name="container-" + ("tree" if tree else "linear"))
    return Policy("container (Docker-style)", raw, flt, export_pfc(f), tree, rules)


def build(default: str, rules: list[tuple], *, arches: tuple = (), tree: bool = False) -> bytes:
    """Build with libseccomp from plain data: ``rules`` = [(action, syscall, [(arg, op, a, b?)...]), ...]."""
    from lwnlab.seccomp.actions import parse_action

    sc = _sc()
    ops = {"==": sc.EQ, "!=": sc.NE, "<": sc.LT, "<=": sc.LE, ">": sc.GT, ">=": sc.GE, "&=": sc.MASKED_EQ}
    f = sc.SyscallFilter(parse_action(default))
    for a in arches:
        f.add_arch(getattr(sc.Arch, a.upper()))
    if tree:
        f.set_attr(SCMP_FLTATR_CTL_OPTIMIZE, 2)
    for action, name, cmps in rules:
        args = []
        for c in cmps:
            if c[1] not in ops:
                raise UsageError(f"unknown comparison {c[1]!r} (one of {', '.join(ops)})", field="rules")
            args.append(sc.Arg(c[0], ops[c[1]], *c[2:]))
        f.add_rule(parse_action(action), name, *args)
    return export(f)


def mean_path(flt: Filter, *, arch: str = "x86_64", nrs=range(0, 460)) -> tuple[float, int]:
    """Mean and max instructions executed over syscall numbers ``nrs`` (args all zero)."""
    import numpy as np

    from lwnlab.seccomp.data import SeccompData, batch_words
    from lwnlab.seccomp.filter import Stack

    items = [SeccompData.make(arch, int(n)) for n in nrs]
    _, _, steps = Stack([flt], cache=False).run_batch(batch_words(items))
    return float(np.mean(steps)), int(np.max(steps))
