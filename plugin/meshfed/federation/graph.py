"""`meshfed graph`: the federation drawn as Mermaid, Graphviz DOT, or SVG (through `dot`).

Clusters are boxes; inside them the gateways, the importing namespaces and the exported
services. Arrows follow a request: importing namespace -> egress gateway (when the importer goes
through it) -> the exporting cluster's ingress gateway -> the exported service. The egress
gateway's arrows carry the VirtualService weights (F1) when a host is load-balanced; with
failover, an arrow to an exporter says `preferred` or `failover` (mode nearest) or its weight
(mode weighted); with boundary authorization on at the exporter, `admitted` or `denied`
(`boundary.mark`; through the egress gateway, by importing namespace where they differ).
"""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field

from ..values.diagnostics import InputError, error
from . import boundary
from .repo import Cluster, Doc, Keep, Repo
from .serving import roles

INGRESS_IDS = ("cross-network-gateway", "federation-ingress-gateway")
EGRESS_IDS = ("cross-network-egress-gateway", "federation-egress-gateway")
ADDED, REMOVED = "added", "removed"  # edges of a change (see `changes`)
KEEP = Keep(frozenset({"Gateway"}), provenance=False, merged=False)  # what `build_graph` looks at of the renders


class Box:
    """A cluster as a graph draws it (a box titled with its name, mesh and network) and as
    `meshfed diff` names it: no documents, so that a graph kept after its repository (the diff
    keeps one per revision) does not keep every document's renders alive."""

    __slots__ = ("name", "mesh", "network")

    def __init__(self, name: str, mesh: str, network: str) -> None:
        self.name, self.mesh, self.network = name, mesh, network


@dataclass
class Node:
    key: tuple
    id: str
    lines: list[str]
    shape: str  # gateway | namespace | service | external
    cluster: Box | None
    order: tuple


@dataclass
class Graph:
    nodes: dict[tuple, Node] = field(default_factory=dict)
    edges: list[tuple[tuple, tuple, str]] = field(default_factory=list)
    clusters: list[Box] = field(default_factory=list)  # in the repository's order of clusters
    _ids: set[str] = field(default_factory=set)
    _edges: set[tuple[tuple, tuple, str]] = field(default_factory=set)  # `edges`, to ask in constant time

    def node(self, key: tuple, lines: list[str], shape: str, cluster: Box | None, order: tuple) -> tuple:
        if key not in self.nodes:
            raw = "_".join(str(k) for k in key)
            base = re.sub(r"[^A-Za-z0-9_]", "_", raw)
            ident, n = base, 2
            while ident in self._ids:
                ident, n = f"{base}_{n}", n + 1
            self._ids.add(ident)
            self.nodes[key] = Node(key, ident, lines, shape, cluster, order)
        return key

    def edge(self, src: tuple, dst: tuple, label: str) -> None:
        if (src, dst, label) not in self._edges:
            self._edges.add((src, dst, label))
            self.edges.append((src, dst, label))


def _ref(obj: dict) -> str:
    meta = obj["metadata"]
    ns = meta.get("namespace")
    return f"{obj['kind']} {ns}/{meta['name']}" if ns else f"{obj['kind']} {meta['name']}"


def _gateway(doc: Doc | None, identities: tuple[str, ...]) -> dict | None:
    if doc is None or not doc.ok:
        return None
    for _, _, obj in (o for i in identities for o in doc.find("Gateway", i)):
        return obj
    return None


def _egress_used(c: Cluster, d: Doc) -> bool:
    """Whether a namespace's imports go through its cluster's egress gateway."""
    if d.values.layout == "v1":
        return d.values.egress.enabled
    m = c.mesh_doc
    return m is not None and m.ok and m.values.egress.enabled


def build_graph(repo: Repo) -> Graph:
    g = Graph(clusters=[Box(c.name, c.mesh, c.network) for c in repo.clusters])
    box = {c.mesh: b for c, b in zip(repo.clusters, g.clusters)}
    rank = {c.mesh: i for i, c in enumerate(repo.clusters)}

    def ingress(mesh: str | None) -> tuple:
        c = repo.cluster_of_mesh(mesh)
        if c is None:
            return g.node(("ext", mesh), [f"mesh {mesh}", "not in this repository"], "external", None,
                          (len(rank), 0, str(mesh)))
        obj = _gateway(c.mesh_doc, INGRESS_IDS)
        lines = ["ingress gateway", _ref(obj) if obj else "none rendered"]
        return g.node((c.name, "ingress"), lines, "gateway", box[c.mesh], (rank[c.mesh], 0, ""))

    def egress(c: Cluster) -> tuple:
        obj = _gateway(c.mesh_doc, EGRESS_IDS)
        lines = ["egress gateway", _ref(obj) if obj else "none rendered"]
        return g.node((c.name, "egress"), lines, "gateway", box[c.mesh], (rank[c.mesh], 1, ""))

    for c in repo.clusters:
        m = c.mesh_doc
        if m is not None and m.ok:
            if m.values.local_exports:
                ingress(c.mesh)
            if m.values.egress.enabled and _gateway(m, EGRESS_IDS) is not None:
                eg = egress(c)
                for h, remotes in sorted(m.values.meshes_by_host.items()):
                    callers = [d.namespace for d in c.ns_docs if d.ok and d.namespace
                               and any(e.hostname == h for e in d.values.imports)]
                    for r, role in zip(remotes, roles(m.values.failover_for(h), remotes, repo.locality(c.mesh))):
                        g.edge(eg, ingress(r.mesh), _label(h, role if len(remotes) > 1 else "",
                                                           boundary.mark(repo, r.mesh, h, c, callers)))
        local = {e.hostname for e in m.values.local_exports} if m is not None and m.ok else set()
        for d in c.ns_docs:
            if not d.ok:
                continue
            for x in d.values.exports:
                svc = g.node((c.name, "svc", d.label, x.hostname), [x.hostname, f"namespace {d.label}"],
                             "service", box[c.mesh], (rank[c.mesh], 3, d.label, x.hostname))
                if x.hostname in local:
                    g.edge(ingress(c.mesh), svc, "")
            if not d.values.imports:
                continue
            ns = g.node((c.name, "ns", d.label), [f"namespace {d.label}"], "namespace", box[c.mesh],
                        (rank[c.mesh], 2, d.label))
            through_egress = _egress_used(c, d)
            routes = d.values.meshes_by_host
            for e in d.values.imports:
                if through_egress:
                    g.edge(ns, egress(c), e.hostname)
                    continue
                remotes = [r for r in routes.get(e.hostname, []) if r.mesh != c.mesh]
                f = d.values.failover_for(e.hostname)
                marks = roles(f, remotes, repo.locality(c.mesh)) if f is not None and len(remotes) > 1 else []
                for r, role in zip(remotes, marks or [""] * len(remotes)):
                    admitted = boundary.mark(repo, r.mesh, e.hostname, c, [d.namespace] if d.namespace else [])
                    g.edge(ns, ingress(r.mesh), _label(e.hostname, role, admitted))
    drawn = {id(n.cluster) for n in g.nodes.values()}
    for c in repo.clusters:  # every cluster is drawn, also one with nothing to show
        if id(box[c.mesh]) not in drawn:
            g.node((c.name, "idle"), ["no imports or exports"], "namespace", box[c.mesh], (rank[c.mesh], 9, ""))
    return g


def _label(host: str, *notes: str) -> str:
    """An edge's label: the host, then its notes (failover role, admission) in parentheses."""
    said = [n for n in notes if n]
    return f"{host} ({', '.join(said)})" if said else host


def changes(before: Graph, after: Graph, clusters: set[str]) -> tuple[Graph, dict[tuple, str]]:
    """The part of the federation that a change touches: the named clusters as `after` draws
    them (as `before` drew them when they are gone), their edges of either revision, the other
    changed edges of the nodes those start from, and the nodes at the other ends; `marks` says
    which edges only `after` (added) or only `before` (removed) has."""
    def touches(g: Graph, edge: tuple) -> bool:
        return any(g.nodes[k].cluster is not None and g.nodes[k].cluster.name in clusters for k in edge[:2])

    had, has = set(before.edges), set(after.edges)
    old = [e for e in before.edges if touches(before, e)]
    new = [e for e in after.edges if touches(after, e)]
    # Where the requests of a node whose edges changed go now (or went), in whatever cluster.
    sources = {e[0] for e in old if e not in has} | {e[0] for e in new if e not in had}
    kept_old, kept_new = set(old), set(new)  # (a graph's edges are distinct)
    old += [e for e in before.edges if e not in has and e[0] in sources and e not in kept_old]
    new += [e for e in after.edges if e not in had and e[0] in sources and e not in kept_new]
    marks = {**{e: ADDED for e in new if e not in had}, **{e: REMOVED for e in old if e not in has}}
    boxes: dict[str, Box] = {}
    for c in [*after.clusters, *before.clusters]:
        if c.name in clusters:
            boxes.setdefault(c.name, c)
    ends = {k for e in [*new, *marks] for k in e[:2]}
    drawn = {c.name for c in after.clusters}
    wanted = [n for n in after.nodes.values() if n.key in ends or (n.cluster and n.cluster.name in boxes)]
    wanted += [n for n in before.nodes.values() if n.key not in after.nodes and (
        n.key in ends or (n.cluster and n.cluster.name in boxes and n.cluster.name not in drawn))]
    g = Graph()
    for n in wanted:  # a node at the other end of an edge brings its cluster's box along
        cluster = None if n.cluster is None else boxes.setdefault(n.cluster.name, n.cluster)
        g.node(n.key, n.lines, n.shape, cluster, (cluster is None, cluster.name if cluster else "", *n.order[1:]))
    g.clusters = [boxes[name] for name in sorted(boxes)]
    for e in [*new, *(e for e in old if e not in has)]:
        g.edge(*e)
    return g, marks


def _order(g: Graph) -> list[Node]:
    return sorted(g.nodes.values(), key=lambda n: n.order)


def _sorted_edges(g: Graph, nodes: list[Node]) -> list[tuple[Node, Node, str]]:
    pos = {n.key: i for i, n in enumerate(nodes)}
    edges = sorted(g.edges, key=lambda e: (pos[e[0]], e[2], pos[e[1]]))
    return [(g.nodes[s], g.nodes[t], label) for s, t, label in edges]


def _cluster_title(c: Box) -> str:
    return f"{c.name}: mesh {c.mesh}, network {c.network}"


def _clustered(g: Graph, nodes: list[Node]) -> list[tuple[str, Box, list[Node]]]:
    """(subgraph id, cluster, its nodes in order) for every cluster that has nodes: what both
    writers draw as boxes."""
    by_box: dict[int, list[Node]] = {}
    for n in nodes:
        by_box.setdefault(id(n.cluster), []).append(n)
    out = []
    for c in g.clusters:
        inside = by_box.get(id(c))
        if inside:
            out.append(("cluster_" + re.sub(r"[^A-Za-z0-9_]", "_", c.name), c, inside))
    return out


# --------------------------------------------------------------------------------------------
# Mermaid


def _mq(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


_MERMAID_SHAPES = {
    "gateway": ("{{", "}}"),
    "namespace": ("[", "]"),
    "service": ("([", "])"),
    "external": ("[[", "]]"),
}


# How `meshfed diff` marks an edge that a change adds or removes: arrow, label prefix, colour.
_MERMAID_MARKS = {ADDED: ("==>", "+ ", "#1a7f37"), REMOVED: ("-.->", "- ", "#cf222e")}


def to_mermaid(g: Graph, marks: dict[tuple, str] | None = None) -> str:
    """The graph as a Mermaid flowchart; `marks` (edge -> added or removed, see `changes`)
    draws those edges thick green or dotted red, their labels prefixed `+ ` or `- `."""
    out = ["flowchart LR"]
    nodes = _order(g)
    marks = marks or {}

    def node_line(n: Node, indent: str) -> str:
        left, right = _MERMAID_SHAPES[n.shape]
        return f"{indent}{n.id}{left}{_mq('<br/>'.join(n.lines))}{right}"

    for cid, c, inside in _clustered(g, nodes):
        out.append(f"  subgraph {cid}[{_mq(_cluster_title(c))}]")
        out += [node_line(n, "    ") for n in inside]
        out.append("  end")
    out += [node_line(n, "  ") for n in nodes if n.cluster is None]
    styles = []
    for i, (s, t, label) in enumerate(_sorted_edges(g, nodes)):
        mark = marks.get((s.key, t.key, label))
        if mark is None:
            out.append(f"  {s.id} -->|{_mq(label)}| {t.id}" if label else f"  {s.id} --> {t.id}")
            continue
        arrow, prefix, colour = _MERMAID_MARKS[mark]
        out.append(f"  {s.id} {arrow}|{_mq(prefix + (label or mark))}| {t.id}")
        styles.append(f"  linkStyle {i} stroke:{colour},color:{colour}")
    return "\n".join(out + styles) + "\n"


# --------------------------------------------------------------------------------------------
# Graphviz


def _dq(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_DOT_SHAPES = {
    "gateway": 'shape=hexagon, style=filled, fillcolor="#e8eefc"',
    "namespace": "shape=box",
    "service": 'shape=box, style="rounded,filled", fillcolor="#eaf7ea"',
    "external": "shape=box, style=dashed",
}


def to_dot(g: Graph) -> str:
    out = ["digraph meshfed {", "  rankdir=LR;", '  graph [fontname="Helvetica"];', '  node [fontname="Helvetica", fontsize=11];',
           '  edge [fontname="Helvetica", fontsize=10];']
    nodes = _order(g)

    def node_line(n: Node, indent: str) -> str:
        label = "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"') for line in n.lines)
        return f'{indent}"{n.id}" [{_DOT_SHAPES[n.shape]}, label="{label}"];'

    for cid, c, inside in _clustered(g, nodes):
        out.append(f'  subgraph "{cid}" {{')
        out.append(f"    label={_dq(_cluster_title(c))};")
        out += [node_line(n, "    ") for n in inside]
        out.append("  }")
    out += [node_line(n, "  ") for n in nodes if n.cluster is None]
    for s, t, label in _sorted_edges(g, nodes):
        out.append(f'  "{s.id}" -> "{t.id}" [label={_dq(label)}];' if label else f'  "{s.id}" -> "{t.id}";')
    out.append("}")
    return "\n".join(out) + "\n"


def to_svg(dot_text: str) -> str:
    exe = shutil.which("dot")
    if exe is None:
        raise InputError([error("-o svg needs Graphviz's `dot` on PATH: install graphviz (Debian/Ubuntu: "
                                 "apt-get install graphviz; macOS: brew install graphviz), or use -o dot or "
                                 "-o mermaid")])
    proc = subprocess.run([exe, "-Tsvg"], input=dot_text, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise InputError([error(f"Graphviz dot failed (exit {proc.returncode}): {proc.stderr.strip()}")])
    return proc.stdout


def render(repo: Repo, fmt: str) -> str:
    if fmt not in ("mermaid", "dot", "svg"):
        raise InputError([error(f"unknown graph format {fmt!r}: use mermaid, dot or svg")])
    g = build_graph(repo)
    if fmt == "mermaid":
        return to_mermaid(g)
    text = to_dot(g)
    return to_svg(text) if fmt == "svg" else text
