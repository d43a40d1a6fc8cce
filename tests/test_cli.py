"""The lwnlab command's built-in parts: version, help, errors, info, lab."""

import json
import subprocess
import sys

import pytest

import lwnlab
from lwnlab import cli, lab
from lwnlab.errors import ConfigError


def run(capsys, *argv):
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"lwnlab {lwnlab.__version__}"


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["nosuchcmd"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "lwnlab: error:" in err and "nosuchcmd" in err and "Traceback" not in err


def test_no_command_prints_help_and_exits_2(capsys):
    rc, out, err = run(capsys)
    assert rc == 2 and "usage: lwnlab" in err


def test_lab_help(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["lab", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "usage: lwnlab lab" in out and "FOLDER" in out and "--no-browser" in out


def test_subcommand_errors_name_the_subcommand(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["lab", "--port", "eighty"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "lwnlab: error:" in err and "--port" in err


def test_console_script_and_module_agree():
    """`python -m lwnlab` is the same program as the console script, in a real process."""
    p = subprocess.run([sys.executable, "-m", "lwnlab", "nosuchcmd"], capture_output=True, text=True)
    assert p.returncode == 2 and "lwnlab: error:" in p.stderr and "Traceback" not in p.stderr
    p = subprocess.run([sys.executable, "-m", "lwnlab", "--version"], capture_output=True, text=True)
    assert p.returncode == 0 and lwnlab.__version__ in p.stdout


def test_info_text(capsys):
    rc, out, err = run(capsys, "info")
    assert rc == 0
    for word in ("Python", "numba", "numpy", "jupyterlab", "ipywidgets", "numba cache", "seccomp", "bpf"):
        assert word in out


def test_info_json(capsys):
    rc, out, _ = run(capsys, "info", "--json")
    assert rc == 0
    d = json.loads(out)
    assert d["lwnlab"] == lwnlab.__version__
    assert set(d["packages"]) >= {"numba", "numpy", "jupyterlab", "ipywidgets"}
    assert all(d["packages"][k] for k in ("numba", "numpy", "jupyterlab", "ipywidgets"))
    assert isinstance(d["kernel_features"]["seccomp"]["usable"], bool)
    assert isinstance(d["kernel_features"]["bpf"]["usable"], bool)
    assert d["numba"]["cache_dir"]
    assert [lab_["notebook"] for lab_ in d["labs"]][0] == "00_start_here.ipynb"


def test_input_errors_print_lwnlab_error_and_exit_2(capsys, monkeypatch):
    def boom(args):
        raise ConfigError("must be positive", field="seconds")

    monkeypatch.setattr(cli, "_cmd_info", boom)
    rc, out, err = run(capsys, "info")
    assert rc == 2
    assert err.strip() == "lwnlab: error: field 'seconds': must be positive"


def test_missing_file_is_an_input_error(capsys, monkeypatch):
    def boom(args):
        open("/nonexistent/lwnlab-test-file")

    monkeypatch.setattr(cli, "_cmd_info", boom)
    rc, out, err = run(capsys, "info")
    assert rc == 2 and "lwnlab: error: /nonexistent/lwnlab-test-file: no such file" in err


def test_bugs_are_reported_without_traceback(capsys, monkeypatch):
    def boom(args):
        raise RuntimeError("oops")

    monkeypatch.setattr(cli, "_cmd_info", boom)
    monkeypatch.delenv("LWNLAB_DEBUG", raising=False)
    rc, out, err = run(capsys, "info")
    assert rc == 3 and "internal error" in err and "Traceback" not in err


# --------------------------------------------------------------------------- lwnlab lab


def test_lab_from_checkout_dry_run(capsys):
    assert lab.checkout_root() is not None, "tests run from a checkout"
    rc, out, err = run(capsys, "lab", "--dry-run", "--no-browser", "--port", "8899")
    assert rc == 0
    assert "jupyterlab" in out and "notebooks/00_start_here.ipynb" in out
    assert "--no-browser" in out and "--ServerApp.port=8899" in out


def test_lab_passes_extra_arguments_to_jupyter(capsys):
    rc, out, err = run(capsys, "lab", "--dry-run", "--", "--ServerApp.ip=127.0.0.1")
    assert rc == 0 and "--ServerApp.ip=127.0.0.1" in out


def test_lab_bad_port(capsys):
    rc, out, err = run(capsys, "lab", "--dry-run", "--port", "70000")
    assert rc == 2 and "not a TCP port" in err


@pytest.fixture
def as_wheel(monkeypatch, tmp_path):
    """Pretend lwnlab was installed from a wheel: no checkout, notebooks packaged in lwnlab/_notebooks."""
    pkg = tmp_path / "site" / "lwnlab" / "_notebooks"
    pkg.mkdir(parents=True)
    src, _ = lab.notebook_source()
    for nb in src.glob("*.ipynb"):
        (pkg / nb.name).write_bytes(nb.read_bytes())
    monkeypatch.setattr(lab, "checkout_root", lambda: None)
    monkeypatch.setattr(lab, "packaged_notebooks", lambda: pkg)
    return pkg


def test_lab_from_wheel_needs_a_folder(capsys, as_wheel):
    rc, out, err = run(capsys, "lab", "--dry-run")
    assert rc == 2 and "name a folder" in err


def test_lab_copies_notebooks_and_keeps_edits(capsys, as_wheel, tmp_path, monkeypatch):
    dest = tmp_path / "mine"
    calls = []
    monkeypatch.setattr(lab.subprocess, "call", lambda cmd, cwd: calls.append((cmd, cwd)) or 0)
    rc, out, err = run(capsys, "lab", str(dest), "--no-browser")
    assert rc == 0 and calls and calls[0][1] == dest.resolve()
    names = sorted(p.name for p in dest.glob("*.ipynb"))
    assert names == sorted(p.name for p in as_wheel.glob("*.ipynb")) and "00_start_here.ipynb" in names
    # a reader's edit survives the next start ...
    (dest / "00_start_here.ipynb").write_text("my edits")
    rc, out, err = run(capsys, "lab", str(dest), "--no-browser")
    n = len(names)
    assert rc == 0 and (dest / "00_start_here.ipynb").read_text() == "my edits"
    assert f"copied 0 notebooks" in err and f"kept {n} already there" in err
    # ... unless --force
    rc, out, err = run(capsys, "lab", str(dest), "--no-browser", "--force")
    assert (dest / "00_start_here.ipynb").read_text() != "my edits"


def test_lab_folder_that_is_a_file(capsys, as_wheel, tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    rc, out, err = run(capsys, "lab", str(f))
    assert rc == 2 and "not a folder" in err


def test_machine_report_lists_what_each_lab_can_compare_with():
    from lwnlab.info import machine_report

    r = machine_report()
    rows = r.rows()
    assert any("seccomp" in what for what, _, _ in rows) and any("kernel sources" in what for what, _, _ in rows)
    assert all(isinstance(ok, bool) and detail for _, ok, detail in rows)
    assert "<table>" in r._repr_html_() and "[" in repr(r)
