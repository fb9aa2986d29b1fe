"""Work in a forked child process, beside the parent's own (the solvers run
greedy passes, week bounds and dives there while the parent searches)."""

from __future__ import annotations

from typing import Any


def _same(x: Any) -> Any:
    return x


#: Linux's prctl option that sends the child a signal when its parent dies
_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    """In a forked child: be killed when the parent dies, even by SIGKILL
    (Linux; elsewhere a no-op). A child left behind kept working, and kept
    every file lock it inherited: a nightly job killed during its solve could
    not be rerun until the orphan ended (the audit of stop 47). Linux sends
    it when the *thread* that forked ends: every caller forks and waits for
    the child in one thread."""
    import ctypes
    import os
    import signal
    import sys

    if not sys.platform.startswith("linux"):  # pragma: no cover - other platforms
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no prctl
        return
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)


def forked(
    fn: Any, send_as: Any = _same, receive_as: Any = _same, nice: int = 0, partial: bool = False, daemon: bool = True
) -> Any:
    """Start ``fn()`` (its result made picklable by ``send_as`` and rebuilt by
    ``receive_as``) in a forked child process (its CPU priority lowered by
    ``nice``); returns a function
    ``wait(timeout=None)`` that waits for it at most ``timeout`` seconds and
    returns the result, or None when the child failed or was not done (it
    is then killed). None when the platform cannot fork or the process may
    not have children (a daemonic one): the caller then does the work itself.

    With ``partial``, ``fn(post)`` is called instead: ``post(x)`` sends ``x``
    (through ``send_as``) to the parent at once while the child goes on, and
    ``wait.partial()`` returns the earliest such result not yet taken (None:
    none arrived); ``wait.ready()`` is then true while one waits to be taken
    (e.g. a week dive the parent wants while the child finishes its bounds),
    ``wait.finished()`` only once the child's result has come.
    ``daemon=False``: the child may fork children of its own (a part of
    :mod:`assign.parts` whose strategy forks); it is still killed when the
    wait gives up on it."""
    import multiprocessing as mp
    import os

    if "fork" not in mp.get_all_start_methods() or mp.current_process().daemon:
        # (a daemonic process, e.g. a multiprocessing.Pool worker calling
        # assign.solve, may not have children: the caller does the work itself)
        return None
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    parent = os.getpid()

    def child() -> None:
        _die_with(parent)
        try:
            if nice:
                try:
                    os.nice(nice)
                except OSError:  # pragma: no cover - not allowed: run as is
                    pass
            if partial:
                result = fn(lambda x: send.send((False, send_as(x))))
            else:
                result = fn()
            send.send((True, send_as(result)))
        except BaseException:  # noqa: BLE001 - reported to the parent as a failure
            send.send(None)
        finally:
            send.close()

    proc = ctx.Process(target=child, daemon=daemon)
    try:
        proc.start()
    except OSError:
        return None
    send.close()
    early: list[Any] = []  # partial results received, not yet taken
    final: list[Any] = []  # [the final message] once received (None: a failure)

    def receive(timeout: float | None) -> bool:
        """Read one message if one comes within ``timeout`` (None: whenever
        it comes); False if none (or the pipe is closed: the child is gone)."""
        try:
            if not recv.poll(None if timeout is None else max(0.0, timeout)):
                return False
            msg = recv.recv()
        except (EOFError, OSError):
            final.append(None)
            return False
        if msg is not None and not msg[0]:
            early.append(msg[1])
        else:
            final.append(None if msg is None else msg[1])
        return True

    def wait(timeout: float | None = None) -> Any:
        import time

        until = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while not final:
            left = None if until is None else max(0.0, until - time.monotonic())
            if not receive(left) and (left == 0.0 or not proc.is_alive()):
                break
        got = final[0] if final else None
        if got is None and proc.is_alive():
            proc.kill()
        proc.join()
        recv.close()
        return None if got is None else receive_as(got)

    def drain() -> None:
        while not final and receive(0.0):
            pass

    def ready() -> bool:
        """Whether the child has sent a result not yet taken (or died):
        ``partial`` or ``wait`` will not block."""
        drain()
        return bool(early) or bool(final) or not proc.is_alive()

    def finished() -> bool:
        """Whether the child has sent its result (or died): ``wait`` will not
        block; its partial results alone do not make it so."""
        drain()
        return bool(final) or not proc.is_alive()

    def take_partial() -> Any:
        """The earliest partial result not yet taken (None: none)."""
        drain()
        return receive_as(early.pop(0)) if early else None

    wait.ready = ready  # type: ignore[attr-defined]
    wait.finished = finished  # type: ignore[attr-defined]
    wait.partial = take_partial  # type: ignore[attr-defined]
    return wait
