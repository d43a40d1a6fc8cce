"""lwnlab's bytecode VM: numba loops over an ``if op == ...`` chain (LLVM makes it a switch).

How it is laid out:

* **Memory.**  Every array of a run is a region of ONE int64 buffer ``mem``;
  ``lay[r] = [offset, rows, cols]`` says where region ``R_*`` is (built by
  :func:`allocate`).  A kernel takes just ``(mem, lay)`` and opens the regions
  it needs with :func:`view1` / :func:`view2` (numpy-style views) or
  :func:`ptr` (a raw pointer, for the hot loop).  So calls between kernels are
  cheap (two arguments instead of fifty arrays) and every kernel has one
  signature.  An instruction is one 64-byte row of region ``insn``: opcode,
  argument, then its inline cache (counter first, as in CPython), so the hot
  loop reaches all three through one pointer (other kernels see the columns
  as strided arrays, :func:`column` / :func:`columns`).
* **Values** are two words, ``(tag, payload)``; a float's payload is its
  IEEE-754 bits (:func:`as_float` / :func:`as_bits`).  A push or pop moves 16
  bytes in one cache line.
* **Two loops.**  :func:`fast` is a small *leaf* loop (it calls nothing, so
  its registers never spill) over raw pointers: the trivial local
  instructions, jumps, superinstructions and the *hit* paths of the
  specialized instructions.  It returns to :func:`run`, the full loop, at an
  instruction it does not do or whose guard fails (a miss).  :func:`run`
  executes everything else: the miss bookkeeping, the adaptive prologue
  (count down or specialize), the generic paths, which do the real work
  (hash-table probes of globals then builtins, attribute lookup through the
  class dict then the instance's shared keys, dispatch on operand types), and
  calls out to cold helpers (builtins, specialization, errors).

Everything the loops need arrives in memory: policy tunables are the
``params`` region, so moving a widget never recompiles.  Every memory access
on behalf of the program is checked (numba does not), and faults come back as
a status row that :mod:`lwnlab.interp.machine` turns into an
:class:`~lwnlab.errors.ExecutionError` naming the line.

int64 semantics: lwnlab's ints are 64-bit; an operation whose exact result
does not fit raises ``OverflowError``-like ExecutionError (never wraps).

Compile-time hygiene (numba compiles a separate copy of a function for every
distinct argument *type*, and a bare int constant has its own literal type):
module constants are ``np.int64`` (not literal), and kernels are called with
variables or such constants only, so every kernel has exactly one signature
(``tests/interp/test_vm_compile.py`` checks it).
"""

from __future__ import annotations

import math

import numpy as np

from lwnlab._jit import jit, jit_disabled
from lwnlab.interp import opcodes as _O
from lwnlab.interp import policy as _P

# The digest of the opcode numbering compiled into this module.  numba's cache is keyed on this
# file, so if opcodes.py is renumbered this line must change too (the check below enforces it).
TABLE_DIGEST = "b90314c5535a2193"
if _O.table_digest() != TABLE_DIGEST:  # pragma: no cover - developer guard
    raise ImportError(f"lwnlab.interp.vm: opcode table changed; set TABLE_DIGEST = {_O.table_digest()!r} "
                      "in vm.py (this also invalidates numba's cache)")

# opcode numbers as module constants (numba freezes these: they are the ISA, not tunables)
for _op in _O.TABLE:
    globals()[_op.name] = _op.code
del _op

from lwnlab.interp.objects import (  # noqa: E402
    B_ABS, B_BOOL, B_FLOAT, B_INT, B_ISINSTANCE, B_LEN, B_LIST, B_LIST_APPEND, B_MAX, B_MIN, B_PRINT, B_RANGE,
    B_STR, B_TUPLE, C_DICT, C_KEYS, C_NKEYS, C_VERSION, D_MASK, D_OFF, D_USED, D_VERSION, E_HASH, E_KEY, E_TAG,
    E_VAL, HASH_MASK, L_CAP, L_LEN, L_OFF, S_HASH, S_LEN, S_OFF, T_BOOL, T_BUILTIN, T_CLASS, T_FLOAT, T_FUNC,
    T_INT, T_LIST, T_LIST_ITER, T_NONE, T_NULL, T_OBJ, T_RANGE, T_RANGE_ITER, T_STR, T_TUPLE, T_TUPLE_ITER, TAG,
    VAL)

P_MODE, P_WARMUP, P_WARMUP_BACKOFF, P_MISS_BUDGET = _P.P_MODE, _P.P_WARMUP, _P.P_WARMUP_BACKOFF, _P.P_MISS_BUDGET
P_DEOPT_BACKOFF, P_BACKOFF_CAP, P_SATURATING, P_SUPER = _P.P_DEOPT_BACKOFF, _P.P_BACKOFF_CAP, _P.P_SATURATING, _P.P_SUPER
P_HASH_CACHED, P_INTERN, P_MAX_VERSIONS, P_STEP_LIMIT = _P.P_HASH_CACHED, _P.P_INTERN, _P.P_MAX_VERSIONS, _P.P_STEP_LIMIT
P_ATTRS, P_SAMPLE_EVERY, P_SID_APPEND, P_SID_INIT, P_DEPTH_LIMIT = (_P.P_ATTRS, _P.P_SAMPLE_EVERY, _P.P_SID_APPEND,
                                                                     _P.P_SID_INIT, _P.P_DEPTH_LIMIT)
P_RULES311 = _P.P_RULES311
STAT_EXEC, STAT_HIT, STAT_MISS, STAT_DEOPT = _O.STAT_EXEC, _O.STAT_HIT, _O.STAT_MISS, _O.STAT_DEOPT
STAT_SPEC_OK, STAT_SPEC_FAIL, STAT_DEFERRED = _O.STAT_SPEC_OK, _O.STAT_SPEC_FAIL, _O.STAT_DEFERRED
NUM_STATS = _O.NUM_STATS
EV_QUICKEN, EV_SPECIALIZE, EV_FAIL, EV_DEOPT, EV_RESPECIALIZE, EV_SUPER = (
    _O.EV_QUICKEN, _O.EV_SPECIALIZE, _O.EV_FAIL, _O.EV_DEOPT, _O.EV_RESPECIALIZE, _O.EV_SUPER)
F_OTHER, F_DISABLED, F_OUT_OF_VERSIONS, F_WRONG_TYPES, F_UNSUPPORTED_OP, F_BOOL, F_STR_ORDER, F_NOT_FOUND = range(8)
F_CLASS_ATTR, F_METHOD, F_NOT_INSTANCE, F_NEG_INDEX, F_NOT_LIST, F_ARGCOUNT, F_BUILTIN_NOT_O, F_CLASS_CALL, \
    F_NOT_ITER = range(8, 17)
F_BIG_INT, F_NOT_IN_VERSION, F_NOT_FOLLOWED_BY_JUMP, F_BUILTIN_NOT_SPECIALIZED = range(17, 21)
COMPACT = 1 << 30  # CPython's compact ints (one 30-bit digit): -2**30 < v < 2**30
FAM_LOAD_GLOBAL, FAM_LOAD_ATTR, FAM_STORE_ATTR, FAM_BINARY_OP, FAM_COMPARE_OP, FAM_BINARY_SUBSCR, \
    FAM_STORE_SUBSCR, FAM_CALL, FAM_FOR_ITER = range(9)
NB_ADD, NB_AND, NB_FLOOR_DIVIDE, NB_LSHIFT, NB_MATMUL, NB_MULTIPLY, NB_REMAINDER, NB_OR, NB_POWER, NB_RSHIFT, \
    NB_SUBTRACT, NB_TRUE_DIVIDE, NB_XOR = range(13)
CMP_EQ, CMP_NE = _O.CMP_EQ, _O.CMP_NE

# state slots: heap tops, counters, and the interpreter's registers while a kernel is not running
(ST_STR_TOP, ST_SDATA_TOP, ST_LIST_TOP, ST_ELEM_TOP, ST_OBJ_TOP, ST_RNG_TOP, ST_NEXT_VERSION, ST_PRINT_TOP,
 ST_TL_N, ST_STEPS, ST_SAMPLES_N, ST_TL_DROPPED, ST_CALL, ST_HITS, ST_MISSES,  # (hits, misses: at the end)
 ST_PC, ST_SP, ST_BASE, ST_DEPTH, ST_IT_TOP, ST_NEXT_SAMPLE, ST_CALL_FUNC, ST_NCALLS, ST_NARGS) = range(24)
NUM_STATE = 24
# error codes (status[0])
(E_OK, E_ZERODIV, E_OVERFLOW, E_TYPE, E_NAME, E_INDEX, E_ATTR, E_RECURSION, E_HEAP, E_STEPS, E_ARGCOUNT,
 E_NOT_CALLABLE, E_VALUE, E_UNSUPPORTED, E_UNBOUND, E_STACK, E_INIT_RETURN, E_NOT_ITERABLE, E_UNPACK,
 E_ATTRS_FULL) = range(20)
# function table columns
FN_ENTRY, FN_NPARAMS, FN_NLOCALS, FN_STACK, FN_INIT, FN_END = range(6)
# frame columns
FR_FUNC, FR_PC, FR_BASE, FR_RETSP, FR_INITOBJ, FR_ITERTOP = range(6)
TL_COLS = 8
TWO53 = 9007199254740992
I64MIN = -9223372036854775807 - 1
I64MAX = 9223372036854775807
FNV_OFFSET = 0xCBF29CE484222325 & ((1 << 62) - 1)  # (masked like HASH_MASK, so it fits an int64)
FNV_PRIME = 0x100000001B3

# ---------------------------------------------------------------- memory regions: (name, columns)
REGIONS: tuple[tuple[str, int], ...] = (
    ("insn", 8), ("fn", 6), ("co_warm", 1), ("consts", 2), ("names", 1),
    ("sdata", 1), ("shdr", 3), ("lhdr", 3), ("elem", 2), ("ocls", 1), ("attr", 2), ("rng", 3), ("it", 3),
    ("dhdr", 4), ("dent", 4), ("chdr", 5), ("vals", 2), ("frames", 6), ("args", 2), ("params", 1), ("fam_on", 1),
    ("state", 1), ("stats", _O.NUM_STATS), ("fails", _O.NUM_FAIL), ("timeline", TL_COLS), ("samples", 4),
    ("percall", 3), ("result", 2), ("print", 2), ("status", 1))
(R_INSN, R_FN, R_CO_WARM, R_CONST, R_NAMES, R_SDATA, R_SHDR, R_LHDR, R_ELEM, R_OCLS, R_ATTR,
 R_RNG, R_IT, R_DHDR, R_DENT, R_CHDR, R_VALS, R_FRAMES, R_ARGS, R_PARAMS, R_FAM_ON, R_STATE, R_STATS, R_FAILS,
 R_TIMELINE, R_SAMPLES, R_PERCALL, R_RESULT, R_PRINT, R_STATUS) = range(len(REGIONS))
REGION_INDEX = {name: k for k, (name, _) in enumerate(REGIONS)}
#: the columns of an instruction's row in ``insn`` (one 64-byte row per instruction: the hot loop reaches the
#: opcode, the argument and the inline cache through one pointer); CPython's order: the counter comes first
I_OP, I_ARG, I_CACHE = 0, 1, 2
INSN_COLS = 8
CACHE_COLS = 4


def allocate(rows: dict[str, int]) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """One zero-filled int64 buffer holding every region (``rows[name]`` rows each), its layout, and numpy views.

    Regions start on 64-byte boundaries.  A one-column region's view is 1-D, the others are ``[rows, cols]``;
    the views also name the columns of ``insn``: ``code``, ``oparg`` (1-D) and ``cache`` (``[rows, 4]``).
    """
    lay = np.zeros((len(REGIONS), 3), np.int64)
    off = 0
    for k, (name, cols) in enumerate(REGIONS):
        n = int(rows[name])
        lay[k] = (off, n, cols)
        off += (n * cols + 7) // 8 * 8
    mem = np.zeros(max(off, 8), np.int64)  # calloc: pages are zeroed lazily, untouched pools cost nothing
    views = {}
    for k, (name, cols) in enumerate(REGIONS):
        o, n, _ = (int(x) for x in lay[k])
        views[name] = mem[o:o + n] if cols == 1 else mem[o:o + n * cols].reshape(n, cols)
    insn = views["insn"]  # its columns as the arrays they used to be: code, oparg, cache (strided views)
    views["code"] = insn[:, I_OP]
    views["oparg"] = insn[:, I_ARG]
    views["cache"] = insn[:, I_CACHE:I_CACHE + CACHE_COLS]
    return mem, lay, views


# ---------------------------------------------------------------- small tables (frozen into the kernels)
def _table(f) -> np.ndarray:
    return np.array([f(op) for op in _O.TABLE], np.int64)


#: per opcode: its family row (-1: none), and 0 base / 1 adaptive / 2 specialized (-1: not in a family)
FAMILY_OF = np.array(_O.FAMILY_OF, np.int64)
OP_KIND = _table(lambda op: {_O.BASE: 0, _O.ADAPTIVE: 1, _O.SPECIALIZED: 2}.get(op.kind, -1))
#: per family: its base and adaptive opcodes
FAMILY_BASE = np.array(_O.FAMILY_BASE, np.int64)
FAMILY_ADAPTIVE = np.array(_O.FAMILY_ADAPTIVE, np.int64)
#: per opcode, who executes it: 0 only run; 1 both, fast entered for runs of >= 4 such instructions (entering costs
#: a call); 2 always fast first (specialized hits: only specializing policies have them, mostly in hot runs)
_RUN_ONLY = ("BINARY_OP_ADD_UNICODE", "COMPARE_OP_STR", "CALL_LIST_APPEND",  # they allocate or loop: run does them
             "CALL_BUILTIN_CLASS", "CALL_ISINSTANCE", "CALL_BUILTIN_FAST_WITH_KEYWORDS", "CALL_METHOD_DESCRIPTOR_O")
_TRIVIAL = ("NOP", "RESUME", "RESUME_QUICK", "LOAD_FAST", "STORE_FAST", "LOAD_CONST", "POP_TOP", "PUSH_NULL",
            "JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_QUICK", "POP_JUMP_IF_FALSE", "POP_JUMP_IF_TRUE",
            "RETURN_VALUE")
FAST_KIND = _table(lambda op: 1 if op.name in _TRIVIAL or op.kind == _O.SUPER else (
    2 if op.kind == _O.SPECIALIZED and op.name not in _RUN_ONLY else 0))

# numba types a Python int constant as its own literal type (and compiles a callee once per literal); np.int64
# constants are plain int64.  Every int constant above becomes one.
for _k, _v in list(globals().items()):
    if type(_v) is int and _k.isupper():
        globals()[_k] = np.int64(_v)
del _k, _v
NO = np.int64(0)  # an unused argument of a helper (a bare 0 would be a literal type)
NONE = np.int64(-1)

# ============================================================================ memory access (numba intrinsics)
if jit_disabled():  # plain Python (NUMBA_DISABLE_JIT=1): the same views, by numpy
    def view1(mem, lay, r):
        return mem[lay[r, 0]:lay[r, 0] + lay[r, 1]]

    def view2(mem, lay, r):
        return mem[lay[r, 0]:lay[r, 0] + lay[r, 1] * lay[r, 2]].reshape(lay[r, 1], lay[r, 2])

    def ptr(mem, lay, r):
        return mem[lay[r, 0]:]

    def column(mem, lay, r, c):
        return view2(mem, lay, r)[:, c]

    def columns(mem, lay, r, c, n):
        return view2(mem, lay, r)[:, c:c + n]

    def as_float(p):
        return np.array(p, np.int64).view(np.float64)[()]

    def as_bits(x):
        return np.array(x, np.float64).view(np.int64)[()]
else:
    from llvmlite import ir as _ir
    from numba import types as _t
    from numba.extending import intrinsic
    from numba.np.arrayobj import populate_array

    def _region(context, builder, sig, args):
        """(data pointer, rows, cols) of region args[2], from lay = args[1] (an int64[:, 3] C array)."""
        mem = context.make_array(sig.args[0])(context, builder, args[0])
        lay = context.make_array(sig.args[1])(context, builder, args[1])
        i64 = _ir.IntType(64)
        row = builder.mul(args[2], _ir.Constant(i64, 3))
        off, rows, cols = (builder.load(builder.gep(lay.data, [builder.add(row, _ir.Constant(i64, k))]))
                           for k in range(3))
        return builder.gep(mem.data, [off]), rows, cols

    def _check(mem, lay, r):
        if not (isinstance(mem, _t.Array) and mem.dtype == _t.int64 and mem.ndim == 1 and
                isinstance(lay, _t.Array) and lay.ndim == 2 and isinstance(r, _t.Integer)):
            raise TypeError("view(mem: int64[:], lay: int64[:, 3], region: int)")

    @intrinsic
    def view1(typingctx, mem, lay, r):
        """Region r of mem as a 1-D int64 array (no copy)."""
        _check(mem, lay, r)
        arrty = _t.Array(_t.int64, 1, "C")

        def codegen(context, builder, sig, args):
            data, rows, _ = _region(context, builder, sig, args)
            ary = context.make_array(arrty)(context, builder)
            populate_array(ary, data=data, shape=[rows], strides=[_ir.Constant(_ir.IntType(64), 8)], itemsize=8,
                           meminfo=None)
            return ary._getvalue()
        return arrty(mem, lay, r), codegen

    @intrinsic
    def view2(typingctx, mem, lay, r):
        """Region r of mem as a 2-D int64 array [rows, cols] (no copy)."""
        _check(mem, lay, r)
        arrty = _t.Array(_t.int64, 2, "C")

        def codegen(context, builder, sig, args):
            data, rows, cols = _region(context, builder, sig, args)
            eight = _ir.Constant(_ir.IntType(64), 8)
            ary = context.make_array(arrty)(context, builder)
            populate_array(ary, data=data, shape=[rows, cols], strides=[builder.mul(cols, eight), eight], itemsize=8,
                           meminfo=None)
            return ary._getvalue()
        return arrty(mem, lay, r), codegen

    @intrinsic
    def column(typingctx, mem, lay, r, c):
        """Column c of region r as a 1-D (strided) int64 array (no copy)."""
        _check(mem, lay, r)
        arrty = _t.Array(_t.int64, 1, "A")

        def codegen(context, builder, sig, args):
            data, rows, cols = _region(context, builder, sig, args)
            ary = context.make_array(arrty)(context, builder)
            populate_array(ary, data=builder.gep(data, [args[3]]), shape=[rows],
                           strides=[builder.mul(cols, _ir.Constant(_ir.IntType(64), 8))], itemsize=8, meminfo=None)
            return ary._getvalue()
        return arrty(mem, lay, r, c), codegen

    @intrinsic
    def columns(typingctx, mem, lay, r, c, n):
        """Columns c:c+n of region r as a 2-D (strided) int64 array [rows, n] (no copy)."""
        _check(mem, lay, r)
        arrty = _t.Array(_t.int64, 2, "A")

        def codegen(context, builder, sig, args):
            data, rows, cols = _region(context, builder, sig, args)
            eight = _ir.Constant(_ir.IntType(64), 8)
            ary = context.make_array(arrty)(context, builder)
            populate_array(ary, data=builder.gep(data, [args[3]]), shape=[rows, args[4]],
                           strides=[builder.mul(cols, eight), eight], itemsize=8, meminfo=None)
            return ary._getvalue()
        return arrty(mem, lay, r, c, n), codegen

    @intrinsic
    def ptr(typingctx, mem, lay, r):
        """Region r of mem as a raw int64 pointer: index it flat (row * cols + col); no wraparound, no bounds."""
        _check(mem, lay, r)

        def codegen(context, builder, sig, args):
            return _region(context, builder, sig, args)[0]
        return _t.CPointer(_t.int64)(mem, lay, r), codegen

    @intrinsic
    def as_float(typingctx, p):
        """The float whose bits are the int64 payload p."""
        def codegen(context, builder, sig, args):
            return builder.bitcast(args[0], _ir.DoubleType())
        return _t.float64(_t.int64), codegen

    @intrinsic
    def as_bits(typingctx, x):
        """The int64 payload (IEEE-754 bits) of the float x."""
        def codegen(context, builder, sig, args):
            return builder.bitcast(args[0], _ir.IntType(64))
        return _t.int64(_t.float64), codegen

#: options of the kernels only other kernels call (no Python entry points to build)
_INNER = {} if jit_disabled() else {"no_cpython_wrapper": True, "no_cfunc_wrapper": True}


# ============================================================================ helpers (numba; LLVM inlines the small ones)

def _w_hash():
    return (np.array([104, 105], np.int64), np.int64(0), np.int64(2))


@jit(warmup=_w_hash, _nrt=False)
def fnv(sdata, off, n):
    """FNV-1a over code points, masked non-negative (twin of objects.str_hash)."""
    h = FNV_OFFSET
    for k in range(n):
        h = ((h ^ sdata[off + k]) * FNV_PRIME) & HASH_MASK
    return h


@jit(_nrt=False, **_INNER)
def str_eq(sdata, shdr, a, b):
    if a == b:
        return True
    n = shdr[a, S_LEN]
    if n != shdr[b, S_LEN]:
        return False
    oa = shdr[a, S_OFF]
    ob = shdr[b, S_OFF]
    for k in range(n):
        if sdata[oa + k] != sdata[ob + k]:
            return False
    return True


@jit(_nrt=False, **_INNER)
def str_cmp(sdata, shdr, a, b):
    na = shdr[a, S_LEN]
    nb = shdr[b, S_LEN]
    oa = shdr[a, S_OFF]
    ob = shdr[b, S_OFF]
    m = na if na < nb else nb
    for k in range(m):
        x = sdata[oa + k]
        y = sdata[ob + k]
        if x != y:
            return -1 if x < y else 1
    if na == nb:
        return 0
    return -1 if na < nb else 1


def _w_probe():
    from lwnlab.interp.machine import warmup_image

    a = warmup_image().arrays
    return (a["dhdr"], a["dent"], np.int64(1), np.int64(0), np.int64(0), a["sdata"], a["shdr"], np.int64(1))


@jit(warmup=_w_probe, inline="always", _nrt=False)  # inlined where called: the generic paths' real work
def dict_probe(dhdr, dent, t, sid, h, sdata, shdr, intern):
    """Return (found, slot): the slot of table t holding ``sid``'s name, or the empty slot where it would go."""
    off = dhdr[t, D_OFF]
    mask = dhdr[t, D_MASK]
    i = h & mask
    perturb = h
    while True:
        k = dent[off + i, E_KEY]
        if k < 0:
            return False, i
        if intern != 0 and k == sid:
            return True, i
        if dent[off + i, E_HASH] == h and str_eq(sdata, shdr, k, sid):
            return True, i
        perturb >>= 5
        i = (i * 5 + perturb + 1) & mask


@jit(inline="always", _nrt=False, **_INNER)
def name_hash(sdata, shdr, sid, cached):
    if cached != 0:
        return shdr[sid, S_HASH]
    return fnv(sdata, shdr[sid, S_OFF], shdr[sid, S_LEN])


@jit(_nrt=False, **_INNER)
def backoff(counter, cap):
    b = (counter & 15) + 1
    if b > cap:
        b = cap
    return (((1 << b) - 1) << 4) | b


@jit(_nrt=False, **_INNER)
def get_version(arr, row, col, state, maxv):
    """CPython's lazy version assignment: 0 means 'none yet'; -1 means out of versions."""
    v = arr[row, col]
    if v != 0:
        return v
    nv = state[ST_NEXT_VERSION]
    if nv > maxv:
        return NONE
    state[ST_NEXT_VERSION] = nv + 1
    arr[row, col] = nv
    return nv


@jit(_nrt=False, **_INNER)
def tl_add(timeline, state, pc, frm, to, ev, reason, counter):
    """Append one row to the timeline (step, call, pc, from, to, event, reason, counter), or count it dropped."""
    n = state[ST_TL_N]
    if n < timeline.shape[0]:
        timeline[n, 0] = state[ST_STEPS]
        timeline[n, 1] = state[ST_CALL]
        timeline[n, 2] = pc
        timeline[n, 3] = frm
        timeline[n, 4] = to
        timeline[n, 5] = ev
        timeline[n, 6] = reason
        timeline[n, 7] = counter
        state[ST_TL_N] = n + 1
    else:
        state[ST_TL_DROPPED] += 1


@jit(_nrt=False, **_INNER)
def fail(status, e, pc, a, b, c):
    """Record a fault: the status row (code, pc, a, b, c) that machine._error explains."""
    status[0] = e
    status[1] = pc
    status[2] = a
    status[3] = b
    status[4] = c


@jit(_nrt=False, **_INNER)
def operands(status, pb, pc_):
    """The payloads of the operands whose tags the fault recorded (status[3], status[4]), so that machine._error
    can name an instance's class as CPython's messages do (the class lookup happens there, off the hot loop)."""
    status[5] = pb
    status[6] = pc_


@jit(_nrt=False, **_INNER)
def cmp_int_float(i, f):
    """Exact comparison of an int64 with a float: -1, 0, 1, or 2 when unordered (nan)."""
    if f != f:
        return 2
    if f == np.inf:
        return -1
    if f == -np.inf:
        return 1
    if -TWO53 <= i <= TWO53:
        fi = float(i)
        if fi < f:
            return -1
        if fi > f:
            return 1
        return 0
    fl = np.floor(f)  # a float: numba's math.floor returns int64, which wraps above 2**63
    if fl >= 9.2233720368547758e18:
        return -1
    if fl < -9.2233720368547758e18:
        return 1
    il = np.int64(fl)
    if i < il:
        return -1
    if i > il:
        return 1
    if f > fl:
        return -1
    return 0


@jit(_nrt=False, **_INNER)
def num_cmp(ta, pa, tb, pb):
    """-1/0/1, or 2 for unordered, for two numbers (bool/int/float) given as (tag, payload)."""
    if ta != T_FLOAT and tb != T_FLOAT:
        if pa < pb:
            return -1
        if pa > pb:
            return 1
        return 0
    if ta == T_FLOAT and tb == T_FLOAT:
        fa = as_float(pa)
        fb = as_float(pb)
        if fa != fa or fb != fb:
            return 2
        if fa < fb:
            return -1
        if fa > fb:
            return 1
        return 0
    if ta == T_FLOAT:
        r = cmp_int_float(pb, as_float(pa))
        if r == 2:
            return 2
        return -r
    return cmp_int_float(pa, as_float(pb))


@jit(_nrt=False, **_INNER)
def cmp_result(c, op):
    if c == 2:
        return op == 3  # only != is true for nan
    if op == 0:
        return c < 0
    if op == 1:
        return c <= 0
    if op == 2:
        return c == 0
    if op == 3:
        return c != 0
    if op == 4:
        return c > 0
    return c >= 0


@jit(_nrt=False, **_INNER)
def float_floordiv(vx, wx):
    mod = np.fmod(vx, wx)
    div = (vx - mod) / wx
    if mod != 0.0:
        if (wx < 0.0) != (mod < 0.0):
            div -= 1.0
    if div != 0.0:
        fd = np.floor(div)
        if div - fd > 0.5:
            fd += 1.0
    else:
        fd = math.copysign(0.0, vx / wx)
    return fd


@jit(_nrt=False, **_INNER)
def is_space(c):
    """The ASCII whitespace int() and float() strip around a number: space, \\t \\n \\v \\f \\r (not \\x1c-\\x1f,
    which str.isspace() counts)."""
    return c == 32 or 9 <= c <= 13


@jit(_nrt=False, **_INNER)
def float_from_str(sdata, o1, n):
    """float(str) as CPython reads it: (error, float bits).

    Whitespace around, a sign, digits with single underscores between them, an optional fraction and
    exponent, or inf/infinity/nan in any case. The value is exact when the digits (trailing zeros aside)
    fit in 2**53 and the power of ten is at most 22 away (Clinger's fast path: one correctly rounded
    multiply or divide of two exact doubles); other spellings are E_UNSUPPORTED, not a wrong value."""
    k = 0
    e = n
    while k < e and is_space(sdata[o1 + k]):
        k += 1
    while e > k and is_space(sdata[o1 + e - 1]):
        e -= 1
    neg = False
    if k < e and (sdata[o1 + k] == 43 or sdata[o1 + k] == 45):
        neg = sdata[o1 + k] == 45
        k += 1
    for j in range(k, e):
        if sdata[o1 + j] > 127:
            return E_UNSUPPORTED, NO  # non-ASCII digits or spaces: CPython reads some, lwnlab does not
    # inf, infinity, nan (any case)
    w = e - k
    if w == 3 or w == 8:
        word = 0
        for j in range(k, e):
            word = word * 128 + (sdata[o1 + j] | 32)
        if word == ((105 * 128 + 110) * 128 + 102):  # "inf"
            return E_OK, as_bits(-np.inf if neg else np.inf)
        if word == ((110 * 128 + 97) * 128 + 110):  # "nan"
            return E_OK, as_bits(np.nan)
        if w == 8:
            ok = True
            tail = (105, 110, 102, 105, 110, 105, 116, 121)  # "infinity"
            for j in range(8):
                if (sdata[o1 + k + j] | 32) != tail[j]:
                    ok = False
            if ok:
                return E_OK, as_bits(-np.inf if neg else np.inf)
    m = NO
    exp10 = NO
    pend = NO
    ndig = 0
    big = False
    seen_dot = False
    prev_digit = False
    while k < e:
        c = sdata[o1 + k]
        if 48 <= c <= 57:
            ndig += 1
            if seen_dot:
                exp10 -= 1
            if c == 48:
                pend += 1
            else:
                for _ in range(pend + 1):
                    m *= 10
                    if m > TWO53:
                        big = True
                        m = NO
                m += c - 48
                if m > TWO53:
                    big = True
                pend = NO
            prev_digit = True
        elif c == 95:  # '_' only between two digits
            if not prev_digit or k + 1 >= e or not (48 <= sdata[o1 + k + 1] <= 57):
                return E_VALUE, NO
            prev_digit = False
        elif c == 46 and not seen_dot:
            seen_dot = True
            prev_digit = False
        else:
            break
        k += 1
    if ndig == 0:
        return E_VALUE, NO
    exp10 += pend
    if k < e:
        c = sdata[o1 + k]
        if c != 101 and c != 69:  # e / E
            return E_VALUE, NO
        k += 1
        eneg = False
        if k < e and (sdata[o1 + k] == 43 or sdata[o1 + k] == 45):
            eneg = sdata[o1 + k] == 45
            k += 1
        if k >= e:
            return E_VALUE, NO
        ev = NO
        prev_digit = False
        while k < e:
            c = sdata[o1 + k]
            if 48 <= c <= 57:
                if ev < 100000:
                    ev = ev * 10 + (c - 48)
                prev_digit = True
            elif c == 95 and prev_digit and k + 1 < e and 48 <= sdata[o1 + k + 1] <= 57:
                prev_digit = False
            else:
                return E_VALUE, NO
            k += 1
        exp10 += -ev if eneg else ev
    if big:
        return E_UNSUPPORTED, NO
    if m == 0:
        return E_OK, as_bits(-0.0 if neg else 0.0)
    if exp10 > 22 and exp10 <= 22 + 16:
        # Clinger: move powers of ten into m while it stays exact
        while exp10 > 22 and m * 10 <= TWO53:
            m *= 10
            exp10 -= 1
    if exp10 > 309:
        r = np.inf  # m >= 1, so at least 1e310
    elif exp10 < -343:
        r = 0.0  # m < 2**53 < 1e16, so below 1e-327: rounds to zero
    elif -22 <= exp10 <= 22:
        p = 1.0
        for _ in range(abs(exp10)):
            p *= 10.0  # exact up to 1e22
        r = float(m) * p if exp10 >= 0 else float(m) / p
    else:
        return E_UNSUPPORTED, NO
    return E_OK, as_bits(-r if neg else r)


@jit(_nrt=False, **_INNER)
def float_mod(vx, wx):
    mod = np.fmod(vx, wx)
    if mod != 0.0:
        if (wx < 0.0) != (mod < 0.0):
            mod += wx
    else:
        mod = math.copysign(0.0, wx)
    return mod


@jit(_nrt=False, **_INNER)
def tdiv(x, y):
    """C's truncating division (numba's // floors like Python's)."""
    q = x // y
    if q < 0 and q * y != x:
        q += 1
    return q


@jit(_nrt=False, **_INNER)
def int_mul(a, b):
    """(overflowed, a*b), checked *before* multiplying (CERT INT32-C; LLVM may fold an after-the-fact check)."""
    if a == 0 or b == 0:
        return False, NO
    if a > 0:
        if b > 0:
            if a > tdiv(I64MAX, b):
                return True, NO
        elif b < tdiv(I64MIN, a):
            return True, NO
    else:
        if b > 0:
            if a < tdiv(I64MIN, b):
                return True, NO
        elif b < tdiv(I64MAX, a):
            return True, NO
    return False, a * b


@jit(_nrt=False, **_INNER)
def add_ovf(a, b):
    if b > 0:
        return a > I64MAX - b
    return a < I64MIN - b


@jit(_nrt=False, **_INNER)
def sub_ovf(a, b):
    if b < 0:
        return a > I64MAX + b
    return a < I64MIN + b


@jit(_nrt=False, **_INNER)
def exact_double(i):
    """Whether the int64 ``i`` converts to a double without rounding."""
    if -TWO53 <= i <= TWO53:
        return True
    f = float(i)
    if f >= 9.2233720368547758e18:  # rounded up to 2**63: not i
        return False
    return np.int64(f) == i


@jit(_nrt=False, **_INNER)
def binop_num(op, ta, pa, tb, pb):
    """Arithmetic on bool/int/float (tag, payload) with Python's semantics: (err, tag, payload).

    On an error the payload is the detail code that machine._error reads."""
    if op >= 13:
        op -= 13
    if ta != T_FLOAT and tb != T_FLOAT:
        a = pa
        b = pb
        if op == NB_ADD:
            if add_ovf(a, b):
                return E_OVERFLOW, T_INT, NO
            return E_OK, T_INT, a + b
        if op == NB_SUBTRACT:
            if sub_ovf(a, b):
                return E_OVERFLOW, T_INT, NO
            return E_OK, T_INT, a - b
        if op == NB_MULTIPLY:
            ov, r = int_mul(a, b)
            if ov:
                return E_OVERFLOW, T_INT, NO
            return E_OK, T_INT, r
        if op == NB_FLOOR_DIVIDE or op == NB_REMAINDER:
            if b == 0:
                return E_ZERODIV, T_INT, NO
            if b == -1:
                if op == NB_REMAINDER:
                    return E_OK, T_INT, NO
                if a == I64MIN:
                    return E_OVERFLOW, T_INT, NO
                return E_OK, T_INT, -a
            q = a // b
            if op == NB_FLOOR_DIVIDE:
                return E_OK, T_INT, q
            return E_OK, T_INT, a - q * b
        if op == NB_TRUE_DIVIDE:
            if b == 0:
                return E_ZERODIV, T_FLOAT, NO
            if not (exact_double(a) and exact_double(b)):
                # CPython divides the exact integers; one IEEE division of their doubles is that only when
                # both convert exactly (always up to 2**53; beyond, e.g. 10**18)
                return E_UNSUPPORTED, T_FLOAT, np.int64(1)
            return E_OK, T_FLOAT, as_bits(float(a) / float(b))
        if op == NB_POWER:
            if b < 0:
                if a == 0:
                    return E_ZERODIV, T_FLOAT, np.int64(1)
                # CPython's long_pow hands a negative exponent to float_pow, which rounds both ints to doubles
                return E_OK, T_FLOAT, as_bits(math.pow(float(a), float(b)))
            res = np.int64(1)
            base = a
            e = b
            while e > 0:
                if e & 1:
                    ov, res = int_mul(res, base)
                    if ov:
                        return E_OVERFLOW, T_INT, NO
                e >>= 1
                if e > 0:
                    ov, base = int_mul(base, base)
                    if ov:
                        return E_OVERFLOW, T_INT, NO
            return E_OK, T_INT, res
        if op == NB_LSHIFT:
            if b < 0:
                return E_VALUE, T_INT, np.int64(1)
            if a == 0:
                return E_OK, T_INT, NO
            if b == 0:
                return E_OK, T_INT, a
            if b >= 64:
                return E_OVERFLOW, T_INT, NO
            lim = np.int64(1) << (63 - b)  # b == 63: lim 1, so only -1 << 63 == -2**63 fits
            if a >= lim or a < -lim:
                return E_OVERFLOW, T_INT, NO
            return E_OK, T_INT, a << b
        if op == NB_RSHIFT:
            if b < 0:
                return E_VALUE, T_INT, np.int64(1)
            if b >= 63:
                return E_OK, T_INT, (np.int64(-1) if a < 0 else NO)
            return E_OK, T_INT, a >> b
        if op == NB_AND or op == NB_OR or op == NB_XOR:
            if op == NB_AND:
                r = a & b
            elif op == NB_OR:
                r = a | b
            else:
                r = a ^ b
            if ta == T_BOOL and tb == T_BOOL:
                return E_OK, T_BOOL, r
            return E_OK, T_INT, r
        return E_TYPE, T_INT, NO
    # at least one float
    x = as_float(pa) if ta == T_FLOAT else float(pa)
    y = as_float(pb) if tb == T_FLOAT else float(pb)
    if op == NB_ADD:
        return E_OK, T_FLOAT, as_bits(x + y)
    if op == NB_SUBTRACT:
        return E_OK, T_FLOAT, as_bits(x - y)
    if op == NB_MULTIPLY:
        return E_OK, T_FLOAT, as_bits(x * y)
    if op == NB_TRUE_DIVIDE or op == NB_FLOOR_DIVIDE or op == NB_REMAINDER:
        if y == 0.0:
            return E_ZERODIV, T_FLOAT, np.int64(2)
        if op == NB_TRUE_DIVIDE:
            return E_OK, T_FLOAT, as_bits(x / y)
        if op == NB_FLOOR_DIVIDE:
            return E_OK, T_FLOAT, as_bits(float_floordiv(x, y))
        return E_OK, T_FLOAT, as_bits(float_mod(x, y))
    if op == NB_POWER:
        if y == 0.0:
            return E_OK, T_FLOAT, as_bits(1.0)
        if x != x:
            return E_OK, T_FLOAT, as_bits(x)
        if x == 0.0 and y < 0.0 and y != -np.inf:
            return E_ZERODIV, T_FLOAT, np.int64(3)
        if x < 0.0 and math.isfinite(y) and np.floor(y) != y:
            return E_UNSUPPORTED, T_FLOAT, np.int64(2)
        r = math.pow(x, y)
        if math.isinf(r) and math.isfinite(x) and math.isfinite(y):
            return E_OVERFLOW, T_FLOAT, np.int64(1)
        return E_OK, T_FLOAT, as_bits(r)
    return E_TYPE, T_FLOAT, NO


@jit(_nrt=False, **_INNER)
def truthy(t, p, shdr, lhdr, rng):
    if t == T_NONE:
        return False
    if t == T_BOOL or t == T_INT:
        return p != 0
    if t == T_FLOAT:
        return as_float(p) != 0.0
    if t == T_STR:
        return shdr[p, S_LEN] != 0
    if t == T_LIST or t == T_TUPLE:
        return lhdr[p, L_LEN] != 0
    if t == T_RANGE:
        st = rng[p, 2]
        if st > 0:
            return rng[p, 0] < rng[p, 1]
        return rng[p, 0] > rng[p, 1]
    return True


@jit(_nrt=False, **_INNER)
def range_len(start, stop, step):
    if step > 0:
        if start >= stop:
            return NO
        return (stop - start - 1) // step + 1
    if start <= stop:
        return NO
    return (start - stop - 1) // (-step) + 1


@jit(_nrt=False, **_INNER)
def list_grow(lhdr, elem, state, lid):
    """Make room for one more element; False when the element pool is full."""
    n = lhdr[lid, L_LEN]
    cap = lhdr[lid, L_CAP]
    if n < cap:
        return True
    ncap = cap * 2 if cap >= 4 else np.int64(4)
    top = state[ST_ELEM_TOP]
    if top + ncap > elem.shape[0]:
        return False
    off = lhdr[lid, L_OFF]
    for k in range(n):
        elem[top + k, TAG] = elem[off + k, TAG]
        elem[top + k, VAL] = elem[off + k, VAL]
    lhdr[lid, L_OFF] = top
    lhdr[lid, L_CAP] = ncap
    state[ST_ELEM_TOP] = top + ncap
    return True


@jit(_nrt=False, **_INNER)
def new_list(lhdr, elem, state, n):
    """Allocate a list/tuple header with room for n elements; -1 when full."""
    lid = state[ST_LIST_TOP]
    cap = n if n > 4 else np.int64(4)
    top = state[ST_ELEM_TOP]
    if lid >= lhdr.shape[0] or top + cap > elem.shape[0]:
        return NONE
    lhdr[lid, L_OFF] = top
    lhdr[lid, L_LEN] = n
    lhdr[lid, L_CAP] = cap
    state[ST_LIST_TOP] = lid + 1
    state[ST_ELEM_TOP] = top + cap
    return lid


@jit(_nrt=False, **_INNER)
def new_str(sdata, shdr, state, n):
    """Allocate a string of n code points (hash -1 until set); -1 when full."""
    sid = state[ST_STR_TOP]
    top = state[ST_SDATA_TOP]
    if sid >= shdr.shape[0] or top + n > sdata.shape[0]:
        return NONE
    shdr[sid, S_OFF] = top
    shdr[sid, S_LEN] = n
    shdr[sid, S_HASH] = -1
    state[ST_STR_TOP] = sid + 1
    state[ST_SDATA_TOP] = top + n
    return sid


@jit(_nrt=False, **_INNER)
def str_concat(sdata, shdr, state, a, b, times):
    """The string a + b (times = 1) or a * times (b = -1), hashed; -1 when the pool is full."""
    na = shdr[a, S_LEN]
    nb = shdr[b, S_LEN] if b >= 0 else NO
    r = new_str(sdata, shdr, state, na * times + nb)
    if r < 0:
        return NONE
    o1 = shdr[r, S_OFF]
    oa = shdr[a, S_OFF]
    for rep in range(times):
        for k in range(na):
            sdata[o1 + rep * na + k] = sdata[oa + k]
    if b >= 0:
        ob = shdr[b, S_OFF]
        for k in range(nb):
            sdata[o1 + na * times + k] = sdata[ob + k]
    shdr[r, S_HASH] = fnv(sdata, o1, na * times + nb)
    return r


@jit(_nrt=False, **_INNER)
def seq_eq(lhdr, elem, sdata, shdr, a, b):
    """== for two lists/tuples of scalars: 1 equal, 0 not, -1 nested containers (unsupported)."""
    if a == b:
        return 1
    n = lhdr[a, L_LEN]
    if n != lhdr[b, L_LEN]:
        return 0
    oa = lhdr[a, L_OFF]
    ob = lhdr[b, L_OFF]
    for k in range(n):
        ta = elem[oa + k, TAG]
        tb = elem[ob + k, TAG]
        pa = elem[oa + k, VAL]
        pb = elem[ob + k, VAL]
        na = ta == T_BOOL or ta == T_INT or ta == T_FLOAT
        nb = tb == T_BOOL or tb == T_INT or tb == T_FLOAT
        if na and nb:
            if num_cmp(ta, pa, tb, pb) != 0:
                return 0
        elif ta == T_STR and tb == T_STR:
            if not str_eq(sdata, shdr, pa, pb):
                return 0
        elif ta == T_LIST or ta == T_TUPLE or tb == T_LIST or tb == T_TUPLE:
            if ta == tb and pa == pb:
                continue
            return -1
        elif ta != tb:
            return 0
        elif ta != T_NONE and pa != pb:
            return 0
    return 1


@jit(_nrt=False, **_INNER)
def copy_items(elem, src, dst, n):
    for k in range(n):
        elem[dst + k, TAG] = elem[src + k, TAG]
        elem[dst + k, VAL] = elem[src + k, VAL]


@jit(_nrt=False, **_INNER)
def snapshot(lhdr, elem, state, lid):
    """Deep-copy a list/tuple (for print: later mutation must not change what was printed)."""
    root = state[ST_LIST_TOP]
    n = lhdr[lid, L_LEN]
    c = new_list(lhdr, elem, state, n)
    if c < 0:
        return NONE
    copy_items(elem, lhdr[lid, L_OFF], lhdr[c, L_OFF], n)
    q = root
    budget = 100000
    while q < state[ST_LIST_TOP]:
        off = lhdr[q, L_OFF]
        for k in range(lhdr[q, L_LEN]):
            t = elem[off + k, TAG]
            if t == T_LIST or t == T_TUPLE:
                budget -= 1
                if budget < 0:
                    return NONE
                src = elem[off + k, VAL]
                m = lhdr[src, L_LEN]
                c2 = new_list(lhdr, elem, state, m)
                if c2 < 0:
                    return NONE
                copy_items(elem, lhdr[src, L_OFF], lhdr[c2, L_OFF], m)
                elem[off + k, VAL] = c2
        q += 1
    return c


# ============================================================================ quickening, specialization, counters

def _w_mem():
    from lwnlab.interp.machine import warmup_args

    return warmup_args() + (np.int64(0), np.int64(0))


@jit(warmup=_w_mem, _nrt=False)
def quicken(mem, lay, lo, hi):
    """CPython 3.11's _PyCode_Quicken over code[lo:hi]: adaptive forms, quick forms, superinstructions."""
    code = column(mem, lay, R_INSN, I_OP)
    cache = columns(mem, lay, R_INSN, I_CACHE, CACHE_COLS)
    params = view1(mem, lay, R_PARAMS)
    fam_on = view1(mem, lay, R_FAM_ON)
    timeline = view2(mem, lay, R_TIMELINE)
    state = view1(mem, lay, R_STATE)
    sup = params[P_SUPER]
    prev = NONE
    for i in range(lo, hi):
        op = code[i]
        fam = FAMILY_OF[op]
        if fam >= 0 and OP_KIND[op] == 0:  # a base instruction: its adaptive form, unless the family is off
            if fam_on[fam] != 0:
                new = FAMILY_ADAPTIVE[fam]
                code[i] = new
                cache[i, 0] = 0
                tl_add(timeline, state, i, op, new, EV_QUICKEN, NO, NO)
            prev = NONE
            continue
        if op == JUMP_BACKWARD or op == RESUME:
            new = JUMP_BACKWARD_QUICK if op == JUMP_BACKWARD else RESUME_QUICK
            code[i] = new
            tl_add(timeline, state, i, op, new, EV_QUICKEN, NO, NO)
        elif sup != 0:
            s = NONE
            if op == LOAD_FAST:
                if prev == LOAD_FAST:
                    s = LOAD_FAST__LOAD_FAST
                elif prev == STORE_FAST:
                    s = STORE_FAST__LOAD_FAST
                elif prev == LOAD_CONST:
                    s = LOAD_CONST__LOAD_FAST
            elif op == STORE_FAST:
                if prev == STORE_FAST:
                    s = STORE_FAST__STORE_FAST
            elif op == LOAD_CONST:
                if prev == LOAD_FAST:
                    s = LOAD_FAST__LOAD_CONST
            if s >= 0:
                tl_add(timeline, state, i - 1, code[i - 1], s, EV_SUPER, NO, NO)
                code[i - 1] = s
        prev = op


@jit(_nrt=False, **_INNER)
def spec_done(mem, lay, pc, old, new, reason, fam, from_miss):
    """Finish a specialization attempt (CPython's success:/failure: labels)."""
    code = column(mem, lay, R_INSN, I_OP)
    cache = columns(mem, lay, R_INSN, I_CACHE, CACHE_COLS)
    params = view1(mem, lay, R_PARAMS)
    stats = view2(mem, lay, R_STATS)
    fails = view2(mem, lay, R_FAILS)
    timeline = view2(mem, lay, R_TIMELINE)
    state = view1(mem, lay, R_STATE)
    mode = params[P_MODE]
    if from_miss:
        stats[fam, STAT_DEOPT] += 1
    if new >= 0:
        code[pc] = new
        if mode == 1:
            cache[pc, 0] = params[P_MISS_BUDGET]
        else:
            cache[pc, 0] = (params[P_MISS_BUDGET] - 1) << 4
        stats[fam, STAT_SPEC_OK] += 1
        tl_add(timeline, state, pc, old, new, EV_RESPECIALIZE if from_miss else EV_SPECIALIZE, NO, cache[pc, 0])
    else:
        c = backoff(cache[pc, 0], params[P_BACKOFF_CAP])
        cache[pc, 0] = c
        if mode == 2:
            code[pc] = FAMILY_BASE[fam]
        stats[fam, STAT_SPEC_FAIL] += 1
        fails[fam, reason] += 1
        tl_add(timeline, state, pc, old, code[pc], EV_DEOPT if from_miss else EV_FAIL, reason, c)


@jit(_nrt=False, **_INNER)
def miss311(mem, lay, pc, fam):
    """3.11's miss: label: count down; at zero back to the adaptive form with adaptive_counter_start()."""
    code = column(mem, lay, R_INSN, I_OP)
    cache = columns(mem, lay, R_INSN, I_CACHE, CACHE_COLS)
    c = cache[pc, 0] - 1
    if c <= 0:
        params = view1(mem, lay, R_PARAMS)
        stats = view2(mem, lay, R_STATS)
        adaptive = FAMILY_ADAPTIVE[fam]
        old = code[pc]
        code[pc] = adaptive
        b = params[P_DEOPT_BACKOFF]
        cache[pc, 0] = (((1 << b) - 1) << 4) | b
        stats[fam, STAT_DEOPT] += 1
        tl_add(view2(mem, lay, R_TIMELINE), view1(mem, lay, R_STATE), pc, old, adaptive, EV_DEOPT, NO, cache[pc, 0])
    else:
        cache[pc, 0] = c


@jit(_nrt=False, **_INNER)
def adapt(cache, pc, is_adaptive_form, mode, from_miss, stats, fam):
    """The adaptive prologue: True when the instruction should try to specialize now."""
    if mode == 0:
        return False
    if mode == 1:
        if not is_adaptive_form or from_miss:
            return False
    c = cache[pc, 0]
    if c < 16:
        return True
    cache[pc, 0] = c - 16
    if not from_miss:
        stats[fam, STAT_DEFERRED] += 1
    return False


@jit(_nrt=False, **_INNER)
def specialize(mem, lay, fam, pc, sp, from_miss):
    """CPython's _Py_Specialize_* for every family: pick a specialized form (writing its cache) or a reason."""
    code = column(mem, lay, R_INSN, I_OP)
    oparg = column(mem, lay, R_INSN, I_ARG)
    cache = columns(mem, lay, R_INSN, I_CACHE, CACHE_COLS)
    params = view1(mem, lay, R_PARAMS)
    state = view1(mem, lay, R_STATE)
    vals = view2(mem, lay, R_VALS)
    names = view1(mem, lay, R_NAMES)
    sdata = view1(mem, lay, R_SDATA)
    shdr = view2(mem, lay, R_SHDR)
    dhdr = view2(mem, lay, R_DHDR)
    dent = view2(mem, lay, R_DENT)
    chdr = view2(mem, lay, R_CHDR)
    old = code[pc]
    new = NONE
    reason = F_OTHER
    give_up = False
    intern = params[P_INTERN]
    maxv = params[P_MAX_VERSIONS]
    K = params[P_ATTRS]
    if view1(mem, lay, R_FAM_ON)[fam] == 0:
        reason = F_DISABLED
    elif fam == FAM_LOAD_GLOBAL:
        sid = names[oparg[pc]]
        h = shdr[sid, S_HASH]
        found, slot = dict_probe(dhdr, dent, NO, sid, h, sdata, shdr, intern)
        gv = get_version(dhdr, NO, D_VERSION, state, maxv)
        if gv < 0:
            reason = F_OUT_OF_VERSIONS
        elif found:
            new = LOAD_GLOBAL_MODULE
            cache[pc, 1] = dhdr[0, D_OFF] + slot  # the entry's row in dent (tables never move)
            cache[pc, 2] = gv
        else:
            found, slot = dict_probe(dhdr, dent, np.int64(1), sid, h, sdata, shdr, intern)
            bv = get_version(dhdr, np.int64(1), D_VERSION, state, maxv)
            if bv < 0:
                reason = F_OUT_OF_VERSIONS
            elif found:
                new = LOAD_GLOBAL_BUILTIN
                cache[pc, 1] = dhdr[1, D_OFF] + slot
                cache[pc, 2] = gv
                cache[pc, 3] = bv
            else:
                reason = F_NOT_FOUND
    elif fam == FAM_LOAD_ATTR or fam == FAM_STORE_ATTR:
        sid = names[oparg[pc]]
        h = shdr[sid, S_HASH]
        ot = vals[sp - 1, TAG]
        o = vals[sp - 1, VAL]
        if ot == T_OBJ:
            c = view1(mem, lay, R_OCLS)[o]
            fk, ks = dict_probe(dhdr, dent, chdr[c, C_KEYS], sid, h, sdata, shdr, intern)
            fc, cs = dict_probe(dhdr, dent, chdr[c, C_DICT], sid, h, sdata, shdr, intern)
            idx = dent[dhdr[chdr[c, C_KEYS], D_OFF] + ks, E_VAL] if fk else NONE
            if fc and params[P_RULES311] == 0:
                # 3.12+: a name the class defines (even one the instance shadows) is a descriptor or class
                # variable there, and the instance-value forms refuse it (3.11 did not look)
                reason = F_METHOD if dent[dhdr[chdr[c, C_DICT], D_OFF] + cs, E_TAG] == T_FUNC else F_CLASS_ATTR
            elif fam == FAM_STORE_ATTR:
                if fk:
                    tv = get_version(chdr, c, C_VERSION, state, maxv)
                    if tv < 0:
                        reason = F_OUT_OF_VERSIONS
                    else:
                        new = STORE_ATTR_INSTANCE_VALUE
                        cache[pc, 1] = idx
                        cache[pc, 2] = tv
                else:
                    reason = F_NOT_FOUND
            elif fk and view2(mem, lay, R_ATTR)[o * K + idx, TAG] != T_NULL:
                tv = get_version(chdr, c, C_VERSION, state, maxv)
                if tv < 0:
                    reason = F_OUT_OF_VERSIONS
                else:
                    new = LOAD_ATTR_INSTANCE_VALUE
                    cache[pc, 1] = idx
                    cache[pc, 2] = tv
            elif fc:
                reason = F_METHOD if dent[dhdr[chdr[c, C_DICT], D_OFF] + cs, E_TAG] == T_FUNC else F_CLASS_ATTR
            else:
                reason = F_NOT_FOUND
        elif ot == T_CLASS and fam == FAM_LOAD_ATTR:
            fc, cs = dict_probe(dhdr, dent, chdr[o, C_DICT], sid, h, sdata, shdr, intern)
            if params[P_RULES311] != 0:
                reason = F_NOT_IN_VERSION  # 3.11 has no LOAD_ATTR_CLASS
            elif fc:
                tv = get_version(chdr, o, C_VERSION, state, maxv)
                if tv < 0:
                    reason = F_OUT_OF_VERSIONS
                else:
                    new = LOAD_ATTR_CLASS
                    cache[pc, 1] = dhdr[chdr[o, C_DICT], D_OFF] + cs
                    cache[pc, 2] = tv
                    cache[pc, 3] = o
            else:
                reason = F_NOT_FOUND
        else:
            reason = F_NOT_INSTANCE
    elif fam == FAM_BINARY_OP or fam == FAM_COMPARE_OP:
        ta = vals[sp - 2, TAG]
        tb = vals[sp - 1, TAG]
        a = oparg[pc]
        kind = a - 13 if a >= 13 else a
        if fam == FAM_BINARY_OP and kind != NB_ADD and kind != NB_SUBTRACT and kind != NB_MULTIPLY:
            reason = F_UNSUPPORTED_OP
            give_up = params[P_RULES311] != 0  # 3.11: "convert them back to BINARY_OP" for good
        elif fam == FAM_COMPARE_OP and params[P_RULES311] != 0 and code[pc + 1] != POP_JUMP_IF_FALSE and \
                code[pc + 1] != POP_JUMP_IF_TRUE:
            reason = F_NOT_FOLLOWED_BY_JUMP  # 3.11: "can't ever combine, so don't bother being adaptive"
            give_up = True
        elif ta == T_INT and tb == T_INT:
            if fam == FAM_COMPARE_OP:
                if -COMPACT < vals[sp - 2, VAL] < COMPACT and -COMPACT < vals[sp - 1, VAL] < COMPACT:
                    new = COMPARE_OP_INT
                else:
                    reason = F_BIG_INT
            else:
                new = BINARY_OP_ADD_INT if kind == NB_ADD else (
                    BINARY_OP_SUBTRACT_INT if kind == NB_SUBTRACT else BINARY_OP_MULTIPLY_INT)
        elif ta == T_FLOAT and tb == T_FLOAT:
            if fam == FAM_COMPARE_OP:
                new = COMPARE_OP_FLOAT
            else:
                new = BINARY_OP_ADD_FLOAT if kind == NB_ADD else (
                    BINARY_OP_SUBTRACT_FLOAT if kind == NB_SUBTRACT else BINARY_OP_MULTIPLY_FLOAT)
        elif ta == T_STR and tb == T_STR and fam == FAM_COMPARE_OP:
            if a == CMP_EQ or a == CMP_NE:
                new = COMPARE_OP_STR
            else:
                reason = F_STR_ORDER
        elif ta == T_STR and tb == T_STR and kind == NB_ADD:
            new = BINARY_OP_ADD_UNICODE
        elif ta == T_BOOL or tb == T_BOOL:
            reason = F_BOOL
        else:
            reason = F_WRONG_TYPES
    elif fam == FAM_BINARY_SUBSCR or fam == FAM_STORE_SUBSCR:
        ta = vals[sp - 2, TAG]
        tb = vals[sp - 1, TAG]
        if (ta == T_LIST or (ta == T_TUPLE and fam == FAM_BINARY_SUBSCR)) and tb == T_INT:
            idx = vals[sp - 1, VAL]
            # BINARY_SUBSCR: a non-negative compact index (3.11: any int); STORE_SUBSCR: also within the list
            if (fam == FAM_BINARY_SUBSCR and (params[P_RULES311] != 0 or 0 <= idx < COMPACT)) or \
                    (fam == FAM_STORE_SUBSCR and 0 <= idx < view2(mem, lay, R_LHDR)[vals[sp - 2, VAL], L_LEN]):
                if fam == FAM_STORE_SUBSCR:
                    new = STORE_SUBSCR_LIST_INT
                else:
                    new = BINARY_SUBSCR_LIST_INT if ta == T_LIST else BINARY_SUBSCR_TUPLE_INT
            else:
                reason = F_NEG_INDEX
        elif ta != T_LIST and ta != T_TUPLE:
            reason = F_NOT_LIST
        else:
            reason = F_WRONG_TYPES
    elif fam == FAM_FOR_ITER:
        t = vals[sp - 1, TAG]
        if t == T_RANGE_ITER:
            new = FOR_ITER_RANGE
        elif t == T_LIST_ITER:
            new = FOR_ITER_LIST
        elif t == T_TUPLE_ITER:
            new = FOR_ITER_TUPLE
        else:
            reason = F_NOT_ITER
    elif fam == FAM_CALL:
        n = oparg[pc]
        fpos = sp - n - 1 if vals[sp - n - 2, TAG] == T_NULL else sp - n - 2
        argc = sp - fpos - 1
        ft = vals[fpos, TAG]
        fid = vals[fpos, VAL]
        if ft == T_FUNC:
            if argc == view2(mem, lay, R_FN)[fid, FN_NPARAMS]:
                new = CALL_PY_EXACT_ARGS
                cache[pc, 1] = fid
                cache[pc, 2] = argc
            else:
                reason = F_ARGCOUNT
        elif ft == T_BUILTIN:
            # as 3.11's _Py_Specialize_Precall / 3.12's _Py_Specialize_Call (checked against both): by the
            # builtin's kind; cache[1] = the builtin, cache[2] = the argument count the guard wants (-1: any)
            cache[pc, 1] = fid
            cache[pc, 2] = NONE
            if fid == B_LEN and argc == 1:
                new = CALL_LEN
            elif fid == B_LIST_APPEND and argc == 2:
                # CPython's CALL_LIST_APPEND wants its result thrown away (a POP_TOP next); otherwise it is
                # the general method-descriptor form
                if code[pc + 1] == POP_TOP:
                    new = CALL_LIST_APPEND
                else:
                    new = CALL_METHOD_DESCRIPTOR_O
                    cache[pc, 2] = argc
            elif fid == B_ABS:  # METH_O
                if argc == 1:
                    new = CALL_BUILTIN_O
                else:
                    reason = F_BUILTIN_NOT_O
            elif fid == B_FLOAT or fid == B_RANGE or fid == B_BOOL:  # types with a vectorcall
                new = CALL_BUILTIN_CLASS
            elif fid == B_ISINSTANCE and argc == 2:
                new = CALL_ISINSTANCE
                cache[pc, 2] = argc
            elif fid == B_PRINT:
                new = CALL_BUILTIN_FAST_WITH_KEYWORDS
            else:
                reason = F_BUILTIN_NOT_SPECIALIZED
        elif ft == T_CLASS:
            reason = F_CLASS_CALL
    if give_up:
        # 3.11 gives up on this instruction: back to the base form, counter untouched, never adaptive again
        code[pc] = FAMILY_BASE[fam]
        view2(mem, lay, R_STATS)[fam, STAT_SPEC_FAIL] += 1
        view2(mem, lay, R_FAILS)[fam, reason] += 1
        tl_add(view2(mem, lay, R_TIMELINE), state, pc, old, code[pc], EV_FAIL, reason, cache[pc, 0])
        return
    spec_done(mem, lay, pc, old, new, reason, fam, from_miss)


# ============================================================================ builtins

@jit(_nrt=False, **_INNER)
def call_builtin(mem, lay, fid, argc, argpos):
    """The builtins, called with argc arguments at vals[argpos:]: (error, tag, payload) of the result."""
    vals = view2(mem, lay, R_VALS)
    sdata = view1(mem, lay, R_SDATA)
    shdr = view2(mem, lay, R_SHDR)
    lhdr = view2(mem, lay, R_LHDR)
    elem = view2(mem, lay, R_ELEM)
    rng = view2(mem, lay, R_RNG)
    state = view1(mem, lay, R_STATE)
    rt = T_NONE
    rv = NO
    bad = E_OK
    a0t = vals[argpos, TAG] if argc > 0 else T_NULL
    a0 = vals[argpos, VAL] if argc > 0 else NO
    if fid == B_LEN:
        if argc != 1:
            bad = E_ARGCOUNT
        elif a0t == T_STR:
            rt = T_INT
            rv = shdr[a0, S_LEN]
        elif a0t == T_LIST or a0t == T_TUPLE:
            rt = T_INT
            rv = lhdr[a0, L_LEN]
        elif a0t == T_RANGE:
            rt = T_INT
            rv = range_len(rng[a0, 0], rng[a0, 1], rng[a0, 2])
        else:
            bad = E_TYPE
    elif fid == B_ABS:
        if argc != 1:
            bad = E_ARGCOUNT
        elif a0t == T_INT or a0t == T_BOOL:
            if a0 == I64MIN:
                bad = E_OVERFLOW
            rt = T_INT
            rv = a0 if a0 >= 0 else -a0
        elif a0t == T_FLOAT:
            rt = T_FLOAT
            rv = as_bits(abs(as_float(a0)))
        else:
            bad = E_TYPE
    elif fid == B_INT:
        if argc == 0:
            rt = T_INT
        elif argc != 1:
            bad = E_ARGCOUNT
        elif a0t == T_INT or a0t == T_BOOL:
            rt = T_INT
            rv = a0
        elif a0t == T_FLOAT:
            x = as_float(a0)
            if x != x:
                bad = E_VALUE
            elif math.isinf(x) or x >= 9.2233720368547758e18 or x < -9.2233720368547758e18:
                bad = E_OVERFLOW
            else:
                rt = T_INT
                rv = np.int64(math.trunc(x))
        elif a0t == T_STR:
            # int("  -42 "): optional whitespace and sign, ASCII digits
            o1 = shdr[a0, S_OFF]
            n = shdr[a0, S_LEN]
            k = 0
            while k < n and is_space(sdata[o1 + k]):
                k += 1
            e = n
            while e > k and is_space(sdata[o1 + e - 1]):
                e -= 1
            neg = False
            if k < e and (sdata[o1 + k] == 43 or sdata[o1 + k] == 45):
                neg = sdata[o1 + k] == 45
                k += 1
            if k >= e:
                bad = E_VALUE
            acc = NO
            while k < e and bad == E_OK:
                d = sdata[o1 + k] - 48
                if d < 0 or d > 9:
                    # '_' and non-ASCII digits/spaces are valid for CPython's int(), not modelled here
                    bad = E_UNSUPPORTED if (sdata[o1 + k] == 95 or sdata[o1 + k] > 127) else E_VALUE
                    break
                ov, acc = int_mul(acc, np.int64(10))
                if ov or acc > I64MAX - d:
                    bad = E_OVERFLOW
                    break
                acc += d
                k += 1
            rt = T_INT
            rv = -acc if neg else acc
        else:
            bad = E_TYPE
    elif fid == B_FLOAT:
        if argc == 0:
            rt = T_FLOAT
        elif argc != 1:
            bad = E_ARGCOUNT
        elif a0t == T_INT or a0t == T_BOOL:
            rt = T_FLOAT
            rv = as_bits(float(a0))
        elif a0t == T_FLOAT:
            rt = T_FLOAT
            rv = a0
        elif a0t == T_STR:
            bad, rv = float_from_str(sdata, shdr[a0, S_OFF], shdr[a0, S_LEN])
            rt = T_FLOAT
        else:
            bad = E_TYPE
    elif fid == B_BOOL:
        if argc > 1:
            bad = E_ARGCOUNT
        rt = T_BOOL
        if argc == 1:
            rv = np.int64(1) if truthy(a0t, a0, shdr, lhdr, rng) else NO
    elif fid == B_RANGE:
        if argc < 1 or argc > 3:
            bad = E_ARGCOUNT
        else:
            for k in range(argc):
                if vals[argpos + k, TAG] != T_INT and vals[argpos + k, TAG] != T_BOOL:
                    bad = E_TYPE
            if bad == E_OK:
                r0 = NO
                r1 = vals[argpos, VAL]
                r2 = np.int64(1)
                if argc >= 2:
                    r0 = vals[argpos, VAL]
                    r1 = vals[argpos + 1, VAL]
                if argc == 3:
                    r2 = vals[argpos + 2, VAL]
                if r2 == 0:
                    bad = E_VALUE
                else:
                    rr = state[ST_RNG_TOP]
                    if rr >= rng.shape[0]:
                        bad = E_HEAP
                    else:
                        state[ST_RNG_TOP] = rr + 1
                        rng[rr, 0] = r0
                        rng[rr, 1] = r1
                        rng[rr, 2] = r2
                        rt = T_RANGE
                        rv = rr
    elif fid == B_MIN or fid == B_MAX:
        # min(a, b, ...) or min(list_or_tuple); the first extreme wins on ties
        src = argpos
        cnt = argc
        pool = vals
        if argc == 1:
            if a0t == T_LIST or a0t == T_TUPLE:
                src = lhdr[a0, L_OFF]
                cnt = lhdr[a0, L_LEN]
                pool = elem
            elif a0t == T_RANGE:
                bad = E_UNSUPPORTED
            else:
                bad = E_TYPE
        if cnt == 0 and bad == E_OK:
            bad = E_VALUE
        if bad == E_OK:
            rt = pool[src, TAG]
            rv = pool[src, VAL]
            for k in range(1, cnt):
                kt = pool[src + k, TAG]
                kv = pool[src + k, VAL]
                nk = kt == T_INT or kt == T_FLOAT or kt == T_BOOL
                nr = rt == T_INT or rt == T_FLOAT or rt == T_BOOL
                if nk and nr:
                    c = num_cmp(kt, kv, rt, rv)
                elif kt == T_STR and rt == T_STR:
                    c = str_cmp(sdata, shdr, kv, rv)
                else:
                    bad = E_TYPE
                    break
                if (c == -1) if fid == B_MIN else (c == 1):
                    rt = kt
                    rv = kv
    elif fid == B_ISINSTANCE:
        if argc != 2:
            bad = E_ARGCOUNT
        else:
            ct = vals[argpos + 1, TAG]
            cv = vals[argpos + 1, VAL]
            res = False
            if ct == T_CLASS:
                res = a0t == T_OBJ and view1(mem, lay, R_OCLS)[a0] == cv
            elif ct == T_BUILTIN and cv == B_INT:
                res = a0t == T_INT or a0t == T_BOOL
            elif ct == T_BUILTIN and (cv == B_FLOAT or cv == B_BOOL or cv == B_STR or cv == B_LIST or cv == B_TUPLE):
                want = T_FLOAT if cv == B_FLOAT else (T_BOOL if cv == B_BOOL else (
                    T_STR if cv == B_STR else (T_LIST if cv == B_LIST else T_TUPLE)))
                res = a0t == want
            else:
                bad = E_TYPE
            rt = T_BOOL
            rv = np.int64(1) if res else NO
    elif fid == B_PRINT:
        prints = view2(mem, lay, R_PRINT)
        pt = state[ST_PRINT_TOP]
        if pt + argc + 1 > prints.shape[0]:
            bad = E_HEAP
        else:
            for k in range(argc):
                t = vals[argpos + k, TAG]
                v = vals[argpos + k, VAL]
                if t == T_LIST or t == T_TUPLE:
                    v = snapshot(lhdr, elem, state, v)
                    if v < 0:
                        bad = E_HEAP
                        break
                prints[pt, TAG] = t
                prints[pt, VAL] = v
                pt += 1
            prints[pt, TAG] = -2  # end of line
            pt += 1
            state[ST_PRINT_TOP] = pt
    elif fid == B_LIST_APPEND:
        if argc != 2:
            bad = E_ARGCOUNT
        elif not list_append(lhdr, elem, state, a0, vals[argpos + 1, TAG], vals[argpos + 1, VAL]):
            bad = E_HEAP
    else:  # str(), list(), tuple() as callables
        bad = E_UNSUPPORTED
    return bad, rt, rv


@jit(_nrt=False, **_INNER)
def list_append(lhdr, elem, state, lid, t, p):
    """lid.append((t, p)); False when the element pool is full."""
    if not list_grow(lhdr, elem, state, lid):
        return False
    s = lhdr[lid, L_OFF] + lhdr[lid, L_LEN]
    elem[s, TAG] = t
    elem[s, VAL] = p
    lhdr[lid, L_LEN] += 1
    return True


# ============================================================================ generic paths too long to inline in run
# Each takes (mem, lay, ...) and returns the new stack pointer, or -1 after recording a fault in status.

@jit(_nrt=False, **_INNER)
def stop(state, status, steps, e, pc, a, b, c):
    """A fault: the status row, and the step count so far."""
    state[ST_STEPS] = steps
    fail(status, e, pc, a, b, c)


@jit(_nrt=False, **_INNER)
def load_attr(mem, lay, op, pc, sp):
    """Generic LOAD_ATTR / LOAD_METHOD: the type first (data descriptors would win; methods and class attributes
    are remembered), then the instance's values through the class's shared keys, then the class attribute."""
    vals = view2(mem, lay, R_VALS)
    sdata = view1(mem, lay, R_SDATA)
    shdr = view2(mem, lay, R_SHDR)
    dhdr = view2(mem, lay, R_DHDR)
    dent = view2(mem, lay, R_DENT)
    chdr = view2(mem, lay, R_CHDR)
    params = view1(mem, lay, R_PARAMS)
    intern = params[P_INTERN]
    sid = view1(mem, lay, R_NAMES)[column(mem, lay, R_INSN, I_ARG)[pc]]
    ot = vals[sp - 1, TAG]
    o = vals[sp - 1, VAL]
    h = name_hash(sdata, shdr, sid, params[P_HASH_CACHED])
    src = NONE  # the dent slot holding the attribute, when it comes from a dict
    if ot == T_OBJ:
        c = view1(mem, lay, R_OCLS)[o]
        fc, cs = dict_probe(dhdr, dent, chdr[c, C_DICT], sid, h, sdata, shdr, intern)
        fk, ks = dict_probe(dhdr, dent, chdr[c, C_KEYS], sid, h, sdata, shdr, intern)
        if fk:
            attr = view2(mem, lay, R_ATTR)
            s = o * params[P_ATTRS] + dent[dhdr[chdr[c, C_KEYS], D_OFF] + ks, E_VAL]
            if attr[s, TAG] != T_NULL:
                if op == LOAD_METHOD:
                    vals[sp - 1, TAG] = T_NULL
                    vals[sp, TAG] = attr[s, TAG]
                    vals[sp, VAL] = attr[s, VAL]
                    return sp + 1
                vals[sp - 1, TAG] = attr[s, TAG]
                vals[sp - 1, VAL] = attr[s, VAL]
                return sp
        if fc:
            src = dhdr[chdr[c, C_DICT], D_OFF] + cs
            if dent[src, E_TAG] == T_FUNC:
                if op == LOAD_METHOD:
                    vals[sp - 1, TAG] = T_FUNC
                    vals[sp - 1, VAL] = dent[src, E_VAL]
                    vals[sp, TAG] = T_OBJ
                    vals[sp, VAL] = o
                    return sp + 1
                fail(view1(mem, lay, R_STATUS), E_UNSUPPORTED, pc, np.int64(3), NO, NO)
                return NONE
    elif ot == T_CLASS:
        fc, cs = dict_probe(dhdr, dent, chdr[o, C_DICT], sid, h, sdata, shdr, intern)
        if fc:
            src = dhdr[chdr[o, C_DICT], D_OFF] + cs
    elif ot == T_LIST and op == LOAD_METHOD and str_eq(sdata, shdr, sid, params[P_SID_APPEND]):
        vals[sp - 1, TAG] = T_BUILTIN
        vals[sp - 1, VAL] = B_LIST_APPEND
        vals[sp, TAG] = T_LIST
        vals[sp, VAL] = o
        return sp + 1
    if src >= 0:
        if op == LOAD_METHOD:
            vals[sp - 1, TAG] = T_NULL
            vals[sp, TAG] = dent[src, E_TAG]
            vals[sp, VAL] = dent[src, E_VAL]
            return sp + 1
        vals[sp - 1, TAG] = dent[src, E_TAG]
        vals[sp - 1, VAL] = dent[src, E_VAL]
        return sp
    fail(view1(mem, lay, R_STATUS), E_ATTR, pc, sid, ot, NO)
    operands(view1(mem, lay, R_STATUS), o, NO)
    return NONE


@jit(_nrt=False, **_INNER)
def dict_insert(dhdr, dent, t, s, sid, h):
    """Put key sid (hash h) in the empty slot s of table t: the keys changed, so dk_version is invalidated.
    False when the table is full (CPython's 2/3 load factor)."""
    if (dhdr[t, D_USED] + 1) * 3 > (dhdr[t, D_MASK] + 1) * 2:
        return False
    dent[s, E_KEY] = sid
    dent[s, E_HASH] = h
    dhdr[t, D_USED] += 1
    dhdr[t, D_VERSION] = 0
    return True


@jit(_nrt=False, **_INNER)
def store_attr(mem, lay, pc, sp):
    """Generic STORE_ATTR on an instance (a new name grows the class's shared keys) or a class (PyType_Modified)."""
    vals = view2(mem, lay, R_VALS)
    sdata = view1(mem, lay, R_SDATA)
    shdr = view2(mem, lay, R_SHDR)
    dhdr = view2(mem, lay, R_DHDR)
    dent = view2(mem, lay, R_DENT)
    chdr = view2(mem, lay, R_CHDR)
    params = view1(mem, lay, R_PARAMS)
    status = view1(mem, lay, R_STATUS)
    intern = params[P_INTERN]
    K = params[P_ATTRS]
    sid = view1(mem, lay, R_NAMES)[column(mem, lay, R_INSN, I_ARG)[pc]]
    ot = vals[sp - 1, TAG]
    o = vals[sp - 1, VAL]
    h = name_hash(sdata, shdr, sid, params[P_HASH_CACHED])
    if ot == T_OBJ:
        c = view1(mem, lay, R_OCLS)[o]
        dict_probe(dhdr, dent, chdr[c, C_DICT], sid, h, sdata, shdr, intern)  # the type first, as CPython
        kt = chdr[c, C_KEYS]
        fk, ks = dict_probe(dhdr, dent, kt, sid, h, sdata, shdr, intern)
        s0 = dhdr[kt, D_OFF] + ks
        if not fk:
            idx = chdr[c, C_NKEYS]
            if idx >= K or not dict_insert(dhdr, dent, kt, s0, sid, shdr[sid, S_HASH]):
                fail(status, E_ATTRS_FULL, pc, K, NO, NO)
                return NONE
            dent[s0, E_TAG] = T_INT
            dent[s0, E_VAL] = idx
            chdr[c, C_NKEYS] = idx + 1
        attr = view2(mem, lay, R_ATTR)
        s = o * K + dent[s0, E_VAL]
        attr[s, TAG] = vals[sp - 2, TAG]
        attr[s, VAL] = vals[sp - 2, VAL]
        return sp - 2
    if ot == T_CLASS:
        t = chdr[o, C_DICT]
        fc, cs = dict_probe(dhdr, dent, t, sid, h, sdata, shdr, intern)
        s = dhdr[t, D_OFF] + cs
        if not fc and not dict_insert(dhdr, dent, t, s, sid, shdr[sid, S_HASH]):
            fail(status, E_ATTRS_FULL, pc, dhdr[t, D_MASK] + 1, NO, NO)
            return NONE
        dent[s, E_TAG] = vals[sp - 2, TAG]
        dent[s, E_VAL] = vals[sp - 2, VAL]
        chdr[o, C_VERSION] = 0  # PyType_Modified: the type's version tag is gone
        return sp - 2
    fail(status, E_ATTR, pc, sid, ot, NO)
    operands(status, o, NO)
    return NONE


@jit(_nrt=False, **_INNER)
def store_global(mem, lay, pc, sp):
    """STORE_GLOBAL: a new key changes the globals' keys version."""
    vals = view2(mem, lay, R_VALS)
    shdr = view2(mem, lay, R_SHDR)
    dhdr = view2(mem, lay, R_DHDR)
    dent = view2(mem, lay, R_DENT)
    sid = view1(mem, lay, R_NAMES)[column(mem, lay, R_INSN, I_ARG)[pc]]
    h = shdr[sid, S_HASH]
    found, slot = dict_probe(dhdr, dent, NO, sid, h, view1(mem, lay, R_SDATA), shdr,
                             view1(mem, lay, R_PARAMS)[P_INTERN])
    s = dhdr[0, D_OFF] + slot
    if not found and not dict_insert(dhdr, dent, NO, s, sid, h):
        fail(view1(mem, lay, R_STATUS), E_HEAP, pc, np.int64(2), NO, NO)
        return NONE
    dent[s, E_TAG] = vals[sp - 1, TAG]
    dent[s, E_VAL] = vals[sp - 1, VAL]
    return sp - 1


@jit(_nrt=False, **_INNER)
def binary_seq(mem, lay, pc, sp):
    """Generic BINARY_OP when an operand is not a number: str/list/tuple concatenation and repetition."""
    vals = view2(mem, lay, R_VALS)
    sdata = view1(mem, lay, R_SDATA)
    shdr = view2(mem, lay, R_SHDR)
    lhdr = view2(mem, lay, R_LHDR)
    elem = view2(mem, lay, R_ELEM)
    state = view1(mem, lay, R_STATE)
    status = view1(mem, lay, R_STATUS)
    ta = vals[sp - 2, TAG]
    tb = vals[sp - 1, TAG]
    a = vals[sp - 2, VAL]
    b = vals[sp - 1, VAL]
    nb = column(mem, lay, R_INSN, I_ARG)[pc]
    kind = nb - 13 if nb >= 13 else nb
    st = ta
    r = NONE
    if kind == NB_ADD and ta == T_STR and tb == T_STR:
        r = str_concat(sdata, shdr, state, a, b, np.int64(1))
        if r < 0:
            fail(status, E_HEAP, pc, NO, NO, NO)
            return NONE
    elif kind == NB_ADD and ((ta == T_LIST and tb == T_LIST) or (ta == T_TUPLE and tb == T_TUPLE)):
        la = lhdr[a, L_LEN]
        lb = lhdr[b, L_LEN]
        r = new_list(lhdr, elem, state, la + lb)
        if r < 0:
            fail(status, E_HEAP, pc, np.int64(1), NO, NO)
            return NONE
        copy_items(elem, lhdr[a, L_OFF], lhdr[r, L_OFF], la)
        copy_items(elem, lhdr[b, L_OFF], lhdr[r, L_OFF] + la, lb)
    elif kind == NB_MULTIPLY and (((ta == T_LIST or ta == T_TUPLE or ta == T_STR) and (tb == T_INT or tb == T_BOOL))
                                  or ((tb == T_LIST or tb == T_TUPLE or tb == T_STR) and
                                      (ta == T_INT or ta == T_BOOL))):
        if ta == T_INT or ta == T_BOOL:
            cnt = a
            a = b
            st = tb
        else:
            cnt = b
        if cnt < 0:
            cnt = NO
        la = shdr[a, S_LEN] if st == T_STR else lhdr[a, L_LEN]
        if la > 0 and cnt > (1 << 40) // la:
            fail(status, E_HEAP, pc, np.int64(1), NO, NO)
            return NONE
        if st == T_STR:
            r = str_concat(sdata, shdr, state, a, NONE, cnt)
            if r < 0:
                fail(status, E_HEAP, pc, NO, NO, NO)
                return NONE
        else:
            r = new_list(lhdr, elem, state, la * cnt)
            if r < 0:
                fail(status, E_HEAP, pc, np.int64(1), NO, NO)
                return NONE
            for rep in range(cnt):
                copy_items(elem, lhdr[a, L_OFF], lhdr[r, L_OFF] + rep * la, la)
    else:
        fail(status, E_TYPE, pc, np.int64(1), ta, tb)
        operands(status, a, b)
        return NONE
    vals[sp - 2, TAG] = st
    vals[sp - 2, VAL] = r
    return sp - 1


@jit(_nrt=False, **_INNER)
def subscr(mem, lay, op, pc, sp):
    """Generic BINARY_SUBSCR (list, tuple, str, range) and STORE_SUBSCR (list), negative indices included."""
    vals = view2(mem, lay, R_VALS)
    shdr = view2(mem, lay, R_SHDR)
    lhdr = view2(mem, lay, R_LHDR)
    elem = view2(mem, lay, R_ELEM)
    status = view1(mem, lay, R_STATUS)
    ta = vals[sp - 2, TAG]
    tb = vals[sp - 1, TAG]
    a = vals[sp - 2, VAL]
    if op == STORE_SUBSCR and ta != T_LIST:
        fail(status, E_TYPE, pc, np.int64(6), ta, NO)
        operands(status, a, NO)
        return NONE
    if tb != T_INT and tb != T_BOOL:
        fail(status, E_TYPE, pc, np.int64(4), ta, tb)
        operands(status, a, vals[sp - 1, VAL])
        return NONE
    if ta == T_LIST or ta == T_TUPLE or ta == T_STR:
        n = lhdr[a, L_LEN] if ta != T_STR else shdr[a, S_LEN]
    elif ta == T_RANGE:
        rng = view2(mem, lay, R_RNG)
        n = range_len(rng[a, 0], rng[a, 1], rng[a, 2])
    else:
        fail(status, E_TYPE, pc, np.int64(5), ta, NO)
        operands(status, a, NO)
        return NONE
    idx = vals[sp - 1, VAL]
    if idx < 0:
        idx += n
    if idx < 0 or idx >= n:
        fail(status, E_INDEX, pc, vals[sp - 1, VAL], ta, NO)
        return NONE
    if op == STORE_SUBSCR:
        s = lhdr[a, L_OFF] + idx
        elem[s, TAG] = vals[sp - 3, TAG]
        elem[s, VAL] = vals[sp - 3, VAL]
        return sp - 3
    if ta == T_STR:
        sdata = view1(mem, lay, R_SDATA)
        r = new_str(sdata, shdr, view1(mem, lay, R_STATE), np.int64(1))
        if r < 0:
            fail(status, E_HEAP, pc, NO, NO, NO)
            return NONE
        sdata[shdr[r, S_OFF]] = sdata[shdr[a, S_OFF] + idx]
        shdr[r, S_HASH] = fnv(sdata, shdr[r, S_OFF], np.int64(1))
        vals[sp - 2, VAL] = r
    elif ta == T_RANGE:
        rng = view2(mem, lay, R_RNG)
        vals[sp - 2, TAG] = T_INT
        vals[sp - 2, VAL] = rng[a, 0] + idx * rng[a, 2]
    else:
        s = lhdr[a, L_OFF] + idx
        vals[sp - 2, TAG] = elem[s, TAG]
        vals[sp - 2, VAL] = elem[s, VAL]
    return sp - 1


@jit(_nrt=False, **_INNER)
def build_unpack(mem, lay, op, pc, sp):
    """BUILD_LIST / BUILD_TUPLE of the top n values, UNPACK_SEQUENCE of a list/tuple of exactly n items."""
    vals = view2(mem, lay, R_VALS)
    lhdr = view2(mem, lay, R_LHDR)
    elem = view2(mem, lay, R_ELEM)
    status = view1(mem, lay, R_STATUS)
    n = column(mem, lay, R_INSN, I_ARG)[pc]
    if op == UNPACK_SEQUENCE:
        t = vals[sp - 1, TAG]
        if t != T_LIST and t != T_TUPLE:
            fail(status, E_TYPE, pc, np.int64(7), t, NO)
            operands(status, vals[sp - 1, VAL], NO)
            return NONE
        lid = vals[sp - 1, VAL]
        if lhdr[lid, L_LEN] != n:
            fail(status, E_UNPACK, pc, n, lhdr[lid, L_LEN], NO)
            return NONE
        o1 = lhdr[lid, L_OFF]
        sp -= 1
        for k in range(n):
            vals[sp + k, TAG] = elem[o1 + n - 1 - k, TAG]
            vals[sp + k, VAL] = elem[o1 + n - 1 - k, VAL]
        return sp + n
    r = new_list(lhdr, elem, view1(mem, lay, R_STATE), n)
    if r < 0:
        fail(status, E_HEAP, pc, np.int64(1), NO, NO)
        return NONE
    o1 = lhdr[r, L_OFF]
    for k in range(n):
        elem[o1 + k, TAG] = vals[sp - n + k, TAG]
        elem[o1 + k, VAL] = vals[sp - n + k, VAL]
    sp -= n
    vals[sp, TAG] = T_LIST if op == BUILD_LIST else T_TUPLE
    vals[sp, VAL] = r
    return sp + 1


@jit(_nrt=False, **_INNER)
def new_instance(mem, lay, c):
    """Allocate an instance of class c: (object id or -1 when the pool is full, its __init__ function or -1)."""
    ocls = view1(mem, lay, R_OCLS)
    state = view1(mem, lay, R_STATE)
    params = view1(mem, lay, R_PARAMS)
    o = state[ST_OBJ_TOP]
    if o >= ocls.shape[0]:
        return NONE, NONE
    state[ST_OBJ_TOP] = o + 1
    ocls[o] = c
    K = params[P_ATTRS]
    attr = view2(mem, lay, R_ATTR)
    for k in range(K):
        attr[o * K + k, TAG] = T_NULL
    dhdr = view2(mem, lay, R_DHDR)
    dent = view2(mem, lay, R_DENT)
    shdr = view2(mem, lay, R_SHDR)
    t = view2(mem, lay, R_CHDR)[c, C_DICT]
    isid = params[P_SID_INIT]
    fc, cs = dict_probe(dhdr, dent, t, isid, shdr[isid, S_HASH], view1(mem, lay, R_SDATA), shdr, params[P_INTERN])
    s = dhdr[t, D_OFF] + cs
    if not fc or dent[s, E_TAG] != T_FUNC:
        return o, NONE
    return o, dent[s, E_VAL]


# ============================================================================ the hot loop

@jit(_nrt=False, **_INNER)
def fast(mem, lay):
    """The hot loop: a leaf (it calls nothing, so its few live values stay in registers) over raw pointers.

    It executes, from state[ST_PC] on, with exactly run's semantics and bookkeeping:
      - LOAD_FAST, STORE_FAST, LOAD_CONST, their superinstructions, POP_TOP, PUSH_NULL, NOP, RESUME(_QUICK);
      - jumps (JUMP_BACKWARD and RESUME only when not counting 3.11's code warmup), with the step limit and
        samples; POP_JUMP_IF_* on a bool;
      - the HIT paths of the specialized instructions (except the three that allocate or loop, which run does);
      - RETURN_VALUE from a callee frame (not the entry frame, not __init__'s).
    It returns to run WITHOUT executing an instruction it does not do or whose guard fails (a miss): 0, with
    the registers in state; or 1 after a fault (status set).

    Memory is indexed flat: region[row * cols + col].  Few values live across the loop (pc, sp, base, steps, the
    hit count and the regions every specialized hit uses); the other regions are opened where they are used
    (opening one is two loads), and the rarely changed registers (depth, it_top) stay in state.
    """
    st = ptr(mem, lay, R_STATE)
    ins = ptr(mem, lay, R_INSN)  # INSN_COLS columns: opcode, argument, inline cache (CACHE_COLS)
    vals = ptr(mem, lay, R_VALS)  # 2 columns: tag, payload
    consts = ptr(mem, lay, R_CONST)  # 2 columns
    dhdr = ptr(mem, lay, R_DHDR)  # 4 columns; row 0 globals, row 1 builtins
    dent = ptr(mem, lay, R_DENT)  # 4 columns: key, hash, tag, payload
    stats = ptr(mem, lay, R_STATS)  # NUM_STATS columns
    params = ptr(mem, lay, R_PARAMS)
    # PEP 659's saturating counter: hits count up to the miss budget (one compare: I64MIN when it is off)
    sat_budget = params[P_MISS_BUDGET] if params[P_SATURATING] != 0 and params[P_MODE] == 1 else I64MIN
    lg_hits = NO  # LOAD_GLOBAL_* hits: counted in a register, added to stats on the way out (and in samples)
    pc = st[ST_PC]
    sp = st[ST_SP]
    base = st[ST_BASE]
    steps = st[ST_STEPS]
    err = NO
    while True:
        op = ins[INSN_COLS * pc]
        hit = NONE  # a specialized hit: its family (stats row), for the bookkeeping at the bottom
        if op == LOAD_FAST:
            s = base + ins[INSN_COLS * pc + I_ARG]
            t = vals[2 * s]
            steps += 1
            if t == T_NULL:
                err = E_UNBOUND
                break
            vals[2 * sp] = t
            vals[2 * sp + 1] = vals[2 * s + 1]
            sp += 1
            pc += 1
        elif op == STORE_FAST:
            steps += 1
            sp -= 1
            s = base + ins[INSN_COLS * pc + I_ARG]
            vals[2 * s] = vals[2 * sp]
            vals[2 * s + 1] = vals[2 * sp + 1]
            pc += 1
        elif op == LOAD_CONST:
            steps += 1
            k = ins[INSN_COLS * pc + I_ARG]
            vals[2 * sp] = consts[2 * k]
            vals[2 * sp + 1] = consts[2 * k + 1]
            sp += 1
            pc += 1
        elif op == LOAD_FAST__LOAD_FAST or op == LOAD_FAST__LOAD_CONST or op == STORE_FAST__LOAD_FAST or \
                op == STORE_FAST__STORE_FAST or op == LOAD_CONST__LOAD_FAST:  # two halves, one dispatch
            # (equality tests only, here and below: LLVM then turns the whole chain into one jump table)
            steps += 1
            for half in range(2):
                kind = LOAD_FAST
                if half == 0:
                    if op == STORE_FAST__LOAD_FAST or op == STORE_FAST__STORE_FAST:
                        kind = STORE_FAST
                    elif op == LOAD_CONST__LOAD_FAST:
                        kind = LOAD_CONST
                elif op == LOAD_FAST__LOAD_CONST:
                    kind = LOAD_CONST
                elif op == STORE_FAST__STORE_FAST:
                    kind = STORE_FAST
                a = ins[INSN_COLS * (pc + half) + I_ARG]
                if kind == LOAD_FAST:
                    s = base + a
                    if vals[2 * s] == T_NULL:
                        pc += half
                        err = E_UNBOUND
                        break
                    vals[2 * sp] = vals[2 * s]
                    vals[2 * sp + 1] = vals[2 * s + 1]
                    sp += 1
                elif kind == STORE_FAST:
                    sp -= 1
                    s = base + a
                    vals[2 * s] = vals[2 * sp]
                    vals[2 * s + 1] = vals[2 * sp + 1]
                else:
                    vals[2 * sp] = consts[2 * a]
                    vals[2 * sp + 1] = consts[2 * a + 1]
                    sp += 1
            if err != 0:
                break
            pc += 2
        elif op == JUMP_BACKWARD_QUICK or op == JUMP_BACKWARD or op == RESUME:
            if op != JUMP_BACKWARD_QUICK and params[P_MODE] == 1:
                break  # 3.11 counts these toward the code object's warmup: run does it
            steps += 1
            if op == RESUME:
                pc += 1
            else:
                pc = ins[INSN_COLS * pc + I_ARG]
                if steps > params[P_STEP_LIMIT]:
                    err = E_STEPS
                    break
                if steps >= st[ST_NEXT_SAMPLE]:
                    n = st[ST_SAMPLES_N]
                    if n < lay[R_SAMPLES, 1]:
                        samples = ptr(mem, lay, R_SAMPLES)
                        samples[4 * n] = steps
                        hits = lg_hits  # the running totals are the column sums of stats (plus lg_hits)
                        misses = NO
                        for f in range(lay[R_STATS, 1]):
                            hits += stats[NUM_STATS * f + STAT_HIT]
                            misses += stats[NUM_STATS * f + STAT_MISS]
                        samples[4 * n + 1] = hits
                        samples[4 * n + 2] = misses
                        samples[4 * n + 3] = st[ST_CALL]
                        st[ST_SAMPLES_N] = n + 1
                    st[ST_NEXT_SAMPLE] = steps + params[P_SAMPLE_EVERY]
        elif op == POP_JUMP_IF_FALSE or op == POP_JUMP_IF_TRUE:
            if vals[2 * sp - 2] != T_BOOL:
                break  # run works out the truth of other values
            steps += 1
            sp -= 1
            if (vals[2 * sp + 1] != 0) == (op == POP_JUMP_IF_TRUE):
                tgt = ins[INSN_COLS * pc + I_ARG]
                if tgt <= pc and steps > params[P_STEP_LIMIT]:
                    err = E_STEPS  # the fault names the jump
                    break
                pc = tgt
            else:
                pc += 1
        elif op == POP_TOP:
            steps += 1
            sp -= 1
            t = vals[2 * sp]
            if (t == T_RANGE_ITER or t == T_LIST_ITER or t == T_TUPLE_ITER) and vals[2 * sp + 1] == st[ST_IT_TOP] - 1:
                st[ST_IT_TOP] -= 1
            pc += 1
        elif op == PUSH_NULL:
            steps += 1
            vals[2 * sp] = T_NULL
            vals[2 * sp + 1] = 0
            sp += 1
            pc += 1
        elif op == NOP or op == RESUME_QUICK:
            steps += 1
            pc += 1
        elif op == JUMP_FORWARD:
            steps += 1
            pc = ins[INSN_COLS * pc + I_ARG]
        elif op == RETURN_VALUE:
            depth = st[ST_DEPTH]
            frames = ptr(mem, lay, R_FRAMES)  # 6 columns
            f = 6 * depth
            if depth == 0 or frames[f + FR_INITOBJ] >= 0:
                break  # the entry frame's return or __init__'s: run does them
            steps += 1
            st[ST_IT_TOP] = frames[f + FR_ITERTOP]
            rs = frames[f + FR_RETSP]
            vals[2 * rs] = vals[2 * sp - 2]
            vals[2 * rs + 1] = vals[2 * sp - 1]
            sp = rs + 1
            st[ST_DEPTH] = depth - 1
            base = frames[f - 6 + FR_BASE]
            pc = frames[f - 6 + FR_PC]
        # ------------------------------------------------------------ specialized instructions: guard, then hit
        elif op == LOAD_GLOBAL_BUILTIN or op == LOAD_GLOBAL_MODULE:
            # the hottest specialized instruction gets its own straight line: guard the keys version(s), then an
            # indexed load from the dict's entries (row 0 of dhdr: globals, row 1: builtins)
            c = INSN_COLS * pc + I_CACHE
            if dhdr[D_VERSION] != ins[c + 2]:
                break
            if op == LOAD_GLOBAL_BUILTIN and dhdr[4 + D_VERSION] != ins[c + 3]:
                break
            s = 4 * ins[c + 1]  # the entry's row in dent
            vals[2 * sp] = dent[s + E_TAG]
            vals[2 * sp + 1] = dent[s + E_VAL]
            sp += 1
            steps += 1
            lg_hits += 1
            if ins[c] < sat_budget:
                ins[c] += 1
            pc += 1
        elif op == LOAD_ATTR_INSTANCE_VALUE or op == STORE_ATTR_INSTANCE_VALUE:
            o = vals[2 * sp - 1]
            c = INSN_COLS * pc + I_CACHE
            if vals[2 * sp - 2] != T_OBJ or ptr(mem, lay, R_CHDR)[5 * ptr(mem, lay, R_OCLS)[o] + C_VERSION] != ins[c + 2]:
                break
            attr = ptr(mem, lay, R_ATTR)  # 2 columns
            s = 2 * (o * params[P_ATTRS] + ins[c + 1])
            if op == STORE_ATTR_INSTANCE_VALUE:
                attr[s] = vals[2 * sp - 4]
                attr[s + 1] = vals[2 * sp - 3]
                sp -= 2
                hit = FAM_STORE_ATTR
            else:
                if attr[s] == T_NULL:
                    break
                vals[2 * sp - 2] = attr[s]
                vals[2 * sp - 1] = attr[s + 1]
                hit = FAM_LOAD_ATTR
        elif op == LOAD_ATTR_CLASS:
            chdr = ptr(mem, lay, R_CHDR)  # 5 columns
            c = vals[2 * sp - 1]
            ic = INSN_COLS * pc + I_CACHE
            if vals[2 * sp - 2] != T_CLASS or c != ins[ic + 3] or chdr[5 * c + C_VERSION] != ins[ic + 2]:
                break
            s = 4 * ins[ic + 1]
            vals[2 * sp - 2] = dent[s + E_TAG]
            vals[2 * sp - 1] = dent[s + E_VAL]
            hit = FAM_LOAD_ATTR
        elif op == BINARY_OP_ADD_INT or op == BINARY_OP_SUBTRACT_INT or op == BINARY_OP_MULTIPLY_INT:
            if vals[2 * sp - 4] != T_INT or vals[2 * sp - 2] != T_INT:
                break
            a = vals[2 * sp - 3]
            b = vals[2 * sp - 1]
            if op == BINARY_OP_ADD_INT:
                ovf = add_ovf(a, b)
                r = a + b
            elif op == BINARY_OP_SUBTRACT_INT:
                ovf = sub_ovf(a, b)
                r = a - b
            else:
                ovf, r = int_mul(a, b)
            if ovf:
                steps += 1
                err = E_OVERFLOW
                break
            sp -= 1
            vals[2 * sp - 1] = r
            hit = FAM_BINARY_OP
        elif op == BINARY_OP_ADD_FLOAT or op == BINARY_OP_SUBTRACT_FLOAT or op == BINARY_OP_MULTIPLY_FLOAT:
            if vals[2 * sp - 4] != T_FLOAT or vals[2 * sp - 2] != T_FLOAT:
                break
            x = as_float(vals[2 * sp - 3])
            y = as_float(vals[2 * sp - 1])
            if op == BINARY_OP_ADD_FLOAT:
                z = x + y
            elif op == BINARY_OP_SUBTRACT_FLOAT:
                z = x - y
            else:
                z = x * y
            sp -= 1
            vals[2 * sp - 1] = as_bits(z)
            hit = FAM_BINARY_OP
        elif op == COMPARE_OP_INT or op == COMPARE_OP_FLOAT:
            want = T_INT if op == COMPARE_OP_INT else T_FLOAT
            if vals[2 * sp - 4] != want or vals[2 * sp - 2] != want:
                break
            a = vals[2 * sp - 3]
            b = vals[2 * sp - 1]
            if op == COMPARE_OP_INT:
                if a <= -COMPACT or a >= COMPACT or b <= -COMPACT or b >= COMPACT:
                    break  # DEOPT_IF(!_PyLong_IsCompact(...))
                c = -1 if a < b else (1 if a > b else 0)
            else:
                x = as_float(a)
                y = as_float(b)
                c = 2 if (x != x or y != y) else (-1 if x < y else (1 if x > y else 0))
            sp -= 1
            vals[2 * sp - 2] = T_BOOL
            vals[2 * sp - 1] = 1 if cmp_result(c, ins[INSN_COLS * pc + I_ARG]) else 0
            hit = FAM_COMPARE_OP
        elif op == BINARY_SUBSCR_LIST_INT or op == BINARY_SUBSCR_TUPLE_INT or op == STORE_SUBSCR_LIST_INT:
            lhdr = ptr(mem, lay, R_LHDR)  # 3 columns
            lid = vals[2 * sp - 3]
            idx = vals[2 * sp - 1]
            want = T_TUPLE if op == BINARY_SUBSCR_TUPLE_INT else T_LIST
            if vals[2 * sp - 4] != want or vals[2 * sp - 2] != T_INT or idx < 0 or idx >= lhdr[3 * lid + L_LEN]:
                break
            elem = ptr(mem, lay, R_ELEM)  # 2 columns
            s = 2 * (lhdr[3 * lid + L_OFF] + idx)
            if op == STORE_SUBSCR_LIST_INT:
                elem[s] = vals[2 * sp - 6]
                elem[s + 1] = vals[2 * sp - 5]
                sp -= 3
                hit = FAM_STORE_SUBSCR
            else:
                sp -= 1
                vals[2 * sp - 2] = elem[s]
                vals[2 * sp - 1] = elem[s + 1]
                hit = FAM_BINARY_SUBSCR
        elif op == FOR_ITER_RANGE or op == FOR_ITER_LIST or op == FOR_ITER_TUPLE:
            if vals[2 * sp - 2] != (T_RANGE_ITER if op == FOR_ITER_RANGE else (
                    T_LIST_ITER if op == FOR_ITER_LIST else T_TUPLE_ITER)):
                break
            it = ptr(mem, lay, R_IT)  # 3 columns
            j = 3 * vals[2 * sp - 1]
            more = False
            if op == FOR_ITER_RANGE:
                cur = it[j]
                step = it[j + 2]
                more = cur < it[j + 1] if step > 0 else cur > it[j + 1]
                if more:
                    it[j] = cur + step
                    vals[2 * sp] = T_INT
                    vals[2 * sp + 1] = cur
            else:
                lhdr = ptr(mem, lay, R_LHDR)
                lid = it[j]
                idx = it[j + 1]
                if idx < lhdr[3 * lid + L_LEN]:
                    more = True
                    s = 2 * (lhdr[3 * lid + L_OFF] + idx)
                    it[j + 1] = idx + 1
                    elem = ptr(mem, lay, R_ELEM)
                    vals[2 * sp] = elem[s]
                    vals[2 * sp + 1] = elem[s + 1]
            steps += 1
            stats[NUM_STATS * FAM_FOR_ITER + STAT_HIT] += 1  # (never refills a saturating counter)
            if more:
                sp += 1
                pc += 1
            else:
                sp -= 1
                if vals[2 * sp + 1] == st[ST_IT_TOP] - 1:
                    st[ST_IT_TOP] -= 1
                pc = ins[INSN_COLS * pc + I_ARG]
        elif op == CALL_PY_EXACT_ARGS or op == CALL_LEN or op == CALL_BUILTIN_O:
            n = ins[INSN_COLS * pc + I_ARG]
            fpos = sp - n - 1 if vals[2 * (sp - n - 2)] == T_NULL else sp - n - 2
            argc = sp - fpos - 1
            ft = vals[2 * fpos]
            fid = vals[2 * fpos + 1]
            at = vals[2 * sp - 2]
            av = vals[2 * sp - 1]
            if op == CALL_PY_EXACT_ARGS:
                c = INSN_COLS * pc + I_CACHE
                if ft != T_FUNC or fid != ins[c + 1] or argc != ins[c + 2]:
                    break
                # push a frame: the arguments become the callee's first locals, in place
                steps += 1
                fn = ptr(mem, lay, R_FN)  # 6 columns
                depth = st[ST_DEPTH]
                nbase = sp - argc
                nl = fn[6 * fid + FN_NLOCALS]
                if depth + 1 >= params[P_DEPTH_LIMIT] or depth + 1 >= lay[R_FRAMES, 1] or \
                        nbase + nl + fn[6 * fid + FN_STACK] > lay[R_VALS, 1]:
                    err = E_RECURSION
                    break
                for k in range(argc, nl):
                    vals[2 * (nbase + k)] = T_NULL
                frames = ptr(mem, lay, R_FRAMES)
                frames[6 * depth + FR_PC] = pc + 1
                f = 6 * (depth + 1)
                frames[f + FR_FUNC] = fid
                frames[f + FR_BASE] = nbase
                frames[f + FR_RETSP] = sp - n - 2
                frames[f + FR_INITOBJ] = -1
                frames[f + FR_ITERTOP] = st[ST_IT_TOP]
                st[ST_DEPTH] = depth + 1
                stats[NUM_STATS * FAM_CALL + STAT_HIT] += 1
                if ins[INSN_COLS * pc + I_CACHE] < sat_budget:
                    ins[INSN_COLS * pc + I_CACHE] += 1
                base = nbase
                sp = nbase + nl
                pc = fn[6 * fid + FN_ENTRY]
                if steps > params[P_STEP_LIMIT]:
                    err = E_STEPS
                    break
            else:
                if ft != T_BUILTIN or argc != 1:
                    break
                if op == CALL_LEN:
                    if fid != B_LEN:
                        break
                    if at == T_STR:
                        r = ptr(mem, lay, R_SHDR)[3 * av + S_LEN]
                    elif at == T_LIST or at == T_TUPLE:
                        r = ptr(mem, lay, R_LHDR)[3 * av + L_LEN]
                    else:
                        break
                    rt = T_INT
                else:  # CALL_BUILTIN_O: abs (the METH_O builtin of the subset besides len) of one argument
                    if fid != ins[INSN_COLS * pc + I_CACHE + 1]:
                        break
                    isint = at == T_INT or at == T_BOOL
                    if fid == B_ABS and isint:
                        if av == I64MIN:
                            steps += 1
                            err = E_OVERFLOW
                            break
                        rt = T_INT
                        r = av if av >= 0 else -av
                    elif fid == B_ABS and at == T_FLOAT:
                        rt = T_FLOAT
                        r = as_bits(abs(as_float(av)))
                    else:
                        break
                sp = sp - n - 1
                vals[2 * sp - 2] = rt
                vals[2 * sp - 1] = r
                hit = FAM_CALL
        else:
            break  # an instruction run does
        if hit >= 0:
            # the bookkeeping of a hit (stats[f, EXEC] is added up from the hits at the end of the run)
            steps += 1
            stats[NUM_STATS * hit + STAT_HIT] += 1
            if ins[INSN_COLS * pc + I_CACHE] < sat_budget:
                ins[INSN_COLS * pc + I_CACHE] += 1
            pc += 1
    stats[NUM_STATS * FAM_LOAD_GLOBAL + STAT_HIT] += lg_hits
    if err != 0:
        status = ptr(mem, lay, R_STATUS)
        status[0] = err
        status[1] = pc
        if err == E_UNBOUND:
            status[2] = ins[INSN_COLS * pc + I_ARG]
    st[ST_PC] = pc
    st[ST_SP] = sp
    st[ST_BASE] = base
    st[ST_STEPS] = steps
    return np.int64(1) if err != 0 else NO


# ============================================================================ the full loop

def _warm_run():
    from lwnlab.interp.machine import warmup_args

    return warmup_args()


@jit(warmup=_warm_run, _nrt=False)
def run(mem, lay):
    """Run the module body (call -1), then the function once per row of the call arguments.

    The loop executes every instruction, but hands runs of hot ones to :func:`fast` (see FAST_KIND): a specialized
    instruction always goes there first, so here it is a miss (except the three that allocate or loop)."""
    code = column(mem, lay, R_INSN, I_OP)
    oparg = column(mem, lay, R_INSN, I_ARG)
    cache = columns(mem, lay, R_INSN, I_CACHE, CACHE_COLS)
    fn = view2(mem, lay, R_FN)
    consts = view2(mem, lay, R_CONST)
    names = view1(mem, lay, R_NAMES)
    sdata = view1(mem, lay, R_SDATA)
    shdr = view2(mem, lay, R_SHDR)
    lhdr = view2(mem, lay, R_LHDR)
    elem = view2(mem, lay, R_ELEM)
    rng = view2(mem, lay, R_RNG)
    it = view2(mem, lay, R_IT)
    dhdr = view2(mem, lay, R_DHDR)
    dent = view2(mem, lay, R_DENT)
    vals = view2(mem, lay, R_VALS)
    frames = view2(mem, lay, R_FRAMES)
    params = view1(mem, lay, R_PARAMS)
    state = view1(mem, lay, R_STATE)
    stats = view2(mem, lay, R_STATS)
    samples = view2(mem, lay, R_SAMPLES)
    status = view1(mem, lay, R_STATUS)
    mode = params[P_MODE]
    sat_on = params[P_SATURATING] != 0 and mode == 1
    budget = params[P_MISS_BUDGET]
    intern = params[P_INTERN]
    step_limit = params[P_STEP_LIMIT]
    sample_every = params[P_SAMPLE_EVERY]
    scap = vals.shape[0]
    ncode = code.shape[0]
    ncalls = state[ST_NCALLS]
    nargs = state[ST_NARGS]
    steps = state[ST_STEPS]
    it_top = NO
    next_sample = sample_every

    for callno in range(-1, ncalls):
        state[ST_CALL] = callno
        # ---------------------------------------------------------------- set up the entry frame
        f = NO if callno < 0 else state[ST_CALL_FUNC]
        nl = fn[f, FN_NLOCALS]
        if nl + fn[f, FN_STACK] > scap:
            fail(status, E_STACK, NO, NO, NO, NO)
            return
        for k in range(nl):
            vals[k, TAG] = T_NULL
        if callno >= 0:
            if nargs != fn[f, FN_NPARAMS]:
                fail(status, E_ARGCOUNT, fn[f, FN_ENTRY], fn[f, FN_NPARAMS], nargs, NO)
                return
            args = view2(mem, lay, R_ARGS)
            for k in range(nargs):
                vals[k, TAG] = args[callno * nargs + k, TAG]
                vals[k, VAL] = args[callno * nargs + k, VAL]
        sp = nl
        pc = fn[f, FN_ENTRY]
        base = NO
        depth = NO
        frames[0, FR_FUNC] = f
        frames[0, FR_BASE] = 0
        frames[0, FR_RETSP] = 0
        frames[0, FR_INITOBJ] = -1
        frames[0, FR_ITERTOP] = it_top
        while True:
            op = code[pc]
            fk = FAST_KIND[op]
            if fk == 2 or (fk == 1 and pc + 3 < ncode and FAST_KIND[code[pc + 1]] != 0 and
                           FAST_KIND[code[pc + 2]] != 0 and FAST_KIND[code[pc + 3]] != 0):
                # hand the hot instructions from here on to the leaf loop (a run of at least four, or a
                # specialized one); it returns at the first instruction it does not do (or a miss)
                state[ST_PC] = pc
                state[ST_SP] = sp
                state[ST_BASE] = base
                state[ST_DEPTH] = depth
                state[ST_IT_TOP] = it_top
                state[ST_STEPS] = steps
                state[ST_NEXT_SAMPLE] = next_sample
                if fast(mem, lay) != 0:
                    return
                pc = state[ST_PC]
                sp = state[ST_SP]
                base = state[ST_BASE]
                depth = state[ST_DEPTH]
                it_top = state[ST_IT_TOP]
                steps = state[ST_STEPS]
                next_sample = state[ST_NEXT_SAMPLE]
                op = code[pc]
            steps += 1
            # ================================================================ 1. plain instructions
            if op == LOAD_FAST:
                s = base + oparg[pc]
                if vals[s, TAG] == T_NULL:
                    stop(state, status, steps, E_UNBOUND, pc, oparg[pc], NO, NO)
                    return
                vals[sp, TAG] = vals[s, TAG]
                vals[sp, VAL] = vals[s, VAL]
                sp += 1
                pc += 1
                continue
            if op == STORE_FAST:
                sp -= 1
                s = base + oparg[pc]
                vals[s, TAG] = vals[sp, TAG]
                vals[s, VAL] = vals[sp, VAL]
                pc += 1
                continue
            if op == LOAD_CONST:
                k = oparg[pc]
                vals[sp, TAG] = consts[k, TAG]
                vals[sp, VAL] = consts[k, VAL]
                sp += 1
                pc += 1
                continue
            if LOAD_FAST__LOAD_FAST <= op <= LOAD_CONST__LOAD_FAST:  # superinstructions: two halves, one dispatch
                for half in range(2):
                    kind = LOAD_FAST
                    if half == 0:
                        if op == STORE_FAST__LOAD_FAST or op == STORE_FAST__STORE_FAST:
                            kind = STORE_FAST
                        elif op == LOAD_CONST__LOAD_FAST:
                            kind = LOAD_CONST
                    elif op == LOAD_FAST__LOAD_CONST:
                        kind = LOAD_CONST
                    elif op == STORE_FAST__STORE_FAST:
                        kind = STORE_FAST
                    a = oparg[pc + half]
                    if kind == STORE_FAST:
                        sp -= 1
                        vals[base + a, TAG] = vals[sp, TAG]
                        vals[base + a, VAL] = vals[sp, VAL]
                        continue
                    src = consts if kind == LOAD_CONST else vals
                    k = a if kind == LOAD_CONST else base + a
                    if src[k, TAG] == T_NULL:
                        stop(state, status, steps, E_UNBOUND, pc + half, a, NO, NO)
                        return
                    vals[sp, TAG] = src[k, TAG]
                    vals[sp, VAL] = src[k, VAL]
                    sp += 1
                pc += 2
                continue
            if op == POP_TOP:
                sp -= 1
                t = vals[sp, TAG]
                if (t == T_RANGE_ITER or t == T_LIST_ITER or t == T_TUPLE_ITER) and vals[sp, VAL] == it_top - 1:
                    it_top -= 1
                pc += 1
                continue
            if op == PUSH_NULL:
                vals[sp, TAG] = T_NULL
                vals[sp, VAL] = 0
                sp += 1
                pc += 1
                continue
            if op == COPY or op == SWAP:
                s = sp - oparg[pc]
                t = vals[s, TAG]
                v = vals[s, VAL]
                if op == COPY:
                    sp += 1
                else:
                    vals[s, TAG] = vals[sp - 1, TAG]
                    vals[s, VAL] = vals[sp - 1, VAL]
                vals[sp - 1, TAG] = t
                vals[sp - 1, VAL] = v
                pc += 1
                continue
            if op == NOP or op == RESUME_QUICK:
                pc += 1
                continue
            if op == JUMP_FORWARD:
                pc = oparg[pc]
                continue
            if op == JUMP_BACKWARD or op == JUMP_BACKWARD_QUICK or op == RESUME:
                if op != JUMP_BACKWARD_QUICK and mode == 1:
                    # 3.11: RESUME and JUMP_BACKWARD count toward the code object's warmup, then it is quickened
                    cur = frames[depth, FR_FUNC]
                    co_warm = view1(mem, lay, R_CO_WARM)
                    co_warm[cur] += 1
                    if co_warm[cur] == params[P_WARMUP]:
                        state[ST_STEPS] = steps
                        quicken(mem, lay, fn[cur, FN_ENTRY], fn[cur, FN_END])
                if op == RESUME:
                    pc += 1
                    continue
                pc = oparg[pc]
                if steps > step_limit:
                    stop(state, status, steps, E_STEPS, pc, NO, NO, NO)
                    return
                if steps >= next_sample:
                    n = state[ST_SAMPLES_N]
                    if n < samples.shape[0]:
                        samples[n, 0] = steps
                        samples[n, 1] = stats[:, STAT_HIT].sum()
                        samples[n, 2] = stats[:, STAT_MISS].sum()
                        samples[n, 3] = callno
                        state[ST_SAMPLES_N] = n + 1
                    next_sample = steps + sample_every
                continue
            if op == POP_JUMP_IF_FALSE or op == POP_JUMP_IF_TRUE or op == JUMP_IF_FALSE_OR_POP or \
                    op == JUMP_IF_TRUE_OR_POP or op == UNARY_NOT:
                t = vals[sp - 1, TAG]
                tv = vals[sp - 1, VAL] != 0 if t == T_BOOL else truthy(t, vals[sp - 1, VAL], shdr, lhdr, rng)
                if op == UNARY_NOT:
                    vals[sp - 1, TAG] = T_BOOL
                    vals[sp - 1, VAL] = 0 if tv else 1
                    pc += 1
                elif op == JUMP_IF_FALSE_OR_POP or op == JUMP_IF_TRUE_OR_POP:
                    if tv == (op == JUMP_IF_TRUE_OR_POP):
                        pc = oparg[pc]
                    else:
                        sp -= 1
                        pc += 1
                else:
                    sp -= 1
                    if tv == (op == POP_JUMP_IF_TRUE):
                        tgt = oparg[pc]
                        if tgt <= pc and steps > step_limit:
                            stop(state, status, steps, E_STEPS, pc, NO, NO, NO)
                            return
                        pc = tgt
                    else:
                        pc += 1
                continue
            if op == RETURN_VALUE:
                rt = vals[sp - 1, TAG]
                rv = vals[sp - 1, VAL]
                io = frames[depth, FR_INITOBJ]
                if io >= 0:
                    if rt != T_NONE:
                        stop(state, status, steps, E_INIT_RETURN, pc, rt, NO, NO)
                        return
                    rt = T_OBJ
                    rv = io
                it_top = frames[depth, FR_ITERTOP]
                if depth == 0:
                    if callno >= 0:
                        result = view2(mem, lay, R_RESULT)
                        result[callno, TAG] = rt
                        result[callno, VAL] = rv
                    break
                rs = frames[depth, FR_RETSP]
                depth -= 1
                vals[rs, TAG] = rt
                vals[rs, VAL] = rv
                sp = rs + 1
                base = frames[depth, FR_BASE]
                pc = frames[depth, FR_PC]
                continue

            # ================================================================ 2. family instructions
            fam = FAMILY_OF[op]
            if fam >= 0:
                from_miss = False
                if OP_KIND[op] == 2:
                    # a specialized instruction here: one of the three run does itself, or fast's guard failed
                    hit = False
                    if op == BINARY_OP_ADD_UNICODE:
                        if vals[sp - 2, TAG] == T_STR and vals[sp - 1, TAG] == T_STR:
                            r = str_concat(sdata, shdr, state, vals[sp - 2, VAL], vals[sp - 1, VAL], np.int64(1))
                            if r < 0:
                                stop(state, status, steps, E_HEAP, pc, NO, NO, NO)
                                return
                            sp -= 1
                            vals[sp - 1, VAL] = r
                            hit = True
                    elif op == COMPARE_OP_STR:
                        if vals[sp - 2, TAG] == T_STR and vals[sp - 1, TAG] == T_STR:
                            c = NO if str_eq(sdata, shdr, vals[sp - 2, VAL], vals[sp - 1, VAL]) else np.int64(1)
                            sp -= 1
                            vals[sp - 1, TAG] = T_BOOL
                            vals[sp - 1, VAL] = 1 if cmp_result(c, oparg[pc]) else 0
                            hit = True
                    elif op == CALL_LIST_APPEND:
                        n = oparg[pc]
                        fpos = sp - n - 1 if vals[sp - n - 2, TAG] == T_NULL else sp - n - 2
                        if vals[fpos, TAG] == T_BUILTIN and vals[fpos, VAL] == B_LIST_APPEND and fpos == sp - 3 and \
                                vals[sp - 2, TAG] == T_LIST:
                            if not list_append(lhdr, elem, state, vals[sp - 2, VAL], vals[sp - 1, TAG],
                                               vals[sp - 1, VAL]):
                                stop(state, status, steps, E_HEAP, pc, np.int64(1), NO, NO)
                                return
                            sp = sp - n - 1
                            vals[sp - 1, TAG] = T_NONE
                            hit = True
                    elif fam == FAM_CALL:  # the builtin calls guarded by identity (and argument count)
                        n = oparg[pc]
                        fpos = sp - n - 1 if vals[sp - n - 2, TAG] == T_NULL else sp - n - 2
                        argc = sp - fpos - 1
                        if vals[fpos, TAG] == T_BUILTIN and vals[fpos, VAL] == cache[pc, 1] and \
                                (cache[pc, 2] < 0 or argc == cache[pc, 2]):
                            bad, rt, rv = call_builtin(mem, lay, vals[fpos, VAL], argc, sp - argc)
                            if bad != E_OK:
                                stop(state, status, steps, bad, pc, 100 + vals[fpos, VAL], argc,
                                     vals[sp - argc, TAG] if argc > 0 else T_NULL)
                                return
                            sp = sp - n - 1
                            vals[sp - 1, TAG] = rt
                            vals[sp - 1, VAL] = rv
                            hit = True
                    if hit:
                        stats[fam, STAT_HIT] += 1
                        if sat_on and cache[pc, 0] < budget:
                            cache[pc, 0] += 1
                        pc += 1
                        continue
                    # the miss: 3.11 counts it down (deopting at zero); either way the base form runs now
                    stats[fam, STAT_EXEC] += 1
                    stats[fam, STAT_MISS] += 1
                    if mode == 1:
                        state[ST_STEPS] = steps
                        miss311(mem, lay, pc, fam)
                    op = FAMILY_BASE[fam]
                    from_miss = True
                else:
                    stats[fam, STAT_EXEC] += 1
                # the adaptive prologue: count down, or specialize and dispatch the new form at once
                if adapt(cache, pc, op == FAMILY_ADAPTIVE[fam], mode, from_miss, stats, fam):
                    state[ST_STEPS] = steps
                    specialize(mem, lay, fam, pc, sp, from_miss)
                    stats[fam, STAT_EXEC] -= 1
                    steps -= 1
                    continue
                op = FAMILY_BASE[fam]

            # ================================================================ 3. generic paths
            if op == LOAD_GLOBAL:
                # hash the name (cached or not), probe globals, then builtins
                sid = names[oparg[pc]]
                h = name_hash(sdata, shdr, sid, params[P_HASH_CACHED])
                found, slot = dict_probe(dhdr, dent, NO, sid, h, sdata, shdr, intern)
                t = NO
                if not found:
                    t = np.int64(1)
                    found, slot = dict_probe(dhdr, dent, t, sid, h, sdata, shdr, intern)
                if not found:
                    stop(state, status, steps, E_NAME, pc, sid, NO, NO)
                    return
                s = dhdr[t, D_OFF] + slot
                vals[sp, TAG] = dent[s, E_TAG]
                vals[sp, VAL] = dent[s, E_VAL]
                sp += 1
                pc += 1
                continue
            if op == BINARY_OP or op == COMPARE_OP:
                ta = vals[sp - 2, TAG]
                tb = vals[sp - 1, TAG]
                pa = vals[sp - 2, VAL]
                pb = vals[sp - 1, VAL]
                a = oparg[pc]
                nums = (ta == T_INT or ta == T_FLOAT or ta == T_BOOL) and (tb == T_INT or tb == T_FLOAT or tb == T_BOOL)
                if op == BINARY_OP:
                    if nums:
                        err, rt, rv = binop_num(a, ta, pa, tb, pb)
                        if err != E_OK:
                            stop(state, status, steps, err, pc, rv, ta, tb)
                            return
                        sp -= 1
                        vals[sp - 1, TAG] = rt
                        vals[sp - 1, VAL] = rv
                    else:
                        sp = binary_seq(mem, lay, pc, sp)
                        if sp < 0:
                            state[ST_STEPS] = steps
                            return
                    pc += 1
                    continue
                if nums:
                    res = cmp_result(num_cmp(ta, pa, tb, pb), a)
                elif ta == T_STR and tb == T_STR:
                    res = cmp_result(str_cmp(sdata, shdr, pa, pb), a)
                elif a == CMP_EQ or a == CMP_NE:
                    eq = False
                    if (ta == T_LIST and tb == T_LIST) or (ta == T_TUPLE and tb == T_TUPLE):
                        e = seq_eq(lhdr, elem, sdata, shdr, pa, pb)
                        if e < 0:
                            stop(state, status, steps, E_UNSUPPORTED, pc, np.int64(4), NO, NO)
                            return
                        eq = e == 1
                    elif ta == tb:
                        eq = ta == T_NONE or pa == pb
                    res = eq if a == CMP_EQ else not eq
                else:
                    stop(state, status, steps, E_TYPE, pc, np.int64(2), ta, tb)
                    return
                sp -= 1
                vals[sp - 1, TAG] = T_BOOL
                vals[sp - 1, VAL] = 1 if res else 0
                pc += 1
                continue
            if op == FOR_ITER:
                t = vals[sp - 1, TAG]
                j = vals[sp - 1, VAL]
                more = False
                if t == T_RANGE_ITER:
                    cur = it[j, 0]
                    step = it[j, 2]
                    more = cur < it[j, 1] if step > 0 else cur > it[j, 1]
                    if more:
                        it[j, 0] = cur + step
                        vals[sp, TAG] = T_INT
                        vals[sp, VAL] = cur
                elif t == T_LIST_ITER or t == T_TUPLE_ITER:
                    lid = it[j, 0]
                    idx = it[j, 1]
                    if idx < lhdr[lid, L_LEN]:
                        more = True
                        s = lhdr[lid, L_OFF] + idx
                        it[j, 1] = idx + 1
                        vals[sp, TAG] = elem[s, TAG]
                        vals[sp, VAL] = elem[s, VAL]
                if more:
                    sp += 1
                    pc += 1
                else:
                    sp -= 1
                    if j == it_top - 1:
                        it_top -= 1
                    pc = oparg[pc]
                continue
            if op == GET_ITER:
                t = vals[sp - 1, TAG]
                if it_top >= it.shape[0]:
                    stop(state, status, steps, E_HEAP, pc, np.int64(3), NO, NO)
                    return
                if t == T_RANGE:
                    rr = vals[sp - 1, VAL]
                    it[it_top, 0] = rng[rr, 0]
                    it[it_top, 1] = rng[rr, 1]
                    it[it_top, 2] = rng[rr, 2]
                    vals[sp - 1, TAG] = T_RANGE_ITER
                elif t == T_LIST or t == T_TUPLE:
                    it[it_top, 0] = vals[sp - 1, VAL]
                    it[it_top, 1] = 0
                    it[it_top, 2] = 0
                    vals[sp - 1, TAG] = T_LIST_ITER if t == T_LIST else T_TUPLE_ITER
                else:
                    stop(state, status, steps, E_NOT_ITERABLE, pc, t, NO, NO)
                    return
                vals[sp - 1, VAL] = it_top
                it_top += 1
                pc += 1
                continue
            if op == CALL:
                n = oparg[pc]
                fpos = sp - n - 1 if vals[sp - n - 2, TAG] == T_NULL else sp - n - 2
                argc = sp - fpos - 1
                ft = vals[fpos, TAG]
                fid = vals[fpos, VAL]
                argpos = sp - argc
                if ft == T_FUNC or ft == T_CLASS:
                    io = NONE
                    if ft == T_CLASS:
                        o, init = new_instance(mem, lay, fid)
                        if o < 0:
                            stop(state, status, steps, E_HEAP, pc, np.int64(4), NO, NO)
                            return
                        if init < 0:
                            if argc != 0:
                                stop(state, status, steps, E_ARGCOUNT, pc, NO, argc, fid)
                                return
                            sp = sp - n - 1
                            vals[sp - 1, TAG] = T_OBJ
                            vals[sp - 1, VAL] = o
                            pc += 1
                            continue
                        # __init__(self, *args): self goes where the class was, just below the arguments
                        fid = init
                        argpos -= 1
                        argc += 1
                        vals[argpos, TAG] = T_OBJ
                        vals[argpos, VAL] = o
                        io = o
                    if argc != fn[fid, FN_NPARAMS]:
                        stop(state, status, steps, E_ARGCOUNT, pc, fn[fid, FN_NPARAMS], argc, -1 - fid)
                        return
                    nl = fn[fid, FN_NLOCALS]
                    if depth + 1 >= params[P_DEPTH_LIMIT] or depth + 1 >= frames.shape[0] or \
                            argpos + nl + fn[fid, FN_STACK] > scap:
                        stop(state, status, steps, E_RECURSION, pc, NO, NO, NO)
                        return
                    for k in range(argc, nl):
                        vals[argpos + k, TAG] = T_NULL
                    frames[depth, FR_PC] = pc + 1
                    depth += 1
                    frames[depth, FR_FUNC] = fid
                    frames[depth, FR_BASE] = argpos
                    frames[depth, FR_RETSP] = sp - n - 2
                    frames[depth, FR_INITOBJ] = io
                    frames[depth, FR_ITERTOP] = it_top
                    base = argpos
                    sp = argpos + nl
                    pc = fn[fid, FN_ENTRY]
                    if steps > step_limit:
                        stop(state, status, steps, E_STEPS, pc, NO, NO, NO)
                        return
                    continue
                if ft != T_BUILTIN:
                    stop(state, status, steps, E_NOT_CALLABLE, pc, ft, NO, NO)
                    return
                bad, rt, rv = call_builtin(mem, lay, fid, argc, argpos)
                if bad != E_OK:
                    stop(state, status, steps, bad, pc, 100 + fid, argc, vals[argpos, TAG] if argc > 0 else T_NULL)
                    return
                sp = sp - n - 1
                vals[sp - 1, TAG] = rt
                vals[sp - 1, VAL] = rv
                pc += 1
                continue
            if op == IS_OP:
                ta = vals[sp - 2, TAG]
                same = ta == vals[sp - 1, TAG] and ta != T_FLOAT and (ta == T_NONE or vals[sp - 2, VAL] == vals[sp - 1, VAL])
                sp -= 1
                vals[sp - 1, TAG] = T_BOOL
                vals[sp - 1, VAL] = 1 if same != (oparg[pc] == 1) else 0
                pc += 1
                continue
            if op == UNARY_NEGATIVE:
                t = vals[sp - 1, TAG]
                if t == T_INT or t == T_BOOL:
                    if vals[sp - 1, VAL] == I64MIN:
                        stop(state, status, steps, E_OVERFLOW, pc, NO, NO, NO)
                        return
                    vals[sp - 1, TAG] = T_INT
                    vals[sp - 1, VAL] = -vals[sp - 1, VAL]
                elif t == T_FLOAT:
                    vals[sp - 1, VAL] = as_bits(-as_float(vals[sp - 1, VAL]))
                else:
                    stop(state, status, steps, E_TYPE, pc, np.int64(3), t, NO)
                    return
                pc += 1
                continue
            if op == MAKE_CLASS:
                vals[sp, TAG] = T_CLASS
                vals[sp, VAL] = oparg[pc]
                sp += 1
                pc += 1
                continue
            # the rest go to helpers, which return the new stack pointer (-1: a fault, already in status)
            if op == LOAD_ATTR or op == LOAD_METHOD:
                sp = load_attr(mem, lay, op, pc, sp)
            elif op == STORE_ATTR:
                sp = store_attr(mem, lay, pc, sp)
            elif op == STORE_GLOBAL:
                sp = store_global(mem, lay, pc, sp)
            elif op == BINARY_SUBSCR or op == STORE_SUBSCR:
                sp = subscr(mem, lay, op, pc, sp)
            elif op == BUILD_LIST or op == BUILD_TUPLE or op == UNPACK_SEQUENCE:
                sp = build_unpack(mem, lay, op, pc, sp)
            else:
                # an opcode the loop does not know: a bug in the table or the compiler
                stop(state, status, steps, E_UNSUPPORTED, pc, np.int64(99), op, NO)
                return
            if sp < 0:
                state[ST_STEPS] = steps
                return
            pc += 1
        # end of one call
        if callno >= 0:
            percall = view2(mem, lay, R_PERCALL)
            percall[callno, 0] = steps
            percall[callno, 1] = stats[:, STAT_HIT].sum()
            percall[callno, 2] = stats[:, STAT_MISS].sum()
    state[ST_STEPS] = steps
    state[ST_HITS] = stats[:, STAT_HIT].sum()
    state[ST_MISSES] = stats[:, STAT_MISS].sum()
    for fam in range(stats.shape[0]):  # hits were not counted as executions on the way (one store less each)
        stats[fam, STAT_EXEC] += stats[fam, STAT_HIT]
    status[0] = E_OK
