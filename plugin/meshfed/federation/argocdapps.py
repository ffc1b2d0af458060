"""`meshfed federation import --argocd PATH...`: the Argo CD Applications that deploy the
mesh-admin and namespace-admin charts, read as the MeshFederation documents they stand for.

An Application counts when its `source`, or one of its `sources`, is one of the charts: by
`chart` name, or by a `path` whose last directory is named like one. Its values are built as
Argo CD's repo server builds them for `helm template` (reposerver/repository, util/helm):

1. `helm.valueFiles`, in order: `$ref/path` from the source whose `ref` is `ref`, at its
   `targetRevision`; any other path relative to the chart source's `path`, at its revision. Both
   are read from the local clone `--repo URL=DIR` names for the source's `repoURL`, through the
   safe reader of git revisions (`diff.revisions`: the whole listing checked, links confined,
   the reading limit). `ignoreMissingValueFiles` skips a file the revision lacks;
2. `helm.valuesObject`, else `helm.values` (Argo CD takes the object when both are set): the
   last values file;
3. `helm.parameters` as helm's `--set` (`forceString`: `--set-string`), commas escaped as Argo
   CD escapes them, one value per name (Argo CD keeps them in a map: the last wins), then
   `helm.fileParameters` as `--set-file`; helm applies them after every values file.

The tier comes from the chart; the namespace from `destination.namespace`; the cluster's name
from `destination.name`, else the host of `destination.server` (dots as dashes: a cluster's name
is a DNS label), except for Argo CD's own cluster (`in-cluster`, `https://kubernetes.default.svc`):
each cluster then runs its own Argo CD, and its name is the directory that holds the Application
(the chart author's layout: `central/`, `east/`, `west/`).

The charts' values do not name the mesh a cluster is: it is found in the other clusters'
`global.remote` entries, the one cluster that exports every service an entry imports (a
cluster's name in the mesh's breaks a tie: `east` for `east-mesh`). A mesh nobody imports from is
named `<cluster>-mesh` on network `<cluster>-network`, with a warning (no render depends on it).
"""
from __future__ import annotations

import os
import posixpath
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..values.checks import MESH, NAMESPACE
from ..values.diagnostics import Diagnostic, InputError, error, warning
from ..values.formats import is_dns_label
from ..values.merge import Layer, difference, merge_layers
from ..values.source import DOCUMENT_SUFFIXES, display, find_root, read_file, within
from ..values.yamlio import parse_all, parse_values
from .repo import Source

CHARTS = {"mesh-admin": MESH, "namespace-admin": NAMESPACE}
IN_CLUSTER_NAME, IN_CLUSTER_HOST = "in-cluster", "kubernetes.default.svc"
_GLOB = frozenset("*?[")


class Application:
    """One Application of a chart: where it is written, what it deploys where, and its values."""

    def __init__(self, doc: dict[str, Any], file: str, directory: str, where: str, tier: str) -> None:
        meta = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
        self.doc = doc
        self.file = file
        self.directory = directory  # the name of the directory that holds the manifest
        self.name = str(meta.get("name") or "")
        self.where = where  # the chart source: spec.source or spec.sources[i]
        self.tier = tier
        spec = doc["spec"]
        self.destination: dict[str, Any] = spec.get("destination") if isinstance(spec.get("destination"), dict) else {}
        self.cluster: str | None = None
        self.layers: list[Layer] = []
        self.mesh: tuple[str, str] | None = None  # (name, network)

    @property
    def source(self) -> str:
        """How messages name it: `apps/east/mesh.yaml (Application mesh-federation)`."""
        return f"{self.file} (Application {self.name})"

    @property
    def namespace(self) -> str | None:
        ns = self.destination.get("namespace")
        return ns if isinstance(ns, str) and ns else None

    def values(self) -> dict[str, Any]:
        return merge_layers(self.layers).values


def _normal_url(url: str) -> str:
    """A repository URL as Argo CD compares them: lower case, no trailing `/` or `.git`."""
    url = url.strip().lower().rstrip("/")
    return url[:-4] if url.endswith(".git") else url


def parse_repos(entries: list[str]) -> dict[str, Path]:
    """`--repo URL=DIR` entries: {normalised URL: clone}; an InputError naming a bad entry."""
    out: dict[str, Path] = {}
    for entry in entries:
        url, sep, directory = entry.rpartition("=")
        if not sep or not url or not directory:
            raise InputError([error(f"--repo {entry!r}: expected URL=DIR (the repository URL an Application names, "
                                    "and the directory of its local clone)")])
        if not Path(directory).is_dir():
            raise InputError([error(f"--repo {entry!r}: {directory} is not a directory")])
        out[_normal_url(url)] = Path(directory)
    return out


# --------------------------------------------------------------------------------------------
# Finding the Applications


def _manifests(paths: list[Path], root: Path) -> list[tuple[str, str, Any]]:
    """(file, directory name, document) of every document in the files, or below the
    directories (recursively, sorted, hidden entries skipped); `List` items unpacked."""
    out = []
    for path in paths:
        if not path.exists():
            raise InputError([error("no such file or directory", display(path))])
        files = [path]
        if path.is_dir():
            files = []
            for here, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                files += [Path(here) / n for n in sorted(names) if n.endswith(DOCUMENT_SUFFIXES) and not n.startswith(".")]
        for f in files:
            name = display(f)
            if f is not path:
                within(f, path, root)
            text = read_file(f, name)
            try:
                docs = parse_all(text, name)
            except InputError:
                if "Application" in text or "List" in text:  # most likely a broken manifest
                    raise
                continue  # another tool's file (a Helm template): not an Application
            for doc in docs:
                items = doc.get("items") if isinstance(doc, dict) and doc.get("kind") == "List" else [doc]
                out += [(name, f.resolve().parent.name, d) for d in items if isinstance(d, dict)] if isinstance(items, list) else []
    return out


def _chart_sources(spec: dict[str, Any]) -> tuple[list[tuple[dict[str, Any], str]], list[tuple[str, str, str]]]:
    """All sources (source, field), and those of a chart (field, chart name, tier)."""
    if isinstance(spec.get("sources"), list):
        sources = [(s, f"spec.sources[{i}]") for i, s in enumerate(spec["sources"]) if isinstance(s, dict)]
    elif isinstance(spec.get("source"), dict):
        sources = [(spec["source"], "spec.source")]
    else:
        sources = []
    charts = []
    for s, where in sources:
        path = s.get("path")
        name = s.get("chart") if s.get("chart") in CHARTS else (
            posixpath.basename(path.rstrip("/")) if isinstance(path, str) else None)
        if name in CHARTS:
            charts.append((where, name, CHARTS[name]))
    return sources, charts


def find_applications(paths: list[Path], root: Path) -> tuple[list[Application], list[Diagnostic]]:
    """The Applications of the charts, and a note (info) for each other Application, skipped."""
    apps, notes, problems = [], [], []
    for file, directory, doc in _manifests(paths, root):
        api = doc.get("apiVersion")
        if doc.get("kind") != "Application" or not (isinstance(api, str) and api.startswith("argoproj.io/")):
            continue
        name = (doc.get("metadata") or {}).get("name") if isinstance(doc.get("metadata"), dict) else None
        spec = doc.get("spec")
        if not isinstance(spec, dict):
            problems.append(error("an Application without spec", f"{file} (Application {name})", "spec"))
            continue
        _, charts = _chart_sources(spec)
        if not charts:
            notes.append(Diagnostic("info", f"skipped: Application {name} deploys neither the mesh-admin nor the "
                                            "namespace-admin chart", file))
        elif len(charts) > 1:
            problems.append(error(f"deploys {len(charts)} charts ({', '.join(c[1] for c in charts)}); an Application "
                                  "of the charts deploys one", f"{file} (Application {name})", charts[1][0]))
        else:
            apps.append(Application(doc, file, directory, charts[0][0], charts[0][2]))
    if problems:
        raise InputError(problems)
    return apps, notes


def _cluster(app: Application) -> tuple[str | None, str]:
    """The cluster's name, and the field it comes from."""
    name, server = app.destination.get("name"), app.destination.get("server")
    if isinstance(name, str) and name and name != IN_CLUSTER_NAME:
        return name, "spec.destination.name"
    host = urlsplit(server).hostname if isinstance(server, str) and server else None
    if host and host != IN_CLUSTER_HOST:
        return host.replace(".", "-"), "spec.destination.server"
    if host or name == IN_CLUSTER_NAME:
        return app.directory, "spec.destination (Argo CD's own cluster: the directory that holds the Application)"
    return None, "spec.destination"


# --------------------------------------------------------------------------------------------
# Values


class _Wanted:
    """A file an Application reads from a clone at a revision, and the field that names it."""

    def __init__(self, app: Application, field: str, clone: Path, url: str, revision: str, path: str,
                 optional: bool) -> None:
        self.app, self.field, self.clone, self.url = app, field, clone, url
        self.revision, self.path, self.optional = revision, path, optional

    @property
    def name(self) -> str:
        """How messages name the file: `clones/values@v1-west-cluster:values.yaml` (git's `rev:path`)."""
        return f"{display(self.clone)}@{self.revision}:{self.path}"


class _Values:
    """Every Application's values, read in one pass over the clones (one copy per revision)."""

    def __init__(self, repos: dict[str, Path], tmp: Path) -> None:
        self.repos = repos
        self.tmp = tmp
        self.problems: list[Diagnostic] = []
        self.copies: dict[tuple[Path, str], Path] = {}

    def fail(self, app: Application, field: str, message: str) -> None:
        self.problems.append(error(message, app.source, field))

    def wanted(self, app: Application, sources: list[tuple[dict[str, Any], str]], chart: dict[str, Any],
               entry: Any, field: str, optional: bool) -> _Wanted | None:
        """Where a values file (or a file parameter's file) `entry` is read from."""
        if not isinstance(entry, str) or not entry:
            self.fail(app, field, "not a path")
            return None
        if "://" in entry:
            self.fail(app, field, f"{entry}: a values file at a URL; meshfed reads values files from git clones only")
            return None
        if _GLOB & set(entry):
            self.fail(app, field, f"{entry}: a glob; list the files it matches")
            return None
        if entry.startswith("$"):
            ref, _, rest = entry[1:].partition("/")
            source = next((s for s, _ in sources if s.get("ref") == ref), None)
            if source is None:
                self.fail(app, field, f"{entry}: no source of this Application has ref: {ref}")
                return None
            path = posixpath.normpath(rest)
        else:
            source = chart
            if source.get("chart"):
                self.fail(app, field, f"{entry}: a values file inside the chart package {source['chart']}; meshfed "
                                      "cannot read chart packages: keep the file in git and name it as $ref/path")
                return None
            path = posixpath.normpath(posixpath.join(str(source.get("path") or ""), entry))
        if path.startswith(("../", "/")) or path in ("..", "."):
            self.fail(app, field, f"{entry}: leads out of its repository")
            return None
        url = str(source.get("repoURL") or "")
        clone = self.repos.get(_normal_url(url))
        revision = str(source.get("targetRevision") or "HEAD")
        if clone is None:
            self.fail(app, field, f"{entry} is read from {url or 'a source without repoURL'} at {revision}: give its "
                                  f"local clone with --repo {url or 'URL'}=DIR")
            return None
        return _Wanted(app, field, clone, url, revision, path, optional)

    def read(self, wanted: list[_Wanted]) -> dict[int, str | None]:
        """The text of each file (None: an optional file the revision lacks), by id of its entry."""
        from ..diff.revisions import export_paths
        groups: dict[tuple[Path, str], list[_Wanted]] = {}
        for w in wanted:
            groups.setdefault((w.clone.resolve(), w.revision), []).append(w)
        out: dict[int, str | None] = {}
        for n, ((clone, revision), entries) in enumerate(groups.items()):
            dest = self.tmp / str(n)
            dest.mkdir()
            try:
                export_paths(clone, revision, {w.path for w in entries}, dest, f"{display(entries[0].clone)} at {revision}")
            except InputError as exc:
                for w in entries:
                    self.fail(w.app, w.field, f"{w.path} at {revision} of {w.url}: "
                                              + "; ".join(d.message for d in exc.diagnostics))
                continue
            self.copies[(clone, revision)] = dest
            for w in entries:
                target = dest / w.path
                if not target.is_file():
                    if not w.optional:
                        self.fail(w.app, w.field, f"{w.path} is not a file of {w.url} at {revision}")
                    out[id(w)] = None
                    continue
                try:
                    out[id(w)] = read_file(target, w.name)
                except InputError as exc:
                    self.problems += [error(f"{w.name}: {d.message}", w.app.source, w.field) for d in exc.diagnostics]
        return out


def _parameters(app: Application, helm: dict[str, Any], where: str, files: list[tuple[str, str, str]],
                problems: list[Diagnostic]) -> list[Any]:
    """helm's flags for `helm.parameters` (and the file parameters' `(name, file, field)`), as
    Argo CD passes them: one per name and kind, the last value winning, commas escaped."""
    from ..values.helmset import Assignment, apply, commas_escaped
    chosen: dict[tuple[str, str], tuple[str, str]] = {}
    for k, p in enumerate(helm.get("parameters") or []):
        field = f"{where}.helm.parameters[{k}]"
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not p["name"]:
            problems.append(error("a parameter needs a name", app.source, field))
            continue
        kind = "set-string" if p.get("forceString") is True else "set"
        value = p.get("value")
        text = f"{p['name']}={commas_escaped(value if isinstance(value, str) else '' if value is None else str(value))}"
        try:
            apply({}, [Assignment(kind, text, parameter=p["name"])])
        except InputError as exc:
            problems += [error(d.message, app.source, field) for d in exc.diagnostics]
            continue
        chosen[(kind, p["name"])] = (text, field)
    flags = [Assignment(kind, text) for (kind, _), (text, _) in chosen.items()]
    flags += [Assignment("set-file", f"{name}={path}") for name, path, _ in files]
    return flags


def build_values(apps: list[Application], repos: dict[str, Path]) -> None:
    """Every Application's values layers (`Application.layers`); an InputError naming the
    Application and field of whatever cannot be read."""
    from ..output.cleanup import removed_at_end
    from ..values.helmset import apply
    with removed_at_end(tempfile.mkdtemp(prefix="meshfed-argocd-")) as tmp:
        values = _Values(repos, Path(tmp))
        plans = []
        for app in apps:
            spec = app.doc["spec"]
            sources, _ = _chart_sources(spec)
            chart = next(s for s, w in sources if w == app.where)
            helm = chart["helm"] if isinstance(chart.get("helm"), dict) else {}
            optional = helm.get("ignoreMissingValueFiles") is True
            value_files = [values.wanted(app, sources, chart, f, f"{app.where}.helm.valueFiles[{j}]", optional)
                           for j, f in enumerate(helm.get("valueFiles") or [])]
            file_params = []
            for k, p in enumerate(helm.get("fileParameters") or []):
                field = f"{app.where}.helm.fileParameters[{k}]"
                name = p.get("name") if isinstance(p, dict) else None
                if not isinstance(name, str) or not name:
                    values.fail(app, field, "a file parameter needs a name")
                    continue
                file_params.append((name, values.wanted(app, sources, chart, p.get("path"), f"{field}.path", False)))
            plans.append((app, helm, [w for w in value_files if w], [(n, w) for n, w in file_params if w]))
        texts = values.read([w for _, _, files, params in plans for w in [*files, *(w for _, w in params)]])
        for app, helm, files, params in plans:
            for w in files:
                text = texts.get(id(w))
                if text is not None:
                    try:
                        app.layers.append(Layer(w.name, parse_values(text, w.name)))
                    except InputError as exc:
                        values.problems += exc.diagnostics
            _inline(app, helm, values.problems)
            local = []
            for name, w in params:
                if texts.get(id(w)) is not None:
                    local.append((name, str(values.copies[(w.clone.resolve(), w.revision)] / w.path), w.field))
            flags = _parameters(app, helm, app.where, local, values.problems)
            if flags and not values.problems:
                before = merge_layers(app.layers).values
                try:
                    after = apply(before, flags)
                except InputError as exc:
                    values.problems += [error(d.message, app.source, f"{app.where}.helm.parameters")
                                        for d in exc.diagnostics]
                    continue
                app.layers.append(Layer(app.file, difference(before, after), prefix=f"{app.where}.helm.parameters"))
        if values.problems:
            raise InputError(values.problems)


def _inline(app: Application, helm: dict[str, Any], problems: list[Diagnostic]) -> None:
    """`helm.valuesObject`, else `helm.values`: the values file Argo CD writes last."""
    obj, text = helm.get("valuesObject"), helm.get("values")
    if obj is not None:
        if not isinstance(obj, dict):
            problems.append(error("must be a map", app.source, f"{app.where}.helm.valuesObject"))
        else:
            app.layers.append(Layer(app.file, obj, prefix=f"{app.where}.helm.valuesObject"))
    elif isinstance(text, str) and text.strip():
        try:
            app.layers.append(Layer(app.file, parse_values(text, f"{app.source}: {app.where}.helm.values"),
                                    prefix=f"{app.where}.helm.values"))
        except InputError as exc:
            problems += exc.diagnostics
    elif text is not None and not isinstance(text, str):
        problems.append(error("must be a string of YAML (or use valuesObject)", app.source, f"{app.where}.helm.values"))


# --------------------------------------------------------------------------------------------
# Clusters and meshes


def _exports(values: dict[str, Any]) -> set[str]:
    local = values.get("global", {}).get("local") if isinstance(values.get("global"), dict) else None
    entries = local.get("export") if isinstance(local, dict) else None
    return {e["hostname"] for e in entries or [] if isinstance(e, dict) and isinstance(e.get("hostname"), str)}


def _remotes(values: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    remote = values.get("global", {}).get("remote") if isinstance(values.get("global"), dict) else None
    return [(i, r) for i, r in enumerate(remote or []) if isinstance(r, dict) and isinstance(r.get("mesh"), str)]


def identify(apps: list[Application]) -> list[Diagnostic]:
    """Each Application's cluster and mesh (see the module docstring); warnings. An InputError
    when a cluster cannot be named or a mesh cannot be told."""
    problems: list[Diagnostic] = []
    notes: list[Diagnostic] = []
    for app in apps:
        name, field = _cluster(app)
        if name is None or not is_dns_label(name):
            problems.append(error(f"cluster name {name!r} is not a DNS label, as a Federation's cluster names must be"
                                  if name else "no destination.name or destination.server", app.source, field))
        app.cluster = name
        if app.tier == NAMESPACE and not app.namespace:
            problems.append(error("a namespace-admin Application needs destination.namespace: its namespace",
                                  app.source, "spec.destination.namespace"))
    if problems:
        raise InputError(problems)
    mesh_apps: dict[str, Application] = {}
    clusters: set[str] = set()
    for app in apps:
        assert app.cluster is not None  # every Application's cluster is named: the check above raised otherwise
        clusters.add(app.cluster)
        if app.tier == MESH and mesh_apps.setdefault(app.cluster, app) is not app:
            problems.append(error(f"cluster {app.cluster} has a second mesh-admin Application, "
                                  f"{mesh_apps[app.cluster].source}", app.source, "spec.destination"))
    exports = {c: _exports(a.values()) for c, a in mesh_apps.items()}
    candidates: dict[str, set[str]] = {}
    networks: dict[str, tuple[str, Application, int]] = {}
    for cluster, app in mesh_apps.items():
        for i, r in _remotes(app.values()):
            wanted = {h for h in r.get("importedServices") or [] if isinstance(h, str)}
            fits = {c for c, hosts in exports.items() if c != cluster and hosts and wanted <= hosts}
            candidates[r["mesh"]] = candidates.get(r["mesh"], fits) & fits
            networks.setdefault(r["mesh"], (str(r.get("network") or ""), app, i))
    assigned: dict[str, str] = {}
    while True:
        for mesh, found in sorted(candidates.items()):
            left = found - set(assigned.values())
            if mesh not in assigned and len(left) != 1:
                named = {c for c in left if mesh == c or mesh.startswith(f"{c}-")}
                left = named if len(named) == 1 else left
            if mesh not in assigned and len(left) == 1:
                assigned[mesh] = left.pop()
                break
        else:
            break
    for mesh in sorted(set(candidates) - set(assigned)):
        _, app, i = networks[mesh]
        could_be = sorted(candidates[mesh] - set(assigned.values()))
        why = (f"it could be cluster {' or '.join(could_be)}" if could_be else
               "no other cluster's global.local.export lists every service it imports")
        problems.append(error(f"which cluster is mesh {mesh}? {why}", app.source, f"global.remote[{i}].mesh"))
    if problems:
        raise InputError(problems)
    by_cluster = {c: m for m, c in assigned.items()}
    for cluster in sorted(clusters):
        imported = by_cluster.get(cluster)
        if imported is None:
            mesh, network = f"{cluster}-mesh", f"{cluster}-network"
            notes.append(warning(f"no cluster imports from cluster {cluster}, so its values name no mesh: it is mesh "
                                 f"{mesh} on network {network} in the Federation (no render depends on them; rename "
                                 "them there as you like)", mesh_apps[cluster].source if cluster in mesh_apps else None))
        else:
            mesh, network = imported, networks[imported][0]
        for app in apps:
            if app.cluster == cluster:
                app.mesh = (mesh, network)
    return notes


def sources(apps: list[Application], root: Path) -> list[Source]:
    """The MeshFederation documents the Applications stand for, their values the layers read."""
    top = Path.cwd()
    out = []
    for app in apps:
        assert app.mesh is not None
        meta = {"name": app.name or app.tier}
        if app.namespace:
            meta["namespace"] = app.namespace
        doc = {"apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation", "metadata": meta,
               "spec": {"scope": app.tier, "mesh": {"name": app.mesh[0], "network": app.mesh[1]}}}
        out.append(Source(doc, app.source, None, top, 0, top, root, cluster=app.cluster, layers=list(app.layers)))
    return out


def read(paths: list[Path], repo_entries: list[str], root: Path | None) -> tuple[list[Application], list[Source],
                                                                                 list[Diagnostic]]:
    """The Applications below `paths`, their values read, and the documents they stand for;
    notes (skipped Applications, made-up meshes)."""
    base = Path(find_root(root))
    repos = parse_repos(repo_entries)
    apps, notes = find_applications(paths, base)
    if not apps:
        raise InputError([error("no Application of the mesh-admin or namespace-admin chart", display(p))
                          for p in paths])
    build_values(apps, repos)
    notes += identify(apps)
    return apps, sources(apps, base), notes
