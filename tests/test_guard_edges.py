"""The guards of what is read and of what is printed, at their edges: every character class a
message escapes (and the characters next to each class, which it keeps), the cut of a long
message, the alias limit, the int64 and uint64 bounds, the order of merge keys, and the messages of
an undefined alias and of a merge key that is not a map. The printing guards also through every
route, where a file name or a key carries the characters (tests/test_guards.py holds the routes)."""
from __future__ import annotations

import io
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from meshfed.values.diagnostics import Diagnostic, error, printable
from meshfed.values.diagnostics import InputError
from meshfed.values.yamlio import parse_all, resolve_plain, resolve_tagged
from test_guards import application, command_line, document, krm_items, resource_list, typer_app


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return application(tmp_path, monkeypatch)


MAX_MESSAGE = 1000  # characters of a message before its middle is cut
MAX_ALIAS_NODES = 100_000  # nodes aliases may add to a document (the README's figure)

# --- what a message escapes ---------------------------------------------------------------------------

ESCAPED = [  # (first, last) of each class, inclusive
    (0x00, 0x1F),  # C0 controls (tab, newline and carriage return among them)
    (0x7F, 0x7F),  # DEL
    (0x80, 0x9F),  # C1 controls (U+009B: the one-character CSI of terminals)
    (0x2028, 0x2029),  # line and paragraph separators
    (0x202A, 0x202E),  # bidirectional embeddings and overrides (U+202E: right-to-left override)
    (0x2066, 0x2069),  # bidirectional isolates
    (0xD800, 0xDFFF),  # lone surrogates: the bytes of a file name that is not UTF-8
]
ESCAPED_CODES = {c for first, last in ESCAPED for c in range(first, last + 1)}
NEIGHBOURS = sorted({c for first, last in ESCAPED for c in (first - 1, last + 1) if c >= 0} - ESCAPED_CODES)
NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


@pytest.mark.parametrize("code", sorted(ESCAPED_CODES))
def test_every_character_of_the_escaped_classes_is_escaped(code: int) -> None:
    char = chr(code)
    expected = NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    assert printable(f"a{char}b") == f"a{expected}b"
    assert printable(f"\u00e9{char}") == f"\u00e9{expected}"  # a non-ASCII message takes the same path


@pytest.mark.parametrize("code", NEIGHBOURS)
def test_the_characters_next_to_each_class_are_kept(code: int) -> None:
    assert printable(f"a{chr(code)}b") == f"a{chr(code)}b"


def test_a_message_of_the_limit_is_whole_and_one_character_more_is_cut() -> None:
    whole = "x" * MAX_MESSAGE
    assert printable(whole) == whole
    cut = printable("y" * (MAX_MESSAGE + 1))
    keep = MAX_MESSAGE // 2
    assert cut == f"{'y' * keep}...(1 characters cut)...{'y' * keep}"
    assert printable("abcdef", 4) == "ab...(2 characters cut)...ef"


def test_a_diagnostic_escapes_its_file_path_and_message() -> None:
    d = Diagnostic("warning", "m\u2028x", "f\u202e.yaml", "a\x1b[31m")
    assert str(d) == "warning: f\\u202e.yaml: a\\x1b[31m: m\\u2028x"
    assert str(error("\x9b", None, "")) == "\\x9b"


FORGED = "evil\u202e\u2028\x9b\x1b\x7f\x00.yaml"
FORGED_SHOWN = "evil\\u202e\\u2028\\x9b\\x1b\\x7f\\x00.yaml"


def test_a_file_name_is_escaped_on_every_route(app: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A missing values file or base whose name holds every class (but NUL, which no file name
    holds: the name is refused as such)."""
    name = FORGED.replace("\x00", "")
    shown = FORGED_SHOWN.replace("\\x00", "")
    (app / "doc.yaml").write_text(document({}, base=[name]))
    runs = {
        "render -f": command_line(["render", "-f", name], monkeypatch, capsys),
        "typer render -f": typer_app(["render", "--output", "yaml", "-f", name]),
        "render": command_line(["render", "doc.yaml"], monkeypatch, capsys),
        "kustomize-plugin": command_line(["kustomize-plugin", "doc.yaml"], monkeypatch, capsys),
        "argocd generate": command_line(["argocd", "generate"], monkeypatch, capsys),
        "krm": command_line(["krm"], monkeypatch, capsys, io.BytesIO(resource_list(document({}, base=[name])))),
    }
    for route, (code, out, err) in runs.items():
        assert code == 1 and shown in err, (route, err)
        assert not set(err) & {chr(c) for c in ESCAPED_CODES if c != 0x0A}, route  # only the lines' own newlines
        if route == "krm":
            [result] = krm_items(out)[1]
            assert shown in result["message"] and out.isascii() or "\u202e" not in out
    (app / "doc.yaml").write_text(document({}))
    code, out, err = command_line(["render", "-f", "a\x00b.yaml"], monkeypatch, capsys)
    assert code in (1, 2) and "\x00" not in err


def test_a_key_is_escaped_in_krm_results(app: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    key = "k\u202e\u2028\x9b\x7f"
    code, out, err = command_line(["krm"], monkeypatch, capsys,
                                  io.BytesIO(resource_list(document({key: 1}))))
    assert code == 1
    [result] = krm_items(out)[1]
    assert "k\\u202e\\u2028\\x9b\\x7f" in result["field"]["path"] + result["message"]
    assert not set(result["field"]["path"] + result["message"]) & {"\u202e", "\u2028", "\x9b", "\x7f"}
    assert "k\\u202e\\u2028\\x9b\\x7f" in err


def test_a_file_name_that_is_not_utf8_is_escaped(tmp_path: Path) -> None:
    """The console script, given a name with a byte that is not UTF-8: stderr stays UTF-8 text."""
    meshfed = os.fsencode(Path(sys.executable).with_name("meshfed"))
    done = subprocess.run([meshfed, b"render", b"-f", b"bad\xff\x9b.yaml"], capture_output=True, timeout=60,
                          cwd=tmp_path)
    assert (done.returncode, done.stdout) == (1, b"")
    assert b"bad\\udcff\\udc9b.yaml: no such file" in done.stderr
    done.stderr.decode("utf-8")  # no raw byte of the name


def test_text_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    from meshfed.values.source import read_file
    (tmp_path / "v.yaml").write_bytes(b"a: 1\nb: \xff\n")
    with pytest.raises(InputError, match=r"not UTF-8 text \(byte 8\)"):
        read_file(tmp_path / "v.yaml", "v.yaml")


# --- YAML at its edges ---------------------------------------------------------------------------------

def _aliases(count: int) -> str:
    """A document whose aliases add exactly `count` nodes once expanded."""
    return "a: &a []\nb: [" + ", ".join(["*a"] * count) + "]\n"


def test_aliases_adding_exactly_the_limit_are_read_and_one_more_is_refused() -> None:
    [doc] = parse_all(_aliases(MAX_ALIAS_NODES), "at.yaml")
    assert len(doc["b"]) == MAX_ALIAS_NODES
    with pytest.raises(InputError, match=f"expands to more than {MAX_ALIAS_NODES} nodes through YAML aliases"):
        parse_all(_aliases(MAX_ALIAS_NODES + 1), "over.yaml")


@pytest.mark.parametrize("text, value", [
    ("9223372036854775807", 2**63 - 1),  # int64's largest
    ("9223372036854775808", 2**63),  # past it: ParseUint still reads it
    ("18446744073709551615", 2**64 - 1),  # uint64's largest
    ("18446744073709551616", float(2**64)),  # past it: a float, as go-yaml gives it
    ("-9223372036854775808", -2**63),  # int64's smallest
    ("-9223372036854775809", float(-2**63 - 1)),  # past it: no unsigned reading for a sign
    ("+9223372036854775807", 2**63 - 1),
    ("+9223372036854775808", float(2**63)),  # a sign rules ParseUint out
    ("0x7FFFFFFFFFFFFFFF", 2**63 - 1),
    ("0xFFFFFFFFFFFFFFFF", 2**64 - 1),
    ("0x10000000000000000", "0x10000000000000000"),  # no float reads hex: a string
    ("-0x8000000000000000", -2**63),
    ("-0x8000000000000001", "-0x8000000000000001"),
    ("0b-" + "1" * 63, -(2**63 - 1)),  # go-yaml's signed binary fallback, at its bound
    ("0b-1" + "0" * 63, -2**63),
    ("0b-1" + "0" * 62 + "1", "0b-1" + "0" * 62 + "1"),  # past it: a string
    ("1" * 20, int("1" * 20)),  # 20 digits: still uint64
    ("2" * 20, float("2" * 20)),  # 20 digits past uint64
    ("1" * 21, float("1" * 21)),  # 21 digits: never an integer
])
def test_integers_at_the_int64_and_uint64_bounds(text: str, value: object) -> None:
    got = resolve_plain(text)
    assert type(got) is type(value) and got == value


def test_explicit_tags_at_the_int64_bound() -> None:
    assert resolve_tagged("tag:yaml.org,2002:float", "9223372036854775807") == float(2**63 - 1)
    assert resolve_tagged("tag:yaml.org,2002:float", "-9223372036854775808") == float(-2**63)
    with pytest.raises(ValueError, match=r"cannot decode !!int `9223372036854775808` as a !!float"):
        resolve_tagged("tag:yaml.org,2002:float", "9223372036854775808")
    assert resolve_tagged("tag:yaml.org,2002:int", "18446744073709551615") == 2**64 - 1
    with pytest.raises(ValueError, match=r"cannot decode !!float `18446744073709551616` as a !!int"):
        resolve_tagged("tag:yaml.org,2002:int", "18446744073709551616")
    assert math.isinf(resolve_plain(".inf")) and resolve_plain("1e309") == "1e309"  # overflow: a string


def test_merge_keys_in_order() -> None:
    """As helm (go-yaml v2) reads them, checked with the pinned helm: in one `<<` list the earlier
    map wins; keys are applied in the order written, so a key after `<<` wins over the merged one,
    and a `<<` after a key (or after another `<<`) wins over it."""
    text = """
a: &a {x: 1, q: 1, z: 1}
b: &b {x: 2, q: 2, w: 2}
c: &c {v: 3, x: 3}
list: {<<: [*a, *b], q: 0}
keys: {<<: *b, <<: *a, z: 0}
after: {q: 0, <<: [*b, *a]}
three: {<<: [*c, *a, *b]}
empty: {<<: [], k: 1}
"""
    [doc] = parse_all(text, "m.yaml")
    assert doc["list"] == {"x": 1, "q": 0, "z": 1, "w": 2}
    assert doc["keys"] == {"x": 1, "q": 1, "w": 2, "z": 0}
    assert doc["after"] == {"q": 2, "x": 2, "w": 2, "z": 1}
    assert doc["three"] == {"v": 3, "x": 3, "q": 1, "z": 1, "w": 2}
    assert doc["empty"] == {"k": 1}


@pytest.mark.parametrize("text, message", [
    ("a: *nope\n", "invalid YAML: line 1 column 4: found undefined alias 'nope'"),
    ("a: &x 1\n---\nb: *x\n", "invalid YAML: line 3 column 4: found undefined alias 'x'"),  # anchors end with the document
    ("k:\n  <<: 5\n", "invalid YAML: line 2 column 3: a merge key (<<) needs a map or a list of maps"),
    ("k: {<<: [{a: 1}, 5]}\n", "invalid YAML: line 1 column 5: a merge key (<<) needs a map or a list of maps"),
    ("k: {<<: [[]]}\n", "invalid YAML: line 1 column 5: a merge key (<<) needs a map or a list of maps"),
    ("k: {<<: ~}\n", "invalid YAML: line 1 column 5: a merge key (<<) needs a map or a list of maps"),
])
def test_undefined_aliases_and_merge_keys_that_are_not_maps(text: str, message: str) -> None:
    with pytest.raises(InputError) as refused:
        parse_all(text, "m.yaml")
    [d] = refused.value.diagnostics
    assert (d.file, d.message) == ("m.yaml", message)


def test_a_quoted_or_tagged_merge_key_is_a_plain_key() -> None:
    [doc] = parse_all("a: &a {x: 1}\nb: {'<<': *a}\nc: {!!str <<: 1}\n", "m.yaml")
    assert doc["b"] == {"<<": {"x": 1}} and doc["c"] == {"<<": 1}


# --- names in messages ----------------------------------------------------------------------------------

def test_a_path_that_cannot_be_resolved_says_why(tmp_path: Path) -> None:
    from meshfed.values.source import confine
    with pytest.raises(InputError) as refused:
        confine(str(tmp_path / "a\x00b"), str(tmp_path), "base a\x00b", "doc.yaml", "spec.base[0]")
    [d] = refused.value.diagnostics
    assert str(d) == "doc.yaml: spec.base[0]: base a\\x00b: cannot resolve the path (embedded null byte)"


def test_files_up_to_three_levels_up_are_named_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from meshfed.values.source import display
    deep = tmp_path / "a" / "b" / "c" / "d"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert display(tmp_path / "a" / "x.yaml") == os.path.join("..", "..", "..", "x.yaml")
    assert display(tmp_path / "x.yaml") == str(tmp_path / "x.yaml")
    assert display(deep / "y.yaml") == "y.yaml"


@pytest.mark.parametrize("value, shown", [("", False), ("0", False), ("1", True), ("yes", True)])
def test_the_traceback_switch(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                              value: str, shown: bool) -> None:
    from meshfed.values.diagnostics import failure
    monkeypatch.setenv("MESHFED_TRACEBACK", value)
    try:
        raise KeyError("boom")
    except KeyError as exc:
        [d] = failure(exc)
    assert d.message.startswith("internal error (KeyError: 'boom')")
    assert d.message.endswith("and the traceback MESHFED_TRACEBACK=1 prints")
    err = capsys.readouterr().err
    assert ("Traceback (most recent call last)" in err and "KeyError: 'boom'" in err) == shown
    failure(InputError([error("bad")]))
    assert capsys.readouterr().err == ""  # the input's own problems never have a traceback


def test_diagnostics_are_equal_when_all_four_parts_are() -> None:
    """`meshfed check` reports each diagnostic once, by equality and hash."""
    one = Diagnostic("error", "m", "f.yaml", "a.b")
    assert one == Diagnostic("error", "m", "f.yaml", "a.b") and hash(one) == hash(Diagnostic("error", "m", "f.yaml", "a.b"))
    for other in (Diagnostic("warning", "m", "f.yaml", "a.b"), Diagnostic("error", "n", "f.yaml", "a.b"),
                  Diagnostic("error", "m", "g.yaml", "a.b"), Diagnostic("error", "m", "f.yaml", "a.c")):
        assert one != other
    assert one != "f.yaml: a.b: m" and one != ("error", "m", "f.yaml", "a.b")
    assert len({one, Diagnostic("error", "m", "f.yaml", "a.b")}) == 1


@pytest.mark.parametrize("text, message", [
    ("k: 1\nk: 2\n", "invalid YAML: line 2 column 1: while constructing a mapping: found duplicate key 'k'"),
    ("a: [1, 2\nb: 3\n", "invalid YAML: line 2 column 2: did not find expected ',' or ']'"),  # no context
])
def test_a_parse_error_names_its_context_for_a_duplicate_key_alone(text: str, message: str) -> None:
    with pytest.raises(InputError) as refused:
        parse_all(text, "m.yaml")
    assert [d.message for d in refused.value.diagnostics] == [message]


def test_scalar_anchors_and_aliases() -> None:
    assert parse_all("a: &s text\nb: *s\nc: &n 5\nd: [*n, *s]\n", "m.yaml") == [
        {"a": "text", "b": "text", "c": 5, "d": [5, "text"]}]
