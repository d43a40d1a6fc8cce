"""The side panel reads the host CPython's adaptive state, version-aware."""

import sys

import pytest

from lwnlab.errors import UnavailableError
from lwnlab.interp import cpython

needs_311 = pytest.mark.skipif(sys.version_info < (3, 11), reason="the adaptive interpreter is CPython 3.11+")

ADD = "def add(a, b):\n    return a + b\n"


@needs_311
def test_add_int_specializes_on_host():
    p = cpython.panel(ADD, "add", [(1, 2)] * 10)
    assert p.result == 3
    assert "BINARY_OP_ADD_INT" in p.specialized
    row = next(r for r in p.rows if r.opname == "BINARY_OP_ADD_INT")
    if sys.version_info[:2] == (3, 11):
        assert row.value == 53  # a plain miss count: miss_counter_start()
    else:
        assert (row.value, row.backoff) == (52, 0)  # adaptive_counter_cooldown()


@needs_311
def test_floats_respecialize_on_host():
    p = cpython.panel("def add(a, b):\n    s = 0\n    for x in a:\n        s = s + x\n    return s\n", "add",
                      [([1] * 500 + [1.5] * 500, 0)])
    assert "BINARY_OP_ADD_FLOAT" in p.specialized


@needs_311
def test_lwnlab_matches_host_on_the_reference_timeline():
    """Our VM, under the host's own policy, ends in the same specialized instruction."""
    from lwnlab.interp import execute

    pol = "cpython311" if sys.version_info[:2] == (3, 11) else "cpython312"
    calls = [(1, 2)] * 10 + [(1.5, 2.5)] * 100
    ours = execute(ADD, "add", calls, pol)
    host = cpython.panel(ADD, "add", calls)
    assert "BINARY_OP_ADD_FLOAT" in ours.current_ops()
    assert "BINARY_OP_ADD_FLOAT" in host.specialized
    # 3.11: at the end both hold a miss counter of 53 minus the same number of misses (none)
    hrow = next(r for r in host.rows if r.opname == "BINARY_OP_ADD_FLOAT")
    k = ours.current_ops().index("BINARY_OP_ADD_FLOAT")
    f = ours.program.funcs[ours.program.func_index("add")]
    assert int(ours.cache[f.entry + k, 0]) == hrow.word


def test_unavailable_on_old_python(monkeypatch):
    monkeypatch.setattr(cpython.sys, "version_info", (3, 10, 13, "final", 0))
    with pytest.raises(UnavailableError, match="3.11"):
        cpython.panel(ADD, "add", 1)


@needs_311
def test_an_endless_loop_on_the_host_is_stopped_with_a_clear_error():
    import time

    from lwnlab.errors import ExecutionError

    t0 = time.monotonic()
    with pytest.raises(ExecutionError, match="did not finish 'f' within 0.5 s"):
        cpython.panel("def f():\n    while True:\n        pass\n", "f", 3, timeout=0.5)
    assert time.monotonic() - t0 < 10
    # the alarm is gone afterwards: a normal panel still works
    assert cpython.panel(ADD, "add", [(1, 2)] * 3).result == 3


@needs_311
def test_cli_cpython_on_an_endless_loop_exits_2(tmp_path, capsys, monkeypatch):
    from lwnlab.cli import main

    monkeypatch.setattr(cpython, "HOST_TIMEOUT", 0.5)
    p = tmp_path / "loop.py"
    p.write_text("def f():\n    while True:\n        pass\n")
    assert main(["interp", "cpython", str(p), "--func", "f"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lwnlab: error: ") and "did not finish" in err
