package snapshot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
)

// Removes reports whether target is below the current counts, and the counts it goes to.
func (s *Snapshot) Removes(target preflight.Target) (chunkTo, metaTo int, ok bool) {
	if s.ReplicasErr != nil {
		return 0, 0, false
	}
	c := s.Replicas.To(target.Chunk, target.Meta)
	return c.ToChunk, c.ToMeta, c.Removes()
}

// ReadScaleIn reads what removing pods for target needs into s.ScaleIn: the procedure for the
// version, each chunk pod's chunk (ids are the ones the user named), the room left, the Lease
// of an earlier run, and `iomeshctl summary cluster` on the meta leader. It does nothing when
// target removes no pod.
func (s *Snapshot) ReadScaleIn(ctx context.Context, r inventory.Reader, target preflight.Target, ids []int64, noChunk []string) {
	chunkTo, metaTo, ok := s.Removes(target)
	if !ok {
		return
	}
	in := &preflight.ScaleInFacts{}
	spec := ""
	if s.Cluster.Object != nil {
		spec = s.Cluster.Object.Spec.Version
	}
	in.Procedure = iomeshcluster.ProcedureFor(spec, s.BaseInfo.ChartVersion)
	var recorded map[string]int64
	in.Lowering = inventory.Lowering{To: -1}
	var removed map[string]int64
	lease, err := r.Lease(ctx)
	if err == nil && lease.Object != nil {
		in.Lowering, removed = lease.Lowering, lease.Removed
	}
	if err == nil && lease.Unregistering != 0 {
		in.InFlight, in.InFlightPod, in.InFlightBy = lease.Unregistering, lease.Pod, "an earlier run"
		if lease.Holder != "" {
			in.InFlightBy = lease.Holder
		}
		recorded = map[string]int64{lease.Pod: lease.Unregistering}
	}
	for o := s.Replicas.Meta - 1; o >= metaTo; o-- {
		in.MetaRemovals = append(in.MetaRemovals, fmt.Sprintf("%s-meta-%d", s.Release, o))
	}
	if chunkTo < s.Replicas.Chunk {
		ids, noChunk = s.alreadyRemoved(in.Lowering, removed, chunkTo, ids, noChunk)
		claims := iomeshcluster.Claims{IDs: ids, Recorded: recorded}
		for _, pod := range noChunk {
			if claims.NoChunk == nil {
				claims.NoChunk = map[string]bool{}
			}
			claims.NoChunk[pod] = true
		}
		if in.Procedure.Unregister && s.Storage.Summary && s.Storage.Unmatched() > 0 {
			// Chunks on a storage network match no node address: the chunk pods' own
			// addresses tell which pod holds which chunk.
			claims.LocalErr = s.matchInPods(ctx, r)
		}
		in.Listing = s.Storage.Listing(s.Chunk.Pods)
		in.Removals, in.IDsErr = s.Storage.Removals(s.Release, s.Chunk.Pods, s.Replicas.Chunk, chunkTo, claims)
		if in.IDsErr == nil {
			in.Room, in.RoomErr = s.Storage.RoomAfter(in.Removals)
		}
	}
	in.MigrationPod, in.Migration, in.MigrationErr = ReadMigration(ctx, r, s.Meta.Pods)
	s.ScaleIn = in
}

// alreadyRemoved drops from the command's --chunk-id and --no-chunk what names pods an earlier
// run of the same command already removed, so that the same command finishes what it left: the
// Lease records each such pod removed, or this tool's lower to the count now deployed, and
// IOMesh lists none of the dropped chunks. Anything else is kept, and refused as usual.
func (s *Snapshot) alreadyRemoved(l inventory.Lowering, removed map[string]int64, to int, ids []int64, noChunk []string) ([]int64, []string) {
	from := s.Replicas.Chunk
	if !s.Storage.Summary || s.Storage.Uncertain != "" {
		return ids, noChunk
	}
	lowered := l.Component == string(inventory.Chunk) && l.To == from
	gone := map[int64]bool{}
	for _, id := range removed {
		gone[id] = id != 0
	}
	if extra := len(ids) - (from - to); extra > 0 {
		for _, id := range ids[:extra] {
			if _, listed := s.Storage.Listed(id); listed || (!lowered && !gone[id]) {
				return ids, noChunk
			}
		}
		ids = ids[extra:]
	}
	var keep []string
	for _, pod := range noChunk {
		o := inventory.Ordinal(pod)
		if _, rec := removed[pod]; o >= from && pod == fmt.Sprintf("%s-chunk-%d", s.Release, o) && (lowered || rec) {
			continue // removed already
		}
		keep = append(keep, pod)
	}
	return ids, keep
}

// matchInPods reads every running chunk pod's own addresses and matches the chunks that no node
// address matched. It returns why some pod's could not be read ("" when all were).
func (s *Snapshot) matchInPods(ctx context.Context, r inventory.Reader) string {
	var mu sync.Mutex
	local := map[string][]string{}
	nodeOf := map[string]string{}
	var failed []string
	var g errgroup.Group
	g.SetLimit(8)
	for _, p := range s.Chunk.Pods {
		nodeOf[p.Name] = p.Spec.NodeName
		if p.Status.Phase != corev1.PodRunning {
			continue
		}
		g.Go(func() error {
			ips, err := r.LocalAddresses(ctx, p)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v", p.Name, oneLine(err)))
				return nil
			}
			local[p.Name] = ips
			return nil
		})
	}
	_ = g.Wait()
	s.Storage.MatchInPods(local, nodeOf)
	if len(failed) == 0 {
		return ""
	}
	sort.Strings(failed)
	return fmt.Sprintf("reading the chunk pods' own addresses (`cat %s` in their first container) failed, which needs pods/exec on the chunk pods: %s", iomeshcluster.FibTrie, strings.Join(failed, "; "))
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// ReadMigration runs `iomeshctl summary cluster` on the meta leader and reads its recovery and
// migration counters.
func ReadMigration(ctx context.Context, r inventory.Reader, metaPods []corev1.Pod) (string, *iomeshcluster.Migration, error) {
	leaders := iomeshcluster.LeaderPods(metaPods)
	if len(leaders) != 1 {
		return "", nil, fmt.Errorf("%d meta pods carry %s (one is the leader, where iomeshctl runs)", len(leaders), iomeshcluster.LeaderLabel)
	}
	pod := leaders[0]
	out, err := r.SummaryCluster(ctx, pod)
	if errors.Is(err, inventory.ErrNoExec) {
		return pod, nil, nil
	}
	if err != nil {
		return pod, nil, err
	}
	m, err := iomeshcluster.ParseMigration(out)
	if err != nil {
		return pod, nil, fmt.Errorf("%s answered in an unknown shape (%v):\n%s", r.CommandLine(pod, "summary", "cluster"), err, printers.EscapeTerminal(strings.TrimSpace(out)))
	}
	return pod, &m, nil
}

// Counts are where each component's count lives, as read: the values of the revision a scale
// starts from, the IOMeshCluster's spec, the StatefulSet and its pods (nil when the values or
// the IOMeshCluster could not be read).
func (s *Snapshot) Counts() []preflight.Counts {
	if s.ReplicasErr != nil || s.Cluster.Object == nil {
		return nil
	}
	lowering := inventory.Lowering{To: -1}
	if s.ScaleIn != nil {
		lowering = s.ScaleIn.Lowering
	}
	from := fmt.Sprintf("release values (revision %d)", s.BaseInfo.Revision)
	if s.Direct {
		from = "IOMeshCluster spec"
	}
	return []preflight.Counts{
		CountsOf(s.Release, inventory.Chunk, s.Replicas.Chunk, from, s.Cluster.Object, s.Chunk, lowering),
		CountsOf(s.Release, inventory.Meta, s.Replicas.Meta, from, s.Cluster.Object, s.Meta, lowering),
	}
}

// CountsOf is where one component's count lives: values from the values (read from from), the
// IOMeshCluster's spec, the StatefulSet's spec.replicas and the ordinals of its pods.
func CountsOf(release string, c inventory.Component, values int, from string, cr *iomeshcluster.IOMeshCluster, set inventory.Set, lowering inventory.Lowering) preflight.Counts {
	out := preflight.Counts{Release: release, Component: string(c), Values: values, ValuesFrom: from, Spec: -1, Set: -1, Lowering: lowering}
	if cr != nil {
		if n := cr.Spec.Replicas(string(c)); n != nil {
			out.Spec = int(*n)
		}
	}
	if sts := set.StatefulSet; sts != nil && sts.Spec.Replicas != nil {
		out.Set = int(*sts.Spec.Replicas)
	}
	for _, p := range set.Pods {
		if o := inventory.Ordinal(p.Name); o >= 0 {
			out.Ordinals = append(out.Ordinals, o)
		}
	}
	return out
}
