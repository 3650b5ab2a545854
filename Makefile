# amp: run `make help` for the targets.
GO       ?= go
BIN      ?= bin/amp
FUZZTIME ?= 60s

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_\/-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build the amp binary into bin/
	$(GO) build -o $(BIN) ./cmd/amp

.PHONY: test
test: lint ## lint, then run every test (fuzz seed corpora included) with the race detector
	$(GO) test -race -count=1 ./...

.PHONY: lint
lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

.PHONY: golden/update
golden/update: ## rewrite golden files (diagnostics, diffs, CLI scripts); review the diff before committing
	$(GO) test ./manifest/ ./cmd/amp/ -update

.PHONY: bench
bench: ## run the benchmarks: manifest validation, and each connector against its fake
	$(GO) test -run '^$$' -bench . -benchmem ./manifest/ ./providers/...

.PHONY: fuzz
fuzz: ## fuzz Load+Validate for FUZZTIME (default 60s)
	$(GO) test -run '^$$' -fuzz FuzzLoadValidate -fuzztime $(FUZZTIME) ./manifest/

.PHONY: demo
demo: build ## validate, scope and diff the manifests in examples/ (the runtime demo comes with amp serve)
	@echo "amp demo: the runtime (amp serve) is not built yet, so this demo runs the manifest toolchain over examples/."
	@echo
	@echo "== amp validate examples/*"
	@$(BIN) validate examples/salesforce examples/hubspot examples/dynamics examples/unified
	@echo
	@echo "== amp scopes examples/hubspot   (reads deals and companies, writes companies: no contacts scope)"
	@$(BIN) scopes examples/hubspot
	@echo
	@echo "== amp scopes examples/salesforce"
	@$(BIN) scopes examples/salesforce
	@echo
	@echo "== amp diff examples/salesforce examples/salesforce-next   (what a reviewer sees in the pull request)"
	@$(BIN) diff examples/salesforce examples/salesforce-next
	@echo
	@echo "== amp diff --format markdown (the same, as a PR comment)"
	@$(BIN) diff --format markdown examples/salesforce examples/salesforce-next

.PHONY: clean
clean: ## remove build output
	rm -rf bin
