"""Cases transcribed from other projects' test suites (tests/data/peers/, see its README): values
files as helm v4 reads them (every expectation also checked against the pinned helm when
`.tools/bin/helm` exists), RFC 6902 patches, and the KRM functions spec's Result."""
from __future__ import annotations

import base64
import json
import math
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshfed.values.diagnostics import InputError
from meshfed.values.meshfederation import Patch
from meshfed.values.merge import Layer, merge_layers
from meshfed.pipeline import _apply_patches
from meshfed.values.schema import validate
from meshfed.values.yamlio import parse_values

from support import REPO, helm_executable

PEERS = REPO / "tests" / "data" / "peers"


HELM = helm_executable()


def _input(case: dict[str, Any]) -> str:
    if "input_repeat" in case:
        r = case["input_repeat"]
        return r["prefix"] + r["repeat"] * r["times"] + r["suffix"]
    return case["input"]


def _want(case: dict[str, Any]) -> Any:
    if "want_repeat" in case:
        r = case["want_repeat"]
        return {r["key"]: r["repeat"] * r["times"]}
    return case["want"]


VALUE_CASES = [(f"{path.stem}: {case['name']}", case) for path in sorted(PEERS.glob("values-*.yaml"))
               for case in yaml.safe_load(path.read_text("utf-8"))]


def norm(value: Any) -> Any:
    """As helm's `toJson .Values` shows a value: keys as Go writes them, numbers as floats."""
    if isinstance(value, dict):
        return {_key(k): norm(v) for k, v in value.items()}
    if isinstance(value, list):
        return [norm(v) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, float) and math.isinf(key):
        return "+Inf" if key > 0 else "-Inf"
    return str(key)


@pytest.mark.parametrize("name,case", VALUE_CASES, ids=[n for n, _ in VALUE_CASES])
def test_values_cases(name: str, case: dict[str, Any]) -> None:
    text = _input(case)
    if "error" in case:
        with pytest.raises(InputError) as exc:
            parse_values(text, "values.yaml")
        assert case["error"] in str(exc.value), str(exc.value)
    else:
        assert norm(parse_values(text, "values.yaml")) == norm(_want(case))


def test_every_deviation_says_why() -> None:
    for name, case in VALUE_CASES:
        assert ("deviation" in case) == ("helm" in case), name
        assert "deviation" not in case or case["deviation"], name


@pytest.fixture(scope="module")
def helm_values(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """What helm gives for each case: its values, or None where it fails."""
    if HELM is None:
        pytest.skip("helm not found (HELM or .tools/bin/helm)")
    root = tmp_path_factory.mktemp("peers")
    (root / "t" / "templates").mkdir(parents=True)
    (root / "t" / "Chart.yaml").write_text("apiVersion: v2\nname: t\nversion: 0.1.0\n")
    (root / "t" / "templates" / "values.yaml").write_text("v: {{ toJson .Values | b64enc }}\n")

    def run(n_case: tuple[int, tuple[str, dict[str, Any]]]) -> Any:
        n, (_, case) = n_case
        values = root / f"values-{n}.yaml"
        values.write_bytes(_input(case).encode("utf-8"))
        proc = subprocess.run([str(HELM), "template", "r", str(root / "t"), "-f", str(values)],
                              capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            return None
        line = next(x for x in proc.stdout.splitlines() if x.startswith("v: "))
        return json.loads(base64.b64decode(line[3:]))

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(run, enumerate(VALUE_CASES)))


def test_values_cases_agree_with_helm(helm_values: list[Any]) -> None:
    wrong = []
    for (name, case), got in zip(VALUE_CASES, helm_values):
        if "deviation" in case:
            want = case["helm"]
        else:
            want = None if "error" in case else _want(case)
        if (got is None) != (want is None) or (want is not None and norm(got) != norm(want)):
            wrong.append(f"{name}\n  helm:     {got}\n  expected: {want}")
    assert not wrong, "\n".join(wrong)


# --- RFC 6902 ------------------------------------------------------------------------------------

PATCH_CASES = yaml.safe_load((PEERS / "json-patch.yaml").read_text("utf-8"))


@pytest.mark.parametrize("case", PATCH_CASES, ids=[c["name"] for c in PATCH_CASES])
def test_json_patch_cases(case: dict[str, Any]) -> None:
    merged = merge_layers([Layer("values.yaml", case["doc"])])
    problems = _apply_patches(merged, [Patch("doc.yaml", i, op) for i, op in enumerate(case["patch"])])
    if "error" in case:
        assert problems and case["error"] in problems[0].message, [str(p) for p in problems]
    else:
        assert not problems and merged.values == case["expected"], [str(p) for p in problems]
    # the schema of the document accepts every entry: members an operation does not define are ignored
    document = {"apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation", "metadata": {"name": "x"},
                "spec": {"patches": case["patch"]}}
    _, schema_problems = validate(document, "meshfederation")
    assert not schema_problems, [p.message for p in schema_problems]


# --- the KRM functions spec ----------------------------------------------------------------------

KRM = yaml.safe_load((PEERS / "krm.yaml").read_text("utf-8"))
FC = ("functionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: opts}\n"
      "  data: {allowEmpty: 'true'}\n")


def _krm(text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict[str, Any], str]:
    import io

    from meshfed.routes import krm
    (tmp_path / ".git").mkdir(exist_ok=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MESHFED_ROOT", raising=False)
    out, err = io.StringIO(), io.StringIO()
    code = krm.run(io.BytesIO(text.encode("utf-8")), out, err)
    return code, yaml.safe_load(out.getvalue()), out.getvalue()


BAD_DOCUMENT = """\
- apiVersion: meshfed.io/v1alpha1
  kind: MeshFederation
  metadata: {name: team, namespace: team-a, annotations: {config.kubernetes.io/path: sub/mf.yaml}}
  spec: {scope: namespace, layout: v2, values: {export: [{hostname: NOT_A_HOST, labelSelector: {app: a}}]}}
"""
RESULT_INPUTS = {
    "a bad functionConfig option": "kind: ResourceList\nitems: []\n" + FC.replace("allowEmpty: 'true'", "scope: nope"),
    "functionConfig data not a map": "kind: ResourceList\nitems: []\n" + FC.replace("{allowEmpty: 'true'}", "[x]"),
    "items not a list": "kind: ResourceList\nitems: 3\n",
    "an item not a map": "kind: ResourceList\nitems: [3]\n",
    "a MeshFederation item with a bad hostname": "kind: ResourceList\nitems:\n" + BAD_DOCUMENT,
}


@pytest.mark.parametrize("name", RESULT_INPUTS)
def test_results_fit_the_spec_result_schema(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import jsonschema

    code, rl, _ = _krm(RESULT_INPUTS[name], tmp_path, monkeypatch)
    assert code == 1 and rl["results"]
    validator = jsonschema.Draft202012Validator(KRM["result_schema"])
    for entry in rl["results"]:
        assert not list(validator.iter_errors(entry)), entry
        assert entry.get("file", {}).get("path") != "functionConfig"


def test_a_bad_function_config_option_names_the_config_as_its_resource(tmp_path, monkeypatch) -> None:
    _, rl, _ = _krm(RESULT_INPUTS["a bad functionConfig option"], tmp_path, monkeypatch)
    [entry] = [r for r in rl["results"] if "field" in r]
    assert entry["resourceRef"] == {"apiVersion": "v1", "kind": "ConfigMap", "name": "opts"}
    assert entry["field"] == {"path": "data.scope"} and "file" not in entry


def test_items_passed_through_come_back_as_they_came(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entries = ["- " + item.rstrip("\n").replace("\n", "\n  ") + "\n" for item in KRM["passthrough"]]
    text = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n" + "".join(entries) + FC
    code, rl, out = _krm(text, tmp_path, monkeypatch)
    assert code == 0, rl
    assert "".join(entries) in out
    assert rl["items"] == yaml.safe_load(text)["items"]
