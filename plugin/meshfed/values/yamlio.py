"""Reading YAML the way Helm (go-yaml v2, YAML 1.1) reads values files.

PyYAML's YAML 1.1 resolver differs from go-yaml v2 in ways users feel: go-yaml reads `y`/`n` as
booleans, `1e3` as a number and `0o17` as an integer, but keeps timestamps and `1:20` as strings.
The readers below resolve scalars like go-yaml, refuse duplicate keys, and refuse hostile files
(deep nesting, alias bombs, recursive aliases) with an error that says why, not a hang or a
traceback.
"""
from __future__ import annotations

import math
import re

from .diagnostics import InputError, error, printable
from .cparser import ComposerError, MarkedYAMLError, Parser, ReaderError, YAMLError, events

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

# The deepest nesting of maps and lists a document may have: real values files nest fewer than 15
# levels; the merge and validation code recurse, so a deeper file is refused before it gets there.
MAX_DEPTH = 100
# How many maps and lists aliases may add to a document once expanded (every use counted), beyond
# those written out: far above any real use of aliases, low enough to refuse an alias bomb quickly.
# (A file without aliases may be as large as it likes: its size is bounded by its bytes.)
MAX_ALIAS_NODES = 100_000

# --- go-yaml v2's implicit scalar types (resolve.go) ----------------------------------------

# The patterns below are compiled on first use (through `re`'s cache): most values files need none
# of them, since `resolve_plain` tells plain decimal integers and words without them.
# go-yaml's `yamlStyleFloat`: the decimal numbers it hands to strconv.ParseFloat.
YAML_STYLE_FLOAT = r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z"
# What strconv.ParseFloat accepts of a scalar starting with `.` (go-yaml hands those over as they
# are): digits, and an exponent, where an underscore may stand between two digits.
_GO_DOT_FLOAT = r"\.[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+(?:_[0-9]+)*)?\Z"
# What strconv.ParseInt(s, 0, 64) / ParseUint(s, 0, 64) parse: a sign, then 0x, 0o or 0b (either
# case) and digits, or 0 and octal digits, or decimal digits.
_GO_INT = r"([-+]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|(0[0-7]*)|([1-9][0-9]*))\Z"
# go-yaml's fallback for `0b` when ParseInt failed: ParseInt(s[2:], 2, 64) takes a sign after `0b`.
_GO_SIGNED_BINARY = r"0b([-+][01]+)\Z"
# Any of the three: what may be a number once underscores are removed.
_GO_NUMBER = "|".join(f"(?:{p})" for p in (_GO_INT, YAML_STYLE_FLOAT, _GO_SIGNED_BINARY))
_INT64 = range(-(1 << 63), 1 << 63)
_UINT64_MAX = (1 << 64) - 1
_NUMBER_START = frozenset("+-0123456789")
# go-yaml's `resolveMap`: the plain scalars looked up as they are. (Every word PyYAML's YAML 1.1
# resolver or a YAML 1.2 core schema reader takes for a bool or null is among them.)
WORDS: dict[str, Any] = {
    **dict.fromkeys(["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"], True),
    **dict.fromkeys(["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"], False),
    **dict.fromkeys(["", "~", "null", "Null", "NULL"], None),
    **dict.fromkeys([".nan", ".NaN", ".NAN"], math.nan),
    **dict.fromkeys([".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"], math.inf),
    **dict.fromkeys(["-.inf", "-.Inf", "-.INF"], -math.inf),
}
_NOT_A_WORD = object()


def _go_int(plain: str) -> int | None:
    """strconv.ParseInt(plain, 0, 64), else ParseUint(plain, 0, 64); None where both fail."""
    m = re.match(_GO_INT, plain)
    if m is None:
        return None
    sign, hexa, octal, binary, zero_octal, decimal = m.groups()
    if decimal is not None:
        if len(decimal) > 20:  # beyond 2**64 (and beyond what int() converts, for 4,300 digits)
            return None
        value = int(decimal)
    elif hexa is not None:
        value = int(hexa, 16)
    elif binary is not None:
        value = int(binary, 2)
    else:
        value = int(octal or zero_octal, 8)
    if sign == "-":
        value = -value
    if value in _INT64 or (not sign and value <= _UINT64_MAX):
        return value
    return None


def _go_float(text: str, syntax: str) -> float | None:
    """strconv.ParseFloat of `text` if it matches `syntax`; None where it does not, or where the
    number overflows (Go returns an error then, and go-yaml keeps the string)."""
    if re.match(syntax, text) is None:
        return None
    value = float(text.replace("_", ""))
    return None if math.isinf(value) else value


def resolve_plain(text: str) -> Any:
    """The value go-yaml v2 (so Helm) gives a plain scalar: None, a bool, an int, a float, or
    `text` itself for a string. (Timestamps are strings: go-yaml keeps their text in an
    interface{}.)"""
    word = WORDS.get(text, _NOT_A_WORD)
    if word is not _NOT_A_WORD:
        return word
    first = text[0]  # not empty: "" is a word
    if first == ".":  # ParseFloat of the text as it is
        value: Any = _go_float(text, _GO_DOT_FLOAT)
        return text if value is None else value
    if first not in _NUMBER_START:
        return text
    if first != "0" and len(text) < 19 and text.isdigit() and text.isascii():
        return int(text)  # the commonest number (ports, counts): a decimal int64, as `_GO_INT` reads it
    plain = text.replace("_", "") if "_" in text else text
    if re.match(_GO_NUMBER, plain) is None:  # one look for most strings (addresses, names)
        return text
    value = _go_int(plain)
    if value is None:
        value = _go_float(plain, YAML_STYLE_FLOAT)
    if value is None and plain.startswith("0b"):
        m = re.match(_GO_SIGNED_BINARY, plain)
        if m is not None and int(m.group(1), 2) in _INT64:
            value = int(m.group(1), 2)
    return text if value is None else value


# The YAML 1.1 booleans that go-yaml v3 (kyaml: kustomize, kpt) reads as strings.
_V2_ONLY_BOOLS = frozenset(["y", "Y", "yes", "Yes", "YES", "on", "On", "ON",
                            "n", "N", "no", "No", "NO", "off", "Off", "OFF"])


def resolve_kyaml(text: str) -> Any:
    """The value kustomize and kpt (go-yaml v3) give a plain scalar: go-yaml v2's but for the
    YAML 1.1 booleans, which stay strings. Their items must come back as they came."""
    return text if text in _V2_ONLY_BOOLS else resolve_plain(text)


class GoKind:
    """A stand-in for an implicit resolver's regular expression (`match` is all PyYAML calls):
    matches the plain scalars go-yaml v2 reads as a `kind` (bool, int, float or None)."""

    # The last scalar resolved: the int rule and the float rule ask about the same text in turn.
    _last: tuple[str, Any] = ("", None)

    def __init__(self, kind: type) -> None:
        self.kind = kind

    def match(self, text: str) -> bool:
        last = GoKind._last
        if last[0] != text:
            last = GoKind._last = (text, resolve_plain(text))
        return type(last[1]) is self.kind


GO_BOOL = GoKind(bool)
GO_INT = GoKind(int)
GO_FLOAT = GoKind(float)
GO_NULL = GoKind(type(None))

_MERGE = "tag:yaml.org,2002:merge"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_BINARY = "tag:yaml.org,2002:binary"
_TAG_KINDS: dict[str, type] = {
    "tag:yaml.org,2002:null": type(None),
    "tag:yaml.org,2002:bool": bool,
    "tag:yaml.org,2002:int": int,
    "tag:yaml.org,2002:float": float,
}
_KIND_TAGS = {kind: "!!" + tag.rsplit(":", 1)[1] for tag, kind in _TAG_KINDS.items()} | {str: "!!str"}
# go-yaml v2's timestamps (its `allowedTimestampFormats`, as Go's time.Parse reads them): a
# four-digit year, month and day of one or two digits, optionally a time of one- or two-digit fields
# with an optional fraction, after `T` or `t` with a zone (`Z` or +hh:mm), or after a space without
# one. `_go_timestamp` checks the ranges as time.Parse does.
_GO_TIMESTAMP = (r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:"
                 r"[Tt]([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[.,][0-9]+)?(?:Z|[-+]([0-9]{2}):([0-9]{2}))"
                 r"| ([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[.,][0-9]+)?)?\Z")
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _go_timestamp(text: str) -> bool:
    """Whether go-yaml v2 takes `text` for a timestamp (its formats, with Go's range checks)."""
    m = re.match(_GO_TIMESTAMP, text)
    if m is None:
        return False
    groups = m.groups()
    year, month, day = (int(g) for g in groups[:3])
    if not 1 <= month <= 12 or not 1 <= day <= _MONTH_DAYS[month - 1]:
        return False
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return False
    clock = groups[3:6] if groups[3] is not None else groups[8:]  # after `T` (with a zone), else after a space
    if clock[0] is None:
        return True
    hour, minute, second = (int(g) for g in clock)
    zone_h, zone_m = groups[6:8]
    return hour < 24 and minute < 60 and second < 60 and (zone_h is None or (int(zone_h) <= 24 and int(zone_m) <= 60))


def _go_binary(text: str) -> str:
    """A `!!binary` scalar as go-yaml v2 decodes it: standard base64 (line breaks ignored), the
    bytes as a string (invalid UTF-8 replaced, as helm's JSON encoding does)."""
    import binascii  # rare: not loaded at start

    data = text.replace("\r", "").replace("\n", "")
    try:
        if len(data) % 4:
            raise binascii.Error
        decoded = binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError):
        raise ValueError("!!binary value contains invalid base64 data") from None
    return decoded.decode("utf-8", "replace")


def resolve_tagged(tag: str, text: str) -> Any:
    """A scalar with an explicit tag, as go-yaml v2 decodes it into an interface{}: the text must
    resolve to the tag's type (`!!float` also takes an int64; `!!timestamp` keeps its text);
    `!!binary` is decoded; any other tag (local `!foo`, global, `!!set`, `!!merge`...) leaves the
    text a string. ValueError says why not."""
    kind = _TAG_KINDS.get(tag)
    if kind is None:
        if tag == _TIMESTAMP:
            if _go_timestamp(text):
                return text
        elif tag == _BINARY:
            return _go_binary(text)
        else:
            return text
    value = resolve_plain(text)
    if type(value) is kind:
        return value
    if kind is float and type(value) is int and value in _INT64:
        return float(value)
    shown = text if len(text) <= 40 else text[:37] + "..."
    wanted = "!!timestamp" if kind is None else _KIND_TAGS[kind]  # None: a `!!timestamp` that is not one
    raise ValueError(f"cannot decode {_KIND_TAGS[type(value)]} `{shown}` as a {wanted}")


# --- guards ----------------------------------------------------------------------------------

class Refused(MarkedYAMLError):
    """Well-formed YAML that meshfed will not read (too deep, or an alias bomb)."""


def _too_deep(mark: Any = None, how: str = "") -> Refused:
    return Refused(None, None, f"maps and lists nested more than {MAX_DEPTH} levels deep{how}", mark)


def check_expansion(root: Any, children: Callable[[Any], list[Any] | None]) -> None:
    """Refuse a document that aliases make recursive, too deep, or larger than MAX_ALIAS_NODES
    beyond its distinct maps and lists. `children(x)` is the maps and lists directly in x (None
    for a scalar); sizes and heights are memoised per object, so this is linear in the distinct
    nodes however far the aliases expand."""
    sizes: dict[int, int] = {}
    heights: dict[int, int] = {}
    open_nodes: set[int] = set()  # the path from the root: a child on it is a recursive alias
    stack: list[tuple[Any, list[Any] | None]] = [(root, None)]
    while stack:
        node, kids = stack.pop()
        key = id(node)
        if kids is None:
            if key in sizes:
                continue
            if key in open_nodes:
                raise Refused(None, None, "a YAML alias refers to itself (recursive structure)", None)
            kids = children(node)
            if kids is None:
                continue
            open_nodes.add(key)
            stack.append((node, kids))
            stack.extend((c, None) for c in kids if id(c) not in sizes)
        else:
            sizes[key] = 1 + sum(sizes[id(c)] for c in kids)
            heights[key] = 1 + max((heights[id(c)] for c in kids), default=0)
            open_nodes.discard(key)
    if heights.get(id(root), 0) > MAX_DEPTH:
        deepest = root
        for _ in range(MAX_DEPTH):  # down the highest child to the first level too deep
            deepest = max(children(deepest) or (), key=lambda c: heights[id(c)])
        mark = getattr(deepest, "start_mark", None)
        raise _too_deep(mark, "" if mark else " once YAML aliases are expanded")
    if sizes.get(id(root), 0) - len(sizes) > MAX_ALIAS_NODES:
        raise Refused(None, None, f"document expands to more than {MAX_ALIAS_NODES} nodes through YAML "
                                  "aliases (an alias bomb?)", None)


def _object_children(value: Any) -> list[Any] | None:
    if type(value) is dict:
        return [v for v in value.values() if type(v) is dict or type(v) is list]  # keys are scalars
    if type(value) is list:
        return [v for v in value if type(v) is dict or type(v) is list]
    return None


# --- the event reader (parse_all) ------------------------------------------------------------

def _scalar(event: events.ScalarEvent, resolve: Callable[[str], Any]) -> Any:
    """A scalar's value with the implicit types of `resolve` (plain scalars) or its explicit tag."""
    tag = event.tag
    if tag is None:
        return resolve(event.value) if event.implicit[0] else event.value
    if tag == "!":  # the non-specific tag: a string
        return event.value
    try:
        return resolve_tagged(tag, event.value)
    except ValueError as exc:
        raise MarkedYAMLError(None, None, str(exc), event.start_mark) from None  # type: ignore[arg-type]  # libyaml's Mark, not in the stubs' union


def _duplicate(mark: Any, key: Any) -> YAMLError:
    return MarkedYAMLError("while constructing a mapping", None,
                                             f"found duplicate key {key!r}", mark)


class _MapFrame:
    """A mapping being read, as go-yaml v2 reads one: entries in order, a merge (`<<`) setting the
    keys of its maps over what came before (of a list of maps, the earlier ones win), a key after
    it over those. Only keys written twice are duplicates."""

    __slots__ = ("value", "key", "has_key", "explicit", "merge_next", "key_mark")

    def __init__(self, value: dict) -> None:
        self.value = value
        self.key: Any = None
        self.has_key = False
        self.explicit: set[Any] | None = None  # the keys written, once a merge has added others
        self.merge_next = False
        self.key_mark: Any = None

    def add(self, item: Any, mark: Any) -> None:
        if not self.has_key:
            if isinstance(item, (dict, list)):
                raise MarkedYAMLError(None, None, "a mapping key must be a scalar", mark)
            self.key, self.has_key, self.key_mark = item, True, mark
            return
        self.has_key = False
        if self.merge_next:
            self.merge_next = False
            maps = item if isinstance(item, list) else [item]
            if not all(isinstance(m, dict) for m in maps):
                raise MarkedYAMLError(
                    None, None, "a merge key (<<) needs a map or a list of maps", self.key_mark)
            if self.explicit is None:
                self.explicit = set(self.value)
            for m in reversed(maps):
                self.value.update(m)
            return
        key = self.key
        if self.explicit is None:
            if key in self.value:
                raise _duplicate(self.key_mark, key)
        elif key in self.explicit:
            raise _duplicate(self.key_mark, key)
        else:
            self.explicit.add(key)
        self.value[key] = item


def _is_merge_key(event: events.ScalarEvent) -> bool:
    """go-yaml v2's merge key: `<<` plain (or with the non-specific tag `!`) or tagged `!!merge`."""
    return event.value == "<<" and (event.implicit[0] or event.tag == _MERGE)


def _documents(text: str, resolve: Callable[[str], Any] = resolve_plain, first: bool = False,
               spans: dict[int, tuple[int, int]] | None = None) -> tuple[list[Any], bool]:
    """Build the documents straight from libyaml's events: much faster than composing nodes and
    constructing them, with the same results as GoLoader (the reference semantics). Also says
    whether the stream used an alias (only then can a document expand or refer to itself). With
    `first`, only the first document is read (what follows it is not looked at, as go-yaml's
    Unmarshal does). With `spans`, each map that is an entry of a list in a root map (the items of
    a ResourceList) gets the (start, end) of its text, by the map's id."""
    if text and text[-1] != "\n":
        # go-yaml reads a block scalar's last, whitespace-only line without a line break after it
        # as if it had one (helm appends one to every values file): so does the reader then
        text += "\n"
    parser = Parser(text)
    docs: list[Any] = []
    aliased = False
    anchors: dict[str, Any] = {}
    stack: list[Any] = []  # _MapFrame or list
    root: list[Any] = []
    starts: dict[int, int] = {}  # for `spans`: where the maps being read started

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
        if kind is events.ScalarEvent:
            frame = stack[-1] if stack else None
            if type(frame) is _MapFrame and not frame.has_key and _is_merge_key(event):
                frame.merge_next, frame.has_key, frame.key_mark = True, True, event.start_mark
                continue
            value = _scalar(event, resolve)
            if event.anchor is not None:
                anchors[event.anchor] = value
            put(value, event.start_mark)
        elif kind is events.MappingStartEvent:  # a tag on a map or a list changes nothing (go-yaml)
            if len(stack) >= MAX_DEPTH:
                raise _too_deep(event.start_mark)
            new_map: dict = {}
            if event.anchor is not None:
                anchors[event.anchor] = new_map
            if spans is not None and len(stack) == 2 and type(stack[1]) is list:
                starts[id(new_map)] = event.start_mark.index
            stack.append(_MapFrame(new_map))
        elif kind is events.SequenceStartEvent:
            if len(stack) >= MAX_DEPTH:
                raise _too_deep(event.start_mark)
            new_list: list = []
            if event.anchor is not None:
                anchors[event.anchor] = new_list
            stack.append(new_list)
        elif kind is events.MappingEndEvent:
            done = stack.pop().value
            if starts and id(done) in starts:
                spans[id(done)] = (starts.pop(id(done)), event.end_mark.index)  # type: ignore[index]
            put(done, event.start_mark)
        elif kind is events.SequenceEndEvent:
            put(stack.pop(), event.start_mark)
        elif kind is events.AliasEvent:
            if event.anchor not in anchors:
                raise ComposerError(None, None, f"found undefined alias {event.anchor!r}",
                                                  event.start_mark)
            aliased = True
            put(anchors[event.anchor], event.start_mark)
        elif kind is events.DocumentEndEvent:
            docs.append(root.pop() if root else None)
            anchors = {}
            if first:
                return docs, aliased
        elif kind is events.StreamEndEvent:
            return docs, aliased


def parse_all(text: str, name: str, kyaml: bool = False,
              spans: dict[int, tuple[int, int]] | None = None) -> list[Any]:
    """Every document of a YAML stream, read as go-yaml v2 (Helm) reads it, or with `kyaml` as
    kustomize and kpt read their items; InputError (with the line and column where there is one)
    for malformed YAML and for the guards above. `spans`: see `_documents` (none are given for a
    stream with aliases: such a map's text may not stand alone)."""
    return _parse(text, name, resolve_kyaml if kyaml else resolve_plain, False, spans)


def _parse(text: str, name: str, resolve: Callable[[str], Any], first: bool,
           spans: dict[int, tuple[int, int]] | None = None) -> list[Any]:
    try:
        docs, aliased = _documents(text, resolve, first, spans)
        if aliased and spans:
            spans.clear()
        if aliased:
            for doc in docs:
                check_expansion(doc, _object_children)
    except ReaderError as exc:  # a character YAML does not allow: no mark, an offset
        raise InputError([error(f"invalid YAML: {_offset_position(text, exc.position)}{exc.reason}: "
                                f"{_character(exc.character)}", name)]) from None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        if problem == _LIBYAML_TOO_DEEP:  # libyaml's own limit (1000), met in a look-ahead
            exc, problem = _too_deep(mark), _too_deep().problem
        if isinstance(exc, Refused):
            raise InputError([error(f"{where}{problem}", name)]) from None
        context = getattr(exc, "context", None)
        detail = f"{context}: {problem}" if context and "duplicate" in problem else problem
        raise InputError([error(f"invalid YAML: {where}{detail}{_layout_hint(text, mark, problem)}", name)]) from None
    return docs


# What libyaml says when a line is indented wrongly (a key under a list item, a key one space off).
_INDENTATION_PROBLEMS = ("mapping values are not allowed in this context", "did not find expected key",
                         "did not find expected '-' indicator", "could not find expected ':'",
                         "did not find expected node content")


def _layout_hint(text: str, mark: Any, problem: str) -> str:
    """What to look at when the YAML's layout is wrong: a tab in the indentation, or a line that
    does not line up with the ones before it."""
    if mark is None:
        return ""
    lines = text.split("\n")
    near = lines[max(mark.line - 1, 0):mark.line + 1]
    if any("\t" in line[:len(line) - len(line.lstrip(" \t"))] for line in near):
        return " (a tab indents this line: YAML indents with spaces only)"
    if problem in _INDENTATION_PROBLEMS:
        return (" (check the indentation of this line and the one before: keys of one map line up, and a "
                "value's lines are indented deeper than its key)")
    return ""


# --- values files (helm's loader.LoadValues) -------------------------------------------------

def parse_values(text: str, name: str) -> dict[str, Any]:
    """A Helm values file as helm v4 reads one: cut into documents at every line starting with
    `---` (only a comment may follow it on that line), the first YAML document of each read (what
    follows it, after a `...`, is not), and the maps merged in order with `merge_maps`. An empty
    file, or one of empty or null documents, is an empty map; a document that is not a map is an
    InputError."""
    values: dict[str, Any] = {}
    for line, chunk in _chunks(text, name):
        docs = _parse(chunk, name, resolve_plain, True)
        doc = docs[0] if docs else None
        if doc is None:
            continue
        if type(doc) is not dict:
            where = f" (the document at line {line})" if line > 1 else ""
            raise InputError([error(f"a values file must hold a map{where}, found {type_name(doc)}", name)])
        values = merge_maps(values, doc) if values else doc
    return values


def _chunks(text: str, name: str) -> list[tuple[int, str]]:
    """The documents of a values file as helm cuts them (apimachinery's YAMLReader: at each line
    starting with `---`, which a document with no text yet keeps), each with the number of its
    first line, its text preceded by a line break for every line before it, so that a problem is
    reported at the file's line."""
    if not (text.startswith("---") or "\n---" in text):  # the common case: one document
        return [(1, text)]
    chunks: list[tuple[int, str]] = []
    start = 0
    current: list[str] = []
    for n, line in enumerate(text.split("\n")):
        if line.startswith("---"):
            rest = line[3:].strip()
            if rest and rest[0] != "#":
                raise InputError([error(f"line {n + 1}: invalid YAML document separator: {printable(rest, 80)}",
                                        name)])
            if any(current):
                chunks.append((start + 1, "\n" * start + "\n".join(current)))
                start, current = n + 1, []
                continue
        current.append(line)
    if any(current):
        chunks.append((start + 1, "\n" * start + "\n".join(current)))
    return chunks


def merge_maps(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Helm's `loader.MergeMaps` (how it combines the documents of a values file, and -f files):
    maps merge key by key, b wins, a null is stored as a null. Returns a new map; nested maps of
    `a` that b touches are copied."""
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_maps(out[k], v)
        else:
            out[k] = v
    return out


_LIBYAML_TOO_DEEP = "exceeded maximum nesting depth"


def _offset_position(text: str, offset: int) -> str:
    """`line L column C: ` of libyaml's offset (in UTF-8 bytes) into `text`, counting the line
    breaks libyaml counts (LF, CR, CRLF, NEL, LS, PS: what str.splitlines splits at, among the
    characters YAML allows)."""
    before = text.encode("utf-8", "surrogatepass")[:offset].decode("utf-8", "ignore")
    lines = (before + "x").splitlines()
    return f"line {len(lines)} column {len(lines[-1])}: "


def _character(character: Any) -> str:
    code = character if isinstance(character, int) else ord(character)
    return f"#x{code:04x}"


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
