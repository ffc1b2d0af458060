"""MeshFederation documents: reading them, resolving their bases, collecting their patches.

A document's values are the layers of its bases (recursively, in order, relative to the file
that names them), then its own `spec.values`. Bases may not leave the repository root, also not
through symlinks, and a cycle is an error that prints the chain.
"""
from __future__ import annotations

import os

from . import federation_part, federation_spec
from .diagnostics import Diagnostic, InputError, did_you_mean, error, has_errors
from .federation_spec import FederationSpec, MeshSpec
from .merge import Layer, format_path
from .options import Options, declared
from .schema import validate
from .source import MAX_BASE_DEPTH, Files, confine, display, document_files, read_file, resolve, within
from .yamlio import parse_all, type_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from .federation_part import Positions
    from .source import PathArg

    # A part parsed and checked, by text, file name, Federation's name, mesh and command: its first
    # document, the Federation document it stands for, where its entries stand in the whole and,
    # when it names no base, the FederationSpec read from it.
    Checked = dict[tuple[str, str, str, str, str], tuple[Any, dict[str, Any], Positions, FederationSpec | None]]

API_VERSION = "meshfed.io/v1alpha1"
KIND = "MeshFederation"


class Patch:
    """One `spec.patches` operation and the document that holds it (`source`)."""

    __slots__ = ("source", "index", "op")

    def __init__(self, source: str, index: int, op: dict[str, Any]) -> None:
        self.source = source
        self.index = index
        self.op = op


class Part:
    """The part of a Federation a document reads instead of the whole (`spec.federation.part`):
    the part file as messages name it, its document (its digest checked), the Federation it
    stands for, and the command that writes it again."""

    __slots__ = ("name", "doc", "federation", "hint")

    def __init__(self, name: str, doc: dict[str, Any], federation: str, hint: str) -> None:
        self.name = name
        self.doc = doc
        self.federation = federation
        self.hint = hint


class Derivation:
    """A document's `spec.federation`: the Federation it names, read (whole, or the part of it
    the document's mesh reads), and the mesh it renders."""

    __slots__ = ("spec", "mesh", "part")

    def __init__(self, spec: FederationSpec, mesh: MeshSpec, part: Part | None = None) -> None:
        self.spec = spec
        self.mesh = mesh
        self.part = part


class MeshFederation:
    """One MeshFederation document with its bases resolved."""

    __slots__ = ("source", "name", "options", "mesh", "layers", "patches", "diagnostics", "index", "derivation")

    def __init__(self, source: str, name: str | None, options: Options, mesh: dict[str, str] | None,
                 index: int = 0) -> None:
        self.source = source
        self.name = name
        self.options = options  # what the document's metadata.namespace and spec say
        self.mesh = mesh
        self.layers: list[Layer] = []
        self.patches: list[Patch] = []
        self.diagnostics: list[Diagnostic] = []
        self.index = index  # position of the document in its file
        # Set when the document names a Federation; `broken` when that Federation cannot be used.
        self.derivation: Derivation | str | None = None

    def settled(self) -> MeshFederation:
        """The document without what its render read (its bases' values and patches, the
        Federation or part it derives from): what a view of thousands of rendered documents keeps."""
        out = MeshFederation(self.source, self.name, self.options, self.mesh, self.index)
        out.diagnostics = self.diagnostics
        return out

    def values_layers(self, opts: Options) -> tuple[list[Layer] | None, list[Diagnostic]]:
        """The layers of the document's values as rendered with `opts` (the options in effect:
        flags over the document over defaults): a Federation's derived layers come first. None
        when there is nothing to render from (the Federation named has errors)."""
        derivation = self.derivation
        if derivation is None:
            return self.layers, []
        if not isinstance(derivation, Derivation):
            return None, []
        spec, mesh, ns = derivation.spec, derivation.mesh, opts.namespace
        if opts.scope in ("namespace", "all") and (ns is None or ns not in spec.namespaces(mesh.name)):
            where = "metadata.namespace" if self.options.namespace == ns and ns else ""
            why = ("a namespace-tier document naming a Federation needs a namespace (metadata.namespace or "
                   "--namespace): whose imports and exports it renders" if ns is None else
                   f"namespace {ns}: no service of the Federation is exported from it or imported "
                   f"into it by mesh {mesh.name}, so this namespace tier would render nothing")
            return None, [error(why, self.source, where)]
        lists = opts.scope in ("namespace", "all") or (opts.scope is None and ns is not None)
        return spec.layers_for(mesh, ns, lists) + self.layers, []


def scaffold_command(federation: str, out: str) -> str:
    """The command that writes the application directories (and parts) below `out` again."""
    return f"meshfed federation scaffold {federation} --out {display(out)}"


def is_meshfederation(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == KIND


def read_documents(path: PathArg, name: str) -> list[Any]:
    """The documents of a file met among others (a directory walk, the files a pre-commit hook
    passes), where other tools' YAML is common: [] when it cannot be parsed and mentions neither
    MeshFederation nor Federation (a Helm template is not meshfed's to report); an InputError
    when it cannot be read, or cannot be parsed and mentions them (most likely a broken document)."""
    text = read_file(path, name)
    try:
        return federation_part.documents(text, name)
    except InputError:
        if "Federation" in text:  # also in MeshFederation
            raise
        return []


def _envelope_problems(doc: dict[str, Any], source: str) -> list[Diagnostic]:
    """Schema problems of the document itself; `spec.values` is checked later, once merged."""
    spec = doc.get("spec")
    envelope = doc
    if isinstance(spec, dict) and isinstance(spec.get("values"), dict):
        envelope = {**doc, "spec": {**spec, "values": {}}}
    _, problems = validate(envelope, "meshfederation")
    return [error(p.message, source, format_path(p.path)) for p in problems]


def _named_by(exc: InputError, what: str, name: str, source: str, where: str) -> InputError:
    """The problems of reading the file `name` that `source` names at `where` (`what`: "base
    ../base.yaml", "federation federation.yaml"), as the naming document's: a file that cannot be
    read is the reference's problem; invalid YAML keeps its place in the file itself."""
    return InputError([error(f"{what}: {d.message}", source, where)
                       if d.file == name and not d.message.startswith("invalid YAML") else d
                       for d in exc.diagnostics])


class Recent(dict):
    """A dict that keeps only its last RECENT entries: the applications of one mesh, which share
    a part, are read one after another, and a run need not hold every part of a repository."""

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        if len(self) > RECENT:
            del self[next(iter(self))]


RECENT = 16


class Known:
    """What the renders of one revision share (`api.render(..., federations=)`): each Federation
    read whole (by resolved path, read once), the parts read lately (by text, Federation and
    mesh) and the parts the Federations give their meshes lately (by id of the spec and mesh).
    `checked`, the parts lately parsed and checked against their schema and digest (by text, the
    names of the part and its Federation, mesh and command) and, without bases, read, may be
    another revision's (`Known(other.checked)`): that much of a part depends on its text alone, so
    `meshfed diff` does it once for the part a change leaves as it was, not once per revision."""

    def __init__(self, checked: Checked | None = None) -> None:
        self.specs: dict[str, FederationSpec] = {}
        self.parts: dict[tuple[str, str, str], tuple[FederationSpec, dict[str, Any]]] = Recent()
        self.expected: dict[tuple[int, str], dict[str, Any] | None] = Recent()
        self.checked: Checked = checked if checked is not None else Recent()


class Resolver:
    """Resolves documents and their bases below one root, reading each base file once."""

    def __init__(self, root: PathArg, files: Files | None = None, known: Known | None = None):
        self.root = os.fspath(root)
        self.files = files if files is not None else Files(self.root)
        known = known if known is not None else Known()
        self.specs = known.specs  # each Federation read once per run, by resolved path
        self.parts = known.parts
        self.expected = known.expected
        self.checked = known.checked

    def federation(self, doc: dict[str, Any], source: str, base_dir: PathArg, index: int = 0,
                   file: PathArg | None = None) -> MeshFederation:
        meta = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
        spec = doc["spec"] if isinstance(doc.get("spec"), dict) else {}
        fed = MeshFederation(
            source=source,
            name=meta.get("name") if isinstance(meta.get("name"), str) else None,
            options=declared(doc),
            mesh=spec.get("mesh") if isinstance(spec.get("mesh"), dict) else None,
            index=index,
        )
        fed.diagnostics.extend(_envelope_problems(doc, source))
        base_dir = os.fspath(base_dir)
        chain = [resolve(file)] if file is not None else []
        self._collect(doc, source, base_dir, chain, fed)
        ref = spec.get("federation")
        if isinstance(ref, dict) and isinstance(ref.get("path"), str) and ref["path"] and isinstance(ref.get("mesh"), str):
            self._derive(fed, ref, spec, base_dir)
        return fed

    def _derive(self, fed: MeshFederation, ref: dict[str, Any], doc_spec: dict[str, Any], base_dir: str) -> None:
        """Attach the Federation a document names (see `federation_spec`), or its part (see
        `federation_part`): with a part, the Federation's file is never opened."""
        fed.derivation = "broken"
        mesh_name, target, part = ref["mesh"], os.path.join(base_dir, ref["path"]), None
        try:
            if "part" not in ref:
                spec = self.federation_spec(target, fed.source, "spec.federation.path")
            elif isinstance(ref["part"], str) and ref["part"]:
                spec, part = self.federation_part(os.path.join(base_dir, ref["part"]), target, mesh_name, fed.source)
            else:  # the schema check says why
                return
        except InputError as exc:
            fed.diagnostics.extend(exc.diagnostics)
            return
        fed.diagnostics.extend(spec.diagnostics)
        if has_errors(spec.diagnostics):  # its errors say why nothing is derived
            return
        mesh = spec.mesh(mesh_name)
        if mesh is None:
            names = ", ".join(m.name for m in spec.meshes) or "none"
            hint = did_you_mean(mesh_name, [m.name for m in spec.meshes])
            fed.diagnostics.append(error(f"mesh {mesh_name} is not a mesh of the Federation (its meshes: {names})"
                                         f"{hint}", fed.source, "spec.federation.mesh"))
        if "mesh" in doc_spec:
            fed.diagnostics.append(error("spec.mesh and spec.federation exclude each other: the Federation gives "
                                         "the document its mesh", fed.source, "spec.mesh"))
        if fed.options.layout is not None and spec.layout is not None and fed.options.layout != spec.layout:
            fed.diagnostics.append(error(f"the Federation says layout {spec.layout}; remove this or make it agree",
                                         fed.source, "spec.layout"))
        if mesh is None or has_errors(fed.diagnostics):
            return
        fed.derivation = Derivation(spec, mesh, part)
        fed.mesh = {"name": mesh.name, "network": mesh.network}
        fed.options = fed.options.over(Options(layout=spec.layout))
        fed.patches[:0] = spec.patches

    def federation_spec(self, target: PathArg, source: str, where: str) -> FederationSpec:
        """The Federation document at `target` (named by `source` at `where`), read once."""
        file_name = os.path.basename(os.path.normpath(target))
        real = confine(target, self.root, f"federation {file_name}", source, where)
        spec = self.specs.get(real)
        if spec is not None:
            return spec
        name = display(target)
        try:
            docs = [d for d in self.files.documents(real, name) if d is not None]
        except InputError as exc:
            raise _named_by(exc, f"federation {file_name}", name, source, where) from None
        if len(docs) != 1 or not federation_spec.is_federation_spec(docs[0]):
            raise InputError([error(f"{name} must hold one Federation document (kind: Federation)", source, where)])
        spec = self.read_spec(docs[0], name, real)
        self.specs[real] = spec
        return spec

    def federation_part(self, target: str, federation: str, mesh: str, source: str) -> tuple[FederationSpec, Part]:
        """The part at `target` of the Federation at `federation` (named by the document `source`)
        for `mesh`, read as the Federation it stands for reads: its file's name, its bases resolved
        against its directory. Confined and limited as every input; an InputError naming the
        part's file and field when it is not what the scaffold wrote for `mesh`. Every application
        of a mesh holds the same part: one text is read into a FederationSpec once per run."""
        file_name = os.path.basename(os.path.normpath(target))
        real = confine(target, self.root, f"part {file_name}", source, "spec.federation.part")
        fed_real = confine(federation, self.root, f"federation {os.path.basename(os.path.normpath(federation))}",
                           source, "spec.federation.path")
        name, fed_name = display(target), display(federation)
        hint = scaffold_command(fed_name, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(target)))))
        try:
            text = read_file(real, name)
            cached = self.parts.get((text, fed_real, mesh))
            if cached is not None:
                return cached[0], Part(name, cached[1], federation, hint)
            checked = self.checked.get((text, name, fed_name, mesh, hint))
            if checked is None:
                docs = parse_all(text, name)
        except InputError as exc:
            raise _named_by(exc, f"part {file_name}", name, source, "spec.federation.part") from None
        if checked is None:
            doc, positions = federation_part.load(docs, name, mesh, hint)
            spec = self.read_spec(doc, fed_name, fed_real, positions, name)
            # Without bases, the spec read is a function of the text alone: another revision copies it.
            checked = (docs[0], doc, positions, None if _bases(doc) else spec)
            self.checked[(text, name, fed_name, mesh, hint)] = checked
        elif checked[3] is None:
            spec = self.read_spec(checked[1], fed_name, fed_real, checked[2], name)
        else:
            spec = checked[3].copy()
            spec.file = fed_real
        found = checked[0]
        self.parts[(text, fed_real, mesh)] = (spec, found)
        return spec, Part(name, found, federation, hint)

    def stale(self, fed: MeshFederation) -> list[Diagnostic]:
        """An error when the part a document reads is not the one its Federation gives now: the
        Federation read whole and the part derived again (`meshfed check`, `meshfed diff`)."""
        derivation = fed.derivation
        if not isinstance(derivation, Derivation) or derivation.part is None:
            return []
        part = derivation.part
        try:
            spec = self.federation_spec(part.federation, fed.source, "spec.federation.path")
        except InputError as exc:
            return exc.diagnostics
        if has_errors(spec.diagnostics):
            return spec.diagnostics
        key = (id(spec), derivation.mesh.name)
        if key not in self.expected:  # the same for every application of the mesh
            mesh = spec.mesh(derivation.mesh.name)
            self.expected[key] = federation_part.build(spec, mesh) if mesh is not None else None
        why = federation_part.staleness(self.expected[key], part.doc)
        return [] if why is None else [federation_part.stale_error(why, part.name, fed.source, part.hint)]

    def read_spec(self, doc: dict[str, Any], name: str, real: PathArg | None,
                  positions: Positions | None = None, part: str | None = None) -> FederationSpec:
        """A Federation document read, its bases resolved against its own directory (`positions`
        and `part`, the file of a part: see `federation_spec.read`)."""
        scratch = MeshFederation(name, None, Options(), None)
        real = os.fspath(real) if real is not None else None
        directory = os.path.dirname(real) if real is not None else self.root
        try:
            for i, entry in _bases(doc):
                self._base(entry, name, f"spec.base[{i}]", directory, [real] if real else [], scratch)
        except InputError as exc:
            scratch.diagnostics.extend(exc.diagnostics)
        spec = federation_spec.read(doc, name, scratch.layers, scratch.diagnostics, positions, part)
        spec.patches = scratch.patches
        spec.file = real
        return spec

    def _collect(self, doc: dict[str, Any], source: str, base_dir: str, chain: list[str], fed: MeshFederation) -> None:
        for i, entry in _bases(doc):
            self._base(entry, source, f"spec.base[{i}]", base_dir, chain, fed)
        spec = doc["spec"] if isinstance(doc.get("spec"), dict) else {}
        values = spec.get("values")
        if isinstance(values, dict):
            fed.layers.append(Layer(source, values, "spec.values"))
        patches = spec["patches"] if isinstance(spec.get("patches"), list) else []
        fed.patches.extend(Patch(source, i, op) for i, op in enumerate(patches) if isinstance(op, dict))

    def _base(self, entry: str, source: str, where: str, base_dir: str, chain: list[str], fed: MeshFederation) -> None:
        target = os.path.join(base_dir, entry)
        real = confine(target, self.root, f"base {entry}", source, where)
        if real in chain:
            names = " -> ".join(display(p) for p in [*chain[chain.index(real):], real])
            raise InputError([error(f"base cycle: {names}", source, where)])
        if len(chain) >= MAX_BASE_DEPTH:
            raise InputError([error(f"base {entry}: bases nested more than {MAX_BASE_DEPTH} deep", source, where)])
        name = display(target)
        try:
            docs = self.files.documents(real, name)
        except InputError as exc:  # a base that cannot be read is the listing document's problem
            raise _named_by(exc, f"base {entry}", name, source, where) from None
        if len(docs) == 1 and is_meshfederation(docs[0]):
            base = docs[0]
            fed.diagnostics.extend(_envelope_problems(base, name))
            if isinstance(base.get("spec"), dict) and "federation" in base["spec"]:
                fed.diagnostics.append(error("spec.federation is read only in the document rendered, not in a base",
                                             name, "spec.federation"))
            self._collect(base, name, os.path.dirname(real), [*chain, real], fed)
        elif len(docs) == 1 and federation_spec.is_federation_spec(docs[0]):
            raise InputError([error(f"base {entry} is a Federation: name it with spec.federation, not spec.base",
                                    source, where)])
        elif len(docs) <= 1:
            data = docs[0] if docs else {}
            if not isinstance(data, dict):
                raise InputError([error(f"a base must be a MeshFederation document or a values map, "
                                        f"found {type_name(data)}", name)])
            fed.layers.append(Layer(name, data))
        else:
            raise InputError([error("a base must hold one YAML document", name)])


def _bases(doc: dict[str, Any]) -> list[tuple[int, str]]:
    """The files a document (a Federation, a MeshFederation) names in `spec.base`, by position
    (others are the schema's to report)."""
    raw = doc["spec"] if isinstance(doc.get("spec"), dict) else {}
    bases = raw["base"] if isinstance(raw.get("base"), list) else []
    return [(i, entry) for i, entry in enumerate(bases) if isinstance(entry, str) and entry]


def load_paths(paths: list[PathArg], resolver: Resolver) -> list[MeshFederation]:
    """The MeshFederation documents in files and directories (a directory: the documents directly
    in it, files sorted by name; other YAML such as kustomization.yaml is skipped). The files
    named are read wherever they are; their bases must stay below the resolver's root."""
    feds: list[MeshFederation] = []
    problems: list[Diagnostic] = []
    for path in (os.fspath(p) for p in paths):
        if os.path.isdir(path):
            try:
                files = document_files(path)
            except OSError as exc:
                problems.append(error(f"cannot list the directory: {exc.strerror}", display(path)))
                continue
            found = 0
            for f in files:
                shown = display(f)
                try:
                    within(f, path, resolver.root)
                    docs = federation_part.documents(read_file(f, shown), shown)
                except InputError as exc:
                    problems.extend(exc.diagnostics)
                    continue
                for i, doc in enumerate(docs):
                    if is_meshfederation(doc):
                        found += 1
                        feds.append(resolver.federation(doc, shown, path, i, f))
            if not found and not problems:
                problems.append(error("no MeshFederation documents in this directory", display(path)))
            continue
        name = display(path)
        try:
            docs = parse_all(read_file(path, name), name)
        except InputError as exc:
            problems.extend(exc.diagnostics)
            continue
        docs_found = 0
        for i, doc in enumerate(docs):
            if doc is None:
                continue
            if not is_meshfederation(doc):
                problems.append(error(_not_meshfederation(doc, i), name))
                continue
            docs_found += 1
            feds.append(resolver.federation(doc, name, os.path.dirname(path) or ".", i, path))
        if not docs_found and not problems:
            problems.append(error(f"no {KIND} document in this file", name))
    if problems:
        raise InputError(problems)
    return feds


def _not_meshfederation(doc: Any, index: int) -> str:
    """Why a document given to render is none: a Federation is rendered through the applications
    that name it; a kind close to MeshFederation is a typo; anything else may be a values file."""
    kind = doc.get("kind") if isinstance(doc, dict) else None
    if federation_spec.is_federation_spec(doc):
        return (f"document {index} is a Federation, which is not rendered itself: render the MeshFederation of an "
                "application that names it in spec.federation ({path, mesh}), or write one for every cluster and "
                "tier with `meshfed federation scaffold FILE --out DIR`")
    if not isinstance(doc, dict):
        return f"document {index} is not a {KIND} (it is {type_name(doc)}); pass plain values files with -f"
    if isinstance(kind, str) and (hint := did_you_mean(kind, (KIND,))):
        return f"document {index} is not a {KIND} (kind: {kind}){hint}"
    return f"document {index} is not a {KIND} (kind: {doc.get('kind', 'none')}); pass plain values files with -f"
