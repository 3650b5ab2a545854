# amp: run `make help` for the targets.
GO       ?= go
BIN      ?= bin/amp
FUZZTIME ?= 60s
BENCH_LATENCY ?= 100ms

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_\/-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build the amp binary into bin/
	$(GO) build -o $(BIN) ./cmd/amp

.PHONY: test
test: lint ## lint, run every test with the race detector, then the large tests (100k backfill, crash, 10k async writes) without it
	$(GO) test -race -short -count=1 ./...
	$(GO) test -count=1 -run 'TestBackfillSalesforce100k|TestCrash|TestWrite10kAsync' ./runtime/server/

.PHONY: lint
lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

.PHONY: test-browser
test-browser: ## drive examples/react-embed in headless Chromium against a runtime and the fake Salesforce (needs node, npm, chromium)
	cd examples/react-embed && npm ci --no-audit --no-fund
	$(GO) test -tags browser -count=1 -v ./examples/react-embed/e2e/

.PHONY: golden/update
golden/update: ## rewrite golden files (diagnostics, diffs, CLI scripts); review the diff before committing
	$(GO) test ./manifest/ ./cmd/amp/ -update

.PHONY: bench
bench: ## run the benchmarks, then the provider-ceiling bench (fakes at BENCH_LATENCY, default 100ms; see BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchmem ./manifest/ ./providers/... ./runtime/mapping/ ./runtime/sqlite/ ./runtime/delivery/
	$(GO) test -run '^$$' -bench 'BenchmarkBackfill|BenchmarkWriteAsync10k' -benchtime 1x ./runtime/server/
	$(GO) run ./bench -latency $(BENCH_LATENCY) -out bench/results.json

.PHONY: fuzz
fuzz: ## fuzz Load+Validate for FUZZTIME (default 60s)
	$(GO) test -run '^$$' -fuzz FuzzLoadValidate -fuzztime $(FUZZTIME) ./manifest/

.PHONY: demo
demo: ## run amp end to end on this machine: fake CRMs, OAuth, backfills, signed webhooks (Ctrl-C stops)
	$(GO) run ./cmd/amp demo

.PHONY: clean
clean: ## remove build output
	rm -rf bin
