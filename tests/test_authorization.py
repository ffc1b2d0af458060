"""Boundary authorization (an export admits its importers and no one else), checked with the
tests' own evaluator of Istio's AuthorizationPolicy semantics over the rendered objects
(`tests/support/authz_eval.py`).

Over random Federations (both layouts, 2-5 meshes with distinct trust domains, some with
aliases; exports sharing and overlapping selectors; importers with and without service
accounts, in namespaces whose names other meshes use too), for every export (mesh M, namespace N,
host h, selector L) and a workload carrying L (and maybe more labels):
1. a caller of every importer of h (its trust domain, namespace and a listed service account)
   is allowed;
2. a caller of any other mesh, in any namespace (the importers' namespace names too), with any
   service account, is denied, unless it imports a host whose export selects a pod with L;
3. a caller of a trust domain the Federation does not know is denied;
4. M's own callers (its trust domain and aliases, any namespace) and plaintext callers get the
   decision they got without the policies (allowed), also beside a user's own ALLOW policy.
The same check run on deliberately broken policies fails (the evaluator sees the difference).
"""
from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshfed.api import Document, render
from meshfed.output.serialize import dump_yaml
from support.authz_eval import Mesh, Request, allowed, value_matches

NAMESPACES = ["ns-a", "ns-b", "ns-x"]
ACCOUNTS = ["default", "sa1", "sa2"]
SELECTORS = [{"app": "a"}, {"app": "b"}, {"app": "a", "track": "canary"}]


@st.composite
def federations(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(2, 5))
    meshes = []
    for i in range(n):
        mesh: dict[str, Any] = {"name": f"m{i}", "network": f"net-{i}", "trustDomain": f"m{i}.example.org",
                                "gateway": {"addresses": [f"192.0.2.{10 + i}"], "port": 15443}}
        if draw(st.booleans()):
            mesh["trustDomainAliases"] = [f"old-m{i}.example.org"]
        meshes.append(mesh)
    services = []
    for s in range(draw(st.integers(1, 4))):
        exporters = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=2, unique=True))
        others = [i for i in range(n) if i not in exporters]
        exports = [{"mesh": f"m{i}", "namespace": draw(st.sampled_from(NAMESPACES)),
                    "labelSelector": draw(st.sampled_from(SELECTORS))} for i in exporters]
        service: dict[str, Any] = {"hostname": f"svc{s}.mesh.global", "exports": exports}
        if others:
            imports = []
            for i in draw(st.lists(st.sampled_from(others), max_size=3, unique=True)):
                side: dict[str, Any] = {"mesh": f"m{i}", "namespace": draw(st.sampled_from(NAMESPACES))}
                if draw(st.booleans()):
                    side["serviceAccounts"] = draw(st.lists(st.sampled_from(ACCOUNTS[1:]), min_size=1, unique=True))
                imports.append(side)
            if imports:
                service["imports"] = imports
        services.append(service)
    spec = {"layout": draw(st.sampled_from(["v1", "v2"])), "authorization": "importers-only",
            "values": {"global": {"configNamespace": "istio-system",
                                  "defaultServicePorts": [{"number": 9080, "name": "http", "protocol": "HTTP"}]}},
            "meshes": meshes, "services": services}
    return {"apiVersion": "meshfed.io/v1alpha1", "kind": "Federation", "metadata": {"name": "f"}, "spec": spec}


def _render(directory: Path, fed: dict[str, Any], mesh: str, namespace: str) -> list[dict[str, Any]]:
    (directory / "federation.yaml").write_text(dump_yaml([fed]), "utf-8")
    doc = {"apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation",
           "metadata": {"name": namespace, "namespace": namespace},
           "spec": {"scope": "namespace", "federation": {"path": "federation.yaml", "mesh": mesh}}}
    result = render(documents=[Document(doc, "app.yaml", directory)], root=directory)
    errors = [str(d) for d in result.diagnostics if d.severity == "error"]
    assert not errors, errors
    return list(yaml.safe_load_all(dump_yaml(result.objects)))


def _exports(fed: dict[str, Any]):
    for svc in fed["spec"]["services"]:
        for e in svc["exports"]:
            yield e["mesh"], e["namespace"], svc["hostname"], e["labelSelector"]


def _overlap(a: dict[str, str], b: dict[str, str]) -> bool:
    return all(b[k] == v for k, v in a.items() if k in b)


def violations(fed: dict[str, Any], mesh: str, namespace: str, objects: list[dict[str, Any]],
               extra_labels: dict[str, str]) -> list[str]:
    """Every way the policies `objects` of (mesh, namespace) break the property, in words."""
    spec = fed["spec"]
    meshes = {m["name"]: m for m in spec["meshes"]}
    me = meshes[mesh]
    config = Mesh(me["trustDomain"], tuple(me.get("trustDomainAliases", ())))
    out: list[str] = []
    local = [(s, e) for s in spec["services"] for e in s["exports"] if e["mesh"] == mesh and e["namespace"] == namespace]
    for svc, export in local:
        labels = {**extra_labels, **export["labelSelector"]}
        # who may call this pod: importers of every local export whose selector can share a pod with it
        may = [(i["mesh"], i["namespace"], i.get("serviceAccounts")) for s, e in local
               if _overlap(e["labelSelector"], labels) for i in s.get("imports", ())]

        def decide(principal: str | None, objs: list[dict[str, Any]] = objects,
                   labels: dict[str, str] = labels) -> bool:
            return allowed(config, objs, namespace, labels, Request(principal))

        host = svc["hostname"]
        for i in svc.get("imports", ()):  # 1
            td = meshes[i["mesh"]]["trustDomain"]
            for sa in i.get("serviceAccounts") or ACCOUNTS:
                if not decide(f"{td}/ns/{i['namespace']}/sa/{sa}"):
                    out.append(f"{host}: importer {i['mesh']}/{i['namespace']}/{sa} denied")
        for other, m in meshes.items():  # 2
            if other == mesh:
                continue
            for ns in NAMESPACES + ["elsewhere"]:
                for sa in ACCOUNTS:
                    admitted = any(o == other and n == ns and (accounts is None or sa in accounts)
                                   for o, n, accounts in may)
                    if not admitted and decide(f"{m['trustDomain']}/ns/{ns}/sa/{sa}"):
                        out.append(f"{host}: {other}/{ns}/{sa} allowed")
        for td in ("stranger.example.org", "cluster.local"):  # 3
            for ns in NAMESPACES:
                if decide(f"{td}/ns/{ns}/sa/default"):
                    out.append(f"{host}: unknown trust domain {td}/{ns} allowed")
        own = [me["trustDomain"], *me.get("trustDomainAliases", ())]
        user_allow = {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                      "metadata": {"name": "user", "namespace": namespace},
                      "spec": {"rules": [{"from": [{"source": {"namespaces": [namespace]}}]}]}}
        for context in ([], [user_allow]):  # 4: the same decision as without meshfed's policies
            for principal in [None, *(f"{td}/ns/{ns}/sa/default" for td in own for ns in NAMESPACES)]:
                before, after = decide(principal, context), decide(principal, objects + context)
                if before != after:
                    out.append(f"{host}: own or plaintext caller {principal} changed from {before} to {after}")
    return out


def _policies(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == "AuthorizationPolicy"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fed=federations(), extra=st.sampled_from([{}, {"version": "v1"}, {"track": "canary"}]))
def test_an_export_admits_its_importers_and_no_one_else(tmp_path: Path, fed: dict[str, Any],
                                                        extra: dict[str, str]) -> None:
    directory = Path(tempfile.mkdtemp(dir=tmp_path))
    for mesh, namespace in dict.fromkeys((m, n) for m, n, _, _ in _exports(fed)):
        objects = _render(directory, fed, mesh, namespace)
        policies = _policies(objects)
        # one policy per exported workload selector, never one per caller
        selectors = {tuple(sorted(s.items())) for m, n, _, s in _exports(fed) if (m, n) == (mesh, namespace)}
        assert len(policies) == len(selectors)
        assert all(p["metadata"]["namespace"] == namespace for p in policies)
        assert violations(fed, mesh, namespace, objects, extra) == []


def _broken(policies: list[dict[str, Any]], how: str) -> list[dict[str, Any]]:
    out = copy.deepcopy(policies)
    for p in out:
        source = p["spec"]["rules"][0]["from"][0]["source"]
        if how == "namespaces":  # the importers' namespaces instead of their principals
            importers = [x for x in source["notPrincipals"] if "/ns/" in x]
            source["notPrincipals"] = [x for x in source["notPrincipals"] if x not in importers]
            source["notNamespaces"] = [x.split("/")[2] for x in importers] or ["none"]
        elif how == "allow":  # an ALLOW policy of the same callers
            p["spec"] = {"selector": p["spec"]["selector"], "rules": [{"from": [{"source": {
                "principals": source["notPrincipals"]}}]}]}
        elif how == "no-own":
            source["notPrincipals"] = [x for x in source["notPrincipals"] if "/ns/" in x]
        elif how == "no-star":
            del source["principals"]
    return out


BROKEN_FED = {"apiVersion": "meshfed.io/v1alpha1", "kind": "Federation", "metadata": {"name": "f"}, "spec": {
    "layout": "v2", "authorization": "importers-only",
    "values": {"global": {"defaultServicePorts": [{"number": 9080, "name": "http", "protocol": "HTTP"}]}},
    "meshes": [{"name": f"m{i}", "network": f"n{i}", "trustDomain": f"m{i}.example.org",
                "gateway": {"addresses": [f"192.0.2.{i + 1}"], "port": 15443}} for i in range(3)],
    "services": [{"hostname": "svc.mesh.global",
                  "exports": [{"mesh": "m0", "namespace": "ns-a", "labelSelector": {"app": "a"}}],
                  "imports": [{"mesh": "m1", "namespace": "ns-b", "serviceAccounts": ["sa1"]}]},
                 {"hostname": "other.mesh.global",
                  "exports": [{"mesh": "m2", "namespace": "ns-b", "labelSelector": {"app": "b"}}],
                  "imports": [{"mesh": "m0", "namespace": "ns-a"}]}]}}


@pytest.mark.parametrize("how", ["namespaces", "allow", "no-own", "no-star"])
def test_the_check_fails_on_broken_policies(tmp_path: Path, how: str) -> None:
    """The property check is not vacuous: a namespace match (which admits any mesh with that
    namespace name), an ALLOW policy (default-deny for the own and plaintext callers), a policy
    without the own trust domain, one whose DENY also catches plaintext callers: each is caught."""
    objects = _render(tmp_path, BROKEN_FED, "m0", "ns-a")
    assert violations(BROKEN_FED, "m0", "ns-a", objects, {}) == []
    broken = _broken(_policies(objects), how)
    assert violations(BROKEN_FED, "m0", "ns-a", broken, {}) != []


def test_evaluator_patterns_and_order() -> None:
    """The evaluator's own rules, on hand-written policies: patterns, CUSTOM before DENY before
    ALLOW, selectors (none: namespace-wide; the root namespace: mesh-wide), operations, and the
    trust domain aliases and cluster.local rewriting of five-part principals."""
    assert value_matches("*", "x") and not value_matches("*", "") and not value_matches("*", None)
    assert value_matches("td/*", "td/ns/a/sa/b") and not value_matches("td/*", "td2/ns/a/sa/b")
    assert value_matches("*/sa/b", "x/ns/a/sa/b") and value_matches("a", "a") and not value_matches("a", "ab")
    mesh = Mesh("east", ("old-east",))

    def ap(ns: str, spec: dict[str, Any]) -> dict[str, Any]:
        return {"kind": "AuthorizationPolicy", "metadata": {"name": "p", "namespace": ns}, "spec": spec}

    caller = Request("west/ns/a/sa/b", port=9080, method="GET", path="/x")
    allow_a = ap("n", {"rules": [{"from": [{"source": {"namespaces": ["a"]}}]}]})
    deny_all = ap("n", {"action": "DENY", "rules": [{}]})
    custom = ap("istio-system", {"action": "CUSTOM", "provider": {"name": "x"}, "rules": [{}]})
    assert allowed(mesh, [], "n", {}, caller)
    assert allowed(mesh, [allow_a], "n", {}, caller)
    assert not allowed(mesh, [allow_a], "n", {}, Request(None))  # plaintext: no namespace
    assert not allowed(mesh, [allow_a, deny_all], "n", {}, caller)
    assert not allowed(mesh, [custom], "n", {}, caller)  # root namespace: every workload
    assert allowed(mesh, [ap("other", {"action": "DENY", "rules": [{}]})], "n", {}, caller)
    assert not allowed(mesh, [ap("n", {})], "n", {}, caller)  # ALLOW with no rules: allow nothing
    assert allowed(mesh, [ap("n", {"action": "DENY"})], "n", {}, caller)  # DENY with no rules: nothing
    selected = ap("n", {"selector": {"matchLabels": {"app": "x"}}, "action": "DENY", "rules": [{}]})
    assert allowed(mesh, [selected], "n", {"app": "y"}, caller)
    assert not allowed(mesh, [selected], "n", {"app": "x", "v": "1"}, caller)
    ops = ap("n", {"action": "DENY", "rules": [{"to": [{"operation": {"ports": ["9080"], "notPaths": ["/ok*"]}}]}]})
    assert not allowed(mesh, [ops], "n", {}, caller)
    assert allowed(mesh, [ops], "n", {}, Request("west/ns/a/sa/b", path="/ok/1"))
    assert allowed(mesh, [ops], "n", {}, Request("west/ns/a/sa/b", port=9090))
    # cluster.local and the aliases stand for the mesh's own trust domains in a five-part principal
    local = ap("n", {"rules": [{"from": [{"source": {"principals": ["cluster.local/ns/a/sa/b"]}}]}]})
    assert allowed(mesh, [local], "n", {}, Request("old-east/ns/a/sa/b"))
    assert not allowed(mesh, [local], "n", {}, Request("cluster.local/ns/a/sa/b"))
    when = ap("n", {"rules": [{"when": [{"key": "source.principal", "values": ["west/*"]}]}]})
    assert allowed(mesh, [when], "n", {}, caller) and not allowed(mesh, [when], "n", {}, Request("east/ns/a/sa/b"))


def test_authorization_adds_policies_and_changes_nothing_else(tmp_path: Path) -> None:
    fed = copy.deepcopy(BROKEN_FED)
    on = _render(tmp_path, fed, "m0", "ns-a")
    fed["spec"]["authorization"] = "off"
    off = _render(tmp_path, fed, "m0", "ns-a")
    assert _policies(on) and not _policies(off)
    assert [o for o in on if o["kind"] != "AuthorizationPolicy"] == off


def test_a_policy_change_in_words() -> None:
    """`meshfed diff` says who gains or loses access, not only the YAML."""
    from meshfed.values.authorization import change_in_words

    def policy(*principals: str) -> dict[str, Any]:
        return {"kind": "AuthorizationPolicy", "metadata": {"name": "importers-only-r", "namespace": "ns"},
                "spec": {"selector": {"matchLabels": {"app": "r"}}, "action": "DENY",
                         "rules": [{"from": [{"source": {"principals": ["*"], "notPrincipals": list(principals)}}]}]}}

    before = policy("e.org/*", "c.org/ns/a/sa/*")
    after = policy("e.org/*", "c.org/ns/a/sa/web", "w.org/ns/b/sa/*")
    assert change_in_words(before, after) == [
        "workloads app: r in ns (importers-only-r): trust domain c.org, namespace a, service account web gains access",
        "workloads app: r in ns (importers-only-r): trust domain w.org, namespace b, any service account gains access",
        "workloads app: r in ns (importers-only-r): trust domain c.org, namespace a, any service account loses access"]
    assert change_in_words(before, None) == [
        "workloads app: r in ns (importers-only-r): authorization off: every mesh the root of trust accepts gains "
        "access"]
    assert change_in_words(None, {"kind": "AuthorizationPolicy", "spec": {"action": "ALLOW"}}) == []
