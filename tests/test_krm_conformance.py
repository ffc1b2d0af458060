"""`meshfed krm` against the KRM function contract (krm.md §1, §2, §9), driven directly: hand-made
ResourceLists shaped like kustomize v5.7.1's (quoting, bookkeeping annotations, the generator's
echoed functionConfig), no kustomize involved."""
from __future__ import annotations

import io
import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshfed.values.yamlio import parse_all

from support import REPO, meshfed_executable
from support.cmp_emulator import GoYamlLoader

MESHFED = meshfed_executable()
EXAMPLES = REPO / "kustomize" / "examples"


def krm(text: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MESHFED), "krm"], input=text, capture_output=True, text=True,
                          cwd=cwd, timeout=60)


def render(*args: str, cwd: Path = REPO) -> list[dict[str, Any]]:
    proc = subprocess.run([str(MESHFED), "render", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.load_all(proc.stdout, Loader=GoYamlLoader) if d is not None]


def parse_single(stdout: str) -> dict[str, Any]:
    """stdout must hold exactly one document: the ResourceList (read as go-yaml v2 reads it)."""
    docs = [d for d in yaml.load_all(stdout, Loader=GoYamlLoader) if d is not None]
    assert len(docs) == 1, stdout
    rl = docs[0]
    assert rl["apiVersion"] == "config.kubernetes.io/v1" and rl["kind"] == "ResourceList"
    assert set(rl) <= {"apiVersion", "kind", "items", "results", "functionConfig"}
    return rl


def canon(objects: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(o, sort_keys=True) for o in objects)


def kustomize_generator_input(config: dict[str, Any]) -> str:
    """The ResourceList kustomize feeds a generator: the config (plus local-config) as
    functionConfig, and echoed as the single item with the runfn bookkeeping annotations."""
    fc = json.loads(json.dumps(config))
    fc["metadata"].setdefault("annotations", {})["config.kubernetes.io/local-config"] = "true"
    item = json.loads(json.dumps(fc))
    item["metadata"]["annotations"].update({
        "config.kubernetes.io/index": "0",
        "internal.config.kubernetes.io/index": "0",
        "internal.config.kubernetes.io/annotations-migration-resource-id": "0",
        "internal.config.kubernetes.io/id": "1",
        "config.k8s.io/id": "1",
    })
    return yaml.safe_dump({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList",
                           "items": [item], "functionConfig": fc}, sort_keys=False)


def load_spec(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=GoYamlLoader)


OWNER = "meshfed.io/generated-from"


def generated(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items meshfed generated, without its owner annotation (what `render` prints)."""
    out = []
    for item in items:
        annotations = dict(item["metadata"].get("annotations") or {})
        if annotations.pop(OWNER, None) is None:
            continue
        meta = {k: v for k, v in item["metadata"].items() if k != "annotations"}
        if annotations:
            meta["annotations"] = annotations
        out.append({**item, "metadata": meta})
    return out


# ---- generator use


@pytest.mark.parametrize("form", ["exec-function", "container-function"])
def test_generator_keeps_echo_and_equals_render(form):
    """Items in, items out: the echoed functionConfig stays (kustomize drops it as local config),
    the generated objects follow it and equal `meshfed render` but for the owner annotation."""
    spec_file = EXAMPLES / form / "meshfederation.yaml"
    text = kustomize_generator_input(load_spec(spec_file))
    proc = krm(text, cwd=spec_file.parent)
    assert proc.returncode == 0, proc.stderr
    rl = parse_single(proc.stdout)
    echo, *objects = rl["items"]
    assert echo == yaml.safe_load(text)["items"][0]
    assert objects and all(o["metadata"]["annotations"] == {OWNER: "MeshFederation/bookinfo/bookinfo"}
                           for o in objects)
    assert canon(generated(objects)) == canon(render(str(spec_file)))
    assert not [r for r in rl.get("results", []) if r["severity"] == "error"]


def test_generator_resolves_bases_against_cwd(tmp_path):
    (tmp_path / ".git").mkdir()  # the repository root
    (tmp_path / "base").mkdir()
    (tmp_path / "base/mesh.yaml").write_text(textwrap.dedent("""\
        global:
          defaultServicePorts: [{number: 9080, name: http, protocol: HTTP}]
          local: {export: [{hostname: ratings.mesh.global}]}
        """))
    app = tmp_path / "app"
    app.mkdir()
    config = {"apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation",
              "metadata": {"name": "x", "namespace": "bookinfo", "annotations": {
                  "config.kubernetes.io/function": "exec:\n  path: meshfed\n  args: [krm]\n"}},
              "spec": {"scope": "namespace", "layout": "v2", "base": ["../base/mesh.yaml"],
                       "values": {"export": [{"hostname": "ratings.mesh.global",
                                              "labelSelector": {"app": "ratings"}}]}}}
    proc = krm(kustomize_generator_input(config), cwd=app)
    assert proc.returncode == 0, proc.stderr
    [entry] = generated(parse_single(proc.stdout)["items"])
    assert entry["spec"]["ports"] == [{"number": 9080, "name": "http", "protocol": "HTTP"}]


def test_deterministic_output():
    text = kustomize_generator_input(load_spec(EXAMPLES / "exec-function/meshfederation.yaml"))
    first = krm(text, cwd=EXAMPLES / "exec-function")
    second = krm(text, cwd=EXAMPLES / "exec-function")
    assert first.returncode == 0
    assert first.stdout == second.stdout


def test_wrapper_version_and_list_kind_accepted():
    text = kustomize_generator_input(load_spec(EXAMPLES / "exec-function/meshfederation.yaml"))
    for old, new in (("config.kubernetes.io/v1", "config.kubernetes.io/v1alpha1"),
                     ("kind: ResourceList", "kind: List")):
        proc = krm(text.replace(old, new, 1), cwd=EXAMPLES / "exec-function")
        assert proc.returncode == 0, proc.stderr
        assert parse_single(proc.stdout)["items"]


# ---- transformer use

TRANSFORMER_INPUT = """\
apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
-   apiVersion: v1
    kind: ConfigMap
    metadata:   # a comment the function must keep
      name: first
      annotations:
        kustomize.config.k8s.io/id: |
          group: ""
          kind: ConfigMap
          name: first
          version: v1
        internal.config.kubernetes.io/needsHashSuffix: 'enabled'
        internal.config.kubernetes.io/previousNames: 'first'
        config.kubernetes.io/index: '0'
    data: {flag: 'n', yes-key: "y", num: '0', when: '2024-01-01', ratio: "1e3"}
-   apiVersion: meshfed.io/v1alpha1
    kind: MeshFederation
    metadata:
      name: team
      namespace: team-a
      annotations:
        config.kubernetes.io/path: 'sub/federation.yaml'
        kustomize.config.k8s.io/id: |
          kind: MeshFederation
          name: team
    spec:
      scope: namespace
      layout: v2
      base: [base.yaml]
      values:
        export:
        - hostname: svc.mesh.global
          labelSelector: {app: 'y', tier: 'n'}
-   apiVersion: apps/v1
    kind: Deployment
    metadata: {name: last, annotations: {config.k8s.io/id: '3'}}
    spec: {replicas: 1}
functionConfig:
  apiVersion: v1
  kind: ConfigMap
  metadata:
    name: meshfed-options
    annotations:
      config.kubernetes.io/function: |
        exec: {path: meshfed, args: [krm]}
      config.kubernetes.io/local-config: 'true'
  data: {}
"""


@pytest.fixture
def transformer_dir(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/base.yaml").write_text(textwrap.dedent("""\
        global:
          defaultServicePorts: [{number: 8080, name: http, protocol: HTTP}]
          local: {export: [{hostname: svc.mesh.global}]}
        """))
    return tmp_path


def test_transformer_keeps_items_marks_meshfederation_local_and_adds_objects(transformer_dir):
    proc = krm(TRANSFORMER_INPUT, cwd=transformer_dir)
    assert proc.returncode == 0, proc.stderr
    rl = parse_single(proc.stdout)
    source = yaml.load(TRANSFORMER_INPUT, Loader=GoYamlLoader)["items"]
    assert [i["kind"] for i in rl["items"]] == ["ConfigMap", "MeshFederation", "ServiceEntry", "Deployment"]
    # Other items pass through as they came, bookkeeping annotations and string scalars included.
    cm, mf, se, deployment = rl["items"]
    assert cm == source[0] and deployment == source[2]
    assert cm["data"] == {"flag": "n", "yes-key": "y", "num": "0", "when": "2024-01-01", "ratio": "1e3"}
    # The MeshFederation stays, marked local config, so kustomize and `kpt live apply` skip it.
    assert mf["metadata"]["annotations"] == {**source[1]["metadata"]["annotations"],
                                             "config.kubernetes.io/local-config": "true"}
    # Its object: rendered with its base resolved next to its path annotation, placed in the
    # package beside it, owned by it.
    assert se["metadata"]["name"] == "svc-mesh-global" and se["metadata"]["namespace"] == "team-a"
    assert se["metadata"]["annotations"] == {
        OWNER: "sub/federation.yaml",
        "internal.config.kubernetes.io/path": "sub/federation.generated.yaml",
        "config.kubernetes.io/path": "sub/federation.generated.yaml",
        "internal.config.kubernetes.io/index": "0", "config.kubernetes.io/index": "0"}
    assert se["spec"]["ports"][0]["number"] == 8080
    # y/n stay strings for go-yaml v2 readers (the ResourceList is parsed with one).
    assert se["spec"]["workloadSelector"]["labels"] == {"app": "y", "tier": "n"}


def test_transformer_run_again_replaces_what_it_generated(transformer_dir):
    first = krm(TRANSFORMER_INPUT, cwd=transformer_dir)
    assert first.returncode == 0, first.stderr
    again = krm(first.stdout, cwd=transformer_dir)
    assert again.returncode == 0, again.stderr
    assert parse_single(again.stdout)["items"] == parse_single(first.stdout)["items"]


def test_transformer_without_meshfederation_is_an_error_unless_allowed(tmp_path):
    text = TRANSFORMER_INPUT.replace("kind: MeshFederation", "kind: NotMine")
    proc = krm(text, cwd=tmp_path)
    assert proc.returncode == 1
    assert "nothing to render" in proc.stderr
    assert parse_single(proc.stdout)["items"] == []
    allowed = krm(text.replace("  data: {}", "  data: {allowEmpty: 'true'}"), cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stderr
    rl = parse_single(allowed.stdout)
    assert rl["items"] == yaml.load(text, Loader=GoYamlLoader)["items"]


def test_transformer_options_from_functionconfig(transformer_dir):
    text = TRANSFORMER_INPUT.replace("  data: {}", "  data: {namespace: elsewhere}")
    proc = krm(text, cwd=transformer_dir)
    assert proc.returncode == 0, proc.stderr
    assert generated(parse_single(proc.stdout)["items"])[0]["metadata"]["namespace"] == "elsewhere"
    bad = krm(TRANSFORMER_INPUT.replace("  data: {}", "  data: {scop: mesh}"), cwd=transformer_dir)
    assert bad.returncode == 1
    assert "unknown option" in bad.stderr


# ---- errors and results


def test_error_gives_results_empty_items_and_exit_1(transformer_dir):
    text = TRANSFORMER_INPUT.replace("- hostname: svc.mesh.global\n          labelSelector",
                                     "- hostname: NOT_A_HOST\n          labelSelector")
    proc = krm(text, cwd=transformer_dir)
    assert proc.returncode == 1
    rl = parse_single(proc.stdout)
    assert rl["items"] == []
    errors = [r for r in rl["results"] if r["severity"] == "error"]
    assert errors
    err = errors[0]
    assert err["resourceRef"] == {"apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation",
                                  "name": "team", "namespace": "team-a"}
    assert err["field"]["path"].endswith("export[0].hostname")
    assert err["file"]["path"] == "sub/federation.yaml"
    assert err["message"] in proc.stderr


@pytest.mark.parametrize("text, message", [
    ("", "expected one ResourceList document, found 0"),
    ("items: [unclosed\n", "invalid YAML"),
    ("apiVersion: v1\nkind: ConfigMap\n", "expected a ResourceList"),
    ("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: 3\n", "must be a list"),
    ("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n", "no functionConfig and no items"),
    ("kind: ResourceList\nitems: []\n---\nkind: ResourceList\nitems: []\n", "found 2"),
])
def test_invalid_input_still_gives_a_valid_resourcelist(tmp_path, text, message):
    proc = krm(text, cwd=tmp_path)
    assert proc.returncode == 1
    rl = parse_single(proc.stdout)
    assert rl["items"] == []
    assert rl["results"][0]["severity"] == "error"
    assert message in rl["results"][0]["message"]
    assert message in proc.stderr


def test_warnings_become_results_and_exit_0(tmp_path):
    (tmp_path / ".git").mkdir()
    config = {"apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation",
              "metadata": {"name": "w", "namespace": "ns",
                           "annotations": {"config.kubernetes.io/function": "exec: {path: x}\n"}},
              "spec": {"scope": "namespace", "layout": "v2", "values": {
                  "export": [{"hostname": "a.mesh.global", "labelSelector": {"app": "a"},
                              "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}]}]}}}
    proc = krm(kustomize_generator_input(config), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rl = parse_single(proc.stdout)
    assert rl["items"]
    warnings = [r for r in rl["results"] if r["severity"] == "warning"]
    assert warnings and all(r["resourceRef"]["name"] == "w" for r in warnings)
    assert "warning" in proc.stderr


def test_in_process_api_writes_only_the_list():
    from meshfed.routes import krm as krm_module
    text = kustomize_generator_input(load_spec(EXAMPLES / "exec-function/meshfederation.yaml"))
    out, err = io.StringIO(), io.StringIO()
    import os

    cwd = os.getcwd()
    os.chdir(EXAMPLES / "exec-function")
    try:
        rc = krm_module.run(io.BytesIO(text.encode()), out, err)
    finally:
        os.chdir(cwd)
    assert rc == 0, err.getvalue()
    assert parse_single(out.getvalue())["items"]


def test_generated_object_clashing_with_an_input_item_is_an_error(transformer_dir):
    clash = TRANSFORMER_INPUT.replace(
        "-   apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: last,",
        "-   apiVersion: networking.istio.io/v1\n    kind: ServiceEntry\n"
        "    metadata: {name: svc-mesh-global, namespace: team-a,")
    proc = krm(clash, cwd=transformer_dir)
    assert proc.returncode == 1
    assert parse_single(proc.stdout)["items"] == []
    assert "ServiceEntry.networking.istio.io team-a/svc-mesh-global is emitted twice, by the input items " \
           "and by sub/federation.yaml" in proc.stderr


def test_items_keep_kustomize_and_kpt_meaning_while_meshfederation_values_are_helm_values(transformer_dir):
    """Items are read as kyaml (go-yaml v3) reads them, so an unquoted `on`, `y` or key `n` stays
    a string and comes back as one; a MeshFederation's values are read as Helm reads them."""
    text = TRANSFORMER_INPUT.replace(
        "    data: {flag: 'n', yes-key: \"y\", num: '0', when: '2024-01-01', ratio: \"1e3\"}",
        "    data: {flag: on, n: yes, y: off}").replace(
        "          labelSelector: {app: 'y', tier: 'n'}", "          labelSelector: {app: y}")
    proc = krm(text, cwd=transformer_dir)
    assert proc.returncode == 1  # Helm reads the label value y as a boolean: a type error
    assert "labelSelector.app" in proc.stderr
    fixed = krm(text.replace("labelSelector: {app: y}", "labelSelector: {app: 'y'}"), cwd=transformer_dir)
    assert fixed.returncode == 0, fixed.stderr
    [rl] = [d for d in parse_all(fixed.stdout, "<stdout>", kyaml=True) if d is not None]
    assert rl["items"][0]["data"] == {"flag": "on", "n": "yes", "y": "off"}
    assert "data: {flag: on, n: yes, y: off}" in fixed.stdout  # passed through as it came
