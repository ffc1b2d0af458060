"""The CMP emulator itself (tests/support/cmp_emulator.py) behaves as argocd-cmp.md describes.

These pin the emulator's fidelity, so that the plugin tests that rely on it mean something."""
from __future__ import annotations

import json
import os
import stat
import sys
import textwrap
import time
from pathlib import Path

import pytest

from support import cmp_emulator as cmp


def write(path: Path, text: str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    os.chmod(path, mode)
    return path


# ---- plugin.yaml loading and validation


def test_plugin_config_keys_case_insensitive_unknown_ignored(tmp_path):
    cfg = cmp.load_plugin_config(write(tmp_path / "plugin.yaml", """\
        apiVersion: argoproj.io/v1alpha1
        kind: ConfigManagementPlugin
        metadata: {name: p}
        spec:
          Version: "v1.0"
          lockRepo: true
          generate: {COMMAND: [sh, -c], args: [echo hi]}
          discover: {filename: "*.yaml"}
        ---
        kind: ignored second document
        """))
    assert cfg.socket_name == "p-v1.0"
    assert cfg.argv(cfg.spec["generate"]) == ["sh", "-c", "echo hi"]
    assert cfg.spec["discover"]["fileName"] == "*.yaml"


@pytest.mark.parametrize("body, message", [
    ("kind: ConfigManagementPlugin\nmetadata: {name: ''}\nspec: {generate: {command: [x]}}",
     "metadata.name should be non-empty"),
    ("kind: Plugin\nmetadata: {name: p}\nspec: {generate: {command: [x]}}",
     "kind should be ConfigManagementPlugin, found Plugin"),
    ("kind: ConfigManagementPlugin\nmetadata: {name: p}\nspec: {generate: {args: [x]}}",
     "spec.generate command should be non-empty"),
    ("kind: ConfigManagementPlugin\nmetadata: {name: p}\nspec: {version: 1.0, generate: {command: [x]}}",
     "cannot unmarshal number"),
    ("kind: ConfigManagementPlugin\nmetadata: {name: p}\nspec: {preserveFileMode: 'true', generate: {command: [x]}}",
     "cannot unmarshal string"),
    ("kind: ConfigManagementPlugin\nmetadata: {name: p}\nspec: {generate: {command: [x, 1]}}",
     "cannot unmarshal number"),
])
def test_plugin_config_validation(tmp_path, body, message):
    with pytest.raises(cmp.PluginConfigError, match=message):
        cmp.load_plugin_config(write(tmp_path / "plugin.yaml", body))


# ---- environments


def test_generate_env_order_parameters_and_envsubst():
    app = cmp.Application(
        source_path="./apps/x/", dest_namespace="", revision="abcdef0123456789" * 2 + "abcdef01",
        kube_version="v1.30.2-eks-abc", api_versions=["v1/ConfigMap", "v1", "v1"],
        plugin=cmp.PluginSource(
            env=[("FOO", "ns=$ARGOCD_APP_NAMESPACE,${ARGOCD_APP_SOURCE_PATH},$$,$NOPE,$KUBE_VERSION"),
                 ("BAR", "$ARGOCD_ENV_FOO")],
            parameters=[{"name": "a-b", "string": "<&>"},
                        {"name": "m", "map": {"k.x": "v"}},
                        {"name": "arr", "array": ["1", "2"]}]))
    env = cmp.generate_env(app)
    names = [k for k, _ in env]
    assert names[:11] == ["ARGOCD_APP_NAME", "ARGOCD_APP_NAMESPACE", "ARGOCD_APP_PROJECT_NAME",
                          "ARGOCD_APP_REVISION", "ARGOCD_APP_REVISION_SHORT",
                          "ARGOCD_APP_REVISION_SHORT_8", "ARGOCD_APP_SOURCE_REPO_URL",
                          "ARGOCD_APP_SOURCE_PATH", "ARGOCD_APP_SOURCE_TARGET_REVISION",
                          "KUBE_VERSION", "KUBE_API_VERSIONS"]
    d = dict(env)
    assert d["ARGOCD_APP_NAMESPACE"] == ""  # kept, empty (v3.0+)
    assert d["ARGOCD_APP_SOURCE_PATH"] == "./apps/x/"  # raw
    assert d["ARGOCD_APP_REVISION_SHORT"] == "abcdef0"
    assert d["KUBE_VERSION"] == "1.30.2"
    assert d["KUBE_API_VERSIONS"] == "v1,v1/ConfigMap"
    assert d["ARGOCD_ENV_FOO"] == "ns=,./apps/x/,$,,1.30.2"
    assert d["ARGOCD_ENV_BAR"] == ""  # user variables cannot reference each other
    assert d["ARGOCD_APP_PARAMETERS"] == (
        '[{"name":"a-b","string":"\\u003c\\u0026\\u003e"},{"map":{"k.x":"v"},"name":"m"},'
        '{"array":["1","2"],"name":"arr"}]')
    assert d["PARAM_A_B"] == "<&>" and d["PARAM_M_K_X"] == "v"
    assert d["PARAM_ARR_0"] == "1" and d["PARAM_ARR_1"] == "2"
    assert names.index("ARGOCD_APP_PARAMETERS") < names.index("PARAM_A_B")


def test_parameters_env_has_only_four_base_variables():
    app = cmp.Application(source_path="x", plugin=cmp.PluginSource(
        env=[("E", "$ARGOCD_APP_NAMESPACE|$ARGOCD_APP_NAME")], parameters=None))
    env = dict(cmp.parameters_env(app))
    assert set(env) == {"ARGOCD_APP_NAME", "ARGOCD_APP_SOURCE_REPO_URL", "ARGOCD_APP_SOURCE_PATH",
                        "ARGOCD_APP_SOURCE_TARGET_REVISION", "ARGOCD_ENV_E",
                        "ARGOCD_APP_PARAMETERS"}
    assert env["ARGOCD_ENV_E"] == "|meshfed-app"
    assert env["ARGOCD_APP_PARAMETERS"] == "null"
    assert "ARGOCD_APP_PARAMETERS" not in dict(cmp.generate_env(
        cmp.Application(source_path="x", plugin=None)))


@pytest.mark.parametrize("text, expected", [
    ("$A${A}", "aa"), ("$$", "$"), ("${}x", "x"), ("${x", "x"), ("a$", "a$"), ("$-", ""),
    ("$1$@", ""), ("${A}B", "aB"), ("$AB", ""), ("$ x", "$ x"),
])
def test_go_expand(text, expected):
    assert cmp.envsubst(text, [("A", "a")]) == expected


def test_param_escape_is_per_rune():
    assert cmp.param_escape("straße.x-1") == "STRA_E_X_1"


def test_app_rel_path():
    assert cmp.app_rel_path("./apps/x/") == "apps/x"
    assert cmp.app_rel_path("") == "."
    assert cmp.app_rel_path("../../etc") == "etc"


# ---- splitting stdout


def test_split_yaml_separators_and_yaml11_scalars():
    out = cmp.split_yaml_to_json(
        "---\n# only a comment\n---\nkind: A\nv: y\nw: n\nt: 2024-01-01\ns: 1:20\nf: 1e3\n"
        "--- # trailing comment\nkind: B\n---\n")
    assert [json.loads(m) for m in out] == [
        {"kind": "A", "v": True, "w": False, "t": "2024-01-01", "s": "1:20", "f": 1000.0},
        {"kind": "B"}]


@pytest.mark.parametrize("bad", ["--- !tag\nkind: A\n", "kind: A\n----\nkind: B\n"])
def test_split_yaml_rejects_bad_separators(bad):
    with pytest.raises(cmp.CmpError, match="invalid Yaml document separator"):
        cmp.split_yaml_to_json(bad)


def test_split_json_stream_and_switch_to_yaml():
    assert cmp.split_yaml_to_json('{"kind":"A"}{"kind":"B"}\n') == ['{"kind":"A"}', '{"kind":"B"}']
    assert cmp.split_yaml_to_json('{"kind":"A"}\n---\nkind: B\n') == ['{"kind":"A"}', '{"kind":"B"}']
    assert cmp.split_yaml_to_json("") == []


def test_convert_and_normalise():
    objs = cmp.convert_manifests([
        '{"kind":"List","items":[{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a"}}]}',
        '{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"n","namespace":"x"}}',
        '{"kind":"ConfigMapList","items":null}',
    ])
    assert [o["kind"] for o in objs] == ["ConfigMap", "Namespace"]
    norm, warnings = cmp.normalize_targets(objs * 2, "dest")
    assert [o["metadata"].get("namespace") for o in norm] == ["dest", None]
    assert len(warnings) == 2
    with pytest.raises(cmp.CmpError, match="Object 'Kind' is missing"):
        cmp.convert_manifests(['{"apiVersion":"v1"}'])
    with pytest.raises(cmp.CmpError, match="cannot unmarshal string"):
        cmp.convert_manifests(['"hello"'])


# ---- matching


def test_go_glob_and_zglob(tmp_path):
    for rel in ("a/x.yaml", "a/.hidden.yaml", "a/b/y.yaml"):
        write(tmp_path / rel, "x: 1\n")
    assert [Path(p).name for p in cmp.go_glob(f"{tmp_path}/a/*.yaml")] == [".hidden.yaml", "x.yaml"]
    assert cmp.go_glob(f"{tmp_path}/a/missing.yaml") == []
    with pytest.raises(cmp.BadPattern):
        cmp.go_glob(f"{tmp_path}/a/[")
    assert sorted(Path(p).name for p in cmp.zglob(f"{tmp_path}/a/**/*.yaml")) == [
        ".hidden.yaml", "x.yaml", "y.yaml"]
    with pytest.raises(cmp.CmpError, match="file does not exist"):
        cmp.zglob(f"{tmp_path}/a/missing.yaml")


# ---- the private copy


def test_private_copy_modes_symlinks_and_exclusions(tmp_path):
    repo = tmp_path / "repo"
    write(repo / "apps/x/run.sh", "#!/bin/sh\n", 0o755)
    write(repo / ".git/HEAD", "ref\n")
    (repo / "apps/link").symlink_to("x")
    work = tmp_path / "work"
    work.mkdir()
    copy = cmp.make_private_copy(repo, work, exclusions=[".git"])
    assert stat.S_IMODE((copy / "apps/x/run.sh").stat().st_mode) == 0o644
    assert stat.S_IMODE((copy / "apps").stat().st_mode) == 0o755
    assert not (copy / ".git").exists()
    assert os.readlink(copy / "apps/link") == "x"
    kept = cmp.make_private_copy(repo, work, preserve_file_mode=True)
    assert stat.S_IMODE((kept / "apps/x/run.sh").stat().st_mode) == 0o755
    (repo / "escape").symlink_to("/etc")
    with pytest.raises(cmp.CmpError, match="out-of-bounds symlinks"):
        cmp.make_private_copy(repo, work)


def test_private_copy_needs_a_file(tmp_path):
    (tmp_path / "repo/empty").mkdir(parents=True)
    with pytest.raises(cmp.CmpError, match="no files to send"):
        cmp.make_private_copy(tmp_path / "repo", tmp_path)


# ---- running commands


def _py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_run_command_trims_one_newline_stdin_devnull_own_group(tmp_path):
    code = ("import os,sys; assert sys.stdin.read() == ''; "
            "print(os.getpgrp() == os.getpid()); print(os.getcwd()); print()")
    out = cmp.run_command(_py(code), tmp_path, {"PATH": os.environ["PATH"]}, time.monotonic() + 30)
    assert out == f"True\n{tmp_path}\n"


def test_run_command_error_text():
    with pytest.raises(cmp.CmpError) as err:
        cmp.run_command(_py("import sys; sys.stderr.write(' boom \\n'); sys.exit(3)"), Path("/"),
                        {}, time.monotonic() + 30)
    assert str(err.value) == (f'`{sys.executable} -c "import sys; sys.stderr.write(\' boom '
                              f'\\\\n\'); sys.exit(3)"` failed exit status 3: boom')
    with pytest.raises(cmp.CmpError, match='exec: "no-such-binary-x": executable file not found'):
        cmp.run_command(["no-such-binary-x"], Path("/"), {"PATH": "/nonexistent"},
                        time.monotonic() + 30)


def test_run_command_deadline_kills_the_group():
    start = time.monotonic()
    with pytest.raises(cmp.CmpError, match="signal: killed"):
        cmp.run_command(_py("import time; time.sleep(30)"), Path("/"), {}, start + 1.0,
                        kill_grace_s=0.5)
    assert time.monotonic() - start < 10


# ---- discovery and selection through a toy plugin


def test_emulator_with_a_toy_plugin(tmp_path):
    repo = tmp_path / "repo"
    write(repo / "apps/a/gen.yaml", "kind: ConfigMap\n")
    write(repo / "apps/b/other.txt", "x\n")
    plugin = write(tmp_path / "plugin.yaml", """\
        kind: ConfigManagementPlugin
        metadata: {name: toy}
        spec:
          generate:
            command: [sh, -c]
            args: ['printf "apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: c}\\ndata: {v: $ARGOCD_ENV_V}\\n"']
          discover: {fileName: "gen.yaml"}
        """)
    emu = cmp.CmpEmulator(plugin, tmp_root=tmp_path / "tmp",
                          sidecar_env={"PATH": os.environ["PATH"]})
    app = cmp.Application(source_path="apps/a", dest_namespace="ns",
                          plugin=cmp.PluginSource(name="toy", env=[("V", "y")]))
    result = emu.generate(repo, app)
    assert result.objects == [{"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "c", "namespace": "ns"},
                               "data": {"v": True}}]  # an unquoted y is a boolean to Argo CD
    assert emu.discover(repo, app)
    assert not emu.discover(repo, cmp.Application(source_path="apps/b", plugin=None))
    with pytest.raises(cmp.CmpError, match='could not find cmp-server plugin with name "toy"'):
        emu.generate(repo, cmp.Application(source_path="apps/b",
                                           plugin=cmp.PluginSource(name="toy")))
    with pytest.raises(cmp.NotDetected):
        emu.generate(repo, cmp.Application(source_path="apps/b", plugin=None))
    assert list((tmp_path / "tmp/_cmp_server").iterdir()) == []  # workdirs removed
