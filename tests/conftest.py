"""Shared test fixtures: where the repository and the pinned tools are, and a copy of the checkout."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MESHFED = Path(sys.executable).with_name("meshfed")


def _kubectl() -> Path | None:
    env = os.environ.get("KUBECTL")
    candidates = [Path(env)] if env else []
    candidates.append(REPO / ".tools" / "bin" / "kubectl")
    return next((c for c in candidates if c.is_file() and os.access(c, os.X_OK)), None)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def meshfed_bin() -> Path:
    return MESHFED


@pytest.fixture(scope="session")
def kubectl() -> Path:
    path = _kubectl()
    if path is None:
        pytest.skip("pinned kubectl not found: run `make tools` or set KUBECTL")
    return path


def source_copy(dest: Path) -> Path:
    """The files of the checkout git knows or would add (no .venv, no build leftovers), copied to
    `dest` as a clone would have them: what users install from, work-tree changes included."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    return dest


UNEXPORTED_IMPORT = "imports reviews.mesh.global from mesh east-mesh, but east"


def add_unexported_import(repo: Path) -> None:
    """Add to a copy of overlays/ what only the whole federation shows wrong (`meshfed check`
    reports UNEXPORTED_IMPORT): a new cluster's document, valid on its own, that imports reviews
    from east, which does not export it."""
    doc = repo / "overlays/north/mesh/mesh.yaml"
    doc.parent.mkdir(parents=True)
    doc.write_text("""apiVersion: meshfed.io/v1alpha1
kind: MeshFederation
metadata:
  name: north-mesh
  namespace: istio-system
spec:
  scope: mesh
  layout: v2
  mesh:
    name: north-mesh
    network: north-network
  base:
  - ../../base/mesh.yaml
  values:
    global:
      remote:
      - mesh: east-mesh
        network: east-network
        addresses:
        - 192.0.2.10
        importedServices:
        - reviews.mesh.global
""")


# --- the fast tier (`make test-fast`: `-m "not slow"`) ------------------------------------------
# Test files whose tests start processes (the console script, kubectl, helm, kpt, git, pip...) are
# marked `slow` as a whole. In the fast tier, any other test that starts a process is skipped at
# that moment ("starts a process"), so the fast tier never runs an external tool whatever this list
# says; `make test` runs everything.
SLOW_FILES = frozenset({
    "test_argocd_cmp.py", "test_bench_outputs.py", "test_bench_outputs_stable.py", "test_ci_recipe.py",
    "test_cleanup.py", "test_diff.py", "test_dockerfile.py", "test_federation.py", "test_federation_import.py",
    "test_golden.py", "test_hooks.py", "test_install.py", "test_kpt.py", "test_krm_conformance.py",
    "test_kustomize.py", "test_kustomize_execplugin.py", "test_readme.py", "test_schema_cli.py",
    "test_self_contained.py", "test_startup.py",
})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)


def _fast_tier(config: pytest.Config) -> bool:
    return "not slow" in (config.getoption("markexpr") or "")


@pytest.fixture(autouse=True)
def _no_process_in_the_fast_tier(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if not _fast_tier(request.config):
        return

    def refuse(self: subprocess.Popen, *args: object, **options: object) -> None:
        pytest.skip("starts a process: run by `make test`")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
