"""`make bench`: how long `meshfed render` (and `meshfed krm`) take, whole process, on synthetic
federations from the seed README example up to hundreds of meshes, against two floors measured
in the same run:

* the start-up floor: `python -I -c pass` with the same interpreter (the S section times the four
  hot routes, `render`, `krm`, `kustomize-plugin` and `argocd generate`, against it, interleaved);
* the output floor: a process that loads the very objects `render` emits (pre-rendered, from a
  marshal file) and only serialises them with `meshfed.output.serialize.dump_yaml` / `dump_json` (the latter
  is the C JSON encoder: the "C-JSON floor");
* the input floor: a process that only parses the values files (libyaml's parser, composed into
  Python objects by the reader `render` uses).

Times are wall-clock medians over several runs of a fresh process; memory is the child's peak RSS
(`ru_maxrss` from wait4). Nothing is subtracted. The table goes to stdout and
bench/results/latest.md (ignored by git); with --record (`make bench-record`) also to
bench/RESULTS.md (committed, quoted by the README). Tracked files change only with --record.

    .venv/bin/python bench/run.py [--sizes S,M,L,XL] [--runs N] [--wheel] [--keep DIR] [--record | --no-results]

`--sizes S` runs only the cold-start section (about a minute); `--wheel` also times the S routes
on a fresh virtualenv with meshfed installed from a wheel (as users and the image install it).
`--sizes D` runs only the D section: `meshfed diff` between two commits of the example repository
`overlays/` and of the generated federation of the F section (`federation.generate`).
`--sizes N` runs only the N section: the federation tools and one application's render on
generated Federations of `--meshes` meshes (default 50,100,200,400,800,1600), with the growth ratios
and the load average as each size started (not part of the default sizes; `make bench BENCH_ARGS='--sizes N'`).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import federation  # noqa: E402
from scenarios import SEED_MESH, SEED_NAMESPACE, SIZES, values_text  # noqa: E402

PYTHON = sys.executable
BIN = Path(PYTHON).parent
MESHFED = str(BIN / "meshfed") if (BIN / "meshfed").exists() else None
# Peak RSS: a child's ru_maxrss on Linux starts at its parent's RSS at fork time (kept across exec),
# so it comes from /usr/bin/time's %M (the command is its grandchild) when there is one.
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None

# Goals (issue 10, "speed, round two"): ratios to the floors measured in the same run.
S_MAX_STARTUP_RATIO = 3.0  # each S route against `python -I -c pass`
V2_NAMESPACE_MAX_JSON_FLOOR = 0.8  # L, v2, namespace tier, YAML render against the C-JSON floor
V2_NAMESPACE_MAX_RSS_PER_OUTPUT = 1.7  # v2 namespace tier at L and XL: peak RSS against output size
MESH_MAX_YAML_FLOOR = 1.2  # L, mesh tier (both layouts), YAML render against the YAML output floor
V1_NAMESPACE_MAX_INPUT_FLOOR = 1.5  # L, v1, namespace tier, YAML render against the input floor
LINEARITY_SLACK = 1.2  # time ratio L->XL at most this much above the output-size ratio
DIFF_MAX_SECONDS = 1.0  # `meshfed diff` on overlays/ between two commits: well under a second
# Issue 24, "cost grows with the work": from the smallest to the largest federation of the N section,
# the tools' time at most this much above the growth in meshes, one application's render at most
# this many times its cost at the smallest.
N_MAX_GROWTH_SLACK = 1.25
N_MAX_APP_GROWTH = 2.0


@dataclass
class Sample:
    seconds: float  # wall clock
    rss_mb: float
    code: int
    cpu: float = 0.0  # user + system time of the child


def run_once(cmd: list[str], stdin: bytes | None = None, stdout_path: str | None = None,
             env: dict[str, str] | None = None, cwd: str | None = None) -> Sample:
    """One child process: wall time, peak RSS, exit code, CPU time."""
    rss_file = None
    if GNU_TIME:
        fd, rss_file = tempfile.mkstemp(prefix="meshfed-bench-rss-")
        os.close(fd)
        cmd = [GNU_TIME, "-f", "%M", "-o", rss_file, *cmd]
    out = open(stdout_path or os.devnull, "wb")
    stdin_file = None
    if stdin is not None:
        stdin_file = tempfile.TemporaryFile()
        stdin_file.write(stdin)
        stdin_file.seek(0)
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=stdin_file if stdin_file else subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.DEVNULL, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        out.close()
        if stdin_file:
            stdin_file.close()
    rss_kb = usage.ru_maxrss
    if rss_file:
        with open(rss_file) as f:
            rss_kb = int(f.read().split()[-1])
        os.unlink(rss_file)
    return Sample(elapsed, rss_kb / 1024, proc.returncode, usage.ru_utime + usage.ru_stime)


def measure(cmd: list[str], runs: int, stdin: bytes | None = None, env: dict[str, str] | None = None,
            expect: int = 0, cwd: str | None = None) -> Sample:
    return measure_interleaved([cmd], runs, stdin, env, expect, cwd)[0]


def measure_interleaved(cmds: list[list[str]], runs: int, stdin: bytes | None = None,
                        env: dict[str, str] | None = None, expect: int = 0, cwd: str | None = None) -> list[Sample]:
    """Medians of `runs` runs of each command, run in turn (a command and its floor then see the
    same machine: a change in load hits both alike)."""
    samples: list[list[Sample]] = [[] for _ in cmds]
    for _ in range(runs):
        for cmd, row in zip(cmds, samples):
            row.append(run_once(cmd, stdin, env=env, cwd=cwd))
    for cmd, row in zip(cmds, samples):
        bad = [s.code for s in row if s.code != expect]
        if bad:
            raise SystemExit(f"{' '.join(cmd)} exited {bad[0]} (expected {expect})")
    return [Sample(statistics.median(s.seconds for s in row), max(s.rss_mb for s in row), expect,
                   statistics.median(s.cpu for s in row)) for row in samples]


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fmt_s(x: float) -> str:
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def fmt_ms(x: float) -> str:
    return f"{x * 1000:.1f} ms"


def seed_document() -> str:
    """The S MeshFederation (both tiers), as a kustomize plugin config or an Argo CD app's file."""
    import yaml

    values = {**yaml.safe_load(SEED_MESH), **yaml.safe_load(SEED_NAMESPACE)}
    doc = {"apiVersion": "meshfed.io/v1alpha1", "kind": "MeshFederation", "metadata": {"name": "seed"},
           "spec": {"scope": "all", "layout": "v1", "values": values}}
    return yaml.safe_dump(doc, sort_keys=False)


def seed_krm_input() -> bytes:
    """A generator ResourceList whose functionConfig is the S MeshFederation (both tiers)."""
    import yaml

    values = {**yaml.safe_load(SEED_MESH), **yaml.safe_load(SEED_NAMESPACE)}
    doc = {
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": [],
        "functionConfig": {
            "apiVersion": "meshfed.io/v1alpha1",
            "kind": "MeshFederation",
            "metadata": {"name": "seed", "annotations": {
                "config.kubernetes.io/function": "container:\n  image: meshfed\n"}},
            "spec": {"scope": "all", "layout": "v1", "values": values},
        },
    }
    return yaml.safe_dump(doc, sort_keys=False).encode()


LATEST = HERE / "results" / "latest.md"  # ignored by git
RECORD = HERE / "RESULTS.md"  # committed: written only on request


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="S,M,L,XL,F,D",
                    help="S: cold start; M, L, XL: one render at scale; F: a 50-cluster Federation, every "
                         "application; D: meshfed diff between two commits; N: the federation tools "
                         "and one application's render from 50 to 1,600 meshes (not in the default)")
    ap.add_argument("--meshes", default="50,100,200,400,800,1600",
                    help="the federations' sizes of the N section, in meshes (default: %(default)s)")
    ap.add_argument("--runs", type=int, default=0,
                    help="runs per case (default: 25 interleaved for S, 5 for M, 7 for L, 3 for XL; a render and its floors interleaved)")
    ap.add_argument("--wheel", action="store_true",
                    help="also time the S routes on a fresh virtualenv installed from a wheel of meshfed")
    ap.add_argument("--keep", help="generate the inputs into this directory and keep them")
    out = ap.add_mutually_exclusive_group()
    out.add_argument("--record", action="store_true",
                     help="also write bench/RESULTS.md, the committed results (`make bench-record`)")
    out.add_argument("--no-results", action="store_true", help="only print: write no file at all")
    return ap.parse_args(argv)


def result_paths(opts: argparse.Namespace) -> list[Path]:
    """Where the tables are written besides stdout: bench/results/latest.md (untracked), and the
    tracked bench/RESULTS.md only with --record."""
    if opts.no_results:
        return []
    return [LATEST, RECORD] if opts.record else [LATEST]


def main() -> int:
    opts = parse_args()
    sizes = [s.strip() for s in opts.sizes.split(",") if s.strip()]
    if MESHFED is None:
        raise SystemExit(f"no meshfed console script next to {PYTHON}")

    # As in the image (compiled at build time): bytecode exists, nothing is compiled per run.
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(REPO / "plugin" / "meshfed")], check=True,
                   stdout=subprocess.DEVNULL)
    work = Path(opts.keep) if opts.keep else Path(tempfile.mkdtemp(prefix="meshfed-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.pop("MESHFED_ROOT", None)
    lines: list[str] = []

    def out(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    try:
        out(f"# meshfed benchmark\n\n{time.strftime('%Y-%m-%d %H:%M %Z')}; Python {platform.python_version()}, "
            f"{platform.machine()}, {os.cpu_count()} CPUs; {platform.platform()}.\n")
        out(f"Load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}.\n")
        out("Wall-clock medians decide the targets; CPU time (user + system, median) is shown beside them "
            "because it is steadier when the machine is shared.\n")
        if "S" in sizes:
            small_case(work, opts.runs or 25, env, out, BIN, "development virtualenv, editable install")
            if opts.wheel:
                small_case(work, opts.runs or 25, env, out, wheel_venv(work), "fresh virtualenv, meshfed "
                           "installed from its wheel (dependencies from the package index), bytecode compiled")
        big = [s for s in sizes if s not in ("S", "F", "D", "N")]
        results: dict[tuple, dict] = {}
        if big:
            out("## Rendering at scale\n")
            out("`render` = `meshfed render --scope TIER --layout L -o FMT -f values.yaml` to /dev/null; `floor` = the "
                "output floor for the same objects and format. Time: median; RSS: peak.\n")
            out("| size | layout | tier | fmt | objects | output | render | floor | render/floor | CPU ratio | "
                "peak RSS | RSS/output |")
            out("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
            for name in big:
                results.update(size_case(work, name, opts.runs, env, out))
            notes = [f"{n}: {SIZES[n].remotes} remotes, {SIZES[n].services:,} services, each remote lists "
                     f"{SIZES[n].listed:,} with {SIZES[n].addresses} address(es); {SIZES[n].imports:,} imports, "
                     f"{SIZES[n].exports:,} exports; egress {'on' if SIZES[n].egress else 'off'}"
                     + (f" ({SIZES[n].note})" if SIZES[n].note else "") for n in big]
            out()
            out("Sizes: " + "; ".join(notes) + ".")
            goals(results, big, out)
            summary(results, big, out)
        if "F" in sizes:
            federation_case(work, opts.runs or 3, env, out)
        if "D" in sizes:
            diff_case(work, opts.runs or 5, env, out)
        if "N" in sizes:
            growth_case(work, [int(n) for n in opts.meshes.split(",") if n.strip()], opts.runs or 1, env, out)
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
    text = "\n".join(lines) + "\n"
    for path in result_paths(opts):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(REPO)}", file=sys.stderr)
    return 0


def small_case(work: Path, runs: int, env: dict[str, str], out, bin_dir: Path, where: str) -> None:
    """The four routes Argo CD and kustomize run on every refresh, on the seed example, cold, against
    the interpreter's own start-up; the commands run in turn (interleaved), so that a change in the
    machine's load hits them all alike."""
    python, meshfed = str(bin_dir / "python"), str(bin_dir / "meshfed")
    mesh, ns, config = work / "seed-mesh.yaml", work / "seed-namespace.yaml", work / "seed-config.yaml"
    mesh.write_text(SEED_MESH)
    ns.write_text(SEED_NAMESPACE)
    config.write_text(seed_document())
    app = work / "repo" / "apps" / "seed"
    app.mkdir(parents=True, exist_ok=True)
    (app / "federation.yaml").write_text(seed_document())
    render = [meshfed, "render", "--scope", "all", "-f", str(mesh), "-f", str(ns)]
    # (label, command, stdin, env, cwd, targeted)
    rows = [
        ("floor: `python -I -c pass`", [python, "-I", "-c", "pass"], None, env, None, False),
        ("`meshfed render` (YAML)", render, None, env, None, True),
        ("`meshfed render -o json`", [*render, "-o", "json"], None, env, None, False),
        ("`meshfed krm` (generator ResourceList)", [meshfed, "krm"], seed_krm_input(), env, None, True),
        ("`meshfed kustomize-plugin CONFIG`", [meshfed, "kustomize-plugin", config.name], None,
         {**env, "MESHFED_ROOT": str(work)}, str(work), True),
        ("`meshfed argocd generate`", [meshfed, "argocd", "generate"], None,
         {**env, "ARGOCD_APP_SOURCE_PATH": "apps/seed"}, str(app), True),
        ("reference: `render` through the typer app",
         [python, "-c", "import sys; sys.argv[0] = 'meshfed'; from meshfed.routes.cli import app; app()", *render[1:]],
         None, env, None, False),
    ]
    samples: list[list[Sample]] = [[] for _ in rows]
    for i in range(runs + 1):  # the first round warms the file cache and is not counted
        for row, (label, cmd, stdin, cmd_env, cwd, _) in zip(samples, rows):
            s = run_once(cmd, stdin, env=cmd_env, cwd=cwd)
            if s.code:
                raise SystemExit(f"{label}: exit code {s.code}")
            if i:
                row.append(s)
    medians = [Sample(statistics.median(x.seconds for x in row), max(x.rss_mb for x in row), 0,
                      statistics.median(x.cpu for x in row)) for row in samples]
    floor = medians[0]
    out(f"## S: the seed README example, cold start ({where})\n")
    out(f"Both tiers, layout v1; median of {runs} interleaved runs; target: each route at most "
        f"{S_MAX_STARTUP_RATIO:g}x the start-up floor `python -I -c pass` ({fmt_s(floor.seconds)}, "
        f"CPU {fmt_s(floor.cpu)}).\n")
    out("| command | time | x floor | CPU | x floor CPU | peak RSS | target |")
    out("|---|---:|---:|---:|---:|---:|---|")
    for (label, *_, targeted), s in zip(rows, medians):
        ratio, cpu_ratio = s.seconds / floor.seconds, s.cpu / floor.cpu
        target = verdict(ratio <= S_MAX_STARTUP_RATIO) if targeted else "-"
        out(f"| {label} | {fmt_ms(s.seconds)} | {ratio:.2f} | {fmt_ms(s.cpu)} | {cpu_ratio:.2f} | "
            f"{s.rss_mb:.0f} MB | {target} |")
    out()


def federation_case(work: Path, runs: int, env: dict[str, str], out) -> None:
    """A generated federation of 50 clusters in one Federation document, scaffolded, rendered whole:
    every cluster's every application."""
    directory = work / "federation"
    apps = federation.generate(directory, MESHFED)
    rendered = directory / "all.yaml"
    out(f"## A {federation.CLUSTERS}-cluster Federation\n")
    spec = federation.federation()["spec"]
    imports = sum(len(s["imports"]) for s in spec["services"])
    out(f"`federation.yaml`: {len(spec['meshes'])} meshes, {len(spec['services'])} services, {imports} imports "
        f"({(directory / 'federation.yaml').stat().st_size / 1024:.0f} KiB), scaffolded into {len(apps)} "
        "applications. Time: median; RSS: peak.\n")
    out("| what | time | CPU | peak RSS |")
    out("|---|---:|---:|---:|")
    whole = 0.0
    for label, cmd in federation.commands(directory, apps, PYTHON, MESHFED, rendered):
        samples = [run_once(cmd, env=env, cwd=str(directory)) for _ in range(runs)]
        if any(s.code for s in samples):
            raise SystemExit(f"{' '.join(cmd[:3])} ... exited {samples[0].code}")
        whole = whole or statistics.median(s.seconds for s in samples)
        out(f"| {label} | {fmt_s(statistics.median(s.seconds for s in samples))} | "
            f"{fmt_s(statistics.median(s.cpu for s in samples))} | {max(s.rss_mb for s in samples):.0f} MB |")
    out(f"\nThe {len(apps)} applications render {rendered.stat().st_size / 2**20:.1f} MiB of YAML: "
        f"{fmt_ms(whole / len(apps))} an application in one process, each reading its mesh's part of the "
        "Federation, as every Argo CD render does.\n")


def git_repo(path: Path, write, change) -> None:
    """A git repository at `path` with two commits: the files `write(path)` makes, then `change(path)`."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}  # no signing, hooks or templates
    path.mkdir(parents=True)
    write(path)
    for step in (["init", "-q"], ["add", "--all"], ["commit", "-q", "-m", "base"], None,
                 ["add", "--all"], ["commit", "-q", "-m", "change"]):
        if step is None:
            change(path)
        else:
            subprocess.run(["git", *step], cwd=path, env=env, check=True)


def gateway_port(federation_file: Path, out: Path) -> None:
    """The change the D section reviews: the east-west gateway port of a Federation's first mesh
    that has a gateway (comments are not kept: nothing renders them), its applications below
    `out` scaffolded again."""
    import yaml
    doc = yaml.safe_load(federation_file.read_text())
    mesh = next(m for m in doc["spec"]["meshes"] if "gateway" in m)
    mesh["gateway"]["port"] += 1
    federation_file.write_text(yaml.safe_dump(doc, sort_keys=False))
    scaffolded(federation_file, out)


def scaffolded(federation_file: Path, out: Path) -> None:
    """The application directories below `out`, with the parts of the Federation they read,
    written again after a change of the Federation, as its author does (`meshfed check` and
    `meshfed diff` refuse a part left stale)."""
    subprocess.run([MESHFED, "federation", "scaffold", federation_file.name, "--out",
                    os.path.relpath(out, federation_file.parent)], cwd=federation_file.parent, check=True,
                   stdout=subprocess.DEVNULL)


def diff_case(work: Path, runs: int, env: dict[str, str], out) -> None:
    """`meshfed diff --base HEAD~1 --head HEAD` (text, to /dev/null) on a change to the example
    repository and to the F section's generated federation, cold."""
    repos = [("`overlays/` (6 applications)", work / "diff-overlays",
              lambda p: shutil.copytree(REPO / "overlays", p / "overlays"), "overlays/federation.yaml", "overlays"),
             (f"the F section's Federation ({federation.CLUSTERS} clusters)", work / "diff-generated",
              lambda p: federation.generate(p, MESHFED), "federation.yaml", "clusters")]
    out("## D: `meshfed diff` between two commits\n")
    out(f"A changed gateway port; median of {runs} runs (after one untimed run); target: at most "
        f"{DIFF_MAX_SECONDS:g} s on `overlays/`.\n")
    out("| repository | time | CPU | peak RSS | target |")
    out("|---|---:|---:|---:|---|")
    for i, (label, path, write, changed, apps) in enumerate(repos):
        git_repo(path, write, lambda p, changed=changed, apps=apps: gateway_port(p / changed, p / apps))
        cmd = [MESHFED, "diff", "--base", "HEAD~1", "--head", "HEAD"]
        if run_once(cmd, env=env, cwd=str(path)).code:
            raise SystemExit(f"meshfed diff failed on {path}")
        s = measure(cmd, runs, env=env, cwd=str(path))
        target = verdict(s.seconds <= DIFF_MAX_SECONDS) if i == 0 else "-"
        out(f"| {label} | {fmt_s(s.seconds)} | {fmt_s(s.cpu)} | {s.rss_mb:.0f} MB | {target} |")
    out()


def growth_case(work: Path, meshes: list[int], runs: int, env: dict[str, str], out) -> None:
    """The federation tools on generated Federations (`federation.federation(n)`) of growing size,
    each scaffolded and committed, then its first mesh moved to another locality in a second commit: scaffold,
    check, graph, import and diff (whole processes), and one application rendered cold through the
    four routes Argo CD and kustomize run; time, CPU and peak RSS, and the growth ratios."""
    rows: dict[int, dict[str, Sample]] = {}
    load: dict[int, float] = {}  # the 1-minute load average as each size started: a shared machine's weather
    for n in meshes:
        load[n] = os.getloadavg()[0]
        repo = work / f"growth-{n}"
        apps: list[Path] = []

        def write(path: Path, n: int = n, apps: list = apps) -> None:
            apps.extend(federation.generate(path, MESHFED, n))

        git_repo(repo, write, lambda p: moved(p / "federation.yaml"))
        app = apps[1]  # a namespace tier: cluster-00's first namespace
        rel = app.relative_to(repo).as_posix()
        config = kustomization_generator(app)
        krm_input = krm_list(app / config, app.relative_to(repo))
        root_env = {**env, "MESHFED_ROOT": str(repo)}
        expanded = work / f"growth-{n}-documents"  # the same federation as per-cluster documents
        federation.expand(expanded, n)
        cases = [
            ("scaffold", [MESHFED, "federation", "scaffold", "federation.yaml", "--out", "fresh", "--root", "."],
             None, env, repo),
            ("check", [MESHFED, "check", "--root", ".", "federation.yaml"], None, env, repo),
            ("check .", [MESHFED, "check", "--root", ".", "."], None, env, repo),
            ("graph", [MESHFED, "graph", "--root", ".", "federation.yaml"], None, env, repo),
            ("import", [MESHFED, "federation", "import", "--root", ".", "expanded", "-o", "imported.yaml"],
             None, env, expanded),
            ("diff", [MESHFED, "diff", "--base", "HEAD~1", "--head", "HEAD"], None, env, repo),
            ("render", [MESHFED, "render", "--root", ".", rel], None, env, repo),
            ("argocd generate", [MESHFED, "argocd", "generate"], None,
             {**root_env, "ARGOCD_APP_SOURCE_PATH": rel}, app),
            ("kustomize-plugin", [MESHFED, "kustomize-plugin", config], None, root_env, app),
            ("krm", [MESHFED, "krm"], krm_input, root_env, repo),
        ]
        rows[n] = {}
        for label, cmd, stdin, cmd_env, cwd in cases:
            samples = []
            for _ in range(runs):
                shutil.rmtree(repo / "fresh", ignore_errors=True)
                s = run_once(cmd, stdin, env=cmd_env, cwd=str(cwd))
                if s.code:
                    raise SystemExit(f"{n} meshes, {label}: exit code {s.code} ({' '.join(cmd)})")
                samples.append(s)
            rows[n][label] = Sample(statistics.median(x.seconds for x in samples), max(x.rss_mb for x in samples),
                                    0, statistics.median(x.cpu for x in samples))
        shutil.rmtree(repo, ignore_errors=True)
        shutil.rmtree(expanded, ignore_errors=True)
    labels = list(rows[meshes[0]])
    first, last = meshes[0], meshes[-1]
    out("## N: cost against the size of the federation\n")
    out(f"Generated Federations (`bench/federation.py`: each mesh exports {federation.EXPORTS_PER_CLUSTER} "
        f"services, each imported by the next {federation.IMPORTERS} meshes, every other mesh through an egress "
        "gateway), scaffolded and committed, then the first mesh moved to another locality. `scaffold` writes "
        "every application afresh; `check`, `graph` take the Federation; `check .` the whole repository (the "
        "Federation and every application's document and part, as a pre-commit hook or CI checks it); `import` the same "
        "federation written as per-cluster documents (`federation.expand`); `diff` the two "
        "commits; the last four render one namespace-tier application cold, as Argo CD and kustomize run it. "
        f"Median of {runs} run(s): time (CPU) and peak RSS; `load` is the 1-minute load average as the size "
        "started (on a shared machine wall time waits for the cores, CPU time does not).\n")
    out("| meshes | load | " + " | ".join(labels) + " |")
    out("|---:|---:|" + "---:|" * len(labels))
    for n in meshes:
        out(f"| {n:,} | {load[n]:.1f} | " + " | ".join(f"{fmt_s(rows[n][k].seconds)} ({fmt_s(rows[n][k].cpu)}), "
                                                     f"{rows[n][k].rss_mb:.0f} MB" for k in labels) + " |")
    if len(meshes) < 2:
        out()
        return
    out(f"\n### Growth from {first:,} to {last:,} meshes ({last / first:g}x)\n")
    out(f"Targets: the tools at most {N_MAX_GROWTH_SLACK:g}x the growth in meshes in CPU time (linear), one "
        f"application's render at most {N_MAX_APP_GROWTH:g}x its cost at {first:,} meshes; peak RSS at most "
        "linear. Each step's ratio beside the whole.\n")
    out("| what | " + " | ".join(f"{a:,}->{b:,}" for a, b in zip(meshes, meshes[1:])) +
        " | CPU, whole | RSS, whole | target |")
    out("|---|" + "---:|" * (len(meshes) + 1) + "---|")
    app_routes = ("render", "argocd generate", "kustomize-plugin", "krm")
    for k in labels:
        steps = [rows[b][k].cpu / max(rows[a][k].cpu, 1e-3) for a, b in zip(meshes, meshes[1:])]
        whole = rows[last][k].cpu / max(rows[first][k].cpu, 1e-3)
        rss = rows[last][k].rss_mb / rows[first][k].rss_mb
        limit = N_MAX_APP_GROWTH if k in app_routes else N_MAX_GROWTH_SLACK * last / first
        out(f"| {k} | " + " | ".join(f"{x:.2f}" for x in steps) + f" | {whole:.2f} | {rss:.2f} | "
            f"{verdict(whole <= limit and rss <= last / first)} (<= {limit:g}x) |")
    out()


def kustomization_generator(app: Path) -> str:
    """The application's MeshFederation file: the generator its kustomization names (beside it
    lie the kustomization and the Federation part, which are no generator config)."""
    import yaml
    return yaml.safe_load((app / "kustomization.yaml").read_text())["generators"][0]


def moved(federation_file: Path) -> None:
    """The change the N section's diff reviews: the first mesh moved to another locality (what its
    importers' failover orders by), a change `meshfed check` still accepts."""
    import yaml
    doc = yaml.safe_load(federation_file.read_text())
    doc["spec"]["meshes"][0]["locality"] = "region-moved"
    federation_file.write_text(yaml.safe_dump(doc, sort_keys=False))
    scaffolded(federation_file, federation_file.parent / "clusters")


def krm_list(config: Path, directory: Path) -> bytes:
    """A generator ResourceList whose functionConfig is the application's document, with the path
    kustomize annotates it with (the directory its relative paths resolve from)."""
    import yaml

    doc = yaml.safe_load(config.read_text())
    doc["metadata"]["annotations"] = {"config.kubernetes.io/path": f"{directory.as_posix()}/{config.name}",
                                      "internal.config.kubernetes.io/path": f"{directory.as_posix()}/{config.name}"}
    return yaml.safe_dump({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": [],
                           "functionConfig": doc}, sort_keys=False).encode()


def wheel_venv(work: Path) -> Path:
    """A fresh virtualenv with meshfed installed from a wheel built from this checkout (its
    dependencies from the package index) and all its bytecode compiled, as in the image."""
    wheels, venv = work / "wheels", work / "wheel-venv"
    quiet = dict(check=True, stdout=subprocess.DEVNULL)
    subprocess.run([PYTHON, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", str(wheels), str(REPO)], **quiet)
    subprocess.run([PYTHON, "-m", "venv", str(venv)], **quiet)
    bin_dir = venv / "bin"
    wheel = next(wheels.glob("meshfed-*.whl"))
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    str(wheel)], **quiet)
    subprocess.run([str(bin_dir / "python"), "-m", "compileall", "-q", str(venv / "lib")], **quiet)
    return bin_dir


def size_case(work: Path, name: str, runs: int, env: dict[str, str], out) -> dict[tuple, dict]:
    size = SIZES[name]
    runs = runs or size.runs
    results: dict[tuple, dict] = {}
    for layout in ("v1", "v2"):
        values = work / f"{name}-{layout}.yaml"
        values.write_text(values_text(size, layout))
        input_floor = [PYTHON, str(HERE / "floor.py"), "input", str(values)]
        for tier in ("mesh", "namespace"):
            args = ["--scope", tier, "--layout", layout, "-f", str(values)]
            objects_file = work / f"{name}-{layout}-{tier}.marshal"
            prep = subprocess.run([PYTHON, str(HERE / "floor.py"), "prepare", str(objects_file), "--", *args],
                                  capture_output=True, text=True, env=env)
            if prep.returncode:
                raise SystemExit(f"cannot render {name} {layout} {tier}:\n{prep.stderr}")
            n_objects = int(prep.stdout.strip())  # (not loaded here: the parent stays small)
            for fmt in ("yaml", "json"):
                cmd = [MESHFED, "render", *args, "-o", fmt]
                floor_cmd = [PYTHON, str(HERE / "floor.py"), "dump", str(objects_file), fmt]
                # One untimed run each to files: the output size, and a check that `render`
                # writes exactly what the floor writes for the same objects.
                rendered, floored = work / "render.out", work / "floor.out"
                r = run_once(cmd, stdout_path=str(rendered), env=env)
                f = run_once(floor_cmd, stdout_path=str(floored), env=env)
                if r.code or f.code:
                    raise SystemExit(f"{name} {layout} {tier} {fmt}: exit codes {r.code}, {f.code}")
                if sha256(str(rendered)) != sha256(str(floored)):
                    raise SystemExit(f"{name} {layout} {tier} {fmt}: render and floor outputs differ")
                out_mb = rendered.stat().st_size / 1e6
                rendered.unlink()
                floored.unlink()
                # The render, its output floor and (for the namespace tier in YAML, whose goal is
                # against it) the input floor, interleaved.
                with_input = tier == "namespace" and fmt == "yaml"
                t, fl, *floor = measure_interleaved([cmd, floor_cmd, *([input_floor] if with_input else [])],
                                                    runs, env=env)
                if floor:
                    results[(name, layout, "input")] = dict(time=floor[0].seconds, cpu=floor[0].cpu)
                ratio = t.seconds / fl.seconds
                rss_ratio = t.rss_mb / out_mb if out_mb else float("inf")
                results[(name, layout, tier, fmt)] = dict(time=t.seconds, floor=fl.seconds, out=out_mb,
                                                          rss=t.rss_mb, objects=n_objects, cpu=t.cpu,
                                                          floor_cpu=fl.cpu)
                out(f"| {name} | {layout} | {tier} | {fmt} | {n_objects:,} | {out_mb:.1f} MB | {fmt_s(t.seconds)} | "
                    f"{fmt_s(fl.seconds)} | {ratio:.2f} | {t.cpu / fl.cpu:.2f} | {t.rss_mb:.0f} MB | {rss_ratio:.1f} |")
            objects_file.unlink()
    return results


def goals(results: dict[tuple, dict], sizes: list[str], out) -> None:
    """The issue's goals for the large tiers, each as a ratio to its floor from the same run (time:
    wall clock and CPU; memory: peak RSS against the output size)."""
    rows = []  # (goal, measured, floor, CPU ratio or None, target)
    for name in [s for s in ("L", "XL") if s in sizes]:
        if name == "L":
            yaml, json_ = results[(name, "v2", "namespace", "yaml")], results[(name, "v2", "namespace", "json")]
            rows.append((f"{name} v2 namespace, YAML render / C-JSON floor", yaml["time"], json_["floor"],
                         yaml["cpu"] / json_["floor_cpu"], V2_NAMESPACE_MAX_JSON_FLOOR))
            for layout in ("v1", "v2"):
                mesh = results[(name, layout, "mesh", "yaml")]
                rows.append((f"{name} {layout} mesh, YAML render / YAML output floor", mesh["time"], mesh["floor"],
                             mesh["cpu"] / mesh["floor_cpu"], MESH_MAX_YAML_FLOOR))
            v1, floor = results[(name, "v1", "namespace", "yaml")], results[(name, "v1", "input")]
            rows.append((f"{name} v1 namespace, YAML render / input floor", v1["time"], floor["time"],
                         v1["cpu"] / floor["cpu"], V1_NAMESPACE_MAX_INPUT_FLOOR))
        for fmt in ("yaml", "json"):
            r = results[(name, "v2", "namespace", fmt)]
            rows.append((f"{name} v2 namespace {fmt}, peak RSS / output size", r["rss"], r["out"], None,
                         V2_NAMESPACE_MAX_RSS_PER_OUTPUT))
    if not rows:
        return
    out()
    out("### Goals\n")
    out("Each against its floor measured in this run; times are medians (the verdict is on wall "
        "time, the CPU ratio beside it), memory is peak RSS against the output size.\n")
    out("| goal | measured | floor | ratio | CPU ratio | target | verdict |")
    out("|---|---:|---:|---:|---:|---:|---|")
    for label, value, floor, cpu_ratio, target in rows:
        if cpu_ratio is None:
            shown, cpu = (f"{value:.0f} MB", f"{floor:.1f} MB"), "-"
        else:
            shown, cpu = (fmt_s(value), fmt_s(floor)), f"{cpu_ratio:.2f}"
        out(f"| {label} | {shown[0]} | {shown[1]} | {value / floor:.2f} | {cpu} | {target:g} | "
            f"{verdict(value / floor <= target)} |")


def summary(results: dict[tuple, dict], sizes: list[str], out) -> None:
    out()
    out("### JSON against YAML\n")
    out("Speed-up of `-o json` over YAML, for the whole render and for the output floors alone.\n")
    out("| size | layout | tier | render yaml/json | floor yaml/json |")
    out("|---|---|---|---:|---:|")
    for key, r in results.items():
        if len(key) != 4:
            continue
        name, layout, tier, fmt = key
        if fmt != "yaml" or name not in ("L", "XL") or (name, layout, tier, "json") not in results:
            continue
        j = results[(name, layout, tier, "json")]
        out(f"| {name} | {layout} | {tier} | {r['time'] / j['time']:.2f} | {r['floor'] / j['floor']:.2f} |")
    pairs = [(a, b) for a, b in (("L", "XL"), ("M", "L")) if a in sizes and b in sizes]
    for small, large in pairs:
        out()
        out(f"### Growth {small} -> {large}\n")
        out(f"Time ratio against output-size ratio (linear: the time ratio is at most {LINEARITY_SLACK:g}x the "
            "size ratio).\n")
        out("| layout | tier | fmt | output ratio | time ratio | time/size | CPU ratio | target |")
        out("|---|---|---|---:|---:|---:|---:|---|")
        for key, r in results.items():
            if len(key) != 4 or key[0] != small or (large, *key[1:]) not in results:
                continue
            _, layout, tier, fmt = key
            big = results[(large, layout, tier, fmt)]
            size_ratio = big["out"] / r["out"] if r["out"] else float("inf")
            time_ratio = big["time"] / r["time"]
            rel = time_ratio / size_ratio
            out(f"| {layout} | {tier} | {fmt} | {size_ratio:.2f} | {time_ratio:.2f} | {rel:.2f} | "
                f"{big['cpu'] / r['cpu']:.2f} | {verdict(rel <= LINEARITY_SLACK)} |")
    out()


if __name__ == "__main__":
    sys.exit(main())
