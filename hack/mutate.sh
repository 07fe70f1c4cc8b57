#!/usr/bin/env bash
# Mutation testing with gremlins over the core packages (the rules and the guard): writes each
# package's test efficacy (killed / killed+lived) and mutator coverage to docs/testing.md.
# Usage: hack/mutate.sh [all|changed]   (changed: the packages the last commit touched)
# MUTATE_WORKERS runs that many mutants at once (default 1); MUTATE_PACKAGE_TIMEOUT caps a package.
# It reports; it never fails the build.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(cd "$here/.." && pwd)
cd "$root"
GREMLINS_VERSION=v0.6.0
bin=$CACHE_ROOT/gremlins-$GREMLINS_VERSION/bin
if [ ! -x "$bin/gremlins" ]; then
  log "building gremlins $GREMLINS_VERSION"
  mkdir -p "$bin"
  GOBIN="$bin" go install "github.com/go-gremlins/gremlins/cmd/gremlins@$GREMLINS_VERSION" || { log "gremlins could not be built; no mutation report"; exit 0; }
fi
core="values edition placement iomeshcluster preflight scale render helmops snapshot output"
# MUTATE_PACKAGES narrows a full run (a report of those packages only).
core_all=$core
core=${MUTATE_PACKAGES:-$core}
pkgs=$core
# MUTATE_PACKAGES=none runs nothing and writes the report from the kept results.
[ "$pkgs" = none ] && pkgs=""
if [ "${1:-all}" = changed ]; then
  changed=$(git diff --name-only HEAD~1 -- pkg 2>/dev/null | awk -F/ '{print $2}' | sort -u)
  pkgs=""
  for p in $core; do
    if printf '%s\n' $changed | grep -qx "$p"; then pkgs="$pkgs $p"; fi
  done
  if [ -z "$pkgs" ]; then log "the last commit touched no core package"; exit 0; fi
  # CI's time is bounded: at most two packages a run (the rest: make mutate).
  set -- $pkgs
  if [ $# -gt 2 ]; then log "mutating $1 $2 only; run make mutate for ${*:3}"; pkgs="$1 $2"; fi
fi
out=$(mktemp -d)
report=$root/docs/testing.md
# Each package's last result is kept, so a narrowed run (MUTATE_PACKAGES) updates its rows and the
# report still lists every core package, each with the date of its run.
results=$CACHE_ROOT/mutate-results
mkdir -p "$results"
{
  echo "# Mutation testing"
  echo
  echo "\`make mutate\` runs gremlins $GREMLINS_VERSION over the core packages: each mutant (a flipped"
  echo "comparison, a changed boundary or operator) must make a unit test fail. Efficacy is killed /"
  echo "(killed + lived); coverage is the share of mutants that some test runs at all. Goals: 90%"
  echo "efficacy and 85% coverage. Every mutant that lives is listed below with the reason no test"
  echo "kills it (hack/mutants-equivalent.tsv), or as one a test should kill. The last column is the"
  echo "date of each package's run; the report was written on $(date -u +%Y-%m-%d) with $(go version | awk '{print $3}')."
  echo
  echo "gremlins takes coverage from Go's cover profile, which gives the case expression of an"
  echo "expressionless switch no block: such a mutant counts as not covered and is never tried, even"
  echo "when the tests run that case. The rules in pkg/preflight and pkg/snapshot branch with if"
  echo "chains for that reason. Coverage counts only a package's own tests: pkg/scale's cover the plan,"
  echo "the waiter and the scale-in rules, while its Helm, exec and Lease paths run in pkg/cmd's tests and"
  echo "the end-to-end suite, which gremlins does not see; pkg/helmops and pkg/output likewise. Every"
  echo "core package must reach 90% efficacy; coverage below 85% is shown as a goal not met."
  echo
  echo "| package | mutants | killed | lived | not covered | other (timed out, not viable) | efficacy | efficacy without equivalents | coverage | goals | run |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
} > "$out/head.md"
: > "$out/lived.md"
for p in $pkgs; do
  log "gremlins on pkg/$p"
  # A package's run is capped: the report says so rather than holding the build.
  # The timeout of one mutant's test run is the coefficient times the package's own test time:
  # high where that time is mostly the build, low where tests wait on timers (a mutant that
  # hangs would otherwise hold the run for minutes).
  coefficient=60
  case $p in scale) coefficient=20 ;; esac
  if timeout -k 10 "${MUTATE_PACKAGE_TIMEOUT:-300}" "$bin/gremlins" unleash --silent --workers "${MUTATE_WORKERS:-1}" --timeout-coefficient "$coefficient" -o "$out/$p.json" "./pkg/$p" >/dev/null 2>&1 &&
    [ -s "$out/$p.json" ]; then
    cp "$out/$p.json" "$results/$p.json"
    date -u +%Y-%m-%d > "$results/$p.date"
  else
    log "gremlins on pkg/$p did not finish within ${MUTATE_PACKAGE_TIMEOUT:-300}s; the report keeps its last result"
  fi
done
if [ "${1:-all}" = all ]; then pkgs=${MUTATE_REPORT_PACKAGES:-$core_all}; fi
for p in $pkgs; do
  python3 - "$results/$p.json" "$p" "$(cat "$results/$p.date" 2>/dev/null || echo never)" >>"$out/head.md" 2>>"$out/lived.md" <<'PY'
import json, sys
path, pkg, when = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    d = json.load(open(path))
except Exception as e:
    print(f"| {pkg} | no result yet | | | | | | | | | |"); sys.exit(0)
k, l, nc = d["mutants_killed"], d["mutants_lived"], d["mutants_not_covered"]
other = {}
for f in d["files"]:
    for m in f["mutations"]:
        if m["status"] not in ("KILLED", "LIVED", "NOT COVERED"):
            other[m["status"].lower()] = other.get(m["status"].lower(), 0) + 1
rest = ", ".join(f"{n} {s}" for s, n in sorted(other.items())) or "-"
# Known survivors, with the reason no test kills them (hack/mutants-equivalent.tsv).
known = {}
for line in open("hack/mutants-equivalent.tsv"):
    if line.startswith("#") or not line.strip():
        continue
    file, typ, code, why = line.rstrip("\n").split("\t")
    known[(file, typ, code)] = why
equivalent = 0
for f in d["files"]:
    for m in f["mutations"]:
        if m["status"] == "LIVED":
            name = f"pkg/{pkg}/{f['file_name']}"
            try:
                code = open(name).read().split("\n")[m["line"] - 1].strip()
            except (OSError, IndexError):
                code = ""
            why = known.get((name, m["type"], code), "no reason recorded: a test should kill it")
            if (name, m["type"], code) in known:
                equivalent += 1
            print(f"- {name}:{m['line']}:{m['column']} {m['type']} `{code}`: {why}", file=sys.stderr)
# The goals, judged without the survivors no test can kill.
eff = 100.0 * k / (k + l - equivalent) if k + l - equivalent > 0 else 100.0
goal = "met" if eff >= 90 and d["mutations_coverage"] >= 85 else "not met"
print(f"| {pkg} | {d['mutants_total']} | {k} | {l} ({equivalent} equivalent) | {nc} | {rest} | {d['test_efficacy']:.1f}% | {eff:.1f}% | {d['mutations_coverage']:.1f}% | {goal} | {when} |")
PY
done
if [ "${1:-all}" = all ]; then
  { cat "$out/head.md"; echo; echo "## Mutants that lived"; echo; cat "$out/lived.md"; } > "$report"
  log "wrote $report"
else
  cat "$out/head.md" "$out/lived.md"
fi
exit 0
