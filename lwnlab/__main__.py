"""``python -m lwnlab``: the same as the ``lwnlab`` command."""

import sys

from lwnlab.cli import main

if __name__ == "__main__":
    sys.exit(main())
