"""Helm-style merging of values layers, remembering which layer supplied each value.

Maps merge key by key, later layers win, lists and scalars are replaced whole, and a key set to
null is removed (also when an earlier layer, the chart defaults included, supplied it). The
provenance lets every error name the file that supplied the offending value.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

Path_ = tuple[str | int, ...]


class Layer:
    """One values source: `name` is the file shown in messages, `prefix` the path of the values
    inside that file (`spec.values` in a MeshFederation document, empty in a values file)."""

    __slots__ = ("name", "data", "prefix", "via")

    def __init__(self, name: str, data: dict[str, Any], prefix: str = "", via: str = "") -> None:
        self.name = name
        self.data = data
        self.prefix = prefix
        self.via = via  # for values set by a patch: `spec.patches[3]`

    def locate(self, path: Path_) -> str:
        """The field path as the user finds it in this layer's file."""
        inner = format_path(path)
        full = f"{self.prefix}.{inner}" if self.prefix and inner else (self.prefix or inner)
        return f"{full} (set by {self.via})" if self.via else full


class Merged:
    """The merged values, plus where each value came from and which keys a null removed."""

    __slots__ = ("values", "origins", "removed")

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.origins: dict[Path_, Layer] = {}
        self.removed: dict[Path_, Layer] = {}

    def origin(self, path: Path_) -> Layer | None:
        """The layer that supplied the value at `path` (the nearest recorded ancestor)."""
        for end in range(len(path), -1, -1):
            layer = self.origins.get(path[:end])
            if layer is not None:
                return layer
        return None


_SCALARS = {str, int, float, bool, type(None)}


def _strip_nulls(value: Any) -> Any:
    """A copy of a value with null map entries dropped (as Helm does within one file)."""
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        if set(map(type, value)) <= _SCALARS:  # long lists of hostnames: copied whole
            return value[:]
        return [_strip_nulls(v) for v in value]
    return value


def _record(origins: dict[Path_, Layer], path: Path_, value: Any, layer: Layer) -> None:
    """Mark `path` (and, for maps, each key below it) as supplied by `layer`."""
    origins[path] = layer
    if isinstance(value, dict):
        for key, child in value.items():
            _record(origins, (*path, key), child, layer)


def _forget(merged: Merged, path: Path_) -> None:
    """Drop provenance below `path`: its old content has been replaced whole."""
    n = len(path)
    for table in (merged.origins, merged.removed):
        for key in [k for k in table if len(k) > n and k[:n] == path]:
            del table[key]


def _merge_into(merged: Merged, target: dict[str, Any], source: dict[str, Any],
                path: Path_, layer: Layer) -> None:
    for key, value in source.items():
        here = (*path, key)
        if value is None:
            if key in target:
                del target[key]
            _forget(merged, here)
            merged.origins.pop(here, None)
            merged.removed[here] = layer
            continue
        merged.removed.pop(here, None)
        current = target.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merged.origins[here] = layer
            _merge_into(merged, current, value, here, layer)
        else:
            if key in target:
                _forget(merged, here)
            target[key] = _strip_nulls(value)
            _record(merged.origins, here, target[key], layer)


def merge_layers(layers: list[Layer]) -> Merged:
    """Merge layers in order, like `helm template -f a.yaml -f b.yaml`."""
    merged = Merged(values={})
    for layer in layers:
        merged.origins.setdefault((), layer)
        _merge_into(merged, merged.values, layer.data, (), layer)
    return merged


def leaves(merged: Merged) -> list[tuple[Path_, Any, Layer | None]]:
    """Every leaf of the merged values (a scalar, a list, which layers replace whole, or an empty
    map) in key order, with the layer that supplied it: what `meshfed values --show-origin` prints."""
    out: list[tuple[Path_, Any, Layer | None]] = []

    def walk(path: Path_, value: Any) -> None:
        if isinstance(value, dict) and value:
            for key, child in value.items():
                walk((*path, key), child)
        else:
            out.append((path, value, merged.origin(path)))
    walk((), merged.values)
    return out


def format_path(path: Path_) -> str:
    """`global.remote[0].addresses[1]`; keys that are not plain words in brackets:
    `selector["app.kubernetes.io/name"]`."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif isinstance(part, str) and part.replace("_", "a").replace("-", "a").isalnum() and part[:1].isalpha():
            out.append(f".{part}" if out else part)
        else:
            text = str(part).replace("\\", "\\\\").replace('"', '\\"')
            out.append(f'["{text}"]')
    return "".join(out)


def difference(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The layer that, merged over `before` as `merge_layers` merges, gives `after`: the keys that
    changed (maps recursively, anything else whole) and a null for each key that went away. Lets
    values changed by a whole-map step (Helm's `--set`) be a layer with its own provenance."""
    out: dict[str, Any] = {key: None for key in before if key not in after}
    for key, value in after.items():
        old = before.get(key, _ABSENT)
        if isinstance(old, dict) and isinstance(value, dict):
            inner = difference(old, value)
            if inner:
                out[key] = inner
        elif old is _ABSENT or old != value or type(old) is not type(value):
            out[key] = value
    return out


_ABSENT = object()
