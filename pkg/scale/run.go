package scale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/utils/clock"
)

// Hooks are what a command gives Run: where progress goes, the question before the first
// write, and what to print.
type Hooks struct {
	Progress io.Writer
	// Confirm is asked once, after the last check and before the first write (nil: no question).
	Confirm func() error
	// Resume is the command that continues the plan from step next (0-based): for a
	// scale-in, the --chunk-id values of the steps still to do.
	Resume func(next int) string
	// Holder names this run in the scale-in Lease.
	Holder string
	// Poll is how often the cluster is read while IOMesh moves data or pods go.
	Poll time.Duration
	// Heartbeat is the longest time between two progress lines while data moves; the migration
	// counters are read at most this often.
	Heartbeat time.Duration
	// Unknown bounds a wait on a fact that cannot be read (a missing chunkSummary, unreadable
	// counters or counts, counts moving to this tool's recorded lower): past it, the run stops
	// with what it waited for and the command that continues (0: ten minutes). A migration
	// IOMesh shows is waited for without bound.
	Unknown time.Duration
	// Clock is the time source (nil: the real one).
	Clock clock.WithTicker
	// Wait says how a step that adds pods waits for them (Timeout 0: it does not); Storage
	// waits on until IOMesh serves their chunks.
	Wait    WaitOptions
	Storage bool
	// Pods gets the pods when the plan is done (or its wait stopped), as last seen.
	Pods func([]corev1.Pod) error
	// Served gets IOMesh's view once it serves the new chunks.
	Served func(StorageResult) error
}

// run is one plan as it goes.
type run struct {
	e    *Engine
	plan *job
	w    writer
	h    Hooks
	// l is this run's hold on the scale-in Lease (nil: the plan removes no pod).
	l *lock
	// expect is the release revision (or IOMeshCluster generation) the next step starts from:
	// the plan's, then what this run last wrote.
	expect int64
	// acted says this run sent an unregister or wrote a count; wrote counts the steps whose
	// count it wrote.
	acted bool
	wrote int
	// last is what the writer last read, for a refusal; finished says every step is done.
	last     written
	finished bool
	// owners is the pod each chunk was matched to when the plan was made ("" when none).
	owners map[int64]string
	// unregistered are the chunks whose unregister this run saw finish (iomeshctl returned
	// without error) or a person stated have left (--chunk-unregistered).
	unregistered map[int64]bool
	// rv is the IOMeshCluster's resourceVersion at the last full read; leader the meta pod
	// the last unregister was sent on.
	rv, leader string
	// unreadable says the last read of the IOMeshCluster failed: the next waits longer.
	unreadable bool
}

// errNotYet is a re-check right before a write that found the evidence no longer complete:
// the step goes back to waiting.
type errNotYet struct{ note string }

func (e errNotYet) Error() string { return e.note }

// execute carries out a plan, step by step, each through one loop: read, decide (Decide), act,
// and read again before any write. A scale-out is one step: re-check, write both counts,
// wait until the new pods serve. A scale-in is one step per pod: unregister its chunk and
// wait for the migration, re-check, lower the count, wait until the pod has gone and the rest
// serve. A run interrupted anywhere continues from where the cluster is: a chunk still
// registered is unregistered (or, while an earlier run's migration goes on, waited for), a
// chunk gone with the count not yet lowered gets the lower count, and a written count is
// waited for.
func (e *Engine) execute(ctx context.Context, plan *job, h Hooks) error {
	if h.Poll == 0 {
		h.Poll = 2 * time.Second
	}
	if h.Heartbeat == 0 {
		h.Heartbeat = 30 * time.Second
	}
	if h.Unknown == 0 {
		h.Unknown = 10 * time.Minute
	}
	if h.Clock == nil {
		h.Clock = clock.RealClock{}
	}
	if h.Resume == nil {
		h.Resume = func(int) string { return "the same command" }
	}
	r := &run{e: e, plan: plan, w: plan.w, h: h, expect: plan.w.version(plan), owners: map[int64]string{}, unregistered: map[int64]bool{}}
	for _, id := range e.Unregistered {
		r.unregistered[id] = true
	}
	if plan.AtTarget {
		fmt.Fprintf(h.Progress, "%s is already at %d chunk and %d meta pods; waiting for the pods.\n", plan.subject(), plan.Chunk.To, plan.Meta.To)
		if err := clearFinished(ctx, e.Reader, leaseRun{holder: h.Holder, command: h.Resume(0), clock: h.Clock, poll: h.Poll, progress: h.Progress}); err != nil {
			return err
		}
		return r.raised(ctx)
	}
	removes := false
	for _, s := range plan.steps {
		removes = removes || s.lowers()
	}
	if !removes {
		if err := unfinished(ctx, e.Reader); err != nil {
			return err
		}
	}
	if h.Confirm != nil {
		if err := h.Confirm(); err != nil {
			return err
		}
	}
	rctx := ctx
	if removes {
		l, err := acquire(ctx, e.Reader, leaseRun{holder: h.Holder, command: h.Resume(0), clock: h.Clock, poll: h.Poll, progress: h.Progress})
		if err != nil {
			return err
		}
		r.l = l
		r.match()
		var cancel context.CancelCauseFunc
		rctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		kctx, stopKeep := context.WithCancel(context.Background())
		go l.keep(kctx, cancel)
		done := false
		defer func() {
			stopKeep()
			rec, _ := l.recorded()
			// Kept with any record a later run needs: an intent, or a lower being written.
			l.release(done || (r.wrote == 0 && rec == 0 && l.lowering().To < 0))
		}()
		defer func() { done = done || r.finished }()
	}
	for i, s := range plan.steps {
		if s.lowers() {
			fmt.Fprintf(h.Progress, "Step %d of %d: %s (%s %d -> %d)\n", i+1, len(plan.steps), s.Pod, s.Component, s.From, s.To)
		}
		if err := r.step(rctx, i, s); err != nil {
			return r.stopped(rctx, i, s, err)
		}
	}
	r.finished = true
	if !removes {
		return nil
	}
	chunk, meta, err := e.Reader.Components(ctx)
	if err != nil {
		return err
	}
	return r.pods(append(append([]corev1.Pod{}, chunk.Pods...), meta.Pods...))
}

// match notes the pod each chunk was matched to when the plan was made.
func (r *run) match() {
	snap := r.plan.snap
	podOn := map[string]string{}
	for _, p := range snap.Chunk.Pods {
		podOn[p.Spec.NodeName] = p.Name
	}
	for _, c := range snap.Storage.Chunks {
		r.owners[c.ID] = c.MatchedPod
		if c.MatchedPod == "" && c.MatchedNode != "" {
			r.owners[c.ID] = podOn[c.MatchedNode]
		}
	}
	for _, s := range r.plan.steps {
		if s.Chunk != nil && s.MatchedBy != "" {
			r.owners[s.Chunk.ID] = s.Pod
		}
	}
}

func (r *run) pods(pods []corev1.Pod) error {
	if r.h.Pods == nil {
		return nil
	}
	return r.h.Pods(pods)
}

// stopped explains an error that ended step i and sets the exit code.
func (r *run) stopped(ctx context.Context, i int, s Step, err error) error {
	resume := r.h.Resume(r.wrote)
	code := exitcode.Error
	if r.wrote > 0 {
		code = exitcode.NotConverged
	}
	var refused *Refused
	if errors.As(err, &refused) && refused.Guard != nil && r.acted {
		// Reported whatever else ended the run: the same command meets the same render.
		return &Refused{Guard: refused.Guard, Err: exitcode.Wrap(exitcode.Refused, fmt.Errorf("refused by %s at step %d of %d (%s): its upgrade would change more than the replica counts (above), so it was not written. The steps before it stay done, and IOMesh goes on with what was started. Find what changed (a chart republished under the same version, say); if every difference is expected, run `%s --skip-check %s`", RenderCheckID, i+1, len(r.plan.steps), s.Pod, resume, RenderCheckID))}
	}
	if cause := context.Cause(ctx); errors.Is(cause, ErrLeaseLost) {
		return exitcode.Wrap(code, fmt.Errorf("%v during step %d of %d (%s): this run stopped, so that no two runs act at once; IOMesh goes on with what was started. Run `%s` to continue", cause, i+1, len(r.plan.steps), s.Pod, resume))
	}
	if ctx.Err() != nil && s.lowers() {
		why := "interrupted"
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			why = "the time ran out"
		}
		return exitcode.Wrap(exitcode.NotConverged, fmt.Errorf("%s during step %d of %d (%s): nothing is lost, and IOMesh goes on with what was started; run `%s` to continue from where the cluster is", why, i+1, len(r.plan.steps), s.Pod, resume))
	}
	if !errors.Is(err, ErrMoved) {
		return err
	}
	if !r.acted && r.last.version != r.expect {
		// Moved before this run changed anything: the plan is stale.
		return r.w.stale(r.plan, r.last)
	}
	if !r.acted {
		code = exitcode.Refused
	}
	return exitcode.Wrap(code, fmt.Errorf("step %d of %d (%s) stopped: %v. Nothing further was changed; look at what moved, then run `kubectl iomesh scale` again to plan from the cluster as it is", i+1, len(r.plan.steps), s.Pod, err))
}

// step runs step i of the plan to its end.
func (r *run) step(ctx context.Context, i int, s Step) error {
	var running chan execResult
	sent, full, said, resend, probe := false, false, "", false, false
	cuts := 0 // unregisters whose exec stream ended without iomeshctl's exit status
	if s.Chunk != nil && r.unregistered[s.Chunk.ID] && s.lowers() {
		// A person's statement is recorded with the step, as a finished unregister.
		fmt.Fprintf(r.h.Progress, "  chunk %d: stated to have left IOMesh (--chunk-unregistered)\n", s.Chunk.ID)
		if err := r.l.complete(ctx, s.Chunk.ID, s.Pod); err != nil {
			return err
		}
	}
	mig := &migrationProgress{}
	var waiting time.Time // since when the step has waited on something unknown
	p := pace{poll: r.h.Poll}
	for {
		obs, err := r.observe(ctx, i, s, full, sent)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		obs.Running = running != nil
		d := Decide(s, r.expect, obs, sent)
		if d.Note != "" && d.Note != said {
			fmt.Fprintf(r.h.Progress, "  %s\n", d.Note)
			said = d.Note
		}
		wasFull := full
		full = false
		switch d.Phase {
		case Wait:
			if waiting.IsZero() {
				waiting = r.h.Clock.Now()
			} else if r.h.Clock.Since(waiting) >= r.h.Unknown {
				return r.unknown(s, said)
			}
		case NeedRead, Apply:
			// A write the re-check sends back to waiting keeps the bound it had.
		default:
			waiting = time.Time{}
		}
		switch d.Phase {
		case NeedRead:
			// At once after a light read; after a full read that came back short, a poll
			// later: every read has a floor.
			full = true
			if !wasFull {
				continue
			}
		case Stop:
			return d.Err
		case Settle:
			return r.finish(ctx, s)
		case Apply:
			if s.Chunk != nil && (len(s.Unregister) > 0 || s.Left) {
				fmt.Fprintf(r.h.Progress, "  chunk %d has left chunkSummary\n", s.Chunk.ID)
			}
			var again errNotYet
			if err := r.write(ctx, i, s, sent); errors.As(err, &again) {
				fmt.Fprintf(r.h.Progress, "  just before the write: %s\n", again.note)
				said = again.note
				if waiting.IsZero() {
					waiting = r.h.Clock.Now()
				}
				break
			} else if err != nil {
				return err
			}
			return r.finish(ctx, s)
		case Unregister:
			if obs.Chunk == iomeshcluster.Listed && obs.Recorded == s.Chunk.ID && !resend {
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
			resend = false // a later resend waits its poll again
			sent, r.acted, probe = true, true, obs.Chunk == iomeshcluster.Gone
		case AwaitUnregister:
			r.progress(ctx, s, obs, mig)
		}
		wait := r.h.Clock.NewTimer(p.next(r.unreadable))
		select {
		case <-ctx.Done():
			wait.Stop()
			return ctx.Err()
		case res := <-running:
			wait.Stop()
			running = nil
			if errors.Is(res.err, inventory.ErrNoStatus) && ctx.Err() == nil {
				// As if a killed run had sent it: waited for while data moves, then sent
				// again for iomeshctl's answer.
				if cuts++; cuts == 3 {
					return fmt.Errorf("unregistering chunk %d: %w, %d times; nothing further was changed, run `%s` to continue", s.Chunk.ID, res.err, cuts, r.h.Resume(r.wrote))
				}
				fmt.Fprintf(r.h.Progress, "  chunk %d: %v; it is sent again for iomeshctl's answer once IOMesh shows no data moving\n", s.Chunk.ID, res.err)
				sent, probe, full = false, false, true
				break
			}
			if res.err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if probe {
					// Sent for a chunk the status no longer lists: iomeshctl's refusal may
					// mean it already left, or not. Undocumented, so unknown.
					pod := r.leader
					return exitcode.Wrap(exitcode.Refused, fmt.Errorf("chunk %d is not in chunkSummary and no run saw its unregister finish; the unregister sent now to have iomeshctl's answer failed: %v. Whether chunk %d has left IOMesh is not known, so nothing further was changed. Check by hand on the meta leader (`kubectl exec -n %s %s -c %s -- %s chunk list` lists the chunks still registered); once sure it has left, run `%s --chunk-unregistered %d`", s.Chunk.ID, res.err, s.Chunk.ID, r.e.Reader.Namespace, pod, inventory.MetaContainer, inventory.IOMeshctl, r.h.Resume(r.wrote), s.Chunk.ID))
				}
				// The record stays: the next run reads IOMesh before it acts again.
				return fmt.Errorf("unregistering chunk %d failed; nothing further was changed, run `%s` once the cause is fixed:\n%w", s.Chunk.ID, r.h.Resume(r.wrote), res.err)
			}
			if out := strings.TrimSpace(res.out); out != "" {
				fmt.Fprintf(r.h.Progress, "  iomeshctl: %s\n", printers.EscapeTerminal(out))
			}
			// The completion, apart from the intent: a later run may rely on it.
			r.unregistered[s.Chunk.ID] = true
			if err := r.l.complete(ctx, s.Chunk.ID, s.Pod); err != nil {
				return err
			}
			full = true
		case <-wait.C():
		}
	}
}

// unknown ends a step that waited its whole bound on a fact that cannot be read: nothing is
// lowered on it, and the same command continues once it can be read.
func (r *run) unknown(s Step, why string) error {
	code := exitcode.Refused
	if r.acted {
		code = exitcode.NotConverged
	}
	return exitcode.Wrap(code, fmt.Errorf("the step for %s stopped after waiting %v on what cannot be read: %s. Nothing further was changed and nothing is lost; once it can be read, run `%s`", s.Pod, r.h.Unknown, strings.TrimSuffix(why, "; waiting"), r.h.Resume(r.wrote)))
}

// write writes step i's counts. A step planned ahead is written as planned; any other is
// planned from the cluster as read right before the write. Either way the writer reads every
// fact of the step once more after its own preparation (chart, render, admission dry run),
// right before it writes: an errNotYet sends the step back to waiting.
func (r *run) write(ctx context.Context, i int, s Step, sent bool) error {
	p := s.plan
	if p == nil {
		at, err := r.w.read(ctx, true)
		if err != nil {
			return err
		}
		r.last = at
		if at.version != r.expect {
			return stop("just before the write, %s, not the %d this step started from", at.moved, r.expect).Err
		}
		if m, c, ok := s.from(at.replicas); !ok {
			return stop("just before the write, the %s count is %d, not %d (%s)", m.Component, c, m.From, at.moved).Err
		}
		if p, err = r.w.next(ctx, r.plan, at, s.target()); err != nil {
			return err
		}
	}
	// recorded says this write recorded the lower; unsent that a re-check after the record
	// failed (a patch whose earlier attempt met a newer object), so nothing went out.
	recorded, unsent := false, false
	v, err := r.w.write(ctx, p, r.h.Progress, func(ctx context.Context) (string, error) {
		rv, err := r.recheck(ctx, i, s, sent)
		if err != nil || !s.lowers() {
			unsent = recorded
			return rv, err
		}
		// Recorded once every fact held, right before the write goes out: it explains counts
		// that have not caught up with it, and names the revision a killed write leaves pending.
		if err := r.l.lower(ctx, inventory.Lowering{Component: s.Component, From: s.From, To: s.To, Version: r.expect + 1}); err != nil {
			return rv, err
		}
		recorded = true
		return rv, nil
	})
	if err != nil {
		if recorded && (unsent || errors.Is(err, helmops.ErrBusy) || errors.Is(err, errChanged)) {
			return r.unrecord(ctx, err)
		}
		return err
	}
	r.expect, r.acted = v, true
	r.wrote++
	return nil
}

// unrecord takes back the lowering record this write made when the write did not go out (Helm
// found the release busy, another writer took the revision or deployed one since the re-check;
// the patch met a newer object): a revision someone else writes under the same number must
// never be taken for this tool's.
func (r *run) unrecord(ctx context.Context, err error) error {
	if cerr := r.l.lower(ctx, inventory.Lowering{To: -1}); cerr != nil {
		return fmt.Errorf("%w (the scale-in Lease still records the lower as being written: %v)", err, cerr)
	}
	return err
}

// recheck reads every fact step i depends on once more, right before its write: the counts
// in all their places, the versions, the full chunk list, the Lease and the migration. It
// returns the IOMeshCluster's resourceVersion read, for a patch conditional on it.
func (r *run) recheck(ctx context.Context, i int, s Step, sent bool) (string, error) {
	if !s.lowers() {
		if err := unfinished(ctx, r.e.Reader); err != nil {
			return "", err
		}
		return "", nil
	}
	obs, err := r.observe(ctx, i, s, true, sent)
	if err != nil {
		return "", err
	}
	d := Decide(s, r.expect, obs, sent)
	switch {
	case d.Phase == Apply:
		return r.rv, nil
	case d.Err != nil:
		return "", d.Err
	case d.Note != "":
		return "", errNotYet{d.Note}
	}
	return "", errNotYet{fmt.Sprintf("the step is at %q again", d.Phase)}
}

// target is the counts step s writes.
func (s Step) target() preflight.Target {
	var t preflight.Target
	for _, m := range s.Moves() {
		to := m.To
		if m.Component == string(inventory.Meta) {
			t.Meta = &to
		} else {
			t.Chunk = &to
		}
	}
	return t
}

// finish waits until step s's write has taken effect.
func (r *run) finish(ctx context.Context, s Step) error {
	if !s.lowers() {
		return r.raised(ctx)
	}
	if err := r.e.waitRemoved(ctx, r.plan, s, r.h); err != nil {
		return err
	}
	if s.Component == string(inventory.Chunk) {
		if err := r.l.removed(ctx, s); err != nil {
			return err
		}
	}
	if rec, _ := r.l.recorded(); rec != 0 {
		if err := r.l.record(ctx, 0, ""); err != nil {
			return err
		}
	}
	return r.l.resume(ctx, r.h.Resume(r.wrote))
}

// raised waits for the plan's pods to be Ready, hands them to the Pods hook, then, with
// Storage, waits until IOMesh reports their chunks healthy.
func (r *run) raised(ctx context.Context) error {
	e, plan, o := r.e, r.plan, r.h.Wait
	if o.Timeout == 0 {
		fmt.Fprintln(r.h.Progress, "--timeout 0: not waiting for the pods.")
		return nil
	}
	if o.Progress == nil {
		o.Progress = r.h.Progress
	}
	fmt.Fprintf(r.h.Progress, "Waiting up to %v for %d chunk and %d meta pods to be Ready...\n", o.Timeout, plan.Chunk.To, plan.Meta.To)
	wctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	out, werr := e.waitPods(wctx, plan, o)
	if err := r.pods(out.Pods); err != nil {
		return err
	}
	if werr != nil || !r.h.Storage {
		return werr
	}
	res, err := e.waitStorage(wctx, plan, out.Pods, o)
	if err == nil && res.View == nil {
		fmt.Fprintln(r.h.Progress, res.Note)
	}
	if err != nil || res.View == nil || r.h.Served == nil {
		return err
	}
	return r.h.Served(res)
}
