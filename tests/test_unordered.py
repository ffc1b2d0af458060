"""Equal up to order (`meshfed.output.unordered`): the lists Istio reads as sets, in `federation import`
and in `meshfed diff --ignore-order`."""
from __future__ import annotations

import copy
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import MESHFED, REPO
from meshfed.api import render
from meshfed.output.resources import object_key
from meshfed.output.unordered import SET_FIELDS, canonical, compare_objects, equal_up_to_order

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def meshfed(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MESHFED), *args], cwd=cwd, capture_output=True, text=True, check=False)


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, check=True, capture_output=True)


GATEWAY = {"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
           "metadata": {"name": "cross-network-gateway", "namespace": "istio-system"},
           "spec": {"selector": {"istio": "eastwestgateway"},
                    "servers": [{"port": {"number": 15443, "name": "tls", "protocol": "TLS"},
                                 "tls": {"mode": "AUTO_PASSTHROUGH"}, "hosts": ["a.global", "b.global"]}]}}
ROUTES = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
          "metadata": {"name": "egress", "namespace": "istio-system"},
          "spec": {"hosts": ["a.global"], "tls": [
              {"match": [{"sniHosts": ["a.global"]}], "route": [{"destination": {"host": "x"}, "weight": 50},
                                                              {"destination": {"host": "y"}, "weight": 50}]},
              {"match": [{"sniHosts": ["b.global"]}], "route": [{"destination": {"host": "z"}}]}]}}


def test_gateway_hosts_reordered_are_equal_and_named():
    other = copy.deepcopy(GATEWAY)
    other["spec"]["servers"][0]["hosts"].reverse()
    same = compare_objects([GATEWAY], [other])
    assert same.equal
    assert same.reordered == ["Gateway.networking.istio.io istio-system/cross-network-gateway "
                              "spec.servers[0].hosts reordered"]


def test_route_destinations_are_a_set_but_rules_are_not():
    weights = copy.deepcopy(ROUTES)
    weights["spec"]["tls"][0]["route"].reverse()
    assert compare_objects([ROUTES], [weights]).equal
    rules = copy.deepcopy(ROUTES)
    rules["spec"]["tls"].reverse()  # the first rule that matches wins: a cluster sees this
    assert compare_objects([ROUTES], [rules]).difference == (
        "VirtualService.networking.istio.io istio-system/egress: spec.tls[0].match[0].sniHosts[0]: "
        '"a.global" becomes "b.global"')


def test_a_changed_entry_of_a_set_is_named_inside_it():
    other = copy.deepcopy(ROUTES)
    other["spec"]["tls"][0]["route"][1]["weight"] = 40
    assert compare_objects([ROUTES], [other]).difference == (
        "VirtualService.networking.istio.io istio-system/egress: spec.tls[0].route[1].weight: 50 becomes 40")


def test_objects_reordered_missing_and_added():
    assert compare_objects([GATEWAY, ROUTES], [ROUTES, GATEWAY]).reordered == ["objects reordered"]
    assert compare_objects([GATEWAY, ROUTES], [ROUTES]).difference == (
        "Gateway.networking.istio.io istio-system/cross-network-gateway is not rendered any more")
    assert compare_objects([ROUTES], [ROUTES, GATEWAY]).difference == (
        "Gateway.networking.istio.io istio-system/cross-network-gateway is rendered in addition")


def test_a_number_is_not_a_boolean():
    other = copy.deepcopy(GATEWAY)
    other["spec"]["servers"][0]["port"]["number"] = True
    assert not compare_objects([GATEWAY], [other]).equal


def _example_objects() -> list[dict]:
    out = []
    for app in sorted((REPO / "overlays").glob("*/*/kustomization.yaml")):
        rendered = render([app.parent], root=REPO)
        assert rendered.ok, rendered.diagnostics
        out += list(rendered.objects)
    return out


def _reverse_sets(value, fields, pattern=""):
    if isinstance(value, dict):
        return {k: _reverse_sets(v, fields, f"{pattern}.{k}" if pattern else k) for k, v in value.items()}
    if isinstance(value, list):
        items = [_reverse_sets(v, fields, pattern + "[]") for v in value]
        return items[::-1] if pattern in fields else items
    return value


def test_every_set_field_of_the_example_reversed_is_equal_and_its_canonical_form_too():
    """Each object of overlays/ with every list of SET_FIELDS reversed: equal up to order, the
    same canonical form; and at least one such list exists with two entries (else nothing was
    tested)."""
    reordered = 0
    for obj in _example_objects():
        key = object_key(obj)
        fields = SET_FIELDS.get((key[0], key[1]), {})
        other = _reverse_sets(obj, fields)
        assert equal_up_to_order(key, obj, other), key
        assert canonical(obj, fields) == canonical(other, fields)
        reordered += other != obj
    assert reordered >= 3


# --------------------------------------------------------------------------------------------
# The chart author's shape: per-cluster values whose lists disagree on their order


def author_repository(top: Path) -> Path:
    """Three clusters as MeshFederation documents over the values the chart author keeps per
    cluster: west exports details then ratings, central imports ratings then details."""
    shared = {"global": {"defaultServicePorts": [{"number": 9080, "name": "http", "protocol": "HTTP"}]}}
    mesh_values = {
        "central": {"global": {"egressGateway": {"enabled": True, "selector": {"app": "istio-egressgateway"}},
                               "remote": [
                                   {"mesh": "east-mesh", "network": "east-network", "addresses": ["192.0.2.1"],
                                    "port": 15443, "importedServices": ["ratings.mesh.global"]},
                                   {"mesh": "west-mesh", "network": "west-network", "addresses": ["192.0.2.2"],
                                    "port": 15443, "importedServices": ["ratings.mesh.global", "details.mesh.global"]}]}},
        "east": {"global": {"local": {"export": [{"hostname": "ratings.mesh.global"}]}}},
        "west": {"global": {"local": {"export": [{"hostname": "details.mesh.global"},
                                                 {"hostname": "ratings.mesh.global"}]}}},
    }
    ns_values = {
        "central": {"import": [{"hostname": "ratings.mesh.global"}, {"hostname": "details.mesh.global"}]},
        "east": {"export": [{"hostname": "ratings.mesh.global", "labelSelector": {"app": "ratings"}}]},
        "west": {"export": [{"hostname": "details.mesh.global", "labelSelector": {"app": "details"}},
                            {"hostname": "ratings.mesh.global", "labelSelector": {"app": "ratings"}}]},
    }
    repo = top / "repo"
    (repo / "base").mkdir(parents=True)
    (repo / "base" / "values.yaml").write_text(yaml.safe_dump(shared))
    for cluster in ("central", "east", "west"):
        for app, scope, values, base in (("mesh", "mesh", mesh_values[cluster], ["../../base/values.yaml"]),
                                         ("bookinfo", "namespace", ns_values[cluster], ["../mesh/mesh.yaml"])):
            (repo / cluster / app).mkdir(parents=True)
            doc = {"apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation",
                   "metadata": {"name": app, "namespace": "istio-system" if app == "mesh" else "bookinfo"},
                   "spec": {"scope": scope, "layout": "v1", "base": base, "values": values}}
            if app == "mesh":
                doc["spec"]["mesh"] = {"name": f"{cluster}-mesh", "network": f"{cluster}-network"}
            (repo / cluster / app / f"{app}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return repo


def test_lists_in_another_order_import_and_the_reorders_are_reported(tmp_path):
    """No configNamespace is blamed (the mesh tiers render into the chart default, as the
    Federation does); the Federation's one order shows as reported reorders."""
    author_repository(tmp_path)
    run = meshfed("federation", "import", "repo", "-o", "federation.yaml", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines() == [
        "info: west/mesh: Gateway.networking.istio.io istio-system/federation-ingress-gateway spec.servers[0].hosts "
        "reordered (an order a cluster does not see)",
        "info: west/bookinfo: objects reordered (an order a cluster does not see)"]


def test_a_real_difference_names_the_object_and_field_not_the_config_namespace(tmp_path):
    repo = author_repository(tmp_path)
    ns = repo / "east" / "bookinfo" / "bookinfo.yaml"
    doc = yaml.safe_load(ns.read_text())
    doc["spec"]["values"]["global"] = {"defaultServicePorts": [{"number": 9081, "name": "http", "protocol": "HTTP"}]}
    ns.write_text(yaml.safe_dump(doc))
    run = meshfed("federation", "import", "repo", "-o", "federation.yaml", cwd=tmp_path)
    assert run.returncode == 1
    assert "configNamespace" not in run.stderr
    assert run.stderr.startswith(
        "repo/east/bookinfo/bookinfo.yaml: the application a Federation scaffolds for it (east/bookinfo) would "
        "render differently (ServiceEntry.networking.istio.io bookinfo/export-ratings-mesh-global: "
        "spec.ports[0].number: 9081 becomes 9080)")
    assert not (tmp_path / "federation.yaml").exists()


@pytest.fixture
def migrated(tmp_path):
    """A git repository: the documents as the first commit; the Federation imported from them and
    scaffolded over the same directories in the work tree."""
    repo = author_repository(tmp_path)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "--all")
    git(repo, "commit", "-q", "-m", "documents")
    assert meshfed("federation", "import", ".", "-o", "federation.yaml", cwd=repo).returncode == 0
    for doc in repo.glob("*/*/*.yaml"):
        doc.unlink()
    assert meshfed("federation", "scaffold", "federation.yaml", "--out", ".", cwd=repo).returncode == 0
    return repo


def test_diff_of_a_migration_shows_no_semantic_change_with_ignore_order(migrated):
    plain = meshfed("diff", "--base", "HEAD", cwd=migrated)
    assert plain.returncode == 0
    assert plain.stdout.splitlines()[-1] == "1 of 6 applications differ: 0 objects added, 0 removed, 1 changed"
    unordered = meshfed("diff", "--base", "HEAD", "--ignore-order", "--exit-code", cwd=migrated)
    assert (unordered.returncode, unordered.stderr) == (0, "")
    assert unordered.stdout.splitlines()[1:] == [
        "no semantic change in 6 applications (1 object only reordered, in lists Istio reads as sets)"]
    data = meshfed("diff", "--base", "HEAD", "--ignore-order", "-o", "json", cwd=migrated)
    assert yaml.safe_load(data.stdout)["summary"]["reordered"] == 1


def test_diff_ignore_order_still_shows_what_a_cluster_sees(migrated):
    federation = migrated / "federation.yaml"
    federation.write_text(federation.read_text().replace("port: 15443", "port: 15444", 1))
    assert meshfed("federation", "scaffold", "federation.yaml", "--out", ".", cwd=migrated).returncode == 0
    run = meshfed("diff", "--base", "HEAD", "--ignore-order", "--exit-code", cwd=migrated)
    assert run.returncode == 1
    assert run.stdout.splitlines()[-1] == ("1 of 6 applications differ: 0 objects added, 0 removed, 2 changed "
                                           "(1 object only reordered, in lists Istio reads as sets)")
    assert "15444" in run.stdout and "15443" in run.stdout


def test_a_difference_in_a_key_with_dots_shows_both_values():
    entry = {"apiVersion": "networking.istio.io/v1", "kind": "WorkloadEntry",
             "metadata": {"name": "w", "namespace": "bookinfo", "labels": {"topology.istio.io/network": "east"}},
             "spec": {"address": "192.0.2.1"}}
    other = copy.deepcopy(entry)
    other["metadata"]["labels"]["topology.istio.io/network"] = "west"
    assert compare_objects([entry], [other]).difference == (
        'WorkloadEntry.networking.istio.io bookinfo/w: metadata.labels.topology.istio.io/network: "east" becomes "west"')
    del other["metadata"]["labels"]
    assert compare_objects([entry], [other]).difference == (
        'WorkloadEntry.networking.istio.io bookinfo/w: metadata.labels: {"topology.istio.io/network": "east"} '
        "becomes (none)")
