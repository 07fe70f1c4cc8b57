#!/usr/bin/env bash
# Runs golangci-lint (built from the Go module proxy into the cache outside the clone, once) with
# the committed .golangci.yaml.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
GOLANGCI_VERSION=${GOLANGCI_VERSION:-v2.15.0}
bin=$CACHE_ROOT/golangci-lint-$GOLANGCI_VERSION/bin
install_tool "$bin" "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_VERSION" golangci-lint
cd "$here/.."
"$bin/golangci-lint" run --build-tags e2e ./...
