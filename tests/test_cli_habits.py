"""helm's and kubectl's habits on the command line: `--crds PATH` always takes its value and
validates (it implies `--check`), never swallowing a following DIR; `--output-dir DIR` writes one
file per object through the safe writer, all or nothing, the same through the fast path and typer."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from meshfed.routes.cli import app

REPO = Path(__file__).resolve().parent.parent
MESHFED = Path(sys.executable).parent / "meshfed"
APP = REPO / "overlays" / "east" / "mesh"
CRDS = REPO / "plugin" / "meshfed" / "crds"


def meshfed(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MESHFED_", "ARGOCD_"))}
    return subprocess.run([str(MESHFED), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_crds_that_do_not_exist_are_a_usage_error_before_rendering() -> None:
    for args in (["render", str(APP), "--crds", "/nonexistent"], ["validate", "--crds", "/nonexistent", str(APP)]):
        proc = meshfed(*args)
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout == "" and "'/nonexistent': no such file or directory" in proc.stderr


def test_crds_never_swallows_a_directory() -> None:
    proc = meshfed("render", "--crds", str(CRDS), str(APP))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == meshfed("render", str(APP)).stdout != ""
    bare = meshfed("render", str(APP), "--crds")
    assert bare.returncode == 2 and "requires an argument" in bare.stderr and bare.stdout == ""


def test_crds_implies_check(tmp_path: Path) -> None:
    """CRDs that serve no version of the emitted kinds reject the output: validation did run."""
    (tmp_path / "none.yaml").write_text("{}\n")
    empty = meshfed("render", str(APP), "--crds", str(tmp_path))
    assert empty.returncode == 1 and empty.stdout == "" and empty.stderr
    checked = meshfed("validate", "--check", str(APP))
    assert checked.returncode == 0 and "valid:" in checked.stderr


def _split(stream: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(stream) if d]


@pytest.mark.parametrize("route", ["fast", "typer"])
def test_output_dir_writes_one_file_per_object(tmp_path: Path, route: str, monkeypatch: pytest.MonkeyPatch) -> None:
    apps = [str(REPO / "overlays" / "central" / name) for name in ("mesh", "bookinfo")]
    out = tmp_path / "out"
    if route == "fast":
        proc = meshfed("render", *apps, "--output-dir", str(out), cwd=tmp_path)
        code, stdout = proc.returncode, proc.stdout
        assert proc.stderr == ""
    else:
        monkeypatch.chdir(tmp_path)
        result = CliRunner().invoke(app, ["render", *apps, "--output-dir", "out"])
        code, stdout = result.exit_code, result.stdout
    assert code == 0
    stream = meshfed("render", *apps).stdout
    objects = _split(stream)
    names = sorted(p.name for p in out.iterdir())
    assert sorted(Path(line).name for line in stdout.splitlines()) == names and len(names) == len(objects)
    for obj in objects:
        group, version = obj["apiVersion"].split("/")
        meta = obj["metadata"]
        name = f"{group}_{version}_{obj['kind']}_{meta['namespace']}_{meta['name']}.yaml".lower()
        assert _split((out / name).read_text("utf-8")) == [obj]
    assert "".join((out / n).read_text("utf-8") for n in names) != ""
    again = meshfed("render", *apps, "--output-dir", str(out), cwd=tmp_path)  # nothing changed: nothing written
    assert (again.returncode, again.stdout) == (0, "")


def test_output_dir_is_all_or_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    planted = out / "gateway.networking.k8s.io_v1beta1_gateway_istio-system_remote-gateway-west-network.yaml"
    planted.symlink_to(tmp_path / "elsewhere.yaml")
    apps = [str(REPO / "overlays" / "central" / name) for name in ("mesh", "bookinfo")]  # 12 objects
    proc = meshfed("render", *apps, "--output-dir", str(out), cwd=tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "is a symbolic link: meshfed never writes through one" in proc.stderr
    assert [p.name for p in out.iterdir()] == [planted.name] and not (tmp_path / "elsewhere.yaml").exists()


def test_output_dir_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    proc = meshfed("render", str(APP), "--output-dir", str(tmp_path / "file"))
    assert proc.returncode == 2 and "is not a directory" in proc.stderr and proc.stdout == ""


def test_output_dir_json(tmp_path: Path) -> None:
    proc = meshfed("render", str(APP), "-o", "json", "--output-dir", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [written] = list((tmp_path / "out").iterdir())
    assert written.name == "networking.istio.io_v1beta1_gateway_istio-system_cross-network-gateway.json"
    assert written.read_text("utf-8").startswith('{"apiVersion":"networking.istio.io/v1beta1"')


def test_values_name_the_federation_a_value_was_derived_from() -> None:
    proc = meshfed("values", "overlays/east/bookinfo", "--show-origin")
    assert proc.returncode == 0, proc.stderr
    shown = yaml.safe_load(proc.stdout)
    assert shown["export"]["file"] == "overlays/federation.yaml" and shown["export"]["field"].startswith("spec.services")
    assert shown["global.configNamespace"] == {"value": "istio-system", "file": "overlays/base/mesh.yaml",
                                               "field": "global.configNamespace"}
    plain = yaml.safe_load(meshfed("values", "overlays/east/bookinfo").stdout)
    assert plain["export"] == shown["export"]["value"] and plain["global"]["configNamespace"] == "istio-system"
    broken = meshfed("values", "-f", "/nonexistent.yaml")
    assert broken.returncode == 1 and broken.stdout == "" and "no such file" in broken.stderr
