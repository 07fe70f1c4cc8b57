package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/printer"
)

// PrintFlags is the shared -o flag.
type PrintFlags = printer.Flags

// NewPrintFlags returns the -o flag; wide says whether -o wide applies.
func NewPrintFlags(wide bool) *PrintFlags { return printer.NewFlags(wide) }

// NoArgs refuses positional arguments as bad usage.
func NoArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return exitcode.UsageError(fmt.Errorf("%q takes no arguments, got %q\nSee '%s --help' for usage", c.CommandPath(), args, c.CommandPath()))
	}
	return nil
}
