"""Work in a forked child process, beside the parent's own (the solvers run
greedy passes, week bounds and dives there while the parent searches)."""

from __future__ import annotations

from typing import Any


def _same(x: Any) -> Any:
    return x


def forked(fn: Any, send_as: Any = _same, receive_as: Any = _same, nice: int = 0) -> Any:
    """Start ``fn()`` (its result made picklable by ``send_as`` and rebuilt by
    ``receive_as``) in a forked child process (its CPU priority lowered by
    ``nice``); returns a function
    ``wait(timeout=None)`` that waits for it at most ``timeout`` seconds and
    returns the result, or None when the child failed or was not done (it
    is then killed). None when the platform cannot fork or the process may
    not have children (a daemonic one): the caller then does the work itself."""
    import multiprocessing as mp
    import os

    if "fork" not in mp.get_all_start_methods() or mp.current_process().daemon:
        # (a daemonic process, e.g. a multiprocessing.Pool worker calling
        # assign.solve, may not have children: the caller does the work itself)
        return None
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)

    def child() -> None:
        try:
            if nice:
                try:
                    os.nice(nice)
                except OSError:  # pragma: no cover - not allowed: run as is
                    pass
            send.send(send_as(fn()))
        except BaseException:  # noqa: BLE001 - reported to the parent as a failure
            send.send(None)
        finally:
            send.close()

    proc = ctx.Process(target=child, daemon=True)
    try:
        proc.start()
    except OSError:
        return None
    send.close()

    def wait(timeout: float | None = None) -> Any:
        got = None
        try:
            if timeout is None or recv.poll(max(0.0, timeout)):
                got = recv.recv()
        except (EOFError, OSError):
            got = None
        if got is None and proc.is_alive():
            proc.kill()
        proc.join()
        recv.close()
        return None if got is None else receive_as(got)

    def ready() -> bool:
        """Whether the child has sent its result (or died): ``wait`` will not block."""
        return bool(recv.poll(0)) or not proc.is_alive()

    wait.ready = ready  # type: ignore[attr-defined]
    return wait
