"""The two sides of `meshfed diff`, each copied into a temporary directory: a commit from git's
objects, or the work tree as the next commit would hold it.

Only read-only git commands run (rev-parse, merge-base, ls-tree, cat-file, ls-files), so the user's
work tree, index and stash are never touched. A revision is untrusted input (a pull request's head
is anyone's), so it is read as a listing first and copied only once the listing is sound:

* refused, naming the path: two entries of one tree with one name (`git mktree` builds such a
  tree; a checkout of it could write through a link), a path no checkout holds (an empty, `.`,
  `..` or `.git` component), a submodule (its files are not in this repository, so its
  applications could not be compared), and a symbolic link that is absolute or leads out of the
  copy once every link on its way is followed. Links that stay inside are kept, as a checkout
  keeps them;
* copied: the directories, those links, and the files a render may read, named like documents
  (`wanted`: `*.yaml`, `*.yml`, `*.json`, kustomizations). Other files (charts, images, anything
  else) are never read, from git or the work tree. A file over the core's reading limit
  (`MAX_FILE_BYTES`) is copied as its first bytes in a sparse file of its size: discovery still
  sees what it is, the core's reader refuses it by its size, and it costs neither memory nor disk;
* noted: files that are Git LFS pointers (`Revision.lfs_pointers`), which an application cannot
  be rendered from.

Files are written relative to directory descriptors opened with O_NOFOLLOW and created with
O_EXCL, so nothing is ever written through a link, and blobs are streamed, never held whole.
Paths are bytes here: a file name that is not UTF-8 is copied as it is, and named escaped.
"""
from __future__ import annotations

import errno
import os
import posixpath
import stat
import subprocess
import threading
from pathlib import Path

from ..values.diagnostics import Diagnostic, InputError, error, printable
from ..values.source import MAX_FILE_BYTES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO, Callable, Iterator, TypeVar

    T = TypeVar("T")

WORK_TREE = "work tree"
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
LFS_POINTER_BYTES = 1024  # the Git LFS specification: a pointer file is smaller than this
MAX_LINK_BYTES = 4095  # PATH_MAX less its NUL: no longer link target resolves
PREFIX_BYTES = 64 << 10  # what is copied of a file over the reading limit
MAX_SHOWN = 20  # refusals listed for one revision (and how many more)
CHUNK = 1 << 20
_NO_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class Revision:
    """One side of the comparison: `ref` as the user named it (None for the work tree), the
    commit it resolves to, the directory its files were copied to, and the paths (from the
    repository root) of its files that are Git LFS pointers."""

    __slots__ = ("side", "ref", "commit", "tree", "lfs_pointers")

    def __init__(self, side: str, ref: str | None, commit: str | None, tree: Path,
                 lfs_pointers: list[str] | None = None) -> None:
        self.side = side  # base | head
        self.ref = ref
        self.commit = commit
        self.tree = tree
        self.lfs_pointers = lfs_pointers or []

    @property
    def name(self) -> str:
        """`HEAD~1 (1a2b3c4)`, or `work tree`."""
        return WORK_TREE if self.commit is None else f"{self.ref} ({self.commit[:7]})"

    @property
    def label(self) -> str:
        """How messages name the side: `base HEAD~1 (1a2b3c4)`, `head work tree`."""
        return f"{self.side} {self.name}"


def _env() -> dict[str, str]:
    return {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # not even a refresh of the index


def _run(top: Path, *args: str) -> bytes:
    """The output of a read-only git command, or an InputError with git's own message."""
    try:
        proc = subprocess.run(["git", *args], cwd=top, capture_output=True, env=_env(), check=False)
    except OSError as exc:
        raise InputError([error(f"cannot run git: {exc.strerror}")]) from None
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError([error(f"git {args[0]}: {printable(message[-1] if message else 'failed')}")])
    return proc.stdout


def git(top: Path, *args: str) -> str:
    """`_run`'s output as text."""
    return _run(top, *args).decode("utf-8", "surrogateescape")


def toplevel(cwd: Path) -> Path:
    """The work tree that holds `cwd`; an InputError outside of one."""
    return Path(git(cwd, "rev-parse", "--show-toplevel").strip()).resolve()


def default_base(top: Path) -> tuple[str, str]:
    """(how to name it, commit): the merge base of HEAD with its upstream branch, else HEAD, what
    a pull request of the current branch is compared with."""
    try:
        upstream = git(top, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}").strip()
    except InputError:
        return "HEAD", commit_of(top, "HEAD")
    return f"merge base with {upstream}", git(top, "merge-base", "HEAD", "@{upstream}").strip()


def commit_of(top: Path, ref: str) -> str:
    """The commit `ref` names; an InputError naming the ref when it names none."""
    try:
        return git(top, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}").strip()
    except InputError:
        raise InputError([error(f"not a commit of this repository: {printable(ref)} (in a shallow or "
                                "single-branch clone, fetch it first)")]) from None


# --------------------------------------------------------------------------------------------
# The listing of a revision, checked before anything is copied


class Listing:
    """What a revision holds, by path from its root (bytes, `/`-separated): directories, links
    and files, each with its size and where it comes from (a blob's id, or None for the work
    tree's files; a link's target for the work tree's links)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.dirs: list[bytes] = []
        self.links: dict[bytes, bytes] = {}
        self.files: dict[bytes, tuple[int, bytes | None]] = {}
        self.problems: list[Diagnostic] = []
        self._seen: set[bytes] = set()

    def refuse(self, path: bytes, why: str) -> None:
        self.problems.append(error(f"{why}; refused at {self.label}", _name(path)))

    def add(self, path: bytes, kind: str, size: int = 0, source: bytes | None = None) -> None:
        """One entry: `kind` is dir, link, file or submodule."""
        if path in self._seen:
            return self.refuse(path, "two entries of one tree have this name (a tree no checkout can hold)")
        self._seen.add(path)
        if any(p in (b"", b".", b"..") or p.lower() == b".git" for p in path.split(b"/")):
            return self.refuse(path, "not a path a checkout holds (an empty, `.`, `..` or `.git` part)")
        if kind == "submodule":
            return self.refuse(path, "a submodule (gitlink), or a git repository that would be one: its files "
                                     "are not in this repository, so meshfed diff cannot compare what they render")
        if kind == "dir":
            self.dirs.append(path)
        elif kind == "link" and size > MAX_LINK_BYTES:
            self.refuse(path, f"a symbolic link longer than {MAX_LINK_BYTES} bytes")
        elif kind == "link":
            self.links[path] = source or b""
        else:
            self.files[path] = (size, source)

    def checked(self) -> Listing:
        """The listing, or an InputError naming what is refused. Every entry's parent must be a
        directory of the listing (else a `/` in a name, or a file and a directory of one name)."""
        dirs = set(self.dirs)
        for path in [*self.dirs, *self.links, *self.files]:
            parent = posixpath.dirname(path)
            if parent and parent not in dirs:
                self.refuse(path, "its directory is not a directory of the tree (a tree no checkout can hold)")
        self.raise_problems()
        return self

    def raise_problems(self) -> None:
        if self.problems:
            shown = self.problems[:MAX_SHOWN]
            if len(self.problems) > MAX_SHOWN:
                shown.append(error(f"and {len(self.problems) - MAX_SHOWN} more refused at {self.label}"))
            raise InputError(shown)


def _name(path: bytes) -> str:
    """A path as messages name it (a name that is not UTF-8 is escaped when printed)."""
    return os.fsdecode(path)


def _commit_listing(top: Path, commit: str, label: str) -> Listing:
    listing = Listing(label)
    kinds = {b"tree": "dir", b"commit": "submodule"}
    for record in _run(top, "ls-tree", "-r", "-t", "-l", "-z", "--full-tree", commit).split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, kind, blob, size = meta.split()
        if kind == b"blob":
            listing.add(path, "link" if mode == b"120000" else "file", int(size), blob)
        else:
            listing.add(path, kinds.get(kind, "submodule"))
    return listing.checked()


def _work_tree_listing(top: Path, top_fd: int) -> Listing:
    """The files the next `git add --all` would commit: tracked files as they are on disk (deleted
    ones, and ones below a directory since replaced by a link, left out) and untracked files
    that are not ignored."""
    listing = Listing(f"head {WORK_TREE}")
    dirs: set[bytes] = set()
    paths: dict[bytes, bool] = {}  # path: whether the index holds it as a submodule
    for record in _run(top, "ls-files", "-z", "--stage").split(b"\0"):
        if record:
            meta, _, path = record.partition(b"\t")
            paths[path] = paths.get(path, False) or meta.startswith(b"160000 ")
    for path in _run(top, "ls-files", "-z", "--others", "--exclude-standard").split(b"\0"):
        if path:  # `dir/`: a git repository inside, which `git add` would add as a submodule
            paths.setdefault(path.rstrip(b"/"), path.endswith(b"/"))
    for path, submodule in paths.items():
        if submodule:
            listing.add(path, "submodule")
            continue
        try:
            info, target = _at(top_fd, path, _lstat_readlink)
        except (FileNotFoundError, NotADirectoryError):  # deleted, or below what is now a link
            continue
        parts = path.split(b"/")[:-1]
        for directory in (b"/".join(parts[:i]) for i in range(1, len(parts) + 1)):
            if directory not in dirs:
                dirs.add(directory)
                listing.add(directory, "dir")
        if target is not None:
            listing.add(path, "link", len(target), target)
        elif stat.S_ISREG(info.st_mode):  # a special file, or a directory now, is not committed
            listing.add(path, "file", info.st_size)
    return listing.checked()


def _lstat_readlink(base: bytes, fd: int) -> tuple[os.stat_result, bytes | None]:
    info = os.lstat(base, dir_fd=fd)
    return info, os.readlink(base, dir_fd=fd) if stat.S_ISLNK(info.st_mode) else None


def _at(root_fd: int, path: bytes, op: Callable[[bytes, int], T]) -> T:
    """`op(name, directory descriptor)` for `path` below `root_fd`, the directories on the way
    opened without following a link (a link there is NotADirectoryError)."""
    parent, _, base = path.rpartition(b"/")
    fd = os.dup(root_fd)
    try:
        for part in parent.split(b"/") if parent else ():
            try:
                child = os.open(part, _NO_DIR, dir_fd=fd)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise NotADirectoryError(exc.errno, exc.strerror) from None
                raise
            os.close(fd)
            fd = child
        return op(base, fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------
# Reading blobs: `git cat-file --batch`, streamed


def _blobs(top: Path, ids: list[bytes]) -> Iterator[tuple[int, Callable[[int], bytes]]]:
    """(size, read) for each blob of `ids`, in order; `read(n)` reads the next bytes of its
    content (all of them must be read before the next blob)."""
    proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=top, env=_env(), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    def feed() -> None:  # on its own thread: both pipes may fill up
        try:
            with stdin:
                stdin.write(b"".join(b"%s\n" % i for i in ids))
        except OSError:  # git was stopped early
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        for blob in ids:
            header = stdout.readline().split()
            if len(header) != 3 or header[0] != blob:
                raise InputError([error(f"git cat-file: cannot read object {blob.decode('ascii', 'replace')}")])
            yield int(header[2]), stdout.read
            stdout.read(1)  # the newline after the contents
    finally:
        proc.kill()  # a no-op once done; else it ends the writer's blocked write too
        writer.join()
        stdout.close()
        proc.wait()


def _copy(read: Callable[[int], bytes], size: int, fd: int) -> bool:
    """Copy the `size` bytes `read` gives to `fd` (of a file over the reading limit only its
    first bytes, in a sparse file of its size); whether they are a Git LFS pointer."""
    keep = size if size <= MAX_FILE_BYTES else PREFIX_BYTES
    first, left = b"", size
    while left:
        chunk = read(min(CHUNK, left))
        if not chunk:
            raise InputError([error("a file ended before its size")])
        view = memoryview(chunk)[:max(keep, 0)]
        while view:
            view = view[os.write(fd, view):]
        first = first or chunk[:len(LFS_POINTER)]
        keep -= len(chunk)
        left -= len(chunk)
    os.ftruncate(fd, size)
    return size < LFS_POINTER_BYTES and first.startswith(LFS_POINTER)


# --------------------------------------------------------------------------------------------
# The copy


def export_commit(top: Path, commit: str, dest: Path, label: str, wanted: Callable[[bytes], bool]) -> list[str]:
    """Copy `commit` below `dest` (see the module docstring); the paths of its LFS pointers."""
    listing = _commit_listing(top, commit, label)
    ids = list(dict.fromkeys(listing.links.values()))
    targets = {blob: read(size) for blob, (size, read) in zip(ids, _blobs(top, ids))}
    with _Copy(dest, listing) as copy:
        reached = copy.links({path: targets[blob] for path, blob in listing.links.items()}, wanted)
        files = [(path, blob) for path, (_, blob) in listing.files.items()
                 if blob is not None and (wanted(path) or path in reached)]
        for (path, _), (size, read) in zip(files, _blobs(top, [blob for _, blob in files])):
            copy.file(path, read, size)
        return copy.pointers


def export_work_tree(top: Path, dest: Path, wanted: Callable[[bytes], bool]) -> list[str]:
    """Copy the files the next `git add --all` would commit below `dest` (see the module
    docstring); the paths of its LFS pointers."""
    top_fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        listing = _work_tree_listing(top, top_fd)
        with _Copy(dest, listing) as copy:
            reached = copy.links(listing.links, wanted)
            for path in (p for p in listing.files if wanted(p) or p in reached):
                try:
                    source = _at(top_fd, path, _open_regular)
                except (FileNotFoundError, NotADirectoryError):  # gone since it was listed
                    continue
                except OSError as exc:
                    raise InputError([error(f"cannot read: {exc.strerror}", _name(path))]) from None
                with source:
                    copy.file(path, source.read, os.fstat(source.fileno()).st_size)
            return copy.pointers
    finally:
        os.close(top_fd)


def _open_regular(base: bytes, fd: int) -> BinaryIO:
    source = os.open(base, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=fd)
    if not stat.S_ISREG(os.fstat(source).st_mode):
        os.close(source)
        raise FileNotFoundError(errno.ENOENT, "not a regular file")
    return os.fdopen(source, "rb")


class _Copy:
    """The copy being written below `dest`: its directories made on entry, then its links and
    files, each created relative to its directory's descriptor (O_EXCL, O_NOFOLLOW). A failure
    to write names the path."""

    def __init__(self, dest: Path, listing: Listing) -> None:
        self.root = os.fsencode(dest)
        self.listing = listing
        self.pointers: list[str] = []

    def __enter__(self) -> _Copy:
        self.fd = os.open(self.root, _NO_DIR)
        for path in sorted(self.listing.dirs, key=lambda p: p.count(b"/")):
            self._write(path, lambda base, fd: os.mkdir(base, 0o700, dir_fd=fd))
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)
        self.pointers.sort()

    def _write(self, path: bytes, op: Callable[[bytes, int], T]) -> T:
        try:
            return _at(self.fd, path, op)
        except OSError as exc:
            raise InputError([error(f"cannot copy: {exc.strerror}; at {self.listing.label}", _name(path))]) from None

    def _link(self, path: bytes, target: bytes) -> None:
        self._write(path, lambda base, fd: os.symlink(target, base, dir_fd=fd))

    def links(self, targets: dict[bytes, bytes], wanted: Callable[[bytes], bool]) -> set[bytes]:
        """The links, then a refusal of every one that is absolute or, followed with every link
        on its way, leads out of the copy (a link to a link to `..` included). What the `wanted`
        ones lead to is wanted too (`values.yaml -> values.txt`)."""
        for path, target in targets.items():
            if not target or target.startswith(b"/") or b"\0" in target:
                self.listing.refuse(path, "an absolute or empty symbolic link")
            else:
                self._link(path, target)
        reached = set()
        for path in targets:
            real = os.path.realpath(self.root + b"/" + path)
            if real != self.root and not real.startswith(self.root + b"/"):
                self.listing.refuse(path, "a symbolic link that leads out of the repository")
            elif wanted(path):
                reached.add(real[len(self.root) + 1:])
        self.listing.raise_problems()
        return reached

    def file(self, path: bytes, read: Callable[[int], bytes], size: int) -> None:
        fd = self._write(path, lambda base, fd: os.open(base, _NEW_FILE, 0o600, dir_fd=fd))
        try:
            if _copy(read, size, fd):
                self.pointers.append(_name(path))
        finally:
            os.close(fd)


def export_paths(top: Path, ref: str, paths: set[str], dest: Path, label: str) -> str:
    """Copy the files `paths` (from the repository root) of the commit `ref` names below `dest`,
    with every check of `export_commit` (the whole listing checked first, links confined, a file
    over the reading limit copied as its first bytes); the commit. A path the commit lacks is
    simply not copied. `ref` is tried as given, then as the branch of the remote `origin` (a
    clone has those as remote-tracking branches)."""
    try:
        commit = commit_of(top, ref)
    except InputError:
        try:
            commit = commit_of(top, f"refs/remotes/origin/{ref}")
        except InputError:
            raise InputError([error(f"no revision {printable(ref)} in the clone {top} (a branch, tag or commit; "
                                    "fetch it first)")]) from None
    wanted = {os.fsencode(p) for p in paths}
    export_commit(top, commit, dest, f"{label} ({commit[:7]})", wanted.__contains__)
    return commit
