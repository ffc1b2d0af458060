"""CEL functions Kubernetes provides that the CEL package lacks or evaluates differently from cel-go.

Registered as plain functions on the evaluation context: Go-semantics `duration()` (rule text is
rewritten to call it), cel-go's `substring` error wording, and the Kubernetes URL library used by the
shipped Istio CRDs. Errors are raised with cel-go's wording so messages match the API server's.
"""
from __future__ import annotations

import datetime
import re
from fractions import Fraction
from urllib.parse import urlsplit

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

_UNIT_NS = {"ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000,
            "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_COMPONENT = re.compile(r"([0-9]*)(\.([0-9]*))?([^0-9.]*)")
DURATION_ERROR = "type conversion error from 'string' to 'google.protobuf.Duration'"


def parse_go_duration(text: str) -> int:
    """time.ParseDuration, in nanoseconds; ValueError when Go would refuse the string."""
    rest, negative = text, False
    if rest[:1] in ("-", "+"):
        negative, rest = rest[0] == "-", rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise ValueError(text)
    total = Fraction(0)
    while rest:
        match = _COMPONENT.match(rest)
        if match is None:
            raise ValueError(text)
        whole, dot, frac, unit = match.group(1), match.group(2), match.group(3), match.group(4)
        if (not whole and not frac) or unit not in _UNIT_NS:
            raise ValueError(text)
        amount = Fraction(int(whole or "0"))
        if dot and frac:
            amount += Fraction(int(frac), 10 ** len(frac))
        total += amount * _UNIT_NS[unit]
        rest = rest[match.end():]
    if total > (1 << 63) - 1:
        raise ValueError(text)
    nanos = int(total)
    return -nanos if negative else nanos


def go_duration(text: str) -> datetime.timedelta:
    """`duration(string)` with Go's grammar; truncated to µs, which keeps `>= duration('1ms')` exact."""
    try:
        nanos = parse_go_duration(text)
    except ValueError:
        raise ValueError(DURATION_ERROR) from None
    return datetime.timedelta(microseconds=nanos // 1_000)


def substring(text: str, start: int, end: int | None = None) -> str:
    """cel-go strings extension substring, with its error messages."""
    end = len(text) if end is None else end
    if start > end:
        raise IndexError(f"invalid substring range. start: {start}, end: {end}")
    for index in (start, end):
        if index < 0 or index > len(text):
            raise IndexError(f"index out of range: {index}")
    return text[start:end]


def _parse_request_uri(text: str) -> tuple[str, str] | None:
    """(scheme, rest) when Go's url.ParseRequestURI accepts `text`, else None."""
    if not text or any(c in text for c in " \x7f") or any(ord(c) < 0x20 for c in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme:
        return parts.scheme, text[len(parts.scheme) + 1:]
    return ("", text) if text.startswith("/") else None


def is_url(text: str) -> bool:
    """Kubernetes `isURL`."""
    return _parse_request_uri(text) is not None


def url(text: str) -> str:
    """Kubernetes `url()`: the value stays a string; `getScheme` re-parses it."""
    if _parse_request_uri(text) is None:
        raise ValueError(f"URL parse error during conversion from string: parse {text!r}: invalid URI for request")
    return text


def get_scheme(text: str) -> str:
    parsed = _parse_request_uri(text)
    return parsed[0] if parsed else ""


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "goDuration": go_duration, "substring": substring, "isURL": is_url, "url": url, "getScheme": get_scheme}

_STRING_START = re.compile(r"""[rRbB]{0,2}('''|\"\"\"|'|")""")
_DURATION_CALL = re.compile(r"(?<![.\w])duration(?=\s*\()")


def route_duration_calls(source: str) -> str:
    """Rename global `duration(` calls to `goDuration(` outside string literals."""
    out, pos = [], 0
    while pos < len(source):
        literal = _STRING_START.search(source, pos)
        code_end = literal.start() if literal else len(source)
        out.append(_DURATION_CALL.sub("goDuration", source[pos:code_end]))
        if literal is None:
            break
        quote_mark = literal.group(1)
        raw = "r" in literal.group(0)[: -len(quote_mark)].lower()
        end = literal.end()
        while end < len(source) and not source.startswith(quote_mark, end):
            end += 2 if source[end] == "\\" and not raw else 1
        end += len(quote_mark)
        out.append(source[literal.start():end])
        pos = end
    return "".join(out)
