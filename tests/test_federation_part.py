"""The part of a Federation each application reads (`federation-part.yaml`, `spec.federation.part`):
derived from the part, every mesh's layers are those derived from the whole Federation (data,
the Federation fields they came from, the file named); a render with the part is byte for byte
one without it; a part edited by hand, of another kind, failing its schema, for another mesh or
missing is refused on every route; one the Federation has moved away from is an error of
`meshfed check`; a part's bases stay below the root as every base does."""
from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import MESHFED, REPO
from meshfed.api import Document, render
from meshfed.federation.scaffold import scaffold
from meshfed.output.serialize import dump_yaml
from meshfed.values import federation_part
from meshfed.values.meshfederation import Resolver
from meshfed.values.yamlio import parse_all
from test_authorization import federations as authorization_federations
from test_failover import federations as failover_federations
from test_guards import application, assert_refused, assert_rendered, every_route

EXAMPLE = REPO / "tests" / "cases" / "fed-derive"  # a Federation with a base, three meshes


def _layers(layers: list[Any]) -> list[tuple[Any, ...]]:
    return [(layer.name, layer.prefix, layer.via, layer.data, getattr(layer, "fields", None)) for layer in layers]


def _part_spec(directory: Path, spec: Any, mesh: Any) -> Any:
    """The FederationSpec read from `mesh`'s part as the scaffold writes it (through the writer)."""
    app = directory / "apps" / mesh.name / "app"
    app.mkdir(parents=True, exist_ok=True)
    (app / federation_part.FILE).write_text(dump_yaml([federation_part.build(spec, mesh)]), "utf-8")
    part, _ = Resolver(directory).federation_part(str(app / federation_part.FILE),
                                                  str(directory / "federation.yaml"), mesh.name, "doc.yaml")
    return part


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(fed=st.one_of(failover_federations(), authorization_federations()))
def test_the_part_derives_what_the_whole_federation_derives(tmp_path: Path, fed: dict[str, Any]) -> None:
    directory = Path(tempfile.mkdtemp(dir=tmp_path)).resolve()
    (directory / "federation.yaml").write_text(dump_yaml([fed]), "utf-8")
    whole = Resolver(directory).federation_spec(str(directory / "federation.yaml"), "doc.yaml", "")
    assert not whole.diagnostics
    for mesh in whole.meshes:
        part = _part_spec(directory, whole, mesh)
        assert not part.diagnostics
        own = part.mesh(mesh.name)
        assert (own.index, part.source, part.file, part.layout) == (mesh.index, whole.source, whole.file, whole.layout)
        assert part.namespaces(mesh.name) == whole.namespaces(mesh.name)
        for namespace, lists in [(None, False), *((ns, True) for ns in whole.namespaces(mesh.name))]:
            assert _layers(part.layers_for(own, namespace, lists)) == _layers(whole.layers_for(mesh, namespace, lists))
    # The parts together grow with the Federation, not with meshes times the Federation.
    sizes = [len(dump_yaml([federation_part.build(whole, m)])) for m in whole.meshes]
    assert max(sizes) <= 2 * len(dump_yaml([fed])) + 2000


def test_a_part_holds_only_what_its_mesh_reads() -> None:
    """central imports details (west) and ratings (east, west): its part lists the three meshes,
    only central's values, and of each service the sides derivation asks about; east exports
    ratings only: its part is east alone, with east's export of ratings and no import."""
    resolver = Resolver(EXAMPLE)
    whole = resolver.federation_spec(str(EXAMPLE / "federation.yaml"), "doc.yaml", "")
    central = federation_part.build(whole, whole.mesh("central-mesh"))
    assert central["part"] == {"mesh": "central-mesh", "meshes": [0, 1, 2], "services": [
        {"at": 0, "exports": [0], "imports": [0]}, {"at": 1, "exports": [0, 1], "imports": [0]}]}
    # central's own entry without its gateway; the others without their values and aliases.
    assert [sorted(m) for m in central["spec"]["meshes"]] == [
        sorted(set(whole.raw["meshes"][0]) - {"gateway"}), *(sorted(set(m) - {"values", "trustDomainAliases"})
                                                             for m in whole.raw["meshes"][1:])]
    east = federation_part.build(whole, whole.mesh("east-mesh"))
    assert east["part"] == {"mesh": "east-mesh", "meshes": [1], "services": [{"at": 1, "exports": [0], "imports": []}]}
    assert [m["name"] for m in east["spec"]["meshes"]] == ["east-mesh"]
    assert "imports" not in east["spec"]["services"][0]



def test_a_part_reads_where_a_cluster_is_named_after_another_mesh(tmp_path: Path) -> None:
    """central's cluster is called west-mesh, the name of a mesh it imports from (whose own
    cluster is west): the part keeps west's cluster, else it would default to west-mesh and the
    part would refuse two meshes in one cluster that the Federation does not have."""
    fed = yaml.safe_load((EXAMPLE / "federation.yaml").read_text())
    central = next(m for m in fed["spec"]["meshes"] if m["name"] == "central-mesh")
    central["cluster"] = "west-mesh"
    shutil.copytree(EXAMPLE, tmp_path / "repo")
    directory = (tmp_path / "repo").resolve()
    (directory / "federation.yaml").write_text(dump_yaml([fed]), "utf-8")
    whole = Resolver(directory).federation_spec(str(directory / "federation.yaml"), "doc.yaml", "")
    assert not whole.diagnostics
    mesh = whole.mesh("central-mesh")
    part = _part_spec(directory, whole, mesh)
    assert not part.diagnostics, [str(d) for d in part.diagnostics]
    assert [m.cluster for m in part.meshes] == ["west-mesh", "east", "west"]
    for namespace, lists in [(None, False), *((ns, True) for ns in whole.namespaces(mesh.name))]:
        assert (_layers(part.layers_for(part.mesh(mesh.name), namespace, lists))
                == _layers(whole.layers_for(mesh, namespace, lists)))

# --- the example repository, scaffolded: byte for byte, and through every route ----------------------


def _scaffolded(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "overlays", repo / "overlays")
    (repo / ".git").mkdir()
    scaffold(repo / "overlays" / "federation.yaml", repo / "overlays", repo)
    return repo


def _cli(repo: Path, *args: str) -> tuple[int, str, str]:
    run = subprocess.run([str(MESHFED), *args], cwd=repo, capture_output=True, text=True, timeout=120)
    return run.returncode, run.stdout, run.stderr


@pytest.mark.parametrize("case", ["overlays", "fed-failover-second-rule"])
def test_a_render_with_the_part_is_the_render_without_it(tmp_path: Path, case: str) -> None:
    """Every application, rendered from its part and (the line naming it removed) from the whole
    Federation: the same stdout, stderr and exit code."""
    with_part = tmp_path / "with"
    if case == "overlays":
        shutil.copytree(REPO / "overlays", with_part / "overlays")
        apps = sorted(p.parent for p in (with_part / "overlays").glob("*/*/federation-part.yaml"))
    else:
        shutil.copytree(REPO / "tests" / "cases" / case, with_part)
        apps = sorted(p.parent for p in (with_part / "clusters").glob("*/*/federation-part.yaml"))
    (with_part / ".git").mkdir()
    without = tmp_path / "without"
    shutil.copytree(with_part, without)
    for doc in without.rglob("*.yaml"):
        doc.write_text(doc.read_text().replace("    part: federation-part.yaml\n", ""))
        if doc.name == federation_part.FILE:
            doc.unlink()
    assert len(apps) >= 5
    for app in apps:
        rel = str(app.relative_to(with_part))
        assert _cli(with_part, "render", rel) == _cli(without, "render", rel), rel


def test_a_render_with_a_part_never_opens_the_federation(tmp_path: Path) -> None:
    repo = _scaffolded(tmp_path)
    (repo / "overlays" / "federation.yaml").write_text("not: [a federation\n")
    code, out, err = _cli(repo, "render", "overlays/central/bookinfo")
    assert (code, err) == (0, "") and "kind: ServiceEntry" in out


# --- refused on every route -------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """central's bookinfo application, its document `doc.yaml`, beside the Federation's directory."""
    app = application(tmp_path, monkeypatch)
    shutil.copy(EXAMPLE / "federation.yaml", tmp_path)
    shutil.copytree(EXAMPLE / "base", tmp_path / "base")
    out = tmp_path / "scaffolded"
    scaffold(tmp_path / "federation.yaml", out, tmp_path)
    doc = (out / "central" / "bookinfo" / "bookinfo.yaml").read_text()
    (app / "doc.yaml").write_text(doc.replace("path: ../../../federation.yaml", "path: ../federation.yaml"))
    shutil.copy(out / "central" / "bookinfo" / federation_part.FILE, app)
    return app


def _edit(app: Path, change: Any) -> None:
    """The part's document changed by `change(doc)`, written back with its digest kept."""
    doc = yaml.safe_load((app / federation_part.FILE).read_text())
    change(doc)
    (app / federation_part.FILE).write_text(yaml.safe_dump(doc, sort_keys=False))


def _forged(app: Path, change: Any) -> None:
    """The part's document changed by `change(doc)`, with the digest of what it now holds."""
    def forge(doc: dict[str, Any]) -> None:
        change(doc)
        doc["metadata"]["annotations"][federation_part.DIGEST] = federation_part.digest(doc["part"], doc["spec"])
    _edit(app, forge)


def test_the_part_renders_on_every_route(app: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert_rendered(every_route(app, monkeypatch, capsys))


def test_a_part_edited_by_hand_is_refused_on_every_route(app: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    _edit(app, lambda doc: doc["spec"]["meshes"][1]["gateway"].update(port=15444))
    _refused(every_route(app, monkeypatch, capsys), 'metadata.annotations["meshfed.io/digest"]',
             "the part does not match its digest: edited by hand? run `meshfed federation scaffold ../federation.yaml "
             "--out ")


def _refused(runs: dict[str, Any], field: str, message: str, file: str = federation_part.FILE) -> None:
    """Refused on every route; the routes that print messages as lines name the file and field."""
    assert_refused(runs, message)
    for route, (_, _, err) in runs.items():
        if route != "krm":
            assert f"{file}: {field}: {message}" in err, (route, err)


@pytest.mark.parametrize("text, message", [
    ("apiVersion: meshfed.io/v1alpha1\nkind: Federation\nspec: {}\n",
     "must hold one FederationPart document (kind: FederationPart): edited by hand?"),
    ("kind: FederationPart\n", "required: edited by hand?"),
    ("kind: [FederationPart\n", "invalid YAML"),
])
def test_a_part_that_is_none_is_refused_on_every_route(app: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str], text: str,
                                                       message: str) -> None:
    (app / federation_part.FILE).write_text(text)
    runs = every_route(app, monkeypatch, capsys)
    assert_refused(runs, message)
    assert f"{federation_part.FILE}: " in runs["render"][2]


def test_a_missing_part_is_refused_on_every_route(app: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (app / federation_part.FILE).unlink()
    _refused(every_route(app, monkeypatch, capsys), "spec.federation.part", "part federation-part.yaml: no such file",
             "doc.yaml")


def test_a_part_failing_its_schema_or_for_another_mesh_is_refused(app: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _forged(app, lambda doc: doc["spec"]["meshes"][1]["gateway"].update(port="15443"))
    _refused(every_route(app, monkeypatch, capsys), "spec.meshes[1].gateway.port", "must be an integer")
    _forged(app, lambda doc: doc["spec"]["meshes"][1]["gateway"].update(port=15443))
    _forged(app, lambda doc: doc["part"].update(mesh="east-mesh"))
    _refused(every_route(app, monkeypatch, capsys), "part.mesh", "this part is for mesh east-mesh, not central-mesh")
    _forged(app, lambda doc: doc["part"].update(mesh="central-mesh", meshes=[0, 1]))
    _refused(every_route(app, monkeypatch, capsys), "part.meshes", "lists 2 positions for 3 entries")


def test_a_part_whose_bases_leave_the_root_is_refused_as_any_base_is(app: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Its bases are the Federation's: resolved against the Federation's directory, confined to the root."""
    outside = app.parent.parent / "outside.yaml"
    outside.write_text("global: {}\n")
    _forged(app, lambda doc: doc["spec"].update(base=["../outside.yaml"]))
    _refused(every_route(app, monkeypatch, capsys), "spec.base[0]", "base ../outside.yaml resolves outside the root",
             "federation.yaml")


# --- stale parts: meshfed check ---------------------------------------------------------------------


def test_check_reports_every_application_whose_part_is_stale(tmp_path: Path) -> None:
    repo = _scaffolded(tmp_path)
    federation = repo / "overlays" / "federation.yaml"
    federation.write_text(federation.read_text().replace("- 192.0.2.10\n", "- 192.0.2.12\n"))
    code, _, err = _cli(repo, "check", "overlays")
    assert code == 1
    stale = [line for line in err.splitlines() if "stale part" in line]
    # east's address: central's applications (which import from east) read it, east's own do not.
    assert stale == [f"overlays/{app}/federation-part.yaml: stale part of the application overlays/{app}/{doc}.yaml: "
                     "the Federation's spec.meshes[1].gateway.addresses[0] differs from this part; run `meshfed "
                     "federation scaffold overlays/federation.yaml --out overlays` to write it again"
                     for app, doc in [("central/bookinfo", "bookinfo"), ("central/mesh", "mesh")]]
    # Checked without the Federation among the paths: the documents name it.
    assert _cli(repo, "check", "overlays/central")[0] == 1
    assert _cli(repo, "check", "overlays/east")[0] == 0
    assert _cli(repo, "federation", "scaffold", "overlays/federation.yaml", "--out", "overlays")[0] == 0
    assert _cli(repo, "check", "overlays")[0] == 0


def test_a_part_of_a_mesh_the_federation_no_longer_has_is_stale(tmp_path: Path) -> None:
    repo = _scaffolded(tmp_path)
    federation = repo / "overlays" / "federation.yaml"
    federation.write_text(federation.read_text().replace("west-mesh", "far-mesh"))
    _, _, err = _cli(repo, "check", "overlays/west")
    assert ("overlays/west/mesh/federation-part.yaml: stale part of the application overlays/west/mesh/mesh.yaml: "
            "mesh west-mesh is no longer a mesh of the Federation") in err


def test_staleness_names_the_federation_field_that_differs() -> None:
    resolver = Resolver(EXAMPLE)
    whole = resolver.federation_spec(str(EXAMPLE / "federation.yaml"), "doc.yaml", "")
    found = federation_part.build(whole, whole.mesh("central-mesh"))
    assert federation_part.staleness(found, found) is None
    changed = yaml.safe_load(yaml.safe_dump(found))
    changed["spec"]["services"][1]["exports"][1]["labelSelector"] = {"app": "other"}
    changed["metadata"]["annotations"][federation_part.DIGEST] = "sha256:0"
    assert federation_part.staleness(found, changed) == ("the Federation's spec.services[1].exports[1].labelSelector.app "
                                                         "differs from this part")
    moved = yaml.safe_load(yaml.safe_dump(found))
    moved["part"]["meshes"] = [0, 1, 3]
    moved["metadata"]["annotations"][federation_part.DIGEST] = "sha256:0"
    assert federation_part.staleness(found, moved) == ("the Federation's spec.meshes that mesh central-mesh reads are "
                                                       "others now")


def test_the_digest_is_of_the_content_not_of_its_spelling() -> None:
    text = "part: {mesh: a, meshes: [0], services: []}\nspec: {layout: v2, meshes: [{name: a, network: n}]}\n"
    respelled = "spec:\n  meshes:\n  - network: n\n    name: a\n  layout: v2\npart: {services: [], meshes: [0], mesh: a}\n"
    digests = [federation_part.digest(d["part"], d["spec"]) for d in (parse_all(t, "x")[0] for t in (text, respelled))]
    assert digests[0] == digests[1]
    assert federation_part.digest({"a": 1}, {}) != federation_part.digest({"a": 1.0}, {}) != \
        federation_part.digest({"a": "1"}, {})


def test_documents_without_a_part_read_the_whole_federation(tmp_path: Path) -> None:
    """Backward compatible: `spec.federation` without `part` derives from the Federation as before."""
    with contextlib.chdir(EXAMPLE):
        doc = yaml.safe_load((EXAMPLE / "clusters" / "central" / "bookinfo" / "bookinfo.yaml").read_text())
        del doc["spec"]["federation"]["part"]
        result = render(documents=[Document(doc, "doc.yaml", EXAMPLE / "clusters" / "central" / "bookinfo")],
                        root=EXAMPLE)
    assert result.ok and result.objects


def test_the_krm_function_keeps_a_part_among_its_items_from_the_cluster(app: Path, monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """kpt hands the function every resource of the package, the parts too: one that lost its
    local-config annotation is marked again, as a Federation is, so no cluster receives it."""
    import io

    from test_guards import command_line, krm_items
    part = yaml.safe_load((app / federation_part.FILE).read_text())
    del part["metadata"]["annotations"][federation_part.LOCAL_CONFIG]
    items = [yaml.safe_load((app / "doc.yaml").read_text()), part]
    stream = yaml.safe_dump({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": items})
    code, out, err = command_line(["krm"], monkeypatch, capsys, io.BytesIO(stream.encode()))
    assert code == 0, err
    generated, _ = krm_items(out)
    assert generated
    [wrapper] = [d for d in yaml.safe_load_all(out) if d is not None]
    [kept] = [i for i in wrapper["items"] if i["kind"] == federation_part.KIND]
    assert kept["metadata"]["annotations"][federation_part.LOCAL_CONFIG] == "true"


def test_only_a_lone_part_is_skipped_unparsed(app: Path) -> None:
    """The searches for documents skip a file that is one FederationPart without parsing it, never
    one that may hold another document too."""
    text = (app / federation_part.FILE).read_text()
    assert federation_part.is_part_text(text)
    doc = (app / "doc.yaml").read_text()
    assert not federation_part.is_part_text(text + "---\n" + doc)
    assert not federation_part.is_part_text(text + "...\n" + doc)
    assert not federation_part.is_part_text("---\n" + text)
    assert federation_part.is_part_text(text + "# --- and ... inside a line start no document\n")
    assert not federation_part.is_part_text(text.replace("kind: FederationPart", "kind: MeshFederation"))
    assert not federation_part.is_part_text(doc)


def test_a_repository_of_parts_knows_every_mesh_locality(tmp_path: Path) -> None:
    """Each document derives from its own mesh's part, which lists only some meshes: the
    repository still answers every mesh's locality as the Federation says it (failover's nearest
    orders by it), also for a mesh whose part names it nowhere but its own."""
    from meshfed.federation import load_repo

    repo = _scaffolded(tmp_path)
    fed = yaml.safe_load((repo / "overlays" / "federation.yaml").read_text())
    loaded = load_repo([repo / "overlays"], repo)
    assert {m["name"]: loaded.locality(m["name"]) for m in fed["spec"]["meshes"]} == {
        m["name"]: m.get("locality") for m in fed["spec"]["meshes"]}
    assert loaded.locality("no-such-mesh") is None


def _ring(meshes: int) -> dict[str, Any]:
    """A Federation of `meshes` meshes, each exporting one service that the next two import."""
    names = [f"m{i}" for i in range(meshes)]
    return {"apiVersion": "meshfed.io/v1alpha1", "kind": "Federation", "metadata": {"name": "ring"},
            "spec": {"layout": "v2",
                     "values": {"global": {"gateways": {"ingress": {"selector": {"istio": "eastwestgateway"}}}}},
                     "meshes": [{"name": m, "network": f"n{i}", "cluster": f"c{i}", "locality": f"r{i % 3}",
                                 "gateway": {"addresses": [f"192.0.2.{i + 1}"], "port": 15443}}
                                for i, m in enumerate(names)],
                     "services": [{"hostname": f"s{i}.global", "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}],
                                   "exports": [{"mesh": m, "namespace": "app", "labelSelector": {"app": f"s{i}"}}],
                                   "imports": [{"mesh": names[(i + d) % meshes], "namespace": "app"} for d in (1, 2)]}
                                  for i, m in enumerate(names)]}}


@pytest.mark.parametrize("view", ["graph", "check"])
def test_a_load_holds_one_part_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, view: str) -> None:
    """The views of a whole repository (`meshfed graph` and `meshfed diff`, `meshfed check`)
    render each document as soon as it is read and let its part go: at most the part being read
    (the cache of recent parts set to one), the one before it, and the whole Federation (check
    reads it a second time, to find stale parts) are alive at once, however many meshes; and the
    repository still knows every mesh's locality and cluster."""
    import weakref

    from meshfed.federation import load_repo
    from meshfed.federation.consistency import KEEP as CHECKED, check_repo
    from meshfed.federation.graph import KEEP as DRAWN, build_graph
    from meshfed.federation.repo import federation_localities
    from meshfed.values import meshfederation

    (tmp_path / ".git").mkdir()
    fed = _ring(8)
    (tmp_path / "federation.yaml").write_text(yaml.safe_dump(fed))
    scaffold(tmp_path / "federation.yaml", tmp_path / "clusters", tmp_path)
    monkeypatch.setattr(meshfederation, "RECENT", 1)
    alive: weakref.WeakSet[Any] = weakref.WeakSet()
    most = 0
    read_spec = Resolver.read_spec

    def counted(self: Resolver, *args: Any, **kwargs: Any) -> Any:
        nonlocal most
        spec = read_spec(self, *args, **kwargs)
        alive.add(spec)
        most = max(most, len(alive))
        return spec

    monkeypatch.setattr(Resolver, "read_spec", counted)
    with contextlib.chdir(tmp_path):
        repo = load_repo([tmp_path], tmp_path, DRAWN if view == "graph" else CHECKED)
    assert most <= (3 if view == "graph" else 4), most
    assert len(repo.docs) == 16 and all(d.ok and not d.stale for d in repo.docs)
    assert federation_localities(repo.docs) == {m["name"]: m["locality"] for m in fed["spec"]["meshes"]}
    assert [c.name for c in repo.clusters] == [f"c{i}" for i in range(8)]
    if view == "graph":
        assert len(build_graph(repo).edges) >= 16  # each mesh's two imports
    else:
        assert [d.message for d in check_repo(repo) if d.severity != "info"] == []
