"""lwnlab's bytecode VM: one numba loop over an ``if op == ...`` chain (LLVM makes it a switch).

Structure of :func:`run`, top to bottom:

1. fast plain instructions and the *specialized* ones: each specialized
   instruction checks its guards; on a hit it does its work and dispatches the
   next instruction; on a miss it records the miss (3.11: counts the miss
   counter down and deopts to ``*_ADAPTIVE`` at zero) and falls through, with
   ``op`` set to its family's base instruction, into
2. the *base* and *adaptive* instructions: the adaptive prologue (count down,
   or specialize when the counter is zero), then the generic path, which does
   the real work: hash-table probes of globals then builtins, attribute lookup
   through the class dict then the instance's shared keys, dispatch on operand
   types.

Everything the loop needs arrives as arguments (numpy arrays and int64
scalars): policy tunables are ``params``, so moving a widget never recompiles.
Every memory access on behalf of the program is checked (numba does not), and
faults come back as a status row that :mod:`lwnlab.interp.machine` turns
into an :class:`~lwnlab.errors.ExecutionError` naming the line.

int64 semantics: lwnlab's ints are 64-bit; an operation whose exact result
does not fit raises ``OverflowError``-like ExecutionError (never wraps).
"""

from __future__ import annotations

import math

import numpy as np

from lwnlab._jit import jit
from lwnlab.interp import opcodes as _O
from lwnlab.interp import policy as _P

# The digest of the opcode numbering compiled into this module.  numba's cache is keyed on this
# file, so if opcodes.py is renumbered this line must change too (the check below enforces it).
TABLE_DIGEST = "8ef199d343d1aa1d"
if _O.table_digest() != TABLE_DIGEST:  # pragma: no cover - developer guard
    raise ImportError(f"lwnlab.interp.vm: opcode table changed; set TABLE_DIGEST = {_O.table_digest()!r} "
                      "in vm.py (this also invalidates numba's cache)")

# opcode numbers as module constants (numba freezes these: they are the ISA, not tunables)
for _op in _O.TABLE:
    globals()[_op.name] = _op.code
del _op

from lwnlab.interp.objects import (  # noqa: E402
    B_ABS, B_BOOL, B_FLOAT, B_INT, B_ISINSTANCE, B_LEN, B_LIST, B_LIST_APPEND, B_MAX, B_MIN, B_PRINT, B_RANGE,
    B_STR, B_TUPLE, C_DICT, C_KEYS, C_NKEYS, C_VERSION, D_MASK, D_OFF, D_USED, D_VERSION, HASH_MASK, L_CAP,
    L_LEN, L_OFF, S_HASH, S_LEN, S_OFF, T_BOOL, T_BUILTIN, T_CLASS, T_FLOAT, T_FUNC, T_INT, T_LIST, T_LIST_ITER,
    T_NONE, T_NULL, T_OBJ, T_RANGE, T_RANGE_ITER, T_STR, T_TUPLE, T_TUPLE_ITER)

P_MODE, P_WARMUP, P_WARMUP_BACKOFF, P_MISS_BUDGET = _P.P_MODE, _P.P_WARMUP, _P.P_WARMUP_BACKOFF, _P.P_MISS_BUDGET
P_DEOPT_BACKOFF, P_BACKOFF_CAP, P_SATURATING, P_SUPER = _P.P_DEOPT_BACKOFF, _P.P_BACKOFF_CAP, _P.P_SATURATING, _P.P_SUPER
P_HASH_CACHED, P_INTERN, P_MAX_VERSIONS, P_STEP_LIMIT = _P.P_HASH_CACHED, _P.P_INTERN, _P.P_MAX_VERSIONS, _P.P_STEP_LIMIT
P_ATTRS, P_SAMPLE_EVERY, P_SID_APPEND, P_SID_INIT, P_DEPTH_LIMIT = (_P.P_ATTRS, _P.P_SAMPLE_EVERY, _P.P_SID_APPEND,
                                                                     _P.P_SID_INIT, _P.P_DEPTH_LIMIT)
STAT_EXEC, STAT_HIT, STAT_MISS, STAT_DEOPT = _O.STAT_EXEC, _O.STAT_HIT, _O.STAT_MISS, _O.STAT_DEOPT
STAT_SPEC_OK, STAT_SPEC_FAIL, STAT_DEFERRED = _O.STAT_SPEC_OK, _O.STAT_SPEC_FAIL, _O.STAT_DEFERRED
EV_QUICKEN, EV_SPECIALIZE, EV_FAIL, EV_DEOPT, EV_RESPECIALIZE, EV_SUPER = (
    _O.EV_QUICKEN, _O.EV_SPECIALIZE, _O.EV_FAIL, _O.EV_DEOPT, _O.EV_RESPECIALIZE, _O.EV_SUPER)
F_OTHER, F_DISABLED, F_OUT_OF_VERSIONS, F_WRONG_TYPES, F_UNSUPPORTED_OP, F_BOOL, F_STR_ORDER, F_NOT_FOUND = range(8)
F_CLASS_ATTR, F_METHOD, F_NOT_INSTANCE, F_NEG_INDEX, F_NOT_LIST, F_ARGCOUNT, F_BUILTIN_NOT_O, F_CLASS_CALL, \
    F_NOT_ITER = range(8, 17)
FAM_LOAD_GLOBAL, FAM_LOAD_ATTR, FAM_STORE_ATTR, FAM_BINARY_OP, FAM_COMPARE_OP, FAM_BINARY_SUBSCR, \
    FAM_STORE_SUBSCR, FAM_CALL, FAM_FOR_ITER = range(9)
NB_ADD, NB_AND, NB_FLOOR_DIVIDE, NB_LSHIFT, NB_MATMUL, NB_MULTIPLY, NB_REMAINDER, NB_OR, NB_POWER, NB_RSHIFT, \
    NB_SUBTRACT, NB_TRUE_DIVIDE, NB_XOR = range(13)

FAMILY_BASE_OPS = tuple(_O.FAMILY_BASE)
FAMILY_OF_OP = tuple(_O.FAMILY_OF)

# state slots
(ST_STR_TOP, ST_SDATA_TOP, ST_LIST_TOP, ST_ELEM_TOP, ST_OBJ_TOP, ST_RNG_TOP, ST_NEXT_VERSION, ST_PRINT_TOP,
 ST_TL_N, ST_STEPS, ST_SAMPLES_N, ST_TL_DROPPED, ST_CALL, ST_HITS, ST_MISSES) = range(15)
NUM_STATE = 16
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


# ============================================================================ helpers (all njit)

def _w_hash():
    return (np.array([104, 105], np.int64), np.int64(0), np.int64(2))


@jit(warmup=_w_hash, _nrt=False)
def fnv(sdata, off, n):
    """FNV-1a over code points, masked non-negative (twin of objects.str_hash)."""
    h = np.int64(0xCBF29CE484222325 & HASH_MASK)
    for k in range(n):
        h = ((h ^ sdata[off + k]) * np.int64(0x100000001B3)) & HASH_MASK
    return h


@jit(inline="always", _nrt=False)
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


@jit(_nrt=False)
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


@jit(inline="always", _nrt=False)
def dict_probe(dhdr, dkey, dhash, t, sid, h, sdata, shdr, intern):
    """Return (found, slot): the slot holding ``sid``'s name, or the empty slot where it would go."""
    off = dhdr[t, D_OFF]
    mask = dhdr[t, D_MASK]
    i = h & mask
    perturb = h
    while True:
        k = dkey[off + i]
        if k < 0:
            return False, i
        if intern != 0 and k == sid:
            return True, i
        if dhash[off + i] == h and str_eq(sdata, shdr, k, sid):
            return True, i
        perturb >>= 5
        i = (i * 5 + perturb + 1) & mask


@jit(inline="always", _nrt=False)
def name_hash(sdata, shdr, sid, cached):
    if cached != 0:
        return shdr[sid, S_HASH]
    return fnv(sdata, shdr[sid, S_OFF], shdr[sid, S_LEN])


@jit(inline="always", _nrt=False)
def backoff(counter, cap):
    b = (counter & 15) + 1
    if b > cap:
        b = cap
    return (((1 << b) - 1) << 4) | b


@jit(_nrt=False)
def get_version(arr, row, col, state, maxv):
    """CPython's lazy version assignment: 0 means 'none yet'; -1 means out of versions."""
    v = arr[row, col]
    if v != 0:
        return v
    nv = state[ST_NEXT_VERSION]
    if nv > maxv:
        return -1
    state[ST_NEXT_VERSION] = nv + 1
    arr[row, col] = nv
    return nv


@jit(_nrt=False)
def tl_add(timeline, state, call, pc, frm, to, ev, reason, counter):
    n = state[ST_TL_N]
    if n < timeline.shape[0]:
        timeline[n, 0] = state[ST_STEPS]
        timeline[n, 1] = call
        timeline[n, 2] = pc
        timeline[n, 3] = frm
        timeline[n, 4] = to
        timeline[n, 5] = ev
        timeline[n, 6] = reason
        timeline[n, 7] = counter
        state[ST_TL_N] = n + 1
    else:
        state[ST_TL_DROPPED] += 1


@jit(_nrt=False)
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
    fl = math.floor(f)
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


@jit(inline="always", _nrt=False)
def num_cmp(ta, ia, fa, tb, ib, fb):
    """-1/0/1, or 2 for unordered, for two numbers (bool/int/float)."""
    if ta != T_FLOAT and tb != T_FLOAT:
        if ia < ib:
            return -1
        if ia > ib:
            return 1
        return 0
    if ta == T_FLOAT and tb == T_FLOAT:
        if fa != fa or fb != fb:
            return 2
        if fa < fb:
            return -1
        if fa > fb:
            return 1
        return 0
    if ta == T_FLOAT:
        r = cmp_int_float(ib, fa)
        if r == 2:
            return 2
        return -r
    return cmp_int_float(ia, fb)


@jit(inline="always", _nrt=False)
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


@jit(_nrt=False)
def float_floordiv(vx, wx):
    mod = np.fmod(vx, wx)
    div = (vx - mod) / wx
    if mod != 0.0:
        if (wx < 0.0) != (mod < 0.0):
            div -= 1.0
    if div != 0.0:
        fd = math.floor(div)
        if div - fd > 0.5:
            fd += 1.0
    else:
        fd = math.copysign(0.0, vx / wx)
    return fd


@jit(_nrt=False)
def float_mod(vx, wx):
    mod = np.fmod(vx, wx)
    if mod != 0.0:
        if (wx < 0.0) != (mod < 0.0):
            mod += wx
    else:
        mod = math.copysign(0.0, wx)
    return mod


@jit(_nrt=False)
def tdiv(x, y):
    """C's truncating division (numba's // floors like Python's)."""
    q = x // y
    if q < 0 and q * y != x:
        q += 1
    return q


@jit(_nrt=False)
def int_mul(a, b):
    """(overflowed, a*b), checked *before* multiplying (CERT INT32-C; LLVM may fold an after-the-fact check)."""
    if a == 0 or b == 0:
        return False, np.int64(0)
    if a > 0:
        if b > 0:
            if a > tdiv(I64MAX, b):
                return True, np.int64(0)
        elif b < tdiv(I64MIN, a):
            return True, np.int64(0)
    else:
        if b > 0:
            if a < tdiv(I64MIN, b):
                return True, np.int64(0)
        elif b < tdiv(I64MAX, a):
            return True, np.int64(0)
    return False, a * b


@jit(_nrt=False)
def add_ovf(a, b):
    if b > 0:
        return a > I64MAX - b
    return a < I64MIN - b


@jit(_nrt=False)
def sub_ovf(a, b):
    if b < 0:
        return a > I64MAX + b
    return a < I64MIN + b


@jit(_nrt=False)
def binop_num(op, ta, ia, fa, tb, ib, fb):
    """Arithmetic on bool/int/float with Python's semantics: (err, tag, i, f)."""
    if op >= 13:
        op -= 13
    if ta != T_FLOAT and tb != T_FLOAT:
        a = ia
        b = ib
        if op == NB_ADD:
            if add_ovf(a, b):
                return E_OVERFLOW, T_INT, 0, 0.0
            return E_OK, T_INT, a + b, 0.0
        if op == NB_SUBTRACT:
            if sub_ovf(a, b):
                return E_OVERFLOW, T_INT, 0, 0.0
            return E_OK, T_INT, a - b, 0.0
        if op == NB_MULTIPLY:
            ov, r = int_mul(a, b)
            if ov:
                return E_OVERFLOW, T_INT, r, 0.0
            return E_OK, T_INT, r, 0.0
        if op == NB_FLOOR_DIVIDE or op == NB_REMAINDER:
            if b == 0:
                return E_ZERODIV, T_INT, 0, 0.0
            if b == -1:
                if op == NB_REMAINDER:
                    return E_OK, T_INT, 0, 0.0
                if a == I64MIN:
                    return E_OVERFLOW, T_INT, 0, 0.0
                return E_OK, T_INT, -a, 0.0
            q = a // b
            if op == NB_FLOOR_DIVIDE:
                return E_OK, T_INT, q, 0.0
            return E_OK, T_INT, a - q * b, 0.0
        if op == NB_TRUE_DIVIDE:
            if b == 0:
                return E_ZERODIV, T_FLOAT, 0, 0.0
            if a > TWO53 or a < -TWO53 or b > TWO53 or b < -TWO53:
                return E_UNSUPPORTED, T_FLOAT, 1, 0.0
            return E_OK, T_FLOAT, 0, float(a) / float(b)
        if op == NB_POWER:
            if b < 0:
                if a == 0:
                    return E_ZERODIV, T_FLOAT, 1, 0.0
                if a > TWO53 or a < -TWO53:
                    return E_UNSUPPORTED, T_FLOAT, 1, 0.0
                return E_OK, T_FLOAT, 0, math.pow(float(a), float(b))
            res = np.int64(1)
            base = a
            e = b
            while e > 0:
                if e & 1:
                    ov, res = int_mul(res, base)
                    if ov:
                        return E_OVERFLOW, T_INT, 0, 0.0
                e >>= 1
                if e > 0:
                    ov, base = int_mul(base, base)
                    if ov:
                        return E_OVERFLOW, T_INT, 0, 0.0
            return E_OK, T_INT, res, 0.0
        if op == NB_LSHIFT:
            if b < 0:
                return E_VALUE, T_INT, 1, 0.0
            if a == 0:
                return E_OK, T_INT, 0, 0.0
            if b >= 63:
                return E_OVERFLOW, T_INT, 0, 0.0
            lim = np.int64(1) << (63 - b)
            if a >= lim or a < -lim:
                return E_OVERFLOW, T_INT, 0, 0.0
            return E_OK, T_INT, a << b, 0.0
        if op == NB_RSHIFT:
            if b < 0:
                return E_VALUE, T_INT, 1, 0.0
            if b >= 63:
                return E_OK, T_INT, (np.int64(-1) if a < 0 else np.int64(0)), 0.0
            return E_OK, T_INT, a >> b, 0.0
        if op == NB_AND or op == NB_OR or op == NB_XOR:
            if op == NB_AND:
                r = a & b
            elif op == NB_OR:
                r = a | b
            else:
                r = a ^ b
            if ta == T_BOOL and tb == T_BOOL:
                return E_OK, T_BOOL, r, 0.0
            return E_OK, T_INT, r, 0.0
        return E_TYPE, T_INT, 0, 0.0
    # at least one float
    x = fa if ta == T_FLOAT else float(ia)
    y = fb if tb == T_FLOAT else float(ib)
    if op == NB_ADD:
        return E_OK, T_FLOAT, 0, x + y
    if op == NB_SUBTRACT:
        return E_OK, T_FLOAT, 0, x - y
    if op == NB_MULTIPLY:
        return E_OK, T_FLOAT, 0, x * y
    if op == NB_TRUE_DIVIDE:
        if y == 0.0:
            return E_ZERODIV, T_FLOAT, 2, 0.0
        return E_OK, T_FLOAT, 0, x / y
    if op == NB_FLOOR_DIVIDE:
        if y == 0.0:
            return E_ZERODIV, T_FLOAT, 2, 0.0
        return E_OK, T_FLOAT, 0, float_floordiv(x, y)
    if op == NB_REMAINDER:
        if y == 0.0:
            return E_ZERODIV, T_FLOAT, 2, 0.0
        return E_OK, T_FLOAT, 0, float_mod(x, y)
    if op == NB_POWER:
        if y == 0.0:
            return E_OK, T_FLOAT, 0, 1.0
        if x != x:
            return E_OK, T_FLOAT, 0, x
        if x == 0.0 and y < 0.0 and y != -np.inf:
            return E_ZERODIV, T_FLOAT, 3, 0.0
        if x < 0.0 and math.isfinite(y) and math.floor(y) != y:
            return E_UNSUPPORTED, T_FLOAT, 2, 0.0
        r = math.pow(x, y)
        if math.isinf(r) and math.isfinite(x) and math.isfinite(y):
            return E_OVERFLOW, T_FLOAT, 1, 0.0
        return E_OK, T_FLOAT, 0, r
    return E_TYPE, T_FLOAT, 0, 0.0


@jit(inline="always", _nrt=False)
def truthy(t, i, f, shdr, lhdr, rng):
    if t == T_NONE:
        return False
    if t == T_BOOL or t == T_INT:
        return i != 0
    if t == T_FLOAT:
        return f != 0.0
    if t == T_STR:
        return shdr[i, S_LEN] != 0
    if t == T_LIST or t == T_TUPLE:
        return lhdr[i, L_LEN] != 0
    if t == T_RANGE:
        st = rng[i, 2]
        if st > 0:
            return rng[i, 0] < rng[i, 1]
        return rng[i, 0] > rng[i, 1]
    return True


@jit(_nrt=False)
def range_len(start, stop, step):
    if step > 0:
        if start >= stop:
            return 0
        return (stop - start - 1) // step + 1
    if start <= stop:
        return 0
    return (start - stop - 1) // (-step) + 1


@jit(_nrt=False)
def list_grow(lhdr, etag, ei, ef, state, lid):
    """Make room for one more element; False when the element pool is full."""
    n = lhdr[lid, L_LEN]
    cap = lhdr[lid, L_CAP]
    if n < cap:
        return True
    ncap = cap * 2 if cap >= 4 else 4
    top = state[ST_ELEM_TOP]
    if top + ncap > etag.shape[0]:
        return False
    off = lhdr[lid, L_OFF]
    for k in range(n):
        etag[top + k] = etag[off + k]
        ei[top + k] = ei[off + k]
        ef[top + k] = ef[off + k]
    lhdr[lid, L_OFF] = top
    lhdr[lid, L_CAP] = ncap
    state[ST_ELEM_TOP] = top + ncap
    return True


@jit(_nrt=False)
def new_list(lhdr, state, n, etag):
    """Allocate a list/tuple header with room for n elements; -1 when full."""
    lid = state[ST_LIST_TOP]
    cap = n if n > 4 else 4
    top = state[ST_ELEM_TOP]
    if lid >= lhdr.shape[0] or top + cap > etag.shape[0]:
        return -1
    lhdr[lid, L_OFF] = top
    lhdr[lid, L_LEN] = n
    lhdr[lid, L_CAP] = cap
    state[ST_LIST_TOP] = lid + 1
    state[ST_ELEM_TOP] = top + cap
    return lid


@jit(_nrt=False)
def new_str(sdata, shdr, state, n):
    sid = state[ST_STR_TOP]
    top = state[ST_SDATA_TOP]
    if sid >= shdr.shape[0] or top + n > sdata.shape[0]:
        return -1
    shdr[sid, S_OFF] = top
    shdr[sid, S_LEN] = n
    shdr[sid, S_HASH] = -1
    state[ST_STR_TOP] = sid + 1
    state[ST_SDATA_TOP] = top + n
    return sid


@jit(_nrt=False)
def seq_eq(lhdr, etag, ei, ef, sdata, shdr, a, b):
    """== for two lists/tuples of scalars: 1 equal, 0 not, -1 nested containers (unsupported)."""
    if a == b:
        return 1
    n = lhdr[a, L_LEN]
    if n != lhdr[b, L_LEN]:
        return 0
    oa = lhdr[a, L_OFF]
    ob = lhdr[b, L_OFF]
    for k in range(n):
        ta = etag[oa + k]
        tb = etag[ob + k]
        na = ta == T_BOOL or ta == T_INT or ta == T_FLOAT
        nb = tb == T_BOOL or tb == T_INT or tb == T_FLOAT
        if na and nb:
            if num_cmp(ta, ei[oa + k], ef[oa + k], tb, ei[ob + k], ef[ob + k]) != 0:
                return 0
        elif ta == T_STR and tb == T_STR:
            if not str_eq(sdata, shdr, ei[oa + k], ei[ob + k]):
                return 0
        elif ta == T_LIST or ta == T_TUPLE or tb == T_LIST or tb == T_TUPLE:
            if ta == tb and ei[oa + k] == ei[ob + k]:
                continue
            return -1
        elif ta != tb:
            return 0
        elif ta != T_NONE and ei[oa + k] != ei[ob + k]:
            return 0
    return 1


@jit(_nrt=False)
def snapshot(lhdr, etag, ei, ef, state, lid):
    """Deep-copy a list/tuple (for print: later mutation must not change what was printed)."""
    root = state[ST_LIST_TOP]
    n = lhdr[lid, L_LEN]
    c = new_list(lhdr, state, n, etag)
    if c < 0:
        return -1
    so = lhdr[lid, L_OFF]
    do = lhdr[c, L_OFF]
    for k in range(n):
        etag[do + k] = etag[so + k]
        ei[do + k] = ei[so + k]
        ef[do + k] = ef[so + k]
    q = root
    budget = 100000
    while q < state[ST_LIST_TOP]:
        off = lhdr[q, L_OFF]
        for k in range(lhdr[q, L_LEN]):
            t = etag[off + k]
            if t == T_LIST or t == T_TUPLE:
                budget -= 1
                if budget < 0:
                    return -1
                src = ei[off + k]
                m = lhdr[src, L_LEN]
                c2 = new_list(lhdr, state, m, etag)
                if c2 < 0:
                    return -1
                s2 = lhdr[src, L_OFF]
                d2 = lhdr[c2, L_OFF]
                for j in range(m):
                    etag[d2 + j] = etag[s2 + j]
                    ei[d2 + j] = ei[s2 + j]
                    ef[d2 + j] = ef[s2 + j]
                ei[off + k] = c2
        q += 1
    return c


@jit(_nrt=False)
def quicken(code, oparg, cache, lo, hi, params, fam_on, timeline, state, call):
    """CPython 3.11's _PyCode_Quicken over code[lo:hi]: adaptive forms, quick forms, superinstructions."""
    sup = params[P_SUPER]
    prev = -1
    for i in range(lo, hi):
        op = code[i]
        new = -1
        if op == LOAD_GLOBAL:
            new = LOAD_GLOBAL_ADAPTIVE
        elif op == LOAD_ATTR:
            new = LOAD_ATTR_ADAPTIVE
        elif op == STORE_ATTR:
            new = STORE_ATTR_ADAPTIVE
        elif op == BINARY_OP:
            new = BINARY_OP_ADAPTIVE
        elif op == COMPARE_OP:
            new = COMPARE_OP_ADAPTIVE
        elif op == BINARY_SUBSCR:
            new = BINARY_SUBSCR_ADAPTIVE
        elif op == STORE_SUBSCR:
            new = STORE_SUBSCR_ADAPTIVE
        elif op == CALL:
            new = CALL_ADAPTIVE
        elif op == FOR_ITER:
            new = FOR_ITER_ADAPTIVE
        if new >= 0 and fam_on[FAMILY_OF_OP[op]] == 0:
            new = -1  # a switched-off family keeps its base instruction (no adaptive form)
            prev = -1
            continue
        if new >= 0:
            code[i] = new
            cache[i, 0] = 0
            tl_add(timeline, state, call, i, op, new, EV_QUICKEN, 0, 0)
            prev = -1
            continue
        if op == JUMP_BACKWARD:
            code[i] = JUMP_BACKWARD_QUICK
            tl_add(timeline, state, call, i, op, JUMP_BACKWARD_QUICK, EV_QUICKEN, 0, 0)
        elif op == RESUME:
            code[i] = RESUME_QUICK
            tl_add(timeline, state, call, i, op, RESUME_QUICK, EV_QUICKEN, 0, 0)
        elif sup != 0:
            s = -1
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
                tl_add(timeline, state, call, i - 1, code[i - 1], s, EV_SUPER, 0, 0)
                code[i - 1] = s
        prev = op


@jit(_nrt=False)
def spec_done(code, cache, pc, old, new, reason, fam, base, from_miss, params, stats, fails, timeline, state, call):
    """Finish a specialization attempt (CPython's success:/failure: labels)."""
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
        tl_add(timeline, state, call, pc, old, new, EV_RESPECIALIZE if from_miss else EV_SPECIALIZE, 0,
               cache[pc, 0])
    else:
        c = backoff(cache[pc, 0], params[P_BACKOFF_CAP])
        cache[pc, 0] = c
        if mode == 2:
            code[pc] = base
        stats[fam, STAT_SPEC_FAIL] += 1
        fails[fam, reason] += 1
        tl_add(timeline, state, call, pc, old, code[pc], EV_DEOPT if from_miss else EV_FAIL, reason, c)


@jit(_nrt=False)
def miss311(code, cache, pc, adaptive, params, stats, fam, timeline, state, call):
    """3.11's miss: label: count down; at zero back to the adaptive form with adaptive_counter_start()."""
    c = cache[pc, 0] - 1
    if c <= 0:
        old = code[pc]
        code[pc] = adaptive
        b = params[P_DEOPT_BACKOFF]
        cache[pc, 0] = (((1 << b) - 1) << 4) | b
        stats[fam, STAT_DEOPT] += 1
        tl_add(timeline, state, call, pc, old, adaptive, EV_DEOPT, 0, cache[pc, 0])
    else:
        cache[pc, 0] = c


@jit(inline="always", _nrt=False)
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


# ============================================================================ the loop

@jit(_nrt=False)
def call_builtin(fid, argc, argpos, stag, si, sf, sdata, shdr, lhdr, etag, ei, ef, ocls, rng, state,
                 ptag, pi, pf):
    """The builtins: (error, tag, i, f) of the result."""
    rt = T_NONE
    rv = np.int64(0)
    rfv = 0.0
    bad = E_OK
    a0t = stag[argpos] if argc > 0 else T_NULL
    a0 = si[argpos] if argc > 0 else 0
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
            rfv = abs(sf[argpos])
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
            x = sf[argpos]
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
            while k < n and (sdata[o1 + k] == 32 or 9 <= sdata[o1 + k] <= 13):
                k += 1
            e = n
            while e > k and (sdata[o1 + e - 1] == 32 or 9 <= sdata[o1 + e - 1] <= 13):
                e -= 1
            neg = False
            if k < e and (sdata[o1 + k] == 43 or sdata[o1 + k] == 45):
                neg = sdata[o1 + k] == 45
                k += 1
            if k >= e:
                bad = E_VALUE
            acc = np.int64(0)
            while k < e and bad == E_OK:
                d = sdata[o1 + k] - 48
                if d < 0 or d > 9:
                    bad = E_VALUE if sdata[o1 + k] != 95 else E_UNSUPPORTED
                    break
                ov, acc = int_mul(acc, np.int64(10))
                if ov or acc > I64MAX - d:
                    if not (neg and acc == I64MAX - d + 1 - 1 + 1 and False):
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
            rfv = float(a0)
        elif a0t == T_FLOAT:
            rt = T_FLOAT
            rfv = sf[argpos]
        elif a0t == T_STR:
            bad = E_UNSUPPORTED
        else:
            bad = E_TYPE
    elif fid == B_BOOL:
        if argc > 1:
            bad = E_ARGCOUNT
        rt = T_BOOL
        if argc == 1:
            rv = 1 if truthy(a0t, a0, sf[argpos], shdr, lhdr, rng) else 0
    elif fid == B_RANGE:
        if argc < 1 or argc > 3:
            bad = E_ARGCOUNT
        else:
            for k in range(argc):
                if stag[argpos + k] != T_INT and stag[argpos + k] != T_BOOL:
                    bad = E_TYPE
            if bad == E_OK:
                r0 = np.int64(0)
                r1 = si[argpos]
                r2 = np.int64(1)
                if argc >= 2:
                    r0 = si[argpos]
                    r1 = si[argpos + 1]
                if argc == 3:
                    r2 = si[argpos + 2]
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
        lo = argpos
        cnt = argc
        src_list = -1
        if argc == 1:
            if a0t == T_LIST or a0t == T_TUPLE:
                src_list = a0
                cnt = lhdr[a0, L_LEN]
            elif a0t == T_RANGE:
                bad = E_UNSUPPORTED
            else:
                bad = E_TYPE
        if cnt == 0 and bad == E_OK:
            bad = E_VALUE
        if bad == E_OK:
            best = -1
            for k in range(cnt):
                if src_list >= 0:
                    s = lhdr[src_list, L_OFF] + k
                    kt = etag[s]
                    kv = ei[s]
                    kf = ef[s]
                else:
                    kt = stag[lo + k]
                    kv = si[lo + k]
                    kf = sf[lo + k]
                if best < 0:
                    best = k
                    rt = kt
                    rv = kv
                    rfv = kf
                    continue
                nk = kt == T_INT or kt == T_FLOAT or kt == T_BOOL
                nr = rt == T_INT or rt == T_FLOAT or rt == T_BOOL
                if nk and nr:
                    c = num_cmp(kt, kv, kf, rt, rv, rfv)
                elif kt == T_STR and rt == T_STR:
                    c = str_cmp(sdata, shdr, kv, rv)
                else:
                    bad = E_TYPE
                    break
                better = (c == -1) if fid == B_MIN else (c == 1)
                if better:
                    best = k
                    rt = kt
                    rv = kv
                    rfv = kf
    elif fid == B_ISINSTANCE:
        if argc != 2:
            bad = E_ARGCOUNT
        else:
            ct = stag[argpos + 1]
            cv = si[argpos + 1]
            res = False
            if ct == T_CLASS:
                res = a0t == T_OBJ and ocls[a0] == cv
            elif ct == T_BUILTIN and (cv == B_INT or cv == B_FLOAT or cv == B_BOOL or cv == B_STR or
                                      cv == B_LIST or cv == B_TUPLE):
                if cv == B_INT:
                    res = a0t == T_INT or a0t == T_BOOL
                elif cv == B_FLOAT:
                    res = a0t == T_FLOAT
                elif cv == B_BOOL:
                    res = a0t == T_BOOL
                elif cv == B_STR:
                    res = a0t == T_STR
                elif cv == B_LIST:
                    res = a0t == T_LIST
                else:
                    res = a0t == T_TUPLE
            else:
                bad = E_TYPE
            rt = T_BOOL
            rv = 1 if res else 0
    elif fid == B_PRINT:
        pt = state[ST_PRINT_TOP]
        if pt + argc + 1 > ptag.shape[0]:
            bad = E_HEAP
        else:
            for k in range(argc):
                t = stag[argpos + k]
                v = si[argpos + k]
                if t == T_LIST or t == T_TUPLE:
                    v = snapshot(lhdr, etag, ei, ef, state, v)
                    if v < 0:
                        bad = E_HEAP
                        break
                ptag[pt] = t
                pi[pt] = v
                pf[pt] = sf[argpos + k]
                pt += 1
            ptag[pt] = -2  # end of line
            pt += 1
            state[ST_PRINT_TOP] = pt
    elif fid == B_LIST_APPEND:
        if argc != 2:
            bad = E_ARGCOUNT
        else:
            lid = a0
            if not list_grow(lhdr, etag, ei, ef, state, lid):
                bad = E_HEAP
            else:
                s = lhdr[lid, L_OFF] + lhdr[lid, L_LEN]
                etag[s] = stag[argpos + 1]
                ei[s] = si[argpos + 1]
                ef[s] = sf[argpos + 1]
                lhdr[lid, L_LEN] += 1
    else:  # str(), list(), tuple() as callables
        bad = E_UNSUPPORTED
    return bad, rt, rv, rfv


@jit(_nrt=False)
def specialize(fam, pc, sp, from_miss, code, oparg, cache, fn, names, sdata, shdr, lhdr, ocls, otag, dhdr, dkey,
               dhash, dtag, di, chdr, stag, si, params, fam_on, state, stats, fails, timeline):
    """CPython's _Py_Specialize_* for every family: pick a specialized form (writing its cache) or a reason."""
    old = code[pc]
    new = -1
    reason = F_OTHER
    intern = params[P_INTERN]
    maxv = params[P_MAX_VERSIONS]
    K = params[P_ATTRS]
    if fam_on[fam] == 0:
        reason = F_DISABLED
    elif fam == FAM_LOAD_GLOBAL:
        sid = names[oparg[pc]]
        h = shdr[sid, S_HASH]
        found, slot = dict_probe(dhdr, dkey, dhash, 0, sid, h, sdata, shdr, intern)
        gv = get_version(dhdr, 0, D_VERSION, state, maxv)
        if gv < 0:
            reason = F_OUT_OF_VERSIONS
        elif found:
            new = LOAD_GLOBAL_MODULE
            cache[pc, 1] = slot
            cache[pc, 2] = gv
        else:
            found, slot = dict_probe(dhdr, dkey, dhash, 1, sid, h, sdata, shdr, intern)
            bv = get_version(dhdr, 1, D_VERSION, state, maxv)
            if bv < 0:
                reason = F_OUT_OF_VERSIONS
            elif found:
                new = LOAD_GLOBAL_BUILTIN
                cache[pc, 1] = slot
                cache[pc, 2] = gv
                cache[pc, 3] = bv
            else:
                reason = F_NOT_FOUND
    elif fam == FAM_LOAD_ATTR or fam == FAM_STORE_ATTR:
        sid = names[oparg[pc]]
        h = shdr[sid, S_HASH]
        ot = stag[sp - 1]
        o = si[sp - 1]
        if ot == T_OBJ:
            c = ocls[o]
            fk, ks = dict_probe(dhdr, dkey, dhash, chdr[c, C_KEYS], sid, h, sdata, shdr, intern)
            fc, cs = dict_probe(dhdr, dkey, dhash, chdr[c, C_DICT], sid, h, sdata, shdr, intern)
            idx = di[dhdr[chdr[c, C_KEYS], D_OFF] + ks] if fk else -1
            if fam == FAM_STORE_ATTR:
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
            elif fk and otag[o * K + idx] != T_NULL:
                tv = get_version(chdr, c, C_VERSION, state, maxv)
                if tv < 0:
                    reason = F_OUT_OF_VERSIONS
                else:
                    new = LOAD_ATTR_INSTANCE_VALUE
                    cache[pc, 1] = idx
                    cache[pc, 2] = tv
            elif fc:
                reason = F_METHOD if dtag[dhdr[chdr[c, C_DICT], D_OFF] + cs] == T_FUNC else F_CLASS_ATTR
            else:
                reason = F_NOT_FOUND
        elif ot == T_CLASS and fam == FAM_LOAD_ATTR:
            fc, cs = dict_probe(dhdr, dkey, dhash, chdr[o, C_DICT], sid, h, sdata, shdr, intern)
            if fc:
                tv = get_version(chdr, o, C_VERSION, state, maxv)
                if tv < 0:
                    reason = F_OUT_OF_VERSIONS
                else:
                    new = LOAD_ATTR_CLASS
                    cache[pc, 1] = cs
                    cache[pc, 2] = tv
                    cache[pc, 3] = o
            else:
                reason = F_NOT_FOUND
        else:
            reason = F_NOT_INSTANCE
    elif fam == FAM_BINARY_OP:
        ta = stag[sp - 2]
        tb = stag[sp - 1]
        nb = oparg[pc]
        kind = nb - 13 if nb >= 13 else nb
        if kind != NB_ADD and kind != NB_SUBTRACT and kind != NB_MULTIPLY:
            reason = F_UNSUPPORTED_OP
        elif ta == T_INT and tb == T_INT:
            new = BINARY_OP_ADD_INT if kind == NB_ADD else (
                BINARY_OP_SUBTRACT_INT if kind == NB_SUBTRACT else BINARY_OP_MULTIPLY_INT)
        elif ta == T_FLOAT and tb == T_FLOAT:
            new = BINARY_OP_ADD_FLOAT if kind == NB_ADD else (
                BINARY_OP_SUBTRACT_FLOAT if kind == NB_SUBTRACT else BINARY_OP_MULTIPLY_FLOAT)
        elif ta == T_STR and tb == T_STR and kind == NB_ADD:
            new = BINARY_OP_ADD_UNICODE
        elif ta == T_BOOL or tb == T_BOOL:
            reason = F_BOOL
        else:
            reason = F_WRONG_TYPES
    elif fam == FAM_COMPARE_OP:
        ta = stag[sp - 2]
        tb = stag[sp - 1]
        cop = oparg[pc]
        if ta == T_INT and tb == T_INT:
            new = COMPARE_OP_INT
        elif ta == T_FLOAT and tb == T_FLOAT:
            new = COMPARE_OP_FLOAT
        elif ta == T_STR and tb == T_STR:
            if cop == 2 or cop == 3:
                new = COMPARE_OP_STR
            else:
                reason = F_STR_ORDER
        elif ta == T_BOOL or tb == T_BOOL:
            reason = F_BOOL
        else:
            reason = F_WRONG_TYPES
    elif fam == FAM_BINARY_SUBSCR or fam == FAM_STORE_SUBSCR:
        ta = stag[sp - 2]
        tb = stag[sp - 1]
        if (ta == T_LIST or (ta == T_TUPLE and fam == FAM_BINARY_SUBSCR)) and tb == T_INT:
            if 0 <= si[sp - 1] < lhdr[si[sp - 2], L_LEN]:
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
        t = stag[sp - 1]
        if t == T_RANGE_ITER:
            new = FOR_ITER_RANGE
        elif t == T_LIST_ITER:
            new = FOR_ITER_LIST
        else:
            reason = F_NOT_ITER
    elif fam == FAM_CALL:
        n = oparg[pc]
        if stag[sp - n - 2] == T_NULL:
            fpos = sp - n - 1
            argc = n
        else:
            fpos = sp - n - 2
            argc = n + 1
        ft = stag[fpos]
        fid = si[fpos]
        if ft == T_FUNC:
            if argc == fn[fid, FN_NPARAMS]:
                new = CALL_PY_EXACT_ARGS
                cache[pc, 1] = fid
                cache[pc, 2] = argc
            else:
                reason = F_ARGCOUNT
        elif ft == T_BUILTIN:
            if fid == B_LEN and argc == 1:
                new = CALL_LEN
            elif fid == B_LIST_APPEND and argc == 2:
                new = CALL_LIST_APPEND
            elif (fid == B_ABS or fid == B_INT or fid == B_FLOAT) and argc == 1:
                new = CALL_BUILTIN_O
                cache[pc, 1] = fid
            else:
                reason = F_BUILTIN_NOT_O
        elif ft == T_CLASS:
            reason = F_CLASS_CALL
    base = FAMILY_BASE_OPS[fam]
    spec_done(code, cache, pc, old, new, reason, fam, base, from_miss, params, stats, fails, timeline, state,
              state[ST_CALL])


# The trivial local-variable instructions (LOAD_FAST .. LOAD_CONST__LOAD_FAST) are numbered contiguously by the
# table, so "is this trivial?" is one range check.
assert list(range(LOAD_FAST, LOAD_CONST__LOAD_FAST + 1)) == [
    LOAD_FAST, STORE_FAST, LOAD_CONST, LOAD_FAST__LOAD_FAST, LOAD_FAST__LOAD_CONST, STORE_FAST__LOAD_FAST,
    STORE_FAST__STORE_FAST, LOAD_CONST__LOAD_FAST], "opcode table: trivial instructions must be contiguous"


@jit(inline="always", _nrt=False)
def is_fast_op(op):
    """Instructions the small hot loop (run_fast) can execute."""
    return (LOAD_FAST <= op <= LOAD_CONST__LOAD_FAST) or op == LOAD_GLOBAL_MODULE or op == LOAD_GLOBAL_BUILTIN or \
        op == FOR_ITER_RANGE or op == JUMP_BACKWARD_QUICK or op == JUMP_BACKWARD


@jit(_nrt=False)
def run_fast(code, oparg, ctag, ci, cf, stag, si, sf, cache, dhdr, dtag, di, df, it, stats,
             pc, sp, base, steps, tot_hit, mode, sat_on, budget, stop_at):
    """Hot/cold split: execute a straight run of hot, simple instructions in a small loop of its own, whose few
    live values stay in registers (the big kernel's dispatch loop spills them):
      - LOAD_FAST, STORE_FAST, LOAD_CONST and their superinstructions;
      - the HIT paths of LOAD_GLOBAL_MODULE / LOAD_GLOBAL_BUILTIN (guards as in run; same stats and counter
        updates) and of FOR_ITER_RANGE while the range is not exhausted;
      - JUMP_BACKWARD_QUICK (and JUMP_BACKWARD when not in 3.11 warmup mode) while steps + 1 < stop_at
        (= min(step limit + 1, next sample)).
    Anything else -- another instruction, a failing guard, an exhausted range, a jump due for the step limit or a
    sample -- returns to run WITHOUT executing it (run then does it, with all its bookkeeping), so observable
    behaviour is exactly run's.  sat_on: 1 when hits count up the saturating counter (to budget), as in run.
    Returns (pc, sp, steps, tot_hit, err_pc, err_arg): err_pc = -1, or an unbound local's instruction offset."""
    while True:
        op = code[pc]
        if op == LOAD_FAST:
            steps += 1
            s = base + oparg[pc]
            if stag[s] == T_NULL:
                return pc, sp, steps, tot_hit, pc, oparg[pc]
            stag[sp] = stag[s]
            si[sp] = si[s]
            sf[sp] = sf[s]
            sp += 1
            pc += 1
            continue
        if op == STORE_FAST:
            steps += 1
            sp -= 1
            s = base + oparg[pc]
            stag[s] = stag[sp]
            si[s] = si[sp]
            sf[s] = sf[sp]
            pc += 1
            continue
        if op == LOAD_CONST:
            steps += 1
            k = oparg[pc]
            stag[sp] = ctag[k]
            si[sp] = ci[k]
            sf[sp] = cf[k]
            sp += 1
            pc += 1
            continue
        if op == LOAD_GLOBAL_MODULE:
            if dhdr[0, D_VERSION] != cache[pc, 2]:
                return pc, sp, steps, tot_hit, np.int64(-1), np.int64(0)
            steps += 1
            stats[FAM_LOAD_GLOBAL, STAT_EXEC] += 1
            s = dhdr[0, D_OFF] + cache[pc, 1]
            stag[sp] = dtag[s]
            si[sp] = di[s]
            sf[sp] = df[s]
            sp += 1
            stats[FAM_LOAD_GLOBAL, STAT_HIT] += 1
            tot_hit += 1
            if sat_on != 0 and cache[pc, 0] < budget:
                cache[pc, 0] += 1
            pc += 1
            continue
        if op == LOAD_GLOBAL_BUILTIN:
            if dhdr[0, D_VERSION] != cache[pc, 2] or dhdr[1, D_VERSION] != cache[pc, 3]:
                return pc, sp, steps, tot_hit, np.int64(-1), np.int64(0)
            steps += 1
            stats[FAM_LOAD_GLOBAL, STAT_EXEC] += 1
            s = dhdr[1, D_OFF] + cache[pc, 1]
            stag[sp] = dtag[s]
            si[sp] = di[s]
            sf[sp] = df[s]
            sp += 1
            stats[FAM_LOAD_GLOBAL, STAT_HIT] += 1
            tot_hit += 1
            if sat_on != 0 and cache[pc, 0] < budget:
                cache[pc, 0] += 1
            pc += 1
            continue
        if op == FOR_ITER_RANGE:
            if stag[sp - 1] != T_RANGE_ITER:
                return pc, sp, steps, tot_hit, np.int64(-1), np.int64(0)
            j = si[sp - 1]
            cur = it[j, 0]
            step = it[j, 2]
            more = cur < it[j, 1] if step > 0 else cur > it[j, 1]
            if not more:
                return pc, sp, steps, tot_hit, np.int64(-1), np.int64(0)
            steps += 1
            stats[FAM_FOR_ITER, STAT_EXEC] += 1
            it[j, 0] = cur + step
            stag[sp] = T_INT
            si[sp] = cur
            sp += 1
            pc += 1
            stats[FAM_FOR_ITER, STAT_HIT] += 1
            tot_hit += 1
            continue
        if op == JUMP_BACKWARD_QUICK or (op == JUMP_BACKWARD and mode != 1):
            if steps + 1 >= stop_at:
                return pc, sp, steps, tot_hit, np.int64(-1), np.int64(0)
            steps += 1
            pc = oparg[pc]
            continue
        if op < LOAD_FAST__LOAD_FAST or op > LOAD_CONST__LOAD_FAST:
            return pc, sp, steps, tot_hit, np.int64(-1), np.int64(0)
        steps += 1
        for half in range(2):
            kind = LOAD_FAST
            if half == 0:
                if op == STORE_FAST__LOAD_FAST or op == STORE_FAST__STORE_FAST:
                    kind = STORE_FAST
                elif op == LOAD_CONST__LOAD_FAST:
                    kind = LOAD_CONST
            else:
                if op == LOAD_FAST__LOAD_CONST:
                    kind = LOAD_CONST
                elif op == STORE_FAST__STORE_FAST:
                    kind = STORE_FAST
            a = oparg[pc + half]
            if kind == LOAD_FAST:
                s = base + a
                if stag[s] == T_NULL:
                    return pc, sp, steps, tot_hit, pc + half, a
                stag[sp] = stag[s]
                si[sp] = si[s]
                sf[sp] = sf[s]
                sp += 1
            elif kind == STORE_FAST:
                sp -= 1
                s = base + a
                stag[s] = stag[sp]
                si[s] = si[sp]
                sf[s] = sf[sp]
            else:
                stag[sp] = ctag[a]
                si[sp] = ci[a]
                sf[sp] = cf[a]
                sp += 1
        pc += 2


def _warm_run():
    from lwnlab.interp.machine import warmup_args

    return warmup_args()


@jit(warmup=_warm_run, _nrt=False)
def run(code, oparg, cache, fn, co_warm, ctag, ci, cf, names,
        sdata, shdr, lhdr, etag, ei, ef, ocls, otag, oi, of, rng, it,
        dhdr, dkey, dhash, dtag, di, df, chdr,
        stag, si, sf, frames,
        call_func, atag, ai, af,
        params, fam_on, state, stats, fails, timeline, samples, percall,
        rtag, ri, rf, ptag, pi, pf, status):
    mode = params[P_MODE]
    sat = params[P_SATURATING]
    budget = params[P_MISS_BUDGET]
    hcached = params[P_HASH_CACHED]
    intern = params[P_INTERN]
    maxv = params[P_MAX_VERSIONS]
    step_limit = params[P_STEP_LIMIT]
    K = params[P_ATTRS]
    sample_every = params[P_SAMPLE_EVERY]
    depth_limit = params[P_DEPTH_LIMIT]
    next_sample = sample_every
    steps = state[ST_STEPS]
    tot_hit = np.int64(0)
    tot_miss = np.int64(0)
    ncalls = atag.shape[0]
    nargs = atag.shape[1]
    scap = stag.shape[0]
    it_top = np.int64(0)
    ncode = code.shape[0]

    for callno in range(-1, ncalls):
        state[ST_CALL] = callno
        # ---------------------------------------------------------------- set up the entry frame
        f = 0 if callno < 0 else call_func
        base = np.int64(0)
        nl = fn[f, FN_NLOCALS]
        if nl + fn[f, FN_STACK] > scap:
            status[0] = E_STACK
            return
        for k in range(nl):
            stag[k] = T_NULL
        if callno >= 0:
            if nargs != fn[f, FN_NPARAMS]:
                status[0] = E_ARGCOUNT
                status[1] = fn[f, FN_ENTRY]
                status[2] = fn[f, FN_NPARAMS]
                status[3] = nargs
                return
            for k in range(nargs):
                stag[k] = atag[callno, k]
                si[k] = ai[callno, k]
                sf[k] = af[callno, k]
        sp = nl
        pc = fn[f, FN_ENTRY]
        depth = 0
        frames[0, FR_FUNC] = f
        frames[0, FR_BASE] = 0
        frames[0, FR_RETSP] = 0
        frames[0, FR_INITOBJ] = -1
        frames[0, FR_ITERTOP] = it_top
        from_miss = False
        while True:
            op = code[pc]
            if is_fast_op(op) and pc + 3 < ncode and is_fast_op(code[pc + 1]) and is_fast_op(code[pc + 2]) and \
                    is_fast_op(code[pc + 3]):
                # a run of at least four hot, simple instructions: hand it to the small loop (hot/cold split).
                # The call passes ~15 arrays, so it only pays off for runs (measured: a run of two was slower
                # than doing them here)
                stop_at = next_sample if next_sample <= step_limit else step_limit + 1
                sat_on = np.int64(1) if (sat != 0 and mode == 1) else np.int64(0)
                pc, sp, steps, tot_hit, epc, ea = run_fast(code, oparg, ctag, ci, cf, stag, si, sf, cache, dhdr,
                                                           dtag, di, df, it, stats, pc, sp, base, steps, tot_hit,
                                                           mode, sat_on, budget, stop_at)
                if epc >= 0:
                    status[0] = E_UNBOUND
                    status[1] = epc
                    status[2] = ea
                    state[ST_STEPS] = steps
                    return
                op = code[pc]
            steps += 1
            # ================================================================ 1. fast, plain, specialized
            if op == LOAD_FAST:
                s = base + oparg[pc]
                if stag[s] == T_NULL:
                    status[0] = E_UNBOUND
                    status[1] = pc
                    status[2] = oparg[pc]
                    state[ST_STEPS] = steps
                    return
                stag[sp] = stag[s]
                si[sp] = si[s]
                sf[sp] = sf[s]
                sp += 1
                pc += 1
                continue
            if op == STORE_FAST:
                sp -= 1
                s = base + oparg[pc]
                stag[s] = stag[sp]
                si[s] = si[sp]
                sf[s] = sf[sp]
                pc += 1
                continue
            if op == LOAD_CONST:
                k = oparg[pc]
                stag[sp] = ctag[k]
                si[sp] = ci[k]
                sf[sp] = cf[k]
                sp += 1
                pc += 1
                continue
            if op == LOAD_FAST__LOAD_FAST or op == LOAD_FAST__LOAD_CONST or op == LOAD_CONST__LOAD_FAST or \
                    op == STORE_FAST__LOAD_FAST or op == STORE_FAST__STORE_FAST:
                for half in range(2):
                    kind = LOAD_FAST
                    if half == 0:
                        if op == STORE_FAST__LOAD_FAST or op == STORE_FAST__STORE_FAST:
                            kind = STORE_FAST
                        elif op == LOAD_CONST__LOAD_FAST:
                            kind = LOAD_CONST
                    else:
                        if op == LOAD_FAST__LOAD_CONST:
                            kind = LOAD_CONST
                        elif op == STORE_FAST__STORE_FAST:
                            kind = STORE_FAST
                    a = oparg[pc + half]
                    if kind == LOAD_FAST:
                        s = base + a
                        if stag[s] == T_NULL:
                            status[0] = E_UNBOUND
                            status[1] = pc + half
                            status[2] = a
                            state[ST_STEPS] = steps
                            return
                        stag[sp] = stag[s]
                        si[sp] = si[s]
                        sf[sp] = sf[s]
                        sp += 1
                    elif kind == STORE_FAST:
                        sp -= 1
                        s = base + a
                        stag[s] = stag[sp]
                        si[s] = si[sp]
                        sf[s] = sf[sp]
                    else:
                        stag[sp] = ctag[a]
                        si[sp] = ci[a]
                        sf[sp] = cf[a]
                        sp += 1
                pc += 2
                continue
            if op == POP_TOP:
                sp -= 1
                t = stag[sp]
                if (t == T_RANGE_ITER or t == T_LIST_ITER or t == T_TUPLE_ITER) and si[sp] == it_top - 1:
                    it_top -= 1
                pc += 1
                continue
            if op == PUSH_NULL:
                stag[sp] = T_NULL
                si[sp] = 0
                sp += 1
                pc += 1
                continue
            if op == COPY:
                s = sp - oparg[pc]
                stag[sp] = stag[s]
                si[sp] = si[s]
                sf[sp] = sf[s]
                sp += 1
                pc += 1
                continue
            if op == SWAP:
                s = sp - oparg[pc]
                t = stag[s]
                x = si[s]
                y = sf[s]
                stag[s] = stag[sp - 1]
                si[s] = si[sp - 1]
                sf[s] = sf[sp - 1]
                stag[sp - 1] = t
                si[sp - 1] = x
                sf[sp - 1] = y
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
                    cur = frames[depth, FR_FUNC]
                    co_warm[cur] += 1
                    if co_warm[cur] == params[P_WARMUP]:
                        state[ST_STEPS] = steps
                        quicken(code, oparg, cache, fn[cur, FN_ENTRY], fn[cur, FN_END], params, fam_on, timeline, state,
                                callno)
                if op == RESUME:
                    pc += 1
                    continue
                pc = oparg[pc]
                if steps > step_limit:
                    status[0] = E_STEPS
                    status[1] = pc
                    state[ST_STEPS] = steps
                    return
                if steps >= next_sample:
                    n = state[ST_SAMPLES_N]
                    if n < samples.shape[0]:
                        samples[n, 0] = steps
                        samples[n, 1] = tot_hit
                        samples[n, 2] = tot_miss
                        samples[n, 3] = callno
                        state[ST_SAMPLES_N] = n + 1
                    next_sample = steps + sample_every
                continue
            if op == POP_JUMP_IF_FALSE or op == POP_JUMP_IF_TRUE:
                sp -= 1
                t = stag[sp]
                if t == T_BOOL:
                    tv = si[sp] != 0
                else:
                    tv = truthy(t, si[sp], sf[sp], shdr, lhdr, rng)
                if tv == (op == POP_JUMP_IF_TRUE):
                    tgt = oparg[pc]
                    if tgt <= pc and steps > step_limit:
                        status[0] = E_STEPS
                        status[1] = pc
                        state[ST_STEPS] = steps
                        return
                    pc = tgt
                else:
                    pc += 1
                continue
            if op == JUMP_IF_FALSE_OR_POP or op == JUMP_IF_TRUE_OR_POP:
                tv = truthy(stag[sp - 1], si[sp - 1], sf[sp - 1], shdr, lhdr, rng)
                if tv == (op == JUMP_IF_TRUE_OR_POP):
                    pc = oparg[pc]
                else:
                    sp -= 1
                    pc += 1
                continue

            # ---------------------------------------------------------------- specialized: LOAD_GLOBAL
            if op == LOAD_GLOBAL_MODULE:
                stats[FAM_LOAD_GLOBAL, STAT_EXEC] += 1
                if dhdr[0, D_VERSION] == cache[pc, 2]:
                    s = dhdr[0, D_OFF] + cache[pc, 1]
                    stag[sp] = dtag[s]
                    si[sp] = di[s]
                    sf[sp] = df[s]
                    sp += 1
                    stats[FAM_LOAD_GLOBAL, STAT_HIT] += 1
                    tot_hit += 1
                    if sat != 0 and mode == 1 and cache[pc, 0] < budget:
                        cache[pc, 0] += 1
                    pc += 1
                    continue
                stats[FAM_LOAD_GLOBAL, STAT_MISS] += 1
                tot_miss += 1
                if mode == 1:
                    state[ST_STEPS] = steps
                    miss311(code, cache, pc, LOAD_GLOBAL_ADAPTIVE, params, stats, FAM_LOAD_GLOBAL, timeline, state,
                            callno)
                op = LOAD_GLOBAL
                from_miss = True
            elif op == LOAD_GLOBAL_BUILTIN:
                stats[FAM_LOAD_GLOBAL, STAT_EXEC] += 1
                if dhdr[0, D_VERSION] == cache[pc, 2] and dhdr[1, D_VERSION] == cache[pc, 3]:
                    s = dhdr[1, D_OFF] + cache[pc, 1]
                    stag[sp] = dtag[s]
                    si[sp] = di[s]
                    sf[sp] = df[s]
                    sp += 1
                    stats[FAM_LOAD_GLOBAL, STAT_HIT] += 1
                    tot_hit += 1
                    if sat != 0 and mode == 1 and cache[pc, 0] < budget:
                        cache[pc, 0] += 1
                    pc += 1
                    continue
                stats[FAM_LOAD_GLOBAL, STAT_MISS] += 1
                tot_miss += 1
                if mode == 1:
                    state[ST_STEPS] = steps
                    miss311(code, cache, pc, LOAD_GLOBAL_ADAPTIVE, params, stats, FAM_LOAD_GLOBAL, timeline, state,
                            callno)
                op = LOAD_GLOBAL
                from_miss = True
            # ---------------------------------------------------------------- specialized: attributes
            elif op == LOAD_ATTR_INSTANCE_VALUE:
                stats[FAM_LOAD_ATTR, STAT_EXEC] += 1
                o = si[sp - 1]
                ok = False
                if stag[sp - 1] == T_OBJ and chdr[ocls[o], C_VERSION] == cache[pc, 2]:
                    s = o * K + cache[pc, 1]
                    if otag[s] != T_NULL:
                        stag[sp - 1] = otag[s]
                        si[sp - 1] = oi[s]
                        sf[sp - 1] = of[s]
                        ok = True
                if ok:
                    stats[FAM_LOAD_ATTR, STAT_HIT] += 1
                    tot_hit += 1
                    if sat != 0 and mode == 1 and cache[pc, 0] < budget:
                        cache[pc, 0] += 1
                    pc += 1
                    continue
                stats[FAM_LOAD_ATTR, STAT_MISS] += 1
                tot_miss += 1
                if mode == 1:
                    state[ST_STEPS] = steps
                    miss311(code, cache, pc, LOAD_ATTR_ADAPTIVE, params, stats, FAM_LOAD_ATTR, timeline, state,
                            callno)
                op = LOAD_ATTR
                from_miss = True
            elif op == LOAD_ATTR_CLASS:
                stats[FAM_LOAD_ATTR, STAT_EXEC] += 1
                c = si[sp - 1]
                if stag[sp - 1] == T_CLASS and c == cache[pc, 3] and chdr[c, C_VERSION] == cache[pc, 2]:
                    s = dhdr[chdr[c, C_DICT], D_OFF] + cache[pc, 1]
                    stag[sp - 1] = dtag[s]
                    si[sp - 1] = di[s]
                    sf[sp - 1] = df[s]
                    stats[FAM_LOAD_ATTR, STAT_HIT] += 1
                    tot_hit += 1
                    if sat != 0 and mode == 1 and cache[pc, 0] < budget:
                        cache[pc, 0] += 1
                    pc += 1
                    continue
                stats[FAM_LOAD_ATTR, STAT_MISS] += 1
                tot_miss += 1
                if mode == 1:
                    state[ST_STEPS] = steps
                    miss311(code, cache, pc, LOAD_ATTR_ADAPTIVE, params, stats, FAM_LOAD_ATTR, timeline, state,
                            callno)
                op = LOAD_ATTR
                from_miss = True
            elif op == STORE_ATTR_INSTANCE_VALUE:
                stats[FAM_STORE_ATTR, STAT_EXEC] += 1
                o = si[sp - 1]
                if stag[sp - 1] == T_OBJ and chdr[ocls[o], C_VERSION] == cache[pc, 2]:
                    s = o * K + cache[pc, 1]
                    otag[s] = stag[sp - 2]
                    oi[s] = si[sp - 2]
                    of[s] = sf[sp - 2]
                    sp -= 2
                    stats[FAM_STORE_ATTR, STAT_HIT] += 1
                    tot_hit += 1
                    if sat != 0 and mode == 1 and cache[pc, 0] < budget:
                        cache[pc, 0] += 1
                    pc += 1
                    continue
                stats[FAM_STORE_ATTR, STAT_MISS] += 1
                tot_miss += 1
                if mode == 1:
                    state[ST_STEPS] = steps
                    miss311(code, cache, pc, STORE_ATTR_ADAPTIVE, params, stats, FAM_STORE_ATTR, timeline, state,
                            callno)
                op = STORE_ATTR
                from_miss = True
            # ---------------------------------------------------------------- specialized: BINARY_OP
            elif op == BINARY_OP_ADD_INT or op == BINARY_OP_SUBTRACT_INT or op == BINARY_OP_MULTIPLY_INT:
                stats[FAM_BINARY_OP, STAT_EXEC] += 1
                if stag[sp - 2] == T_INT and stag[sp - 1] == T_INT:
                    a = si[sp - 2]
                    b = si[sp - 1]
                    if op == BINARY_OP_ADD_INT:
                        ovf = add_ovf(a, b)
                        r = a + b
                    elif op == BINARY_OP_SUBTRACT_INT:
                        ovf = sub_ovf(a, b)
                        r = a - b
                    else:
                        ovf, r = int_mul(a, b)
                    if ovf:
                        status[0] = E_OVERFLOW
                        status[1] = pc
                        state[ST_STEPS] = steps
                        return
                    sp -= 1
                    si[sp - 1] = r
                    stats[FAM_BINARY_OP, STAT_HIT] += 1
                    tot_hit += 1
                    if sat != 0 and mode == 1 and cache[pc, 0] < budget:
                        cache[pc, 0] += 1
                    pc += 1
                    continue
                stats[FAM_BINARY_OP, STAT_MISS] += 1
                tot_miss += 1
                if mode == 1:
                    state[ST_STEPS] = steps
                    miss311(code, cache, pc, BINARY_OP_ADAPTIVE, params, stats, FAM_BINARY_OP, timeline, state,
                            callno)
                op = BINARY_OP
                from_miss = True
            elif op == BINARY_OP_ADD_FLOAT or op == BINARY_OP_SUBTRACT_FLOAT or op == BINARY_OP_MULTIPLY_FLOAT:
                stats[FAM_BINARY_OP, STAT_EXEC] += 1
                if stag[sp - 2] == T_FLOAT and stag[sp - 1] == T_FLOAT:
                    x = sf[sp - 2]
                    y = sf[sp - 1]
                    if op == BINARY_OP_ADD_FLOAT:
                        z = x + y
                    elif op == BINARY_OP_SUBTRACT_FLOAT:
                        z = x - y
                    else:
                        z = x * y
                    sp -= 1
                    sf[sp - 1] = z
                    stats[FAM_BINARY_OP, STAT_HIT] += 1
                    tot_hit += 1
                    if sat != 0 and mode == 1 and cache[pc, 0] < budget:
                        cache[pc, 0] += 1
                    pc += 1
                    continue
                stats[FAM_BINARY_OP, STAT_MISS] += 1
                tot_miss += 1
                if mode == 1:
                    state[ST_STEPS] = steps
                    miss311(code, cache, pc, BINARY_OP_ADAPTIVE, params, stats, FAM_BINARY_OP, timeline, state,
                            callno)
                op = BINARY_OP
                from_miss = True
            elif op == BINARY_OP_ADD_UNICODE:
                stats[FAM_BINARY_OP, STAT_EXEC] += 1
                if stag[sp - 2] == T_STR and stag[sp - 1] == T_STR:
                    a = si[sp - 2]
                    b = si[sp - 1]
                    na = shdr[a, S_LEN]
                    nb = shdr[b, S_LEN]
                    r = new_str(sdata, shdr, state, na + nb)
                    if r < 0:
                        status[0] = E_HEAP
                        status[1] = pc
                        status[2] = 0
                        state[ST_STEPS] = steps
                        return
                    o1 = shdr[r, S_OFF]
                    oa = shdr[a, S_OFF]
                    ob = shdr[b, S_OFF]
                    for k in range(na):
                        sdata[o1 + k] = sdata[oa + k]
                    for k in range(nb):
                        sdata[o1 + na + k] = sdata[ob + k]
                    shdr[r, S_HASH] = fnv(sdata, o1, na + nb)
                    sp -= 1
                    si[sp - 1] = r
                    stats[FAM_BINARY_OP, STAT_HIT] += 1
                    tot_hit += 1
                    if sat != 0 and mode == 1 and cache[pc, 0] < budget:
                        cache[pc, 0] += 1
                    pc += 1
                    continue
                stats[FAM_BINARY_OP, STAT_MISS] += 1
                tot_miss += 1
                if mode == 1:
                    state[ST_STEPS] = steps
                    miss311(code, cache, pc, BINARY_OP_ADAPTIVE, params, stats, FAM_BINARY_OP, timeline, state,
                            callno)
                op = BINARY_OP
                from_miss = True
            # ---------------------------------------------------------------- specialized: COMPARE_OP
            elif op == COMPARE_OP_INT or op == COMPARE_OP_FLOAT or op == COMPARE_OP_STR:
                stats[FAM_COMPARE_OP, STAT_EXEC] += 1
                ta = stag[sp - 2]
                tb = stag[sp - 1]
                hit = False
                if op == COMPARE_OP_INT:
                    if ta == T_INT and tb == T_INT:
                        a = si[sp - 2]
                        b = si[sp - 1]
                        c = -1 if a < b else (1 if a > b else 0)
                        hit = True
                elif op == COMPARE_OP_FLOAT:
                    if ta == T_FLOAT and tb == T_FLOAT:
                        x = sf[sp - 2]
                        y = sf[sp - 1]
                        c = 2 if (x != x or y != y) else (-1 if x < y else (1 if x > y else 0))
                        hit = True
                else:
                    if ta == T_STR and tb == T_STR:
                        c = 0 if str_eq(sdata, shdr, si[sp - 2], si[sp - 1]) else 1
                        hit = True
                if hit:
                    sp -= 1
                    stag[sp - 1] = T_BOOL
                    si[sp - 1] = 1 if cmp_result(c, oparg[pc]) else 0
                    stats[FAM_COMPARE_OP, STAT_HIT] += 1
                    tot_hit += 1
                    if sat != 0 and mode == 1 and cache[pc, 0] < budget:
                        cache[pc, 0] += 1
                    pc += 1
                    continue
                stats[FAM_COMPARE_OP, STAT_MISS] += 1
                tot_miss += 1
                if mode == 1:
                    state[ST_STEPS] = steps
                    miss311(code, cache, pc, COMPARE_OP_ADAPTIVE, params, stats, FAM_COMPARE_OP, timeline, state,
                            callno)
                op = COMPARE_OP
                from_miss = True
            # ---------------------------------------------------------------- specialized: subscripts
            elif op == BINARY_SUBSCR_LIST_INT or op == BINARY_SUBSCR_TUPLE_INT:
                stats[FAM_BINARY_SUBSCR, STAT_EXEC] += 1
                want = T_LIST if op == BINARY_SUBSCR_LIST_INT else T_TUPLE
                lid = si[sp - 2]
                idx = si[sp - 1]
                if stag[sp - 2] == want and stag[sp - 1] == T_INT and 0 <= idx < lhdr[lid, L_LEN]:
                    s = lhdr[lid, L_OFF] + idx
                    sp -= 1
                    stag[sp - 1] = etag[s]
                    si[sp - 1] = ei[s]
                    sf[sp - 1] = ef[s]
                    stats[FAM_BINARY_SUBSCR, STAT_HIT] += 1
                    tot_hit += 1
                    if sat != 0 and mode == 1 and cache[pc, 0] < budget:
                        cache[pc, 0] += 1
                    pc += 1
                    continue
                stats[FAM_BINARY_SUBSCR, STAT_MISS] += 1
                tot_miss += 1
                if mode == 1:
                    state[ST_STEPS] = steps
                    miss311(code, cache, pc, BINARY_SUBSCR_ADAPTIVE, params, stats, FAM_BINARY_SUBSCR, timeline,
                            state, callno)
                op = BINARY_SUBSCR
                from_miss = True
            elif op == STORE_SUBSCR_LIST_INT:
                stats[FAM_STORE_SUBSCR, STAT_EXEC] += 1
                lid = si[sp - 2]
                idx = si[sp - 1]
                if stag[sp - 2] == T_LIST and stag[sp - 1] == T_INT and 0 <= idx < lhdr[lid, L_LEN]:
                    s = lhdr[lid, L_OFF] + idx
                    etag[s] = stag[sp - 3]
                    ei[s] = si[sp - 3]
                    ef[s] = sf[sp - 3]
                    sp -= 3
                    stats[FAM_STORE_SUBSCR, STAT_HIT] += 1
                    tot_hit += 1
                    if sat != 0 and mode == 1 and cache[pc, 0] < budget:
                        cache[pc, 0] += 1
                    pc += 1
                    continue
                stats[FAM_STORE_SUBSCR, STAT_MISS] += 1
                tot_miss += 1
                if mode == 1:
                    state[ST_STEPS] = steps
                    miss311(code, cache, pc, STORE_SUBSCR_ADAPTIVE, params, stats, FAM_STORE_SUBSCR, timeline,
                            state, callno)
                op = STORE_SUBSCR
                from_miss = True
            # ---------------------------------------------------------------- specialized: FOR_ITER
            elif op == FOR_ITER_RANGE or op == FOR_ITER_LIST:
                stats[FAM_FOR_ITER, STAT_EXEC] += 1
                t = stag[sp - 1]
                j = si[sp - 1]
                if op == FOR_ITER_RANGE and t == T_RANGE_ITER:
                    cur = it[j, 0]
                    step = it[j, 2]
                    more = cur < it[j, 1] if step > 0 else cur > it[j, 1]
                    if more:
                        it[j, 0] = cur + step
                        stag[sp] = T_INT
                        si[sp] = cur
                        sp += 1
                        pc += 1
                    else:
                        sp -= 1
                        if j == it_top - 1:
                            it_top -= 1
                        pc = oparg[pc]
                    stats[FAM_FOR_ITER, STAT_HIT] += 1
                    tot_hit += 1
                    continue
                if op == FOR_ITER_LIST and t == T_LIST_ITER:
                    lid = it[j, 0]
                    idx = it[j, 1]
                    if idx < lhdr[lid, L_LEN]:
                        s = lhdr[lid, L_OFF] + idx
                        it[j, 1] = idx + 1
                        stag[sp] = etag[s]
                        si[sp] = ei[s]
                        sf[sp] = ef[s]
                        sp += 1
                        pc += 1
                    else:
                        sp -= 1
                        if j == it_top - 1:
                            it_top -= 1
                        pc = oparg[pc]
                    stats[FAM_FOR_ITER, STAT_HIT] += 1
                    tot_hit += 1
                    continue
                stats[FAM_FOR_ITER, STAT_MISS] += 1
                tot_miss += 1
                if mode == 1:
                    state[ST_STEPS] = steps
                    miss311(code, cache, pc, FOR_ITER_ADAPTIVE, params, stats, FAM_FOR_ITER, timeline, state,
                            callno)
                op = FOR_ITER
                from_miss = True
            # ---------------------------------------------------------------- specialized: CALL
            elif op == CALL_PY_EXACT_ARGS or op == CALL_LEN or op == CALL_BUILTIN_O or op == CALL_LIST_APPEND:
                stats[FAM_CALL, STAT_EXEC] += 1
                n = oparg[pc]
                if stag[sp - n - 2] == T_NULL:
                    fpos = sp - n - 1
                    argc = n
                else:
                    fpos = sp - n - 2
                    argc = n + 1
                ft = stag[fpos]
                fid = si[fpos]
                hit = False
                if op == CALL_PY_EXACT_ARGS:
                    if ft == T_FUNC and fid == cache[pc, 1] and argc == cache[pc, 2]:
                        # push a frame: the arguments become the callee's first locals, in place
                        if depth + 1 >= depth_limit or depth + 1 >= frames.shape[0]:
                            status[0] = E_RECURSION
                            status[1] = pc
                            state[ST_STEPS] = steps
                            return
                        nbase = sp - argc
                        nl = fn[fid, FN_NLOCALS]
                        if nbase + nl + fn[fid, FN_STACK] > scap:
                            status[0] = E_RECURSION
                            status[1] = pc
                            state[ST_STEPS] = steps
                            return
                        for k in range(argc, nl):
                            stag[nbase + k] = T_NULL
                        frames[depth, FR_PC] = pc + 1
                        depth += 1
                        frames[depth, FR_FUNC] = fid
                        frames[depth, FR_BASE] = nbase
                        frames[depth, FR_RETSP] = sp - n - 2
                        frames[depth, FR_INITOBJ] = -1
                        frames[depth, FR_ITERTOP] = it_top
                        stats[FAM_CALL, STAT_HIT] += 1
                        tot_hit += 1
                        if sat != 0 and mode == 1 and cache[pc, 0] < budget:
                            cache[pc, 0] += 1
                        base = nbase
                        sp = nbase + nl
                        pc = fn[fid, FN_ENTRY]
                        if steps > step_limit:
                            status[0] = E_STEPS
                            status[1] = pc
                            state[ST_STEPS] = steps
                            return
                        continue
                elif op == CALL_LEN:
                    if ft == T_BUILTIN and fid == B_LEN and argc == 1:
                        at = stag[sp - 1]
                        if at == T_STR:
                            r = shdr[si[sp - 1], S_LEN]
                            hit = True
                        elif at == T_LIST or at == T_TUPLE:
                            r = lhdr[si[sp - 1], L_LEN]
                            hit = True
                        if hit:
                            sp = sp - n - 1
                            stag[sp - 1] = T_INT
                            si[sp - 1] = r
                elif op == CALL_LIST_APPEND:
                    if ft == T_BUILTIN and fid == B_LIST_APPEND and argc == 2 and stag[sp - 2] == T_LIST:
                        lid = si[sp - 2]
                        if not list_grow(lhdr, etag, ei, ef, state, lid):
                            status[0] = E_HEAP
                            status[1] = pc
                            status[2] = 1
                            state[ST_STEPS] = steps
                            return
                        s = lhdr[lid, L_OFF] + lhdr[lid, L_LEN]
                        etag[s] = stag[sp - 1]
                        ei[s] = si[sp - 1]
                        ef[s] = sf[sp - 1]
                        lhdr[lid, L_LEN] += 1
                        sp = sp - n - 1
                        stag[sp - 1] = T_NONE
                        hit = True
                else:  # CALL_BUILTIN_O
                    if ft == T_BUILTIN and fid == cache[pc, 1] and argc == 1:
                        at = stag[sp - 1]
                        if fid == B_ABS:
                            if at == T_INT or at == T_BOOL:
                                v = si[sp - 1]
                                if v == I64MIN:
                                    status[0] = E_OVERFLOW
                                    status[1] = pc
                                    state[ST_STEPS] = steps
                                    return
                                sp = sp - n - 1
                                stag[sp - 1] = T_INT
                                si[sp - 1] = v if v >= 0 else -v
                                hit = True
                            elif at == T_FLOAT:
                                y = abs(sf[sp - 1])
                                sp = sp - n - 1
                                stag[sp - 1] = T_FLOAT
                                sf[sp - 1] = y
                                hit = True
                        elif fid == B_FLOAT:
                            if at == T_INT or at == T_BOOL or at == T_FLOAT:
                                y = sf[sp - 1] if at == T_FLOAT else float(si[sp - 1])
                                sp = sp - n - 1
                                stag[sp - 1] = T_FLOAT
                                sf[sp - 1] = y
                                hit = True
                        elif fid == B_INT:
                            if at == T_INT or at == T_BOOL:
                                v = si[sp - 1]
                                sp = sp - n - 1
                                stag[sp - 1] = T_INT
                                si[sp - 1] = v
                                hit = True
                if hit:
                    stats[FAM_CALL, STAT_HIT] += 1
                    tot_hit += 1
                    if sat != 0 and mode == 1 and cache[pc, 0] < budget:
                        cache[pc, 0] += 1
                    pc += 1
                    continue
                stats[FAM_CALL, STAT_MISS] += 1
                tot_miss += 1
                if mode == 1:
                    state[ST_STEPS] = steps
                    miss311(code, cache, pc, CALL_ADAPTIVE, params, stats, FAM_CALL, timeline, state, callno)
                op = CALL
                from_miss = True

            # ================================================================ 2. base / adaptive forms
            if op == LOAD_GLOBAL or op == LOAD_GLOBAL_ADAPTIVE:
                if not from_miss:
                    stats[FAM_LOAD_GLOBAL, STAT_EXEC] += 1
                if adapt(cache, pc, op == LOAD_GLOBAL_ADAPTIVE, mode, from_miss, stats, FAM_LOAD_GLOBAL):
                    state[ST_STEPS] = steps
                    specialize(FAM_LOAD_GLOBAL, pc, sp, from_miss, code, oparg, cache, fn, names, sdata, shdr, lhdr, ocls,
                               otag, dhdr, dkey, dhash, dtag, di, chdr, stag, si, params, fam_on, state, stats,
                               fails, timeline)
                    stats[FAM_LOAD_GLOBAL, STAT_EXEC] -= 1
                    from_miss = False
                    steps -= 1
                    continue
                from_miss = False
                # generic: hash the name (cached or not), probe globals, then builtins
                sid = names[oparg[pc]]
                h = name_hash(sdata, shdr, sid, hcached)
                found, slot = dict_probe(dhdr, dkey, dhash, 0, sid, h, sdata, shdr, intern)
                t = 0
                if not found:
                    found, slot = dict_probe(dhdr, dkey, dhash, 1, sid, h, sdata, shdr, intern)
                    t = 1
                if not found:
                    status[0] = E_NAME
                    status[1] = pc
                    status[2] = sid
                    state[ST_STEPS] = steps
                    return
                s = dhdr[t, D_OFF] + slot
                stag[sp] = dtag[s]
                si[sp] = di[s]
                sf[sp] = df[s]
                sp += 1
                pc += 1
                continue

            if op == STORE_GLOBAL:
                sid = names[oparg[pc]]
                h = shdr[sid, S_HASH]
                found, slot = dict_probe(dhdr, dkey, dhash, 0, sid, h, sdata, shdr, intern)
                s = dhdr[0, D_OFF] + slot
                if not found:
                    if (dhdr[0, D_USED] + 1) * 3 > (dhdr[0, D_MASK] + 1) * 2:
                        status[0] = E_HEAP
                        status[1] = pc
                        status[2] = 2
                        state[ST_STEPS] = steps
                        return
                    dkey[s] = sid
                    dhash[s] = h
                    dhdr[0, D_USED] += 1
                    dhdr[0, D_VERSION] = 0  # the keys changed: dk_version is invalidated
                sp -= 1
                dtag[s] = stag[sp]
                di[s] = si[sp]
                df[s] = sf[sp]
                pc += 1
                continue

            if op == LOAD_ATTR or op == LOAD_ATTR_ADAPTIVE or op == LOAD_METHOD:
                sid = names[oparg[pc]]
                ot = stag[sp - 1]
                o = si[sp - 1]
                if op != LOAD_METHOD:
                    if not from_miss:
                        stats[FAM_LOAD_ATTR, STAT_EXEC] += 1
                    if adapt(cache, pc, op == LOAD_ATTR_ADAPTIVE, mode, from_miss, stats, FAM_LOAD_ATTR):
                        state[ST_STEPS] = steps
                        specialize(FAM_LOAD_ATTR, pc, sp, from_miss, code, oparg, cache, fn, names, sdata, shdr, lhdr, ocls,
                                   otag, dhdr, dkey, dhash, dtag, di, chdr, stag, si, params, fam_on, state, stats,
                                   fails, timeline)
                        stats[FAM_LOAD_ATTR, STAT_EXEC] -= 1
                        from_miss = False
                        steps -= 1
                        continue
                from_miss = False
                h = name_hash(sdata, shdr, sid, hcached)
                if ot == T_OBJ:
                    c = ocls[o]
                    # the type first (data descriptors would win; methods and class attributes are remembered)
                    fc, cs = dict_probe(dhdr, dkey, dhash, chdr[c, C_DICT], sid, h, sdata, shdr, intern)
                    # then the instance's values through the class's shared keys
                    fk, ks = dict_probe(dhdr, dkey, dhash, chdr[c, C_KEYS], sid, h, sdata, shdr, intern)
                    if fk:
                        s = o * K + di[dhdr[chdr[c, C_KEYS], D_OFF] + ks]
                        if otag[s] != T_NULL:
                            if op == LOAD_METHOD:
                                stag[sp - 1] = T_NULL
                                stag[sp] = otag[s]
                                si[sp] = oi[s]
                                sf[sp] = of[s]
                                sp += 1
                            else:
                                stag[sp - 1] = otag[s]
                                si[sp - 1] = oi[s]
                                sf[sp - 1] = of[s]
                            pc += 1
                            continue
                    if fc:
                        s = dhdr[chdr[c, C_DICT], D_OFF] + cs
                        if dtag[s] == T_FUNC:
                            if op == LOAD_METHOD:
                                stag[sp - 1] = T_FUNC
                                si[sp - 1] = di[s]
                                stag[sp] = T_OBJ
                                si[sp] = o
                                sp += 1
                                pc += 1
                                continue
                            status[0] = E_UNSUPPORTED
                            status[1] = pc
                            status[2] = 3
                            state[ST_STEPS] = steps
                            return
                        if op == LOAD_METHOD:
                            stag[sp - 1] = T_NULL
                            stag[sp] = dtag[s]
                            si[sp] = di[s]
                            sf[sp] = df[s]
                            sp += 1
                        else:
                            stag[sp - 1] = dtag[s]
                            si[sp - 1] = di[s]
                            sf[sp - 1] = df[s]
                        pc += 1
                        continue
                elif ot == T_CLASS:
                    fc, cs = dict_probe(dhdr, dkey, dhash, chdr[o, C_DICT], sid, h, sdata, shdr, intern)
                    if fc:
                        s = dhdr[chdr[o, C_DICT], D_OFF] + cs
                        if op == LOAD_METHOD:
                            stag[sp - 1] = T_NULL
                            stag[sp] = dtag[s]
                            si[sp] = di[s]
                            sf[sp] = df[s]
                            sp += 1
                        else:
                            stag[sp - 1] = dtag[s]
                            si[sp - 1] = di[s]
                            sf[sp - 1] = df[s]
                        pc += 1
                        continue
                elif ot == T_LIST and op == LOAD_METHOD and str_eq(sdata, shdr, sid, params[P_SID_APPEND]):
                    stag[sp - 1] = T_BUILTIN
                    si[sp - 1] = B_LIST_APPEND
                    stag[sp] = T_LIST
                    si[sp] = o
                    sp += 1
                    pc += 1
                    continue
                status[0] = E_ATTR
                status[1] = pc
                status[2] = sid
                status[3] = ot
                state[ST_STEPS] = steps
                return

            if op == STORE_ATTR or op == STORE_ATTR_ADAPTIVE:
                sid = names[oparg[pc]]
                ot = stag[sp - 1]
                o = si[sp - 1]
                if not from_miss:
                    stats[FAM_STORE_ATTR, STAT_EXEC] += 1
                if adapt(cache, pc, op == STORE_ATTR_ADAPTIVE, mode, from_miss, stats, FAM_STORE_ATTR):
                    state[ST_STEPS] = steps
                    specialize(FAM_STORE_ATTR, pc, sp, from_miss, code, oparg, cache, fn, names, sdata, shdr, lhdr, ocls,
                               otag, dhdr, dkey, dhash, dtag, di, chdr, stag, si, params, fam_on, state, stats,
                               fails, timeline)
                    stats[FAM_STORE_ATTR, STAT_EXEC] -= 1
                    from_miss = False
                    steps -= 1
                    continue
                from_miss = False
                h = name_hash(sdata, shdr, sid, hcached)
                if ot == T_OBJ:
                    c = ocls[o]
                    fc, cs = dict_probe(dhdr, dkey, dhash, chdr[c, C_DICT], sid, h, sdata, shdr, intern)
                    kt = chdr[c, C_KEYS]
                    fk, ks = dict_probe(dhdr, dkey, dhash, kt, sid, h, sdata, shdr, intern)
                    s0 = dhdr[kt, D_OFF] + ks
                    if not fk:
                        idx = chdr[c, C_NKEYS]
                        if idx >= K or (dhdr[kt, D_USED] + 1) * 3 > (dhdr[kt, D_MASK] + 1) * 2:
                            status[0] = E_ATTRS_FULL
                            status[1] = pc
                            status[2] = K
                            state[ST_STEPS] = steps
                            return
                        dkey[s0] = sid
                        dhash[s0] = shdr[sid, S_HASH]
                        dtag[s0] = T_INT
                        di[s0] = idx
                        dhdr[kt, D_USED] += 1
                        dhdr[kt, D_VERSION] = 0
                        chdr[c, C_NKEYS] = idx + 1
                    s = o * K + di[s0]
                    otag[s] = stag[sp - 2]
                    oi[s] = si[sp - 2]
                    of[s] = sf[sp - 2]
                    sp -= 2
                    pc += 1
                    continue
                if ot == T_CLASS:
                    t = chdr[o, C_DICT]
                    fc, cs = dict_probe(dhdr, dkey, dhash, t, sid, h, sdata, shdr, intern)
                    s = dhdr[t, D_OFF] + cs
                    if not fc:
                        if (dhdr[t, D_USED] + 1) * 3 > (dhdr[t, D_MASK] + 1) * 2:
                            status[0] = E_ATTRS_FULL
                            status[1] = pc
                            status[2] = dhdr[t, D_MASK] + 1
                            state[ST_STEPS] = steps
                            return
                        dkey[s] = sid
                        dhash[s] = shdr[sid, S_HASH]
                        dhdr[t, D_USED] += 1
                        dhdr[t, D_VERSION] = 0
                    dtag[s] = stag[sp - 2]
                    di[s] = si[sp - 2]
                    df[s] = sf[sp - 2]
                    chdr[o, C_VERSION] = 0  # PyType_Modified: the type's version tag is gone
                    sp -= 2
                    pc += 1
                    continue
                status[0] = E_ATTR
                status[1] = pc
                status[2] = sid
                status[3] = ot
                state[ST_STEPS] = steps
                return

            if op == BINARY_OP or op == BINARY_OP_ADAPTIVE:
                ta = stag[sp - 2]
                tb = stag[sp - 1]
                nb = oparg[pc]
                if not from_miss:
                    stats[FAM_BINARY_OP, STAT_EXEC] += 1
                if adapt(cache, pc, op == BINARY_OP_ADAPTIVE, mode, from_miss, stats, FAM_BINARY_OP):
                    state[ST_STEPS] = steps
                    specialize(FAM_BINARY_OP, pc, sp, from_miss, code, oparg, cache, fn, names, sdata, shdr, lhdr, ocls,
                               otag, dhdr, dkey, dhash, dtag, di, chdr, stag, si, params, fam_on, state, stats,
                               fails, timeline)
                    stats[FAM_BINARY_OP, STAT_EXEC] -= 1
                    from_miss = False
                    steps -= 1
                    continue
                from_miss = False
                na = ta == T_INT or ta == T_FLOAT or ta == T_BOOL
                nbb = tb == T_INT or tb == T_FLOAT or tb == T_BOOL
                kind = nb - 13 if nb >= 13 else nb
                if na and nbb:
                    err, rt, rv, rfv = binop_num(nb, ta, si[sp - 2], sf[sp - 2], tb, si[sp - 1], sf[sp - 1])
                    if err != E_OK:
                        status[0] = err
                        status[1] = pc
                        status[2] = rv
                        status[3] = ta
                        status[4] = tb
                        state[ST_STEPS] = steps
                        return
                    sp -= 1
                    stag[sp - 1] = rt
                    si[sp - 1] = rv
                    sf[sp - 1] = rfv
                    pc += 1
                    continue
                if kind == NB_ADD and ta == T_STR and tb == T_STR:
                    a = si[sp - 2]
                    b = si[sp - 1]
                    la = shdr[a, S_LEN]
                    lb = shdr[b, S_LEN]
                    r = new_str(sdata, shdr, state, la + lb)
                    if r < 0:
                        status[0] = E_HEAP
                        status[1] = pc
                        state[ST_STEPS] = steps
                        return
                    o1 = shdr[r, S_OFF]
                    for k in range(la):
                        sdata[o1 + k] = sdata[shdr[a, S_OFF] + k]
                    for k in range(lb):
                        sdata[o1 + la + k] = sdata[shdr[b, S_OFF] + k]
                    shdr[r, S_HASH] = fnv(sdata, o1, la + lb)
                    sp -= 1
                    si[sp - 1] = r
                    pc += 1
                    continue
                if kind == NB_ADD and ((ta == T_LIST and tb == T_LIST) or (ta == T_TUPLE and tb == T_TUPLE)):
                    a = si[sp - 2]
                    b = si[sp - 1]
                    la = lhdr[a, L_LEN]
                    lb = lhdr[b, L_LEN]
                    r = new_list(lhdr, state, la + lb, etag)
                    if r < 0:
                        status[0] = E_HEAP
                        status[1] = pc
                        status[2] = 1
                        state[ST_STEPS] = steps
                        return
                    o1 = lhdr[r, L_OFF]
                    for k in range(la):
                        s = lhdr[a, L_OFF] + k
                        etag[o1 + k] = etag[s]
                        ei[o1 + k] = ei[s]
                        ef[o1 + k] = ef[s]
                    for k in range(lb):
                        s = lhdr[b, L_OFF] + k
                        etag[o1 + la + k] = etag[s]
                        ei[o1 + la + k] = ei[s]
                        ef[o1 + la + k] = ef[s]
                    sp -= 1
                    si[sp - 1] = r
                    pc += 1
                    continue
                if kind == NB_MULTIPLY and (((ta == T_LIST or ta == T_TUPLE or ta == T_STR) and
                                             (tb == T_INT or tb == T_BOOL)) or
                                            ((tb == T_LIST or tb == T_TUPLE or tb == T_STR) and
                                             (ta == T_INT or ta == T_BOOL))):
                    if ta == T_INT or ta == T_BOOL:
                        cnt = si[sp - 2]
                        a = si[sp - 1]
                        st = tb
                    else:
                        cnt = si[sp - 1]
                        a = si[sp - 2]
                        st = ta
                    if cnt < 0:
                        cnt = 0
                    la = shdr[a, S_LEN] if st == T_STR else lhdr[a, L_LEN]
                    if la > 0 and cnt > (1 << 40) // la:
                        status[0] = E_HEAP
                        status[1] = pc
                        status[2] = 1
                        state[ST_STEPS] = steps
                        return
                    if st == T_STR:
                        r = new_str(sdata, shdr, state, la * cnt)
                        if r < 0:
                            status[0] = E_HEAP
                            status[1] = pc
                            state[ST_STEPS] = steps
                            return
                        o1 = shdr[r, S_OFF]
                        for rep in range(cnt):
                            for k in range(la):
                                sdata[o1 + rep * la + k] = sdata[shdr[a, S_OFF] + k]
                        shdr[r, S_HASH] = fnv(sdata, o1, la * cnt)
                    else:
                        r = new_list(lhdr, state, la * cnt, etag)
                        if r < 0:
                            status[0] = E_HEAP
                            status[1] = pc
                            status[2] = 1
                            state[ST_STEPS] = steps
                            return
                        o1 = lhdr[r, L_OFF]
                        for rep in range(cnt):
                            for k in range(la):
                                s = lhdr[a, L_OFF] + k
                                d = o1 + rep * la + k
                                etag[d] = etag[s]
                                ei[d] = ei[s]
                                ef[d] = ef[s]
                    sp -= 1
                    stag[sp - 1] = st
                    si[sp - 1] = r
                    pc += 1
                    continue
                status[0] = E_TYPE
                status[1] = pc
                status[2] = 1
                status[3] = ta
                status[4] = tb
                state[ST_STEPS] = steps
                return

            if op == COMPARE_OP or op == COMPARE_OP_ADAPTIVE:
                ta = stag[sp - 2]
                tb = stag[sp - 1]
                cop = oparg[pc]
                if not from_miss:
                    stats[FAM_COMPARE_OP, STAT_EXEC] += 1
                if adapt(cache, pc, op == COMPARE_OP_ADAPTIVE, mode, from_miss, stats, FAM_COMPARE_OP):
                    state[ST_STEPS] = steps
                    specialize(FAM_COMPARE_OP, pc, sp, from_miss, code, oparg, cache, fn, names, sdata, shdr, lhdr, ocls,
                               otag, dhdr, dkey, dhash, dtag, di, chdr, stag, si, params, fam_on, state, stats,
                               fails, timeline)
                    stats[FAM_COMPARE_OP, STAT_EXEC] -= 1
                    from_miss = False
                    steps -= 1
                    continue
                from_miss = False
                na = ta == T_INT or ta == T_FLOAT or ta == T_BOOL
                nbb = tb == T_INT or tb == T_FLOAT or tb == T_BOOL
                res = False
                if na and nbb:
                    res = cmp_result(num_cmp(ta, si[sp - 2], sf[sp - 2], tb, si[sp - 1], sf[sp - 1]), cop)
                elif ta == T_STR and tb == T_STR:
                    res = cmp_result(str_cmp(sdata, shdr, si[sp - 2], si[sp - 1]), cop)
                elif cop == 2 or cop == 3:
                    eq = False
                    if (ta == T_LIST and tb == T_LIST) or (ta == T_TUPLE and tb == T_TUPLE):
                        e = seq_eq(lhdr, etag, ei, ef, sdata, shdr, si[sp - 2], si[sp - 1])
                        if e < 0:
                            status[0] = E_UNSUPPORTED
                            status[1] = pc
                            status[2] = 4
                            state[ST_STEPS] = steps
                            return
                        eq = e == 1
                    elif ta == tb:
                        eq = ta == T_NONE or si[sp - 2] == si[sp - 1]
                    res = eq if cop == 2 else not eq
                else:
                    status[0] = E_TYPE
                    status[1] = pc
                    status[2] = 2
                    status[3] = ta
                    status[4] = tb
                    state[ST_STEPS] = steps
                    return
                sp -= 1
                stag[sp - 1] = T_BOOL
                si[sp - 1] = 1 if res else 0
                pc += 1
                continue

            if op == IS_OP:
                ta = stag[sp - 2]
                tb = stag[sp - 1]
                same = ta == tb and (ta == T_NONE or si[sp - 2] == si[sp - 1])
                if ta == T_FLOAT and tb == T_FLOAT:
                    same = False
                sp -= 1
                stag[sp - 1] = T_BOOL
                si[sp - 1] = 1 if same != (oparg[pc] == 1) else 0
                pc += 1
                continue

            if op == UNARY_NEGATIVE:
                t = stag[sp - 1]
                if t == T_INT or t == T_BOOL:
                    if si[sp - 1] == I64MIN:
                        status[0] = E_OVERFLOW
                        status[1] = pc
                        state[ST_STEPS] = steps
                        return
                    stag[sp - 1] = T_INT
                    si[sp - 1] = -si[sp - 1]
                elif t == T_FLOAT:
                    sf[sp - 1] = -sf[sp - 1]
                else:
                    status[0] = E_TYPE
                    status[1] = pc
                    status[2] = 3
                    status[3] = t
                    state[ST_STEPS] = steps
                    return
                pc += 1
                continue

            if op == UNARY_NOT:
                tv = truthy(stag[sp - 1], si[sp - 1], sf[sp - 1], shdr, lhdr, rng)
                stag[sp - 1] = T_BOOL
                si[sp - 1] = 0 if tv else 1
                pc += 1
                continue

            if op == BINARY_SUBSCR or op == BINARY_SUBSCR_ADAPTIVE:
                ta = stag[sp - 2]
                tb = stag[sp - 1]
                if not from_miss:
                    stats[FAM_BINARY_SUBSCR, STAT_EXEC] += 1
                if adapt(cache, pc, op == BINARY_SUBSCR_ADAPTIVE, mode, from_miss, stats, FAM_BINARY_SUBSCR):
                    state[ST_STEPS] = steps
                    specialize(FAM_BINARY_SUBSCR, pc, sp, from_miss, code, oparg, cache, fn, names, sdata, shdr, lhdr, ocls,
                               otag, dhdr, dkey, dhash, dtag, di, chdr, stag, si, params, fam_on, state, stats,
                               fails, timeline)
                    stats[FAM_BINARY_SUBSCR, STAT_EXEC] -= 1
                    from_miss = False
                    steps -= 1
                    continue
                from_miss = False
                if tb != T_INT and tb != T_BOOL:
                    status[0] = E_TYPE
                    status[1] = pc
                    status[2] = 4
                    status[3] = ta
                    status[4] = tb
                    state[ST_STEPS] = steps
                    return
                idx = si[sp - 1]
                if ta == T_LIST or ta == T_TUPLE or ta == T_STR:
                    n = lhdr[si[sp - 2], L_LEN] if ta != T_STR else shdr[si[sp - 2], S_LEN]
                    if idx < 0:
                        idx += n
                    if idx < 0 or idx >= n:
                        status[0] = E_INDEX
                        status[1] = pc
                        status[2] = si[sp - 1]
                        status[3] = ta
                        state[ST_STEPS] = steps
                        return
                    if ta == T_STR:
                        a = si[sp - 2]
                        r = new_str(sdata, shdr, state, 1)
                        if r < 0:
                            status[0] = E_HEAP
                            status[1] = pc
                            state[ST_STEPS] = steps
                            return
                        sdata[shdr[r, S_OFF]] = sdata[shdr[a, S_OFF] + idx]
                        shdr[r, S_HASH] = fnv(sdata, shdr[r, S_OFF], 1)
                        sp -= 1
                        stag[sp - 1] = T_STR
                        si[sp - 1] = r
                    else:
                        s = lhdr[si[sp - 2], L_OFF] + idx
                        sp -= 1
                        stag[sp - 1] = etag[s]
                        si[sp - 1] = ei[s]
                        sf[sp - 1] = ef[s]
                    pc += 1
                    continue
                if ta == T_RANGE:
                    rr = si[sp - 2]
                    n = range_len(rng[rr, 0], rng[rr, 1], rng[rr, 2])
                    if idx < 0:
                        idx += n
                    if idx < 0 or idx >= n:
                        status[0] = E_INDEX
                        status[1] = pc
                        status[2] = si[sp - 1]
                        status[3] = ta
                        state[ST_STEPS] = steps
                        return
                    sp -= 1
                    stag[sp - 1] = T_INT
                    si[sp - 1] = rng[rr, 0] + idx * rng[rr, 2]
                    pc += 1
                    continue
                status[0] = E_TYPE
                status[1] = pc
                status[2] = 5
                status[3] = ta
                state[ST_STEPS] = steps
                return

            if op == STORE_SUBSCR or op == STORE_SUBSCR_ADAPTIVE:
                ta = stag[sp - 2]
                tb = stag[sp - 1]
                if not from_miss:
                    stats[FAM_STORE_SUBSCR, STAT_EXEC] += 1
                if adapt(cache, pc, op == STORE_SUBSCR_ADAPTIVE, mode, from_miss, stats, FAM_STORE_SUBSCR):
                    state[ST_STEPS] = steps
                    specialize(FAM_STORE_SUBSCR, pc, sp, from_miss, code, oparg, cache, fn, names, sdata, shdr, lhdr, ocls,
                               otag, dhdr, dkey, dhash, dtag, di, chdr, stag, si, params, fam_on, state, stats,
                               fails, timeline)
                    stats[FAM_STORE_SUBSCR, STAT_EXEC] -= 1
                    from_miss = False
                    steps -= 1
                    continue
                from_miss = False
                if ta != T_LIST:
                    status[0] = E_TYPE
                    status[1] = pc
                    status[2] = 6
                    status[3] = ta
                    state[ST_STEPS] = steps
                    return
                if tb != T_INT and tb != T_BOOL:
                    status[0] = E_TYPE
                    status[1] = pc
                    status[2] = 4
                    status[3] = ta
                    status[4] = tb
                    state[ST_STEPS] = steps
                    return
                lid = si[sp - 2]
                n = lhdr[lid, L_LEN]
                idx = si[sp - 1]
                if idx < 0:
                    idx += n
                if idx < 0 or idx >= n:
                    status[0] = E_INDEX
                    status[1] = pc
                    status[2] = si[sp - 1]
                    status[3] = ta
                    state[ST_STEPS] = steps
                    return
                s = lhdr[lid, L_OFF] + idx
                etag[s] = stag[sp - 3]
                ei[s] = si[sp - 3]
                ef[s] = sf[sp - 3]
                sp -= 3
                pc += 1
                continue

            if op == BUILD_LIST or op == BUILD_TUPLE:
                n = oparg[pc]
                r = new_list(lhdr, state, n, etag)
                if r < 0:
                    status[0] = E_HEAP
                    status[1] = pc
                    status[2] = 1
                    state[ST_STEPS] = steps
                    return
                o1 = lhdr[r, L_OFF]
                for k in range(n):
                    s = sp - n + k
                    etag[o1 + k] = stag[s]
                    ei[o1 + k] = si[s]
                    ef[o1 + k] = sf[s]
                sp -= n
                stag[sp] = T_LIST if op == BUILD_LIST else T_TUPLE
                si[sp] = r
                sp += 1
                pc += 1
                continue

            if op == UNPACK_SEQUENCE:
                n = oparg[pc]
                t = stag[sp - 1]
                if t != T_LIST and t != T_TUPLE:
                    status[0] = E_TYPE
                    status[1] = pc
                    status[2] = 7
                    status[3] = t
                    state[ST_STEPS] = steps
                    return
                lid = si[sp - 1]
                if lhdr[lid, L_LEN] != n:
                    status[0] = E_UNPACK
                    status[1] = pc
                    status[2] = n
                    status[3] = lhdr[lid, L_LEN]
                    state[ST_STEPS] = steps
                    return
                o1 = lhdr[lid, L_OFF]
                sp -= 1
                for k in range(n):
                    s = o1 + n - 1 - k
                    stag[sp] = etag[s]
                    si[sp] = ei[s]
                    sf[sp] = ef[s]
                    sp += 1
                pc += 1
                continue

            if op == GET_ITER:
                t = stag[sp - 1]
                if it_top >= it.shape[0]:
                    status[0] = E_HEAP
                    status[1] = pc
                    status[2] = 3
                    state[ST_STEPS] = steps
                    return
                if t == T_RANGE:
                    rr = si[sp - 1]
                    it[it_top, 0] = rng[rr, 0]
                    it[it_top, 1] = rng[rr, 1]
                    it[it_top, 2] = rng[rr, 2]
                    stag[sp - 1] = T_RANGE_ITER
                elif t == T_LIST or t == T_TUPLE:
                    it[it_top, 0] = si[sp - 1]
                    it[it_top, 1] = 0
                    it[it_top, 2] = 0
                    stag[sp - 1] = T_LIST_ITER if t == T_LIST else T_TUPLE_ITER
                else:
                    status[0] = E_NOT_ITERABLE
                    status[1] = pc
                    status[2] = t
                    state[ST_STEPS] = steps
                    return
                si[sp - 1] = it_top
                it_top += 1
                pc += 1
                continue

            if op == FOR_ITER or op == FOR_ITER_ADAPTIVE:
                t = stag[sp - 1]
                j = si[sp - 1]
                if not from_miss:
                    stats[FAM_FOR_ITER, STAT_EXEC] += 1
                if adapt(cache, pc, op == FOR_ITER_ADAPTIVE, mode, from_miss, stats, FAM_FOR_ITER):
                    state[ST_STEPS] = steps
                    specialize(FAM_FOR_ITER, pc, sp, from_miss, code, oparg, cache, fn, names, sdata, shdr, lhdr, ocls,
                               otag, dhdr, dkey, dhash, dtag, di, chdr, stag, si, params, fam_on, state, stats,
                               fails, timeline)
                    stats[FAM_FOR_ITER, STAT_EXEC] -= 1
                    from_miss = False
                    steps -= 1
                    continue
                from_miss = False
                more = False
                if t == T_RANGE_ITER:
                    cur = it[j, 0]
                    step = it[j, 2]
                    more = cur < it[j, 1] if step > 0 else cur > it[j, 1]
                    if more:
                        it[j, 0] = cur + step
                        stag[sp] = T_INT
                        si[sp] = cur
                elif t == T_LIST_ITER or t == T_TUPLE_ITER:
                    lid = it[j, 0]
                    idx = it[j, 1]
                    if idx < lhdr[lid, L_LEN]:
                        more = True
                        s = lhdr[lid, L_OFF] + idx
                        it[j, 1] = idx + 1
                        stag[sp] = etag[s]
                        si[sp] = ei[s]
                        sf[sp] = ef[s]
                if more:
                    sp += 1
                    pc += 1
                else:
                    sp -= 1
                    if j == it_top - 1:
                        it_top -= 1
                    pc = oparg[pc]
                continue

            if op == MAKE_CLASS:
                stag[sp] = T_CLASS
                si[sp] = oparg[pc]
                sp += 1
                pc += 1
                continue

            if op == RETURN_VALUE:
                rt = stag[sp - 1]
                rv = si[sp - 1]
                rfv = sf[sp - 1]
                io = frames[depth, FR_INITOBJ]
                if io >= 0:
                    if rt != T_NONE:
                        status[0] = E_INIT_RETURN
                        status[1] = pc
                        status[2] = rt
                        state[ST_STEPS] = steps
                        return
                    rt = T_OBJ
                    rv = io
                it_top = frames[depth, FR_ITERTOP]
                if depth == 0:
                    if callno >= 0:
                        rtag[callno] = rt
                        ri[callno] = rv
                        rf[callno] = rfv
                    break
                rs = frames[depth, FR_RETSP]
                depth -= 1
                stag[rs] = rt
                si[rs] = rv
                sf[rs] = rfv
                sp = rs + 1
                base = frames[depth, FR_BASE]
                pc = frames[depth, FR_PC]
                continue

            if op == CALL or op == CALL_ADAPTIVE:
                n = oparg[pc]
                if stag[sp - n - 2] == T_NULL:
                    fpos = sp - n - 1
                    argc = n
                else:
                    fpos = sp - n - 2
                    argc = n + 1
                ft = stag[fpos]
                fid = si[fpos]
                if not from_miss:
                    stats[FAM_CALL, STAT_EXEC] += 1
                if adapt(cache, pc, op == CALL_ADAPTIVE, mode, from_miss, stats, FAM_CALL):
                    state[ST_STEPS] = steps
                    specialize(FAM_CALL, pc, sp, from_miss, code, oparg, cache, fn, names, sdata, shdr, lhdr, ocls,
                               otag, dhdr, dkey, dhash, dtag, di, chdr, stag, si, params, fam_on, state, stats,
                               fails, timeline)
                    stats[FAM_CALL, STAT_EXEC] -= 1
                    from_miss = False
                    steps -= 1
                    continue
                from_miss = False
                argpos = sp - argc
                if ft == T_FUNC or ft == T_CLASS:
                    io = -1
                    if ft == T_CLASS:
                        c = fid
                        o = state[ST_OBJ_TOP]
                        if o >= ocls.shape[0]:
                            status[0] = E_HEAP
                            status[1] = pc
                            status[2] = 4
                            state[ST_STEPS] = steps
                            return
                        state[ST_OBJ_TOP] = o + 1
                        ocls[o] = c
                        for k in range(K):
                            otag[o * K + k] = T_NULL
                        isid = params[P_SID_INIT]
                        fc, cs = dict_probe(dhdr, dkey, dhash, chdr[c, C_DICT], isid, shdr[isid, S_HASH], sdata, shdr,
                                            intern)
                        s = dhdr[chdr[c, C_DICT], D_OFF] + cs
                        if not fc or dtag[s] != T_FUNC:
                            if argc != 0:
                                status[0] = E_ARGCOUNT
                                status[1] = pc
                                status[2] = 0
                                status[3] = argc
                                status[4] = c
                                state[ST_STEPS] = steps
                                return
                            sp = sp - n - 1
                            stag[sp - 1] = T_OBJ
                            si[sp - 1] = o
                            pc += 1
                            continue
                        # __init__(self, *args): self goes where the class was, just below the arguments
                        fid = di[s]
                        argpos -= 1
                        argc += 1
                        stag[argpos] = T_OBJ
                        si[argpos] = o
                        io = o
                    if argc != fn[fid, FN_NPARAMS]:
                        status[0] = E_ARGCOUNT
                        status[1] = pc
                        status[2] = fn[fid, FN_NPARAMS]
                        status[3] = argc
                        status[4] = -1 - fid
                        state[ST_STEPS] = steps
                        return
                    if depth + 1 >= depth_limit or depth + 1 >= frames.shape[0]:
                        status[0] = E_RECURSION
                        status[1] = pc
                        state[ST_STEPS] = steps
                        return
                    nl = fn[fid, FN_NLOCALS]
                    if argpos + nl + fn[fid, FN_STACK] > scap:
                        status[0] = E_RECURSION
                        status[1] = pc
                        state[ST_STEPS] = steps
                        return
                    for k in range(argc, nl):
                        stag[argpos + k] = T_NULL
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
                        status[0] = E_STEPS
                        status[1] = pc
                        state[ST_STEPS] = steps
                        return
                    continue
                if ft != T_BUILTIN:
                    status[0] = E_NOT_CALLABLE
                    status[1] = pc
                    status[2] = ft
                    state[ST_STEPS] = steps
                    return
                # ---------------------------------------------------------------- builtins
                bad, rt, rv, rfv = call_builtin(fid, argc, argpos, stag, si, sf, sdata, shdr, lhdr, etag, ei, ef,
                                                ocls, rng, state, ptag, pi, pf)
                a0t = stag[argpos] if argc > 0 else T_NULL
                if bad != E_OK:
                    status[0] = bad
                    status[1] = pc
                    status[2] = 100 + fid
                    status[3] = argc
                    status[4] = a0t
                    state[ST_STEPS] = steps
                    return
                sp = sp - n - 1
                stag[sp - 1] = rt
                si[sp - 1] = rv
                sf[sp - 1] = rfv
                pc += 1
                continue

            # an opcode the loop does not know: a bug in the table or the compiler
            status[0] = E_UNSUPPORTED
            status[1] = pc
            status[2] = 99
            status[3] = op
            state[ST_STEPS] = steps
            return
        # end of one call
        if callno >= 0:
            percall[callno, 0] = steps
            percall[callno, 1] = tot_hit
            percall[callno, 2] = tot_miss
    state[ST_STEPS] = steps
    state[ST_HITS] = tot_hit
    state[ST_MISSES] = tot_miss
    status[0] = E_OK
