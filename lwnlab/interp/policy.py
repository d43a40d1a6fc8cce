"""Counter policies: when an instruction specializes, how many misses it tolerates, how it backs off.

Four presets (:func:`preset`), all plain parameters of :class:`Policy` that
go into the compiled loop as an int64 array (so a widget that moves one never
recompiles anything):

``cpython311``
    3.11.7: a *code object* warms up over ``QUICKENING_WARMUP_DELAY = 8``
    RESUME/JUMP_BACKWARD events, then ``_PyCode_Quicken`` rewrites every family
    instruction to its ``*_ADAPTIVE`` form with counter 0 (and forms
    superinstructions).  After a successful specialization the counter is a
    plain miss count of 53 (``miss_counter_start``); at 0 the instruction goes
    back to ``*_ADAPTIVE`` with ``adaptive_counter_start()`` = value 31,
    backoff 5 (raw 501).  A failed attempt backs off: backoff b+1, value
    2^b-1, capped at b = 12 (4095).  ``rules311`` adds 3.11's specializer
    rules (checked against a live 3.11.7): a compare specializes only when a
    conditional jump follows (``COMPARE_OP_*_JUMP``), and otherwise goes back
    to ``COMPARE_OP`` for good, as does a ``BINARY_OP`` whose operator has no
    specialized form (``/``, ``%``, ...: no backoff, never retried);
    ``BINARY_SUBSCR`` specializes a list/tuple with *any* int index (negative
    ones then miss); there is no ``LOAD_ATTR_CLASS`` (3.12+) and no
    ``FOR_ITER`` family.
``cpython312``
    3.12: no adaptive forms; each base instruction starts at
    ``adaptive_counter_warmup()`` = value 1, backoff 1 (raw 17), so it
    specializes on its 2nd execution.  After success ``adaptive_counter_cooldown()``
    = 52 << 4 (raw 832): the 53rd miss re-specializes in place.  3.13 behaves
    the same family by family (same counters, same decisions), except for
    its new forms: it also specializes ``int(x)`` (``CALL_BUILTIN_CLASS``),
    ``min``/``max`` (``CALL_BUILTIN_FAST_WITH_KEYWORDS``), calls of a class
    with ``__init__`` (``CALL_ALLOC_AND_ENTER_INIT``), a class attribute read
    through an instance (``LOAD_ATTR_NONDESCRIPTOR_WITH_VALUES``) and
    ``str[i]`` (``BINARY_SUBSCR_STR_INT``), which lwnlab leaves generic.
``pep659``
    the PEP text as posted in May 2021: like 3.11, but the specialized
    instruction's counter is *saturating*: hits count it back up (to the
    miss budget), misses down, deopt at zero.
``off``
    never specialize and keep no counters: the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import numpy as np

from lwnlab.errors import ConfigError
from lwnlab.interp import opcodes as O

MODE_OFF, MODE_CODE_WARMUP, MODE_INSTR_WARMUP = 0, 1, 2

# indices into the params array the VM reads
(P_MODE, P_WARMUP, P_WARMUP_BACKOFF, P_MISS_BUDGET, P_DEOPT_BACKOFF, P_BACKOFF_CAP, P_SATURATING, P_SUPER,
 P_HASH_CACHED, P_INTERN, P_MAX_VERSIONS, P_STEP_LIMIT, P_ATTRS, P_SAMPLE_EVERY, P_SID_APPEND, P_SID_INIT,
 P_DEPTH_LIMIT, P_RULES311) = range(18)
NUM_PARAMS = 18

POLICIES = ("cpython311", "cpython312", "pep659", "off")

#: the most calls one run takes (the machine stores every call's arguments in the image)
MAX_CALLS = 1_000_000


@dataclass(frozen=True)
class Policy:
    """When and how instructions specialize.  Defaults are CPython 3.12's values."""

    name: str = "cpython312"
    #: "code": a code object warms up, then is quickened to *_ADAPTIVE forms (3.11, PEP);
    #: "instruction": each instruction counts its own executions (3.12+); "off": never specialize
    warmup_scope: str = "instruction"
    #: 3.11: QUICKENING_WARMUP_DELAY (8 RESUME/JUMP_BACKWARD events); 3.12: the counter value of
    #: adaptive_counter_warmup() (1: specialize on the 2nd execution)
    warmup: int = 1
    #: 3.12: backoff bits of the warmup counter (adaptive_counter_warmup() = value 1, backoff 1)
    warmup_backoff: int = 1
    #: misses a specialized instruction tolerates: 3.11 miss_counter_start() = 53;
    #: 3.12 adaptive_counter_cooldown() = 52 << 4 (re-specializes on the 53rd miss)
    miss_budget: int = 53
    #: 3.11 after a deopt: adaptive_counter_start() = value 2^5-1 = 31, backoff 5
    deopt_backoff: int = 5
    #: MAX_BACKOFF_VALUE = 16 - ADAPTIVE_BACKOFF_BITS = 12: values up to 2^12-1 = 4095
    backoff_cap: int = 12
    #: PEP 659 text: hits count the counter back up (saturating); shipped CPython: misses only
    saturating: bool = False
    #: CPython 3.11's specializer rules (see the module docstring): compares fuse with a following jump, a
    #: hopeless BINARY_OP/COMPARE_OP returns to its base instruction for good, any int index specializes
    #: BINARY_SUBSCR, no LOAD_ATTR_CLASS
    rules311: bool = False
    #: form LOAD_FAST__LOAD_FAST and friends
    superinstructions: bool = True
    #: the generic LOAD_GLOBAL/LOAD_ATTR use the string's cached hash (CPython); False: rehash the name each time
    hash_cached: bool = True
    #: names compare by identity first (interned, CPython); False: always compare code points
    intern: bool = True
    #: families that may specialize (all by default)
    families: tuple[str, ...] = O.FAMILIES
    #: version tags available (CPython: 2^32 type versions, 2^32 keys versions); small values show OUT_OF_VERSIONS
    max_versions: int = (1 << 32) - 1
    #: stop with an ExecutionError after this many instructions (no hangs)
    step_limit: int = 2_000_000_000

    def validate(self) -> "Policy":
        if self.warmup_scope not in ("code", "instruction", "off"):
            raise ConfigError(f"warmup_scope must be 'code', 'instruction' or 'off', got {self.warmup_scope!r}",
                              field="warmup_scope")
        limits = {"warmup": (0, 4095), "warmup_backoff": (0, 12), "miss_budget": (1, 4095),
                  "deopt_backoff": (0, 12), "backoff_cap": (0, 12), "max_versions": (0, (1 << 62)),
                  "step_limit": (1, 1 << 62)}
        for k, (lo, hi) in limits.items():
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
                raise ConfigError(f"{k} must be an int in [{lo}, {hi}], got {v!r}", field=k)
        for fam in self.families:
            if fam not in O.FAMILIES:
                raise ConfigError(f"unknown family {fam!r} (families: {', '.join(O.FAMILIES)})", field="families")
        return self

    @property
    def mode(self) -> int:
        return {"off": MODE_OFF, "code": MODE_CODE_WARMUP, "instruction": MODE_INSTR_WARMUP}[self.warmup_scope]

    def params(self, *, attrs: int, sample_every: int, sid_append: int, sid_init: int, depth_limit: int) -> np.ndarray:
        self.validate()
        p = np.zeros(NUM_PARAMS, np.int64)
        p[P_MODE] = self.mode
        p[P_WARMUP] = self.warmup
        p[P_WARMUP_BACKOFF] = self.warmup_backoff
        p[P_MISS_BUDGET] = self.miss_budget
        p[P_DEOPT_BACKOFF] = self.deopt_backoff
        p[P_BACKOFF_CAP] = self.backoff_cap
        p[P_SATURATING] = int(self.saturating)
        p[P_SUPER] = int(self.superinstructions)
        p[P_HASH_CACHED] = int(self.hash_cached)
        p[P_INTERN] = int(self.intern)
        p[P_MAX_VERSIONS] = self.max_versions
        p[P_STEP_LIMIT] = self.step_limit
        p[P_ATTRS] = attrs
        p[P_SAMPLE_EVERY] = max(1, sample_every)
        p[P_SID_APPEND] = sid_append
        p[P_SID_INIT] = sid_init
        p[P_DEPTH_LIMIT] = depth_limit
        p[P_RULES311] = int(self.rules311)
        return p

    def family_mask(self) -> np.ndarray:
        return np.array([1 if f in self.families else 0 for f in O.FAMILIES], np.int64)

    def with_(self, **changes) -> "Policy":
        return replace(self, **changes).validate()

    def to_json(self) -> dict:
        return {f.name: (list(getattr(self, f.name)) if f.name == "families" else getattr(self, f.name))
                for f in fields(self)}


def preset(name: str, **changes) -> Policy:
    """The named policy (``cpython311``, ``cpython312``, ``pep659``, ``off``), with ``changes`` applied."""
    if isinstance(name, Policy):
        return name.with_(**changes) if changes else name.validate()
    if name == "cpython311":
        # 3.11 had no FOR_ITER specializations (they arrived in 3.12)
        p = Policy(name="cpython311", warmup_scope="code", warmup=8, warmup_backoff=0, rules311=True,
                   families=tuple(f for f in O.FAMILIES if f != "FOR_ITER"))
    elif name == "cpython312":
        p = Policy(name="cpython312")
    elif name == "pep659":
        p = Policy(name="pep659", warmup_scope="code", warmup=8, warmup_backoff=0, saturating=True)
    elif name == "off":
        p = Policy(name="off", warmup_scope="off", superinstructions=False)
    else:
        raise ConfigError(f"unknown policy {name!r} (choose from {', '.join(POLICIES)})", field="policy")
    try:
        return replace(p, **changes).validate()
    except TypeError as e:
        raise ConfigError(f"bad policy parameter: {e}", field="policy") from None


# 16-bit counter helpers (Include/internal/pycore_code.h), for Python-side use and tests
ADAPTIVE_BACKOFF_BITS = 4


def counter_bits(value: int, backoff: int) -> int:
    return (value << ADAPTIVE_BACKOFF_BITS) | (backoff & ((1 << ADAPTIVE_BACKOFF_BITS) - 1))


def counter_backoff(counter: int, cap: int = 12) -> int:
    backoff = (counter & 15) + 1
    backoff = min(backoff, cap)
    return counter_bits((1 << backoff) - 1, backoff)


def split_counter(raw: int) -> tuple[int, int]:
    return raw >> ADAPTIVE_BACKOFF_BITS, raw & 15


__all__ = ["Policy", "preset", "POLICIES", "counter_bits", "counter_backoff", "split_counter", "field"]
