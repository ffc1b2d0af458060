"""Problems found in the input, reported with the file and field path they come from."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem: `file` supplied the value (or `<defaults>`), `path` locates it in that file."""

    severity: Severity
    message: str
    file: str | None = None
    path: str = ""

    def __str__(self) -> str:
        parts = [p for p in (self.file, self.path) if p]
        text = ": ".join([*parts, self.message])
        return text if self.severity == "error" else f"{self.severity}: {text}"


class InputError(Exception):
    """Raised when input cannot be read at all (missing file, malformed YAML, base cycle...)."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__("\n".join(str(d) for d in diagnostics))
        self.diagnostics = diagnostics


def error(message: str, file: str | None = None, path: str = "") -> Diagnostic:
    return Diagnostic("error", message, file, path)


def warning(message: str, file: str | None = None, path: str = "") -> Diagnostic:
    return Diagnostic("warning", message, file, path)


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)
