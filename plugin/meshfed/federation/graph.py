"""`meshfed graph`: the federation drawn as Mermaid, Graphviz DOT, or SVG (through `dot`).

Clusters are boxes; inside them the gateways, the importing namespaces and the exported
services. Arrows follow a request: importing namespace -> egress gateway (when the importer goes
through it) -> the exporting cluster's ingress gateway -> the exported service. The egress
gateway's arrows carry the VirtualService weights (F1) when a host is load-balanced; with
failover, an arrow to an exporter says `preferred` or `failover` (mode nearest) or its weight
(mode weighted); with boundary authorization on at the exporter, `admitted` or `denied`
(`boundary.verdict`; through the egress gateway, by importing namespace where they differ).

Of each document the graph reads only what it draws (`Drawn`), taken as the repository is read
(`KEEP.take`), so that a federation of thousands of documents is drawn from hostnames, meshes
and references, never from every document's render at once.
"""
from __future__ import annotations

import re
import shutil
import sys
import subprocess
from dataclasses import dataclass, field

from ..values.authorization import TRUST_DOMAIN, Settings as Authorization
from ..values.checks import MESH
from ..values.diagnostics import InputError, error
from ..values.failover import Failover
from ..values.model import Remote
from . import boundary
from .repo import Cluster, Doc, Keep, Repo, federation_localities
from .serving import roles

INGRESS_IDS = ("cross-network-gateway", "federation-ingress-gateway")
EGRESS_IDS = ("cross-network-egress-gateway", "federation-egress-gateway")
ADDED, REMOVED = "added", "removed"  # edges of a change (see `changes`)


class Drawn:
    """What the graph reads of one rendered document: its layout, whether its egress gateway is
    on, the hosts it exports locally, exports and imports, the remotes serving each host it
    routes (mesh and locality only, one object for each across the documents) with the host's
    failover, its authorization when it sets one, its Gateways' references, and the localities
    its remotes list."""

    __slots__ = ("layout", "egress", "local_exports", "exports", "imports", "routes", "authorization",
                 "ingress_gateway", "egress_gateway", "localities")

    def __init__(self, doc: Doc, shared: dict) -> None:
        v = doc.values
        assert v is not None  # taken only of a document that rendered
        self.layout, self.egress = v.layout, v.egress.enabled
        self.local_exports = tuple(e.hostname for e in v.local_exports)
        self.exports = tuple(e.hostname for e in v.exports)
        self.imports = tuple(e.hostname for e in v.imports)
        # A mesh tier with its egress gateway on routes every host its remotes serve; else only its imports.
        by_host = v.meshes_by_host
        hosts = by_host if MESH in doc.tiers and self.egress else dict.fromkeys(self.imports)
        # A host's failover is read only where more than one remote serves it.
        self.routes: dict[str, tuple[tuple[Remote, ...], Failover | None]] = {}
        for h in hosts:
            remotes = _shared_remotes(by_host.get(h, []), shared)
            self.routes[h] = remotes, v.failover_for(h) if len(remotes) > 1 else None
        given = isinstance((v.raw.get("global") or {}).get("authorization"), dict)
        self.authorization: Authorization | None = v.authorization if given else None
        self.ingress_gateway = _gateway_ref(doc, INGRESS_IDS)
        self.egress_gateway = _gateway_ref(doc, EGRESS_IDS)
        self.localities = tuple((r.mesh, r.locality) for r in v.remotes if r.mesh is not None and r.locality is not None)


def _shared_remotes(remotes: list[Remote], shared: dict) -> tuple[Remote, ...]:
    """The remotes as their mesh and locality, one object for each across the documents."""
    out = []
    for r in remotes:
        key = ("graph remote", r.mesh, r.locality)
        found = shared.get(key)
        if found is None:
            found = shared[key] = Remote((), 0, r.mesh, None, (), None, r.locality, ())
        out.append(found)
    return shared.setdefault(("graph remotes", *out), tuple(out))


# What `build_graph` looks at of the renders: their Gateways, taken as `Drawn` as each renders.
KEEP = Keep(frozenset({"Gateway"}), provenance=False, merged=False, take=Drawn, inputs=False)


class Box:
    """A cluster as a graph draws it (a box titled with its name, mesh and network) and as
    `meshfed diff` names it: no documents, so that a graph kept after its repository (the diff
    keeps one per revision) does not keep every document's renders alive."""

    __slots__ = ("name", "mesh", "network")

    def __init__(self, name: str, mesh: str, network: str) -> None:
        self.name, self.mesh, self.network = name, mesh, network


@dataclass(slots=True)
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
    # In the order drawn, each once (a dict: asked in constant time); an edge's ends are the keys of its nodes.
    edges: dict[tuple[tuple, tuple, str], None] = field(default_factory=dict)
    clusters: list[Box] = field(default_factory=list)  # in the repository's order of clusters
    _ids: set[str] = field(default_factory=set)

    def node(self, key: tuple, lines: list[str], shape: str, cluster: Box | None, order: tuple) -> tuple:
        """The node's key, the one object every edge to the node holds (a large federation draws
        100,000s of edges)."""
        found = self.nodes.get(key)
        if found is None:
            raw = "_".join(str(k) for k in key)
            base = re.sub(r"[^A-Za-z0-9_]", "_", raw)
            ident, n = base, 2
            while ident in self._ids:
                ident, n = f"{base}_{n}", n + 1
            self._ids.add(ident)
            found = self.nodes[key] = Node(key, ident, lines, shape, cluster, order)
        return found.key

    def edge(self, src: tuple, dst: tuple, label: str) -> None:
        self.edges[(src, dst, sys.intern(label))] = None


def _ref(obj: dict) -> str:
    meta = obj["metadata"]
    ns = meta.get("namespace")
    return f"{obj['kind']} {ns}/{meta['name']}" if ns else f"{obj['kind']} {meta['name']}"


def _gateway_ref(doc: Doc, identities: tuple[str, ...]) -> str | None:
    """The reference of the document's first Gateway of these identities (None: it renders none)."""
    for _, _, obj in (o for i in identities for o in doc.find("Gateway", i)):
        return _ref(obj)
    return None


def _drawn(doc: Doc | None) -> Drawn | None:
    """What was taken of a document that rendered (None for one that did not)."""
    if doc is None or not doc.ok:
        return None
    assert isinstance(doc.taken, Drawn), "a graph is drawn from a repository loaded with graph.KEEP"
    return doc.taken


def _egress_used(c: Cluster, d: Drawn) -> bool:
    """Whether a namespace's imports go through its cluster's egress gateway."""
    if d.layout == "v1":
        return d.egress
    m = _drawn(c.mesh_doc)
    return m is not None and m.egress


def _localities(repo: Repo) -> dict[str, str | None]:
    """Each cluster's locality (the caller's locality for failover's nearest), as `Repo.locality`
    tells it: what the Federation says of the mesh, else how the documents' remotes list it
    (here from what each document's drawing kept of them, its values being let go)."""
    said = federation_localities(repo.docs)
    listed: dict[str, str] = {}
    for d in repo.docs:
        drawn = _drawn(d)
        for mesh, locality in drawn.localities if drawn is not None else ():
            listed.setdefault(mesh, locality)
    return {c.mesh: said[c.mesh] if c.mesh in said else listed.get(c.mesh) for c in repo.clusters}


def _trust_domain(c: Cluster) -> str:
    """A cluster's trust domain, from its first rendered document that sets authorization."""
    for d in c.docs:
        drawn = _drawn(d)
        if drawn is not None and drawn.authorization is not None:
            return drawn.authorization.trust_domain
    return TRUST_DOMAIN


def _mark(repo: Repo, exporter: str | None, host: str, caller: Cluster, namespaces: list[str]) -> str:
    """How an edge from `namespaces` of `caller` to mesh `exporter` for `host` is marked:
    `admitted`, `denied`, both by namespace, or "" when authorization is off there."""
    target = repo.cluster_of_mesh(exporter)
    found = None if target is None else next(
        (x for x in map(_drawn, target.ns_docs) if x is not None and host in x.exports), None)
    if found is None or not namespaces:
        return ""
    authorization = found.authorization or Authorization(None)
    td = _trust_domain(caller)
    verdicts = {ns: boundary.verdict(authorization, host, caller.mesh, td, ns) for ns in namespaces}
    if None in verdicts.values():
        return ""
    admitted = [ns for ns, v in verdicts.items() if v is not None and v.startswith("admitted")]
    if len(admitted) == len(verdicts):
        return "admitted"
    if not admitted:
        return "denied"
    return "admitted " + ", ".join(admitted) + "; denied " + ", ".join(ns for ns in verdicts if ns not in admitted)


def build_graph(repo: Repo) -> Graph:
    """The graph of a repository loaded with `KEEP`."""
    g = Graph(clusters=[Box(c.name, c.mesh, c.network) for c in repo.clusters])
    box = {c.mesh: b for c, b in zip(repo.clusters, g.clusters)}
    rank = {c.mesh: i for i, c in enumerate(repo.clusters)}
    locality = _localities(repo)

    def ingress(mesh: str | None) -> tuple:
        c = repo.cluster_of_mesh(mesh)
        if c is None:
            return g.node(("ext", mesh), [f"mesh {mesh}", "not in this repository"], "external", None,
                          (len(rank), 0, str(mesh)))
        m = _drawn(c.mesh_doc)
        ref = m.ingress_gateway if m is not None else None
        return g.node((c.name, "ingress"), ["ingress gateway", ref or "none rendered"], "gateway", box[c.mesh],
                      (rank[c.mesh], 0, ""))

    def egress(c: Cluster) -> tuple:
        m = _drawn(c.mesh_doc)
        ref = m.egress_gateway if m is not None else None
        return g.node((c.name, "egress"), ["egress gateway", ref or "none rendered"], "gateway", box[c.mesh],
                      (rank[c.mesh], 1, ""))

    for c in repo.clusters:
        m = _drawn(c.mesh_doc)
        docs = [(d, x) for d, x in ((d, _drawn(d)) for d in c.ns_docs) if x is not None]
        if m is not None:
            if m.local_exports:
                ingress(c.mesh)
            if m.egress and m.egress_gateway is not None:
                eg = egress(c)
                for h, (remotes, f) in sorted(m.routes.items()):
                    callers = [d.namespace for d, x in docs if d.namespace and h in x.imports]
                    for r, role in zip(remotes, roles(f, list(remotes), locality[c.mesh])):
                        g.edge(eg, ingress(r.mesh), _label(h, role if len(remotes) > 1 else "",
                                                           _mark(repo, r.mesh, h, c, callers)))
        local = set(m.local_exports) if m is not None else set()
        for d, x in docs:
            for host in x.exports:
                svc = g.node((c.name, "svc", d.label, host), [host, f"namespace {d.label}"],
                             "service", box[c.mesh], (rank[c.mesh], 3, d.label, host))
                if host in local:
                    g.edge(ingress(c.mesh), svc, "")
            if not x.imports:
                continue
            ns = g.node((c.name, "ns", d.label), [f"namespace {d.label}"], "namespace", box[c.mesh],
                        (rank[c.mesh], 2, d.label))
            through_egress = _egress_used(c, x)
            for host in x.imports:
                if through_egress:
                    g.edge(ns, egress(c), host)
                    continue
                served, f = x.routes[host]
                others = [r for r in served if r.mesh != c.mesh]
                marks = roles(f, others, locality[c.mesh]) if f is not None and len(others) > 1 else []
                for r, role in zip(others, marks or [""] * len(others)):
                    admitted = _mark(repo, r.mesh, host, c, [d.namespace] if d.namespace else [])
                    g.edge(ns, ingress(r.mesh), _label(host, role, admitted))
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
