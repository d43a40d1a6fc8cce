"""The classic-BPF fast path: seccomp filters run directly in numba over batches of syscalls.

The kernel runs the *converted* eBPF program (:func:`lwnlab.bpf.classic.convert`),
and so can lwnlab (:func:`lwnlab.seccomp.filter.Filter.run_ebpf`); this engine
runs the checked classic program itself, which is what makes a million-syscall
trace take about a second.  Both must agree on every input (the tests check).

Inputs are validated first (:func:`lwnlab.bpf.classic.validate_seccomp`): only
seccomp's opcodes, jumps inside the program, a final RET, memory written before
it is read.  The loop still checks the pc and the load offset and returns the
error code ``RUN_ERROR`` rather than reading past an array.

Semantics (the converted program's): A and X are 32-bit, ``ld [k]`` reads
word ``k/4`` of seccomp_data, ``len`` is 64, shift counts from X are masked
with 31, division or modulo by X == 0 makes the filter return 0 (KILL_THREAD).
"""

from __future__ import annotations

import numpy as np

try:
    from numba import prange
except ImportError:  # pragma: no cover - numba-less install: plain Python loops
    prange = range

from lwnlab._jit import jit

M32 = np.int64(0xFFFFFFFF)
RUN_ERROR = np.int64(-1)

# opcodes (int, as the arrays hold them)
LD_W_ABS = 0x20
LDX_W_ABS = 0x21  # seccomp's rewrite of LD|W|ABS; treated the same
LD_W_LEN, LDX_W_LEN, LD_IMM, LDX_IMM, LD_MEM, LDX_MEM = 0x80, 0x81, 0x00, 0x01, 0x60, 0x61
ST, STX, TAX, TXA = 0x02, 0x03, 0x07, 0x87
RET_K, RET_A = 0x06, 0x16
JA, JEQ_K, JEQ_X, JGT_K, JGT_X, JGE_K, JGE_X, JSET_K, JSET_X = 0x05, 0x15, 0x1D, 0x25, 0x2D, 0x35, 0x3D, 0x45, 0x4D


# dense operation numbers of the pre-decoded program (decode() below)
OP_LDW, OP_JEQ_K, OP_RET_K, OP_JGE_K, OP_JGT_K, OP_JSET_K, OP_AND_K, OP_JA, OP_RET_A = 0, 1, 2, 3, 4, 5, 6, 7, 8
OP_JEQ_X, OP_JGT_X, OP_JGE_X, OP_JSET_X, OP_LD_IMM, OP_LDX_IMM, OP_LD_MEM, OP_LDX_MEM = 9, 10, 11, 12, 13, 14, 15, 16
OP_ST, OP_STX, OP_TAX, OP_TXA, OP_ALU_K, OP_ALU_X, OP_BAD = 17, 18, 19, 20, 21, 22, 23

_SIMPLE = {LD_W_ABS: OP_LDW, LDX_W_ABS: OP_LDW, JEQ_K: OP_JEQ_K, RET_K: OP_RET_K, JGE_K: OP_JGE_K,
           JGT_K: OP_JGT_K, JSET_K: OP_JSET_K, 0x54: OP_AND_K, JA: OP_JA, RET_A: OP_RET_A, JEQ_X: OP_JEQ_X,
           JGT_X: OP_JGT_X, JGE_X: OP_JGE_X, JSET_X: OP_JSET_X, LD_IMM: OP_LD_IMM, LDX_IMM: OP_LDX_IMM,
           LD_MEM: OP_LD_MEM, LDX_MEM: OP_LDX_MEM, ST: OP_ST, STX: OP_STX, TAX: OP_TAX, TXA: OP_TXA}


_JUMPS = (OP_JEQ_K, OP_JGE_K, OP_JGT_K, OP_JSET_K, OP_JEQ_X, OP_JGT_X, OP_JGE_X, OP_JSET_X)


def decode(code, jt, jf, k) -> np.ndarray:
    """Pre-decode a checked classic program to int64[n, 4]: (op, true target, false target, k).

    Jump targets become absolute pcs, ``len`` becomes an immediate 64, ALU ops keep their
    classic operation in column 1.  Any instruction the run loop could not execute safely (an
    unknown opcode, a load outside seccomp_data or M[], a successor outside the program)
    becomes OP_BAD, so the loop needs no pc or index checks of its own.
    """
    n = len(code)
    out = np.zeros((n, 4), dtype=np.int64)
    for i in range(n):
        c, kk = int(code[i]), int(k[i]) & 0xFFFFFFFF
        op = _SIMPLE.get(c)
        t = f = i + 1
        succ: tuple = (i + 1,)
        if c in (LD_W_LEN, LDX_W_LEN):
            op, kk = (OP_LD_IMM if c == LD_W_LEN else OP_LDX_IMM), 64
        elif op is None:
            if c & 0x07 == 0x04:
                op = OP_ALU_X if c & 0x08 else OP_ALU_K
                t = c & 0xF0
            else:
                op = OP_BAD
        elif op == OP_JA:
            t = f = i + 1 + kk
            succ = (t,)
        elif op in _JUMPS:
            t, f = i + 1 + int(jt[i]), i + 1 + int(jf[i])
            succ = (t, f)
        elif op in (OP_RET_K, OP_RET_A):
            succ = ()
        elif op == OP_LDW and (kk >= 64 or kk & 3):
            op = OP_BAD
        elif op in (OP_LD_MEM, OP_LDX_MEM, OP_ST, OP_STX) and kk >= 16:
            op = OP_BAD
        if any(not 0 <= x < n for x in succ):
            op = OP_BAD
        if op == OP_LDW:
            kk >>= 2
        out[i] = (op, t, f, kk)
    return out


@jit(inline="always")
def _run_one(prog, start, n, words, row, mem, path, record):
    """Run the pre-decoded filter prog[start:start+n] on words[row]; return (ret, steps). ret < 0: error."""
    A = np.int64(0)
    X = np.int64(0)
    pc = np.int64(0)
    steps = np.int64(0)
    while True:
        # no pc check needed: decode() turned every instruction whose successor lies outside the
        # program into OP_BAD, so pc stays in [0, n)
        i = start + pc
        op = prog[i, 0]
        kk = prog[i, 3]
        if record:
            if steps < path.shape[0]:
                path[steps] = pc
        steps += 1
        if op == OP_LDW:
            A = np.int64(words[row, kk])
            pc += 1
        elif op == OP_JEQ_K:
            pc = prog[i, 1] if A == kk else prog[i, 2]
        elif op == OP_RET_K:
            return kk, steps
        elif op == OP_JGE_K:
            pc = prog[i, 1] if A >= kk else prog[i, 2]
        elif op == OP_JGT_K:
            pc = prog[i, 1] if A > kk else prog[i, 2]
        elif op == OP_JSET_K:
            pc = prog[i, 1] if (A & kk) != 0 else prog[i, 2]
        elif op == OP_AND_K:
            A = A & kk
            pc += 1
        elif op == OP_JA:
            pc = prog[i, 1]
        elif op == OP_RET_A:
            return A, steps
        elif op == OP_JEQ_X:
            pc = prog[i, 1] if A == X else prog[i, 2]
        elif op == OP_JGT_X:
            pc = prog[i, 1] if A > X else prog[i, 2]
        elif op == OP_JGE_X:
            pc = prog[i, 1] if A >= X else prog[i, 2]
        elif op == OP_JSET_X:
            pc = prog[i, 1] if (A & X) != 0 else prog[i, 2]
        elif op == OP_LD_IMM:
            A = kk
            pc += 1
        elif op == OP_LDX_IMM:
            X = kk
            pc += 1
        elif op == OP_LD_MEM:
            A = mem[kk]
            pc += 1
        elif op == OP_LDX_MEM:
            X = mem[kk]
            pc += 1
        elif op == OP_ST:
            mem[kk] = A
            pc += 1
        elif op == OP_STX:
            mem[kk] = X
            pc += 1
        elif op == OP_TAX:
            X = A
            pc += 1
        elif op == OP_TXA:
            A = X
            pc += 1
        elif op == OP_ALU_K or op == OP_ALU_X:
            aop = prog[i, 1]
            b = X if op == OP_ALU_X else kk
            if aop == 0x00:
                A = (A + b) & M32
            elif aop == 0x10:
                A = (A - b) & M32
            elif aop == 0x20:
                A = np.int64((np.uint64(A) * np.uint64(b)) & np.uint64(0xFFFFFFFF))
            elif aop == 0x30:
                if b == 0:
                    return np.int64(0), steps
                A = A // b
            elif aop == 0x90:
                if b == 0:
                    return np.int64(0), steps
                A = A % b
            elif aop == 0x40:
                A = A | b
            elif aop == 0x50:
                A = A & b
            elif aop == 0xA0:
                A = A ^ b
            elif aop == 0x60:
                A = (A << (b & 31)) & M32
            elif aop == 0x70:
                A = A >> (b & 31)
            elif aop == 0x80:
                A = (-A) & M32
            else:
                return RUN_ERROR, steps
            pc += 1
        else:
            return RUN_ERROR, steps


def _warm_prog():
    return decode(np.array([0x20, 0x06]), np.zeros(2, np.int64), np.zeros(2, np.int64),
                  np.array([0, 0x7FFF0000]))


def _warm_stack():
    starts = np.array([0], dtype=np.int64)
    lens = np.array([2], dtype=np.int64)
    words = np.zeros((1, 16), dtype=np.uint32)
    cached = np.zeros(1, dtype=np.uint8)
    return (_warm_prog(), starts, lens, words, cached, np.zeros(1, np.int64), np.zeros(1, np.int64),
            np.zeros(1, np.int64))


@jit(warmup=_warm_stack, parallel=True)
def run_stack(prog, starts, lens, words, cached, out_ret, out_filter, out_steps):
    """Run a stack of filters (oldest first in starts/lens) over every row of words.

    For each syscall: if ``cached[row]`` it is allowed without running anything
    (the action cache); otherwise run the filters newest to oldest and keep a
    result only when its signed action is strictly lower (``seccomp_run_filters``).
    Writes the 32-bit result, the deciding filter (-1 = none beat ALLOW, -2 =
    cache hit, -3 = error) and the number of instructions executed.  Rows are
    split into chunks that run on numba's threads (each with its own M[]).
    """
    nrows = words.shape[0]
    nf = starts.shape[0]
    nchunks = min(nrows, 64)
    for c in prange(nchunks):
        mem = np.zeros(16, dtype=np.int64)
        path = np.zeros(1, dtype=np.int64)
        lo = c * nrows // nchunks
        hi = (c + 1) * nrows // nchunks
        for row in range(lo, hi):
            if cached[row]:
                out_ret[row] = 0x7FFF0000
                out_filter[row] = -2
                out_steps[row] = 0
                continue
            ret = np.int64(0x7FFF0000)
            match = np.int64(-1)
            total = np.int64(0)
            for f in range(nf - 1, -1, -1):
                r, s = _run_one(prog, starts[f], lens[f], words, row, mem, path, False)
                total += s
                if r < 0:
                    match = np.int64(-3)
                    ret = np.int64(0)
                    break
                cur = r & 0xFFFF0000
                if cur >= 0x80000000:
                    cur -= 0x100000000
                best = ret & 0xFFFF0000
                if best >= 0x80000000:
                    best -= 0x100000000
                if cur < best:
                    ret = r
                    match = np.int64(f)
            out_ret[row] = ret
            out_filter[row] = match
            out_steps[row] = total


def _warm_path():
    return _warm_prog(), np.zeros((1, 16), dtype=np.uint32), np.zeros(4097, dtype=np.int64)


@jit(warmup=_warm_path)
def run_path(prog, words, path):
    """Run one pre-decoded filter on words[0] recording the pcs visited; return (ret, steps)."""
    mem = np.zeros(16, dtype=np.int64)
    return _run_one(prog, np.int64(0), np.int64(prog.shape[0]), words, np.int64(0), mem, path, True)
