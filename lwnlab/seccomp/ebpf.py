"""eBPF seccomp filters — a **what-if model of a proposal that was never merged**.

YiFei Zhu's "[RFC PATCH bpf-next seccomp 00/12] eBPF seccomp filters" (May 2021) proposed
``BPF_PROG_TYPE_SECCOMP``: an eBPF program, loaded with ``bpf()`` and attached with
``seccomp(SET_MODE_FILTER, SECCOMP_FILTER_FLAG_EXTENDED, &prog_fd)``, that reads the same 64-byte
``struct seccomp_data`` (read-only) and returns the same ``SECCOMP_RET_*`` value as a classic
filter, but may keep state in maps and call helpers.  **Proposed, never merged**: no released
kernel has it, and everything here models the patch set as posted.

:class:`EbpfFilter` loads such a program (uBPF-style assembly, a list of :class:`Insn`, or a
clang-compiled ELF object through :func:`lwnlab.bpf.elf.load_object`), applies the proposal's
gates (the helper table's privilege gates, the ``seccomp_extended`` LSM hook, the Yama gate),
verifies it as prog type ``"seccomp"`` and runs it on :class:`SeccompData` rows with its maps.
It stacks with classic filters in :class:`lwnlab.seccomp.filter.Stack` under the kernel's
precedence; an extended filter disables the action cache for the whole stack (the proposal: its
bitmap is cleared, and each filter's bitmap is ANDed with the previous one's).

Assembly text may declare its maps with a directive that the loader removes before assembling::

    .map 1 seen hash key_size=4 value_size=8 max_entries=64
    .map 2 limit array key_size=4 value_size=8 max_entries=1
        lddw %r1, map_fd(1)        ; the number after .map is what map_fd(N) refers to

Every run's map contents persist (a filter that counts syscalls keeps counting); :meth:`EbpfFilter.trace`
runs a trace and can call back after each syscall with the maps' contents.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from lwnlab.bpf import isa
from lwnlab.bpf.helpers import Gates, Privileges, check_helper_allowed
from lwnlab.bpf.maps import Map, parse_map_directives, spec_from  # noqa: F401 (re-exported)
from lwnlab.bpf.program import Insn, check_program
from lwnlab.bpf.runtime import Env, Program, Runtime, SimTask
from lwnlab.errors import ConfigError, FilterError, LwnlabError, UsageError, VerifierError
from lwnlab.seccomp.data import SeccompData, batch_words

LABEL = "eBPF seccomp filter (BPF_PROG_TYPE_SECCOMP: proposed in 2021, never merged)"
PROPOSAL = "YiFei Zhu et al., [RFC PATCH bpf-next seccomp 00/12] eBPF seccomp filters, 2021 (never merged)"
SECCOMP_FILTER_FLAG_EXTENDED = 1 << 5  # as proposed; bit 5 later became WAIT_KILLABLE_RECV

def _make_maps(maps, extra: dict | None = None) -> dict[int, Map]:
    out = {}
    for k, m in (maps or {}).items():
        try:
            k = int(k)
        except (TypeError, ValueError):
            raise ConfigError(f"maps are keyed by the number map_fd(N) uses, not {k!r}", field="maps") from None
        out[k] = m if isinstance(m, Map) else Map(spec_from(m), **(extra or {}).get(k, {}))
    return out


def check_gates(insns: list[Insn], maps: dict, privileges: Privileges, gates: Gates) -> None:
    """The proposal's load-time gates, before the verifier proper: every helper call must pass
    ``check_helper_allowed`` for a seccomp program, and under the ``seccomp_extended`` LSM hook
    ("almost cBPF") no map may be used either.  Raises VerifierError naming the pc."""
    for pc, x in enumerate(insns):
        if x.code == isa.BPF_JMP | isa.BPF_CALL and x.src == 0:
            try:
                check_helper_allowed(x.imm, "seccomp", privileges, gates)
            except VerifierError as e:
                raise VerifierError(e.message, pc=pc, log=f"{pc}: {e.message}") from None
        if gates.lsm_restrict and x.code == isa.LDDW and x.src != 0:
            msg = ("the seccomp_extended LSM hook restricts this filter to almost-cBPF: no maps "
                   f"(lddw {isa.LDDW_SRC_NAMES.get(x.src, x.src)})")
            raise VerifierError(msg, pc=pc, log=f"{pc}: {msg}")
    if gates.lsm_restrict and maps:
        raise VerifierError("the seccomp_extended LSM hook restricts this filter to almost-cBPF: no maps", pc=0)


def run_verifier(insns: list[Insn], maps: dict[int, Map], privileges: Privileges, gates: Gates):
    """``lwnlab.bpf.verifier.verify(insns, "seccomp", maps=, privileges=, gates=)``; a rejection raises
    VerifierError (with .log and .pc)."""
    from lwnlab.bpf import verifier

    specs = {k: m.spec for k, m in maps.items()}
    v = verifier.verify(insns, "seccomp", maps=specs, privileges=privileges, gates=gates)
    if getattr(v, "accepted", True) is False:
        raise VerifierError(v.message, pc=v.pc, log=v.log)
    return v


class EbpfFilter:
    """An extended (eBPF) seccomp filter with its maps, loader privileges and gates.

    **A model of a proposal that was never merged** (see the module docstring).
    """

    kind = "ebpf"
    label = LABEL

    def __init__(self, insns: list[Insn], *, maps: dict | None = None, privileges: Privileges | None = None,
                 gates: Gates | None = None, name: str = "", verify: bool = True, env: Env | None = None,
                 budget: int = 1_000_000, map_init: dict | None = None, _map_extra: dict | None = None,
                 _converted: bool = False):
        self.name = name
        self.privileges = privileges if privileges is not None else Privileges()
        self.gates = gates if gates is not None else Gates()
        self.verified = bool(verify)
        insns = list(insns)
        limit = isa.BPF_COMPLEXITY_LIMIT_INSNS if self.privileges.bpf_capable else isa.BPF_MAXINSNS
        if not _converted:  # bpf_convert_filter's output is trusted: it sets src_reg = X even on K ops
            check_program(insns, max_insns=limit, allow_pseudo=True)
        self._maps = _make_maps(maps, _map_extra)
        check_gates(insns, self._maps, self.privileges, self.gates)
        self.verdict = run_verifier(insns, self._maps, self.privileges, self.gates) if verify else None
        self.runtime = Runtime(self._maps, privileges=self.privileges, env=env, budget=budget)
        for k, data in (map_init or {}).items():  # initial bytes of .data/.rodata maps (key 0)
            if int(k) in self._maps:
                self._maps[int(k)].update(0, bytes(data))
        self.program = self.runtime.resolve(insns, name or "main")
        self.insns = tuple(insns)

    # ---------------------------------------------------------------- loading
    @classmethod
    def from_asm(cls, text: str, *, maps: dict | None = None, file: str | None = None, **kw) -> "EbpfFilter":
        """From uBPF-style assembly; ``.map`` directives in the text declare maps (``maps=`` adds or overrides)."""
        from lwnlab.bpf.asm import assemble

        body, specs, extra = parse_map_directives(text, file=file)
        insns = assemble(body, file=file)
        allmaps: dict = dict(specs)
        allmaps.update({int(k): v for k, v in (maps or {}).items()})
        kw.setdefault("name", os.path.basename(file) if file else "")
        return cls(insns, maps=allmaps, _map_extra=extra, **kw)

    @classmethod
    def from_object(cls, path, *, section: str | None = None, maps: dict | None = None, **kw) -> "EbpfFilter":
        """From a clang-compiled ELF object (a path, its bytes, or a loaded :class:`~lwnlab.bpf.elf.ObjectFile`);
        libbpf's section "seccomp" by default when there are several programs."""
        from lwnlab.bpf.elf import ObjectFile, load_object

        obj = path if isinstance(path, ObjectFile) else load_object(path)
        if section is None and len(obj.programs) > 1 and "seccomp" in obj.programs:
            section = "seccomp"
        insns = obj.program(section)
        allmaps: dict = dict(obj.maps)
        allmaps.update({int(k): v for k, v in (maps or {}).items()})
        kw.setdefault("name", os.path.basename(str(obj.path)))
        return cls(insns, maps=allmaps, map_init=obj.map_init, **kw)

    @classmethod
    def from_file(cls, path: str, **kw) -> "EbpfFilter":
        """``.o`` (ELF), ``.c`` (compiled with clang first) or assembly text (anything else).

        Every refusal (loader, gates, verifier) names the file as well as the pc."""
        try:
            return cls._from_file(path, **kw)
        except LwnlabError as e:
            if e.location.file is None:
                import dataclasses

                e.location = dataclasses.replace(e.location, file=os.fspath(path))
                e.args = (e.describe(),)
            raise

    @classmethod
    def _from_file(cls, path: str, **kw) -> "EbpfFilter":
        if str(path).endswith(".c"):
            from lwnlab.bpf.elf import load_c

            kw.setdefault("name", os.path.basename(str(path)))
            return cls.from_object(load_c(os.fspath(path)), **kw)
        with open(path, "rb") as f:
            head = f.read(4)
        if head == b"\x7fELF":
            return cls.from_object(path, **kw)
        with open(path, encoding="utf-8", errors="replace") as f:
            return cls.from_asm(f.read(), file=path, **kw)

    @classmethod
    def from_classic(cls, f, **kw) -> "EbpfFilter":
        """A classic filter as the kernel runs it: ``bpf_convert_filter``'s program, on this engine.

        Not verified: the kernel never runs the eBPF verifier on converted classic filters (their
        u32 loads of argument halves would not pass the proposal's context rules either)."""
        prog, _ = f.ebpf()
        kw.setdefault("name", (f.name or "classic") + " (converted)")
        kw["verify"] = False
        return cls(prog, _converted=True, **kw)

    def load_program(self, src, *, name: str = "", verify: bool | None = None) -> Program:
        """Another program sharing this filter's maps, e.g. for a prog_array slot (tail calls)."""
        if isinstance(src, str):
            from lwnlab.bpf.asm import assemble

            body, specs, _ = parse_map_directives(src)
            if specs:
                raise UsageError("a program loaded for a tail call uses its filter's maps; declare maps there",
                                 field="maps")
            insns = assemble(body)
        else:
            insns = list(src)
        limit = isa.BPF_COMPLEXITY_LIMIT_INSNS if self.privileges.bpf_capable else isa.BPF_MAXINSNS
        check_program(insns, max_insns=limit, allow_pseudo=True)
        check_gates(insns, self._maps, self.privileges, self.gates)
        if self.verified if verify is None else verify:
            run_verifier(insns, self._maps, self.privileges, self.gates)
        return self.runtime.resolve(insns, name)

    # ---------------------------------------------------------------- what Stack asks of a filter
    def __len__(self) -> int:
        return len(self.insns)

    @property
    def converted_length(self) -> int:
        """prog->len (what seccomp_attach_filter adds up): the program as loaded."""
        return len(self.insns)

    def is_const_allow(self, nr: int, arch: int) -> bool:
        return False  # extended filters disable the action cache (the 2021 proposal)

    @property
    def maps(self) -> dict[str, Map]:
        """The maps by name."""
        return {m.name: m for m in self._maps.values()}

    @property
    def maps_by_fd(self) -> dict[int, Map]:
        return dict(self._maps)

    @property
    def env(self) -> Env:
        return self.runtime.env

    @property
    def printk(self) -> list:
        return self.runtime.env.printk

    def snapshot(self) -> dict:
        """The maps' contents now, by name (array slots that are zero left out)."""
        return self.runtime.snapshot()

    # ---------------------------------------------------------------- running
    def run_words(self, words: np.ndarray, *, tasks=None, clock_ns=None) -> tuple[np.ndarray, np.ndarray]:
        """(N, 16) uint32 seccomp_data rows -> (ret as uint32 in int64[N], steps int64[N]); maps update."""
        r0, steps = self.runtime.run_words(self.program, words, tasks=tasks, clock_ns=clock_ns)
        return r0 & 0xFFFFFFFF, steps

    def run(self, d: SeccompData, task: SimTask | None = None) -> int:
        """The filter's return value for one syscall (maps update as a side effect)."""
        r, _ = self.run_words(d.words().reshape(1, 16), tasks=[task] if task is not None else None)
        return int(r[0])

    run_ebpf = run

    def decide(self, d, task: SimTask | None = None):
        from lwnlab.seccomp.filter import Stack

        return Stack([self]).decide(d, task=task)

    def trace(self, items, *, on_step=None):
        """Run a trace (SeccompData or trace Events) alone; see :meth:`Stack.trace`."""
        from lwnlab.seccomp.filter import Stack

        return Stack([self]).trace(items, on_step=on_step)

    def disassemble(self) -> str:
        from lwnlab.bpf import disasm

        return disasm.disassemble(list(self.insns))

    def __repr__(self) -> str:
        return (f"<EbpfFilter {self.name!r}: {len(self)} insns, maps {list(self.maps)}, "
                f"{'verified' if self.verified else 'NOT verified'} — proposed 2021, never merged>")


def events_words_tasks(items) -> tuple[np.ndarray, list, list, list]:
    """(words, tasks, clock values, SeccompData list) for a list of SeccompData or trace Events."""
    datas, tasks, clocks = [], [], []
    for it in items:
        if isinstance(it, SeccompData):
            datas.append(it)
            tasks.append(None)
            clocks.append(None)
        else:
            datas.append(it.data)
            tasks.append(it.task() if hasattr(it, "task") else None)
            clocks.append(getattr(it, "ts_ns", None))
    return batch_words(datas), tasks, clocks, datas


@dataclass(frozen=True)
class Comparison:
    """A classic filter converted by the kernel's rules next to a native eBPF filter."""

    classic_ebpf: str  # disassembly of bpf_convert_filter's output
    native: str  # disassembly of the native program
    classic_len: int
    native_len: int
    agree: int
    total: int
    disagreements: tuple  # (row, classic ret, native ret)


def compare(classic_filter, native: EbpfFilter, items) -> Comparison:
    """Run both on the same syscalls: does the hand-written eBPF decide as the converted classic does?"""
    from lwnlab.bpf import disasm

    conv = EbpfFilter.from_classic(classic_filter)
    words, tasks, clocks, _ = events_words_tasks(items)
    a, _ = conv.run_words(words)
    b, _ = native.run_words(words, tasks=tasks, clock_ns=clocks)
    bad = tuple((int(i), int(a[i]), int(b[i])) for i in np.nonzero(a != b)[0])
    return Comparison(disasm.disassemble(list(conv.insns)), disasm.disassemble(list(native.insns)), len(conv),
                      len(native), len(a) - len(bad), len(a), bad)


def describe_error(e: LwnlabError) -> str:
    return e.describe()


__all__ = ["EbpfFilter", "LABEL", "PROPOSAL", "parse_map_directives", "compare", "Comparison", "check_gates",
           "run_verifier", "FilterError"]
