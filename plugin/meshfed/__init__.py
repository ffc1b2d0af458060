"""meshfed: Istio mesh-federation resources from MeshFederation documents and Helm-style values.

Start-up: importing PyYAML compiles `yaml.reader.Reader.NON_PRINTABLE`, which only PyYAML's
pure-Python reader uses (meshfed parses with libyaml). Its large Unicode class takes 8 ms to
compile, a sixth of a cold `meshfed render`; the same characters written as the complement compile
in 0.5 ms, and not at all until it is used. Put in `re`'s cache under the original's source, that
pattern is what the import gets.
(If `re` keeps its cache elsewhere, nothing changes but the time.) tests/test_startup.py checks
that both match exactly the same characters and that PyYAML gets this one.
"""
import re as _re

_NON_PRINTABLE = "[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]"  # yaml/reader.py
SAME_AS_NON_PRINTABLE = "[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uD800-\uDFFF\uFFFE\uFFFF]"


class _CompiledOnUse:
    """Stands for `re.compile(source)`, compiled the first time it is used: PyYAML's pure-Python
    reader, the only user of this pattern, is never used by meshfed."""

    __slots__ = ("_source", "_compiled")

    def __init__(self, source: str) -> None:
        self._source = source
        self._compiled: _re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> object:
        if self._compiled is None:
            self._compiled = _re.compile(self._source)
        return getattr(self._compiled, name)


if type(getattr(_re, "_cache", None)) is dict:
    _re._cache.setdefault((str, _NON_PRINTABLE, 0), _CompiledOnUse(SAME_AS_NON_PRINTABLE))  # type: ignore[attr-defined]
