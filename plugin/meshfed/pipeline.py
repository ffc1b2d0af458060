"""Values layers in, planned objects and diagnostics out: layout and tier choice, defaults,
merging, patches, validation, the rows of both layouts, and F2 naming."""
from __future__ import annotations


from .layouts import v1, v2
from .values import checks, model, naming
from .output.apiversions import upgrade
from .values.checks import MESH, NAMESPACE, Finding
from .values.defaults import DEFAULTS_NAME, V2_DEFAULT_INGRESS_APP, defaults_layer
from .values.diagnostics import Diagnostic, error, has_errors, warning
from .values.meshfederation import Patch
from .values.formats import all_dns_subdomains
from .values.merge import Layer, Merged, Path_, format_path, merge_layers
from .values.options import BY_DEST, Options
from .output.rows import Context, Objects, Planned
from .values.schema import validate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Hashable

V1_ONLY = ("egressGateway", "useOpenshiftRouter", "gatewaySelector", "port")
V2_ONLY = ("gateways", "enableOpenshiftRouter", "enableGatewayAPI")
ALLOW_EMPTY = BY_DEST["allow_empty"]  # named in the message of an empty render


class Rendering:
    """The outcome of one values set: diagnostics, and (when there is no error) the planned
    objects with their final names, built one at a time by `objects()`."""

    __slots__ = ("diagnostics", "planned", "names", "distinct", "layout", "merged", "values")

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.planned: list[Planned] = []
        self.names: list[str] = []
        # No two objects share API group, kind, namespace and name: F2 found every scope's names
        # valid and unique (else hashed names might, however unlikely, meet another's).
        self.distinct = False
        # What the values were read as (None when the layout could not be decided): the merged
        # values with provenance, and their typed view. Cross-cluster checks reuse them.
        self.layout: str | None = None
        self.merged: Merged | None = None
        self.values: model.Values | None = None

    def objects(self) -> Objects:
        return Objects([(self.planned, self.names)])


def decide_layout(layers: list[Layer], explicit: str | None) -> tuple[str, list[Diagnostic]]:
    """2.4: explicit, else by the layout-only keys the user's files hold (null values count)."""
    if explicit:
        return explicit, []
    found: dict[str, list[tuple[Layer, str]]] = {"v1": [], "v2": []}
    for layer in layers:
        g = layer.data.get("global")
        if isinstance(g, dict):
            found["v1"] += [(layer, k) for k in V1_ONLY if k in g]
            found["v2"] += [(layer, k) for k in V2_ONLY if k in g]
    if found["v1"] and found["v2"]:
        def names(layout: str) -> str:
            return ", ".join(f"global.{k} ({layer.name})" for layer, k in found[layout])
        layer, key = found["v1"][0]
        return "v2", [error(f"cannot decide the layout: layout v1 keys {names('v1')} and layout v2 keys "
                            f"{names('v2')} are both present; remove one set or set the layout explicitly",
                            layer.name, layer.locate(("global", key)))]
    return ("v1" if found["v1"] else "v2"), []


def infer_scope(layers: list[Layer]) -> str:
    """2.4: namespace when the merged import or export list is non-empty, else mesh."""
    merged = merge_layers(layers).values
    return NAMESPACE if merged.get("import") or merged.get("export") else MESH


def _apply_patches(merged: Merged, patches: list[Patch]) -> list[Diagnostic]:
    """Apply the patches, in order, to the merged values in place: the merge made them private,
    so one copy serves every operation (cost linear in the operations). Each operation's own
    value is copied, as base documents are shared across the documents of one run."""
    problems: list[Diagnostic] = []
    if not patches:
        return problems
    import copy

    import jsonpatch  # only documents with spec.patches pay for it

    for patch in patches:
        where = f"spec.patches[{patch.index}]"
        # RFC 6902 section 4: members an operation does not define are ignored. An `op` that is not
        # a string (a list or a map cannot even be looked up) is reported by the schema check, and
        # jsonpatch refuses it below.
        name = patch.op.get("op")
        members = _MEMBERS.get(name if isinstance(name, str) else "", ("op", "path"))
        op = {k: copy.deepcopy(patch.op[k]) for k in members if k in patch.op}
        if "from" in members and not isinstance(op.get("from"), str):
            problems.append(error(f"patch failed: {op.get('op')} needs from: a JSON pointer (a string)",
                                  patch.source, f"{where}.from"))
            continue
        try:
            merged.values = jsonpatch.apply_patch(merged.values, [op], in_place=True)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError,
                IndexError, ValueError, AttributeError) as exc:
            problems.append(error(f"patch failed: {_patch_failure(exc, patch.op)}", patch.source, where))
            continue
        pointer = patch.op.get("path")
        if patch.op.get("op") in ("add", "replace", "copy", "move") and isinstance(pointer, str):
            merged.origins[_set_path(merged.values, jsonpatch.JsonPointer(pointer).parts)] = \
                Layer(patch.source, {}, "", where)
    return problems


# The members each operation defines (RFC 6902 section 4); any other member is ignored.
_MEMBERS = {"add": ("op", "path", "value"), "replace": ("op", "path", "value"), "test": ("op", "path", "value"),
            "remove": ("op", "path"), "move": ("op", "path", "from"), "copy": ("op", "path", "from")}


def _patch_failure(exc: Exception, op: dict[str, Any]) -> str:
    """Why an operation failed, without the values jsonpatch puts into some of its messages."""
    import jsonpatch

    path = op.get("path")
    if isinstance(exc, jsonpatch.JsonPatchTestFailed):
        return f"test: the value at {path} differs from the one given"
    if isinstance(exc, jsonpatch.JsonPointerException):
        text = str(exc)
        if text.startswith("member") or text.startswith("index"):
            return f"{op.get('op')} {path}: {text.split(' in ', 1)[0].split(' is out', 1)[0]} does not exist"
        return f"{op.get('op')} {path}: the path goes through a value that is not a map or a list"
    if isinstance(exc, (jsonpatch.JsonPatchConflict, jsonpatch.InvalidJsonPatch)):
        return str(exc)
    return f"{op.get('op')} {path}: cannot be applied to these values"


def _plain_port_numbers(values: dict[str, Any]) -> None:
    """`global.local.export[].ports` may list plain numbers (`ports: [9080]`), as the charts'
    values.yaml shows them and their rows read only the number: each is read as `{number: N}`."""
    g = values.get("global")
    local = g.get("local") if isinstance(g, dict) else None
    exports = local.get("export") if isinstance(local, dict) else None
    for entry in exports if isinstance(exports, list) else ():
        ports = entry.get("ports") if isinstance(entry, dict) else None
        if isinstance(ports, list):
            entry["ports"] = [{"number": p} if isinstance(p, int) and not isinstance(p, bool) else p for p in ports]


def _set_path(values: Any, parts: list[str]) -> Path_:
    """The values path a patch wrote to (`-`, the end of a list, becomes the new item's index)."""
    path: list[str | int] = []
    node = values
    for part in parts:
        if isinstance(node, list):
            index = len(node) - 1 if part == "-" else int(part)
            path.append(index)
            node = node[index] if -len(node) <= index < len(node) else None
        else:
            path.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return tuple(path)


class _Reporter:
    """Turns findings located by values path into diagnostics naming the file and its field."""

    def __init__(self, merged: Merged):
        self.merged = merged

    def __call__(self, finding: Finding) -> Diagnostic:
        removed = self.merged.removed.get(finding.path)
        message = finding.message
        layer = self.merged.origin(finding.path)
        if removed is not None and message.startswith("required"):
            layer = removed
            message += " (a null removed it)"
        if layer is None:
            return Diagnostic(finding.severity, message, None, format_path(finding.path))  # type: ignore[arg-type]
        return Diagnostic(finding.severity, message, layer.name, layer.locate(finding.path))  # type: ignore[arg-type]


def render_layers(user_layers: list[Layer], patches: list[Patch], opts: Options) -> Rendering:
    """Render one values set (a document with its bases, or plain values files)."""
    out = Rendering()
    layout, problems = decide_layout(user_layers, opts.layout)
    if problems:  # report the values' own problems with both layouts' keys known, and stop there
        merged = merge_layers(user_layers)
        _, schema_problems = validate(merged.values, "values", None)
        report = _Reporter(merged)
        out.diagnostics += problems + [report(Finding("error", p.path, p.message)) for p in schema_problems]
        return out
    scope = opts.scope or infer_scope(user_layers)
    tiers = {MESH, NAMESPACE} if scope == "all" else {scope}
    defaults = Layer(DEFAULTS_NAME, defaults_layer(layout, MESH in tiers))
    merged = merge_layers([defaults, *user_layers])
    out.diagnostics += _apply_patches(merged, patches)
    _plain_port_numbers(merged.values)
    report = _Reporter(merged)
    cleaned, schema_problems = validate(merged.values, "values", layout)
    out.diagnostics += [report(Finding("error", p.path, p.message)) for p in schema_problems]
    values = model.build(cleaned or {}, layout, merged.values)
    out.layout, out.merged, out.values = layout, merged, values
    findings = checks.check(values, tiers)

    ns = opts.namespace
    mesh_ns = values.config_namespace if (scope == "all" or not ns) else ns
    host_labels = _host_labels(values) if layout == "v2" and NAMESPACE in tiers else {}  # only N1/N2 use them
    ctx = Context(values, mesh_ns, ns if NAMESPACE in tiers else None, host_labels)
    layout_rows = v2 if layout == "v2" else v1
    mesh_plan = list(layout_rows.mesh_tier(ctx)) if MESH in tiers else []
    ns_plan = list(layout_rows.namespace_tier(ctx)) if NAMESPACE in tiers else []
    # A required value given but refused by the schema was reported there: no follow-up error.
    findings += [f for f in checks.required_values(values, tiers, _row_tags(mesh_plan))
                 if not (f.message.startswith("required") and model.lookup(merged.values, f.path) is not None)]
    # A configNamespace given but refused by the schema was reported there: no follow-up error.
    if any(p.namespace is None for p in mesh_plan) and model.lookup(merged.values, ("global", "configNamespace")) is None:
        findings.append(Finding("error", ("global", "configNamespace"),
                                "required: mesh-tier objects go to global.configNamespace (with no target namespace, "
                                "and always for layout v1's egress rows)"))
    findings += _namespace_warnings(values, tiers, mesh_plan, merged)
    out.diagnostics += [report(f) for f in findings if f.severity == "error"]
    warnings = [report(f) for f in findings if f.severity == "warning"]
    if not has_errors(out.diagnostics):
        out.planned = mesh_plan + ns_plan
        upgrade(out.planned, opts.api_versions)
        out.names, out.distinct = _final_names(out.planned)
        if not out.planned:
            what = (f"nothing to render: these values yield no resources for the {' and '.join(sorted(tiers))} "
                    f"tier{'s' if len(tiers) > 1 else ''}")
            if opts.allow_empty:
                warnings.append(warning(what))
            else:
                out.diagnostics.append(error(f"{what}; an empty render makes Argo CD prune every object of "
                                             f"the application (allow it with {ALLOW_EMPTY.flags[0]} or "
                                             f"{ALLOW_EMPTY.document}: true)"))
    out.diagnostics += warnings
    return out


def _row_tags(plan: list[Planned]) -> set[str]:
    tags = set()
    for p in plan:
        if p.kind == "EnvoyFilter":
            tags.add("envoy-filter")
        elif p.kind == "Route":
            tags.add("route")
        elif p.name in ("cross-network-gateway", "federation-ingress-gateway"):
            tags.add("ingress-gateway")
        elif p.name in ("cross-network-egress-gateway", "federation-egress-gateway"):
            tags.add("egress-gateway")
    return tags


def _namespace_warnings(v: model.Values, tiers: set[str], mesh_plan: list[Planned], merged: Merged) -> list[Finding]:
    out = []
    if MESH in tiers:
        entries = [p for p in mesh_plan if p.kind == "ServiceEntry"]
        egress_ns = v.egress.service_namespace
        if v.egress.enabled and entries and egress_ns and entries[0].namespace not in (None, egress_ns):
            out.append(Finding("warning", (*v.egress.path, "service", "namespace"),
                               f"the mesh tier is rendered into namespace {entries[0].namespace} but the egress "
                               f"gateway's Service is in {egress_ns}: the exportTo [\".\"] ServiceEntries are "
                               "invisible to the egress gateway"))
        key, _ = V2_DEFAULT_INGRESS_APP
        app_path = (*v.ingress_selector_path, key)
        origin = merged.origin(app_path)
        found = checks.ingress_default_app_warning(v, origin is not None and origin.name == DEFAULTS_NAME, tiers)
        if found is not None:
            out.append(found)
    return out


def _host_labels(v: model.Values) -> dict[str, str]:
    """F2 for the `hostname` selector label of imported hosts that are not exported."""
    exported = {e.hostname for e in v.exports}
    hosts = sorted({e.hostname for e in v.imports} - exported)
    resolved = naming.resolve(((h, naming.dash(h), h) for h in hosts), naming.LABEL_LIMIT)
    return {h: resolved[h] for h in hosts}


def _final_names(plan: list[Planned]) -> tuple[list[str], bool]:
    """F2 for object names: unique per API group, kind and namespace. Also whether every scope
    kept its names (so that no two objects can have the same identity)."""
    rows: dict[tuple, list[Planned]] = {}  # by apiVersion, kind, namespace: a few keys for many rows
    for p in plan:
        key = (p.api_version, p.kind, p.namespace)
        group = rows.get(key)
        if group is None:
            group = rows[key] = []
        group.append(p)
    scopes: dict[tuple, list[Planned]] = {}
    for group in rows.values():
        scopes.setdefault(group[0].scope, []).extend(group)
    final: dict[Hashable, str] = {}  # id of a row -> its name, in the scopes F2 had to resolve
    distinct = "" not in {namespace for _, _, namespace in scopes}  # "" and None: one namespace to kubectl
    for members in scopes.values():
        wanted = {p.name for p in members}
        # Mostly every name is valid and unique: then F2 keeps them all, nothing to resolve.
        if len(wanted) == len(members) and all_dns_subdomains(wanted):
            continue
        distinct = False
        resolved = naming.resolve(((id(p), p.name, p.identity) for p in members), naming.NAME_LIMIT)
        final.update(resolved)
    return [final.get(id(p), p.name) for p in plan], distinct
