# deny_openat_path.s -- fail openat("/etc/shadow", ...) with EACCES, by reading the path from user memory.
#
# An eBPF seccomp filter (BPF_PROG_TYPE_SECCOMP from YiFei Zhu's 2021 RFC: proposed, never merged).
# A classic filter sees only the pointer in args[1], never the string behind it.  Reading user
# memory is bpf_probe_read_user_str (patch 10), which needs CAP_BPF and CAP_PERFMON: an
# unprivileged loader is refused at load time.  At run time the helper returns -EPERM for a
# non-dumpable task unless the loader has CAP_SYS_PTRACE, and -EFAULT for an unmapped pointer;
# the filter then fails the openat with that errno (fail closed).
#
# (A real policy would also resolve dirfd, "..", symlinks and races -- the TOCTOU problem that
# made seccomp avoid dereferencing pointers in the first place.)

    ldxw %r2, [%r1+4]               # arch
    lddw %r3, 0xc000003e            # AUDIT_ARCH_X86_64
    jne %r2, %r3, kill
    ldxw %r2, [%r1+0]               # nr
    jne %r2, 257, allow             # openat
    ldxdw %r3, [%r1+24]             # args[1]: const char *pathname
    mov %r1, %r10
    add %r1, -64                    # a 64-byte buffer on the stack
    mov %r2, 64
    call 114                        # bpf_probe_read_user_str(buf, 64, pathname)
    jslt %r0, 0, fail               # -EFAULT / -EPERM
    jne %r0, 12, allow              # strlen("/etc/shadow") + 1
    ldxdw %r1, [%r10-64]
    lddw %r2, 0x6168732f6374652f    # "/etc/sha" (little-endian)
    jne %r1, %r2, allow
    ldxw %r1, [%r10-56]
    jne %r1, 0x00776f64, allow      # "dow\0"
    mov32 %r0, 0x0005000d           # SECCOMP_RET_ERRNO | EACCES
    exit
fail:
    neg %r0                         # the helper's errno
    and %r0, 0xffff
    or %r0, 0x00050000              # SECCOMP_RET_ERRNO | errno
    exit
allow:
    mov32 %r0, 0x7fff0000           # SECCOMP_RET_ALLOW
    exit
kill:
    mov32 %r0, 0x80000000           # SECCOMP_RET_KILL_PROCESS
    exit
