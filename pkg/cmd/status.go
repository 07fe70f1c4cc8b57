package cmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/snapshot"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/view"
)

// StatusOptions are the options of `kubectl iomesh status`.
type StatusOptions struct {
	*Common
	Print *PrintFlags
	// AllNamespaces lists every IOMesh cluster in the Kubernetes cluster.
	AllNamespaces bool
}

// NewStatusOptions returns the defaults.
func NewStatusOptions(common *Common) *StatusOptions {
	return &StatusOptions{Common: common, Print: NewPrintFlags(true)}
}

// NewStatusCommand builds `kubectl iomesh status`.
func NewStatusCommand(common *Common) *cobra.Command {
	o := NewStatusOptions(common)
	c := &cobra.Command{
		Use:   "status",
		Short: "Show the IOMesh release, edition, licence and the chunk and meta pods",
		Long: `Show the IOMesh Helm release (chart, revision, status), the edition and where it was read,
the licence, and the chunk and meta pods as ` + "`kubectl get pod`" + ` prints them.`,
		Example: `  kubectl iomesh status
  kubectl iomesh status -o wide
  kubectl iomesh status -o json
  kubectl iomesh status -o jsonpath='{.license.maxChunkNum}'`,
		Args: NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	o.Print.AddFlags(c)
	c.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "List every IOMesh cluster in the Kubernetes cluster, Helm-managed or applied directly")
	return c
}

// Complete has nothing to resolve before Run: clients are made on first use.
func (o *StatusOptions) Complete() error { return nil }

// Validate checks the flags.
func (o *StatusOptions) Validate() error {
	return exitcode.UsageError(o.Print.Validate())
}

// Run reads one snapshot and prints the report.
func (o *StatusOptions) Run(ctx context.Context) error {
	if o.AllNamespaces {
		return o.runAll(ctx)
	}
	// -o wide also shows each chunk node's disks: one more list, of the BlockDevices.
	snap, err := o.Snapshot(ctx, snapshot.Options{Disks: o.Print.Wide()})
	if err != nil {
		return err
	}
	report := view.BuildStatus(snap, o.ContextName())
	if o.Print.Human() {
		if err := view.WriteStatus(o.Out, report, o.Print.Wide()); err != nil {
			return err
		}
	} else if err := o.Print.Print(report, o.Out); err != nil {
		return err
	}
	if snap.Cluster.Err != nil {
		// Printed above; the exit code must still say the status is incomplete.
		return &exitcode.Silent{Code: exitcode.Error}
	}
	return nil
}

// runAll prints one line per IOMesh cluster.
func (o *StatusOptions) runAll(ctx context.Context) error {
	reader, err := o.Reader()
	if err != nil {
		return err
	}
	entries, missing, err := snapshot.ReadAll(ctx, reader, o.HelmFor)
	if err != nil {
		return err
	}
	list := view.BuildList(entries, missing.String())
	if o.Print.Human() {
		return view.WriteList(o.Out, list)
	}
	return o.Print.Print(list, o.Out)
}
