#!/usr/bin/env bash
# Prints the objects of an official IOMesh chart as pkg/access/testdata/official-VERSION.txt lists
# them: `helm template iomesh -n iomesh-system` with the Helm 4 CLI the tests build, the chart's
# defaults, one line per object (hack/objectlist). The chart is a directory or a packaged .tgz,
# outside this clone; SOURCE says where it came from, for the header.
#
#   hack/official-objects.sh CHART "SOURCE" > pkg/access/testdata/official-vX.Y.Z.txt
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
chart=${1:?usage: official-objects.sh CHART SOURCE}
source=${2:?usage: official-objects.sh CHART SOURCE}
"$here/build-tools.sh" >&2
version=$("$HELM_BIN/helm" show chart "$chart" | sed -n 's/^version: *//p')
rendered=$(mktemp)
trap 'rm -f "$rendered"' EXIT
"$HELM_BIN/helm" template iomesh "$chart" -n iomesh-system > "$rendered"
echo "# IOMesh chart $version ($source), helm template iomesh -n iomesh-system:"
echo "# apiVersion kind namespace name hook-events roleRef [grants of an upgrade hook's role]"
cd "$here/.."
go run ./hack/objectlist < "$rendered"
