"""``lwnlab interp run|dis|cpython``: the lab-1 VM from the command line."""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize

from lwnlab.cli import EXIT_OK, group, print_json
from lwnlab.errors import ExecutionError, SourceError, UsageError

POLICIES = ("cpython311", "cpython312", "pep659", "off")


def register(subparsers) -> None:
    p, sub = group(subparsers, "interp", "PEP 659: run Python functions on lwnlab's specializing VM",
                   "Compile a Python function (a subset: see lwnlab.interp.compiler) to lwnlab's bytecode and "
                   "run it on the numba VM under a CPython-like specialization policy.")

    r = sub.add_parser("run", help="run a function and print its result and per-family stats",
                       description="Run FUNC from FILE.py CALLS times (the VM's state persists across calls, "
                       "as in a CPython process) and print the result and the specialization stats.")
    _common(r)
    r.add_argument("--args", nargs="*", default=[], metavar="ARG",
                   help="arguments as Python literals, e.g. --args 10 2.5 \"'text'\" \"[1, 2]\"")
    r.add_argument("--calls", type=int, default=1, help="how many times to call FUNC (default 1)")
    r.add_argument("--policy", choices=POLICIES, default="cpython312", help="counter policy (default cpython312)")
    r.add_argument("--no-super", action="store_true", help="do not form superinstructions")
    r.add_argument("--step-limit", type=int, default=None, metavar="N",
                   help="stop with an error after N instructions (default 2e9, a few seconds)")
    r.add_argument("--timeline", action="store_true", help="also print the timeline of state changes")
    r.add_argument("--json", action="store_true", help="machine-readable output")
    r.set_defaults(func=_cmd_run)

    d = sub.add_parser("dis", help="disassemble a function (adaptively after a run with --after-run)",
                       description="Print FUNC's bytecode; with --after-run, run it first and show the "
                       "quickened/specialized instructions and their counters (like dis.dis(f, adaptive=True)).")
    _common(d)
    d.add_argument("--after-run", action="store_true", help="run first, then show the adaptive disassembly")
    d.add_argument("--args", nargs="*", default=[], metavar="ARG", help="arguments as Python literals")
    d.add_argument("--calls", type=int, default=10, help="calls before disassembling (with --after-run; default 10)")
    d.add_argument("--policy", choices=POLICIES, default="cpython312", help="counter policy (default cpython312)")
    d.add_argument("--step-limit", type=int, default=None, metavar="N",
                   help="with --after-run: stop with an error after N instructions (default 2e9)")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.set_defaults(func=_cmd_dis)

    c = sub.add_parser("cpython", help="what the host CPython's specializer did to the same function",
                       description="Run FUNC on the host CPython (3.11+) and print dis(adaptive=True) with the "
                       "counter word of every instruction that has an inline cache.")
    _common(c)
    c.add_argument("--args", nargs="*", default=[], metavar="ARG", help="arguments as Python literals")
    c.add_argument("--calls", type=int, default=10, help="how many calls (default 10)")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.set_defaults(func=_cmd_cpython)


#: what argparse may take as a value rather than an option: negative numbers in every spelling Python's
#: literals allow (argparse's own pattern knows only -12 and -1.5, so --args -1e3 or -2j was "unrecognized")
_NEGATIVE_NUMBER = re.compile(r"^-(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][-+]?\d+)?[jJ]?$|^-(inf|infinity|nan)$",
                              re.IGNORECASE)

#: the largest source file read (a device such as /dev/zero must not be read forever)
MAX_SOURCE_BYTES = 16 << 20


def _common(p) -> None:
    p._negative_number_matcher = _NEGATIVE_NUMBER  # argparse consults this to tell "-1e3" from an option
    p.add_argument("file", metavar="FILE.py", help="Python source file")
    p.add_argument("--func", dest="funcname", required=True, metavar="NAME", help="function to run (Class.method also works)")


def _read(path: str) -> str:
    with open(path, "rb") as f:
        data = f.read(MAX_SOURCE_BYTES + 1)
    if len(data) > MAX_SOURCE_BYTES:
        raise SourceError(f"source file is larger than {MAX_SOURCE_BYTES >> 20} MiB", file=path)
    try:  # UTF-8, or what a PEP 263 coding cookie declares, as CPython reads source files
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as e:
        raise SourceError(f"cannot tell the file's encoding: {e.msg if hasattr(e, 'msg') else e}", file=path,
                          line=getattr(e, "lineno", None)) from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise SourceError(f"not {encoding} text: byte 0x{data[e.start]:02x} cannot be decoded ({e.reason}); "
                          "save the file as UTF-8", file=path, line=line, column=col) from None


_FLOAT_WORDS = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan", "+nan", "-nan"}


def _parse_args(items: list[str]) -> tuple:
    out = []
    for k, s in enumerate(items):
        if s.strip().lower() in _FLOAT_WORDS:  # float('inf') has no literal; accept the words float() reads
            out.append(float(s))
            continue
        try:
            out.append(ast.literal_eval(s.strip()))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            shown = s if len(s) <= 60 else s[:57] + "..."
            raise UsageError(f"--args item {k + 1} ({shown!r}) is not a Python literal (quote strings: \"'text'\")",
                             field="args") from None
    return tuple(out)


def _calls(args) -> list:
    from lwnlab.interp.policy import MAX_CALLS

    if args.calls < 1:
        raise UsageError("--calls must be at least 1", field="calls")
    if args.calls > MAX_CALLS:
        raise UsageError(f"--calls must be at most {MAX_CALLS}", field="calls")
    return [_parse_args(args.args)] * args.calls


def _policy(args, **kw):
    from lwnlab.interp.policy import preset

    if args.step_limit is not None:
        kw["step_limit"] = args.step_limit
    return preset(args.policy, **kw)


def _cmd_run(args) -> int:
    from lwnlab.interp.machine import execute

    src = _read(args.file)
    pol = _policy(args, superinstructions=False) if args.no_super else _policy(args)
    try:
        res = execute(src, args.funcname, _calls(args), pol, filename=args.file)
    except ExecutionError as e:
        # what the program printed before it failed comes first, as CPython prints it before the traceback
        if getattr(e, "output", "") and not args.json:
            sys.stdout.write(e.output)
        raise
    if args.json:
        d = res.to_json()
        if not args.timeline:
            d.pop("timeline")
        print_json(d)
        return EXIT_OK
    if res.output:
        sys.stdout.write(res.output)
    print(f"result: {res.result!r}")
    print(f"instructions: {res.instructions}   calls: {res.calls}   policy: {res.policy.name}   "
          f"hit rate: {res.hit_rate:.1%}")
    print(f"{'family':<14} {'exec':>9} {'hit':>9} {'miss':>7} {'deopt':>6} {'spec_ok':>8} {'spec_fail':>9}  reasons")
    for fam, s in res.stats.items():
        if s["exec"] == 0:
            continue
        reasons = ", ".join(f"{k}={v}" for k, v in res.fail_reasons.get(fam, {}).items())
        print(f"{fam:<14} {s['exec']:>9} {s['hit']:>9} {s['miss']:>7} {s['deopt']:>6} {s['specialize_ok']:>8} "
              f"{s['specialize_fail']:>9}  {reasons}")
    if args.timeline:
        for e in res.timeline:
            print(e)
    return EXIT_OK


def _cmd_dis(args) -> int:
    from lwnlab.interp.compiler import compile_source
    from lwnlab.interp.disasm import disassemble, rows

    src = _read(args.file)
    if args.after_run:
        from lwnlab.interp.machine import execute

        res = execute(src, args.funcname, _calls(args), _policy(args), filename=args.file)
        if args.json:
            from lwnlab.interp.disasm import rows as _rows

            print_json({"func": args.funcname, "policy": args.policy, "calls": res.calls,
                        "instructions": _rows(res.program, args.funcname, res.code, res.cache, res.oparg)})
        else:
            print(f"# {args.funcname} after {res.calls} call(s) under {args.policy}")
            print(res.dis())
        return EXIT_OK
    prog = compile_source(src, args.file)
    prog.func_index(args.funcname)
    prog.flat()
    if args.json:
        print_json({"func": args.funcname, "instructions": rows(prog, args.funcname)})
    else:
        print(disassemble(prog, args.funcname))
    return EXIT_OK


def _cmd_cpython(args) -> int:
    from lwnlab.interp.cpython import panel

    src = _read(args.file)
    p = panel(src, args.funcname, _calls(args), filename=args.file)
    if args.json:
        print_json(p.to_json())
    else:
        print(p.text())
    return EXIT_OK
