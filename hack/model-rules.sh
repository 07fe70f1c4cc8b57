#!/usr/bin/env bash
# Takes out one rule of the scale-in's evidence model (docs/scale-in.md) at a time, in a scratch
# copy of the tree, and runs the model-based test against it: with any rule gone, some seeded
# schedule must remove a chunk pod whose chunk is registered. Prints a Markdown table of each
# rule, whether the model caught it, and the first failing seed to replay.
# Usage: hack/model-rules.sh [rule...]   (IOMESH_MODEL_SEEDS, default 3000, bounds each run)
set -euo pipefail
cd "$(dirname "$0")/.."

# name | file | Perl substitutions (over the whole file, separated by " ;; ") that take the rule
# out; each must match exactly once, so a rule whose code moved is reported, not silently kept.
rules=$(cat <<'EOF'
finished|pkg/scale/decide.go|s/if unreg && \(o\.Chunk == iomeshcluster\.Listed \|\| !o\.Finished\) \{/if unreg && o.Chunk == iomeshcluster.Listed {/
exit-status-proves-completion|pkg/inventory/iomeshctl.go|s/case !ok:\n(\s+)return out, ErrNoStatus/case !ok:\n$1return out, nil/
awaits-own-unregister|pkg/scale/decide.go|s/if o\.Running \|\| \(sent && !o\.Finished\) \{/if false {/ ;; s/if o\.Running \{\n(\s+)return Decision\{Phase: AwaitUnregister\}/if false {\n$1return Decision{Phase: AwaitUnregister}/
status-unknown-waits|pkg/scale/decide.go|s/switch o\.Chunk \{\n(\s+)case iomeshcluster\.Unknown:/switch o.Chunk {\n$1case iomeshcluster.Presence(99):/ ;; s/if s\.lowers\(\) && s\.Component == "chunk" && o\.Chunk == iomeshcluster\.Unknown \{/if false {/
status-lists-the-others|pkg/iomeshcluster/view.go|s/if len\(missing\) > 0 \{/if len(missing) > 0 && false {/
migration-idle|pkg/scale/decide.go|s/case \*o\.Migrating:(\s+\/\/[^\n]*\n\s+return Decision\{Phase: AwaitUnregister, Note: fmt\.Sprintf\("chunk %d is not in chunkSummary)/case o.Migrating != nil && *o.Migrating && false:$1/
migration-readable|pkg/scale/scalein_run.go|s/if _, m, err := r\.migration\(ctx\); err == nil && m != nil \{\n(\s+)busy := len\(m\.Busy\(\)\) > 0/if _, m, err := r.migration(ctx); true {\n$1busy := err == nil && m != nil && len(m.Busy()) > 0/
counts-agree-at-write|pkg/scale/decide.go|s/if agree, explained, text := o\.Live\.Agreement\(\); !agree \{/if agree, explained, text := o.Live.Agreement(); !agree && false {/
counts-agree-at-plan|pkg/preflight/counts.go|s/case !f\.Target\.Empty\(\) && written < c\.Live\(\):\n\s+worst = Fail/case !f.Target.Empty() && written < c.Live():/
no-other-chunk-on-the-pod|pkg/scale/decide.go|s/if o\.Holding != 0 \{/if o.Holding != 0 && false {/
version-unchanged|pkg/scale/decide.go|s/if o\.Version != expect \{\n(\s+)return stop\("%s, not the %d this step started from"/if o.Version != expect && false {\n$1return stop("%s, not the %d this step started from"/
lowered-elsewhere-stops|pkg/scale/decide.go|s/if unreg && \(o\.Chunk != iomeshcluster\.Gone \|\| !o\.Finished\) \{/if false {/
recheck-before-write|pkg/scale/run.go|s/func\(ctx context\.Context\) \(string, error\) \{ return r\.recheck\(ctx, i, s, sent\) \}/nil/
patch-conditional|pkg/scale/writer.go|s/doc\["metadata"\] = map\[string\]interface\{\}\{"resourceVersion": rv\}/_ = rv/
absence-is-not-emptiness|pkg/iomeshcluster/removal.go|s/case cl\.NoChunk\[r\.Pod\]:\n/case cl.NoChunk[r.Pod] || true:\n/
EOF
)

want=" $* "
seeds=${IOMESH_MODEL_SEEDS:-3000}
scratch=$(mktemp -d)
logs=${MODEL_RULES_LOGS:-$scratch}  # each rule's test output, kept when set
mkdir -p "$logs"
trap 'rm -rf "$scratch"' EXIT
echo "| rule taken out | caught | first failing seed (of $seeds) |"
echo "|---|---|---|"
status=0
while IFS='|' read -r name file subst; do
  [ -n "$name" ] || continue
  if [ $# -gt 0 ] && [[ $want != *" $name "* ]]; then continue; fi
  rm -rf "$scratch/tree" && mkdir -p "$scratch/tree"
  tar -C . --exclude=./.git -cf - . | tar -C "$scratch/tree" -xf -
  prog=""
  while [ -n "$subst" ]; do
    part=${subst%% ;; *}
    prog+="\$bad++ if ($part) != 1; "
    [ "$part" = "$subst" ] && subst="" || subst=${subst#* ;; }
  done
  if ! perl -0 -i -pe "$prog END { exit(\$bad ? 9 : 0) }" "$scratch/tree/$file"; then
    echo "| $name | the rule's code was not found in $file: update hack/model-rules.sh | |"
    status=1
    continue
  fi
  log="$logs/$name.log"
  if (cd "$scratch/tree" && IOMESH_MODEL_SEEDS=$seeds go test ./pkg/scale -run '^TestModelScaleIn$' -count=1 >"$log" 2>&1); then
    echo "| $name | **no**: $seeds schedules passed without it | |"
    status=1
  elif seed=$(grep -om1 'seed [0-9]*: step' "$log" | grep -o '[0-9]*' | head -1) && [ -n "$seed" ]; then
    echo "| $name | yes | $seed |"
  else
    echo "| $name | the test failed otherwise: $(grep -m1 -E 'only [0-9]+ of|panic|FAIL:' "$log" | head -c 200) | |"
    status=1
  fi
done <<<"$rules"
exit $status
