package cmd

import (
	"fmt"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/scaleplan"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/view"
)

// resume is the command that continues rp from step next: the --chunk-id values still to do,
// and the statements (--no-chunk, --chunk-unregistered) about the steps still to do, so that
// the Lease's record of the command carries them.
func (o *ScaleOptions) resume(rp *scaleplan.ScaleInPlan) func(next int) string {
	stated := map[int64]bool{}
	for _, id := range o.Targets.Unregistered {
		stated[id] = true
	}
	return func(next int) string {
		cmd := o.command()
		rest := rp.Steps[min(next, len(rp.Steps)):]
		if len(o.Targets.ChunkIDs) > 0 {
			for _, s := range rest {
				if s.Chunk != nil && s.Component == "chunk" {
					cmd += fmt.Sprintf(" --chunk-id %d", s.Chunk.ID)
				}
			}
		}
		for _, s := range rest {
			switch {
			case s.Chunk == nil && s.MatchedBy == iomeshcluster.ByNoChunk:
				cmd += " --no-chunk " + s.Pod
			case s.Chunk != nil && stated[s.Chunk.ID]:
				cmd += fmt.Sprintf(" --chunk-unregistered %d", s.Chunk.ID)
			}
		}
		if o.Yes {
			cmd += " --yes"
		}
		return cmd
	}
}

// confirmChunks has a person confirm each chunk named with --chunk-id that no chunk pod's own
// addresses confirm; --yes refuses them.
func (o *ScaleOptions) confirmChunks(rp *scaleplan.ScaleInPlan) error {
	for _, s := range rp.Unconfirmed() {
		if o.Yes {
			return exitcode.Wrap(exitcode.Refused, fmt.Errorf("chunk %d (ip %s) for %s on %s is not confirmed: %s. Under --yes only a confirmed chunk is unregistered; nothing was changed. Check the chunk's ip on that node, then run without --yes to confirm it", s.Chunk.ID, s.Chunk.IP, s.Pod, s.Node, s.Unconfirmed))
		}
		q := fmt.Sprintf("Chunk %d has ip %s; no chunk pod lists that address. Is it the chunk of %s on node %s?", s.Chunk.ID, s.Chunk.IP, s.Pod, s.Node)
		if err := confirm(o.IOStreams, o.IsTerminal, q, "confirm each chunk on a terminal, or name only chunks the tool can confirm"); err != nil {
			return err
		}
	}
	return nil
}

// confirmRemoval shows the removal plan and asks, for each chunk it could not confirm and then
// for the whole plan.
func (o *ScaleOptions) confirmRemoval(rp *scaleplan.ScaleInPlan) error {
	if err := view.WriteRemoval(o.Out, rp); err != nil {
		return err
	}
	if err := o.confirmChunks(rp); err != nil {
		return err
	}
	if o.Yes {
		return nil
	}
	return confirm(o.IOStreams, o.IsTerminal, fmt.Sprintf("Remove %s, one at a time?", output.Plural(len(rp.Steps), "pod")), "pass --yes to scale in, or --dry-run to only see the plan")
}
