"""Entry point of the `meshfed` console script and of `python -m meshfed`."""
from __future__ import annotations


def main() -> None:
    from .cli import app
    app()


if __name__ == "__main__":
    main()
