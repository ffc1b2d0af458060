"""`meshfed federation import DIR...`: the Federation document that reproduces a repository of
per-cluster MeshFederation documents (such as `overlays/`), for moving it to one source.

The repository is read as `meshfed check` reads it (`repo.load_paths`: members rendered, with
their merged values and provenance, grouped into clusters). From it:

* meshes: each cluster's mesh (`spec.mesh`: name, network); its `cluster` is the first directory
  below the DIR given that holds its documents (written only when it differs from the name); its
  `gateway` (addresses, port) and `locality` come from the `global.remote` entries the other
  clusters list for it, which must agree;
* services: from `global.local.export` and the namespace tiers' `export` (with labelSelector) and
  `import` lists; `ports` when an entry lists its own (every entry must then see the same ports);
* values: plain values files at the start of every member's base chain stay Federation `base`
  entries (paths relative to the output file, or to the working directory for stdout); the
  other values the documents wrote (not the chart defaults; a null where a default was removed;
  what a patch changed) go to `spec.values` where every mesh agrees, else to `meshes[].values`.
  They are the mesh tier's: a Federation gives every tier of a mesh the same values, so a
  namespace tier's own value is left out (with a warning) when its render does not need it.
  The derived lists (`global.remote`, `global.local`, `import`, `export`) are left out.
* failover: meshfed's values extension `global.failover` is derived too. Its policy (enabled,
  mode, outlierDetection), where documents set it, must agree and becomes `spec.failover`; a
  repository without it imports as `failover: {enabled: false}` (a Federation's default is on).
  Each host's own entry becomes the service's `failover`, its weights the exports' `weight`.
* authorization: meshfed's values extension `global.authorization` is derived too: on in any
  document makes `spec.authorization: importers-only`; each cluster's `trustDomain` and
  `trustDomainAliases` (its documents must agree) become its mesh's; an importer's listed
  `serviceAccounts` become its import's (the importer named by `mesh`, else by its trust domain).
* order: meshes and services are ordered so that the derived lists keep the order the documents
  wrote (Helm renders in list order), else by cluster name and hostname.

What a Federation cannot say is an error naming the file and field, never a different
Federation. And the last word is the renders: every application is rendered again from the
Federation as `meshfed federation scaffold` would write it, and must give the same objects, up
to the order of the objects and of the lists Istio reads as sets (`unordered`), which is reported.
"""
from __future__ import annotations

import copy
import heapq
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..values.authorization import IMPORTERS_ONLY, TRUST_DOMAIN
from ..values.checks import MESH, NAMESPACE
from ..values.defaults import DEFAULTS_NAME, defaults_layer
from ..values.diagnostics import Diagnostic, InputError, error, warning
from ..values.meshfederation import Resolver
from ..values.federation_spec import FederationSpec, relative
from .applications import application_documents
from ..values.formats import is_dns_label
from ..values.merge import Layer, Merged, Path_, difference, format_path, merge_layers
from ..values.model import Entry, Port, lookup
from ..values.options import BY_DEST, Options
from ..output.serialize import dump_yaml
from ..pipeline import render_layers
from ..values.source import display, find_root
from ..output.unordered import compare_objects
from .repo import Cluster, Doc, Repo, load, load_paths

DERIVED: tuple[Path_, ...] = (("global", "remote"), ("global", "local"), ("global", "failover"),
                              ("global", "authorization"), ("import",), ("export",))
FAILOVER_POLICY = ("enabled", "mode", "outlierDetection")  # global.failover's keys a Federation says once
_ABSENT = object()


class _Service:
    """A service as the documents describe it: its exports and imports, and where each is written."""

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname
        self.exports: dict[tuple[str, str], dict[str, Any] | None] = {}  # (mesh, namespace) -> labelSelector
        self.imports: set[tuple[str, str]] = set()
        self.entries: list[tuple[Doc, Entry, bool]] = []  # (document, entry, is a global.local.export)
        self.ports: list[dict[str, Any]] | None = None  # its `ports` in the Federation
        self.failover: dict[str, Any] | None = None  # its own `failover` (global.failover.services[])
        self.weights: dict[str, int] = {}  # exporting mesh -> its weight
        self.accounts: dict[tuple[str, str], list[str]] = {}  # (importing mesh, namespace) -> serviceAccounts

    def exporters(self) -> set[str]:
        return {mesh for mesh, _ in self.exports}


class _Order:
    """An order of names that follows the lists the documents wrote where they agree, else the
    names' `rank`. A list that contradicts the ones read before it is noted (`conflicts`: file,
    field, message), for when the renders then differ."""

    def __init__(self) -> None:
        self.after: dict[str, set[str]] = {}
        self.conflicts: list[tuple[str, str, str]] = []

    def follow(self, names: list[str], where: tuple[str, str]) -> None:
        for a, b in zip(names, names[1:]):
            if a == b or b in self.after.get(a, ()):  # known: the order has no cycle, so b cannot reach a
                continue
            if self._reaches(b, a):
                self.conflicts.append((*where, f"lists {a} before {b}, against the lists read before it"))
            else:
                self.after.setdefault(a, set()).add(b)

    def _reaches(self, start: str, goal: str) -> bool:
        seen, todo = {start}, [start]
        while todo:
            for nxt in self.after.get(todo.pop(), ()):
                if nxt == goal:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    def sort(self, names: list[str], rank: dict[str, Any]) -> list[str]:
        before = {n: 0 for n in names}
        for a in names:
            for b in self.after.get(a, ()):
                before[b] += 1
        ready = [(rank[n], n) for n in names if not before[n]]
        heapq.heapify(ready)
        out = []
        while ready:
            _, n = heapq.heappop(ready)
            out.append(n)
            for b in sorted(self.after.get(n, ())):
                before[b] -= 1
                if not before[b]:
                    heapq.heappush(ready, (rank[b], b))
        return out


# --------------------------------------------------------------------------------------------
# Values


def _same(a: Any, b: Any) -> bool:
    """Equal as YAML values (True is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b)


def _written(merged: Merged, layers: list[Layer], path: Path_ = ()) -> tuple[bool, Any]:
    """The merged values the documents supplied (not the chart defaults): (any, value). Keys
    come in the order the documents' `layers` wrote them, not the chart defaults' order."""
    value = lookup(merged.values, path) if path else merged.values
    layer = merged.origins.get(path)
    if layer is not None and layer.via:  # set by a patch: whole (provenance below it is stale)
        return True, copy.deepcopy(value)
    if isinstance(value, dict):
        order: dict[Any, None] = {}
        for la in layers:
            here = lookup(la.data, path) if path else la.data
            if isinstance(here, dict):
                order.update(dict.fromkeys(k for k in here if k in value))
        out = {}
        for key in [*order, *(k for k in value if k not in order)]:
            keep, inner = _written(merged, layers, (*path, key))
            if keep:
                out[key] = inner
        own = layer is not None and layer.name != DEFAULTS_NAME and not value
        return bool(out) or own, out
    layer = merged.origin(path)
    return layer is not None and layer.name != DEFAULTS_NAME, copy.deepcopy(value)


def _removals(out: dict[str, Any], defaults: dict[str, Any], values: dict[str, Any]) -> None:
    """A null in `out` for each chart default the documents removed (by a null or a patch)."""
    for key, default in defaults.items():
        if key not in values:
            out[key] = None
        elif isinstance(default, dict) and isinstance(values[key], dict):
            inner = out[key] if isinstance(out.get(key), dict) else {}
            _removals(inner, default, values[key])
            if inner:
                out[key] = inner


def _without_derived(values: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(values)
    for path in DERIVED:
        parent: Any = lookup(out, path[:-1]) if len(path) > 1 else out
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
    if out.get("global") == {}:
        del out["global"]
    return out


def written_values(doc: Doc) -> dict[str, Any]:
    """What a document's values are over the chart defaults, without the derived lists."""
    assert doc.merged is not None and doc.layout is not None and doc.fed is not None
    _, out = _written(doc.merged, doc.fed.layers)
    _removals(out, defaults_layer(doc.layout, MESH in doc.tiers), doc.merged.values)
    return _without_derived(out)


def _common(maps: list[dict[str, Any]]) -> dict[str, Any]:
    """The leaves (non-empty maps are not leaves) every map has, with the same value."""
    out: dict[str, Any] = {}
    first, rest = maps[0], maps[1:]
    for key, value in first.items():
        others = [m.get(key, _ABSENT) for m in rest]
        if isinstance(value, dict) and value and all(isinstance(o, dict) and o for o in others):
            inner = _common([value, *others])
            if inner:
                out[key] = inner
        elif all(_same(o, value) for o in others):
            out[key] = copy.deepcopy(value)
    return out


def _without(values: dict[str, Any], common: dict[str, Any]) -> dict[str, Any]:
    """`values` without the leaves of `common` (`common` is `_common` of maps including it)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in common:
            out[key] = value
        elif isinstance(value, dict) and value and isinstance(common[key], dict) and common[key]:
            inner = _without(value, common[key])
            if inner:
                out[key] = inner
    return out


def _first_difference(a: Any, b: Any, path: Path_ = ()) -> Path_ | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            found = _first_difference(a.get(key, _ABSENT), b.get(key, _ABSENT), (*path, key))
            if found is not None:
                return found
        return None
    return None if _same(a, b) else path


def _first_own(mine: Any, theirs: Any, path: Path_ = ()) -> Path_ | None:
    """The first path of `mine` where `theirs` has another value or none."""
    if isinstance(mine, dict) and isinstance(theirs, dict) and mine:
        for key, value in mine.items():
            found = _first_own(value, theirs.get(key, _ABSENT), (*path, key))
            if found is not None:
                return found
        return None
    return None if _same(mine, theirs) else path


# --------------------------------------------------------------------------------------------
# Reading the repository


class _Importer:
    """One import: what the repository says, gathered and checked, then the Federation built."""

    def __init__(self, repo: Repo, out: Path, root: Path) -> None:
        self.repo = repo
        self.out = out  # the Federation's file, resolved (for stdout: one in the working directory)
        self.root = root
        self.problems: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []
        self.idle: list[Doc] = []  # mesh-tier documents that render nothing, as they allow: no application
        self.cluster_dir: dict[str, str] = {}  # mesh -> cluster directory name
        self.services: dict[str, _Service] = {}
        self.gateways: dict[str, dict[str, Any]] = {}  # mesh -> {network, addresses, port, locality}
        self.trust: dict[str, tuple[Doc, dict[str, Any]]] = {}  # mesh -> its trustDomain(Aliases), where read
        self.gateway_at: dict[str, tuple[str, str]] = {}
        self.mesh_order = _Order()
        self.service_order = _Order()
        self.reordered: list[str] = []  # what the Federation's applications render in another order

    def fail(self, message: str, file: str | None, field: str = "") -> None:
        self.problems.append(error(message, file, field))

    # -- documents and clusters ------------------------------------------------------------

    def documents(self) -> list[Cluster]:
        """The clusters whose documents a Federation can stand for (problems recorded)."""
        for d in self.repo.docs:
            if d.fed is not None and d.fed.derivation is not None:
                self.fail("already derived from a Federation (spec.federation): import the repository before "
                          "it names one", d.source, "spec.federation")
                continue
            if d.cluster is None:
                self.fail("belongs to no mesh: neither it nor its bases set spec.mesh, and it lies in no cluster's "
                          "directory, so no Federation mesh stands for it", d.source)
            if d.tiers == {MESH, NAMESPACE}:
                self.fail("renders both tiers (scope all); a Federation's applications are the mesh tier and each "
                          "namespace apart: split the document", d.source, "spec.scope")
            elif NAMESPACE in d.tiers and not d.namespace:
                self.fail("a namespace-tier document needs metadata.namespace: a Federation lists imports and "
                          "exports by namespace", d.source, "metadata.namespace")
            for patch in d.fed.patches if d.fed is not None else ():
                touched = _patched_derived(patch.op)
                if touched is not None:
                    self.fail(f"this patch changes {touched}, which a Federation derives from its meshes and "
                              "services: write the list itself", patch.source, f"spec.patches[{patch.index}]")
            if d.ok and d.fed is not None and d.fed.options.allow_empty and not d.objects():
                field = BY_DEST["allow_empty"].document
                assert field is not None  # the option is a document field (see the option table)
                if d.tiers == {MESH}:  # a mesh that only imports: the Federation scaffolds no mesh tier for it
                    self.idle.append(d)
                    self.warnings.append(Diagnostic(
                        "info", f"renders no objects ({field}): the Federation has no mesh-tier application for mesh "
                        f"{d.mesh.name if d.mesh else '(unknown)'}, only its namespaces' (nothing to sync there)",
                        d.source, field))
                    continue
                self.fail(f"renders no objects ({field}); the application a Federation scaffolds for it has no "
                          f"{BY_DEST['allow_empty'].name} and would fail", d.source, field)
        first = next((d for d in self.repo.docs if d.layout is not None), None)
        for d in self.repo.docs:
            if first is not None and d.layout not in (None, first.layout):
                self.fail(f"layout {d.layout}, but {first.source} has layout {first.layout}; a Federation has one "
                          "layout for every mesh", d.source, "spec.layout" if d.fed and d.fed.options.layout else "")
        clusters = []
        for c in self.repo.clusters:
            if c.mesh_doc is None:
                self.fail(f"mesh {c.mesh} has namespace-tier documents but no mesh-tier document; a Federation "
                          "scaffolds a mesh tier for every mesh", c.decl.file, f"{c.decl.field}.name")
                continue
            self._cluster_directory(c)
            seen: dict[str, Doc] = {}
            for d in c.ns_docs:
                if d.namespace and seen.setdefault(d.namespace, d) is not d:
                    self.fail(f"namespace {d.namespace} of mesh {c.mesh} is also rendered by {seen[d.namespace].source}; "
                              "a Federation has one application per mesh and namespace", d.source, "metadata.namespace")
            clusters.append(c)
        owners: dict[str, str] = {}
        for c in clusters:
            name = self.cluster_dir.get(c.mesh)
            if name is not None and owners.setdefault(name, c.mesh) != c.mesh:
                self.fail(f"cluster directory {name} holds the documents of meshes {owners[name]} and {c.mesh}; a "
                          "Federation gives each mesh a cluster of its own", c.decl.file, f"{c.decl.field}.name")
        return clusters

    def _cluster_directory(self, c: Cluster) -> None:
        """The first directory below the DIR given, the same for every document of the mesh."""
        first: tuple[str, Doc] | None = None
        for d in c.docs:
            if d.src.file is None:  # read from an Argo CD Application: its destination names the cluster
                if d.src.cluster is not None and first is None:
                    first = (d.src.cluster, d)
                continue
            parts = d.src.file.relative_to(d.src.top).parts if d.src.file.is_relative_to(d.src.top) else ()
            if len(parts) < 2:
                self.fail("lies directly in the directory given: a mesh's cluster is the directory below it "
                          "(<dir>/<cluster>/<app>/), import its parent", d.source)
                continue
            if first is None:
                first = (parts[0], d)
            elif parts[0] != first[0]:
                self.fail(f"a document of mesh {c.mesh} in cluster directory {parts[0]}, but {first[1].source} is in "
                          f"{first[0]}; a mesh's documents share one cluster directory", d.source)
        if first is not None and not is_dns_label(first[0]):
            self.fail(f"cluster directory {first[0]} is not a DNS label, as a Federation's cluster names must be (they "
                      "name Argo CD clusters): rename the directory", first[1].source)
        elif first is not None:
            self.cluster_dir[c.mesh] = first[0]

    # -- remotes: gateways -----------------------------------------------------------------

    def remotes(self, clusters: list[Cluster]) -> None:
        meshes = {c.mesh: c for c in clusters}
        for c in clusters:
            doc = c.mesh_doc
            if doc is None or doc.merged is None:
                continue
            entries = lookup(doc.merged.values, ("global", "remote")) or []
            self.mesh_order.follow([r["mesh"] for r in entries if isinstance(r, dict) and "mesh" in r],
                                   doc.at(("global", "remote")))
            for i, r in enumerate(entries):
                path: Path_ = ("global", "remote", i)
                other = meshes.get(r.get("mesh"))
                if other is None:
                    self.fail(f"mesh {r.get('mesh')} is not a mesh of the directories imported (no mesh-tier document "
                              "declares it); a Federation derives remotes from its own meshes", *doc.at((*path, "mesh")))
                    continue
                if other is c:
                    self.fail("the cluster's own mesh: a mesh does not import from itself", *doc.at((*path, "mesh")))
                    continue
                if r.get("network") != other.network:
                    self.fail(f"network {r.get('network')}, but mesh {other.mesh} declares network {other.network} "
                              f"({other.decl.file}: {other.decl.field}.network)", *doc.at((*path, "network")))
                gateway = {k: r.get(k, _ABSENT) for k in ("addresses", "port", "locality")}
                seen = self.gateways.setdefault(other.mesh, gateway)
                if seen is gateway:
                    self.gateway_at[other.mesh] = doc.at(path)
                    continue
                for key in ("addresses", "port", "locality"):
                    if not _same(seen[key], gateway[key]):
                        file, field = self.gateway_at[other.mesh]
                        self.fail(f"{key} {_shown(gateway[key])} of mesh {other.mesh} disagrees with {file}: {field}.{key} "
                                  f"({_shown(seen[key])}); a Federation gives each mesh one gateway",
                                  *doc.at((*path, key)))

    # -- services ----------------------------------------------------------------------------

    def service(self, host: str) -> _Service:
        return self.services.setdefault(host, _Service(host))

    def collect_services(self, clusters: list[Cluster]) -> None:
        for c in clusters:
            mesh_doc = c.mesh_doc
            assert mesh_doc is not None and mesh_doc.values is not None
            local = self._entries(mesh_doc, mesh_doc.values.local_exports, "global.local.export")
            for e in local:
                self.service(e.hostname).entries.append((mesh_doc, e, True))
            exported: dict[str, Doc] = {}
            for d in c.ns_docs:
                if d.values is None or not d.namespace:
                    continue
                for e in self._entries(d, d.values.exports, "export"):
                    svc = self.service(e.hostname)
                    svc.exports[(c.mesh, d.namespace)] = copy.deepcopy(e.label_selector)
                    svc.entries.append((d, e, False))
                    exported.setdefault(e.hostname, d)
                for e in self._entries(d, d.values.imports, "import"):
                    svc = self.service(e.hostname)
                    svc.imports.add((c.mesh, d.namespace))
                    svc.entries.append((d, e, False))
            local_hosts = {e.hostname for e in local}
            for e in local:
                if e.hostname not in exported:
                    self.fail(f"{e.hostname} is exported by the mesh tier but by none of mesh {c.mesh}'s namespace "
                              "tiers; a Federation exports a service from a namespace", *mesh_doc.at(e.path))
            for host, d in exported.items():
                if host not in local_hosts:
                    entry = next(e for e in d.values.exports if e.hostname == host)  # type: ignore[union-attr]
                    self.fail(f"{host} is exported by this namespace but missing from the mesh tier's "
                              f"global.local.export ({mesh_doc.source}); a Federation exports it from both",
                              *d.at(entry.path))

    def _entries(self, doc: Doc, entries: tuple[Entry, ...], name: str) -> tuple[Entry, ...]:
        if entries:
            self.service_order.follow([e.hostname for e in entries], doc.at(entries[0].path[:-1]))
        seen: set[str] = set()
        for e in entries:
            if e.hostname in seen:
                self.fail(f"{e.hostname} is listed twice in {name}; a Federation lists it once",
                          *doc.at((*e.path, "hostname")))
            seen.add(e.hostname)
        return entries

    def check_imports(self, clusters: list[Cluster]) -> None:
        """Every import served by another mesh, and every remote's importedServices exactly the
        services it exports that the mesh imports (what the Federation derives)."""
        for svc in self.services.values():
            for d, e, local in svc.entries:
                if local or e.path[0] != "import" or d.cluster is None:
                    continue
                if d.cluster.mesh in svc.exporters():
                    self.fail(f"{svc.hostname} is exported by this namespace's own mesh {d.cluster.mesh}: a mesh serves "
                              "its own services locally", *d.at(e.path))
                elif not svc.exporters():
                    self.fail(f"no mesh of the directories imported exports {svc.hostname}", *d.at(e.path))
        # Built once (asked for every cluster and remote): mesh -> the hosts it imports, exports.
        imports_of: dict[str, set[str]] = {}
        exports_of: dict[str, set[str]] = {}
        for h, s in self.services.items():
            for m, _ in s.imports:
                imports_of.setdefault(m, set()).add(h)
            for m in s.exporters():
                exports_of.setdefault(m, set()).add(h)
        for c in clusters:
            doc = c.mesh_doc
            if doc is None or doc.values is None:
                continue
            imported = imports_of.get(c.mesh, set())
            listed: dict[str, int] = {}
            for r in doc.values.remotes:
                if r.mesh is None or (r.mesh not in self.cluster_dir and not any(o.mesh == r.mesh for o in clusters)):
                    continue  # reported by remotes()
                listed[r.mesh] = r.index
                self.service_order.follow(list(r.imported), doc.at((*r.path, "importedServices")))
                exported = exports_of.get(r.mesh, set())
                seen: set[str] = set()
                for k, host in enumerate(r.imported):
                    where = doc.at((*r.path, "importedServices", k))
                    if host in seen:
                        self.fail(f"{host} is listed twice", *where)
                    elif host not in exported:
                        self.fail(f"{host}: mesh {r.mesh} does not export it (in no namespace tier's export)", *where)
                    elif host not in imported:
                        self.fail(f"{host}: no namespace tier of mesh {c.mesh} imports it; a Federation lists only "
                                  "what a namespace imports", *where)
                    seen.add(host)
                for host in sorted((imported & exported) - seen):
                    self.fail(f"{host} is imported by a namespace of mesh {c.mesh} and exported by mesh {r.mesh}, but "
                              "missing here; a Federation imports it from every mesh that exports it",
                              *doc.at((*r.path, "importedServices")))
                if not r.imported:
                    self.fail(f"mesh {r.mesh} is listed with no importedServices; a Federation lists only the meshes "
                              "a mesh imports from", *doc.at(r.path))
            for host in sorted(imported):
                for mesh in sorted(self.services[host].exporters() - set(listed) - {c.mesh}):
                    self.fail(f"{host} is imported by a namespace of mesh {c.mesh} and exported by mesh {mesh}, which "
                              "global.remote does not list; a Federation imports it from every mesh that exports it",
                              *doc.at(("global", "remote")))

    def ports(self, svc: _Service) -> list[dict[str, Any]] | None:
        """The service's ports: the first namespace entry's own, when any lists them; every entry
        must see the same ports with them (a global.local.export: the same numbers)."""
        chosen: tuple[Doc, Entry] | None = next(((d, e) for d, e, local in svc.entries if not local and e.own_ports),
                                                None)
        ports = None
        if chosen is not None:
            ports = copy.deepcopy(lookup(chosen[0].merged.values, (*chosen[1].path, "ports")))  # type: ignore[union-attr]
        for d, e, local in svc.entries:
            assert d.values is not None
            before = d.values.ports_of(e)
            after = chosen[0].values.ports_of(chosen[1]) if chosen is not None else d.values.default_ports  # type: ignore[union-attr]
            if _port_key(before, local) != _port_key(after, local):
                there = ": ".join(chosen[0].at((*chosen[1].path, "ports"))) if chosen else \
                    "each mesh's global.defaultServicePorts"
                own = "" if e.own_ports else " (global.defaultServicePorts)"
                self.fail(f"{svc.hostname} has ports {_ports_text(before)}{own} here but {_ports_text(after)} in "
                          f"{there}; a Federation gives a service one list of ports",
                          *d.at((*e.path, "ports" if e.own_ports else "hostname")))
        return ports

    def collect_failover(self) -> dict[str, Any]:
        """`spec.failover` from the documents' `global.failover`, and each service's own entry;
        documents that set them must agree (a Federation says them once)."""
        policy: tuple[Doc, dict[str, Any]] | None = None
        own: dict[str, tuple[Doc, Path_, dict[str, Any]]] = {}
        for d in self.repo.docs:
            values = lookup(d.merged.values, ("global", "failover")) if d.merged is not None else None
            if not isinstance(values, dict):
                continue
            mine = {k: values[k] for k in FAILOVER_POLICY if k in values}
            if policy is None:
                policy = (d, mine)
            elif not _same(policy[1], mine):
                self.fail(f"global.failover differs from {policy[0].source}'s; a Federation has one failover policy "
                          "(per-host settings go to global.failover.services)", *d.at(("global", "failover")))
            for i, entry in enumerate(values.get("services") or ()):
                if not isinstance(entry, dict) or entry.get("hostname") not in self.services:
                    continue
                path = ("global", "failover", "services", i)
                seen = own.setdefault(entry["hostname"], (d, path, entry))
                if not _same(seen[2], entry):
                    self.fail(f"the failover of {entry['hostname']} differs from {seen[0].source}: "
                              f"{format_path(seen[1])}; a Federation says a service's failover once", *d.at(path))
        for host, (_, _, entry) in own.items():
            svc = self.services[host]
            settings = {k: copy.deepcopy(v) for k, v in entry.items() if k not in ("hostname", "weights")}
            svc.failover = settings or None
            svc.weights = dict(entry.get("weights") or {})
        if policy is None:
            return {"enabled": False}
        out = copy.deepcopy(policy[1])
        if out.get("enabled", False):
            del out["enabled"]  # on is a Federation's default
        else:
            out["enabled"] = False
        return out

    def collect_authorization(self, clusters: list[Cluster]) -> bool:
        """Whether any document turns `global.authorization` on; each mesh's trust domain and
        aliases (`self.trust`), and the importers' service accounts onto the services."""
        on = False
        found: list[tuple[Doc, dict[str, Any]]] = []
        for c in clusters:
            for d in c.docs:
                values = lookup(d.merged.values, ("global", "authorization")) if d.merged is not None else None
                if not isinstance(values, dict):
                    continue
                on = on or bool(values.get("enabled"))
                mine = {k: values[k] for k in ("trustDomain", "trustDomainAliases") if k in values}
                seen = self.trust.setdefault(c.mesh, (d, mine))
                if not _same(seen[1], mine):
                    self.fail(f"the trust domain of mesh {c.mesh} differs from {seen[0].source}'s; a mesh has one",
                              *d.at(("global", "authorization")))
                found.append((d, values))
        by_domain = {t[1].get("trustDomain", TRUST_DOMAIN): mesh for mesh, t in self.trust.items()}
        for d, values in found:
            for i, entry in enumerate(values.get("services") or ()):
                host = entry.get("hostname") if isinstance(entry, dict) else None
                svc = self.services.get(host) if isinstance(host, str) else None
                if svc is None:
                    continue
                for j, imp in enumerate(entry.get("importers") or ()):
                    if not isinstance(imp, dict) or imp.get("serviceAccounts") is None:
                        continue
                    mesh = imp.get("mesh") or by_domain.get(imp.get("trustDomain", TRUST_DOMAIN))
                    namespace = imp.get("namespace")
                    if not isinstance(mesh, str) or not isinstance(namespace, str) or (mesh, namespace) not in svc.imports:
                        who = mesh or f"of trust domain {imp.get('trustDomain', TRUST_DOMAIN)}"
                        self.fail(f"service accounts are listed for mesh {who}, namespace {namespace}, which does not "
                                  f"import {svc.hostname}",
                                  *d.at(("global", "authorization", "services", i, "importers", j)))
                        continue
                    svc.accounts[(mesh, namespace)] = list(imp["serviceAccounts"])
        return on

    # -- the Federation --------------------------------------------------------------------------

    def base_layers(self) -> list[Layer]:
        """The plain values files every member's values start with, in order."""
        chains = [d.fed.layers for d in self.repo.docs if d.fed is not None]
        out = []
        for layers in zip(*chains):
            first = layers[0]
            if not Path(first.name).is_file() or not all(
                    not la.prefix and not la.via and _same_file(la.name, first.name) for la in layers):
                break
            out.append(first)
        return out

    def document(self, clusters: list[Cluster], failover: dict[str, Any], authz: bool) -> dict[str, Any]:
        """The Federation document, from what the checks gathered."""
        bases = self.base_layers()
        layout = next(d.layout for d in self.repo.docs if d.layout is not None)
        start = _without_derived(merge_layers(bases).values)
        rest = {c.mesh: difference(start, written_values(c.mesh_doc)) for c in clusters}  # type: ignore[arg-type]
        shared = _common(list(rest.values()))
        names = self.mesh_order.sort([c.mesh for c in clusters],
                                     {c.mesh: (self.cluster_dir.get(c.mesh, c.mesh), c.mesh) for c in clusters})
        by_mesh = {c.mesh: c for c in clusters}
        rank = {m: i for i, m in enumerate(names)}
        meshes = [self._mesh(by_mesh[m], _without(rest[m], shared)) for m in names]
        hosts = self.service_order.sort(sorted(self.services), {h: h for h in self.services})
        services = [self._service(self.services[h], rank) for h in hosts]
        spec: dict[str, Any] = {"layout": layout}
        if bases:
            spec["base"] = [relative(Path(la.name).resolve(), self.out.parent) for la in bases]
        if shared:
            spec["values"] = shared
        if failover:
            spec["failover"] = failover
        if authz:
            spec["authorization"] = IMPORTERS_ONLY
        spec["meshes"] = meshes
        if services:
            spec["services"] = services
        return {"apiVersion": "meshfed.io/v1alpha1", "kind": "Federation", "spec": spec}

    def _mesh(self, c: Cluster, values: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"name": c.mesh, "network": c.network}
        cluster = self.cluster_dir.get(c.mesh)
        if cluster is not None and cluster != c.mesh:
            out["cluster"] = cluster
        gateway = self.gateways.get(c.mesh, {})
        if gateway.get("locality", _ABSENT) is not _ABSENT:
            out["locality"] = gateway["locality"]
        reach = {k: copy.deepcopy(gateway[k]) for k in ("addresses", "port") if gateway.get(k, _ABSENT) is not _ABSENT}
        if reach:
            out["gateway"] = reach
        out.update(copy.deepcopy(self.trust[c.mesh][1]) if c.mesh in self.trust else {})
        if values:
            out["values"] = values
        return out

    def _service(self, svc: _Service, rank: dict[str, int]) -> dict[str, Any]:
        out: dict[str, Any] = {"hostname": svc.hostname}
        if svc.ports:
            out["ports"] = svc.ports
        if svc.failover:
            out["failover"] = svc.failover
        exports = []
        for (mesh, ns), selector in sorted(svc.exports.items(), key=lambda kv: (rank[kv[0][0]], kv[0][1])):
            side: dict[str, Any] = {"mesh": mesh, "namespace": ns}
            if selector is not None:
                side["labelSelector"] = selector
            if mesh in svc.weights:
                side["weight"] = svc.weights[mesh]
            exports.append(side)
        if exports:
            out["exports"] = exports
        if svc.imports:
            out["imports"] = [{"mesh": m, "namespace": ns, **({"serviceAccounts": svc.accounts[(m, ns)]}
                                                               if (m, ns) in svc.accounts else {})}
                              for m, ns in sorted(svc.imports, key=lambda s: (rank[s[0]], s[1]))]
        return out

    # -- the renders ---------------------------------------------------------------------------

    def verify(self, doc: dict[str, Any], clusters: list[Cluster]) -> None:
        """Every application renders the same objects from the Federation as from its document, up to order."""
        spec = Resolver(self.root).read_spec(doc, display(self.out), self.out)
        if spec.diagnostics:  # the checks above should have caught these in the documents
            raise InputError(spec.diagnostics)
        apps = {}
        for app, scaffolded in application_documents(spec, self.out.name):
            tier = scaffolded["spec"]["scope"]
            apps[(scaffolded["spec"]["federation"]["mesh"], tier,
                  scaffolded["metadata"]["namespace"] if tier == NAMESPACE else None)] = (app, scaffolded)
        for c in clusters:
            for d in c.docs:
                tier = MESH if MESH in d.tiers else NAMESPACE
                found = apps.get((c.mesh, tier, d.namespace if tier == NAMESPACE else None))
                if found is None and d in self.idle:
                    continue
                if found is None:
                    what = f"namespace {d.namespace} of mesh {c.mesh}" if tier == NAMESPACE else f"mesh {c.mesh}"
                    self.fail(f"the Federation has no application for it: {what} neither imports nor exports a "
                              "service, so it renders nothing", d.source)
                    continue
                self._compare(d, c, spec, *found)

    def _compare(self, d: Doc, c: Cluster, spec: FederationSpec, app: str, scaffolded: dict[str, Any]) -> None:
        scope = scaffolded["spec"]["scope"]
        namespace = scaffolded["metadata"].get("namespace")
        mesh = spec.mesh(c.mesh)
        assert mesh is not None
        opts = Options(allow_empty=True).over(Options(scope=scope, namespace=namespace, layout=spec.layout))
        rendering = render_layers(spec.layers_for(mesh, namespace, scope == NAMESPACE), spec.patches, opts)
        problems = [p for p in rendering.diagnostics if p.severity == "error"]
        if not problems:
            before = [o for _, _, o in d.objects()]
            after = list(rendering.objects())
            same = compare_objects(before, after)
            if same.equal:  # equal, or equal up to the order of what a cluster reads as sets
                self.reordered += [f"{app}: {what}" for what in same.reordered]
                self._dropped(d, c)
                return
        configured = lookup(d.merged.values, ("global", "configNamespace")) if d.merged is not None else None
        if scope == MESH and d.namespace and d.namespace != (namespace or configured):
            self.fail(f"the mesh tier renders into namespace {d.namespace}, but its global.configNamespace is "
                      f"{namespace or configured or 'the chart default'}; a Federation renders each mesh tier into "
                      "its configNamespace: make them agree", d.source, "metadata.namespace")
            return
        why = f"{problems[0]}" if problems else same.difference
        hint = self._hint(d, c) + "".join(
            f"; the lists disagree on their order: {file}: {field} {message}, and a Federation lists its meshes and "
            "services in one order" for file, field, message in [*self.mesh_order.conflicts,
                                                                  *self.service_order.conflicts][:1])
        self.fail(f"the application a Federation scaffolds for it ({app}) would render differently ({why}){hint}",
                  d.source)

    def _dropped(self, d: Doc, c: Cluster) -> None:
        """A warning for a namespace tier's own value the Federation leaves out (it renders the
        same without it): said once, in the mesh, the value is gone."""
        mesh_doc = c.mesh_doc
        if d is mesh_doc or mesh_doc is None:
            return
        path = _first_own(written_values(d), written_values(mesh_doc))
        if path is not None:
            self.warnings.append(warning(
                f"not in the Federation: this value differs from the mesh tier's ({mesh_doc.source}), and a Federation "
                "gives every tier of a mesh the same values (without it, this application renders the same)",
                *d.at(path)))

    def _hint(self, d: Doc, c: Cluster) -> str:
        """Where a namespace tier's values differ from its mesh tier's (a Federation gives every
        tier of a mesh the same values)."""
        mesh_doc = c.mesh_doc
        if d is mesh_doc or mesh_doc is None or d.merged is None or mesh_doc.merged is None:
            return ""
        mine = _written(d.merged, d.fed.layers)[1].get("global", {})  # type: ignore[union-attr]
        theirs = _written(mesh_doc.merged, mesh_doc.fed.layers)[1].get("global", {})  # type: ignore[union-attr]
        path = _first_difference(mine, theirs)
        if path is None:
            return ""
        full = ("global", *path)
        file, field = d.at(full) if lookup(d.merged.values, full) is not None else mesh_doc.at(full)
        return (f"; its values differ from its mesh tier's ({mesh_doc.source}) at {file}: {field}, and a Federation "
                "gives every tier of a mesh the same values")


def _port_key(ports: tuple[Port, ...], numbers_only: bool) -> tuple[Any, ...]:
    return tuple(p.number if numbers_only else tuple(p.as_dict().items()) for p in ports)


def _ports_text(ports: tuple[Port, ...]) -> str:
    return "[" + ", ".join(f"{p.number}/{p.name}/{p.protocol}" + (f"->{p.target_port}" if p.target_port else "")
                           for p in ports) + "]"


def _shown(value: Any) -> str:
    if value is _ABSENT:
        return "(none)"
    return "[" + ", ".join(map(str, value)) + "]" if isinstance(value, list) else str(value)


def _patched_derived(op: dict[str, Any]) -> str | None:
    """The derived list a patch operation writes to (or through), if any."""
    if op.get("op") == "test":
        return None
    for key in ("path", "from") if op.get("op") == "move" else ("path",):
        pointer = op.get(key)
        if not isinstance(pointer, str):
            continue
        parts = tuple(p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]) if pointer else ()
        for derived in DERIVED:
            n = min(len(parts), len(derived))
            if parts[:n] == derived[:n]:
                return format_path(derived) if len(parts) >= len(derived) else pointer or "/"
    return None


def _same_file(a: str, b: str) -> bool:
    return a == b or Path(a).resolve() == Path(b).resolve()


# --------------------------------------------------------------------------------------------
# Entry points


def import_repository(paths: list[Path], out: Path | None, root: Path | None) -> tuple[str, list[Diagnostic]]:
    """The Federation's YAML for the repository below `paths` (its `base` paths relative to `out`;
    None: the working directory) and warnings. InputError, with every problem found, when a
    Federation cannot reproduce the repository."""
    return import_repo(load_paths(list(paths), root), out, root, paths)


def import_applications(paths: list[Path], repos: list[str], out: Path | None,
                        root: Path | None) -> tuple[str, list[Diagnostic], list[Any]]:
    """The Federation's YAML for the Argo CD Applications of the charts below `paths` (their
    values read from the clones `repos` names, `URL=DIR`), notes and warnings, and the
    Applications (`argocdapps.Application`)."""
    from . import argocdapps
    apps, sources, notes = argocdapps.read(paths, repos, root)
    text, warnings = import_repo(load(sources, [], [Path.cwd()]), out, root)
    return text, [*notes, *warnings], apps


def import_repo(repo: Repo, out: Path | None, root: Path | None,
                paths: Sequence[Path] = ()) -> tuple[str, list[Diagnostic]]:
    """The Federation's YAML for `repo` (see `import_repository`); `paths`, the directories the
    command line named, choose the root as every command's do (none: the working directory's)."""
    errors = repo.load_errors()
    if errors:
        raise InputError(errors)
    target = (out if out is not None else Path("federation.yaml")).resolve()
    build = _Importer(repo, target, Path(find_root(root, paths)))
    clusters = build.documents()
    if not build.problems:
        build.remotes(clusters)
        build.collect_services(clusters)
        build.check_imports(clusters)
        for svc in build.services.values():
            svc.ports = build.ports(svc)
    failover = build.collect_failover() if not build.problems else {}
    authz = build.collect_authorization(clusters) if not build.problems else False
    if build.problems:
        raise InputError(list(dict.fromkeys(build.problems)))
    doc = build.document(clusters, failover, authz)
    build.verify(doc, clusters)
    if build.problems:
        raise InputError(build.problems)
    reordered = [Diagnostic("info", f"{what} (an order a cluster does not see)") for what in build.reordered]
    return dump_yaml([doc]).removeprefix("---\n"), [*build.warnings, *reordered]


def write(text: str, out: Path, force: bool, extra: dict[Path, str] | None = None) -> None:
    """Write the Federation to `out` (and the files `extra`, all or none) through the safe writer
    (staged, then renamed into place; never through a link, never over a special file); an
    existing file is replaced only with `force`: it may be the Federation edited since the last
    import."""
    import os

    from ..output.safewrite import always, write_tree
    files = {out: text, **(extra or {})}
    for path in files:
        if not path.name or path.name in (".", ".."):
            raise InputError([error("not a file name", display(path))])
    top = Path(os.path.commonpath([os.path.abspath(p.parent) for p in files]))
    write_tree(top, {Path(os.path.abspath(p)).relative_to(top).as_posix(): t for p, t in files.items()},
               always if force else _exists)


def _exists(existing: bytes) -> str:
    return "exists: not overwritten (give --force to replace it)"
