"""Checks values and MeshFederation documents against the JSON Schemas shipped in the package.

The schemas (`schema/*.json`, with the render options' fields from the option table of
`meshfed.values.options`) are the single source of truth: `meshfed schema` prints them for
editors, and this module interprets the subset of JSON Schema they use, with messages written for
people (did-you-mean hints, YAML 1.1 quoting advice, the other layout's equivalent key). It also
returns a cleaned copy of the input holding only well-typed values, so that the semantic checks
that follow never trip over a value already reported as wrong.
"""
from __future__ import annotations

import json
import os
from functools import cache

from .formats import CHECKS
from .merge import Path_
from .yamlio import type_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_DROP = object()  # marks a value removed from the cleaned copy


class SchemaProblem:
    """A value that does not fit the schema, and why."""

    __slots__ = ("path", "message")

    def __init__(self, path: Path_, message: str) -> None:
        self.path = path
        self.message = message


@cache
def load_schema(name: str) -> dict[str, Any]:
    """`values`, `meshfederation` or `federation`, parsed from the package data."""
    # The package data sits next to this module (also in the wheel); importlib.resources would
    # cost more to import than reading the file.
    path = os.path.join(os.path.dirname(__file__), "schema", f"{name}.schema.json")
    with open(path, encoding="utf-8") as f:
        schema = json.load(f)
    if name == "meshfederation":
        _option_fields(schema)
    return schema


def _option_fields(schema: dict[str, Any]) -> None:
    """The schema of the document fields that are render options, from the option table (the file
    holds a placeholder where each goes: the order of the fields)."""
    from .options import CORE
    for option in CORE:
        if option.document is not None:
            section, _, key = option.document.partition(".")
            schema["properties"][section]["properties"][key] = option.schema()


def _literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return type_name(value)
    return json.dumps(value) if isinstance(value, str) else repr(value)


UNQUOTE = ": remove the quotes"  # the hint for a number written as a string (`api` words it for --set-string)


def _type_message(expected: str, value: Any) -> str:
    text = f"must be {expected}, got {type_name(value)}"
    if expected == "a string" and isinstance(value, (bool, int, float)):
        return (f"{text} ({_literal(value)}): YAML 1.1 reads unquoted on/off/yes/no/y/n/true/false as "
                "booleans and 1e3 or 010 as numbers; quote the value")
    if expected == "an integer" and isinstance(value, str) and value.strip().isdigit():
        return f"{text} ({_literal(value)}){UNQUOTE}"
    if not isinstance(value, (dict, list)):
        text += f" ({_literal(value)})"
    return text


_TYPES = {
    "object": ("a map", lambda v: isinstance(v, dict)),
    "array": ("a list", lambda v: isinstance(v, list)),
    "string": ("a string", lambda v: isinstance(v, str)),
    "integer": ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "boolean": ("a boolean", lambda v: isinstance(v, bool)),
}


class Validator:
    """Walks a value against a schema; `layout` decides which layout-specific keys are known."""

    def __init__(self, root: dict[str, Any], layout: str | None = None):
        self.root = root
        self.layout = layout
        self.problems: list[SchemaProblem] = []
        # Memo of `_resolve` and of the known keys per map schema: the schemas are loaded once and
        # never change, and a values file walks the same few subschemas thousands of times.
        # (Each memo entry also holds the schema it is keyed by, so that its id stays its own.)
        self._refs: dict[tuple[int, int], tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {}
        self._keys: dict[int, tuple[list[str], dict[str, Any], dict[str, Any]]] = {}
        # The strings each format test has passed: remotes list the same hostnames again and again.
        self._passed: dict[Any, set[str]] = {}
        self._entry_tests: dict[tuple[int, int], tuple[Any, dict[str, Any]]] = {}

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        if "$ref" not in schema:
            return schema
        memo = (id(schema), id(self.root))
        hit = self._refs.get(memo)
        if hit is not None:
            self.root = hit[1]
            return hit[0]
        original = schema
        while "$ref" in schema:
            ref = schema["$ref"]
            extra = {k: v for k, v in schema.items() if k != "$ref"}
            file, _, pointer = ref.partition("#")
            if file:  # another schema file, whole or one of its $defs
                self.root = load_schema(file.removesuffix(".schema.json"))
            target = self.root["$defs"][pointer[len("/$defs/"):]] if pointer else self.root
            schema = {**target, **extra}
        self._refs[memo] = (schema, self.root, original)
        return schema

    def report(self, path: Path_, message: str) -> None:
        self.problems.append(SchemaProblem(path, message))

    def check(self, value: Any, schema: dict[str, Any], path: Path_ = ()) -> Any:
        """The cleaned value (or _DROP when it is wrong), reporting every problem found."""
        saved = self.root
        try:
            return self._check(value, self._resolve(schema), path)
        finally:
            self.root = saved

    def _check(self, value: Any, schema: dict[str, Any], path: Path_) -> Any:
        kind = schema.get("type")
        if value is None and kind is not None:
            self.report(path, "must not be null" if path and isinstance(path[-1], int) else
                        f"must be {_TYPES[kind][0]}, got null")
            return _DROP
        if kind is not None:
            expected, ok = _TYPES[kind]
            if not ok(value):
                self.report(path, _type_message(expected, value))
                return _DROP
        if "enum" in schema and value not in schema["enum"]:
            options = ", ".join(str(o) for o in schema["enum"])
            self.report(path, f"must be one of {options}, got {_literal(value)}")
            return _DROP
        if isinstance(value, str):
            return self._check_string(value, schema, path)
        if isinstance(value, int) and not isinstance(value, bool):
            low, high = schema.get("minimum"), schema.get("maximum")
            if (low is not None and value < low) or (high is not None and value > high):
                self.report(path, f"must be between {low} and {high}, got {value}")
                return _DROP
            return value
        if isinstance(value, list):
            items = schema.get("items")
            if items is None:
                return value
            fast = self._string_test(items)
            if fast is not None and (not value or set(map(type, value)) == {str}):
                # The common case of long hostname/address lists: each distinct string tested once.
                passed = self._passed.setdefault(fast, set())
                fresh = set(value) - passed
                if all(map(fast, fresh)):
                    passed |= fresh
                    return value
            # Wrong items become None, so that later checks keep the user's indices. Entries that
            # pass `_entry_test` (most of them, in long import and export lists) need no walk.
            entry = self._entry_test(items)
            cleaned = [_copy_entry(item) if entry is not None and type(item) is dict and entry(item)
                       else self.check(item, items, (*path, i)) for i, item in enumerate(value)]
            return [None if c is _DROP else c for c in cleaned]
        if isinstance(value, dict):
            return self._check_map(value, schema, path)
        return value

    def _string_test(self, items: dict[str, Any]) -> Any:
        """For a list whose items are plain strings of one format: the format's test (a valid
        list then needs no per-item walk); None otherwise."""
        saved = self.root
        try:
            schema = self._resolve(items)
        finally:
            self.root = saved
        if schema.get("type") != "string" or set(schema) - {"type", "format", "description"}:
            return None
        fmt = schema.get("format")
        return CHECKS[fmt][0] if fmt in CHECKS else (lambda _: True)

    def _entry_test(self, items: dict[str, Any]) -> Any:
        """For a list of maps with fixed keys (`additionalProperties: false`), each holding a plain
        string of one format or a map of such strings (a label selector): a test that a map is
        valid as it is, which the walk would return unchanged and without a problem; None for
        other lists. Keys it does not know (of the other layout, unknown, or of another shape)
        fail the test, and the walk then checks that entry."""
        memo = (id(items), id(self.root))
        hit = self._entry_tests.get(memo)
        if hit is not None:
            return hit[0]
        test = None
        saved = self.root
        try:
            schema = self._resolve(items)
            props = schema.get("properties")
            if (schema.get("type") == "object" and props and schema.get("additionalProperties") is False
                    and not set(schema) - {"type", "additionalProperties", "required", "properties", "description"}):
                tests = {key: t for key, sub in props.items()
                         if self._in_layout(sub) and (t := self._value_test(sub)) is not None}
                required = frozenset(schema.get("required", ()))
                keys = tests.keys()

                def test(entry: dict[Any, Any]) -> bool:
                    return entry.keys() <= keys and required <= entry.keys() and all(
                        tests[k](v) for k, v in entry.items())
        finally:
            self.root = saved
        self._entry_tests[memo] = (test, items)  # (items kept: its id stays its own)
        return test

    def _value_test(self, schema: dict[str, Any]) -> Any:
        """The test `_entry_test` applies to one key's value: a plain string of one format, or a
        map of such strings whose keys have one format; None for anything else."""
        string = self._string_test(schema)
        if string is not None:
            return lambda v: isinstance(v, str) and string(v)
        saved = self.root
        try:
            resolved = self._resolve(schema)
            names, values = resolved.get("propertyNames"), resolved.get("additionalProperties")
            if (resolved.get("type") != "object" or set(resolved) - {"type", "propertyNames", "additionalProperties",
                                                                      "description"}
                    or not isinstance(values, dict) or not isinstance(names, dict) or set(names) - {"format"}):
                return None
            name_test = CHECKS[names["format"]][0] if names.get("format") in CHECKS else (lambda _: True)
            value_test = self._string_test(values)
        finally:
            self.root = saved
        if value_test is None:
            return None
        return lambda v: isinstance(v, dict) and all(
            isinstance(k, str) and name_test(k) and isinstance(x, str) and value_test(x) for k, x in v.items())

    def _check_string(self, value: str, schema: dict[str, Any], path: Path_) -> Any:
        if len(value) < schema.get("minLength", 0):
            self.report(path, "must not be empty")
            return _DROP
        allowed = schema.get("x-meshfed-enum")
        if allowed is not None:
            if value.lower() not in {a.lower() for a in allowed}:
                self.report(path, f"must be one of {', '.join(allowed)} (any case), got {_literal(value)}")
                return _DROP
            return value
        fmt = schema.get("format")
        if fmt in CHECKS:
            test, message = CHECKS[fmt]
            if not test(value):
                self.report(path, f"{message}, got {_literal(value)}")
                return _DROP
        return value

    def _check_map(self, value: dict[str, Any], schema: dict[str, Any], path: Path_) -> Any:
        props: dict[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        names = schema.get("propertyNames")
        cleaned: dict[str, Any] = {}
        split = self._keys.get(id(props))
        if split is None:
            split = ([k for k, s in props.items() if self._in_layout(s)],
                     {k: s for k, s in props.items() if not self._in_layout(s)}, props)
            if props:
                self._keys[id(props)] = split
        known, other, _ = split
        for key, item in value.items():
            here = (*path, key)
            if not isinstance(key, str):
                self.report(here, f"key must be a string, got {type_name(key)} ({_literal(key)}): "
                            "YAML 1.1 reads unquoted on/off/yes/no/y/n as booleans; quote the key")
                continue
            if names is not None and self.check(key, names, here) is _DROP:
                continue
            sub = props.get(key)
            if sub is not None and key not in other:  # (other: the keys of the other layout)
                result = self.check(item, sub, here)
            elif sub is not None:
                self.report(here, self._other_layout_message(key, sub))
                continue
            elif extra is False:
                self.report(here, self._unknown_message(key, known, other, props))
                continue
            elif isinstance(extra, dict):
                result = self.check(item, extra, here)
            else:
                result = item
            if result is not _DROP:
                cleaned[key] = result
        for key in schema.get("required", []):
            if key not in value:
                self.report((*path, key), "required")
        return cleaned

    def _in_layout(self, schema: dict[str, Any]) -> bool:
        layout = schema.get("x-meshfed-layout")
        return layout is None or self.layout is None or layout == self.layout

    def _other_layout_message(self, key: str, schema: dict[str, Any]) -> str:
        layout = schema["x-meshfed-layout"]
        other = schema.get("x-meshfed-other-layout")
        hint = f"; in {self.layout} use `{other}`" if other else f"; layout {self.layout} has no equivalent"
        if layout == "v2" and other and "," in other:
            hint = f"; in {self.layout} use `{other.replace(', ', '`, `').replace(' and ', '` and `')}`"
        return f"`{key}` is a layout {layout} key{hint}"

    def _is_extension(self, schema: dict[str, Any]) -> bool:
        """Whether a key's schema is one of meshfed's extensions of the charts' values (resolving
        a reference into another file must not change the file the next one resolves in)."""
        saved = self.root
        try:
            return bool(self._resolve(schema).get("x-meshfed-extension"))
        finally:
            self.root = saved

    def _unknown_message(self, key: str, known: list[str], other: dict[str, Any], props: dict[str, Any]) -> str:
        candidates = [*known, *other]
        close = [k for k in candidates if k.lower() == key.lower()]
        if not close:
            import difflib  # only when an unknown key is reported
            close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
        if not close:  # the charts' keys (meshfed's extensions are offered only as a close match)
            listed = [k for k in known if not self._is_extension(props[k])]
            return f"unknown key `{key}` (known keys: {', '.join(listed)})"
        if close[0] in other:
            return f"unknown key `{key}` (did you mean `{close[0]}`? {self._other_layout_message(close[0], other[close[0]])})"
        return f"unknown key `{key}` (did you mean `{close[0]}`?)"


def _copy_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """What the walk returns for an entry `_entry_test` passed: a copy, its maps copied too."""
    return {k: dict(v) if type(v) is dict else v for k, v in entry.items()}


def validate(value: Any, schema_name: str, layout: str | None = None) -> tuple[Any, list[SchemaProblem]]:
    """Validate `value`; return its well-typed part and the problems found."""
    v = Validator(load_schema(schema_name), layout)
    cleaned = v.check(value, v.root)
    return (None if cleaned is _DROP else cleaned), v.problems


def _allow_null_keys(schema: Any) -> Any:
    """For editors: a map key may hold null (it removes the key when merging, as in Helm)."""
    if isinstance(schema, list):
        return [_allow_null_keys(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _allow_null_keys(v) for k, v in schema.items()}
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: {"anyOf": [s, {"type": "null"}]} for k, s in out["properties"].items()}
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = {"anyOf": [out["additionalProperties"], {"type": "null"}]}
    return out


def editor_values_schema() -> dict[str, Any]:
    """The values schema as editors should see it: null allowed for map keys, and a local
    export's port also as a plain number (read as `{number: N}`; the validator here sees the
    values after that reading, so its schema does not need the alternative)."""
    schema = json.loads(json.dumps(load_schema("values")))
    schema["$defs"]["localExport"]["properties"]["ports"]["items"] = {
        "anyOf": [{"$ref": "#/$defs/localPort"}, {"$ref": "#/$defs/portNumber"}]}
    return _allow_null_keys(schema)


def bundled_schema(name: str = "meshfederation") -> dict[str, Any]:
    """A document's schema (`meshfederation` or `federation`) with the (editor) values schema
    inlined as `$defs.values`, so one file serves editors."""
    doc = json.loads(json.dumps(load_schema(name)).replace('"values.schema.json#/$defs/', '"#/$defs/values/$defs/'))
    text = json.dumps(editor_values_schema()).replace('"#/$defs/', '"#/$defs/values/$defs/')
    inlined = json.loads(text)
    inlined.pop("$schema", None)
    inlined.pop("$id", None)
    doc.setdefault("$defs", {})["values"] = inlined
    if name == "meshfederation":
        doc["properties"]["spec"]["properties"]["values"] = {"$ref": "#/$defs/values"}
    return doc
