"""Reading values as Helm does (go-yaml v2, YAML 1.1): scalars, duplicate keys, hostile files
(chart-behavior.md 2.1), and the emitter's quoting (F4)."""
from __future__ import annotations

import math
import re
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from meshfed.values import yamlio
from meshfed.values.diagnostics import InputError
from meshfed.output.serialize import dump_yaml
from meshfed.values.source import load_values_file
from meshfed.values.yamlio import parse_all
from reference_loader import GoLoader


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
    # not an int for strconv.ParseInt (invalid octal, beyond 64 bits), a float for ParseFloat
    ("08", 8.0), ("0_9.5", 9.5), ("+18446744073709551615", 1.8446744073709552e19), ("18446744073709551616", 2.0 ** 64),
    ("-9223372036854775809", -2.0 ** 63), ("9" * 25, 1e25), ("1_e5", 1e5), (".5_0", 0.5), (".5e3_0", 0.5e30),
    ("1e-999", 0.0),
])
def test_go_yaml_floats(text: str, value: float) -> None:
    result = scalar(text)
    assert isinstance(result, float) and result == value


def test_go_yaml_special_floats() -> None:
    assert scalar(".inf") == math.inf and scalar("-.inf") == -math.inf
    assert math.isnan(scalar(".nan"))


@pytest.mark.parametrize("text, value", [
    ("15443", 15443), ("-1", -1), ("+7", 7), ("0", 0), ("0x1F", 31), ("010", 8), ("0b101", 5), ("1_000", 1000),
    # strconv.ParseInt(s, 0, 64) once go-yaml has removed every underscore
    ("0o17", 15), ("0O17", 15), ("0X1F", 31), ("0B101", 5), ("+0X1f", 31), ("0o1_7", 15), ("1__0", 10), ("1_", 1),
    ("-_1", -1), ("0_x1F", 31), ("-0x10", -16), ("00", 0), ("0" * 5000 + "1", 1),
    ("18446744073709551615", 2 ** 64 - 1), ("0xFFFFFFFFFFFFFFFF", 2 ** 64 - 1), ("-9223372036854775808", -2 ** 63),
    # go-yaml's fallback ParseInt(s[2:], 2, 64) for `0b`, which takes a sign
    ("0b-101", -5), ("0b+1_01", 5),
])
def test_go_yaml_ints(text: str, value: int) -> None:
    result = scalar(text)
    assert type(result) is int and result == value


@pytest.mark.parametrize("text", ["2001-12-14", "2001-12-14t21:59:43.10-05:00", "1:20", "190:20:30", "0o8",
                                  "=", "<<x", "1.2.3", "192.168.2.10", "2001:db8::10", "v1", "1e", "0x", "yes!",
                                  "0B-101", "0b-", "1e999", ".5e999", "._5", ".5__0", "+0xFFFFFFFFFFFFFFFF",
                                  "0x1FFFFFFFFFFFFFFFF", "0o" + "7" * 30, "1" * 5000, "-.nan", "+.", "0x1p-2",
                                  "_1", "oN", "tRUE", "1,000"])
def test_go_yaml_strings(text: str) -> None:
    """Timestamps, sexagesimal numbers, numbers strconv refuses (beyond 64 bits, overflowing floats,
    5,000 digits) and the like are strings for go-yaml v2 (unlike PyYAML). Each checked against the
    pinned helm: `{{ kindOf .Values.x }}` prints string."""
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


def test_a_merge_after_an_explicit_key_overrides_it_as_go_yaml_v2_does() -> None:
    doc = parse_all("b: {a: 1, <<: {a: 2, c: 3}, d: 4}\n", "t.yaml")[0]
    assert doc["b"] == {"a": 2, "c": 3, "d": 4}
    with pytest.raises(InputError, match="duplicate key 'a'"):  # written twice: still a duplicate
        parse_all("b: {a: 1, <<: {a: 2}, a: 3}\n", "t.yaml")


@pytest.mark.parametrize("key", ["!!merge \"<<\"", "!<tag:yaml.org,2002:merge> '<<'", "!!merge <<", "! <<"])
def test_the_explicit_merge_tag_merges(key: str) -> None:
    text = f"b: {{{key}: {{x: 1}}, z: 2}}\n"
    assert parse_all(text, "t.yaml")[0] == _reference(text)[0] == {"b": {"x": 1, "z": 2}}
    for literal in ("'<<'", "!!str <<", "\"<<\""):  # a quoted or otherwise tagged `<<` is a key
        assert parse_all(f"b: {{{literal}: 1}}\n", "t.yaml")[0] == {"b": {"<<": 1}}


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


def _bomb(levels: int) -> str:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefghijk"[:levels - 1], "bcdefghijkl"):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("read", [parse_all, lambda text, name: _reference(text)])
def test_an_alias_bomb_is_refused_quickly(read) -> None:
    start = time.perf_counter()
    with pytest.raises((InputError, yaml.YAMLError), match="expands to more than 100000 nodes through YAML aliases"):
        read(_bomb(7), "bomb.yaml")
    assert time.perf_counter() - start < 0.5


def test_aliases_may_add_up_to_the_limit() -> None:
    """5 levels of 9: 7,381 lists once expanded, from 5 written out."""
    doc = parse_all(_bomb(5), "b.yaml")[0]
    assert len(doc["e"]) == 9 and doc["e"][8][8][8][8] == ["x"] * 9


def test_a_large_file_without_aliases_is_fine() -> None:
    """The size of a file is bounded by its bytes: no limit on its node count (there was one,
    100,000, reported as "excessive YAML aliasing")."""
    doc = parse_all("m: [" + "{}," * 101_000 + "]\n", "big.yaml")[0]
    assert len(doc["m"]) == 101_000
    doc = parse_all("p: &p [1]\nq: *p\nm: [" + "{}," * 101_000 + "]\n", "big.yaml")[0]  # with an alias
    assert len(doc["m"]) == 101_000 and doc["q"] == [1]


@pytest.mark.parametrize("depth", [101, 500, 1001, 100_000])
def test_deep_nesting_is_refused_with_the_place(depth: int) -> None:
    start = time.perf_counter()
    # (in flow style, libyaml's own limit of 1,000 levels meets the deeper files first, looking ahead)
    for text, column in [("[" * depth + "]" * depth, 101 if depth < 1000 else 1001), ("- " * depth + "x\n", 201)]:
        with pytest.raises(InputError) as exc:
            parse_all(text, "deep.yaml")
        (d,) = exc.value.diagnostics
        assert d.message == f"line 1 column {column}: maps and lists nested more than 100 levels deep"
    assert time.perf_counter() - start < 0.5
    with pytest.raises(yaml.YAMLError, match="nested more than 100 levels deep|maximum nesting depth"):
        _reference("[" * depth + "]" * depth)


def test_a_hundred_levels_are_fine() -> None:
    text = "[" * 100 + "]" * 100
    assert parse_all(text, "deep.yaml") == _reference(text)


def test_nesting_through_aliases_counts() -> None:
    text = "a: &a " + "[" * 60 + "]" * 60 + "\nb: " + "[" * 60 + "*a" + "]" * 60 + "\n"
    with pytest.raises(InputError, match="nested more than 100 levels deep once YAML aliases are expanded"):
        parse_all(text, "deep.yaml")
    with pytest.raises(yaml.YAMLError, match="nested more than 100 levels deep"):
        _reference(text)


@pytest.mark.parametrize("text, problem", [
    ("a: !!int abc\n", "cannot decode !!str `abc` as a !!int"),
    ("a: !!int \"1.5\"\n", "cannot decode !!float `1.5` as a !!int"),
    ("a: !!float x\n", "cannot decode !!str `x` as a !!float"),
    ("a: !!float 18446744073709551615\n", "cannot decode !!int `18446744073709551615` as a !!float"),
    ("a: !!int " + "1" * 5000 + "\n", "cannot decode !!str `" + "1" * 37 + "...` as a !!int"),
    ("a: !!null x\n", "cannot decode !!str `x` as a !!null"),
    ("a: !!bool 1\n", "cannot decode !!int `1` as a !!bool"),
    ("a: !!binary aGk\n", "!!binary value contains invalid base64 data"),
    ("a: !!timestamp 2001-12-32\n", "cannot decode !!str `2001-12-32` as a !!timestamp"),
    ("a: !!timestamp 12\n", "cannot decode !!int `12` as a !!timestamp"),
])
def test_bad_explicit_tags_are_errors_with_the_place(text: str, problem: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_all(text, "t.yaml")
    (d,) = exc.value.diagnostics
    assert d.message == f"invalid YAML: line 1 column 4: {problem}"
    with pytest.raises(yaml.YAMLError, match=re.escape(problem)):
        _reference(text)


def test_tags_go_yaml_v2_reads() -> None:
    text = ("a: !local value\nb: !foo 12\nc: !<!bar> baz\nd: !<tag:example.com,2000:x> 1\ne: !!set {x: null}\n"
            "f: !!omap [x: 1]\ng: !!timestamp 2015-01-01\nh: !!binary aGVsbG8=\ni: !!binary |\n  aGVs\n  bG8=\n"
            "j: !!timestamp 2001-12-14t21:59:43.10-05:00\nk: !foo {x: y}\nl: !!str [1]\n")
    doc = parse_all(text, "t.yaml")[0]
    assert doc == _reference(text)[0] == {
        "a": "value", "b": "12", "c": "baz", "d": "1", "e": {"x": None}, "f": [{"x": 1}], "g": "2015-01-01",
        "h": "hello", "i": "hello", "j": "2001-12-14t21:59:43.10-05:00", "k": {"x": True}, "l": [1]}
    tagged = "%TAG !e! tag:example.com,2000:app/\n---\na: !e!foo 12\n"
    assert parse_all(tagged, "t.yaml") == [{"a": "12"}]


def test_a_last_whitespace_only_line_of_a_block_scalar_ends_in_a_line_break() -> None:
    for text in ("foo: |\n  x\n   ", "foo: |\n  x\n   \n"):
        assert parse_all(text, "t.yaml") == _reference(text) == [{"foo": "x\n \n"}]


def test_good_explicit_tags() -> None:
    text = "a: !!int '12'\nb: !!float 1\nc: !!int 0o17\nd: !!bool \"yes\"\ne: !!null ''\nf: !!str 0x1F\ng: ! 12\n"
    doc = parse_all(text, "t.yaml")[0]
    assert doc == {"a": 12, "b": 1.0, "c": 15, "d": True, "e": None, "f": "0x1F", "g": "12"}
    assert type(doc["b"]) is float


@pytest.mark.parametrize("text, where", [
    ("a: \x01\n", "line 1 column 4"), ("a: b\nc: 'x\x7f'\n", "line 2 column 6"), ("é: \ufffe\n", "line 1 column 4"),
    ("a:\r\n  - \x00\n", "line 2 column 5"), ("a: b\x85c: \x02\n", "line 2 column 4"),
])
def test_non_printable_characters_are_errors_with_the_place(text: str, where: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_all(text, "t.yaml")
    (d,) = exc.value.diagnostics
    assert d.message.startswith(f"invalid YAML: {where}: ") and "#x" in d.message, d.message


def test_ordinary_aliases_are_accepted() -> None:
    """(The limit against the billion laughs: golden case input-alias-bomb.)"""
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
    # several documents merge as helm merges them; what follows a document's end (`...`) is not read
    assert load("a: {x: 1, l: [1]}\n---\n\n--- # c\na: {z: 2, l: [2]}\n---\n~\n") == {"a": {"x": 1, "z": 2, "l": [2]}}
    assert load("---\na: hello\n...\n}not yaml\n") == {"a": "hello"}
    assert load("a: 1\n---\na: null\n") == {"a": None}
    for text, message in [("- a\n", "must hold a map, found a list"), ("just text\n", "found a string"),
                          ("a: 1\n---\n- b\n", "must hold a map \\(the document at line 3\\), found a list"),
                          ("a: 1\n--- {b: 2}\n", "line 2: invalid YAML document separator: {b: 2}"),
                          (b"a: \xff\n", "not UTF-8")]:
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
              "0O17", "0X1F", "0B101", "+0X1f", "0o1_7", "1__0", "08", "0b-101", "1e999", "0o" + "7" * 30,
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
# semantics) reads.
SNIPPETS = [
    "a: &x {p: 1, n: x}\nb:\n  <<: *x\n  p: 2\n",
    "<<: [{a: 1}, {a: 2, b: 3}]\nc: 4\n",
    "x: !!str 12\ny: !!int '12'\nz: !!float 1\nw: !!bool yes\nv: !!null ''\n",
    "k: 0o17\nl: 0b11\nm: -.inf\nn: 1_0\no: 010\np: 0x1F\nq: +1\nr: .5\ns: 1.10\nt: 1e3\n",
    "a: 0O17\nb: 0X1F\nc: 0B101\nd: +0X1f\ne: 0o1_7\nf: 1__0\ng: 08\nh: 0b-101\ni: 1e999\nj: .5_0\nk: 0o8\n",
    "a: !!int '0x1F'\nb: !!float '12'\nc: ! x\nd: !!str 1\ne: <<\n",
    "--- \n...\n---\na: 1\n---\n",
    "a: 'y'\nb: \"on\"\nc: y\nd: ~\ne:\nf: []\ng: {}\nh: |\n  text\n  more\n",
    "",
]


def _reference(text: str) -> list:
    return list(yaml.load_all(text, Loader=GoLoader))


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


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789_+-.xXoObBeE", min_size=1, max_size=12))
def test_fast_reader_matches_reference_on_number_like_scalars(text: str) -> None:
    snippet = f"v: {text}\n"
    try:
        expected = _reference(snippet)
    except yaml.YAMLError:
        with pytest.raises(InputError):
            parse_all(snippet, "t.yaml")
        return
    assert parse_all(snippet, "t.yaml") == expected
