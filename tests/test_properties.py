"""Property tests of the whole pipeline (values layers in, objects and diagnostics out).

* Values valid by construction (both layouts, every switch, random remotes, imports and exports,
  long hostnames and hostnames whose dashes collide, YAML 1.1 look-alike strings) render without
  errors, and the output holds the invariants of chart-behavior.md: unique (group, kind,
  namespace, name) (F2), weights summing to 100 (F1), valid names and label values (F2),
  determinism (5), and a YAML stream every YAML 1.1 reader reads back as the same objects (F4).
* Valid-shaped values with random damage (dropped keys, duplicates, nulls, wrong scalars) either
  render or give errors that each name a file and a field path; never an exception.
* Arbitrary junk gives diagnostics, never an exception, also through files (`api.render`).
"""
from __future__ import annotations

import functools
import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshfed.api import render as render_request
from meshfed.values.formats import is_dns_subdomain, is_ip, is_label_key, is_label_value
from meshfed.values.merge import Layer
from meshfed.output.serialize import dump_yaml
from meshfed.pipeline import Options, render_layers
from meshfed.values.yamlio import parse_all

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- strategies -----------------------------------------------------------------------------

ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
# Strings a YAML 1.1 reader takes for another type unless quoted (F4).
LOOKALIKES = ["y", "n", "Y", "N", "on", "off", "On", "OFF", "yes", "no", "true", "False", "null", "Null",
              "1.10", "1e3", "0x1F", "0o17", "010", "1_000", "0b101", "+1", "1:20", "2001-12-14", "12e03"]
LABEL_LOOKALIKES = [s for s in LOOKALIKES if is_label_value(s)]


@functools.cache
def dns_label(max_size: int = 63) -> st.SearchStrategy[str]:
    """A DNS label, often short, sometimes as long as allowed."""
    def build(parts: tuple[str, str, str]) -> str:
        first, middle, last = parts
        return (first + middle + last)[:max_size].rstrip("-") or first
    short = st.tuples(st.sampled_from(ALNUM), st.text(ALNUM + "-", max_size=6), st.sampled_from(ALNUM))
    long = st.tuples(st.sampled_from(ALNUM), st.text(ALNUM + "-", min_size=min(40, max_size - 2),
                                                     max_size=max_size - 2), st.sampled_from(ALNUM))
    return st.one_of(short.map(build), long.map(build), st.sampled_from(["a", "b", "a-b", "b-mesh", "mesh"]))


def _join_host(first: str, rest: list[str]) -> str:
    """`first.rest...`, dropping trailing labels until the name fits in 253 characters."""
    while rest and len(".".join([first, *rest])) > 253:
        rest = rest[:-1]
    return ".".join([first, *(rest or ["global"])])


# Lowercase DNS names with at least one dot; many share parts so that dashes collide
# (`a-b.mesh.global`, `a.b-mesh.global`); the first label stays short enough for withPort (F7).
HOSTNAMES = st.one_of(
    st.sampled_from(["a-b.mesh.global", "a.b-mesh.global", "a.b.mesh.global", "a-b-mesh.global",
                     "ratings.mesh.global", "details.mesh.global", "ratings.mesh-global"]),
    st.builds(_join_host, dns_label(57), st.lists(dns_label(), min_size=1, max_size=4)),
)


def hostnames() -> st.SearchStrategy[str]:
    return HOSTNAMES


PROTOCOLS = ["TCP", "UDP", "GRPC", "GRPC-Web", "HTTP", "HTTP_PROXY", "HTTP2", "HTTPS", "TLS", "Mongo", "Redis",
             "MySQL", "http", "grpc-web", "tls"]


@st.composite
def port_lists(draw: Any, min_size: int = 0) -> list[dict[str, Any]]:
    """Ports with unique names and numbers."""
    numbers = draw(st.lists(st.integers(1, 65535), min_size=min_size, max_size=3, unique=True))
    names = draw(st.lists(st.one_of(dns_label(max_size=15), st.sampled_from(["on", "y", "no", "http"])),
                          min_size=len(numbers), max_size=len(numbers), unique=True))
    out = []
    for number, name in zip(numbers, names):
        port: dict[str, Any] = {"number": number, "name": name, "protocol": draw(st.sampled_from(PROTOCOLS))}
        if draw(st.booleans()):
            port["targetPort"] = draw(st.integers(1, 65535))
        out.append(port)
    return out


label_values = st.one_of(
    dns_label(max_size=20), st.sampled_from(LABEL_LOOKALIKES),
    st.builds(lambda a, b, c: a + b + c, st.sampled_from("Ab9"), st.text("-_.aZ0", max_size=8), st.sampled_from("z0Q")))
label_keys = st.one_of(st.sampled_from(["app", "istio", "version", "app.kubernetes.io/name", "y", "on"]),
                       dns_label(max_size=20))
selectors = st.dictionaries(label_keys, label_values, min_size=1, max_size=3)
free_strings = st.one_of(st.sampled_from(LOOKALIKES), st.text(max_size=12),
                         st.sampled_from(["us-west-1", "us-east-1/zone-a", "region/zone/sub"]))


@st.composite
def addresses(draw: Any) -> list[str]:
    """One to three addresses, all IP literals or all DNS names (never mixed)."""
    kind = draw(st.sampled_from(["v4", "v6", "ip", "dns"]))
    n = draw(st.integers(1, 3))
    v4 = st.integers(0x0A000001, 0x0AFFFFFE).map(lambda i: str(ipaddress.IPv4Address(i)))
    v6 = st.integers(0x20010DB8 << 96, (0x20010DB8 << 96) + 0xFFFF).map(lambda i: str(ipaddress.IPv6Address(i)))
    dns = st.builds(lambda a, b: f"{a}.{b}.example.com", dns_label(max_size=20), dns_label(max_size=10))
    item = {"v4": v4, "v6": v6, "ip": st.one_of(v4, v6), "dns": dns}[kind]
    return draw(st.lists(item, min_size=n, max_size=n, unique=True))


@st.composite
def valid_values(draw: Any, layout: str) -> dict[str, Any]:
    """Values with no error of section 7: every host imported from a remote with addresses,
    unique meshes and networks, ports everywhere, non-empty selectors."""
    pool = draw(st.lists(hostnames(), min_size=1, max_size=6, unique=True))
    router = draw(st.booleans())
    egress = draw(st.booleans())
    gateway_api = layout == "v2" and draw(st.booleans())
    g: dict[str, Any] = {"defaultServicePorts": draw(port_lists(min_size=1))}
    if draw(st.booleans()):
        g["configNamespace"] = draw(st.one_of(dns_label(max_size=20), st.sampled_from(["on", "y", "no", "null"])))
    n_remotes = draw(st.integers(0, 4))
    meshes = draw(st.lists(dns_label(max_size=30), min_size=n_remotes, max_size=n_remotes, unique=True))
    networks = draw(st.lists(label_values, min_size=n_remotes, max_size=n_remotes, unique=True))
    remotes = []
    for mesh, network in zip(meshes, networks):
        r: dict[str, Any] = {"mesh": mesh, "network": network, "addresses": draw(addresses()),
                             "importedServices": draw(st.lists(st.sampled_from(pool), max_size=4, unique=True))}
        if layout == "v1" or draw(st.booleans()):
            r["port"] = draw(st.integers(1, 65535))
        if draw(st.booleans()):
            r["locality"] = draw(free_strings)
        remotes.append(r)
    g["remote"] = remotes
    offered = sorted({h for r in remotes for h in r["importedServices"]})
    local = draw(st.lists(st.sampled_from(pool), max_size=3, unique=True))
    if local:
        g["local"] = {"export": [{"hostname": h, **({"ports": draw(port_lists(min_size=1))}
                                                     if draw(st.booleans()) else {})} for h in local]}
    if layout == "v2":
        ingress: dict[str, Any] = {}
        if draw(st.booleans()):
            selector = draw(selectors)
            if "app" not in selector and draw(st.booleans()):
                selector["app"] = None  # removes the chart default key (2.2); the selector keeps others
            ingress["selector"] = selector
        if draw(st.booleans()):
            ingress["port"] = draw(st.integers(1, 65535))
        if draw(st.booleans()):
            ingress["portName"] = draw(free_strings)
            ingress["serviceName"] = draw(free_strings)
        egress_gw: dict[str, Any] = {"enabled": egress}
        if draw(st.booleans()):
            egress_gw["selector"] = draw(selectors)
            egress_gw["port"] = draw(st.integers(1, 65535))
            egress_gw["service"] = {"name": draw(dns_label(max_size=20)), "namespace": draw(dns_label(max_size=20))}
        g["gateways"] = {"ingress": ingress, "egress": egress_gw}
        g["enableGatewayAPI"] = gateway_api
        g["enableOpenshiftRouter"] = router
    else:
        g["egressGateway"] = {"enabled": egress, "selector": draw(selectors)}
        if draw(st.booleans()):
            g["egressGateway"]["port"] = draw(st.integers(1, 65535))
        g["useOpenshiftRouter"] = router
        if draw(st.booleans()):
            g["gatewaySelector"] = draw(selectors)
        if draw(st.booleans()):
            g["port"] = draw(st.integers(1, 65535))
    # meshfed's extension: failover (its egress destination failover.<host> must stay a DNS name)
    if draw(st.booleans()) and all(len(h) <= 200 for h in pool):
        failover: dict[str, Any] = {"enabled": draw(st.booleans()), "mode": draw(st.sampled_from(["nearest", "weighted"]))}
        if offered and meshes and draw(st.booleans()):
            failover["services"] = [{"hostname": offered[0], "weights": {meshes[0]: draw(st.integers(1, 100))}}]
        g["failover"] = failover
    values: dict[str, Any] = {"global": g}
    imports = draw(st.lists(st.sampled_from(offered), max_size=4, unique=True)) if offered else []
    if imports:
        values["import"] = [{"hostname": h, **({"ports": draw(port_lists(min_size=1))} if draw(st.booleans()) else {})}
                            for h in imports]
    exports = draw(st.lists(st.sampled_from(pool), max_size=3, unique=True))
    if exports:
        values["export"] = [{"hostname": h, "labelSelector": draw(selectors),
                             **({"ports": draw(port_lists(min_size=1))} if draw(st.booleans()) else {})}
                            for h in exports]
        # meshfed's extension: boundary authorization of the exports
        if draw(st.booleans()):
            importer: dict[str, Any] = {"trustDomain": "importer.example.org", "namespace": draw(dns_label(max_size=20))}
            if draw(st.booleans()):
                importer["serviceAccounts"] = [draw(dns_label(max_size=20))]
            g["authorization"] = {"enabled": draw(st.booleans()), "trustDomain": "exporter.example.org",
                                  "services": [{"hostname": exports[0], "importers": [importer]}]}
    return values


render_options = st.builds(
    Options,
    scope=st.sampled_from([None, "mesh", "namespace", "all"]),
    namespace=st.sampled_from([None, "bookinfo", "istio-system", "y"]),
)


# --- helpers --------------------------------------------------------------------------------

def render(values: dict[str, Any], opts: Options, layout: str | None) -> tuple[list[dict], list]:
    rendering = render_layers([Layer("values.yaml", values)], [], Options(scope=opts.scope, namespace=opts.namespace, layout=layout, allow_empty=True))
    objects = list(rendering.objects())
    return objects, rendering.diagnostics


def errors_of(diagnostics: list) -> list:
    return [d for d in diagnostics if d.severity == "error"]


def assert_located(diagnostics: list) -> None:
    """Every error names a file and a field path."""
    for d in errors_of(diagnostics):
        assert d.file, f"error without a file: {d}"
        assert d.path, f"error without a field path: {d}"


def assert_output_invariants(objects: list[dict[str, Any]]) -> None:
    seen = set()
    for obj in objects:
        meta = obj["metadata"]
        key = (obj["apiVersion"].rpartition("/")[0], obj["kind"], meta.get("namespace"), meta["name"])
        assert key not in seen, f"two objects are {key}"
        seen.add(key)
        # F2: names are DNS-1123 subdomains of at most 253 characters, label values valid.
        assert is_dns_subdomain(meta["name"]) and len(meta["name"]) <= 253, meta["name"]
        for k, v in (meta.get("labels") or {}).items():
            assert is_label_key(k) and is_label_value(v), (k, v)
        spec = obj["spec"]
        selector = (spec.get("workloadSelector") or {}).get("labels") or {}
        for k, v in selector.items():
            assert is_label_key(k) and is_label_value(v), (k, v)
        if obj["kind"] == "VirtualService":  # F1
            for route in spec.get("tls", []) + spec.get("http", []):
                weights = [d["weight"] for d in route["route"]]
                assert sum(weights) == 100 and all(w > 0 for w in weights), weights
                assert max(weights) - min(weights) <= 1, weights
                assert weights == sorted(weights, reverse=True), weights


def assert_round_trip(objects: list[dict[str, Any]]) -> None:
    """F4: the YAML stream reads back as the same objects with PyYAML (YAML 1.1) and go-yaml's
    rules (meshfed.values.yamlio)."""
    text = dump_yaml(objects)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    assert list(yaml.load_all(text, Loader=loader)) == objects
    assert parse_all(text, "out.yaml") == objects


# --- properties -----------------------------------------------------------------------------

@SETTINGS
@given(data=st.data(), opts=render_options, layout=st.sampled_from(["v1", "v2"]))
def test_valid_values_render_with_the_output_invariants(layout: str, data: st.DataObject, opts: Options) -> None:
    values = data.draw(valid_values(layout))
    explicit = data.draw(st.sampled_from([None, layout]))
    objects, diagnostics = render(values, opts, explicit)
    assert errors_of(diagnostics) == [], [str(d) for d in diagnostics]
    assert_located(diagnostics)
    assert_output_invariants(objects)
    # (d) determinism: the same input twice gives the same bytes
    again, diagnostics_again = render(values, opts, explicit)
    assert dump_yaml(again) == dump_yaml(objects)
    assert [str(d) for d in diagnostics_again] == [str(d) for d in diagnostics]
    assert_round_trip(objects)


def _damage(draw: Any, value: Any, depth: int = 0) -> Any:
    """Randomly drop keys, null values, duplicate list items, or swap in wrong scalars."""
    choice = draw(st.integers(0, 9))
    if choice == 0 and depth > 0:
        return draw(st.sampled_from([None, True, 0, -1, 70000, "", "X", "on", 1.5, [], {}]))
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if draw(st.integers(0, 12)) == 0:
                continue
            out[k] = None if draw(st.integers(0, 15)) == 0 else _damage(draw, v, depth + 1)
        if draw(st.integers(0, 15)) == 0:
            out[draw(st.sampled_from(["extra", "egressGateway", "gateways", "port", "enableGatewayAPI"]))] = \
                draw(st.sampled_from([True, None, {}, 1]))
        return out
    if isinstance(value, list):
        out_list = [_damage(draw, v, depth + 1) for v in value]
        if out_list and draw(st.integers(0, 6)) == 0:
            out_list.append(out_list[0])
        return out_list
    return value


@FEWER
@given(data=st.data(), opts=render_options, layout=st.sampled_from(["v1", "v2"]))
def test_damaged_values_render_or_give_located_errors(layout: str, data: st.DataObject, opts: Options) -> None:
    values = _damage(data.draw, data.draw(valid_values(layout)))
    explicit = data.draw(st.sampled_from([None, "v1", "v2"]))
    objects, diagnostics = render(values, opts, explicit)
    assert_located(diagnostics)
    if errors_of(diagnostics):
        assert objects == []
    else:
        assert_output_invariants(objects)
        assert_round_trip(objects)


junk = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 70000), st.floats(allow_nan=False),
              st.text(max_size=8), st.sampled_from(LOOKALIKES)),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(["global", "import", "export", "remote", "mesh", "network",
                                                   "addresses", "hostname", "ports", "gateways", "egress",
                                                   "ingress", "selector", "egressGateway", "port", "local",
                                                   "enabled", "importedServices", "labelSelector"]),
                                  st.text(max_size=6)), children, max_size=4)),
    max_leaves=25,
)


@SETTINGS
@given(values=st.dictionaries(st.sampled_from(["global", "import", "export", "junk"]), junk, max_size=4),
       opts=render_options, layout=st.sampled_from([None, "v1", "v2"]))
def test_junk_values_give_diagnostics_not_exceptions(values: dict[str, Any], opts: Options, layout: str | None) -> None:
    objects, diagnostics = render(values, opts, layout)
    assert_located(diagnostics)
    if errors_of(diagnostics):
        assert objects == []
    else:
        assert_output_invariants(objects)


@FEW
@given(documents=st.lists(junk, min_size=0, max_size=2), layout=st.sampled_from([None, "v1", "v2"]))
def test_junk_files_give_diagnostics_not_exceptions(tmp_path_factory: pytest.TempPathFactory,
                                                    documents: list[Any], layout: str | None) -> None:
    """Through files: any YAML stream (several documents, non-maps) as a values file."""
    path: Path = tmp_path_factory.mktemp("junk") / "values.yaml"
    path.write_text(yaml.safe_dump_all(documents), "utf-8")
    result = render_request(values_files=[path], options=Options(layout=layout, allow_empty=True))
    for d in result.diagnostics:
        if d.severity == "error":
            assert d.file, str(d)
    if not result.ok:
        assert list(result.objects) == []


@FEW
@given(data=st.data())
def test_valid_values_through_files_equal_layers(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    """A values file written with the emitter renders like the same values given as a layer (the
    reader and the writer agree on every scalar, F4)."""
    layout = data.draw(st.sampled_from(["v1", "v2"]))
    values = data.draw(valid_values(layout))
    path = tmp_path_factory.mktemp("values") / "values.yaml"
    path.write_text(yaml.dump(values, Dumper=_quoting_dumper(), sort_keys=False), "utf-8")
    from_file = render_request(values_files=[path], options=Options(layout=layout, allow_empty=True))
    objects, diagnostics = render(values, Options(), layout)
    assert from_file.ok, [str(d) for d in from_file.diagnostics]
    assert dump_yaml(from_file.objects) == dump_yaml(objects)


def _quoting_dumper() -> type:
    from meshfed.output.serialize import quoting_dumper
    return quoting_dumper()


def _ipaddress_takes(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@settings(max_examples=1000, deadline=None)
@given(st.one_of(
    st.text(alphabet="0123456789.", max_size=17),
    st.lists(st.integers(0, 300).map(str) | st.sampled_from(["00", "01", "010", "", "1_0", "٣", " 1"]),
             min_size=3, max_size=5).map(".".join),
    st.ip_addresses().map(str),
    st.text(alphabet="0123456789abcdefABCDEF:.%", max_size=45),
))
def test_is_ip_takes_what_ipaddress_takes(text: str) -> None:
    assert is_ip(text) == _ipaddress_takes(text)


_hosts = st.sampled_from(["a.mesh.global", "b.mesh.global", "Bad_Host", "", "x", "c.d"])
_selectors = st.dictionaries(st.sampled_from(["app", "version", "bad key!", "a/b"]),
                             st.sampled_from(["x", "v-1", "", "bad value!", None, 3]), max_size=3)
_entries = st.lists(st.one_of(
    st.fixed_dictionaries({"hostname": _hosts}, optional={
        "labelSelector": _selectors | st.none() | st.just("app=x"),
        "ports": st.just([{"number": 9080, "name": "http", "protocol": "HTTP"}]) | st.just([]),
        "addresses": st.just(["1.2.3.4"]), "hostName": _hosts}),
    st.just({}), st.just(None), st.just("a.mesh.global"), st.just({1: "x"})), max_size=6)


@settings(max_examples=300, deadline=None)
@given(_entries, _entries, _entries, st.sampled_from(["v1", "v2"]))
def test_the_entry_shortcut_validates_as_the_walk(imports: list, exports: list, local: list, layout: str) -> None:
    """Validator._entry_test lets entries skip the walk: the cleaned values and the problems
    must be exactly the walk's."""
    from meshfed.values import schema
    values = {"import": imports, "export": exports, "global": {"local": {"export": local}}}
    fast_value, fast_problems = schema.validate(values, "values", layout)
    original = schema.Validator._entry_test
    try:
        schema.Validator._entry_test = lambda self, items: None
        walk_value, walk_problems = schema.validate(values, "values", layout)
    finally:
        schema.Validator._entry_test = original
    assert fast_value == walk_value
    assert [(p.path, p.message) for p in fast_problems] == [(p.path, p.message) for p in walk_problems]
