"""Helm's `--set`, `--set-string`, `--set-file`, `--set-json` and `--set-literal`, as helm v4 does them.

A port of the behaviour of Helm's `pkg/strvals` parser and of `pkg/cli/values.Options.MergeValues`
(helm v4.1): our own code, checked flag by flag against the pinned helm in tests/test_helmset.py.

Order. Helm does not apply the flags in command-line order. `MergeValues` first merges the `-f`
files (in order, `MergeMaps`: maps merge key by key, anything else is replaced, a null is kept as a
null), then applies, each kind in the order given on the command line:

    1. every --set-json      2. every --set      3. every --set-string
    4. every --set-file      5. every --set-literal

so `--set a=1 --set-json a=2` gives `a: 1`. `apply` does the same whatever the order of its input.

Why `apply(values, ...)` and not an overlay map: the flags write *into* the map the files produced,
so their effect depends on it. `--set l[1]=x` changes one item of a list a file gave (an overlay
would replace the list), `--set a.b=1` fails when a file made `a` a scalar, a list or null, and
`--set k=null` stores a null at `k` (it is the later coalescing with the chart's defaults that
removes a default which a null overrides; a null for a key the chart lacks stays a null).

Rules, all as helm's parser has them:
* `a.b.c=v` nests maps (at most 30 dots); `a[0].b=v`, `a[1][0]=v` index lists; an index beyond the
  end grows the list with nulls; an index must be an integer in 0..65536.
* `\\` escapes the next character in keys and values (`\\.` `\\,` `\\=` `\\[` `\\\\`).
* one flag may hold several comma-separated assignments; `a={x,y}` is a list.
* `--set` infers types: `true`/`false` (any case) are booleans, `null` (any case) is null, an int64
  written without a leading zero (or `0`) is an integer, anything else is a string (also a number
  outside int64, however long: 5,000 digits are a string, as helm keeps them; an index outside
  int64 is an error naming the flag). `--set-string`
  keeps strings. `--set-file k=path` stores the file's text. `--set-literal k=v` takes everything
  after the first `=` verbatim (no escapes, no commas, no lists).
* `--set-json k=JSON[,k2=JSON...]` stores JSON values (numbers as float64, as Go decodes them: one
  without fraction or exponent comes back as a Python int of that float64's value); a flag whose text
  starts with `{` is one JSON object, merged over the values like a values file.
* The quirks too: `a[0]` with no `=` and a trailing `a.` are silently ignored (helm's parser reads
  them as the end of its input); `a=` stores "" and `a={}` stores `[""]`.
* One deviation: an unclosed index (`a[1`), which helm silently drops with the rest of the flag, is
  an error naming the flag: a value the user set must not vanish.

Where helm fails, `apply` raises `InputError`, naming the flag and its text.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from .diagnostics import InputError, error
from .source import read_file
from .yamlio import merge_maps, type_name

KINDS = ("set-json", "set", "set-string", "set-file", "set-literal")
"""The flag kinds, in the order helm applies them (after the -f files)."""

MAX_INDEX = 65536  # strvals.MaxIndex
MAX_NESTED_NAME_LEVEL = 30  # strvals.MaxNestedNameLevel
_INT64 = (-(1 << 63), (1 << 63) - 1)
_INT64_DIGITS = 19  # of the largest int64, leading zeros aside
_DIGITS = re.compile(r"[+-]?[0-9]+")
# Go's unicode.IsSpace (which strings.TrimSpace uses too)
_SPACE = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | frozenset(
    chr(c) for c in range(0x2000, 0x200B)
)


class Assignment(NamedTuple):
    """One flag: `kind` is one of KINDS ("set", "set-string", ...), `expression` its argument.
    `parameter`: the key of an entry of Argo CD's map parameter `values` the expression comes from;
    such an expression must be one assignment (one key, one value: a comma its value holds cannot
    add another), and its errors name `parameter values` and the key."""

    kind: str
    expression: str
    parameter: str | None = None


def apply(values: Mapping[str, Any], assignments: Iterable[Assignment],
          files_read: dict[str, str] | None = None) -> dict[str, Any]:
    """The values `helm template -f ... --set ...` would use: `values` (the -f files already merged
    the Helm way) with the flags applied in helm's order (KINDS). `values` is not modified.
    `files_read` receives the text of each --set-file file by name, for messages to conceal
    (`diagnostics.concealed`): a file's content is never shown."""
    base = _copy(values)
    flags = list(assignments)
    for flag in flags:
        if flag.kind not in KINDS:
            raise ValueError(f"unknown kind of assignment {flag.kind!r}")
    for kind in KINDS:
        for flag in flags:
            if flag.kind == kind:
                base = _apply_one(base, flag, files_read)
    return base


def commas_escaped(value: str) -> str:
    """A parameter's value as Argo CD passes it to `--set`: every comma not after a backslash
    escaped, unless the value is a list `{...}` (util/helm cleanSetParameters)."""
    if value.startswith("{") and value.endswith("}"):
        return value
    out, previous = [], ""
    for char in value:
        out.append("\\," if char == "," and previous != "\\" else char)
        previous = char
    return "".join(out)


# --- the parser ---------------------------------------------------------------------------------


class _Stop(Exception):
    """An error of helm's parser; `eof` when it wraps io.EOF, which the parser takes as success."""

    def __init__(self, message: str, eof: bool = False):
        super().__init__(message)
        self.eof = eof


_EOF = "EOF"


def _apply_one(base: dict[str, Any], flag: Assignment, files_read: dict[str, str] | None) -> dict[str, Any]:
    text = flag.expression
    try:
        if flag.kind == "set-json":
            trimmed = _trim_space(text)
            if trimmed.startswith("{"):
                try:
                    end = _json_extent(trimmed, 0)
                    if end != len(trimmed):
                        raise _Stop("invalid character after top-level value")
                except _Stop as exc:
                    raise _Stop(f"not a JSON object: {exc}") from None
                return merge_maps(base, _json_value(trimmed))
        _Parser(text, flag.kind, files_read, single=flag.parameter is not None).parse(base)
    except _Stop as exc:
        if flag.parameter is not None:
            raise InputError([error(str(exc), "parameter values", flag.parameter)]) from None
        raise InputError([error(f"--{flag.kind} {text!r}: {exc}")]) from None
    except InputError as exc:  # a --set-file file
        raise InputError([error(f"--{flag.kind} {text!r}: {d}") for d in exc.diagnostics]) from None
    return base


class _Parser:
    def __init__(self, text: str, kind: str, files_read: dict[str, str] | None = None, single: bool = False):
        self.s = text
        self.files_read = files_read
        self.single = single
        self.pos = 0
        self.kind = kind
        self.literal = kind == "set-literal"

    # scanning

    def _read(self) -> str | None:
        if self.pos >= len(self.s):
            return None
        self.pos += 1
        return self.s[self.pos - 1]

    def _until(self, stop: str) -> tuple[str, str | None]:
        """strvals.runesUntil: the text up to a stop character (consumed, returned; None at the end);
        a backslash takes the next character as it is (not in --set-literal)."""
        out: list[str] = []
        while True:
            r = self._read()
            if r is None:
                return "".join(out), None
            if r in stop:
                return "".join(out), r
            if r == "\\" and not self.literal:
                nxt = self._read()
                if nxt is None:
                    return "".join(out), None
                out.append(nxt)
            else:
                out.append(r)

    def parse(self, data: dict[str, Any]) -> None:
        while True:
            try:
                self._key(data, 0)
            except _Stop as exc:
                if exc.eof:
                    return
                raise
            if self.single and self.pos < len(self.s):
                raise _Stop(f"more than one assignment: {self.s[self.pos:]!r} would be another")

    def _key(self, data: dict[str, Any], level: int) -> None:
        k, last = self._until("=[." if self.literal else "=[,.")
        if last is None:
            if not k:
                raise _Stop(_EOF, eof=True)
            raise _Stop(f"key {k!r} has no value")
        if last == "[":
            i = self._index()
            lst: list[Any] = []
            if k in data:
                lst = _expect(data[k], list, k)
            try:
                lst = self._list_item(lst, i, level)
            finally:
                _set(data, k, lst)
        elif last == "=":
            if self.pos >= len(self.s) and self.kind not in ("set-json", "set-literal"):
                _set(data, k, "")
                # helm's parser reports the end of its input here: `l[0].k=` leaves l[0] alone
                raise _Stop(_EOF, eof=True)
            _set(data, k, self._value())
        elif last == ",":
            raise _Stop(f"key {k!r} has no value (cannot end with ,)")
        else:  # "."
            level += 1
            if level > MAX_NESTED_NAME_LEVEL:
                raise _Stop(
                    f"value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                )
            inner: dict[str, Any] = {}
            if k in data:
                inner = _expect(data[k], dict, k)
            try:
                self._key(inner, level)
            except _Stop as exc:
                if exc.eof and inner:
                    _set(data, k, inner)
                raise
            if not inner:
                raise _Stop(f"key map {k!r} has no value")
            _set(data, k, inner)

    def _index(self) -> int:
        v, last = self._until("]")
        if last is None:
            # helm reads this as the end of its input and drops the assignment: refused here
            raise _Stop(f"unclosed index {'[' + v!r}: no ']' follows (helm would silently ignore it)")
        if not _DIGITS.fullmatch(v):
            raise _Stop(f"error parsing index: {v!r} is not an integer")
        i = _int64(v)
        if i is None:
            raise _Stop(f"error parsing index: {v!r} is out of range")
        return i

    def _list_item(self, lst: list[Any], i: int, level: int) -> list[Any]:
        if i < 0:
            raise _Stop(f"negative {i} index not allowed")
        k, last = self._until("[.=")
        if k:
            raise _Stop(f"unexpected data at end of array index: {k!r}")
        if last is None:
            raise _Stop(_EOF, eof=True)
        if last == "=":
            return _set_index(lst, i, self._value())
        if last == "[":
            j = self._index()
            current: list[Any] = []
            if len(lst) > i and lst[i] is not None:
                current = _expect(lst[i], list, f"[{i}]")
            return _set_index(lst, i, self._list_item(current, j, level))
        # "."
        inner: dict[str, Any] = {}
        if len(lst) > i:
            if not isinstance(lst[i], dict):
                lst[i] = {}  # helm: "indices out of order"
            inner = lst[i]
        self._key(inner, level)
        return _set_index(lst, i, inner)

    # values

    def _value(self) -> Any:
        """The value after `=`; the position is left after it (and after its comma)."""
        if self.kind == "set-json":
            return self._json()
        if self.literal:
            rest = self.s[self.pos :]
            self.pos = len(self.s)
            return rest
        if self.pos >= len(self.s):
            return ""
        if self.s[self.pos] == "{":
            self.pos += 1
            return self._list()
        v, _ = self._until(",")
        return self._typed(v)

    def _list(self) -> list[Any]:
        out = []
        while True:
            v, last = self._until(",}")
            if last is None:
                raise _Stop("list must terminate with '}'")
            out.append(self._typed(v))
            if last == "}":
                if self.pos < len(self.s) and self.s[self.pos] == ",":
                    self.pos += 1
                return out

    def _typed(self, v: str) -> Any:
        if self.kind == "set-string":
            return v
        if self.kind == "set-file":
            text = _read(v)
            if self.files_read is not None:
                self.files_read[v] = text
            return text
        return typed_value(v)

    def _json(self) -> Any:
        if self._empty():
            return None
        end = _json_extent(self.s, self.pos)
        value = _json_value(self.s[self.pos : end])
        self.pos = end
        self._empty()
        return value

    def _empty(self) -> bool:
        """strvals.emptyVal: skips spaces; true at the end or at a comma (consumed)."""
        while self.pos < len(self.s):
            r = self.s[self.pos]
            if r == ",":
                self.pos += 1
                return True
            if r not in _SPACE:
                return False
            self.pos += 1
        return True


def typed_value(v: str) -> Any:
    """strvals.typedVal for --set: bool, null, int64 or the string itself."""
    folded = _fold(v)
    if folded == "true":
        return True
    if folded == "false":
        return False
    if folded == "null":
        return None
    if v == "0":
        return 0
    if v and v[0] != "0" and _DIGITS.fullmatch(v):
        n = _int64(v)
        if n is not None:
            return n
    return v


def _int64(digits: str) -> int | None:
    """The integer of a signed decimal (`_DIGITS`) when it fits int64 (Go's strconv.ParseInt),
    else None. A number of thousands of digits is simply out of range: it is never converted
    (Python refuses to convert more than 4,300 digits)."""
    if len(digits.lstrip("+-").lstrip("0")) > _INT64_DIGITS:
        return None
    n = int(digits)
    return n if _INT64[0] <= n <= _INT64[1] else None


def _fold(v: str) -> str:
    """Lower-cases the way Go's strings.EqualFold matches against ASCII words."""
    if len(v) > 5:
        return v
    return "".join(
        c.lower() if "A" <= c <= "Z" else "s" if c == "\u017f" else "k" if c == "\u212a" else c for c in v
    )


def _set(data: dict[str, Any], key: str, value: Any) -> None:
    if key:  # helm ignores an empty key
        data[key] = value


def _set_index(lst: list[Any], i: int, value: Any) -> list[Any]:
    if i < 0:
        raise _Stop(f"negative {i} index not allowed")
    if i > MAX_INDEX:
        raise _Stop(f"index of {i} is greater than maximum supported index of {MAX_INDEX}")
    if len(lst) <= i:
        lst.extend([None] * (i + 1 - len(lst)))
    lst[i] = value
    return lst


def _expect(value: Any, kind: type, key: str) -> Any:
    if isinstance(value, kind):
        return value
    want = "a map" if kind is dict else "a list"
    raise _Stop(f"unable to parse key: {key!r} is {type_name(value)}, not {want}")


def _trim_space(s: str) -> str:
    start, end = 0, len(s)
    while start < end and s[start] in _SPACE:
        start += 1
    while end > start and s[end - 1] in _SPACE:
        end -= 1
    return s[start:end]


def _copy(value: Any) -> Any:
    """A deep copy that also unshares (YAML aliases): Go values never share."""
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _read(path: str) -> str:
    """--set-file's reader: a local file's text. Helm would also read `-` as standard input and fetch
    http(s)/oci URLs; both are refused here. Like helm, a name Go's url.Parse rejects is an error."""
    if path.strip() == "-":
        raise InputError([error("reading standard input ('-') is not supported", path)])
    problem = _url_problem(path)
    if problem:
        raise InputError([error(f"not a valid file name ({problem})", path)])
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", path)
    if scheme and scheme.group(1).lower() in ("http", "https", "oci"):
        raise InputError([error("fetching a URL is not supported", path)])
    if not path:
        raise InputError([error("no such file", "''")])
    return read_file(Path(path), path)


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _url_problem(raw: str) -> str | None:
    """The main reasons Go's url.Parse (which helm applies to a --set-file name) fails."""
    u, _, fragment = raw.partition("#")
    if re.search(r"[\x00-\x1f\x7f]", u):
        return "a control character"
    if u.startswith(":"):
        return "missing protocol scheme"
    scheme = re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", u)
    rest = u[scheme.end() :] if scheme else u
    rest = rest.partition("?")[0]
    opaque = bool(scheme) and not rest.startswith("/")
    if not scheme and not rest.startswith("/") and ":" in rest.partition("/")[0]:
        return "first path segment in URL cannot contain colon"
    if rest.startswith("//") and (scheme or not rest.startswith("///")):
        authority, _, rest = rest[2:].partition("/")
        host = authority.rpartition("@")[2]
        # Go unescapes the authority too; in the host only non-ASCII bytes may be escaped (and %25).
        if _BAD_ESCAPE.search(authority) or any(
                e != "%25" and int(e[1], 16) < 8 for e in re.findall(r"%[0-9A-Fa-f]{2}", host)):
            return "invalid URL escape"
    if not opaque and _BAD_ESCAPE.search(rest):
        return "invalid URL escape"
    if _BAD_ESCAPE.search(fragment):
        return "invalid URL escape"
    return None


# --- JSON the way Go's encoding/json Decoder reads one value ------------------------------------

_JSON_WS = " \t\n\r"
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9A-Fa-f]{4}))*"')


def _json_extent(s: str, pos: int) -> int:
    """Where the JSON value starting at s[pos] (after JSON whitespace) ends; _Stop if invalid."""
    pos = _skip_ws(s, pos)
    if pos >= len(s):
        raise _Stop("unexpected end of JSON input")
    c = s[pos]
    if c == "{" or c == "[":
        close = "}" if c == "{" else "]"
        pos = _skip_ws(s, pos + 1)
        if pos < len(s) and s[pos] == close:
            return pos + 1
        while True:
            if c == "{":
                m = _STRING.match(s, _skip_ws(s, pos))
                if not m:
                    raise _Stop("invalid object key")
                pos = _skip_ws(s, m.end())
                if pos >= len(s) or s[pos] != ":":
                    raise _Stop("expected ':' after object key")
                pos += 1
            pos = _skip_ws(s, _json_extent(s, pos))
            if pos >= len(s):
                raise _Stop("unexpected end of JSON input")
            if s[pos] == close:
                return pos + 1
            if s[pos] != ",":
                raise _Stop(f"invalid character {s[pos]!r} in JSON")
            pos += 1
    if c == '"':
        m = _STRING.match(s, pos)
        if not m:
            raise _Stop("invalid JSON string")
        return m.end()
    for word in ("true", "false", "null"):
        if s.startswith(word, pos):
            return pos + len(word)
    m = _NUMBER.match(s, pos)
    if not m:
        raise _Stop(f"invalid character {c!r} looking for beginning of value")
    end = m.end()
    # Go rejects a number cut short: "1." "1e" "1e+" "-"
    if end < len(s) and s[end] in ".eE" and not (s[end] == "." and m.group(1)) and not m.group(2):
        raise _Stop("invalid number")
    return end


def _skip_ws(s: str, pos: int) -> int:
    while pos < len(s) and s[pos] in _JSON_WS:
        pos += 1
    return pos


def _json_value(text: str) -> Any:
    """A valid JSON text decoded as Go decodes into `any`: numbers are float64, a number written
    without fraction or exponent comes back as the int of that float64; lone surrogates are U+FFFD."""

    def number(t: str, integer: bool) -> Any:
        f = float(t)
        if f in (float("inf"), float("-inf")):
            raise _Stop(f"cannot unmarshal number {t} into Go value of type float64")
        return int(f) if integer else f

    value = json.loads(
        text,
        parse_int=lambda t: number(t, True),
        parse_float=lambda t: number(t, False),
        object_pairs_hook=lambda pairs: {_go_string(k): v for k, v in pairs},
    )
    return _go_strings(value)


def _go_string(s: str) -> str:
    return re.sub("[\ud800-\udfff]", "\ufffd", s)


def _go_strings(v: Any) -> Any:
    if isinstance(v, str):
        return _go_string(v)
    if isinstance(v, list):
        return [_go_strings(x) for x in v]
    if isinstance(v, dict):
        return {k: _go_strings(x) for k, x in v.items()}
    return v
