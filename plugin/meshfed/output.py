"""Serialising the emitted objects: a YAML stream that every YAML reader Kubernetes tools use (YAML
1.1 as PyYAML and go-yaml v2 read it, the YAML 1.2 core schema as go-yaml v3 and kyaml read it)
reads back with the same types (F4), or JSON. Key order is the order the objects were built in.

The YAML is defined as what PyYAML's `dump_all` writes with `QuotingDumper` below; `meshfed.emit`
writes the very same bytes directly, about 20 times faster, and hands the documents it does not
handle (floats, strings that need double quotes, ...) back to PyYAML.

`write_yaml` / `write_json` stream: they write each object as soon as it is built, so that a
rendering never holds all its objects (or all its text) at once.
"""
from __future__ import annotations

import re

import yaml

try:
    from yaml import CSafeDumper as _BaseDumper
except ImportError:  # pragma: no cover - pure-Python fallback
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]

from .emit import Exotic, Shared, Writer
from .rows import Objects
from .yamlio import GO_BOOL, GO_FLOAT, GO_INT

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable

# Numbers of the YAML 1.2 core schema (go-yaml v3, kyaml, most YAML 1.2 readers) that neither
# go-yaml v2 nor PyYAML's YAML 1.1 reads as numbers: `1e999`, `0o` or `0x` beyond 64 bits, decimals
# of thousands of digits (go-yaml keeps those as strings because strconv fails on them).
YAML12_NUMBER = re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+)$")


class QuotingDumper(_BaseDumper):  # type: ignore[misc, valid-type]
    """Quotes a string whenever PyYAML's YAML 1.1, go-yaml v2 or a YAML 1.2 core schema reader
    would read it as another type (`y`, `n`, `on`, `1e3`, `1.10`, `0o17`, `0X1F`, `null`, ...), and
    never writes anchors or aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


QuotingDumper.add_representer(Shared, QuotingDumper.represent_dict)
QuotingDumper.yaml_implicit_resolvers = {k: list(v) for k, v in _BaseDumper.yaml_implicit_resolvers.items()}
for _tag, _regexp, _first in (
    ("tag:yaml.org,2002:bool", GO_BOOL, "yYnN"),
    ("tag:yaml.org,2002:int", GO_INT, "-+0123456789"),  # go-yaml v2's own resolution, not a regexp
    ("tag:yaml.org,2002:float", GO_FLOAT, "-+0123456789."),
    ("tag:yaml.org,2002:float", YAML12_NUMBER, "-+0123456789."),
    ("tag:yaml.org,2002:str", re.compile(r"^=$"), "="),  # the YAML 1.1 value key, quoted by PyYAML anyway
):
    QuotingDumper.add_implicit_resolver(_tag, _regexp, list(_first))

_DUMP_ARGS = dict(Dumper=QuotingDumper, default_flow_style=False, sort_keys=False, allow_unicode=True,
                  width=1 << 30, explicit_start=True)
_STR = "tag:yaml.org,2002:str"
_CHUNK = 1 << 16  # characters handed to `write` at a time


def _plain_tag(value: str) -> str | None:
    """The tag QuotingDumper resolves a plain scalar to (`Resolver.resolve`), None for a string."""
    table = QuotingDumper.yaml_implicit_resolvers
    for tag, regexp in table.get(value[0] if value else "", []) + table.get(None, []):
        if regexp.match(value):
            return None if tag == _STR else tag
    return None


def _pyyaml_document(obj: Any) -> str:
    """One document written by PyYAML itself: the reference, used for what `emit` leaves out."""
    return yaml.dump_all([obj], **_DUMP_ARGS)  # type: ignore[call-overload]


def yaml_documents(objects: Iterable[dict[str, Any]]) -> Iterable[str]:
    """Each object's document of the stream `dump_yaml` writes (`---` line included), one at a
    time, with one writer for all (`meshfed diff` needs them apart)."""
    writer = Writer(_plain_tag)
    if isinstance(objects, Objects):
        return _planned_documents(objects, writer)
    return writer.documents(objects, _pyyaml_document)


def _planned_documents(objects: Objects, writer: Writer) -> Iterable[str]:
    """Straight from the planned rows: no object is built as dicts, the text of the blocks rows
    share is rendered once."""
    text = writer.object
    for plan, name in objects.rows():
        spec, labels = plan.fn(*plan.args)
        try:
            yield text(plan.api_version, plan.kind, plan.namespace, name, labels, spec)
        except Exotic:
            yield _pyyaml_document(plan.build(name))


def dump_yaml(objects: Iterable[dict[str, Any]]) -> str:
    """A `---`-separated YAML stream, one document per object ('' for no objects)."""
    return "".join(yaml_documents(objects))


def dump_yaml_pyyaml(objects: Iterable[dict[str, Any]]) -> str:
    """The same stream written by PyYAML alone (the reference `dump_yaml` must match)."""
    return yaml.dump_all(list(objects), **_DUMP_ARGS)  # type: ignore[call-overload]


def _chunked(parts: Iterable[str], write: Callable[[str], Any]) -> None:
    buffer: list[str] = []
    size = 0
    for part in parts:
        buffer.append(part)
        size += len(part)
        if size >= _CHUNK:
            write("".join(buffer))
            buffer.clear()
            size = 0
    if buffer:
        write("".join(buffer))


def write_yaml(objects: Iterable[dict[str, Any]], write: Callable[[str], Any]) -> None:
    """`dump_yaml`, written piece by piece as the objects come."""
    _chunked(yaml_documents(objects), write)


def _json_items(objects: Iterable[dict[str, Any]]) -> Iterable[str]:
    import json
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    yield '{"apiVersion":"v1","kind":"List","items":['
    first = True
    for obj in objects:
        yield encode(obj) if first else "," + encode(obj)
        first = False
    yield "]}\n"


def dump_json(objects: Iterable[dict[str, Any]]) -> str:
    """A Kubernetes `List` holding the objects, as one compact JSON line."""
    return "".join(_json_items(objects))


def write_json(objects: Iterable[dict[str, Any]], write: Callable[[str], Any]) -> None:
    """`dump_json`, written piece by piece as the objects come."""
    _chunked(_json_items(objects), write)
