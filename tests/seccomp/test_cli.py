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
    # an empty file is a filter of 0 instructions: the kernel's rules refuse it (EINVAL), so exit 1
    empty = tmp_path / "e.bpf"
    empty.write_bytes(b"")
    assert main(["seccomp", "check", str(empty)]) == 1
    assert "rejected" in capsys.readouterr().out
    assert main(["seccomp", "check", str(empty), "--json"]) == 1
    v = json.loads(capsys.readouterr().out)
    assert v == {**v, "accepted": False, "instructions": 0, "reason": "length"}
    assert main(["seccomp", "run", str(trunc), "--syscall", "read"]) == 2
    err = capsys.readouterr().err
    assert err.count("t.bpf") == 1 and "pc 1" in err, err


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
    ('{"nr": 1, "syscall": "read"}\n', "disagree"),
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


def test_check_with_kernel_big_endian_filter(tmp_path, capsys):
    """A big-endian target's filter (as libseccomp exports s390x's) is the same program: the live kernel
    is asked about it in its own byte order, and agrees with lwnlab on both verdicts."""
    from lwnlab.seccomp import kernel

    ok, why = kernel.available()
    if not ok:
        pytest.skip(f"no live kernel oracle: {why}")
    for text, accepted in (("ld arch\njeq #AUDIT_ARCH_S390X, 1, 0\nret KILL\nld args[2]\nret a\n", True),
                           ("ld [2]\nret ALLOW\n", False)):
        src = tmp_path / "be.s"
        src.write_text(text)
        out = tmp_path / "be.bpf"
        assert main(["seccomp", "asm", str(src), "--arch", "s390x", "-o", str(out)]) == 0
        assert out.read_bytes()[:2] == b"\x00\x20"  # big-endian code 0x0020
        capsys.readouterr()
        assert main(["seccomp", "check", str(out), "--kernel", "--json"]) == (0 if accepted else 1)
        v = json.loads(capsys.readouterr().out)
        assert v["big_endian"] is True and v["accepted"] is accepted and v["kernel"]["accepted"] is accepted


def test_run_path(bpf, capsys):
    assert main(["seccomp", "run", str(bpf), "--arch", "x32", "--syscall", "read", "--path"]) == 0
    out = capsys.readouterr().out
    assert "0004: jge #0x40000000, 6, 0" in out and "return KILL_THREAD at line 0011" in out
    assert main(["seccomp", "run", str(bpf), "--arch", "x32", "--syscall", "read", "--path", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["paths"][0]["pcs"] == [0, 1, 3, 4, 11]


# ------------------------------------------------------------------ eBPF filters (proposed 2021, never merged)

from lwnlab.seccomp import ebpf_examples  # noqa: E402

COUNT = str(ebpf_examples.path("count_limit"))
OPENAT = str(ebpf_examples.path("deny_openat_path"))


def test_run_ebpf_single_and_label(capsys):
    assert main(["seccomp", "run", "--ebpf", COUNT, "--no-verify", "--map", "limit:0=1", "--syscall", "getpid",
                 "--json", "--show-maps"]) == 0
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    assert out["action"] == "ALLOW" and out["filter"] is None and out["maps"][COUNT]["counts"] == {"39": 1}
    assert "never merged" in cap.err


def test_run_ebpf_trace_is_stateful(tmp_path, capsys):
    tr = tmp_path / "t.jsonl"
    tr.write_text('{"syscall": "getpid"}\n{"syscall": "getpid"}\n{"syscall": "getpid"}\n')
    assert main(["seccomp", "run", "--ebpf", COUNT, "--no-verify", "--map", "limit:0=2", "--trace", str(tr),
                 "--show-maps"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "ALLOW" in lines[0] and "ALLOW" in lines[1] and "ERRNO(1)" in lines[2] and "filter 0" in lines[2]
    assert any(ln.startswith("map counts") and "39: 3" in ln for ln in lines)
    assert any(ln.startswith("map limit") and ln.endswith(": 0: 2") for ln in lines)
    # an array map's slots always exist (zeroed): with no non-zero slot it is "all zero", not "empty"
    assert main(["seccomp", "run", "--ebpf", COUNT, "--trace", str(tr), "--show-maps"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(ln.startswith("map limit") and ln.endswith("(all zero)") for ln in lines), lines


def test_run_ebpf_stacked_after_classic(bpf, capsys):
    assert main(["seccomp", "run", str(bpf), "--ebpf", COUNT, "--no-verify", "--map", "limit:0=0",
                 "--syscall", "openat", "--args", "0", "0", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["action"] == "ERRNO" and out["data"] == 13 and out["filter"] == 0 and out["cached"] is False


def test_run_ebpf_user_memory_and_privileges(tmp_path, capsys):
    tr = tmp_path / "t.jsonl"
    tr.write_text('{"syscall": "openat", "args": [0, 4096, 0], "mem": {"0x1000": "/etc/shadow\\u0000"}}\n'
                  '{"syscall": "openat", "args": [0, 4096, 0], "dumpable": false, '
                  '"mem": {"0x1000": "/etc/shadow\\u0000"}}\n')
    assert main(["seccomp", "run", "--ebpf", OPENAT, "--no-verify", "--trace", str(tr), "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(r["action"], r["data"]) for r in rows] == [("ERRNO", 13), ("ERRNO", 13)]
    assert main(["seccomp", "run", "--ebpf", OPENAT, "--unprivileged", "--no-verify", "--trace", str(tr)]) == 2
    assert "CAP_BPF and CAP_PERFMON" in capsys.readouterr().err
    assert main(["seccomp", "run", "--ebpf", OPENAT, "--lsm-restrict", "--no-verify", "--trace", str(tr)]) == 2
    assert "almost-cBPF" in capsys.readouterr().err
    assert main(["seccomp", "run", "--ebpf", OPENAT, "--yama", "--no-verify", "--trace", str(tr)]) == 0  # root
    capsys.readouterr()


@pytest.mark.parametrize("prog,extra,frag", [
    ("mov %r0, 1\nfoo %r1\nexit\n", [], "p.s:2"),
    ("l:\nja l\nexit\n", ["--budget", "1000"], "budget exhausted after 1000"),
    ("call 9\nexit\n", [], "skb_store_bytes#9"),
    ("call 999\nexit\n", [], "invalid func unknown#999"),
    (".map 1 a array key_size=8 value_size=8 max_entries=1\nmov %r0, 0\nexit\n", [], "key_size must be 4"),
    (".map 1 a array key_size=4 value_size=4 max_entries=1\nmov %r0, 0\nexit\n", ["--map", "a:0=0x100000000"],
     "does not fit in 4 bytes"),
    (".map 1 a array key_size=4 value_size=4 max_entries=1\nmov %r0, 0\nexit\n", ["--map", "a:5=1"], "-E2BIG"),
    (".map 1 a array key_size=4 value_size=4 max_entries=1\nmov %r0, 0\nexit\n", ["--map", "b:0=1"], "no map named"),
    (".map 1 a array key_size=4 value_size=4 max_entries=1\nmov %r0, 0\nexit\n", ["--map", "a0=1"],
     "NAME:KEY=VALUE"),
    ("mov %r0, 1", [], "last instruction"),
])
def test_run_ebpf_bad_input(tmp_path, capsys, prog, extra, frag):
    p = tmp_path / "p.s"
    p.write_text(prog)
    assert main(["seccomp", "run", "--ebpf", str(p), "--no-verify", "--syscall", "read", *extra]) == 2
    err = capsys.readouterr().err
    assert frag in err and "Traceback" not in err


@pytest.mark.parametrize("prog,verify,frag", [
    ("call 999\nexit\n", False, "pc 0: invalid func unknown#999"),
    ("mov %r0, 1", False, "pc 0: last instruction"),
    ("ldxw %r0, [%r1+64]\nexit\n", True, "pc 0: invalid bpf_context access off=64 size=4"),
    ("mov %r0, 0\nlddw %r1, map_fd(7)\nexit\n", True, "pc 1: fd 7 is not pointing to valid bpf_map"),
])
def test_run_ebpf_refusals_name_the_file_and_the_pc(tmp_path, capsys, prog, verify, frag):
    """With several --ebpf programs the pc alone does not say which one was refused."""
    ok = tmp_path / "ok.s"
    ok.write_text("mov %r0, 0x7fff0000\nexit\n")
    p = tmp_path / "bad.s"
    p.write_text(prog)
    argv = ["seccomp", "run", "--ebpf", str(ok), "--ebpf", str(p), "--syscall", "read"]
    assert main(argv + ([] if verify else ["--no-verify"])) == 2
    err = capsys.readouterr().err
    assert f"{p}, {frag}" in err, err


def test_run_ebpf_usage_errors(bpf, tmp_path, capsys):
    assert main(["seccomp", "run", "--syscall", "read"]) == 2
    assert "at least one filter" in capsys.readouterr().err
    assert main(["seccomp", "run", str(bpf), "--map", "a:0=1", "--syscall", "read"]) == 2
    assert "apply to --ebpf" in capsys.readouterr().err
    junk = tmp_path / "junk.o"
    junk.write_bytes(b"\x7fELF" + bytes(60))
    assert main(["seccomp", "run", "--ebpf", str(junk), "--syscall", "read"]) == 2
    assert "ELF" in capsys.readouterr().err


def test_run_ebpf_verifier_is_on_by_default(capsys, tmp_path):
    rc = main(["seccomp", "run", "--ebpf", COUNT, "--syscall", "read"])
    err = capsys.readouterr().err
    assert rc == 0, err
    bad = tmp_path / "unchecked.s"  # the lookup's result used without a NULL check (key = nr: not a constant)
    bad.write_text(".map 1 c array key_size=4 value_size=8 max_entries=4\nldxw %r2, [%r1+0]\n"
                   "stxw [%r10-4], %r2\nlddw %r1, map_fd(1)\n"
                   "mov %r2, %r10\nadd %r2, -4\ncall 1\nldxdw %r0, [%r0+0]\nexit\n")
    assert main(["seccomp", "run", "--ebpf", str(bad), "--syscall", "read"]) == 2
    assert "map_value_or_null" in capsys.readouterr().err
    p = ebpf_examples.HERE / "count_limit.s"
    assert main(["seccomp", "run", "--ebpf", str(p), "--no-verify", "--syscall", "read"]) == 0
    capsys.readouterr()


def test_run_ebpf_show_maps_with_wide_keys_as_json(tmp_path, capsys):
    p = tmp_path / "w.s"
    p.write_text(".map 1 paths hash key_size=16 value_size=12 max_entries=4\nmov32 %r0, 0x7fff0000\nexit\n")
    assert main(["seccomp", "run", "--ebpf", str(p), "--syscall", "read", "--json", "--show-maps"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["maps"] == {str(p): {"paths": {}}}
    from lwnlab.seccomp.cli import _jsonable

    assert _jsonable({b"\x01\x02": b"\xff", 3: {4: 5}}) == {"0x0102": "0xff", "3": {"4": 5}}


def test_binary_bytes_in_an_assembly_file_are_a_clear_error(tmp_path, capsys):
    """A .s file that is not UTF-8 (a raw filter saved under the wrong name) used to end in
    'internal error: UnicodeDecodeError'; now it is an input error naming line and column."""
    p = tmp_path / "f.s"
    p.write_bytes(b"ld nr\nret \x9d\xc2 ALLOW\n")
    for cmd in (["seccomp", "asm", str(p), "-o", str(tmp_path / "o.bpf")], ["seccomp", "check", str(p)],
                ["seccomp", "disasm", str(p)], ["seccomp", "run", str(p), "--syscall", "read"],
                ["bpf", "asm", str(p), "-o", str(tmp_path / "o.bin")]):
        assert main(cmd) == 2, cmd
        err = capsys.readouterr().err
        assert f"{p}:2:5: not UTF-8 text (byte 0x9d)" in err and "internal" not in err, err


def test_disasm_of_a_big_endian_filter_names_fields_for_its_arch(tmp_path, capsys):
    """Without --arch, an s390x filter's ld [36] is args[2] (its low half), not x86_64's args[2].hi."""
    src = tmp_path / "s.s"
    src.write_text("ld arch\njeq #AUDIT_ARCH_S390X, 1, 0\nret KILL\nld args[2]\nret a\n")
    out = tmp_path / "s.bpf"
    assert main(["seccomp", "asm", str(src), "--arch", "s390x", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["seccomp", "disasm", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith(".arch s390x") and "ld [36]                      ; A = args[2]\n" in text
    assert main(["seccomp", "disasm", str(out), "--arch", "x86_64"]) == 0  # an explicit --arch wins
    assert "A = args[2].hi" in capsys.readouterr().out
    lone = tmp_path / "l.s"
    lone.write_text("ld [16]\nret a\n")
    assert main(["seccomp", "asm", str(lone), "--arch", "ppc64", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["seccomp", "disasm", str(out)]) == 0
    assert "give --arch" in capsys.readouterr().err
