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
from pathlib import Path
from typing import Any, TextIO

EXIT_OK, EXIT_INVALID = 0, 1
PROG = "meshfed kustomize-plugin"


def run(config_path: str, stdout: TextIO, stderr: TextIO) -> int:
    """Render the MeshFederation in `config_path`; print the objects as a YAML stream."""
    from . import krm

    def fail(message: str) -> int:
        print(f"{PROG}: error: {message}", file=stderr)
        return EXIT_INVALID

    config_root = Path(os.environ.get("KUSTOMIZE_PLUGIN_CONFIG_ROOT") or os.getcwd())
    try:
        text = Path(config_path).read_bytes().decode("utf-8-sig")
    except OSError as exc:
        fallback = os.environ.get("KUSTOMIZE_PLUGIN_CONFIG_STRING")
        if not fallback:
            return fail(f"cannot read the plugin config {config_path}: {exc.strerror or exc}")
        text = fallback
    except UnicodeDecodeError:
        return fail(f"the plugin config {config_path} is not UTF-8 text")

    try:
        docs = [d for d in krm.load_all(text) if d is not None]
    except Exception as exc:  # yaml.YAMLError, or the core's InputError
        return fail(f"the plugin config is not valid YAML: {krm.yaml_error_text(exc)}")
    if len(docs) != 1 or not krm.is_meshfederation(docs[0]):
        return fail("the plugin config must be one MeshFederation document "
                    "(apiVersion meshfed.io/v1alpha1, kind MeshFederation)")
    doc: dict[str, Any] = docs[0]

    if _stdin_has_resources():
        return fail("MeshFederation is a generator: list it under `generators:` in "
                    "kustomization.yaml, not under `transformers:` (it would drop every other "
                    "resource)")

    source = _source_name(doc, config_root)
    try:
        from .api import render_document

        result = render_document(krm.strip_bookkeeping(doc), source=source, base_dir=config_root,
                                 root=krm.explicit_root())
    except Exception as exc:
        diags = getattr(exc, "diagnostics", None)
        if not diags:
            return fail(f"{source}: {type(exc).__name__}: {exc}")
        for d in diags:
            print(str(d), file=stderr)
        return EXIT_INVALID

    for d in result.diagnostics:
        print(str(d), file=stderr)
    if not result.ok:
        return EXIT_INVALID
    if result.objects:
        from .output import dump_yaml

        stdout.write(dump_yaml(list(result.objects)))
        stdout.flush()
    return EXIT_OK


def _source_name(doc: dict[str, Any], config_root: Path) -> str:
    """The file in the kustomization dir that holds this MeshFederation, for messages.

    kustomize hands over a re-serialised temp copy, so look for a document with the same name and
    namespace directly in the kustomization directory; fall back to `MeshFederation/<name>`."""
    from . import krm

    ref = krm.resource_ref(doc)
    want = (ref.get("name"), ref.get("namespace"))
    hits = []
    try:
        candidates = sorted(p for p in config_root.iterdir()
                            if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
    except OSError:
        candidates = []
    for path in candidates:
        try:
            text = path.read_text(encoding="utf-8-sig")
            if "MeshFederation" not in text:
                continue
            docs = krm.load_all(text)
        except Exception:
            continue
        for d in docs:
            if krm.is_meshfederation(d):
                r = krm.resource_ref(d)
                if (r.get("name"), r.get("namespace")) == want:
                    hits.append(path.name)
    if len(set(hits)) == 1:
        return hits[0]
    return f"MeshFederation/{ref.get('name') or '(unnamed)'}"


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


def main() -> None:  # `python -m meshfed.execplugin CONFIG`
    if len(sys.argv) < 2:
        print(f"usage: {PROG} CONFIG", file=sys.stderr)
        sys.exit(2)
    sys.exit(run(sys.argv[1], sys.stdout, sys.stderr))


if __name__ == "__main__":
    main()
