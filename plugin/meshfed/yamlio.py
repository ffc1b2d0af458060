"""Reading YAML the way Helm (go-yaml v2, YAML 1.1) reads values files.

PyYAML's YAML 1.1 resolver differs from go-yaml v2 in ways users feel: go-yaml reads `y`/`n` as
booleans and `1e3` as a number, but keeps timestamps and `1:20` as strings. The loader below
resolves scalars like go-yaml, refuses duplicate keys, and guards against alias bombs and
recursive aliases so a hostile file gives an error, not a hang.
"""
from __future__ import annotations

import re
from typing import Any

import yaml

from .diagnostics import InputError, error

try:  # libyaml's parser when the wheel has it; same results, much faster
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - pure-Python fallback
    from yaml.parser import Parser as _Parser  # type: ignore[assignment]
    from yaml.reader import Reader as _Reader
    from yaml.scanner import Scanner as _Scanner
    from yaml.composer import Composer as _Composer

    class _Parser(_Reader, _Scanner, _Parser, _Composer):  # type: ignore[no-redef]
        def __init__(self, stream: Any) -> None:
            _Reader.__init__(self, stream)
            _Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            _Composer.__init__(self)

# The most maps and lists one document may expand to (aliases counted at every use): far above
# what the largest federations hold, low enough to refuse an alias bomb quickly.
MAX_NODES = 100_000

GO_BOOL = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$"
)
GO_INT = re.compile(
    r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"
)
GO_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
GO_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")


class GoResolver(yaml.resolver.BaseResolver):
    """Implicit scalar types exactly as go-yaml v2 resolves them (no timestamps, no base 60)."""


for _tag, _regexp, _first in (
    ("tag:yaml.org,2002:bool", GO_BOOL, "yYnNtTfFoO"),
    ("tag:yaml.org,2002:int", GO_INT, "-+0123456789"),
    ("tag:yaml.org,2002:float", GO_FLOAT, "-+0123456789."),
    ("tag:yaml.org,2002:null", GO_NULL, ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), "<"),
):
    GoResolver.add_implicit_resolver(_tag, _regexp, list(_first))


class GoConstructor(yaml.constructor.SafeConstructor):
    """SafeConstructor with go-yaml's booleans and a refusal of duplicate keys."""

    def construct_yaml_bool(self, node: yaml.ScalarNode) -> bool:
        return self.construct_scalar(node).lower() in ("y", "yes", "true", "on")

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        """Explicit keys must be unique; keys merged in with `<<` may be overridden by them."""
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a scalar", key_node.start_mark
                ) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found duplicate key {key!r}", key_node.start_mark,
                )
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
        return super().construct_mapping(node, deep=deep)


GoConstructor.add_constructor("tag:yaml.org,2002:bool", GoConstructor.construct_yaml_bool)
GoConstructor.add_constructor("tag:yaml.org,2002:map", GoConstructor.construct_yaml_map)


class GoLoader(_Parser, GoConstructor, GoResolver):  # type: ignore[misc, valid-type]
    """The node-based loader: the reference semantics for `parse_all`'s faster event reader, and
    what the KRM adapter uses where it needs PyYAML's loader interface."""

    def __init__(self, stream: Any) -> None:
        _Parser.__init__(self, stream)
        GoConstructor.__init__(self)
        GoResolver.__init__(self)


def _check_size(doc: Any, name: str) -> None:
    """Refuse documents whose aliases expand beyond MAX_NODES or refer to themselves."""
    count = 0
    stack: list[tuple[Any, frozenset[int]]] = [(doc, frozenset())]
    while stack:
        node, ancestors = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise InputError([error(f"document expands to more than {MAX_NODES} nodes "
                                    "(excessive YAML aliasing)", name)])
        if isinstance(node, dict):
            children = [*node.keys(), *node.values()]
        elif isinstance(node, list):
            children = node
        else:
            continue
        if id(node) in ancestors:
            raise InputError([error("a YAML alias refers to itself (recursive structure)", name)])
        inner = ancestors | {id(node)}
        stack.extend((c, inner) for c in children if isinstance(c, (dict, list)))


_MERGE = "tag:yaml.org,2002:merge"
_STR_TAGS = {"tag:yaml.org,2002:str", "!"}


def _scalar(event: yaml.ScalarEvent) -> Any:
    """A scalar's value with go-yaml v2's implicit types (plain scalars) or its explicit tag."""
    value = event.value
    tag = event.tag
    if tag is None or tag == "!":
        if not event.implicit[0] or tag == "!":  # quoted, or the non-specific tag
            return value
        for rule_tag, regexp in _IMPLICIT.get(value[:1], ()):
            if regexp.match(value):
                tag = rule_tag
                break
        else:
            return value
    elif tag in _STR_TAGS:
        return value
    constructor = _CONSTRUCT.get(tag)
    if constructor is None:
        raise yaml.constructor.ConstructorError(None, None, f"unsupported tag {tag}", event.start_mark)
    return constructor(value)


_IMPLICIT = GoResolver.yaml_implicit_resolvers  # first character -> [(tag, regexp)]
_CONSTRUCT = {
    "tag:yaml.org,2002:str": str,
    "tag:yaml.org,2002:null": lambda v: None,
    "tag:yaml.org,2002:bool": lambda v: v.lower() in ("y", "yes", "true", "on"),
    "tag:yaml.org,2002:int": lambda v: GoConstructor.construct_yaml_int(_CONSTRUCTOR, yaml.ScalarNode("", v)),
    "tag:yaml.org,2002:float": lambda v: GoConstructor.construct_yaml_float(_CONSTRUCTOR, yaml.ScalarNode("", v)),
    _MERGE: str,
}
_CONSTRUCTOR = GoConstructor()


def _duplicate(mark: Any, key: Any) -> yaml.YAMLError:
    return yaml.constructor.ConstructorError("while constructing a mapping", None,
                                             f"found duplicate key {key!r}", mark)


class _MapFrame:
    """A mapping being read: explicit keys, and maps merged in with `<<` (explicit keys win,
    earlier merged maps win over later ones)."""

    __slots__ = ("value", "key", "has_key", "merged", "merge_next", "key_mark")

    def __init__(self, value: dict) -> None:
        self.value = value
        self.key: Any = None
        self.has_key = False
        self.merged: list[dict] = []
        self.merge_next = False
        self.key_mark: Any = None

    def add(self, item: Any, mark: Any) -> None:
        if not self.has_key:
            if isinstance(item, (dict, list)):
                raise yaml.constructor.ConstructorError(None, None, "a mapping key must be a scalar", mark)
            self.key, self.has_key, self.key_mark = item, True, mark
            return
        self.has_key = False
        if self.merge_next:
            self.merge_next = False
            maps = item if isinstance(item, list) else [item]
            if not all(isinstance(m, dict) for m in maps):
                raise yaml.constructor.ConstructorError(
                    None, None, "a merge key (<<) needs a map or a list of maps", self.key_mark)
            self.merged.extend(maps)
            return
        if self.key in self.value:
            raise _duplicate(self.key_mark, self.key)
        self.value[self.key] = item

    def finish(self) -> dict:
        if self.merged:
            explicit = dict(self.value)
            self.value.clear()
            for m in reversed(self.merged):
                self.value.update(m)
            self.value.update(explicit)
        return self.value


def _documents(text: str) -> list[Any]:
    """Build the documents straight from libyaml's events: much faster than composing nodes and
    constructing them, with the same results as GoLoader (the reference semantics)."""
    parser = _Parser(text)
    docs: list[Any] = []
    anchors: dict[str, Any] = {}
    stack: list[Any] = []  # _MapFrame or list
    root: list[Any] = []

    def put(item: Any, mark: Any) -> None:
        if not stack:
            root.append(item)
        elif isinstance(stack[-1], list):
            stack[-1].append(item)
        else:
            stack[-1].add(item, mark)

    while True:
        event = parser.get_event()
        kind = type(event)
        if kind is yaml.ScalarEvent:
            frame = stack[-1] if stack else None
            if (type(frame) is _MapFrame and not frame.has_key and event.value == "<<" and event.implicit[0]
                    and event.tag is None):
                frame.merge_next, frame.has_key, frame.key_mark = True, True, event.start_mark
                continue
            value = _scalar(event)
            if event.anchor is not None:
                anchors[event.anchor] = value
            put(value, event.start_mark)
        elif kind is yaml.MappingStartEvent:
            if event.tag not in (None, "!", "tag:yaml.org,2002:map"):
                raise yaml.constructor.ConstructorError(None, None, f"unsupported tag {event.tag}", event.start_mark)
            new_map: dict = {}
            if event.anchor is not None:
                anchors[event.anchor] = new_map
            stack.append(_MapFrame(new_map))
        elif kind is yaml.SequenceStartEvent:
            if event.tag not in (None, "!", "tag:yaml.org,2002:seq"):
                raise yaml.constructor.ConstructorError(None, None, f"unsupported tag {event.tag}", event.start_mark)
            new_list: list = []
            if event.anchor is not None:
                anchors[event.anchor] = new_list
            stack.append(new_list)
        elif kind is yaml.MappingEndEvent:
            frame = stack.pop()
            put(frame.finish(), event.start_mark)
        elif kind is yaml.SequenceEndEvent:
            put(stack.pop(), event.start_mark)
        elif kind is yaml.AliasEvent:
            if event.anchor not in anchors:
                raise yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor!r}",
                                                  event.start_mark)
            put(anchors[event.anchor], event.start_mark)
        elif kind is yaml.DocumentEndEvent:
            docs.append(root.pop() if root else None)
            anchors = {}
        elif kind is yaml.StreamEndEvent:
            return docs


def parse_all(text: str, name: str) -> list[Any]:
    """Every document of a YAML stream, read as go-yaml v2 reads it."""
    try:
        docs = _documents(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        detail = f"{context}: {problem}" if context and "duplicate" in problem else problem
        raise InputError([error(f"invalid YAML: {where}{detail}", name)]) from None
    for doc in docs:
        _check_size(doc, name)
    return docs


def type_name(value: Any) -> str:
    """How a value's type is named in messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a map"
    return type(value).__name__
