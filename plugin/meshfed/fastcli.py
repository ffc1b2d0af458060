"""The fast entry of the hot commands: `meshfed render ...`, `meshfed krm`,
`meshfed kustomize-plugin CONFIG` and `meshfed argocd ACTION`, without importing typer (and click, pydantic, rich...).

Argo CD and kustomize start meshfed for every refresh of every app, so start-up counts. This
module parses exactly the invocations it fully understands, with the same options and the same
meaning as the typer app in `meshfed.cli`; for anything else (`--help`, a usage error, an option
value that is odd in any way, another command) `parse` returns None and the typer app runs, so
help texts, usage messages and exit code 2 stay typer's own. The only cost of declining is the
time to import typer.

`tests/test_fastcli.py` checks that both paths give the same stdout, stderr and exit code over a
matrix of argument lists.
"""
from __future__ import annotations

import os
import sys

from .flags import BY_NAME, RENDER, set_kind

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Sequence

# The options of `meshfed render`, from the declaration the typer app uses too (meshfed.flags).
_CHOICES = {flag.dest: flag.choices for flag in RENDER if flag.choices}
_ARGOCD_ACTIONS = ("generate", "discover", "parameters")


class RenderArgs:
    """The options of `meshfed render` as the fast path parsed them."""

    __slots__ = ("files", "values", "scope", "namespace", "layout", "output", "root", "allow_empty", "sets")

    def __init__(self, files: list[str], values: list[str], scope: str | None, namespace: str | None,
                 layout: str | None, output: str, root: str | None, allow_empty: bool = False,
                 sets: tuple[tuple[str, str], ...] = ()) -> None:
        self.files = files
        self.values = values
        self.scope = scope
        self.namespace = namespace
        self.layout = layout
        self.output = output
        self.root = root
        self.allow_empty = allow_empty
        self.sets = sets  # (kind, expression) of helm's --set* flags

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:  # tests compare parse results
        return isinstance(other, RenderArgs) and self._fields() == other._fields()

    def __repr__(self) -> str:
        return f"RenderArgs{self._fields()!r}"


def _path_ok(value: str) -> bool:
    """What typer's Path conversion accepts without a message: any path that does not exist, or
    one that exists and is readable (typer checks `os.access(R_OK)`)."""
    if not value:
        return False
    try:
        os.stat(value)
    except (OSError, ValueError):
        return True
    return os.access(value, os.R_OK)


def parse_render(args: Sequence[str]) -> RenderArgs | None:
    """The options of `meshfed render ARGS`, or None when typer must handle them (help, usage
    errors, anything unusual)."""
    files: list[str] = []
    opts: dict[str, Any] = {"values": [], "sets": []}
    i, n = 0, len(args)
    while i < n:
        arg = args[i]
        i += 1
        if arg == "--":
            files.extend(args[i:])
            break
        if arg in ("-h", "--help"):
            return None
        if not arg.startswith("-") or arg == "-":
            if arg == "-" or not arg:
                return None
            files.append(arg)
            continue
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            flag = BY_NAME.get(name)
            if flag is None or (eq and not flag.takes_value):
                return None
            if not flag.takes_value:
                opts[flag.dest] = True
                continue
            if not eq:
                if i >= n:
                    return None
                value = args[i]
                i += 1
        else:
            flag = BY_NAME.get(arg[:2])
            if flag is None or not flag.takes_value:
                return None
            value = arg[2:]
            if not value:
                if i >= n:
                    return None
                value = args[i]
                i += 1
        # Values typer would take but that are most likely mistakes (`-f --scope`), empty values,
        # and help flags given as values: let typer decide.
        dest = flag.dest
        if not value or (value.startswith("-") and not (dest == "values" and value == "-")):
            return None
        kind = set_kind(dest)
        if kind is not None:
            opts["sets"].append((kind, value))  # helm applies them kind by kind, each in order
        elif flag.repeat:
            opts[dest].append(value)
        else:
            opts[dest] = value  # the last one wins, as in click
    for arg in files:
        if arg in ("-h", "--help") or not _path_ok(arg):
            return None
    for dest, choices in _CHOICES.items():
        if dest in opts and opts[dest] not in choices:
            return None
    if not files and not opts["values"]:
        return None
    if not all(v == "-" or _path_ok(v) for v in opts["values"]):
        return None
    if "root" in opts and not os.path.isdir(opts["root"]):  # not a directory: typer's usage error
        return None
    if "namespace" in opts:
        from .formats import is_dns_label
        if not is_dns_label(opts["namespace"]):
            return None
    return RenderArgs(files, opts["values"], opts.get("scope"), opts.get("namespace"), opts.get("layout"),
                      opts.get("output", "yaml"), opts.get("root"), opts.get("allow_empty", False),
                      tuple(opts["sets"]))


def parse(argv: Sequence[str]) -> Callable[[], int] | None:
    """A runner for the invocation `meshfed ARGV`, or None for the typer app."""
    if not argv:
        return None
    command, rest = argv[0], argv[1:]
    if command == "render":
        parsed = parse_render(rest)
        return None if parsed is None else (lambda: render(parsed))
    if command == "krm" and not rest:
        return _krm
    if command == "argocd" and len(rest) == 1 and rest[0] in _ARGOCD_ACTIONS:
        action = rest[0]
        return lambda: _argocd(action)
    if command == "kustomize-plugin" and len(rest) == 1 and not rest[0].startswith("-"):
        config = rest[0]
        return lambda: _kustomize_plugin(config)
    return None


def render(a: RenderArgs) -> int:
    """`meshfed render`: what meshfed.cli.render does, writing the objects as they are built."""
    import gc

    from .api import render as render_request
    from .options import Options
    from .output import write_json, write_yaml

    # Planning creates hundreds of thousands of long-lived containers (the values, the planned
    # objects) and no garbage cycles worth collecting: full GC passes over them are pure cost
    # (about a third of the time at hundreds of meshes). Writing then creates short-lived objects,
    # freed by reference counting; the planned data is frozen out of the passes that still run.
    gc.disable()

    # Streaming: with `lazy`, the objects are built one at a time while they are written. Every
    # error is known before the first object is built (all validation happens while planning), so
    # `result.ok` is final here and stdout stays empty on any error.
    result = render_request(a.files, values_files=a.values,
                            options=Options(a.scope, a.namespace, a.layout, True if a.allow_empty else None),
                            root=a.root, lazy=True, assignments=_assignments(a.sets))
    gc.freeze()
    gc.enable()
    for d in result.diagnostics:
        print(d, file=sys.stderr)
    if not result.ok:
        return 1
    (write_json if a.output == "json" else write_yaml)(result.objects, sys.stdout.write)
    return 0


def _assignments(sets: Sequence[tuple[str, str]]) -> list[Any]:
    """helm's --set* flags for the core (helmset is imported only when there are some)."""
    if not sets:
        return []
    from .helmset import Assignment
    return [Assignment(kind, expression) for kind, expression in sets]


def _krm() -> int:
    import gc
    gc.disable()  # one short-lived request, no garbage cycles worth a pass (see render)
    from . import krm
    return krm.run(sys.stdin.buffer, sys.stdout, sys.stderr)


def _argocd(action: str) -> int:
    import gc
    gc.disable()  # as for krm
    from . import argocd
    return argocd.run(action, sys.stdout, sys.stderr)


def _kustomize_plugin(config: str) -> int:
    import gc
    gc.disable()  # as for krm
    from . import execplugin
    return execplugin.run(config, sys.stdout, sys.stderr)


def run(runner: Callable[[], Any]) -> None:
    """Run and exit as the typer app would: its exit code; Ctrl-C exits 130; end of input on a
    prompt prints `Aborted!` and exits 1. Output that cannot be written (a closed pipe, a full
    disk) exits 1: quietly for a closed pipe (`| head`), with the reason otherwise. Also runs the
    typer app itself (which exits by raising SystemExit), so both paths end the same way."""
    try:
        try:
            code = runner()
        except SystemExit as exc:
            code = exc.code
        sys.stdout.flush()
    except KeyboardInterrupt:
        sys.exit(130)
    except EOFError:
        print(file=sys.stderr)
        print("Aborted!", file=sys.stderr)
        sys.exit(1)
    except OSError as exc:
        import errno
        if exc.errno != errno.EPIPE:
            print(f"meshfed: error: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        discard_stdout()
        sys.exit(1)
    except Exception as exc:  # a clear error and exit 1, never a traceback  # noqa: BLE001
        from .diagnostics import failure
        for d in failure(exc):
            print(f"meshfed: error: {d}", file=sys.stderr)
        sys.exit(1)
    sys.exit(code)


def discard_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush of what could not be
    written raises nothing at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
