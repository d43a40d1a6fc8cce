"""Running eBPF programs with maps and helpers: the simulated world the helpers see.

* :class:`Runtime` owns one memory arena for a program and its maps: the stack, the context
  (read-only) and every map's storage, each a region of :mod:`lwnlab.bpf.vm`'s table.  Map
  storage persists from run to run, so a filter that counts syscalls keeps counting.
* Map lookups/updates/deletes on array and hash maps run inside the numba loop; every other
  helper pauses the loop (``STATUS_HELPER``) and runs here in Python, against a simulated task
  (:class:`SimTask`: pid, tgid, uid, gid, dumpable flag and a user memory image), a deterministic
  clock (:class:`SimClock`, advanced once per syscall) and a seeded PRNG.
* Helpers follow ``kernel/bpf/helpers.c``, ``kernel/trace/bpf_trace.c`` and
  ``kernel/bpf/core.c`` (tail calls); ``probe_read_user{,_str}``'s -EPERM on a non-dumpable task
  without CAP_SYS_PTRACE and task storage with a NULL task meaning the group leader are from YiFei
  Zhu's 2021 RFC (patches 10 and 12) — **proposed, never merged**.

An unknown helper id at run time stops the program with an :class:`~lwnlab.errors.ExecutionError`
naming the pc.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

import numpy as np

from lwnlab.bpf import isa, vm
from lwnlab.bpf.helpers import (BPF_LOCAL_STORAGE_GET_F_CREATE, BPF_MAP_TYPE_PROG_ARRAY, BPF_MAP_TYPE_TASK_STORAGE,
                                HELPERS, MAX_TAIL_CALL_CNT, Privileges, helper_name)
from lwnlab.bpf.maps import Map
from lwnlab.bpf.program import Insn, to_array
from lwnlab.errors import ExecutionError, FilterError, UsageError

EPERM, EFAULT, EINVAL, ENOENT, E2BIG = 1, 14, 22, 2, 7
M64 = (1 << 64) - 1
#: what get_current_task returns: a fake kernel address per task (an integer to the verifier)
TASK_PTR_BASE = 0xFFFF_8880_0000_0000
TASK_PTR_STRIDE = 0x4000
CTX_BASE = vm.MEM_BASE


class _TailCall(Exception):
    """Raised by the tail_call helper: switch to this program."""

    def __init__(self, prog):
        self.prog = prog


PAGE_SIZE = 4096


class UserMemory:
    """A task's user address space: ranges ``addr -> bytes``, mapped with page granularity.

    As in a real process, every page a range touches is mapped: bytes of those pages outside any
    range read as 0, and only an access to a page no range touches faults (-EFAULT).
    """

    def __init__(self, ranges: dict | None = None):
        self.ranges: list[tuple[int, bytes]] = []
        for a, b in (ranges or {}).items():
            self.map(a, b)

    def map(self, addr: int, data) -> None:
        if isinstance(data, str):
            data = data.encode()
        addr = int(addr)
        if addr < 0 or addr + len(data) > (1 << 47):
            raise FilterError(f"user memory range {addr:#x}+{len(data)} is outside user space", field="memory")
        self.ranges.append((addr, bytes(data)))
        self.ranges.sort()

    def _byte(self, addr: int) -> int | None:
        for a, b in self.ranges:
            if a <= addr < a + len(b):
                return b[addr - a]
        page = addr // PAGE_SIZE
        for a, b in self.ranges:
            if a // PAGE_SIZE <= page <= (a + max(len(b), 1) - 1) // PAGE_SIZE:
                return 0
        return None

    def mapped(self, addr: int) -> bool:
        return self._byte(addr) is not None

    def read(self, addr: int, size: int) -> bytes | None:
        """size bytes at addr, or None if any byte is unmapped (copy_from_user_nofault faults)."""
        out = bytearray()
        for i in range(size):
            v = self._byte(addr + i)
            if v is None:
                return None
            out.append(v)
        return bytes(out)

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def to_json(self) -> dict:
        return {f"{a:#x}": b.hex() for a, b in self.ranges}


@dataclass
class SimTask:
    """The task a syscall comes from, as helpers see it."""

    pid: int = 1000  # the thread id (the kernel's task->pid)
    tgid: int = 1000  # the process id (task->tgid)
    uid: int = 1000
    gid: int = 1000
    dumpable: bool = True  # get_dumpable(mm) == SUID_DUMP_USER
    memory: UserMemory = field(default_factory=UserMemory)
    comm: str = "task"

    @property
    def pid_tgid(self) -> int:
        return ((self.tgid & 0xFFFFFFFF) << 32) | (self.pid & 0xFFFFFFFF)

    @property
    def uid_gid(self) -> int:
        return ((self.gid & 0xFFFFFFFF) << 32) | (self.uid & 0xFFFFFFFF)


@dataclass
class SimClock:
    """CLOCK_MONOTONIC for ktime_get_ns: starts at ``now_ns``, advances ``tick_ns`` per syscall."""

    now_ns: int = 1_000_000_000
    tick_ns: int = 1_000

    def set(self, ns: int) -> None:
        self.now_ns = int(ns)

    def advance(self, n: int = 1) -> None:
        self.now_ns += n * self.tick_ns


@dataclass
class Env:
    """Everything the helpers read besides the program's own memory."""

    task: SimTask = field(default_factory=SimTask)
    clock: SimClock = field(default_factory=SimClock)
    cpu: int = 0
    seed: int = 0
    printk: list = field(default_factory=list)  # trace_printk output lines

    def __post_init__(self):
        self.rng = random.Random(self.seed)

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)


class Program:
    """A program ready for the runtime: instructions and the interpreter's array (pseudo lddw resolved)."""

    def __init__(self, insns: list[Insn], array: np.ndarray, name: str = ""):
        self.insns = list(insns)
        self.array = array
        self.name = name

    def __len__(self) -> int:
        return len(self.insns)


class Runtime:
    """One arena holding the stack, the context and the maps; runs programs on it.

    ``maps`` is keyed by the number a program's ``lddw rX, map_fd(N)`` uses (the lddw imm).
    """

    def __init__(self, maps: dict | None = None, *, privileges: Privileges = Privileges(), env: Env | None = None,
                 ctx_size: int = 64, budget: int = 1_000_000, align: int = vm.ALIGN_STACK):
        self.maps: dict[int, Map] = {}
        for k, m in (maps or {}).items():
            if not isinstance(m, Map):
                m = Map(m)
            self.maps[int(k)] = m
        self.privileges = privileges
        self.env = env or Env()
        self.budget = np.int64(budget)
        self.align = np.int64(align)
        self.ctx_size = ctx_size
        self._depth = 0
        self._build()

    # ---------------------------------------------------------------- memory
    def _build(self) -> None:
        stack = isa.STACK_SIZE * isa.MAX_CALL_FRAMES
        order = []  # one row per distinct map (a map may be given under several numbers)
        for k, m in self.maps.items():
            if not any(m is o for _, o in order):
                order.append((k, m))
        total = stack + self.ctx_size + sum(m.block_size for _, m in order)
        self.arena = np.zeros(total, dtype=np.uint8)
        self.table = np.zeros((2 + len(order), 4), dtype=np.int64)
        self.table[0] = (vm.STACK_BASE, stack, 0, vm.RF_WRITABLE | vm.RF_STACK)
        self.table[1] = (CTX_BASE, self.ctx_size, stack, 0)
        self.ctx_region = 1
        self.map_table = np.zeros((len(order), vm.MT_COLS), dtype=np.int64)
        self.map_rows: dict[int, int] = {}
        off = stack + self.ctx_size
        for i, (k, m) in enumerate(order):
            vbase = vm.MAP_VALUE_BASE + i * vm.REGION_GAP
            m._adopt(self, self.arena, self.map_table, i, off, vbase)
            # only the values are addressable by the program (keys and slot states are not)
            self.table[2 + i] = (vbase, max(m.values_size, 0), off, vm.RF_WRITABLE)
            off += m.block_size
        for k, m in self.maps.items():
            self.map_rows[k] = next(i for i, (_, o) in enumerate(order) if o is m)
        self._order = [m for _, m in order]
        self.stack_end = vm.STACK_BASE + stack

    def _ensure_owned(self) -> None:
        """Take back maps another runtime adopted since (maps shared between filters stay coherent)."""
        if any(m._owner is not self for m in self._order):
            for i, m in enumerate(self._order):
                if m._owner is not self:
                    m._adopt(self, self.arena, self.map_table, i, int(self.table[2 + i, vm.RG_OFF]),
                             int(self.table[2 + i, vm.RG_BASE]))

    def _locate(self, addr: int, size: int, write: bool, depth: int) -> int | None:
        for r in range(self.table.shape[0]):
            base, rsize, off, flags = (int(v) for v in self.table[r])
            lo = self.stack_end - (depth + 1) * isa.STACK_SIZE if flags & vm.RF_STACK else base
            if lo <= addr and addr + size <= base + rsize and size >= 0:
                if write and not flags & vm.RF_WRITABLE:
                    return None
                return off + (addr - base)
        return None

    def read(self, addr: int, size: int) -> bytes:
        o = self._locate(int(addr) & M64, int(size), False, self._depth)
        if o is None:
            raise ExecutionError(f"helper read {size} bytes at {int(addr) & M64:#x}, outside every memory region")
        return self.arena[o:o + size].tobytes()

    def write(self, addr: int, data: bytes) -> None:
        o = self._locate(int(addr) & M64, len(data), True, self._depth)
        if o is None:
            raise ExecutionError(f"helper wrote {len(data)} bytes at {int(addr) & M64:#x}, outside every writable "
                                 "memory region")
        self.arena[o:o + len(data)] = np.frombuffer(bytes(data), dtype=np.uint8)

    # ---------------------------------------------------------------- programs
    def resolve(self, insns: list[Insn], name: str = "") -> Program:
        """The interpreter's array with ``lddw`` map pseudo sources turned into this runtime's addresses.

        src 1 (map_fd) and 5 (map_idx) load the map's handle; src 2 / 6 (map value + offset) the
        address of an array map's value, which the kernel allows only for single-entry arrays
        (``array_map_direct_value_addr``).
        """
        arr = to_array(insns)
        for pc, x in enumerate(insns):
            if x.code != isa.LDDW or x.src == 0:
                continue
            if x.src not in (isa.BPF_PSEUDO_MAP_FD, isa.BPF_PSEUDO_MAP_IDX, isa.BPF_PSEUDO_MAP_VALUE,
                             isa.BPF_PSEUDO_MAP_IDX_VALUE):
                raise FilterError(f"lddw with src_reg {x.src} ({isa.LDDW_SRC_NAMES.get(x.src, '?')}) is not "
                                  "supported by lwnlab's runtime", pc=pc)
            k = x.imm
            if k not in self.map_rows:
                have = ", ".join(str(i) for i in self.maps) or "none"
                raise FilterError(f"lddw refers to map {k}, which the program was not given (maps: {have})", pc=pc)
            m = self.maps[k]
            row = self.map_rows[k]
            if x.src in (isa.BPF_PSEUDO_MAP_FD, isa.BPF_PSEUDO_MAP_IDX):
                val = vm.MAP_PTR_BASE + row * vm.MAP_PTR_STRIDE
            else:
                off = insns[pc + 1].imm & 0xFFFFFFFF if pc + 1 < len(insns) else 0
                if m.spec.type != 2 or m.spec.max_entries != 1:
                    raise FilterError(f"lddw map_value on map {m.name!r}: direct value access needs an array map "
                                      "with max_entries 1 (the kernel says EOPNOTSUPP)", pc=pc)
                if off >= m.spec.value_size:
                    raise FilterError(f"lddw map_value offset {off} is past value_size {m.spec.value_size}", pc=pc)
                val = m.value_base + off
            arr[pc, vm.P_SRC] = 0
            arr[pc, vm.P_IMM] = np.int64(np.int32(np.uint32(val & 0xFFFFFFFF)))
            arr[pc + 1, vm.P_IMM] = np.int64(np.int32(np.uint32(val >> 32)))
        return Program(insns, arr, name)

    def map_handle(self, key: int) -> int:
        return vm.MAP_PTR_BASE + self.map_rows[key] * vm.MAP_PTR_STRIDE

    def map_of_handle(self, handle: int) -> Map | None:
        rel = int(handle) - vm.MAP_PTR_BASE
        if rel < 0 or rel % vm.MAP_PTR_STRIDE:
            return None
        row = rel // vm.MAP_PTR_STRIDE
        return self._order[row] if 0 <= row < len(self._order) else None

    # ---------------------------------------------------------------- running
    def run_words(self, prog: Program, words: np.ndarray, *, tasks=None, clock_ns=None,
                  advance_clock: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Run ``prog`` once per row of (N, 16) uint32 ``words`` (seccomp_data as the kernel lays it out).

        ``tasks``: None (the env's task for every row) or a list of SimTask per row; ``clock_ns``:
        None or a list of explicit ktime values per row (None entries keep the running clock).
        Returns (r0 as uint32-able int64[N], steps int64[N]).  An error raises ExecutionError
        naming the pc and the row.
        """
        self._ensure_owned()
        words = np.ascontiguousarray(words, dtype=np.uint32)
        if words.ndim != 2 or words.shape[1] != 16:
            raise UsageError(f"seccomp_data rows must be (N, 16) uint32 words, got shape {words.shape}", field="words")
        if self.ctx_size != 64:
            raise UsageError("run_words runs seccomp filters: the context must be the 64-byte struct seccomp_data",
                             field="ctx_size")
        n = words.shape[0]
        out_r0 = np.zeros(n, dtype=np.int64)
        out_steps = np.zeros(n, dtype=np.int64)
        regs = np.zeros(isa.MAX_REG, dtype=np.uint64)
        frames = np.zeros((isa.MAX_CALL_FRAMES, 6), dtype=np.uint64)
        state = np.zeros(vm.STATE_LEN, dtype=np.int64)
        state[vm.ST_STACK_END] = self.stack_end
        clock0 = self.env.clock.now_ns
        default_task = self.env.task
        self._clock_at = self._clock_plan(n, clock0, clock_ns, advance_clock)
        row = 0
        try:
            while row < n:
                stop = int(vm.run_batch(prog.array, self.arena, self.table, regs, frames, state, self.budget,
                                        self.align, self.map_table, np.int64(self.ctx_region), words, np.int64(row),
                                        out_r0, out_steps))
                if stop >= n:
                    break
                row = stop
                self._row_context(row, clock0, tasks, clock_ns, advance_clock, default_task)
                r0, steps = self._finish_row(prog, regs, frames, state, row)
                out_r0[row], out_steps[row] = np.uint64(r0).view(np.int64), steps
                row += 1
        finally:
            self.env.task = default_task
        if n:
            self.env.clock.now_ns = self._clock_at(n - 1)
        return out_r0, out_steps

    def _clock_plan(self, n, clock0, clock_ns, advance_clock):
        """row -> ktime: each syscall advances the clock by tick_ns; an explicit time (a trace's
        ts_ns) sets it, and the rows after it advance from there."""
        tick = self.env.clock.tick_ns if advance_clock else 0
        if clock_ns is None or all(c is None for c in clock_ns):
            return lambda row: clock0 + (row + 1) * tick
        last = np.full(n, -1, dtype=np.int64)
        j = -1
        for i in range(n):
            if clock_ns[i] is not None:
                j = i
            last[i] = j

        def at(row):
            k = int(last[row])
            return clock0 + (row + 1) * tick if k < 0 else int(clock_ns[k]) + (row - k) * tick
        return at

    def _row_context(self, row, clock0, tasks, clock_ns, advance_clock, default_task) -> None:
        self.env.task = tasks[row] if tasks is not None and tasks[row] is not None else default_task
        self.env.clock.now_ns = self._clock_at(row)

    def _finish_row(self, prog: Program, regs, frames, state, row: int) -> tuple[int, int]:
        """Continue a row that paused (on a helper) or stopped (on an error) until it exits."""
        cur = prog
        tail_calls = 0
        while True:
            status = int(state[vm.ST_STATUS])
            if status == vm.STATUS_EXIT:
                return int(regs[0]), int(state[vm.ST_STEPS])
            if status != vm.STATUS_HELPER:
                raise self._error(status, state, row, cur)
            hid = int(state[vm.ST_HELPER])
            pc = int(state[vm.ST_PC]) - 1
            self._depth = int(state[vm.ST_DEPTH])
            try:
                ret = self.call_helper(hid, regs, tail_calls)
            except _TailCall as tc:
                tail_calls += 1
                if tc.prog is not None:
                    cur = tc.prog
                    state[vm.ST_PC] = 0
                ret = None
            except ExecutionError as e:
                raise ExecutionError(f"{e.message} (syscall row {row}{self._where(cur)})", pc=pc) from None
            if ret is not None:
                regs[0] = np.uint64(int(ret) & M64)
            vm.run_kernel(cur.array, self.arena, self.table, regs, frames, state, self.budget, self.align,
                          np.int64(-1), self.map_table)

    def _where(self, prog: Program) -> str:
        return f", program {prog.name!r}" if prog.name else ""

    def _error(self, status: int, state, row: int, prog: Program) -> ExecutionError:
        pc = int(state[vm.ST_ERR_PC])
        msg = vm.STATUS_NAMES.get(status, f"status {status}")
        if status in (vm.ERR_OOB, vm.ERR_MISALIGNED, vm.ERR_READONLY):
            msg += f" at address {int(state[vm.ST_ERR_ADDR]) & M64:#x}"
        if status == vm.ERR_BUDGET:
            msg += f" after {int(state[vm.ST_STEPS])} instructions (the program never exits?)"
        if status == vm.ERR_PC:
            msg = f"jump outside the program (to pc {pc})"
        return ExecutionError(f"{msg} (syscall row {row}{self._where(prog)})", pc=pc)

    # ---------------------------------------------------------------- helpers
    def call_helper(self, hid: int, regs: np.ndarray, tail_calls: int = 0):
        fn = _HELPERS.get(hid)
        if fn is None:
            name = helper_name(hid)
            known = f" ({name})" if name not in ("unknown", f"#{hid}") else ""
            raise ExecutionError(f"call to unknown helper function {hid}{known}: lwnlab's runtime implements "
                                 f"{', '.join(f'{h.name}#{i}' for i, h in sorted(HELPERS.items()))}")
        a = [int(regs[i]) for i in range(1, 6)]
        if hid == 12:
            return _tail_call(self, a, tail_calls)
        return fn(self, a)

    def _map_arg(self, handle: int, what: str) -> Map:
        m = self.map_of_handle(handle)
        if m is None:
            raise ExecutionError(f"{what}: r1 = {handle:#x} is not a map of this program")
        return m

    def snapshot(self) -> dict:
        """Every map's contents, by map name (nonzero array slots only)."""
        return {m.name: m.as_dict(nonzero=True) for m in self._order}


# --------------------------------------------------------------------------- helper implementations
# each takes (runtime, [r1..r5]) and returns r0


def _map_elem(rt: Runtime, a, op: int):
    """map helpers for map types the loop does not run itself (task storage, prog array)."""
    name = {1: "map_lookup_elem", 2: "map_update_elem", 3: "map_delete_elem"}[op]
    m = rt._map_arg(a[0], name)
    if m.spec.type in (1, 2):  # r1 is a map of ours but the loop handed it over: a real bug, say so
        raise ExecutionError(f"{name} on {m.type_name} map {m.name!r} reached the Python layer")
    # the verifier's check_map_func_compatibility refuses these; an unverified program gets this
    raise ExecutionError(f"{name} cannot be used on {m.type_name} map {m.name!r} "
                         "(the kernel's verifier refuses it: check_map_func_compatibility)")


def _ktime(rt, a):
    return rt.env.clock.now_ns & M64


def _prandom(rt, a):
    return rt.env.rng.getrandbits(32)


def _cpu(rt, a):
    return rt.env.cpu


def _pid_tgid(rt, a):
    return rt.env.task.pid_tgid


def _uid_gid(rt, a):
    return rt.env.task.uid_gid


def _current_task(rt, a):
    return TASK_PTR_BASE + (rt.env.task.pid & 0xFFFFF) * TASK_PTR_STRIDE


def _tail_call(rt: Runtime, a, count: int):
    """bpf_tail_call(ctx, prog_array, index) as ___bpf_prog_run's JMP_TAIL_CALL: falls through on a bad index,
    after MAX_TAIL_CALL_CNT tail calls, or on an empty slot (the count still goes up)."""
    m = rt._map_arg(a[1], "tail_call")
    if m.spec.type != BPF_MAP_TYPE_PROG_ARRAY:
        raise ExecutionError(f"tail_call on {m.type_name} map {m.name!r} (needs a prog_array)")
    index = a[2] & 0xFFFFFFFF
    if index >= m.spec.max_entries:
        return None  # falls through, r0 untouched
    if count >= MAX_TAIL_CALL_CNT:
        return None
    raise _TailCall(m.prog_at(index))


def _can_read_user(rt: Runtime) -> int:
    """Patch 10: reading a non-dumpable task's memory needs CAP_SYS_PTRACE: -EPERM otherwise."""
    if not rt.env.task.dumpable and not rt.privileges.cap_sys_ptrace:
        return -EPERM
    return 0


def _check_dst(rt: Runtime, dst: int, size: int, what: str) -> None:
    """The verifier proves dst..dst+size is writable memory; an unverified program gets an error here
    (before anything is read or allocated)."""
    if size and rt._locate(int(dst) & M64, size, True, rt._depth) is None:
        raise ExecutionError(f"{what}: destination {int(dst) & M64:#x}+{size} is not writable program memory")


def _probe_read_user(rt: Runtime, a):
    dst, size, src = a[0], a[1] & 0xFFFFFFFF, a[2]
    _check_dst(rt, dst, size, "probe_read_user")
    err = _can_read_user(rt)
    data = None
    if not err:
        data = rt.env.task.memory.read(src, size) if size else b""
        if data is None:
            err = -EFAULT  # copy_from_user_nofault
    if err:
        rt.write(dst, bytes(size))  # the helper zero-fills dst on any error
        return err
    rt.write(dst, data)
    return 0


def _strncpy_from_user(mem: UserMemory, src: int, count: int) -> tuple[int, bytes]:
    """lib/strncpy_from_user.c's do_strncpy_from_user on x86-64 (efficient unaligned access): whole
    words while 8 bytes remain, the word holding the NUL stored with the bytes after the NUL zeroed,
    then byte at a time (also after a word that would fault).  Returns (length without the NUL,
    or count when cut, or -EFAULT; the bytes written to dst)."""
    out = bytearray()
    res = 0
    while count - res >= 8:
        w = mem.read(src + res, 8)
        if w is None:
            break  # fall back to byte at a time
        z = w.find(b"\0")
        if z >= 0:
            out += w[:z] + bytes(8 - z)
            return res + z, bytes(out)
        out += w
        res += 8
    while res < count:
        c = mem.read(src + res, 1)
        if c is None:
            return -EFAULT, bytes(out)
        out += c
        if c == b"\0":
            return res, bytes(out)
        res += 1
    return res, bytes(out)


def _probe_read_user_str(rt: Runtime, a):
    """bpf_probe_read_user_str -> strncpy_from_user_nofault: the length including the NUL; at size
    bytes the copy is cut and ends with a NUL (returns size); an empty string returns 0
    (strncpy_from_user's 0 is not incremented); on error dst is zero-filled."""
    dst, size, src = a[0], a[1] & 0xFFFFFFFF, a[2]
    if size == 0:
        return 0
    _check_dst(rt, dst, size, "probe_read_user_str")
    err = _can_read_user(rt)
    if not err:
        ret, data = _strncpy_from_user(rt.env.task.memory, src, size)
        if ret >= 0:
            if ret >= size:  # cut at size: the last byte becomes the NUL
                ret = size
                data = data[:size - 1] + b"\0"
            elif ret > 0:
                ret += 1
            rt.write(dst, data)
            return ret
        err = ret
    rt.write(dst, bytes(size))
    return err


_SPEC = re.compile(rb"%([0 +\-]*)([1-9][0-9]*)?(p[a-zA-Z0-9]*|s|c|(?:ll|l)?[diuxX])")


def _bprintf_check(fmt: bytes) -> list | None:
    """bpf_bprintf_prepare's checks: printable ASCII (or whitespace) only, at most 3 conversions among
    %d %i %u %x %X (with l/ll), %c, %s, %p..., optional "[0 +-][width]" flags; None when -EINVAL."""
    specs = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c >= 0x80 or not (0x20 <= c < 0x7F or chr(c).isspace()):
            return None
        if c != 0x25:
            i += 1
            continue
        if fmt[i + 1:i + 2] == b"%":
            i += 2
            continue
        m = _SPEC.match(fmt, i)
        if m is None or len(specs) >= 3:
            return None
        specs.append(m)
        i = m.end()
    return specs


def _trace_printk(rt: Runtime, a):
    """bpf_trace_printk(fmt, fmt_size, arg1, arg2, arg3): fmt NUL-terminated within fmt_size and checked
    like bpf_bprintf_prepare (else -EINVAL); the line goes to ``env.printk``; returns its length."""
    fmt_ptr, fmt_size = a[0], a[1] & 0xFFFFFFFF
    if fmt_size == 0:
        return -EINVAL
    fmt = rt.read(fmt_ptr, fmt_size)
    if b"\0" not in fmt:
        return -EINVAL
    fmt = fmt[:fmt.index(b"\0")]
    specs = _bprintf_check(fmt)
    if specs is None:
        return -EINVAL
    out = bytearray()
    pos = 0
    for n, m in enumerate(specs):
        out += fmt[pos:m.start()].replace(b"%%", b"%")
        pos = m.end()
        flags, width, conv = m.group(1).decode(), (m.group(2) or b"").decode(), m.group(3)
        v = a[2 + n]
        kind = conv[-1:]
        if conv.startswith(b"p"):
            text = f"{v & M64:016x}" if conv in (b"p", b"px") else f"{v & M64:x}"
        elif kind == b"s":
            text = _read_cstr(rt, v)
        elif kind == b"c":
            text = chr(v & 0xFF)
        else:
            bits = 64 if conv.startswith(b"l") else 32
            v &= (1 << bits) - 1
            if kind in (b"d", b"i"):
                text = str(v - (1 << bits) if v >> (bits - 1) else v)
            elif kind == b"u":
                text = str(v)
            else:
                text = f"{v:x}" if kind == b"x" else f"{v:X}"
        if width:
            pad = "0" if "0" in flags and "-" not in flags and kind not in (b"s", b"c") else " "
            text = text.ljust(int(width)) if "-" in flags else text.rjust(int(width), pad)
        out += text.encode("latin-1", "replace")
    out += fmt[pos:].replace(b"%%", b"%")
    rt.env.printk.append(out.decode("utf-8", "replace"))
    return len(out)


def _read_cstr(rt: Runtime, addr: int, limit: int = 256) -> str:
    """%s: a string at a program address, read without faulting (the kernel's "(efault)" otherwise)."""
    s = bytearray()
    for i in range(limit):
        try:
            c = rt.read(addr + i, 1)
        except ExecutionError:
            return "(efault)" if i == 0 else s.decode("latin-1")
        if c == b"\0":
            break
        s += c
    return s.decode("latin-1")


def _task_key(rt: Runtime, ptr: int, what: str) -> int:
    """NULL means the current task's group leader (patch 12); otherwise a get_current_task value."""
    if ptr == 0:
        return rt.env.task.tgid
    rel = ptr - TASK_PTR_BASE
    if rel < 0 or rel % TASK_PTR_STRIDE:
        raise ExecutionError(f"{what}: r2 = {ptr:#x} is not a task")
    return rel // TASK_PTR_STRIDE  # the thread's own id


def _task_storage_get(rt: Runtime, a):
    m = rt._map_arg(a[0], "task_storage_get")
    if m.spec.type != BPF_MAP_TYPE_TASK_STORAGE:
        raise ExecutionError(f"task_storage_get on {m.type_name} map {m.name!r}")
    flags = a[3]
    if flags & ~BPF_LOCAL_STORAGE_GET_F_CREATE:
        return 0  # unknown flags: NULL
    key = _task_key(rt, a[1], "task_storage_get")
    init = rt.read(a[2], m.spec.value_size) if a[2] else None
    return m.task_get(key, create=bool(flags & BPF_LOCAL_STORAGE_GET_F_CREATE), init=init)


def _task_storage_delete(rt: Runtime, a):
    m = rt._map_arg(a[0], "task_storage_delete")
    if m.spec.type != BPF_MAP_TYPE_TASK_STORAGE:
        raise ExecutionError(f"task_storage_delete on {m.type_name} map {m.name!r}")
    return m.task_delete(_task_key(rt, a[1], "task_storage_delete"))


_HELPERS = {
    1: lambda rt, a: _map_elem(rt, a, 1),
    2: lambda rt, a: _map_elem(rt, a, 2),
    3: lambda rt, a: _map_elem(rt, a, 3),
    5: _ktime,
    6: _trace_printk,
    7: _prandom,
    8: _cpu,
    12: None,  # tail_call: handled by Runtime.call_helper (it changes the program)
    14: _pid_tgid,
    15: _uid_gid,
    35: _current_task,
    112: _probe_read_user,
    114: _probe_read_user_str,
    156: _task_storage_get,
    157: _task_storage_delete,
}
_HELPERS[12] = _tail_call
assert set(_HELPERS) == set(HELPERS), "every helper of lwnlab.bpf.helpers.HELPERS has an implementation"
