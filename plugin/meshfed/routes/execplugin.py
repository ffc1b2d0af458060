"""`meshfed kustomize-plugin CONFIG`: meshfed as a legacy kustomize exec plugin (a generator).

kustomize (`--enable-alpha-plugins`) finds the executable at
`$KUSTOMIZE_PLUGIN_HOME/meshfed.io/v1alpha1/meshfederation/MeshFederation` (see
`kustomize/plugin/` in this repository) for every `generators:` entry of kind MeshFederation that
carries no `config.kubernetes.io/function` annotation, and runs it with:

* argv[1]: a temp file holding the MeshFederation, re-serialised by kustomize (keys sorted);
* cwd and `KUSTOMIZE_PLUGIN_CONFIG_ROOT`: the directory of the kustomization that lists it, which
  is what relative `spec.base` paths resolve against;
* stdin: an empty pipe (a generator) or the current resources (a transformer, refused here).

On success stdout holds a plain YAML stream of the generated objects, and nothing else. On error
the messages go to stderr (kustomize puts them into its error), the exit code is 1 and stdout
stays empty. `MESHFED_ROOT`, when set, is the directory `spec.base` paths may not leave
(default: the enclosing git work tree).
"""
from __future__ import annotations

import os
import select
import sys

from ..api import Document, render
from ..values.diagnostics import EXIT_INVALID, EXIT_OK, InputError, error, exit_code
from ..output.serialize import write_yaml
from ..output.resources import is_meshfederation, resource_ref, strip_bookkeeping
from ..values.source import display, document_files, read_file, working_directory
from ..values.yamlio import parse_all

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

PROG = "meshfed kustomize-plugin"


def run(config_path: str, stdout: TextIO, stderr: TextIO) -> int:
    """Render the MeshFederation in `config_path`; print the objects as a YAML stream."""
    try:
        doc, config_root = _config(config_path)
    except InputError as exc:
        for d in exc.diagnostics:
            print(f"{PROG}: {d}", file=stderr)
        return EXIT_INVALID
    if _stdin_has_resources():
        print(f"{PROG}: MeshFederation is a generator: list it under `generators:` in kustomization.yaml, "
              "not under `transformers:` (it would drop every other resource)", file=stderr)
        return EXIT_INVALID
    result = render(documents=[Document(strip_bookkeeping(doc), _source_name(doc, config_root), config_root)],
                    lazy=True)
    for d in result.diagnostics:
        print(d, file=stderr)
    if not result.ok:
        return exit_code(result.diagnostics)
    write_yaml(result.objects, stdout.write)
    stdout.flush()
    return EXIT_OK


def _config(config_path: str) -> tuple[dict[str, Any], str]:
    """The MeshFederation kustomize hands over, and the kustomization root it belongs to."""
    config_root = os.environ.get("KUSTOMIZE_PLUGIN_CONFIG_ROOT") or working_directory()
    docs = [d for d in parse_all(read_file(config_path, config_path), config_path) if d is not None]
    if len(docs) != 1 or not is_meshfederation(docs[0]):
        raise InputError([error("the plugin config must be one MeshFederation document "
                                "(apiVersion meshfed.io/v1alpha1, kind MeshFederation)", config_path)])
    return docs[0], config_root


def _source_name(doc: dict[str, Any], config_root: str) -> str:
    """The file in the kustomization dir that holds this MeshFederation, for messages.

    kustomize hands over a re-serialised temp copy, so look for a document with the same name and
    namespace directly in the kustomization directory; fall back to `MeshFederation/<name>`."""
    ref = resource_ref(doc)
    hits = set()
    try:
        candidates = document_files(config_root)
    except OSError:
        candidates = []
    for path in candidates:
        name = os.path.basename(path)
        try:
            found = parse_all(read_file(path, name), name)
        except InputError:
            continue
        if any(is_meshfederation(d) and resource_ref(d) == ref for d in found):
            hits.add(display(path))
    return hits.pop() if len(hits) == 1 else f"MeshFederation/{ref.get('name') or '(unnamed)'}"


def _stdin_has_resources(wait: float = 0.2) -> bool:
    """True when stdin carries resources (kustomize runs transformers that way).

    A generator's stdin is an empty pipe that kustomize closes at once. Never block: a terminal or
    a pipe nobody writes to counts as empty."""
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    try:
        if os.isatty(fd):
            return False
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            return False
        return bool(os.read(fd, 65536).strip())
    except (OSError, ValueError):
        return False
