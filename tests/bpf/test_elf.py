"""Loading eBPF programs written in C: clang → ELF object → instructions, maps, relocations."""

from __future__ import annotations

import shutil
import struct

import pytest

from lwnlab.bpf import elf, isa
from lwnlab.bpf.helpers import BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, HELPERS
from lwnlab.bpf.program import check_program
from lwnlab.errors import CompileError, FilterError

needs_clang = pytest.mark.skipif(shutil.which("clang") is None,
                                 reason="clang is not installed (apt-get install clang llvm; CI installs it)")

COUNTER = r"""
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 512); __type(key, __u32); __type(value, __u64); }
    counts SEC(".maps");
struct bpf_map_def SEC("maps") legacy = { .type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 8, .max_entries = 16 };
const volatile __u32 limit = 100;
char path[16] = "/etc/shadow";
static __noinline int twice_plus_one(int x) { return x * 2 + 1; }
SEC("seccomp")
int filter(struct seccomp_data *ctx) {
    __u32 nr = ctx->nr;
    __u64 *c = bpf_map_lookup_elem(&counts, &nr);
    if (c) { __sync_fetch_and_add(c, 1); if (*c > limit) return SECCOMP_RET_ERRNO | 1; }
    if (nr == 257) return SECCOMP_RET_ERRNO | twice_plus_one(ctx->args[0]) | path[1];
    bpf_map_delete_elem(&legacy, &nr);
    return SECCOMP_RET_ALLOW;
}
char _license[] SEC("license") = "GPL";
"""


@pytest.fixture(scope="module")
def counter_obj(tmp_path_factory):
    if shutil.which("clang") is None:
        pytest.skip("clang is not installed (apt-get install clang llvm; CI installs it)")
    out = tmp_path_factory.mktemp("elf") / "counter.o"
    elf.compile_c(COUNTER, output=out)
    return out


def test_header_declares_every_modelled_helper_by_its_table_id():
    for h in HELPERS.values():
        if h.name in elf._C_PROTOS:
            assert f"bpf_{h.name})(" in elf.HEADER and f"= (void *) {h.id};" in elf.HEADER
    assert set(elf._C_PROTOS) <= {h.name for h in HELPERS.values()}


@needs_clang
def test_maps_from_btf_legacy_and_data_sections(counter_obj):
    o = elf.load_object(counter_obj)
    assert o.license == "GPL"
    names = o.map_names
    assert names[:2] == ["counts", "legacy"]
    counts, legacy = o.maps[0], o.maps[1]
    assert (counts.type, counts.key_size, counts.value_size, counts.max_entries) == (BPF_MAP_TYPE_ARRAY, 4, 8, 512)
    assert (legacy.type, legacy.key_size, legacy.value_size, legacy.max_entries) == (BPF_MAP_TYPE_HASH, 4, 8, 16)
    rodata = names.index(next(n for n in names if n.endswith(".rodata")))
    data = names.index(next(n for n in names if n.endswith(".data")))
    assert o.map_init[rodata] == struct.pack("<I", 100)
    assert o.map_init[data].startswith(b"/etc/shadow\0")
    assert o.maps[data].value_size == 16 and o.maps[data].max_entries == 1


@needs_clang
def test_relocations_give_map_idx_lddw_and_local_calls(counter_obj):
    o = elf.load_object(counter_obj)
    prog = o.program("seccomp")
    check_program(prog, allow_pseudo=True)  # structurally valid: jumps and calls land inside, ends in exit
    lddw = [(pc, x) for pc, x in enumerate(prog) if x.code == isa.LDDW]
    srcs = {x.src for _, x in lddw}
    assert srcs == {isa.BPF_PSEUDO_MAP_IDX, isa.BPF_PSEUDO_MAP_IDX_VALUE}
    idx_imms = {x.imm for _, x in lddw if x.src == isa.BPF_PSEUDO_MAP_IDX}
    assert idx_imms == {0, 1}  # counts and legacy
    # the local call lands on the appended .text function
    calls = [(pc, x) for pc, x in enumerate(prog) if x.code == isa.BPF_JMP | isa.BPF_CALL and x.src == 1]
    assert len(calls) == 1
    pc, x = calls[0]
    target = pc + 1 + x.imm
    assert o.functions["seccomp"][target] == "twice_plus_one"
    helper_calls = {x.imm for x in prog if x.code == isa.BPF_JMP | isa.BPF_CALL and x.src == 0}
    assert helper_calls == {1, 3}


@needs_clang
def test_object_from_bytes_and_program_selection(counter_obj):
    o = elf.load_object(counter_obj.read_bytes())
    assert list(o.programs) == ["seccomp"]
    assert o.program() == o.programs["seccomp"]
    with pytest.raises(FilterError, match="no program section 'xdp'"):
        o.program("xdp")


@needs_clang
def test_clang_errors_name_line_and_column():
    with pytest.raises(CompileError) as e:
        elf.compile_c("SEC(\"seccomp\")\nint f(struct seccomp_data *ctx) {\n  return ctx->nosuch;\n}\n")
    assert e.value.line == 3 and "nosuch" in e.value.message


# --------------------------------------------------------------------------- malformed objects


def test_not_elf(tmp_path):
    p = tmp_path / "x.o"
    p.write_bytes(b"hello world")
    with pytest.raises(FilterError, match="not an ELF object"):
        elf.load_object(p)


def test_missing_file(tmp_path):
    with pytest.raises(FilterError, match="cannot read"):
        elf.load_object(tmp_path / "nope.o")


def test_wrong_machine():
    with open(shutil.which("true") or "/bin/true", "rb") as f:
        host = f.read()
    with pytest.raises(FilterError, match="not a BPF object"):
        elf.load_object(host)


def test_truncated_elf_is_a_clear_error(counter_obj):
    data = counter_obj.read_bytes()
    for cut in (20, 64, len(data) // 2):
        with pytest.raises(FilterError):
            elf.load_object(data[:cut])


@needs_clang
def test_garbage_in_sections_never_crashes(counter_obj):
    import random

    data = bytearray(counter_obj.read_bytes())
    rng = random.Random(7)
    for _ in range(300):
        d = bytearray(data)
        for _ in range(8):
            d[rng.randrange(64, len(d))] = rng.randrange(256)
        try:
            elf.load_object(bytes(d))
        except FilterError:
            pass


@needs_clang
def test_lddw_of_an_extern_or_function_is_refused(tmp_path):
    src = r"""
    extern int nowhere;
    SEC("seccomp") int f(struct seccomp_data *ctx) { return nowhere; }
    """
    with pytest.raises((FilterError, CompileError)):
        elf.load_object(elf.compile_c(src, output=tmp_path / "e.o"))


@needs_clang
def test_map_of_the_wrong_shape_is_refused(tmp_path):
    src = r"""
    struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u64); __type(value, __u64); }
        bad SEC(".maps");
    SEC("seccomp") int f(struct seccomp_data *ctx) { __u64 k = 0; return bpf_map_lookup_elem(&bad, &k) != 0; }
    """
    with pytest.raises(FilterError, match="key_size must be 4"):
        elf.load_object(elf.compile_c(src, output=tmp_path / "b.o"))


# --------------------------------------------------------------------------- the command line


@needs_clang
def test_cli_cc_verify_and_seccomp_run_on_c(tmp_path, capsys):
    from lwnlab.cli import main

    src = tmp_path / "limit.c"
    src.write_text(COUNTER)
    assert main(["bpf", "cc", str(src)]) == 0
    assert (tmp_path / "limit.o").exists()
    assert "programs seccomp" in capsys.readouterr().err
    assert main(["bpf", "verify", str(tmp_path / "limit.o"), "--prog-type", "seccomp"]) == 0
    assert "accepted (seccomp)" in capsys.readouterr().out
    # the noinline function makes a bpf-to-bpf call, which unprivileged loaders may not use
    assert main(["bpf", "verify", str(src), "--prog-type", "seccomp", "--unprivileged"]) == 1
    assert "allowed for CAP_BPF and CAP_SYS_ADMIN" in capsys.readouterr().out
    assert main(["seccomp", "run", "--ebpf", str(src), "--syscall", "openat", "--args", "3"]) == 0
    out = capsys.readouterr().out
    assert "ERRNO" in out  # twice_plus_one(3) | path[1] ('e')
    bad = tmp_path / "bad.c"
    bad.write_text('SEC("seccomp") int f(struct seccomp_data *ctx) { return ctx->nosuch; }\n')
    assert main(["bpf", "cc", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.c:1:" in err and "nosuch" in err


def test_cli_cc_header(capsys):
    from lwnlab.cli import main

    assert main(["bpf", "cc", "--header"]) == 0
    assert "struct seccomp_data" in capsys.readouterr().out
    assert main(["bpf", "cc"]) == 2


def test_cli_verify_reads_map_directives(tmp_path, capsys):
    from lwnlab.cli import main

    p = tmp_path / "count.s"
    p.write_text(".map 1 c array key_size=4 value_size=8 max_entries=4\nldxw %r2, [%r1+0]\nstxw [%r10-4], %r2\n"
                 "lddw %r1, map_fd(1)\nmov %r2, %r10\nadd %r2, -4\ncall 1\nldxdw %r0, [%r0+0]\nexit\n")
    assert main(["bpf", "verify", str(p), "--prog-type", "seccomp"]) == 1
    assert "R0 invalid mem access 'map_value_or_null'" in capsys.readouterr().out
    p.write_text(".map 1 c array key_size=8 value_size=8 max_entries=4\nexit\n")
    assert main(["bpf", "verify", str(p)]) == 2
    assert "key_size must be 4" in capsys.readouterr().err


@needs_clang
def test_c_file_errors_name_the_c_file_not_a_temporary_object(tmp_path, capsys):
    from lwnlab.cli import main

    src = tmp_path / "nothing.c"
    src.write_text("int counter;\n")
    assert main(["bpf", "verify", str(src)]) == 2
    err = capsys.readouterr().err
    assert f"{src}: no program sections" in err and "lwnlab-clang-" not in err, err
