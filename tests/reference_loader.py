"""The reference loader for meshfed's YAML reader: go-yaml v2's semantics built on PyYAML's
node-based loader (composer, resolver, constructor), with the same guards.

`meshfed.yamlio.parse_all` builds documents straight from libyaml's events, which is much faster;
the tests check that it reads exactly what this loader reads. It lives with the tests because
meshfed itself never needs PyYAML's loader.
"""
from __future__ import annotations

import re
from typing import Any

import yaml

from meshfed.libyaml import Parser
from meshfed.yamlio import (GO_BOOL, GO_FLOAT, GO_INT, GO_NULL, _MERGE, _STR, _TAG_KINDS, check_expansion,
                            resolve_tagged)


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
    """go-yaml v2's scalars (`resolve_tagged`), a refusal of duplicate keys and of the tags
    `_documents` refuses (!!binary, !!timestamp, !!set, ...), and the same guards."""

    yaml_constructors = {
        "tag:yaml.org,2002:seq": yaml.constructor.SafeConstructor.construct_yaml_seq,
        "tag:yaml.org,2002:map": yaml.constructor.SafeConstructor.construct_yaml_map,
    }

    def construct_document(self, node: yaml.Node) -> Any:
        check_expansion(node, _node_children)
        return super().construct_document(node)

    def construct_go_scalar(self, node: yaml.ScalarNode) -> Any:
        try:
            return resolve_tagged(node.tag, node.value)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(None, None, str(exc), node.start_mark) from None

    def construct_unsupported(self, node: yaml.Node) -> Any:
        raise yaml.constructor.ConstructorError(None, None, f"unsupported tag {node.tag}", node.start_mark)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        """Explicit keys must be unique; keys merged in with `<<` may be overridden by them."""
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
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


for _tag in (_STR, _MERGE, *_TAG_KINDS):
    GoConstructor.add_constructor(_tag, GoConstructor.construct_go_scalar)
GoConstructor.add_constructor(None, GoConstructor.construct_unsupported)


class GoLoader(Parser, GoConstructor, GoResolver):  # type: ignore[misc, valid-type]
    """The node-based loader: the reference semantics for `parse_all`'s faster event reader."""

    def __init__(self, stream: Any) -> None:
        Parser.__init__(self, stream)
        GoConstructor.__init__(self)
        GoResolver.__init__(self)
