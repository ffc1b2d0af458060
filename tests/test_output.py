"""meshfed.output.serialize: the direct YAML writer (meshfed.output.emit) writes byte-for-byte what PyYAML's
`dump_all` with QuotingDumper writes, and the streams keep F4 (every scalar reads back with its
type, in PyYAML's YAML 1.1 and in the go-yaml v2 resolution Helm and kubectl use)."""
from __future__ import annotations

import io
import itertools
import json
import re

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from meshfed.output import emit, serialize as output
from meshfed.values.yamlio import WORDS, GoKind, parse_all
from reference_loader import GoLoader

TRICKY = [
    # booleans of YAML 1.1 and go-yaml v2, nulls
    "y", "Y", "n", "N", "yes", "No", "on", "ON", "off", "Off", "true", "False", "TRUE", "null", "Null",
    "NULL", "~", "", " ", "  ",
    # numbers: ints in every base, floats, specials, base 60
    "1e3", "1E3", "1.10", "1.", ".5", "-.5", "+1", "-1", "0", "00", "010", "0o10", "0x1F", "0X1f", "0b101",
    "1_000", "1,000", ".inf", "-.Inf", ".NaN", ".nan", "1:20", "190:20:30", "-1:20", "1:20.5", "12e03",
    "6.8523015e+5", "685.230_15e+03", "+685_230.15",
    # go-yaml v2 (strconv.ParseInt(s, 0, 64) without underscores) and YAML 1.2 core numbers
    "0o17", "0O17", "0X1F", "0B101", "+0X1f", "0o1_7", "1__0", "08", "0b-101", "0_x1F", "1_", "1e999", ".5_0",
    "0o" + "7" * 30, "0x" + "f" * 20, "9" * 30, "1" * 5000,
    # timestamps, the value key, merge key, document markers
    "2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "=", "<<", "---", "...",
    "--- x", "... x", "---x",
    # indicators: first character and inside
    "a: b", "a:b", "a:", ":", ": a", ":a", "::", "a #b", "a#b", "#a", "# a", "- a", "-a", "-", "--", "-1a",
    "?", "? a", "?a", "a?", "*a", "&a", "!a", "!!str", "%a", "@a", "`a", "'a", "a'b", "'", "''", '"a',
    'a"b', '"', "|", "|a", ">", ">a", "[a]", "a[b]", "{a}", "a{b}", ",a", "a,b", "a, b", "a ", " a", "a  b",
    # line breaks, tabs, control and other non-printable characters (PyYAML's path)
    "a\nb", "a\n", "\na", "\n", "a\r\nb", "a\tb", "\t", "a\x85b", "a\u2028b", "a\u2029b", "\x00", "\x07",
    "a\x7fb", "\x9f", "\ufeff", "a\ufeffb", "\ufffe", "\U0001F600", "a\U0001F600b",
    # unicode that libyaml writes as it is
    "é", "über", "日本語", "\u00a0", "a\u00a0b", "\ud7ff", "\ue000", "\ufffd", "Ω: x", "ω #x",
    # the shapes meshfed emits
    "svc-00001.mesh.global", "*.ratings.mesh.global", ".", "192.168.2.10", "2001:db8::1", "::1",
    "outbound_.9080_._.ratings.mesh.global", "0.0.0.0_15443", "istio-system", "MESH_INTERNAL",
    "security.istio.io/tlsMode", "topology.istio.io/network", "gateway.istio.io/listener-protocol",
    "x" * 200, "a b" * 70, "y" * 129,
]

# Lone surrogates (a JSON input can hold one): libyaml cannot encode them, so neither writer can.
UNENCODABLE = ["\ud800", "a\udfffb"]
# The bounds of the characters the writer writes itself (emit._unprintable), each from both sides; a
# string with any other character is left to PyYAML.
WRITTEN = ["\x20", "\x7e", "\xa0", "\u2027", "\u202a", "\ud7ff", "\ue000", "\ufefe", "\uff00", "\ufffd"]
LEFT_TO_PYYAML = ["\x1f", "\x7f", "\x9f", "\u2028", "\u2029", "\ud800", "\udfff", "\ufeff", "\ufffe",
                  "\U00010000"]

KEYS = ["apiVersion", "kind", "metadata", "name", "spec", "y", "n", "on", "", "1", "a: b", "a b", "-", "? x",
        "k" * 128, "k" * 129, "é" * 64, "é" * 65, "a\nb", "\t", "null", "~", "#", "a'b"]

scalars = st.one_of(
    st.sampled_from(TRICKY),
    st.text(max_size=12),
    st.text(alphabet="abyYnN01:.-_ #'\"é\t\n", max_size=8),
    st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
    st.booleans(),
    st.none(),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=10), st.text(alphabet="ab: -#'", max_size=6))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=25,
)
documents = st.lists(st.dictionaries(keys, values, max_size=5), max_size=4)


def reference(objects: list) -> str:
    return output.dump_yaml_pyyaml(objects)


def assert_same_as_reference(objects: list) -> None:
    """`dump_yaml` writes the bytes PyYAML writes, or fails as PyYAML fails."""
    try:
        expected = reference(objects)
    except Exception as exc:  # noqa: BLE001 - whatever PyYAML raises, dump_yaml must raise too
        with pytest.raises(type(exc)):
            output.dump_yaml(objects)
    else:
        assert output.dump_yaml(objects) == expected


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
@example([])
@example([{}])
@example([{"a": []}, {"b": {}}, {"c": [[]], "d": [{}], "e": [[1, [2, {"x": [3]}]], {"y": {"z": []}}]}])
def test_same_bytes_as_pyyaml(objects: list) -> None:
    assert output.dump_yaml(objects) == reference(objects)


@pytest.mark.parametrize("text", TRICKY + UNENCODABLE)
def test_each_tricky_scalar(text: str) -> None:
    objects = [{"value": text, "list": [text, {text[:100]: text}], text[:100] or "k": [text]}]
    assert_same_as_reference(objects)


@pytest.mark.parametrize("char", WRITTEN + LEFT_TO_PYYAML)
def test_the_bounds_of_the_characters_the_writer_writes_itself(char: str) -> None:
    """Inside the range the writer writes the string (the speed); outside it defers to PyYAML (the
    bytes). ASCII strings and the others are checked on different paths: both are tried."""
    writer = emit.Writer(output._plain_tag)
    for text in (char, "é" + char):
        if char in WRITTEN:
            assert text in writer.scalar(text)
        else:
            with pytest.raises(emit.Exotic):
                writer.scalar(text)


def test_the_writer_writes_the_longest_simple_keys_itself() -> None:
    """libyaml writes a key of up to 128 UTF-8 bytes as a simple key (`k: v`), a longer one as
    `? k`, which is left to PyYAML."""
    writer = emit.Writer(output._plain_tag)
    for key in ("k" * 128, "é" * 64, "日" * 42):
        assert writer.key(key) == key
    for key in ("k" * 129, "é" * 64 + "k", "日" * 43):
        with pytest.raises(emit.Exotic):
            writer.key(key)


@pytest.mark.parametrize("key", KEYS)
def test_each_tricky_key(key: str) -> None:
    objects = [{key: "v", "m": {key: [key]}, "l": [{key: {key: 1}}]}]
    assert output.dump_yaml(objects) == reference(objects)


def test_other_types_take_pyyamls_path() -> None:
    """Floats, tuples and the like, in a map or a list: the document is written by PyYAML, the others
    are not."""
    objects = [{"a": 1.5, "b": float("inf"), "c": -0.0, "d": 1e20}, {"plain": "x"}]
    assert output.dump_yaml(objects) == reference(objects)
    import datetime
    for odd in ((1, 2), b"\x00x", {1, 2}, datetime.date(2001, 12, 14), 10 ** 5000, object(), {1: "a"},
                {"a": "b"}.keys(), type("S", (str,), {})("y")):
        assert_same_as_reference([{"odd": odd}, {"plain": "x"}])
        assert_same_as_reference([{"list": [odd]}, {"plain": "x"}])


@pytest.mark.parametrize("text", [t for t in TRICKY if "\ufeff" not in t and "\ufffe" not in t])
def test_f4_scalars_keep_their_type(text: str) -> None:
    """F4: a string reads back as that string in YAML 1.1 (PyYAML) and in go-yaml v2's resolution."""
    objects = [{"s": text, "i": 10, "b": True, "n": None, "l": [text]}]
    stream = output.dump_yaml(objects)
    assert list(yaml.safe_load_all(stream)) == objects
    assert list(yaml.load_all(stream, Loader=GoLoader)) == objects


def test_f4_go_booleans_are_quoted() -> None:
    stream = output.dump_yaml([{"a": "y", "b": "n", "c": "on", "d": "1e3", "e": "1.10", "f": "null", "g": "x"}])
    assert stream == "---\na: 'y'\nb: 'n'\nc: 'on'\nd: '1e3'\ne: '1.10'\nf: 'null'\ng: x\n"


# Strings that go-yaml v2 (Helm, Argo CD, kubectl), PyYAML's YAML 1.1 or a YAML 1.2 core schema
# reader (go-yaml v3, kyaml) reads as numbers: a network named `0O17` must not reach Argo CD as 15.
NUMBER_LOOKALIKES = [
    "0o17", "0O17", "0X1F", "0B101", "+0X1f", "0o1_7", "1__0", "08", "0_8", "0b-101", "0b+1", "0_x1F", "-_1", "1_",
    "1_e5", ".5_0", "+18446744073709551615", "18446744073709551616", "0xFFFFFFFFFFFFFFFF",
    "1e999", ".5e999", "0o" + "7" * 30, "0x" + "f" * 20, "9" * 30, "1" * 5000, "09" + "9" * 5000,
]


@pytest.mark.parametrize("text", NUMBER_LOOKALIKES)
def test_number_lookalikes_are_quoted(text: str) -> None:
    objects = [{"network": text, "list": [text], text: 1}]
    stream = output.dump_yaml(objects)
    assert stream == f"---\nnetwork: '{text}'\nlist:\n- '{text}'\n'{text}': 1\n" or len(text) > 128
    assert stream == reference(objects)
    assert list(yaml.safe_load_all(stream)) == objects
    assert parse_all(stream, "out.yaml") == objects


def test_plain_strings_stay_plain() -> None:
    """What every reader reads as a string is written as it is (the golden outputs rely on it)."""
    texts = ["0o8", "0x", "0b", "0B-101", "._5", "1.2.3", "192.168.2.10", "v1", "1e", "0x1p-2", "_1", "+."]
    assert output.dump_yaml([{"v": texts}]) == "---\nv:\n" + "".join(f"- {t}\n" for t in texts)


def test_layout_of_nested_collections() -> None:
    stream = output.dump_yaml([{"spec": {"servers": [{"port": {"number": 443}, "hosts": ["*.a.global", "b"]}],
                                         "empty": [], "none": {}}, "list": [[1, 2], []]}])
    assert stream == ("---\nspec:\n  servers:\n  - port:\n      number: 443\n    hosts:\n    - '*.a.global'\n"
                      "    - b\n  empty: []\n  none: {}\nlist:\n- - 1\n  - 2\n- []\n")


def test_empty_stream_and_empty_document() -> None:
    assert output.dump_yaml([]) == ""
    assert output.dump_yaml([{}]) == "--- {}\n"


def test_emitter_handles_meshfed_shapes_without_pyyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real rendering never needs the PyYAML path (that is where the speed comes from)."""
    from meshfed.pipeline import Options, render_layers
    from meshfed.values.merge import Layer

    values = yaml.safe_load("""
global:
  defaultServicePorts: [{number: 9080, name: http, protocol: HTTP}]
  egressGateway: {enabled: true, selector: {istio: egressgateway}}
  useOpenshiftRouter: true
  local: {export: [{hostname: productpage.mesh.global}]}
  remote:
  - {mesh: west, network: west-network, addresses: [192.168.2.10, 192.168.2.11], port: 15443,
     locality: us-west-1, importedServices: [httpbin.mesh.global, ratings.mesh.global]}
import: [{hostname: ratings.mesh.global}, {hostname: httpbin.mesh.global}]
export: [{hostname: productpage.mesh.global, labelSelector: {app: productpage, "y": "n"}}]
""")
    rendering = render_layers([Layer("values.yaml", values)], [], Options(scope="all"))
    objects = list(rendering.objects())
    assert objects
    monkeypatch.setattr(output, "_pyyaml_document", lambda obj: pytest.fail(f"PyYAML path for {obj}"))
    text = output.dump_yaml(objects)
    planned = output.dump_yaml(rendering.objects())  # straight from the rows, shared blocks cached
    monkeypatch.undo()
    assert text == planned == reference(objects)


def test_cache_is_bounded() -> None:
    writer = emit.Writer(output._plain_tag)
    for i in range(emit._CACHE_MAX + 10):
        writer.key(f"{i}-name")  # not always plain: each one resolved, then remembered
    assert len(writer._cache) == len(writer._keys) == emit._CACHE_MAX


@settings(max_examples=200, deadline=None)
@given(documents)
def test_streaming_writes_the_same_text(objects: list) -> None:
    chunks: list[str] = []
    output.write_yaml(iter(objects), chunks.append)
    assert "".join(chunks) == output.dump_yaml(objects)
    chunks = []
    output.write_json(iter(objects), chunks.append)
    assert "".join(chunks) == output.dump_json(objects)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_json_is_one_compact_list(objects: list) -> None:
    expected = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, ensure_ascii=False,
                          separators=(",", ":")) + "\n"
    assert output.dump_json(objects) == expected


def test_streaming_writes_in_chunks() -> None:
    objects = [{"name": f"object-{i}", "spec": {"hosts": ["a.mesh.global"] * 20}} for i in range(2000)]
    buffer = io.StringIO()
    sizes: list[int] = []
    output.write_yaml(objects, lambda s: (sizes.append(len(s)), buffer.write(s)))
    assert buffer.getvalue() == output.dump_yaml(objects)
    assert len(sizes) > 1 and max(sizes) < 4 * output._CHUNK


def _words(regexp: re.Pattern[str] | GoKind) -> set[str]:
    """The words of a pattern that is an anchored list of words (`^(?:a|b|c)$`, maybe verbose);
    fails for any other pattern."""
    if isinstance(regexp, GoKind):  # go-yaml v2's own resolution: of words, for bool and null
        assert regexp.kind in (bool, type(None)), regexp.kind
        return {word for word, value in WORDS.items() if type(value) is regexp.kind}
    source = regexp.pattern
    if regexp.flags & re.VERBOSE:
        source = re.sub(r"\s", "", source)
    assert source.startswith("^(?:") and source.endswith(")$"), regexp.pattern
    words = set(source[4:-2].split("|"))
    assert all(re.fullmatch(r"[A-Za-z~]*", w) for w in words), regexp.pattern
    return words


def test_strings_the_writer_takes_as_plain_are_plain_for_every_resolver() -> None:
    """emit._ALWAYS_PLAIN skips the resolver for strings starting with a letter but the words in
    emit._RESOLVED_WORDS: that holds only while every resolver for a first letter is a list of
    words, all of them among those."""
    table = output.quoting_dumper().yaml_implicit_resolvers
    assert None not in table
    for first, rules in table.items():
        if first.isalpha():
            for _, regexp in rules:
                assert {w for w in _words(regexp) if w[:1].isalpha()} <= emit._RESOLVED_WORDS, (first, regexp)


def test_the_words_are_quoted_everywhere() -> None:
    every_casing = {"".join(c) for w in ("y", "yes", "n", "no", "on", "off", "true", "false", "null")
                    for c in itertools.product(*({ch.lower(), ch.upper()} for ch in w))}
    for word in sorted(every_casing):
        expected = reference([{"metadata": {"name": word}, word: [word]}])
        assert output.dump_yaml([{"metadata": {"name": word}, word: [word]}]) == expected
        assert (f"'{word}'" in expected) == (word in emit._RESOLVED_WORDS), word


@settings(max_examples=300, deadline=None)
@given(st.from_regex(emit._ALWAYS_PLAIN, fullmatch=True).filter(lambda text: text not in emit._RESOLVED_WORDS))
def test_always_plain_strings_are_written_plain(text: str) -> None:
    assert output.dump_yaml([{"k": text}]) == reference([{"k": text}]) == f"---\nk: {text}\n"


def _rows(data: st.DataObject) -> list:
    """Planned rows as the layouts make them: specs and labels parts shared between rows."""
    from meshfed.output.rows import Planned, given as content

    simple = st.dictionaries(st.text("abyn:-# '", max_size=4), st.one_of(
        st.text("abyn01:.-# '", max_size=6), st.integers(), st.booleans(), st.none(), values), min_size=1, max_size=3)
    pool = [emit.Shared(d) for d in data.draw(st.lists(simple, min_size=2, max_size=4))]
    rows = []
    for _ in range(data.draw(st.integers(0, 5))):
        spec = data.draw(st.one_of(st.sampled_from(pool), st.dictionaries(keys, values, max_size=3)))
        parts = tuple(pool[i] for i in data.draw(st.lists(st.integers(0, len(pool) - 1), max_size=2, unique=True)))
        if any(not a.keys().isdisjoint(b) for a in parts for b in parts if a is not b):
            parts = ()
        labels = data.draw(st.one_of(st.just(parts), st.dictionaries(keys, scalars, max_size=2), st.none()))
        namespace = data.draw(st.one_of(st.none(), st.sampled_from(["apps", "on", "a b"])))
        name = data.draw(st.one_of(st.sampled_from(TRICKY), st.text(max_size=8)))
        kind = data.draw(st.sampled_from(["WorkloadEntry", "y", "a: b"]))
        rows.append((Planned("networking.istio.io/v1", kind, namespace, name, name, content, (spec, labels)), name))
    return rows


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_planned_rows_are_written_as_their_objects(data: st.DataObject) -> None:
    """The YAML written straight from planned rows (shared blocks cached) is PyYAML's text of the
    objects the rows build, and the objects hold plain dicts only."""
    from meshfed.output.rows import Objects

    rows = _rows(data)
    objects = Objects([([p for p, _ in rows], [n for _, n in rows])])
    built = list(objects)
    assert all(type(o["spec"]) is dict and type(o["metadata"].get("labels", {})) is dict for o in built)
    assert output.dump_yaml(objects) == reference(built)
    assert output.dump_json(objects) == output.dump_json(built)


def _share(value: object, pool: list) -> object:
    """`value` with its maps turned into emit.Shared, the same object reused wherever an equal
    map recurs (as the rows share route and port items)."""
    if isinstance(value, list):
        return [_share(v, pool) for v in value]
    if isinstance(value, dict):
        shared = emit.Shared({k: _share(v, pool) for k, v in value.items()})
        for seen in pool:
            if seen == shared:
                return seen
        pool.append(shared)
        return shared
    return value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
@example([{"a": [{"x": 1}, {"x": 1}], "b": {"c": [{"x": 1}, [{"x": 1}]]}}, {"d": [{"x": 1}]}])
def test_shared_maps_are_written_as_maps(objects: list) -> None:
    """Shared maps anywhere (their list items' text cached per place) write the same bytes as
    plain maps, by the writer and by PyYAML alike."""
    pool: list = []
    shared = [{k: _share(v, pool) for k, v in o.items()} for o in objects]
    assert output.dump_yaml(shared) == reference(objects)
    assert output.dump_json(shared) == output.dump_json(objects)
