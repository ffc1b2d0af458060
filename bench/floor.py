"""Helpers the benchmark runs as child processes.

    floor.py prepare OUT.marshal -- RENDER-ARGS...   render (in-process, untimed) and save the objects
    floor.py dump OUT.marshal yaml|json              the output floor: load the saved objects and
                                                     only serialise them to stdout
    floor.py input VALUES.yaml...                    the input floor: only read the values files

`dump` is the cost of writing the output and nothing else: start-up, reading the pre-rendered
objects (marshal: the fastest loader Python has for dicts, lists and strings) and
`meshfed.output.serialize.dump_yaml` / `dump_json`.
"""
from __future__ import annotations

import marshal
import sys


def prepare(out: str, args: list[str]) -> int:
    from pathlib import Path

    from meshfed.api import render
    from meshfed.routes.flags import parse_render
    from meshfed.values.options import Options

    parsed = parse_render(args)
    if parsed is None:
        print(f"cannot parse {args}", file=sys.stderr)
        return 2
    result = render([Path(f) for f in parsed.files], values_files=[Path(v) for v in parsed.values],
                    options=Options(scope=parsed.scope, namespace=parsed.namespace, layout=parsed.layout))
    if not result.ok:
        for d in result.diagnostics:
            print(d, file=sys.stderr)
        return 1
    import json

    # Plain dicts only (marshal takes no subclass; the rows share some maps as emit.Shared).
    objects = json.loads(json.dumps(list(result.objects)))
    with open(out, "wb") as f:
        marshal.dump(objects, f)
    print(len(objects))
    return 0


def dump(path: str, fmt: str) -> int:
    import gc

    from meshfed.output.serialize import dump_json, dump_yaml

    # The fastest load there is: one read, marshal.loads (marshal.load on a file reads in tiny
    # pieces), no cyclic GC passes over the objects while they are created, and the loaded objects
    # frozen out of later passes (what `meshfed render` does with its planned objects too).
    gc.disable()
    with open(path, "rb") as f:
        objects = marshal.loads(f.read())
    gc.freeze()
    gc.enable()
    sys.stdout.write(dump_json(objects) if fmt == "json" else dump_yaml(objects))
    return 0


def read_input(paths: list[str]) -> int:
    """Parse the values files into Python objects with the reader `render` uses (libyaml's parser
    in C, composed into plain dicts and lists), and nothing else."""
    import gc
    from pathlib import Path

    from meshfed.values.source import load_values_file

    gc.disable()  # as `meshfed render` does while reading
    for path in paths:
        load_values_file(Path(path), path)
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "input":
        sys.exit(read_input(sys.argv[2:]))
    if sys.argv[1] == "prepare":
        sys.exit(prepare(sys.argv[2], sys.argv[4:]))
    sys.exit(dump(sys.argv[2], sys.argv[3]))
