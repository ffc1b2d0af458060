"""Where input comes from: the one root rule, and reading files and streams with their limits.

Every route reads through here, so the guarantees hold on all of them: only regular files (a
FIFO or `/dev/zero` would hang or never end), a byte limit, UTF-8 text, and base files that stay
below the root, read once per run however often they are named.

Paths are strings here and in the modules every route runs through (`os.path`, not `pathlib`:
importing pathlib costs a cold rendering a tenth of its time); they take `os.PathLike` too.
"""
from __future__ import annotations

import errno
import os
import stat

from .diagnostics import InputError, error
from .yamlio import parse_all, parse_values

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO, Sequence, Union

    PathArg = Union[str, "os.PathLike[str]"]

MAX_FILE_BYTES = 64 << 20  # one input file; the largest federations' values files are a few MB
MAX_STDIN_BYTES = 256 << 20  # a ResourceList holds a whole package
MAX_BASE_FILES = 256  # distinct base files one run may read
MAX_BASE_DEPTH = 32  # bases of bases of ...
ROOT_VARIABLE = "MESHFED_ROOT"
# The files of a directory that may hold documents (JSON is YAML too: kustomize and Argo CD read it).
DOCUMENT_SUFFIXES = (".yaml", ".yml", ".json")
CHUNK = 1 << 20  # what a file is read in


def working_directory() -> str:
    """The working directory, or an InputError when it has been removed."""
    try:
        return os.getcwd()
    except OSError as exc:
        raise InputError([error(f"cannot use the working directory: {exc.strerror}")]) from None


class Root(str):
    """The root directory (a resolved path), and the rule that chose it, which messages name:
    `--root`, `MESHFED_ROOT`, `the git work tree holding app/`..."""

    __slots__ = ("rule", "widened")
    rule: str
    widened: bool

    def __new__(cls, path: str, rule: str, widened: bool = True) -> Root:
        """`widened`: --root and MESHFED_ROOT can name another root (not in Argo CD, nor for diff)."""
        root = super().__new__(cls, path)
        root.rule, root.widened = rule, widened
        return root


def _work_tree(directory: str) -> str | None:
    """The git work tree that holds `directory` (a resolved path), or None."""
    d = directory
    while not os.path.exists(os.path.join(d, ".git")):
        if os.path.dirname(d) == d:
            return None
        d = os.path.dirname(d)
    return d


def find_root(explicit: PathArg | None = None, paths: Sequence[PathArg] = ()) -> Root:
    """The directory bases may not leave: `explicit` (`--root`), else `$MESHFED_ROOT`, else the git
    work tree that holds the `paths` the command line names (else their directory), else the one
    that holds the working directory (else the working directory): where `kustomize build DIR` or
    `helm template DIR` is run from does not matter. Never derived from a document's content, so
    a document cannot widen its own reach. InputError when the paths lie in different work trees."""
    if isinstance(explicit, Root):  # an adapter's own rule (Argo CD's repository copy)
        return explicit
    given = explicit if explicit not in (None, "") else os.environ.get(ROOT_VARIABLE) or None
    if given is not None:
        root = os.fspath(given)
        label = "--root" if explicit not in (None, "") else ROOT_VARIABLE
        try:
            if os.path.isdir(root):
                return Root(resolve(root), label)
        except (OSError, RuntimeError, ValueError):
            pass
        raise InputError([error(f"{label}: not a directory", root)])
    named = [os.fspath(p) for p in paths if os.fspath(p) not in ("", STDIN_PATH)]
    if not named:
        cwd = resolve(working_directory())
        tree = _work_tree(cwd)
        return Root(tree, "the git work tree of the working directory") if tree else Root(cwd, "the working directory")
    found: dict[str, str] = {}  # root -> the rule that chose it
    for path in named:
        try:
            real = resolve(path)
        except (RuntimeError, ValueError):
            continue  # reading the path says what is wrong with it
        directory = real if os.path.isdir(real) else os.path.dirname(real)
        tree = _work_tree(directory)
        shown = display(path) + (os.sep if os.path.isdir(real) and not path.endswith(os.sep) else "")
        found.setdefault(tree or directory, f"the git work tree holding {shown}" if tree
                         else f"the directory of {shown}")
    if len(found) == 1:
        [(root, rule)] = found.items()
        return Root(root, rule)
    if found and not any(_work_tree(r) == r for r in found):  # none in a work tree: their common directory
        common = os.path.commonpath(list(found))
        return Root(common, f"the directory holding {', '.join(display(p) for p in named)}")
    if not found:
        return find_root()
    raise InputError([error(f"the paths lie in different git work trees or directories ({', '.join(map(display, found))}): "
                            "give --root (or MESHFED_ROOT), the directory their bases may not leave")])


def resolve(path: PathArg) -> str:
    """The absolute path with every symbolic link followed (as far as the path exists);
    RuntimeError for a link loop, ValueError for a NUL byte."""
    real = os.path.realpath(path)
    try:
        os.stat(real)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise RuntimeError(f"symbolic link loop from {real!r}") from None
    return real


def inside(path: PathArg, root: PathArg) -> bool:
    """Whether the resolved `path` is `root` or below it."""
    path, root = os.fspath(path), os.fspath(root)
    return path == root or path.startswith(root if root.endswith(os.sep) else root + os.sep)


def confine(target: PathArg, root: PathArg, shown: str, source: str, where: str) -> str:
    """`target` with symlinks resolved, or an InputError naming `source`/`where` when it leaves
    `root` (through `..` or a link) or cannot be resolved at all (a link loop, a NUL byte)."""
    try:
        real = resolve(target)
    except (OSError, RuntimeError, ValueError) as exc:
        why = "a symbolic link loop" if isinstance(exc, RuntimeError) else str(getattr(exc, "strerror", None) or exc)
        raise InputError([error(f"{shown}: cannot resolve the path ({why})", source, where)]) from None
    if not inside(real, root):
        raise InputError([error(f"{shown} resolves outside {named(root)}", source, where)])
    return real


def named(root: PathArg) -> str:
    """The root as messages name it: where it is, and the rule that chose it (and how to widen it)."""
    rule = getattr(root, "rule", None)
    if rule in ("--root", ROOT_VARIABLE):
        return f"the root {display(root)} (set by {rule})"
    if not getattr(root, "widened", True):
        return f"the root {display(root)} ({rule})"
    return f"the root {display(root)} ({rule + '; ' if rule else ''}set --root or {ROOT_VARIABLE} to widen it)"


def within(file: PathArg, directory: PathArg, root: PathArg) -> None:
    """A file found in a directory (not named by the user: a directory listing or walk) must stay
    in that directory or below the root once its links are followed: a link in an app directory
    cannot read /etc/passwd. InputError otherwise; the file is not opened, so nothing of it is shown."""
    try:
        real = resolve(file)
        here = resolve(directory)
    except (OSError, RuntimeError, ValueError) as exc:
        raise InputError([error(f"cannot resolve the path ({exc})", display(file))]) from None
    if not (inside(real, root) or inside(real, here)):
        raise InputError([error(f"a link to a file outside the directory and outside {named(root)} is not read",
                                display(file))])


def document_files(directory: PathArg) -> list[str]:
    """The regular files directly in `directory` that may hold documents (DOCUMENT_SUFFIXES), by
    name; OSError when it cannot be listed."""
    directory = os.fspath(directory)
    return [path for path in (os.path.join(directory, name) for name in sorted(os.listdir(directory))
                              if os.path.splitext(name)[1] in DOCUMENT_SUFFIXES) if os.path.isfile(path)]


def display(path: PathArg) -> str:
    """How a file is named in messages: relative to the working directory when below it."""
    path = os.path.normpath(path)
    try:
        rel = os.path.relpath(path)
    except (OSError, ValueError):
        return path
    return path if rel.split(os.sep)[:4] == [os.pardir] * 4 else rel


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError([error(f"not UTF-8 text (byte {exc.start})", name)]) from None


def read_at_most(stream: BinaryIO, limit: int) -> bytes:
    """Up to `limit` + 1 bytes, read in chunks: `read(limit + 1)` would allocate the whole limit
    up front, 64 MiB for every small file."""
    chunks, size = [], 0
    while size <= limit:
        chunk = stream.read(min(CHUNK, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def mentions(path: PathArg, word: bytes, limit: int = MAX_FILE_BYTES) -> bool:
    """Whether the first `limit` bytes of a regular file hold `word` (False when it cannot be
    read): how discovery recognises a document that does not parse. Read a chunk at a time, so a
    file over the reading limit costs no more memory than a chunk."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (OSError, ValueError):
        return False
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return False
    with os.fdopen(fd, "rb") as f:
        try:
            tail, size = b"", 0
            while size < limit:
                chunk = f.read(min(CHUNK, limit - size))
                if not chunk:
                    return False
                if word in tail + chunk:
                    return True
                tail, size = (tail + chunk)[1 - len(word):], size + len(chunk)
        except OSError:
            return False
    return False


def read_file(path: PathArg, name: str, limit: int = MAX_FILE_BYTES) -> str:
    """A regular file's text, at most `limit` bytes, or an InputError that says why not."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO must not block open()
    except FileNotFoundError:
        raise InputError([error("no such file", name)]) from None
    except ValueError:
        raise InputError([error("invalid file name (a NUL byte)", name)]) from None
    except OSError as exc:
        raise InputError([error(f"cannot read: {exc.strerror}", name)]) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputError([error("is a directory, expected a file", name)])
        if not stat.S_ISREG(info.st_mode):
            raise InputError([error("not a regular file", name)])
        if info.st_size > limit:
            raise InputError([error(f"larger than the limit of {limit >> 20} MiB", name)])
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = read_at_most(f, limit)
    except OSError as exc:
        raise InputError([error(f"cannot read: {exc.strerror}", name)]) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise InputError([error(f"larger than the limit of {limit >> 20} MiB", name)])
    return _decode(data, name)


def read_stream(stream: BinaryIO, name: str, limit: int = MAX_STDIN_BYTES) -> str:
    """A stream's text (standard input), at most `limit` bytes."""
    try:
        data = read_at_most(stream, limit)
    except OSError as exc:
        raise InputError([error(f"cannot read: {exc.strerror}", name)]) from None
    if len(data) > limit:
        raise InputError([error(f"larger than the limit of {limit >> 20} MiB", name)])
    return _decode(data, name)


class Files:
    """The files one run reads below a root: each parsed once, however often bases name it, and
    at most MAX_BASE_FILES of them."""

    def __init__(self, root: str):
        self.root = root
        self._documents: dict[str, list[Any]] = {}

    def documents(self, real: str, name: str) -> list[Any]:
        """The non-empty YAML documents of the file at `real` (already confined); a file that holds
        no MeshFederation or Federation document is a values file, read as helm reads one (its
        documents merged): [its map], or [] when empty."""
        cached = self._documents.get(real)
        if cached is None:
            if len(self._documents) >= MAX_BASE_FILES:
                raise InputError([error(f"more than {MAX_BASE_FILES} distinct base files", name)])
            cached = _documents_or_values(read_file(real, name), name)
            self._documents[real] = cached
        return cached


def _documents_or_values(text: str, name: str) -> list[Any]:
    problem = None
    try:
        docs: list[Any] | None = [d for d in parse_all(text, name) if d is not None]
    except InputError as exc:  # perhaps a values file helm reads (text after a `...` is not read)
        docs, problem = None, exc
    if docs is not None and (any(type(d) is dict and d.get("kind") in _DOCUMENT_KINDS for d in docs)
                             or (len(docs) <= 1 and not (text.startswith("---") or "\n---" in text))):
        return docs  # MeshFederation documents, or a values file that is one document read whole
    try:
        values = parse_values(text, name)
    except InputError:
        if problem is not None:
            raise problem from None
        raise
    if problem is not None and values.get("kind") in _DOCUMENT_KINDS:
        raise problem from None
    return [values] if values else []


_DOCUMENT_KINDS = ("MeshFederation", "Federation")
STDIN_PATH = "-"  # `-f -`, as with helm: the values come from standard input


def load_values_file(path: PathArg, name: str) -> dict[str, Any]:
    """A plain Helm values file (`-` is standard input), read as helm reads one: its documents'
    maps merged (an empty file is an empty map)."""
    if os.fspath(path) == STDIN_PATH:
        import sys
        name = "<stdin>"
        text = read_stream(sys.stdin.buffer, name, MAX_FILE_BYTES)
    else:
        text = read_file(path, name)
    return parse_values(text, name)
