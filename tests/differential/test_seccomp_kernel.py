"""lwnlab vs the live kernel on classic seccomp filters: accept/reject, and what happens to the syscall.

Each example installs random filters (1-3, stacked) in a forked child and makes a harmless syscall
(the getpid family, or a number no syscall has) with random arguments. lwnlab must predict the
kernel's answer exactly: refused or not, and killed / trapped with si_errno / errno / ran.

Scale with LWNLAB_DIFF_EXAMPLES (default 150 filters; about 5 ms each).
"""

import errno
import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from lwnlab.bpf import classic, randprog
from lwnlab.seccomp import actions, kernel
from lwnlab.seccomp.data import SeccompData
from lwnlab.seccomp.filter import Filter, Stack

pytestmark = pytest.mark.kernel
EXAMPLES = int(os.environ.get("LWNLAB_DIFF_EXAMPLES", "150"))

ok, why = kernel.available() if os.uname().machine == "x86_64" else (False, "not x86_64")
if not ok:
    pytest.skip(f"the live-kernel seccomp oracle is not usable here: {why}", allow_module_level=True)

SAFE = sorted(kernel.safe_syscalls())
SECCOMP_GUARD = [classic.CInsn(0x20, 0, 0, 0), classic.CInsn(0x15, 0, 1, 317),
                 classic.CInsn(0x06, 0, 0, actions.SECCOMP_RET_ALLOW)]
X86_64 = 0xC000003E


def predict(raws: list[bytes], nr: int, args) -> dict:
    """lwnlab's prediction in the shape kernel.observed_kind returns."""
    stack = Stack([])
    for i, raw in enumerate(raws):
        try:
            f = Filter.prepare(raw, big_endian=False)
        except classic.ClassicRejected:
            return {"kind": "refused", "errno": errno.EINVAL, "at": i}
        stack.attach(f)
    d = SeccompData(nr & 0xFFFFFFFF if nr >= 0 else nr, X86_64, kernel.syscall_ip(), tuple(args))
    dec = stack.decide(d)
    assert stack.decide_reference(d).ret == dec.ret or dec.cached  # the converted eBPF agrees
    return kernel.normalise_expected(kernel.expected_outcome(dec.ret, nr), nr)


def observe(raws, nr, args) -> dict:
    o = kernel.run_seccomp(raws, nr, args)
    got = kernel.observed_kind(o, nr)
    if not o.installed:
        got["at"] = o.install_failed_at
    return got


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data(), st.sampled_from(SAFE), st.lists(st.integers(0, (1 << 64) - 1), min_size=6, max_size=6),
       st.integers(1, 3))
def test_random_filters_agree_with_the_kernel(data, nr, args, nfilters):
    draw = lambda lo, hi: data.draw(st.integers(lo, hi))  # noqa: E731
    progs = [randprog.classic_filter(draw, nr_values=(39, 110, 186, 600, 0xFFFFFFFF, 0x40000027)) for _ in range(nfilters)]
    # Installing filter i is itself a syscall (seccomp, nr 317) that filters 0..i-1 judge: the older
    # filters let it through so that the stack gets built (the test syscalls are never 317).
    raws = [classic.encode((SECCOMP_GUARD if i < nfilters - 1 else []) + p) for i, p in enumerate(progs)]
    want = predict(raws, nr, args)
    got = observe(raws, nr, args)
    assert got == want, f"nr={nr} filters={[r.hex() for r in raws]}"


# ------------------------------------------------------------------ the reference sheet's observations

def _filter(ret, nr=39):
    from lwnlab.bpf.classic import CInsn, encode

    return encode([CInsn(0x20, 0, 0, 0), CInsn(0x15, 0, 1, nr), CInsn(0x06, 0, 0, ret),
                   CInsn(0x06, 0, 0, actions.SECCOMP_RET_ALLOW)])


@pytest.mark.parametrize("rets,expect", [
    ([0x50000 | 13], {"kind": "errno", "errno": 13}),
    ([0x50000 | 5000], {"kind": "errno", "errno": 4095}),
    ([0x50000], {"kind": "returned0"}),
    ([0x30000 | 7], {"kind": "trap", "si_errno": 7}),
    ([0x0], {"kind": "killed", "signal": 31}),
    ([0x80000000], {"kind": "killed", "signal": 31}),
    ([0x10000], {"kind": "killed", "signal": 31}),
    ([0x7FFC0000], {"kind": "ran"}),
    ([0x7FF00000], {"kind": "errno", "errno": 38}),
    ([0x7FC00000], {"kind": "errno", "errno": 38}),
    ([0x50001, 0x50002], {"kind": "errno", "errno": 2}),  # tie: the newest wins
    ([0x50002, 0x50001], {"kind": "errno", "errno": 1}),
    ([0x30001, 0x50002], {"kind": "trap", "si_errno": 1}),
    ([0x7FFC0000, 0x50007], {"kind": "errno", "errno": 7}),
    ([0x7FF00000, 0x50007], {"kind": "errno", "errno": 7}),
])
def test_actions_and_precedence(rets, expect):
    raws = [_filter(r) for r in rets]
    assert observe(raws, 39, [0] * 6) == expect
    assert predict(raws, 39, [0] * 6) == expect


def test_stack_length_limit_matches_the_kernel():
    from lwnlab.bpf.classic import CInsn, encode

    big = encode([CInsn(0x20, 0, 0, 0)] * 4095 + [CInsn(0x06, 0, 0, actions.SECCOMP_RET_ALLOW)])
    o = kernel.run_seccomp([big] * 9, 39)
    assert not o.installed and o.install_errno == errno.ENOMEM and o.install_failed_at == 7
    stack = Stack([])
    for i in range(7):
        stack.attach(Filter.prepare(big))
    with pytest.raises(Exception, match="ENOMEM"):
        stack.attach(Filter.prepare(big))


def test_lwnlab_check_agrees_on_fixed_rejections():
    from lwnlab.bpf.classic import CInsn, encode

    cases = [[CInsn(0x20, 0, 0, 2), CInsn(0x06)], [CInsn(0x20, 0, 0, 64), CInsn(0x06)], [CInsn(0x28), CInsn(0x06)],
             [CInsn(0x94, 0, 0, 3), CInsn(0x06)], [CInsn(0x34, 0, 0, 0), CInsn(0x06)],
             [CInsn(0x64, 0, 0, 32), CInsn(0x06)], [CInsn(0x60), CInsn(0x06)], [CInsn(0x02, 0, 0, 16), CInsn(0x06)],
             [CInsn(0x20)], [CInsn(0x05, 0, 0, 1), CInsn(0x06)], [CInsn(0xB1), CInsn(0x06)],
             [CInsn(0x06)] * 4097, [CInsn(0x20, 0, 0, 60), CInsn(0x06)], [CInsn(0x80), CInsn(0x06)],
             [CInsn(0x06)] * 4096]
    for prog in cases:
        raw = encode(prog)
        acc, err = kernel.seccomp_accepts(raw)
        try:
            classic.validate_seccomp(prog)
            mine = True
        except classic.ClassicRejected:
            mine = False
        assert acc == mine, (prog[:3], err)


def test_dump_filters_from_a_process(tmp_path, capsys):
    """A filter dumped from a running process (PTRACE_SECCOMP_GET_FILTER) loads and disassembles."""
    import ctypes
    import struct
    import time

    from lwnlab import system
    from lwnlab.bpf.classic import CInsn, encode
    from lwnlab.cli import main
    from lwnlab.errors import UnavailableError

    f1 = encode([CInsn(0x20, 0, 0, 0), CInsn(0x15, 0, 1, 39), CInsn(0x06, 0, 0, 0x50001),
                 CInsn(0x06, 0, 0, 0x7FFF0000)])
    f2 = encode([CInsn(0x06, 0, 0, 0x7FFF0000)])
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            libc = system.libc()
            libc.syscall(ctypes.c_long(157), ctypes.c_long(38), ctypes.c_long(1), ctypes.c_long(0),
                         ctypes.c_long(0), ctypes.c_long(0))
            for f in (f1, f2):
                b = ctypes.create_string_buffer(f, len(f))
                fp = ctypes.create_string_buffer(16)
                struct.pack_into("<HxxxxxxQ", fp, 0, len(f) // 8, ctypes.addressof(b))
                libc.syscall(ctypes.c_long(317), ctypes.c_long(1), ctypes.c_long(0), fp)
            os.write(w, b"x")
            time.sleep(10)
        finally:
            os._exit(0)
    try:
        os.read(r, 1)
        try:
            got = kernel.dump_filters(pid)
        except UnavailableError as e:
            pytest.skip(f"PTRACE_SECCOMP_GET_FILTER unavailable: {e}")
        assert got == [f1, f2]
        assert Stack([Filter.prepare(g) for g in got]).decide(SeccompData(39, X86_64)).data == 1
        assert main(["seccomp", "dump", str(pid), "-o", str(tmp_path)]) == 0
        assert (tmp_path / f"{pid}-0.bpf").read_bytes() == f1
        assert main(["seccomp", "dump", str(pid)]) == 0
        assert "jeq #0x27, 0, 1" in capsys.readouterr().out
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def test_the_kernel_knows_exactly_lwnlabs_actions():
    for name, value in actions.ACTIONS.items():
        assert kernel.action_available(value) == (True, 0), name
    for value in (0x00010000, 0x7FFE0000, 0x80010000):
        ok_, err = kernel.action_available(value)
        assert not ok_ and err == errno.EOPNOTSUPP
        assert actions.action_name(value).startswith("UNKNOWN")
