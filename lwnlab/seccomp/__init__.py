"""seccomp on top of lwnlab.bpf: seccomp_data, actions and precedence, syscall tables, the kernel's
prepare/attach/run steps (filter.py), libseccomp interop, the live-kernel oracle, traces, widgets, CLI."""
