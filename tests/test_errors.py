import pytest

from lwnlab.errors import CompileError, ConfigError, FilterError, LwnlabError, VerifierError


def test_location_formats():
    assert CompileError("unsupported 'with'", file="f.py", line=3, column=7).describe() == "f.py:3:7: unsupported 'with'"
    assert CompileError("x", line=3, column=1).describe() == "line 3, column 1: x"
    assert FilterError("jump out of range", pc=12).describe() == "pc 12: jump out of range"
    assert ConfigError("must be > 0", field="seconds").describe() == "field 'seconds': must be > 0"
    assert LwnlabError("plain").describe() == "plain"


def test_hierarchy_and_json():
    e = VerifierError("R2 !read_ok", pc=4, log="0: r0 = r2")
    assert isinstance(e, FilterError) and isinstance(e, LwnlabError)
    assert e.pc == 4 and e.log.startswith("0:")
    assert e.to_json() == {"kind": "verifier", "message": "R2 !read_ok", "pc": 4}
    with pytest.raises(LwnlabError, match="pc 4"):
        raise e


def test_notebook_display_is_the_message():
    html = ConfigError("bad <value>", field="x")._repr_html_()
    assert "bad &lt;value&gt;" in html and "Traceback" not in html


def test_ipython_shows_the_message_not_a_stack(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    from lwnlab import _ipython

    shell = InteractiveShell.instance()
    try:
        assert _ipython.install()
        shell.run_cell("from lwnlab.errors import ConfigError\nraise ConfigError('must be positive', field='seconds')")
        out = capsys.readouterr().out
        assert "field 'seconds': must be positive" in out and "Traceback" not in out
        shell.run_cell("raise ValueError('a real bug')")  # other errors keep their traceback
        out = capsys.readouterr()
        assert "ValueError" in out.out + out.err
    finally:
        InteractiveShell.clear_instance()
