"""BPF maps with the kernel's semantics: array, hash, task storage, prog array.

Storage lives in numpy ``uint8`` memory laid out exactly as the numba interpreter addresses it
(:mod:`lwnlab.bpf.vm`): a value pointer a program gets from ``bpf_map_lookup_elem`` is a real,
bounds-checked address of a memory region, and a store through it changes the map.  Array and
hash operations run inside the interpreter's loop (:func:`lwnlab.bpf.vm.map_lookup` & co.); the
Python methods here call the *same* compiled code through :func:`lwnlab.bpf.vm.map_op`.

Errnos follow ``kernel/bpf/arraymap.c`` and ``kernel/bpf/hashtab.c`` (Linux 6.12):

=====================  ==========================================  ==========================================
operation              array                                        hash
=====================  ==========================================  ==========================================
lookup                 index >= max_entries: NULL                   absent: NULL
update flags > EXIST   -EINVAL                                      -EINVAL
update                 index >= max_entries: -E2BIG;                NOEXIST on a present key: -EEXIST;
                       NOEXIST: -EEXIST (all elements exist)        EXIST on an absent key: -ENOENT;
                                                                    a new key when full: -E2BIG
delete                 -EINVAL                                      absent: -ENOENT
next key               past the end or absent: 0; last: -ENOENT     absent: the first key; last: -ENOENT
=====================  ==========================================  ==========================================

Values of array maps are ``round_up(value_size, 8)`` bytes apart, as in the kernel.  A hash map
is an open-addressing table over the key bytes (FNV-1a) with ``2 * max_entries`` rounded up to a
power of two slots; the kernel chains buckets instead, which no program can observe.

Task storage (``BPF_MAP_TYPE_TASK_STORAGE``; its use from seccomp filters is patch 12 of YiFei
Zhu's 2021 RFC, **proposed, never merged**) is keyed by task.  Its values live in a fixed pool of
``task_slots`` slots (default 64 simulated tasks); when the pool is exhausted,
``bpf_task_storage_get(F_CREATE)`` returns NULL as the kernel does when it cannot allocate.
A prog array holds programs for ``bpf_tail_call``.
"""

from __future__ import annotations

import re

import numpy as np

from lwnlab.bpf import vm
from lwnlab.bpf.helpers import (BPF_ANY, BPF_EXIST, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH,
                                BPF_MAP_TYPE_PROG_ARRAY, BPF_MAP_TYPE_TASK_STORAGE, BPF_NOEXIST, MAP_TYPES_BY_NAME,
                                MapSpec)
from lwnlab.errors import AsmError, ConfigError, UsageError

EINVAL, ENOENT, EEXIST, E2BIG, ENOMEM, EOPNOTSUPP = 22, 2, 17, 7, 12, 95
ERRNO_NAMES = {0: "OK", EINVAL: "EINVAL", ENOENT: "ENOENT", EEXIST: "EEXIST", E2BIG: "E2BIG", ENOMEM: "ENOMEM",
               EOPNOTSUPP: "EOPNOTSUPP", 1: "EPERM", 14: "EFAULT"}
DEFAULT_TASK_SLOTS = 64
#: how much memory lwnlab lets one map take (the kernel's limit is the memlock cgroup)
MAX_MAP_BYTES = 256 << 20


def errno_name(ret: int) -> str:
    """``-17`` -> ``-EEXIST``."""
    if ret >= 0:
        return str(ret)
    return "-" + ERRNO_NAMES.get(-ret, str(-ret))


def _round8(n: int) -> int:
    return (n + 7) & ~7


def _pow2_at_least(n: int) -> int:
    p = 2
    while p < n:
        p <<= 1
    return p


def spec_from(obj) -> MapSpec:
    """A MapSpec from a MapSpec, or a dict ``{"type": "hash", "key_size": 4, ...}``."""
    if isinstance(obj, MapSpec):
        return obj
    if isinstance(obj, dict):
        d = dict(obj)
        t = d.get("type")
        if isinstance(t, str):
            if t not in MAP_TYPES_BY_NAME:
                raise ConfigError(f"unknown map type {t!r} (known: {', '.join(MAP_TYPES_BY_NAME)})", field="type")
            d["type"] = MAP_TYPES_BY_NAME[t]
        try:
            return MapSpec(**d)
        except TypeError as e:
            raise ConfigError(f"bad map definition {obj!r}: {e}") from None
    raise ConfigError(f"not a map definition: {obj!r}")


class Map:
    """One map: its spec, its storage and the kernel's operations on it.

    Keys and values are given as bytes of exactly key_size / value_size bytes, or as ints
    (stored little-endian in that many bytes).  ``lookup`` returns bytes or None; ``update`` and
    ``delete`` return 0 or a negative errno, as the helpers do.
    """

    def __init__(self, spec, *, task_slots: int = DEFAULT_TASK_SLOTS):
        spec = spec_from(spec).validate()
        self.spec = spec
        self.name = spec.name or f"map{id(self) & 0xFFFF:x}"
        self.task_slots = int(task_slots)
        t = spec.type
        self.elem_size = _round8(spec.value_size)
        if t == BPF_MAP_TYPE_ARRAY:
            self.capacity = spec.max_entries
        elif t == BPF_MAP_TYPE_HASH:
            self.capacity = _pow2_at_least(2 * spec.max_entries)
        elif t == BPF_MAP_TYPE_TASK_STORAGE:
            if self.task_slots <= 0:
                raise ConfigError(f"map {self.name!r}: task_slots must be > 0", field="task_slots")
            self.capacity = self.task_slots
        else:  # prog array: programs live on the Python side
            self.capacity = 0
        vbytes = self.capacity * self.elem_size
        kbytes = self.capacity * spec.key_size if t == BPF_MAP_TYPE_HASH else 0
        sbytes = self.capacity if t == BPF_MAP_TYPE_HASH else 0
        if vbytes + kbytes + sbytes > MAX_MAP_BYTES:
            raise ConfigError(f"map {self.name!r} would take {vbytes + kbytes + sbytes} bytes "
                              f"(lwnlab's limit is {MAX_MAP_BYTES})", field="max_entries")
        self.values_size = vbytes
        self.block_size = vbytes + kbytes + sbytes
        # standalone storage until a Runtime adopts the map
        self._arena = np.zeros(max(self.block_size, 1), dtype=np.uint8)
        self._table = np.zeros((1, vm.MT_COLS), dtype=np.int64)
        self._mi = 0
        self._owner = None
        self._tasks: dict[int, int] = {}  # task storage: task key -> slot
        self._progs: list = [None] * (spec.max_entries if t == BPF_MAP_TYPE_PROG_ARRAY else 0)
        self._layout(self._table, 0, 0, vm.MAP_VALUE_BASE)

    # ---------------------------------------------------------------- layout and adoption
    def _layout(self, table: np.ndarray, row: int, off: int, vbase: int) -> None:
        s = self.spec
        kind = {BPF_MAP_TYPE_HASH: vm.MAP_HASH, BPF_MAP_TYPE_ARRAY: vm.MAP_ARRAY}.get(s.type, s.type)
        table[row] = 0
        table[row, vm.MT_TYPE] = kind
        table[row, vm.MT_KEY] = s.key_size
        table[row, vm.MT_VAL] = s.value_size
        table[row, vm.MT_ELEM] = self.elem_size
        table[row, vm.MT_MAX] = s.max_entries
        table[row, vm.MT_CAP] = max(self.capacity, 1)
        table[row, vm.MT_VBASE] = vbase
        table[row, vm.MT_VOFF] = off
        table[row, vm.MT_KOFF] = off + self.values_size
        table[row, vm.MT_SOFF] = off + self.values_size + (self.capacity * s.key_size
                                                           if s.type == BPF_MAP_TYPE_HASH else 0)
        table[row, vm.MT_SLOTS] = self.capacity

    def _adopt(self, owner, arena: np.ndarray, table: np.ndarray, row: int, off: int, vbase: int) -> None:
        """Move the storage into ``owner``'s arena at ``off`` (contents and entry count carried over)."""
        old = self._block()
        count = int(self._table[self._mi, vm.MT_COUNT])
        self._layout(table, row, off, vbase)
        table[row, vm.MT_COUNT] = count
        arena[off:off + self.block_size] = old
        self._arena, self._table, self._mi, self._owner = arena, table, row, owner

    def _block(self) -> np.ndarray:
        o = int(self._table[self._mi, vm.MT_VOFF])
        return self._arena[o:o + self.block_size].copy()

    @property
    def value_base(self) -> int:
        """Virtual address of the first value (where the program sees the map's memory)."""
        return int(self._table[self._mi, vm.MT_VBASE])

    @property
    def type_name(self) -> str:
        return self.spec.type_name

    # ---------------------------------------------------------------- encoding
    def _bytes(self, v, size: int, what: str) -> np.ndarray:
        if isinstance(v, (bool, np.bool_)):
            raise UsageError(f"map {self.name!r}: {what} must be bytes or an integer, not {v!r}", field=what)
        if isinstance(v, (int, np.integer)):
            v = int(v)
            if not -(1 << (8 * size - 1)) <= v < (1 << (8 * size)):
                raise UsageError(f"map {self.name!r}: {what} {v} does not fit in {size} bytes", field=what)
            b = (v & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        elif isinstance(v, (bytes, bytearray, memoryview)):
            b = bytes(v)
            if len(b) != size:
                raise UsageError(f"map {self.name!r}: {what} is {len(b)} bytes, the map's {what}_size is {size}",
                                 field=what)
        else:
            raise UsageError(f"map {self.name!r}: {what} must be bytes or an integer, not {type(v).__name__}",
                             field=what)
        return np.frombuffer(b, dtype=np.uint8).copy()

    def key_bytes(self, key) -> np.ndarray:
        return self._bytes(key, self.spec.key_size, "key")

    def value_bytes(self, value) -> np.ndarray:
        return self._bytes(value, self.spec.value_size, "value")

    def decode_key(self, b: bytes):
        return int.from_bytes(b, "little") if len(b) <= 8 else bytes(b)

    def decode_value(self, b: bytes):
        return int.from_bytes(b, "little") if len(b) <= 8 else bytes(b)

    def _need(self, *types) -> None:
        if self.spec.type not in types:
            raise UsageError(f"map {self.name!r} is a {self.type_name} map; this operation is not defined for it",
                             field="type")

    # ---------------------------------------------------------------- array and hash: the numba code
    def _op(self, op: int, key, value=None, flags: int = 0) -> int:
        k = self.key_bytes(key)
        v = self.value_bytes(value) if value is not None else np.zeros(1, np.uint8)
        return int(vm.map_op(self._arena, self._table, np.int64(self._mi), np.int64(op), k, np.int64(0), v,
                             np.int64(0), np.uint64(int(flags) & 0xFFFFFFFFFFFFFFFF)))

    def _value_at(self, addr: int) -> bytes:
        row = self._table[self._mi]
        off = int(row[vm.MT_VOFF]) + (addr - int(row[vm.MT_VBASE]))
        return self._arena[off:off + self.spec.value_size].tobytes()

    def lookup(self, key):
        """The value (bytes) for key, or None (bpf_map_lookup_elem's NULL; the syscall says -ENOENT)."""
        t = self.spec.type
        if t in (BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH):
            addr = self._op(vm.HELPER_MAP_LOOKUP, key)
            return None if addr == 0 else self._value_at(addr)
        if t == BPF_MAP_TYPE_TASK_STORAGE:
            slot = self._tasks.get(int(key))
            return None if slot is None else self._slot_value(slot)
        i = int(key)
        return self._progs[i] if 0 <= i < len(self._progs) else None

    def update(self, key, value, flags: int = BPF_ANY) -> int:
        """BPF_MAP_UPDATE_ELEM from user space: 0 or -errno (see the module's table).

        Like ``map_update_elem`` in ``kernel/bpf/syscall.c``, BPF_F_LOCK is refused (-EINVAL) before
        the map's own checks, since no modelled value holds a bpf_spin_lock; a program's
        ``bpf_map_update_elem`` goes straight to the map's checks (so flags 5 on an array is
        -EINVAL here but -EEXIST from a program)."""
        t = self.spec.type
        if int(flags) & 4:
            return -EINVAL
        if t in (BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH):
            return self._op(vm.HELPER_MAP_UPDATE, key, value, flags)
        if t == BPF_MAP_TYPE_TASK_STORAGE:
            return self._task_update(int(key), value, flags)
        return self._prog_update(key, value, flags)

    def delete(self, key) -> int:
        """bpf_map_delete_elem: 0 or -errno."""
        t = self.spec.type
        if t in (BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH):
            return self._op(vm.HELPER_MAP_DELETE, key)
        if t == BPF_MAP_TYPE_TASK_STORAGE:
            return self.task_delete(int(key))
        i = int(key)
        if not 0 <= i < len(self._progs):
            return -E2BIG
        if self._progs[i] is None:
            return -ENOENT
        self._progs[i] = None
        return 0

    def next_key(self, key=None):
        """BPF_MAP_GET_NEXT_KEY: (0, next key) or (-ENOENT, None) after the last."""
        keys = self._key_order()
        if self.spec.type in (BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PROG_ARRAY):
            idx = 0xFFFFFFFF if key is None else int.from_bytes(self.key_bytes(key).tobytes(), "little")
            if idx >= self.spec.max_entries:
                return 0, 0
            if idx == self.spec.max_entries - 1:
                return -ENOENT, None
            return 0, idx + 1
        if not keys:
            return -ENOENT, None
        if key is None:
            return 0, keys[0]
        kb = self.key_bytes(key).tobytes() if self.spec.type == BPF_MAP_TYPE_HASH else key
        want = self.decode_key(kb) if self.spec.type == BPF_MAP_TYPE_HASH else int(key)
        if want not in keys:
            return 0, keys[0]
        i = keys.index(want)
        return (0, keys[i + 1]) if i + 1 < len(keys) else (-ENOENT, None)

    def _key_order(self) -> list:
        t = self.spec.type
        if t == BPF_MAP_TYPE_ARRAY:
            return list(range(self.spec.max_entries))
        if t == BPF_MAP_TYPE_PROG_ARRAY:
            return [i for i, p in enumerate(self._progs) if p is not None]
        if t == BPF_MAP_TYPE_TASK_STORAGE:
            return sorted(self._tasks)
        row = self._table[self._mi]
        st = self._arena[int(row[vm.MT_SOFF]):int(row[vm.MT_SOFF]) + self.capacity]
        ks = self.spec.key_size
        koff = int(row[vm.MT_KOFF])
        return [self.decode_key(self._arena[koff + s * ks:koff + (s + 1) * ks].tobytes())
                for s in np.nonzero(st == 1)[0]]

    def keys(self) -> list:
        return self._key_order()

    def items(self):
        """(key, value) pairs, keys and values decoded (ints up to 8 bytes, else bytes)."""
        for k in self._key_order():
            v = self.lookup(k if not isinstance(k, bytes) else k)
            if self.spec.type == BPF_MAP_TYPE_PROG_ARRAY:
                yield k, v
            elif v is not None:
                yield k, self.decode_value(v)

    __iter__ = keys

    def as_dict(self, *, nonzero: bool = False) -> dict:
        """The contents; ``nonzero=True`` leaves out array slots whose value is all zero."""
        out = {}
        for k, v in self.items():
            if nonzero and self.spec.type == BPF_MAP_TYPE_ARRAY and not v:
                continue
            out[k] = getattr(v, "name", v) if self.spec.type == BPF_MAP_TYPE_PROG_ARRAY else v
        return out

    def __len__(self) -> int:
        t = self.spec.type
        if t == BPF_MAP_TYPE_ARRAY:
            return self.spec.max_entries
        if t == BPF_MAP_TYPE_HASH:
            return int(self._table[self._mi, vm.MT_COUNT])
        if t == BPF_MAP_TYPE_TASK_STORAGE:
            return len(self._tasks)
        return sum(p is not None for p in self._progs)

    def clear(self) -> None:
        """Empty the map (arrays: all values zero)."""
        row = self._table[self._mi]
        o = int(row[vm.MT_VOFF])
        self._arena[o:o + self.block_size] = 0
        self._table[self._mi, vm.MT_COUNT] = 0
        self._tasks.clear()
        self._progs = [None] * len(self._progs)

    def __repr__(self) -> str:
        s = self.spec
        return (f"<{self.type_name} map {self.name!r}: key {s.key_size} B, value {s.value_size} B, "
                f"max_entries {s.max_entries}, {len(self)} entries>")

    # ---------------------------------------------------------------- task storage
    def _slot_value(self, slot: int) -> bytes:
        o = int(self._table[self._mi, vm.MT_VOFF]) + slot * self.elem_size
        return self._arena[o:o + self.spec.value_size].tobytes()

    def task_get(self, task_key: int, *, create: bool = False, init=None) -> int:
        """bpf_task_storage_get: the value's address for the task, 0 (NULL) if absent and not created."""
        self._need(BPF_MAP_TYPE_TASK_STORAGE)
        slot = self._tasks.get(task_key)
        if slot is None:
            if not create:
                return 0
            used = set(self._tasks.values())
            free = next((s for s in range(self.capacity) if s not in used), None)
            if free is None:
                return 0  # -ENOMEM inside the kernel: the helper returns NULL
            o = int(self._table[self._mi, vm.MT_VOFF]) + free * self.elem_size
            self._arena[o:o + self.elem_size] = 0
            if init is not None:
                self._arena[o:o + self.spec.value_size] = np.frombuffer(bytes(init), np.uint8)
            self._tasks[task_key] = slot = free
        return self.value_base + slot * self.elem_size

    def task_delete(self, task_key: int) -> int:
        self._need(BPF_MAP_TYPE_TASK_STORAGE)
        if self._tasks.pop(task_key, None) is None:
            return -ENOENT
        return 0

    def _task_update(self, task_key: int, value, flags: int) -> int:
        f = int(flags) & ~4
        if f > BPF_EXIST:
            return -EINVAL
        present = task_key in self._tasks
        if present and f == BPF_NOEXIST:
            return -EEXIST
        if not present and f == BPF_EXIST:
            return -ENOENT
        v = self.value_bytes(value)
        if not self.task_get(task_key, create=True, init=v.tobytes()):
            return -ENOMEM
        o = int(self._table[self._mi, vm.MT_VOFF]) + self._tasks[task_key] * self.elem_size
        self._arena[o:o + self.spec.value_size] = v
        return 0

    # ---------------------------------------------------------------- prog array
    def _prog_update(self, key, prog, flags: int) -> int:
        i = int(key)
        if not 0 <= i < self.spec.max_entries:
            return -E2BIG
        if int(flags) != BPF_ANY:
            return -EINVAL
        if not hasattr(prog, "array"):
            raise UsageError(f"map {self.name!r}: a prog_array slot takes a loaded program (with .array), "
                             f"not {type(prog).__name__}", field="value")
        self._progs[i] = prog
        return 0

    def prog_at(self, index: int):
        """The program in slot ``index`` or None (what bpf_tail_call jumps to)."""
        return self._progs[index] if 0 <= index < len(self._progs) else None


def create(spec, **kw) -> Map:
    """BPF_MAP_CREATE: a Map from a MapSpec or a dict (validated: ConfigError naming the field)."""
    return Map(spec, **kw)


def array(name: str, value_size: int, max_entries: int) -> Map:
    return Map(MapSpec(BPF_MAP_TYPE_ARRAY, 4, value_size, max_entries, name))


def hash_map(name: str, key_size: int, value_size: int, max_entries: int) -> Map:
    return Map(MapSpec(BPF_MAP_TYPE_HASH, key_size, value_size, max_entries, name))


def task_storage(name: str, value_size: int, *, task_slots: int = DEFAULT_TASK_SLOTS) -> Map:
    return Map(MapSpec(BPF_MAP_TYPE_TASK_STORAGE, 4, value_size, 0, name), task_slots=task_slots)


def prog_array(name: str, max_entries: int) -> Map:
    return Map(MapSpec(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, max_entries, name))


# --------------------------------------------------------------------------- maps declared in assembly text

_MAP_DIRECTIVE = re.compile(r"^\s*\.map\b(.*)$")


def parse_map_directives(text: str, *, file: str | None = None) -> tuple[str, dict[int, MapSpec], dict]:
    """Take ``.map N NAME TYPE key_size=K value_size=V max_entries=M [task_slots=S]`` lines out of ``text``.

    Returns the text with those lines blanked (line numbers stay), the specs by N, and extra
    options by N.  Bad directives raise AsmError with the line.
    """
    specs: dict[int, MapSpec] = {}
    extra: dict[int, dict] = {}
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        m = _MAP_DIRECTIVE.match(line.split("#")[0].split(";")[0].split("//")[0])
        if not m:
            out.append(line)
            continue
        out.append("")
        toks = m.group(1).split()
        col = line.index(".map") + 1

        def err(msg):
            return AsmError(msg, line=lineno, column=col, file=file)

        if len(toks) < 3:
            raise err(".map needs: .map N NAME TYPE key_size=K value_size=V max_entries=M")
        try:
            idx = int(toks[0], 0)
        except ValueError:
            raise err(f".map: the map number must be an integer, not {toks[0]!r}") from None
        if idx in specs:
            raise err(f".map {idx} is declared twice")
        fields: dict = {"name": toks[1], "type": toks[2]}
        opts = {}
        for t in toks[3:]:
            k, sep, v = t.partition("=")
            if not sep:
                raise err(f".map: expected key=value, got {t!r}")
            k = {"key": "key_size", "value": "value_size", "max": "max_entries"}.get(k, k)
            try:
                n = int(v, 0)
            except ValueError:
                raise err(f".map: {k} must be an integer, not {v!r}") from None
            if k in ("key_size", "value_size", "max_entries", "flags"):
                fields[k] = n
            elif k == "task_slots":
                opts[k] = n
            else:
                raise err(f".map: unknown field {k!r} (key_size, value_size, max_entries, flags, task_slots)")
        for k in ("key_size", "value_size"):
            if k not in fields:
                raise err(f".map {idx}: {k} is missing")
        fields.setdefault("max_entries", 0)
        try:
            specs[idx] = spec_from(fields).validate()
        except ConfigError as e:
            raise err(f".map {idx}: {e.message}") from None
        extra[idx] = opts
    return "\n".join(out) + ("\n" if text.endswith("\n") else ""), specs, extra
