"""Every file meshfed writes goes through `meshfed.output.safewrite`: never through a link, never over a
special file, never outside the output directory, all of its files or none, nothing staged left
behind on a stop signal, concurrent runs never in each other's way.

Each hostile tree is built here (a planted link at the old temporary name, at a target, a linked
cluster directory inside --out, a FIFO or device at a target) and run through both write paths,
`federation scaffold --out` and `federation import -o`; a property test plants links anywhere in
the output directory and checks that nothing outside it changes.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshfed.output import safewrite
from meshfed.values.diagnostics import InputError
from meshfed.federation import importer
from meshfed.federation.scaffold import GENERATED, scaffold

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "tests" / "cases" / "fed-derive"
BOOKINFO = REPO / "tests" / "federation" / "import" / "bookinfo"
MESHFED = Path(sys.executable).with_name("meshfed")
# What one scaffold of the example writes below --out.
APPS = [f"{c}/{a}/{f}" for c in ("central", "east", "west") for a in ("mesh", "bookinfo")
        for f in (f"{a}.yaml", "kustomization.yaml", "federation-part.yaml")]
SECRET = "outside: do not touch\n"


def meshfed(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(MESHFED), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def _repo(tmp: Path) -> Path:
    """A repository (its own root) holding the example Federation and, for import, the per-cluster
    documents of the same federation; an `outside` directory beside it holds a file to protect."""
    repo = tmp / "repo"
    (repo / "base").mkdir(parents=True)
    (repo / "base" / "mesh.yaml").write_bytes((EXAMPLE / "base" / "mesh.yaml").read_bytes())
    (repo / "federation.yaml").write_bytes((EXAMPLE / "federation.yaml").read_bytes())
    shutil.copytree(BOOKINFO, repo / "docs")
    (repo / ".git").mkdir()
    (tmp / "outside").mkdir()
    (tmp / "outside" / "secret").write_text(SECRET)
    return repo


def _snapshot(top: Path) -> dict[str, tuple]:
    """Every entry below `top` (links not followed): kind, content or target, mode and mtime."""
    out = {}
    for here, dirs, names in os.walk(top):
        for name in dirs + names:
            path = os.path.join(here, name)
            info = os.lstat(path)
            content = os.readlink(path) if stat.S_ISLNK(info.st_mode) else \
                Path(path).read_bytes() if stat.S_ISREG(info.st_mode) else None
            out[os.path.relpath(path, top)] = (stat.S_IFMT(info.st_mode), content, info.st_mode, info.st_mtime_ns)
    return out


# The two write paths: (arguments, the output directory, a target file in it).
ROUTES = {
    "scaffold": (["federation", "scaffold", "federation.yaml", "--out", "clusters"], "clusters", "west/mesh/mesh.yaml"),
    "import": (["federation", "import", "docs", "-o", "out/federation.yaml", "--force"], "out", "federation.yaml"),
}


@pytest.mark.parametrize("route", ROUTES)
def test_a_link_planted_at_the_old_temporary_name_is_not_written_through(tmp_path, route):
    repo = _repo(tmp_path)
    args, out, target = ROUTES[route]
    planted = repo / out / Path(target).parent / f".{Path(target).name}.meshfed-tmp"
    planted.parent.mkdir(parents=True)
    planted.symlink_to(tmp_path / "outside" / "secret")
    run = meshfed(*args, cwd=repo)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "outside" / "secret").read_text() == SECRET
    written = repo / out / target
    assert not written.is_symlink() and written.is_file() and written.read_text().startswith(
        GENERATED if route == "scaffold" else "apiVersion: meshfed.io/v1alpha1\nkind: Federation\n")
    assert planted.is_symlink()  # not ours: left alone


@pytest.mark.parametrize("route", ROUTES)
def test_a_link_at_a_target_is_refused_and_nothing_is_written(tmp_path, route):
    repo = _repo(tmp_path)
    args, out, target = ROUTES[route]
    link = repo / out / target
    link.parent.mkdir(parents=True)
    link.symlink_to(tmp_path / "outside" / "secret")
    before = _snapshot(tmp_path)
    run = meshfed(*args, cwd=repo)
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == f"{out}/{target}: is a symbolic link: meshfed never writes through one (remove it)\n"
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("node", ["FIFO", "socket", "device"])
def test_a_special_file_at_a_target_is_refused_even_with_force(tmp_path, route, node):
    repo = _repo(tmp_path)
    args, out, target = ROUTES[route]
    path = repo / out / target
    path.parent.mkdir(parents=True)
    if node == "FIFO":
        os.mkfifo(path)
    elif node == "socket":
        with socket.socket(socket.AF_UNIX) as s:
            s.bind(str(path))
    else:
        try:  # a node like /dev/null (needs the privilege to make one)
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("making a device node needs privileges")
    before = _snapshot(tmp_path)
    run = meshfed(*args, cwd=repo)
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == f"{out}/{target}: is a {node}, not a regular file: not replaced\n"
    assert _snapshot(tmp_path) == before


def test_a_linked_cluster_directory_inside_out_is_refused_and_nothing_is_written(tmp_path):
    repo = _repo(tmp_path)
    (repo / "clusters").mkdir()
    (repo / "clusters" / "west").symlink_to(tmp_path / "outside")
    before = _snapshot(tmp_path)
    run = meshfed(*ROUTES["scaffold"][0], cwd=repo)
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == "clusters/west: is a symbolic link: meshfed never writes through one (remove it)\n"
    assert _snapshot(tmp_path) == before


def test_a_linked_output_directory_of_import_is_refused_below_the_directory_given(tmp_path):
    """The directory named on the command line is the user's to choose; a link below it is not."""
    repo = _repo(tmp_path)
    (repo / "out").symlink_to(tmp_path / "outside")
    run = meshfed("federation", "import", "docs", "-o", "out/federation.yaml", cwd=repo)
    assert run.returncode == 0, run.stderr  # the user named the (linked) directory
    assert (tmp_path / "outside" / "federation.yaml").is_file()


def test_a_file_in_the_way_of_a_later_directory_stops_the_run_before_any_write(tmp_path):
    repo = _repo(tmp_path)
    (repo / "clusters").mkdir()
    (repo / "clusters" / "west").write_text("in the way\n")
    before = _snapshot(tmp_path)
    run = meshfed(*ROUTES["scaffold"][0], cwd=repo)
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == "clusters/west: is a file, not a directory: cannot write below it\n"
    assert _snapshot(tmp_path) == before  # central and east, before it, are not written either


def test_every_problem_is_reported_at_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = Path("out")
    (out / "b").mkdir(parents=True)
    (out / "a").symlink_to(tmp_path)
    (out / "b" / "x").write_text("mine")
    os.mkfifo(out / "c")
    with pytest.raises(InputError) as caught:
        safewrite.write_tree(out, {"a/1": "", "a/2": "", "b/x": "", "c": "", "d/e": ""})
    assert sorted(map(str, caught.value.diagnostics)) == [
        "out/a: is a symbolic link: meshfed never writes through one (remove it)",
        "out/b/x: exists: not overwritten",
        "out/c: is a FIFO, not a regular file: not replaced"]
    assert not (out / "d").exists()


def test_identical_files_are_left_alone_and_others_replaced_as_the_policy_says(tmp_path):
    assert safewrite.write_tree(tmp_path, {"a/x": "1", "a/y": "2"}) == ["a/x", "a/y"]
    mtime = (tmp_path / "a" / "x").stat().st_mtime_ns
    assert safewrite.write_tree(tmp_path, {"a/x": "1", "a/y": "3"}, safewrite.always) == ["a/y"]
    assert (tmp_path / "a" / "x").stat().st_mtime_ns == mtime and (tmp_path / "a" / "y").read_text() == "3"
    with pytest.raises(InputError):
        safewrite.write_tree(tmp_path, {"a/y": "4"})
    assert [p.name for p in tmp_path.iterdir()] == ["a"]  # no staging directory left


@pytest.mark.parametrize("path", ["/abs", "a/../b", "a//b", "./a", ""])
def test_paths_must_stay_below_the_output_directory(tmp_path, path):
    with pytest.raises(InputError):
        safewrite.write_tree(tmp_path, {path: "x"})
    assert list(tmp_path.iterdir()) == []


def test_a_link_at_the_staging_name_is_skipped(tmp_path, monkeypatch):
    tokens = iter(["taken", "free"])
    monkeypatch.setattr(safewrite.secrets, "token_hex", lambda n: next(tokens))
    (tmp_path / "outside").mkdir()
    planted = tmp_path / "out" / f"{safewrite.STAGING_PREFIX}{os.getpid()}-taken"
    planted.parent.mkdir()
    planted.symlink_to(tmp_path / "outside")
    assert safewrite.write_tree(tmp_path / "out", {"f": "x"}) == ["f"]
    assert list((tmp_path / "outside").iterdir()) == [] and planted.is_symlink()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [planted.name, "f"]


def test_eight_scaffolds_at_once_into_one_directory(tmp_path):
    repo = _repo(tmp_path)
    runs = [subprocess.Popen([str(MESHFED), *ROUTES["scaffold"][0]], cwd=repo, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(8)]
    results = [(r.wait(timeout=120), r.stderr.read()) for r in runs]
    for r in runs:
        r.stdout.close()
        r.stderr.close()
    assert results == [(0, "")] * 8
    found = sorted(str(p.relative_to(repo / "clusters")) for p in (repo / "clusters").rglob("*") if not p.is_dir())
    assert found == sorted(APPS)  # and no staging directory left
    assert meshfed(*ROUTES["scaffold"][0], cwd=repo).stdout == ""  # what they wrote is the scaffold


# A scaffold run that stops while it stages: the writer blocks after the first staged file.
BLOCKED = textwrap.dedent("""
    import sys, time
    from meshfed.output import safewrite
    from meshfed.routes.cli import app
    write_all = safewrite._write_all
    def blocked(fd, data):
        write_all(fd, data)
        print("staged", flush=True)
        time.sleep(60)
    safewrite._write_all = blocked
    app(["federation", "scaffold", "federation.yaml", "--out", "clusters"])
""")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_while_staging_leaves_nothing_behind(tmp_path, signum):
    repo = _repo(tmp_path)
    child = subprocess.Popen([sys.executable, "-c", BLOCKED], cwd=repo, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline() == "staged\n"
    staged = [p for p in (repo / "clusters").iterdir() if p.name.startswith(safewrite.STAGING_PREFIX)]
    assert len(staged) == 1 and list(staged[0].iterdir())  # it was mid-write
    child.send_signal(signum)
    assert child.wait(timeout=30) == -signum
    child.stdout.close()
    assert list((repo / "clusters").iterdir()) == []  # nothing staged, nothing renamed into place


def test_stop_signals_are_held_while_the_files_are_renamed_into_place(tmp_path):
    """A signal arriving during the renames is handled after the last one: all files or none."""
    child = textwrap.dedent("""
        import os, signal, sys
        from meshfed.output import safewrite
        rename = os.rename
        def rename_and_signal(*args, **kwargs):
            rename(*args, **kwargs)
            os.kill(os.getpid(), signal.SIGTERM)
        safewrite.os.rename = rename_and_signal
        safewrite.write_tree(sys.argv[1], {"a/1": "x", "a/2": "y", "b/3": "z"})
        print("not reached", flush=True)
    """)
    run = subprocess.run([sys.executable, "-c", child, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == -signal.SIGTERM and run.stdout == ""
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == ["a/1", "a/2", "b/3"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


# Anything a hostile output directory may hold where the run writes: links to the outside (to a
# directory, to a file, dangling), at a cluster, an application, a target or a temporary name.
WHERE = ["{c}", "{c}/{a}", "{c}/{a}/{f}", "{c}/{a}/.{f}.meshfed-tmp", "{c}/.{a}.meshfed-tmp", "federation.yaml",
         ".federation.yaml.meshfed-tmp"]
LINKS = st.lists(st.tuples(st.sampled_from(WHERE), st.sampled_from(["central", "east", "west"]),
                           st.sampled_from(["mesh", "bookinfo"]), st.booleans(),
                           st.sampled_from(["outside", "outside/secret", "outside/missing"])),
                 max_size=4)


def _plant(out: Path, links: list, outside: Path) -> None:
    for where, cluster, app, kustomization, target in links:
        path = out / where.format(c=cluster, a=app, f="kustomization.yaml" if kustomization else f"{app}.yaml")
        above = [out.joinpath(*path.relative_to(out).parts[:i]) for i in range(1, len(path.relative_to(out).parts))]
        if os.path.lexists(path) or any(p.is_symlink() for p in above):  # never plant through a link
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(outside.parent / target)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(links=LINKS, force=st.booleans())
def test_no_run_changes_anything_outside_its_output_directory(tmp_path, links, force):
    top = Path(tempfile.mkdtemp(dir=tmp_path))  # tmp_path is shared by the examples
    repo = _repo(top)
    out = repo / "clusters"
    out.mkdir()
    _plant(out, links, top / "outside")
    outside = {name: _snapshot(top / name) for name in ("outside", "repo/base", "repo/docs")}
    try:
        scaffold(repo / "federation.yaml", out, repo)
    except InputError:
        pass
    try:
        importer.write("kind: Federation\n", out / "federation.yaml", force)
    except InputError:
        pass
    assert {name: _snapshot(top / name) for name in outside} == outside
    assert (top / "outside" / "secret").read_text() == SECRET
    assert not [p for p in out.rglob("*") if safewrite.STAGING_PREFIX in p.name]
