"""The render options, declared once in `TABLE`, and their one check, whatever their source.

Each row says what an option is (name, kind, choices, default, help) and where each source reads
it: the command-line flags (the typer app in `meshfed.routes.cli` and the fast path in `meshfed.routes.flags`
are built from the rows), the MeshFederation document's field (its JSON Schema too: see
`meshfed.values.schema.load_schema`), Argo CD's plugin env entry and parameter (the parameter
announcement is built from the rows), and a KRM functionConfig's key. Adding an option is one
row here plus its use in the core; `tests/test_option_table.py` checks that every source has it.

An option that is not understood is an error, never ignored: `layout: V2` rendering layout v1, or
`scope: Mesh` rendering nothing, would be silent loss under Argo CD's auto-sync and prune.
"""
from __future__ import annotations

import os
import re

from .diagnostics import Diagnostic, error
from .formats import is_dns_label

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Mapping

SCOPES = ("mesh", "namespace", "all")
LAYOUTS = ("v1", "v2")
FORMATS = ("yaml", "json")
_TRUE, _FALSE = ("true",), ("false",)

# The kinds of value: what each source accepts, and how the command line converts it.
CHOICE = "choice"  # one of the row's choices, as written (`V2` is not `v2`)
NAMESPACE = "namespace"  # a namespace name (a DNS label)
SWITCH = "switch"  # true or false: a flag without a value; the strings `true`/`false` elsewhere
DIRECTORY = "directory"  # an existing directory (else a usage error)
INPUT = "input"  # a file to read, or `-` for standard input
ASSIGNMENT = "assignment"  # helm's `--set*` argument, `PATH=VALUE`: the flag's name is its kind
API_VERSIONS = "api-versions"  # `group/version` or `group/version/Kind` entries, comma-separated (as in helm)
KUBE_VERSION = "kube-version"  # a Kubernetes version as helm reads `--kube-version`: `1.30`, `v1.30.2`
OUTPUT_DIRECTORY = "output-directory"  # a directory to write into (made when missing)


class Parameter:
    """How an option is one of Argo CD's plugin parameters: its name, the UI's title and tooltip,
    and its collection type (`string`, `array` or `map`)."""

    __slots__ = ("name", "title", "tooltip", "collection")

    def __init__(self, name: str, title: str, tooltip: str, collection: str = "string") -> None:
        self.name = name
        self.title = title
        self.tooltip = tooltip
        self.collection = collection


class Option:
    """One render option and where each source reads it (empty or None: that source has none)."""

    __slots__ = ("name", "dest", "kind", "help", "flags", "metavar", "choices", "default", "repeat", "core",
                 "document", "describe", "env", "parameter", "krm", "cluster")

    def __init__(self, name: str, dest: str, kind: str, help: str, *, flags: tuple[str, ...] = (),
                 metavar: str | None = None, choices: tuple[str, ...] = (), default: Any = None,
                 repeat: bool = False, core: bool = False, document: str | None = None, describe: str | None = None,
                 env: str | None = None, parameter: Parameter | None = None, krm: bool = False,
                 cluster: str | None = None) -> None:
        self.name = name  # its key in documents, functionConfigs and parameters
        self.dest = dest  # its Python name: the field of Options, the parameter of the typer command
        self.kind = kind
        self.help = help  # the command line's help
        self.flags = flags  # the command line's names (long, short)
        self.metavar = metavar
        self.choices = choices
        self.default = default  # on the command line; elsewhere, not given is None
        self.repeat = repeat  # the flag may be given several times; every value is kept, in order
        self.core = core  # a field of Options: what the core renders with
        self.document = document  # the MeshFederation document's field: `spec.scope`
        self.describe = describe  # the description of that field in the JSON Schema
        self.env = env  # the Argo CD plugin env entry (spec.source.plugin.env)
        self.parameter = parameter  # the Argo CD plugin parameter
        self.krm = krm  # read from a KRM functionConfig (a ConfigMap's `data`, another kind's `spec`)
        self.cluster = cluster  # the variable Argo CD itself sets from the destination cluster (not ARGOCD_ENV_)

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of the option's document field."""
        schema: dict[str, Any] = {"type": "boolean" if self.kind == SWITCH else "string"}
        if self.choices:
            schema["enum"] = list(self.choices)
        if self.kind == NAMESPACE:
            schema["format"] = "dns-label"
        if self.describe:
            schema["description"] = self.describe
        return schema


def _assignment(flag: str, help: str, metavar: str = "PATH=VALUE") -> Option:
    """One of helm's value flags; the map parameter `values` of Argo CD is `--set`."""
    return Option(flag[2:], flag[2:].replace("-", "_") + ("_" if flag == "--set" else ""), ASSIGNMENT, help,
                  flags=(flag,), metavar=metavar, repeat=True,
                  parameter=Parameter("values", "Values", "Assignments applied last, with helm's --set rules "
                                      "(global.remote[0].addresses[0]: 192.0.2.10).", "map")
                  if flag == "--set" else None)


TABLE: tuple[Option, ...] = (
    Option("valueFiles", "values", INPUT,
           "Plain Helm values file, merged in order after the documents' own values (like `helm template -f`; "
           "`-` reads standard input). Repeatable. Without FILEs, the values files are the whole input.",
           flags=("-f", "--values"), metavar="VALUES", repeat=True,
           parameter=Parameter("valueFiles", "Values files", "Plain Helm values files merged after the documents' "
                               "values, in order (like helm's -f): paths relative to the app directory, inside the "
                               "repository.", "array")),
    Option("scope", "scope", CHOICE,
           "Tier to render: mesh (mesh-admin), namespace (namespace-admin) or all. Default: the document's "
           "spec.scope, else namespace when import/export is non-empty, else mesh.",
           flags=("--scope",), choices=SCOPES, core=True, krm=True,
           document="spec.scope", describe="Which tier to render; inferred when absent.", env="MESHFED_SCOPE",
           parameter=Parameter("scope", "Scope", "Tier to render: mesh, namespace or all. Default: spec.scope of "
                               "the documents, else inferred (namespace when import/export are set).")),
    Option("layout", "layout", CHOICE,
           "Chart generation of the values: v1 (the charts' first generation) or v2 (current). Default: the document's "
           "spec.layout, else inferred from the keys used.",
           flags=("--layout",), choices=LAYOUTS, core=True, krm=True,
           document="spec.layout", describe="Chart generation of the values; inferred when absent.",
           env="MESHFED_LAYOUT",
           parameter=Parameter("layout", "Layout", "Chart generation: v1 or v2. Default: spec.layout of the "
                               "documents, else inferred from the values keys.")),
    Option("namespace", "namespace", NAMESPACE,
           "Target namespace (Helm's --namespace). Default: the document's metadata.namespace. The mesh tier "
           "falls back to global.configNamespace; namespace-tier objects with no namespace carry none (Argo CD "
           "and kustomize set it).",
           flags=("--namespace", "-n"), core=True, krm=True, document="metadata.namespace", env="MESHFED_NAMESPACE",
           parameter=Parameter("namespace", "Target namespace", "Overrides metadata.namespace of every document. "
                               "Default: the document's metadata.namespace, else the Application's destination "
                               "namespace.")),
    Option("output", "output", CHOICE, "Output format: a YAML stream, or a JSON List.",
           flags=("-o", "--output"), choices=FORMATS, default="yaml"),
    Option("root", "root", DIRECTORY,
           "Directory that `base` paths may not leave. Default: $MESHFED_ROOT, else the git work tree holding "
           "the paths given (else their directory), wherever meshfed runs from.", flags=("--root",)),
    Option("allowEmpty", "allow_empty", SWITCH,
           "Accept a render that yields no resources (else an error: with Argo CD's auto-sync and prune, an "
           "empty render deletes the application's objects). The document field spec.allowEmpty: true says "
           "the same.",
           flags=("--allow-empty",), default=False, core=True, krm=True, document="spec.allowEmpty",
           describe="Allow a render that yields no resources (otherwise an error: with Argo CD auto-sync and "
                    "prune, an empty render deletes the application's objects).",
           env="MESHFED_ALLOW_EMPTY",
           parameter=Parameter("allowEmpty", "Allow an empty render", "true to accept documents that render no "
                               "resources (Argo CD then prunes the application's objects). Default: "
                               "spec.allowEmpty of the documents, else false.")),
    Option("outputDir", "output_dir", OUTPUT_DIRECTORY,
           "Write each object to its own file in DIR instead of stdout (made when missing), named by its "
           "group, version, kind, namespace (if any) and name joined by _, in lowercase, .yaml (kustomize's "
           "naming, with the namespace): all files or none, never through a link; files already there are "
           "replaced, others left alone. Prints the files written.",
           flags=("--output-dir",), metavar="DIR"),
    Option("apiVersions", "api_versions", API_VERSIONS,
           "An API version the cluster serves, `group/version` or `group/version/Kind` (helm's "
           "--api-versions; repeatable, or comma-separated): with networking.istio.io/v1 every Istio kind "
           "that has v1 is emitted as v1, with gateway.networking.k8s.io/v1 the Gateway API Gateways. "
           "Default: the charts' versions.",
           flags=("--api-versions",), metavar="VERSION", repeat=True, core=True, krm=True,
           cluster="KUBE_API_VERSIONS"),
    Option("kubeVersion", "kube_version", KUBE_VERSION,
           "The cluster's Kubernetes version, as helm takes it (1.30, v1.30.2): checked; no object meshfed "
           "emits depends on it.",
           flags=("--kube-version",), metavar="VERSION", core=True, krm=True, cluster="KUBE_VERSION"),
    _assignment("--set", "Set values as helm does, after the -f files: `a.b[0].c=v`, several comma-separated, "
                "`\\.` and `\\,` escaped; true/false/ints/null typed (null removes the key). Repeatable."),
    _assignment("--set-string", "Like --set, the values always strings."),
    _assignment("--set-file", "Like --set, the value the text of FILE.", "PATH=FILE"),
    _assignment("--set-json", "Like --set, the value a JSON value.", "PATH=JSON"),
    _assignment("--set-literal", "Like --set-string, everything after the first = taken as it is."),
)

BY_NAME = {option.name: option for option in TABLE}
BY_DEST = {option.dest: option for option in TABLE}
CORE = tuple(option for option in TABLE if option.core)
NAMES = tuple(option.name for option in TABLE if option.krm)  # a functionConfig's keys


class Options:
    """What the core renders with: the rows of TABLE with `core`, by their `dest`. None means "not
    given" (the document, then inference, decides). Keyword arguments only."""

    __slots__ = tuple(option.dest for option in CORE)
    scope: str | None
    layout: str | None
    namespace: str | None
    allow_empty: bool | None
    api_versions: tuple[str, ...] | None
    kube_version: str | None

    def __init__(self, **given: Any) -> None:
        for dest in self.__slots__:
            setattr(self, dest, given.pop(dest, None))
        if given:
            raise TypeError(f"not an option of the core: {', '.join(given)}")

    def over(self, other: Options) -> Options:
        """These options, with the ones not given here taken from `other`."""
        return Options(**{dest: mine if (mine := getattr(self, dest)) is not None else getattr(other, dest)
                          for dest in self.__slots__})


def check_value(name: str, value: Any) -> tuple[Any, str | None]:
    """The option's value, or None with the reason it is refused. Strings are taken as written
    (`V2` is not `v2`); an empty string means "not given"; a switch also takes the strings
    `true`/`false` that ConfigMaps and environment variables hold."""
    option = BY_NAME[name]
    if option.kind == SWITCH:
        if isinstance(value, bool):
            return value, None
        if isinstance(value, str) and value in _TRUE + _FALSE:
            return value in _TRUE, None
        return None, f"must be true or false, got {value!r}"
    if option.kind == API_VERSIONS:
        return api_versions(value)
    if not isinstance(value, str):
        return None, f"must be a string, got {type(value).__name__}"
    if value == "":
        return None, None
    why = refusal(option, value)
    return (None, why) if why is not None else (value, None)


def refusal(option: Option, value: str) -> str | None:
    """Why a string is not a value of the option, or None (the command line's check too)."""
    if option.choices and value not in option.choices:
        return f"{value!r} is not one of {', '.join(option.choices)}"
    if option.kind == NAMESPACE and not is_dns_label(value):
        return f"{value!r} is not a valid namespace name (a DNS label)"
    if option.kind == DIRECTORY and not os.path.isdir(value):  # `--root /nonexistent` is a usage error
        return f"{value!r} is not a directory"
    if option.kind == API_VERSIONS:
        return api_versions(value)[1]
    if option.kind == KUBE_VERSION and not re.fullmatch(_KUBE_VERSION, value):
        return f"{value!r} is not a Kubernetes version (such as 1.30 or v1.30.2)"
    if option.kind == OUTPUT_DIRECTORY and os.path.exists(value) and not os.path.isdir(value):
        return f"{value!r} is not a directory"
    return None


# Patterns, compiled on first use (re caches them): most renderings never need them.
# A CRD version is any DNS label (`stable` too): what Argo CD lists from the cluster must all read.
_API_VERSION = r"(?:[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?/)?[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:/[A-Za-z][A-Za-z0-9]*)?"
_KUBE_VERSION = r"v?[0-9]+\.[0-9]+(?:\.[0-9]+)?(?:[-+][-+.0-9A-Za-z]*)?"


def api_versions(value: Any) -> tuple[tuple[str, ...] | None, str | None]:
    """API versions from a comma-separated string (helm's flag, Argo CD's KUBE_API_VERSIONS, a
    ConfigMap) or a list of them: (the versions, None), or (None, why not). Empty: not given."""
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) for item in items):
        return None, "must be a string of API versions (group/version or group/version/Kind, comma-separated)"
    found = tuple(part.strip() for item in items for part in item.split(",") if part.strip())
    bad = next((v for v in found if not re.fullmatch(_API_VERSION, v)), None)
    if bad is not None:
        return None, f"{bad!r} is not an API version (group/version or group/version/Kind)"
    return found or None, None


def parse(raw: Mapping[str, Any], source: str, where: str = "", names: tuple[str, ...] = NAMES,
          spelling: Mapping[str, str] | None = None) -> tuple[Options, list[Diagnostic]]:
    """Options from a map of option name to value (`spelling` maps the source's own key names,
    such as an environment variable, to option names). Unknown names and bad values are errors
    naming `source` and the field `where.<key>`."""
    spelling = spelling or {}
    found: dict[str, Any] = {}
    problems: list[Diagnostic] = []
    for key, value in raw.items():
        name = spelling.get(key, key)
        field = f"{where}.{key}" if where else str(key)
        if name not in names:
            known = ", ".join(sorted(k for k, v in spelling.items() if v in names) if spelling else names)
            problems.append(error(f"unknown option (known: {known})", source, field))
            continue
        if value is None:
            continue
        checked, why = check_value(name, value)
        if why is not None:
            problems.append(error(why, source, field))
        elif checked is not None:
            found[BY_NAME[name].dest] = checked
    return Options(**found), problems


def declared(doc: Mapping[str, Any]) -> Options:
    """The options a MeshFederation document's fields set. Only well-typed values count: the
    document's schema check reports the others."""
    found: dict[str, Any] = {}
    for option in CORE:
        if option.document is None:
            continue
        section, _, key = option.document.partition(".")
        part = doc.get(section)
        value = part.get(key) if isinstance(part, dict) else None
        if option.kind == SWITCH:
            if isinstance(value, bool):
                found[option.dest] = value
        elif isinstance(value, str) and value and (not option.choices or value in option.choices):
            found[option.dest] = value
    return Options(**found)
