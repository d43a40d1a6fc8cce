"""Compile a subset of Python (via :mod:`ast`) to lwnlab's bytecode.

The subset: module-level functions, classes (``__init__``, methods, class
attributes; no bases) and globals; ``int``, ``float``, ``bool``, ``str``,
``None``, lists and tuples; ``if/elif/else``, ``while``, ``for`` over any
iterable (ranges, lists, tuples), ``break``/``continue``, comparison chains,
augmented assignment, ``and/or/not``, conditional expressions, tuple
unpacking, calls to Python functions, methods and the builtins in
:data:`lwnlab.interp.objects.BUILTINS`.

Everything else raises :class:`~lwnlab.errors.CompileError` naming the
construct, the line and the column.  Code generation follows CPython 3.11
where it matters for specialization: ``PUSH_NULL`` + callable + args +
``CALL n``; ``LOAD_METHOD``; ``BINARY_OP`` with ``NB_*`` arguments (``+=`` is
``NB_INPLACE_ADD``); ``while`` loops test at the bottom with a backward
``POP_JUMP_IF_TRUE`` (which, as in 3.11, does not count toward warmup).
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass, field

from lwnlab.errors import CompileError
from lwnlab.interp import opcodes as O

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

_BINOPS = {ast.Add: O.NB_ADD, ast.Sub: O.NB_SUBTRACT, ast.Mult: O.NB_MULTIPLY, ast.Div: O.NB_TRUE_DIVIDE,
           ast.FloorDiv: O.NB_FLOOR_DIVIDE, ast.Mod: O.NB_REMAINDER, ast.Pow: O.NB_POWER,
           ast.LShift: O.NB_LSHIFT, ast.RShift: O.NB_RSHIFT, ast.BitAnd: O.NB_AND, ast.BitOr: O.NB_OR,
           ast.BitXor: O.NB_XOR}
_CMPOPS = {ast.Lt: O.CMP_LT, ast.LtE: O.CMP_LE, ast.Eq: O.CMP_EQ, ast.NotEq: O.CMP_NE, ast.Gt: O.CMP_GT,
           ast.GtE: O.CMP_GE}
_JUMPS = {"JUMP_FORWARD", "JUMP_BACKWARD", "POP_JUMP_IF_FALSE", "POP_JUMP_IF_TRUE", "JUMP_IF_FALSE_OR_POP",
          "JUMP_IF_TRUE_OR_POP", "FOR_ITER"}


@dataclass
class Instr:
    op: str
    arg: int = 0
    line: int = 0
    col: int = 0


@dataclass
class FuncCode:
    """One code object: a function, a method, or the module body (index 0)."""

    name: str
    qualname: str
    params: list[str]
    locals: list[str]
    code: list[Instr] = field(default_factory=list)
    stacksize: int = 0
    line: int = 0
    is_init: bool = False
    entry: int = 0  # offset in the program's flat code array

    @property
    def nparams(self) -> int:
        return len(self.params)


@dataclass
class ClassInfo:
    name: str
    line: int


@dataclass
class Program:
    """A compiled module: code objects, constants, names, classes."""

    source: str
    filename: str
    funcs: list[FuncCode]
    consts: list  # python values; ("func", i) / ("class", i) tuples for code/class constants
    names: list[str]
    classes: list[ClassInfo]
    globals_defined: list[str]

    def func_index(self, name: str) -> int:
        for i, f in enumerate(self.funcs):
            if f.qualname == name and i > 0:
                return i
        from lwnlab.errors import UsageError

        have = ", ".join(f.qualname for f in self.funcs[1:]) or "none"
        raise UsageError(f"no function {name!r} in {self.filename} (functions: {have})", field="func")

    def flat(self):
        """(opcodes, args, lines, cols) of all code objects laid end to end; sets ``entry``."""
        ops, args, lines, cols = [], [], [], []
        for f in self.funcs:
            f.entry = len(ops)
            for ins in f.code:
                ops.append(O.OPCODE[ins.op])
                a = ins.arg + f.entry if ins.op in _JUMPS else ins.arg
                args.append(a)
                lines.append(ins.line)
                cols.append(ins.col)
        return ops, args, lines, cols


class _Label:
    __slots__ = ("pos",)

    def __init__(self):
        self.pos = -1


def _err(node, what: str, filename: str) -> CompileError:
    return CompileError(what, file=filename, line=getattr(node, "lineno", None),
                        column=(getattr(node, "col_offset", -1) + 1) if hasattr(node, "col_offset") else None)


def compile_source(source: str, filename: str = "<input>") -> Program:
    """Compile ``source``; raise :class:`CompileError` for anything outside the subset."""
    if not isinstance(source, str):
        raise CompileError("source must be a str", file=filename)
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as e:
        raise CompileError(f"syntax error: {e.msg}", file=filename, line=e.lineno,
                           column=e.offset) from None
    except (ValueError, MemoryError, RecursionError) as e:
        raise CompileError(f"cannot parse: {e}", file=filename) from None
    try:
        program = _ModuleCompiler(source, filename).compile(tree)
    except RecursionError:
        raise CompileError("expression nested too deeply", file=filename) from None
    # CPython's own compiler also checks scopes (symtable): 'x = 1; global x' and the like are SyntaxErrors
    # there, so they must not run here
    try:
        with warnings.catch_warnings():  # a check only: CPython's SyntaxWarnings ('is' with a literal) stay silent
            warnings.simplefilter("ignore")
            compile(tree, filename, "exec", dont_inherit=True)
    except SyntaxError as e:
        raise CompileError(f"syntax error: {e.msg}", file=filename, line=e.lineno, column=e.offset) from None
    except (ValueError, MemoryError, RecursionError) as e:
        raise CompileError(f"cannot compile: {e}", file=filename) from None
    return program


class _ModuleCompiler:
    def __init__(self, source: str, filename: str):
        self.source = source
        self.filename = filename
        self.funcs: list[FuncCode] = []
        self.consts: list = []
        self._const_keys: dict = {}
        self.names: list[str] = []
        self.classes: list[ClassInfo] = []
        self.globals_defined: list[str] = []

    def err(self, node, what):
        return _err(node, what, self.filename)

    def const(self, value) -> int:
        key = (type(value).__name__, repr(value)) if not isinstance(value, tuple) else value
        if key not in self._const_keys:
            self._const_keys[key] = len(self.consts)
            self.consts.append(value)
        return self._const_keys[key]

    def name(self, s: str) -> int:
        if s not in self.names:
            self.names.append(s)
        return self.names.index(s)

    def compile(self, tree: ast.Module) -> Program:
        module = FuncCode("<module>", "<module>", [], [], line=1)
        self.funcs.append(module)
        # first pass: reserve code objects for every def so calls can refer to them
        fc = _FuncCompiler(self, module, is_module=True)
        fc.emit("RESUME", 0, 1, 0)
        for stmt in tree.body:
            if isinstance(stmt, ast.FunctionDef):
                idx = self.function(stmt, stmt.name)
                fc.emit("LOAD_CONST", self.const(("func", idx)), stmt.lineno, stmt.col_offset)
                fc.emit("STORE_GLOBAL", self.name(stmt.name), stmt.lineno, stmt.col_offset)
                self._defined(stmt.name)
            elif isinstance(stmt, ast.ClassDef):
                self.klass(stmt, fc)
            else:
                fc.stmt(stmt)
        fc.emit("LOAD_CONST", self.const(None), 0, 0)
        fc.emit("RETURN_VALUE", 0, 0, 0)
        fc.finish()
        return Program(self.source, self.filename, self.funcs, self.consts, self.names, self.classes,
                       self.globals_defined)

    def _defined(self, name):
        if name not in self.globals_defined:
            self.globals_defined.append(name)

    def function(self, node: ast.FunctionDef, qualname: str, is_method: bool = False) -> int:
        a = node.args
        if node.decorator_list:
            raise self.err(node.decorator_list[0], "decorators are outside lwnlab's subset")
        if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs or a.defaults or a.kw_defaults:
            raise self.err(node, f"function {node.name!r}: only plain positional parameters are supported "
                           "(no defaults, *args, **kwargs, keyword-only or positional-only)")
        params = [p.arg for p in a.args]
        if len(set(params)) != len(params):
            raise self.err(node, f"duplicate parameter in {node.name!r}")
        if is_method and not params:
            raise self.err(node, f"method {qualname!r} needs a 'self' parameter")
        f = FuncCode(node.name, qualname, params, list(params), line=node.lineno,
                     is_init=is_method and node.name == "__init__")
        idx = len(self.funcs)
        self.funcs.append(f)
        fc = _FuncCompiler(self, f, is_module=False)
        fc.scan(node.body)
        fc.emit("RESUME", 0, node.lineno, node.col_offset)
        for stmt in node.body:
            fc.stmt(stmt)
        last = node.body[-1] if node.body else node
        fc.emit("LOAD_CONST", self.const(None), getattr(last, "end_lineno", node.lineno) or node.lineno, 0)
        fc.emit("RETURN_VALUE", 0, getattr(last, "end_lineno", node.lineno) or node.lineno, 0)
        fc.finish()
        return idx

    def klass(self, node: ast.ClassDef, fc: "_FuncCompiler"):
        if node.bases or node.keywords:
            raise self.err(node, f"class {node.name!r}: base classes and keywords are outside lwnlab's subset")
        if node.decorator_list:
            raise self.err(node.decorator_list[0], "class decorators are outside lwnlab's subset")
        ci = len(self.classes)
        self.classes.append(ClassInfo(node.name, node.lineno))
        ln, co = node.lineno, node.col_offset
        fc.emit("MAKE_CLASS", ci, ln, co)
        in_class: set[str] = set()  # names the class body has bound so far (its namespace)
        for stmt in node.body:
            if isinstance(stmt, ast.FunctionDef):
                idx = self.function(stmt, f"{node.name}.{stmt.name}", is_method=True)
                fc.emit("LOAD_CONST", self.const(("func", idx)), stmt.lineno, stmt.col_offset)
                fc.emit("COPY", 2, stmt.lineno, stmt.col_offset)
                fc.emit("STORE_ATTR", self.name(stmt.name), stmt.lineno, stmt.col_offset)
                in_class.add(stmt.name)
            elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                # a name the body bound earlier is read from the class namespace, as CPython's LOAD_NAME does
                # ('x = 1; y = x + 1' is 2 there even with a global x): see _FuncCompiler.load_name
                fc.class_scope = (frozenset(in_class), len(fc.f.code))
                try:
                    fc.expr(stmt.value)
                finally:
                    fc.class_scope = None
                fc.emit("COPY", 2, stmt.lineno, stmt.col_offset)
                fc.emit("STORE_ATTR", self.name(stmt.targets[0].id), stmt.lineno, stmt.col_offset)
                in_class.add(stmt.targets[0].id)
            elif isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
                                                and isinstance(stmt.value.value, str)):
                continue
            else:
                raise self.err(stmt, f"{type(stmt).__name__} in a class body: only methods and "
                               "'name = value' class attributes are supported")
        fc.emit("STORE_GLOBAL", self.name(node.name), ln, co)
        self._defined(node.name)


class _Loop:
    def __init__(self, brk: _Label, cont: _Label, is_for: bool):
        self.brk, self.cont, self.is_for = brk, cont, is_for


class _FuncCompiler:
    def __init__(self, mc: _ModuleCompiler, f: FuncCode, is_module: bool):
        self.mc = mc
        self.f = f
        self.is_module = is_module
        self.globals: set[str] = set()
        self.loops: list[_Loop] = []
        self.labels: list[tuple[int, _Label]] = []
        # while compiling a class attribute's value: (names the class body bound so far, index of the value's
        # first instruction; the class object is on top of the stack there)
        self.class_scope: tuple[frozenset, int] | None = None
        self.class_copies: list[tuple[int, int]] = []  # (COPY to patch, value start): see finish()

    # ------------------------------------------------------------ scanning for locals
    def scan(self, body):
        assigned: list[str] = []
        for node in body:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Global):
                    for n in sub.names:
                        if n in self.f.params:
                            raise self.mc.err(sub, f"name {n!r} is parameter and global")
                        self.globals.add(n)
                elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                    raise self.mc.err(sub, f"{type(sub).__name__} inside a function is outside lwnlab's subset "
                                      "(define functions and classes at module level)")
                elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    assigned.append(sub.id)
        for n in assigned:
            if n not in self.globals and n not in self.f.locals:
                self.f.locals.append(n)

    # ------------------------------------------------------------ emission
    def emit(self, op: str, arg=0, line=0, col=0):
        if isinstance(arg, _Label):
            self.labels.append((len(self.f.code), arg))
            arg = -1
        self.f.code.append(Instr(op, int(arg), int(line or 0), int(col or 0)))

    def at(self, node, op, arg=0):
        self.emit(op, arg, getattr(node, "lineno", 0), getattr(node, "col_offset", -1) + 1)

    def mark(self, label: _Label):
        label.pos = len(self.f.code)

    def finish(self):
        for i, lab in self.labels:
            assert lab.pos >= 0, "unplaced label"
            self.f.code[i].arg = lab.pos
        if self.class_copies:
            # reach the class object under whatever the value's expression has pushed by then
            depth = _depths(self.f.code)
            for i, start in self.class_copies:
                self.f.code[i].arg = depth[i] - depth[start] + 1
        self.f.stacksize = _max_stack(self.f.code)

    # ------------------------------------------------------------ names
    def load_name(self, node, name: str):
        if self.class_scope is not None and name in self.class_scope[0]:
            self.class_copies.append((len(self.f.code), self.class_scope[1]))
            self.at(node, "COPY", 0)  # the class object; its depth is patched in finish()
            self.at(node, "LOAD_ATTR", self.mc.name(name))
        elif not self.is_module and name in self.f.locals and name not in self.globals:
            self.at(node, "LOAD_FAST", self.f.locals.index(name))
        else:
            self.at(node, "LOAD_GLOBAL", self.mc.name(name))

    def store_name(self, node, name: str):
        if not self.is_module and name in self.f.locals and name not in self.globals:
            self.at(node, "STORE_FAST", self.f.locals.index(name))
        else:
            self.at(node, "STORE_GLOBAL", self.mc.name(name))
            if self.is_module:
                self.mc._defined(name)

    # ------------------------------------------------------------ statements
    def stmt(self, s):
        m = getattr(self, "s_" + type(s).__name__, None)
        if m is None:
            raise self.mc.err(s, f"{_describe(s)} is outside lwnlab's subset")
        m(s)

    def s_Expr(self, s):
        if isinstance(s.value, ast.Constant) and isinstance(s.value.value, str):
            return  # docstring
        self.expr(s.value)
        self.at(s, "POP_TOP")

    def s_Pass(self, s):
        self.at(s, "NOP")

    def s_Global(self, s):
        if self.is_module:
            return

    def s_Return(self, s):
        if self.is_module:
            raise self.mc.err(s, "'return' outside function")
        if s.value is None:
            self.at(s, "LOAD_CONST", self.mc.const(None))
        else:
            self.expr(s.value)
        self.at(s, "RETURN_VALUE")

    def s_Assign(self, s):
        self.expr(s.value)
        for i, t in enumerate(s.targets):
            if i < len(s.targets) - 1:
                self.at(s, "COPY", 1)
            self.store_target(t)

    def store_target(self, t):
        if isinstance(t, ast.Name):
            self.store_name(t, t.id)
        elif isinstance(t, ast.Attribute):
            self.expr(t.value)
            self.at(t, "STORE_ATTR", self.mc.name(t.attr))
        elif isinstance(t, ast.Subscript):
            if isinstance(t.slice, ast.Slice):
                raise self.mc.err(t, "slice assignment is outside lwnlab's subset")
            self.expr(t.value)
            self.expr(t.slice)
            self.at(t, "STORE_SUBSCR")
        elif isinstance(t, (ast.Tuple, ast.List)):
            if any(isinstance(e, ast.Starred) for e in t.elts):
                raise self.mc.err(t, "starred assignment is outside lwnlab's subset")
            self.at(t, "UNPACK_SEQUENCE", len(t.elts))
            for e in t.elts:
                self.store_target(e)
        else:
            raise self.mc.err(t, f"assignment to {_describe(t)} is outside lwnlab's subset")

    def s_AugAssign(self, s):
        op = _BINOPS.get(type(s.op))
        if op is None:
            raise self.mc.err(s, f"operator {type(s.op).__name__} is outside lwnlab's subset")
        t = s.target
        if isinstance(t, ast.Name):
            self.load_name(t, t.id)
            self.expr(s.value)
            self.at(s, "BINARY_OP", op + O.NB_INPLACE)
            self.store_name(t, t.id)
        elif isinstance(t, ast.Attribute):
            self.expr(t.value)
            self.at(t, "COPY", 1)
            self.at(t, "LOAD_ATTR", self.mc.name(t.attr))
            self.expr(s.value)
            self.at(s, "BINARY_OP", op + O.NB_INPLACE)
            self.at(s, "SWAP", 2)
            self.at(t, "STORE_ATTR", self.mc.name(t.attr))
        elif isinstance(t, ast.Subscript):
            if isinstance(t.slice, ast.Slice):
                raise self.mc.err(t, "slices are outside lwnlab's subset")
            self.expr(t.value)
            self.expr(t.slice)
            self.at(t, "COPY", 2)
            self.at(t, "COPY", 2)
            self.at(t, "BINARY_SUBSCR")
            self.expr(s.value)
            self.at(s, "BINARY_OP", op + O.NB_INPLACE)
            # stack: container, index, result -> result, container, index
            self.at(s, "SWAP", 3)
            self.at(s, "SWAP", 2)
            self.at(t, "STORE_SUBSCR")
        else:
            raise self.mc.err(t, f"augmented assignment to {_describe(t)} is outside lwnlab's subset")

    def jump_if(self, e, node, label: _Label, cond: bool):
        """CPython's compiler_jump_if: a test jumps to ``label`` when its truth is ``cond``.

        ``not``, ``and``/``or`` and comparison chains become jumps (no JUMP_IF_*_OR_POP, no UNARY_NOT), so every
        compare in a test is followed by a conditional jump, which CPython 3.11 needs to fuse it into
        COMPARE_OP_*_JUMP."""
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.Not):
            self.jump_if(e.operand, node, label, not cond)
        elif isinstance(e, ast.BoolOp):
            is_or = isinstance(e.op, ast.Or)
            nxt = label if is_or == cond else _Label()
            for v in e.values[:-1]:
                self.jump_if(v, node, nxt, is_or)
            self.jump_if(e.values[-1], node, label, cond)
            if nxt is not label:
                self.mark(nxt)
        elif isinstance(e, ast.Compare) and len(e.ops) > 1 and \
                not any(isinstance(op, (ast.Is, ast.IsNot)) for op in e.ops):
            cleanup, end = _Label(), _Label()
            self.expr(e.left)
            for op, right in zip(e.ops[:-1], e.comparators[:-1]):
                self.expr(right)
                self.at(e, "SWAP", 2)
                self.at(e, "COPY", 2)
                self._cmp(e, op)
                self.at(e, "POP_JUMP_IF_FALSE", cleanup)
            self.expr(e.comparators[-1])
            self._cmp(e, e.ops[-1])
            self.at(node, "POP_JUMP_IF_TRUE" if cond else "POP_JUMP_IF_FALSE", label)
            self.at(e, "JUMP_FORWARD", end)
            self.mark(cleanup)
            self.at(e, "POP_TOP")
            if not cond:
                self.at(e, "JUMP_FORWARD", label)
            self.mark(end)
        else:
            self.expr(e)
            self.at(node, "POP_JUMP_IF_TRUE" if cond else "POP_JUMP_IF_FALSE", label)

    def s_If(self, s):
        orelse, end = _Label(), _Label()
        self.jump_if(s.test, s, orelse, False)
        for b in s.body:
            self.stmt(b)
        if s.orelse:
            self.at(s, "JUMP_FORWARD", end)
        self.mark(orelse)
        for b in s.orelse:
            self.stmt(b)
        self.mark(end)

    def s_While(self, s):
        if s.orelse:
            raise self.mc.err(s, "'while ... else' is outside lwnlab's subset")
        top, body, end = _Label(), _Label(), _Label()
        # CPython 3.11 layout: test; body; test again; backward POP_JUMP_IF_TRUE ('continue' jumps back to the
        # first test, as in CPython: a JUMP_BACKWARD, which counts toward 3.11's warmup)
        self.mark(top)
        self.jump_if(s.test, s, end, False)
        self.mark(body)
        self.loops.append(_Loop(end, top, False))
        for b in s.body:
            self.stmt(b)
        self.loops.pop()
        self.jump_if(s.test, s, body, True)
        self.mark(end)

    def s_For(self, s):
        if s.orelse:
            raise self.mc.err(s, "'for ... else' is outside lwnlab's subset")
        top, end, brk = _Label(), _Label(), _Label()
        if isinstance(s.iter, ast.List):
            # CPython's AST optimizer (fold_iter) iterates over a list display as a tuple: no list is built,
            # and the loop's FOR_ITER specializes to FOR_ITER_TUPLE
            self.e_Tuple(s.iter)
        else:
            self.expr(s.iter)
        self.at(s, "GET_ITER")
        self.mark(top)
        self.at(s, "FOR_ITER", end)
        self.store_target(s.target)
        self.loops.append(_Loop(brk, top, True))
        for b in s.body:
            self.stmt(b)
        self.loops.pop()
        self.at(s, "JUMP_BACKWARD", top)
        # a break lands on POP_TOP (drops the iterator); an exhausted FOR_ITER pops it and skips past
        self.mark(brk)
        self.at(s, "POP_TOP")
        self.mark(end)

    def s_Break(self, s):
        if not self.loops:
            raise self.mc.err(s, "'break' outside loop")
        self.at(s, "JUMP_FORWARD", self.loops[-1].brk)

    def s_Continue(self, s):
        if not self.loops:
            raise self.mc.err(s, "'continue' not properly in loop")
        lp = self.loops[-1]
        self.at(s, "JUMP_BACKWARD", lp.cont)  # back to FOR_ITER / the while loop's first test

    # ------------------------------------------------------------ expressions
    def expr(self, e):
        m = getattr(self, "e_" + type(e).__name__, None)
        if m is None:
            raise self.mc.err(e, f"{_describe(e)} is outside lwnlab's subset")
        m(e)

    def e_Constant(self, e):
        v = e.value
        if isinstance(v, bool) or v is None or isinstance(v, (float, str)):
            pass
        elif isinstance(v, int):
            if not INT64_MIN <= v <= INT64_MAX:
                raise self.mc.err(e, f"integer constant {v} does not fit in int64 (lwnlab's ints are 64-bit)")
        else:
            raise self.mc.err(e, f"constant of type {type(v).__name__} is outside lwnlab's subset")
        self.at(e, "LOAD_CONST", self.mc.const(v))

    def e_Name(self, e):
        self.load_name(e, e.id)

    def e_BinOp(self, e):
        op = _BINOPS.get(type(e.op))
        if op is None:
            raise self.mc.err(e, f"operator {type(e.op).__name__} is outside lwnlab's subset")
        self.expr(e.left)
        self.expr(e.right)
        self.at(e, "BINARY_OP", op)

    def e_UnaryOp(self, e):
        if isinstance(e.op, ast.USub):
            if isinstance(e.operand, ast.Constant) and type(e.operand.value) in (int, float):
                v = -e.operand.value
                if isinstance(v, int) and not INT64_MIN <= v <= INT64_MAX:
                    raise self.mc.err(e, f"integer constant {v} does not fit in int64")
                self.at(e, "LOAD_CONST", self.mc.const(v))
                return
            self.expr(e.operand)
            self.at(e, "UNARY_NEGATIVE")
        elif isinstance(e.op, ast.Not):
            self.expr(e.operand)
            self.at(e, "UNARY_NOT")
        else:
            raise self.mc.err(e, f"unary operator {type(e.op).__name__} is outside lwnlab's subset")

    def e_BoolOp(self, e):
        end = _Label()
        jump = "JUMP_IF_FALSE_OR_POP" if isinstance(e.op, ast.And) else "JUMP_IF_TRUE_OR_POP"
        for i, v in enumerate(e.values):
            self.expr(v)
            if i < len(e.values) - 1:
                self.at(e, jump, end)
        self.mark(end)

    def e_IfExp(self, e):
        orelse, end = _Label(), _Label()
        self.jump_if(e.test, e, orelse, False)
        self.expr(e.body)
        self.at(e, "JUMP_FORWARD", end)
        self.mark(orelse)
        self.expr(e.orelse)
        self.mark(end)

    def _cmp(self, e, op):
        if isinstance(op, (ast.Is, ast.IsNot)):
            self.at(e, "IS_OP", 1 if isinstance(op, ast.IsNot) else 0)
            return
        code = _CMPOPS.get(type(op))
        if code is None:
            raise self.mc.err(e, f"comparison {type(op).__name__} ('in', 'not in') is outside lwnlab's subset")
        self.at(e, "COMPARE_OP", code)

    def e_Compare(self, e):
        self.expr(e.left)
        if len(e.ops) == 1:
            self.expr(e.comparators[0])
            self._cmp(e, e.ops[0])
            return
        cleanup, end = _Label(), _Label()
        for i, (op, right) in enumerate(zip(e.ops, e.comparators)):
            self.expr(right)
            if i < len(e.ops) - 1:
                self.at(e, "SWAP", 2)
                self.at(e, "COPY", 2)
                self._cmp(e, op)
                self.at(e, "JUMP_IF_FALSE_OR_POP", cleanup)
            else:
                self._cmp(e, op)
        self.at(e, "JUMP_FORWARD", end)
        self.mark(cleanup)
        self.at(e, "SWAP", 2)
        self.at(e, "POP_TOP")
        self.mark(end)

    def e_Call(self, e):
        if e.keywords:
            raise self.mc.err(e.keywords[0], "keyword arguments are outside lwnlab's subset")
        for a in e.args:
            if isinstance(a, ast.Starred):
                raise self.mc.err(a, "*args in calls are outside lwnlab's subset")
        if isinstance(e.func, ast.Attribute):
            self.expr(e.func.value)
            self.at(e.func, "LOAD_METHOD", self.mc.name(e.func.attr))
        else:
            self.at(e, "PUSH_NULL")
            self.expr(e.func)
        for a in e.args:
            self.expr(a)
        self.at(e, "CALL", len(e.args))

    def e_Attribute(self, e):
        self.expr(e.value)
        self.at(e, "LOAD_ATTR", self.mc.name(e.attr))

    def e_Subscript(self, e):
        if isinstance(e.slice, ast.Slice):
            raise self.mc.err(e, "slices are outside lwnlab's subset")
        self.expr(e.value)
        self.expr(e.slice)
        self.at(e, "BINARY_SUBSCR")

    def e_List(self, e):
        for x in e.elts:
            if isinstance(x, ast.Starred):
                raise self.mc.err(x, "starred items are outside lwnlab's subset")
            self.expr(x)
        self.at(e, "BUILD_LIST", len(e.elts))

    def e_Tuple(self, e):
        for x in e.elts:
            if isinstance(x, ast.Starred):
                raise self.mc.err(x, "starred items are outside lwnlab's subset")
            self.expr(x)
        self.at(e, "BUILD_TUPLE", len(e.elts))


def _describe(node) -> str:
    names = {"ListComp": "list comprehension", "DictComp": "dict comprehension", "SetComp": "set comprehension",
             "GeneratorExp": "generator expression", "Lambda": "lambda", "Dict": "dict display",
             "Set": "set display", "With": "'with' statement", "Try": "'try' statement",
             "Raise": "'raise' statement", "Import": "'import' statement", "ImportFrom": "'import' statement",
             "Delete": "'del' statement", "Assert": "'assert' statement", "Nonlocal": "'nonlocal' statement",
             "JoinedStr": "f-string", "Yield": "'yield'", "YieldFrom": "'yield from'", "Await": "'await'",
             "AsyncFunctionDef": "'async def'", "NamedExpr": "':=' (walrus)", "Starred": "starred expression",
             "AnnAssign": "annotated assignment", "Match": "'match' statement", "Slice": "slice",
             "TryStar": "'try' statement", "AsyncFor": "'async for'", "AsyncWith": "'async with'",
             "FunctionDef": "nested function definition", "ClassDef": "nested class definition"}
    n = type(node).__name__
    return names.get(n, f"{n} node")


_EFFECT_FIXED = {
    "NOP": 0, "RESUME": 0, "LOAD_FAST": 1, "STORE_FAST": -1, "LOAD_CONST": 1, "POP_TOP": -1, "PUSH_NULL": 1,
    "COPY": 1, "SWAP": 0, "LOAD_GLOBAL": 1, "STORE_GLOBAL": -1, "LOAD_ATTR": 0, "LOAD_METHOD": 1,
    "STORE_ATTR": -2, "BINARY_OP": -1, "UNARY_NEGATIVE": 0, "UNARY_NOT": 0, "COMPARE_OP": -1, "IS_OP": -1,
    "BINARY_SUBSCR": -1, "STORE_SUBSCR": -3, "RETURN_VALUE": -1, "GET_ITER": 0, "JUMP_FORWARD": 0,
    "JUMP_BACKWARD": 0, "POP_JUMP_IF_FALSE": -1, "POP_JUMP_IF_TRUE": -1, "MAKE_CLASS": 1,
}


def stack_effect(op: str, arg: int, jump: bool) -> int:
    if op in ("BUILD_LIST", "BUILD_TUPLE"):
        return 1 - arg
    if op == "UNPACK_SEQUENCE":
        return arg - 1
    if op == "CALL":
        return -(arg + 1)
    if op == "FOR_ITER":
        return -1 if jump else 1
    if op in ("JUMP_IF_FALSE_OR_POP", "JUMP_IF_TRUE_OR_POP"):
        return 0 if jump else -1
    return _EFFECT_FIXED[op]


def _depths(code: list[Instr]) -> list[int]:
    """Flow analysis over the code object: the stack depth before each instruction (-1: unreachable)."""
    depth = [-1] * (len(code) + 1)
    work = [(0, 0)]
    while work:
        pc, d = work.pop()
        while pc < len(code):
            if depth[pc] >= d:
                break
            depth[pc] = d
            ins = code[pc]
            if ins.op in _JUMPS:
                work.append((ins.arg, d + stack_effect(ins.op, ins.arg, True)))
                if ins.op in ("JUMP_FORWARD", "JUMP_BACKWARD"):
                    break
            d = d + stack_effect(ins.op, ins.arg, False)
            if ins.op == "RETURN_VALUE":
                break
            pc += 1
    return depth


def _max_stack(code: list[Instr]) -> int:
    """The deepest the value stack gets (every depth the flow reaches is some instruction's depth before it)."""
    return max(_depths(code)) + 2


