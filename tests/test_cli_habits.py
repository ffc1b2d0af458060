"""helm's and kubectl's habits on the command line: `--crds PATH` always takes its value and
validates (it implies `--check`), never swallowing a following DIR."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MESHFED = Path(sys.executable).parent / "meshfed"
APP = REPO / "overlays" / "east" / "mesh"
CRDS = REPO / "plugin" / "meshfed" / "crds"


def meshfed(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MESHFED_", "ARGOCD_"))}
    return subprocess.run([str(MESHFED), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_crds_that_do_not_exist_are_a_usage_error_before_rendering() -> None:
    for args in (["render", str(APP), "--crds", "/nonexistent"], ["validate", "--crds", "/nonexistent", str(APP)]):
        proc = meshfed(*args)
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout == "" and "'/nonexistent': no such file or directory" in proc.stderr


def test_crds_never_swallows_a_directory() -> None:
    proc = meshfed("render", "--crds", str(CRDS), str(APP))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == meshfed("render", str(APP)).stdout != ""
    bare = meshfed("render", str(APP), "--crds")
    assert bare.returncode == 2 and "requires an argument" in bare.stderr and bare.stdout == ""


def test_crds_implies_check(tmp_path: Path) -> None:
    """CRDs that serve no version of the emitted kinds reject the output: validation did run."""
    (tmp_path / "none.yaml").write_text("{}\n")
    empty = meshfed("render", str(APP), "--crds", str(tmp_path))
    assert empty.returncode == 1 and empty.stdout == "" and empty.stderr
    checked = meshfed("validate", "--check", str(APP))
    assert checked.returncode == 0 and "valid:" in checked.stderr
