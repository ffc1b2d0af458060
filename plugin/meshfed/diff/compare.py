"""Matching the objects of two revisions, application by application.

Objects are matched by application (its directory), API group, kind, namespace and name; an
object is added, removed, or changed (its YAML differs). An application directory that exists at
one revision only is added or removed, unless it is a rename: a directory that disappears and one
that appears, in the same cluster (the same mesh; or both in none), sharing at least half of their
objects' identities, are one application renamed, and only their objects that differ are listed.
"""
from __future__ import annotations

import difflib

from ..federation.graph import Box
from ..output.resources import describe_key
from ..output.unordered import equal_up_to_order
from ..values.yamlio import parse_all
from .apps import Rendered
from .revisions import Revision

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..values.diagnostics import Diagnostic
    from ..output.resources import Key

ADDED, REMOVED, CHANGED, RENAMED, ERROR = "added", "removed", "changed", "renamed", "error"
RENAME_SIMILARITY = 0.5  # shared identities over all identities of the two directories


class Change:
    """One object that differs: `before`/`after` are its YAML at the base and the head."""

    __slots__ = ("change", "key", "before", "after")

    def __init__(self, change: str, key: Key, before: str | None, after: str | None) -> None:
        self.change = change
        self.key = key
        self.before = before
        self.after = after

    @property
    def title(self) -> str:
        """`ServiceEntry.networking.istio.io bookinfo/ratings`."""
        return describe_key(self.key)

    def unified(self, base: str, head: str) -> list[str]:
        """The unified diff of its YAML (an added or removed object: all of it), lines without
        their line ends."""
        before = (self.before or "").splitlines()
        after = (self.after or "").splitlines()
        return list(difflib.unified_diff(before, after, f"{base} {self.title}" if self.before else "/dev/null",
                                         f"{head} {self.title}" if self.after else "/dev/null", lineterm=""))


class AppDiff:
    """An application that differs between the revisions (or did not render at one of them).

    `status`: added or removed (the directory exists at one revision only), renamed (from
    `old_path`), changed, or error (`errors` says at which revision; no objects are compared)."""

    __slots__ = ("path", "old_path", "cluster", "status", "changes", "errors")

    def __init__(self, path: str, old_path: str | None, cluster: Box | None, status: str,
                 changes: list[Change], errors: list[tuple[Revision, Diagnostic]]) -> None:
        self.path = path
        self.old_path = old_path
        self.cluster = cluster
        self.status = status
        self.changes = changes
        self.errors = errors

    def count(self, change: str) -> int:
        return sum(c.change == change for c in self.changes)


class Side:
    """One revision's applications, rendered, and the cluster of each."""

    __slots__ = ("revision", "apps", "clusters")

    def __init__(self, revision: Revision, apps: dict[str, Rendered], clusters: dict[str, Box]) -> None:
        self.revision = revision
        self.apps = apps
        self.clusters = clusters


def compare(base: Side, head: Side, ignore_order: bool = False) -> tuple[list[AppDiff], int]:
    """Every application that differs, sorted by path (the head's path for a rename), and how
    many objects differ only in order (with `ignore_order`: the order of the objects' lists
    Istio reads as sets, `unordered.SET_FIELDS`; such objects are not changes)."""
    renames = _renames(base, head)
    reordered = 0
    renamed_from = {new: old for old, new in renames.items()}
    out = []
    for path in sorted(set(base.apps) | set(head.apps)):
        if path in renames:
            continue
        old_path = renamed_from.get(path, path if path in base.apps else None)
        before = base.apps.get(old_path) if old_path is not None else None
        after = head.apps.get(path)
        # The head's cluster, else the base's (a document that does not render belongs to none).
        cluster = head.clusters.get(path) or (base.clusters.get(old_path) if old_path is not None else None)
        errors = [(base.revision, d) for d in (before.errors if before else [])]
        errors += [(head.revision, d) for d in (after.errors if after else [])]
        if errors:
            out.append(AppDiff(path, old_path if old_path != path else None, cluster, ERROR, [], errors))
            continue
        changes = _changes(before.objects if before else {}, after.objects if after else {})
        if ignore_order:
            kept = [c for c in changes if not (c.change == CHANGED and _reordered(c))]
            reordered += len(changes) - len(kept)
            changes = kept
        status = (ADDED if before is None else REMOVED if after is None else
                  RENAMED if old_path != path else CHANGED)
        if changes or status != CHANGED:
            out.append(AppDiff(path, old_path if status == RENAMED else None, cluster, status, changes, []))
    return out, reordered


def _reordered(change: Change) -> bool:
    """Whether a changed object's two versions differ only in the order of set-like lists."""
    before, after = (parse_all(text or "", change.title)[0] for text in (change.before, change.after))
    return equal_up_to_order(change.key, before, after)


def _changes(before: dict[Key, str], after: dict[Key, str]) -> list[Change]:
    out = []
    for key in sorted(set(before) | set(after), key=lambda k: tuple(str(part) for part in k)):
        old, new = before.get(key), after.get(key)
        if old is None:
            out.append(Change(ADDED, key, None, new))
        elif new is None:
            out.append(Change(REMOVED, key, old, None))
        elif old != new:
            out.append(Change(CHANGED, key, old, new))
    return out


def _renames(base: Side, head: Side) -> dict[str, str]:
    """Old path -> new path of the directories that were renamed (see the module docstring):
    the most similar pairs first, ties broken by path."""
    gone = [p for p in base.apps if p not in head.apps and not base.apps[p].errors]
    new = [p for p in head.apps if p not in base.apps and not head.apps[p].errors]
    candidates = []
    for old in gone:
        for path in new:
            if _mesh(base.clusters.get(old)) != _mesh(head.clusters.get(path)):
                continue
            a, b = set(base.apps[old].objects), set(head.apps[path].objects)
            similarity = len(a & b) / len(a | b) if a | b else 0.0
            if similarity >= RENAME_SIMILARITY:
                candidates.append((-similarity, old, path))
    pairs: dict[str, str] = {}
    for _, old, path in sorted(candidates):
        if old not in pairs and path not in pairs.values():
            pairs[old] = path
    return pairs


def _mesh(cluster: Box | None) -> str | None:
    return cluster.mesh if cluster is not None else None
