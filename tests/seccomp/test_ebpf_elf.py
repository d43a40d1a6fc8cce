"""eBPF seccomp filters written in C (clang -target bpf), loaded from the ELF object with their maps.

(BPF_PROG_TYPE_SECCOMP is a model of the 2021 proposal, never merged.)
"""

import pytest

from lwnlab.seccomp.data import SeccompData
from lwnlab.seccomp.ebpf import EbpfFilter

elf = pytest.importorskip("lwnlab.bpf.elf")
if elf.clang_path() is None:
    pytest.skip("clang is not installed", allow_module_level=True)

SRC = r"""
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u64);
} counts SEC(".maps");

const volatile __u64 limit = 2;

SEC("seccomp")
int count_limit(struct seccomp_data *ctx)
{
    __u32 nr = ctx->nr;
    __u64 one = 1, *v = bpf_map_lookup_elem(&counts, &nr);
    if (!v) {
        bpf_map_update_elem(&counts, &nr, &one, BPF_NOEXIST);
        return SECCOMP_RET_ALLOW;
    }
    __sync_fetch_and_add(v, 1);
    if (*v > limit)
        return SECCOMP_RET_ERRNO | 1;
    return SECCOMP_RET_ALLOW;
}
"""


@pytest.fixture(scope="module")
def obj(tmp_path_factory):
    out = tmp_path_factory.mktemp("elf") / "count.o"
    return elf.compile_c(SRC, output=out)


def test_c_filter_counts_in_its_hash_map(obj):
    f = EbpfFilter.from_object(obj, verify=False)
    assert "counts" in f.maps and f.maps["counts"].type_name == "hash"
    rets = [f.run(SeccompData.make("x86_64", "getpid")) for _ in range(4)]
    assert rets == [0x7FFF0000, 0x7FFF0000, 0x00050001, 0x00050001]  # limit = 2 from .rodata
    assert f.maps["counts"].as_dict() == {39: 4}
    rodata = next(m for name, m in f.maps.items() if name.endswith("rodata"))
    assert rodata.as_dict() == {0: 2}  # the global, through lddw map_value (a one-entry array)
    rodata.update(0, 9)  # the loader may set it before the program runs (as libbpf's skeletons do)
    assert f.run(SeccompData.make("x86_64", "getpid")) == 0x7FFF0000


def test_c_filter_from_file_and_the_cli(obj, capsys):
    from lwnlab.cli import main

    f = EbpfFilter.from_file(str(obj), verify=False)
    assert f.run(SeccompData.make("x86_64", "read")) == 0x7FFF0000
    assert main(["seccomp", "run", "--ebpf", str(obj), "--no-verify", "--syscall", "read", "--show-maps"]) == 0
    assert "map counts" in capsys.readouterr().out
    assert main(["seccomp", "run", "--ebpf", str(obj), "--no-verify", "--section", "nope", "--syscall", "read"]) == 2
    assert "no program section 'nope'" in capsys.readouterr().err
