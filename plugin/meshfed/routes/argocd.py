"""`meshfed argocd ACTION`: the commands of the Argo CD config-management plugin (plugin.yaml).

argocd-cmp-server runs them without a shell, with the cwd set to the Application's directory
inside a private copy of the repository, stdin /dev/null, and these variables:

* `ARGOCD_APP_SOURCE_PATH`: `spec.source.path` as written. The repository root (the directory
  `spec.base` paths may not leave) is the cwd minus the cleaned source path; no `.git` needed.
* `ARGOCD_APP_NAMESPACE`: the destination namespace (may be empty or unset). It is the target
  namespace of documents that have no `metadata.namespace`.
* `ARGOCD_ENV_MESHFED_<OPTION>` (`spec.source.plugin.env` entries `MESHFED_*`) and the string
  parameters named as the options (`spec.source.plugin.parameters`, read from
  `ARGOCD_APP_PARAMETERS`; `PARAM_*` are ignored): both declared in the option table
  (`meshfed.values.options.TABLE`), with the array parameter of values files and the map parameter of
  `--set` assignments. A parameter beats the env entry, which beats the document, which beats
  `ARGOCD_APP_NAMESPACE`. An empty value counts as unset; unknown names are errors.
* `KUBE_VERSION` and `KUBE_API_VERSIONS`: what the destination cluster runs and serves, which
  Argo CD gives helm as `--kube-version` and `--api-versions`; read as those flags of `meshfed
  render` (the option table's rows with `cluster`).

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

from ..values import options as opts
from ..api import declared_options, render
from ..appdir import KUSTOMIZATIONS, discovered, in_repository, kustomization_problems
from ..values.diagnostics import EXIT_INVALID, EXIT_OK, Diagnostic, InputError, did_you_mean, error, printable
from .flags import ARGOCD_ACTIONS
from ..output.serialize import write_yaml
from ..values.source import Root, confine, find_root, inside, working_directory

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

PROG = "meshfed"
ENV_PREFIX = "ARGOCD_ENV_"
# The plugin env entries (spec.source.plugin.env, seen as ARGOCD_ENV_<name>) and parameters, from
# the option table: the string parameters are options of the core; the array parameter holds
# values files (like helm's -f), the map parameter assignments (like --set).
ENV_OPTIONS = {option.env: option.name for option in opts.TABLE if option.env}
# What Argo CD itself says about the destination cluster (its Kubernetes version, the API versions
# it serves), as helm's --kube-version and --api-versions.
CLUSTER = {option.cluster: option.name for option in opts.TABLE if option.cluster}
_COLLECTIONS = ("string", "array", "map")  # the announcement lists the string parameters first
PARAMETERS = sorted((option.parameter for option in opts.TABLE if option.parameter is not None),
                    key=lambda parameter: _COLLECTIONS.index(parameter.collection))
STRINGS = tuple(p.name for p in PARAMETERS if p.collection == "string")  # options of the core, by name
VALUE_FILES, VALUES = (next(p.name for p in PARAMETERS if p.collection == c) for c in ("array", "map"))
PARAMETER_NAMES = tuple(p.name for p in PARAMETERS)


def run(action: str, stdout: TextIO, stderr: TextIO) -> int:
    """Run one plugin action (`generate`, `discover` or `parameters`) in the current directory."""
    if action == "discover":
        return _discover(stdout, stderr)
    if action == "generate":
        return _generate(stdout, stderr)
    if action == "parameters":
        return _parameters(stdout, stderr)
    expected = f"{', '.join(ARGOCD_ACTIONS[:-1])} or {ARGOCD_ACTIONS[-1]}"
    print(f"{PROG} argocd: unknown action {action!r} (expected {expected})", file=stderr)
    return EXIT_INVALID


# --------------------------------------------------------------------------------------------
# discover (the rules of an application directory: meshfed.appdir)


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
        self.value_files = value_files  # the array parameter: paths inside the repository
        self.values = values  # the map parameter `values`: `--set` assignments
        self.problems = problems


def settings(environ: dict[str, str] | os._Environ) -> Settings:
    env = {key[len(ENV_PREFIX):]: value for key, value in environ.items()
           if key.startswith(ENV_PREFIX + "MESHFED_")}
    from_env, problems = opts.parse(env, "plugin env", names=STRINGS, spelling=ENV_OPTIONS)
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
            if name not in PARAMETER_NAMES:
                problems.append(error(f"unknown parameter (known: {', '.join(PARAMETER_NAMES)})"
                                      f"{did_you_mean(name, PARAMETER_NAMES)}", "parameter", printable(name, 80)))
                continue
            collection = "array" if name == VALUE_FILES else "map" if name == VALUES else "string"
            wrong = [k for k in ("string", "array", "map") if k in param and k != collection]
            if wrong:
                article = {"string": "a string", "array": "an array", "map": "a map"}
                problems.append(error(f"parameter {name!r} must be {article[collection]}, not {article[wrong[0]]}",
                                      "ARGOCD_APP_PARAMETERS", where))
            elif name == VALUE_FILES:
                files = param.get("array") or []
                if not isinstance(files, list) or not all(isinstance(f, str) and f for f in files):
                    problems.append(error(f"parameter {VALUE_FILES!r} must be a list of paths", "ARGOCD_APP_PARAMETERS",
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
    from_params, found = opts.parse(params, "parameter", names=STRINGS)
    from_cluster, about_cluster = opts.parse({name: environ[name] for name in CLUSTER if name in environ},
                                             "Argo CD's cluster env", names=tuple(CLUSTER.values()), spelling=CLUSTER)
    return Settings(from_params.over(from_env).over(from_cluster), value_files, values,
                    problems + found + about_cluster)


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


def _generate(stdout: TextIO, stderr: TextIO) -> int:
    asked = settings(os.environ)
    problems, value_files = list(asked.problems), []
    try:
        app_dir = working_directory()
        root = repo_root(app_dir, os.environ.get("ARGOCD_APP_SOURCE_PATH"))
        root = None if root is None else Root(root, "the repository copy Argo CD made", widened=False)
        confined = root if root is not None else find_root()
        problems += _linked_out(app_dir, confined) or kustomization_problems(app_dir)
        value_files = _value_files(asked.value_files, app_dir, confined, problems)
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
    """The map parameter `values` as helm's `--set PATH=VALUE` flags, in the order given, each
    entry one key and one value: its commas are escaped as Argo CD escapes those of its Helm
    parameters (a value written as a list, `{a,b}`, is kept; a comma already escaped too), and an
    entry that would still make more than one assignment is an error, never a second value."""
    if not values:
        return []
    from ..values.helmset import Assignment, commas_escaped
    return [Assignment("set", f"{path}={commas_escaped(value)}", parameter=path) for path, value in values.items()]


def _linked_out(app_dir: str, root: str) -> list[Diagnostic]:
    """The app directory's kustomization files that link out of it and the repository: refused
    unread (the kustomization check would show their keys)."""
    from ..values.source import within
    problems: list[Diagnostic] = []
    for name in KUSTOMIZATIONS:
        if os.path.lexists(os.path.join(app_dir, name)):
            try:
                within(os.path.join(app_dir, name), app_dir, root)
            except InputError as exc:
                problems += exc.diagnostics
    return problems


def _value_files(names: list[str], app_dir: str, root: str, problems: list[Diagnostic]) -> list[str]:
    """The array parameter's paths, relative to the app directory and confined to the
    repository like bases (a path leaving it is an error, not a read)."""
    paths = []
    for i, name in enumerate(names):
        try:
            confine(os.path.join(app_dir, name), root, f"value file {name}", "parameter", f"{VALUE_FILES}[{i}]")
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
    for p in PARAMETERS:
        if p.collection == "string":
            announcements.append({"name": p.name, "title": p.title, "tooltip": p.tooltip, "collectionType": "string",
                                  "string": defaults.get(p.name, "")})
        else:
            announcements.append({"name": p.name, "title": p.title, "collectionType": p.collection,
                                  p.collection: [] if p.collection == "array" else {}, "tooltip": p.tooltip})
    stdout.write(json.dumps(announcements, separators=(",", ":")) + "\n")
    stdout.flush()
    return EXIT_OK


def _document_defaults(declared: list[opts.Options]) -> dict[str, str]:
    """The value every document agrees on, per option (a switch as the string `true`/`false`)."""
    defaults = {}
    for option in opts.CORE:
        if option.name not in STRINGS:
            continue
        values = {("true" if value else "false") if isinstance(value := getattr(o, option.dest), bool) else value
                  for o in declared}
        if len(values) == 1 and isinstance(value := next(iter(values)), str):
            defaults[option.name] = value
    return defaults
