"""Container seccomp profiles (Docker/moby, containers-common, OCI ``linux.seccomp``) compiled to raw BPF.

A container engine turns a profile into a filter in two steps, and this module does both the same way:

1. **The engine** (moby ``profiles/seccomp`` ``setupSeccomp``; containers/common has a copy): the
   profile's ``archMap`` entry for the native architecture gives the filter's architectures (or
   ``architectures`` is taken as it is; both at once is an error); each ``syscalls[]`` group is kept
   or dropped by its ``includes``/``excludes``: ``arches`` against the native architecture in
   moby's naming (``amd64``, ``x86``, ``arm64``, ``s390x``...), ``caps`` against the container's
   bounding set (Docker's default set unless given; ``includes.caps`` needs all of them,
   ``excludes.caps`` drops the group if any is present) and ``minKernel`` (``"X.Y"``) against the
   kernel version (the running kernel's, unless given).  The result is an OCI ``linux.seccomp``
   object.  An OCI object (or a whole ``config.json``, whose ``linux.seccomp`` is taken) skips this
   step.
2. **The runtime** (runc 1.1.5 as in Debian bookworm: ``libcontainer/specconv.SetupSeccomp`` and
   ``libcontainer/seccomp.InitSeccomp``): every name of a group becomes one rule;
   ``seccomp_init(default action)``, ``seccomp_arch_add`` for each architecture; per rule: a rule
   whose action equals the default action is skipped; a name libseccomp cannot resolve
   (``seccomp_syscall_resolve_name``) is skipped (runc only logs it at debug level -- here they are
   counted and listed); no args: one unconditional rule; args on distinct indexes: one rule
   AND-ing them; two or more args on the same index: one rule per arg (OR'd).  ``SCMP_ACT_ERRNO``
   and ``SCMP_ACT_TRACE`` take ``errnoRet`` (default EPERM), truncated to 16 bits as runc's
   ``int16`` cast does (``SCMP_ACT_TRAP`` ignores it in runc 1.1.5).  ``defaultErrnoRet`` is read as
   moby >= 23 and containers/common read it (moby 20.10's profile struct had no such field); the
   containers-common ``defaultErrno``/``errno`` names (``"ENOSYS"``) are accepted too.  The filter
   is libseccomp's own ``seccomp_export_bpf``.

Not modelled: runc's ``patchbpf`` (it prepends a stub making syscalls newer than any the profile
names fail with ENOSYS instead of the default action), seccomp flags and listener fields (they
are arguments of ``seccomp()``, not part of the program), and later runc's binary-tree
optimisation (runc >= 1.2 sets ``SCMP_FLTATR_CTL_OPTIMIZE`` = 2 for more than 32 rules).

For ``arch`` other than this machine's, the filter is built here with that arch in place of the native
one; libseccomp resolves names from its all-architecture tables, so this should be the filter runc
builds there, but only x86_64 is checked against libseccomp called directly and the live kernel.

Unlike runc, which only converts the groups that survive filtering, every group is checked, so a
typo in a capability-gated group is reported whatever the capabilities.  Bad input raises
:class:`~lwnlab.errors.ConfigError` whose message starts with the JSON path
(``syscalls[12].args[0].op: unknown operator 'SCMP_CMP_FOO'``).
"""

from __future__ import annotations

import errno as _errno
import json
import os
import re
from dataclasses import dataclass, field

from lwnlab.errors import ConfigError, UsageError
from lwnlab.seccomp import actions as A

#: Docker's default capabilities (moby oci/caps/defaults.go, DefaultCapabilities)
DOCKER_DEFAULT_CAPS = ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
                       "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                       "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE")

#: include/uapi/linux/capability.h, 0..40
ALL_CAPS = ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
            "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
            "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
            "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
            "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
            "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
            "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
            "CAP_CHECKPOINT_RESTORE")

#: runc's ConvertStringToAction -> the SECCOMP_RET_* action libseccomp gets (data added by action_value)
ACTIONS = {
    "SCMP_ACT_KILL": A.SECCOMP_RET_KILL_THREAD, "SCMP_ACT_KILL_THREAD": A.SECCOMP_RET_KILL_THREAD,
    "SCMP_ACT_KILL_PROCESS": A.SECCOMP_RET_KILL_PROCESS, "SCMP_ACT_TRAP": A.SECCOMP_RET_TRAP,
    "SCMP_ACT_ERRNO": A.SECCOMP_RET_ERRNO, "SCMP_ACT_TRACE": A.SECCOMP_RET_TRACE, "SCMP_ACT_LOG": A.SECCOMP_RET_LOG,
    "SCMP_ACT_ALLOW": A.SECCOMP_RET_ALLOW, "SCMP_ACT_NOTIFY": A.SECCOMP_RET_USER_NOTIF,
}
#: runc's ConvertStringToOperator -> enum scmp_compare
OPERATORS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4, "SCMP_CMP_GE": 5,
             "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
#: runc's ConvertStringToArch (plus RISCV64, which later runc and libseccomp 2.5 know) -> AUDIT_ARCH
ARCHES = {
    "SCMP_ARCH_X86": 0x40000003, "SCMP_ARCH_X86_64": 0xC000003E, "SCMP_ARCH_X32": 0x4000003E,
    "SCMP_ARCH_ARM": 0x40000028, "SCMP_ARCH_AARCH64": 0xC00000B7, "SCMP_ARCH_MIPS": 0x00000008,
    "SCMP_ARCH_MIPS64": 0x80000008, "SCMP_ARCH_MIPS64N32": 0xA0000008, "SCMP_ARCH_MIPSEL": 0x40000008,
    "SCMP_ARCH_MIPSEL64": 0xC0000008, "SCMP_ARCH_MIPSEL64N32": 0xE0000008, "SCMP_ARCH_PPC": 0x00000014,
    "SCMP_ARCH_PPC64": 0x80000015, "SCMP_ARCH_PPC64LE": 0xC0000015, "SCMP_ARCH_S390": 0x00000016,
    "SCMP_ARCH_S390X": 0x80000016, "SCMP_ARCH_RISCV64": 0xC00000F3,
}
# (libseccomp's token for x32 is EM_X86_64 | LE without the 64-bit bit, as in seccomp.h)

#: lwnlab arch -> (moby's native name for includes/excludes.arches, the archMap key moby matches or None)
TARGETS = {
    "x86_64": ("amd64", "SCMP_ARCH_X86_64"), "i386": ("x86", "SCMP_ARCH_X86"), "arm": ("arm", "SCMP_ARCH_ARM"),
    "aarch64": ("arm64", "SCMP_ARCH_AARCH64"), "mips64": ("mips64", "SCMP_ARCH_MIPS64"),
    "mips64n32": ("mips64n32", "SCMP_ARCH_MIPS64N32"), "mipsel64": ("mipsel64", "SCMP_ARCH_MIPSEL64"),
    "mipsel64n32": ("mips3l64n32", "SCMP_ARCH_MIPSEL64N32"),
    "mipsel": ("mipsel", None),  # moby's nativeToSeccomp spells the key "mipsle": archMap never matches
    "ppc": ("ppc", "SCMP_ARCH_PPC"), "ppc64": ("ppc64", "SCMP_ARCH_PPC64"), "ppc64le": ("ppc64le", "SCMP_ARCH_PPC64LE"),
    "s390": ("s390", "SCMP_ARCH_S390"), "s390x": ("s390x", "SCMP_ARCH_S390X"),
    "riscv64": ("riscv64", "SCMP_ARCH_RISCV64"),
}
_TARGET_SCMP = {"x86_64": "SCMP_ARCH_X86_64", "i386": "SCMP_ARCH_X86", "arm": "SCMP_ARCH_ARM",
                "aarch64": "SCMP_ARCH_AARCH64", "mips64": "SCMP_ARCH_MIPS64", "mips64n32": "SCMP_ARCH_MIPS64N32",
                "mipsel64": "SCMP_ARCH_MIPSEL64", "mipsel64n32": "SCMP_ARCH_MIPSEL64N32", "mipsel": "SCMP_ARCH_MIPSEL",
                "ppc": "SCMP_ARCH_PPC", "ppc64": "SCMP_ARCH_PPC64", "ppc64le": "SCMP_ARCH_PPC64LE",
                "s390": "SCMP_ARCH_S390", "s390x": "SCMP_ARCH_S390X", "riscv64": "SCMP_ARCH_RISCV64"}

_MOBY_KEYS = ("archmap", "includes", "excludes", "defaulterrno", "comment", "name")
U64 = (1 << 64) - 1
__NR_SCMP_ERROR = -1


# --------------------------------------------------------------------------- JSON access, Go-style


def _get(d: dict, key: str):
    """encoding/json's field match: the exact key, else a case-insensitive one; null is absent."""
    if key in d:
        return d[key]
    low = key.lower()
    for k, v in d.items():
        if isinstance(k, str) and k.lower() == low:
            return v
    return None


def _has(d: dict, key: str) -> bool:
    return _get(d, key) is not None


def _type(v) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", float: "a number",
            int: "a number", type(None): "null"}.get(type(v), type(v).__name__)


def _obj(v, path: str) -> dict:
    if not isinstance(v, dict):
        raise ProfileError(f"{path}: expected an object, got {_type(v)}", field=path)
    return v


def _list(v, path: str) -> list:
    if v is None:
        return []
    if not isinstance(v, list):
        raise ProfileError(f"{path}: expected an array, got {_type(v)}", field=path)
    return v


def _str(v, path: str) -> str:
    if v is None:
        return ""
    if not isinstance(v, str):
        raise ProfileError(f"{path}: expected a string, got {_type(v)}", field=path)
    return v


def _uint(v, path: str, bits: int = 64) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        what = f"{v!r}" if isinstance(v, (int, float)) else _type(v)
        raise ProfileError(f"{path}: expected an unsigned integer, got {what}", field=path)
    if not 0 <= v < (1 << bits):
        raise ProfileError(f"{path}: {v} does not fit in an unsigned {bits}-bit integer", field=path)
    return v


class ProfileError(ConfigError):
    """A ConfigError whose message starts with the JSON path (also in ``.field``), so the path is shown once:
    ``profile.json: syscalls[12].args[0].op: unknown operator 'SCMP_CMP_FOO'``."""

    def describe(self) -> str:
        loc = self.location
        if loc.field and self.message.startswith(loc.field):
            from lwnlab.errors import Location

            where = str(Location(file=loc.file, line=loc.line, column=loc.column))
            return f"{where}: {self.message}" if where else self.message
        return super().describe()


def _err(path: str, message: str) -> ConfigError:
    return ProfileError(f"{path}: {message}", field=path)


# --------------------------------------------------------------------------- reading


def parse_kernel_version(text: str, path: str = "kernel version") -> tuple[int, int]:
    """moby's KernelVersion.UnmarshalJSON: exactly ``X.Y``, each 0..255, not 0.0."""
    parts = str(text).split(".", 2)
    if len(parts) != 2 or not all(re.fullmatch(r"\+?[0-9]+", p) for p in parts):
        raise _err(path, f"invalid kernel version {text!r}, expected \"<kernel>.<major>\"")
    k, m = (int(p) for p in parts)
    if k > 255 or m > 255:
        raise _err(path, f"invalid kernel version {text!r}: each part must be 0..255")
    if k == 0 and m == 0:
        raise _err(path, f"invalid kernel version {text!r}: version cannot be 0.0")
    return k, m


def running_kernel() -> tuple[int, int]:
    """The running kernel's version as moby reads it (``Sscanf(release, "%d.%d")``)."""
    rel = os.uname().release
    m = re.match(r"(\d+)\.(\d+)", rel)
    if not m:
        raise UsageError(f"cannot read the kernel version from {rel!r}; give --kernel-version", field="kernel")
    return int(m.group(1)), int(m.group(2))


def normalise_caps(caps) -> tuple[str, ...]:
    """``--cap`` values: names with or without ``CAP_``, any case; ``ALL`` (privileged), ``NONE``."""
    out: list[str] = []
    for c in caps:
        for part in str(c).replace(",", " ").split():
            u = part.upper()
            if u == "ALL":
                out.extend(ALL_CAPS)
                continue
            if u == "NONE":
                continue
            if not u.startswith("CAP_"):
                u = "CAP_" + u
            if u not in ALL_CAPS:
                import difflib

                close = difflib.get_close_matches(u, ALL_CAPS, n=2)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise UsageError(f"unknown capability {part!r}{hint}", field="cap")
            out.append(u)
    return tuple(dict.fromkeys(out))


def load_json(source, *, file: str | None = None):
    """Parse profile JSON from a path, bytes or str; errors name the line and column."""
    if isinstance(source, (bytes, bytearray)):
        text = bytes(source)
    elif isinstance(source, str) and not source.lstrip().startswith(("{", "[")) and "\n" not in source:
        file = file or source
        with open(source, "rb") as f:
            text = f.read()
    else:
        text = source
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return json.loads(text)
    except UnicodeDecodeError as e:
        raise ConfigError(f"not UTF-8 text (byte {e.start}): not a JSON seccomp profile", file=file) from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"not valid JSON: {e.msg}", file=file, line=e.lineno, column=e.colno) from None
    except RecursionError:
        raise ConfigError("JSON nested too deeply", file=file) from None


def detect(doc) -> tuple[str, dict, str]:
    """(format, the seccomp object, its JSON path prefix): ``oci-config``, ``moby`` or ``oci``."""
    d = _obj(doc, "(top level)")
    if _has(d, "ociVersion") or ("linux" in d and not _has(d, "defaultAction")):
        linux = _obj(_get(d, "linux") or {}, "linux")
        sec = _get(linux, "seccomp")
        if sec is None:
            raise ProfileError("linux.seccomp: this OCI config has no seccomp object (the container runs "
                              "without a filter)", field="linux.seccomp")
        return "oci-config", _obj(sec, "linux.seccomp"), "linux.seccomp."
    moby = any(_has(d, k) for k in ("archMap", "defaultErrno")) or any(
        isinstance(s, dict) and any(_has(s, k) for k in ("includes", "excludes", "name", "comment", "errno"))
        for s in (_get(d, "syscalls") if isinstance(_get(d, "syscalls"), list) else []))
    return ("moby" if moby else "oci"), d, ""


# --------------------------------------------------------------------------- step 1: the engine


@dataclass
class Rule:
    """One runc rule: a syscall name with the group's action and args."""

    name: str
    action: str
    errno_ret: int | None
    args: list  # [(index, op, value, valueTwo)]
    path: str  # JSON path of the name


@dataclass
class Resolved:
    """The OCI linux.seccomp the engine hands to runc, and what it dropped."""

    default_action: str
    default_errno: int | None
    architectures: list  # SCMP_ARCH_* names
    rules: list  # [Rule]
    excluded: list = field(default_factory=list)  # [(path, reason)]
    flags: list = field(default_factory=list)


def _errno_value(name_or_nr, path: str) -> int:
    """containers-common's ``errno``/``defaultErrno``: a number or an errno name (``ENOSYS``)."""
    s = _str(name_or_nr, path)
    if re.fullmatch(r"[0-9]+", s):
        return _uint(int(s), path, 32)
    v = getattr(_errno, s, None) if s.startswith("E") else None
    if not isinstance(v, int):
        raise _err(path, f"unknown errno {s!r}")
    return v


def _check_action(v, path: str) -> str:
    s = _str(v, path)
    if not s:
        raise _err(path, "missing (one of " + ", ".join(ACTIONS) + ")")
    if s not in ACTIONS:
        raise _err(path, f"unknown action {s!r} (one of {', '.join(ACTIONS)})")
    return s


def _check_arch(v, path: str) -> str:
    s = _str(v, path)
    if s not in ARCHES:
        raise _err(path, f"unknown architecture {s!r} (one of {', '.join(ARCHES)})")
    return s


def _read_args(call: dict, path: str) -> list:
    out = []
    for j, a in enumerate(_list(_get(call, "args"), path + "args")):
        ap = f"{path}args[{j}]"
        if a is None:
            raise _err(ap, "null argument (runc: cannot convert nil to syscall condition)")
        a = _obj(a, ap)
        idx = _uint(_get(a, "index"), ap + ".index")
        idx = 0 if idx is None else idx
        if idx > 5:
            raise _err(ap + ".index", f"{idx} is out of range 0..5 (a syscall has six arguments)")
        op = _str(_get(a, "op"), ap + ".op")
        if not op:
            raise _err(ap + ".op", "missing operator (one of " + ", ".join(OPERATORS) + ")")
        if op not in OPERATORS:
            raise _err(ap + ".op", f"unknown operator {op!r} (one of {', '.join(OPERATORS)})")
        v1 = _uint(_get(a, "value"), ap + ".value") or 0
        v2 = _uint(_get(a, "valueTwo"), ap + ".valueTwo") or 0
        out.append((idx, op, v1, v2))
    return out


def _names(call: dict, path: str, moby: bool) -> list[tuple[str, str]]:
    """[(name, json path)] of a group; moby's ``name`` or ``names`` (not both)."""
    names = _list(_get(call, "names"), path + "names")
    one = _str(_get(call, "name"), path + "name") if moby else ""
    if one and names:
        raise _err(path.rstrip("."), "'name' and 'names' were specified, use either 'name' or 'names'")
    if one:
        return [(one, path + "name")]
    out = []
    for j, n in enumerate(names):
        np_ = f"{path}names[{j}]"
        s = _str(n, np_)
        if not s:
            raise _err(np_, "empty string is not a valid syscall")
        out.append((s, np_))
    return out


def _filter(f, path: str) -> dict:
    f = _obj(f, path) if f is not None else {}
    caps = [_str(c, f"{path}.caps[{i}]") for i, c in enumerate(_list(_get(f, "caps"), path + ".caps"))]
    arches = [_str(c, f"{path}.arches[{i}]") for i, c in enumerate(_list(_get(f, "arches"), path + ".arches"))]
    mk = _get(f, "minKernel")
    kv = None
    if mk is not None:
        s = _str(mk, path + ".minKernel")
        kv = parse_kernel_version(s, path + ".minKernel") if s else None
    return {"caps": caps, "arches": arches, "minKernel": kv}


def resolve(doc, *, arch: str = "x86_64", caps=None, kernel: tuple[int, int] | None = None,
            fmt: str = "auto") -> tuple[str, Resolved]:
    """Step 1 (moby's setupSeccomp, or nothing for an OCI object): (format, Resolved)."""
    from lwnlab.seccomp.syscalls import get_arch

    a = get_arch(arch).name
    if a not in TARGETS:
        raise UsageError(f"no container runtime runs natively on {a} (one of {', '.join(TARGETS)})", field="arch")
    native, archmap_key = TARGETS[a]
    kind, d, pre = detect(doc)
    if fmt not in ("auto", "moby", "oci"):
        raise UsageError(f"unknown profile format {fmt!r} (auto, moby, oci)", field="format")
    if fmt == "moby" and kind == "oci-config":
        raise UsageError("this is an OCI config.json; its linux.seccomp is in the OCI format", field="format")
    if fmt != "auto" and kind != "oci-config":
        kind = fmt
    moby = kind == "moby"
    bounding = DOCKER_DEFAULT_CAPS if caps is None else tuple(caps)
    kv = running_kernel() if kernel is None else kernel

    default = _str(_get(d, "defaultAction"), pre + "defaultAction")
    syscalls = _list(_get(d, "syscalls"), pre + "syscalls")
    if not default and not syscalls:
        raise ProfileError(f"{pre}defaultAction: no default action and no syscalls: the runtime installs no "
                          "seccomp filter for this profile", field=pre + "defaultAction")
    default = _check_action(default, pre + "defaultAction")
    derr = _uint(_get(d, "defaultErrnoRet"), pre + "defaultErrnoRet")
    if moby and _get(d, "defaultErrno") not in (None, ""):
        derr = _errno_value(_get(d, "defaultErrno"), pre + "defaultErrno")
    archs = [_check_arch(x, f"{pre}architectures[{i}]")
             for i, x in enumerate(_list(_get(d, "architectures"), pre + "architectures"))]
    flags = [_str(x, f"{pre}flags[{i}]") for i, x in enumerate(_list(_get(d, "flags"), pre + "flags"))]
    if moby:
        amap = _list(_get(d, "archMap"), "archMap")
        if archs and amap:
            raise _err("archMap", "'architectures' and 'archMap' were specified, use either 'architectures' or "
                       "'archMap'")
        for i, m in enumerate(amap):
            mp = f"archMap[{i}]"
            m = _obj(m, mp)
            main = _check_arch(_get(m, "architecture"), mp + ".architecture")
            subs = [_check_arch(x, f"{mp}.subArchitectures[{j}]")
                    for j, x in enumerate(_list(_get(m, "subArchitectures"), mp + ".subArchitectures"))]
            if archmap_key is not None and main == archmap_key and not archs:
                archs = [main] + subs  # the first matching entry, as moby's loop breaks there
    rules: list[Rule] = []
    excluded: list[tuple[str, str]] = []
    for i, call in enumerate(syscalls):
        cp = f"{pre}syscalls[{i}]"
        if call is None:
            raise _err(cp, "null syscall entry (runc: encountered nil syscall)")
        call = _obj(call, cp)
        action = _check_action(_get(call, "action"), cp + ".action")
        eret = _uint(_get(call, "errnoRet"), cp + ".errnoRet")
        if moby and _get(call, "errno") not in (None, ""):
            eret = _errno_value(_get(call, "errno"), cp + ".errno")
        args = _read_args(call, cp + ".")
        names = _names(call, cp + ".", moby)
        why = None
        if moby:
            inc = _filter(_get(call, "includes"), cp + ".includes")
            exc = _filter(_get(call, "excludes"), cp + ".excludes")
            if exc["arches"] and native in exc["arches"]:
                why = f"excludes.arches has {native}"
            elif any(c in bounding for c in exc["caps"]):
                why = "excludes.caps: " + ", ".join(c for c in exc["caps"] if c in bounding) + " present"
            elif exc["minKernel"] is not None and kv >= exc["minKernel"]:
                why = "excludes.minKernel %d.%d <= kernel %d.%d" % (*exc["minKernel"], *kv)
            elif inc["arches"] and native not in inc["arches"]:
                why = f"includes.arches lacks {native}"
            elif any(c not in bounding for c in inc["caps"]):
                why = "includes.caps: " + ", ".join(c for c in inc["caps"] if c not in bounding) + " missing"
            elif inc["minKernel"] is not None and kv < inc["minKernel"]:
                why = "includes.minKernel %d.%d > kernel %d.%d" % (*inc["minKernel"], *kv)
        if why:
            excluded.append((cp, why))
            continue
        for n, np_ in names:
            rules.append(Rule(n, action, eret, args, np_))
    return kind, Resolved(default, derr, archs, rules, excluded, flags)


# --------------------------------------------------------------------------- step 2: runc + libseccomp


def action_value(action: str, errno_ret: int | None) -> int:
    """runc getAction: ERRNO/TRACE carry errnoRet (EPERM if absent), cast to int16 then to 16 bits."""
    base = ACTIONS[action]
    if action in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
        return base | ((_errno.EPERM if errno_ret is None else errno_ret) & 0xFFFF)
    return base


@dataclass
class Compiled:
    """A profile compiled to a filter, with what the engine and runc left out."""

    raw: bytes
    format: str
    arch: str
    architectures: list
    default_action: int
    rules: int  # libseccomp rules added (seccomp_rule_add calls)
    syscalls: list  # names that got rules
    skipped_unknown: list  # [(name, path)]: libseccomp cannot resolve the name (runc skips it)
    skipped_default: list  # [(name, path)]: same action as the default (runc skips it)
    not_on_arches: list  # names libseccomp knows but no filter arch numbers (x86's socketcall/ipc forms aside)
    excluded: list  # [(path, reason)]: groups moby's includes/excludes dropped
    caps: tuple
    kernel: tuple
    flags: list
    notes: list

    @property
    def filter(self):
        from lwnlab.seccomp.filter import Filter

        cached = self.__dict__.get("_filter")
        if cached is None:
            cached = Filter.prepare(self.raw, name="profile")
            self.__dict__["_filter"] = cached
        return cached

    @property
    def instructions(self) -> int:
        return len(self.raw) // 8

    def to_json(self) -> dict:
        from lwnlab.seccomp.actions import format_action

        return {
            "format": self.format, "arch": self.arch, "architectures": self.architectures,
            "default_action": format_action(self.default_action), "instructions": self.instructions,
            "bytes": len(self.raw), "rules": self.rules, "syscalls": len(self.syscalls),
            "skipped_unknown_count": len(self.skipped_unknown),
            "skipped_unknown": [{"name": n, "path": p} for n, p in self.skipped_unknown],
            "skipped_same_as_default": len(self.skipped_default),
            "not_on_arches": self.not_on_arches,
            "excluded_groups": [{"path": p, "reason": r} for p, r in self.excluded],
            "caps": list(self.caps), "kernel": "%d.%d" % self.kernel, "flags": self.flags, "notes": self.notes,
        }


def _host_audit(sc) -> int:
    try:
        return sc.system_arch() & 0xFFFFFFFF
    except Exception:  # pragma: no cover - very old libseccomp
        return 0


def compile_resolved(res: Resolved, *, arch: str = "x86_64") -> tuple:
    """Step 2, runc's InitSeccomp, with libseccomp: (raw bytes, rules, added, unknown, same, absent, archs)."""
    from lwnlab.seccomp.libseccomp import _sc, export
    from lwnlab.seccomp.syscalls import get_arch

    sc = _sc()
    a = get_arch(arch).name
    target = ARCHES[_TARGET_SCMP[a]]
    default = action_value(res.default_action, res.default_errno)
    if res.default_action == "SCMP_ACT_NOTIFY":
        raise ProfileError("defaultAction: SCMP_ACT_NOTIFY cannot be used as default action (runc)",
                          field="defaultAction")
    for r in res.rules:
        if r.action == "SCMP_ACT_NOTIFY" and r.name == "write":
            raise _err(r.path, "SCMP_ACT_NOTIFY cannot be used for the write syscall (runc)")
    f = sc.SyscallFilter(default)
    if _host_audit(sc) != target:  # build for another machine: its arch plays the native one
        f.remove_arch(sc.Arch.NATIVE)  # first: libseccomp refuses to mix byte orders in one filter (EDOM)
        f.add_arch(target)
    archs = [target]
    for name in res.architectures:
        v = ARCHES[name]
        try:
            f.add_arch(v)
        except OSError as e:
            if e.errno != _errno.EEXIST:  # libseccomp-golang's AddArch ignores EEXIST
                raise ProfileError(f"architectures: libseccomp refused {name}: {e.strerror}",
                                  field="architectures") from None
        if v not in archs:
            archs.append(v)
    added, unknown, same, absent, rules = [], [], [], [], 0
    for r in res.rules:
        act = action_value(r.action, r.errno_ret)
        if act == default:
            same.append((r.name, r.path))
            continue
        nr = sc.resolve_syscall(sc.Arch.NATIVE, r.name)
        if nr == __NR_SCMP_ERROR:
            unknown.append((r.name, r.path))
            continue
        if all(sc.resolve_syscall(x, r.name) < 0 for x in archs):
            absent.append(r.name)
        conds = [sc.Arg(i, OPERATORS[op], v1, v2) for i, op, v1, v2 in r.args]
        counts = [0] * 6
        for i, *_ in r.args:
            counts[i] += 1
        groups = [[c] for c in conds] if max(counts, default=0) > 1 else [conds]
        for g in groups:
            try:
                f.add_rule(act, nr, *g)
            except OSError as e:
                raise _err(r.path, _rule_error(r.name, e)) from None
            rules += 1
        added.append(r.name)
    return export(f), rules, added, unknown, same, absent, archs


def _rule_error(name: str, e: OSError) -> str:
    """libseccomp-golang's addRuleWrapper messages, with what they mean."""
    if e.errno == _errno.EFAULT:
        return f"libseccomp refused the rule for {name!r}: unrecognized syscall"
    if e.errno in (_errno.EACCES, _errno.EPERM):
        return f"libseccomp refused the rule for {name!r}: its action is the filter's default action"
    if e.errno == _errno.EINVAL:
        return f"libseccomp refused the rule for {name!r}: two checks on the same syscall argument"
    if e.errno == _errno.EEXIST:
        return (f"libseccomp refused the rule for {name!r}: an earlier rule for the same syscall and "
                "arguments has a different action")
    return f"libseccomp refused the rule for {name!r}: {e.strerror}"


def compile_profile(source, *, arch: str = "x86_64", caps=None, kernel=None, fmt: str = "auto",
                    file: str | None = None) -> Compiled:
    """Compile a profile (path, JSON text/bytes, or an already parsed dict) as engine + runc would.

    ``caps``: the container's bounding set (default :data:`DOCKER_DEFAULT_CAPS`; names as for
    ``--cap``); ``kernel``: ``"X.Y"`` or (X, Y) for ``minKernel`` (default: the running kernel).
    """
    from lwnlab.seccomp.syscalls import get_arch

    doc = source if isinstance(source, (dict, list)) else load_json(source, file=file)
    a = get_arch(arch).name
    capset = DOCKER_DEFAULT_CAPS if caps is None else normalise_caps(caps)
    if kernel is None:
        kv = running_kernel()
    elif isinstance(kernel, str):
        kv = parse_kernel_version(kernel, "--kernel-version")
    else:
        kv = tuple(int(x) for x in kernel)
    try:
        kind, res = resolve(doc, arch=a, caps=capset, kernel=kv, fmt=fmt)
    except ConfigError as e:
        if file and e.location.file is None:
            raise type(e)(e.message, file=file, field=e.field) from None
        raise
    raw, rules, added, unknown, same, absent, archs = compile_resolved(res, arch=a)
    notes = ["runc's patchbpf ENOSYS stub is not modelled: syscalls newer than the profile get the default "
             "action here, ENOSYS under runc"]
    if res.flags:
        notes.append("flags " + ", ".join(res.flags) + " are seccomp() arguments, not part of the filter")
    by_value = {v: k for k, v in ARCHES.items()}
    arch_names = [by_value[v] for v in archs]
    return Compiled(raw, kind, a, arch_names, action_value(res.default_action, res.default_errno), rules, added,
                    unknown, same, sorted(set(absent)), res.excluded, capset, kv, res.flags, notes)
