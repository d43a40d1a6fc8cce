"""``lwnlab interp run|dis|cpython`` as a user would use them."""

import json

import pytest

from lwnlab.cli import main

SRC = "G = 2\ndef f(n):\n    s = 0\n    for i in range(n):\n        s += i * G\n    return s\n"


@pytest.fixture
def prog(tmp_path):
    p = tmp_path / "prog.py"
    p.write_text(SRC)
    return str(p)


def test_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["interp", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "run" in out and "dis" in out


def test_run_text(prog, capsys):
    assert main(["interp", "run", prog, "--func", "f", "--args", "10", "--calls", "3"]) == 0
    out = capsys.readouterr().out
    assert "result: 90" in out and "BINARY_OP" in out and "LOAD_GLOBAL" in out


def test_run_json(prog, capsys):
    assert main(["interp", "run", prog, "--func", "f", "--args", "10", "--policy", "cpython311", "--calls", "9",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["result"] == 90
    assert d["instructions"] > 0
    for k in ("hit", "miss", "deopt", "specialize_ok", "specialize_fail"):
        assert k in d["stats"]["BINARY_OP"]
    assert d["stats"]["LOAD_GLOBAL"]["specialize_ok"] == 2  # range and G


def test_dis_plain_and_after_run(prog, capsys):
    assert main(["interp", "dis", prog, "--func", "f"]) == 0
    out = capsys.readouterr().out
    assert "LOAD_GLOBAL" in out and "BINARY_OP" in out
    assert main(["interp", "dis", prog, "--func", "f", "--after-run", "--args", "5"]) == 0
    out = capsys.readouterr().out
    assert "LOAD_GLOBAL_MODULE" in out and "FOR_ITER_RANGE" in out and "counter" in out


@pytest.mark.parametrize("argv,needle", [
    (["--func", "nope"], "no function 'nope'"),
    (["--func", "f", "--args", "oops("], "not a Python literal"),
    (["--func", "f", "--args", "1", "2"], "takes 1 argument"),
    (["--func", "f", "--args", "99999999999999"], "step limit"),
])
def test_bad_input_exits_2_with_message(prog, capsys, argv, needle, monkeypatch):
    if needle == "step limit":
        import lwnlab.interp.policy as P
        monkeypatch.setattr(P.Policy, "step_limit", 1000)
    rc = main(["interp", "run", prog] + argv)
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("lwnlab: error: ") and needle in err
    assert "Traceback" not in err


def test_compile_error_names_line(tmp_path, capsys):
    p = tmp_path / "bad.py"
    p.write_text("def f():\n    return [x for x in range(3)]\n")
    assert main(["interp", "run", str(p), "--func", "f"]) == 2
    err = capsys.readouterr().err
    assert "bad.py:2:12" in err and "list comprehension" in err


def test_missing_file(capsys):
    assert main(["interp", "run", "/nonexistent.py", "--func", "f"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_cpython_panel(prog, capsys):
    import sys

    if sys.version_info < (3, 11):
        pytest.skip("the CPython side panel needs 3.11+")
    assert main(["interp", "cpython", prog, "--func", "f", "--args", "10", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["result"] == "90"
    assert any(r["opname"].startswith("LOAD_GLOBAL") for r in d["rows"])


ARITH = "def add(a, b):\n    return a + b\n"


def test_non_utf8_source_is_an_error_naming_line_and_column(tmp_path, capsys):
    p = tmp_path / "latin1.py"
    p.write_bytes(b"def f():\n    return '\xff'\n")
    for cmd in ("run", "dis"):
        assert main(["interp", cmd, str(p), "--func", "f"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("lwnlab: error: ") and "latin1.py:2:13" in err and "UTF-8" in err, err


def test_source_that_never_ends_is_refused(capsys):
    assert main(["interp", "run", "/dev/zero", "--func", "f"]) == 2
    assert "larger than" in capsys.readouterr().err


@pytest.mark.parametrize("args,expect", [
    (["-1", "-2"], -3),
    (["-1e3", "-2"], -1002.0),
    (["-.5", "2.25"], 1.75),
    (["-1_000", "1"], -999),
    (["'a'", "'b'"], "ab"),
    (["[1, 2]", "[-3]"], [1, 2, -3]),
    (["-inf", "1"], "-inf"),
])
def test_args_as_a_user_types_them(tmp_path, capsys, args, expect):
    p = tmp_path / "add.py"
    p.write_text(ARITH)
    assert main(["interp", "run", str(p), "--func", "add", "--json", "--args"] + args) == 0
    assert json.loads(capsys.readouterr().out)["result"] == expect


def test_calls_bounds_and_long_bad_args(prog, capsys):
    from lwnlab.interp import machine

    # the CLI refuses exactly what the machine would (one MAX_CALLS, in lwnlab.interp.policy), before it builds
    # the call list
    assert main(["interp", "run", prog, "--func", "f", "--args", "1", "--calls", str(machine.MAX_CALLS + 1)]) == 2
    assert f"--calls must be at most {machine.MAX_CALLS}" in capsys.readouterr().err
    assert main(["interp", "run", prog, "--func", "f", "--args", "1", "--calls", str(10 ** 12)]) == 2
    assert "--calls must be at most" in capsys.readouterr().err  # was a MemoryError building the call list
    assert main(["interp", "run", prog, "--func", "f", "--args", "[" * 2000]) == 2
    err = capsys.readouterr().err
    assert "not a Python literal" in err and len(err) < 300


def test_output_printed_before_a_runtime_error_is_shown(tmp_path, capsys):
    p = tmp_path / "boom.py"
    p.write_text("def f(n):\n    print('before', n)\n    return n // 0\n")
    assert main(["interp", "run", str(p), "--func", "f", "--args", "3"]) == 2
    cap = capsys.readouterr()
    assert cap.out == "before 3\n"
    assert "boom.py:3:12" in cap.err and "ZeroDivisionError" in cap.err and "Traceback" not in cap.err


def test_source_encoding_follows_pep_263(tmp_path, capsys):
    # CPython reads a coding cookie (and a UTF-8 BOM); so must lwnlab (latin-1 bytes were 'not UTF-8')
    p = tmp_path / "latin1.py"
    p.write_bytes(b"# -*- coding: latin-1 -*-\ndef f():\n    return '\xe9t\xe9'\n")
    assert main(["interp", "run", str(p), "--func", "f", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["result"] == "\u00e9t\u00e9"
    p = tmp_path / "bom.py"
    p.write_bytes(b"\xef\xbb\xbfdef f():\n    return 1\n")
    assert main(["interp", "run", str(p), "--func", "f", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["result"] == 1
    p = tmp_path / "bogus.py"
    p.write_bytes(b"# coding: no-such-codec\ndef f():\n    return 1\n")
    assert main(["interp", "run", str(p), "--func", "f"]) == 2
    assert "encoding" in capsys.readouterr().err


def test_step_limit_option(tmp_path, capsys):
    p = tmp_path / "loop.py"
    p.write_text("def f():\n    while True:\n        pass\n")
    for cmd in (["run"], ["dis", "--after-run"]):
        assert main(["interp", cmd[0], str(p), "--func", "f", "--step-limit", "5000"] + cmd[1:]) == 2
        err = capsys.readouterr().err
        assert "step limit of 5000 instructions" in err and "loop.py:2" in err, err
    assert main(["interp", "run", str(p), "--func", "f", "--step-limit", "0"]) == 2
    assert "step_limit" in capsys.readouterr().err
