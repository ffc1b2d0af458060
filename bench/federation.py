"""The F section of `make bench`: a generated federation of 50 clusters said once in a Federation
document, scaffolded, and rendered whole (every cluster, every tier), plus `meshfed check` of it.

`generate(directory)` is also the repository other benchmarks can start from (a git work tree
is not made here: the caller decides).
"""
from __future__ import annotations

import subprocess
from pathlib import Path

CLUSTERS = 50
NAMESPACES = 4  # per cluster: ns-0 .. ns-3
EXPORTS_PER_CLUSTER = 6  # services each cluster serves
IMPORTERS = 5  # clusters importing each service


def federation(clusters: int = CLUSTERS) -> dict:
    """The Federation: cluster i exports EXPORTS_PER_CLUSTER services, each imported by the next
    IMPORTERS clusters; every other cluster reaches the others through an egress gateway."""
    meshes = []
    for i in range(clusters):
        mesh: dict = {"name": f"mesh-{i:02d}", "network": f"network-{i:02d}", "cluster": f"cluster-{i:02d}",
                      "locality": f"region-{i % 5}",
                      "gateway": {"addresses": [f"10.{i % 256}.{i // 256}.10", f"10.{i % 256}.{i // 256}.11"],
                                  "port": 15443}}
        if i % 2:
            mesh["values"] = {"global": {"gateways": {"egress": {
                "enabled": True, "selector": {"istio": "egressgateway"}, "port": 15443,
                "service": {"name": "istio-egressgateway", "namespace": "istio-system"}}}}}
        meshes.append(mesh)
    services = []
    for i in range(clusters):
        for k in range(EXPORTS_PER_CLUSTER):
            services.append({
                "hostname": f"svc-{k}.cluster-{i:02d}.mesh.global",
                "exports": [{"mesh": f"mesh-{i:02d}", "namespace": f"ns-{k % NAMESPACES}",
                             "labelSelector": {"app": f"svc-{k}"}}],
                "imports": [{"mesh": f"mesh-{(i + d) % clusters:02d}", "namespace": f"ns-{(k + d) % NAMESPACES}"}
                            for d in range(1, IMPORTERS + 1)],
            })
    return {"apiVersion": "meshfed.io/v1alpha1", "kind": "Federation", "metadata": {"name": "bench"},
            "spec": {"layout": "v2",
                     "values": {"global": {
                         "configNamespace": "istio-system", "enableGatewayAPI": True,
                         "defaultServicePorts": [{"number": 8080, "name": "http", "protocol": "HTTP"}],
                         "gateways": {"ingress": {"selector": {"app": "istio-eastwestgateway",
                                                               "istio": "eastwestgateway"}, "port": 15443}}}},
                     "meshes": meshes, "services": services}}


def generate(directory: Path, meshfed: str, clusters: int = CLUSTERS) -> list[Path]:
    """Write `federation.yaml` and scaffold `clusters/` below `directory`; the application
    directories, sorted."""
    import yaml

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "federation.yaml").write_text(yaml.safe_dump(federation(clusters), sort_keys=False))
    subprocess.run([meshfed, "federation", "scaffold", "federation.yaml", "--out", "clusters", "--root", "."],
                   cwd=directory, check=True, stdout=subprocess.DEVNULL)
    return sorted(p.parent for p in (directory / "clusters").glob("*/*/kustomization.yaml"))


# Renders every application of a scaffolded repository in one process, each on its own as Argo CD
# renders it (objects of different clusters may share names, so they are never one render).
RENDER_ALL = """
import sys
from pathlib import Path
from meshfed.api import render
from meshfed.output.serialize import write_yaml
count = 0
with open(sys.argv[1], "w", encoding="utf-8") as out:
    for app in sys.argv[3:]:
        result = render([Path(app)], root=sys.argv[2], lazy=True)
        if not result.ok:
            sys.exit(f"{app}: {[str(d) for d in result.diagnostics]}")
        write_yaml(result.objects, out.write)
"""


def commands(directory: Path, apps: list[Path], python: str, meshfed: str, output: Path) -> list[tuple[str, list[str]]]:
    """(label, command) of what the F section times, run in `directory`."""
    relative = [str(a.relative_to(directory)) for a in apps]
    return [
        (f"render all {len(apps)} applications, one process", [python, "-c", RENDER_ALL, str(output), ".", *relative]),
        ("`meshfed check federation.yaml` (every application, and the cross-cluster rules)",
         [meshfed, "check", "--root", ".", "federation.yaml"]),
        ("`meshfed render` of one application (cold, as Argo CD runs it)",
         [meshfed, "render", "--root", ".", relative[0]]),
        ("`meshfed federation scaffold` again (nothing changes)",
         [meshfed, "federation", "scaffold", "federation.yaml", "--out", "clusters", "--root", "."]),
    ]


def expand(directory: Path, clusters: int = CLUSTERS) -> None:
    """Write below `directory/expanded` the repository of per-cluster documents the Federation
    stands for (each with its values written out, as before a Federation): what `meshfed
    federation import` reads."""
    import yaml

    from meshfed.values.meshfederation import Resolver
    from meshfed.federation.applications import application_documents

    spec = Resolver(str(directory)).read_spec(federation(clusters), "federation.yaml", None)
    for app, doc in application_documents(spec, "federation.yaml"):
        ref = doc["spec"].pop("federation")
        mesh = spec.mesh(ref["mesh"])
        tier = doc["spec"]["scope"]
        namespace = doc["metadata"].get("namespace") if tier == "namespace" else None
        values: dict = {}
        for layer in spec.layers_for(mesh, namespace, tier == "namespace"):
            values = _merged(values, layer.data)
        doc["spec"] = {"scope": tier, "layout": spec.layout, "mesh": {"name": mesh.name, "network": mesh.network},
                       "values": values}
        target = directory / "expanded" / app
        target.mkdir(parents=True, exist_ok=True)
        (target / f"{doc['metadata']['name']}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def _merged(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out
