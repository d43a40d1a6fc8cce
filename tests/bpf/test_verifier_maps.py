"""lwnlab.bpf.verifier: maps, helper calls, null checks, bpf-to-bpf calls, the seccomp type, loops, states."""

import time

import pytest

from lwnlab.bpf import asm, verifier
from lwnlab.bpf.helpers import Gates, MapSpec, Privileges
from lwnlab.errors import VerifierError

ARRAY = MapSpec(2, 4, 8, 4, "arr")
HASH = MapSpec(1, 8, 16, 16, "h")
PROG_ARRAY = MapSpec(3, 4, 4, 4, "progs")
TASK = MapSpec(29, 4, 8, 0, "ts")
ONE = MapSpec(2, 4, 16, 1, "cfg")
MAPS = {3: ARRAY, 4: HASH, 5: PROG_ARRAY, 6: TASK, 7: ONE}

LOOKUP = "lddw %r1, map_fd({fd})\nmov %r2, %r10\nadd %r2, -8\n{key}call 1\n"


def v(text, prog_type="socket_filter", privileged=True, maps=MAPS, **kw):
    return verifier.check(asm.assemble(text), prog_type, privileged=privileged, maps=maps, **kw)


def accepts(text, **kw):
    r = v(text, **kw)
    assert r.accepted, r.log
    return r


def rejects(text, msg, pc=None, **kw):
    r = v(text, **kw)
    assert not r.accepted, r.log
    assert msg in r.message, r.log
    if pc is not None:
        assert r.pc == pc, r.log
    if r.processed:  # the register state at the pc is in the log (not for the structural passes)
        assert f"{r.pc}: " in r.log
    return r


def lookup(fd=4, key="stdw [%r10-8], 1\n"):
    return LOOKUP.format(fd=fd, key=key)


# ---------------------------------------------------------------- maps


def test_lddw_map_fd_gives_const_ptr_to_map_and_unknown_fd_is_refused():
    r = accepts("lddw %r1, map_fd(4)\nmov %r0, 0\nexit")
    assert "R1=map_ptr(map=h,ks=8,vs=16)" in r.insn_states[0][2]
    rejects("lddw %r1, map_fd(9)\nmov %r0, 0\nexit", "fd 9 is not pointing to valid bpf_map", pc=0)
    rejects("lddw %r1, map_idx(2)\nmov %r0, 0\nexit", "fd_array[2] is not pointing to valid bpf_map", pc=0)
    accepts("lddw %r1, map_idx(2)\nmov %r0, 0\nexit", maps={2: HASH})


def test_direct_map_value_and_its_bounds():
    accepts("lddw %r2, map_value(7, 4)\nldxw %r0, [%r2+8]\nexit")
    rejects("lddw %r2, map_value(7, 4)\nldxw %r0, [%r2+12]\nexit",
            "invalid access to map value, value_size=16 off=16 size=4", pc=2)
    rejects("lddw %r2, map_value(7, 16)\nmov %r0, 0\nexit", "invalid access to map value pointer, value_size=16 off=16")
    rejects("lddw %r2, map_value(3, 0)\nmov %r0, 0\nexit", "direct value access")  # arrays of one element only


def test_lookup_returns_map_value_or_null_with_an_id():
    r = v(lookup() + "ldxw %r0, [%r0+0]\nexit")
    assert not r.accepted and r.message == "R0 invalid mem access 'map_value_or_null'" and r.pc == 6
    assert "R0=map_value_or_null(id=1,map=h,ks=8,vs=16)" in r.log


@pytest.mark.parametrize("check", ["jeq %r0, 0, +2", "jne %r0, 0, +1\nja +2"])
def test_null_check_on_both_sides(check):
    accepts(lookup() + check + "\nldxw %r0, [%r0+12]\nexit\nmov %r0, 0\nexit")


def test_null_check_marks_copies_and_spills_with_the_same_id():
    accepts(lookup() + "mov %r6, %r0\nstxdw [%r10-16], %r0\njeq %r0, 0, +4\nldxw %r1, [%r6+0]\n"
            "ldxdw %r2, [%r10-16]\nldxw %r0, [%r2+4]\nexit\nmov %r0, 0\nexit")
    # the null side is a scalar 0 in every copy
    r = accepts(lookup() + "mov %r6, %r0\njne %r0, 0, +2\nmov %r0, %r6\nexit\nmov %r0, 0\nexit")
    assert any("R6=0" in s for s in r.states[8])


def test_jmp32_null_check_does_not_count():
    rejects(lookup() + "jeq32 %r0, 0, +2\nldxw %r0, [%r0+0]\nexit\nmov %r0, 0\nexit",
            "R0 invalid mem access 'map_value_or_null'", pc=7)


def test_pointer_arithmetic_on_maybe_null_and_map_pointers():
    rejects(lookup() + "add %r0, 4\nexit", "R0 pointer arithmetic on map_value_or_null prohibited, null-check it "
            "first", pc=6)
    rejects("lddw %r1, map_fd(4)\nadd %r1, 8\nmov %r0, 0\nexit", "R1 pointer arithmetic on map_ptr prohibited")
    accepts("lddw %r1, map_fd(4)\nadd %r1, 0\nmov %r0, 0\nexit")  # += 0 is allowed


def test_map_value_bounds_fixed_and_variable_offsets():
    ok = lookup() + "jeq %r0, 0, +{n}\n{body}\nmov %r0, 0\nexit"
    accepts(ok.format(n=1, body="ldxdw %r1, [%r0+8]"))
    r = rejects(ok.format(n=1, body="ldxw %r1, [%r0+16]"), "invalid access to map value, value_size=16 off=16 size=4")
    assert "R0 min value is outside of the allowed memory range" in r.log
    rejects(ok.format(n=1, body="ldxw %r1, [%r0-4]"), "invalid access to map value, value_size=16 off=-4 size=4")
    # a variable index: bounded and unsigned is fine, unbounded is not, signed-negative is not
    accepts("mov %r6, %r1\n" + ok.format(n=4, body="ldxw %r1, [%r6+0]\nand %r1, 7\nadd %r0, %r1\nldxdw %r1, [%r0+0]"))
    r = rejects("mov %r6, %r1\n" + ok.format(n=4, body="ldxw %r1, [%r6+0]\nand %r1, 15\nadd %r0, %r1\n"
                                             "ldxdw %r1, [%r0+0]"),
                "invalid access to map value, value_size=16 off=15 size=8")
    assert "R0 max value is outside of the allowed memory range" in r.log
    rejects("mov %r6, %r1\n" + ok.format(n=5, body="ldxw %r1, [%r6+0]\nand %r1, 7\nsub %r1, 4\nadd %r0, %r1\n"
                                         "ldxb %r1, [%r0+0]"),
            "R0 min value is negative, either use unsigned index or do a if (index >=0) check.")


def test_unprivileged_pointer_leaks():
    # storing a map pointer into a map value, returning one, comparing pointers
    text = lookup() + "jeq %r0, 0, +3\nlddw %r1, map_fd(4)\nstxdw [%r0+0], %r1\nmov %r0, 0\nexit"
    accepts(text)
    rejects(text, "R1 leaks addr into map", privileged=False)
    rejects("lddw %r0, map_fd(4)\nexit", "R0 leaks addr as return value", privileged=False)
    rejects("lddw %r2, map_fd(4)\njeq %r2, %r10, +0\nmov %r0, 0\nexit", "pointer comparison prohibited",
            privileged=False)
    # a null check is not a pointer comparison
    accepts(lookup() + "jeq %r0, 0, +1\nldxw %r1, [%r0+0]\nmov %r0, 0\nexit", privileged=False)


def test_array_lookup_with_constant_key_is_not_null():
    # Linux 6.14+ (observed on 6.18): a constant in-range key of an array map gives a non-NULL value pointer
    accepts(lookup(3, "stw [%r10-8], 2\n") + "ldxw %r0, [%r0+4]\nexit")
    rejects(lookup(3, "stw [%r10-8], 4\n") + "ldxw %r0, [%r0+4]\nexit", "map_value_or_null")
    rejects(lookup(3, "stw [%r10-8], 2\n") + "ldxw %r0, [%r0+4]\nexit", "map_value_or_null", privileged=False)


# ---------------------------------------------------------------- helper calls


def test_helper_ids_gates_and_log_names():
    rejects("call 300\nmov %r0, 0\nexit", "invalid func unknown#300", pc=0)
    rejects("call 9\nmov %r0, 0\nexit", "program of this type cannot use helper bpf_skb_store_bytes#9")
    r = accepts("call 5\nexit")
    assert "0: (85) call bpf_ktime_get_ns#5" in r.log
    # trace_printk needs CAP_BPF and CAP_PERFMON; task storage is seccomp-only (patch 12)
    rejects("call 6\nmov %r0, 0\nexit", "needs CAP_BPF and CAP_PERFMON", privileged=False)
    rejects("call 156\nmov %r0, 0\nexit", "cannot use helper bpf_task_storage_get#156")
    # get_current_pid_tgid: the proposal's seccomp set; Linux 6.18 gives it to socket filters too (observed)
    accepts("call 14\nexit", prog_type="seccomp", privileged=False)
    accepts("call 14\nexit")


def test_after_a_call_r1_to_r5_are_dead_and_r0_is_the_return():
    rejects("call 7\nmov %r0, %r1\nexit", "R1 !read_ok", pc=1)
    r = accepts("mov %r6, 3\ncall 7\nadd %r0, %r6\nexit")
    assert "R0=scalar()" in r.insn_states[1][2]


def test_argument_types():
    rejects("mov %r2, 0\ncall 1\nmov %r0, 0\nexit", "R1 type=ctx expected=map_ptr", pc=1)
    rejects("lddw %r1, map_fd(4)\ncall 1\nmov %r0, 0\nexit", "R2 !read_ok", pc=2)
    rejects("lddw %r1, map_fd(4)\nmov %r2, 8\ncall 1\nmov %r0, 0\nexit",
            "R2 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_")
    # the key must fit the stack and (unprivileged) be initialised
    rejects("lddw %r1, map_fd(4)\nmov %r2, %r10\nadd %r2, -4\ncall 1\nmov %r0, 0\nexit",
            "invalid read from stack R2 off=-4 size=8")
    r = rejects("lddw %r1, map_fd(4)\nmov %r2, %r10\nadd %r2, -8\ncall 1\nmov %r0, 0\nexit",
                "invalid indirect read from stack R2 off -8+0 size 8", privileged=False)
    assert r.pc == 4
    accepts("lddw %r1, map_fd(4)\nmov %r2, %r10\nadd %r2, -8\ncall 1\nmov %r0, 0\nexit")  # root: allow_uninit_stack
    # a map value can be the key
    accepts(lookup() + "jeq %r0, 0, +4\nmov %r2, %r0\nlddw %r1, map_fd(4)\ncall 1\nmov %r0, 0\nexit")
    # ARG_ANYTHING refuses pointers for unprivileged loaders
    upd = ("lddw %r1, map_fd(4)\nmov %r2, %r10\nadd %r2, -8\nstdw [%r10-8], 0\nmov %r3, %r10\nadd %r3, -24\n"
           "stdw [%r10-24], 0\nstdw [%r10-16], 0\nmov %r4, {flags}\ncall 2\nexit")
    accepts(upd.format(flags=0), privileged=False)
    rejects(upd.format(flags="%r10"), "R4 leaks addr into helper function", privileged=False)
    rejects(upd.format(flags=0).replace("stdw [%r10-16], 0\n", ""), "invalid indirect read from stack R3 off -24+8",
            privileged=False)


def test_uninit_mem_and_const_size_pairs():
    pr = "mov %r1, %r10\nadd %r1, -16\nmov %r2, {size}\nmov %r3, 0\ncall 112\nldxdw %r0, [%r10-16]\nexit"
    r = accepts(pr.format(size=16), prog_type="seccomp")
    assert "fp-16=mmmmmmmm" in r.insn_states[-2][2]  # the helper filled it in
    rejects(pr.format(size=24), "invalid write to stack R1 off=-16 size=24", prog_type="seccomp")
    rejects(pr.format(size=-1), "R2 min value is negative, either use unsigned or 'var &= const'",
            prog_type="seccomp")
    accepts(pr.format(size=0).replace("ldxdw %r0, [%r10-16]", "mov %r0, 0"), prog_type="seccomp")
    # a variable size must be bounded
    var = ("mov %r6, %r1\nldxw %r2, [%r6+0]\n{mask}mov %r1, %r10\nadd %r1, -16\nmov %r3, 0\ncall 112\n"
           "mov %r0, 0\nexit")
    accepts(var.format(mask="and %r2, 15\n"), prog_type="seccomp")
    rejects(var.format(mask="and %r2, 31\n"), "invalid write to stack R1 off=-16 size=31", prog_type="seccomp")
    rejects(var.format(mask=""), "R2 unbounded memory access", prog_type="seccomp")
    # the Yama gate: reading user memory needs CAP_SYS_PTRACE too
    rejects(pr.format(size=16), "Yama", prog_type="seccomp", privileges=Privileges(True, True, False, False),
            gates=Gates(yama=True))


def test_ctx_argument_and_tail_call():
    tc = "mov %r1, %r1\nlddw %r2, map_fd({fd})\nmov %r3, 0\ncall 12\nmov %r0, %r0\nexit"
    rejects(tc.format(fd=5), "R0 !read_ok")  # tail_call returns nothing
    accepts(tc.format(fd=5).replace("mov %r0, %r0", "mov %r0, 0"))
    rejects(tc.format(fd=4).replace("mov %r0, %r0", "mov %r0, 0"), "expected prog array map for tail call")
    rejects("add %r1, 8\nlddw %r2, map_fd(5)\nmov %r3, 0\ncall 12\nmov %r0, 0\nexit",
            "dereference of modified ctx ptr R1 off=8 disallowed")
    rejects(lookup(5, "stw [%r10-8], 0\n") + "mov %r0, 0\nexit", "cannot pass map_type 3 into func "
            "bpf_map_lookup_elem#1")


def test_task_storage_needs_a_task_storage_map():
    ts = "lddw %r1, map_fd({fd})\nmov %r2, 0\nmov %r3, 0\nmov %r4, 1\ncall 156\njeq %r0, 0, +1\nldxdw %r0, [%r0+0]\n" \
         "mov %r0, 0\nexit"
    accepts(ts.format(fd=6), prog_type="seccomp", privileged=False)
    rejects(ts.format(fd=3), "cannot pass map_type 2 into func bpf_task_storage_get#156", prog_type="seccomp")
    rejects(ts.format(fd=6).replace("mov %r2, 0", "mov %r2, 5"), "R2 type=scalar expected=ptr_",
            prog_type="seccomp")


# ---------------------------------------------------------------- bpf-to-bpf calls


def test_subprogram_frames_args_and_return():
    r = accepts("mov %r6, 3\nmov %r1, 4\ncall local f\nadd %r0, %r6\nexit\nf: mov %r0, %r1\nadd %r0, 1\nexit")
    assert "frame1:" in "".join(s for _, _, s in r.insn_states)
    rejects("mov %r1, 1\ncall local f\nmov %r0, %r1\nexit\nf: mov %r0, %r1\nexit", "R1 !read_ok", pc=2)
    rejects("call local f\nexit\nf: mov %r0, %r6\nexit", "R6 !read_ok")  # r6 is the caller's
    rejects("call local f\nexit\nf: mov %r0, %r10\nexit", "cannot return stack pointer to the caller")
    # a pointer to the caller's stack is a fine argument
    accepts("stdw [%r10-8], 7\nmov %r1, %r10\nadd %r1, -8\ncall local f\nexit\nf: ldxdw %r0, [%r1+0]\nexit")


def test_combined_stack_depth_and_call_depth():
    rejects("stdw [%r10-512], 1\ncall local f\nmov %r0, 0\nexit\nf: stdw [%r10-8], 1\nmov %r0, 0\nexit",
            "combined stack size of 2 calls is 528. Too large")
    accepts("stdw [%r10-256], 1\ncall local f\nmov %r0, 0\nexit\nf: stdw [%r10-256], 1\nmov %r0, 0\nexit")
    rejects("mov %r1, 0\ncall local f\nmov %r0, 0\nexit\nf: add %r1, 1\ncall local f\nexit",
            "the call stack of 9 frames is too deep")


def test_calls_need_cap_bpf():
    rejects("call local f\nexit\nf: mov %r0, 0\nexit",
            "loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN",
            privileged=False)


# ---------------------------------------------------------------- the seccomp type


def test_seccomp_return_must_be_a_scalar_and_lsm_restricts_to_almost_cbpf():
    rejects(lookup() + "exit", "At program exit the register R0 is not a known value (map_value_or_null)",
            prog_type="seccomp")
    g = Gates(lsm_restrict=True)
    accepts("ldxw %r0, [%r1+0]\nstdw [%r10-8], 1\njeq %r0, 39, +1\nmov %r0, 0\nexit", prog_type="seccomp", gates=g)
    rejects("call 14\nexit", "LSM", prog_type="seccomp", gates=g)
    rejects("lddw %r1, map_fd(4)\nmov %r0, 0\nexit", "almost-cBPF", prog_type="seccomp",
            gates=g)
    rejects("call local f\nexit\nf: mov %r0, 0\nexit", "almost-cBPF", prog_type="seccomp", gates=g)
    # the switches do not apply to socket filters
    accepts("call 5\nexit", gates=g)


# ---------------------------------------------------------------- loops


def test_bounded_loop_counts_like_the_kernel_and_fast():
    t = time.process_time()
    r = accepts("mov %r0, 0\nmov %r1, 0\nl: add %r1, 1\njlt %r1, 30000, l\nexit")
    assert r.processed == 60003  # Linux 6.18 says the same (observed)
    assert time.process_time() - t < 30  # generous: never a grind (typically milliseconds)


@pytest.mark.parametrize("text", [
    "ldxw %r2, [%r1+0]\nmov %r0, 0\nmov %r1, 0\nl: add %r1, 1\njlt %r1, %r2, l\nexit",
    "ldxw %r2, [%r1+0]\nmov %r0, 0\nmov %r1, 0\nl: add %r1, 2\nadd %r0, 3\njgt %r2, %r1, l\nexit",
    "mov %r0, 0\nmov %r1, 0\nl: add %r1, 1\njlt %r1, 500000, l\nexit",
    # a non-linear value no check reads: fast-forwarded from the state where it is unknown
    "ldxw %r2, [%r1+0]\nmov %r0, 0\nmov %r3, 1\nl: mul %r3, 3\nadd %r3, 1\njne %r2, 7, l\nexit",
])
def test_unbounded_loops_hit_the_budget_with_the_kernels_count(text):
    r = rejects(text, "BPF program is too large. Processed 1000001 insn")
    assert r.processed == 1000001


def test_loop_acceleration_matches_the_plain_walk():
    text = "mov %r0, 0\nmov %r1, 0\nl: add %r1, 3\nstxdw [%r10-8], %r1\nldxdw %r3, [%r10-8]\njlt %r3, 3000, l\nexit"
    fast = v(text)
    slow = v(text, accelerate_loops=False)
    assert fast.accepted and slow.accepted and fast.processed == slow.processed
    text = "ldxw %r2, [%r1+0]\nmov %r0, 0\nmov %r1, 0\nl: add %r1, 1\njlt %r1, %r2, l\nexit"
    fast, slow = v(text, max_insns=5000), v(text, max_insns=5000, accelerate_loops=False)
    assert (fast.accepted, fast.processed, fast.message) == (slow.accepted, slow.processed, slow.message)


def test_infinite_loop_detected():
    # Linux 6.18 says the same, after 10 processed insns (observed)
    r = rejects("mov %r0, 0\nldxw %r1, [%r1+0]\nl: add %r1, 0\njgt %r1, 5, l\nexit", "infinite loop detected at insn 2")
    assert r.processed == 10


def test_imprecise_counters_do_not_multiply_paths():
    # each diamond doubles the values of r7, which no check ever reads: the kernel prunes them all
    # (precision tracking), and so does lwnlab's static stand-in (Linux 6.18: 304 insns for n=40)
    n = 40
    text = "mov %r6, %r1\nmov %r7, 0\n" + "".join(
        f"lsh %r7, 1\nldxb %r2, [%r6+{i % 4}]\njgt %r2, 5, +1\nadd %r7, 1\n" for i in range(n)) + "mov %r0, %r7\nexit"
    r = accepts(text)
    assert r.processed < 1000
    # when r7 is checked (a branch on it) its values matter, and the walk grows
    checked = text.replace("mov %r0, %r7\nexit", "jeq %r7, 3, +0\nmov %r0, %r7\nexit").replace(f"range({n})", "")
    assert v(checked, max_insns=3000).processed > r.processed


# ---------------------------------------------------------------- the API and the step slider


def test_verify_raises_and_check_returns():
    bad = asm.assemble(lookup() + "ldxw %r0, [%r0+0]\nexit")
    with pytest.raises(VerifierError) as e:
        verifier.verify(bad, maps=MAPS)
    assert e.value.pc == 6 and "map_value_or_null" in e.value.message and "processed" in e.value.log
    assert verifier.check(bad, maps=MAPS).accepted is False
    assert verifier.verify(asm.assemble("mov %r0, 0\nexit")).accepted


def test_states_for_the_step_slider():
    r = v(lookup() + "jeq %r0, 0, +1\nldxw %r0, [%r0+16]\nmov %r0, 0\nexit")
    assert not r.accepted and r.pc == 7
    pcs = [pc for pc, _, _ in r.insn_states]
    assert pcs[:5] == [0, 2, 3, 4, 5] and pcs[-1] == 7
    pc, text, state = r.insn_states[-1]
    assert text.startswith("7: (61) r0 = *(u32 *)(r0 +16)") and "R0=map_value(map=h,ks=8,vs=16)" in state
    assert 7 in r.states and r.states[5]
    j = r.to_json()
    assert set(j) == {"accepted", "prog_type", "processed", "pc", "message", "log"}


def test_linked_scalars_bound_each_other():
    # Linux 6.18 accepts all three (observed): the branch on r2 bounds its copies r8 (plus 1) and the spill
    tail = "mov %r3, %r10\nadd %r3, -16\nadd %r3, %r8\nstb [%r3+0], 1\nmov %r0, 0\nexit"
    accepts("ldxb %r2, [%r1+0]\nmov %r8, %r2\njgt %r2, 7, +4\n" + tail)
    accepts("ldxb %r2, [%r1+0]\nmov %r8, %r2\nadd %r8, 1\njgt %r2, 7, +4\n" + tail)
    accepts("ldxb %r2, [%r1+0]\nmov %r8, %r2\nstxdw [%r10-8], %r8\njgt %r2, 7, +5\nldxdw %r8, [%r10-8]\n" + tail)
    # a second constant add breaks the link (BPF_ADD_CONST once), so r8 is not bounded
    rejects("ldxb %r2, [%r1+0]\nmov %r8, %r2\nadd %r8, 1\nadd %r8, 1\njgt %r2, 7, +4\n" + tail,
            "invalid variable-offset write to stack R3 var_off=(0x0; 0x1ff) off=-16 size=1")


def test_sign_extended_byte_has_a_32_bit_signed_range():
    # an s8 never equals 0x80000000 in its low half: the branch is decided (Linux 6.18: 4 insns processed)
    r = accepts("ldxsb %r0, [%r1+4]\njne32 %r0, 0x80000000, +1\nmov %r0, %r5\nmov %r0, 0\nexit")
    assert r.processed == 4


def test_budget_fast_forward_needs_a_loop_that_cannot_leave():
    # the exit depends on the non-linear counter reaching a constant: the unknown-counter iteration
    # explores the exit too, so no fast-forward; the plain walk finds the exit (r1 = 1, 4, 13, 40)
    r = accepts("mov %r0, 0\nmov %r1, 1\nl: mul %r1, 3\nadd %r1, 1\njne %r1, 40, l\nexit")
    assert r.processed == 2 + 3 * 3 + 1


def test_running_sums_do_not_stop_the_acceleration():
    # r0 (a running sum, read by no check) changes non-linearly; the counter r1 is linear: same count as the plain walk
    text = "mov %r0, 0\nmov %r1, 0\nl: add %r1, 3\nadd %r0, %r1\njlt %r1, 6000, l\nexit"
    fast, slow = v(text), v(text, accelerate_loops=False)
    assert fast.accepted and slow.accepted and fast.processed == slow.processed == 6003
    assert "fast-forwarded" in fast.log
