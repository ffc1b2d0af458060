"""`meshfed argocd ACTION`: the commands of the Argo CD config-management plugin (plugin.yaml).

argocd-cmp-server runs them without a shell, with the cwd set to the Application's directory
inside a private copy of the repository, stdin /dev/null, and these variables:

* `ARGOCD_APP_SOURCE_PATH`: `spec.source.path` as written. The repository root (the directory
  `spec.base` paths may not leave) is the cwd minus the cleaned source path; no `.git` needed.
* `ARGOCD_APP_NAMESPACE`: the destination namespace (may be empty or unset). It is the target
  namespace of documents that have no `metadata.namespace`.
* `ARGOCD_ENV_MESHFED_SCOPE`, `ARGOCD_ENV_MESHFED_LAYOUT`, `ARGOCD_ENV_MESHFED_NAMESPACE`
  (`spec.source.plugin.env` entries `MESHFED_*`) and the string parameters `scope`, `layout`,
  `namespace` (`spec.source.plugin.parameters`, read from `ARGOCD_APP_PARAMETERS`; `PARAM_*` are
  ignored). A parameter beats the env entry, which beats the document, which beats
  `ARGOCD_APP_NAMESPACE`. An empty value counts as unset; unknown names are errors.

Actions:

* `discover`: prints the name of the first file directly in the cwd that holds a MeshFederation
  document without a KRM function annotation (those are meant for kustomize), nothing otherwise;
  exits 0 either way. Plain values files (no `kind`) such as the platform base do not match.
* `generate`: renders the app directory as `meshfed render DIR` does (every `*.yaml`/`*.yml`/`*.json`
  file directly in it; a file that does not parse is an error, other kinds are skipped) and
  prints one YAML stream. A `kustomization.yaml` there may only list those documents under
  `generators:`; anything else in it (resources, patches, labels...) would be ignored, so it is
  refused, naming Argo CD's kustomize source with the exec plugin as the route to use. Errors
  (including an empty result, which would make Argo CD prune the whole app, unless allowed) go to
  stderr with exit code 1 and nothing on stdout.
* `parameters`: prints the parameter announcement as a strict JSON array, with the defaults the
  documents imply. Never fails.
"""
from __future__ import annotations

import json
import os
import posixpath

from . import options as opts
from .api import declared_options, render
from .diagnostics import EXIT_INVALID, EXIT_OK, Diagnostic, InputError, error, printable
from .output import write_yaml
from .resources import has_function_annotation, is_meshfederation
from .source import (MAX_FILE_BYTES, confine, document_files, find_root, inside, read_at_most, read_file,
                     working_directory)
from .yamlio import parse_all

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

    from .source import PathArg

PROG = "meshfed"
ENV_PREFIX = "ARGOCD_ENV_"
KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
KUSTOMIZATION_KEYS = ("apiVersion", "kind", "generators")
# The plugin env entries (spec.source.plugin.env, seen as ARGOCD_ENV_<name>) and parameters.
ENV_OPTIONS = {"MESHFED_SCOPE": "scope", "MESHFED_LAYOUT": "layout", "MESHFED_NAMESPACE": "namespace",
               "MESHFED_ALLOW_EMPTY": "allowEmpty"}
PARAMETERS = ("scope", "layout", "namespace", "allowEmpty")
VALUE_FILES, VALUES = "valueFiles", "values"  # like helm's -f and --set

ANNOUNCEMENTS = {
    "scope": ("Scope", "Tier to render: mesh, namespace or all. Default: spec.scope of the "
                       "documents, else inferred (namespace when import/export are set)."),
    "layout": ("Layout", "Chart generation: v1 or v2. Default: spec.layout of the documents, "
                         "else inferred from the values keys."),
    "namespace": ("Target namespace", "Overrides metadata.namespace of every document. Default: "
                                      "the document's metadata.namespace, else the Application's "
                                      "destination namespace."),
    "allowEmpty": ("Allow an empty render", "true to accept documents that render no resources "
                                            "(Argo CD then prunes the application's objects). "
                                            "Default: spec.allowEmpty of the documents, else false."),
}


def run(action: str, stdout: TextIO, stderr: TextIO) -> int:
    """Run one plugin action (`generate`, `discover` or `parameters`) in the current directory."""
    if action == "discover":
        return _discover(stdout, stderr)
    if action == "generate":
        return _generate(stdout, stderr)
    if action == "parameters":
        return _parameters(stdout, stderr)
    print(f"{PROG} argocd: unknown action {action!r} (expected generate, discover or parameters)",
          file=stderr)
    return EXIT_INVALID


# --------------------------------------------------------------------------------------------
# Reading the app directory


def _documents(path: str) -> list[Any] | None:
    """The documents of a file; None when it cannot be read or parsed (generate reports why)."""
    name = os.path.basename(path)
    try:
        return parse_all(read_file(path, name, MAX_FILE_BYTES), name)
    except InputError:
        return None


def _ours(path: str) -> bool:
    """Whether the file is for this plugin: it holds a MeshFederation without a KRM function
    annotation, or it cannot be parsed and mentions one (generate then reports the error rather
    than Argo CD finding no plugin for the app)."""
    docs = _documents(path)
    if docs is None:
        try:
            with open(path, "rb") as f:  # a regular file (see document_files): at most the reading limit
                return b"MeshFederation" in read_at_most(f, MAX_FILE_BYTES)
        except OSError:
            return False
    return any(is_meshfederation(d) and not has_function_annotation(d) for d in docs)


def discovered(app_dir: PathArg) -> str | None:
    """The file that makes `app_dir` an application of this plugin (what `discover` prints), or
    None. `meshfed diff` finds applications with it too."""
    return next((os.path.basename(path) for path in document_files(app_dir) if _ours(path)), None)


def _discover(stdout: TextIO, stderr: TextIO) -> int:
    try:
        found = discovered(working_directory())
        if found is not None:
            stdout.write(found + "\n")
    except Exception as exc:  # discovery must never fail the repo-server's source detection  # noqa: BLE001
        print(f"{PROG} argocd discover: {printable(str(exc))}", file=stderr)
    return EXIT_OK


# --------------------------------------------------------------------------------------------
# Options


class Settings:
    """What the plugin env and the parameters ask for (a parameter beats an env entry)."""

    __slots__ = ("options", "value_files", "values", "problems")

    def __init__(self, options: opts.Options, value_files: list[str], values: dict[str, str],
                 problems: list[Diagnostic]) -> None:
        self.options = options
        self.value_files = value_files  # the array parameter `valueFiles`: paths inside the repository
        self.values = values  # the map parameter `values`: `--set` assignments
        self.problems = problems


def settings(environ: dict[str, str] | os._Environ) -> Settings:
    env = {key[len(ENV_PREFIX):]: value for key, value in environ.items()
           if key.startswith(ENV_PREFIX + "MESHFED_")}
    from_env, problems = opts.parse(env, "plugin env", names=opts.NAMES, spelling=ENV_OPTIONS)
    raw = environ.get("ARGOCD_APP_PARAMETERS")
    params: dict[str, Any] = {}
    value_files: list[str] = []
    values: dict[str, str] = {}
    if raw is not None and raw.strip() not in ("", "null"):
        try:
            listed = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            listed = []
            problems.append(error(f"not valid JSON: {printable(str(exc), 200)}", "ARGOCD_APP_PARAMETERS"))
        if not isinstance(listed, list):
            problems.append(error("must be a JSON list", "ARGOCD_APP_PARAMETERS"))
            listed = []
        for i, param in enumerate(listed):
            where = f"[{i}]"
            if not isinstance(param, dict) or not isinstance(param.get("name"), str):
                problems.append(error("every parameter must be an object with a name", "ARGOCD_APP_PARAMETERS", where))
                continue
            name = param["name"]
            collection = "array" if name == VALUE_FILES else "map" if name == VALUES else "string"
            wrong = [k for k in ("string", "array", "map") if k in param and k != collection]
            if wrong:
                article = {"string": "a string", "array": "an array", "map": "a map"}
                problems.append(error(f"parameter {name!r} must be {article[collection]}, not {article[wrong[0]]}",
                                      "ARGOCD_APP_PARAMETERS", where))
            elif name == VALUE_FILES:
                files = param.get("array") or []
                if not isinstance(files, list) or not all(isinstance(f, str) and f for f in files):
                    problems.append(error("parameter 'valueFiles' must be a list of paths", "ARGOCD_APP_PARAMETERS",
                                          where))
                else:
                    value_files += files
            elif name == VALUES:
                given = param.get("map") or {}
                if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
                    problems.append(error("parameter 'values' must map value paths to strings",
                                          "ARGOCD_APP_PARAMETERS", where))
                else:
                    values.update(given)
            else:
                params[name] = param.get("string")
    from_params, found = opts.parse(params, "parameter", names=PARAMETERS)
    return Settings(from_params.over(from_env), value_files, values, problems + found)


def repo_root(cwd: str, source_path: str | None) -> str | None:
    """The root of the private repository copy: the cwd minus the cleaned source path.

    Components are stripped only while they match, so a tarball rooted below the repository
    (`--plugin-use-manifest-generate-paths`) yields that tarball's root. None when the variable is
    unset (outside Argo CD: the core then uses the enclosing git work tree)."""
    if source_path is None:
        return None
    cleaned = posixpath.normpath("/" + source_path.strip()).lstrip("/")
    parts = [p for p in cleaned.split("/") if p and p != "."]
    root = cwd
    for part in reversed(parts):
        if os.path.basename(root) != part or os.path.dirname(root) == root:
            break
        root = os.path.dirname(root)
    return root


# --------------------------------------------------------------------------------------------
# generate


def kustomization_problems(app_dir: PathArg) -> list[Diagnostic]:
    """A kustomization.yaml may only list this directory's MeshFederation files as generators:
    anything else would be ignored by this plugin, and ignoring it loses objects."""
    route = ("this plugin renders only the directory's MeshFederation documents and would ignore it; "
             "use Argo CD's kustomize source with meshfed's exec plugin instead (docs/integrations.md)")
    problems: list[Diagnostic] = []
    present = [name for name in KUSTOMIZATIONS if os.path.isfile(os.path.join(app_dir, name))]
    if not present:  # the common case: no file is read twice
        return problems
    documents = {os.path.basename(p) for p in document_files(app_dir)
                 if os.path.basename(p) not in KUSTOMIZATIONS
                 and ((docs := _documents(p)) is None or any(is_meshfederation(d) for d in docs))}
    for name in present:
        path = os.path.join(app_dir, name)
        docs = [d for d in parse_all(read_file(path, name), name) if d is not None]
        data = docs[0] if len(docs) == 1 and isinstance(docs[0], dict) else None
        if data is None:
            problems.append(error("must hold one map", name))
            continue
        problems += [error(route, name, str(key)) for key in data if key not in KUSTOMIZATION_KEYS]
        generators = data.get("generators") or []
        if not isinstance(generators, list):
            problems.append(error("must be a list", name, "generators"))
            continue
        for i, entry in enumerate(generators):
            if entry not in documents:
                problems.append(error(f"{printable(str(entry), 100)} is not a MeshFederation file of this "
                                      f"directory: {route}", name, f"generators[{i}]"))
        problems += [error(f"{doc} holds a MeshFederation that generators does not list: kustomize would not "
                           "render it, this plugin would; list it or move it", name, "generators")
                     for doc in sorted(documents - set(generators)) if generators]
    return problems


def _generate(stdout: TextIO, stderr: TextIO) -> int:
    asked = settings(os.environ)
    problems, value_files = list(asked.problems), []
    try:
        app_dir = working_directory()
        root = repo_root(app_dir, os.environ.get("ARGOCD_APP_SOURCE_PATH"))
        problems += kustomization_problems(app_dir)
        value_files = _value_files(asked.value_files, app_dir, root if root is not None else find_root(), problems)
    except InputError as exc:
        problems, app_dir, root = problems + exc.diagnostics, ".", None
    default_ns, why = opts.check_value("namespace", (os.environ.get("ARGOCD_APP_NAMESPACE") or "").strip())
    if why is not None:
        problems.append(error(why, "ARGOCD_APP_NAMESPACE"))
    where = _display(app_dir, root)
    if problems:
        return _report(problems, where, stderr)
    result = render(["."], values_files=value_files, options=asked.options, default_namespace=default_ns,
                    root=root, lazy=True, assignments=_assignments(asked.values), assigned_by="parameter values")
    diagnostics = [in_repository(d, where) for d in result.diagnostics]
    if not result.ok:
        return _report(diagnostics, where, stderr)
    for d in diagnostics:
        print(d, file=stderr)
    write_yaml(result.objects, stdout.write)
    stdout.flush()
    return EXIT_OK


def _assignments(values: dict[str, str]) -> list[Any]:
    """The map parameter `values` as helm's `--set PATH=VALUE` flags, in the order given."""
    if not values:
        return []
    from .helmset import Assignment
    return [Assignment("set", f"{path}={value}") for path, value in values.items()]


def _value_files(names: list[str], app_dir: str, root: str, problems: list[Diagnostic]) -> list[str]:
    """The `valueFiles` parameter's paths, relative to the app directory and confined to the
    repository like bases (a path leaving it is an error, not a read)."""
    paths = []
    for i, name in enumerate(names):
        try:
            confine(os.path.join(app_dir, name), root, f"value file {name}", "parameter", f"valueFiles[{i}]")
        except InputError as exc:
            problems += exc.diagnostics
            continue
        paths.append(name)
    return paths


def _display(app_dir: str, root: str | None) -> str:
    """The app directory relative to the repository root: no temp-dir paths in messages."""
    if root is None:
        return "."
    if not inside(app_dir, root):
        return os.path.basename(app_dir) or "."
    return posixpath.relpath(app_dir, root) if app_dir != root else "."


def in_repository(d: Diagnostic, where: str) -> Diagnostic:
    """A diagnostic whose file is named from the repository root, as the Argo CD UI shows it."""
    if not d.file or d.file.startswith(("<", "/")) or where == ".":
        return d
    return Diagnostic(d.severity, d.message, posixpath.normpath(posixpath.join(where, d.file)), d.path)


def _report(problems: list[Diagnostic], where: str, stderr: TextIO) -> int:
    errors = sum(d.severity == "error" for d in problems)
    print(f"{PROG}: cannot render {where} ({errors} error{'s' if errors != 1 else ''}):", file=stderr)
    for d in problems:
        print(d, file=stderr)
    return EXIT_INVALID


# --------------------------------------------------------------------------------------------
# parameters


def _parameters(stdout: TextIO, stderr: TextIO) -> int:
    defaults: dict[str, str] = {}
    try:
        app_dir = working_directory()
        defaults = _document_defaults(declared_options(".", repo_root(app_dir, os.environ.get(
            "ARGOCD_APP_SOURCE_PATH"))))
    except InputError:  # the generate step reports the documents' problems
        pass
    except Exception as exc:  # an announcement never fails; the generate step reports problems  # noqa: BLE001
        print(f"{PROG} argocd parameters: {printable(str(exc))}", file=stderr)
    if not defaults.get("namespace"):
        ns = (os.environ.get("ARGOCD_APP_NAMESPACE") or "").strip()
        if ns:
            defaults["namespace"] = ns
    announcements: list[dict[str, Any]] = []
    for name in PARAMETERS:
        title, tooltip = ANNOUNCEMENTS[name]
        announcements.append({"name": name, "title": title, "tooltip": tooltip,
                              "collectionType": "string", "string": defaults.get(name, "")})
    announcements.append({"name": VALUE_FILES, "title": "Values files", "collectionType": "array", "array": [],
                          "tooltip": "Plain Helm values files merged after the documents' values, in order "
                                     "(like helm's -f): paths relative to the app directory, inside the repository."})
    announcements.append({"name": VALUES, "title": "Values", "collectionType": "map", "map": {},
                          "tooltip": "Assignments applied last, with helm's --set rules "
                                     "(global.remote[0].addresses[0]: 192.0.2.10)."})
    stdout.write(json.dumps(announcements, separators=(",", ":")) + "\n")
    stdout.flush()
    return EXIT_OK


def _document_defaults(declared: list[opts.Options]) -> dict[str, str]:
    """The value every document agrees on, per option."""
    seen: dict[str, set[Any]] = {name: set() for name in PARAMETERS}
    for o in declared:
        seen["scope"].add(o.scope)
        seen["layout"].add(o.layout)
        seen["namespace"].add(o.namespace)
        seen["allowEmpty"].add(None if o.allow_empty is None else ("true" if o.allow_empty else "false"))
    return {name: next(iter(values)) for name, values in seen.items()
            if len(values) == 1 and isinstance(next(iter(values)), str)}
