"""A whole federation repository read at once: its MeshFederation documents, the clusters they
belong to, and each document rendered by the core (`pipeline.render_layers`) with its merged
values and their provenance.

See the package docstring for the rules (which documents count, how they are grouped).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable

from ..values.checks import MESH, NAMESPACE
from ..values.diagnostics import Diagnostic, InputError, did_you_mean, error, has_errors, warning
from ..values.meshfederation import Derivation, MeshFederation, Resolver, is_meshfederation, read_documents
from ..values.federation_spec import DerivedLayer, is_federation_spec
from .applications import application_documents, exporting_meshes, idle_mesh_tier
from ..values.merge import Layer, Merged, Path_, format_path
from ..values.model import Entry, Port, Values
from ..values.options import Options
from ..pipeline import Rendering, infer_scope, render_layers
from ..output.resources import strip_bookkeeping
from ..output.rows import Planned
from ..values.source import DOCUMENT_SUFFIXES, display, find_root, inside, read_file, within
from ..values.yamlio import parse_all

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..values.source import PathArg


# --------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Keep:
    """What a load keeps of each document's render besides its typed values: its objects of
    `kinds` (all when None), and of `beside_rules` too when rules lie beside the documents
    (`Repo.rules`, which a view compares them with); with `provenance`, where each value came
    from (`Doc.at`); with `merged`, the merged values the typed ones were cleaned from
    (`Doc.merged`). A large federation renders 100,000s of objects and values: each view keeps
    only what it looks at. With `take`, a document's render is reduced to what `take` returns
    (`Doc.taken`; `shared` is one dict per load, for what documents have in common) as soon as
    it is rendered, and its values and objects are let go: the load then holds one render at a
    time, not every document's. Without `inputs`, a document is rendered as soon as it is read
    (when no other document builds on it) and lets go of what its render read (`Doc.fed` keeps
    its name and options only): the load holds one part of a Federation at a time, not every
    mesh's. With `stale`, each document that reads a part is checked against its Federation,
    read whole (`Doc.stale`), before its part is let go."""

    kinds: frozenset[str] | None = None
    provenance: bool = True
    merged: bool = True
    beside_rules: frozenset[str] = frozenset()
    take: Callable[[Doc, dict[Any, Any]], object] | None = None
    inputs: bool = True
    stale: bool = False

    def given(self, rules: list[ForeignRule]) -> Keep:
        """What to keep with these rules found beside the documents."""
        if self.kinds is None or not rules or self.beside_rules <= self.kinds:
            return self
        return replace(self, kinds=self.kinds | self.beside_rules, beside_rules=frozenset())


EVERYTHING = Keep()


@dataclass(frozen=True)
class MeshDecl:
    """A `spec.mesh` (this cluster's identity) and the file that holds it; `field` locates it
    there (`spec.meshes[2]` when a Federation declares it)."""

    name: str
    network: str
    file: str
    field: str = "spec.mesh"


@dataclass
class Source:
    """A MeshFederation document found on disk (or in a ResourceList), before resolution."""

    doc: dict[str, Any]  # emptied once resolved (`_resolve`)
    source: str  # how messages name it
    file: Path | None  # resolved path of its file, when known
    base_dir: Path  # where its relative `spec.base` entries resolve
    index: int  # position in its file
    top: Path  # the directory given on the command line it was found under
    root: PathArg  # the directory its bases may not leave (a `Root`, from `scan`: messages name its rule)
    ref: dict[str, Any] | None = None  # KRM resourceRef
    cluster: str | None = None  # the cluster a document derived from a Federation belongs to
    layers: list[Layer] | None = None  # its values, when they come from elsewhere (an Argo CD Application)


class Derived:
    """What the load and its views ask, after a document's render, of the Federation (or part of
    one) it derives from: the Federation's file and the document's mesh (which applications of a
    Federation found documents already render), each mesh's locality as the Federation says it
    (shared by the documents read from one Federation or part), and whether the mesh's tier is
    idle (`applications.idle_mesh_tiers`). Kept instead of the Federation, so that a load can let
    each part go once its documents are rendered."""

    __slots__ = ("file", "mesh", "localities", "idle")

    def __init__(self, file: str | None, mesh: str, localities: dict[str, str | None], idle: bool) -> None:
        self.file = file
        self.mesh = mesh
        self.localities = localities
        self.idle = idle


@dataclass
class Doc:
    """One document: resolved, grouped, and (when it is a member) rendered."""

    src: Source
    fed: MeshFederation | None
    problems: list[Diagnostic]
    own_mesh: MeshDecl | None
    mesh: MeshDecl | None  # its own spec.mesh, else the one its bases give
    chain: list[Path]  # the files of its bases, transitively
    tiers: frozenset[str] = frozenset()
    layout: str | None = None
    rendering: Rendering | None = None
    merged: Merged | None = None
    provenance: Merged | None = None  # where each merged value came from (`merged` itself when kept)
    values: Values | None = None
    cluster: "Cluster | None" = None
    derived: Derived | None = None  # what the load asks of the Federation it derives from, once rendered
    stale: list[Diagnostic] = field(default_factory=list)  # its part is not the one its Federation gives (`Keep.stale`)
    keep: Keep = EVERYTHING  # what was kept of its render
    taken: object = None  # what `keep.take` took of its render (its values and objects then let go)
    _built: list[tuple[Planned, str, dict[str, Any]]] | None = field(default=None, repr=False)

    @property
    def source(self) -> str:
        return self.src.source

    @property
    def ok(self) -> bool:
        """Rendered without error: its values and objects (or what was taken of them) can be used."""
        return (self.values is not None or self.taken is not None) and not has_errors(self.problems)

    @property
    def namespace(self) -> str | None:
        return self.fed.options.namespace if self.fed is not None else None

    @property
    def label(self) -> str:
        """How a namespace-tier document is named in graphs: its namespace, else its name."""
        if self.namespace:
            return self.namespace
        name = self.fed.name if self.fed is not None else None
        return name or Path(self.source).stem

    def at(self, path: Path_) -> tuple[str, str]:
        """(file, field path) of the value at `path` of the merged values, as written."""
        if not self.keep.provenance:
            raise ValueError(f"{self.source}: where its values came from was not kept")
        layer = self.provenance.origin(path) if self.provenance is not None else None
        if layer is None:
            return self.source, f"spec.values.{format_path(path)}" if path else "spec.values"
        return layer.name, layer.locate(path)

    def objects(self) -> list[tuple[Planned, str, dict[str, Any]]]:
        """The rendered objects: (planned row, final name, object); only for a document that
        kept all of them (`Keep.kinds`)."""
        if self.keep.kinds is not None:
            raise ValueError(f"{self.source}: only its {', '.join(sorted(self.keep.kinds))} objects were kept")
        return self._objects()

    def _objects(self) -> list[tuple[Planned, str, dict[str, Any]]]:
        if self._built is None:
            r = self.rendering
            self._built = [] if r is None else [
                (p, n, p.build(n)) for p, n in zip(r.planned, r.names)]
        return self._built

    def find(self, kind: str, identity: str | None = None, api: str | None = None,
             prefix: str | None = None) -> list[tuple[Planned, str, dict[str, Any]]]:
        """Rendered objects of one kind, by row identity (exact or by prefix) and apiVersion."""
        if self.keep.kinds is not None and kind not in self.keep.kinds:
            raise ValueError(f"{self.source}: its {kind} objects were not kept")
        return [(p, n, o) for p, n, o in self._objects()
                if p.kind == kind and (api is None or p.api_version == api)
                and (identity is None or p.identity == identity)
                and (prefix is None or p.identity.startswith(prefix))]


@dataclass
class Cluster:
    """A mesh: its mesh-tier document and the namespace-tier documents grouped with it."""

    mesh: str
    network: str
    decl: MeshDecl
    name: str = ""
    hint: str | None = None  # the cluster's name when a Federation gives it
    directory: Path | None = None
    mesh_docs: list[Doc] = field(default_factory=list)
    ns_docs: list[Doc] = field(default_factory=list)

    @property
    def mesh_doc(self) -> Doc | None:
        return self.mesh_docs[0] if self.mesh_docs else None

    @property
    def docs(self) -> list[Doc]:
        return [*self.mesh_docs, *(d for d in self.ns_docs if d not in self.mesh_docs)]

    @property
    def readable(self) -> bool:
        """Every document of the cluster rendered: what it exports is known."""
        return bool(self.mesh_docs) and all(d.ok for d in self.docs)

    @property
    def label(self) -> str:
        """`west (overlays/west/mesh/mesh.yaml)`."""
        doc = self.mesh_doc
        return f"{self.name} ({doc.source})" if doc is not None else f"{self.name} ({self.decl.file})"

    def exporters(self, host: str) -> list[tuple[Doc, Entry]]:
        """The namespace documents exporting `host`, with their export entry."""
        return [(d, e) for d in self.ns_docs if d.ok for e in d.values.exports if e.hostname == host]

    def local_export(self, host: str) -> Entry | None:
        doc = self.mesh_doc
        if doc is None or not doc.ok:
            return None
        return next((e for e in doc.values.local_exports if e.hostname == host), None)


def federation_localities(docs: Iterable[Doc]) -> dict[str | None, str | None]:
    """Each mesh's locality as the Federations (or parts of one) the documents derive from say
    it: the first that lists the mesh, in the documents' order. Each Federation read is asked
    once, however many documents share it: with per-application parts, asking every document for
    every mesh would cost documents times meshes."""
    said: dict[str | None, str | None] = {}
    seen: set[int] = set()
    for d in docs:
        if d.derived is not None and id(d.derived.localities) not in seen:
            seen.add(id(d.derived.localities))
            for mesh, locality in d.derived.localities.items():
                said.setdefault(mesh, locality)
    return said


@dataclass
class Repo:
    docs: list[Doc]  # the member documents, in discovery order
    clusters: list[Cluster]  # sorted by name
    diagnostics: list[Diagnostic]  # reading, rendering and grouping problems
    owners: dict[Diagnostic, Doc] = field(default_factory=dict)
    tops: list[Path] = field(default_factory=list)
    rules: list[ForeignRule] = field(default_factory=list)  # DestinationRules, AuthorizationPolicies beside the documents
    unexpanded: list[str] = field(default_factory=list)  # Federations found whose errors hide their applications
    _by_mesh: dict[str, Cluster] | None = field(default=None, repr=False)
    _localities: tuple[dict[str | None, str | None], dict[str | None, str]] | None = field(default=None, repr=False)

    def cluster_of_mesh(self, mesh: str | None) -> Cluster | None:
        if self._by_mesh is None:
            self._by_mesh = {c.mesh: c for c in self.clusters}
        return self._by_mesh.get(mesh)  # type: ignore[arg-type]

    def cluster_of_network(self, network: str | None) -> Cluster | None:
        """The first cluster (by name) declaring `network` with a mesh-tier document."""
        return next((c for c in self.clusters if c.network == network and c.mesh_docs), None)

    def locality(self, mesh: str | None) -> str | None:
        """A mesh's locality (the caller's locality for failover's nearest): what the Federation
        says of it, else how the other clusters list it in their remotes."""
        if self._localities is None:
            self._localities = self._known_localities()
        said, listed = self._localities
        return said[mesh] if mesh in said else listed.get(mesh)

    def _known_localities(self) -> tuple[dict[str | None, str | None], dict[str | None, str]]:
        """Every mesh's locality, found once: what the Federations say (`federation_localities`),
        else the first remote entry that gives one."""
        said = federation_localities(self.docs)
        listed: dict[str | None, str] = {}
        for d in self.docs:
            if d.ok:
                for r in d.values.remotes:
                    if r.locality is not None:
                        listed.setdefault(r.mesh, r.locality)
        return said, listed

    def note(self, out: list[Diagnostic], doc: Doc | None, d: Diagnostic) -> None:
        out.append(d)
        if doc is not None:
            self.owners.setdefault(d, doc)

    def load_errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def find_cluster(self, name: str) -> Cluster:
        """A cluster by mesh name or by directory name; InputError when unknown or ambiguous."""
        found = [c for c in self.clusters if c.mesh == name]
        if not found:
            found = [c for c in self.clusters if name in (c.name, c.directory.name if c.directory else None)]
        if len(found) == 1:
            return found[0]
        known = ", ".join(f"{c.name} (mesh {c.mesh})" for c in self.clusters) or "none"
        why = "is ambiguous" if found else "is not a cluster of this repository"
        names = {n for c in self.clusters for n in (c.name, c.mesh)}
        raise InputError([error(f"cluster {name} {why}: the clusters are {known}"
                                f"{'' if found else did_you_mean(name, names)}")])


# --------------------------------------------------------------------------------------------
# Small helpers


def ports_text(ports: Iterable[Port]) -> str:
    """`9080/HTTP, 9443/HTTPS`."""
    return ", ".join(f"{p.number}/{p.protocol}" for p in ports) or "none"


def port_key(ports: Iterable[Port]) -> tuple[tuple[int, str], ...]:
    """What must agree between an importer and an exporter: numbers and protocols."""
    return tuple(sorted({(p.number, p.protocol.upper()) for p in ports}))


def _spec(doc: Any) -> dict[str, Any]:
    spec = doc.get("spec") if isinstance(doc, dict) else None
    return spec if isinstance(spec, dict) else {}


def _own_mesh(doc: dict[str, Any], source: str) -> MeshDecl | None:
    mesh = _spec(doc).get("mesh")
    if isinstance(mesh, dict) and isinstance(mesh.get("name"), str) and isinstance(mesh.get("network"), str):
        return MeshDecl(mesh["name"], mesh["network"], source)
    return None


def _inside(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


def _hidden(name: str) -> bool:
    return name.startswith(".")


# --------------------------------------------------------------------------------------------
# Finding the documents


class FoundFederation:
    """A Federation document found by `scan`: `real` is its resolved file."""

    def __init__(self, doc: dict[str, Any], name: str, real: Path, top: Path, root: PathArg) -> None:
        self.doc, self.name, self.real, self.top, self.root = doc, name, real, top, root


@dataclass
class ForeignRule:
    """An Istio DestinationRule or AuthorizationPolicy found among the files (a kustomization's
    resource, say): `check` reports one for a host meshfed already emits a DestinationRule for,
    and one that binds to exported workloads mesh-wide or namespace-wide."""

    doc: dict[str, Any]
    source: str
    index: int
    directory: Path


def scan(paths: list[Path], root: Path | None,
         rules: list[ForeignRule] | None = None) -> tuple[list[Source], list[FoundFederation], list[Diagnostic]]:
    """Every MeshFederation and Federation document below the given directories (recursively;
    hidden directories skipped) or in the given files. YAML files of other kinds are skipped
    (DestinationRules are kept in `rules` when given); a file that cannot be parsed is reported
    only when it mentions MeshFederation or Federation."""
    sources: list[Source] = []
    federations: list[FoundFederation] = []
    problems: list[Diagnostic] = []
    seen: set[tuple[Path, int]] = set()
    chosen_root = find_root(root, paths)  # a path that names its rule in messages
    for path in paths:
        if not path.exists():
            problems.append(error("no such file or directory", display(path)))
            continue
        if path.is_dir():
            top = path.resolve()
            files = []
            for here, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not _hidden(d))
                files += [Path(here) / n for n in sorted(names)
                          if n.endswith(DOCUMENT_SUFFIXES) and not _hidden(n)]
        else:
            top = path.resolve().parent
            files = [path]
        found, before = 0, len(problems)
        for f in files:
            name = display(f)
            try:
                if f is not path:  # found by the walk, not named: confined like a directory's files
                    within(f, path, chosen_root)
                docs = read_documents(f, name)
            except InputError as exc:
                problems.extend(exc.diagnostics)
                continue
            real = f.resolve()
            for i, doc in enumerate(docs):
                if rules is not None and (_is_destination_rule(doc) or _is_authorization_policy(doc)) \
                        and (real, i) not in seen:
                    seen.add((real, i))
                    rules.append(ForeignRule(doc, name, i, real.parent))
                if (real, i) in seen or not (is_meshfederation(doc) or is_federation_spec(doc)):
                    continue
                seen.add((real, i))
                found += 1
                if is_federation_spec(doc):
                    federations.append(FoundFederation(doc, name, real, top, chosen_root))
                else:
                    sources.append(Source(doc, name, real, f.parent, i, top, chosen_root))
        if not found and path.is_dir():
            problems.append(error("no MeshFederation or Federation documents below this directory", display(path)))
        elif not found and len(problems) == before:
            problems.append(error("no MeshFederation or Federation document in this file", display(path)))
    return sources, federations, problems


def _is_destination_rule(doc: Any) -> bool:
    return (isinstance(doc, dict) and doc.get("kind") == "DestinationRule"
            and str(doc.get("apiVersion", "")).startswith("networking.istio.io/")
            and isinstance(doc.get("spec"), dict))


def _is_authorization_policy(doc: Any) -> bool:
    return (isinstance(doc, dict) and doc.get("kind") == "AuthorizationPolicy"
            and str(doc.get("apiVersion", "")).startswith("security.istio.io/")
            and isinstance(doc.get("spec"), dict))


def _expand(found: FoundFederation, chains: _Chains, covered: set[tuple[Any, ...]],
            problems: list[Diagnostic], unexpanded: list[str]) -> list[Source]:
    """The documents a Federation found stands for (`applications.application_documents`),
    except the applications that documents found already render (`covered`: (Federation file,
    mesh, tier, namespace)). A Federation no document names reports its own problems here."""
    resolver = chains.resolver(found.root)
    spec = resolver.specs.get(str(found.real))
    if spec is None:
        spec = resolver.specs[str(found.real)] = resolver.read_spec(found.doc, found.name, found.real)
        problems.extend(spec.diagnostics)
    if has_errors(spec.diagnostics):
        unexpanded.append(found.name)
        return []
    out = []
    for app, doc in application_documents(spec, found.real.name):
        tier = doc["spec"]["scope"]
        key = (str(found.real), doc["spec"]["federation"]["mesh"], tier,
               doc["metadata"].get("namespace") if tier == NAMESPACE else None)
        if key not in covered:
            out.append(Source(doc, f"{found.name} ({app})", None, found.real.parent, 0, found.top, found.root,
                              cluster=app.partition("/")[0]))
    return out


def _covered(docs: list[Doc]) -> set[tuple[Any, ...]]:
    """The applications of Federations that documents render: (Federation file, mesh, tier, namespace)."""
    out: set[tuple[Any, ...]] = set()
    for d in docs:
        if d.derived is not None:
            for tier in d.tiers:
                out.add((d.derived.file, d.derived.mesh, tier, d.namespace if tier == NAMESPACE else None))
    return out


class _Chains:
    """Follows `spec.base` to find a document's base files and inherited `spec.mesh` (the
    Resolver does the real resolution and reports its problems; this walk only looks)."""

    def __init__(self) -> None:
        self.cache: dict[Path, Any] = {}
        self.resolvers: dict[PathArg, Resolver] = {}  # one per root, so each base file is read once
        # The Federation (or part) the last document derived from, with what `derived` found of
        # it: a mesh's documents, which share one, are read one after another.
        self._last: tuple[object, dict[str, str | None], set[str], dict[str, bool]] | None = None

    def derived(self, derivation: Derivation) -> Derived:
        """What the load asks of the Federation a document derives from (`Derived`), found once
        for the documents that share it."""
        spec, mesh = derivation.spec, derivation.mesh
        if self._last is None or self._last[0] is not spec:
            localities: dict[str, str | None] = {}
            for m in spec.meshes:
                localities.setdefault(m.name, m.locality)
            self._last = (spec, localities, exporting_meshes(spec), {})
        _, localities, exporting, idle = self._last
        if mesh.name not in idle:
            idle[mesh.name] = idle_mesh_tier(spec, mesh, exporting)
        return Derived(spec.file, mesh.name, localities, idle[mesh.name])

    def resolver(self, root: PathArg) -> Resolver:
        return self.resolvers.setdefault(root, Resolver(root))

    def _load(self, real: Path, name: str) -> Any:
        if real not in self.cache:
            try:
                docs = [d for d in parse_all(read_file(real, name), name) if d is not None]
                self.cache[real] = docs[0] if len(docs) == 1 else None
            except InputError:
                self.cache[real] = None
        return self.cache[real]

    def walk(self, doc: dict[str, Any], source: str, base_dir: Path, root: PathArg,
             stack: tuple[Path, ...]) -> tuple[list[Path], MeshDecl | None]:
        files: list[Path] = []
        inherited: MeshDecl | None = None
        bases = _spec(doc).get("base")
        for entry in bases if isinstance(bases, list) else ():
            if not isinstance(entry, str) or not entry:
                continue
            target = base_dir / entry
            try:
                real = target.resolve()
            except (OSError, RuntimeError, ValueError):
                continue
            if not inside(real, root) or real in stack:
                continue
            files.append(real)
            base = self._load(real, display(target))
            if is_meshfederation(base):
                sub_files, sub_mesh = self.walk(base, display(target), real.parent, root, (*stack, real))
                files += sub_files
                inherited = sub_mesh or inherited  # a later base wins, like values do
        return files, _own_mesh(doc, source) or inherited


def _tiers(doc: dict[str, Any], fed: MeshFederation | None) -> frozenset[str]:
    """The tiers a document renders: spec.scope, else inferred as the core does (2.4)."""
    scope = fed.options.scope if fed is not None else _spec(doc).get("scope")
    if scope not in (MESH, NAMESPACE, "all"):
        if fed is not None:
            layers = fed.values_layers(fed.options)[0] or []
        else:
            raw = _spec(doc).get("values")
            layers = [Layer("", raw if isinstance(raw, dict) else {})]
        scope = infer_scope(layers)
    return frozenset({MESH, NAMESPACE}) if scope == "all" else frozenset({scope})


def _walked(src: Source, chains: _Chains) -> tuple[dict[str, Any], list[Path], MeshDecl | None]:
    """The document without kustomize's bookkeeping, its bases' files and the mesh they give."""
    doc = strip_bookkeeping(src.doc)
    files, mesh = chains.walk(doc, src.source, src.base_dir, src.root, (src.file,) if src.file else ())
    return doc, files, mesh


def _resolve(src: Source, chains: _Chains, walked: tuple[dict[str, Any], list[Path], MeshDecl | None]) -> Doc:
    doc, files, mesh = walked
    try:
        fed = chains.resolver(src.root).federation(doc, src.source, src.base_dir, src.index, src.file)
        problems = list(fed.diagnostics)
    except InputError as exc:
        fed, problems = None, list(exc.diagnostics)
    if fed is not None and src.layers is not None:
        fed.layers = list(src.layers)
    own = _own_mesh(doc, src.source)
    derived = None
    if fed is not None and isinstance(fed.derivation, Derivation):
        m = fed.derivation.mesh
        own = MeshDecl(m.name, m.network, fed.derivation.spec.source, m.field)
        src.cluster = src.cluster or m.cluster  # the Federation names the cluster
        derived = chains.derived(fed.derivation)
    src.doc = {}  # read: what the views need of it is in `fed` (thousands of documents are loaded at once)
    return Doc(src, fed, problems, own, own or mesh, files, _tiers(doc, fed), derived=derived)


def _render(doc: Doc, keep: Keep, shared: dict[Any, Any]) -> None:
    """Render a member with the core, and keep its typed values for the cross-cluster views and
    what `keep` asks: its merged values with their provenance, its planned objects."""
    doc.keep = keep
    fed = doc.fed
    if fed is None or has_errors(doc.problems):
        return
    # An application derived from a Federation (scaffolded, or one a Federation found stands for)
    # must render, as on every route. Other documents may be identities and bases their namespace
    # documents reuse: whether they are synced is not known here.
    derived = isinstance(fed.derivation, Derivation)
    opts = fed.options if derived else Options(allow_empty=True).over(fed.options)
    layers, why = fed.values_layers(opts)
    doc.problems += why
    if layers is None:
        return
    rendering = render_layers(layers, fed.patches, opts)
    if keep.kinds is not None:
        kept = [i for i, p in enumerate(rendering.planned) if p.kind in keep.kinds]
        rendering.planned = [rendering.planned[i] for i in kept]
        rendering.names = [rendering.names[i] for i in kept]
    merged, rendering.merged = rendering.merged, None  # kept (or not) below, as `keep` says
    doc.rendering = rendering
    doc.problems += [d if d.file else Diagnostic(d.severity, d.message, doc.source, d.path)
                     for d in rendering.diagnostics if d.severity == "error"]
    if has_errors(doc.problems):
        if keep.take is not None:
            doc.rendering = None
        return
    doc.layout, doc.values = rendering.layout, rendering.values
    if merged is not None and keep.merged:
        doc.merged = merged
    if merged is not None and keep.provenance:
        doc.provenance = _provenance(merged, keep.merged, shared)
    if keep.take is not None:
        doc.taken = keep.take(doc, shared)
        doc.values = doc.rendering = doc._built = None


def _provenance(merged: Merged, whole: bool, shared: dict[Any, Any]) -> Merged:
    """Where each merged value came from: `merged` itself when it is kept `whole`, else the same
    record without the values. Of the layers derived from a Federation only what `Doc.at` asks of
    them is kept: the field each value was derived from, not the values (the merged values hold
    them), its paths and field names the same objects as the other documents' (`shared`, one per
    load): a mesh's documents derive the same fields, and a large federation derives 100,000s."""
    compact: dict[int, DerivedLayer] = {}
    for table in (merged.origins, merged.removed):
        for path, layer in table.items():
            if not isinstance(layer, DerivedLayer):
                continue
            made = compact.get(id(layer))
            if made is None:
                fields = {shared.setdefault(k, k): shared.setdefault(v, v) for k, v in layer.fields.items()}
                made = compact[id(layer)] = DerivedLayer(layer.name, {}, fields)
                made.prefix, made.via = layer.prefix, layer.via
            table[path] = made
    if whole:
        return merged
    out = Merged({})
    out.origins, out.removed = merged.origins, merged.removed
    return out


# --------------------------------------------------------------------------------------------
# Grouping


def _members(docs: list[Doc]) -> list[Doc]:
    """Documents that are rendered on their own: not a base of another document, except a base
    that declares its own spec.mesh while none of the documents built on it renders the mesh
    tier (a cluster's mesh document whose values its namespace documents reuse)."""
    users: dict[Path, list[Doc]] = {}
    for o in docs:
        for used in dict.fromkeys(o.chain):
            users.setdefault(used, []).append(o)
    out = []
    for d in docs:
        f = d.src.file
        dependents = [o for o in users.get(f, []) if o is not d] if f is not None else []
        if not dependents or (d.own_mesh is not None and not any(MESH in o.tiers for o in dependents)):
            out.append(d)
    return out


def _cluster_directory(doc: Doc, meshes_below: dict[Path, set[str]]) -> Path | None:
    """The highest directory, from the document's own up to the directory it was found under,
    that holds no mesh-tier document of another mesh (`meshes_below`: directory -> the meshes
    of the mesh-tier documents below it)."""
    f = doc.src.file
    if f is None or doc.mesh is None:
        return None
    best = None
    for cand in [f.parent, *f.parent.parents]:
        if not _inside(cand, doc.src.top) or meshes_below.get(cand, set()) - {doc.mesh.name}:
            break
        best = cand
    return best


def _name_clusters(clusters: list[Cluster]) -> None:
    for c in clusters:
        c.name = c.hint or (c.directory.name if c.directory is not None else c.mesh)
    names = [c.name for c in clusters]
    for c in clusters:
        if names.count(c.name) > 1:
            c.name = display(c.directory) if c.directory is not None else c.mesh
            if [x.name for x in clusters].count(c.name) > 1:
                c.name = c.mesh


def _idle(c: Cluster) -> bool:
    """A cluster whose Federation gives its mesh no mesh-tier application: it only imports, and
    its mesh tier would render nothing (`applications.idle_mesh_tiers`)."""
    derived = next((d.derived for d in c.ns_docs if d.derived is not None), None)
    return derived is not None and derived.mesh == c.mesh and derived.idle


def group(repo: Repo, candidates: list[Doc]) -> None:
    """Form the clusters and attach every member document to one (see the package docstring)."""
    out = repo.diagnostics
    by_mesh: dict[str, Cluster] = {}
    mesh_tier = [d for d in repo.docs if MESH in d.tiers and d.mesh is not None]
    # Cluster directories: computed against the mesh-tier documents of other meshes.
    meshes_below: dict[Path, set[str]] = {}
    for d in mesh_tier:
        if d.src.file is not None:
            for parent in d.src.file.parents:
                meshes_below.setdefault(parent, set()).add(d.mesh.name)
    directories = {id(d): _cluster_directory(d, meshes_below) for d in mesh_tier}
    duplicates: list[tuple[Doc, Cluster]] = []
    for d in mesh_tier:
        c = by_mesh.get(d.mesh.name)
        if c is None:
            c = by_mesh[d.mesh.name] = Cluster(d.mesh.name, d.mesh.network, d.mesh,  # type: ignore[arg-type]  # mesh_tier: a mesh each
                                               directory=directories[id(d)], hint=d.src.cluster)
            c.mesh_docs.append(d)
            d.cluster = c
        else:
            duplicates.append((d, c))
    # Namespace-tier documents that name a mesh no mesh-tier document declares: a cluster of
    # their own (with no mesh tier), so that their imports are still checked.
    for d in repo.docs:
        if NAMESPACE in d.tiers and d.mesh is not None and d.mesh.name not in by_mesh:
            by_mesh[d.mesh.name] = Cluster(d.mesh.name, d.mesh.network, d.mesh, hint=d.src.cluster)
    clusters = list(by_mesh.values())
    _name_clusters(clusters)
    clusters.sort(key=lambda c: (c.name, c.mesh))
    repo.clusters = clusters

    for d, c in duplicates:
        other = Cluster(d.mesh.name, d.mesh.network, d.mesh, directory=directories[id(d)])  # type: ignore[arg-type]  # as above
        _name_clusters([other])
        repo.note(out, d, error(
            f"mesh {d.mesh.name} is claimed by two clusters: {c.label} and {other.name} ({d.source}); "
            "a mesh name must identify one cluster", d.mesh.file, f"{d.mesh.field}.name"))
    seen_networks: dict[str, Cluster] = {}
    for c in clusters:
        if not c.mesh_docs:
            continue
        first = seen_networks.setdefault(c.network, c)
        if first is not c:
            repo.note(out, c.mesh_doc, error(
                f"network {c.network} is claimed by two clusters: {first.label} and {c.label}; each cluster "
                "needs its own network (Istio sends cross-network traffic to a network's gateway)",
                c.decl.file, f"{c.decl.field}.network"))

    by_directory = {c.directory: c for c in clusters if c.directory is not None}
    for d in repo.docs:
        if NAMESPACE not in d.tiers:
            continue
        c = by_mesh.get(d.mesh.name) if d.mesh is not None else None
        if c is None and d.src.file is not None:
            c = next((by_directory[p] for p in d.src.file.parents if p in by_directory), None)
        if c is None:
            if has_errors(d.problems):  # its mesh may be what the error hides: `N applications not checked`
                continue
            repo.note(out, d, warning(
                "belongs to no cluster: neither it nor its bases set spec.mesh, and it lies in no cluster's "
                "directory; it is not checked", d.source))
            continue
        if d.mesh is not None and d.mesh.network != c.network and d.mesh.file != c.decl.file:
            repo.note(out, d, error(
                f"declares mesh {c.mesh} with network {d.mesh.network}, but {c.label} declares network "
                f"{c.network}", d.mesh.file, f"{d.mesh.field}.network"))
        if d.cluster is None:
            d.cluster = c
        c.ns_docs.append(d)
    for c in clusters:
        if not c.mesh_docs and not _idle(c):
            repo.note(out, c.ns_docs[0] if c.ns_docs else None, warning(
                f"mesh {c.mesh} has no mesh-tier document under the checked directories: nothing exposes "
                "its exports (its namespace documents are still checked)", c.decl.file, f"{c.decl.field}.name"))
    # Mesh-tier documents without spec.mesh anywhere.
    for d in repo.docs:
        if MESH in d.tiers and d.mesh is None and NAMESPACE not in d.tiers and not has_errors(d.problems):
            repo.note(out, d, warning(
                "a mesh-tier document without spec.mesh (in it or its bases): which mesh it is cannot be "
                "told, so it is not checked; set spec.mesh: {name, network}", d.source))


# --------------------------------------------------------------------------------------------
# Entry points


def load(sources: list[Source], problems: list[Diagnostic], tops: list[Path],
         federations: list[FoundFederation] | None = None, keep: Keep = EVERYTHING) -> Repo:
    """The repository of these documents, keeping of each render what `keep` says."""
    chains = _Chains()
    problems = list(problems)
    walked = [_walked(s, chains) for s in sources]
    bases = {f for _, files, _ in walked for f in files}
    shared: dict[Any, Any] = {}
    judges: dict[PathArg, Resolver] = {}  # read each Federation whole, once per root (`Keep.stale`)
    rendered: set[int] = set()

    def render(d: Doc) -> None:
        """Check a member's part against its Federation, render it, and (without `keep.inputs`)
        let go of what the render read."""
        if keep.stale and d.fed is not None:
            d.stale = judges.setdefault(d.src.root, Resolver(d.src.root)).stale(d.fed)
        _render(d, keep, shared)
        rendered.add(id(d))
        if not keep.inputs and d.fed is not None:
            d.fed = d.fed.settled()

    def resolved(src: Source, walk: tuple[dict[str, Any], list[Path], MeshDecl | None]) -> Doc:
        d = _resolve(src, chains, walk)
        if not keep.inputs and (d.src.file is None or d.src.file not in bases):
            render(d)  # a document no other document builds on is a member: rendered now
        return d

    candidates = [resolved(s, w) for s, w in zip(sources, walked)]
    del walked
    covered = _covered(candidates)
    unexpanded: list[str] = []
    for found in federations or []:  # after the documents, which may render some of its applications
        candidates += [resolved(s, _walked(s, chains)) for s in _expand(found, chains, covered, problems, unexpanded)]
    members = _members(candidates)
    repo = Repo(members, [], list(problems), tops=tops, unexpanded=unexpanded)
    for d in members:
        if id(d) not in rendered:
            render(d)
        for p in d.problems:
            if p not in repo.owners:  # documents that name one Federation share its problems
                repo.note(repo.diagnostics, d, p)
    group(repo, candidates)
    return repo


def load_paths(paths: list[Path], root: Path | None, keep: Keep = EVERYTHING) -> Repo:
    rules: list[ForeignRule] = []
    sources, federations, problems = scan(paths, root, rules)
    repo = load(sources, problems, [p.resolve() for p in paths], federations, keep.given(rules))
    repo.rules = rules
    return repo
