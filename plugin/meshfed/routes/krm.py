"""`meshfed krm`: meshfed as a KRM function (a ResourceList on stdin, one on stdout), for
kustomize (`generators:`/`transformers:` with a function annotation) and kpt (`fn eval`,
`fn render`).

Items in, items out: every input item is kept, the functionConfig included (kustomize drops
local-config items itself), and what meshfed generates is added. Two uses, told apart by the
functionConfig:

* Generator: the functionConfig is a MeshFederation. It is rendered; its objects follow its echo
  among the items (or end the list).
* Transformer: any other functionConfig (a ConfigMap whose `data`, or another kind whose `spec`,
  holds options: the option table's rows with `krm`, `meshfed.values.options.NAMES`), or none. Every
  MeshFederation item is rendered, and marked `config.kubernetes.io/local-config: "true"` so that
  neither kustomize nor `kpt live apply` sends it to the cluster; its objects follow it. A Federation
  item (what documents name in `spec.federation`) is marked local-config too.

Generated objects carry `meshfed.io/generated-from: <document>`; a later run first drops the
objects an earlier run generated from the same documents, so running the function again (kpt
runs it on the package it wrote) replaces them. When the document has a path in the package
(kpt's `config.kubernetes.io/path`), its objects go to `<dir>/<name>.generated.yaml` beside it.
Relative `spec.base` and `spec.federation.path` paths resolve against the document's directory in
the package. The package is where the items' path annotations lead: kpt gives them relative to
the package it was pointed at but runs the function in its own working directory (kustomize sets
no paths and runs it in the kustomization root), so the package directory is the working
directory, or the nearest directory above it, or the one directory below it, that holds every
MeshFederation and Federation item's file (`_package_directory`). Paths may not leave the root
(`MESHFED_ROOT`, else the git work tree, else the working directory); a path annotation that is
absolute or leaves the root is refused.

Duplicates: an object meshfed generates may not collide with an input item or another generated
object of the same directory (kustomize gives no paths: one directory); input items that collide
among themselves are kpt's or kustomize's to judge and pass through (a package of several
clusters' application directories holds many kustomizations without a name).

stdout only ever holds one ResourceList. Problems become `results` and lines on stderr; any error
empties `items` and exits 1.
"""
from __future__ import annotations

import os
import posixpath

from ..values import options as opts
from ..api import Document, render
from ..values.diagnostics import Diagnostic, InputError, error
from ..values.federation_part import is_federation_part
from ..values.federation_spec import is_federation_spec
from ..resourcelist import FUNCTION_CONFIG, SYNTHETIC, Request, execute
from ..output.resources import (INDEX_ANNOTATIONS, LOCAL_CONFIG, OWNER, PATH_ANNOTATIONS, annotation,
                        annotations_of, duplicates, is_local_config, is_meshfederation, object_key,
                        resource_ref, strip_bookkeeping, with_annotations)
from ..values.source import confine, find_root, inside, working_directory

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO, TextIO

    from ..resourcelist import Problems

PROG = "meshfed krm"
ALLOW_EMPTY = opts.BY_DEST["allow_empty"]
GENERATED_SUFFIX = ".generated.yaml"
MAX_SEARCHED = 10_000  # directories below the working directory searched for the package


def run(stdin: BinaryIO, stdout: TextIO, stderr: TextIO) -> int:
    """Read a ResourceList from `stdin`, write exactly one ResourceList to `stdout`."""
    return execute(process, stdin, stdout, stderr, prefix=f"{PROG}: ")


def process(request: Request) -> tuple[list[dict[str, Any]], Problems]:
    """The output items and the problems (with the resource each one is about)."""
    root = find_root()
    cwd = _package_directory(request.items, working_directory(), root)
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
            elif is_federation_spec(item) or is_federation_part(item):  # what the documents derive from: never for the cluster
                item = _as_local_config(item)
            kept.append(item)
        if not sources and not options.allow_empty:
            problems.append((error("no MeshFederation among the items and the functionConfig is not one: nothing "
                                   f"to render (set {ALLOW_EMPTY.name}: \"true\" in the functionConfig if that is "
                                   "intended)"), None))
    generated: dict[int | None, list[dict[str, Any]]] = {}
    origins: list[tuple[dict[str, Any], str]] = []
    for doc, position in sources:
        ref = resource_ref(doc)
        try:
            objects, found = _generate(doc, options, cwd, root)
        except InputError as exc:
            objects, found = [], exc.diagnostics
        problems += [(d, ref) for d in found]
        generated.setdefault(position, []).extend(objects)
        origins += [(o, _owner(doc)) for o in objects]
    problems += [(d, None) for d in _collisions(kept, origins)]
    out: list[dict[str, Any]] = []
    for n, item in enumerate(kept):
        out.append(item)
        out += generated.get(n, [])
    return out + generated.get(None, []), problems


def _collisions(kept: list[dict[str, Any]], generated: list[tuple[dict[str, Any], str]]) -> list[Diagnostic]:
    """The duplicate-object check of what meshfed adds, directory by directory: each generated
    object against the input items (once each: their own duplicates pass through) and the other
    generated objects of its directory. What has no path belongs to every directory."""
    inputs: dict[str, dict[Any, str]] = {}
    for item in kept:
        path = annotation(item, PATH_ANNOTATIONS)
        inputs.setdefault(posixpath.dirname(posixpath.normpath(path)) if path else "", {}).setdefault(
            object_key(item), f"the input item {posixpath.normpath(path)}" if path else "the input items")
    added: dict[str, list[tuple[Any, str]]] = {}
    for obj, owner in generated:
        path = annotation(obj, PATH_ANNOTATIONS)
        added.setdefault(posixpath.dirname(path) if path else "", []).append((object_key(obj), owner))
    problems = []
    for scope in sorted(added):
        seen: dict[Any, str] = {}
        for where in sorted(inputs) if not scope else ["", scope]:
            for key, origin in inputs.get(where, {}).items():
                seen.setdefault(key, origin)
        problems += duplicates([*seen.items(), *added[scope]])
    return problems


def _package_directory(items: list[dict[str, Any]], cwd: str, root: str) -> str:
    """The directory the items' path annotations are relative to: the working directory, else the
    nearest directory above it (up to the root), else the one directory below it, holding the file
    of every MeshFederation and Federation item with a path (none: the working directory). kpt runs
    the function where kpt was started (`kpt fn eval overlays` from the parent), not in the package."""
    paths = sorted({posixpath.normpath(p) for i in items if is_meshfederation(i) or is_federation_spec(i)
                    if (p := annotation(i, PATH_ANNOTATIONS)) and not posixpath.isabs(p) and "\x00" not in p})
    paths = [p for p in paths if p != ".." and not p.startswith("../")]
    if not paths:
        return cwd

    def holds(directory: str) -> bool:
        return all(os.path.isfile(os.path.join(directory, p)) for p in paths)

    here = cwd
    while True:
        if holds(here):
            return here
        if here == root or os.path.dirname(here) == here or not inside(here, root):
            break
        here = os.path.dirname(here)
    below: list[str] = []
    for n, (here, dirs, _) in enumerate(os.walk(cwd)):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if n > MAX_SEARCHED or len(below) > 1:
            break
        if here != cwd and holds(here):
            below.append(here)
    if len(below) > 1:
        raise InputError([error(f"cannot tell which package the items' paths ({paths[0]}, ...) are relative to: "
                                "several directories below the working directory hold their files; run kpt from "
                                "the package directory")])
    return below[0] if below else cwd  # items of no file on disk: what they hold is all there is


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
