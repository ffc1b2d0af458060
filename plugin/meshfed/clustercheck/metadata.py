"""ObjectMeta checks the API server applies to every custom resource (ValidateObjectMetaAccessor)."""
from __future__ import annotations

from typing import Any

from . import names
from .problems import FieldError, forbidden, invalid, required, too_long

#: ObjectMeta's fields; anything else under metadata is an unknown field.
OBJECT_META_FIELDS = frozenset({
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
    "ownerReferences", "finalizers", "managedFields",
})
_ANNOTATIONS_LIMIT = 256 * 1024


def validate_metadata(meta: dict[str, Any], namespaced: bool) -> list[FieldError]:
    """Name (DNS-1123 subdomain), namespace, labels and annotations, in that order.

    generateName's own syntax is not checked: the generator never sets it.
    """
    errs: list[FieldError] = []
    name = meta.get("name") or ""
    if not name and not meta.get("generateName"):
        errs.append(required("metadata.name", "name or generateName is required"))
    elif name:
        errs += [invalid("metadata.name", name, m) for m in names.dns1123_subdomain(name)]
    namespace = meta.get("namespace") or ""
    if namespace and not namespaced:
        errs.append(forbidden("metadata.namespace", "not allowed on this type"))
    elif namespace:
        errs += [invalid("metadata.namespace", namespace, m) for m in names.dns1123_label(namespace)]
    for key, value in (meta.get("labels") or {}).items():
        errs += [invalid("metadata.labels", key, m) for m in names.qualified_name(str(key))]
        errs += [invalid("metadata.labels", value, m) for m in names.label_value(str(value))]
    annotations = meta.get("annotations") or {}
    for key in annotations:
        errs += [invalid("metadata.annotations", key, m) for m in names.qualified_name(str(key).lower())]
    if sum(len(str(k)) + len(str(v)) for k, v in annotations.items()) > _ANNOTATIONS_LIMIT:
        errs.append(too_long("metadata.annotations", _ANNOTATIONS_LIMIT))
    return errs
