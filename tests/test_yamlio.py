"""Reading values as Helm does (go-yaml v2, YAML 1.1): scalars, duplicate keys, hostile files
(chart-behavior.md 2.1), and the emitter's quoting (F4)."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from meshfed import yamlio
from meshfed.diagnostics import InputError
from meshfed.output import dump_yaml
from meshfed.source import load_values_file
from meshfed.yamlio import parse_all


def scalar(text: str):
    return parse_all(f"v: {text}\n", "t.yaml")[0]["v"]


@pytest.mark.parametrize("text", ["y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"])
def test_go_yaml_true(text: str) -> None:
    assert scalar(text) is True


@pytest.mark.parametrize("text", ["n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE"])
def test_go_yaml_false(text: str) -> None:
    assert scalar(text) is False


@pytest.mark.parametrize("text, value", [
    ("1e3", 1000.0), ("1.5", 1.5), ("1.10", 1.1), (".5", 0.5), ("-2.5e-1", -0.25), ("12e03", 12000.0),
])
def test_go_yaml_floats(text: str, value: float) -> None:
    result = scalar(text)
    assert isinstance(result, float) and result == value


def test_go_yaml_special_floats() -> None:
    assert scalar(".inf") == math.inf and scalar("-.inf") == -math.inf
    assert math.isnan(scalar(".nan"))


@pytest.mark.parametrize("text, value", [
    ("15443", 15443), ("-1", -1), ("+7", 7), ("0", 0), ("0x1F", 31), ("010", 8), ("0b101", 5), ("1_000", 1000),
])
def test_go_yaml_ints(text: str, value: int) -> None:
    result = scalar(text)
    assert type(result) is int and result == value


@pytest.mark.parametrize("text", ["2001-12-14", "2001-12-14t21:59:43.10-05:00", "1:20", "190:20:30", "0o17",
                                  "=", "<<x", "1.2.3", "192.168.2.10", "2001:db8::10", "v1", "1e", "0x", "yes!"])
def test_go_yaml_strings(text: str) -> None:
    """Timestamps, sexagesimal numbers and the like are strings for go-yaml v2 (unlike PyYAML)."""
    assert scalar(text) == text


@pytest.mark.parametrize("text", ["~", "null", "Null", "NULL", ""])
def test_go_yaml_null(text: str) -> None:
    assert scalar(text) is None


def test_quoted_scalars_stay_strings() -> None:
    assert parse_all("a: 'on'\nb: \"1e3\"\nc: !!str 15443\n", "t.yaml")[0] == {"a": "on", "b": "1e3", "c": "15443"}


def test_merge_keys_work() -> None:
    doc = parse_all("base: &b {port: 1, name: x}\nother:\n  <<: *b\n  extra: 2\n", "t.yaml")[0]
    assert doc["other"] == {"port": 1, "name": "x", "extra": 2}


def test_an_explicit_key_overrides_a_merged_one() -> None:
    doc = parse_all("base: &b {port: 1, name: x}\nother:\n  <<: *b\n  port: 2\n", "t.yaml")[0]
    assert doc["other"] == {"port": 2, "name": "x"}


def test_duplicate_keys_are_an_error_with_the_line() -> None:
    with pytest.raises(InputError) as exc:
        parse_all("global:\n  port: 1\n  port: 2\n", "dup.yaml")
    (d,) = exc.value.diagnostics
    assert d.severity == "error" and d.file == "dup.yaml"
    assert "duplicate key 'port'" in d.message and "line 3" in d.message


def test_duplicate_keys_after_go_yaml_resolution_are_an_error() -> None:
    """`on` and `true` are the same key once resolved."""
    with pytest.raises(InputError, match="duplicate key"):
        parse_all("m:\n  on: 1\n  true: 2\n", "dup.yaml")


def test_malformed_yaml_is_an_error_with_line_and_column() -> None:
    with pytest.raises(InputError) as exc:
        parse_all("a: [1, 2\nb: 3\n", "bad.yaml")
    (d,) = exc.value.diagnostics
    assert d.file == "bad.yaml" and d.message.startswith("invalid YAML: line ")


def test_an_alias_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlio, "MAX_NODES", 10_000)
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefg", "bcdefgh"):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(InputError, match="excessive YAML aliasing"):
        parse_all("\n".join(lines) + "\n", "bomb.yaml")


def test_ordinary_aliases_are_accepted() -> None:
    """(The real limit of 1,000,000 nodes against the billion laughs: golden case input-alias-bomb.)"""
    ok = parse_all("ports: &p [{number: 1, name: a, protocol: TCP}]\nagain: *p\nmore: *p\n", "ok.yaml")[0]
    assert ok["again"] == ok["more"] == ok["ports"]


@pytest.mark.parametrize("text", ["a: &a\n  self: *a\n", "a: &a [*a]\n", "a: &a\n  - b: *a\n"])
def test_recursive_aliases_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="refers to itself"):
        parse_all(text, "loop.yaml")


def test_a_non_scalar_key_is_an_error() -> None:
    with pytest.raises(InputError, match="key must be a scalar"):
        parse_all("? [a, b]\n: 1\n", "key.yaml")


def test_several_documents() -> None:
    assert parse_all("a: 1\n---\nb: y\n---\n", "s.yaml") == [{"a": 1}, {"b": True}, None]


# --- values files ---------------------------------------------------------------------------

def test_values_files(tmp_path: Path) -> None:
    def load(text: str | bytes):
        path = tmp_path / "values.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        return load_values_file(path, "values.yaml")

    assert load("") == {}
    assert load("# only a comment\n") == {}
    assert load("---\n") == {}
    assert load("\ufeffglobal: {port: 1}\n") == {"global": {"port": 1}}  # a UTF-8 BOM is fine
    for text, message in [("- a\n", "must hold a map, found a list"), ("just text\n", "found a string"),
                          ("a: 1\n---\nb: 2\n", "one YAML document"), (b"a: \xff\n", "not UTF-8")]:
        with pytest.raises(InputError, match=message):
            load(text)


def test_a_missing_file_and_a_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_values_file(tmp_path / "missing.yaml", "missing.yaml")
    with pytest.raises(InputError, match="is a directory"):
        load_values_file(tmp_path, "dir")


# --- F4: what the emitter writes, readers read back ------------------------------------------

LOOKALIKES = ["y", "n", "Y", "N", "yes", "no", "on", "off", "On", "OFF", "true", "False", "null", "NULL", "~", "",
              "1.10", "1e3", "12e03", "0x1F", "010", "0o17", "1_000", "0b101", "+1", "-1", ".5", ".inf", "-.Inf",
              ".NaN", "1:20", "2001-12-14", "=", "<<", "- a", "a: b", "#x", "@x", "`x", "'", '"', "*a", "&a",
              "!x", "%x", "|", ">", "{", "[", "?", " lead", "trail ", "line\nbreak", "tab\t", "\u2028", "é"]


@pytest.mark.parametrize("text", LOOKALIKES)
def test_emitted_strings_read_back_as_strings(text: str) -> None:
    obj = {"apiVersion": "v1", "kind": "X", "metadata": {"name": "x", "labels": {text: text}}, "spec": {"v": [text]}}
    out = dump_yaml([obj])
    assert parse_all(out, "out.yaml") == [obj]
    assert list(yaml.safe_load_all(out)) == [obj]


def test_emitted_scalars_keep_their_types() -> None:
    obj = {"a": 1, "b": 1.5, "c": True, "d": None, "e": "15443", "f": 1e3, "g": [0, "0"]}
    out = dump_yaml([obj])
    assert parse_all(out, "out.yaml") == [obj]
    assert list(yaml.safe_load_all(out)) == [obj]
    assert dump_yaml([]) == ""


# The fast event-driven reader must read exactly what the node-based GoLoader (the reference
# semantics, also used by the KRM adapter) reads.
SNIPPETS = [
    "a: &x {p: 1, n: x}\nb:\n  <<: *x\n  p: 2\n",
    "<<: [{a: 1}, {a: 2, b: 3}]\nc: 4\n",
    "x: !!str 12\ny: !!int '12'\nz: !!float 1\nw: !!bool yes\nv: !!null ''\n",
    "k: 0o17\nl: 0b11\nm: -.inf\nn: 1_0\no: 010\np: 0x1F\nq: +1\nr: .5\ns: 1.10\nt: 1e3\n",
    "--- \n...\n---\na: 1\n---\n",
    "a: 'y'\nb: \"on\"\nc: y\nd: ~\ne:\nf: []\ng: {}\nh: |\n  text\n  more\n",
    "",
]


def _reference(text: str) -> list:
    return list(yaml.load_all(text, Loader=yamlio.GoLoader))


@pytest.mark.parametrize("text", SNIPPETS)
def test_fast_reader_matches_reference(text: str) -> None:
    assert parse_all(text, "t.yaml") == _reference(text)


def test_fast_reader_matches_reference_on_repository_files() -> None:
    root = Path(__file__).resolve().parents[1]
    files = [p for p in root.glob("**/*.yaml") if ".venv" not in p.parts and "alias" not in str(p)]
    assert len(files) > 100
    for path in files:
        text = path.read_text("utf-8")
        try:
            expected = _reference(text)
        except yaml.YAMLError:
            with pytest.raises(yamlio.InputError):
                parse_all(text, str(path))
            continue
        assert parse_all(text, str(path)) == expected, path
