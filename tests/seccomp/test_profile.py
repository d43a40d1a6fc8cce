"""`lwnlab seccomp profile`: real container profiles compiled as Docker + runc would, checked against
libseccomp called directly (ctypes, the way runc's InitSeccomp calls it) and against the live kernel."""

import ctypes
import ctypes.util
import errno
import json
import os
from pathlib import Path

import pytest

from lwnlab.cli import main
from lwnlab.errors import ConfigError, UsageError
from lwnlab.seccomp import profile as P
from lwnlab.seccomp.data import SeccompData
from lwnlab.seccomp.filter import Stack

DATA = Path(__file__).parent / "data"
MOBY = DATA / "moby-default.json"  # moby 20.10.24 profiles/seccomp/default.json
COMMON = DATA / "containers-common-seccomp.json"  # containers-common 0.50.1 /usr/share/containers/seccomp.json

try:
    import pyseccomp  # noqa: F401

    HAVE_LIBSECCOMP = True
except (ImportError, OSError):  # the binding, or libseccomp.so itself, is missing
    HAVE_LIBSECCOMP = False
need_libseccomp = pytest.mark.skipif(not HAVE_LIBSECCOMP, reason="pyseccomp/libseccomp not installed")

CLONE_NEWNS, CLONE_NEWUSER, CLONE_THREAD = 0x20000, 0x10000000, 0x10000
AF_NETLINK, NETLINK_AUDIT, AF_VSOCK = 16, 9, 40
NOPID = 999_999_999  # no process has it: kill(NOPID, 9) is harmless even if it ran


# --------------------------------------------------------------------------- the reference: libseccomp by hand


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


def _lib():
    path = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    lib = ctypes.CDLL(path)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = (ctypes.c_uint32,)
    lib.seccomp_arch_add.argtypes = (ctypes.c_void_p, ctypes.c_uint32)
    lib.seccomp_syscall_resolve_name.argtypes = (ctypes.c_char_p,)
    lib.seccomp_rule_add_array.argtypes = (ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(_ArgCmp))
    lib.seccomp_export_bpf.argtypes = (ctypes.c_void_p, ctypes.c_int)
    lib.seccomp_release.argtypes = (ctypes.c_void_p,)
    return lib


def reference_amd64(doc: dict, caps, kernel=(6, 18)) -> bytes:
    """moby setupSeccomp (native amd64) + runc specconv/InitSeccomp/matchCall, transcribed independently."""
    acts = {"SCMP_ACT_KILL": 0, "SCMP_ACT_KILL_THREAD": 0, "SCMP_ACT_KILL_PROCESS": 0x80000000,
            "SCMP_ACT_TRAP": 0x30000, "SCMP_ACT_ERRNO": 0x50000, "SCMP_ACT_TRACE": 0x7FF00000,
            "SCMP_ACT_LOG": 0x7FFC0000, "SCMP_ACT_ALLOW": 0x7FFF0000}
    ops = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4, "SCMP_CMP_GE": 5,
           "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
    arches = {"SCMP_ARCH_X86_64": 0xC000003E, "SCMP_ARCH_X86": 0x40000003, "SCMP_ARCH_X32": 0x4000003E}

    def getaction(a, ret):
        if a in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
            return acts[a] | ((1 if ret is None else ret) & 0xFFFF)
        return acts[a]

    def kv(s):
        return tuple(int(x) for x in s.split("."))

    archs = list(doc.get("architectures") or [])
    for m in doc.get("archMap") or []:
        if m["architecture"] == "SCMP_ARCH_X86_64":
            archs = [m["architecture"]] + list(m["subArchitectures"])
            break
    calls = []
    for c in doc["syscalls"]:
        inc, exc = c.get("includes") or {}, c.get("excludes") or {}
        if "amd64" in exc.get("arches", []) or any(x in caps for x in exc.get("caps", [])):
            continue
        if exc.get("minKernel") and kernel >= kv(exc["minKernel"]):
            continue
        if inc.get("arches") and "amd64" not in inc["arches"]:
            continue
        if any(x not in caps for x in inc.get("caps", [])):
            continue
        if inc.get("minKernel") and kernel < kv(inc["minKernel"]):
            continue
        for n in ([c["name"]] if c.get("name") else c.get("names", [])):
            calls.append((n, c["action"], c.get("errnoRet"), c.get("args") or []))
    lib = _lib()
    default = getaction(doc["defaultAction"], doc.get("defaultErrnoRet"))
    ctx = lib.seccomp_init(default)
    try:
        for a in archs:
            rc = lib.seccomp_arch_add(ctx, arches[a])
            assert rc in (0, -errno.EEXIST)
        for name, action, ret, args in calls:
            act = getaction(action, ret)
            if act == default:
                continue
            nr = lib.seccomp_syscall_resolve_name(name.encode())
            if nr == -1:
                continue
            conds = [_ArgCmp(a["index"], ops[a["op"]], a.get("value", 0), a.get("valueTwo", 0)) for a in args]
            idx = [a["index"] for a in args]
            sets = [[c] for c in conds] if len(set(idx)) < len(idx) else [conds]
            for s in sets:
                arr = (_ArgCmp * max(len(s), 1))(*s)
                assert lib.seccomp_rule_add_array(ctx, act, nr, len(s), arr) == 0, name
        fd = os.memfd_create("ref")
        try:
            assert lib.seccomp_export_bpf(ctx, fd) == 0
            os.lseek(fd, 0, 0)
            out = b""
            while chunk := os.read(fd, 65536):
                out += chunk
            return out
        finally:
            os.close(fd)
    finally:
        lib.seccomp_release(ctx)


def decide(c, name, *args, arch="x86_64"):
    d = Stack([c.filter]).decide(SeccompData.make(arch, name, args))
    return d.action if d.action != "ERRNO" else f"ERRNO({d.data})"


# --------------------------------------------------------------------------- the real profiles


@need_libseccomp
@pytest.mark.parametrize("path", [MOBY, COMMON], ids=["moby-20.10", "containers-common"])
@pytest.mark.parametrize("caps", ["default", "none", "all"])
def test_real_profile_equals_libseccomp_called_as_runc_does(path, caps):
    capset = {"default": P.DOCKER_DEFAULT_CAPS, "none": (), "all": P.ALL_CAPS}[caps]
    c = P.compile_profile(str(path), caps={"default": None, "none": ["NONE"], "all": ["ALL"]}[caps],
                          kernel="6.18")
    ref = reference_amd64(json.loads(path.read_text()), capset)
    assert c.raw == ref  # byte for byte: the same libseccomp calls in the same order
    assert c.architectures == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    # and the decisions agree over every x86_64 syscall number with a few argument patterns
    from lwnlab.seccomp.filter import Filter

    a, b = Stack([c.filter], cache=False), Stack([Filter.prepare(ref)], cache=False)
    for nr in range(0, 460, 3):
        for args in ((), (8,), (CLONE_NEWUSER,), (AF_NETLINK, 3, NETLINK_AUDIT)):
            d = SeccompData.make("x86_64", nr, args)
            assert a.decide(d).ret == b.decide(d).ret


@need_libseccomp
def test_moby_default_decisions():
    c = P.compile_profile(str(MOBY), kernel="6.18")
    assert c.format == "moby" and c.default_action == 0x50001  # no defaultErrnoRet: runc's EPERM
    assert len(c.excluded) == 16 and not c.skipped_unknown
    for p in (0, 8, 0x20000, 0x20008, 0xFFFFFFFF):
        assert decide(c, "personality", p) == "ALLOW"
    assert decide(c, "personality", 0x1234) == "ERRNO(1)"
    assert decide(c, "personality", 1 << 32) == "ERRNO(1)"  # the high half is checked too
    # clone: no namespace flags without CAP_SYS_ADMIN (mask 0x7E020000, arg 0 on x86)
    assert decide(c, "clone", 17) == "ALLOW"
    assert decide(c, "clone", CLONE_NEWUSER | 17) == "ERRNO(1)"
    assert decide(c, "clone", CLONE_NEWNS) == "ERRNO(1)"
    assert decide(c, "clone3") == "ERRNO(38)"  # ENOSYS so that glibc falls back to clone
    assert decide(c, "mount") == "ERRNO(1)" and decide(c, "bpf") == "ERRNO(1)"
    assert decide(c, "chroot") == "ALLOW"  # CAP_SYS_CHROOT is in Docker's default set
    assert decide(c, "arch_prctl") == "ALLOW"  # includes.arches amd64
    assert decide(c, "ptrace") == "ALLOW"  # includes.minKernel 4.8
    assert decide(c, 1000) == "ERRNO(1)" and decide(c, 0x3FFFFFFF) == "ERRNO(1)"  # unknown: default action
    assert decide(c, "personality", 8, arch="i386") == "ALLOW"
    assert decide(c, "socketcall", 1, arch="i386") == "ALLOW"
    # with every capability (--privileged) the gated groups come in
    allc = P.compile_profile(str(MOBY), caps=["ALL"], kernel="6.18")
    assert decide(allc, "clone", CLONE_NEWUSER) == "ALLOW" and decide(allc, "mount") == "ALLOW"
    assert decide(allc, "clone3") == "ALLOW"
    # minKernel against an older kernel
    old = P.compile_profile(str(MOBY), kernel="4.4")
    assert decide(old, "ptrace") == "ERRNO(1)"
    assert any("minKernel 4.8" in why for _, why in old.excluded)
    # --cap replaces the set
    sa = P.compile_profile(str(MOBY), caps=["sys_admin"], kernel="6.18")
    assert decide(sa, "mount") == "ALLOW" and decide(sa, "chroot") == "ERRNO(1)"


@need_libseccomp
def test_containers_common_decisions():
    c = P.compile_profile(str(COMMON), kernel="6.18")
    assert c.default_action == 0x50000 | errno.ENOSYS
    assert decide(c, 1000) == "ERRNO(38)"
    assert decide(c, "kexec_file_load") == "ERRNO(1)"  # the explicit ERRNO(1) group
    assert decide(c, "socket", AF_NETLINK, 3, NETLINK_AUDIT) == "ALLOW"  # CAP_AUDIT_WRITE: socket unrestricted
    n = P.compile_profile(str(COMMON), caps=["NONE"], kernel="6.18")
    assert decide(n, "socket", AF_NETLINK, 3, NETLINK_AUDIT) == "ERRNO(22)"  # AND of a0 and a2
    assert decide(n, "socket", AF_NETLINK, 3, 0) == "ALLOW"
    assert decide(n, "socket", 2, 1, NETLINK_AUDIT) == "ALLOW"
    assert decide(n, "chroot") == "ERRNO(1)" and decide(n, "bpf") == "ERRNO(1)"
    assert decide(n, "personality", 0x1234) == "ERRNO(38)"


HANDMADE = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "architectures": ["SCMP_ARCH_X86_64"],
    "syscalls": [
        {"names": ["read", "write", "getpid", "exit", "exit_group", "not_a_syscall", "mseal"],
         "action": "SCMP_ACT_ALLOW"},
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]},
        # two args on index 0: runc adds one rule per arg (OR)
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
        # distinct indexes: one rule (AND)
        {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
         "args": [{"index": 0, "value": NOPID, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]},
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},  # same as the default: skipped
        {"names": ["uname"], "action": "SCMP_ACT_TRAP"},
        {"names": ["openat"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 2, "value": 3, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
    ],
}


@need_libseccomp
def test_handmade_oci_semantics():
    c = P.compile_profile(HANDMADE)
    assert c.format == "oci" and c.architectures == ["SCMP_ARCH_X86_64"]
    assert [n for n, _ in c.skipped_unknown] == ["not_a_syscall", "mseal"]  # libseccomp 2.5 has no mseal
    assert c.skipped_unknown[0][1] == "syscalls[0].names[5]"
    assert [n for n, _ in c.skipped_default] == ["mkdir"]
    assert decide(c, "socket", AF_VSOCK) == "ERRNO(1)" and decide(c, "socket", 2) == "ALLOW"
    assert decide(c, "personality", 0) == "ALLOW" and decide(c, "personality", 8) == "ALLOW"
    assert decide(c, "personality", 9) == "ERRNO(1)"
    assert decide(c, "kill", NOPID, 9) == "ERRNO(13)" and decide(c, "kill", NOPID, 15) == "ERRNO(1)"
    assert decide(c, "kill", 2, 9) == "ERRNO(1)"
    assert decide(c, "uname") == "TRAP"
    assert decide(c, "openat", 0, 0, 4) == "ALLOW" and decide(c, "openat", 0, 0, 1) == "ERRNO(1)"
    assert decide(c, "read", arch="i386") == "KILL_THREAD"  # not in architectures: SCMP_ACT_KILL_THREAD
    # the same object inside an OCI config.json
    cfg = {"ociVersion": "1.0.2", "process": {}, "linux": {"seccomp": HANDMADE}}
    c2 = P.compile_profile(json.dumps(cfg))
    assert c2.format == "oci-config" and c2.raw == c.raw


@need_libseccomp
def test_oci_format_ignores_moby_filters():
    # fed straight to runc (OCI), includes/excludes are unknown fields and every group applies
    doc = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}}]}
    assert decide(P.compile_profile(doc), "mount") == "ERRNO(1)"
    assert decide(P.compile_profile(doc, fmt="oci"), "mount") == "ALLOW"
    assert decide(P.compile_profile(doc, caps=["SYS_ADMIN"]), "mount") == "ALLOW"
    # includes.caps needs every cap, excludes.caps drops the group on any one of them
    two = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"]}},
        {"names": ["umount2"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"]}},
        {"names": ["sethostname"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["arm64"]}},
        {"names": ["setdomainname"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}}]}
    c = P.compile_profile(two, caps=["SYS_ADMIN"])
    assert decide(c, "mount") == "ERRNO(1)" and decide(c, "umount2") == "ERRNO(1)"
    assert decide(c, "sethostname") == "ALLOW" and decide(c, "setdomainname") == "ERRNO(1)"
    c = P.compile_profile(two, caps=["SYS_ADMIN", "NET_ADMIN"])
    assert decide(c, "mount") == "ALLOW" and decide(c, "umount2") == "ERRNO(1)"
    c = P.compile_profile(two, caps=["NONE"])
    assert decide(c, "mount") == "ERRNO(1)" and decide(c, "umount2") == "ALLOW"


@need_libseccomp
def test_other_arch():
    c = P.compile_profile(str(MOBY), arch="aarch64", kernel="6.18")
    assert c.architectures == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    assert decide(c, "personality", 8, arch="aarch64") == "ALLOW"
    assert decide(c, "personality", 7, arch="aarch64") == "ERRNO(1)"
    assert decide(c, "read", arch="x86_64") == "KILL_THREAD"  # a foreign arch
    s = P.compile_profile(str(MOBY), arch="s390x", kernel="6.18")
    assert s.filter.big_endian and s.architectures == ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"]
    # on s390 clone's flags are argument 1 (includes.arches s390/s390x)
    assert decide(s, "clone", 0, CLONE_NEWUSER, arch="s390x") == "ERRNO(1)"
    assert decide(s, "clone", CLONE_NEWUSER, 0, arch="s390x") == "ALLOW"


# --------------------------------------------------------------------------- bad input


def _prof(**kw):
    d = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}
    d.update(kw)
    return d


BAD = [
    (_prof(syscalls=[{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_FOO"}]}]),
     "syscalls[0].args[0].op: unknown operator 'SCMP_CMP_FOO'"),
    (_prof(syscalls=[{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "op": "SCMP_CMP_EQ"}]}]),
     "syscalls[0].args[0].index: 6 is out of range 0..5"),
    (_prof(syscalls=[{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": -1, "op": "SCMP_CMP_EQ"}]}]),
     "syscalls[0].args[0].index: -1 does not fit"),
    (_prof(syscalls=[{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": "1", "op": "SCMP_CMP_EQ"}]}]),
     "syscalls[0].args[0].value: expected an unsigned integer, got a string"),
    (_prof(syscalls=[{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 1.5, "op": "SCMP_CMP_EQ"}]}]),
     "syscalls[0].args[0].value: expected an unsigned integer, got 1.5"),
    (_prof(syscalls=[{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1}]}]),
     "syscalls[0].args[0].op: missing operator"),
    (_prof(syscalls=[{"names": ["read"], "action": "SCMP_ACT_ALOW"}]),
     "syscalls[0].action: unknown action 'SCMP_ACT_ALOW'"),
    (_prof(syscalls=[{"names": ["read"]}]), "syscalls[0].action: missing"),
    (_prof(defaultAction="ALLOW"), "defaultAction: unknown action 'ALLOW'"),
    (_prof(defaultAction=None, syscalls=[]), "no default action and no syscalls"),
    (_prof(syscalls={"names": ["read"]}), "syscalls: expected an array, got an object"),
    (_prof(syscalls=[{"names": "read", "action": "SCMP_ACT_ALLOW"}]), "syscalls[0].names: expected an array"),
    (_prof(syscalls=[{"names": [""], "action": "SCMP_ACT_ALLOW"}]),
     "syscalls[0].names[0]: empty string is not a valid syscall"),
    (_prof(syscalls=[{"names": ["read", 3], "action": "SCMP_ACT_ALLOW"}]),
     "syscalls[0].names[1]: expected a string, got a number"),
    (_prof(syscalls=[None]), "syscalls[0]: null syscall entry"),
    (_prof(architectures=["SCMP_ARCH_Z80"]), "architectures[0]: unknown architecture 'SCMP_ARCH_Z80'"),
    (_prof(archMap=[{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_FOO"]}]),
     "archMap[0].subArchitectures[0]: unknown architecture 'SCMP_ARCH_FOO'"),
    (_prof(architectures=["SCMP_ARCH_X86"], archMap=[{"architecture": "SCMP_ARCH_X86_64"}]),
     "archMap: 'architectures' and 'archMap' were specified"),
    (_prof(syscalls=[{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4"}}]),
     "syscalls[0].includes.minKernel: invalid kernel version '4'"),
    (_prof(syscalls=[{"names": ["read"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": "CAP_X"}}]),
     "syscalls[0].excludes.caps: expected an array"),
    (_prof(syscalls=[{"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}]),
     "syscalls[0]: 'name' and 'names' were specified"),
    (_prof(syscalls=[{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": -1}]),
     "syscalls[0].errnoRet: -1 does not fit"),
    (_prof(defaultErrno="EWHATEVER", archMap=[]), "defaultErrno: unknown errno 'EWHATEVER'"),
    ([1, 2], "(top level): expected an object, got an array"),
    ({"ociVersion": "1.0.2", "linux": {}}, "linux.seccomp: this OCI config has no seccomp object"),
    ({"ociVersion": "1.0.2", "linux": {"seccomp": {"defaultAction": "SCMP_ACT_X"}}},
     "linux.seccomp.defaultAction: unknown action 'SCMP_ACT_X'"),
]


@need_libseccomp
@pytest.mark.parametrize("doc,msg", BAD, ids=[m.split(":")[0] + str(i) for i, (_, m) in enumerate(BAD)])
def test_bad_input_names_the_path(doc, msg):
    with pytest.raises(ConfigError) as e:
        P.compile_profile(json.dumps(doc))
    assert msg in str(e.value)


@need_libseccomp
def test_conflicting_rules_and_notify():
    # two groups give read different actions: libseccomp 2.5 takes it, and so does runc; the result is
    # libseccomp's (the first rule), byte for byte what libseccomp called directly gives
    doc = _prof(syscalls=[{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                          {"names": ["read"], "action": "SCMP_ACT_TRAP"}])
    c = P.compile_profile(doc)
    assert c.raw == reference_amd64(doc, ()) and decide(c, "read") == "ALLOW"
    with pytest.raises(ConfigError, match=r"syscalls\[0\]\.names\[0\]: SCMP_ACT_NOTIFY cannot be used for the write"):
        P.compile_profile(_prof(syscalls=[{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}]))
    with pytest.raises(ConfigError, match="SCMP_ACT_NOTIFY cannot be used as default action"):
        P.compile_profile(_prof(defaultAction="SCMP_ACT_NOTIFY"))


@need_libseccomp
def test_errno_ret_as_runc_casts_it():
    doc = {"defaultAction": "SCMP_ACT_ALLOW", "defaultErrno": "ENOSYS", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 65536 + 13},  # int16(65549) = 13
        {"names": ["rmdir"], "action": "SCMP_ACT_TRAP", "errnoRet": 5},  # runc 1.1.5: TRAP takes no data
        {"names": ["chdir"], "action": "SCMP_ACT_TRACE"},  # TRACE defaults to EPERM like ERRNO
        {"names": ["fchdir"], "action": "SCMP_ACT_ERRNO", "errno": "EACCES"}]}  # containers-common names
    c = P.compile_profile(doc)
    assert decide(c, "mkdir") == "ERRNO(13)" and decide(c, "rmdir") == "TRAP"
    d = Stack([c.filter]).decide(SeccompData.make("x86_64", "chdir"))
    assert (d.action, d.data) == ("TRACE", errno.EPERM)
    assert decide(c, "fchdir") == "ERRNO(13)" and decide(c, "getpid") == "ALLOW"


def test_bad_options():
    with pytest.raises(UsageError, match="unknown capability 'CAP_SYS_ADMN'"):
        P.normalise_caps(["CAP_SYS_ADMN"])
    with pytest.raises(ConfigError, match="version cannot be 0.0"):
        P.parse_kernel_version("0.0")
    with pytest.raises(ConfigError, match="not valid JSON") as e:
        P.load_json('{"defaultAction": \n "SCMP_ACT_ERRNO",, }')
    assert e.value.line == 2
    with pytest.raises(UsageError, match="unknown architecture 'z80'"):
        P.compile_profile(_prof(), arch="z80")
    with pytest.raises(UsageError, match="no container runtime runs natively on x32"):
        P.compile_profile(_prof(), arch="x32")


def test_cli_errors_without_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("not json at all")
    assert main(["seccomp", "profile", str(bad), "-o", str(tmp_path / "x.bpf")]) == 2
    err = capsys.readouterr().err
    assert "not valid JSON" in err and str(bad) in err and "Traceback" not in err
    op = tmp_path / "op.json"
    op.write_text(json.dumps(BAD[0][0]))
    assert main(["seccomp", "profile", str(op)]) == 2
    err = capsys.readouterr().err
    assert f"{op}: syscalls[0].args[0].op: unknown operator 'SCMP_CMP_FOO'" in err and "Traceback" not in err
    assert main(["seccomp", "profile", str(op), "--cap", "NOPE"]) == 2
    assert "unknown capability" in capsys.readouterr().err
    assert main(["seccomp", "profile", str(tmp_path / "missing.json")]) == 2
    assert "no such file" in capsys.readouterr().err


@need_libseccomp
def test_cli_profile_then_run(tmp_path, capsys):
    out = tmp_path / "c.bpf"
    assert main(["seccomp", "profile", str(COMMON), "-o", str(out), "--cap", "NONE", "--kernel-version", "6.1",
                 "--json"]) == 0
    j = json.loads(capsys.readouterr().out)
    assert j["output"] == str(out) and j["format"] == "moby" and j["default_action"] == "ERRNO(38)"
    assert j["instructions"] * 8 == out.stat().st_size == j["bytes"] and j["caps"] == []
    assert j["skipped_unknown"] == [] and j["skipped_unknown_count"] == 0
    assert j["kernel"] == "6.1" and j["excluded_groups"]
    assert main(["seccomp", "run", str(out), "--syscall", "socket", "--args", "16", "3", "9", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert (r["action"], r["data"]) == ("ERRNO", 22)
    hand = tmp_path / "hand.json"
    hand.write_text(json.dumps(HANDMADE))
    assert main(["seccomp", "profile", str(hand)]) == 0
    text = capsys.readouterr().out
    assert (tmp_path / "hand.bpf").exists() and "2 names skipped: unknown to libseccomp" in text
    assert "not_a_syscall, mseal" in text and "patchbpf" in text


# --------------------------------------------------------------------------- the live kernel


def _live_skip():
    import platform

    if platform.machine() != "x86_64":
        return "the live-kernel check makes x86_64 syscalls"
    if not HAVE_LIBSECCOMP:
        return "pyseccomp/libseccomp not installed"
    from lwnlab.seccomp import kernel

    ok, why = kernel.available()
    return None if ok else f"seccomp not usable here: {why}"


@pytest.mark.skipif(_live_skip() is not None, reason=str(_live_skip()))
def test_live_kernel_agrees_with_seccomp_run():
    """Load the compiled filter in a child and make the syscall: the kernel does what `seccomp run` says.
    Only calls whose ALLOW is harmless are made (personality, a clone the kernel refuses with EINVAL,
    socket, getpid, numbers no syscall has); a denied call never runs."""
    from lwnlab.seccomp import kernel
    from lwnlab.seccomp.syscalls import syscall_nr

    moby = P.compile_profile(str(MOBY), kernel="6.18")
    common = P.compile_profile(str(COMMON), caps=["NONE"], kernel="6.18")
    hand = P.compile_profile(HANDMADE)
    cases = [
        (moby, "personality", (0,)), (moby, "personality", (8,)), (moby, "personality", (0xFFFFFFFF,)),
        (moby, "personality", (0x1234,)), (moby, "clone", (CLONE_NEWUSER,)), (moby, "clone", (CLONE_NEWNS,)),
        (moby, "clone", (CLONE_THREAD,)), (moby, "getpid", ()), (moby, 1000, ()), (moby, 600, ()),
        (moby, "mount", ()), (moby, "clone3", ()),
        (common, "socket", (AF_NETLINK, 3, NETLINK_AUDIT)), (common, "socket", (AF_NETLINK, 3, 0)),
        (common, 1000, ()), (common, "chroot", ()),
        (hand, "socket", (AF_VSOCK, 1, 0)), (hand, "socket", (2, 2, 0)), (hand, "kill", (NOPID, 9)),
        (hand, "personality", (9,)), (hand, "getpid", ()), (hand, 1000, ()),
        # syscalls the kernel has but the profile (cachestat, 451: newer than moby 20.10's list) or
        # libseccomp 2.5 (mseal, 462: skipped as unknown) does not name get the default action
        (moby, 451, ()), (hand, 462, ()),
    ]
    seen = set()
    for c, name, args in cases:
        nr = syscall_nr("x86_64", name) if isinstance(name, str) else name
        dec = Stack([c.filter]).decide(SeccompData.make("x86_64", nr, args))
        out = kernel.run_seccomp([c.raw], nr, args)
        assert out.installed, out.summary()
        if dec.action == "ERRNO":
            assert out.returned and out.rc == -1 and out.errno == min(dec.data, 4095), (name, args, out.summary())
        elif dec.action == "ALLOW":
            # it ran: whatever it returned, it is not the filter's errno
            assert out.returned and not out.trapped, (name, args, out.summary())
            assert out.rc >= 0 or out.errno != (c.default_action & 0xFFFF), (name, args, out.summary())
        else:
            raise AssertionError(f"unexpected sample {name} {dec.action}")
        seen.add(dec.action)
    assert seen == {"ERRNO", "ALLOW"}
