"""Atomic file writes: a temporary file in the same folder, fsync, then rename,
so a reader never sees a half-written file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def ordinary_file_mode() -> int:
    """The mode a plain ``open()`` would give a new file (0o666 less the umask);
    temporary files start at 0600, which would hide outputs from a dispatcher."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _stage(target: Path, data: bytes, mode: int | None) -> str:
    """``data`` written whole and fsynced to a temporary file next to
    ``target`` (mode ``mode``, default an ordinary new file's); its path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), ordinary_file_mode() if mode is None else mode)
            os.fsync(handle.fileno())
    except BaseException:
        _discard([tmp])
        raise
    return tmp


def _discard(temporaries: list[str]) -> None:
    for tmp in temporaries:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def fsync_folder(folder: str | os.PathLike[str]) -> None:
    """Sync a folder, so that the renames into it are durable (a no-op where
    the platform or file system cannot)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` atomically, with ``mode`` (default: that of an
    ordinary new file)."""
    target = Path(path)
    tmp = _stage(target, data, mode)
    try:
        os.replace(tmp, target)
    except BaseException:
        _discard([tmp])
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (``\\n`` line ends)."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_texts_atomic(files: list[tuple[str | os.PathLike[str], str]]) -> None:
    """Write several UTF-8 texts, each atomically, as one set as far as a file
    system allows: every file is written whole and fsynced to a temporary file
    next to its target before the first is renamed into place; the renames
    then follow one another, and the folders are fsynced. A run killed while
    the texts are written (seconds at county scale) leaves the old set whole;
    only a kill between two renames (microseconds) can leave a mix."""
    staged: list[tuple[str, Path]] = []
    try:
        for path, text in files:
            target = Path(path)
            staged.append((_stage(target, text.encode("utf-8"), None), target))
        while staged:
            tmp, target = staged[0]
            os.replace(tmp, target)
            staged.pop(0)
    except BaseException:
        _discard([tmp for tmp, _ in staged])
        raise
    for folder in sorted({str(Path(path).parent) for path, _ in files}):
        fsync_folder(folder)
