"""Rule verdicts (match / wildcard-only / stale), rule loading, and version diff pairing."""

import json

import pytest

from lwnlab.errors import ConfigError
from lwnlab.printk.audit import Auditor, compile_rule, parse_rules, Rule
from lwnlab.printk.diff import diff
from lwnlab.printk.index import Entry, Index, build_index

from .conftest import SAMPLE


@pytest.fixture(scope="module")
def v1():
    return build_index(SAMPLE / "v1", progress=False)


@pytest.fixture(scope="module")
def v2():
    return build_index(SAMPLE / "v2", progress=False)


@pytest.mark.parametrize("pattern,verdict,func", [
    (r"CPU\d+ on fire", "match", "firewatch_check"),
    (r"(?i)cpu[[:digit:]]+ ON FIRE", "match", "firewatch_check"),       # POSIX class, case-insensitive
    (r"^firewatch: CPU[0-9]+ on fire: [0-9]+ C$", "match", "firewatch_check"),
    (r"^CPU\d+ on fire", "wildcard-only", None),                         # only the dev_* "%s %s: " could start so
    (r"^firewatch: CPU\d+ is cold$", "stale", None),                     # anchored at both ends: nothing fits
    (r"sensor tz0 missing", "match", "firewatch_probe"),                 # "tz0" comes from %s, "missing" is fixed
    (r"fan_set_speed: invalid", "match", "fan_set_speed"),              # __func__ is a %s, "invalid" anchors
    (r"zone CPU\d+ on fire", "wildcard-only", None),                     # only a %s could say "on fire" after zone
    (r"kernel BUG at", "stale", None),
    (r"link to sensor hub lost", "match", "fw_sensor_read"),            # netdev_warn: outside the kernel's index
    (r"Oops: .* \[#\d+\] PREEMPT SMP", "match", "heat_panic"),
])
def test_verdicts(v1, pattern, verdict, func):
    v = Auditor(v1).audit(pattern)
    assert v.verdict == verdict, (pattern, v.verdict, [e.text for e in v.formats])
    if func:
        assert v.formats[0].func == func


def test_verdict_excludes_spurious_substring_anchor(v1):
    # "fire" occurs in "[firewatch]" of another format, whose %s could say "CPU1 on fire": not an anchor
    v = Auditor(v1).audit(r"CPU\d+ on fire")
    assert [e.func for e in v.formats] == ["firewatch_check"]


def test_rules_from_json_and_plain_list():
    rs = parse_rules(json.dumps({"rules": [{"type": "permanent", "reason": "Hot", "pattern": "on fire"},
                                           {"pattern": "x+"}]}))
    assert [r.pattern for r in rs] == ["on fire", "x+"] and rs[0].reason == "Hot"
    rs = parse_rules("# comment\non fire\n\n[0-9]+ C\n")
    assert [r.pattern for r in rs] == ["on fire", "[0-9]+ C"]
    with pytest.raises(ConfigError, match=r"rules\[0\]"):
        parse_rules('{"rules": [{"reason": "no pattern"}]}', "r.json")
    with pytest.raises(ConfigError) as ei:
        parse_rules("ok\nbad(\n", "r.txt")
    assert "r.txt:2" in str(ei.value)


def test_compile_rule_literals_and_anchors():
    cr = compile_rule(Rule(r"^blk_update_request: (I/O|critical) error, dev \w+$"))
    assert cr.anchored_start and cr.anchored_end
    assert cr.literals == ["blk_update_request: ", " error, dev "]
    cr = compile_rule(Rule(r"(?i)\bOops\b"))
    assert cr.ignorecase and cr.approximate and cr.literals == ["oops"]


def test_diff_pairs_rewording_and_ignores_moves(v1, v2):
    d = diff(v1, v2, rules=[r"CPU\d+ on fire", r"fan at", r"thermal shutdown"])
    assert [(r.old.text, r.new.text) for r in d.reworded] == [("firewatch: CPU%d on fire: %d C\n",
                                                             "firewatch: CPU%d in flames: %d C\n")]
    assert [e.text for e in d.removed] == ["fan_ctl: %s: fan at %5d rpm (%3u%%)\n"]
    assert sorted(e.text for e in d.added) == ["%s %s: zone checked CPU%d\n", "thermal trip point %d crossed\n"]
    assert d.moved > 0 and d.kept == len(v1) - 2
    assert sorted((b.pattern, b.new_verdict) for b in d.broken) == [(r"CPU\d+ on fire", "wildcard-only"),
                                                                     ("fan at", "wildcard-only")]


def test_diff_same_text_in_other_function_is_remove_plus_add():
    a = Index([Entry(fmt=b"\x013boom\n", func="f", file="a.c", line=1)])
    b = Index([Entry(fmt=b"\x013boom\n", func="g", file="a.c", line=1),
               Entry(fmt=b"\x013boom\n", func="f", file="a.c", line=90)])
    d = diff(a, b)
    assert (d.kept, d.moved, len(d.removed), len(d.added), len(d.reworded)) == (1, 1, 0, 1, 0)
