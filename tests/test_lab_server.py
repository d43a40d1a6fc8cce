"""`lwnlab lab` for real: JupyterLab starts and serves the notebooks; a wheel carries the notebooks."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_lwnlab_lab_serves_the_notebooks(tmp_path):
    port, token = free_port(), "lwnlab-test-token"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lwnlab", "lab", "--no-browser", "--port", str(port), "--",
         "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        listing = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/api/contents/notebooks?token={token}"
                with urllib.request.urlopen(url, timeout=2) as r:
                    listing = json.load(r)
                break
            except OSError:
                time.sleep(0.3)
        assert listing is not None, f"JupyterLab did not come up: {proc.stdout.read1().decode(errors='replace') if proc.poll() is not None else 'still starting after 60 s'}"
        names = {c["name"] for c in listing["content"]}
        assert "00_start_here.ipynb" in names
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=5) as r:
            assert r.status == 200 and b"JupyterLab" in r.read()
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.slow
def test_wheel_packages_the_notebooks(tmp_path):
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                       capture_output=True, text=True)
    if p.returncode != 0 and "hatchling" in p.stderr and "No matching distribution" in p.stderr:
        pytest.skip("cannot fetch the build backend (hatchling) here")
    assert p.returncode == 0, p.stderr
    (wheel,) = tmp_path.glob("lwnlab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        assert f"lwnlab/_notebooks/{nb.name}" in names
    assert "lwnlab/cli.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith((".nbi", ".nbc"))]
