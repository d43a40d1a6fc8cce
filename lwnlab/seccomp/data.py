"""``struct seccomp_data``: what a seccomp filter sees, laid out in the target's byte order.

::

    struct seccomp_data {          offset
        int   nr;                  0    (signed; x32 sets bit 30)
        __u32 arch;                4    (AUDIT_ARCH_*)
        __u64 instruction_pointer; 8
        __u64 args[6];             16 + 8*i
    };                             64 bytes

Classic BPF loads 32-bit words.  On a little-endian target ``ld [16]`` is the
low half of ``args[0]`` and ``ld [20]`` the high half; on a big-endian target
(s390x, ppc64, mips) it is the other way round, which is why libseccomp
exports big-endian filters with different offsets.  lwnlab keeps seccomp_data
as 16 uint32 *words* (the values a ``ld [4*i]`` yields), built per byte order.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from lwnlab.errors import UsageError
from lwnlab.seccomp.syscalls import Arch, get_arch, syscall_nr

SIZEOF_SECCOMP_DATA = 64
OFF_NR, OFF_ARCH, OFF_IP, OFF_ARGS = 0, 4, 8, 16
WORDS = 16
M64 = (1 << 64) - 1


def arg_offset(i: int, high: bool, big_endian: bool) -> int:
    """Byte offset of the low or high 32-bit half of args[i] in the target's layout."""
    if not 0 <= i < 6:
        raise UsageError(f"seccomp_data has args[0]..args[5], not args[{i}]", field="args")
    base = OFF_ARGS + 8 * i
    return base + (4 if high != big_endian else 0)


def ip_offset(high: bool, big_endian: bool) -> int:
    return OFF_IP + (4 if high != big_endian else 0)


FIELD_NAMES = {0: "nr", 4: "arch", 8: "instruction_pointer", 16: "args[0]", 24: "args[1]", 32: "args[2]",
               40: "args[3]", 48: "args[4]", 56: "args[5]"}


def describe_offset(k: int, big_endian: bool = False) -> str:
    """Human name of the 32-bit word at byte offset k (``args[0]`` low half etc.)."""
    if k in (0, 4):
        return FIELD_NAMES[k]
    if k % 4 or not 0 <= k < SIZEOF_SECCOMP_DATA:
        return f"[{k}]"
    base = k - (k % 8)
    upper = (k % 8 == 4) != big_endian
    name = "ip" if base == 8 else FIELD_NAMES[base]
    return name + (".hi" if upper else "")


@dataclass(frozen=True)
class SeccompData:
    """One syscall as a filter sees it."""

    nr: int
    arch: int
    instruction_pointer: int = 0
    args: tuple = field(default=(0, 0, 0, 0, 0, 0))
    big_endian: bool = False

    def __post_init__(self):
        if not -(1 << 31) <= self.nr < (1 << 32):
            raise UsageError(f"syscall number {self.nr} does not fit in 32 bits", field="nr")
        if not 0 <= self.arch < (1 << 32):
            raise UsageError(f"arch {self.arch:#x} does not fit in 32 bits", field="arch")
        args = tuple(self.args)
        if len(args) > 6:
            raise UsageError(f"{len(args)} arguments given, seccomp_data has 6", field="args")
        for i, a in enumerate(args):
            if not -(1 << 63) <= int(a) < (1 << 64):
                raise UsageError(f"args[{i}] = {a} does not fit in 64 bits", field=f"args[{i}]")
        if not -(1 << 63) <= self.instruction_pointer < (1 << 64):
            raise UsageError("instruction_pointer does not fit in 64 bits", field="instruction_pointer")
        object.__setattr__(self, "args", tuple(int(a) & M64 for a in args) + (0,) * (6 - len(args)))

    @classmethod
    def make(cls, arch: "str | Arch", syscall: "str | int", args=(), ip: int = 0) -> "SeccompData":
        a = get_arch(arch)
        nr = syscall_nr(a, syscall)
        return cls(nr & 0xFFFFFFFF if nr >= 0 else nr, a.audit_arch, int(ip) & M64, tuple(args), a.big_endian)

    @property
    def nr_signed(self) -> int:
        v = self.nr & 0xFFFFFFFF
        return v - (1 << 32) if v >= (1 << 31) else v

    def words(self) -> np.ndarray:
        """The 16 32-bit words a classic ``ld [4*i]`` reads, in the target's order."""
        w = np.zeros(WORDS, dtype=np.uint32)
        w[0] = self.nr & 0xFFFFFFFF
        w[1] = self.arch
        lo_first = not self.big_endian
        vals = (self.instruction_pointer,) + self.args
        for i, v in enumerate(vals):
            lo, hi = v & 0xFFFFFFFF, v >> 32
            w[2 + 2 * i], w[3 + 2 * i] = (lo, hi) if lo_first else (hi, lo)
        return w

    def to_bytes(self) -> bytes:
        """The 64 bytes as the target's kernel lays them out."""
        e = ">" if self.big_endian else "<"
        return struct.pack(e + "iIQ6Q", self.nr_signed, self.arch, self.instruction_pointer, *self.args)

    def to_json(self) -> dict:
        return {"nr": self.nr_signed, "arch": f"{self.arch:#010x}", "instruction_pointer": self.instruction_pointer,
                "args": list(self.args)}


def words_to_ctx_bytes(words: np.ndarray) -> bytes:
    """ctx bytes for the eBPF interpreter (a little-endian host reading native words)."""
    return np.ascontiguousarray(words, dtype="<u4").tobytes()


def batch_words(items: list[SeccompData]) -> np.ndarray:
    """(N, 16) uint32 for the batch engine."""
    out = np.zeros((len(items), WORDS), dtype=np.uint32)
    for i, d in enumerate(items):
        out[i] = d.words()
    return out
