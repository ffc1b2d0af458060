"""Everything the project emits is accepted by a cluster: every golden case's output and every
app directory of the example repo, checked against the real CRDs and Istio's webhook rules."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from meshfed.api import render
from meshfed.clustercheck import BUNDLED_CRDS, validate_objects

CRDS = BUNDLED_CRDS
OBJECT_ROUTES = ("render", "krm", "kustomize-plugin", "argocd")  # the others print reports, not objects


def _emits_objects(expected: Path) -> bool:
    case = yaml.safe_load((expected.parent / "case.yaml").read_text())
    return bool(expected.stat().st_size) and case["exit"] == 0 and case["args"][0] in OBJECT_ROUTES


CASES = sorted(p for p in (REPO / "tests" / "cases").glob("*/expected.out") if _emits_objects(p))
APPS = sorted({p.parent for p in (REPO / "overlays").glob("*/*/kustomization.yaml")})


def _objects(text: str) -> list[dict]:
    text = text.strip()
    if text.startswith("{"):
        return json.loads(text)["items"]
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
    if len(docs) == 1 and docs[0].get("kind") == "ResourceList":  # krm: the generated items
        return [i for i in docs[0]["items"]
                if i["metadata"].get("annotations", {}).get("config.kubernetes.io/local-config") != "true"]
    return docs


@pytest.mark.parametrize("expected", CASES, ids=[p.parent.name for p in CASES])
def test_golden_output_is_accepted(expected: Path) -> None:
    objects = _objects(expected.read_text())
    assert objects
    assert [str(p) for p in validate_objects(objects, [CRDS])] == []


@pytest.mark.parametrize("app", APPS, ids=[str(p.relative_to(REPO)) for p in APPS])
def test_overlay_output_is_accepted(app: Path) -> None:
    result = render([app], root=REPO)
    assert result.ok, [str(d) for d in result.diagnostics]
    assert [str(p) for p in validate_objects(result.objects, [CRDS])] == []


def test_a_broken_object_is_rejected() -> None:
    """The check above can fail: a STATIC ServiceEntry endpoint must be an IP."""
    broken = {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
              "metadata": {"name": "x", "namespace": "ns"},
              "spec": {"hosts": ["a.mesh.global"], "location": "MESH_INTERNAL", "resolution": "STATIC",
                       "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}],
                       "endpoints": [{"address": "not-an-ip.example.com"}]}}
    assert validate_objects([broken], [CRDS])
