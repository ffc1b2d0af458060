"""The README shows what the tool really does: its federation graph is the current one."""
from __future__ import annotations

import subprocess

from conftest import MESHFED, REPO


def test_readme_graph_is_current() -> None:
    graph = subprocess.run([str(MESHFED), "graph", "overlays/"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout
    assert f"```mermaid\n{graph}```" in (REPO / "README.md").read_text()
