# count_limit.s -- count every syscall by number; deny a number (EPERM) once it was called more than N times.
#
# An eBPF seccomp filter (BPF_PROG_TYPE_SECCOMP from YiFei Zhu's 2021 RFC: proposed, never merged).
# Map "counts" (hash, nr -> calls so far) is the state a classic filter cannot keep; map "limit"
# (a one-entry array) holds N, so the policy can be changed without reloading: N = 0 means no limit.
#
.map 1 counts hash key_size=4 value_size=8 max_entries=512
.map 2 limit array key_size=4 value_size=8 max_entries=1

    ldxw %r2, [%r1+4]               # arch
    lddw %r3, 0xc000003e            # AUDIT_ARCH_X86_64
    jne %r2, %r3, kill
    ldxw %r6, [%r1+0]               # r6 = nr (callee-saved: survives helper calls)
    stxw [%r10-4], %r6              # key = nr
    lddw %r1, map_fd(1)
    mov %r2, %r10
    add %r2, -4
    call 1                          # bpf_map_lookup_elem(&counts, &nr)
    jne %r0, 0, seen
    stdw [%r10-16], 1               # first call of this nr: insert 1
    lddw %r1, map_fd(1)
    mov %r2, %r10
    add %r2, -4
    mov %r3, %r10
    add %r3, -16
    mov %r4, 1                      # BPF_NOEXIST
    call 2                          # bpf_map_update_elem (-E2BIG when the map is full: then uncounted)
    mov %r7, 1
    ja check
seen:
    mov %r1, 1
    lock add [%r0+0], %r1           # count it (atomically, as other CPUs may run the filter too)
    ldxdw %r7, [%r0+0]              # r7 = calls so far, this one included
check:
    stw [%r10-8], 0
    lddw %r1, map_fd(2)
    mov %r2, %r10
    add %r2, -8
    call 1                          # N = limit[0]
    jeq %r0, 0, allow
    ldxdw %r1, [%r0+0]
    jeq %r1, 0, allow               # N = 0: no limit
    jle %r7, %r1, allow             # the first N calls pass
    mov32 %r0, 0x00050001           # SECCOMP_RET_ERRNO | EPERM
    exit
allow:
    mov32 %r0, 0x7fff0000           # SECCOMP_RET_ALLOW
    exit
kill:
    mov32 %r0, 0x80000000           # SECCOMP_RET_KILL_PROCESS
    exit
