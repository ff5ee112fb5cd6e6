# connect-sso: build, test, lint and run the federation locally.
# Everything a fresh machine needs (Python venvs, cargo tools) is installed by these targets.

SHELL := /bin/bash
VENV := .venv
TOOLS_VENV := .venv-tools
FUNCTIONS := identity-center-app attribute-mapping saml-provider connect-user-import

.PHONY: help venv tools-venv test lint build local invoke bench fmt clippy clean

help:
	@echo "make local   - deploy template.yaml locally against the emulators: create, update, delete"
	@echo "make test    - every test (starts moto itself)"
	@echo "make lint    - sam validate --lint, and cfn-lint on the template as SAM translates it"
	@echo "make build   - sam build (cargo-lambda, arm64)"
	@echo "make invoke FN=<function> EVENT=<events/...json> - one event through one function, locally"
	@echo "make bench   - cold start, memory and package size of every function"

$(VENV)/.installed: requirements-test.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

venv: $(VENV)/.installed

$(TOOLS_VENV)/.installed: requirements-tools.txt
	python3 -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-tools.txt
	touch $@

tools-venv: $(TOOLS_VENV)/.installed

# The end-to-end tests run the compiled function binaries, so build them before testing.
test: venv
	cargo build --workspace --bins
	scripts/with-moto cargo test --workspace

# template.yaml deployed on this machine: create -> update -> delete, every resource reported.
local: venv
	cargo build --workspace --bins
	scripts/with-moto target/debug/local-stack lifecycle --template template.yaml

invoke: venv
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=<function> EVENT=events/<function>/create.json"; exit 2; }
	cargo build --workspace --bins
	scripts/with-moto target/debug/local-stack invoke $(FN) $(EVENT)

fmt:
	cargo fmt --all

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

lint: tools-venv
	scripts/lint-template

build: tools-venv
	rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/$(TOOLS_VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 $(TOOLS_VENV)/bin/sam build

# Cold start, memory and package size of every function (BENCHMARKS.md); about 30 minutes cold.
bench: venv tools-venv
	rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/$(TOOLS_VENV)/bin:$$PATH" scripts/bench

clean:
	cargo clean
	rm -rf .aws-sam $(VENV) $(TOOLS_VENV)
