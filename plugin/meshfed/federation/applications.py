"""The applications a Federation stands for: the MeshFederation document of each application
directory (`<cluster>/mesh`, `<cluster>/<namespace>`) that `federation scaffold` writes and `check`,
`graph`, `explain` and `import` read. Deciding which mesh tiers render nothing takes a render, so
this lives above the request path, beside the tools that use it."""
from __future__ import annotations

from typing import Any

from ..pipeline import render_layers
from ..values.federation_spec import MESH_DIRECTORY, FederationSpec, MeshSpec
from ..values.formats import is_dns_label
from ..values.merge import merge_layers
from ..values.options import Options


def application_documents(spec: FederationSpec, path: str) -> list[tuple[str, dict[str, Any]]]:
    """The MeshFederation documents a Federation stands for, by application directory
    (`<cluster>/mesh`, `<cluster>/<namespace>`): what `meshfed federation scaffold` writes and
    what `check`, `graph` and `explain` read when given the Federation alone. `path` names the
    Federation relative to an application directory. A mesh tier goes to the mesh's
    `global.configNamespace` (explicit, so that no Argo CD destination namespace overrides it).
    A mesh that neither exports nor imports anything has no application, and a mesh whose mesh
    tier renders nothing (`idle_mesh_tiers`) has no mesh-tier application: it would render
    nothing, which every route refuses."""
    idle = {mesh.name for mesh in idle_mesh_tiers(spec)}
    out: list[tuple[str, dict[str, Any]]] = []
    for mesh in spec.meshes:
        namespaces = spec.namespaces(mesh.name)
        if not namespaces:
            continue
        ref = {"path": path, "mesh": mesh.name}
        meta: dict[str, Any] = {"name": mesh.name}
        merged = merge_layers(spec.layers_for(mesh, None, False)).values.get("global")
        namespace = merged.get("configNamespace") if isinstance(merged, dict) else None
        if isinstance(namespace, str) and is_dns_label(namespace):  # else the values' own error says why
            meta["namespace"] = namespace
        if mesh.name not in idle:
            out.append((f"{mesh.cluster}/{MESH_DIRECTORY}", _document(meta, "mesh", ref)))
        for ns in namespaces:
            out.append((f"{mesh.cluster}/{ns}", _document({"name": ns, "namespace": ns}, "namespace", ref)))
    return out


def idle_mesh_tiers(spec: FederationSpec) -> list[MeshSpec]:
    """The meshes that import but export nothing and whose mesh tier renders no object (layout v2
    without an egress gateway, v1 without egress): only their namespace tiers have an application.
    A mesh tier whose values have errors is not idle: its application reports them."""
    exporting = exporting_meshes(spec)
    return [mesh for mesh in spec.meshes if idle_mesh_tier(spec, mesh, exporting)]


def exporting_meshes(spec: FederationSpec) -> set[str]:
    """The meshes that export a service of the Federation."""
    return {side.mesh for svc in spec.services for side in svc.exports}


def idle_mesh_tier(spec: FederationSpec, mesh: MeshSpec, exporting: set[str]) -> bool:
    """Whether `mesh`'s tier is idle (`idle_mesh_tiers`); `exporting`: `exporting_meshes(spec)`.
    Only a mesh that exports nothing is rendered to tell."""
    if mesh.name in exporting or not spec.namespaces(mesh.name):
        return False
    opts = Options(scope="mesh", layout=spec.layout, allow_empty=True)
    rendering = render_layers(spec.layers_for(mesh, None, False), spec.patches, opts)
    return not rendering.planned and not any(d.severity == "error" for d in rendering.diagnostics)


def _document(meta: dict[str, Any], scope: str, ref: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation", "metadata": meta,
            "spec": {"scope": scope, "federation": dict(ref)}}
