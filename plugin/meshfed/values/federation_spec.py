"""The Federation document: a whole federation said once (its meshes, their gateways, the
services and who exports and imports them), from which every cluster's values are derived.

A MeshFederation names it (`spec.federation: {path, mesh}`); the values of mesh M, namespace N
are, in order: the chart defaults; the Federation's bases, its `spec.values`, M's `values`; the
derived lists (`global.local.export`, `global.remote`, and for a namespace tier `import` and
`export`); then the document's own bases, values, `-f` files and patches. Derived values carry
provenance into the Federation (`spec.meshes[1].gateway.addresses`, `spec.services[0].imports[2]`),
so an error in them names the field to fix there.
"""
from __future__ import annotations

from . import authorization
from .diagnostics import Diagnostic, did_you_mean, error
from .merge import Layer, format_path
from .schema import validate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .federation_part import Positions
    from .merge import Path_
    from .source import PathArg

KIND = "Federation"
MESH_DIRECTORY = "mesh"  # the mesh tier's application directory of each cluster


def is_federation_spec(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == KIND


class MeshSpec:
    """One entry of `spec.meshes`, as well-typed as the schema check left it."""

    __slots__ = ("index", "name", "network", "cluster", "cluster_key", "locality", "addresses", "port", "values",
                 "trust_domain", "trust_domain_aliases")

    def __init__(self, index: int, entry: dict[str, Any]) -> None:
        gateway = entry.get("gateway") or {}
        self.index = index
        self.name: str = entry["name"]
        self.network: str = entry["network"]
        self.cluster: str = entry.get("cluster") or self.name
        self.cluster_key = "cluster" if entry.get("cluster") else "name"  # the field that sets it
        self.locality: str | None = entry.get("locality")
        self.addresses: list[str] | None = gateway.get("addresses")
        self.port: int | None = gateway.get("port")
        self.values: dict[str, Any] | None = entry.get("values")
        self.trust_domain: str | None = entry.get("trustDomain")  # for authorization (default cluster.local)
        self.trust_domain_aliases: list[str] | None = entry.get("trustDomainAliases")

    @property
    def field(self) -> str:
        return f"spec.meshes[{self.index}]"


class Side:
    """One entry of a service's `exports` or `imports`."""

    __slots__ = ("index", "mesh", "namespace", "selector", "weight", "service_accounts")

    def __init__(self, index: int, entry: dict[str, Any]) -> None:
        self.index = index
        self.mesh: str = entry["mesh"]
        self.namespace: str = entry["namespace"]
        self.selector: dict[str, str] | None = entry.get("labelSelector")
        self.weight: int | None = entry.get("weight")  # an export's, for failover mode weighted
        self.service_accounts: list[str] | None = entry.get("serviceAccounts")  # an import's, for authorization


def _complete(side: Any) -> bool:
    return isinstance(side, dict) and "mesh" in side and "namespace" in side


class ServiceSpec:
    """One entry of `spec.services`."""

    __slots__ = ("index", "hostname", "ports", "exports", "imports", "failover", "_by_mesh")

    def __init__(self, index: int, entry: dict[str, Any], at: tuple[list[int], list[int]] | None = None) -> None:
        """`at`: of a part, the index of each export and import in the Federation's service."""
        self.index = index
        self.hostname: str = entry["hostname"]
        self.ports: list[dict[str, Any]] | None = entry.get("ports")
        self.failover: dict[str, Any] | None = entry.get("failover")  # over spec.failover
        exports_at, imports_at = at or (None, None)
        # Entries the schema check refused (null, missing keys) are left out: their errors say why.
        self.exports = [Side(exports_at[j] if exports_at else j, e)
                        for j, e in enumerate(entry.get("exports") or []) if _complete(e)]
        self.imports = [Side(imports_at[j] if imports_at else j, e)
                        for j, e in enumerate(entry.get("imports") or []) if _complete(e)]
        # ("exports"|"imports", mesh) -> the sides of that mesh, in order: asked once per mesh deriving.
        self._by_mesh: dict[tuple[str, str], list[Side]] = {}
        for key, sides in (("exports", self.exports), ("imports", self.imports)):
            for side in sides:
                self._by_mesh.setdefault((key, side.mesh), []).append(side)

    @property
    def field(self) -> str:
        return f"spec.services[{self.index}]"

    def exported_by(self, mesh: str) -> list[Side]:
        return self._by_mesh.get(("exports", mesh), [])

    def imported_by(self, mesh: str) -> list[Side]:
        return self._by_mesh.get(("imports", mesh), [])

    def entry(self, selector: dict[str, str] | None = None, with_selector: bool = False) -> dict[str, Any]:
        """`{hostname, ports}` as the values lists hold it (ports only where the service has them)."""
        out: dict[str, Any] = {"hostname": self.hostname}
        if self.ports is not None:
            out["ports"] = [dict(p) for p in self.ports]
        if with_selector and selector is not None:
            out["labelSelector"] = dict(selector)
        return out


class DerivedLayer(Layer):
    """The values derived from the Federation for one mesh and namespace. `locate` maps a values
    path to the Federation field it was derived from (`global.remote[0].addresses` ->
    `spec.meshes[2].gateway.addresses`)."""

    __slots__ = ("fields",)

    def __init__(self, name: str, data: dict[str, Any], fields: dict[Path_, str]) -> None:
        super().__init__(name, data)
        self.fields = fields

    def locate(self, path: Path_) -> str:
        for end in range(len(path), -1, -1):
            field = self.fields.get(path[:end])
            if field is not None:
                rest = format_path(path[end:])
                return f"{field}{rest}" if not rest or rest.startswith("[") else f"{field}.{rest}"
        return format_path(path)


class FederationSpec:
    """A Federation document read: its layers (bases, shared values), meshes and services, and
    every problem found in it. Derivation is only offered when there is no error."""

    def __init__(self, source: str, layout: str | None, layers: list[Layer], meshes: list[MeshSpec],
                 services: list[ServiceSpec], diagnostics: list[Diagnostic],
                 failover: dict[str, Any] | None = None, authz: str | None = None) -> None:
        self.source = source
        self.authorization = authz or authorization.OFF  # spec.authorization
        # spec.failover as written (absent: on, mode nearest, meshfed's outlier detection).
        self.failover: dict[str, Any] = failover if failover is not None else {}
        self.layout = layout
        self.layers = layers  # the bases' layers and spec.values
        self.meshes = meshes
        self.services = services
        self.diagnostics = diagnostics
        self.patches: list[Any] = []  # `spec.patches` of MeshFederation bases, applied after all merging
        self.file: str | None = None  # the resolved file it was read from
        self.raw: dict[str, Any] = {}  # `spec` as written (what a part copies)
        self._by_name = {m.name: m for m in meshes}
        self._index: _Index | None = None

    def copy(self) -> FederationSpec:
        """Another FederationSpec of the same reading, sharing its parts (none of which changes
        once read), for another copy of the same file (`file` set apart)."""
        out = FederationSpec.__new__(FederationSpec)
        out.__dict__.update(self.__dict__)
        return out

    def mesh(self, name: str) -> MeshSpec | None:
        return self._by_name.get(name)

    def index(self) -> _Index:
        """Who exports and imports what, by mesh: built once, so that deriving one mesh costs what
        that mesh exports and imports, not the size of the federation."""
        if self._index is None:
            self._index = _Index(self.services)
        return self._index

    def namespaces(self, mesh: str) -> list[str]:
        """The namespaces of `mesh` that export or import something, sorted."""
        return sorted(self.index().namespaces.get(mesh, ()))

    def layers_for(self, mesh: MeshSpec, namespace: str | None, namespace_lists: bool) -> list[Layer]:
        """The Federation's layers for one mesh (and namespace): bases, shared values, the mesh's
        own values, then the derived lists (`import`/`export` only when `namespace_lists`)."""
        out = list(self.layers)
        if mesh.values:
            out.append(Layer(self.source, mesh.values, f"{mesh.field}.values"))
        out.append(self._derive(mesh, namespace if namespace_lists else None, namespace_lists))
        return out

    def _derive(self, mesh: MeshSpec, namespace: str | None, namespace_lists: bool) -> DerivedLayer:
        fields: dict[Path_, str] = {}
        local: list[dict[str, Any]] = []
        index = self.index()
        for svc in index.services.get(("exports", mesh.name), ()):
            sides = svc.exported_by(mesh.name)
            if sides:
                at: Path_ = ("global", "local", "export", len(local))
                local.append(svc.entry())
                fields[at] = f"{svc.field}.exports[{sides[0].index}]"
                fields[(*at, "hostname")] = f"{svc.field}.hostname"
                fields[(*at, "ports")] = f"{svc.field}.ports"
        imported = index.services.get(("imports", mesh.name), [])
        # The meshes exporting what this one imports (in the order of spec.meshes), each with
        # those hosts (in the order of spec.services).
        serving: dict[str, list[ServiceSpec]] = {}
        for svc in imported:
            for e in svc.exports:
                hosts = serving.setdefault(e.mesh, [])
                if not hosts or hosts[-1] is not svc:
                    hosts.append(svc)
        exporters = sorted((m for m in map(self._by_name.get, serving) if m is not None and m.name != mesh.name),
                           key=lambda m: m.index)
        remotes: list[dict[str, Any]] = []
        for other in exporters:
            hosts = serving[other.name]
            at = ("global", "remote", len(remotes))
            remote: dict[str, Any] = {"mesh": other.name, "network": other.network}
            if other.addresses is not None:
                remote["addresses"] = list(other.addresses)
            if other.port is not None:
                remote["port"] = other.port
            if other.locality is not None:
                remote["locality"] = other.locality
            remote["importedServices"] = [svc.hostname for svc in hosts]
            remotes.append(remote)
            fields[at] = other.field
            for key, where in (("mesh", "name"), ("network", "network"), ("addresses", "gateway.addresses"),
                               ("port", "gateway.port"), ("locality", "locality")):
                fields[(*at, key)] = f"{other.field}.{where}"
            for k, svc in enumerate(hosts):
                fields[(*at, "importedServices", k)] = f"{svc.field}.imports[{svc.imported_by(mesh.name)[0].index}]"
        data: dict[str, Any] = {"global": {"local": {"export": local}, "remote": remotes}}
        fields[("global", "local", "export")] = "spec.services"
        fields[("global", "remote")] = "spec.meshes"
        failover = self._failover(imported, fields)
        if failover is not None:
            data["global"]["failover"] = failover
        authz = authorization.derive(self, mesh, fields)
        if authz is not None:
            data["global"]["authorization"] = authz
        if namespace_lists:
            data["import"] = self._namespace_list(mesh, namespace, "import", fields)
            data["export"] = self._namespace_list(mesh, namespace, "export", fields)
        return DerivedLayer(self.source, data, fields)

    def _failover(self, imported: list[ServiceSpec], fields: dict[Path_, str]) -> dict[str, Any] | None:
        """`global.failover` for a mesh importing `imported`: the Federation's failover, and an
        entry per imported service with its own settings or its exporters' weights. None when
        failover is off for every one of them (the values then stay as the charts know them)."""
        on = self.failover.get("enabled", True)
        services: list[dict[str, Any]] = []
        at = ("global", "failover", "services")
        for svc in imported:
            own = svc.failover or {}
            weights = {e.mesh: e.weight for e in svc.exports if e.weight is not None}
            if not own and not weights:
                continue
            entry: dict[str, Any] = {"hostname": svc.hostname, **own}
            if weights:
                entry["weights"] = weights
            fields[(*at, len(services))] = f"{svc.field}.failover" if own else svc.field
            fields[(*at, len(services), "hostname")] = f"{svc.field}.hostname"
            fields[(*at, len(services), "weights")] = f"{svc.field}.exports"
            for e in svc.exports:
                if e.weight is not None:
                    fields[(*at, len(services), "weights", e.mesh)] = f"{svc.field}.exports[{e.index}].weight"
            services.append(entry)
        if not on and not any(e.get("enabled") for e in services):
            return None
        out: dict[str, Any] = {"enabled": on, **{k: v for k, v in self.failover.items() if k != "enabled"}}
        fields[("global", "failover")] = "spec.failover"
        if services:
            out["services"] = services
            fields[at] = "spec.services"
        return out

    def _namespace_list(self, mesh: MeshSpec, namespace: str | None, key: str,
                        fields: dict[Path_, str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        fields[(key,)] = "spec.services"
        for svc, side in self.index().sides.get((f"{key}s", mesh.name, namespace), ()):
            at = (key, len(out))
            out.append(svc.entry(side.selector, with_selector=key == "export"))
            where = f"{svc.field}.{key}s[{side.index}]"
            fields[at] = where
            fields[(*at, "hostname")] = f"{svc.field}.hostname"
            fields[(*at, "ports")] = f"{svc.field}.ports"
            fields[(*at, "labelSelector")] = f"{where}.labelSelector"
        return out


class _Index:
    """The services by mesh: ("exports"|"imports", mesh) -> the services that mesh exports or
    imports, and ("exports"|"imports", mesh, namespace) -> (service, its first side there), both
    in the order of spec.services; mesh -> the namespaces it exports from or imports into."""

    __slots__ = ("services", "sides", "namespaces")

    def __init__(self, services: list[ServiceSpec]) -> None:
        self.services: dict[tuple[str, str], list[ServiceSpec]] = {}
        self.sides: dict[tuple[str, str, str | None], list[tuple[ServiceSpec, Side]]] = {}
        self.namespaces: dict[str, set[str]] = {}
        for svc in services:
            for key, sides in (("exports", svc.exports), ("imports", svc.imports)):
                for side in sides:
                    self.namespaces.setdefault(side.mesh, set()).add(side.namespace)
                    listed = self.services.setdefault((key, side.mesh), [])
                    if not listed or listed[-1] is not svc:
                        listed.append(svc)
                    pairs = self.sides.setdefault((key, side.mesh, side.namespace), [])
                    if not pairs or pairs[-1][0] is not svc:
                        pairs.append((svc, side))


def _envelope(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with its values maps emptied: they are checked once merged, with the
    provenance that names their field in this file."""
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return doc
    out = dict(spec)
    if isinstance(out.get("values"), dict):
        out["values"] = {}
    if isinstance(out.get("meshes"), list):
        out["meshes"] = [{**m, "values": {}} if isinstance(m, dict) and isinstance(m.get("values"), dict) else m
                         for m in out["meshes"]]
    return {**doc, "spec": out}


def read(doc: dict[str, Any], source: str, base_layers: list[Layer], problems: list[Diagnostic],
         positions: Positions | None = None, part: str | None = None) -> FederationSpec:
    """A Federation document read into a FederationSpec (`base_layers`: its `spec.base` already
    resolved; `problems`: those found resolving them). Every problem of the document itself is
    found here, so that a render that names it fails before anything is derived. `positions`:
    for the part of a Federation (its file `part`, which schema problems name), where its entries
    stand in the whole, which every index and field name then follows."""
    diagnostics = list(problems)
    cleaned, schema_problems = validate(_envelope(doc), "federation")
    diagnostics += [error(p.message, part or source, format_path(p.path)) for p in schema_problems]
    spec = (cleaned or {}).get("spec") or {}
    raw_spec = doc["spec"] if isinstance(doc.get("spec"), dict) else {}
    meshes = []
    for i, entry in enumerate(spec.get("meshes") or []):
        if entry is not None and "name" in entry and "network" in entry:
            raw = raw_spec["meshes"][i]
            meshes.append(MeshSpec(positions.meshes[i] if positions else i, {**entry, "values": raw.get("values")}))
    services = [ServiceSpec(i, e) if positions is None else
                ServiceSpec(positions.services[i][0], e, positions.services[i][1:])
                for i, e in enumerate(spec.get("services") or []) if e is not None and "hostname" in e]
    layers = list(base_layers)
    if isinstance(raw_spec.get("values"), dict):
        layers.append(Layer(source, raw_spec["values"], "spec.values"))
    # A mesh the schema check refused is still a mesh: no "unknown mesh" follow-ups for it.
    raw_meshes = raw_spec["meshes"] if isinstance(raw_spec.get("meshes"), list) else []
    named = {m["name"] for m in raw_meshes if isinstance(m, dict) and isinstance(m.get("name"), str)}
    diagnostics += _structure(meshes, services, source, named)
    diagnostics += [error(msg, source, field)
                    for msg, field in authorization.federation_problems(spec.get("authorization"), meshes)]
    out = FederationSpec(source, spec.get("layout"), layers, meshes, services, diagnostics, spec.get("failover"),
                         spec.get("authorization"))
    out.raw = raw_spec
    return out


def _structure(meshes: list[MeshSpec], services: list[ServiceSpec], source: str, named: set[str]) -> list[Diagnostic]:
    """What only the whole federation can tell: unique meshes, networks, clusters and hostnames;
    imports and exports naming known meshes once each; every import served by another mesh."""
    out: list[Diagnostic] = []
    for attr in ("name", "network", "cluster"):
        first: dict[str, MeshSpec] = {}
        for m in meshes:
            value = getattr(m, attr)
            seen = first.setdefault(value, m)
            if seen is not m and not (attr == "cluster" and m.cluster_key == seen.cluster_key == "name"):
                field = f"{m.field}.{m.cluster_key if attr == 'cluster' else attr}"
                out.append(error(f"{attr} {value} is also the {attr} of {seen.field} ({seen.name}); each mesh needs "
                                 f"its own", source, field))
    known = {m.name for m in meshes} | named
    names = ", ".join(dict.fromkeys(m.name for m in meshes)) or "none"
    hosts: dict[str, ServiceSpec] = {}
    for svc in services:
        seen_svc = hosts.setdefault(svc.hostname, svc)
        if seen_svc is not svc:
            out.append(error(f"{svc.hostname} is listed twice (also {seen_svc.field}); list a service once, "
                             "with all its exports and imports", source, f"{svc.field}.hostname"))
        for key, sides in (("exports", svc.exports), ("imports", svc.imports)):
            pairs: dict[tuple[str, str], Side] = {}
            for side in sides:
                where = f"{svc.field}.{key}[{side.index}]"
                if side.mesh not in known:
                    out.append(error(f"unknown mesh {side.mesh} (the meshes are {names})"
                                     f"{did_you_mean(side.mesh, known)}", source, f"{where}.mesh"))
                first_side = pairs.setdefault((side.mesh, side.namespace), side)
                if first_side is not side:
                    out.append(error(f"mesh {side.mesh}, namespace {side.namespace} is listed twice in this "
                                     f"service's {key} (also [{first_side.index}])", source, where))
        exporters = {e.mesh for e in svc.exports}
        for side in svc.imports:
            if side.mesh not in known:
                continue
            where = f"{svc.field}.imports[{side.index}]"
            if side.mesh in exporters:
                out.append(error(f"mesh {side.mesh} imports {svc.hostname}, which it exports itself: a mesh serves "
                                 "its own services locally", source, where))
            elif not exporters:  # exporters that are no mesh have their own error
                out.append(error(f"mesh {side.mesh} imports {svc.hostname}, but no mesh exports it", source, where))
    return out


def relative(target: PathArg, start: PathArg) -> str:
    """`target` relative to the directory `start`, with `/` separators."""
    import os
    return os.path.relpath(target, start).replace(os.sep, "/")
