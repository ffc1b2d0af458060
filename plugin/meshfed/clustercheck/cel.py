"""Evaluate a CRD's `x-kubernetes-validations` CEL rules as the API server does on create.

Uses the `common-expression-language` package (imported here only, on first use) with its cel-go
strings extension and the functions in `cellib`. Each rule is compiled once per process; each node's
value is converted once for all the rules on that node.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from . import cellib
from .problems import FieldError, duplicate, forbidden, invalid, required
from .schema import Rule, Schema

INSTALL_HINT = ("CEL validation needs the optional dependency of meshfed's validate extra: pip install "
                "'common-expression-language>=0.10,<0.11' (or install meshfed with '.[validate]')")


@dataclass
class _Engine:
    """The loaded CEL package, a shared evaluation context and compiled programs by rule text."""

    module: Any
    context: Any
    programs: dict[str, tuple[Any, bool]] = field(default_factory=dict)

    def program(self, source: str) -> tuple[Any, bool]:
        """(compiled program, whether it reads oldSelf)."""
        if source not in self.programs:
            compiled = self.module.compile(cellib.route_duration_calls(source))
            self.programs[source] = (compiled, "oldSelf" in compiled.variables())
        return self.programs[source]


_engine: _Engine | None = None


def engine() -> _Engine:
    """Import the CEL package on first use; a clear RuntimeError when it is not installed."""
    global _engine
    if _engine is None:
        try:
            import cel as module
            from cel.stdlib import add_stdlib_to_context
        except ImportError as exc:
            raise RuntimeError(INSTALL_HINT) from exc
        context = module.Context()
        add_stdlib_to_context(context, ["strings"])
        for name, function in cellib.FUNCTIONS.items():
            context.add_function(name, function)
        # The package logs a warning for every Python function that raises; those raises are how
        # cellib reports CEL errors, which become field errors here.
        logging.getLogger("cel").addFilter(lambda record: not record.getMessage().startswith("Python function"))
        _engine = _Engine(module, context)
    return _engine


@dataclass
class Outcome:
    errors: list[FieldError] = field(default_factory=list)
    unchecked: list[tuple[str, str]] = field(default_factory=list)  # (field, why the rule could not run)


def validate_rules(obj: dict[str, Any], root: Schema) -> Outcome:
    """Run every rule that applies to `obj`, walking it alongside its schema."""
    outcome = Outcome()
    _walk(engine(), obj, root, None, outcome)
    return outcome


def _walk(eng: _Engine, value: Any, schema: Schema | None, path: str | None, outcome: Outcome) -> None:
    if value is None or schema is None or not schema.has_rules:
        return
    if schema.rules:
        _evaluate(eng, value, schema, path, outcome)
    for branch in schema.all_of:
        _walk(eng, value, branch, path, outcome)
    if isinstance(value, list):
        for i, item in enumerate(value):
            _walk(eng, item, schema.items, f"{path}[{i}]", outcome)
    elif isinstance(value, dict):
        if schema.additional_properties is not None:
            for key, item in value.items():
                _walk(eng, item, schema.additional_properties, f"{path}[{key}]", outcome)
        for key, item in value.items():
            if schema.properties and key in schema.properties:
                _walk(eng, item, schema.properties[key], key if path is None else f"{path}.{key}", outcome)


def _evaluate(eng: _Engine, value: Any, schema: Schema, path: str | None, outcome: Outcome) -> None:
    context = eng.context
    context.add_variable("self", _to_cel(value, schema))
    for rule in schema.rules:
        program, uses_old_self = eng.program(rule.rule)
        if uses_old_self:
            if not rule.optional_old_self:
                continue  # transition rule: only evaluated on update
            context.add_variable("oldSelf", eng.module.OptionalValue.none())
        try:
            result = program.execute(context)
        except Exception as exc:  # noqa: BLE001 - the package raises builtin exception types for CEL errors
            _record_failure(exc, rule, schema, path, outcome)
            continue
        if result is True:
            continue
        target = _join(path, _normalize_field_path(rule.field_path)) if rule.field_path else path
        detail = _message_expression(eng, rule) or _rule_message(rule)
        outcome.errors.append(_for_reason(target, schema.type, detail, rule.reason))


def _record_failure(exc: Exception, rule: Rule, schema: Schema, path: str | None, outcome: Outcome) -> None:
    """Evaluation errors reject the object with cel-go's wording; a missing function leaves it unchecked."""
    text = str(exc)
    if "Undefined variable or function" in text:
        outcome.unchecked.append((path or "", f"rule {rule.rule!r} could not be evaluated offline: {text}"))
        return
    if isinstance(exc, KeyError):
        text = f"no such key: {exc.args[0]}"
    elif isinstance(exc, TypeError):
        text = (f"'no such overload': call arguments did not match a supported operator, function or macro "
                f"signature for rule: {_error_string(rule)}")
        outcome.errors.append(invalid(path, schema.type, text))
        return
    else:
        inner = re.search(r"Python function call failed: \w+: (.*)\. Check function arguments", text)
        text = inner.group(1) if inner else text
    outcome.errors.append(invalid(path, schema.type, f"{text} evaluating rule: {_error_string(rule)}"))


def _message_expression(eng: _Engine, rule: Rule) -> str:
    """The rule's messageExpression result, or "" when absent or unusable (the API server falls back)."""
    if not rule.message_expression:
        return ""
    try:
        text = eng.program(rule.message_expression)[0].execute(eng.context)
    except Exception:  # noqa: BLE001 - any evaluation error falls back to the static message, as the API server does
        return ""
    text = text.strip() if isinstance(text, str) else ""
    return text if text and "\n" not in text and len(text) <= 5 * 1024 else ""


def _rule_message(rule: Rule) -> str:
    return rule.message.strip() if rule.message else f"failed rule: {_error_string(rule)}"


def _error_string(rule: Rule) -> str:
    return rule.message.strip() if rule.message else rule.rule.strip()


def _for_reason(path: str | None, type_name: str, detail: str, reason: str) -> FieldError:
    if reason == "FieldValueForbidden":
        return forbidden(path, detail)
    if reason == "FieldValueRequired":
        return required(path, detail)
    if reason == "FieldValueDuplicate":
        return duplicate(path, type_name)
    return invalid(path, type_name, detail)


_FIELD_PATH_TOKEN = re.compile(r"\.([^.\[\]]+)|\['((?:[^'\\]|\\.)*)'\]")


def _normalize_field_path(field_path: str) -> str:
    """`.a.b['c.d']` -> `a.b[c.d]`, as ValidFieldPath renders it."""
    out = ""
    for name, key in _FIELD_PATH_TOKEN.findall(field_path):
        out += f"[{key}]" if key else (f".{name}" if out else name)
    return out


def _join(path: str | None, child: str) -> str:
    return child if path is None else f"{path}.{child}"


def _to_cel(value: Any, schema: Schema | None) -> Any:
    """Integers in `number` fields become doubles, as the API server types them for CEL."""
    if schema is None or not schema.has_numbers:
        return value
    if "number" in schema.types and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, dict):
        props = schema.properties or {}
        return {k: _to_cel(v, props.get(k) or schema.additional_properties) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_cel(v, schema.items) for v in value]
    return value
