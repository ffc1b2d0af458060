"""Temporary paths are removed when their block ends and when a stop signal ends the process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from meshfed.output.cleanup import removed_at_end

CHILD = textwrap.dedent("""
    import os, sys, time
    from meshfed.output.cleanup import removed_at_end
    base = sys.argv[1]
    with removed_at_end(os.path.join(base, "copy")) as copy:
        os.makedirs(os.path.join(copy, "a", "b"))
        with open(os.path.join(copy, "a", "b", "f"), "w") as f:
            f.write("x")
        with removed_at_end(os.path.join(base, ".staged")) as staged:
            open(staged, "w").close()
            print("ready", flush=True)
            time.sleep(60)
""")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_removes_every_open_path_and_ends_the_process_with_it(tmp_path, signum):
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline() == "ready\n"
    assert (tmp_path / "copy" / "a" / "b" / "f").exists() and (tmp_path / ".staged").exists()
    child.send_signal(signum)
    assert child.wait(timeout=30) == -signum
    assert list(tmp_path.iterdir()) == []


def test_the_path_goes_when_the_block_ends_and_the_handlers_are_given_back(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    with removed_at_end(str(tmp_path / "d")) as d:
        os.mkdir(d)
        assert signal.getsignal(signal.SIGTERM) is not before
    assert not (tmp_path / "d").exists()
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_link_is_removed_never_what_it_points_to(tmp_path):
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "f").write_text("x")
    with removed_at_end(str(tmp_path / "link")) as link:
        os.symlink(kept, link)
    assert not (tmp_path / "link").exists() and (kept / "f").read_text() == "x"


def test_a_path_moved_away_is_no_error(tmp_path):
    with removed_at_end(str(tmp_path / ".staged")) as staged:
        (tmp_path / ".staged").write_text("x")
        os.rename(staged, tmp_path / "final")
    assert (tmp_path / "final").read_text() == "x"
