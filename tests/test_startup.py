"""The command line's start-up shortcuts (meshfed/startup.py) keep behaviour:
- the PyYAML pattern handed to `re`'s cache matches exactly the characters PyYAML's own pattern
  matches, and a process that applied the shortcuts then imports PyYAML gets it (so the shortcut
  still applies to the pinned PyYAML);
- a render loads only what libyaml's parser needs with the pinned PyYAML, and the package is the
  plain `import yaml` (complete, the same classes, in the extension module too) as soon as anything
  asks it for more, once whatever the number of threads asking; where the shortcut cannot be
  taken, the plain import is;
- only the entry point applies them: `import meshfed` (and a render through the library) leaves
  `re` and `yaml` as they are, and `MESHFED_PLAIN_IMPORTS=1` turns them off."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from meshfed import startup
SEED_MESH = Path(__file__).parent / "examples" / "seed-readme" / "mesh-admin-values.yaml"
EVERY_CHARACTER = "".join(map(chr, range(0x110000)))


def test_the_cached_pattern_matches_the_same_characters_as_pyyamls() -> None:
    original = re.compile(f"(?:{startup.NON_PRINTABLE})")  # another source: compiled, not the cached one
    same = re.compile(startup.SAME_AS_NON_PRINTABLE)
    assert original.findall(EVERY_CHARACTER) == same.findall(EVERY_CHARACTER)
    assert len(same.findall(EVERY_CHARACTER)) > 2000  # controls and surrogates


def test_pyyaml_gets_the_cached_pattern() -> None:
    code = ("from meshfed import startup; startup.apply(); import yaml.reader; pattern = yaml.reader.Reader.NON_PRINTABLE; "
            "print(pattern.pattern == startup.SAME_AS_NON_PRINTABLE, pattern.search('ab\\x85c\\x00d').start())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["True", "4"], out.stderr


def test_pyyaml_still_refuses_what_the_pattern_matches() -> None:
    import yaml
    for good, bad in (("a\xa0b", "a\x00b"), ("\ue000", "\ufffe")):
        assert yaml.load(f"k: {good}", Loader=yaml.SafeLoader) == {"k": good}  # the pure-Python reader
        with pytest.raises(yaml.reader.ReaderError):
            yaml.load(f"k: {bad}", Loader=yaml.SafeLoader)


def _run(code: str) -> list[str]:
    """The words a fresh interpreter prints running `code`, after what `_RENDER` printed."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.rpartition(_MARK)[2].split()


# A cold render of the seed example's mesh tier, as the console script runs it.
_MARK = "--- rendered ---"
_RENDER = f"""
import sys
from meshfed.__main__ import main
sys.argv = ["meshfed", "render", "-f", {str(SEED_MESH)!r}]
try:
    main()
except SystemExit as exc:
    assert exc.code == 0, exc.code
print({_MARK!r}, flush=True)
"""


def test_a_render_loads_only_the_parser_of_pyyaml() -> None:
    """(Not even the resolver: the seed example writes only strings `emit` knows are plain.)"""
    code = _RENDER + "print(*sorted(m for m in sys.modules if m.split('.')[0] in {'yaml', 'datetime', 'base64'}))"
    loaded = set(_run(code))
    assert "yaml._yaml" in loaded
    assert not loaded & {"yaml.constructor", "yaml.representer", "yaml.loader", "yaml.dumper", "yaml.cyaml",
                         "yaml.resolver", "datetime", "base64"}


def test_the_package_is_the_plain_import_once_asked_for_more() -> None:
    code = _RENDER + """
import yaml, yaml._yaml, yaml.constructor
from meshfed.values.yamlio import parse_all
from meshfed.values.diagnostics import InputError
print(yaml.safe_load("a: [1, b]") == {"a": [1, "b"]}, yaml.__with_libyaml__)
print(yaml.dump({"k": "yes"}, Dumper=yaml.CSafeDumper).strip() == "k: 'yes'")
print(yaml._yaml.ScannerError is yaml.scanner.ScannerError, yaml._yaml.ParserError is yaml.parser.ParserError)
print(yaml._yaml.ReaderError is yaml.reader.ReaderError, yaml.YAMLError is yaml.error.YAMLError)
print(yaml.constructor.ConstructorError is yaml.constructor.SafeConstructor.construct_object.__globals__["ConstructorError"], yaml.cyaml.CParser is yaml._yaml.CParser)
try:
    yaml.load("a: b: c", Loader=yaml.CSafeLoader)
except yaml.YAMLError:
    print(True)
try:
    parse_all("a: b: c", "x.yaml")
except InputError:
    print(True)
"""
    assert _run(code) == ["True"] * 11


def test_pyyaml_imported_first_is_used_as_it_is() -> None:
    code = "import yaml; first = yaml.CSafeLoader\n" + _RENDER + "import yaml; print(yaml.CSafeLoader is first)"
    assert _run(code) == ["True"]


def test_where_the_shortcut_fails_the_plain_import_decides() -> None:
    """A PyYAML whose extension module needs a module the shortcut cannot load (here: the first
    attempt to load `yaml.emitter` fails)."""
    code = """
import sys

class FailOnce:
    failed = False
    def find_spec(self, name, path=None, target=None):
        if name == "yaml.emitter" and not FailOnce.failed:
            FailOnce.failed = True
            raise ImportError("no")
        return None

sys.meta_path.insert(0, FailOnce())
from meshfed import startup
startup.apply()
from meshfed.values.cparser import Parser
import yaml, yaml._yaml
print(FailOnce.failed, Parser is yaml.cyaml.CParser, yaml._yaml.ScannerError is yaml.scanner.ScannerError)
print(yaml.safe_load("a: 1") == {"a": 1})
"""
    assert _run(code) == ["True"] * 4


_CLASSES = """
import json, sys, yaml._yaml
classes = {name: value for name, value in vars(yaml._yaml).items() if isinstance(value, type)}
print(json.dumps({name: f"{c.__module__}.{c.__qualname__}" for name, c in sorted(classes.items())}, separators=(",", ":")))
print(all(getattr(sys.modules[c.__module__], c.__qualname__) is c for c in classes.values()))
"""


def test_the_extension_exposes_the_real_classes_once_complete() -> None:
    """Every class `yaml._yaml` holds (the exceptions, tokens, events and nodes it builds) is the one
    a plain `import yaml` gives it, the two it was lent stand-ins for included."""
    plain = _run("import yaml\n" + _CLASSES)
    completed = _run(_RENDER + "import yaml; yaml.safe_load('a: 1')\n" + _CLASSES)
    assert completed == plain
    assert plain[1] == "True"
    names = json.loads(plain[0])
    assert names["ConstructorError"] == "yaml.constructor.ConstructorError"
    assert names["RepresenterError"] == "yaml.representer.RepresenterError"
    assert len(names) > 30  # tokens, events, nodes, errors, the parser and emitter


def test_the_package_completes_once_whatever_the_threads() -> None:
    code = _RENDER + """
import threading, yaml
barrier, seen, errors = threading.Barrier(8), [], []
def ask():
    barrier.wait()
    try:
        seen.append((yaml.YAMLObject, yaml.safe_load, yaml.CSafeLoader))
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=ask) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(len(seen) == 8, len(set(seen)) == 1, errors == [], "__getattr__" not in vars(yaml))
"""
    assert _run(code) == ["True"] * 4


_PLAIN = """
print(isinstance(yaml.reader.Reader.NON_PRINTABLE, re.Pattern), "__getattr__" not in vars(yaml),
      "yaml.constructor" in sys.modules, (str, startup.NON_PRINTABLE, 0) not in getattr(re, "_cache", {}) or
      isinstance(re._cache[str, startup.NON_PRINTABLE, 0], re.Pattern))
"""


def test_a_library_import_applies_none() -> None:
    """A program that imports meshfed (and renders through `meshfed.api`) keeps `re`'s cache and
    the plain `import yaml`."""
    code = f"""
import re, sys
import meshfed, meshfed.api, meshfed.values.yamlio, meshfed.output.serialize
from meshfed import startup
print({_MARK!r}, meshfed.api.render(values_files=[{str(SEED_MESH)!r}]).ok)
import yaml, yaml.reader
""" + _PLAIN
    assert _run(code) == ["True"] * 5


def test_the_off_switch_keeps_the_plain_imports() -> None:
    code = _RENDER + "import re, yaml, yaml.reader\nfrom meshfed import startup\n" + _PLAIN
    env = {**os.environ, "MESHFED_PLAIN_IMPORTS": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rpartition(_MARK)[2].split() == ["True"] * 4


def test_the_off_switch_renders_the_same_bytes(meshfed_bin: Path) -> None:
    args = [str(meshfed_bin), "render", "-f", str(SEED_MESH)]
    fast = subprocess.run(args, capture_output=True, env={**os.environ, "MESHFED_PLAIN_IMPORTS": "0"})
    plain = subprocess.run(args, capture_output=True, env={**os.environ, "MESHFED_PLAIN_IMPORTS": "1"})
    assert fast.returncode == plain.returncode == 0
    assert fast.stdout == plain.stdout and fast.stdout.startswith(b"---\n")
