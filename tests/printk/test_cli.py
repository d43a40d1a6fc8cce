"""`lwnlab printk ...` used like a user would: help, bad input, --json, exit statuses."""

import json

import pytest

from lwnlab.cli import main

from .conftest import SAMPLE


@pytest.fixture
def indices(tmp_path):
    a, b = tmp_path / "v1.txt", tmp_path / "v2.json"
    assert main(["printk", "index", str(SAMPLE / "v1"), "-o", str(a)]) == 0
    assert main(["printk", "index", str(SAMPLE / "v2"), "--json", "-o", str(b)]) == 0
    return a, b


def test_help(capsys):
    with pytest.raises(SystemExit) as ei:
        main(["printk", "--help"])
    assert ei.value.code == 0
    out = capsys.readouterr().out
    for c in ("fetch", "index", "match", "audit", "diff"):
        assert c in out


def test_index_text_and_only_kernel(capsys):
    assert main(["printk", "index", str(SAMPLE / "v1"), "--only-kernel-index"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == '# <level/flags> filename:line function "format"'
    assert '<0> drivers/thermal_demo/fw-core.c:18 firewatch_check "firewatch: CPU%d on fire: %d C\\n"' in out
    assert not any("netdev" in x or "link to sensor" in x for x in out)


def test_match(indices, tmp_path, capsys):
    log = tmp_path / "log"
    log.write_text("[ 1.5] firewatch: CPU1 on fire: 120 C\nnothing like it\n")
    capsys.readouterr()
    assert main(["printk", "match", str(indices[0]), str(log)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("drivers/thermal_demo/fw-core.c:18\tfirewatch_check")
    assert out[1] == "unmatched\tnothing like it"
    log.write_text("firewatch: CPU1 in flames: 120 C\n")
    assert main(["printk", "match", str(indices[1]), str(log), "--json"]) == 0
    j = json.loads(capsys.readouterr().out)
    assert j["matched"] == 1 and j["results"][0]["lineno"] == 18


def test_match_builds_the_matcher_once_per_index(indices, tmp_path, capsys, monkeypatch):
    from lwnlab.printk.match import Matcher

    builds = []
    real = Matcher._build_prefilter
    monkeypatch.setattr(Matcher, "_build_prefilter", lambda self: builds.append(1) or real(self))
    monkeypatch.setenv("LWNLAB_MATCHER_CACHE", str(tmp_path / "mc"))
    log = tmp_path / "log"
    log.write_text("[ 1.5] firewatch: CPU1 on fire: 120 C\n")
    outs = []
    for extra in ([], [], ["--no-cache"]):
        assert main(["printk", "match", str(indices[0]), str(log)] + extra) == 0
        outs.append(capsys.readouterr().out)
    assert len(builds) == 2 and outs[0] == outs[1] == outs[2]  # the second call loaded the cached one
    assert len(list((tmp_path / "mc").glob("*.npz"))) == 1
    indices[0].write_text(indices[0].read_text().replace("on fire", "ablaze"))
    assert main(["printk", "match", str(indices[0]), str(log)]) == 0
    assert len(builds) == 3 and capsys.readouterr().out.startswith("unmatched")  # a changed index: rebuilt


def test_audit_and_diff_exit_status(indices, tmp_path, capsys):
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"rules": [{"pattern": r"CPU\d+ on fire", "reason": "CPUOnFire"}]}))
    capsys.readouterr()
    assert main(["printk", "audit", str(indices[0]), "--rules", str(rules)]) == 0
    assert capsys.readouterr().out.startswith("match\t")
    assert main(["printk", "audit", str(indices[1]), "--rules", str(rules), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rules"][0]["verdict"] == "wildcard-only"
    stale = tmp_path / "stale.txt"
    stale.write_text("^kernel BUG at \\S+$\n")  # anchored at both ends: no format fits
    assert main(["printk", "audit", str(indices[1]), "--rules", str(stale)]) == 1
    capsys.readouterr()
    assert main(["printk", "diff", str(indices[0]), str(indices[1]), "--rules", str(rules)]) == 1
    out = capsys.readouterr().out
    assert "on fire" in out and "in flames" in out and "! rule" in out
    assert main(["printk", "diff", str(indices[0]), str(indices[0]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["removed"] == 0


def test_bad_input_is_a_clean_error(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_text("this is not an index\n")
    log = tmp_path / "log"
    log.write_text("x\n")
    assert main(["printk", "match", str(bad), str(log)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lwnlab: error: ") and "bad.txt:1" in err and "Traceback" not in err
    assert main(["printk", "index", str(tmp_path / "missing")]) == 2
    assert main(["printk", "fetch", "--version", "5.10"]) == 2 if False else True
    with pytest.raises(SystemExit) as ei:
        main(["printk", "fetch", "--version", "5.10"])
    assert ei.value.code == 2


def test_index_split_by_module(tmp_path, capsys):
    out = tmp_path / "index"
    assert main(["printk", "index", str(SAMPLE / "v1"), "--split", str(out), "-j", "1"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["fan_ctl", "firewatch", "heat"]
    text = (out / "heat").read_text().splitlines()
    assert text[0].startswith("# <level/flags>") and all("kernel/heat.c" in x for x in text[1:])
    assert main(["printk", "index", str(SAMPLE / "v1"), "-j", "0"]) == 2


def test_index_says_what_the_lexer_skipped_and_where(tmp_path, capsys):
    (tmp_path / "ok.c").write_text('void f(void) { pr_err("fine\\n"); }\n')
    (tmp_path / "bin.c").write_bytes(b'void g(void) { pr_err("x\\n"); }\n\x00\x80\xff "open\n')
    assert main(["printk", "index", str(tmp_path)]) == 0
    cap = capsys.readouterr()
    assert '<3> ok.c:1 f "fine\\n"' in cap.out and '<3> bin.c:1 g "x\\n"' in cap.out
    assert "the lexer skipped NUL byte (1x, first at bin.c:2)" in cap.err
    assert "the lexer skipped unterminated string literal (1x, first at bin.c:2)" in cap.err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["printk", "index", str(empty)]) == 0
    assert "no .c files under" in capsys.readouterr().err


def test_index_of_an_unreadable_directory_is_an_error(tmp_path, capsys, monkeypatch):
    """os.walk skips directories it cannot list; the index must not silently lack them.  (Root reads
    any directory, so the refusal is simulated where os.walk lists directories.)"""
    import os

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.c").write_text('void f(void) { pr_err("x\\n"); }\n')
    (tmp_path / "b.c").write_text('void g(void) { pr_err("y\\n"); }\n')
    real = os.scandir

    def scandir(path="."):
        if os.path.basename(str(path)) == "sub":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert main(["printk", "index", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "sub: cannot read directory: Permission denied" in err and "Traceback" not in err
