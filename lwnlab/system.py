"""What this machine's kernel lets lwnlab do: raw syscalls through ctypes and probes.

The seccomp and bpf syscalls have no wrappers in glibc, so lwnlab calls them
by number.  The live-kernel oracles of the seccomp lab build on these; ``lwnlab
info`` reports the probes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import platform
import struct
from dataclasses import dataclass

#: syscall numbers of seccomp(2) and bpf(2) per machine (uname -m)
SYSCALL_NUMBERS: dict[str, dict[str, int]] = {
    "x86_64": {"seccomp": 317, "bpf": 321, "prctl": 157},
    "aarch64": {"seccomp": 277, "bpf": 280, "prctl": 167},
    "riscv64": {"seccomp": 277, "bpf": 280, "prctl": 167},
    "i686": {"seccomp": 354, "bpf": 357, "prctl": 172},
    "i386": {"seccomp": 354, "bpf": 357, "prctl": 172},
}

PR_GET_SECCOMP = 21
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_GET_ACTION_AVAIL = 2
SECCOMP_RET_KILL_PROCESS = 0x80000000
BPF_PROG_LOAD = 5
BPF_PROG_TYPE_SOCKET_FILTER = 1

_libc = None


def libc():
    """The C library, loaded once, with errno captured."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        _libc.syscall.restype = ctypes.c_long
    return _libc


def syscall_number(name: str) -> int | None:
    return SYSCALL_NUMBERS.get(platform.machine(), {}).get(name)


def raw_syscall(name: str, *args) -> tuple[int, int]:
    """Call syscall ``name`` with integer/pointer args; return (result, errno)."""
    nr = syscall_number(name)
    if nr is None:
        return -1, errno.ENOSYS
    cargs = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    res = libc().syscall(ctypes.c_long(nr), *cargs)
    return res, (ctypes.get_errno() if res < 0 else 0)


@dataclass(frozen=True)
class Probe:
    """The answer to "can lwnlab use this kernel feature here?"."""

    usable: bool
    detail: str

    def __str__(self) -> str:
        return ("usable" if self.usable else "not usable") + f" ({self.detail})"


def probe_seccomp() -> Probe:
    """Is seccomp filter mode available (without installing anything in this process)?"""
    if platform.system() != "Linux":
        return Probe(False, f"{platform.system()} has no seccomp")
    if syscall_number("seccomp") is None:
        return Probe(False, f"lwnlab does not know the seccomp syscall number on {platform.machine()}")
    mode, err = raw_syscall("prctl", PR_GET_SECCOMP, 0, 0, 0, 0)
    if mode < 0:
        return Probe(False, f"prctl(PR_GET_SECCOMP) failed: {os.strerror(err)}")
    if mode == 2:
        note = "this process already runs under a seccomp filter; "
    else:
        note = ""
    action = ctypes.c_uint32(SECCOMP_RET_KILL_PROCESS)
    res, err = raw_syscall("seccomp", SECCOMP_GET_ACTION_AVAIL, 0, ctypes.byref(action))
    if res < 0:
        return Probe(False, note + f"seccomp(SECCOMP_GET_ACTION_AVAIL) failed: {os.strerror(err)}")
    who = "root" if os.geteuid() == 0 else "unprivileged, with no_new_privs"
    return Probe(True, note + f"filter mode, {who}")


def probe_bpf() -> Probe:
    """Can this process load and run an eBPF socket-filter program (for BPF_PROG_TEST_RUN)?"""
    if platform.system() != "Linux":
        return Probe(False, f"{platform.system()} has no bpf()")
    if syscall_number("bpf") is None:
        return Probe(False, f"lwnlab does not know the bpf syscall number on {platform.machine()}")
    # r0 = 0; exit
    insns = struct.pack("<BBhi", 0xB7, 0, 0, 0) + struct.pack("<BBhi", 0x95, 0, 0, 0)
    insn_buf = ctypes.create_string_buffer(insns, len(insns))
    license_buf = ctypes.create_string_buffer(b"GPL")
    attr = ctypes.create_string_buffer(128)
    struct.pack_into(
        "<IIQQ", attr, 0, BPF_PROG_TYPE_SOCKET_FILTER, 2, ctypes.addressof(insn_buf), ctypes.addressof(license_buf)
    )
    fd, err = raw_syscall("bpf", BPF_PROG_LOAD, attr, 128)
    if fd >= 0:
        os.close(fd)
        return Probe(True, "BPF_PROG_LOAD of a socket filter works")
    hint = ""
    try:
        with open("/proc/sys/kernel/unprivileged_bpf_disabled") as f:
            hint = f"; kernel.unprivileged_bpf_disabled={f.read().strip()}"
    except OSError:
        pass
    return Probe(False, f"BPF_PROG_LOAD failed: {os.strerror(err)}{hint}")


def libseccomp_version() -> str | None:
    """The version of the libseccomp shared library, or None when it is not installed."""
    name = ctypes.util.find_library("seccomp")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None

    class _Ver(ctypes.Structure):
        _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint)]

    try:
        lib.seccomp_version.restype = ctypes.POINTER(_Ver)
        v = lib.seccomp_version().contents
    except (AttributeError, ValueError):
        return "unknown"
    return f"{v.major}.{v.minor}.{v.micro}"


def clang_bpf() -> str | None:
    """``clang --version``'s first line when clang is installed (Debian's clang targets BPF), else None."""
    import shutil
    import subprocess

    exe = shutil.which("clang")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.splitlines()[0] if out else exe
