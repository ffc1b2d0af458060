"""`meshfed diff` on revisions built to attack it (a pull request's head is anyone's): each tree is
made with git's plumbing (`hash-object -w`, `mktree`, `commit-tree`), as an attacker would make it,
and compared with the example repository's commit. Nothing may be written or read outside the
temporary copy, which is gone at the end however the run ends; what cannot be compared is an
error naming the file, never "no differences" or an application quietly "removed"."""
from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from conftest import MESHFED
from meshfed.federation.scaffold import scaffold
from test_diff import GIT_ENV, commit, diff, git, init_repo

BOOKINFO = "overlays/east/bookinfo"
MARKER = "198.51.100.222"  # in documents outside the repository: must never show


def _git(repo: Path, *args: str, data: bytes = b"") -> bytes:
    return subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, input=data, check=True,
                          capture_output=True).stdout


def blob(repo: Path, content: bytes) -> bytes:
    return _git(repo, "hash-object", "-w", "--stdin", data=content).strip()


def tree_with(repo: Path, tree: bytes, where: str, entries: list[tuple[str, bytes, bytes]]) -> bytes:
    """`tree` with `entries` (mode, object id, name) added to its directory `where` (the trees
    above rebuilt): duplicates and any name are kept, in the order given."""
    listed = [e for e in _git(repo, "ls-tree", "-z", tree).split(b"\0") if e]
    if where:
        first, _, rest = where.partition("/")
        for i, line in enumerate(listed):
            meta, _, name = line.partition(b"\t")
            if name == first.encode():
                mode, kind, sub = meta.split()
                listed[i] = b"%s %s %s\t%s" % (mode, kind, tree_with(repo, sub, rest, entries), name)
    else:
        listed += [b"%s _ %s\t%s" % (mode.encode(), oid, name) for mode, oid, name in entries]
    # The tree object written as is (`git mktree` refuses a `/` in a name): mode, name, binary id.
    raw = b""
    for line in listed:
        meta, _, name = line.partition(b"\t")
        mode, _, oid = meta.split()
        raw += b"%s %s\0%s" % (mode.lstrip(b"0"), name, bytes.fromhex(oid.decode()))
    return _git(repo, "hash-object", "-t", "tree", "-w", "--literally", "--stdin", data=raw).strip()


def hostile(repo: Path, where: str, entries: list[tuple[str, bytes, bytes]]) -> str:
    """A commit on top of HEAD whose tree has `entries` added in `where`."""
    tree = tree_with(repo, _git(repo, "rev-parse", "HEAD^{tree}").strip(), where, entries)
    return _git(repo, "commit-tree", tree.decode(), "-p", "HEAD", "-m", "hostile").decode().strip()


def snapshot(path: Path) -> dict[str, object]:
    return {str(p.relative_to(path)): (p.read_bytes() if p.is_file() and not p.is_symlink() else p.is_dir())
            for p in sorted(path.rglob("*"))}


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example repository, with the revisions' copies made in `tmp_path/tmp` (checked empty
    after each test) and a directory `tmp_path/outside` nothing may touch."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "bookinfo.yaml").write_text(f"kind: MeshFederation\nspec: {{values: {{x: {MARKER}}}}}\n")
    repo = init_repo(tmp_path / "repo")
    yield repo
    assert list(scratch.iterdir()) == []
    assert (outside / "bookinfo.yaml").read_text().startswith("kind: MeshFederation")
    assert [p.name for p in outside.iterdir()] == ["bookinfo.yaml"]


def refused(repo: Path, head: str, *expected: str) -> str:
    out, err, code = diff(repo, "--base", "HEAD", "--head", head)
    assert (out, code) == ("", 1), err
    for text in expected:
        assert text in err, err
    assert MARKER not in err and "Traceback" not in err and "internal error" not in err
    return err


@pytest.mark.parametrize("target", ["ABSOLUTE", "../../../outside"])
def test_a_link_and_a_directory_of_one_name_are_refused(repo: Path, target: str) -> None:
    """The attack of issue 20: a link to a directory outside, then a directory of files of the
    same name; a copy that writes the files writes them through the link."""
    outside = repo.parent / "outside"
    link = blob(repo, str(outside).encode() if target == "ABSOLUTE" else target.encode())
    files = tree_with(repo, _git(repo, "mktree", data=b"").strip(), "",
                      [("100644", blob(repo, b"kind: MeshFederation\n"), b"bookinfo.yaml"),
                       ("100644", blob(repo, b"written\n"), b"new.yaml")])
    head = hostile(repo, "", [("120000", link, b"evil"), ("040000", files, b"evil")])
    before = snapshot(outside)
    refused(repo, head, "meshfed diff: evil: two entries of one tree have this name", f"refused at head {head[:7]}")
    assert snapshot(outside) == before


def test_duplicate_files_and_paths_no_checkout_holds_are_refused(repo: Path) -> None:
    doc = blob(repo, b"kind: MeshFederation\n")
    head = hostile(repo, "overlays", [("100644", doc, b"twice.yaml"), ("100644", doc, b"twice.yaml"),
                                      ("100644", doc, b".."), ("100644", doc, b".GIT"), ("100644", doc, b"a/b.yaml")])
    err = refused(repo, head, "overlays/twice.yaml: two entries", "overlays/..: not a path a checkout holds",
                  "overlays/.GIT: not a path", "overlays/a/b.yaml: its directory is not a directory of the tree")
    assert err.count("refused at head") == 4


@pytest.mark.parametrize("target", [b"/etc", b"../../outside", b"up/..", b""])
def test_links_that_leave_the_copy_are_refused(repo: Path, target: bytes) -> None:
    """Absolute, climbing out, or out through another link (`up` is the repository root: itself
    inside, but `up/..` is not)."""
    entries = [("120000", blob(repo, b".."), b"up"), ("120000", blob(repo, target), b"extra.yaml")]
    head = hostile(repo, "overlays", entries)
    why = "an absolute or empty symbolic link" if target in (b"/etc", b"") else "a symbolic link that leads out"
    refused(repo, head, f"overlays/extra.yaml: {why}")


def test_links_that_stay_inside_are_kept(repo: Path) -> None:
    head = hostile(repo, "overlays", [("120000", blob(repo, b"east/../base"), b"common")])
    out, err, code = diff(repo, "--base", "HEAD", "--head", head)
    assert (code, err) == (0, "")
    assert out.endswith("no differences in 6 applications; 6 skipped, their inputs unchanged\n")


def test_a_link_out_of_the_work_tree_is_refused(repo: Path) -> None:
    (repo / BOOKINFO / "extra.yaml").symlink_to(os.path.relpath(repo.parent / "outside" / "bookinfo.yaml",
                                                                repo / BOOKINFO))
    out, err, code = diff(repo)
    assert (out, code) == ("", 1) and MARKER not in err
    assert "overlays/east/bookinfo/extra.yaml: a symbolic link that leads out of the repository; refused at head " \
           "work tree" in err


def test_a_submodule_is_refused(repo: Path) -> None:
    head = hostile(repo, BOOKINFO, [("160000", b"1" * 40, b"vendored")])
    refused(repo, head, f"{BOOKINFO}/vendored: a submodule (gitlink)")
    git(repo / BOOKINFO, "init", "-q", "nested")  # in the work tree: what `git add --all` makes a submodule
    out, err, code = diff(repo)
    assert (out, code) == ("", 1) and f"{BOOKINFO}/nested: a submodule (gitlink), or a git repository" in err


def test_a_document_that_became_an_lfs_pointer_is_an_error_not_a_removal(repo: Path) -> None:
    pointer = (b"version https://git-lfs.github.com/spec/v1\n"
               b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n")
    (repo / BOOKINFO / "bookinfo.yaml").write_bytes(pointer)
    for route in ("work tree", "commit"):
        args = ("--base", "HEAD") if route == "work tree" else ("--head", commit(repo, "lfs"), "--base", "HEAD~1")
        out, err, code = diff(repo, *args)
        assert code == 1, err
        assert f"{BOOKINFO} (cluster east, not rendered): 1 error, on stderr" in out and "application removed" not in out
        assert err.startswith(f"head {args[1]} (" if route == "commit" else "head work tree") and f": {BOOKINFO}/bookinfo.yaml: a Git LFS pointer, not the document" in err
    out, err, code = diff(repo, "--base", "HEAD", "--head", "HEAD~1")  # the other way round: at the base
    assert code == 1 and err.startswith("base HEAD (") and "a Git LFS pointer" in err


def _memory_and_disk(repo: Path, head: str) -> tuple[int, int, str]:
    """Peak memory (KiB) of `meshfed diff` in a process of its own, and the disk blocks (KiB) of
    the largest copy of a revision, measured in this process."""
    probe = textwrap.dedent(f"""
        import resource, subprocess, sys
        proc = subprocess.run([{str(MESHFED)!r}, "diff", "--base", "HEAD", "--head", {head!r}],
                              capture_output=True, text=True)
        print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, proc.returncode)
        sys.stderr.write(proc.stderr)
    """)
    proc = subprocess.run([sys.executable, "-c", probe], cwd=repo, capture_output=True, text=True, check=True)
    peak, code = proc.stdout.split()
    from meshfed.diff import revisions
    copies = []
    export = revisions.export_commit

    def measured(top, commit, dest, label, wanted):
        pointers = export(top, commit, dest, label, wanted)
        copies.append(sum(os.lstat(p).st_blocks for p in dest.rglob("*")) // 2)
        return pointers

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(revisions, "export_commit", measured)
        _, err, _ = diff(repo, "--base", "HEAD", "--head", head)
    assert err == proc.stderr
    return int(peak), max(copies), proc.stderr if int(code) else ""


def test_a_huge_blob_no_application_reads_costs_neither_memory_nor_disk(repo: Path) -> None:
    huge = blob(repo, bytes(160 << 20))  # 160 MiB of zeros: 160 KiB in git
    head = hostile(repo, "overlays", [("100644", huge, b"huge.bin"), ("100644", huge, b"huge.yaml")])
    peak, disk, err = _memory_and_disk(repo, head)
    assert err == ""
    assert peak < 64 << 10, f"peak memory {peak} KiB"
    assert disk < 4 << 10, f"disk {disk} KiB"


def test_a_document_over_the_reading_limit_is_an_error_naming_it(repo: Path) -> None:
    text = (repo / BOOKINFO / "bookinfo.yaml").read_bytes()
    head = with_file(repo, f"{BOOKINFO}/bookinfo.yaml", blob(repo, text + b"#" * (65 << 20)))
    _, disk, err = _memory_and_disk(repo, head)
    assert f"head {head} ({head[:7]}): {BOOKINFO}/bookinfo.yaml: larger than the limit of 64 MiB" in err
    assert disk < 4 << 10, f"disk {disk} KiB"


def with_file(repo: Path, path: str, oid: bytes, parent: str = "HEAD") -> str:
    """A commit on top of `parent` with the file at `path` replaced (through an index of its own)."""
    env = {**os.environ, **GIT_ENV, "GIT_INDEX_FILE": str(repo.parent / "index")}
    for args in (["read-tree", parent], ["update-index", "--cacheinfo", f"100644,{oid.decode()},{path}"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    tree = subprocess.run(["git", "write-tree"], cwd=repo, env=env, check=True, capture_output=True, text=True)
    return _git(repo, "commit-tree", tree.stdout.strip(), "-p", parent, "-m", "replaced").decode().strip()


def test_a_file_name_that_is_not_utf8_is_named_escaped(repo: Path) -> None:
    """An application directory `caf\xe9` (Latin-1) holding a document that does not parse, named
    `\xfe.yaml`, and a file `notes\x80.txt` elsewhere: every format names them escaped."""
    broken = blob(repo, b"kind: MeshFederation\nspec: [\n")
    app = tree_with(repo, _git(repo, "mktree", data=b"").strip(), "", [("100644", broken, b"\xfe.yaml")])
    notes = blob(repo, b"notes\n")
    head = hostile(repo, "overlays/east", [("040000", app, b"caf\xe9"), ("100644", notes, b"notes\x80.txt")])
    for fmt in ("text", "markdown", "json"):
        out, err, code = diff(repo, "--base", "HEAD", "--head", head, fmt=fmt)
        assert code == 1 and "Traceback" not in err and "internal error" not in err, err
        assert f"head {head} ({head[:7]}): overlays/east/caf\\udce9/\\udcfe.yaml: invalid YAML" in err
        out.encode("utf-8")  # no lone surrogate left
        if fmt != "json":
            assert "overlays/east/caf\\udce9" in out
        else:
            [app] = json.loads(out)["applications"]
            assert app["path"] == "overlays/east/caf\\udce9"
            assert [e["file"] for e in app["errors"]] == ["overlays/east/caf\\udce9/\\udcfe.yaml"]


def test_a_kustomization_generator_out_of_the_repository_is_an_error_and_never_read(repo: Path) -> None:
    app = repo / "overlays" / "east" / "generated"
    app.mkdir()
    outside = repo.parent / "outside" / "bookinfo.yaml"
    (app / "kustomization.yaml").write_text(f"generators:\n- {outside}\n- ../../../../outside/bookinfo.yaml\n")
    for fmt in ("text", "markdown", "json"):
        out, err, code = diff(repo, fmt=fmt)
        assert code == 1 and MARKER not in out + err
    kustomization = "overlays/east/generated/kustomization.yaml"
    assert f"head work tree: {kustomization}: generators[0]: generator {outside} resolves outside the root" in err
    assert f"head work tree: {kustomization}: generators[1]: generator ../../../../outside/bookinfo.yaml " \
           "resolves outside the root" in err


FAKE_GIT = """#!/bin/sh
# git, except that the first `cat-file` (a revision being copied) stops until it is killed
if [ "$1" = cat-file ] && [ ! -e "$READY" ]; then
    echo $$ > "$READY.tmp" && mv "$READY.tmp" "$READY"
    exec sleep 120
fi
exec "$REAL_GIT" "$@"
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_stop_signal_removes_the_copy(repo: Path, tmp_path: Path, signum: int) -> None:
    """What cancelling a CI job sends: the copy is removed and the signal ends the process."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "git"
    fake.write_text(FAKE_GIT)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    ready = tmp_path / "ready"
    real_git = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True).stdout.strip()
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "READY": str(ready),
           "REAL_GIT": real_git, "TMPDIR": tempfile.tempdir}
    proc = subprocess.Popen([str(MESHFED), "diff", "--base", "HEAD"], cwd=repo, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        [copy] = Path(tempfile.tempdir).iterdir()
        assert (copy / "base" / "overlays" / "east" / "bookinfo").is_dir()  # being copied
        proc.send_signal(signum)
        assert proc.wait(timeout=60) == -signum
    finally:
        proc.kill()
        proc.wait()
        try:
            os.kill(int(ready.read_text()), signal.SIGKILL)
        except (OSError, ValueError):
            pass
    assert list(Path(tempfile.tempdir).iterdir()) == []


def test_what_a_document_named_link_leads_to_is_copied(repo: Path) -> None:
    """Only files named like documents are copied, and what links named so lead to."""
    text = (repo / "overlays" / "base" / "mesh.yaml").read_bytes()
    head = hostile(repo, "overlays/base", [("100644", blob(repo, text), b"mesh.values"),
                                           ("120000", blob(repo, b"mesh.values"), b"linked.yaml")])
    federation = (repo / "overlays" / "federation.yaml").read_bytes().replace(b"- base/mesh.yaml", b"- base/linked.yaml")
    head = with_file(repo, "overlays/federation.yaml", blob(repo, federation), head)
    # The parts of the Federation, which hold its bases, as the scaffold writes them again.
    scratch = repo.parent / "scaffolded"
    shutil.copytree(repo / "overlays", scratch / "overlays")
    (scratch / "overlays" / "federation.yaml").write_bytes(federation)
    shutil.copy(scratch / "overlays" / "base" / "mesh.yaml", scratch / "overlays" / "base" / "linked.yaml")
    (scratch / ".git").mkdir()
    scaffold(scratch / "overlays" / "federation.yaml", scratch / "overlays", scratch)
    for part in sorted(scratch.glob("overlays/*/*/federation-part.yaml")):
        head = with_file(repo, part.relative_to(scratch).as_posix(), blob(repo, part.read_bytes()), head)
    out, err, code = diff(repo, "--base", "HEAD", "--head", head)
    assert (code, err) == (0, "") and out.endswith("no differences in 6 applications\n")
