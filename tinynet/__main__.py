"""``python -m tinynet [bench ...]``: see :mod:`tinynet._bench`."""

import sys

from ._bench import main

if __name__ == "__main__":
    sys.exit(main())
