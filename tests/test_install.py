"""meshfed installs as users install it: a regular (non-editable) wheel built from the checkout,
with `pip install .` and with `pipx install .`, into fresh environments. The installed command
knows its version, renders, and finds its package data (schemas, bundled CRDs)."""
from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from conftest import REPO, source_copy

CASE = REPO / "tests" / "cases" / "f01-weights-three-meshes"
VERSION = next(line.split('"')[1] for line in (REPO / "pyproject.toml").read_text().splitlines()
               if line.startswith("version = "))


def _run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _check_installed(meshfed: Path, work: Path) -> None:
    assert _run([str(meshfed), "--version"]).stdout == f"meshfed {VERSION}\n"
    rendered = _run([str(meshfed), "render", "-f", str(CASE / "values.yaml")], cwd=work)
    assert rendered.stdout == (CASE / "expected.out").read_text()
    schema = _run([str(meshfed), "schema"])
    assert '"MeshFederation"' in schema.stdout
    python = meshfed.resolve().parent / "python"  # pipx links the command from its own venv
    found = _run([str(python), "-c", "import meshfed.clustercheck as c; print(c.BUNDLED_CRDS)"])
    crds = Path(found.stdout.strip())
    assert "site-packages" in str(crds) and sorted(p.name for p in crds.glob("*.yaml")) == [
        "gateway-api-v1.6.1-gateways.yaml", "istio-1.30.3-crds.yaml", "openshift-route-v1.crd.yaml"]


def test_pip_install_from_a_clone(tmp_path: Path) -> None:
    src = source_copy(tmp_path / "src")
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=True)
    pip = env_dir / "bin" / "pip"
    _run([str(pip), "install", "-q", "--disable-pip-version-check", str(src)])
    _run([str(pip), "show", "-f", "meshfed"])  # a regular install: no editable finder
    assert not list((env_dir / "lib").glob("python*/site-packages/__editable__*meshfed*"))
    _check_installed(env_dir / "bin" / "meshfed", tmp_path)


def test_pipx_install_from_a_clone(tmp_path: Path) -> None:
    pipx = Path(sys.executable).with_name("pipx")
    if not pipx.exists():
        pytest.skip("pipx is not installed in the test environment")
    src = source_copy(tmp_path / "src")
    env = {**os.environ, "PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(tmp_path / "bin"),
           "PIPX_MAN_DIR": str(tmp_path / "man")}
    _run([str(pipx), "install", str(src)], env=env)
    _check_installed(tmp_path / "bin" / "meshfed", tmp_path)
