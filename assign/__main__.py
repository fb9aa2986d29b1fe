"""``python -m assign``: the command line (see :mod:`assign.cli`)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
