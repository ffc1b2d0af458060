"""Helm merge semantics with provenance (chart-behavior.md 2.2, 2.3, 5)."""
from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from meshfed.values.merge import Layer, format_path, merge_layers
from meshfed.pipeline import Options, render_layers


def merged(*layers: dict[str, Any]) -> dict[str, Any]:
    return merge_layers([Layer(f"f{i}.yaml", data) for i, data in enumerate(layers)]).values


# --- semantics ------------------------------------------------------------------------------

def test_maps_merge_key_by_key_and_later_files_win() -> None:
    a = {"global": {"configNamespace": "istio-system", "gateways": {"ingress": {"port": 15443, "portName": "tls"}}}}
    b = {"global": {"gateways": {"ingress": {"port": 16443}}, "enableGatewayAPI": True}}
    assert merged(a, b) == {"global": {"configNamespace": "istio-system", "enableGatewayAPI": True,
                                       "gateways": {"ingress": {"port": 16443, "portName": "tls"}}}}


def test_the_v2_ingress_selector_merges_with_the_default_key() -> None:
    """2.2: a user's {istio: eastwestgateway} becomes {app: istio-eastwestgateway, istio: eastwestgateway}."""
    defaults = {"global": {"gateways": {"ingress": {"selector": {"app": "istio-eastwestgateway"}}}}}
    user = {"global": {"gateways": {"ingress": {"selector": {"istio": "eastwestgateway"}}}}}
    assert merged(defaults, user)["global"]["gateways"]["ingress"]["selector"] == {
        "app": "istio-eastwestgateway", "istio": "eastwestgateway"}


def test_lists_are_replaced_whole() -> None:
    a = {"global": {"remote": [{"mesh": "west", "network": "w", "addresses": ["192.0.2.1"]}, {"mesh": "east"}]}}
    b = {"global": {"remote": [{"addresses": ["192.0.2.9"]}]}}
    assert merged(a, b)["global"]["remote"] == [{"addresses": ["192.0.2.9"]}]
    assert merged(b, {"global": {"remote": []}})["global"]["remote"] == []


def test_scalars_and_maps_replace_each_other() -> None:
    assert merged({"a": {"b": 1}}, {"a": 2}) == {"a": 2}
    assert merged({"a": 2}, {"a": {"b": 1}}) == {"a": {"b": 1}}
    assert merged({"a": [1, 2]}, {"a": {"b": 1}}) == {"a": {"b": 1}}
    assert merged({"a": {"b": 1}}, {"a": [3]}) == {"a": [3]}


def test_null_deletes_a_key_also_one_from_the_defaults() -> None:
    defaults = {"global": {"configNamespace": "istio-system",
                           "gateways": {"ingress": {"selector": {"app": "istio-eastwestgateway"}}}}}
    user = {"global": {"configNamespace": None, "gateways": {"ingress": {"selector": {"app": None, "istio": "ew"}}}}}
    result = merge_layers([Layer("<defaults>", defaults), Layer("user.yaml", user)])
    assert result.values == {"global": {"gateways": {"ingress": {"selector": {"istio": "ew"}}}}}
    assert result.removed[("global", "configNamespace")].name == "user.yaml"
    assert result.removed[("global", "gateways", "ingress", "selector", "app")].name == "user.yaml"


def test_null_deletes_a_whole_map_and_a_later_file_can_set_it_again() -> None:
    a = {"global": {"egressGateway": {"enabled": True, "port": 443}}}
    assert merged(a, {"global": {"egressGateway": None}}) == {"global": {}}
    result = merge_layers([Layer("a", a), Layer("b", {"global": {"egressGateway": None}}),
                           Layer("c", {"global": {"egressGateway": {"port": 8443}}})])
    assert result.values == {"global": {"egressGateway": {"port": 8443}}}
    assert ("global", "egressGateway") not in result.removed


def test_null_for_an_absent_key_leaves_nothing_behind() -> None:
    assert merged({"global": {}}, {"global": {"port": None}}) == {"global": {}}
    assert merged({}, {"import": None}) == {}


def test_nulls_inside_a_new_map_are_dropped_but_nulls_in_lists_are_kept() -> None:
    """Within one file Helm drops null map values; a null list item stays so that the schema
    reports it (2.3: a null inside a list is a type error)."""
    assert merged({}, {"global": {"gateways": {"ingress": {"port": None, "portName": "tls"}}}}) == {
        "global": {"gateways": {"ingress": {"portName": "tls"}}}}
    assert merged({"import": [{"hostname": "a.b"}]}, {"import": [None, {"hostname": "c.d", "ports": None}]}) == {
        "import": [None, {"hostname": "c.d"}]}


def test_inputs_are_not_modified() -> None:
    a = {"global": {"gateways": {"ingress": {"selector": {"app": "x"}}}, "remote": [{"mesh": "m"}]}}
    b = {"global": {"gateways": {"ingress": {"selector": {"app": None, "istio": "y"}}}, "remote": [{"mesh": "n"}]}}
    a0, b0 = copy.deepcopy(a), copy.deepcopy(b)
    result = merge_layers([Layer("a", a), Layer("b", b)])
    result.values["global"]["remote"].append("changed")
    assert (a, b) == (a0, b0)


# --- provenance -----------------------------------------------------------------------------

def test_origin_names_the_layer_that_supplied_each_value() -> None:
    a = {"global": {"configNamespace": "ns", "remote": [{"mesh": "west"}]}}
    b = {"global": {"remote": [{"mesh": "east"}], "gateways": {"ingress": {"port": 1}}}}
    result = merge_layers([Layer("<defaults>", {"global": {"enableGatewayAPI": False}}), Layer("a.yaml", a),
                           Layer("b.yaml", b)])
    assert result.origin(("global", "configNamespace")).name == "a.yaml"
    assert result.origin(("global", "enableGatewayAPI")).name == "<defaults>"
    assert result.origin(("global", "remote", 0, "mesh")).name == "b.yaml"  # the list came whole from b
    assert result.origin(("global", "gateways", "ingress", "port")).name == "b.yaml"


def test_origin_falls_back_to_the_first_layer_for_a_path_no_layer_set() -> None:
    """A finding under a key that a null removed (or that no file set) still names a file."""
    result = merge_layers([Layer("<defaults>", {"global": {"configNamespace": "istio-system"}}),
                           Layer("a.yaml", {"global": None})])
    assert result.origin(("global", "configNamespace")).name == "<defaults>"
    assert result.origin(("import", 0, "hostname")).name == "<defaults>"
    assert merge_layers([]).origin(("global",)) is None


def test_a_map_replaced_whole_forgets_what_a_null_removed_below_it() -> None:
    """x.req removed by a null, x then replaced by a list and by a map without req: a "required"
    error for x.req must blame the file that set the map, not "the null removed it"."""
    result = merge_layers([Layer("<defaults>", {"x": {"req": 1}}), Layer("a.yaml", {"x": {"req": None}}),
                           Layer("b.yaml", {"x": [1]}), Layer("c.yaml", {"x": {"y": 1}})])
    assert result.values == {"x": {"y": 1}}
    assert [p for p in (*result.removed, *result.origins) if p[:2] == ("x", "req")] == []
    assert result.origin(("x", "req")).name == "c.yaml"


def test_errors_name_the_file_that_supplied_the_value() -> None:
    mesh = {"global": {"defaultServicePorts": [{"number": 9080, "name": "http", "protocol": "HTTP"}],
                       "configNamespace": True}}
    ns = {"global": {"defaultServicePorts": [{"number": 0, "name": "http", "protocol": "HTTP"}]},
          "export": [{"hostname": "details.mesh.global"}]}
    rendering = render_layers([Layer("mesh.yaml", mesh), Layer("ns.yaml", ns)], [], Options())
    errors = {(d.file, d.path) for d in rendering.diagnostics if d.severity == "error"}
    assert ("mesh.yaml", "global.configNamespace") in errors
    assert ("ns.yaml", "global.defaultServicePorts[0].number") in errors  # the list came from ns.yaml
    assert ("ns.yaml", "export[0].labelSelector") in errors


def test_required_after_a_null_names_the_file_whose_null_removed_it() -> None:
    base = {"global": {"configNamespace": "federation", "local": {"export": [{"hostname": "a.mesh.global"}]},
                       "gateways": {"ingress": {"selector": {"istio": "ew"}}}}}
    rendering = render_layers([Layer("base.yaml", base), Layer("override.yaml", {"global": {"configNamespace": None}})],
                              [], Options())
    errors = [d for d in rendering.diagnostics if d.severity == "error"]
    assert [(d.file, d.path) for d in errors] == [("override.yaml", "global.configNamespace")]
    assert errors[0].message.startswith("required")


def test_a_document_layer_locates_paths_below_its_prefix() -> None:
    layer = Layer("mesh.yaml", {}, "spec.values")
    assert layer.locate(("global", "remote", 0, "port")) == "spec.values.global.remote[0].port"
    assert layer.locate(()) == "spec.values"
    assert Layer("mesh.yaml", {}, "", "spec.patches[2]").locate(("import",)) == "import (set by spec.patches[2])"


def test_format_path() -> None:
    assert format_path(("global", "remote", 0, "addresses", 1)) == "global.remote[0].addresses[1]"
    assert format_path(("import", 1, "hostname")) == "import[1].hostname"
    assert format_path(("global", "gateways", "ingress", "selector", "app.kubernetes.io/name")) == \
        'global.gateways.ingress.selector["app.kubernetes.io/name"]'
    assert format_path(("a", 'say "hi"')) == 'a["say \\"hi\\""]'
    assert format_path(()) == ""
    # Plain keys whose second character is not a letter are not bracketed either.
    assert format_path(("k8s", "a-b", "a_b", "x1", 0, "k8s")) == "k8s.a-b.a_b.x1[0].k8s"


# --- algebra (hypothesis) -------------------------------------------------------------------

# Values shaped like values files: a key always holds a map (MAP_KEYS) or always a leaf (LEAF_KEYS).
# (Helm's merge is not associative when a scalar replaces a map that a later map would have
# merged into; values files of one chart never change a key's type.)
MAP_KEYS = ["global", "gateways", "selector"]
LEAF_KEYS = ["a", "b", "app", "mesh", "ports"]
leaves = st.one_of(st.integers(-3, 3), st.booleans(), st.text("xy", max_size=2),
                   st.lists(st.integers(0, 3), max_size=2))


def shaped_maps(leaf: st.SearchStrategy, depth: int = 3) -> st.SearchStrategy[dict]:
    if depth == 0:
        return st.dictionaries(st.sampled_from(LEAF_KEYS), leaf, max_size=3)
    inner = shaped_maps(leaf, depth - 1)
    nullable_inner = st.one_of(inner, st.none()) if leaf is leaves_or_null else inner
    return st.builds(lambda m, leaves: {**m, **leaves},
                     st.dictionaries(st.sampled_from(MAP_KEYS), nullable_inner, max_size=2),
                     st.dictionaries(st.sampled_from(LEAF_KEYS), leaf, max_size=3))


leaves_or_null = st.one_of(leaves, st.none())
maps_without_nulls = shaped_maps(leaves)
maps_with_nulls = shaped_maps(leaves_or_null)


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if v is not None}
    return value


@settings(max_examples=150, deadline=None)
@given(a=maps_without_nulls, b=maps_without_nulls, c=maps_without_nulls)
def test_merging_is_associative_for_maps_without_nulls(a: dict, b: dict, c: dict) -> None:
    left = merged(merged(a, b), c)
    right = merged(a, merged(b, c))
    assert left == right == merged(a, b, c)


@settings(max_examples=150, deadline=None)
@given(a=maps_with_nulls)
def test_merging_with_an_empty_map_is_the_identity(a: dict) -> None:
    """merge(a, {}) == a and merge({}, a) == a (nulls of a single file are dropped, as Helm does)."""
    assert merged(a, {}) == _strip(a)
    assert merged({}, a) == _strip(a)
    assert merged(a) == _strip(a)


@settings(max_examples=150, deadline=None)
@given(a=maps_without_nulls, b=maps_with_nulls)
def test_later_layers_win_and_nulls_remove(a: dict, b: dict) -> None:
    result = merged(a, b)
    for key, value in b.items():
        if value is None:
            assert key not in result
        elif not (isinstance(value, dict) and isinstance(a.get(key), dict)):
            assert result[key] == _strip(value)
    for key in a.keys() - b.keys():
        assert result[key] == a[key]
