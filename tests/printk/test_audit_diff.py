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
    (r"kernel BUG at", "wildcard-only", None),                           # a dev_* "%s %s: " could print it
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


def _aud(*fmts):
    return Auditor([Entry(fmt=f, func=f"f{i}", file="x.c", line=i) for i, f in enumerate(fmts)])


@pytest.mark.parametrize("fmts,pattern,verdict", [
    # a word printed by the fixed text makes it live, even when other words come from %s
    ([b"frobnicated %s\n"], r"frobnicated widget quux", "match"),
    ([b"%s zorched gizmo %d\n"], r"alpha beta zorched gizmo \d+", "match"),
    ([b"%s: zorched gizmo %d\n"], r"alpha beta zorched gizmo \d+", "wildcard-only"),  # ": " is in the way
    # the words are in the fixed text, but not where the rule needs them: only the %s can say it
    ([b"widget %s failed\n"], r"failed widget", "wildcard-only"),
    ([b"widget %d failed\n"], r"failed widget", "stale"),  # and a %d cannot
    # a fixed space or colon is no evidence: words are 3+ letters, digits or _
    ([b"%s %s: %s\n"], r"frobnicated widget: quux", "wildcard-only"),
    # the old "half the words" rule called these stale although a %s can print them
    ([b"%s\n", b"thermal %d\n"], r"frobnicated widget quux", "wildcard-only"),
    ([b"zone %s hot\n"], r"zone frobnicated widget quux", "match"),
    # nothing can print it: no text conversion, or anchors that do not fit
    ([b"thermal %d\n", b"fan %u rpm\n"], r"frobnicated widget", "stale"),
    ([b"%s is hot\n"], r"^widget$", "stale"),
    ([b"%s is hot\n"], r"^widget is hot$", "match"),  # "hot" is the format's own text
    ([b"widget is hot\n"], r"^widget is hot$", "match"),
    # case-insensitive rules compare words in lower case
    ([b"Widget %s\n"], r"(?i)WIDGET broke", "match"),
    # %pS prints symbol names: a word can come from it (not from fixed text)
    ([b"RIP: %pS\n"], r"RIP: foo_bar\+0x", "match"),
    ([b"at %pS\n"], r"foo_bar\+0x10", "wildcard-only"),
])
def test_verdicts_on_hand_made_rules(fmts, pattern, verdict):
    v = _aud(*fmts).audit(pattern)
    assert v.verdict == verdict, (pattern, v.verdict, v.note)


def test_wildcard_only_says_how_much_the_format_shares():
    v = _aud(b"%s\n").audit("frobnicated widget")
    assert v.verdict == "wildcard-only" and "none of the rule's words" in v.note
    v = _aud(b"frobnicated %d %s\n").audit(r"frobnicated \d+ widget quux")
    assert v.verdict == "match"
    v = _aud(b"widget %s failed\n").audit("failed widget")
    assert v.verdict == "wildcard-only" and "2 of the rule's 2 words" in v.note


def test_rules_from_json_and_plain_list():
    rs = parse_rules(json.dumps({"rules": [{"type": "permanent", "reason": "Hot", "pattern": "on fire"},
                                           {"pattern": "x+"}]}))
    assert [r.pattern for r in rs] == ["on fire", "x+"] and rs[0].reason == "Hot"
    rs = parse_rules("# comment\non fire\n\n[0-9]+ C\n")
    assert [r.pattern for r in rs] == ["on fire", "[0-9]+ C"]
    # a plain list whose first regex starts with a character class is not JSON
    rs = parse_rules("[0-9]+ C$\non fire\n", "r.txt")
    assert [r.pattern for r in rs] == ["[0-9]+ C$", "on fire"]
    assert [r.pattern for r in parse_rules('["a+", "b"]')] == ["a+", "b"]  # a JSON list of patterns
    with pytest.raises(ConfigError, match="invalid JSON"):
        parse_rules("[0-9]+ C$\n", "rules.json")  # .json must be JSON
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


@pytest.mark.parametrize("pattern", ["a{99999}", "(ab){600}x", "(?:[0-9]{40}){40}"])
def test_huge_repetitions_are_refused_not_hung(pattern):
    """interegular unrolls {m,n}: a{99999} used to run for minutes (the widget froze as you typed)."""
    with pytest.raises(ConfigError, match="too large for an exact automaton") as ei:
        parse_rules(pattern + "\n", "rules.txt")
    assert ei.value.location.file == "rules.txt:1"
    with pytest.raises(ConfigError):
        Auditor(Index([Entry(fmt=b"a%s\n", func="f", file="a.c", line=1)])).audit(pattern)
    compile_rule(Rule("CPU[0-9]{1,3} on fire: [0-9]{2,3} C"))  # ordinary counts are fine
