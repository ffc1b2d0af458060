"""meshfed.clustercheck: would the cluster accept what the generator emits?

Broken fixtures live in tests/clustercheck/broken/<name>.yaml, each led by one `# expect:` line per
message the cluster gives (compared as a multiset: the API server's own order follows Go map order).
"""
from __future__ import annotations

import copy
import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from meshfed.clustercheck import BUNDLED_CRDS, Layer, Problem, validate_objects
from meshfed.clustercheck import cel as cel_rules
from meshfed.clustercheck.cellib import (
    parse_go_duration,
    route_duration_calls,
    substring,
)
from meshfed.clustercheck.webhook import host_subset_of

CRDS = BUNDLED_CRDS
FIXTURES = Path(__file__).resolve().parent / "clustercheck"
BROKEN = sorted((FIXTURES / "broken").glob("*.yaml"))


def _documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def _messages(problems: list[Problem]) -> list[str]:
    return sorted(str(p) for p in problems)


@functools.lru_cache(maxsize=1)
def _istio_crds() -> tuple[dict, ...]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return tuple(d for d in yaml.load_all((CRDS / "istio-1.30.3-crds.yaml").read_text(), Loader=loader) if d)


def _crd(kind: str) -> dict:
    return copy.deepcopy(next(d for d in _istio_crds() if d["spec"]["names"]["kind"] == kind))


SERVICE_ENTRY = {
    "apiVersion": "networking.istio.io/v1beta1",
    "kind": "ServiceEntry",
    "metadata": {"name": "reviews", "namespace": "bookinfo"},
    "spec": {"hosts": ["reviews.bookinfo.svc.cluster.local"], "resolution": "STATIC",
             "workloadSelector": {"labels": {"app": "reviews"}}},
}


def test_generator_shaped_objects_of_every_kind_pass():
    objects = [doc for path in sorted((FIXTURES / "valid").glob("*.yaml")) for doc in _documents(path)]
    kinds = {(o["apiVersion"].rpartition("/")[0], o["kind"]) for o in objects}
    assert kinds == {("networking.istio.io", k) for k in
                     ("Gateway", "ServiceEntry", "VirtualService", "DestinationRule", "WorkloadEntry", "EnvoyFilter")} \
        | {("gateway.networking.k8s.io", "Gateway"), ("route.openshift.io", "Route"),
           ("security.istio.io", "AuthorizationPolicy")}
    assert validate_objects(objects, [CRDS]) == []


@pytest.mark.parametrize("fixture", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_objects_are_rejected_with_the_clusters_message(fixture: Path):
    lines = fixture.read_text(encoding="utf-8").splitlines()
    expected = sorted(line.removeprefix("# expect: ") for line in lines if line.startswith("# expect: "))
    assert expected, f"{fixture.name} states no expected message"
    assert _messages(validate_objects(_documents(fixture), [CRDS])) == expected


def test_problem_names_the_object_field_and_layer():
    vs = _documents(FIXTURES / "broken" / "vs-sni-not-covered.yaml")
    [problem] = validate_objects(vs, [CRDS])
    assert (problem.api_version, problem.kind, problem.namespace, problem.name) == \
        ("networking.istio.io/v1alpha3", "VirtualService", "istio-system", "sni-outside")
    assert problem.layer is Layer.WEBHOOK
    assert problem.field == "spec.tls[0]"
    assert problem.message.startswith('SNI host "foo-80.mesh.global" is not a compatible subset')
    with pytest.raises(AttributeError):
        problem.message = "changed"  # type: ignore[misc]


def test_schema_problems_carry_the_field_path_and_the_field_error():
    bad = copy.deepcopy(SERVICE_ENTRY)
    bad["spec"]["hosts"] = ["*"]
    [problem] = validate_objects([bad], [CRDS])
    assert problem.field == "spec.hosts[0]"
    assert problem.message == 'spec.hosts[0]: Invalid value: "string": hostname cannot be wildcard'
    assert str(problem) == f'ServiceEntry.networking.istio.io "reviews" is invalid: {problem.message}'


def test_input_objects_are_not_modified():
    obj = copy.deepcopy(SERVICE_ENTRY)
    obj["spec"]["unknownField"] = True
    obj["spec"]["endpoints"] = None
    before = copy.deepcopy(obj)
    validate_objects([obj], [CRDS])
    assert obj == before


def test_directories_and_kubectl_list_exports_load(tmp_path: Path):
    nested = tmp_path / "exports" / "istio"
    nested.mkdir(parents=True)
    crd_list = {"apiVersion": "v1", "kind": "List", "items": [_crd("ServiceEntry"), _crd("VirtualService")]}
    (nested / "crds.yml").write_text(yaml.safe_dump(crd_list), encoding="utf-8")
    (tmp_path / "gateway.json").write_text(json.dumps(_crd("Gateway")), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a CRD", encoding="utf-8")
    gateway = _documents(FIXTURES / "valid" / "mesh-tier.yaml")[0]
    assert validate_objects([SERVICE_ENTRY, gateway], [tmp_path]) == []
    bad = copy.deepcopy(SERVICE_ENTRY)
    bad["spec"]["resolution"] = "STATIK"
    assert [p.field for p in validate_objects([bad], [tmp_path / "exports"])] == ["spec.resolution", ""]


def test_unserved_version_and_unknown_kind_are_rejected(tmp_path: Path):
    crd = _crd("ServiceEntry")
    for version in crd["spec"]["versions"]:
        version["served"] = version["name"] != "v1beta1"
    (tmp_path / "serviceentry.yaml").write_text(yaml.safe_dump(crd), encoding="utf-8")
    as_v1 = {**SERVICE_ENTRY, "apiVersion": "networking.istio.io/v1"}
    problems = validate_objects([SERVICE_ENTRY, as_v1, {**SERVICE_ENTRY, "kind": "Sidecar"}], [tmp_path])
    assert [(p.layer, str(p)) for p in problems] == [
        (Layer.DISCOVERY, 'resource mapping not found for name: "reviews" namespace: "bookinfo": no matches for '
                          'kind "ServiceEntry" in version "networking.istio.io/v1beta1"'),
        (Layer.DISCOVERY, 'resource mapping not found for name: "reviews" namespace: "bookinfo": no matches for '
                          'kind "Sidecar" in version "networking.istio.io/v1beta1"'),
    ]


def test_missing_cel_package_raises_a_clear_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(cel_rules, "_engine", None)
    monkeypatch.setitem(sys.modules, "cel", None)
    with pytest.raises(RuntimeError, match=r"pip install 'common-expression-language>=0.10,<0.11'"):
        validate_objects([SERVICE_ENTRY], [CRDS])


def test_meshfed_never_imports_clustercheck_or_cel():
    code = ("import sys, meshfed, meshfed.api; "
            "assert 'meshfed.clustercheck' not in sys.modules and 'cel' not in sys.modules; "
            "import meshfed.clustercheck; assert 'cel' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("text,nanos", [("1m30s", 90_000_000_000), ("1000µs", 1_000_000), ("1.5h", 5_400_000_000_000),
                                        ("-2ms", -2_000_000), ("0", 0), (".5s", 500_000_000)])
def test_durations_follow_go(text: str, nanos: int):
    assert parse_go_duration(text) == nanos


@pytest.mark.parametrize("text", ["5d", "", "1", "ms", "1.s.", "3 s"])
def test_durations_go_rejects(text: str):
    with pytest.raises(ValueError):
        parse_go_duration(text)


def test_duration_calls_are_routed_but_strings_are_left_alone():
    rule = "duration(self) >= duration('1ms') && self.duration(x) != \"duration(\" && r'''duration(''' != ''"
    assert route_duration_calls(rule) == \
        "goDuration(self) >= goDuration('1ms') && self.duration(x) != \"duration(\" && r'''duration(''' != ''"


def test_substring_errors_use_cel_go_wording():
    assert substring("unix:///a", 7, 8) == "/"
    with pytest.raises(IndexError, match="^index out of range: 8$"):
        substring("unix://", 7, 8)
    with pytest.raises(IndexError, match="^invalid substring range. start: 4, end: 3$"):
        substring("tacocat", 4, 3)


@pytest.mark.parametrize("host,other,covered", [
    ("a.b.c", "*.b.c", True), ("*.a.b", "*.b", True), ("*.b", "*.a.b", False), ("*.a.b", "a.a.b", False),
    ("foo-80.mesh.global", "*.foo.mesh.global", False), ("a.b", "a.b", True),
])
def test_sni_subset_semantics(host: str, other: str, covered: bool):
    assert host_subset_of(host, other) is covered


def test_cel_rule_options_message_expression_field_path_reason_and_transitions(tmp_path: Path):
    schema = {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "replicas": {"type": "integer"},
                               "ratio": {"type": "number"}},
                "x-kubernetes-validations": [
                    {"rule": "self.replicas < 5", "messageExpression": "'too many replicas: ' + string(self.replicas)"},
                    {"rule": "self.name != 'forbidden'", "message": "that name is reserved", "fieldPath": ".name",
                     "reason": "FieldValueForbidden"},
                    {"rule": "self.ratio > 0.5"},
                    {"rule": "self.replicas == oldSelf.replicas", "message": "replicas are immutable"},
                    {"rule": "!oldSelf.hasValue() || self.name == oldSelf.value().name", "optionalOldSelf": True,
                     "message": "never fails on create"},
                ],
            },
        },
    }
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced",
                    "names": {"kind": "Widget", "plural": "widgets"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": schema}}]}}
    (tmp_path / "widget.yaml").write_text(yaml.safe_dump(crd), encoding="utf-8")
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
              "spec": {"name": "forbidden", "replicas": 7, "ratio": 0}}
    assert [p.message for p in validate_objects([widget], [tmp_path])] == [
        'spec: Invalid value: "object": too many replicas: 7',
        "spec.name: Forbidden: that name is reserved",
        'spec: Invalid value: "object": failed rule: self.ratio > 0.5',
    ]
