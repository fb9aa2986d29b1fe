"""Candidate (task, volunteer) pairs: every pair that is eligible and free.

*Eligible* and *free* are the SPEC §10 readings: the volunteer has the skills,
lives within their radius of the recipient, is not excluded, is of the same
community under ``cross_community = "forbid"``, and one of their joined
availability intervals holds the whole visit somewhere in the task's window
(ignoring other assignments). These are exactly the pairs a solver may use.

How it is built, without ever forming a volunteers × tasks matrix:

1. Volunteers are grouped by skill mask; each group gets a ``cKDTree`` over the
   unit-sphere coordinates of their homes.
2. Tasks are taken in chunks. For each skill group that can serve some tasks of
   the chunk, the recipients of those tasks get a small tree and the two trees
   are joined with ``sparse_distance_matrix`` at the chord of the group's largest
   radius (plus a little slack), a C-level dual-tree walk.
3. The (volunteer, recipient) pairs are expanded to (task, volunteer) pairs and
   filtered *exactly* with :mod:`assign.rules` (``eligible``,
   ``earliest_free_start``): the tree is only a coarse sieve.

The result is sorted by (task, km, volunteer) and indexed by a CSR pointer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from . import rules
from .compile import EARTH_RADIUS_KM, Compiled

DEFAULT_CHUNK = 8192
#: relative slack on the chord radius: the tree must never miss a pair the exact
#: haversine test accepts (chord and haversine round differently)
CHORD_SLACK = 1e-6


@dataclass(frozen=True, eq=False)
class Candidates:
    """Eligible and free (task, volunteer) pairs as compact parallel columns.

    Rows are sorted by (task, km, volunteer); rows of task ``t`` are
    ``ptr[t]:ptr[t + 1]``.
    """

    #: task index of each pair
    task: NDArray[np.int32]
    #: volunteer index of each pair
    volunteer: NDArray[np.int32]
    #: detour-adjusted distance home → recipient (km)
    km: NDArray[np.float32]
    #: earliest start at which the visit fits the window and one availability
    #: interval, ignoring other assignments (minutes from horizon start)
    start: NDArray[np.int64]
    #: rule-10 minutes of the assignment (duration, plus travel when counted)
    load: NDArray[np.int32]
    #: linear soft cost of the assignment (:func:`assign.score.linear_pair_cost`)
    cost: NDArray[np.float64]
    #: CSR pointer over all tasks of the problem (length ``n_tasks + 1``)
    ptr: NDArray[np.int64]
    #: nearest-k cap per task, or None when every pair is kept
    cap: int | None = None

    def __len__(self) -> int:
        return len(self.task)

    def rows(self, task: int) -> slice:
        """The rows of one task."""
        return slice(int(self.ptr[task]), int(self.ptr[task + 1]))

    def counts(self) -> NDArray[np.int64]:
        """Number of candidate volunteers of every task."""
        return np.diff(self.ptr)

    @property
    def nbytes(self) -> int:
        """Memory held by the columns, in bytes."""
        return sum(
            a.nbytes for a in (self.task, self.volunteer, self.km, self.start, self.load, self.cost, self.ptr)
        )


def chord_for_km(c: Compiled, km: float) -> float:
    """The unit-sphere chord length of a detour-adjusted distance, with slack."""
    angle = km / c.detour_factor / EARTH_RADIUS_KM
    if angle >= np.pi:
        return 2.0 + 1e-9
    return float(2.0 * np.sin(angle / 2.0) * (1.0 + CHORD_SLACK) + 1e-9)


@dataclass(frozen=True, eq=False)
class _SkillGroup:
    """Volunteers sharing one skill mask, with a tree over their homes."""

    volunteers: NDArray[np.int64]
    max_radius: float
    tree: object  # scipy.spatial.cKDTree


def _skill_groups(c: Compiled, volunteers: NDArray[np.int64]) -> list[_SkillGroup]:
    from scipy.spatial import cKDTree

    groups = []
    if len(volunteers) == 0:
        return groups
    masks = c.v_skills[volunteers]
    order = np.argsort(masks, kind="stable")
    masks_sorted = masks[order]
    bounds = np.flatnonzero(np.diff(masks_sorted)) + 1
    for members in np.split(volunteers[order], bounds):
        groups.append(
            _SkillGroup(
                volunteers=members,
                max_radius=float(c.v_radius[members].max()),
                tree=cKDTree(c.v_xyz[members]),
            )
        )
    return groups


def _expand(
    pair_vol: NDArray[np.int64], pair_rec: NDArray[np.int64], rec_ptr: NDArray[np.int64], rec_tasks: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """(volunteer, local recipient) pairs → (task, volunteer) pairs, one row per
    task of the recipient (``rec_tasks[rec_ptr[r]:rec_ptr[r+1]]``); also returns
    the source pair of each row."""
    per_pair = rec_ptr[pair_rec + 1] - rec_ptr[pair_rec]
    total = int(per_pair.sum())
    rep = np.repeat(np.arange(len(pair_vol)), per_pair)
    first = np.cumsum(per_pair) - per_pair
    within = np.arange(total, dtype=np.int64) - np.repeat(first, per_pair)
    tasks = rec_tasks[rec_ptr[pair_rec][rep] + within]
    return tasks, pair_vol[rep], rep


Sieve = tuple[NDArray[np.int32], int, NDArray[np.int64], NDArray[np.int64]]


def _hour_sieve(c: Compiled) -> Sieve:
    """Per volunteer, the running count of horizon hours touched by availability
    (flattened ``n_volunteers × (hours + 1)``), for a cheap necessary test of
    "free" before the exact one: a volunteer with no available minute in the
    hours of a task's window cannot be free for it."""
    hours = c.horizon_minutes // 60 + 2
    owner = np.repeat(np.arange(c.n_volunteers, dtype=np.int64), np.diff(c.av_ptr))
    diff = np.zeros(c.n_volunteers * hours + 1, dtype=np.int32)
    np.add.at(diff, owner * hours + c.av_start // 60, 1)
    np.add.at(diff, owner * hours + (c.av_end - 1) // 60 + 1, -1)
    touched = (np.cumsum(diff[:-1]).reshape(c.n_volunteers, hours) > 0).astype(np.int32)
    running = np.zeros((c.n_volunteers, hours + 1), dtype=np.int32)
    np.cumsum(touched, axis=1, out=running[:, 1:])
    first_hour = c.t_window_start // 60
    last_hour = (c.t_window_end - 1) // 60 + 1
    return running.ravel(), hours + 1, first_hour, last_hour


def _may_be_free(c: Compiled, sieve: Sieve, t: NDArray[np.int64], v: NDArray[np.int64]) -> NDArray[np.bool_]:
    running, width, first_hour, last_hour = sieve
    base = v * width
    return running[base + last_hour[t]] > running[base + first_hour[t]]


PairFilter = Callable[[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]], NDArray[np.bool_]]


def pairs_in_radius(
    c: Compiled,
    tasks: NDArray[np.int64] | None = None,
    volunteers: NDArray[np.int64] | None = None,
    chunk: int = DEFAULT_CHUNK,
    pair_filter: PairFilter | None = None,
) -> Iterator[tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]]:
    """Yield, chunk by chunk of ``tasks``, every (task, volunteer, km) pair where
    the volunteer has the task's skills (rule 4) and lives within radius (rule 6).

    ``tasks`` must be sorted ascending (default: all); ``volunteers`` restricts
    the volunteers considered (default: all). Distance, radius and
    ``pair_filter(t, v, km)`` (which must depend on the task only through its
    recipient, e.g. exclusion or community) are evaluated once per (recipient,
    volunteer) pair, with a representative task, before the pairs are expanded
    to every task of the recipient. Availability is *not* tested here.
    """
    if tasks is None:
        tasks = np.arange(c.n_tasks, dtype=np.int64)
    if volunteers is None:
        volunteers = np.arange(c.n_volunteers, dtype=np.int64)
    tasks = np.asarray(tasks, dtype=np.int64)
    groups = _skill_groups(c, np.asarray(volunteers, dtype=np.int64))
    if not groups or len(tasks) == 0:
        return
    from scipy.spatial import cKDTree

    for lo in range(0, len(tasks), chunk):
        block = tasks[lo : lo + chunk]
        found_t: list[NDArray[np.int64]] = []
        found_v: list[NDArray[np.int64]] = []
        found_km: list[NDArray[np.float64]] = []
        for group in groups:
            # which tasks of the block this skill group can serve (rule 4, via a
            # representative volunteer: all members share the mask)
            rep = np.full(len(block), group.volunteers[0], dtype=np.int64)
            served = block[rules.skills_ok(c, block, rep)]
            if len(served) == 0:
                continue
            recipients = c.t_recipient[served].astype(np.int64)
            uniq, local = np.unique(recipients, return_inverse=True)
            order = np.argsort(local, kind="stable")
            rec_tasks = served[order]
            rec_ptr = np.zeros(len(uniq) + 1, dtype=np.int64)
            rec_ptr[1:] = np.cumsum(np.bincount(local, minlength=len(uniq)))
            rec_tree = cKDTree(c.r_xyz[uniq])
            near = group.tree.sparse_distance_matrix(  # type: ignore[attr-defined]
                rec_tree, chord_for_km(c, group.max_radius), output_type="ndarray"
            )
            if len(near) == 0:
                continue
            pair_v = group.volunteers[near["i"].astype(np.int64)]
            pair_r = near["j"].astype(np.int64)
            # one representative task per recipient: distance, radius and the
            # recipient-level rules are the same for all its tasks
            rep_task = rec_tasks[rec_ptr[pair_r]]
            km = rules.distance_km(c, rep_task, pair_v)
            keep = rules.radius_ok(c, rep_task, pair_v, km)
            if pair_filter is not None:
                keep &= pair_filter(rep_task, pair_v, km)
            pair_v, pair_r, km = pair_v[keep], pair_r[keep], km[keep]
            t, v, rows = _expand(pair_v, pair_r, rec_ptr, rec_tasks)
            found_t.append(t)
            found_v.append(v)
            found_km.append(km[rows])
        if not found_t:
            continue
        # rule 4 holds already: a group serves only the tasks whose skills its
        # (shared) mask covers, tested above with rules.skills_ok
        yield np.concatenate(found_t), np.concatenate(found_v), np.concatenate(found_km)


def build_candidates(
    c: Compiled,
    chunk: int = DEFAULT_CHUNK,
    k: int | None = None,
    tasks: NDArray[np.int64] | None = None,
    with_cost: bool = True,
) -> Candidates:
    """Every eligible and free (task, volunteer) pair of ``c``.

    Parameters
    ----------
    c
        The compiled problem.
    chunk
        Tasks per chunk; bounds the memory of the intermediate pair arrays.
    k
        Keep only the ``k`` nearest candidates of each task (None: keep all).
    tasks
        Restrict to these task indexes (default: all tasks).
    with_cost
        Compute the ``cost`` column with :func:`assign.score.linear_pair_cost`
        (zeros otherwise).

    Examples
    --------
    >>> from assign.io import load
    >>> from assign.compile import compile_problem
    >>> c = compile_problem(load("tests/data/tiny.json"))
    >>> cands = build_candidates(c)
    >>> [(c.task_ids[t], c.volunteer_ids[v]) for t, v in zip(cands.task, cands.volunteer)][:2]
    [('t1', 'v1'), ('t2', 'v2')]
    """
    if tasks is None:
        task_list = np.arange(c.n_tasks, dtype=np.int64)
    else:
        task_list = np.unique(np.asarray(tasks, dtype=np.int64))
    # a volunteer without availability is never free: keep them out of the trees
    has_time = np.flatnonzero(np.diff(c.av_ptr) > 0)
    parts: list[tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]] = []
    def recipient_rules(t: NDArray[np.int64], v: NDArray[np.int64], km: NDArray[np.float64]) -> NDArray[np.bool_]:
        return rules.not_excluded(c, t, v) & rules.community_ok(c, t, v)

    sieve = _hour_sieve(c)
    for t, v, km in pairs_in_radius(c, task_list, has_time, chunk, recipient_rules):
        keep = _may_be_free(c, sieve, t, v)
        t, v, km = t[keep], v[keep], km[keep]
        start = rules.earliest_free_start(c, t, v)
        keep = start >= 0
        t, v, km, start = t[keep], v[keep], km[keep], start[keep]
        order = np.lexsort((v, km, t))  # v: ties stay in a fixed order
        t, v, km, start = t[order], v[order], km[order], start[order]
        if k is not None:
            first = np.searchsorted(t, t, side="left")
            keep = np.arange(len(t)) - first < k
            t, v, km, start = t[keep], v[keep], km[keep], start[keep]
        parts.append((t, v, km, start))
    if parts:
        t = np.concatenate([p[0] for p in parts])
        v = np.concatenate([p[1] for p in parts])
        km = np.concatenate([p[2] for p in parts])
        start = np.concatenate([p[3] for p in parts])
    else:
        t = np.zeros(0, np.int64)
        v = np.zeros(0, np.int64)
        km = np.zeros(0, np.float64)
        start = np.zeros(0, np.int64)
    load = rules.assignment_load(c, t, v, km)
    if with_cost and len(t):
        from .score import linear_pair_cost

        cost = np.asarray(linear_pair_cost(c, t, v, km), dtype=np.float64)
    else:
        cost = np.zeros(len(t), dtype=np.float64)
    ptr = np.searchsorted(t, np.arange(c.n_tasks + 1), side="left").astype(np.int64)
    return Candidates(
        task=t.astype(np.int32),
        volunteer=v.astype(np.int32),
        km=km.astype(np.float32),
        start=start.astype(np.int64),
        load=load.astype(np.int32),
        cost=cost,
        ptr=ptr,
        cap=k,
    )
