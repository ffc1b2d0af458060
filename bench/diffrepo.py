"""A GitOps repository of many clusters for timing `meshfed diff` (the D section of bench/run.py):
laid out like `overlays/` (a platform base, and per cluster a mesh-tier and a bookinfo app), each
cluster exporting one service and importing the next three clusters' services."""
from __future__ import annotations

from pathlib import Path

IMPORTS = 3  # services each cluster imports, from the clusters after it

BASE = """\
global:
  configNamespace: istio-system
  enableGatewayAPI: true
  defaultServicePorts:
  - number: 9080
    name: http
    protocol: HTTP
"""

KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
generators:
- {file}
"""


def _name(i: int) -> str:
    return f"c{i:03d}"


def _mesh(i: int, clusters: int) -> str:
    remotes = "".join(
        f"""      - mesh: {_name(j)}-mesh
        network: {_name(j)}-network
        addresses:
        - 10.{j // 250}.{j % 250}.10
        port: 15443
        importedServices:
        - svc-{_name(j)}.mesh.global
""" for j in ((i + k) % clusters for k in range(1, IMPORTS + 1)) if j != i)
    return f"""\
apiVersion: meshfed.io/v1alpha1
kind: MeshFederation
metadata:
  name: {_name(i)}-mesh
  namespace: istio-system
spec:
  scope: mesh
  layout: v2
  mesh:
    name: {_name(i)}-mesh
    network: {_name(i)}-network
  base:
  - ../../base/mesh.yaml
  values:
    global:
      local:
        export:
        - hostname: svc-{_name(i)}.mesh.global
      remote:
{remotes}"""


def _bookinfo(i: int, clusters: int) -> str:
    imports = "".join(f"    - hostname: svc-{_name(j)}.mesh.global\n"
                      for j in ((i + k) % clusters for k in range(1, IMPORTS + 1)) if j != i)
    return f"""\
apiVersion: meshfed.io/v1alpha1
kind: MeshFederation
metadata:
  name: bookinfo
  namespace: bookinfo
spec:
  scope: namespace
  layout: v2
  base:
  - ../mesh/mesh.yaml
  values:
    export:
    - hostname: svc-{_name(i)}.mesh.global
      labelSelector:
        app: svc
    import:
{imports}"""


def federation_repo(root: Path, clusters: int) -> None:
    """Write the repository's files below `root` (`overlays/...`)."""
    top = root / "overlays"
    (top / "base").mkdir(parents=True, exist_ok=True)
    (top / "base" / "mesh.yaml").write_text(BASE)
    for i in range(clusters):
        for app, text in (("mesh", _mesh(i, clusters)), ("bookinfo", _bookinfo(i, clusters))):
            d = top / _name(i) / app
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{app}.yaml").write_text(text)
            (d / "kustomization.yaml").write_text(KUSTOMIZATION.format(file=f"{app}.yaml"))


def change(root: Path) -> None:
    """The change reviewed: the first cluster's remotes use another east-west gateway port."""
    mesh = root / "overlays" / _name(0) / "mesh" / "mesh.yaml"
    mesh.write_text(mesh.read_text().replace("port: 15443", "port: 15444"))
