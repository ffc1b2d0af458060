"""The API version each object is written in, given the versions the cluster serves (helm's
`--api-versions`, Argo CD's `KUBE_API_VERSIONS`).

The charts write Istio and Gateway API objects in the versions they were written for
(`networking.istio.io/v1alpha3`, `v1beta1`, `gateway.networking.k8s.io/v1beta1`). A cluster that
serves a group's newer version (as `group/version`, or as `group/version/Kind` for one kind) gets
every kind that version has in it; said nothing, the charts' versions stay (chart parity). The
kinds of each newer version are those the bundled CRDs serve (`tests/test_api_versions.py` checks
this table against them).
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .rows import Planned

# group -> (its newer version, the kinds served in it)
NEWER: dict[str, tuple[str, frozenset[str]]] = {
    "networking.istio.io": ("v1", frozenset({"DestinationRule", "Gateway", "ServiceEntry", "Sidecar",
                                             "VirtualService", "WorkloadEntry", "WorkloadGroup"})),
    "gateway.networking.k8s.io": ("v1", frozenset({"Gateway"})),
}


def served_version(api_version: str, kind: str, served: frozenset[str]) -> str:
    """`api_version`, or the newer version of its group when the cluster serves it for `kind`."""
    group, _, version = api_version.rpartition("/")
    newer = NEWER.get(group)
    if newer is None or version == newer[0] or kind not in newer[1]:
        return api_version
    target = f"{group}/{newer[0]}"
    return target if target in served or f"{target}/{kind}" in served else api_version


def upgrade(plan: list[Planned], served: tuple[str, ...] | None) -> None:
    """Write each planned object in the newest version `served` offers for it (in place)."""
    if not served:
        return
    versions = frozenset(served)
    for p in plan:
        p.api_version = served_version(p.api_version, p.kind, versions)
