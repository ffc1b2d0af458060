"""The KRM function framework part: a ResourceList in, a ResourceList out, diagnostics as results.

`execute(processor)` is the one KRM loop (kustomize's `framework.Execute`): it reads the
request, runs a processor (items and functionConfig in, items and problems out), and writes
exactly one ResourceList, problems as `results` and lines on stderr, the exit code from their
severities; a failure of the processor becomes an error result, never a traceback. The KRM
function (`meshfed krm`) and the federation validator (`meshfed krm-check`) are processors.
The input is read with the core's one reader (every limit and guard applies to the items too);
the output is written by the core's one writer.
"""
from __future__ import annotations

import posixpath

from .values.diagnostics import Diagnostic, InputError, error, exit_code, failure, has_errors, printable
from .output.serialize import dump_yaml
from .values.source import read_stream
from .values.yamlio import parse_all, type_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO, Callable, TextIO

    # A problem and the resource it is about (its `resourceRef`), if any.
    Problems = list[tuple[Diagnostic, "dict[str, str] | None"]]
    Processor = Callable[["Request"], tuple[list[dict[str, Any]], Problems]]

API_VERSION = "config.kubernetes.io/v1"
STDIN = "<stdin>"
SYNTHETIC = "MeshFederation/"  # how a document with no file is named: `MeshFederation/<name>`
FUNCTION_CONFIG = "functionConfig"  # how problems of the function config name it (not a file)


class Request:
    """The items and functionConfig as kustomize and kpt mean them (YAML 1.2's booleans), and the
    same read as Helm reads values, for the MeshFederation documents among them (`helm_items` in
    the same order, `helm_config`). `texts`: each item's own text, by the item's id, so that an
    item passed through goes back out as it came (comments, `1e3`, `0o17`, a plain date)."""

    __slots__ = ("items", "function_config", "helm_items", "helm_config", "texts")

    def __init__(self, items: list[dict[str, Any]], function_config: dict[str, Any] | None,
                 helm_items: list[dict[str, Any]], helm_config: dict[str, Any] | None,
                 texts: dict[int, str] | None = None) -> None:
        self.items = items
        self.function_config = function_config
        self.helm_items = helm_items
        self.helm_config = helm_config
        self.texts = texts or {}


def read_request(stream: BinaryIO) -> Request:
    """The ResourceList on `stream`; InputError when it is not one."""
    return parse_request(read_stream(stream, STDIN))


def parse_request(text: str) -> Request:
    spans: dict[int, tuple[int, int]] = {}
    items, config = _parse(text, kyaml=True, spans=spans)
    texts = {id(item): _item_text(text, *spans[id(item)]) for item in items if id(item) in spans}
    if "MeshFederation" not in text:  # nothing is read as Helm values: one parse is enough
        return Request(items, config, items, config, texts)
    return Request(items, config, *_parse(text, kyaml=False), texts)


def _item_text(text: str, start: int, end: int) -> str:
    """An item's text, its lines moved to the left edge by the item's own column (a uniform shift
    keeps block scalars and comments as they are), without the blank lines after it."""
    column = start - (text.rfind("\n", 0, start) + 1)
    first, *rest = text[start:end].rstrip().split("\n")
    return "\n".join([first, *(line[min(column, len(line) - len(line.lstrip(" "))):] for line in rest)])


def _parse(text: str, kyaml: bool, spans: dict[int, tuple[int, int]] | None = None
           ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    docs = [d for d in parse_all(text, STDIN, kyaml, spans) if d is not None]
    if len(docs) != 1:
        raise InputError([error(f"expected one ResourceList document, found {len(docs)}", STDIN)])
    data = docs[0]
    if not isinstance(data, dict) or data.get("kind") not in ("ResourceList", "List"):
        kind = data.get("kind") if isinstance(data, dict) else type_name(data)
        raise InputError([error(f"expected a ResourceList, found {printable(repr(kind), 80)}", STDIN)])
    items = data.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise InputError([error("must be a list", STDIN, "items")])
    problems = [error(f"must be a map, found {type_name(item)}", STDIN, f"items[{i}]")
                for i, item in enumerate(items) if not isinstance(item, dict)]
    config = data.get("functionConfig")
    if config is not None and not isinstance(config, dict):
        problems.append(error(f"must be a map, found {type_name(config)}", STDIN, "functionConfig"))
    if problems:
        raise InputError(problems)
    return items, config


def result(d: Diagnostic, ref: dict[str, str] | None = None) -> dict[str, Any]:
    """A diagnostic as a KRM result (the Result schema of the KRM functions spec): the field only
    with the resource it is in (else the message names it), the file only when it is a relative
    path of the package (not the function config, which is not a file), the message safe to
    print."""
    message = d.message if ref or not d.path else f"{d.path}: {d.message}"
    entry: dict[str, Any] = {"message": printable(message), "severity": d.severity}
    if ref:
        entry["resourceRef"] = dict(ref)
        if d.path:
            entry["field"] = {"path": printable(d.path)}
    if d.file and d.file != FUNCTION_CONFIG and not d.file.startswith(("<", "/", SYNTHETIC)):
        path = posixpath.normpath(d.file)
        if not path.startswith("../"):
            entry["file"] = {"path": printable(path)}
    return entry


def write(items: list[dict[str, Any]], results: list[dict[str, Any]], texts: dict[int, str] | None = None) -> str:
    """The ResourceList text; an item with its own text in `texts` (by id: one passed through
    unchanged) is that text, indented as an entry of `items`."""
    if not texts or not any(id(item) in texts for item in items):
        doc: dict[str, Any] = {"apiVersion": API_VERSION, "kind": "ResourceList", "items": items}
        if results:
            doc["results"] = results
        return dump_yaml([doc])
    out = [dump_yaml([{"apiVersion": API_VERSION, "kind": "ResourceList"}]), "items:\n"]
    for item in items:
        text = texts.get(id(item))
        if text is None:  # written as an entry of a list in a map: `- ` at the left edge
            out.append(dump_yaml([{"items": [item]}]).split("\n", 2)[2])
        else:
            out.append("- " + text.replace("\n", "\n  ") + "\n")
    if results:
        out.append(dump_yaml([{"results": results}]).split("\n", 1)[1])
    return "".join(out)


def execute(processor: Processor, stdin: BinaryIO, stdout: TextIO, stderr: TextIO, prefix: str = "",
            validator: bool = False) -> int:
    """Run `processor` on the ResourceList on `stdin` and write exactly one ResourceList to
    `stdout`; each problem also goes to stderr after `prefix`. Any error empties `items`, unless
    the processor is a `validator`: its items are the request's, passed through (also when it
    fails after the request was read)."""
    request = None
    try:
        request = read_request(stdin)
        items, problems = processor(request)
    except Exception as exc:  # the input's problems, or a bug: results, never a traceback  # noqa: BLE001
        items = request.items if validator and request is not None else []
        problems = [(d, None) for d in failure(exc)]
    for d, _ in problems:
        print(f"{prefix}{d}", file=stderr)
    if has_errors(d for d, _ in problems) and not validator:
        items = []
    texts = request.texts if request is not None else None  # items passed through are kept as they came
    stdout.write(write(items, [result(d, ref) for d, ref in problems], texts))
    stdout.flush()
    return exit_code(d for d, _ in problems)
