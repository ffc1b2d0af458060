"""The fast entry (meshfed.routes.fastcli, used by `meshfed.__main__`) and the typer app (meshfed.routes.cli)
agree: same stdout, stderr and exit code for every argument list; and the fast path does not
import typer, click, pydantic, rich or the validation extras."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from meshfed.routes.fastcli import parse
from meshfed.routes.flags import RenderArgs, parse_render

FAST = "import sys; sys.argv[0] = 'meshfed'; from meshfed.__main__ import main; main()"
TYPER = "import sys; sys.argv[0] = 'meshfed'; from meshfed.routes.cli import app; app()"

MESH = """\
global:
  configNamespace: istio-system
  egressGateway:
    enabled: true
    selector:
      istio: egressgateway
  defaultServicePorts:
  - number: 9080
    name: http
    protocol: HTTP
  remote:
  - mesh: west-mesh
    addresses: [192.168.2.10, 192.168.2.11]
    port: 15443
    network: west-network
    locality: us-west-1
    importedServices: [httpbin.mesh.global, ratings.mesh.global]
"""
NAMESPACE = """\
import:
- hostname: ratings.mesh.global
- hostname: httpbin.mesh.global
  ports: [{number: 8000, name: http, protocol: HTTP}]
export:
- hostname: productpage.mesh.global
  labelSelector: {app: productpage}
"""
DOCUMENT = """\
apiVersion: meshfed.io/v1alpha1
kind: MeshFederation
metadata:
  name: bookinfo
  namespace: bookinfo
spec:
  scope: namespace
  layout: v2
  values:
    global:
      remote:
      - mesh: west-mesh
        network: west-network
        addresses: [198.51.100.10]
        importedServices: [ratings.mesh.global]
    import:
    - hostname: ratings.mesh.global
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("fastcli")
    (d / "mesh.yaml").write_text(MESH)
    (d / "ns.yaml").write_text(NAMESPACE)
    (d / "broken.yaml").write_text("global: [\n")
    (d / "docs").mkdir()
    (d / "docs" / "bookinfo.yaml").write_text(DOCUMENT)
    (d / "docs" / "kustomization.yaml").write_text("resources: []\n")
    (d / ".git").mkdir()  # the root `base` paths may not leave
    return d


def run(code: str, args: list[str], cwd: Path, stdin: str = "") -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MESHFED_", "ARGOCD_"))}
    env["COLUMNS"] = "100"
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, input=stdin, capture_output=True,
                          text=True, env=env, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


MATRIX = [
    ["render", "-f", "mesh.yaml"],
    ["render", "--scope", "all", "-f", "mesh.yaml", "-f", "ns.yaml"],
    ["render", "--scope=namespace", "--values=mesh.yaml", "--values", "ns.yaml", "-o", "json"],
    ["render", "-fmesh.yaml", "-fns.yaml", "-ojson", "--scope", "mesh", "--scope", "all"],
    ["render", "-f", "mesh.yaml", "-f", "ns.yaml", "--scope", "namespace", "-n", "bookinfo", "--layout", "v1"],
    ["render", "--namespace=apps", "--scope", "all", "--output=yaml", "-f", "mesh.yaml", "--root", "."],
    ["render", "-f", "mesh.yaml", "--layout", "v2"],  # v1 keys with layout v2: errors, exit 1
    ["render", "docs"],
    ["render", "docs/bookinfo.yaml", "-o", "json"],
    ["render", "--", "docs/bookinfo.yaml"],
    ["render", "docs", "-f", "ns.yaml", "--scope", "all"],
    ["render", "missing.yaml"],
    ["render", "-f", "missing.yaml"],
    ["render", "-f", "broken.yaml"],
    ["render", "docs/kustomization.yaml"],
    # helm's value flags (every kind, both spellings) and switches, as meshfed.routes.flags declares them
    ["render", "-f", "mesh.yaml", "--set", "global.remote[0].port=16443", "--set-string=global.configNamespace=x",
     "--set-json", "global.remote[0].addresses=[\"10.0.0.1\"]", "--set-literal", "global.remote[0].network=n,1"],
    ["render", "-f", "mesh.yaml", "--set", "global.remote[x].port=1"],
    ["render", "-f", "mesh.yaml", "--set-file", "global.configNamespace=missing.txt"],
    ["render", "-f", "mesh.yaml", "--allow-empty", "--scope", "namespace"],
    ["render", "-f", "mesh.yaml", "--allow-empty=yes"],
    # usage errors and help: typer's own messages, exit 2 (or 0 for help)
    ["render"],
    ["render", "--help"],
    ["render", "-f", "mesh.yaml", "-h"],
    ["render", "--scope", "bogus", "-f", "mesh.yaml"],
    ["render", "--scope", "Mesh", "-f", "mesh.yaml"],
    ["render", "-n", "Not_A_Label", "-f", "mesh.yaml"],
    ["render", "-f"],
    ["render", "-f", "mesh.yaml", "--output"],
    ["render", "--bogus", "-f", "mesh.yaml"],
    ["render", "-x", "-f", "mesh.yaml"],
    ["render", "-f", "", "--scope", "mesh"],
    ["render", "-f", "-", "--scope", "mesh"],
    ["render", "-f", "--scope", "mesh"],
    ["render", "--values", "mesh.yaml", "--layout="],
    ["krm", "extra"],
    ["argocd", "bogus"],
    ["argocd"],
    ["argocd", "discover", "extra"],
    [],
    ["--help"],
    ["bogus"],
]


@pytest.mark.parametrize("args", MATRIX, ids=lambda a: " ".join(a) or "(none)")
def test_fast_path_and_typer_agree(workdir: Path, args: list[str]) -> None:
    fast = run(FAST, args, workdir)
    slow = run(TYPER, args, workdir)
    assert fast == slow


KRM_INPUT = """\
apiVersion: config.kubernetes.io/v1
kind: ResourceList
items: []
functionConfig:
  apiVersion: meshfed.io/v1alpha1
  kind: MeshFederation
  metadata:
    name: seed
    annotations:
      config.kubernetes.io/function: |
        container:
          image: meshfed
  spec:
    scope: all
    layout: v1
    values:
      global:
        egressGateway: {enabled: true, selector: {istio: egressgateway}}
        remote:
        - {mesh: west, network: west-net, addresses: [192.168.2.10], port: 15443, importedServices: [a.mesh.global]}
      import:
      - hostname: a.mesh.global
        ports: [{number: 80, name: http, protocol: HTTP}]
"""


@pytest.mark.parametrize("args,stdin", [
    (["krm"], KRM_INPUT),
    (["krm"], "kind: NotAList\n"),
    (["krm"], ""),
    (["argocd", "discover"], ""),
    (["argocd", "parameters"], ""),
    (["argocd", "generate"], ""),
    (["kustomize-plugin", "bookinfo.yaml"], ""),
    (["kustomize-plugin", "missing.yaml"], ""),
], ids=["krm", "krm-invalid", "krm-empty", "argocd-discover", "argocd-parameters", "argocd-generate",
        "kustomize-plugin", "kustomize-plugin-missing"])
def test_adapters_agree(workdir: Path, args: list[str], stdin: str) -> None:
    cwd = workdir / "docs"
    assert run(FAST, args, cwd, stdin) == run(TYPER, args, cwd, stdin)


PROBE = """\
import io, json, sys
sys.argv = ['meshfed', *sys.argv[1:]]
out, sys.stdout = sys.stdout, io.StringIO()
from meshfed.__main__ import main
try:
    main()
except SystemExit as exc:
    code = exc.code
text, sys.stdout = sys.stdout.getvalue(), out
print(json.dumps({"code": code, "bytes": len(text), "modules": sorted(sys.modules)}))
"""
HEAVY = ("typer", "click", "pydantic", "pydantic_core", "rich", "jsonschema", "celpy", "cel", "shellingham")


@pytest.mark.parametrize("args,stdin", [
    (["render", "--scope", "all", "-f", "mesh.yaml", "-f", "ns.yaml"], ""),
    (["render", "-o", "json", "-f", "mesh.yaml"], ""),
    (["krm"], KRM_INPUT),
], ids=["render-yaml", "render-json", "krm"])
def test_hot_path_imports_no_cli_framework(workdir: Path, args: list[str], stdin: str) -> None:
    code, out, err = run(PROBE, args, workdir, stdin)
    assert code == 0, err
    report = json.loads(out)
    assert report["code"] == 0 and report["bytes"] > 0
    loaded = {m.split(".")[0] for m in report["modules"]}
    assert not loaded & set(HEAVY)


def test_help_still_reaches_typer(workdir: Path) -> None:
    code, out, _ = run(FAST, ["render", "--help"], workdir)
    assert code == 0 and "Usage: meshfed render" in out and "--values" in out


def test_parse_render() -> None:
    assert parse_render(["-f", "a.yaml", "--scope=all", "-ojson", "x", "-n", "ns", "--layout", "v1",
                         "--root", ".", "-fb.yaml", "--", "-c"]) == \
        RenderArgs(["x", "-c"], values=["a.yaml", "b.yaml"], scope="all", namespace="ns", layout="v1", output="json",
                   root=".")
    assert parse_render(["--values", "a.yaml"]) == RenderArgs([], values=["a.yaml"], scope=None, namespace=None,
                                                              layout=None, output="yaml", root=None)
    assert parse_render(["--scope", "all", "--scope", "mesh", "d"]).scope == "mesh"
    for declined in ([], ["-h"], ["--help", "x"], ["-f"], ["--scope", "x", "d"], ["--output", "xml", "d"],
                     ["-n", "UPPER", "d"], ["--unknown", "d"], ["-z", "d"], ["-f", "", "d"], ["-", "-f", "a"],
                     ["-f", "--scope", "d"], ["d", "--root"], ["--values="], ["d", "--root", "/nonexistent"]):
        assert parse_render(declined) is None, declined


def test_parse_commands() -> None:
    assert parse(["krm"]) is not None
    assert parse(["argocd", "generate"]) is not None
    assert parse(["kustomize-plugin", "/tmp/kust-plugin-config-1"]) is not None
    for declined in ([], ["krm", "x"], ["argocd"], ["argocd", "x"], ["validate", "-f", "a"], ["--help"],
                     ["schema"], ["render", "--help"], ["kustomize-plugin"], ["kustomize-plugin", "--help"],
                     ["kustomize-plugin", "a", "b"]):
        assert parse(declined) is None, declined
