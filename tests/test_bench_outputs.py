"""`make bench` leaves tracked files alone: its tables go to stdout and the git-ignored
bench/results/; only `make bench-record` (run.py --record) rewrites the committed bench/RESULTS.md."""
from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys

import pytest

from support import REPO


def bench_run():
    spec = importlib.util.spec_from_file_location("meshfed_bench_run", REPO / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (its dataclasses look their module up)
    spec.loader.exec_module(module)
    return module


def make_recipe(target: str) -> str:
    text = (REPO / "Makefile").read_text()
    m = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n)+)", text, re.M)
    assert m, f"no `{target}` target in the Makefile"
    return m[1]


def test_bench_writes_only_ignored_files_unless_recording():
    run = bench_run()
    default = run.result_paths(run.parse_args([]))
    assert run.RECORD not in default
    assert run.RECORD in run.result_paths(run.parse_args(["--record"]))
    assert run.result_paths(run.parse_args(["--no-results"])) == []
    if shutil.which("git") and (REPO / ".git").exists():
        for path in default:
            ignored = subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", str(path)])
            assert ignored.returncode == 0, f"{path} is not ignored by git"
    else:
        pytest.skip("not a git checkout")


def test_make_bench_does_not_record_and_bench_record_does():
    assert "bench/run.py" in make_recipe("bench") and "--record" not in make_recipe("bench")
    assert "bench/run.py --record" in make_recipe("bench-record")
