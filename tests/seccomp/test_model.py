"""seccomp semantics: actions and precedence, seccomp_data layouts, syscall tables, stacks and the cache."""

import struct

import numpy as np
import pytest

from lwnlab.bpf.classic import CInsn, encode
from lwnlab.errors import FilterError, UsageError
from lwnlab.seccomp import actions, syscalls
from lwnlab.seccomp.data import SeccompData, arg_offset, describe_offset
from lwnlab.seccomp.filter import Filter, Stack

A = actions


def test_action_values_and_order():
    order = list(A.ACTIONS.values())
    assert order == [0x80000000, 0, 0x30000, 0x50000, 0x7FC00000, 0x7FF00000, 0x7FFC0000, 0x7FFF0000]
    keys = [A.action_only(v) for v in order]
    assert keys == sorted(keys)


def test_precedence_lowest_wins_ties_to_newest():
    assert A.precedence([0x50001, 0x50002]) == (0x50002, 1)
    assert A.precedence([0x50002, 0x50001]) == (0x50001, 1)
    assert A.precedence([0x30001, 0x50002]) == (0x30001, 0)
    assert A.precedence([0x7FFF0000, 0x7FFF0001]) == (0x7FFF0000, -1)  # nothing beats ALLOW: no match
    assert A.precedence([0x80000000, 0]) == (0x80000000, 0)
    assert A.precedence([0x10000, 0x50000]) == (0x10000, 0)  # undefined action ranks by value


def test_effects():
    assert A.effect(0x50000 | 5000).errno == 4095
    e = A.effect(0x50000)
    assert e.errno == 0 and not e.runs
    assert A.effect(0x7FF00000).errno == 38 and A.effect(0x7FC00000).errno == 38
    assert A.effect(0x7FF00000, tracer=True).runs
    assert A.effect(0x30005).signal == 31 and A.effect(0x30005).data == 5
    assert A.effect(0x10000).killed == "process" and A.effect(0).killed == "process"
    assert A.effect(0, single_thread=False).killed == "thread"
    assert A.effect(0x7FFC0000).logged and A.effect(0x7FFC0000).runs


@pytest.mark.parametrize("text,value", [("ALLOW", 0x7FFF0000), ("ERRNO(13)", 0x5000D), ("SCMP_ACT_TRAP", 0x30000),
                                        ("kill", 0), ("trace(0x10)", 0x7FF00010), ("0x7ffc0000", 0x7FFC0000),
                                        ("USER_NOTIF", 0x7FC00000), ("KILL_PROCESS", 0x80000000)])
def test_parse_action(text, value):
    assert A.parse_action(text) == value
    assert A.parse_action(A.format_action(value)) == value


@pytest.mark.parametrize("bad", ["FROB", "ERRNO(70000)", "ERRNO(x)", "0x100000000"])
def test_parse_action_errors(bad):
    with pytest.raises(UsageError):
        A.parse_action(bad)


def test_seccomp_data_layout_little_and_big_endian():
    d = SeccompData(257, 0xC000003E, 0x1122334455667788, (0xAABBCCDD00112233, 5))
    raw = d.to_bytes()
    assert len(raw) == 64
    assert struct.unpack_from("<iIQ", raw) == (257, 0xC000003E, 0x1122334455667788)
    w = d.words()
    assert w[4] == 0x00112233 and w[5] == 0xAABBCCDD  # ld [16] low half, ld [20] high half
    assert np.array_equal(np.frombuffer(raw, "<u4"), w)
    be = SeccompData(3, 0x80000016, 0, (0xAABBCCDD00112233,), big_endian=True)
    wb = be.words()
    assert wb[4] == 0xAABBCCDD and wb[5] == 0x00112233
    assert np.array_equal(np.frombuffer(be.to_bytes(), ">u4"), wb)
    assert arg_offset(0, False, True) == 20 and arg_offset(0, True, False) == 20
    assert describe_offset(20) == "args[0].hi" and describe_offset(20, True) == "args[0]"


def test_seccomp_data_validation():
    with pytest.raises(UsageError, match="args"):
        SeccompData(0, 0, 0, (0,) * 7)
    with pytest.raises(UsageError):
        SeccompData(1 << 33, 0)
    assert SeccompData(-1, 0).nr_signed == -1


def test_audit_arch_values_match_libseccomp():
    import pyseccomp as sc

    for token, name in [("X86_64", "x86_64"), ("X86", "i386"), ("AARCH64", "aarch64"), ("ARM", "arm"),
                        ("RISCV64", "riscv64"), ("PPC64LE", "ppc64le"), ("PPC64", "ppc64"), ("PPC", "ppc"),
                        ("S390X", "s390x"), ("S390", "s390"), ("MIPS", "mips"), ("MIPSEL", "mipsel"),
                        ("MIPS64", "mips64"), ("MIPSEL64", "mipsel64"), ("MIPS64N32", "mips64n32"),
                        ("MIPSEL64N32", "mipsel64n32"), ("PARISC", "parisc"), ("PARISC64", "parisc64")]:
        assert getattr(sc.Arch, token) == syscalls.ARCHES[name].audit_arch, name
    assert syscalls.ARCHES["x32"].audit_arch == syscalls.ARCHES["x86_64"].audit_arch  # the x32 hole
    assert syscalls.ARCHES["loongarch64"].audit_arch == 0xC0000102
    big = {a.name for a in syscalls.ARCHES.values() if a.big_endian}
    assert big >= {"s390x", "ppc64", "mips", "mips64", "parisc", "m68k", "sheb"}
    assert len(syscalls.ARCHES) >= 23


@pytest.mark.parametrize("arch,name,nr", [("x86_64", "execve", 59), ("x86_64", "openat", 257), ("i386", "socketcall", 102),
                                          ("x32", "read", 0x40000000), ("aarch64", "openat", 56),
                                          ("riscv64", "openat", 56), ("mips", "read", 4003), ("s390x", "read", 3),
                                          ("x86_64", "mseal", 462), ("arm", "openat", 322), ("i386", "socket", 359),
                                          ("i386", "shmget", 395), ("x32", "uretprobe", 0x4000014F),
                                          ("s390x", "socket", 359), ("ppc64le", "socket", 326), ("mips", "socket", 4183)])
def test_syscall_tables(arch, name, nr):
    assert syscalls.syscall_nr(arch, name) == nr
    assert syscalls.syscall_name(arch, nr) == name


def test_unknown_names_suggest():
    with pytest.raises(UsageError, match="did you mean openat"):
        syscalls.syscall_nr("x86_64", "openatt")
    with pytest.raises(UsageError, match="unknown architecture"):
        syscalls.get_arch("vax")
    assert syscalls.syscall_nr("x86_64", "-1") == -1 and syscalls.syscall_nr("aarch64", "0x10") == 16


def _f(*prog):
    return Filter.prepare(list(prog))


def test_stack_decides_with_precedence_and_reports_filter():
    f1 = _f(CInsn(0x06, 0, 0, 0x50001))
    f2 = _f(CInsn(0x06, 0, 0, 0x50002))
    d = SeccompData.make("x86_64", "read")
    dec = Stack([f1, f2]).decide(d)
    assert (dec.action, dec.data, dec.filter) == ("ERRNO", 2, 1)
    assert dec.to_json()["ret"] == "0x00050002"


def test_total_length_limit():
    big = [CInsn(0x20, 0, 0, 0)] * 4095 + [CInsn(0x06, 0, 0, 0x7FFF0000)]
    f = Filter.prepare(big)
    assert f.converted_length == 3 + 4095 + 2
    s = Stack([])
    for _ in range(7):
        s.attach(f)
    assert s.total_length() == 7 * 4100 + 7 * 4 - 4 + 4  # lengths plus 4 per attached filter
    with pytest.raises(FilterError, match="ENOMEM"):
        s.attach(f)


def test_action_cache():
    # allow everything but getpid (39); a filter that reads args is never constant
    f = _f(CInsn(0x20, 0, 0, 0), CInsn(0x15, 0, 1, 39), CInsn(0x06, 0, 0, 0x50001), CInsn(0x06, 0, 0, 0x7FFF0000))
    s = Stack([f])
    bm = s.allow_bitmap("x86_64")
    assert bm[0] == 1 and bm[39] == 0
    assert s.decide(SeccompData.make("x86_64", "read")).cached
    assert not s.decide(SeccompData.make("x86_64", "getpid")).cached
    g = _f(CInsn(0x20, 0, 0, 16), CInsn(0x06, 0, 0, 0x7FFF0000))
    assert Stack([g]).allow_bitmap("x86_64").sum() == 2  # only the uretprobe/uprobe exemptions
    # the exemption: uretprobe is allowed by the cache whatever the filter says
    kill = _f(CInsn(0x06, 0, 0, 0))
    assert Stack([kill]).decide(SeccompData.make("x86_64", 335)).action == "ALLOW"
    assert Stack([kill], cache=False).decide(SeccompData.make("x86_64", 335)).action == "KILL_THREAD"
    # the compat arch has its own bitmap; x32 numbers are never cached
    assert s.decide(SeccompData.make("i386", "read")).cached
    assert not s.decide(SeccompData.make("x32", "read")).cached


def test_batch_shape_errors():
    s = Stack([_f(CInsn(0x06, 0, 0, 0x7FFF0000))])
    with pytest.raises(UsageError, match="shape"):
        s.run_batch(np.zeros((3, 15), np.uint32))
    with pytest.raises(UsageError):
        Stack([]).run_batch(np.zeros((1, 16), np.uint32))


def test_filter_from_file_errors(tmp_path):
    p = tmp_path / "f.bpf"
    p.write_bytes(encode([CInsn(0x20, 0, 0, 2), CInsn(0x06)]))
    with pytest.raises(FilterError) as ei:
        Filter.from_file(str(p))
    assert ei.value.pc == 0 and "f.bpf" in ei.value.describe()
    p.write_bytes(bytes(10))
    with pytest.raises(FilterError, match="multiple of 8"):
        Filter.from_file(str(p))
