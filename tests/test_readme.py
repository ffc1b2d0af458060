"""The README shows what the tool really does: its federation graph is the current one."""
from __future__ import annotations

import subprocess

from conftest import MESHFED, REPO


def test_readme_graph_is_current() -> None:
    graph = subprocess.run([str(MESHFED), "graph", "overlays/"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout
    assert f"```mermaid\n{graph}```" in (REPO / "README.md").read_text()


# Files the docs name that a command writes (ignored by git), not files of the repository.
WRITTEN = {"bench/results/latest.md"}
TOP = ("overlays", "kustomize", "docs", "tests", "bench", "schema", "plugin", "requirements", "scripts", ".ci")


def _mentions(text: str) -> set[str]:
    """Repository paths a page names in running text or code: `overlays/base/mesh.yaml`,
    `meshfed/output/safewrite.py` (the package's), not globs or placeholders (`<cluster>`, `fed-*`)."""
    import re
    found = set()
    for m in re.finditer(rf"(?<![\w/.-])((?:{'|'.join(map(re.escape, TOP))}|meshfed)/[^\s`)\]'\",;]*)", text):
        path = m.group(1).split("#")[0].rstrip(".:")
        if not re.search(r"[<>{}*$]", path):
            found.add(f"plugin/{path}" if path.startswith("meshfed/") else path)
    return found


def test_every_path_the_docs_name_exists() -> None:
    """README.md and docs/*.md link to and name only files the repository has (a fresh clone)."""
    import re
    missing = []
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = page.read_text("utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z][a-z+.-]*:", target) or target.startswith("#"):
                continue
            if not (page.parent / target.split("#")[0]).exists():
                missing.append(f"{page.name}: link {target}")
        missing += [f"{page.name}: {path}" for path in sorted(_mentions(text) - WRITTEN) if not (REPO / path).exists()]
    assert missing == []


def test_the_path_check_sees_a_missing_file() -> None:
    assert _mentions("see `overlays/base/mesh.yaml` and docs/nowhere.md, not `overlays/<cluster>/mesh`") == {
        "overlays/base/mesh.yaml", "docs/nowhere.md"}
    assert _mentions("the writer `meshfed/output/safewrite.py`") == {"plugin/meshfed/output/safewrite.py"}


def test_the_readme_says_how_to_install_and_the_docs_point_there() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    section = readme.split("\n## Install\n", 1)[1].split("\n## ", 1)[0]
    assert "pip install ." in section and "kpt" in section and "Argo CD" in section
    for page in ("integrations.md", "ci.md"):
        assert "(../README.md#install)" in (REPO / "docs" / page).read_text("utf-8"), page


def test_the_contract_speaks_to_the_user() -> None:
    """docs/chart-behavior.md is what a user can rely on, not notes for whoever writes meshfed:
    no material outside the repository, no instructions to an implementer."""
    text = (REPO / "docs" / "chart-behavior.md").read_text("utf-8")
    assert text.startswith("# Chart behavior: what meshfed emits")
    for internal in ("../", "seed", "the generator", "must emit", "choose what"):
        assert internal not in text, internal
