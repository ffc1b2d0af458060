"""`meshfed diff`: golden diffs of two-commit repositories, and the guarantees around them.

Each `tests/diff/<name>/case.yaml` is a change to the example repository `overlays/`: a temporary
git repository holds `overlays/` as its first commit, and as its second the same files with the
case's `edit:` made (in `file`, the text `old`, which must occur once, becomes `new`), then its
`move:` (old path: new path). The
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
from meshfed.federation.scaffold import scaffold
from meshfed.values.diagnostics import InputError

CASES = REPO / "tests" / "diff"
FEDERATION = "overlays/federation.yaml"
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
    """Make the case's edits in the repository's files, then its moves. The Federation's edits
    come first, followed by the scaffold, as its author runs it (`meshfed check` refuses the parts
    it would leave stale; a Federation with errors keeps the parts it had), then the others."""
    case = yaml.safe_load((case_dir / "case.yaml").read_text())
    edits = case.get("edit") or []
    federation = [edit for edit in edits if edit["file"] == FEDERATION]
    for edit in federation:
        _apply(repo, edit, case_dir.name)
    if federation:
        scaffolded(repo)
    for edit in edits:
        if edit not in federation:
            _apply(repo, edit, case_dir.name)
    for old, new in (case.get("move") or {}).items():
        git(repo, "mv", old, new)


def scaffolded(repo: Path) -> None:
    """The application directories and parts of overlays/ written again after a change of its
    Federation (one with errors keeps the parts it had)."""
    with contextlib.suppress(InputError):
        scaffold(repo / FEDERATION, repo / "overlays", repo)


def _apply(repo: Path, edit: dict, case: str) -> None:
    path = repo / edit["file"]
    text = path.read_text()
    assert text.count(edit["old"]) == 1, f"{case}: {edit['file']} must hold the old text once"
    path.write_text(text.replace(edit["old"], edit["new"]))


def _edit(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A case directory of one edit, for apply_case."""
    case_dir = tmp_path / "edit"
    case_dir.mkdir()
    (case_dir / "case.yaml").write_text(yaml.safe_dump({"edit": [{"file": file, "old": old, "new": new}]}))
    return case_dir


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
    assert set(case) <= {"description", "edit", "move", "exit"} and case["description"].strip()
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
    apply_case(repo, CASES / "added-remote")  # with north's applications, untracked
    git(repo, "stash", "-q", "--include-untracked")
    apply_case(repo, CASES / "removed-export")
    git(repo, "add", "overlays/federation.yaml")
    apply_case(repo, CASES / "changed-port")  # unstaged, in the same file
    shutil.copytree(repo / "overlays" / "east" / "bookinfo", repo / "overlays" / "east" / "untracked")
    shutil.copytree(repo / "overlays" / "east" / "bookinfo", repo / "ignored" / "app")
    before = _state(repo)
    out, err, code = diff(repo)
    assert _state(repo) == before
    assert code == 0, err
    assert "removed ServiceEntry.networking.istio.io bookinfo/ratings-mesh-global" in out  # staged
    assert "changed ServiceEntry.networking.istio.io istio-system/ingress-east-mesh" in out  # unstaged
    assert "overlays/east/untracked (cluster east, new application)" in out  # untracked, not ignored
    assert "ignored/app" not in out and "north" not in out  # ignored, stashed
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
    assert out.splitlines()[-1] == "no differences in 6 applications; 6 skipped, their inputs unchanged"


def test_exit_codes(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    assert diff(repo)[2] == 0 and diff(repo, exit_code=True)[2] == 0
    apply_case(repo, CASES / "changed-port")
    assert diff(repo)[2] == 0
    assert diff(repo, exit_code=True)[2] == 1
    git(repo, "checkout", "-q", "--", ".")
    apply_case(repo, CASES / "broken-head")
    out, err, code = diff(repo)
    assert code == 1 and "overlays/central/mesh" in out and "head work tree: overlays/west/bookinfo" in err
    assert diff(repo, exit_code=True)[2] == 3


def test_a_document_that_does_not_parse_is_reported_in_its_cluster(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    (repo / "overlays" / "east" / "bookinfo" / "bookinfo.yaml").write_text("kind: MeshFederation\nspec: [\n")
    out, err, code = diff(repo)
    assert code == 1
    assert "overlays/east/bookinfo (cluster east, not rendered): 1 error, on stderr" in out
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
    """Objects that leave one cluster for another are removed there and added here, even when
    they share their identities: a rename is only found within a cluster (the same mesh)."""
    repo = init_repo(tmp_path / "repo")
    git(repo, "mv", "overlays/east/bookinfo", "overlays/west/ratings")
    moved = repo / "overlays" / "west" / "ratings" / "bookinfo.yaml"
    moved.write_text(moved.read_text().replace("mesh: east-mesh", "mesh: west-mesh"))
    shutil.copy(repo / "overlays" / "west" / "mesh" / "federation-part.yaml", moved.parent)  # west's part
    out, _, _ = diff(repo)
    assert "overlays/east/bookinfo (cluster east, application removed): 1 removed" in out
    assert "overlays/west/ratings (cluster west, new application): 2 added" in out
    git(repo, "mv", "overlays/west/ratings", "overlays/east/ratings")
    moved = repo / "overlays" / "east" / "ratings" / "bookinfo.yaml"
    moved.write_text(moved.read_text().replace("mesh: west-mesh", "mesh: east-mesh"))
    shutil.copy(repo / "overlays" / "east" / "mesh" / "federation-part.yaml", moved.parent)
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
    apply_case(repo, CASES / "added-remote")  # 6 object diffs (2 in north's new applications)
    full, _, _ = diff(repo, fmt="markdown")
    assert full.count("<details>") == 6 and "left out" not in full
    cut = full.index("</details>\n") + len("</details>\n\n")  # room for the first diff only
    monkeypatch.setattr(report, "COMMENT_LIMIT", cut + report.COMMENT_RESERVE)
    short, _, _ = diff(repo, fmt="markdown")
    assert short.count("<details>") == 1 and short.startswith(full[:cut])
    assert short[cut:] == ("5 more object diffs left out: a pull-request comment holds at most "
                           f"{cut + report.COMMENT_RESERVE:,} characters. `meshfed diff` shows them all.\n")


def test_markdown_quotes_any_text() -> None:
    from meshfed.diff.report import _code, _fence
    assert _code("a|b") == "`a&#124;b`"
    assert _code("x`y") == "``x`y``" and _code("`x") == "`` `x ``"
    assert _fence("```\nz", "diff") == ["````diff", "```\nz", "````"]


def test_the_benchmark_repository_and_its_change_diff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make bench` (the D section) times the diff of a change to the F section's generated
    Federation: the change must render and show."""
    import importlib.util
    import sys
    spec = importlib.util.spec_from_file_location("meshfed_bench_run", REPO / "bench" / "run.py")
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)  # (its dataclasses look their module up)
    spec.loader.exec_module(bench)
    repo = tmp_path / "repo"
    bench.git_repo(repo, lambda p: bench.federation.generate(p, str(MESHFED), 8),
                   lambda p: bench.gateway_port(p / "federation.yaml", p / "clusters"))
    out, err, code = diff(repo, "--base", "HEAD~1", "--head", "HEAD", exit_code=True)
    assert (code, err) == (1, "")
    assert "not rendered" not in out and "changed ServiceEntry.networking.istio.io istio-system/ingress-mesh-00" in out


def test_the_graph_of_a_removed_cluster(tmp_path: Path) -> None:
    """east leaves the Federation: the graph draws east as the base had it, with its edges removed,
    and central's ratings now coming from west alone."""
    repo = init_repo(tmp_path / "repo")
    git(repo, "rm", "-rq", "overlays/east")
    federation = repo / "overlays" / "federation.yaml"
    text = federation.read_text()
    east = text[text.index("  - name: east-mesh\n"):text.index("  - name: west-mesh\n")]
    export = "    - mesh: east-mesh\n      namespace: bookinfo\n      labelSelector:\n        app: ratings\n"
    federation.write_text(text.replace(east, "").replace(export, ""))
    scaffolded(repo)
    out, err, _ = diff(repo, fmt="markdown")
    assert err == ""
    graph = out[out.index("```mermaid"):]
    graph = graph[:graph.index("\n```\n")]
    assert '  subgraph cluster_east["east: mesh east-mesh, network east-network"]' in graph
    edges = [line.strip() for line in graph.splitlines() if any(a in line for a in ("-->", "==>", "-.->"))]
    assert edges == [
        'central_egress -->|"details.mesh.global"| west_ingress',
        'central_egress ==>|"+ ratings.mesh.global"| west_ingress',
        'central_egress -.->|"- ratings.mesh.global (failover)"| west_ingress',
        'central_egress -.->|"- ratings.mesh.global (preferred)"| east_ingress',
        'central_ns_bookinfo -->|"details.mesh.global"| central_egress',
        'central_ns_bookinfo -->|"ratings.mesh.global"| central_egress',
        'east_ingress -.->|"- removed"| east_svc_bookinfo_ratings_mesh_global']


def test_the_graph_follows_a_changed_node_out_of_the_changed_clusters() -> None:
    """A node whose edge into a changed cluster is removed shows where that request goes now,
    though neither it nor the new target is in a changed cluster."""
    from meshfed.federation.graph import Box, Graph, changes, to_mermaid

    def cluster(name: str) -> Box:
        return Box(name, f"{name}-mesh", f"{name}-network")

    central, east = cluster("central"), cluster("east")
    before, after = Graph(clusters=[central, east]), Graph(clusters=[central])
    egress = before.node(("central", "egress"), ["egress"], "gateway", central, (0, 1, ""))
    ingress = before.node(("east", "ingress"), ["ingress"], "gateway", east, (1, 0, ""))
    before.edge(egress, ingress, "ratings")
    after.node(egress, ["egress"], "gateway", central, (0, 1, ""))
    external = after.node(("ext", "east-mesh"), ["mesh east-mesh"], "external", None, (1, 0, "east-mesh"))
    after.edge(egress, external, "ratings")
    g, marks = changes(before, after, {"east"})
    assert marks == {(egress, ingress, "ratings"): "removed", (egress, external, "ratings"): "added"}
    assert to_mermaid(g, marks).splitlines()[-4:] == [
        '  central_egress -.->|"- ratings"| east_ingress',
        '  central_egress ==>|"+ ratings"| ext_east_mesh',
        "  linkStyle 0 stroke:#cf222e,color:#cf222e",
        "  linkStyle 1 stroke:#1a7f37,color:#1a7f37"]


def test_a_revision_s_documents_are_let_go_once_its_view_is_taken(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The diff keeps of a revision's repository only the clusters and the graph (which name
    clusters by Box, not by their documents): no document, with its renders, outlives the read,
    so the renders never run beside two revisions' repositories."""
    import gc
    import weakref

    from meshfed.diff import clusters
    from meshfed.federation.graph import Box

    docs: list[weakref.ref] = []
    load_repo = clusters.load_repo

    def watched(*args: object) -> object:
        repo = load_repo(*args)
        docs.extend(weakref.ref(d) for d in repo.docs)
        return repo

    monkeypatch.setattr(clusters, "load_repo", watched)
    view = clusters.read_federation(init_repo(tmp_path / "repo"), ["."])
    gc.collect()
    assert len(docs) > 5 and not [ref for ref in docs if ref() is not None]
    assert view.clusters["overlays/central/mesh"].name == "central"
    assert {type(n.cluster) for n in view.graph.nodes.values()} <= {Box, type(None)} and view.graph.edges


def test_an_error_at_the_base_names_the_base(tmp_path: Path) -> None:
    """A broken commit being fixed: the error is the base's; the fix still shows as an error (its
    objects cannot be compared), and the exit code says so."""
    repo = init_repo(tmp_path / "repo")
    apply_case(repo, CASES / "broken-head")
    commit(repo, "broken")
    git(repo, "checkout", "-q", "HEAD~1", "--", "overlays/west/bookinfo")
    out, err, code = diff(repo)
    assert code == 1
    assert err.startswith("base HEAD (") and ("): overlays/west/bookinfo/federation-part.yaml: part.mesh: this part "
                                              "is for mesh west-mesh, not nowhere-mesh") in err
    assert "overlays/west/bookinfo (cluster west, not rendered): 1 error, on stderr" in out


def test_symbolic_links_of_a_commit_are_kept(tmp_path: Path) -> None:
    """A base reached through a symbolic link in git resolves in the copy of the commit."""
    repo = init_repo(tmp_path / "repo")
    (repo / "overlays" / "common").symlink_to("base")
    apply_case(repo, _edit(tmp_path, "overlays/federation.yaml", "  - base/mesh.yaml\n", "  - common/mesh.yaml\n"))
    commit(repo, "through a link")
    out, err, code = diff(repo, "--base", "HEAD~1", "--head", "HEAD")
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "no differences in 6 applications"  # the base names another file: rendered


def test_a_revision_reads_its_federation_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every application of overlays/ derives from overlays/federation.yaml: it is read whole once
    per revision for the clusters (and at the head once for the parts' staleness), not once per
    application."""
    from meshfed.values import meshfederation as document
    reads = []
    read_spec = document.Resolver.read_spec

    def counted(self: document.Resolver, doc: dict, name: str, real: Path | None, positions=None,
                part=None) -> object:
        reads.append(name if positions is None else "part")
        return read_spec(self, doc, name, real, positions, part)

    monkeypatch.setattr(document.Resolver, "read_spec", counted)
    repo = init_repo(tmp_path / "repo")
    apply_case(repo, CASES / "changed-port")
    reads.clear()  # the scaffold's
    out, _, code = diff(repo)
    assert code == 0 and "overlays/central/mesh" in out
    # Base and head: the clusters; the head: the parts' staleness. The renders read the parts.
    assert [name for name in reads if name != "part"] == ["overlays/federation.yaml"] * 3


def _script(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHFED_")}
    return subprocess.run([str(MESHFED), "diff", *args], cwd=cwd, env={**env, **GIT_ENV}, capture_output=True,
                          text=True, timeout=120)


def test_the_repository_is_the_one_holding_dir_or_given_by_C(tmp_path: Path) -> None:
    """As git: from outside the repository (here: inside another one), DIR or -C DIR says which."""
    repo = init_repo(tmp_path / "repo")
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    by_dir = _script(other, "--base", "HEAD", str(repo / "overlays"))
    by_c = _script(other, "-C", str(repo), "--base", "HEAD", "overlays")
    by_c_alone = _script(other, "-C", str(repo / "overlays"), "--base", "HEAD")
    assert by_dir.returncode == by_c.returncode == by_c_alone.returncode == 0, by_dir.stderr + by_c.stderr
    assert by_dir.stdout == by_c.stdout == by_c_alone.stdout
    assert "no differences in 6 applications" in by_dir.stdout
    bad = _script(other, "-C", str(tmp_path / "missing"))
    assert bad.returncode == 1 and "-C: not a directory" in bad.stderr and bad.stdout == ""


def test_errors_are_printed_once_and_fixtures_can_be_excluded(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    fixture = repo / "tests" / "fixture"
    fixture.mkdir(parents=True)
    (fixture / "doc.yaml").write_text("apiVersion: meshfed.io/v1alpha1\nkind: MeshFederation\nmetadata: {name: x}\n"
                                      "spec: {scope: mesh}\n")
    commit(repo, "a broken fixture")
    proc = _script(repo, "--base", "HEAD")
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("base HEAD (") and ") and head work tree: tests/fixture/doc.yaml: " \
        "nothing to render" in lines[0], proc.stderr
    assert lines[1] == ("meshfed diff: 1 of 7 applications do not render (1 the same at both revisions: --exclude "
                        "GLOB skips directories that are not applications, such as test fixtures)")
    assert "tests/fixture (cluster -, not rendered): 1 error, on stderr" in proc.stdout
    assert "nothing to render" not in proc.stdout
    for glob in ("tests", "tests/*", "*/fixture"):
        skipped = _script(repo, "--base", "HEAD", "--exclude", "other", "--exclude", glob)
        assert (skipped.returncode, skipped.stderr) == (0, ""), glob
        assert "no differences in 6 applications" in skipped.stdout


def _renders(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, bool]]:
    """Every render `meshfed diff` asks for: (revision, application, whether its objects are built)."""
    import meshfed.diff as diff_package

    calls: list[tuple[str, str, bool]] = []
    real = diff_package.render_app

    def recorded(tree: Path, app, federations, objects: bool = True, head: bool = False):
        calls.append((tree.name, app.path, objects))
        return real(tree, app, federations, objects, head)

    monkeypatch.setattr(diff_package, "render_app", recorded)
    return calls


@pytest.mark.parametrize("file, old, new, rendered", [
    # east's gateway port: only central, which imports from east, reads it
    ("overlays/federation.yaml", "- 192.0.2.10\n      port: 15443", "- 192.0.2.10\n      port: 15444",
     {"overlays/central/mesh", "overlays/central/bookinfo"}),
    # the base every mesh shares: every application
    ("overlays/base/mesh.yaml", "configNamespace: istio-system", "configNamespace: istio-config",
     {f"overlays/{c}/{t}" for c in ("central", "east", "west") for t in ("mesh", "bookinfo")}),
    # one application's own values: that application
    ("overlays/central/bookinfo/bookinfo.yaml", "    part: federation-part.yaml\n",
     "    part: federation-part.yaml\n  values: {global: {configNamespace: istio-config}}\n",
     {"overlays/central/bookinfo"}),
    # what no render reads (a label of the document): none
    ("overlays/central/bookinfo/bookinfo.yaml", "  name: bookinfo\n", "  name: bookinfo\n  labels: {team: a}\n", set()),
])
def test_diff_renders_only_the_applications_whose_inputs_changed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file: str, old: str, new: str, rendered: set[str]) -> None:
    repo = init_repo(tmp_path / "repo")
    text = (repo / file).read_text()
    assert text.count(old) == 1, f"{file} must hold the old text once"
    (repo / file).write_text(text.replace(old, new))
    if file == FEDERATION:
        scaffolded(repo)
    commit(repo, "change")
    calls = _renders(monkeypatch)
    out, err, code = diff(repo, "--base", "HEAD~1", "--head", "HEAD", fmt="json")
    assert code == 0, err
    full = {(side, path) for side, path, objects in calls if objects}
    assert full == {(side, path) for side in ("base", "head") for path in rendered}
    # The others are only asked whether they render, once, at the head.
    checked = [(side, path) for side, path, objects in calls if not objects]
    assert sorted(checked) == sorted(("head", p) for p in
                                     {f"overlays/{c}/{t}" for c in ("central", "east", "west")
                                      for t in ("mesh", "bookinfo")} - rendered)
    summary = json.loads(out)["summary"]
    assert summary["applications"] == 6 and summary["skipped"] == 6 - len(rendered)


def test_each_application_is_read_once_per_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What decides whether an application is rendered (its digest) is what it is rendered from:
    its documents are read once at each revision, whether it is rendered whole, only asked whether
    it renders, or found stale."""
    import meshfed.diff.apps as apps

    repo = init_repo(tmp_path / "repo")
    _apply(repo, {"file": FEDERATION, "old": "- 192.0.2.10\n", "new": "- 192.0.2.12\n"}, "stale")
    (repo / "overlays/west/bookinfo/bookinfo.yaml").write_text(
        (repo / "overlays/west/bookinfo/bookinfo.yaml").read_text() + "  values: {global: {configNamespace: x}}\n")
    commit(repo, "stale parts, one changed application")
    reads: list[tuple[str, str]] = []
    real = apps.read_inputs

    def counted(paths, documents, **kwargs):
        reads.append((Path(os.getcwd()).name, ([*map(str, paths)] or [d.source for d in documents])[0]))
        return real(paths, documents, **kwargs)

    monkeypatch.setattr(apps, "read_inputs", counted)
    calls = _renders(monkeypatch)
    out, err, code = diff(repo, "--base", "HEAD~1", "--head", "HEAD")
    assert code == 1 and "stale part" in err and "3 skipped" in out
    assert {(side, path) for side, path, objects in calls if objects} == {
        ("base", "overlays/west/bookinfo"), ("head", "overlays/west/bookinfo"),
        ("base", "overlays/central/bookinfo"), ("head", "overlays/central/bookinfo"),
        ("base", "overlays/central/mesh"), ("head", "overlays/central/mesh")}
    assert sorted(reads) == sorted({*reads}) and len(reads) == 12, reads


@pytest.mark.parametrize("bases", [True, False], ids=["with-bases", "without-bases"])
def test_a_part_the_change_leaves_as_it_was_is_checked_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bases: bool) -> None:
    """The applications' renders parse and check a part (schema, digest) once for both revisions
    when its text is the same at both, and at each revision when it differs; a part that names no
    base is also read into the Federation it stands for once, while one that names bases is read
    at each revision, whose bases may differ."""
    import meshfed.diff.apps as apps
    from meshfed.values import federation_part, federation_spec

    repo = init_repo(tmp_path / "repo")
    if not bases:  # the base's values said in the Federation itself
        values = "".join(f"    {line}\n" for line in (repo / "overlays/base/mesh.yaml").read_text().splitlines()
                         if line.strip() and not line.lstrip().startswith("#"))
        _apply(repo, {"file": FEDERATION, "old": "  base:\n  - base/mesh.yaml\n", "new": f"  values:\n{values}"},
               "inline")
        scaffolded(repo)
        commit(repo, "no base")
    apply_case(repo, _edit(tmp_path, FEDERATION, "- 192.0.2.10\n", "- 192.0.2.12\n"))
    commit(repo, "east's gateway address: the part of central's applications")
    loads: list[str] = []
    reads: list[str] = []
    reading = []
    real_load, real_spec, real_read = federation_part.load, federation_spec.read, apps.read_inputs

    def load(docs, name, *args):
        if reading:  # an application's read, not the clusters' and graph's
            loads.append(name)
        return real_load(docs, name, *args)

    def read_spec(doc, source, *args):
        if reading:
            reads.append(args[-1])  # the part's file
        return real_spec(doc, source, *args)

    def read_inputs(*args, **kwargs):
        reading.append(True)
        try:
            return real_read(*args, **kwargs)
        finally:
            reading.pop()

    monkeypatch.setattr(federation_part, "load", load)
    monkeypatch.setattr(federation_spec, "read", read_spec)
    monkeypatch.setattr(apps, "read_inputs", read_inputs)
    out, err, code = diff(repo, "--base", "HEAD~1", "--head", "HEAD", fmt="json")
    assert code == 0, err
    # A mesh's applications share one part text: each is read once per revision, and checked once
    # for both unless the change rewrote it.
    once = [*["overlays/central/bookinfo/federation-part.yaml"] * 2,
            "overlays/east/bookinfo/federation-part.yaml", "overlays/west/bookinfo/federation-part.yaml"]
    assert sorted(loads) == once
    assert sorted(reads) == (sorted(once + once[2:]) if bases else once)
    summary = json.loads(out)["summary"]
    assert summary["skipped"] == 4 and summary["applications"] == 6
    assert [(d["path"], d["status"]) for d in json.loads(out)["applications"]] == [("overlays/central/mesh", "changed")]


def test_an_application_that_fails_with_unchanged_inputs_is_still_reported(tmp_path: Path) -> None:
    """Skipping never hides an error: the same broken inputs at both revisions are reported."""
    repo = init_repo(tmp_path / "repo")
    mesh = repo / "overlays" / "west" / "mesh" / "mesh.yaml"
    mesh.write_text(mesh.read_text() + "  values: {global: {configNamespace: Not-A-Label}}\n")
    commit(repo, "broken")
    (repo / "overlays" / "README.md").write_text("changed\n")
    commit(repo, "unrelated")
    out, err, code = diff(repo, "--base", "HEAD~1", "--head", "HEAD")
    assert code == 1
    assert "overlays/west/mesh" in out and "configNamespace" in err
    assert "5 skipped" in out.splitlines()[-1]


def test_a_part_the_change_leaves_stale_is_an_error_at_the_head(tmp_path: Path) -> None:
    """The Federation edited without the scaffold run again: its renders read the parts, which
    still render the old values, so each application whose part the edit changes is an error at
    the head (the base, whose parts were current, is not)."""
    repo = init_repo(tmp_path / "repo")
    _apply(repo, {"file": FEDERATION, "old": "- 192.0.2.10\n", "new": "- 192.0.2.12\n"}, "stale")
    out, err, code = diff(repo)
    assert code == 1
    assert err.splitlines() == [
        f"head work tree: overlays/{app}/federation-part.yaml: stale part of the application overlays/{app}/{doc}.yaml: "
        "the Federation's spec.meshes[1].gateway.addresses[0] differs from this part; run `meshfed federation "
        "scaffold overlays/federation.yaml --out overlays` to write it again"
        for app, doc in [("central/bookinfo", "bookinfo"), ("central/mesh", "mesh")]] + [
        "meshfed diff: 2 of 6 applications do not render"]
    assert "base" not in err
    scaffolded(repo)
    out, err, code = diff(repo)
    assert (code, err) == (0, "") and "192.0.2.12" in out
