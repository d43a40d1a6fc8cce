"""A pure-Python eBPF interpreter, written independently of the numba one.

It exists for two reasons: the property tests run random programs on both and
require identical results, and the benchmark measures how much numba buys
(``benchmarks/bench_bpf.py`` prints both speeds).  It uses plain Python ints
and a ``bytearray`` per region; semantics follow RFC 9669 as in :mod:`lwnlab.bpf.vm`.
"""

from __future__ import annotations

from lwnlab.bpf import isa
from lwnlab.bpf.program import Insn

M64 = (1 << 64) - 1
M32 = (1 << 32) - 1


def _s(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def _tdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _tmod(a: int, b: int) -> int:
    r = abs(a) % abs(b)
    return -r if a < 0 else r


class RefFault(Exception):
    def __init__(self, kind: str, pc: int):
        super().__init__(f"{kind} at pc {pc}")
        self.kind, self.pc = kind, pc


def run(insns: list[Insn], mem: bytes = b"", *, budget: int = 1_000_000, mem_base: int = 0x1_0000_0000,
        stack_base: int = 0x7FFF_0000_0000, helpers: dict | None = None, align_stack: bool = True) -> tuple[int, bytes]:
    """Run with r1 = memory, r2 = its length; return (r0, final memory) or raise RefFault."""
    frames_max = isa.MAX_CALL_FRAMES
    stack = bytearray(isa.STACK_SIZE * frames_max)
    stack_end = stack_base + len(stack)
    buf = bytearray(mem)
    regs = [0] * 11
    regs[1] = mem_base if mem else 0
    regs[2] = len(mem)
    regs[10] = stack_end
    frames: list[tuple] = []
    pc = 0
    steps = 0
    n = len(insns)

    def locate(addr: int, size: int, pc: int, write: bool):
        lo = stack_end - (len(frames) + 1) * isa.STACK_SIZE
        if lo <= addr and addr + size <= stack_end:
            if align_stack and addr % size:
                raise RefFault("misaligned", pc)
            return stack, addr - stack_base
        if mem_base <= addr and addr + size <= mem_base + len(buf) and len(buf):
            return buf, addr - mem_base
        raise RefFault("oob", pc)

    while True:
        if not 0 <= pc < n:
            raise RefFault("pc", pc)
        if steps >= budget:
            raise RefFault("budget", pc)
        steps += 1
        x = insns[pc]
        code, cls = x.code, x.code & 7
        op = code & 0xF0
        if cls in (isa.BPF_ALU, isa.BPF_ALU64):
            is64 = cls == isa.BPF_ALU64
            bits = 64 if is64 else 32
            mask = M64 if is64 else M32
            a = regs[x.dst] & mask
            b = (regs[x.src] if code & isa.BPF_X else x.imm & M64) & mask
            if op == isa.BPF_ADD:
                r = a + b
            elif op == isa.BPF_SUB:
                r = a - b
            elif op == isa.BPF_MUL:
                r = a * b
            elif op == isa.BPF_DIV:
                if x.off == 1:
                    r = 0 if b == 0 else _tdiv(_s(a, bits), _s(b, bits))
                else:
                    r = 0 if b == 0 else a // b
            elif op == isa.BPF_MOD:
                if x.off == 1:
                    r = a if b == 0 else _tmod(_s(a, bits), _s(b, bits))
                else:
                    r = a if b == 0 else a % b
            elif op == isa.BPF_OR:
                r = a | b
            elif op == isa.BPF_AND:
                r = a & b
            elif op == isa.BPF_XOR:
                r = a ^ b
            elif op == isa.BPF_LSH:
                r = a << (b % bits)
            elif op == isa.BPF_RSH:
                r = a >> (b % bits)
            elif op == isa.BPF_ARSH:
                r = _s(a, bits) >> (b % bits)
            elif op == isa.BPF_NEG:
                r = -a
            elif op == isa.BPF_MOV:
                r = b if x.off == 0 else _s(b, x.off)
            elif op == isa.BPF_END:
                v = regs[x.dst]
                w = x.imm
                if is64 or code & isa.BPF_X:
                    r = int.from_bytes((v & ((1 << w) - 1)).to_bytes(w // 8, "little"), "big")
                else:
                    r = v & ((1 << w) - 1)
                mask = M64
            else:
                raise RefFault("opcode", pc)
            regs[x.dst] = r & mask
            pc += 1
        elif cls in (isa.BPF_JMP, isa.BPF_JMP32):
            if op == isa.BPF_JA:
                pc += 1 + (x.imm if cls == isa.BPF_JMP32 else x.off)
                continue
            if op == isa.BPF_CALL:
                if x.src == 1:
                    if len(frames) + 1 >= frames_max:
                        raise RefFault("depth", pc)
                    frames.append((pc + 1, regs[6:11]))
                    regs[10] -= isa.STACK_SIZE
                    pc += 1 + x.imm
                else:
                    fn = (helpers or {}).get(x.imm)
                    if fn is None:
                        raise RefFault("helper", pc)
                    regs[0] = fn(regs) & M64
                    pc += 1
                continue
            if op == isa.BPF_EXIT:
                if not frames:
                    return regs[0], bytes(buf)
                ret, saved = frames.pop()
                regs[6:11] = saved
                pc = ret
                continue
            bits = 32 if cls == isa.BPF_JMP32 else 64
            mask = (1 << bits) - 1
            a = regs[x.dst] & mask
            b = (regs[x.src] if code & isa.BPF_X else x.imm & M64) & mask
            sa, sb = _s(a, bits), _s(b, bits)
            taken = {isa.BPF_JEQ: a == b, isa.BPF_JNE: a != b, isa.BPF_JGT: a > b, isa.BPF_JGE: a >= b,
                     isa.BPF_JLT: a < b, isa.BPF_JLE: a <= b, isa.BPF_JSET: bool(a & b),
                     isa.BPF_JSGT: sa > sb, isa.BPF_JSGE: sa >= sb, isa.BPF_JSLT: sa < sb,
                     isa.BPF_JSLE: sa <= sb}[op]
            pc += 1 + (x.off if taken else 0)
        elif cls == isa.BPF_LDX:
            size = isa.SIZE_BYTES[code & 0x18]
            addr = (regs[x.src] + x.off) & M64
            region, o = locate(addr, size, pc, False)
            v = int.from_bytes(region[o:o + size], "little")
            if code & 0xE0 == isa.BPF_MEMSX:
                v = _s(v, size * 8) & M64
            regs[x.dst] = v
            pc += 1
        elif cls in (isa.BPF_ST, isa.BPF_STX):
            size = isa.SIZE_BYTES[code & 0x18]
            addr = (regs[x.dst] + x.off) & M64
            region, o = locate(addr, size, pc, True)
            smask = (1 << (8 * size)) - 1
            if code & 0xE0 == isa.BPF_ATOMIC:
                old = int.from_bytes(region[o:o + size], "little")
                sv = regs[x.src] & smask
                if x.imm == isa.BPF_XCHG:
                    new, regs[x.src] = sv, old
                elif x.imm == isa.BPF_CMPXCHG:
                    new = sv if old == regs[0] & smask else old
                    regs[0] = old
                else:
                    f = {isa.BPF_ADD: old + sv, isa.BPF_OR: old | sv, isa.BPF_AND: old & sv,
                         isa.BPF_XOR: old ^ sv}[x.imm & 0xF0]
                    new = f & smask
                    if x.imm & isa.BPF_FETCH:
                        regs[x.src] = old
                region[o:o + size] = (new & smask).to_bytes(size, "little")
            else:
                v = (x.imm if cls == isa.BPF_ST else regs[x.src]) & smask
                region[o:o + size] = v.to_bytes(size, "little")
            pc += 1
        elif code == isa.LDDW:
            regs[x.dst] = (x.imm & M32) | ((insns[pc + 1].imm & M32) << 32)
            pc += 2
        else:
            raise RefFault("opcode", pc)


def run_classic(prog, words) -> tuple[int, int]:
    """Pure-Python classic BPF (a seccomp-checked program) on one row of seccomp_data words.

    Returns (ret, instructions executed); the baseline the benchmark compares the numba engine with.
    """
    A = X = 0
    mem = [0] * 16
    pc = steps = 0
    while True:
        x = prog[pc]
        c, k = x.code, x.k
        steps += 1
        if c in (0x20, 0x21):
            A = int(words[k >> 2])
            pc += 1
        elif c == 0x06:
            return k, steps
        elif c == 0x16:
            return A, steps
        elif c & 7 == 5:
            op = c & 0xF0
            if op == 0:
                pc += 1 + k
                continue
            b = X if c & 8 else k
            t = {0x10: A == b, 0x20: A > b, 0x30: A >= b, 0x40: (A & b) != 0}[op]
            pc += 1 + (x.jt if t else x.jf)
        elif c & 7 == 4:
            op = c & 0xF0
            b = X if c & 8 else k
            if op in (0x30, 0x90) and b == 0:
                return 0, steps
            A = {0x00: lambda: A + b, 0x10: lambda: A - b, 0x20: lambda: A * b, 0x30: lambda: A // b,
                 0x90: lambda: A % b, 0x40: lambda: A | b, 0x50: lambda: A & b, 0xA0: lambda: A ^ b,
                 0x60: lambda: A << (b & 31), 0x70: lambda: A >> (b & 31), 0x80: lambda: -A}[op]() & M32
            pc += 1
        elif c == 0x00:
            A, pc = k, pc + 1
        elif c == 0x01:
            X, pc = k, pc + 1
        elif c in (0x80, 0x81):
            if c == 0x80:
                A = 64
            else:
                X = 64
            pc += 1
        elif c == 0x60:
            A, pc = mem[k], pc + 1
        elif c == 0x61:
            X, pc = mem[k], pc + 1
        elif c == 0x02:
            mem[k], pc = A, pc + 1
        elif c == 0x03:
            mem[k], pc = X, pc + 1
        elif c == 0x07:
            X, pc = A, pc + 1
        elif c == 0x87:
            A, pc = X, pc + 1
        else:
            raise RefFault("opcode", pc)
