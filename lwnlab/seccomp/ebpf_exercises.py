"""Self-checks for Lab 3 part 2 (eBPF seccomp filters, proposed in 2021 and never merged).

Each check loads the learner's answer through lwnlab's verifier and runs it on lwnlab's eBPF
machine over traces; nothing is compared with a stored answer.  Each returns a
:class:`lwnlab.ui.Check`.
"""

from __future__ import annotations

from lwnlab.bpf.helpers import Gates, Privileges
from lwnlab.errors import LwnlabError
from lwnlab.ui import Check

ALLOW, EPERM_RET = 0x7FFF0000, 0x00050001

#: capability names a learner may use in exercise 3
CAPS = ("CAP_BPF", "CAP_PERFMON", "CAP_SYS_PTRACE", "CAP_SYS_ADMIN")

GETPID_BUDGET_START = """\
; allow each process at most 3 getpid() calls, then ERRNO(EPERM); allow everything else
.map 1 calls hash key_size=4 value_size=8 max_entries=1024
    ldxw %r6, [%r1+0]              ; nr
    jne %r6, 39, allow             ; not getpid
    ; your instructions: key = the pid (bpf_get_current_pid_tgid() >> 32), look it up, count, compare
allow:
    mov32 %r0, 0x7fff0000
    exit
"""


def _load(text: str, privileges: Privileges | None = None, gates: Gates | None = None):
    from lwnlab.seccomp.ebpf import EbpfFilter

    return EbpfFilter.from_asm(text, privileges=privileges or Privileges(), gates=gates or Gates())


def _fail_load(e: LwnlabError) -> Check:
    return Check(False, f"the verifier (or the loader) refuses it: {e.describe()}")


def check_null_check(text: str) -> Check:
    """Exercise 1: make the counting filter pass the verifier (unprivileged) and still count."""
    from lwnlab.seccomp.trace import event

    try:
        f = _load(text)
    except LwnlabError as e:
        return _fail_load(e)
    names = ["getpid", "getpid", "read", "getpid", "write", "read"]
    try:
        decs = f.trace([event(n) for n in names])
    except LwnlabError as e:
        return Check(False, f"it loads, but running it fails: {e.describe()}")
    if any(d.ret != ALLOW for d in decs):
        bad = next(i for i, d in enumerate(decs) if d.ret != ALLOW)
        return Check(False, f"syscall #{bad} ({names[bad]}) got {decs[bad].action}: the filter should allow everything")
    counts = next((m for m in f.maps.values() if m.name == "counts"), None)
    if counts is None:
        return Check(False, "keep the map called 'counts'")
    got = {k: v for k, v in counts.as_dict(nonzero=True).items()}
    want = {39: 3, 0: 2, 1: 1}
    if got != want:
        return Check(False, f"after getpid x3, read x2, write x1 the map holds {got}; expected {want}")
    return Check(True, "the verifier accepts it, and the map counts getpid 3, read 2, write 1")


def check_getpid_budget(text: str) -> Check:
    """Exercise 2: at most 3 getpid() per process (by pid), then EPERM; everything else allowed."""
    from lwnlab.seccomp.trace import event

    try:
        f = _load(text)
    except LwnlabError as e:
        return _fail_load(e)
    plan = []
    for pid in (100, 200):
        for _ in range(5):
            plan.append(("getpid", pid))
        plan.append(("read", pid))
    plan.append(("getpid", 300))
    # interleave the two processes, as a scheduler would
    a, b = [p for p in plan if p[1] == 100], [p for p in plan if p[1] != 100]
    order = [x for pair in zip(a, b) for x in pair] + a[len(b):] + b[len(a):]
    try:
        decs = f.trace([event(n, pid=pid, tid=pid) for n, pid in order])
    except LwnlabError as e:
        return Check(False, f"it loads, but running it fails: {e.describe()}")
    seen: dict[int, int] = {}
    for (name, pid), d in zip(order, decs):
        if name == "getpid":
            seen[pid] = seen.get(pid, 0) + 1
            want = ALLOW if seen[pid] <= 3 else EPERM_RET
        else:
            want = ALLOW
        if d.ret != want:
            return Check(False, f"{name}() number {seen.get(pid, 0)} of pid {pid} got {d.action}"
                                f"({d.data}); expected {'ALLOW' if want == ALLOW else 'ERRNO(1)'}")
    return Check(True, "each process gets 3 getpid() calls, then EPERM; other syscalls pass")


def _names(answer) -> list:
    """An answer given as a list/set of names, or as one string ("CAP_BPF, CAP_PERFMON"); None is none."""
    if answer is None:
        return []
    if isinstance(answer, str):
        return [w for w in answer.replace(",", " ").split() if w]
    try:
        return list(answer)
    except TypeError:
        return [answer]


def check_minimum_caps(caps) -> Check:
    """Exercise 3: the smallest set of capabilities with which ``deny_openat_path`` loads (no gates)."""
    from lwnlab.seccomp import ebpf_examples as E

    caps = {str(c).upper() for c in _names(caps)}
    caps = {c if c.startswith("CAP_") else "CAP_" + c for c in caps}  # "bpf" and "CAP_BPF" alike
    unknown = caps - set(CAPS)
    if unknown:
        return Check(False, f"unknown capabilities {sorted(unknown)}; choose from {list(CAPS)}")

    def loads(cs) -> bool:
        p = Privileges(cap_bpf="CAP_BPF" in cs, cap_perfmon="CAP_PERFMON" in cs,
                       cap_sys_ptrace="CAP_SYS_PTRACE" in cs, cap_sys_admin="CAP_SYS_ADMIN" in cs)
        try:
            E.load("deny_openat_path", privileges=p)
            return True
        except LwnlabError:
            return False

    if not loads(caps):
        return Check(False, f"with {sorted(caps) or 'no capabilities'} the filter does not load")
    for c in sorted(caps):
        if loads(caps - {c}):
            return Check(False, f"it loads, but {c} is not needed: drop it")
    if "CAP_SYS_ADMIN" in caps:
        return Check(False, "CAP_SYS_ADMIN works (it implies the others) but is far broader than needed; "
                            "find a set without it")
    return Check(True, f"{sorted(caps)}: the proposal gates bpf_probe_read_user_str behind these, "
                       "as the kernel's tracing helpers are")


def check_lsm_prediction(names) -> Check:
    """Exercise 4: which example policies still load, even as root, when the LSM hook allows only almost-cBPF?"""
    from lwnlab.seccomp import ebpf_examples as E

    names = {str(n) for n in _names(names)}
    unknown = names - set(E.EXAMPLES)
    if unknown:
        return Check(False, f"unknown examples {sorted(unknown)}; choose from {list(E.EXAMPLES)}")
    actual = set()
    for n in E.EXAMPLES:
        try:
            E.load(n, privileges=Privileges.root(), gates=Gates(lsm_restrict=True))
            actual.add(n)
        except LwnlabError:
            pass
    if names != actual:
        return Check(False, f"not quite: {len(actual)} of {len(E.EXAMPLES)} load; look at which helpers and maps each uses")
    return Check(True, f"{sorted(actual) or 'none of them'}: with the hook on, filters keep only what classic BPF "
                       "could do (context loads, ALU, jumps, the stack), so every stateful policy is refused")


# --------------------------------------------------------------------------- one answer each (the notebook's solutions)

NULL_CHECK_SOLUTION = """\
.map 1 counts array key_size=4 value_size=8 max_entries=512
    ldxw %r2, [%r1+0]              ; nr
    stxw [%r10-4], %r2             ; key = nr
    lddw %r1, map_fd(1)
    mov %r2, %r10
    add %r2, -4
    call 1                         ; r0 = bpf_map_lookup_elem(&counts, &nr)
    jeq %r0, 0, out                ; the NULL check: past it, r0 is a map value pointer
    mov %r1, 1
    lock add [%r0+0], %r1
out:
    mov32 %r0, 0x7fff0000
    exit
"""

GETPID_BUDGET_SOLUTION = """\
.map 1 calls hash key_size=4 value_size=8 max_entries=1024
    ldxw %r6, [%r1+0]              ; nr
    jne %r6, 39, allow             ; not getpid
    call 14                        ; bpf_get_current_pid_tgid()
    rsh %r0, 32                    ; the tgid: the process
    stxw [%r10-4], %r0             ; key
    lddw %r1, map_fd(1)
    mov %r2, %r10
    add %r2, -4
    call 1                         ; lookup
    jne %r0, 0, seen
    stdw [%r10-16], 1              ; first call: insert 1
    lddw %r1, map_fd(1)
    mov %r2, %r10
    add %r2, -4
    mov %r3, %r10
    add %r3, -16
    mov %r4, 0                     ; BPF_ANY
    call 2                         ; update
    ja allow
seen:
    ldxdw %r1, [%r0+0]
    add %r1, 1
    stxdw [%r0+0], %r1
    jle %r1, 3, allow
    mov32 %r0, 0x00050001          ; ERRNO(EPERM)
    exit
allow:
    mov32 %r0, 0x7fff0000
    exit
"""
