package scale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/snapshot"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
	corev1 "k8s.io/api/core/v1"
)

// RunOptions say how a scale-in runs.
type RunOptions struct {
	Progress io.Writer
	// Resume is the command that continues an interrupted run.
	Resume string
	// Holder names this run in the Lease.
	Holder string
	// Poll is how often the cluster is read while IOMesh moves data or pods go.
	Poll time.Duration
	// Heartbeat is the longest time between two progress lines while nothing changes.
	Heartbeat time.Duration
}

// RunScaleIn carries out the steps, one at a time. Each step starts from what the cluster
// shows, so a run that was interrupted anywhere continues from there: a chunk still registered
// is unregistered (or, when an earlier run started that, waited for), a chunk gone with the
// count not yet lowered gets the lower count, and a lowered count is waited for.
func (e *Engine) RunScaleIn(ctx context.Context, rp *RemovalPlan, o RunOptions) error {
	if o.Poll == 0 {
		o.Poll = 2 * time.Second
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = 30 * time.Second
	}
	l, err := acquire(ctx, e.Reader, o.Holder, e.Now)
	if err != nil {
		return err
	}
	done := false
	kctx, stop := context.WithCancel(context.Background())
	go l.keep(kctx)
	defer func() { stop(); l.release(done) }()
	for i, s := range rp.Steps {
		fmt.Fprintf(o.Progress, "Step %d of %d: %s (%s %d -> %d)\n", i+1, len(rp.Steps), s.Pod, s.Component, s.From, s.To)
		if err := e.step(ctx, rp, s, l, o); err != nil {
			if ctx.Err() != nil {
				why := "interrupted"
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					why = "the time ran out"
				}
				return exitcode.Wrap(exitcode.NotConverged, fmt.Errorf("%s during step %d of %d (%s): nothing is lost, and IOMesh goes on with what was started; run `%s` to continue from where the cluster is", why, i+1, len(rp.Steps), s.Pod, o.Resume))
			}
			return err
		}
	}
	done = true
	return nil
}

// Phase is what a step does next, from what the cluster shows.
type Phase string

const (
	// Unregister starts `iomeshctl chunk unregister`; AwaitUnregister waits for one an earlier
	// run started; Lower lowers the count; AwaitRemoval waits for a lowered count to take
	// effect; Changed is a count something else moved.
	Unregister      Phase = "unregister"
	AwaitUnregister Phase = "await-unregister"
	Lower           Phase = "lower"
	AwaitRemoval    Phase = "await-removal"
	Changed         Phase = "changed"
)

// Resume is the phase of step s with the component at count, its chunk listed by IOMesh or
// not, and recorded the chunk whose unregister an earlier run started (0: none). A count is
// lowered only once the chunk has left chunkSummary.
func Resume(s Step, count int, listed bool, recorded int64) Phase {
	switch {
	case count <= s.To:
		return AwaitRemoval
	case count != s.From:
		return Changed
	case len(s.Unregister) == 0 || !listed:
		return Lower
	case recorded == s.Chunk.ID:
		return AwaitUnregister
	}
	return Unregister
}

func (e *Engine) step(ctx context.Context, rp *RemovalPlan, s Step, l *lock, o RunOptions) error {
	cur, err := e.count(ctx, rp, s.Component)
	if err != nil {
		return err
	}
	listed := false
	if s.Chunk != nil {
		if _, listed, err = e.listed(ctx, rp, s.Chunk.ID); err != nil {
			return err
		}
	}
	phase := Resume(s, cur, listed, l.unregistering())
	switch phase {
	case Changed:
		return exitcode.Wrap(exitcode.Refused, fmt.Errorf("the %s count is %d, not the %d this step starts from: something else changed it; nothing further was changed, run the same command again to plan from the cluster as it is", s.Component, cur, s.From))
	case AwaitRemoval:
		fmt.Fprintf(o.Progress, "  the %s count is already %d\n", s.Component, cur)
		return e.waitRemoved(ctx, rp, s, o)
	case Unregister, AwaitUnregister:
		if err := e.unregister(ctx, rp, s, l, phase == Unregister, o); err != nil {
			return err
		}
	default:
		if len(s.Unregister) > 0 {
			fmt.Fprintf(o.Progress, "  chunk %d is no longer registered\n", s.Chunk.ID)
		}
	}
	if err := l.record(ctx, 0, ""); err != nil {
		return err
	}
	if err := e.lower(ctx, rp, s, o.Progress); err != nil {
		return err
	}
	return e.waitRemoved(ctx, rp, s, o)
}

// count is the component's count as the release (or the IOMeshCluster) has it now.
func (e *Engine) count(ctx context.Context, rp *RemovalPlan, component string) (int, error) {
	var r values.Replicas
	if rp.Plan.Direct != nil {
		cr, err := e.cluster(ctx, rp)
		if err != nil {
			return 0, err
		}
		if r, err = values.ReadReplicas(snapshot.DirectValues(cr.Spec)); err != nil {
			return 0, err
		}
	} else {
		f, err := snapshot.NewReleases(e.Helm, rp.Plan.Release, rp.Plan.Namespace, true).Get()
		if err != nil {
			return 0, err
		}
		if f.ReplicasErr != nil {
			return 0, f.ReplicasErr
		}
		r = f.Replicas
	}
	if component == string(inventory.Meta) {
		return r.Meta, nil
	}
	return r.Chunk, nil
}

func (e *Engine) cluster(ctx context.Context, rp *RemovalPlan) (*iomeshcluster.IOMeshCluster, error) {
	st := e.Reader.IOMeshCluster(ctx)
	switch {
	case st.Err != nil:
		return nil, st.Err
	case st.Object == nil:
		return nil, fmt.Errorf("IOMeshCluster %s: %s", rp.Plan.Release, st.Absent)
	}
	return st.Object, nil
}

// listed is chunk id as IOMesh lists it now, from the IOMeshCluster alone.
func (e *Engine) listed(ctx context.Context, rp *RemovalPlan, id int64) (iomeshcluster.RegisteredChunk, bool, error) {
	cr, err := e.cluster(ctx, rp)
	if err != nil {
		return iomeshcluster.RegisteredChunk{}, false, err
	}
	c, ok := iomeshcluster.ViewOf(cr).Listed(id)
	return c, ok, nil
}

// view is IOMesh's report now, its chunks matched to the chunk pods' nodes.
func (e *Engine) view(ctx context.Context, rp *RemovalPlan) (iomeshcluster.View, inventory.Set, inventory.Set, error) {
	cr, err := e.cluster(ctx, rp)
	if err != nil {
		return iomeshcluster.View{}, inventory.Set{}, inventory.Set{}, err
	}
	chunk, meta, err := e.Reader.Components(ctx)
	if err != nil {
		return iomeshcluster.View{}, chunk, meta, err
	}
	v := iomeshcluster.ViewOf(cr)
	v.Match(rp.Plan.snap.Nodes, chunk.Pods)
	return v, chunk, meta, nil
}

type execResult struct {
	out string
	err error
}

// unregister has IOMesh move the chunk's data away and drop it: it runs iomeshctl on the meta
// leader, unless an earlier run did, and waits until the chunk has left chunkSummary.
func (e *Engine) unregister(ctx context.Context, rp *RemovalPlan, s Step, l *lock, start bool, o RunOptions) error {
	r := e.Reader
	id := s.Chunk.ID
	var running chan execResult
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	// An iomeshctl that fails leaves nothing to wait for: the record goes, nothing further changes.
	failed := func(err error) error {
		_ = l.record(ctx, 0, "")
		return fmt.Errorf("unregistering chunk %d failed; nothing further was changed:\n%w", id, err)
	}
	if !start {
		fmt.Fprintf(o.Progress, "  an earlier run started unregistering chunk %d: waiting for IOMesh to move its data\n", id)
	} else {
		_, meta, err := r.Components(ctx)
		if err != nil {
			return err
		}
		pod, m, err := snapshot.ReadMigration(ctx, r, meta.Pods)
		if err != nil {
			return fmt.Errorf("reading recovery and migration before unregistering chunk %d: %w; nothing further was changed", id, err)
		}
		if m != nil {
			if busy := m.Busy(); len(busy) > 0 {
				return exitcode.Wrap(exitcode.Refused, fmt.Errorf("IOMesh is recovering or migrating data (on %s): %s. Nothing further was changed; run the same command again when every value is 0", pod, iomeshcluster.Join(busy)))
			}
		}
		if err := l.record(ctx, id, s.Pod); err != nil {
			return err
		}
		fmt.Fprintf(o.Progress, "  running `%s` (IOMesh moves the chunk's data away: minutes to hours)\n", r.CommandLine(pod, "chunk", "unregister", fmt.Sprint(id)))
		running = make(chan execResult, 1)
		go func() {
			out, err := r.UnregisterChunk(ectx, pod, id)
			running <- execResult{out, err}
		}()
	}
	last, lastAt := "", time.Time{}
	tick := time.NewTicker(o.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case res := <-running:
			running = nil
			if res.err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return failed(res.err)
			}
			if out := strings.TrimSpace(res.out); out != "" {
				fmt.Fprintf(o.Progress, "  iomeshctl: %s\n", out)
			}
		case <-tick.C:
		}
		c, listed, err := e.listed(ctx, rp, id)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(o.Progress, "  reading IOMesh's view: %v (retrying)\n", err)
			continue
		}
		if !listed {
			fmt.Fprintf(o.Progress, "  chunk %d has left chunkSummary\n", id)
			break
		}
		// A line when the chunk's state changes; its used space, which moves all the time, at
		// most once per heartbeat.
		if now := e.Now(); c.Status != last || now.Sub(lastAt) >= o.Heartbeat {
			fmt.Fprintf(o.Progress, "  chunk %d: %s, %s used\n", id, orQ(c.Status), usedOf(c))
			last, lastAt = c.Status, now
		}
	}
	if running != nil {
		// The chunk is gone; iomeshctl returns about now.
		select {
		case res := <-running:
			if res.err != nil && ctx.Err() == nil {
				return failed(res.err)
			}
		case <-time.After(10 * time.Second):
		}
	}
	return nil
}

func usedOf(c iomeshcluster.RegisteredChunk) string {
	if c.Space == nil {
		return "?"
	}
	return orQ(c.Space.UsedData)
}

// lower takes the count down by one: an upgrade of the release from the deployed chart (one
// revision), or a patch of the IOMeshCluster at the version read.
func (e *Engine) lower(ctx context.Context, rp *RemovalPlan, s Step, progress io.Writer) error {
	to := s.To
	var target preflight.Target
	if s.Component == string(inventory.Meta) {
		target.Meta = &to
	} else {
		target.Chunk = &to
	}
	base := rp.Plan
	if base.Direct != nil {
		cr, err := e.cluster(ctx, rp)
		if err != nil {
			return err
		}
		r, err := values.ReadReplicas(snapshot.DirectValues(cr.Spec))
		if err != nil {
			return err
		}
		p := &Plan{Namespace: base.Namespace, Release: base.Release, snap: base.snap, change: r.To(target.Chunk, target.Meta),
			Direct: &DirectChange{Kind: iomeshcluster.Kind, Name: base.Release, ResourceVersion: cr.ResourceVersion}}
		return e.Apply(ctx, p, progress)
	}
	f, err := snapshot.NewReleases(e.Helm, base.Release, base.Namespace, true).Get()
	if err != nil {
		return err
	}
	snap := *base.snap
	snap.Latest, snap.Info, snap.Base, snap.BaseInfo, snap.Replicas = f.Latest, f.Info, f.Base, f.BaseInfo, f.Replicas
	change := f.Replicas.To(target.Chunk, target.Meta)
	p := &Plan{
		Namespace: base.Namespace, Release: base.Release, Chart: f.BaseInfo.Chart, ChartVersion: f.BaseInfo.ChartVersion,
		FromRevision: f.Info.Revision, ToRevision: f.Info.Revision + 1,
		Chunk: Count{From: change.FromChunk, To: change.ToChunk}, Meta: Count{From: change.FromMeta, To: change.ToMeta},
		change: change, snap: &snap,
	}
	if f.BaseInfo.ChartVersion != base.ChartVersion {
		return exitcode.Wrap(exitcode.Refused, fmt.Errorf("release %s now runs chart %s, not the %s the plan was made for; nothing further was changed, run the same command again", base.Release, f.BaseInfo.ChartVersion, base.ChartVersion))
	}
	if err := e.helmPlan(p, e.prepare(ctx, f, target), f.BaseInfo.UserValues, f.Base.Manifest); err != nil {
		var refused *Refused
		if errors.As(err, &refused) && refused.Guard != nil {
			WriteGuard(progress, *refused.Guard)
		}
		return err
	}
	return e.Apply(ctx, p, progress)
}

// waitRemoved waits until the step's pod is gone, its StatefulSet is at the new count and what
// remains serves: every remaining chunk pod has a healthy chunk, or every remaining meta pod is
// Ready.
func (e *Engine) waitRemoved(ctx context.Context, rp *RemovalPlan, s Step, o RunOptions) error {
	fmt.Fprintf(o.Progress, "  waiting for %s to go and the rest to serve...\n", s.Pod)
	last := ""
	tick := time.NewTicker(o.Poll)
	defer tick.Stop()
	for {
		state, err := e.removed(ctx, rp, s)
		switch {
		case err == nil && state == "":
			fmt.Fprintf(o.Progress, "  %s is gone; %s-%s is at %d\n", s.Pod, rp.Plan.Release, s.Component, s.To)
			return nil
		case err != nil && ctx.Err() == nil:
			state = fmt.Sprintf("reading the cluster: %v (retrying)", err)
		}
		if state != last && ctx.Err() == nil {
			fmt.Fprintf(o.Progress, "  %s\n", state)
			last = state
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// removed says what the step still waits for ("" when nothing).
func (e *Engine) removed(ctx context.Context, rp *RemovalPlan, s Step) (string, error) {
	v, chunk, meta, err := e.view(ctx, rp)
	if err != nil {
		return "", err
	}
	set := chunk
	if s.Component == string(inventory.Meta) {
		set = meta
	}
	var left []corev1.Pod
	for _, p := range set.Pods {
		if inventory.Ordinal(p.Name) >= s.To {
			return fmt.Sprintf("%s is still there (%s)", p.Name, output.PodRowOf(&p, e.Now()).Status), nil
		}
		left = append(left, p)
	}
	if sts := set.StatefulSet; sts != nil && (sts.Status.Replicas != int32(s.To) || (sts.Spec.Replicas != nil && *sts.Spec.Replicas != int32(s.To))) {
		return fmt.Sprintf("StatefulSet %s has %d replicas, waiting for %d", sts.Name, sts.Status.Replicas, s.To), nil
	}
	ready := 0
	var nodes []string
	for i := range left {
		if output.PodReady(&left[i]) {
			ready++
		}
		nodes = append(nodes, left[i].Spec.NodeName)
	}
	if ready < s.To {
		return fmt.Sprintf("%d of %d %s pods Ready", ready, s.To, s.Component), nil
	}
	if s.Component == string(inventory.Chunk) && v.Summary {
		if ok, missing := v.Serving(nodes); !ok {
			return fmt.Sprintf("waiting for a healthy chunk on %s", strings.Join(missing, ", ")), nil
		}
		for _, c := range v.Chunks {
			if !c.Healthy() {
				return fmt.Sprintf("chunk %d is %s", c.ID, orQ(c.Status)), nil
			}
		}
	}
	return "", nil
}
