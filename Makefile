# kubectl-iomesh build and test entry points.
SHELL := /usr/bin/env bash
GO ?= go
# go.mod names the patched toolchain (served by the Go module proxy); let go fetch it even where
# the installed Go defaults to GOTOOLCHAIN=local.
export GOTOOLCHAIN ?= auto
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE ?= $(shell git log -1 --format=%cI 2>/dev/null)
PKG := github.com/kubectl-iomesh/kubectl-iomesh
LDFLAGS := -s -w -X $(PKG)/pkg/buildinfo.version=$(VERSION) -X $(PKG)/pkg/buildinfo.commit=$(COMMIT) -X $(PKG)/pkg/buildinfo.date=$(DATE)

.PHONY: help lint repro-check lint-workflows mutate mutate-changed demo demo-down build test vet fmt-check e2e krew-test fuzz vulncheck release-check bench bench-smoke dist krew-manifest test-all cluster-up cluster-down clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

demo: build ## Scale out and in on a local demo cluster (control plane, stand-in IOMesh, 5 nodes); left running
	hack/demo.sh up

demo-down: ## Stop the demo cluster and remove the routes it added
	hack/demo.sh down

build: ## Build bin/kubectl-iomesh
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/kubectl-iomesh ./cmd/kubectl-iomesh

fmt-check: ## gofmt on every Go file
	@out=$$(gofmt -l cmd pkg test 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet: ## go vet
	$(GO) vet ./...

lint: ## golangci-lint with .golangci.yaml (built into the tool cache on first use)
	hack/lint.sh

test: fmt-check vet ## Unit tests (no cluster), with the race detector and in shuffled order; then 3000 scale-in model schedules
	$(GO) test -race -shuffle=on ./...
	IOMESH_MODEL_SEEDS=3000 $(GO) test -count=1 -run '^TestModelScaleIn$$' ./pkg/scale

e2e: ## End-to-end suite on a local control plane (builds it on first use)
	hack/e2e.sh

dist: ## Release archives and checksums in dist/ (plain Go toolchain, deterministic)
	VERSION=$(VERSION) hack/dist.sh

krew-manifest: dist ## Render plugins/iomesh.yaml from .krew.yaml with the archives' checksums
	hack/krew-manifest.sh

krew-test: ## Validate the krew manifest and install the plugin with a real krew
	hack/krew-test.sh

bench: ## Benchmarks at 5, 50 and 255 nodes (writes docs/benchmarks-results.md)
	BENCH_MODE=full hack/bench.sh

bench-smoke: ## The benchmark once, small, to keep it working (CI)
	BENCH_MODE=smoke hack/bench.sh

fuzz: ## The fuzz targets, 15 seconds each, from their seed corpus
	$(GO) test -run '^$$' -fuzz '^FuzzReadReplicas$$' -fuzztime 15s ./pkg/values
	$(GO) test -run '^$$' -fuzz '^FuzzParseCount$$' -fuzztime 15s ./pkg/edition
	$(GO) test -run '^$$' -fuzz '^FuzzFromStatus$$' -fuzztime 15s ./pkg/edition

vulncheck: ## govulncheck against a vulnerability database built offline from golang.org/x/vulndb
	hack/vulncheck.sh

mutate: ## Mutation testing (gremlins) of the core packages; writes docs/testing.md
	hack/mutate.sh all

mutate-changed: ## Mutation testing of the core packages the last commit touched (CI; reports only)
	hack/mutate.sh changed || true

release-check: ## goreleaser check on .goreleaser.yaml
	hack/release-check.sh

repro-check: ## Build the linux/amd64 archive twice (two clones, two build caches) and compare
	hack/repro-check.sh

lint-workflows: ## actionlint on .github/workflows (the tag-triggered release)
	hack/lint-workflows.sh

test-all: test lint fuzz e2e krew-test repro-check vulncheck release-check lint-workflows bench-smoke mutate-changed ## Every test: unit, end-to-end, krew install, release config and workflow

cluster-up: ## Start the local control plane with 5 nodes
	hack/cluster.sh up && hack/cluster.sh nodes 5

cluster-down: ## Stop the local control plane
	hack/cluster.sh down

clean: ## Remove bin and dist
	rm -rf bin dist
