"""The nightly job's configuration: one TOML file (see ``docs/batch.md``).

Paths in the file are relative to the file's folder. A database URL can be kept
out of the file (it may hold a password) by naming an environment variable in
``url_env`` instead of writing ``url``.

Only the settings that change the plan enter :meth:`BatchConfig.settings_hash`
(horizon, history, solver, pledge period, version); output folders, logging and
the database URL do not, so moving a job to another disk or database does not
replan it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import AssignError, pydantic_lines


class ConfigError(AssignError):
    """A configuration file that cannot be used (exit code 2)."""


class _Section(BaseModel):
    # strict: TOML has types, and a key of the wrong one is an error (true as a
    # number of days or seconds, "7" as days, 0 as false were converted: the
    # audit of stop 47); no infinite or NaN number either
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


def _zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA timezone {value!r}") from exc
    return value


class JobSection(_Section):
    """``[job]``: what one night plans."""

    name: str = "assign"
    horizon_days: Annotated[int, Field(ge=1, le=366)] = 7
    timezone: str | None = None  # default: the input's horizon timezone

    _tz = field_validator("timezone")(_zone)


class InputSection(_Section):
    """``[input]``: where the county's lists come from."""

    kind: Literal["auto", "bundle", "json", "database"] = "auto"
    path: str | None = None  # bundle folder or JSON file
    url: str | None = None  # database input; default: the ledger's database
    url_env: str | None = None
    prefix: str = ""  # table-name prefix of the input tables
    pledge_days: Annotated[float, Field(gt=0)] | None = None  # default: the input's horizon length


class LedgerSection(_Section):
    """``[ledger]``: the database that records every run."""

    url: str | None = None
    url_env: str | None = None
    prefix: str = ""  # table-name prefix of the ledger tables
    connect_timeout: Annotated[float, Field(gt=0)] = 10.0


class SolveSection(_Section):
    """``[solve]``: arguments of :func:`assign.solve`."""

    strategy: str = "auto"  # assign.solve's default (the best schedules; a rerun reuses the stored one)
    time_limit: Annotated[float, Field(gt=0)] | None = None
    seed: int = 0
    workers: Annotated[int, Field(ge=1)] | None = None
    k: Annotated[int, Field(ge=1)] | None = None
    # in parts that share no volunteer: none = only when the whole would not
    # fit the memory; true = from the start (a province: no whole build first)
    parts: bool | None = None


class HistorySection(_Section):
    """``[history]``: what the ledger feeds back into the problem."""

    enabled: bool = True
    window_days: Annotated[int, Field(ge=1, le=366)] = 28


class OutputSection(_Section):
    """``[output]``: the folder that receives one sub-folder per date."""

    dir: str = "out"
    dispatch: bool = True
    calendars: bool = True
    report: bool = True
    report_rows: Annotated[int, Field(ge=0)] = 500  # uncovered needs listed in the report


class LogSection(_Section):
    """``[log]``: how the job talks on stderr."""

    format: Literal["text", "json"] = "text"


class BatchConfig(_Section):
    """A whole ``nightly.toml``; ``base`` is the folder paths are relative to."""

    job: JobSection = JobSection()
    input: InputSection = InputSection()
    ledger: LedgerSection = LedgerSection()
    solve: SolveSection = SolveSection()
    history: HistorySection = HistorySection()
    output: OutputSection = OutputSection()
    log: LogSection = LogSection()
    base: str = "."
    #: the config file, for messages (not a key of the file)
    file: str = "<config>"

    # ------------------------------------------------------------ resolved values

    def path(self, value: str) -> Path:
        """A path of the config, resolved against its folder."""
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else Path(self.base) / p

    @property
    def output_dir(self) -> Path:
        return self.path(self.output.dir)

    def ledger_url(self) -> str:
        """The ledger's SQLAlchemy URL (``url_env`` first, then ``url``, then an
        SQLite file ``ledger.sqlite`` next to the config)."""
        url = _url_from(self.ledger.url, self.ledger.url_env, "ledger")
        return _sqlite_relative(url or "sqlite:///ledger.sqlite", self)

    def input_kind(self) -> str:
        """``bundle``, ``json`` or ``database``."""
        kind = self.input.kind
        if kind != "auto":
            return kind
        if self.input.path is None:
            return "database"
        p = self.path(self.input.path)
        return "json" if p.suffix == ".json" and not p.is_dir() else "bundle"

    def input_url(self) -> str:
        """The database input's URL (default: the ledger's)."""
        url = _url_from(self.input.url, self.input.url_env, "input")
        return _sqlite_relative(url, self) if url else self.ledger_url()

    def settings(self) -> dict[str, Any]:
        """The settings that change the plan (they make the run key)."""
        from .. import __version__

        return {
            "version": __version__,
            "horizon_days": self.job.horizon_days,
            "timezone": self.job.timezone,
            "pledge_days": self.input.pledge_days,
            "solve": self.solve.model_dump(),
            "history": self.history.model_dump(),
        }

    def settings_hash(self) -> str:
        """SHA-256 of :meth:`settings` as canonical JSON."""
        text = json.dumps(self.settings(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _url_from(url: str | None, env: str | None, what: str) -> str | None:
    if env:
        value = os.environ.get(env)
        if value:
            return value
        if url is None:
            raise ConfigError(f"[{what}] url_env names {env!r}, which is not set")
    return url


def _sqlite_relative(url: str, config: BatchConfig) -> str:
    """``sqlite:///name.sqlite`` is relative to the config's folder, not to the
    working directory (cron starts jobs in $HOME)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
        rest = url[len(prefix) :]
        if rest and not rest.startswith(":"):
            return prefix + str(config.path(rest).resolve())
    return url


def redact(url: str) -> str:
    """A database URL without its password, for messages."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a message must never fail
        return url.split("@")[-1]


def config_from_dict(raw: dict[str, Any], base: str | os.PathLike[str] = ".", file: str = "<config>") -> BatchConfig:
    """Validate a parsed config; :class:`ConfigError` names the key and what is wrong."""
    lines = []
    if not isinstance(raw.get("input"), dict) or not raw["input"]:
        # (every key has a default but the input: an empty config read the
        # ledger's database as the input, the audit of stop 47)
        lines.append(
            f"{file}: input: missing; give [input] path (a bundle folder or a JSON file), "
            'or kind = "database" (with url or url_env, else the ledger\'s database)'
        )
    try:
        config = BatchConfig.model_validate({**raw, "base": str(base), "file": file})
    except ValidationError as exc:
        lines += pydantic_lines(exc, file, "config")
    if lines:
        raise ConfigError("\n".join(lines)) from None
    return config


def load_config(path: str | os.PathLike[str]) -> BatchConfig:
    """Read ``nightly.toml``; :class:`ConfigError` when it is missing or wrong."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read config: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from None
    for key in ("base", "file"):
        if key in raw:
            raise ConfigError(f"{p}: {key}: unknown key")
    return config_from_dict(raw, base=p.resolve().parent, file=str(p))
