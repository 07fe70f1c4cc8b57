package scale

import (
	"context"
	"fmt"
	"time"

	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/utils/clock"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// upgradeTimeout bounds each Helm upgrade this tool makes.
const upgradeTimeout = 5 * time.Minute

// upgradeDescription is the description of the revision plan writes.
func upgradeDescription(plan *job) string {
	return fmt.Sprintf("%schunk %d->%d, meta %d->%d", inventory.DescriptionPrefix, plan.Chunk.From, plan.Chunk.To, plan.Meta.From, plan.Meta.To)
}

// writtenBy says rel is the revision this tool writes for the lower l (inventory.Lowering.Wrote),
// the count read from the values the revision was being written with.
func writtenBy(rel *release.Release, l inventory.Lowering) bool {
	if rel.Info == nil {
		return false
	}
	n, known := 0, false
	if layout, err := values.DetectLayout(rel.Config); err == nil {
		path := layout.ChunkReplicasPath()
		if l.Component == string(inventory.Meta) {
			path = layout.MetaReplicasPath()
		}
		if v, ok := values.Lookup(rel.Config, path); ok {
			var err error
			n, err = values.Int(v)
			known = err == nil
		}
	}
	return l.Wrote(int64(rel.Version), rel.Info.Description, n, known)
}

// RecoverPending finishes a revision that this tool's own lower left pending-upgrade (its run
// was killed while Helm wrote it): once no run can still be writing it, the revision is marked
// failed through Helm's release storage, as the Helm CLI does with an upgrade whose context is
// cancelled, and the scale goes on as after any failed lower of its own. Only when the Lease
// recorded that lower, with that revision, before the upgrade began; the description is this
// tool's for that step; the Lease's holder has not renewed it for its duration; and the
// revision has not changed for the upgrade's own timeout, both on this process's clock. A
// pending revision anything else wrote is left as it is (release.pending refuses it).
func (e *Engine) RecoverPending(ctx context.Context, h Hooks) error {
	if e.Helm == nil {
		return nil
	}
	r := e.Reader
	rel, err := helmops.Latest(e.Helm, r.Release, r.Namespace)
	if err != nil || rel.Info == nil || rel.Info.Status != rcommon.StatusPendingUpgrade {
		return nil // read again, and explained, by the scale itself
	}
	s, err := r.Lease(ctx)
	if err != nil || s.Object == nil {
		return nil
	}
	low := s.Lowering
	if !writtenBy(rel, low) {
		return nil
	}
	if h.Clock == nil {
		h.Clock = clock.RealClock{}
	}
	if h.Poll == 0 {
		h.Poll = 2 * time.Second
	}
	fmt.Fprintf(h.Progress, "Revision %d of release %s is pending-upgrade: this tool's lower (%s %d->%d) was being written when its run stopped.\n", rel.Version, r.Release, low.Component, low.From, low.To)
	l, err := acquire(ctx, r, leaseRun{holder: h.Holder, command: s.Command, clock: h.Clock, poll: h.Poll, progress: h.Progress})
	if err != nil {
		return err
	}
	defer l.release(false)
	fmt.Fprintf(h.Progress, "Waiting %v (the upgrade's own timeout) to be sure no run still writes revision %d...\n", upgradeTimeout, rel.Version)
	stamp := func(x *release.Release) string {
		return fmt.Sprint(x.Version, x.Info.Status, x.Info.Description, x.Info.LastDeployed)
	}
	seen, since := stamp(rel), h.Clock.Now()
	tick := h.Clock.NewTicker(h.Poll)
	defer tick.Stop()
	for h.Clock.Since(since) < upgradeTimeout {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C():
		}
		if rel, err = helmops.Latest(e.Helm, r.Release, r.Namespace); err != nil {
			return err
		}
		if rel.Version != int(low.Version) || rel.Info.Status != rcommon.StatusPendingUpgrade {
			fmt.Fprintf(h.Progress, "Revision %d is now %s: its writer finished it.\n", rel.Version, rel.Info.Status)
			return nil
		}
		if now := stamp(rel); now != seen {
			seen, since = now, h.Clock.Now()
		}
	}
	rel.SetStatus(rcommon.StatusFailed, fmt.Sprintf("kubectl iomesh: marked failed: the run writing this revision (%s %d->%d) stopped before it finished; nothing was rolled back", low.Component, low.From, low.To))
	if err := e.Helm.Releases.Update(rel); err != nil {
		return fmt.Errorf("marking revision %d of release %s failed: %w; nothing else was changed", rel.Version, r.Release, err)
	}
	fmt.Fprintf(h.Progress, "Revision %d marked failed (Helm's release record only; nothing rolled back).\n", rel.Version)
	return nil
}
