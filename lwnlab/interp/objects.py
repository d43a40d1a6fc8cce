"""Values, the heap, dict tables and version tags of lwnlab's VM.

A value is two int64 words, ``(tag, payload)``: the tag (``T_*``) says what it
is, the payload holds the int or bool, an object id, or a float's IEEE-754 bits
(:func:`float_bits` / :func:`bits_float`).  Every place that holds values
(stack and locals, constants, dict entries, list elements, instance
attributes) is an ``int64[n, 2]`` array, so copying a value moves 16 bytes in
one cache line.

All of a run's arrays are views into ONE int64 buffer, cut into regions
(``vm.R_*``; see ``machine.Memory``), so a numba kernel takes just ``(mem,
lay)`` and opens the regions it needs.

Heap objects live in pools with bump allocators (no garbage collector: a run
is short; when a pool is full the run stops with a clear ExecutionError naming
the pool and the parameter to raise):

* strings: code points in ``sdata``; ``shdr[sid] = [offset, length, hash]``
  (the hash is cached, as CPython caches ``str.__hash__``);
* lists and tuples: ``lhdr[lid] = [offset, length, capacity]`` over the value
  array ``elem``; appending past the capacity moves the list;
* ranges: ``rng[rid] = [start, stop, step]``; iterators ``it[k] = [a, b, c]``
  (a LIFO pool: a ``for`` loop's iterator dies when the loop or frame ends);
* instances: ``ocls[o]`` and ``K`` attribute values per object at ``attr[o*K + index]``,
  the index coming from the class's *shared keys* table (CPython's split dict).

Dicts (globals, builtins, each class's dict, each class's shared keys) are
open-addressing tables written out plainly (clox's ``table.c``) with CPython's
probe sequence ``i = (5*i + perturb + 1) & mask; perturb >>= 5``.  An entry is
a row ``dent[slot] = [key, hash, tag, payload]`` (key -1: empty).  Each table
has a *keys version* (CPython's ``dk_version``): 0 after any key is added, and
assigned from one global counter the first time a specializer asks for it.
Classes carry a *type version* (``tp_version_tag``) that a class mutation
resets the same way.  Running out of versions makes specialization fail with
``OUT_OF_VERSIONS``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lwnlab.errors import ExecutionError, UsageError

# ---------------------------------------------------------------- value tags
T_NULL, T_NONE, T_BOOL, T_INT, T_FLOAT, T_STR, T_LIST, T_TUPLE, T_RANGE, T_FUNC, T_CLASS, T_OBJ, T_BUILTIN, \
    T_RANGE_ITER, T_LIST_ITER, T_TUPLE_ITER = range(16)
TAG_NAMES = ("NULL", "NoneType", "bool", "int", "float", "str", "list", "tuple", "range", "function", "type",
             "object", "builtin_function_or_method", "range_iterator", "list_iterator", "tuple_iterator")

# ---------------------------------------------------------------- builtins
B_LEN, B_ABS, B_MIN, B_MAX, B_RANGE, B_INT, B_FLOAT, B_ISINSTANCE, B_PRINT, B_BOOL, B_STR, B_LIST, B_TUPLE, \
    B_LIST_APPEND = range(14)
#: builtins visible as names (B_LIST_APPEND is only reachable as ``some_list.append``)
BUILTINS = ("len", "abs", "min", "max", "range", "int", "float", "isinstance", "print", "bool", "str", "list",
            "tuple")
BUILTIN_NAMES = BUILTINS + ("list.append",)

# ---------------------------------------------------------------- value columns: every value is (tag, payload)
TAG, VAL = 0, 1
# ---------------------------------------------------------------- dict table header and entry columns
D_OFF, D_MASK, D_USED, D_VERSION = range(4)
E_KEY, E_HASH, E_TAG, E_VAL = range(4)
# class header columns
C_DICT, C_KEYS, C_VERSION, C_NAME, C_NKEYS = range(5)
# string header columns
S_OFF, S_LEN, S_HASH = range(3)
# list header columns
L_OFF, L_LEN, L_CAP = range(3)

HASH_MASK = (1 << 62) - 1


def float_bits(x: float) -> int:
    """The int64 payload of a float value (its IEEE-754 bits)."""
    return int(np.array(x, np.float64).view(np.int64))


def bits_float(p) -> float:
    """The float whose IEEE-754 bits are the payload ``p``."""
    return float(np.array(p, np.int64).view(np.float64))


def str_hash(s: str) -> int:
    """FNV-1a over code points, kept non-negative (the VM's twin is ``vm.fnv``)."""
    h = 0xCBF29CE484222325 & HASH_MASK
    for ch in s:
        h = ((h ^ ord(ch)) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
        h &= HASH_MASK
    return h


#: how deeply lists/tuples passed into the VM may nest
MAX_NESTING = 200
_CONVERTING = object()  # memo mark of a list being converted: meeting it again means the list contains itself


@dataclass(frozen=True)
class HeapSizes:
    """Pool capacities of one run (the memory is zero-filled lazily by the OS: untouched pools cost nothing)."""

    strings: int = 1 << 16
    string_data: int = 1 << 22
    lists: int = 1 << 18
    elements: int = 1 << 22
    objects: int = 1 << 18
    attrs_per_object: int = 16
    ranges: int = 1 << 18
    iterators: int = 4096
    stack: int = 1 << 18
    frames: int = 1000  # CPython's default recursion limit
    print_records: int = 1 << 16

    def validate(self) -> "HeapSizes":
        for k, v in self.__dict__.items():
            if not isinstance(v, int) or isinstance(v, bool) or v < 4 or v > (1 << 26):
                raise UsageError(f"heap size {k} must be an int in [4, 2**26], got {v!r}", field=k)
        return self


class Heap:
    """The heap pools of one run (views into the run's memory), built from a program and its call arguments."""

    def __init__(self, sizes: HeapSizes, views: dict):
        self.sizes = sizes.validate()
        self.sdata, self.shdr = views["sdata"], views["shdr"]
        self.lhdr, self.elem = views["lhdr"], views["elem"]
        self.ocls, self.attr = views["ocls"], views["attr"]
        self.rng, self.it = views["rng"], views["it"]
        self.str_top = 0
        self.sdata_top = 0
        self.list_top = 0
        self.elem_top = 0
        self._interned: dict[str, int] = {}

    # ------------------------------------------------------------ building values before a run
    def intern(self, s: str) -> int:
        sid = self._interned.get(s)
        if sid is None:
            sid = self.new_str(s)
            self._interned[s] = sid
        return sid

    def new_str(self, s: str) -> int:
        n = len(s)
        if self.str_top >= len(self.shdr) or self.sdata_top + n > len(self.sdata):
            raise UsageError("too many or too long strings for the heap", field="strings")
        sid = self.str_top
        self.sdata[self.sdata_top:self.sdata_top + n] = [ord(c) for c in s]
        self.shdr[sid] = (self.sdata_top, n, str_hash(s))
        self.str_top += 1
        self.sdata_top += n
        return sid

    def new_list(self, tag: int, items: list[tuple[int, int]]) -> int:
        n = len(items)
        cap = max(n, 4)
        if self.list_top >= len(self.lhdr) or self.elem_top + cap > len(self.elem):
            raise UsageError("argument lists too large for the heap", field="elements")
        lid = self.list_top
        off = self.elem_top
        for k, (t, p) in enumerate(items):
            self.elem[off + k] = (t, p)
        self.lhdr[lid] = (off, n, cap)
        self.list_top += 1
        self.elem_top += cap
        return lid

    def from_python(self, v, memo: dict | None = None, where: str = "argument", depth: int = 0) -> tuple[int, int]:
        """Convert a Python value to a (tag, payload) pair, allocating strs, lists and tuples.

        ``memo`` keeps a list passed twice one list in the VM.  Lists/tuples must form a tree of bounded depth:
        one that contains itself has no finite copy, and a very deep one would exhaust Python's recursion."""
        memo = {} if memo is None else memo
        if v is None:
            return (T_NONE, 0)
        if isinstance(v, bool):
            return (T_BOOL, int(v))
        if isinstance(v, int):
            if not -(1 << 63) <= v < (1 << 63):
                raise UsageError(f"{where}: {v} does not fit in int64 (lwnlab's ints are 64-bit)", field=where)
            return (T_INT, v)
        if isinstance(v, float):
            return (T_FLOAT, float_bits(v))
        if isinstance(v, str):
            return (T_STR, self.new_str(v))
        if isinstance(v, (list, tuple)):
            done = memo.get(id(v))
            if done is _CONVERTING:
                raise UsageError(f"{where}: a list or tuple that contains itself cannot be passed to lwnlab's VM",
                                 field=where)
            if done is not None:
                return done
            if depth >= MAX_NESTING:
                raise UsageError(f"{where}: lists/tuples nested more than {MAX_NESTING} deep", field=where)
            memo[id(v)] = _CONVERTING
            items = [self.from_python(x, memo, where, depth + 1) for x in v]
            tag = T_LIST if isinstance(v, list) else T_TUPLE
            memo[id(v)] = (tag, self.new_list(tag, items))
            return memo[id(v)]
        raise UsageError(f"{where}: values of type {type(v).__name__} cannot be passed to lwnlab's VM "
                         "(use int, float, bool, str, None, list or tuple)", field=where)

    # ------------------------------------------------------------ reading values after a run
    def get_str(self, sid: int) -> str:
        off, n, _ = self.shdr[sid]
        return "".join(map(chr, self.sdata[off:off + n]))

    def to_python(self, tag: int, p: int, classes: list[str] | None = None, funcs=None, depth=0):
        """The Python value of the VM value (tag, payload)."""
        tag = int(tag)
        if depth > 50:
            raise ExecutionError("result nests lists more than 50 deep")
        if tag == T_NONE:
            return None
        if tag == T_BOOL:
            return bool(p)
        if tag == T_INT:
            return int(p)
        if tag == T_FLOAT:
            return bits_float(p)
        if tag == T_STR:
            return self.get_str(int(p))
        if tag in (T_LIST, T_TUPLE):
            off, n, _ = self.lhdr[int(p)]
            items = [self.to_python(self.elem[off + k, TAG], self.elem[off + k, VAL], classes, funcs, depth + 1)
                     for k in range(n)]
            return items if tag == T_LIST else tuple(items)
        if tag == T_RANGE:
            a, b, c = self.rng[int(p)]
            return range(int(a), int(b), int(c))
        if tag == T_OBJ:
            name = classes[int(self.ocls[int(p)])] if classes else "object"
            return VMObject(name, int(p))
        if tag == T_CLASS:
            return VMObject(f"class {classes[int(p)] if classes else p}", int(p))
        if tag == T_FUNC:
            return VMObject(f"function {funcs[int(p)] if funcs else p}", int(p))
        if tag == T_BUILTIN:
            return VMObject(f"built-in function {BUILTIN_NAMES[int(p)]}", int(p))
        return VMObject(TAG_NAMES[tag] if 0 <= tag < len(TAG_NAMES) else f"tag {tag}", int(p))


@dataclass(frozen=True)
class VMObject:
    """A VM value with no Python counterpart (an instance, a function...): shown by its kind."""

    kind: str
    ident: int

    def __repr__(self) -> str:
        return f"<{self.kind} #{self.ident}>"


def format_value(v) -> str:
    """``str()`` of a converted value, as ``print`` shows it."""
    return str(v)


def table_capacity(n: int) -> int:
    """A power of two with room for ``n`` keys at CPython's 2/3 load factor."""
    cap = 8
    while cap * 2 < n * 3 + 3:
        cap *= 2
    return cap


def is_finite(x: float) -> bool:
    return math.isfinite(x)
