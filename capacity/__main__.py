"""``python -m capacity``: the same entry point as the ``capacity`` command."""

import sys

from capacity.cli import main

if __name__ == "__main__":
    sys.exit(main())
