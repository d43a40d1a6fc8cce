"""eBPF seccomp filters (BPF_PROG_TYPE_SECCOMP, proposed 2021, never merged): loading, gates, stacking, policies."""


import numpy as np
import pytest

from lwnlab.bpf.helpers import Gates, Privileges
from lwnlab.errors import AsmError, ConfigError, ExecutionError, FilterError, VerifierError
from lwnlab.seccomp import actions, ebpf_examples
from lwnlab.seccomp.data import SeccompData
from lwnlab.seccomp.ebpf import EbpfFilter, compare, parse_map_directives
from lwnlab.seccomp.filter import Filter, Stack
from lwnlab.seccomp.trace import event, parse_events

ALLOW, ERRNO = actions.SECCOMP_RET_ALLOW, actions.SECCOMP_RET_ERRNO

DENY_PTRACE = """
    ldxw %r2, [%r1+0]
    jne %r2, 101, allow
    mov32 %r0, 0x00050001
    exit
allow:
    mov32 %r0, 0x7fff0000
    exit
"""


def sd(name, args=()):
    return SeccompData.make("x86_64", name, args)


def test_a_stateless_filter_is_verified_and_runs():
    f = EbpfFilter.from_asm(DENY_PTRACE)
    assert f.verified and f.verdict.accepted
    assert f.run(sd("ptrace")) == ERRNO | 1 and f.run(sd("read")) == ALLOW
    assert "never merged" in repr(f) and "never merged" in f.label


def test_the_context_is_read_only_and_loads_are_checked():
    with pytest.raises(VerifierError):
        EbpfFilter.from_asm("stw [%r1+0], 1\nmov %r0, 0\nexit")
    with pytest.raises(VerifierError):  # args[] are u64 in the proposal's seccomp_is_valid_access
        EbpfFilter.from_asm("ldxw %r0, [%r1+16]\nexit")
    f = EbpfFilter.from_asm("stw [%r1+0], 1\nmov %r0, 0\nexit", verify=False)
    with pytest.raises(ExecutionError, match="read-only") as e:
        f.run(sd("read"))
    assert e.value.pc == 0


def test_malformed_programs_are_clear_errors():
    with pytest.raises(AsmError) as e:
        EbpfFilter.from_asm("mov %r0, 1\nfrobnicate %r1\nexit", file="x.s")
    assert e.value.line == 2
    with pytest.raises(FilterError, match="last instruction"):
        EbpfFilter.from_asm("mov %r0, 1", verify=False)
    with pytest.raises(FilterError, match="map 3, which the program was not given"):
        EbpfFilter.from_asm("lddw %r1, map_fd(3)\nmov %r0, 0\nexit", verify=False)


def test_budget_stops_a_program_that_never_exits():
    f = EbpfFilter.from_asm("l:\nja l\nexit", verify=False, budget=5000)
    with pytest.raises(ExecutionError, match="budget exhausted after 5000 instructions") as e:
        f.run(sd("read"))
    assert e.value.pc == 0
    with pytest.raises(VerifierError):  # the verifier refuses it before it can run
        EbpfFilter.from_asm("l:\nja l\nexit")


@pytest.mark.parametrize("text,frag", [
    (".map 1 a array key_size=8 value_size=8 max_entries=4", "key_size must be 4"),
    (".map 1 a array value_size=8 max_entries=4", "key_size is missing"),
    (".map 1 a ringbuf key_size=0 value_size=8 max_entries=4", "unknown map type"),
    (".map x a array key_size=4 value_size=8 max_entries=4", "must be an integer"),
    (".map 1 a array key_size=4 value_size=8 colour=4", "unknown field"),
    (".map 1 a array key_size=4 value_size=8 max_entries=4\n.map 1 b array key_size=4 value_size=8 max_entries=4",
     "declared twice"),
    (".map 1", ".map needs"),
])
def test_bad_map_directives(text, frag):
    with pytest.raises(AsmError, match=frag) as e:
        parse_map_directives(text + "\nexit\n", file="p.s")
    assert e.value.line is not None and e.value.location.file == "p.s"


def test_map_directives_keep_line_numbers():
    body, specs, extra = parse_map_directives(
        "# head\n.map 2 t task_storage key_size=4 value_size=8 task_slots=3\nmov %r0, 0\nexit\n")
    assert body.splitlines()[1] == "" and specs[2].type_name == "task_storage" and extra[2] == {"task_slots": 3}
    assert specs[2].max_entries == 0


def test_maps_given_in_python_and_wrong_sizes():
    from lwnlab.bpf import maps

    with pytest.raises(ConfigError, match="key_size must be 4"):
        EbpfFilter.from_asm("mov %r0, 0\nexit", maps={1: {"type": "array", "key_size": 2, "value_size": 8,
                                                          "max_entries": 1}})
    m = maps.array("shared", 8, 1)
    f = EbpfFilter.from_asm("mov %r0, 0\nexit", maps={1: m}, verify=False)
    assert f.maps == {"shared": m} and f.maps_by_fd == {1: m}


# ------------------------------------------------------------------ gates (load time)


def test_unprivileged_loaders_cannot_read_user_memory():
    with pytest.raises(VerifierError, match="probe_read_user_str#114.*CAP_BPF and CAP_PERFMON") as e:
        ebpf_examples.load("deny_openat_path", privileges=Privileges.unprivileged(), verify=False)
    assert e.value.pc is not None
    f = ebpf_examples.load("deny_openat_path", privileges=Privileges(cap_bpf=True, cap_perfmon=True), verify=False)
    assert f.run(sd("read")) == ALLOW


def test_yama_gate_needs_ptrace_and_lsm_hook_forbids_helpers_and_maps():
    perfmon = Privileges(cap_bpf=True, cap_perfmon=True)
    with pytest.raises(VerifierError, match="Yama"):
        ebpf_examples.load("deny_openat_path", privileges=perfmon, gates=Gates(yama=True), verify=False)
    ebpf_examples.load("deny_openat_path", privileges=Privileges.root(), gates=Gates(yama=True), verify=False)
    with pytest.raises(VerifierError, match="almost-cBPF"):
        ebpf_examples.load("count_limit", gates=Gates(lsm_restrict=True), verify=False)
    with pytest.raises(VerifierError, match="almost-cBPF: no maps"):
        EbpfFilter.from_asm(".map 1 a array key_size=4 value_size=8 max_entries=1\nlddw %r1, map_fd(1)\n"
                            "mov %r0, 0\nexit", gates=Gates(lsm_restrict=True), verify=False)
    f = EbpfFilter.from_asm(DENY_PTRACE, gates=Gates(lsm_restrict=True))  # almost-cBPF is fine
    assert f.run(sd("ptrace")) == ERRNO | 1


def test_tracing_helpers_need_perfmon():
    with pytest.raises(VerifierError, match="trace_printk"):
        EbpfFilter.from_asm("call 6\nexit", privileges=Privileges(), verify=False)
    EbpfFilter.from_asm("call 14\nmov %r0, 0\nexit", privileges=Privileges(), verify=False)  # seccomp gate


def test_unprivileged_program_size_limit():
    body = "mov %r0, 0\n" * 4096 + "exit\n"
    with pytest.raises(FilterError, match="exceeds the limit of 4096"):
        EbpfFilter.from_asm(body, privileges=Privileges(), verify=False)
    assert len(EbpfFilter.from_asm(body, privileges=Privileges.root(), verify=False)) == 4097


@pytest.mark.parametrize("name", list(ebpf_examples.EXAMPLES))
def test_examples_pass_the_verifier(name):
    f = ebpf_examples.load(name)
    assert f.verified


# ------------------------------------------------------------------ the stateful policies on traces


def test_execve_once():
    f = ebpf_examples.load("execve_once")
    steps = f.trace(ebpf_examples.demo_trace("execve_once"),
                    on_step=lambda i, d: None)
    assert [(d.action, d.data) for d in steps] == [("ALLOW", 0), ("ALLOW", 0), ("ERRNO", 1), ("ALLOW", 0),
                                                   ("ERRNO", 1), ("ERRNO", 1)]
    assert f.snapshot() == {"exec_seen": {100: 1, 200: 1}}
    assert f.run(sd("execve")) == ALLOW  # the default task (pid 1000): its first execve
    assert f.run(sd("execve")) == ERRNO | 1
    assert f.maps["exec_seen"].as_dict() == {100: 1, 200: 1, 1000: 1}


def test_execve_once_on_another_arch_is_killed():
    f = ebpf_examples.load("execve_once")
    assert f.run(SeccompData.make("i386", "read")) == actions.SECCOMP_RET_KILL_PROCESS


def test_count_limit_with_per_step_snapshots():
    f = ebpf_examples.load("count_limit", limit=2)
    snaps = []
    decs = f.trace(ebpf_examples.demo_trace("count_limit"), on_step=lambda i, d: snaps.append(f.snapshot()))
    assert [d.action for d in decs] == ["ALLOW", "ALLOW", "ALLOW", "ERRNO", "ERRNO", "ALLOW", "ERRNO"]
    assert [s["counts"].get(39, 0) for s in snaps] == [1, 2, 2, 3, 4, 4, 5]
    assert snaps[-1] == {"counts": {39: 5, 0: 2}, "limit": {0: 2}}
    f.maps["limit"].update(0, 0)  # N = 0: no limit, without reloading
    assert f.run(sd("getpid")) == ALLOW


def test_count_limit_full_map_leaves_new_numbers_uncounted():
    f = ebpf_examples.load("count_limit", limit=1)
    counts = f.maps["counts"]
    for nr in range(512):
        assert counts.update(nr + 1000, 1) == 0
    assert f.run(sd("read")) == ALLOW and 0 not in counts.as_dict()  # -E2BIG: not inserted
    assert f.run(sd("read")) == ALLOW  # and so never limited


def test_deny_openat_path():
    f = ebpf_examples.load("deny_openat_path")
    decs = f.trace(ebpf_examples.demo_trace("deny_openat_path"))
    assert [(d.action, d.data) for d in decs] == [("ALLOW", 0), ("ERRNO", 13), ("ERRNO", 14), ("ERRNO", 13),
                                                  ("ALLOW", 0)]
    g = ebpf_examples.load("deny_openat_path", privileges=Privileges(cap_bpf=True, cap_perfmon=True),
                           )
    assert [d.data for d in g.trace(ebpf_examples.demo_trace("deny_openat_path"))][3] == 1  # EPERM: not dumpable


def test_example_loader_errors():
    from lwnlab.errors import UsageError

    with pytest.raises(UsageError, match="no eBPF seccomp example"):
        ebpf_examples.load("nope")
    with pytest.raises(UsageError, match="limit"):
        ebpf_examples.load("execve_once", verify=False, limit=3)
    for name in ebpf_examples.EXAMPLES:
        assert "never merged" in ebpf_examples.source(name)


# ------------------------------------------------------------------ stacking with classic filters


CLASSIC = """
    ld nr
    jeq #getpid, 0, allow
    ret ERRNO(5)
allow:
    ret ALLOW
"""


def test_stack_precedence_between_classic_and_ebpf():
    classic = Filter.from_asm(CLASSIC)
    limiter = ebpf_examples.load("count_limit", verify=False, limit=1)
    stack = Stack([classic, limiter])
    decs = stack.trace([sd("getpid"), sd("getpid"), sd("read"), sd("read")])
    # getpid: classic ERRNO(5) (oldest) vs eBPF ALLOW then ERRNO(1): equal actions -> the newest (eBPF) wins
    assert [(d.ret, d.filter) for d in decs] == [(ERRNO | 5, 0), (ERRNO | 1, 1), (ALLOW, -1), (ERRNO | 1, 1)]
    assert all(not d.cached for d in decs)
    kill = EbpfFilter.from_asm("mov32 %r0, 0x80000000\nexit")
    stack2 = Stack([kill, classic])
    d = stack2.decide(sd("getpid"))
    assert d.action == "KILL_PROCESS" and d.filter == 0  # the lowest action wins whatever its age
    assert stack2.decide(sd("read")).steps == 2 + 3  # both filters always run


def test_ebpf_filters_disable_the_action_cache():
    classic = Filter.from_asm(CLASSIC)
    assert Stack([classic]).decide(sd("read")).cached
    st = Stack([classic, EbpfFilter.from_asm(DENY_PTRACE)])
    assert not st.decide(sd("read")).cached and not st.allow_bitmap("x86_64").any()
    assert st.has_ebpf() and st.total_length() == classic.converted_length + 4 + 6 + 4
    with pytest.raises(Exception, match="no single classic program"):
        st.arrays


def test_stack_snapshots_and_events_with_tasks():
    f = ebpf_examples.load("execve_once", verify=False)
    st = Stack([f])
    items = parse_events('{"syscall": "execve", "pid": 7}\n{"syscall": "execve", "pid": 7}\n'
                         '{"syscall": "execve", "pid": 8, "uid": 0}\n')
    out = st.trace_with_snapshots(items)
    assert [d.action for d, _ in out] == ["ALLOW", "ERRNO", "ALLOW"]
    assert [s[0]["exec_seen"] for _, s in out] == [{7: 1}, {7: 1}, {7: 1, 8: 1}]


def test_converted_classic_next_to_native_ebpf():
    classic = Filter.from_asm("""
        ld nr
        jeq #ptrace, 0, allow
        ret ERRNO(1)
    allow:
        ret ALLOW
    """)
    native = EbpfFilter.from_asm(DENY_PTRACE)
    items = [sd(n) for n in ("read", "ptrace", "write", "ptrace", "getpid")]
    c = compare(classic, native, items)
    assert c.agree == c.total == 5 and c.disagreements == ()
    assert "w0 ^= w0" in c.classic_ebpf or "xor32" in c.classic_ebpf
    assert c.native_len == 6 and c.classic_len == len(classic.ebpf()[0])
    wrong = EbpfFilter.from_asm(DENY_PTRACE.replace("101", "102"))
    c2 = compare(classic, wrong, items)
    assert c2.agree == 3 and [r for r, _, _ in c2.disagreements] == [1, 3]
    conv = EbpfFilter.from_classic(classic)
    assert not conv.verified and "converted" in conv.name
    words = np.stack([d.words() for d in items])
    r, _ = conv.run_words(words)
    assert list(r) == [classic.run(d) for d in items]


def test_trace_events_json_fields_and_errors():
    from lwnlab.errors import SourceError

    ev = parse_events('{"syscall": "openat", "args": [0, 4096], "pid": 5, "tid": 6, "uid": 0, "gid": 0, '
                      '"dumpable": false, "mem": {"0x1000": "/x\\u0000", "8192": {"hex": "6162"}}, "ts_ns": 99}\n')
    e = ev[0]
    t = e.task()
    assert (t.pid, t.tgid, t.uid, t.dumpable) == (6, 5, 0, False)
    assert t.memory.read(0x1000, 3) == b"/x\0" and t.memory.read(8192, 2) == b"ab" and e.ts_ns == 99
    assert e.to_json()["mem"] == {"0x1000": {"hex": "2f7800"}, "0x2000": {"hex": "6162"}}
    for bad, frag in (('{"syscall": "read", "pid": -1}', "32 bits"), ('{"syscall": "read", "dumpable": 1}', "true"),
                      ('{"syscall": "read", "mem": [1]}', "mem"), ('{"syscall": "read", "mem": {"x": "a"}}', "number"),
                      ('{"syscall": "read", "mem": {"1": {"hex": "zz"}}}', "hex")):
        with pytest.raises(SourceError, match=frag):
            parse_events(bad + "\n")
    plain = parse_events("nr,arch,arg0,arg1,arg2,arg3,arg4,arg5,ip\nread,,0,0,0,0,0,0,0\n")
    assert plain[0].pid == 1000
    st = parse_events("123 getpid() = 123\n124 read(0x3, 0x0, 0x10) = 0\n")
    assert [x.pid for x in st] == [123, 124]


def test_ktime_from_trace_timestamps():
    f = EbpfFilter.from_asm("call 5\nexit", verify=False)
    r = [f.runtime.run_words(f.program, np.zeros((2, 16), np.uint32), clock_ns=[500, None])[0]]
    assert int(r[0][0]) == 500 and int(r[0][1]) == 500 + f.env.clock.tick_ns
    decs = Stack([f]).trace([event("read", ts_ns=12345)])
    assert decs[0].ret == 12345 & 0xFFFFFFFF


def test_a_map_shared_by_two_filters_stays_coherent():
    from lwnlab.bpf import maps

    counts = maps.array("counts", 8, 512)
    text = """
        ldxw %r2, [%r1+0]
        stxw [%r10-4], %r2
        lddw %r1, map_fd(1)
        mov %r2, %r10
        add %r2, -4
        call 1
        jeq %r0, 0, out
        mov %r1, 1
        lock add [%r0+0], %r1
    out:
        mov32 %r0, 0x7fff0000
        exit
    """
    a = EbpfFilter.from_asm(text, maps={1: counts})
    b = EbpfFilter.from_asm(text, maps={1: counts})
    a.run(sd("read"))
    b.run(sd("read"))
    a.run(sd("read"))
    Stack([a, b]).decide(sd("read"))  # both filters of a stack count it
    assert counts.as_dict(nonzero=True) == {0: 5}
    counts.update(0, 100)
    b.run(sd("read"))
    assert counts.lookup(0) == (101).to_bytes(8, "little")


def test_reloading_filters_with_other_maps_does_not_recompile():
    from lwnlab._jit import no_recompile

    ebpf_examples.load("count_limit", verify=False).trace(ebpf_examples.demo_trace("count_limit"))
    EbpfFilter.from_asm(DENY_PTRACE).run(sd("read"))
    with no_recompile():
        for n in (1, 3):
            f = ebpf_examples.load("count_limit", verify=False, limit=n)
            f.trace(ebpf_examples.demo_trace("count_limit"), on_step=lambda i, d: f.snapshot())
            g = ebpf_examples.load("execve_once", verify=False)
            g.trace(ebpf_examples.demo_trace("execve_once"))
            EbpfFilter.from_asm(DENY_PTRACE.replace("101", str(100 + n))).run(sd("read"))
            f.maps["counts"].update(7, n)
            f.maps["counts"].delete(7)
