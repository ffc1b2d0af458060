"""Start-up shortcuts keep behaviour: the PyYAML pattern meshfed's package hands to `re`'s cache
(meshfed/__init__.py) matches exactly the characters PyYAML's own pattern matches, and a fresh
process importing meshfed then PyYAML gets it (so the shortcut still applies to the pinned PyYAML)."""
from __future__ import annotations

import re
import subprocess
import sys

import meshfed

EVERY_CHARACTER = "".join(map(chr, range(0x110000)))


def test_the_cached_pattern_matches_the_same_characters_as_pyyamls() -> None:
    original = re.compile(f"(?:{meshfed._NON_PRINTABLE})")  # another source: compiled, not the cached one
    same = re.compile(meshfed.SAME_AS_NON_PRINTABLE)
    assert original.findall(EVERY_CHARACTER) == same.findall(EVERY_CHARACTER)
    assert len(same.findall(EVERY_CHARACTER)) > 2000  # controls and surrogates


def test_pyyaml_gets_the_cached_pattern() -> None:
    code = ("import meshfed, yaml.reader; "
            "print(yaml.reader.Reader.NON_PRINTABLE.pattern == meshfed.SAME_AS_NON_PRINTABLE)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"
