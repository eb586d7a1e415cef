# fleetbot — make help lists the targets.
SHELL := /usr/bin/env bash
GO ?= go
GOLANGCI_LINT_VERSION := v2.15.0
BINDIR := bin
PKGS := ./...
IMAGE ?= ghcr.io/fleetbot/fleetbot

# The version built into the binary and the image, and the Helm chart's
# appVersion (a test in charts/ holds them equal). `fleetbot version` prints
# it with the commit and the build's date.
VERSION := $(shell cat VERSION)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)$(if $(shell git status --porcelain --untracked-files=no 2>/dev/null),-modified)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
CLI := github.com/fleetbot/fleetbot/internal/cli
LDFLAGS := -X $(CLI).version=$(VERSION) -X $(CLI).commit=$(COMMIT) -X $(CLI).date=$(BUILD_DATE)

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: deps
deps: ## Install what the tests use: npm tools (dynalite, GitHub's OpenAPI description and GraphQL schema, webhook examples), Debian's prometheus and chromium
	@tools/install-debian-packages
	@if [ -f tools/npm/package-lock.json ]; then \
		npm ci --prefix tools/npm --no-audit --no-fund --loglevel=error; \
	fi

.PHONY: build
build: ## Build bin/fleetbot and bin/fleetbot-server (which fleetbot runs for serve, store, campaign, sandbox, demo), with their version, commit and build date
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BINDIR)/ ./cmd/fleetbot ./cmd/fleetbot-server

.PHONY: image
image: ## Build the container image ghcr.io/fleetbot/fleetbot:VERSION (IMAGE= to rename it)
	docker build --build-arg COMMIT=$(COMMIT) --build-arg BUILD_DATE=$(BUILD_DATE) -t $(IMAGE):$(VERSION) .

.PHONY: fmt-check
fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

.PHONY: vet
vet:
	$(GO) vet $(PKGS)
	$(GO) -C charts vet ./...

.PHONY: test
# The crash tests run on their own, after the others: they kill and freeze
# serve replicas on wall-clock leases, and the end-to-end demo tests running
# beside them on a 2-core machine starve them of CPU.
CRASHTEST := ./internal/crashtest
test: deps fmt-check vet ## Check formatting, vet, and run every test with the race detector (the crash tests last, alone), then the chart's
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list $(PKGS) | grep -v '/internal/crashtest$$')
	$(GO) test -race -count=1 -timeout 20m $(CRASHTEST)
	$(MAKE) --no-print-directory chart

# The chart's tests are a module of their own (charts/go.mod), with Helm
# pinned as a Go tool; they start Helm and build fleetbot, and have no
# concurrency of their own for the race detector to watch.
.PHONY: chart
chart: ## Test the Helm chart: helm lint and template over the value sets, the schema, the versions
	$(GO) -C charts test -count=1 ./...

.PHONY: lint
lint: ## Run golangci-lint at a pinned version
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) run $(PKGS)
	cd charts && $(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) run ./...

.PHONY: loadtest
loadtest: ## Send signed webhooks to fleetbot serve at 500, 1,000 and 2,000 a second for 30 s each, then drain a backlog of 30,000; prints the figures of BENCHMARKS.md
	$(GO) test -count=1 -timeout 30m -run '^TestLoad$$' -v ./internal/loadtest -args -loadtest.rates=500,1000,2000 -loadtest.duration=30s -loadtest.report=$(CURDIR)/loadtest.md
	@cat loadtest.md
	$(GO) test -count=1 -timeout 30m -run '^TestBacklogDrain$$' -v ./internal/loadtest -args -loadtest.backlog=30000

.PHONY: crashtest
crashtest: ## Run a three-wave campaign through fleetbot serve killed 40 times in each of 5 runs (200 kills), and once with no kill; prints each run's wall time
	$(GO) test -count=1 -timeout 60m -run '^TestCrashBolt$$' -v ./internal/crashtest -args -crashtest.kills=40 -crashtest.seeds=5 -crashtest.baseline

.PHONY: killtest
killtest: ## Kill fleetbot serve with SIGKILL while 1,000 deliveries are handled, 3 times in each of 5 runs; prints what was taken up again after a kill
	$(GO) test -count=1 -timeout 30m -run '^TestServeKilled$$' -v ./cmd/fleetbot-server -args -killtest.deliveries=1000 -killtest.seeds=5 -killtest.kills=3

.PHONY: bench
bench: deps ## Run the benchmarks (results are kept in BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchmem -count=1 $(PKGS)

.PHONY: screenshots
screenshots: ## Rewrite docs/img/status-page*.png: the status page after two waves of the end-to-end campaign, in headless Chromium
	$(GO) test ./internal/stack -run '^TestEndToEndStatusPage$$' -count=1 -args -screenshots=$(CURDIR)/docs/img

.PHONY: demo
demo: ## Run the sample EKS 1.29 -> 1.30 campaign end to end on this machine: local GitHub, simulated fleet, the real bot
	$(GO) run ./cmd/fleetbot-server demo

.PHONY: tidy-check
tidy-check: ## Check that go mod tidy leaves no diff, in both modules
	$(GO) mod tidy -diff
	$(GO) -C charts mod tidy -diff
