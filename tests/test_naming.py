"""dash, withPort and F2 (chart-behavior.md 1, 6)."""
from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from meshfed.values.formats import is_dns_subdomain, is_label_value
from meshfed.values.naming import LABEL_LIMIT, NAME_LIMIT, dash, hashed, resolve, short_hash, with_port


def sha8(identity: str) -> str:
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:8]


def test_dash_replaces_every_dot() -> None:
    assert dash("httpbin.mesh.global") == "httpbin-mesh-global"
    assert dash("a-b.mesh.global") == dash("a.b-mesh.global") == "a-b-mesh-global"
    assert dash("nodots") == "nodots"


def test_with_port_inserts_the_port_after_the_first_label() -> None:
    assert with_port("httpbin.mesh.global", 80) == "httpbin-80.mesh.global"
    assert with_port("a.b", 9080) == "a-9080.b"
    assert with_port("a-b.c-d.e", 1) == "a-b-1.c-d.e"


def test_the_suffix_is_the_first_8_hex_digits_of_sha256_of_the_identity() -> None:
    assert short_hash("a-b.mesh.global") == sha8("a-b.mesh.global") == "4baf0470"
    assert short_hash("ratings.mesh.global/production-east/0") == "d45cb9d5"
    assert short_hash("ü") == sha8("ü")  # UTF-8


def test_hashed_lowercases_and_replaces_characters_not_allowed() -> None:
    assert hashed("remote-gateway-West_Net", "West_Net", NAME_LIMIT) == f"remote-gateway-west-net-{sha8('West_Net')}"
    assert hashed("ratings-mesh-global-1:20-0", "id", NAME_LIMIT) == f"ratings-mesh-global-1-20-0-{sha8('id')}"
    # label values may keep '_' and '.'
    assert hashed("A_b.C", "id", LABEL_LIMIT) == f"a_b.c-{sha8('id')}"


def test_hashed_cuts_to_fit_with_the_suffix_and_trims_what_the_cut_leaves() -> None:
    label = hashed("a" * 54 + "-" + "b" * 30, "h", LABEL_LIMIT)
    assert label == "a" * 54 + "-" + sha8("h") and len(label) == 63
    # the cut ends on a separator: trimmed
    label = hashed("a" * 53 + "--" + "b" * 30, "h", LABEL_LIMIT)
    assert label == "a" * 53 + "-" + sha8("h")
    name = hashed("x" * 300, "h", NAME_LIMIT)
    assert name == "x" * 244 + "-" + sha8("h") and len(name) == 253
    name = hashed("x" * 243 + "-yyyy", "h", NAME_LIMIT)
    assert name == "x" * 243 + "-" + sha8("h")


def test_hashed_trims_leading_separators_and_falls_back_to_the_suffix() -> None:
    assert hashed("-Abc-", "id", NAME_LIMIT) == f"abc-{sha8('id')}"
    assert hashed("___", "id", NAME_LIMIT) == sha8("id")


def test_valid_unique_names_stay_as_the_charts_make_them() -> None:
    names = resolve([(1, "ratings-mesh-global", "ratings.mesh.global"),
                     (2, "details-mesh-global", "details.mesh.global")], NAME_LIMIT)
    assert names == {1: "ratings-mesh-global", 2: "details-mesh-global"}


def test_a_collision_hashes_every_claimant() -> None:
    names = resolve([("x", "a-b-mesh-global", "a-b.mesh.global"), ("y", "a-b-mesh-global", "a.b-mesh.global"),
                     ("z", "c-mesh-global", "c.mesh.global")], NAME_LIMIT)
    assert names == {"x": f"a-b-mesh-global-{sha8('a-b.mesh.global')}",
                     "y": f"a-b-mesh-global-{sha8('a.b-mesh.global')}",
                     "z": "c-mesh-global"}


def test_an_invalid_or_too_long_value_is_hashed_alone() -> None:
    long_host = "a" * 63 + "." + "b" * 63
    labels = resolve([(long_host, dash(long_host), long_host)], LABEL_LIMIT)
    assert labels[long_host] == "a" * 54 + "-" + sha8(long_host)
    names = resolve([(0, "Upper", "Upper")], NAME_LIMIT)
    assert names[0] == f"upper-{sha8('Upper')}"


names = st.text("abAB-_.:09", min_size=1, max_size=300)


@settings(max_examples=200, deadline=None)
@given(wanted=st.lists(st.tuples(names, st.text(max_size=20)), max_size=8))
def test_resolved_names_are_valid_and_unique(wanted: list[tuple[str, str]]) -> None:
    # distinct identities (as the rows give them); wanted names may collide
    identities = {}
    for value, identity in wanted:
        identities.setdefault(identity, value)
    triples = [(i, value, identity) for i, (identity, value) in enumerate(identities.items())]
    for limit, valid in ((NAME_LIMIT, is_dns_subdomain), (LABEL_LIMIT, is_label_value)):
        out = resolve(triples, limit)
        assert sorted(out) == [i for i, _, _ in triples]
        assert all(valid(v) and len(v) <= limit for v in out.values()), out
        assert len(set(out.values())) == len(out), out
        for i, value, _ in triples:
            if valid(value) and sum(v == value for _, v, _ in triples) == 1:
                assert out[i] == value
