"""Test helpers for the Kustomize and Argo CD integrations (kubectl harness, CMP emulator...)."""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def meshfed_executable() -> Path:
    """The `meshfed` console script of the interpreter running the tests (the .venv's)."""
    return Path(sys.executable).with_name("meshfed")


def venv_bin() -> Path:
    return Path(sys.executable).parent


def app_dirs(repo: Path = REPO) -> list[Path]:
    """The Argo CD application directories of the example GitOps repo: overlays/<cluster>/<app>."""
    return sorted(p for p in (repo / "overlays").glob("*/*")
                  if p.is_dir() and p.parent.name != "base")
