"""Exercises of lab 1, each with a self-check returning :class:`lwnlab.ui.Check`.

The checks run the reader's answer on the model (never a hard-coded table),
so they stay right if the model's policies change.
"""

from __future__ import annotations

from lwnlab.errors import LwnlabError
from lwnlab.ui import Check

# ---------------------------------------------------------------- 1. stay specialized
MIXED_SOURCE = '''def total(xs):
    s = 0
    for x in xs:
        s = s + x
    return s
'''
MIXED_CALLS = [([1, 2, 3, 4, 5, 6, 7, 8, 9, 10.5],)] * 40
#: other lists the answer must also sum correctly (a constant ``return 55.5`` never misses either)
OTHER_LISTS = [[1, 2, 3], [0.5, 2, -3], [], [7], [2.5, -1.5, 4]]


def check_stay_specialized(source: str, policy: str = "cpython312") -> Check:
    """Exercise 1: edit ``total`` so that it returns the same value but its BINARY_OP never deopts.

    The original adds ints to an int accumulator, then a float arrives: ``s + x`` becomes int + float
    and the ``BINARY_OP_ADD_INT`` misses on every call.  Goal: hit rate >= 99 %, no deopt, same result.
    """
    from lwnlab.interp.machine import execute

    ref = execute(MIXED_SOURCE, "total", MIXED_CALLS, policy)
    try:
        r = execute(source, "total", MIXED_CALLS, policy, filename="<your answer>")
    except LwnlabError as e:
        return Check(False, f"your function does not run: {e.describe()}")
    if r.result != ref.result:
        return Check(False, f"total() must still return {ref.result!r}, yours returns {r.result!r}")
    for xs in OTHER_LISTS:
        want = execute(MIXED_SOURCE, "total", [(xs,)], "off").result
        got = execute(source, "total", [(xs,)], "off", filename="<your answer>").result
        if got != want:
            return Check(False, f"total({xs!r}) must be {want!r}, yours returns {got!r}: it has to add the items")
    s = r.stats["BINARY_OP"]
    if s["deopt"] or s["miss"] or r.hit_rate < 0.99:
        return Check(False, f"BINARY_OP: {s['hit']} hits, {s['miss']} misses, {s['deopt']} deopts; hit rate "
                     f"{r.hit_rate:.1%} (hint: what type is s after the first float?)")
    if s["hit"] == 0:
        return Check(False, "BINARY_OP never ran specialized: total() has to add the items with +")
    return Check(True, f"hit rate {r.hit_rate:.1%}, no deopt: the types at each instruction never change "
                 f"(the original had {ref.stats['BINARY_OP']['miss']} misses)")


# ---------------------------------------------------------------- 2. predict the deopt
ADD_SOURCE = "def add(a, b):\n    return a + b\n"
ADD_CALLS = [(1, 2)] * 10 + [(1.5, 2.5)] * 100


def _first(r, kinds):
    return next((e for e in r.timeline if e.kind in kinds and e.func == "add"), None)


def check_predict_deopt(call: int) -> Check:
    """Exercise 2: under ``cpython311``, add() is called 10 times with ints, then with floats.

    On which call (counting from 1) does ``BINARY_OP_ADD_INT`` deoptimize back to ``BINARY_OP_ADAPTIVE``?
    """
    from lwnlab.interp.machine import execute

    r = execute(ADD_SOURCE, "add", ADD_CALLS, "cpython311")
    ev = _first(r, ("deopt",))
    if not isinstance(call, int) or isinstance(call, bool):
        return Check(False, "answer with a call number (an int)")
    if call == ev.call:
        return Check(True, f"call {ev.call}: floats arrive at call 11, and the miss counter (53, "
                     "miss_counter_start) reaches zero on the 53rd miss")
    hint = "too early" if call < ev.call else "too late"
    return Check(False, f"{call} is {hint}: count the misses the specialized instruction tolerates")


def check_predict_respecialize(call: int) -> Check:
    """Exercise 2b: and on which call does it become ``BINARY_OP_ADD_FLOAT``?"""
    from lwnlab.interp.machine import execute

    r = execute(ADD_SOURCE, "add", ADD_CALLS, "cpython311")
    ev = next(e for e in r.timeline if e.kind == "specialize" and e.to_op == "BINARY_OP_ADD_FLOAT")
    if call == ev.call:
        return Check(True, f"call {ev.call}: after the deopt the adaptive counter restarts at "
                     "adaptive_counter_start() = value 31, so the 32nd execution specializes again")
    return Check(False, f"{call} is not it: after the deopt the counter is adaptive_counter_start() (raw 501); "
                 "what is its value part?")


# ---------------------------------------------------------------- 3. tune the budget
def check_miss_budget(budget: int, target_call: int = 30) -> Check:
    """Exercise 3: under ``cpython312`` with the same calls, choose ``miss_budget`` so that the
    re-specialization to ``BINARY_OP_ADD_FLOAT`` happens on call ``target_call``."""
    from lwnlab.interp.machine import execute
    from lwnlab.interp.policy import preset

    if not isinstance(budget, int) or isinstance(budget, bool) or not 1 <= budget <= 4095:
        return Check(False, "the budget is an int between 1 and 4095")
    r = execute(ADD_SOURCE, "add", ADD_CALLS, preset("cpython312", miss_budget=budget))
    ev = _first(r, ("respecialize",))
    got = ev.call if ev else None
    if got == target_call:
        return Check(True, f"with miss_budget={budget} the {budget}th miss (call {got}) re-specializes in place")
    return Check(False, f"with miss_budget={budget} it re-specializes on call {got}, not {target_call}")


# ---------------------------------------------------------------- 4. which specialization
GLOBAL_SOURCE = '''SCALE = 3
def f(xs):
    return len(xs) * SCALE
'''


def check_global_forms(len_form: str, scale_form: str) -> Check:
    """Exercise 4: after a few calls of ``f``, which instruction does each LOAD_GLOBAL become?"""
    from lwnlab.interp.machine import execute

    r = execute(GLOBAL_SOURCE, "f", [([1, 2],)] * 5, "cpython312")
    ops = [op for op in r.current_ops() if op.startswith("LOAD_GLOBAL")]
    want = tuple(ops)  # order of appearance: len first, then SCALE
    got = (str(len_form).strip().upper(), str(scale_form).strip().upper())
    if got == want:
        return Check(True, f"len lives in builtins ({want[0]}: two keys-version guards), SCALE in the module "
                     f"globals ({want[1]}: one guard)")
    return Check(False, f"not quite: one of them lives in the module's globals, the other in builtins")
