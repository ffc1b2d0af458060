"""`meshfed federation import`: the Federation that reproduces a repository of per-cluster documents.

The proof is the round trip: import a repository, scaffold the Federation, and every application
renders the same bytes before and after. `tests/federation/import/bookinfo/` is the three-cluster
example as per-cluster documents (the `overlays/` of before the Federation). Each error case
changes one thing in a copy of it and asserts the exact messages.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BOOKINFO = REPO / "tests" / "federation" / "import" / "bookinfo"
MESHFED = Path(sys.executable).with_name("meshfed")


@pytest.fixture(autouse=True)
def _git_repository(tmp_path: Path) -> None:
    """The working directory of these tests is a git repository, as a GitOps repository is: the
    root that bases may not leave is its work tree (not only the directory of a path given)."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)


def meshfed(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    cmd = [str(MESHFED)] if MESHFED.exists() else [sys.executable, "-m", "meshfed"]
    return subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def applications(top: Path) -> list[str]:
    """`<cluster>/<app>` for every directory two levels down holding a MeshFederation document."""
    return sorted(f"{d.parent.name}/{d.name}" for d in top.glob("*/*") if d.is_dir()
                  and any("kind: MeshFederation" in f.read_text() for f in d.glob("*.yaml")))


def renders(top: Path, cwd: Path) -> dict[str, str]:
    out = {}
    for app in applications(top):
        run = meshfed("render", str(top / app), cwd=cwd)
        assert run.returncode == 0, run.stderr
        out[app] = run.stdout
    return out


def round_trip(source: Path, tmp: Path) -> str:
    """Import a copy of `source`, scaffold the result, and compare every application's render."""
    shutil.copytree(source, tmp / "repo")
    run = meshfed("federation", "import", "repo", "-o", "federation.yaml", cwd=tmp)
    assert run.returncode == 0 and run.stdout == "", run.stderr
    scaffold = meshfed("federation", "scaffold", "federation.yaml", "--out", "apps", cwd=tmp)
    assert scaffold.returncode == 0, scaffold.stderr
    before, after = renders(tmp / "repo", tmp), renders(tmp / "apps", tmp)
    assert list(before) == list(after)
    for app in before:
        assert before[app] and before[app] == after[app], app
    return (tmp / "federation.yaml").read_text()


def test_round_trip_bookinfo(tmp_path):
    text = round_trip(BOOKINFO, tmp_path)
    fed = yaml.safe_load(text)
    # What the Federation says once: the shared base, east's and west's gateways from central's
    # remotes, central's own egress values, and the services with their sides.
    assert fed["spec"]["base"] == ["repo/base/mesh.yaml"]
    assert [(m["name"], m.get("cluster"), m.get("gateway")) for m in fed["spec"]["meshes"]] == [
        ("central-mesh", "central", None),
        ("east-mesh", "east", {"addresses": ["192.0.2.10"], "port": 15443}),
        ("west-mesh", "west", {"addresses": ["198.51.100.10", "198.51.100.11"], "port": 15443})]
    assert list(fed["spec"]["meshes"][0]["values"]["global"]["gateways"]) == ["egress"]
    assert "values" not in fed["spec"]  # the base holds everything the meshes share
    assert [s["hostname"] for s in fed["spec"]["services"]] == ["details.mesh.global", "ratings.mesh.global"]
    assert fed["spec"]["services"][1]["exports"] == [
        {"mesh": "east-mesh", "namespace": "bookinfo", "labelSelector": {"app": "ratings"}},
        {"mesh": "west-mesh", "namespace": "bookinfo", "labelSelector": {"app": "ratings"}}]
    # Documents without global.failover: the Federation turns its default (on) off.
    assert fed["spec"]["failover"] == {"enabled": False}


def test_failover_round_trips(tmp_path):
    """global.failover of the documents becomes spec.failover, a host's own entry the service's
    failover and its weights the exports' weight."""
    shutil.copytree(BOOKINFO, tmp_path / "source")
    policy = {"enabled": True, "mode": "nearest", "outlierDetection": {"consecutive5xxErrors": 2}}
    ratings = {"hostname": "ratings.mesh.global", "mode": "weighted", "weights": {"east-mesh": 70, "west-mesh": 30}}
    edit(tmp_path / "source/central/mesh/mesh.yaml",
         lambda d: values(d)["global"].update({"failover": {**policy, "services": [ratings]}}))
    fed = yaml.safe_load(round_trip(tmp_path / "source", tmp_path))
    assert fed["spec"]["failover"] == {"mode": "nearest", "outlierDetection": {"consecutive5xxErrors": 2}}
    ratings_spec = fed["spec"]["services"][1]
    assert ratings_spec["failover"] == {"mode": "weighted"}
    assert [e.get("weight") for e in ratings_spec["exports"]] == [70, 30]
    assert "failover" not in fed["spec"]["services"][0]


def test_authorization_round_trips(tmp_path):
    """global.authorization of the documents becomes spec.authorization, each mesh's trust domain
    and aliases its own, and an importer's service accounts its import's."""
    shutil.copytree(BOOKINFO, tmp_path / "source")
    importer = {"mesh": "central-mesh", "trustDomain": "central.example.org", "namespace": "bookinfo",
                "serviceAccounts": ["productpage"]}
    exported = {"east": ["ratings.mesh.global"], "west": ["details.mesh.global", "ratings.mesh.global"]}
    for cluster in ("central", "east", "west"):
        authz: dict[str, Any] = {"enabled": True, "trustDomain": f"{cluster}.example.org"}
        if cluster == "west":
            authz["trustDomainAliases"] = ["old-west.example.org"]
        if cluster in exported:
            authz["services"] = [{"hostname": h, "importers": [importer]} for h in exported[cluster]]
        edit(tmp_path / f"source/{cluster}/mesh/mesh.yaml",
             lambda d, a=authz: values(d)["global"].update({"authorization": a}))
    text = round_trip(tmp_path / "source", tmp_path)
    fed = yaml.safe_load(text)
    assert fed["spec"]["authorization"] == "importers-only"
    meshes = {m["name"]: m for m in fed["spec"]["meshes"]}
    assert meshes["west-mesh"]["trustDomain"] == "west.example.org"
    assert meshes["west-mesh"]["trustDomainAliases"] == ["old-west.example.org"]
    assert all(i["serviceAccounts"] == ["productpage"] for svc in fed["spec"]["services"] for i in svc["imports"])
    assert "kind: AuthorizationPolicy" in renders(tmp_path / "apps", tmp_path)["west/bookinfo"]


def test_authorization_accounts_of_a_namespace_that_imports_nothing(tmp_path):
    shutil.copytree(BOOKINFO, tmp_path / "repo")
    authz = {"enabled": True, "trustDomain": "east.example.org", "services": [{
        "hostname": "ratings.mesh.global",
        "importers": [{"trustDomain": "central.example.org", "namespace": "shop", "serviceAccounts": ["web"]}]}]}
    edit(tmp_path / "repo/east/mesh/mesh.yaml", lambda d: values(d)["global"].update({"authorization": authz}))
    run = meshfed("federation", "import", "repo", cwd=tmp_path)
    assert run.returncode == 1 and run.stdout == ""
    assert "service accounts are listed for mesh of trust domain central.example.org, namespace shop, which does " \
           "not import ratings.mesh.global" in run.stderr


def test_stdout_is_the_file_and_runs_agree(tmp_path):
    shutil.copytree(BOOKINFO, tmp_path / "repo")
    first = meshfed("federation", "import", "repo", cwd=tmp_path)
    second = meshfed("federation", "import", "repo", cwd=tmp_path)
    assert first.returncode == 0 and first.stderr == ""
    assert first.stdout == second.stdout
    assert meshfed("federation", "import", "repo", "-o", "out/fed.yaml", cwd=tmp_path).returncode == 0
    # The base path is relative to the file written (to the working directory on stdout).
    assert (tmp_path / "out" / "fed.yaml").read_text() == first.stdout.replace(
        "- repo/base/mesh.yaml", "- ../repo/base/mesh.yaml")


def test_an_existing_file_is_replaced_only_with_force(tmp_path):
    shutil.copytree(BOOKINFO, tmp_path / "repo")
    (tmp_path / "federation.yaml").write_text("# edited by hand\n")
    run = meshfed("federation", "import", "repo", "-o", "federation.yaml", cwd=tmp_path)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr == "federation.yaml: exists: not overwritten (give --force to replace it)\n"
    assert (tmp_path / "federation.yaml").read_text() == "# edited by hand\n"
    run = meshfed("federation", "import", "repo", "-o", "federation.yaml", "--force", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "federation.yaml").read_text().startswith("apiVersion: meshfed.io/v1alpha1\nkind: Federation\n")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".") and p.name != ".git"] == []  # no temporary left


# --------------------------------------------------------------------------------------------
# What a Federation cannot say: one change to the example each, every message exact


def edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def values(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["values"]


def east_imports_details(repo: Path, addresses: list[str]) -> None:
    edit(repo / "east/bookinfo/bookinfo.yaml", lambda d: values(d).update({"import": [{"hostname": "details.mesh.global"}]}))
    edit(repo / "east/mesh/mesh.yaml", lambda d: values(d)["global"].update({"remote": [
        {"mesh": "west-mesh", "network": "west-network", "addresses": addresses, "port": 15443,
         "locality": "us-west-1", "importedServices": ["details.mesh.global"]}]}))


def _disagreeing_gateway(repo: Path) -> None:
    east_imports_details(repo, ["198.51.100.99"])


def _agreeing_gateway(repo: Path) -> None:
    east_imports_details(repo, ["198.51.100.10", "198.51.100.11"])


def _unexported_import(repo: Path) -> None:
    edit(repo / "central/mesh/mesh.yaml",
         lambda d: values(d)["global"]["remote"][0]["importedServices"].append("details.mesh.global"))


def _unimported_remote_service(repo: Path) -> None:
    edit(repo / "central/bookinfo/bookinfo.yaml", lambda d: values(d).update({"import": [{"hostname": "ratings.mesh.global"}]}))


def _mesh_namespace(repo: Path) -> None:
    edit(repo / "east/mesh/mesh.yaml", lambda d: d["metadata"].update({"namespace": "istio-east"}))


def _patch_of_a_derived_list(repo: Path) -> None:
    edit(repo / "central/mesh/mesh.yaml", lambda d: d["spec"].update({"patches": [
        {"op": "add", "path": "/global/gateways/egress/port", "value": 15443},
        {"op": "replace", "path": "/global/remote/0/locality", "value": "us-east-2"}]}))


def _ports(repo: Path) -> None:
    edit(repo / "west/bookinfo/bookinfo.yaml", lambda d: values(d)["export"][1].update(
        {"ports": [{"number": 9090, "name": "http", "protocol": "HTTP"}]}))


def _mesh_export_only(repo: Path) -> None:
    edit(repo / "west/bookinfo/bookinfo.yaml", lambda d: values(d)["export"].pop(0))


def _no_namespace(repo: Path) -> None:
    edit(repo / "west/bookinfo/bookinfo.yaml", lambda d: d["metadata"].pop("namespace"))


def _scope_all(repo: Path) -> None:
    edit(repo / "west/bookinfo/bookinfo.yaml", lambda d: d["spec"].update({"scope": "all"}))


def _namespace_values(repo: Path) -> None:
    edit(repo / "east/bookinfo/bookinfo.yaml", lambda d: values(d).update(
        {"global": {"defaultServicePorts": [{"number": 9081, "name": "http", "protocol": "HTTP"}]}}))


def _empty_namespace(repo: Path) -> None:
    """west's exports move to namespace reviews; its bookinfo document stays, exporting nothing."""
    shutil.copytree(repo / "west/bookinfo", repo / "west/reviews")
    edit(repo / "west/reviews/bookinfo.yaml", lambda d: d["metadata"].update({"name": "reviews", "namespace": "reviews"}))
    edit(repo / "west/bookinfo/bookinfo.yaml", lambda d: values(d).update({"export": []}))


def _namespace_twice(repo: Path) -> None:
    shutil.copytree(repo / "west/bookinfo", repo / "west/bookinfo-copy")


def _no_mesh_tier(repo: Path) -> None:
    (repo / "east/mesh/mesh.yaml").unlink()
    edit(repo / "east/bookinfo/bookinfo.yaml", lambda d: d["spec"].update(
        {"mesh": {"name": "east-mesh", "network": "east-network"}, "base": ["../../base/mesh.yaml"]}))


def _unknown_remote(repo: Path) -> None:
    edit(repo / "central/mesh/mesh.yaml", lambda d: values(d)["global"]["remote"].append(
        {"mesh": "partner-mesh", "network": "partner-network", "addresses": ["203.0.113.1"],
         "importedServices": ["api.partner.global"]}))
    edit(repo / "central/bookinfo/bookinfo.yaml", lambda d: values(d)["import"].append({"hostname": "api.partner.global"}))


def _remote_orders(repo: Path) -> None:
    """A fourth cluster lists east and west the other way round: WorkloadEntries follow the order."""
    (repo / "north/mesh").mkdir(parents=True)
    (repo / "north/bookinfo").mkdir(parents=True)
    central = yaml.safe_load((repo / "central/mesh/mesh.yaml").read_text())
    remote = [dict(r, importedServices=["ratings.mesh.global"]) for r in reversed(values(central)["global"]["remote"])]
    (repo / "north/mesh/mesh.yaml").write_text(yaml.safe_dump({
        "apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation", "metadata": {"name": "north-mesh"},
        "spec": {"scope": "mesh", "layout": "v2", "mesh": {"name": "north-mesh", "network": "north-network"},
                 "base": ["../../base/mesh.yaml"], "values": {"global": {"remote": remote}}}}))
    (repo / "north/bookinfo/bookinfo.yaml").write_text(yaml.safe_dump({
        "apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation",
        "metadata": {"name": "bookinfo", "namespace": "bookinfo"},
        "spec": {"scope": "namespace", "base": ["../mesh/mesh.yaml"],
                 "values": {"import": [{"hostname": "ratings.mesh.global"}]}}}))


ERRORS = {
    "disagreeing-gateway": (_disagreeing_gateway, [
        "repo/east/mesh/mesh.yaml: spec.values.global.remote[0].addresses: addresses [198.51.100.99] of mesh west-mesh "
        "disagrees with repo/central/mesh/mesh.yaml: spec.values.global.remote[1].addresses "
        "([198.51.100.10, 198.51.100.11]); a Federation gives each mesh one gateway"]),
    "unexported-import": (_unexported_import, [
        "repo/central/mesh/mesh.yaml: spec.values.global.remote[0].importedServices[1]: details.mesh.global: mesh "
        "east-mesh does not export it (in no namespace tier's export)"]),
    "unimported-remote-service": (_unimported_remote_service, [
        "repo/central/mesh/mesh.yaml: spec.values.global.remote[1].importedServices[0]: details.mesh.global: no "
        "namespace tier of mesh central-mesh imports it; a Federation lists only what a namespace imports"]),
    "mesh-namespace": (_mesh_namespace, [
        "repo/east/mesh/mesh.yaml: metadata.namespace: the mesh tier renders into namespace istio-east, but its "
        "global.configNamespace is istio-system; a Federation renders each mesh tier into its configNamespace: make "
        "them agree"]),
    "patch-of-a-derived-list": (_patch_of_a_derived_list, [
        "repo/central/mesh/mesh.yaml: spec.patches[1]: this patch changes global.remote, which a Federation derives "
        "from its meshes and services: write the list itself"]),
    "ports": (_ports, [
        f"repo/{where}.hostname: ratings.mesh.global has ports [9080/http/HTTP] (global.defaultServicePorts) here "
        "but [9090/http/HTTP] in repo/west/bookinfo/bookinfo.yaml: spec.values.export[1].ports; a Federation gives a "
        "service one list of ports" for where in (
            "central/bookinfo/bookinfo.yaml: spec.values.import[1]", "east/mesh/mesh.yaml: spec.values.global.local.export[0]",
            "east/bookinfo/bookinfo.yaml: spec.values.export[0]", "west/mesh/mesh.yaml: spec.values.global.local.export[1]")]),
    "mesh-export-only": (_mesh_export_only, [
        "repo/west/mesh/mesh.yaml: spec.values.global.local.export[0]: details.mesh.global is exported by the mesh "
        "tier but by none of mesh west-mesh's namespace tiers; a Federation exports a service from a namespace",
        # What follows from it: the Federation would have no exporter of details.
        "repo/central/bookinfo/bookinfo.yaml: spec.values.import[0]: no mesh of the directories imported exports "
        "details.mesh.global",
        "repo/central/mesh/mesh.yaml: spec.values.global.remote[1].importedServices[0]: details.mesh.global: mesh "
        "west-mesh does not export it (in no namespace tier's export)"]),
    "no-namespace": (_no_namespace, [
        "repo/west/bookinfo/bookinfo.yaml: metadata.namespace: a namespace-tier document needs metadata.namespace: "
        "a Federation lists imports and exports by namespace"]),
    "scope-all": (_scope_all, [
        "repo/west/bookinfo/bookinfo.yaml: spec.scope: renders both tiers (scope all); a Federation's applications "
        "are the mesh tier and each namespace apart: split the document"]),
    "empty-namespace": (_empty_namespace, [
        "repo/west/bookinfo/bookinfo.yaml: the Federation has no application for it: namespace bookinfo of mesh "
        "west-mesh neither imports nor exports a service, so it renders nothing"]),
    "namespace-twice": (_namespace_twice, [
        "repo/west/bookinfo-copy/bookinfo.yaml: metadata.namespace: namespace bookinfo of mesh west-mesh is also "
        "rendered by repo/west/bookinfo/bookinfo.yaml; a Federation has one application per mesh and namespace"]),
    "no-mesh-tier": (_no_mesh_tier, [
        "repo/east/bookinfo/bookinfo.yaml: spec.mesh.name: mesh east-mesh has namespace-tier documents but no "
        "mesh-tier document; a Federation scaffolds a mesh tier for every mesh"]),
    "unknown-remote": (_unknown_remote, [
        "repo/central/mesh/mesh.yaml: spec.values.global.remote[2].mesh: mesh partner-mesh is not a mesh of the "
        "directories imported (no mesh-tier document declares it); a Federation derives remotes from its own meshes",
        "repo/central/bookinfo/bookinfo.yaml: spec.values.import[2]: no mesh of the directories imported exports "
        "api.partner.global"]),
    "namespace-values": (_namespace_values, [
        "repo/east/bookinfo/bookinfo.yaml: the application a Federation scaffolds for it (east/bookinfo) would render "
        "differently (ServiceEntry.networking.istio.io bookinfo/ratings-mesh-global: spec.ports[0].number: 9081 "
        "becomes 9080); its values differ from its mesh tier's "
        "(repo/east/mesh/mesh.yaml) at repo/east/bookinfo/bookinfo.yaml: spec.values.global.defaultServicePorts, and "
        "a Federation gives every tier of a mesh the same values"]),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_import_errors(name, tmp_path):
    change, expected = ERRORS[name]
    shutil.copytree(BOOKINFO, tmp_path / "repo")
    change(tmp_path / "repo")
    run = meshfed("federation", "import", "repo", "-o", "federation.yaml", cwd=tmp_path)
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr.splitlines() == expected
    assert not (tmp_path / "federation.yaml").exists()


def test_remotes_listed_in_another_order_import_with_the_reorders_reported(tmp_path):
    """A fourth cluster lists east and west the other way round: its WorkloadEntries and remote
    Gateways come out in the Federation's order, which no cluster sees; the import says so."""
    shutil.copytree(BOOKINFO, tmp_path / "repo")
    _remote_orders(tmp_path / "repo")
    run = meshfed("federation", "import", "repo", "-o", "federation.yaml", cwd=tmp_path)
    assert (run.returncode, run.stdout) == (0, ""), run.stderr
    assert run.stderr.splitlines() == [f"info: north/{app}: objects reordered (an order a cluster does not see)"
                                       for app in ("mesh", "bookinfo")]


def test_agreeing_remotes_round_trip(tmp_path):
    """Two clusters listing west's gateway alike: one gateway, both remotes derived from it."""
    shutil.copytree(BOOKINFO, tmp_path / "source")
    _agreeing_gateway(tmp_path / "source")
    text = round_trip(tmp_path / "source", tmp_path)
    assert yaml.safe_load(text)["spec"]["services"][0]["imports"] == [
        {"mesh": "central-mesh", "namespace": "bookinfo"}, {"mesh": "east-mesh", "namespace": "bookinfo"}]


def test_a_namespace_value_that_changes_nothing_is_left_out_with_a_warning(tmp_path):
    shutil.copytree(BOOKINFO, tmp_path / "source")
    edit(tmp_path / "source/east/bookinfo/bookinfo.yaml",
         lambda d: values(d).update({"global": {"enableGatewayAPI": False}}))
    round_trip(tmp_path / "source", tmp_path)
    run = meshfed("federation", "import", "repo", cwd=tmp_path)
    assert run.returncode == 0
    assert run.stderr == (
        "warning: repo/east/bookinfo/bookinfo.yaml: spec.values.global.enableGatewayAPI: not in the Federation: this "
        "value differs from the mesh tier's (repo/east/mesh/mesh.yaml), and a Federation gives every tier of a mesh "
        "the same values (without it, this application renders the same)\n")
    assert "enableGatewayAPI: false" not in run.stdout


def test_a_base_not_every_document_starts_with_becomes_values(tmp_path):
    """central writes the base's values itself: no shared base file, so they are the Federation's
    shared values, and central's own gateways the mesh's."""
    shutil.copytree(BOOKINFO, tmp_path / "source")
    base = yaml.safe_load((BOOKINFO / "base/mesh.yaml").read_text())

    def inline(d: dict[str, Any]) -> None:
        del d["spec"]["base"]
        g = values(d)["global"]
        g["gateways"] = {**base["global"].pop("gateways"), **g["gateways"]}
        values(d)["global"] = {**base["global"], **g}

    edit(tmp_path / "source/central/mesh/mesh.yaml", inline)
    spec = yaml.safe_load(round_trip(tmp_path / "source", tmp_path))["spec"]
    assert "base" not in spec
    assert list(spec["values"]["global"]) == ["configNamespace", "enableGatewayAPI", "defaultServicePorts", "gateways"]
    assert list(spec["values"]["global"]["gateways"]) == ["ingress"]
    assert list(spec["meshes"][0]["values"]["global"]["gateways"]) == ["egress"]


def test_layouts_must_agree():
    run = meshfed("federation", "import", "tests/federation/good", cwd=REPO)
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr.splitlines()[0] == (
        "tests/federation/good/east/bookinfo/bookinfo.yaml: spec.layout: layout v1, but "
        "tests/federation/good/central/bookinfo/bookinfo.yaml has layout v2; a Federation has one layout for every mesh")


def test_a_cluster_directory_given_is_refused(tmp_path):
    """The cluster is the first directory below DIR: given `repo/east`, east's documents sit in two."""
    shutil.copytree(BOOKINFO, tmp_path / "repo")
    run = meshfed("federation", "import", "repo/east", cwd=tmp_path)
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == ("repo/east/bookinfo/bookinfo.yaml: a document of mesh east-mesh in cluster directory bookinfo, "
                          "but repo/east/mesh/mesh.yaml is in mesh; a mesh's documents share one cluster directory\n")


def test_a_cluster_directory_must_be_a_dns_label(tmp_path):
    shutil.copytree(BOOKINFO, tmp_path / "repo")
    (tmp_path / "repo/west").rename(tmp_path / "repo/West_1")
    run = meshfed("federation", "import", "repo", cwd=tmp_path)
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == ("repo/West_1/mesh/mesh.yaml: cluster directory West_1 is not a DNS label, as a Federation's "
                          "cluster names must be (they name Argo CD clusters): rename the directory\n")


def test_a_scaffolded_repository_is_refused(tmp_path):
    round_trip(BOOKINFO, tmp_path)
    run = meshfed("federation", "import", "apps", cwd=tmp_path)
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr.splitlines()[0] == ("apps/central/bookinfo/bookinfo.yaml: spec.federation: already derived from "
                                          "a Federation (spec.federation): import the repository before it names one")


# --------------------------------------------------------------------------------------------
# Property: random small repositories, written by hand as per-cluster documents, round-trip

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ADDRESSES = [["192.0.2.1"], ["192.0.2.2", "198.51.100.7"], ["gw.example.net"]]
PORTS = [None, [{"number": 9080, "name": "http", "protocol": "HTTP"}],
         [{"number": 8443, "name": "https", "protocol": "HTTPS"}, {"number": 8080, "name": "http", "protocol": "HTTP"}]]


@st.composite
def repositories(draw) -> dict[str, Any]:
    """A consistent federation as files: {path: document}. Every list follows one mesh order and
    one host order (drawn), as a Federation derives them."""
    layout = draw(st.sampled_from(["v1", "v2"]))
    meshes = draw(st.permutations([f"m{i}" for i in range(draw(st.integers(2, 4)))]))
    hosts = draw(st.permutations([f"s{i}.mesh.global" for i in range(draw(st.integers(1, 4)))]))
    cluster = {m: draw(st.sampled_from([m, f"{m}-cluster"])) for m in meshes}
    gateway = {m: {"addresses": draw(st.sampled_from(ADDRESSES)),
                   "port": draw(st.sampled_from([15443, 15444] if layout == "v1" else [None, 15443, 15444])),
                   "locality": draw(st.sampled_from([None, "r1"]))} for m in meshes}
    exports: dict[str, dict[str, tuple[str, dict[str, str]]]] = {}
    imports: dict[str, dict[str, str]] = {}
    ports = {}
    namespace = st.sampled_from(["bookinfo", "shop"])
    for i, h in enumerate(hosts):
        # Every mesh exports something, so that every mesh tier renders.
        owners = {m for j, m in enumerate(meshes) if j % len(hosts) == i}
        exporters = owners | set(draw(st.lists(st.sampled_from(meshes), min_size=0 if owners else 1, max_size=2)))
        exports[h] = {m: (draw(namespace), draw(st.sampled_from([{"app": h[:2]}, {"app": "x", "version": "v1"}])))
                      for m in meshes if m in exporters}
        others = [m for m in meshes if m not in exporters]
        importers = draw(st.lists(st.sampled_from(others), unique=True)) if others else []
        imports[h] = {m: draw(namespace) for m in importers}
        ports[h] = draw(st.sampled_from(PORTS))
    egress = {m: draw(st.sampled_from([None, "values", "patch"])) for m in meshes}
    failover = draw(st.sampled_from([None, {"enabled": True}, {"enabled": True, "mode": "weighted"},
                                     {"enabled": False}]))
    own: dict[str, dict[str, Any]] = {}  # a host's own failover entry, the same in every document
    for h in hosts if failover is not None else ():
        if draw(st.booleans()):
            item: dict[str, Any] = {"hostname": h, **draw(st.sampled_from([{}, {"mode": "weighted"}, {"enabled": True}]))}
            weights = {m: draw(st.integers(1, 100)) for m in meshes if m in exports[h] and draw(st.booleans())}
            if weights:
                item["weights"] = weights
            own[h] = item
    config = {m: draw(st.sampled_from(["istio-system", "mesh-system"])) for m in meshes}
    shared: dict[str, Any] = {"defaultServicePorts": [{"number": 9080, "name": "http", "protocol": "HTTP"}]}
    if layout == "v2":
        shared["enableGatewayAPI"] = draw(st.booleans())
        shared["enableOpenshiftRouter"] = draw(st.booleans())
    files: dict[str, Any] = {"base/values.yaml": {"global": shared}}

    def entry(h: str, selector: dict[str, str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"hostname": h}
        if selector is not None:
            out["labelSelector"] = selector
        if ports[h] is not None:
            out["ports"] = ports[h]
        return out

    for m in meshes:
        remote = []
        for r in meshes:
            served = [h for h in hosts if m in imports[h] and r in exports[h]]
            if served:
                item = {"mesh": r, "network": f"{r}-net", "addresses": gateway[r]["addresses"]}
                item.update({k: gateway[r][k] for k in ("port", "locality") if gateway[r][k] is not None})
                remote.append({**item, "importedServices": served})
        values: dict[str, Any] = {"local": {"export": [entry(h) for h in hosts if m in exports[h]]}, "remote": remote}
        if config[m] != "istio-system":
            values["configNamespace"] = config[m]
        if failover is not None:
            entries = [own[h] for h in hosts if h in own and m in imports[h]]
            values["failover"] = {**failover, **({"services": entries} if entries else {})}
        spec: dict[str, Any] = {"scope": "mesh", "layout": layout, "mesh": {"name": m, "network": f"{m}-net"},
                                "base": ["../../base/values.yaml"], "values": {"global": values}}
        switch = ("/global/gateways/egress" if layout == "v2" else "/global/egressGateway", {"enabled": True})
        if layout == "v1" and egress[m]:
            switch[1]["selector"] = {"istio": "egressgateway"}
        if egress[m] == "values":
            values.update({"gateways": {"egress": switch[1]}} if layout == "v2" else {"egressGateway": switch[1]})
        elif egress[m] == "patch" and layout == "v1":
            spec["patches"] = [{"op": "add", "path": f"{switch[0]}/{k}", "value": v} for k, v in switch[1].items()]
        elif egress[m] == "patch":  # the v2 namespace tier has no egress defaults to patch: Gateway API instead
            spec["patches"] = [{"op": "replace", "path": "/global/enableGatewayAPI",
                                "value": not shared["enableGatewayAPI"]}]
        files[f"{cluster[m]}/mesh/mesh.yaml"] = {
            "apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation",
            "metadata": {"name": m, "namespace": config[m]}, "spec": spec}
        for ns in sorted({exports[h][m][0] for h in hosts if m in exports[h]} | {imports[h][m] for h in hosts if m in imports[h]}):
            files[f"{cluster[m]}/{ns}/{ns}.yaml"] = {
                "apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation",
                "metadata": {"name": ns, "namespace": ns},
                "spec": {"scope": "namespace", "layout": layout, "base": ["../mesh/mesh.yaml"], "values": {
                    "import": [entry(h) for h in hosts if imports[h].get(m) == ns],
                    "export": [entry(h, exports[h][m][1]) for h in hosts if m in exports[h] and exports[h][m][0] == ns]}}}
    return files


def import_and_compare(files: dict[str, Any]) -> list[Any] | None:
    """Write `files`, import, scaffold, and assert every application renders the same bytes.
    The import's diagnostics when it refuses (None when it succeeds)."""
    import os
    import tempfile

    from meshfed.api import render
    from meshfed.values.diagnostics import InputError
    from meshfed.federation.importer import import_repository, write
    from meshfed.federation.scaffold import scaffold
    from meshfed.output.serialize import dump_yaml
    from meshfed.output.unordered import compare_objects

    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        top = Path(tmp).resolve()
        for name, doc in files.items():
            (top / "repo" / name).parent.mkdir(parents=True, exist_ok=True)
            (top / "repo" / name).write_text(yaml.safe_dump(doc, sort_keys=False))
        os.chdir(top)
        try:
            try:
                text, warnings = import_repository([Path("repo")], Path("federation.yaml"), top)
            except InputError as exc:
                return exc.diagnostics
            write(text, Path("federation.yaml"), False)
            scaffold(Path("federation.yaml"), Path("apps"), top)
            apps = applications(top / "repo")
            assert apps == applications(top / "apps")
            for app in apps:
                before, after = render([Path("repo") / app], root=top), render([Path("apps") / app], root=top)
                assert before.ok and after.ok, (before.diagnostics, after.diagnostics)
                same = compare_objects(before.objects, after.objects)
                assert same.equal, (app, same.difference)
                # Bytes differ only where the import said which objects it reorders.
                said = any(str(w).startswith(f"info: {app}: ") for w in warnings)
                assert said or dump_yaml(before.objects) == dump_yaml(after.objects), app
            return None
        finally:
            os.chdir(here)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(repositories())
def test_random_repositories_round_trip(files):
    assert import_and_compare(files) is None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(repositories(), st.data())
def test_an_import_round_trips_or_refuses_with_file_and_field(files, data):
    """One document changed so that the clusters may no longer agree: the import either still
    reproduces every render, or refuses, naming where."""
    import copy

    mesh_docs = sorted(n for n in files if n.endswith("/mesh/mesh.yaml"))
    name = data.draw(st.sampled_from(mesh_docs))
    g = files[name]["spec"]["values"]["global"]
    change = data.draw(st.sampled_from(["order", "address", "imported", "exports", "namespace-ports"]))
    g = copy.deepcopy(g)
    files = {**files, name: {**files[name], "spec": {**files[name]["spec"], "values": {"global": g}}}}
    if change == "order":
        g["remote"].reverse()
    elif change == "address" and g["remote"]:
        g["remote"][-1]["addresses"] = ["203.0.113.9"]
    elif change == "imported" and g["remote"]:
        g["remote"][0]["importedServices"] = g["remote"][0]["importedServices"][1:]
    elif change == "exports":
        g["local"]["export"].reverse()
    elif change == "namespace-ports":
        ns = sorted(n for n in files if n.startswith(name.split("/")[0] + "/") and n != name)
        if ns:
            doc = copy.deepcopy(files[ns[0]])
            doc["spec"]["values"]["global"] = {"defaultServicePorts": [{"number": 9081, "name": "http", "protocol": "HTTP"}]}
            files[ns[0]] = doc
    problems = import_and_compare(files)
    assert problems is None or (problems and all(p.file and p.severity == "error" for p in problems)), problems


@pytest.mark.parametrize("command", [["federation", "import", "repo"], ["check", "repo"], ["graph", "repo"],
                                     ["explain", "ratings.mesh.global", "--cluster", "central", "repo"]],
                         ids=lambda c: c[0] if c[0] != "federation" else "import")
def test_a_document_linked_from_outside_the_root_is_not_read(tmp_path, command):
    """Every command that walks a repository confines the files it finds, as the core reader
    does for a directory's files; the message names the link and shows nothing of its target."""
    shutil.copytree(BOOKINFO, tmp_path / "repo")
    (tmp_path / "repo" / ".git").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.yaml").write_text(
        "kind: MeshFederation\nspec: {values: {password: hunter2}\n")  # unparsable: its text would show
    (tmp_path / "repo" / "east" / "mesh" / "zz.yaml").symlink_to(tmp_path / "outside" / "secret.yaml")
    run = meshfed(*command, "--root", "repo", cwd=tmp_path)
    assert run.returncode == 1 and run.stdout == ""
    summary = ["3 clusters and 6 applications checked: 1 error, 0 warnings"] if command[0] == "check" else []
    assert run.stderr.splitlines() == ["repo/east/mesh/zz.yaml: a link to a file outside the directory and outside "
                                       "the root repo (set by --root) is not read", *summary]


IMPORT_ONLY = {  # b-mesh only imports, in layout v2 without egress: its mesh tier renders nothing
    "base.yaml": "global:\n  defaultServicePorts: [{number: 9080, name: http, protocol: HTTP}]\n"
                 "  gateways: {ingress: {selector: {istio: eastwestgateway}}}\n",
    "a/mesh/mesh.yaml": "apiVersion: meshfed.io/v1alpha1\nkind: MeshFederation\nmetadata: {name: a-mesh, namespace: "
                        "istio-system}\nspec:\n  scope: mesh\n  layout: v2\n  mesh: {name: a-mesh, network: a-net}\n"
                        "  base: [../../base.yaml]\n"
                        "  values: {global: {local: {export: [{hostname: x.mesh.global}]}}}\n",
    "a/x/x.yaml": "apiVersion: meshfed.io/v1alpha1\nkind: MeshFederation\nmetadata: {name: x, namespace: x}\nspec:\n"
                  "  scope: namespace\n  layout: v2\n  base: [../mesh/mesh.yaml]\n"
                  "  values: {export: [{hostname: x.mesh.global, labelSelector: {app: x}}]}\n",
    "b/mesh/mesh.yaml": "apiVersion: meshfed.io/v1alpha1\nkind: MeshFederation\nmetadata: {name: b-mesh, namespace: "
                        "istio-system}\nspec:\n  scope: mesh\n  layout: v2\n  allowEmpty: true\n"
                        "  mesh: {name: b-mesh, network: b-net}\n  base: [../../base.yaml]\n  values:\n    global:\n"
                        "      remote: [{mesh: a-mesh, network: a-net, addresses: [192.0.2.1], port: 15443, "
                        "importedServices: [x.mesh.global]}]\n",
    "b/x/x.yaml": "apiVersion: meshfed.io/v1alpha1\nkind: MeshFederation\nmetadata: {name: x, namespace: x}\nspec:\n"
                  "  scope: namespace\n  layout: v2\n  base: [../mesh/mesh.yaml]\n"
                  "  values: {import: [{hostname: x.mesh.global}]}\n",
}


def test_a_mesh_tier_that_allows_an_empty_render_is_imported_without_an_application(tmp_path):
    """b-mesh's mesh-tier document renders nothing and says so (spec.allowEmpty). The Federation
    has no mesh-tier application for it (a note says so), and every other application renders the
    same from it."""
    for rel, text in IMPORT_ONLY.items():
        (tmp_path / "repo" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "repo" / rel).write_text(text)
    run = meshfed("federation", "import", "repo", "-o", "federation.yaml", cwd=tmp_path)
    assert (run.returncode, run.stdout) == (0, ""), run.stderr
    assert run.stderr.splitlines() == [
        "info: repo/b/mesh/mesh.yaml: spec.allowEmpty: renders no objects (spec.allowEmpty): the Federation has "
        "no mesh-tier application for mesh b-mesh, only its namespaces' (nothing to sync there)"]
    scaffold = meshfed("federation", "scaffold", "federation.yaml", "--out", "apps", cwd=tmp_path)
    assert scaffold.returncode == 0, scaffold.stderr
    assert "no b/mesh application is written" in scaffold.stderr
    before, after = renders(tmp_path / "repo", tmp_path), renders(tmp_path / "apps", tmp_path)
    assert before.pop("b/mesh") == ""
    assert before == after and all(after.values())
