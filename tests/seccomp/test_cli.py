"""`lwnlab seccomp asm|disasm|check|run` as a user runs them."""

import json

import pytest

from lwnlab.bpf.classic import CInsn, encode
from lwnlab.cli import main

POLICY = """
    ld arch
    jeq #AUDIT_ARCH_X86_64, 1, 0
    ret KILL_PROCESS
    ld nr
    jge #0x40000000, kill
    jeq #openat, 0, allow
    ld args[2]
    and #3
    jeq #1, 0, allow
    ret ERRNO(13)
allow:
    ret ALLOW
kill:
    ret KILL
"""


@pytest.fixture
def bpf(tmp_path, capsys):
    s = tmp_path / "f.s"
    s.write_text(POLICY)
    out = tmp_path / "f.bpf"
    assert main(["seccomp", "asm", str(s), "-o", str(out)]) == 0
    capsys.readouterr()
    return out


def test_asm_disasm_round_trip(bpf, tmp_path, capsys):
    assert len(bpf.read_bytes()) == 12 * 8
    assert main(["seccomp", "disasm", str(bpf)]) == 0
    text = capsys.readouterr().out
    assert "jeq #0x101, 0, 4" in text and "openat" in text and "AUDIT_ARCH_X86_64" in text
    again = tmp_path / "again.s"
    again.write_text(text)
    assert main(["seccomp", "asm", str(again), "-o", str(tmp_path / "again.bpf")]) == 0
    assert (tmp_path / "again.bpf").read_bytes() == bpf.read_bytes()
    assert main(["seccomp", "disasm", str(bpf), "--c"]) == 0
    assert "return ERRNO(13)" in capsys.readouterr().out
    assert main(["seccomp", "disasm", str(bpf), "--ebpf"]) == 0
    assert "w2 = -1073741762" in capsys.readouterr().out


def test_check(bpf, tmp_path, capsys):
    assert main(["seccomp", "check", str(bpf)]) == 0
    assert "accepted" in capsys.readouterr().out
    bad = tmp_path / "bad.bpf"
    bad.write_bytes(encode([CInsn(0x20, 0, 0, 0), CInsn(0x60, 0, 0, 2), CInsn(0x06)]))
    assert main(["seccomp", "check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "pc 1" in out and "uninitialised-memory" in out
    assert main(["seccomp", "check", str(bad), "--json"]) == 1
    v = json.loads(capsys.readouterr().out)
    assert v == {**v, "accepted": False, "pc": 1, "reason": "uninitialised-memory"}
    trunc = tmp_path / "t.bpf"
    trunc.write_bytes(bytes(13))
    assert main(["seccomp", "check", str(trunc)]) == 2
    assert "multiple of 8" in capsys.readouterr().err
    empty = tmp_path / "e.bpf"
    empty.write_bytes(b"")
    assert main(["seccomp", "check", str(empty)]) == 2


def test_run_single(bpf, capsys):
    assert main(["seccomp", "run", str(bpf), "--syscall", "openat", "--args", "0", "0", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["action"] == "ERRNO" and out["data"] == 13 and out["ret"] == "0x0005000d" and out["filter"] == 0
    assert main(["seccomp", "run", str(bpf), "--syscall", "257", "--args", "0", "0", "0x2"]) == 0
    assert "ALLOW" in capsys.readouterr().out
    assert main(["seccomp", "run", str(bpf), "--arch", "i386", "--syscall", "read", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["action"] == "KILL_PROCESS"
    assert main(["seccomp", "run", str(bpf), "--arch", "x32", "--syscall", "read", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["action"] == "KILL_THREAD"


def test_run_stacked(tmp_path, capsys):
    a, b = tmp_path / "a.bpf", tmp_path / "b.bpf"
    a.write_bytes(encode([CInsn(0x06, 0, 0, 0x50001)]))
    b.write_bytes(encode([CInsn(0x06, 0, 0, 0x50002)]))
    assert main(["seccomp", "run", str(a), str(b), "--syscall", "read", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["data"], out["filter"]) == (2, 1)


def test_trace_jsonl_and_csv(bpf, tmp_path, capsys):
    t = tmp_path / "t.jsonl"
    t.write_text('{"syscall": "openat", "args": [0, 0, 1]}\n{"nr": 0}\n{"nr": -1}\n'
                 '{"syscall": "read", "arch": "i386"}\n')
    assert main(["seccomp", "run", str(bpf), "--trace", str(t), "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["action"] for r in rows] == ["ERRNO", "ALLOW", "KILL_THREAD", "KILL_PROCESS"]  # -1 >= 0x40000000
    assert rows[2]["nr"] == -1
    c = tmp_path / "t.csv"
    c.write_text("nr,arch,arg0,arg1,arg2,arg3,arg4,arg5,ip\n257,x86_64,0,0,1,0,0,0,0\nexecve,,0,0,0,0,0,0,0x400000\n")
    assert main(["seccomp", "run", str(bpf), "--trace", str(c)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "ERRNO(13)" in lines[0] and "ALLOW" in lines[1]


@pytest.mark.parametrize("argv,frag", [
    (["--syscall", "openatt"], "did you mean openat"),
    (["--syscall", "read", "--arch", "vax"], "unknown architecture"),
    (["--syscall", "read", "--args", "1", "2", "3", "4", "5", "6", "7"], "at most 6"),
    (["--syscall", "read", "--args", "x"], "not a number"),
    ([], "exactly one of"),
])
def test_run_bad_input(bpf, capsys, argv, frag):
    assert main(["seccomp", "run", str(bpf)] + argv) == 2
    err = capsys.readouterr().err
    assert "lwnlab: error:" in err and frag in err and "Traceback" not in err


@pytest.mark.parametrize("content,frag", [
    ('{"nr": 0}\n{"nr": "x"}\n', ":2"),
    ('{"syscall": "nope"}\n', "unknown syscall"),
    ('{"nr": 0, "args": [1,2,3,4,5,6,7]}\n', "at most 6"),
    ("nr,arch\n1,2\n", "header"),
    ("garbage\n", "not a trace"),
    ('{"nr": 0\n', "invalid JSON"),
])
def test_bad_traces(bpf, tmp_path, capsys, content, frag):
    t = tmp_path / "bad.trace"
    t.write_text(content)
    assert main(["seccomp", "run", str(bpf), "--trace", str(t)]) == 2
    assert frag in capsys.readouterr().err


def test_strace_trace(bpf, capsys):
    from lwnlab.seccomp.trace import RECORDED

    assert main(["seccomp", "run", str(bpf), "--trace", str(RECORDED), "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(rows) > 300 and {r["action"] for r in rows} <= {"ALLOW", "ERRNO"}


def test_check_with_kernel(bpf, capsys):
    from lwnlab.seccomp import kernel

    ok, why = kernel.available()
    if not ok:
        pytest.skip(f"no live kernel oracle: {why}")
    assert main(["seccomp", "check", str(bpf), "--kernel", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["kernel"]["accepted"] is True


def test_run_path(bpf, capsys):
    assert main(["seccomp", "run", str(bpf), "--arch", "x32", "--syscall", "read", "--path"]) == 0
    out = capsys.readouterr().out
    assert "0004: jge #0x40000000, 6, 0" in out and "return KILL_THREAD at line 0011" in out
    assert main(["seccomp", "run", str(bpf), "--arch", "x32", "--syscall", "read", "--path", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["paths"][0]["pcs"] == [0, 1, 3, 4, 11]
