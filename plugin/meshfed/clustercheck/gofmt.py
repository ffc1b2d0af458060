"""Render Python values the way Go's fmt and encoding/json do.

The API server builds its messages with `%q`, `%v` and `json.Marshal`; reproducing those byte for byte
is what lets a test compare our messages with the cluster's.
"""
from __future__ import annotations

import json
import math
from typing import Any

_ESCAPES = {"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t", "\v": r"\v"}


def quote(text: str) -> str:
    """Go's strconv.Quote: printable runes verbatim, the rest escaped."""
    out = ['"']
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)


def float_v(number: float) -> str:
    """Go's `%v` for a float64 (`%g` with shortest digits): exponent form outside [1e-4, 1e6)."""
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    if math.isnan(number):
        return "NaN"
    if number == 0:
        return "0"
    digits, exponent = _shortest(number)
    if exponent < -4 or exponent >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        sign = "-" if number < 0 else ""
        return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    text = f"{abs(number):.{max(len(digits) - 1 - exponent, 0)}f}"
    return ("-" if number < 0 else "") + text


def _shortest(number: float) -> tuple[str, int]:
    """Shortest round-tripping decimal digits of |number| and its decimal exponent."""
    mantissa, _, exp = f"{abs(number):.17e}".partition("e")
    for precision in range(1, 18):
        candidate = f"{abs(number):.{precision - 1}e}"
        if float(candidate) == abs(number):
            mantissa, _, exp = candidate.partition("e")
            break
    return mantissa.replace(".", ""), int(exp)


def value_v(value: Any) -> str:
    """Go's `%v` for the scalar types an unstructured object holds."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return float_v(value)
    if value is None:
        return "<nil>"
    return str(value)


def marshal(value: Any) -> str:
    """Go's json.Marshal of an unstructured value: sorted keys, HTML-safe escapes, Go float format."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, dict):
        items = (f"{marshal(str(k))}:{marshal(v)}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0])))
        return "{" + ",".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(marshal(v) for v in value) + "]"
    text = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                             ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
            text = text.replace(raw, escaped)
    return text
