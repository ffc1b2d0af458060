"""The render options' one check at its edges, through each source that gives options: a
document's spec, the CLI flags, a KRM functionConfig (a ConfigMap's `data`, another kind's
`spec`), Argo CD's plugin env and parameters. What a source gives beats what the document says
(False as much as True), an empty string means "not given", `allowEmpty` takes the booleans and
the strings `true`/`false` alone, and an unknown name or a bad value is an error naming its field."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from test_guards import application, command_line, krm_items


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return application(tmp_path, monkeypatch)


EMPTY = "nothing to render"  # the error (or, allowed, the warning) of a render with no object


def empty_document(**spec: Any) -> str:
    """A MeshFederation whose namespace tier renders nothing (no import, no export)."""
    return yaml.safe_dump({"apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation",
                           "metadata": {"name": "doc", "namespace": "apps"},
                           "spec": {"scope": "namespace", "layout": "v2", "values": {}, **spec}})


def krm(doc: str, config: dict[str, Any] | None, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]], str]:
    request: dict[str, Any] = {"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList",
                               "items": [yaml.safe_load(doc)]}
    if config is not None:
        request["functionConfig"] = config
    code, out, err = command_line(["krm"], monkeypatch, capsys, io.BytesIO(yaml.safe_dump(request).encode()))
    return code, krm_items(out)[1], err


def config_map(**data: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "options"}, "data": data}


def argocd(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: dict[str, str] | None = None,
           parameters: dict[str, str] | None = None) -> tuple[int, str, str]:
    for key, value in (env or {}).items():
        monkeypatch.setenv("ARGOCD_ENV_" + key, value)
    if parameters is not None:
        monkeypatch.setenv("ARGOCD_APP_PARAMETERS", json.dumps([{"name": k, "string": v} for k, v in parameters.items()]))
    return command_line(["argocd", "generate"], monkeypatch, capsys)


@pytest.mark.parametrize("allow, allowed", [(True, True), (False, False)])
def test_allow_empty_in_the_document(app: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str], allow: Any, allowed: bool) -> None:
    (app / "doc.yaml").write_text(empty_document(allowEmpty=allow))
    code, out, err = command_line(["render", "doc.yaml"], monkeypatch, capsys)
    assert (code, out) == (0 if allowed else 1, "") and EMPTY in err
    assert err.startswith("warning: ") == allowed


@pytest.mark.parametrize("value", ["True", "TRUE", "yes", "1", "on", 1, 0, ["true"]])
def test_allow_empty_takes_booleans_and_true_or_false_only(app: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str], value: Any) -> None:
    (app / "doc.yaml").write_text(empty_document(allowEmpty=value))  # a document's field: a boolean alone
    code, out, err = command_line(["render", "doc.yaml"], monkeypatch, capsys)
    assert (code, out) == (1, "") and "doc.yaml: spec.allowEmpty: must be a boolean" in err
    code, results, err = krm(empty_document(), config_map(allowEmpty=value), monkeypatch, capsys)
    assert code == 1 and any(r.get("field", {}).get("path") == "data.allowEmpty" and "must be true or false"
                             in r["message"] for r in results), results
    if isinstance(value, str):
        code, out, err = argocd(monkeypatch, capsys, env={"MESHFED_ALLOW_EMPTY": value})
        assert (code, out) == (1, "") and "plugin env: MESHFED_ALLOW_EMPTY: must be true or false" in err


@pytest.mark.parametrize("given, in_document, allowed", [
    (True, False, True), (False, True, False), (None, True, True), (None, False, False), (None, None, False)])
def test_a_source_beats_the_document_false_as_much_as_true(app: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str], given: bool | None,
                                                           in_document: bool | None, allowed: bool) -> None:
    spec = {} if in_document is None else {"allowEmpty": in_document}
    (app / "doc.yaml").write_text(empty_document(**spec))
    word = None if given is None else ("true" if given else "false")
    runs = {
        "krm": krm((app / "doc.yaml").read_text(), config_map(**({} if word is None else {"allowEmpty": word})),
                   monkeypatch, capsys),
        "argocd parameter": argocd(monkeypatch, capsys, parameters={} if word is None else {"allowEmpty": word}),
    }
    monkeypatch.delenv("ARGOCD_APP_PARAMETERS")
    runs["argocd env"] = argocd(monkeypatch, capsys, env={} if word is None else {"MESHFED_ALLOW_EMPTY": word})
    if given is not False:  # the flag says yes or nothing
        runs["render"] = command_line(["render", "doc.yaml"] + (["--allow-empty"] if given else []), monkeypatch, capsys)
    for route, (code, _, err) in runs.items():
        assert code == (0 if allowed else 1), (route, err)


def test_a_parameter_beats_the_plugin_env(app: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    (app / "doc.yaml").write_text(empty_document())
    code, _, err = argocd(monkeypatch, capsys, env={"MESHFED_ALLOW_EMPTY": "true"}, parameters={"allowEmpty": "false"})
    assert code == 1 and EMPTY in err
    code, _, err = argocd(monkeypatch, capsys, env={"MESHFED_ALLOW_EMPTY": "false"}, parameters={"allowEmpty": "true"})
    assert code == 0 and "warning: " in err


def _kinds(out: str) -> list[str]:
    return sorted(d["kind"] for d in yaml.safe_load_all(out) if d)


BOTH_LAYOUTS = {  # values either layout renders, both tiers
    "global": {"remote": [{"mesh": "west-mesh", "network": "west-network", "addresses": ["192.0.2.10"],
                           "port": 15443, "importedServices": ["a.mesh.global"]}],
               "defaultServicePorts": [{"number": 9080, "name": "http", "protocol": "HTTP"}],
               "local": {"export": [{"hostname": "b.mesh.global"}]}},
    "import": [{"hostname": "a.mesh.global"}],
    "export": [{"hostname": "b.mesh.global", "labelSelector": {"app": "b"}}],
}


@pytest.mark.parametrize("option, flag, value", [
    ("scope", ["--scope", "namespace"], "namespace"),
    ("layout", ["--layout", "v2"], "v2"),
    ("namespace", ["-n", "other"], "other"),
])
def test_each_option_given_beats_the_document(app: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str], option: str, flag: list[str],
                                              value: str) -> None:
    """A document saying scope all, layout v1, namespace apps, rendered with one option given
    otherwise: by a flag, by the plugin env (an empty entry: not given) and by a KRM ConfigMap."""
    doc = yaml.safe_dump({"apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation",
                          "metadata": {"name": "doc", "namespace": "apps"},
                          "spec": {"scope": "all", "layout": "v1", "values": BOTH_LAYOUTS}})
    (app / "doc.yaml").write_text(doc)
    plain = command_line(["render", "doc.yaml"], monkeypatch, capsys)
    given = command_line(["render", "doc.yaml", *flag], monkeypatch, capsys)
    assert plain[0] == given[0] == 0 and plain[1] != given[1], (plain[2], given[2])
    env_name = {"scope": "MESHFED_SCOPE", "layout": "MESHFED_LAYOUT", "namespace": "MESHFED_NAMESPACE"}[option]
    code, out, err = argocd(monkeypatch, capsys, env={env_name: value})
    assert (code, out) == (0, given[1]), err
    code, out, err = argocd(monkeypatch, capsys, env={env_name: ""})  # empty: not given
    assert (code, out) == (0, plain[1]), err
    code, _, err = krm(doc, config_map(**{option: value}), monkeypatch, capsys)
    code_plain, _, _ = krm(doc, config_map(), monkeypatch, capsys)
    assert code == code_plain == 0, err


@pytest.mark.parametrize("raw, field, message", [
    ({"scop": "mesh"}, "data.scop", "unknown option (known: scope, layout, namespace, allowEmpty, apiVersions, kubeVersion)"),
    ({"scope": "Mesh"}, "data.scope", "'Mesh' is not one of mesh, namespace, all"),
    ({"layout": "V2"}, "data.layout", "'V2' is not one of v1, v2"),
    ({"namespace": "Not_A_Label"}, "data.namespace", "'Not_A_Label' is not a valid namespace name (a DNS label)"),
])
def test_bad_options_in_a_config_map_name_their_field(app: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str], raw: dict[str, Any],
                                                      field: str, message: str) -> None:
    code, results, err = krm(empty_document(allowEmpty=True), config_map(**raw), monkeypatch, capsys)
    assert code == 1
    assert [r for r in results if r.get("field") == {"path": field} and r["message"] == message], results
    assert f"functionConfig: {field}: {message}" in err


@pytest.mark.parametrize("raw, allowed", [({"scope": "", "layout": "", "namespace": ""}, False),
                                          ({"scope": None, "allowEmpty": None}, False),
                                          ({"scope": "", "allowEmpty": "true"}, True)])
def test_empty_and_null_options_are_not_given(app: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str], raw: dict[str, Any],
                                              allowed: bool) -> None:
    config = {"apiVersion": "example.com/v1", "kind": "MeshFederationOptions", "metadata": {"name": "o"}, "spec": raw}
    code, results, err = krm(empty_document(), config, monkeypatch, capsys)
    assert code == (0 if allowed else 1), results
    assert [r["severity"] for r in results] == ["warning" if allowed else "error"] and EMPTY in results[0]["message"]


def test_a_non_string_option_says_what_it_is(app: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    config = {"apiVersion": "example.com/v1", "kind": "MeshFederationOptions", "metadata": {"name": "o"},
              "spec": {"scope": 5, "layout": ["v1"]}}
    code, results, err = krm(empty_document(), config, monkeypatch, capsys)
    assert code == 1
    assert {(r["field"]["path"], r["message"]) for r in results if "field" in r} == {
        ("spec.scope", "must be a string, got int"), ("spec.layout", "must be a string, got list")}


def test_an_unknown_plugin_env_entry_lists_the_known_ones(app: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    (app / "doc.yaml").write_text(empty_document(allowEmpty=True))
    code, out, err = argocd(monkeypatch, capsys, env={"MESHFED_SCOP": "mesh"})
    assert (code, out) == (1, "")
    assert ("plugin env: MESHFED_SCOP: unknown option (known: MESHFED_ALLOW_EMPTY, MESHFED_LAYOUT, "
            "MESHFED_NAMESPACE, MESHFED_SCOPE)") in err
