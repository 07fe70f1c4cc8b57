package scale

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/scaleplan"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

func TestDecide(t *testing.T) {
	chunkStep := Step{Step: scaleplan.Step{Component: "chunk", Pod: "iomesh-chunk-4", Chunk: &iomeshcluster.RegisteredChunk{ID: 5}, Unregister: []string{"iomeshctl", "chunk", "unregister", "5"}, From: 5, To: 4}}
	left := chunkStep
	left.Unregister, left.Left = nil, true // recorded on the Lease, gone before this run
	countOnly := chunkStep
	countOnly.Unregister = nil // IOMesh 1.2: the operator unregisters
	meta := Step{Step: scaleplan.Step{Component: "meta", Pod: "iomesh-meta-4", From: 5, To: 4}}
	grow := (&job{Plan: &scaleplan.Plan{Chunk: scaleplan.CountChange{From: 3, To: 5}, Meta: scaleplan.CountChange{From: 3, To: 5}}}).raise() // a scale-out, rendered ahead
	yes, no := true, false
	live := func(count int) *preflight.Counts {
		c := preflight.Counts{Release: "iomesh", Component: "chunk", Values: count, ValuesFrom: "release values (revision 7)", Spec: count, Set: count, Lowering: inventory.Lowering{To: -1}}
		for o := 0; o < count; o++ {
			c.Ordinals = append(c.Ordinals, o)
		}
		return &c
	}
	full := func(count int, p iomeshcluster.Presence) Observation {
		return Observation{Full: true, Counts: values.Replicas{Chunk: count, Meta: count}, Version: 7, Chunk: p, Moved: "release iomesh is at revision 7", Migrating: &no, Live: live(count)}
	}
	done := func(o Observation) Observation { o.Finished = true; return o }
	with := func(o Observation, f func(*Observation)) Observation { f(&o); return o }
	const L, G, U = iomeshcluster.Listed, iomeshcluster.Gone, iomeshcluster.Unknown
	cases := []struct {
		name string
		s    Step
		o    Observation
		sent bool
		want Phase
	}{
		{"fresh: chunk registered", chunkStep, full(5, L), false, Unregister},
		{"a light read never writes", chunkStep, Observation{Chunk: L}, false, NeedRead},
		{"gone on a light read: read it all first", chunkStep, Observation{Chunk: G}, false, NeedRead},
		{"sent by this run, still running: wait", chunkStep, Observation{Chunk: L, Running: true}, true, AwaitUnregister},
		{"sent by this run, returned, listed: read it all first", chunkStep, Observation{Chunk: L}, true, NeedRead},
		{"sent by this run, returned, data moving: wait for it", chunkStep, with(done(full(5, L)), func(o *Observation) { o.Migrating = &yes }), true, AwaitUnregister},
		{"sent by this run, returned, still listed, idle: wait with a reason", chunkStep, done(full(5, L)), true, Wait},
		{"an earlier run's migration goes on", chunkStep, with(full(5, L), func(o *Observation) { o.Recorded, o.RecordedPod, o.Migrating = 5, "iomesh-chunk-4", &yes }), false, AwaitUnregister},
		{"recorded, no migration: sent again", chunkStep, with(full(5, L), func(o *Observation) { o.Recorded, o.RecordedPod, o.Migrating = 5, "iomesh-chunk-4", &no }), false, Unregister},
		{"recorded, migration unreadable: wait", chunkStep, with(full(5, L), func(o *Observation) { o.Recorded, o.RecordedPod, o.Migrating = 5, "iomesh-chunk-4", nil }), false, Wait},
		{"a record of another chunk", chunkStep, with(full(5, L), func(o *Observation) { o.Recorded = 4 }), false, Unregister},
		{"chunk gone, this run's unregister returned: lower", chunkStep, done(full(5, G)), true, Apply},
		{"chunk gone while this run's unregister has not returned: wait for it", chunkStep, full(5, G), true, AwaitUnregister},
		{"a statement does not outrun this run's own unregister", chunkStep, with(done(full(5, G)), func(o *Observation) { o.Running = true }), true, AwaitUnregister},
		{"1.2: never while an exec of this run runs", countOnly, with(full(5, L), func(o *Observation) { o.Running = true }), false, AwaitUnregister},
		{"gone on a light read while this run's unregister runs: wait for it", chunkStep, Observation{Chunk: G}, true, AwaitUnregister},
		{"gone, finished by an earlier run: lower", chunkStep, with(done(full(5, G)), func(o *Observation) { o.Recorded = 5 }), false, Apply},
		{"gone, only the intent recorded: send it for iomeshctl's answer", chunkStep, with(full(5, G), func(o *Observation) { o.Recorded, o.RecordedPod = 5, "iomesh-chunk-4" }), false, Unregister},
		{"gone without any unregister seen: send it, never lower", chunkStep, full(5, G), false, Unregister},
		{"gone, intent only, data moving: wait for it", chunkStep, with(full(5, G), func(o *Observation) { o.Recorded, o.Migrating = 5, &yes }), false, AwaitUnregister},
		{"gone while data still moves: wait for it", chunkStep, with(done(full(5, G)), func(o *Observation) { o.Migrating = &yes }), true, AwaitUnregister},
		{"an earlier run's completion, still listed, idle: send again", chunkStep, with(done(full(5, L)), func(o *Observation) { o.Recorded, o.RecordedPod = 5, "iomesh-chunk-4" }), false, Unregister},
		{"gone, migration unreadable: wait", chunkStep, with(done(full(5, G)), func(o *Observation) { o.Migrating = nil }), true, Wait},
		{"status missing: wait, never lower", chunkStep, done(full(5, U)), true, Wait},
		{"status missing before the unregister: wait", chunkStep, full(5, U), false, Wait},
		{"finished, but listed again: send again", chunkStep, done(full(5, L)), false, Unregister},
		{"count raised by someone else", chunkStep, done(full(6, G)), true, Stop},
		{"count raised during the migration: stop at the lower", chunkStep, with(done(full(6, G)), func(o *Observation) { o.Recorded = 5 }), false, Stop},
		{"revision moved", chunkStep, with(done(full(5, G)), func(o *Observation) { o.Version = 8 }), true, Stop},
		{"the pod holds another chunk", chunkStep, with(done(full(5, G)), func(o *Observation) { o.Holding = 6 }), true, Stop},
		{"more pods live than the values say: refuse before the unregister", chunkStep, with(full(5, L), func(o *Observation) { o.Live.Spec, o.Live.Set, o.Live.Ordinals = 6, 6, append(o.Live.Ordinals, 5) }), false, Stop},
		{"more pods live than the values say: refuse before the lower", chunkStep, with(done(full(5, G)), func(o *Observation) { o.Live.Spec, o.Live.Set = 6, 6 }), true, Stop},
		{"a pod beyond the values' count", chunkStep, with(done(full(5, G)), func(o *Observation) { o.Live.Ordinals = append(o.Live.Ordinals, 7) }), true, Stop},
		{"the StatefulSet's count not read", chunkStep, with(done(full(5, G)), func(o *Observation) { o.Live.Set = -1 }), true, Stop},
		{"the live counts not read: wait", chunkStep, with(done(full(5, G)), func(o *Observation) { o.Live = nil }), true, Wait},
		{"this tool's failed lower is live: write it again", chunkStep, with(done(full(5, G)), func(o *Observation) {
			o.Live.Spec, o.Live.Set, o.Live.Ordinals = 4, 4, o.Live.Ordinals[:4]
			o.Live.Lowering = inventory.Lowering{Component: "chunk", From: 5, To: 4, Version: 8}
		}), true, Apply},
		{"a lower recorded for another count explains nothing", chunkStep, with(done(full(5, G)), func(o *Observation) {
			o.Live.Spec, o.Live.Set = 3, 3
			o.Live.Lowering = inventory.Lowering{Component: "chunk", From: 5, To: 4, Version: 8}
		}), true, Stop},
		{"count lowered, chunk gone: wait for the pod", chunkStep, done(full(4, G)), true, Settle},
		{"count lowered by another, chunk gone but not known finished", chunkStep, full(4, G), false, Stop},
		{"count lowered by another while registered", chunkStep, full(4, L), false, Stop},
		{"count lowered by another, status unknown: wait", chunkStep, full(4, U), false, Wait},
		{"left before this run, finished: lower", left, with(done(full(5, G)), func(o *Observation) { o.Recorded, o.RecordedPod = 5, "iomesh-chunk-4" }), false, Apply},
		{"left before this run, not known finished: send for the answer", left, with(full(5, G), func(o *Observation) { o.Recorded, o.RecordedPod = 5, "iomesh-chunk-4" }), false, Unregister},
		{"left before this run, status missing: wait", left, full(5, U), false, Wait},
		{"1.2: lower with the chunk listed", countOnly, full(5, L), false, Apply},
		{"1.2: count moved", countOnly, full(6, L), false, Stop},
		{"meta", meta, full(5, G), false, Apply},
		{"meta lowered", meta, full(4, G), false, Settle},
		{"scale-out: a light read never writes", grow, Observation{Chunk: U}, false, NeedRead},
		{"scale-out at its revision: write, whatever the chunk list says", grow, full(3, U), false, Apply},
		{"scale-out, one count moved", grow, with(full(3, U), func(o *Observation) { o.Counts.Meta = 4 }), false, Stop},
		{"scale-out, release moved to the target: stale, not done", grow, with(full(5, U), func(o *Observation) { o.Version = 8 }), false, Stop},
		{"scale-out written by this run: wait for the pods", grow, with(full(5, U), func(o *Observation) { o.Version = 7 }), false, Settle},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Decide(c.s, 7, c.o, c.sent)
			if d.Phase != c.want {
				t.Fatalf("Decide = %+v, want %s", d, c.want)
			}
			if (d.Phase == Stop) != errors.Is(d.Err, ErrMoved) {
				t.Fatalf("a stop carries ErrMoved, nothing else does: %+v", d)
			}
		})
	}
	d := Decide(chunkStep, 7, with(done(full(5, G)), func(o *Observation) {
		o.Version, o.Moved = 9, "release iomesh is at revision 9 (deployed: Upgrade complete)"
	}), true)
	if !strings.Contains(d.Err.Error(), "revision 9 (deployed: Upgrade complete), not the 7 this step started from") {
		t.Fatalf("who moved what: %v", d.Err)
	}
}

func TestEstimate(t *testing.T) {
	cases := []struct {
		first, now int64
		took       time.Duration
		want       string
	}{
		{20 << 30, 20 << 30, 0, "20Gi still to move"},
		{20 << 30, 20 << 30, time.Minute, "20Gi still to move"}, // nothing moved yet: no rate
		{20 << 30, 10 << 30, 30 * time.Second, "10Gi still to move, about 30s left at 341.3Mi/s"},
		{40 << 30, 10 << 30, 30 * time.Minute, "10Gi still to move, about 10m left at 17.1Mi/s"},
	}
	for _, c := range cases {
		if got := estimate(c.first, c.now, c.took); got != c.want {
			t.Errorf("estimate(%d, %d, %v) = %q, want %q", c.first, c.now, c.took, got, c.want)
		}
	}
}
