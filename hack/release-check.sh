#!/usr/bin/env bash
# Checks the goreleaser configuration with the real goreleaser (built from the Go module proxy
# and cached outside the clone), so packaging breakage shows before a tag.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
GORELEASER_VERSION=${GORELEASER_VERSION:-v2.15.1}
bin=$CACHE_ROOT/goreleaser-$GORELEASER_VERSION/bin
if [ ! -x "$bin/goreleaser" ]; then
  log "building goreleaser $GORELEASER_VERSION (several minutes, once)"
  GOBIN=$bin CGO_ENABLED=0 go install "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION"
fi
cd "$here/.."
"$bin/goreleaser" check
echo "1 passed, 0 failed"
