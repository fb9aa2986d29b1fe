"""The SPEC §8 ``metrics`` block of a schedule, as plain JSON-ready Python values.

Keys (community ids, tier numbers, group and organisation names are strings)::

    assignments                     number of assignments with known ids
    coverage.total                  {tasks, covered, weight, covered_weight}
    coverage.by_tier[tier]          the same, for every tier 1..T (zeros where a tier has no task)
    coverage.by_community_tier[community][tier]
                                    the same, for every (community, tier) that has tasks;
                                    a task's community is its recipient's
    coverage.by_group[group]        the same, over tasks whose recipient is in the group
                                    (a task counts in each of its recipient's groups)
    coverage.no_group               the same, over tasks whose recipient has no group
    utilisation                     over volunteers with max_minutes > 0, of load / max_minutes
                                    (load as in rule 10): {volunteers, mean, max, gini, jain};
                                    mean/max/gini/jain are null without such volunteers; when
                                    every load is 0, gini is 0.0 and jain 1.0 (all equal)
    idle_volunteers                 volunteers with max_minutes > 0 and no assignment
    idle_by_community[community]    the same, per community of registration (every community)
    volunteers_without_assignment   all volunteers with no assignment, whatever their max_minutes
    participation_by_org[org]       {volunteers, with_work, share}: share of the organisation's
                                    volunteers with at least one assignment ("" = no org)

Assignments naming an unknown task or volunteer (index -1) are ignored.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .compile import Compiled
from .rules import volunteer_loads
from .solution import Solution


def _coverage_cells(
    keys: NDArray[np.int64], covered: NDArray[np.bool_], weight: NDArray[np.int64], cells: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """(tasks, covered, weight, covered weight) per cell of ``keys``."""
    tasks = np.bincount(keys, minlength=cells)
    done = np.bincount(keys[covered], minlength=cells)
    total_w = np.bincount(keys, weights=weight.astype(np.float64), minlength=cells)
    done_w = np.bincount(keys[covered], weights=weight[covered].astype(np.float64), minlength=cells)
    return tasks, done, np.rint(total_w).astype(np.int64), np.rint(done_w).astype(np.int64)


def _cell(tasks: Any, covered: Any, weight: Any, covered_weight: Any) -> dict[str, int]:
    return {
        "tasks": int(tasks),
        "covered": int(covered),
        "weight": int(weight),
        "covered_weight": int(covered_weight),
    }


def _coverage_of(mask: NDArray[np.bool_], covered: NDArray[np.bool_], weight: NDArray[np.int64]) -> dict[str, int]:
    hit = mask & covered
    return _cell(mask.sum(), hit.sum(), weight[mask].sum(), weight[hit].sum())


def gini(values: NDArray[np.float64]) -> float | None:
    """Gini index of non-negative values (0 = all equal); None when empty."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = len(x)
    if n == 0:
        return None
    total = x.sum()
    if total <= 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float(2.0 * np.sum(ranks * x) / (n * total) - (n + 1) / n)


def jain(values: NDArray[np.float64]) -> float | None:
    """Jain's fairness index ``(sum x)^2 / (n * sum x^2)`` (1 = all equal); None when empty."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) == 0:
        return None
    square = float(np.sum(x * x))
    if square <= 0:
        return 1.0
    return float(x.sum() ** 2 / (len(x) * square))


def utilisation(c: Compiled, load: NDArray[np.floating[Any]]) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """SPEC §8's utilisation ``load / max_minutes`` of the volunteers with
    pledged minutes: (which volunteers, their shares in problem order)."""
    pledge = c.pledge_minutes
    pledged = pledge > 0
    return pledged, np.asarray(load, dtype=np.float64)[pledged] / pledge[pledged]


def compute_metrics(c: Compiled, sol: Solution) -> dict[str, Any]:
    """SPEC §8 metrics of a solution (see the module docstring for the keys)."""
    known = (sol.task >= 0) & (sol.task < c.n_tasks) & (sol.volunteer >= 0) & (sol.volunteer < c.n_volunteers)
    t = sol.task[known].astype(np.int64)
    v = sol.volunteer[known].astype(np.int64)

    covered = np.zeros(c.n_tasks, dtype=bool)
    covered[t] = True
    weight = c.t_weight.astype(np.int64)
    n_tiers = c.n_tiers
    tier = c.t_tier.astype(np.int64)

    # coverage per tier and per community x tier
    by_tier = _coverage_cells(tier, covered, weight, n_tiers + 1)
    cells = c.n_communities * (n_tiers + 1)
    community_key = c.t_community.astype(np.int64) * (n_tiers + 1) + tier
    by_cell = _coverage_cells(community_key, covered, weight, cells)
    by_community_tier: dict[str, dict[str, dict[str, int]]] = {}
    for key in np.nonzero(by_cell[0])[0]:
        community, task_tier = divmod(int(key), n_tiers + 1)
        by_community_tier.setdefault(c.community_ids[community], {})[str(task_tier)] = _cell(
            *(column[key] for column in by_cell)
        )

    # coverage per priority group of the recipient
    groups: dict[str, list[int]] = {}
    for index, recipient in enumerate(c.problem.recipients):
        for group in dict.fromkeys(recipient.groups):
            groups.setdefault(group, []).append(index)
    by_group = {}
    for group, members in sorted(groups.items()):
        in_group = np.zeros(c.n_recipients, dtype=bool)
        in_group[members] = True
        by_group[group] = _coverage_of(in_group[c.t_recipient], covered, weight)
    has_group = np.array([bool(r.groups) for r in c.problem.recipients], dtype=bool)
    no_group = _coverage_of(~has_group[c.t_recipient] if c.n_tasks else np.zeros(0, bool), covered, weight)

    # utilisation over volunteers with pledged minutes
    load = volunteer_loads(c, t, v).astype(np.float64)
    assigned = np.bincount(v, minlength=c.n_volunteers) > 0
    pledged, share = utilisation(c, load)
    idle = pledged & ~assigned
    idle_count = np.bincount(c.v_community[idle], minlength=c.n_communities)

    orgs = np.bincount(c.v_org, minlength=len(c.org_names))
    orgs_working = np.bincount(c.v_org[assigned], minlength=len(c.org_names))

    return {
        "assignments": int(len(t)),
        "coverage": {
            "total": _cell(c.n_tasks, covered.sum(), weight.sum(), weight[covered].sum()),
            "by_tier": {str(k): _cell(*(column[k] for column in by_tier)) for k in range(1, n_tiers + 1)},
            "by_community_tier": by_community_tier,
            "by_group": by_group,
            "no_group": no_group,
        },
        "utilisation": {
            "volunteers": int(pledged.sum()),
            "mean": float(share.mean()) if len(share) else None,
            "max": float(share.max()) if len(share) else None,
            "gini": gini(share),
            "jain": jain(share),
        },
        "idle_volunteers": int(idle.sum()),
        "idle_by_community": {cid: int(idle_count[i]) for i, cid in enumerate(c.community_ids)},
        "volunteers_without_assignment": int((~assigned).sum()),
        "participation_by_org": {
            org: {
                "volunteers": int(orgs[i]),
                "with_work": int(orgs_working[i]),
                "share": float(orgs_working[i] / orgs[i]) if orgs[i] else 0.0,
            }
            for i, org in enumerate(c.org_names)
        },
    }
