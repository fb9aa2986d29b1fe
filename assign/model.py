"""The SPEC §3 problem and §8 schedule as frozen pydantic v2 models.

This is the only module that knows field names and defaults. Everything after
:func:`assign.compile.compile_problem` works on numpy arrays instead.

Readings of the spec made here (see ``docs/formats.md``):

* Policy maps merge with the defaults key by key; the merged map is stored, so a
  problem written back out states every tier, skill list, weight explicitly.
* ``max_minutes``, ``max_tasks_per_day``, ``max_travel_km`` and ``tier`` stay
  ``None`` when absent ("use the default"), so round trips keep them absent.
* Lists are stored as tuples: the models are immutable all the way down.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

PROBLEM_FORMAT = "assign/problem@1"
SCHEDULE_FORMAT: Literal["assign/schedule@1"] = "assign/schedule@1"

DEFAULT_SERVICE_TIERS: dict[str, int] = {
    "medical": 1,
    "disability_care": 2,
    "meals": 3,
    "companionship": 4,
    "household": 4,
    "errands": 4,
}
DEFAULT_SERVICE_SKILLS: dict[str, tuple[str, ...]] = {
    "medical": ("medical",),
    "disability_care": ("care",),
    "meals": ("meals",),
    "companionship": (),
    "household": (),
    "errands": (),
}
DEFAULT_GROUP_WEIGHTS: dict[str, int] = {
    "disabled_dementia": 6,
    "solitary": 4,
    "special_family": 4,
    "low_income": 3,
    "left_behind": 3,
}
DEFAULT_WEIGHTS: dict[str, float] = {
    "fairness": 10.0,
    "equity": 5.0,
    "continuity": 2.0,
    "cross": 1.0,
    "preference": 1.0,
    "stability": 3.0,
}
SOFT_TERMS: tuple[str, ...] = (
    "travel_km",
    "fairness",
    "equity",
    "discontinuity",
    "cross_community",
    "mismatches",
    "changes",
)
RULE_NAMES: dict[int, str] = {
    1: "references",
    2: "whole_teams",
    3: "window",
    4: "skills",
    5: "availability",
    6: "radius",
    7: "community",
    8: "exclusion",
    9: "double_booking",
    10: "pledged_minutes",
    11: "daily_limit",
    12: "pins",
}
REASON_CODES: tuple[str, ...] = (
    "no_skill",
    "out_of_range",
    "excluded",
    "no_availability",
    "team_too_small",
    "capacity",
)


def _not_text(value: Any) -> None:
    """Numbers are JSON numbers (SPEC §3 gives the types): text such as
    ``"30"`` is refused, not read as one (a bundle's CSV cells are parsed
    as numbers before the model sees them)."""
    if isinstance(value, str):
        raise ValueError(f"expected a number, got the text {value!r}")


#: the largest whole number a field takes (2^30 - 1: 2,000 years of minutes).
#: The exact model squares a volunteer's minutes (fairness), which must stay
#: inside 64-bit integers (docs/readings.md)
MAX_WHOLE = (1 << 30) - 1
#: the largest soft-score weight in size (docs/readings.md)
MAX_WEIGHT = 1e9
#: the longest horizon, in days (docs/readings.md)
MAX_HORIZON_DAYS = 366
#: the largest tier: the score holds U_1 ... U_T for T the largest tier present
#: (SPEC §6), so a tier of 10^8 asked for arrays of 10^8 entries per tier
#: vector and a schedule file to match (docs/readings.md, "Limits")
MAX_TIER = 1000
#: distinct skill names and distinct service names a problem may use (each is
#: compiled to a bit of a 64-bit mask; docs/readings.md, "Limits")
MAX_NAMES = 64


def _strict_int(value: Any) -> Any:
    """Accept ints and integral floats of at most :data:`MAX_WHOLE` in size;
    refuse booleans (SPEC §10) and text."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    _not_text(value)
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise ValueError(f"expected a whole number, got {value!r}")
        value = int(value)
    if isinstance(value, int) and abs(value) > MAX_WHOLE:
        raise ValueError(f"{value} is too large: whole numbers are at most {MAX_WHOLE:,} in size")
    return value


def _strict_bool(value: Any) -> Any:
    """Booleans are JSON's true and false: not 1, "yes" or "true"."""
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def _strict_float(value: Any) -> Any:
    """Refuse booleans, text and non-finite floats for real-valued fields."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    _not_text(value)
    if isinstance(value, (int, float)) and not math.isfinite(float(value)):
        raise ValueError(f"expected a finite number, got {value!r}")
    return value


_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_NO_OFFSET = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?")


def _iso_datetime(value: Any) -> Any:
    """Datetimes are ISO 8601 text with a UTC offset (SPEC §2, §10): no numbers,
    no date-only values."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:  # (a TOML local datetime)
            raise ValueError(f"{value.isoformat()} has no UTC offset; write e.g. 2026-11-30T08:00:00+08:00")
        return value
    if isinstance(value, date):  # (TOML: a local date)
        raise ValueError(
            f"{value.isoformat()} is a date without a time; give a datetime with offset, e.g. 2026-11-30T08:00:00+08:00"
        )
    if isinstance(value, time):  # (TOML: a local time)
        raise ValueError(f"{value.isoformat()} is a time without a date; write e.g. 2026-11-30T08:00:00+08:00")
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 datetime with offset, got {type(value).__name__} {value!r}")
    text = value.strip()
    if text[-1:] in ("Z", "z") or (len(text) > 6 and text[-6] in "+-" and text[-3] == ":"):
        return value  # ends in an offset: neither pattern below can match (a province: 6.7 M values)
    if _DATE_ONLY.fullmatch(text):
        raise ValueError(f"{value!r} is a date without a time; give a datetime with offset, e.g. 2026-11-30T08:00:00+08:00")
    if _NO_OFFSET.fullmatch(text):
        raise ValueError(f"{value!r} has no UTC offset; write e.g. 2026-11-30T08:00:00+08:00")
    return value


Moment = Annotated[AwareDatetime, BeforeValidator(_iso_datetime)]
Int = Annotated[int, BeforeValidator(_strict_int)]
NonNegInt = Annotated[int, BeforeValidator(_strict_int), Field(ge=0)]
PosInt = Annotated[int, BeforeValidator(_strict_int), Field(gt=0)]
Float = Annotated[float, BeforeValidator(_strict_float)]
Tier = Annotated[int, BeforeValidator(_strict_int), Field(ge=1, le=MAX_TIER)]
PosFloat = Annotated[float, BeforeValidator(_strict_float), Field(gt=0)]
Latitude = Annotated[float, BeforeValidator(_strict_float), Field(ge=-90, le=90)]
Longitude = Annotated[float, BeforeValidator(_strict_float), Field(ge=-180, le=180)]
Id = Annotated[str, Field(min_length=1, max_length=64)]
Name = Annotated[str, Field(min_length=1)]


def _no_empty_items(values: tuple[str, ...]) -> tuple[str, ...]:
    for item in values:
        if item == "":
            raise ValueError("list items must be non-empty strings")
    return values


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=False)


class Horizon(_Frozen):
    """The planning horizon ``[start, end)``; ``timezone`` defines calendar days."""

    start: Moment
    end: Moment
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            # (a name of a tz database folder, e.g. "America", is an OSError)
            raise ValueError(f"unknown IANA timezone {value!r}") from exc
        return value

    @field_validator("end")
    @classmethod
    def _ordered(cls, value: datetime, info: ValidationInfo) -> datetime:
        # a field validator (not a model one) so that the error names the field
        start = info.data.get("start")
        if start is not None and value <= start:
            raise ValueError("horizon end must be after its start")
        if start is not None and value - start > timedelta(days=MAX_HORIZON_DAYS):
            raise ValueError(f"the horizon is longer than {MAX_HORIZON_DAYS} days")
        return value

    @property
    def minutes(self) -> int:
        """Length of the horizon in whole minutes."""
        return int((self.end - self.start).total_seconds() // 60)


class Policy(_Frozen):
    """County-wide rules and weights; maps merge with the SPEC §5/§6 defaults."""

    speed_kmh: PosFloat = 12.0
    detour_factor: Annotated[float, BeforeValidator(_strict_float), Field(ge=1)] = 1.3
    max_travel_km: PosFloat = 5.0
    cross_community: Literal["allow", "forbid"] = "allow"
    count_travel_in_capacity: Annotated[bool, BeforeValidator(_strict_bool)] = False
    service_tiers: dict[str, Tier] = Field(
        default_factory=lambda: dict(DEFAULT_SERVICE_TIERS)
    )
    service_skills: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: dict(DEFAULT_SERVICE_SKILLS)
    )
    group_weights: dict[str, Int] = Field(default_factory=lambda: dict(DEFAULT_GROUP_WEIGHTS))
    missed_weight: NonNegInt = 2
    weights: dict[str, Float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))

    @field_validator("service_tiers", mode="after")
    @classmethod
    def _merge_tiers(cls, value: dict[str, int]) -> dict[str, int]:
        return {**DEFAULT_SERVICE_TIERS, **value}

    @field_validator("service_skills", mode="after")
    @classmethod
    def _merge_skills(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for skills in value.values():
            _no_empty_items(skills)
        return {**DEFAULT_SERVICE_SKILLS, **value}

    @field_validator("group_weights", mode="after")
    @classmethod
    def _merge_groups(cls, value: dict[str, int]) -> dict[str, int]:
        return {**DEFAULT_GROUP_WEIGHTS, **value}

    @field_validator("weights", mode="after")
    @classmethod
    def _merge_weights(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(DEFAULT_WEIGHTS))
        if unknown:
            raise ValueError(
                f"unknown soft-score weight {', '.join(unknown)}; "
                f"known: {', '.join(DEFAULT_WEIGHTS)}"
            )
        huge = sorted(k for k, w in value.items() if abs(w) > MAX_WEIGHT)
        if huge:
            raise ValueError(f"soft-score weight {', '.join(huge)} is larger than {MAX_WEIGHT:g} in size")
        return {**DEFAULT_WEIGHTS, **value}


class Community(_Frozen):
    """A community (社区) that volunteers register with and recipients live in."""

    id: Id
    name: str = ""
    lat: Latitude | None = None
    lon: Longitude | None = None

    @model_validator(mode="after")
    def _name_defaults_to_id(self) -> Community:
        if not self.name:
            object.__setattr__(self, "name", self.id)
        return self


Interval = tuple[Moment, Moment]


class Volunteer(_Frozen):
    """A volunteer of the supply list."""

    id: Id
    community: Id
    org: str = ""
    lat: Latitude
    lon: Longitude
    skills: tuple[str, ...] = ()
    availability: tuple[Interval, ...] = ()
    max_minutes: NonNegInt | None = None
    max_tasks_per_day: NonNegInt | None = None
    max_travel_km: PosFloat | None = None
    preferred_services: tuple[str, ...] = ()
    history_minutes: NonNegInt = 0
    history_capacity: NonNegInt = 0

    _items = field_validator("skills", "preferred_services")(_no_empty_items)

    @field_validator("availability")
    @classmethod
    def _intervals_ordered(cls, value: tuple[Interval, ...]) -> tuple[Interval, ...]:
        for index, (start, end) in enumerate(value):
            if end < start:  # (an empty one, end == start, is allowed: it holds no visit)
                raise ValueError(f"availability interval {index} ends before it starts")
        return value


class Recipient(_Frozen):
    """An elderly resident who receives services; every task happens at their home."""

    id: Id
    community: Id
    lat: Latitude
    lon: Longitude
    groups: tuple[str, ...] = ()
    preferred_volunteers: tuple[str, ...] = ()
    excluded_volunteers: tuple[str, ...] = ()
    missed_visits: NonNegInt = 0

    _items = field_validator("groups", "preferred_volunteers", "excluded_volunteers")(
        _no_empty_items
    )


class Task(_Frozen):
    """One service visit of the demand list."""

    id: Id
    recipient: Id
    service: Name
    tier: Tier | None = None
    required_skills: tuple[str, ...] = ()
    window_start: Moment
    window_end: Moment
    duration_min: PosInt
    volunteers_needed: Annotated[int, BeforeValidator(_strict_int), Field(ge=1)] = 1
    pinned: tuple[str, ...] = ()
    previous_volunteers: tuple[str, ...] = ()

    _items = field_validator("required_skills", "pinned", "previous_volunteers")(_no_empty_items)

    @field_validator("window_end")
    @classmethod
    def _window_ordered(cls, value: datetime, info: ValidationInfo) -> datetime:
        # (an end before the start was reported on duration_min as a window of
        # negative minutes: the audit of stop 47)
        start = info.data.get("window_start")
        if start is not None and value < start:
            raise ValueError("the window ends before it starts")
        return value

    @field_validator("duration_min")
    @classmethod
    def _window_fits(cls, value: int, info: ValidationInfo) -> int:
        # a field validator (not a model one) so that the error names the field
        start, end = info.data.get("window_start"), info.data.get("window_end")
        if start is not None and end is not None:
            span = (end - start).total_seconds() / 60
            if span < value:
                raise ValueError(f"window of {span:g} min is shorter than duration_min {value}")
        return value


class PastAssignment(_Frozen):
    """An assignment from before the horizon, kept for reports."""

    task: Id
    volunteer: Id
    recipient: Id
    start: Moment
    minutes: NonNegInt


class History(_Frozen):
    """Optional past assignments."""

    assignments: tuple[PastAssignment, ...] = ()


class Problem(_Frozen):
    """A whole SPEC §3 problem. Build it with :func:`assign.io.load` to get
    cross-reference checks with file/row locations, or directly and call
    :func:`assign.validate.validate_problem`."""

    format: Literal["assign/problem@1"]
    name: str
    horizon: Horizon
    policy: Policy = Field(default_factory=Policy)
    communities: tuple[Community, ...] = ()
    volunteers: tuple[Volunteer, ...] = ()
    recipients: tuple[Recipient, ...] = ()
    tasks: tuple[Task, ...] = ()
    history: History = Field(default_factory=History)

    def task_tier(self, task: Task) -> int:
        """The task's tier: its own, else its service's (SPEC §3)."""
        if task.tier is not None:
            return task.tier
        return self.policy.service_tiers[task.service]

    def task_skills(self, task: Task) -> tuple[str, ...]:
        """Required skills: the task's own, else its service's (SPEC §10)."""
        if task.required_skills:
            return task.required_skills
        return tuple(self.policy.service_skills.get(task.service, ()))


# --------------------------------------------------------------------------- schedule


class Assignment(_Frozen):
    """One volunteer on one task, starting at ``start``."""

    task: Id
    volunteer: Id
    start: Moment
    end: Moment | None = None
    travel_km: float | None = None


class Unassigned(_Frozen):
    """An uncovered task with its SPEC §7 reason."""

    task: Id
    reason: Literal["no_skill", "out_of_range", "excluded", "no_availability", "team_too_small", "capacity"]
    detail: str = ""


class Conflict(_Frozen):
    """A dropped pin and the rule it would break."""

    task: Id
    volunteer: Id
    rule: str


class ScoreTerms(_Frozen):
    travel_km: float = 0.0
    fairness: float = 0.0
    equity: float = 0.0
    discontinuity: float = 0.0
    cross_community: float = 0.0
    mismatches: float = 0.0
    changes: float = 0.0


class Score(_Frozen):
    """The lexicographic score ``(U_1..U_T, soft)``; lower is better."""

    uncovered: tuple[int, ...]
    soft: float
    terms: ScoreTerms = Field(default_factory=ScoreTerms)

    def key(self) -> tuple[float, ...]:
        """The tuple compared lexicographically."""
        return (*self.uncovered, self.soft)


class Bound(_Frozen):
    """A tuple no valid schedule beats."""

    uncovered: tuple[int, ...]
    soft: float

    def key(self) -> tuple[float, ...]:
        return (*self.uncovered, self.soft)


class SolverInfo(_Frozen):
    strategy: str
    seconds: float = 0.0
    seed: int = 0
    version: str = ""


class Schedule(_Frozen):
    """A SPEC §8 schedule with its score, bound, explanations and metrics."""

    format: Literal["assign/schedule@1"] = SCHEDULE_FORMAT
    problem: str
    status: Literal["optimal", "feasible"] = "feasible"
    assignments: tuple[Assignment, ...] = ()
    unassigned: tuple[Unassigned, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    score: Score | None = None
    bound: Bound | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    solver: SolverInfo | None = None

    @property
    def gap(self) -> float | None:
        """SPEC §6 gap, once the uncovered part equals the bound's; else None."""
        if self.score is None or self.bound is None:
            return None
        if tuple(self.score.uncovered) != tuple(self.bound.uncovered):
            return None
        return (self.score.soft - self.bound.soft) / max(1.0, abs(self.score.soft))


def interval_union(
    intervals: Iterable[tuple[datetime, datetime]], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The union of half-open intervals inside ``[start, end)``, as sorted
    disjoint intervals (touching ones joined; empty ones dropped)."""
    out: list[tuple[datetime, datetime]] = []
    for a, b in sorted((max(a, start), min(b, end)) for a, b in intervals):
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def horizon_days(horizon: Horizon) -> list[datetime]:
    """Day boundaries: the local midnight starting every calendar day that touches
    the horizon, then the midnight ending the last of them."""
    zone = ZoneInfo(horizon.timezone)
    local = horizon.start.astimezone(zone)
    day = datetime(local.year, local.month, local.day, tzinfo=zone)
    days = []
    end = horizon.end.astimezone(zone)
    while True:
        days.append(day)
        if day >= end:
            return days
        nxt = (day + timedelta(days=1, hours=3)).replace(hour=0, minute=0, second=0, microsecond=0)
        day = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
