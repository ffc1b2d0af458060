"""The reference loader for meshfed's YAML reader: go-yaml v2's semantics built on PyYAML's
node-based loader (composer, resolver, constructor), with the same guards.

`meshfed.values.yamlio.parse_all` builds documents straight from libyaml's events, which is much faster;
the tests check that it reads exactly what this loader reads. It lives with the tests because
meshfed itself never needs PyYAML's loader.
"""
from __future__ import annotations

import re
from typing import Any

import yaml

from meshfed.values.cparser import Parser
from meshfed.values.yamlio import GO_BOOL, GO_FLOAT, GO_INT, GO_NULL, _MERGE, check_expansion, resolve_tagged


def _node_children(node: Any) -> list[Any] | None:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair if isinstance(n, yaml.CollectionNode)]
    if isinstance(node, yaml.SequenceNode):
        return [n for n in node.value if isinstance(n, yaml.CollectionNode)]
    return None


class GoResolver(yaml.resolver.BaseResolver):
    """Implicit scalar types exactly as go-yaml v2 resolves them (no timestamps, no base 60)."""


for _tag, _regexp, _first in (
    ("tag:yaml.org,2002:bool", GO_BOOL, "yYnNtTfFoO"),
    ("tag:yaml.org,2002:int", GO_INT, "-+0123456789"),
    ("tag:yaml.org,2002:float", GO_FLOAT, "-+0123456789."),
    ("tag:yaml.org,2002:null", GO_NULL, ["~", "n", "N", ""]),
    (_MERGE, re.compile(r"^(?:<<)$"), "<"),
):
    GoResolver.add_implicit_resolver(_tag, _regexp, list(_first))


class GoConstructor(yaml.constructor.SafeConstructor):
    """go-yaml v2's scalars (`resolve_tagged`: any tag, known or not), maps and lists whatever
    their tag, a refusal of duplicate keys, merges in order, and the same guards."""

    yaml_constructors: dict = {}

    def construct_document(self, node: yaml.Node) -> Any:
        check_expansion(node, _node_children)
        return super().construct_document(node)

    def construct_go(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return [self.construct_object(child, deep=True) for child in node.value]
        try:
            return resolve_tagged(node.tag, node.value)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(None, None, str(exc), node.start_mark) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        """Entries in order: a merge (`<<`) sets its maps' keys (of a list, the earlier maps win)
        over what came before, an explicit key overrides them; an explicit key twice is an error."""
        out: dict = {}
        explicit: set[Any] = set()
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _MERGE and key_node.value == "<<":
                maps = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                if not all(isinstance(m, yaml.MappingNode) for m in maps):
                    raise yaml.constructor.ConstructorError(
                        None, None, "a merge key (<<) needs a map or a list of maps", key_node.start_mark)
                for m in reversed(maps):
                    out.update(self.construct_object(m, deep=True))
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in explicit
                explicit.add(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a scalar", key_node.start_mark
                ) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found duplicate key {key!r}", key_node.start_mark,
                )
            out[key] = self.construct_object(value_node, deep=deep)
        return out


GoConstructor.add_constructor(None, GoConstructor.construct_go)


class GoLoader(Parser, GoConstructor, GoResolver):  # type: ignore[misc, valid-type]
    """The node-based loader: the reference semantics for `parse_all`'s faster event reader."""

    def __init__(self, stream: Any) -> None:
        if isinstance(stream, str) and stream and stream[-1] != "\n":
            stream += "\n"  # go-yaml: a last whitespace-only line of a block scalar ends in a line break
        Parser.__init__(self, stream)
        GoConstructor.__init__(self)
        GoResolver.__init__(self)
