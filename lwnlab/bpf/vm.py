"""The eBPF interpreter: one numba loop over the opcode, every memory access checked.

Shape of the machine (what ``kernel/bpf/core.c``'s ``___bpf_prog_run`` does,
with the checks the verifier would otherwise have proved made explicit):

* registers r0..r10, 64 bits each (``uint64[11]``); r10 is the read-only frame
  pointer;
* memory is a table of **regions** (:class:`Region`): each has a virtual base
  address, a size, an offset into one flat ``uint8`` arena and flags
  (writable, is-stack).  Region 0 is always the stack: ``MAX_CALL_FRAMES`` x
  512 bytes, frame *d*'s r10 is ``stack_end - d*512``; only the stack of live
  frames is addressable.  Any load or store outside every region, or a store to
  a read-only region, stops the program with ``ERR_OOB``/``ERR_READONLY``
  naming the pc and the address: nothing ever touches host memory outside the
  arena;
* ``call N`` (a helper) **returns to Python** with ``STATUS_HELPER``: the
  Python layer (:class:`Machine`, :class:`lwnlab.bpf.runtime.Runtime`) runs the
  helper, writes r0 and resumes the same state; numba never calls Python.  The
  exception is ``map_lookup_elem``/``map_update_elem``/``map_delete_elem`` on an
  array or hash map of the ``maps`` table (:mod:`lwnlab.bpf.maps`), which run
  inside the loop: map storage is part of the arena, so the value pointer a
  lookup returns is an address of a region like any other;
* :func:`run_batch` runs a program once per row of ``struct seccomp_data``
  words (eBPF seccomp filters), map storage persisting from row to row;
* ``call local`` (src 1) pushes a frame (return pc, r6..r9, r10) on the frame
  stack, at most ``MAX_CALL_FRAMES`` deep;
* an instruction budget stops infinite loops (``ERR_BUDGET``).

Exact semantics taken from RFC 9669 and the kernel: division by zero gives 0,
modulo by zero leaves dst unchanged (32-bit forms zero the upper half), shift
counts are masked to 31/63, ``sdiv`` of INT_MIN by -1 gives INT_MIN and
``smod`` by -1 gives 0 (the verifier's fixups), 32-bit ALU results are zero
extended.

The kernel expects the program to be validated first (:func:`lwnlab.bpf.loader.check_program`);
the loop nevertheless checks the pc before every fetch and stops on an
unknown opcode instead of misbehaving.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lwnlab._jit import jit
from lwnlab.bpf import isa
from lwnlab.errors import ExecutionError

# status codes of run_kernel (state[ST_STATUS])
STATUS_EXIT = 0
STATUS_HELPER = 1
ERR_OOB = 2
ERR_MISALIGNED = 3
ERR_BUDGET = 4
ERR_BAD_OPCODE = 5
ERR_CALL_DEPTH = 6
ERR_READONLY = 7
ERR_PC = 8
ERR_FP_WRITE = 9
ERR_LDDW_PSEUDO = 10
ERR_NO_PACKET = 11

STATUS_NAMES = {
    STATUS_EXIT: "exit", STATUS_HELPER: "helper call", ERR_OOB: "out-of-bounds memory access",
    ERR_MISALIGNED: "misaligned memory access", ERR_BUDGET: "instruction budget exhausted",
    ERR_BAD_OPCODE: "unknown opcode", ERR_CALL_DEPTH: "call stack too deep",
    ERR_READONLY: "store to read-only memory", ERR_PC: "jump outside the program",
    ERR_FP_WRITE: "write to the read-only frame pointer r10", ERR_LDDW_PSEUDO: "lddw with a map/BTF pseudo source",
    ERR_NO_PACKET: "legacy packet load without a packet region",
}

# indexes into the state vector
ST_PC, ST_DEPTH, ST_STEPS, ST_STATUS, ST_ERR_PC, ST_ERR_ADDR, ST_HELPER, ST_STACK_END = range(8)
STATE_LEN = 8

# columns of the region table
RG_BASE, RG_SIZE, RG_OFF, RG_FLAGS = range(4)
RF_WRITABLE = 1
RF_STACK = 2
RF_PACKET = 4

# alignment policies
ALIGN_NONE = 0  # any access may be unaligned (x86 hardware, the kernel's interpreter)
ALIGN_STACK = 1  # stack accesses must be aligned (the verifier's rule, always strict for the stack)
ALIGN_ALL = 2  # every access must be aligned (BPF_F_STRICT_ALIGNMENT)

# columns of the program array: code, dst, src, off, imm (imm sign-extended to int64)
P_CODE, P_DST, P_SRC, P_OFF, P_IMM = range(5)

# map table (int64[m, MT_COLS]): one row per map of the program (lwnlab.bpf.maps builds it)
(MT_TYPE, MT_KEY, MT_VAL, MT_ELEM, MT_MAX, MT_CAP, MT_VBASE, MT_VOFF, MT_KOFF, MT_SOFF, MT_COUNT,
 MT_SLOTS) = range(12)
MT_COLS = 12
MAP_HASH, MAP_ARRAY = 1, 2  # BPF_MAP_TYPE_* of the map types the loop runs itself
#: a map "pointer" (what ``lddw rX, map_fd(N)`` loads) is MAP_PTR_BASE + index * MAP_PTR_STRIDE; it is
#: no memory region, so dereferencing it faults like any wild pointer
MAP_PTR_BASE = 0x7FFE_0000_0000
MAP_PTR_STRIDE = 0x1000
MAP_VALUE_BASE = 0x6000_0000_0000  # map values are mapped from here, REGION_GAP apart
HELPER_MAP_LOOKUP, HELPER_MAP_UPDATE, HELPER_MAP_DELETE = 1, 2, 3
EINVAL, ENOENT, EEXIST, E2BIG = 22, 2, 17, 7

STACK_BASE = 0x7FFF_0000_0000  # virtual address of the stack region (grows down from its end)
MEM_BASE = 0x1_0000_0000  # virtual address where the first user region is mapped
REGION_GAP = 0x1_0000_0000

U32 = np.uint64(0xFFFFFFFF)
U64 = np.uint64(0xFFFFFFFFFFFFFFFF)
SIGN32 = np.uint64(0x80000000)
SIGN64 = np.uint64(0x8000000000000000)
ZERO = np.uint64(0)
ONE = np.uint64(1)


@jit(inline="always")
def _sx32(v):
    """Sign-extend the low 32 bits of v to 64 (as uint64 bits)."""
    v = v & U32
    if v & SIGN32:
        return v | np.uint64(0xFFFFFFFF00000000)
    return v


@jit(inline="always")
def _sx(v, bits):
    """Sign-extend the low ``bits`` bits of v to 64."""
    mask = (ONE << np.uint64(bits)) - ONE
    v = v & mask
    if v & (ONE << np.uint64(bits - 1)):
        return v | (U64 ^ mask)
    return v


@jit(inline="always")
def _udiv(a, b):
    if b == ZERO:
        return ZERO
    return a // b


@jit(inline="always")
def _umod(a, b):
    if b == ZERO:
        return a
    return a % b


@jit(inline="always")
def _sdiv64(a, b):
    """Truncating signed division of 64-bit patterns; /0 -> 0, INT_MIN/-1 -> INT_MIN."""
    if b == ZERO:
        return ZERO
    if b == U64:
        return (ZERO - a) & U64
    na = (a & SIGN64) != ZERO
    nb = (b & SIGN64) != ZERO
    ua = (ZERO - a) if na else a
    ub = (ZERO - b) if nb else b
    q = ua // ub
    if na != nb:
        return ZERO - q
    return q


@jit(inline="always")
def _smod64(a, b):
    """Truncating signed remainder (sign of the dividend); %0 -> a, %-1 -> 0."""
    if b == ZERO:
        return a
    if b == U64:
        return ZERO
    na = (a & SIGN64) != ZERO
    nb = (b & SIGN64) != ZERO
    ua = (ZERO - a) if na else a
    ub = (ZERO - b) if nb else b
    r = ua % ub
    if na:
        return ZERO - r
    return r


@jit(inline="always")
def _bswap(v, bits):
    out = ZERO
    n = bits // 8
    for i in range(n):
        byte = (v >> np.uint64(8 * i)) & np.uint64(0xFF)
        out |= byte << np.uint64(8 * (n - 1 - i))
    return out


@jit(inline="always")
def _find(regions, addr, size, write, depth, stack_end, align):
    """Arena offset of [addr, addr+size) or a negative error code."""
    if align == ALIGN_ALL and (addr % np.uint64(size)) != ZERO:
        return -ERR_MISALIGNED
    for r in range(regions.shape[0]):
        base = np.uint64(regions[r, RG_BASE])
        rsize = np.uint64(regions[r, RG_SIZE])
        flags = regions[r, RG_FLAGS]
        lo = base
        if flags & RF_STACK:
            # only the frames that are live may be addressed
            lo = np.uint64(stack_end) - np.uint64((depth + 1) * isa.STACK_SIZE)
        if addr >= lo and addr < base + rsize and (addr + np.uint64(size)) <= base + rsize and addr + np.uint64(size) > addr:
            if write and not (flags & RF_WRITABLE):
                return -ERR_READONLY
            if align == ALIGN_STACK and (flags & RF_STACK) and (addr % np.uint64(size)) != ZERO:
                return -ERR_MISALIGNED
            return np.int64(regions[r, RG_OFF]) + np.int64(addr - base)
    return -ERR_OOB


@jit(inline="always")
def _load(arena, off, size):
    v = ZERO
    for i in range(size):
        v |= np.uint64(arena[off + i]) << np.uint64(8 * i)
    return v


@jit(inline="always")
def _store(arena, off, size, v):
    for i in range(size):
        arena[off + i] = np.uint8((v >> np.uint64(8 * i)) & np.uint64(0xFF))


@jit(inline="always")
def _access_size(code):
    """Bytes moved by a load/store: the size field ``code & 0x18`` (W 4, H 2, B 1, DW 8)."""
    sz = code & 0x18
    if sz == 0x00:
        return 4
    if sz == 0x08:
        return 2
    if sz == 0x10:
        return 1
    return 8


@jit(inline="always")
def _jcond(op, a, b, is32):
    if is32:
        a = a & U32
        b = b & U32
        sa = np.int64(_sx32(a))
        sb = np.int64(_sx32(b))
    else:
        sa = np.int64(a)
        sb = np.int64(b)
    if op == 0x10:
        return a == b
    if op == 0x20:
        return a > b
    if op == 0x30:
        return a >= b
    if op == 0x40:
        return (a & b) != ZERO
    if op == 0x50:
        return a != b
    if op == 0x60:
        return sa > sb
    if op == 0x70:
        return sa >= sb
    if op == 0xA0:
        return a < b
    if op == 0xB0:
        return a <= b
    if op == 0xC0:
        return sa < sb
    if op == 0xD0:
        return sa <= sb
    return False


# --------------------------------------------------------------------------- maps, inside the loop
#
# Array maps: values at MT_VOFF, elem_size = round_up(value_size, 8) apart (kernel/bpf/arraymap.c).
# Hash maps: open addressing over MT_CAP (a power of two >= 2 * max_entries) slots; per slot a state
# byte at MT_SOFF (0 empty, 1 used, 2 deleted), the key at MT_KOFF + slot * key_size and the value
# at MT_VOFF + slot * elem_size; MT_COUNT live entries, at most max_entries (-E2BIG beyond, as
# htab's preallocated freelist runs dry).  The hash is FNV-1a over the key bytes.


@jit(inline="always")
def _fnv1a(buf, off, n):
    h = np.uint64(0xCBF29CE484222325)
    for i in range(n):
        h = (h ^ np.uint64(buf[off + i])) * np.uint64(0x100000001B3)
    return h


@jit(inline="always")
def _keys_equal(arena, koff, buf, off, n):
    for i in range(n):
        if arena[koff + i] != buf[off + i]:
            return False
    return True


@jit(inline="always")
def _htab_find(arena, maps, mi, buf, off):
    """Slot holding the key (buf[off:off+key_size]), or -1."""
    cap = maps[mi, MT_CAP]
    ks = maps[mi, MT_KEY]
    soff = maps[mi, MT_SOFF]
    koff = maps[mi, MT_KOFF]
    h = np.int64(_fnv1a(buf, off, ks) & np.uint64(cap - 1))
    for probe in range(cap):
        s = (h + probe) & (cap - 1)
        st = arena[soff + s]
        if st == 0:
            return -1
        if st == 1 and _keys_equal(arena, koff + s * ks, buf, off, ks):
            return s
    return -1


@jit
def map_lookup(arena, maps, mi, buf, off):
    """bpf_map_lookup_elem: the value's virtual address, or 0 (NULL)."""
    t = maps[mi, MT_TYPE]
    if t == MAP_ARRAY:
        idx = np.int64(buf[off]) | (np.int64(buf[off + 1]) << 8) | (np.int64(buf[off + 2]) << 16) | \
            (np.int64(buf[off + 3]) << 24)
        if idx >= maps[mi, MT_MAX]:
            return np.int64(0)
        return maps[mi, MT_VBASE] + idx * maps[mi, MT_ELEM]
    if t == MAP_HASH:
        s = _htab_find(arena, maps, mi, buf, off)
        if s < 0:
            return np.int64(0)
        return maps[mi, MT_VBASE] + s * maps[mi, MT_ELEM]
    return np.int64(0)


@jit
def map_update(arena, maps, mi, buf, koff, vbuf, voff, flags):
    """bpf_map_update_elem: 0 or -errno, in the order array_map/htab_map_update_elem check."""
    t = maps[mi, MT_TYPE]
    vs = maps[mi, MT_VAL]
    elem = maps[mi, MT_ELEM]
    f = flags & ~np.uint64(4)  # BPF_F_LOCK
    if f > np.uint64(2):
        return np.int64(-EINVAL)
    if t == MAP_ARRAY:
        idx = np.int64(buf[koff]) | (np.int64(buf[koff + 1]) << 8) | (np.int64(buf[koff + 2]) << 16) | \
            (np.int64(buf[koff + 3]) << 24)
        if idx >= maps[mi, MT_MAX]:
            return np.int64(-E2BIG)
        if flags & np.uint64(1):
            return np.int64(-EEXIST)
        if flags & np.uint64(4):  # BPF_F_LOCK without a bpf_spin_lock in the value
            return np.int64(-EINVAL)
        dst = maps[mi, MT_VOFF] + idx * elem
        for i in range(vs):
            arena[dst + i] = vbuf[voff + i]
        return np.int64(0)
    if t != MAP_HASH:
        return np.int64(-EINVAL)
    if flags & np.uint64(4):
        return np.int64(-EINVAL)
    s = _htab_find(arena, maps, mi, buf, koff)
    if s >= 0 and f == np.uint64(1):
        return np.int64(-EEXIST)
    if s < 0 and f == np.uint64(2):
        return np.int64(-ENOENT)
    ks = maps[mi, MT_KEY]
    if s < 0:
        if maps[mi, MT_COUNT] >= maps[mi, MT_MAX]:
            return np.int64(-E2BIG)
        cap = maps[mi, MT_CAP]
        soff = maps[mi, MT_SOFF]
        h = np.int64(_fnv1a(buf, koff, ks) & np.uint64(cap - 1))
        for probe in range(cap):
            c = (h + probe) & (cap - 1)
            if arena[soff + c] != 1:  # empty or deleted: reuse
                s = c
                break
        arena[soff + s] = 1
        kdst = maps[mi, MT_KOFF] + s * ks
        for i in range(ks):
            arena[kdst + i] = buf[koff + i]
        maps[mi, MT_COUNT] += 1
    dst = maps[mi, MT_VOFF] + s * elem
    for i in range(vs):
        arena[dst + i] = vbuf[voff + i]
    return np.int64(0)


@jit
def map_delete(arena, maps, mi, buf, off):
    """bpf_map_delete_elem: 0, -ENOENT, or -EINVAL for arrays."""
    t = maps[mi, MT_TYPE]
    if t != MAP_HASH:
        return np.int64(-EINVAL)
    s = _htab_find(arena, maps, mi, buf, off)
    if s < 0:
        return np.int64(-ENOENT)
    arena[maps[mi, MT_SOFF] + s] = 2
    elem = maps[mi, MT_ELEM]
    dst = maps[mi, MT_VOFF] + s * elem
    for i in range(elem):
        arena[dst + i] = 0
    maps[mi, MT_COUNT] -= 1
    return np.int64(0)


def _warm_map_op():
    arena = np.zeros(64, np.uint8)
    maps = np.zeros((1, MT_COLS), np.int64)
    maps[0] = (MAP_HASH, 4, 4, 8, 2, 4, MAP_VALUE_BASE, 0, 32, 48, 0, 0)
    key = np.zeros(8, np.uint8)
    return arena, maps, np.int64(0), np.int64(2), key, np.int64(0), key, np.int64(4), np.uint64(0)


@jit(warmup=_warm_map_op)
def map_op(arena, maps, mi, op, key, koff, value, voff, flags):
    """The map operations for Python callers (lwnlab.bpf.maps), by helper id: the same code the loop runs.

    op 1: lookup -> address or 0; op 2: update -> 0/-errno; op 3: delete -> 0/-errno.
    """
    if op == HELPER_MAP_LOOKUP:
        return map_lookup(arena, maps, mi, key, koff)
    if op == HELPER_MAP_UPDATE:
        return map_update(arena, maps, mi, key, koff, value, voff, flags)
    return map_delete(arena, maps, mi, key, koff)


def _warm():
    prog = np.array([[0xB7, 0, 0, 0, 7], [0x95, 0, 0, 0, 0]], dtype=np.int64)
    arena = np.zeros(isa.STACK_SIZE * isa.MAX_CALL_FRAMES + 8, dtype=np.uint8)
    regions = np.array([[STACK_BASE, isa.STACK_SIZE * isa.MAX_CALL_FRAMES, 0, RF_WRITABLE | RF_STACK]], dtype=np.int64)
    regs = np.zeros(isa.MAX_REG, dtype=np.uint64)
    frames = np.zeros((isa.MAX_CALL_FRAMES, 6), dtype=np.uint64)
    state = np.zeros(STATE_LEN, dtype=np.int64)
    state[ST_STACK_END] = STACK_BASE + isa.STACK_SIZE * isa.MAX_CALL_FRAMES
    maps = np.zeros((0, MT_COLS), dtype=np.int64)
    return prog, arena, regions, regs, frames, state, np.int64(1000), np.int64(ALIGN_STACK), np.int64(-1), maps


@jit(warmup=_warm)
def run_kernel(prog, arena, regions, regs, frames, state, budget, align, packet_region, maps):
    """Run from state[ST_PC] until exit, a helper call, or an error; return the status (see :func:`_run`)."""
    return _run(prog, arena, regions, regs, frames, state, budget, align, packet_region, maps)


@jit(inline="always")
def _run(prog, arena, regions, regs, frames, state, budget, align, packet_region, maps):
    """Run from state[ST_PC] until exit, a helper call, or an error; return the status.

    ``prog`` is int64[n, 5] (code, dst, src, off, imm); ``regs`` uint64[11];
    ``frames`` uint64[MAX_CALL_FRAMES, 6] (return pc, r6..r9, r10); ``state``
    int64[STATE_LEN]; ``budget`` is the total number of instructions allowed
    (counted in state[ST_STEPS] across resumptions); ``maps`` int64[m, MT_COLS]:
    calls of map_lookup/update/delete_elem on an array or hash map of the table
    run here, without returning to Python.
    """
    nmaps = maps.shape[0]
    n = prog.shape[0]
    pc = state[ST_PC]
    depth = state[ST_DEPTH]
    steps = state[ST_STEPS]
    stack_end = state[ST_STACK_END]
    status = STATUS_EXIT
    err_addr = np.int64(0)
    while True:
        if pc < 0 or pc >= n:
            status = ERR_PC
            break
        if steps >= budget:
            status = ERR_BUDGET
            break
        steps += 1
        code = prog[pc, 0]
        dst = prog[pc, 1]
        src = prog[pc, 2]
        off = prog[pc, 3]
        imm = prog[pc, 4]
        cls = code & 0x07
        if cls == 0x07 or cls == 0x04:  # ALU64 / ALU
            op = code & 0xF0
            is64 = cls == 0x07
            if code & 0x08:
                b = regs[src]
            else:
                b = np.uint64(imm)  # imm sign-extended to 64 bits
            a = regs[dst]
            if not is64:
                a = a & U32
                b = b & U32
            if op == 0x00:
                r = a + b
            elif op == 0x10:
                r = a - b
            elif op == 0x20:
                r = a * b
            elif op == 0x30:
                if off == 1:
                    if is64:
                        r = _sdiv64(a, b)
                    else:
                        r = _sdiv64(_sx32(a), _sx32(b))
                else:
                    r = _udiv(a, b)
            elif op == 0x40:
                r = a | b
            elif op == 0x50:
                r = a & b
            elif op == 0x60:
                r = a << (b & (np.uint64(63) if is64 else np.uint64(31)))
            elif op == 0x70:
                r = a >> (b & (np.uint64(63) if is64 else np.uint64(31)))
            elif op == 0x80:
                r = ZERO - a
            elif op == 0x90:
                if off == 1:
                    if is64:
                        r = _smod64(a, b)
                    else:
                        r = _smod64(_sx32(a), _sx32(b))
                else:
                    r = _umod(a, b)
            elif op == 0xA0:
                r = a ^ b
            elif op == 0xB0:
                if off == 0:
                    r = b
                else:
                    r = _sx(b, off)
            elif op == 0xC0:
                if is64:
                    r = np.uint64(np.int64(a) >> np.int64(b & np.uint64(63)))
                else:
                    r = np.uint64(np.int64(_sx32(a)) >> np.int64(b & np.uint64(31)))
            elif op == 0xD0:
                a = regs[dst]
                width = imm
                if is64 or (code & 0x08):  # bswap, or to big-endian
                    r = _bswap(a, width)
                else:  # to little-endian on a little-endian machine: truncate
                    if width == 64:
                        r = a
                    else:
                        r = a & ((ONE << np.uint64(width)) - ONE)
                is64 = True  # END sets all 64 bits itself
            else:
                status = ERR_BAD_OPCODE
                break
            if dst == 10:
                status = ERR_FP_WRITE
                break
            regs[dst] = r if is64 else (r & U32)
            pc += 1
        elif cls == 0x05 or cls == 0x06:  # JMP / JMP32
            op = code & 0xF0
            if op == 0x00:  # ja / gotol
                if cls == 0x05:
                    pc += 1 + off
                else:
                    pc += 1 + imm
            elif op == 0x80:  # call
                if src == 1:  # local function
                    if depth + 1 >= frames.shape[0]:
                        status = ERR_CALL_DEPTH
                        break
                    frames[depth, 0] = np.uint64(pc + 1)
                    frames[depth, 1] = regs[6]
                    frames[depth, 2] = regs[7]
                    frames[depth, 3] = regs[8]
                    frames[depth, 4] = regs[9]
                    frames[depth, 5] = regs[10]
                    depth += 1
                    regs[10] = regs[10] - np.uint64(isa.STACK_SIZE)
                    pc += 1 + imm
                else:
                    mi = np.int64(-1)
                    if nmaps > 0 and imm >= HELPER_MAP_LOOKUP and imm <= HELPER_MAP_DELETE:
                        rel = regs[1] - np.uint64(MAP_PTR_BASE)
                        if rel % np.uint64(MAP_PTR_STRIDE) == ZERO and rel // np.uint64(MAP_PTR_STRIDE) < \
                                np.uint64(nmaps):
                            mi = np.int64(rel // np.uint64(MAP_PTR_STRIDE))
                            mt = maps[mi, MT_TYPE]
                            if mt != MAP_HASH and mt != MAP_ARRAY:
                                mi = -1  # other map types: the Python layer
                    if mi < 0:
                        state[ST_HELPER] = imm
                        pc += 1
                        status = STATUS_HELPER
                        break
                    ko = _find(regions, regs[2], maps[mi, MT_KEY], False, depth, stack_end, align)
                    if ko < 0:
                        status = -ko
                        err_addr = np.int64(regs[2])
                        break
                    if imm == HELPER_MAP_LOOKUP:
                        regs[0] = np.uint64(map_lookup(arena, maps, mi, arena, ko))
                    elif imm == HELPER_MAP_UPDATE:
                        vo = _find(regions, regs[3], maps[mi, MT_VAL], False, depth, stack_end, align)
                        if vo < 0:
                            status = -vo
                            err_addr = np.int64(regs[3])
                            break
                        regs[0] = np.uint64(map_update(arena, maps, mi, arena, ko, arena, vo, regs[4]))
                    else:
                        regs[0] = np.uint64(map_delete(arena, maps, mi, arena, ko))
                    pc += 1
            elif op == 0x90:  # exit
                if depth == 0:
                    status = STATUS_EXIT
                    break
                depth -= 1
                pc = np.int64(frames[depth, 0])
                regs[6] = frames[depth, 1]
                regs[7] = frames[depth, 2]
                regs[8] = frames[depth, 3]
                regs[9] = frames[depth, 4]
                regs[10] = frames[depth, 5]
            else:
                if code & 0x08:
                    b = regs[src]
                else:
                    b = np.uint64(imm)
                if _jcond(op, regs[dst], b, cls == 0x06):
                    pc += 1 + off
                else:
                    pc += 1
        elif cls == 0x01:  # LDX
            size = _access_size(code)
            addr = regs[src] + np.uint64(off)
            o = _find(regions, addr, size, False, depth, stack_end, align)
            if o < 0:
                status = -o
                err_addr = np.int64(addr)
                break
            v = _load(arena, o, size)
            if (code & 0xE0) == 0x80:
                v = _sx(v, size * 8)
            if dst == 10:
                status = ERR_FP_WRITE
                break
            regs[dst] = v
            pc += 1
        elif cls == 0x02 or cls == 0x03:  # ST / STX
            size = _access_size(code)
            addr = regs[dst] + np.uint64(off)
            o = _find(regions, addr, size, True, depth, stack_end, align)
            if o < 0:
                status = -o
                err_addr = np.int64(addr)
                break
            if (code & 0xE0) == 0xC0:  # atomic
                if (imm & 0x01) != 0 and src == 10:
                    status = ERR_FP_WRITE
                    break
                old = _load(arena, o, size)
                sv = regs[src]
                if size == 4:
                    sv = sv & U32
                aop = imm & 0xF0
                fetch = (imm & 0x01) != 0
                if imm == 0xE1:  # xchg
                    _store(arena, o, size, sv)
                    regs[src] = old
                elif imm == 0xF1:  # cmpxchg
                    r0 = regs[0]
                    if size == 4:
                        r0 = r0 & U32
                    if old == r0:
                        _store(arena, o, size, sv)
                    regs[0] = old
                else:
                    if aop == 0x00:
                        nv = old + sv
                    elif aop == 0x40:
                        nv = old | sv
                    elif aop == 0x50:
                        nv = old & sv
                    else:
                        nv = old ^ sv
                    if size == 4:
                        nv = nv & U32
                    _store(arena, o, size, nv)
                    if fetch:
                        regs[src] = old
            elif cls == 0x02:
                _store(arena, o, size, np.uint64(imm))
            else:
                _store(arena, o, size, regs[src])
            pc += 1
        elif cls == 0x00:  # LD: lddw, legacy packet loads
            mode = code & 0xE0
            if code == 0x18:
                if src != 0:
                    status = ERR_LDDW_PSEUDO
                    break
                if pc + 1 >= n:
                    status = ERR_PC
                    break
                lo = np.uint64(imm) & U32
                hi = np.uint64(prog[pc + 1, 4]) & U32
                if dst == 10:
                    status = ERR_FP_WRITE
                    break
                regs[dst] = lo | (hi << np.uint64(32))
                pc += 2
            elif mode == 0x20 or mode == 0x40:
                if packet_region < 0:
                    status = ERR_NO_PACKET
                    break
                size = _access_size(code)
                k = imm
                if mode == 0x40:
                    k = np.int64(np.int32(np.int64(regs[src] & U32))) + imm
                plen = regions[packet_region, RG_SIZE]
                if k < 0 or k + size > plen:
                    # the kernel's legacy loads end the program with r0 = 0
                    regs[0] = ZERO
                    status = STATUS_EXIT
                    break
                o = regions[packet_region, RG_OFF] + k
                v = ZERO
                for i in range(size):  # network byte order
                    v = (v << np.uint64(8)) | np.uint64(arena[o + i])
                regs[0] = v
                pc += 1
            else:
                status = ERR_BAD_OPCODE
                break
        else:
            status = ERR_BAD_OPCODE
            break
    state[ST_PC] = pc
    state[ST_DEPTH] = depth
    state[ST_STEPS] = steps
    state[ST_STATUS] = status
    state[ST_ERR_PC] = pc
    state[ST_ERR_ADDR] = err_addr
    return status


def _warm_batch():
    prog, arena, regions, regs, frames, state, budget, align, _, maps = _warm()
    arena = np.zeros(isa.STACK_SIZE * isa.MAX_CALL_FRAMES + 64, dtype=np.uint8)
    regions = np.array([[STACK_BASE, isa.STACK_SIZE * isa.MAX_CALL_FRAMES, 0, RF_WRITABLE | RF_STACK],
                        [MEM_BASE, 64, isa.STACK_SIZE * isa.MAX_CALL_FRAMES, 0]], dtype=np.int64)
    words = np.zeros((2, 16), dtype=np.uint32)
    out = np.zeros(2, dtype=np.int64)
    return (prog, arena, regions, regs, frames, state, budget, align, maps, np.int64(1), words, np.int64(0),
            out, out.copy())


@jit(warmup=_warm_batch)
def run_batch(prog, arena, regions, regs, frames, state, budget, align, maps, ctx_region, words, row0,
              out_r0, out_steps):
    """Run the program once per row of ``words`` ((N, 16) uint32, a ``struct seccomp_data`` each).

    Each run starts afresh (pc 0, r1 = the context region's address, r10 = the frame pointer,
    the other registers 0) with the row's 64 bytes written into region ``ctx_region``; map
    storage in ``arena`` persists from run to run.  Returns the first row not finished: N when
    every row exited (r0 and step counts in ``out_r0``/``out_steps``), else the row that stopped
    on a helper the Python layer runs or on an error (``state`` says which, so the caller can
    resume that row with :func:`run_kernel`).
    """
    n = words.shape[0]
    coff = regions[ctx_region, RG_OFF]
    caddr = np.uint64(regions[ctx_region, RG_BASE])
    stack_end = state[ST_STACK_END]
    if regions[ctx_region, RG_SIZE] < 64 or coff < 0 or coff + 64 > arena.shape[0] or words.shape[1] != 16:
        state[ST_STATUS] = ERR_OOB  # the callers validate; never write outside the arena
        return row0
    ctx32 = arena[coff:coff + 64].view(np.uint32)  # the context region as 16 words (little-endian host)
    for row in range(row0, n):
        for w in range(16):
            ctx32[w] = words[row, w]
        for r in range(regs.shape[0]):
            regs[r] = ZERO
        regs[1] = caddr
        regs[10] = np.uint64(stack_end)
        state[ST_PC] = 0
        state[ST_DEPTH] = 0
        state[ST_STEPS] = 0
        st = _run(prog, arena, regions, regs, frames, state, budget, align, np.int64(-1), maps)
        if st != STATUS_EXIT:
            return row
        out_r0[row] = np.int64(regs[0])
        out_steps[row] = state[ST_STEPS]
    return n


# --------------------------------------------------------------------------- Python layer


@dataclass(frozen=True)
class Region:
    """A piece of memory the program may address: ``data`` at virtual address ``base``."""

    name: str
    base: int
    data: np.ndarray  # uint8
    writable: bool = True
    packet: bool = False


@dataclass(frozen=True)
class RunResult:
    """What a run ended with: r0 or an error naming the pc."""

    r0: int
    steps: int
    error: ExecutionError | None = None
    regs: tuple = ()
    memory: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict:
        d = {"r0": self.r0, "steps": self.steps}
        if self.error is not None:
            d["error"] = self.error.describe()
        return d


_NO_MAPS = np.zeros((0, MT_COLS), dtype=np.int64)

#: a helper function: (machine, regs uint64[11]) -> r0
Helper = "Callable[[Machine, np.ndarray], int]"


class Machine:
    """An eBPF program ready to run: the program array plus the memory regions and helpers.

    ``helpers`` maps helper ids to Python callables ``f(machine, regs) -> int``;
    an unknown id stops the program with an error naming the pc.
    """

    def __init__(self, prog: np.ndarray, *, helpers: dict | None = None, budget: int = 1_000_000,
                 align: int = ALIGN_STACK):
        self.prog = np.ascontiguousarray(prog, dtype=np.int64)
        self.helpers = dict(helpers or {})
        self.budget = np.int64(budget)
        self.align = np.int64(align)

    def make_memory(self, regions: list[Region]):
        """Build the arena and the region table (region 0 is the stack)."""
        stack_bytes = isa.STACK_SIZE * isa.MAX_CALL_FRAMES
        total = stack_bytes + sum(int(r.data.size) for r in regions)
        arena = np.zeros(max(total, 1), dtype=np.uint8)
        table = np.zeros((1 + len(regions), 4), dtype=np.int64)
        table[0] = (STACK_BASE, stack_bytes, 0, RF_WRITABLE | RF_STACK)
        off = stack_bytes
        packet = -1
        for i, r in enumerate(regions, start=1):
            n = int(r.data.size)
            arena[off:off + n] = np.frombuffer(np.ascontiguousarray(r.data).tobytes(), dtype=np.uint8)
            table[i] = (r.base, n, off, (RF_WRITABLE if r.writable else 0) | (RF_PACKET if r.packet else 0))
            if r.packet:
                packet = i
            off += n
        return arena, table, packet

    # -- memory access for helpers (called while a run is paused on STATUS_HELPER) ------------
    def _locate(self, addr: int, size: int, write: bool) -> int:
        arena, table, depth, stack_end = self._live
        for r in range(table.shape[0]):
            base, rsize, off, flags = (int(v) for v in table[r])
            lo = stack_end - (depth + 1) * isa.STACK_SIZE if flags & RF_STACK else base
            if lo <= addr and addr + size <= base + rsize:
                if write and not flags & RF_WRITABLE:
                    raise ExecutionError(f"helper wrote to read-only memory at {addr:#x}")
                return off + (addr - base)
        raise ExecutionError(f"helper accessed {size} bytes at {addr:#x}, outside every memory region")

    def read(self, addr: int, size: int) -> bytes:
        """Bytes at a program address (for helpers), bounds-checked like the program's own loads."""
        o = self._locate(int(addr) & 0xFFFFFFFFFFFFFFFF, int(size), False)
        return self._live[0][o:o + size].tobytes()

    def write(self, addr: int, data: bytes) -> None:
        o = self._locate(int(addr) & 0xFFFFFFFFFFFFFFFF, len(data), True)
        self._live[0][o:o + len(data)] = np.frombuffer(bytes(data), dtype=np.uint8)

    def run(self, regions: list[Region] = (), args: tuple = ()) -> RunResult:
        arena, table, packet = self.make_memory(list(regions))
        regs = np.zeros(isa.MAX_REG, dtype=np.uint64)
        for i, a in enumerate(args):
            regs[1 + i] = np.uint64(int(a) & 0xFFFFFFFFFFFFFFFF)
        stack_end = STACK_BASE + isa.STACK_SIZE * isa.MAX_CALL_FRAMES
        regs[10] = np.uint64(stack_end)
        frames = np.zeros((isa.MAX_CALL_FRAMES, 6), dtype=np.uint64)
        state = np.zeros(STATE_LEN, dtype=np.int64)
        state[ST_STACK_END] = stack_end
        while True:
            status = run_kernel(self.prog, arena, table, regs, frames, state, self.budget, self.align,
                                np.int64(packet), _NO_MAPS)
            if status == STATUS_HELPER:
                hid = int(state[ST_HELPER])
                fn = self.helpers.get(hid)
                if fn is None:
                    from lwnlab.bpf.helpers import helper_name

                    name = helper_name(hid)
                    why = (f" ({name}: this machine has no helpers registered, as uBPF; eBPF seccomp filters get "
                           "the proposal's helpers and maps in 'lwnlab seccomp run --ebpf')") if name != "unknown" else ""
                    err = ExecutionError(f"call to unknown helper function {hid}{why}", pc=int(state[ST_PC]) - 1)
                    return self._result(regs, state, err, arena, table, regions)
                self._live = (arena, table, int(state[ST_DEPTH]), stack_end)
                try:
                    regs[0] = np.uint64(int(fn(self, regs)) & 0xFFFFFFFFFFFFFFFF)
                except ExecutionError as e:
                    err = ExecutionError(f"helper {hid}: {e.message}", pc=int(state[ST_PC]) - 1)
                    return self._result(regs, state, err, arena, table, regions)
                continue
            break
        err = None
        if status != STATUS_EXIT:
            err = self._error(status, state)
        return self._result(regs, state, err, arena, table, regions)

    def _error(self, status: int, state: np.ndarray) -> ExecutionError:
        pc = int(state[ST_ERR_PC])
        msg = STATUS_NAMES.get(status, f"status {status}")
        if status in (ERR_OOB, ERR_MISALIGNED, ERR_READONLY):
            msg += f" at address {int(state[ST_ERR_ADDR]) & 0xFFFFFFFFFFFFFFFF:#x}"
        if status == ERR_BUDGET:
            msg += f" after {int(state[ST_STEPS])} instructions (a loop?)"
        if status == ERR_PC:
            msg = f"jump outside the program (to pc {pc})"
        return ExecutionError(msg, pc=pc)

    def _result(self, regs, state, err, arena, table, regions) -> RunResult:
        mem = {}
        for i, r in enumerate(regions, start=1):
            o, n = int(table[i, RG_OFF]), int(table[i, RG_SIZE])
            mem[r.name] = arena[o:o + n].copy()
        return RunResult(r0=int(regs[0]), steps=int(state[ST_STEPS]), error=err,
                         regs=tuple(int(x) for x in regs), memory=mem)


def run_program(prog: np.ndarray, mem: bytes = b"", *, budget: int = 1_000_000, align: int = ALIGN_STACK,
                helpers: dict | None = None, packet: bool = False) -> RunResult:
    """Run with uBPF's convention: r1 = the memory's address, r2 = its length."""
    data = np.frombuffer(bytes(mem), dtype=np.uint8).copy()
    m = Machine(prog, helpers=helpers, budget=budget, align=align)
    regions = [Region("mem", MEM_BASE, data, writable=True, packet=packet)]
    base = MEM_BASE if len(mem) else 0
    return m.run(regions, args=(base, len(mem)))
