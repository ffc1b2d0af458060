"""plugin.yaml run through the argocd-cmp-server emulator (tests/support/cmp_emulator.py) over a
checkout of this repository, with the Applications the ApplicationSet in kustomize/argocd/ makes:
discovery picks exactly the app directories, generation equals the kustomize build, failures
are loud and readable, parameters and env entries work."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshfed.values import options
from support import REPO, app_dirs, meshfed_executable, snapshot_checkout, venv_bin
from support import cmp_emulator as cmp
from support.kubectl import kubectl_binary, kustomize

MESHFED = meshfed_executable()
APP_PATHS = [p.relative_to(REPO).as_posix() for p in app_dirs()]
CLUSTERS = ["in-cluster", "central", "east", "west"]  # as the clusters generator lists them


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    return snapshot_checkout(tmp_path_factory.mktemp("checkout"))


# `--plugin-tar-exclude` of the repo-server (as production setups do for big directories): the
# test data directories are not streamed to the plugin.
TAR_EXCLUSIONS = [".git", "tests", "bench"]


def make_emulator(tmp: Path, **kwargs: Any) -> cmp.CmpEmulator:
    """The sidecar: uid 999-like env, meshfed on PATH, HOME not writable, private TMPDIR."""
    tmp.mkdir(parents=True, exist_ok=True)
    sidecar_env = {"PATH": f"{venv_bin()}:/usr/local/bin:/usr/bin:/bin",
                   "HOME": "/nonexistent", "TMPDIR": str(tmp)}
    return cmp.CmpEmulator(REPO / "plugin.yaml", tmp_root=tmp, sidecar_env=sidecar_env,
                           tar_exclusions=TAR_EXCLUSIONS, **kwargs)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory) -> cmp.CmpEmulator:
    return make_emulator(tmp_path_factory.mktemp("sidecar"))


def objects_of(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.load_all(text, Loader=cmp.GoYamlLoader) if d is not None]


def canon(objs: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(o, sort_keys=True) for o in objs)


# ---- the ApplicationSet, evaluated


def go_template(text: str, params: dict[str, Any]) -> str:
    """The subset of Go templates the ApplicationSet uses: `{{ .a.b }}` and
    `{{ if eq .a.b "lit" }}X{{ else }}Y{{ end }}` (not nested)."""
    def value(ref: str) -> Any:
        cur: Any = params
        for part in ref.strip().lstrip(".").split("."):
            cur = cur[part]  # missingkey=error
        return cur

    def branch(m: re.Match[str]) -> str:
        return m.group(3) if str(value(m.group(1))) == m.group(2) else m.group(4)

    text = re.sub(r'\{\{-?\s*if\s+eq\s+(\.[\w.]+)\s+"([^"]*)"\s*-?\}\}(.*?)'
                  r'\{\{-?\s*else\s*-?\}\}(.*?)\{\{-?\s*end\s*-?\}\}', branch, text, flags=re.S)
    return re.sub(r"\{\{-?\s*(\.[\w.]+)\s*-?\}\}", lambda m: str(value(m.group(1))), text)


def render_tree(node: Any, params: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        return {k: render_tree(v, params) for k, v in node.items()}
    if isinstance(node, list):
        return [render_tree(v, params) for v in node]
    return go_template(node, params) if isinstance(node, str) else node


def applications(checkout: Path) -> list[dict[str, Any]]:
    """The Applications the ApplicationSet creates for the clusters in CLUSTERS."""
    appset = yaml.safe_load((REPO / "kustomize/argocd/applicationset.yaml").read_text())
    spec = appset["spec"]
    assert spec["goTemplate"] is True
    [matrix] = spec["generators"]
    clusters_gen, git_gen = matrix["matrix"]["generators"]
    assert "clusters" in clusters_gen
    apps = []
    for name in CLUSTERS:
        cluster = {"name": name, "server": f"https://{name}.example:6443"}
        for d in git_gen["git"]["directories"]:
            pattern = go_template(d["path"], cluster)
            for path in sorted(checkout.glob(pattern)):
                if not path.is_dir() or d.get("exclude"):
                    continue
                rel = path.relative_to(checkout).as_posix()
                params = {**cluster, "path": {"path": rel, "basename": path.name}}
                apps.append(render_tree(spec["template"], params))
    return apps


def as_emulated(app: dict[str, Any]) -> cmp.Application:
    source, dest = app["spec"]["source"], app["spec"]["destination"]
    plugin = source.get("plugin")
    return cmp.Application(
        source_path=source["path"], name=app["metadata"]["name"],
        dest_namespace=dest.get("namespace", ""), repo_url=source["repoURL"],
        target_revision=source["targetRevision"],
        plugin=None if plugin is None else cmp.PluginSource(
            name=plugin.get("name", ""), env=[(e["name"], e["value"]) for e in plugin.get("env", [])],
            parameters=plugin.get("parameters")))


def test_applicationset_makes_one_app_per_app_dir(checkout):
    apps = applications(checkout)
    assert sorted(a["spec"]["source"]["path"] for a in apps) == APP_PATHS
    plugin_name = cmp.load_plugin_config(REPO / "plugin.yaml").socket_name
    for app in apps:
        source, dest = app["spec"]["source"], app["spec"]["destination"]
        cluster = source["path"].split("/")[1]
        assert dest["name"] == cluster
        assert source["plugin"]["name"] == plugin_name
        assert app["metadata"]["name"] == f"meshfed-{cluster}-{Path(source['path']).name}"
        # the destination namespace is the namespace the app's documents target
        docs = [d for f in sorted((checkout / source["path"]).glob("*.yaml"))
                for d in yaml.safe_load_all(f.read_text()) if d and d.get("kind") == "MeshFederation"]
        assert {d["metadata"]["namespace"] for d in docs} == {dest["namespace"]}


# ---- discovery


def test_plugin_yaml_is_valid_and_runs_without_a_shell():
    cfg = cmp.load_plugin_config(REPO / "plugin.yaml")
    for section in (cfg.spec["generate"], cfg.spec["discover"]["find"],
                    cfg.spec["parameters"]["dynamic"]):
        argv = cfg.argv(section)
        assert argv[:2] == ["meshfed", "argocd"] and argv[0] not in ("sh", "bash")
    assert not cfg.spec["discover"]["fileName"] and not cfg.spec["discover"]["find"]["glob"]


def test_discovery_matches_exactly_the_app_dirs(checkout, emulator):
    candidates = {rel for rel in (".", "plugin", "docs") if (checkout / rel).is_dir()}
    for top in ("overlays", "kustomize"):
        for dirpath, _, _ in os.walk(checkout / top):
            candidates.add(Path(dirpath).relative_to(checkout).as_posix())
    assert {"overlays/base", "kustomize/examples/exec-function",
            "kustomize/examples/container-function", "kustomize/argocd"} <= candidates
    matched = {rel for rel in sorted(candidates)
               if emulator.discover(checkout, cmp.Application(source_path=rel, plugin=None))}
    assert matched == set(APP_PATHS)


def test_discovery_prints_only_on_a_match_and_exits_0(tmp_path):
    for cwd, expected in ((REPO / "overlays/east/mesh", "mesh.yaml\n"), (REPO / "overlays/base", ""),
                          (tmp_path, "")):
        proc = subprocess.run([str(MESHFED), "argocd", "discover"], cwd=cwd, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=60, env={})
        assert (proc.returncode, proc.stdout) == (0, expected)


# ---- generation


@pytest.mark.parametrize("rel", APP_PATHS)
def test_generate_equals_kustomize_and_render(rel, checkout, emulator, tmp_path):
    [app] = [a for a in applications(checkout) if a["spec"]["source"]["path"] == rel]
    emulated = as_emulated(app)
    result = emulator.generate(checkout, emulated)
    assert result.objects and not result.warnings
    # Argo CD says which API versions the cluster serves (KUBE_API_VERSIONS): render is told the same.
    served = ["--api-versions", ",".join(emulated.api_versions)]
    rendered = subprocess.run([str(MESHFED), "render", rel, *served], cwd=REPO, capture_output=True,
                              text=True, timeout=60)
    assert rendered.returncode == 0 and rendered.stderr == ""
    assert canon(result.objects) == canon(objects_of(rendered.stdout))
    plain = subprocess.run([str(MESHFED), "render", rel], cwd=REPO, capture_output=True, text=True, timeout=60)
    # the plugin's own output, before the controller fills namespaces in, is complete already
    assert all(json.loads(m)["metadata"].get("namespace") for m in result.manifests)
    if kubectl_binary() is None:
        pytest.skip("pinned kubectl not found: compared with `meshfed render` only")
    built = kustomize(REPO / rel, tmp_path)
    assert built.returncode == 0, built.stderr
    assert canon(objects_of(plain.stdout)) == canon(objects_of(built.stdout))


def test_generate_by_auto_detection_and_unnamed_plugin(checkout, emulator):
    rel = "overlays/central/bookinfo"
    named = emulator.generate(checkout, cmp.Application(
        source_path=rel, dest_namespace="bookinfo", plugin=cmp.PluginSource(name="meshfed")))
    # No plugin section: discovery with variables 1-9 only, no ARGOCD_APP_PARAMETERS.
    auto = emulator.generate(checkout, cmp.Application(source_path="./" + rel + "/", plugin=None))
    unnamed = emulator.generate(checkout, cmp.Application(
        source_path=rel, plugin=cmp.PluginSource(parameters=[])))
    assert canon(auto.objects) == canon(named.objects) == canon(unnamed.objects)


def _broken_checkout(checkout: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "checkout"
    shutil.copytree(checkout, copy)
    return copy


@pytest.mark.parametrize("edit, expected", [
    # The application reads its part of the Federation alone: edited by hand, it is refused.
    (("overlays/east/bookinfo/federation-part.yaml", "app: ratings", "app: 'no spaces allowed'"),
     'overlays/east/bookinfo/federation-part.yaml: metadata.annotations["meshfed.io/digest"]: the part does not '
     "match its digest: edited by hand? run `meshfed federation scaffold ../../federation.yaml --out ../..` again"),
    (("overlays/east/bookinfo/bookinfo.yaml", "  scope: namespace", "  scope: [namespace"),
     "overlays/east/bookinfo/bookinfo.yaml: invalid YAML"),
    (("overlays/base/mesh.yaml", "number: 9080", "number: 0"),
     "defaultServicePorts[0].number"),
])
def test_failing_app_is_a_readable_error(checkout, tmp_path, edit, expected):
    repo = _broken_checkout(checkout, tmp_path)
    path, old, new = edit
    target = repo / path
    assert old in target.read_text()
    target.write_text(target.read_text().replace(old, new))
    emulator = make_emulator(tmp_path / "sidecar")
    with pytest.raises(cmp.CmpError) as err:
        emulator.generate(repo, cmp.Application(source_path="overlays/east/bookinfo",
                                                dest_namespace="bookinfo",
                                                plugin=cmp.PluginSource(name="meshfed")))
    message = str(err.value)
    assert "`meshfed argocd generate` failed exit status 1: meshfed: cannot render " \
           "overlays/east/bookinfo (" in message
    assert expected in message
    assert "_cmp_server" not in message  # no temp paths in the UI
    [run] = [r for r in emulator.runs if r.argv[-1] == "generate"]
    assert run.stdout == ""  # nothing for Argo CD to parse


def test_empty_render_is_an_error(checkout, tmp_path):
    repo = _broken_checkout(checkout, tmp_path)
    app = repo / "overlays/east/nothing"
    app.mkdir()
    (app / "empty.yaml").write_text(
        "apiVersion: meshfed.io/v1alpha1\nkind: MeshFederation\nmetadata: {name: e}\n"
        "spec: {scope: mesh, layout: v2, base: [../../base/mesh.yaml]}\n")
    emulator = make_emulator(tmp_path / "sidecar")
    with pytest.raises(cmp.CmpError, match="nothing to render: .* an empty render makes Argo CD prune"):
        emulator.generate(repo, cmp.Application(source_path="overlays/east/nothing",
                                                plugin=cmp.PluginSource(name="meshfed")))


# ---- options: env entries, parameters, destination namespace


def test_parameters_and_env_entries(checkout, emulator):
    rel = "overlays/central/bookinfo"

    def run(**plugin: Any) -> list[dict[str, Any]]:
        return emulator.generate(checkout, cmp.Application(
            source_path=rel, dest_namespace="bookinfo",
            plugin=cmp.PluginSource(name="meshfed", **plugin))).objects

    base = run()
    assert {o["metadata"]["namespace"] for o in base} == {"bookinfo"}
    # The namespace parameter decides whose imports the Federation gives: shop has none.
    with pytest.raises(cmp.CmpError, match=re.escape("bookinfo.yaml: namespace shop: no service of the Federation")):
        run(parameters=[{"name": "namespace", "string": "shop"}])
    both = run(env=[("MESHFED_SCOPE", "all")])
    assert {o["kind"] for o in both} > {o["kind"] for o in base}  # the mesh tier too
    assert canon(run(env=[("MESHFED_SCOPE", "all")],
                     parameters=[{"name": "scope", "string": "namespace"}])) == canon(base)
    assert canon(run(parameters=[{"name": "scope", "string": ""}])) == canon(base)
    for plugin, message in (
        # Every parameter the plugin takes is listed (the option table's: values files and
        # values too), with a did-you-mean.
        ({"parameters": [{"name": "scop", "string": "all"}]},
         f"parameter: scop: unknown parameter (known: {KNOWN_PARAMETERS}) (did you mean `scope`?)"),
        ({"parameters": [{"name": "valueFile", "array": ["a.yaml"]}]},
         f"parameter: valueFile: unknown parameter (known: {KNOWN_PARAMETERS}) (did you mean `valueFiles`?)"),
        ({"parameters": [{"name": "scope", "array": ["all"]}]}, "must be a string"),
        ({"parameters": [{"name": "layout", "string": "v3"}]}, "'v3' is not one of v1, v2"),
        ({"env": [("MESHFED_SCOPEE", "all")]}, "plugin env: MESHFED_SCOPEE: unknown option"),
        ({"parameters": [{"name": "allowEmpty", "string": "maybe"}]}, "must be true or false"),
    ):
        with pytest.raises(cmp.CmpError, match=re.escape(message)):
            run(**plugin)


# The plugin's parameters, from the option table: the string ones, then the array and the map.
_PARAMETERS = [o.parameter for o in options.TABLE if o.parameter is not None]
KNOWN_PARAMETERS = ", ".join(p.name for c in ("string", "array", "map") for p in _PARAMETERS if p.collection == c)


def test_destination_namespace_is_the_default_target(checkout, tmp_path):
    repo = _broken_checkout(checkout, tmp_path)
    app = repo / "apps/team"
    app.mkdir(parents=True)
    doc = {"apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation", "metadata": {"name": "team"},
           "spec": {"scope": "namespace", "layout": "v2", "base": ["../../overlays/base/mesh.yaml"],
                    "values": {"export": [{"hostname": "ratings.mesh.global", "labelSelector": {"app": "ratings"}}]}}}
    (app / "team.yaml").write_text(yaml.safe_dump(doc))
    emulator = make_emulator(tmp_path / "sidecar")
    for dest in ("team-a", ""):
        result = emulator.generate(repo, cmp.Application(
            source_path="apps/team", dest_namespace=dest, plugin=cmp.PluginSource(name="meshfed")))
        raw = [json.loads(m)["metadata"].get("namespace") for m in result.manifests]
        assert raw == ([dest] if dest else [None])


def test_parameter_announcement(checkout, emulator):
    announced = emulator.parameters(checkout, cmp.Application(
        source_path="overlays/central/mesh", plugin=cmp.PluginSource(name="meshfed")))
    assert [(a["name"], a["string"]) for a in announced[:4]] == [
        ("scope", "mesh"), ("layout", "v2"), ("namespace", "istio-system"), ("allowEmpty", "")]
    assert all(a["collectionType"] == "string" and a["title"] and a["tooltip"] for a in announced[:4])
    assert [(a["name"], a["collectionType"]) for a in announced[4:]] == [("valueFiles", "array"), ("values", "map")]
    proc = subprocess.run([str(MESHFED), "argocd", "parameters"], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env={})
    assert proc.returncode == 0
    assert [a.get("string") for a in json.loads(proc.stdout)] == ["", "", "", "", None, None]  # strict JSON


def test_repo_root_strips_the_cleaned_source_path():
    from meshfed.routes.argocd import repo_root

    work = "/tmp/_cmp_server/3f2c/overlays/east/mesh"
    assert repo_root(work, "overlays/east/mesh") == "/tmp/_cmp_server/3f2c"
    assert repo_root(work, "./overlays/east/mesh/") == "/tmp/_cmp_server/3f2c"
    assert repo_root(work, "") == work
    assert repo_root(work, None) is None
    assert repo_root("/a", "x/a") == "/"
    assert repo_root("/", "a") == "/"
    # manifest-generate-paths: the tarball is rooted at overlays/, the cwd is <uuid>/east/mesh
    assert repo_root("/w/uuid/east/mesh", "overlays/east/mesh") == "/w/uuid"


# ---- the packaging: examples, plugin.yaml, the sidecar's memory


def test_the_application_example_renders_its_directory(checkout, emulator):
    """kustomize/argocd/application.yaml is complete: the plugin by name, a directory of the
    example repository, its namespace created, and it renders what the ApplicationSet's does."""
    app = yaml.safe_load((REPO / "kustomize/argocd/application.yaml").read_text())
    assert (app["apiVersion"], app["kind"], app["metadata"]["namespace"]) == ("argoproj.io/v1alpha1", "Application",
                                                                             "argocd")
    sync = app["spec"]["syncPolicy"]
    assert "CreateNamespace=true" in sync["syncOptions"] and sync["automated"]["prune"] is True
    [twin] = [a for a in applications(checkout) if a["spec"]["source"]["path"] == app["spec"]["source"]["path"]]
    assert twin["spec"]["destination"] == app["spec"]["destination"]
    assert twin["spec"]["syncPolicy"] == sync
    result = emulator.generate(checkout, as_emulated(app))
    assert result.objects and canon(result.objects) == canon(emulator.generate(checkout, as_emulated(twin)).objects)


def test_plugin_yaml_comments_name_every_parameter_and_env_entry():
    text = (REPO / "plugin.yaml").read_text()
    for option in options.TABLE:
        if option.parameter is not None:
            assert option.parameter.name in text, option.parameter.name
        if option.env:
            assert option.env.removeprefix("ARGOCD_ENV_") in text, option.env


def test_one_figure_for_the_sidecars_memory():
    """The limit in the manifest is the one the docs give, and the peak the manifest's comment
    quotes is the benchmark's recorded one."""
    patch = yaml.safe_load((REPO / "kustomize/argocd/repo-server-patch.yaml").read_text())
    [sidecar] = patch["spec"]["template"]["spec"]["containers"]
    limit = sidecar["resources"]["limits"]["memory"]
    assert limit == "1Gi"
    docs = (REPO / "docs/integrations.md").read_text()
    assert f"memory limit is **{limit}**" in docs
    assert re.findall(r"\b\d+(?:Mi|Gi)\b", docs + (REPO / "README.md").read_text()) in ([limit], [limit, limit])
    results = (REPO / "bench/RESULTS.md").read_text()
    [peak] = re.findall(r"^\| XL \| v2 \| namespace \| yaml \|.*\| (\d+) MB \| [\d.]+ \|$", results, re.M)
    comment = (REPO / "kustomize/argocd/repo-server-patch.yaml").read_text()
    assert f"peaks at {peak} MB in meshfed" in comment and f"peaks at {peak} MB in meshfed" in docs
