"""Every route keeps the promises `render` keeps: the same generated document (valid, damaged, or
hostile) through `render`, `krm`, `kustomize-plugin` and `argocd generate` gives the same objects,
or an error on every route; never a traceback, never objects on one route and nothing on another,
and the memory each route allocates stays bounded.
The routes run in this process, through the adapters' own entry functions."""
from __future__ import annotations

import contextlib
import io
import json
import os
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshfed.routes import argocd, execplugin, krm
from meshfed.output.serialize import dump_yaml
from test_properties import _damage, valid_values

OWNER = "meshfed.io/generated-from"
# What a route may allocate: a fixed allowance plus a generous multiple of what it reads and
# writes. An alias bomb of 600 bytes would need gigabytes once expanded.
MEMORY_BASE, MEMORY_PER_BYTE = 32 << 20, 400
ROUTES = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.function_scoped_fixture])
HOSTILE = [
    {"a": "&bomb"},  # replaced below by an alias bomb in the text
    {"global": {"configNamespace": "0o17"}},
    {"global": {"remote": [{"mesh": "m", "network": "0X1F", "addresses": ["1.2.3.4"],
                            "importedServices": ["a.mesh.global"]}]}, "import": [{"hostname": "a.mesh.global"}]},
]
BOMB = ("    a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"    {n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdef", "bcdefg")))


def _document(values: Any, scope: str | None) -> str:
    spec: dict[str, Any] = {"values": values} if values is not None else {}
    if scope:
        spec["scope"] = scope
    doc = {"apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation",
           "metadata": {"name": "doc", "namespace": "apps"}, "spec": spec}
    text = yaml.safe_dump(doc, sort_keys=False)
    return text.replace("    a: '&bomb'\n", BOMB) if values == {"a": "&bomb"} else text


def _objects(text: str) -> list[str]:
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
    for d in docs:
        annotations = d.get("metadata", {}).get("annotations", {})
        annotations.pop(OWNER, None)
        if not annotations:
            d.get("metadata", {}).pop("annotations", None)
    return sorted(json.dumps(d, sort_keys=True) for d in docs)


def _via_render(app: Path) -> tuple[int, list[str]]:
    from meshfed.api import render
    result = render([app / "doc.yaml"])
    return (0, _objects(dump_yaml(result.objects))) if result.ok else (1, [])


def _via_krm(app: Path, text: str) -> tuple[int, list[str]]:
    item = yaml.safe_load(text) if "&a" not in text else None
    if item is None:  # keep the hostile text as it is: it goes inside the ResourceList verbatim
        body = "".join("  " + line + "\n" for line in text.splitlines())
        stdin = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n-" + body[1:]
    else:
        stdin = yaml.safe_dump({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": [item]})
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(app):
        code = krm.run(io.BytesIO(stdin.encode()), out, err)
    [wrapper] = [d for d in yaml.safe_load_all(out.getvalue()) if d is not None]
    generated = [i for i in wrapper["items"] if OWNER in (i["metadata"].get("annotations") or {})]
    return code, (_objects(yaml.safe_dump_all(generated)) if code == 0 else [])


def _via_exec_plugin(app: Path) -> tuple[int, list[str]]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(app):
        code = execplugin.run(str(app / "doc.yaml"), out, err)
    return code, (_objects(out.getvalue()) if code == 0 else [])


def _via_argocd(app: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[str]]:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setenv("ARGOCD_APP_SOURCE_PATH", "app")
    with contextlib.chdir(app):
        code = argocd.run("generate", out, err)
    monkeypatch.delenv("ARGOCD_APP_SOURCE_PATH")
    return code, (_objects(out.getvalue()) if code == 0 else [])


@ROUTES
@given(data=st.data(), layout=st.sampled_from(["v1", "v2"]), scope=st.sampled_from([None, "mesh", "namespace"]),
       kind=st.sampled_from(["valid", "damaged", "hostile"]))
def test_routes_agree(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
                      data: st.DataObject, layout: str, scope: str | None, kind: str) -> None:
    values: Any = data.draw(valid_values(layout))
    if kind == "damaged":
        values = _damage(data.draw, values)
    elif kind == "hostile":
        values = data.draw(st.sampled_from(HOSTILE))
    repo = tmp_path_factory.mktemp("repo")
    (repo / ".git").mkdir()
    app = repo / "app"
    app.mkdir()
    text = _document(values, scope)
    (app / "doc.yaml").write_text(text)
    for key in [k for k in os.environ if k.startswith(("MESHFED_", "ARGOCD_"))]:
        monkeypatch.delenv(key)
    routes = {
        "render": lambda: _via_render(app),
        "krm": lambda: _via_krm(app, text),
        "kustomize-plugin": lambda: _via_exec_plugin(app),
        "argocd": lambda: _via_argocd(app, monkeypatch),
    }
    results = {}
    for name, route in routes.items():
        tracemalloc.start()
        try:
            results[name] = route()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        size = len(text) + sum(len(o) for o in results[name][1])
        assert peak < MEMORY_BASE + MEMORY_PER_BYTE * size, f"{name} allocated {peak >> 20} MiB for {size} bytes"
    assert len({code for code, _ in results.values()}) == 1, results
    assert len({tuple(objects) for _, objects in results.values()}) == 1, results
