package scale

// Sequences the evidence model (docs/scale-in.md) rules out, each at the decision it reaches.

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/scaleplan"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/snapshot"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

func liveAt(count int) *preflight.Counts {
	c := preflight.Counts{Release: "iomesh", Component: "chunk", Values: count, ValuesFrom: "release values (revision 7)", Spec: count, Set: count, Lowering: inventory.Lowering{To: -1}}
	for o := 0; o < count; o++ {
		c.Ordinals = append(c.Ordinals, o)
	}
	return &c
}

func fullAt(count int, p iomeshcluster.Presence) Observation {
	no := false
	return Observation{Full: true, Counts: values.Replicas{Chunk: count, Meta: 3}, Version: 7, Chunk: p, Moved: "release iomesh is at revision 7", Migrating: &no, Live: liveAt(count)}
}

// IOMesh 1.2 (the operator unregisters): a lower needs a readable chunk list as well, since
// "no other chunk is on the pod" is read from it. With chunkSummary missing, it waits.
func TestDecide12WaitsForTheChunkList(t *testing.T) {
	countOnly := Step{Step: scaleplan.Step{Component: "chunk", Pod: "iomesh-chunk-4", Chunk: &iomeshcluster.RegisteredChunk{ID: 5}, From: 5, To: 4}}
	o := fullAt(5, iomeshcluster.Unknown)
	o.Why = "the IOMeshCluster status reports no chunkSummary"
	if d := Decide(countOnly, 7, o, false); d.Phase == Apply {
		t.Fatalf("1.2 step lowers the count while the chunk list is unknown (%q): %+v", o.Why, d)
	}
}

// This run's `iomeshctl chunk unregister 5` exited 0, IOMesh moves no data, and chunkSummary
// still lists chunk 5: not an endless await-unregister, but a Wait with its reason, which the run
// bounds (Hooks.Unknown).
func TestDecideFinishedButListedWaitsWithAReason(t *testing.T) {
	chunkStep := Step{Step: scaleplan.Step{Component: "chunk", Pod: "iomesh-chunk-4", Chunk: &iomeshcluster.RegisteredChunk{ID: 5}, Unregister: []string{"iomeshctl", "chunk", "unregister", "5"}, From: 5, To: 4}}
	o := fullAt(5, iomeshcluster.Listed)
	o.Finished = true // this run saw iomeshctl return without error
	o.Recorded, o.RecordedPod = 5, "iomesh-chunk-4"
	for i := 0; i < 3; i++ { // poll after poll, nothing changes
		if d := Decide(chunkStep, 7, o, true); d.Phase == AwaitUnregister && d.Note == "" {
			if i == 2 {
				t.Fatalf("finished unregister, chunk still listed, no migration: Decide waits (%+v) and the run can never leave this state", d)
			}
			continue
		}
		return
	}
}

// A chunk pod that is not scheduled (NodeName "") owns no chunk matched to no node: a chunk that
// registered on the removed pod since the plan, at a new storage address, is held against it.
func TestPresenceUnscheduledPodOwnsNothing(t *testing.T) {
	s := Step{Step: scaleplan.Step{Component: "chunk", Pod: "iomesh-chunk-4", Node: "node-4", Chunk: &iomeshcluster.RegisteredChunk{ID: 5, IP: "10.234.1.14"}, MatchedBy: iomeshcluster.MatchInPod, Unregister: []string{"x"}, From: 5, To: 4}}
	snap := &snapshot.Snapshot{}
	for i := 0; i < 5; i++ {
		snap.Storage.Chunks = append(snap.Storage.Chunks, iomeshcluster.RegisteredChunk{ID: int64(i + 1), IP: "10.234.1." + itoa(10+i), MatchedPod: "iomesh-chunk-" + itoa(i), MatchedBy: iomeshcluster.MatchInPod})
	}
	snap.Storage.Summary = true
	r := &run{plan: &job{Plan: &scaleplan.Plan{}, snap: snap, steps: []Step{s}}, owners: map[int64]string{}}
	r.match()
	// Now: chunk 5 has left; chunk 9 registered on iomesh-chunk-4 at a new storage address;
	// iomesh-chunk-2 was evicted and waits Pending, unscheduled.
	v := iomeshcluster.View{Summary: true}
	for i := 0; i < 4; i++ {
		v.Chunks = append(v.Chunks, iomeshcluster.RegisteredChunk{ID: int64(i + 1), IP: "10.234.1." + itoa(10+i), Status: iomeshcluster.ChunkHealthy})
	}
	v.Chunks = append(v.Chunks, iomeshcluster.RegisteredChunk{ID: 9, IP: "10.234.1.99", Status: iomeshcluster.ChunkHealthy})
	var pods []corev1.Pod
	for i := 0; i < 5; i++ {
		p := corev1.Pod{}
		p.Name = "iomesh-chunk-" + itoa(i)
		p.Spec.NodeName = "node-" + itoa(i)
		p.Status.PodIP = "192.168.0." + itoa(10+i)
		if i == 2 {
			p.Spec.NodeName, p.Status.PodIP = "", ""
		}
		pods = append(pods, p)
	}
	var nodes []corev1.Node
	for i := 0; i < 5; i++ {
		n := corev1.Node{}
		n.Name = "node-" + itoa(i)
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.0." + itoa(10+i)}}
		nodes = append(nodes, n)
	}
	v.Match(nodes, pods) // as observe does (scalein_run.go:87-89)
	// Control: with every pod scheduled, chunk 9 is held against the removed pod.
	pods[2].Spec.NodeName = "node-2"
	var o2 Observation
	r.presence(&o2, v, 0, s, pods)
	if o2.Holding != 9 {
		t.Fatalf("control: Holding %d", o2.Holding)
	}
	pods[2].Spec.NodeName = ""
	var o Observation
	r.presence(&o, v, 0, s, pods)
	if o.Holding != 9 {
		t.Fatalf("chunk 9, registered since the plan and matched to no pod, is not held against %s (Holding %d): it was attributed to the unscheduled iomesh-chunk-2", s.Pod, o.Holding)
	}
}

// The Lease records chunk 5's unregister as finished (iomeshctl that returns before the data has
// moved) while IOMesh still moves its data: the next run waits for the migration rather than
// sending again into a busy meta.
func TestDecideRecordedCompletionWaitsForTheMigration(t *testing.T) {
	chunkStep := Step{Step: scaleplan.Step{Component: "chunk", Pod: "iomesh-chunk-4", Chunk: &iomeshcluster.RegisteredChunk{ID: 5}, Unregister: []string{"iomeshctl", "chunk", "unregister", "5"}, From: 5, To: 4}}
	yes := true
	o := fullAt(5, iomeshcluster.Listed)
	o.Recorded, o.RecordedPod, o.Finished, o.Migrating = 5, "iomesh-chunk-4", true, &yes
	if d := Decide(chunkStep, 7, o, false); d.Phase != AwaitUnregister {
		t.Fatalf("chunk 5 listed and its data moving, the Lease says its unregister finished: Decide = %+v, want await-unregister", d)
	}
}

// The removed pod itself is Pending and unscheduled: the other pods' chunks, matched to them at
// the plan, are not held against it (else every run would stop for as long as it is Pending).
func TestPresenceUnscheduledRemovedPodHoldsNothing(t *testing.T) {
	s := Step{Step: scaleplan.Step{Component: "chunk", Pod: "iomesh-chunk-4", MatchedBy: iomeshcluster.ByNoChunk, From: 5, To: 4}}
	snap := &snapshot.Snapshot{}
	snap.Storage.Summary = true
	for i := 0; i < 4; i++ {
		snap.Storage.Chunks = append(snap.Storage.Chunks, iomeshcluster.RegisteredChunk{ID: int64(i + 1), IP: "10.234.1." + itoa(10+i), MatchedPod: "iomesh-chunk-" + itoa(i), MatchedBy: iomeshcluster.MatchInPod})
	}
	r := &run{plan: &job{Plan: &scaleplan.Plan{}, snap: snap, steps: []Step{s}}, owners: map[int64]string{}}
	r.match()
	v := iomeshcluster.View{Summary: true}
	for i := 0; i < 4; i++ {
		v.Chunks = append(v.Chunks, iomeshcluster.RegisteredChunk{ID: int64(i + 1), IP: "10.234.1." + itoa(10+i), Status: iomeshcluster.ChunkHealthy})
	}
	var pods []corev1.Pod
	var nodes []corev1.Node
	for i := 0; i < 5; i++ {
		p := corev1.Pod{}
		p.Name = "iomesh-chunk-" + itoa(i)
		p.Spec.NodeName = "node-" + itoa(i)
		p.Status.PodIP = "192.168.0." + itoa(10+i)
		if i == 4 {
			p.Spec.NodeName, p.Status.PodIP = "", ""
		}
		pods = append(pods, p)
		n := corev1.Node{}
		n.Name = "node-" + itoa(i)
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.0." + itoa(10+i)}}
		nodes = append(nodes, n)
	}
	v.Match(nodes, pods)
	var o Observation
	r.presence(&o, v, 0, s, pods)
	if o.Holding != 0 {
		t.Fatalf("chunk %d, matched to its own pod when the plan was made, is held against the unscheduled %s", o.Holding, s.Pod)
	}
}
