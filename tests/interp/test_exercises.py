"""The lab-1 self-checks pass the intended answers and fail wrong ones (they can fail)."""

import pytest

from lwnlab.interp import exercises as X

GOOD_1 = "def total(xs):\n    s = 0.0\n    for x in xs:\n        s = s + float(x)\n    return s\n"


@pytest.mark.parametrize("answer,ok", [
    (GOOD_1, True),
    (GOOD_1.replace("s = s + float(x)", "s += float(x)"), True),
    (X.MIXED_SOURCE, False),  # the original misses on every call
    ("def total(xs):\n    return 55.5\n", False),  # right for the exercise's list, but adds nothing
    ("def total(xs):\n    s = 0.0\n    for x in xs:\n        s = s + 1.0\n    return 55.5\n", False),
    ("def total(xs):\n    return [x for x in xs]\n", False),  # outside the subset: a message, not a raise
])
def test_exercise_1_stay_specialized(answer, ok):
    assert X.check_stay_specialized(answer).passed is ok


def test_exercise_2_3_4_pass_right_answers_only():
    assert X.check_predict_deopt(63) and not X.check_predict_deopt(0) and not X.check_predict_deopt(62)
    assert X.check_predict_respecialize(95) and not X.check_predict_respecialize(0)
    assert not X.check_predict_respecialize("95")
    assert X.check_miss_budget(20) and not X.check_miss_budget(53) and not X.check_miss_budget(True)
    assert X.check_global_forms("load_global_builtin", "LOAD_GLOBAL_MODULE")
    assert not X.check_global_forms("LOAD_GLOBAL_MODULE", "LOAD_GLOBAL_BUILTIN")
    assert not X.check_global_forms("LOAD_GLOBAL", "LOAD_GLOBAL")
