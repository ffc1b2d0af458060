"""Single-token mutation testing for meshfed's core modules (`make mutation`).

For each module it makes every single-token mutant (a comparison operator moved to its neighbour,
`and`/`or` swapped, `+`/`-` swapped, an integer constant moved by one, `True`/`False` swapped),
runs a pytest selection against each, and prints which mutants no test kills: a survivor is
either a gap in the tests or a change that alters no behaviour (an equivalent mutant).

The checkout is never modified: each mutant is written into a temporary copy of the `meshfed`
package that PYTHONPATH puts in front of the editable install (for the tests' subprocesses too).
Mutated modules are regenerated with `ast.unparse`, so before any mutant the unmutated, unparsed
module must pass the selection.

    python scripts/mutate.py plugin/meshfed/values/merge.py --tests tests/test_merge.py tests/test_golden.py

`--sample N` runs N of the mutants, drawn with a fixed seed (`--seed`), so that a large module gets
a repeatable score in a fraction of the time. `--survivors FILE` runs only the mutants an earlier
run (its output in FILE) listed as survivors: after adding tests, which of them the tests now kill.
"""
from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

_SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
    ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
    ast.And: ast.Or, ast.Or: ast.And, ast.Add: ast.Sub, ast.Sub: ast.Add,
}
_SYMBOLS: dict[type, str] = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=", ast.In: "in",
    ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not", ast.And: "and", ast.Or: "or", ast.Add: "+",
    ast.Sub: "-",
}

Site = tuple[str, str, Callable[[], None]]  # line:column, what changes, how to apply it to the tree


def _swap(node: ast.AST, i: int | None) -> Callable[[], None]:
    """Swap operator `i` of a comparison, or the operator of a BoolOp or BinOp (`i` None)."""
    def apply() -> None:
        if i is None:
            node.op = _SWAPS[type(node.op)]()  # type: ignore[attr-defined]
        else:
            node.ops[i] = _SWAPS[type(node.ops[i])]()  # type: ignore[attr-defined]
    return apply


def _set_value(node: ast.Constant, value: object) -> Callable[[], None]:
    def apply() -> None:
        node.value = value
    return apply


def sites(tree: ast.AST) -> Iterator[Site]:
    """Every single-token mutation of `tree`, in a fixed order (ast.walk's), not yet applied."""
    for node in ast.walk(tree):
        where = f"{getattr(node, 'lineno', 0)}:{getattr(node, 'col_offset', 0) + 1}"
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in _SWAPS:
                    yield where, f"{_SYMBOLS[type(op)]} -> {_SYMBOLS[_SWAPS[type(op)]]}", _swap(node, i)
        elif isinstance(node, (ast.BoolOp, ast.BinOp)) and type(node.op) in _SWAPS:
            old, new = _SYMBOLS[type(node.op)], _SYMBOLS[_SWAPS[type(node.op)]]
            yield where, f"{old} -> {new}", _swap(node, None)
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            yield where, f"{node.value} -> {not node.value}", _set_value(node, not node.value)
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            for delta in (1, -1):
                yield where, f"{node.value} -> {node.value + delta}", _set_value(node, node.value + delta)


def mutant_source(source: str, index: int | None) -> str:
    """The module with mutation number `index` applied (None: unmutated, but unparsed alike)."""
    tree = ast.parse(source)
    if index is not None:
        for i, (_, _, apply) in enumerate(sites(tree)):
            if i == index:
                apply()
                break
    return ast.unparse(tree) + "\n"


@dataclass(frozen=True)
class Result:
    where: str  # line:column of the mutated node
    change: str
    outcome: str  # killed, survived or timeout (counted as killed)


def run_tests(package: Path, module: Path, text: str, tests: list[str], timeout: float) -> str:
    """Run the selection against a temporary copy of the package with `module` replaced by `text`."""
    with tempfile.TemporaryDirectory(prefix="meshfed-mutant-") as tmp:
        copy = Path(tmp) / package.name
        shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
        (copy / module.relative_to(package)).write_text(text, "utf-8")
        env = {**os.environ, "PYTHONPATH": tmp, "PYTHONDONTWRITEBYTECODE": "1"}
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
        try:
            done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return "timeout"
        return "survived" if done.returncode == 0 else "killed"


def chosen(count: int, sample: int | None, seed: int) -> list[int]:
    """The indices of the mutants to run: all of them, or `sample` drawn with `seed`, in order."""
    if sample is None or sample >= count:
        return list(range(count))
    return sorted(random.Random(seed).sample(range(count), sample))


def survivors_of(report: Path, module: Path) -> set[tuple[str, str]]:
    """(line:column, change) of each survivor an earlier run of `module` printed."""
    found = set()
    for line in report.read_text("utf-8").splitlines():
        name, _, rest = line.strip().partition(":")
        where, _, change = rest.partition(": ")
        if name == module.name and where.count(":") == 1 and " -> " in change:
            change, _, outcome = change.partition(": ")
            if outcome in ("", "survived"):
                found.add((where, change))
    return found


def mutate(module: Path, tests: list[str], jobs: int, timeout: float, log: Callable[[str], None],
           sample: int | None = None, seed: int = 0, only: set[tuple[str, str]] | None = None) -> list[Result]:
    """Run every mutant of `module` (or a sample); raise if the unmutated module fails the selection."""
    package = module.parent
    while (package.parent / "__init__.py").is_file():
        package = package.parent
    source = module.read_text("utf-8")
    if run_tests(package, module, mutant_source(source, None), tests, timeout) != "survived":
        raise SystemExit(f"{module}: the unmutated module fails {' '.join(tests)}")
    found = [(where, change) for where, change, _ in sites(ast.parse(source))]

    def one(index: int) -> Result:
        where, change = found[index]
        result = Result(where, change, run_tests(package, module, mutant_source(source, index), tests, timeout))
        log(f"{module.name}:{where}: {change}: {result.outcome}")
        return result

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        indices = chosen(len(found), sample, seed)
        if only is not None:
            indices = [i for i in indices if found[i] in only]
        return list(pool.map(one, indices))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", type=Path)
    parser.add_argument("--tests", nargs="+", required=True, help="the pytest selection that must kill the mutants")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=120, help="seconds per mutant (a timeout counts as killed)")
    parser.add_argument("--sample", type=int, help="run this many of the mutants, drawn with --seed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--survivors", type=Path, metavar="FILE", help="run only the survivors an earlier run printed")
    args = parser.parse_args(argv)
    only = survivors_of(args.survivors, args.module) if args.survivors else None
    results = mutate(args.module.resolve(), args.tests, args.jobs, args.timeout, lambda s: print(s, flush=True),
                     args.sample, args.seed, only)
    killed = sum(r.outcome != "survived" for r in results)
    total = sum(1 for _ in sites(ast.parse(args.module.read_text("utf-8"))))
    drawn = f" (of {total}: {'the survivors listed' if only is not None else f'a sample, seed {args.seed}'})" \
        if len(results) < total else ""
    print(f"{args.module.name}: {killed} of {len(results)} mutants{drawn} killed"
          f" ({100 * killed / max(len(results), 1):.0f}%); survivors:")
    for r in sorted((r for r in results if r.outcome == "survived"), key=lambda r: tuple(map(int, r.where.split(":")))):
        print(f"  {args.module.name}:{r.where}: {r.change}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
