"""``python -m assign.batch --config nightly.toml [--date D]``."""

from .cli import main

raise SystemExit(main())
