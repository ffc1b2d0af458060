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

import fnmatch
import os
import tempfile
from pathlib import Path

from ..output.cleanup import removed_at_end
from ..values.diagnostics import EXIT_INVALID, EXIT_OK, InputError, error, failure, printable
from ..values.meshfederation import Known
from ..values.source import working_directory
from . import revisions
from .apps import App, Rendered, app_digest, find_apps, lfs_pointer_errors, read_by_renders, render_app
from .clusters import FederationView, read_federation
from .compare import ERROR, RENAMED, AppDiff, Side, compare
from .report import FORMATS, Report, as_json, markdown, once, text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Sequence, TextIO

__all__ = ["FORMATS", "run"]

EXIT_DIFFERENT, EXIT_ERROR_WITH_EXIT_CODE = 1, 3


def run(dirs: list[Path], base: str | None, head: str | None, fmt: str, colour: bool, exit_code: bool,
        stdout: TextIO, stderr: TextIO, ignore_order: bool = False, start: Path | None = None,
        exclude: Sequence[str] = ()) -> int:
    """Compare, write the report to `stdout` in one piece and the errors to `stderr`, each once;
    the exit code (see the module docstring). `start` (git's `-C`) is where relative DIRs start;
    the repository is the one that holds the DIRs (else `start`, else the working directory).
    Applications whose path, or a directory above it, matches an `exclude` glob are skipped;
    `ignore_order` counts objects that differ only in the order of set-like lists as reordered.
    Never raises for any input."""
    failed = EXIT_ERROR_WITH_EXIT_CODE if exit_code else EXIT_INVALID
    try:
        here = Path(working_directory()) / (start or ".")
        if not here.is_dir():
            raise InputError([error("-C: not a directory", printable(str(start)))])
        with removed_at_end(tempfile.mkdtemp(prefix="meshfed-diff-")) as tmp:  # also on SIGTERM, SIGHUP
            report = _report([here / d for d in dirs], here, base, head, Path(tmp).resolve(), exclude, ignore_order)
    except Exception as exc:  # noqa: BLE001 - git's and the input's problems: messages, not a traceback
        for problem in failure(exc):
            print(f"meshfed diff: {problem}", file=stderr)
        return failed
    writers = {"text": lambda: text(report, colour), "markdown": lambda: markdown(report),
               "json": lambda: as_json(report)}
    # A file name that is not UTF-8 (held as lone surrogates) is written escaped, as `printable`
    # escapes it, wherever a writer puts it: a path, a cluster's name, the graph.
    stdout.write(writers[fmt]().encode("utf-8", "backslashreplace").decode("utf-8"))
    stdout.flush()
    for d in report.diffs:
        for label, diagnostic in once(d):
            print(f"{label}: {diagnostic}", file=stderr)
    if report.errors:
        both = sum(d.status == ERROR and _same_at_both(d) for d in report.diffs)
        # Applications broken the same way at both revisions are mostly test fixtures, not the change's doing.
        hint = (f" ({both} the same at both revisions: --exclude GLOB skips directories that are not "
                "applications, such as test fixtures)") if both else ""
        print(f"meshfed diff: {report.errors} of {report.compared} applications do not render{hint}", file=stderr)
        return failed
    return EXIT_DIFFERENT if exit_code and report.diffs else EXIT_OK


def _report(dirs: list[Path], here: Path, base_ref: str | None, head_ref: str | None, tmp: Path,
            exclude: Sequence[str], ignore_order: bool) -> Report:
    top = _repository(dirs, here)
    paths = _repository_paths(dirs or [here], top)
    base = _revision(top, "base", base_ref, tmp)
    head = _revision(top, "head", head_ref, tmp)
    missing = [p for p in paths if not any((r.tree / p).is_dir() for r in (base, head))]
    if missing:
        shown = ", ".join(printable(p) for p in missing)
        raise InputError([error(f"no such directory at {base.label} or {head.label}: {shown}")])
    found = [{path: app for path, app in find_apps(revision.tree, paths).items() if not _excluded(path, exclude)}
             for revision in (base, head)]
    lfs_pointer_errors(found[0], found[1], base.lfs_pointers)
    lfs_pointer_errors(found[1], found[0], head.lfs_pointers)
    views = [read_federation(revision.tree, paths) for revision in (base, head)]
    # Each Federation document read once per revision; a part the change leaves as it was, parsed once.
    first = Known()
    federations = (first, Known(first.checked))
    rendered: tuple[dict, dict] = ({}, {})
    skipped = reordered = 0
    diffs: list[AppDiff] = []

    def add(sides: list[Side]) -> None:
        nonlocal reordered
        found_diffs, count = compare(sides[0], sides[1], ignore_order=ignore_order)
        diffs.extend(found_diffs)
        reordered += count

    for path in sorted(set(found[0]) | set(found[1])):
        before, after = found[0].get(path), found[1].get(path)
        if before is not None and after is not None and _unchanged(base, head, (before, after), federations):
            # The same inputs render the same objects: only whether they render is asked (once,
            # at the head, from what its digest read; what the base's read is let go).
            before.read = None
            errors = render_app(head.tree, after, federations[1], objects=False)
            if not errors.errors:
                skipped += 1
                continue
            add(_sides(path, (errors, errors), (base, head), views))
            continue
        pair = [render_app(revision.tree, app, feds, head=revision is head) if app is not None else None
                for revision, app, feds in zip((base, head), (before, after), federations)]
        if pair[0] is not None and pair[1] is not None:
            # Compared at once, so that only the differences are kept: memory grows with the
            # largest application and the report, not with the repository.
            add(_sides(path, (pair[0], pair[1]), (base, head), views))
            continue
        for out, r in zip(rendered, pair):  # at one revision only: kept to find renames
            if r is not None:
                out[path] = r
    sides = [Side(revision, apps, view.clusters) for revision, apps, view in zip((base, head), rendered, views)]
    add(sides)
    diffs.sort(key=lambda d: d.path)
    compared = len(set(found[0]) | set(found[1])) - sum(d.status == RENAMED for d in diffs)
    return Report(base, head, diffs, compared, (views[0], views[1]), reordered if ignore_order else None, skipped)


def _repository(dirs: list[Path], here: Path) -> Path:
    """The git work tree that holds the DIRs (all in one), else the one that holds `here`."""
    tops = list(dict.fromkeys(revisions.toplevel(d if d.is_dir() else d.parent) for d in dirs if d.exists()))
    if len(tops) > 1:
        raise InputError([error(f"the directories are in different git repositories: {', '.join(map(str, tops))}")])
    return tops[0] if tops else revisions.toplevel(here)


def _same_at_both(d: AppDiff) -> bool:
    """The application fails the same way at both revisions: the change is not what broke it."""
    found = [{diagnostic for revision, diagnostic in d.errors if revision.side == side} for side in ("base", "head")]
    return bool(found[0]) and found[0] == found[1]


def _excluded(path: str, globs: Sequence[str]) -> bool:
    """Whether the application's path, or a directory above it, matches one of the globs."""
    if not globs:
        return False
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    return any(fnmatch.fnmatchcase(prefix, glob.rstrip("/")) for glob in globs for prefix in prefixes)


def _sides(path: str, pair: tuple[Rendered, Rendered], revisions_: tuple[revisions.Revision, revisions.Revision],
           views: list[FederationView]) -> list[Side]:
    """One application at both revisions, as the two sides `compare` takes."""
    return [Side(revision, {path: r}, view.clusters) for revision, r, view in zip(revisions_, pair, views)]


def _unchanged(base: revisions.Revision, head: revisions.Revision, apps: tuple[App, App],
               federations: tuple[Known, Known]) -> bool:
    """Whether the application reads the same inputs at both revisions (`apps.app_digest`)."""
    before = app_digest(base.tree, apps[0], federations[0])
    return before is not None and before == app_digest(head.tree, apps[1], federations[1], head=True)


def _repository_paths(dirs: list[Path], top: Path) -> list[str]:
    """The DIRs as paths from the repository root ('.' for all of it); an error for one outside."""
    paths = []
    for d in dirs:
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
