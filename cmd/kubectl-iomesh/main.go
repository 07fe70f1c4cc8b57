// Command kubectl-iomesh is the kubectl plugin for IOMesh: `kubectl iomesh ...`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // exec, OIDC and other kubeconfig auth providers

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/cmd"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/startup" // GC settings, before the libraries initialise
)

func main() {
	startup.Done()
	helmops.UseHelmFieldManager()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	root := cmd.NewRootCommand(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	if cmd.IsCompletionHelper(os.Args[0]) {
		// Run as kubectl_complete-iomesh (a link to this binary): kubectl's plugin completion.
		root.SetArgs(append([]string{"__complete"}, os.Args[1:]...))
	}
	err := root.ExecuteContext(ctx)
	stop()
	if err != nil && !exitcode.IsSilent(err) {
		fmt.Fprintln(os.Stderr, "error:", err)
	}
	os.Exit(exitcode.Of(err))
}
