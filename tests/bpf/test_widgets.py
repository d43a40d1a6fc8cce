from lwnlab.bpf.widgets import make_ebpf_runner


def test_runner_follows_edits(no_recompile):
    r = make_ebpf_runner()
    assert r.result.r0 == 15 and "r0 = 0xf" in r.output.value and "goto pc" in r.listing.value
    with no_recompile():
        r.memory.value = "ff ff"
        assert r.result.r0 == 510
        r.source.value = r.source.value.replace("ldxb %r5, [%r4]", "ldxb %r5, [%r4+1]")
        assert r.result.error is not None and "out-of-bounds" in r.output.value
        r.source.value = "ja -1\nexit"
        r.budget.value = 50
        assert "budget" in r.output.value
    r.source.value = "mov %r0, 1"
    assert r.errors.error is not None and "last instruction" in r.errors.message
    r.source.value = "exit"
    r.memory.value = "zz"
    assert "hex" in r.errors.message
