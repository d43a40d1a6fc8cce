"""Kernel feature probes used by `lwnlab info` and the seccomp lab's live oracle."""

import os
import platform

import pytest

from lwnlab import system

linux_root = pytest.mark.skipif(platform.system() != "Linux" or os.geteuid() != 0,
                                reason="needs Linux and root to load BPF programs")


def test_probes_answer_with_a_reason():
    for probe in (system.probe_seccomp(), system.probe_bpf()):
        assert isinstance(probe.usable, bool) and probe.detail
        assert str(probe).startswith(("usable", "not usable"))


@linux_root
def test_seccomp_and_bpf_usable_as_root():
    s = system.probe_seccomp()
    assert s.usable, s.detail
    b = system.probe_bpf()
    assert b.usable, b.detail


def test_unknown_syscall_is_enosys(monkeypatch):
    import errno

    monkeypatch.setattr(system, "syscall_number", lambda name: None)
    assert system.raw_syscall("seccomp", 0) == (-1, errno.ENOSYS)
