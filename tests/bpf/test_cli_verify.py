"""`lwnlab bpf verify` as a user runs it."""

import json

import pytest

from lwnlab.bpf import asm, program
from lwnlab.cli import main

UNCHECKED = "lddw %r1, map_fd(3)\nmov %r2, %r10\nadd %r2, -8\nstdw [%r10-8], 0\ncall 1\nldxw %r0, [%r0+0]\nexit\n"
CHECKED = ("lddw %r1, map_fd(3)\nmov %r2, %r10\nadd %r2, -8\nstdw [%r10-8], 0\ncall 1\njeq %r0, 0, +2\n"
           "ldxw %r0, [%r0+0]\nexit\nmov %r0, 0\nexit\n")


@pytest.fixture
def write(tmp_path):
    def w(name, text):
        p = tmp_path / name
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text)
        return str(p)
    return w


def test_accepted_prints_log_and_exits_0(write, capsys):
    p = write("ok.s", CHECKED)
    assert main(["bpf", "verify", p, "--map", "3:hash:8:8:16"]) == 0
    out = capsys.readouterr().out
    assert "5: (85) call bpf_map_lookup_elem#1" in out
    assert out.rstrip().endswith("accepted (socket_filter): 10 instructions processed")


def test_rejected_names_pc_rule_and_state_exits_1(write, capsys):
    p = write("bad.s", UNCHECKED)
    assert main(["bpf", "verify", p, "--map", "3:hash:8:8:16"]) == 1
    out = capsys.readouterr().out
    assert "6: R0=map_value_or_null(id=1,ks=8,vs=8)" in out
    assert "rejected (socket_filter) at pc 6: R0 invalid mem access 'map_value_or_null'" in out


def test_json_output(write, capsys):
    p = write("bad.s", UNCHECKED)
    assert main(["bpf", "verify", p, "--map", "3:hash:8:8:16", "--json"]) == 1
    j = json.loads(capsys.readouterr().out)
    assert set(j) == {"accepted", "prog_type", "processed", "pc", "message", "log"}
    assert (j["accepted"], j["pc"], j["prog_type"], j["processed"]) == (False, 6, "socket_filter", 6)
    assert "processed 6 insns" in j["log"]


def test_raw_bin_and_unknown_fd(write, capsys):
    p = write("bad.bin", program.encode(asm.assemble(UNCHECKED)))
    assert main(["bpf", "verify", p]) == 1
    assert "fd 3 is not pointing to valid bpf_map" in capsys.readouterr().out


def test_named_maps_take_indexes(write, capsys):
    p = write("idx.s", CHECKED.replace("map_fd(3)", "map_idx(1)"))
    assert main(["bpf", "verify", p, "--map", "first:array:4:8:4", "--map", "second:hash:8:8:16"]) == 0
    capsys.readouterr()
    assert main(["bpf", "verify", p, "--map", "first:array:4:8:4"]) == 1
    assert "fd_array[1]" in capsys.readouterr().out


def test_seccomp_unprivileged_and_gates(write, capsys):
    p = write("pid.s", "call 14\nexit\n")
    assert main(["bpf", "verify", p, "--prog-type", "seccomp", "--unprivileged"]) == 0
    capsys.readouterr()
    assert main(["bpf", "verify", p, "--prog-type", "seccomp", "--lsm-restrict"]) == 1
    assert "almost-cBPF" in capsys.readouterr().out
    q = write("rd.s", "mov %r1, %r10\nadd %r1, -8\nmov %r2, 8\nmov %r3, 0\ncall 112\nmov %r0, 0\nexit\n")
    assert main(["bpf", "verify", q, "--prog-type", "seccomp"]) == 0
    capsys.readouterr()
    assert main(["bpf", "verify", q, "--prog-type", "seccomp", "--unprivileged"]) == 1
    assert "needs CAP_BPF and CAP_PERFMON" in capsys.readouterr().out
    r = write("call.s", "call local f\nexit\nf: mov %r0, 0\nexit\n")
    assert main(["bpf", "verify", r, "--unprivileged"]) == 1
    assert "allowed for CAP_BPF and CAP_SYS_ADMIN" in capsys.readouterr().out


@pytest.mark.parametrize("args,what", [
    (["--map", "3:nosuch:8:8:16"], "unknown map type"),
    (["--map", "3:hash:8:8"], "NAME_OR_FD:TYPE"),
    (["--map", "3:hash:x:8:16"], "must be integers"),
    (["--map", "3:array:8:8:16"], "key_size must be 4"),
    (["--max-insns", "0"], "--max-insns"),
    (["--section", "prog"], "--section applies to .o files"),
])
def test_bad_input_exits_2(write, capsys, args, what):
    p = write("ok.s", CHECKED)
    assert main(["bpf", "verify", p] + args) == 2
    assert what in capsys.readouterr().err


def test_bad_program_text_exits_2(write, capsys):
    p = write("bad.s", "mov %r0, \nexit\n")
    assert main(["bpf", "verify", p]) == 2
    assert capsys.readouterr().err


def test_object_files_go_through_the_elf_loader(write, capsys):
    p = write("junk.o", b"\x7fELF not really")
    assert main(["bpf", "verify", p]) == 2
    assert "junk.o" in capsys.readouterr().err


def test_object_file_from_clang(tmp_path, capsys):
    elf = pytest.importorskip("lwnlab.bpf.elf")
    if elf.clang_path() is None:
        pytest.skip("clang with the BPF target is not installed")
    c = tmp_path / "f.c"
    c.write_text('#include "lwnlab_bpf.h"\n'
                 'struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u64); '
                 '__type(value, __u64); } counts SEC(".maps");\n'
                 'SEC("socket") int prog(void *ctx) { __u64 k = 1; __u64 *v = bpf_map_lookup_elem(&counts, &k);\n'
                 '  if (!v) return 0; return *v; }\n')
    try:
        obj = elf.compile_c(c)
    except Exception as e:  # noqa: BLE001 - a toolchain problem, not the verifier's
        pytest.skip(f"clang could not build the test object: {e}")
    assert main(["bpf", "verify", str(obj)]) == 0
    assert "accepted" in capsys.readouterr().out
