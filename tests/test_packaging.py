"""pyproject.toml, environment.yml, binder/ and README.md agree with each other and with this environment."""

import os
import re
import stat
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
RUNTIME = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]


def binder_pins(text: str | None = None) -> dict[str, str]:
    text = (ROOT / "binder" / "requirements.txt").read_text() if text is None else text
    pins = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)", line)
        assert m, f"binder/requirements.txt:{n}: {line!r} is not pinned with =="
        pins[canonicalize_name(m.group(1).split("[")[0])] = m.group(2)
    return pins


def conda_names() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for p in dep.get("pip", []):
                if not p.startswith("-"):
                    names.add(canonicalize_name(Requirement(p).name))
        else:
            names.add(canonicalize_name(re.split(r"[<>=!~ ]", dep, maxsplit=1)[0]))
    return names


def missing_from_binder(pins: dict[str, str]) -> list[str]:
    return [r.name for r in RUNTIME if canonicalize_name(r.name) not in pins]


def test_required_packages_are_runtime_dependencies():
    names = {canonicalize_name(r.name) for r in RUNTIME}
    assert names >= {"numba", "numpy", "matplotlib", "ipywidgets", "jupyterlab", "ipykernel"}


def test_every_runtime_dependency_is_in_environment_yml():
    missing = [r.name for r in RUNTIME if canonicalize_name(r.name) not in conda_names()]
    assert not missing, f"environment.yml lacks {missing}"


def test_every_runtime_dependency_is_pinned_for_binder():
    missing = missing_from_binder(binder_pins())
    assert not missing, f"binder/requirements.txt lacks {missing} (run binder/lock)"


def test_the_check_notices_a_missing_dependency():
    pins = binder_pins()
    pins.pop("numba")
    assert missing_from_binder(pins) == ["numba"]
    with pytest.raises(AssertionError, match="not pinned"):
        binder_pins("numba>=0.68\n")


def test_binder_pins_satisfy_pyproject():
    pins = binder_pins()
    for r in RUNTIME:
        v = pins[canonicalize_name(r.name)]
        assert r.specifier.contains(v, prereleases=True), f"pin {r.name}=={v} is outside pyproject's {r}"


def test_binder_pins_are_what_this_environment_tested():
    """CI installs with `-c binder/requirements.txt`, so the pins are the versions the tests ran with."""
    wrong = {}
    for name, pinned in binder_pins().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed is None or Version(installed) != Version(pinned):
            wrong[name] = (pinned, installed)
    assert not wrong, f"binder pins differ from the tested environment (pinned, installed): {wrong}"


def test_pytest_is_capped_below_its_next_major():
    test = [Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"]["test"]]
    pytest_req = next(r for r in test if r.name == "pytest")
    major = Version(metadata.version("pytest")).major
    assert pytest_req.specifier.contains(metadata.version("pytest"))
    assert not pytest_req.specifier.contains(f"{major + 1}.0")
    assert {"nbval", "hypothesis"} <= {r.name for r in test}


def test_binder_runtime_python_is_supported():
    m = re.fullmatch(r"python-(\d+\.\d+)", (ROOT / "binder" / "runtime.txt").read_text().strip())
    assert m, "binder/runtime.txt must read python-X.Y"
    assert SpecifierSet(PYPROJECT["project"]["requires-python"]).contains(m.group(1) + ".0")


@pytest.mark.parametrize("script", ["postBuild", "start", "rehearse", "lock"])
def test_binder_scripts_are_executable(script):
    p = ROOT / "binder" / script
    assert p.is_file() and p.stat().st_mode & stat.S_IXUSR, f"binder/{script} must exist and be executable"
    assert p.read_text().startswith("#!")


def test_binder_start_ends_with_exec_and_sets_numba_target():
    text = (ROOT / "binder" / "start").read_text()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    assert lines[-1] == 'exec "$@"'
    assert "NUMBA_CPU_NAME=generic" in text and "NUMBA_NUM_THREADS" in text


def test_binder_postbuild_installs_and_warms():
    text = (ROOT / "binder" / "postBuild").read_text()
    assert "set -e" in text and "pip install" in text and "NUMBA_CPU_NAME=generic" in text
    assert "lwnlab.warmup" in text and "overrides.json" in text


def test_readme_has_a_binder_badge_per_notebook():
    readme = (ROOT / "README.md").read_text()
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert f"urlpath=lab/tree/notebooks/{nb.name}" in readme, f"README lacks a Binder link for {nb.name}"


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    m = re.search(r"<!-- test-command -->\s*```(?:bash|sh)?\n(.+?)\n```", readme, re.S)
    assert m, "README marks its test command with <!-- test-command -->"
    command = m.group(1).strip()
    assert command in ci, f".ci/run does not run the README's test command {command!r}"
