"""`meshfed federation import --argocd`: Argo CD Applications of the charts, in repositories shaped
like their users' (built here with plain git), imported into a Federation whose applications
render, up to order, what each original Application's values render as plain values (`meshfed
render -f ... --set ...`, the drop-in contract); the values of parameters checked against helm."""
from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import MESHFED
from meshfed.output.unordered import compare_objects
from support import helm_executable

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
HELM = helm_executable()
CHARTS_URL = "https://github.com/example/mesh-federation-helm-charts"
MESH_VALUES_URL = "https://github.com/example/mesh-admin-values"
NS_VALUES_URL = "https://github.com/example/namespace-admin-values"
GITOPS_URL = "https://git.example.com/platform/gitops.git"


def meshfed(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MESHFED), *args], cwd=cwd, capture_output=True, text=True, check=False)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, check=True,
                          capture_output=True, text=True).stdout


def new_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "commit", "-q", "--allow-empty", "-m", "init")
    return path


def commit_files(repo: Path, files: dict[str, Any], branch: str | None = None) -> None:
    if branch is not None:
        git(repo, "checkout", "-q", "-b", branch, "main")
    for name, data in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    git(repo, "add", "--all")
    git(repo, "commit", "-q", "-m", f"values {branch or ''}")
    if branch is not None:
        git(repo, "checkout", "-q", "main")


def write_manifests(path: Path, docs: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))


# --------------------------------------------------------------------------------------------
# Corpus 1, the chart author's layout: one Argo CD per cluster (in-cluster destinations, the
# Applications of each cluster in a directory named after it), the values of each cluster on a
# branch `v1-<cluster>-cluster` of two values repositories, multi-source Applications with $refs.

AUTHOR_MESH = {
    "central": {"global": {"defaultServicePorts": [{"number": 9080, "name": "http", "protocol": "HTTP"}],
                           "egressGateway": {"enabled": True, "selector": {"app": "istio-egressgateway"}},
                           "useOpenshiftRouter": True,
                           "remote": [{"mesh": "east-mesh", "addresses": ["console.apps.east.example.com"], "port": 443,
                                       "network": "east-network", "importedServices": ["ratings.mesh.global"]},
                                      {"mesh": "west-mesh", "addresses": ["console.apps.west.example.com"], "port": 443,
                                       "network": "west-network",
                                       "importedServices": ["details.mesh.global", "ratings.mesh.global"]}]}},
    "east": {"global": {"defaultServicePorts": [{"number": 9080, "name": "http", "protocol": "HTTP"}],
                        "useOpenshiftRouter": True, "local": {"export": [{"hostname": "ratings.mesh.global"}]}}},
    "west": {"global": {"defaultServicePorts": [{"number": 9080, "name": "http", "protocol": "HTTP"}],
                        "useOpenshiftRouter": True,
                        "local": {"export": [{"hostname": "details.mesh.global"}, {"hostname": "ratings.mesh.global"}]}}},
}
AUTHOR_NS = {
    "central": {"import": [{"hostname": "ratings.mesh.global"}, {"hostname": "details.mesh.global"}]},
    "east": {"export": [{"hostname": "ratings.mesh.global", "labelSelector": {"app": "ratings"}}]},
    "west": {"export": [{"hostname": "details.mesh.global", "labelSelector": {"app": "details"}},
                        {"hostname": "ratings.mesh.global", "labelSelector": {"app": "ratings"}}]},
}
SYNC = {"automated": {"prune": True, "selfHeal": True}}


def _author_app(cluster: str, tier: str) -> dict[str, Any]:
    chart = "mesh-admin" if tier == "mesh" else "namespace-admin"
    files = ["$mesh-admin/values.yaml"] + (["$namespace-admin/values.yaml"] if tier == "namespace" else [])
    sources = [{"repoURL": CHARTS_URL, "path": chart, "targetRevision": "main", "helm": {"valueFiles": files}},
               {"repoURL": MESH_VALUES_URL + ".git", "targetRevision": f"v1-{cluster}-cluster", "ref": "mesh-admin"}]
    if tier == "namespace":
        sources.append({"repoURL": NS_VALUES_URL, "targetRevision": f"v1-{cluster}-cluster", "ref": "namespace-admin"})
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "mesh-federation" if tier == "mesh" else "bookinfo-federation",
                         "namespace": "openshift-gitops"},
            "spec": {"destination": {"namespace": "istio-system" if tier == "mesh" else "bookinfo",
                                     "server": "https://kubernetes.default.svc"},
                     "project": "default", "sources": sources, "syncPolicy": SYNC}}


@pytest.fixture
def author(tmp_path):
    charts = new_repo(tmp_path / "charts")
    commit_files(charts, {"mesh-admin/Chart.yaml": "name: mesh-admin\n",
                          "namespace-admin/Chart.yaml": "name: namespace-admin\n"})
    mesh, ns = new_repo(tmp_path / "mesh-values"), new_repo(tmp_path / "ns-values")
    for cluster in AUTHOR_MESH:
        commit_files(mesh, {"values.yaml": AUTHOR_MESH[cluster]}, f"v1-{cluster}-cluster")
        commit_files(ns, {"values.yaml": AUTHOR_NS[cluster]}, f"v1-{cluster}-cluster")
        other = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "bookinfo"},
                 "spec": {"destination": {"server": "https://kubernetes.default.svc", "namespace": "bookinfo"},
                          "source": {"repoURL": "https://github.com/example/bookinfo", "path": "kustomize"}}}
        write_manifests(tmp_path / "apps" / cluster / "apps.yaml",
                        [_author_app(cluster, "mesh"), _author_app(cluster, "namespace"), other])
    gitops = new_repo(tmp_path / "gitops")
    git(gitops, "remote", "add", "origin", GITOPS_URL)
    return tmp_path


AUTHOR_REPOS = ["--repo", f"{CHARTS_URL}=charts", "--repo", f"{MESH_VALUES_URL}=mesh-values",
                "--repo", f"{NS_VALUES_URL}=ns-values"]


def _rendered(run: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert run.returncode == 0, run.stderr
    return [d for d in yaml.safe_load_all(run.stdout) if d]


def _plain_values(top: Path, app: dict[str, Any], out: Path) -> list[str]:
    """`meshfed render` arguments for what Argo CD passes helm for `app`: its values files (from
    the clones, at their revisions), its inline values, its parameters."""
    clones = {CHARTS_URL: top / "charts", MESH_VALUES_URL: top / "mesh-values", NS_VALUES_URL: top / "ns-values",
              GITOPS_URL: top / "gitops"}
    sources = app["spec"].get("sources") or [app["spec"]["source"]]
    chart = next(s for s in sources if "helm" in s)
    helm = chart["helm"]
    args = []
    for n, entry in enumerate(helm.get("valueFiles", [])):
        if entry.startswith("$"):
            ref, _, path = entry[1:].partition("/")
            source = next(s for s in sources if s.get("ref") == ref)
        else:
            source, path = chart, os.path.normpath(f"{chart['path']}/{entry}")
        clone = clones[source["repoURL"]] if source["repoURL"] in clones else clones[source["repoURL"].removesuffix(".git")]
        target = out / f"{app['metadata']['name']}-{n}.yaml"
        target.write_text(git(clone, "show", f"{source.get('targetRevision', 'HEAD')}:{path}"))
        args += ["-f", str(target)]
    inline = helm.get("valuesObject") or helm.get("values")
    if inline:
        target = out / f"{app['metadata']['name']}-inline.yaml"
        target.write_text(inline if isinstance(inline, str) else yaml.safe_dump(inline))
        args += ["-f", str(target)]
    for n, p in enumerate(helm.get("fileParameters", [])):
        target = out / f"{app['metadata']['name']}-file-{n}.txt"
        target.write_text(git(clones[GITOPS_URL], "show", f"main:{p['path'].removeprefix('$values/')}"))
        args += ["--set-file", f"{p['name']}={target}"]
    for p in helm.get("parameters", []):  # as Argo CD passes them: commas escaped
        args += ["--set-string" if p.get("forceString") else "--set", p["name"] + "=" + p["value"].replace(",", "\\,")]
    scope = "mesh" if chart.get("chart", chart.get("path", "")).endswith("mesh-admin") else "namespace"
    return [*args, "--scope", scope, "-n", app["spec"]["destination"]["namespace"]]


def _cluster(app: dict[str, Any], manifest: Path) -> str:
    return app["spec"]["destination"].get("name") or manifest.parent.name


def assert_drop_in(top: Path, manifests: list[Path], applications: Path) -> int:
    """Scaffold the Federation; every chart Application's replacement renders, up to order, what
    the original's values render as plain values. The number of Applications compared."""
    assert meshfed("federation", "scaffold", "federation.yaml", "--out", ".", cwd=top / "gitops").returncode == 0
    replacements = {(d["metadata"]["labels"]["meshfed.io/cluster"], d["metadata"]["name"]): d
                    for d in yaml.safe_load_all(applications.read_text())}
    (top / "plain").mkdir()
    compared = 0
    for manifest in manifests:
        for app in yaml.safe_load_all(manifest.read_text()):
            items = app["items"] if app["kind"] == "List" else [app]
            for item in items:
                sources = item["spec"].get("sources") or [item["spec"]["source"]]
                if not any("helm" in s for s in sources):
                    continue
                new = replacements[(_cluster(item, manifest), item["metadata"]["name"])]
                assert new["spec"]["destination"] == item["spec"]["destination"]
                assert (new["spec"]["project"], new["spec"].get("syncPolicy")) == (
                    item["spec"]["project"], item["spec"].get("syncPolicy"))
                assert new["spec"]["source"]["plugin"] == {"name": "meshfed"}
                # Rendered again after a commit to its directory or to a base of the Federation.
                paths = new["metadata"]["annotations"]["argocd.argoproj.io/manifest-generate-paths"].split(";")
                assert paths[0] == "." and all((top / "gitops" / p[1:]).is_dir() for p in paths[1:]), paths
                assert new["spec"]["source"]["repoURL"] == GITOPS_URL
                before = _rendered(meshfed("render", *_plain_values(top, item, top / "plain"), cwd=top))
                after = _rendered(meshfed("render", new["spec"]["source"]["path"], cwd=top / "gitops"))
                same = compare_objects(before, after)
                assert same.equal, (item["metadata"]["name"], same.difference)
                assert before, item["metadata"]["name"]
                compared += 1
    return compared


def test_the_chart_authors_layout_imports_and_renders_as_its_values(author):
    run = meshfed("federation", "import", "--argocd", "apps", *AUTHOR_REPOS, "-o", "gitops/federation.yaml",
                  "--applications-out", "gitops/applications.yaml", cwd=author)
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    assert [x for x in lines if "skipped" in x] == [
        f"info: apps/{c}/apps.yaml: skipped: Application bookinfo deploys neither the mesh-admin nor the "
        "namespace-admin chart" for c in ("central", "east", "west")]
    assert "info: west/mesh: Gateway.networking.istio.io istio-system/federation-ingress-gateway " \
           "spec.servers[0].hosts reordered (an order a cluster does not see)" in lines
    assert not [x for x in lines if x.startswith("apps/") or "error" in x]
    federation = yaml.safe_load((author / "gitops" / "federation.yaml").read_text())
    assert [(m["name"], m["network"], m.get("cluster")) for m in federation["spec"]["meshes"]] == [
        ("central-mesh", "central-network", "central"), ("east-mesh", "east-network", "east"),
        ("west-mesh", "west-network", "west")]
    assert assert_drop_in(author, sorted((author / "apps").glob("*/apps.yaml")),
                          author / "gitops" / "applications.yaml") == 6


def test_a_values_file_that_cannot_be_read_names_the_application_and_field(author):
    run = meshfed("federation", "import", "--argocd", "apps/east", "--repo", f"{CHARTS_URL}=charts", cwd=author)
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr.splitlines()[0] == (
        "apps/east/apps.yaml (Application mesh-federation): spec.sources[0].helm.valueFiles[0]: $mesh-admin/values.yaml "
        f"is read from {MESH_VALUES_URL}.git at v1-east-cluster: give its local clone with --repo "
        f"{MESH_VALUES_URL}.git=DIR")
    manifest = author / "apps" / "east" / "apps.yaml"
    manifest.write_text(manifest.read_text().replace("v1-east-cluster", "v2-east-cluster"))
    run = meshfed("federation", "import", "--argocd", "apps/east", *AUTHOR_REPOS, cwd=author)
    assert run.returncode == 1
    assert run.stderr.splitlines()[0].startswith(
        "apps/east/apps.yaml (Application mesh-federation): spec.sources[0].helm.valueFiles[0]: values.yaml at "
        "v2-east-cluster of")
    assert "no revision v2-east-cluster in the clone" in run.stderr


def test_usage_errors(author):
    for args in ([], ["apps", "--argocd", "apps"], ["apps", "--repo", "x=y"],
                 ["--argocd", "apps", "--applications-out", "a.yaml"]):
        run = meshfed("federation", "import", *args, cwd=author)
        assert (run.returncode, run.stdout) == (2, ""), args


# --------------------------------------------------------------------------------------------
# Corpus 2: one Argo CD for every cluster (named destinations); the chart from a Helm repository
# with the values in the GitOps repository ($values), inline values, valuesObject and parameters;
# Applications in a `kind: List`.

COMMON = {"global": {"enableGatewayAPI": True,
                     "defaultServicePorts": [{"number": 9080, "name": "http", "protocol": "HTTP"}],
                     "gateways": {"ingress": {"selector": {"app": "istio-eastwestgateway", "istio": "eastwestgateway"}}}}}


def _fleet_app(cluster: str, tier: str, helm: dict[str, Any]) -> dict[str, Any]:
    chart = "mesh-admin" if tier == "mesh" else "namespace-admin"
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": f"{cluster}-{chart}", "namespace": "argocd"},
            "spec": {"project": "federation",
                     "destination": {"name": cluster, "namespace": "istio-system" if tier == "mesh" else "bookinfo"},
                     "sources": [{"repoURL": "https://charts.example.com", "chart": chart, "targetRevision": "1.0.0",
                                  "helm": {"valueFiles": ["$values/values/common.yaml", *helm.pop("files", [])],
                                           **helm}},
                                 {"repoURL": GITOPS_URL, "targetRevision": "main", "ref": "values"}],
                     "syncPolicy": {"syncOptions": ["ServerSideApply=true"]}}}


@pytest.fixture
def fleet(tmp_path):
    gitops = new_repo(tmp_path / "gitops")
    git(gitops, "remote", "add", "origin", GITOPS_URL)
    central = {"global": {"gateways": {"egress": {"enabled": True, "selector": {"istio": "egressgateway"}}},
                          "remote": [{"mesh": "west-mesh", "network": "west-network", "addresses": ["198.51.100.10"],
                                      "importedServices": ["ratings.mesh.global"]}]}}
    commit_files(gitops, {"values/common.yaml": COMMON, "values/central.yaml": central, "values/service.txt": "eastwest-gateway",
                          "values/west.yaml": {"global": {"local": {"export": [{"hostname": "ratings.mesh.global"}]}}}})
    apps = [
        _fleet_app("central", "mesh", {"files": ["$values/values/central.yaml"], "parameters": [
            {"name": "global.remote[0].locality", "value": "us-west-1,zone-b"}],
            "valuesObject": {"global": {"configNamespace": "istio-system"}}}),
        _fleet_app("central", "namespace", {"files": ["$values/values/central.yaml"], "parameters": [
            {"name": "global.remote[0].locality", "value": "us-west-1,zone-b"}],
            "values": "import:\n- hostname: ratings.mesh.global\n"}),
        _fleet_app("west", "mesh", {"files": ["$values/values/west.yaml"], "parameters": [
            {"name": "global.gateways.ingress.port", "value": "15443"},
            {"name": "global.gateways.ingress.portName", "value": "tls", "forceString": True}],
            "fileParameters": [{"name": "global.gateways.ingress.serviceName", "path": "$values/values/service.txt"}]}),
        _fleet_app("west", "namespace", {"files": ["$values/values/west.yaml"], "parameters": [
            {"name": "export[0].hostname", "value": "ratings.mesh.global"},
            {"name": "export[0].labelSelector.app", "value": "ratings"}]}),
    ]
    write_manifests(tmp_path / "argocd" / "federation.yaml", [{"apiVersion": "v1", "kind": "List", "items": apps}])
    return tmp_path


def test_named_destinations_inline_values_and_parameters(fleet):
    run = meshfed("federation", "import", "--argocd", "argocd", "--repo", f"{GITOPS_URL}=gitops",
                  "-o", "gitops/federation.yaml", "--applications-out", "gitops/applications.yaml", cwd=fleet)
    assert run.returncode == 0, run.stderr
    federation = yaml.safe_load((fleet / "gitops" / "federation.yaml").read_text())
    assert [m["name"] for m in federation["spec"]["meshes"]] == ["central-mesh", "west-mesh"]
    assert federation["spec"]["services"][0]["exports"][0]["labelSelector"] == {"app": "ratings"}
    assert federation["spec"]["meshes"][1]["values"]["global"]["gateways"]["ingress"]["serviceName"] == "eastwest-gateway"
    # The comma of a parameter's value stays in the value, as Argo CD escapes it.
    assert federation["spec"]["meshes"][1]["locality"] == "us-west-1,zone-b"
    assert "warning: argocd/federation.yaml (Application central-mesh-admin): no cluster imports from cluster " \
           "central" in run.stderr
    assert assert_drop_in(fleet, [fleet / "argocd" / "federation.yaml"], fleet / "gitops" / "applications.yaml") == 4


def test_a_values_file_inside_a_chart_package_is_an_error(fleet):
    manifest = fleet / "argocd" / "federation.yaml"
    manifest.write_text(manifest.read_text().replace("$values/values/west.yaml", "west.yaml", 1))
    run = meshfed("federation", "import", "--argocd", "argocd", "--repo", f"{GITOPS_URL}=gitops", cwd=fleet)
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        "argocd/federation.yaml (Application west-mesh-admin): spec.sources[0].helm.valueFiles[1]: west.yaml: a "
        "values file inside the chart package mesh-admin; meshfed cannot read chart packages: keep the file in git "
        "and name it as $ref/path"]


@pytest.mark.skipif(HELM is None, reason="helm not found (HELM or .tools/bin/helm)")
def test_parameters_give_the_values_helm_gives(fleet, tmp_path_factory):
    """The values of each Application, parameters included, are the values the pinned helm gives
    for the files and flags Argo CD passes it (a chart printing .Values)."""
    from meshfed.federation.argocdapps import build_values, find_applications, parse_repos
    from meshfed.values.merge import merge_layers

    chart = tmp_path_factory.mktemp("chart")
    (chart / "templates").mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: t\nversion: 0.1.0\n")
    (chart / "templates" / "values.yaml").write_text("v: {{ toJson .Values | b64enc }}\n")
    here = os.getcwd()
    os.chdir(fleet)
    try:
        apps, _ = find_applications([Path("argocd")], fleet)
        build_values(apps, parse_repos([f"{GITOPS_URL}=gitops"]))
    finally:
        os.chdir(here)
    checked = 0
    for app in apps:
        helm = app.doc["spec"]["sources"][0]["helm"]
        if not helm.get("parameters"):
            continue
        args = [str(HELM), "template", "r", str(chart)]
        for n, entry in enumerate(helm["valueFiles"]):
            target = chart / f"{app.name}-{n}.yaml"
            target.write_text(git(fleet / "gitops", "show", f"main:{entry.removeprefix('$values/')}"))
            args += ["-f", str(target)]
        inline = helm.get("valuesObject") or helm.get("values")
        if inline:  # Argo CD writes it to a file passed last
            (chart / f"{app.name}-inline.yaml").write_text(inline if isinstance(inline, str) else yaml.safe_dump(inline))
            args += ["-f", str(chart / f"{app.name}-inline.yaml")]
        for n, p in enumerate(helm.get("fileParameters", [])):
            target = chart / f"{app.name}-file-{n}.txt"
            target.write_text(git(fleet / "gitops", "show", f"main:{p['path'].removeprefix('$values/')}"))
            args += ["--set-file", f"{p['name']}={target}"]
        for p in helm["parameters"]:  # as Argo CD passes them: commas escaped
            args += ["--set-string" if p.get("forceString") else "--set", p["name"] + "=" + p["value"].replace(",", "\\,")]
        proc = subprocess.run(args, capture_output=True, text=True, check=True)
        line = next(x for x in proc.stdout.splitlines() if x.startswith("v: "))
        assert merge_layers(app.layers).values == json.loads(base64.b64decode(line[3:])), app.name
        checked += 1
    assert checked == 4


def test_a_values_file_that_links_out_of_its_repository_is_refused_unread(author):
    """The values repository is untrusted: read through the safe reader of git revisions, a link
    out of the clone at that revision is refused, and nothing of its target shows."""
    (author / "secret.yaml").write_text("global: {password: hunter2}\n")
    values = author / "mesh-values"
    git(values, "checkout", "-q", "v1-east-cluster")
    (values / "values.yaml").unlink()
    (values / "values.yaml").symlink_to("../secret.yaml")
    git(values, "add", "--all")
    git(values, "commit", "-q", "-m", "link")
    git(values, "checkout", "-q", "main")
    run = meshfed("federation", "import", "--argocd", "apps/east", *AUTHOR_REPOS, cwd=author)
    assert (run.returncode, run.stdout) == (1, "")
    assert "a symbolic link that leads out of the repository" in run.stderr
    assert "apps/east/apps.yaml (Application mesh-federation): spec.sources[0].helm.valueFiles[0]" in run.stderr
    assert "hunter2" not in run.stderr


@pytest.mark.parametrize("entry, message", [
    ("$other/values.yaml", "$other/values.yaml: no source of this Application has ref: other"),
    ("$values/../secret.yaml", "$values/../secret.yaml: leads out of its repository"),
    ("https://example.com/values.yaml", "https://example.com/values.yaml: a values file at a URL; meshfed reads "
                                        "values files from git clones only"),
    ("$values/values/*.yaml", "$values/values/*.yaml: a glob; list the files it matches"),
    ("$values/values/absent.yaml", "values/absent.yaml is not a file of https://git.example.com/platform/gitops.git "
                                   "at main"),
])
def test_values_files_that_cannot_be_read(fleet, entry, message):
    manifest = fleet / "argocd" / "federation.yaml"
    manifest.write_text(manifest.read_text().replace("$values/values/west.yaml", entry, 1))
    run = meshfed("federation", "import", "--argocd", "argocd", "--repo", f"{GITOPS_URL}=gitops", cwd=fleet)
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr.splitlines() == [
        f"argocd/federation.yaml (Application west-mesh-admin): spec.sources[0].helm.valueFiles[1]: {message}"]


def test_ignore_missing_value_files_skips_a_file_the_revision_lacks(fleet):
    manifest = fleet / "argocd" / "federation.yaml"
    listing = yaml.safe_load(manifest.read_text())
    for app in listing["items"]:
        helm = app["spec"]["sources"][0]["helm"]
        helm["valueFiles"].append("$values/values/absent.yaml")
        helm["ignoreMissingValueFiles"] = True
    write_manifests(manifest, [listing])
    run = meshfed("federation", "import", "--argocd", "argocd", "--repo", f"{GITOPS_URL}=gitops", cwd=fleet)
    assert run.returncode == 0, run.stderr
    for app in listing["items"]:
        del app["spec"]["sources"][0]["helm"]["ignoreMissingValueFiles"]
    write_manifests(manifest, [listing])
    run = meshfed("federation", "import", "--argocd", "argocd", "--repo", f"{GITOPS_URL}=gitops", cwd=fleet)
    assert run.returncode == 1
    assert len(run.stderr.splitlines()) == 4 and "absent.yaml is not a file of" in run.stderr


def test_the_federation_and_the_applications_are_written_all_or_none(fleet):
    (fleet / "gitops" / "applications.yaml").write_text("kept\n")
    args = ["federation", "import", "--argocd", "argocd", "--repo", f"{GITOPS_URL}=gitops",
            "-o", "gitops/federation.yaml", "--applications-out", "gitops/applications.yaml"]
    run = meshfed(*args, cwd=fleet)
    assert (run.returncode, run.stdout) == (1, "")
    assert "applications.yaml" in run.stderr and "--force" in run.stderr
    assert not (fleet / "gitops" / "federation.yaml").exists()
    assert (fleet / "gitops" / "applications.yaml").read_text() == "kept\n"
    assert meshfed(*args, "--force", cwd=fleet).returncode == 0
    assert (fleet / "gitops" / "federation.yaml").is_file()
    assert (fleet / "gitops" / "applications.yaml").read_text().startswith("---\napiVersion: argoproj.io/v1alpha1\n")


def test_the_replacing_applications_name_what_their_render_reads(tmp_path):
    """manifest-generate-paths: the application's directory and, from the repository root, the
    directory of each base of the Federation (once each)."""
    from meshfed.federation.argocdapps import Application
    from meshfed.federation.argocdout import replacements

    top = tmp_path / "gitops"
    (top / "fleet").mkdir(parents=True)
    git(top, "init", "-q")
    git(top, "remote", "add", "origin", GITOPS_URL)
    app = Application({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "m"},
                       "spec": {"destination": {"name": "east"}}}, "apps.yaml", "apps", "spec.source", "mesh")
    app.cluster = "east"
    text = "kind: Federation\nspec:\n  base: [base/a.yaml, base/b.yaml, ../common/c.yaml]\n"
    [doc] = yaml.safe_load_all(replacements([app], top / "fleet" / "federation.yaml", text))
    assert doc["metadata"]["annotations"] == {
        "argocd.argoproj.io/manifest-generate-paths": ".;/fleet/base;/common"}
    assert doc["spec"]["source"]["path"] == "fleet/east/mesh"
