"""`meshfed diff [--base REF] [--head REF] [DIR...]`: the objects a change adds, removes or
changes, application by application, before it is merged.

Both revisions are copied out of git into a temporary directory (`revisions`), their
applications found and rendered through `meshfed.api` (`apps`), matched (`compare`) and written
(`report`). The default base is the merge base of HEAD with its upstream branch, else HEAD; the
default head is the work tree as the next `git add --all` would commit it (tracked files as on
disk, untracked files that are not ignored). DIRs default to the whole repository.

Exit codes: 0, or 1 when an application does not render at either revision or git fails (the
other applications' diffs are still written). With `exit_code` (`--exit-code`), as `git diff
--exit-code`: 0 no differences, 1 differences, and 3 for those errors, so that a script can
tell them apart.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..diagnostics import EXIT_INVALID, EXIT_OK, InputError, error, failure, printable
from ..source import working_directory
from . import revisions
from .apps import find_apps, render_app
from .clusters import read_federation
from .compare import RENAMED, Side, compare
from .report import FORMATS, Report, as_json, markdown, text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

__all__ = ["FORMATS", "run"]

EXIT_DIFFERENT, EXIT_ERROR_WITH_EXIT_CODE = 1, 3


def run(dirs: list[Path], base: str | None, head: str | None, fmt: str, colour: bool, exit_code: bool,
        stdout: TextIO, stderr: TextIO) -> int:
    """Compare, write the report to `stdout` in one piece and the errors to `stderr`; the exit
    code (see the module docstring). Never raises for any input."""
    failed = EXIT_ERROR_WITH_EXIT_CODE if exit_code else EXIT_INVALID
    try:
        with tempfile.TemporaryDirectory(prefix="meshfed-diff-") as tmp:
            report = _report(dirs, base, head, Path(tmp).resolve())
    except Exception as exc:  # noqa: BLE001 - git's and the input's problems: messages, not a traceback
        for d in failure(exc):
            print(f"meshfed diff: {d}", file=stderr)
        return failed
    writers = {"text": lambda: text(report, colour), "markdown": lambda: markdown(report),
               "json": lambda: as_json(report)}
    stdout.write(writers[fmt]())
    stdout.flush()
    for app in report.diffs:
        for revision, diagnostic in app.errors:
            print(f"{revision.label}: {diagnostic}", file=stderr)
    if report.errors:
        return failed
    return EXIT_DIFFERENT if exit_code and report.diffs else EXIT_OK


def _report(dirs: list[Path], base_ref: str | None, head_ref: str | None, tmp: Path) -> Report:
    top = revisions.toplevel(Path(working_directory()))
    paths = _repository_paths(dirs, top)
    base = _revision(top, "base", base_ref, tmp)
    head = _revision(top, "head", head_ref, tmp)
    missing = [p for p in paths if not any((r.tree / p).is_dir() for r in (base, head))]
    if missing:
        shown = ", ".join(printable(p) for p in missing)
        raise InputError([error(f"no such directory at {base.label} or {head.label}: {shown}")])
    sides, views = [], []
    for revision in (base, head):
        apps = find_apps(revision.tree, paths)
        view = read_federation(revision.tree, paths)
        federations: dict = {}  # each Federation document read once per revision
        rendered = {p: render_app(revision.tree, a, federations) for p, a in apps.items()}
        sides.append(Side(revision, rendered, view.clusters))
        views.append(view)
    diffs = compare(*sides)
    compared = len(set(sides[0].apps) | set(sides[1].apps)) - sum(d.status == RENAMED for d in diffs)
    return Report(base, head, diffs, compared, (views[0], views[1]))


def _repository_paths(dirs: list[Path], top: Path) -> list[str]:
    """The DIRs as paths from the repository root ('.' for all of it); an error for one outside."""
    paths = []
    for d in dirs or [Path(".")]:
        real = Path(os.path.abspath(d)).resolve()
        if not real.is_relative_to(top):
            raise InputError([error(f"not inside the git repository {top}", printable(str(d)))])
        paths.append(real.relative_to(top).as_posix() or ".")
    return list(dict.fromkeys(paths))


def _revision(top: Path, side: str, ref: str | None, tmp: Path) -> revisions.Revision:
    tree = tmp / side
    tree.mkdir()
    if side == "head" and ref is None:
        revisions.export_work_tree(top, tree)
        return revisions.Revision(side, None, None, tree)
    if ref is None:
        ref, commit = revisions.default_base(top)
    else:
        commit = revisions.commit_of(top, ref)
    revisions.export_commit(top, commit, tree)
    return revisions.Revision(side, ref, commit, tree)
