"""Specialize, miss, deopt after exactly the policy's budget, re-specialize: per family and per policy."""

import pytest

from lwnlab.interp import execute, preset

ADD = "def add(a, b):\n    return a + b\n"


def events(r, kind=None, func=None):
    return [e for e in r.events_for(func) if kind is None or e.kind == kind]


def test_311_quickens_on_call_8_and_specializes():
    r = execute(ADD, "add", [(1, 2)] * 10, "cpython311")
    spec = events(r, "specialize")
    assert [(e.call, e.to_op) for e in spec] == [(8, "BINARY_OP_ADD_INT")]
    assert spec[0].counter == 53  # miss_counter_start()
    assert any(e.kind == "quicken" and e.to_op == "BINARY_OP_ADAPTIVE" and e.call == 8 for e in r.timeline)
    assert r.stats["BINARY_OP"]["hit"] == 3  # calls 8, 9, 10


def test_311_deopt_after_53_misses_then_respecialize_32_later():
    r = execute(ADD, "add", [(1, 2)] * 10 + [(1.5, 2.5)] * 100, "cpython311")
    ev = [(e.kind, e.call, e.to_op) for e in events(r) if e.kind != "quicken" and e.kind != "superinstruction"]
    assert ev == [("specialize", 8, "BINARY_OP_ADD_INT"), ("deopt", 63, "BINARY_OP_ADAPTIVE"),
                  ("specialize", 95, "BINARY_OP_ADD_FLOAT")]
    deopt = events(r, "deopt")[0]
    assert deopt.counter == 501  # adaptive_counter_start(): value 31, backoff 5
    s = r.stats["BINARY_OP"]
    assert s["miss"] == 53 and s["deopt"] == 1 and s["specialize_ok"] == 2
    assert r.result == 4.0


def test_312_specializes_on_second_execution_and_respecializes_in_place():
    r = execute(ADD, "add", [(1, 2)] * 10 + [(1.5, 2.5)] * 100, "cpython312")
    ev = [(e.kind, e.call, e.from_op, e.to_op) for e in events(r) if e.kind not in ("superinstruction",)]
    assert ev == [("specialize", 2, "BINARY_OP", "BINARY_OP_ADD_INT"),
                  ("respecialize", 63, "BINARY_OP_ADD_INT", "BINARY_OP_ADD_FLOAT")]
    assert events(r, "specialize")[0].counter == 832  # adaptive_counter_cooldown() = 52 << 4
    assert r.stats["BINARY_OP"]["miss"] == 53


@pytest.mark.parametrize("policy,calls", [
    ("cpython311", [8, 9, 12, 19, 34, 65, 128, 255, 510, 1021, 2044, 4091]),
    ("cpython312", [2, 5, 12, 27, 58, 121, 248, 503, 1014, 2037, 4084]),
])
def test_unspecializable_backoff_matches_cpython(policy, calls):
    r = execute(ADD, "add", [(1, 2.5)] * 4100, policy)
    fails = events(r, "specialize_fail")
    assert [e.call for e in fails] == calls
    assert {e.reason for e in fails} == {"WRONG_TYPES"}
    assert r.stats["BINARY_OP"]["hit"] == 0


def test_pep659_saturating_counter_survives_where_311_deopts():
    # 10 misses + 100 hits + 43 misses: the shipped misses-only counter deopts (53 total),
    # the PEP's saturating counter does not
    calls = [(1, 2)] * 8 + [(1.5, 2.5)] * 10 + [(1, 2)] * 100 + [(1.5, 2.5)] * 43
    r311 = execute(ADD, "add", calls, "cpython311")
    rpep = execute(ADD, "add", calls, "pep659")
    assert r311.stats["BINARY_OP"]["deopt"] == 1
    assert rpep.stats["BINARY_OP"]["deopt"] == 0
    assert r311.result == rpep.result == 4.0


def test_off_never_specializes_and_agrees():
    src = "G = 5\ndef f(n):\n    s = 0\n    for i in range(n):\n        s += i * G + len([1])\n    return s\n"
    off = execute(src, "f", [(100,)] * 5, "off")
    on = execute(src, "f", [(100,)] * 5, "cpython312")
    assert off.result == on.result == sum(i * 5 + 1 for i in range(100))
    assert off.hits == 0 and all(s["specialize_ok"] == 0 for s in off.stats.values())
    assert on.hit_rate > 0.99


GLOBALS = "G = 1\nH = 2\ndef f():\n    return G + len('ab')\ndef bump():\n    global G\n    G = G + 1\n" \
          "def add_key():\n    global NEW\n    NEW = 1\n"


def test_load_global_module_and_builtin_specialize():
    r = execute(GLOBALS, "f", 5, "cpython312")
    ops = r.current_ops()
    assert "LOAD_GLOBAL_MODULE" in ops and "LOAD_GLOBAL_BUILTIN" in ops
    assert r.stats["LOAD_GLOBAL"]["miss"] == 0


def test_load_global_survives_value_write_but_not_new_key():
    src = GLOBALS + "def g(k):\n    if k == 5:\n        add_key()\n    bump()\n    return G\n"
    r = execute(src, "g", [(k,) for k in range(10)], "cpython312")
    # G = G + 1 writes a value: dk_version unchanged, no misses before call 6;
    # adding the key NEW changes the globals keys version: the specialized loads miss once each
    misses_before = [e for e in r.timeline if e.kind in ("deopt", "respecialize") and e.call <= 6]
    assert misses_before == []
    assert r.stats["LOAD_GLOBAL"]["miss"] > 0
    assert r.result == 11


CLS = ("class C:\n    k = 3\n    def __init__(self, x):\n        self.x = x\n"
       "def f(c):\n    return c.x + C.k\n"
       "def g(n):\n    c = C(n)\n    t = 0\n    for i in range(20):\n        t += f(c)\n        if i == 10 and n == 1:\n"
       "            C.k = 4\n    return t\n")


def test_load_attr_instance_value_and_class_with_type_version_guard():
    r = execute(CLS, "g", [(0,)] * 3 + [(1,)], "cpython312")
    assert r.result == 11 * (1 + 3) + 9 * (1 + 4)
    f_ops = r.current_ops("f")
    assert "LOAD_ATTR_INSTANCE_VALUE" in f_ops and "LOAD_ATTR_CLASS" in f_ops
    # mutating the class reset its type version: the guarded loads missed
    assert r.stats["LOAD_ATTR"]["miss"] >= 2


def test_store_attr_instance_value():
    src = ("class P:\n    def __init__(self):\n        self.v = 0\n"
           "def f(n):\n    p = P()\n    for i in range(n):\n        p.v = p.v + i\n    return p.v\n")
    r = execute(src, "f", [(50,)] * 3, "cpython312")
    assert r.result == sum(range(50))
    assert "STORE_ATTR_INSTANCE_VALUE" in r.current_ops()
    assert r.stats["STORE_ATTR"]["hit"] > 100


def test_calls_subscripts_iteration_compare():
    src = ("def sq(x):\n    return x * x\n"
           "def f(xs):\n    t = 0\n    ys = [0] * len(xs)\n    for i in range(len(xs)):\n        if xs[i] < 100:\n"
           "            ys[i] = sq(xs[i])\n    for y in ys:\n        t += abs(y)\n    return t\n")
    r = execute(src, "f", [([1, 2, 3, 4, 5],)] * 4, "cpython312")
    assert r.result == 55
    ops = set(r.current_ops())
    for op in ("CALL_PY_EXACT_ARGS", "CALL_LEN", "CALL_BUILTIN_O", "BINARY_SUBSCR_LIST_INT", "STORE_SUBSCR_LIST_INT",
               "FOR_ITER_RANGE", "FOR_ITER_LIST", "COMPARE_OP_INT", "BINARY_OP_ADD_INT"):
        assert op in ops, op


def test_compare_str_only_eq_ne_and_list_append():
    src = ("def f(a, b):\n    xs = []\n    xs.append(a == b)\n    xs.append(a < b)\n    return xs\n")
    r = execute(src, "f", [("x", "y")] * 4, "cpython312")
    assert r.result == [False, True]
    assert r.fail_reasons["COMPARE_OP"].get("STR_ORDER", 0) >= 1
    assert "COMPARE_OP_STR" in r.current_ops() and "CALL_LIST_APPEND" in r.current_ops()


def test_family_disabled_and_out_of_versions():
    r = execute(GLOBALS, "f", 5, preset("cpython312", families=("BINARY_OP",)))
    assert r.stats["LOAD_GLOBAL"]["specialize_ok"] == 0
    assert r.fail_reasons["LOAD_GLOBAL"]["DISABLED"] >= 1
    r = execute(GLOBALS, "f", 5, preset("cpython312", max_versions=0))
    assert r.fail_reasons["LOAD_GLOBAL"]["OUT_OF_VERSIONS"] >= 1
    assert r.result == 3


def test_superinstructions_switch():
    src = "def f(a, b):\n    c = a\n    d = b\n    return c + d\n"
    on = execute(src, "f", [(1, 2)] * 3, "cpython312")
    off = execute(src, "f", [(1, 2)] * 3, preset("cpython312", superinstructions=False))
    assert any("__" in op for op in on.current_ops())
    assert not any("__" in op for op in off.current_ops())
    assert on.result == off.result == 3
    assert on.instructions < off.instructions  # a superinstruction is one dispatch


def test_311_while_loop_gotcha_never_quickens_with_two_calls():
    src = "def f(n):\n    i = 0\n    while i < n:\n        i += 1\n    return i\n"
    r = execute(src, "f", [(100,)] * 2, "cpython311")
    assert not any(e.kind == "quicken" for e in r.timeline)
    src_for = "def f(n):\n    i = 0\n    for j in range(n):\n        i += 1\n    return i\n"
    r = execute(src_for, "f", [(100,)] * 2, "cpython311")
    assert any(e.kind == "quicken" for e in r.timeline)


def test_widget_style_parameter_changes_do_not_recompile(no_recompile):
    execute(ADD, "add", [(1, 2)] * 3, "cpython312")
    with no_recompile():
        for pol in ("cpython311", "cpython312", "pep659", "off"):
            execute(ADD, "add", [(1, 2.5)] * 20, preset(pol, miss_budget=7, backoff_cap=5))
        execute(ADD, "add", [(1, 2)] * 20, preset("cpython312", warmup=3, superinstructions=False,
                                                 hash_cached=False, intern=False))
