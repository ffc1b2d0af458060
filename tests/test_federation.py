"""`meshfed check`, `krm-check`, `graph` and `explain`: the federation-wide views.

Fixture repositories live under tests/federation/:

* `good/` - a consistent three-cluster repo: east (layout v1) exports ratings and imports details
  straight from west; west (v2) exports details and ratings; central (v2) imports both through
  its egress gateway, ratings load-balanced across east and west. Its namespace documents are
  grouped by each of the three rules (base chain to the mesh document, a shared base holding
  spec.mesh, the cluster directory), and `base/` holds a base-only document.
* one directory per broken variant, each asserting its exact diagnostics.

Golden outputs (graph, explain) are in tests/federation/golden/; regenerate them with
`MESHFED_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_federation.py` and review the diff.
"""
from __future__ import annotations

import html
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
FIX = Path("tests/federation")  # relative to REPO: messages name files relative to the cwd
GOLDEN = REPO / FIX / "golden"
MESHFED = Path(sys.executable).with_name("meshfed")
UPDATE = os.environ.get("MESHFED_UPDATE_GOLDEN", "")


def meshfed(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    cmd = [str(MESHFED)] if MESHFED.exists() else [sys.executable, "-m", "meshfed"]
    return subprocess.run([*cmd, *args], cwd=REPO, input=stdin, capture_output=True, text=True,
                          env=env, timeout=120)


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"missing golden file {path} (run with MESHFED_UPDATE_GOLDEN=1)"
    assert text == path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# check


def test_good_repo_is_consistent():
    run = meshfed("check", str(FIX / "good"))
    assert (run.returncode, run.stdout, run.stderr) == (
        0, "", "3 clusters and 7 applications checked: 0 errors, 0 warnings\n")


def _f(variant: str, rel: str) -> str:
    return f"tests/federation/{variant}/{rel}"


V = "unexported"
UNEXPORTED = [
    f"{_f(V, 'central/mesh.yaml')}: spec.values.global.remote[0].importedServices[0]: imports "
    f"details.bookinfo.global from mesh east-mesh, but east ({_f(V, 'east/mesh.yaml')}) does not export it in "
    "global.local.export",
    f"{_f(V, 'central/mesh.yaml')}: spec.values.global.remote[0].importedServices[2]: imports "
    f"reviews.bookinfo.global from mesh east-mesh, but no namespace document of east ({_f(V, 'east/mesh.yaml')}) "
    "exports it (it is in global.local.export, but no namespace's export lists it)",
]
V = "port-mismatch"
PORT_MISMATCH = [
    f"{_f(V, 'central/bookinfo.yaml')}: spec.values.import[0].ports: imports ratings.bookinfo.global with ports "
    f"9080/HTTP, but west exports it with ports 9090/TCP ({_f(V, 'west/bookinfo.yaml')}: spec.values.export[0].ports)",
]
V = "unknown-mesh"
UNKNOWN_MESH = [
    f"warning: {_f(V, 'central/mesh.yaml')}: spec.values.global.remote[0].mesh: remote mesh partner-mesh (network "
    "partner-net) is declared by no cluster under the checked directories: an external mesh? What it exports "
    "cannot be checked",
]
V = "shared-network"
SHARED_NETWORK = [
    f"{_f(V, 'west/mesh.yaml')}: spec.mesh.network: network shared-net is claimed by two clusters: east "
    f"({_f(V, 'east/mesh.yaml')}) and west ({_f(V, 'west/mesh.yaml')}); each cluster needs its own network (Istio "
    "sends cross-network traffic to a network's gateway)",
]
V = "wrong-network"
WRONG_NETWORK = [
    f"{_f(V, 'central/mesh.yaml')}: spec.values.global.remote[0].network: lists mesh west-mesh with network "
    f"west-network, but west ({_f(V, 'west/mesh.yaml')}) declares network west-net in spec.mesh",
]
V = "unused-export"
UNUSED_EXPORT = [
    f"info: {_f(V, 'west/mesh.yaml')}: spec.values.global.local.export[1].hostname: exports ratings.bookinfo.global, "
    "but no cluster imports it from mesh west-mesh",
]
V = "conflicting-ports"
CONFLICTING_PORTS = [
    f"{_f(V, 'central/bookinfo.yaml')}: spec.values.import[0].hostname: imports ratings.bookinfo.global with ports "
    f"9080/HTTP (global.defaultServicePorts), but west exports it with ports 9080/TCP "
    f"({_f(V, 'west/bookinfo.yaml')}: spec.values.export[0].ports)",
    f"info: {_f(V, 'west/mesh.yaml')}: spec.values.global.local.export[1].hostname: exports reviews.bookinfo.global, "
    "but no cluster imports it from mesh west-mesh",
    f"{_f(V, 'west/bookinfo.yaml')}: spec.values.export[0].ports: exports ratings.bookinfo.global with ports "
    f"9080/TCP, but east exports it with ports 9080/HTTP ({_f(V, 'east/mesh.yaml')}: "
    f"spec.values.global.defaultServicePorts); central ({_f(V, 'central/mesh.yaml')}) load-balances "
    "ratings.bookinfo.global across both meshes, so the ports a request meets depend on the mesh it reaches",
    f"warning: {_f(V, 'west/bookinfo.yaml')}: spec.values.export[1].ports: exports reviews.bookinfo.global with "
    f"ports 9080/TCP, but east exports it with ports 9080/HTTP ({_f(V, 'east/mesh.yaml')}: "
    "spec.values.global.defaultServicePorts): an importer load-balancing across both meshes would meet different "
    "ports",
]
V = "identity"
IDENTITY = [
    f"{_f(V, 'b/mesh.yaml')}: spec.mesh.name: mesh a-mesh is claimed by two clusters: a ({_f(V, 'a/mesh.yaml')}) "
    f"and b ({_f(V, 'b/mesh.yaml')}); a mesh name must identify one cluster",
    f"warning: {_f(V, 'stray/app.yaml')}: belongs to no cluster: neither it nor its bases set spec.mesh, and it lies "
    "in no cluster's directory; it is not checked",
    f"warning: {_f(V, 'e/app.yaml')}: spec.mesh.name: mesh e-mesh has no mesh-tier document under the checked "
    "directories: nothing exposes its exports (its namespace documents are still checked)",
    f"warning: {_f(V, 'd/mesh.yaml')}: a mesh-tier document without spec.mesh (in it or its bases): which mesh it is "
    "cannot be told, so it is not checked; set spec.mesh: {name, network}",
    f"{_f(V, 'c/mesh.yaml')}: spec.values.global.remote[0].mesh: lists this cluster's own mesh c-mesh as a remote",
    f"{_f(V, 'c/mesh.yaml')}: spec.values.global.remote[1].network: names mesh mystery-mesh with network a-net, but "
    f"network a-net belongs to a ({_f(V, 'a/mesh.yaml')}), whose mesh is a-mesh",
]
V = "routes"
ROUTES = [
    f"{_f(V, 'central/mesh.yaml')}: spec.values.global.remote[0].port: connects to mesh west-mesh on port 15444, but "
    f"the ingress gateway of west ({_f(V, 'west/mesh.yaml')}) listens on port 15443 (the chart default)",
    f"{_f(V, 'central/bookinfo.yaml')}: spec.values.global.egressGateway.enabled: sends its imports to the egress "
    f"gateway, but the mesh tier of central ({_f(V, 'central/mesh.yaml')}) does not enable egress: no egress Gateway "
    "or route exists",
    f"{_f(V, 'north/bookinfo.yaml')}: spec.values.import[0].hostname: imports details.bookinfo.global through the "
    f"egress gateway, but the mesh tier of north ({_f(V, 'north/mesh.yaml')}) lists details.bookinfo.global in no "
    "remote's importedServices: the egress gateway has no route for it",
    f"warning: {_f(V, 'west/bookinfo.yaml')}: spec.values.export[2].hostname: exports reviews.bookinfo.global, but "
    f"the mesh tier of west ({_f(V, 'west/mesh.yaml')}) does not list it in global.local.export: remote meshes "
    "cannot reach it",
]

VARIANTS = {  # exit code, findings, the closing summary
    "unexported": (1, UNEXPORTED, "2 clusters and 4 applications checked: 2 errors, 0 warnings"),
    "port-mismatch": (1, PORT_MISMATCH, "2 clusters and 4 applications checked: 1 error, 0 warnings"),
    "unknown-mesh": (0, UNKNOWN_MESH, "2 clusters and 4 applications checked: 0 errors, 1 warning"),
    "shared-network": (1, SHARED_NETWORK, "2 clusters and 3 applications checked: 1 error, 0 warnings"),
    "wrong-network": (1, WRONG_NETWORK, "2 clusters and 3 applications checked: 1 error, 0 warnings"),
    "unused-export": (0, UNUSED_EXPORT, "2 clusters and 3 applications checked: 0 errors, 0 warnings"),
    "conflicting-ports": (1, CONFLICTING_PORTS, "3 clusters and 6 applications checked: 2 errors, 1 warning"),
    "identity": (1, IDENTITY, "3 clusters and 4 applications checked: 3 errors, 3 warnings"),
    "routes": (1, ROUTES, "3 clusters and 6 applications checked: 3 errors, 1 warning"),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_check_variant(variant):
    code, lines, summary = VARIANTS[variant]
    run = meshfed("check", str(FIX / variant))
    assert run.stdout == ""
    assert run.stderr.splitlines() == [*lines, summary]
    assert run.returncode == code


def test_check_is_deterministic_and_accepts_several_directories():
    one = meshfed("check", str(FIX / "unexported"))
    two = meshfed("check", str(FIX / "unexported" / "central"), str(FIX / "unexported" / "east"))
    assert one.stderr == two.stderr
    assert one.returncode == two.returncode == 1


def test_check_api_gives_file_and_path_separately(monkeypatch):
    from meshfed.federation import check

    monkeypatch.chdir(REPO)
    diags = check([FIX / "wrong-network"], None)
    assert [(d.severity, d.file, d.path) for d in diags] == [
        ("error", "tests/federation/wrong-network/central/mesh.yaml", "spec.values.global.remote[0].network")]


def test_check_missing_directory_and_unreadable_document():
    run = meshfed("check", "tests/federation/no-such-dir")
    assert run.returncode == 1
    assert run.stderr == "tests/federation/no-such-dir: no such file or directory\n"


def test_check_reports_a_documents_own_errors(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "mesh.yaml").write_text(
        "apiVersion: meshfed.io/v1alpha1\nkind: MeshFederation\nmetadata: {name: a}\n"
        "spec:\n  mesh: {name: a-mesh, network: a-net}\n  values:\n    global:\n      remote:\n"
        "      - {mesh: b-mesh, network: b-net, port: 99999}\n")
    run = subprocess.run([str(MESHFED), "check", "a"], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 1
    assert "a/mesh.yaml: spec.values.global.remote[0].port:" in run.stderr


def test_base_only_documents_are_not_rendered(tmp_path):
    """A base that would not render on its own (an import no remote lists) is no error."""
    (tmp_path / "base").mkdir()
    (tmp_path / "a").mkdir()
    (tmp_path / "base" / "app.yaml").write_text(
        "apiVersion: meshfed.io/v1alpha1\nkind: MeshFederation\nmetadata: {name: app}\nspec:\n  values:\n"
        "    global: {defaultServicePorts: [{number: 80, name: http, protocol: HTTP}]}\n"
        "    import: [{hostname: svc.b.global}]\n")
    (tmp_path / "a" / "app.yaml").write_text(
        "apiVersion: meshfed.io/v1alpha1\nkind: MeshFederation\nmetadata: {name: app, namespace: app}\nspec:\n"
        "  mesh: {name: a-mesh, network: a-net}\n  base: [../base/app.yaml]\n  values:\n    global:\n"
        "      remote: [{mesh: b-mesh, network: b-net, addresses: [10.0.0.2], importedServices: [svc.b.global]}]\n")
    run = subprocess.run([str(MESHFED), "check", "."], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines() == [
        "warning: a/app.yaml: spec.mesh.name: mesh a-mesh has no mesh-tier document under the checked directories: "
        "nothing exposes its exports (its namespace documents are still checked)",
        "warning: a/app.yaml: spec.values.global.remote[0].mesh: remote mesh b-mesh (network b-net) is declared by "
        "no cluster under the checked directories: an external mesh? What it exports cannot be checked",
        "1 cluster and 1 application checked: 0 errors, 2 warnings",
    ]


def test_a_load_for_one_view_keeps_what_it_looks_at(monkeypatch):
    """check, graph and diff keep of each render only what they look at (`Keep`): the objects of
    some kinds; where each value came from without the merged values, and of the layers derived
    from a Federation only the fields, every value still traced to the same field; or no
    provenance at all. Asking for what was not kept fails instead of finding nothing."""
    from meshfed.federation import load_repo
    from meshfed.federation.repo import ForeignRule, Keep
    from meshfed.values.federation_spec import DerivedLayer

    monkeypatch.chdir(REPO)
    whole = load_repo([Path("overlays")])
    kept = load_repo([Path("overlays")], keep=Keep(frozenset({"Gateway"}), merged=False))
    untraced = load_repo([Path("overlays")], keep=Keep(frozenset(), provenance=False, merged=False))
    assert [d.source for d in kept.docs] == [d.source for d in untraced.docs] == [d.source for d in whole.docs]

    def paths(value, path=()):
        yield path
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, child in items:
            yield from paths(child, (*path, key))

    traced = set()
    for a, b, c in zip(whole.docs, kept.docs, untraced.docs):
        assert [o for _, _, o in b.find("Gateway")] == [o for _, _, o in a.find("Gateway")]
        every = list(paths(a.merged.values))
        assert [b.at(path) for path in every] == [a.at(path) for path in every]
        traced |= {field for _, field in map(a.at, every)}
        assert not any(layer.data for layer in b.provenance.origins.values() if isinstance(layer, DerivedLayer))
        assert b.merged is None and not b.provenance.values and a.provenance is a.merged
        assert c.values.raw == a.values.raw and c.merged is None is c.provenance
        with pytest.raises(ValueError, match="ServiceEntry objects were not kept"):
            b.find("ServiceEntry")
        with pytest.raises(ValueError, match="only its Gateway objects were kept"):
            b.objects()
        with pytest.raises(ValueError, match="where its values came from was not kept"):
            c.at(("global",))
    assert any(field.startswith("spec.services[") for field in traced) and any(d.find("Gateway") for d in kept.docs)
    # Objects compared with the rules beside the documents are kept only when there are such rules.
    beside = Keep(frozenset(), merged=False, beside_rules=frozenset({"DestinationRule"}))
    assert beside.given([]) is beside
    assert beside.given([ForeignRule({}, "rule.yaml", 0, REPO)]) == Keep(frozenset({"DestinationRule"}), merged=False)


def test_a_load_for_a_graph_lets_each_render_go_once_taken(monkeypatch):
    """A load for a graph (`graph.KEEP`, also the diff's) takes of each document what the graph
    draws as soon as it renders and lets the render go: while the repository is alive, no
    document's values or objects are, and the graph is the one drawn from them."""
    import dataclasses
    import gc
    import weakref

    from meshfed.federation import load_repo
    from meshfed.federation.graph import KEEP, Drawn, build_graph, render, to_mermaid

    monkeypatch.chdir(REPO)
    values: list[weakref.ref] = []

    def take(doc, shared):
        values.append(weakref.ref(doc.values))
        return Drawn(doc, shared)

    repo = load_repo([Path("overlays")], keep=dataclasses.replace(KEEP, take=take))
    gc.collect()
    assert len(values) == len(repo.docs) > 5 and not [ref for ref in values if ref() is not None]
    assert all(d.ok and d.values is None is d.rendering and isinstance(d.taken, Drawn) for d in repo.docs)
    assert to_mermaid(build_graph(repo)) == render(load_repo([Path("overlays")], keep=KEEP), "mermaid")


def test_grouping_rules(monkeypatch):
    from meshfed.federation import load_repo

    monkeypatch.chdir(REPO)
    repo = load_repo([FIX / "good"])

    def rel(d):
        return Path(d.source).relative_to(FIX / "good").as_posix()

    got = {c.name: (c.mesh, c.network, [rel(d) for d in c.mesh_docs], [rel(d) for d in c.ns_docs])
           for c in repo.clusters}
    assert got == {
        # through its base chain (the mesh document is its base, and stays a member)
        "central": ("central-mesh", "central-net", ["central/mesh/mesh.yaml"], ["central/bookinfo/bookinfo.yaml"]),
        # through a shared base that holds spec.mesh (east/cluster.yaml, itself not a member)
        "east": ("east-mesh", "east-net", ["east/mesh/mesh.yaml"],
                 ["east/bookinfo/bookinfo.yaml", "east/productpage/productpage.yaml"]),
        # through the cluster's directory (no base, no spec.mesh)
        "west": ("west-mesh", "west-net", ["west/mesh/mesh.yaml"], ["west/bookinfo/bookinfo.yaml"]),
    }
    assert sorted(rel(d) for d in repo.docs) == [
        "central/bookinfo/bookinfo.yaml", "central/mesh/mesh.yaml", "east/bookinfo/bookinfo.yaml",
        "east/mesh/mesh.yaml", "east/productpage/productpage.yaml", "west/bookinfo/bookinfo.yaml",
        "west/mesh/mesh.yaml"]  # base/platform.yaml and east/cluster.yaml are bases only
    assert [c.directory.name for c in repo.clusters] == ["central", "east", "west"]


# --------------------------------------------------------------------------------------------
# krm-check


def resource_list(variant: str, extra: str = "") -> str:
    """The variant's documents as ResourceList items, annotated as kpt / `kustomize fn run` do."""
    lines = ["apiVersion: config.kubernetes.io/v1", "kind: ResourceList", "items:"]
    for f in sorted((REPO / FIX / variant).rglob("*.yaml")):
        rel = f.relative_to(REPO).as_posix()
        doc = [ln for ln in f.read_text().splitlines() if not ln.startswith("#")]
        out = []
        for ln in doc:
            out.append(ln)
            if ln == "metadata:":
                out += ["  annotations:", f"    config.kubernetes.io/path: '{rel}'",
                        "    config.kubernetes.io/index: '0'", f"    internal.config.kubernetes.io/path: '{rel}'",
                        "    internal.config.kubernetes.io/annotations-migration-resource-id: '0'"]
        lines += ["- " + out[0], *("  " + ln for ln in out[1:])]
    return "\n".join(lines) + "\n" + extra


CONFIGMAP = """\
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: other  # a comment, kept
    annotations: {kustomize.config.k8s.io/id: "1", config.kubernetes.io/index: '7'}
  data: {enabled: 'on', n: "010"}
"""


def test_krm_check_passes_items_through_and_reports_results():
    stdin = resource_list("unexported", CONFIGMAP)
    run = meshfed("krm-check", stdin=stdin)
    assert run.returncode == 1
    out = yaml.safe_load(run.stdout)
    src = yaml.safe_load(stdin)
    assert out["kind"] == "ResourceList" and out["apiVersion"] == "config.kubernetes.io/v1"
    assert out["items"] == src["items"]
    ref = {"apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation", "name": "central-mesh"}
    assert out["results"] == [
        {"message": UNEXPORTED[0].split(": ", 2)[2], "severity": "error", "resourceRef": ref,
         "field": {"path": "spec.values.global.remote[0].importedServices[0]"},
         "file": {"path": "tests/federation/unexported/central/mesh.yaml"}},
        {"message": UNEXPORTED[1].split(": ", 2)[2], "severity": "error", "resourceRef": ref,
         "field": {"path": "spec.values.global.remote[0].importedServices[2]"},
         "file": {"path": "tests/federation/unexported/central/mesh.yaml"}},
    ]
    assert run.stderr.splitlines() == UNEXPORTED


def test_krm_check_consistent_list_exits_zero_unchanged():
    stdin = resource_list("good")
    run = meshfed("krm-check", stdin=stdin)
    assert run.returncode == 0, run.stderr
    out = yaml.safe_load(run.stdout)
    assert out["items"] == yaml.safe_load(stdin)["items"]
    assert "results" not in out


def test_krm_check_warnings_do_not_fail():
    run = meshfed("krm-check", stdin=resource_list("unknown-mesh"))
    assert run.returncode == 0
    results = yaml.safe_load(run.stdout)["results"]
    assert [(r["severity"], r["field"]["path"]) for r in results] == [("warning", "spec.values.global.remote[0].mesh")]


def test_krm_check_without_meshfederation_items():
    stdin = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n" + CONFIGMAP
    run = meshfed("krm-check", stdin=stdin)
    assert run.returncode == 0
    out = yaml.safe_load(run.stdout)
    assert out["items"] == yaml.safe_load(stdin)["items"]
    assert [r["severity"] for r in out["results"]] == ["warning"]


def test_krm_check_rejects_what_is_not_a_resource_list():
    run = meshfed("krm-check", stdin="kind: ConfigMap\n")
    assert run.returncode == 1
    out = yaml.safe_load(run.stdout)
    assert out["kind"] == "ResourceList" and out["results"][0]["severity"] == "error"


def test_krm_validate_function_in_process(monkeypatch):
    from meshfed.federation import krm_validate

    monkeypatch.chdir(REPO)
    monkeypatch.delenv("MESHFED_ROOT", raising=False)
    stdin, stdout, stderr = io.BytesIO(resource_list("port-mismatch").encode()), io.StringIO(), io.StringIO()
    code = krm_validate(stdin, stdout, stderr)
    assert code == 1
    out = yaml.safe_load(stdout.getvalue())
    assert [(r["severity"], r["field"]["path"], r["resourceRef"]["name"]) for r in out["results"]] == [
        ("error", "spec.values.import[0].ports", "bookinfo")]
    assert stderr.getvalue().splitlines() == PORT_MISMATCH


# --------------------------------------------------------------------------------------------
# graph


@pytest.mark.parametrize("fmt,suffix", [("mermaid", "mmd"), ("dot", "dot")])
def test_graph_golden(fmt, suffix):
    run = meshfed("graph", str(FIX / "good"), "-o", fmt)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    golden(f"good.{suffix}", run.stdout)
    again = meshfed("graph", str(FIX / "good"), "-o", fmt)
    assert again.stdout == run.stdout


def test_graph_default_is_mermaid_and_draws_external_meshes():
    run = meshfed("graph", str(FIX / "unknown-mesh"))
    assert run.returncode == 0
    golden("unknown-mesh.mmd", run.stdout)


def test_graph_svg():
    """Needs Graphviz's dot on PATH (`make test` installs it): fails, never skips, without it."""
    run = meshfed("graph", str(FIX / "good"), "-o", "svg")
    assert run.returncode == 0, run.stderr
    assert "<svg" in run.stdout and "</svg>" in run.stdout
    svg = html.unescape(run.stdout)
    for text in ("central: mesh central-mesh, network central-net", "ratings.bookinfo.global (weight 50)",
                 "Gateway istio-system/cross-network-egress-gateway"):
        assert text in svg


def test_graph_svg_without_graphviz():
    env = {**os.environ, "PATH": "/nonexistent"}
    run = meshfed("graph", str(FIX / "good"), "-o", "svg", env=env)
    assert run.returncode == 1
    assert run.stdout == ""
    assert "install graphviz" in run.stderr and "-o dot" in run.stderr


def test_graph_refuses_documents_with_errors(tmp_path):
    (tmp_path / "x.yaml").write_text("apiVersion: meshfed.io/v1alpha1\nkind: MeshFederation\nspec:\n  bogus: 1\n")
    run = subprocess.run([str(MESHFED), "graph", "."], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.startswith("x.yaml:")


# --------------------------------------------------------------------------------------------
# explain


@pytest.mark.parametrize("variant,cluster,host,name", [
    ("good", "central", "ratings.bookinfo.global", "explain-central-ratings.txt"),
    ("good", "central", "details.bookinfo.global", "explain-central-details.txt"),
    ("good", "east", "details.bookinfo.global", "explain-east-details.txt"),
    ("unexported", "central", "ratings.bookinfo.global", "explain-unexported-central-ratings.txt"),
    ("unexported", "central", "details.bookinfo.global", "explain-unexported-central-details.txt"),
])
def test_explain_golden(variant, cluster, host, name):
    run = meshfed("explain", host, "--cluster", cluster, str(FIX / variant))
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    golden(name, run.stdout)


def test_explain_accepts_the_mesh_name():
    by_dir = meshfed("explain", "ratings.bookinfo.global", "--cluster", "central", str(FIX / "good"))
    by_mesh = meshfed("explain", "ratings.bookinfo.global", "--cluster", "central-mesh", str(FIX / "good"))
    assert by_dir.stdout == by_mesh.stdout and by_mesh.returncode == 0


def test_explain_unknown_cluster_or_host():
    run = meshfed("explain", "details.bookinfo.global", "--cluster", "nope", str(FIX / "good"))
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == ("cluster nope is not a cluster of this repository: the clusters are central (mesh "
                          "central-mesh), east (mesh east-mesh), west (mesh west-mesh)\n")
    run = meshfed("explain", "ratings.bookinfo.global", "--cluster", "west", str(FIX / "good"))
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == ("cluster west does not import ratings.bookinfo.global: no namespace document imports it "
                          "and no remote lists it in importedServices; it is exported by east, west\n")


def test_check_skips_a_policy_whose_action_is_not_a_string(tmp_path: Path) -> None:
    """An AuthorizationPolicy beside the documents with a list for its action (one the API server
    refuses) binds nothing: check reports what it reports without it, and does not crash."""
    case = REPO / "tests" / "cases" / "fed-authz-check-repo"
    shutil.copytree(case, tmp_path / "repo")
    policy = tmp_path / "repo" / "clusters" / "east" / "bookinfo" / "audit.yaml"
    policy.write_text("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: listed}\n"
                      "spec:\n  action: [DENY]\n  rules: [{}]\n")
    cmd = [str(MESHFED)] if MESHFED.exists() else [sys.executable, "-m", "meshfed"]
    run = subprocess.run([*cmd, "check", "clusters", "--root", "."], cwd=tmp_path / "repo", capture_output=True,
                         text=True, timeout=120)
    assert (run.returncode, run.stdout) == (0, "")
    assert run.stderr == (case / "expected.err").read_text()


# --------------------------------------------------------------------------------------------
# The example GitOps repository


def test_overlays_are_consistent():
    overlays = REPO / "overlays"
    docs = [f for f in overlays.rglob("*.yaml") if "kind: MeshFederation" in f.read_text()] if overlays.is_dir() else []
    if not docs:
        pytest.skip("overlays/ holds no MeshFederation documents")
    run = meshfed("check", "overlays")
    assert run.returncode == 0, run.stderr
    *infos, summary = run.stderr.splitlines()
    assert summary == "3 clusters and 6 applications checked: 0 errors, 0 warnings"
    assert all(line.startswith("info: ") for line in infos), infos  # details has one exporter: nothing to fail over to
