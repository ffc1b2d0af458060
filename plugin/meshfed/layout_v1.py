"""Layout v1 (the generation the seed README documents): rows A1-A6 and B1-B3."""
from __future__ import annotations

from typing import Any, Iterator

from . import defaults
from .naming import dash
from .rows import (Context, Planned, egress_gateway_hosts, egress_virtual_service, import_destination_rules,
                   router_envoy_filter_spec, router_route_spec, tls_gateway_spec)

GW = "networking.istio.io/v1beta1"
ROUTER_NAMESPACE = "istio-system"  # A5, A6: the charts hard-code it


def mesh_tier(c: Context) -> Iterator[Planned]:
    v = c.values
    cfg = v.config_namespace
    egress = v.egress.enabled
    svc_meshes = v.svc_meshes()
    hosts = sorted(svc_meshes)
    if v.local_exports:  # A1
        spec = tls_gateway_spec(v.ingress_selector or {}, v.ingress_port or 0, "tls-passthrough",
                                [e.hostname for e in v.local_exports], "AUTO_PASSTHROUGH", hosts_first=False)
        yield Planned(GW, "Gateway", c.mesh_namespace, "federation-ingress-gateway", "federation-ingress-gateway",
                      lambda: (spec, None))
    if egress and v.remotes and hosts:  # A2 (F12)
        spec2 = tls_gateway_spec(v.egress.selector or {}, v.egress.port or 0, "tls",
                                 egress_gateway_hosts(v, hosts), "PASSTHROUGH", hosts_first=True)
        yield Planned(GW, "Gateway", cfg, "federation-egress-gateway", "federation-egress-gateway",
                      lambda: (spec2, None))
    if egress:  # A3
        for r in v.remotes:
            yield Planned(GW, "ServiceEntry", cfg, f"ingress-{r.mesh}", r.mesh or "",
                          lambda r=r: (_remote_ingress_entry(r), None))
        for h in hosts:  # A4
            yield Planned("networking.istio.io/v1alpha3", "VirtualService", cfg, f"cross-network-egress-{dash(h)}", h,
                          lambda h=h: (egress_virtual_service(v, h, svc_meshes[h], "federation-egress-gateway"), None))
    if v.router:  # A5, A6
        exported = [(e, p) for e in v.local_exports for p in v.ports_of(e)]
        for e, p in exported:
            yield Planned("route.openshift.io/v1", "Route", ROUTER_NAMESPACE, f"export-{dash(e.hostname)}-{p.number}",
                          f"{e.hostname}/{p.number}",
                          lambda e=e, p=p: (router_route_spec(e.hostname, p.number, "federation-ingress-gateway",
                                                              "tls-passthrough"), None))
        for e, p in exported:
            yield Planned("networking.istio.io/v1alpha3", "EnvoyFilter", ROUTER_NAMESPACE,
                          f"export-{dash(e.hostname)}-{p.number}", f"{e.hostname}/{p.number}",
                          lambda e=e, p=p: (router_envoy_filter_spec(e.hostname, p.number, defaults.V1_INGRESS_SELECTOR,
                                                                     v.ingress_port or 0), None))


def _remote_ingress_entry(r: Any) -> dict[str, Any]:
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
    }


def namespace_tier(c: Context) -> Iterator[Planned]:
    v, ns = c.values, c.namespace
    by_host = v.svc_meshes()
    for e in v.imports:  # B1
        yield Planned("networking.istio.io/v1alpha3", "ServiceEntry", ns, f"import-{dash(e.hostname)}", e.hostname,
                      lambda e=e: (_import_entry(c, e, by_host.get(e.hostname, [])), None))
    for e in v.exports:  # B2
        yield Planned("networking.istio.io/v1", "ServiceEntry", ns, f"export-{dash(e.hostname)}", e.hostname,
                      lambda e=e: ({
                          "hosts": [e.hostname],
                          "location": "MESH_INTERNAL",
                          "ports": [p.as_dict() for p in v.ports_of(e)],
                          "resolution": "STATIC",
                          "workloadSelector": {"labels": dict(e.label_selector or {})},
                      }, None))
    if v.router:  # B3 (F11)
        for e in v.imports:
            yield from import_destination_rules(e.hostname, v.ports_of(e), ns)


def _import_entry(c: Context, e: Any, remotes: list) -> dict[str, Any]:
    """B1: through the egress gateway (one endpoint, F14), or straight to each remote address."""
    v = c.values
    ports = v.ports_of(e)
    if v.egress.enabled:
        endpoints: list[dict[str, Any]] = [{
            "address": f"{v.egress.service_name}.{v.egress.service_namespace}.svc.cluster.local",
            "ports": {p.name: v.egress.port for p in ports},
            "labels": {"security.istio.io/tlsMode": "istio"},
        }]
    else:
        endpoints = []
        for r in remotes:
            for a in r.addresses:
                ep: dict[str, Any] = {"address": a, "ports": {p.name: r.port for p in ports}, "network": r.network}
                if r.locality is not None:
                    ep["locality"] = r.locality
                ep["labels"] = {"security.istio.io/tlsMode": "istio", "mesh": r.mesh}
                endpoints.append(ep)
    return {
        "exportTo": ["."],
        "hosts": [e.hostname],
        "ports": [p.as_dict(with_target=False) for p in ports],
        "location": "MESH_INTERNAL",
        "resolution": "DNS",
        "endpoints": endpoints,
    }
