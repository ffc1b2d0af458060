"""No adapter is a library: the tools beyond the charts (`meshfed diff`, the federation tools and
their KRM validator) import the core, never an entry point's module (the application-directory
rules are `meshfed.appdir`, the KRM loop `meshfed.resourcelist.execute`)."""
from __future__ import annotations

import subprocess
import sys

import pytest

ADAPTERS = {"meshfed.argocd", "meshfed.krm", "meshfed.execplugin", "meshfed.cli", "meshfed.fastcli"}


@pytest.mark.parametrize("module", ["meshfed.diff", "meshfed.diff.apps", "meshfed.federation",
                                    "meshfed.federation.krmcheck", "meshfed.appdir", "meshfed.resourcelist"])
def test_imports_no_adapter(module: str) -> None:
    code = f"import sys, {module}; print(*sorted(m for m in sys.modules if m.startswith('meshfed.')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert module in loaded and not loaded & ADAPTERS
