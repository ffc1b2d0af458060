"""Federation-wide views of a repository: `check`, `krm_validate`, `graph`, `explain`.

A repository (for example `overlays/`) describes every cluster with MeshFederation documents.
These functions read all of them at once, render each with the core (`pipeline.render_layers`,
the same merge, validation and rows as `meshfed render`) and look across clusters.

Which documents count
---------------------
Every MeshFederation document in a `*.yaml`/`*.yml` file below the given directories
(recursively, sorted, hidden directories skipped; files of other kinds are ignored).

* A document that another document names in its `spec.base` chain is a *base*: it is not
  rendered on its own, it contributes through the documents built on it (so `overlays/base/`
  directories need no special treatment). Exception: a base that declares its own `spec.mesh`
  while no document built on it renders the mesh tier is a cluster's mesh-tier document whose
  values its namespace documents reuse (`spec.base: [../mesh/mesh.yaml]`); it stays a member.
* Every other document is a *member*, rendered on its own; its tier is `spec.scope`, else
  inferred as `meshfed render` does (namespace when its merged `import`/`export` is non-empty).

How documents are grouped into clusters
---------------------------------------
* A document's mesh is its own `spec.mesh`, else the one its bases give (a later base wins over
  an earlier one, as values do; a base's own `spec.mesh` wins over its bases').
* A mesh-tier member (scope mesh or all) with a mesh *defines* the cluster of that mesh. The
  cluster's directory is the highest directory, from the document's own up to the directory given
  on the command line, that holds no mesh-tier document of another mesh (so `overlays/west/` for
  `overlays/west/mesh/mesh.yaml`); the cluster is named after that directory (its mesh name when
  there is none), e.g. `west`.
* A namespace-tier member belongs to the cluster of its mesh (own or inherited `spec.mesh`); with
  no mesh, to the cluster whose directory holds it (`overlays/west/bookinfo/bookinfo.yaml` ->
  `west`); otherwise to no cluster (a warning; it is not checked).
* Namespace documents naming a mesh that no mesh-tier document declares form a cluster without a
  mesh tier (a warning), so that their own imports are still checked.

Checks (`check`): see `consistency.py`; every finding carries the file and field path of the
value, as written, found through the merge provenance.
"""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, TextIO

from ..values.diagnostics import Diagnostic
from .consistency import KEEP as CHECKED, check_repo, summary
from .explain import explain_repo
from .graph import KEEP as DRAWN, render as render_graph
from .krmcheck import validate as _krm_validate
from .repo import EVERYTHING, Keep, Repo, load_paths

__all__ = ["check", "check_report", "krm_validate", "graph", "explain", "load_repo"]


def load_repo(paths: list[Path], root: Path | None = None, keep: Keep = EVERYTHING) -> Repo:
    """The repository below `paths`: members rendered (keeping what `keep` says), clusters
    formed (never raises)."""
    return load_paths(list(paths), root, keep)


def check(paths: list[Path], root: Path | None) -> list[Diagnostic]:
    """Every cross-cluster problem (errors, warnings, infos), after any document's own errors."""
    return check_report(paths, root)[0]


def check_report(paths: list[Path], root: Path | None) -> tuple[list[Diagnostic], str]:
    """The findings of `check`, and the one line that sums them up (what was checked, what not)."""
    repo = load_repo(paths, root, CHECKED)
    diagnostics = check_repo(repo)
    return diagnostics, summary(repo, diagnostics)


def krm_validate(stdin: BinaryIO, stdout: TextIO, stderr: TextIO) -> int:
    """The check as a KRM validator: the ResourceList unchanged plus `results`; 1 on any error."""
    return _krm_validate(stdin, stdout, stderr)


def graph(paths: list[Path], root: Path | None, fmt: str) -> str:
    """The federation as Mermaid, DOT or SVG. Raises InputError when documents cannot be read or
    rendered, or when SVG is asked for without Graphviz."""
    from ..values.diagnostics import InputError
    repo = load_repo(paths, root, DRAWN)
    errors = repo.load_errors()
    if errors:
        raise InputError(errors)
    return render_graph(repo, fmt)


def explain(host: str, cluster: str, paths: list[Path], root: Path | None, down: list[str] | None = None) -> str:
    """The path of a request to `host` from `cluster` (mesh name or directory name), resource by
    resource, and where the requests go with the meshes `down` down. Raises InputError on
    unreadable input, an unknown cluster or mesh, or a host it does not import."""
    return explain_repo(load_repo(paths, root), host, cluster, down or [])
