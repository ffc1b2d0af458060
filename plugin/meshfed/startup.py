"""The command line's start-up shortcuts: applied by its entry point (`meshfed.__main__.main`,
the `meshfed` console script and `python -m meshfed`) and by nothing else, so that a program
importing meshfed as a library keeps its own `re` cache and the plain `import yaml`.

Argo CD and kustomize start meshfed on every refresh of every application, and importing PyYAML
costs a cold `meshfed render` more than half of its own work:

- `import yaml` runs the package's `__init__`, which loads every loader, constructor, representer
  and dumper (with `datetime` and `base64`): a quarter of a cold render. meshfed reads YAML with
  libyaml's parser alone and writes it itself, so `lazy_yaml` puts in `sys.modules` a `yaml`
  package with only the modules libyaml's extension module reads at import; its `__init__` runs
  in it the first time anything asks it for a name it lacks (`yaml.safe_load`, `from yaml import
  CSafeDumper`), once, under a lock, and from there on it is the plain import.
- `yaml.reader` compiles `Reader.NON_PRINTABLE`, which only PyYAML's pure-Python reader uses. Its
  large Unicode class takes 8 ms to compile, a sixth of a cold render; the same characters written
  as the complement compile in 0.5 ms, and not at all until used. `seed_pattern_cache` puts that
  pattern in `re`'s cache under the original's source, so it is what the import gets. (If `re`
  keeps its cache elsewhere, nothing changes but the time.)

`MESHFED_PLAIN_IMPORTS=1` turns both off (say, to tell whether one of them is in the way).
tests/test_startup.py checks that the shortcuts are taken with the pinned PyYAML (pyproject.toml
bounds its version), and that once complete the package is the plain import, class for class.
"""
from __future__ import annotations

import os
import re
import sys
from _thread import allocate_lock, get_ident

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

OFF_SWITCH = "MESHFED_PLAIN_IMPORTS"

# yaml/reader.py's pattern, and the same characters as the complement of its class.
NON_PRINTABLE = "[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]"
SAME_AS_NON_PRINTABLE = "[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uD800-\uDFFF\uFFFE\uFFFF]"

# The submodules `yaml._yaml` reads at import, in an order in which each one's imports come first.
_NEEDED = ("error", "tokens", "events", "nodes", "reader", "scanner", "parser", "composer", "emitter",
           "serializer")
# Read by `yaml._yaml` at import for an exception class libyaml's parser never raises (module,
# class, stand-in): the stand-in is lent for the import, and the real class replaces it in the
# extension module when the package completes.
_LENT = (("constructor", "ConstructorError", "MarkedYAMLError"),
         ("representer", "RepresenterError", "YAMLError"))


def apply() -> None:
    """Both shortcuts, unless `MESHFED_PLAIN_IMPORTS` is set (to anything but `0`)."""
    if os.environ.get(OFF_SWITCH, "") not in ("", "0"):
        return
    seed_pattern_cache()
    if "yaml" not in sys.modules:
        lazy_yaml()


class _CompiledOnUse:
    """Stands for `re.compile(source)`, compiled the first time it is used: PyYAML's pure-Python
    reader, the only user of this pattern, is never used by meshfed."""

    __slots__ = ("_source", "_compiled")

    def __init__(self, source: str) -> None:
        self._source = source
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> object:
        if self._compiled is None:
            self._compiled = re.compile(self._source)
        return getattr(self._compiled, name)


def seed_pattern_cache() -> None:
    """Put `SAME_AS_NON_PRINTABLE`, compiled on use, in `re`'s cache as `NON_PRINTABLE`."""
    cache = getattr(re, "_cache", None)
    if type(cache) is dict:
        cache.setdefault((str, NON_PRINTABLE, 0), _CompiledOnUse(SAME_AS_NON_PRINTABLE))


def _package_spec() -> Any:
    """The spec `import yaml` would use (the same finders, in the same order)."""
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        spec = find("yaml", None) if find is not None else None
        if spec is not None:
            return spec
    return None


def lazy_yaml() -> Any:
    """Put in `sys.modules` the `yaml` package with only `_NEEDED` and `yaml._yaml` loaded, its
    `__init__` run on the first name it lacks; None (and nothing left behind) where that cannot
    be done: then the first `import yaml` is the plain one."""
    spec = _package_spec()
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return None
    package = type(sys)("yaml")
    package.__spec__, package.__loader__ = spec, spec.loader
    package.__path__, package.__package__ = list(spec.submodule_search_locations), "yaml"
    package.__file__ = spec.origin
    sys.modules["yaml"] = package
    try:
        for name in _NEEDED:
            __import__("yaml." + name)
        for module, cls, stand_in in _LENT:
            lent = type(sys)(f"yaml.{module}")
            setattr(lent, cls, getattr(package.error, stand_in))
            setattr(package, module, lent)
        try:
            __import__("yaml._yaml")
        finally:  # the real modules are imported by name when wanted
            for module, _, _ in _LENT:
                delattr(package, module)
    except Exception:  # noqa: BLE001 - whatever went wrong, the plain import decides, from scratch
        for name in [m for m in sys.modules if m == "yaml" or m.startswith("yaml.")]:
            del sys.modules[name]
        return None
    vars(package)["__getattr__"] = _completion(package, spec)  # a module's __getattr__ (PEP 562)
    return package


def _completion(package: Any, spec: Any) -> Any:
    """The package's `__getattr__`: run PyYAML's own `__init__` in it (once, whichever thread asks
    first; the others wait), then answer as the plain import would."""
    lock = allocate_lock()
    running: list[int] = []  # the thread running `__init__`, while it does

    def complete(name: str) -> Any:
        if running == [get_ident()]:  # asked by `__init__` itself: a package still being imported
            raise AttributeError(f"partially initialized module 'yaml' has no attribute {name!r}")
        with lock:
            if vars(package).get("__getattr__") is complete:
                running.append(get_ident())
                try:
                    exec(spec.loader.get_code("yaml"), vars(package))
                    extension = sys.modules["yaml._yaml"]
                    for module, cls, _ in _LENT:  # the real classes where the stand-ins were lent
                        setattr(extension, cls, getattr(sys.modules[f"yaml.{module}"], cls))
                    del package.__getattr__
                finally:
                    running.clear()
        return getattr(package, name)

    return complete
