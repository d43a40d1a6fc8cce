"""BPF helper functions and map types: the ONE table that the verifier, the runtime, the assembler,
the disassemblers and the widgets read.

Helper ids and prototypes follow ``include/uapi/linux/bpf.h`` (``__BPF_FUNC_MAPPER``) and the
``bpf_func_proto`` definitions in ``kernel/bpf/helpers.c`` / ``kernel/trace/bpf_trace.c``.

Who may call what (the *gate* of each helper) follows ``bpf_base_func_proto()`` as of the 2021
RFC patch set's base tree (v5.13): the base set for everyone, then ``if (!bpf_capable()) return
NULL``, then ``if (!perfmon_capable()) return NULL`` for the tracing set.  The proposed
``seccomp_func_proto()`` (YiFei Zhu et al., May 2021; **proposed, never merged**) adds
``get_current_uid_gid`` and ``get_current_pid_tgid`` for every seccomp loader, the user-memory
readers (patch 10) for loaders with CAP_BPF and CAP_PERFMON, and task storage (patch 12).
Socket filters get ``sk_filter_func_proto()``'s base set.

Two policy switches model the proposal's gates (patches 6–9):

* ``lsm_restrict``: the ``seccomp_extended`` LSM hook limiting extended filters to "almost cBPF",
  modelled as: no helpers and no maps at all (context loads, ALU, jumps, stack only);
* ``yama``: the Yama gate on reading another task's memory, modelled as: ``probe_read_user{,_str}``
  refused at load time unless the loader also has CAP_SYS_PTRACE.

At run time ``probe_read_user{,_str}`` return -EPERM when the target task is not dumpable and the
loader lacks CAP_SYS_PTRACE (patch 10).
"""

from __future__ import annotations

from dataclasses import dataclass

from lwnlab.errors import VerifierError

# --------------------------------------------------------------------------- argument and return types
# (enum bpf_arg_type / bpf_return_type in include/linux/bpf.h; only those the table uses)
ARG_ANYTHING = "anything"  # any initialised scalar (or, privileged, any value)
ARG_CONST_MAP_PTR = "const_map_ptr"  # CONST_PTR_TO_MAP
ARG_PTR_TO_MAP_KEY = "ptr_to_map_key"  # stack (or map value) memory of key_size initialised bytes
ARG_PTR_TO_MAP_VALUE = "ptr_to_map_value"  # memory of value_size initialised bytes
ARG_PTR_TO_MAP_VALUE_OR_NULL = "ptr_to_map_value_or_null"
ARG_PTR_TO_MEM = "ptr_to_mem"  # initialised memory the helper reads (MEM_RDONLY); size in the next arg
ARG_PTR_TO_UNINIT_MEM = "ptr_to_uninit_mem"  # memory the helper writes; size in the next arg
ARG_CONST_SIZE = "const_size"  # scalar with known bounds, > 0
ARG_CONST_SIZE_OR_ZERO = "const_size_or_zero"
ARG_PTR_TO_CTX = "ptr_to_ctx"
ARG_PTR_TO_TASK_OR_NULL = "ptr_to_task_or_null"  # PTR_TO_BTF_ID_OR_NULL (struct task_struct)
ARG_PTR_TO_TASK = "ptr_to_task"

RET_INTEGER = "integer"
RET_VOID = "void"
RET_PTR_TO_MAP_VALUE_OR_NULL = "map_value_or_null"
RET_PTR_TO_TASK = "task"  # PTR_TO_BTF_ID (struct task_struct), trusted

# gates, in increasing privilege
GATE_BASE = "base"  # everyone (unprivileged included)
GATE_SECCOMP = "seccomp"  # every seccomp loader (seccomp_func_proto, proposed)
GATE_BPF = "cap_bpf"  # bpf_capable()
GATE_PERFMON = "cap_perfmon"  # bpf_capable() && perfmon_capable()


@dataclass(frozen=True)
class HelperProto:
    id: int
    name: str
    ret: str
    args: tuple[str, ...]
    gate: str
    #: program types that may call it: "all", or a tuple of names
    prog_types: tuple[str, ...] | str = "all"
    doc: str = ""

    @property
    def c_name(self) -> str:
        return "bpf_" + self.name


def _p(id, name, ret, args, gate, prog_types="all", doc=""):
    return HelperProto(id, name, ret, tuple(args), gate, prog_types, doc)


#: The helpers lwnlab models, by id.
HELPERS: dict[int, HelperProto] = {h.id: h for h in (
    _p(1, "map_lookup_elem", RET_PTR_TO_MAP_VALUE_OR_NULL, [ARG_CONST_MAP_PTR, ARG_PTR_TO_MAP_KEY], GATE_BASE,
       doc="pointer to the value for key, or NULL"),
    _p(2, "map_update_elem", RET_INTEGER, [ARG_CONST_MAP_PTR, ARG_PTR_TO_MAP_KEY, ARG_PTR_TO_MAP_VALUE, ARG_ANYTHING],
       GATE_BASE, doc="flags: BPF_ANY 0, BPF_NOEXIST 1, BPF_EXIST 2; 0 or a negative errno"),
    _p(3, "map_delete_elem", RET_INTEGER, [ARG_CONST_MAP_PTR, ARG_PTR_TO_MAP_KEY], GATE_BASE,
       doc="0 or -ENOENT (-EINVAL for array maps)"),
    _p(5, "ktime_get_ns", RET_INTEGER, [], GATE_BASE, doc="CLOCK_MONOTONIC nanoseconds"),
    _p(6, "trace_printk", RET_INTEGER, [ARG_PTR_TO_MEM, ARG_CONST_SIZE], GATE_PERFMON,
       doc="(read-only fmt, fmt_size, ...) to the trace pipe"),
    _p(7, "get_prandom_u32", RET_INTEGER, [], GATE_BASE, doc="a pseudo-random u32"),
    _p(8, "get_smp_processor_id", RET_INTEGER, [], GATE_BASE, doc="the CPU number"),
    _p(12, "tail_call", RET_VOID, [ARG_PTR_TO_CTX, ARG_CONST_MAP_PTR, ARG_ANYTHING], GATE_BASE,
       doc="jump to prog_array[index]; falls through when the slot is empty (at most 33 tail calls)"),
    _p(14, "get_current_pid_tgid", RET_INTEGER, [], GATE_SECCOMP, doc="tgid << 32 | pid"),
    _p(15, "get_current_uid_gid", RET_INTEGER, [], GATE_SECCOMP, doc="gid << 32 | uid"),
    _p(35, "get_current_task", RET_INTEGER, [], GATE_PERFMON, doc="the current task_struct as an integer"),
    _p(112, "probe_read_user", RET_INTEGER, [ARG_PTR_TO_UNINIT_MEM, ARG_CONST_SIZE_OR_ZERO, ARG_ANYTHING], GATE_PERFMON,
       doc="copy size bytes of user memory; 0 or -EFAULT/-EPERM (zero-fills dst on error)"),
    _p(114, "probe_read_user_str", RET_INTEGER, [ARG_PTR_TO_UNINIT_MEM, ARG_CONST_SIZE_OR_ZERO, ARG_ANYTHING],
       GATE_PERFMON, doc="copy a NUL-terminated user string; its length including the NUL, or a negative errno"),
    _p(156, "task_storage_get", RET_PTR_TO_MAP_VALUE_OR_NULL,
       [ARG_CONST_MAP_PTR, ARG_PTR_TO_TASK_OR_NULL, ARG_PTR_TO_MAP_VALUE_OR_NULL, ARG_ANYTHING], GATE_SECCOMP,
       prog_types=("seccomp",),
       doc="per-task storage (patch 12); flags BPF_LOCAL_STORAGE_GET_F_CREATE 1; a NULL task means the group leader"),
    _p(157, "task_storage_delete", RET_INTEGER, [ARG_CONST_MAP_PTR, ARG_PTR_TO_TASK_OR_NULL], GATE_SECCOMP,
       prog_types=("seccomp",), doc="0 or -ENOENT"),
)}

HELPERS_BY_NAME: dict[str, HelperProto] = {h.name: h for h in HELPERS.values()}
#: id -> the kernel's name (func_id_name()), for the disassemblers and logs: ``call bpf_map_lookup_elem#1``
HELPER_NAMES: dict[int, str] = {h.id: h.c_name for h in HELPERS.values()}

# The rest of the kernel's helper ids that a reader might write, so a call to one is reported by
# name as "not allowed for this program type" instead of "unknown" (include/uapi/linux/bpf.h).
KNOWN_UNMODELLED = {4: "probe_read", 9: "skb_store_bytes", 13: "clone_redirect", 16: "get_current_comm",
                    26: "skb_load_bytes", 87: "map_push_elem", 88: "map_pop_elem", 89: "map_peek_elem",
                    93: "spin_lock", 113: "probe_read_kernel", 118: "jiffies64", 125: "ktime_get_boot_ns",
                    130: "ringbuf_output", 131: "ringbuf_reserve", 132: "ringbuf_submit",
                    133: "ringbuf_discard", 164: "for_each_map_elem", 181: "loop"}
__BPF_FUNC_MAX_ID = 212  # 6.12

#: Helpers that Linux 6.18's ``bpf_base_func_proto()`` gives socket filters beyond the proposal's base tree
#: (observed on the live kernel as root); the verifier lets socket filters call them.
SOCKET_FILTER_EXTRA: frozenset = frozenset({14, 15})


# --------------------------------------------------------------------------- who may call what


@dataclass(frozen=True)
class Privileges:
    """The loader's capabilities, as the proposal's gates read them."""

    cap_bpf: bool = False
    cap_perfmon: bool = False
    cap_sys_ptrace: bool = False
    cap_sys_admin: bool = False

    @classmethod
    def unprivileged(cls) -> "Privileges":
        return cls()

    @classmethod
    def root(cls) -> "Privileges":
        return cls(True, True, True, True)

    @property
    def bpf_capable(self) -> bool:
        return self.cap_bpf or self.cap_sys_admin

    @property
    def perfmon_capable(self) -> bool:
        return self.cap_perfmon or self.cap_sys_admin

    @property
    def privileged(self) -> bool:
        """``bpf_capable``: a privileged loader (back-edges, 1M instructions, bpf-to-bpf calls). The verifier's
        pointer-leak, uninitialised-stack and Spectre rules follow :attr:`perfmon_capable` instead
        (``allow_ptr_leaks``, ``allow_uninit_stack``, ``bypass_spec_v1``)."""
        return self.bpf_capable


@dataclass(frozen=True)
class Gates:
    """The proposal's policy switches (patches 6–9)."""

    #: the seccomp_extended LSM hook restricts extended filters to "almost cBPF"
    lsm_restrict: bool = False
    #: the Yama gate: reading user memory of the filtered task needs CAP_SYS_PTRACE as well
    yama: bool = False


def helper_name(hid: int) -> str:
    """The kernel's func_id_name(): ``bpf_map_lookup_elem``, or ``unknown``."""
    h = HELPERS.get(hid)
    if h:
        return h.c_name
    return "bpf_" + KNOWN_UNMODELLED[hid] if hid in KNOWN_UNMODELLED else "unknown"


def check_helper_allowed(hid: int, prog_type: str, privs: Privileges, gates: Gates = Gates()) -> HelperProto:
    """The proto for ``call hid`` in this setting, or a VerifierError in the kernel's words.

    The kernel says ``invalid func unknown#N`` for an id past ``__BPF_FUNC_MAX_ID`` and
    ``program of this type cannot use helper NAME#N`` when the prog type's proto function returns
    NULL; lwnlab adds which gate refused it.
    """
    if hid < 0 or hid >= __BPF_FUNC_MAX_ID:
        raise VerifierError(f"invalid func unknown#{hid}")
    h = HELPERS.get(hid)
    name = helper_name(hid)
    if h is None:
        raise VerifierError(f"program of this type cannot use helper {name}#{hid} (not modelled by lwnlab)")
    if h.prog_types != "all" and prog_type not in h.prog_types:
        raise VerifierError(f"program of this type cannot use helper {name}#{hid}")
    if prog_type == "seccomp" and gates.lsm_restrict:
        raise VerifierError(f"program of this type cannot use helper {name}#{hid} "
                            "(the seccomp_extended LSM hook restricts this filter to almost-cBPF: no helpers)")
    if h.gate == GATE_SECCOMP and prog_type != "seccomp":
        raise VerifierError(f"program of this type cannot use helper {name}#{hid}")
    if h.gate == GATE_BPF and not privs.bpf_capable:
        raise VerifierError(f"program of this type cannot use helper {name}#{hid} (needs CAP_BPF)")
    if h.gate == GATE_PERFMON and not (privs.bpf_capable and privs.perfmon_capable):
        raise VerifierError(f"program of this type cannot use helper {name}#{hid} (needs CAP_BPF and CAP_PERFMON)")
    if gates.yama and h.name.startswith("probe_read_user") and not privs.cap_sys_ptrace:
        raise VerifierError(f"program of this type cannot use helper {name}#{hid} "
                            "(the Yama gate requires CAP_SYS_PTRACE to read the filtered task's memory)")
    return h


# --------------------------------------------------------------------------- map types

BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PROG_ARRAY = 1, 2, 3
BPF_MAP_TYPE_TASK_STORAGE = 29  # include/uapi/linux/bpf.h (5.11+)
MAP_TYPE_NAMES = {BPF_MAP_TYPE_HASH: "hash", BPF_MAP_TYPE_ARRAY: "array", BPF_MAP_TYPE_PROG_ARRAY: "prog_array",
                  BPF_MAP_TYPE_TASK_STORAGE: "task_storage"}
MAP_TYPES_BY_NAME = {v: k for k, v in MAP_TYPE_NAMES.items()}

BPF_ANY, BPF_NOEXIST, BPF_EXIST = 0, 1, 2
BPF_LOCAL_STORAGE_GET_F_CREATE = 1
MAX_TAIL_CALL_CNT = 33


@dataclass(frozen=True)
class MapSpec:
    """What the verifier knows of a map (``struct bpf_map``'s shape); the runtime adds storage."""

    type: int
    key_size: int
    value_size: int
    max_entries: int
    name: str = ""
    flags: int = 0

    @property
    def type_name(self) -> str:
        return MAP_TYPE_NAMES.get(self.type, str(self.type))

    def validate(self) -> "MapSpec":
        """The kernel's map_alloc_check rules for the modelled types, as ConfigErrors naming the field."""
        from lwnlab.errors import ConfigError

        where = f"map {self.name!r}" if self.name else "map"
        if self.type not in MAP_TYPE_NAMES:
            raise ConfigError(f"{where}: unsupported map type {self.type} (lwnlab models "
                              f"{', '.join(MAP_TYPE_NAMES.values())})", field="type")
        if self.max_entries <= 0 and self.type != BPF_MAP_TYPE_TASK_STORAGE:
            raise ConfigError(f"{where}: max_entries must be > 0", field="max_entries")
        if self.value_size <= 0 or self.value_size > (1 << 20):
            raise ConfigError(f"{where}: value_size {self.value_size} out of range (1..1048576)", field="value_size")
        if self.type in (BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PROG_ARRAY) and self.key_size != 4:
            raise ConfigError(f"{where}: an {self.type_name} map's key_size must be 4, not {self.key_size}",
                              field="key_size")
        if self.type == BPF_MAP_TYPE_PROG_ARRAY and self.value_size != 4:
            raise ConfigError(f"{where}: a prog_array map's value_size must be 4", field="value_size")
        if self.type == BPF_MAP_TYPE_TASK_STORAGE:
            if self.key_size != 4:
                raise ConfigError(f"{where}: a task_storage map's key_size must be 4 (a pidfd)", field="key_size")
            if self.max_entries != 0:
                raise ConfigError(f"{where}: a task_storage map's max_entries must be 0", field="max_entries")
        if self.type == BPF_MAP_TYPE_HASH and not (0 < self.key_size <= 512):
            raise ConfigError(f"{where}: key_size {self.key_size} out of range (1..512)", field="key_size")
        return self
