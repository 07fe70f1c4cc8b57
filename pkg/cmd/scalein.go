package cmd

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/scale"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/view"
)

// resume is the command that continues rp from step next: the --chunk-id values still to do.
func (o *ScaleOptions) resume(rp *scale.RemovalPlan) func(next int) string {
	return func(next int) string {
		cmd := fmt.Sprintf("kubectl iomesh scale%s -n %s --release %s", o.Targets.Target.Args(), o.Namespace(), o.Release)
		if len(o.Targets.ChunkIDs) > 0 {
			for _, s := range rp.Steps[min(next, len(rp.Steps)):] {
				if s.Chunk != nil && s.Component == "chunk" {
					cmd += fmt.Sprintf(" --chunk-id %d", s.Chunk.ID)
				}
			}
		}
		return cmd + " --yes"
	}
}

// confirmChunks has a person confirm each chunk named with --chunk-id that no chunk pod's own
// addresses confirm; --yes refuses them.
func (o *ScaleOptions) confirmChunks(rp *scale.RemovalPlan) error {
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

// scaleIn plans a removal, shows it, asks, and runs it step by step.
func (o *ScaleOptions) scaleIn(ctx context.Context, e *scale.Engine, st *scale.State) error {
	rp, err := e.PlanScaleIn(ctx, st)
	var refused *scale.Refused
	if errors.As(err, &refused) {
		return o.printRefusal(refused)
	} else if err != nil {
		return err
	}
	view.WriteVerdicts(o.ErrOut, o.style(), st.Report, preflight.Warn)
	if o.dryRun() {
		if o.DryRun == DryRunServer {
			if err := e.ServerDryRun(ctx, rp.Plan); err != nil {
				return err
			}
		}
		if !o.Print.Human() {
			return o.Print.Print(rp, o.Out)
		}
		if err := scale.WriteRemoval(o.Out, rp); err != nil {
			return err
		}
		_, err := fmt.Fprintln(o.Out, "Dry run: nothing was changed.")
		return err
	}
	if err := scale.WriteRemoval(o.Out, rp); err != nil {
		return err
	}
	if err := o.confirmChunks(rp); err != nil {
		return err
	}
	if !o.Yes {
		if err := confirm(o.IOStreams, o.IsTerminal, fmt.Sprintf("Remove %s, one at a time?", output.Plural(len(rp.Steps), "pod")), "pass --yes to scale in, or --dry-run to only see the plan"); err != nil {
			return err
		}
	}
	rctx := ctx
	if o.Timeout > 0 && o.timeoutSet {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	err = e.RunScaleIn(rctx, rp, scale.RunOptions{Progress: o.ErrOut, Holder: scale.Holder(), Resume: o.resume(rp)})
	if err != nil {
		return err
	}
	r, err := o.Reader()
	if err != nil {
		return err
	}
	chunk, meta, err := r.Components(ctx)
	if err != nil {
		return err
	}
	pods := append(append([]corev1.Pod{}, chunk.Pods...), meta.Pods...)
	return output.WritePods(o.Out, output.PodRows(pods, o.Now()), false)
}
