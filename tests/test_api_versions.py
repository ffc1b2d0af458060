"""The versions `--api-versions` moves objects to are the ones the bundled CRDs serve: every kind
of a group's newer version in `meshfed.output.apiversions.NEWER`, and no other."""
from __future__ import annotations

from pathlib import Path

import yaml

from meshfed.output.apiversions import NEWER, served_version

CRDS = Path(__file__).resolve().parent.parent / "plugin" / "meshfed" / "crds"


def _served() -> dict[str, dict[str, set[str]]]:
    """group -> version -> the kinds the bundled CRDs serve in it."""
    found: dict[str, dict[str, set[str]]] = {}
    for path in sorted(CRDS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text("utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                spec = doc["spec"]
                for version in spec["versions"]:
                    if version.get("served"):
                        found.setdefault(spec["group"], {}).setdefault(version["name"], set()).add(
                            spec["names"]["kind"])
    return found


def test_the_newer_versions_are_those_the_bundled_crds_serve() -> None:
    served = _served()
    for group, (version, kinds) in NEWER.items():
        assert set(kinds) == served[group][version], group


def test_a_version_moves_only_when_served_for_the_kind() -> None:
    istio = frozenset({"networking.istio.io/v1"})
    assert served_version("networking.istio.io/v1alpha3", "VirtualService", istio) == "networking.istio.io/v1"
    assert served_version("networking.istio.io/v1alpha3", "EnvoyFilter", istio) == "networking.istio.io/v1alpha3"
    assert served_version("networking.istio.io/v1beta1", "Gateway", frozenset()) == "networking.istio.io/v1beta1"
    one = frozenset({"networking.istio.io/v1/ServiceEntry"})
    assert served_version("networking.istio.io/v1beta1", "ServiceEntry", one) == "networking.istio.io/v1"
    assert served_version("networking.istio.io/v1beta1", "Gateway", one) == "networking.istio.io/v1beta1"
    gateway_api = frozenset({"gateway.networking.k8s.io/v1"})
    assert served_version("gateway.networking.k8s.io/v1beta1", "Gateway", gateway_api) == "gateway.networking.k8s.io/v1"
    assert served_version("route.openshift.io/v1", "Route", istio | gateway_api) == "route.openshift.io/v1"
