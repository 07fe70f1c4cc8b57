package cmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/snapshot"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/view"
)

// PreflightOptions are the options of `kubectl iomesh preflight`.
type PreflightOptions struct {
	*Common
	Targets TargetFlags
	Checks  CheckFlags
	Print   *PrintFlags
	skip    map[string]bool
	// ExecNetwork reads the addresses of nodes outside dataCIDR inside the CSI node plugin.
	ExecNetwork bool
}

// NewPreflightCommand builds `kubectl iomesh preflight`.
func NewPreflightCommand(common *Common) *cobra.Command {
	o := &PreflightOptions{Common: common, Print: NewPrintFlags(true)}
	o.Checks.ColorEnv = output.SystemEnv()
	c := &cobra.Command{
		Use:   "preflight [--chunk N] [--meta M]",
		Short: "Check whether the IOMesh cluster can scale out, and how far",
		Long: `Run the scale-out checks that ` + "`kubectl iomesh scale`" + ` enforces, each with a verdict, the reason and what to do.

Without a target it answers whether this cluster can scale out at all and how far; with
--chunk/--meta it checks that exact target. Nothing is changed.

Exit codes: 0 all checks pass, 3 a check failed, 4 only warnings with --fail-on-warning,
1 the checks could not run, 2 bad usage.`,
		Example: `  kubectl iomesh preflight
  kubectl iomesh preflight --chunk 5 --meta 5
  kubectl iomesh preflight --chunk 6 -o wide      # per-node eligibility
  kubectl iomesh preflight -o json`,
		Args: NoArgs,
		RunE: runE(o),
	}
	o.Targets.AddFlags(c)
	o.Checks.AddFlags(c)
	o.Print.AddFlags(c)
	addExecNetworkFlag(c, &o.ExecNetwork)
	return c
}

// addExecNetworkFlag is --exec-storage-network, the opt-in exec of nodes.storage-network.
func addExecNetworkFlag(c *cobra.Command, v *bool) {
	c.Flags().BoolVar(v, "exec-storage-network", false,
		"for nodes.storage-network, read the addresses of nodes whose own are outside dataCIDR inside the CSI node plugin (one exec per such eligible node; needs pods/exec in the whole namespace, see `kubectl iomesh rbac --help`)")
}

// Complete resolves the flags.
func (o *PreflightOptions) Complete(c *cobra.Command) error {
	o.Targets.Complete(c)
	var err error
	o.skip, err = o.Checks.Skip()
	return err
}

// Validate checks the flags.
func (o *PreflightOptions) Validate() error {
	if err := o.Targets.Validate(); err != nil {
		return err
	}
	return exitcode.UsageError(o.Print.Validate())
}

// Run gathers the state, runs the checks and prints the report.
func (o *PreflightOptions) Run(ctx context.Context) error {
	snap, err := o.Snapshot(ctx, snapshot.Options{History: true, Nodes: true, Permissions: true, HostAddresses: o.ExecNetwork, Disks: true, Room: true, Operator: true,
		Target: o.Targets.Target, ChunkIDs: o.Targets.ChunkIDs, NoChunk: o.Targets.NoChunk})
	if err != nil {
		return err
	}
	in := snap.PreflightInput(o.Targets.Target)
	if o.ExecNetwork {
		reader, err := o.Reader()
		if err != nil {
			return err
		}
		snapshot.ReadHostAddresses(ctx, reader, in)
	}
	report := preflight.Run(in, o.skip, output.APIVersion)
	if o.Print.Human() {
		style := view.CheckStyle{Fancy: o.Checks.Color.Enabled(o.Out, o.Checks.ColorEnv)}
		if err := view.WriteChecks(o.Out, report, style, o.Print.Wide()); err != nil {
			return err
		}
	} else if err := o.Print.Print(report, o.Out); err != nil {
		return err
	}
	return preflight.ExitError(report, o.Checks.FailOnWarning)
}
