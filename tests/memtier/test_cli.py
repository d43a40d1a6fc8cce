"""``lwnlab memtier``: run, presets, machine; bad input exits 2 naming the field."""

import json

from lwnlab.cli import main


def test_presets_list_and_json(capsys):
    assert main(["memtier", "presets"]) == 0
    out = capsys.readouterr().out
    for name in ("default", "hotness", "ladder", "phase", "softlimit"):
        assert name in out
    assert main(["memtier", "presets", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["ladder"]["config"]["policy"]["hot_threshold_ms"] == 1000


def test_run_json(capsys, tmp_path):
    cfg = {"nodes": [{"pages": 4096}, {"pages": 16384, "kind": "pmem"}],
           "cgroups": [{"pages": 12000, "pattern": "gaussian", "shape": 0.05}],
           "policy": {"demotion_enabled": True}, "accesses_per_sec": 20000}
    f = tmp_path / "c.json"
    f.write_text(json.dumps(cfg))
    assert main(["memtier", "run", "--config", str(f), "--seconds", "3", "--seed", "7", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert set(d) >= {"config", "totals", "series"}
    t = d["totals"]
    for k in ("fast_hit_ratio", "promoted_mb", "demoted_mb", "relative_throughput"):
        assert k in t
    assert d["config"]["seed"] == 7 and d["config"]["seconds"] == 3
    assert len(d["series"]["fast_hit_ratio"]) == 3
    assert d["watermarks"]["dram0"]["promo"] > d["watermarks"]["dram0"]["high"]
    assert d["tiers"] == {"memory_tier4": [0], "memory_tier22": [1]}


def test_run_text(capsys):
    assert main(["memtier", "run", "--preset", "softlimit", "--seconds", "2"]) == 0
    out = capsys.readouterr().out
    assert "fast-tier hit ratio" in out and "memory_tier22" in out


def test_bad_configs_exit_2_and_name_the_field(capsys, tmp_path):
    cases = {
        '{"nodes": [{"pages": 4096}, {"pages": 0, "kind": "pmem"}]}': "nodes[1].pages",
        '{"policy": {"hot_thresold_ms": 5}}': "policy.hot_thresold_ms",
        '{"cgroups": [{"pages": -1}]}': "cgroups[0].pages",
        '{"seconds": 3, "colour": 1}': "colour",
        '{"nodes": [{"pages": 4096, "kind": "hbm"}]}': "nodes[0].kind",
        '{"policy": {"promote_rate_limit_mbps": "fast"}}': "policy.promote_rate_limit_mbps",
    }
    for text, field in cases.items():
        f = tmp_path / "bad.json"
        f.write_text(text)
        assert main(["memtier", "run", "--config", str(f)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("lwnlab: error:") and field in err and "Traceback" not in err
    f = tmp_path / "broken.json"
    f.write_text('{"seconds": ')
    assert main(["memtier", "run", "--config", str(f)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main(["memtier", "run", "--preset", "nope"]) == 2
    assert "unknown preset" in capsys.readouterr().err
    assert main(["memtier", "run", "--config", str(tmp_path / "missing.json")]) == 2


def test_machine_json(capsys):
    assert main(["memtier", "machine", "--preset", "default", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    n0 = d["nodes"][0]
    assert n0["memory_tier"] == 4 and n0["toptier"] and n0["demotion_targets"] == [1]
    assert d["nodes"][1]["memory_tier"] == 22
