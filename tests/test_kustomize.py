"""meshfed inside the pinned `kubectl kustomize` (kustomize v5.7.1), with the real binary:

* every overlays/<cluster>/<app> directory through the legacy exec plugin equals `meshfed render`
  of the same directory, without warnings;
* the container-function example through a fake `docker` (krm.md §8.2) equals `meshfed render`;
* error paths, the alpha-plugins gate, and the Argo CD kustomize component.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import REPO, app_dirs, meshfed_executable
from support.cmp_emulator import GoYamlLoader
from support.kubectl import PLUGIN_HOME, kubectl_binary, kustomize, leftover_plugin_configs

if kubectl_binary() is None:
    pytest.skip("pinned kubectl not found: set KUBECTL or run `make tools`",
                allow_module_level=True)

MESHFED = meshfed_executable()
WRAPPER = PLUGIN_HOME / "meshfed.io" / "v1alpha1" / "meshfederation" / "MeshFederation"
FAKE_DOCKER = REPO / "tests" / "support" / "fake_docker" / "docker"
IMAGE = "ghcr.io/example/meshfed:0.1.0"
APPS = app_dirs()
BOOKKEEPING = ("config.kubernetes.io/", "internal.config.kubernetes.io/", "config.k8s.io/",
               "kustomize.config.k8s.io/")


def objects(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.load_all(text, Loader=GoYamlLoader) if d is not None]


def canon(objs: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(o, sort_keys=True) for o in objs)


def render(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MESHFED), "render", str(path)], capture_output=True, text=True,
                          cwd=REPO, timeout=60)


def copy_repo_part(dest: Path, *parts: str) -> Path:
    """A scratch repository (with a `.git` marker as its root) holding copies of `parts`."""
    (dest / ".git").mkdir(parents=True)
    for part in parts:
        shutil.copytree(REPO / part, dest / part)
    return dest


def test_there_are_six_app_dirs():
    assert [p.relative_to(REPO).as_posix() for p in APPS] == [
        "overlays/central/bookinfo", "overlays/central/mesh", "overlays/east/bookinfo",
        "overlays/east/mesh", "overlays/west/bookinfo", "overlays/west/mesh"]


def test_plugin_wrapper_is_an_executable_with_shebang():
    text = WRAPPER.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert os.access(WRAPPER, os.X_OK)
    assert 'exec "${MESHFED:-meshfed}" kustomize-plugin "$@"' in text
    # The x bit must be committed too (a checkout, e.g. Argo CD's, recreates it from git).
    try:
        staged = subprocess.run(["git", "-C", str(REPO), "ls-files", "-s", str(WRAPPER)],
                                capture_output=True, text=True, timeout=30).stdout
    except OSError:
        staged = ""
    if staged:
        assert staged.startswith("100755 "), staged


@pytest.mark.parametrize("app", APPS, ids=[p.relative_to(REPO / "overlays").as_posix() for p in APPS])
def test_app_dir_through_exec_plugin_equals_render(app, tmp_path):
    built = kustomize(app, tmp_path)
    assert built.returncode == 0, built.stderr
    rendered = render(app)
    assert rendered.returncode == 0, rendered.stderr
    assert rendered.stderr == "", "the example configuration must render without warnings"
    got = objects(built.stdout)
    assert got, "kustomize produced nothing"
    assert canon(got) == canon(objects(rendered.stdout))
    for obj in got:
        annotations = obj["metadata"].get("annotations") or {}
        assert not [k for k in annotations if k.startswith(BOOKKEEPING)]
    assert leftover_plugin_configs(tmp_path) == []


def test_alpha_plugins_gate(tmp_path):
    built = kustomize(APPS[0], tmp_path, alpha_plugins=False)
    assert built.returncode != 0
    assert "external plugins disabled" in built.stderr


def test_exec_plugin_failure_is_readable_and_prints_nothing(tmp_path):
    repo = copy_repo_part(tmp_path / "repo", "overlays")
    part = repo / "overlays/east/bookinfo/federation-part.yaml"  # what the application reads of the Federation
    part.write_text(part.read_text().replace("app: ratings", "app: 'not a label value!'"))
    built = kustomize(repo / "overlays/east/bookinfo", tmp_path / "scratch")
    assert built.returncode != 0
    assert built.stdout == ""
    assert "failure in plugin configured via" in built.stderr
    assert 'federation-part.yaml: metadata.annotations["meshfed.io/digest"]: the part does not match' in built.stderr


def test_exec_plugin_base_outside_root_is_refused(tmp_path):
    repo = copy_repo_part(tmp_path / "repo", "overlays")
    built = kustomize(repo / "overlays/east/mesh", tmp_path / "scratch",
                      extra_env={"MESHFED_ROOT": str(repo / "overlays/east")})
    assert built.returncode != 0
    assert "resolves outside the root" in built.stderr


def test_exec_plugin_refuses_transformer_use(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (tmp_path / ".git").mkdir()
    shutil.copy(REPO / "kustomize/examples/exec-function/meshfederation.yaml", app / "mf.yaml")
    text = (app / "mf.yaml").read_text()
    start = text.index("  annotations:")
    end = text.index("spec:")
    (app / "mf.yaml").write_text(text[:start] + text[end:])  # legacy form: no annotation
    (app / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    (app / "kustomization.yaml").write_text("resources: [cm.yaml]\ntransformers: [mf.yaml]\n")
    built = kustomize(app, tmp_path / "scratch")
    assert built.returncode != 0
    assert "list it under `generators:`" in built.stderr


# ---- KRM functions


@pytest.fixture
def fake_docker(tmp_path: Path) -> dict[str, Any]:
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    # The stand-in runs with the tests' interpreter (stdlib only), whatever python3 is on PATH.
    body = FAKE_DOCKER.read_text().split("\n", 1)[1]
    (bin_dir / "docker").write_text(f"#!{sys.executable}\n{body}")
    os.chmod(bin_dir / "docker", 0o755)
    workdir = tmp_path / "container-workdir"
    workdir.mkdir()
    return {"path": [bin_dir], "log": tmp_path / "docker.log", "stdin": tmp_path / "stdin.yaml",
            "env": {"FAKE_DOCKER_LOG": str(tmp_path / "docker.log"),
                    "FAKE_DOCKER_MESHFED": str(MESHFED), "FAKE_DOCKER_IMAGE": IMAGE,
                    "FAKE_DOCKER_WORKDIR": str(workdir),
                    "FAKE_DOCKER_STDIN_COPY": str(tmp_path / "stdin.yaml")}}


def test_container_function_example_equals_render(fake_docker, tmp_path):
    example = REPO / "kustomize/examples/container-function"
    built = kustomize(example, tmp_path / "scratch", path_prepend=fake_docker["path"],
                      extra_env=fake_docker["env"])
    assert built.returncode == 0, built.stderr
    rendered = render(example / "meshfederation.yaml")
    assert rendered.returncode == 0 and rendered.stderr == ""
    got = objects(built.stdout)
    # The same objects, each naming the document it came from (what a later KRM run replaces).
    for o in got:
        assert o["metadata"].pop("annotations") == {"meshfed.io/generated-from": "MeshFederation/bookinfo/bookinfo"}
    assert got and canon(got) == canon(objects(rendered.stdout))
    assert not [o for o in got if o["kind"] == "MeshFederation"]  # the local-config echo
    argv = [json.loads(line) for line in fake_docker["log"].read_text().splitlines()]
    assert len(argv) == 1
    assert argv[0][:2] == ["run", "--rm"] and argv[0][-1] == IMAGE
    assert ["--network", "none"] == argv[0][argv[0].index("--network"):][:2]
    # Replaying kustomize's real input gives the same bytes twice (determinism).
    replay = [subprocess.run([str(MESHFED), "krm"], input=fake_docker["stdin"].read_text(),
                             capture_output=True, text=True, cwd=tmp_path, timeout=60)
              for _ in range(2)]
    assert replay[0].returncode == 0 and replay[0].stdout == replay[1].stdout


def test_container_function_failure(fake_docker, tmp_path):
    app = tmp_path / "app"
    shutil.copytree(REPO / "kustomize/examples/container-function", app)
    doc = app / "meshfederation.yaml"
    doc.write_text(doc.read_text().replace("- number: 9080", "- number: 99999"))
    built = kustomize(app, tmp_path / "scratch", path_prepend=fake_docker["path"],
                      extra_env=fake_docker["env"])
    assert built.returncode != 0
    assert built.stdout == ""
    assert "couldn't execute function" in built.stderr
    assert "defaultServicePorts[0].number" in built.stderr  # the function's own stderr


def test_kubectl_silently_skips_exec_functions(tmp_path):
    """The documented trap (krm.md §3.3): kubectl has no --enable-exec, so the exec-function
    example yields nothing there; it needs standalone kustomize (see docs/integrations.md)."""
    built = kustomize(REPO / "kustomize/examples/exec-function", tmp_path)
    assert built.returncode == 0, built.stderr
    assert objects(built.stdout) == []


# ---- the Argo CD component

REPO_SERVER_STUB = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: argocd-repo-server
spec:
  selector:
    matchLabels: {app.kubernetes.io/name: argocd-repo-server}
  template:
    metadata:
      labels: {app.kubernetes.io/name: argocd-repo-server}
    spec:
      initContainers:
      - name: copyutil
        image: quay.io/argoproj/argocd:v3.1.0
        command: [/bin/cp, -n, /usr/local/bin/argocd, /var/run/argocd/argocd-cmp-server]
        volumeMounts: [{name: var-files, mountPath: /var/run/argocd}]
      containers:
      - name: argocd-repo-server
        image: quay.io/argoproj/argocd:v3.1.0
        volumeMounts:
        - {name: plugins, mountPath: /home/argocd/cmp-server/plugins}
        - {name: tmp, mountPath: /tmp}
      volumes:
      - {name: var-files, emptyDir: {}}
      - {name: plugins, emptyDir: {}}
      - {name: tmp, emptyDir: {}}
"""


def test_argocd_component_adds_the_sidecar(tmp_path):
    install = tmp_path / "argocd"
    install.mkdir()
    (install / "repo-server.yaml").write_text(REPO_SERVER_STUB)
    component = os.path.relpath(REPO / "kustomize/argocd", install)
    (install / "kustomization.yaml").write_text(
        f"namespace: argocd\nresources: [repo-server.yaml]\ncomponents: [{component}]\n")
    built = kustomize(install, tmp_path / "scratch")
    assert built.returncode == 0, built.stderr
    by_kind = {o["kind"]: o for o in objects(built.stdout)}
    pod = by_kind["Deployment"]["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    assert set(containers) == {"argocd-repo-server", "meshfed"}
    sidecar = containers["meshfed"]
    assert sidecar["command"] == ["/var/run/argocd/argocd-cmp-server"]
    assert sidecar["securityContext"]["runAsUser"] == 999
    assert sidecar["securityContext"]["runAsNonRoot"] is True
    mounts = {m["mountPath"]: m["name"] for m in sidecar["volumeMounts"]}
    assert mounts["/var/run/argocd"] == "var-files"
    assert mounts["/home/argocd/cmp-server/plugins"] == "plugins"
    private_tmp = mounts["/tmp"]
    assert private_tmp not in ("tmp",)  # never the repo-server's temp dir
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert {"var-files", "plugins", "tmp", private_tmp} <= set(volumes)
    assert "/home/argocd/cmp-server/config" not in mounts  # plugin.yaml is baked in the image
    assert pod["initContainers"][0]["name"] == "copyutil"
    # The sidecar only: the example Application(Set)s beside it carry a placeholder repoURL.
    assert [o["kind"] for o in objects(built.stdout)] == ["Deployment"]
