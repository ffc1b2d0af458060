"""The `meshfed` command line: a thin adapter over `meshfed.api`.

Exit codes scripts can trust: 0 success, 1 invalid input, 2 usage error. Diagnostics go to
stderr; on an error nothing is written to stdout.
"""
from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Any, List, Optional

import typer

from .diagnostics import Diagnostic
from .flags import BY_DEST
from .options import FORMATS, LAYOUTS, SCOPES

app = typer.Typer(
    name="meshfed",
    help="Federate Istio meshes through GitOps: render MeshFederation specs (or the mesh-admin / "
         "namespace-admin charts' values files) into Istio resources.",
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


Scope = Enum("Scope", {c: c for c in SCOPES}, type=str)  # type: ignore[misc]
LayoutChoice = Enum("LayoutChoice", {c: c for c in LAYOUTS}, type=str)  # type: ignore[misc]
Format = Enum("Format", {c: c for c in FORMATS}, type=str)  # type: ignore[misc]


def version() -> str:
    """The installed distribution's version (what `pip install` recorded)."""
    from importlib.metadata import PackageNotFoundError, version as dist_version
    try:
        return dist_version("meshfed")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        print(f"meshfed {version()}")
        raise typer.Exit()


@app.callback()
def main(
    _version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                  help="Print meshfed's version and exit."),
) -> None:
    """Federate Istio meshes through GitOps: render MeshFederation specs (or the mesh-admin /
    namespace-admin charts' values files) into Istio resources."""


def _namespace(value: Optional[str]) -> Optional[str]:
    from .formats import is_dns_label
    if value is not None and not is_dns_label(value):
        raise typer.BadParameter(f"{value!r} is not a valid namespace name (a DNS label)")
    return value


FILES = typer.Argument(None, metavar="FILE|DIR", show_default=False,
                       help="MeshFederation documents, or directories holding them (the *.yaml files directly "
                            "inside; other documents such as kustomization.yaml are skipped).")
def _option(dest: str, default: Any = None, **extra: Any) -> Any:
    """The typer option of a flag declared in `meshfed.flags` (the fast path reads the same table)."""
    flag = BY_DEST[dest]
    extra.setdefault("show_default", False)
    return typer.Option(default, *flag.names, metavar=flag.metavar, help=flag.help, **extra)


VALUES = _option("values")
SCOPE = _option("scope")
NAMESPACE = _option("namespace", callback=_namespace)
LAYOUT = _option("layout")
ROOT = _option("root")
SET = _option("set_")
SET_STRING = _option("set_string")
SET_FILE = _option("set_file")
SET_JSON = _option("set_json")
SET_LITERAL = _option("set_literal")
ALLOW_EMPTY = _option("allow_empty", False)
CRDS = typer.Option(None, "--crds", metavar="[PATH]", show_default=False,
                    help="Validate the emitted objects as a cluster would (served versions, OpenAPI schema, CEL "
                         "rules, Istio's webhook checks) against CustomResourceDefinitions: with no PATH, the "
                         "ones bundled with meshfed (Istio 1.30.3, Gateway API v1.6.1, OpenShift Route v1); "
                         "with PATH (repeatable: files or directories, e.g. `kubectl get crd -o yaml` output), "
                         "those instead. Needs the `validate` extra (`pip install '.[validate]'`).")


def optional_crds(args: list[str]) -> list[str]:
    """`--crds` takes an optional value (click cannot say so for a repeatable option): a bare
    `--crds`, last or before another option, becomes `--crds=`, the bundled set."""
    out = list(args)
    for i, arg in enumerate(out):
        if arg == "--crds" and (i + 1 == len(out) or out[i + 1].startswith("-")):
            out[i] = "--crds="
    return out


def _cluster_problems(objects: list, crds: Optional[List[str]]) -> list[str]:
    """The messages the cluster would reject the objects with ([] when no CRDs are given)."""
    if crds is None:
        return []
    from .clustercheck import validate_objects
    paths = [Path(c) for c in crds if c]  # `--crds=` alone: the bundled set
    try:
        return [str(p) for p in validate_objects(objects, paths)]
    except RuntimeError as exc:  # the validate extra is not installed
        raise typer.BadParameter(str(exc), param_hint="--crds") from None
    except OSError as exc:
        raise typer.BadParameter(f"cannot read the CRDs: {exc.strerror or exc}", param_hint="--crds") from None


def _print_diagnostics(diagnostics: list[Diagnostic]) -> None:
    for d in diagnostics:
        print(d, file=sys.stderr)


def _assignments(**flags: Optional[List[str]]) -> list:
    """helm's --set* flags, by kind (helm applies them kind by kind: set-json, set, set-string,
    set-file, set-literal; each kind in command-line order)."""
    if not any(flags.values()):
        return []
    from .helmset import Assignment
    return [Assignment(kind.replace("_", "-"), e) for kind, given in flags.items() for e in given or []]


def _render(files: Optional[List[Path]], values: Optional[List[Path]], scope: Optional[Scope],
            namespace: Optional[str], layout: Optional[LayoutChoice], root: Optional[Path], allow_empty: bool,
            assignments: list):
    from .api import render as render_request
    from .options import Options
    if not files and not values:
        raise typer.BadParameter("give MeshFederation files or directories, or -f values files",
                                 param_hint="FILE|DIR")
    options = Options(scope.value if scope else None, namespace, layout.value if layout else None,
                      True if allow_empty else None)
    return render_request(files or [], values_files=values or [], options=options, root=root,
                          assignments=assignments)


@app.command()
def render(
    files: Optional[List[Path]] = FILES,
    values: Optional[List[Path]] = VALUES,
    scope: Optional[Scope] = SCOPE,
    namespace: Optional[str] = NAMESPACE,
    layout: Optional[LayoutChoice] = LAYOUT,
    output: Format = _option("output", Format.yaml, show_default=True),  # type: ignore[attr-defined]  # members from FORMATS
    root: Optional[Path] = ROOT,
    allow_empty: bool = ALLOW_EMPTY,
    set_: Optional[List[str]] = SET,
    set_string: Optional[List[str]] = SET_STRING,
    set_file: Optional[List[str]] = SET_FILE,
    set_json: Optional[List[str]] = SET_JSON,
    set_literal: Optional[List[str]] = SET_LITERAL,
    check: bool = typer.Option(False, "--check", help="Validate the output as a cluster would before writing it "
                                                     "(against --crds PATH, else the bundled CRDs)."),
    crds: Optional[List[str]] = CRDS,
) -> None:
    """Render the resources to stdout (byte-identical for the same input). Warnings and errors go
    to stderr; on any error stdout stays empty and the exit code is 1."""
    from .output import dump_json, dump_yaml
    result = _render(files, values, scope, namespace, layout, root, allow_empty,
                     _assignments(set=set_, set_string=set_string, set_file=set_file, set_json=set_json,
                                  set_literal=set_literal))
    _print_diagnostics(result.diagnostics)
    if not result.ok:
        raise typer.Exit(1)
    rejected = _cluster_problems(result.objects, (crds or [""]) if check else None)
    for message in rejected:
        print(message, file=sys.stderr)
    if rejected:
        raise typer.Exit(1)
    text = dump_json(result.objects) if output.value == "json" else dump_yaml(result.objects)
    sys.stdout.write(text)


@app.command()
def validate(
    files: Optional[List[Path]] = FILES,
    values: Optional[List[Path]] = VALUES,
    scope: Optional[Scope] = SCOPE,
    namespace: Optional[str] = NAMESPACE,
    layout: Optional[LayoutChoice] = LAYOUT,
    root: Optional[Path] = ROOT,
    allow_empty: bool = ALLOW_EMPTY,
    set_: Optional[List[str]] = SET,
    set_string: Optional[List[str]] = SET_STRING,
    set_file: Optional[List[str]] = SET_FILE,
    set_json: Optional[List[str]] = SET_JSON,
    set_literal: Optional[List[str]] = SET_LITERAL,
    crds: Optional[List[str]] = CRDS,
    each: bool = typer.Option(False, "--each", help="Validate each FILE|DIR on its own, as an application of "
                              "its own (together they are one application, whose objects may not collide), "
                              "and skip named files that hold no MeshFederation document (values files, "
                              "kustomization.yaml, other tools' YAML): the pre-commit hook meshfed-validate "
                              "runs this on the changed files."),
) -> None:
    """Report every problem (errors and warnings) with its file and field path; with --crds, also
    what the cluster would reject in the output. Exit 1 on any error."""
    assignments = _assignments(set=set_, set_string=set_string, set_file=set_file, set_json=set_json,
                               set_literal=set_literal)

    def valid(paths: Optional[List[Path]], label: str) -> bool:
        """Validate one application: print its problems, or its summary when it has none."""
        result = _render(paths, values, scope, namespace, layout, root, allow_empty, assignments)
        _print_diagnostics(result.diagnostics)
        rejected = _cluster_problems(result.objects, crds) if result.ok else []
        for message in rejected:
            print(message, file=sys.stderr)
        if not result.ok or rejected:
            return False
        warnings = sum(d.severity == "warning" for d in result.diagnostics)
        print(f"{label}valid: {len(result.objects)} resources, {warnings} warnings", file=sys.stderr)
        return True

    if not (each and files):
        ok = valid(files, "")
    else:
        from .source import display
        ok = True
        for path in files:
            name = display(path)
            if path.is_dir() or _holds_federation(path, name):
                ok = valid([path], f"{name}: ") and ok  # every file is validated, also after a failure
            else:
                print(f"{name}: skipped: no MeshFederation document", file=sys.stderr)
    if not ok:
        raise typer.Exit(1)


def _holds_federation(path: Path, name: str) -> bool:
    """Whether `validate --each` validates a named file: it holds a MeshFederation document, or
    it cannot be read, or cannot be parsed and mentions the kind (the render then says why)."""
    from .diagnostics import InputError
    from .document import is_federation, read_documents
    try:
        return any(is_federation(d) for d in read_documents(path, name))
    except InputError:
        return True


@app.command()
def schema(
    values_only: bool = typer.Option(False, "--values", help="Print the schema of plain values files instead."),
    federation: bool = typer.Option(False, "--federation", help="Print the schema of the Federation document instead."),
) -> None:
    """Print the JSON Schema of the MeshFederation document (self-contained), of the Federation
    document, or of the values, for editor completion and validation."""
    from .schema import bundled_schema, editor_values_schema
    if values_only and federation:
        print("Error: --values and --federation exclude each other", file=sys.stderr)
        raise typer.Exit(2)
    doc = editor_values_schema() if values_only else bundled_schema("federation" if federation else "meshfederation")
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")


@app.command()
def krm() -> None:
    """Run as a KRM function: read a ResourceList on stdin, write one on stdout (kustomize
    generators, transformers, container functions)."""
    from . import krm as krm_adapter
    raise typer.Exit(krm_adapter.run(sys.stdin.buffer, sys.stdout, sys.stderr))


@app.command("kustomize-plugin")
def kustomize_plugin(config: str = typer.Argument(..., help="The config file kustomize passes (argv[1]).")) -> None:
    """Run as kustomize's legacy exec plugin (what kustomize/plugin/.../MeshFederation calls)."""
    from . import execplugin
    raise typer.Exit(execplugin.run(config, sys.stdout, sys.stderr))


class ArgoAction(str, Enum):
    generate = "generate"
    discover = "discover"
    parameters = "parameters"


@app.command()
def argocd(action: ArgoAction = typer.Argument(..., help="generate, discover or parameters")) -> None:
    """Run as the Argo CD config-management plugin (commands of plugin.yaml)."""
    from . import argocd as argocd_adapter
    raise typer.Exit(argocd_adapter.run(action.value, sys.stdout, sys.stderr))


class GraphFormat(str, Enum):
    mermaid = "mermaid"
    dot = "dot"
    svg = "svg"


@app.command()
def check(
    directory: List[Path] = typer.Argument(..., metavar="PATH...", help="Repository directories "
                                           "holding every cluster's MeshFederation documents (searched "
                                           "recursively), or Federation documents: a Federation stands for "
                                           "the applications no document found renders."),
    root: Optional[Path] = ROOT,
) -> None:
    """Check a whole federation across clusters: imports that no cluster exports, port mismatches,
    unknown or conflicting meshes and networks, exports nobody imports. Exit 1 on any error."""
    from .federation import check as check_federation
    diagnostics = check_federation(directory, root)
    _print_diagnostics(diagnostics)
    if any(d.severity == "error" for d in diagnostics):
        raise typer.Exit(1)


@app.command("krm-check")
def krm_check() -> None:
    """Run the federation check as a KRM validator: the ResourceList passes through unchanged,
    problems become results, and any error exits non-zero."""
    from .federation import krm_validate
    raise typer.Exit(krm_validate(sys.stdin.buffer, sys.stdout, sys.stderr))


@app.command()
def graph(
    directory: List[Path] = typer.Argument(..., metavar="PATH...",
                                           help="Repository directories or Federation documents to draw."),
    output: GraphFormat = typer.Option(GraphFormat.mermaid, "-o", "--output", help="mermaid, dot, or svg (Graphviz)."),
    root: Optional[Path] = ROOT,
) -> None:
    """Draw the federation: clusters, services, and the paths requests take between them."""
    from .federation import graph as draw
    from .diagnostics import InputError
    try:
        sys.stdout.write(draw(directory, root, output.value))
    except InputError as exc:
        _print_diagnostics(exc.diagnostics)
        raise typer.Exit(1) from None


@app.command()
def explain(
    host: str = typer.Argument(..., help="The hostname a client calls, e.g. ratings.mesh.global."),
    cluster: str = typer.Option(..., "--cluster", help="The calling cluster (its mesh name, or its overlay directory name)."),
    directory: List[Path] = typer.Argument(..., metavar="PATH...",
                                           help="Repository directories or Federation documents."),
    root: Optional[Path] = ROOT,
) -> None:
    """Explain the path a request to HOST from a cluster takes, resource by resource, naming the
    file each resource comes from."""
    from .federation import explain as explain_path
    from .diagnostics import InputError
    try:
        sys.stdout.write(explain_path(host, cluster, directory, root))
    except InputError as exc:
        _print_diagnostics(exc.diagnostics)
        raise typer.Exit(1) from None


federation_app = typer.Typer(
    help="Work with a Federation document: one source for a whole federation, from which every "
         "cluster's MeshFederation documents derive their remotes, exports and imports.",
    no_args_is_help=True,
)
app.add_typer(federation_app, name="federation")


@federation_app.command("scaffold")
def federation_scaffold(
    federation: Path = typer.Argument(..., help="The Federation document's file."),
    out: Path = typer.Option(..., "--out", help="Where the application directories go: <out>/<cluster>/<app>/."),
    root: Optional[Path] = ROOT,
) -> None:
    """Write one application directory per cluster and tier or namespace (<cluster>/mesh,
    <cluster>/<namespace>): a kustomization.yaml and a MeshFederation naming the Federation, the
    layout the ApplicationSet in kustomize/argocd/ picks up. Prints the files it changed. Files
    it wrote earlier are rewritten; any other file in the way stops the run before anything is
    written. Applications the Federation no longer has are reported, not deleted."""
    from .diagnostics import InputError
    from .federation.scaffold import scaffold
    from .source import display
    try:
        changed, diagnostics = scaffold(federation, out, root)
    except InputError as exc:
        _print_diagnostics(exc.diagnostics)
        raise typer.Exit(1) from None
    _print_diagnostics(diagnostics)
    for path in changed:
        print(display(path))


@federation_app.command("import")
def federation_import(
    directory: List[Path] = typer.Argument(..., metavar="DIR...", help="Repository directories holding every "
                                           "cluster's MeshFederation documents (<dir>/<cluster>/<app>/)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", metavar="FILE",
                                          help="Write the Federation here (atomically) instead of to stdout; its "
                                               "base paths are relative to FILE (to the working directory for stdout)."),
    force: bool = typer.Option(False, "--force", help="Replace FILE when it exists."),
    root: Optional[Path] = ROOT,
) -> None:
    """Write the Federation document that reproduces a repository of per-cluster documents: every
    application scaffolded from it renders the same bytes (checked before anything is written).
    What a Federation cannot say is an error naming the file and field."""
    from .diagnostics import InputError
    from .federation.importer import import_repository, write
    try:
        text, warnings = import_repository(directory, output, root)
        if output is not None:
            write(text, output, force)
    except InputError as exc:
        _print_diagnostics(exc.diagnostics)
        raise typer.Exit(1) from None
    _print_diagnostics(warnings)
    if output is None:
        sys.stdout.write(text)


class DiffFormat(str, Enum):
    text = "text"
    markdown = "markdown"
    json = "json"


class Colour(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


def _colour(choice: Colour) -> bool:
    """`auto`: on a terminal, unless NO_COLOR is set or TERM is dumb."""
    if choice is not Colour.auto:
        return choice is Colour.always
    import os
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


@app.command()
def diff(
    directory: Optional[List[Path]] = typer.Argument(
        None, metavar="DIR", show_default=False,
        help="Directories of the git repository to look for applications in (recursively; default: all of it)."),
    base: Optional[str] = typer.Option(None, "--base", metavar="REF", show_default=False,
                                       help="The revision to compare with. Default: the merge base of HEAD with its "
                                            "upstream branch, else HEAD."),
    head: Optional[str] = typer.Option(None, "--head", metavar="REF", show_default=False,
                                       help="The revision to compare. Default: the work tree (tracked files as on "
                                            "disk and untracked files that are not ignored)."),
    output: DiffFormat = typer.Option(DiffFormat.text, "-o", "--output",
                                      help="text, markdown (a pull-request comment) or json."),
    color: Colour = typer.Option(Colour.auto, "--color",
                                 help="Colour the text: auto (on a terminal), always or never."),
    exit_code: bool = typer.Option(False, "--exit-code",
                                   help="Exit as `git diff --exit-code`: 0 no differences, 1 differences, and 3 "
                                        "when an application does not render (or git fails)."),
) -> None:
    """Show the objects a change adds, removes and changes, per application, between two git
    revisions. Applications are the directories the Argo CD plugin takes and the kustomizations
    whose generators are meshfed's; objects are matched by application, API group, kind,
    namespace and name. The work tree, index and stash are never touched. An application that
    does not render at either revision is reported (revision, file, field) and the others are
    still compared. Exit codes: 0, or 1 on any error; with --exit-code 0 (same), 1 (differences)
    or 3 (errors)."""
    from .diff import run as run_diff
    raise typer.Exit(run_diff(directory or [], base, head, output.value, _colour(color), exit_code,
                              sys.stdout, sys.stderr))
