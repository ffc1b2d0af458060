"""`meshfed diff [--base REF] [--head REF] [DIR...]`: the objects a change adds, removes or
changes, application by application, before it is merged.

Both revisions are copied out of git into a temporary directory (`revisions`, which refuses
what a hostile revision may hold; the directory is removed at the end and on SIGINT, SIGTERM and
SIGHUP), their applications found and rendered through `meshfed.api` (`apps`), matched
(`compare`) and written (`report`). The default base is the merge base of HEAD with its upstream
branch, else HEAD; the default head is the work tree as the next `git add --all` would commit it
(tracked files as on disk, untracked files that are not ignored). DIRs default to the whole
repository.

Exit codes: 0, or 1 when an application does not render at either revision or git fails (the
other applications' diffs are still written). With `exit_code` (`--exit-code`), as `git diff
--exit-code`: 0 no differences, 1 differences, and 3 for those errors, so that a script can
tell them apart.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..cleanup import removed_at_end
from ..diagnostics import EXIT_INVALID, EXIT_OK, InputError, error, failure, printable
from ..source import working_directory
from . import revisions
from .apps import App, Rendered, app_digest, find_apps, lfs_pointer_errors, read_by_renders, render_app
from .clusters import FederationView, read_federation
from .compare import RENAMED, AppDiff, Side, compare
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
        with removed_at_end(tempfile.mkdtemp(prefix="meshfed-diff-")) as tmp:  # also on SIGTERM, SIGHUP
            report = _report(dirs, base, head, Path(tmp).resolve())
    except Exception as exc:  # noqa: BLE001 - git's and the input's problems: messages, not a traceback
        for d in failure(exc):
            print(f"meshfed diff: {d}", file=stderr)
        return failed
    writers = {"text": lambda: text(report, colour), "markdown": lambda: markdown(report),
               "json": lambda: as_json(report)}
    # A file name that is not UTF-8 (held as lone surrogates) is written escaped, as `printable`
    # escapes it, wherever a writer puts it: a path, a cluster's name, the graph.
    stdout.write(writers[fmt]().encode("utf-8", "backslashreplace").decode("utf-8"))
    stdout.flush()
    for d in report.diffs:
        for revision, diagnostic in d.errors:
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
    found = [find_apps(revision.tree, paths) for revision in (base, head)]
    lfs_pointer_errors(found[0], found[1], base.lfs_pointers)
    lfs_pointer_errors(found[1], found[0], head.lfs_pointers)
    views = [read_federation(revision.tree, paths) for revision in (base, head)]
    federations: tuple[dict, dict] = ({}, {})  # each Federation document read once per revision
    rendered: tuple[dict, dict] = ({}, {})
    skipped = 0
    diffs: list[AppDiff] = []
    for path in sorted(set(found[0]) | set(found[1])):
        apps = (found[0].get(path), found[1].get(path))
        if _unchanged(base, head, apps, federations):
            # The same inputs render the same objects: only whether they render is asked (once).
            errors = render_app(head.tree, apps[1], federations[1], objects=False)
            if not errors.errors:
                skipped += 1
                continue
            diffs += compare(*_sides(path, (errors, errors), (base, head), views))
            continue
        pair = [render_app(revision.tree, app, feds) if app is not None else None
                for revision, app, feds in zip((base, head), apps, federations)]
        if pair[0] is not None and pair[1] is not None:
            # Compared at once, so that only the differences are kept: memory grows with the
            # largest application and the report, not with the repository.
            diffs += compare(*_sides(path, (pair[0], pair[1]), (base, head), views))
            continue
        for out, r in zip(rendered, pair):  # at one revision only: kept to find renames
            if r is not None:
                out[path] = r
    sides = [Side(revision, apps, view.clusters) for revision, apps, view in zip((base, head), rendered, views)]
    diffs = sorted(diffs + compare(*sides), key=lambda d: d.path)
    compared = len(set(found[0]) | set(found[1])) - sum(d.status == RENAMED for d in diffs)
    return Report(base, head, diffs, compared, (views[0], views[1]), skipped)


def _sides(path: str, pair: tuple[Rendered, Rendered], revisions_: tuple[revisions.Revision, revisions.Revision],
           views: list[FederationView]) -> list[Side]:
    """One application at both revisions, as the two sides `compare` takes."""
    return [Side(revision, {path: r}, view.clusters) for revision, r, view in zip(revisions_, pair, views)]


def _unchanged(base: revisions.Revision, head: revisions.Revision, apps: tuple[App | None, App | None],
               federations: tuple[dict, dict]) -> bool:
    """Whether the application reads the same inputs at both revisions (`apps.app_digest`)."""
    if apps[0] is None or apps[1] is None:
        return False
    before = app_digest(base.tree, apps[0], federations[0])
    return before is not None and before == app_digest(head.tree, apps[1], federations[1])


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
        pointers = revisions.export_work_tree(top, tree, read_by_renders)
        return revisions.Revision(side, None, None, tree, pointers)
    if ref is None:
        ref, commit = revisions.default_base(top)
    else:
        commit = revisions.commit_of(top, ref)
    revision = revisions.Revision(side, ref, commit, tree)
    revision.lfs_pointers = revisions.export_commit(top, commit, tree, revision.label, read_by_renders)
    return revision
