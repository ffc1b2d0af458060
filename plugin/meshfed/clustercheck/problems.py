"""What a rejection looks like: the object it concerns, the field, and the cluster's own wording.

`FieldError` ports Kubernetes' `field.Error` so messages render exactly as the API server renders them;
`Problem` adds which layer rejected the object, because each layer frames its message differently.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from .gofmt import marshal, quote, value_v


class Layer(enum.Enum):
    """Who rejects the object, which decides how the client sees the message."""

    DISCOVERY = "discovery"  # kubectl finds no served kind/version
    DECODE = "decode"  # strict field validation while decoding
    APISERVER = "apiserver"  # metadata, OpenAPI schema, list types, CEL rules, server-side checks
    WEBHOOK = "webhook"  # Istio's validating admission webhook
    UNCHECKED = "unchecked"  # a CEL rule this package could not evaluate; the cluster's verdict is unknown


class ErrorType(enum.Enum):
    """Kubernetes field.ErrorType: the machine name as value, the rendered text as `label`."""

    REQUIRED = "FieldValueRequired"
    DUPLICATE = "FieldValueDuplicate"
    INVALID = "FieldValueInvalid"
    TYPE_INVALID = "FieldValueTypeInvalid"
    NOT_SUPPORTED = "FieldValueNotSupported"
    FORBIDDEN = "FieldValueForbidden"
    TOO_LONG = "FieldValueTooLong"
    TOO_MANY = "FieldValueTooMany"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    ErrorType.REQUIRED: "Required value",
    ErrorType.DUPLICATE: "Duplicate value", ErrorType.INVALID: "Invalid value",
    ErrorType.TYPE_INVALID: "Invalid value", ErrorType.NOT_SUPPORTED: "Unsupported value",
    ErrorType.FORBIDDEN: "Forbidden", ErrorType.TOO_LONG: "Too long", ErrorType.TOO_MANY: "Too many",
}


#: Error types whose presence stops the API server from evaluating CEL rules (hasBlockingErr).
BLOCKING = frozenset({ErrorType.NOT_SUPPORTED, ErrorType.REQUIRED, ErrorType.TOO_LONG,
                      ErrorType.TOO_MANY, ErrorType.TYPE_INVALID})

OMIT = object()  # BadValue that field.Error leaves out of the message


@dataclass(frozen=True)
class FieldError:
    """One `field.Error`: `path` is None for the root, rendered as Go renders a nil *field.Path."""

    type: ErrorType
    path: str | None
    bad_value: Any = ""
    detail: str = ""

    def body(self) -> str:
        """field.Error.ErrorBody()."""
        label = self.type.label
        if self.type in (ErrorType.REQUIRED, ErrorType.FORBIDDEN, ErrorType.TOO_LONG) \
                or self.bad_value is OMIT:
            text = label
        elif isinstance(self.bad_value, str):
            text = f"{label}: {quote(self.bad_value)}"
        elif isinstance(self.bad_value, (bool, int, float)):
            text = f"{label}: {value_v(self.bad_value)}"
        else:
            text = f"{label}: {marshal(self.bad_value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def __str__(self) -> str:
        return f"{'<nil>' if self.path is None else self.path}: {self.body()}"


def required(path: str | None, detail: str = "") -> FieldError:
    return FieldError(ErrorType.REQUIRED, path, "", detail)


def invalid(path: str | None, value: Any, detail: str) -> FieldError:
    return FieldError(ErrorType.INVALID, path, value, detail)


def forbidden(path: str | None, detail: str) -> FieldError:
    return FieldError(ErrorType.FORBIDDEN, path, "", detail)


def duplicate(path: str | None, value: Any) -> FieldError:
    return FieldError(ErrorType.DUPLICATE, path, value)


def not_supported(path: str | None, value: Any, supported: list[str]) -> FieldError:
    detail = "supported values: " + ", ".join(quote(v) for v in supported) if supported else ""
    return FieldError(ErrorType.NOT_SUPPORTED, path, value, detail)


def too_long(path: str | None, max_length: int) -> FieldError:
    unit = "byte" if max_length == 1 else "bytes"
    detail = f"may not be more than {max_length} {unit}" if max_length >= 0 else "value is too long"
    return FieldError(ErrorType.TOO_LONG, path, "<value omitted>", detail)


def too_many(path: str | None, actual: int, maximum: int) -> FieldError:
    unit = "item" if maximum == 1 else "items"
    detail = f"must have at most {maximum} {unit}" if maximum >= 0 else "has too many items"
    return FieldError(ErrorType.TOO_MANY, path, actual if actual >= 0 else OMIT, detail)


@dataclass(frozen=True)
class Problem:
    """A reason the cluster would refuse one object, worded as the cluster words it."""

    api_version: str
    kind: str
    namespace: str
    name: str
    field: str  # dotted path such as spec.hosts[0]; empty when the problem is about the whole object
    message: str
    layer: Layer = dc_field(default=Layer.APISERVER)

    def __str__(self) -> str:
        group, _, version = self.api_version.rpartition("/")
        if self.layer is Layer.DISCOVERY:
            return (f"resource mapping not found for name: {quote(self.name)} namespace: "
                    f"{quote(self.namespace)}: {self.message}")
        if self.layer is Layer.DECODE:
            return (f"{self.kind} in version {quote(version)} cannot be handled as a {self.kind}: "
                    f"strict decoding error: {self.message}")
        if self.layer is Layer.WEBHOOK:
            return ('admission webhook "validation.istio.io" denied the request: '
                    f"configuration is invalid: {self.message}")
        qualified = f"{self.kind}.{group}" if group else self.kind
        if self.layer is Layer.UNCHECKED:
            return f"{qualified} {quote(self.name)} was not fully checked: {self.message}"
        return f"{qualified} {quote(self.name)} is invalid: {self.message}"
