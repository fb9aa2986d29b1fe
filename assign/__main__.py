"""``python -m assign``: the command line (see :mod:`assign.cli`)."""

from .cli import main

raise SystemExit(main())
