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

A cheap bit-mask sieve (:class:`_Sieve`: which slots of the horizon a
volunteer's availability and a task's window touch) drops most pairs that
cannot be free before the exact test: first whole (volunteer, recipient)
pairs, against the union of the recipient's tasks' slots, before the
expansion of step 3, then each (task, volunteer) row. The result is sorted by
(task, km to ~1 mm), rows of equal keys in the order they were generated (not
in an order that depends on numpy's sort kernel), and indexed by a CSR pointer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import rules
from .compile import EARTH_RADIUS_KM, Compiled
from .errors import TooLargeError

DEFAULT_CHUNK = 8192
#: bytes a candidate pair costs the machine at a solve's peak: the six
#: columns (32 bytes), each column concatenated once at the end and the
#: solvers' per-pair arrays — Ankang (63,971,579 pairs): the solving process
#: peaked at 4.45 GB, ~1.3 GB of it the problem itself, ~49 bytes a pair
#: (benchmarks/HISTORY.md, stop 40) — and, with two workers, the forked
#: child's half held twice while it is sent to the parent
MEMORY_PER_PAIR = 64
#: a full build's projection of its pairs (from the tasks done so far) is
#: trusted once this share of the process's tasks is done; before, only the
#: pairs already built count (a dense first county would overstate the rest)
MEMORY_PROJECT_SHARE = 0.25
#: with more than one worker and at least this many chunks of tasks, a forked
#: child builds the second half of the chunks beside the parent (the same
#: arrays, row for row: each chunk's pairs do not depend on the others')
PARALLEL_MIN_CHUNKS = 2
#: relative slack on the chord radius: the tree must never miss a pair the exact
#: haversine test accepts (chord and haversine round differently)
CHORD_SLACK = 1e-6


@dataclass(frozen=True, eq=False)
class Candidates:
    """Eligible and free (task, volunteer) pairs as compact parallel columns.

    Rows are sorted by (task, km) (km to about a millimetre; ties keep a fixed,
    deterministic order); rows of task ``t`` are ``ptr[t]:ptr[t + 1]``.
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
    #: True when built for a subset of the tasks only (the others have no rows)
    partial: bool = False

    @property
    def complete(self) -> bool:
        """Every eligible free pair of every task is here (no cap, no subset)."""
        return self.cap is None and not self.partial

    def __len__(self) -> int:
        return len(self.task)

    def rows(self, task: int) -> slice:
        """The rows of one task."""
        return slice(int(self.ptr[task]), int(self.ptr[task + 1]))

    def counts(self) -> NDArray[np.int64]:
        """Number of candidate volunteers of every task."""
        return np.diff(self.ptr)

    def subset(self, rows: NDArray[np.int64]) -> Candidates:
        """These rows only (ascending, so still sorted by task), marked partial."""
        t = self.task[rows]
        return Candidates(
            task=t,
            volunteer=self.volunteer[rows],
            km=self.km[rows],
            start=self.start[rows],
            load=self.load[rows],
            cost=self.cost[rows],
            ptr=np.searchsorted(t, np.arange(len(self.ptr))).astype(np.int64),
            cap=self.cap,
            partial=True,
        )

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

    groups: list[_SkillGroup] = []
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


#: 64-bit words of the slot masks of the availability sieve
SIEVE_WORDS = 2


@dataclass(frozen=True, eq=False)
class _Sieve:
    """Bit masks over ``64 * SIEVE_WORDS`` equal slots of the horizon: the slots
    each volunteer's availability touches, and those each task's window
    touches. A volunteer whose mask misses the task's cannot be free for it, a
    cheap necessary test run before the exact :func:`assign.rules.earliest_free_start`."""

    volunteer: list[NDArray[np.uint64]]
    task: list[NDArray[np.uint64]]

    @staticmethod
    def of(c: Compiled) -> _Sieve:
        slots = 64 * SIEVE_WORDS
        length = max(1, -(-(c.horizon_minutes + 1) // slots))
        owner = np.repeat(np.arange(c.n_volunteers, dtype=np.int64), np.diff(c.av_ptr))
        v_first, v_last = c.av_start // length, (c.av_end - 1) // length
        t_first, t_last = c.t_window_start // length, (c.t_window_end - 1) // length
        vol_masks, task_masks = [], []
        for word in range(SIEVE_WORDS):
            per_interval = _span_mask(v_first - 64 * word, v_last - 64 * word)
            masks = np.zeros(c.n_volunteers, dtype=np.uint64)
            np.bitwise_or.at(masks, owner, per_interval)
            vol_masks.append(masks)
            task_masks.append(_span_mask(t_first - 64 * word, t_last - 64 * word))
        return _Sieve(vol_masks, task_masks)

    def may_be_free(self, t: NDArray[np.int64], v: NDArray[np.int64]) -> NDArray[np.bool_]:
        hit = self.volunteer[0][v] & self.task[0][t]
        for word in range(1, SIEVE_WORDS):
            hit |= self.volunteer[word][v] & self.task[word][t]
        return hit != 0

    def may_serve(
        self, v: NDArray[np.int64], rec: NDArray[np.int64], rec_ptr: NDArray[np.int64], rec_tasks: NDArray[np.int64]
    ) -> NDArray[np.bool_]:
        """Whether volunteer ``v`` may be free for *some* task of local
        recipient ``rec`` (tasks ``rec_tasks[rec_ptr[r]:rec_ptr[r+1]]``, none
        empty): the recipient's mask is the union of its tasks', so a pair
        refused here has no task that :meth:`may_be_free` would pass."""
        hit = np.zeros(len(v), dtype=np.uint64)
        for word in range(SIEVE_WORDS):
            union = np.bitwise_or.reduceat(self.task[word][rec_tasks], rec_ptr[:-1])
            hit |= self.volunteer[word][v] & union[rec]
        return hit != 0


def _span_mask(first: NDArray[np.int64], last: NDArray[np.int64]) -> NDArray[np.uint64]:
    """uint64 masks with bits ``first..last`` set (clipped to 0..63)."""
    lo = np.clip(first, 0, 64).astype(np.uint64)
    hi = np.clip(last + 1, 0, 64).astype(np.uint64)
    full = np.uint64(0xFFFFFFFFFFFFFFFF)
    one = np.uint64(1)

    def below(n: NDArray[np.uint64]) -> NDArray[np.uint64]:
        # bits 0..n-1 set; n == 64 needs its own case (a shift by 64 is undefined)
        return np.where(n >= 64, full, (one << np.minimum(n, np.uint64(63))) - one)

    return below(hi) & ~below(lo)


PairFilter = Callable[[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]], NDArray[np.bool_]]


def pairs_in_radius(
    c: Compiled,
    tasks: NDArray[np.int64] | None = None,
    volunteers: NDArray[np.int64] | None = None,
    chunk: int = DEFAULT_CHUNK,
    pair_filter: PairFilter | None = None,
    sieve: _Sieve | None = None,
) -> Iterator[tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]]:
    """Yield, chunk by chunk of ``tasks``, every (task, volunteer, km) pair where
    the volunteer has the task's skills (rule 4) and lives within radius (rule 6).

    ``tasks`` must be sorted ascending (default: all); ``volunteers`` restricts
    the volunteers considered (default: all). Distance, radius and
    ``pair_filter(t, v, km)`` (which must depend on the task only through its
    recipient, e.g. exclusion or community) are evaluated once per (recipient,
    volunteer) pair, with a representative task, before the pairs are expanded
    to every task of the recipient. Availability is *not* tested here, except
    that with a ``sieve`` the (recipient, volunteer) pairs that
    :meth:`_Sieve.may_serve` refuses are dropped before the expansion (none of
    their tasks could pass the sieve; Ankang: 63 M such pairs, 36 M kept,
    208 M rows expanded instead of 276 M).
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
            if sieve is not None:
                keep &= sieve.may_serve(pair_v, pair_r, rec_ptr, rec_tasks)
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


def available_memory() -> int | None:
    """Bytes of memory available for new work without swapping (Linux:
    ``MemAvailable`` of ``/proc/meminfo``); None where it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


@dataclass(frozen=True)
class _MemoryGuard:
    """Refuses a full build whose pairs would not fit the memory available
    when it started (:data:`MEMORY_PER_PAIR` bytes each), with a
    :class:`~assign.errors.TooLargeError` that says what it needs and how to
    split the problem — instead of the operating system killing the process
    later (Shaanxi's 2.5 M tasks: ~910 M pairs projected, ~54 GiB;
    benchmarks/README.md, "Province scale")."""

    n_tasks: int
    available: int
    #: the tasks this process builds (the others: a forked child's, built
    #: at the same pace)
    mine: int

    def check(self, pairs: int, done: int) -> None:
        """``pairs`` built from the first ``done`` of this process's tasks."""
        # (the child's half as far along as this one)
        projected = int(pairs * self.n_tasks / max(1, self.mine))
        if done >= MEMORY_PROJECT_SHARE * self.mine and done > 0:
            projected = max(projected, int(pairs * self.n_tasks / done))
        need = projected * MEMORY_PER_PAIR
        if need <= self.available:
            return
        gib = 1024.0**3
        raise TooLargeError(
            f"the problem is too large for this machine's memory: its {self.n_tasks:,} tasks have about "
            f"{projected:,} candidate (task, volunteer) pairs (counted on the first {done:,} tasks), which "
            f"need about {need / gib:.1f} GiB while {self.available / gib:.1f} GiB are available. A problem "
            "whose volunteers fall into groups that share none is solved one group at a time "
            "(assign.solve does so by itself unless parts=False; `assign solve --parts` from the start); "
            "a single group this large needs more memory, or plan one county or city at a time "
            "(keeping only each task's nearest candidates, k, does not help strategy auto: its bounds "
            "need every pair)"
        )


def build_candidates(
    c: Compiled,
    chunk: int = DEFAULT_CHUNK,
    k: int | None = None,
    tasks: NDArray[np.int64] | None = None,
    with_cost: bool = True,
    workers: int = 1,
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
    workers
        With 2 or more and at least :data:`PARALLEL_MIN_CHUNKS` chunks, a
        forked child builds the second half of the chunks (the result is the
        same; where the platform cannot fork, or the child fails, the
        process builds them itself).

    Examples
    --------
    >>> from assign.io import load
    >>> from assign.compile import compile_problem
    >>> c = compile_problem(load("tests/data/tiny.json"))
    >>> cands = build_candidates(c)
    >>> [(c.task_ids[t], c.volunteer_ids[v]) for t, v in zip(cands.task, cands.volunteer)][:2]
    [('t1', 'v1'), ('t2', 'v2')]
    """
    available = None
    if tasks is None:
        task_list = np.arange(c.n_tasks, dtype=np.int64)
        available = available_memory()
    else:
        task_list = np.unique(np.asarray(tasks, dtype=np.int64))
    n_chunks = -(-len(task_list) // chunk)
    child = None
    if workers > 1 and n_chunks >= PARALLEL_MIN_CHUNKS:
        from .forking import forked

        half = (n_chunks + 1) // 2 * chunk  # (a chunk boundary: the same chunks as one process builds)
        rest = task_list[half:]
        child = forked(lambda: _candidate_columns(c, rest, chunk, k, with_cost))
        if child is not None:
            task_list = task_list[:half]
    guard = None if available is None else _MemoryGuard(c.n_tasks, available, len(task_list))
    try:
        columns = _candidate_columns(c, task_list, chunk, k, with_cost, guard)
    except BaseException:
        if child is not None:
            child(0.0)  # (stopped: its half is not needed)
        raise
    if child is not None:
        got = child(None)
        more = got if got is not None else _candidate_columns(c, rest, chunk, k, with_cost)
        for name in _COLUMNS:
            columns[name].extend(more[name])
    final: dict[str, NDArray[Any]] = {}
    for name, dtype in _COLUMNS.items():
        parts = columns.pop(name)
        final[name] = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
        del parts  # one column at a time: peak memory = result + one column
    ptr = np.searchsorted(final["task"], np.arange(c.n_tasks + 1), side="left").astype(np.int64)
    return Candidates(
        task=final["task"],
        volunteer=final["volunteer"],
        km=final["km"],
        start=final["start"],
        load=final["load"],
        cost=final["cost"],
        ptr=ptr,
        cap=k,
        partial=tasks is not None,
    )


_INT32_MAX = np.iinfo(np.int32).max
#: the candidate columns and their dtypes
_COLUMNS: dict[str, Any] = {
    "task": np.int32, "volunteer": np.int32, "km": np.float32, "start": np.int64, "load": np.int32,
    "cost": np.float64,
}


def _task_km_order(t: NDArray[np.int64], km: NDArray[np.float64]) -> NDArray[np.int64]:
    """The order of pairs by (task, km to 2**-20 km, ~1 mm), equal keys in
    their given order. Where the task's offset, the km and the row's index
    fit 63 bits together, one packed key sorted by value (no index sort:
    Ankang's 31 chunks 5.3 -> ~3 s); else a stable lexsort."""
    n = len(t)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    kmq = np.minimum(km * (1 << 20), (1 << 42) - 1).astype(np.int64)
    base = int(t.min())
    bits_t = (int(t.max()) - base).bit_length()
    bits_k = int(kmq.max()).bit_length()
    bits_i = (n - 1).bit_length()
    if bits_t + bits_k + bits_i > 63:
        return np.lexsort((kmq, t))
    key = (((t - base) << bits_k | kmq) << bits_i) | np.arange(n, dtype=np.int64)
    key.sort()
    key &= (1 << bits_i) - 1
    return key


def _candidate_columns(
    c: Compiled,
    task_list: NDArray[np.int64],
    chunk: int,
    k: int | None,
    with_cost: bool,
    guard: _MemoryGuard | None = None,
) -> dict[str, list[NDArray[Any]]]:
    """The candidate columns of ``task_list`` (sorted), chunk by chunk;
    ``guard`` checks the pairs so far after each chunk."""
    # a volunteer without availability is never free: keep them out of the trees
    has_time = np.flatnonzero(np.diff(c.av_ptr) > 0)

    def recipient_rules(t: NDArray[np.int64], v: NDArray[np.int64], km: NDArray[np.float64]) -> NDArray[np.bool_]:
        return rules.not_excluded(c, t, v) & rules.community_ok(c, t, v)

    sieve = _Sieve.of(c)
    columns: dict[str, list[NDArray[Any]]] = {name: [] for name in _COLUMNS}
    n_pairs = done = 0
    for t, v, km in pairs_in_radius(c, task_list, has_time, chunk, recipient_rules, sieve):
        if len(t):  # (the tasks up to this chunk's last pair's: a lower bound of those done)
            done = int(np.searchsorted(task_list, int(t.max()), side="right"))
        keep = np.flatnonzero(sieve.may_be_free(t, v))
        t, v = t[keep], v[keep]
        start = rules.earliest_free_start(c, t, v)
        free = np.flatnonzero(start >= 0)
        keep, t, v, start = keep[free], t[free], v[free], start[free]
        km = km[keep]
        order = _task_km_order(t, km)
        t, v, km, start = t[order], v[order], km[order], start[order]
        if k is not None:
            rank = np.arange(len(t)) - np.searchsorted(t, t, side="left")
            keep = np.flatnonzero(rank < k)
            t, v, km, start = t[keep], v[keep], km[keep], start[keep]
        columns["task"].append(t.astype(np.int32))
        columns["volunteer"].append(v.astype(np.int32))
        columns["km"].append(km.astype(np.float32))
        columns["start"].append(start)
        # (a load beyond 32 bits, from a capped trip counted twice, exceeds every
        # pledge as 2^31 - 1 does: it must not wrap around to a small one)
        columns["load"].append(np.minimum(rules.assignment_load(c, t, v, km), _INT32_MAX).astype(np.int32))
        if with_cost:
            from .score import linear_pair_cost

            columns["cost"].append(np.asarray(linear_pair_cost(c, t, v, km), dtype=np.float64))
        else:
            columns["cost"].append(np.zeros(len(t), dtype=np.float64))
        n_pairs += len(t)
        if guard is not None:
            guard.check(n_pairs, done)
    return columns
