package preflight

import (
	"fmt"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/gitops"

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
	// NewChunkDisks are the disks a new chunk pod would mount on each eligible node (read only
	// when the BlockDevices were); DisksErr says they could not be worked out.
	NewChunkDisks []placement.NodeDisks
	DisksErr      error
}

// Derive computes the facts.
func Derive(in *Input) *Facts {
	f := &Facts{Input: in}
	f.Chunk = placement.Evaluate("chunk", in.Nodes, in.ChunkPods, in.ChunkPolicy, in.ChunkRoom)
	f.Meta = placement.Evaluate("meta", in.Nodes, in.MetaPods, in.MetaPolicy, in.MetaRoom)
	known := in.ReplicasErr == nil && in.Replicas.Layout != ""
	if in.Target.Chunk != nil {
		f.TargetChunk, f.TargetChunkOK = *in.Target.Chunk, true
	} else if known {
		f.TargetChunk, f.TargetChunkOK = in.Replicas.Chunk, true
	}
	if in.Target.Meta != nil {
		f.TargetMeta, f.TargetMetaOK = *in.Target.Meta, true
	} else if known {
		f.TargetMeta, f.TargetMetaOK = in.Replicas.Meta, true
	}
	f.Limit = f.limit()
	if in.Disks.Read && in.Disks.MapErr == nil {
		for _, n := range f.Chunk.Nodes {
			if !n.Eligible {
				continue
			}
			nd, err := placement.DisksForNewChunk(in.Disks.Map, in.Disks.Devices, n.Name)
			if err != nil {
				f.DisksErr = err
				break
			}
			f.NewChunkDisks = append(f.NewChunkDisks, nd)
		}
	}
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
	lowest := bounds[0].n
	for _, b := range bounds {
		if b.n < lowest {
			lowest = b.n
		}
	}
	l := Limit{MaxChunk: lowest}
	for _, b := range bounds {
		if b.n == lowest {
			l.LimitedBy = append(l.LimitedBy, b.name)
		}
	}
	l.MaxMeta = edition.MetaSmall
	if f.Edition.Edition.MaxMeta() >= edition.MetaLarge && f.Meta.Capacity() >= edition.MetaLarge {
		l.MaxMeta = edition.MetaLarge
	}
	return l
}

// GitOpsEdit is the change to make in Git for the target, nil without an owner or a target.
func (f *Facts) GitOpsEdit() *gitops.Edit {
	if f.GitOps == nil || f.Target.Empty() {
		return nil
	}
	e := gitops.EditFor(f.GitOps, f.Replicas.Layout, f.Target.Chunk, f.Target.Meta)
	return &e
}
