"""The ONE instruction table of lwnlab's bytecode (like CPython's ``Python/bytecodes.c``).

Every instruction is declared once below, in :data:`TABLE`.  The compiler
emits base instructions by name, the VM (``vm.py``) dispatches on the numbers
assigned here, the disassembler prints the names, and the widgets colour rows
by :attr:`Op.kind`.  A family is declared next to its base instruction: its
specialized members, its adaptive form (CPython 3.11's ``*_ADAPTIVE``) and the
size of its inline cache in CPython 3.11 and 3.12 (16-bit units; lwnlab's own
cache is always the row ``cache[pc] = [counter, index, version1, version2]``,
counter first, as CPython's invariant requires; for LOAD_GLOBAL_* and
LOAD_ATTR_CLASS the index is the entry's row in the VM's pool of dict entries).

Opcode *numbers* are lwnlab's own (CPython renumbers every release); names,
families, cache sizes and BINARY_OP/COMPARE_OP arguments follow CPython.

How this table maps onto real CPython (checked site by site against live 3.11.7, 3.12.1 and 3.13.0 by
``tests/interp/test_vs_cpython.py``), and what it simplifies on purpose:

* names follow 3.13's spelling; 3.11 fused compares with the next jump (``COMPARE_OP_INT_JUMP``) and split calls
  into ``PRECALL`` + ``CALL`` (``PRECALL_NO_KW_LEN``, ``PRECALL_NO_KW_BUILTIN_O``, ``PRECALL_BUILTIN_CLASS``,
  ``PRECALL_NO_KW_ISINSTANCE``, ``PRECALL_NO_KW_LIST_APPEND`` ...; the Python-function ``CALL_PY_EXACT_ARGS`` sits
  on ``CALL``); 3.12 spells ``CALL_NO_KW_LEN``, ``CALL_NO_KW_BUILTIN_O``, ``CALL_NO_KW_ISINSTANCE``,
  ``CALL_NO_KW_LIST_APPEND``, ``CALL_NO_KW_METHOD_DESCRIPTOR_O``.  lwnlab keeps one ``CALL`` and one
  ``COMPARE_OP`` instruction; policy ``cpython311`` (``rules311``) applies 3.11's decisions to them;
* ``BINARY_OP_ADD_UNICODE`` also stands for CPython's ``BINARY_OP_INPLACE_ADD_UNICODE`` (``s += t`` on a local);
* method loads (3.11 ``LOAD_METHOD_*``, 3.12 ``LOAD_ATTR_METHOD_*``) are not a family here: ``LOAD_METHOD`` never
  specializes; neither do ``UNPACK_SEQUENCE`` (``UNPACK_SEQUENCE_TWO_TUPLE`` ...), ``LOAD_ATTR_MODULE/SLOT/
  WITH_HINT/PROPERTY``, the dict forms (the subset has no dicts) nor 3.13's new ``CALL_ALLOC_AND_ENTER_INIT``,
  ``LOAD_ATTR_NONDESCRIPTOR_WITH_VALUES``, ``BINARY_SUBSCR_STR_INT``, ``TO_BOOL_*``, ``CONTAINS_OP_*``; 3.13 also
  specializes ``int()``, ``min()``, ``max()``, which 3.11/3.12 (and lwnlab) do not;
* code generation follows 3.11: 3.12+ copy a small exit block (``return x + k`` after an ``if/else``) into each
  branch, so CPython has two sites where lwnlab has one, and load a possibly unbound local (a ``for`` variable
  after its loop) with ``LOAD_FAST_CHECK``, which forms no superinstruction; lwnlab's ``LOAD_FAST`` always checks;
  and CPython folds constant expressions (``x * (5 / 9)`` is one BINARY_OP there, two here) and drops branches
  whose test is a constant (``if 1:``), where lwnlab compiles what is written;
* the builtin-call forms guard the builtin's *identity* (and argument count); CPython guards its *kind* (any
  METH_O builtin, any class with a vectorcall), which differs only when one call site sees several builtins.

Adding a specialization = one row here + its hit path in ``vm.fast`` (or in ``vm.run``
if it allocates) + its choice in ``vm.specialize`` (and update ``vm.TABLE_DIGEST``,
which keeps numba's on-disk cache honest).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# kinds of instruction
PLAIN, BASE, ADAPTIVE, SPECIALIZED, SUPER, QUICK = "plain", "base", "adaptive", "specialized", "super", "quick"


@dataclass(frozen=True)
class Op:
    name: str
    code: int
    kind: str
    family: str | None  # base instruction's name for family members
    has_arg: bool
    cache_311: int  # inline cache units in CPython 3.11 (0: none / not in 3.11)
    cache_312: int  # inline cache units in CPython 3.12
    doc: str


# name, kind, family, has_arg, cache 3.11, cache 3.12, doc
_ROWS: list[tuple] = [
    ("NOP", PLAIN, None, False, 0, 0, "do nothing"),
    ("RESUME", PLAIN, None, True, 0, 0, "function entry; in 3.11 mode counts toward the code object's warmup"),
    ("RESUME_QUICK", QUICK, "RESUME", True, 0, 0, "RESUME after quickening (3.11): no more warmup counting"),
    ("LOAD_FAST", PLAIN, None, True, 0, 0, "push local #arg (UnboundLocalError if unset)"),
    ("STORE_FAST", PLAIN, None, True, 0, 0, "pop into local #arg"),
    ("LOAD_CONST", PLAIN, None, True, 0, 0, "push constant #arg"),
    ("LOAD_FAST__LOAD_FAST", SUPER, "LOAD_FAST", True, 0, 0, "superinstruction: two LOAD_FASTs, one dispatch"),
    ("LOAD_FAST__LOAD_CONST", SUPER, "LOAD_FAST", True, 0, 0, "superinstruction: LOAD_FAST then LOAD_CONST"),
    ("STORE_FAST__LOAD_FAST", SUPER, "STORE_FAST", True, 0, 0, "superinstruction: STORE_FAST then LOAD_FAST"),
    ("STORE_FAST__STORE_FAST", SUPER, "STORE_FAST", True, 0, 0, "superinstruction: two STORE_FASTs"),
    ("LOAD_CONST__LOAD_FAST", SUPER, "LOAD_CONST", True, 0, 0, "superinstruction: LOAD_CONST then LOAD_FAST"),
    ("POP_TOP", PLAIN, None, False, 0, 0, "pop and discard"),
    ("PUSH_NULL", PLAIN, None, False, 0, 0, "push NULL (below a callable, as CPython 3.11)"),
    ("COPY", PLAIN, None, True, 0, 0, "push a copy of the arg-th item from the top"),
    ("SWAP", PLAIN, None, True, 0, 0, "swap TOS with the arg-th item"),
    # --- LOAD_GLOBAL family
    ("LOAD_GLOBAL", BASE, "LOAD_GLOBAL", True, 5, 4,
     "probe globals, then builtins (hash table, name compare); push the value"),
    ("LOAD_GLOBAL_ADAPTIVE", ADAPTIVE, "LOAD_GLOBAL", True, 5, 4, "3.11 adaptive form: count down, then specialize"),
    ("LOAD_GLOBAL_MODULE", SPECIALIZED, "LOAD_GLOBAL", True, 5, 4,
     "guard globals keys version; read the cached entry"),
    ("LOAD_GLOBAL_BUILTIN", SPECIALIZED, "LOAD_GLOBAL", True, 5, 4,
     "guard globals and builtins keys versions; read the cached builtins entry"),
    ("STORE_GLOBAL", PLAIN, None, True, 0, 0, "store into globals (a new key changes the keys version)"),
    # --- LOAD_ATTR family
    ("LOAD_ATTR", BASE, "LOAD_ATTR", True, 4, 9,
     "look the name up on the type (class dict), then the instance, then class attributes"),
    ("LOAD_ATTR_ADAPTIVE", ADAPTIVE, "LOAD_ATTR", True, 4, 9, "3.11 adaptive form"),
    ("LOAD_ATTR_INSTANCE_VALUE", SPECIALIZED, "LOAD_ATTR", True, 4, 9,
     "guard the type version; read the instance's value at the cached index"),
    ("LOAD_ATTR_CLASS", SPECIALIZED, "LOAD_ATTR", True, 4, 9,
     "owner is a class: guard its type version; read the cached class-dict entry"),
    ("LOAD_METHOD", PLAIN, None, True, 0, 0,
     "push (method, self) or (NULL, attribute), as CPython 3.11's LOAD_METHOD"),
    # --- STORE_ATTR family
    ("STORE_ATTR", BASE, "STORE_ATTR", True, 4, 4, "store an attribute on an instance or a class"),
    ("STORE_ATTR_ADAPTIVE", ADAPTIVE, "STORE_ATTR", True, 4, 4, "3.11 adaptive form"),
    ("STORE_ATTR_INSTANCE_VALUE", SPECIALIZED, "STORE_ATTR", True, 4, 4,
     "guard the type version; write the instance's value at the cached index"),
    # --- BINARY_OP family (arg = CPython's NB_* code)
    ("BINARY_OP", BASE, "BINARY_OP", True, 1, 1, "dispatch on both operands' types (with reflection)"),
    ("BINARY_OP_ADAPTIVE", ADAPTIVE, "BINARY_OP", True, 1, 1, "3.11 adaptive form"),
    ("BINARY_OP_ADD_INT", SPECIALIZED, "BINARY_OP", True, 1, 1, "guard int, int; add (overflow checked)"),
    ("BINARY_OP_SUBTRACT_INT", SPECIALIZED, "BINARY_OP", True, 1, 1, "guard int, int; subtract"),
    ("BINARY_OP_MULTIPLY_INT", SPECIALIZED, "BINARY_OP", True, 1, 1, "guard int, int; multiply"),
    ("BINARY_OP_ADD_FLOAT", SPECIALIZED, "BINARY_OP", True, 1, 1, "guard float, float; add"),
    ("BINARY_OP_SUBTRACT_FLOAT", SPECIALIZED, "BINARY_OP", True, 1, 1, "guard float, float; subtract"),
    ("BINARY_OP_MULTIPLY_FLOAT", SPECIALIZED, "BINARY_OP", True, 1, 1, "guard float, float; multiply"),
    ("BINARY_OP_ADD_UNICODE", SPECIALIZED, "BINARY_OP", True, 1, 1, "guard str, str; concatenate"),
    ("UNARY_NEGATIVE", PLAIN, None, False, 0, 0, "-TOS"),
    ("UNARY_NOT", PLAIN, None, False, 0, 0, "not TOS"),
    # --- COMPARE_OP family (arg = CPython's Py_LT..Py_GE)
    ("COMPARE_OP", BASE, "COMPARE_OP", True, 2, 1, "rich comparison, dispatched on operand types"),
    ("COMPARE_OP_ADAPTIVE", ADAPTIVE, "COMPARE_OP", True, 2, 1, "3.11 adaptive form"),
    ("COMPARE_OP_INT", SPECIALIZED, "COMPARE_OP", True, 2, 1, "guard int, int"),
    ("COMPARE_OP_FLOAT", SPECIALIZED, "COMPARE_OP", True, 2, 1, "guard float, float"),
    ("COMPARE_OP_STR", SPECIALIZED, "COMPARE_OP", True, 2, 1, "guard str, str; == and != only (as CPython)"),
    ("IS_OP", PLAIN, None, True, 0, 0, "identity test (arg 1: is not)"),
    # --- subscripts
    ("BINARY_SUBSCR", BASE, "BINARY_SUBSCR", False, 4, 1, "container[index] for list, tuple, str"),
    ("BINARY_SUBSCR_ADAPTIVE", ADAPTIVE, "BINARY_SUBSCR", False, 4, 1, "3.11 adaptive form"),
    ("BINARY_SUBSCR_LIST_INT", SPECIALIZED, "BINARY_SUBSCR", False, 4, 1,
     "guard list and a non-negative int index in range"),
    ("BINARY_SUBSCR_TUPLE_INT", SPECIALIZED, "BINARY_SUBSCR", False, 4, 1,
     "guard tuple and a non-negative int index in range"),
    ("STORE_SUBSCR", BASE, "STORE_SUBSCR", False, 1, 1, "container[index] = value"),
    ("STORE_SUBSCR_ADAPTIVE", ADAPTIVE, "STORE_SUBSCR", False, 1, 1, "3.11 adaptive form"),
    ("STORE_SUBSCR_LIST_INT", SPECIALIZED, "STORE_SUBSCR", False, 1, 1,
     "guard list and a non-negative int index in range"),
    ("BUILD_LIST", PLAIN, None, True, 0, 0, "make a list of the top arg items"),
    ("BUILD_TUPLE", PLAIN, None, True, 0, 0, "make a tuple of the top arg items"),
    ("UNPACK_SEQUENCE", PLAIN, None, True, 0, 0, "unpack a list/tuple of exactly arg items"),
    # --- calls
    ("CALL", BASE, "CALL", True, 4, 3,
     "call with arg arguments (stack: NULL|method, callable|self, args...)"),
    ("CALL_ADAPTIVE", ADAPTIVE, "CALL", True, 4, 3, "3.11 adaptive form"),
    ("CALL_PY_EXACT_ARGS", SPECIALIZED, "CALL", True, 4, 3,
     "guard the function's identity (func_version) and argument count; push a frame"),
    ("CALL_BUILTIN_O", SPECIALIZED, "CALL", True, 4, 3, "guard the builtin (one argument: abs, int, float)"),
    ("CALL_LEN", SPECIALIZED, "CALL", True, 4, 3, "guard len; one argument (3.11: PRECALL_NO_KW_LEN)"),
    ("CALL_LIST_APPEND", SPECIALIZED, "CALL", True, 4, 3,
     "guard list.append bound to a list, as a statement (a POP_TOP follows)"),
    ("CALL_BUILTIN_CLASS", SPECIALIZED, "CALL", True, 4, 3,
     "guard the builtin class (float, range, bool: types with a vectorcall; not int before 3.13)"),
    ("CALL_ISINSTANCE", SPECIALIZED, "CALL", True, 4, 3, "guard isinstance; two arguments"),
    ("CALL_BUILTIN_FAST_WITH_KEYWORDS", SPECIALIZED, "CALL", True, 4, 3,
     "guard the builtin (print: METH_FASTCALL | METH_KEYWORDS)"),
    ("CALL_METHOD_DESCRIPTOR_O", SPECIALIZED, "CALL", True, 4, 3,
     "guard list.append (a METH_O method descriptor) whose result is used (else CALL_LIST_APPEND)"),
    ("RETURN_VALUE", PLAIN, None, False, 0, 0, "return TOS to the caller"),
    # --- iteration
    ("GET_ITER", PLAIN, None, False, 0, 0, "replace a range/list/tuple with an iterator"),
    ("FOR_ITER", BASE, "FOR_ITER", True, 0, 1,
     "push the next item, or pop the iterator and jump to arg when exhausted"),
    ("FOR_ITER_ADAPTIVE", ADAPTIVE, "FOR_ITER", True, 0, 1, "adaptive form (3.11 did not specialize FOR_ITER)"),
    ("FOR_ITER_RANGE", SPECIALIZED, "FOR_ITER", True, 0, 1, "guard a range iterator"),
    ("FOR_ITER_LIST", SPECIALIZED, "FOR_ITER", True, 0, 1, "guard a list iterator"),
    ("FOR_ITER_TUPLE", SPECIALIZED, "FOR_ITER", True, 0, 1, "guard a tuple iterator"),
    # --- jumps (arg = absolute target index)
    ("JUMP_FORWARD", PLAIN, None, True, 0, 0, "jump to arg"),
    ("JUMP_BACKWARD", PLAIN, None, True, 0, 0, "jump to arg; in 3.11 mode counts toward warmup"),
    ("JUMP_BACKWARD_QUICK", QUICK, "JUMP_BACKWARD", True, 0, 0, "JUMP_BACKWARD after quickening (3.11)"),
    ("POP_JUMP_IF_FALSE", PLAIN, None, True, 0, 0, "pop; jump to arg if false"),
    ("POP_JUMP_IF_TRUE", PLAIN, None, True, 0, 0, "pop; jump to arg if true"),
    ("JUMP_IF_FALSE_OR_POP", PLAIN, None, True, 0, 0, "and: keep TOS and jump if false, else pop"),
    ("JUMP_IF_TRUE_OR_POP", PLAIN, None, True, 0, 0, "or: keep TOS and jump if true, else pop"),
    # --- classes
    ("MAKE_CLASS", PLAIN, None, True, 0, 0, "push class #arg (its dict is filled by STORE_ATTR)"),
]

TABLE: tuple[Op, ...] = tuple(
    Op(name, i, kind, fam if fam else (name if kind == BASE else None), has_arg, c11, c12, doc)
    for i, (name, kind, fam, has_arg, c11, c12, doc) in enumerate(_ROWS)
)
BY_NAME: dict[str, Op] = {op.name: op for op in TABLE}
OPNAME: tuple[str, ...] = tuple(op.name for op in TABLE)
OPCODE: dict[str, int] = {op.name: op.code for op in TABLE}
NUM_OPCODES = len(TABLE)

#: the specializable families, in stats-row order
FAMILIES: tuple[str, ...] = ("LOAD_GLOBAL", "LOAD_ATTR", "STORE_ATTR", "BINARY_OP", "COMPARE_OP",
                             "BINARY_SUBSCR", "STORE_SUBSCR", "CALL", "FOR_ITER")
FAMILY_INDEX = {f: i for i, f in enumerate(FAMILIES)}
NUM_FAMILIES = len(FAMILIES)


def members(family: str) -> list[Op]:
    """The specialized members of ``family`` (not the base or the adaptive form)."""
    return [op for op in TABLE if op.family == family and op.kind == SPECIALIZED]


def base_of(name: str) -> str:
    """The base instruction an instruction deoptimizes to (``_PyOpcode_Deopt``)."""
    op = BY_NAME[name]
    if op.kind in (ADAPTIVE, SPECIALIZED, QUICK):
        return op.family
    if op.kind == SUPER:
        return op.family
    return op.name


#: per opcode: the family row in the stats (-1: not specializable)
FAMILY_OF: tuple[int, ...] = tuple(
    FAMILY_INDEX.get(op.family, -1) if op.kind in (BASE, ADAPTIVE, SPECIALIZED) else -1 for op in TABLE)
#: per opcode: the base opcode (``_PyOpcode_Deopt``)
DEOPT: tuple[int, ...] = tuple(OPCODE[base_of(op.name)] for op in TABLE)
#: per family: its base and adaptive opcodes
FAMILY_BASE: tuple[int, ...] = tuple(OPCODE[f] for f in FAMILIES)
FAMILY_ADAPTIVE: tuple[int, ...] = tuple(OPCODE[f + "_ADAPTIVE"] for f in FAMILIES)

# ---------------------------------------------------------------- stats columns (Py_STATS spirit)
STAT_EXEC, STAT_HIT, STAT_MISS, STAT_DEOPT, STAT_SPEC_OK, STAT_SPEC_FAIL, STAT_DEFERRED = range(7)
STAT_NAMES = ("exec", "hit", "miss", "deopt", "specialize_ok", "specialize_fail", "deferred")
NUM_STATS = len(STAT_NAMES)

# ---------------------------------------------------------------- specialization failure kinds
FAIL_REASONS: tuple[tuple[str, str], ...] = (
    ("OTHER", "no specialization for this case"),
    ("DISABLED", "this family is switched off in the policy"),
    ("OUT_OF_VERSIONS", "the version counter ran out (SPEC_FAIL_OUT_OF_VERSIONS)"),
    ("WRONG_TYPES", "operand types have no specialized form (e.g. int + float)"),
    ("UNSUPPORTED_OP", "operator has no specialized form (e.g. /, //, %, **)"),
    ("BOOL_OPERAND", "bool is not an exact int (PyLong_CheckExact fails)"),
    ("STR_ORDER", "str comparison other than == / != (CPython only specializes those)"),
    ("NOT_FOUND", "name or attribute not found"),
    ("CLASS_ATTR_VIA_INSTANCE", "attribute found on the class, read through an instance"),
    ("METHOD", "attribute is a method (a function in the class dict)"),
    ("NOT_INSTANCE", "owner is not an instance or class"),
    ("NEGATIVE_INDEX", "negative or out-of-range index"),
    ("NOT_LIST", "container is not a list/tuple"),
    ("WRONG_ARGCOUNT", "argument count does not match the parameters"),
    ("BUILTIN_NOT_O", "builtin does not take exactly one argument"),
    ("CLASS_CALL", "calling a class (no specialized form here)"),
    ("NOT_RANGE_OR_LIST", "iterator is neither a range nor a list iterator"),
    ("BIG_INT", "int operand beyond one 30-bit digit (CPython's COMPARE_OP_INT takes compact ints only)"),
    ("NOT_IN_VERSION", "no such specialization in the modelled CPython (LOAD_ATTR_CLASS is 3.12+)"),
    ("NOT_FOLLOWED_BY_JUMP", "3.11: a compare not followed by a conditional jump cannot become COMPARE_OP_*_JUMP; "
     "it goes back to COMPARE_OP for good"),
    ("BUILTIN_NOT_SPECIALIZED", "CPython 3.11/3.12 have no specialized call for this builtin "
     "(int, min, max; calling str/list/tuple is outside lwnlab's subset)"),
)
FAIL_INDEX = {name: i for i, (name, _) in enumerate(FAIL_REASONS)}
NUM_FAIL = len(FAIL_REASONS)

# ---------------------------------------------------------------- timeline event kinds
EVENTS: tuple[str, ...] = ("quicken", "specialize", "specialize_fail", "deopt", "respecialize", "superinstruction")
EV_QUICKEN, EV_SPECIALIZE, EV_FAIL, EV_DEOPT, EV_RESPECIALIZE, EV_SUPER = range(len(EVENTS))

# ---------------------------------------------------------------- CPython's operator codes
NB_OPS: tuple[tuple[str, str], ...] = (
    ("NB_ADD", "+"), ("NB_AND", "&"), ("NB_FLOOR_DIVIDE", "//"), ("NB_LSHIFT", "<<"),
    ("NB_MATRIX_MULTIPLY", "@"), ("NB_MULTIPLY", "*"), ("NB_REMAINDER", "%"), ("NB_OR", "|"),
    ("NB_POWER", "**"), ("NB_RSHIFT", ">>"), ("NB_SUBTRACT", "-"), ("NB_TRUE_DIVIDE", "/"), ("NB_XOR", "^"),
)
NB_INPLACE = 13  # NB_INPLACE_ADD = NB_ADD + 13, as in CPython's opcode.py
NB_SYMBOL = tuple(s for _, s in NB_OPS) + tuple(s + "=" for _, s in NB_OPS)
(NB_ADD, NB_AND, NB_FLOOR_DIVIDE, NB_LSHIFT, NB_MATRIX_MULTIPLY, NB_MULTIPLY, NB_REMAINDER, NB_OR,
 NB_POWER, NB_RSHIFT, NB_SUBTRACT, NB_TRUE_DIVIDE, NB_XOR) = range(13)
CMP_OPS = ("<", "<=", "==", "!=", ">", ">=")  # Py_LT .. Py_GE
CMP_LT, CMP_LE, CMP_EQ, CMP_NE, CMP_GT, CMP_GE = range(6)


def table_digest() -> str:
    """A digest of the numbering; ``vm.py`` checks it so a renumbering cannot meet a stale numba cache."""
    text = "|".join(f"{op.code}:{op.name}" for op in TABLE) + f"|{FAMILIES}|{len(FAIL_REASONS)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def describe(name: str) -> str:
    return BY_NAME[name].doc
