"""Entry point of the `meshfed` console script and of `python -m meshfed`.

The commands Argo CD and kustomize run on every refresh (`render`, `krm`, `kustomize-plugin`,
`argocd ACTION`) go through `meshfed.routes.fastcli`, which parses them without importing typer;
everything else (help, usage errors, the other commands) goes to the typer app in `meshfed.routes.cli`.
The start-up shortcuts (`meshfed.startup`) are applied here, and only here.
"""
from __future__ import annotations

import sys


def _utf8_streams() -> bool:
    """Output is UTF-8 whatever the locale; False when stdout or stderr is closed."""
    if sys.stdout is None or sys.stderr is None:
        return False
    for stream, errors in ((sys.stdout, "strict"), (sys.stderr, "backslashreplace")):
        if hasattr(stream, "reconfigure") and (
                (stream.encoding or "").lower().replace("-", "") != "utf8" or stream.errors != errors):
            stream.reconfigure(encoding="utf-8", errors=errors)
    return True


def main() -> None:
    if not _utf8_streams():
        if sys.stderr is not None:
            print("meshfed: error: standard output is closed", file=sys.stderr)
        sys.exit(1)
    from .startup import apply
    apply()
    from .routes.fastcli import parse, run
    runner = parse(sys.argv[1:])
    if runner is None:
        from .routes.cli import app
        runner = app
    run(runner)


if __name__ == "__main__":
    main()
