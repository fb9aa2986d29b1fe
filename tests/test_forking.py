"""Tests of assign/forking.py: work in a forked child, and none where a
process may not have children (a multiprocessing.Pool worker is daemonic)."""

from __future__ import annotations

import multiprocessing as mp
import time
from typing import Any

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


def _two_steps(post: Any) -> str:
    post("early")
    time.sleep(0.5)
    return "final"


def _posts_then_hangs(post: Any) -> str:
    post({"bound": 1})
    time.sleep(60)
    return "never"


def _until_ready(wait: Any) -> None:
    """Wait (at most 2 s) until the child has sent something."""
    for _ in range(200):
        if wait.ready():
            return
        time.sleep(0.01)


def test_a_partial_result_arrives_before_the_final_one() -> None:
    """With ``partial``, what the child posts reaches the parent while it
    goes on (a week dive before the bounds' end); then the final result."""
    wait = forked(_two_steps, partial=True)
    assert wait is not None
    _until_ready(wait)
    assert wait.partial() == "early"
    assert wait.partial() is None  # taken
    assert wait(30.0) == "final"


def test_a_child_stopped_after_posting_gives_its_partial_only() -> None:
    wait = forked(_posts_then_hangs, partial=True)
    assert wait is not None
    _until_ready(wait)
    assert wait.partial() == {"bound": 1}
    assert not wait.ready()  # nothing more yet, the child still runs
    assert wait(0.0) is None  # not done: killed


def test_without_partial_a_posted_result_is_not_the_final_one() -> None:
    wait = forked(_answer, partial=False)
    assert wait is not None and wait.partial() is None and wait() == 42
