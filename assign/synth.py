"""Synthetic counties: problems calibrated to the seed figures, from a community
to a province.

A *scenario* (``scenarios/<name>.toml``) holds every parameter of a synthetic
problem: counts, horizon, geography, skills, availability patterns, service mix,
priority groups, pins and exclusions. Each parameter carries a comment in the
TOML file saying where it comes from: a figure of ``context/README.md`` (the two
seed articles) or an explicit assumption.

How a problem is built (vectorized with numpy: the generation loops over
counties, services, days and availability blocks, never over volunteers or
tasks; only :func:`generate` then makes one dict per entity for pydantic):

1. **Layout** (once per scenario and seed). County seats are either listed in
   the scenario (real coordinates) or sampled around listed city centres with a
   minimum separation. Every county is laid out like Shiquan's county town: the
   first community at the seat, the others scattered around it with the same
   spread (scaled by the square root of the number of communities), so the
   density of people per community and per square kilometre stays that of
   Shiquan as the population grows, and radius queries stay county-sized.
   Communities get a size and independent supply and demand factors (some
   deliberately understaffed); volunteers, recipients and tasks are spread over
   communities by multinomial draws from these weights, so demand exceeds supply
   in some communities and not in others.
2. **Counties** are generated one at a time, each from its own random stream
   (``SeedSequence(seed).spawn``), so a county's data do not depend on how the
   output is written: :func:`generate` (pydantic :class:`~assign.model.Problem`)
   and :func:`generate_to` (streamed CSV bundle) produce the same problem.
3. **Entities** of a county: volunteers are working cadres (free on weekday
   evenings and at weekends) or daytime volunteers (building heads, retirees),
   with skills, pledges, daily caps, personal radii and history; recipients
   carry priority groups, preferred and excluded volunteers and missed visits;
   tasks take a service from the mix, a recipient of their community weighted
   by group (disability care only for ``disabled_dementia``), a day, a window
   (lunch/dinner for meals, a fixed appointment for medical visits), a duration
   and sometimes a team of two. Pins and previous volunteers are drawn among
   same-community volunteers, preferring one with the skills, in range and free
   for the visit, so most are feasible and a few are not.

Identifiers: volunteers ``v00001``, recipients ``r000001``, tasks ``t000001``
(wider when the counts need more digits), communities by name
(``<county>-c01`` unless the scenario names them, e.g. ``laocheng``).

Times are minutes from the horizon start, which is a local midnight. The
horizon's time zone must keep one UTC offset over the horizon (Asia/Shanghai
has had +08:00 since 1991), so every written datetime carries that offset.

>>> from assign.synth import generate, load_scenario
>>> problem = generate(load_scenario("laocheng"), seed=1)
>>> len(problem.volunteers), problem.communities[0].id
(266, 'laocheng')
"""

from __future__ import annotations

import functools
import math
import os
import shutil
import tempfile
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Annotated, Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ScenarioError, pydantic_lines
from .model import PROBLEM_FORMAT, Policy, Problem

__all__ = [
    "SCENARIOS_DIR",
    "Scenario",
    "load_scenario",
    "scenario_names",
    "generate",
    "generate_to",
    "BUNDLE_COLUMNS",
]

#: The repository's scenario folder; :func:`load_scenario` resolves names here.
SCENARIOS_DIR = Path(__file__).resolve().parent.parent / "scenarios"

#: SPEC §9 columns of each bundle CSV file, in the order this module writes them.
BUNDLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "communities.csv": ("id", "name", "lat", "lon"),
    "volunteers.csv": (
        "id", "community", "org", "lat", "lon", "skills", "max_minutes",
        "max_tasks_per_day", "max_travel_km", "preferred_services",
        "history_minutes", "history_capacity",
    ),
    "availability.csv": ("volunteer", "start", "end"),
    "recipients.csv": (
        "id", "community", "lat", "lon", "groups", "preferred_volunteers",
        "excluded_volunteers", "missed_visits",
    ),
    "tasks.csv": (
        "id", "recipient", "service", "tier", "required_skills", "window_start",
        "window_end", "duration_min", "volunteers_needed", "pinned",
        "previous_volunteers",
    ),
    # optional in a bundle; written header-only so that an old one never lingers
    "history.csv": ("task", "volunteer", "recipient", "start", "minutes"),
}

KM_PER_DEGREE = 6371.0 * math.pi / 180.0  # the SPEC's Earth radius, ~111.19 km
MINUTES_PER_DAY = 1440
DAYTIME_ORG = "building-heads"  # org of daytime volunteers (楼院长 / retirees)

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
B = NDArray[np.bool_]
S = NDArray[np.bytes_]

# ============================================================== scenario model


def _clock(value: str) -> int:
    """``"HH:MM"`` -> minutes after local midnight (``"24:00"`` allowed)."""
    try:
        hours, minutes = value.split(":")
        total = int(hours) * 60 + int(minutes)
    except ValueError:
        raise ValueError(f"expected a clock time HH:MM, got {value!r}") from None
    if not 0 <= int(minutes) < 60 or not 0 <= total <= MINUTES_PER_DAY:
        raise ValueError(f"clock time {value!r} is not within a day")
    return total


Share = Annotated[float, Field(ge=0.0, le=1.0)]
PosInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]
_SAFE_TEXT = (",", ";", '"', "\n", "\r")


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _normalised(p: Sequence[float], n: int, what: str) -> tuple[float, ...]:
    """Probabilities for ``n`` choices: empty means uniform; else normalised."""
    if not p:
        return tuple([1.0 / n] * n)
    if len(p) != n:
        raise ValueError(f"{what}: {len(p)} probabilities for {n} choices")
    if any(x < 0 for x in p) or sum(p) <= 0:
        raise ValueError(f"{what}: probabilities must be >= 0 with a positive sum")
    total = float(sum(p))
    return tuple(float(x) / total for x in p)


class HorizonSpec(_Spec):
    """The planning horizon: ``days`` whole local days from ``start``."""

    start: date
    days: PosInt = 7
    timezone: str = "Asia/Shanghai"


class Counts(_Spec):
    """Totals over the whole scenario (split over counties and communities)."""

    volunteers: NonNegInt
    organisations: PosInt
    recipients: NonNegInt
    tasks: NonNegInt


class CountySpec(_Spec):
    """A county with a known seat."""

    name: str
    lat: float
    lon: float
    communities: PosInt
    community_names: tuple[str, ...] = ()


class CitySpec(_Spec):
    """A city whose ``counties`` seats are sampled around its centre."""

    name: str
    lat: float
    lon: float
    counties: PosInt
    communities_per_county: PosInt
    spread_km: Annotated[float, Field(gt=0)]


class RegionSpec(_Spec):
    """Where the counties are: listed, or sampled around cities."""

    counties: tuple[CountySpec, ...] = ()
    cities: tuple[CitySpec, ...] = ()
    min_separation_km: Annotated[float, Field(ge=0)] = 0.0
    #: (lat_min, lat_max, lon_min, lon_max) for sampled seats
    bounds: tuple[float, float, float, float] = (-90.0, 90.0, -180.0, 180.0)

    @model_validator(mode="after")
    def _some_county(self) -> RegionSpec:
        if not self.counties and not self.cities:
            raise ValueError("region needs counties or cities")
        return self


class CommunitySpec(_Spec):
    """Layout of a county town and how communities differ."""

    spread_east_km: Annotated[float, Field(ge=0)]
    spread_north_km: Annotated[float, Field(ge=0)]
    spread_reference_communities: PosInt = 16
    home_spread_km: Annotated[float, Field(gt=0)]
    size_sigma: Annotated[float, Field(ge=0)] = 0.4
    mismatch_sigma: Annotated[float, Field(ge=0)] = 0.25
    understaffed_share: Share = 0.0
    understaffed_factor: Annotated[float, Field(gt=0)] = 1.0
    outlier_share: Share = 0.0
    outlier_km: tuple[float, float] = (3.0, 8.0)


class Choice(_Spec):
    """A discrete distribution over integer values."""

    values: tuple[int, ...]
    p: tuple[float, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> Choice:
        if not self.values:
            raise ValueError("values must not be empty")
        object.__setattr__(self, "p", _normalised(self.p, len(self.values), "values"))
        return self


class FloatChoice(_Spec):
    values: tuple[Annotated[float, Field(gt=0)], ...]
    p: tuple[float, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> FloatChoice:
        if not self.values:
            raise ValueError("values must not be empty")
        object.__setattr__(self, "p", _normalised(self.p, len(self.values), "values"))
        return self


class Block(_Spec):
    """A time-of-day range ``[from, to)`` with a probability."""

    start: str = Field(alias="from")
    end: str = Field(alias="to")
    p: Share = 1.0

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @field_validator("start", "end")
    @classmethod
    def _is_clock(cls, value: str) -> str:
        _clock(value)
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Block:
        if _clock(self.end) <= _clock(self.start):
            raise ValueError(f"block {self.start}-{self.end} ends before it starts")
        return self

    @property
    def minutes(self) -> tuple[int, int]:
        return _clock(self.start), _clock(self.end)


class AvailabilityPattern(_Spec):
    """Free blocks of one kind of volunteer: each block, each day, with its ``p``."""

    weekday: tuple[Block, ...] = ()
    weekend: tuple[Block, ...] = ()
    jitter_min: NonNegInt = 0


class Pledge(_Spec):
    """Pledged minutes over the horizon (``max_minutes``) for a ``share``."""

    share: Share
    minutes: Choice


class KindSpec(_Spec):
    """Skills, free time and pledges of one kind of volunteer."""

    skills: dict[str, Share]
    availability: AvailabilityPattern
    pledge: Pledge


class VolunteerSpec(_Spec):
    daytime_share: Share
    home_elsewhere_share: Share = 0.0
    org_size_sigma: Annotated[float, Field(ge=0)] = 0.6
    cadre: KindSpec
    daytime: KindSpec
    preferred_services_share: Share = 0.0
    max_tasks_per_day_share: Share = 0.0
    max_tasks_per_day: Choice = Choice(values=(2,))
    own_radius_share: Share = 0.0
    own_radius_km: FloatChoice = FloatChoice(values=(3.0,))
    history_share: Share = 0.0
    history_weeks: NonNegInt = 4
    history_weekly_minutes: NonNegInt = 240


class RecipientSpec(_Spec):
    groups: dict[str, Share]
    intensity_sigma: Annotated[float, Field(ge=0)] = 0.5
    preferred_share: Share = 0.0
    excluded_share: Share = 0.0
    missed_share: Share = 0.0
    missed_mean: Annotated[float, Field(ge=0)] = 1.0


class ServiceSpec(_Spec):
    """One kind of visit: how often, when, how long, by whom."""

    share: Annotated[float, Field(ge=0)]
    windows: tuple[Block, ...]
    window_len_min: PosInt | None = None
    fixed_time: bool = False
    step_min: PosInt = 30
    duration_min: Choice
    weekdays_only: bool = False
    team_share: Share = 0.0
    team_size: Annotated[int, Field(ge=2)] = 2
    extra_skills: dict[str, Share] = {}
    group_boost: dict[str, Annotated[float, Field(ge=0)]] = {}
    only_groups: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _fits(self) -> ServiceSpec:
        longest = max(self.duration_min.values)
        if min(self.duration_min.values) <= 0:
            raise ValueError("durations must be positive")
        for block in self.windows:
            start, end = block.minutes
            span = end - start
            if span < longest:
                raise ValueError(
                    f"window {block.start}-{block.end} is shorter than the longest duration {longest}"
                )
            if self.window_len_min is not None and not self.fixed_time:
                if self.window_len_min < longest or self.window_len_min > span:
                    raise ValueError(
                        f"window_len_min {self.window_len_min} must lie between the longest "
                        f"duration {longest} and the window {block.start}-{block.end}"
                    )
        return self


class TaskSpec(_Spec):
    pinned_share: Share = 0.0
    previous_share: Share = 0.0
    candidate_draws: PosInt = 8


class Scenario(_Spec):
    """A synthetic county (or city, or province), read from a TOML file."""

    name: str
    description: str = ""
    horizon: HorizonSpec
    policy: dict[str, Any] = {}
    counts: Counts
    region: RegionSpec
    communities: CommunitySpec
    volunteers: VolunteerSpec
    recipients: RecipientSpec
    services: dict[str, ServiceSpec]
    tasks: TaskSpec = TaskSpec()

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        try:
            policy = Policy.model_validate(self.policy)
        except ValidationError as exc:
            raise ValueError(f"policy: {exc}") from None
        if not self.services:
            raise ValueError("at least one service is needed")
        if sum(s.share for s in self.services.values()) <= 0:
            raise ValueError("service shares must have a positive sum")
        for name, service in self.services.items():
            if name not in policy.service_tiers:
                raise ValueError(f"service {name!r} has no tier in the policy")
            for group in (*service.group_boost, *service.only_groups):
                if group not in self.recipients.groups:
                    raise ValueError(f"service {name!r} names unknown group {group!r}")
        names = [self.name]
        for county in self.region.counties:
            names += [county.name, *county.community_names]
            if len(county.community_names) > county.communities:
                raise ValueError(f"county {county.name!r} names more communities than it has")
        names += [city.name for city in self.region.cities]
        names += [*self.services, *self.recipients.groups]
        for kind in (self.volunteers.cadre, self.volunteers.daytime):
            names += list(kind.skills)
        for service in self.services.values():
            names += list(service.extra_skills)
        for text in names:
            if not text or any(ch in text for ch in _SAFE_TEXT):
                raise ValueError(f"name {text!r} must be non-empty without , ; \" or newlines")
        return self

    @property
    def policy_model(self) -> Policy:
        return Policy.model_validate(self.policy)


def scenario_names() -> list[str]:
    """Names of the scenarios shipped in :data:`SCENARIOS_DIR`."""
    return sorted(p.stem for p in SCENARIOS_DIR.glob("*.toml"))


def load_scenario(name_or_path: str | os.PathLike[str]) -> Scenario:
    """Read a scenario: a name from :data:`SCENARIOS_DIR` (``"shiquan"``) or a
    path to a TOML file. Raises :class:`~assign.errors.ScenarioError`."""
    candidate = Path(name_or_path)
    text = str(name_or_path)
    if candidate.is_file() or candidate.suffix == ".toml" or "/" in text or os.sep in text:
        path = candidate
    else:
        path = SCENARIOS_DIR / f"{name_or_path}.toml"
        if not path.exists():
            known = ", ".join(scenario_names()) or "none"
            raise ScenarioError(f"unknown scenario {str(name_or_path)!r} (known: {known})")
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read scenario: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: invalid TOML: {exc}") from None
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError("\n".join(pydantic_lines(exc, str(path), "scenario"))) from None


def _as_scenario(scenario: Scenario | str | os.PathLike[str]) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


# ============================================================== layout


@dataclass(frozen=True)
class _County:
    """One county of the layout, with its share of every count."""

    index: int
    name: str
    lat: float
    lon: float
    community_ids: tuple[str, ...]
    community_lat: F64
    community_lon: F64
    volunteers: I64  # per community
    recipients: I64
    tasks: I64
    organisations: int
    v_offset: int  # global number of the county's first volunteer (0-based)
    r_offset: int
    t_offset: int
    seed: np.random.SeedSequence


@dataclass(frozen=True)
class _Layout:
    scenario: Scenario
    policy: Policy
    counties: tuple[_County, ...]
    skills: tuple[str, ...]
    services: tuple[str, ...]
    groups: tuple[str, ...]
    service_skill_mask: I64  # per service
    horizon_start: datetime
    horizon_end: datetime
    offset: str  # "+08:00"
    weekend: B  # per day of the horizon
    v_width: int
    r_width: int
    t_width: int

    @property
    def n_volunteers(self) -> int:
        return int(sum(int(c.volunteers.sum()) for c in self.counties))

    @property
    def n_recipients(self) -> int:
        return int(sum(int(c.recipients.sum()) for c in self.counties))

    @property
    def n_tasks(self) -> int:
        return int(sum(int(c.tasks.sum()) for c in self.counties))


def _km_to_deg(lat: float | F64, north_km: F64, east_km: F64) -> tuple[F64, F64]:
    dlat = north_km / KM_PER_DEGREE
    dlon = east_km / (KM_PER_DEGREE * np.cos(np.radians(lat)))
    return dlat, dlon


def _haversine_km(lat1: F64 | float, lon1: F64 | float, lat2: F64 | float, lon2: F64 | float) -> F64:
    """Great-circle km (SPEC §2 radius), broadcasting like numpy."""
    la1, la2 = np.radians(lat1), np.radians(lat2)
    dla, dlo = la2 - la1, np.radians(np.subtract(lon2, lon1))
    a = np.sin(dla / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin(dlo / 2) ** 2
    return np.asarray(2 * 6371.0 * np.arcsin(np.sqrt(np.minimum(a, 1.0))), dtype=np.float64)


def _county_seats(region: RegionSpec, rng: np.random.Generator) -> list[tuple[str, float, float, int, tuple[str, ...]]]:
    """Listed counties as given; city counties sampled around the city centre
    (the first at the centre), at least ``min_separation_km`` from any other
    seat and inside ``bounds`` (best of 200 tries otherwise)."""
    seats = [(c.name, c.lat, c.lon, c.communities, c.community_names) for c in region.counties]
    lat_min, lat_max, lon_min, lon_max = region.bounds
    for city in region.cities:
        for j in range(city.counties):
            name = f"{city.name}-{j + 1:02d}"
            if j == 0:
                seats.append((name, city.lat, city.lon, city.communities_per_county, ()))
                continue
            tries = 200
            north = rng.normal(0.0, city.spread_km, tries)
            east = rng.normal(0.0, city.spread_km, tries)
            dlat, dlon = _km_to_deg(city.lat, north, east)
            lat = city.lat + dlat
            lon = city.lon + dlon
            inside = (lat >= lat_min) & (lat <= lat_max) & (lon >= lon_min) & (lon <= lon_max)
            have = np.array([(s[1], s[2]) for s in seats], dtype=np.float64)
            gap = _haversine_km(lat[:, None], lon[:, None], have[None, :, 0], have[None, :, 1]).min(axis=1)
            ok = inside & (gap >= region.min_separation_km)
            pick = int(np.argmax(ok)) if ok.any() else int(np.argmax(np.where(inside, gap, -1.0)))
            seats.append((name, float(lat[pick]), float(lon[pick]), city.communities_per_county, ()))
    return seats


def _largest_remainder(total: int, weights: F64) -> I64:
    """Split ``total`` in proportion to ``weights`` exactly (deterministic)."""
    if total == 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    quota = total * weights / weights.sum()
    base = np.floor(quota).astype(np.int64)
    rest = total - int(base.sum())
    order = np.argsort(-(quota - base), kind="stable")
    base[order[:rest]] += 1
    return base


def _multinomial(rng: np.random.Generator, total: int, weights: F64) -> I64:
    if total == 0 or len(weights) == 0:
        return np.zeros(len(weights), dtype=np.int64)
    return np.asarray(rng.multinomial(total, weights / weights.sum()), dtype=np.int64)


def _time_offset(horizon: HorizonSpec) -> tuple[datetime, datetime, str]:
    zone = ZoneInfo(horizon.timezone)
    start = datetime(horizon.start.year, horizon.start.month, horizon.start.day, tzinfo=zone)
    offsets = set()
    for day in range(horizon.days + 1):
        d = horizon.start + timedelta(days=day)
        for hour in (0, 12):
            offsets.add(datetime(d.year, d.month, d.day, hour, tzinfo=zone).utcoffset())
    if len(offsets) != 1:
        raise ScenarioError(
            f"time zone {horizon.timezone} changes its UTC offset during the horizon; "
            "synthetic scenarios need a fixed offset"
        )
    delta = offsets.pop()
    assert delta is not None
    fixed = timezone(delta)
    start = start.astimezone(fixed)
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    text = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return start, start + timedelta(days=horizon.days), text


def _layout(scenario: Scenario, seed: int) -> _Layout:
    policy = scenario.policy_model
    root = np.random.SeedSequence(seed)
    layout_seq, counties_seq = root.spawn(2)
    rng = np.random.default_rng(layout_seq)
    seats = _county_seats(scenario.region, rng)
    county_seqs = counties_seq.spawn(len(seats))
    spec = scenario.communities

    # community centres: first at the seat (the old town), the rest scattered
    centres: list[tuple[F64, F64]] = []
    ids: list[tuple[str, ...]] = []
    for name, lat, lon, n_comm, given in seats:
        scale = math.sqrt(n_comm / spec.spread_reference_communities)
        north = rng.normal(0.0, spec.spread_north_km * scale, n_comm)
        east = rng.normal(0.0, spec.spread_east_km * scale, n_comm)
        north[0] = east[0] = 0.0
        dlat, dlon = _km_to_deg(lat, north, east)
        centres.append((np.round(lat + dlat, 6), np.round(lon + dlon, 6)))
        width = max(2, len(str(n_comm)))
        ids.append(tuple(given) + tuple(f"{name}-c{k + 1:0{width}d}" for k in range(len(given), n_comm)))
    flat_ids = [c for group in ids for c in group]
    if len(set(flat_ids)) != len(flat_ids):
        raise ScenarioError(f"scenario {scenario.name}: community ids are not unique")

    n_all = sum(len(group) for group in ids)
    size = rng.lognormal(0.0, spec.size_sigma, n_all)
    supply = size * rng.lognormal(0.0, spec.mismatch_sigma, n_all)
    demand = size * rng.lognormal(0.0, spec.mismatch_sigma, n_all)
    understaffed = rng.random(n_all) < spec.understaffed_share
    supply = np.where(understaffed, supply * spec.understaffed_factor, supply)
    counts = scenario.counts
    volunteers = _multinomial(rng, counts.volunteers, supply)
    recipients = _multinomial(rng, counts.recipients, demand)
    # tasks follow recipients (about counts.tasks / counts.recipients visits each)
    tasks = _multinomial(rng, counts.tasks, recipients.astype(np.float64))
    per_county = np.array([len(group) for group in ids], dtype=np.float64)
    orgs = np.maximum(1, _largest_remainder(counts.organisations, per_county))

    counties: list[_County] = []
    lo = 0
    v_off = r_off = t_off = 0
    for k, (name, lat, lon, _n, _given) in enumerate(seats):
        hi = lo + len(ids[k])
        county = _County(
            index=k, name=name, lat=lat, lon=lon, community_ids=ids[k],
            community_lat=centres[k][0], community_lon=centres[k][1],
            volunteers=volunteers[lo:hi], recipients=recipients[lo:hi], tasks=tasks[lo:hi],
            organisations=int(orgs[k]), v_offset=v_off, r_offset=r_off, t_offset=t_off,
            seed=county_seqs[k],
        )
        counties.append(county)
        v_off += int(county.volunteers.sum())
        r_off += int(county.recipients.sum())
        t_off += int(county.tasks.sum())
        lo = hi

    services = tuple(scenario.services)
    skills: list[str] = []
    for kind in (scenario.volunteers.cadre, scenario.volunteers.daytime):
        skills += [s for s in kind.skills if s not in skills]
    for service in services:
        for s in (*policy.service_skills.get(service, ()), *scenario.services[service].extra_skills):
            if s not in skills:
                skills.append(s)
    if len(skills) > 62:
        raise ScenarioError("at most 62 distinct skills")
    skill_bit = {s: 1 << i for i, s in enumerate(skills)}
    service_mask = np.array(
        [sum(skill_bit[s] for s in policy.service_skills.get(sv, ())) for sv in services], dtype=np.int64
    )
    start, end, offset = _time_offset(scenario.horizon)
    weekend = np.array(
        [(scenario.horizon.start + timedelta(days=d)).weekday() >= 5 for d in range(scenario.horizon.days)]
    )
    return _Layout(
        scenario=scenario, policy=policy, counties=tuple(counties), skills=tuple(skills),
        services=services, groups=tuple(scenario.recipients.groups), service_skill_mask=service_mask,
        horizon_start=start, horizon_end=end, offset=offset, weekend=weekend,
        v_width=max(5, len(str(v_off))), r_width=max(6, len(str(r_off))), t_width=max(6, len(str(t_off))),
    )


# ============================================================== one county as arrays


@dataclass
class _CountyData:
    """A county's entities as columns; indexes are local to the county."""

    county: _County
    org_names: list[str]
    # volunteers
    v_comm: I64
    v_org: I64  # -1 = daytime volunteer
    v_lat: F64
    v_lon: F64
    v_skills: I64
    v_max_minutes: I64  # -1 = default
    v_max_per_day: I64  # -1 = unlimited
    v_radius: F64  # nan = policy
    v_pref_services: I64
    v_hist_minutes: I64
    v_hist_capacity: I64
    # availability, sorted by (volunteer, start), joined
    a_vol: I64
    a_start: I64
    a_end: I64
    # recipients
    r_comm: I64
    r_lat: F64
    r_lon: F64
    r_groups: I64
    r_pref1: I64  # -1 = none
    r_pref2: I64
    r_excl: I64
    r_missed: I64
    # tasks
    t_rec: I64
    t_service: I64
    t_skills: I64  # 0 = service default
    t_ws: I64
    t_we: I64
    t_dur: I64
    t_needed: I64
    t_pin: I64  # -1 = none
    t_prev: I64


def _choice(rng: np.random.Generator, choice: Choice | FloatChoice, n: int) -> NDArray[Any]:
    return rng.choice(np.asarray(choice.values), size=n, p=np.asarray(choice.p))


def _bits(rng: np.random.Generator, n: int, shares: dict[str, float], bit: dict[str, int]) -> I64:
    mask = np.zeros(n, dtype=np.int64)
    for name, share in shares.items():
        mask |= np.where(rng.random(n) < share, bit[name], 0)
    return mask


def _ranges(counts: I64) -> tuple[I64, I64]:
    hi = np.cumsum(counts)
    return hi - counts, hi


def _pick_in_community(rng: np.random.Generator, comm: I64, lo: I64, n: I64, draws: int) -> I64:
    """``draws`` random members (local indexes) of each row's community; -1 when empty."""
    size = n[comm]
    u = rng.random((len(comm), draws))
    pick = lo[comm][:, None] + np.floor(u * size[:, None]).astype(np.int64)
    return np.where(size[:, None] > 0, pick, -1)


def _availability(rng: np.random.Generator, layout: _Layout, daytime: B) -> tuple[I64, I64, I64]:
    """Free blocks per volunteer and day, jittered, sorted and joined."""
    vols: list[I64] = []
    starts: list[I64] = []
    ends: list[I64] = []
    spec = layout.scenario.volunteers
    for kind, members in ((spec.cadre, np.flatnonzero(~daytime)), (spec.daytime, np.flatnonzero(daytime))):
        pattern = kind.availability
        for day, weekend in enumerate(layout.weekend):
            for block in pattern.weekend if weekend else pattern.weekday:
                free = members[rng.random(len(members)) < block.p]
                b0, b1 = block.minutes
                j = pattern.jitter_min
                s = b0 + j * rng.integers(-1, 2, len(free))
                e = b1 + j * rng.integers(-1, 2, len(free))
                s = np.clip(s, 0, MINUTES_PER_DAY - 30)
                e = np.clip(np.maximum(e, s + 30), 0, MINUTES_PER_DAY)
                vols.append(free)
                starts.append(day * MINUTES_PER_DAY + s)
                ends.append(day * MINUTES_PER_DAY + e)
    if not vols:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    vol = np.concatenate(vols).astype(np.int64)
    start = np.concatenate(starts).astype(np.int64)
    end = np.concatenate(ends).astype(np.int64)
    order = np.lexsort((start, vol))
    vol, start, end = vol[order], start[order], end[order]
    if len(vol) == 0:
        return vol, start, end
    # join overlapping or touching intervals of a volunteer (keys keep volunteers apart)
    span = layout.scenario.horizon.days * MINUTES_PER_DAY + 1
    key_start = vol * span + start
    key_end = np.maximum.accumulate(vol * span + end)
    new = np.ones(len(vol), dtype=bool)
    new[1:] = key_start[1:] > key_end[:-1]
    first = np.flatnonzero(new)
    joined_end = np.maximum.reduceat(end, first)
    return vol[first], start[first], joined_end


def _fits(data_a: tuple[I64, I64, I64], vol: I64, ws: I64, we: I64, dur: I64, span: int) -> B:
    """Does an availability interval of ``vol`` hold ``dur`` minutes inside
    ``[ws, we)``? Checks the last interval starting by ``we - dur``: exact for
    joined intervals longer than the visit, which is what the patterns make."""
    a_vol, a_start, a_end = data_a
    if len(a_vol) == 0:
        return np.zeros(len(vol), dtype=bool)
    keys = a_vol * span + a_start
    j = np.searchsorted(keys, np.maximum(vol, 0) * span + (we - dur), side="right") - 1
    jj = np.maximum(j, 0)
    ok = (j >= 0) & (a_vol[jj] == vol) & (vol >= 0)
    return ok & (np.minimum(a_end[jj], we) - np.maximum(a_start[jj], ws) >= dur)


def _generate_county(layout: _Layout, county: _County) -> _CountyData:
    """All entities of one county from its own random stream."""
    rng = np.random.default_rng(county.seed)
    sc = layout.scenario
    vspec, rspec, cspec = sc.volunteers, sc.recipients, sc.communities
    n_comm = len(county.community_ids)
    skill_bit = {s: 1 << i for i, s in enumerate(layout.skills)}
    group_bit = {g: 1 << i for i, g in enumerate(layout.groups)}

    # ---------------------------------------------------------------- volunteers
    nv = int(county.volunteers.sum())
    v_comm = np.repeat(np.arange(n_comm, dtype=np.int64), county.volunteers)
    n_day = round(nv * vspec.daytime_share)
    daytime = np.zeros(nv, dtype=bool)
    daytime[rng.permutation(nv)[:n_day]] = True
    home_comm = np.where(rng.random(nv) < vspec.home_elsewhere_share, rng.integers(0, n_comm, nv), v_comm)
    dlat, dlon = _km_to_deg(county.lat, rng.normal(0, cspec.home_spread_km, nv), rng.normal(0, cspec.home_spread_km, nv))
    v_lat = np.round(county.community_lat[home_comm] + dlat, 6)
    v_lon = np.round(county.community_lon[home_comm] + dlon, 6)
    org_weight = rng.lognormal(0.0, vspec.org_size_sigma, county.organisations)
    v_org = np.where(daytime, -1, rng.choice(county.organisations, size=nv, p=org_weight / org_weight.sum()))
    width = max(2, len(str(county.organisations)))
    org_names = [f"{county.name}-org-{k + 1:0{width}d}" for k in range(county.organisations)]

    v_skills = np.zeros(nv, dtype=np.int64)
    v_max_minutes = np.full(nv, -1, dtype=np.int64)
    for kind, members in ((vspec.cadre, ~daytime), (vspec.daytime, daytime)):
        idx = np.flatnonzero(members)
        v_skills[idx] = _bits(rng, len(idx), kind.skills, skill_bit)
        pledged = idx[rng.random(len(idx)) < kind.pledge.share]
        v_max_minutes[pledged] = _choice(rng, kind.pledge.minutes, len(pledged))
    v_max_per_day = np.where(
        rng.random(nv) < vspec.max_tasks_per_day_share, _choice(rng, vspec.max_tasks_per_day, nv), -1
    ).astype(np.int64)
    v_radius = np.where(rng.random(nv) < vspec.own_radius_share, _choice(rng, vspec.own_radius_km, nv), np.nan)
    n_serv = len(layout.services)
    pref_a = rng.integers(0, n_serv, nv)
    pref_b = rng.integers(0, n_serv, nv)
    two = rng.random(nv) < 0.5
    pref = (np.int64(1) << pref_a) | np.where(two, np.int64(1) << pref_b, 0)
    v_pref_services = np.where(rng.random(nv) < vspec.preferred_services_share, pref, 0).astype(np.int64)
    weekly = np.where(v_max_minutes >= 0, v_max_minutes, vspec.history_weekly_minutes) * 7 / sc.horizon.days
    has_history = rng.random(nv) < vspec.history_share
    capacity = np.round(weekly * vspec.history_weeks * rng.uniform(0.6, 1.0, nv)).astype(np.int64)
    v_hist_capacity = np.where(has_history, capacity, 0)
    v_hist_minutes = np.round(v_hist_capacity * rng.beta(2.0, 3.0, nv)).astype(np.int64)
    avail = _availability(rng, layout, daytime)

    # ---------------------------------------------------------------- recipients
    nr = int(county.recipients.sum())
    r_comm = np.repeat(np.arange(n_comm, dtype=np.int64), county.recipients)
    dlat, dlon = _km_to_deg(county.lat, rng.normal(0, cspec.home_spread_km, nr), rng.normal(0, cspec.home_spread_km, nr))
    r_lat = county.community_lat[r_comm] + dlat
    r_lon = county.community_lon[r_comm] + dlon
    outlier = rng.random(nr) < cspec.outlier_share
    angle = rng.uniform(0, 2 * np.pi, nr)
    radius = rng.uniform(*cspec.outlier_km, nr)
    olat, olon = _km_to_deg(county.lat, radius * np.sin(angle), radius * np.cos(angle))
    r_lat = np.asarray(np.round(np.where(outlier, county.lat + olat, r_lat), 6), dtype=np.float64)
    r_lon = np.asarray(np.round(np.where(outlier, county.lon + olon, r_lon), 6), dtype=np.float64)
    r_groups = _bits(rng, nr, rspec.groups, group_bit)
    intensity = rng.lognormal(0.0, rspec.intensity_sigma, nr)
    r_missed = np.where(rng.random(nr) < rspec.missed_share, 1 + rng.poisson(rspec.missed_mean, nr), 0)
    v_lo, _ = _ranges(county.volunteers)
    picks = _pick_in_community(rng, r_comm, v_lo, county.volunteers, 3)
    has_pref = rng.random(nr) < rspec.preferred_share
    r_pref1 = np.where(has_pref, picks[:, 0], -1)
    r_pref2 = np.where(has_pref & (rng.random(nr) < 0.5) & (picks[:, 1] != picks[:, 0]), picks[:, 1], -1)
    r_excl = np.where(
        (rng.random(nr) < rspec.excluded_share) & (picks[:, 2] != r_pref1) & (picks[:, 2] != r_pref2),
        picks[:, 2], -1,
    )

    # ---------------------------------------------------------------- tasks
    nt = int(county.tasks.sum())
    t_comm = np.repeat(np.arange(n_comm, dtype=np.int64), county.tasks)
    shares = np.array([sc.services[s].share for s in layout.services], dtype=np.float64)
    t_service = rng.choice(n_serv, size=nt, p=shares / shares.sum())
    r_lo, r_hi = _ranges(county.recipients)
    # a community with visits that need a group but nobody in it: mark one recipient
    for s_index, service in enumerate(layout.services):
        needed = sc.services[service].only_groups
        if not needed:
            continue
        need_bits = sum(group_bit[g] for g in needed)
        has = np.bincount(r_comm, weights=(r_groups & need_bits) != 0, minlength=n_comm) > 0
        wants = np.bincount(t_comm[t_service == s_index], minlength=n_comm) > 0
        fix = np.flatnonzero(wants & ~has & (county.recipients > 0))
        if len(fix):
            chosen = r_lo[fix] + rng.integers(0, county.recipients[fix])
            r_groups[chosen] |= group_bit[needed[0]]

    t_rec = np.zeros(nt, dtype=np.int64)
    t_ws = np.zeros(nt, dtype=np.int64)
    t_we = np.zeros(nt, dtype=np.int64)
    t_dur = np.zeros(nt, dtype=np.int64)
    t_needed = np.ones(nt, dtype=np.int64)
    t_skills = np.zeros(nt, dtype=np.int64)
    days = np.arange(sc.horizon.days)
    for s_index, service in enumerate(layout.services):
        spec = sc.services[service]
        rows = np.flatnonzero(t_service == s_index)
        m = len(rows)
        if m == 0:
            continue
        # recipient: weighted draw inside the task's community
        weight = intensity.copy()
        for group, boost in spec.group_boost.items():
            weight *= np.where((r_groups & group_bit[group]) != 0, 1.0 + boost, 1.0)
        if spec.only_groups:
            bits = sum(group_bit[g] for g in spec.only_groups)
            weight = np.where((r_groups & bits) != 0, weight, 0.0)
        cum = np.concatenate(([0.0], np.cumsum(weight)))
        comm = t_comm[rows]
        low, high = cum[r_lo[comm]], cum[r_hi[comm]]
        u = low + rng.random(m) * (high - low)
        rec = np.searchsorted(cum, u, side="right") - 1
        t_rec[rows] = np.clip(rec, r_lo[comm], r_hi[comm] - 1)
        # day, time window and duration
        allowed = days[~layout.weekend] if spec.weekdays_only and (~layout.weekend).any() else days
        day = rng.choice(allowed, size=m)
        block = rng.choice(len(spec.windows), size=m, p=_normalised([w.p for w in spec.windows], len(spec.windows), "windows"))
        b_start = np.array([w.minutes[0] for w in spec.windows])[block]
        b_end = np.array([w.minutes[1] for w in spec.windows])[block]
        dur = _choice(rng, spec.duration_min, m).astype(np.int64)
        if spec.fixed_time:
            length = dur
        elif spec.window_len_min is not None:
            length = np.full(m, spec.window_len_min, dtype=np.int64)
        else:
            length = b_end - b_start
        slots = (b_end - length - b_start) // spec.step_min + 1
        ws = b_start + spec.step_min * np.floor(rng.random(m) * slots).astype(np.int64)
        t_ws[rows] = day * MINUTES_PER_DAY + ws
        t_we[rows] = day * MINUTES_PER_DAY + ws + length
        t_dur[rows] = dur
        t_needed[rows] = np.where(rng.random(m) < spec.team_share, spec.team_size, 1)
        extra = _bits(rng, m, spec.extra_skills, skill_bit)
        t_skills[rows] = np.where(extra != 0, extra | layout.service_skill_mask[s_index], 0)

    order = np.lexsort((t_rec, t_ws, t_comm))
    t_rec, t_service, t_ws, t_we, t_dur = t_rec[order], t_service[order], t_ws[order], t_we[order], t_dur[order]
    t_needed, t_skills, t_comm = t_needed[order], t_skills[order], t_comm[order]

    # pins and previous volunteers: a same-community volunteer, preferably one
    # with the skills who is free for the visit (a few stay infeasible on purpose)
    draws = sc.tasks.candidate_draws
    span = sc.horizon.days * MINUTES_PER_DAY + 1
    need = np.where(t_skills != 0, t_skills, layout.service_skill_mask[t_service])
    policy = layout.policy
    radius = np.fmin(v_radius, policy.max_travel_km)
    t_pin = np.full(nt, -1, dtype=np.int64)
    t_prev = np.full(nt, -1, dtype=np.int64)
    single = t_needed == 1
    for target, share in ((t_pin, sc.tasks.pinned_share), (t_prev, sc.tasks.previous_share)):
        rows = np.flatnonzero(single & (rng.random(nt) < share))
        if len(rows) == 0:
            continue
        cand = _pick_in_community(rng, t_comm[rows], v_lo, county.volunteers, draws)
        safe = np.maximum(cand, 0)
        skilled = (cand >= 0) & ((v_skills[safe] & need[rows, None]) == need[rows, None])
        good = skilled.copy()
        rec = t_rec[rows]
        good &= cand != r_excl[rec][:, None]
        for k in range(draws):
            km = policy.detour_factor * _haversine_km(
                v_lat[safe[:, k]], v_lon[safe[:, k]], r_lat[rec], r_lon[rec]
            )
            good[:, k] &= km <= radius[safe[:, k]]
            good[:, k] &= _fits(avail, cand[:, k], t_ws[rows], t_we[rows], t_dur[rows], span)
        # the first that fits, else the first with the skills, else the first drawn
        best = np.argmax(2 * good + skilled, axis=1)
        target[rows] = cand[np.arange(len(rows)), best]

    return _CountyData(
        county=county, org_names=org_names,
        v_comm=v_comm, v_org=v_org, v_lat=v_lat, v_lon=v_lon, v_skills=v_skills,
        v_max_minutes=v_max_minutes, v_max_per_day=v_max_per_day, v_radius=v_radius,
        v_pref_services=v_pref_services, v_hist_minutes=v_hist_minutes, v_hist_capacity=v_hist_capacity,
        a_vol=avail[0], a_start=avail[1], a_end=avail[2],
        r_comm=r_comm, r_lat=r_lat, r_lon=r_lon, r_groups=r_groups,
        r_pref1=r_pref1, r_pref2=r_pref2, r_excl=r_excl, r_missed=r_missed.astype(np.int64),
        t_rec=t_rec, t_service=t_service.astype(np.int64), t_skills=t_skills, t_ws=t_ws, t_we=t_we,
        t_dur=t_dur, t_needed=t_needed, t_pin=t_pin, t_prev=t_prev,
    )


def _counties(layout: _Layout) -> Iterator[_CountyData]:
    for county in layout.counties:
        yield _generate_county(layout, county)


# ============================================================== to a Problem


def _names_of(names: Sequence[str]) -> Callable[[int], tuple[str, ...]]:
    """Bit mask -> the names whose bits are set, in the order of ``names`` (cached)."""

    @functools.cache
    def lookup(mask: int) -> tuple[str, ...]:
        return tuple(n for i, n in enumerate(names) if mask >> i & 1)

    return lookup


def _id_list(prefix: str, width: int, offset: int, local: I64) -> list[str | None]:
    return [None if x < 0 else f"{prefix}{offset + x + 1:0{width}d}" for x in local.tolist()]


def _county_raw(layout: _Layout, data: _CountyData, when: dict[int, datetime]) -> dict[str, list[dict[str, Any]]]:
    """A county as JSON-shaped dicts (absent optional fields stay absent)."""
    county = data.county
    vw, rw, tw = layout.v_width, layout.r_width, layout.t_width
    comm = list(county.community_ids)

    def at(minute: int) -> datetime:
        moment = when.get(minute)
        if moment is None:
            moment = when[minute] = layout.horizon_start + timedelta(minutes=minute)
        return moment

    skill_names = _names_of(layout.skills)
    services = _names_of(layout.services)
    groups = _names_of(layout.groups)

    vol_ids = _id_list("v", vw, county.v_offset, np.arange(len(data.v_comm)))
    avail: list[list[tuple[datetime, datetime]]] = [[] for _ in vol_ids]
    for v, s, e in zip(data.a_vol.tolist(), data.a_start.tolist(), data.a_end.tolist(), strict=True):
        avail[v].append((at(s), at(e)))
    volunteers = []
    for i, ident in enumerate(vol_ids):
        item: dict[str, Any] = {
            "id": ident, "community": comm[int(data.v_comm[i])],
            "org": DAYTIME_ORG if data.v_org[i] < 0 else data.org_names[int(data.v_org[i])],
            "lat": float(data.v_lat[i]), "lon": float(data.v_lon[i]),
            "skills": skill_names(int(data.v_skills[i])), "availability": avail[i],
            "preferred_services": services(int(data.v_pref_services[i])),
            "history_minutes": int(data.v_hist_minutes[i]),
            "history_capacity": int(data.v_hist_capacity[i]),
        }
        if data.v_max_minutes[i] >= 0:
            item["max_minutes"] = int(data.v_max_minutes[i])
        if data.v_max_per_day[i] >= 0:
            item["max_tasks_per_day"] = int(data.v_max_per_day[i])
        if not np.isnan(data.v_radius[i]):
            item["max_travel_km"] = float(data.v_radius[i])
        volunteers.append(item)

    def vid(local: int) -> str:
        return f"v{county.v_offset + local + 1:0{vw}d}"

    rec_ids = _id_list("r", rw, county.r_offset, np.arange(len(data.r_comm)))
    recipients = []
    for i, rid in enumerate(rec_ids):
        pref = [vid(int(x)) for x in (data.r_pref1[i], data.r_pref2[i]) if x >= 0]
        recipients.append({
            "id": rid, "community": comm[int(data.r_comm[i])],
            "lat": float(data.r_lat[i]), "lon": float(data.r_lon[i]),
            "groups": groups(int(data.r_groups[i])), "preferred_volunteers": pref,
            "excluded_volunteers": [vid(int(data.r_excl[i]))] if data.r_excl[i] >= 0 else [],
            "missed_visits": int(data.r_missed[i]),
        })

    task_ids = _id_list("t", tw, county.t_offset, np.arange(len(data.t_rec)))
    tasks = []
    cols = zip(
        task_ids, data.t_rec.tolist(), data.t_service.tolist(), data.t_skills.tolist(),
        data.t_ws.tolist(), data.t_we.tolist(), data.t_dur.tolist(), data.t_needed.tolist(),
        data.t_pin.tolist(), data.t_prev.tolist(), strict=True,
    )
    for tid, rec, serv, sk, ws, we, dur, needed, pin, prev in cols:
        tasks.append({
            "id": tid, "recipient": rec_ids[rec], "service": layout.services[serv],
            "required_skills": skill_names(sk), "window_start": at(ws), "window_end": at(we),
            "duration_min": dur, "volunteers_needed": needed,
            "pinned": [vid(pin)] if pin >= 0 else [],
            "previous_volunteers": [vid(prev)] if prev >= 0 else [],
        })
    communities = [
        {"id": cid, "name": cid, "lat": float(county.community_lat[k]), "lon": float(county.community_lon[k])}
        for k, cid in enumerate(comm)
    ]
    return {"communities": communities, "volunteers": volunteers, "recipients": recipients, "tasks": tasks}


def _header(layout: _Layout) -> dict[str, Any]:
    sc = layout.scenario
    return {
        "format": PROBLEM_FORMAT,
        "name": sc.name,
        "horizon": {"start": layout.horizon_start, "end": layout.horizon_end, "timezone": sc.horizon.timezone},
        "policy": layout.policy.model_dump(mode="json"),
    }


def generate(scenario: Scenario | str | os.PathLike[str], seed: int = 0) -> Problem:
    """Build the scenario's problem for ``seed`` as a validated
    :class:`~assign.model.Problem` (meant for sizes up to a city such as
    ``ankang``, ~1.3 GB; use :func:`generate_to` with a bundle path beyond).

    The same scenario and seed always give the same problem.
    """
    from .validate import SourceMap, build_problem

    layout = _layout(_as_scenario(scenario), seed)
    raw = _header(layout)
    for key in ("communities", "volunteers", "recipients", "tasks"):
        raw[key] = []
    when: dict[int, datetime] = {}
    for data in _counties(layout):
        part = _county_raw(layout, data, when)
        for key, items in part.items():
            raw[key].extend(items)
    return build_problem(raw, SourceMap(default_file=f"<scenario {layout.scenario.name} seed {seed}>"))


# ============================================================== to a bundle, streamed


def _text_col(values: Sequence[str], index: I64) -> S:
    table = np.array([v.encode("utf-8") for v in values] or [b""], dtype=np.bytes_)
    return np.asarray(table[index], dtype=np.bytes_)


def _id_col(prefix: str, width: int, number: I64) -> S:
    """``prefix`` + zero-padded ``number``; empty where ``number`` < 0."""
    n = len(number)
    head = prefix.encode()
    mat = np.zeros((n, len(head) + width), dtype=np.uint8)
    mat[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    rest = np.maximum(number, 0).astype(np.int64)
    for k in range(width - 1, -1, -1):
        mat[:, len(head) + k] = 48 + rest % 10
        rest //= 10
    mat[number < 0] = 0
    return mat.view(f"S{mat.shape[1]}").ravel()


def _int_col(values: I64, missing: B | None = None) -> S:
    out = np.asarray(values.astype(np.int64).astype(np.bytes_))
    if missing is not None:
        out[missing] = b""
    return out


def _float_col(values: F64) -> S:
    """Shortest round-trip decimal of each float (numpy's Dragon4); empty for NaN."""
    out = np.asarray(values.astype(np.float64).astype("S32"))
    out[np.isnan(values)] = b""
    return out


def _join_col(left: S, right: S) -> S:
    """``left;right`` where both are present, else the one present."""
    sep = np.where((np.char.str_len(left) > 0) & (np.char.str_len(right) > 0), b";", b"")
    return np.asarray(np.char.add(np.char.add(left, sep), right))


def _time_col(layout: _Layout, minutes: I64) -> S:
    """ISO 8601 local times with the horizon's UTC offset."""
    local = np.datetime64(layout.horizon_start.replace(tzinfo=None), "m") + minutes.astype("timedelta64[m]")
    head = local.astype("S16").view(np.uint8).reshape(len(minutes), 16)
    tail = np.frombuffer(f":00{layout.offset}".encode(), dtype=np.uint8)
    mat = np.empty((len(minutes), 16 + len(tail)), dtype=np.uint8)
    mat[:, :16] = head
    mat[:, 16:] = tail
    return mat.view(f"S{mat.shape[1]}").ravel()


def _csv_rows(columns: Sequence[S]) -> bytes:
    """CSV lines from fixed-width byte columns: pack them side by side with
    separators into one uint8 matrix, then drop the NUL padding in one pass."""
    n = len(columns[0])
    if n == 0:
        return b""
    parts = []
    for k, column in enumerate(columns):
        col = np.ascontiguousarray(column)
        if col.dtype.itemsize == 0:
            col = col.astype("S1")
        parts.append(col.view(np.uint8).reshape(n, col.dtype.itemsize))
        parts.append(np.full((n, 1), ord("\n") if k == len(columns) - 1 else ord(","), dtype=np.uint8))
    mat = np.hstack(parts)
    return mat[mat != 0].tobytes()


def _mask_col(names: Sequence[str], masks: I64) -> S:
    """``;``-joined names of each bit mask: one string per distinct mask, then a gather."""
    distinct, inverse = np.unique(masks, return_inverse=True)
    lookup = _names_of(names)
    return _text_col([";".join(lookup(int(m))) for m in distinct.tolist()], inverse.reshape(-1))


def _write_county_csv(layout: _Layout, data: _CountyData, files: dict[str, IO[bytes]]) -> None:
    county = data.county
    vw, rw, tw = layout.v_width, layout.r_width, layout.t_width
    v_base, r_base = county.v_offset + 1, county.r_offset + 1
    comm_ids = list(county.community_ids)
    n_comm = len(comm_ids)

    comm_index = np.arange(n_comm, dtype=np.int64)
    files["communities.csv"].write(_csv_rows([
        _text_col(comm_ids, comm_index), _text_col(comm_ids, comm_index),
        _float_col(county.community_lat), _float_col(county.community_lon),
    ]))

    nv = len(data.v_comm)
    orgs = [*data.org_names, DAYTIME_ORG]
    files["volunteers.csv"].write(_csv_rows([
        _id_col("v", vw, v_base + np.arange(nv, dtype=np.int64)),
        _text_col(comm_ids, data.v_comm),
        _text_col(orgs, np.where(data.v_org < 0, len(orgs) - 1, data.v_org)),
        _float_col(data.v_lat), _float_col(data.v_lon),
        _mask_col(layout.skills, data.v_skills),
        _int_col(data.v_max_minutes, data.v_max_minutes < 0),
        _int_col(data.v_max_per_day, data.v_max_per_day < 0),
        _float_col(data.v_radius),
        _mask_col(layout.services, data.v_pref_services),
        _int_col(data.v_hist_minutes), _int_col(data.v_hist_capacity),
    ]))

    files["availability.csv"].write(_csv_rows([
        _id_col("v", vw, v_base + data.a_vol),
        _time_col(layout, data.a_start), _time_col(layout, data.a_end),
    ]))

    nr = len(data.r_comm)

    def vols(local: I64) -> S:
        return _id_col("v", vw, np.where(local >= 0, v_base + local, -1))

    files["recipients.csv"].write(_csv_rows([
        _id_col("r", rw, r_base + np.arange(nr, dtype=np.int64)),
        _text_col(comm_ids, data.r_comm),
        _float_col(data.r_lat), _float_col(data.r_lon),
        _mask_col(layout.groups, data.r_groups),
        _join_col(vols(data.r_pref1), vols(data.r_pref2)),
        vols(data.r_excl),
        _int_col(data.r_missed),
    ]))

    nt = len(data.t_rec)
    files["tasks.csv"].write(_csv_rows([
        _id_col("t", tw, county.t_offset + 1 + np.arange(nt, dtype=np.int64)),
        _id_col("r", rw, r_base + data.t_rec),
        _text_col(list(layout.services), data.t_service),
        np.zeros(nt, dtype="S1"),  # tier: the service's
        _mask_col(layout.skills, data.t_skills),
        _time_col(layout, data.t_ws), _time_col(layout, data.t_we),
        _int_col(data.t_dur), _int_col(data.t_needed),
        vols(data.t_pin), vols(data.t_prev),
    ]))


def _problem_toml(layout: _Layout) -> bytes:
    import tomli_w

    header = _header(layout)
    return tomli_w.dumps(header).encode("utf-8")


def _write_bundle(layout: _Layout, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (tmp / "problem.toml").write_bytes(_problem_toml(layout))
        files: dict[str, IO[bytes]] = {}
        try:
            for name, header in BUNDLE_COLUMNS.items():
                handle = open(tmp / name, "wb", buffering=1 << 22)
                files[name] = handle
                handle.write((",".join(header) + "\n").encode())
            for data in _counties(layout):
                _write_county_csv(layout, data, files)
        finally:
            for written in files.values():
                written.flush()
                os.fsync(written.fileno())
                written.close()
        for name in ("problem.toml", *BUNDLE_COLUMNS):
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def generate_to(
    scenario: Scenario | str | os.PathLike[str], seed: int, out_path: str | os.PathLike[str]
) -> Path:
    """Generate the scenario for ``seed`` and write it: a problem JSON file when
    ``out_path`` ends in ``.json``, else a SPEC §9 table-bundle folder.

    The bundle is streamed county by county straight from numpy columns to CSV
    (no pydantic objects), so a province fits in little memory; it loads with
    :func:`assign.io.load` into the same problem :func:`generate` builds. Each
    file is written to a temporary folder next to ``out_path`` and moved into
    place at the end. Returns ``out_path``.
    """
    out = Path(out_path)
    sc = _as_scenario(scenario)
    if str(out).endswith(".json"):
        from .io.json_io import save_json

        save_json(generate(sc, seed), out)
    else:
        _write_bundle(_layout(sc, seed), out)
    return out
