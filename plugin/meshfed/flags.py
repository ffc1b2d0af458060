"""The options of `meshfed render` and `validate`, declared once.

Two parsers read this table: the typer app (`meshfed.cli`, help texts and usage errors) and the
fast path (`meshfed.fastcli`, which parses the invocations Argo CD and kustomize make without
importing typer). A flag added here exists in both, with the same names, values and meaning.
"""
from __future__ import annotations


from .options import FORMATS, LAYOUTS, SCOPES

# Helm's value flags, in the order helm applies their kinds.
SET_KINDS = ("set-json", "set", "set-string", "set-file", "set-literal")


class Flag:
    """One option of `meshfed render`, as both parsers declare it."""

    __slots__ = ("dest", "names", "help", "metavar", "takes_value", "repeat", "choices")

    def __init__(self, dest: str, names: tuple[str, ...], help: str, metavar: str | None = None,
                 takes_value: bool = True, repeat: bool = False, choices: tuple[str, ...] = ()) -> None:
        self.dest = dest  # the parameter name of the typer command, the key on the fast path
        self.names = names
        self.help = help
        self.metavar = metavar
        self.takes_value = takes_value  # False: a switch
        self.repeat = repeat  # may be given several times; every value is kept, in order
        self.choices = choices


RENDER: tuple[Flag, ...] = (
    Flag("values", ("-f", "--values"),
         "Plain Helm values file, merged in order after the documents' own values (like `helm template -f`; "
         "`-` reads standard input). Repeatable. Without FILEs, the values files are the whole input.",
         "VALUES", repeat=True),
    Flag("scope", ("--scope",),
         "Tier to render: mesh (mesh-admin), namespace (namespace-admin) or all. Default: the document's "
         "spec.scope, else namespace when import/export is non-empty, else mesh.", choices=SCOPES),
    Flag("namespace", ("--namespace", "-n"),
         "Target namespace (Helm's --namespace). Default: the document's metadata.namespace. The mesh tier "
         "falls back to global.configNamespace; namespace-tier objects with no namespace carry none (Argo CD "
         "and kustomize set it)."),
    Flag("layout", ("--layout",),
         "Chart generation of the values: v1 (seed README) or v2 (current). Default: the document's "
         "spec.layout, else inferred from the keys used.", choices=LAYOUTS),
    Flag("output", ("-o", "--output"), "Output format: a YAML stream, or a JSON List.", choices=FORMATS),
    Flag("root", ("--root",),
         "Directory that `base` paths may not leave. Default: $MESHFED_ROOT, else the git work tree holding "
         "the working directory, else the working directory."),
    Flag("allow_empty", ("--allow-empty",),
         "Accept a render that yields no resources (else an error: with Argo CD's auto-sync and prune, an "
         "empty render deletes the application's objects). The document field spec.allowEmpty: true says "
         "the same.", takes_value=False),
    Flag("set_", ("--set",),
         "Set values as helm does, after the -f files: `a.b[0].c=v`, several comma-separated, `\\.` and `\\,` "
         "escaped; true/false/ints/null typed (null removes the key). Repeatable.", "PATH=VALUE", repeat=True),
    Flag("set_string", ("--set-string",), "Like --set, the values always strings.", "PATH=VALUE", repeat=True),
    Flag("set_file", ("--set-file",), "Like --set, the value the text of FILE.", "PATH=FILE", repeat=True),
    Flag("set_json", ("--set-json",), "Like --set, the value a JSON value.", "PATH=JSON", repeat=True),
    Flag("set_literal", ("--set-literal",), "Like --set-string, everything after the first = taken as it is.",
         "PATH=VALUE", repeat=True),
)

BY_DEST = {flag.dest: flag for flag in RENDER}
BY_NAME = {name: flag for flag in RENDER for name in flag.names}


def set_kind(dest: str) -> str | None:
    """The helm flag kind (`set-string`...) of a destination, None for other options."""
    kind = dest.rstrip("_").replace("_", "-")
    return kind if kind in SET_KINDS else None
