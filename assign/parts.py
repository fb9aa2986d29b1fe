"""Solving a problem in parts that share no volunteer, one part at a time.

A province (``shaanxi``: 2.5 M tasks, ~910 M candidate pairs) does not fit
one machine's memory as one set of candidate pairs, but its volunteers do not
reach across the whole province: most counties share no volunteer with any
other. Before any candidate pair is built, :func:`part_labels` joins each
volunteer to every recipient they could ever serve — the skills of some task
of the recipient, within their radius, not excluded, of the same community
under ``cross_community = "forbid"`` (SPEC §10; availability is not looked
at, so this is a superset of the candidate pairs) — and takes the connected
components of that graph. No candidate pair, pin that can be kept or rule
between visits crosses two components, so every valid schedule of the whole
problem is the union of valid schedules of its components and vice versa.

:func:`solve_in_parts` packs the components into parts of about
:data:`PART_PAIRS` estimated pairs and solves each part as its own problem
(:func:`assign.solvers.auto.subproblem`: its tasks and volunteers, every
recipient; volunteers outside it that a recipient prefers or excludes, or a
task lists as previous or pinned, stand for one dummy volunteer without
skills or time): candidates, strategy, fill and reasons, then frees it. The
schedules are joined; the score is the whole problem's (:func:`assign.score`
on the joined schedule, as for any schedule).

What the parts report together:

* **bound**: ``U_t`` is the sum of the parts' ``U_t`` bounds — valid
  lexicographically: the whole's ``U_1`` is the sum of the parts' (they are
  independent), so it can equal the sum of the parts' bounds only where
  every part's does, and then each part's ``U_2`` bound holds, and so on.
  The parts' soft bounds do not add up (equity is a maximum over communities
  that may span parts), so the soft part of the bound is 0 — valid when no
  soft weight is negative (every soft term is then >= 0); with a negative
  soft weight there is no bound.
* **reasons**: a task's eligible volunteers all lie in its part, so whether
  some are free (``capacity``, ``team_too_small``) is decided there; the
  static reasons of a task no volunteer can take (``no_skill``,
  ``out_of_range``, ``excluded``, ``no_availability``) look at every
  volunteer and are computed on the whole problem.
* **time**: each part gets the time limit's share of its estimated pairs
  (the same shares every run, so one worker repeats).
* **linking in two processes**: with two workers or more, a forked child
  links the second half of the task chunks and the two partitions are
  joined (:func:`part_labels`; the same components).
* **two at a time**: with two workers or more (and so the wall clock), the
  parts are solved :data:`PARALLEL_PARTS` at a time in forked children
  (:func:`assign.forking.forked`, not daemonic: a part's strategy forks its
  own children as it would alone), each with twice its share of the limit.
  A part whose child fails (say, its pairs refused by the memory
  guard beside another part's) is solved in this process afterwards.
"""

from __future__ import annotations

import gc
import logging
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from . import rules
from .candidates import DEFAULT_CHUNK, pairs_in_radius
from .compile import Compiled
from .model import Bound
from .solution import Solution

_log = logging.getLogger(__name__)

I64 = NDArray[np.int64]

#: components are packed into parts of about this many estimated pairs (the
#: links times their recipients' tasks, an upper bound: Shaanxi's parts held
#: 2.6-30.8 M candidate pairs); a larger component is a part alone
PART_PAIRS = 40_000_000
#: the links found are merged into components whenever this many are pending
_MERGE_EDGES = 20_000_000


@dataclass(frozen=True)
class Parts:
    """Components of volunteers and recipients (:func:`part_labels`)."""

    task: I64  # component of each task (its recipient's)
    volunteer: I64  # component of each volunteer
    estimate: I64  # estimated candidate pairs of each component (upper bound)
    n: int


def part_labels(c: Compiled, chunk: int = DEFAULT_CHUNK, workers: int = 1) -> Parts:
    """The components of the volunteer–recipient links of ``c`` (see the
    module's docstring), without building any (task, volunteer) pair. With
    ``workers`` 2 or more and at least :data:`SPLIT_MIN_CHUNKS` chunks of
    tasks, a forked child links the second half of the chunks while this
    process links the first, and the two partitions are joined (the same
    components and estimates: the chunks are the same)."""
    from .forking import forked

    n_chunks = -(-c.n_tasks // chunk)
    every = np.arange(c.n_tasks, dtype=np.int64)
    wait = None
    half = c.n_tasks
    if workers >= 2 and n_chunks >= SPLIT_MIN_CHUNKS:
        half = (n_chunks // 2) * chunk
        wait = forked(lambda: _link(c, every[half:], chunk))
        if wait is None:  # (no fork here)
            half = c.n_tasks
    label, links_of = _link(c, every[:half], chunk)
    if wait is not None:
        got = wait()
        rest = got if got is not None else _link(c, every[half:], chunk)  # (the child failed: here)
        label = _join_labels(label, rest[0])
        links_of = links_of + rest[1]
    n_v, n_r = c.n_volunteers, c.n_recipients
    tasks_of = np.bincount(c.t_recipient.astype(np.int64), minlength=n_r)
    _, compact = np.unique(label, return_inverse=True)
    compact = compact.astype(np.int64)
    n = int(compact.max()) + 1 if n_v + n_r else 0
    rec = compact[n_v:]
    estimate = np.bincount(rec, weights=(links_of * tasks_of).astype(np.float64), minlength=n).astype(np.int64)
    return Parts(rec[c.t_recipient.astype(np.int64)], compact[:n_v], estimate, n)


#: :func:`part_labels` shares the linking out with a forked child from this
#: many chunks of tasks (Shaanxi: 306 chunks, 114 s in one process)
SPLIT_MIN_CHUNKS = 8


def _join_labels(a: I64, b: I64) -> I64:
    """Component labels of the union of two partitions of the same nodes
    (each a label per node): node ``i`` is joined to ``a[i]``'s and ``b[i]``'s
    groups."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(a)
    if n == 0:
        return a
    ka = int(a.max()) + 1
    kb = int(b.max()) + 1
    nodes = np.arange(n, dtype=np.int64)
    head = np.concatenate([nodes, nodes])
    tail = np.concatenate([n + a, n + ka + b])
    size = n + ka + kb
    graph = coo_matrix((np.ones(len(head), dtype=np.int8), (head, tail)), shape=(size, size))
    _, comp = connected_components(graph, directed=False)
    return comp[:n].astype(np.int64)


def _link(c: Compiled, tasks: I64, chunk: int) -> tuple[I64, I64]:
    """The volunteer–recipient links of ``tasks`` (ascending) merged into
    components: a label per node (volunteers, then recipients) and the
    links counted per recipient."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n_v, n_r = c.n_volunteers, c.n_recipients
    n_nodes = n_v + n_r
    label = np.arange(n_nodes, dtype=np.int64)
    links_of = np.zeros(n_r, dtype=np.int64)
    pending_v: list[I64] = []
    pending_r: list[I64] = []
    pending = 0

    def merge() -> None:
        nonlocal label, pending
        if not pending:
            return
        a = label[np.concatenate(pending_v)]
        b = label[n_v + np.concatenate(pending_r)]
        graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n_nodes, n_nodes))
        _, comp = connected_components(graph, directed=False)
        label = comp.astype(np.int64)[label]
        pending_v.clear()
        pending_r.clear()
        pending = 0

    def record(t: I64, v: I64, km: NDArray[np.float64]) -> NDArray[np.bool_]:
        nonlocal pending
        keep = rules.radius_ok(c, t, v, km) & rules.not_excluded(c, t, v) & rules.community_ok(c, t, v)
        r = c.t_recipient[t[keep]].astype(np.int64)
        pending_v.append(v[keep])
        pending_r.append(r)
        np.add.at(links_of, r, 1)
        pending += len(r)
        if pending >= _MERGE_EDGES:
            merge()
        return np.zeros(len(t), dtype=bool)  # (no pair is expanded to tasks)

    has_time = np.flatnonzero(np.diff(c.av_ptr) > 0)
    if len(tasks):
        for _ in pairs_in_radius(c, tasks, has_time, chunk, record):
            pass
    merge()
    return label, links_of


def pack(parts: Parts, target: int) -> list[int]:
    """Part number of each component: components in the order of their
    first task, packed while a part's estimate stays within ``target``
    (components without tasks get -1)."""
    first = np.full(parts.n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, parts.task, np.arange(len(parts.task), dtype=np.int64))
    out = [-1] * parts.n
    part, size = -1, target + 1
    for k in np.argsort(first, kind="stable").tolist():
        if first[k] == np.iinfo(np.int64).max:
            continue
        est = int(parts.estimate[k])
        if part < 0 or (size + est > target and size > 0):
            part, size = part + 1, 0
        out[k] = part
        size += est
    return out


class InParts(NamedTuple):
    """What :func:`solve_in_parts` returns."""

    solution: Solution  # joined and filled; dropped pins named as assign.solve names them
    reasons: list[tuple[int, str, str]]  # of the uncovered tasks, by task
    bound: Bound | None
    n_parts: int
    prepare_s: float  # linking and packing, and the parts' candidate pairs
    strategy_s: float  # the parts' strategies
    rest_s: float  # filling, explaining, joining


def solve_in_parts(
    c: Compiled,
    strategy: str,
    time_limit: float | None,
    seed: int,
    workers: int | None,
    k: int | None = None,
    target: int | None = None,
    spent: float = 0.0,
) -> InParts:
    """Solve ``c`` part by part (module docstring): the joined solution, the
    reasons of its uncovered tasks, the bound, the number of parts and where
    the time went (:class:`InParts`).
    ``time_limit`` is :func:`assign.solve`'s (None: ``auto``'s default), of
    which ``spent`` seconds went before the call (taken off on the wall
    clock only: with one worker the parts share the limit as given)."""
    from . import clock as clocks
    from .explain import STATIC_LATER, static_reasons
    from .solve import solve_limit
    from .solvers import get_strategy
    from .solvers.greedy import rename_conflicts

    run = get_strategy(strategy)
    began = time.perf_counter()
    n_workers = clocks.resolve_workers(workers)
    deterministic = clocks.for_workers(n_workers, None).deterministic
    parts = part_labels(c, workers=1 if deterministic else n_workers)
    of_comp = np.asarray(pack(parts, PART_PAIRS if target is None else target), dtype=np.int64)
    n_parts = int(of_comp.max()) + 1 if len(of_comp) else 0
    t_part = of_comp[parts.task] if len(parts.task) else np.zeros(0, dtype=np.int64)
    v_part = of_comp[parts.volunteer] if len(parts.volunteer) else np.zeros(0, dtype=np.int64)
    est = np.bincount(of_comp[of_comp >= 0], weights=parts.estimate[of_comp >= 0].astype(np.float64), minlength=n_parts)
    share = est / est.sum() if est.sum() > 0 else np.full(n_parts, 1.0 / max(1, n_parts))
    limit = solve_limit(strategy, time_limit)
    if limit is not None and not deterministic:
        # (with one worker the shares of the limit as given: runs repeat)
        limit = max(0.0, float(limit) - spent - (time.perf_counter() - began))
    prepare_s = time.perf_counter() - began
    strategy_s = 0.0
    _log.info("%d parts (%d components) in %.2f s", n_parts, parts.n, prepare_s)

    v_order = np.argsort(v_part, kind="stable")
    v_heads = np.searchsorted(v_part[v_order], np.arange(n_parts + 1))
    t_order = np.argsort(t_part, kind="stable")
    t_heads = np.searchsorted(t_part[t_order], np.arange(n_parts + 1))
    # with two workers (wall clock), two parts at a time in forked children,
    # each part's share of the limit doubled
    slots = PARALLEL_PARTS if n_workers >= 2 and not deterministic and n_parts >= 2 else 1

    def one(p: int) -> _PartResult:
        p_tasks = np.sort(t_order[t_heads[p] : t_heads[p + 1]])
        p_vols = np.sort(v_order[v_heads[p] : v_heads[p + 1]])
        p_limit = None if limit is None else limit * float(share[p]) * slots
        return _solve_part(c, p, n_parts, p_tasks, p_vols, v_part, run, strategy, p_limit, seed, workers, k)

    clock = time.perf_counter()
    results = _run_parts(one, n_parts, slots)
    # the parts' wall time shared out as their own times are (side by side, they add up to more)
    scale = (time.perf_counter() - clock) / max(1e-9, sum(r.total_s for r in results))
    prepare_s += scale * sum(r.prepare_s for r in results)
    strategy_s += scale * sum(r.strategy_s for r in results)
    uncovered = np.zeros(c.n_tiers, dtype=np.int64)
    has_bound = all(r.uncovered is not None for r in results)
    for r in results:
        if r.uncovered is not None:
            uncovered += r.uncovered
    why = [x for r in results for x in r.reasons]
    conflicts = [x for r in results for x in r.conflicts]
    joined = Solution.build(
        np.concatenate([r.task for r in results]) if results else [],
        np.concatenate([r.volunteer for r in results]) if results else [],
        np.concatenate([r.start for r in results]) if results else [],
        sorted(set(conflicts)),
    )
    joined = rename_conflicts(c, joined)
    # the static reasons look at every volunteer of the whole problem
    static = np.asarray(sorted(t for t, code, _ in why if code == STATIC_LATER), dtype=np.int64)
    whole = dict(zip(static.tolist(), static_reasons(c, static), strict=True))
    why = sorted((t, *whole[t]) if t in whole else (t, code, detail) for t, code, detail in why)
    soft_ok = all(float(w) >= 0 for w in c.weights.values())
    bound_out = Bound(uncovered=tuple(int(x) for x in uncovered), soft=0.0) if has_bound and soft_ok else None
    rest_s = max(0.0, time.perf_counter() - began - prepare_s - strategy_s)
    return InParts(joined, why, bound_out, n_parts, prepare_s, strategy_s, rest_s)


#: parts solved at once in forked children when there are two workers or more
PARALLEL_PARTS = 2
#: how often the parent looks whether a part's child is done (seconds)
_POLL = 0.05


@dataclass(frozen=True)
class _PartResult:
    """One part's schedule and reasons in the whole problem's indexes."""

    task: I64
    volunteer: I64
    start: I64
    conflicts: list[tuple[int, int, str]]
    reasons: list[tuple[int, str, str]]  # static codes left as STATIC_LATER
    uncovered: I64 | None  # the part's bound of U per tier (None: no bound)
    prepare_s: float  # its candidate pairs
    strategy_s: float
    total_s: float  # with its fill and reasons


def _solve_part(
    c: Compiled, p: int, n_parts: int, p_tasks: I64, p_vols: I64, v_part: I64, run: Any, strategy: str,
    limit: float | None, seed: int, workers: int | None, k: int | None,
) -> _PartResult:
    """Solve part ``p`` (its tasks and volunteers) as a problem of its own:
    candidates, strategy (``limit``: its share of the time limit), fill,
    reasons; mapped back to ``c``."""
    from . import clock as clocks
    from .candidates import build_candidates
    from .explain import reasons
    from .solve import _strategy_limit
    from .solvers import trivial_bound
    from .solvers.auto import subproblem
    from .solvers.greedy import fill

    sub = subproblem(c, p_tasks, p_vols)
    sc = sub.c
    clock = time.perf_counter()
    cands = build_candidates(sc, k=k, workers=clocks.resolve_workers(workers))
    built = time.perf_counter()
    sol, bound = run(sc, cands, _strategy_limit(strategy, limit, workers, built - clock, len(cands)), seed, workers)
    ran = time.perf_counter()
    if strategy != "greedy":
        sol = fill(sc, cands, sol)
    if bound is None:
        bound = trivial_bound(sc, cands)
    uncovered = None
    if bound is not None:
        uncovered = np.zeros(c.n_tiers, dtype=np.int64)
        uncovered[: len(bound.uncovered)] = bound.uncovered
    conflicts: list[tuple[int, int, str]] = []
    dummy = sc.n_volunteers - 1
    for st, sv, rule in sol.conflicts:
        t = int(sub.tasks[st])
        if sv != dummy:
            conflicts.append((t, int(sub.volunteers[sv]), rule))
            continue
        # (a pin of a volunteer outside the part: every such pin of the task)
        pinned = c.t_pin[c.t_pin_ptr[t] : c.t_pin_ptr[t + 1]].astype(np.int64)
        for v in pinned[v_part[pinned] != p].tolist():
            conflicts.append((t, v, rule))
    # (static codes on the whole problem, by the caller)
    why = [(int(sub.tasks[st]), code, detail) for st, code, detail in reasons(sc, sol, cands, static=False)]
    _log.info(
        "part %d/%d: %d tasks, %d volunteers, %d pairs, %.2f s",
        p + 1, n_parts, len(p_tasks), len(p_vols), len(cands), time.perf_counter() - clock,
    )
    del cands
    return _PartResult(
        sub.tasks[sol.task].astype(np.int64), sub.volunteers[sol.volunteer].astype(np.int64),
        sol.start.astype(np.int64), conflicts, why, uncovered, built - clock, ran - built,
        time.perf_counter() - clock,
    )


def _run_parts(one: Any, n_parts: int, slots: int) -> list[_PartResult]:
    """``one(p)`` of every part, in order: in this process (``slots`` 1), or
    ``slots`` at a time in forked children (:func:`assign.forking.forked`);
    a part whose child fails (e.g. its pairs refused by the memory guard
    beside another part's) or that cannot be forked is solved here after
    the children are done."""
    from .forking import forked

    results: list[_PartResult | None] = [None] * n_parts
    if slots > 1:
        running: dict[int, Any] = {}
        todo = list(range(n_parts))
        # the parent's objects (a province's problem: gigabytes of them) out of
        # the children's garbage collections, which would otherwise touch, and
        # so copy, every page that holds one (CPython's gc.freeze documentation)
        gc.freeze()
        try:
            while todo or running:
                while todo and len(running) < slots:
                    p = todo.pop(0)
                    # (not daemonic: the part's strategy may fork children of its own)
                    wait = forked(lambda p=p: one(p), daemon=False)
                    if wait is None:  # (no fork here: the rest in this process)
                        todo.insert(0, p)
                        break
                    running[p] = wait
                if not running:
                    break
                done = [p for p, wait in running.items() if wait.ready()]
                if not done:
                    time.sleep(_POLL)
                for p in done:
                    results[p] = running.pop(p)()
                    if results[p] is None:
                        _log.warning("part %d/%d failed in its child process; solving it in this one", p + 1, n_parts)
        finally:
            for wait in running.values():  # (interrupted: the children stop too)
                wait(0.0)
            gc.unfreeze()
    for p in range(n_parts):
        if results[p] is None:
            results[p] = one(p)
    return [r for r in results if r is not None]
