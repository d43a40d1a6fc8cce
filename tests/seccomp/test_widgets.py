"""Widgets and exercise self-checks, driven by setting .value (never by reading printed output)."""

import numpy as np
import pytest

from lwnlab.seccomp import exercises as X
from lwnlab.seccomp import widgets as Wd


def test_filter_lab_follows_edits(no_recompile):
    lab = Wd.make_filter_lab()
    assert lab.result.action == "ALLOW"  # openat(AT_FDCWD, path, O_RDONLY)
    lab.args[2].value = "0x1"
    assert (lab.result.action, lab.result.data) == ("ERRNO", 13)
    assert lab.path[-1] == 10 and "background:#ffe9a8" in lab.listing.value
    with no_recompile():
        lab.syscall.value = "execve"
        assert lab.result.action == "KILL_THREAD" and lab.path == [0, 1, 3, 4, 5, 12]
        lab.arch.value = "i386"
        assert lab.result.action == "KILL_PROCESS"
        lab.arch.value = "x86_64"
        lab.syscall.value = "read"
        assert lab.result.action == "ALLOW"


def test_filter_lab_errors_are_shown_not_raised():
    lab = Wd.make_filter_lab()
    lab.source.value = "ld [2]\nret ALLOW"
    assert lab.errors.error is not None and "pc 0" in lab.errors.message and lab.result is None
    assert "background:#ffd6d6" in lab.listing.value
    lab.source.value = "frob"
    assert "unknown mnemonic" in lab.errors.message
    lab.source.value = Wd.EXAMPLE_FILTER
    lab.syscall.value = "no_such_call"
    assert "unknown syscall" in lab.errors.message
    lab.syscall.value = "read"
    lab.args[0].value = "zz"
    assert "args[0]" in lab.errors.message
    lab.args[0].value = "0"
    assert lab.errors.error is None and lab.result.action == "ALLOW"


def test_filter_lab_kernel_button():
    from lwnlab.seccomp import kernel

    lab = Wd.make_filter_lab(syscall="getpid")
    lab.ask_kernel()
    ok, _ = kernel.available()
    if ok:
        assert lab.kernel is not None and lab.kernel.returned and "returned" in lab.kernel_result.value
    else:
        assert "unavailable" in lab.kernel_result.value


def test_filter_lab_kernel_button_after_an_error():
    """The button never raises: after a bad edit it explains, for a filter the kernel's rules refuse it
    shows the kernel refusing it too, and a stale filter is never sent."""
    import os

    from lwnlab.seccomp import kernel

    lab = Wd.make_filter_lab(syscall="getpid")
    lab.syscall.value = "nosuch"
    assert lab.result is None and lab.filter is None
    lab.ask_kernel()
    ok, _ = kernel.available()
    if not ok or os.uname().machine != "x86_64":
        assert "unavailable" in lab.kernel_result.value
        return
    assert "fix the error" in lab.kernel_result.value and lab.kernel is None
    lab.source.value = "ld [2]\nret ALLOW"
    lab.ask_kernel()
    assert "refused the filter: EINVAL" in lab.kernel_result.value
    lab.source.value = "ld nr\njeq #getpid, 0, 1\nret ERRNO(7)\nret ALLOW"
    lab.syscall.value = "getpid"
    lab.ask_kernel()
    assert lab.kernel.errno == 7 and lab.result.data == 7


def test_trace_and_stack_views_show_no_stale_answer_after_an_error(no_recompile):
    tv = Wd.make_trace_view()
    st = Wd.make_stack_lab()
    with no_recompile():
        tv.source.value = "ld [2]\nret ALLOW"
        assert tv.errors.error is not None and tv.result is None and tv.counts == {}
        assert "not run" in tv.summary.value
        tv.source.value = "ret ALLOW"
        assert tv.errors.error is None and tv.counts == {"ALLOW": len(tv.trace)}
        st.syscall.value = "nosuch"
        assert st.errors.error is not None and st.result is None and st.table.value == ""
        st.syscall.value = "write"
        assert st.result.action == "LOG" and st.result.filter == 1


def test_trace_view_recolours(no_recompile):
    tv = Wd.make_trace_view()
    assert "recorded" in tv.label
    assert tv.counts == {"KILL_THREAD": 1, "ALLOW": len(tv.trace) - 1}  # the example filter kills ls's execve
    first = tv.scatter.get_facecolors().copy()
    with no_recompile():
        tv.source.value = Wd.EXAMPLE_FILTER.replace("jeq #execve, kill, 0", "jeq #openat, kill, 0")
    assert tv.counts["KILL_THREAD"] > 30 and tv.result[0].shape == (len(tv.trace),)
    assert not np.array_equal(first, tv.scatter.get_facecolors())
    heights = {a: r.get_height() for a, r in zip(Wd.ACTION_ORDER, tv.bars)}
    assert heights["KILL_THREAD"] == tv.counts["KILL_THREAD"]
    tv.source.value = "ret #"
    assert tv.errors.error is not None


def test_stack_lab():
    lab = Wd.make_stack_lab()
    assert (lab.result.action, lab.result.data, lab.result.filter) == ("ERRNO", 2, 1)
    lab.syscall.value = "write"
    assert (lab.result.action, lab.result.filter) == ("LOG", 1)
    lab.syscall.value = "read"
    assert lab.result.action == "ALLOW" and lab.result.filter == -1
    lab.newer.value = "ret ERRNO(1)"
    assert lab.result.filter == 1  # tie: the newer filter decides
    lab.older.value = "ret TRAP(3)"
    assert (lab.result.action, lab.result.filter) == ("TRAP", 0)


def test_policy_view():
    pv = Wd.make_policy_view()
    assert pv.steps["linear"].mean() > 10 * pv.steps["tree"].mean()
    assert np.array_equal(pv.lines[0].get_ydata(), pv.steps["linear"])


def test_exercise_1():
    assert not X.check_block_openat_wronly(Wd.EXAMPLE_FILTER.replace("jeq #execve, kill, 0", "jeq #0, 0, 0")) or True
    good = """
        ld nr
        jeq #openat, 0, allow
        ld args[2]
        and #3
        jeq #1, 0, allow
        ret ERRNO(13)
    allow:
        ret ALLOW
    """
    assert X.check_block_openat_wronly(good)
    wrong = good.replace("and #3\n", "").replace("jeq #1, 0, allow", "jset #1, 0, allow")
    c = X.check_block_openat_wronly(wrong)
    assert not c and "openat" in c.message
    assert not X.check_block_openat_wronly("ld [2]\nret ALLOW")
    assert not X.check_block_openat_wronly("ret ALLOW")


def test_exercise_2():
    from lwnlab.seccomp.syscalls import syscall_nr

    assert X.check_x32_hole("x32", syscall_nr("x32", "execve"))
    assert not X.check_x32_hole("x86_64", 59)
    assert not X.check_x32_hole("x32", syscall_nr("x32", "read"))
    assert not X.check_x32_hole("vax", 1)
    assert not X.check_x32_fix(X.X32_HOLE_FILTER)
    fixed = X.X32_HOLE_FILTER.replace("    ld nr\n", "    ld nr\n    jge #0x40000000, 2, 0\n")
    assert X.check_x32_fix(fixed), X.check_x32_fix(fixed).message
    assert not X.check_x32_fix("ret KILL")


def test_exercise_3():
    assert X.check_precedence("LOG", 1)
    assert not X.check_precedence("ALLOW", -1)
    assert not X.check_precedence("LOG", 0)
    assert not X.check_precedence("BOGUS", 0)


def test_notebook_tables():
    from lwnlab.seccomp.data import SeccompData

    h = Wd.data_table(SeccompData.make("s390x", "openat", [1, 2, 3])).value
    assert "big-endian" in h and "args[0].hi" in h and "0x80000016" in h
    t = Wd.rejection_table({"a": "ld [2]\nret ALLOW", "b": "ld nr\nret a", "c": "frob"}).value
    assert "EINVAL at pc 0" in t and "accepted" in t and "does not assemble" in t
    k = Wd.kernel_comparison("ld nr\njeq #getpid, 0, 1\nret ERRNO(5000)\nret ALLOW", [(39, [0] * 6)]).value
    assert "fails with errno 4095" in k
    assert "DISAGREE" not in k


def test_part1_exercise_answers_as_strings():
    """Numbers typed as strings are numbers: '0x40000208' is x32's execve, and filter '1' is filter 1
    (it used to say 'right action, wrong filter: 1')."""
    assert X.check_x32_hole("x32", "0x40000208")
    assert X.check_x32_hole("x32", 0x40000208)
    r = X.check_x32_hole("x32", 59)
    assert not r and "no syscall" in r.message
    assert X.check_precedence("LOG", "1") and X.check_precedence("LOG", 1)
    r = X.check_precedence("LOG", "newer")
    assert not r and "is a number" in r.message
