"""The BPF machine: the eBPF instruction table (isa), assembler/disassemblers (asm, disasm), programs and
the loader's checks (program), the numba interpreter with bounds-checked memory regions (vm), a pure-Python
reference interpreter (reference), classic BPF with the kernel's checks and conversion (classic,
classic_asm) and its fast batch engine (cvm)."""
