"""The Federation document: derivation equals the same values written by hand (property test),
scaffold writes a repository that `meshfed check` passes and that a second run leaves alone, and
it never overwrites a file it did not write. The Federation's errors are golden cases
(`tests/cases/fed-*`)."""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshfed.api import Document, render
from meshfed.federation import check
from meshfed.federation.scaffold import GENERATED, scaffold
from meshfed.output.serialize import dump_yaml
from support.failover_draws import service_failover

MESHFED = Path(sys.executable).parent / "meshfed"
SHARED = {"global": {"configNamespace": "istio-system",
                     "defaultServicePorts": [{"number": 9080, "name": "http", "protocol": "HTTP"}]}}


@st.composite
def federations(draw: st.DrawFn) -> dict:
    """A valid Federation: 2-4 meshes, 1-4 services, each exported by some meshes and imported
    by some of the others, in one of two namespaces."""
    n = draw(st.integers(2, 4))
    meshes = []
    for i in range(n):
        mesh = {"name": f"m{i}", "network": f"net-{i}",
                "gateway": {"addresses": [f"192.0.2.{10 + i}"], "port": 15443}}
        if draw(st.booleans()):
            mesh["locality"] = f"zone-{i}"
        if draw(st.booleans()):
            mesh["values"] = {"global": {"gateways": {"egress": {
                "enabled": True, "selector": {"istio": "egressgateway"}, "port": 15443,
                "service": {"name": "istio-egressgateway", "namespace": "istio-system"}}}}}
        meshes.append(mesh)
    services = []
    for s in range(draw(st.integers(1, 4))):
        exporters = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
        others = [i for i in range(n) if i not in exporters]
        importers = draw(st.lists(st.sampled_from(others), unique=True)) if others else []
        service = {"hostname": f"svc{s}.mesh.global",
                   "exports": [{"mesh": f"m{i}", "namespace": draw(st.sampled_from(["ns-a", "ns-b"])),
                                "labelSelector": {"app": f"svc{s}"}} for i in exporters],
                   "imports": [{"mesh": f"m{i}", "namespace": draw(st.sampled_from(["ns-a", "ns-b"]))}
                               for i in importers]}
        if draw(st.booleans()):
            service["ports"] = [{"number": 8000 + s, "name": "http", "protocol": "HTTP"}]
        service_failover(draw, service, [None, {"enabled": False}, {"enabled": True}, {"mode": "weighted"}])
        services.append(service)
    spec = {"layout": "v2", "values": SHARED, "meshes": meshes, "services": services}
    failover = draw(st.sampled_from([None, {"enabled": False}, {"mode": "weighted"},
                                     {"outlierDetection": {"consecutive5xxErrors": 2, "interval": "1s"}}]))
    if failover is not None:
        spec["failover"] = failover
    return {"apiVersion": "meshfed.io/v1alpha1", "kind": "Federation", "metadata": {"name": "f"}, "spec": spec}


def _by_hand(fed: dict, mesh: str, namespace: str | None) -> dict:
    """The values the derivation must give, computed directly from the design's rules."""
    spec = fed["spec"]
    services = spec["services"]

    def entry(svc: dict) -> dict:
        return {"hostname": svc["hostname"], **({"ports": svc["ports"]} if "ports" in svc else {})}

    imported = [s for s in services if any(i["mesh"] == mesh for i in s["imports"])]
    remotes = []
    for other in spec["meshes"]:
        hosts = [s["hostname"] for s in imported if any(e["mesh"] == other["name"] for e in s["exports"])]
        if other["name"] != mesh and hosts:
            remote = {"mesh": other["name"], "network": other["network"], **other["gateway"]}
            if "locality" in other:
                remote["locality"] = other["locality"]
            remotes.append({**remote, "importedServices": hosts})
    own = next(m for m in spec["meshes"] if m["name"] == mesh)
    values = yaml.safe_load(yaml.safe_dump(SHARED))
    for key, value in own.get("values", {}).get("global", {}).items():
        values["global"][key] = value
    values["global"]["local"] = {"export": [entry(s) for s in services if any(e["mesh"] == mesh for e in s["exports"])]}
    values["global"]["remote"] = remotes
    # Failover: on unless spec.failover says enabled: false; an entry per imported service with
    # its own failover or weights; nothing at all when it is off for every imported service.
    policy = spec.get("failover", {})
    own = [{"hostname": s["hostname"], **s.get("failover", {}),
            **({"weights": {e["mesh"]: e["weight"] for e in s["exports"] if "weight" in e}}
               if any("weight" in e for e in s["exports"]) else {})}
           for s in imported if "failover" in s or any("weight" in e for e in s["exports"])]
    on = policy.get("enabled", True)
    if on or any(e.get("enabled") for e in own):
        values["global"]["failover"] = {"enabled": on, **{k: v for k, v in policy.items() if k != "enabled"},
                                        **({"services": own} if own else {})}
    if namespace is not None:
        values["import"] = [entry(s) for s in services
                            if any(i["mesh"] == mesh and i["namespace"] == namespace for i in s["imports"])]
        values["export"] = [{**entry(s), "labelSelector": e["labelSelector"]} for s in services
                            for e in s["exports"] if e["mesh"] == mesh and e["namespace"] == namespace]
    return values


def _doc(spec: dict, namespace: str | None) -> dict:
    meta = {"name": "x", **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation", "metadata": meta, "spec": spec}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fed=federations())
def test_derived_values_render_as_the_same_values_by_hand(tmp_path: Path, fed: dict) -> None:
    (tmp_path / "federation.yaml").write_text(dump_yaml([fed]), "utf-8")
    for mesh in fed["spec"]["meshes"]:
        name = mesh["name"]
        namespaces = sorted({s["namespace"] for svc in fed["spec"]["services"]
                             for s in svc["exports"] + svc["imports"] if s["mesh"] == name})
        for scope, ns in [("mesh", None), *(("namespace", n) for n in namespaces)]:
            derived = _doc({"scope": scope, "federation": {"path": "federation.yaml", "mesh": name}}, ns)
            by_hand = _doc({"scope": scope, "layout": "v2", "values": _by_hand(fed, name, ns if scope == "namespace" else None)}, ns)
            a = render(documents=[Document(derived, "derived.yaml", tmp_path)], root=tmp_path)
            b = render(documents=[Document(by_hand, "by-hand.yaml", tmp_path)], root=tmp_path)
            assert [(d.severity, d.message) for d in a.diagnostics] == [(d.severity, d.message) for d in b.diagnostics]
            assert dump_yaml(a.objects) == dump_yaml(b.objects), (name, scope, ns)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fed=federations())
def test_check_passes_on_every_scaffolded_repository(tmp_path: Path, fed: dict) -> None:
    repo = Path(tempfile.mkdtemp(dir=tmp_path))  # tmp_path is shared by the examples
    (repo / "federation.yaml").write_text(dump_yaml([fed]), "utf-8")
    scaffold(repo / "federation.yaml", repo / "clusters", repo)
    found = check([repo / "clusters", repo / "federation.yaml"], repo)
    assert not [str(d) for d in found if d.severity == "error"]
    # The scaffolded documents stand for every application: the Federation adds none.
    assert check([repo / "clusters"], repo) == found


def _meshfed(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(MESHFED), *args], cwd=cwd, capture_output=True, text=True, check=False)


def _example(tmp_path: Path) -> Path:
    source = Path(__file__).parent / "cases" / "fed-derive"
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "mesh.yaml").write_bytes((source / "base" / "mesh.yaml").read_bytes())
    (tmp_path / "federation.yaml").write_bytes((source / "federation.yaml").read_bytes())
    (tmp_path / ".git").mkdir()  # the root
    return tmp_path


def test_scaffold_writes_once_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    repo = _example(tmp_path)
    first = _meshfed("federation", "scaffold", "federation.yaml", "--out", "clusters", cwd=repo)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == [f"clusters/{c}/{a}/{f}" for c in ("central", "east", "west")
                                    for a in ("mesh", "bookinfo")
                                    for f in ("federation-part.yaml", f"{a}.yaml", "kustomization.yaml")]
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (repo / "clusters").rglob("*") if p.is_file()}
    second = _meshfed("federation", "scaffold", "federation.yaml", "--out", "clusters", cwd=repo)
    assert (second.returncode, second.stdout, second.stderr) == (0, "", "")
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (repo / "clusters").rglob("*") if p.is_file()} == before
    assert all(text.startswith(GENERATED.encode()) for text, _ in before.values())
    rendered = _meshfed("render", "clusters/east/bookinfo", cwd=repo)
    assert rendered.returncode == 0 and "ratings-mesh-global" in rendered.stdout


def test_scaffold_never_overwrites_a_file_it_did_not_write(tmp_path: Path) -> None:
    repo = _example(tmp_path)
    mine = repo / "clusters" / "west" / "bookinfo" / "kustomization.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("resources: [extra.yaml]\n", "utf-8")
    run = _meshfed("federation", "scaffold", "federation.yaml", "--out", "clusters", cwd=repo)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr == ("clusters/west/bookinfo/kustomization.yaml: exists and was not written by `meshfed "
                          "federation scaffold`: not overwritten (move it away, or remove it to let the scaffold "
                          "write it)\n")
    assert mine.read_text("utf-8") == "resources: [extra.yaml]\n"
    assert sorted(p.name for p in (repo / "clusters").rglob("*") if p.is_file()) == ["kustomization.yaml"]


def test_scaffold_reports_applications_the_federation_no_longer_has(tmp_path: Path) -> None:
    repo = _example(tmp_path)
    assert _meshfed("federation", "scaffold", "federation.yaml", "--out", "clusters", cwd=repo).returncode == 0
    fed = yaml.safe_load((repo / "federation.yaml").read_text("utf-8"))
    fed["spec"]["services"] = [s for s in fed["spec"]["services"] if s["hostname"] != "details.mesh.global"]
    fed["spec"]["services"][0]["imports"] = []
    (repo / "federation.yaml").write_text(dump_yaml([fed]), "utf-8")
    run = _meshfed("federation", "scaffold", "federation.yaml", "--out", "clusters", cwd=repo)
    assert run.returncode == 0
    # central imports nothing now: neither of its applications is wanted.
    assert run.stderr.splitlines() == [f"warning: clusters/central/{app}: an application the Federation no longer "
                                       "has: not deleted; remove it (and its Argo CD Application) when that is intended"
                                       for app in ("bookinfo", "mesh")]
    assert (repo / "clusters" / "central" / "bookinfo" / "bookinfo.yaml").exists()


def test_scaffold_refuses_a_federation_with_errors_writing_nothing(tmp_path: Path) -> None:
    repo = _example(tmp_path)
    text = (repo / "federation.yaml").read_text("utf-8").replace("network: west-network", "network: east-network")
    (repo / "federation.yaml").write_text(text, "utf-8")
    run = _meshfed("federation", "scaffold", "federation.yaml", "--out", "clusters", cwd=repo)
    assert run.returncode == 1 and run.stdout == ""
    assert "spec.meshes[2].network: network east-network is also the network of spec.meshes[1]" in run.stderr
    assert not (repo / "clusters").exists()


def test_the_example_repository_is_the_scaffold_of_its_federation(tmp_path: Path) -> None:
    """overlays/ is federation.yaml plus what scaffold writes: a run on a copy changes nothing."""
    import shutil
    repo = tmp_path / "overlays"
    shutil.copytree(Path(__file__).resolve().parents[1] / "overlays", repo)
    (tmp_path / ".git").mkdir()
    run = _meshfed("federation", "scaffold", "overlays/federation.yaml", "--out", "overlays", cwd=tmp_path)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")


# Junk in the Federation's shape: any key it knows, any value; and a valid skeleton with junk in places.
KEYS = ["layout", "base", "values", "meshes", "services", "name", "network", "cluster", "locality", "gateway",
        "addresses", "port", "hostname", "ports", "exports", "imports", "mesh", "namespace", "labelSelector",
        "global", "number", "protocol"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 70000), st.sampled_from(
    ["v2", "v1", "a", "m0", "ns", "svc.mesh.global", "192.0.2.1", "HTTP", "", "base.yaml"]))
JUNK = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)), max_leaves=25)


GATEWAY = {"addresses": ["192.0.2.1"], "port": 15443}
PORTS = [{"number": 8080, "name": "http", "protocol": "HTTP"}]
MESHES = st.tuples(*(st.fixed_dictionaries({"name": st.just(f"m{i}"), "network": st.just(f"n{i}"),
                                            "gateway": st.just(GATEWAY) | JUNK},
                                           optional={"values": JUNK, "locality": JUNK}) for i in (0, 1))).map(list)
SERVICES = st.lists(st.fixed_dictionaries(
    {"hostname": st.just("svc.mesh.global"), "ports": st.just(PORTS) | JUNK,
     "exports": st.just([{"mesh": "m0", "namespace": "ns", "labelSelector": {"app": "svc"}}]) | st.lists(JUNK, max_size=2),
     "imports": st.just([{"mesh": "m1", "namespace": "ns"}]) | st.lists(JUNK, max_size=2)}), max_size=2)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=st.one_of(JUNK, st.fixed_dictionaries({"layout": st.sampled_from(["v1", "v2"]), "meshes": MESHES,
                                                   "services": SERVICES}, optional={"values": JUNK})))
def test_any_federation_gives_diagnostics_never_a_crash(tmp_path: Path, spec: object) -> None:
    """Whatever a Federation holds, a render naming it and `check` of it give diagnostics with a
    file, never an internal error (this found an export without a namespace crashing derivation)."""
    fed = {"apiVersion": "meshfed.io/v1alpha1", "kind": "Federation", "spec": spec}
    (tmp_path / "federation.yaml").write_text(dump_yaml([fed]), "utf-8")
    for mesh, ns in (("m0", "ns"), ("m1", "ns")):
        doc = _doc({"scope": "namespace", "federation": {"path": "federation.yaml", "mesh": mesh}}, ns)
        result = render(documents=[Document(doc, "doc.yaml", tmp_path)], root=tmp_path)
        assert not [d.message for d in result.diagnostics if "internal error" in d.message]
        assert result.ok or any(d.severity == "error" and d.file for d in result.diagnostics)
    found = check([tmp_path / "federation.yaml"], tmp_path)
    assert not [d.message for d in found if "internal error" in d.message]


IMPORT_ONLY = """\
apiVersion: meshfed.io/v1alpha1
kind: Federation
metadata: {name: f}
spec:
  layout: v2
  values:
    global:
      defaultServicePorts: [{number: 9080, name: http, protocol: HTTP}]
      gateways: {ingress: {selector: {istio: eastwestgateway}}}
  meshes:
  - {name: a-mesh, network: a-net, cluster: a, gateway: {addresses: [192.0.2.1], port: 15443}}
  - {name: b-mesh, network: b-net, cluster: b}
  services:
  - hostname: x.mesh.global
    exports: [{mesh: a-mesh, namespace: x, labelSelector: {app: x}}]
    imports: [{mesh: b-mesh, namespace: x}]
"""


def test_scaffold_writes_no_mesh_tier_that_renders_nothing(tmp_path: Path) -> None:
    """b-mesh only imports, in layout v2 without egress: its mesh tier renders nothing, which every
    route refuses. No b/mesh is written (the output says so); every application written renders."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "federation.yaml").write_text(IMPORT_ONLY, "utf-8")
    run = _meshfed("federation", "scaffold", "federation.yaml", "--out", "apps", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert sorted({str(Path(p).parent) for p in run.stdout.split()}) == ["apps/a/mesh", "apps/a/x", "apps/b/x"]
    assert run.stderr.splitlines() == [
        "info: federation.yaml: spec.meshes[1]: mesh b-mesh only imports and its mesh tier renders nothing: no b/mesh "
        "application is written (every route refuses an empty render), only its namespaces'"]
    for app in ("a/mesh", "a/x", "b/x"):
        rendered = _meshfed("render", f"apps/{app}", cwd=tmp_path)
        assert rendered.returncode == 0 and rendered.stdout, rendered.stderr
    # An application directory written by an older scaffold for it (before parts): reported, and check fails on it.
    old = tmp_path / "apps/b/mesh"
    old.mkdir()
    (old / "mesh.yaml").write_text((tmp_path / "apps/a/mesh/mesh.yaml").read_text().replace("a-mesh", "b-mesh")
                                   .replace("    part: federation-part.yaml\n", ""))
    (old / "kustomization.yaml").write_text((tmp_path / "apps/a/mesh/kustomization.yaml").read_text())
    again = _meshfed("federation", "scaffold", "federation.yaml", "--out", "apps", cwd=tmp_path)
    assert "warning: apps/b/mesh: an application the Federation no longer has" in again.stderr
    checked = _meshfed("check", "apps", cwd=tmp_path)
    assert checked.returncode == 1
    assert checked.stderr.startswith("apps/b/mesh/mesh.yaml: nothing to render:")
