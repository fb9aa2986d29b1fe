"""Tests of assign/forking.py: work in a forked child, and none where a
process may not have children (a multiprocessing.Pool worker is daemonic)."""

from __future__ import annotations

import multiprocessing as mp

from assign.forking import forked


def _answer() -> int:
    return 42


def _fork_in_worker(_: int) -> tuple[bool, int | None]:
    wait = forked(_answer)
    return wait is None, (wait() if wait is not None else None)


def _boom() -> int:
    raise RuntimeError("child failed")


def test_forked_returns_the_childs_result() -> None:
    wait = forked(_answer)
    assert wait is not None and wait() == 42


def test_a_failed_child_gives_none() -> None:
    wait = forked(_boom)
    assert wait is not None and wait() is None


def test_no_child_from_a_daemonic_pool_worker() -> None:
    """assign.solve called from a Pool worker must not crash with
    "daemonic processes are not allowed to have children": no child, the
    caller works alone."""
    with mp.get_context("fork").Pool(1) as pool:
        assert pool.map(_fork_in_worker, [0]) == [(True, None)]
