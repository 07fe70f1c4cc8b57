package scale

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/snapshot"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"
)

// expected are the chunks expected to stay registered once step i's chunk has left: the chunks
// listed when the plan was made, less those of steps up to i.
func (r *run) expected(i int) []int64 {
	leaving := map[int64]bool{}
	for _, s := range r.plan.steps[:i+1] {
		if s.Chunk != nil {
			leaving[s.Chunk.ID] = true
		}
	}
	var out []int64
	for _, c := range r.plan.snap.Storage.Chunks {
		if !leaving[c.ID] {
			out = append(out, c.ID)
		}
	}
	return out
}

// observe reads what step i depends on. The IOMeshCluster is read every time; the release,
// the Lease, the StatefulSet and pods, and the migration only when full.
func (r *run) observe(ctx context.Context, i int, s Step, full, sent bool) (Observation, error) {
	o := Observation{Chunk: iomeshcluster.Gone}
	var cr *iomeshcluster.IOMeshCluster
	r.unreadable = false
	if s.lowers() {
		var err error
		if cr, err = r.e.cluster(ctx, r.plan.Release); err != nil {
			r.unreadable = true
			// Not readable now: nothing that depends on it is known, nothing is done.
			o.Chunk, o.Why, r.rv = iomeshcluster.Unknown, "reading the IOMeshCluster: "+err.Error(), ""
		} else {
			r.rv = cr.ResourceVersion
			r.presence(&o, iomeshcluster.ViewOf(cr), i, s, nil)
		}
	}
	if s.Chunk != nil {
		// What this run saw and what the Lease records: neither needs a read.
		o.Finished = r.unregistered[s.Chunk.ID] || r.l.completed() == s.Chunk.ID
	}
	if !full {
		return o, nil
	}
	o.Full = true
	o.Recorded, o.RecordedPod = r.l.recorded()
	at, err := r.w.read(ctx, true)
	if err != nil {
		return o, err
	}
	r.last = at
	o.Counts, o.Version, o.Moved = at.replicas, at.version, at.moved
	if !s.lowers() {
		return o, nil
	}
	chunk, meta, err := r.e.Reader.Components(ctx)
	if err == nil && cr != nil {
		set, comp := chunk, inventory.Chunk
		if s.Component == string(inventory.Meta) {
			set, comp = meta, inventory.Meta
		}
		live := snapshot.CountsOf(r.plan.Release, comp, countOf(at.replicas, s.Component), at.source, cr, set, r.l.lowering())
		o.Live = &live
		// Matched again to the pods as they are: a chunk that registered since the plan is
		// another pod's only if its address or node shows it.
		v := iomeshcluster.ViewOf(cr)
		v.Match(r.plan.snap.Nodes, chunk.Pods)
		r.presence(&o, v, i, s, chunk.Pods)
	}
	unreg := s.Chunk != nil && (len(s.Unregister) > 0 || s.Left)
	if unreg && (o.Chunk == iomeshcluster.Gone || (o.Chunk == iomeshcluster.Listed && (sent || o.Recorded == s.Chunk.ID))) {
		if _, m, err := r.migration(ctx); err == nil && m != nil {
			busy := len(m.Busy()) > 0
			o.Migrating = &busy
		}
	}
	return o, nil
}

// presence is whether IOMesh lists the chunk of removal step i, and any chunk that may be on its
// pod: one matched to it, at its chunk's address or on its node, or, with the live pods given,
// one that no other pod can be shown to hold.
func (r *run) presence(o *Observation, v iomeshcluster.View, i int, s Step, pods []corev1.Pod) {
	if s.Component != string(inventory.Chunk) {
		return
	}
	id := int64(0)
	if s.Chunk != nil {
		id = s.Chunk.ID
	}
	o.Chunk, o.Why = v.PresenceOf(id, r.expected(i))
	podOn := map[string]string{}
	for _, p := range pods {
		if p.Spec.NodeName != "" {
			// A pod not scheduled holds nothing any chunk is matched to.
			podOn[p.Spec.NodeName] = p.Name
		}
	}
	o.Holding = 0
	for _, c := range v.Chunks {
		if c.ID == id {
			continue
		}
		owner, known := r.owners[c.ID]
		if pods != nil {
			if now := c.MatchedPod; now != "" {
				owner, known = now, true
			} else if n := podOn[c.MatchedNode]; n != "" {
				owner, known = n, true
			}
		}
		// A pod runs one chunk server: with its chunk known, a chunk listed at the plan and
		// matched to no pod is another's; without, it may be this one's.
		switch {
		case !known, owner == s.Pod, (s.Chunk == nil || s.Left) && owner == "",
			s.Chunk != nil && s.Chunk.IP != "" && c.Addr() == s.Chunk.Addr(),
			s.Node != "" && c.Node == s.Node:
			o.Holding = c.ID
		}
	}
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
			return nil, exitcode.Wrap(exitcode.Refused, fmt.Errorf("IOMesh is recovering or migrating data (on %s): %s. Nothing further was changed; run `%s` when every value is 0", pod, iomeshcluster.Join(busy), r.h.Resume(r.wrote)))
		}
	}
	r.leader = pod
	fmt.Fprintf(r.h.Progress, "  running `%s` (IOMesh moves the chunk's data away: minutes to hours)\n", r.e.Reader.CommandLine(pod, "chunk", "unregister", fmt.Sprint(id)))
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
	now := r.h.Clock.Now()
	cr, err := r.e.cluster(ctx, r.plan.Release)
	status := "?"
	used := "?"
	if err == nil {
		if c, ok := iomeshcluster.ViewOf(cr).Listed(s.Chunk.ID); ok {
			status, used = orQ(c.Status), usedOf(c)
		} else if obs.Chunk == iomeshcluster.Gone {
			status, used = "not in chunkSummary", ""
		}
	}
	if !p.at.IsZero() && now.Sub(p.at) < r.h.Heartbeat && status == p.status {
		return
	}
	p.at, p.status = now, status
	line := fmt.Sprintf("  chunk %d: %s, %s used", s.Chunk.ID, status, used)
	if used == "" {
		line = fmt.Sprintf("  chunk %d: %s", s.Chunk.ID, status)
	}
	if _, m, err := r.migration(ctx); err == nil && m != nil {
		if b, ok := m.Pending(); ok {
			if p.firstAt.IsZero() {
				p.firstAt, p.firstBytes = now, b
			}
			line += "; " + estimate(p.firstBytes, b, now.Sub(p.firstAt))
		}
	}
	fmt.Fprintln(r.h.Progress, line)
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

func (e *Engine) cluster(ctx context.Context, release string) (*iomeshcluster.IOMeshCluster, error) {
	st := e.Reader.IOMeshCluster(ctx)
	switch {
	case st.Err != nil:
		return nil, st.Err
	case st.Object == nil:
		return nil, fmt.Errorf("IOMeshCluster %s: %s", release, st.Absent)
	}
	return st.Object, nil
}

// view is IOMesh's report now, its chunks matched to the chunk pods' nodes.
func (e *Engine) view(ctx context.Context, plan *job) (iomeshcluster.View, inventory.Set, inventory.Set, error) {
	cr, err := e.cluster(ctx, plan.Release)
	if err != nil {
		return iomeshcluster.View{}, inventory.Set{}, inventory.Set{}, err
	}
	chunk, meta, err := e.Reader.Components(ctx)
	if err != nil {
		return iomeshcluster.View{}, chunk, meta, err
	}
	v := iomeshcluster.ViewOf(cr)
	v.Match(plan.snap.Nodes, chunk.Pods)
	return v, chunk, meta, nil
}

func usedOf(c iomeshcluster.RegisteredChunk) string {
	if c.Space == nil {
		return "?"
	}
	return orQ(c.Space.UsedData)
}

// waitRemoved waits until the step's pod is gone, its StatefulSet is at the new count and what
// remains serves: every remaining chunk pod has a healthy chunk, or every remaining meta pod is
// Ready.
func (e *Engine) waitRemoved(ctx context.Context, plan *job, s Step, o Hooks) error {
	fmt.Fprintf(o.Progress, "  waiting for %s to go and the rest to serve...\n", s.Pod)
	last := ""
	p := pace{poll: o.Poll}
	for {
		state, err := e.removed(ctx, plan, s)
		switch {
		case err == nil && state == "":
			fmt.Fprintf(o.Progress, "  %s is gone; %s-%s is at %d\n", s.Pod, plan.Release, s.Component, s.To)
			return nil
		case err != nil && ctx.Err() == nil:
			state = fmt.Sprintf("reading the cluster: %v (retrying)", err)
		}
		if state != last && ctx.Err() == nil {
			fmt.Fprintf(o.Progress, "  %s\n", state)
			last = state
		}
		wait := time.NewTimer(p.next(err != nil))
		select {
		case <-ctx.Done():
			wait.Stop()
			return ctx.Err()
		case <-wait.C:
		}
	}
}

// removed says what the step still waits for ("" when nothing).
func (e *Engine) removed(ctx context.Context, plan *job, s Step) (string, error) {
	v, chunk, meta, err := e.view(ctx, plan)
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
	return r.IOMeshctl(ctx, pod, "chunk", "unregister", strconv.FormatInt(id, 10))
}
