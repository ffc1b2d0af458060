"""`meshfed krm-check`: the federation check as a KRM validator.

The ResourceList's items go back out as they came in (the same data, every annotation included,
as kustomize's validators require; written by the core's one writer); the findings become `results`
(severity, message, resourceRef, field.path, file.path). Any error-severity result gives exit
code 1. Nothing but the ResourceList is written to stdout; findings are also printed on stderr.

MeshFederation items are checked together, as one repository: bases resolve against the
directory of the item's `internal.config.kubernetes.io/path` (or `config.kubernetes.io/path`)
annotation, else the working directory; that annotation also places the item in a directory for
the cluster-grouping rule.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from ..values.diagnostics import Diagnostic
from ..resourcelist import SYNTHETIC, Request, execute
from ..output.resources import INDEX_ANNOTATIONS, PATH_ANNOTATIONS, annotation, is_meshfederation, resource_ref
from ..values.source import find_root, working_directory
from .consistency import KEEP, check_repo
from .repo import Source, load

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..resourcelist import Problems


def _sources(items: list[dict[str, Any]], cwd: Path, root: Path) -> list[Source]:
    sources = []
    for i, data in enumerate(items):
        if not is_meshfederation(data):
            continue
        path = annotation(data, PATH_ANNOTATIONS)
        index = annotation(data, INDEX_ANNOTATIONS)
        ref = resource_ref(data)
        file = (cwd / path) if path and not os.path.isabs(path) else None
        source = path if path is not None and file is not None else f"{SYNTHETIC}{ref.get('name') or f'(item {i})'}"
        base_dir = file.parent if file is not None else cwd
        sources.append(Source(data, source, file.resolve() if file is not None else None, base_dir,
                              int(index) if index and index.isdigit() else 0, cwd.resolve(), root, ref))
    return sources


def check(request: Request) -> tuple[list[dict[str, Any]], Problems]:
    """The processor: the MeshFederation items checked as one repository; every item passes through."""
    cwd = Path(working_directory())
    sources = _sources(request.helm_items, cwd, Path(find_root()))  # the documents' values as Helm reads them
    if not sources:
        return request.items, [(Diagnostic("warning", "no MeshFederation among the items: nothing to check"), None)]
    repo = load(sources, [], [cwd.resolve()], keep=KEEP)
    problems: Problems = []
    for d in check_repo(repo):
        owner = repo.owners.get(d)
        problems.append((d, owner.src.ref if owner is not None else None))
    return request.items, problems


def validate(stdin: BinaryIO, stdout: TextIO, stderr: TextIO) -> int:
    """Check the MeshFederation items as one repository; pass every item through."""
    return execute(check, stdin, stdout, stderr, validator=True)  # a validator returns its input as it came
