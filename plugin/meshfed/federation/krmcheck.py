"""`meshfed krm-check`: the federation check as a KRM validator.

The ResourceList's items go back out exactly as they came in (each item's text copied verbatim,
annotations included, as kustomize's validators require); the findings become `results`
(severity, message, resourceRef, field.path, file.path). Any error-severity result gives exit
code 1. Nothing but the ResourceList is written to stdout; findings are also printed on stderr.

MeshFederation items are checked together, as one repository: bases resolve against the
directory of the item's `internal.config.kubernetes.io/path` (or `config.kubernetes.io/path`)
annotation, else the working directory; that annotation also places the item in a directory for
the cluster-grouping rule.
"""
from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import Any, TextIO

from .. import krm
from ..diagnostics import Diagnostic, InputError
from ..document import find_root
from .consistency import check_repo
from .repo import Repo, Source, load

INDEX_ANNOTATIONS = ("internal.config.kubernetes.io/index", "config.kubernetes.io/index")


def _location(item: dict[str, Any], cwd: Path) -> tuple[Path | None, str | None, int]:
    ann = krm.annotations_of(item)
    index = 0
    for key in INDEX_ANNOTATIONS:
        value = ann.get(key)
        if isinstance(value, str) and value.isdigit():
            index = int(value)
            break
    for key in krm.PATH_ANNOTATIONS:
        value = ann.get(key)
        if isinstance(value, str) and value:
            return (cwd / value), value, index
    return None, None, index


def _sources(items: list[Any], cwd: Path) -> list[Source]:
    sources = []
    explicit = krm.explicit_root()
    for i, data in enumerate(items):
        if not krm.is_meshfederation(data):
            continue
        file, source, index = _location(data, cwd)
        ref = krm.resource_ref(data)
        if source is None:
            source = f"MeshFederation/{ref.get('name') or f'(item {i})'}"
        base_dir = file.parent if file is not None else cwd
        root = explicit if explicit is not None else find_root(base_dir)
        sources.append(Source(data, source, file.resolve() if file is not None else None, base_dir, index,
                              cwd.resolve(), root, ref))
    return sources


def _result(d: Diagnostic, repo: Repo | None, cwd: Path) -> dict[str, Any]:
    entry: dict[str, Any] = {"message": d.message, "severity": d.severity}
    owner = repo.owners.get(d) if repo is not None else None
    if owner is not None and owner.src.ref:
        entry["resourceRef"] = dict(owner.src.ref)
    if d.path:
        entry["field"] = {"path": d.path}
    if d.file and not d.file.startswith(("<", "MeshFederation/")):
        path = Path(d.file)
        if path.is_absolute():
            try:
                entry["file"] = {"path": path.relative_to(cwd).as_posix()}
            except ValueError:
                pass
        else:
            entry["file"] = {"path": posixpath.normpath(path.as_posix())}
    return entry


def validate(stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    try:
        text = stdin.read()
    except (OSError, UnicodeDecodeError) as exc:
        return krm.fail(stdout, stderr, f"cannot read the ResourceList from stdin: {exc}")
    try:
        request = krm.parse_request(text)
    except krm.InvalidRequest as exc:
        return krm.fail(stdout, stderr, str(exc))
    outcome = krm.Outcome()
    outcome.entries = [("raw", item) for item in request.items]
    cwd = Path(os.getcwd())
    sources = _sources([item.data for item in request.items], cwd)
    repo: Repo | None = None
    if not sources:
        diagnostics = [Diagnostic("warning", "no MeshFederation among the items: nothing to check")]
    else:
        try:
            repo = load(sources, [], [cwd.resolve()])
            diagnostics = check_repo(repo)
        except InputError as exc:
            diagnostics = list(exc.diagnostics)
    for d in diagnostics:
        outcome.results.append(_result(d, repo, cwd))
        print(str(d), file=stderr)
    failed = any(d.severity == "error" for d in diagnostics)
    stdout.write(krm.emit(request, outcome))
    stdout.flush()
    return 1 if failed else 0
