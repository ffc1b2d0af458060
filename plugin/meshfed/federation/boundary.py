"""Boundary authorization across the clusters of a repository (`global.authorization`): who
each exporting cluster admits, for `check`, `explain`, `graph` and `diff`.

`check` reports (each at the file and field that supplied the value):
* two meshes with one trust domain (or one's alias another's trust domain) while authorization
  is on in either: error, naming both (no policy can tell their callers apart);
* service accounts listed for an importer namespace that does not import the host: warning (the
  policy admits a namespace the repository does not route);
* an AuthorizationPolicy written beside the documents (a kustomization's resource) that binds to
  every workload of the mesh (root namespace, no selector) or of an exporting namespace (no
  selector): warning, since CUSTOM and DENY policies are evaluated before any ALLOW and an ALLOW
  policy turns default-deny on, so it decides over the importers too.
"""
from __future__ import annotations

from ..values.authorization import TRUST_DOMAIN, Settings, admitted
from ..values.checks import NAMESPACE
from ..values.diagnostics import Diagnostic, error, warning
from .repo import Cluster, Doc, Repo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

ROOT_NAMESPACE = "istio-system"  # Istio's default meshConfig.rootNamespace


def settings(c: Cluster) -> tuple[Doc, Settings] | None:
    """A cluster's `global.authorization`, from its first rendered document that has one."""
    for d in c.docs:
        if d.ok and isinstance((d.values.raw.get("global") or {}).get("authorization"), dict):  # type: ignore[union-attr]
            return d, d.values.authorization  # type: ignore[union-attr]
    return None


def domains(repo: Repo) -> dict[str, Cluster]:
    """Trust domain (and aliases) -> the cluster that owns it, first by cluster order."""
    out: dict[str, Cluster] = {}
    for c in repo.clusters:
        found = settings(c)
        own = found[1].own_domains() if found is not None else (TRUST_DOMAIN,)
        for td in own:
            out.setdefault(td, c)
    return out


def importer_cluster(repo: Repo, by_domain: dict[str, Cluster], mesh: str | None, trust_domain: str) -> Cluster | None:
    return repo.cluster_of_mesh(mesh) if mesh else by_domain.get(trust_domain)


def check(repo: Repo) -> list[tuple[Doc | None, Diagnostic]]:
    """The findings above, each with the document it belongs to."""
    out: list[tuple[Doc | None, Diagnostic]] = []
    first: dict[str, tuple[Cluster, bool]] = {}
    for c in repo.clusters:
        found = settings(c)
        on = found is not None and found[1].enabled
        own = found[1].own_domains() if found is not None else (TRUST_DOMAIN,)
        for k, td in enumerate(own):
            seen = first.setdefault(td, (c, on))
            if seen[0] is not c and (on or seen[1]):
                where = ("global", "authorization", "trustDomain" if k == 0 else "trustDomainAliases")
                doc = found[0] if found is not None else c.mesh_doc
                file, field = doc.at(where) if doc is not None else (c.name, "global.authorization")
                out.append((doc, error(f"meshes {seen[0].mesh} and {c.mesh} share the trust domain {td}: "
                                       "authorization cannot tell their callers apart, so it cannot be enforced; "
                                       "give each mesh its own trust domain", file, field)))
    by_domain = domains(repo)
    for c in repo.clusters:
        for d in c.ns_docs:
            if d.ok and NAMESPACE in d.tiers and d.values.authorization.enabled:  # type: ignore[union-attr]
                out += [(d, x) for x in _accounts(repo, by_domain, d)]
                out += [(d, x) for x in _foreign(repo, c, d)]
    return out


def _imports(c: Cluster, namespace: str, host: str) -> bool:
    return any(d.ok and d.namespace == namespace and any(e.hostname == host for e in d.values.imports)  # type: ignore[union-attr]
               for d in c.ns_docs)


def _accounts(repo: Repo, by_domain: dict[str, Cluster], d: Doc) -> list[Diagnostic]:
    raw = (d.values.raw.get("global") or {}).get("authorization") or {}  # type: ignore[union-attr]
    exported = {e.hostname for e in d.values.exports}  # type: ignore[union-attr]
    out = []
    for i, entry in enumerate(raw.get("services") or ()):
        if not isinstance(entry, dict) or entry.get("hostname") not in exported:
            continue
        for j, imp in enumerate(entry.get("importers") or ()):
            namespace = imp.get("namespace") if isinstance(imp, dict) else None
            if not isinstance(namespace, str) or imp.get("serviceAccounts") is None:
                continue  # the schema requires an importer's namespace: never left out of a checked document
            td = imp.get("trustDomain") or TRUST_DOMAIN
            c = importer_cluster(repo, by_domain, imp.get("mesh"), td)
            if c is not None and not _imports(c, namespace, entry["hostname"]):
                out.append(warning(f"service accounts are listed for namespace {namespace} of mesh "
                                   f"{c.mesh}, which does not import {entry['hostname']}: the policy admits callers "
                                   "the federation does not route", *d.at(("global", "authorization", "services", i,
                                                                            "importers", j, "serviceAccounts"))))
    return out


def _foreign(repo: Repo, c: Cluster, d: Doc) -> list[Diagnostic]:
    """AuthorizationPolicies beside the cluster's documents that bind to its exported workloads
    mesh-wide or namespace-wide."""
    out = []
    for p in repo.rules:
        doc: dict[str, Any] = p.doc
        if doc.get("kind") != "AuthorizationPolicy" or c.directory is None \
                or not (p.directory == c.directory or c.directory in p.directory.parents):
            continue
        spec = _mapping(doc, "spec")
        meta = _mapping(doc, "metadata")
        namespace = meta.get("namespace") or (d.namespace if d.src.file is not None
                                               and p.directory == d.src.file.parent else None)
        action = spec.get("action", "ALLOW")
        if not isinstance(action, str):
            continue  # not an action the API server accepts: the policy is never applied
        if spec.get("selector") or spec.get("targetRef") or spec.get("targetRefs") or action == "AUDIT":
            continue
        if namespace == ROOT_NAMESPACE:
            scope = "every workload of the mesh (root namespace, no selector)"
        elif namespace == d.namespace:
            scope = f"every workload of namespace {namespace} (no selector)"
        else:
            continue
        why = {"CUSTOM": "CUSTOM policies are evaluated first: its provider decides over the importers too",
               "DENY": "DENY policies are evaluated before any ALLOW: it denies the importers it matches",
               }.get(action, "an ALLOW policy turns default-deny on: every caller it does not allow, importers and "
                             "the mesh's own callers too, is denied")
        out.append(warning(f"AuthorizationPolicy {meta.get('name')} ({action}) binds to {scope}, the exported "
                           f"workloads of {d.source} included: {why}", p.source, f"document {p.index}"))
    return out


def _mapping(doc: dict[str, Any], key: str) -> dict[str, Any]:
    """The map at `key`, or an empty one when the document has none there."""
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def admission(exporter: Doc, host: str, caller: Cluster, namespace: str) -> str | None:
    """Whether the exporting document's policy for `host` admits `namespace` of cluster `caller`,
    in words (None: authorization is off there)."""
    found = settings(caller)
    td = found[1].trust_domain if found is not None else TRUST_DOMAIN
    return verdict(exporter.values.authorization, host, caller.mesh, td, namespace)  # type: ignore[union-attr]


def verdict(a: Settings, host: str, mesh: str, td: str, namespace: str) -> str | None:
    """Whether the exporter's authorization `a` admits `namespace` of `mesh` (trust domain `td`)
    to `host`, in words (None: authorization is off there)."""
    if not a.enabled:
        return None
    accounts = [i.service_accounts for i in a.importers(host) if i.trust_domain == td and i.namespace == namespace]
    why = admitted(a, host, td, namespace, accounts[0][0] if accounts and accounts[0] else "default")
    if why is None:
        return (f"denied: namespace {namespace} of mesh {mesh} (trust domain {td}) is not an importer of "
                f"{host} there")
    return f"admitted: {why}"

