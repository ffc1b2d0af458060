"""The `meshfed` command line: a thin adapter over `meshfed.api`.

Exit codes scripts can trust: 0 success, 1 invalid input, 2 usage error. Diagnostics go to
stderr; on an error nothing is written to stdout.
"""
from __future__ import annotations

import functools
import inspect
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, List, Optional

import typer

from ..values.diagnostics import Diagnostic, did_you_mean
from .flags import ARGOCD_ACTIONS, FLAGS, RenderArgs, render as run_render, set_kind
from ..values.options import BY_DEST, DIRECTORY, INPUT, SWITCH, Option, refusal

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


FILES = typer.Argument(None, metavar="FILE|DIR", show_default=False,
                       help="MeshFederation documents, or directories holding them (the *.yaml files directly "
                            "inside; other documents such as kustomization.yaml are skipped).")


def _checked(option: Option) -> Callable[[Any], Any]:
    """The table's check of a flag's value (click checks choices and paths itself)."""
    def check(value: Any) -> Any:
        for item in value if isinstance(value, list) else [value]:  # a repeatable flag: each value
            given = str(item) if isinstance(item, Path) else item  # `--root` comes as a Path
            why = refusal(option, given) if isinstance(given, str) else None
            if why is not None:
                raise typer.BadParameter(why + (did_you_mean(given, option.choices) if option.choices else ""))
        return value
    return check


def metavar(option: Option) -> str | None:
    """How `--help` shows a flag's value, in the one style of every command: a word in capitals
    (`NAMESPACE`, `DIR`, `PATH=VALUE`), or the choices (`mesh|namespace|all`)."""
    if option.kind == SWITCH:
        return None
    if option.metavar:
        return option.metavar
    if option.choices:
        return "|".join(option.choices)
    return "DIR" if option.kind == DIRECTORY else option.dest.upper()


def _parameter(option: Option) -> inspect.Parameter:
    """The typer parameter of a flag of the option table (the fast path reads the same row)."""
    # Choices are plain strings checked by the table (typer's choices would word the refusal in
    # its own terms); `metavar` shows them.
    value: Any = {DIRECTORY: Path, INPUT: Path, SWITCH: bool}.get(option.kind, str)
    annotation = Optional[List[value]] if option.repeat else value if option.kind == SWITCH else Optional[value]
    info = typer.Option(option.default, *option.flags, metavar=metavar(option), help=option.help,
                        show_default=option.default not in (None, False),
                        callback=None if option.kind == SWITCH else _checked(option))
    return inspect.Parameter(option.dest, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=annotation)


def render_flags(*, exclude: tuple[str, ...] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a typer command the flags of the option table (but `exclude`), between its FILE|DIR
    arguments (`files`) and its own options; it receives them as one `RenderArgs`, `flags`."""
    rows = [option for option in FLAGS if option.dest not in exclude]

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
               for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "flags"]
        parameters = [own[0], *(_parameter(option) for option in rows), *own[1:]]

        @functools.wraps(command)
        def with_flags(**given: Any) -> Any:
            values = {option.dest: given.pop(option.dest) for option in rows}
            sets = [(kind, e) for option in rows if (kind := set_kind(option)) for e in values.pop(option.dest) or ()]
            return command(**given, flags=RenderArgs(given["files"] or [], sets, **{
                dest: value for dest, value in values.items() if value is not None}))

        with_flags.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        with_flags.__annotations__ = {p.name: p.annotation for p in parameters}
        return with_flags
    return decorate


ROOT = _parameter(BY_DEST["root"]).default
def _existing(paths: Optional[List[str]]) -> Optional[List[str]]:
    """`--crds PATH`: checked before anything is rendered."""
    for path in paths or ():
        if not path or not os.path.exists(path):
            raise typer.BadParameter(f"{path!r}: no such file or directory")
    return paths


CRDS = typer.Option(None, "--crds", metavar="PATH", show_default=False, callback=_existing,
                    help="Validate against these CustomResourceDefinitions instead of the bundled ones (implies "
                         "--check): files or directories, e.g. `kubectl get crd -o yaml` output. Repeatable; always "
                         "takes a value, as helm's and kubectl's path flags do.")
CHECK = typer.Option(False, "--check", help="Validate the emitted objects as a cluster would (served versions, "
                     "OpenAPI schema, CEL rules, Istio's webhook checks) against the CRDs bundled with meshfed "
                     "(Istio 1.30.3, Gateway API v1.6.1, OpenShift Route v1), or those of --crds. Needs the "
                     "`validate` extra (`pip install '.[validate]'`).")


def _cluster_problems(objects: list, check: bool, crds: Optional[List[str]]) -> list[str]:
    """The messages the cluster would reject the objects with ([] without --check or --crds)."""
    if not check and not crds:
        return []
    from ..clustercheck import validate_objects
    paths = [Path(c) for c in crds or ()]  # none: the bundled set
    try:
        return [str(p) for p in validate_objects(objects, paths)]
    except RuntimeError as exc:  # the validate extra is not installed
        raise typer.BadParameter(str(exc), param_hint="--check") from None
    except OSError as exc:
        raise typer.BadParameter(f"cannot read the CRDs: {exc.strerror or exc}", param_hint="--crds") from None


def _print_diagnostics(diagnostics: list[Diagnostic]) -> None:
    for d in diagnostics:
        print(d, file=sys.stderr)


@app.command()
@render_flags()
def render(
    files: Optional[List[Path]] = FILES,
    check: bool = CHECK,
    crds: Optional[List[str]] = CRDS,
    *,
    flags: RenderArgs,
) -> None:
    """Render the resources to stdout (byte-identical for the same input). Warnings and errors go
    to stderr; on any error stdout stays empty and the exit code is 1."""
    _need_input(flags)
    verify = (lambda objects: _cluster_problems(objects, True, crds)) if check or crds else None
    raise typer.Exit(run_render(flags, verify))


def _need_input(flags: RenderArgs) -> None:
    if not flags.files and not flags.values:
        raise typer.BadParameter("give MeshFederation files or directories, or -f values files",
                                 param_hint="FILE|DIR")


@app.command()
@render_flags(exclude=("output", "output_dir"))
def validate(
    files: Optional[List[Path]] = FILES,
    check: bool = CHECK,
    crds: Optional[List[str]] = CRDS,
    each: bool = typer.Option(False, "--each", help="Validate each FILE|DIR on its own, as an application of "
                              "its own (together they are one application, whose objects may not collide), "
                              "and skip named files that hold no MeshFederation document (values files, "
                              "kustomization.yaml, other tools' YAML): the pre-commit hook meshfed-validate "
                              "runs this on the changed files."),
    *,
    flags: RenderArgs,
) -> None:
    """Report every problem (errors and warnings) with its file and field path; with --check (or
    --crds PATH), also what the cluster would reject in the output. Exit 1 on any error."""
    from ..api import render as render_request
    _need_input(flags)

    def valid(paths: list[Path], label: str) -> bool:
        """Validate one application: print its problems, or its summary when it has none."""
        result = render_request(paths, values_files=flags.values, options=flags.options(), root=flags.root,
                                assignments=flags.assignments())
        _print_diagnostics(result.diagnostics)
        rejected = _cluster_problems(result.objects, check, crds) if result.ok else []
        for message in rejected:
            print(message, file=sys.stderr)
        if not result.ok or rejected:
            return False
        warnings = sum(d.severity == "warning" for d in result.diagnostics)
        print(f"{label}valid: {len(result.objects)} resources, {warnings} warnings", file=sys.stderr)
        return True

    if not (each and flags.files):
        ok = valid(flags.files, "")
    else:
        from ..values.source import display
        ok = True
        for path in flags.files:
            name = display(path)
            if path.is_dir() or _holds_federation(path, name):
                ok = valid([path], f"{name}: ") and ok  # every file is validated, also after a failure
            else:
                print(f"{name}: skipped: no MeshFederation document", file=sys.stderr)
    if not ok:
        raise typer.Exit(1)


@app.command()
@render_flags(exclude=("output", "output_dir", "api_versions", "kube_version", "allow_empty"))  # no objects
def values(
    files: Optional[List[Path]] = FILES,
    show_origin: bool = typer.Option(False, "--show-origin", help="Name the file and field each value came from "
                                     "(<defaults> for the charts' defaults): per value, its field path in the "
                                     "values, the value, the file and the field there."),
    *,
    flags: RenderArgs,
) -> None:
    """Print the values a render of the same inputs would use: chart defaults, bases, a Federation's
    derived values, the document's values, -f files, --set flags and patches merged (helm's
    `template --debug` / `get values --all`). One YAML document per MeshFederation document, in
    render order. Problems go to stderr; on any error stdout stays empty and the exit code is 1."""
    from ..api import render as render_request
    from ..values.merge import format_path, leaves
    from ..values.options import Options
    from ..output.serialize import write_yaml
    _need_input(flags)
    # The values do not depend on whether an empty render is allowed.
    result = render_request(flags.files, values_files=flags.values, options=Options(allow_empty=True).over(
        flags.options()), root=flags.root, assignments=flags.assignments())
    _print_diagnostics(result.diagnostics)
    if not result.ok:
        raise typer.Exit(1)
    documents = [merged.values if not show_origin else {
        format_path(path) or ".": {"value": value, "file": layer.name if layer else None,
                                   "field": layer.locate(path) if layer else None}
        for path, value, layer in leaves(merged)} for _, merged in result.values]
    write_yaml(documents, sys.stdout.write)


def _holds_federation(path: Path, name: str) -> bool:
    """Whether `validate --each` validates a named file: it holds a MeshFederation document, or
    it cannot be read, or cannot be parsed and mentions the kind (the render then says why)."""
    from ..values.diagnostics import InputError
    from ..values.meshfederation import is_meshfederation, read_documents
    try:
        return any(is_meshfederation(d) for d in read_documents(path, name))
    except InputError:
        return True


@app.command()
def schema(
    values_only: bool = typer.Option(False, "--values", help="Print the schema of plain values files instead."),
    federation: bool = typer.Option(False, "--federation", help="Print the schema of the Federation document instead."),
) -> None:
    """Print the JSON Schema of the MeshFederation document (self-contained), of the Federation
    document, or of the values, for editor completion and validation."""
    from ..values.schema import bundled_schema, editor_values_schema
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
def kustomize_plugin(config: str = typer.Argument(..., metavar="CONFIG",
                                                  help="The config file kustomize passes (argv[1]).")) -> None:
    """Run as kustomize's legacy exec plugin (what kustomize/plugin/.../MeshFederation calls)."""
    from . import execplugin
    raise typer.Exit(execplugin.run(config, sys.stdout, sys.stderr))


argocd_app = typer.Typer(
    help="Run as the Argo CD config-management plugin: the commands of plugin.yaml, which "
         "argocd-cmp-server runs in the Application's directory (docs/integrations.md).",
    no_args_is_help=True,
)
app.add_typer(argocd_app, name="argocd")
ARGOCD_HELP = {
    "generate": "Render the Application's directory (the working directory) as `meshfed render DIR` does, to "
                "stdout. Reads ARGOCD_APP_SOURCE_PATH (the repository root is the working directory minus it), "
                "ARGOCD_APP_NAMESPACE (the target namespace of documents without one), the env entries "
                "ARGOCD_ENV_MESHFED_* and the parameters in ARGOCD_APP_PARAMETERS. Exit 1, nothing on stdout, "
                "on any error and on an empty render.",
    "discover": "Print the name of the first file directly in the working directory that holds a MeshFederation "
                "document (without a KRM function annotation); nothing otherwise. Always exits 0.",
    "parameters": "Print the parameters the plugin takes, as the JSON array Argo CD shows in its Parameters tab, "
                  "with the defaults the documents imply.",
}


def _argocd_command(action: str) -> Callable[[], None]:
    def command() -> None:
        from . import argocd as argocd_adapter
        raise typer.Exit(argocd_adapter.run(action, sys.stdout, sys.stderr))
    return command


for _action in ARGOCD_ACTIONS:
    argocd_app.command(_action, help=ARGOCD_HELP[_action])(_argocd_command(_action))


GRAPH_FORMATS = ("mermaid", "dot", "svg")


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    """A flag's check that its value is one of `choices`, worded as the option table's."""
    def check(value: str) -> str:
        if value not in choices:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}")
        return value
    return check


@app.command()
def check(
    directory: List[Path] = typer.Argument(..., metavar="PATH", help="Repository directories "
                                           "holding every cluster's MeshFederation documents (searched "
                                           "recursively), or Federation documents: a Federation stands for "
                                           "the applications no document found renders."),
    root: Optional[Path] = ROOT,
) -> None:
    """Check a whole federation across clusters: imports that no cluster exports, port mismatches,
    unknown or conflicting meshes and networks, exports nobody imports. Exit 1 on any error."""
    from ..federation import check_report
    diagnostics, summary = check_report(directory, root)
    _print_diagnostics(diagnostics)
    if summary:
        print(summary, file=sys.stderr)
    if any(d.severity == "error" for d in diagnostics):
        raise typer.Exit(1)


@app.command("krm-check")
def krm_check() -> None:
    """Run the federation check as a KRM validator: the ResourceList passes through unchanged,
    problems become results, and any error exits non-zero."""
    from ..federation import krm_validate
    raise typer.Exit(krm_validate(sys.stdin.buffer, sys.stdout, sys.stderr))


@app.command()
def graph(
    directory: List[Path] = typer.Argument(..., metavar="PATH",
                                           help="Repository directories or Federation documents to draw."),
    output: str = typer.Option(GRAPH_FORMATS[0], "-o", "--output", metavar="|".join(GRAPH_FORMATS),
                               callback=_one_of(GRAPH_FORMATS), help="mermaid, dot, or svg (Graphviz)."),
    root: Optional[Path] = ROOT,
) -> None:
    """Draw the federation: clusters, services, and the paths requests take between them."""
    from ..federation import graph as draw
    from ..values.diagnostics import InputError
    try:
        sys.stdout.write(draw(directory, root, output))
    except InputError as exc:
        _print_diagnostics(exc.diagnostics)
        raise typer.Exit(1) from None


@app.command()
def explain(
    host: str = typer.Argument(..., metavar="HOST", help="The hostname a client calls, e.g. ratings.mesh.global."),
    cluster: str = typer.Option(..., "--cluster", metavar="NAME",
                                help="The calling cluster (its mesh name, or its overlay directory name)."),
    directory: List[Path] = typer.Argument(..., metavar="PATH",
                                           help="Repository directories or Federation documents."),
    down: List[str] = typer.Option([], "--down", metavar="MESH",
                                   help="Take this mesh's gateway as down (repeatable): say where the traffic goes "
                                        "then, once outlier detection has ejected what it can."),
    root: Optional[Path] = ROOT,
) -> None:
    """Explain the path a request to HOST from a cluster takes, resource by resource, naming the
    file each resource comes from, and the order in which the exporting meshes serve it
    (failover); with --down, where the requests go while those meshes are down."""
    from ..federation import explain as explain_path
    from ..values.diagnostics import InputError
    try:
        sys.stdout.write(explain_path(host, cluster, directory, root, down))
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
    federation: Path = typer.Argument(..., metavar="FEDERATION", help="The Federation document's file."),
    out: Path = typer.Option(..., "--out", metavar="DIR",
                             help="Where the application directories go: <out>/<cluster>/<app>/."),
    root: Optional[Path] = ROOT,
) -> None:
    """Write one application directory per cluster and tier or namespace (<cluster>/mesh,
    <cluster>/<namespace>): a kustomization.yaml, a MeshFederation naming the Federation and
    federation-part.yaml, the part of the Federation the cluster's mesh reads (what a render
    reads instead of the whole; run the scaffold again after every edit of the Federation:
    check and diff fail on a stale part), the layout the ApplicationSet in kustomize/argocd/
    picks up. Prints the files it changed. Files it wrote earlier are rewritten; any other file
    in the way stops the run before anything is written. Applications the Federation no longer
    has are reported, not deleted."""
    from ..values.diagnostics import InputError
    from ..federation.scaffold import scaffold
    from ..values.source import display
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
    directory: Optional[List[Path]] = typer.Argument(None, metavar="[DIR...]", show_default=False,
                                                     help="Repository directories holding every cluster's "
                                                          "MeshFederation documents (<dir>/<cluster>/<app>/)."),
    argocd: Optional[List[Path]] = typer.Option(None, "--argocd", metavar="PATH", show_default=False,
                                                help="Instead of DIRs: Argo CD Application manifests (files or "
                                                     "directories, repeatable) deploying the mesh-admin and "
                                                     "namespace-admin charts; their values are read as Argo CD builds "
                                                     "them."),
    repo: Optional[List[str]] = typer.Option(None, "--repo", metavar="URL=DIR", show_default=False,
                                             help="With --argocd: the local clone DIR of the repository URL an "
                                                  "Application's source names (repeatable); its files are read at "
                                                  "the source's targetRevision, through git."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", metavar="FILE",
                                          help="Write the Federation here (atomically) instead of to stdout; its "
                                               "base paths are relative to FILE (to the working directory for stdout)."),
    applications_out: Optional[Path] = typer.Option(None, "--applications-out", metavar="FILE", show_default=False,
                                                    help="With --argocd and -o: write here the Applications that "
                                                         "replace them through the meshfed plugin (same names, "
                                                         "destinations, project and sync policy), pointing at the "
                                                         "directories `meshfed federation scaffold FILE --out DIR` "
                                                         "writes next to FILE."),
    force: bool = typer.Option(False, "--force", help="Replace FILE (and the --applications-out FILE) when it exists."),
    root: Optional[Path] = ROOT,
) -> None:
    """Write the Federation document that reproduces a repository of per-cluster documents, or
    the Argo CD Applications of the charts (--argocd): every application scaffolded from it
    renders the same objects, up to the order of lists Istio reads as sets (reported; checked
    before anything is written). What a Federation cannot say is an error naming the file and
    field."""
    from ..values.diagnostics import InputError
    from ..federation.importer import import_applications, import_repository, write
    if bool(directory) == bool(argocd):
        raise typer.BadParameter("give DIRs of MeshFederation documents, or --argocd PATHs of Applications",
                                 param_hint="DIR... / --argocd")
    if repo and not argocd:
        raise typer.BadParameter("--repo is read with --argocd only", param_hint="--repo")
    if applications_out is not None and (not argocd or output is None):
        raise typer.BadParameter("--applications-out needs --argocd and -o FILE (the Applications point at the "
                                 "directories scaffolded next to FILE)", param_hint="--applications-out")
    try:
        if argocd:
            text, warnings, apps = import_applications(argocd, repo or [], output, root)
        else:
            text, warnings = import_repository(directory or [], output, root)
        if output is not None:
            extra = {}
            if applications_out is not None:
                from ..federation.argocdout import replacements
                extra[applications_out] = replacements(apps, output, text)
            write(text, output, force, extra)
    except InputError as exc:
        _print_diagnostics(exc.diagnostics)
        raise typer.Exit(1) from None
    _print_diagnostics(warnings)
    if output is None:
        sys.stdout.write(text)


DIFF_FORMATS = ("text", "markdown", "json")
COLOURS = ("auto", "always", "never")


def _colour(choice: str) -> bool:
    """`auto`: on a terminal, unless NO_COLOR is set or TERM is dumb."""
    if choice != "auto":
        return choice == "always"
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
    output: str = typer.Option(DIFF_FORMATS[0], "-o", "--output", metavar="|".join(DIFF_FORMATS),
                               callback=_one_of(DIFF_FORMATS), help="text, markdown (a pull-request comment) or json."),
    color: str = typer.Option(COLOURS[0], "--color", metavar="|".join(COLOURS), callback=_one_of(COLOURS),
                              help="Colour the text: auto (on a terminal), always or never."),
    exit_code: bool = typer.Option(False, "--exit-code",
                                   help="Exit as `git diff --exit-code`: 0 no differences, 1 differences, and 3 "
                                        "when an application does not render (or git fails)."),
    ignore_order: bool = typer.Option(False, "--ignore-order",
                                      help="Objects that differ only in the order of lists Istio reads as sets "
                                           "(Gateway hosts, exportTo, endpoints, ports, route destinations...) "
                                           "are not changes: they are counted, and no change is 'no semantic "
                                           "change'."),
    start: Optional[Path] = typer.Option(None, "-C", metavar="DIR", show_default=False,
                                         help="Run as if started in DIR (as git -C): relative DIRs start there, "
                                              "and without DIRs its repository is compared."),
    exclude: Optional[List[str]] = typer.Option(None, "--exclude", metavar="GLOB", show_default=False,
                                                help="Skip the applications whose directory (a path from the "
                                                     "repository root), or a directory above it, matches GLOB "
                                                     "(fnmatch: `tests/*`, `*/fixtures`). Repeatable."),
) -> None:
    """Show the objects a change adds, removes and changes, per application, between two git
    revisions. Applications are the directories the Argo CD plugin takes and the kustomizations
    whose generators are meshfed's; objects are matched by application, API group, kind,
    namespace and name. The work tree, index and stash are never touched. An application that
    does not render at either revision is reported (revision, file, field) and the others are
    still compared; its errors go to stderr, each once (one found at both revisions names both),
    then a count. The repository is the one that holds the DIRs (else the working directory's).
    Exit codes: 0, or 1 on any error; with --exit-code 0 (same), 1 (differences) or 3 (errors)."""
    from ..diff import run as run_diff
    raise typer.Exit(run_diff(directory or [], base, head, output, _colour(color), exit_code,
                              sys.stdout, sys.stderr, ignore_order=ignore_order, start=start, exclude=exclude or ()))
