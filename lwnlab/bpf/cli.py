"""``lwnlab bpf``: assemble, disassemble and run eBPF programs; a plugin for conformance runners."""

from __future__ import annotations

import os
import sys

from lwnlab.cli import EXIT_NEGATIVE, EXIT_OK, group, print_json
from lwnlab.errors import ExecutionError, FilterError, UsageError

ALIGN_CHOICES = {"none": 0, "stack": 1, "all": 2}


def register(subparsers) -> None:
    p, sub = group(subparsers, "bpf", "eBPF: assemble, disassemble, run and verify programs; compile C with clang",
                   "The eBPF machine of the seccomp lab: RFC 9669 instructions, a numba interpreter with "
                   "bounds-checked memory, an assembler/disassembler in the uBPF dialect, a verifier checked "
                   "against the live kernel's, and clang-built C programs loaded like libbpf does.")

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

    v = sub.add_parser("verify", help="run lwnlab's eBPF verifier on a program and print the verdict and log",
                       description="Verify PROG (.s/.asm text, raw .bin, or a clang-built .o) as the kernel's "
                       "verifier would: every rejection names the pc, the rule in the kernel's words and the "
                       "register state there. Exit status 0 accepted, 1 rejected, 2 bad input. Maps are "
                       "declared with --map NAME_OR_FD:TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES (TYPE: hash, array, "
                       "prog_array, task_storage or a number); a number names the fd an lddw map_fd()/"
                       "map_value() uses, a name takes the next map index (lddw map_idx(0), map_idx(1)...). Assembly text may "
                       "also declare its maps with '.map N NAME TYPE key_size=K value_size=V max_entries=M' lines.")
    v.add_argument("program", metavar="PROG.s|PROG.bin|PROG.o|PROG.c")
    v.add_argument("--prog-type", choices=["socket_filter", "seccomp"], default="socket_filter",
                   help="program type (seccomp: the 2021 proposal, never merged; default socket_filter)")
    v.add_argument("--section", help="for .o files: the program's section (default: the only one)")
    v.add_argument("--unprivileged", action="store_true", help="verify as a loader without CAP_BPF/CAP_PERFMON")
    v.add_argument("--map", action="append", default=[], metavar="NAME_OR_FD:TYPE:KS:VS:N",
                   help="a map the program uses (repeatable)")
    v.add_argument("--lsm-restrict", action="store_true",
                   help="seccomp: the seccomp_extended LSM hook limits the filter to almost-cBPF (no helpers, maps)")
    v.add_argument("--yama", action="store_true",
                   help="seccomp: the Yama gate (reading user memory needs CAP_SYS_PTRACE too)")
    v.add_argument("--max-insns", type=int, default=1_000_000, help="processed-instruction budget (default 1000000)")
    v.add_argument("--json", action="store_true",
                   help='print {"accepted", "prog_type", "processed", "pc", "message", "log"}')
    v.set_defaults(func=_cmd_verify)

    c = sub.add_parser("cc", help="compile a restricted-C eBPF program with clang (-target bpf)",
                       description="Compile FILE.c to a BPF ELF object with clang (-O2 -g -target bpf), with lwnlab's "
                       "header lwnlab_bpf.h included (struct seccomp_data, SEC(), __uint/__type map macros, the "
                       "helpers of lwnlab's helper table, SECCOMP_RET_*). Load the object with 'lwnlab bpf verify' "
                       "or 'lwnlab seccomp run --ebpf'. --header prints the header instead.")
    c.add_argument("input", nargs="?", metavar="FILE.c")
    c.add_argument("-o", "--output", metavar="FILE.o", help="output object (default: FILE with suffix .o)")
    c.add_argument("--header", action="store_true", help="print lwnlab_bpf.h and exit")
    c.set_defaults(func=_cmd_cc)

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


def read_source(path: str) -> str:
    """An assembly source file as text; bytes that are not UTF-8 are an error naming the line and column
    (a binary file given where assembly is expected), never an internal error."""
    from lwnlab.errors import SourceError

    with open(path, "rb") as f:
        raw = f.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise SourceError(f"not UTF-8 text (byte {raw[e.start]:#04x}): expected assembly; a raw filter or "
                          "program belongs in a binary file (.bpf/.bin)", file=path, line=line,
                          column=col) from None


def looks_like_text(raw: bytes) -> bool:
    """Assembly text rather than raw instructions (which nearly always contain NUL bytes)?"""
    if not raw or b"\0" in raw:
        return False
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\t\r\n" for ch in text) and any(ch.isalpha() for ch in text)


def is_elf(path: str) -> bool:
    """Does the file start with the ELF magic? (decided by content, not by the file's suffix)"""
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def _with_file(e: FilterError, path: str) -> FilterError:
    """The same error, naming the file it came from (once)."""
    if e.location.file is not None:
        return e
    return FilterError(e.message, file=path, pc=e.pc, line=e.line, column=e.column, field=e.field)


def _load(path: str, *, limit: bool = True):
    """A program from text (.s/.asm, or any file that is text), a BPF ELF object (its only program)
    or raw bytes.  With ``limit`` a raw file longer than the kernel's BPF_COMPLEXITY_LIMIT_INSNS is
    refused before it is decoded (bpf_prog_load refuses it up front: E2BIG)."""
    from lwnlab.bpf import asm, isa, program

    if is_elf(path):  # an object file, whatever its name: never disassembled or run as raw slots
        from lwnlab.bpf.elf import load_object

        obj = load_object(path)
        if len(obj.programs) != 1:
            raise UsageError(f"{len(obj.programs)} programs ({', '.join(obj.programs) or 'none'}); "
                             "'lwnlab bpf verify --section NAME' picks one", file=path)
        return list(next(iter(obj.programs.values())))
    with open(path, "rb") as f:
        raw = f.read()
    if path.endswith((".s", ".asm", ".S")) or looks_like_text(raw):
        return asm.assemble(raw.decode("utf-8", errors="replace"), file=path)
    if limit and len(raw) // 8 > isa.BPF_COMPLEXITY_LIMIT_INSNS:
        raise FilterError(f"program of {len(raw) // 8} instructions exceeds the limit of "
                          f"{isa.BPF_COMPLEXITY_LIMIT_INSNS}", file=path)
    try:
        return program.decode(raw, what="the program")
    except FilterError as e:
        raise FilterError(e.message, file=path, pc=e.pc) from None


def _check(insns, path: str) -> None:
    """The loader's structural checks, with the file named in the error."""
    from lwnlab.bpf import program

    try:
        program.check_program(insns)
    except FilterError as e:
        raise _with_file(e, path) from None


def _cmd_asm(args) -> int:
    from lwnlab.bpf import asm, program

    insns = asm.assemble(read_source(args.input), file=args.input)
    if not args.no_check:
        _check(insns, args.input)
    out = args.output or (args.input.rsplit(".", 1)[0] + ".bin")
    with open(out, "wb") as f:
        f.write(program.encode(insns))
    print(f"{out}: {len(insns)} instructions ({len(insns) * 8} bytes)", file=sys.stderr)
    return EXIT_OK


def _cmd_disasm(args) -> int:
    from lwnlab.bpf import disasm

    insns = _load(args.input, limit=False)
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
    _check(insns, args.program)
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


def parse_map_arg(text: str, next_index: int):
    """``NAME_OR_FD:TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES`` -> (lddw imm, MapSpec); a name takes ``next_index``."""
    from lwnlab.bpf.helpers import MAP_TYPES_BY_NAME, MapSpec
    from lwnlab.errors import ConfigError

    parts = text.split(":")
    if len(parts) != 5:
        raise UsageError(f"--map {text!r}: expected NAME_OR_FD:TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES", field="map")
    name, typ, *nums = parts
    if not name:
        raise UsageError(f"--map {text!r}: empty name or fd", field="map")
    if typ in MAP_TYPES_BY_NAME:
        t = MAP_TYPES_BY_NAME[typ]
    elif typ.isdigit():
        t = int(typ)
    else:
        raise UsageError(f"--map {text!r}: unknown map type {typ!r} (known: {', '.join(MAP_TYPES_BY_NAME)})",
                         field="map")
    try:
        ks, vs, n = (int(x, 0) for x in nums)
    except ValueError:
        raise UsageError(f"--map {text!r}: key_size, value_size and max_entries must be integers",
                         field="map") from None
    key = int(name) if name.isdigit() else next_index
    spec = MapSpec(t, ks, vs, n, "" if name.isdigit() else name)
    try:
        spec.validate()
    except ConfigError as e:
        raise UsageError(f"--map {text!r}: {e.message}", field="map") from None
    return key, spec


def _cmd_cc(args) -> int:
    from lwnlab.bpf import elf

    if args.header:
        sys.stdout.write(elf.HEADER)
        return EXIT_OK
    if not args.input:
        raise UsageError("name the C file to compile (or use --header)", field="input")
    if not os.path.exists(args.input):
        raise UsageError("no such file", file=args.input)
    out = args.output or (args.input.rsplit(".", 1)[0] + ".o")
    elf.compile_c(os.fspath(args.input), output=out)
    obj = elf.load_object(out)
    progs = ", ".join(f"{name} ({len(code)} insns)" for name, code in obj.programs.items())
    print(f"{out}: programs {progs}; maps {', '.join(obj.map_names) or 'none'}", file=sys.stderr)
    return EXIT_OK


def _load_for_verify(path: str, section: str | None):
    """(insns, maps from the object file or {}); a .c file is compiled with clang first."""
    if path.endswith((".o", ".c")) or is_elf(path):
        from lwnlab.bpf.elf import load_c, load_object

        obj = load_c(path) if path.endswith(".c") and not is_elf(path) else load_object(path)
        progs = obj.programs
        if section is None:
            if len(progs) != 1:
                raise UsageError(f"{path}: {len(progs)} programs ({', '.join(progs)}): pick one with --section",
                                 file=path)
            section = next(iter(progs))
        if section not in progs:
            raise UsageError(f"{path}: no program in section {section!r} (have: {', '.join(progs)})", file=path)
        return list(progs[section]), dict(obj.maps)
    if section is not None:
        raise UsageError("--section applies to .o files only", field="section")
    with open(path, "rb") as f:
        raw = f.read()
    if path.endswith((".s", ".asm", ".S")) or looks_like_text(raw):
        from lwnlab.bpf import asm
        from lwnlab.bpf.maps import parse_map_directives

        # '.map N NAME TYPE key_size=K value_size=V max_entries=M' lines declare maps, as for seccomp run --ebpf
        body, specs, _ = parse_map_directives(raw.decode("utf-8", errors="replace"), file=path)
        return asm.assemble(body, file=path), specs
    return _load(path, limit=False), {}


def _cmd_verify(args) -> int:
    from lwnlab.bpf import verifier
    from lwnlab.bpf.helpers import Gates, Privileges

    if args.max_insns <= 0:
        raise UsageError("--max-insns must be positive", field="max_insns")
    from lwnlab.bpf import isa

    size = os.path.getsize(args.program) if os.path.isfile(args.program) else 0
    if size // 8 > isa.BPF_COMPLEXITY_LIMIT_INSNS and not is_elf(args.program) and size % 8 == 0:
        # bpf_prog_load() refuses insn_cnt > 1M (E2BIG) before the verifier runs: no need to decode it
        msg = f"program of {size // 8} instructions exceeds the limit of {isa.BPF_COMPLEXITY_LIMIT_INSNS}"
        if args.json:
            print_json(verifier.Verdict(False, msg + "\n", 0, 0, msg, prog_type=args.prog_type).to_json())
        else:
            print(f"rejected ({args.prog_type}) at pc 0: {msg}")
        return EXIT_NEGATIVE
    insns, maps = _load_for_verify(args.program, args.section)
    next_index = 0
    for text in args.map:
        key, spec = parse_map_arg(text, next_index)
        if not text.split(":", 1)[0].isdigit():
            next_index += 1
        maps[key] = spec
    privs = Privileges.unprivileged() if args.unprivileged else Privileges.root()
    v = verifier.check(insns, args.prog_type, privileged=not args.unprivileged, maps=maps, privileges=privs,
                       gates=Gates(lsm_restrict=args.lsm_restrict, yama=args.yama), max_insns=args.max_insns)
    if args.json:
        print_json(v.to_json())
    else:
        sys.stdout.write(v.log)
        if v.accepted:
            print(f"accepted ({args.prog_type}): {v.processed} instructions processed")
        else:
            print(f"rejected ({args.prog_type}) at pc {v.pc}: {v.message}")
    return EXIT_OK if v.accepted else EXIT_NEGATIVE
