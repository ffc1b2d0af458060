"""Problems found in the input, reported with the file and field path they come from.

The one result type of every route: the CLI prints them, the KRM function turns them into
`results`, the Argo CD plugin prints them for the UI. Their text is safe to print: control
characters and newlines that came from the input (file names, keys, values) are escaped, so a
file name cannot forge a `file: path: message` line, and a value echoed in a message is cut. A file
name that is not UTF-8 (its bytes held as lone surrogates, as Python decodes them) is escaped too
(`\udcff`): it can then be written anywhere UTF-8 goes.
"""
from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable, Literal

    Severity = Literal["error", "warning", "info"]

EXIT_OK, EXIT_INVALID = 0, 1  # usage errors exit 2: typer's own (click's UsageError)
MAX_MESSAGE = 1000  # characters of one message; the middle of a longer one is cut
# What `printable` escapes: C0 and C1 controls and DEL, the line and paragraph separators, the
# bidirectional embeddings, overrides and isolates, and lone surrogates (the bytes of a file name
# that is not UTF-8). Compiled on first use: most messages are printable ASCII, told without it.
_UNSAFE = r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if char in named:
        return named[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, limit: int = MAX_MESSAGE) -> str:
    """`text` as one safe line: control and bidi characters and lone surrogates escaped, the middle
    cut past `limit`."""
    if len(text) > limit:
        keep = limit // 2
        text = f"{text[:keep]}...({len(text) - 2 * keep} characters cut)...{text[-keep:]}"
    if text.isascii() and text.isprintable():  # none of _UNSAFE: ASCII's unprintables are \x00-\x1f, \x7f
        return text
    return re.sub(_UNSAFE, _escape, text)


class Diagnostic:
    """One problem: `file` supplied the value (or `<defaults>`), `path` locates it in that file."""

    __slots__ = ("severity", "message", "file", "path")

    def __init__(self, severity: Severity, message: str, file: str | None = None, path: str = "") -> None:
        self.severity = severity
        self.message = message
        self.file = file
        self.path = path

    def _key(self) -> tuple[str, str, str | None, str]:
        return (self.severity, self.message, self.file, self.path)

    def __eq__(self, other: object) -> bool:  # `meshfed check` reports each diagnostic once
        return isinstance(other, Diagnostic) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        parts = [printable(p) for p in (self.file, self.path) if p]
        text = ": ".join([*parts, printable(self.message)])
        return text if self.severity == "error" else f"{self.severity}: {text}"


def concealed(diagnostics: list[Diagnostic], texts: dict[str, str]) -> list[Diagnostic]:
    """The diagnostics with the text of each file read for a value (`--set-file`: {file name:
    text}) replaced by `<the text of FILE>` wherever a message quotes it: as a JSON or Python
    string literal, or as it is (texts of at least four characters). A value that is a whole file
    may be anything (`/proc/self/environ`): it is never shown."""
    if not texts:
        return diagnostics
    import json
    forms = sorted(((form, f"<the text of {name}>") for name, text in texts.items()
                    for form in (json.dumps(text), json.dumps(text, ensure_ascii=False), repr(text),
                                 *((text,) if len(text) >= 4 else ()))), key=lambda f: -len(f[0]))
    out = []
    for d in diagnostics:
        message = d.message
        for form, shown in forms:
            message = message.replace(form, shown)
        out.append(d if message == d.message else Diagnostic(d.severity, message, d.file, d.path))
    return out


class InputError(Exception):
    """Raised when input cannot be read at all (missing file, malformed YAML, base cycle...)."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__("\n".join(str(d) for d in diagnostics))
        self.diagnostics = diagnostics


def failure(exc: Exception) -> list[Diagnostic]:
    """What every route reports for an exception it did not expect to see, instead of a traceback:
    the input's own problems, a clear word for exhausted resources, else an internal error. With
    `MESHFED_TRACEBACK=1`, any but the input's own problems also print their traceback on stderr
    (the one thing the core prints: for a bug report, on whichever route met it)."""
    if isinstance(exc, InputError):
        return exc.diagnostics
    _show_traceback(exc)
    if isinstance(exc, RecursionError):
        return [error("the input is nested too deeply to process")]
    if isinstance(exc, MemoryError):
        return [error("the input needs more memory than is available")]
    return [error(f"internal error ({type(exc).__name__}: {exc}); please report it with the input that caused it "
                  f"and the traceback {TRACEBACK_VARIABLE}=1 prints")]


TRACEBACK_VARIABLE = "MESHFED_TRACEBACK"


def _show_traceback(exc: BaseException) -> None:
    import os
    if os.environ.get(TRACEBACK_VARIABLE, "") not in ("", "0"):
        import sys
        import traceback
        traceback.print_exception(exc, file=sys.stderr)
        sys.stderr.flush()


def did_you_mean(value: object, candidates: Iterable[str]) -> str:
    """` (did you mean `x`?)` when one of `candidates` is a typo away from `value`, else "". Names
    that share a long part (`*-mesh`, `*.mesh.global`) look alike to difflib alone: a candidate
    must also be within a few edits (one per five characters, a swap counting one)."""
    if not isinstance(value, str) or not value:
        return ""
    import difflib  # only when a message needs it: the hot routes never do
    known = sorted(set(candidates))
    same = [c for c in known if c.lower() == value.lower() and c != value]  # `V2` for `v2`
    for close in same or difflib.get_close_matches(value, known, n=3, cutoff=0.6):
        if close != value and _edits(value.lower(), close.lower()) <= max(1, len(value) // 5):
            return f" (did you mean `{close}`?)"
    return ""


def _edits(a: str, b: str) -> int:
    """The edit distance of `a` and `b`, a swap of two neighbours counting one."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def error(message: str, file: str | None = None, path: str = "") -> Diagnostic:
    return Diagnostic("error", message, file, path)


def warning(message: str, file: str | None = None, path: str = "") -> Diagnostic:
    return Diagnostic("warning", message, file, path)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)


def exit_code(diagnostics: Iterable[Diagnostic]) -> int:
    """What every route exits with: 1 when any diagnostic is an error, else 0."""
    return EXIT_INVALID if has_errors(diagnostics) else EXIT_OK
