"""OpenAPI v3 value validation as the API server runs it (k8s.io/kube-openapi SchemaValidator).

The port keeps kube-openapi's structure on purpose: its match counting decides which branch's
errors an unmatched anyOf/oneOf reports, and its error codes decide how each message is worded
(kubeOpenAPIResultToFieldErrors). Paths use kube-openapi's spelling: `a.b[0].c`, map values `a.b.key`.
"""
from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .gofmt import marshal, quote, value_v
from .problems import (
    ErrorType,
    FieldError,
    invalid,
    not_supported,
    required,
    too_long,
    too_many,
)
from .schema import STRING_FORMATS, Schema


@dataclass
class _Error:
    """A kube-openapi error: `code` names the Validation kind; "composite" ones carry only a message."""

    code: str
    message: str
    name: str = ""
    value: Any = None
    values: tuple[Any, ...] = ()
    valid: Any = None


@dataclass
class _Result:
    errors: list[_Error] = field(default_factory=list)
    count: int = 0  # kube-openapi MatchCount

    def add(self, *errors: _Error) -> None:
        for error in errors:
            if all(error.message != seen.message for seen in self.errors):
                self.errors.append(error)

    def merge(self, other: _Result | None) -> _Result:
        if other is not None:
            self.add(*other.errors)
            self.count += other.count
        return self

    @property
    def valid(self) -> bool:
        return not self.errors


def validate(obj: Any, root: Schema) -> list[FieldError]:
    """Validate a whole object against its CRD's root schema."""
    return [_to_field_error(e) for e in _validate(root, obj, "").errors]


def _to_field_error(error: _Error) -> FieldError:
    """kubeOpenAPIResultToFieldErrors."""
    if error.code == "composite":
        return invalid(None, "", error.message)
    path = error.name.removeprefix(".") if error.name and error.name != "." else None
    value = "" if error.value is None else error.value
    if error.code == "required":
        return required(path)
    if error.code == "enum":
        supported = [v if isinstance(v, str) else marshal(v) for v in error.values]
        return not_supported(path, error.value, supported)
    if error.code == "too_long":
        return too_long(path, error.valid)
    if error.code in ("max_items", "too_many_properties"):
        return too_many(path, error.value, error.valid)
    if error.code == "invalid_type":
        return FieldError(ErrorType.TYPE_INVALID, path, value, error.message)
    return invalid(path, value, error.message)


def _in_body(name: str, text: str) -> str:
    return f"{name} in body {text}"


def _invalid_type(name: str, type_name: str, value: Any) -> _Error:
    message = _in_body(name, f"must be of type {type_name}")
    if isinstance(value, str):
        message += f": {quote(value)}"
    return _Error("invalid_type", message, name, value)


# --- SchemaValidator ------------------------------------------------------------------------------

def _validate(schema: Schema, data: Any, path: str) -> _Result:
    """SchemaValidator.Validate: run each applicable validator, counting matches as kube-openapi does."""
    result = _Result()
    if data is None:
        result.merge(_type(schema, data, path))
        result.merge(_common(schema, data, path))
        return result
    is_str, is_list, is_map = isinstance(data, str), isinstance(data, list), isinstance(data, dict)
    is_num = isinstance(data, (int, float)) and not isinstance(data, bool)
    steps: list[tuple[bool, Callable[..., _Result | None]]] = [
        (bool(schema.types) or bool(schema.format), _type),
        (True, _schema_props),
        (is_str, _string),
        (is_str and schema.format.replace("-", "") in STRING_FORMATS, _format),
        (is_num, _number),
        (is_list, _slice),
        (True, _common),
        (is_map, _object),
    ]
    for applies, step in steps:
        if applies:
            result.merge(step(schema, data, path))
            result.count += 1
    result.count += 1
    return result


def _json_type(data: Any) -> tuple[str, str]:
    """(JSON schema type, go-openapi format) of a decoded value."""
    if isinstance(data, bool):
        return "boolean", ""
    if isinstance(data, int):
        return "integer", "int64"
    if isinstance(data, float):
        return "number", "float64"
    if isinstance(data, str):
        return "string", ""
    if isinstance(data, list):
        return "array", ""
    return "object", ""


def _type(schema: Schema, data: Any, path: str) -> _Result:
    types = schema.types
    if data is None:
        if types and "null" not in types and not schema.nullable:
            return _Result([_invalid_type(path, ",".join(types), "null")])
        return _Result(count=1)
    json_type, fmt = _json_type(data)
    float_int = json_type == "number" and float(data).is_integer() and "integer" in types
    int_float = json_type == "integer" and "number" in types
    str_or_list = isinstance(data, (str, list))
    if not str_or_list and schema.format and not (
            json_type in types or fmt == schema.format or float_int or int_float):
        return _Result([_invalid_type(path, schema.format, fmt)])
    if not ("number" in types or "integer" in types) and schema.format and str_or_list:
        return _Result(count=1)
    if not (json_type in types or float_int or int_float):
        return _Result([_invalid_type(path, ",".join(types), json_type)])
    return _Result(count=1)


def _schema_props(schema: Schema, data: Any, path: str) -> _Result:
    """allOf / anyOf / oneOf / not."""
    main = _Result()
    if schema.any_of:
        best: _Result | None = None
        first_success: _Result | None = None
        for branch in schema.any_of:
            outcome = _validate(branch, data, path)
            if outcome.valid:
                best, first_success = None, outcome
                break
            if best is None or outcome.count > best.count:
                best = outcome
        if first_success is None:
            main.add(_Error("composite", f"{quote(path)} must validate at least one schema (anyOf)"))
        main.merge(best if best is not None else first_success)
    if schema.one_of:
        best, first_success, matched = None, None, 0
        for branch in schema.one_of:
            outcome = _validate(branch, data, path)
            if outcome.valid:
                matched += 1
                best = None
                first_success = first_success or outcome
            elif matched == 0 and (best is None or outcome.count > best.count):
                best = outcome
        if matched != 1:
            found = "Found none valid" if matched == 0 else f"Found {matched} valid alternatives"
            main.add(_Error("composite", f"{quote(path)} must validate one and only one schema (oneOf). {found}"))
            main.merge(best)
        else:
            main.merge(first_success)
    if schema.all_of:
        matched = 0
        for branch in schema.all_of:
            outcome = _validate(branch, data, path)
            matched += outcome.valid
            main.merge(outcome)
        if matched != len(schema.all_of):
            suffix = ". None validated" if matched == 0 else ""
            main.add(_Error("composite", f"{quote(path)} must validate all the schemas (allOf){suffix}"))
    if schema.not_ is not None and _validate(schema.not_, data, path).valid:
        main.add(_Error("composite", f"{quote(path)} must not validate the schema (not)"))
    main.count += 1
    return main


def _string(schema: Schema, data: str, path: str) -> _Result | None:
    if schema.max_length is not None and len(data) > schema.max_length:
        return _Result([_Error("too_long", _in_body(path, f"should be at most {schema.max_length} chars long"),
                               path, data, valid=schema.max_length)])
    if schema.min_length is not None and len(data) < schema.min_length:
        return _Result([_Error("too_short", _in_body(path, f"should be at least {schema.min_length} chars long"),
                               path, data)])
    if schema.pattern is not None and not schema.pattern.search(data):
        return _Result([_Error("pattern", _in_body(path, f"should match '{schema.pattern_text}'"), path, data)])
    return None


def _format(schema: Schema, data: str, path: str) -> _Result | None:
    checker = _FORMATS.get(schema.format.replace("-", ""))
    if checker is None or checker(data):
        return None
    return _Result([_invalid_type(path, schema.format, data)])


def _number(schema: Schema, data: int | float, path: str) -> _Result:
    """multipleOf, minimum, maximum; integers compare against the bound truncated to an integer."""
    result = _Result()
    as_int = isinstance(data, int)
    if schema.multiple_of and (data / schema.multiple_of) % 1:
        factor = int(schema.multiple_of) if as_int else schema.multiple_of
        result.add(_Error("multiple_of", _in_body(path, f"should be a multiple of {value_v(factor)}"), path, data))
    if schema.minimum is not None:
        low = int(schema.minimum) if as_int else float(schema.minimum)
        if data < low or (schema.exclusive_minimum and data == low):
            relation = "greater than" if schema.exclusive_minimum else "greater than or equal to"
            result.add(_Error("min", _in_body(path, f"should be {relation} {value_v(low)}"), path, data))
    if schema.maximum is not None:
        high = int(schema.maximum) if as_int else float(schema.maximum)
        if data > high or (schema.exclusive_maximum and data == high):
            relation = "less than" if schema.exclusive_maximum else "less than or equal to"
            result.add(_Error("max", _in_body(path, f"should be {relation} {value_v(high)}"), path, data))
    result.count += 1
    return result


def _slice(schema: Schema, data: list[Any], path: str) -> _Result:
    result = _Result()
    if schema.items is not None:
        for i, item in enumerate(data):
            result.merge(_validate(schema.items, item, f"{path}[{i}]"))
    if schema.min_items is not None and len(data) < schema.min_items:
        result.add(_Error("min_items", _in_body(path, f"should have at least {schema.min_items} items"),
                          path, len(data)))
    if schema.max_items is not None and len(data) > schema.max_items:
        result.add(_Error("max_items", _in_body(path, f"should have at most {schema.max_items} items"), path,
                          len(data), valid=schema.max_items))
    result.count += 1
    return result


def _common(schema: Schema, data: Any, path: str) -> _Result | None:
    """Enum membership; a `null` enum entry never matches (kube-openapi compares by Go type)."""
    if not schema.enum:
        return None
    if data is not None and any(_enum_equal(v, data) for v in schema.enum):
        return None
    shown = "[" + " ".join("<nil>" if v is None else value_v(v) for v in schema.enum) + "]"
    return _Result([_Error("enum", _in_body(path, f"should be one of {shown}"), path, data, schema.enum)])


def _enum_equal(allowed: Any, data: Any) -> bool:
    """Go's convert-then-DeepEqual: numbers compare by value, everything else needs the same type."""
    if allowed is None:
        return False
    numeric = (int, float)
    if isinstance(allowed, numeric) and isinstance(data, numeric) and not isinstance(allowed, bool) \
            and not isinstance(data, bool):
        return allowed == data
    return _json_type(allowed)[0] == _json_type(data)[0] and allowed == data


def _object(schema: Schema, data: dict[str, Any], path: str) -> _Result:
    if schema.min_properties is not None and len(data) < schema.min_properties:
        detail = f"should have at least {schema.min_properties} properties"
        return _Result([_Error("too_few_properties", _in_body(path, detail), path, len(data))])
    if schema.max_properties is not None and len(data) > schema.max_properties:
        detail = f"should have at most {schema.max_properties} properties"
        return _Result([_Error("too_many_properties", _in_body(path, detail), path, len(data),
                               valid=schema.max_properties)])
    result = _Result()
    properties = schema.properties or {}
    if schema.additional_properties is not None:
        for key, value in data.items():
            if key not in properties:
                result.merge(_validate(schema.additional_properties, value, f"{path}.{key}"))
    for key, value in data.items():
        if key in properties:
            result.merge(_validate(properties[key], value, f"{path}.{key}" if path else key))
    for key in schema.required:
        if key not in data:
            result.add(_Error("required", _in_body(f"{path}.{key}", "is required"), f"{path}.{key}"))
    return result


# --- formats the API server checks ----------------------------------------------------------------

_IPV4_PART = re.compile(r"[0-9]{1,3}")
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?")


def _is_ipv4(text: str) -> bool:
    """strfmt ipv4: Go's sloppy IP parse (leading zeros allowed) of a dotted address."""
    parts = text.split(".")
    if len(parts) == 4 and all(_IPV4_PART.fullmatch(p) and int(p) <= 255 for p in parts):
        return True
    return ":" in text and "." in text and _is_ipv6(text)


def _is_ipv6(text: str) -> bool:
    if "%" in text:  # Go's ParseIP takes no zone
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


_FORMATS = {
    "ipv4": _is_ipv4,
    "ipv6": lambda text: ":" in text and _is_ipv6(text),
    "byte": _is_base64,
    "datetime": lambda text: bool(_DATETIME.fullmatch(text)),
}
