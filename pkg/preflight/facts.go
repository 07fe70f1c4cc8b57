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
	// when the BlockDevices were); NewChunkDisksErr says they could not be worked out.
	NewChunkDisks    []placement.NodeDisks
	NewChunkDisksErr error
	// Ready is each node's readiness for IOMesh (nil: not read); Candidates are the nodes the
	// chunk placement found eligible before it, and LeftOut those it then left out, with why.
	Ready      map[string]NodeReadiness
	Candidates []string
	LeftOut    []string
}

// Derive computes the facts.
func Derive(in *Input) *Facts {
	f := &Facts{Input: in}
	f.Chunk = placement.Evaluate("chunk", in.Nodes, in.ChunkPods, in.ChunkPolicy, in.ChunkRoom())
	f.Meta = placement.Evaluate("meta", in.Nodes, in.MetaPods, in.MetaPolicy, in.MetaRoom())
	f.leaveOut()
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
	if in.DisksRead {
		for _, n := range f.Chunk.Nodes {
			if !n.Eligible {
				continue
			}
			nd, err := placement.DisksForNewChunk(in.DeviceMap, in.Devices, n.Name)
			if err != nil {
				f.NewChunkDisksErr = err
				break
			}
			f.NewChunkDisks = append(f.NewChunkDisks, nd)
		}
	}
	return f
}

// leaveOut judges each node's readiness and leaves out of the chunk placement the eligible
// nodes where a new chunk pod could not serve (no iSCSI, no Ready CSI node plugin).
func (f *Facts) leaveOut() {
	f.Ready = readinessOf(f.Input)
	if f.Ready == nil {
		return
	}
	for i := range f.Chunk.Nodes {
		n := &f.Chunk.Nodes[i]
		if !n.Eligible {
			continue
		}
		f.Candidates = append(f.Candidates, n.Name)
		if why, out := f.Ready[n.Name].LeftOut(); out {
			n.Eligible = false
			n.Reasons = append(n.Reasons, why)
			f.Chunk.Free--
			f.LeftOut = append(f.LeftOut, n.Name+": "+why)
		}
	}
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
