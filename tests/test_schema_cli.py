"""The `meshfed` command line: the JSON Schemas it prints, help, usage errors, exit codes, and
no traceback for bad input."""
from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.main import get_command
from typer.testing import CliRunner

from meshfed.routes.cli import app
from meshfed.federation.scaffold import GENERATED

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "tests" / "examples"
MESHFED = Path(sys.executable).parent / "meshfed"
CASES = REPO / "tests" / "cases"


def invoke(*args: str, cwd: Path | None = None):
    with contextlib.chdir(cwd or REPO):
        return CliRunner().invoke(app, list(args), prog_name="meshfed")


def federation_documents() -> list[Path]:
    """Real MeshFederation documents: the repository's overlays and those of the golden cases that
    render successfully (exit 0)."""
    valid_cases = [d for d in CASES.glob("doc-*") if yaml.safe_load((d / "case.yaml").read_text())["exit"] == 0]
    candidates = [*REPO.glob("overlays/**/*.yaml"), *(p for d in valid_cases for p in d.glob("**/*.yaml"))]
    return sorted(p for p in candidates if "kind: MeshFederation" in p.read_text("utf-8"))


@pytest.fixture(scope="module")
def document_schema() -> dict:
    result = invoke("schema")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def values_schema() -> dict:
    result = invoke("schema", "--values")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_the_printed_schemas_are_valid_json_schema(document_schema: dict, values_schema: dict) -> None:
    for schema in (document_schema, values_schema):
        validator = jsonschema.validators.validator_for(schema)
        validator.check_schema(schema)
        assert schema["$schema"].startswith("https://json-schema.org/")
    # self-contained: no reference leaves the document
    text = json.dumps(document_schema)
    assert "values.schema.json" not in text.replace('"$id": "https://meshfed.io/schema/values.schema.json"', "")


def test_the_console_script_prints_the_same_schema(document_schema: dict) -> None:
    proc = subprocess.run([str(MESHFED), "schema"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == ""
    assert json.loads(proc.stdout) == document_schema


@pytest.mark.parametrize("name,args", [("meshfederation.schema.json", []), ("values.schema.json", ["--values"]),
                                       ("federation.schema.json", ["--federation"])])
def test_the_committed_editor_schemas_are_what_meshfed_schema_prints(name: str, args: list[str]) -> None:
    """schema/ holds the files the examples' yaml-language-server lines name (the package's own
    schema files are the generator's: stricter, and with a reference editors cannot follow)."""
    result = invoke("schema", *args)
    assert result.exit_code == 0, result.stderr
    command = " ".join(["meshfed schema", *args])
    assert (REPO / "schema" / name).read_text("utf-8") == result.stdout, f"stale: run `{command} > schema/{name}`"


def example_files() -> list[Path]:
    """The example documents and values files people edit: overlays/ (not what `meshfed federation
    scaffold` writes there, whose first line says so) and the kustomize examples."""
    return sorted(p for top in ("overlays", "kustomize/examples") for p in (REPO / top).rglob("*.yaml")
                  if p.name != "kustomization.yaml" and not p.read_text("utf-8").startswith(GENERATED))


@pytest.mark.parametrize("path", example_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_examples_name_their_schema_on_the_first_line_and_validate_against_it(path: Path) -> None:
    text = path.read_text("utf-8")
    line = re.match(r"# yaml-language-server: \$schema=(\S+)\n", text)
    assert line, "the first line is not `# yaml-language-server: $schema=<path>`"
    doc = yaml.safe_load(text)
    expected = {"MeshFederation": "meshfederation.schema.json",
                "Federation": "federation.schema.json"}.get(doc.get("kind"), "values.schema.json")
    schema = (path.parent / line.group(1)).resolve()  # relative to the file, as the language server reads it
    assert schema == REPO / "schema" / expected
    assert [e.message for e in _validator(json.loads(schema.read_text("utf-8"))).iter_errors(doc)] == []


def _validator(schema: dict):
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _has_null(value) -> bool:
    if isinstance(value, dict):
        return any(v is None or _has_null(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_null(v) for v in value)
    return False


def test_real_meshfederation_documents_validate(document_schema: dict) -> None:
    """(Documents that remove a default with a null are covered by the test below.)"""
    documents = federation_documents()
    assert len(documents) >= 5, documents
    validator = _validator(document_schema)
    checked = 0
    for path in documents:
        for doc in yaml.safe_load_all(path.read_text("utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == "MeshFederation" and not _has_null(doc):
                errors = [e.message for e in validator.iter_errors(doc)]
                assert errors == [], f"{path}: {errors}"
                checked += 1
    assert checked >= 5


def test_the_federation_schema_accepts_real_federations_and_refuses_broken_ones() -> None:
    result = invoke("schema", "--federation")
    assert result.exit_code == 0, result.stderr
    schema = json.loads(result.stdout)
    jsonschema.validators.validator_for(schema).check_schema(schema)
    assert "values.schema.json#" not in json.dumps(schema)  # self-contained
    validator = _validator(schema)
    found = {p: yaml.safe_load(p.read_text("utf-8"))
             for p in sorted([*REPO.glob("overlays/*.yaml"), *CASES.glob("fed-*/**/*.yaml")]) if "-errors" not in str(p)}
    federations = {p: doc for p, doc in found.items() if isinstance(doc, dict) and doc.get("kind") == "Federation"}
    assert len(federations) >= 5, federations
    for path, doc in federations.items():
        assert [e.message for e in validator.iter_errors(doc)] == [], path
    broken = yaml.safe_load((CASES / "fed-errors-values" / "federation.yaml").read_text("utf-8"))
    assert [e.message for e in validator.iter_errors(broken)]  # configNamespace Istio_System, port 99999
    assert invoke("schema", "--federation", "--values").exit_code == 2


def test_a_null_that_removes_a_default_validates(document_schema: dict) -> None:
    doc = {"apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation", "metadata": {"name": "x"},
           "spec": {"values": {"global": {"configNamespace": None,
                                          "gateways": {"ingress": {"selector": {"app": None, "istio": "ew"}}}}}}}
    assert [e.message for e in _validator(document_schema).iter_errors(doc)] == []


def test_invalid_documents_do_not_validate(document_schema: dict) -> None:
    validator = _validator(document_schema)
    good = {"apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation", "metadata": {"name": "x"},
            "spec": {"scope": "mesh", "values": {"global": {"remote": [{"mesh": "a", "network": "n"}]}}}}
    assert list(validator.iter_errors(good)) == []
    bad_cases = [
        {**good, "apiVersion": "meshfed.io/v1"},
        {**good, "spec": {"scope": "cluster"}},
        {**good, "spec": {"bases": []}},
        {**good, "spec": {"values": {"global": {"remote": [{"network": "n"}]}}}},  # mesh required
        {**good, "spec": {"values": {"global": {"defaultServicePorts": [{"number": 0, "name": "a",
                                                                          "protocol": "TCP"}]}}}},
        {**good, "spec": {"values": {"imports": []}}},
        {**good, "spec": {"patches": [{"op": "add"}]}},
    ]
    for doc in bad_cases:
        assert list(validator.iter_errors(doc)), doc


def test_the_values_schema_accepts_the_charts_values_files(values_schema: dict) -> None:
    validator = _validator(values_schema)
    files = sorted(EXAMPLES.glob("**/*.yaml"))
    assert files
    for path in files:
        data = yaml.safe_load(path.read_text("utf-8")) or {}
        assert [e.message for e in validator.iter_errors(data)] == [], path


# --- help, usage errors, exit codes ---------------------------------------------------------

COMMANDS = sorted(get_command(app).commands)


def test_the_commands_are_there() -> None:
    assert {"render", "validate", "schema"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_every_command_exits_0(command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Usage: meshfed {command}")
    assert invoke(command, "-h").exit_code == 0


def test_top_level_help_exits_0_from_the_console_script() -> None:
    proc = subprocess.run([str(MESHFED), "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("Usage: meshfed")
    for command in ("render", "validate", "schema"):
        assert command in proc.stdout


@pytest.mark.parametrize("args", [
    ["render"],
    ["validate"],
    ["render", "-f", "x.yaml", "--scope", "cluster"],
    ["render", "-f", "x.yaml", "--layout", "v3"],
    ["render", "-f", "x.yaml", "-o", "xml"],
    ["render", "-f", "x.yaml", "-n", "Not_A_Namespace"],
    ["render", "-f"],
    ["render", "--no-such-option"],
    ["schema", "--bogus"],
    ["no-such-command"],
])
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == ""
    assert "Error" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("files, expected", [
    ({"values.yaml": "global: [\n"}, "invalid YAML"),
    ({"values.yaml": "global:\n  configNamespace: on\n"}, "quote the value"),
    ({"values.yaml": "a: &a\n  b: *a\n"}, "refers to itself"),
    ({"values.yaml": "- 1\n"}, "must hold a map"),
    ({"values.yaml": b"global: \xfe\n"}, "not UTF-8"),
    ({"values.yaml": "global:\n  egressGateway: {}\n  gateways: {}\n"}, "cannot decide the layout"),
])
def test_invalid_input_exits_1_without_traceback(tmp_path: Path, files: dict, expected: str) -> None:
    for name, content in files.items():
        (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    for command in ("render", "validate"):
        result = invoke(command, "-f", "values.yaml", cwd=tmp_path)
        assert result.exit_code == 1, result.output
        assert result.stdout == ""
        assert expected in result.stderr and "Traceback" not in result.stderr
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_missing_inputs_exit_1_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "empty-dir").mkdir()
    for args, expected in [(["-f", "missing.yaml"], "no such file"), (["-f", "dir"], "is a directory"),
                           (["missing.yaml"], "no such file"), (["empty-dir"], "no MeshFederation documents")]:
        result = invoke("render", *args, cwd=tmp_path)
        assert result.exit_code == 1 and result.stdout == "", result.output
        assert expected in result.stderr and "Traceback" not in result.stderr


def test_the_console_script_prints_no_traceback_for_bad_input(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text("global:\n  remote: [{mesh: 1}]\n  configNamespace: [\n", "utf-8")
    proc = subprocess.run([str(MESHFED), "render", "-f", "values.yaml", "-f", "missing.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") >= 2  # every problem is reported: both files
    assert "values.yaml: invalid YAML" in proc.stderr and "missing.yaml: no such file" in proc.stderr


def test_validate_reports_and_exits_0_for_valid_input(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text(
        "global:\n  gateways:\n    ingress:\n      selector: {istio: ew}\n  local:\n    export:\n"
        "    - hostname: a.mesh.global\n", "utf-8")
    result = invoke("validate", "-f", "values.yaml", cwd=tmp_path)
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr.endswith("valid: 1 resources, 1 warnings\n")


def test_editor_schema_takes_plain_local_export_port_numbers() -> None:
    """`ports: [9080]` under global.local.export is valid for editors as for the generator."""
    import jsonschema

    from meshfed.values.schema import editor_values_schema
    schema = editor_values_schema()
    ok = {"global": {"local": {"export": [{"hostname": "a.mesh.global", "ports": [9080, {"number": 9443}]}]}}}
    jsonschema.validate(ok, schema)
    for bad in (["9080"], [0], [{"name": "http"}]):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"global": {"local": {"export": [{"hostname": "a.mesh.global", "ports": bad}]}}},
                                schema)
