"""What the federation tools (`meshfed.federation`) know of one revision: the cluster each
application directory belongs to, and the graph of requests between clusters, so that the diff
can be grouped by cluster and draw the edges that a change adds or removes.

Only these are kept (clusters as the graph's `Box`es, which hold no documents): the repository
read for them is let go before the other revision is read and before any application is
rendered, so that the diff holds one revision's documents at a time, never two; and of each
document the read keeps only what the graph draws (`graph.KEEP`), one render at a time."""
from __future__ import annotations

import contextlib
import gc
from pathlib import Path

from ..federation import Repo, load_repo
from ..federation.graph import KEEP, Box, Graph, build_graph


class FederationView:
    __slots__ = ("clusters", "graph")

    def __init__(self, clusters: dict[str, Box], graph: Graph) -> None:
        self.clusters = clusters  # application path -> its cluster (`mesh` matches it across revisions)
        self.graph = graph


def read_federation(tree: Path, dirs: list[str]) -> FederationView:
    """The clusters and graph of the documents below `dirs` at this revision (documents that do
    not render are left out, as `meshfed graph` leaves them out; the diff reports their errors)."""
    present = [tree / d for d in dirs if (tree / d).is_dir()]
    if not present:
        return FederationView({}, Graph())
    with contextlib.chdir(tree):
        view = _view(load_repo(present, tree, KEEP), tree)
    # A repository's records refer to each other (a cluster to its documents, each document to its
    # cluster): collected now, not whenever the collector runs, so that the next revision's read
    # and the renders reuse its memory instead of adding to it.
    gc.collect()
    return view


def _view(repo: Repo, tree: Path) -> FederationView:
    graph = build_graph(repo)
    clusters: dict[str, Box] = {}
    for cluster, box in zip(repo.clusters, graph.clusters):
        for doc in cluster.docs:
            if doc.src.file is not None and doc.src.file.is_relative_to(tree):
                clusters.setdefault(doc.src.file.parent.relative_to(tree).as_posix(), box)
    return FederationView(clusters, graph)
