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


@jit(inline="always")
def _run_one(code, jt, jf, k, start, n, words, row, mem, path, record):
    """Run the filter at code[start:start+n] on words[row]; return (ret, steps). ret < 0: error."""
    A = np.int64(0)
    X = np.int64(0)
    pc = np.int64(0)
    steps = np.int64(0)
    while True:
        if pc < 0 or pc >= n:
            return RUN_ERROR, steps
        i = start + pc
        c = code[i]
        kk = k[i]
        if record:
            if steps < path.shape[0]:
                path[steps] = pc
        steps += 1
        if c == LD_W_ABS or c == LDX_W_ABS:
            w = kk >> 2
            if w >= 16 or (kk & 3) != 0:
                return RUN_ERROR, steps
            A = np.int64(words[row, w])
            pc += 1
        elif c == JEQ_K:
            pc += 1 + (jt[i] if A == kk else jf[i])
        elif c == RET_K:
            return kk, steps
        elif c == JGE_K:
            pc += 1 + (jt[i] if A >= kk else jf[i])
        elif c == JGT_K:
            pc += 1 + (jt[i] if A > kk else jf[i])
        elif c == JSET_K:
            pc += 1 + (jt[i] if (A & kk) != 0 else jf[i])
        elif c == 0x54:  # and k
            A = A & kk
            pc += 1
        elif c == JA:
            pc += 1 + kk
        elif c == RET_A:
            return A, steps
        elif c == JEQ_X:
            pc += 1 + (jt[i] if A == X else jf[i])
        elif c == JGT_X:
            pc += 1 + (jt[i] if A > X else jf[i])
        elif c == JGE_X:
            pc += 1 + (jt[i] if A >= X else jf[i])
        elif c == JSET_X:
            pc += 1 + (jt[i] if (A & X) != 0 else jf[i])
        elif c == LD_IMM:
            A = kk
            pc += 1
        elif c == LDX_IMM:
            X = kk
            pc += 1
        elif c == LD_W_LEN:
            A = np.int64(64)
            pc += 1
        elif c == LDX_W_LEN:
            X = np.int64(64)
            pc += 1
        elif c == LD_MEM:
            if kk >= 16:
                return RUN_ERROR, steps
            A = mem[kk]
            pc += 1
        elif c == LDX_MEM:
            if kk >= 16:
                return RUN_ERROR, steps
            X = mem[kk]
            pc += 1
        elif c == ST:
            if kk >= 16:
                return RUN_ERROR, steps
            mem[kk] = A
            pc += 1
        elif c == STX:
            if kk >= 16:
                return RUN_ERROR, steps
            mem[kk] = X
            pc += 1
        elif c == TAX:
            X = A
            pc += 1
        elif c == TXA:
            A = X
            pc += 1
        elif (c & 0x07) == 0x04:  # ALU
            op = c & 0xF0
            b = X if (c & 0x08) else kk
            if op == 0x00:
                A = (A + b) & M32
            elif op == 0x10:
                A = (A - b) & M32
            elif op == 0x20:
                A = np.int64((np.uint64(A) * np.uint64(b)) & np.uint64(0xFFFFFFFF))
            elif op == 0x30:
                if b == 0:
                    return np.int64(0), steps
                A = A // b
            elif op == 0x90:
                if b == 0:
                    return np.int64(0), steps
                A = A % b
            elif op == 0x40:
                A = A | b
            elif op == 0x50:
                A = A & b
            elif op == 0xA0:
                A = A ^ b
            elif op == 0x60:
                A = (A << (b & 31)) & M32
            elif op == 0x70:
                A = A >> (b & 31)
            elif op == 0x80:
                A = (-A) & M32
            else:
                return RUN_ERROR, steps
            pc += 1
        else:
            return RUN_ERROR, steps


def _warm_stack():
    code = np.array([0x20, 0x06], dtype=np.int64)
    z = np.zeros(2, dtype=np.int64)
    k = np.array([0, 0x7FFF0000], dtype=np.int64)
    starts = np.array([0], dtype=np.int64)
    lens = np.array([2], dtype=np.int64)
    words = np.zeros((1, 16), dtype=np.uint32)
    cached = np.zeros(1, dtype=np.uint8)
    return (code, z, z.copy(), k, starts, lens, words, cached, np.zeros(1, np.int64), np.zeros(1, np.int64),
            np.zeros(1, np.int64))


@jit(warmup=_warm_stack)
def run_stack(code, jt, jf, k, starts, lens, words, cached, out_ret, out_filter, out_steps):
    """Run a stack of filters (oldest first in starts/lens) over every row of words.

    For each syscall: if ``cached[row]`` it is allowed without running anything
    (the action cache); otherwise run the filters newest to oldest and keep a
    result only when its signed action is strictly lower (``seccomp_run_filters``).
    Writes the 32-bit result, the deciding filter (-1 = none beat ALLOW, -2 =
    cache hit, -3 = error) and the number of instructions executed.
    """
    mem = np.zeros(16, dtype=np.int64)
    path = np.zeros(1, dtype=np.int64)
    nf = starts.shape[0]
    for row in range(words.shape[0]):
        if cached[row]:
            out_ret[row] = 0x7FFF0000
            out_filter[row] = -2
            out_steps[row] = 0
            continue
        ret = np.int64(0x7FFF0000)
        match = np.int64(-1)
        total = np.int64(0)
        for f in range(nf - 1, -1, -1):
            r, s = _run_one(code, jt, jf, k, starts[f], lens[f], words, row, mem, path, False)
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
    code = np.array([0x20, 0x06], dtype=np.int64)
    z = np.zeros(2, dtype=np.int64)
    k = np.array([0, 0x7FFF0000], dtype=np.int64)
    return code, z, z.copy(), k, np.zeros((1, 16), dtype=np.uint32), np.zeros(4097, dtype=np.int64)


@jit(warmup=_warm_path)
def run_path(code, jt, jf, k, words, path):
    """Run one filter on words[0] recording the pcs visited; return (ret, steps)."""
    mem = np.zeros(16, dtype=np.int64)
    return _run_one(code, jt, jf, k, np.int64(0), np.int64(code.shape[0]), words, np.int64(0), mem, path, True)
