"""Synthetic federations for the benchmark, generated deterministically (no randomness: the same
sizes always give the same bytes)."""
from __future__ import annotations

from dataclasses import dataclass

# The seed README example (Step 1 mesh-admin values and Step 2 namespace-admin values, layout v1),
# copied here so the benchmark needs nothing outside the repository.
SEED_MESH = """\
global:
  configNamespace: istio-system
  egressGateway:
    enabled: true
    selector:
      istio: egressgateway
  defaultServicePorts:
  - number: 9080
    name: http
    protocol: HTTP
  remote:
  - mesh: west-mesh
    addresses:
    - 192.168.2.10
    - 192.168.2.11
    port: 15443
    network: west-network
    locality: us-west-1
    importedServices:
    - httpbin.mesh.global
    - ratings.mesh.global
  - mesh: central-mesh
    addresses:
    - 192.168.3.10
    port: 15443
    network: central-network
    locality: us-central-1
    importedServices:
    - ratings.mesh.global
"""
SEED_NAMESPACE = """\
import:
- hostname: ratings.mesh.global
- hostname: httpbin.mesh.global
  ports:
  - number: 8000
    name: http
    protocol: HTTP
export:
- hostname: productpage.mesh.global
  labelSelector:
    app: productpage
"""


@dataclass(frozen=True)
class Size:
    name: str
    remotes: int
    services: int
    listed: int  # services each remote lists in importedServices
    addresses: int  # addresses per remote
    imports: int
    exports: int
    egress: bool
    runs: int
    note: str = ""


SIZES = {
    "M": Size("M", 20, 200, 100, 1, 200, 200, True, 5),
    "L": Size("L", 100, 2000, 1000, 2, 2000, 2000, True, 7),
    # 500 remotes listing 1,000 of 2,000 services would put 250 meshes behind every host, and a
    # VirtualService route holds at most 100 weighted destinations (meshfed refuses more when
    # egress is on). So each XL remote lists 400: every service is offered by exactly 100 meshes.
    "XL": Size("XL", 500, 2000, 400, 2, 2000, 2000, True, 3,
               "each remote lists 400 services (100 meshes per service, the VirtualService maximum)"),
}


def _service(j: int) -> str:
    return f"svc-{j:05d}.mesh.global"


def _local(j: int) -> str:
    return f"local-{j:05d}.mesh.global"


def values_text(size: Size, layout: str) -> str:
    """One values file holding both tiers' keys (global, import, export) for `layout`."""
    out: list[str] = ["global:", "  configNamespace: istio-system", "  defaultServicePorts:",
                      "  - number: 9080", "    name: http", "    protocol: HTTP",
                      "  - number: 9443", "    name: https", "    protocol: HTTPS"]
    if layout == "v2":
        out += ["  enableGatewayAPI: false", "  gateways:", "    ingress:", "      selector:",
                "        app: null", "        istio: eastwestgateway", "      port: 15443", "    egress:",
                f"      enabled: {'true' if size.egress else 'false'}", "      selector:",
                "        istio: egressgateway"]
    else:
        out += ["  egressGateway:", f"    enabled: {'true' if size.egress else 'false'}", "    selector:",
                "      istio: egressgateway", "  gatewaySelector:", "    istio: eastwestgateway"]
    out += ["  local:", "    export:"]
    out += [f"    - hostname: {_local(j)}" for j in range(size.exports)]
    out += ["  remote:"]
    stride = size.services // size.remotes if size.remotes <= size.services else 1
    for i in range(size.remotes):
        out += [f"  - mesh: mesh-{i:04d}", f"    network: nw-{i:04d}",
                f"    locality: region-{i % 7}/zone-{i % 3}", "    port: 15443", "    addresses:"]
        out += [f"    - 10.{i // 250}.{i % 250}.{k + 1}" for k in range(size.addresses)]
        out += ["    importedServices:"]
        start = (i * stride) % size.services
        picked = sorted((start + k) % size.services for k in range(size.listed))
        out += [f"    - {_service(j)}" for j in picked]
    out += ["import:"]
    for j in range(size.imports):
        out.append(f"- hostname: {_service(j)}")
        if j % 10 == 0:  # some entries carry their own ports
            out += ["  ports:", "  - number: 8080", "    name: http-alt", "    protocol: HTTP"]
    out += ["export:"]
    for j in range(size.exports):
        out += [f"- hostname: {_local(j)}", "  labelSelector:", f"    app: local-{j:05d}"]
    return "\n".join(out) + "\n"
