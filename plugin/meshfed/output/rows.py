"""What both layouts' rows share: the planned-object record, weights, egress hosts, selectors."""
from __future__ import annotations

from functools import partial

from ..values.authorization import SECURITY, policies
from .emit import Shared
from ..values.failover import WEIGHTED, Failover, address_weights, destination
from ..values.formats import is_ip
from ..values.model import Port, Remote, Values
from ..values.naming import dash, with_port

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterator

    Content = Callable[..., tuple[dict[str, Any], Any]]

GATEWAY = "networking.istio.io/v1beta1"
NETWORKING = "networking.istio.io/v1"


class Planned:
    """One object to emit. Its final name is known only once every name of the run is (F2), so
    the content is built later by `fn(*args)`, which returns (spec, labels). A function and its
    arguments rather than a closure: large federations plan 100,000s of rows. For the same reason
    the source identity (F2 hashes it into a name that has to change) may be given as a function
    of `args` instead of a string.

    Maps that many rows share are `Shared` (the YAML writer renders each once); labels may come
    as a tuple of such maps with disjoint keys, in order (`build` merges them)."""

    __slots__ = ("api_version", "kind", "namespace", "name", "_identity", "fn", "args")

    def __init__(self, api_version: str, kind: str, namespace: str | None, name: str,
                 identity: str | Callable[..., str], fn: Content, args: tuple[Any, ...]) -> None:
        self.api_version = api_version
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self._identity = identity
        self.fn = fn
        self.args = args

    @property
    def identity(self) -> str:
        identity = self._identity
        return identity if type(identity) is str else identity(*self.args)  # type: ignore[operator]

    @property
    def scope(self) -> tuple[str, str, str | None]:
        """Names must be unique per API group, kind and namespace."""
        return (self.api_version.rpartition("/")[0], self.kind, self.namespace)

    def build(self, name: str) -> dict[str, Any]:
        """The object as plain dicts (JSON, the API, and PyYAML for what the YAML writer leaves out)."""
        spec, labels = self.fn(*self.args)
        metadata: dict[str, Any] = {"name": name}
        if self.namespace is not None:
            metadata["namespace"] = self.namespace
        if type(labels) is tuple:
            labels = {k: v for part in labels for k, v in part.items()}
        if labels:
            metadata["labels"] = labels
        if type(spec) is Shared:
            spec = dict(spec)
        return {"apiVersion": self.api_version, "kind": self.kind, "metadata": metadata, "spec": spec}


class Objects:
    """The objects of one or more renderings in output order, each built when the iteration
    reaches it. The YAML writer reads the planned rows themselves (`rows`) instead."""

    __slots__ = ("_parts",)

    def __init__(self, parts: list[tuple[list[Planned], list[str]]]) -> None:
        self._parts = parts  # (planned objects, their final names) per rendering

    def rows(self) -> Iterator[tuple[Planned, str]]:
        for planned, names in self._parts:
            yield from zip(planned, names)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for plan, name in self.rows():
            yield plan.build(name)


def given(spec: dict[str, Any], labels: dict[str, str] | None = None) -> tuple[dict[str, Any], dict[str, str] | None]:
    """The content of a row whose spec is known when it is planned."""
    return spec, labels


class Context:
    """Values plus the namespaces the tiers go to and the resolved `hostname` label values."""

    __slots__ = ("values", "mesh_namespace", "namespace", "host_labels", "_shared")

    def __init__(self, values: Values, mesh_namespace: str | None, namespace: str | None,
                 host_labels: dict[str, str]) -> None:
        self.values = values
        self.mesh_namespace = mesh_namespace
        self.namespace = namespace
        self.host_labels = host_labels
        self._shared: dict[tuple[Any, ...], Any] = {}

    def shared(self, key: tuple[Any, ...], make: Callable[[], dict[str, Any]]) -> Shared:
        """The map `make()` builds, made once per `key` and shared by the rows asking for it, so
        that the YAML writer renders it once."""
        found = self._shared.get(key)
        if found is None:
            found = self._shared[key] = Shared(make())
        return found

    def port_list(self, ports: tuple[Port, ...], with_target: bool = True) -> list[Shared]:
        """A ServiceEntry's `ports`, with items shared by every entry with the same ports (most
        use the default ports)."""
        return [self.shared(("port", p, with_target), partial(p.as_dict, with_target)) for p in ports]


def weights(n: int) -> list[int]:
    """F1: 100 split over n destinations, the first `100 % n` getting one more."""
    base, extra = divmod(100, n)
    return [base + 1 if i < extra else base for i in range(n)]


def egress_gateway_hosts(v: Values, hosts: list[str]) -> list[str]:
    """M2/A2 server hosts; with the router, one SNI per host and default port (F7)."""
    if v.router:
        return [with_port(h, p.number) for h in hosts for p in v.default_ports]
    return [f"*.{h}" for h in hosts]


def egress_sni_hosts(v: Values, host: str) -> list[str]:
    if v.router:
        return [with_port(host, p.number) for p in v.default_ports]
    return [f"*.{host}"]


def _egress_virtual_service(v: Values, host: str, meshes: list[Remote], gateway: str,
                            routes: dict[tuple[int, int], Shared]) -> tuple[dict[str, Any], None]:
    """M4/A4: TLS routes from the egress gateway to the remote ingresses, weights per F1. The
    VirtualServices share each (remote, weight) route in `routes`. With failover, one route to
    the host's one destination over every exporter's gateway: a weighted split across
    destinations is chosen once per connection and never moves traffic away from a dead one."""
    sni = egress_sni_hosts(v, host)
    if v.failover_for(host) is not None:
        route: list[Any] = [{"destination": {"host": destination(host), "port": {"number": v.remote_port(meshes[0])}},
                             "weight": 100}]
        return {"hosts": list(sni), "gateways": [gateway], "tls": [{"match": [{"sniHosts": sni}], "route": route}]}, None
    route = []
    for r, w in zip(meshes, weights(len(meshes))):
        item = routes.get((r.index, w))
        if item is None:
            item = routes[(r.index, w)] = Shared(
                destination={"host": f"ingress.{r.mesh}.global", "port": {"number": v.remote_port(r)}}, weight=w)
        route.append(item)
    return {"hosts": list(sni), "gateways": [gateway], "tls": [{"match": [{"sniHosts": sni}], "route": route}]}, None


def ingress_gateway(v: Values, namespace: str | None, name: str) -> Planned:
    """M1/A1: the east-west gateway's AUTO_PASSTHROUGH server for the local exports."""
    spec = tls_gateway_spec(v.ingress_selector or {}, v.ingress_port or 0, "tls-passthrough",
                            [e.hostname for e in v.local_exports], "AUTO_PASSTHROUGH", hosts_first=False)
    return Planned(GATEWAY, "Gateway", namespace, name, name, given, (spec,))


def egress_gateway(v: Values, namespace: str | None, name: str, hosts: list[str]) -> Planned:
    """M2/A2: the egress gateway's PASSTHROUGH server for every imported host."""
    spec = tls_gateway_spec(v.egress.selector or {}, v.egress.port or 0, "tls",
                            egress_gateway_hosts(v, hosts), "PASSTHROUGH", hosts_first=True)
    return Planned(GATEWAY, "Gateway", namespace, name, name, given, (spec,))


def egress_virtual_services(v: Values, namespace: str | None, gateway: str,
                            svc_meshes: dict[str, list[Remote]]) -> Iterator[Planned]:
    """M4/A4: one VirtualService per imported host, in host order."""
    routes: dict[tuple[int, int], Shared] = {}
    for h in sorted(svc_meshes):
        yield Planned("networking.istio.io/v1alpha3", "VirtualService", namespace, f"cross-network-egress-{dash(h)}", h,
                      _egress_virtual_service, (v, h, svc_meshes[h], gateway, routes))


def egress_failover_rows(v: Values, namespace: str | None, svc_meshes: dict[str, list[Remote]],
                         with_network: bool) -> Iterator[Planned]:
    """The egress gateway's one destination per imported host with failover: a ServiceEntry whose
    endpoints are every exporter's gateway addresses (network, locality, weight, and the port
    of each remote), then the DestinationRule that ejects a dead one. Hosts in sorted order."""
    hosts = [(h, f) for h in sorted(svc_meshes) for f in (v.failover_for(h),) if f is not None]
    for h, f in hosts:
        yield Planned(NETWORKING, "ServiceEntry", namespace, f"failover-{dash(h)}", h, _failover_entry,
                      (v, h, svc_meshes[h], f, with_network))
    for h, f in hosts:
        spec = {"exportTo": ["."], "host": destination(h), "trafficPolicy": f.traffic_policy()}
        yield Planned(NETWORKING, "DestinationRule", namespace, f"failover-{dash(h)}", h, given, (spec,))


def _failover_entry(v: Values, host: str, meshes: list[Remote], f: Failover,
                    with_network: bool) -> tuple[dict[str, Any], None]:
    """The ServiceEntry `failover.<host>`: M3/A3's endpoints of every remote listing the host, in
    one list (network as M3/A3 set it, then locality, the remote's port, the weight)."""
    weights_ = endpoint_weights(f, meshes, [len(r.addresses) for r in meshes])
    endpoints = []
    addresses: list[str] = []
    for r, w in zip(meshes, weights_):
        for a in r.addresses:
            ep: dict[str, Any] = {"address": a}
            if with_network:
                ep["network"] = r.network
            if r.locality is not None:
                ep["locality"] = r.locality
            ep["ports"] = {"auto-passthrough-tls": v.remote_port(r)}
            if w is not None:
                ep["weight"] = w
            endpoints.append(ep)
            addresses.append(a)
    return {
        "exportTo": ["."],
        "hosts": [destination(host)],
        "ports": [{"number": v.remote_port(meshes[0]), "name": "auto-passthrough-tls", "protocol": "TLS"}],
        "resolution": resolution(tuple(addresses)),
        "location": "MESH_INTERNAL",
        "endpoints": endpoints,
    }, None


def endpoint_weights(f: Failover | None, meshes: list[Remote], counts: list[int]) -> list[int | None]:
    """The endpoint weight of each exporter's addresses (`counts[i]` of them) in `weighted` mode,
    so that each exporter gets its share whatever its number of addresses; None otherwise (also
    for a host no remote lists: nothing to weigh)."""
    if f is None or f.mode != WEIGHTED or not meshes:
        return [None] * len(meshes)
    return list(address_weights(f.shares([r.mesh for r in meshes], weights(len(meshes))), counts))


def router_rows(v: Values, namespace: str | None, service: str, target_port: str,
                selector: dict[str, str]) -> Iterator[Planned]:
    """M6+M7/A5+A6: a passthrough Route per exported host and port, then the EnvoyFilters that
    make the ingress match the router's SNI."""
    exported = [(e, p) for e in v.local_exports for p in v.ports_of(e)]
    for e, p in exported:
        yield Planned("route.openshift.io/v1", "Route", namespace, f"export-{dash(e.hostname)}-{p.number}",
                      f"{e.hostname}/{p.number}", router_route_spec, (e.hostname, p.number, service, target_port))
    for e, p in exported:
        yield Planned("networking.istio.io/v1alpha3", "EnvoyFilter", namespace, f"export-{dash(e.hostname)}-{p.number}",
                      f"{e.hostname}/{p.number}", router_envoy_filter_spec,
                      (e.hostname, p.number, selector, v.ingress_port or 0))


def tls_gateway_spec(selector: dict[str, str], number: int, port_name: str, hosts: list[str],
                     mode: str, hosts_first: bool) -> dict[str, Any]:
    port = {"number": number, "name": port_name, "protocol": "TLS"}
    tls = {"mode": mode}
    server = {"port": port, "hosts": hosts, "tls": tls} if hosts_first else {"port": port, "tls": tls, "hosts": hosts}
    return {"selector": dict(selector), "servers": [server]}


def router_route_spec(host: str, port: int, service: str, target_port: str) -> tuple[dict[str, Any], None]:
    """M6/A5: an OpenShift passthrough Route for one exported host and port."""
    return {
        "host": with_port(host, port),
        "to": {"kind": "Service", "name": service, "weight": 100},
        "port": {"targetPort": target_port},
        "tls": {"termination": "passthrough"},
        "wildcardPolicy": "None",
    }, None


def router_envoy_filter_spec(host: str, port: int, selector: dict[str, str],
                             ingress_port: int) -> tuple[dict[str, Any], None]:
    """M7/A6: make the ingress's AUTO_PASSTHROUGH filter chain also match the router's SNI."""
    return {
        "workloadSelector": {"labels": dict(selector)},
        "configPatches": [{
            "applyTo": "FILTER_CHAIN",
            "match": {"listener": {"name": f"0.0.0.0_{ingress_port}",
                                   "filterChain": {"sni": f"outbound_.{port}_._.{host}"}}},
            "patch": {"operation": "MERGE",
                      "value": {"filter_chain_match": {"server_names": [with_port(host, port)]}}},
        }],
    }, None


def import_destination_rules(host: str, ports: tuple[Port, ...], namespace: str | None, router: bool,
                             failover: Failover | None) -> list[Planned]:
    """The one DestinationRule of an imported host (Istio keeps only one per host): N3/B3 with F11
    (per-port TLS settings when it has several ports) with the router, and the failover policy
    folded in. Port-level settings do not inherit the top level's in Istio, so with several
    ports each carries the failover policy too."""
    policy = failover.traffic_policy() if failover is not None else {}
    if not router:
        spec = {"exportTo": ["."], "host": host, "trafficPolicy": policy}
        return [Planned(NETWORKING, "DestinationRule", namespace, f"import-{dash(host)}", host, given, (spec,))]
    if len(ports) == 1:
        p = ports[0]
        spec = {"exportTo": ["."], "host": host,
                "trafficPolicy": {**policy, "tls": {"mode": "ISTIO_MUTUAL", "sni": with_port(host, p.number)}}}
        return [Planned(NETWORKING, "DestinationRule", namespace, f"import-{dash(host)}-{p.number}",
                        f"{host}/{p.number}", given, (spec,))]
    settings = [{"port": {"number": p.number}, **policy,
                 "tls": {"mode": "ISTIO_MUTUAL", "sni": with_port(host, p.number)}} for p in ports]
    spec = {"exportTo": ["."], "host": host, "trafficPolicy": {"portLevelSettings": settings}}
    return [Planned(NETWORKING, "DestinationRule", namespace, f"import-{dash(host)}", host, given, (spec,))]


def namespace_destination_rules(v: Values, namespace: str | None) -> Iterator[Planned]:
    """N3/B3 and the failover DestinationRules, in import order. Failover is folded in only for
    direct imports: through the egress gateway the choice is the gateway's (mesh tier)."""
    direct = not v.egress.enabled
    for e in v.imports:
        f = v.failover_for(e.hostname) if direct else None
        if v.router or f is not None:
            yield from import_destination_rules(e.hostname, v.ports_of(e), namespace, v.router, f)


def resolution(addresses: tuple[str, ...]) -> str:
    """F6: STATIC when the addresses are IP literals (v4 or v6), else DNS."""
    return "STATIC" if addresses and all(is_ip(a) for a in addresses) else "DNS"


def authorization_policies(v: Values, namespace: str | None) -> Iterator[Planned]:
    """With `global.authorization` on: one AuthorizationPolicy per exported workload selector
    (never one per caller), named from its first host; in export order."""
    if not v.authorization.enabled:
        return
    for p in policies(v.authorization, [(e.hostname, e.label_selector) for e in v.exports]):
        yield Planned(SECURITY, "AuthorizationPolicy", namespace, p.name, p.hosts[0], given, (p.spec(),))
