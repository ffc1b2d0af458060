"""Kubernetes objects as the adapters see them: identity, references, and the bookkeeping
annotations kustomize, kpt and meshfed itself put on them."""
from __future__ import annotations

from ..values.diagnostics import Diagnostic, error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable

    Key = tuple[str, Any, str, Any]

GROUP = "meshfed.io"
KIND = "MeshFederation"
FUNCTION_ANNOTATIONS = ("config.kubernetes.io/function", "config.k8s.io/function")
LOCAL_CONFIG = "config.kubernetes.io/local-config"
PATH_ANNOTATIONS = ("internal.config.kubernetes.io/path", "config.kubernetes.io/path")
INDEX_ANNOTATIONS = ("internal.config.kubernetes.io/index", "config.kubernetes.io/index")
# Set on every object the KRM function generates: the document it came from. A later run of the
# function replaces the objects that carry it.
OWNER = "meshfed.io/generated-from"
# Annotation prefixes owned by kustomize and kpt: never handed to the core.
BOOKKEEPING_PREFIXES = (
    "config.kubernetes.io/",
    "internal.config.kubernetes.io/",
    "config.k8s.io/",
    "kustomize.config.k8s.io/",
)


def is_meshfederation(obj: Any) -> bool:
    """A MeshFederation document of any meshfed.io version (the core checks the version)."""
    if not isinstance(obj, dict) or obj.get("kind") != KIND:
        return False
    api = obj.get("apiVersion")
    return isinstance(api, str) and api.split("/", 1)[0] == GROUP


def metadata_of(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def annotations_of(obj: dict[str, Any]) -> dict[str, Any]:
    ann = metadata_of(obj).get("annotations")
    return ann if isinstance(ann, dict) else {}


def annotation(obj: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    """The first of `keys` that the object carries as a non-empty string."""
    ann = annotations_of(obj)
    for key in keys:
        value = ann.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def is_local_config(obj: dict[str, Any]) -> bool:
    return str(annotations_of(obj).get(LOCAL_CONFIG, "")).lower() == "true"


def has_function_annotation(obj: dict[str, Any]) -> bool:
    return any(k in annotations_of(obj) for k in FUNCTION_ANNOTATIONS) or "configFn" in metadata_of(obj)


def with_annotations(obj: dict[str, Any], extra: dict[str, str]) -> dict[str, Any]:
    """A copy of `obj` whose annotations also hold `extra`."""
    meta = dict(metadata_of(obj))
    meta["annotations"] = {**annotations_of(obj), **extra}
    return {**obj, "metadata": meta}


def resource_ref(obj: dict[str, Any]) -> dict[str, str]:
    meta = metadata_of(obj)
    ref = {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "name": meta.get("name"),
           "namespace": meta.get("namespace")}
    return {k: v for k, v in ref.items() if isinstance(v, str) and v}


def strip_bookkeeping(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of `doc` without the annotations kustomize and kpt add or read."""
    meta = metadata_of(doc)
    if not isinstance(meta.get("annotations"), dict):
        return doc
    kept = {k: v for k, v in meta["annotations"].items()
            if not (isinstance(k, str) and k.startswith(BOOKKEEPING_PREFIXES))}
    new_meta = dict(meta)
    if kept:
        new_meta["annotations"] = kept
    else:
        del new_meta["annotations"]
    return {**doc, "metadata": new_meta}


def object_key(obj: dict[str, Any]) -> Key:
    """Identity as kustomize and Argo CD see it: API group, kind, namespace, name."""
    api = obj.get("apiVersion")
    group = api.rsplit("/", 1)[0] if isinstance(api, str) and "/" in api else ""
    meta = metadata_of(obj)
    return (group, obj.get("kind"), meta.get("namespace") or "", meta.get("name"))


def describe_key(key: Key) -> str:
    group, kind, namespace, name = key
    kind_text = f"{kind}.{group}" if group else str(kind) if kind is not None else "(no kind)"
    return f"{kind_text} {namespace + '/' if namespace else ''}{name if name is not None else '(unnamed)'}"


def duplicates(keyed: Iterable[tuple[Key, str]]) -> list[Diagnostic]:
    """The one duplicate-object check, over (identity, where the object comes from) pairs: an
    identity seen twice is an error naming both origins (kustomize would fail on it, Argo CD
    would keep only one of them)."""
    # Names by (group, kind, namespace): no key tuple is kept per object (a render may emit 100,000s).
    owners: dict[tuple[str, Any, str], dict[Any, str]] = {}
    problems = []
    for key, origin in keyed:
        names = owners.get(key[:3])
        if names is None:
            names = owners[key[:3]] = {}
        name = key[3]
        if name not in names:
            names[name] = origin
            continue
        problems.append(error(f"{describe_key(key)} is emitted twice, by {names[name]} and by {origin}: "
                              "two sources may not emit the same object", origin))
    return problems
