"""The CI recipe of docs/ci.md, as far as it can run here: the example GitHub Actions workflow
parses (as GitHub reads YAML: `on` is a key, not a boolean) with the structure the document
describes, and the meshfed commands of its steps, taken from the file, run against a temporary
clone of a GitOps repository holding overlays/, on a pull-request branch."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import MESHFED, REPO, UNEXPORTED_IMPORT, add_unexported_import

WORKFLOW = REPO / "docs" / "examples" / "github-workflow.yaml"
BASE = "main"
# The expressions the meshfed steps use, as GitHub fills them in for a pull request into BASE.
EXPRESSIONS = {"${{ github.base_ref }}": BASE}


def _workflow() -> dict:
    return yaml.load(WORKFLOW.read_text(), Loader=yaml.BaseLoader)  # every scalar a string, as in Actions


def _jobs() -> tuple[dict, dict]:
    """The job that checks out and runs the pull request, and the one that comments."""
    jobs = _workflow()["jobs"]
    assert set(jobs) == {"review", "comment"}
    return jobs["review"], jobs["comment"]


def _steps() -> list[dict]:
    return _jobs()[0]["steps"]


def _step(command: str) -> dict:
    """The one step whose script is a `meshfed COMMAND` line."""
    [step] = [s for s in _steps() if s.get("run", "").startswith(f"meshfed {command} ")]
    return step


def _script(command: str) -> str:
    """The step's script with GitHub's expressions filled in (every one of them known here)."""
    script = _step(command)["run"]
    for expression, value in EXPRESSIONS.items():
        script = script.replace(expression, value)
    assert "${{" not in script, script
    return script


def test_the_workflow_runs_on_pull_requests_and_may_comment() -> None:
    workflow = _workflow()
    assert list(workflow["on"]) == ["pull_request"]  # never pull_request_target
    assert workflow["permissions"] == {"contents": "read"}
    checkout = _steps()[0]
    # Every meshfed command of the workflow is one the tests below run (the install aside).
    scripts = [s["run"] for s in _steps() if "meshfed " in s.get("run", "") and not s["run"].startswith("pip ")]
    assert scripts == [_step("check")["run"], _step("diff")["run"]]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"]["fetch-depth"] == "0"  # the base revision must be in the clone


def test_the_head_runs_with_a_read_only_token_and_no_secrets() -> None:
    """docs/ci.md's trust model: the job that checks out the pull request may not write, keeps no
    token in the clone and names no secret; the job that writes checks nothing out."""
    review, comment = _jobs()
    assert "permissions" not in review  # the workflow's: contents: read
    assert _steps()[0]["with"]["persist-credentials"] == "false"
    assert "secrets." not in yaml.safe_dump(review) and "secrets." not in yaml.safe_dump(comment)
    assert int(review["timeout-minutes"]) > 0
    assert comment["permissions"] == {"pull-requests": "write"}
    assert not any("checkout" in step.get("uses", "") or "meshfed " in step.get("run", "")
                   for step in comment["steps"])


def test_the_diff_is_posted_even_when_the_check_fails() -> None:
    steps = _steps()
    check, diff = _step("check"), _step("diff")
    assert steps.index(check) < steps.index(diff)
    assert "!cancelled()" in diff["if"]
    assert diff["run"].startswith("meshfed diff -o markdown --base origin/${{ github.base_ref }} ")
    output = diff["run"].rpartition("> ")[2]
    [upload] = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert steps.index(diff) < steps.index(upload)
    assert upload["with"]["path"] == output and f"hashFiles('{output}')" in upload["if"]
    _, job = _jobs()
    assert job["needs"] == "review" and "!cancelled()" in job["if"]
    download, comment = job["steps"]
    assert download["uses"].startswith("actions/download-artifact@")
    assert download["with"]["name"] == upload["with"]["name"]
    assert comment["run"].startswith("gh pr comment ") and f"--body-file {output}" in comment["run"]
    assert comment["env"] == {"GH_TOKEN": "${{ github.token }}", "GH_REPO": "${{ github.repository }}"}


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new))


@pytest.fixture()
def pull_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clone (origin/BASE) of a repository holding overlays/, with a pull-request branch checked
    out, as actions/checkout leaves it: west's details pods get a new label."""
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Test\n\temail = test@example.com\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))  # no hooksPath or other settings of the machine
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    upstream = tmp_path / "upstream"
    shutil.copytree(REPO / "overlays", upstream / "overlays")
    _git(upstream, "init", "-q", "-b", BASE)
    _git(upstream, "add", "-A")
    _git(upstream, "commit", "-q", "-m", "the example federation")
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", str(upstream), str(clone))
    _git(clone, "checkout", "-q", "-b", "relabel-details")
    _edit(clone / "overlays/federation.yaml", "app: details\n", "app: details-v2\n")
    # The parts of the Federation the applications read, written again (the pre-commit hook asks for it).
    subprocess.run([str(MESHFED), "federation", "scaffold", "overlays/federation.yaml", "--out", "overlays"], cwd=clone,
                   check=True, capture_output=True)
    _git(clone, "commit", "-q", "-am", "west: details pods relabelled")
    return clone


def _run_step(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The step's script as Actions runs it (`bash --noprofile --norc -eo pipefail`), with this
    checkout's meshfed first on PATH."""
    env = {**os.environ, "PATH": f"{MESHFED.parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", _script(command)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120)


def test_the_check_step_passes_a_consistent_federation(pull_request: Path) -> None:
    run = _run_step("check", pull_request)
    assert run.returncode == 0, run.stderr


def test_the_check_step_fails_the_job_on_an_inconsistent_one(pull_request: Path) -> None:
    add_unexported_import(pull_request)
    run = _run_step("check", pull_request)
    assert run.returncode == 1
    assert UNEXPORTED_IMPORT in run.stderr


def test_the_diff_step_writes_the_comment(pull_request: Path) -> None:
    output = pull_request / _step("diff")["run"].rpartition("> ")[2]
    run = _run_step("diff", pull_request)
    assert run.returncode == 0, run.stderr
    comment = output.read_text()
    assert "overlays/west/bookinfo" in comment and "<details>" in comment  # per object, collapsible
    assert "details-v2" in comment  # the changed label, in the object's diff
