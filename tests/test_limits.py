"""The contract's limits at their boundary (section 7): the last value allowed renders, the first
value past it is an error. (101 meshes offering one host: the golden case e-more-than-100-meshes.)"""
from __future__ import annotations

from typing import Any

import pytest

from meshfed.values.merge import Layer
from meshfed.pipeline import Options, Rendering, render_layers

HOST = "ratings.mesh.global"


def _render(values: dict[str, Any]) -> Rendering:
    return render_layers([Layer("values.yaml", values)], [], Options(scope="all", namespace="bookinfo"))


def _errors(rendering: Rendering) -> list[tuple[str, str]]:
    return [(d.path, d.message) for d in rendering.diagnostics if d.severity == "error"]


def _meshes(n: int) -> dict[str, Any]:
    """Egress with Gateway API, and `n` remotes that all offer HOST."""
    return {"global": {"enableGatewayAPI": True, "gateways": {"egress": {"enabled": True}},
                       "remote": [{"mesh": f"mesh-{i:03}", "network": f"network-{i:03}", "addresses": [f"10.0.0.{i}"],
                                   "importedServices": [HOST]} for i in range(n)]}}


def test_a_hundred_meshes_offering_one_host_render_with_weight_one_each() -> None:
    """F1: a route holds at most 100 weighted destinations (101 is an error); each gets 100 // 100 = 1."""
    rendering = _render(_meshes(100))
    assert _errors(rendering) == []
    [route] = [o for o in rendering.objects() if o["kind"] == "VirtualService"]
    destinations = route["spec"]["tls"][0]["route"]
    assert [d["weight"] for d in destinations] == [1] * 100


def _router(first_label: str) -> dict[str, Any]:
    """The router with egress: a local export and a remote's imported service, both `first_label`.mesh.global."""
    host = f"{first_label}.mesh.global"
    return {"global": {"enableOpenshiftRouter": True, "enableGatewayAPI": True,
                       "gateways": {"egress": {"enabled": True}, "ingress": {"selector": {"istio": "eastwestgateway"}}},
                       "defaultServicePorts": [{"number": 9080, "name": "http", "protocol": "HTTP"}],
                       "local": {"export": [{"hostname": host}]},
                       "remote": [{"mesh": "west-mesh", "network": "west-network", "addresses": ["192.0.2.10"],
                                   "importedServices": [host]}]}}


def test_a_with_port_first_label_of_63_characters_renders() -> None:
    label = "r" * 58  # withPort adds "-9080": 63 characters
    rendering = _render(_router(label))
    assert _errors(rendering) == []
    routes = [o["spec"]["host"] for o in rendering.objects() if o["kind"] == "Route"]
    assert routes == [f"{label}-9080.mesh.global"]
    assert len(routes[0].partition(".")[0]) == 63


@pytest.mark.parametrize("path", ["global.local.export[0].hostname", "global.remote[0].importedServices[0]"])
def test_a_with_port_first_label_of_64_characters_is_an_error(path: str) -> None:
    label = "r" * 59
    assert (path, f"with the OpenShift router, {label}.mesh.global on port 9080 becomes {label}-9080.mesh.global, "
                  "whose first label is longer than 63 characters") in _errors(_render(_router(label)))
