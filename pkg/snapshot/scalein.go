package snapshot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

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
func (s *Snapshot) ReadScaleIn(ctx context.Context, r inventory.Reader, target preflight.Target, ids []int64) {
	chunkTo, metaTo, ok := s.Removes(target)
	if !ok {
		return
	}
	in := &preflight.ScaleIn{}
	spec := ""
	if s.Cluster.Object != nil {
		spec = s.Cluster.Object.Spec.Version
	}
	in.Procedure = iomeshcluster.ProcedureFor(spec, s.BaseInfo.ChartVersion)
	if chunkTo < s.Replicas.Chunk {
		in.Removals = s.Storage.Removals(s.Release, s.Chunk.Pods, s.Replicas.Chunk, chunkTo, ids)
		in.Room, in.RoomErr = s.Storage.RoomAfter(in.Removals)
	}
	for o := s.Replicas.Meta - 1; o >= metaTo; o-- {
		in.MetaRemovals = append(in.MetaRemovals, fmt.Sprintf("%s-meta-%d", s.Release, o))
	}
	if lease, err := r.Lease(ctx, s.Now); err == nil && lease.Unregistering != 0 {
		in.InFlight, in.InFlightBy = lease.Unregistering, "an earlier run"
		if lease.Holder != "" {
			in.InFlightBy = lease.Holder
		}
	}
	in.MigrationPod, in.Migration, in.MigrationErr = ReadMigration(ctx, r, s.Meta.Pods)
	s.ScaleIn = in
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
		return pod, nil, fmt.Errorf("%s answered in an unknown shape (%v):\n%s", r.CommandLine(pod, "summary", "cluster"), err, strings.TrimSpace(out))
	}
	return pod, &m, nil
}
