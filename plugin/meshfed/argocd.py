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
* `generate`: renders every MeshFederation document directly in the cwd (files `*.yaml` and
  `*.yml`, sorted by name, as `meshfed render DIR` reads a directory; other documents such as
  kustomization.yaml are ignored), one by one as kustomize's exec plugin does, and prints one
  YAML stream. Errors (including an empty
  result, which would make Argo CD prune the whole app) go to stderr with exit code 1 and
  nothing on stdout.
* `parameters`: prints the parameter announcement as a strict JSON array, with the defaults the
  documents imply. Never fails.
"""
from __future__ import annotations

import json
import os
import posixpath
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

EXIT_OK, EXIT_INVALID = 0, 1
PROG = "meshfed"
ENV_PREFIX = "ARGOCD_ENV_MESHFED_"
SUFFIXES = (".yaml", ".yml")  # as `meshfed render DIR` reads a directory
CHOICES = {"scope": ("mesh", "namespace", "all"), "layout": ("v1", "v2")}
OPTIONS = ("scope", "layout", "namespace")
_KIND_LINE = re.compile(r"^kind:\s*[\"']?MeshFederation[\"']?\s*(?:#.*)?$", re.MULTILINE)

ANNOUNCEMENTS = {
    "scope": ("Scope", "Tier to render: mesh, namespace or all. Default: spec.scope of the "
                       "documents, else inferred (namespace when import/export are set)."),
    "layout": ("Layout", "Chart generation: v1 or v2. Default: spec.layout of the documents, "
                         "else inferred from the values keys."),
    "namespace": ("Target namespace", "Overrides metadata.namespace of every document. Default: "
                                      "the document's metadata.namespace, else the Application's "
                                      "destination namespace."),
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


def main() -> None:  # `python -m meshfed.argocd ACTION`
    sys.exit(run(sys.argv[1] if len(sys.argv) > 1 else "", sys.stdout, sys.stderr))


# --------------------------------------------------------------------------------------------
# Reading the app directory


@dataclass
class DocFile:
    path: Path
    documents: list[dict[str, Any]] = field(default_factory=list)  # the MeshFederation docs
    error: str | None = None  # why the file could not be read, when it looks like one of ours


def scan(app_dir: Path) -> list[DocFile]:
    """The files directly in `app_dir` that hold MeshFederation documents, sorted by name."""
    from . import krm

    found: list[DocFile] = []
    try:
        entries = sorted(app_dir.iterdir(), key=lambda p: p.name)
    except OSError:
        return found
    for path in entries:
        if path.suffix not in SUFFIXES or not path.is_file():
            continue
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            found.append(DocFile(path, error=f"cannot read: {exc}"))
            continue
        if "MeshFederation" not in text:
            continue
        try:
            docs = krm.load_all(text)
        except Exception as exc:
            if _KIND_LINE.search(text):
                found.append(DocFile(path, error=f"invalid YAML: {krm.yaml_error_text(exc)}"))
            continue
        ours = [d for d in docs if krm.is_meshfederation(d)]
        if ours:
            found.append(DocFile(path, ours))
    return found


def _is_app_file(f: DocFile) -> bool:
    from . import krm

    return f.error is not None or any(not krm.has_function_annotation(d) for d in f.documents)


def _discover(stdout: TextIO, stderr: TextIO) -> int:
    try:
        for f in scan(Path(os.getcwd())):
            if _is_app_file(f):
                stdout.write(f.path.name + "\n")
                break
    except Exception as exc:  # discovery must never fail the repo-server's source detection
        print(f"{PROG} argocd discover: {exc}", file=stderr)
    return EXIT_OK


# --------------------------------------------------------------------------------------------
# Options


@dataclass
class Settings:
    options: dict[str, str]  # scope / layout / namespace given by parameters or env
    errors: list[str]


def settings(environ: dict[str, str] | os._Environ) -> Settings:
    options: dict[str, str] = {}
    errors: list[str] = []
    for key in sorted(k for k in environ if k.startswith(ENV_PREFIX)):
        name = key[len(ENV_PREFIX):].lower()
        label = f"plugin env {key[len('ARGOCD_ENV_'):]}"
        if name not in OPTIONS:
            errors.append(f"{label}: unknown variable (known: "
                          f"{', '.join('MESHFED_' + o.upper() for o in OPTIONS)})")
            continue
        _set_option(options, errors, name, environ[key], label)

    raw = environ.get("ARGOCD_APP_PARAMETERS")
    if raw is not None and raw.strip() not in ("", "null"):
        try:
            params = json.loads(raw)
        except ValueError as exc:
            params = None
            errors.append(f"ARGOCD_APP_PARAMETERS is not valid JSON: {exc}")
        if params is not None and not isinstance(params, list):
            errors.append("ARGOCD_APP_PARAMETERS must be a JSON list")
            params = None
        for param in params or []:
            if not isinstance(param, dict):
                errors.append("ARGOCD_APP_PARAMETERS: every parameter must be an object")
                continue
            name = param.get("name")
            label = f"parameter {name!r}"
            if name not in OPTIONS:
                errors.append(f"{label}: unknown parameter (known: {', '.join(OPTIONS)})")
                continue
            if "array" in param or "map" in param:
                errors.append(f"{label}: must be a string, not an array or a map")
                continue
            if "string" in param:
                _set_option(options, errors, name, param["string"], label)
    return Settings(options, errors)


def _set_option(options: dict[str, str], errors: list[str], name: str, value: Any,
                label: str) -> None:
    if not isinstance(value, str):
        errors.append(f"{label}: must be a string")
        return
    value = value.strip()
    if not value:
        return
    allowed = CHOICES.get(name)
    if allowed and value not in allowed:
        errors.append(f"{label}: {value!r} is not one of {', '.join(allowed)}")
        return
    if name == "namespace":
        from .formats import is_dns_label

        if not is_dns_label(value):
            errors.append(f"{label}: {value!r} is not a valid namespace name")
            return
    options[name] = value


def repo_root(cwd: Path, source_path: str | None) -> Path | None:
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
        if root.name != part or root.parent == root:
            break
        root = root.parent
    return root


# --------------------------------------------------------------------------------------------
# generate


def _generate(stdout: TextIO, stderr: TextIO) -> int:
    from . import krm

    app_dir = Path(os.getcwd())
    root = repo_root(app_dir, os.environ.get("ARGOCD_APP_SOURCE_PATH"))
    where = _display(app_dir, root) or "."
    conf = settings(os.environ)
    errors = list(conf.errors)
    warnings: list[str] = []
    objects: list[dict[str, Any]] = []
    files = scan(app_dir) if not errors else []
    default_ns = (os.environ.get("ARGOCD_APP_NAMESPACE") or "").strip() or None

    if not errors and not any(f.documents or f.error for f in files):
        errors.append(f"no MeshFederation document (apiVersion meshfed.io/v1alpha1, kind "
                      f"MeshFederation) directly in {where}")
    for f in files:
        rel = _display(f.path, root)
        if f.error:
            errors.append(f"{rel}: {f.error}")
            continue
        for index, doc in enumerate(f.documents):
            source = rel if len(f.documents) == 1 else f"{rel}#{index}"
            has_ns = bool(krm.resource_ref(doc).get("namespace"))
            namespace = conf.options.get("namespace") or (None if has_ns else default_ns)
            try:
                from .api import render_document

                result = render_document(
                    krm.strip_bookkeeping(doc), source=source, base_dir=app_dir, root=root,
                    scope=conf.options.get("scope"), layout=conf.options.get("layout"),
                    namespace=namespace)
                diagnostics, produced = list(result.diagnostics), list(result.objects)
            except Exception as exc:
                diagnostics = list(getattr(exc, "diagnostics", None) or [])
                produced = []
                if not diagnostics:
                    errors.append(f"{source}: internal error: {type(exc).__name__}: {exc}")
            for d in diagnostics:
                (errors if d.severity == "error" else warnings).append(
                    _strip_prefix(str(d), d.severity))
            objects.extend(o for o in produced if isinstance(o, dict))

    if not errors:
        seen: set[tuple[Any, ...]] = set()
        for obj in objects:
            key = krm.object_key(obj)
            if key in seen:
                errors.append(f"{krm.describe_key(key)} is generated twice (by two documents "
                              f"in {where})")
            seen.add(key)
    if not errors and not objects:
        errors.append(f"the MeshFederation documents in {where} render no resources; refusing "
                      "to return an empty manifest set, which would make Argo CD prune every "
                      "resource of the application")

    for w in warnings:
        print(f"warning: {w}", file=stderr)
    if errors:
        noun = "error" if len(errors) == 1 else "errors"
        print(f"{PROG}: cannot render {where} ({len(errors)} {noun}):", file=stderr)
        for e in errors:
            print(e, file=stderr)
        return EXIT_INVALID

    from .output import dump_yaml

    stdout.write(dump_yaml(objects))
    stdout.flush()
    return EXIT_OK


def _strip_prefix(text: str, severity: str) -> str:
    prefix = f"{severity}: "
    return text[len(prefix):] if text.startswith(prefix) else text


def _display(path: Path, root: Path | None) -> str:
    """`path` relative to the repository root: no temp-dir paths in messages."""
    base = root if root is not None else Path(os.getcwd())
    try:
        rel = path.relative_to(base).as_posix()
    except ValueError:
        return path.name
    return "" if rel == "." else rel


# --------------------------------------------------------------------------------------------
# parameters


def _parameters(stdout: TextIO, stderr: TextIO) -> int:
    defaults: dict[str, str] = {}
    try:
        defaults = _document_defaults(scan(Path(os.getcwd())))
    except Exception as exc:  # an announcement never fails; the generate step reports problems
        print(f"{PROG} argocd parameters: {exc}", file=stderr)
    if not defaults.get("namespace"):
        ns = (os.environ.get("ARGOCD_APP_NAMESPACE") or "").strip()
        if ns:
            defaults["namespace"] = ns
    announcements = []
    for name in OPTIONS:
        title, tooltip = ANNOUNCEMENTS[name]
        announcements.append({"name": name, "title": title, "tooltip": tooltip,
                              "collectionType": "string", "string": defaults.get(name, "")})
    stdout.write(json.dumps(announcements, separators=(",", ":")) + "\n")
    stdout.flush()
    return EXIT_OK


def _document_defaults(files: list[DocFile]) -> dict[str, str]:
    """The value every document agrees on, per option."""
    from . import krm

    docs = [d for f in files for d in f.documents]
    seen: dict[str, set[Any]] = {name: set() for name in OPTIONS}
    for d in docs:
        spec = d.get("spec") if isinstance(d.get("spec"), dict) else {}
        seen["scope"].add(spec.get("scope"))
        seen["layout"].add(spec.get("layout"))
        seen["namespace"].add(krm.resource_ref(d).get("namespace"))
    return {name: next(iter(values)) for name, values in seen.items()
            if len(values) == 1 and isinstance(next(iter(values)), str)}


if __name__ == "__main__":
    main()
