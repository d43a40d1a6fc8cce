"""Self-checks for the seccomp lab's exercises; each returns a :class:`lwnlab.ui.Check`.

The checks run the learner's answer through lwnlab's model of the kernel (and
through the eBPF conversion), never against a hard-coded string.
"""

from __future__ import annotations

from lwnlab.errors import LwnlabError
from lwnlab.ui import Check

O_RDONLY, O_WRONLY, O_RDWR = 0, 1, 2
O_CREAT, O_TRUNC, O_APPEND, O_CLOEXEC = 0o100, 0o1000, 0o2000, 0o2000000
AT_FDCWD = 0xFFFFFFFFFFFFFF9C


def _decide(text: str, syscall, args=(), arch: str = "x86_64"):
    from lwnlab.seccomp.data import SeccompData
    from lwnlab.seccomp.filter import Filter, Stack

    f = Filter.from_asm(text, arch="x86_64")  # names in the filter are x86_64's, whatever the caller's ABI
    d = SeccompData.make(arch, syscall, args)
    dec = Stack([f], cache=False).decide(d)
    assert f.run_ebpf(d) == dec.ret  # the converted program agrees
    return dec


def check_block_openat_wronly(text: str) -> Check:
    """Exercise 1: refuse openat() with EACCES when it opens write-only, allow everything else."""
    try:
        cases = []
        for flags in (O_WRONLY, O_WRONLY | O_CREAT | O_TRUNC, O_WRONLY | O_APPEND | O_CLOEXEC,
                      O_WRONLY | (1 << 40)):
            cases.append(("openat", (AT_FDCWD, 0x1000, flags, 0o644), "ERRNO", 13))
        for flags in (O_RDONLY, O_RDWR, O_RDONLY | O_CLOEXEC, O_RDWR | O_CREAT, 3):
            cases.append(("openat", (AT_FDCWD, 0x1000, flags, 0), "ALLOW", None))
        for name in ("read", "write", "close", "open", "mmap", "exit_group"):
            cases.append((name, (1, 2, 1, 0), "ALLOW", None))
        for name, args, want, data in cases:
            dec = _decide(text, name, args)
            if dec.action != want or (data is not None and dec.data != data):
                flags = args[2] if name == "openat" else None
                what = f"openat with flags {flags:#o}" if flags is not None else f"{name}()"
                return Check(False, f"{what} gets {dec.action}({dec.data}); expected {want}"
                             + (f"({data})" if data is not None else ""))
        return Check(True, f"all {len(cases)} cases right: write-only opens get EACCES, the rest run")
    except LwnlabError as e:
        return Check(False, f"the filter does not assemble or the kernel would refuse it: {e.describe()}")


#: the filter of exercise 2: it checks the architecture and blocks execve and execveat by number
X32_HOLE_FILTER = """\
    ld arch
    jeq #AUDIT_ARCH_X86_64, 1, 0
    ret KILL_PROCESS
    ld nr
    jeq #execve, 1, 0
    jeq #execveat, 0, 1
    ret ERRNO(1)
    ret ALLOW
"""


def check_x32_hole(abi: str, nr: int) -> Check:
    """Exercise 2: name an ABI and a syscall number that runs execve() although X32_HOLE_FILTER
    blocks execve (hint: the kernel reports the x32 ABI with the x86_64 AUDIT_ARCH)."""
    from lwnlab.seccomp import syscalls
    from lwnlab.seccomp.data import SeccompData
    from lwnlab.seccomp.filter import Filter, Stack

    try:
        arch = syscalls.get_arch(abi)
        d = SeccompData.make(arch, nr if isinstance(nr, str) else int(nr))  # a number, "0x4000...", or a name
    except (LwnlabError, ValueError, TypeError) as e:
        return Check(False, str(getattr(e, "message", e)))
    nr = d.nr & 0xFFFFFFFF
    name = syscalls.syscall_name(arch, d.nr_signed)
    if name not in ("execve", "execveat"):
        return Check(False, f"nr {nr:#x} on {arch.name} is {name or 'no syscall'}, not execve")
    dec = Stack([Filter.from_asm(X32_HOLE_FILTER)], cache=False).decide(d)
    if dec.action != "ALLOW":
        return Check(False, f"{arch.name} {name} ({nr:#x}) is stopped: {dec.action}")
    return Check(True, f"{arch.name} {name} = {nr:#x} passes: arch is {arch.audit_name} and nr has "
                 "__X32_SYSCALL_BIT, so the filter's jeq on execve's x86_64 number never matches. "
                 "libseccomp adds 'jge #0x40000000' for this.")


def check_x32_fix(text: str) -> Check:
    """Exercise 2b: fix X32_HOLE_FILTER so that no ABI can run execve/execveat, and x86_64 still works."""
    from lwnlab.seccomp import syscalls

    try:
        for abi in ("x86_64", "x32"):
            for name in ("execve", "execveat"):
                dec = _decide(text, name, arch=abi)
                if dec.action == "ALLOW":
                    return Check(False, f"{abi} {name} (nr {syscalls.syscall_nr(abi, name):#x}) is still allowed")
        for name in ("read", "write", "openat"):
            dec = _decide(text, name)
            if dec.action != "ALLOW":
                return Check(False, f"x86_64 {name} gets {dec.action}: the fix is too broad")
        return Check(True, "execve is blocked on x86_64 and on x32, and ordinary x86_64 syscalls run")
    except LwnlabError as e:
        return Check(False, e.describe())


def check_precedence(answer: str, filter_index: int) -> Check:
    """Exercise 3: with the stack lab's two default filters, what does write() get, and from which
    filter (0 = older, 1 = newer, -1 = none)?"""
    from lwnlab.seccomp.actions import format_action, parse_action
    from lwnlab.seccomp.data import SeccompData
    from lwnlab.seccomp.filter import Filter, Stack
    from lwnlab.seccomp.widgets import NEWER, OLDER

    try:
        want = parse_action(answer)
        filter_index = int(str(filter_index), 0)  # 1 or "1"
    except LwnlabError as e:
        return Check(False, e.message)
    except ValueError:
        return Check(False, f"the filter is a number (0 = older, 1 = newer, -1 = none), not {filter_index!r}")
    stack = Stack([Filter.from_asm(OLDER), Filter.from_asm(NEWER)], cache=False)
    dec = stack.decide(SeccompData.make("x86_64", "write"))
    if want != dec.ret:
        return Check(False, f"{format_action(want)} is not it; remember: lowest action wins, over every filter")
    if filter_index != dec.filter:
        return Check(False, f"right action, wrong filter: {filter_index} (is the older filter's ALLOW "
                     "'lower' than LOG?)")
    return Check(True, f"{format_action(dec.ret)} from filter {dec.filter}: LOG (0x7ffc0000) is lower than "
                 "ALLOW (0x7fff0000), so the newer filter's LOG wins")
