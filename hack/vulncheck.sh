#!/usr/bin/env bash
# govulncheck over the module, offline: the vulnerability database is built from the OSV files
# that golang.org/x/vulndb ships as a Go module (the machine reaches the Go module proxy but not
# vuln.go.dev), with that module's own indexdb command.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
VULN_VERSION=${VULN_VERSION:-v1.9.0}
VULNDB_VERSION=${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}
bin=$CACHE_ROOT/vuln-$VULN_VERSION/bin
db=$CACHE_ROOT/vulndb-$VULNDB_VERSION
if [ ! -x "$bin/govulncheck" ]; then
  GOBIN=$bin go install "golang.org/x/vuln/cmd/govulncheck@$VULN_VERSION"
fi
if [ ! -f "$db/index/db.json" ]; then
  src=$(go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  GOBIN=$bin go install "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION"
  rm -rf "$db.tmp" && mkdir -p "$db.tmp"
  "$bin/indexdb" -vulns "$src/data/osv" -out "$db.tmp"
  rm -rf "$db" && mv "$db.tmp" "$db"
fi
cd "$here/.."
"$bin/govulncheck" -db "file://$db" ./...
