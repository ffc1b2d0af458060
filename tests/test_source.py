"""The path helpers every route reads through (`meshfed.values.source`): strings and `os.path`, with the
meaning pathlib gave them before (a root's inside, a resolved path, a link loop, a file's name in
messages)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshfed.values.diagnostics import InputError
from meshfed.values import source
from meshfed.values.source import confine, display, find_root, inside, mentions, resolve

segments = st.lists(st.sampled_from(["a", "b", "ab", "a.b", "..a", "b-"]), max_size=4)


@given(segments, segments)
def test_inside_is_pathlibs_parents(path: list[str], root: list[str]) -> None:
    p, r = Path("/", *path), Path("/", *root)
    assert inside(str(p), str(r)) == (p == r or r in p.parents)
    assert inside(p, r) == inside(str(p), str(r))


def test_resolve_follows_links_and_refuses_loops(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    assert resolve(tmp_path / "link" / "x.yaml") == str((tmp_path / "real" / "x.yaml").resolve())
    assert resolve(str(tmp_path / "missing" / ".." / "real")) == str((tmp_path / "real").resolve())
    with pytest.raises(RuntimeError):
        resolve(tmp_path / "loop")
    with pytest.raises(InputError, match="symbolic link loop"):
        confine(tmp_path / "loop", tmp_path, "base loop", "doc.yaml", "spec.base[0]")
    with pytest.raises(InputError, match="resolves outside the root"):
        confine(tmp_path / "real" / ".." / "..", tmp_path, "base ..", "doc.yaml", "spec.base[0]")


def test_display_names_files_as_pathlib_spelled_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert display("./apps//x.yaml") == "apps/x.yaml"
    assert display(tmp_path / "apps" / "x.yaml") == "apps/x.yaml"
    assert display("") == display(".") == "."


def test_find_root_is_the_enclosing_git_work_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "apps" / "x").mkdir(parents=True)
    monkeypatch.delenv("MESHFED_ROOT", raising=False)
    monkeypatch.chdir(tmp_path / "repo" / "apps" / "x")
    assert find_root() == os.path.realpath(tmp_path / "repo")
    assert find_root(tmp_path) == os.path.realpath(tmp_path)
    monkeypatch.chdir(tmp_path / "repo" / "apps")
    monkeypatch.setenv("MESHFED_ROOT", str(tmp_path / "repo" / "apps" / "x"))
    assert find_root() == os.path.realpath(tmp_path / "repo" / "apps" / "x")
    with pytest.raises(InputError, match="--root: not a directory"):
        find_root(tmp_path / "nothing")


@given(st.integers(min_value=0, max_value=40), st.integers(min_value=1, max_value=80))
def test_mentions_finds_a_word_anywhere_within_the_limit(tmp_path_factory: pytest.TempPathFactory, at: int,
                                                         limit: int) -> None:
    """Read a chunk at a time (here 16 bytes), a word across two chunks is still found; past the
    limit it is not looked for."""
    path = tmp_path_factory.mktemp("m") / "f.yaml"
    path.write_bytes(b"#" * at + b"MeshFederation" + b"#" * 20)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(source, "CHUNK", 16)
        assert mentions(path, b"MeshFederation", limit) == (at + len(b"MeshFederation") <= limit)


def test_mentions_is_false_for_what_cannot_be_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    assert not mentions(tmp_path / "fifo", b"x") and not mentions(tmp_path / "missing", b"x")
    assert not mentions(tmp_path, b"x") and not mentions("nul\0", b"x")


ROOT_COMMANDS = [["render", "app"], ["validate", "app"], ["check", "app"], ["graph", "app"],
                 ["explain", "a.mesh.global", "--cluster", "c", "app"],
                 ["federation", "scaffold", "federation.yaml", "--out", "out"], ["federation", "import", "app"]]


@pytest.mark.parametrize("command", ROOT_COMMANDS, ids=lambda c: " ".join(c[:2]))
@pytest.mark.parametrize("root", ["nonexistent", "file.yaml"])
def test_a_root_that_is_not_a_directory_is_a_usage_error_on_every_command(tmp_path: Path, command, root) -> None:
    """`render` goes through the fast command line, which leaves it to typer's usage error."""
    import subprocess
    import sys
    (tmp_path / "app").mkdir()
    (tmp_path / "file.yaml").write_text("{}\n")
    run = subprocess.run([str(Path(sys.executable).with_name("meshfed")), *command, "--root", root],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr.endswith(f"Error: Invalid value for '--root': '{root}' is not a directory\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app", "file.yaml"]


def test_a_base_values_file_is_read_as_helm_reads_a_values_file(tmp_path: Path) -> None:
    """Bases, `-f` files and Argo CD value files agree: several documents merge, text after a
    `...` is not read; a file of MeshFederation documents keeps every document."""
    from meshfed.values.source import Files, load_values_file

    values = tmp_path / "values.yaml"
    values.write_text("global: {remote: [], x: 1}\n---\nglobal: {x: 2}\n...\n}not yaml\n")
    docs = tmp_path / "docs.yaml"
    docs.write_text("kind: MeshFederation\nspec: {}\n---\nkind: MeshFederation\nspec: {scope: mesh}\n")
    files = Files(str(tmp_path))
    assert files.documents(str(values), "values.yaml") == [{"global": {"remote": [], "x": 2}}]
    assert load_values_file(values, "values.yaml") == {"global": {"remote": [], "x": 2}}
    assert len(files.documents(str(docs), "docs.yaml")) == 2
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: MeshFederation\nspec: {}\n...\n}not yaml\n")
    with pytest.raises(InputError, match="invalid YAML"):
        files.documents(str(broken), "broken.yaml")
