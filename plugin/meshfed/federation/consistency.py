"""`meshfed check`: consistency between the clusters of a repository.

Every finding names the file and field that supplied the value (merge provenance), and both
sides of the disagreement. After the documents' own errors and the grouping findings (two
clusters with one mesh name or one network: errors; a document in no cluster, a mesh-tier
document without spec.mesh, a mesh with only namespace documents: warnings), per document:

* remotes: naming the cluster's own mesh (error); a known mesh under another network than it
  declares (error); an unknown mesh on a known cluster's network (error); an unknown mesh and
  network (warning: external?); a port other than the remote cluster's ingress port (error);
* each host a remote lists in importedServices: not in the remote cluster's global.local.export,
  or exported by none of its namespaces (error);
* namespace imports: through the egress gateway while the mesh tier has no route for the host,
  or (v1) egress the mesh tier does not deploy (error); ports (number, protocol) other than the
  exporting namespace's, for each mesh the route leads to (error);
* exports: a namespace export the mesh tier does not expose, a host exported by two namespaces of
  one cluster (warnings); a global.local.export host no cluster imports (info); one host exported
  by several clusters with different ports (error when a cluster load-balances it across them,
  else warning);
* failover that cannot work as asked, per imported host with failover on: an exporter without
  the locality mode nearest orders by while others have one (warning: nearest then means any;
  info when none has one); weights on a host one
  mesh exports, weights for a mesh that does not export it, weights in mode nearest (warnings);
  a host only one mesh exports (info: nothing to fail over to); a DestinationRule written beside
  the documents for a host meshfed emits one for, in the same namespace (warning: Istio uses
  only one of them);
* boundary authorization (`boundary`): a trust domain two meshes share, service accounts of a
  namespace that does not import the host, a policy beside the documents that binds mesh-wide;
* the part of a Federation an application reads (`spec.federation.part`) that is not the one its
  Federation gives now (error: stale, run the scaffold again).

While any document does not render, the findings that something is missing (an external mesh, a
host no cluster imports) are left out: what the broken document says is unknown. No document in
a cluster is an error (nothing would be checked). `summary` is the closing line: what was checked
and what was not.
"""
from __future__ import annotations

from ..values.diagnostics import Diagnostic, did_you_mean, error, has_errors, warning
from ..values.checks import MESH, NAMESPACE
from ..values.failover import NEAREST
from ..values.defaults import DEFAULTS_NAME
from ..values.merge import Path_
from ..values.model import Entry, Port, Remote, Values
from ..values.source import display
from . import boundary
from .repo import Cluster, Doc, Keep, Repo, port_key, ports_text


def _info(message: str, file: str, path: str) -> Diagnostic:
    return Diagnostic("info", message, file, path)


def _ports_path(e: Entry) -> Path_:
    """Where an entry's ports come from: its own list, else global.defaultServicePorts."""
    return (*e.path, "ports") if e.own_ports else ("global", "defaultServicePorts")


def _where(e: Entry) -> Path_:
    """Where a port finding about an entry is reported: its own ports, else its hostname."""
    return (*e.path, "ports") if e.own_ports else (*e.path, "hostname")


def _ports(e: Entry, ports: tuple[Port, ...]) -> str:
    text = ports_text(ports)
    return text if e.own_ports else f"{text} (global.defaultServicePorts)"


class _Checker:
    def __init__(self, repo: Repo):
        self.repo = repo
        self.out: list[Diagnostic] = []
        # Every document rendered: what no document says is known not to be said (else a finding
        # that something is missing could be an error's follow-on).
        self.complete = not repo.unexpanded and not any(has_errors(d.problems) for d in repo.docs)

    def add(self, doc: Doc | None, d: Diagnostic) -> None:
        self.repo.note(self.out, doc, d)

    # ----------------------------------------------------------------------------------------
    # Remotes: who they name, and what they claim to import

    def remotes(self, c: Cluster, d: Doc) -> None:
        v = d.values
        for r in v.remotes:
            if r.mesh is None or r.network is None:
                continue
            base = ("global", "remote", r.index)
            target = self.repo.cluster_of_mesh(r.mesh)
            if target is c:
                self.add(d, error(f"lists this cluster's own mesh {r.mesh} as a remote", *d.at((*base, "mesh"))))
                continue
            if target is None:
                owner = self.repo.cluster_of_network(r.network)
                if owner is not None and owner is not c:
                    self.add(d, error(
                        f"names mesh {r.mesh} with network {r.network}, but network {r.network} belongs to "
                        f"{owner.label}, whose mesh is {owner.mesh}", *d.at((*base, "network"))))
                elif self.complete:
                    self.add(d, warning(
                        f"remote mesh {r.mesh} (network {r.network}) is declared by no cluster under the checked "
                        "directories: an external mesh? What it exports cannot be checked"
                        f"{did_you_mean(r.mesh, [x.mesh for x in self.repo.clusters if x is not c])}",
                        *d.at((*base, "mesh"))))
                continue
            if r.network != target.network:
                self.add(d, error(
                    f"lists mesh {r.mesh} with network {r.network}, but {target.label} declares network "
                    f"{target.network} in spec.mesh", *d.at((*base, "network"))))
            self._remote_port(d, r, target)
            for j, host in enumerate(r.imported):
                self._listing(d, r, j, host, target)

    def _remote_port(self, d: Doc, r: Remote, target: Cluster) -> None:
        mesh_doc = target.mesh_doc
        port = d.values.remote_port(r)
        if mesh_doc is None or not mesh_doc.ok or port is None or not mesh_doc.values.local_exports:
            return
        tv = mesh_doc.values
        if tv.router or tv.ingress_port is None or tv.ingress_port == port:
            return
        file, path = mesh_doc.at(tv.ingress_port_path)
        written = (tv.raw.get("global") or {}).get("port" if tv.layout == "v1" else "gateways") is not None
        where = f"{file}: {path}" if written and file != DEFAULTS_NAME else "the chart default"
        self.add(d, error(
            f"connects to mesh {r.mesh} on port {port}, but the ingress gateway of {target.label} listens on port "
            f"{tv.ingress_port} ({where})", *d.at(("global", "remote", r.index, "port"))))

    def _listing(self, d: Doc, r: Remote, j: int, host: str, target: Cluster) -> None:
        if not target.readable:
            return
        where = d.at(("global", "remote", r.index, "importedServices", j))
        if target.local_export(host) is None:
            exported = [e.hostname for e in target.mesh_doc.values.local_exports] if target.mesh_doc else []
            self.add(d, error(
                f"imports {host} from mesh {r.mesh}, but {target.label} does not export it in "
                f"global.local.export{did_you_mean(host, exported)}", *where))
        elif not target.exporters(host):
            self.add(d, error(
                f"imports {host} from mesh {r.mesh}, but no namespace document of {target.label} exports it "
                "(it is in global.local.export, but no namespace's export lists it)", *where))

    # ----------------------------------------------------------------------------------------
    # Namespace imports: the egress route, and the ports

    def imports(self, c: Cluster, d: Doc) -> None:
        v = d.values
        if not v.imports:
            return
        mesh_doc = c.mesh_doc
        mv = mesh_doc.values if mesh_doc is not None and mesh_doc.ok else None
        if v.layout == "v1":
            egress = v.egress.enabled
            if egress and mv is not None and not mv.egress.enabled:
                self.add(d, error(
                    f"sends its imports to the egress gateway, but the mesh tier of {c.label} does not enable "
                    "egress: no egress Gateway or route exists", *d.at((*v.egress.path, "enabled"))))
                return
        else:
            egress = mv is not None and mv.egress.enabled
        mesh_routes = mv.meshes_by_host if mv is not None else {}
        own_routes = v.meshes_by_host
        for e in v.imports:
            h = e.hostname
            if egress and mv is not None and h not in mesh_routes:
                self.add(d, error(
                    f"imports {h} through the egress gateway, but the mesh tier of {c.label} lists {h} in no "
                    "remote's importedServices: the egress gateway has no route for it",
                    *d.at((*e.path, "hostname"))))
                continue
            routes = mesh_routes.get(h, []) if egress else own_routes.get(h, [])
            ports = v.ports_of(e)
            for r in routes:
                target = self.repo.cluster_of_mesh(r.mesh)
                if target is None or target is c:
                    continue
                for xd, x in target.exporters(h):
                    theirs = xd.values.ports_of(x)
                    if port_key(theirs) == port_key(ports):
                        continue
                    there = xd.at(_ports_path(x))
                    self.add(d, error(
                        f"imports {h} with ports {_ports(e, ports)}, but {target.name} exports it with ports "
                        f"{ports_text(theirs)} ({there[0]}: {there[1]})", *d.at(_where(e))))

    # ----------------------------------------------------------------------------------------
    # Exports: exposure, importers, and the same host from several clusters

    def exports(self, c: Cluster, imported: set[tuple[str | None, str]]) -> None:
        mesh_doc = c.mesh_doc
        if mesh_doc is None or not mesh_doc.ok:
            return
        local = {e.hostname for e in mesh_doc.values.local_exports}
        first: dict[str, tuple[Doc, str]] = {}
        for d in c.ns_docs:
            if not d.ok:
                continue
            for x in d.values.exports:
                h = x.hostname
                where = d.at((*x.path, "hostname"))
                if h in first and first[h][0] is not d:
                    other = first[h]
                    self.add(d, warning(
                        f"exports {h}, which namespace {other[0].label} of {c.name} exports too ({other[1]}): the "
                        "ingress gateway sends the traffic for it to either", *where))
                    continue
                first.setdefault(h, (d, where[0]))
                if h not in local:
                    self.add(d, warning(
                        f"exports {h}, but the mesh tier of {c.label} does not list it in global.local.export: "
                        "remote meshes cannot reach it", *where))
        for e in mesh_doc.values.local_exports if self.complete else ():
            if (c.mesh, e.hostname) not in imported:
                self.add(mesh_doc, _info(
                    f"exports {e.hostname}, but no cluster imports it from mesh {c.mesh}",
                    *mesh_doc.at((*e.path, "hostname"))))

    def conflicting_ports(self, docs: list[Doc]) -> None:
        by_host: dict[str, list[tuple[Cluster, Doc, Entry]]] = {}
        for c in self.repo.clusters:
            if not c.readable:
                continue
            hosts = sorted({x.hostname for d in c.ns_docs if d.ok for x in d.values.exports})
            for h in hosts:
                xd, x = c.exporters(h)[0]
                by_host.setdefault(h, []).append((c, xd, x))
        for h in sorted(by_host):
            exporters = by_host[h]
            c0, d0, x0 = exporters[0]
            ports0 = d0.values.ports_of(x0)
            for c, d, x in exporters[1:]:
                ports = d.values.ports_of(x)
                if port_key(ports) == port_key(ports0):
                    continue
                there = d0.at(_ports_path(x0))
                here = d.at(_where(x))
                # Who load-balances across both: a mesh tier's egress route first (its weights), else
                # a namespace with endpoints in both meshes.
                candidates = sorted((b for b in docs if b.ok and b.cluster is not None),
                                    key=lambda b: not (MESH in b.tiers and b.values.egress.enabled))
                balancer = next((b for b in candidates if {c0.mesh, c.mesh}
                                 <= {r.mesh for r in b.values.meshes_by_host.get(h, [])}), None)
                text = (f"exports {h} with ports {_ports(x, ports)}, but {c0.name} exports it with ports "
                        f"{ports_text(ports0)} ({there[0]}: {there[1]})")
                if balancer is not None:
                    self.add(d, error(f"{text}; {balancer.cluster.name} ({balancer.source}) load-balances {h} "
                                      "across both meshes, so the ports a request meets depend on the mesh it "
                                      "reaches", *here))
                else:
                    self.add(d, warning(f"{text}: an importer load-balancing across both meshes would meet "
                                        "different ports", *here))


    # ----------------------------------------------------------------------------------------
    # Failover

    def failover(self, c: Cluster, d: Doc) -> None:
        """Per host the document routes with failover (a namespace's imports; the mesh tier's
        egress hosts), what keeps failover from working as asked."""
        v = d.values
        assert v is not None
        hosts = [e.hostname for e in v.imports] if NAMESPACE in d.tiers else []
        if MESH in d.tiers and v.egress.enabled:
            hosts += [h for h in v.meshes_by_host if h not in hosts]
        entries = {e.get("hostname"): i for i, e in enumerate(
            ((v.raw.get("global") or {}).get("failover") or {}).get("services") or ()) if isinstance(e, dict)}
        for host in hosts:
            f = v.failover_for(host)
            remotes = v.meshes_by_host.get(host, [])
            if f is None or not remotes:
                continue
            own = ("global", "failover", "services", entries[host]) if host in entries else ("global", "failover")
            where = d.at((*own, "weights")) if f.weights else d.at(own)
            meshes = [r.mesh for r in remotes]
            if len(remotes) == 1:
                self.add(d, _info(f"failover for {host}: only mesh {meshes[0]} exports it, so there is nothing to fail "
                                  "over to", *d.at(_first_listing(v, host))))
                if f.weights:
                    self.add(d, warning(f"weights for {host}, which only mesh {meshes[0]} exports: they change "
                                        "nothing", *where))
            for mesh in f.weights:
                if mesh not in meshes:
                    self.add(d, warning(f"a weight for mesh {mesh}, which does not export {host} to {c.label} "
                                        f"(its exporters: {', '.join(m or '?' for m in meshes)})",
                                        *d.at((*own, "weights", mesh))))
            if f.mode == NEAREST:
                if f.weights:
                    self.add(d, warning(f"weights for {host} in failover mode nearest: only mode weighted reads "
                                        "them", *where))
                if len(remotes) > 1 and all(r.locality is None for r in remotes):
                    self.add(d, _info(f"failover mode nearest for {host}: no exporting mesh has a locality, so each "
                                      "is as near as the others (failover works, with no preference)",
                                      *d.at(_first_listing(v, host))))
                elif len(remotes) > 1:
                    for r in remotes:
                        if r.locality is None:
                            self.add(d, warning(f"failover mode nearest for {host}, but mesh {r.mesh} has no "
                                                "locality: nearest then means any exporter, whatever its distance",
                                                *d.at((*r.path, "locality"))))

    def rules(self, d: Doc) -> None:
        """A DestinationRule written beside the documents for a host meshfed emits one for."""
        if not self.repo.rules or d.src.file is None:
            return
        for _, name, obj in d.find("DestinationRule"):
            namespace, host = obj["metadata"].get("namespace"), obj["spec"].get("host")
            for rule in self.repo.rules:
                meta = rule.doc.get("metadata") if isinstance(rule.doc.get("metadata"), dict) else {}
                theirs = meta.get("namespace") or (namespace if rule.directory == d.src.file.parent else None)
                if rule.doc["kind"] == "DestinationRule" and rule.doc["spec"].get("host") == host \
                        and theirs == namespace:
                    self.add(d, warning(f"a second DestinationRule for {host} in namespace {namespace}: meshfed emits "
                                        f"{name} for it ({d.source}); Istio uses the top-level trafficPolicy of only "
                                        "one of them (the oldest) and merges only subsets, so meshfed's failover or "
                                        "TLS settings, or this rule's, are lost: keep one DestinationRule per host",
                                        rule.source, f"document {rule.index}"))


def _first_listing(v: Values, host: str) -> Path_:
    r = next(r for r in v.remotes if host in r.imported)
    return (*r.path, "importedServices", r.imported.index(host))


# What `check_repo` looks at: values, where they came from, the rules beside the documents, stale parts.
KEEP = Keep(frozenset(), merged=False, beside_rules=frozenset({"DestinationRule"}), inputs=False, stale=True)


def check_repo(repo: Repo) -> list[Diagnostic]:
    """Every cross-cluster finding, after the repository's own reading problems."""
    ch = _Checker(repo)
    for c in repo.clusters:
        for d in c.docs:
            if d.ok:
                ch.remotes(c, d)
    for c in repo.clusters:
        for d in c.ns_docs:
            if d.ok:
                ch.imports(c, d)
    imported = {(r.mesh, h) for d in repo.docs if d.ok and d.cluster is not None
                for r in d.values.remotes if r.mesh != d.cluster.mesh for h in r.imported}
    for c in repo.clusters:
        ch.exports(c, imported)
    ch.conflicting_ports(repo.docs)
    for c in repo.clusters:
        for d in c.docs:
            if d.ok:
                ch.failover(c, d)
                ch.rules(d)
    for doc, finding in boundary.check(repo):
        ch.add(doc, finding)
    for d in repo.docs:
        for finding in d.stale:
            ch.add(d, finding)
    if ch.complete and repo.docs and not any(d.cluster is not None for d in repo.docs):
        ch.out.append(error("no document belongs to a cluster: nothing was checked (set spec.mesh: {name, network} in "
                            "the mesh-tier documents, or name a Federation in spec.federation)",
                            ", ".join(display(p) for p in repo.tops) or None))
    out: list[Diagnostic] = []
    seen: set[Diagnostic] = set()
    for diagnostic in [*repo.diagnostics, *ch.out]:
        if diagnostic not in seen:
            seen.add(diagnostic)
            out.append(diagnostic)
    return out


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def summary(repo: Repo, diagnostics: list[Diagnostic]) -> str:
    """The closing line of `meshfed check`: what was checked, what was not (documents with errors,
    Federations whose errors hide their applications), and the counts of findings; empty when
    nothing was found to check (the errors say why)."""
    failed = [d for d in repo.docs if has_errors(d.problems)]
    checked = [d for d in repo.docs if d.ok and d.cluster is not None]
    clusters = {id(d.cluster) for d in checked}
    parts = [f"the applications {source} stands for not checked (it has errors)"
             for source in repo.unexpanded if not failed]
    if failed:
        parts.append(f"{_count(len(failed), 'application')} not checked (errors in "
                     f"{'its document' if len(failed) == 1 else 'their documents'})")
    if checked or not parts:
        parts.append(f"{_count(len(clusters), 'cluster')} and {_count(len(checked), 'application')} checked")
    text = "; ".join(parts)
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = sum(d.severity == "warning" for d in diagnostics)
    if errors and not (failed or checked or repo.unexpanded):  # nothing was found to check: the errors say why
        return ""
    return f"{text}: {_count(errors, 'error')}, {_count(warnings, 'warning')}"
