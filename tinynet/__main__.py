"""``python -m tinynet [bench | plot] ...``: the console script; see :mod:`tinynet._cli`."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
