"""Regenerate ``_tables.py`` (syscall numbers per architecture) from the installed libseccomp.

``python -m lwnlab.seccomp._gen_tables`` asks libseccomp (through pyseccomp)
for every syscall it knows on every architecture it knows, keeps the kernel's
numbers (what ``seccomp_data.nr`` holds, e.g. x32's with bit 30 set) and adds
the syscalls merged after the installed libseccomp was released (unified
numbers 457.. across the asm-generic-style tables, x86's uretprobe/uprobe).  With ``--kernel-src``
the direct socket/ipc syscalls that libseccomp only knows as socketcall()/ipc() pseudo numbers come
from the kernel's own ``syscall*.tbl`` (used for the committed tables: Debian's linux-source-6.12).
"""

from __future__ import annotations

import pprint
import sys
from pathlib import Path

#: libseccomp arch token names (pyseccomp.Arch) -> lwnlab arch names
ARCHES = {
    "X86_64": "x86_64", "X86": "i386", "X32": "x32", "AARCH64": "aarch64", "RISCV64": "riscv64",
    "ARM": "arm", "MIPS": "mips", "MIPSEL": "mipsel", "MIPS64": "mips64", "MIPSEL64": "mipsel64",
    "MIPS64N32": "mips64n32", "MIPSEL64N32": "mipsel64n32", "PPC": "ppc", "PPC64": "ppc64",
    "PPC64LE": "ppc64le", "S390": "s390", "S390X": "s390x", "PARISC": "parisc", "PARISC64": "parisc64",
}
#: syscalls added to Linux after libseccomp 2.5.4 (number in the unified table; mips adds its base)
LATER = {457: "statmount", 458: "listmount", 459: "lsm_get_self_attr", 460: "lsm_set_self_attr",
         461: "lsm_list_modules", 462: "mseal", 463: "setxattrat", 464: "getxattrat", 465: "listxattrat",
         466: "removexattrat", 467: "open_tree_attr", 468: "file_getattr", 469: "file_setattr"}
BASE = {"mips": 4000, "mipsel": 4000, "mips64": 5000, "mipsel64": 5000, "mips64n32": 6000, "mipsel64n32": 6000,
        "x32": 0x40000000}
X86_EXTRA = {"x86_64": {"uretprobe": 335, "uprobe": 336},
             "x32": {"uretprobe": 0x40000000 | 335, "map_shadow_stack": 0x40000000 | 453},
             # libseccomp resolves the socketcall/ipc family on x86 to its pseudo numbers (< 0); the kernel
             # has had direct syscalls for them since 4.3 / 5.1 (arch/x86/entry/syscalls/syscall_32.tbl),
             # and seccomp_data.nr holds those
             "i386": {"recvmmsg": 337, "sendmmsg": 345, "socket": 359, "socketpair": 360, "bind": 361,
                      "connect": 362, "listen": 363, "accept4": 364, "getsockopt": 365, "setsockopt": 366,
                      "getsockname": 367, "getpeername": 368, "sendto": 369, "sendmsg": 370, "recvfrom": 371,
                      "recvmsg": 372, "shutdown": 373, "semget": 393, "semctl": 394, "shmget": 395, "shmctl": 396,
                      "shmat": 397, "shmdt": 398, "msgget": 399, "msgsnd": 400, "msgrcv": 401, "msgctl": 402}}


#: where the kernel's own tables are, for names libseccomp only knows as multiplexer pseudo-syscalls
KERNEL_TBL = {
    "i386": ("arch/x86/entry/syscalls/syscall_32.tbl", ("i386",), 0),
    "s390": ("arch/s390/kernel/syscalls/syscall.tbl", ("common", "32"), 0),
    "s390x": ("arch/s390/kernel/syscalls/syscall.tbl", ("common", "64"), 0),
    "ppc": ("arch/powerpc/kernel/syscalls/syscall.tbl", ("common", "32", "nospu"), 0),
    "ppc64": ("arch/powerpc/kernel/syscalls/syscall.tbl", ("common", "64", "nospu"), 0),
    "ppc64le": ("arch/powerpc/kernel/syscalls/syscall.tbl", ("common", "64", "nospu"), 0),
    "mips": ("arch/mips/kernel/syscalls/syscall_o32.tbl", ("o32",), 4000),
    "mipsel": ("arch/mips/kernel/syscalls/syscall_o32.tbl", ("o32",), 4000),
}


def kernel_table(src: str, arch: str) -> dict[str, int]:
    import os

    path, abis, base = KERNEL_TBL[arch]
    out = {}
    with open(os.path.join(src, path)) as f:
        for line in f:
            parts = line.split()
            if not parts or parts[0].startswith("#") or parts[1] not in abis:
                continue
            out[parts[2]] = base + int(parts[0])
    return out


def generate(kernel_src: str | None = None) -> dict[str, dict[str, int]]:
    import pyseccomp as sc

    out: dict[str, dict[str, int]] = {}
    for token, name in ARCHES.items():
        arch = getattr(sc.Arch, token)
        names = set()
        for base in (0, 4000, 5000, 6000, 0x40000000, 0x0F0000):
            for nr in range(base, base + 1100):
                try:
                    names.add(sc.resolve_syscall(arch, nr).decode())
                except ValueError:
                    pass
        table = {}
        pseudo = []
        for n in sorted(names):
            nr = sc.resolve_syscall(arch, n)
            if nr >= 0:
                table[n] = nr
            else:
                pseudo.append(n)
        if kernel_src and name in KERNEL_TBL:
            ktbl = kernel_table(kernel_src, name)
            for n in pseudo:  # socket(), shmget()...: the direct syscalls the kernel has
                if n in ktbl:
                    table[n] = ktbl[n]
        top = max((v - BASE.get(name, 0)) for v in table.values() if v - BASE.get(name, 0) < 1000)
        if top >= 450:  # tables that follow the unified numbering for new syscalls
            for nr, n in LATER.items():
                table.setdefault(n, BASE.get(name, 0) + nr)
        for n, nr in X86_EXTRA.get(name, {}).items():
            table.setdefault(n, nr)
        out[name] = dict(sorted(table.items(), key=lambda kv: kv[1]))
    return out


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kernel-src", help="an unpacked kernel tree (Debian's linux-source) for the direct "
                    "socketcall/ipc numbers libseccomp does not give")
    tables = generate(ap.parse_args().kernel_src)
    path = Path(__file__).with_name("_tables.py")
    with open(path, "w") as f:
        f.write('"""Syscall numbers per architecture, generated by _gen_tables.py from libseccomp; do not edit."""\n\n')
        f.write("# fmt: off\nTABLES = ")
        f.write(pprint.pformat(tables, width=120, sort_dicts=False))
        f.write("\n")
    print(f"wrote {path}: " + ", ".join(f"{k} {len(v)}" for k, v in tables.items()), file=sys.stderr)


if __name__ == "__main__":
    main()
