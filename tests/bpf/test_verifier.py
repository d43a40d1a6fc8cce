"""lwnlab.bpf.verifier: the verifier core (register types, stack, context rules, branches, loops, log)."""

import pytest
from hypothesis import given, settings, strategies as st

from lwnlab.bpf import asm, verifier
from lwnlab.bpf import verifier_tnum as tn
from lwnlab.errors import VerifierError


def v(text, prog_type="socket_filter", privileged=True, **kw):
    return verifier.check(asm.assemble(text), prog_type, privileged=privileged, **kw)


def rejects(text, msg, pc=None, **kw):
    r = v(text, **kw)
    assert not r.accepted, r.log
    assert msg in r.message, r.log
    if pc is not None:
        assert r.pc == pc
    return r


def test_accepts_minimal_program_and_logs_like_the_kernel():
    r = v("mov %r0, 0\nexit")
    assert r.accepted
    assert "0: (b7) r0 = 0" in r.log
    assert "1: (95) exit" in r.log
    assert r.log.rstrip().endswith("processed 2 insns (limit 1000000)")


def test_uninitialised_register_read_names_register_and_state():
    r = rejects("mov %r0, %r2\nexit", "R2 !read_ok", pc=0)
    assert "0: R1=ctx() R10=fp0" in r.log


def test_missing_r0_at_exit():
    rejects("exit", "R0 !read_ok", pc=0)


def test_check_raises_verifier_error_with_pc_and_log():
    with pytest.raises(VerifierError) as e:
        verifier.verify(asm.assemble("mov %r0, 1\nldxw %r0, [%r0+0]\nexit"))
    assert e.value.pc == 1
    assert "invalid mem access 'scalar'" in e.value.message
    assert "processed" in e.value.log


def test_r10_is_read_only():
    from lwnlab.bpf.program import Insn
    from lwnlab.bpf import isa
    insns = [Insn(isa.BPF_ALU64 | isa.BPF_MOV | isa.BPF_K, 10, 0, 0, 1), Insn(isa.BPF_JMP | isa.BPF_EXIT)]
    r = verifier.check(insns)
    assert not r.accepted and "frame pointer is read only" in r.message


def test_structure_jump_out_of_range_unreachable_missing_exit():
    from lwnlab.bpf.program import Insn
    from lwnlab.bpf import isa
    out = [Insn(isa.BPF_JMP | isa.BPF_JA, 0, 0, 5), Insn(isa.BPF_JMP | isa.BPF_EXIT)]
    r = verifier.check(out)
    assert not r.accepted and r.message == "jump out of range from insn 0 to 6"
    rejects("mov %r0, 0\nexit\nmov %r0, 1\nexit", "unreachable insn 2", pc=2)
    r = verifier.check([Insn(isa.BPF_ALU64 | isa.BPF_MOV | isa.BPF_K, 0, 0, 0, 0)])
    assert not r.accepted and "last insn is not an exit or jmp" in r.message


def test_stack_bounds_alignment_and_initialisation():
    rejects("stdw [%r10-520], 3\nmov %r0, 0\nexit", "invalid write to stack R10 off=-520 size=8")
    rejects("stdw [%r10+0], 3\nmov %r0, 0\nexit", "invalid write to stack")
    rejects("stw [%r10-6], 3\nmov %r0, 0\nexit", "misaligned stack access")
    assert v("stdw [%r10-8], 3\nldxdw %r0, [%r10-8]\nexit").accepted
    # uninitialised stack: allowed for privileged loaders (reads as unknown), refused otherwise
    assert v("ldxdw %r0, [%r10-8]\nexit").accepted
    rejects("ldxdw %r0, [%r10-8]\nexit", "invalid read from stack", privileged=False)


def test_spill_and_fill_keep_pointer_type():
    assert v("stxdw [%r10-8], %r1\nldxdw %r2, [%r10-8]\nldxw %r0, [%r2+0]\nexit").accepted
    rejects("stxdw [%r10-8], %r1\nldxw %r2, [%r10-8]\nmov %r0, 0\nexit", "invalid size of register fill")
    rejects("stxw [%r10-8], %r1\nmov %r0, 0\nexit", "invalid size of register spill")


def test_spilled_constant_keeps_its_value_so_dead_branch_is_pruned():
    assert v("stdw [%r10-8], 7\nldxdw %r2, [%r10-8]\njeq %r2, 7, +1\nmov %r0, %r5\nmov %r0, 0\nexit").accepted


@pytest.mark.parametrize("off,size,ok", [
    (0, 4, True), (4, 4, True), (8, 8, True), (16, 8, True), (56, 8, True),
    (0, 8, False), (8, 4, False), (12, 8, False), (64, 8, False), (2, 2, False), (-8, 8, False),
])
def test_seccomp_context_rules(off, size, ok):
    sfx = {1: "b", 2: "h", 4: "w", 8: "dw"}[size]
    r = v(f"ldx{sfx} %r0, [%r1{off:+d}]\nexit", "seccomp")
    assert r.accepted == ok, r.log
    if not ok:
        assert "invalid bpf_context access" in r.message


@pytest.mark.parametrize("off,size,why", [
    (3, 1, "nr and arch are read as u32"), (6, 2, "nr and arch are read as u32"), (0, 8, "nr and arch are read as u32"),
    (8, 4, "instruction_pointer and args[] are read as u64"), (20, 4, "instruction_pointer and args[] are read as u64"),
    (64, 4, "offset outside struct seccomp_data"),
])
def test_seccomp_context_refusals_explain_the_right_field(off, size, why):
    sfx = {1: "b", 2: "h", 4: "w", 8: "dw"}[size]
    r = v(f"ldx{sfx} %r0, [%r1{off:+d}]\nexit", "seccomp")
    assert not r.accepted and r.message == f"invalid bpf_context access off={off} size={size} ({why})"


def test_seccomp_context_is_read_only():
    rejects("stxw [%r1+0], %r1\nmov %r0, 0\nexit", "read only", prog_type="seccomp")
    rejects("stw [%r1+16], 0\nmov %r0, 0\nexit", "read only", prog_type="seccomp")


@pytest.mark.parametrize("text,ok", [
    ("ldxw %r0, [%r1+0]", True),          # len
    ("ldxb %r0, [%r1+3]", True),          # narrow load
    ("ldxdw %r0, [%r1+0]", False),        # u32 field as u64
    ("ldxw %r0, [%r1+76]", False),        # data: not for socket filters
    ("ldxdw %r0, [%r1+48]", True),        # cb[] may be read 8 bytes at a time
    ("stxw [%r1+48], %r1", True),         # cb[] writable (pointer: privileged)
    ("stxw [%r1+8], %r1", False),         # mark: not writable by socket filters
    ("ldxw %r0, [%r1+192]", False),       # past the end
    ("ldxw %r0, [%r1+2]", False),         # misaligned
])
def test_socket_filter_context_rules(text, ok):
    r = v(text + "\nmov %r0, 0\nexit")
    assert r.accepted == ok, r.log


def test_modified_ctx_pointer_dereference():
    rejects("add %r1, 4\nldxw %r0, [%r1+0]\nexit", "dereference of modified ctx ptr R1 off=4 disallowed")


def test_division_by_possibly_zero_register_is_accepted():
    assert v("ldxw %r2, [%r1+0]\nmov %r0, 7\ndiv %r0, %r2\nmod %r0, %r2\nexit").accepted


@pytest.mark.parametrize("text,msg,fine", [
    ("mov %r0, 1\ndiv %r0, 0\nexit", "div by zero", "mov %r0, 1\ndiv %r0, 1\nexit"),
    ("mov %r0, 1\nmod32 %r0, 0\nexit", "div by zero", "mov %r0, 1\nmov %r1, 0\nmod32 %r0, %r1\nexit"),
    ("mov %r0, 1\nsdiv %r0, 0\nexit", "div by zero", "mov %r0, 1\nsdiv %r0, -1\nexit"),
    ("mov %r0, 1\nlsh %r0, 64\nexit", "invalid shift 64", "mov %r0, 1\nlsh %r0, 63\nexit"),
    ("mov %r0, 1\nrsh32 %r0, 32\nexit", "invalid shift 32", "mov %r0, 1\nrsh32 %r0, 31\nexit"),
    ("mov %r0, 1\narsh %r0, -1\nexit", "invalid shift -1", "mov %r0, 1\nmov %r1, -1\narsh %r0, %r1\nexit"),
])
def test_constant_division_by_zero_and_oversized_shifts_are_refused(text, msg, fine):
    """check_alu_op(): a constant divisor of 0 and a constant shift outside [0, width) are refused (EINVAL),
    unlike the same operations with a register operand, which are defined at run time."""
    r = rejects(text, msg, pc=1)
    assert r.message == msg
    assert v(fine).accepted


def test_constant_operand_checks_come_after_the_register_reads():
    rejects("div %r0, 0\nexit", "R0 !read_ok", pc=0)
    rejects("lsh %r3, 99\nexit", "R3 !read_ok", pc=0)
    rejects("mov %r0, 1\nmov %r1, %r10\nlsh %r1, 70\nexit", "invalid shift 70", pc=2)  # before the pointer rules


def test_dead_branch_pruned_by_constant_and_by_bounds():
    assert v("mov %r1, 5\njeq %r1, 5, +1\nmov %r0, %r2\nmov %r0, 0\nexit").accepted
    assert v("ldxw %r2, [%r1+0]\nand %r2, 15\njgt %r2, 20, +1\nja +1\nmov %r0, %r3\nmov %r0, 0\nexit").accepted
    # the live branch with the bad read is still found
    rejects("ldxw %r2, [%r1+0]\nand %r2, 31\njgt %r2, 20, +1\nja +1\nmov %r0, %r3\nmov %r0, 0\nexit",
            "R3 !read_ok", pc=4)


def test_bounded_loop_accepted_and_counted():
    r = v("mov %r0, 0\nmov %r1, 0\nl: add %r1, 1\njlt %r1, 100, l\nexit")
    assert r.accepted
    assert r.processed > 200  # every iteration is walked


def test_loop_back_to_identical_state_is_infinite():
    rejects("mov %r0, 0\nmov %r1, 0\nl: add %r1, 0\njeq %r1, 0, l\nexit", "infinite loop detected at insn 3")


def test_loop_beyond_the_budget_is_too_large():
    r = rejects("mov %r0, 0\nmov %r1, 0\nl: add %r1, 1\njlt %r1, 1000, l\nexit", "BPF program is too large",
                max_insns=500)
    assert r.processed == 501


def test_back_edges_refused_for_unprivileged_loaders():
    rejects("mov %r0, 0\nmov %r1, 0\nl: add %r1, 1\njlt %r1, 3, l\nexit", "back-edge from insn 3 to 2",
            prog_type="seccomp", privileged=False)


def test_pointer_rules():
    rejects("mov %r0, %r1\nexit", "R0 leaks addr as return value", prog_type="socket_filter", privileged=False)
    assert v("mov %r0, %r1\nexit").accepted  # root may (observed on Linux 6.18)
    rejects("mov %r0, %r1\nexit", "not a known value", prog_type="seccomp")
    rejects("mov %r2, %r1\nmul %r2, 2\nmov %r0, 0\nexit", "pointer arithmetic with *= operator prohibited")
    rejects("mov %r2, %r1\nand %r2, 2\nmov %r0, 0\nexit", "bitwise operator &= on pointer prohibited")
    rejects("mov %r2, %r1\nadd32 %r2, 2\nmov %r0, 0\nexit", "32-bit pointer arithmetic prohibited")
    rejects("ldxdw %r3, [%r1+48]\nmov %r2, %r10\nadd %r2, %r3\nmov %r0, 0\nexit",
            "unbounded min value is not allowed")
    assert v("mov %r0, %r10\nsub %r0, %r1\nexit").accepted
    rejects("jeq %r1, %r10, +0\nmov %r0, 0\nexit", "pointer comparison prohibited", privileged=False,
            prog_type="seccomp")


def test_variable_stack_offset_within_bounds():
    assert v("ldxw %r2, [%r1+0]\nand %r2, 7\nmov %r3, %r10\nadd %r3, -16\nadd %r3, %r2\nstb [%r3+0], 1\n"
             "mov %r0, 0\nexit").accepted
    rejects("ldxw %r2, [%r1+0]\nand %r2, 31\nmov %r3, %r10\nadd %r3, -16\nadd %r3, %r2\nstb [%r3+0], 1\n"
            "mov %r0, 0\nexit", "invalid variable-offset write to stack")


def test_unknown_program_type():
    with pytest.raises(VerifierError):
        verifier.verify(asm.assemble("mov %r0, 0\nexit"), "xdp")


# ---------------------------------------------------------------- tnum properties (soundness)

u64 = st.integers(0, (1 << 64) - 1)


def _member(draw_v, t):
    return (t.value | (draw_v & t.mask)) & tn.M64


@settings(max_examples=200)
@given(u64, u64, u64, u64, st.sampled_from(["add", "sub", "and_", "or_", "xor", "mul"]))
def test_tnum_ops_are_sound(a, am, b, bm, op):
    am &= (1 << 16) - 1 if op == "mul" else tn.M64
    ta, tb = tn.Tnum(a & ~am & tn.M64, am), tn.Tnum(b & ~bm & tn.M64, bm)
    x, y = _member(a * 7919, ta), _member(b * 104729, tb)
    real = {"add": x + y, "sub": x - y, "and_": x & y, "or_": x | y, "xor": x ^ y, "mul": x * y}[op] & tn.M64
    t = getattr(tn, op)(ta, tb)
    assert tn.contains(t, tn.const(real))


@settings(max_examples=200)
@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
def test_tnum_range_contains_its_ends(lo, hi):
    lo, hi = min(lo, hi), max(lo, hi)
    t = tn.trange(lo, hi)
    assert tn.contains(t, tn.const(lo)) and tn.contains(t, tn.const(hi))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 0xFFFFFFFF), st.sampled_from(["add", "sub", "mul", "and", "or", "xor", "lsh", "rsh", "arsh"]),
       st.integers(-(2**31), 2**31 - 1), st.booleans())
def test_constant_folding_matches_the_interpreter(k, op, imm, alu32):
    """A program of constants: the verifier's r0 must be exactly what the VM computes."""
    from lwnlab.bpf import program, vm
    if op in ("lsh", "rsh", "arsh"):
        imm &= 31 if alu32 else 63
    sfx = "32" if alu32 else ""
    text = f"mov %r0, {k}\n{op}{sfx} %r0, {imm}\nexit"
    insns = asm.assemble(text)
    res = vm.run_program(program.to_array(insns))
    r = v(text + "", log_level=1)
    assert r.accepted
    # re-run the abstract interpreter to the exit and read r0's state
    ver = verifier.Verifier(insns)
    st_ = ver._initial()
    pc = 0
    while insns[pc].code != 0x95:
        pc, _ = ver._step(pc, st_)
    assert st_.regs[0].is_const() and st_.regs[0].value == res.r0


def test_pointer_neg_and_alu32_sub_give_scalars_for_root_only():
    assert v("neg %r1\nmov %r0, 0\nexit").accepted
    rejects("neg %r1\nmov %r0, 0\nexit", "R1 pointer arithmetic prohibited", privileged=False, prog_type="seccomp")
    assert v("sub32 %r1, 3\nmov %r0, 0\nexit").accepted
    rejects("or32 %r1, 3\nmov %r0, 0\nexit", "R1 32-bit pointer arithmetic prohibited")
    rejects("mov %r6, %r10\nsub %r6, 8\nmov %r0, 0\nexit", "R6 subtraction from stack pointer prohibited")


def test_ctx_pointer_is_not_known_non_null():
    # both sides are walked: the fall-through's 4-byte pointer spill is refused
    rejects("jne %r1, 0, +1\nstxw [%r10-24], %r1\nmov %r0, 1\nexit", "invalid size of register spill", pc=1)


def test_negated_bounds_prune_a_branch():
    assert v("ldxw %r4, [%r1+48]\nneg %r4\nmov %r5, 5\njsge %r5, %r4, +1\nor %r1, 7\nmov %r0, 0\nexit").accepted


def test_pointer_offset_out_of_bounds():
    rejects("ldxw %r5, [%r1+0]\nneg %r5\nadd %r1, %r5\nmov %r0, 0\nexit", "makes ctx pointer be out of bounds")


@pytest.mark.parametrize("insn,msg", [
    ((0x0F, 0, 2, 0, 5), "BPF_ALU uses reserved fields"),         # add r0, r2 with imm != 0
    ((0xB4, 0, 0, 16, 1), "BPF_MOV uses reserved fields"),        # mov32 with an offset
    ((0x84, 0, 0, 0, 1), "BPF_NEG uses reserved fields"),
    ((0xD4, 0, 8, 0, 16), "BPF_END uses reserved fields"),
    ((0x7B, 10, 2, -8, 7), "BPF_STX uses reserved fields"),
    ((0xC3, 10, 2, -8, 0x10), "BPF_ATOMIC uses invalid atomic opcode 10"),
    ((0x1D, 0, 2, 0, 9), "BPF_JMP/JMP32 uses reserved fields"),
    ((0x29, 0, 1, 0, 0), "BPF_LDX uses reserved fields"),
    ((0xE2, 0, 0, 0, 0), "unknown opcode e2"),
])
def test_malformed_instructions_are_refused_in_the_kernels_words(insn, msg):
    """Structural refusals read like the live kernel's log line (lwnlab's detail in parentheses)."""
    from lwnlab.bpf.program import Insn

    prog = [Insn(0xB7, 0, 0, 0, 0), Insn(0xB7, 2, 0, 0, 1), Insn(0x7B, 10, 2, -8, 0), Insn(*insn), Insn(0x95)]
    r = verifier.check(prog, "socket_filter", privileged=True)
    assert not r.accepted and r.pc == 3 and r.message.startswith(msg), r.message


def test_cap_bpf_alone_is_bpf_capable_but_not_perfmon():
    """Since 5.8 the verifier splits privilege: CAP_BPF gives bpf_capable (back-edges, calls, 1M insns),
    CAP_PERFMON gives allow_ptr_leaks / allow_uninit_stack / bypass_spec_v1 (checked against Linux 6.18
    with a CAP_BPF-only loader in tests/differential)."""
    from lwnlab.bpf.helpers import Privileges

    bpf_only = Privileges(cap_bpf=True)
    both = Privileges(cap_bpf=True, cap_perfmon=True)
    for text, msg in [("mov %r0, %r10\nexit", "R0 leaks addr as return value"),
                      ("ldxdw %r0, [%r10-8]\nexit", "invalid read from stack R10 off=-8 size=8"),
                      ("mov %r0, 0\nmov %r6, %r10\nadd %r6, 5\nexit",
                       "R6 stack pointer arithmetic goes out of range, prohibited for !root; off=5")]:
        r = v(text, privileges=bpf_only)
        assert not r.accepted and r.message == msg, r.message
        assert v(text, privileges=both).accepted
    loop = "mov %r0, 0\nl: add %r0, 1\njlt %r0, 10, l\nexit"
    assert "back-edge" in v(loop, privileges=Privileges(cap_perfmon=True)).message  # not bpf_capable
    assert v("call local f\nexit\nf: mov %r0, 0\nexit", privileges=bpf_only).accepted


def test_uninitialised_stack_reads_are_worded_like_linux_6_18():
    from lwnlab.bpf.helpers import Privileges

    def msg(text):
        return v(text, privileged=False, privileges=Privileges()).message

    assert msg("ldxw %r0, [%r10-12]\nexit") == "invalid read from stack R10 off=-12 size=4"  # below what was written
    assert msg("stw [%r10-8], 1\nldxdw %r0, [%r10-8]\nexit") == "invalid read from stack off -8+4 size 8"
    assert msg("stdw [%r10-16], 1\nldxw %r0, [%r10-4]\nexit") == "invalid read from stack off -4+0 size 4"
