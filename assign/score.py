"""The SPEC §6 score, once: ``(U_1, ..., U_T, soft)``, lower is better.

Solvers, the checker and the reports all call :func:`evaluate`; solvers that
need per-arc costs use :func:`linear_pair_cost`, which is the per-assignment
part of the same formula, so that

``soft = sum(linear_pair_cost) + w_stability * (number of previous pairs)
+ w_fairness * fairness + w_equity * equity``.

Readings made here (SPEC §6, §10):

* An assignment whose task or volunteer index is -1 (an unknown id, rule 1) is
  ignored by the score: it neither covers a task nor costs anything.
* Duplicated (task, volunteer) rows (rule 1) each count in ``travel_km``,
  ``discontinuity``, ``cross_community``, ``mismatches`` and the load; a pair
  counts once for ``changes``.
* ``U_t`` is an integer sum of task weights; ``uncovered`` has exactly T entries,
  T the largest tier among all tasks (0 entries without tasks).
* ``equity``: for every tier that has tasks, the largest over the communities
  with tier-t tasks of ``100 * uncovered weight / total weight`` (a community
  whose tier-t weights sum to 0 counts 0), summed over those tiers.
* ``fairness``: volunteers with ``history_capacity + max_minutes = 0`` are left
  out; ``max_minutes`` is the effective one (default: available minutes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from .compile import Compiled
from .model import SOFT_TERMS, Score, ScoreTerms
from .rules import distance_km, is_preferred, is_previous, volunteer_loads
from .solution import Solution

IntArray = NDArray[np.integer]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: soft term -> key of its weight in ``policy.weights`` (travel_km has weight 1)
TERM_WEIGHT: dict[str, str] = {
    "fairness": "fairness",
    "equity": "equity",
    "discontinuity": "continuity",
    "cross_community": "cross",
    "mismatches": "preference",
    "changes": "stability",
}


@dataclass(frozen=True)
class ScoreResult:
    """A SPEC §6 score with its raw (unweighted) soft terms."""

    uncovered: tuple[int, ...]
    soft: float
    terms: dict[str, float] = field(default_factory=dict)

    def key(self) -> tuple[float, ...]:
        """The tuple compared lexicographically: ``(U_1, ..., U_T, soft)``."""
        return (*self.uncovered, self.soft)

    def to_model(self) -> Score:
        """The score as the schedule file's :class:`~assign.model.Score`."""
        terms = {name: float(self.terms.get(name, 0.0)) for name in SOFT_TERMS}
        return Score(uncovered=tuple(self.uncovered), soft=float(self.soft), terms=ScoreTerms(**terms))


# ----------------------------------------------------------------- per assignment


def _pair_indicators(
    c: Compiled, t: NDArray[np.int64], v: NDArray[np.int64]
) -> tuple[BoolArray, BoolArray, BoolArray]:
    """(discontinuity, cross_community, mismatch) of each assignment (t, v)."""
    r = c.t_recipient[t]
    discontinuity = c.r_has_preferred[r] & ~is_preferred(c, t, v)
    cross = c.v_community[v] != c.r_community[r]
    wanted = (c.v_pref_services[v] >> c.t_service[t].astype(np.uint64)) & np.uint64(1)
    mismatch = (c.v_pref_services[v] != 0) & (wanted == 0)
    return discontinuity, cross, mismatch


def linear_pair_cost(
    c: Compiled, t: IntArray, v: IntArray, km: FloatArray | None = None
) -> FloatArray:
    """The per-assignment linear part of the soft score for pairs ``(t, v)``.

    ``km + w_continuity * discontinuity + w_cross * cross_community
    + w_preference * mismatch - w_stability * [pair is a previous one]``.
    Summed over a schedule's assignments, plus ``w_stability`` times the number
    of previous pairs, plus the weighted fairness and equity, this is ``soft``.
    """
    tasks = np.asarray(t, dtype=np.int64)
    vols = np.asarray(v, dtype=np.int64)
    if km is None:
        km = distance_km(c, tasks, vols)
    w = c.weights
    discontinuity, cross, mismatch = _pair_indicators(c, tasks, vols)
    cost = np.asarray(km, dtype=np.float64).copy()
    cost += w["continuity"] * discontinuity
    cost += w["cross"] * cross
    cost += w["preference"] * mismatch
    cost -= w["stability"] * is_previous(c, tasks, vols)
    return cost


# ----------------------------------------------------------------- global terms


def fairness_ratio(c: Compiled, volunteers: IntArray, load: NDArray[np.integer] | FloatArray) -> FloatArray:
    """The ratio SPEC §6 squares for each volunteer with that load:
    ``(history_minutes + load) / (history_capacity + max_minutes)``, 0 for a
    volunteer with ``history_capacity + max_minutes = 0`` (not counted)."""
    v = np.asarray(volunteers, dtype=np.int64)
    capacity = c.share_capacity[v]
    counted = capacity > 0
    ratio = (c.v_history_minutes[v] + np.asarray(load, dtype=np.float64)) / np.where(counted, capacity, 1.0)
    return np.where(counted, ratio, 0.0)


def fairness_share(c: Compiled, volunteers: IntArray, load: NDArray[np.integer] | FloatArray) -> FloatArray:
    """Each volunteer's SPEC §6 fairness term with that load: the square of
    :func:`fairness_ratio`, 0 for a volunteer not counted."""
    ratio = fairness_ratio(c, volunteers, load)
    return ratio * ratio


def fairness_terms(c: Compiled, load_per_volunteer: NDArray[np.integer] | FloatArray) -> float:
    """SPEC §6 fairness: sum over volunteers with ``history_capacity + max_minutes > 0``
    of ``((history_minutes + load) / (history_capacity + max_minutes))^2``
    (:func:`fairness_share` of each)."""
    load = np.asarray(load_per_volunteer, dtype=np.float64)
    counted = np.flatnonzero(c.share_capacity > 0)
    return float(np.sum(fairness_share(c, counted, load[counted])))


def equity_value(c: Compiled, covered_mask: BoolArray) -> float:
    """SPEC §6 equity: sum over tiers with tasks of the worst community's
    uncovered share of its tier-t weight, in percentage points."""
    if c.n_tasks == 0 or c.n_communities == 0:
        return 0.0
    n_comm = c.n_communities
    cells = (c.n_tiers + 1) * n_comm
    key = c.t_tier.astype(np.int64) * n_comm + c.t_community
    weight = c.t_weight.astype(np.float64)
    uncovered = ~np.asarray(covered_mask, dtype=bool)
    count = np.bincount(key, minlength=cells).reshape(-1, n_comm)
    total = np.bincount(key, weights=weight, minlength=cells).reshape(-1, n_comm)
    missing = np.bincount(key[uncovered], weights=weight[uncovered], minlength=cells).reshape(-1, n_comm)
    has_demand = count > 0
    safe_total = np.where(total != 0, total, 1.0)
    share = np.where(has_demand & (total != 0), 100.0 * missing / safe_total, 0.0)
    worst = np.where(has_demand, share, -np.inf).max(axis=1)
    return float(worst[has_demand.any(axis=1)].sum())


def _known_rows(c: Compiled, sol: Solution) -> BoolArray:
    return (sol.task >= 0) & (sol.task < c.n_tasks) & (sol.volunteer >= 0) & (sol.volunteer < c.n_volunteers)


def evaluate(c: Compiled, sol: Solution) -> ScoreResult:
    """The full SPEC §6 score of a solution (valid or not)."""
    known = _known_rows(c, sol)
    t = sol.task[known]
    v = sol.volunteer[known]
    km = distance_km(c, t, v)

    covered = np.zeros(c.n_tasks, dtype=bool)
    covered[t] = True
    n_tiers = c.n_tiers
    missing = ~covered
    per_tier = np.bincount(
        c.t_tier[missing], weights=c.t_weight[missing].astype(np.float64), minlength=n_tiers + 1
    )
    uncovered = tuple(int(round(x)) for x in per_tier[1 : n_tiers + 1])

    load = volunteer_loads(c, t, v, km)
    discontinuity, cross, mismatch = _pair_indicators(c, t, v)
    pair_keys = np.unique(t * c.n_volunteers + v)
    kept_previous = int(np.isin(pair_keys, c.previous_keys).sum())

    terms: dict[str, float] = {
        "travel_km": float(km.sum()),
        "fairness": fairness_terms(c, load),
        "equity": equity_value(c, covered),
        "discontinuity": float(discontinuity.sum()),
        "cross_community": float(cross.sum()),
        "mismatches": float(mismatch.sum()),
        "changes": float(len(c.previous_keys) - kept_previous),
    }
    soft = terms["travel_km"] + sum(c.weights[TERM_WEIGHT[name]] * terms[name] for name in TERM_WEIGHT)
    return ScoreResult(uncovered=uncovered, soft=float(soft), terms=terms)
