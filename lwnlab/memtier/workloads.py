"""Access patterns, generated inside numba and deterministic for a seed.

The patterns are pmbench's (Jisoo Yang, Intel) plus what the lab needs:

* ``uniform``;
* ``zipf``: rank k with probability ~ 1/k^s (YCSB's s = 0.99), sampled by
  Hörmann & Derflinger's rejection-inversion (O(1), any s > 0);
* ``gaussian``: pmbench "normal", mean pages/2 and sigma = shape * pages;
* ``pareto``: bounded Pareto on [1, pages+1) with alpha = shape (1.161 ~ 80/20);
* ``scan``: sequential, stride = shape pages;
* ``hotset``: hot_share of the accesses go uniformly to the first shape*pages ranks;
* every pattern can rotate its hot region every ``phase_ms`` (phase change) and
  be scrambled by a fixed permutation (rank -> page).

The random generator is xoshiro256** seeded through splitmix64; a cgroup is
picked per access by its weight, then its pattern draws a page and a
read/write.  Where one access needs two decisions of 32 bits or less (which
cgroup and read or write; hot or cold set and which page of it), the two halves
of one 64-bit draw make them: a draw's latency, not its width, is what limits
the generator.  :func:`compile_cgroups` turns CgroupSpecs into the arrays the
kernels read; :func:`generate` is the standalone trace generator (the
simulation calls the same :func:`draw` inline).
"""

from __future__ import annotations

import math

import numpy as np

from lwnlab._jit import jit
from lwnlab.memtier.params import PATTERNS, CgroupSpec

# cgroup integer columns
CI_START, CI_N, CI_KIND, CI_MULT, CI_SCRAMBLE, CI_PHASE_MS, CI_SHIFT, CI_HOT_N, CI_CPU, CI_PREFAULT, CI_SOFT, CI_STRIDE = range(12)
NCI = 12
# cgroup float columns
CF_SHAPE, CF_HOT_SHARE, CF_READ, CF_CUMW, CF_Z_X1, CF_Z_N, CF_Z_S, CF_P_HA = range(8)
NCF = 8

K_UNIFORM, K_ZIPF, K_GAUSS, K_PARETO, K_SCAN, K_HOTSET = range(6)

_U53 = 1.0 / 9007199254740992.0
_U32 = 1.0 / 4294967296.0


# ----------------------------------------------------------------------------- RNG


@jit(warmup=lambda: (np.zeros(4, np.uint64), 1))
def seed_rng(state, seed):
    """Fill xoshiro256** ``state`` from ``seed`` with splitmix64."""
    x = np.uint64(seed)
    for i in range(4):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        z = x
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        state[i] = z ^ (z >> np.uint64(31))


@jit(warmup=lambda: (np.uint64(1), np.uint64(2), np.uint64(3), np.uint64(4)))
def xoshiro(s0, s1, s2, s3):
    """xoshiro256** (Blackman & Vigna), one step on a state held in four locals (tight loops keep it
    in registers this way): (the next 64 random bits, s0, s1, s2, s3)."""
    t = s1 * np.uint64(5)
    result = ((t << np.uint64(7)) | (t >> np.uint64(57))) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << np.uint64(45)) | (s3 >> np.uint64(19))
    return result, s0, s1, s2, s3


@jit(warmup=lambda: (np.ones(4, np.uint64),))
def next_u64(s):
    """xoshiro256**: the next 64 random bits; advances the state array ``s`` in place."""
    result, s[0], s[1], s[2], s[3] = xoshiro(s[0], s[1], s[2], s[3])
    return result


@jit(warmup=lambda: (np.uint64(1), np.uint64(2), np.uint64(3), np.uint64(4)))
def xoshiro_halves(s0, s1, s2, s3):
    """:func:`xoshiro` as two uniforms in [0, 1) of 32 bits each, from the high half and the low half
    of the draw: (hi, lo, s0, s1, s2, s3)."""
    r, s0, s1, s2, s3 = xoshiro(s0, s1, s2, s3)
    return (float(np.int64(r >> np.uint64(32))) * _U32, float(np.int64(r & np.uint64(0xFFFFFFFF))) * _U32,
            s0, s1, s2, s3)


@jit(warmup=lambda: (np.ones(4, np.uint64),))
def next_double(s):
    """Uniform in [0, 1) with 53 random bits."""
    return float(next_u64(s) >> np.uint64(11)) * _U53


# ----------------------------------------------------------------------------- Zipf helpers (Apache Commons RNG)


def _helper1(x):
    return math.log1p(x) / x if abs(x) > 1e-8 else 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))


def _helper2(x):
    return math.expm1(x) / x if abs(x) > 1e-8 else 1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x))


def _h_integral(x, s):
    lx = math.log(x)
    return _helper2((1.0 - s) * lx) * lx


def _h(x, s):
    return math.exp(-s * math.log(x))


def _h_integral_inverse(x, s):
    t = x * (1.0 - s)
    if t < -1.0:
        t = -1.0
    return math.exp(_helper1(t) * x)


zipf_helper1 = jit(_helper1)
zipf_helper2 = jit(_helper2)


@jit(warmup=lambda: (2.0, 0.99))
def zipf_h_integral(x, s):
    lx = math.log(x)
    return zipf_helper2((1.0 - s) * lx) * lx


@jit(warmup=lambda: (2.0, 0.99))
def zipf_h_integral_inverse(x, s):
    t = x * (1.0 - s)
    if t < -1.0:
        t = -1.0
    return math.exp(zipf_helper1(t) * x)


def zipf_constants(n: int, s: float) -> tuple[float, float, float]:
    """(hIntegralX1, hIntegralN, s_const) of the rejection-inversion sampler over ranks 1..n."""
    x1 = _h_integral(1.5, s) - 1.0
    xn = _h_integral(n + 0.5, s)
    sc = 2.0 - _h_integral_inverse(_h_integral(2.5, s) - _h(2.0, s), s)
    return x1, xn, sc


# ----------------------------------------------------------------------------- drawing accesses


@jit(warmup=lambda: (np.zeros((1, NCI), np.int64) + 8, np.zeros((1, NCF)) + 0.5, 0, 4, np.zeros(4, np.int64), 0,
                     np.zeros(1, np.int64), np.ones(4, np.uint64), 0))
def gen_ranks(cg_i, cg_f, c, cnt, buf, o, scanpos, rng, now_ms):
    """Fill ``buf[o:o+cnt]`` with page indices in [0, n) of cgroup ``c`` at time ``now_ms``.

    One tight loop per pattern; the popularity rank is then scrambled (rank * m mod n, m coprime
    to n) if asked, and shifted by the current phase's offset.
    """
    n = cg_i[c, CI_N]
    out = buf[o:o + cnt]
    kind = cg_i[c, CI_KIND]
    if kind == K_UNIFORM:
        fn = float(n)
        for k in range(cnt):
            out[k] = np.int64(next_double(rng) * fn)
    elif kind == K_ZIPF:
        s = cg_f[c, CF_SHAPE]
        x1 = cg_f[c, CF_Z_X1]
        xn = cg_f[c, CF_Z_N]
        sc = cg_f[c, CF_Z_S]
        for j in range(cnt):
            while True:
                u = xn + next_double(rng) * (x1 - xn)
                x = zipf_h_integral_inverse(u, s)
                k = np.int64(x + 0.5)
                if k < 1:
                    k = 1
                elif k > n:
                    k = n
                if k - x <= sc or u >= zipf_h_integral(k + 0.5, s) - math.exp(-s * math.log(float(k))):
                    break
            out[j] = k - 1
    elif kind == K_GAUSS:
        mean = 0.5 * n
        sigma = cg_f[c, CF_SHAPE] * n
        fn = float(n)
        j = 0
        while j < cnt:
            # Box-Muller: two normals per pair of uniforms; values outside [0, n) are redrawn
            u1 = next_double(rng)
            u2 = next_double(rng)
            rad = math.sqrt(-2.0 * math.log(1.0 - u1))
            v = mean + sigma * rad * math.cos(2.0 * math.pi * u2)
            if v >= 0.0 and v < fn:
                out[j] = np.int64(v)
                j += 1
            if j < cnt:
                v = mean + sigma * rad * math.sin(2.0 * math.pi * u2)
                if v >= 0.0 and v < fn:
                    out[j] = np.int64(v)
                    j += 1
    elif kind == K_PARETO:
        a = cg_f[c, CF_SHAPE]
        ha = cg_f[c, CF_P_HA]
        inv = -1.0 / a
        for k in range(cnt):
            u = next_double(rng)
            # bounded Pareto on [1, n+1): inverse CDF with L = 1 and H^-a precomputed
            r = np.int64((1.0 - u + u * ha) ** inv) - 1
            if r >= n:
                r = n - 1
            if r < 0:
                r = 0
            out[k] = r
    elif kind == K_SCAN:
        pos = scanpos[c]
        st = cg_i[c, CI_STRIDE]
        for k in range(cnt):
            out[k] = pos
            pos += st
            if pos >= n:
                pos %= n
        scanpos[c] = pos
    else:  # K_HOTSET
        hs = cg_f[c, CF_HOT_SHARE]
        hn = float(cg_i[c, CI_HOT_N])
        fn = float(n)
        s0, s1, s2, s3 = rng[0], rng[1], rng[2], rng[3]
        for k in range(cnt):  # hot or not from the high half of one draw, the page from the low half
            u, v, s0, s1, s2, s3 = xoshiro_halves(s0, s1, s2, s3)
            out[k] = np.int64(v * hn) if u < hs else np.int64(v * fn)
        rng[0], rng[1], rng[2], rng[3] = s0, s1, s2, s3
    if cg_i[c, CI_SCRAMBLE] != 0:
        m = cg_i[c, CI_MULT]
        for k in range(cnt):
            out[k] = (out[k] * m) % n
    pm = cg_i[c, CI_PHASE_MS]
    if pm > 0:
        off = ((now_ms // pm) * cg_i[c, CI_SHIFT]) % n
        if off > 0:
            for k in range(cnt):
                r = out[k] + off
                if r >= n:
                    r -= n
                out[k] = r


@jit(warmup=lambda: (np.zeros((1, NCI), np.int64) + 8, np.zeros((1, NCF)) + 0.5, np.zeros(1, np.int64),
                     np.ones(4, np.uint64), 0, np.zeros(4, np.int64), np.zeros(4, np.int64), np.zeros(4, np.int8),
                     np.zeros(4, np.int64)))
def fill_accesses(cg_i, cg_f, scanpos, rng, now_ms, cgs, pages, writes, tmp):
    """One batch of accesses (a simulated millisecond): who issues each, which page, read or write.

    Each access's cgroup is drawn by weight (and, right away, whether it writes: 1 - read_ratio);
    each cgroup's pages are then drawn in one tight loop and scattered back in issue order.
    """
    m = pages.shape[0]
    ncg = cg_i.shape[0]
    if ncg == 1:
        gen_ranks(cg_i, cg_f, 0, m, tmp, 0, scanpos, rng, now_ms)
        base = cg_i[0, CI_START]
        rr = cg_f[0, CF_READ]
        for k in range(m):
            cgs[k] = 0
            pages[k] = base + tmp[k]
        for k in range(m):
            writes[k] = 1 if next_double(rng) >= rr else 0
        return
    counts = np.zeros(ncg, np.int64)
    s0, s1, s2, s3 = rng[0], rng[1], rng[2], rng[3]
    for k in range(m):  # the cgroup from the high half of one draw, read or write from the low half
        u, w, s0, s1, s2, s3 = xoshiro_halves(s0, s1, s2, s3)
        c = 0
        while c < ncg - 1 and u >= cg_f[c, CF_CUMW]:
            c += 1
        cgs[k] = c
        counts[c] += 1
        writes[k] = 1 if w >= cg_f[c, CF_READ] else 0
    rng[0], rng[1], rng[2], rng[3] = s0, s1, s2, s3
    cursor = np.zeros(ncg, np.int64)
    o = 0
    for c in range(ncg):
        cursor[c] = o
        if counts[c] > 0:
            gen_ranks(cg_i, cg_f, c, counts[c], tmp, o, scanpos, rng, now_ms)
        o += counts[c]
    for k in range(m):
        c = cgs[k]
        pages[k] = cg_i[c, CI_START] + tmp[cursor[c]]
        cursor[c] += 1


# ----------------------------------------------------------------------------- compilation


def _coprime_mult(n: int) -> int:
    """A multiplier coprime to n near n/phi, so rank -> rank*m mod n is a scrambling bijection."""
    if n <= 2:
        return 1
    m = max(1, int(n * 0.6180339887498949)) | 1
    while math.gcd(m, n) != 1:
        m += 2
    return m % n or 1


def compile_cgroups(cgroups, offsets: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(cg_i int64[ncg, NCI], cg_f float64[ncg, NCF]) for validated CgroupSpecs."""
    ncg = len(cgroups)
    cg_i = np.zeros((ncg, NCI), np.int64)
    cg_f = np.zeros((ncg, NCF), np.float64)
    tw = float(sum(c.weight for c in cgroups))
    acc = 0.0
    start = 0
    for i, c in enumerate(cgroups):
        n = int(c.pages)
        kind = PATTERNS.index(c.pattern)
        scramble = c.scramble if c.scramble is not None else c.pattern in ("zipf", "pareto", "uniform")
        cg_i[i, CI_START] = start if offsets is None else offsets[i]
        cg_i[i, CI_N] = n
        cg_i[i, CI_KIND] = kind
        cg_i[i, CI_MULT] = _coprime_mult(n)
        cg_i[i, CI_SCRAMBLE] = int(bool(scramble))
        cg_i[i, CI_PHASE_MS] = int(c.phase_ms)
        cg_i[i, CI_SHIFT] = int(round(c.phase_shift * n)) % n if n else 0
        cg_i[i, CI_HOT_N] = max(1, int(round(c.shape * n))) if c.pattern == "hotset" else n
        cg_i[i, CI_CPU] = int(c.cpu_node)
        cg_i[i, CI_PREFAULT] = int(bool(c.prefault))
        cg_i[i, CI_SOFT] = -1 if c.soft_limit_pages is None else int(c.soft_limit_pages)
        cg_i[i, CI_STRIDE] = max(1, int(c.shape)) if c.pattern == "scan" else 1
        cg_f[i, CF_SHAPE] = float(c.shape)
        cg_f[i, CF_HOT_SHARE] = float(c.hot_share)
        cg_f[i, CF_READ] = float(c.read_ratio)
        acc += float(c.weight) / tw
        cg_f[i, CF_CUMW] = acc
        if c.pattern == "zipf":
            cg_f[i, CF_Z_X1], cg_f[i, CF_Z_N], cg_f[i, CF_Z_S] = zipf_constants(n, float(c.shape))
        if c.pattern == "pareto":
            cg_f[i, CF_P_HA] = (n + 1.0) ** (-float(c.shape))
        start += n
    cg_f[-1, CF_CUMW] = 1.0
    return cg_i, cg_f


# ----------------------------------------------------------------------------- standalone generator


@jit(warmup=lambda: (np.zeros((1, NCI), np.int64) + 8, np.zeros((1, NCF)) + 0.5, 8, 4, 1,
                     np.zeros(8, np.int64), np.zeros(8, np.int8), np.zeros(8, np.int64)))
def generate_into(cg_i, cg_f, count, accesses_per_ms, seed, pages, writes, cgs):
    """Fill ``pages`` (global page numbers), ``writes`` (0/1) and ``cgs`` with ``count`` accesses.

    Exactly the stream the simulation consumes for the same seed (before it draws anything else).
    """
    rng = np.zeros(4, np.uint64)
    seed_rng(rng, seed)
    ncg = cg_i.shape[0]
    scanpos = np.zeros(ncg, np.int64)
    tmp = np.empty(accesses_per_ms, np.int64)
    cb = np.empty(accesses_per_ms, np.int64)
    pb = np.empty(accesses_per_ms, np.int64)
    wb = np.empty(accesses_per_ms, np.int8)
    done = 0
    t = 0
    while done < count:
        fill_accesses(cg_i, cg_f, scanpos, rng, t, cb, pb, wb, tmp)
        m = min(accesses_per_ms, count - done)
        for k in range(m):
            cgs[done + k] = cb[k]
            pages[done + k] = pb[k]
            writes[done + k] = wb[k]
        done += m
        t += 1
    return count


def generate(cgroups, count: int, *, seed: int = 1, accesses_per_sec: int = 1_000_000):
    """A trace of ``count`` accesses: (pages int64, writes int8, cgroup int64); same seed, same trace.

    ``cgroups`` is a CgroupSpec or a sequence of them (pages of cgroup i follow those of i-1).
    """
    from lwnlab.errors import ConfigError
    from lwnlab.memtier.params import SimConfig, validate

    if isinstance(cgroups, CgroupSpec):
        cgroups = (cgroups,)
    validate(SimConfig(cgroups=tuple(cgroups)))
    if not isinstance(count, int) or count < 0:
        raise ConfigError(f"count must be a non-negative integer, got {count!r}", field="count")
    if accesses_per_sec < 1000 or accesses_per_sec % 1000:
        raise ConfigError("must be a positive multiple of 1000", field="accesses_per_sec")
    cg_i, cg_f = compile_cgroups(cgroups)
    pages = np.empty(count, np.int64)
    writes = np.empty(count, np.int8)
    cgs = np.empty(count, np.int64)
    generate_into(cg_i, cg_f, np.int64(count), np.int64(accesses_per_sec // 1000), np.int64(seed), pages, writes, cgs)
    return pages, writes, cgs
