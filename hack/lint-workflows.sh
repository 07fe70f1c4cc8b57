#!/usr/bin/env bash
# Lints the GitHub workflows with actionlint (built from the Go module proxy, cached outside the
# clone): syntax, expressions, the inputs of the actions used, and the workflow's triggers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ACTIONLINT_VERSION=${ACTIONLINT_VERSION:-v1.7.12}
bin=$CACHE_ROOT/actionlint-$ACTIONLINT_VERSION/bin
install_tool "$bin" "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" actionlint
cd "$here/.."
files=(.github/workflows/*.yml)
"$bin/actionlint" "${files[@]}"
echo "${#files[@]} workflow(s) linted, 0 problems"
