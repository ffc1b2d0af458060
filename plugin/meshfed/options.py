"""The render options and their one check, whatever their source: CLI flags, a document's spec,
a KRM functionConfig's `data`, Argo CD's plugin env and parameters.

An option that is not understood is an error, never ignored: `layout: V2` rendering layout v1, or
`scope: Mesh` rendering nothing, would be silent loss under Argo CD's auto-sync and prune.
"""
from __future__ import annotations

from .diagnostics import Diagnostic, error
from .formats import is_dns_label

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Mapping

SCOPES = ("mesh", "namespace", "all")
LAYOUTS = ("v1", "v2")
FORMATS = ("yaml", "json")
NAMES = ("scope", "layout", "namespace", "allowEmpty")
_TRUE, _FALSE = ("true",), ("false",)


class Options:
    """Render options; None means "not given" (the document, then inference, decides)."""

    __slots__ = ("scope", "namespace", "layout", "allow_empty")

    def __init__(self, scope: str | None = None, namespace: str | None = None, layout: str | None = None,
                 allow_empty: bool | None = None) -> None:
        self.scope, self.namespace, self.layout, self.allow_empty = scope, namespace, layout, allow_empty

    def over(self, other: Options) -> Options:
        """These options, with the ones not given here taken from `other`."""
        return Options(self.scope if self.scope is not None else other.scope,
                       self.namespace if self.namespace is not None else other.namespace,
                       self.layout if self.layout is not None else other.layout,
                       self.allow_empty if self.allow_empty is not None else other.allow_empty)


def check_value(name: str, value: Any) -> tuple[Any, str | None]:
    """The option's value, or None with the reason it is refused. Strings are taken as written
    (`V2` is not `v2`); an empty string means "not given"; `allowEmpty` also takes the strings
    `true`/`false` that ConfigMaps and environment variables hold."""
    if name == "allowEmpty":
        if isinstance(value, bool):
            return value, None
        if isinstance(value, str) and value in _TRUE + _FALSE:
            return value in _TRUE, None
        return None, f"must be true or false, got {value!r}"
    if not isinstance(value, str):
        return None, f"must be a string, got {type(value).__name__}"
    if value == "":
        return None, None
    choices = {"scope": SCOPES, "layout": LAYOUTS}.get(name)
    if choices is not None and value not in choices:
        return None, f"{value!r} is not one of {', '.join(choices)}"
    if name == "namespace" and not is_dns_label(value):
        return None, f"{value!r} is not a valid namespace name (a DNS label)"
    return value, None


def parse(raw: Mapping[str, Any], source: str, where: str = "", names: tuple[str, ...] = NAMES,
          spelling: Mapping[str, str] | None = None) -> tuple[Options, list[Diagnostic]]:
    """Options from a map of option name to value (`spelling` maps the source's own key names,
    such as an environment variable, to option names). Unknown names and bad values are errors
    naming `source` and the field `where.<key>`."""
    spelling = spelling or {}
    found: dict[str, Any] = {}
    problems: list[Diagnostic] = []
    for key, value in raw.items():
        name = spelling.get(key, key)
        field = f"{where}.{key}" if where else str(key)
        if name not in names:
            known = ", ".join(sorted(k for k, v in spelling.items() if v in names) if spelling else names)
            problems.append(error(f"unknown option (known: {known})", source, field))
            continue
        if value is None:
            continue
        checked, why = check_value(name, value)
        if why is not None:
            problems.append(error(why, source, field))
        elif checked is not None:
            found[name] = checked
    return Options(found.get("scope"), found.get("namespace"), found.get("layout"),
                   found.get("allowEmpty")), problems
