"""The one way meshfed writes files: all of them or none, never through a link, never outside the
output directory.

`federation scaffold` and `federation import -o` write into repositories that others can commit to:
a link or a FIFO planted where meshfed writes must not redirect the write. `write_tree(root, files,
overwrite)` gives these guarantees:

* Every directory below `root` is opened relative to its parent (`O_NOFOLLOW`): a symbolic link on
  the way (a cluster directory that is a link) or at a target is refused, never followed, so
  nothing outside `root` is created, replaced or truncated. `root` itself is the caller's (the
  path the user gave), followed as given.
* Only regular files are replaced: a directory, FIFO, socket or device at a target is refused
  (`import -o /dev/null --force` does not turn the node into a file).
* Every target is checked before anything is written; `overwrite` decides about an existing file
  from its first bytes (the scaffold rewrites only files it wrote, import only with `--force`).
  An existing file already holding the new text is left untouched (its time stamp too).
* The texts are first written into a private staging directory below `root`
  (`.meshfed-tmp-<pid>-<random>`, made with `mkdir`, which never follows a link; its files are
  created with `O_EXCL | O_NOFOLLOW`), then renamed into place with the stop signals held, so a
  run leaves all of its files or none. Concurrent runs never share a staging name.
* The staging directory is removed when the run ends, and on SIGINT, SIGTERM or SIGHUP
  (`cleanup.removed_at_end`).

Problems are reported as an InputError naming each file (every one found, before any write).
"""
from __future__ import annotations

import errno
import os
import secrets
import stat

from .cleanup import held_signals, removed_at_end
from ..values.diagnostics import Diagnostic, InputError, error
from ..values.source import display

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Mapping

    from ..values.source import PathArg

    # Decides about a file that exists: given its first bytes (at least the length of the new
    # content plus one), None to replace it, else why it is not replaced.
    Policy = Callable[[bytes], "str | None"]

STAGING_PREFIX = ".meshfed-tmp-"
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def never(existing: bytes) -> str | None:
    """The default policy: an existing file is never replaced."""
    return "exists: not overwritten"


def always(existing: bytes) -> str | None:
    """Replace any existing regular file (`--force`)."""
    return None


class _Refused(Exception):
    """A path on the way to a target that may not be used."""


def _kind(dir_fd: int, name: str) -> str | None:
    """What `name` in the directory is, without following a link (None: nothing there)."""
    try:
        mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "special file"


def _refusal(kind: str, target: bool) -> str:
    if kind == "link":
        return "is a symbolic link: meshfed never writes through one (remove it)"
    if target:
        return f"is a {kind}, not a regular file: not replaced"
    return f"is a {kind}, not a directory: cannot write below it"


def _parts(relative: str) -> list[str]:
    """The components of a relative path; no absolute path, `..`, `.` or empty component."""
    parts = relative.split("/")
    if any(p in ("", ".", "..") or "\0" in p for p in parts):
        raise InputError([error("not a plain relative path below the output directory", relative)])
    return parts


class _Tree:
    """The directories below the root, opened without following links; each opened once."""

    def __init__(self, root: str, root_fd: int | None) -> None:
        self.root = root
        self.fds: dict[tuple[str, ...], int | None] = {(): root_fd}
        self.refused: dict[tuple[str, ...], str] = {}

    def shown(self, parts: tuple[str, ...] | list[str]) -> str:
        return display(os.path.join(self.root, *parts))

    def find(self, parts: tuple[str, ...]) -> int | None:
        """The directory's fd, None when it (or a directory above it) does not exist yet;
        _Refused when something on the way is not a directory."""
        if parts in self.refused:
            raise _Refused(self.refused[parts])
        if parts in self.fds:
            return self.fds[parts]
        parent = self.find(parts[:-1])
        fd = None
        if parent is not None:
            kind = _kind(parent, parts[-1])
            if kind not in (None, "directory"):
                self.refused[parts] = why = _refusal(kind, False)
                raise _Refused(why)
            if kind is not None:
                fd = self._open(parent, parts)
        self.fds[parts] = fd
        return fd

    def make(self, parts: tuple[str, ...]) -> int:
        """The directory's fd, creating it (and the ones above) when missing."""
        fd = self.find(parts)
        if fd is not None:
            return fd
        parent = self.make(parts[:-1])
        try:
            os.mkdir(parts[-1], 0o777, dir_fd=parent)
        except FileExistsError:  # a concurrent run made it: used if it is a directory, not a link
            pass
        fd = self.fds[parts] = self._open(parent, parts)
        return fd

    def _open(self, parent: int, parts: tuple[str, ...]) -> int:
        try:
            return os.open(parts[-1], _DIRECTORY_FLAGS, dir_fd=parent)
        except OSError as exc:
            kind = _kind(parent, parts[-1]) or "missing path"
            why = _refusal(kind, False) if exc.errno in (errno.ELOOP, errno.ENOTDIR) else \
                f"cannot open the directory: {exc.strerror}"
            self.refused[parts] = why
            raise _Refused(why) from None

    def close(self) -> None:
        for fd in self.fds.values():
            if fd is not None:
                os.close(fd)
        self.fds.clear()


def _head(dir_fd: int, name: str, size: int) -> bytes:
    """The first `size` bytes of a regular file (opened without following a link or blocking)."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _Refused(_refusal("special file", True))
        chunks, left = [], size
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _open_root(root: str) -> int | None:
    """The output directory, followed as the user named it; None when it does not exist yet."""
    try:
        return os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise InputError([error("not a directory", display(root))]) from None
    except OSError as exc:
        raise InputError([error(f"cannot open the directory: {exc.strerror}", display(root))]) from None


def _staging(root_fd: int) -> str:
    """A new, private staging directory in the root (mkdir never follows a link: a name in use,
    a planted link included, is skipped)."""
    for _ in range(100):
        name = f"{STAGING_PREFIX}{os.getpid()}-{secrets.token_hex(8)}"
        try:
            os.mkdir(name, 0o700, dir_fd=root_fd)
            return name
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, "no free name for a staging directory")


def write_tree(root: PathArg, files: Mapping[str, str], overwrite: Policy = never) -> list[str]:
    """Write `files` ({path relative to `root`, with `/`: text}) below `root`, all or none (see
    the module docstring). Returns the relative paths written, in the order given (files that
    already held their text are left alone and not listed). InputError, with nothing written,
    naming every file in the way."""
    root = os.fspath(root)
    encoded = [(rel, _parts(rel), text.encode("utf-8")) for rel, text in files.items()]
    tree = _Tree(root, _open_root(root))
    try:
        writes, problems = _check(tree, encoded, overwrite)
        if problems:
            raise InputError(problems)
        if writes:
            _commit(tree, root, writes)
        return [rel for rel, _, _ in writes]
    finally:
        tree.close()


def _check(tree: _Tree, encoded: list[tuple[str, list[str], bytes]],
           overwrite: Policy) -> tuple[list[tuple[str, list[str], bytes]], list[Diagnostic]]:
    """What to write (files whose text changes) and every problem in the way; nothing is written."""
    writes, problems, reported = [], [], set()
    for rel, parts, data in encoded:
        directory, name = tuple(parts[:-1]), parts[-1]
        try:
            fd = tree.find(directory)
            kind = None if fd is None else _kind(fd, name)
            if fd is None or kind is None:  # its directory or the file itself is still to be made
                writes.append((rel, parts, data))
                continue
            if kind != "file":
                raise _Refused(_refusal(kind, True))
            existing = _head(fd, name, len(data) + 1)
        except _Refused as exc:
            where = next((directory[:i] for i in range(1, len(directory) + 1) if directory[:i] in tree.refused),
                         tuple(parts))
            if where not in reported:
                reported.add(where)
                problems.append(error(str(exc), tree.shown(where)))
            continue
        except OSError as exc:
            problems.append(error(f"cannot read: {exc.strerror}", tree.shown(parts)))
            continue
        why = overwrite(existing)
        if why is not None:
            problems.append(error(why, tree.shown(parts)))
        elif existing != data:
            writes.append((rel, parts, data))
    return writes, problems


def _commit(tree: _Tree, root: str, writes: list[tuple[str, list[str], bytes]]) -> None:
    """Stage every file, then rename them into place with the stop signals held."""
    created = tree.fds[()] is None
    try:
        if created:
            os.makedirs(root, exist_ok=True)
            tree.fds[()] = _open_root(root)
        root_fd = tree.fds[()]
        assert root_fd is not None
        staging = _staging(root_fd)
        with removed_at_end(os.path.join(os.path.abspath(root), staging)):
            staged = os.open(staging, _DIRECTORY_FLAGS, dir_fd=root_fd)
            try:
                for i, (_, _, data) in enumerate(writes):
                    fd = os.open(str(i), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                                 0o666, dir_fd=staged)
                    try:
                        _write_all(fd, data)
                    finally:
                        os.close(fd)
                with held_signals():
                    for i, (_, parts, _) in enumerate(writes):
                        try:
                            target = tree.make(tuple(parts[:-1]))
                        except _Refused as exc:  # a link planted while the run staged
                            raise InputError([error(str(exc), tree.shown(parts[:-1]))]) from None
                        os.rename(str(i), parts[-1], src_dir_fd=staged, dst_dir_fd=target)
            finally:
                os.close(staged)
    except OSError as exc:
        if created:
            _remove_empty(root)
        raise InputError([error(f"cannot write: {exc.strerror or exc}", display(root))]) from None


def _remove_empty(root: str) -> None:
    try:
        os.rmdir(root)
    except OSError:
        pass
