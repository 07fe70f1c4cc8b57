package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/scale"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/view"
)

// PrintFlags is the shared -o flag.
type PrintFlags = output.Flags

// NewPrintFlags returns the -o flag; wide says whether -o wide applies.
func NewPrintFlags(wide bool) *PrintFlags { return output.NewFlags(wide) }

// NoArgs refuses positional arguments as bad usage.
func NoArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return exitcode.UsageError(fmt.Errorf("%q takes no arguments, got %q\nSee '%s --help' for usage", c.CommandPath(), args, c.CommandPath()))
	}
	return nil
}

// The --wait-for values.
const (
	WaitForPods    = "pods"
	WaitForStorage = "storage"
)

// The --dry-run values, as kubectl's.
const (
	DryRunNone   = "none"
	DryRunServer = "server"
	DryRunClient = "client"
)

func (o *ScaleOptions) dryRun() bool { return o.DryRun != DryRunNone }

// isTerminal tells whether r, the input, is a terminal that can answer a prompt.
func isTerminal(r io.Reader) bool { return output.SystemEnv().IsTerminal(asWriter(r)) }

func asWriter(r io.Reader) io.Writer {
	if w, ok := r.(io.Writer); ok {
		return w
	}
	return io.Discard
}

// style is how check results are drawn on stderr.
func (o *ScaleOptions) style() view.CheckStyle {
	return view.CheckStyle{Fancy: o.Checks.Color.Enabled(o.ErrOut, o.Checks.ColorEnv)}
}

// confirm asks question on the terminal and accepts y or yes. Without a terminal it refuses as
// bad usage, saying what to pass instead (instead).
func confirm(s genericiooptions.IOStreams, isTerminal func(io.Reader) bool, question, instead string) error {
	if isTerminal == nil || !isTerminal(s.In) {
		return exitcode.UsageError(fmt.Errorf("not asking for confirmation without a terminal: %s. Nothing was changed", instead))
	}
	fmt.Fprintf(s.ErrOut, "%s [y/N]: ", question)
	answer, _ := bufio.NewReader(s.In).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return exitcode.Wrap(exitcode.Refused, errors.New("not confirmed; nothing was changed"))
}

// runner is a command's options, as kubectl's: Complete resolves the flags, Validate checks them
// (pure), Run acts.
type runner interface {
	Complete(*cobra.Command) error
	Validate() error
	Run(context.Context) error
}

// runE runs o's three steps in order.
func runE(o runner) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, _ []string) error {
		if err := o.Complete(c); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run(c.Context())
	}
}

// printRefusal explains a plan the engine refused: the guard's diff, or the checks that refused
// (and, with -o, the report for machines, with the edit to make in Git where a controller owns
// IOMesh).
func (o *ScaleOptions) printRefusal(r *scale.Refused) error {
	if r.Guard != nil {
		view.WriteGuard(o.ErrOut, *r.Guard)
		return r
	}
	view.WriteRefusal(o.ErrOut, o.style(), r.Report, o.Checks.FailOnWarning, r.Err)
	if !o.Print.Human() {
		return errors.Join(r, o.Print.Print(r.Report, o.Out))
	}
	return r
}
