"""Disassembly of lwnlab code objects, plain or adaptive (like ``dis.dis(f, adaptive=True)``)."""

from __future__ import annotations

import numpy as np

from lwnlab.interp import opcodes as O
from lwnlab.interp.compiler import Program


def _argrepr(program: Program, opname: str, arg: int, entry: int, local_names: list[str] | None = None) -> str:
    base = O.base_of(opname)
    if base in ("LOAD_FAST", "STORE_FAST") and opname in ("LOAD_FAST", "STORE_FAST"):
        # the local's name, as dis shows it: LOAD_FAST 0 (a)
        return local_names[arg] if local_names is not None and 0 <= arg < len(local_names) else ""
    if base in ("LOAD_GLOBAL", "STORE_GLOBAL", "LOAD_ATTR", "STORE_ATTR", "LOAD_METHOD"):
        return program.names[arg] if 0 <= arg < len(program.names) else "?"
    if base == "LOAD_CONST" and opname == "LOAD_CONST":
        v = program.consts[arg]
        if isinstance(v, tuple) and len(v) == 2 and v[0] == "func":
            return f"<code {program.funcs[v[1]].qualname}>"
        return repr(v)
    if base == "BINARY_OP":
        return O.NB_SYMBOL[arg]
    if base == "COMPARE_OP":
        return O.CMP_OPS[arg]
    if opname in ("JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_QUICK", "POP_JUMP_IF_FALSE", "POP_JUMP_IF_TRUE",
                  "JUMP_IF_FALSE_OR_POP", "JUMP_IF_TRUE_OR_POP") or base == "FOR_ITER":
        return f"to {arg - entry}"
    if opname == "MAKE_CLASS":
        return program.classes[arg].name
    return ""


def rows(program: Program, func: str, code: np.ndarray | None = None, cache: np.ndarray | None = None,
         oparg: np.ndarray | None = None) -> list[dict]:
    """One dict per instruction: offset, line, opname, arg, argrepr, kind, counter (adaptive only)."""
    f = program.funcs[0] if func == "<module>" else program.funcs[program.func_index(func)]
    out = []
    for k, ins in enumerate(f.code):
        pc = f.entry + k
        name = O.OPNAME[int(code[pc])] if code is not None else ins.op
        arg = int(oparg[pc]) if oparg is not None else ins.arg + (f.entry if ins.op in (
            "JUMP_FORWARD", "JUMP_BACKWARD", "POP_JUMP_IF_FALSE", "POP_JUMP_IF_TRUE", "JUMP_IF_FALSE_OR_POP",
            "JUMP_IF_TRUE_OR_POP", "FOR_ITER") else 0)
        op = O.BY_NAME[name]
        counter = int(cache[pc, 0]) if cache is not None and (op.kind in (O.BASE, O.ADAPTIVE, O.SPECIALIZED)) else None
        shown_arg = arg - f.entry if "JUMP" in ins.op or ins.op == "FOR_ITER" else arg
        out.append({"offset": k, "line": ins.line, "opname": name, "arg": shown_arg if op.has_arg else None,
                    "argrepr": _argrepr(program, ins.op if op.kind == O.SUPER else name, arg, f.entry, f.locals),
                    "kind": op.kind, "family": op.family, "counter": counter})
    return out


def disassemble(program: Program, func: str, code: np.ndarray | None = None, cache: np.ndarray | None = None,
                oparg: np.ndarray | None = None) -> str:
    lines = []
    last_line = None
    for r in rows(program, func, code, cache, oparg):
        ln = f"{r['line']:>4}" if r["line"] != last_line else "    "
        last_line = r["line"]
        arg = "" if r["arg"] is None else f"{r['arg']:>3}"
        rep = f"({r['argrepr']})" if r["argrepr"] else ""
        extra = ""
        if r["counter"] is not None:
            extra = f"  [counter {r['counter']}]"
        lines.append(f"{ln} {r['offset']:>6} {r['opname']:<28} {arg:>3} {rep}".rstrip() + extra)
    return "\n".join(lines)
