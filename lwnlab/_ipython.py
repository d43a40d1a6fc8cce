"""In IPython and Jupyter, show an LwnlabError as its message, not as a stack trace.

Installed by ``import lwnlab`` when an IPython shell is running. Readers see
``ConfigError: field 'seconds': must be positive`` in red, with the place in
their input that is wrong; anything that is not an LwnlabError (a bug, or an
error in the reader's own code) still shows IPython's normal traceback.
"""

from __future__ import annotations


def _show_lwnlab_error(shell, etype, evalue, tb, tb_offset=None):
    from IPython.display import display

    text = f"{etype.__name__}: {evalue}"
    try:
        display({"text/html": evalue._repr_html_(), "text/plain": text}, raw=True)
    except Exception:  # no display machinery: plain text
        print(text)
    return None


def install() -> bool:
    """Register the handler with the running IPython shell; True if there is one."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    from lwnlab.errors import LwnlabError

    shell.set_custom_exc((LwnlabError,), _show_lwnlab_error)
    return True
