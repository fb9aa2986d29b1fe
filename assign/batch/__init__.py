"""The nightly batch job (``assign batch``): a ledger in a SQL database, history
fed back into each night's problem, idempotent and crash-safe outputs (schedule,
CSV sheets, dispatch sheets, calendars, an HTML report).

See ``docs/batch.md``. The public surface::

    from assign.batch import load_config, run_batch
    result = run_batch(load_config("nightly.toml"), "2026-11-30")
    result.exit_code, result.folder, result.summary
"""

from __future__ import annotations

from .config import BatchConfig, ConfigError, config_from_dict, load_config
from .ledger import Ledger, LedgerError
from .run import EXIT_CODES, BatchResult, run_batch

__all__ = [
    "BatchConfig",
    "BatchResult",
    "ConfigError",
    "EXIT_CODES",
    "Ledger",
    "LedgerError",
    "config_from_dict",
    "load_config",
    "run_batch",
]
