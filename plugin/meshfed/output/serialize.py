"""Serialising the emitted objects: a YAML stream that every YAML reader Kubernetes tools use (YAML
1.1 as PyYAML and go-yaml v2 read it, the YAML 1.2 core schema as go-yaml v3 and kyaml read it)
reads back with the same types (F4), or JSON. Key order is the order the objects were built in.

The YAML is defined as what PyYAML's `dump_all` writes with `quoting_dumper()` below; `meshfed.output.emit`
writes the very same bytes directly, about 20 times faster, and hands the documents it does not
handle (floats, strings that need double quotes, ...) back to PyYAML.

`write_yaml` / `write_json` stream: they write each object as soon as it is built, so that a
rendering never holds all its objects (or all its text) at once.
"""
from __future__ import annotations

import re
from functools import cache

from .emit import Exotic, Shared, Writer
from .rows import Objects
from ..values.yamlio import GO_BOOL, GO_FLOAT, GO_INT

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable

# Numbers of the YAML 1.2 core schema (go-yaml v3, kyaml, most YAML 1.2 readers) that neither
# go-yaml v2 nor PyYAML's YAML 1.1 reads as numbers: `1e999`, `0o` or `0x` beyond 64 bits, decimals
# of thousands of digits (go-yaml keeps those as strings because strconv fails on them).
YAML12_NUMBER = r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+)$"


@cache
def implicit_resolvers() -> dict[Any, list[tuple[str, Any]]]:
    """The implicit resolvers of the dumper (`quoting_dumper`): PyYAML's YAML 1.1 ones, then
    go-yaml v2's and the YAML 1.2 core schema's, so that a string any of these readers would read
    as another type (`y`, `n`, `on`, `1e3`, `1.10`, `0o17`, `0X1F`, `null`, ...) is quoted. Keyed by
    first character, as PyYAML's `add_implicit_resolver` keeps them. Built on first use: the names
    and addresses most renderings write never need it (`emit._ALWAYS_PLAIN`)."""
    from yaml.resolver import Resolver  # after meshfed.values.yamlio: loads no more of PyYAML than this

    table = {first: list(rules) for first, rules in Resolver.yaml_implicit_resolvers.items()}
    for tag, regexp, first in (
        ("tag:yaml.org,2002:bool", GO_BOOL, "yYnN"),  # go-yaml v2's own resolution, as the two below
        ("tag:yaml.org,2002:int", GO_INT, "-+0123456789"),
        ("tag:yaml.org,2002:float", GO_FLOAT, "-+0123456789."),
        ("tag:yaml.org,2002:float", re.compile(YAML12_NUMBER), "-+0123456789."),
        ("tag:yaml.org,2002:str", re.compile(r"^=$"), "="),  # the YAML 1.1 value key, quoted by PyYAML anyway
    ):
        for char in first:
            table.setdefault(char, []).append((tag, regexp))
    return table


@cache
def quoting_dumper() -> type:
    """PyYAML's safe dumper (over libyaml's emitter) with `implicit_resolvers()`, and never an anchor
    or alias: the reference for `meshfed.output.emit`, and the writer of what it hands back. Built on first
    use, since most renderings never need it and it needs all of PyYAML."""
    import yaml

    class QuotingDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
        def ignore_aliases(self, data: Any) -> bool:
            return True

    QuotingDumper.add_representer(Shared, QuotingDumper.represent_dict)
    QuotingDumper.yaml_implicit_resolvers = implicit_resolvers()
    return QuotingDumper


_DUMP_ARGS = dict(default_flow_style=False, sort_keys=False, allow_unicode=True, width=1 << 30,
                  explicit_start=True)
_STR = "tag:yaml.org,2002:str"
_CHUNK = 1 << 16  # characters handed to `write` at a time


def _plain_tag(value: str) -> str | None:
    """The tag `quoting_dumper()` resolves a plain scalar to (`Resolver.resolve`), None for a string."""
    table = implicit_resolvers()
    for tag, regexp in table.get(value[0] if value else "", []) + table.get(None, []):
        if regexp.match(value):
            return None if tag == _STR else tag
    return None


def _dump_all(objects: list[Any]) -> str:
    import yaml
    return yaml.dump_all(objects, Dumper=quoting_dumper(), **_DUMP_ARGS)  # type: ignore[call-overload]


def _pyyaml_document(obj: Any) -> str:
    """One document written by PyYAML itself: the reference, used for what `emit` leaves out."""
    return _dump_all([obj])


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
    return _dump_all(list(objects))


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


NAME_MAX = 255  # bytes of a file name on the file systems meshfed writes to


def object_files(objects: list[dict[str, Any]], json: bool = False) -> dict[str, str]:
    """One file per object (`--output-dir`): `<group>_<version>_<kind>[_<namespace>]_<name>.yaml`
    in lowercase (kustomize's naming, with the namespace, so that no two objects share a file; the
    core group is `core`), holding its document as the stream writes it, or its JSON. ValueError
    naming the object when a name is too long for a file name or (defensively) two objects would
    share one."""
    if json:
        import json as json_module
        encode = json_module.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        texts: Iterable[str] = (encode(obj) + "\n" for obj in objects)
    else:
        texts = yaml_documents(objects)
    files: dict[str, str] = {}
    for obj, text in zip(objects, texts):
        group, _, version = obj["apiVersion"].rpartition("/")
        meta = obj["metadata"]
        parts = (group or "core", version, obj["kind"], meta.get("namespace"), meta["name"])
        name = "_".join(str(part) for part in parts if part).lower() + (".json" if json else ".yaml")
        if len(name.encode("utf-8")) > NAME_MAX or name in files:
            why = "would share the file" if name in files else "has a name too long for a file name"
            raise ValueError(f"{obj['kind']} {meta['name']} {why} {name}")
        files[name] = text
    return files
