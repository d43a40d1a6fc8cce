"""Filters built by libseccomp load directly; a container-style policy judges a recorded syscall trace."""

import errno

import pytest

from lwnlab.seccomp import libseccomp as L
from lwnlab.seccomp.data import SeccompData
from lwnlab.seccomp.filter import Filter, Stack
from lwnlab.seccomp.trace import RECORDED_LABEL, recorded_trace

sc = pytest.importorskip("pyseccomp", reason="pyseccomp/libseccomp not installed")


def test_reference_sheet_example():
    f = sc.SyscallFilter(sc.KILL)
    for n in ("read", "write", "exit", "exit_group"):
        f.add_rule(sc.ALLOW, n)
    f.add_rule(sc.ERRNO(1), "openat", sc.Arg(2, sc.MASKED_EQ, 3, 1))
    raw = L.export(f)
    flt = Filter.prepare(raw)
    assert len(flt) == 19 and len(raw) == 152
    s = Stack([flt])
    dec = lambda name, *a, arch="x86_64": s.decide(SeccompData.make(arch, name, a))  # noqa: E731
    assert dec("read").action == "ALLOW"
    assert (dec("openat", 0, 0, 1).action, dec("openat", 0, 0, 1).data) == ("ERRNO", 1)
    assert dec("openat", 0, 0, 2).action == "KILL_THREAD"
    assert dec("openat", 0, 0, 1 | (1 << 32)).action == "ERRNO"  # mask 3: the high half is masked to 0
    assert dec("execve").action == "KILL_THREAD"
    assert dec("read", arch="i386").action == "KILL_THREAD"  # wrong arch
    assert dec("read", arch="x32").action == "KILL_THREAD"  # the x32 guard
    assert s.decide(SeccompData(-1 & 0xFFFFFFFF, 0xC000003E)).action == "KILL_THREAD"


def test_container_policy_and_recorded_trace():
    lin = L.container_policy()
    tree = L.container_policy(tree=True)
    assert 900 < lin.instructions < 1100 and tree.instructions > lin.instructions
    mlin, _ = L.mean_path(lin.filter)
    mtree, maxtree = L.mean_path(tree.filter)
    assert mlin > 10 * mtree and maxtree < 40
    trace = recorded_trace()
    assert "recorded" in RECORDED_LABEL and len(trace) > 300
    for pol in (lin, tree):
        decs = Stack([pol.filter]).trace(trace)
        assert all(d.action == "ALLOW" for d in decs)  # ls runs fine in a container
        ref = Stack([pol.filter], cache=False).trace(trace)
        assert [d.ret for d in ref] == [d.ret for d in decs]
    # what the policy refuses
    s = Stack([lin.filter])
    for name, args, want in [("mount", (), errno.EPERM), ("kexec_load", (), errno.EPERM),
                             ("clone3", (), errno.ENOSYS), ("personality", (0x1234,), errno.EPERM),
                             ("socket", (40,), errno.EPERM)]:
        d = s.decide(SeccompData.make("x86_64", name, args))
        assert (d.action, d.data) == ("ERRNO", want), name
    assert s.decide(SeccompData.make("x86_64", "personality", (8,))).action == "ALLOW"
    assert s.decide(SeccompData.make("x86_64", "socket", (2,))).action == "ALLOW"
    assert s.decide(SeccompData.make("i386", "socketcall")).action == "ALLOW"
    # the converted eBPF agrees with the engine on the whole trace sample
    for d in trace[::37]:
        assert s.decide(d, use_cache=False).ret == lin.filter.run_ebpf(d)


def test_big_endian_export_loads():
    f = sc.SyscallFilter(sc.KILL)
    f.remove_arch(sc.Arch.NATIVE)
    f.add_arch(sc.Arch.S390X)
    f.add_rule(sc.ALLOW, "read")
    f.add_rule(sc.ERRNO(1), "openat", sc.Arg(2, sc.MASKED_EQ, 3, 1))
    flt = Filter.prepare(L.export(f))
    assert flt.big_endian
    s = Stack([flt])
    assert s.decide(SeccompData.make("s390x", "openat", (0, 0, 1))).data == 1
    assert s.decide(SeccompData.make("s390x", "openat", (0, 0, 1 | (1 << 32)))).action == "ERRNO"
    assert s.decide(SeccompData.make("s390x", "openat", (0, 0, 2))).action == "KILL_THREAD"


def test_build_helper():
    raw = L.build("KILL", [("ALLOW", "read", []), ("ERRNO(5)", "write", [(0, "==", 2)])])
    s = Stack([Filter.prepare(raw)])
    assert s.decide(SeccompData.make("x86_64", "write", (2,))).data == 5
    assert s.decide(SeccompData.make("x86_64", "write", (1,))).action == "KILL_THREAD"


def test_cli_on_a_libseccomp_export(tmp_path, capsys):
    import json

    from lwnlab.cli import main

    p = tmp_path / "docker.bpf"
    p.write_bytes(L.container_policy().raw)
    assert main(["seccomp", "check", str(p), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accepted"]
    assert main(["seccomp", "run", str(p), "--syscall", "mount", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["action"], out["data"], out["filter"]) == ("ERRNO", errno.EPERM, 0)
    assert main(["seccomp", "disasm", str(p)]) == 0
    text = capsys.readouterr().out
    assert "AUDIT_ARCH_X86_64" in text and "AUDIT_ARCH_I386" in text  # the arch is known after the ja
    assert "x32:read" in text  # libseccomp lists x32 numbers in the x86_64 block
