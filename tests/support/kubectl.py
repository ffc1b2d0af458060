"""Running the pinned kubectl's kustomize the way the tests need it (krm.md §8).

The binary is `$KUBECTL` (set by `make test`) or `.tools/bin/kubectl`; never whatever kubectl is
on PATH, which may embed another kustomize.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Iterable, Mapping

from . import REPO, meshfed_executable

PLUGIN_HOME = REPO / "kustomize" / "plugin"


def kubectl_binary() -> str | None:
    """The pinned kubectl, or None when KUBECTL is unset and .tools/bin/kubectl is missing.

    A KUBECTL that is set is returned as is, even when it does not exist, so that a broken setup
    fails the tests instead of skipping them."""
    env = os.environ.get("KUBECTL")
    if env:
        return env
    local = REPO / ".tools" / "bin" / "kubectl"
    return str(local) if local.exists() else None


def kustomize_env(scratch: Path, *, plugin_home: Path | None = PLUGIN_HOME,
                  path_prepend: Iterable[Path] = (),
                  extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """kubectl's environment: plugin home, scratch TMPDIR, isolated HOME, no XDG_CONFIG_HOME."""
    env = dict(os.environ)
    env.pop("XDG_CONFIG_HOME", None)
    env.pop("KUSTOMIZE_PLUGIN_HOME", None)
    tmp, home = scratch / "tmp", scratch / "home"
    tmp.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    env["TMPDIR"] = str(tmp)
    env["HOME"] = str(home)
    if plugin_home is not None:
        env["KUSTOMIZE_PLUGIN_HOME"] = str(plugin_home)
    # The exec plugin wrapper runs "${MESHFED:-meshfed}".
    env["MESHFED"] = str(meshfed_executable())
    prepend = [str(p) for p in path_prepend]
    env["PATH"] = os.pathsep.join([*prepend, env.get("PATH", "")])
    env.update(extra or {})
    return env


def kustomize(directory: Path, scratch: Path, *, alpha_plugins: bool = True,
              plugin_home: Path | None = PLUGIN_HOME, path_prepend: Iterable[Path] = (),
              extra_env: Mapping[str, str] | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`kubectl kustomize [--enable-alpha-plugins] DIRECTORY`."""
    binary = kubectl_binary()
    if binary is None:
        raise RuntimeError("no pinned kubectl (set KUBECTL or run `make tools`)")
    argv = [binary, "kustomize"]
    if alpha_plugins:
        argv.append("--enable-alpha-plugins")
    argv.append(str(directory))
    env = kustomize_env(scratch, plugin_home=plugin_home, path_prepend=path_prepend,
                        extra=extra_env)
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=scratch, stdin=subprocess.DEVNULL)


def leftover_plugin_configs(scratch: Path) -> list[Path]:
    """The kust-plugin-config-* temp files kustomize left in the scratch TMPDIR."""
    return sorted((scratch / "tmp").glob("kust-plugin-config-*"))
