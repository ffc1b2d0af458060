"""The whole admission path for one object, in the cluster's order.

discovery -> strict decoding (unknown fields) -> null pruning and defaulting -> metadata, OpenAPI
schema and list-type checks -> CEL rules (skipped, as by the API server, after a blocking error) ->
server-side Route checks -> Istio's webhook (only reached when the API server accepted the object).
"""
from __future__ import annotations

import copy
from functools import partial
from pathlib import Path
from typing import Any

from . import cel, openapi, webhook
from .crds import load_index
from .gofmt import quote
from .metadata import validate_metadata
from .problems import BLOCKING, FieldError, Layer, Problem, invalid
from .route import validate_route
from .structural import apply_defaults, prune_nulls, prune_unknown, validate_list_types

_NOT_CHECKED = ("some validation rules were not checked because the object was invalid; "
                "correct the existing errors to complete validation")


BUNDLED_CRDS = Path(__file__).resolve().parent.parent / "crds"


def validate_objects(objects: list[dict[str, Any]], crd_paths: list[Path] | None = None) -> list[Problem]:
    """Every reason the cluster described by `crd_paths` would refuse one of `objects`.

    `crd_paths` are CRD files or directories (searched recursively for *.yaml, *.yml, *.json; multi-
    document files and `kind: List` exports are read); by default the CRDs bundled with meshfed
    (`meshfed/crds`). Raises RuntimeError when the optional CEL dependency is missing.
    """
    cel.engine()
    index = load_index(crd_paths or [BUNDLED_CRDS])
    problems: list[Problem] = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        report = partial(Problem, str(obj.get("apiVersion", "")), str(obj.get("kind", "")),
                         str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        found = index.lookup(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        if found is None:
            kind, api_version = str(obj.get("kind", "")), str(obj.get("apiVersion", ""))
            problems.append(report("", f"no matches for kind {quote(kind)} in version {quote(api_version)}",
                                   Layer.DISCOVERY))
            continue
        crd, version = found
        problems += _check(copy.deepcopy(obj), crd.group, crd.namespaced, version.schema, report)
    return problems


def _check(obj: dict[str, Any], group: str, namespaced: bool, schema: Any, report: partial[Problem]) -> list[Problem]:
    problems = []
    if schema is not None:
        problems += [report(path, f"unknown field {quote(path)}", Layer.DECODE) for path in prune_unknown(obj, schema)]
        prune_nulls(obj, schema)
        apply_defaults(obj, schema)
    errors: list[FieldError] = validate_metadata(obj.get("metadata") or {}, namespaced)
    unchecked: list[tuple[str, str]] = []
    if schema is not None:
        errors += openapi.validate(obj, schema)
        errors += validate_list_types(obj, schema)
        if any(e.type in BLOCKING for e in errors):
            errors.append(invalid(None, None, _NOT_CHECKED))
        else:
            outcome = cel.validate_rules(obj, schema)
            errors += outcome.errors
            unchecked = outcome.unchecked
    if group == "route.openshift.io" and obj.get("kind") == "Route":
        errors += validate_route(obj)
    problems += [report(e.path or "", str(e)) for e in errors]
    problems += [report(path, message, Layer.UNCHECKED) for path, message in unchecked]
    if not errors and group in ("networking.istio.io", "security.istio.io"):
        problems += [report(path, message, Layer.WEBHOOK) for path, message in webhook.validate(obj)]
    return problems
