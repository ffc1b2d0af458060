"""`--help` of every command: one style for the values of flags, and a help of its own for each
Argo CD plugin action."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

MESHFED = Path(sys.executable).with_name("meshfed")
COMMANDS = [["render"], ["validate"], ["schema"], ["check"], ["graph"], ["explain"], ["federation", "scaffold"],
            ["federation", "import"], ["diff"], ["krm"], ["kustomize-plugin"], ["krm-check"], ["argocd", "generate"],
            ["argocd", "discover"], ["argocd", "parameters"]]
# A flag's value: a word in capitals (`NAMESPACE`, `PATH=VALUE`, `[PATH]` when optional), or choices.
METAVAR = re.compile(r"^(\[?[A-Z][A-Z_=.|]*\]?|[a-z0-9]+(\|[a-z0-9]+)+)$")


def _help(*command: str) -> str:
    env = {**os.environ, "COLUMNS": "200", "TERM": "dumb", "NO_COLOR": "1"}
    run = subprocess.run([str(MESHFED), *command, "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_one_metavar_style(command: list[str]) -> None:
    for line in _help(*command).splitlines():
        match = re.match(r"^\s+(?:-\w, )?--[\w-]+(?: (\S+))?\s", line + " ")
        if match and match.group(1):
            assert METAVAR.match(match.group(1)), line


@pytest.mark.parametrize("action", ["generate", "discover", "parameters"])
def test_every_argocd_action_has_its_own_help(action: str) -> None:
    text = _help("argocd", action)
    assert text.startswith(f"Usage: meshfed argocd {action} ")
    others = {"generate": "ARGOCD_APP_PARAMETERS", "discover": "MeshFederation", "parameters": "Parameters tab"}
    assert others[action] in text


@pytest.mark.parametrize("args", [["render", "-f", "x.yaml", "--scope", "cluster"], ["render", "--layout", "V2"],
                                  ["graph", "-o", "png", "."], ["diff", "-o", "xml"], ["diff", "--color", "red"]],
                         ids=" ".join)
def test_a_value_not_among_the_choices_is_refused_in_plain_words(args: list[str]) -> None:
    run = subprocess.run([str(MESHFED), *args], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and run.stdout == ""
    assert "is not one of" in run.stderr and "Value error" not in run.stderr, run.stderr


def test_a_choice_a_typo_away_is_suggested() -> None:
    for args, hint in ((["--layout", "V2"], "(did you mean `v2`?)"),
                       (["--scope", "namespac"], "(did you mean `namespace`?)")):
        run = subprocess.run([str(MESHFED), "render", "-f", "x.yaml", *args], capture_output=True, text=True,
                             timeout=60)
        assert run.returncode == 2 and run.stderr.rstrip().endswith(hint), run.stderr
