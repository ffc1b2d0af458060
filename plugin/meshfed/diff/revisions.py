"""The two sides of `meshfed diff`, each copied into a temporary directory: a commit from git's
objects, or the work tree as the next commit would hold it.

Only read-only git commands run (rev-parse, merge-base, ls-tree, cat-file, ls-files), so the user's work
tree, index and stash are never touched. The whole tree is copied, not only the directories
compared: a document's `spec.base` (or a federation file) may lie anywhere in the repository.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

from ..diagnostics import InputError, error, printable

WORK_TREE = "work tree"


class Revision:
    """One side of the comparison: `ref` as the user named it (None for the work tree), the
    commit it resolves to, and the directory its files were copied to."""

    __slots__ = ("side", "ref", "commit", "tree")

    def __init__(self, side: str, ref: str | None, commit: str | None, tree: Path) -> None:
        self.side = side  # base | head
        self.ref = ref
        self.commit = commit
        self.tree = tree

    @property
    def name(self) -> str:
        """`HEAD~1 (1a2b3c4)`, or `work tree`."""
        return WORK_TREE if self.commit is None else f"{self.ref} ({self.commit[:7]})"

    @property
    def label(self) -> str:
        """How messages name the side: `base HEAD~1 (1a2b3c4)`, `head work tree`."""
        return f"{self.side} {self.name}"


def git(top: Path, *args: str) -> str:
    """The output of a read-only git command, or an InputError with git's own message."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # not even a refresh of the index
    try:
        proc = subprocess.run(["git", *args], cwd=top, capture_output=True, env=env, check=False)
    except OSError as exc:
        raise InputError([error(f"cannot run git: {exc.strerror}")]) from None
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError([error(f"git {args[0]}: {printable(message[-1] if message else 'failed')}")])
    return proc.stdout.decode("utf-8", "surrogateescape")


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


def export_commit(top: Path, commit: str, dest: Path) -> None:
    """Write the files of `commit` below `dest`, as a checkout holds them: regular files and
    symbolic links, submodules left out. Read with `git ls-tree` and `git cat-file`, not `git
    archive`, whose `export-ignore` and `export-subst` attributes would change the files."""
    listed = git(top, "ls-tree", "-r", "-z", "--full-tree", commit)
    entries = []
    for line in listed.split("\0"):
        if not line:
            continue
        meta, name = line.split("\t", 1)
        mode, kind, sha = meta.split(" ")
        if kind == "blob":
            entries.append((mode, sha, name))
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=top, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    def feed() -> None:  # on its own thread: both pipes may fill up
        with stdin:
            stdin.write("".join(f"{sha}\n" for _, sha, _ in entries).encode())

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        for mode, sha, name in entries:
            header = stdout.readline().split()
            if len(header) != 3 or header[0].decode() != sha:
                raise InputError([error(f"git cat-file: cannot read {printable(name)} of {commit[:7]}")])
            data = stdout.read(int(header[2]))
            stdout.read(1)  # the newline after the contents
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if mode == "120000":
                os.symlink(os.fsdecode(data), target)
            else:
                target.write_bytes(data)
    except BaseException:
        proc.kill()  # so that the writer's blocked write ends too
        raise
    finally:
        writer.join()
        stdout.close()
        proc.wait()


def export_work_tree(top: Path, dest: Path) -> None:
    """Copy the files the next `git add --all` would commit: tracked files as they are on disk
    (deleted ones left out) and untracked files that are not ignored."""
    listed = git(top, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in dict.fromkeys(listed.split("\0")):
        if not name:
            continue
        source, target = top / name, dest / name
        try:
            if source.is_symlink():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(os.readlink(source), target)
            elif source.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
        except OSError as exc:  # deleted or unreadable since it was listed: reported when read
            if not isinstance(exc, FileNotFoundError):
                raise InputError([error(f"cannot copy: {exc.strerror}", name)]) from None
