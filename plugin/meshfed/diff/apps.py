"""The applications of one revision, and what each of them renders.

An application is a directory, named by its path from the repository root:

* one the Argo CD plugin takes (`appdir.discovered`): rendered as `argocd generate` renders it,
  with its kustomization check, but without what only the Application knows (plugin env,
  parameters, the destination namespace);
* else one whose kustomization lists files holding MeshFederation documents under `generators:`
  (the exec plugin or the KRM function): those documents rendered as the exec plugin renders
  them. The kustomization's other resources are not meshfed's and are not compared.
"""
from __future__ import annotations

import contextlib
import os
import posixpath
from pathlib import Path

from ..api import Document, Inputs, read_inputs
from ..appdir import KUSTOMIZATIONS, discovered, in_repository, kustomization_problems
from ..values.diagnostics import Diagnostic, InputError, error, failure
from ..output.serialize import yaml_documents
from ..output.resources import is_meshfederation, object_key, strip_bookkeeping
from ..values.source import DOCUMENT_SUFFIXES, Root, confine, mentions, read_file
from ..values.yamlio import parse_all

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..output.resources import Key
    from ..values.meshfederation import Known


class App:
    """An application directory at one revision: `generators` are its kustomization's
    MeshFederation files when kustomize is its route, None when the Argo CD plugin renders it;
    `problems` make it an error without a render (a generator outside the repository, a document
    that is an LFS pointer). `read` is what `app_digest` read of it, kept for the render that
    follows (`render_app` takes it): each application is read once per revision."""

    __slots__ = ("path", "generators", "problems", "read")

    def __init__(self, path: str, generators: list[str] | None, problems: list[Diagnostic] | None = None) -> None:
        self.path = path
        self.generators = generators
        self.problems = problems or []
        self.read: Read | None = None


def read_by_renders(path: bytes) -> bool:
    """Whether a render may read the file at `path` (of a revision's copy): documents, values
    files, bases and Federations are YAML or JSON files, and kustomizations are named as such.
    `meshfed diff` copies only these out of git."""
    file_name = os.fsdecode(path.rpartition(b"/")[2])
    return file_name.endswith(DOCUMENT_SUFFIXES) or file_name in KUSTOMIZATIONS


def lfs_pointer_errors(apps: dict[str, App], other: dict[str, App], pointers: list[str]) -> None:
    """Make every application (at either revision) that holds a document which is a Git LFS
    pointer at this revision an error there: it would otherwise look removed."""
    for pointer in pointers:
        path = posixpath.dirname(pointer) or "."
        if path in apps or path in other:
            problem = error("a Git LFS pointer, not the document: meshfed reads the files git holds and does "
                            "not fetch LFS content (keep an application's files out of LFS)", pointer)
            apps[path] = App(path, None, [*(apps[path].problems if path in apps else []), problem])
    ordered = sorted(apps.items())
    apps.clear()
    apps.update(ordered)


class Rendered:
    """An application at one revision: its objects as YAML text by identity, or its errors."""

    __slots__ = ("objects", "errors")

    def __init__(self, objects: dict[Key, str], errors: list[Diagnostic]) -> None:
        self.objects = objects
        self.errors = errors


def find_apps(tree: Path, dirs: list[str]) -> dict[str, App]:
    """The applications below `dirs` (paths from the root of `tree`; hidden directories skipped),
    by path. A directory missing at this revision holds none."""
    apps: dict[str, App] = {}
    for top in dirs:
        for here, subdirs, _ in os.walk(tree / top):
            subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
            path = Path(here).relative_to(tree).as_posix()
            if path in apps:
                continue
            app = _app(tree, path)
            if app is not None:
                apps[path] = app
    return dict(sorted(apps.items()))


def _app(tree: Path, path: str) -> App | None:
    directory = tree / path
    if discovered(directory) is not None:
        return App(path, None)
    generators, problems = _meshfed_generators(tree, path)
    return App(path, generators, problems) if generators or problems else None


def _meshfed_generators(tree: Path, path: str) -> tuple[list[str], list[Diagnostic]]:
    """The `generators:` entries of the directory's kustomization that are files holding a
    MeshFederation (a kustomization that cannot be read makes no application), and an error for
    each entry that leads out of the repository (absolute, `../`, or through a link), which is
    never read."""
    found: list[str] = []
    problems: list[Diagnostic] = []
    directory = tree / path
    for name in KUSTOMIZATIONS:
        if not (directory / name).is_file():
            continue
        try:
            docs = parse_all(read_file(directory / name, name), name)
        except InputError:
            continue
        data = docs[0] if len(docs) == 1 and isinstance(docs[0], dict) else {}
        entries = data.get("generators")
        for i, entry in enumerate(entries if isinstance(entries, list) else ()):
            if not isinstance(entry, str):
                continue
            try:
                with contextlib.chdir(tree):  # the root named as the renders name it
                    real = confine(directory / entry, tree, f"generator {entry}",
                                   posixpath.normpath(posixpath.join(path, name)), f"generators[{i}]")
            except InputError as exc:
                problems += exc.diagnostics
                continue
            if os.path.isfile(real) and _holds_meshfederation(Path(real)):
                found.append(entry)
    return found, problems


def _holds_meshfederation(path: Path) -> bool:
    try:
        return any(is_meshfederation(d) for d in parse_all(read_file(path, path.name), path.name))
    except InputError:  # rendering reports why it cannot be read, when it is meshfed's
        return mentions(path, b"MeshFederation")


class Read:
    """An application read at one revision: the problems that make it an error without a render
    (a kustomization the plugin refuses, generators that cannot be read), else its `inputs`."""

    __slots__ = ("problems", "inputs")

    def __init__(self, problems: list[Diagnostic], inputs: Inputs | None = None) -> None:
        self.problems = problems
        self.inputs = inputs


def _read(tree: Path, app: App, federations: Known) -> Read:
    """What the application's render reads, read once (`api.read_inputs`)."""
    if app.problems:
        return Read(app.problems)
    with contextlib.chdir(tree):  # messages name files from here: the repository root
        try:
            if app.generators is None:
                problems = [in_repository(d, app.path) for d in _kustomization_problems(tree / app.path)]
                if problems:
                    return Read(problems)
            paths, documents = _inputs(tree, app)
        except InputError as exc:
            return Read(exc.diagnostics)
        return Read([], read_inputs(paths, documents, root=_root(tree), federations=federations))


def render_app(tree: Path, app: App, federations: Known, objects: bool = True, head: bool = False) -> Rendered:
    """The application's objects (YAML from the one writer) or its errors, with files named from
    the repository root. `federations`: the Federation documents this revision's renders read.
    Without `objects`, only the errors: no object is built or written. At the `head` revision a
    part of a Federation the application reads that the Federation no longer gives is an error
    (`api.Inputs.stale`): the change left it behind. Renders what `app_digest` read, if it did."""
    read, app.read = app.read or _read(tree, app, federations), None
    if read.inputs is None:
        return Rendered({}, read.problems)
    with contextlib.chdir(tree):  # as it was read
        stale = read.inputs.stale() if head else []
        if stale:
            return Rendered({}, stale)
        result = read.inputs.render(lazy=not objects)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    if errors or not objects:
        return Rendered({}, errors)
    # Each object as `meshfed render` writes it, without the `---` that separates documents.
    built = list(result.objects)
    texts = yaml_documents(built)
    return Rendered({object_key(obj): text.removeprefix("---\n") for obj, text in zip(built, texts)}, [])


def app_digest(tree: Path, app: App, federations: Known, head: bool = False) -> str | None:
    """The digest of everything the application's render reads (`api.Inputs.digest`), None when
    only a render can tell (a problem reading it, a kustomization the plugin refuses; at the
    `head` revision, a part of a Federation it reads that is stale, as `render_app` finds). What
    it read is kept in `app.read` for `render_app`."""
    app.read = _read(tree, app, federations)
    if app.read.inputs is None:
        return None
    with contextlib.chdir(tree):  # as it was read
        return app.read.inputs.digest(fresh=head)


def _root(tree: Path) -> Root:
    """The root every render of a revision's copy is confined to: the repository."""
    return Root(str(tree), "the repository", widened=False)


def _inputs(tree: Path, app: App) -> tuple[list[Path], list[Document]]:
    """What the application's render reads: its directory (the Argo CD plugin's route) or its
    kustomization's generator documents (kustomize's)."""
    if app.generators is None:
        return [Path(app.path)], []
    return [], _generator_documents(tree, app)


def _kustomization_problems(directory: Path) -> list[Diagnostic]:
    try:
        return kustomization_problems(directory)
    except Exception as exc:  # noqa: BLE001 - an unreadable kustomization is this app's error
        return failure(exc)


def _generator_documents(tree: Path, app: App) -> list[Document]:
    """The MeshFederation documents of the generator files, as kustomize hands them to meshfed
    (its bookkeeping annotations, such as the KRM function's, stripped)."""
    documents, problems = [], []
    for entry in app.generators or ():
        name = posixpath.normpath(posixpath.join(app.path, entry))
        try:
            docs = parse_all(read_file(tree / name, name), name)
        except InputError as exc:
            problems += exc.diagnostics
            continue
        documents += [Document(strip_bookkeeping(d), name, (tree / name).parent) for d in docs if is_meshfederation(d)]
    if problems:
        raise InputError(problems)
    if not documents:
        raise InputError([error("no MeshFederation document in the kustomization's generators", app.path)])
    return documents
