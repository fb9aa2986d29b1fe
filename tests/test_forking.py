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


def test_a_posting_child_is_finished_only_once_its_result_comes() -> None:
    """``finished`` (the later tiers' LP child, which posts bounds as it goes:
    the search beside it stops for its end only) stays false after a post,
    where ``ready`` turns true, and turns true with the final result."""
    wait = forked(_two_steps, partial=True)
    assert wait is not None
    _until_ready(wait)
    assert wait.ready() and not wait.finished()
    for _ in range(3000):
        if wait.finished():
            break
        time.sleep(0.01)
    assert wait.finished()
    assert wait.partial() == "early" and wait(0.0) == "final"


def test_without_partial_a_posted_result_is_not_the_final_one() -> None:
    wait = forked(_answer, partial=False)
    assert wait is not None and wait.partial() is None and wait() == 42


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie not yet reaped counts as dead)."""
    from pathlib import Path

    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" not in status.read_text()
    except OSError:
        return False


def test_a_child_dies_with_its_parent_even_by_sigkill(tmp_path: Any) -> None:
    """A process killed with SIGKILL takes its forked children with it: a
    child left behind kept the nightly job's lock (inherited), and a rerun
    was refused until the orphan ended (the audit of stop 47)."""
    import subprocess
    import sys
    from pathlib import Path

    import pytest

    if not sys.platform.startswith("linux"):
        pytest.skip("the parent-death signal is Linux's")
    pidfile = tmp_path / "child.pid"
    root = str(Path(__file__).resolve().parents[1])
    script = (
        "import os, sys, time\n"
        f"sys.path.insert(0, {root!r})\n"
        "from assign.forking import forked\n"
        "def work():\n"
        f"    open({str(pidfile)!r} + '.tmp', 'w').write(str(os.getpid()))\n"
        f"    os.replace({str(pidfile)!r} + '.tmp', {str(pidfile)!r})\n"
        "    time.sleep(300)\n"
        "wait = forked(work)\n"
        "time.sleep(300)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        for _ in range(1200):  # (up to a minute for the child to start)
            if pidfile.exists():
                break
            time.sleep(0.05)
        child = int(pidfile.read_text())
        assert _alive(child)
    finally:
        parent.kill()
        parent.wait()
    for _ in range(1200):
        if not _alive(child):
            break
        time.sleep(0.05)
    assert not _alive(child)
