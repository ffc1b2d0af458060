"""The diff written out: text (for a terminal), Markdown (for a pull-request comment) or JSON.

Every format lists the applications that differ or did not render, sorted by path, and within
each the objects that differ, sorted by identity; an object's diff is the unified diff of its YAML
as `meshfed render` writes it. Unchanged applications are only counted. A change to failover
(a DestinationRule's outlier detection or locality setting, endpoint weights, the egress
gateway's one destination) is also said in words, per imported host, before the objects; so is
a change to boundary authorization (meshfed's AuthorizationPolicies): who gains or loses access.
"""
from __future__ import annotations

import html
import json
import re

from ..values.authorization import change_in_words
from ..values.diagnostics import Diagnostic, printable
from ..values.failover import DESTINATION_PREFIX, OUTLIER_FIELDS
from ..federation.graph import changes as graph_changes, to_mermaid
from ..values.yamlio import parse_all
from .compare import ADDED, CHANGED, ERROR, REMOVED, RENAMED, AppDiff
from .revisions import Revision

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .clusters import FederationView

FORMATS = ("text", "markdown", "json")
# GitHub refuses a comment longer than this (characters): `-o markdown` leaves out the object
# diffs that do not fit, after the summary, the errors and the graph, and says how many.
COMMENT_LIMIT, COMMENT_RESERVE = 65536, 200


class Report:
    """Everything the writers need: the two revisions, the applications that differ, how many
    were compared, and each revision's federation view (for the graph)."""

    __slots__ = ("base", "head", "diffs", "compared", "views", "reordered", "skipped")

    def __init__(self, base: Revision, head: Revision, diffs: list[AppDiff], compared: int,
                 views: tuple[FederationView, FederationView], reordered: int | None = None,
                 skipped: int = 0) -> None:
        self.base = base
        self.head = head
        self.diffs = diffs
        self.compared = compared
        self.views = views
        self.reordered = reordered  # with --ignore-order: the objects that differ only in order
        self.skipped = skipped  # compared without a render: the same inputs at both revisions

    @property
    def errors(self) -> int:
        return sum(d.status == ERROR for d in self.diffs)

    def total(self, change: str) -> int:
        return sum(d.count(change) for d in self.diffs)

    def summary(self) -> str:
        """`2 of 6 applications differ: 3 objects added, 1 removed, 2 changed; 1 not rendered; 3
        skipped, their inputs unchanged`."""
        differ = [d for d in self.diffs if d.status != ERROR]
        order = (f" ({_plural(self.reordered, 'object')} only reordered, in lists Istio reads as sets)"
                 if self.reordered else "")
        skipped = f"; {self.skipped} skipped, their inputs unchanged" if self.skipped else ""
        if not self.diffs:
            if self.reordered is not None:
                return f"no semantic change in {_plural(self.compared, 'application')}{order}{skipped}"
            return f"no differences in {_plural(self.compared, 'application')}{skipped}"
        text = (f"{len(differ)} of {_plural(self.compared, 'application')} differ: "
                f"{_plural(self.total(ADDED), 'object')} added, {self.total(REMOVED)} removed, "
                f"{self.total(CHANGED)} changed")
        return text + (f"; {self.errors} not rendered" if self.errors else "") + order + skipped


def once(d: AppDiff) -> list[tuple[str, Diagnostic]]:
    """An application's errors, each once: one found at both revisions is named by both (a broken
    fixture the change does not touch is one error, not two)."""
    labels: dict[Diagnostic, list[str]] = {}
    for revision, diagnostic in d.errors:
        labels.setdefault(diagnostic, []).append(revision.label)
    return [(" and ".join(dict.fromkeys(names)), diagnostic) for diagnostic, names in labels.items()]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _counts(d: AppDiff) -> str:
    parts = [f"{d.count(c)} {c}" for c in (ADDED, REMOVED, CHANGED) if d.count(c)]
    return ", ".join(parts) or "no object differs"


def _what(d: AppDiff) -> str:
    """How the application itself changed, for the line that introduces it."""
    if d.status == ERROR:
        return "not rendered"
    if d.status == RENAMED:
        return f"renamed from {printable(d.old_path or '')}"
    return {ADDED: "new application", REMOVED: "application removed"}.get(d.status, "changed")


def _cluster(d: AppDiff) -> str:
    return d.cluster.name if d.cluster is not None else "-"


# --------------------------------------------------------------------------------------------
# Failover in words


def _parsed(text: str | None) -> dict | None:
    if not text:
        return None
    docs = parse_all(text, "diff")
    return docs[0] if docs and isinstance(docs[0], dict) else None


def _failover_of(rule: dict | None) -> tuple[str, dict] | None:
    """(mode, outlierDetection) a DestinationRule sets (its first port's when per port), or None."""
    if rule is None:
        return None
    policy = rule.get("spec", {}).get("trafficPolicy") or {}
    policy = (policy.get("portLevelSettings") or [policy])[0]
    od = policy.get("outlierDetection")
    if not isinstance(od, dict):
        return None
    enabled = ((policy.get("loadBalancer") or {}).get("localityLbSetting") or {}).get("enabled", True)
    return ("nearest" if enabled else "weighted"), od


def _weights(obj: dict | None) -> dict[str, int]:
    """Endpoint weights of a ServiceEntry (by mesh label, else address) or a WorkloadEntry."""
    if obj is None:
        return {}
    spec = obj.get("spec") or {}
    if obj.get("kind") == "WorkloadEntry":
        mesh = (obj.get("metadata", {}).get("labels") or {}).get("topology.istio.io/cluster", "?")
        return {f"mesh {mesh}": spec["weight"]} if "weight" in spec else {}
    out = {}
    for ep in spec.get("endpoints") or ():
        if isinstance(ep, dict) and "weight" in ep:
            mesh = (ep.get("labels") or {}).get("mesh")
            out[f"mesh {mesh}" if mesh else str(ep.get("address"))] = ep["weight"]
    return out


def _host_of(obj: dict) -> str:
    spec = obj.get("spec") or {}
    host = spec.get("host") or (spec.get("hosts") or [""])[0]
    if obj.get("kind") == "WorkloadEntry":
        host = (obj.get("metadata", {}).get("name") or "").rsplit("-", 2)[0]
    return host.removeprefix(DESTINATION_PREFIX)


def failover_words(d: AppDiff) -> list[str]:
    """What a change does to failover, one sentence per imported host and aspect."""
    out: list[str] = []
    weights: dict[str, tuple[dict[str, int], dict[str, int]]] = {}
    for change in d.changes:
        kind = change.key[1]
        before, after = _parsed(change.before), _parsed(change.after)
        obj = after or before
        if obj is None:
            continue
        host = _host_of(obj)
        if kind == "DestinationRule":
            was, now = _failover_of(before), _failover_of(after)
            if was is None and now is not None:
                out.append(f"{host}: on, mode {now[0]}")
            elif was is not None and now is None:
                out.append(f"{host}: off, a dead exporter keeps its share of the requests")
            elif was is not None and now is not None:
                if was[0] != now[0]:
                    out.append(f"{host}: mode {was[0]} -> {now[0]}")
                moved = [f"{k} {was[1].get(k, 'unset')} -> {now[1].get(k, 'unset')}" for k in OUTLIER_FIELDS
                         if was[1].get(k) != now[1].get(k)]
                if moved:
                    out.append(f"{host}: outlier detection {', '.join(moved)}")
        elif kind in ("ServiceEntry", "WorkloadEntry"):
            pair = weights.setdefault(host, ({}, {}))
            pair[0].update(_weights(before))
            pair[1].update(_weights(after))
        elif kind == "VirtualService" and before is not None and after is not None:
            def one(o: dict) -> bool:
                route = o["spec"]["tls"][0]["route"]
                return len(route) == 1 and route[0]["destination"]["host"].startswith(DESTINATION_PREFIX)
            host = (after["spec"].get("hosts") or [""])[0].removeprefix("*.")
            if one(after) and not one(before):
                out.append(f"{host}: the egress gateway now routes to one destination over every exporter "
                           "(failover) instead of a weighted split")
            elif one(before) and not one(after):
                out.append(f"{host}: the egress gateway splits by weight again: no failover between exporters")
    for host, (old, new) in weights.items():
        if old != new:
            keys = list(dict.fromkeys([*old, *new]))
            out.append(f"{host}: endpoint weights " + ", ".join(
                f"{k} {old.get(k, 'unset')} -> {new.get(k, 'unset')}" for k in keys if old.get(k) != new.get(k)))
    return sorted(set(out))


def authorization_words(d: AppDiff) -> list[str]:
    """What a change does to boundary authorization: who gains or loses access, per policy."""
    out: list[str] = []
    for change in d.changes:
        if change.key[1] == "AuthorizationPolicy":
            out += change_in_words(_parsed(change.before), _parsed(change.after))
    return out


# --------------------------------------------------------------------------------------------
# Text

_COLOURS = {"bold": "1", "red": "31", "green": "32", "cyan": "36"}


def text(report: Report, colour: bool) -> str:
    def paint(line: str, style: str) -> str:
        return f"\033[{_COLOURS[style]}m{line}\033[0m" if colour else line

    out = [paint(f"meshfed diff: base {report.base.name}, head {report.head.name}", "bold")]
    for d in report.diffs:
        # The errors themselves go to stderr, once (`meshfed.diff.run`): not here again.
        errors = f"{_plural(len(once(d)), 'error')}, on stderr" if d.status == ERROR else ""
        out.append(paint(f"{printable(d.path)} (cluster {printable(_cluster(d))}, {_what(d)}): "
                         f"{errors or _counts(d)}", "bold"))
        out += [f"  failover: {printable(line)}" for line in failover_words(d)]
        out += [f"  authorization: {printable(line)}" for line in authorization_words(d)]
        for change in d.changes:
            out.append(paint(f"{change.change} {change.title}", "bold"))
            for line in change.unified("base", "head"):
                style = ("bold" if line.startswith(("---", "+++")) else "cyan" if line.startswith("@@")
                         else "green" if line.startswith("+") else "red" if line.startswith("-") else None)
                out.append(paint(line, style) if style else line)
    out.append(report.summary())
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# Markdown


def _code(value: str) -> str:
    """An inline code span that holds any text (GitHub tables: `|` escaped)."""
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", value)), default=0) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{ticks}{pad}{value.replace('|', '&#124;')}{pad}{ticks}"


def _fence(body: str, info: str) -> list[str]:
    """A fenced block longer than any backtick run inside it."""
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`{3,}", body)), default=0) + 1)
    return [f"{ticks}{info}", body.rstrip("\n"), ticks]


def markdown(report: Report) -> str:
    out = ["## meshfed diff", "",
           f"Base {_code(report.base.name)}, head {_code(report.head.name)}: {report.summary()}.", ""]
    if not report.diffs:
        return "\n".join(out)
    out += ["| cluster | application | change | added | removed | changed |", "|---|---|---|---:|---:|---:|"]
    for d in sorted(report.diffs, key=lambda d: (d.cluster is None, _cluster(d), d.path)):
        counts = ["", "", ""] if d.status == ERROR else [str(d.count(c)) for c in (ADDED, REMOVED, CHANGED)]
        status = ("**not rendered**" if d.status == ERROR else f"renamed from {_code(d.old_path or '')}"
                  if d.status == RENAMED else _what(d))
        out.append(f"| {html.escape(_cluster(d)).replace('|', '&#124;')} | {_code(d.path)} | {status} | "
                   f"{' | '.join(counts)} |")
    out.append("")
    errors = [(label, diagnostic) for d in report.diffs for label, diagnostic in once(d)]
    if errors:
        out += ["### Errors", ""]
        out += [f"- {html.escape(label)}: {_code(str(diagnostic))}" for label, diagnostic in errors]
        out.append("")
    graph = _graph(report)
    if graph:
        out += ["### Federation", "",
                "The clusters whose objects differ, as at the head; edges the change adds are thick (`+`), "
                "edges it removes dotted (`-`).", "", *_fence(graph, "mermaid"), ""]
    size = sum(len(line) + 1 for line in out)
    left_out = 0
    for d in report.diffs:
        heading = [f"### {_code(d.path)} (cluster {html.escape(_cluster(d))})", ""]
        words = [f"failover: {line}" for line in failover_words(d)]
        words += [f"authorization: {line}" for line in authorization_words(d)]
        if words:
            out += [*heading, *(f"- {html.escape(line)}" for line in words), ""]
            heading = []
        for change in d.changes:
            body = "\n".join(change.unified("base", "head"))
            block = [*heading, f"<details><summary>{change.change} <code>{html.escape(change.title)}</code>"
                     "</summary>", "", *_fence(body, "diff"), "", "</details>", ""]
            added = sum(len(line) + 1 for line in block)
            if left_out or size + added > COMMENT_LIMIT - COMMENT_RESERVE:
                left_out += 1  # in order: the diffs shown are a prefix of the list
                continue
            out += block
            size += added
            heading = []
    if left_out:
        out += [f"{_plural(left_out, 'more object diff')} left out: a pull-request comment holds at most "
                f"{COMMENT_LIMIT:,} characters. `meshfed diff` shows them all.", ""]
    return "\n".join(out)


def _graph(report: Report) -> str:
    """The Mermaid graph of the clusters whose objects differ ('' when none is in a cluster)."""
    before, after = report.views
    names = set()
    for d in report.diffs:
        if not d.changes:  # not rendered, or renamed with every object the same
            continue
        for view, path in ((before, d.old_path or d.path), (after, d.path)):
            ref = view.clusters.get(path)
            if ref is not None:
                names.add(ref.name)
    if not names:
        return ""
    g, marks = graph_changes(before.graph, after.graph, names)
    return to_mermaid(g, marks) if g.nodes else ""


# --------------------------------------------------------------------------------------------
# JSON


def as_json(report: Report) -> str:
    def revision(r: Revision) -> dict[str, str | None]:
        return {"ref": r.ref, "commit": r.commit}

    def shown(name: str | None) -> str | None:  # file names that are not UTF-8 escaped, as in text
        return None if name is None else printable(name, len(name))

    apps: list[dict[str, object]] = []
    for d in report.diffs:
        apps.append({
            "path": shown(d.path),
            "renamedFrom": shown(d.old_path),
            "cluster": d.cluster.name if d.cluster is not None else None,
            "mesh": d.cluster.mesh if d.cluster is not None else None,
            "status": d.status,
            "objects": [{"change": c.change, "group": c.key[0], "kind": c.key[1], "namespace": c.key[2],
                         "name": c.key[3], "diff": "\n".join(c.unified("base", "head")) + "\n"} for c in d.changes],
            "errors": [{"revision": r.side, "file": shown(e.file), "field": shown(e.path), "message": shown(e.message)}
                       for r, e in d.errors],
        })
        words = failover_words(d)
        if words:
            apps[-1]["failover"] = words
        access = authorization_words(d)
        if access:
            apps[-1]["authorization"] = access
    summary = {"applications": report.compared, "differ": sum(d.status != ERROR for d in report.diffs),
               "added": report.total(ADDED), "removed": report.total(REMOVED), "changed": report.total(CHANGED),
               "notRendered": report.errors, "skipped": report.skipped}
    if report.reordered is not None:
        summary["reordered"] = report.reordered
    doc = {"base": revision(report.base), "head": revision(report.head), "applications": apps, "summary": summary}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
