package cmd

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/scale"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/view"
)

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
	if !o.Yes {
		if err := confirm(o.IOStreams, o.IsTerminal, fmt.Sprintf("Remove %s, one at a time?", output.Plural(len(rp.Steps), "pod")), "pass --yes to scale in, or --dry-run to only see the plan"); err != nil {
			return err
		}
	}
	rctx := ctx
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	err = e.RunScaleIn(rctx, rp, scale.RunOptions{
		Progress: o.ErrOut, Holder: scale.Holder(),
		Resume: fmt.Sprintf("kubectl iomesh scale%s -n %s --release %s --yes", o.Targets.Target.Args(), o.Namespace(), o.Release),
	})
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
