package scale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/snapshot"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/utils/clock"
)

// RunOptions say how a scale-in runs.
type RunOptions struct {
	Progress io.Writer
	// Resume is the command that continues the scale-in from step next (0-based): the
	// --chunk-id values of the steps still to do.
	Resume func(next int) string
	// Holder names this run in the Lease.
	Holder string
	// Poll is how often the cluster is read while IOMesh moves data or pods go.
	Poll time.Duration
	// Heartbeat is the longest time between two progress lines while data moves; the migration
	// counters are read at most this often.
	Heartbeat time.Duration
	// Clock is the time source (nil: the real one).
	Clock clock.WithTicker
}

// run is one scale-in as it goes.
type run struct {
	e  *Engine
	rp *RemovalPlan
	o  RunOptions
	l  *lock
	// expect is the release revision (or IOMeshCluster generation) the next step starts from:
	// the plan's, then what this run last wrote.
	expect int64
	// changed says this run lowered a count; lowered counts the steps whose count it lowered.
	changed bool
	lowered int
	// owners is the pod each chunk was matched to when the plan was made ("" when none).
	owners map[int64]string
}

// RunScaleIn carries out the steps, one at a time, each through one loop: read, decide
// (Decide), act, and read again before any write. A run interrupted anywhere continues from
// where the cluster is: a chunk still registered is unregistered (or, while an earlier run's
// migration goes on, waited for), a chunk gone with the count not yet lowered gets the lower
// count, and a lowered count is waited for.
func (e *Engine) RunScaleIn(ctx context.Context, rp *RemovalPlan, o RunOptions) error {
	if o.Poll == 0 {
		o.Poll = 2 * time.Second
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = 30 * time.Second
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Resume == nil {
		o.Resume = func(int) string { return "the same command" }
	}
	l, err := acquire(ctx, e.Reader, leaseRun{holder: o.Holder, command: o.Resume(0), clock: o.Clock, poll: o.Poll, progress: o.Progress})
	if err != nil {
		return err
	}
	r := &run{e: e, rp: rp, o: o, l: l, expect: rp.Plan.version(), owners: map[int64]string{}}
	podOn := map[string]string{}
	for _, p := range rp.Plan.snap.Chunk.Pods {
		podOn[p.Spec.NodeName] = p.Name
	}
	for _, c := range rp.Plan.snap.Storage.Chunks {
		r.owners[c.ID] = c.MatchedPod
		if c.MatchedPod == "" && c.MatchedNode != "" {
			r.owners[c.ID] = podOn[c.MatchedNode]
		}
	}
	for _, s := range rp.Steps {
		if s.Chunk != nil && s.MatchedBy != "" {
			r.owners[s.Chunk.ID] = s.Pod
		}
	}
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	kctx, stopKeep := context.WithCancel(context.Background())
	go l.keep(kctx, cancel)
	done := false
	defer func() {
		stopKeep()
		rec, _ := l.recorded()
		l.release(done || (!r.changed && rec == 0))
	}()
	for i, s := range rp.Steps {
		fmt.Fprintf(o.Progress, "Step %d of %d: %s (%s %d -> %d)\n", i+1, len(rp.Steps), s.Pod, s.Component, s.From, s.To)
		if err := r.step(rctx, i, s); err != nil {
			return r.stopped(rctx, i, s, err)
		}
	}
	done = true
	return nil
}

// stopped explains an error that ended step i and sets the exit code.
func (r *run) stopped(ctx context.Context, i int, s Step, err error) error {
	resume := r.o.Resume(r.lowered)
	code := exitcode.Error
	if r.changed {
		code = exitcode.NotConverged
	}
	if cause := context.Cause(ctx); errors.Is(cause, ErrLeaseLost) {
		return exitcode.Wrap(code, fmt.Errorf("%v during step %d of %d (%s): this run stopped, so that no two runs act at once; IOMesh goes on with what was started. Run `%s` to continue", cause, i+1, len(r.rp.Steps), s.Pod, resume))
	}
	if ctx.Err() != nil {
		why := "interrupted"
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			why = "the time ran out"
		}
		return exitcode.Wrap(exitcode.NotConverged, fmt.Errorf("%s during step %d of %d (%s): nothing is lost, and IOMesh goes on with what was started; run `%s` to continue from where the cluster is", why, i+1, len(r.rp.Steps), s.Pod, resume))
	}
	if errors.Is(err, ErrMoved) {
		return exitcode.Wrap(code, fmt.Errorf("step %d of %d (%s) stopped: %v. Nothing further was changed; look at what moved, then run `kubectl iomesh scale` again to plan from the cluster as it is", i+1, len(r.rp.Steps), s.Pod, err))
	}
	return err
}

// remain is how many chunks are expected to stay registered once step i's chunk has left: the
// chunks listed when the plan was made, less those of steps up to i.
func (r *run) remain(i int) int {
	leaving := map[int64]bool{}
	for _, s := range r.rp.Steps[:i+1] {
		if s.Chunk != nil {
			leaving[s.Chunk.ID] = true
		}
	}
	n := 0
	for _, c := range r.rp.Plan.snap.Storage.Chunks {
		if !leaving[c.ID] {
			n++
		}
	}
	return n
}

// step runs step i of the plan to its end.
func (r *run) step(ctx context.Context, i int, s Step) error {
	var running chan execResult
	sent, full, said, resend := false, false, "", false
	mig := &migrationProgress{}
	tick := r.o.Clock.NewTicker(r.o.Poll)
	defer tick.Stop()
	for {
		obs, err := r.observe(ctx, i, s, full, sent)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		d := Decide(s, r.expect, obs, sent)
		if d.Note != "" && d.Note != said {
			fmt.Fprintf(r.o.Progress, "  %s\n", d.Note)
			said = d.Note
		}
		full = false
		switch d.Phase {
		case NeedRead:
			full = true
			continue
		case Stop:
			return d.Err
		case AwaitRemoval:
			return r.finish(ctx, s)
		case Lower:
			if s.Chunk != nil && (len(s.Unregister) > 0 || s.Left) {
				fmt.Fprintf(r.o.Progress, "  chunk %d has left chunkSummary\n", s.Chunk.ID)
			}
			if err := r.lower(ctx, s); err != nil {
				return err
			}
			return r.finish(ctx, s)
		case Unregister:
			if obs.Recorded == s.Chunk.ID && !resend {
				// A migration that just ended can leave the chunk listed for a moment: send
				// again only if the next read, a poll later, still shows it listed and idle.
				resend, full = true, true
				break
			}
			if err := r.l.record(ctx, s.Chunk.ID, s.Pod); err != nil {
				return err
			}
			if running, err = r.unregister(ctx, s); err != nil {
				return err
			}
			sent = true
		case AwaitUnregister:
			r.progress(ctx, s, obs, mig)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case res := <-running:
			running = nil
			if res.err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				// The record stays: the next run reads IOMesh before it acts again.
				return fmt.Errorf("unregistering chunk %d failed; nothing further was changed, run `%s` once the cause is fixed:\n%w", s.Chunk.ID, r.o.Resume(r.lowered), res.err)
			}
			if out := strings.TrimSpace(res.out); out != "" {
				fmt.Fprintf(r.o.Progress, "  iomeshctl: %s\n", printers.EscapeTerminal(out))
			}
		case <-tick.C():
		}
	}
}

// observe reads what step i depends on. The IOMeshCluster is read every time; the release,
// the Lease record and the migration only when full.
func (r *run) observe(ctx context.Context, i int, s Step, full, sent bool) (Observation, error) {
	var o Observation
	cr, err := r.e.cluster(ctx, r.rp)
	if err != nil {
		// Not readable now: nothing is known, nothing is done.
		return Observation{Chunk: iomeshcluster.Unknown, Why: "reading the IOMeshCluster: " + err.Error()}, nil
	}
	v := iomeshcluster.ViewOf(cr)
	if s.Chunk != nil {
		o.Chunk, o.Why = v.PresenceOf(s.Chunk.ID, r.remain(i))
		for _, c := range v.Chunks {
			if c.ID == s.Chunk.ID {
				continue
			}
			if r.owners[c.ID] == s.Pod || (s.Chunk.IP != "" && c.Addr() == s.Chunk.Addr()) || (s.Node != "" && c.Node == s.Node) {
				o.Holding = c.ID
			}
		}
	} else {
		o.Chunk = iomeshcluster.Gone
		if s.Component == string(inventory.Chunk) {
			// A pod the plan found without a chunk: the list must still be whole, and any chunk
			// registered since, or matched to it, may be its.
			o.Chunk, o.Why = v.PresenceOf(0, r.remain(i))
			for _, c := range v.Chunks {
				if owner, known := r.owners[c.ID]; !known || owner == s.Pod {
					o.Holding = c.ID
				}
			}
		}
	}
	if !full {
		return o, nil
	}
	o.Full = true
	o.Recorded, o.RecordedPod = r.l.recorded()
	if r.rp.Plan.Direct != nil {
		rep, err := values.ReadReplicas(snapshot.DirectValues(cr.Spec))
		if err != nil {
			return o, err
		}
		o.Count, o.Version = countOf(rep, s.Component), cr.Generation
		o.Moved = fmt.Sprintf("IOMeshCluster %s is at generation %d%s", cr.Name, cr.Generation, lastManager(cr.ManagedFields))
	} else {
		f, err := snapshot.NewReleases(r.e.Helm, r.rp.Plan.Release, r.rp.Plan.Namespace, false).Get()
		if err != nil {
			return o, err
		}
		if f.ReplicasErr != nil {
			return o, f.ReplicasErr
		}
		o.Count, o.Version = countOf(f.Replicas, s.Component), int64(f.Info.Revision)
		o.Moved = fmt.Sprintf("release %s is at revision %d (%s", r.rp.Plan.Release, f.Info.Revision, f.Info.Status)
		if f.Latest != nil && f.Latest.Info != nil && f.Latest.Info.Description != "" {
			o.Moved += ": " + printers.EscapeTerminal(f.Latest.Info.Description)
		}
		o.Moved += ")"
	}
	unreg := s.Chunk != nil && (len(s.Unregister) > 0 || s.Left)
	if unreg && (o.Chunk == iomeshcluster.Gone || (o.Chunk == iomeshcluster.Listed && !sent && o.Recorded == s.Chunk.ID)) {
		if _, m, err := r.migration(ctx); err == nil && m != nil {
			busy := len(m.Busy()) > 0
			o.Migrating = &busy
		}
	}
	return o, nil
}

func countOf(r values.Replicas, component string) int {
	if component == string(inventory.Meta) {
		return r.Meta
	}
	return r.Chunk
}

// lastManager names the manager that wrote the object last, for messages.
func lastManager(fields []metav1.ManagedFieldsEntry) string {
	var last metav1.ManagedFieldsEntry
	for _, f := range fields {
		if f.Time != nil && (last.Time == nil || !f.Time.Before(last.Time)) {
			last = f
		}
	}
	if last.Manager == "" {
		return ""
	}
	return fmt.Sprintf(", last written by %s (%s)", printers.EscapeTerminal(last.Manager), last.Operation)
}

// migration runs `iomeshctl summary cluster` on the meta leader.
func (r *run) migration(ctx context.Context) (string, *iomeshcluster.Migration, error) {
	_, meta, err := r.e.Reader.Components(ctx)
	if err != nil {
		return "", nil, err
	}
	return snapshot.ReadMigration(ctx, r.e.Reader, meta.Pods)
}

type execResult struct {
	out string
	err error
}

// unregister has IOMesh move the chunk's data away and drop it: iomeshctl on the meta leader,
// refused while IOMesh already recovers or migrates data. The command returns when the chunk
// has gone; the loop watches chunkSummary meanwhile.
func (r *run) unregister(ctx context.Context, s Step) (chan execResult, error) {
	id := s.Chunk.ID
	pod, m, err := r.migration(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading recovery and migration before unregistering chunk %d: %w; nothing further was changed", id, err)
	}
	if m != nil {
		if busy := m.Busy(); len(busy) > 0 {
			return nil, exitcode.Wrap(exitcode.Refused, fmt.Errorf("IOMesh is recovering or migrating data (on %s): %s. Nothing further was changed; run `%s` when every value is 0", pod, iomeshcluster.Join(busy), r.o.Resume(r.lowered)))
		}
	}
	fmt.Fprintf(r.o.Progress, "  running `%s` (IOMesh moves the chunk's data away: minutes to hours)\n", r.e.Reader.CommandLine(pod, "chunk", "unregister", fmt.Sprint(id)))
	running := make(chan execResult, 1)
	go func() {
		out, err := unregisterChunk(ctx, r.e.Reader, pod, id)
		running <- execResult{out, err}
	}()
	return running, nil
}

// migrationProgress is what was seen of the data still to move, for an estimate of the time
// left.
type migrationProgress struct {
	at         time.Time
	firstAt    time.Time
	firstBytes int64
	status     string
}

// progress prints, at most once per heartbeat (and whenever the chunk's state changes), the
// chunk's state and the bytes IOMesh still has to move, with the time left at the rate seen.
func (r *run) progress(ctx context.Context, s Step, obs Observation, p *migrationProgress) {
	now := r.o.Clock.Now()
	cr, err := r.e.cluster(ctx, r.rp)
	status := "?"
	used := "?"
	if err == nil {
		if c, ok := iomeshcluster.ViewOf(cr).Listed(s.Chunk.ID); ok {
			status, used = orQ(c.Status), usedOf(c)
		}
	}
	if !p.at.IsZero() && now.Sub(p.at) < r.o.Heartbeat && status == p.status {
		return
	}
	p.at, p.status = now, status
	line := fmt.Sprintf("  chunk %d: %s, %s used", s.Chunk.ID, status, used)
	if _, m, err := r.migration(ctx); err == nil && m != nil {
		if b, ok := m.Pending(); ok {
			if p.firstAt.IsZero() {
				p.firstAt, p.firstBytes = now, b
			}
			line += "; " + estimate(p.firstBytes, b, now.Sub(p.firstAt))
		}
	}
	fmt.Fprintln(r.o.Progress, line)
}

// estimate says how much data is still to move and, from the rate since first (bytes pending
// then, took ago), about how long that takes.
func estimate(first, now int64, took time.Duration) string {
	out := placement.HumanBytes(now) + " still to move"
	if moved := first - now; moved > 0 && took > 0 {
		rate := float64(moved) / took.Seconds()
		left := time.Duration(float64(now) / rate * float64(time.Second))
		out += fmt.Sprintf(", about %s left at %s/s", duration.HumanDuration(left), placement.HumanBytes(int64(rate)))
	}
	return out
}

// finish waits for the step's pod to go, then clears the Lease's record of its chunk.
func (r *run) finish(ctx context.Context, s Step) error {
	if err := r.e.waitRemoved(ctx, r.rp, s, r.o); err != nil {
		return err
	}
	if rec, _ := r.l.recorded(); rec != 0 {
		if err := r.l.record(ctx, 0, ""); err != nil {
			return err
		}
	}
	return r.l.resume(ctx, r.o.Resume(r.lowered))
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

func usedOf(c iomeshcluster.RegisteredChunk) string {
	if c.Space == nil {
		return "?"
	}
	return orQ(c.Space.UsedData)
}

// lower takes the count down by one and moves the run's expected version to what it wrote.
// : an upgrade of the release from the deployed chart (one
// revision), or a patch of the IOMeshCluster at the version read.
func (r *run) lower(ctx context.Context, s Step) error {
	if err := r.e.lowerOnce(ctx, r.rp, s, r.expect, r.o.Progress); err != nil {
		return err
	}
	r.expect = r.rp.Plan.Applied
	r.changed = true
	r.lowered++
	return nil
}

// lowerOnce writes the step's lower count, from the release (or IOMeshCluster) at version
// expect; rp.Plan.Applied then holds the version written.
func (e *Engine) lowerOnce(ctx context.Context, rp *RemovalPlan, s Step, expect int64, progress io.Writer) error {
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
		if cr.Generation != expect || countOf(r, s.Component) != s.From {
			return stop("IOMeshCluster %s moved to generation %d (%s count %d) just before the write", cr.Name, cr.Generation, s.Component, countOf(r, s.Component)).Err
		}
		p := &Plan{Namespace: base.Namespace, Release: base.Release, snap: base.snap, change: r.To(target.Chunk, target.Meta),
			Direct: &DirectChange{Kind: iomeshcluster.Kind, Name: base.Release, ResourceVersion: cr.ResourceVersion}}
		err = e.Apply(ctx, p, progress)
		rp.Plan.Applied = p.Applied
		return err
	}
	f, err := snapshot.NewReleases(e.Helm, base.Release, base.Namespace, true).Get()
	if err != nil {
		return err
	}
	if int64(f.Info.Revision) != expect || countOf(f.Replicas, s.Component) != s.From {
		return stop("release %s moved to revision %d (%s count %d) just before the write", base.Release, f.Info.Revision, s.Component, countOf(f.Replicas, s.Component)).Err
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
	err = e.Apply(ctx, p, progress)
	rp.Plan.Applied = p.Applied
	return err
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

// unregisterChunk is `iomeshctl chunk unregister <id>` in pod's meta container, through the
// reader's exec: it returns when IOMesh has moved the chunk's data away, minutes to hours.
func unregisterChunk(ctx context.Context, r inventory.Reader, pod string, id int64) (string, error) {
	if r.Exec == nil {
		return "", inventory.ErrNoExec
	}
	stdout, _, err := r.Exec.Exec(ctx, r.Namespace, pod, inventory.MetaContainer, []string{inventory.IOMeshctl, "chunk", "unregister", strconv.FormatInt(id, 10)})
	return stdout, err
}
