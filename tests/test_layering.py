"""The package's tree is its architecture, and every import arrow points down it:

    values/     reading and checking what people write (nothing of meshfed above it)
    output/     planned objects and their writer
    layouts/    the two chart generations
    core        pipeline, api, appdir, resourcelist (the request path, the application-directory
                rules, the one KRM loop)
    tools       federation/, diff/, clustercheck/ (beyond the charts)
    routes/     the entry points
    entry       __main__, startup

No adapter is a library: the core and the tools never import an entry point's module (the
application-directory rules are `meshfed.appdir`, the KRM loop `meshfed.resourcelist.execute`).
Checked on the source (every import, the lazy ones in functions included) and on what importing a
module really loads."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "plugin" / "meshfed"
LAYERS = ["values", "output", "layouts", "core", "tools", "routes", "entry"]
CORE = {"pipeline", "api", "appdir", "resourcelist"}
TOOLS = {"federation", "diff", "clustercheck"}
ENTRY = {"__main__", "startup"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def layer(module: str) -> str:
    """The layer of a module of the package (`meshfed` itself, the package's `__init__`, is none)."""
    first = module.split(".")[1]
    if first in {"values", "output", "layouts", "routes"}:
        return first
    if first in CORE:
        return "core"
    if first in TOOLS:
        return "tools"
    assert first in ENTRY, f"{module} is in no layer: place it in a subpackage or name its layer here"
    return "entry"


def imports(module: str) -> set[str]:
    """The package's modules `module` imports, anywhere in its source."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in MODULES}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.add(target if target in MODULES else base)
    return {m for m in found if m in MODULES and m != "meshfed" and m != module}


def test_every_module_has_a_layer() -> None:
    assert {layer(m) for m in MODULES if m != "meshfed"} == set(LAYERS)
    assert not [p for p in PACKAGE.glob("*.py") if p.stem not in CORE | ENTRY | {"__init__"}]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "meshfed"))
def test_arrows_point_down(module: str) -> None:
    mine = LAYERS.index(layer(module))
    upward = sorted(t for t in imports(module) if LAYERS.index(layer(t)) > mine)
    assert not upward, f"{module} ({layer(module)}) imports a layer above it: {upward}"


def test_the_layers_are_used() -> None:
    """The check above sees real arrows: routes import the core, the core imports values."""
    assert "meshfed.api" in imports("meshfed.routes.krm")
    assert "meshfed.values.diagnostics" in imports("meshfed.api")
    assert "meshfed.output.rows" in imports("meshfed.layouts.v2")
    assert layer("meshfed.routes.cli") == "routes" and layer("meshfed.federation.krmcheck") == "tools"


ADAPTERS = {m for m in MODULES if m.startswith("meshfed.routes.")}


@pytest.mark.slow
@pytest.mark.parametrize("module", ["meshfed.diff", "meshfed.diff.apps", "meshfed.federation",
                                    "meshfed.federation.krmcheck", "meshfed.appdir", "meshfed.resourcelist"])
def test_imports_no_adapter(module: str) -> None:
    code = f"import sys, {module}; print(*sorted(m for m in sys.modules if m.startswith('meshfed.')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert module in loaded and not loaded & ADAPTERS
