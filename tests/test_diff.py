"""`meshfed diff`: golden diffs of two-commit repositories, and the guarantees around them.

Each `tests/diff/<name>/` is a change to the example repository `overlays/`: a temporary git
repository holds `overlays/` as its first commit, and as its second the same files with
`after/` written over them, then the `move:` of case.yaml applied (old path: new path). The
outputs of `meshfed diff --base HEAD~1 --head HEAD` are the golden files `expected.txt`,
`expected.md` and `expected.json` (stdout of `-o text`, `-o markdown`, `-o json`; the commits'
ids replaced by `<base>` and `<head>`) and `expected.err` (stderr, the same for every format);
the exit code is case.yaml's `exit` (default 0). Rewrite them with

    MESHFED_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_diff.py
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from conftest import MESHFED, REPO
from meshfed.diff import run

CASES = REPO / "tests" / "diff"
UPDATE = os.environ.get("MESHFED_UPDATE_GOLDEN", "")
OUTPUTS = {"text": "expected.txt", "markdown": "expected.md", "json": "expected.json"}
# Fixed identities and dates: the same content always makes the same commits.
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
           "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_CONFIG_NOSYSTEM": "1"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, check=True,
                          capture_output=True, text=True).stdout


def init_repo(path: Path) -> Path:
    """A git repository whose first commit holds the example `overlays/`."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "overlays", path / "overlays")
    git(path, "init", "-q", "-b", "main")
    commit(path, "base")
    return path


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "--all")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def apply_case(repo: Path, case_dir: Path) -> None:
    """Write the case's `after/` files over the repository, then make its moves."""
    after = case_dir / "after"
    if after.is_dir():
        shutil.copytree(after, repo, dirs_exist_ok=True)
    case = yaml.safe_load((case_dir / "case.yaml").read_text())
    for old, new in (case.get("move") or {}).items():
        git(repo, "mv", old, new)


def diff(repo: Path, *args: str, fmt: str = "text", colour: bool = False, exit_code: bool = False,
         dirs: tuple[str, ...] = ()) -> tuple[str, str, int]:
    """`meshfed diff` in this process (the CLI is tested below with the console script)."""
    base = args[args.index("--base") + 1] if "--base" in args else None
    head = args[args.index("--head") + 1] if "--head" in args else None
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(repo):
        code = run([Path(d) for d in dirs], base, head, fmt, colour, exit_code, out, err)
    return out.getvalue(), err.getvalue(), code


def _cases() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if (p / "case.yaml").is_file())


@pytest.mark.parametrize("case_dir", _cases(), ids=lambda p: p.name)
def test_golden_diff(case_dir: Path, tmp_path: Path) -> None:
    case = yaml.safe_load((case_dir / "case.yaml").read_text())
    assert set(case) <= {"description", "move", "exit"} and case["description"].strip()
    repo = init_repo(tmp_path / "repo")
    base = git(repo, "rev-parse", "HEAD").strip()
    apply_case(repo, case_dir)
    head = commit(repo, "head")
    errs = set()

    def normalised(text: str) -> str:
        for commit_id, shown in ((base, "<base>"), (head, "<head>"), (base[:7], "<base>"), (head[:7], "<head>")):
            text = text.replace(commit_id, shown)
        return text

    for fmt, name in OUTPUTS.items():
        out, err, code = diff(repo, "--base", "HEAD~1", "--head", "HEAD", fmt=fmt)
        out = normalised(out)
        err = err.replace(base[:7], "<base>").replace(head[:7], "<head>")
        assert "Traceback" not in err
        assert code == case.get("exit", 0), err
        if UPDATE:
            (case_dir / name).write_text(out)
            (case_dir / "expected.err").write_text(err)
        assert out == (case_dir / name).read_text(), f"{fmt} output differs"
        errs.add(err)
        if fmt == "json":
            json.loads(out)
    assert errs == {(case_dir / "expected.err").read_text()}
    # The console script, with another hash seed: the same bytes (determinism).
    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    proc = subprocess.run([str(MESHFED), "diff", "--base", "HEAD~1", "--head", "HEAD", "-o", "markdown"], cwd=repo,
                          capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": seed})
    assert (normalised(proc.stdout), proc.returncode) == ((case_dir / "expected.md").read_text(), case.get("exit", 0))


def test_the_same_change_in_the_work_tree_gives_the_same_diff(tmp_path: Path) -> None:
    """The default head is the work tree: uncommitted, the change diffs as it does committed."""
    repo = init_repo(tmp_path / "repo")
    apply_case(repo, CASES / "removed-export")
    uncommitted, _, code = diff(repo)
    assert code == 0
    commit(repo, "head")
    committed, _, _ = diff(repo, "--base", "HEAD~1", "--head", "HEAD")
    strip = [line for line in committed.splitlines()[1:]]
    assert uncommitted.splitlines()[0].endswith("head work tree")
    assert uncommitted.splitlines()[1:] == strip


def _state(repo: Path) -> dict[str, object]:
    """Everything of the user's a diff must leave alone: status, stash, index, every file."""
    files = {p.relative_to(repo).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in repo.rglob("*") if p.is_file() and ".git" not in p.relative_to(repo).parts}
    return {"status": git(repo, "status", "--porcelain=v1", "--untracked-files=all", "--ignored"),
            "stash": git(repo, "stash", "list"), "index": (repo / ".git" / "index").read_bytes(),
            "refs": git(repo, "for-each-ref"), "worktrees": git(repo, "worktree", "list"), "files": files}


def test_work_tree_index_and_stash_are_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the revisions are copied to
    repo = init_repo(tmp_path / "repo")
    (repo / ".gitignore").write_text("ignored/\n")
    commit(repo, "ignore")
    # A stash entry, a staged change, an unstaged one, an untracked app and an ignored one.
    mesh = repo / "overlays" / "east" / "mesh" / "mesh.yaml"
    mesh.write_text(mesh.read_text().replace("ratings.mesh.global", "stashed.mesh.global"))
    git(repo, "stash", "-q")
    staged = repo / "overlays" / "west" / "mesh" / "mesh.yaml"
    staged.write_text(staged.read_text().replace("        - hostname: details.mesh.global\n", ""))
    git(repo, "add", str(staged))
    unstaged = repo / "overlays" / "central" / "mesh" / "mesh.yaml"
    unstaged.write_text(unstaged.read_text().replace("port: 15443", "port: 15444", 1))
    shutil.copytree(repo / "overlays" / "east" / "bookinfo", repo / "overlays" / "east" / "untracked")
    shutil.copytree(repo / "overlays" / "east" / "bookinfo", repo / "ignored" / "app")
    before = _state(repo)
    out, err, code = diff(repo)
    assert _state(repo) == before
    assert code == 0, err
    assert "overlays/west/mesh (cluster west, changed)" in out  # staged
    assert "overlays/central/mesh (cluster central, changed)" in out  # unstaged
    assert "overlays/east/untracked (cluster east, new application)" in out  # untracked, not ignored
    assert "ignored/app" not in out and "stashed" not in out
    assert not list(scratch.iterdir())  # the copies are removed


def test_default_base_is_the_merge_base_with_upstream(tmp_path: Path) -> None:
    upstream = init_repo(tmp_path / "upstream")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(upstream), str(clone))
    git(clone, "checkout", "-q", "-b", "feature", "--track", "origin/main")
    apply_case(clone, CASES / "changed-port")
    commit(clone, "feature")
    # upstream moves on with a change of its own: not part of this branch's diff
    apply_case(upstream, CASES / "removed-export")
    commit(upstream, "elsewhere")
    git(clone, "fetch", "-q")
    merge_base = git(clone, "merge-base", "HEAD", "@{upstream}").strip()
    out, _, _ = diff(clone, "--head", "HEAD")
    head = git(clone, "rev-parse", "--short=7", "HEAD").strip()
    assert out.splitlines()[0] == (f"meshfed diff: base merge base with origin/main ({merge_base[:7]}), "
                                   f"head HEAD ({head})")
    assert "overlays/central/mesh" in out and "overlays/west" not in out
    git(clone, "branch", "-q", "--unset-upstream")
    out, _, _ = diff(clone)  # no upstream: HEAD against the work tree, which holds no change
    assert out.splitlines()[-1] == "no differences in 6 applications"


def test_exit_codes(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    assert diff(repo)[2] == 0 and diff(repo, exit_code=True)[2] == 0
    apply_case(repo, CASES / "changed-port")
    assert diff(repo)[2] == 0
    assert diff(repo, exit_code=True)[2] == 1
    apply_case(repo, CASES / "broken-head")
    out, err, code = diff(repo)
    assert code == 1 and "overlays/central/mesh" in out and "head work tree: overlays/west/bookinfo" in err
    assert diff(repo, exit_code=True)[2] == 3


def test_a_document_that_does_not_parse_is_reported_in_its_cluster(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    (repo / "overlays" / "east" / "bookinfo" / "bookinfo.yaml").write_text("kind: MeshFederation\nspec: [\n")
    out, err, code = diff(repo)
    assert code == 1
    assert "overlays/east/bookinfo (cluster east, not rendered): see the errors" in out
    assert err.startswith("head work tree: overlays/east/bookinfo/bookinfo.yaml: invalid YAML: line 3")


def test_git_problems_are_errors_with_nothing_on_stdout(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    for args, dirs, message in (
            (("--base", "no-such-ref"), (), "meshfed diff: not a commit of this repository: no-such-ref "
                                            "(in a shallow or single-branch clone, fetch it first)\n"),
            ((), ("../elsewhere",), "not inside the git repository"),
            ((), ("nowhere",), "no such directory at base HEAD")):
        out, err, code = diff(repo, *args, dirs=dirs)
        assert (out, code) == ("", 1) and message in err
    out, err, code = diff(tmp_path)  # not a repository at all
    assert (out, code) == ("", 1) and "meshfed diff: git rev-parse: fatal: not a git repository" in err


def test_only_the_given_directories_are_compared(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    apply_case(repo, CASES / "removed-export")  # west's mesh and bookinfo
    out, _, _ = diff(repo, dirs=("overlays/west/bookinfo", "overlays/east"))
    assert [line.split(" ")[0] for line in out.splitlines() if line.startswith("overlays/")] == [
        "overlays/west/bookinfo"]
    assert out.splitlines()[-1].startswith("1 of 3 applications differ")


def test_kustomize_generators_are_applications(tmp_path: Path) -> None:
    """A kustomization whose generator is meshfed's KRM function is an application too (the Argo
    CD plugin skips it); a directory that is both is rendered once."""
    repo = init_repo(tmp_path / "repo")
    shutil.copytree(REPO / "kustomize" / "examples", repo / "kustomize" / "examples")
    commit(repo, "examples")
    doc = repo / "kustomize" / "examples" / "exec-function" / "meshfederation.yaml"
    doc.write_text(doc.read_text().replace("198.51.100.10", "198.51.100.99"))
    out, err, code = diff(repo)
    assert code == 0, err
    assert "kustomize/examples/exec-function (cluster -, changed): 1 changed" in out
    assert out.splitlines()[-1].startswith("1 of 8 applications differ")


def test_a_directory_moved_to_another_cluster_is_not_a_rename(tmp_path: Path) -> None:
    """Objects that leave one cluster for another are removed there and added here, whatever
    their names: a rename is only found within a cluster."""
    repo = init_repo(tmp_path / "repo")
    git(repo, "mv", "overlays/east/bookinfo", "overlays/west/ratings")  # the same objects, now in west
    out, _, _ = diff(repo)
    assert "overlays/east/bookinfo (cluster east, application removed): 1 removed" in out
    assert "overlays/west/ratings (cluster west, new application): 1 added" in out
    git(repo, "mv", "overlays/west/ratings", "overlays/east/ratings")
    out, _, _ = diff(repo)
    assert "overlays/east/ratings (cluster east, renamed from overlays/east/bookinfo): no object differs" in out


def test_colour(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    apply_case(repo, CASES / "changed-port")
    plain, _, _ = diff(repo)
    coloured, _, _ = diff(repo, colour=True)
    assert "\033[" not in plain
    assert "\033[32m+  - number: 15444\033[0m" in coloured
    assert "\033[31m-  - number: 15443\033[0m" in coloured


def test_console_script(tmp_path: Path) -> None:
    """The typer command: its options reach the diff, `--help` documents the exit codes."""
    repo = init_repo(tmp_path / "repo")
    apply_case(repo, CASES / "changed-port")
    env = {**os.environ, "NO_COLOR": ""}
    proc = subprocess.run([str(MESHFED), "diff", "-o", "json", "--exit-code", "--color", "always", "overlays/central"],
                          cwd=repo, capture_output=True, text=True, env=env)
    assert proc.returncode == 1, proc.stderr
    assert [a["path"] for a in json.loads(proc.stdout)["applications"]] == ["overlays/central/mesh"]
    proc = subprocess.run([str(MESHFED), "diff", "--color", "always"], cwd=repo, capture_output=True, text=True)
    assert "\033[" in proc.stdout
    proc = subprocess.run([str(MESHFED), "diff", "--help"], capture_output=True, text=True,
                          env={**env, "COLUMNS": "200"})
    assert proc.returncode == 0 and "--exit-code" in proc.stdout and "3 (errors)" in proc.stdout


def test_markdown_fits_a_pull_request_comment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Object diffs past the comment limit are left out, in order, and counted; the summary stays."""
    from meshfed.diff import report
    repo = init_repo(tmp_path / "repo")
    apply_case(repo, CASES / "added-remote")  # 4 object diffs
    full, _, _ = diff(repo, fmt="markdown")
    assert full.count("<details>") == 4 and "left out" not in full
    cut = full.index("</details>\n") + len("</details>\n\n")  # room for the first diff only
    monkeypatch.setattr(report, "COMMENT_LIMIT", cut + report.COMMENT_RESERVE)
    short, _, _ = diff(repo, fmt="markdown")
    assert short.count("<details>") == 1 and short.startswith(full[:cut])
    assert short[cut:] == ("3 more object diffs left out: a pull-request comment holds at most "
                           f"{cut + report.COMMENT_RESERVE:,} characters. `meshfed diff` shows them all.\n")


def test_markdown_quotes_any_text() -> None:
    from meshfed.diff.report import _code, _fence
    assert _code("a|b") == "`a&#124;b`"
    assert _code("x`y") == "``x`y``" and _code("`x") == "`` `x ``"
    assert _fence("```\nz", "diff") == ["````diff", "```\nz", "````"]


def test_the_benchmark_federation_is_valid_and_its_change_diffs(tmp_path: Path) -> None:
    """`make bench` times the diff of bench/diffrepo.py's repository: it must be a federation that
    `meshfed check` accepts, and its change must show in the diff."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("diffrepo", REPO / "bench" / "diffrepo.py")
    diffrepo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(diffrepo)
    repo = tmp_path / "repo"
    diffrepo.federation_repo(repo, 5)
    git(repo, "init", "-q")
    commit(repo, "base")
    check = subprocess.run([str(MESHFED), "check", "overlays/"], cwd=repo, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    diffrepo.change(repo)
    out, err, code = diff(repo, exit_code=True)
    assert code == 1, err
    assert out.splitlines()[-1] == "1 of 10 applications differ: 0 objects added, 0 removed, 3 changed"


def test_the_graph_of_a_removed_cluster_shows_where_its_requests_go_now(tmp_path: Path) -> None:
    """east is gone; central, whose objects do not change, still lists east-mesh as a remote: the
    graph draws east as the base had it, its edges removed, and central's request for ratings
    now going to a mesh outside the repository."""
    repo = init_repo(tmp_path / "repo")
    git(repo, "rm", "-rq", "overlays/east")
    out, _, _ = diff(repo, fmt="markdown")
    graph = out[out.index("```mermaid"):]
    graph = graph[:graph.index("\n```\n")]
    assert '  subgraph cluster_east["east: mesh east-mesh, network east-network"]' in graph
    assert "cluster_west" not in graph
    edges = [line.strip() for line in graph.splitlines() if any(a in line for a in ("-->", "==>", "-.->"))]
    assert edges == [
        'central_egress -.->|"- ratings.mesh.global (weight 50)"| east_ingress',
        'central_egress ==>|"+ ratings.mesh.global (weight 50)"| ext_east_mesh',
        'east_ingress -.->|"- removed"| east_svc_bookinfo_ratings_mesh_global']


def test_an_error_at_the_base_names_the_base(tmp_path: Path) -> None:
    """A broken commit being fixed: the error is the base's; the fix still shows as an error (its
    objects cannot be compared), and the exit code says so."""
    repo = init_repo(tmp_path / "repo")
    apply_case(repo, CASES / "broken-head")
    commit(repo, "broken")
    git(repo, "checkout", "-q", "HEAD~1", "--", "overlays/west/bookinfo")
    out, err, code = diff(repo)
    assert code == 1
    assert err.startswith("base HEAD (") and "): overlays/west/bookinfo/bookinfo.yaml: spec.values.export[0]" in err
    assert "overlays/west/bookinfo (cluster west, not rendered): see the errors" in out


def test_symbolic_links_of_a_commit_are_kept(tmp_path: Path) -> None:
    """A base reached through a symbolic link in git resolves in the copy of the commit."""
    repo = init_repo(tmp_path / "repo")
    (repo / "overlays" / "common").symlink_to("base")
    for cluster in ("central", "east", "west"):
        mesh = repo / "overlays" / cluster / "mesh" / "mesh.yaml"
        mesh.write_text(mesh.read_text().replace("../../base/mesh.yaml", "../../common/mesh.yaml"))
    commit(repo, "through a link")
    out, err, code = diff(repo, "--base", "HEAD~1", "--head", "HEAD")
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "no differences in 6 applications"
