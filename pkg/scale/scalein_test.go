package scale

import (
	"testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
)

func TestResume(t *testing.T) {
	chunkStep := Step{Component: "chunk", Pod: "iomesh-chunk-4", Chunk: &iomeshcluster.RegisteredChunk{ID: 5}, Unregister: []string{"iomeshctl", "chunk", "unregister", "5"}, From: 5, To: 4}
	countOnly := chunkStep
	countOnly.Unregister = nil // IOMesh 1.2: the operator unregisters
	meta := Step{Component: "meta", Pod: "iomesh-meta-4", From: 5, To: 4}
	cases := []struct {
		name     string
		s        Step
		count    int
		listed   bool
		recorded int64
		want     Phase
	}{
		{"fresh: chunk registered", chunkStep, 5, true, 0, Unregister},
		{"an earlier run started the unregister", chunkStep, 5, true, 5, AwaitUnregister},
		{"a record of another chunk", chunkStep, 5, true, 4, Unregister},
		{"chunk gone, count not lowered", chunkStep, 5, false, 5, Lower},
		{"chunk gone, no record", chunkStep, 5, false, 0, Lower},
		{"count lowered", chunkStep, 4, false, 0, AwaitRemoval},
		// The count is lowered only after the chunk left: a lowered count with the chunk still
		// listed is a wait, never another write.
		{"count lowered, chunk still listed", chunkStep, 4, true, 5, AwaitRemoval},
		{"count below the step", chunkStep, 3, false, 0, AwaitRemoval},
		{"count moved by someone else", chunkStep, 6, true, 0, Changed},
		{"1.2: lower with the chunk listed", countOnly, 5, true, 0, Lower},
		{"meta", meta, 5, false, 0, Lower},
		{"meta lowered", meta, 4, false, 0, AwaitRemoval},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Resume(c.s, c.count, c.listed, c.recorded); got != c.want {
				t.Fatalf("Resume = %s, want %s", got, c.want)
			}
		})
	}
}
