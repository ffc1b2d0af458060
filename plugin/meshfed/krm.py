"""`meshfed krm`: meshfed as a KRM function (a ResourceList on stdin, one on stdout).

Two uses, told apart by the functionConfig:

* Generator: the functionConfig is a MeshFederation (it carries `config.kubernetes.io/function`).
  It is rendered; relative `spec.base` paths resolve against the cwd (kustomize sets it to the
  kustomization root). The echo of the functionConfig that kustomize puts into `items` (marked
  `config.kubernetes.io/local-config: "true"`) is replaced by the generated objects.
* Transformer: any other functionConfig (or none). Every MeshFederation item is replaced, in
  place, by what it generates; its bases resolve against the directory of its
  `config.kubernetes.io/path` annotation when it has one, else the cwd. Options may come from the
  functionConfig's `data` (a ConfigMap) or `spec`: `scope`, `layout`, `namespace`.

Every item that is not replaced is copied through as the exact text it had in the input (comments,
quoting and annotations included). Generated objects carry no bookkeeping annotations.

stdout only ever holds one ResourceList (`config.kubernetes.io/v1`). Errors and warnings become
`results`; an error also empties `items`, is printed to stderr and gives exit code 1.

The helpers at the bottom (YAML loading and dumping, diagnostics) are shared by the other
adapters (`meshfed.execplugin`, `meshfed.argocd`).
"""
from __future__ import annotations

import os
import posixpath
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml

WRAPPER_API_VERSION = "config.kubernetes.io/v1"
GROUP = "meshfed.io"
KIND = "MeshFederation"
FUNCTION_ANNOTATIONS = ("config.kubernetes.io/function", "config.k8s.io/function")
LOCAL_CONFIG = "config.kubernetes.io/local-config"
PATH_ANNOTATIONS = ("internal.config.kubernetes.io/path", "config.kubernetes.io/path")
# Annotation prefixes owned by kustomize/kpt: never handed to the core, never copied to output.
BOOKKEEPING_PREFIXES = (
    "config.kubernetes.io/",
    "internal.config.kubernetes.io/",
    "config.k8s.io/",
    "kustomize.config.k8s.io/",
)
OPTION_KEYS = ("scope", "layout", "namespace")
EXIT_OK, EXIT_INVALID = 0, 1


# --------------------------------------------------------------------------------------------
# Entry point


def run(stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    """Read a ResourceList from `stdin`, write exactly one ResourceList to `stdout`."""
    try:
        text = stdin.read()
    except (OSError, UnicodeDecodeError) as exc:
        return fail(stdout, stderr, f"cannot read the ResourceList from stdin: {exc}")
    try:
        request = parse_request(text)
    except InvalidRequest as exc:
        return fail(stdout, stderr, str(exc))

    outcome = _process(request)
    for line in outcome.stderr_lines:
        print(line, file=stderr)
    stdout.write(emit(request, outcome))
    stdout.flush()
    return EXIT_INVALID if outcome.failed else EXIT_OK


def main() -> None:  # `python -m meshfed.krm`
    sys.exit(run(sys.stdin, sys.stdout, sys.stderr))


# --------------------------------------------------------------------------------------------
# Reading the request


class InvalidRequest(Exception):
    """The input is not a ResourceList this function can work on."""


@dataclass
class _Item:
    data: Any
    raw: str | None  # the item's exact text in the input, when it can be reused verbatim
    column: int  # the column the raw text starts at


@dataclass
class Request:
    items: list[_Item]
    function_config: Any
    dash_column: int = 0  # the column of the `-` of the input's items


def parse_request(text: str) -> Request:
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise InvalidRequest("empty input: expected a ResourceList on stdin")
    loader = mark_loader(text)
    try:
        nodes = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None and not _is_empty_node(node):
                nodes.append(node)
        if len(nodes) != 1:
            raise InvalidRequest(f"expected one ResourceList document on stdin, found {len(nodes)}")
        root = nodes[0]
        data = loader.construct_document(root)
    except yaml.YAMLError as exc:
        raise InvalidRequest(f"stdin is not valid YAML: {yaml_error_text(exc)}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise InvalidRequest("stdin does not hold a ResourceList (a YAML map with kind ResourceList)")
    kind = data.get("kind")
    if kind not in ("ResourceList", "List"):
        raise InvalidRequest(f"stdin holds kind {kind!r}, expected a ResourceList")
    items = data.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise InvalidRequest("ResourceList.items must be a list")
    items_node = _mapping_value(root, "items")
    raws: list[tuple[str | None, int]] = [(None, 0)] * len(items)
    dash = 0
    if isinstance(items_node, yaml.SequenceNode) and not items_node.flow_style \
            and len(items_node.value) == len(items):
        dash = items_node.start_mark.column
        raws = [_raw_text(text, n, dash) for n in items_node.value]
    return Request(
        items=[_Item(d, r, c) for d, (r, c) in zip(items, raws)],
        function_config=data.get("functionConfig"),
        dash_column=dash,
    )


def _is_empty_node(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null") and node.value in ("", "~", "null")


def _mapping_value(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def _raw_text(text: str, node: yaml.Node, dash: int) -> tuple[str | None, int]:
    """The exact source text of a block-sequence entry, and the column it starts at."""
    if not isinstance(node, yaml.MappingNode) or node.start_mark.column <= dash:
        return None, 0
    raw = text[node.start_mark.index:node.end_mark.index].rstrip()
    if not raw or "\t" in raw:
        return None, 0
    return raw, node.start_mark.column


# --------------------------------------------------------------------------------------------
# Processing


@dataclass
class Outcome:
    # each output entry: ("raw", _Item) to copy an input item, ("new", dict) for a generated object
    entries: list[tuple[str, Any]] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    stderr_lines: list[str] = field(default_factory=list)
    failed: bool = False

    def error(self, message: str, ref: dict[str, Any] | None = None) -> None:
        self.failed = True
        self.results.append(_result("error", message, ref))
        self.stderr_lines.append(f"meshfed krm: error: {message}")

    def warning(self, message: str, ref: dict[str, Any] | None = None) -> None:
        self.results.append(_result("warning", message, ref))
        self.stderr_lines.append(f"meshfed krm: warning: {message}")


def _process(request: Request) -> Outcome:
    out = Outcome()
    cwd = Path(os.getcwd())
    fc = request.function_config
    if fc is not None and not isinstance(fc, dict):
        out.error("functionConfig must be a map")
        return out

    if is_meshfederation(fc):
        # Generator: render the functionConfig in place of its echo (appended when absent).
        generated = _render_one(fc, cwd, cwd, {}, out)
        echo = next((i for i, it in enumerate(request.items) if _is_echo(it.data, fc)), None)
        for i, item in enumerate(request.items):
            if i == echo:
                out.entries.extend(("new", o) for o in generated)
            else:
                out.entries.append(("raw", item))
        if echo is None:
            out.entries.extend(("new", o) for o in generated)
    else:
        if fc is None and not request.items:
            out.error("empty ResourceList: no functionConfig and no items")
            return out
        options = _transformer_options(fc, out)
        if out.failed:
            return out
        found = False
        for item in request.items:
            if is_meshfederation(item.data):
                found = True
                base_dir, source = _item_location(item.data, cwd)
                generated = _render_one(item.data, base_dir, cwd, options, out, source)
                out.entries.extend(("new", o) for o in generated)
            else:
                out.entries.append(("raw", item))
        if not found:
            out.warning("no MeshFederation among the items (and the functionConfig is not one): "
                        "items passed through unchanged")
    _check_duplicates(out)
    if out.failed:
        out.entries = []
    return out


def _render_one(doc: dict[str, Any], base_dir: Path, cwd: Path, options: dict[str, str],
                out: Outcome, source: str | None = None) -> list[dict[str, Any]]:
    ref = resource_ref(doc)
    synthetic = source is None
    if source is None:
        source = f"{KIND}/{ref.get('name') or '(unnamed)'}"
    try:
        from .api import render_document

        result = render_document(
            strip_bookkeeping(doc), source=source, base_dir=base_dir, root=explicit_root(),
            scope=options.get("scope"), layout=options.get("layout"),
            namespace=options.get("namespace"),
        )
    except Exception as exc:  # InputError and anything unexpected: report, never crash mid-list
        diags = getattr(exc, "diagnostics", None)
        if not diags:
            out.error(f"{source}: {type(exc).__name__}: {exc}", ref)
            return []
        result_objects, diagnostics = [], list(diags)
    else:
        result_objects, diagnostics = list(result.objects), list(result.diagnostics)
    for d in diagnostics:
        entry = _result(d.severity, d.message, ref)
        if d.path:
            entry["field"] = {"path": d.path}
        file_path = _result_file(d.file, source if synthetic else None, cwd)
        if file_path:
            entry["file"] = {"path": file_path}
        out.results.append(entry)
        out.stderr_lines.append(str(d))
        if d.severity == "error":
            out.failed = True
    return [o for o in result_objects if isinstance(o, dict)]


def _is_echo(item: Any, fc: dict[str, Any]) -> bool:
    if not isinstance(item, dict) or not is_local_config(item):
        return False
    return (item.get("apiVersion"), item.get("kind"), resource_ref(item).get("name"),
            resource_ref(item).get("namespace")) == (
        fc.get("apiVersion"), fc.get("kind"), resource_ref(fc).get("name"),
        resource_ref(fc).get("namespace"))


def _transformer_options(fc: Any, out: Outcome) -> dict[str, str]:
    if not isinstance(fc, dict):
        return {}
    section = "data" if fc.get("kind") == "ConfigMap" else "spec"
    raw = fc.get(section)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        out.error(f"functionConfig.{section} must be a map")
        return {}
    options: dict[str, str] = {}
    for key, value in raw.items():
        if key not in OPTION_KEYS:
            out.error(f"functionConfig.{section}.{key}: unknown option "
                      f"(known: {', '.join(OPTION_KEYS)})")
        elif value is None or value == "":
            continue
        elif not isinstance(value, str):
            out.error(f"functionConfig.{section}.{key}: must be a string")
        else:
            options[key] = value
    return options


def _item_location(item: dict[str, Any], cwd: Path) -> tuple[Path, str | None]:
    annotations = annotations_of(item)
    for key in PATH_ANNOTATIONS:
        value = annotations.get(key)
        if isinstance(value, str) and value:
            return (cwd / posixpath.dirname(value)), value
    return cwd, None


def _check_duplicates(out: Outcome) -> None:
    """A generated object may not share its identity with another output item (kustomize would
    fail on it, or silently replace one with the other)."""
    seen: dict[tuple[Any, ...], bool] = {}  # identity -> generated?
    for origin, entry in out.entries:
        data = entry.data if origin == "raw" else entry
        if not isinstance(data, dict):
            continue
        key, generated = object_key(data), origin == "new"
        if key in seen and (generated or seen[key]):
            what = "generated twice" if generated and seen[key] else \
                "both generated and among the input items"
            out.error(f"{describe_key(key)} is {what}")
        seen[key] = seen.get(key, False) or generated


def _result(severity: str, message: str, ref: dict[str, Any] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"message": message, "severity": severity}
    if ref:
        entry["resourceRef"] = dict(ref)
    return entry


def _result_file(file: str | None, synthetic: str | None, cwd: Path) -> str | None:
    if not file or file == synthetic or file.startswith("<"):
        return None
    path = Path(file)
    if path.is_absolute():
        try:
            return path.relative_to(cwd).as_posix()
        except ValueError:
            return None  # results want a relative path; the message still names the file
    return path.as_posix()


# --------------------------------------------------------------------------------------------
# Writing the ResourceList


def emit(request: Request | None, outcome: Outcome) -> str:
    """The ResourceList text: input items verbatim, generated objects via the core's dumper."""
    expected: list[Any] = []
    blocks: list[str] = []
    dash = request.dash_column if request is not None else 0
    for origin, entry in outcome.entries:
        if origin == "raw" and entry.raw is not None:
            blocks.append(" " * dash + "-" + " " * (entry.column - dash - 1) + entry.raw)
            expected.append(entry.data)
        elif origin == "raw":
            blocks.append(_as_list_entry(dump_plain(entry.data), dash))
            expected.append(entry.data)
        else:
            blocks.append(_as_list_entry(_dump_object(entry), dash))
            expected.append(entry)
    head = f"apiVersion: {WRAPPER_API_VERSION}\nkind: ResourceList\n"
    text = head + ("items:\n" + "\n".join(blocks) + "\n" if blocks else "items: []\n")
    if outcome.results:
        text += dump_plain({"results": outcome.results})
    # Self-check: what we wrote must read back as what we meant; otherwise fall back to a plain
    # re-serialisation (correct data, formatting of the input items not kept).
    try:
        back = load_one(text)
        ok = isinstance(back, dict) and back.get("items") == expected \
            and back.get("results", []) == outcome.results
    except yaml.YAMLError:
        ok = False
    if not ok:
        doc: dict[str, Any] = {"apiVersion": WRAPPER_API_VERSION, "kind": "ResourceList",
                               "items": expected}
        if outcome.results:
            doc["results"] = outcome.results
        text = dump_plain(doc)
    return text


def _dump_object(obj: dict[str, Any]) -> str:
    from .output import dump_yaml

    text = dump_yaml([obj])
    lines = [ln for ln in text.splitlines() if ln.rstrip() not in ("---", "...")]
    return "\n".join(lines)


def _as_list_entry(block: str, dash: int) -> str:
    lines = block.rstrip("\n").split("\n")
    pad = " " * dash
    return "\n".join([pad + "- " + lines[0],
                      *((pad + "  " + ln) if ln else ln for ln in lines[1:])])


def fail(stdout: TextIO, stderr: TextIO, message: str) -> int:
    outcome = Outcome()
    outcome.error(message)
    for line in outcome.stderr_lines:
        print(line, file=stderr)
    stdout.write(emit(None, outcome))
    stdout.flush()
    return EXIT_INVALID


# --------------------------------------------------------------------------------------------
# Shared helpers (also used by meshfed.execplugin and meshfed.argocd)


def is_meshfederation(obj: Any) -> bool:
    """A MeshFederation document of any meshfed.io version (the core checks the version)."""
    if not isinstance(obj, dict) or obj.get("kind") != KIND:
        return False
    api = obj.get("apiVersion")
    return isinstance(api, str) and api.split("/", 1)[0] == GROUP


def annotations_of(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    ann = meta.get("annotations") if isinstance(meta, dict) else None
    return ann if isinstance(ann, dict) else {}


def is_local_config(obj: dict[str, Any]) -> bool:
    return str(annotations_of(obj).get(LOCAL_CONFIG, "")).lower() == "true"


def has_function_annotation(obj: dict[str, Any]) -> bool:
    ann = annotations_of(obj)
    meta = obj.get("metadata")
    return any(k in ann for k in FUNCTION_ANNOTATIONS) or (
        isinstance(meta, dict) and "configFn" in meta)


def resource_ref(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    ref = {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "name": meta.get("name")}
    if meta.get("namespace"):
        ref["namespace"] = meta.get("namespace")
    return {k: v for k, v in ref.items() if isinstance(v, str) and v}


def strip_bookkeeping(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of `doc` without the annotations kustomize and kpt add or read."""
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("annotations"), dict):
        return doc
    kept = {k: v for k, v in meta["annotations"].items()
            if not (isinstance(k, str) and k.startswith(BOOKKEEPING_PREFIXES))}
    new_meta = dict(meta)
    if kept:
        new_meta["annotations"] = kept
    else:
        del new_meta["annotations"]
    return {**doc, "metadata": new_meta}


def explicit_root() -> Path | None:
    """`MESHFED_ROOT`, when set: the directory `spec.base` paths may not leave."""
    value = os.environ.get("MESHFED_ROOT")
    return Path(value) if value else None


def object_key(obj: dict[str, Any]) -> tuple[Any, ...]:
    """Identity as kustomize and Argo CD see it: API group, kind, namespace, name."""
    api = obj.get("apiVersion")
    group = api.rsplit("/", 1)[0] if isinstance(api, str) and "/" in api else ""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return (group, obj.get("kind"), meta.get("namespace") or "", meta.get("name"))


def describe_key(key: tuple[Any, ...]) -> str:
    group, kind, namespace, name = key
    kind_text = f"{kind}.{group}" if group else str(kind)
    return f"{kind_text} {namespace + '/' if namespace else ''}{name}"


def _loader_classes() -> tuple[type, type]:
    from .yamlio import GoConstructor, GoResolver

    return GoConstructor, GoResolver


def mark_loader(text: str) -> Any:
    """A pure-Python go-yaml-v2-like loader over `text` whose node marks index into `text`."""
    constructor, resolver = _loader_classes()

    class _MarkLoader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser,
                      yaml.composer.Composer, constructor, resolver):  # type: ignore[misc, valid-type]
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            constructor.__init__(self)
            resolver.__init__(self)

    return _MarkLoader(text)


def load_all(text: str) -> list[Any]:
    """Every document of a YAML stream, scalars read as go-yaml v2 (Helm, kubectl) reads them."""
    from .yamlio import GoLoader

    return list(yaml.load_all(text, Loader=GoLoader))


def load_one(text: str) -> Any:
    docs = [d for d in load_all(text) if d is not None]
    if len(docs) != 1:
        raise yaml.YAMLError(f"expected one YAML document, found {len(docs)}")
    return docs[0]


def yaml_error_text(exc: BaseException) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return f"{where}{problem}"


_DUMPER: type | None = None


def _plain_dumper() -> type:
    """SafeDumper that also quotes what go-yaml v2 would not read as a string (`y`, `1e3`...)."""
    global _DUMPER
    if _DUMPER is None:
        _, go_resolver = _loader_classes()

        class _PlainDumper(yaml.SafeDumper):
            def ignore_aliases(self, data: Any) -> bool:  # never emit &anchors / *aliases
                return True

        for first, rules in go_resolver.yaml_implicit_resolvers.items():
            for tag, regexp in rules:
                _PlainDumper.add_implicit_resolver(tag, regexp, [first])
        _DUMPER = _PlainDumper
    return _DUMPER


def dump_plain(data: Any) -> str:
    """Block-style YAML whose strings read back as strings in every YAML 1.1 reader."""
    return yaml.dump(data, Dumper=_plain_dumper(), sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=4096)


if __name__ == "__main__":
    main()
