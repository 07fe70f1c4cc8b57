package preflight

import (
	"errors"
	"strings"
	"testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/edition"
)

func TestTargetWords(t *testing.T) {
	for want, tgt := range map[string]Target{
		"":                    {},
		" --chunk 5":          {Chunk: ip(5)},
		" --meta 5":           {Meta: ip(5)},
		" --chunk 4 --meta 5": {Chunk: ip(4), Meta: ip(5)},
	} {
		if got := tgt.Args(); got != want {
			t.Errorf("Args() = %q, want %q", got, want)
		}
	}
	if got := (Target{Chunk: ip(4), Meta: ip(5)}).String(); !strings.Contains(got, "4 chunk") || !strings.Contains(got, "5 meta") {
		t.Errorf("String() = %q", got)
	}
}

func TestCountsStayOrGrow(t *testing.T) {
	in := cluster(6, 3, 3, 10)
	in.Target = Target{Chunk: ip(5), Meta: ip(3)}
	r := Run(in, nil, "v1")
	expect(t, r, "chunk.no-scale-in", Pass, "chunk pods go from 3 to 5")
	expect(t, r, "meta.no-scale-in", Pass, "meta pods stay at 3")
}

// Five meta pods are the limit only for Enterprise with room for five.
func TestMetaLimit(t *testing.T) {
	if l := Run(cluster(5, 3, 3, 10), nil, "v1").Limit.MaxMeta; l != edition.MetaLarge {
		t.Fatalf("Enterprise on 5 nodes: %d", l)
	}
	if l := Run(cluster(4, 3, 3, 10), nil, "v1").Limit.MaxMeta; l != edition.MetaSmall {
		t.Fatalf("Enterprise on 4 nodes: %d", l)
	}
	in := cluster(5, 3, 3, 10)
	in.Edition.Edition = edition.Community
	if l := Run(in, nil, "v1").Limit.MaxMeta; l != edition.MetaSmall {
		t.Fatalf("Community on 5 nodes: %d", l)
	}
}

func TestCountsUnreadable(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.ReplicasErr = errors.New("iomesh.chunk.replicaCount is \"three\"")
	in.Target = Target{Chunk: ip(4)}
	expect(t, Run(in, nil, "v1"), "chunk.no-scale-in", Error, "cannot read the current chunk count")
	// Without a target the counts to judge are unknown too.
	in.Target = Target{}
	f := Derive(in)
	if f.TargetChunkOK || f.TargetMetaOK {
		t.Fatalf("targets from unreadable counts: %+v", f)
	}
	in.ReplicasErr = nil
	if f := Derive(in); !f.TargetChunkOK || f.TargetChunk != 3 || !f.TargetMetaOK || f.TargetMeta != 3 {
		t.Fatalf("targets from the counts: chunk %d (%v), meta %d (%v)", f.TargetChunk, f.TargetChunkOK, f.TargetMeta, f.TargetMetaOK)
	}
}
