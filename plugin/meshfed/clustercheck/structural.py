"""What the API server does to a custom resource around validation, in its order:
prune unknown fields (reported under strict field validation), prune non-nullable nulls, apply
defaults, and, after the OpenAPI pass, check `x-kubernetes-list-type` map/set uniqueness.
"""
from __future__ import annotations

import copy
from typing import Any

from .gofmt import marshal
from .metadata import OBJECT_META_FIELDS
from .problems import FieldError, duplicate, invalid
from .schema import Schema

_ROOT_FIELDS = frozenset({"apiVersion", "kind", "metadata"})


def prune_unknown(obj: dict[str, Any], root: Schema) -> list[str]:
    """Remove fields the schema does not declare; return their paths (`spec.foo`, `spec.ports[0].bar`)."""
    pruned: list[str] = []
    for key in list(obj):
        if key in _ROOT_FIELDS and key != "metadata":
            continue
        if key == "metadata":
            meta = obj["metadata"]
            if isinstance(meta, dict):
                for mkey in [k for k in meta if k not in OBJECT_META_FIELDS]:
                    del meta[mkey]
                    pruned.append(f"metadata.{mkey}")
            continue
        sub = (root.properties or {}).get(key)
        if sub is None and not root.preserve_unknown_fields:
            del obj[key]
            pruned.append(key)
        elif sub is not None:
            _prune(obj[key], sub, key, pruned)
    return pruned


def _prune(value: Any, schema: Schema, path: str, pruned: list[str]) -> None:
    if isinstance(value, dict):
        for key in list(value):
            sub = (schema.properties or {}).get(key) or schema.additional_properties
            child = f"{path}.{key}"
            if sub is None:
                if not schema.preserve_unknown_fields:
                    del value[key]
                    pruned.append(child)
            else:
                _prune(value[key], sub, child, pruned)
    elif isinstance(value, list) and schema.items is not None:
        for i, item in enumerate(value):
            _prune(item, schema.items, f"{path}[{i}]", pruned)


def prune_nulls(value: Any, schema: Schema | None) -> None:
    """PruneNonNullableNullsWithoutDefaults: `field: null` disappears unless nullable or defaulted."""
    if schema is None:
        return
    if isinstance(value, dict):
        for key in list(value):
            sub = (schema.properties or {}).get(key) or schema.additional_properties
            if sub is None:
                continue
            if value[key] is None and not sub.has_default and not sub.nullable:
                del value[key]
            else:
                prune_nulls(value[key], sub)
    elif isinstance(value, list):
        for item in value:
            prune_nulls(item, schema.items)


def apply_defaults(value: Any, schema: Schema | None) -> None:
    """Structural defaulting: missing (or non-nullable null) fields take the schema default."""
    if schema is None:
        return
    if isinstance(value, dict):
        for key, sub in (schema.properties or {}).items():
            if sub.has_default and (key not in value or (value[key] is None and not sub.nullable)):
                value[key] = copy.deepcopy(sub.default)
        for key, item in value.items():
            apply_defaults(item, (schema.properties or {}).get(key) or schema.additional_properties)
    elif isinstance(value, list) and schema.items is not None:
        for i, item in enumerate(value):
            if item is None and schema.items.has_default and not schema.items.nullable:
                value[i] = copy.deepcopy(schema.items.default)
            apply_defaults(value[i], schema.items)


def validate_list_types(value: Any, schema: Schema | None, path: str | None = None) -> list[FieldError]:
    """ValidateListSetsAndMaps: duplicate set items and duplicate list-map keys."""
    if schema is None:
        return []
    errs: list[FieldError] = []
    if isinstance(value, dict):
        for key, item in value.items():
            sub = (schema.properties or {}).get(key)
            child = key if path is None else f"{path}.{key}"
            if sub is None and schema.additional_properties is not None:
                sub, child = schema.additional_properties, f"{path}[{key}]"
            errs += validate_list_types(item, sub, child)
    elif isinstance(value, list):
        if schema.list_type == "set":
            errs += [duplicate(f"{path}[{i}]", value[i]) for i in _first_repeats(value)]
        elif schema.list_type == "map":
            errs += _list_map(value, schema, path)
        for i, item in enumerate(value):
            errs += validate_list_types(item, schema.items, f"{path}[{i}]")
    return errs


_UNSPECIFIED = object()


def _list_map(items: list[Any], schema: Schema, path: str | None) -> list[FieldError]:
    for i, item in enumerate(items):
        if item is not None and not isinstance(item, dict):
            return [invalid(f"{path}[{i}]", item, "must be an object for an array of list-type map")]
    keys = []
    for item in items:
        fields = {k: item[k] for k in schema.list_map_keys if item is not None and k in item}
        keys.append(fields)
    return [duplicate(f"{path}[{i}]", keys[i]) for i in _first_repeats(keys)]


def _first_repeats(values: list[Any]) -> list[int]:
    """Indices of each value's second occurrence, as validateListSet reports them."""
    seen: dict[str, int] = {}
    repeats = []
    for i, value in enumerate(values):
        key = marshal(value)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] == 2:
            repeats.append(i)
    return repeats
