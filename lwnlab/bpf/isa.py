"""The eBPF instruction set (RFC 9669) and classic BPF's opcodes: the ONE table.

Everything that knows what an opcode means reads it from here: the assembler,
the disassemblers (uBPF style and the kernel's pseudo-C), the loader checks,
the numba interpreter (through the numeric constants) and the classic-BPF
converter.  Names follow ``include/uapi/linux/bpf.h`` and ``bpf_common.h``.

Encoding of one 64-bit slot (little-endian)::

    opcode:8 | dst:4 src:4 | offset:s16 | imm:s32

``lddw`` (0x18) takes two slots; the second slot's ``imm`` is the upper half.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# --------------------------------------------------------------------------- classes (bpf_common.h)
BPF_LD, BPF_LDX, BPF_ST, BPF_STX, BPF_ALU, BPF_JMP, BPF_JMP32, BPF_ALU64 = range(8)
BPF_RET, BPF_MISC = 0x06, 0x07  # classic names of classes 6 and 7
CLASS_NAMES = {0: "LD", 1: "LDX", 2: "ST", 3: "STX", 4: "ALU", 5: "JMP", 6: "JMP32", 7: "ALU64"}

# sizes
BPF_W, BPF_H, BPF_B, BPF_DW = 0x00, 0x08, 0x10, 0x18
SIZE_BYTES = {BPF_W: 4, BPF_H: 2, BPF_B: 1, BPF_DW: 8}
SIZE_SUFFIX = {BPF_W: "w", BPF_H: "h", BPF_B: "b", BPF_DW: "dw"}
SIZE_CTYPE = {BPF_W: "u32", BPF_H: "u16", BPF_B: "u8", BPF_DW: "u64"}

# modes
BPF_IMM, BPF_ABS, BPF_IND, BPF_MEM, BPF_LEN, BPF_MSH = 0x00, 0x20, 0x40, 0x60, 0x80, 0xA0
BPF_MEMSX, BPF_ATOMIC = 0x80, 0xC0

# source operand
BPF_K, BPF_X = 0x00, 0x08
BPF_TO_LE, BPF_TO_BE = 0x00, 0x08  # END's source bit
BPF_A = 0x10  # classic RET A / (RET uses 0x10 for A)

# ALU operations (the high nibble)
BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND, BPF_LSH, BPF_RSH = (0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70)
BPF_NEG, BPF_MOD, BPF_XOR, BPF_MOV, BPF_ARSH, BPF_END = 0x80, 0x90, 0xA0, 0xB0, 0xC0, 0xD0

# JMP operations
BPF_JA, BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE = 0x00, 0x10, 0x20, 0x30, 0x40, 0x50
BPF_JSGT, BPF_JSGE, BPF_CALL, BPF_EXIT = 0x60, 0x70, 0x80, 0x90
BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE = 0xA0, 0xB0, 0xC0, 0xD0

# classic misc
BPF_TAX, BPF_TXA = 0x00, 0x80

# atomic operations (in imm)
BPF_FETCH = 0x01
BPF_XCHG = 0xE0 | BPF_FETCH
BPF_CMPXCHG = 0xF0 | BPF_FETCH
ATOMIC_OPS = {
    BPF_ADD: "add", BPF_OR: "or", BPF_AND: "and", BPF_XOR: "xor",
    BPF_ADD | BPF_FETCH: "fetch add", BPF_OR | BPF_FETCH: "fetch or",
    BPF_AND | BPF_FETCH: "fetch and", BPF_XOR | BPF_FETCH: "fetch xor",
    BPF_XCHG: "xchg", BPF_CMPXCHG: "cmpxchg",
}

# pseudo sources
BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE, BPF_PSEUDO_BTF_ID = 1, 2, 3
BPF_PSEUDO_FUNC, BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_IDX_VALUE = 4, 5, 6
LDDW_SRC_NAMES = {0: "imm64", 1: "map_fd", 2: "map_value", 3: "btf_var", 4: "func", 5: "map_idx", 6: "map_idx_value"}
BPF_PSEUDO_CALL, BPF_PSEUDO_KFUNC_CALL = 1, 2

# registers
MAX_REG = 11  # r0..r10
FP_REG = 10
STACK_SIZE = 512  # MAX_BPF_STACK, per frame in this interpreter
MAX_CALL_FRAMES = 8  # MAX_CALL_FRAMES in include/linux/bpf_verifier.h
BPF_MAXINSNS = 4096  # classic filters and unprivileged eBPF
BPF_COMPLEXITY_LIMIT_INSNS = 1_000_000  # privileged eBPF program size limit
BPF_MEMWORDS = 16  # classic scratch memory M[]

LDDW = BPF_LD | BPF_IMM | BPF_DW  # 0x18

ALU_OPS = {  # op nibble -> (uBPF mnemonic, pseudo-C operator)
    BPF_ADD: ("add", "+="), BPF_SUB: ("sub", "-="), BPF_MUL: ("mul", "*="), BPF_DIV: ("div", "/="),
    BPF_OR: ("or", "|="), BPF_AND: ("and", "&="), BPF_LSH: ("lsh", "<<="), BPF_RSH: ("rsh", ">>="),
    BPF_NEG: ("neg", None), BPF_MOD: ("mod", "%="), BPF_XOR: ("xor", "^="), BPF_MOV: ("mov", "="),
    BPF_ARSH: ("arsh", "s>>="), BPF_END: ("end", None),
}
JMP_OPS = {  # op nibble -> (mnemonic, pseudo-C comparison)
    BPF_JEQ: ("jeq", "=="), BPF_JGT: ("jgt", ">"), BPF_JGE: ("jge", ">="), BPF_JSET: ("jset", "&"),
    BPF_JNE: ("jne", "!="), BPF_JSGT: ("jsgt", "s>"), BPF_JSGE: ("jsge", "s>="), BPF_JLT: ("jlt", "<"),
    BPF_JLE: ("jle", "<="), BPF_JSLT: ("jslt", "s<"), BPF_JSLE: ("jsle", "s<="),
}


@dataclass(frozen=True)
class OpInfo:
    """One row of the eBPF table: an opcode byte with the operand fields it uses.

    ``offsets``/``imms`` restrict the fields where RFC 9669 gives them meaning
    (``None`` = any value); ``src_ok`` likewise for the src register field.
    ``group`` is the RFC's conformance group.
    """

    opcode: int
    name: str
    group: str
    kind: str  # alu, alu_end, mov, neg, ldx, ldxsx, st, stx, atomic, lddw, ld_abs, ld_ind, ja, jmp, call, exit
    offsets: tuple | None = None
    imms: tuple | None = None
    src_zero: bool = False
    dst_zero: bool = False
    imm_zero: bool = False
    off_zero: bool = False


def _build_table() -> dict[int, OpInfo]:
    t: dict[int, OpInfo] = {}
    for cls, bits in ((BPF_ALU64, 64), (BPF_ALU, 32)):
        suffix = "" if bits == 64 else "32"
        for op, (mn, _) in ALU_OPS.items():
            for src in (BPF_K, BPF_X):
                code = cls | op | src
                group = "base64" if bits == 64 else "base32"
                if op in (BPF_MUL, BPF_DIV, BPF_MOD):
                    group = "divmul64" if bits == 64 else "divmul32"
                if op == BPF_NEG:
                    if src == BPF_X:
                        continue
                    t[code] = OpInfo(code, "neg" + suffix, group, "neg", offsets=(0,), src_zero=True, imm_zero=True)
                elif op == BPF_END:
                    if bits == 64 and src == BPF_X:
                        continue  # reserved
                    kind = "bswap" if bits == 64 else ("be" if src == BPF_TO_BE else "le")
                    t[code] = OpInfo(code, kind, group, "alu_end", offsets=(0,), imms=(16, 32, 64), src_zero=True)
                elif op == BPF_MOV:
                    t[code] = OpInfo(code, "mov" + suffix, group, "mov",
                                     offsets=(0, 8, 16, 32) if (src == BPF_X and bits == 64) else
                                     ((0, 8, 16) if src == BPF_X else (0,)),
                                     src_zero=(src == BPF_K), imm_zero=(src == BPF_X))
                elif op in (BPF_DIV, BPF_MOD):
                    t[code] = OpInfo(code, mn + suffix, group, "alu", offsets=(0, 1),
                                     src_zero=(src == BPF_K), imm_zero=(src == BPF_X))
                else:
                    t[code] = OpInfo(code, mn + suffix, group, "alu", offsets=(0,),
                                     src_zero=(src == BPF_K), imm_zero=(src == BPF_X))
    for cls, bits in ((BPF_JMP, 64), (BPF_JMP32, 32)):
        suffix = "" if bits == 64 else "32"
        group = "base64" if bits == 64 else "base32"
        for op, (mn, _) in JMP_OPS.items():
            t[cls | op | BPF_K] = OpInfo(cls | op | BPF_K, mn + suffix, group, "jmp", src_zero=True)
            t[cls | op | BPF_X] = OpInfo(cls | op | BPF_X, mn + suffix, group, "jmp", imm_zero=True)
    t[BPF_JMP | BPF_JA] = OpInfo(BPF_JMP | BPF_JA, "ja", "base32", "ja", src_zero=True, dst_zero=True, imm_zero=True)
    t[BPF_JMP32 | BPF_JA] = OpInfo(BPF_JMP32 | BPF_JA, "gotol", "base32", "ja", src_zero=True, dst_zero=True,
                                   off_zero=True)
    t[BPF_JMP | BPF_CALL] = OpInfo(BPF_JMP | BPF_CALL, "call", "base32", "call", offsets=(0,), dst_zero=True)
    t[BPF_JMP | BPF_EXIT] = OpInfo(BPF_JMP | BPF_EXIT, "exit", "base32", "exit", offsets=(0,), src_zero=True,
                                   dst_zero=True, imm_zero=True)
    for size in (BPF_B, BPF_H, BPF_W, BPF_DW):
        sfx = SIZE_SUFFIX[size]
        group = "base64" if size == BPF_DW else "base32"
        c = BPF_LDX | BPF_MEM | size
        t[c] = OpInfo(c, "ldx" + sfx, group, "ldx", imm_zero=True)
        if size != BPF_DW:
            c = BPF_LDX | BPF_MEMSX | size
            t[c] = OpInfo(c, "ldxs" + sfx, "base64", "ldxsx", imm_zero=True)
        c = BPF_ST | BPF_MEM | size
        t[c] = OpInfo(c, "st" + sfx, group, "st", src_zero=True)
        c = BPF_STX | BPF_MEM | size
        t[c] = OpInfo(c, "stx" + sfx, group, "stx", imm_zero=True)
        c = BPF_LD | BPF_ABS | size
        t[c] = OpInfo(c, "ldabs" + sfx, "packet", "ld_abs", offsets=(0,), src_zero=True, dst_zero=True)
        c = BPF_LD | BPF_IND | size
        t[c] = OpInfo(c, "ldind" + sfx, "packet", "ld_ind", offsets=(0,), dst_zero=True)
    for size in (BPF_W, BPF_DW):
        c = BPF_STX | BPF_ATOMIC | size
        t[c] = OpInfo(c, "lock", "atomic32" if size == BPF_W else "atomic64", "atomic",
                      imms=tuple(ATOMIC_OPS))
    t[LDDW] = OpInfo(LDDW, "lddw", "base64", "lddw", offsets=(0,), imms=None)
    return t


#: every valid eBPF opcode byte -> its row
OPCODES: dict[int, OpInfo] = _build_table()

#: 256-entry lookup for numba: 1 where the opcode byte is defined
VALID_OPCODE = np.zeros(256, dtype=np.uint8)
for _c in OPCODES:
    VALID_OPCODE[_c] = 1


def bpf_class(code: int) -> int:
    return code & 0x07


def bpf_size(code: int) -> int:
    return code & 0x18


def bpf_mode(code: int) -> int:
    return code & 0xE0


def bpf_op(code: int) -> int:
    return code & 0xF0


def bpf_src(code: int) -> int:
    return code & 0x08


# --------------------------------------------------------------------------- classic BPF (struct sock_filter)
# Classic opcodes are 16 bits but only the low byte is used; the same class/size/mode/op bits apply.
#: Every opcode bpf_check_classic's chk_code_allowed() accepts (net/core/filter.c), with bpf_asm mnemonics.
CLASSIC_OPCODES: dict[int, str] = {
    # ALU
    BPF_ALU | BPF_ADD | BPF_K: "add", BPF_ALU | BPF_ADD | BPF_X: "add",
    BPF_ALU | BPF_SUB | BPF_K: "sub", BPF_ALU | BPF_SUB | BPF_X: "sub",
    BPF_ALU | BPF_MUL | BPF_K: "mul", BPF_ALU | BPF_MUL | BPF_X: "mul",
    BPF_ALU | BPF_DIV | BPF_K: "div", BPF_ALU | BPF_DIV | BPF_X: "div",
    BPF_ALU | BPF_MOD | BPF_K: "mod", BPF_ALU | BPF_MOD | BPF_X: "mod",
    BPF_ALU | BPF_AND | BPF_K: "and", BPF_ALU | BPF_AND | BPF_X: "and",
    BPF_ALU | BPF_OR | BPF_K: "or", BPF_ALU | BPF_OR | BPF_X: "or",
    BPF_ALU | BPF_XOR | BPF_K: "xor", BPF_ALU | BPF_XOR | BPF_X: "xor",
    BPF_ALU | BPF_LSH | BPF_K: "lsh", BPF_ALU | BPF_LSH | BPF_X: "lsh",
    BPF_ALU | BPF_RSH | BPF_K: "rsh", BPF_ALU | BPF_RSH | BPF_X: "rsh",
    BPF_ALU | BPF_NEG: "neg",
    # Load instructions
    BPF_LD | BPF_W | BPF_ABS: "ld", BPF_LD | BPF_H | BPF_ABS: "ldh", BPF_LD | BPF_B | BPF_ABS: "ldb",
    BPF_LD | BPF_W | BPF_LEN: "ld", BPF_LD | BPF_W | BPF_IND: "ld", BPF_LD | BPF_H | BPF_IND: "ldh",
    BPF_LD | BPF_B | BPF_IND: "ldb", BPF_LD | BPF_IMM: "ld", BPF_LD | BPF_MEM: "ld",
    BPF_LDX | BPF_W | BPF_LEN: "ldx", BPF_LDX | BPF_B | BPF_MSH: "ldxb", BPF_LDX | BPF_IMM: "ldx",
    BPF_LDX | BPF_MEM: "ldx",
    # Store instructions
    BPF_ST: "st", BPF_STX: "stx",
    # Misc instructions
    BPF_MISC | BPF_TAX: "tax", BPF_MISC | BPF_TXA: "txa",
    # Return instructions
    BPF_RET | BPF_K: "ret", BPF_RET | BPF_A: "ret",
    # Jump instructions
    BPF_JMP | BPF_JA: "ja",
    BPF_JMP | BPF_JEQ | BPF_K: "jeq", BPF_JMP | BPF_JEQ | BPF_X: "jeq",
    BPF_JMP | BPF_JGE | BPF_K: "jge", BPF_JMP | BPF_JGE | BPF_X: "jge",
    BPF_JMP | BPF_JGT | BPF_K: "jgt", BPF_JMP | BPF_JGT | BPF_X: "jgt",
    BPF_JMP | BPF_JSET | BPF_K: "jset", BPF_JMP | BPF_JSET | BPF_X: "jset",
}

#: The opcodes seccomp_check_filter() (kernel/seccomp.c) lets through, after bpf_check_classic.
SECCOMP_OPCODES: frozenset[int] = frozenset({
    BPF_LD | BPF_W | BPF_ABS, BPF_LD | BPF_W | BPF_LEN, BPF_LDX | BPF_W | BPF_LEN,
    BPF_RET | BPF_K, BPF_RET | BPF_A,
    BPF_ALU | BPF_ADD | BPF_K, BPF_ALU | BPF_ADD | BPF_X, BPF_ALU | BPF_SUB | BPF_K, BPF_ALU | BPF_SUB | BPF_X,
    BPF_ALU | BPF_MUL | BPF_K, BPF_ALU | BPF_MUL | BPF_X, BPF_ALU | BPF_DIV | BPF_K, BPF_ALU | BPF_DIV | BPF_X,
    BPF_ALU | BPF_AND | BPF_K, BPF_ALU | BPF_AND | BPF_X, BPF_ALU | BPF_OR | BPF_K, BPF_ALU | BPF_OR | BPF_X,
    BPF_ALU | BPF_XOR | BPF_K, BPF_ALU | BPF_XOR | BPF_X, BPF_ALU | BPF_LSH | BPF_K, BPF_ALU | BPF_LSH | BPF_X,
    BPF_ALU | BPF_RSH | BPF_K, BPF_ALU | BPF_RSH | BPF_X, BPF_ALU | BPF_NEG,
    BPF_LD | BPF_IMM, BPF_LDX | BPF_IMM, BPF_MISC | BPF_TAX, BPF_MISC | BPF_TXA,
    BPF_LD | BPF_MEM, BPF_LDX | BPF_MEM, BPF_ST, BPF_STX,
    BPF_JMP | BPF_JA, BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP | BPF_JEQ | BPF_X, BPF_JMP | BPF_JGE | BPF_K,
    BPF_JMP | BPF_JGE | BPF_X, BPF_JMP | BPF_JGT | BPF_K, BPF_JMP | BPF_JGT | BPF_X,
    BPF_JMP | BPF_JSET | BPF_K, BPF_JMP | BPF_JSET | BPF_X,
})

#: seccomp's private rewrite of LD|W|ABS (seccomp_check_filter: "ftest->code = BPF_LDX | BPF_W | BPF_ABS")
SECCOMP_LD_ABS = BPF_LDX | BPF_W | BPF_ABS

#: SKF_AD_OFF: classic loads at k >= this are ancillary data (skb fields), never seccomp
SKF_AD_OFF = -0x1000
SKF_LL_OFF = -0x200000
SKF_NET_OFF = -0x100000
