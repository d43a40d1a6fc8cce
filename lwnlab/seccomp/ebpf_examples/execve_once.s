# execve_once.s -- allow execve once per process, then fail it with EPERM.
#
# An eBPF seccomp filter (BPF_PROG_TYPE_SECCOMP from YiFei Zhu's 2021 RFC: proposed, never merged).
# A classic filter cannot do this: it has no memory from one syscall to the next.  Here a flag in
# task storage (patch 12 of the RFC) remembers that the process has already called execve; task
# NULL means the calling task's group leader, so the flag is per process.
#
#   r1 = struct seccomp_data *   (read-only: nr @0 u32, arch @4 u32, args[i] @16+8i u64)
#   returns SECCOMP_RET_*        (ALLOW 0x7fff0000, ERRNO 0x00050000 | errno, KILL_PROCESS 0x80000000)
#
.map 1 exec_seen task_storage key_size=4 value_size=8 max_entries=0

    ldxw %r2, [%r1+4]               # arch
    lddw %r3, 0xc000003e            # AUDIT_ARCH_X86_64 (lddw: a 32-bit immediate would be sign-extended)
    jne %r2, %r3, kill
    ldxw %r2, [%r1+0]               # nr
    jne %r2, 59, allow              # only execve (59) is limited
    lddw %r1, map_fd(1)             # the task storage map
    mov %r2, 0                      # task = NULL: the group leader
    mov %r3, 0                      # no initial value (zeroed)
    mov %r4, 1                      # BPF_LOCAL_STORAGE_GET_F_CREATE
    call 156                        # bpf_task_storage_get
    jeq %r0, 0, deny                # no storage (out of memory): fail closed
    ldxdw %r1, [%r0+0]
    jne %r1, 0, deny                # already exec'd once
    stdw [%r0+0], 1                 # remember this execve
allow:
    mov32 %r0, 0x7fff0000           # SECCOMP_RET_ALLOW
    exit
deny:
    mov32 %r0, 0x00050001           # SECCOMP_RET_ERRNO | EPERM
    exit
kill:
    mov32 %r0, 0x80000000           # SECCOMP_RET_KILL_PROCESS
    exit
