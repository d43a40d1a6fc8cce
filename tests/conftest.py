"""Shared test setup: headless matplotlib, and helpers every lab's tests use."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import pytest  # noqa: E402


def pytest_report_header(config):
    from lwnlab import _jit

    return f"lwnlab: numba jit {'DISABLED' if _jit.jit_disabled() else 'enabled'}, cache {_jit.cache_dir()}"


@pytest.fixture
def no_recompile():
    """Use as ``with no_recompile(): ...`` to assert that nothing compiles a new numba signature."""
    from lwnlab._jit import no_recompile as ctx

    return ctx


@pytest.fixture(autouse=True)
def _close_figures():
    """Widget factories open figures; close them after each test so a long session never piles them up."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
