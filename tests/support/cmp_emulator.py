"""An emulator of Argo CD's sidecar config-management plugin path (argocd-cmp.md §11).

It does what the repo-server, argocd-cmp-server and the application controller do with a
`plugin.yaml`, without Argo CD:

* loads `plugin.yaml` like `UnmarshalLocalFile` (first YAML document only, go-yaml v2 scalars,
  case-insensitive keys, unknown keys ignored, strict types) and validates it like
  `ValidatePluginConfig`;
* builds the environments the repo-server sends (generate, parameters, auto-detection), including
  `ARGOCD_ENV_*` with Go `os.Expand` semantics, Go-style `ARGOCD_APP_PARAMETERS` JSON and
  `PARAM_*`;
* makes a private copy of the repository per RPC under `<tmp>/_cmp_server/<uuid>` (lexical walk,
  exclusions with Go `filepath.Match`, directories 0755, files 0644 unless `preserveFileMode`,
  symlinks recreated relative and bounds-checked);
* runs commands from argv without a shell, cwd = app directory, stdin /dev/null, a new process
  group, one deadline for the whole RPC (SIGKILL child, SIGTERM group, grace, SIGKILL group);
  trims exactly one trailing newline; formats errors as the cmp-server does;
* discovery (`fileName` with Go `filepath.Glob`, `find.glob` with go-zglob semantics,
  `find.command`) and plugin selection (named / unnamed / auto-detected);
* splits stdout like `kube.SplitYAMLToString` (JSON sniffing, `---` separator rules, a YAML 1.1
  reader that also reads y/n as booleans and keeps timestamps and `1:20` as strings), converts
  like the repo-server (kind required, lists flattened) and normalises namespaces like the
  controller.
"""
from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import signal
import stat
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml

# ============================================================================================
# Errors


class CmpError(Exception):
    """An error as Argo CD would report it (the text is what reaches the UI, roughly)."""


class PluginConfigError(CmpError):
    """plugin.yaml cannot be loaded: the sidecar would crash-loop."""


class NotDetected(CmpError):
    """Auto-detection: the plugin does not match; Argo CD would try Helm/Kustomize/directory."""


# ============================================================================================
# A go-yaml v2 flavoured YAML 1.1 reader (used for plugin.yaml and for the plugin's stdout)


class _GoYamlResolver(yaml.resolver.BaseResolver):
    pass


_GO_RULES = (
    ("bool", r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE"
             r"|on|On|ON|off|Off|OFF)$", "yYnNtTfFoO"),
    ("int", r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$",
     "-+0123456789"),
    ("float", r"^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
              r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+0123456789."),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("merge", r"^(?:<<)$", "<"),
)
for _name, _rx, _first in _GO_RULES:
    _GoYamlResolver.add_implicit_resolver(f"tag:yaml.org,2002:{_name}", re.compile(_rx),
                                          list(_first))


class _GoYamlConstructor(yaml.constructor.SafeConstructor):
    def construct_yaml_bool(self, node: yaml.ScalarNode) -> bool:
        return self.construct_scalar(node).lower() in ("y", "yes", "true", "on")


_GoYamlConstructor.add_constructor("tag:yaml.org,2002:bool", _GoYamlConstructor.construct_yaml_bool)
# An explicit !!timestamp stays a string too (go-yaml v2 into interface{} keeps the text).
_GoYamlConstructor.add_constructor("tag:yaml.org,2002:timestamp",
                                   yaml.constructor.SafeConstructor.construct_yaml_str)


class GoYamlLoader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser,
                   yaml.composer.Composer, _GoYamlConstructor, _GoYamlResolver):
    def __init__(self, stream: Any) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _GoYamlConstructor.__init__(self)
        _GoYamlResolver.__init__(self)


def _go_float_key(value: float) -> str:
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def to_jsonable(value: Any) -> Any:
    """sigs.k8s.io/yaml's conversion of a go-yaml value to JSON (map keys become strings)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(k, bool):
                key = "true" if k else "false"
            elif isinstance(k, int):
                key = str(k)
            elif isinstance(k, float):
                key = _go_float_key(k)
            elif isinstance(k, str):
                key = k
            else:
                raise CmpError(f"error converting YAML to JSON: Unsupported map key of type: "
                               f"{type(k).__name__}")
            out[key] = to_jsonable(v)
        return out
    if isinstance(value, list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        raise CmpError(f"error converting YAML to JSON: json: unsupported value: {value}")
    return value


def yaml_first_document_to_json(text: str) -> Any:
    """sigs.k8s.io/yaml.YAMLToJSON: only the first document counts."""
    loader = GoYamlLoader(text)
    try:
        if not loader.check_data():
            return None
        return to_jsonable(loader.get_data())
    finally:
        loader.dispose()


# ============================================================================================
# plugin.yaml (cmpserver/plugin/config.go)

_STR, _BOOL = "string", "bool"
_STRS = [_STR]
_STRMAP = {"*": _STR}
_COMMAND = {"command": _STRS, "args": _STRS}
_ANNOUNCEMENT = {"name": _STR, "title": _STR, "tooltip": _STR, "required": _BOOL,
                 "itemType": _STR, "collectionType": _STR, "string": _STR, "array": _STRS,
                 "map": _STRMAP}
_CONFIG_SCHEMA = {
    "apiVersion": _STR,
    "kind": _STR,
    "metadata": {"name": _STR, "namespace": _STR, "labels": _STRMAP, "annotations": _STRMAP},
    "spec": {
        "version": _STR,
        "init": _COMMAND,
        "generate": _COMMAND,
        "discover": {"fileName": _STR,
                     "find": {"command": _STRS, "args": _STRS, "glob": _STR}},
        "parameters": {"static": [_ANNOUNCEMENT], "dynamic": _COMMAND},
        "preserveFileMode": _BOOL,
        "provideGitCreds": _BOOL,
    },
}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _decode(value: Any, schema: Any, where: str) -> Any:
    """Go encoding/json into the plugin structs: strict types, case-insensitive field names,
    unknown fields ignored, null leaves the zero value."""
    if value is None:
        return _zero(schema)
    if schema == _STR:
        if not isinstance(value, str):
            raise PluginConfigError(f"json: cannot unmarshal {_json_type(value)} into Go struct "
                                    f"field {where} of type string")
        return value
    if schema == _BOOL:
        if not isinstance(value, bool):
            raise PluginConfigError(f"json: cannot unmarshal {_json_type(value)} into Go struct "
                                    f"field {where} of type bool")
        return value
    if isinstance(schema, list):
        if not isinstance(value, list):
            raise PluginConfigError(f"json: cannot unmarshal {_json_type(value)} into Go struct "
                                    f"field {where} of type []")
        return [_decode(v, schema[0], where) for v in value]
    if "*" in schema:
        if not isinstance(value, dict):
            raise PluginConfigError(f"json: cannot unmarshal {_json_type(value)} into Go struct "
                                    f"field {where} of type map[string]string")
        return {k: _decode(v, schema["*"], where) for k, v in value.items()}
    if not isinstance(value, dict):
        raise PluginConfigError(f"json: cannot unmarshal {_json_type(value)} into Go value of "
                                f"type struct ({where})")
    out = _zero(schema)
    for key, val in value.items():
        fld = key if key in schema else next(
            (f for f in schema if f.lower() == key.lower()), None)
        if fld is None:
            continue  # unknown keys are ignored
        out[fld] = _decode(val, schema[fld], f"{where}.{fld}" if where else fld)
    return out


def _zero(schema: Any) -> Any:
    if schema == _STR:
        return ""
    if schema == _BOOL:
        return False
    if isinstance(schema, list) or "*" in schema:
        return None
    return {k: _zero(v) for k, v in schema.items()}


@dataclass
class PluginConfig:
    raw: dict[str, Any]

    @property
    def name(self) -> str:
        return self.raw["metadata"]["name"]

    @property
    def spec(self) -> dict[str, Any]:
        return self.raw["spec"]

    @property
    def socket_name(self) -> str:
        version = self.spec["version"]
        return f"{self.name}-{version}" if version else self.name

    @property
    def discovery_configured(self) -> bool:
        d = self.spec["discover"]
        return bool(d["fileName"] or d["find"]["glob"] or d["find"]["command"])

    def argv(self, section: dict[str, Any]) -> list[str]:
        return [*(section["command"] or []), *(section["args"] or [])]


def load_plugin_config(path: Path) -> PluginConfig:
    """Read and validate plugin.yaml as argocd-cmp-server does at start-up."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PluginConfigError(f"error reading plugin configuration file: {exc}") from None
    try:
        data = yaml_first_document_to_json(text)
    except yaml.YAMLError as exc:
        raise PluginConfigError(f"error converting YAML to JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PluginConfigError("json: cannot unmarshal into Go value of type "
                                "ConfigManagementPlugin")
    config = PluginConfig(_decode(data, _CONFIG_SCHEMA, ""))
    prefix = "invalid plugin configuration file."
    if config.name == "":
        raise PluginConfigError(f"{prefix} metadata.name should be non-empty")
    if config.raw["kind"] != "ConfigManagementPlugin":
        raise PluginConfigError(f"{prefix} kind should be ConfigManagementPlugin, found "
                                f"{config.raw['kind']}")
    if not config.spec["generate"]["command"]:
        raise PluginConfigError(f"{prefix} spec.generate command should be non-empty")
    return config


# ============================================================================================
# The Application side: what the repo-server sends


@dataclass
class PluginSource:
    """`spec.source.plugin`. name "" = unnamed (discovery picks the plugin)."""

    name: str = ""
    env: Sequence[tuple[str, str]] = ()
    parameters: Sequence[dict[str, Any]] | None = None  # [{name, string?, array?, map?}]


@dataclass
class Application:
    source_path: str  # spec.source.path, as written
    name: str = "meshfed-app"
    dest_namespace: str = ""
    project: str = "default"
    revision: str = "0123456789abcdef0123456789abcdef01234567"
    repo_url: str = "https://git.example.com/org/gitops.git"
    target_revision: str = "HEAD"
    kube_version: str = "v1.33.1"
    api_versions: Sequence[str] = ("v1", "v1/ConfigMap", "networking.istio.io/v1",
                                   "networking.istio.io/v1/ServiceEntry")
    plugin: PluginSource | None = field(default_factory=PluginSource)


def go_json(value: Any) -> str:
    """Go json.Marshal: compact, sorted map keys, HTML-safe escaping."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def param_escape(name: str) -> str:
    """`escaped()` of types.go: per-rune simple upper-casing, then [^A-Z0-9_] -> `_`."""
    out = []
    for ch in name:
        up = ch.upper()
        if len(up) != 1:  # Go's unicode.ToUpper maps one rune to one rune
            up = ch
        out.append(up if re.fullmatch(r"[A-Z0-9_]", up) else "_")
    return "".join(out)


_SHELL_SPECIAL = set("*#$@!?-0123456789")


def _is_alnum(c: str) -> bool:
    return c == "_" or "0" <= c <= "9" or "a" <= c <= "z" or "A" <= c <= "Z"


def _shell_name(s: str) -> tuple[str, int]:
    if s[0] == "{":
        if len(s) > 2 and s[1] in _SHELL_SPECIAL and s[2] == "}":
            return s[1:2], 3
        for i in range(1, len(s)):
            if s[i] == "}":
                if i == 1:
                    return "", 2  # bad syntax: eat "${}"
                return s[1:i], i + 1
        return "", 1  # bad syntax: eat "${"
    if s[0] in _SHELL_SPECIAL:
        return s[0:1], 1
    i = 0
    while i < len(s) and _is_alnum(s[i]):
        i += 1
    return s[:i], i


def go_expand(s: str, mapping) -> str:
    """Go os.Expand."""
    buf: list[str] | None = None
    i = 0
    j = 0
    while j < len(s):
        if s[j] == "$" and j + 1 < len(s):
            if buf is None:
                buf = []
            buf.append(s[i:j])
            name, w = _shell_name(s[j + 1:])
            if name == "" and w > 0:
                pass  # invalid syntax: eat the characters
            elif name == "":
                buf.append(s[j])  # a $ not followed by a name stays
            else:
                buf.append(mapping(name))
            j += w
            i = j + 1
        j += 1
    if buf is None:
        return s
    return "".join(buf) + s[i:]


def envsubst(value: str, table: Sequence[tuple[str, str]]) -> str:
    """`Env.Envsubst` of types.go: `$$` is `$`, unknown names are empty."""
    lookup = dict(table)
    return go_expand(value, lambda n: "$" if n == "$" else lookup.get(n, ""))


def _kube_version(raw: str) -> str:
    m = re.match(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?", raw or "")
    if not m:
        return ""
    return ".".join(p for p in m.groups() if p is not None)


def base_env(app: Application) -> list[tuple[str, str]]:
    """Variables 1-9 of argocd-cmp.md §2.2 (the auto-detection env, `A`)."""
    return [
        ("ARGOCD_APP_NAME", app.name),
        ("ARGOCD_APP_NAMESPACE", app.dest_namespace),
        ("ARGOCD_APP_PROJECT_NAME", app.project),
        ("ARGOCD_APP_REVISION", app.revision),
        ("ARGOCD_APP_REVISION_SHORT", app.revision[:7]),
        ("ARGOCD_APP_REVISION_SHORT_8", app.revision[:8]),
        ("ARGOCD_APP_SOURCE_REPO_URL", app.repo_url),
        ("ARGOCD_APP_SOURCE_PATH", app.source_path),
        ("ARGOCD_APP_SOURCE_TARGET_REVISION", app.target_revision),
    ]


def _plugin_env(plugin: PluginSource | None, table: list[tuple[str, str]]) -> list[tuple[str, str]]:
    if plugin is None:
        return []
    out = [(f"ARGOCD_ENV_{name}", envsubst(value, table)) for name, value in plugin.env]
    params = list(plugin.parameters or [])
    encoded = []
    for p in params:
        item = {"name": p.get("name", "")}
        for key in ("string", "array", "map"):
            if key in p and p[key] is not None:
                item[key] = p[key]
        encoded.append(item)
    out.append(("ARGOCD_APP_PARAMETERS", go_json(encoded) if encoded else "null"))
    for p in params:
        base = "PARAM_" + param_escape(p.get("name", ""))
        if p.get("string") is not None:
            out.append((base, p["string"]))
        for k, v in (p.get("map") or {}).items():
            out.append((f"{base}_{param_escape(k)}", v))
        for i, v in enumerate(p.get("array") or []):
            out.append((f"{base}_{i}", v))
    return out


def generate_env(app: Application) -> list[tuple[str, str]]:
    """`G`: variables 1-11, then ARGOCD_ENV_*, ARGOCD_APP_PARAMETERS, PARAM_* (plugin section)."""
    table = base_env(app) + [
        ("KUBE_VERSION", _kube_version(app.kube_version)),
        ("KUBE_API_VERSIONS", ",".join(sorted(set(app.api_versions)))),
    ]
    return table + _plugin_env(app.plugin, table)


def parameters_env(app: Application) -> list[tuple[str, str]]:
    """`P`: the four variables of §2.5, then the plugin variables expanded against them."""
    table = [
        ("ARGOCD_APP_NAME", app.name),
        ("ARGOCD_APP_SOURCE_REPO_URL", app.repo_url),
        ("ARGOCD_APP_SOURCE_PATH", app.source_path),
        ("ARGOCD_APP_SOURCE_TARGET_REVISION", app.target_revision),
    ]
    return table + _plugin_env(app.plugin, table)


def app_rel_path(source_path: str) -> str:
    """`filepath.Rel(root, securejoin(root, path))` as the repo-server computes it."""
    cleaned = posixpath.normpath("/" + source_path).lstrip("/")
    return cleaned or "."


# ============================================================================================
# Go path matching: filepath.Match / filepath.Glob, and go-zglob v0.0.6


class BadPattern(CmpError):
    pass


def _go_class_char(p: str, i: int) -> tuple[str, int]:
    if i >= len(p) or p[i] in "-]":
        raise BadPattern("syntax error in pattern")
    if p[i] == "\\":
        i += 1
        if i >= len(p):
            raise BadPattern("syntax error in pattern")
    return p[i], i + 1


def go_match_regex(pattern: str) -> re.Pattern[str]:
    """The regex equivalent of Go's filepath.Match pattern (raises BadPattern when malformed)."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "\\":
            if i + 1 >= n:
                raise BadPattern("syntax error in pattern")
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif c == "[":
            i += 1
            negate = i < n and pattern[i] == "^"
            if negate:
                i += 1
            ranges = []
            while True:
                if i < n and pattern[i] == "]" and ranges:
                    i += 1
                    break
                lo, i = _go_class_char(pattern, i)
                hi = lo
                if i < n and pattern[i] == "-":
                    hi, i = _go_class_char(pattern, i + 1)
                ranges.append((lo, hi))
            body = "".join(re.escape(lo) if lo == hi else f"{re.escape(lo)}-{re.escape(hi)}"
                           for lo, hi in ranges)
            out.append(f"[{'^' if negate else ''}{body}]")
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("^" + "".join(out) + "$", re.DOTALL)


def go_match(pattern: str, name: str) -> bool:
    return go_match_regex(pattern).match(name) is not None


def _has_meta(path: str) -> bool:
    return any(c in path for c in "*?[\\")


def go_glob(pattern: str) -> list[str]:
    """Go filepath.Glob: I/O errors ignored, only ErrBadPattern raised."""
    go_match_regex(pattern)  # well-formed?
    if not _has_meta(pattern):
        return [pattern] if os.path.lexists(pattern) else []
    directory, file = posixpath.split(pattern)
    if directory == "":
        directory = "."
    elif directory != "/":
        directory = directory.rstrip("/") or "/"
    if not _has_meta(directory):
        return _go_glob_dir(directory, file, [])
    if directory == pattern:
        raise BadPattern("syntax error in pattern")
    matches: list[str] = []
    for d in go_glob(directory):
        matches = _go_glob_dir(d, file, matches)
    return matches


def _go_glob_dir(directory: str, pattern: str, matches: list[str]) -> list[str]:
    try:
        if not os.path.isdir(directory):
            return matches
        names = sorted(os.listdir(directory))
    except OSError:
        return matches
    rx = go_match_regex(pattern)
    for n in names:
        if rx.match(n):
            matches.append(posixpath.join(directory, n))
    return matches


def zglob(pattern: str) -> list[str]:
    """go-zglob v0.0.6: walks only when a segment has `*` or `{`; literal paths must exist."""
    segments = pattern.split("/")
    if not any("*" in s or "{" in s for s in segments):
        if os.path.lexists(pattern):
            return [pattern]
        raise CmpError("file does not exist")
    static = []
    for s in segments:
        if "*" in s or "{" in s:
            break
        static.append(s)
    root = "/".join(static) or ("/" if pattern.startswith("/") else ".")
    rx = _zglob_regex(posixpath.normpath(pattern))
    matches = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = posixpath.join(dirpath, name)
            if rx.match(path):
                matches.append(path)
    return sorted(matches)


def _zglob_regex(pattern: str) -> re.Pattern[str]:
    out, i, n, depth = [], 0, len(pattern), 0
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern[i:i + 3] == "**/":
                out.append("(?:.*/)?")
                i += 3
                continue
            if pattern[i:i + 2] == "**":
                out.append("[^/]*")
                i += 2
                continue
            out.append("[^/]*")
        elif c == "{":
            out.append("(?:")
            depth += 1
        elif c == "}" and depth:
            out.append(")")
            depth -= 1
        elif c == "," and depth:
            out.append("|")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                out.append(pattern[i:end + 1])  # passed through as a regex class
                i = end
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 1
        else:
            out.append(re.escape(c))  # includes `?`, a literal in zglob
        i += 1
    return re.compile("^" + "".join(out) + "$")


# ============================================================================================
# The private copy of the repository (util/io/files/tar.go, Untgz)


def _outside(base: str, target: str) -> bool:
    rel = os.path.relpath(target, base)
    return rel == ".." or rel.startswith("../")


def check_out_of_bounds_symlinks(repo: Path) -> None:
    """The repo-server refuses repos with absolute or escaping symlinks."""
    root = os.path.abspath(repo)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            if not os.path.islink(full):
                continue
            target = os.readlink(full)
            resolved = os.path.normpath(os.path.join(dirpath, target))
            if os.path.isabs(target) or _outside(root, resolved):
                rel = os.path.relpath(full, root)
                raise CmpError(f"repository contains out-of-bounds symlinks. file: {rel}")


def _tar_entries(root: str, exclusions: Sequence[str]) -> list[tuple[str, str, os.stat_result]]:
    """(kind, relative path, lstat) in filepath.Walk order: lexical, symlinks not followed."""
    out: list[tuple[str, str, os.stat_result]] = []
    patterns = [go_match_regex(p) for p in exclusions]

    def excluded(rel: str) -> bool:
        return any(rx.match(rel) for rx in patterns)

    def walk(rel_dir: str) -> None:
        full_dir = os.path.join(root, rel_dir) if rel_dir else root
        try:
            names = sorted(os.listdir(full_dir))
        except OSError:
            return
        for name in names:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            full = os.path.join(root, rel)
            try:
                st = os.lstat(full)
            except OSError:
                continue
            if excluded(rel):
                continue
            if stat.S_ISDIR(st.st_mode):
                out.append(("dir", rel, st))
                walk(rel)
            elif stat.S_ISREG(st.st_mode):
                out.append(("file", rel, st))
            elif stat.S_ISLNK(st.st_mode):
                out.append(("link", rel, st))
            # sockets, fifos, devices: skipped

    walk("")
    return out


def make_private_copy(repo: Path, workroot: Path, *, exclusions: Sequence[str] = (),
                      preserve_file_mode: bool = False) -> Path:
    """Stream-and-unpack equivalent: a fresh `<workroot>/<uuid>` holding the repository."""
    root = os.path.abspath(repo)
    check_out_of_bounds_symlinks(Path(root))
    entries = _tar_entries(root, exclusions)
    if not any(kind == "file" for kind, _, _ in entries):
        raise CmpError(f"no files to send({root})")
    workdir = workroot / str(uuid.uuid4())
    workdir.mkdir(mode=0o755)
    os.chmod(workdir, 0o755)
    for kind, rel, st in entries:
        dest = workdir / rel
        if _outside(str(workdir), os.path.normpath(str(dest))):
            raise CmpError("illegal filepath in archive")
        if kind == "dir":
            dest.mkdir(parents=True, exist_ok=True)
            os.chmod(dest, (st.st_mode & 0o7777) if preserve_file_mode else 0o755)
        elif kind == "file":
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(os.path.join(root, rel), dest)
            os.chmod(dest, (st.st_mode & 0o7777) if preserve_file_mode else 0o644)
        else:
            target = os.readlink(os.path.join(root, rel))
            resolved = os.path.normpath(os.path.join(os.path.dirname(str(dest)), target))
            if _outside(str(workdir), resolved):
                raise CmpError("illegal filepath in symlink")
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.path.relpath(resolved, os.path.dirname(str(dest))), dest)
    return workdir


# ============================================================================================
# Running commands (cmpserver/plugin/plugin.go runCommand)

_SIGNAL_NAMES = {signal.SIGKILL: "killed", signal.SIGTERM: "terminated",
                 signal.SIGINT: "interrupt", signal.SIGHUP: "hangup", signal.SIGABRT: "aborted",
                 signal.SIGSEGV: "segmentation fault", signal.SIGPIPE: "broken pipe"}


def go_quote(s: str) -> str:
    """strconv.Quote, near enough for error messages."""
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif not ch.isprintable():
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else
                       f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def render_argv(argv: Sequence[str]) -> str:
    parts = []
    for a in argv:
        if a == "":
            parts.append('""')
        elif any(c.isspace() for c in a):
            parts.append(go_quote(a))
        else:
            parts.append(a)
    return " ".join(parts)


@dataclass
class CommandRun:
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    returncode: int | None
    stdout: str
    stderr: str
    error: str | None


def _lookup(name: str, path_value: str) -> str | None:
    for d in path_value.split(os.pathsep):
        candidate = os.path.join(d or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def merge_env(sidecar_env: dict[str, str], request_env: Iterable[tuple[str, str]],
              keep_empty: bool = True) -> dict[str, str]:
    """`append(os.Environ(), request...)`, where Go's exec keeps the last of duplicated keys."""
    env = dict(sidecar_env)
    for k, v in request_env:
        if not k or (v == "" and not keep_empty):
            continue
        env[k] = v
    return env


def run_command(argv: Sequence[str], cwd: Path, env: dict[str, str], deadline: float, *,
                kill_grace_s: float = 5.0, log: list[CommandRun] | None = None) -> str:
    """Run like runCommand: returns stdout minus one trailing newline, or raises CmpError."""
    argv = list(argv)
    rendered = render_argv(argv)

    def record(rc: int | None, out: str, err: str, error: str | None) -> None:
        if log is not None:
            log.append(CommandRun(argv, cwd, env, rc, out, err, error))

    if time.monotonic() >= deadline:
        record(None, "", "", "context deadline exceeded")
        raise CmpError("context deadline exceeded")
    exe = argv[0]
    resolved = exe if "/" in exe else _lookup(exe, env.get("PATH", ""))
    if resolved is None:
        msg = f'`{rendered}` failed exec: "{exe}": executable file not found in $PATH'
        record(None, "", "", msg)
        raise CmpError(msg)
    try:
        proc = subprocess.Popen([resolved, *argv[1:]], cwd=cwd, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, process_group=0)
    except OSError as exc:
        msg = f"`{rendered}` failed {exc.strerror or exc}"
        record(None, "", "", msg)
        raise CmpError(msg) from None
    timeout = max(0.0, deadline - time.monotonic() - 0.1)
    try:
        out_b, err_b = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()  # CommandContext: SIGKILL the direct child
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            out_b, err_b = proc.communicate(timeout=kill_grace_s)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            out_b, err_b = proc.communicate()
    rc = proc.returncode
    out = out_b.decode("utf-8", "surrogateescape")
    err = err_b.decode("utf-8", "surrogateescape")
    if out.endswith("\n"):
        out = out[:-1]
    if rc != 0:
        if rc < 0:
            cause = f"signal: {_SIGNAL_NAMES.get(-rc, signal.Signals(-rc).name.lower())}"
        else:
            cause = f"exit status {rc}"
        msg = f"`{rendered}` failed {cause}" + (f": {err.strip()}" if err.strip() else "")
        record(rc, out, err, msg)
        raise CmpError(msg)
    record(rc, out, err, None)
    return out


# ============================================================================================
# stdout -> manifests (kube.SplitYAMLToString), repo-server conversion, controller normalisation


def split_yaml_to_json(text: str) -> list[str]:
    """The documents of a plugin's stdout as JSON strings, as the cmp-server splits them."""
    head = text.encode("utf-8", "surrogateescape")[:4096].lstrip(b" \t\r\n")
    if head.startswith(b"{"):
        return _split_json_stream(text)
    return _split_yaml_stream(text)


def _split_json_stream(text: str) -> list[str]:
    decoder = json.JSONDecoder()
    docs: list[str] = []
    pos = last_end = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text):
            return [d for d in docs if d not in ("null", "")]
        try:
            _, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            if len(docs) >= 2:
                raise CmpError(f"failed to unmarshal manifest: json: offset {exc.pos}: "
                               f"{exc.msg}") from None
            rest = text[last_end:]
            newline = re.match(r"[ \t\r]*\n?", rest)
            rest = rest[newline.end():] if newline else rest
            try:
                tail = _split_yaml_stream(rest)
            except CmpError:
                raise CmpError(f"failed to unmarshal manifest: json: offset {exc.pos}: "
                               f"{exc.msg}") from None
            return [d for d in docs if d not in ("null", "")] + tail
        docs.append(json.dumps(json.loads(text[pos:end]), separators=(",", ":")))
        pos = last_end = end


def _split_yaml_stream(text: str) -> list[str]:
    documents: list[str] = []
    buffer: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.startswith("---"):
            trimmed = line[3:].strip()
            if trimmed and not trimmed.startswith("#"):
                raise CmpError(f"failed to unmarshal manifest: invalid Yaml document "
                               f"separator: {trimmed}")
            if buffer:
                documents.append("".join(buffer))
                buffer = []
            continue
        buffer.append(line)
    if buffer:
        documents.append("".join(buffer))
    out = []
    for doc in documents:
        try:
            value = yaml_first_document_to_json(doc)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f"line {mark.line + 1}: " if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise CmpError(f"failed to unmarshal manifest: error converting YAML to JSON: "
                           f"yaml: {line}{problem}") from None
        if value is None:
            continue
        out.append(json.dumps(value, separators=(",", ":")))
    return out


def convert_manifests(manifests: Sequence[str]) -> list[dict[str, Any]]:
    """The repo-server: each manifest must be an object with a kind; lists are flattened."""
    prefix = "failed to convert CMP manifests to unstructured objects: failed to unmarshal manifest: "
    objects: list[dict[str, Any]] = []
    for text in manifests:
        value = json.loads(text)
        if not isinstance(value, dict):
            kind = "string" if isinstance(value, str) else "array" if isinstance(value, list) \
                else "number" if isinstance(value, (int, float)) else "bool"
            raise CmpError(prefix + f"json: cannot unmarshal {kind} into Go value of type "
                                    "map[string]interface {}")
        if not value.get("kind"):
            raise CmpError(prefix + "error unmarshaling JSON: while decoding JSON: Object "
                                    f"'Kind' is missing in '{text}'")
        items = value.get("items", ...)
        if isinstance(items, list):
            for item in items:
                if not isinstance(item, dict):
                    raise CmpError(prefix + "items must be objects")
                objects.append(item)
        elif items is None and "spec" not in value and "status" not in value:
            continue  # `items: null` and nothing else: dropped
        else:
            objects.append(value)
    return objects


# (group, kind) of the cluster-scoped kinds of a typical cluster with Istio and Gateway API.
CLUSTER_SCOPED = frozenset({
    ("", "Namespace"), ("", "Node"), ("", "PersistentVolume"), ("", "ComponentStatus"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
    ("storage.k8s.io", "StorageClass"), ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"), ("storage.k8s.io", "VolumeAttachment"),
    ("scheduling.k8s.io", "PriorityClass"), ("node.k8s.io", "RuntimeClass"),
    ("networking.k8s.io", "IngressClass"),
    ("gateway.networking.k8s.io", "GatewayClass"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
})


def _group(obj: dict[str, Any]) -> str:
    api = obj.get("apiVersion") or ""
    return api.rsplit("/", 1)[0] if "/" in api else ""


def normalize_targets(objects: Sequence[dict[str, Any]], dest_namespace: str,
                      cluster_scoped: frozenset[tuple[str, str]] = CLUSTER_SCOPED,
                      ) -> tuple[list[dict[str, Any]], list[str]]:
    """The controller: namespace defaulting, cluster-scoped stripping, de-duplication."""
    out: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    warnings: list[str] = []
    for obj in objects:
        obj = json.loads(json.dumps(obj))
        meta = obj.setdefault("metadata", {})
        scoped = (_group(obj), obj.get("kind")) in cluster_scoped
        if scoped:
            meta.pop("namespace", None)
        elif not meta.get("namespace"):
            meta["namespace"] = dest_namespace
        key = (_group(obj), obj.get("kind", ""), meta.get("namespace", "") or "",
               meta.get("name", "") or "")
        if key in out:
            warnings.append(f"RepeatedResourceWarning: {key}")
            del out[key]
        out[key] = obj
    return list(out.values()), warnings


# ============================================================================================
# The emulator


@dataclass
class GenerateResult:
    manifests: list[str]  # what the cmp-server returns (JSON strings)
    objects: list[dict[str, Any]]  # after the repo-server and controller steps
    stdout: str  # the generate command's stdout (one trailing newline trimmed)
    warnings: list[str]


class CmpEmulator:
    """One argocd-cmp-server sidecar serving one plugin.yaml, plus its callers' behaviour."""

    def __init__(self, plugin_yaml: Path, *, tmp_root: Path, sidecar_env: dict[str, str],
                 tar_exclusions: Sequence[str] = (), deadline_s: float = 60.0,
                 kill_grace_s: float = 5.0, keep_empty_env: bool = True,
                 cluster_scoped: frozenset[tuple[str, str]] = CLUSTER_SCOPED) -> None:
        self.config = load_plugin_config(plugin_yaml)
        self.sidecar_env = dict(sidecar_env)
        self.tar_exclusions = list(tar_exclusions)
        self.deadline_s = deadline_s
        self.kill_grace_s = kill_grace_s
        self.keep_empty_env = keep_empty_env
        self.cluster_scoped = cluster_scoped
        self.workroot = Path(tmp_root) / "_cmp_server"
        if self.workroot.exists():
            shutil.rmtree(self.workroot)
        self.workroot.mkdir(parents=True, mode=0o700)
        os.chmod(self.workroot, 0o700)
        self.runs: list[CommandRun] = []

    # ---- building blocks

    def _copy(self, repo: Path) -> Path:
        return make_private_copy(repo, self.workroot, exclusions=self.tar_exclusions,
                                 preserve_file_mode=self.config.spec["preserveFileMode"])

    def _app_dir(self, workdir: Path, rel: str) -> Path:
        app_dir = Path(os.path.normpath(workdir / rel))
        if _outside(str(workdir), str(app_dir)):
            raise CmpError("illegal appPath: out of workDir bound")
        return app_dir

    def _run(self, argv: Sequence[str], cwd: Path, request_env: Sequence[tuple[str, str]],
             deadline: float) -> str:
        env = merge_env(self.sidecar_env, request_env, self.keep_empty_env)
        return run_command(argv, cwd, env, deadline, kill_grace_s=self.kill_grace_s,
                           log=self.runs)

    def match_repository(self, repo: Path, rel: str, env: Sequence[tuple[str, str]],
                         deadline: float) -> tuple[bool, bool]:
        """MatchRepository: (isSupported, isDiscoveryEnabled), in a private copy."""
        workdir = self._copy(repo)
        try:
            app_dir = self._app_dir(workdir, rel)
            d = self.config.spec["discover"]
            if d["fileName"]:
                pattern = posixpath.normpath(f"{app_dir}/{d['fileName']}")
                try:
                    return bool(go_glob(pattern)), True
                except BadPattern:
                    raise CmpError(f'error finding filename match for pattern "{pattern}": '
                                   "syntax error in pattern") from None
            if d["find"]["glob"]:
                pattern = posixpath.normpath(f"{app_dir}/{d['find']['glob']}")
                try:
                    return bool(zglob(pattern)), True
                except CmpError as exc:
                    raise CmpError(f'error finding glob match for pattern "{pattern}": '
                                   f"{exc}") from None
            if d["find"]["command"]:
                argv = self.config.argv(d["find"])
                try:
                    out = self._run(argv, app_dir, env, deadline)
                except CmpError as exc:
                    raise CmpError(f"error running find command: {exc}") from None
                return out != "", True
            return False, False
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _select(self, repo: Path, app: Application, deadline: float) -> None:
        """Plugin selection for GenerateManifest (discovery.DetectConfigManagementPlugin)."""
        rel = app_rel_path(app.source_path)
        plugin = app.plugin
        if plugin is not None and plugin.name:
            if plugin.name != self.config.socket_name:
                raise CmpError(f'could not find cmp-server plugin with name "{plugin.name}" '
                               "supporting the given repository: error dialing")
            if self.config.discovery_configured:
                supported, _ = self._match(repo, rel, generate_env(app), deadline,
                                           named=plugin.name)
                if not supported:
                    raise CmpError(f'could not find cmp-server plugin with name '
                                   f'"{plugin.name}" supporting the given repository')
            return
        if not self.config.discovery_configured:
            raise (NotDetected if plugin is None else CmpError)(
                "could not find plugin supporting the given repository")
        env = base_env(app) if plugin is None else generate_env(app)
        supported, _ = self._match(repo, rel, env, deadline)
        if not supported:
            raise (NotDetected if plugin is None else CmpError)(
                "could not find plugin supporting the given repository")
        if plugin is None:
            # runConfigManagementPluginSidecars runs discovery again, with variables 1-11.
            supported, _ = self._match(repo, rel, generate_env(app), deadline)
            if not supported:
                raise CmpError("could not find plugin supporting the given repository")

    def _match(self, repo: Path, rel: str, env: Sequence[tuple[str, str]], deadline: float,
               named: str | None = None) -> tuple[bool, bool]:
        try:
            return self.match_repository(repo, rel, env, deadline)
        except CmpError as exc:
            if named:
                raise CmpError(f'could not find cmp-server plugin with name "{named}" '
                               f"supporting the given repository: match repository error: "
                               f"{exc}") from None
            raise CmpError(f"could not find plugin supporting the given repository: match "
                           f"repository error: {exc}") from None

    # ---- the RPCs as the rest of Argo CD sees them

    def discover(self, repo: Path, app: Application) -> bool:
        """Whether discovery matches the app, with the env its path would use."""
        deadline = time.monotonic() + self.deadline_s
        env = base_env(app) if app.plugin is None else generate_env(app)
        supported, _ = self.match_repository(repo, app_rel_path(app.source_path), env, deadline)
        return supported

    def generate(self, repo: Path, app: Application) -> GenerateResult:
        """GenerateManifests for a plugin source: selection, init, generate, parsing."""
        deadline = time.monotonic() + self.deadline_s
        self._select(repo, app, deadline)
        env = generate_env(app)
        workdir = self._copy(repo)
        try:
            app_dir = self._app_dir(workdir, app_rel_path(app.source_path))
            spec = self.config.spec
            try:
                if spec["init"]["command"]:
                    self._run(self.config.argv(spec["init"]), app_dir, env, deadline)
                out = self._run(self.config.argv(spec["generate"]), app_dir, env, deadline)
                manifests = split_yaml_to_json(out)
            except CmpError as exc:
                raise CmpError(f"error generating manifests in cmp: rpc error: code = Unknown "
                               f"desc = error generating manifests: {exc}") from None
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        warnings = [] if out else ["Plugin command returned zero output"]
        objects = convert_manifests(manifests)
        normalised, dup_warnings = normalize_targets(objects, app.dest_namespace,
                                                     self.cluster_scoped)
        return GenerateResult(manifests, normalised, out, warnings + dup_warnings)

    def parameters(self, repo: Path, app: Application) -> list[dict[str, Any]]:
        """GetParametersAnnouncement: dynamic announcements followed by the static ones."""
        deadline = time.monotonic() + self.deadline_s
        env = parameters_env(app)
        rel = app_rel_path(app.source_path)
        if self.config.discovery_configured:
            supported, _ = self._match(repo, rel, env, deadline,
                                       named=app.plugin.name if app.plugin else None)
            if not supported:
                raise CmpError("could not find plugin supporting the given repository")
        dynamic: list[dict[str, Any]] = []
        spec = self.config.spec
        if spec["parameters"]["dynamic"]["command"]:
            workdir = self._copy(repo)
            try:
                app_dir = self._app_dir(workdir, rel)
                try:
                    out = self._run(self.config.argv(spec["parameters"]["dynamic"]), app_dir,
                                    env, deadline)
                except CmpError as exc:
                    raise CmpError(f"error executing dynamic parameter output command: "
                                   f"{exc}") from None
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            try:
                value = json.loads(out)
            except json.JSONDecodeError as exc:
                raise CmpError("error unmarshaling dynamic parameter output into "
                               f"ParametersAnnouncementResponse: {exc}") from None
            if value is not None and not isinstance(value, list):
                raise CmpError("error unmarshaling dynamic parameter output into "
                               "ParametersAnnouncementResponse: not an array")
            for item in value or []:
                dynamic.append(_decode(item, _ANNOUNCEMENT, "ParameterAnnouncement"))
        return dynamic + list(spec["parameters"]["static"] or [])
