"""Paths on the command line decide the root (as `kustomize build /abs` and `helm template /abs`
do not care where they are run from): `--root`, else `MESHFED_ROOT`, else the git work tree that
holds the paths given, else their directory. Run from a directory outside any repository and from
inside another repository, with absolute paths, through the fast path and through typer."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

MESHFED = Path(sys.executable).parent / "meshfed"
BASE = """\
global:
  configNamespace: istio-system
  defaultServicePorts: [{number: 9080, name: http, protocol: HTTP}]
  gateways: {ingress: {selector: {app: null, istio: eastwestgateway}}}
  local: {export: [{hostname: ratings.mesh.global, ports: [{number: 9080, name: http, protocol: HTTP}]}]}
"""
DOC = """\
apiVersion: meshfed.io/v1alpha1
kind: MeshFederation
metadata: {name: mesh}
spec:
  scope: mesh
  mesh: {name: east-mesh, network: east-network}
  base: [%s]
"""


def _git_init(path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(path)], check=True)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A repository whose application `cluster/mesh/` names the base `base/mesh.yaml` two levels up."""
    top = tmp_path / "repo"
    (top / "base").mkdir(parents=True)
    (top / "cluster" / "mesh").mkdir(parents=True)
    (top / "base" / "mesh.yaml").write_text(BASE)
    (top / "cluster" / "mesh" / "mesh.yaml").write_text(DOC % "../../base/mesh.yaml")
    _git_init(top)
    return top


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHFED_")}
    return subprocess.run([str(MESHFED), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", [["render"], ["validate"], ["values"], ["check"], ["graph"]])
@pytest.mark.parametrize("where", ["outside", "other-repo"])
def test_absolute_paths_work_from_anywhere(repo: Path, tmp_path: Path, command: list[str], where: str) -> None:
    cwd = tmp_path / where
    cwd.mkdir()
    if where == "other-repo":
        _git_init(cwd)
    proc = _run([*command, str(repo / "cluster" / "mesh")], cwd)
    assert proc.returncode == 0, proc.stderr
    if command == ["render"]:
        assert "kind: Gateway" in proc.stdout
    direct = _run([*command, str(repo / "cluster" / "mesh" / "mesh.yaml")], cwd)  # a FILE too
    assert direct.returncode == 0, direct.stderr


def test_the_error_names_the_rule_that_chose_the_root(repo: Path, tmp_path: Path) -> None:
    (repo / "cluster" / "mesh" / "mesh.yaml").write_text(DOC % "../../../outside.yaml")
    (tmp_path / "outside.yaml").write_text(BASE)
    for args in (["render"], ["validate"]):
        proc = _run([*args, str(repo / "cluster" / "mesh")], tmp_path)
        assert proc.returncode == 1 and proc.stdout == ""
        assert "resolves outside the root repo (the git work tree holding repo/cluster/mesh/; set --root or " \
               "MESHFED_ROOT to widen it)" in proc.stderr, proc.stderr
    widened = _run(["render", "--root", str(tmp_path), str(repo / "cluster" / "mesh")], tmp_path / "repo")
    assert widened.returncode == 0, widened.stderr


def test_outside_any_repository_the_root_is_the_paths_directory(tmp_path: Path) -> None:
    app = tmp_path / "plain" / "app"
    app.mkdir(parents=True)
    (tmp_path / "plain" / "base.yaml").write_text(BASE)
    (app / "mesh.yaml").write_text(DOC % "../base.yaml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = _run(["render", str(app)], elsewhere)
    assert proc.returncode == 1
    assert "outside the root ../plain/app (the directory of ../plain/app/;" in proc.stderr, proc.stderr
    assert _run(["render", "--root", str(tmp_path / "plain"), str(app)], elsewhere).returncode == 0
    env_root = dict(os.environ, MESHFED_ROOT=str(tmp_path / "plain"))
    assert subprocess.run([str(MESHFED), "render", str(app)], cwd=elsewhere, env=env_root,
                          capture_output=True).returncode == 0


def test_paths_in_two_repositories_need_a_root(repo: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    (other / "app").mkdir(parents=True)
    (other / "app" / "mesh.yaml").write_text(DOC % "../base.yaml")
    (other / "base.yaml").write_text(BASE)
    _git_init(other)
    proc = _run(["render", str(repo / "cluster" / "mesh"), str(other / "app")], tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "different git work trees" in proc.stderr and "give --root" in proc.stderr


def test_federation_commands_take_the_root_of_their_paths(tmp_path: Path) -> None:
    """scaffold and import, with absolute paths, from inside another repository."""
    top = tmp_path / "gitops"
    (top / "base").mkdir(parents=True)
    (top / "base" / "mesh.yaml").write_text(BASE)
    (top / "fed").mkdir()
    (top / "fed" / "federation.yaml").write_text(
        "apiVersion: meshfed.io/v1alpha1\nkind: Federation\nmetadata: {name: f}\nspec:\n  layout: v2\n"
        "  base: [../base/mesh.yaml]\n  meshes:\n  - {name: a-mesh, network: a-net, cluster: a, "
        "gateway: {addresses: [192.0.2.1], port: 15443}}\n  - {name: b-mesh, network: b-net, cluster: b}\n"
        "  services:\n  - hostname: ratings.mesh.global\n"
        "    exports: [{mesh: a-mesh, namespace: bookinfo, labelSelector: {app: ratings}}]\n"
        "    imports: [{mesh: b-mesh, namespace: bookinfo}]\n")
    _git_init(top)
    other = tmp_path / "other"
    other.mkdir()
    _git_init(other)
    scaffold = _run(["federation", "scaffold", str(top / "fed" / "federation.yaml"), "--out", str(top / "apps")], other)
    assert scaffold.returncode == 0, scaffold.stderr
    explained = _run(["explain", "ratings.mesh.global", "--cluster", "b", str(top / "fed" / "federation.yaml")], other)
    assert explained.returncode == 0, explained.stderr


def test_import_takes_the_root_of_its_paths(repo: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    _git_init(other)
    (repo / "cluster" / "bookinfo").mkdir()
    (repo / "cluster" / "bookinfo" / "bookinfo.yaml").write_text(
        "apiVersion: meshfed.io/v1alpha1\nkind: MeshFederation\nmetadata: {name: bookinfo, namespace: bookinfo}\n"
        "spec:\n  scope: namespace\n  base: [../mesh/mesh.yaml]\n  values:\n"
        "    export: [{hostname: ratings.mesh.global, labelSelector: {app: ratings}}]\n")
    imported = _run(["federation", "import", str(repo)], other)
    assert imported.returncode == 0, imported.stderr
    assert "kind: Federation" in imported.stdout
