"""Widget state (driven through .value), exercises' self-checks, and no numba recompiles."""

from lwnlab.printk import exercises as X
from lwnlab.printk.index import build_index
from lwnlab.printk.widgets import make_browser, make_diff_view, make_indexer, make_matcher, make_rule_checker

from .conftest import SAMPLE


def test_indexer_progress():
    ix = make_indexer(SAMPLE / "v1")
    assert ix.index is None
    ix.button.click()
    assert ix.index is not None and len(ix.index) > 10
    assert ix.progress.value == ix.progress.max == ix.index.stats["files"]


def test_browser_filters_and_bars():
    b = make_browser(build_index(SAMPLE / "v1", progress=False))
    total = len(b.result)
    assert sum(bar.get_height() for bar in b.bars) == total
    b.level.value = "3"
    assert b.result and all(e.levelno == 3 for e in b.result)
    assert b.bars[4].get_height() == len(b.result) and b.bars[1].get_height() == 0
    b.level.value = "all"
    b.text.value = "ON FIRE"
    assert [e.func for e in b.result] == ["firewatch_check"]
    b.text.value = ""
    b.file.value = "kernel/"
    assert {e.file for e in b.result} == {"kernel/heat.c"}
    b.file.value = ""
    b.only_kernel.value = True
    assert all(e.in_kernel_index for e in b.result) and len(b.result) < total
    assert "firewatch_check" in b.table.value or b.result


def test_matcher_widget_no_recompile(no_recompile):
    m = make_matcher(build_index(SAMPLE / "v1", progress=False), "firewatch: CPU1 on fire: 99 C")
    assert m.result[0].entry.func == "firewatch_check"
    with no_recompile():
        m.lines.value = "[ 3.0] fan_ctl: fan_set_speed: invalid speed -1 rpm\nnot a kernel message"
        m.lines.value = "e1000e 0000:00:19.0: zone CPU2 ok\nfirewatch: temperatures: 1 2"
    assert [r.entry.func if r.entry else None for r in m.result] == ["firewatch_check", "firewatch_report"]
    assert len(m.result[1].fragments) == 2
    assert "firewatch_report" in m.table.value


def test_rule_checker_updates_as_you_type():
    rc = make_rule_checker(build_index(SAMPLE / "v1", progress=False))
    assert rc.verdict is None
    rc.rule.value = r"CPU\d+ on fire"
    assert rc.verdict.verdict == "match" and rc.verdict.formats[0].func == "firewatch_check"
    rc.rule.value = r"^kernel BUG at \S+$"
    assert rc.verdict.verdict == "stale"
    rc.rule.value = "bad(("
    assert rc.verdict is None and "bad regex" in rc.errors.message
    rc.rule.value = "sensor"
    assert rc.errors.message == "" and rc.verdict.verdict == "match"


def test_diff_view_highlights_rewording():
    dv = make_diff_view(build_index(SAMPLE / "v1", progress=False), build_index(SAMPLE / "v2", progress=False))
    s = dv.result.summary()
    assert s["reworded"] == 1 and s["removed"] == 1 and s["added"] == 2
    assert [b.get_width() for b in dv.bars][2:] == [1, 1, 2]
    assert '<del style="background:#fdd">on fire</del>' in dv.table.value
    assert '<ins style="background:#dfd">in flames</ins>' in dv.table.value
    dv.file.value = "kernel/"
    assert dv.result.summary()["added"] == 1 and dv.result.summary()["reworded"] == 0


def test_exercise_checks_can_fail_and_pass():
    assert X.check_level_field("<4,c>") and not X.check_level_field("<c>") and not X.check_level_field("<4>")
    from lwnlab.printk.index import escape

    assert X.check_escaped(escape('café "x"\n'.encode())) and not X.check_escaped('café \\"x\\"\\n')
    assert X.check_source("drivers/thermal_demo/fan-ctl.c:9") and not X.check_source("drivers/thermal_demo/fan-ctl.c:12")
    assert X.check_rule_survives(r"CPU\d+ (on fire|in flames)")
    assert not X.check_rule_survives("CPU") and not X.check_rule_survives(r"on fire") and not X.check_rule_survives("((")
    assert X.check_modname("firewatch") and not X.check_modname("fw_sensors")


def test_pick_sources_falls_back_to_sample(monkeypatch, tmp_path):
    monkeypatch.setenv("LWNLAB_CACHE", str(tmp_path))
    s = X.pick_sources("6.12")
    assert not s.real and s.root == X.SAMPLE_TREE / "v2" and "not unpacked" in s.message
