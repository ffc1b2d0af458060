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
