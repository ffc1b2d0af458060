"""Entry point of the `meshfed` console script and of `python -m meshfed`.

The commands Argo CD and kustomize run on every refresh (`render`, `krm`, `kustomize-plugin`,
`argocd ACTION`) go through `meshfed.fastcli`, which parses them without importing typer;
everything else (help, usage errors, the other commands) goes to the typer app in `meshfed.cli`.
"""
from __future__ import annotations

import sys


def main() -> None:
    from .fastcli import parse, run
    runner = parse(sys.argv[1:])
    if runner is not None:
        run(runner)
    from .cli import app
    app()


if __name__ == "__main__":
    main()
