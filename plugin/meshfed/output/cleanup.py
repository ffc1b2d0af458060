"""Temporary paths that never outlive a run, however it stops.

meshfed stages what it writes and copies git revisions into temporary places. A cancelled CI job
sends SIGTERM (or SIGHUP), a person presses Ctrl-C (SIGINT): either way nothing staged may be left
behind. `removed_at_end` removes a path when its block ends, and, while any such block is open, a
handler for those three signals removes every open path, then lets the signal end the process as it
would have without meshfed (so a shell or CI runner sees the usual status). `held_signals` holds
them back for a short block that must not stop half-way (the renames that put staged files in place).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import threading
from collections.abc import Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_lock = threading.RLock()  # the handler runs on the main thread, maybe inside a locked block
_open: dict[int, str] = {}
_previous: dict[int, object] = {}
_counter = iter(range(1 << 62))


def remove(path: str) -> None:
    """Remove a file, a link (never what it points to) or a directory tree, if it is there."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return
    if stat.S_ISDIR(mode):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    """Remove every open path, then die of the same signal with its default action."""
    with _lock:
        paths = list(_open.values())
        _open.clear()
    for path in reversed(paths):
        remove(path)
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install() -> None:
    """Take over the stop signals while a path is open (the main thread alone may)."""
    if _previous or threading.current_thread() is not threading.main_thread():
        return
    for signum in STOP_SIGNALS:
        _previous[signum] = signal.signal(signum, _on_signal)


def _restore() -> None:
    """Give the stop signals back once no path is open."""
    if _open or not _previous or threading.current_thread() is not threading.main_thread():
        return
    for signum, handler in _previous.items():
        signal.signal(signum, handler)  # type: ignore[arg-type]
    _previous.clear()


@contextlib.contextmanager
def removed_at_end(path: str) -> Iterator[str]:
    """Remove `path` when the block ends, and on a stop signal while it is open.

    A path the block has moved away (a staged file renamed into place) is simply not there any
    more: removing it is a no-op.
    """
    with _lock:
        key = next(_counter)
        _open[key] = path
        _install()
    try:
        yield path
    finally:
        with _lock:
            _open.pop(key, None)
            _restore()
        remove(path)


@contextlib.contextmanager
def held_signals() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block ends; one that arrived meanwhile is then
    handled as usual (its paths removed, the process ended)."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
