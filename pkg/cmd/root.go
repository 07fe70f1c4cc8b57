package cmd

import (
	"flag"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
)

// NewRootCommand builds `kubectl iomesh` and every subcommand.
func NewRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	return NewRoot(NewCommon(streams))
}

// NewRoot builds the command tree over prepared shared options (tests inject clients there).
func NewRoot(common *Common) *cobra.Command {
	streams := common.IOStreams
	root := &cobra.Command{
		Use:   "kubectl-iomesh",
		Short: "Operate IOMesh, the Kubernetes-native storage, safely",
		Long: `kubectl iomesh inspects and scales an IOMesh cluster installed as a Helm release.

It reads the release and the cluster straight from the API server, checks the rules of the IOMesh
editions and licence before it changes anything, and upgrades the release through the Helm SDK
with the exact chart version that is deployed, keeping every value you set.`,
		Example: `  # What is deployed, and is it healthy?
  kubectl iomesh status

  # Can this cluster take 5 chunk and 5 meta pods?
  kubectl iomesh preflight --chunk 5 --meta 5

  # Scale out, after the checks pass
  kubectl iomesh scale --chunk 5 --meta 5`,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl iomesh"},
		SilenceErrors: true,
		SilenceUsage:  true,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
				if s := c.SuggestionsFor(args[0]); len(s) > 0 {
					msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
				}
				return exitcode.UsageError(fmt.Errorf("%s\nRun '%s --help' for usage", msg, c.CommandPath()))
			}
			return nil
		},
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	root.SuggestionsMinimumDistance = 2
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return exitcode.UsageError(fmt.Errorf("%w\nSee '%s --help' for usage", err, c.CommandPath()))
	})

	flags := root.PersistentFlags()
	common.ConfigFlags.AddFlags(flags)
	flags.StringVar(&common.Release, "release", common.Release, "Name of the IOMesh Helm release, or of an IOMeshCluster managed without Helm")
	// --cluster is kubectl's own (the kubeconfig cluster), so the alias says what it names.
	flags.StringVar(&common.Release, "iomesh-cluster", common.Release, "Name of the IOMeshCluster: the same as --release (they share the name)")
	// klog's -v for client-go request logs, on a flag set of our own.
	gofs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(gofs)
	if v := gofs.Lookup("v"); v != nil {
		flags.AddGoFlag(v)
	}

	registerCompletions(root, common)
	root.AddCommand(
		NewStatusCommand(common),
		NewPreflightCommand(common),
		NewScaleCommand(common),
		NewRBACCommand(common),
		NewVersionCommand(common),
	)
	return root
}
