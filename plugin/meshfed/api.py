"""The core's public face: what the adapters (CLI, KRM, Argo CD, kustomize plugin) call.

Every function is pure with respect to stdout/stderr: results and diagnostics are returned,
adapters decide how to print them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from .diagnostics import Diagnostic, InputError, error, has_errors
from .document import Federation, Resolver, display, find_root, load_paths
from .merge import Layer
from .pipeline import Options, Rendering, render_layers
from .yamlio import load_values_file


@dataclass
class RenderResult:
    """The emitted objects in output order, and every error/warning found on the way. (With
    `render_paths(..., lazy=True)`, `objects` is a one-shot iterator instead of a list.)"""

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


def _render_federations(feds: list[Federation], extra: list[Layer], opts: Options, lazy: bool = False) -> RenderResult:
    result = RenderResult()
    owners: dict[tuple, str] = {}
    renderings: list[tuple[Rendering, set[int]]] = []
    for fed in feds:
        result.diagnostics += fed.diagnostics
        rendering = render_layers(fed.layers + extra, fed.patches, Options(
            scope=opts.scope or fed.scope,
            namespace=opts.namespace or fed.namespace,
            layout=opts.layout or fed.layout,
        ))
        result.diagnostics += rendering.diagnostics
        if not has_errors(fed.diagnostics):
            renderings.append((rendering, _claim(result, rendering, fed.source, owners)))
    objects = _objects(renderings)
    result.objects = objects if lazy else list(objects)  # type: ignore[assignment]
    return result


def _claim(result: RenderResult, rendering: Rendering, source: str, owners: dict[tuple, str]) -> set[int]:
    """Record a document's objects by identity, before any is built; the same object from two
    documents is an error. Returns the positions of the objects to leave out."""
    skip: set[int] = set()
    for i, (plan, name) in enumerate(zip(rendering.planned, rendering.names)):
        key = (plan.api_version.rpartition("/")[0], plan.kind, plan.namespace, name)
        if key in owners:
            ns = f"{key[2]}/" if key[2] else ""
            result.diagnostics.append(error(
                f"{plan.kind} {ns}{key[3]} is also rendered by {owners[key]}: two documents may not emit the "
                "same object", source))
            skip.add(i)
            continue
        owners[key] = source
    return skip


def _objects(renderings: list[tuple[Rendering, set[int]]]) -> Iterator[dict[str, Any]]:
    for rendering, skip in renderings:
        if not skip:
            yield from rendering.objects()
            continue
        for i, obj in enumerate(rendering.objects()):
            if i not in skip:
                yield obj


def render_paths(
    paths: Sequence[Path],
    values_files: Sequence[Path] = (),
    *,
    scope: str | None = None,
    namespace: str | None = None,
    layout: str | None = None,
    root: Path | None = None,
    lazy: bool = False,
) -> RenderResult:
    """Render MeshFederation documents (files, or directories holding them) and/or plain values
    files, as `meshfed render` does. `root` limits where `base` paths may point (default: the
    enclosing git work tree of each document, else the working directory or its directory).

    With `lazy`, `objects` is an iterator that builds each object when it is asked for, so that
    a caller can write them as they come without holding them all. Every diagnostic is known
    before the first object is built (validation, checks and the duplicate-object check all work
    on the planned objects), so `ok` and `diagnostics` are final on return either way."""
    opts = Options(scope, namespace, layout)
    try:
        extra = _values_layers(values_files)
        if not paths:
            rendering = render_layers(extra, [], opts)
            result = RenderResult(diagnostics=list(rendering.diagnostics))
            if not has_errors(rendering.diagnostics):
                objects = rendering.objects()
                result.objects = objects if lazy else list(objects)  # type: ignore[assignment]
            return result
        feds = load_paths(list(paths), root)
    except InputError as exc:
        return RenderResult(diagnostics=exc.diagnostics)
    return _render_federations(feds, extra, opts, lazy)


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
