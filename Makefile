# fleetbot — make help lists the targets.
SHELL := /usr/bin/env bash
GO ?= go
GOLANGCI_LINT_VERSION := v2.15.0
BIN := bin/fleetbot
PKGS := ./...

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: deps
deps: ## Install what the tests use: npm tools (dynalite, GitHub's OpenAPI description, webhook examples), Debian's prometheus and chromium
	@tools/install-debian-packages
	@if [ -f tools/npm/package-lock.json ]; then \
		npm ci --prefix tools/npm --no-audit --no-fund --loglevel=error; \
	fi

.PHONY: build
build: ## Build bin/fleetbot
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/fleetbot

.PHONY: fmt-check
fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

.PHONY: vet
vet:
	$(GO) vet $(PKGS)

.PHONY: test
test: deps fmt-check vet ## Check formatting, vet, and run every test with the race detector
	$(GO) test -race -count=1 $(PKGS)

.PHONY: lint
lint: ## Run golangci-lint at a pinned version
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) run $(PKGS)

.PHONY: bench
bench: deps ## Run the benchmarks (results are kept in BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchmem -count=1 $(PKGS)

.PHONY: screenshots
screenshots: ## Rewrite docs/img/status-page*.png: the status page after two waves of the end-to-end campaign, in headless Chromium
	$(GO) test ./internal/stack -run '^TestEndToEndStatusPage$$' -count=1 -args -screenshots=$(CURDIR)/docs/img

.PHONY: demo
demo: ## Run the sample EKS 1.29 -> 1.30 campaign end to end on this machine: local GitHub, simulated fleet, the real bot
	$(GO) run ./cmd/fleetbot demo

.PHONY: tidy-check
tidy-check: ## Check that go mod tidy leaves no diff
	$(GO) mod tidy -diff
