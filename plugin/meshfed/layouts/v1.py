"""Layout v1 (the generation the seed README documents): rows A1-A6 and B1-B3."""
from __future__ import annotations


from ..values import defaults
from ..values.naming import dash
from ..output.rows import (GATEWAY, Context, Planned, authorization_policies, egress_failover_rows, egress_gateway,
                   egress_virtual_services, endpoint_weights, ingress_gateway, namespace_destination_rules, router_rows)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator

ROUTER_NAMESPACE = "istio-system"  # A5, A6: the charts hard-code it


def mesh_tier(c: Context) -> Iterator[Planned]:
    v = c.values
    cfg = v.config_namespace
    egress = v.egress.enabled
    svc_meshes = v.meshes_by_host
    hosts = sorted(svc_meshes)
    if v.local_exports:  # A1
        yield ingress_gateway(v, c.mesh_namespace, "federation-ingress-gateway")
    if egress and v.remotes and hosts:  # A2 (F12)
        yield egress_gateway(v, cfg, "federation-egress-gateway", hosts)
    if egress:  # A3, A4
        for r in v.remotes:
            yield Planned(GATEWAY, "ServiceEntry", cfg, f"ingress-{r.mesh}", r.mesh or "", _remote_ingress_entry, (r,))
        yield from egress_virtual_services(v, cfg, "federation-egress-gateway", svc_meshes)
        yield from egress_failover_rows(v, cfg, svc_meshes, with_network=True)
    if v.router:  # A5, A6
        yield from router_rows(v, ROUTER_NAMESPACE, "federation-ingress-gateway", "tls-passthrough",
                               defaults.V1_INGRESS_SELECTOR)


def _remote_ingress_entry(r: Any) -> tuple[dict[str, Any], None]:
    """A3: like M3, but always DNS resolution and endpoints with network and ports."""
    endpoints = []
    for a in r.addresses:
        ep: dict[str, Any] = {"address": a, "network": r.network}
        if r.locality is not None:
            ep["locality"] = r.locality
        ep["ports"] = {"auto-passthrough-tls": r.port}
        endpoints.append(ep)
    return {
        "exportTo": ["."],
        "hosts": [f"ingress.{r.mesh}.global"],
        "ports": [{"number": r.port, "name": "auto-passthrough-tls", "protocol": "TLS"}],
        "resolution": "DNS",
        "location": "MESH_INTERNAL",
        "endpoints": endpoints,
    }, None


def namespace_tier(c: Context) -> Iterator[Planned]:
    v, ns = c.values, c.namespace
    by_host = v.meshes_by_host
    for e in v.imports:  # B1
        yield Planned("networking.istio.io/v1alpha3", "ServiceEntry", ns, f"import-{dash(e.hostname)}", e.hostname,
                      _import_entry, (c, e, by_host.get(e.hostname, [])))
    for e in v.exports:  # B2
        yield Planned("networking.istio.io/v1", "ServiceEntry", ns, f"export-{dash(e.hostname)}", e.hostname,
                      _export_entry, (c, e, v.ports_of(e)))
    yield from namespace_destination_rules(v, ns)  # B3 (F11), failover
    yield from authorization_policies(v, ns)  # boundary authorization of the exports


def _export_entry(c: Context, e: Any, ports: tuple) -> tuple[dict[str, Any], None]:
    """B2: the exported host, selecting the local workloads."""
    return {
        "hosts": [e.hostname],
        "location": "MESH_INTERNAL",
        "ports": c.port_list(ports),
        "resolution": "STATIC",
        "workloadSelector": {"labels": dict(e.label_selector or {})},
    }, None


def _import_entry(c: Context, e: Any, remotes: list) -> tuple[dict[str, Any], None]:
    """B1: through the egress gateway (one endpoint, F14), or straight to each remote address."""
    v = c.values
    ports = v.ports_of(e)
    if v.egress.enabled:
        endpoints: list[dict[str, Any]] = [c.shared(("egress endpoint", ports), lambda: {
            "address": f"{v.egress.service_name}.{v.egress.service_namespace}.svc.cluster.local",
            "ports": {p.name: v.egress.port for p in ports},
            "labels": {"security.istio.io/tlsMode": "istio"},
        })]
    else:
        endpoints = []
        weights = endpoint_weights(v.failover_for(e.hostname), remotes, [len(r.addresses) for r in remotes])
        for r, w in zip(remotes, weights):
            for a in r.addresses:
                ep: dict[str, Any] = {"address": a, "ports": {p.name: r.port for p in ports}, "network": r.network}
                if r.locality is not None:
                    ep["locality"] = r.locality
                ep["labels"] = {"security.istio.io/tlsMode": "istio", "mesh": r.mesh}
                if w is not None:
                    ep["weight"] = w
                endpoints.append(ep)
    return {
        "exportTo": ["."],
        "hosts": [e.hostname],
        "ports": c.port_list(ports, with_target=False),
        "location": "MESH_INTERNAL",
        "resolution": "DNS",
        "endpoints": endpoints,
    }, None
