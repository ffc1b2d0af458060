"""Failover (issue: survive the loss of a cluster), checked with the tests' own simulation of
Istio's and Envoy's choice over the rendered objects (`tests/support/envoy_sim.py`).

Over random Federations (both layouts; direct imports with and without Gateway API, egress
imports, the OpenShift router; modes nearest and weighted, weights, per-service settings), for
every import of a service that two or more meshes export: with everything up, with each exporter
down, and with every exporter but one down, no request is lost once ejection has happened. With
failover off the same simulation loses requests (the problem this solves), and the values
extension present but disabled changes no byte."""
from __future__ import annotations

import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshfed.api import Document, render
from meshfed.output.serialize import dump_yaml
from support.envoy_sim import Cluster
from support.failover_draws import service_failover

EGRESS_SERVICE = {"name": "istio-egressgateway", "namespace": "istio-system"}
LOCALITIES = [None, "us-east", "us-east/zone-a", "us-east/zone-b", "us-west/zone-a", "eu-west/zone-a/rack-1"]
OUTLIERS = [{}, {"consecutive5xxErrors": 2}, {"consecutiveGatewayErrors": 1, "interval": "1s"},
            {"splitExternalLocalOriginErrors": True, "consecutiveLocalOriginFailures": 2}]


@st.composite
def federations(draw: st.DrawFn) -> dict[str, Any]:
    layout = draw(st.sampled_from(["v1", "v2"]))
    n = draw(st.integers(3, 5))
    meshes = []
    for i in range(n):
        count = draw(st.integers(1, 2))
        mesh: dict[str, Any] = {"name": f"m{i}", "network": f"net-{i}",
                                "gateway": {"addresses": [f"192.0.2.{10 * (i + 1) + j}" for j in range(count)],
                                            "port": draw(st.sampled_from([15443, 15444]))}}
        locality = draw(st.sampled_from(LOCALITIES))
        if locality is not None:
            mesh["locality"] = locality
        g: dict[str, Any] = {}
        egress = draw(st.booleans())
        router = draw(st.booleans())
        if layout == "v2":
            if egress:
                g["gateways"] = {"egress": {"enabled": True, "selector": {"istio": "egressgateway"}, "port": 15443,
                                            "service": EGRESS_SERVICE}}
            if draw(st.booleans()):
                g["enableGatewayAPI"] = True
            if router:
                g["enableOpenshiftRouter"] = True
        else:
            if egress:
                g["egressGateway"] = {"enabled": True, "selector": {"istio": "egressgateway"}, "port": 443,
                                      "service": EGRESS_SERVICE}
            if router:
                g["useOpenshiftRouter"] = True
        if g:
            mesh["values"] = {"global": g}
        meshes.append(mesh)
    services = []
    for s in range(draw(st.integers(1, 3))):
        exporters = draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=min(3, n - 1), unique=True))
        others = [i for i in range(n) if i not in exporters]
        importers = draw(st.lists(st.sampled_from(others), min_size=1, max_size=2, unique=True))
        service: dict[str, Any] = {
            "hostname": f"svc{s}.mesh.global",
            "exports": [{"mesh": f"m{i}", "namespace": "ns-x", "labelSelector": {"app": f"svc{s}"}} for i in exporters],
            "imports": [{"mesh": f"m{i}", "namespace": draw(st.sampled_from(["ns-a", "ns-b"]))} for i in importers]}
        if draw(st.booleans()):
            service["ports"] = [{"number": 9080, "name": "http", "protocol": "HTTP"},
                                {"number": 9090, "name": "grpc", "protocol": "GRPC"}]
        service_failover(draw, service, [None, {"mode": "weighted"}, {"mode": "nearest"},
                                    {"outlierDetection": {"consecutive5xxErrors": 1}}])
        services.append(service)
    failover: dict[str, Any] = {"mode": draw(st.sampled_from(["nearest", "weighted"]))}
    outlier = draw(st.sampled_from(OUTLIERS))
    if outlier:
        failover["outlierDetection"] = outlier
    spec = {"layout": layout,
            "values": {"global": {"configNamespace": "istio-system",
                                  "defaultServicePorts": [{"number": 9080, "name": "http", "protocol": "HTTP"}]}},
            "failover": failover, "meshes": meshes, "services": services}
    return {"apiVersion": "meshfed.io/v1alpha1", "kind": "Federation", "metadata": {"name": "f"}, "spec": spec}


def _documents(fed: dict[str, Any], mesh: str, namespace: str, values: dict[str, Any] | None = None) -> list[dict]:
    ref = {"path": "federation.yaml", "mesh": mesh}
    extra = {"values": values} if values else {}
    return [{"apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation",
             "metadata": {"name": "mesh", "namespace": "istio-system"},
             "spec": {"scope": "mesh", "federation": ref, "allowEmpty": True, **extra}},
            {"apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation",
             "metadata": {"name": namespace, "namespace": namespace},
             "spec": {"scope": "namespace", "federation": ref, **extra}}]


def _render(directory: Path, fed: dict[str, Any], mesh: str, namespace: str,
            values: dict[str, Any] | None = None) -> str:
    (directory / "federation.yaml").write_text(dump_yaml([fed]), "utf-8")
    docs = [Document(d, f"{i}.yaml", directory) for i, d in enumerate(_documents(fed, mesh, namespace, values))]
    result = render(documents=docs, root=directory)
    errors = [str(d) for d in result.diagnostics if d.severity == "error"]
    assert not errors, errors
    return dump_yaml(result.objects)


def _imports(fed: dict[str, Any]):
    """(importing mesh, its namespace, host, first port, exporting meshes) for k >= 2 exporters."""
    for svc in fed["spec"]["services"]:
        exporters = [e["mesh"] for e in svc["exports"]]
        port = (svc.get("ports") or [{"number": 9080}])[0]["number"]
        for side in svc["imports"]:
            yield side["mesh"], side["namespace"], svc["hostname"], port, exporters


def _cluster(fed: dict[str, Any], text: str, mesh: str) -> Cluster:
    spec = fed["spec"]
    me = next(m for m in spec["meshes"] if m["name"] == mesh)
    g = me.get("values", {}).get("global", {})
    owners = {a: m["name"] for m in spec["meshes"] for a in m["gateway"]["addresses"]}
    through_mesh_networks = spec["layout"] == "v2" and "gateways" in g and not g.get("enableGatewayAPI")
    return Cluster(list(yaml.safe_load_all(text)), me.get("locality"), owners, through_mesh_networks)


def _off(fed: dict[str, Any]) -> dict[str, Any]:
    """The same Federation with failover off everywhere."""
    out = yaml.safe_load(yaml.safe_dump(fed))
    out["spec"]["failover"] = {"enabled": False}
    for svc in out["spec"]["services"]:
        svc.pop("failover", None)
        for side in svc["exports"]:
            side.pop("weight", None)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fed=federations())
def test_no_request_is_lost_once_a_dead_exporter_is_ejected(tmp_path: Path, fed: dict[str, Any]) -> None:
    directory = Path(tempfile.mkdtemp(dir=tmp_path))
    rendered: dict[tuple[str, str], Cluster] = {}
    for mesh, namespace, host, port, exporters in _imports(fed):
        key = (mesh, namespace)
        if key not in rendered:
            rendered[key] = _cluster(fed, _render(directory, fed, mesh, namespace), mesh)
        cluster = rendered[key]
        scenarios = [set()] + [{x} for x in exporters] + [set(exporters) - {y} for y in exporters]
        for down in scenarios:
            outcome = cluster.sidecar(namespace, host, port, down)
            assert outcome.lost == 0, (mesh, namespace, host, sorted(down), outcome)
            assert set(outcome.served) <= set(exporters) - down
            assert sum(outcome.served.values()) == 1
        # one DestinationRule per host and namespace, whatever the route
        hosts = [(o["metadata"].get("namespace"), o["spec"]["host"]) for o in cluster.objects
                 if o["kind"] == "DestinationRule"]
        assert len(hosts) == len(set(hosts))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fed=federations())
def test_without_failover_a_dead_exporter_keeps_its_share(tmp_path: Path, fed: dict[str, Any]) -> None:
    """The simulation sees the problem: with failover off, each exporter down loses requests;
    and the extension, present in the values but disabled, changes no byte of the output."""
    directory = Path(tempfile.mkdtemp(dir=tmp_path))
    off = _off(fed)
    for mesh, namespace, host, port, exporters in _imports(off):
        text = _render(directory, off, mesh, namespace)
        disabled = {"global": {"failover": {"enabled": False, "mode": "weighted",
                                            "outlierDetection": {"consecutive5xxErrors": 1},
                                            "services": [{"hostname": host, "weights": {exporters[0]: 7}}]}}}
        assert _render(directory, off, mesh, namespace, disabled) == text
        assert "outlierDetection" not in text and "failover." not in text
        cluster = _cluster(off, text, mesh)
        for x in exporters:
            assert cluster.sidecar(namespace, host, port, {x}).lost > Fraction(0), (mesh, host, x)


def test_a_weighted_host_no_remote_lists_has_no_endpoint_weights() -> None:
    """A namespace importing, in mode weighted, a host no remote lists: nothing to weigh (its own
    error is the cross-cluster check's), never a division by zero."""
    from meshfed.values.failover import Failover
    from meshfed.output.rows import endpoint_weights

    assert endpoint_weights(Failover("weighted", {}, {}), [], []) == []
