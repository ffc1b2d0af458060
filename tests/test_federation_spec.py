"""meshfed.values.federation_spec read directly: the Federation's validation messages and what
it derives for one mesh, field by field (the mutants tests/test_federation_doc.py left alive)."""
from __future__ import annotations

from typing import Any

from meshfed.values.federation_spec import FederationSpec, read

SOURCE = "federation.yaml"


def federation(meshes: list[dict[str, Any]], services: list[dict[str, Any]], **spec: Any) -> FederationSpec:
    doc = {"apiVersion": "meshfed.io/v1alpha1", "kind": "Federation", "metadata": {"name": "f"},
           "spec": {"layout": "v2", "meshes": meshes, "services": services, **spec}}
    return read(doc, SOURCE, [], [])


def errors(fed: FederationSpec) -> list[str]:
    return [str(d) for d in fed.diagnostics if d.severity == "error"]


def service(host: str, exports: list[str], imports: list[str], namespace: str = "x") -> dict[str, Any]:
    return {"hostname": host,
            "exports": [{"mesh": m, "namespace": namespace, "labelSelector": {"app": host.split(".")[0]}}
                        for m in exports],
            "imports": [{"mesh": m, "namespace": namespace} for m in imports]}


A = {"name": "a", "network": "na", "gateway": {"addresses": ["192.0.2.1"], "port": 15443}}
B = {"name": "b", "network": "nb"}


def test_an_unknown_mesh_names_the_meshes_there_are() -> None:
    fed = federation([A, B], [service("x.mesh.global", ["a"], ["c"])])
    assert errors(fed) == [f"{SOURCE}: spec.services[0].imports[0].mesh: unknown mesh c (the meshes are a, b)"]


def test_a_derived_value_is_located_in_the_federation_field_it_came_from() -> None:
    fed = federation([A, B], [service("x.mesh.global", ["a"], ["b"])])
    assert errors(fed) == []
    derived = fed.layers_for(fed.meshes[1], None, namespace_lists=False)[-1]
    assert derived.data["global"]["remote"] == [
        {"mesh": "a", "network": "na", "addresses": ["192.0.2.1"], "port": 15443, "importedServices": ["x.mesh.global"]}]
    assert derived.locate(("global", "remote", 0, "addresses", 0)) == "spec.meshes[0].gateway.addresses[0]"
    assert derived.locate(("global", "remote", 0, "importedServices", 0)) == "spec.services[0].imports[0]"
    assert derived.locate(("global", "remote", 0, "extra")) == "spec.meshes[0].extra"
    assert derived.locate(("other", "path")) == "other.path"


def test_an_import_nobody_exports_is_an_error_of_that_import_only() -> None:
    fed = federation([A, B], [service("x.mesh.global", [], ["b", "c"])])
    assert errors(fed) == [
        f"{SOURCE}: spec.services[0].imports[1].mesh: unknown mesh c (the meshes are a, b)",
        f"{SOURCE}: spec.services[0].imports[0]: mesh b imports x.mesh.global, but no mesh exports it"]


def test_a_service_without_a_hostname_is_an_error_not_a_crash() -> None:
    fed = federation([A, B], [{"exports": [], "imports": []}, service("x.mesh.global", ["a"], ["b"])])
    assert [s.hostname for s in fed.services] == ["x.mesh.global"]
    assert len(errors(fed)) == 1 and errors(fed)[0].startswith(f"{SOURCE}: spec.services[0]")


def test_an_exports_weight_is_located_at_that_export() -> None:
    x = service("x.mesh.global", ["a", "c"], ["b"])
    x["exports"][1]["weight"] = 30
    fed = federation([A, B, {"name": "c", "network": "nc"}], [x], failover={"mode": "weighted"})
    assert errors(fed) == []
    derived = fed.layers_for(fed.meshes[1], None, namespace_lists=False)[-1]
    assert derived.data["global"]["failover"] == {"enabled": True, "mode": "weighted",
                                                  "services": [{"hostname": "x.mesh.global", "weights": {"c": 30}}]}
    assert derived.locate(("global", "failover", "services", 0, "weights", "c")) == "spec.services[0].exports[1].weight"
    assert derived.locate(("global", "failover", "services", 0, "weights", "a")) == "spec.services[0].exports.a"


def test_each_mesh_needs_its_own_name_network_and_cluster() -> None:
    twins = [{"name": "a", "network": "n"}, {"name": "b", "network": "n"},
             {"name": "c", "network": "nc", "cluster": "k"}, {"name": "d", "network": "nd", "cluster": "k"},
             {"name": "a", "network": "ne"}]
    assert errors(federation(twins, [])) == [
        f"{SOURCE}: spec.meshes[4].name: name a is also the name of spec.meshes[0] (a); each mesh needs its own",
        f"{SOURCE}: spec.meshes[1].network: network n is also the network of spec.meshes[0] (a); each mesh needs its own",
        f"{SOURCE}: spec.meshes[3].cluster: cluster k is also the cluster of spec.meshes[2] (c); each mesh needs its own"]
