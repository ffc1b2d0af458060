"""Test helpers for the Kustomize and Argo CD integrations (kubectl harness, CMP emulator...)."""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def meshfed_executable() -> Path:
    """The `meshfed` console script of the interpreter running the tests (the .venv's)."""
    return Path(sys.executable).with_name("meshfed")


def helm_executable() -> Path | None:
    """The pinned helm (`HELM`, else .tools/bin/helm), None where there is none: the tests that
    compare with helm are skipped then."""
    import os

    env = os.environ.get("HELM")
    for c in [Path(env)] if env else [REPO / ".tools" / "bin" / "helm"]:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    return None


def venv_bin() -> Path:
    return Path(sys.executable).parent


def app_dirs(repo: Path = REPO) -> list[Path]:
    """The Argo CD application directories of the example GitOps repo: overlays/<cluster>/<app>."""
    return sorted(p for p in (repo / "overlays").glob("*/*")
                  if p.is_dir() and p.parent.name != "base")


def snapshot_checkout(dest: Path, repo: Path = REPO) -> Path:
    """What a fresh checkout of the working tree would hold: the tracked files plus untracked,
    non-ignored ones (no .venv, no .tools, no .git), modes as git would set them.

    Argo CD's repo-server streams such a checkout to the plugin. Falls back to a filtered copy
    when git is unavailable."""
    import os
    import shutil
    import subprocess

    dest.mkdir(parents=True, exist_ok=True)
    try:
        out = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], capture_output=True, check=True).stdout
        files = [f for f in out.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", ".tools", "__pycache__", ".pytest_cache", ".hypothesis", "build"}
        files = []
        for dirpath, dirnames, filenames in os.walk(repo):
            dirnames[:] = [d for d in dirnames if d not in skip and not d.endswith(".egg-info")]
            files += [os.path.relpath(os.path.join(dirpath, f), repo) for f in filenames]
    for rel in sorted(files):
        src = repo / rel
        if not src.is_file() or src.is_symlink():
            continue  # deleted in the work tree, or a link (none expected)
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        os.chmod(target, 0o755 if os.access(src, os.X_OK) else 0o644)
    return dest
