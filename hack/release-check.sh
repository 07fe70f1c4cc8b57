#!/usr/bin/env bash
# Checks the goreleaser configuration with the real goreleaser (built from the Go module proxy
# and cached outside the clone), so packaging breakage shows before a tag.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
GORELEASER_VERSION=${GORELEASER_VERSION:-v2.15.1}
bin=$CACHE_ROOT/goreleaser-$GORELEASER_VERSION/bin
install_tool "$bin" "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION" goreleaser
cd "$here/.."
"$bin/goreleaser" check
# The release notes are part of the release: the changelog must stay on.
python3 - <<'PY'
import re, sys
text = open(".goreleaser.yaml").read()
block = re.search(r"^changelog:\n((?:[ #].*\n|\n)*)", text, re.M)
if not block or re.search(r"^\s+disable:\s*true", block.group(1), re.M):
    sys.exit("the goreleaser changelog is off: release notes would be empty")
PY
echo "2 passed, 0 failed"
