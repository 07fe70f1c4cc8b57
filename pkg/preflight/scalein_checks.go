package preflight

import (
	"fmt"
	"strings"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
)

// The removal checks' IDs.
const (
	MappedCheckID    = "scale-in.chunk-mapped"
	MigrationCheckID = "scale-in.migration-idle"
	CapacityCheckID  = "scale-in.capacity"
	// OneDirectionCheckID refuses a target that lowers one count and raises the other.
	OneDirectionCheckID = "scale-in.one-direction"
)

// Capacity thresholds: above CapacityWarn percent of the remaining data capacity in use the
// docs add chunks rather than remove them; above 100 the data does not fit.
const CapacityWarn = 80

func checkChunkScaleIn(f *Facts) Result {
	return scaleIn(f, f.Target.Chunk, f.TargetChunk, f.Replicas.Chunk, "chunk", func() Result {
		s := f.ScaleIn
		if why := storageMissing(f); why != "" || !f.Storage.Summary {
			if why == "" {
				why = "status.summary.chunkSummary is " + iomeshcluster.NotReported
			}
			return bad(Fail, fmt.Sprintf("the target %d is below the current %d chunk pods, but %s: which chunk each pod serves cannot be known, and removing a pod whose chunk is still registered loses data", f.TargetChunk, f.Replicas.Chunk, why),
				"Remove chunk pods only while IOMesh reports its chunks (`kubectl get iomesh "+f.Release+" -n "+f.Namespace+" -o yaml`, status.summary.chunkSummary)", DocScaleIn)
		}
		how := "each lowered by one helm upgrade; the operator unregisters the chunk"
		if s != nil && s.Procedure.Unregister {
			how = "each chunk unregistered on the meta leader first, then the count lowered by one"
		}
		return pass("chunk pods go from %d to %d, one at a time from %s-chunk-%d: %s", f.Replicas.Chunk, f.TargetChunk, f.Release, f.Replicas.Chunk-1, how)
	})
}

func checkMetaScaleIn(f *Facts) Result {
	return scaleIn(f, f.Target.Meta, f.TargetMeta, f.Replicas.Meta, "meta", func() Result {
		s := f.ScaleIn
		if s == nil || !s.Procedure.MetaScaleIn {
			version := "this IOMesh version"
			if s != nil && s.Procedure.Version != "" {
				version = fmt.Sprintf("IOMesh %s (%s)", s.Procedure.Version, s.Procedure.From)
			}
			return bad(Fail, fmt.Sprintf("the target %d is below the current %d meta pods: %s does not support removing meta pods", f.TargetMeta, f.Replicas.Meta, version),
				"IOMesh 1.0.x removes chunk pods only; 1.2 removes meta pods one at a time (5 to 4 to 3). Keep --meta at its current count", DocScaleIn)
		}
		return pass("meta pods go from %d to %d, one helm upgrade per pod from %s-meta-%d", f.Replicas.Meta, f.TargetMeta, f.Release, f.Replicas.Meta-1)
	})
}

func checkMapped(f *Facts) Result {
	s := f.ScaleIn
	if s == nil || (len(s.Removals) == 0 && s.IDsErr == nil) {
		return skip("no chunk pod is removed")
	}
	hint := fmt.Sprintf("Name each removed pod's chunk, highest ordinal first, with one --chunk-id ID per pod (%s; `kubectl iomesh status -n %s --release %s` shows id, ip, node, status and used space)", s.Listing, f.Namespace, f.Release)
	if s.IDsErr != nil {
		return bad(Fail, s.IDsErr.Error()+". Unregistering the wrong chunk, then removing the pod that still holds data, loses data", hint, DocScaleIn)
	}
	var ok, problems, unconfirmed []string
	for _, r := range s.Removals {
		switch {
		case r.Problem != "":
			problems = append(problems, fmt.Sprintf("%s: %s", r.Pod, r.Problem))
		case r.Unregistered && r.By == iomeshcluster.ByNoChunk:
			ok = append(ok, fmt.Sprintf("%s holds no chunk, as stated with --no-chunk (every chunk IOMesh lists is another pod's)", r.Pod))
		case r.Unregistered:
			ok = append(ok, fmt.Sprintf("%s was never scheduled on a node: no chunk server ran there", r.Pod))
		case r.Left:
			ok = append(ok, fmt.Sprintf("%s served chunk %d, which an earlier run unregistered and IOMesh no longer lists", r.Pod, r.Chunk.ID))
		case r.Unconfirmed != "":
			unconfirmed = append(unconfirmed, fmt.Sprintf("%s: %s", r.Pod, r.Unconfirmed))
		default:
			ok = append(ok, fmt.Sprintf("%s on %s serves chunk %d (by %s)", r.Pod, orWord(r.Node, "no node"), r.Chunk.ID, r.By))
		}
	}
	if len(problems) > 0 {
		verdict := Fail
		if !s.Procedure.Unregister {
			verdict = Warn // the operator unregisters: the match only informs the capacity
		}
		return bad(verdict, "which chunk to unregister is not certain: "+strings.Join(problems, "; ")+". Unregistering the wrong chunk, then removing the pod that still holds data, loses data", hint, DocScaleIn)
	}
	if len(unconfirmed) > 0 && s.Procedure.Unregister {
		return bad(Warn, "named with --chunk-id but not confirmed: "+strings.Join(unconfirmed, "; "),
			"scale asks you to confirm each such chunk (and refuses under --yes); check the chunk's ip on the pod's node first. "+s.Listing, DocScaleIn)
	}
	return pass("%s", strings.Join(ok, "; "))
}

func checkMigration(f *Facts) Result {
	s := f.ScaleIn
	if s == nil {
		return skip("no pod is removed")
	}
	if s.InFlight != 0 {
		if _, listed := f.Storage.Listed(s.InFlight); listed {
			return pass("chunk %d of %s is being unregistered (started by %s): this run waits while its data moves, and sends the unregister again if IOMesh shows no migration", s.InFlight, s.InFlightPod, s.InFlightBy)
		}
	}
	cmd := fmt.Sprintf("kubectl exec -n %s %s -c iomesh-meta -- /opt/iomesh/iomeshctl summary cluster | egrep \"recovers|migrates\"", f.Namespace, orWord(s.MigrationPod, "<meta leader>"))
	if s.MigrationErr != nil {
		return bad(Error, "cannot read recovery and migration on the meta leader: "+s.MigrationErr.Error(), "Run `"+cmd+"` yourself; remove pods only when every value is 0", DocReplaceDisk)
	}
	if s.Migration == nil {
		return skip("`iomeshctl summary cluster` was not run")
	}
	if busy := s.Migration.Busy(); len(busy) > 0 {
		return bad(Fail, fmt.Sprintf("IOMesh is recovering or migrating data (on %s): %s", s.MigrationPod, iomeshcluster.Join(busy)),
			"Wait until every value is 0 (`"+cmd+"`), then run the same command again", DocReplaceDisk)
	}
	return pass("every recover and migrate value is 0 (%s on %s)", output.Plural(len(s.Migration.Values), "line"), s.MigrationPod)
}

func checkCapacity(f *Facts) Result {
	s := f.ScaleIn
	if s == nil || len(s.Removals) == 0 {
		return skip("no chunk pod is removed")
	}
	if s.RoomErr != nil {
		return bad(Fail, "cannot tell whether the remaining chunks hold the data: "+s.RoomErr.Error(), "Remove chunk pods only while IOMesh reports each chunk's capacity and the cluster's used data", DocScaleIn)
	}
	r := s.Room
	pct := r.Percent()
	text := fmt.Sprintf("%s of data in use against %s of data capacity left once %s leaves (%.1f%%)", placement.HumanBytes(r.Used), placement.HumanBytes(r.Remaining), placement.HumanBytes(r.Leaving), pct)
	switch {
	case pct > 100:
		return bad(Fail, "the data does not fit: "+text, fmt.Sprintf("Remove fewer chunk pods, or free space first: the remaining chunks must hold all %s", placement.HumanBytes(r.Used)), DocScaleIn)
	case pct > CapacityWarn:
		return bad(Warn, fmt.Sprintf("above %d%%: %s", CapacityWarn, text), fmt.Sprintf("The docs add chunks above %d%% in use; consider removing fewer", CapacityWarn), DocScaleOut)
	}
	return pass("%s", text)
}

func checkLeaderKept(f *Facts) Result {
	s := f.ScaleIn
	if s == nil || len(s.MetaRemovals) == 0 {
		return skip("no meta pod is removed")
	}
	for _, p := range s.MetaRemovals {
		for _, l := range f.LeaderPods {
			if p == l {
				return bad(Warn, fmt.Sprintf("%s, which is removed, is the meta leader (%s)", p, iomeshcluster.LeaderLabel),
					"IOMesh elects another leader when it goes, and I/O pauses for the election; move the leader off it first (the node-replacement doc triggers a meta leader switch), or accept the pause", DocScaleIn)
			}
		}
	}
	return pass("the meta leader (%s) stays", orWord(strings.Join(f.LeaderPods, ", "), "none labelled"))
}

// checkOneDirection refuses a target that lowers one count and raises the other: a scale-in
// and a scale-out are planned, checked and resumed apart, so each is its own command, the raise
// first (the chunks it adds give the scale-in room).
func checkOneDirection(f *Facts) Result {
	if f.ReplicasErr != nil || f.Target.Chunk == nil || f.Target.Meta == nil {
		return skip("the target changes one count, or the counts are not known")
	}
	c, m := *f.Target.Chunk, *f.Target.Meta
	rc, rm := f.Replicas.Chunk, f.Replicas.Meta
	if (c < rc && m > rm) || (c > rc && m < rm) {
		up, down := fmt.Sprintf("--meta %d", m), fmt.Sprintf("--chunk %d", c)
		if c > rc {
			up, down = fmt.Sprintf("--chunk %d", c), fmt.Sprintf("--meta %d", m)
		}
		return bad(Fail, fmt.Sprintf("the target lowers one count and raises the other (chunk %d -> %d, meta %d -> %d): a scale moves the counts one way", rc, c, rm, m),
			fmt.Sprintf("Run the raise first, then the lower: `kubectl iomesh scale %s -n %s --release %s`, then `kubectl iomesh scale %s -n %s --release %s`", up, f.Namespace, f.Release, down, f.Namespace, f.Release), DocScaleIn)
	}
	if c >= rc && m >= rm {
		return skip("no count is lowered")
	}
	return pass("chunk %d -> %d, meta %d -> %d: both down or unchanged", rc, c, rm, m)
}
