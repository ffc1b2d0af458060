"""The charts' defaults: the first values layer (merged like any file), and the template-only
defaults used when a key is absent (never merged)."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULTS_NAME = "<defaults>"

_V2_MESH: dict[str, Any] = {
    "global": {
        "configNamespace": "istio-system",
        "enableGatewayAPI": False,
        "enableOpenshiftRouter": False,
        "gateways": {
            "ingress": {
                "selector": {"app": "istio-eastwestgateway"},
                "port": 15443,
                "portName": "tls",
                "serviceName": "istio-eastwestgateway",
            },
            "egress": {
                "enabled": False,
                "service": {"name": "istio-egressgateway", "namespace": "istio-system"},
                "port": 15443,
            },
        },
        "remote": [],
    },
    "import": [],
    "export": [],
}
_V2_NAMESPACE: dict[str, Any] = {"import": [], "export": []}
_V1: dict[str, Any] = {
    "global": {
        "configNamespace": "istio-system",
        "useOpenshiftRouter": False,
        "egressGateway": {
            "enabled": False,
            "service": {"name": "istio-egressgateway", "namespace": "istio-system"},
            "port": 443,
        },
        "remote": [],
    },
    "import": [],
    "export": [],
}

# Template-only defaults.
V2_EGRESS_SELECTOR = {"app": "istio-egressgateway"}
V2_REMOTE_PORT = 15443
V2_DEFAULT_INGRESS_APP = ("app", "istio-eastwestgateway")
V1_INGRESS_SELECTOR = {"app": "federation-ingress-gateway"}
V1_INGRESS_PORT = 15443


def defaults_layer(layout: str, mesh_tier: bool) -> dict[str, Any]:
    """The chart defaults Helm merges first. The v2 namespace-admin chart has no `global` defaults,
    so they apply only when the mesh tier is rendered."""
    if layout == "v1":
        return _copy(_V1)
    return _copy(_V2_MESH if mesh_tier else _V2_NAMESPACE)


def _copy(value: Any) -> Any:
    """A deep copy of maps, lists and scalars (all the defaults hold; `copy` costs more to import)."""
    if type(value) is dict:
        return {k: _copy(v) for k, v in value.items()}
    if type(value) is list:
        return [_copy(v) for v in value]
    return value
