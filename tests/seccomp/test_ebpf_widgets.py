"""Lab 3 part 2's widgets, driven by setting control values and reading their state."""

from __future__ import annotations

import shutil

import matplotlib
import pytest

matplotlib.use("Agg")

from lwnlab._jit import no_recompile  # noqa: E402
from lwnlab.seccomp import ebpf_widgets as EW  # noqa: E402


def test_side_by_side_agree_on_the_recorded_trace_and_native_is_shorter():
    s = EW.make_side_by_side()
    assert s.errors.message == ""
    c = s.comparison
    assert c.total > 100 and c.agree == c.total and not c.disagreements
    assert c.native_len < c.classic_len
    assert s.native_steps < s.classic_steps


def test_side_by_side_reports_a_disagreement_and_bad_input():
    s = EW.make_side_by_side()
    with no_recompile():
        s.native_src.value = EW.NATIVE_EXAMPLE.replace("jeq %r2, 59, kill", "jeq %r2, 60, kill")
    assert s.errors.message == ""
    assert s.comparison.agree < s.comparison.total or s.comparison.total == s.comparison.agree  # trace may lack execve
    s.native_src.value = "mov %r0, 1\n"  # no exit
    assert s.errors.message and s.comparison is None
    s.native_src.value = EW.NATIVE_EXAMPLE
    assert s.errors.message == "" and s.comparison.agree == s.comparison.total


def test_side_by_side_detects_a_changed_decision():
    # make the native program refuse openat write-only with EPERM instead of EACCES
    s = EW.make_side_by_side()
    from lwnlab.seccomp.trace import event

    s.trace = [event("openat", [0, 0x1000, 1, 0]), event("read")]
    s.native_src.value = EW.NATIVE_EXAMPLE.replace("0x0005000d", "0x00050001")
    assert s.comparison.total == 2 and s.comparison.agree == 1
    assert s.comparison.disagreements[0][:1] == (0,)


def test_verifier_lab_rejects_the_unchecked_lookup_and_steps_through_states():
    v = EW.make_verifier_lab()
    assert v.accepted is False
    assert "map_value_or_null" in v.verdict.message or "invalid mem access" in v.verdict.message
    assert v.verdict.pc is not None
    assert len(v.steps) >= 5
    # the slider starts at the rejection and moves through recorded states
    assert v.step.max == len(v.steps) - 1 and v.step.value == v.step.max
    v.step.value = 0
    assert "step 0" in v.state_html.value


def test_verifier_lab_accepts_the_fixed_program_and_follows_gates():
    from lwnlab.seccomp.ebpf_exercises import NULL_CHECK_SOLUTION

    v = EW.make_verifier_lab()
    v.source.value = NULL_CHECK_SOLUTION
    assert v.accepted is True and v.errors.message == ""
    v.caps.lsm_restrict.value = True  # almost-cBPF: no helpers
    assert v.accepted is False and "LSM" in v.verdict.message
    v.caps.lsm_restrict.value = False
    assert v.accepted is True
    v.source.value = "this is not assembly"
    assert v.errors.message and v.verdict is None


def test_map_trace_counts_and_limit_slider():
    m = EW.make_map_trace("count_limit", limit=2)
    assert m.errors.message == ""
    acts = [d.action for d in m.decisions]
    assert acts == ["ALLOW", "ALLOW", "ALLOW", "ERRNO", "ERRNO", "ALLOW", "ERRNO"]
    m.step.value = 3
    assert m.maps_now["counts"][39] == 3 and m.maps_now["limit"][0] == 2
    with no_recompile():
        m.limit.value = 4
    assert [d.action for d in m.decisions].count("ERRNO") == 1
    m.limit.value = 0  # N = 0: no limit
    assert all(d.action == "ALLOW" for d in m.decisions)


def test_map_trace_task_storage_and_privileged_policy():
    m = EW.make_map_trace("execve_once")
    assert [d.action for d in m.decisions][:3] == ["ALLOW", "ALLOW", "ERRNO"]
    assert m.limit.disabled
    m.policy.value = "deny_openat_path"
    assert m.errors.message == ""
    assert "ERRNO" in [d.action for d in m.decisions]


def test_privilege_board_gates():
    b = EW.make_privilege_board()
    assert b.allowed["map_lookup_elem"] and b.allowed["get_current_pid_tgid"]
    assert not b.allowed["probe_read_user"]
    assert b.loads["count_limit"][0] and not b.loads["deny_openat_path"][0]
    b.caps.cap_bpf.value = True
    assert not b.allowed["probe_read_user"]  # CAP_PERFMON too
    b.caps.cap_perfmon.value = True
    assert b.allowed["probe_read_user"] and b.loads["deny_openat_path"][0]
    b.caps.yama.value = True
    assert not b.allowed["probe_read_user"] and not b.loads["deny_openat_path"][0]
    b.caps.cap_sys_ptrace.value = True
    assert b.allowed["probe_read_user"]
    b.caps.lsm_restrict.value = True
    assert not any(b.allowed.values()) and not any(ok for ok, _ in b.loads.values())


@pytest.mark.skipif(shutil.which("clang") is None, reason="clang is not installed (CI installs it)")
def test_c_lab_compiles_runs_and_reports_verifier_errors():
    c = EW.make_c_lab()
    assert c.errors.message == ""
    assert [d.action for d in c.decisions] == ["ALLOW", "ALLOW", "ALLOW", "ALLOW", "ERRNO", "ERRNO", "ALLOW"]
    c.source.value = EW.C_EXAMPLE.replace("if (!n)", "if (0)")
    assert c.filter is None and c.errors.message  # the verifier refuses the missing NULL check
    c.source.value = EW.C_EXAMPLE.replace("ctx->nr", "ctx->nosuch")
    assert "nosuch" in c.errors.message


def test_c_lab_without_clang_says_so(monkeypatch):
    monkeypatch.setenv("LWNLAB_CLANG", "/nonexistent/clang")
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    c = EW.make_c_lab()
    assert "clang is not installed" in c.errors.message
