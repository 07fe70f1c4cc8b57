package preflight

import (
	"fmt"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/edition"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
)

// Facts are the input with what every check derives from it computed once.
type Facts struct {
	*Input
	Chunk placement.Summary
	Meta  placement.Summary
	// TargetChunk and TargetMeta are the counts after the change (the current ones when not
	// changed); ok is false when the current count is unknown too.
	TargetChunk, TargetMeta     int
	TargetChunkOK, TargetMetaOK bool
	Limit                       Limit
}

// Derive computes the facts.
func Derive(in *Input) *Facts {
	f := &Facts{Input: in}
	f.Chunk = placement.Evaluate("chunk", in.Nodes, in.ChunkPods, in.ChunkPolicy)
	f.Meta = placement.Evaluate("meta", in.Nodes, in.MetaPods, in.MetaPolicy)
	known := in.ReplicasErr == nil && in.Replicas.Layout != ""
	switch {
	case in.Target.Chunk != nil:
		f.TargetChunk, f.TargetChunkOK = *in.Target.Chunk, true
	case known:
		f.TargetChunk, f.TargetChunkOK = in.Replicas.Chunk, true
	}
	switch {
	case in.Target.Meta != nil:
		f.TargetMeta, f.TargetMetaOK = *in.Target.Meta, true
	case known:
		f.TargetMeta, f.TargetMetaOK = in.Replicas.Meta, true
	}
	f.Limit = f.limit()
	return f
}

// limit is the largest chunk count the cluster can reach, and what binds it.
func (f *Facts) limit() Limit {
	type bound struct {
		n    int
		name string
	}
	bounds := []bound{{edition.ChunkMax, fmt.Sprintf("%d (Enterprise maximum)", edition.ChunkMax)}, {f.Chunk.Capacity(), "nodes"}}
	if e := f.Edition.Edition; e != edition.Enterprise {
		bounds = append(bounds, bound{e.MaxChunk(), "Community edition"})
	}
	if f.License != nil && f.License.MaxChunkNum != nil {
		bounds = append(bounds, bound{*f.License.MaxChunkNum, "licence"})
	}
	min := bounds[0].n
	for _, b := range bounds {
		if b.n < min {
			min = b.n
		}
	}
	l := Limit{MaxChunk: min}
	for _, b := range bounds {
		if b.n == min {
			l.LimitedBy = append(l.LimitedBy, b.name)
		}
	}
	l.MaxMeta = edition.MetaSmall
	if f.Edition.Edition.MaxMeta() >= edition.MetaLarge && f.Meta.Capacity() >= edition.MetaLarge {
		l.MaxMeta = edition.MetaLarge
	}
	return l
}
