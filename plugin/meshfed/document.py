"""MeshFederation documents: reading them, resolving their bases, collecting their patches.

A document's values are the layers of its bases (recursively, in order, relative to the file
that names them), then its own `spec.values`. Bases may not leave the repository root, also not
through symlinks, and a cycle is an error that prints the chain.
"""
from __future__ import annotations

from pathlib import Path

from .diagnostics import Diagnostic, InputError, error
from .merge import Layer, format_path
from .options import LAYOUTS, SCOPES, Options
from .schema import validate
from .source import DOCUMENT_SUFFIXES, MAX_BASE_DEPTH, Files, confine, display, inside, read_file
from .yamlio import parse_all, type_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

API_VERSION = "meshfed.io/v1alpha1"
KIND = "MeshFederation"


class Patch:
    """One `spec.patches` operation and the document that holds it (`source`)."""

    __slots__ = ("source", "index", "op")

    def __init__(self, source: str, index: int, op: dict[str, Any]) -> None:
        self.source = source
        self.index = index
        self.op = op


class Federation:
    """One MeshFederation document with its bases resolved."""

    __slots__ = ("source", "name", "options", "mesh", "layers", "patches", "diagnostics", "index")

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


def is_federation(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == KIND


def _envelope_problems(doc: dict[str, Any], source: str) -> list[Diagnostic]:
    """Schema problems of the document itself; `spec.values` is checked later, once merged."""
    spec = doc.get("spec")
    envelope = doc
    if isinstance(spec, dict) and isinstance(spec.get("values"), dict):
        envelope = {**doc, "spec": {**spec, "values": {}}}
    _, problems = validate(envelope, "meshfederation")
    return [error(p.message, source, format_path(p.path)) for p in problems]


def _document_options(meta: dict[str, Any], spec: dict[str, Any]) -> Options:
    """The options a document sets (its schema problems are reported by the envelope check)."""
    def pick(value: Any, allowed: tuple[str, ...]) -> str | None:
        return value if value in allowed else None

    namespace = meta.get("namespace")
    return Options(pick(spec.get("scope"), SCOPES),
                   namespace if isinstance(namespace, str) and namespace else None,
                   pick(spec.get("layout"), LAYOUTS),
                   spec.get("allowEmpty") if isinstance(spec.get("allowEmpty"), bool) else None)


class Resolver:
    """Resolves documents and their bases below one root, reading each base file once."""

    def __init__(self, root: Path, files: Files | None = None):
        self.root = root
        self.files = files if files is not None else Files(root)

    def federation(self, doc: dict[str, Any], source: str, base_dir: Path, index: int = 0,
                   file: Path | None = None) -> Federation:
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
        fed = Federation(
            source=source,
            name=meta.get("name") if isinstance(meta.get("name"), str) else None,
            options=_document_options(meta, spec),
            mesh=spec.get("mesh") if isinstance(spec.get("mesh"), dict) else None,
            index=index,
        )
        fed.diagnostics.extend(_envelope_problems(doc, source))
        chain = [file.resolve()] if file is not None else []
        self._collect(doc, source, base_dir, chain, fed)
        return fed

    def _collect(self, doc: dict[str, Any], source: str, base_dir: Path, chain: list[Path], fed: Federation) -> None:
        spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
        bases = spec.get("base") if isinstance(spec.get("base"), list) else []
        for i, entry in enumerate(bases):
            if isinstance(entry, str) and entry:
                self._base(entry, source, f"spec.base[{i}]", base_dir, chain, fed)
        values = spec.get("values")
        if isinstance(values, dict):
            fed.layers.append(Layer(source, values, "spec.values"))
        patches = spec.get("patches") if isinstance(spec.get("patches"), list) else []
        fed.patches.extend(Patch(source, i, op) for i, op in enumerate(patches) if isinstance(op, dict))

    def _base(self, entry: str, source: str, where: str, base_dir: Path, chain: list[Path], fed: Federation) -> None:
        target = base_dir / entry
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
            raise InputError([error(f"base {entry}: {d.message}", source, where)
                              if d.file == name and not d.message.startswith("invalid YAML") else d
                              for d in exc.diagnostics]) from None
        if len(docs) == 1 and is_federation(docs[0]):
            base = docs[0]
            fed.diagnostics.extend(_envelope_problems(base, name))
            self._collect(base, name, real.parent, [*chain, real], fed)
        elif len(docs) <= 1:
            data = docs[0] if docs else {}
            if not isinstance(data, dict):
                raise InputError([error(f"a base must be a MeshFederation document or a values map, "
                                        f"found {type_name(data)}", name)])
            fed.layers.append(Layer(name, data))
        else:
            raise InputError([error("a base must hold one YAML document", name)])


def _within(file: Path, directory: Path, root: Path) -> None:
    """A file found in a directory (not named by the user) must stay in that directory or below
    the root once its links are followed: a link in an app directory cannot read /etc/passwd."""
    try:
        real = file.resolve()
        here = directory.resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        raise InputError([error(f"cannot resolve the path ({exc})", display(file))]) from None
    if not (inside(real, root) or inside(real, here)):
        raise InputError([error("a link to a file outside the directory and the root directory is not read",
                                display(file))])


def load_paths(paths: list[Path], resolver: Resolver) -> list[Federation]:
    """The MeshFederation documents in files and directories (a directory: the documents directly
    in it, files sorted by name; other YAML such as kustomization.yaml is skipped). The files
    named are read wherever they are; their bases must stay below the resolver's root."""
    feds: list[Federation] = []
    problems: list[Diagnostic] = []
    for path in paths:
        if path.is_dir():
            try:
                files = sorted(p for p in path.iterdir() if p.suffix in DOCUMENT_SUFFIXES and p.is_file())
            except OSError as exc:
                problems.append(error(f"cannot list the directory: {exc.strerror}", display(path)))
                continue
            found = 0
            for f in files:
                try:
                    _within(f, path, resolver.root)
                    docs = parse_all(read_file(f, display(f)), display(f))
                except InputError as exc:
                    problems.extend(exc.diagnostics)
                    continue
                for i, doc in enumerate(docs):
                    if is_federation(doc):
                        found += 1
                        feds.append(resolver.federation(doc, display(f), f.parent, i, f))
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
            if not is_federation(doc):
                kind = doc.get("kind", "none") if isinstance(doc, dict) else type_name(doc)
                problems.append(error(f"document {i} is not a {KIND} (kind: {kind}); "
                                      "pass plain values files with -f", name))
                continue
            docs_found += 1
            feds.append(resolver.federation(doc, name, path.parent, i, path))
        if not docs_found and not problems:
            problems.append(error(f"no {KIND} document in this file", name))
    if problems:
        raise InputError(problems)
    return feds
