"""The thin Python layer around the VM: build the arrays, run, and read the results back.

    >>> from lwnlab.interp import execute
    >>> r = execute("def add(a, b):\\n    return a + b\\n", "add", [(1, 2)] * 10, policy="cpython311")
    >>> r.result, r.stats["BINARY_OP"]["hit"]
    (3, 3)

A *run* executes the module body once (defining functions, classes and
globals), then calls the function once per entry of ``calls``; the VM's state
(quickened code, counters, globals, heap) persists across those calls, as it
does in a CPython process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from lwnlab.errors import ExecutionError, UsageError
from lwnlab.interp import opcodes as O
from lwnlab.interp import vm as V
from lwnlab.interp.compiler import Program, compile_source
from lwnlab.interp.objects import (BUILTINS, C_DICT, C_KEYS, C_NAME, D_MASK, D_OFF, D_USED, E_KEY, T_BUILTIN,
                                   T_CLASS, T_FUNC, T_OBJ, T_STR, TAG_NAMES, Heap, HeapSizes, table_capacity)
from lwnlab.interp.policy import MAX_CALLS, NUM_PARAMS, Policy, preset



@dataclass(frozen=True)
class Event:
    """One state change of one instruction (the timeline)."""

    step: int
    call: int
    offset: int  # index into the function's code
    pc: int  # index into the flat code array
    func: str
    kind: str
    from_op: str
    to_op: str
    reason: str
    counter: int

    def to_json(self) -> dict:
        return dict(self.__dict__)

    def __str__(self) -> str:
        why = f" ({self.reason})" if self.reason and self.kind in ("specialize_fail", "deopt") else ""
        return (f"step {self.step:>8} call {self.call:>4} {self.func}@{self.offset:<3} {self.kind:<16} "
                f"{self.from_op} -> {self.to_op}{why} counter={self.counter}")


@dataclass
class RunResult:
    """What a run produced: the result, the output, and everything observed along the way."""

    program: Program
    func: str
    policy: Policy
    result: object
    output: str
    instructions: int
    stats: dict
    fail_reasons: dict
    timeline: list[Event]
    timeline_dropped: int
    samples: np.ndarray  # rows: step, cumulative hits, cumulative misses, call
    percall: np.ndarray  # rows: steps, cumulative hits, cumulative misses (after each call)
    code0: np.ndarray  # the flat code before the run (after load-time quickening, if any)
    code: np.ndarray  # the flat code after the run
    cache: np.ndarray
    oparg: np.ndarray
    lines: np.ndarray
    seconds: float
    calls: int

    # ------------------------------------------------------------ summaries
    @property
    def hits(self) -> int:
        return sum(s["hit"] for s in self.stats.values())

    @property
    def misses(self) -> int:
        return sum(s["miss"] for s in self.stats.values())

    @property
    def hit_rate(self) -> float:
        """Hits / (hits + misses) over specialized instructions (1.0 if none ran)."""
        h, m = self.hits, self.misses
        return h / (h + m) if h + m else 1.0

    def family_names(self, func: str | None = None) -> dict[int, str]:
        f = self.program.funcs[self.program.func_index(func or self.func)]
        end = f.entry + len(f.code)
        return {pc - f.entry: O.OPNAME[int(self.code[pc])] for pc in range(f.entry, end)}

    def current_ops(self, func: str | None = None) -> list[str]:
        """The instruction names of ``func`` now (quickened/specialized)."""
        f = self.program.funcs[self.program.func_index(func or self.func)]
        return [O.OPNAME[int(c)] for c in self.code[f.entry:f.entry + len(f.code)]]

    def code_at(self, event_index: int) -> np.ndarray:
        """The flat code array as it was right after timeline event ``event_index`` (-1: before the run)."""
        code = self.code0.copy()
        for ev in self.timeline[:event_index + 1]:
            code[ev.pc] = O.OPCODE[ev.to_op]
        return code

    def events_for(self, func: str | None = None) -> list[Event]:
        name = func or self.func
        return [e for e in self.timeline if e.func == name]

    def dis(self, func: str | None = None, *, adaptive: bool = True, event_index: int | None = None) -> str:
        from lwnlab.interp.disasm import disassemble

        code = self.code if event_index is None else self.code_at(event_index)
        return disassemble(self.program, func or self.func, code=code if adaptive else None,
                           cache=self.cache if (adaptive and event_index is None) else None, oparg=self.oparg)

    def to_json(self) -> dict:
        from lwnlab.interp.objects import VMObject

        res = self.result
        if isinstance(res, VMObject):
            res = repr(res)
        return {"result": _jsonable(res), "output": self.output, "instructions": self.instructions,
                "calls": self.calls, "policy": self.policy.name, "hit_rate": self.hit_rate,
                "stats": self.stats, "fail_reasons": self.fail_reasons,
                "timeline": [e.to_json() for e in self.timeline], "timeline_dropped": self.timeline_dropped,
                "seconds": self.seconds}


def _jsonable(v):
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, range):
        return repr(v)
    return v


# ============================================================================ building the arrays


@dataclass
class Image:
    """The memory image the kernel runs on, for one program and one list of calls.

    ``mem`` is the one int64 buffer, ``lay`` its layout (``vm.R_*`` regions), ``arrays`` numpy views of the
    regions by name (``vm.REGIONS``)."""

    program: Program
    heap: Heap
    mem: np.ndarray
    lay: np.ndarray
    arrays: dict = field(default_factory=dict)
    lines: np.ndarray | None = None
    cols: np.ndarray | None = None


def _normalise_calls(calls, nparams: int, fname: str) -> list[tuple]:
    if calls is None:
        calls = [()]
    elif isinstance(calls, int) and not isinstance(calls, bool):
        if nparams:
            raise UsageError(f"{fname}() takes {nparams} argument(s): pass a list of argument tuples",
                             field="calls")
        calls = [()] * calls
    out = []
    for k, c in enumerate(calls):
        if not isinstance(c, (tuple, list)):
            c = (c,)
        c = tuple(c)
        if len(c) != nparams:
            raise UsageError(f"call {k}: {fname}() takes {nparams} argument(s), got {len(c)}", field="calls")
        out.append(c)
    if not out:
        raise UsageError("no calls to make", field="calls")
    if len(out) > MAX_CALLS:
        raise UsageError(f"at most {MAX_CALLS} calls per run", field="calls")
    return out


def build(program: Program, func: str, calls, policy: Policy, sizes: HeapSizes | None = None,
          timeline_cap: int = 100_000, samples_cap: int = 4096, sample_every: int | None = None) -> Image:
    sizes = (sizes or HeapSizes()).validate()
    fi = program.func_index(func)
    fobj = program.funcs[fi]
    calls = _normalise_calls(calls, fobj.nparams, fobj.qualname)
    ops, args, lines, cols = program.flat()
    n = len(ops)
    nf = len(program.funcs)
    ncls = len(program.classes)
    # dict tables: 0 globals, 1 builtins, then (class dict, class shared keys) per class
    caps = [table_capacity(len(program.names) + 2), table_capacity(len(BUILTINS))]
    caps += [table_capacity(len(program.names) + 2)] * (2 * ncls)
    nargs = fobj.nparams
    total = len(calls)
    rows = dict(insn=n, fn=nf, co_warm=nf, consts=max(1, len(program.consts)),
                names=max(1, len(program.names)), sdata=sizes.string_data, shdr=sizes.strings, lhdr=sizes.lists,
                elem=sizes.elements, ocls=sizes.objects, attr=sizes.objects * sizes.attrs_per_object,
                rng=sizes.ranges, it=sizes.iterators, dhdr=len(caps), dent=sum(caps), chdr=max(1, ncls),
                vals=sizes.stack, frames=sizes.frames + 1, args=max(1, total * nargs), params=NUM_PARAMS,
                fam_on=O.NUM_FAMILIES, state=V.NUM_STATE, stats=O.NUM_FAMILIES, fails=O.NUM_FAMILIES,
                timeline=timeline_cap, samples=samples_cap, percall=total, result=total,
                print=sizes.print_records, status=7)
    mem, lay, a = V.allocate(rows)
    a["status"][5:] = -1  # the operands' payloads, which only some faults record (vm.operands)
    heap = Heap(sizes, a)
    a["code"][:] = ops
    a["oparg"][:] = args
    for k, f in enumerate(program.funcs):
        a["fn"][k] = (f.entry, f.nparams, len(f.locals), f.stacksize, int(f.is_init), f.entry + len(f.code))
    # names and constants
    a["names"][:len(program.names)] = [heap.intern(s) for s in program.names]
    sid_append = heap.intern("append")
    sid_init = heap.intern("__init__")
    for k, v in enumerate(program.consts):
        if isinstance(v, tuple) and len(v) == 2 and v[0] == "func":
            a["consts"][k] = (T_FUNC, v[1])
        elif isinstance(v, str):
            a["consts"][k] = (T_STR, heap.intern(v))
        else:
            a["consts"][k] = heap.from_python(v, where="constant")
    dhdr, dent = a["dhdr"], a["dent"]
    off = 0
    for t, cap in enumerate(caps):
        dhdr[t, D_OFF] = off
        dhdr[t, D_MASK] = cap - 1
        off += cap
    dent[:, E_KEY] = -1
    for b, name in enumerate(BUILTINS):
        sid = heap.intern(name)
        h = heap.shdr[sid, 2]
        found, slot = V.dict_probe(dhdr, dent, 1, sid, h, heap.sdata, heap.shdr, 1)
        dent[dhdr[1, D_OFF] + slot] = (sid, h, T_BUILTIN, b)
        dhdr[1, D_USED] += 1
    for c, info in enumerate(program.classes):
        a["chdr"][c, C_DICT] = 2 + 2 * c
        a["chdr"][c, C_KEYS] = 3 + 2 * c
        a["chdr"][c, C_NAME] = heap.intern(info.name)
    # call arguments: row k * nargs + j is argument j of call k
    memo: dict = {}
    for k, c in enumerate(calls):
        for j, v in enumerate(c):
            a["args"][k * nargs + j] = heap.from_python(v, memo, where=f"argument {j + 1} of call {k}")
    # counters and load-time quickening
    mode = policy.mode
    code, cache = a["code"], a["cache"]
    if mode == 2:
        raw = (policy.warmup << 4) | policy.warmup_backoff
        for k in range(n):
            if O.TABLE[code[k]].kind == O.BASE:
                cache[k, 0] = raw
    state = a["state"]
    state[V.ST_STR_TOP] = heap.str_top
    state[V.ST_SDATA_TOP] = heap.sdata_top
    state[V.ST_LIST_TOP] = heap.list_top
    state[V.ST_ELEM_TOP] = heap.elem_top
    state[V.ST_NEXT_VERSION] = 1
    state[V.ST_CALL] = -1
    state[V.ST_CALL_FUNC] = fi
    state[V.ST_NCALLS] = total
    state[V.ST_NARGS] = nargs
    if sample_every is None:
        sample_every = 1000
    a["params"][:] = policy.params(attrs=sizes.attrs_per_object, sample_every=sample_every, sid_append=sid_append,
                                   sid_init=sid_init, depth_limit=sizes.frames)
    a["fam_on"][:] = policy.family_mask()
    if mode == 2 and policy.superinstructions:
        _form_superinstructions(code)
    if mode == 1 and policy.warmup == 0:
        for k in range(nf):
            V.quicken(mem, lay, a["fn"][k, 0], a["fn"][k, 5])
    return Image(program, heap, mem, lay, a, np.array(lines, np.int64), np.array(cols, np.int64))


def _form_superinstructions(code: np.ndarray) -> None:
    """3.12's load-time superinstructions (same pairs as 3.11's _PyCode_Quicken)."""
    LF, SF, LC = O.OPCODE["LOAD_FAST"], O.OPCODE["STORE_FAST"], O.OPCODE["LOAD_CONST"]
    prev = -1
    for i in range(len(code)):
        op = int(code[i])
        s = None
        if op == LF:
            s = {LF: "LOAD_FAST__LOAD_FAST", SF: "STORE_FAST__LOAD_FAST", LC: "LOAD_CONST__LOAD_FAST"}.get(prev)
        elif op == SF and prev == SF:
            s = "STORE_FAST__STORE_FAST"
        elif op == LC and prev == LF:
            s = "LOAD_FAST__LOAD_CONST"
        if s:
            code[i - 1] = O.OPCODE[s]
        prev = op


def kernel_args(img: Image) -> tuple:
    return (img.mem, img.lay)


def warmup_image() -> Image:
    """A small image that runs every kind of instruction once (for ``lwnlab warmup``)."""
    src = ("G = 2\nclass P:\n    k = 1\n    def __init__(self, x):\n        self.x = x\n"
           "def f(n):\n    s = 0\n    xs = [1, 2.5, 'a']\n    xs.append(n)\n    p = P(n)\n"
           "    for i in range(n):\n        s = s + i * G + len(xs) + p.x + P.k\n    return s\n")
    prog = compile_source(src, "<warmup>")
    return build(prog, "f", [(3,)], preset("cpython312"),
                 HeapSizes(strings=64, string_data=256, lists=64, elements=256, objects=16,
                           ranges=16, iterators=16, stack=1024, frames=16, print_records=16))


def warmup_args() -> tuple:
    return kernel_args(warmup_image())


# ============================================================================ running


def execute(source: str | Program, func: str, calls=None, policy: str | Policy = "cpython312", *,
            filename: str = "<input>", sizes: HeapSizes | None = None, timeline_cap: int = 100_000,
            sample_every: int | None = None) -> RunResult:
    """Compile (if needed) and run ``func`` once per entry of ``calls`` (a list of argument tuples).

    ``calls`` may also be an int (that many calls of a function without parameters) or None (one call).
    """
    program = source if isinstance(source, Program) else compile_source(source, filename)
    pol = preset(policy) if isinstance(policy, str) else policy.validate()
    img = build(program, func, calls, pol, sizes, timeline_cap=timeline_cap, sample_every=sample_every)
    code0 = img.arrays["code"].copy()
    # the timeline may already hold load-time quickening events (3.11 with warmup 0)
    t0 = time.perf_counter()
    V.run(img.mem, img.lay)
    seconds = time.perf_counter() - t0
    return collect(img, func, pol, code0, seconds)


def collect(img: Image, func: str, pol: Policy, code0: np.ndarray, seconds: float) -> RunResult:
    a = img.arrays
    program = img.program
    heap = img.heap
    status = a["status"]
    state = a["state"]
    heap.str_top = int(state[V.ST_STR_TOP])
    output = _format_output(img)
    if status[0] != V.E_OK:
        raise _error(img, status, output)
    classes = [c.name for c in program.classes]
    funcs = [f.qualname for f in program.funcs]
    ncalls = a["result"].shape[0]
    result = heap.to_python(a["result"][ncalls - 1, 0], a["result"][ncalls - 1, 1], classes, funcs)
    stats = {fam: {name: int(a["stats"][k, j]) for j, name in enumerate(O.STAT_NAMES)}
             for k, fam in enumerate(O.FAMILIES)}
    fails = {fam: {O.FAIL_REASONS[j][0]: int(a["fails"][k, j]) for j in range(O.NUM_FAIL) if a["fails"][k, j]}
             for k, fam in enumerate(O.FAMILIES)}
    # timeline rows -> events
    func_of_pc = np.zeros(len(a["code"]), np.int64)
    for k, f in enumerate(program.funcs):
        func_of_pc[f.entry:f.entry + len(f.code)] = k
    events = []
    ntl = int(state[V.ST_TL_N])
    for row in a["timeline"][:ntl]:
        step, call, pc, frm, to, ev, reason, counter = (int(x) for x in row)
        f = program.funcs[int(func_of_pc[pc])]
        why = ""
        if ev == O.EV_FAIL or (ev == O.EV_DEOPT and reason):
            why = O.FAIL_REASONS[reason][0]
        elif ev == O.EV_DEOPT:
            why = "MISS_BUDGET"
        # calls are numbered from 1 (0 is the module body), as the reference sheet counts them
        events.append(Event(step, call + 1, pc - f.entry, pc, f.qualname, O.EVENTS[ev], O.OPNAME[frm], O.OPNAME[to],
                            why, counter))
    return RunResult(program=program, func=func, policy=pol, result=result, output=output,
                     instructions=int(state[V.ST_STEPS]), stats=stats, fail_reasons=fails, timeline=events,
                     timeline_dropped=int(state[V.ST_TL_DROPPED]),
                     samples=a["samples"][:int(state[V.ST_SAMPLES_N])].copy(), percall=a["percall"].copy(),
                     code0=code0, code=a["code"].copy(), cache=a["cache"].copy(), oparg=a["oparg"],
                     lines=img.lines, seconds=seconds, calls=ncalls)


def _format_output(img: Image) -> str:
    a = img.arrays
    n = int(a["state"][V.ST_PRINT_TOP])
    classes = [c.name for c in img.program.classes]
    funcs = [f.qualname for f in img.program.funcs]
    out, line = [], []
    for k in range(n):
        t = int(a["print"][k, 0])
        if t == -2:
            out.append(" ".join(line) + "\n")
            line = []
        else:
            v = img.heap.to_python(t, a["print"][k, 1], classes, funcs)
            line.append(str(v) if not isinstance(v, (list, tuple)) else repr(v))
    return "".join(out)


_BUILTIN_FN = ("len", "abs", "min", "max", "range", "int", "float", "isinstance", "print", "bool", "str", "list",
               "tuple", "list.append")
_TYPE_WHAT = {1: "unsupported operand type(s) for {op}: '{a}' and '{b}'",
              2: "'{op}' not supported between instances of '{a}' and '{b}'",
              3: "bad operand type for unary -: '{a}'",
              4: "{a} indices must be integers or slices, not {b}",
              5: "'{a}' object is not subscriptable",
              6: "'{a}' object does not support item assignment",
              7: "cannot unpack non-iterable {a} object"}
#: CPython's TypeError for a builtin's one argument of the wrong type, by builtin
_BUILTIN_TYPE_WHAT = {"len": "object of type '{t}' has no len()",
                      "abs": "bad operand type for abs(): '{t}'",
                      "int": "int() argument must be a string, a bytes-like object or a real number, not '{t}'",
                      "float": "float() argument must be a string or a real number, not '{t}'",
                      "range": "'{t}' object cannot be interpreted as an integer"}


def _error(img: Image, status, output: str) -> ExecutionError:
    code, pc, a, b, c, pb, pc_ = (int(x) for x in status)
    prog = img.program
    n = len(img.arrays["code"])
    line = int(img.lines[pc]) if 0 <= pc < n else None
    col = int(img.cols[pc]) if 0 <= pc < n and img.cols[pc] > 0 else None
    func = None
    for f in prog.funcs:
        if f.entry <= pc < f.entry + len(f.code):
            func = f.qualname
    opname = O.OPNAME[int(img.arrays["code"][pc])] if 0 <= pc < n else "?"
    base = O.base_of(opname) if opname != "?" else "?"

    ocls = img.arrays["ocls"]

    def tag(t, p=-1):
        """The type name of a value with tag t, an instance's class as CPython names it: from the payload p where
        the fault recorded it (vm.operands: the generic attribute, operator, subscript and unpack paths), else the
        program's only class.  (run's own faults record no payload: one more store there slows its hot loop.)"""
        if t == T_OBJ and 0 <= p < len(ocls) and 0 <= int(ocls[p]) < len(prog.classes):
            return prog.classes[int(ocls[p])].name
        if t == T_OBJ and len(prog.classes) == 1:
            return prog.classes[0].name
        return TAG_NAMES[t] if 0 <= t < len(TAG_NAMES) else f"tag {t}"

    def name(sid):
        return img.heap.get_str(sid) if 0 <= sid < img.heap.str_top or sid < len(img.heap.shdr) else f"#{sid}"

    arg = int(img.arrays["oparg"][pc]) if 0 <= pc < n else 0
    if code == V.E_ZERODIV:
        msg = {0: "ZeroDivisionError: integer division or modulo by zero",
               1: "ZeroDivisionError: 0.0 cannot be raised to a negative power",
               2: "ZeroDivisionError: float division by zero",
               3: "ZeroDivisionError: 0.0 cannot be raised to a negative power"}.get(a, "ZeroDivisionError")
        if base == "BINARY_OP" and a == 0 and O.NB_SYMBOL[arg] in ("/", "/="):
            msg = "ZeroDivisionError: division by zero"
    elif code == V.E_OVERFLOW:
        msg = ("OverflowError: result does not fit in int64 (lwnlab's ints are 64-bit; CPython's are unbounded)"
               if a != 1 else "OverflowError: (34, 'Numerical result out of range')")
        if base == "CALL":
            msg = "OverflowError: value does not fit in int64 (lwnlab's ints are 64-bit)"
    elif code == V.E_TYPE:
        if a >= 100:
            fn_name = _BUILTIN_FN[a - 100]
            if b == 1 and fn_name in _BUILTIN_TYPE_WHAT:  # b: how many arguments; c: the first one's tag
                msg = "TypeError: " + _BUILTIN_TYPE_WHAT[fn_name].format(t=tag(c, pc_))
            elif fn_name in ("min", "max"):
                if b == 1 and tag(c) not in ("list", "tuple", "range", "str"):
                    msg = f"TypeError: '{tag(c, pc_)}' object is not iterable"
                else:  # two of the values do not order; the fault does not record which (CPython names their types)
                    msg = (f"TypeError: '{'<' if fn_name == 'min' else '>'}' not supported between instances of two "
                           f"of {fn_name}()'s values")
            else:
                msg = f"TypeError: bad argument type for {fn_name}(): '{tag(c, pc_)}'"
        else:
            sym = O.NB_SYMBOL[arg] if base == "BINARY_OP" else (O.CMP_OPS[arg] if base == "COMPARE_OP" else "")
            msg = "TypeError: " + _TYPE_WHAT.get(a, "unsupported types").format(op=sym, a=tag(b, pb), b=tag(c, pc_))
            if a == 4 and tag(b) == "str":
                msg = f"TypeError: string indices must be integers, not '{tag(c, pc_)}'"
            if a == 2 and b == c and tag(b) in ("list", "tuple"):
                # CPython orders two lists (two tuples) item by item: no TypeError there, just not modelled here
                msg = (f"outside lwnlab's subset at run time: '{sym}' between two {tag(b)}s "
                       "(CPython compares them item by item; lwnlab models only == and != for them)")
    elif code == V.E_NAME:
        msg = f"NameError: name {name(a)!r} is not defined"
        if name(a) in ("str", "dict", "set", "sorted", "sum", "enumerate", "zip", "round", "type", "map"):
            msg += " (not among lwnlab's builtins: " + ", ".join(BUILTINS) + ")"
    elif code == V.E_INDEX:
        msg = f"IndexError: {tag(b)} index out of range (index {a})"
    elif code == V.E_ATTR:
        if b == T_CLASS and 0 <= pb < len(prog.classes):
            msg = f"AttributeError: type object '{prog.classes[pb].name}' has no attribute {name(a)!r}"
        else:
            msg = f"AttributeError: '{tag(b, pb)}' object has no attribute {name(a)!r}"
    elif code == V.E_RECURSION:
        msg = f"RecursionError: maximum recursion depth exceeded (limit {img.heap.sizes.frames} frames)"
    elif code == V.E_HEAP:
        pool = {0: "strings", 1: "elements/lists", 2: "globals", 3: "iterators", 4: "objects"}.get(a, "heap")
        msg = f"MemoryError: the VM's {pool} pool is full (raise HeapSizes.{pool.split('/')[0]})"
    elif code == V.E_STEPS:
        msg = (f"the run exceeded the step limit of {img.arrays['params'][V.P_STEP_LIMIT]} instructions "
               "(an endless loop? the limit is Policy.step_limit, --step-limit in the CLI)")
    elif code == V.E_ARGCOUNT:
        if a >= 100:
            msg = f"TypeError: {_BUILTIN_FN[a - 100]}() got a wrong number of arguments ({b})"
        elif c >= 0 and base == "CALL":
            msg = f"TypeError: {prog.classes[c].name}() takes no arguments"
        else:
            fname = prog.funcs[-1 - c].qualname if c < 0 else (func or "function")
            msg = f"TypeError: {fname}() takes {a} positional argument(s) but {b} were given"
    elif code == V.E_NOT_CALLABLE:
        msg = f"TypeError: '{tag(a, pc_)}' object is not callable"
    elif code == V.E_VALUE:
        if a >= 100:
            msg = {B_RANGE_ID: "ValueError: range() arg 3 must not be zero",
                   B_MINMAX[0]: "ValueError: min() arg is an empty sequence",
                   B_MINMAX[1]: "ValueError: max() arg is an empty sequence"}.get(
                a - 100, f"ValueError: invalid value for {_BUILTIN_FN[a - 100]}()")
            if a - 100 == 5:
                msg = ("ValueError: cannot convert float NaN to integer" if tag(c) == "float"
                       else "ValueError: invalid literal for int() with base 10")
            elif a - 100 == 6:
                msg = "ValueError: could not convert string to float"
        else:
            msg = "ValueError: negative shift count"
    elif code == V.E_UNSUPPORTED:
        what = {1: "int / int where an operand is not an exact double (beyond 2**53 and not a multiple of a large "
                   "power of two; CPython rounds the exact quotient)",
                2: "a negative float to a fractional power (CPython returns a complex number)",
                3: "a bound method used as a value (call it directly: obj.method(...))",
                4: "== between lists/tuples that contain lists/tuples",
                99: f"opcode {b}"}.get(a)
        if a >= 100:
            what = f"{_BUILTIN_FN[a - 100]}() with these arguments"
            if a - 100 == 6 and tag(c) == "str":
                what = ("float() of this string (lwnlab converts exactly when the significant digits fit in "
                        "2**53 and the power of ten is within 22, plus inf and nan, in ASCII)")
            elif a - 100 == 5 and tag(c) == "str":
                what = "int() of a string with '_' or non-ASCII characters"
        msg = f"outside lwnlab's subset at run time: {what}"
    elif code == V.E_UNBOUND:
        fobj = next((f for f in prog.funcs if f.qualname == func), None)
        lname = fobj.locals[a] if fobj and 0 <= a < len(fobj.locals) else f"#{a}"
        msg = f"UnboundLocalError: local variable {lname!r} referenced before assignment"
    elif code == V.E_STACK:
        msg = "the VM's stack is too small for this function (raise HeapSizes.stack)"
    elif code == V.E_INIT_RETURN:
        msg = f"TypeError: __init__() should return None, not '{tag(a)}'"
    elif code == V.E_NOT_ITERABLE:
        msg = f"TypeError: '{tag(a, pc_)}' object is not iterable" + (" (iterating over str is outside lwnlab's subset)"
                                                                 if a == 5 else "")
    elif code == V.E_UNPACK:
        msg = f"ValueError: expected {a} values to unpack, got {b}"
    elif code == V.E_ATTRS_FULL:
        msg = f"too many attributes for lwnlab's instances/classes (limit {a}; raise HeapSizes.attrs_per_object)"
    else:
        msg = f"VM fault {code}"
    where = f" in {func}" if func else ""
    err = ExecutionError(f"{msg} [{opname}{where}]", file=prog.filename, line=line, column=col, pc=pc)
    err.output = output
    return err


B_RANGE_ID = 4
B_MINMAX = (2, 3)
