"""Every guard at its edge, through every route: the reading limits exactly at and one past each
limit (`MAX_FILE_BYTES`, `MAX_STDIN_BYTES`, `MAX_BASE_FILES`), a FIFO and a device where a file is
expected (refused at once, never a hang), standard input over its limit (refused, never cut
short), and exhausted memory, exhausted recursion and an internal error ending in a clear message,
exit 1 and nothing on stdout (with `MESHFED_TRACEBACK=1`, and only then, their traceback).

The routes run in this process through the command line's own entry (`fastcli.parse` and `run`,
as the console script runs them: `render`, `krm`, `kustomize-plugin`, `argocd generate`) and
through the typer app (`render`, `validate`); one test runs the console script itself. Large
inputs are generated cheaply: sparse files, and streams that hand out one shared chunk."""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from meshfed import api

from meshfed.routes import argocd, execplugin, fastcli, krm

from meshfed.output import serialize as output

from meshfed.values import source
SEED = Path(__file__).parent / "examples" / "seed-readme" / "mesh-admin-values.yaml"
SEED_VALUES = yaml.safe_load(SEED.read_text())
OWNER = "meshfed.io/generated-from"
TOO_LARGE = "larger than the limit of {} MiB"
# The limits as the README promises them (not read from meshfed: a test of a limit must fail when
# the limit moves).
MAX_FILE_BYTES = 64 << 20  # a file, and values on standard input
MAX_STDIN_BYTES = 256 << 20  # a ResourceList on standard input
MAX_BASE_FILES = 256  # distinct base files in one run

Run = tuple[int, str, str]  # exit code, stdout, stderr


# --- the routes ----------------------------------------------------------------------------------

class Stdin:
    """`sys.stdin` with `buffer` reading from `stream` (the routes read bytes from it)."""

    def __init__(self, stream: Any) -> None:
        self.buffer = stream

    def fileno(self) -> int:  # not a terminal, not a pipe: the exec plugin sees no resources
        raise io.UnsupportedOperation("fileno")


def command_line(argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                 stdin: Any = None) -> Run:
    """`meshfed ARGV` as the console script runs it, in this process (the fast path, else typer)."""
    monkeypatch.setattr(sys, "stdin", Stdin(stdin if stdin is not None else io.BytesIO()))
    capsys.readouterr()
    runner = fastcli.parse(argv)
    if runner is None:
        from meshfed.routes.cli import app, optional_crds
        monkeypatch.setattr(sys, "argv", ["meshfed", *optional_crds(argv)])
        runner = app
    with pytest.raises(SystemExit) as exited:
        fastcli.run(runner)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def typer_app(argv: list[str], stdin: bytes = b"") -> Run:
    """`meshfed ARGV` through the typer app (the route of `validate` and of unusual invocations)."""
    from typer.testing import CliRunner

    from meshfed.routes.cli import app
    result = CliRunner().invoke(app, argv, prog_name="meshfed", input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def krm_items(out: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The generated items and the results of the one ResourceList a KRM run wrote."""
    [wrapper] = [d for d in yaml.safe_load_all(out) if d is not None]
    assert wrapper["kind"] == "ResourceList"
    generated = [i for i in wrapper["items"] if OWNER in (i["metadata"].get("annotations") or {})]
    return generated, wrapper.get("results") or []


def resource_list(doc_text: str) -> bytes:
    item = yaml.safe_load(doc_text)
    return yaml.safe_dump({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList",
                           "items": [item]}).encode()


def document(values: dict[str, Any] | None = None, base: list[str] | None = None) -> str:
    spec: dict[str, Any] = {"scope": "mesh"}
    if base:
        spec["base"] = base
    spec["values"] = SEED_VALUES if values is None else values
    return yaml.safe_dump({"apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation",
                           "metadata": {"name": "doc", "namespace": "istio-system"}, "spec": spec}, sort_keys=False)


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return application(tmp_path, monkeypatch)


def application(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An application directory `app/` in a repository (its root: the git work tree), as the
    working directory, with no meshfed or Argo CD variables set."""
    (tmp_path / ".git").mkdir()
    app = tmp_path / "app"
    app.mkdir()
    for key in [k for k in os.environ if k.startswith(("MESHFED_", "ARGOCD_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("ARGOCD_APP_SOURCE_PATH", "app")
    monkeypatch.chdir(app)
    return app


def every_route(app: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                doc: str = "doc.yaml") -> dict[str, Run]:
    """The document `app/doc` through every route that reads a MeshFederation document."""
    text = (app / doc).read_text()
    return {
        "render": command_line(["render", doc], monkeypatch, capsys),
        "typer render": typer_app(["render", "--output", "yaml", doc]),
        "validate": typer_app(["validate", doc]),
        "krm": command_line(["krm"], monkeypatch, capsys, io.BytesIO(resource_list(text))),
        "kustomize-plugin": command_line(["kustomize-plugin", doc], monkeypatch, capsys),
        "argocd generate": command_line(["argocd", "generate"], monkeypatch, capsys),
    }


def assert_refused(runs: dict[str, Run], message: str) -> None:
    """Every route exits 1 with `message` on stderr, and no object (stdout empty, or for the KRM
    function a ResourceList with no item and the error among its results)."""
    for route, (code, out, err) in runs.items():
        assert code == 1, (route, code, err)
        assert message in err, (route, err)
        assert "Traceback" not in err, (route, err)
        if route == "krm":
            generated, results = krm_items(out)
            assert generated == [] and any(message in r["message"] for r in results), (route, results)
        else:
            assert out == "", (route, out[:200])


def assert_rendered(runs: dict[str, Run]) -> None:
    for route, (code, out, err) in runs.items():
        assert code == 0, (route, err)
        assert "error" not in err, (route, err)
        if route == "krm":
            assert krm_items(out)[0], route
        elif route != "validate":
            assert out.startswith("---\n") and "kind: ServiceEntry" in out, (route, out[:200])


# --- MAX_FILE_BYTES -------------------------------------------------------------------------------

def at_size(path: Path, size: int, head: str = "") -> Path:
    """A file of exactly `size` bytes: `head`, then a comment of spaces to the last byte."""
    data = head.encode() + b"#"
    with open(path, "wb") as f:
        f.write(data)
        f.write(b" " * (size - len(data) - 1))
        f.write(b"\n")
    assert path.stat().st_size == size
    return path


def sparse(path: Path, size: int) -> Path:
    """A file of `size` bytes that takes no room (a hole of NUL bytes)."""
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def test_a_base_file_of_exactly_the_limit_is_read_on_every_route(app: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    at_size(app / "big.yaml", MAX_FILE_BYTES, yaml.safe_dump(SEED_VALUES))
    (app / "doc.yaml").write_text(document({}, base=["big.yaml"]))
    assert_rendered(every_route(app, monkeypatch, capsys))


def test_a_base_file_one_byte_over_the_limit_is_refused_on_every_route(
        app: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    sparse(app / "big.yaml", MAX_FILE_BYTES + 1)
    (app / "doc.yaml").write_text(document({}, base=["big.yaml"]))
    assert_refused(every_route(app, monkeypatch, capsys), "big.yaml: " + TOO_LARGE.format(64))


@pytest.mark.parametrize("size, refused", [(MAX_FILE_BYTES, False), (MAX_FILE_BYTES + 1, True)])
def test_a_values_file_at_and_over_the_limit(app: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str], size: int, refused: bool) -> None:
    """`-f FILE` (render) and the `valueFiles` parameter (Argo CD)."""
    if refused:
        sparse(app / "values.yaml", size)
    else:
        at_size(app / "values.yaml", size, yaml.safe_dump(SEED_VALUES))
    (app / "doc.yaml").write_text(document({}))
    monkeypatch.setenv("ARGOCD_APP_PARAMETERS", json.dumps([{"name": "valueFiles", "array": ["values.yaml"]}]))
    runs = {"render": command_line(["render", "-f", "values.yaml"], monkeypatch, capsys),
            "typer render": typer_app(["render", "--output", "yaml", "-f", "values.yaml"]),
            "argocd generate": command_line(["argocd", "generate"], monkeypatch, capsys)}
    if refused:
        assert_refused(runs, "values.yaml: " + TOO_LARGE.format(64))
    else:
        assert_rendered(runs)


def test_the_document_itself_over_the_limit_is_refused(app: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    sparse(app / "doc.yaml", MAX_FILE_BYTES + 1)
    runs = {"render": command_line(["render", "doc.yaml"], monkeypatch, capsys),
            "kustomize-plugin": command_line(["kustomize-plugin", "doc.yaml"], monkeypatch, capsys),
            "argocd generate": command_line(["argocd", "generate"], monkeypatch, capsys)}
    for route, (code, out, err) in runs.items():
        assert code == 1 and out == "" and TOO_LARGE.format(64) in err, (route, err)


def test_a_file_longer_than_its_size_said_is_refused_not_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bytes read count, not the size the file reported (a file that grew meanwhile, or a
    kernel file whose size reads 0): one byte past the limit is refused, never cut short."""
    sparse(tmp_path / "grows.yaml", MAX_FILE_BYTES + 1)
    real = os.fstat

    def smaller(fd: int) -> os.stat_result:
        st = real(fd)
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid, 0,
                               int(st.st_atime), int(st.st_mtime), int(st.st_ctime)))

    monkeypatch.setattr(os, "fstat", smaller)
    with pytest.raises(source.InputError) as refused:
        source.read_file(tmp_path / "grows.yaml", "grows.yaml")
    assert [str(d) for d in refused.value.diagnostics] == ["grows.yaml: " + TOO_LARGE.format(64)]


# --- MAX_STDIN_BYTES and `-f -` --------------------------------------------------------------------

class Repeated(io.RawIOBase):
    """`size` bytes: `head`, then spaces, handed out in chunks that share one buffer (a stream of
    hundreds of MiB that costs no memory until someone keeps what it read)."""

    def __init__(self, size: int, head: bytes = b"") -> None:
        self.size, self.pos, self.head = size, 0, head
        self.spaces = b" " * (1 << 20)

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.pos if n is None or n < 0 else min(n, self.size - self.pos)
        if self.pos < len(self.head):
            chunk = self.head[self.pos:self.pos + n]
        else:
            chunk = self.spaces if n == len(self.spaces) else self.spaces[:n]
        self.pos += len(chunk)
        return chunk


def test_stdin_values_at_and_over_the_limit(app: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """`-f -`: exactly MAX_FILE_BYTES is read whole; one byte more is refused, never cut short."""
    head = yaml.safe_dump(SEED_VALUES).encode() + b"#"
    code, out, err = command_line(["render", "-f", "-"], monkeypatch, capsys, Repeated(MAX_FILE_BYTES, head))
    assert code == 0 and "kind: ServiceEntry" in out, err
    code, out, err = command_line(["render", "-f", "-"], monkeypatch, capsys, Repeated(MAX_FILE_BYTES + 1, head))
    assert (code, out) == (1, "") and "<stdin>: " + TOO_LARGE.format(64) in err


def test_a_resource_list_at_and_over_the_limit(app: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """The KRM function's stdin: MAX_STDIN_BYTES is read (decoding skipped: what matters here is
    the count), one byte more is refused with an empty ResourceList."""
    request = resource_list(document())
    decoded: list[int] = []

    def decode(data: bytes, name: str) -> str:
        decoded.append(len(data))
        return request.decode()

    monkeypatch.setattr(source, "_decode", decode)
    code, out, err = command_line(["krm"], monkeypatch, capsys, Repeated(MAX_STDIN_BYTES, b"#"))
    assert code == 0 and krm_items(out)[0], err
    assert decoded == [MAX_STDIN_BYTES]
    code, out, err = command_line(["krm"], monkeypatch, capsys, Repeated(MAX_STDIN_BYTES + 1, b"#"))
    assert code == 1 and "<stdin>: " + TOO_LARGE.format(256) in err
    generated, results = krm_items(out)
    assert generated == [] and TOO_LARGE.format(256) in results[0]["message"]
    assert decoded == [MAX_STDIN_BYTES]


def test_the_console_script_refuses_stdin_over_the_limit(tmp_path: Path) -> None:
    """The real process: 64 MiB + 1 on `-f -` is refused (exit 1, nothing on stdout)."""
    meshfed = Path(sys.executable).with_name("meshfed")
    data = SEED.read_bytes() + b"#" + b" " * (MAX_FILE_BYTES - SEED.stat().st_size)
    assert len(data) == MAX_FILE_BYTES + 1
    done = subprocess.run([str(meshfed), "render", "-f", "-"], input=data, capture_output=True, timeout=120,
                          cwd=tmp_path)
    assert (done.returncode, done.stdout) == (1, b"")
    assert b"<stdin>: " + TOO_LARGE.format(64).encode() in done.stderr


def test_read_stream_refuses_one_byte_past_its_limit() -> None:
    assert source.read_stream(io.BytesIO(b"abcd"), "s", 4) == "abcd"
    with pytest.raises(source.InputError, match="larger than the limit"):
        source.read_stream(io.BytesIO(b"abcde"), "s", 4)
    assert source.read_at_most(io.BytesIO(b"x" * 10), 4) == b"xxxxx"  # limit + 1: enough to tell


# --- MAX_BASE_FILES ------------------------------------------------------------------------------

@pytest.mark.parametrize("count", [MAX_BASE_FILES, MAX_BASE_FILES + 1])
def test_distinct_base_files_up_to_the_limit(app: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str], count: int) -> None:
    names = [f"b{i:03}.yaml" for i in range(count)]
    for name in names:
        (app / name).write_text("{}\n")
    (app / "doc.yaml").write_text(document(base=names))
    runs = every_route(app, monkeypatch, capsys)
    if count > MAX_BASE_FILES:
        assert_refused(runs, f"more than {MAX_BASE_FILES} distinct base files")
    else:
        assert_rendered(runs)


# --- a FIFO and devices ------------------------------------------------------------------------------

def within(seconds: float, call: Callable[[], Any], unblock: Callable[[], None]) -> Any:
    """`call()`, which must return within `seconds`; if it hangs, `unblock()` frees it and the test fails."""
    outcome: list[Any] = []
    worker = threading.Thread(target=lambda: outcome.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        unblock()
        worker.join(10)
        pytest.fail(f"blocked for {seconds} s")
    return outcome[0]


def _unblock(fifo: Path) -> Callable[[], None]:
    def open_for_writing() -> None:
        with contextlib.suppress(OSError):
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
    return open_for_writing


def test_a_fifo_is_refused_at_once_on_every_route(app: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """As a base of every route's document, as a values file (`-f`, `valueFiles`), as the document."""
    os.mkfifo(app / "fifo")
    unblock = _unblock(app / "fifo")
    (app / "doc.yaml").write_text(document({}, base=["fifo"]))
    assert_refused(within(20, lambda: every_route(app, monkeypatch, capsys), unblock), "fifo: not a regular file")
    monkeypatch.setenv("ARGOCD_APP_PARAMETERS", json.dumps([{"name": "valueFiles", "array": ["fifo"]}]))
    for argv in (["render", "-f", "fifo"], ["render", "fifo"], ["kustomize-plugin", "fifo"], ["argocd", "generate"]):
        code, out, err = within(20, lambda argv=argv: command_line(argv, monkeypatch, capsys), unblock)
        assert (code, out) == (1, "") and "fifo: not a regular file" in err, (argv, err)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_is_refused(app: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                             device: str) -> None:
    """Named on the command line (values files and documents named there are read wherever they
    are; a base or Argo CD value file outside the repository is refused before it is opened)."""
    for argv in (["render", "-f", device], ["render", device], ["kustomize-plugin", device]):
        code, out, err = command_line(argv, monkeypatch, capsys)
        assert (code, out) == (1, "") and f"{device}: not a regular file" in err, (argv, err)
    code, out, err = typer_app(["render", "--output", "yaml", "-f", device])
    assert (code, out) == (1, "") and "not a regular file" in err, err


def test_the_console_script_refuses_a_fifo_without_waiting(tmp_path: Path) -> None:
    """The real process, with nobody writing to the FIFO: refused, not a hang."""
    os.mkfifo(tmp_path / "fifo")
    meshfed = Path(sys.executable).with_name("meshfed")
    done = subprocess.run([str(meshfed), "render", "-f", "fifo"], capture_output=True, timeout=60, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (1, b"")
    assert b"fifo: not a regular file" in done.stderr


# --- exhausted resources and internal errors ------------------------------------------------------------

FAILURES = [
    (MemoryError, "the input needs more memory than is available"),
    (RecursionError, "the input is nested too deeply to process"),
    (KeyError, "internal error (KeyError: 'boom'); please report it"),
]


def _raiser(kind: type[BaseException]) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise kind("boom")
    return fail


@pytest.mark.parametrize("kind, message", FAILURES)
@pytest.mark.parametrize("show", [False, True])
def test_a_failure_in_the_core_is_a_clear_error_on_every_route(
        app: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        kind: type[BaseException], message: str, show: bool) -> None:
    (app / "doc.yaml").write_text(document())
    monkeypatch.setattr(api, "render_layers", _raiser(kind))
    if show:
        monkeypatch.setenv("MESHFED_TRACEBACK", "1")
    runs = every_route(app, monkeypatch, capsys)
    for route, (code, out, err) in runs.items():
        assert code == 1 and message in err, (route, err)
        assert ("Traceback (most recent call last)" in err and "in fail" in err) == show, (route, err)
        if route == "krm":
            generated, results = krm_items(out)
            assert generated == [] and message in results[0]["message"]
        else:
            assert out == "", route


@pytest.mark.parametrize("kind, message", FAILURES)
@pytest.mark.parametrize("argv, where", [
    (["krm"], (krm, "process")),
    (["kustomize-plugin", "doc.yaml"], (execplugin, "_config")),
    (["argocd", "generate"], (argocd, "kustomization_problems")),
    (["render", "doc.yaml"], (output, "write_yaml")),
])
def test_a_failure_in_an_adapter_is_a_clear_error(app: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str], argv: list[str],
                                                  where: tuple[Any, str], kind: type[BaseException],
                                                  message: str) -> None:
    """Outside the core's guard: the command line's own (`fastcli.run`) ends it the same way."""
    (app / "doc.yaml").write_text(document())
    monkeypatch.setattr(*where, _raiser(kind))
    stdin = io.BytesIO(resource_list(document())) if argv == ["krm"] else None
    code, out, err = command_line(argv, monkeypatch, capsys, stdin)
    assert code == 1 and message in err and "Traceback" not in err, err
    if argv == ["krm"]:
        assert krm_items(out)[0] == []
    else:
        assert out == ""


def test_the_console_script_under_exhausted_memory(tmp_path: Path) -> None:
    """The real process: MemoryError while rendering ends in the clear message, exit 1, empty stdout;
    MESHFED_TRACEBACK=1 adds the traceback."""
    code = f"""
import sys
import meshfed.api
def fail(*args, **kwargs):
    raise MemoryError()
meshfed.api.render_layers = fail
from meshfed.__main__ import main
sys.argv = ["meshfed", "render", "-f", {str(SEED)!r}]
main()
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHFED_")}
    for show in (False, True):
        env_show = {**env, "MESHFED_TRACEBACK": "1"} if show else env
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                              cwd=tmp_path, env=env_show)
        assert (done.returncode, done.stdout) == (1, "")
        assert "the input needs more memory than is available" in done.stderr
        assert ("Traceback" in done.stderr) == show, done.stderr


def test_failure_names_every_exhausted_resource() -> None:
    from meshfed.values.diagnostics import InputError, error, failure
    for kind, message in FAILURES:
        [d] = failure(kind("boom"))
        assert d.severity == "error" and d.message.startswith(message)
    given = [error("bad", "f.yaml", "a.b")]
    assert failure(InputError(given)) == given
