# connect-sso: build, test, lint and run the federation locally.
# Everything a fresh machine needs (Python venvs, cargo tools) is installed by these targets.

SHELL := /bin/bash
VENV := .venv
TOOLS_VENV := .venv-tools
FUNCTIONS := identity-center-app attribute-mapping saml-provider connect-user-import

.PHONY: help venv tools-venv test lint build local invoke bench fmt clippy clean lambda-binaries package publish

help:
	@echo "make local   - deploy template.yaml locally against the emulators: create, update, delete"
	@echo "make test    - every test (starts moto itself)"
	@echo "make lint    - sam validate --lint, and cfn-lint on the template as SAM translates it"
	@echo "make build   - sam build (cargo-lambda, arm64): all four functions in one cargo build"
	@echo "make package - the release: four arm64 zips and a packaged template (dist/), checksummed"
	@echo "make publish - upload dist/ to PACKAGE_BUCKET; SAR too with PUBLISH_SAR=1 (needs AWS credentials)"
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
	PATH="$(CURDIR)/$(TOOLS_VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 $(TOOLS_VENV)/bin/sam build --build-in-source

# What `sam build` runs for each function (template.yaml: `BuildMethod: makefile`). The first of
# the four builds all of them in ONE cargo invocation, so the dependency graph (features unified
# once) is compiled once and the four links run side by side; the other three find everything up
# to date. Needs cargo-lambda and zig on PATH (`make build` puts .venv-tools/bin there).
LAMBDA_BUILD := cargo lambda build --release --arm64 $(foreach function,$(FUNCTIONS),-p $(function))

lambda-binaries:
	$(LAMBDA_BUILD)

build-IdentityCenterAppFunction build-SamlProviderFunction build-AttributeMappingFunction build-ConnectUserImportFunction: lambda-binaries
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set: run this through sam build (make build)"; exit 2; }
	cp target/lambda/$(BINARY_OF_$(@:build-%=%))/bootstrap "$(ARTIFACTS_DIR)/bootstrap"

BINARY_OF_IdentityCenterAppFunction := identity-center-app
BINARY_OF_SamlProviderFunction := saml-provider
BINARY_OF_AttributeMappingFunction := attribute-mapping
BINARY_OF_ConnectUserImportFunction := connect-user-import

# The release, without a Rust toolchain needed to deploy it: dist/ gets the four arm64 zips, the
# README and LICENSE, packaged.yaml (template.yaml with every CodeUri pointing at the zips' S3
# location, as `sam package` writes it, plus the Serverless Application Repository metadata) and
# SHA256SUMS. Offline; nothing is uploaded (that is `make publish`). The packaged template is
# linted like template.yaml.
PACKAGE_BUCKET ?= connect-sso-artifacts
PACKAGE_PREFIX ?= connect-sso
VERSION ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' functions/saml-provider/Cargo.toml | head -n 1)

package: tools-venv
	rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/$(TOOLS_VENV)/bin:$$PATH" $(LAMBDA_BUILD) --output-format zip
	$(TOOLS_VENV)/bin/python scripts/package --bucket "$(PACKAGE_BUCKET)" --prefix "$(PACKAGE_PREFIX)" --version "$(VERSION)" --out dist $(if $(SOURCE_URL),--source-url "$(SOURCE_URL)")
	scripts/lint-template dist/packaged.yaml
	cd dist && sha256sum --check --quiet SHA256SUMS

# Uploads what `make package` wrote (the step that needs AWS credentials), then, with
# PUBLISH_SAR=1, publishes the application to the Serverless Application Repository.
publish: tools-venv
	$(TOOLS_VENV)/bin/python scripts/package --upload --bucket "$(PACKAGE_BUCKET)" --prefix "$(PACKAGE_PREFIX)" --version "$(VERSION)" --out dist $(if $(SOURCE_URL),--source-url "$(SOURCE_URL)")
	if [ "$(PUBLISH_SAR)" = 1 ]; then SAM_CLI_TELEMETRY=0 $(TOOLS_VENV)/bin/sam publish --template dist/packaged.yaml; fi

# Cold start, memory and package size of every function (BENCHMARKS.md); about 30 minutes cold.
bench: venv tools-venv
	rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/$(TOOLS_VENV)/bin:$$PATH" scripts/bench

clean:
	cargo clean
	rm -rf .aws-sam dist $(VENV) $(TOOLS_VENV)
