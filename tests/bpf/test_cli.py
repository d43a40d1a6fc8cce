"""`lwnlab bpf asm|disasm|run|plugin` as a user runs them."""

import io
import json

import pytest

from lwnlab.cli import main


@pytest.fixture
def prog(tmp_path):
    p = tmp_path / "p.s"
    p.write_text("ldxw %r0, [%r1+2]\nadd %r0, %r2\nexit\n")
    return p


def test_asm_disasm_run(prog, tmp_path, capsys):
    out = tmp_path / "p.bin"
    assert main(["bpf", "asm", str(prog), "-o", str(out)]) == 0
    assert out.read_bytes().hex() == "6110020000000000" + "0f20000000000000" + "9500000000000000"
    capsys.readouterr()
    assert main(["bpf", "disasm", str(out)]) == 0
    assert capsys.readouterr().out == "ldxw %r0, [%r1+2]\nadd %r0, %r2\nexit\n"
    assert main(["bpf", "disasm", str(out), "--pseudo-c"]) == 0
    assert "r0 = *(u32 *)(r1 +2)" in capsys.readouterr().out
    assert main(["bpf", "run", str(prog), "--mem", "00 00 01 02 03 04"]) == 0
    assert capsys.readouterr().out.strip() == hex(0x04030201 + 6)
    assert main(["bpf", "run", str(out), "--mem", "000001020304", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["r0"] == 0x04030201 + 6
    assert main(["bpf", "disasm", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["instructions"][0]["asm"] == "ldxw %r0, [%r1+2]"


def test_run_fault_reports_pc(prog, capsys):
    assert main(["bpf", "run", str(prog), "--mem", "00", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert "pc 0" in out["error"] and "out-of-bounds" in out["error"]
    assert main(["bpf", "run", str(prog)]) == 1
    assert "pc 0" in capsys.readouterr().err


@pytest.mark.parametrize("text,frag", [
    ("foo\n", "unknown mnemonic"),
    ("mov %r0, 1\n", "last instruction"),
    ("ja -1\nexit\n", None),
])
def test_bad_programs(tmp_path, capsys, text, frag):
    p = tmp_path / "b.s"
    p.write_text(text)
    rc = main(["bpf", "run", str(p), "--budget", "1000"])
    err = capsys.readouterr().err
    if frag:
        assert rc == 2 and "lwnlab: error:" in err and frag in err and "Traceback" not in err
    else:
        assert rc == 1 and "budget" in err


def test_bad_inputs(tmp_path, capsys):
    p = tmp_path / "odd.bin"
    p.write_bytes(bytes(12))
    assert main(["bpf", "disasm", str(p)]) == 2
    assert "multiple of 8" in capsys.readouterr().err
    s = tmp_path / "ok.s"
    s.write_text("exit\n")
    assert main(["bpf", "run", str(s), "--mem", "abc"]) == 2
    assert "odd number of hex digits" in capsys.readouterr().err
    assert main(["bpf", "run", str(s), "--mem", "zz"]) == 2
    assert main(["bpf", "run", str(tmp_path / "missing.s")]) == 2


def _plugin(monkeypatch, capsys, prog_hex, mem=None):
    monkeypatch.setattr("sys.stdin", io.StringIO(prog_hex))
    rc = main(["bpf", "plugin"] + ([mem] if mem is not None else []))
    return rc, capsys.readouterr()


def test_plugin(monkeypatch, capsys):
    # ldxb r0, [r1+1]; exit
    rc, out = _plugin(monkeypatch, capsys, "7110010000000000\n9500000000000000\n", "0a0b")
    assert rc == 0 and out.out.strip() == "b"
    rc, out = _plugin(monkeypatch, capsys, "b70000000500000095000000000000000")  # odd
    assert rc == 1
    for bad in ["", "8f00000000000000" + "9500000000000000", "b700000005000000",
                "9500000001000000", "0500050000000000" + "9500000000000000"]:
        rc, out = _plugin(monkeypatch, capsys, bad)
        assert rc == 1 and out.err.strip() and not out.out.strip(), bad
    rc, out = _plugin(monkeypatch, capsys, "7110100000000000\n9500000000000000", "00")
    assert rc == 1 and "out-of-bounds" in out.err


def test_help_is_fast_and_complete(capsys):
    with pytest.raises(SystemExit):
        main(["bpf", "--help"])
    out = capsys.readouterr().out
    for cmd in ("asm", "disasm", "run", "plugin"):
        assert cmd in out


def test_text_files_are_assembled_whatever_their_name(tmp_path, capsys):
    p = tmp_path / "prog.txt"
    p.write_text("mov %r0, 7\nexit\n")
    assert main(["bpf", "run", str(p)]) == 0
    assert capsys.readouterr().out.strip() == "0x7"
    f = tmp_path / "filter.txt"
    f.write_text("ld nr\nret ERRNO(3)\n")
    assert main(["seccomp", "run", str(f), "--syscall", "read", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["data"] == 3
    assert main(["seccomp", "check", str(f)]) == 0


def test_elf_files_are_recognised_by_their_magic_not_their_name(tmp_path, capsys):
    """An ELF file given to disasm/run/verify is loaded as an object: a non-BPF ELF (here the Python
    executable, renamed) is refused with the machine named, never disassembled or run as raw slots."""
    import shutil
    import sys

    host = tmp_path / "prog.bin"
    shutil.copyfile(sys.executable, host)
    for cmd in (["bpf", "disasm", str(host)], ["bpf", "run", str(host)], ["bpf", "verify", str(host)]):
        assert main(cmd) == 2, cmd
        cap = capsys.readouterr()
        assert cap.out == ""
        assert "not a BPF object" in cap.err and str(host) in cap.err, cap.err


def test_bpf_object_disassembles_and_runs(tmp_path, capsys):
    import shutil

    if shutil.which("clang") is None:
        pytest.skip("clang is not installed (apt-get install clang llvm; CI installs it)")
    src = tmp_path / "f.c"
    src.write_text('#include "lwnlab_bpf.h"\nSEC("seccomp")\nint f(struct seccomp_data *ctx)\n'
                   '{ return ctx->nr == 59 ? SECCOMP_RET_ERRNO | 1 : SECCOMP_RET_ALLOW; }\n')
    obj = tmp_path / "f.o"
    assert main(["bpf", "cc", str(src), "-o", str(obj)]) == 0
    capsys.readouterr()
    assert main(["bpf", "disasm", str(obj)]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("exit") and ".insn" not in out
    assert main(["bpf", "run", str(obj), "--mem", "3b000000"]) == 0
    assert capsys.readouterr().out.strip() == "0x50001"


def test_loader_errors_name_the_file(tmp_path, capsys):
    p = tmp_path / "noexit.s"
    p.write_text("mov %r0, 1\n")
    for cmd in (["bpf", "asm", str(p), "-o", str(tmp_path / "x.bin")], ["bpf", "run", str(p)]):
        assert main(cmd) == 2
        err = capsys.readouterr().err
        assert f"{p}, pc 0: last instruction is not an exit" in err, err
    raw = tmp_path / "t.bin"
    raw.write_bytes(bytes.fromhex("b700000001000000950000"))
    assert main(["bpf", "disasm", str(raw)]) == 2
    err = capsys.readouterr().err
    assert err.count(str(raw)) == 1 and "pc 1" in err and "not a multiple of 8" in err, err


def test_huge_raw_files_are_refused_by_length_without_decoding(tmp_path, capsys, monkeypatch):
    """bpf_prog_load refuses more than 1M instructions (E2BIG) and seccomp more than 4096 (EINVAL) before
    looking at them; so does lwnlab (decoding an 80 MB file first took ~20 s): nothing is decoded."""
    from lwnlab.bpf import classic, program

    def no_decoding(*a, **k):
        raise AssertionError("decoded a file that its length alone refuses")

    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.truncate(8 * 3_000_000)  # 3M zero slots
    monkeypatch.setattr(program, "decode", no_decoding)
    monkeypatch.setattr(classic, "CInsn", no_decoding)
    monkeypatch.setattr(classic, "detect_big_endian", no_decoding)
    assert main(["bpf", "run", str(big)]) == 2
    assert "program of 3000000 instructions exceeds the limit of 1000000" in capsys.readouterr().err
    assert main(["bpf", "verify", str(big), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["message"].startswith("program of 3000000 instructions")
    assert main(["seccomp", "check", str(big), "--json"]) == 1
    v = json.loads(capsys.readouterr().out)
    assert v["reason"] == "length" and v["instructions"] == 3_000_000
    assert main(["seccomp", "run", str(big), "--syscall", "read"]) == 2
    assert "3000000 instructions; 1..4096 are allowed" in capsys.readouterr().err
