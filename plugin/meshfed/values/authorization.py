"""Boundary authorization of exports (meshfed's extension of the values, `global.authorization`):
an exported workload admits the meshes and namespaces that import it, and no other mesh.

The policy shape (each fact checked in Istio's source; README, "Who may call an export"):
- One `AuthorizationPolicy` per exported workload selector, in the exporting namespace, action
  DENY, one rule: `source.principals: ["*"]` and `notPrincipals`: this mesh's own trust domains
  (`<td>/*`) and every importer (`<td>/ns/<namespace>/sa/<account or *>`). Istio turns `*` into
  "any non-empty authenticated principal", so the rule denies every caller with a certificate
  that is neither this mesh's nor an importer's, and leaves plaintext callers (no principal)
  where they were: a DENY policy, unlike an ALLOW policy, switches no default-deny on, so this
  mesh's own callers, and the user's own ALLOW policies, are not affected.
- Principals are matched as SPIFFE IDs without `spiffe://`; Istio rewrites a five-part principal
  whose trust domain is `cluster.local` (or one of the mesh's aliases) into the mesh's own trust
  domain and aliases, so an importer can be named only by a trust domain that is neither
  (the values check refuses the others); the own-mesh entries are two-part (`<td>/*`), never rewritten.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable

OFF = "off"
IMPORTERS_ONLY = "importers-only"
TRUST_DOMAIN = "cluster.local"  # Istio's default trust domain, and the default here
SECURITY = "security.istio.io/v1"
NAME_PREFIX = "importers-only-"  # the policy's name: the prefix and the first exported host, dashed


class Importer:
    """One importer of a host: its trust domain, namespace and the service accounts listed for it
    (None: any)."""

    __slots__ = ("trust_domain", "namespace", "service_accounts")

    def __init__(self, trust_domain: str, namespace: str, service_accounts: tuple[str, ...] | None) -> None:
        self.trust_domain = trust_domain
        self.namespace = namespace
        self.service_accounts = service_accounts

    def principals(self) -> list[str]:
        """The importer as Istio principals: its namespace's listed accounts, or all of them."""
        base = f"{self.trust_domain}/ns/{self.namespace}/sa/"
        return [base + sa for sa in self.service_accounts] if self.service_accounts is not None else [base + "*"]

    def admits(self, trust_domain: str, namespace: str, account: str) -> bool:
        return (trust_domain == self.trust_domain and namespace == self.namespace
                and (self.service_accounts is None or account in self.service_accounts))


class Settings:
    """`global.authorization` as the schema check left it: on or off, this mesh's trust domain
    and aliases, and the importers of each exported host (a host listed twice: the first entry)."""

    __slots__ = ("enabled", "trust_domain", "aliases", "hosts")

    def __init__(self, raw: dict[str, Any] | None) -> None:
        raw = raw or {}
        self.enabled = bool(raw.get("enabled", False))
        self.trust_domain: str = raw.get("trustDomain") or TRUST_DOMAIN
        self.aliases: tuple[str, ...] = tuple(raw.get("trustDomainAliases") or ())
        self.hosts: dict[str, list[Importer]] = {}
        for entry in raw.get("services") or ():
            if isinstance(entry, dict) and "hostname" in entry and entry["hostname"] not in self.hosts:
                self.hosts[entry["hostname"]] = [
                    Importer(i.get("trustDomain") or TRUST_DOMAIN, i["namespace"],
                             tuple(i["serviceAccounts"]) if i.get("serviceAccounts") is not None else None)
                    for i in entry.get("importers") or () if isinstance(i, dict) and "namespace" in i]

    def own_domains(self) -> tuple[str, ...]:
        return (self.trust_domain, *self.aliases)

    def importers(self, host: str) -> list[Importer]:
        return self.hosts.get(host, [])


class Policy:
    """The one policy of an exported workload selector: the hosts exported with it (in export
    order) and who it lets through."""

    __slots__ = ("selector", "hosts", "own", "importers")

    def __init__(self, selector: dict[str, str], own: tuple[str, ...]) -> None:
        self.selector = selector
        self.hosts: list[str] = []
        self.own = own
        self.importers: list[Importer] = []

    @property
    def name(self) -> str:
        return NAME_PREFIX + self.hosts[0].replace(".", "-")

    def not_principals(self) -> list[str]:
        """This mesh's trust domains, then each importer's principals, each once, in order."""
        out = [f"{td}/*" for td in self.own]
        for i in self.importers:
            out += i.principals()
        return list(dict.fromkeys(out))

    def spec(self) -> dict[str, Any]:
        return {
            "selector": {"matchLabels": dict(self.selector)},
            "action": "DENY",
            "rules": [{"from": [{"source": {"principals": ["*"], "notPrincipals": self.not_principals()}}]}],
        }


def policies(settings: Settings, exports: Iterable[tuple[str, dict[str, str] | None]]) -> list[Policy]:
    """One policy per distinct workload selector of `exports` ((hostname, labelSelector) in
    export order): never one per caller. A pod two overlapping selectors both select serves both
    hosts, and Istio denies when ANY DENY policy bound to it matches, so each policy lets through
    the importers of every export whose selector can select a pod with it (`overlap`). Exports
    without a selector are left out (the values check refuses them)."""
    by_selector: dict[tuple[tuple[str, str], ...], Policy] = {}
    own: dict[tuple[tuple[str, str], ...], list[Importer]] = {}
    for host, selector in exports:
        if not selector:
            continue
        key = tuple(sorted(selector.items()))
        if key not in by_selector:
            by_selector[key] = Policy(selector, settings.own_domains())
            own[key] = []
        by_selector[key].hosts.append(host)
        own[key] += settings.importers(host)
    for policy in by_selector.values():
        policy.importers = [i for other, p in by_selector.items() if overlap(policy.selector, p.selector)
                            for i in own[other]]
    return list(by_selector.values())


def overlap(a: dict[str, str], b: dict[str, str]) -> bool:
    """Whether one pod can carry both selectors' labels: they agree on every key they share."""
    return all(b[k] == v for k, v in a.items() if k in b)


def admitted(settings: Settings, host: str, trust_domain: str, namespace: str, account: str) -> str | None:
    """Why a caller with this identity may call `host` (None: it is denied): what `explain` says."""
    if trust_domain in settings.own_domains():
        return f"trust domain {trust_domain} is this mesh's own"
    for i in settings.importers(host):
        if i.admits(trust_domain, namespace, account):
            accounts = "any service account" if i.service_accounts is None else \
                "service accounts " + ", ".join(i.service_accounts)
            return f"it imports {host} (trust domain {i.trust_domain}, namespace {i.namespace}, {accounts})"
    return None


def derive(spec: Any, mesh: Any, fields: dict[Any, str]) -> dict[str, Any] | None:
    """`global.authorization` of mesh `mesh` from a Federation `spec` (a FederationSpec): on with
    `spec.authorization: importers-only`, the mesh's trust domain and aliases, and for every
    service it exports, each importer's trust domain, namespace and listed service accounts.
    None when authorization is off (the values then stay as the charts know them). `fields`
    receives the Federation field each derived value comes from."""
    if spec.authorization != IMPORTERS_ONLY:
        return None
    out: dict[str, Any] = {"enabled": True, "trustDomain": mesh.trust_domain or TRUST_DOMAIN}
    at = ("global", "authorization")
    fields[at] = "spec.authorization"
    fields[(*at, "trustDomain")] = f"{mesh.field}.trustDomain"
    if mesh.trust_domain_aliases:
        out["trustDomainAliases"] = list(mesh.trust_domain_aliases)
        fields[(*at, "trustDomainAliases")] = f"{mesh.field}.trustDomainAliases"
    services: list[dict[str, Any]] = []
    for svc in spec.services:
        if not svc.exported_by(mesh.name):
            continue
        here = (*at, "services", len(services))
        importers: list[dict[str, Any]] = []
        for side in svc.imports:
            importer = spec.mesh(side.mesh)
            if importer is None:
                continue
            where = f"{svc.field}.imports[{side.index}]"
            fields[(*here, "importers", len(importers))] = where
            fields[(*here, "importers", len(importers), "trustDomain")] = f"{importer.field}.trustDomain"
            entry = {"mesh": side.mesh, "trustDomain": importer.trust_domain or TRUST_DOMAIN,
                     "namespace": side.namespace}
            if side.service_accounts is not None:
                entry["serviceAccounts"] = list(side.service_accounts)
            importers.append(entry)
        fields[here] = svc.field
        fields[(*here, "hostname")] = f"{svc.field}.hostname"
        services.append({"hostname": svc.hostname, "importers": importers})
    if services:
        out["services"] = services
        fields[(*at, "services")] = "spec.services"
    return out


def federation_problems(authz: str | None, meshes: list[Any]) -> list[tuple[str, str]]:
    """(message, field) for what makes `importers-only` unenforceable in a Federation: two meshes
    sharing a trust domain (or one's alias), whose callers no policy can tell apart."""
    if authz != IMPORTERS_ONLY:
        return []
    out: list[tuple[str, str]] = []
    owner: dict[str, Any] = {}
    for m in meshes:
        domains = [(m.trust_domain or TRUST_DOMAIN, "trustDomain")]
        domains += [(a, f"trustDomainAliases[{k}]") for k, a in enumerate(m.trust_domain_aliases or ())]
        for td, key in domains:
            first = owner.setdefault(td, m)
            if first is not m:
                out.append((f"meshes {first.name} and {m.name} share the trust domain {td}: authorization "
                            "(importers-only) cannot tell their callers apart, so it cannot be enforced; give each "
                            "mesh its own trust domain", f"{m.field}.{key}"))
    return out


def _caller(principal: str) -> str:
    """A principal of meshfed's policies in words."""
    parts = principal.split("/")
    if len(parts) == 2:
        return f"trust domain {parts[0]} (the mesh's own callers)"
    if len(parts) == 5:
        account = "any service account" if parts[4] == "*" else f"service account {parts[4]}"
        return f"trust domain {parts[0]}, namespace {parts[2]}, {account}"
    return principal


def _admitted(policy: dict[str, Any] | None) -> list[str] | None:
    """The principals one of meshfed's policies lets through, or None for another policy."""
    if policy is None or policy.get("kind") != "AuthorizationPolicy":
        return None
    rules = (policy.get("spec") or {}).get("rules") or []
    try:
        return list(rules[0]["from"][0]["source"]["notPrincipals"])
    except (IndexError, KeyError, TypeError):
        return None


def change_in_words(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """What a change of one of meshfed's AuthorizationPolicies does: who gains or loses access to
    the workloads it selects (for `meshfed diff`)."""
    was, now = _admitted(before), _admitted(after)
    obj = after if after is not None else before
    if obj is None or (was is None and now is None):
        return []
    meta = obj.get("metadata") or {}
    labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    what = f"workloads {', '.join(f'{k}: {v}' for k, v in labels.items())} in {meta.get('namespace')} " \
           f"({meta.get('name')})"
    if was is None:
        return [f"{what}: importers only: every other mesh loses access; admitted: "
                + "; ".join(_caller(p) for p in now or ())]
    if now is None:
        return [f"{what}: authorization off: every mesh the root of trust accepts gains access"]
    out = [f"{what}: {_caller(p)} gains access" for p in now if p not in was]
    out += [f"{what}: {_caller(p)} loses access" for p in was if p not in now]
    return out
