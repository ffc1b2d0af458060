"""The option table (`meshfed.values.options.TABLE`) is the one declaration of the render options: every
row reaches every source it names (typer's help and parameters, the fast parser, the Argo CD env
entries, parameters and announcement, the KRM functionConfig, the document and its JSON Schema),
and no other module spells an option's own names."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any, List, Optional

import pytest
import typer
from typer.testing import CliRunner

from meshfed.routes import argocd, krm

from meshfed.values import options
from meshfed.routes.cli import FILES, app, render_flags
from meshfed.routes.flags import FLAGS, RenderArgs, parse_render, set_kind
from meshfed.values.options import (API_VERSIONS, ASSIGNMENT, CORE, DIRECTORY, INPUT, KUBE_VERSION, NAMESPACE,
                             OUTPUT_DIRECTORY, SWITCH, TABLE, Option)
from meshfed.values.schema import bundled_schema, load_schema

PACKAGE = Path(options.__file__).parent.parent  # the meshfed package
runner = CliRunner()


def sample(option: Option) -> str:
    """A value of the option as a string (what a command line, an env entry or a ConfigMap holds)."""
    if option.choices:
        return option.choices[-1]  # never the default
    return {NAMESPACE: "team-a", SWITCH: "true", DIRECTORY: ".", INPUT: "values.yaml",
            ASSIGNMENT: "a.b=c", API_VERSIONS: "networking.istio.io/v1", KUBE_VERSION: "1.30",
            OUTPUT_DIRECTORY: "out"}[option.kind]


def expected(option: Option) -> Any:
    """What the core (or the command line, for its own flags) reads from `sample`."""
    return True if option.kind == SWITCH else (sample(option),) if option.kind == API_VERSIONS else sample(option)


def flag_args(option: Option) -> list[str]:
    return [option.flags[0]] if option.kind == SWITCH else [option.flags[0], sample(option)]


def test_every_row_is_complete() -> None:
    assert len({o.name for o in TABLE}) == len({o.dest for o in TABLE}) == len(TABLE)
    for option in TABLE:
        assert option.help and (option.flags or option.core), option.name
        if option.core and option.cluster:  # what the cluster serves: KRM, and what Argo CD says of it
            assert option.krm and not (option.document or option.env or option.parameter), option.name
        elif option.core:  # what the core renders with: every source but the command line's own flags
            assert option.document and option.env and option.parameter and option.krm, option.name
            assert option.parameter.name == option.name and option.parameter.collection == "string"


def test_options_of_the_core_are_the_core_rows() -> None:
    assert options.Options.__slots__ == tuple(o.dest for o in CORE)
    assert set(options.Options.__annotations__) == {o.dest for o in CORE}
    given = options.Options(**{o.dest: expected(o) for o in CORE})
    assert all(getattr(given, o.dest) == expected(o) for o in CORE)
    assert all(getattr(options.Options().over(given), o.dest) == expected(o) for o in CORE)
    with pytest.raises(TypeError):
        options.Options("mesh")  # keyword arguments only: the table's order is no contract
    with pytest.raises(TypeError):
        options.Options(output="json")  # a flag of the command line, not of the core


@pytest.mark.parametrize("command", ["render", "validate"])
def test_every_flag_is_in_typers_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for option in FLAGS:
        if command == "validate" and option.dest in ("output", "output_dir"):
            continue
        for name in option.flags:
            assert re.search(rf"(^|[ ,]){re.escape(name)}\b", text), (command, name)
        assert " ".join(option.help.split())[:60] in text, (command, option.name)


@pytest.mark.parametrize("option", FLAGS, ids=lambda o: o.name)
def test_every_flag_reads_the_same_through_both_parsers(option: Option, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast parser and the typer parameters built from the same row give the same RenderArgs."""
    monkeypatch.chdir(tmp_path)
    args = ["doc.yaml", *flag_args(option)]
    fast = parse_render(args)
    assert fast is not None, args
    if set_kind(option):
        assert fast.sets == ((set_kind(option), sample(option)),)
    else:
        assert getattr(fast, option.dest) == ([sample(option)] if option.repeat else expected(option))

    seen: list[RenderArgs] = []
    probe = typer.Typer()

    @probe.command()
    @render_flags()
    def render(files: Optional[List[Path]] = FILES, *, flags: RenderArgs) -> None:
        seen.append(flags)

    @probe.command()
    def other() -> None:  # two commands: typer then takes the command's name
        """Unused."""

    result = runner.invoke(probe, ["render", *args])
    assert result.exit_code == 0, result.output
    typed = seen[0]
    assert [str(f) for f in typed.files] == fast.files and typed.sets == fast.sets
    value = getattr(typed, option.dest)
    assert ([str(v) for v in value] if option.repeat else str(value) if option.kind == DIRECTORY else value) \
        == getattr(fast, option.dest)


@pytest.mark.parametrize("option", [o for o in FLAGS if o.choices or o.kind == NAMESPACE], ids=lambda o: o.name)
def test_the_fast_parser_declines_what_typer_refuses(option: Option, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert parse_render(["doc.yaml", option.flags[0], "Not_Valid"]) is None
    result = runner.invoke(app, ["render", "doc.yaml", option.flags[0], "Not_Valid"])
    assert result.exit_code == 2 and "Not_Valid" in result.output


def test_every_core_option_is_an_argocd_env_entry_and_parameter() -> None:
    rows = [o for o in CORE if o.env]
    env = {f"ARGOCD_ENV_{o.env}": sample(o) for o in rows}
    assert all(getattr(argocd.settings(env).options, o.dest) == expected(o) for o in rows)
    params = [{"name": o.parameter.name, "string": sample(o)} for o in rows if o.parameter]
    asked = argocd.settings({"ARGOCD_APP_PARAMETERS": json.dumps(params)})
    assert asked.problems == []
    assert all(getattr(asked.options, o.dest) == expected(o) for o in rows)


def test_what_argocd_says_of_the_cluster_is_read() -> None:
    """KUBE_VERSION and KUBE_API_VERSIONS, as Argo CD sets them for helm (`v1`, `v1/ConfigMap`...)."""
    rows = [o for o in CORE if o.cluster]
    assert {o.cluster for o in rows} == {"KUBE_VERSION", "KUBE_API_VERSIONS"}
    asked = argocd.settings({o.cluster: sample(o) for o in rows})
    assert asked.problems == [] and all(getattr(asked.options, o.dest) == expected(o) for o in rows)
    listed = argocd.settings({"KUBE_API_VERSIONS": "v1,v1/ConfigMap,example.com/stable,networking.istio.io/v1"})
    assert listed.options.api_versions == ("v1", "v1/ConfigMap", "example.com/stable", "networking.istio.io/v1")
    assert argocd.settings({"KUBE_API_VERSIONS": "", "KUBE_VERSION": ""}).options.api_versions is None
    wrong = argocd.settings({"KUBE_VERSION": "latest"})
    assert [str(d) for d in wrong.problems] == [
        "Argo CD's cluster env: KUBE_VERSION: 'latest' is not a Kubernetes version (such as 1.30 or v1.30.2)"]


def test_the_argocd_announcement_is_the_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    assert argocd.run("parameters", out, err) == 0, err.getvalue()
    announced = json.loads(out.getvalue())
    parameters = [o.parameter for o in TABLE if o.parameter]
    assert sorted(a["name"] for a in announced) == sorted(p.name for p in parameters)
    for p in parameters:
        entry = next(a for a in announced if a["name"] == p.name)
        assert (entry["title"], entry["tooltip"], entry["collectionType"]) == (p.title, p.tooltip, p.collection)


@pytest.mark.parametrize("option", [o for o in TABLE if o.krm], ids=lambda o: o.name)
def test_every_krm_option_is_read_from_a_function_config(option: Option) -> None:
    for config in ({"kind": "ConfigMap", "data": {option.name: sample(option)}},
                   {"kind": "Settings", "spec": {option.name: sample(option)}}):
        read, problems = krm._options(config)
        assert problems == [] and getattr(read, option.dest) == expected(option)


@pytest.mark.parametrize("option", [o for o in TABLE if o.document], ids=lambda o: o.name)
def test_every_document_field_is_read_and_in_the_schema(option: Option) -> None:
    section, _, key = option.document.partition(".")
    doc = {"apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation", "metadata": {"name": "x"}, "spec": {}}
    doc[section][key] = expected(option)
    assert getattr(options.declared(doc), option.dest) == expected(option)
    for schema in (load_schema("meshfederation"), bundled_schema("meshfederation")):
        assert schema["properties"][section]["properties"][key] == option.schema()
    # The package's schema file holds where the field goes, not a copy of what the table says.
    raw = json.loads((PACKAGE / "values" / "schema" / "meshfederation.schema.json").read_text("utf-8"))
    assert set(raw["properties"][section]["properties"][key]) == {"$comment"}


def _spellings() -> set[str]:
    """What names one option and nothing else: env entries, names that are not plain words
    (`allowEmpty`), and the long flags of switches (`--allow-empty`)."""
    found = {o.env for o in TABLE if o.env}
    found |= {n for o in TABLE for n in (o.name, o.parameter.name if o.parameter else "") if n != n.lower()}
    found |= {f for o in TABLE if o.kind == SWITCH for f in o.flags if f.startswith("--")}
    return found


# options.py declares the options; argocdapps.py reads Argo CD's own Application fields (its
# `helm.valueFiles` is the chart Application's list, not the plugin parameter of that name).
NOT_OPTIONS = ("values/options.py", "federation/argocdapps.py")


def test_no_other_module_spells_an_option() -> None:
    spellings = _spellings()
    assert {"allowEmpty", "MESHFED_ALLOW_EMPTY", "--allow-empty", "valueFiles"} <= spellings
    pattern = re.compile("|".join(rf"(?<![\w-]){re.escape(s)}(?![\w-])" for s in sorted(spellings)))
    offenders = [f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}"
                 for path in sorted(PACKAGE.rglob("*.py")) if path.relative_to(PACKAGE).as_posix() not in NOT_OPTIONS
                 for n, line in enumerate(path.read_text("utf-8").splitlines(), 1) if pattern.search(line)]
    assert offenders == []
