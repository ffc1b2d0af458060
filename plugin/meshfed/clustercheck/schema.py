"""A CRD's openAPIV3Schema compiled once into a tree of nodes, as the API server converts it.

Compiling up front applies the API server's own normalisation (int-or-string types, stripped
unsupported formats, `anyOf: null` dropped) so every later walk reads plain attributes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Formats the API server checks on string schemas (apiextensions supportedVersionedFormats, with
# go-openapi's dash-less normalisation); any other string format is ignored.
STRING_FORMATS = frozenset({
    "bsonobjectid", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "mac", "uuid", "uuid3", "uuid4",
    "uuid5", "isbn", "isbn10", "isbn13", "creditcard", "ssn", "hexcolor", "rgbcolor", "byte", "password",
    "date", "duration", "datetime", "quantity", "k8sshortname", "k8slongname",
})


@dataclass(frozen=True)
class Rule:
    """One x-kubernetes-validations entry."""

    rule: str
    message: str = ""
    message_expression: str = ""
    field_path: str = ""
    reason: str = ""
    optional_old_self: bool = False


@dataclass(eq=False)
class Schema:
    """One node of a structural schema. `types` is the list kube-openapi validates against."""

    types: tuple[str, ...] = ()
    nullable: bool = False
    format: str = ""
    enum: tuple[Any, ...] | None = None
    default: Any = None
    has_default: bool = False
    maximum: float | None = None
    minimum: float | None = None
    exclusive_maximum: bool = False
    exclusive_minimum: bool = False
    max_length: int | None = None
    min_length: int | None = None
    pattern: re.Pattern[str] | None = None
    pattern_text: str = ""
    max_items: int | None = None
    min_items: int | None = None
    max_properties: int | None = None
    min_properties: int | None = None
    multiple_of: float | None = None
    required: tuple[str, ...] = ()
    properties: dict[str, Schema] | None = None
    additional_properties: Schema | None = None
    items: Schema | None = None
    all_of: tuple[Schema, ...] = ()
    any_of: tuple[Schema, ...] = ()
    one_of: tuple[Schema, ...] = ()
    not_: Schema | None = None
    preserve_unknown_fields: bool = False
    int_or_string: bool = False
    list_type: str = ""
    list_map_keys: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    # derived, for the CEL walk: does this subtree hold rules / `number` fields at all?
    has_rules: bool = field(default=False)
    has_numbers: bool = field(default=False)

    @property
    def type(self) -> str:
        """The structural type, as CEL errors name it ("" for int-or-string and untyped nodes)."""
        return self.types[0] if len(self.types) == 1 and not self.int_or_string else ""

    def children(self) -> list[Schema]:
        kids = list((self.properties or {}).values())
        kids += [s for s in (self.additional_properties, self.items) if s is not None]
        return kids


def compile_schema(raw: dict[str, Any]) -> Schema:
    """Build a Schema tree from an openAPIV3Schema mapping."""
    node = Schema()
    declared = raw.get("type") or ""
    node.int_or_string = bool(raw.get("x-kubernetes-int-or-string"))
    node.types = ("integer", "string") if node.int_or_string else ((declared,) if declared else ())
    node.nullable = bool(raw.get("nullable"))
    node.format = _supported_format(declared, raw.get("format") or "")
    if "enum" in raw and raw["enum"] is not None:
        node.enum = tuple(raw["enum"])
    if "default" in raw:
        node.default, node.has_default = raw["default"], True
    node.maximum, node.minimum = raw.get("maximum"), raw.get("minimum")
    node.exclusive_maximum = bool(raw.get("exclusiveMaximum"))
    node.exclusive_minimum = bool(raw.get("exclusiveMinimum"))
    node.max_length, node.min_length = raw.get("maxLength"), raw.get("minLength")
    if raw.get("pattern"):
        node.pattern_text = raw["pattern"]
        node.pattern = re.compile(node.pattern_text)
    node.max_items, node.min_items = raw.get("maxItems"), raw.get("minItems")
    node.max_properties, node.min_properties = raw.get("maxProperties"), raw.get("minProperties")
    node.multiple_of = raw.get("multipleOf")
    node.required = tuple(raw.get("required") or ())
    if raw.get("properties") is not None:
        node.properties = {k: compile_schema(v) for k, v in raw["properties"].items()}
    if isinstance(raw.get("additionalProperties"), dict):
        node.additional_properties = compile_schema(raw["additionalProperties"])
    if isinstance(raw.get("items"), dict):
        node.items = compile_schema(raw["items"])
    node.all_of = tuple(compile_schema(s) for s in raw.get("allOf") or ())
    node.any_of = tuple(compile_schema(s) for s in raw.get("anyOf") or ())
    node.one_of = tuple(compile_schema(s) for s in raw.get("oneOf") or ())
    if isinstance(raw.get("not"), dict):
        node.not_ = compile_schema(raw["not"])
    node.preserve_unknown_fields = bool(raw.get("x-kubernetes-preserve-unknown-fields"))
    node.list_type = raw.get("x-kubernetes-list-type") or ""
    node.list_map_keys = tuple(raw.get("x-kubernetes-list-map-keys") or ())
    node.rules = tuple(
        Rule(rule=r["rule"], message=r.get("message") or "", message_expression=r.get("messageExpression") or "",
             field_path=r.get("fieldPath") or "", reason=r.get("reason") or "",
             optional_old_self=bool(r.get("optionalOldSelf")))
        for r in raw.get("x-kubernetes-validations") or ())
    kids = node.children() + list(node.all_of)
    node.has_rules = bool(node.rules) or any(k.has_rules for k in kids)
    node.has_numbers = "number" in node.types or any(k.has_numbers for k in kids)
    return node


def _supported_format(declared_type: str, fmt: str) -> str:
    """StripUnsupportedFormatsPostProcessor: keep only the formats the API server enforces."""
    if not fmt:
        return ""
    if declared_type in ("", "string"):
        return fmt if fmt.replace("-", "") in STRING_FORMATS else ""
    if declared_type == "integer":
        return fmt if fmt in ("int32", "int64") else ""
    if declared_type == "number":
        return fmt if fmt in ("float", "double") else ""
    return ""
