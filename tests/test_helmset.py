"""meshfed.values.helmset against the pinned helm: every rule of --set, --set-string, --set-file, --set-json
and --set-literal is run through `helm template` on a tiny chart that prints its .Values, and
`apply` must give the same values (or fail where helm fails)."""
from __future__ import annotations

import base64
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshfed.values.diagnostics import InputError
from meshfed.values.helmset import KINDS, Assignment, apply, typed_value
from meshfed.values.yamlio import merge_maps

from support import helm_executable



HELM = helm_executable()
needs_helm = pytest.mark.skipif(HELM is None, reason="helm not found (HELM or .tools/bin/helm)")


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A chart `t` printing .Values as base64 JSON, plus files for --set-file."""
    root = tmp_path_factory.mktemp("helmset")
    (root / "t" / "templates").mkdir(parents=True)
    (root / "t" / "Chart.yaml").write_text("apiVersion: v2\nname: t\nversion: 0.1.0\n")
    (root / "t" / "templates" / "values.yaml").write_text("v: {{ toJson .Values | b64enc }}\n")
    (root / "one.txt").write_text("first line\nsecond: line\n")
    (root / "two.txt").write_text("true")
    (root / "comma,name.txt").write_text("x")
    (root / "dir").mkdir()
    return root


def run_helm(work: Path, files: list[dict], flags: list[Assignment]) -> dict | None:
    """helm's .Values for these -f files (JSON, which is YAML) and flags; None when helm fails."""
    args = [str(HELM), "template", "r", str(work / "t")]
    for n, data in enumerate(files):
        path = work / f"values-{os.getpid()}-{id(files)}-{n}.yaml"
        path.write_text(json.dumps(data))
        args += ["-f", str(path)]
    for flag in flags:
        args += [f"--{flag.kind}", flag.expression]
    proc = subprocess.run(args, cwd=work, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        return None
    line = next(x for x in proc.stdout.splitlines() if x.startswith("v: "))
    return json.loads(base64.b64decode(line[3:]))


UNCLOSED = "refused: an unclosed index"  # what helm silently drops, meshfed refuses


def run_ours(files: list[dict], flags: list[Assignment]) -> dict | str | None:
    base: dict = {}
    for data in files:
        base = merge_maps(base, data)
    try:
        return apply(base, flags)
    except InputError as exc:
        return UNCLOSED if "unclosed index" in str(exc) else None


def agree(want: dict | None, got: dict | str | None) -> bool:
    """meshfed's values are helm's, or both fail; or meshfed refused an unclosed index, which helm
    silently drops (meshfed's one deliberate deviation) or fails on later in the flags."""
    if got == UNCLOSED:
        return True
    return (want is None) == (got is None) and (want is None or norm(want) == norm(got))


def norm(v):
    """Helm's numbers are float64 or int64, JSON cannot tell them apart: compare as floats."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, list):
        return [norm(x) for x in v]
    return {k: norm(x) for k, x in v.items()}


def S(*exprs: str, kind: str = "set") -> list[Assignment]:
    return [Assignment(kind, e) for e in exprs]


FILE = {"x": {"a": 1, "b": [1, 2, 3], "s": "str"}, "m": None, "d": {"k": 1}, "l": [{"p": 1}, 5]}

# (name, values files, flags); every case is compared with helm
CASES = [
    # paths, nesting, merging into the files' values
    ("dotted", [], S("a.b.c=1")),
    ("into file map", [FILE], S("x.c=2,d.k=3")),
    ("several flags", [FILE], S("a=1", "a=2", "b.c=x")),
    ("list index", [], S("a[0]=x")),
    ("list index nested map", [], S("a.b[0].c=1,a.b[0].d=2")),
    ("list grows with nulls", [], S("a[3]=x")),
    ("list item of file list", [FILE], S("x.b[1]=9")),
    ("list grows file list", [FILE], S("x.b[5]=9")),
    ("map in file list", [FILE], S("l[0].q=2")),
    ("scalar item becomes map", [FILE], S("l[1].q=2")),
    ("list of lists", [], S("a[1][2]=x,a[0][0]=y")),
    ("list in list grows", [], S("a[0][1].b=1")),
    ("max index", [], S("a[65536]=1")),
    ("index too big", [], S("a[65537]=1")),
    ("index too big nested", [], S("a[65537][0]=1")),
    ("negative index", [], S("a[-1]=1")),
    ("negative nested index", [], S("a[0][-1]=1")),
    ("index not a number", [], S("a[x]=1")),
    ("index with plus", [], S("a[+1]=1")),
    ("index leading zeros", [], S("a[007]=1")),
    ("index empty", [], S("a[]=1")),
    ("index out of int64", [], S("a[99999999999999999999]=1")),
    ("unclosed index refused", [], S("b=1,a[1")),
    ("unclosed nested index refused", [], S("a[0][1")),
    ("unclosed index alone refused", [], S("global.remote[0")),
    ("index without value", [], S("a[0]")),
    ("index without value keeps list", [FILE], S("x.b[7]")),
    ("data after index", [], S("a[0]x=1")),
    ("comma after index", [], S("a[0],b=1")),
    ("30 levels", [], S(".".join("k" * 31) + "=1")),
    ("31 levels", [], S(".".join("k" * 32) + "=1")),
    # escapes
    ("escaped dot", [], S(r"a\.b=1")),
    ("escaped comma", [], S(r"a=x\,y,b=2")),
    ("escaped equals", [], S(r"a\=b=c\=d")),
    ("escaped backslash", [], S(r"a=x\\y")),
    ("escaped bracket", [], S(r"a\[0]=1")),
    ("escaped anything", [], S(r"a=\n\t")),
    ("trailing backslash", [], S("a=x\\")),
    # assignments and lists
    ("comma separated", [], S("a=1,b=2,c.d=3")),
    ("trailing comma", [], S("a=1,")),
    ("double comma", [], S("a=1,,b=2")),
    ("list syntax", [], S("a={x,2,true,null}")),
    ("list then key", [], S("a={1,2}b=3,c[0]=x")),
    ("empty list syntax", [], S("a={}")),
    ("list in index", [], S("a[1]={x,y}")),
    ("unclosed list", [], S("a={1,2")),
    ("brace inside", [], S("a=x{y}")),
    ("empty value", [], S("a=")),
    ("empty value then nothing", [], S("a.b=")),
    ("empty value in list item map", [FILE], S("c[0].a=", "l[0].p=", "l[1].p=", "e[0][1].a=")),
    ("empty value in list item map, json", [], S("c[0].a=", kind="set-json")),
    ("empty value in list item map, literal", [], S("c[0].a=", kind="set-literal")),
    ("no equals", [], S("a")),
    ("no value after comma", [], S("a=1,b")),
    ("key ends with comma", [], S("a,b=1")),
    ("trailing dot ignored", [], S("b=1", "a.")),
    ("empty key map", [], S("a.=1")),
    ("empty key", [], S("=1")),
    ("leading dot", [], S(".a=1")),
    ("double dot", [], S("a..b=1")),
    ("empty flag", [], S("")),
    ("space in key and value", [], S(" a = b ")),
    # types
    ("bools", [], S("a=true,b=FALSE,c=True,d=falſe,e=yes")),
    ("null sets null", [FILE], S("x=null,y=NULL,d.k=null,z.q=null")),
    ("null then dotted", [FILE], S("m.a=1")),
    ("ints", [], S("a=0,b=-5,c=+3,d=9223372036854775807,e=9223372036854775808")),
    ("int64 lower bound", [], S("a=-9223372036854775808,b=-9223372036854775809")),
    ("not ints", [], S("a=007,b=-05,c=1_0,d=1.5,e=0x10,f=1e3,g=00,h=-0,i=-")),
    ("5,000 digits are a string", [], S("a=" + "1" * 5000 + ",b=-" + "9" * 5000)),
    ("5,000-digit index", [], S("a[" + "1" * 5000 + "]=1")),
    ("index with 30 leading zeros", [], S("a[" + "0" * 30 + "1]=1")),
    ("json 5,000 digits", [], S("a=" + "1" * 5000, kind="set-json")),
    ("dotted into scalar", [FILE], S("x.a.c=1")),
    ("dotted into list", [FILE], S("x.b.c=1")),
    ("index into map", [FILE], S("x[0]=1")),
    ("index into scalar", [FILE], S("x.a[0]=1")),
    ("nested index into scalar", [FILE], S("x.b[2][0]=1")),
    ("set-string", [FILE], S("a=true,b=1,c=null,d={1,2},x.s=0", kind="set-string")),
    ("set-literal", [], S("a.b=x,y={z}\\n", "c[1]=a=b", kind="set-literal")),
    ("set-literal no value", [], S("a", kind="set-literal")),
    # --set-json
    ("json values", [], S('a=1,b="s",c=[1,{"d":null}],e={"f":true}', kind="set-json")),
    ("json spaces", [], S('a=1 b=2 , c= 3', kind="set-json")),
    ("json empty is null", [FILE], S("x=,d.k=", kind="set-json")),
    ("json into index", [], S('a[2]={"b":1}', kind="set-json")),
    ("json number then key", [], S("a=1x=2", kind="set-json")),
    ("json float", [], S("a=1.5,b=-0,c=1e3,d=12345678901234567890", kind="set-json")),
    ("json bad number", [], S("a=1.", kind="set-json")),
    ("json bad exponent", [], S("a=1e+", kind="set-json")),
    ("json huge number", [], S("a=1e400", kind="set-json")),
    ("json leading zero", [], S("a=01", kind="set-json")),
    ("json bad literal", [], S("a=tru", kind="set-json")),
    ("json bare word", [], S("a=abc", kind="set-json")),
    ("json nan", [], S("a=NaN", kind="set-json")),
    ("json unclosed", [], S('a={"b":1', kind="set-json")),
    ("json string escapes", [], S(r'a="x\u00e9\n\"",b="\ud800"', kind="set-json")),
    ("json bad escape", [], S(r'a="\x"', kind="set-json")),
    ("json object merges", [FILE], S('{"x": {"c": 2}, "q": null}', kind="set-json")),
    ("json object with spaces", [FILE], S('  {"x": 1}  ', kind="set-json")),
    ("json only spaces", [], S(" \t ", kind="set-json")),
    ("json object trailing data", [], S('{"x": 1} y', kind="set-json")),
    ("json object invalid", [], S('{x: 1}', kind="set-json")),
    ("json object replaces scalar", [FILE], S('{"x": {"a": {"b": 1}}}', kind="set-json")),
    ("json no equals", [], S("a", kind="set-json")),
    # order: by kind, not by command line position
    ("order", [], [Assignment("set-string", "a=s"), Assignment("set", "a=1,b=1"), Assignment("set-json", "a=2,b=2")]),
    ("order literal last", [], [Assignment("set-literal", "a=l"), Assignment("set-string", "a=s")]),
    ("order json object first", [], [Assignment("set", "a.b=1"), Assignment("set-json", '{"a": 5}')]),
    ("several files", [FILE, {"x": {"a": 2, "b": None}}], S("x.c=3")),
]


@needs_helm
def test_agrees_with_helm(work: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(work)
    with ThreadPoolExecutor(4) as pool:
        helm = list(pool.map(lambda c: run_helm(work, c[1], c[2]), CASES))
    wrong = []
    for (name, files, flags), want in zip(CASES, helm):
        got = run_ours(files, flags)
        refused = name.endswith("refused")
        if not agree(want, got) or (got == UNCLOSED) != refused or (refused and want is None):
            wrong.append(f"{name}: {[tuple(f) for f in flags]}\n  helm: {want}\n  ours: {got}")
    assert not wrong, "\n".join(wrong)


FILE_CASES = [
    ("file", S("a=one.txt", kind="set-file")),
    ("file is a string", S("a.b=two.txt,c[1]=one.txt", kind="set-file")),
    ("file list", S("a={one.txt,two.txt}", kind="set-file")),
    ("escaped comma in name", S(r"a=comma\,name.txt", kind="set-file")),
    ("missing file", S("a=nope.txt", kind="set-file")),
    ("directory", S("a=dir", kind="set-file")),
    ("empty name", S("a=", kind="set-file")),
    ("empty list", S("a={}", kind="set-file")),
    ("bad url escape", S("a=one%zz.txt", kind="set-file")),
    ("colon in first segment", S("a=_x:one.txt", kind="set-file")),
    ("missing scheme", S("a=:one.txt", kind="set-file")),
    ("order", [Assignment("set-file", "a=two.txt"), Assignment("set", "a=1,b=2")]),
]


@needs_helm
@pytest.mark.parametrize("name,flags", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_set_file_agrees_with_helm(work: Path, monkeypatch: pytest.MonkeyPatch, name, flags):
    monkeypatch.chdir(work)
    want, got = run_helm(work, [], flags), run_ours([], flags)
    assert agree(want, got), (want, got)


def test_set_file_absolute_path_and_unsupported_sources(work: Path):
    assert apply({}, S(f"a={work / 'two.txt'}", kind="set-file")) == {"a": "true"}
    for expr in ("a=-", "a=https://example.com/x", "a=oci://r/x"):
        with pytest.raises(InputError, match="not supported"):
            apply({}, S(expr, kind="set-file"))


def test_a_bad_escape_in_a_file_url_path_is_refused_as_url_parse_does():
    """`file:///a%zz`: the authority is empty and the path `/a%zz` holds a bad escape."""
    with pytest.raises(InputError, match=r"not a valid file name \(invalid URL escape\)"):
        apply({}, S("a=file:///a%zz", kind="set-file"))


@pytest.mark.parametrize("name", ["//h%zz/x", "//u%zz@h/x", "//h%41/x"])
def test_a_bad_escape_in_the_authority_is_refused_as_helm_refuses_it(name):
    """The pinned helm: `parse "//h%41/x": invalid URL escape "%41"` (a host may escape only
    non-ASCII bytes), and a bad escape in the user info or host; the file is never read."""
    with pytest.raises(InputError, match=r"not a valid file name \(invalid URL escape\)"):
        apply({}, S(f"a={name}", kind="set-file"))


def test_a_good_authority_is_a_file_name():
    """`//h/x` is read as the file name helm opens (`open //h/x: no such file`)."""
    with pytest.raises(InputError, match="no such file"):
        apply({}, S("a=//h/x", kind="set-file"))


def test_an_unclosed_index_is_refused_naming_the_flag():
    with pytest.raises(InputError) as exc:
        apply({"global": {"remote": [1]}}, S("global.remote[0"))
    assert str(exc.value).startswith("--set 'global.remote[0': unclosed index '[0'")


def test_errors_name_the_flag_and_expression():
    with pytest.raises(InputError) as exc:
        apply({}, [Assignment("set", "a=1"), Assignment("set", "x[-1]=2")])
    assert "--set 'x[-1]=2'" in str(exc.value) and "negative -1 index" in str(exc.value)
    with pytest.raises(InputError, match="--set-file 'a=nope': nope: no such file"):
        apply({}, S("a=nope", kind="set-file"))
    with pytest.raises(ValueError):
        apply({}, [Assignment("set-bogus", "a=1")])


def test_input_is_not_modified_and_not_shared():
    shared = [1]
    values = {"a": {"b": shared}, "c": shared}
    out = apply(values, S("a.b[0]=2,a.d=1"))
    assert values == {"a": {"b": [1]}, "c": [1]} and out == {"a": {"b": [2], "d": 1}, "c": [1]}


def test_typed_value():
    assert [typed_value(v) for v in ("TRUE", "fAlse", "Null", "0", "10", "010", "x")] == [
        True, False, None, 0, 10, "010", "x"]
    assert KINDS[0] == "set-json" and KINDS[-1] == "set-literal"


# random flags, made of the characters that matter to the parser, against helm
TOKENS = ["a", "b", "c", ".", "[", "]", "0", "1", "2", "-1", "=", ",", "\\", "{", "}", " ", "true", "null", '"q"', "07"]
raw = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=10).map("".join)
name = st.sampled_from(["a", "b", "c", "d", r"a\.b", "B"])
step = st.one_of(name.map(lambda n: "." + n), st.sampled_from(["0", "1", "3"]).map(lambda i: f"[{i}]"))
path = st.builds(lambda n, steps: n + "".join(steps), name, st.lists(step, max_size=3))
value = st.lists(st.sampled_from(TOKENS[:3] + TOKENS[6:9] + TOKENS[13:]), max_size=3).map("".join)
assignment = st.builds(lambda p, v: f"{p}={v}", path, value)
structured = st.lists(assignment, min_size=1, max_size=3).map(",".join)
expression = st.one_of(raw, structured, structured, structured)
flag = st.builds(Assignment, st.sampled_from(["set", "set", "set-string", "set-json", "set-literal"]), expression, st.none())


@needs_helm
@settings(max_examples=int(os.environ.get("HELMSET_EXAMPLES", "150")), deadline=None, derandomize=not os.environ.get("HELMSET_EXAMPLES"))
@given(st.lists(flag, min_size=1, max_size=4))
def test_random_flags_agree_with_helm(work, flags):
    base = {"a": {"b": [1, {"c": 2}], "c": "s"}, "b": None}
    want, got = run_helm(work, [base], flags), run_ours([base], flags)
    assert agree(want, got), (flags, want, got)


def test_an_argocd_map_entry_is_one_key_and_one_value():
    """Argo CD escapes the commas of its Helm parameters (a list `{a,b}` aside); what would still
    make a second assignment is an error naming the parameter and the key, never applied."""
    from meshfed.routes.argocd import _assignments
    def one(key: str, value: str) -> dict:
        return apply({}, _assignments({key: value}))
    assert one("a", "x,b=1") == {"a": "x,b=1"}
    assert one("a", r"x\,b=1") == {"a": "x,b=1"}  # already escaped: as Argo CD leaves it
    assert one("a.b[1]", "8080") == {"a": {"b": [None, 8080]}}
    assert one("a", "{x,y}") == {"a": ["x", "y"]}
    for key, value in [("a", "x\\\\,b=1"), ("a", "{x},b=1}"), ("a=x,b", "1")]:
        with pytest.raises(InputError) as exc:
            one(key, value)
        [d] = exc.value.diagnostics
        assert (d.file, d.path) == ("parameter values", key) and d.message.startswith("more than one assignment")


def test_set_file_content_never_shows_in_a_message(tmp_path):
    """Whatever field a --set-file value lands in, its text is concealed: on the fast command line
    (render) and on typer's (validate)."""
    import sys
    (tmp_path / "secret.env").write_text("TOKEN=hunter2-very-secret\nHOME=/root\n")
    doc = tmp_path / "mesh.yaml"
    doc.write_text("apiVersion: meshfed.io/v1alpha1\nkind: MeshFederation\nmetadata: {name: m}\n"
                   "spec: {scope: mesh, layout: v2}\n")
    meshfed = str(Path(sys.executable).with_name("meshfed"))
    for field in ("global", "global.configNamespace", "global.remote", "global.remote[0].mesh",
                  "global.defaultServicePorts[0].number", "import[0].hostname"):
        for command in ("render", "validate"):
            run = subprocess.run([meshfed, command, "mesh.yaml", "--set-file", f"{field}=secret.env"],
                                 cwd=tmp_path, capture_output=True, text=True, timeout=60)
            assert run.returncode == 1 and run.stdout == "", (field, command)
            assert "hunter2" not in run.stderr and "<the text of secret.env>" in run.stderr, (field, run.stderr)


def test_an_integer_of_5000_digits_is_helms_string_not_an_internal_error(tmp_path):
    import sys
    doc = tmp_path / "mesh.yaml"
    doc.write_text("apiVersion: meshfed.io/v1alpha1\nkind: MeshFederation\nmetadata: {name: m}\n"
                   "spec: {scope: mesh, layout: v2}\n")
    meshfed = str(Path(sys.executable).with_name("meshfed"))
    digits = "1" * 5000
    for flag, message in [(f"global.defaultServicePorts[0].number={digits}",
                           "--set: global.defaultServicePorts[0].number: must be an integer, got a string"),
                          (f"global.remote[{digits}].mesh=a", "--set 'global.remote[1111"),
                          ]:
        run = subprocess.run([meshfed, "render", "mesh.yaml", "--set", flag], cwd=tmp_path, capture_output=True,
                             text=True, timeout=60)
        assert run.returncode == 1 and run.stdout == "" and "internal error" not in run.stderr
        assert run.stderr.startswith(message), run.stderr
