"""The numba shim: options, registry, on-disk cache, recompile detection, NUMBA_DISABLE_JIT."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lwnlab import _jit, tour

pytestmark = pytest.mark.skipif(_jit.jit_disabled(), reason="NUMBA_DISABLE_JIT is set: nothing is compiled")


def test_kernels_are_registered_with_the_shared_options():
    k = _jit.KERNELS["lwnlab.tour.quicken"]
    assert k.warmup is not None
    opts = k.func.targetoptions
    assert opts.get("nogil") is True and opts.get("boundscheck") in (None, False)
    assert k.func._cache.__class__.__name__ == "FunctionCache", "cache=True gives an on-disk FunctionCache"


def test_no_recompile_catches_a_new_signature():
    tour.quicken(np.zeros(4, np.int64), 8, 53, 5, 12)  # int64 signature exists now
    with _jit.no_recompile():
        tour.quicken(np.zeros(4, np.int64), 3, 7, 5, 12)  # same types: fine
    with pytest.raises(AssertionError, match="lwnlab.tour.quicken"):
        with _jit.no_recompile():
            tour.quicken(np.zeros(4, np.int64), 3.0, 7, 5, 12)  # a float where an int was: recompiles


def test_warm_calls_every_registered_kernel():
    times = _jit.warm({n: k for n, k in _jit.KERNELS.items() if n.startswith("lwnlab.tour.")})
    assert set(times) == {"lwnlab.tour.quicken", "lwnlab.tour.operand_stream"}


SCRIPT = textwrap.dedent("""
    import json, time
    t0 = time.perf_counter()
    from lwnlab import tour
    tour.simulate()
    print(json.dumps({"hits": sum(tour.quicken.stats.cache_hits.values()),
                      "misses": sum(tour.quicken.stats.cache_misses.values()),
                      "path": tour.quicken.stats.cache_path}))
""")


def test_second_start_loads_from_the_disk_cache(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    first = json.loads(subprocess.check_output([sys.executable, "-c", SCRIPT], env=env))
    second = json.loads(subprocess.check_output([sys.executable, "-c", SCRIPT], env=env))
    assert first["misses"] == 1 and first["hits"] == 0, first
    assert second["hits"] == 1 and second["misses"] == 0, second
    assert first["path"].startswith(str(tmp_path))


def test_cache_dir_follows_numba_cache_dir(tmp_path):
    out = subprocess.check_output([sys.executable, "-c", "from lwnlab import _jit; print(_jit.cache_dir())"],
                                  env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}, text=True)
    assert out.strip() == str(tmp_path)


def test_disable_jit_runs_plain_python():
    code = ("from lwnlab import _jit, tour; import numpy as np; "
            "assert _jit.jit_disabled(); assert not hasattr(tour.quicken, 'signatures'); "
            "print(tour.simulate(steps=300).first_specialized_step())")
    out = subprocess.check_output([sys.executable, "-c", code], env={**os.environ, "NUMBA_DISABLE_JIT": "1"},
                                  text=True)
    assert out.strip() == "8"


def test_warmup_command(tmp_path):
    # only the tour's kernels: a cold compile of every lab's kernels takes minutes (benchmarks/bench_jit.py)
    p = subprocess.run([sys.executable, "-m", "lwnlab.warmup", "--only", "lwnlab.tour."], capture_output=True, text=True,
                       env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)})
    assert p.returncode == 0, p.stderr
    assert "lwnlab.tour.quicken" in p.stdout and "warmed 2 kernels" in p.stdout
    assert any(tmp_path.rglob("*.nbi")), "the warm-up wrote numba's cache index files"


def test_warmup_compiles_labs_in_parallel_processes(tmp_path):
    # two labs, two processes: each child warms one lab and reports its kernels; the parent sums them up
    p = subprocess.run([sys.executable, "-m", "lwnlab.warmup", "--jobs", "2", "--only", "lwnlab.tour.",
                        "--only", "lwnlab.memtier.workloads.seed_rng"],
                       capture_output=True, text=True, env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)})
    assert p.returncode == 0, p.stderr
    assert "2 processes" in p.stdout and "warmed 3 kernels" in p.stdout, p.stdout
    assert "lwnlab.tour: 2 kernels" in p.stdout and "lwnlab.memtier: 1 kernels" in p.stdout
    assert any(tmp_path.rglob("tour*.nbi")) and any(tmp_path.rglob("workloads*.nbi"))
    # a second run loads both labs from what the children cached: it compiles nothing, so it rewrites no cache file
    stamps = {f: f.stat().st_mtime_ns for f in tmp_path.rglob("*.nb*")}
    out = subprocess.run([sys.executable, "-m", "lwnlab.warmup", "--jobs", "1", "--json", "--only", "lwnlab.tour.",
                          "--only", "lwnlab.memtier.workloads.seed_rng"],
                         capture_output=True, text=True, env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)})
    times = json.loads(out.stdout)["kernels"]
    assert sorted(times) == ["lwnlab.memtier.workloads.seed_rng", "lwnlab.tour.operand_stream", "lwnlab.tour.quicken"]
    assert {f: f.stat().st_mtime_ns for f in tmp_path.rglob("*.nb*")} == stamps


def test_warmup_default_jobs_honour_a_cgroup_cpu_quota(tmp_path):
    from lwnlab.warmup import _cores

    f = tmp_path / "cpu.max"
    n = len(os.sched_getaffinity(0))
    f.write_text("max 100000\n")
    assert _cores(str(f)) == n
    f.write_text("100000 100000\n")  # one CPU's worth of time, whatever the affinity says
    assert _cores(str(f)) == 1
    f.write_text("50000 100000\n")
    assert _cores(str(f)) == 1
    assert _cores(str(tmp_path / "missing")) == n


def test_warmup_rejects_bad_jobs_and_unknown_prefixes():
    from lwnlab.errors import UsageError
    from lwnlab.warmup import run

    with pytest.raises(UsageError, match="at least 1"):
        run(verbose=False, jobs=0)
    with pytest.raises(UsageError, match="lwnlab.nosuchlab"):
        run(verbose=False, only=["lwnlab.nosuchlab"])


def test_clear_cache_removes_only_lwnlabs_files(tmp_path):
    code = ("from lwnlab import _jit, tour; tour.simulate(); import glob, os; "
            "before = len(glob.glob(os.path.join(os.environ['NUMBA_CACHE_DIR'], '**', '*.nb*'), recursive=True)); "
            "n = _jit.clear_cache(); "
            "after = len(glob.glob(os.path.join(os.environ['NUMBA_CACHE_DIR'], '**', '*.nb*'), recursive=True)); "
            "print(before, n, after)")
    other = tmp_path / "otherpkg_abc"
    other.mkdir()
    (other / "f.nbi").write_bytes(b"x")
    out = subprocess.check_output([sys.executable, "-c", code], env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)},
                                  text=True)
    before, n, after = map(int, out.split())
    assert before >= 3 and n >= 2 and after == 1, (before, n, after)  # the other package's file stays


NOTICE_SCRIPT = "from lwnlab import tour; tour.simulate()"


def test_a_cold_compile_says_so_and_a_warm_start_says_nothing(tmp_path):
    run = lambda notice: subprocess.run(  # noqa: E731
        [sys.executable, "-c", NOTICE_SCRIPT], capture_output=True, text=True, check=True,
        env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "LWNLAB_COMPILE_NOTICE": notice})
    cold = run("1").stderr
    assert "lwnlab: compiling lwnlab.tour with numba, once (cached afterwards)" in cold, cold
    # one notice per outermost compile, each counting the kernels compiled inside it
    n = sum(int(part.split(" kernel")[0]) for part in cold.split("lwnlab: compiled ")[1:])
    assert n == len([k for k in _jit.KERNELS if k.startswith("lwnlab.tour.")]), cold
    assert "compiling" not in run("1").stderr, "a warm start loads from the cache and compiles nothing"


def test_the_compile_notice_is_silent_in_pipes_unless_asked(tmp_path):
    out = subprocess.run([sys.executable, "-c", NOTICE_SCRIPT], capture_output=True, text=True, check=True,
                         env={**{k: v for k, v in os.environ.items() if k != "LWNLAB_COMPILE_NOTICE"},
                              "NUMBA_CACHE_DIR": str(tmp_path)})
    assert out.stderr == ""
    out = subprocess.run([sys.executable, "-c", NOTICE_SCRIPT], capture_output=True, text=True, check=True,
                         env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "b"), "LWNLAB_COMPILE_NOTICE": "0"})
    assert out.stderr == ""
