package scale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
)

// busyAfterUnregister is the world's meta leader, where IOMesh starts a recovery of its own
// right after chunk 5's unregister has finished: the counters show data moving, readably.
type busyAfterUnregister struct{ w *world }

func (b busyAfterUnregister) Exec(ctx context.Context, ns, pod, container string, cmd []string) (string, string, error) {
	out, stderr, err := b.w.Exec(ctx, ns, pod, container, cmd)
	if err == nil && len(cmd) >= 6 && cmd[4] == "chunk" && cmd[5] == "unregister" {
		b.w.mu.Lock()
		b.w.busyUntil = 1 << 30
		b.w.mu.Unlock()
	}
	return out, stderr, err
}

// A migration or recovery the counters show readably, after the chunk left chunkSummary, is
// waited for without the bound on unknown facts.
func TestReadableMigrationAfterTheChunkLeftIsNotBounded(t *testing.T) {
	w, e := newWorld(t, 7, modelRates{}, false)
	w.plainUnregister = true
	e.Reader.Exec = busyAfterUnregister{w}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rp := planModel(ctx, t, e, 4)
	// 3 s of real time is 50 simulated minutes: five times the bound on unknown facts.
	rctx, rcancel := context.WithTimeout(ctx, 3*time.Second)
	defer rcancel()
	var progress syncBuffer
	err := e.execute(rctx, rp, Hooks{Progress: &progress, Holder: "run-1", Poll: 2 * time.Millisecond, Heartbeat: 30 * time.Second,
		Unknown: 10 * time.Minute, Clock: fastClock{start: time.Now()}})
	if err != nil && strings.Contains(err.Error(), "stopped after waiting") {
		t.Fatalf("a readable recovery after the chunk left was bounded as an unknown fact: %v\n%s", err, progress.String())
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lowers != 0 || len(w.violations) != 0 {
		t.Fatalf("lowered %d times while IOMesh moved data, %v", w.lowers, w.violations)
	}
}

// firstUnregisterDoesNothing is a meta leader whose first `iomeshctl chunk unregister` exits 0
// and does nothing (a meta that accepted the request and dropped it on a failover, or any
// iomeshctl that reports success without acting): the chunk stays registered, no data moves.
// Every later command is answered by the world.
type firstUnregisterDoesNothing struct {
	w    *world
	done *bool
}

func (f firstUnregisterDoesNothing) Exec(ctx context.Context, ns, pod, container string, cmd []string) (string, string, error) {
	if len(cmd) >= 6 && cmd[4] == "chunk" && cmd[5] == "unregister" && !*f.done {
		*f.done = true
		return tf.Exited("chunk 5 unregistered", 0), "", nil
	}
	return f.w.Exec(ctx, ns, pod, container, cmd)
}

// An unregister that exited 0 and did nothing (the chunk stays listed, no data moves): the run
// waits its bound, and the same command sends it again rather than waiting on the recorded
// completion for ever.
func TestUnregisterThatDidNothingIsFinishedBySameCommand(t *testing.T) {
	w, e := newWorld(t, 7, modelRates{}, false)
	w.plainUnregister = true
	done := false
	e.Reader.Exec = firstUnregisterDoesNothing{w, &done}
	target := 4
	var last error
	var progress syncBuffer
	for attempt := 1; attempt <= 3; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := e.Read(ctx, preflight.Target{Chunk: &target})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		rp, err := e.planScaleIn(ctx, st)
		if err != nil {
			st.Close()
			cancel()
			t.Fatalf("run %d: %v", attempt, err)
		}
		fmt.Fprintf(&progress, "--- run %d\n", attempt)
		last = e.execute(ctx, rp, Hooks{Progress: &progress, Holder: fmt.Sprintf("run-%d", attempt), Poll: 2 * time.Millisecond, Heartbeat: 30 * time.Second,
			Unknown: 10 * time.Minute, Clock: fastClock{start: time.Now()}})
		st.Close()
		cancel()
		if last == nil {
			break
		}
		time.Sleep(100 * time.Millisecond) // the Lease's 60 s, simulated, go by
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.violations) != 0 {
		t.Fatalf("violations %v", w.violations)
	}
	if last != nil {
		t.Fatalf("chunk 5 is still registered after an unregister that did nothing; the same command, run three times, never sends it again (%d unregisters reached IOMesh): %v\n%s", w.sent, last, progress.String())
	}
}

// A revision another writer deploys while the step's facts are read again (after the lowering
// record, right before Helm's upgrade) stops the lower: Helm would write over it, whatever count
// it raised.
func TestHelmLowerNotWrittenOverANewerRevision(t *testing.T) {
	_, e := newWorld(t, 7, modelRates{}, true)
	ctx := context.Background()
	j := planModel(ctx, t, e, 4)
	at, err := j.w.read(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	p, err := j.w.next(ctx, j, at, j.steps[0].target())
	if err != nil {
		t.Fatal(err)
	}
	last := func(context.Context) (string, error) {
		rel, err := helmops.Latest(e.Helm, tf.Release, tf.Namespace)
		if err != nil {
			return "", err
		}
		next, info := *rel, *rel.Info
		next.Info, next.Version = &info, rel.Version+1
		return "", e.Helm.Releases.Create(&next)
	}
	_, err = p.w.write(ctx, p, io.Discard, last)
	if !errors.Is(err, ErrMoved) || !errors.Is(err, errChanged) || !strings.Contains(err.Error(), "is at revision 2 (deployed), not 1") {
		t.Fatalf("want the lower stopped by the newer revision: %v", err)
	}
	if rel, err := helmops.Latest(e.Helm, tf.Release, tf.Namespace); err != nil || rel.Version != 2 {
		t.Fatalf("the lower was written over it: %v %v", rel, err)
	}
}
