"""``lwnlab lab``: open the notebooks in JupyterLab.

From a source checkout the checkout's ``notebooks/`` are opened in place.
When lwnlab was installed from a wheel, the notebooks packaged inside it
(``lwnlab/_notebooks``) are first copied to a folder the user names; notebooks
already there are kept (a reader's own edits are never overwritten) unless
``--force`` is given.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from lwnlab import LABS
from lwnlab.errors import UnavailableError, UsageError

FRONT_PAGE = LABS[0].notebook


def checkout_root() -> Path | None:
    """The source checkout lwnlab is imported from, or None for an installed wheel."""
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").is_file() and (here / "notebooks" / FRONT_PAGE).is_file():
        return here
    return None


def packaged_notebooks() -> Path | None:
    p = Path(__file__).resolve().parent / "_notebooks"
    return p if (p / FRONT_PAGE).is_file() else None


def notebook_source() -> tuple[Path, str]:
    """Where the notebooks are: ``(folder, "checkout" | "wheel")``."""
    root = checkout_root()
    if root is not None:
        return root / "notebooks", "checkout"
    pkg = packaged_notebooks()
    if pkg is not None:
        return pkg, "wheel"
    raise UnavailableError("this lwnlab installation has no notebooks (neither a checkout's notebooks/ "
                           "nor the packaged lwnlab/_notebooks)")


def copy_notebooks(src: Path, dest: Path, force: bool = False) -> tuple[list[str], list[str]]:
    """Copy every notebook of ``src`` into ``dest``; return (copied, kept) file names."""
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"{dest} exists and is not a folder")
    dest.mkdir(parents=True, exist_ok=True)
    copied, kept = [], []
    for nb in sorted(src.glob("*.ipynb")):
        target = dest / nb.name
        if target.exists() and not force:
            kept.append(nb.name)
            continue
        shutil.copyfile(nb, target)
        copied.append(nb.name)
    return copied, kept


def jupyter_command(cwd: Path, open_path: str, port: int | None, browser: bool, extra: list[str]) -> list[str]:
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={cwd}", open_path]
    if port is not None:
        cmd.append(f"--ServerApp.port={port}")
    if not browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        cmd.append("--allow-root")  # JupyterLab refuses to run as root without it
    return cmd + list(extra)


def run_lab(folder: str | None, *, port: int | None = None, browser: bool = True, force: bool = False,
            dry_run: bool = False, extra: list[str] | None = None) -> int:
    extra = list(extra or [])
    if port is not None and not (0 < port < 65536):
        raise UsageError(f"--port {port} is not a TCP port (1-65535)")
    src, kind = notebook_source()
    if folder is None:
        if kind != "checkout":
            raise UsageError("lwnlab is installed from a wheel: name a folder to copy the notebooks into, "
                             "e.g. 'lwnlab lab ~/lwnlab-notebooks'")
        cwd, open_path = src.parent, f"notebooks/{FRONT_PAGE}"
        note = f"opening the checkout's notebooks in {src}"
    else:
        cwd = Path(folder).expanduser().resolve()
        open_path = FRONT_PAGE
        if dry_run:
            note = f"would copy the notebooks of {src} into {cwd}"
        else:
            copied, kept = copy_notebooks(src, cwd, force=force)
            note = f"copied {len(copied)} notebooks into {cwd}"
            if kept:
                note += f"; kept {len(kept)} already there ({', '.join(kept)}; --force overwrites them)"
    cmd = jupyter_command(cwd, open_path, port, browser, extra)
    print(f"lwnlab: {note}", file=sys.stderr)
    if dry_run:
        print(f"cd {cwd} && " + " ".join(cmd))
        return 0
    try:
        import jupyterlab  # noqa: F401
    except ImportError as e:
        raise UnavailableError("JupyterLab is not installed: pip install jupyterlab") from e
    try:
        return subprocess.call(cmd, cwd=cwd)
    except KeyboardInterrupt:
        return 0
