"""Trace files: JSON lines, CSV and strace logs read back what was written."""

import json

import pytest
from hypothesis import given, settings, strategies as st

from lwnlab.seccomp.data import SeccompData
from lwnlab.seccomp.trace import CSV_HEADER, parse_trace, recorded_trace, synthetic_trace

ARCHES = ["x86_64", "i386", "aarch64", "s390x", "x32"]


@st.composite
def items(draw):
    arch = draw(st.sampled_from(ARCHES))
    nr = draw(st.integers(-(1 << 31), (1 << 31) - 1))
    args = draw(st.lists(st.integers(0, (1 << 64) - 1), max_size=6))
    ip = draw(st.integers(0, (1 << 64) - 1))
    return arch, nr, args, ip


@settings(max_examples=60, deadline=None)
@given(st.lists(items(), min_size=1, max_size=12))
def test_jsonl_and_csv_round_trip(rows):
    want = [SeccompData.make(a, nr, args, ip) for a, nr, args, ip in rows]
    jl = "\n".join(json.dumps({"nr": nr, "arch": a, "args": args, "ip": ip}) for a, nr, args, ip in rows)
    assert parse_trace(jl) == want
    csv = ",".join(CSV_HEADER) + "\n" + "\n".join(
        ",".join([str(nr), a] + [hex(x) for x in (list(args) + [0] * 6)[:6]] + [str(ip)]) for a, nr, args, ip in rows)
    assert parse_trace(csv) == want


def test_names_and_defaults():
    got = parse_trace('{"syscall": "openat", "args": [1]}\n\n{"syscall": 59, "arch": "aarch64"}', default_arch="x86_64")
    assert got[0].nr == 257 and got[0].args[0] == 1 and got[1].nr == 59 and got[1].arch == 0xC00000B7


def test_strace_lines():
    text = ("123 openat(0xffffff9c, 0x7f00, 0x80000, 0) = 0x3\n"
            "[pid 124] read(0x3, 0x7ffd, 0x340) = 0x340\n"
            "--- SIGCHLD {si_signo=SIGCHLD} ---\n"
            "exit_group(0) = ?\n+++ exited with 0 +++\n")
    got = parse_trace(text)
    assert [d.nr for d in got] == [257, 0, 231] and got[1].args[2] == 0x340


def test_shipped_and_synthetic_traces():
    rec = recorded_trace()
    assert rec[0].nr == 59 and rec[-1].nr == 231 and len(rec) == 720
    syn = synthetic_trace(500, seed=3)
    assert len(syn) == 500 and syn == synthetic_trace(500, seed=3)


def test_nr_and_syscall_together_must_agree():
    from lwnlab.errors import SourceError

    (d,) = parse_trace('{"nr": 0, "syscall": "read"}')
    assert d.nr == 0
    (d,) = parse_trace('{"nr": 1073742081, "syscall": "openat", "arch": "x32"}')
    assert d.nr == 0x40000101
    with pytest.raises(SourceError, match="disagree"):
        parse_trace('{"nr": 1, "syscall": "read"}')


def test_strace_symbolic_arguments_and_unknown_names_are_errors_not_zeros():
    """strace without -e raw=all prints AT_FDCWD, "/etc/passwd", O_RDONLY: read as 0 they silently changed
    what a filter checking arguments decides; an unknown name silently dropped the call."""
    from lwnlab.errors import SourceError

    with pytest.raises(SourceError, match="raw=all") as e:
        parse_trace('openat(AT_FDCWD, "/etc/passwd", O_WRONLY|O_CREAT, 0644) = 3\n')
    assert e.value.line == 1
    with pytest.raises(SourceError, match="unknown syscall 'nosuchcall'") as e:
        parse_trace("1234  getpid() = 7\n1234  nosuchcall(0x1) = -1 ENOSYS\n")
    assert e.value.line == 2
    (d,) = parse_trace("1234  syscall_0x1c3(0x1) = -1 ENOSYS\n")  # strace's name for an unknown number
    assert d.nr == 0x1C3 and d.args[0] == 1


def test_strace_unfinished_and_resumed_calls_are_joined_in_order():
    from lwnlab.seccomp.trace import parse_events

    text = ("1235  read(0x3, <unfinished ...>\n"
            "1234  openat(0xffffff9c, 0x7ffd, 0x80000, 0) = 3\n"
            "1235  <... read resumed>0x7ffd, 0x340) = 832\n"
            "1236  write(0x1, 0x7ffd, 0x3 <unfinished ...>\n")
    got = parse_trace(text)
    assert [(d.nr, d.args[:3]) for d in got] == [(0, (3, 0x7FFD, 0x340)), (257, (0xFFFFFF9C, 0x7FFD, 0x80000)),
                                                 (1, (1, 0x7FFD, 3))]
    assert [e.pid for e in parse_events(text)] == [1235, 1234, 1236]
