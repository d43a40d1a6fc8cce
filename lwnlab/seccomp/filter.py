"""Seccomp filters as the kernel prepares, attaches and runs them (three separate steps).

* :meth:`Filter.prepare` — ``seccomp_prepare_filter``: length, ``bpf_check_classic``,
  ``seccomp_check_filter``, ``bpf_convert_filter``;
* :meth:`Stack.attach` — ``seccomp_attach_filter``: the total-length limit over the
  stack (converted lengths + 4 per attached filter <= 32768) and the action cache
  (``seccomp_cache_prepare``: syscalls whose result is a constant ALLOW skip BPF);
* :meth:`Stack.decide` / :meth:`Stack.run_batch` — ``seccomp_run_filters``: newest to
  oldest, the lowest action wins, ties to the newest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from lwnlab.bpf import classic, cvm
from lwnlab.bpf.classic import CInsn
from lwnlab.errors import ExecutionError, FilterError, UsageError
from lwnlab.seccomp import actions, syscalls
from lwnlab.seccomp.data import SeccompData, batch_words, words_to_ctx_bytes


@dataclass(frozen=True)
class Filter:
    """A classic filter that passed the kernel's checks."""

    insns: tuple  # the filter as given (tuple of CInsn)
    checked: tuple  # after seccomp_check_filter's rewrites
    big_endian: bool = False
    name: str = ""

    @classmethod
    def prepare(cls, insns: "list[CInsn] | bytes", *, big_endian: bool | None = None, name: str = "") -> "Filter":
        if isinstance(insns, (bytes, bytearray, memoryview)):
            raw = bytes(insns)
            if len(raw) // 8 > classic.isa.BPF_MAXINSNS:
                classic.decode(raw, max_insns=classic.isa.BPF_MAXINSNS)  # refused by length, not decoded
            be = classic.detect_big_endian(raw) if big_endian is None and len(raw) % 8 == 0 and raw else big_endian
            insns = classic.decode(raw, big_endian=be)
            big_endian = be
        insns = list(insns)
        checked = classic.validate_seccomp(insns)
        return cls(tuple(insns), tuple(checked), bool(big_endian), name)

    @classmethod
    def from_file(cls, path: str, *, big_endian: bool | None = None) -> "Filter":
        with open(path, "rb") as f:
            raw = f.read()
        try:
            return cls.prepare(raw, big_endian=big_endian, name=os.path.basename(path))
        except classic.ClassicRejected as e:
            raise e.with_file(path) from None
        except FilterError as e:
            raise FilterError(e.message, file=path, pc=e.pc) from None

    @classmethod
    def from_asm(cls, text: str, *, arch: str = "x86_64", file: str | None = None) -> "Filter":
        from lwnlab.bpf.classic_asm import assemble

        a = syscalls.get_arch(arch)
        return cls.prepare(assemble(text, arch=arch, file=file), big_endian=a.big_endian, name=file or "")

    def __len__(self) -> int:
        return len(self.insns)

    def to_bytes(self) -> bytes:
        return classic.encode(list(self.insns), self.big_endian)

    @property
    def arrays(self):
        cached = self.__dict__.get("_arrays")
        if cached is None:
            cached = cvm.decode(*classic.to_arrays(list(self.checked)))
            object.__setattr__(self, "_arrays", cached)
        return cached

    def ebpf(self):
        """The converted eBPF program (bpf_convert_filter) and the classic->eBPF pc map."""
        return classic.convert(list(self.checked))

    @property
    def converted_length(self) -> int:
        return classic.converted_length(list(self.checked))

    def run(self, d: SeccompData) -> int:
        ret, _ = self.run_with_path(d)
        return ret

    def run_with_path(self, d: SeccompData) -> tuple[int, list[int]]:
        path = np.zeros(len(self.insns) + 1, dtype=np.int64)
        ret, steps = cvm.run_path(self.arrays, d.words().reshape(1, 16), path)
        if ret < 0:
            raise ExecutionError("the filter ran off its end or hit an invalid instruction", pc=int(path[steps - 1]))
        return int(ret), [int(p) for p in path[:steps]]

    def run_ebpf(self, d: SeccompData) -> int:
        """Run the converted program on the eBPF interpreter, as the kernel does."""
        from lwnlab.bpf import vm
        from lwnlab.bpf.program import to_array

        prog, _ = self.ebpf()
        m = vm.Machine(to_array(prog), budget=100_000)
        ctx = np.frombuffer(words_to_ctx_bytes(d.words()), dtype=np.uint8).copy()
        res = m.run([vm.Region("ctx", vm.MEM_BASE, ctx, writable=False)], args=(vm.MEM_BASE,))
        if res.error is not None:
            raise res.error
        return res.r0 & 0xFFFFFFFF

    def is_const_allow(self, nr: int, arch: int) -> bool:
        """seccomp_is_const_allow: emulate with only nr/arch known (run on the *original* program)."""
        reg = 0
        pc = 0
        prog = self.insns
        while pc < len(prog):
            x = prog[pc]
            c, k = x.code, x.k
            if c == 0x20:
                if k == 0:
                    reg = nr & 0xFFFFFFFF
                elif k == 4:
                    reg = arch
                else:
                    return False
            elif c == 0x06:
                return k == actions.SECCOMP_RET_ALLOW
            elif c == 0x05:
                pc += k
            elif c in (0x15, 0x35, 0x25, 0x45):
                op = {0x15: reg == k, 0x35: reg >= k, 0x25: reg > k, 0x45: bool(reg & k)}[c]
                pc += x.jt if op else x.jf
            elif c == 0x54:
                reg &= k
            else:
                return False
            pc += 1
        return False


@dataclass(frozen=True)
class Decision:
    """What the stack decided for one syscall."""

    ret: int
    filter: int  # index of the deciding filter (oldest = 0); -1: nothing beat ALLOW; -2: action cache
    steps: int
    data_in: SeccompData | None = None

    @property
    def action(self) -> str:
        return actions.action_name(self.ret)

    @property
    def data(self) -> int:
        return self.ret & actions.SECCOMP_RET_DATA

    @property
    def effect(self) -> actions.Effect:
        return actions.effect(self.ret)

    @property
    def cached(self) -> bool:
        return self.filter == -2

    def to_json(self) -> dict:
        e = self.effect
        d = {"action": self.action, "data": self.data, "ret": f"{self.ret:#010x}",
             "filter": self.filter if self.filter >= 0 else None, "cached": self.cached, "steps": self.steps,
             "runs": e.runs}
        if e.errno is not None:
            d["errno"] = e.errno
        if e.signal is not None:
            d["signal"] = e.signal
        return d


@dataclass
class Stack:
    """The filters attached to a task, oldest first; with the kernel's action cache."""

    filters: list = field(default_factory=list)
    cache: bool = True  # CONFIG_SECCOMP_CACHE_DEBUG-less kernels >= 5.11 always have it

    def __post_init__(self):
        fs = list(self.filters)
        self.filters = []
        self._bitmaps: dict[str, np.ndarray] = {}
        for f in fs:
            self.attach(f)

    def total_length(self, extra: "Filter | None" = None) -> int:
        """seccomp_attach_filter's count: new len + sum(len + 4) over the attached filters."""
        total = extra.converted_length if extra is not None else 0
        total += sum(f.converted_length + actions.STACK_PENALTY for f in self.filters)
        return total

    def attach(self, f: Filter) -> None:
        total = self.total_length(f)
        if total > actions.MAX_INSNS_PER_PATH:
            raise FilterError(f"attaching filter {len(self.filters)} would make {total} instructions on the path "
                              f"(limit MAX_INSNS_PER_PATH = {actions.MAX_INSNS_PER_PATH}): the kernel says ENOMEM",
                              field="filters")
        self.filters.append(f)
        self._bitmaps = {}
        self.__dict__.pop("_arrays", None)

    # -- action cache -----------------------------------------------------------------
    def has_ebpf(self) -> bool:
        """True when an extended (eBPF) filter is attached (a model of the never-merged 2021 proposal)."""
        return any(getattr(f, "kind", "classic") == "ebpf" for f in self.filters)

    def allow_bitmap(self, arch: str) -> np.ndarray:
        """The per-arch bitmap of always-allowed syscalls (seccomp_cache_prepare_bitmap over the stack).

        An extended (eBPF) filter clears its bitmap (the 2021 proposal) and each filter's
        bitmap is ANDed with the previous one's, so a stack with one caches nothing."""
        a = syscalls.get_arch(arch).name
        if a not in self._bitmaps:
            size = syscalls.CACHE_NR.get(a, 0)
            bm = np.ones(size, dtype=np.uint8)
            if self.has_ebpf():
                bm[:] = 0
            audit = syscalls.get_arch(a).audit_arch
            exempt = syscalls.CACHE_EXEMPT.get(a, ())
            for f in self.filters:
                for nr in range(size):
                    if bm[nr] and nr not in exempt and not f.is_const_allow(nr, audit):
                        bm[nr] = 0
            self._bitmaps[a] = bm
        return self._bitmaps[a]

    def cached_mask(self, words: np.ndarray, native: str = "x86_64") -> np.ndarray:
        """Which rows the cache answers (nr in the bitmap of their arch, for the native/compat arches)."""
        out = np.zeros(words.shape[0], dtype=np.uint8)
        if not self.cache or not self.filters or self.has_ebpf():
            return out
        for a in syscalls.CACHE_ARCHES.get(native, ()):
            arch = syscalls.get_arch(a)
            bm = self.allow_bitmap(a)
            nr = words[:, 0].astype(np.int64)
            sel = (words[:, 1] == arch.audit_arch) & (nr < bm.size)
            idx = np.where(sel)[0]
            out[idx] = bm[nr[idx]]
        return out

    # -- running ------------------------------------------------------------------------
    @property
    def arrays(self):
        cached = self.__dict__.get("_arrays")
        if cached is None:
            if self.has_ebpf():
                raise UsageError("a stack with an eBPF filter has no single classic program array", field="filters")
            parts = [f.arrays for f in self.filters]
            prog = np.concatenate(parts) if parts else np.zeros((0, 4), np.int64)
            lens = np.array([len(f) for f in self.filters], dtype=np.int64)
            starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64) if len(lens) else lens
            cached = (prog, starts, lens)
            self.__dict__["_arrays"] = cached
        return cached

    def run_batch(self, words: np.ndarray, *, native: str = "x86_64", use_cache: bool | None = None,
                  tasks=None, clock_ns=None):
        """(N,16) uint32 words -> (ret uint32-as-int64[N], filter int64[N], steps int64[N]).

        ``tasks``/``clock_ns`` (one entry per row, or None) are what eBPF filters' helpers see.
        """
        if not self.filters:
            raise UsageError("no filter attached", field="filters")
        words = np.ascontiguousarray(words, dtype=np.uint32)
        if words.ndim != 2 or words.shape[1] != 16:
            raise UsageError(f"seccomp_data batch must be (N, 16) uint32 words, got shape {words.shape}",
                             field="words")
        n = words.shape[0]
        if self.has_ebpf():
            return self._run_mixed(words, tasks, clock_ns)
        use = self.cache if use_cache is None else use_cache
        cached = self.cached_mask(words, native) if use else np.zeros(n, dtype=np.uint8)
        ret = np.zeros(n, dtype=np.int64)
        who = np.zeros(n, dtype=np.int64)
        steps = np.zeros(n, dtype=np.int64)
        prog, starts, lens = self.arrays
        cvm.run_stack(prog, starts, lens, words, cached, ret, who, steps)
        if (who == -3).any():
            row = int(np.where(who == -3)[0][0])
            raise ExecutionError(f"a filter faulted on syscall row {row} (this is a bug: checked filters cannot)")
        return ret, who, steps

    def _run_mixed(self, words: np.ndarray, tasks, clock_ns):
        """seccomp_run_filters over classic and eBPF filters: every filter runs, newest first, and a
        result replaces the one so far only if its signed action is strictly lower.  eBPF filters
        run row by row in trace order, so their maps see the syscalls in order."""
        n = words.shape[0]
        results = []
        for f in self.filters:
            if getattr(f, "kind", "classic") == "ebpf":
                r, s = f.run_words(words, tasks=tasks, clock_ns=clock_ns)
            else:
                r = np.zeros(n, dtype=np.int64)
                w = np.zeros(n, dtype=np.int64)
                s = np.zeros(n, dtype=np.int64)
                prog = f.arrays
                cvm.run_stack(prog, np.zeros(1, np.int64), np.array([len(f)], np.int64), words,
                              np.zeros(n, np.uint8), r, w, s)
                if (w == -3).any():
                    raise ExecutionError("a classic filter faulted (this is a bug: checked filters cannot)")
            results.append((r.astype(np.int64) & 0xFFFFFFFF, s))
        ret = np.full(n, actions.SECCOMP_RET_ALLOW, dtype=np.int64)
        who = np.full(n, -1, dtype=np.int64)
        steps = np.zeros(n, dtype=np.int64)
        for i in range(len(results) - 1, -1, -1):
            r, s = results[i]
            act = ((r & 0xFFFF0000) ^ 0x80000000) - 0x80000000
            cur = ((ret & 0xFFFF0000) ^ 0x80000000) - 0x80000000
            take = act < cur
            ret = np.where(take, r, ret)
            who = np.where(take, i, who)
            steps += s
        return ret, who, steps

    def decide(self, d: SeccompData, *, use_cache: bool | None = None, task=None) -> Decision:
        ret, who, steps = self.run_batch(d.words().reshape(1, 16), use_cache=use_cache,
                                         tasks=[task] if task is not None else None)
        return Decision(int(ret[0]), int(who[0]), int(steps[0]), d)

    def snapshot(self) -> dict:
        """Map contents of every eBPF filter, by filter index then map name."""
        return {i: f.snapshot() for i, f in enumerate(self.filters) if getattr(f, "kind", "classic") == "ebpf"}

    def decide_reference(self, d: SeccompData) -> Decision:
        """The same decision through the converted eBPF programs on the eBPF interpreter.

        (eBPF filters run again, so their maps count this syscall a second time.)"""
        results = [f.run_ebpf(d) for f in self.filters]
        ret, match = actions.precedence(results)
        return Decision(ret, match, 0, d)

    def trace(self, items: list, *, on_step=None) -> list[Decision]:
        """Decisions for a trace of SeccompData (or trace Events, which also carry the task for eBPF helpers).

        ``on_step(i, decision)`` is called after each syscall (the trace then runs one syscall at a
        time, so map contents can be read in the callback, e.g. with :meth:`snapshot`).
        """
        if not self.has_ebpf() and on_step is None and all(isinstance(d, SeccompData) for d in items):
            words = batch_words(items)
            ret, who, steps = self.run_batch(words)
            return [Decision(int(r), int(w), int(s), d) for r, w, s, d in zip(ret, who, steps, items)]
        from lwnlab.seccomp.ebpf import events_words_tasks

        words, tasks, clocks, datas = events_words_tasks(items)
        if on_step is None:
            if not len(datas):
                return []
            ret, who, steps = self.run_batch(words, tasks=tasks, clock_ns=clocks)
            return [Decision(int(r), int(w), int(s), d) for r, w, s, d in zip(ret, who, steps, datas)]
        out = []
        for i, d in enumerate(datas):
            ret, who, steps = self.run_batch(words[i:i + 1], tasks=tasks[i:i + 1], clock_ns=clocks[i:i + 1])
            dec = Decision(int(ret[0]), int(who[0]), int(steps[0]), d)
            out.append(dec)
            on_step(i, dec)
        return out

    def trace_with_snapshots(self, items: list) -> list[tuple[Decision, dict]]:
        """Each syscall's decision with the eBPF filters' map contents right after it."""
        out = []
        self.trace(items, on_step=lambda i, dec: out.append((dec, self.snapshot())))
        return out
