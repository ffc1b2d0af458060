"""Load CustomResourceDefinitions from files and directories and index them by group and kind.

Files are parsed once per (path, mtime, size) and schemas compiled on first use, so validating many
objects, or calling validate_objects repeatedly, pays the YAML and compile cost once.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .schema import Schema, compile_schema

_SUFFIXES = (".yaml", ".yml", ".json")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class CrdVersion:
    """One version of a CRD; the schema is compiled lazily because most versions go unused."""

    name: str
    served: bool
    raw_schema: dict[str, Any] | None
    _schema: Schema | None = field(default=None, repr=False)

    @property
    def schema(self) -> Schema | None:
        if self._schema is None and self.raw_schema is not None:
            self._schema = compile_schema(self.raw_schema)
        return self._schema


@dataclass
class Crd:
    group: str
    kind: str
    namespaced: bool
    versions: dict[str, CrdVersion]


@dataclass
class CrdIndex:
    """CRDs by (group, kind); `lookup` answers what discovery would."""

    by_group_kind: dict[tuple[str, str], Crd]

    def lookup(self, api_version: str, kind: str) -> tuple[Crd, CrdVersion] | None:
        group, _, version = api_version.rpartition("/")
        crd = self.by_group_kind.get((group, kind))
        found = crd.versions.get(version) if crd else None
        if crd is None or found is None or not found.served:
            return None
        return crd, found


def load_index(paths: Iterable[Path]) -> CrdIndex:
    """Index every CRD found under `paths` (files or directories, searched recursively)."""
    files = sorted({f for p in paths for f in _files(Path(p))})
    stamp = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    return _load(stamp)


def _files(path: Path) -> Iterator[Path]:
    if path.is_dir():
        yield from (f.resolve() for f in path.rglob("*") if f.is_file() and f.suffix in _SUFFIXES)
    elif path.is_file():
        yield path.resolve()
    else:
        raise FileNotFoundError(f"no CRD file or directory at {path}")


@lru_cache(maxsize=8)
def _load(stamp: tuple[tuple[str, int, int], ...]) -> CrdIndex:
    index: dict[tuple[str, str], Crd] = {}
    for name, _, _ in stamp:
        for doc in _documents(Path(name)):
            for crd in _crds(doc):
                index[(crd.group, crd.kind)] = crd
    return CrdIndex(index)


def _documents(path: Path) -> Iterator[Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        yield json.loads(text)
    else:
        yield from yaml.load_all(text, Loader=_Loader)


def _crds(doc: Any) -> Iterator[Crd]:
    """The CRDs in one document: a CRD itself, or a `List` of them (`kubectl get crd -o yaml`)."""
    if not isinstance(doc, dict):
        return
    kind = str(doc.get("kind") or "")
    if kind.endswith("List") and "items" in doc:
        for item in doc.get("items") or ():
            yield from _crds(item)
    elif kind == "CustomResourceDefinition":
        spec = doc.get("spec") or {}
        legacy = (spec.get("validation") or {}).get("openAPIV3Schema")
        versions = {
            v["name"]: CrdVersion(v["name"], bool(v.get("served", True)),
                                  ((v.get("schema") or {}).get("openAPIV3Schema")) or legacy)
            for v in spec.get("versions") or ()
        }
        if not versions and spec.get("version"):
            versions[spec["version"]] = CrdVersion(spec["version"], True, legacy)
        yield Crd(spec["group"], spec["names"]["kind"], spec.get("scope", "Namespaced") == "Namespaced", versions)
