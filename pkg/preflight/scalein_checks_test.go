package preflight

import (
	"errors"
	"fmt"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"strings"
	"testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
)

// removing is a 5-chunk, 5-meta cluster that IOMesh reports on, with target chunk and meta
// and the removal read as on IOMesh version.
func removing(chunk, meta int, version string) *Input {
	in := cluster(6, 5, 5, 10)
	in.Target = Target{Chunk: ip(chunk), Meta: ip(meta)}
	in.Storage = iomeshcluster.View{Summary: true, TaskReported: true}
	for i := 0; i < 5; i++ {
		in.Storage.Chunks = append(in.Storage.Chunks, iomeshcluster.RegisteredChunk{ID: int64(i + 1), Status: iomeshcluster.ChunkHealthy, MatchedNode: fmt.Sprintf("node-%d", i)})
	}
	in.LeaderPods = []string{"iomesh-meta-0"}
	s := &ScaleInFacts{Procedure: iomeshcluster.ProcedureFor("", version), Migration: &iomeshcluster.Migration{Values: []iomeshcluster.Counter{{Key: "num_ongoing_migrates"}, {Key: "num_ongoing_recovers"}}}, MigrationPod: "iomesh-meta-0"}
	for o := 4; o >= chunk; o-- {
		c := in.Storage.Chunks[o]
		s.Removals = append(s.Removals, iomeshcluster.PodRemoval{Ordinal: o, Pod: fmt.Sprintf("iomesh-chunk-%d", o), Node: fmt.Sprintf("node-%d", o), Chunk: &c, By: "ip"})
	}
	for o := 4; o >= meta; o-- {
		s.MetaRemovals = append(s.MetaRemovals, fmt.Sprintf("iomesh-meta-%d", o))
	}
	s.Room = iomeshcluster.Room{Used: 10, Remaining: 100, Leaving: 50}
	in.ScaleIn = s
	return in
}

func TestChunkScaleIn(t *testing.T) {
	in := removing(3, 5, "v1.0.1")
	r := Run(in, nil, "v1")
	expect(t, r, "chunk.no-scale-in", Pass, "chunk pods go from 5 to 3, one at a time from iomesh-chunk-4: each chunk unregistered on the meta leader first")
	expect(t, r, "chunk.min", Pass, "")
	expect(t, r, "disks.new-chunk-nodes", Skipped, "none added")
	// Below the minimum of 3.
	in = removing(3, 5, "v1.0.1")
	in.Target.Chunk = ip(2)
	expect(t, Run(in, nil, "v1"), "chunk.min", Fail, "at least 3")
	// IOMesh reports no chunks: which pod serves which chunk cannot be known.
	in = removing(3, 5, "v1.0.1")
	in.Storage = iomeshcluster.View{}
	expect(t, Run(in, nil, "v1"), "chunk.no-scale-in", Fail, "status.summary.chunkSummary is not reported")
	in.Cluster.Absent = &inventory.Unavailable{Reason: inventory.NotFound, Text: "no IOMeshCluster"}
	expect(t, Run(in, nil, "v1"), "chunk.no-scale-in", Fail, "no IOMeshCluster")
	// 1.2: the operator unregisters.
	expect(t, Run(removing(4, 5, "v1.2.0"), nil, "v1"), "chunk.no-scale-in", Pass, "the operator unregisters the chunk")
}

func TestMetaScaleInByVersion(t *testing.T) {
	r := Run(removing(5, 3, "v1.0.1"), nil, "v1")
	expect(t, r, "meta.no-scale-in", Fail, "IOMesh v1.0.1 (the chart version) does not support removing meta pods")
	expect(t, Run(removing(5, 3, "v1.1.0"), nil, "v1"), "meta.no-scale-in", Fail, "does not support")
	r = Run(removing(5, 3, "v1.2.0"), nil, "v1")
	expect(t, r, "meta.no-scale-in", Pass, "meta pods go from 5 to 3, one helm upgrade per pod from iomesh-meta-4")
	expect(t, r, "scale-in.chunk-mapped", Skipped, "")
	expect(t, r, "scale-in.capacity", Skipped, "")
}

func TestChunkMapped(t *testing.T) {
	expect(t, Run(removing(4, 5, "v1.0.1"), nil, "v1"), MappedCheckID, Pass, "iomesh-chunk-4 on node-4 serves chunk 5 (by ip)")
	in := removing(3, 5, "v1.0.1")
	in.ScaleIn.Removals[1] = iomeshcluster.PodRemoval{Pod: "iomesh-chunk-3", Unregistered: true}
	expect(t, Run(in, nil, "v1"), MappedCheckID, Pass, "iomesh-chunk-3 was never scheduled on a node")
	in.ScaleIn.Removals[1].By = iomeshcluster.ByNoChunk
	expect(t, Run(in, nil, "v1"), MappedCheckID, Pass, "iomesh-chunk-3 holds no chunk, as stated with --no-chunk")
	in.ScaleIn.Removals[0].Chunk, in.ScaleIn.Removals[0].Problem = nil, "2 chunks match node node-4"
	r := Run(in, nil, "v1")
	expect(t, r, MappedCheckID, Fail, "iomesh-chunk-4: 2 chunks match node node-4")
	if h := verdicts(r)[MappedCheckID].Hint; !strings.Contains(h, "--chunk-id ID") {
		t.Fatalf("hint %q", h)
	}
	// On 1.2 the operator unregisters: the match only informs the capacity.
	in.ScaleIn.Procedure = iomeshcluster.ProcedureFor("v1.2.0", "")
	expect(t, Run(in, nil, "v1"), MappedCheckID, Warn, "not certain")
	expect(t, Run(removing(5, 5, "v1.0.1"), nil, "v1"), MappedCheckID, Skipped, "")
}

func TestMigrationIdle(t *testing.T) {
	busy := []iomeshcluster.Counter{{Key: "num_ongoing_migrates", Value: 1}, {Key: "pending_migrates_bytes", Depth: 2, Value: 42}, {Key: "num_ongoing_recovers"}}
	cases := []struct {
		name   string
		change func(*ScaleInFacts)
		want   Verdict
		reason string
	}{
		{"idle", func(*ScaleInFacts) {}, Pass, "every recover and migrate value is 0 (2 lines on iomesh-meta-0)"},
		{"busy", func(s *ScaleInFacts) { s.Migration.Values = busy }, Fail, "num_ongoing_migrates: 1, pending_migrates_bytes: 42"},
		{"unreadable", func(s *ScaleInFacts) { s.Migration, s.MigrationErr = nil, errors.New("exec refused") }, Error, "exec refused"},
		{"not run", func(s *ScaleInFacts) { s.Migration = nil }, Skipped, ""},
		// An earlier run's unregister moves the data: this run waits for it.
		{"own migration", func(s *ScaleInFacts) {
			s.Migration.Values, s.InFlight, s.InFlightPod, s.InFlightBy = busy, 5, "iomesh-chunk-4", "kubectl-iomesh@host/1"
		}, Pass, "chunk 5 of iomesh-chunk-4 is being unregistered (started by kubectl-iomesh@host/1)"},
		{"own chunk gone", func(s *ScaleInFacts) { s.Migration.Values, s.InFlight = busy, 9 }, Fail, "recovering or migrating"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := removing(4, 5, "v1.0.1")
			c.change(in.ScaleIn)
			expect(t, Run(in, nil, "v1"), MigrationCheckID, c.want, c.reason)
		})
	}
	expect(t, Run(cluster(5, 3, 3, 10), nil, "v1"), MigrationCheckID, Skipped, "")
}

func TestScaleInCapacity(t *testing.T) {
	cases := []struct {
		used, remaining int64
		want            Verdict
	}{
		{80, 100, Pass}, {801, 1000, Warn}, {100, 100, Warn}, {1001, 1000, Fail}, {1, 0, Fail},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d of %d", c.used, c.remaining), func(t *testing.T) {
			in := removing(3, 5, "v1.0.1")
			in.ScaleIn.Room = iomeshcluster.Room{Used: c.used, Remaining: c.remaining}
			expect(t, Run(in, nil, "v1"), CapacityCheckID, c.want, "")
		})
	}
	in := removing(3, 5, "v1.0.1")
	in.ScaleIn.Room = iomeshcluster.Room{Used: 3 << 40, Remaining: 2 << 40, Leaving: 1 << 40}
	expect(t, Run(in, nil, "v1"), CapacityCheckID, Fail, "the data does not fit: 3Ti of data in use against 2Ti of data capacity left once 1Ti leaves (150.0%)")
	in.ScaleIn.RoomErr = errors.New("chunk 1 reports no totalDataCapacity")
	expect(t, Run(in, nil, "v1"), CapacityCheckID, Fail, "chunk 1 reports no totalDataCapacity")
}

func TestLeaderKept(t *testing.T) {
	in := removing(5, 3, "v1.2.0")
	expect(t, Run(in, nil, "v1"), "scale-in.leader-kept", Pass, "the meta leader (iomesh-meta-0) stays")
	in.LeaderPods = []string{"iomesh-meta-4"}
	expect(t, Run(in, nil, "v1"), "scale-in.leader-kept", Warn, "iomesh-meta-4, which is removed, is the meta leader")
	expect(t, Run(removing(4, 5, "v1.0.1"), nil, "v1"), "scale-in.leader-kept", Skipped, "")
}

func TestChunksHealthyAfterUnregister(t *testing.T) {
	// A pod whose chunk was unregistered serves none, as planned: no warning.
	in := removing(4, 5, "v1.0.1")
	in.Storage.Chunks = in.Storage.Chunks[:4]
	in.ScaleIn.Removals[0] = iomeshcluster.PodRemoval{Pod: "iomesh-chunk-4", Unregistered: true}
	expect(t, Run(in, nil, "v1"), "cluster.chunks-healthy", Pass, "4 chunks registered, all healthy")
	in.ScaleIn = nil
	expect(t, Run(in, nil, "v1"), "cluster.chunks-healthy", Warn, "4 chunks registered for 5 Ready chunk pods")
}

// A target equal to the current count removes nothing: the disk check is not skipped as a removal.
func TestDisksAtTheCurrentCount(t *testing.T) {
	in := removing(5, 5, "v1.0.1")
	got := verdicts(Run(in, nil, "v1"))["disks.new-chunk-nodes"]
	if strings.Contains(got.Reason, "none added") {
		t.Fatalf("disks.new-chunk-nodes at the current count: %s %q", got.Verdict, got.Reason)
	}
}

// someOf names up to n nodes and counts the rest.
func TestSomeOf(t *testing.T) {
	five := []string{"a", "b", "c", "d", "e"}
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{five[:1], "a"},
		{five, "a, b, c, d, e"},
		{append(five, "f"), "a, b, c, d, e and 1 more"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := someOf(tc.names, 5); got != tc.want {
				t.Fatalf("someOf(%q) = %q, want %q", tc.names, got, tc.want)
			}
		})
	}
}

func TestOneDirection(t *testing.T) {
	in := cluster(6, 5, 3, 10)
	in.Target = Target{Chunk: ip(4), Meta: ip(5)}
	r := Run(in, nil, "v1")
	expect(t, r, OneDirectionCheckID, Fail, "chunk 5 -> 4, meta 3 -> 5")
	if h := verdicts(r)[OneDirectionCheckID].Hint; !strings.Contains(h, "`kubectl iomesh scale --meta 5 -n iomesh-system --release iomesh`, then `kubectl iomesh scale --chunk 4") {
		t.Fatalf("hint %q", h)
	}
	in.Target = Target{Chunk: ip(6), Meta: ip(5)}
	expect(t, Run(in, nil, "v1"), OneDirectionCheckID, Skipped, "no count is lowered")
	in.Target = Target{Chunk: ip(4), Meta: ip(3)}
	expect(t, Run(in, nil, "v1"), OneDirectionCheckID, Pass, "both down or unchanged")
	in.Target = Target{Chunk: ip(4)}
	expect(t, Run(in, nil, "v1"), OneDirectionCheckID, Skipped, "")
}
