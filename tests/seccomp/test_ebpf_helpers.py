"""The helpers of eBPF seccomp filters (a model of the never-merged 2021 proposal) at run time."""

import numpy as np
import pytest

from lwnlab.bpf.helpers import MAX_TAIL_CALL_CNT, Privileges
from lwnlab.bpf.runtime import SimTask, UserMemory
from lwnlab.errors import ExecutionError
from lwnlab.seccomp.data import SeccompData
from lwnlab.seccomp.ebpf import EbpfFilter

M64 = (1 << 64) - 1
ROOT = Privileges.root()
PERFMON = Privileges(cap_bpf=True, cap_perfmon=True)  # no CAP_SYS_PTRACE


def load(text, privileges=ROOT, **kw):
    return EbpfFilter.from_asm(text, privileges=privileges, verify=False, **kw)


def r0s(f, n=1, tasks=None, nr=39):
    """Full 64-bit r0 of n runs."""
    words = np.zeros((n, 16), np.uint32)
    words[:, 0] = nr
    words[:, 1] = 0xC000003E
    r, _ = f.runtime.run_words(f.program, words, tasks=tasks)
    return [int(x) & M64 for x in r]


def test_pid_tgid_and_uid_gid_from_the_task():
    t = SimTask(pid=1234, tgid=1200, uid=1000, gid=27)
    assert r0s(load("call 14\nexit"), tasks=[t]) == [(1200 << 32) | 1234]
    assert r0s(load("call 15\nexit"), tasks=[t]) == [(27 << 32) | 1000]
    f = load("call 14\nexit")
    f.env.task = SimTask(pid=7, tgid=7)
    assert r0s(f) == [(7 << 32) | 7]


def test_ktime_advances_once_per_syscall_and_is_settable():
    f = load("call 5\nexit")
    f.env.clock.set(5_000)
    f.env.clock.tick_ns = 100
    assert r0s(f, 3) == [5_100, 5_200, 5_300]
    assert f.env.clock.now_ns == 5_300
    assert r0s(f, 1) == [5_400]
    # a program that never reads the clock still moves it
    g = load("mov %r0, 0\nexit")
    g.env.clock.set(0)
    r0s(g, 10)
    assert g.env.clock.now_ns == 10 * g.env.clock.tick_ns


def test_prandom_is_seeded_and_smp_id():
    a, b = load("call 7\nexit"), load("call 7\nexit")
    a.env.reseed(42)
    b.env.reseed(42)
    va, vb = r0s(a, 5), r0s(b, 5)
    assert va == vb and len(set(va)) == 5 and all(v < (1 << 32) for v in va)
    c = load("call 8\nexit")
    c.env.cpu = 3
    assert r0s(c) == [3]


def _buf_after(hid, addr, size, task, privileges=ROOT, fill=-1):
    text = f"""
        stdw [%r10-16], {fill}
        stdw [%r10-8], {fill}
        mov %r1, %r10
        add %r1, -16
        mov %r2, {size}
        lddw %r3, {addr}
        call {hid}
        stxw [%r10-24], %r0
        ldxdw %r0, [%r10-{{off}}]
        exit
    """
    out = []
    ret = None
    for off in (16, 8, 24):
        f = load(text.replace("{off}", str(off)), privileges)
        words = np.zeros((1, 16), np.uint32)
        r, _ = f.runtime.run_words(f.program, words, tasks=[task])
        v = int(r[0]) & M64
        if off == 24:
            ret = v & 0xFFFFFFFF
        else:
            out.append(v.to_bytes(8, "little"))
    ret = ret - (1 << 32) if ret >> 31 else ret
    return ret, b"".join(out)


MEM = UserMemory({0x1000: b"/etc/shadow\0", 0x2000: b"abcdefghijklmnopqrstuvwxyz", 0x3000: b"\0",
                  0x4FFD: b"ab\0", 0x6FF8: b"abcdefgh"})  # the pages at 0x5000 and 0x7000 are not mapped


def test_probe_read_user():
    t = SimTask(memory=MEM)
    ret, buf = _buf_after(112, 0x1000, 12, t)
    assert ret == 0 and buf[:12] == b"/etc/shadow\0" and buf[12:] == b"\xff" * 4
    ret, buf = _buf_after(112, 0x4FFD, 12, t)  # runs into an unmapped page: -EFAULT, dst zero-filled
    assert ret == -14 and buf[:12] == bytes(12) and buf[12:] == b"\xff" * 4
    ret, buf = _buf_after(112, 0x1008, 8, t)  # past the string but in its page: the page's other bytes
    assert ret == 0 and buf[:8] == b"dow\0\0\0\0\0"
    ret, buf = _buf_after(112, 0x9000, 4, t)
    assert ret == -14 and buf[:4] == bytes(4)


def test_probe_read_user_gated_on_dumpable_and_ptrace():
    t = SimTask(memory=MEM, dumpable=False)
    assert _buf_after(112, 0x1000, 8, t, PERFMON)[0] == -1  # -EPERM: not dumpable, no CAP_SYS_PTRACE
    assert _buf_after(112, 0x1000, 8, t, PERFMON)[1][:8] == bytes(8)
    assert _buf_after(112, 0x1000, 8, t, ROOT)[0] == 0  # CAP_SYS_PTRACE may
    assert _buf_after(114, 0x1000, 16, t, PERFMON)[0] == -1


def test_probe_read_user_str():
    t = SimTask(memory=MEM)
    ret, buf = _buf_after(114, 0x1000, 16, t)  # length incl. NUL; the word holding the NUL is stored whole
    assert ret == 12 and buf == b"/etc/shadow\0\0\0\0\0"  # (x86-64's word-at-a-time copy zeroes its tail)
    ret, buf = _buf_after(114, 0x1000, 12, t)  # 4 bytes left after the first word: byte at a time, no padding
    assert ret == 12 and buf[:12] == b"/etc/shadow\0" and buf[12:] == b"\xff" * 4
    ret, buf = _buf_after(114, 0x4FFD, 16, t)  # "ab\0" at the end of a page: the word would fault
    assert ret == 3 and buf == b"ab\0" + b"\xff" * 13
    ret, buf = _buf_after(114, 0x2000, 8, t)  # no NUL within size: cut, NUL-terminated, returns size
    assert ret == 8 and buf[:8] == b"abcdefg\0"
    ret, buf = _buf_after(114, 0x3000, 8, t)  # the empty string: strncpy_from_user_nofault returns 0
    assert ret == 0 and buf[:1] == b"\0"
    ret, buf = _buf_after(114, 0x6FF8, 16, t)  # runs into an unmapped page before a NUL: -EFAULT, zero-filled
    assert ret == -14 and buf == bytes(16)
    assert _buf_after(114, 0x1000, 0, t)[0] == 0  # size 0


def test_task_storage_null_task_is_the_group_leader():
    text = """
        .map 1 st task_storage key_size=4 value_size=8 max_entries=0
        lddw %r1, map_fd(1)
        mov %r2, 0
        mov %r3, 0
        mov %r4, 1
        call 156
        jeq %r0, 0, none
        mov %r1, 1
        lock add [%r0+0], %r1
        ldxdw %r0, [%r0+0]
        exit
    none:
        mov %r0, -1
        exit
    """
    f = load(text)
    t1, t2, other = SimTask(pid=10, tgid=10), SimTask(pid=11, tgid=10), SimTask(pid=20, tgid=20)
    assert r0s(f, 4, tasks=[t1, t2, other, t1]) == [1, 2, 1, 3]
    assert f.maps["st"].as_dict() == {10: 3, 20: 1}
    # without F_CREATE: NULL for a task that has none
    g = load(text.replace("mov %r4, 1", "mov %r4, 0"))
    assert r0s(g, 1, tasks=[t1]) == [M64]
    # delete
    h = load(text.replace("call 156", "call 157").replace("jeq %r0, 0, none", "exit"))
    h.maps["st"].update(10, 5)
    assert r0s(h, 2, tasks=[t1, t1]) == [0, (-2) & M64]  # then -ENOENT


def test_task_storage_with_current_task_pointer_keys_by_thread():
    f = load("""
        .map 1 st task_storage key_size=4 value_size=8 max_entries=0
        call 35
        mov %r2, %r0
        lddw %r1, map_fd(1)
        mov %r3, 0
        mov %r4, 1
        call 156
        exit
    """)
    r0s(f, 1, tasks=[SimTask(pid=11, tgid=10)])
    assert list(f.maps["st"].as_dict()) == [11]


def test_trace_printk_captures_lines():
    text = """
        stdw [%r10-16], 0
        lddw %r1, 0x25203d206469   ; "id = %" little-endian
        stxdw [%r10-16], %r1
        stb [%r10-10], 0x64       ; "d"
        stb [%r10-9], 0
        mov %r1, %r10
        add %r1, -16
        mov %r2, 8
        mov %r3, -5
        call 6
        exit
    """
    f = load(text)
    assert r0s(f) == [len("id = -5")]
    assert f.printk == ["id = -5"]
    g = load(text.replace("stb [%r10-9], 0", "stb [%r10-9], 0x21").replace("mov %r2, 8", "mov %r2, 7"))
    assert r0s(g) == [(-22) & M64] and g.printk == []  # no NUL within fmt_size: -EINVAL


def test_tail_calls():
    f = load("""
        .map 1 jmp prog_array key_size=4 value_size=4 max_entries=4
        mov %r6, %r1
        ldxw %r3, [%r1+16]       ; index = args[0]
        lddw %r2, map_fd(1)
        call 12
        mov32 %r0, 0x7fff0000    ; fall through: ALLOW
        exit
    """)
    f.maps["jmp"].update(1, f.load_program("mov32 %r0, 0x00050007\nexit", name="errno7"))
    assert f.run(SeccompData.make("x86_64", "read", [1])) == 0x00050007
    assert f.run(SeccompData.make("x86_64", "read", [2])) == 0x7FFF0000  # empty slot: falls through
    assert f.run(SeccompData.make("x86_64", "read", [9])) == 0x7FFF0000  # index >= max_entries
    # a program that tail-calls itself: stops after MAX_TAIL_CALL_CNT and falls through
    g = load("""
        .map 1 jmp prog_array key_size=4 value_size=4 max_entries=1
        .map 2 n array key_size=4 value_size=8 max_entries=1
        mov %r6, %r1
        stw [%r10-4], 0
        lddw %r1, map_fd(2)
        mov %r2, %r10
        add %r2, -4
        call 1
        jeq %r0, 0, out
        mov %r1, 1
        lock add [%r0+0], %r1
        mov %r1, %r6
        lddw %r2, map_fd(1)
        mov %r3, 0
        call 12
    out:
        mov %r0, 0
        exit
    """)
    g.maps["jmp"].update(0, g.program)
    g.run(SeccompData.make("x86_64", "read"))
    assert g.maps["n"].as_dict() == {0: MAX_TAIL_CALL_CNT + 1}  # the first run plus 33 tail calls


def test_unknown_helper_at_run_time_names_the_pc():
    from lwnlab.bpf.asm import assemble
    from lwnlab.bpf.runtime import Runtime
    from lwnlab.errors import VerifierError

    with pytest.raises(VerifierError, match="skb_store_bytes#9") as e:  # the load-time gate refuses it
        load("mov %r0, 0\ncall 9\nexit")
    assert e.value.pc == 1
    rt = Runtime()  # the runtime alone (no loader checks) stops at run time, naming the pc
    prog = rt.resolve(assemble("mov %r0, 0\ncall 9\nexit"))
    with pytest.raises(ExecutionError, match="unknown helper function 9 \\((bpf_)?skb_store_bytes\\)") as e:
        rt.run_words(prog, np.zeros((1, 16), np.uint32))
    assert e.value.pc == 1
    prog = rt.resolve(assemble("call 200\nexit"))
    with pytest.raises(ExecutionError, match="unknown helper function 200:") as e:
        rt.run_words(prog, np.zeros((1, 16), np.uint32))
    assert e.value.pc == 0


def test_map_helper_on_task_storage_map_is_an_error_at_run_time():
    f = load("""
        .map 1 st task_storage key_size=4 value_size=8 max_entries=0
        stw [%r10-4], 0
        lddw %r1, map_fd(1)
        mov %r2, %r10
        add %r2, -4
        call 1
        exit
    """)
    with pytest.raises(ExecutionError, match="cannot be used on task_storage map"):
        f.run(SeccompData.make("x86_64", "read"))


@pytest.mark.parametrize("fmt,args,want", [
    (b"n=%d u=%u x=%x\0", (-1, -1, 255), "n=-1 u=4294967295 x=ff"),
    (b"%lld %llx %%\0", (-1, -1, 0), "-1 ffffffffffffffff %"),
    (b"[%5d|%-4x|%03u]\0", (42, 10, 7), "[   42|a   |007]"),
    (b"%c%c\0", (0x68, 0x69, 0), "hi"),
    (b"%n\0", (0, 0, 0), None),  # not a conversion bpf_bprintf_prepare accepts
    (b"%d %d %d %d\0", (1, 2, 3), None),  # more than 3
    (b"bell\x07\0", (0, 0, 0), None),  # not printable
])
def test_trace_printk_formats_like_bpf_bprintf_prepare(fmt, args, want):
    fmt = fmt + bytes(-len(fmt) % 8)
    stores = "".join(f"lddw %r1, {int.from_bytes(fmt[i:i + 8], 'little'):#x}\nstxdw [%r10-{len(fmt) - i}], %r1\n"
                     for i in range(0, len(fmt), 8))
    f = load(stores + f"mov %r1, %r10\nadd %r1, -{len(fmt)}\nmov %r2, {len(fmt)}\n"
             f"mov %r3, {args[0]}\nmov %r4, {args[1]}\nmov %r5, {args[2]}\ncall 6\nexit")
    r = r0s(f)[0]
    if want is None:
        assert r == (-22) & M64 and f.printk == []
    else:
        assert f.printk == [want] and r == len(want)


def test_unverified_helper_arguments_are_checked_before_use():
    for hid in (112, 114):
        f = load(f"mov %r1, %r10\nadd %r1, -8\nlddw %r2, 0xffffffff\nmov %r3, 0\ncall {hid}\nexit")
        with pytest.raises(ExecutionError, match="not writable program memory") as e:
            f.run(SeccompData.make("x86_64", "read"))
        assert e.value.pc == 5
    f = load("mov %r1, 0\nmov %r2, 4\ncall 6\nexit")
    with pytest.raises(ExecutionError, match="outside every memory region"):
        f.run(SeccompData.make("x86_64", "read"))
