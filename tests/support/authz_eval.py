"""The tests' own evaluator of Istio's AuthorizationPolicy (security.istio.io/v1) for one request
to one sidecar workload, written from Istio's documentation and its authz builder
(`pilot/pkg/security/authz/`), independent of meshfed's code:

- Which policies apply: those in the root namespace (every workload of the mesh) and in the
  workload's namespace, whose `selector.matchLabels` is a subset of the workload's labels (no
  selector: every workload there). `targetRef(s)` policies bind to gateways and waypoints, not
  to a sidecar: they never apply here.
- Order: CUSTOM first (a matching CUSTOM rule hands the request to the external provider, which
  this model treats as a denial), then DENY (any matching rule denies), then ALLOW (when at least
  one ALLOW policy applies, the request needs a matching rule; else it is allowed). AUDIT decides
  nothing.
- A policy matches when any of its rules does (no `rules`: never; `rules: [{}]`: always). A rule
  matches when some `from` source, some `to` operation and every `when` condition match (absent:
  match). A field matches when its values match (any) and its notValues do not (none).
- Values: `*` is any non-empty string, `prefix*` and `*suffix` prefix and suffix; else exact.
  Principals and namespaces need an authenticated peer: for a plaintext request (no principal)
  `principals` and `namespaces` never match, `notPrincipals` and `notNamespaces` always do.
  `namespaces` is read from the principal's `/ns/<namespace>/` part, so it is the caller's
  namespace name in whatever trust domain.
- Trust domains: a five-part principal (`<td>/ns/<ns>/sa/<sa>`) whose trust domain is the mesh's
  own, one of its aliases or `cluster.local` stands for the mesh's trust domain and every alias
  (Istio's `ReplaceTrustDomainAliases`); other principals are kept as written.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

CLUSTER_LOCAL = "cluster.local"


@dataclass
class Mesh:
    """The exporting mesh's meshConfig: root namespace, trust domain and aliases."""

    trust_domain: str = CLUSTER_LOCAL
    aliases: tuple[str, ...] = ()
    root_namespace: str = "istio-system"


@dataclass
class Request:
    """One request as the workload's sidecar sees it. `principal` None: plaintext."""

    principal: str | None
    port: int = 9080
    host: str = ""
    method: str = "GET"
    path: str = "/"
    headers: dict[str, str] = field(default_factory=dict)
    source_ip: str = "10.0.0.1"

    @property
    def namespace(self) -> str | None:
        if self.principal is None:
            return None
        m = re.search(r"/ns/([^/]*)/", self.principal)
        return m.group(1) if m else None


def value_matches(pattern: str, value: str | None) -> bool:
    if value is None:
        return False
    if pattern == "*":
        return value != ""
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


def _namespace_matches(pattern: str, principal: str | None) -> bool:
    """Istio matches `namespaces` on the principal: `.*/ns/<pattern, * as .*>/.*`."""
    if principal is None:
        return False
    regex = ".*".join(re.escape(p) for p in pattern.split("*"))
    return re.fullmatch(f".*/ns/{regex}/.*", principal) is not None


def _expand(mesh: Mesh, principals: list[str]) -> list[str]:
    out: list[str] = []
    local = (mesh.trust_domain, *mesh.aliases)
    for p in principals:
        parts = p.split("/")
        if len(parts) == 5 and parts[0] != "*" and (parts[0] in local or parts[0] == CLUSTER_LOCAL):
            out += ["/".join((td, *parts[1:])) for td in local]
        else:
            out.append(p)
    return out


def _field(values: list[str] | None, not_values: list[str] | None, test) -> bool:
    if values is not None and not any(test(v) for v in values):
        return False
    if not_values is not None and any(test(v) for v in not_values):
        return False
    return True


def _ip_matches(block: str, ip: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network(block, strict=False)


def _source_matches(mesh: Mesh, s: dict[str, Any], r: Request) -> bool:
    principal = r.principal

    def by_principal(p: str) -> bool:
        return value_matches(p, principal)

    checks = [
        _field(_expand(mesh, s["principals"]) if "principals" in s else None,
               _expand(mesh, s["notPrincipals"]) if "notPrincipals" in s else None, by_principal),
        _field(s.get("namespaces"), s.get("notNamespaces"), lambda p: _namespace_matches(p, principal)),
        _field(s.get("ipBlocks"), s.get("notIpBlocks"), lambda b: _ip_matches(b, r.source_ip)),
        _field(s.get("remoteIpBlocks"), s.get("notRemoteIpBlocks"), lambda b: _ip_matches(b, r.source_ip)),
    ]
    for key in ("requestPrincipals", "notRequestPrincipals"):
        if key in s:
            raise NotImplementedError(f"source.{key}: JWT identities are not modelled")
    unknown = set(s) - {"principals", "notPrincipals", "namespaces", "notNamespaces", "ipBlocks", "notIpBlocks",
                        "remoteIpBlocks", "notRemoteIpBlocks"}
    if unknown:
        raise NotImplementedError(f"source fields {sorted(unknown)}")
    return all(checks)


def _operation_matches(o: dict[str, Any], r: Request) -> bool:
    unknown = set(o) - {"hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths", "notPaths"}
    if unknown:
        raise NotImplementedError(f"operation fields {sorted(unknown)}")
    return all([
        _field(o.get("hosts"), o.get("notHosts"), lambda h: value_matches(h.lower(), r.host.lower())),
        _field(o.get("ports"), o.get("notPorts"), lambda p: str(p) == str(r.port)),
        _field(o.get("methods"), o.get("notMethods"), lambda m: value_matches(m, r.method)),
        _field(o.get("paths"), o.get("notPaths"), lambda p: value_matches(p, r.path)),
    ])


def _condition_matches(mesh: Mesh, c: dict[str, Any], r: Request) -> bool:
    key = c["key"]
    if key == "source.principal":
        actual: Any = r.principal
        values = _expand(mesh, c["values"]) if "values" in c else None
        not_values = _expand(mesh, c["notValues"]) if "notValues" in c else None
        return _field(values, not_values, lambda p: value_matches(p, actual))
    if key == "source.namespace":
        return _field(c.get("values"), c.get("notValues"), lambda p: _namespace_matches(p, r.principal))
    if key == "destination.port":
        return _field(c.get("values"), c.get("notValues"), lambda p: str(p) == str(r.port))
    if key.startswith("request.headers[") and key.endswith("]"):
        actual = r.headers.get(key[len("request.headers["):-1].lower())
        return _field(c.get("values"), c.get("notValues"), lambda p: value_matches(p, actual))
    raise NotImplementedError(f"when key {key}")


def _rule_matches(mesh: Mesh, rule: dict[str, Any], r: Request) -> bool:
    sources = rule.get("from")
    if sources is not None and not any(_source_matches(mesh, f.get("source") or {}, r) for f in sources):
        return False
    operations = rule.get("to")
    if operations is not None and not any(_operation_matches(t.get("operation") or {}, r) for t in operations):
        return False
    return all(_condition_matches(mesh, c, r) for c in rule.get("when") or ())


def _matches(mesh: Mesh, policy: dict[str, Any], r: Request) -> bool:
    return any(_rule_matches(mesh, rule, r) for rule in policy.get("spec", {}).get("rules") or ())


def applies(mesh: Mesh, policy: dict[str, Any], namespace: str, labels: dict[str, str]) -> bool:
    """Whether `policy` binds to the sidecar workload in `namespace` with `labels`."""
    if policy.get("kind") != "AuthorizationPolicy":
        return False
    spec = policy.get("spec") or {}
    if "targetRef" in spec or "targetRefs" in spec:
        return False
    where = policy.get("metadata", {}).get("namespace")
    if where not in (mesh.root_namespace, namespace):
        return False
    wanted = (spec.get("selector") or {}).get("matchLabels") or {}
    return all(labels.get(k) == v for k, v in wanted.items())


def allowed(mesh: Mesh, objects: list[dict[str, Any]], namespace: str, labels: dict[str, str], r: Request) -> bool:
    """Istio's decision for request `r` to the workload (`namespace`, `labels`) under `objects`."""
    bound = [p for p in objects if applies(mesh, p, namespace, labels)]
    by_action: dict[str, list[dict[str, Any]]] = {}
    for p in bound:
        by_action.setdefault((p.get("spec") or {}).get("action", "ALLOW"), []).append(p)
    if any(_matches(mesh, p, r) for p in by_action.get("CUSTOM", ())):
        return False  # the external provider decides: modelled as a denial
    if any(_matches(mesh, p, r) for p in by_action.get("DENY", ())):
        return False
    allows = by_action.get("ALLOW", [])
    return not allows or any(_matches(mesh, p, r) for p in allows)
