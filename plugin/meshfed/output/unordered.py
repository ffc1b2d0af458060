"""Equal up to order: the lists of the objects meshfed emits that Istio (or the Gateway API, or
Kubernetes) reads as sets, and a comparison of two renders that ignores their order.

A list is in `SET_FIELDS` only when no reader of it gives its position a meaning; every other list
keeps its order (a VirtualService's `tls` and `http` rules: the first that matches wins; an
EnvoyFilter's `configPatches`: applied in order; a Gateway's `servers`: kept, as the conservative
reading). Maps are unordered everywhere (YAML, and the API server, read them so). The order of
the objects in a render is never seen by a cluster either (kustomize, Argo CD and `kubectl apply`
key them by identity).

Used by `meshfed federation import` (a Federation has one order of meshes and services, which
the documents it replaces need not share) and by `meshfed diff --ignore-order`.
"""
from __future__ import annotations

import json

from .resources import describe_key, object_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable

    from .resources import Key

    Found = tuple[str, Any, Any]  # a field's path and its two values

# (API group, kind) -> {field pattern: why its order does not matter}. A pattern is the field's
# path with `[]` for "every entry of the list".
SET_FIELDS: dict[tuple[str, str], dict[str, str]] = {
    ("networking.istio.io", "Gateway"): {
        "spec.servers[].hosts": "a server accepts every host it lists; the most specific match wins, not the first",
    },
    ("networking.istio.io", "ServiceEntry"): {
        "spec.hosts": "the names of one service",
        "spec.addresses": "the service's virtual IPs, all of them",
        "spec.ports": "ports are matched by number",
        "spec.endpoints": "endpoints are load-balanced as a set (a weight belongs to its entry)",
        "spec.exportTo": "the namespaces that see the service",
        "spec.subjectAltNames": "any of them may match the peer's certificate",
    },
    ("networking.istio.io", "VirtualService"): {
        "spec.hosts": "the hosts the rules apply to",
        "spec.gateways": "the gateways the rules apply to",
        "spec.exportTo": "the namespaces that see the routes",
        "spec.tls[].match": "a rule applies when any of its matches does",
        "spec.tls[].match[].sniHosts": "a match applies to any of its SNI names",
        "spec.tls[].route": "route destinations are chosen by weight, not by position",
        "spec.tcp[].route": "route destinations are chosen by weight, not by position",
        "spec.http[].route": "route destinations are chosen by weight, not by position",
    },
    ("networking.istio.io", "DestinationRule"): {
        "spec.exportTo": "the namespaces that see the rule",
        "spec.trafficPolicy.portLevelSettings": "one setting per port, matched by number",
        "spec.subsets": "subsets are referred to by name",
    },
    ("gateway.networking.k8s.io", "Gateway"): {
        "spec.listeners": "listeners are keyed by name (a list map in the Gateway API schema)",
        "spec.addresses": "the gateway's addresses, all of them",
    },
    ("", "Service"): {
        "spec.ports": "ports are keyed by port and protocol (a list map in the Kubernetes schema)",
    },
}


def _fields(key: Key) -> dict[str, str]:
    return SET_FIELDS.get((key[0], key[1]), {})


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def canonical(value: Any, fields: dict[str, str], pattern: str = "") -> Any:
    """`value` with the lists `fields` names sorted (their entries made canonical first)."""
    if isinstance(value, dict):
        return {k: canonical(v, fields, f"{pattern}.{k}" if pattern else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        items = [canonical(v, fields, pattern + "[]") for v in value]
        return sorted(items, key=_sort_key) if pattern in fields else items
    return value


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b  # True is not 1


_ABSENT = object()


def _walk(a: Any, b: Any, fields: dict[str, str], pattern: str, path: str, reordered: list[str]) -> Found | None:
    """The first field where `a` and `b` differ beyond the order of `fields`, with its two values
    (None: equal up to that order); the fields whose order alone differs are appended to
    `reordered`."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in [*a, *(k for k in b if k not in a)]:
            here, inner = f"{path}.{k}" if path else str(k), f"{pattern}.{k}" if pattern else str(k)
            if k not in a or k not in b:
                return here, a.get(k, _ABSENT), b.get(k, _ABSENT)
            found = _walk(a[k], b[k], fields, inner, here, reordered)
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return path, a, b
        if pattern not in fields:
            for i, (x, y) in enumerate(zip(a, b)):
                found = _walk(x, y, fields, pattern + "[]", f"{path}[{i}]", reordered)
                if found is not None:
                    return found
            return None
        keys_a = [_sort_key(canonical(x, fields, pattern + "[]")) for x in a]
        keys_b = [_sort_key(canonical(y, fields, pattern + "[]")) for y in b]
        if sorted(keys_a) != sorted(keys_b):
            only_a = [i for i, k in enumerate(keys_a) if k not in keys_b]
            only_b = [j for j, k in enumerate(keys_b) if k not in keys_a]
            if len(only_a) == len(only_b) == 1:  # one entry changed: where inside it
                i, j = only_a[0], only_b[0]
                return _walk(a[i], b[j], fields, pattern + "[]", f"{path}[{i}]", []) or (path, a, b)
            return path, a, b
        if keys_a != keys_b:
            reordered.append(path)
        left: list[str | None] = list(keys_b)
        for i, x in enumerate(a):  # each entry with its equal: what is reordered inside it
            j = left.index(keys_a[i])
            left[j] = None
            _walk(x, b[j], fields, pattern + "[]", f"{path}[{i}]", reordered)
        return None
    return None if _same(a, b) else (path, a, b)


def _short(value: Any) -> str:
    text = "(none)" if value is _ABSENT else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


class Comparison:
    """Two renders compared object by object: `difference` is the first difference a cluster
    would see (None: equal up to order), `reordered` what differs only in order."""

    def __init__(self) -> None:
        self.difference: str | None = None
        self.reordered: list[str] = []

    @property
    def equal(self) -> bool:
        return self.difference is None


def compare_objects(before: Iterable[dict[str, Any]], after: Iterable[dict[str, Any]]) -> Comparison:
    """Compare two renders, objects matched by identity (API group, kind, namespace, name)."""
    out = Comparison()
    old = {object_key(o): o for o in before}
    new = {object_key(o): o for o in after}
    for key in old:
        if key not in new:
            out.difference = f"{describe_key(key)} is not rendered any more"
            return out
    for key in new:
        if key not in old:
            out.difference = f"{describe_key(key)} is rendered in addition"
            return out
    if list(old) != list(new):
        out.reordered.append("objects reordered")
    for key, a in old.items():
        b = new[key]
        fields = _fields(key)
        found: list[str] = []
        where = _walk(a, b, fields, "", "", found)
        if where is not None:
            path, old_value, new_value = where
            out.difference = f"{describe_key(key)}: {path}: {_short(old_value)} becomes {_short(new_value)}"
            return out
        out.reordered += [f"{describe_key(key)} {path} reordered" for path in found]
    return out


def equal_up_to_order(key: Key, a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether one object's two versions differ at most in the order of its set-like lists."""
    return _walk(a, b, _fields(key), "", "", []) is None
