"""The core's public face: what the adapters (CLI, KRM, Argo CD, kustomize plugin) call.

Every function is pure with respect to stdout/stderr: results and diagnostics are returned,
adapters decide how to print them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .diagnostics import Diagnostic, has_errors


@dataclass
class RenderResult:
    """The emitted objects in output order, and every error/warning found on the way."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


def render_paths(
    paths: Sequence[Path],
    values_files: Sequence[Path] = (),
    *,
    scope: str | None = None,
    namespace: str | None = None,
    layout: str | None = None,
    root: Path | None = None,
) -> RenderResult:
    """Render MeshFederation documents (files, or directories holding them) and/or plain values
    files, as `meshfed render` does. `root` limits where `base` paths may point (default: the
    enclosing git work tree of each document, else its directory)."""
    raise NotImplementedError


def render_document(
    document: dict[str, Any],
    *,
    source: str,
    base_dir: Path,
    root: Path | None = None,
    scope: str | None = None,
    namespace: str | None = None,
    layout: str | None = None,
) -> RenderResult:
    """Render one MeshFederation document already parsed (a KRM functionConfig or item, an exec
    plugin's config). `source` names it in diagnostics; relative `base` paths resolve against
    `base_dir`."""
    raise NotImplementedError
