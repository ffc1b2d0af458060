"""The project needs nothing beside its checkout: no file refers to the reference material next
to it, and the bundled CRDs are the upstream releases, unchanged."""
from __future__ import annotations

import hashlib
import re
import subprocess

from conftest import REPO
from meshfed.clustercheck import BUNDLED_CRDS

# Built from pieces so that this file does not match itself.
OUTSIDE = re.compile(r"\.\./" + "shared" + r"\b|parent\s*/\s*[\"']" + "shared" + r"[\"']")


def test_nothing_refers_outside_the_repository() -> None:
    tracked = subprocess.run(["git", "ls-files", "plugin", "tests", "docs", "README.md", "Makefile", ".ci"],
                             cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    offenders = []
    for name in tracked:
        path = REPO / name
        try:
            text = path.read_text("utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        offenders += [f"{name}:{n}" for n, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)]
    assert offenders == []


def test_bundled_crds_are_the_upstream_files() -> None:
    listed = re.findall(r"^([0-9a-f]{64})  (\S+)$", (BUNDLED_CRDS / "README.md").read_text("utf-8"), re.M)
    files = sorted(p.name for p in BUNDLED_CRDS.glob("*.yaml"))
    assert sorted(name for _, name in listed) == files
    for digest, name in listed:
        assert hashlib.sha256((BUNDLED_CRDS / name).read_bytes()).hexdigest() == digest, name
