"""The part of a Federation that one mesh's applications read, so that rendering one application
costs the same whatever the size of the federation.

`meshfed federation scaffold` writes it into every application directory of mesh M
(`federation-part.yaml`, kind FederationPart) and names it in the MeshFederation
(`spec.federation.part`); a render then reads the part alone, never the Federation. A part holds
the subset of the Federation's `spec` that M's derivation reads: the spec-level fields (layout,
bases as written, shared values, failover, authorization), M itself (but its gateway), the
exporters of what M imports and (with authorization importers-only) the importers of what M
exports (but their own values and aliases), the services M
exports or imports with the sides derivation asks about, all in their original order; `part`
records where each kept mesh, service and side stood in the Federation, so the same derivation
(`federation_spec.FederationSpec`) gives the same values and names the same fields.

Its digest (`metadata.annotations["meshfed.io/digest"]`) is the sha256 of a canonical form of
`part` and `spec`: a part edited by hand no longer matches it and is refused. A part the
Federation has moved away from (stale) is found by deriving it again (`staleness`), which
`meshfed check` and `meshfed diff` do.
"""
from __future__ import annotations

from .authorization import IMPORTERS_ONLY
from .diagnostics import Diagnostic, InputError, error
from .federation_spec import KIND as FEDERATION_KIND, FederationSpec, MeshSpec
from .merge import format_path
from .schema import validate
from .yamlio import parse_all

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .merge import Path_

API_VERSION = "meshfed.io/v1alpha1"
KIND = "FederationPart"
FILE = "federation-part.yaml"  # in every application directory the scaffold writes
DIGEST = "meshfed.io/digest"
LOCAL_CONFIG = "config.kubernetes.io/local-config"  # kpt and kustomize: not an object for a cluster


# What derivation never reads of a mesh entry: of the mesh itself, its gateway (the others reach
# it there); of the others, what only their own applications read. A change there leaves the part
# alone. `cluster` stays although derivation does not read it: without it a mesh's cluster would
# default to its name, which may be another kept mesh's cluster, and the part would not read.
OWN_UNREAD = ("gateway",)
UNREAD = ("values", "trustDomainAliases")


def is_federation_part(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == KIND


class Positions:
    """Where the part's entries stood in the Federation: each kept mesh's index in
    `spec.meshes`, and each kept service's index with the indices of its kept exports and imports."""

    __slots__ = ("meshes", "services")

    def __init__(self, meshes: list[int], services: list[tuple[int, list[int], list[int]]]) -> None:
        self.meshes = meshes
        self.services = services

    def field(self, path: Path_) -> str:
        """The Federation's field for a path of the part's `spec` (`spec.meshes[1].gateway` ->
        `spec.meshes[57].gateway`)."""
        out: list[Any] = list(path)
        if len(out) > 2 and out[1] == "meshes" and isinstance(out[2], int) and out[2] < len(self.meshes):
            out[2] = self.meshes[out[2]]
        elif len(out) > 2 and out[1] == "services" and isinstance(out[2], int) and out[2] < len(self.services):
            at, exports, imports = self.services[out[2]]
            out[2] = at
            sides = {"exports": exports, "imports": imports}.get(out[3]) if len(out) > 4 else None
            if sides is not None and isinstance(out[4], int) and out[4] < len(sides):
                out[4] = sides[out[4]]
        return format_path(tuple(out))


def build(spec: FederationSpec, mesh: MeshSpec) -> dict[str, Any]:
    """The part of the Federation `spec` (read without errors) that `mesh`'s derivation reads, as
    a FederationPart document with its digest."""
    raw = spec.raw
    index = spec.index()
    exported = index.services.get(("exports", mesh.name), [])
    imported = index.services.get(("imports", mesh.name), [])
    authz = spec.authorization == IMPORTERS_ONLY
    names = {mesh.name}
    for svc in imported:
        names.update(e.mesh for e in svc.exports)
    if authz:
        for svc in exported:
            names.update(i.mesh for i in svc.imports)
    meshes = sorted((m for m in map(spec.mesh, names) if m is not None), key=lambda m: m.index)
    services = sorted({id(s): s for s in (*exported, *imported)}.values(), key=lambda s: s.index)
    imports_of = {id(s) for s in imported}
    exports_of = {id(s) for s in exported}
    kept_services = []
    positions: list[dict[str, Any]] = []
    for svc in services:
        exports = svc.exports if id(svc) in imports_of else svc.exported_by(mesh.name)
        imports = svc.imports if authz and id(svc) in exports_of else svc.imported_by(mesh.name)
        entry = dict(raw["services"][svc.index])
        for key, sides in (("exports", exports), ("imports", imports)):
            if sides:
                entry[key] = [raw["services"][svc.index][key][side.index] for side in sides]
            else:
                entry.pop(key, None)
        kept_services.append(entry)
        positions.append({"at": svc.index, "exports": [s.index for s in exports], "imports": [s.index for s in imports]})
    out_spec: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "meshes":
            value = [{k: v for k, v in raw["meshes"][m.index].items() if k not in (OWN_UNREAD if m is mesh else UNREAD)}
                     for m in meshes]
        elif key == "services":
            value = kept_services
        out_spec[key] = value
    part = {"mesh": mesh.name, "meshes": [m.index for m in meshes], "services": positions}
    return {"apiVersion": API_VERSION, "kind": KIND,
            "metadata": {"name": mesh.name, "annotations": {LOCAL_CONFIG: "true", DIGEST: digest(part, out_spec)}},
            "part": part, "spec": out_spec}


def digest(part: Any, spec: Any) -> str:
    """`sha256:<hex>` of a canonical form of what derivation reads: maps by key, whatever their
    order in the file; a map and a list, an integer and a float, a string and a number differ."""
    import hashlib  # here: a render without a part does not need it
    text = repr(_canonical({"part": part, "spec": spec}))
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted(((repr(k), _canonical(v)) for k, v in value.items()), key=lambda kv: kv[0]))
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def load(docs: list[Any], name: str, mesh: str, hint: str) -> tuple[dict[str, Any], Positions]:
    """The Federation document a part stands for (its `spec`) and the positions of its entries;
    an InputError naming the part file `name` and its field when the part is not one scaffold
    wrote for `mesh` (wrong kind, failing its schema, edited, for another mesh). `hint` is the
    command that writes it again."""
    fix = f": edited by hand? run `{hint}` again"
    docs = [d for d in docs if d is not None]
    if len(docs) != 1 or not is_federation_part(docs[0]):
        raise InputError([error(f"must hold one {KIND} document (kind: {KIND}){fix}", name)])
    doc = docs[0]
    _, problems = validate(doc, "federationpart")  # its `spec` is checked as a Federation's when read
    if problems:
        raise InputError([error(p.message + fix, name, format_path(p.path)) for p in problems])
    if doc["metadata"]["annotations"][DIGEST] != digest(doc["part"], doc["spec"]):
        raise InputError([error(f"the part does not match its digest{fix}", name,
                                format_path(("metadata", "annotations", DIGEST)))])
    part, spec = doc["part"], doc["spec"]
    if part["mesh"] != mesh:
        raise InputError([error(f"this part is for mesh {part['mesh']}, not {mesh} (spec.federation.mesh){fix}",
                                name, "part.mesh")])
    services = [(s["at"], s["exports"], s["imports"]) for s in part["services"]]
    entries = spec.get("services") if isinstance(spec.get("services"), list) else []
    counts: list[tuple[Path_, int, int]] = [(("part", "meshes"), len(part["meshes"]), _count(spec.get("meshes"))),
                                            (("part", "services"), len(services), len(entries))]
    for k, (_, exports, imports) in enumerate(services):
        entry = entries[k] if k < len(entries) and isinstance(entries[k], dict) else {}
        counts += [(("part", "services", k, "exports"), len(exports), _count(entry.get("exports"))),
                   (("part", "services", k, "imports"), len(imports), _count(entry.get("imports")))]
    for path, have, want in counts:
        if have != want:
            raise InputError([error(f"lists {have} positions for {want} entries{fix}", name, format_path(path))])
    return {"apiVersion": doc["apiVersion"], "kind": FEDERATION_KIND, "spec": spec}, Positions(part["meshes"], services)


def _count(entries: Any) -> int:
    """How many entries a list of the part's `spec` has (none when it is no list: its schema says why)."""
    return len(entries) if isinstance(entries, list) else 0


def documents(text: str, name: str) -> list[Any]:
    """The documents of the text of file `name` that a search for documents to render looks at:
    none in a lone FederationPart (`is_part_text`: the document that names it checks it), else all
    of them, parsed."""
    return [] if is_part_text(text) else parse_all(text, name)


def is_part_text(text: str) -> bool:
    """Whether a file's text is one FederationPart document (as the scaffold writes it): what a
    search for MeshFederation and Federation documents may skip without parsing it."""
    head = text[:300]
    # `---` or `...` at the start of a line may start another document (found as substrings: the
    # multiline regular expression `^(?:---|\.\.\.)` takes four times as long, and every
    # application's directory search meets its part).
    return ("\nkind: FederationPart\n" in head and "MeshFederation" not in text
            and not text.startswith(("---", "...")) and "\n---" not in text and "\n..." not in text)


def staleness(expected: dict[str, Any] | None, found: dict[str, Any]) -> str | None:
    """Why a part read (`found`, its digest checked) is not the one the Federation gives now
    (`expected`, from `build`; None: the Federation has no such mesh any more), naming the first
    Federation field that differs; None when it is the same."""
    if expected is None:
        return f"mesh {found['part']['mesh']} is no longer a mesh of the Federation"
    if expected["metadata"]["annotations"][DIGEST] == found["metadata"]["annotations"][DIGEST]:
        return None
    path = _first_difference(expected["spec"], found["spec"], ("spec",))
    if path is not None:
        part = expected["part"]
        positions = Positions(part["meshes"], [(s["at"], s["exports"], s["imports"]) for s in part["services"]])
        return f"the Federation's {positions.field(path)} differs from this part"
    which = "meshes" if expected["part"]["meshes"] != found["part"]["meshes"] else "services"
    return f"the Federation's spec.{which} that mesh {found['part']['mesh']} reads are others now"


def _first_difference(a: Any, b: Any, path: Path_) -> Path_ | None:
    """The path of the first place (in `a`'s order) where `a` and `b` differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            if key not in a or key not in b:
                return (*path, key)
            found = _first_difference(a[key], b[key], (*path, key))
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        for k, (x, y) in enumerate(zip(a, b)):
            found = _first_difference(x, y, (*path, k))
            if found is not None:
                return found
        return None if len(a) == len(b) else (*path, min(len(a), len(b)))
    return None if type(a) is type(b) and a == b else path


def stale_error(why: str, part: str, application: str, hint: str) -> Diagnostic:
    """The error of a stale part: the part file, the application that reads it, and the fix."""
    return error(f"stale part of the application {application}: {why}; run `{hint}` to write it again", part)
