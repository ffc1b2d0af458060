"""The pre-commit hooks of .pre-commit-hooks.yaml: `meshfed validate --each`, which
meshfed-validate runs on the changed files, and the real pre-commit (from PyPI) installing both
hooks from a clone of this checkout, configured as docs/ci.md shows, and guarding commits to a
temporary GitOps repository."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import MESHFED, REPO, UNEXPORTED_IMPORT, add_unexported_import, source_copy

PRE_COMMIT = Path(sys.executable).with_name("pre-commit")
BROKEN = 'overlays/east/mesh/mesh.yaml: spec.scope: must be one of mesh, namespace, all, got "cluster"'


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def _overlays(dest: Path) -> Path:
    """A GitOps repository holding a copy of overlays/ (documents, values files, kustomizations): a
    git work tree, as pre-commit runs in one (it is the root the documents' paths may not leave)."""
    shutil.copytree(REPO / "overlays", dest / "overlays")
    subprocess.run(["git", "init", "-q", str(dest)], check=True)
    return dest


def _break(repo: Path) -> None:
    """An error the document alone shows (a scope that does not exist)."""
    doc = repo / "overlays/east/mesh/mesh.yaml"
    text = doc.read_text()
    assert "  scope: mesh\n" in text
    doc.write_text(text.replace("  scope: mesh\n", "  scope: cluster\n"))


# --------------------------------------------------------------------------------------------
# meshfed validate --each


def test_each_validates_documents_one_by_one_and_skips_other_yaml(tmp_path: Path) -> None:
    files = sorted(str(p.relative_to(tmp_path)) for p in _overlays(tmp_path).rglob("*.yaml"))
    together = _run([str(MESHFED), "validate", *files], tmp_path)
    assert together.returncode == 1  # named files must be documents
    assert "overlays/base/mesh.yaml: document 0 is not a MeshFederation" in together.stderr
    documents = [f for f in files if f.endswith(("/mesh/mesh.yaml", "/bookinfo.yaml"))]
    together = _run([str(MESHFED), "validate", *documents], tmp_path)
    assert together.returncode == 1  # one application: the clusters' objects collide
    assert "Gateway.networking.istio.io istio-system/cross-network-gateway is emitted twice" in together.stderr

    each = _run([str(MESHFED), "validate", "--each", *files], tmp_path)
    assert (each.returncode, each.stdout) == (0, "")
    assert each.stderr.splitlines() == [
        "overlays/base/mesh.yaml: skipped: no MeshFederation document",
        "overlays/central/bookinfo/bookinfo.yaml: valid: 5 resources, 0 warnings",
        "overlays/central/bookinfo/federation-part.yaml: skipped: no MeshFederation document",
        "overlays/central/bookinfo/kustomization.yaml: skipped: no MeshFederation document",
        "overlays/central/mesh/federation-part.yaml: skipped: no MeshFederation document",
        "overlays/central/mesh/kustomization.yaml: skipped: no MeshFederation document",
        "overlays/central/mesh/mesh.yaml: valid: 11 resources, 0 warnings",
        "overlays/east/bookinfo/bookinfo.yaml: valid: 1 resources, 0 warnings",
        "overlays/east/bookinfo/federation-part.yaml: skipped: no MeshFederation document",
        "overlays/east/bookinfo/kustomization.yaml: skipped: no MeshFederation document",
        "overlays/east/mesh/federation-part.yaml: skipped: no MeshFederation document",
        "overlays/east/mesh/kustomization.yaml: skipped: no MeshFederation document",
        "overlays/east/mesh/mesh.yaml: valid: 1 resources, 0 warnings",
        "overlays/federation.yaml: skipped: no MeshFederation document",
        "overlays/west/bookinfo/bookinfo.yaml: valid: 2 resources, 0 warnings",
        "overlays/west/bookinfo/federation-part.yaml: skipped: no MeshFederation document",
        "overlays/west/bookinfo/kustomization.yaml: skipped: no MeshFederation document",
        "overlays/west/mesh/federation-part.yaml: skipped: no MeshFederation document",
        "overlays/west/mesh/kustomization.yaml: skipped: no MeshFederation document",
        "overlays/west/mesh/mesh.yaml: valid: 1 resources, 0 warnings",
    ]


def test_each_reports_a_broken_document_and_still_validates_the_others(tmp_path: Path) -> None:
    _break(_overlays(tmp_path))
    files = ["overlays/east/mesh/mesh.yaml", "overlays/west/mesh/mesh.yaml"]
    run = _run([str(MESHFED), "validate", "--each", *files], tmp_path)
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr.splitlines() == [BROKEN, "overlays/west/mesh/mesh.yaml: valid: 1 resources, 0 warnings"]


def test_each_reports_unparsable_files_only_when_they_mention_meshfederation(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text("metadata:\n  name: {{ .Release.Name }}\n")  # a Helm template
    (tmp_path / "broken.yaml").write_text("kind: MeshFederation\nspec: [\n")
    run = _run([str(MESHFED), "validate", "--each", "template.yaml", "broken.yaml"], tmp_path)
    assert run.returncode == 1
    assert run.stderr.splitlines()[0] == "template.yaml: skipped: no MeshFederation document"
    assert run.stderr.splitlines()[1].startswith("broken.yaml: invalid YAML")


def test_each_takes_a_directory_as_one_application(tmp_path: Path) -> None:
    _overlays(tmp_path)
    run = _run([str(MESHFED), "validate", "--each", "overlays/east/mesh", "overlays/west/mesh"], tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines() == ["overlays/east/mesh: valid: 1 resources, 0 warnings",
                                       "overlays/west/mesh: valid: 1 resources, 0 warnings"]


# --------------------------------------------------------------------------------------------
# The real pre-commit


def test_the_hooks_are_declared_for_pre_commit() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert sorted(hooks) == ["meshfed-check", "meshfed-validate"]
    assert hooks["meshfed-validate"]["entry"] == "meshfed validate --each"
    assert hooks["meshfed-validate"].get("pass_filenames", True) is True
    assert hooks["meshfed-check"]["pass_filenames"] is False
    assert all(h["language"] == "python" for h in hooks.values())


def _git(repo: Path, *args: str, env: dict[str, str]) -> str:
    run = _run(["git", *args], repo, env)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def _documented_config(hooks: Path, rev: str) -> str:
    """The .pre-commit-config.yaml that docs/ci.md shows, with the clone as its repository."""
    block = re.search(r"```yaml\n(repos:\n.*?)```", (REPO / "docs" / "ci.md").read_text(), re.S)
    assert block, "docs/ci.md shows no .pre-commit-config.yaml"
    config = yaml.safe_load(block.group(1))
    [entry] = config["repos"]
    assert [h["id"] for h in entry["hooks"]] == ["meshfed-validate", "meshfed-check"]
    entry.update(repo=str(hooks), rev=rev)
    return yaml.safe_dump(config)


def test_pre_commit_blocks_bad_documents_and_passes_good_ones(tmp_path: Path) -> None:
    # Git and pre-commit see only what the test sets: no global hooksPath, a fresh hook cache.
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": str(config), "GIT_CONFIG_NOSYSTEM": "1",
           "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}

    # The hook repository: this checkout, committed, as pre-commit clones it from a URL.
    hooks = source_copy(tmp_path / "meshfed")
    _git(hooks, "init", "-q", env=env)
    _git(hooks, "add", "-A", env=env)
    _git(hooks, "commit", "-q", "-m", "meshfed", env=env)
    rev = _git(hooks, "rev-parse", "HEAD", env=env)

    gitops = _overlays(tmp_path / "gitops")
    (gitops / ".pre-commit-config.yaml").write_text(_documented_config(hooks, rev))
    _git(gitops, "init", "-q", env=env)
    installed = _run([str(PRE_COMMIT), "install"], gitops, env)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    def commit(message: str) -> tuple[int, str]:
        """git commit's exit code, and what the hooks printed (git sends it to stderr)."""
        _git(gitops, "add", "-A", env=env)
        run = _run(["git", "commit", "-m", message], gitops, env)
        return run.returncode, run.stderr

    code, out = commit("the example federation")  # installs the hooks' environment with pip
    assert code == 0, out
    assert _results(out) == {"meshfed validate": "Passed", "meshfed check": "Passed"}

    _break(gitops)
    code, out = commit("a scope that does not exist")
    assert code == 1
    assert _results(out) == {"meshfed validate": "Failed", "meshfed check": "Failed"}
    assert BROKEN in out.splitlines()
    assert _git(gitops, "log", "--format=%s", env=env) == "the example federation"  # no commit made

    _git(gitops, "reset", "-q", "--hard", env=env)
    add_unexported_import(gitops)
    code, out = commit("north imports reviews")
    assert code == 1
    assert _results(out) == {"meshfed validate": "Passed", "meshfed check": "Failed"}
    assert UNEXPORTED_IMPORT in out
    assert _git(gitops, "log", "--format=%s", env=env) == "the example federation"


def _results(out: str) -> dict[str, str]:
    """pre-commit's status line of each hook: `meshfed check.......Passed`."""
    return {line.partition(".")[0]: line.rpartition(".")[2] for line in out.splitlines()
            if line.startswith("meshfed ") and "..." in line}
