"""Serialising the emitted objects: a YAML stream that every YAML 1.1 reader reads back with the
same types (F4), or JSON. Key order is the order the objects were built in."""
from __future__ import annotations

import json
import re
from typing import Any, Iterable

import yaml

try:
    from yaml import CSafeDumper as _BaseDumper
except ImportError:  # pragma: no cover - pure-Python fallback
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]

from .yamlio import GO_BOOL, GO_FLOAT, GO_INT


class QuotingDumper(_BaseDumper):  # type: ignore[misc, valid-type]
    """Quotes a string whenever PyYAML's YAML 1.1 *or* go-yaml v2 would read it as another type
    (`y`, `n`, `on`, `1e3`, `1.10`, `null`, ...), and never writes anchors or aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


QuotingDumper.yaml_implicit_resolvers = {k: list(v) for k, v in _BaseDumper.yaml_implicit_resolvers.items()}
for _tag, _regexp, _first in (
    ("tag:yaml.org,2002:bool", GO_BOOL, "yYnN"),
    ("tag:yaml.org,2002:int", GO_INT, "-+0123456789"),
    ("tag:yaml.org,2002:float", GO_FLOAT, "-+0123456789."),
    ("tag:yaml.org,2002:str", re.compile(r"^=$"), "="),  # the YAML 1.1 value key, quoted by PyYAML anyway
):
    QuotingDumper.add_implicit_resolver(_tag, _regexp, list(_first))

_DUMP_ARGS = dict(Dumper=QuotingDumper, default_flow_style=False, sort_keys=False, allow_unicode=True,
                  width=1 << 30, explicit_start=True)


def dump_yaml(objects: Iterable[dict[str, Any]]) -> str:
    """A `---`-separated YAML stream, one document per object ('' for no objects)."""
    return yaml.dump_all(list(objects), **_DUMP_ARGS)  # type: ignore[call-overload]


def dump_json(objects: Iterable[dict[str, Any]]) -> str:
    """A Kubernetes `List` holding the objects, as one compact JSON line."""
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)},
                      ensure_ascii=False, separators=(",", ":")) + "\n"
