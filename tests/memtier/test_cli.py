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
    # the scanner starts after scan_delay (1 s) with task_scan_start() of the 12000-page RSS: one window, 1000 ms;
    # that window covers the whole process (numa_scan_seq 1), so the first promotion doubles the period
    assert d["series"]["scan_period_ms"]["cg0"][:2] == [0, 2000]
    assert set(d["series"]["toptier_pages"]) == {"cg0"} and set(d["series"]["free_pages"]) == {"dram0", "pmem1"}


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


def test_more_bad_configs_are_clear_errors(capsys, tmp_path):
    cases = {
        '{"distances": 5}': "distances",                                   # was: internal error (TypeError)
        '{"distances": [[10, 5], [5, 10]]}': "distances[0][1]",             # slit_valid(): remote > 10
        '{"distances": [[20, 30], [30, 10]]}': "distances[0][0]",           # slit_valid(): local == 10
        '{"cgroups": [{"pages": 100, "name": 3}]}': "cgroups[0].name",      # was accepted
        '{"seconds": 100000, "accesses_per_sec": 10000000000}': "seconds",  # 1e15 accesses: would run for days
        '{"nodes": [{"pages": 4096, "kind": []}]}': "nodes[0].kind",         # was: TypeError unhashable
        # names key the JSON series: a second 'a' (or a name equal to a default label) silently merged them
        '{"cgroups": [{"pages": 100, "name": "a"}, {"pages": 100, "name": "a"}]}': "cgroups[1].name",
        '{"cgroups": [{"pages": 100, "name": "cg1"}, {"pages": 100}]}': "cgroups[1].name",
        '{"nodes": [{"pages": 4096}, {"pages": 4096, "kind": "pmem", "name": "dram0"}]}': "nodes[1].name",
        '{"cgroups": [{"pages": 100, "pattern": "gaussian", "shape": 1e300}]}': "cgroups[0].shape",  # was: a hang
        '{"cgroups": [{"pages": 100, "pattern": "zipf", "shape": 300}]}': "cgroups[0].shape",  # was: math domain
        '{"cgroups": [{"pages": 100, "pattern": "scan", "shape": 1e300}]}': "cgroups[0].shape",  # was: overflow
        '{"cgroups": [{"pages": 100, "phase_ms": 1000000000000000000000}]}': "cgroups[0].phase_ms",  # overflow
        '{"cgroups": [{"pages": 100, "soft_limit_pages": 1000000000000000000000}]}': "cgroups[0].soft_limit_pages",
    }
    for text, field in cases.items():
        f = tmp_path / "bad.json"
        f.write_text(text)
        assert main(["memtier", "run", "--config", str(f)]) == 2, text
        err = capsys.readouterr().err
        assert err.startswith("lwnlab: error:") and f"'{field}'" in err and "internal" not in err, (text, err)


def test_more_pages_than_memory_is_a_clear_error_not_an_oom(capsys, tmp_path, monkeypatch):
    from lwnlab.memtier import sim

    monkeypatch.setattr(sim, "memory_available", lambda: 100 << 20)   # 100 MiB free
    f = tmp_path / "big.json"
    f.write_text('{"nodes": [{"pages": 4096}], "cgroups": [{"pages": 10000000}]}')   # 140 MB of page state
    assert main(["memtier", "run", "--config", str(f)]) == 2
    err = capsys.readouterr().err
    assert "'cgroups'" in err and "GiB" in err and "14 bytes per page" in err


def test_preset_configs_round_trip_through_the_cli(capsys, tmp_path):
    assert main(["memtier", "presets", "--json"]) == 0
    presets = json.loads(capsys.readouterr().out)
    for name, d in presets.items():
        f = tmp_path / f"{name}.json"
        f.write_text(json.dumps(d["config"]))
        assert main(["memtier", "machine", "--config", str(f), "--json"]) == 0
        assert main(["memtier", "machine", "--preset", name, "--json"]) == 0
        out = capsys.readouterr().out
        a, b = out.split("\n{", 1)[0], "{" + out.split("\n{", 1)[1]
        assert json.loads(a) == json.loads(b)


def test_config_files_binary_duplicate_keys_and_toml(capsys, tmp_path):
    f = tmp_path / "bin.json"
    f.write_bytes(b'{"seconds": \xd0\xff}')
    assert main(["memtier", "run", "--config", str(f)]) == 2          # was: internal error (UnicodeDecodeError)
    err = capsys.readouterr().err
    assert "not UTF-8" in err and "internal" not in err
    f = tmp_path / "dup.json"
    f.write_text('{"seconds": 2, "seconds": 3}')                       # was: the last one silently won
    assert main(["memtier", "run", "--config", str(f)]) == 2
    assert "'seconds'" in capsys.readouterr().err
    f = tmp_path / "c.toml"
    f.write_text('seconds = 2\naccesses_per_sec = 20000\n[policy]\ndemotion_enabled = true\n'
                 '[[nodes]]\npages = 4096\n[[nodes]]\npages = 16384\nkind = "pmem"\n'
                 '[[cgroups]]\npages = 12000\npattern = "gaussian"\nshape = 0.05\n')
    assert main(["memtier", "run", "--config", str(f), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["config"]["seconds"] == 2 and d["config"]["policy"]["demotion_enabled"] is True
    assert d["tiers"] == {"memory_tier4": [0], "memory_tier22": [1]}
    f.write_text("seconds = \n")
    assert main(["memtier", "run", "--config", str(f)]) == 2
    err = capsys.readouterr().err
    assert "not valid TOML" in err and "c.toml:1:" in err
    f.write_text("[policy]\nhz = 251\n")
    assert main(["memtier", "run", "--config", str(f)]) == 2
    assert "'policy.hz'" in capsys.readouterr().err
