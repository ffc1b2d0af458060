"""The fast entry of the hot commands: `meshfed render ...`, `meshfed krm`,
`meshfed kustomize-plugin CONFIG` and `meshfed argocd ACTION`, without importing typer (and click, pydantic, rich...).

Argo CD and kustomize start meshfed for every refresh of every app, so start-up counts. This
module runs exactly the invocations it fully understands (the flags of `render` parsed by
`meshfed.routes.flags`, from the option table the typer app in `meshfed.routes.cli` is built from too); for
anything else (`--help`, a usage error, an option value that is odd in any way, another command)
`parse` returns None and the typer app runs, so help texts, usage messages and exit code 2 stay
typer's own. The only cost of declining is the
time to import typer.

`tests/test_fastcli.py` checks that both paths give the same stdout, stderr and exit code over a
matrix of argument lists.
"""
from __future__ import annotations

import os
import sys

from .flags import ARGOCD_ACTIONS, parse_render, render

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Sequence

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
    if command == "argocd" and len(rest) == 1 and rest[0] in ARGOCD_ACTIONS:
        action = rest[0]
        return lambda: _argocd(action)
    if command == "kustomize-plugin" and len(rest) == 1 and not rest[0].startswith("-"):
        config = rest[0]
        return lambda: _kustomize_plugin(config)
    return None


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
        from ..values.diagnostics import failure
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
