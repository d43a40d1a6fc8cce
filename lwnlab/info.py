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
        "kernel_sources": _kernel_sources(),
        "notebooks": notebooks,
        "labs": [{"number": lab.number, "key": lab.key, "title": lab.title, "notebook": lab.notebook,
                  "notebooks": list(lab.notebooks)} for lab in LABS],
    }


def _kernel_sources() -> dict:
    """Which Debian linux-source trees ``lwnlab printk fetch`` has unpacked (Lab 2, Lab 4's source checks)."""
    out = {}
    try:
        from lwnlab.printk import sources
    except ImportError:
        return out
    for v in sources.VERSIONS:
        t = sources.find_tree(v)
        out[v] = None if t is None else {
            "path": str(t.path), "package": t.package_version,
            "parts": "whole tree" if t.complete else ", ".join(t.subsystems)}
    return out


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
    for v, t in d.get("kernel_sources", {}).items():
        where = f"{t['path']} ({t['package']}; {t['parts']})" if t else f"not fetched (lwnlab printk fetch --version {v})"
        lines.append(f"linux-source-{v:<4} {where}")
    nb = d["notebooks"]
    lines.append(f"notebooks       {nb['folder']} ({nb['from']})")
    return "\n".join(lines)


class MachineReport:
    """What this machine lets the labs do, for the front page (a table in notebooks, text elsewhere)."""

    def __init__(self, data: dict | None = None) -> None:
        self.data = data or collect()

    def rows(self) -> list[tuple[str, bool, str]]:
        d = self.data
        kf = d["kernel_features"]
        rows = [
            ("numba compiles the models", d["numba"]["jit"] == "enabled",
             d["numba"]["jit"] + f"; cache in {d['numba']['cache_dir']}"),
            ("Lab 2: real kernel sources (linux-source-6.1 / 6.12)",
             any(d.get("kernel_sources", {}).values()),
             "; ".join(f"{v}: {'yes' if t else 'no'}" for v, t in d.get("kernel_sources", {}).items())
             + " (lwnlab printk fetch; the lab falls back to a small sample tree)"),
            ("Lab 3: compare filters with the live kernel's seccomp()", kf["seccomp"]["usable"], kf["seccomp"]["detail"]),
            ("Lab 3: run eBPF programs in the live kernel (bpf())", kf["bpf"]["usable"], kf["bpf"]["detail"]),
            ("Lab 3: libseccomp-built policies", bool(d["tools"]["libseccomp"]),
             d["tools"]["libseccomp"] or "install libseccomp2"),
            ("Lab 3: eBPF filters written in C (clang)", bool(d["tools"]["clang"]),
             d["tools"]["clang"] or "install clang"),
        ]
        return rows

    def __repr__(self) -> str:
        return "\n".join(f"[{'x' if ok else ' '}] {what}: {detail}" for what, ok, detail in self.rows())

    def _repr_html_(self) -> str:
        import html

        body = "".join(
            f"<tr><td>{'&#10004;' if ok else '&#10008;'}</td><td>{html.escape(what)}</td>"
            f"<td style='text-align:left'>{html.escape(detail)}</td></tr>" for what, ok, detail in self.rows())
        return f"<table><tr><th></th><th>what</th><th style='text-align:left'>here</th></tr>{body}</table>"


def machine_report() -> MachineReport:
    return MachineReport()
