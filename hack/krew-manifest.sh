#!/usr/bin/env bash
# Renders the krew manifest from the krew-release-bot template .krew.yaml with the sha256 of the
# archives in dist/ (built by `make dist`). Usage: hack/krew-manifest.sh [OUT] [URL-BASE]
# OUT defaults to plugins/iomesh.yaml; URL-BASE replaces the release download URL (e.g. file://).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${1:-$root/plugins/iomesh.yaml}
base=${2:-}
sums=$root/dist/checksums.txt
[ -f "$sums" ] || { echo "no $sums: run make dist first" >&2; exit 1; }
tag=$(sed -n 's/.*kubectl-iomesh_\(.*\)_linux_amd64\.tar\.gz$/\1/p' "$sums")
[ -n "$tag" ] || { echo "no linux/amd64 archive in $sums" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
python3 - "$root/.krew.yaml" "$sums" "$tag" "$base" > "$out" <<'PY'
import re, sys
template, sums, tag, base = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
sha = {}
for line in open(sums):
    digest, name = line.split()
    sha[name] = digest
text = open(template).read()
def uri_and_sha(m):
    url = m.group(1).replace("{{ .TagName }}", tag)
    name = url.rsplit("/", 1)[1]
    if base:
        url = base.rstrip("/") + "/" + name
    if name not in sha:
        sys.exit("no checksum for " + name)
    return "uri: %s\n      sha256: %s" % (url, sha[name])
text = re.sub(r'\{\{\s*addURIAndSha "([^"]+)" \.TagName\s*\}\}', uri_and_sha, text)
text = text.replace("{{ .TagName }}", tag)
sys.stdout.write(text)
PY
echo "wrote $out for $tag" >&2
