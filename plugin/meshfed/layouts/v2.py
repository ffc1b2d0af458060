"""Layout v2 (the current chart generation): rows M1-M7 (mesh tier) and N1-N3 (namespace tier)."""
from __future__ import annotations


from ..values.formats import is_ip
from ..values.naming import dash
from ..output.emit import Shared
from ..output.rows import (GATEWAY, Context, Planned, authorization_policies, egress_failover_rows, egress_gateway,
                   egress_virtual_services, endpoint_weights, ingress_gateway, namespace_destination_rules, resolution,
                   router_rows)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator


def mesh_tier(c: Context) -> Iterator[Planned]:
    v, ns = c.values, c.mesh_namespace
    egress = v.egress.enabled
    svc_meshes = v.meshes_by_host
    hosts = sorted(svc_meshes)
    if v.local_exports:  # M1
        yield ingress_gateway(v, ns, "cross-network-gateway")
    if egress and v.remotes and hosts:  # M2 (F12: not without hosts)
        yield egress_gateway(v, ns, "cross-network-egress-gateway", hosts)
    if egress:  # M3, M4
        for r in v.remotes:
            yield Planned(GATEWAY, "ServiceEntry", ns, f"ingress-{r.mesh}", r.mesh or "", _remote_ingress_entry, (c, r))
        yield from egress_virtual_services(v, ns, "cross-network-egress-gateway", svc_meshes)
        yield from egress_failover_rows(v, ns, svc_meshes, with_network=not v.gateway_api)
    if v.gateway_api:  # M5
        for r in v.remotes:
            if r.addresses or egress:
                yield Planned("gateway.networking.k8s.io/v1beta1", "Gateway", ns, f"remote-gateway-{r.network}",
                              r.network or "", _remote_gateway, (c, r))
    if v.router:  # M6, M7
        yield from router_rows(v, ns, v.ingress_service_name or "", v.ingress_port_name or "", v.ingress_selector or {})


def _remote_ingress_entry(c: Context, r: Any) -> tuple[dict[str, Any], None]:
    """M3: the remote mesh's east-west gateway, as the egress gateway reaches it."""
    v = c.values
    endpoints = []
    for a in r.addresses:
        ep: dict[str, Any] = {"address": a}
        if not v.gateway_api:
            ep["network"] = r.network
        if r.locality is not None:
            ep["locality"] = r.locality
        endpoints.append(ep)
    return {
        "exportTo": ["."],
        "hosts": [f"ingress.{r.mesh}.global"],
        "ports": [{"number": v.remote_port(r), "name": "auto-passthrough-tls", "protocol": "TLS"}],
        "resolution": resolution(r.addresses),
        "location": "MESH_INTERNAL",
        "endpoints": endpoints,
    }, None


def _remote_gateway(c: Context, r: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """M5: a Gateway API network gateway for the remote network (F9: DNS names are Hostnames)."""
    v = c.values
    if v.egress.enabled:
        addresses = [{"type": "Hostname",
                      "value": f"{v.egress.service_name}.{v.egress.service_namespace}.svc.cluster.local"}]
        port = v.egress.port
    else:
        addresses = [{"value": a} if is_ip(a) else {"type": "Hostname", "value": a} for a in r.addresses]
        port = v.remote_port(r)
    spec = {
        "gatewayClassName": "istio-remote",
        "addresses": addresses,
        "listeners": [{
            "name": "cross-network",
            "port": port,
            "protocol": "TLS",
            "tls": {"mode": "Passthrough", "options": {"gateway.istio.io/listener-protocol": "auto-passthrough"}},
        }],
    }
    return spec, {"topology.istio.io/network": r.network}


def namespace_tier(c: Context) -> Iterator[Planned]:
    v, ns = c.values, c.namespace
    exports = {e.hostname: e for e in v.exports}
    imports = {e.hostname: e for e in v.imports}
    hosts = sorted(exports.keys() | imports.keys())
    ports = {h: v.ports_of(exports[h] if h in exports else imports[h]) for h in hosts}
    selectors = {h: Shared(exports[h].label_selector or {}) if h in exports else Shared(hostname=c.host_labels[h])
                 for h in hosts}

    for h in hosts:  # N1
        yield Planned("networking.istio.io/v1", "ServiceEntry", ns, dash(h), h, _service_entry,
                      (c, h, ports[h], selectors[h]))
    by_host = v.meshes_by_host
    # N2: the labels per host and per remote, the spec per remote, address and port names are
    # shared by the rows (so that the YAML writer renders each once).
    per_remote: dict[int, tuple[Shared, str, range | list[int]]] = {}  # labels part, name part, addresses
    specs: dict[tuple, list[Shared]] = {}  # (remote, port names) -> the spec per address
    for h in hosts:
        if h not in imports:
            continue
        host_ports = ports[h]
        names = tuple(p.name for p in host_ports)
        selector = selectors[h]
        prefix = dash(h)
        listing = by_host.get(h, [])
        # Failover's `weighted` mode: a weight per WorkloadEntry (per remote with Gateway API,
        # whose network gateway takes the remote's weight, per address otherwise).
        weights = endpoint_weights(None if v.egress.enabled else v.failover_for(h), listing,
                                   [1 if v.gateway_api else len(r.addresses) for r in listing])
        for r, weight in zip(listing, weights):
            remote = per_remote.get(r.index)
            if remote is None:
                remote = per_remote[r.index] = (
                    Shared({"security.istio.io/tlsMode": "istio", "topology.istio.io/cluster": r.mesh}),
                    dash(r.network or "")[:10], [0] if v.gateway_api else range(len(r.addresses)))  # F13
            extra, network, indices = remote
            labels = (selector, extra) if selector.keys().isdisjoint(extra) else {**selector, **extra}
            spec = specs.get((r.index, names, weight))
            if spec is None:
                spec = specs[(r.index, names, weight)] = [_workload_entry_spec(c, r, i, host_ports, weight)
                                                          for i in indices]
            for i in indices:
                yield Planned("networking.istio.io/v1", "WorkloadEntry", ns, f"{prefix}-{network}-{i}",
                              _workload_entry_identity, _workload_entry, (spec[i], labels, h, r, i))
    yield from namespace_destination_rules(v, ns)  # N3 (F11), failover
    yield from authorization_policies(v, ns)  # boundary authorization of the exports


def _service_entry(c: Context, h: str, ports: tuple, selector: dict[str, str]) -> tuple[dict[str, Any], None]:
    """N1: the host, selecting the local workloads (exported) or the WorkloadEntries (imported)."""
    return {
        "hosts": [h],
        "location": "MESH_INTERNAL",
        "ports": c.port_list(ports),
        "resolution": "STATIC",
        "workloadSelector": {"labels": dict(selector)},
    }, None


def _workload_entry(spec: Shared, labels: Any, h: str, r: Any, i: int) -> tuple[Shared, Any]:
    """N2's content, shared blocks planned with the row (the rest of `args` is for the identity)."""
    return spec, labels


def _workload_entry_identity(spec: Shared, labels: Any, h: str, r: Any, i: int) -> str:
    """N2's source identity, made only when F2 has to hash the row's name (no string per row)."""
    return f"{h}/{r.network}/{i}"


def _workload_entry_spec(c: Context, r: Any, i: int, ports: tuple, weight: int | None) -> Shared:
    """N2: the remote's network, address `i` and locality, its port for each of the host's ports,
    and the failover weight when there is one."""
    v = c.values
    spec = Shared(network=r.network)
    if not v.gateway_api:
        spec["address"] = r.addresses[i]
    if r.locality is not None:
        spec["locality"] = r.locality
    if not v.gateway_api:  # F10
        spec["ports"] = {p.name: v.remote_port(r) for p in ports}
    if weight is not None:
        spec["weight"] = weight
    return spec
