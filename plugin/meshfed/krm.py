"""`meshfed krm`: meshfed as a KRM function (a ResourceList on stdin, one on stdout), for
kustomize (`generators:`/`transformers:` with a function annotation) and kpt (`fn eval`,
`fn render`).

Items in, items out: every input item is kept, the functionConfig included (kustomize drops
local-config items itself), and what meshfed generates is added. Two uses, told apart by the
functionConfig:

* Generator: the functionConfig is a MeshFederation. It is rendered; its objects follow its echo
  among the items (or end the list).
* Transformer: any other functionConfig (a ConfigMap whose `data`, or another kind whose `spec`,
  holds options: the option table's rows with `krm`, `meshfed.options.NAMES`), or none. Every
  MeshFederation item is rendered, and marked `config.kubernetes.io/local-config: "true"` so that
  neither kustomize nor `kpt live apply` sends it to the cluster; its objects follow it. A Federation
  item (what documents name in `spec.federation`) is marked local-config too.

Generated objects carry `meshfed.io/generated-from: <document>`; a later run first drops the
objects an earlier run generated from the same documents, so running the function again (kpt
runs it on the package it wrote) replaces them. When the document has a path in the package
(kpt's `config.kubernetes.io/path`), its objects go to `<dir>/<name>.generated.yaml` beside it.
Relative `spec.base` paths resolve against the document's directory in the package (relative to
the working directory: kustomize sets it to the kustomization root; run kpt from the package
root), and may not leave the root (`MESHFED_ROOT`, else the git work tree, else the working
directory). A path annotation that is absolute or leaves the root is refused.

stdout only ever holds one ResourceList. Problems become `results` and lines on stderr; any error
empties `items` and exits 1.
"""
from __future__ import annotations

import os
import posixpath

from . import options as opts
from .api import Document, render
from .diagnostics import Diagnostic, InputError, error
from .federationdoc import is_federation_spec
from .resourcelist import FUNCTION_CONFIG, SYNTHETIC, Request, execute
from .resources import (INDEX_ANNOTATIONS, LOCAL_CONFIG, OWNER, PATH_ANNOTATIONS, annotation,
                        annotations_of, duplicates, is_local_config, is_meshfederation, object_key,
                        resource_ref, strip_bookkeeping, with_annotations)
from .source import confine, find_root, working_directory

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO, TextIO

    from .resourcelist import Problems

PROG = "meshfed krm"
ALLOW_EMPTY = opts.BY_DEST["allow_empty"]
GENERATED_SUFFIX = ".generated.yaml"


def run(stdin: BinaryIO, stdout: TextIO, stderr: TextIO) -> int:
    """Read a ResourceList from `stdin`, write exactly one ResourceList to `stdout`."""
    return execute(process, stdin, stdout, stderr, prefix=f"{PROG}: ")


def process(request: Request) -> tuple[list[dict[str, Any]], Problems]:
    """The output items and the problems (with the resource each one is about)."""
    cwd = working_directory()
    root = find_root()
    fc = request.function_config
    problems: Problems = []
    if fc is not None and is_meshfederation(fc):
        options = opts.Options()
        doc = request.helm_config or fc  # the values as Helm reads them
        echo = next((i for i in request.items if is_local_config(i) and OWNER not in annotations_of(i)
                     and resource_ref(i) == resource_ref(fc)), None)
        if echo is not None and annotation(fc, PATH_ANNOTATIONS) is None:  # kpt: the config is a package file
            doc = with_annotations(doc, {k: v for k in PATH_ANNOTATIONS if (v := annotation(echo, (k,)))})
        owner = _owner(doc)
        kept = [i for i in request.items if annotations_of(i).get(OWNER) != owner]
        sources = [(doc, kept.index(echo) if echo is not None else None)]
    else:
        if fc is None and not request.items:
            raise InputError([error("empty ResourceList: no functionConfig and no items")])
        options, found = _options(fc)
        problems += [(d, resource_ref(fc) if fc is not None else None) for d in found]
        kept, sources = [], []
        for item, helm_item in zip(request.items, request.helm_items):
            if OWNER in annotations_of(item):
                continue
            if is_meshfederation(item):
                sources.append((helm_item, len(kept)))
                item = _as_local_config(item)
            elif is_federation_spec(item):  # what the documents derive from: never for the cluster
                item = _as_local_config(item)
            kept.append(item)
        if not sources and not options.allow_empty:
            problems.append((error("no MeshFederation among the items and the functionConfig is not one: nothing "
                                   f"to render (set {ALLOW_EMPTY.name}: \"true\" in the functionConfig if that is "
                                   "intended)"), None))
    generated: dict[int | None, list[dict[str, Any]]] = {}
    origins: list[tuple[Any, str]] = [(object_key(i), "the input items") for i in kept]
    for doc, position in sources:
        ref = resource_ref(doc)
        try:
            objects, found = _generate(doc, options, cwd, root)
        except InputError as exc:
            objects, found = [], exc.diagnostics
        problems += [(d, ref) for d in found]
        generated.setdefault(position, []).extend(objects)
        origins += [(object_key(o), _owner(doc)) for o in objects]
    problems += [(d, None) for d in duplicates(origins)]
    out: list[dict[str, Any]] = []
    for n, item in enumerate(kept):
        out.append(item)
        out += generated.get(n, [])
    return out + generated.get(None, []), problems


def _options(fc: dict[str, Any] | None) -> tuple[opts.Options, list[Diagnostic]]:
    """The transformer's options: a ConfigMap's `data`, or another kind's `spec`."""
    if fc is None:
        return opts.Options(), []
    section = "data" if fc.get("kind") == "ConfigMap" else "spec"
    raw = fc.get(section)
    if raw is None:
        return opts.Options(), []
    if not isinstance(raw, dict):
        return opts.Options(), [error("must be a map", FUNCTION_CONFIG, section)]
    return opts.parse(raw, FUNCTION_CONFIG, section)


def _as_local_config(item: dict[str, Any]) -> dict[str, Any]:
    return item if is_local_config(item) else with_annotations(item, {LOCAL_CONFIG: "true"})


def _synthetic(doc: dict[str, Any]) -> str:
    """How a document with no path is named: `MeshFederation/[<namespace>/]<name>`."""
    ref = resource_ref(doc)
    namespace = f"{ref['namespace']}/" if ref.get("namespace") else ""
    return f"{SYNTHETIC}{namespace}{ref.get('name') or '(unnamed)'}"


def _owner(doc: dict[str, Any]) -> str:
    """How generated objects name the document they come from (and messages name it)."""
    path = annotation(doc, PATH_ANNOTATIONS)
    return posixpath.normpath(path) if path else _synthetic(doc)


def _package_path(doc: dict[str, Any], cwd: str, root: str) -> str | None:
    """The document's path annotation, checked: relative, and inside the root once resolved."""
    value = annotation(doc, PATH_ANNOTATIONS)
    if value is None:
        return None
    clean = posixpath.normpath(value)
    where = "metadata.annotations"
    if posixpath.isabs(value) or clean == ".." or clean.startswith("../") or "\x00" in value:
        raise InputError([error(f"path annotation {value!r}: must be a relative path inside the package",
                                _synthetic(doc), where)])
    confine(os.path.join(cwd, clean), root, f"path annotation {value!r}", _synthetic(doc), where)
    return clean


def _generate(doc: dict[str, Any], options: opts.Options, cwd: str, root: str
              ) -> tuple[list[dict[str, Any]], list[Diagnostic]]:
    """Render one MeshFederation item; its objects carry the owner (and, in a package, the path
    and index) annotations."""
    path = _package_path(doc, cwd, root)
    owner = _owner(doc)
    directory = posixpath.dirname(path) if path else ""
    base_dir = os.path.join(cwd, directory) if directory else cwd
    rendered = render(documents=[Document(strip_bookkeeping(doc), owner, base_dir)], options=options, root=root)
    if not rendered.ok:
        return [], rendered.diagnostics
    target = f"{posixpath.splitext(path)[0]}{GENERATED_SUFFIX}" if path else None
    objects = []
    for index, obj in enumerate(rendered.objects):
        extra = {OWNER: owner}
        if target is not None:
            extra.update({key: target for key in PATH_ANNOTATIONS})
            extra.update({key: str(index) for key in INDEX_ANNOTATIONS})
        objects.append(with_annotations(obj, extra))
    return objects, rendered.diagnostics
