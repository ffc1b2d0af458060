"""`meshfed kustomize-plugin CONFIG` invoked the way kustomize invokes a legacy exec plugin
(krm.md §4.2), without kustomize: argv[1] is a re-serialised temp copy of the config (keys
sorted), cwd and KUSTOMIZE_PLUGIN_CONFIG_ROOT are the kustomization directory, stdin is an empty
pipe for a generator and a YAML stream for a transformer."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from support import REPO, meshfed_executable
from support.cmp_emulator import GoYamlLoader

MESHFED = meshfed_executable()
WRAPPER = REPO / "kustomize/plugin/meshfed.io/v1alpha1/meshfederation/MeshFederation"


def plugin(app: Path, config_text: str, tmp: Path, stdin: str = "", via_wrapper: bool = False,
           extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    config = tmp / "kust-plugin-config-123"
    config.write_text(config_text)
    env = {**os.environ, "KUSTOMIZE_PLUGIN_CONFIG_ROOT": str(app),
           "KUSTOMIZE_PLUGIN_CONFIG_STRING": config_text, "MESHFED": str(MESHFED),
           **(extra_env or {})}
    argv = [str(WRAPPER), str(config)] if via_wrapper else [str(MESHFED), "kustomize-plugin",
                                                            str(config)]
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, cwd=app, env=env,
                          timeout=60)


def reserialised(path: Path) -> str:
    """What kustomize writes to the temp file: the config with sorted keys, no comments."""
    return yaml.safe_dump(yaml.safe_load(path.read_text()), sort_keys=True)


def objects(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.load_all(text, Loader=GoYamlLoader) if d is not None]


def canon(objs: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(o, sort_keys=True) for o in objs)


def test_generator_output_equals_render(tmp_path):
    app = REPO / "overlays/central/bookinfo"
    for via_wrapper in (False, True):
        proc = plugin(app, reserialised(app / "bookinfo.yaml"), tmp_path, via_wrapper=via_wrapper)
        assert proc.returncode == 0, proc.stderr
        rendered = subprocess.run([str(MESHFED), "render", str(app)], capture_output=True,
                                  text=True, timeout=60)
        assert proc.stdout == rendered.stdout  # same bytes, same order
        assert objects(proc.stdout)


def test_error_goes_to_stderr_with_the_file_name(tmp_path):
    app = REPO / "overlays/east/bookinfo"
    doc = yaml.safe_load((app / "bookinfo.yaml").read_text())
    doc["spec"]["values"] = {"export": [{"hostname": "ratings.mesh.global", "labelSelector": {"app": "-bad-"}}]}
    proc = plugin(app, yaml.safe_dump(doc, sort_keys=True), tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith("bookinfo.yaml: spec.values.export[0].labelSelector.app")


def test_bad_configs(tmp_path):
    app = REPO / "overlays/east/bookinfo"
    for text, message in (("kind: ConfigMap\napiVersion: v1\n", "must be one MeshFederation"),
                          ("a: [b\n", "invalid YAML")):
        proc = plugin(app, text, tmp_path)
        assert proc.returncode == 1 and proc.stdout == ""
        assert message in proc.stderr
    missing = subprocess.run([str(MESHFED), "kustomize-plugin", str(tmp_path / "nope")],
                             capture_output=True, text=True, cwd=app, timeout=60,
                             env={**os.environ, "KUSTOMIZE_PLUGIN_CONFIG_STRING": ""})
    assert missing.returncode == 1 and "nope: no such file" in missing.stderr


def test_transformer_use_is_refused(tmp_path):
    app = REPO / "overlays/east/bookinfo"
    proc = plugin(app, reserialised(app / "bookinfo.yaml"), tmp_path,
                  stdin="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    assert proc.returncode == 1 and proc.stdout == ""
    assert "list it under `generators:`" in proc.stderr


def test_root_limits_bases(tmp_path):
    app = REPO / "overlays/east/mesh"
    proc = plugin(app, reserialised(app / "mesh.yaml"), tmp_path,
                  extra_env={"MESHFED_ROOT": str(app)})
    assert proc.returncode == 1
    assert "resolves outside the root" in proc.stderr
