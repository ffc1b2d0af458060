"""The contract's errors (section 7) and warnings (section 8) that go beyond the schema: checks
between fields, between entries, and between the tiers."""
from __future__ import annotations


from . import defaults
from .authorization import TRUST_DOMAIN, overlap
from .failover import DESTINATION_PREFIX
from .formats import is_ip, is_label_value
from .merge import Path_, format_path
from .model import Entry, Port, Values, lookup
from .naming import with_port

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable

MESH, NAMESPACE = "mesh", "namespace"


class Finding:
    """An error or warning of the checks, at a path of the merged values."""

    __slots__ = ("severity", "path", "message")

    def __init__(self, severity: str, path: Path_, message: str) -> None:
        self.severity = severity
        self.path = path
        self.message = message


class Findings:
    """The findings of one check run, in order."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[Finding] = []

    def error(self, path: Path_, message: str) -> None:
        self.items.append(Finding("error", path, message))

    def warn(self, path: Path_, message: str) -> None:
        self.items.append(Finding("warning", path, message))


def _duplicates(values: Iterable[tuple[Path_, object]]) -> Iterable[tuple[Path_, object, Path_]]:
    """(path, value, first path) for each repeat of a value."""
    first: dict[object, Path_] = {}
    for path, value in values:
        if value in first:
            yield path, value, first[value]
        else:
            first[value] = path


def _rel(path: Path_, base: Path_) -> str:
    return format_path(path[len(base):]) if path[:len(base)] == base else format_path(path)


def _check_ports(f: Findings, ports_path: Path_, ports: list[Any] | None) -> None:
    items = [(i, p) for i, p in enumerate(ports or ()) if isinstance(p, dict)]
    for key in ("name", "number"):
        vals = [((*ports_path, i, key), p[key]) for i, p in items if key in p]
        for path, value, first in _duplicates(vals):
            f.error(path, f"duplicate port {key} {value!r} in one list (also at {_rel(first[:-1], ports_path[:-1])})")


def check(v: Values, tiers: set[str]) -> list[Finding]:
    """Every error and warning about the values; `tiers` are the tiers being rendered."""
    f = Findings()
    raw = v.raw
    g = raw.get("global") or {}
    # Ports: duplicates in any list.
    _check_ports(f, ("global", "defaultServicePorts"), g.get("defaultServicePorts"))
    for entries in (v.local_exports, v.imports, v.exports):
        for e in entries:
            if e.ports_given:  # (else the list is empty or absent: most entries use the default ports)
                _check_ports(f, (*e.path, "ports"), lookup(raw, (*e.path, "ports")))
    # Hostnames listed twice.
    for entries, what in ((v.imports, "import"), (v.exports, "export"), (v.local_exports, "global.local.export")):
        for path, host, first in _duplicates(((*e.path, "hostname"), e.hostname) for e in entries):
            f.error(path, f"hostname {host} is listed twice in {what} (also at {_rel(first, ())})")
    for r in v.remotes:
        if len(set(r.imported)) == len(r.imported):
            continue
        listed = [((*r.path, "importedServices", j), h) for j, h in enumerate(r.imported)]
        for path, host, _first in _duplicates(listed):
            f.error(path, f"hostname {host} is listed twice in this remote's importedServices")
    # Remotes.
    for key in ("mesh", "network"):
        vals = [((*r.path, key), getattr(r, key)) for r in v.remotes if getattr(r, key) is not None]
        for path, value, first in _duplicates(vals):
            f.error(path, f"two remotes have the same {key} {value!r} (also at {_rel(first, ())})")
    for r in v.remotes:
        kinds = {is_ip(a) for a in r.addresses}
        if len(kinds) > 1:
            f.error((*r.path, "addresses"), "addresses mix IP literals and DNS names; "
                    "the resolution (STATIC or DNS) cannot serve both: split them into two remotes")
        if v.egress.enabled and not r.addresses:
            f.error((*r.path, "addresses"), "egress is enabled, so every remote needs at least one address "
                    "(its ServiceEntry would have no endpoints)")
        if v.gateway_api and r.network is not None and not is_label_value(r.network):
            f.error((*r.path, "network"), f"with Gateway API the network becomes a label value and must be a valid "
                    f"one (at most 63 characters: letters, digits, '-', '_', '.'), got {r.network!r}")
    _check_entries(f, v)
    _check_endpoints(f, v)
    _check_router(f, v)
    svc_meshes = v.meshes_by_host
    _check_failover(f, v, tiers)
    _check_authorization(f, v)
    if v.egress.enabled:
        for host, remotes in svc_meshes.items():
            if len(remotes) > 100 and v.failover_for(host) is None:  # (failover routes to one destination)
                f.error(_first_listing(v, host), f"{len(remotes)} meshes offer {host}: a VirtualService route holds at "
                        "most 100 weighted destinations")
    if v.layout == "v1":
        _check_v1_remote_ports(f, v, tiers)
    _warnings(f, v, tiers)
    return f.items


def _check_failover(f: Findings, v: Values, tiers: set[str]) -> None:
    """global.failover: a host listed once; the egress destination's name a valid host; the
    settings that keep a dead exporter's share where it is (warnings)."""
    raw = (v.raw.get("global") or {}).get("failover") or {}
    at = ("global", "failover")
    entries = [((*at, "services", i, "hostname"), e["hostname"]) for i, e in enumerate(raw.get("services") or ())
               if isinstance(e, dict) and "hostname" in e]
    for path, host, first in _duplicates(entries):
        f.error(path, f"{host} is listed twice in global.failover.services (also at {_rel(first, ())})")
    if v.egress.enabled and MESH in tiers:
        for host in v.meshes_by_host:
            if len(DESTINATION_PREFIX + host) > 253 and v.failover_for(host) is not None:
                f.error(_first_listing(v, host), f"{host} is too long for failover through the egress gateway: its "
                        f"destination {DESTINATION_PREFIX}{host} would exceed 253 characters")
    places = [(at, raw), *(((*at, "services", i), e) for i, e in enumerate(raw.get("services") or ())
                           if isinstance(e, dict))]
    for where, settings in places:
        od = settings.get("outlierDetection") or {}
        if not isinstance(od, dict) or not (raw.get("enabled") or settings.get("enabled")):
            continue
        cap = od.get("maxEjectionPercent")
        if isinstance(cap, int) and cap < 100:
            f.warn((*where, "outlierDetection", "maxEjectionPercent"), f"at most {cap}% of the endpoints are ejected "
                   "at once: with fewer live exporters than that leaves, a dead one keeps its share of the requests")
        panic = od.get("minHealthPercent")
        if isinstance(panic, int) and panic > 0:
            f.warn((*where, "outlierDetection", "minHealthPercent"), f"below {panic}% live endpoints Envoy panics and "
                   "sends requests to the dead ones too: the last live exporter does not keep the traffic")


def _check_authorization(f: Findings, v: Values) -> None:
    """global.authorization: a host listed once; every importer's trust domain one that a policy
    of this mesh can name (Istio reads `cluster.local` and this mesh's own trust domains in a
    principal as this mesh's)."""
    raw = (v.raw.get("global") or {}).get("authorization") or {}
    at = ("global", "authorization", "services")
    services = [(i, e) for i, e in enumerate(raw.get("services") or ()) if isinstance(e, dict)]
    for path, host, first in _duplicates(((*at, i, "hostname"), e["hostname"]) for i, e in services if "hostname" in e):
        f.error(path, f"{host} is listed twice in global.authorization.services (also at {_rel(first, ())})")
    a = v.authorization
    if not a.enabled:
        return
    selected = [(x, x.label_selector) for x in v.exports if x.label_selector]
    for k, (export, selector) in enumerate(selected):
        for earlier, earlier_selector in selected[:k]:
            if earlier_selector != selector and overlap(earlier_selector, selector):
                f.warn((*export.path, "labelSelector"), f"one pod can carry this selector and that of "
                       f"{earlier.hostname} ({format_path(earlier.path)}): each one's AuthorizationPolicy lets the "
                       "other's importers through, to the pods of both")
                break
    own = a.own_domains()
    for i, e in services:
        for j, imp in enumerate(e.get("importers") or ()):
            if not isinstance(imp, dict):
                continue
            td = imp.get("trustDomain") or TRUST_DOMAIN
            who = f"importer {imp['mesh']}" if isinstance(imp.get("mesh"), str) else "the importer"
            if td in own:
                f.error((*at, i, "importers", j, "trustDomain"), f"{who} has trust domain {td}, which is this mesh's "
                        f"own ({', '.join(own)}): its callers cannot be told apart from this mesh's, so "
                        "authorization cannot be enforced; give each mesh its own trust domain")
            elif td == TRUST_DOMAIN:
                f.error((*at, i, "importers", j, "trustDomain"), f"{who} has trust domain {TRUST_DOMAIN}, which Istio "
                        f"reads in a policy as this mesh's own ({a.trust_domain}): the importer cannot be admitted; "
                        "give it a trust domain of its own")


def _first_listing(v: Values, host: str) -> Path_:
    for r in v.remotes:
        if host in r.imported:
            return (*r.path, "importedServices", r.imported.index(host))
    return ("global", "remote")


def _check_entries(f: Findings, v: Values) -> None:
    groups: list[tuple[tuple[Entry, ...], bool]] = [(v.imports, True), (v.exports, True), (v.local_exports, v.router)]
    for entries, needs_ports in groups:
        for e in entries:
            # Ports given but refused for errors were already reported: no follow-up error.
            if needs_ports and not (e.own_ports or e.ports_given or v.default_ports or v.default_ports_given):
                f.error((*e.path, "ports"), "no ports: the entry has none and global.defaultServicePorts is empty")
    for e in v.exports:
        if not e.label_selector and not e.selector_given:
            f.error((*e.path, "labelSelector"), "an export needs a non-empty labelSelector "
                    "(an empty selector would match every workload in the namespace)")
    if v.router and v.egress.enabled and not (v.default_ports or v.default_ports_given):
        f.error(("global", "defaultServicePorts"), "the OpenShift router with egress needs default service ports "
                "(the egress routes match one SNI per default port)")


def _check_endpoints(f: Findings, v: Values) -> None:
    """An imported host that would get no endpoints at all: one no remote lists, in every layout
    and mode (through an egress gateway or Gateway API it gets no route either), and, where
    sidecars reach the remotes directly, one whose every listing remote has no addresses."""
    direct = (v.layout == "v2" and not v.gateway_api) or (v.layout == "v1" and not v.egress.enabled)
    svc = v.meshes_by_host
    for e in v.imports:
        remotes = svc.get(e.hostname, [])
        if not remotes:
            f.error((*e.path, "hostname"), f"no remote lists {e.hostname} in importedServices, so it gets no endpoints")
        elif direct and not any(r.addresses for r in remotes):
            meshes = ", ".join(str(r.mesh) for r in remotes)
            f.error((*e.path, "hostname"), f"every remote listing {e.hostname} ({meshes}) has no addresses, "
                    "so it gets no endpoints")


def _check_router(f: Findings, v: Values) -> None:
    """Hosts the router turns into `<first label>-<port>...`: that label must stay a DNS label."""
    if not v.router:
        return
    seen: set[tuple[Path_, int]] = set()

    def check_host(path: Path_, host: str, ports: Iterable[Port]) -> None:
        for p in ports:
            first = with_port(host, p.number).partition(".")[0]
            if len(first) > 63 and (path, p.number) not in seen:
                seen.add((path, p.number))
                f.error(path, f"with the OpenShift router, {host} on port {p.number} becomes "
                        f"{with_port(host, p.number)}, whose first label is longer than 63 characters")

    for e in (*v.local_exports, *v.imports):
        check_host((*e.path, "hostname"), e.hostname, v.ports_of(e))
    if v.egress.enabled:
        for host in v.meshes_by_host:
            check_host(_first_listing(v, host), host, v.default_ports)


def _check_v1_remote_ports(f: Findings, v: Values, tiers: set[str]) -> None:
    """v1 has no default remote port: A3/A4 (egress) and B1 without egress read it."""
    imported = {e.hostname for e in v.imports}
    for r in v.remotes:
        if r.port is not None:
            continue
        if v.egress.enabled and MESH in tiers:
            f.error((*r.path, "port"), "required: layout v1 has no default remote port, and the egress "
                    "ServiceEntry and VirtualService of this remote use it")
        elif not v.egress.enabled and NAMESPACE in tiers and imported & set(r.imported):
            f.error((*r.path, "port"), "required: layout v1 has no default remote port, and the endpoints of "
                    "the services imported from this remote use it")


def _warnings(f: Findings, v: Values, tiers: set[str]) -> None:
    local = {e.hostname for e in v.local_exports}
    if NAMESPACE in tiers:
        for e in v.exports:
            if e.hostname not in local:
                f.warn((*e.path, "hostname"), f"{e.hostname} is not in global.local.export: the mesh tier does not "
                       "expose it, so remote meshes cannot reach it")
        exported = {e.hostname for e in v.exports}
        for e in v.imports:
            if e.hostname in exported:
                why = ("the remote WorkloadEntries carry the export's selector labels, so a local Service with the "
                       "same selector also sends traffic to the remote mesh" if v.layout == "v2" else
                       "two ServiceEntries (import- and export-) claim one host")
                f.warn((*e.path, "hostname"), f"{e.hostname} is both imported and exported in this namespace: {why}")
        if v.router:
            defaults_numbers = {p.number for p in v.default_ports}
            for e in v.imports:
                missing = [p.number for p in v.ports_of(e) if p.number not in defaults_numbers]
                if missing:
                    f.warn((*e.path, "ports"), f"with the OpenShift router the mesh tier routes only the default "
                           f"service ports; port(s) {', '.join(map(str, missing))} of {e.hostname} are not among them")
    if v.layout == "v2" and v.egress.enabled and not v.gateway_api:
        f.warn((*v.egress.path, "enabled"), "egress without Gateway API: sidecars reach the egress gateway only if "
               "istiod's meshNetworks maps the remote networks to it")
    if MESH in tiers:
        if v.egress.enabled and v.remotes and not v.meshes_by_host:  # F12
            f.warn((*v.egress.path, "enabled"), "egress is enabled but no remote lists any service in "
                   "importedServices: no egress Gateway is rendered (Istio rejects a server without hosts)")
        if v.gateway_api and not v.egress.enabled:
            for r in v.remotes:
                if not r.addresses:
                    f.warn((*r.path, "addresses"), f"remote {r.mesh} has no addresses, so it gets no network gateway "
                           "and its endpoints are unreachable")
        if v.layout == "v1" and v.router and v.ingress_selector != defaults.V1_INGRESS_SELECTOR and v.local_exports:
            f.warn(v.ingress_selector_path, "with the OpenShift router the EnvoyFilter still selects "
                   "app: federation-ingress-gateway, not this custom gateway selector")


def ingress_default_app_warning(v: Values, app_from_defaults: bool, tiers: set[str]) -> Finding | None:
    """2.2: the merged default `app: istio-eastwestgateway` may match no gateway pod."""
    key, value = defaults.V2_DEFAULT_INGRESS_APP
    if (v.layout != "v2" or MESH not in tiers or not app_from_defaults or not v.local_exports
            or (v.ingress_selector or {}).get(key) != value):
        return None
    return Finding("warning", (*v.ingress_selector_path, key),
                   f"the ingress selector carries the chart default {key}: {value}, which no values file set: it may "
                   f"match no gateway pod (set the selector explicitly; `{key}: null` removes the default)")


def required_values(v: Values, tiers: set[str], mesh_rows: set[str]) -> list[Finding]:
    """Values a rendered row reads that are missing (typically removed by a null)."""
    f = Findings()

    def need(present: bool, path: Path_, why: str) -> None:
        if not present:
            f.error(path, f"required: {why}")

    if MESH in tiers:
        uses_ingress = bool(mesh_rows & {"ingress-gateway", "envoy-filter"})
        if uses_ingress:
            need(v.ingress_selector is not None, v.ingress_selector_path, "the ingress Gateway selects its pods with it")
            need(v.ingress_port is not None, v.ingress_port_path, "the ingress Gateway listens on it")
        if "egress-gateway" in mesh_rows:
            need(v.egress.port is not None, (*v.egress.path, "port"), "the egress Gateway listens on it")
            if v.egress.selector is not None and not v.egress.selector:
                f.error((*v.egress.path, "selector"), "the egress selector is empty: the Gateway would select "
                        "no egress gateway pods")
        if "route" in mesh_rows and v.layout == "v2":
            need(v.ingress_service_name is not None, ("global", "gateways", "ingress", "serviceName"),
                 "the OpenShift Routes point at this Service")
            need(v.ingress_port_name is not None, ("global", "gateways", "ingress", "portName"),
                 "the OpenShift Routes target this port")
    uses_egress_service = ((MESH in tiers and v.layout == "v2" and v.gateway_api and v.egress.enabled and v.remotes)
                           or (NAMESPACE in tiers and v.layout == "v1" and v.egress.enabled and v.imports))
    if uses_egress_service:
        need(v.egress.service_name is not None, (*v.egress.path, "service", "name"),
             "traffic to remote meshes is sent to the egress gateway's Service")
        need(v.egress.service_namespace is not None, (*v.egress.path, "service", "namespace"),
             "traffic to remote meshes is sent to the egress gateway's Service")
        need(v.egress.port is not None, (*v.egress.path, "port"), "traffic is sent to the egress gateway's port")
    if v.ingress_selector_emptied:
        f.error(v.ingress_selector_path, "the ingress selector is empty: the Gateway would select no east-west "
                "gateway pods")
    if v.layout == "v1" and v.egress.enabled and not v.egress.selector:
        f.error((*v.egress.path, "selector"), "egress is enabled but the egress gateway has no selector "
                "(layout v1 has no default one)")
    return f.items
