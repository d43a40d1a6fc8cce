"""The notebooks in a real browser: JupyterLab + Debian's Chromium, driven by Playwright.

nbval proves the cells run; this proves what a reader sees: the widgets render in JupyterLab (the
widget and ipympl front-end extensions are installed and match the kernel side), the figures appear,
moving a slider reaches the kernel and comes back as a changed plot summary, and no cell shows an error.
Skipped where Chromium or Playwright is missing (CI installs both).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
if not os.path.exists(CHROMIUM):
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

TOKEN = "lwnlab-browser-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory):
    """A JupyterLab server on a copy of the notebooks (so autosave can never touch the repository)."""
    root = tmp_path_factory.mktemp("lab")
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        shutil.copy(nb, root / nb.name)
    port = _free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(root / ".rt"), "JUPYTER_CONFIG_DIR": str(root / ".cfg")}
    args = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:
        args.append("--allow-root")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("JupyterLab did not start")
            time.sleep(0.3)
    yield base
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--disable-gpu"])
        yield b
        b.close()


def open_and_run(browser, base: str, notebook: str, timeout_s: float = 90):
    """Open ``notebook`` in JupyterLab, run all cells, wait until the kernel is idle again."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/lab/tree/{notebook}?token={TOKEN}&reset", wait_until="domcontentloaded")
    page.wait_for_function(
        """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                   return w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel
                          && w.sessionContext.session.kernel.status === 'idle'; }""",
        timeout=60_000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # wait for every cell to have run: no '[*]' prompts left and the kernel idle
    page.wait_for_function(
        """() => { const w = window.jupyterapp.shell.currentWidget;
                   const busy = [...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'));
                   const ran = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                               .every(p => /\\[\\d+\\]/.test(p.textContent));
                   return !busy && ran && w.sessionContext.session.kernel.status === 'idle'; }""",
        timeout=timeout_s * 1000)
    return page, errors


def screenshot(page, name: str) -> None:
    """Save what the reader sees when LWNLAB_SCREENSHOTS names a folder (for looking, not asserting)."""
    folder = os.environ.get("LWNLAB_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def model_outputs(page) -> list[list[dict]]:
    """Every code cell's outputs, read from the notebook model in the page.

    JupyterLab renders only the cells near the viewport, so the DOM is not a reliable place to look.
    """
    return page.evaluate(
        """() => { const m = window.jupyterapp.shell.currentWidget.content.model; const out = [];
                   for (let i = 0; i < m.cells.length; i++) { const c = m.cells.get(i);
                     if (c.type === 'code') out.push(c.outputs.toJSON()); }
                   return out; }""")


def output_text(page) -> str:
    parts = []
    for outs in model_outputs(page):
        for o in outs:
            data = o.get("data", {})
            for key in ("text/html", "text/plain"):
                v = data.get(key)
                if v:
                    parts.append(v if isinstance(v, str) else "".join(v))
            if o.get("text"):
                parts.append(o["text"] if isinstance(o["text"], str) else "".join(o["text"]))
    return "\n".join(parts)


def cell_errors(page) -> list[str]:
    return [f"{o.get('ename')}: {o.get('evalue')}" for outs in model_outputs(page) for o in outs
            if o.get("output_type") == "error"]


def test_front_page_widgets_render_and_respond(jupyter, browser):
    page, js_errors = open_and_run(browser, jupyter, "00_start_here.ipynb")
    try:
        assert cell_errors(page) == []
        sliders = page.locator(".jupyter-widgets.widget-slider")
        assert sliders.count() >= 4, "the quickening demo's sliders did not render"
        assert page.locator(".jupyter-matplotlib").count() >= 1, "the ipympl figure did not render"
        assert "Correct" in output_text(page), "the numba check did not pass in the browser"
        summary = page.locator(".widget-html-content", has_text="specialized first at call")
        before = summary.first.inner_text()
        # move the miss budget slider with the keyboard: browser -> kernel -> browser
        handle = page.locator(".widget-slider", has_text="miss budget").locator(".noUi-handle").first
        handle.focus()
        for _ in range(3):
            handle.press("PageDown")
        page.wait_for_function(
            "(before) => [...document.querySelectorAll('.widget-html-content')]"
            ".some(e => e.innerText.includes('specialized first') && e.innerText !== before)", arg=before,
            timeout=30_000)
        screenshot(page, "00_start_here")
        assert not js_errors, js_errors
    finally:
        page.close()


OTHER = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb") if not p.name.startswith("00_"))


@pytest.mark.parametrize("notebook", OTHER)
def test_lab_notebook_runs_in_the_browser(jupyter, browser, notebook):
    page, js_errors = open_and_run(browser, jupyter, notebook, timeout_s=180)
    try:
        screenshot(page, notebook.removesuffix(".ipynb"))
        assert cell_errors(page) == [], f"{notebook}: cells show errors"
        assert page.locator(".jupyter-widgets").count() >= 1, f"{notebook}: no widget rendered"
        assert not js_errors, js_errors
    finally:
        page.close()
