"""The ``lwnlab`` command.

One argparse parser with a sub-command group per topic.  A topic adds its
group in ``lwnlab/<topic>/cli.py`` with a function ``register(subparsers)``;
the modules named in :data:`TOPIC_CLIS` are picked up when present.  Topic
modules import their heavy machinery (numba kernels) inside the handlers, so
``lwnlab --help`` stays fast.

Conventions, shared by every sub-command:

* exit status 0 for success, 1 for a negative verdict (rejected, stale), 2 for
  a usage or input error;
* input errors print ``lwnlab: error: <what and where>`` on stderr, never a
  traceback (set ``LWNLAB_DEBUG=1`` to see one anyway);
* ``--json`` prints machine-readable output (see :func:`print_json`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Callable, Sequence

from lwnlab import __version__
from lwnlab.errors import LwnlabError, UsageError

#: topic modules that may add a sub-command group, in --help order
TOPIC_CLIS = ("interp", "printk", "bpf", "seccomp", "memtier")

EXIT_OK, EXIT_NEGATIVE, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    """argparse, with errors in lwnlab's form (``lwnlab: error: ...``, status 2)."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.print_usage(sys.stderr)
        prog = self.prog.split()[0] if self.prog else "lwnlab"
        sub = " ".join(self.prog.split()[1:])
        where = f"{sub}: " if sub else ""
        self.exit(EXIT_USAGE, f"{prog}: error: {where}{message}\n")


def print_json(obj) -> None:
    """Print ``obj`` as JSON (one document, sorted keys off, indent for humans on a tty)."""
    indent = 2 if sys.stdout.isatty() else None
    print(json.dumps(obj, indent=indent, default=_json_default))


def _json_default(o):
    try:
        import numpy as np

        if isinstance(o, np.integer):
            return int(o)
        if isinstance(o, np.floating):
            return float(o)
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    if hasattr(o, "to_json"):
        return o.to_json()
    raise TypeError(f"cannot serialise {type(o).__name__} to JSON")


def group(subparsers, name: str, help: str, description: str | None = None):
    """Add a sub-command group ``name`` whose bare use prints its help and exits 2."""
    p = subparsers.add_parser(name, help=help, description=description or help)
    sub = p.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)

    def bare(args):
        p.print_help(sys.stderr)
        return EXIT_USAGE

    p.set_defaults(func=bare)
    return p, sub


# --------------------------------------------------------------------------- built-in commands


def _cmd_info(args) -> int:
    from lwnlab.info import collect, format_text

    data = collect()
    if args.json:
        print_json(data)
    else:
        print(format_text(data))
    return EXIT_OK


def _cmd_lab(args) -> int:
    from lwnlab.lab import run_lab

    return run_lab(args.folder, port=args.port, browser=not args.no_browser, force=args.force,
                   dry_run=args.dry_run, extra=args.jupyter_args)


def _cmd_warmup(args) -> int:
    from lwnlab.warmup import run

    if args.clear:
        from lwnlab._jit import clear_cache

        n = clear_cache()
        if not args.quiet:
            print(f"removed {n} cached kernel files")
    run(verbose=not args.quiet, only=args.only, jobs=args.jobs)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="lwnlab",
        description="lwnlab: interactive labs on the LWN.net weekly edition of June 3, 2021 "
        "(PEP 659, printk indexing, eBPF seccomp filters, top-tier memory management).",
        epilog="Run 'lwnlab COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"lwnlab {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("info", help="versions, numba cache and kernel features of this machine",
                       description="Print the versions of Python, numba, numpy, JupyterLab and ipywidgets, "
                       "the numba cache directory, and whether the kernel's seccomp and bpf syscalls are "
                       "usable here.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser(
        "lab",
        help="open the notebooks in JupyterLab",
        description="Open the lwnlab notebooks in JupyterLab. From a source checkout, the checkout's "
        "notebooks/ are opened in place. Given FOLDER (required when lwnlab was installed from a wheel), "
        "the packaged notebooks are copied there first; notebooks already in FOLDER are kept "
        "unless --force is given.",
        epilog="Arguments after '--' go to 'jupyter lab' unchanged, e.g. lwnlab lab -- --ServerApp.ip=0.0.0.0",
    )
    p.add_argument("folder", nargs="?", metavar="FOLDER", help="copy the notebooks into FOLDER and open them there")
    p.add_argument("--port", type=int, default=None, help="port for JupyterLab (default: JupyterLab's, 8888)")
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    p.add_argument("--force", action="store_true", help="overwrite notebooks already in FOLDER")
    p.add_argument("--dry-run", action="store_true", help="print what would be run, and copy nothing")
    p.set_defaults(func=_cmd_lab, jupyter_args=[])

    p = sub.add_parser("warmup", help="compile every numba kernel once, so notebooks start fast",
                       description="Compile every numba kernel of lwnlab into the on-disk cache "
                       "(binder/postBuild runs this with NUMBA_CPU_NAME=generic).")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    p.add_argument("--only", action="append", metavar="PREFIX",
                   help="only kernels whose names start with PREFIX, e.g. lwnlab.bpf (repeatable)")
    p.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                   help="compile N labs at once, in separate processes (default: one per core; numba compiles "
                   "on one core per process)")
    p.add_argument("--clear", action="store_true",
                   help="delete lwnlab's cached kernels first (numba does not notice edits to callees in other "
                   "modules, so clear after editing lwnlab's kernels)")
    p.set_defaults(func=_cmd_warmup)

    for topic in TOPIC_CLIS:
        register = _topic_register(topic)
        if register is not None:
            register(sub)
    return parser


def _topic_register(topic: str) -> Callable | None:
    name = f"lwnlab.{topic}.cli"
    try:
        mod = importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name in (name, f"lwnlab.{topic}"):
            return None  # this topic has not landed
        raise
    return getattr(mod, "register", None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if argv[:1] == ["lab"] and "--" in argv:  # `lwnlab lab [opts] -- JUPYTER ARGS`
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1:]
    args = parser.parse_args(argv)
    if passthrough:
        args.jupyter_args = passthrough
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        rc = func(args)
        sys.stdout.flush()
        return EXIT_OK if rc is None else int(rc)
    except LwnlabError as e:
        _die(e.describe())
        return EXIT_USAGE
    except FileNotFoundError as e:
        _die(f"{e.filename}: no such file or directory")
        return EXIT_USAGE
    except IsADirectoryError as e:
        _die(f"{e.filename}: is a directory, expected a file")
        return EXIT_USAGE
    except PermissionError as e:
        _die(f"{e.filename}: permission denied")
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("lwnlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (e.g. `lwnlab ... | head`); not an error
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_OK
    except Exception as e:  # a bug in lwnlab, not in the input
        if os.environ.get("LWNLAB_DEBUG"):
            raise
        print(f"lwnlab: internal error: {type(e).__name__}: {e}\n"
              "lwnlab: this is a bug in lwnlab; set LWNLAB_DEBUG=1 to see the traceback", file=sys.stderr)
        return EXIT_INTERNAL


def _die(message: str) -> None:
    sys.stdout.flush()
    print(f"lwnlab: error: {message}", file=sys.stderr)


__all__ = ["main", "build_parser", "group", "print_json", "UsageError",
           "EXIT_OK", "EXIT_NEGATIVE", "EXIT_USAGE", "EXIT_INTERNAL"]
