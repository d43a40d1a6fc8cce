"""BPF maps: the kernel's semantics and errnos (arraymap.c, hashtab.c), storage the VM addresses."""

import numpy as np
import pytest

from lwnlab.bpf import maps, vm
from lwnlab.bpf.helpers import BPF_ANY, BPF_EXIST, BPF_NOEXIST, MapSpec
from lwnlab.errors import ConfigError, UsageError

E2BIG, EEXIST, ENOENT, EINVAL = -7, -17, -2, -22


def test_array_semantics():
    a = maps.array("a", 4, 3)
    assert len(a) == 3 and a.lookup(0) == bytes(4)  # all elements exist, zeroed
    assert a.lookup(3) is None and a.lookup(0xFFFFFFFF) is None  # out of range: NULL
    assert a.update(1, 7) == 0 and a.lookup(1) == (7).to_bytes(4, "little")
    assert a.update(1, 8, BPF_EXIST) == 0 and a.lookup(1)[0] == 8
    assert a.update(1, 9, BPF_NOEXIST) == EEXIST  # every element already exists
    assert a.update(3, 1) == E2BIG  # index >= max_entries
    assert a.update(3, 1, 3) == EINVAL  # unknown flags are checked first
    assert a.update(0, 1, 4) == EINVAL  # BPF_F_LOCK without a bpf_spin_lock
    assert a.delete(1) == EINVAL and a.lookup(1)[0] == 8
    assert a.as_dict() == {0: 0, 1: 8, 2: 0} and a.as_dict(nonzero=True) == {1: 8}


def test_array_next_key_like_the_kernel():
    a = maps.array("a", 8, 3)
    assert a.next_key(None) == (0, 0)
    assert a.next_key(0) == (0, 1) and a.next_key(1) == (0, 2)
    assert a.next_key(2) == (ENOENT, None)
    assert a.next_key(7) == (0, 0)  # past the end: back to the first
    assert a.keys() == [0, 1, 2]


def test_array_values_are_8_byte_aligned():
    a = maps.array("a", 5, 4)
    assert a.elem_size == 8 and a.values_size == 32
    a.update(3, b"\x01\x02\x03\x04\x05")
    assert a.lookup(3) == b"\x01\x02\x03\x04\x05"
    addr = vm.map_op(a._arena, a._table, np.int64(0), np.int64(1), a.key_bytes(3), np.int64(0),
                     np.zeros(1, np.uint8), np.int64(0), np.uint64(0))
    assert addr == a.value_base + 3 * 8


def test_hash_semantics():
    h = maps.hash_map("h", 4, 8, 2)
    assert h.lookup(1) is None and len(h) == 0
    assert h.update(1, 10, BPF_EXIST) == ENOENT  # EXIST on an absent key
    assert h.update(1, 10, BPF_NOEXIST) == 0
    assert h.update(1, 11, BPF_NOEXIST) == EEXIST  # NOEXIST on a present key
    assert h.update(1, 12, BPF_EXIST) == 0 and h.as_dict() == {1: 12}
    assert h.update(2, 20) == 0 and len(h) == 2
    assert h.update(3, 30) == E2BIG  # full
    assert h.update(2, 21, BPF_ANY) == 0  # updating a present key of a full map works
    assert h.update(2, 21, 7) == EINVAL
    assert h.delete(3) == ENOENT
    assert h.delete(1) == 0 and h.lookup(1) is None and len(h) == 1
    assert h.update(3, 30) == 0 and h.as_dict() == {2: 21, 3: 30}  # the freed entry is reused


def test_hash_next_key_and_iteration():
    h = maps.hash_map("h", 4, 4, 8)
    assert h.next_key(None) == (ENOENT, None)
    for k in (5, 9, 1):
        h.update(k, k * 10)
    order = []
    rc, k = h.next_key(None)
    while rc == 0:
        order.append(k)
        rc, k = h.next_key(k)
    assert sorted(order) == [1, 5, 9] and len(order) == 3
    assert h.next_key(1234)[0] == 0 and h.next_key(1234)[1] == order[0]  # absent key: the first
    assert dict(h.items()) == {1: 10, 5: 50, 9: 90}


def test_hash_many_keys_with_deletes_stays_consistent():
    rng = np.random.default_rng(3)
    h = maps.hash_map("h", 8, 8, 64)
    model = {}
    for _ in range(3000):
        k = int(rng.integers(0, 100))
        op = int(rng.integers(0, 3))
        if op == 0:
            want = 0 if (k in model or len(model) < 64) else E2BIG
            assert h.update(k, k + 1) == want
            if want == 0:
                model[k] = k + 1
        elif op == 1:
            assert h.delete(k) == (0 if model.pop(k, None) is not None else ENOENT)
        else:
            v = h.lookup(k)
            assert (v is None) == (k not in model)
            if v is not None:
                assert int.from_bytes(v, "little") == model[k]
    assert h.as_dict() == model and len(h) == len(model)


def test_wide_keys_and_values():
    h = maps.hash_map("paths", 16, 12, 4)
    key = b"/etc/shadow\0\0\0\0\0"
    assert h.update(key, b"x" * 12) == 0
    assert h.lookup(key) == b"x" * 12 and h.as_dict() == {key: b"x" * 12}


def test_bad_keys_and_values_are_usage_errors():
    a = maps.array("a", 4, 2)
    with pytest.raises(UsageError, match="key is 3 bytes"):
        a.lookup(b"abc")
    with pytest.raises(UsageError, match="does not fit"):
        a.update(0, 1 << 40)
    with pytest.raises(UsageError):
        a.update(0, "seven")


@pytest.mark.parametrize("spec,frag", [
    (MapSpec(2, 8, 4, 4, "a"), "key_size must be 4"),
    (MapSpec(2, 4, 0, 4, "a"), "value_size"),
    (MapSpec(1, 4, 4, 0, "h"), "max_entries must be > 0"),
    (MapSpec(1, 600, 4, 4, "h"), "key_size 600"),
    (MapSpec(3, 4, 8, 4, "p"), "value_size must be 4"),
    (MapSpec(29, 4, 8, 5, "t"), "max_entries must be 0"),
    (MapSpec(99, 4, 8, 5, "x"), "unsupported map type"),
])
def test_invalid_specs(spec, frag):
    with pytest.raises(ConfigError, match=frag):
        maps.create(spec)


def test_create_from_dict_and_memory_limit():
    m = maps.create({"type": "hash", "key_size": 4, "value_size": 8, "max_entries": 10, "name": "h"})
    assert m.type_name == "hash" and m.capacity == 32
    with pytest.raises(ConfigError, match="unknown map type"):
        maps.create({"type": "ringbuf", "key_size": 0, "value_size": 8, "max_entries": 4096})
    with pytest.raises(ConfigError, match="limit"):
        maps.array("huge", 1 << 20, 1 << 10)


def test_task_storage():
    t = maps.task_storage("t", 8, task_slots=2)
    assert t.lookup(100) is None and t.task_get(100) == 0
    a100 = t.task_get(100, create=True)
    assert a100 == t.value_base and t.lookup(100) == bytes(8)
    assert t.task_get(100, create=True) == a100  # the same storage again
    assert t.task_get(200, create=True, init=(5).to_bytes(8, "little")) == a100 + 8
    assert t.as_dict() == {100: 0, 200: 5}
    assert t.task_get(300, create=True) == 0  # pool exhausted: NULL
    assert t.delete(100) == 0 and t.delete(100) == ENOENT
    assert t.update(300, 7, BPF_NOEXIST) == 0 and t.update(300, 8, BPF_NOEXIST) == EEXIST
    assert t.update(400, 1, BPF_EXIST) == ENOENT
    assert t.as_dict() == {200: 5, 300: 7}


def test_prog_array():
    p = maps.prog_array("jmp", 2)

    class P:
        array = np.zeros((1, 5), np.int64)
        name = "x"

    assert p.lookup(0) is None and p.delete(0) == ENOENT
    assert p.update(0, P()) == 0 and p.as_dict() == {0: "x"}
    assert p.update(2, P()) == E2BIG and p.update(1, P(), BPF_NOEXIST) == EINVAL
    assert p.delete(5) == E2BIG and p.delete(0) == 0 and len(p) == 0
    with pytest.raises(UsageError, match="loaded program"):
        p.update(1, 3)


def test_clear_and_repr():
    h = maps.hash_map("h", 4, 4, 4)
    h.update(1, 1)
    h.clear()
    assert len(h) == 0 and h.lookup(1) is None
    assert "hash map 'h'" in repr(h)
    assert maps.errno_name(-17) == "-EEXIST" and maps.errno_name(0) == "0"


def test_f_lock_syscall_vs_helper_order():
    """bpf(2) refuses BPF_F_LOCK before the map's checks (syscall.c); a program's helper call does not."""
    a = maps.array("a", 8, 2)
    assert a.update(0, 1, 5) == EINVAL  # the syscall path
    key = a.key_bytes(0)
    helper = vm.map_op(a._arena, a._table, np.int64(0), np.int64(2), key, np.int64(0), a.value_bytes(1),
                       np.int64(0), np.uint64(5))
    assert helper == EEXIST  # array_map_update_elem: NOEXIST is checked before the lock flag
