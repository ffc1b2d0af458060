"""The benchmark's scenarios render to the very bytes they rendered when `tests/data/bench-output.sha256`
was recorded: speed work (issue: speed, round two) must leave every output byte-identical, YAML and
JSON. The seed example and size M run here (L and XL hash the same code paths at scale; `make bench`
renders them). Re-record only for a deliberate output change:

    MESHFED_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_bench_outputs_stable.py
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import MESHFED, REPO

sys.path.insert(0, str(REPO / "bench"))
from scenarios import SEED_MESH, SEED_NAMESPACE, SIZES, values_text

RECORD = REPO / "tests" / "data" / "bench-output.sha256"
SCENARIOS = [("seed", "v1", tier, fmt) for tier in ("all",) for fmt in ("yaml", "json")] + [
    ("M", layout, tier, fmt) for layout in ("v1", "v2") for tier in ("mesh", "namespace") for fmt in ("yaml", "json")]


def _digest(tmp: Path, size: str, layout: str, tier: str, fmt: str) -> str:
    if size == "seed":
        (tmp / "mesh.yaml").write_text(SEED_MESH)
        (tmp / "ns.yaml").write_text(SEED_NAMESPACE)
        files = ["-f", "mesh.yaml", "-f", "ns.yaml"]
    else:
        (tmp / "values.yaml").write_text(values_text(SIZES[size], layout))
        files = ["-f", "values.yaml"]
    proc = subprocess.run([str(MESHFED), "render", *files, "--scope", tier, "--layout", layout, "-o", fmt,
                           "-n", "apps"], cwd=tmp, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    return hashlib.sha256(proc.stdout).hexdigest()


def test_bench_scenarios_render_the_recorded_bytes(tmp_path: Path) -> None:
    got = {}
    for n, (size, layout, tier, fmt) in enumerate(SCENARIOS):
        work = tmp_path / str(n)
        work.mkdir()
        got[f"{size} {layout} {tier} {fmt}"] = _digest(work, size, layout, tier, fmt)
    text = "".join(f"{digest}  {name}\n" for name, digest in got.items())
    if os.environ.get("MESHFED_UPDATE_GOLDEN"):
        RECORD.parent.mkdir(parents=True, exist_ok=True)
        RECORD.write_text(text)
    if not RECORD.exists():
        pytest.fail(f"{RECORD} is missing: record it (see this module's docstring)")
    assert text == RECORD.read_text()
