"""Names and generated label values (F2): the charts' names where they are valid and unique,
hashed ones where they are not."""
from __future__ import annotations

import re
from collections import defaultdict

from .formats import is_dns_subdomain, is_label_value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Hashable, Iterable

NAME_LIMIT = 253
LABEL_LIMIT = 63
_HASH_LEN = 8


def dash(s: str) -> str:
    """`s` with every `.` replaced by `-`."""
    return s.replace(".", "-")


def with_port(host: str, port: int) -> str:
    """`httpbin.mesh.global`, 80 -> `httpbin-80.mesh.global`."""
    first, dot, rest = host.partition(".")
    return f"{first}-{port}{dot}{rest}"


def short_hash(identity: str) -> str:
    import hashlib  # only when a name has to be hashed
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:_HASH_LEN]


_NAME_BAD = re.compile(r"[^a-z0-9.-]")
_LABEL_BAD = re.compile(r"[^a-z0-9._-]")
_SEP_RUN = re.compile(r"[-._]*\.[-._]*")  # a run of separators holding a dot collapses to one dot


def hashed(value: str, identity: str, limit: int) -> str:
    """F2: lowercase, replace what is not allowed by `-`, cut to fit with the suffix, trim the
    separators the cut leaves, then append `-` and the source identity's hash."""
    bad = _NAME_BAD if limit == NAME_LIMIT else _LABEL_BAD
    text = bad.sub("-", value.lower())[: limit - _HASH_LEN - 1]
    if limit == NAME_LIMIT:
        text = _SEP_RUN.sub(".", text)
    text = text.strip("-._")
    suffix = short_hash(identity)
    return f"{text}-{suffix}" if text else suffix


def resolve(candidates: Iterable[tuple[Hashable, str, str]], limit: int) -> dict[Hashable, str]:
    """Final values for (key, wanted value, source identity) triples whose keys share one scope:
    a wanted value that is invalid, or wanted by several, is hashed for every claimant."""
    wanted: dict[Hashable, tuple[str, str]] = {}
    claims: dict[str, int] = defaultdict(int)
    for key, value, identity in candidates:
        wanted[key] = (value, identity)
        claims[value] += 1
    valid = is_dns_subdomain if limit == NAME_LIMIT else is_label_value
    out: dict[Hashable, str] = {}
    for key, (value, identity) in wanted.items():
        if claims[value] > 1 or not valid(value):
            out[key] = hashed(value, identity, limit)
        else:
            out[key] = value
    return out
