"""libyaml's parser, and the PyYAML error classes meshfed's reader catches.

meshfed reads YAML with libyaml's parser (`yaml._yaml.CParser`, through its events) and writes it
itself. In the command line's process, `import yaml` finds the package the entry point's start-up
shortcut left (`meshfed.startup.lazy_yaml`: only what libyaml's parser needs loaded); in any other
process it is the plain import.
"""
from __future__ import annotations

from yaml import events
from yaml.composer import ComposerError
from yaml.error import MarkedYAMLError, YAMLError
from yaml.reader import ReaderError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _parser() -> type:
    """libyaml's parser class (`CParser(text)`, events through `get_event()`); PyYAML's pure-Python
    parser with the same interface where libyaml is missing."""
    try:
        from yaml._yaml import CParser
    except ImportError:  # pragma: no cover - a PyYAML built without libyaml
        return _python_parser()
    return CParser


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

__all__ = ["ComposerError", "MarkedYAMLError", "Parser", "ReaderError", "YAMLError", "events"]
