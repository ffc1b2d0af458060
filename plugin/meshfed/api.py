"""The core's public face: what the adapters (CLI, KRM, Argo CD, kustomize plugin) call.

Every function is pure with respect to stdout/stderr: results and diagnostics are returned,
adapters decide how to print them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .diagnostics import Diagnostic, InputError, error, has_errors
from .document import Federation, Resolver, display, find_root, load_paths
from .merge import Layer
from .pipeline import Options, Rendering, render_layers
from .yamlio import load_values_file


@dataclass
class RenderResult:
    """The emitted objects in output order, and every error/warning found on the way."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


def _values_layers(values_files: Sequence[Path]) -> list[Layer]:
    layers, problems = [], []
    for f in values_files:
        try:
            layers.append(Layer(display(f), load_values_file(f, display(f))))
        except InputError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise InputError(problems)
    return layers


def _render_federations(feds: list[Federation], extra: list[Layer], opts: Options) -> RenderResult:
    result = RenderResult()
    owners: dict[tuple, str] = {}
    for fed in feds:
        result.diagnostics += fed.diagnostics
        rendering = render_layers(fed.layers + extra, fed.patches, Options(
            scope=opts.scope or fed.scope,
            namespace=opts.namespace or fed.namespace,
            layout=opts.layout or fed.layout,
        ))
        result.diagnostics += rendering.diagnostics
        if not has_errors(fed.diagnostics):
            _collect(result, rendering, fed.source, owners)
    return result


def _collect(result: RenderResult, rendering: Rendering, source: str, owners: dict[tuple, str]) -> None:
    """Append a document's objects; the same object from two documents is an error."""
    for obj in rendering.objects():
        meta = obj["metadata"]
        key = (obj["apiVersion"].rpartition("/")[0], obj["kind"], meta.get("namespace"), meta["name"])
        if key in owners:
            ns = f"{key[2]}/" if key[2] else ""
            result.diagnostics.append(error(
                f"{obj['kind']} {ns}{key[3]} is also rendered by {owners[key]}: two documents may not emit the "
                "same object", source))
            continue
        owners[key] = source
        result.objects.append(obj)


def render_paths(
    paths: Sequence[Path],
    values_files: Sequence[Path] = (),
    *,
    scope: str | None = None,
    namespace: str | None = None,
    layout: str | None = None,
    root: Path | None = None,
) -> RenderResult:
    """Render MeshFederation documents (files, or directories holding them) and/or plain values
    files, as `meshfed render` does. `root` limits where `base` paths may point (default: the
    enclosing git work tree of each document, else the working directory or its directory)."""
    opts = Options(scope, namespace, layout)
    try:
        extra = _values_layers(values_files)
        if not paths:
            rendering = render_layers(extra, [], opts)
            result = RenderResult(diagnostics=list(rendering.diagnostics))
            if not has_errors(rendering.diagnostics):
                result.objects = list(rendering.objects())
            return result
        feds = load_paths(list(paths), root)
    except InputError as exc:
        return RenderResult(diagnostics=exc.diagnostics)
    return _render_federations(feds, extra, opts)


def render_document(
    document: dict[str, Any],
    *,
    source: str,
    base_dir: Path,
    root: Path | None = None,
    scope: str | None = None,
    namespace: str | None = None,
    layout: str | None = None,
) -> RenderResult:
    """Render one MeshFederation document already parsed (a KRM functionConfig or item, an exec
    plugin's config). `source` names it in diagnostics; relative `base` paths resolve against
    `base_dir`."""
    try:
        fed = Resolver(root if root is not None else find_root(base_dir)).federation(document, source, base_dir)
    except InputError as exc:
        return RenderResult(diagnostics=exc.diagnostics)
    return _render_federations([fed], [], Options(scope, namespace, layout))


def load_federations(paths: Sequence[Path], root: Path | None = None) -> list[Federation]:
    """The MeshFederation documents below files/directories, bases resolved (for cross-cluster
    checks). Raises InputError when they cannot be read."""
    return load_paths(list(paths), root)
