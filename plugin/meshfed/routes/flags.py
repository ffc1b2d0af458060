"""The command line of `meshfed render` and `validate`, built from the option table
(`meshfed.values.options.TABLE`): the flags, the fast parser, what both parsers give (`RenderArgs`) and
the one `render` command they run.

Two parsers read the same rows: the typer app (`meshfed.routes.cli`: help texts and usage errors) and
the fast parser here (the invocations Argo CD and kustomize make, without importing typer). A
flag declared in the table exists in both, with the same names, values, checks and meaning; the
fast parser declines what it does not fully understand and typer decides.
"""
from __future__ import annotations

import os
import sys

from ..values.options import ASSIGNMENT, BY_DEST, CORE, DIRECTORY, INPUT, SWITCH, TABLE, Options, check_value, refusal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Sequence

    from ..values.options import Option

FLAGS = tuple(option for option in TABLE if option.flags)
ARGOCD_ACTIONS = ("generate", "discover", "parameters")  # `meshfed argocd ACTION`
BY_FLAG = {name: option for option in FLAGS for name in option.flags}


def set_kind(option: Option) -> str | None:
    """The helm flag kind (`set-string`...) of one of helm's value flags, None for other options."""
    return option.flags[0][2:] if option.kind == ASSIGNMENT else None


class RenderArgs:
    """One invocation's FILE|DIR arguments and render flags, from either parser: a value per
    flag of the table (its default when not given; a list for repeatable flags) as attributes
    named by `dest`, and helm's value flags in `sets` as (kind, expression)."""

    __slots__ = ("files", "given", "sets")

    def __init__(self, files: Sequence[Any], sets: Sequence[tuple[str, str]] = (), **given: Any) -> None:
        unknown = [dest for dest in given if dest not in BY_DEST or set_kind(BY_DEST[dest])]
        if unknown:
            raise TypeError(f"not a render flag: {', '.join(unknown)}")
        self.files = list(files)
        self.sets = tuple(sets)  # helm applies them kind by kind, each kind in command-line order
        self.given = given

    def __getattr__(self, dest: str) -> Any:
        option = BY_DEST.get(dest)
        if option is None or dest.startswith("_"):
            raise AttributeError(dest)
        return self.given.get(dest, [] if option.repeat else option.default)

    def _fields(self) -> tuple[Any, ...]:
        return (self.files, *(getattr(self, o.dest) for o in FLAGS if o.kind != ASSIGNMENT), self.sets)

    def __eq__(self, other: object) -> bool:  # tests compare parse results
        return isinstance(other, RenderArgs) and self._fields() == other._fields()

    def __repr__(self) -> str:
        return f"RenderArgs{self._fields()!r}"

    def options(self) -> Options:
        """The core's options: a switch not given is "not given" (the document decides); the
        values of a repeatable flag are read as the other sources read one (comma-separated)."""
        return Options(**{o.dest: getattr(self, o.dest) or None if o.kind == SWITCH
                          else (check_value(o.name, getattr(self, o.dest))[0] or None) if o.repeat
                          else getattr(self, o.dest) for o in CORE})

    def assignments(self) -> list[Any]:
        """helm's --set* flags for the core (helmset is imported only when there are some)."""
        if not self.sets:
            return []
        from ..values.helmset import Assignment
        return [Assignment(kind, expression) for kind, expression in self.sets]


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


def _taken(option: Option, value: str) -> bool:
    """Whether typer takes the flag's value without a message (else the fast parser declines)."""
    if option.kind in (DIRECTORY, INPUT) and not (option.kind == INPUT and value == "-" or _path_ok(value)):
        return False
    return refusal(option, value) is None


def parse_render(args: Sequence[str]) -> RenderArgs | None:
    """The flags of `meshfed render ARGS`, or None when typer must handle them (help, usage
    errors, anything unusual)."""
    files: list[str] = []
    given: dict[str, Any] = {}
    sets: list[tuple[str, str]] = []
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
            option = BY_FLAG.get(name)
            if option is None or (eq and option.kind == SWITCH):
                return None
            if option.kind == SWITCH:
                given[option.dest] = True
                continue
            if not eq:
                if i >= n:
                    return None
                value = args[i]
                i += 1
        else:
            option = BY_FLAG.get(arg[:2])
            if option is None or option.kind == SWITCH:
                return None
            value = arg[2:]
            if not value:
                if i >= n:
                    return None
                value = args[i]
                i += 1
        # Values typer would take but that are most likely mistakes (`-f --scope`), empty values,
        # help flags given as values, and values typer refuses: let typer decide.
        if not value or (value.startswith("-") and not (option.kind == INPUT and value == "-")) \
                or not _taken(option, value):
            return None
        kind = set_kind(option)
        if kind is not None:
            sets.append((kind, value))
        elif option.repeat:
            given.setdefault(option.dest, []).append(value)
        else:
            given[option.dest] = value  # the last one wins, as in click
    if not files and not given.get("values"):
        return None
    if not all(arg not in ("-h", "--help") and _path_ok(arg) for arg in files):
        return None
    return RenderArgs(files, sets, **given)


def render(args: RenderArgs, verify: Callable[[list[Any]], list[str]] | None = None) -> int:
    """`meshfed render`, whichever parser read the flags: diagnostics on stderr, then the objects
    on stdout, written as they are built; with `verify` (what a cluster would reject: `--check`)
    only once they all passed it. Stdout stays empty on any error."""
    import gc

    from ..api import render as render_request
    from ..output.serialize import write_json, write_yaml

    # Planning creates hundreds of thousands of long-lived containers (the values, the planned
    # objects) and no garbage cycles worth collecting: full GC passes over them are pure cost
    # (about a third of the time at hundreds of meshes). Writing then creates short-lived objects,
    # freed by reference counting; the planned data is frozen out of the passes that still run.
    gc.disable()

    # Streaming: with `lazy`, the objects are built one at a time while they are written. Every
    # error is known before the first object is built (all validation happens while planning), so
    # `result.ok` is final here and stdout stays empty on any error.
    result = render_request(args.files, values_files=args.values, options=args.options(), root=args.root,
                            lazy=verify is None and not args.output_dir, assignments=args.assignments())
    gc.freeze()
    gc.enable()
    for d in result.diagnostics:
        print(d, file=sys.stderr)
    if not result.ok:
        return 1
    if verify is not None:
        rejected = verify(result.objects)
        for message in rejected:
            print(message, file=sys.stderr)
        if rejected:
            return 1
    if args.output_dir:
        return _write_files(result.objects, args.output_dir, args.output == "json")
    (write_json if args.output == "json" else write_yaml)(result.objects, sys.stdout.write)
    return 0


def _write_files(objects: list[Any], directory: str, json: bool) -> int:
    """`--output-dir`: every object's file through the safe writer (all or none), then the
    files written (those whose text changed) on stdout, as helm prints what it wrote."""
    from ..values.diagnostics import InputError, error
    from ..output.serialize import object_files
    from ..output.safewrite import always, write_tree
    from ..values.source import display
    try:
        files = object_files(objects, json)
    except ValueError as exc:
        print(error(str(exc), display(directory)), file=sys.stderr)
        return 1
    try:
        written = write_tree(directory, files, overwrite=always)
    except InputError as exc:
        for d in exc.diagnostics:
            print(d, file=sys.stderr)
        return 1
    for name in written:
        print(display(os.path.join(directory, name)))
    return 0
