"""``lwnlab seccomp``: assemble, disassemble, check and run classic seccomp filters."""

from __future__ import annotations

import sys

from lwnlab.cli import EXIT_NEGATIVE, EXIT_OK, group, print_json
from lwnlab.errors import UsageError


def register(subparsers) -> None:
    p, sub = group(subparsers, "seccomp", "seccomp filters: assemble, disassemble, check with the kernel's rules, run",
                   "Classic BPF seccomp filters as the kernel prepares (bpf_check_classic, seccomp_check_filter), "
                   "attaches (length limit, action cache) and runs them (precedence across stacked filters).")

    a = sub.add_parser("asm", help="assemble bpf_asm-style text to a raw filter",
                       description="Assemble FILE.s (ld [0] / ld nr / jeq #59, 0, 3 / jeq #execve, kill / "
                       "ret #0x7fff0000 / ret ERRNO(1), labels; or seccomp-tools' A = arch / if (A != ARCH_X86_64) goto dead / "
                       "return KILL, and the listing of 'disasm --c') to raw struct sock_filter bytes. A filter the "
                       "kernel would refuse is still written, with a warning naming the pc and the reason.")
    a.add_argument("input", metavar="FILE.s")
    a.add_argument("-o", "--output", metavar="FILTER.bpf", help="output file (default: FILE with suffix .bpf)")
    a.add_argument("--arch", default="x86_64", help="architecture for syscall names and byte order (default x86_64)")
    a.set_defaults(func=_cmd_asm)

    d = sub.add_parser("disasm", help="disassemble a raw filter",
                       description="Disassemble FILTER.bpf (raw struct sock_filter, e.g. from libseccomp's "
                       "export_bpf; big-endian filters are detected) in the assembler's syntax with notes, or in "
                       "seccomp-tools' C-like form with --c.")
    d.add_argument("input", metavar="FILTER.bpf")
    d.add_argument("--arch", default=None, help="architecture for syscall names and field offsets (default "
                   "x86_64; for a big-endian filter, the architecture it checks for)")
    d.add_argument("--c", action="store_true", help="seccomp-tools' C-like view")
    d.add_argument("--ebpf", action="store_true", help="show the eBPF program the kernel converts it to")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.set_defaults(func=_cmd_disasm)

    c = sub.add_parser("check", help="would seccomp(SET_MODE_FILTER) accept this filter?",
                       description="Apply the kernel's checks (length, bpf_check_classic, check_load_and_stores, "
                       "seccomp_check_filter). Exit 0 when the kernel's rules accept the filter, 1 with the pc and "
                       "the reason when they do not. --kernel also asks the live kernel, where it can.")
    c.add_argument("input", metavar="FILTER.bpf")
    c.add_argument("--kernel", action="store_true", help="also install it in a child process and report the kernel's answer")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.set_defaults(func=_cmd_check)

    dm = sub.add_parser("dump", help="read the filters installed in a running process (ptrace, root)",
                        description="Read the classic filters installed in process PID with "
                        "PTRACE_SECCOMP_GET_FILTER (needs CAP_SYS_ADMIN; the process is stopped briefly), oldest "
                        "first. Prints their disassembly, or writes PID-N.bpf files with -o DIR.")
    dm.add_argument("pid", type=int, metavar="PID")
    dm.add_argument("-o", "--output", metavar="DIR", help="write each filter to DIR/PID-N.bpf")
    dm.add_argument("--json", action="store_true", help="machine-readable output")
    dm.set_defaults(func=_cmd_dump)

    pr = sub.add_parser("profile", help="compile a container seccomp profile (Docker, containers-common, OCI) "
                        "to a raw filter with libseccomp",
                        description="Compile PROFILE.json -- a Docker/moby or containers-common profile "
                        "(defaultAction, archMap, syscalls[] with includes/excludes), an OCI linux.seccomp object "
                        "or a whole OCI config.json -- to the raw BPF filter the container would get: the engine's "
                        "include/exclude step (moby setupSeccomp: native arch, capabilities, minKernel), then "
                        "runc 1.1.5's rules through libseccomp (pyseccomp). Names libseccomp does not know are "
                        "skipped, as runc does, and listed. Not modelled: runc's patchbpf ENOSYS stub.")
    pr.add_argument("input", metavar="PROFILE.json")
    pr.add_argument("-o", "--output", metavar="FILTER.bpf", help="output file (default: PROFILE with suffix .bpf)")
    pr.add_argument("--arch", default="x86_64", help="the container's native architecture (default x86_64)")
    pr.add_argument("--cap", action="extend", nargs="+", default=None, metavar="CAP",
                    help="the container's capability (bounding) set, replacing Docker's default set; names with "
                    "or without CAP_; ALL for every capability (like --cap-add ALL), NONE for none")
    pr.add_argument("--kernel-version", metavar="X.Y",
                    help="kernel version for minKernel (default: the running kernel)")
    pr.add_argument("--format", choices=("auto", "moby", "oci"), default="auto",
                    help="profile format (default: detected; an OCI object ignores includes/excludes, as runc does)")
    pr.add_argument("--json", action="store_true", help="machine-readable summary")
    pr.set_defaults(func=_cmd_profile)

    r = sub.add_parser("run", help="the decision of stacked filters for a syscall or a trace",
                       description="Run one syscall (or a trace) through the stacked filters (later files are "
                       "newer): the lowest action wins, ties go to the newest filter. JSON fields: action, data, "
                       "ret (hex), filter (index of the deciding filter, null when none beat ALLOW). "
                       "--ebpf adds eBPF seccomp filters (BPF_PROG_TYPE_SECCOMP as proposed by YiFei Zhu in "
                       "2021 -- proposed, never merged: a what-if model), attached after the classic ones.",
                       epilog="Trace files: JSON lines with nr (may be negative) or syscall (name), optional arch, "
                       "args (up to six 64-bit integers) and ip -- and, for eBPF filters' helpers, pid, tid, uid, "
                       "gid, dumpable, ts_ns and mem ({\"0x7ffd1000\": \"/etc/shadow\\u0000\"}); or CSV with "
                       "the header nr,arch,arg0,arg1,arg2,arg3,arg4,arg5,ip. eBPF programs: uBPF-style assembly "
                       "with '.map N NAME TYPE key_size=K value_size=V max_entries=M' lines, or a clang-compiled "
                       "ELF object (.o).")
    r.add_argument("filters", nargs="*", metavar="FILTER.bpf")
    r.add_argument("--ebpf", action="append", default=[], metavar="PROG.s|PROG.o|PROG.c",
                   help="an eBPF seccomp filter (proposed 2021, never merged); may be repeated")
    r.add_argument("--section", metavar="NAME", help="program section of an ELF object (default: the only one, "
                   "or 'seccomp')")
    r.add_argument("--unprivileged", action="store_true",
                   help="load eBPF filters without capabilities (default: as root: CAP_BPF, CAP_PERFMON, "
                   "CAP_SYS_PTRACE, CAP_SYS_ADMIN)")
    r.add_argument("--lsm-restrict", action="store_true",
                   help="the proposal's seccomp_extended LSM hook: eBPF filters limited to almost-cBPF (no helpers, "
                   "no maps)")
    r.add_argument("--yama", action="store_true",
                   help="the proposal's Yama gate: reading user memory also needs CAP_SYS_PTRACE")
    r.add_argument("--map", action="append", default=[], metavar="NAME:KEY=VALUE",
                   help="set a map entry of an eBPF filter before running (numbers; 0x for hex)")
    r.add_argument("--show-maps", action="store_true", help="print the eBPF filters' map contents after the run")
    r.add_argument("--no-verify", action="store_true", help="run eBPF filters without the verifier")
    r.add_argument("--budget", type=int, default=1_000_000, metavar="N",
                   help="instructions one eBPF filter run may execute (default 1000000)")
    r.add_argument("--arch", default="x86_64", help="architecture of the syscall (default x86_64)")
    r.add_argument("--syscall", metavar="NAME|NR", help="the syscall, by name or number")
    r.add_argument("--args", nargs="+", default=[], metavar="A", help="up to six arguments (numbers; 0x for hex)")
    r.add_argument("--ip", default="0", metavar="ADDR", help="instruction pointer (default 0)")
    r.add_argument("--trace", metavar="FILE", help="run every syscall of FILE (JSON lines or CSV)")
    r.add_argument("--no-cache", action="store_true", help="do not model the kernel's action cache")
    r.add_argument("--path", action="store_true",
                   help="also show the instructions each filter executed (like seccomp-tools emu)")
    r.add_argument("--json", action="store_true", help="machine-readable output (one object per line with --trace)")
    r.set_defaults(func=_cmd_run)


def _is_text(path: str) -> bool:
    from lwnlab.bpf.cli import looks_like_text

    if path.endswith((".s", ".asm")):
        return True
    with open(path, "rb") as f:
        return looks_like_text(f.read())


def _load_filter(path: str, arch: str | None = None):
    from lwnlab.seccomp.filter import Filter

    if _is_text(path):
        from lwnlab.bpf.cli import read_source

        return Filter.from_asm(read_source(path), arch=arch or "x86_64", file=path)
    return Filter.from_file(path)


def _read_insns(path: str, arch: str, max_insns: int | None = None):
    from lwnlab.bpf import classic
    from lwnlab.bpf.classic_asm import assemble

    if _is_text(path):
        from lwnlab.bpf.cli import read_source
        from lwnlab.seccomp.syscalls import get_arch

        return assemble(read_source(path), arch=arch, file=path), get_arch(arch).big_endian
    with open(path, "rb") as f:
        raw = f.read()
    if not raw:
        raise classic.ClassicRejected(classic.R_LENGTH, "filter is empty (0 instructions)",
                                      stage="seccomp_prepare_filter", file=path)
    if len(raw) % 8:
        from lwnlab.errors import FilterError

        raise FilterError(f"{len(raw)} bytes is not a multiple of 8: truncated struct sock_filter at pc {len(raw) // 8}",
                          file=path, pc=len(raw) // 8)
    if max_insns is not None and len(raw) // 8 > max_insns:  # refused by its length before any decoding
        try:
            classic.decode(raw, max_insns=max_insns)
        except classic.ClassicRejected as e:
            raise e.with_file(path) from None
    be = classic.detect_big_endian(raw)
    return classic.decode(raw, big_endian=be), be


def _cmd_asm(args) -> int:
    from lwnlab.bpf import classic
    from lwnlab.bpf.classic_asm import assemble
    from lwnlab.seccomp.syscalls import get_arch

    from lwnlab.bpf.cli import read_source

    arch = get_arch(args.arch)
    insns = assemble(read_source(args.input), arch=arch.name, file=args.input)
    out = args.output or (args.input.rsplit(".", 1)[0] + ".bpf")
    with open(out, "wb") as f:
        f.write(classic.encode(insns, arch.big_endian))
    try:
        classic.validate_seccomp(insns)
        note = ""
    except classic.ClassicRejected as e:
        note = f"; warning: the kernel would refuse it: {e.describe()}"
    print(f"{out}: {len(insns)} instructions ({len(insns) * 8} bytes){note}", file=sys.stderr)
    return EXIT_OK


def _cmd_disasm(args) -> int:
    from lwnlab.bpf import classic, disasm
    from lwnlab.bpf.classic_asm import c_like, disasm_one, disassemble
    from lwnlab.seccomp.syscalls import get_arch

    arch = get_arch(args.arch or "x86_64")
    insns, be = _read_insns(args.input, arch.name)
    if args.arch is None and be != arch.big_endian:
        # a big-endian target's filter (libseccomp's s390x/ppc64/mips export): name its fields with the
        # arch the filter checks for, else the notes would call the low half of an argument ".hi"
        arch = _checked_arch(insns, be) or arch
        if arch.big_endian != be:
            print(f"lwnlab: warning: {args.input} is a big-endian filter; give --arch for the right field names",
                  file=sys.stderr)
    if args.ebpf:
        prog, _ = classic.convert(classic.validate_seccomp(insns))
        text = disasm.pseudo_c(prog)
    else:
        text = c_like(insns, arch=arch.name) if args.c else disassemble(insns, arch=arch.name)
    if args.json:
        print_json({"big_endian": be, "instructions": [
            {"pc": i, "code": x.code, "jt": x.jt, "jf": x.jf, "k": x.k, "text": disasm_one(x)}
            for i, x in enumerate(insns)]})
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _checked_arch(insns, big_endian: bool):
    """The architecture a filter tests for (``ld [4]`` then ``jeq #AUDIT_ARCH_...``) with that byte order."""
    from lwnlab.seccomp.syscalls import arch_by_audit

    for x, y in zip(insns, insns[1:]):
        if x.code == 0x20 and x.k == 4 and y.code == 0x15:
            for a in arch_by_audit(y.k):
                if a.big_endian == big_endian and a.table is not None:
                    return a
    return None


def _cmd_check(args) -> int:
    from lwnlab.bpf import classic

    insns, be, refused = [], False, None
    try:
        insns, be = _read_insns(args.input, "x86_64", max_insns=classic.isa.BPF_MAXINSNS)
    except classic.ClassicRejected as e:  # empty, or longer than BPF_MAXINSNS: refused by length up front
        refused = e
    n = len(insns) if refused is None else _file_insns(args.input)
    verdict = {"accepted": True, "instructions": n, "big_endian": be}
    try:
        if refused is not None:
            raise refused
        checked = classic.validate_seccomp(insns)
        verdict["converted_length"] = classic.converted_length(checked)
    except classic.ClassicRejected as e:
        verdict.update(accepted=False, pc=e.pc, reason=e.reason, stage=e.stage, message=e.detail)
    if args.kernel:
        from lwnlab.seccomp import kernel

        ok, why = kernel.available()
        if ok:
            # the live kernel reads struct sock_filter in its own byte order; a big-endian target's filter
            # (libseccomp's s390x/ppc64/mips export) is the same program, so it is handed over in host order
            acc, err = kernel.seccomp_accepts(classic.encode(insns, sys.byteorder == "big"))
            verdict["kernel"] = {"accepted": acc, "errno": err}
        else:
            verdict["kernel"] = {"unavailable": why}
    if args.json:
        print_json(verdict)
    elif verdict["accepted"]:
        print(f"{args.input}: accepted ({len(insns)} instructions, {verdict['converted_length']} after conversion)")
    else:
        where = f"pc {verdict['pc']}: " if verdict.get("pc") is not None else ""
        print(f"{args.input}: rejected: {where}{verdict['message']} [{verdict['stage']}: {verdict['reason']}]")
    if "kernel" in verdict and not args.json:
        k = verdict["kernel"]
        print("kernel: " + (k.get("unavailable") and f"unavailable ({k['unavailable']})" or
                            ("accepted" if k["accepted"] else f"refused (errno {k['errno']})")))
    return EXIT_OK if verdict["accepted"] else EXIT_NEGATIVE


def _cmd_profile(args) -> int:
    from lwnlab.seccomp.profile import compile_profile

    c = compile_profile(args.input, arch=args.arch, caps=args.cap, kernel=args.kernel_version, fmt=args.format,
                        file=args.input)
    out = args.output or (args.input[:-5] if args.input.endswith(".json") else args.input) + ".bpf"
    with open(out, "wb") as f:
        f.write(c.raw)
    if args.json:
        print_json({"output": out, **c.to_json()})
        return EXIT_OK
    from lwnlab.seccomp.actions import format_action

    print(f"{out}: {c.instructions} instructions ({len(c.raw)} bytes), {c.format} profile for {c.arch}")
    print(f"  architectures: {', '.join(a.replace('SCMP_ARCH_', '').lower() for a in c.architectures)}; "
          f"default {format_action(c.default_action)}; {c.rules} rules for {len(c.syscalls)} syscall names")
    if c.excluded:
        print(f"  {len(c.excluded)} groups left out by includes/excludes (caps: {len(c.caps)}, "
              f"kernel {c.kernel[0]}.{c.kernel[1]})")
    if c.skipped_default:
        print(f"  {len(c.skipped_default)} names skipped: same action as the default")
    if c.skipped_unknown:
        print(f"  {len(c.skipped_unknown)} names skipped: unknown to libseccomp (runc skips them too): "
              + ", ".join(n for n, _ in c.skipped_unknown))
    for n in c.notes:
        print(f"  note: {n}")
    return EXIT_OK


def _file_insns(path: str) -> int:
    import os

    return 0 if _is_text(path) else os.path.getsize(path) // 8


def _cmd_dump(args) -> int:
    import os

    from lwnlab.bpf import classic
    from lwnlab.bpf.classic_asm import disassemble
    from lwnlab.seccomp import kernel

    raws = kernel.dump_filters(args.pid)
    paths = []
    if args.output:
        os.makedirs(args.output, exist_ok=True)
        for i, raw in enumerate(raws):
            p = os.path.join(args.output, f"{args.pid}-{i}.bpf")
            with open(p, "wb") as f:
                f.write(raw)
            paths.append(p)
    if args.json:
        print_json({"pid": args.pid, "filters": [{"index": i, "instructions": len(r) // 8, "hex": r.hex(),
                                                   **({"file": paths[i]} if paths else {})}
                                                  for i, r in enumerate(raws)]})
    elif not args.output:
        for i, raw in enumerate(raws):
            print(f"; filter {i} of {len(raws)} ({len(raw) // 8} instructions, oldest first)")
            sys.stdout.write(disassemble(classic.decode(raw, big_endian=False)))
    else:
        for p in paths:
            print(p)
    if not raws:
        print(f"pid {args.pid} has no seccomp filter", file=sys.stderr)
    return EXIT_OK


def _int(text: str, what: str) -> int:
    try:
        return int(str(text), 0)
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not a number", field=what) from None


def _cmd_run(args) -> int:
    from lwnlab.seccomp.data import SeccompData
    from lwnlab.seccomp.filter import Stack
    from lwnlab.seccomp.syscalls import get_arch

    arch = get_arch(args.arch)
    if (args.syscall is None) == (args.trace is None):
        raise UsageError("give exactly one of --syscall NAME|NR and --trace FILE", field="syscall")
    if not args.filters and not args.ebpf:
        raise UsageError("give at least one filter (FILTER.bpf or --ebpf PROG)", field="filters")
    if not args.ebpf and (args.map or args.show_maps or args.unprivileged or args.lsm_restrict or args.yama):
        raise UsageError("--map, --show-maps, --unprivileged, --lsm-restrict and --yama apply to --ebpf filters",
                         field="ebpf")
    filters = [_load_filter(f, arch.name) for f in args.filters]
    if args.ebpf:
        from lwnlab.seccomp.ebpf import LABEL

        print(f"lwnlab: note: {LABEL} -- a what-if model", file=sys.stderr)
    ebpf = [_load_ebpf(p, args) for p in args.ebpf]
    if ebpf:
        _set_maps(ebpf, args.map)
    for path, f in zip(args.filters, filters):
        if f.big_endian != arch.big_endian and not _is_text(path):
            print(f"lwnlab: warning: {path} is a {'big' if f.big_endian else 'little'}-endian filter but {arch.name} "
                  f"is {'big' if arch.big_endian else 'little'}-endian: its argument offsets will not match",
                  file=sys.stderr)
    stack = Stack(filters + ebpf, cache=not args.no_cache)
    names = list(args.filters) + list(args.ebpf)
    if args.trace:
        from lwnlab.seccomp.trace import read_events, read_trace

        items = (read_events if ebpf else read_trace)(args.trace, default_arch=arch.name)
        decisions = stack.trace(items) if items else []
        for dec in decisions:
            if args.json:
                import json

                obj = dec.to_json()
                obj["nr"] = dec.data_in.nr_signed
                print(json.dumps(obj))
            else:
                print(_line(dec))
        _print_maps(stack, names, args)
        return EXIT_OK
    if len(args.args) > 6:
        raise UsageError(f"{len(args.args)} arguments given; a syscall has at most 6", field="args")
    a = [_int(x, f"args[{i}]") for i, x in enumerate(args.args)]
    d = SeccompData.make(arch, args.syscall, a, _int(args.ip, "ip"))
    dec = stack.decide(d)
    paths = [f.run_with_path(d) for f in filters] if args.path else []
    if args.json:
        out = dec.to_json()
        if args.path:
            out["paths"] = [{"filter": i, "pcs": p, "ret": f"{r:#010x}"} for i, (r, p) in enumerate(paths)]
        if args.show_maps:
            out["maps"] = _maps_json(stack, names)
        print_json(out)
    else:
        if args.path:
            from lwnlab.bpf.classic_asm import disasm_one
            from lwnlab.seccomp.actions import format_action

            for i in range(len(filters) - 1, -1, -1):  # the kernel's order: newest first
                r, p = paths[i]
                print(f"; filter {i} ({args.filters[i]})")
                for pc in p:
                    print(f"  {pc:04d}: {disasm_one(filters[i].insns[pc])}")
                print(f"  return {format_action(r)} at line {p[-1]:04d}")
        print(_line(dec))
        _print_maps(stack, names, args)
    return EXIT_OK


def _load_ebpf(path: str, args):
    from lwnlab.bpf.helpers import Gates, Privileges
    from lwnlab.seccomp.ebpf import EbpfFilter

    privs = Privileges() if args.unprivileged else Privileges.root()
    gates = Gates(lsm_restrict=args.lsm_restrict, yama=args.yama)
    kw = {"section": args.section} if args.section else {}
    if args.budget <= 0:
        raise UsageError("--budget must be > 0", field="budget")
    with open(path, "rb") as f:
        is_elf = f.read(4) == b"\x7fELF"
    if args.section and not is_elf:
        raise UsageError("--section applies to ELF objects", field="section")
    return EbpfFilter.from_file(path, privileges=privs, gates=gates, verify=not args.no_verify,
                                budget=args.budget, **kw)


def _set_maps(ebpf: list, items: list[str]) -> None:
    """--map NAME:KEY=VALUE: set entries (the first eBPF filter with a map of that name)."""
    import re

    from lwnlab.bpf.maps import errno_name

    for item in items:
        m = re.fullmatch(r"([\w.]+):([^=]+)=(.+)", item.strip())
        if not m:
            raise UsageError(f"--map {item!r}: expected NAME:KEY=VALUE", field="map")
        name, key, value = m.group(1), _int(m.group(2), "map key"), _int(m.group(3), "map value")
        target = next((f.maps[name] for f in ebpf if name in f.maps), None)
        if target is None:
            have = sorted({n for f in ebpf for n in f.maps})
            raise UsageError(f"--map {item!r}: no map named {name!r} (maps: {', '.join(have) or 'none'})", field="map")
        rc = target.update(key, value)
        if rc:
            raise UsageError(f"--map {item!r}: the update failed with {errno_name(rc)}", field="map")


def _jsonable(v):
    if isinstance(v, bytes):
        return "0x" + v.hex()
    if isinstance(v, dict):
        return {(str(k) if not isinstance(k, bytes) else "0x" + k.hex()): _jsonable(x) for k, x in v.items()}
    return v


def _maps_json(stack, names) -> dict:
    """Map contents by program then map name; keys and values wider than 8 bytes as 0x-hex bytes."""
    return {names[i]: _jsonable(snap) for i, snap in stack.snapshot().items()}


def _print_maps(stack, names, args) -> None:
    if not args.show_maps:
        return
    if args.json and args.trace:
        import json

        print(json.dumps({"maps": _maps_json(stack, names)}))
        return
    if args.json:
        return
    from lwnlab.bpf.helpers import BPF_MAP_TYPE_ARRAY

    for i, snap in stack.snapshot().items():
        for mname, content in _jsonable(snap).items():
            m = stack.filters[i].maps[mname]
            # array slots always exist (preallocated, zeroed): the snapshot lists the non-zero ones
            none = "(all zero)" if m.spec.type == BPF_MAP_TYPE_ARRAY else "(empty)"
            items = ", ".join(f"{k}: {v}" for k, v in content.items()) or none
            print(f"map {mname} ({names[i]}): {items}")


def _line(dec) -> str:
    from lwnlab.seccomp.actions import format_action
    from lwnlab.seccomp.syscalls import arch_by_audit, syscall_name

    d = dec.data_in
    name = None
    for a in arch_by_audit(d.arch):
        name = syscall_name(a, d.nr_signed)
        if name:
            break
    who = "cache" if dec.cached else (f"filter {dec.filter}" if dec.filter >= 0 else "no filter objected")
    args = ", ".join(f"{x:#x}" for x in d.args)
    return f"{name or d.nr_signed}({args}) -> {format_action(dec.ret)}  [{who}; {dec.effect.note or 'allowed'}]"
