"""The one request path every route takes: documents and values in, objects or diagnostics out.

The CLI, the KRM function, the kustomize exec plugin and the Argo CD plugin only translate their
protocol into a `render` call and its result back; every guarantee lives here or below: the root
rule, the reading limits, option checks, the duplicate-object check, the refusal of an empty
render, and a guard that turns any unexpected exception into an error instead of a traceback.
Nothing here prints.
"""
from __future__ import annotations

import os

from .values.diagnostics import Diagnostic, InputError, concealed, error, failure, has_errors
from .values.meshfederation import Known, Resolver, load_paths
from .values.merge import Layer, Merged, difference, merge_layers
from .values.options import Options
from .pipeline import Rendering, render_layers
from .output.resources import duplicates
from .output.rows import Objects
from .values.source import STDIN_PATH, display, find_root, load_values_file

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing and helmset cost start-up time: for type checkers only
    from typing import Any, Callable, Sequence
    from .values.source import PathArg
    from .values.helmset import Assignment


class Document:
    """A MeshFederation document already parsed (a KRM item, an exec plugin's config): `source`
    names it in messages, relative `spec.base` paths resolve against `base_dir`."""

    __slots__ = ("data", "source", "base_dir")

    def __init__(self, data: dict[str, Any], source: str, base_dir: PathArg) -> None:
        self.data = data
        self.source = source
        self.base_dir = os.fspath(base_dir)


class RenderResult:
    """The objects in output order, and every error and warning found on the way. With
    `render(..., lazy=True)`, `objects` is a one-shot iterator that builds each object when asked;
    `diagnostics` and `ok` are final on return either way (all checks run on the planned objects)."""

    __slots__ = ("objects", "diagnostics", "values")

    def __init__(self, objects: Any = (), diagnostics: list[Diagnostic] | None = None) -> None:
        self.objects = objects
        self.diagnostics = diagnostics or []
        # The values each document rendered with (defaults, bases, Federation, files, --set,
        # patches), by the document's name, with where each value came from: `meshfed values`.
        self.values: list[tuple[str, Merged]] = []

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


def render(
    paths: Sequence[PathArg] = (),
    documents: Sequence[Document] = (),
    values_files: Sequence[PathArg] = (),
    *,
    options: Options | None = None,
    default_namespace: str | None = None,
    root: PathArg | None = None,
    lazy: bool = False,
    assignments: Sequence[Assignment] = (),
    assigned_by: str = "--set",
    federations: Known | None = None,
) -> RenderResult:
    """Render MeshFederation documents (files, directories of them, or parsed `documents`) and
    plain values files, as `meshfed render` does. `options` (flags) beat what each document says;
    `default_namespace` (Argo CD's destination) applies to documents that name none. `root` is
    the directory bases may not leave (see `source.find_root`). `assignments` are Helm's `--set*`
    flags, applied after the values files as helm applies them; messages name them `assigned_by`.
    `federations` keeps the Federation documents (and the parts of them) read, for later calls
    below the same root (`meshfed diff` renders every application of a revision with one: a large
    Federation is read and checked once, not once per application, a mesh's part once for its
    applications). Never raises for any input."""
    sets = _Sets(assignments, assigned_by)
    return _guarded(sets, lambda: _render(paths, documents, _values_layers(values_files), sets, options or Options(),
                                          default_namespace, root, lazy, federations))


def _guarded(sets: _Sets, build: Callable[[], RenderResult]) -> RenderResult:
    """The result `build` returns, or the diagnostics of what it raised; no message shows a
    --set-file file's text."""
    try:
        result = build()
    except Exception as exc:  # InputError, and any other: diagnostics, never a traceback  # noqa: BLE001
        result = RenderResult(diagnostics=failure(exc))
    result.diagnostics = concealed(_unquoted(result.diagnostics, sets.name), sets.files_read)
    return result


def _unquoted(diagnostics: list[Diagnostic], assigned_by: str) -> list[Diagnostic]:
    """A number the `--set*` flags gave as a string has no quotes to remove: it came from
    `--set-string` (or `--set-literal`, `--set-file`, a JSON string), and `--set` types it."""
    from .values.schema import UNQUOTE
    return [Diagnostic(d.severity, d.message[:-len(UNQUOTE)] + ": the flag that set it keeps it a string (as "
                       "--set-string does); set it with --set, which reads a number as a number", d.file, d.path)
            if d.file == assigned_by and d.message.endswith(UNQUOTE) else d for d in diagnostics]


class _Sets:
    """Helm's `--set*` flags as the last values layer of each document; `files_read` holds the
    texts of the --set-file files, which no message may show."""

    def __init__(self, assignments: Sequence[Assignment], name: str) -> None:
        self.assignments, self.name = list(assignments), name
        self.files_read: dict[str, str] = {}

    def __call__(self, layers: list[Layer]) -> list[Layer]:
        if not self.assignments:
            return layers
        from .values.helmset import apply
        before = merge_layers(layers).values
        return [*layers, Layer(self.name, difference(before, apply(before, self.assignments, self.files_read)))]


def _render(paths: Sequence[PathArg], documents: Sequence[Document], extra: list[Layer], sets: _Sets,
            options: Options, default_namespace: str | None, root: PathArg | None, lazy: bool,
            federations: Known | None) -> RenderResult:
    fallback = Options(namespace=default_namespace)
    if not paths and not documents:
        rendering = render_layers(sets(extra), [], options.over(fallback))
        return _result([(rendering, "the values")], [], lazy)
    return _rendered(_read(paths, documents, _resolver(paths, root, federations)), extra, sets, options, fallback,
                     lazy)


def _rendered(feds: list[Any], extra: list[Layer], sets: _Sets, options: Options, fallback: Options,
              lazy: bool) -> RenderResult:
    """The documents read (`_read`) rendered, each with the options in effect for it."""
    renderings = []
    problems: list[Diagnostic] = []
    for fed in feds:
        problems += fed.diagnostics
        opts = options.over(fed.options).over(fallback)
        layers, why = fed.values_layers(opts)
        problems += why
        if layers is None:  # a Federation it names cannot be derived from: its errors say why
            continue
        rendering = render_layers(sets(layers + extra), fed.patches, opts)
        # A problem of the whole document ("nothing to render") names the document.
        rendering.diagnostics = [d if d.file else Diagnostic(d.severity, d.message, fed.source, d.path)
                                 for d in rendering.diagnostics]
        renderings.append((rendering, fed.source))
    return _result(renderings, problems, lazy)


def _read(paths: Sequence[PathArg], documents: Sequence[Document], resolver: Resolver) -> list[Any]:
    """The documents, their bases resolved (and the Federations they name, kept in the resolver's
    `Known`)."""
    feds = load_paths(list(paths), resolver) if paths else []
    return feds + [resolver.federation(d.data, d.source, d.base_dir) for d in documents]


def _resolver(paths: Sequence[PathArg], root: PathArg | None, federations: Known | None) -> Resolver:
    return Resolver(find_root(root, paths), known=federations)


class Inputs:
    """The documents of one render, read once (`read_inputs`): the parts of Federations they read
    that are stale, a digest of what they render from, and their render all come from that one
    read (`meshfed diff` digests every application at both revisions, then renders the ones it
    must from what the digest read)."""

    __slots__ = ("_feds", "_failure", "_resolver", "_stale")

    def __init__(self, feds: list[Any], resolver: Resolver | None, failure: Exception | None = None) -> None:
        self._feds = feds
        self._resolver = resolver
        self._failure = failure  # what reading raised: the render's to report
        self._stale: list[Diagnostic] | None = None

    def stale(self) -> list[Diagnostic]:
        """An error for each document that reads a part of a Federation (`spec.federation.part`)
        other than the one the Federation gives now: a render reads only the part, so only this
        finds one left behind (`meshfed diff` asks it at the head revision). A document that
        cannot be read is the render's to report. Never raises."""
        if self._stale is None:
            try:
                resolver = self._resolver
                self._stale = [d for fed in self._feds for d in resolver.stale(fed)] if resolver else []
            except Exception:  # noqa: BLE001 - whatever the input holds, a render reports it
                self._stale = []
        return self._stale

    def digest(self, fresh: bool = False) -> str | None:
        """A digest of everything the render reads: each document's source and options, its values
        layers in order (the file and field each names, its data, and for values derived from a
        Federation the field each value came from) and its patches. A render is a function of
        these alone, so two revisions with one digest render the same objects and the same
        messages (`meshfed diff` renders only the applications whose digest differs). None when
        the documents cannot be read without a problem: then only a render says what it is; with
        `fresh`, also when a document reads a part that `stale` finds stale."""
        import hashlib

        if self._failure is not None or (fresh and self.stale()):
            return None
        try:
            parts: list[Any] = []
            for fed in self._feds:
                layers, why = fed.values_layers(fed.options)
                if fed.diagnostics or why or layers is None:
                    return None
                parts.append((fed.source, [getattr(fed.options, dest) for dest in fed.options.__slots__],
                              [(layer.name, layer.prefix, layer.via, layer.data,
                                list(getattr(layer, "fields", {}).items())) for layer in layers],
                              [(patch.source, patch.index, patch.op) for patch in fed.patches]))
            # repr, not marshal: marshal's bytes depend on which objects are shared, repr's only on the values.
            return hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass")).hexdigest() if parts else None
        except Exception:  # noqa: BLE001 - whatever the input holds, a render reports it
            return None

    def render(self, lazy: bool = False) -> RenderResult:
        """What `render(paths, documents, root=root, federations=federations, lazy=lazy)` returns."""
        sets = _Sets((), "--set")
        return _guarded(sets, lambda: _rendered(self._read(), [], sets, Options(), Options(), lazy))

    def _read(self) -> list[Any]:
        if self._failure is not None:
            raise self._failure
        return self._feds


def read_inputs(paths: Sequence[PathArg] = (), documents: Sequence[Document] = (), *, root: PathArg | None = None,
                federations: Known | None = None) -> Inputs:
    """The MeshFederation documents `render(paths, documents, root=root, federations=federations)`
    renders (at least one path or document), read once for their digest, staleness and render.
    Never raises: what reading raised, the render reports."""
    try:
        resolver = _resolver(paths, root, federations)
        return Inputs(_read(paths, documents, resolver), resolver)
    except Exception as exc:  # noqa: BLE001 - whatever the input holds, a render reports it
        return Inputs([], None, exc)


def declared_options(directory: PathArg, root: PathArg | None = None) -> list[Options]:
    """The options each MeshFederation document in `directory` declares (a Federation it names
    gives its layout), for Argo CD's parameter announcement. Raises InputError."""
    resolver = Resolver(find_root(root))
    return [fed.options for fed in load_paths([directory], resolver)]


def _values_layers(values_files: Sequence[PathArg]) -> list[Layer]:
    values_files = [os.fspath(f) for f in values_files]
    if values_files.count(STDIN_PATH) > 1:
        raise InputError([error("-f - (standard input) may be given once")])
    layers, problems = [], []
    for f in values_files:
        name = "<stdin>" if f == STDIN_PATH else display(f)
        try:
            layers.append(Layer(name, load_values_file(f, name)))
        except InputError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise InputError(problems)
    return layers


def _result(renderings: list[tuple[Rendering, str]], problems: list[Diagnostic], lazy: bool) -> RenderResult:
    diagnostics = list(problems)
    for rendering, _ in renderings:
        diagnostics += rendering.diagnostics
    # Documents that name one Federation each report its problems: once is enough.
    result = RenderResult(diagnostics=list(dict.fromkeys(diagnostics)))
    result.values = [(source, rendering.merged) for rendering, source in renderings if rendering.merged is not None]
    result.diagnostics += duplicates(
        ((p.api_version.rpartition("/")[0], p.kind, p.namespace or "", name), source)
        for rendering, source in renderings if len(renderings) > 1 or not rendering.distinct  # else none twice
        for p, name in zip(rendering.planned, rendering.names))
    if result.ok:
        objects = _objects([r for r, _ in renderings])
        result.objects = objects if lazy else list(objects)
    return result


def _objects(renderings: list[Rendering]) -> Objects:
    return Objects([(r.planned, r.names) for r in renderings])
