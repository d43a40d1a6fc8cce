"""``lwnlab info``: what this installation and this machine offer."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

from lwnlab import LABS, __version__

#: distributions whose versions ``lwnlab info`` reports
REPORTED = ("numba", "llvmlite", "numpy", "matplotlib", "jupyterlab", "ipywidgets", "ipykernel")


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def collect() -> dict:
    """Everything ``lwnlab info`` prints, as a JSON-able dict."""
    from lwnlab import _jit, system
    from lwnlab.lab import notebook_source

    seccomp = system.probe_seccomp()
    bpf = system.probe_bpf()
    try:
        src, kind = notebook_source()
        notebooks = {"folder": str(src), "from": kind}
    except Exception as e:  # reported, not raised: info must always run
        notebooks = {"folder": None, "from": f"unavailable: {e}"}
    return {
        "lwnlab": __version__,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "kernel": platform.release(),
        "packages": {d: _version(d) for d in REPORTED},
        "numba": {
            "jit": "disabled (plain Python)" if _jit.jit_disabled() else "enabled",
            "cache_dir": _jit.cache_dir(),
        },
        "kernel_features": {
            "seccomp": {"usable": seccomp.usable, "detail": seccomp.detail},
            "bpf": {"usable": bpf.usable, "detail": bpf.detail},
        },
        "tools": {"libseccomp": system.libseccomp_version(), "clang": system.clang_bpf()},
        "notebooks": notebooks,
        "labs": [{"number": lab.number, "key": lab.key, "title": lab.title, "notebook": lab.notebook} for lab in LABS],
    }


def format_text(d: dict) -> str:
    lines = [f"lwnlab {d['lwnlab']}", f"  Python        {d['python']} ({d['implementation']}, {d['machine']})"]
    for name, ver in d["packages"].items():
        lines.append(f"  {name:<13} {ver or 'not installed'}")
    lines.append(f"numba jit       {d['numba']['jit']}")
    lines.append(f"numba cache     {d['numba']['cache_dir']}")
    lines.append(f"Linux kernel    {d['kernel']}")
    for feat, v in d["kernel_features"].items():
        lines.append(f"  {feat:<13} {'usable' if v['usable'] else 'NOT usable'}: {v['detail']}")
    lines.append(f"libseccomp      {d['tools']['libseccomp'] or 'not installed (libseccomp2)'}")
    lines.append(f"clang           {d['tools']['clang'] or 'not installed (needed to compile eBPF filters from C)'}")
    nb = d["notebooks"]
    lines.append(f"notebooks       {nb['folder']} ({nb['from']})")
    return "\n".join(lines)
