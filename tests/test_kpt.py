"""`meshfed krm` through the real kpt (on PATH): items in, items out.

`kpt fn eval --exec` in place and `kpt fn render` of a Kptfile pipeline, each run twice: the
source MeshFederation stays, the generated objects land beside it, and the second run leaves the
package exactly as the first left it. Skipped where kpt is absent.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from support import REPO, app_dirs, meshfed_executable

KPT = shutil.which("kpt")
pytestmark = pytest.mark.skipif(KPT is None, reason="kpt is not installed")

DOCUMENT = """\
apiVersion: meshfed.io/v1alpha1
kind: MeshFederation
metadata:
  name: team
  namespace: team-a
  annotations: {config.kubernetes.io/local-config: "true"}
spec:
  scope: namespace
  layout: v2
  base: [base/values.yaml]
  values:
    export: [{hostname: a.mesh.global, labelSelector: {app: a}}]
"""
BASE = """\
global:
  defaultServicePorts: [{number: 80, name: http, protocol: HTTP}]
  local: {export: [{hostname: a.mesh.global}]}
"""


def _package(tmp_path: Path, pipeline: str = "") -> Path:
    pkg = tmp_path / "pkg"
    (pkg / "base").mkdir(parents=True)
    (pkg / "Kptfile").write_text("apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: pkg\n  annotations:\n"
                                 "    config.kubernetes.io/local-config: \"true\"\n" + pipeline)
    (pkg / "mf.yaml").write_text(DOCUMENT)
    # A plain values file is no KRM resource: kpt must not see it, meshfed reads it as a base.
    (pkg / ".krmignore").write_text("base/\n")
    (pkg / "base/values.yaml").write_text(BASE)
    return pkg


def _kpt(pkg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{meshfed_executable().parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("MESHFED_ROOT", None)
    proc = subprocess.run([KPT, "fn", *args], cwd=pkg, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _snapshot(pkg: Path) -> dict[str, str]:
    return {str(p.relative_to(pkg)): p.read_text() for p in sorted(pkg.rglob("*")) if p.is_file()}


def _check(pkg: Path, first: dict[str, str]) -> None:
    assert set(first) == {"Kptfile", ".krmignore", "base/values.yaml", "mf.yaml", "mf.generated.yaml"}
    source = yaml.safe_load(first["mf.yaml"])
    assert source["kind"] == "MeshFederation" and source["spec"]["base"] == ["base/values.yaml"]
    [entry] = yaml.safe_load_all(first["mf.generated.yaml"])
    assert entry["kind"] == "ServiceEntry" and entry["metadata"]["namespace"] == "team-a"
    assert entry["metadata"]["annotations"] == {"meshfed.io/generated-from": "mf.yaml"}
    assert entry["spec"]["ports"] == [{"number": 80, "name": "http", "protocol": "HTTP"}]


def test_eval_in_place_twice(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    _kpt(pkg, "eval", ".", "--exec", "meshfed krm")
    first = _snapshot(pkg)
    _check(pkg, first)
    _kpt(pkg, "eval", ".", "--exec", "meshfed krm")
    assert _snapshot(pkg) == first


def test_render_pipeline_twice(tmp_path: Path) -> None:
    pkg = _package(tmp_path, "pipeline:\n  mutators:\n  - exec: meshfed krm\n    configPath: mf.yaml\n")
    _kpt(pkg, "render", "--allow-exec")
    first = _snapshot(pkg)
    _check(pkg, first)
    _kpt(pkg, "render", "--allow-exec")
    assert _snapshot(pkg) == first


OTHER = """\
# A resource meshfed does not own: kpt must get it back as it was.
apiVersion: example.com/v1
kind: Settings
metadata:
  name: other # a trailing comment
spec:
  rate: 1e3
  mode: 0o17
  since: 2001-12-14
  flag: yes
  text: |
    kept
     as is
"""


def test_items_passed_through_keep_comments_and_spelling(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    (pkg / "other.yaml").write_text(OTHER)
    _kpt(pkg, "eval", ".", "--exec", "meshfed krm")
    assert (pkg / "other.yaml").read_text() == OTHER
    assert (pkg / "mf.yaml").read_text() == DOCUMENT


# --------------------------------------------------------------------------------------------
# The example repository overlays/ as a kpt package (its Kptfile and .krmignore): several
# clusters' application directories, a Federation they name, plain values files as its base.


def _overlays(tmp_path: Path) -> Path:
    """A git repository holding a copy of overlays/, its path returned."""
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "overlays", repo / "overlays")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo / "overlays"


def _rendered(app: Path) -> list[dict]:
    proc = subprocess.run([str(meshfed_executable()), "render", str(app)], capture_output=True, text=True,
                          timeout=120, cwd=app)
    assert proc.returncode == 0, proc.stderr
    return list(yaml.safe_load_all(proc.stdout))


def _check_overlays(pkg: Path) -> dict[str, str]:
    """Each application's objects beside its document, as `meshfed render` of the directory gives them."""
    first = _snapshot(pkg)
    generated = sorted(name for name in first if name.endswith(".generated.yaml"))
    assert generated == sorted(f"{app.relative_to(REPO / 'overlays')}/{app.name}.generated.yaml"
                               for app in app_dirs()), generated
    for name in generated:
        objects = list(yaml.safe_load_all(first[name]))
        for obj in objects:
            assert obj["metadata"].pop("annotations") == {"meshfed.io/generated-from": name.replace(".generated", "")}
        assert objects == _rendered(pkg / name.rsplit("/", 1)[0])
    # Only the annotation that keeps the documents from a cluster is added to them (their comments stay).
    mesh = first["east/mesh/mesh.yaml"]
    assert mesh.startswith("# Generated by `meshfed federation scaffold`")
    assert yaml.safe_load(mesh)["metadata"]["annotations"] == {"config.kubernetes.io/local-config": "true"}
    assert first["federation.yaml"].startswith("# yaml-language-server:")
    return first


@pytest.mark.parametrize("where", ["package", "parent", "child"])
def test_eval_overlays(tmp_path: Path, where: str) -> None:
    """From the package directory, its parent (`kpt fn eval overlays`) or a child (`kpt fn eval ..`):
    kpt gives the paths relative to the package and runs the function where it stands."""
    pkg = _overlays(tmp_path)
    cwd, target = {"package": (pkg, "."), "parent": (pkg.parent, "overlays"), "child": (pkg / "east", "..")}[where]
    _kpt(cwd, "eval", target, "--exec", "meshfed krm")
    first = _check_overlays(pkg)
    _kpt(cwd, "eval", target, "--exec", "meshfed krm")
    assert _snapshot(pkg) == first


def test_render_overlays_kptfile(tmp_path: Path) -> None:
    """The shipped Kptfile's pipeline, run from the repository root, twice."""
    pkg = _overlays(tmp_path)
    _kpt(pkg.parent, "render", "overlays", "--allow-exec")
    first = _check_overlays(pkg)
    _kpt(pkg.parent, "render", "overlays", "--allow-exec")
    assert _snapshot(pkg) == first


def test_eval_refuses_a_generated_object_an_input_item_holds(tmp_path: Path) -> None:
    """Input items that collide among themselves pass through (kpt accepts them); an object meshfed
    would add beside an item of the same identity is an error naming both, without a Python None."""
    pkg = _overlays(tmp_path)
    (pkg / "east/mesh/extra.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: cross-network-gateway\n"
        "  namespace: istio-system\nspec: {}\n")
    env = {**os.environ, "PATH": f"{meshfed_executable().parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([KPT, "fn", "eval", "overlays", "--exec", "meshfed krm", "--truncate-output=false"],
                          cwd=pkg.parent, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert ("Gateway.networking.istio.io istio-system/cross-network-gateway is emitted twice, by the input item "
            "east/mesh/extra.yaml and by east/mesh/mesh.yaml") in proc.stdout + proc.stderr
    assert "None" not in proc.stdout + proc.stderr
    assert not list(pkg.rglob("*.generated.yaml"))
