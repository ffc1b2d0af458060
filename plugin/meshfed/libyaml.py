"""libyaml's parser without the rest of PyYAML, for a fast start.

meshfed reads YAML with libyaml's parser (`yaml._yaml.CParser`, through its events) and writes it
itself; PyYAML's loaders, constructors, representers and dumpers are needed only by the rare
document `meshfed.emit` hands back to PyYAML, and by the cluster checks. Yet `import yaml` loads
all of them (with `datetime` and `base64`): a quarter of a cold `meshfed render`.

Importing this module loads the `yaml` package without running its `__init__`: only the modules libyaml's
extension module reads when it is imported (errors, tokens, events, nodes, reader, scanner,
parser, composer, emitter, serializer). The two it reads only for two exception classes it never
raises (constructor, representer) are lent stand-ins for that moment. Every module loaded is
PyYAML's own, so its classes are the ones `import yaml` gives. The first time anything asks the
package for a name it lacks (`yaml.safe_load`, `from yaml import CSafeDumper`, ...), the package's
`__init__` runs in it then, and from there on it is the plain `import yaml`.

Where any of this does not hold (PyYAML imported already, no libyaml, a PyYAML whose extension
needs more), it is the plain import. tests/test_startup.py checks that the fast way is taken with
the pinned PyYAML, and that the package is complete and consistent once a name is asked for.
"""
from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# The submodules `yaml._yaml` reads at import, in an order in which each one's imports come first.
_NEEDED = ("error", "tokens", "events", "nodes", "reader", "scanner", "parser", "composer", "emitter",
           "serializer")
# Read by `yaml._yaml` at import for an exception class it never raises: (module, class, stand-in).
_LENT = (("constructor", "ConstructorError", "MarkedYAMLError"),
         ("representer", "RepresenterError", "YAMLError"))


def _package_spec() -> Any:
    """The spec `import yaml` would use (the same finders, in the same order)."""
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        spec = find("yaml", None) if find is not None else None
        if spec is not None:
            return spec
    return None


def _lazy_package() -> Any:
    """The `yaml` package with only `_NEEDED` and `yaml._yaml` loaded, its `__init__` run on the
    first name it lacks; None (and nothing left behind) where that cannot be done."""
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
    except Exception:  # whatever went wrong, the plain import decides, from scratch
        for name in [m for m in sys.modules if m == "yaml" or m.startswith("yaml.")]:
            del sys.modules[name]
        return None

    def complete(name: str) -> Any:
        """Run the package's `__init__` (once), then answer as the plain import would."""
        del package.__getattr__
        exec(spec.loader.get_code("yaml"), package.__dict__)  # PyYAML's own __init__
        return getattr(package, name)

    package.__getattr__ = complete
    return package


def _parser() -> type:
    """libyaml's parser class (`CParser(text)`, events through `get_event()`); PyYAML's pure-Python
    parser with the same interface where libyaml is missing."""
    if "yaml" not in sys.modules:
        _lazy_package()
    try:
        from yaml._yaml import CParser
    except ImportError:  # pragma: no cover - a PyYAML built without libyaml
        return _python_parser()
    return CParser  # type: ignore[no-any-return]


def _python_parser() -> type:  # pragma: no cover - a PyYAML built without libyaml
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class PythonParser(Reader, Scanner, Parser, Composer):
        def __init__(self, stream: Any) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)

    return PythonParser


Parser = _parser()

# Loaded by now, so these import no more of the package.
from yaml import events
from yaml.composer import ComposerError
from yaml.error import MarkedYAMLError, YAMLError
from yaml.reader import ReaderError

__all__ = ["ComposerError", "MarkedYAMLError", "Parser", "ReaderError", "YAMLError", "events"]
