"""``lwnlab bpf``: assemble, disassemble and run eBPF programs; a plugin for conformance runners."""

from __future__ import annotations

import sys

from lwnlab.cli import EXIT_NEGATIVE, EXIT_OK, group, print_json
from lwnlab.errors import ExecutionError, FilterError, UsageError

ALIGN_CHOICES = {"none": 0, "stack": 1, "all": 2}


def register(subparsers) -> None:
    p, sub = group(subparsers, "bpf", "eBPF: assemble, disassemble and run programs (uBPF dialect)",
                   "The eBPF machine of the seccomp lab: RFC 9669 instructions, a numba interpreter with "
                   "bounds-checked memory, and an assembler/disassembler in the uBPF dialect.")

    a = sub.add_parser("asm", help="assemble uBPF-style text to raw instructions",
                       description="Assemble IN.s (uBPF dialect: mov32 %%r0, 1 / ldxw %%r0, [%%r1+4] / exit) to raw "
                       "8-byte struct bpf_insn slots. The program is checked with the kernel loader's structural "
                       "rules first.")
    a.add_argument("input", metavar="IN.s")
    a.add_argument("-o", "--output", metavar="OUT.bin", help="output file (default: IN with suffix .bin)")
    a.add_argument("--no-check", action="store_true", help="write the program even if the loader would refuse it")
    a.set_defaults(func=_cmd_asm)

    d = sub.add_parser("disasm", help="disassemble raw instructions",
                       description="Disassemble IN.bin to the uBPF dialect (round-trips through 'lwnlab bpf asm'), "
                       "or with --pseudo-c to the kernel's verifier-log form (r0 = 1, if r1 > 0x5 goto pc+2).")
    d.add_argument("input", metavar="IN.bin")
    d.add_argument("--pseudo-c", action="store_true", help="the kernel's pseudo-C form (bpftool prog dump xlated)")
    d.add_argument("--labels", action="store_true", help="use labels for jump targets instead of offsets")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.set_defaults(func=_cmd_disasm)

    r = sub.add_parser("run", help="run a program and print r0",
                       description="Run PROG (.s/.asm text, or raw .bin) with r1 = the memory and r2 = its length, "
                       "as uBPF does. Prints r0; a fault (out-of-bounds access, budget exhausted...) is reported "
                       "with its pc and exit status 1.")
    r.add_argument("program", metavar="PROG.s|PROG.bin")
    r.add_argument("--mem", default="", metavar="HEX", help="the memory r1 points to, as hex bytes")
    r.add_argument("--budget", type=int, default=1_000_000, help="instruction budget (default 1000000)")
    r.add_argument("--align", choices=ALIGN_CHOICES, default="stack",
                   help="alignment rule: none, stack (the verifier's default), all (strict)")
    r.add_argument("--json", action="store_true", help="print {\"r0\": ..., \"error\": ...}")
    r.set_defaults(func=_cmd_run)

    g = sub.add_parser("plugin", help="conformance-runner plugin: program hex on stdin, memory hex in argv",
                       description="For external eBPF conformance runners (bpf_conformance): reads the program as "
                       "base16 on stdin and the memory as base16 in the argument, runs it with r1 = memory and "
                       "r2 = its length, prints r0 in hex and exits 0; prints an error and exits 1 otherwise. "
                       "Programs the kernel's loader refuses are refused.")
    g.add_argument("memory", nargs="?", default="", metavar="MEMHEX")
    g.add_argument("--align", choices=ALIGN_CHOICES, default="stack", help=argparse_suppress())
    g.add_argument("--budget", type=int, default=1_000_000, help=argparse_suppress())
    g.set_defaults(func=_cmd_plugin)


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


def _hex(text: str, what: str) -> bytes:
    t = "".join(text.split())
    if t.startswith(("0x", "0X")):
        t = t[2:]
    if len(t) % 2:
        raise UsageError(f"odd number of hex digits ({len(t)})", field=what)
    try:
        return bytes.fromhex(t)
    except ValueError:
        bad = next((i for i, ch in enumerate(t) if ch not in "0123456789abcdefABCDEF"), 0)
        raise UsageError(f"not hex at character {bad} ({t[bad]!r})", field=what) from None


def looks_like_text(raw: bytes) -> bool:
    """Assembly text rather than raw instructions (which nearly always contain NUL bytes)?"""
    if not raw or b"\0" in raw:
        return False
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\t\r\n" for ch in text) and any(ch.isalpha() for ch in text)


def _load(path: str):
    """A program from text (.s/.asm, or any file that is text) or raw bytes."""
    from lwnlab.bpf import asm, program

    with open(path, "rb") as f:
        raw = f.read()
    if path.endswith((".s", ".asm", ".S")) or looks_like_text(raw):
        return asm.assemble(raw.decode("utf-8", errors="replace"), file=path)
    try:
        return program.decode(raw, what=path)
    except FilterError as e:
        raise FilterError(e.message, file=path, pc=e.pc) from None


def _cmd_asm(args) -> int:
    from lwnlab.bpf import asm, program

    with open(args.input) as f:
        insns = asm.assemble(f.read(), file=args.input)
    if not args.no_check:
        program.check_program(insns)
    out = args.output or (args.input.rsplit(".", 1)[0] + ".bin")
    with open(out, "wb") as f:
        f.write(program.encode(insns))
    print(f"{out}: {len(insns)} instructions ({len(insns) * 8} bytes)", file=sys.stderr)
    return EXIT_OK


def _cmd_disasm(args) -> int:
    from lwnlab.bpf import disasm

    insns = _load(args.input)
    text = disasm.pseudo_c(insns) if args.pseudo_c else disasm.disassemble(insns, labels=args.labels)
    if args.json:
        lines = []
        pc = 0
        while pc < len(insns):
            t, used = disasm.disasm_one(insns, pc)
            c, _ = disasm.pseudo_c_one(insns, pc)
            x = insns[pc]
            lines.append({"pc": pc, "code": x.code, "dst": x.dst, "src": x.src, "off": x.off, "imm": x.imm,
                          "asm": t, "pseudo_c": c})
            pc += used
        print_json({"instructions": lines})
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _run(insns, mem: bytes, budget: int, align: int):
    from lwnlab.bpf import program, vm

    program.check_program(insns)
    if budget <= 0:
        raise UsageError("--budget must be positive", field="budget")
    return vm.run_program(program.to_array(insns), mem, budget=budget, align=align)


def _cmd_run(args) -> int:
    insns = _load(args.program)
    res = _run(insns, _hex(args.mem, "mem"), args.budget, ALIGN_CHOICES[args.align])
    if args.json:
        print_json(res.to_json())
    elif res.error is None:
        print(f"{res.r0:#x}")
    else:
        print(f"lwnlab: program faulted: {res.error.describe()}", file=sys.stderr)
    return EXIT_OK if res.error is None else EXIT_NEGATIVE


def _cmd_plugin(args) -> int:
    from lwnlab.bpf import program

    try:
        prog = _hex(sys.stdin.read(), "program")
        mem = _hex(args.memory, "memory")
        insns = program.decode(prog)
        res = _run(insns, mem, args.budget, ALIGN_CHOICES[args.align])
    except (FilterError, UsageError, ExecutionError) as e:
        print(e.describe(), file=sys.stderr)
        return EXIT_NEGATIVE
    if res.error is not None:
        print(res.error.describe(), file=sys.stderr)
        return EXIT_NEGATIVE
    print(f"{res.r0:x}")
    return EXIT_OK
