"""lwnlab's specializer against the REAL CPython interpreters on this machine, operation site by operation site.

Every program of :data:`CORPUS` runs on a live CPython (3.11 with policy ``cpython311``; 3.12 and 3.13 with
``cpython312``) in a subprocess (:data:`PROBE`), which records after every call the adaptive disassembly
(``dis.get_instructions(adaptive=True)``) of every function and the first inline-cache word of each instruction
(the counter recipe of the reference sheet, section 10).  The same calls run on lwnlab's VM.  Then, for every
*operation site* (family, source line, n-th such operation on the line; 3.11's PRECALL + CALL pair is one CALL
site, method loads are skipped: lwnlab's LOAD_METHOD is not a family), these must agree:

* the sequence of states the site is in after each call: base, adaptive (3.11) or which specialized instruction,
  and at which call each change happened (so: when it first specialized, when it deoptimized, when it
  re-specialized, and whether it ever did);
* the counter word after the last call (3.11: the miss count of a specialized instruction, value << 4 | backoff
  of an adaptive one; 3.12: value << 4 | backoff always);
* the superinstructions formed, line by line (3.11 and 3.12; 3.13 has compiler-made ones instead);
* the result.

Names are mapped per version onto lwnlab's (which follow 3.13's spelling): 3.11 ``COMPARE_OP_INT_JUMP`` ->
``COMPARE_OP_INT``, ``PRECALL_NO_KW_LEN`` -> ``CALL_LEN``, ``PRECALL_NO_KW_BUILTIN_O`` -> ``CALL_BUILTIN_O``,
``PRECALL_NO_KW_LIST_APPEND`` -> ``CALL_LIST_APPEND``, ``PRECALL_BUILTIN_CLASS`` -> ``CALL_BUILTIN_CLASS``,
``PRECALL_NO_KW_ISINSTANCE`` -> ``CALL_ISINSTANCE``; 3.12 ``CALL_NO_KW_LEN`` / ``CALL_NO_KW_BUILTIN_O`` /
``CALL_NO_KW_LIST_APPEND`` / ``CALL_NO_KW_ISINSTANCE`` likewise; all versions ``BINARY_OP_INPLACE_ADD_UNICODE``
(``s += t`` with a local ``s``) -> ``BINARY_OP_ADD_UNICODE`` (lwnlab has one form for both).

3.13 is compared with ``cpython312`` where it behaves the same family by family: sites where 3.13 uses one of
its new instructions (:data:`NEW_IN_313`) are skipped, and so are the programs that call ``int``/``min``/``max``
(3.13 specializes those calls, 3.11 and 3.12 do not).  A missing interpreter skips its tests with the reason.

Two differences of *code generation*, not of the specializer, are left out of the corpus on purpose (they are
documented in :mod:`lwnlab.interp.opcodes`): 3.12+ copy a small exit block such as ``return x + k`` after an
``if/else`` into both branches (two BINARY_OP sites where lwnlab has one), and 3.12+ load a possibly unbound
local (a ``for`` variable after its loop) with ``LOAD_FAST_CHECK``, which never joins a superinstruction; so is
CPython's constant folding (``x * (5 / 9)``, ``if 1:``).  Run offline on 200 programs of the random-program
strategy of ``test_semantics_random.py`` (12 calls with one pair of arguments, then 12 with another), the
comparison found one more real difference (``for x in [a, 2]`` iterates a tuple in CPython: fixed in the
compiler); the programs whose set of sites CPython's folding changes (about 8 %) aside, all agreed site by site
with live 3.11 and 3.12.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import pickle
import subprocess
from collections import defaultdict

import pytest

from lwnlab.interp import execute
from lwnlab.interp import opcodes as O

PYTHONS = {"3.11": "/root/.pyenv/versions/3.11.7/bin/python",
           "3.12": "/root/.pyenv/versions/3.12.1/bin/python",
           "3.13": "/root/.pyenv/versions/3.13.0/bin/python"}
POLICY = {"3.11": "cpython311", "3.12": "cpython312", "3.13": "cpython312"}
NEW_IN_313 = {"CALL_ALLOC_AND_ENTER_INIT", "LOAD_ATTR_NONDESCRIPTOR_WITH_VALUES", "BINARY_SUBSCR_STR_INT"}

PROBE = r'''
import base64, dis, io, json, pickle, sys
jobs = json.load(sys.stdin)
out = []
def funcs_of(ns):
    fs = {}
    for k, v in list(ns.items()):
        if hasattr(v, "__code__") and getattr(v, "__module__", None) == "__probe__":
            fs[v.__qualname__] = v
        elif isinstance(v, type):
            for kk, vv in vars(v).items():
                if hasattr(vv, "__code__"):
                    fs[vv.__qualname__] = vv
    return fs
def snap(f):
    co = f.__code__
    raw = co._co_code_adaptive
    ins = list(dis.get_instructions(co, adaptive=True))
    rows = []
    for cur, nxt in zip(ins, ins[1:] + [None]):
        end = nxt.offset if nxt else len(raw)
        n_cache = (end - cur.offset) // 2 - 1
        word = int.from_bytes(raw[cur.offset + 2:cur.offset + 4], sys.byteorder) if n_cache > 0 else None
        p = cur.positions
        rows.append([cur.offset, cur.opname, p.lineno, p.col_offset, word, cur.arg])
    return rows
for src, func, calls in jobs:
    ns = {"__name__": "__probe__"}
    sys.stdout = io.StringIO()  # print() output is not the protocol
    exec(compile(src, "<probe>", "exec"), ns)
    fs = funcs_of(ns)
    calls = pickle.loads(base64.b64decode(calls))
    hist = {q: [[0, snap(f)]] for q, f in fs.items()}
    res = err = None
    for k, args in enumerate(calls, 1):
        try:
            res = fs[func](*args)
        except Exception as e:
            err = type(e).__name__
        for q, f in fs.items():
            s = snap(f)
            if s != hist[q][-1][1]:
                hist[q].append([k, s])
    out.append({"result": repr(res), "error": err, "hist": hist})
sys.stdout = sys.__stdout__
json.dump(out, sys.stdout)
'''


ADD = "def add(a, b):\n    return a + b\n"
# name, source, function, calls (each a tuple of arguments)
CORPUS = [
    # name, src, func, calls
    ("add_int", ADD, "add", [(1, 2)] * 12),
    ("add_int_then_float", ADD, "add", [(1, 2)] * 10 + [(1.5, 2.5)] * 100),
    ("add_int_float", ADD, "add", [(1, 2.5)] * 300),
    ("add_str", ADD, "add", [("a", "b")] * 12),
    ("add_list", ADD, "add", [([1], [2])] * 12),
    ("add_bool", ADD, "add", [(True, False)] * 12),
    ("sub_mul", "def f(a, b):\n    return a - b, a * b, a / b\n", "f", [(3, 2)] * 10 + [(3.0, 2.0)] * 70),
    ("sub_mul_f", "def f(a, b):\n    return a - b, a * b\n", "f", [(3.5, 2.0)] * 12),
    ("cmp_return", "def f(a, b):\n    return a < b\n", "f", [(1, 2)] * 12),
    ("cmp_if", "def f(a, b):\n    if a < b:\n        return 1\n    return 0\n", "f", [(1, 2)] * 12 + [(1.5, 2.5)] * 60),
    ("cmp_str", "def f(a, b):\n    if a == b:\n        return 1\n    if a < b:\n        return 2\n    return 0\n", "f",
     [("x", "y")] * 12),
    ("cmp_bigint", "def f(a, b):\n    if a < b:\n        return 1\n    return 0\n", "f", [(1 << 40, 2)] * 12),
    ("cmp_int_float", "def f(a, b):\n    if a < b:\n        return 1\n    return 0\n", "f", [(1, 2.5)] * 12),
    ("globals", "G = 1\ndef f():\n    return G + len('ab')\n", "f", [()] * 12),
    ("global_newkey", "G = 1\ndef add_key(k):\n    global NEW\n    NEW = k\n"
     "def f(k):\n    if k == 9:\n        add_key(k)\n    return G + len('ab')\n", "f", [(k,) for k in range(80)]),
    ("global_value_write", "G = 1\ndef f(k):\n    global G\n    G = G + 1\n    return G\n", "f",
     [(k,) for k in range(12)]),
    ("attrs", "class C:\n    k = 3\n    def __init__(self, x):\n        self.x = x\n"
     "def f(c):\n    return c.x + C.k\n"
     "def g(n):\n    c = C(n)\n    t = 0\n    for i in range(20):\n        t += f(c)\n    return t\n", "g", [(1,)] * 4),
    ("class_mutation", "class C:\n    k = 3\n    def __init__(self, x):\n        self.x = x\n"
     "def f(c):\n    return c.x + C.k\n"
     "def g(n):\n    c = C(n)\n    t = 0\n    for i in range(20):\n        t += f(c)\n        if i == 10 and n == 1:\n"
     "            C.k = 4\n    return t\n", "g", [(0,)] * 3 + [(1,)] + [(0,)] * 3),
    ("class_attr_via_instance", "class C:\n    k = 3\n    def __init__(self):\n        self.x = 1\n"
     "def f(c):\n    return c.k\n" "def g():\n    return f(C())\n", "g", [()] * 12),
    ("store_attr", "class P:\n    def __init__(self):\n        self.v = 0\n"
     "def f(n):\n    p = P()\n    for i in range(n):\n        p.v = p.v + i\n    return p.v\n", "f", [(50,)] * 3),
    ("subscr", "def f(xs, i):\n    xs[i] = xs[i] + 1\n    return xs[i]\n", "f", [([1, 2, 3], 1)] * 12),
    ("subscr_tuple", "def f(xs, i):\n    return xs[i]\n", "f", [((1, 2, 3), 1)] * 12),
    ("subscr_neg", "def f(xs, i):\n    xs[i] = 5\n    return xs[i]\n", "f", [([1, 2, 3], -1)] * 12),
    ("subscr_str", "def f(xs, i):\n    return xs[i]\n", "f", [("abc", 1)] * 12),
    ("calls", "def sq(x):\n    return x * x\n"
     "def f(xs):\n    t = 0\n    ys = [0] * len(xs)\n    for i in range(len(xs)):\n        if xs[i] < 100:\n"
     "            ys[i] = sq(xs[i])\n    for y in ys:\n        t += abs(y)\n    return t\n", "f", [([1, 2, 3, 4, 5],)] * 10),
    ("builtins", "def f(x, xs):\n    a = abs(x)\n    b = int(x)\n    c = float(x)\n    d = len(xs)\n    e = min(xs)\n"
     "    g = isinstance(x, int)\n    return c, e, g\n", "f", [(-3, [1, 2])] * 12),
    ("len_str", "def f(s):\n    return len(s)\n", "f", [("abc",)] * 12),
    ("append", "def f(n):\n    xs = []\n    for i in range(n):\n        xs.append(i)\n    return len(xs)\n", "f", [(5,)] * 12),
    ("method", "class C:\n    def __init__(self, x):\n        self.x = x\n    def m(self, y):\n        return self.x + y\n"
     "def f(c, y):\n    return c.m(y)\n" "def g(n):\n    return f(C(n), n)\n", "g", [(2,)] * 12),
    ("for_list", "def f(xs):\n    t = 0\n    for x in xs:\n        t = t + x\n    return t\n", "f", [([1, 2, 3],)] * 12),
    ("for_tuple", "def f(xs):\n    t = 0\n    for x in xs:\n        t = t + x\n    return t\n", "f", [((1, 2, 3),)] * 12),
    ("while", "def f(n):\n    i = 0\n    while i < n:\n        i += 1\n    return i\n", "f", [(100,)] * 3),
    ("while_few", "def f(n):\n    i = 0\n    while i < n:\n        i += 1\n    return i\n", "f", [(2,)] * 12),
    ("concat_loop", "def f(s):\n    t = ''\n    for i in range(3):\n        t = t + s\n        t += s\n    return t\n", "f",
     [("ab",)] * 10),
    ("chain", "def f(a, b, c):\n    if a < b < c:\n        return 1\n    return 0\n", "f", [(1, 2, 3)] * 12),
    ("andor", "def f(a, b):\n    if a < b and b < 10:\n        return 1\n    return 0\n", "f", [(1, 2)] * 12),
    ("wrong_argcount", "def g(a, b):\n    return a\n" "def h(a):\n    return a\n"
     "def f(k):\n    if k % 2:\n        return g(k, k)\n    return h(k)\n", "f", [(k,) for k in range(20)]),
    ("recursion", "def f(n):\n    if n < 2:\n        return n\n    return f(n - 1) + f(n - 2)\n", "f", [(10,)] * 2),
    ("poly_attr", "class A:\n    def __init__(self):\n        self.x = 1\nclass B:\n    def __init__(self):\n        self.x = 2.5\n"
     "def get(o):\n    return o.x\n" "def f(k):\n    if k < 10:\n        return get(A())\n    return get(B())\n", "f",
     [(k,) for k in range(100)]),
    ("func_change", "def g(a):\n    return a + 1\ndef h(a):\n    return a + 2\n"
     "def f(k):\n    fn = g\n    if k >= 5:\n        fn = h\n    return fn(k)\n", "f", [(k,) for k in range(80)]),
    ("for_mixed", "def f(k):\n    xs = [1, 2, 3]\n    if k > 5:\n        xs = range(3)\n    t = 0\n    for x in xs:\n        t += x\n"
     "    return t\n", "f", [(k,) for k in range(80)]),
    ("store_attr_later", "class P:\n    def __init__(self):\n        self.a = 0\n"
     "def f(n):\n    p = P()\n    p.b = n\n    p.a = p.b * 2\n    return p.a + p.b\n", "f", [(3,)] * 12),
    ("builtins_more", "def f(x, xs):\n    print(x)\n    c = bool(x)\n"
     "    e = max(xs)\n    g = float(x)\n    return c, e, g\n", "f", [(3, [1, 2])] * 12),
    ("cmp_int_then_float", "def f(a, b):\n    if a < b:\n        return 1\n    return 0\n", "f",
     [(1, 2)] * 10 + [(1.5, 2.5)] * 100),
    ("cmp_int_then_big", "def f(a, b):\n    if a < b:\n        return 1\n    return 0\n", "f",
     [(1, 2)] * 10 + [(1 << 40, 2)] * 100),
    ("sub_mul_then_float", "def f(a, b):\n    x = a - b\n    y = a * b\n    return x, y\n", "f",
     [(3, 2)] * 10 + [(3.5, 2.0)] * 100),
    ("subscr_list_then_tuple", "def f(xs):\n    return xs[1]\n", "f", [([1, 2],)] * 10 + [((1, 2),)] * 100),
    ("str_eq_then_int", "def f(a, b):\n    if a == b:\n        return 1\n    return 0\n", "f",
     [("a", "b")] * 10 + [(1, 2)] * 100),
    ("backoff_long", ADD, "add", [(1, 2.5)] * 4100),
    ("while_continue", "def f(n):\n    i = 0\n    t = 0\n    while i < n:\n        i += 1\n        if i % 2:\n            continue\n"
     "        t += i\n    return t\n", "f", [(6,)] * 6),
    ("for_break", "def f(n):\n    t = 0\n    for i in range(n):\n        if i > 3:\n            break\n        t += i\n    return t\n",
     "f", [(10,)] * 6),
    ("inplace", "def f(x, y):\n    x *= 2\n    y -= 1.5\n    x += 1\n    return x, y\n", "f", [(3, 2.0)] * 12),
    ("not_test", "def f(a, b):\n    if not a < b:\n        return 1\n    if a < b or b < 0:\n        return 2\n    return 3\n",
     "f", [(1, 2)] * 12),
    ("ifexp", "def f(a, b):\n    return a if a < b else b\n", "f", [(1, 2)] * 12),
    ("global_func_rebind", "def g(a):\n    return a\ndef h(a):\n    return -a\nF = g\n"
     "def swap():\n    global F\n    F = h\n" "def f(k):\n    if k == 20:\n        swap()\n    return F(k)\n", "f",
     [(k,) for k in range(100)]),
    ("class_attr_write_loop", "class C:\n    n = 0\n" "def f(k):\n    C.n = C.n + k\n    return C.n\n", "f",
     [(k,) for k in range(80)]),
    ("shadow_class_attr", "class C:\n    k = 1\n    def __init__(self):\n        self.k = 2\n"
     "def f():\n    c = C()\n    return c.k + C.k\n", "f", [()] * 12),
    ("attr_order", "class C:\n    def __init__(self, k):\n        if k:\n            self.a = 1\n            self.b = 2\n"
     "        else:\n            self.b = 3\n            self.a = 4\n"
     "def f(k):\n    c = C(k % 2)\n    return c.a + c.b\n", "f", [(k,) for k in range(80)]),
    ("late_attr_method", "class C:\n    def __init__(self):\n        self.a = 1\n    def setb(self):\n        self.b = 5\n"
     "def f():\n    c = C()\n    c.setb()\n    return c.a + c.b\n", "f", [()] * 12),
    ("len_shadow", "len = 7\ndef f():\n    return len + 1\n", "f", [()] * 12),
    ("float_loop", "def f(xs):\n    t = 0.0\n    for x in xs:\n        t = t + x * 0.5\n    return t\n", "f",
     [([1.0, 2.0, 3.5] * 10,)] * 3),
    ("none_cmp", "def f(a):\n    if a == None:\n        return 1\n    return 0\n", "f", [(None,)] * 12),
    ("bool_cmp", "def f(a, b):\n    if a < b:\n        return 1\n    return 0\n", "f", [(True, False)] * 12),
    ("str_mul", "def f(s):\n    return s * 3\n", "f", [("ab",)] * 12),
    ("aug_subscr_attr", "class P:\n    def __init__(self):\n        self.v = 0\n"
     "def f(xs):\n    p = P()\n    for i in range(len(xs)):\n        xs[i] += 1\n        p.v += xs[i]\n    return p.v\n",
     "f", [([1, 2, 3, 4],)] * 6),
    ("global_aug", "G = 0\ndef f(k):\n    global G\n    G += k\n    return G\n", "f", [(k,) for k in range(12)]),
    ("swap", "def f(a, b):\n    a, b = b, a\n    c = d = a\n    return a - b + c + d\n", "f", [(1, 2)] * 12),
    ("one_long_call", "def f(n):\n    t = 0\n    for i in range(n):\n        t = t + i * 2 - 1\n        if t > 100000:\n"
     "            t = t - 100000\n    return t\n", "f", [(1000,)]),
    ("helper_loops", "def g(n):\n    t = 0\n    for i in range(n):\n        t += i\n    return t\n"
     "def f(n):\n    s = 0\n    for j in range(n):\n        s += g(j)\n    return s\n", "f", [(12,)] * 3),
    ("methods_in_loop", "class P:\n    k = 10\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n"
     "    def norm(self):\n        return self.x * self.x + self.y * self.y + P.k\n"
     "def f(n):\n    t = 0\n    for i in range(n):\n        p = P(i, i + 1)\n        t += p.norm()\n    return t\n",
     "f", [(20,)] * 3),
    ("float_cmp_mixed", "def f(a, b):\n    if a < b:\n        return 1\n    return 0\n", "f", [(1.5, 2)] * 12),
    ("nested_for", "def f(xs):\n    t = 0\n    for x in xs:\n        for y in xs:\n            if x == y:\n                break\n"
     "            t += x * y\n    return t\n", "f", [([1, 2, 3],)] * 6),
    ("str_eq_if", "def f(s):\n    if s == 'abc':\n        return 1\n    if s != 'x':\n        return 2\n    return 3\n", "f",
     [("abc",)] * 6 + [("q",)] * 6),
    ("abs_float_then_int", "def f(x):\n    return abs(x)\n", "f", [(-1.5,)] * 6 + [(-2,)] * 60),
    ("isinstance_loop", "def f(xs):\n    n = 0\n    for x in xs:\n        if isinstance(x, int):\n            n += 1\n    return n\n",
     "f", [([1, 2.5, 'a', 3],)] * 5),
    ("append_value_used", "def f(xs):\n    r = xs.append(1)\n    return r, len(xs)\n", "f", [([],)] * 12),
    ("minmax_loop", "def f(xs):\n    return min(xs) + max(xs) + min(1, 2)\n", "f", [([3, 1, 2],)] * 12),
    ("builtin_shadowed_later", "def shadow():\n    global len\n    len = 100\n"
     "def f(k):\n    if k == 20:\n        shadow()\n    return len\n", "f", [(k,) for k in range(120)]),
    ("poly_store", "class A:\n    def __init__(self):\n        self.x = 1\nclass B:\n    def __init__(self):\n        self.x = 2\n"
     "def put(o, v):\n    o.x = v\n" "def f(k):\n    o = A() if k < 10 else B()\n    put(o, k)\n    return o.x\n", "f",
     [(k,) for k in range(100)]),
    ("method_via_class", "class C:\n    def __init__(self):\n        self.a = 1\n    def m(self, y):\n        return self.a + y\n"
     "def f(k):\n    c = C()\n    return C.m(c, k)\n", "f", [(k,) for k in range(12)]),
    ("fail_then_succeed", ADD, "add", [(1, 2.5)] * 30 + [(1, 2)] * 30),
    ("deopt_then_unspecializable", ADD, "add", [(1, 2)] * 10 + [(1, 2.5)] * 400),
    ("neg_index_long", "def f(xs):\n    return xs[-1]\n", "f", [([1, 2, 3],)] * 300),
    ("store_oob_then_in", "def f(xs, i):\n    if i < len(xs):\n        xs[i] = 7\n    return xs\n", "f",
     [([1, 2], 5)] * 10 + [([1, 2], 1)] * 10),
    ("warm_per_code", "def g(x):\n    return x * 2\n"
     "def f(n):\n    t = 0\n    for i in range(n):\n        t += g(i)\n    return t + g(1.5)\n", "f", [(3,)] * 12),
    ("append_during_loop", "def f(n):\n    xs = [0]\n    for x in xs:\n        if len(xs) < n:\n            xs.append(x + 1)\n    return xs\n",
     "f", [(20,)] * 4),
    ("global_int_float", "G = 1\ndef setf():\n    global G\n    G = 1.5\n"
     "def f(k):\n    if k == 30:\n        setf()\n    return G + G\n", "f", [(k,) for k in range(120)]),
    ("float_sub_mul_then_int", "def f(a, b):\n    return a * b - a\n", "f", [(1.5, 2.0)] * 10 + [(2, 3)] * 80),
    ("str_then_int_add", ADD, "add", [("a", "b")] * 10 + [(1, 2)] * 80),

    ("chain_expr", "def f(a, b, c):\n    x = a < b < c\n    y = a < b and b < c\n    z = not a < b\n    return x, y, z\n",
     "f", [(1, 2, 3)] * 12),
    ("consts_locals", "def f(a):\n    b = 1\n    c = 2\n    d, e = a, b\n    return a + 1 + b + c + d + e\n", "f", [(1,)] * 12),
    ("loop_locals", "def f(n):\n    a = 0\n    b = 1\n    for i in range(n):\n        a, b = b, a + b\n    return a\n", "f",
     [(20,)] * 5),
    ("param_reassign", "def f(a, b):\n    a = a + b\n    b = a - b\n    a = a - b\n    return a, b\n", "f", [(1, 2)] * 12),
    ("for_list_display", "def f(a, b):\n    t = 0\n    for x in [a, b, 1.5]:\n        t = t + x\n    for y in [1, 2]:\n"
     "        t = t * y\n    return t\n", "f", [(1, 2)] * 12),
]
NOT_IN_313 = {"builtins", "builtins_more", "minmax_loop"}  # int(), min(), max(): 3.13 specializes them, 3.11/3.12 do not

# ---------------------------------------------------------------- name mapping
_FAMILY_PREFIX = (("PRECALL", "CALL"), ("CALL", "CALL"), ("LOAD_GLOBAL", "LOAD_GLOBAL"), ("LOAD_ATTR", "LOAD_ATTR"),
                  ("STORE_ATTR", "STORE_ATTR"), ("BINARY_OP", "BINARY_OP"), ("COMPARE_OP", "COMPARE_OP"),
                  ("BINARY_SUBSCR", "BINARY_SUBSCR"), ("STORE_SUBSCR", "STORE_SUBSCR"), ("FOR_ITER", "FOR_ITER"))
SUPERS = ("LOAD_FAST__LOAD_FAST", "LOAD_FAST__LOAD_CONST", "STORE_FAST__LOAD_FAST", "STORE_FAST__STORE_FAST",
          "LOAD_CONST__LOAD_FAST")
RENAME = {
    "COMPARE_OP_INT_JUMP": "COMPARE_OP_INT", "COMPARE_OP_FLOAT_JUMP": "COMPARE_OP_FLOAT",
    "COMPARE_OP_STR_JUMP": "COMPARE_OP_STR",
    "PRECALL_NO_KW_LEN": "CALL_LEN", "PRECALL_NO_KW_BUILTIN_O": "CALL_BUILTIN_O",
    "PRECALL_NO_KW_LIST_APPEND": "CALL_LIST_APPEND", "PRECALL_BUILTIN_CLASS": "CALL_BUILTIN_CLASS",
    "PRECALL_NO_KW_ISINSTANCE": "CALL_ISINSTANCE",
    "PRECALL_BUILTIN_FAST_WITH_KEYWORDS": "CALL_BUILTIN_FAST_WITH_KEYWORDS",
    "CALL_NO_KW_LEN": "CALL_LEN", "CALL_NO_KW_BUILTIN_O": "CALL_BUILTIN_O", "CALL_NO_KW_LIST_APPEND": "CALL_LIST_APPEND",
    "CALL_NO_KW_ISINSTANCE": "CALL_ISINSTANCE",
    "PRECALL_NO_KW_METHOD_DESCRIPTOR_O": "CALL_METHOD_DESCRIPTOR_O",
    "CALL_NO_KW_METHOD_DESCRIPTOR_O": "CALL_METHOD_DESCRIPTOR_O",
    "BINARY_OP_INPLACE_ADD_UNICODE": "BINARY_OP_ADD_UNICODE",
}
_BASES = {"LOAD_GLOBAL", "LOAD_ATTR", "STORE_ATTR", "BINARY_OP", "COMPARE_OP", "BINARY_SUBSCR", "STORE_SUBSCR",
          "CALL", "FOR_ITER", "PRECALL"}


def _family(name):
    for pre, fam in _FAMILY_PREFIX:
        if name == pre or name.startswith(pre + "_"):
            return fam
    return None


def canon(name: str) -> str:
    """A CPython or lwnlab instruction name as a state: BASE, ADAPTIVE or the (lwnlab-spelled) specialized name."""
    if name.endswith("_ADAPTIVE"):
        return "ADAPTIVE"
    if name in _BASES:
        return "BASE"
    return RENAME.get(name, name)


def _live_sites(rows, version):
    """[(site, state, counter word)] of one snapshot of a live code object."""
    out = []
    seen = defaultdict(int)
    precall = None
    for _off, name, line, _col, word, arg in rows:
        fam = _family(name)
        if fam is None or name.startswith("LOAD_METHOD"):
            continue
        if fam == "LOAD_ATTR" and version >= "3.12" and arg is not None and arg & 1:
            continue  # a method load: lwnlab's LOAD_METHOD, not a family there
        if name.startswith("PRECALL"):  # 3.11: PRECALL + CALL are one call site
            precall = (name, word)
            continue
        state, w = canon(name), word
        if fam == "CALL" and precall is not None:
            pname, pword = precall
            precall = None
            # PRECALL_PYFUNC / PRECALL_BOUND_METHOD only say "a Python function": CALL holds the state then
            if pname not in ("PRECALL_PYFUNC", "PRECALL_BOUND_METHOD") and (
                    canon(pname) not in ("BASE", "ADAPTIVE") or state in ("BASE", "ADAPTIVE")):
                state, w = canon(pname), pword
        key = (fam, line, seen[(fam, line)])
        seen[(fam, line)] += 1
        out.append((key, state, w))
    return out


def live_view(hist, version):
    """site -> [(call, state)] (a new entry when the state after a call differs), site -> final word, supers."""
    tl, final = defaultdict(list), {}
    for call, rows in hist:
        for key, state, w in _live_sites(rows, version):
            if not tl[key] or tl[key][-1][1] != state:
                tl[key].append((call, state))
            final[key] = w
    sup = defaultdict(list)
    for _off, name, line, _col, _word, _arg in hist[-1][1]:
        if name in SUPERS:
            sup[line].append(name)
    return dict(tl), final, {k: sorted(v) for k, v in sup.items()}


def lwnlab_view(r, qualname):
    """The same three views of lwnlab's run ``r`` (states after each call from the timeline)."""
    prog = r.program
    f = prog.funcs[prog.func_index(qualname)]
    evs = defaultdict(list)
    for e in r.timeline:
        if e.func == qualname:
            evs[e.offset].append((e.call, canon(e.to_op)))
    seen = defaultdict(int)
    tl, final, sup = {}, {}, defaultdict(list)
    for k, ins in enumerate(f.code):
        cur = O.OPNAME[int(r.code[f.entry + k])]
        if cur in SUPERS:
            sup[ins.line].append(cur)
        op = O.BY_NAME[ins.op]
        if op.kind != O.BASE:
            continue
        key = (op.family, ins.line, seen[(op.family, ins.line)])
        seen[(op.family, ins.line)] += 1
        seq = [(0, canon(O.OPNAME[int(r.code0[f.entry + k])]))]
        for call, st in evs.get(k, []):
            if seq[-1][0] == call:
                seq[-1] = (call, st)  # the state at the END of each call
            else:
                seq.append((call, st))
        out = []
        for c, st in seq:
            if not out or out[-1][1] != st:
                out.append((c, st))
        tl[key] = out
        final[key] = int(r.cache[f.entry + k, 0])
    return tl, final, {k: sorted(v) for k, v in sup.items()}


def _python(version):
    exe = PYTHONS[version]
    return exe if os.path.exists(exe) else None


@functools.lru_cache(maxsize=None)
def live_runs(version):
    """The whole corpus on CPython ``version``, in one subprocess: name -> {result, error, hist}."""
    exe = _python(version)
    payload = json.dumps([(src, fn, base64.b64encode(pickle.dumps(list(calls), protocol=4)).decode())
                          for _, src, fn, calls in CORPUS])
    p = subprocess.run([exe, "-I", "-c", PROBE], input=payload, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    return {name: run for (name, *_), run in zip(CORPUS, json.loads(p.stdout))}


def differences(version, name, src, fn, calls):
    live = live_runs(version)[name]
    r = execute(src, fn, calls, POLICY[version])
    out = []
    if live["error"] is None and repr(r.result) != live["result"]:
        out.append(f"result: CPython {live['result']}, lwnlab {r.result!r}")
    for q, hist in live["hist"].items():
        ltl, lfin, lsup = live_view(hist, version)
        wtl, wfin, wsup = lwnlab_view(r, q)
        if version == "3.13":
            for k in [k for k, seq in ltl.items() if any(st in NEW_IN_313 for _, st in seq)]:
                ltl.pop(k)
                wtl.pop(k, None)
        if set(ltl) != set(wtl):
            out.append(f"{q}: sites only in CPython {sorted(set(ltl) - set(wtl))}, only in lwnlab "
                       f"{sorted(set(wtl) - set(ltl))}")
        for k in sorted(set(ltl) & set(wtl)):
            if ltl[k] != wtl[k]:
                out.append(f"{q} {k}: (call, state) CPython {ltl[k]} lwnlab {wtl[k]}")
            elif lfin[k] is None and k[0] == "FOR_ITER" and version == "3.11":
                pass  # 3.11's FOR_ITER has no cache (and no specializations: lwnlab's is disabled)
            elif lfin[k] != wfin[k]:
                out.append(f"{q} {k}: final counter CPython {lfin[k]} lwnlab {wfin[k]}")
        if version != "3.13" and lsup != wsup:
            out.append(f"{q}: superinstructions by line CPython {lsup} lwnlab {wsup}")
    return out


@pytest.mark.parametrize("version", sorted(PYTHONS))
@pytest.mark.parametrize("name,src,fn,calls", CORPUS, ids=[c[0] for c in CORPUS])
def test_specialization_matches_live_cpython(version, name, src, fn, calls):
    if _python(version) is None:
        pytest.skip(f"CPython {version} is not installed at {PYTHONS[version]}")
    if version == "3.13" and name in NOT_IN_313:
        pytest.skip("3.13 specializes int()/min()/max() calls, which 3.11/3.12 (and cpython312) do not")
    diffs = differences(version, name, src, fn, calls)
    assert not diffs, f"{name} on CPython {version} vs lwnlab {POLICY[version]}:\n" + "\n".join(diffs)


def test_host_311_is_there():
    """The differential needs at least the host 3.11 (the venv's own interpreter)."""
    assert _python("3.11") is not None


def test_the_harness_sees_a_disagreement():
    """The comparison is not vacuous: 3.12's behaviour judged against the 3.11 policy disagrees."""
    name, src, fn, calls = next(c for c in CORPUS if c[0] == "add_int_then_float")
    if _python("3.12") is None:
        pytest.skip("CPython 3.12 is not installed")
    live = live_runs("3.12")[name]
    r = execute(src, fn, calls, "cpython311")
    ltl, _, _ = live_view(live["hist"]["add"], "3.12")
    wtl, _, _ = lwnlab_view(r, "add")
    assert ltl != wtl
    assert ltl[("BINARY_OP", 2, 0)] == [(0, "BASE"), (2, "BINARY_OP_ADD_INT"), (63, "BINARY_OP_ADD_FLOAT")]


# ---------------------------------------------------------------- the same facts, recorded, for machines without them
# (each was a disagreement with the live interpreter named; these hold even when that interpreter is missing)

def _state(src, fn, calls, policy):
    r = execute(src, fn, calls, policy)
    return r, [op for op in r.current_ops(fn) if O.BY_NAME[op].family and O.BY_NAME[op].kind != O.SUPER]


def test_recorded_compare_of_big_ints_does_not_specialize():
    # 3.11.7 / 3.12.1: COMPARE_OP_INT takes compact ints only (SPEC_FAIL_COMPARE_OP_BIG_INT; the guard misses)
    src = "def f(a, b):\n    if a < b:\n        return 1\n    return 0\n"
    for pol in ("cpython311", "cpython312"):
        r, ops = _state(src, "f", [(1 << 40, 2)] * 12, pol)
        assert "COMPARE_OP_INT" not in ops and r.fail_reasons["COMPARE_OP"]["BIG_INT"] >= 1
        r, _ = _state(src, "f", [(1, 2)] * 10 + [(1 << 40, 2)] * 60, "cpython312")
        assert r.stats["COMPARE_OP"]["miss"] == 53


def test_recorded_builtin_calls_specialize_by_kind():
    # 3.12.1: abs CALL_NO_KW_BUILTIN_O, float/range/bool CALL_BUILTIN_CLASS, isinstance CALL_NO_KW_ISINSTANCE,
    # print CALL_BUILTIN_FAST_WITH_KEYWORDS, len CALL_NO_KW_LEN; int, min, max stay CALL (3.11.7: the PRECALL twins)
    src = ("def f(x, xs):\n    a = abs(x)\n    b = float(x)\n    c = range(x)\n    d = bool(x)\n"
           "    e = isinstance(x, int)\n    print(x)\n    g = len(xs)\n    h = int(x)\n    k = min(xs)\n    m = max(xs)\n"
           "    return a, b, d, e, g, h, k, m\n")
    want = ["CALL_BUILTIN_O", "CALL_BUILTIN_CLASS", "CALL_BUILTIN_CLASS", "CALL_BUILTIN_CLASS", "CALL_ISINSTANCE",
            "CALL_BUILTIN_FAST_WITH_KEYWORDS", "CALL_LEN", "CALL", "CALL", "CALL"]
    for pol in ("cpython311", "cpython312"):
        r, ops = _state(src, "f", [(3, [1, 2])] * 12, pol)
        got = [op.replace("_ADAPTIVE", "") for op in ops if op.startswith("CALL")]  # 3.11: failures stay adaptive
        assert got == want, pol
        assert r.result == (3, 3.0, True, True, 2, 3, 1, 2)


def test_recorded_311_rules():
    # 3.11.7: 'return a < b' (no jump follows) and 'a / b' go back to the base instruction for good, counter 0;
    # 'C.k' has no LOAD_ATTR_CLASS; a negative list index specializes (and misses)
    src = ("class C:\n    k = 3\n"
           "def f(a, b, xs):\n    x = a < b\n    y = a / b\n    if a < b:\n        y = y + C.k\n    return x, y, xs[-1]\n")
    r, ops = _state(src, "f", [(1, 2, [5, 6])] * 12, "cpython311")
    f = r.program.funcs[r.program.func_index("f")]
    names = r.current_ops("f")
    cmp_first = names.index("COMPARE_OP")
    assert int(r.cache[f.entry + cmp_first, 0]) == 0 and "COMPARE_OP_INT" in names
    assert "BINARY_OP" in names and "LOAD_ATTR_CLASS" not in names and "BINARY_SUBSCR_LIST_INT" in names
    assert r.fail_reasons["COMPARE_OP"]["NOT_FOLLOWED_BY_JUMP"] == 1
    assert r.fail_reasons["LOAD_ATTR"]["NOT_IN_VERSION"] >= 1
    assert r.stats["BINARY_SUBSCR"]["miss"] == 5  # specialized on call 8, then calls 8..12 miss
    # 3.12 has none of these rules
    r, _ = _state(src, "f", [(1, 2, [5, 6])] * 12, "cpython312")
    assert {"COMPARE_OP_INT", "LOAD_ATTR_CLASS"} <= set(r.current_ops("f"))
    assert "BINARY_SUBSCR_LIST_INT" not in r.current_ops("f")
    assert r.result == (True, 3.5, 6)


def test_recorded_312_shadowed_class_attribute_and_tuple_iteration_and_append():
    # 3.12.1: self.k / c.k for a name the class also defines do not specialize (3.11.7 does);
    # 'for x in a_tuple' is FOR_ITER_TUPLE; 'r = xs.append(1)' is CALL_NO_KW_METHOD_DESCRIPTOR_O
    src = ("class C:\n    k = 1\n    def __init__(self):\n        self.k = 2\n"
           "def f(t, xs):\n    c = C()\n    s = c.k\n    for x in t:\n        s = s + x\n    r = xs.append(1)\n"
           "    xs.append(2)\n    return s, r\n")
    r, ops = _state(src, "f", [((1, 2), [])] * 4, "cpython312")
    assert "LOAD_ATTR_INSTANCE_VALUE" not in ops and "FOR_ITER_TUPLE" in ops
    assert "CALL_METHOD_DESCRIPTOR_O" in ops and "CALL_LIST_APPEND" in ops
    assert "STORE_ATTR_INSTANCE_VALUE" not in r.current_ops("C.__init__")
    assert r.result == (5, None)
    r, _ = _state(src, "f", [((1, 2), [])] * 12, "cpython311")
    assert "LOAD_ATTR_INSTANCE_VALUE" in r.current_ops("f")
    assert "STORE_ATTR_INSTANCE_VALUE" in r.current_ops("C.__init__")


# ---------------------------------------------------------------- the instruction table against the live tables
TABLES = r'''
import json, opcode, sys
try:
    spec = opcode._specializations
except AttributeError:  # 3.13
    import _opcode_metadata
    spec = _opcode_metadata._specializations
cache = opcode._inline_cache_entries
if not isinstance(cache, dict):  # 3.11, 3.12: a list indexed by opcode
    cache = {name: cache[code] for name, code in opcode.opmap.items() if code < len(cache)}
json.dump({"members": sorted(m for ms in spec.values() for m in ms), "cache": cache}, sys.stdout)
'''
#: lwnlab's name -> the name in 3.11 / 3.12 where it differs (None: that version has no such instruction)
NAME_311 = {"COMPARE_OP_INT": "COMPARE_OP_INT_JUMP", "COMPARE_OP_FLOAT": "COMPARE_OP_FLOAT_JUMP",
            "COMPARE_OP_STR": "COMPARE_OP_STR_JUMP", "CALL_LEN": "PRECALL_NO_KW_LEN",
            "CALL_BUILTIN_O": "PRECALL_NO_KW_BUILTIN_O", "CALL_LIST_APPEND": "PRECALL_NO_KW_LIST_APPEND",
            "CALL_BUILTIN_CLASS": "PRECALL_BUILTIN_CLASS", "CALL_ISINSTANCE": "PRECALL_NO_KW_ISINSTANCE",
            "CALL_BUILTIN_FAST_WITH_KEYWORDS": "PRECALL_BUILTIN_FAST_WITH_KEYWORDS",
            "CALL_METHOD_DESCRIPTOR_O": "PRECALL_NO_KW_METHOD_DESCRIPTOR_O", "LOAD_ATTR_CLASS": None,
            "FOR_ITER_RANGE": None, "FOR_ITER_LIST": None, "FOR_ITER_TUPLE": None}
NAME_312 = {"CALL_LEN": "CALL_NO_KW_LEN", "CALL_BUILTIN_O": "CALL_NO_KW_BUILTIN_O",
            "CALL_LIST_APPEND": "CALL_NO_KW_LIST_APPEND", "CALL_ISINSTANCE": "CALL_NO_KW_ISINSTANCE",
            "CALL_METHOD_DESCRIPTOR_O": "CALL_NO_KW_METHOD_DESCRIPTOR_O"}


@pytest.mark.parametrize("version", sorted(PYTHONS))
def test_instruction_table_names_and_cache_sizes_exist_in_live_cpython(version):
    """Every specialized instruction of lwnlab's table is one the live interpreter has (under its name there), and
    every family's inline-cache size is the live one (3.11 and 3.12 columns of the table)."""
    exe = _python(version)
    if exe is None:
        pytest.skip(f"CPython {version} is not installed at {PYTHONS[version]}")
    p = subprocess.run([exe, "-I", "-c", TABLES], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    live = json.loads(p.stdout)
    rename = NAME_311 if version == "3.11" else (NAME_312 if version == "3.12" else {})
    for op in O.TABLE:
        if op.kind == O.SPECIALIZED:
            name = rename.get(op.name, op.name)
            if name is not None:
                assert name in live["members"], (op.name, name)
        elif op.kind == O.SUPER and version != "3.13" or op.kind == O.QUICK and version == "3.11":
            assert op.name in live["members"], op.name  # 3.13's compiler makes LOAD_FAST_LOAD_FAST instead
        elif op.kind == O.BASE and version != "3.13":
            want = op.cache_311 if version == "3.11" else op.cache_312
            assert live["cache"].get(op.name, 0) == want, (op.name, live["cache"].get(op.name))


def test_recorded_for_over_a_list_display_iterates_a_tuple():
    # 3.12.1: 'for x in [a, 2]' is FOR_ITER_TUPLE (the AST optimizer makes the display a tuple)
    src = "def f(a):\n    t = 0\n    for x in [a, 2]:\n        t = t + x\n    return t\n"
    r, ops = _state(src, "f", [(1,)] * 4, "cpython312")
    assert "FOR_ITER_TUPLE" in ops and "BUILD_LIST" not in r.current_ops() and r.result == 3
