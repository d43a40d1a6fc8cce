"""Lab 3 part 2's self-checks: the starting points fail, a correct answer passes, near misses fail."""

from __future__ import annotations

from lwnlab.seccomp import ebpf_exercises as X
from lwnlab.seccomp import ebpf_widgets as EW


def test_null_check():
    assert not X.check_null_check(EW.UNCHECKED_LOOKUP)
    assert X.check_null_check(X.NULL_CHECK_SOLUTION)
    # verified but not counting: the map stays empty
    no_count = X.NULL_CHECK_SOLUTION.replace("    lock add [%r0+0], %r1\n", "")
    r = X.check_null_check(no_count)
    assert not r and "expected" in r.message
    # refuses something
    r = X.check_null_check(X.NULL_CHECK_SOLUTION.replace("mov32 %r0, 0x7fff0000", "mov32 %r0, 0x00050001"))
    assert not r and "allow everything" in r.message
    assert not X.check_null_check("not a program")


def test_getpid_budget():
    assert not X.check_getpid_budget(X.GETPID_BUDGET_START)
    assert X.check_getpid_budget(X.GETPID_BUDGET_SOLUTION)
    # off by one
    assert not X.check_getpid_budget(X.GETPID_BUDGET_SOLUTION.replace("jle %r1, 3, allow", "jle %r1, 4, allow"))
    # one budget for everyone instead of per process
    shared = X.GETPID_BUDGET_SOLUTION.replace("    call 14                        ; bpf_get_current_pid_tgid()\n"
                                              "    rsh %r0, 32                    ; the tgid: the process\n",
                                              "    mov %r0, 0\n")
    assert not X.check_getpid_budget(shared)


def test_minimum_caps():
    assert not X.check_minimum_caps(set())
    assert not X.check_minimum_caps({"CAP_BPF"})
    assert not X.check_minimum_caps({"CAP_SYS_ADMIN"})
    assert not X.check_minimum_caps({"CAP_BPF", "CAP_PERFMON", "CAP_SYS_PTRACE"})
    assert not X.check_minimum_caps({"CAP_NET_ADMIN"})
    assert X.check_minimum_caps({"CAP_BPF", "CAP_PERFMON"})


def test_lsm_prediction():
    assert not X.check_lsm_prediction({"count_limit"})
    assert not X.check_lsm_prediction({"nosuch"})
    assert X.check_lsm_prediction(set())


def test_answers_may_be_one_string():
    """A learner types X.check_minimum_caps("CAP_BPF, CAP_PERFMON"): a string is a list of names, not of
    letters (it used to answer "unknown capabilities ['A', 'B', ...]")."""
    assert X.check_minimum_caps("CAP_BPF, CAP_PERFMON")
    assert X.check_minimum_caps("bpf perfmon")
    r = X.check_minimum_caps("CAP_BPF")
    assert not r and "does not load" in r.message
    r = X.check_lsm_prediction("execve_once")
    assert not r and "unknown examples" not in r.message
    assert X.check_lsm_prediction("") and X.check_lsm_prediction(None)
