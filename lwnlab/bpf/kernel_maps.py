"""Real kernel BPF maps through ``bpf(2)`` and ctypes, to check :mod:`lwnlab.bpf.maps` against.

Only what the differential tests need: ``BPF_MAP_CREATE`` for array and hash maps and the
``BPF_MAP_{LOOKUP,UPDATE,DELETE}_ELEM`` / ``GET_NEXT_KEY`` commands, each returning 0 or a
negative errno like the in-kernel helpers (the syscall reports a NULL lookup as -ENOENT).
Needs root or CAP_BPF; :func:`available` says whether it works here.
"""

from __future__ import annotations

import ctypes
import os
import struct

from lwnlab.errors import UnavailableError
from lwnlab.system import raw_syscall

BPF_MAP_CREATE, BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM, BPF_MAP_DELETE_ELEM, BPF_MAP_GET_NEXT_KEY = 0, 1, 2, 3, 4
ATTR_SIZE = 128


def _bpf(cmd: int, attr) -> tuple[int, int]:
    return raw_syscall("bpf", cmd, ctypes.addressof(attr), ATTR_SIZE)


class KernelMap:
    """A map created in the running kernel (closed with :meth:`close` or as a context manager)."""

    def __init__(self, map_type: int, key_size: int, value_size: int, max_entries: int, flags: int = 0):
        attr = ctypes.create_string_buffer(ATTR_SIZE)
        struct.pack_into("<IIIII", attr, 0, map_type, key_size, value_size, max_entries, flags)
        fd, err = _bpf(BPF_MAP_CREATE, attr)
        if fd < 0:
            raise UnavailableError(f"BPF_MAP_CREATE failed: {os.strerror(err)} (errno {err})")
        self.fd, self.key_size, self.value_size = fd, key_size, value_size

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _kb(self, key) -> ctypes.Array:
        b = key if isinstance(key, bytes) else int(key).to_bytes(self.key_size, "little")
        return ctypes.create_string_buffer(b, self.key_size)

    def _elem(self, cmd: int, key, value_buf, flags: int = 0) -> int:
        kb = self._kb(key) if key is not None else None
        attr = ctypes.create_string_buffer(ATTR_SIZE)
        struct.pack_into("<IIQQQ", attr, 0, self.fd, 0, ctypes.addressof(kb) if kb is not None else 0,
                         ctypes.addressof(value_buf) if value_buf is not None else 0, flags)
        res, err = _bpf(cmd, attr)
        return 0 if res == 0 else -err

    def lookup(self, key) -> bytes | None:
        buf = ctypes.create_string_buffer(self.value_size)
        rc = self._elem(BPF_MAP_LOOKUP_ELEM, key, buf)
        return buf.raw[:self.value_size] if rc == 0 else None

    def lookup_rc(self, key) -> int:
        return self._elem(BPF_MAP_LOOKUP_ELEM, key, ctypes.create_string_buffer(self.value_size))

    def update(self, key, value, flags: int = 0) -> int:
        v = value if isinstance(value, bytes) else int(value).to_bytes(self.value_size, "little")
        return self._elem(BPF_MAP_UPDATE_ELEM, key, ctypes.create_string_buffer(v, self.value_size), flags)

    def delete(self, key) -> int:
        return self._elem(BPF_MAP_DELETE_ELEM, key, None)

    def next_key(self, key=None) -> tuple[int, int | bytes | None]:
        out = ctypes.create_string_buffer(self.key_size)
        rc = self._elem(BPF_MAP_GET_NEXT_KEY, key, out)
        if rc:
            return rc, None
        raw = out.raw[:self.key_size]
        return 0, int.from_bytes(raw, "little") if self.key_size <= 8 else raw


def available() -> tuple[bool, str]:
    """Can this process create BPF maps?"""
    try:
        with KernelMap(2, 4, 4, 1):
            return True, ""
    except UnavailableError as e:
        return False, e.message
    except OSError as e:  # no bpf syscall in this libc's table, seccomp'd sandbox, ...
        return False, str(e)


def run_with_maps(insns, maps: dict, *, data: bytes = bytes(64)) -> tuple[bool, int | None, str]:
    """Load ``insns`` as a socket filter with ``lddw rX, map_fd(N)`` pointing at ``maps[N]``
    (KernelMaps), run it once (BPF_PROG_TEST_RUN); return (loaded, retval u32, verifier log)."""
    from lwnlab.bpf import isa
    from lwnlab.bpf.program import Insn, encode
    from lwnlab.seccomp.kernel import BPF_PROG_TEST_RUN
    from lwnlab.system import BPF_PROG_LOAD, BPF_PROG_TYPE_SOCKET_FILTER

    out = []
    for x in insns:
        if x.code == isa.LDDW and x.src == isa.BPF_PSEUDO_MAP_FD:
            x = Insn(x.code, x.dst, x.src, x.off, maps[x.imm].fd)
        out.append(x)
    prog = encode(out)
    insn_buf = ctypes.create_string_buffer(prog, len(prog))
    lic = ctypes.create_string_buffer(b"GPL")
    log_size = 1 << 18
    log = ctypes.create_string_buffer(log_size)
    attr = ctypes.create_string_buffer(144)
    struct.pack_into("<IIQQIIQ", attr, 0, BPF_PROG_TYPE_SOCKET_FILTER, len(prog) // 8, ctypes.addressof(insn_buf),
                     ctypes.addressof(lic), 1, log_size, ctypes.addressof(log))
    fd, err = raw_syscall("bpf", BPF_PROG_LOAD, attr, 144)
    if fd < 0:
        return False, None, log.value.decode(errors="replace")
    try:
        din = ctypes.create_string_buffer(bytes(data), len(data))
        t = ctypes.create_string_buffer(80)
        struct.pack_into("<IIIIQQII", t, 0, fd, 0, len(data), 0, ctypes.addressof(din), 0, 1, 0)
        r, err = raw_syscall("bpf", BPF_PROG_TEST_RUN, t, 80)
        if r < 0:
            return True, None, f"BPF_PROG_TEST_RUN failed: {os.strerror(err)}"
        return True, struct.unpack_from("<I", t, 4)[0], ""
    finally:
        os.close(fd)
