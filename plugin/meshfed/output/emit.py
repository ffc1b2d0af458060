"""A direct YAML writer for the shapes meshfed emits, byte-for-byte what `yaml.dump_all` with
`meshfed.output.serialize.quoting_dumper()` (PyYAML's representer over libyaml's emitter) writes for them.

PyYAML spends almost all of its time in Python code around the C emitter (representing every value
as a node, resolving every scalar's tag against the implicit resolvers' regular expressions,
building events), about 2 MB/s on meshfed's objects. This writer walks the objects directly and
decides each string's style once per distinct string, which makes writing YAML about as fast as
`json.dumps`.

What it handles (everything meshfed emits): documents that are maps; maps with `str` keys; lists;
`str`, `int`, `bool` and `None` values; strings that libyaml writes plain or single-quoted. Anything
else (a float, a key longer than a simple key may be, a string that needs double quotes because it
holds a line break, a tab or a character outside the printable set, a subclass of a builtin type,
...) raises `Exotic`, and the caller writes that document with PyYAML instead.

The decisions below are libyaml's (emitter.c: `yaml_emitter_analyze_scalar`,
`yaml_emitter_select_scalar_style`, `yaml_emitter_check_simple_key` and the block collection
states), restricted to block context, an indent of 2, and a line width too large to fold at.
`tests/test_output.py` checks the equivalence on random objects, tricky scalars included.
"""
from __future__ import annotations

import re

from ..values.yamlio import WORDS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable

__all__ = ["Exotic", "Shared", "Writer"]


class Exotic(Exception):
    """A value this writer does not handle: write the document with PyYAML."""


class Shared(dict):
    """A map that many objects hold (a spec, a part of their labels, an item of their lists): the
    writer renders its text once."""

    __slots__ = ()


# Characters libyaml writes as they are (with allow_unicode): 0x20-0x7E, 0xA0-0xD7FF, 0xE000-0xFFFD
# except the BOM 0xFEFF. Anything else makes libyaml double-quote the string, and line breaks (LF,
# CR, NEL, LS 0x2028, PS 0x2029) change the style or the layout: both are left to PyYAML.
# (Checked without one big Unicode class: compiling that regex alone costs 9 ms of start-up.)
_ASCII_UNPRINTABLE = re.compile("[^\x20-\x7e]")


def _unprintable(s: str) -> bool:
    if s.isascii():
        return _ASCII_UNPRINTABLE.search(s) is not None
    for ch in s:
        o = ord(ch)
        if not (0x20 <= o <= 0x7E or 0xA0 <= o <= 0x2027 or 0x202A <= o <= 0xD7FF
                or 0xE000 <= o <= 0xFEFE or 0xFF00 <= o <= 0xFFFD):
            return True
    return False


# First characters that are indicators wherever they stand (block context).
_LEADING_INDICATORS = frozenset("#,[]{}&*!|>'\"%@`")
# The longest simple key libyaml writes (in UTF-8 bytes); longer keys become `? key`.
_SIMPLE_KEY_MAX = 128
# Strings that can only be written plain, so that no resolver is run for them:
# - a letter, then letters, digits and `-_./[]` (names, hosts, most keys, field paths), unless it
#   is one of the words read as a bool or null (`y`, `no`, `True`, `off`, `NULL`, ...:
#   `_RESOLVED_WORDS`): no implicit resolver starting with a letter reads anything else;
# - digits in three or more dot-separated groups, which no reader takes for a number (a float has
#   one dot): IPv4 addresses, versions;
# - `.` (Istio's `exportTo: [.]`).
_ALWAYS_PLAIN = re.compile(r"[A-Za-z][-A-Za-z0-9_./\[\]]*|[0-9]+\.[0-9]+(?:\.[0-9]+)+|\.")
_RESOLVED_WORDS = frozenset(word for word in WORDS if word[:1].isalpha())
# How many distinct strings to remember the rendering of (names are mostly unique: bound memory).
_CACHE_MAX = 1 << 16


def _plain_allowed(s: str) -> bool:
    """libyaml's `block_plain_allowed` for a non-empty string without breaks or special
    characters."""
    first = s[0]
    if first == " " or s[-1] == " ":
        return False
    if first in _LEADING_INDICATORS:
        return False
    if first in "?:-" and (len(s) == 1 or s[1] == " "):
        return False
    if s.startswith(("---", "...")):
        return False
    if s[-1] == ":" and len(s) > 1:  # ':' followed by the end of the string
        return False
    if s.find(": ", 1) >= 0:
        return False
    if " #" in s:
        return False
    return True


class Writer:
    """Renders objects as YAML documents; `resolve(s)` is the dumper's implicit resolution of a
    plain scalar: the tag a reader would give `s` written plain, None for a string."""

    def __init__(self, resolve: Callable[[str], str | None]):
        self._resolve = resolve
        self._cache: dict[str, str] = {}  # string -> how it is written (value or simple key)
        self._keys: dict[str, str] = {}  # the same, for keys that passed the simple-key checks
        # (apiVersion, kind, namespace) -> a document's text before and after its name
        self._frames: dict[tuple[str, str, str | None], tuple[str, str]] = {}
        # The text of Shared maps: labels (keys at indent 4) and specs (2), by id; `_kept` keeps
        # each map alive so that its id stays its own.
        self._labels: dict[int, str] = {}
        self._specs: dict[int, str] = {}
        self._items: dict[tuple[int, str], str] = {}  # (id, text before its dash) -> a Shared list item's lines
        self._kept: list[Shared] = []

    def scalar(self, s: str) -> str:
        """How a string is written as a value or simple key (plain or single-quoted)."""
        out = self._cache.get(s)
        if out is not None:
            return out
        if type(s) is str and _ALWAYS_PLAIN.fullmatch(s) and s not in _RESOLVED_WORDS:
            return s
        if type(s) is not str or _unprintable(s):
            raise Exotic(s)
        if s and _plain_allowed(s) and self._resolve(s) is None:
            out = s
        else:
            out = "'" + s.replace("'", "''") + "'"
        if len(self._cache) < _CACHE_MAX:
            self._cache[s] = out
        return out

    def key(self, k: Any) -> str:
        """How a map key is written; Exotic for keys that are not simple (`? key`) or not strings."""
        out = self._keys.get(k) if type(k) is str else None
        if out is not None:
            return out
        if type(k) is not str:
            raise Exotic(k)
        if len(k) > _SIMPLE_KEY_MAX // 3 and len(k.encode("utf-8", "surrogatepass")) > _SIMPLE_KEY_MAX:
            raise Exotic(k)
        out = self.scalar(k)
        if len(self._keys) < _CACHE_MAX:
            self._keys[k] = out
        return out

    def document(self, obj: Any) -> str:
        """One document of the stream, `---` line included."""
        if type(obj) is not dict:
            raise Exotic(obj)
        if not obj:
            return "--- {}\n"
        out = ["---"]
        self._map(obj, "", "", out)
        out.append("")
        return "\n".join(out)

    def object(self, api_version: str, kind: str, namespace: str | None, name: str, labels: Any,
               spec: dict[str, Any]) -> str:
        """The document of `{apiVersion, kind, metadata: {name, namespace, labels}, spec}` (no
        namespace when None, no labels when empty): the text `document` writes for it. `labels` is
        a map or a tuple of maps with disjoint keys, in order (their merge)."""
        frame = self._frames.get((api_version, kind, namespace))
        if frame is None:
            frame = self._frame(api_version, kind, namespace)
        cached = self._labels
        if type(labels) is tuple:
            text = ""
            for part in labels:
                hit = cached.get(id(part))
                text += hit if hit is not None else self._block(part, "    ", cached)
        else:
            text = self._block(labels, "    ", cached) if labels else ""
        hit = self._specs.get(id(spec))
        return "".join((
            frame[0],
            name if type(name) is str and _ALWAYS_PLAIN.fullmatch(name) and name not in _RESOLVED_WORDS
            else self.scalar(name),
            frame[1],
            "  labels:\n" + text if text else "",
            hit if hit is not None else "spec:\n" + self._block(spec, "  ", self._specs) if spec else "spec: {}\n",
        ))

    def _frame(self, api_version: str, kind: str, namespace: str | None) -> tuple[str, str]:
        head = f"---\napiVersion: {self.scalar(api_version)}\nkind: {self.scalar(kind)}\nmetadata:\n  name: "
        tail = "\n" if namespace is None else f"\n  namespace: {self.scalar(namespace)}\n"
        self._frames[(api_version, kind, namespace)] = (head, tail)
        return head, tail

    def _block(self, d: dict[str, Any], ind: str, cached: dict[int, str]) -> str:
        """The lines of a map whose keys stand at indent `ind`, each ending in a line break; a
        `Shared` map's text goes to `cached` (specs: with their `spec:` line)."""
        out: list[str] = []
        self._map(d, ind, ind, out)
        out.append("")
        text = "\n".join(out) if len(out) > 1 else ""
        if type(d) is Shared and len(self._kept) < _CACHE_MAX:
            self._kept.append(d)
            cached[id(d)] = "spec:\n" + text if cached is self._specs else text
        return text

    def documents(self, objects: Iterable[Any], fallback: Callable[[Any], str]) -> Iterable[str]:
        for obj in objects:
            try:
                yield self.document(obj)
            except Exotic:
                yield fallback(obj)

    # The two walkers below are the hot loop: the type dispatch and the cache look-ups are
    # written out in place rather than in helper calls.

    def _map(self, d: dict, ind: str, lead: str, out: list[str]) -> None:
        """A block map whose keys stand at indent `ind`; its first line starts with `lead`
        (`ind`, or the `- ` of the sequence item holding it)."""
        sub = ind + "  "
        keys = self._keys
        cache = self._cache
        append = out.append
        for k, v in d.items():
            kt = keys.get(k) if type(k) is str else None
            if kt is None:
                kt = self.key(k)
            t = type(v)
            if t is str:
                text = cache.get(v)
                append(f"{lead}{kt}: {text if text is not None else self.scalar(v)}")
            elif t is dict or t is Shared:
                if v:
                    append(f"{lead}{kt}:")
                    self._map(v, sub, sub, out)
                else:
                    append(f"{lead}{kt}: {{}}")
            elif t is list:
                if v:  # a sequence in a map is not indented
                    append(f"{lead}{kt}:")
                    self._seq(v, ind, ind, out)
                else:
                    append(f"{lead}{kt}: []")
            elif t is int:
                append(f"{lead}{kt}: {int.__repr__(v)}")
            elif t is bool:
                append(f"{lead}{kt}: {'true' if v else 'false'}")
            elif v is None:
                append(f"{lead}{kt}: null")
            else:
                raise Exotic(v)
            lead = ind

    def _seq(self, items: list, ind: str, lead: str, out: list[str]) -> None:
        """A block sequence whose dashes stand at indent `ind`; the first line starts with
        `lead`."""
        sub = ind + "  "
        cache = self._cache
        append = out.append
        for v in items:
            dash = lead + "- "
            t = type(v)
            if t is str:
                text = cache.get(v)
                append(dash + (text if text is not None else self.scalar(v)))
            elif t is dict:
                if v:
                    self._map(v, sub, dash, out)
                else:
                    append(dash + "{}")
            elif t is Shared:  # an item many lists hold: its lines are rendered once per place
                text = self._items.get((id(v), dash))
                if text is None:
                    lines: list[str] = []
                    self._seq([dict(v)], ind, lead, lines)
                    text = "\n".join(lines)
                    if len(self._kept) < _CACHE_MAX:
                        self._kept.append(v)
                        self._items[(id(v), dash)] = text
                append(text)
            elif t is list:
                if v:
                    self._seq(v, sub, dash, out)
                else:
                    append(dash + "[]")
            elif t is int:
                append(dash + int.__repr__(v))
            elif t is bool:
                append(dash + ("true" if v else "false"))
            elif v is None:
                append(dash + "null")
            else:
                raise Exotic(v)
            lead = ind
