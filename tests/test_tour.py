"""The front page's demo: CPython 3.11's counters on one BINARY_OP site, and its widget."""

import numpy as np
import pytest

from lwnlab import tour
from lwnlab.errors import ConfigError


def test_unspecializable_site_retries_like_cpython_311():
    # shared/reference/adaptive-interpreter.md §3.3: attempts on 3.11.7 for int+float
    r = tour.simulate(steps=5000, noise=1.0)
    assert r.attempt_calls() == [8, 9, 12, 19, 34, 65, 128, 255, 510, 1021, 2044, 4091]
    assert r.specializations == 0 and r.hit_rate == 0.0


def test_backoff_is_capped_at_4095():
    r = tour.simulate(steps=13000, noise=1.0)
    calls = r.attempt_calls()
    assert np.diff(calls)[-2:].tolist() == [4095, 4095]


def test_add_timeline_like_cpython_311():
    r = tour.simulate(steps=400, switch_at=101, noise=0.0)
    assert r.first_specialized_step() == 8  # quickened on call 8 and specialized at once
    ev = [(int(i) + 1, tour.STATE_NAMES[a], tour.STATE_NAMES[b]) for i, a, b in r.events]
    assert ev == [
        (8, "BINARY_OP", "BINARY_OP_ADAPTIVE"),
        (8, "BINARY_OP_ADAPTIVE", "BINARY_OP_ADD_INT"),
        (153, "BINARY_OP_ADD_INT", "BINARY_OP_ADAPTIVE"),  # the 53rd float (calls 101..153)
        (185, "BINARY_OP_ADAPTIVE", "BINARY_OP_ADD_FLOAT"),  # 32 executions later
    ]
    assert r.deopts == 1 and r.specializations == 2


def test_hits_only_when_specialized_for_the_operands():
    r = tour.simulate(steps=400, switch_at=100, noise=0.1, seed=7)
    spec = r.state >= tour.SPEC_INT
    matches = ((r.state == tour.SPEC_INT) & (r.kinds == tour.INT)) | ((r.state == tour.SPEC_FLOAT) & (r.kinds == tour.FLOAT))
    assert np.array_equal(r.hit.astype(bool), spec & matches)


def test_deterministic_for_a_seed():
    a, b = tour.simulate(seed=3, noise=0.2), tour.simulate(seed=3, noise=0.2)
    assert np.array_equal(a.kinds, b.kinds) and np.array_equal(a.state, b.state)
    assert not np.array_equal(a.kinds, tour.simulate(seed=4, noise=0.2).kinds)


@pytest.mark.parametrize("field,value", [("miss_budget", 0), ("steps", 0), ("noise", 1.5), ("warmup", -1),
                                         ("restart_backoff", 16), ("steps", 2.5)])
def test_bad_parameters_name_the_field(field, value):
    with pytest.raises(ConfigError) as e:
        tour.simulate(**{field: value})
    assert e.value.field == field


def test_numba_check_passes():
    c = tour.numba_check()
    assert c.passed, c.message


def test_widget_drives_the_plot_without_recompiling(no_recompile):
    demo = tour.make_quickening_demo()
    state_before = demo.artists["state"].get_ydata().copy()
    with no_recompile():
        demo.controls["noise"].value = 0.0
        demo.controls["switch_at"].value = 51
        demo.controls["miss_budget"].value = 10
    r = demo.result
    assert r.params.switch_at == 51 and r.params.miss_budget == 10
    # deopt on the 10th float miss: floats from call 51
    deopt_calls = [int(i) + 1 for i, a, b in r.events if b == tour.ADAPTIVE and a != tour.NOT_QUICKENED]
    assert deopt_calls[0] == 60
    assert np.array_equal(demo.artists["state"].get_ydata(), r.state)
    assert not np.array_equal(state_before, r.state)
    assert demo.artists["switch"].get_xdata()[0] == 51
    assert demo.view.redraws >= 3


def test_widget_noise_lowers_hit_rate():
    demo = tour.make_quickening_demo()
    clean = demo.result.hit_rate
    demo.controls["noise"].value = 0.4
    assert demo.result.hit_rate < clean
    assert demo.error.message == ""
