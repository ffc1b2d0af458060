"""What the federation tools (`meshfed.federation`) know of one revision: the cluster each
application directory belongs to, and the graph of requests between clusters, so that the diff
can be grouped by cluster and draw the edges that a change adds or removes."""
from __future__ import annotations

import contextlib
from pathlib import Path

from ..federation import load_repo
from ..federation.graph import Graph, build_graph


class ClusterRef:
    """A cluster as the diff names it: `name` (its directory's) for people, `mesh` to match the
    same cluster across revisions."""

    __slots__ = ("name", "mesh")

    def __init__(self, name: str, mesh: str) -> None:
        self.name = name
        self.mesh = mesh


class FederationView:
    __slots__ = ("clusters", "graph")

    def __init__(self, clusters: dict[str, ClusterRef], graph: Graph) -> None:
        self.clusters = clusters  # application path -> its cluster
        self.graph = graph


def read_federation(tree: Path, dirs: list[str]) -> FederationView:
    """The clusters and graph of the documents below `dirs` at this revision (documents that do
    not render are left out, as `meshfed graph` leaves them out; the diff reports their errors)."""
    present = [tree / d for d in dirs if (tree / d).is_dir()]
    if not present:
        return FederationView({}, Graph())
    with contextlib.chdir(tree):
        repo = load_repo(present, tree)
    clusters: dict[str, ClusterRef] = {}
    for cluster in repo.clusters:
        ref = ClusterRef(cluster.name, cluster.mesh)
        for doc in cluster.docs:
            if doc.src.file is not None and doc.src.file.is_relative_to(tree):
                clusters.setdefault(doc.src.file.parent.relative_to(tree).as_posix(), ref)
    return FederationView(clusters, build_graph(repo))
