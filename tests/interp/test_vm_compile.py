"""Compile hygiene of the VM: one signature per kernel, whatever runs, so a warmed cache covers everything."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from lwnlab._jit import jit_disabled
from lwnlab.interp import preset
from lwnlab.interp import vm as V
from lwnlab.interp.machine import build, warmup_args
from lwnlab.interp.compiler import compile_source

pytestmark = pytest.mark.skipif(jit_disabled(), reason="numba signatures only exist when compiling")

PROGRAM = """
G = 2
class P:
    k = 1
    def __init__(self, x):
        self.x = x
    def get(self):
        return self.x
def h(a, b):
    return a - b if a > b else b - a
def f(n):
    s = 0
    xs = [1, 2.5, 'a'] + [3] * 2
    xs.append(n)
    p = P(n)
    t = (1, 2)
    u, v = t
    for i in range(n):
        s = s + i * G + len(xs) + p.x + P.k + h(i, 3) + abs(-i) + int(2.5) + p.get()
        xs[0] = i
        s += xs[0] // 3 + u % 2 - v
        if s > 10 and not s == 11 or s is None:
            s -= 1
    print('s', s, xs)
    return s, 'a' + 'b' < 'c', 'ab' == 'a' + 'b', min(3, 4), max([1, 2]), isinstance(p, P)
"""


def test_every_vm_kernel_has_one_signature(tmp_path):
    # in a fresh process with an empty cache, so every kernel really compiles (a warm cache loads run alone)
    code = f"""
import json
from lwnlab._jit import KERNELS
from lwnlab.interp import execute, preset
src = {PROGRAM!r}
for pol in ("cpython311", "cpython312", "pep659", "off"):
    execute(src, "f", [(5,)] * 10, pol)
execute(src, "f", [(5,)] * 3, preset("cpython311", warmup=0))
print(json.dumps({{n: len(k.signatures()) for n, k in KERNELS.items() if n.startswith("lwnlab.interp.vm.")}}))
"""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    counts = json.loads(out.stdout.strip().splitlines()[-1])
    assert counts["lwnlab.interp.vm.run"] == 1 and counts["lwnlab.interp.vm.fast"] == 1
    many = {name: c for name, c in counts.items() if c > 1}
    assert not many, f"kernels compiled for more than one argument type (a literal argument?): {many}"


def test_kernels_take_the_memory_image_only():
    mem, lay = warmup_args()
    assert mem.dtype == np.int64 and mem.ndim == 1 and lay.shape == (len(V.REGIONS), 3)
    img = build(compile_source("def f():\n    return 1\n"), "f", None, preset("cpython312"))
    for name, cols in V.REGIONS:
        view = img.arrays[name]
        assert np.shares_memory(view, img.mem) and (view.ndim == 1 if cols == 1 else view.shape[1] == cols)
