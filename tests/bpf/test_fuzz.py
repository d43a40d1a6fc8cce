"""Bad input never crashes: random text and bytes give a result or an LwnlabError naming where."""

import numpy as np
from hypothesis import given, settings, strategies as st

from lwnlab.bpf import asm, classic, classic_asm, program, vm
from lwnlab.errors import LwnlabError

from .conftest import EXAMPLES

TOKENS = ["mov", "mov32", "add", "ldxw", "stxdw", "lock", "add32", "fetch", "jeq", "ja", "lddw", "call", "local",
          "exit", "%r0", "%r1", "%r10", "%r11", "r3", "[%r1+4]", "[%r10-8]", "[%r1+", "0x10", "-1", "+2", "label",
          "label:", ",", "  ", "\n", "#", "be16", "movsx8", ".insn", "99999999999", "ld", "ldx", "jge", "#5",
          "ret", "#ALLOW", "M[3]", "[4]", "args[1]", "nr", "x", "a", "#execve", "ERRNO(1)", "4*([14]&0xf)"]


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join))
def test_assemblers_raise_only_lwnlab_errors(text):
    for f in (asm.assemble, classic_asm.assemble):
        try:
            f(text)
        except LwnlabError as e:
            assert e.line is not None or e.field is not None


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.binary(max_size=96))
def test_random_ebpf_bytes(raw):
    try:
        insns = program.decode(raw)
        program.check_program(insns)
    except LwnlabError as e:
        return
    res = vm.run_program(program.to_array(insns), bytes(16), budget=10_000)
    assert res.error is None or res.error.pc is not None


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.binary(min_size=8, max_size=96))
def test_random_classic_bytes(raw):
    from lwnlab.seccomp.data import SeccompData
    from lwnlab.seccomp.filter import Filter, Stack

    try:
        f = Filter.prepare(raw[: len(raw) // 8 * 8], big_endian=False)
    except LwnlabError:
        return
    d = SeccompData(39, 0xC000003E, 0, (1, 2, 3))
    dec = Stack([f], cache=False).decide(d)
    assert dec.ret == f.run_ebpf(d)
