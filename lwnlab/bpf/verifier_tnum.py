"""Tristate numbers (``kernel/bpf/tnum.c``): known bits of a 64-bit value.

A tnum is ``(value, mask)``: bits set in ``mask`` are unknown, the others equal
``value``'s.  The operations are the kernel's, transcribed bit for bit.
"""

from __future__ import annotations

from typing import NamedTuple

M64 = (1 << 64) - 1
M32 = (1 << 32) - 1


class Tnum(NamedTuple):
    value: int
    mask: int

    def is_const(self) -> bool:
        return self.mask == 0

    def __str__(self) -> str:
        return f"({self.value:#x}; {self.mask:#x})"


UNKNOWN = Tnum(0, M64)


def const(v: int) -> Tnum:
    return Tnum(v & M64, 0)


def trange(lo: int, hi: int) -> Tnum:
    chi = lo ^ hi
    bits = chi.bit_length()
    if bits > 63:
        return UNKNOWN
    delta = (1 << bits) - 1
    return Tnum(lo & ~delta & M64, delta)


def add(a: Tnum, b: Tnum) -> Tnum:
    sm = (a.mask + b.mask) & M64
    sv = (a.value + b.value) & M64
    sigma = (sm + sv) & M64
    chi = sigma ^ sv
    mu = chi | a.mask | b.mask
    return Tnum(sv & ~mu & M64, mu & M64)


def sub(a: Tnum, b: Tnum) -> Tnum:
    dv = (a.value - b.value) & M64
    alpha = (dv + a.mask) & M64
    beta = (dv - b.mask) & M64
    chi = alpha ^ beta
    mu = chi | a.mask | b.mask
    return Tnum(dv & ~mu & M64, mu & M64)


def and_(a: Tnum, b: Tnum) -> Tnum:
    alpha = a.value | a.mask
    beta = b.value | b.mask
    v = a.value & b.value
    return Tnum(v, alpha & beta & ~v & M64)


def or_(a: Tnum, b: Tnum) -> Tnum:
    v = a.value | b.value
    mu = a.mask | b.mask
    return Tnum(v, mu & ~v & M64)


def xor(a: Tnum, b: Tnum) -> Tnum:
    v = a.value ^ b.value
    mu = a.mask | b.mask
    return Tnum(v & ~mu & M64, mu)


def lshift(a: Tnum, s: int) -> Tnum:
    return Tnum((a.value << s) & M64, (a.mask << s) & M64)


def rshift(a: Tnum, s: int) -> Tnum:
    return Tnum(a.value >> s, a.mask >> s)


def arshift(a: Tnum, s: int, bits: int = 64) -> Tnum:
    def sx(v: int) -> int:
        v &= (1 << bits) - 1
        return v - (1 << bits) if v >> (bits - 1) else v
    m = (1 << bits) - 1
    return Tnum((sx(a.value) >> s) & m, (sx(a.mask) >> s) & m)


def mul(a: Tnum, b: Tnum) -> Tnum:
    acc_v = (a.value * b.value) & M64
    acc_m = Tnum(0, 0)
    while a.value or a.mask:
        if a.value & 1:
            acc_m = add(acc_m, Tnum(0, b.mask))
        elif a.mask & 1:
            acc_m = add(acc_m, Tnum(0, b.value | b.mask))
        a = rshift(a, 1)
        b = lshift(b, 1)
    return add(Tnum(acc_v, 0), acc_m)


def intersect(a: Tnum, b: Tnum) -> Tnum:
    v = a.value | b.value
    mu = a.mask & b.mask
    return Tnum(v & ~mu & M64, mu)


def subreg(a: Tnum) -> Tnum:
    return Tnum(a.value & M32, a.mask & M32)


def contains(a: Tnum, b: Tnum) -> bool:
    """tnum_in(a, b): every value b can take, a can take too."""
    if b.mask & ~a.mask:
        return False
    return a.value == (b.value & ~a.mask)
