"""`meshfed federation import --argocd ... --applications-out FILE`: the Applications that replace
the charts' Applications through the meshfed config-management plugin.

Each keeps its original's name, namespace, labels, destination, project, sync policy and every
other field of its spec but the source: that becomes the application directory `meshfed
federation scaffold FEDERATION --out <its directory>` writes for it (`<cluster>/mesh`,
`<cluster>/<namespace>`), in the git repository that holds the Federation (the URL of its
`origin` remote, at `HEAD`), rendered by the plugin named `meshfed` (plugin.yaml), and annotated
`argocd.argoproj.io/manifest-generate-paths`: its own directory (its document and its part of the
Federation) and the directories of the Federation's bases, so that Argo CD renders it again only
after a commit that changes what its render reads. Applied with
the same names, they change the existing Applications in place: Argo CD then compares the
plugin's objects with the live ones, which the import has shown to be the same up to order, so
a sync prunes nothing.
"""
from __future__ import annotations

import copy
import os
import posixpath
import subprocess
from pathlib import Path
from typing import Any

from ..values.checks import MESH
from ..values.diagnostics import InputError, error
from ..values.federation_spec import MESH_DIRECTORY
from ..output.serialize import dump_yaml
from ..values.source import display
from ..values.yamlio import parse_all
from .argocdapps import Application

GENERATE_PATHS = "argocd.argoproj.io/manifest-generate-paths"  # what a commit must touch to render it again


def _repository(federation: Path) -> tuple[str, Path]:
    """(the URL of `origin`, the work tree's top) of the git clone holding the Federation's file."""
    where = federation.resolve().parent
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=where, capture_output=True, text=True,
                             check=True).stdout.strip()
        url = subprocess.run(["git", "remote", "get-url", "origin"], cwd=where, capture_output=True, text=True,
                             check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise InputError([error("the Applications need the URL of the repository that will hold the Federation: "
                                "write it into a git clone whose remote `origin` is that repository",
                                display(federation))]) from None
    return url, Path(top).resolve()


def replacements(apps: list[Application], federation: Path, text: str) -> str:
    """The YAML stream of the replacing Applications, by cluster, mesh tier first (the directories
    follow from the Applications: the import has checked that the Federation scaffolds them).
    `text`: the Federation written to `federation`."""
    url, top = _repository(federation)
    base = federation.resolve().parent.relative_to(top).as_posix()
    bases = parse_all(text, display(federation))[0]["spec"].get("base") or []
    read = [".", *dict.fromkeys("/" + posixpath.dirname(posixpath.normpath(posixpath.join(base, b))) for b in bases)]
    docs = []
    for app in sorted(apps, key=lambda a: (a.cluster, a.tier != MESH, a.namespace or "", a.name)):
        directory = f"{app.cluster}/{MESH_DIRECTORY if app.tier == MESH else app.namespace}"
        doc: dict[str, Any] = {"apiVersion": app.doc.get("apiVersion"), "kind": "Application"}
        meta = copy.deepcopy(app.doc.get("metadata") or {})
        meta.setdefault("labels", {})["meshfed.io/cluster"] = str(app.cluster)
        meta.setdefault("annotations", {})[GENERATE_PATHS] = ";".join(read)
        doc["metadata"] = meta
        spec = {k: copy.deepcopy(v) for k, v in app.doc["spec"].items() if k not in ("source", "sources")}
        spec["source"] = {"repoURL": url, "targetRevision": "HEAD",
                          "path": os.path.normpath(f"{base}/{directory}") if base != "." else directory,
                          "plugin": {"name": "meshfed"}}
        doc["spec"] = spec
        docs.append(doc)
    return dump_yaml(docs)
