"""Application directories: which directory the Argo CD plugin takes as an application, what its
kustomization may hold, and how its files are named from the repository root.

The rules of `meshfed argocd` (discover, generate) that `meshfed diff` applies too, to find and
render the applications of a revision as Argo CD would: one declaration, used by both.
"""
from __future__ import annotations

import os
import posixpath

from .values.diagnostics import Diagnostic, InputError, error, printable
from .values import federation_part
from .output.resources import has_function_annotation, is_meshfederation
from .values.source import MAX_FILE_BYTES, document_files, mentions, read_file
from .values.yamlio import parse_all

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .values.source import PathArg

KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
KUSTOMIZATION_KEYS = ("apiVersion", "kind", "generators")


def _documents(path: str) -> list[Any] | None:
    """The documents of a file; None when it cannot be read or parsed (generate reports why). A
    part of a Federation holds none to render (the document that names it checks it)."""
    name = os.path.basename(path)
    try:
        return federation_part.documents(read_file(path, name, MAX_FILE_BYTES), name)
    except InputError:
        return None


def _ours(path: str) -> bool:
    """Whether the file is for the Argo CD plugin: it holds a MeshFederation without a KRM
    function annotation, or it cannot be parsed and mentions one (generate then reports the error
    rather than Argo CD finding no plugin for the app)."""
    docs = _documents(path)
    if docs is None:
        return mentions(path, b"MeshFederation")
    return any(is_meshfederation(d) and not has_function_annotation(d) for d in docs)


def discovered(app_dir: PathArg) -> str | None:
    """The file that makes `app_dir` an application of the Argo CD plugin (what `meshfed argocd
    discover` prints), or None."""
    return next((os.path.basename(path) for path in document_files(app_dir) if _ours(path)), None)


def kustomization_problems(app_dir: PathArg) -> list[Diagnostic]:
    """A kustomization.yaml may only list this directory's MeshFederation files as generators:
    anything else would be ignored by the Argo CD plugin, and ignoring it loses objects."""
    route = ("this plugin renders only the directory's MeshFederation documents and would ignore it; "
             "use Argo CD's kustomize source with meshfed's exec plugin instead (docs/integrations.md)")
    problems: list[Diagnostic] = []
    present = [name for name in KUSTOMIZATIONS if os.path.isfile(os.path.join(app_dir, name))]
    if not present:  # the common case: no file is read twice
        return problems
    documents = {os.path.basename(p) for p in document_files(app_dir)
                 if os.path.basename(p) not in KUSTOMIZATIONS
                 and ((docs := _documents(p)) is None or any(is_meshfederation(d) for d in docs))}
    for name in present:
        path = os.path.join(app_dir, name)
        docs = [d for d in parse_all(read_file(path, name), name) if d is not None]
        data = docs[0] if len(docs) == 1 and isinstance(docs[0], dict) else None
        if data is None:
            problems.append(error("must hold one map", name))
            continue
        problems += [error(route, name, str(key)) for key in data if key not in KUSTOMIZATION_KEYS]
        generators = data.get("generators") or []
        if not isinstance(generators, list):
            problems.append(error("must be a list", name, "generators"))
            continue
        for i, entry in enumerate(generators):
            if entry not in documents:
                problems.append(error(f"{printable(str(entry), 100)} is not a MeshFederation file of this "
                                      f"directory: {route}", name, f"generators[{i}]"))
        problems += [error(f"{doc} holds a MeshFederation that generators does not list: kustomize would not "
                           "render it, this plugin would; list it or move it", name, "generators")
                     for doc in sorted(documents - set(generators)) if generators]
    return problems


def in_repository(d: Diagnostic, where: str) -> Diagnostic:
    """A diagnostic whose file is named from the repository root, as the Argo CD UI shows it."""
    if not d.file or d.file.startswith(("<", "/")) or where == ".":
        return d
    return Diagnostic(d.severity, d.message, posixpath.normpath(posixpath.join(where, d.file)), d.path)
