// This file holds the -o flag every command shares: a human table by default (or wide),
// and json, yaml, jsonpath and go-template through cli-runtime's printers, always one document.

// Package output holds what every command prints with: the -o flag and its printers, kubectl's
// table shape, colour only on a terminal, counts in words, and pods as `kubectl get pod` prints
// them (rows, the live view, the server's Table of pods per node). It may import only the
// Kubernetes and CLI libraries, no other package of this module.
package output

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
)

// Flags are the output flags of one command.
type Flags struct {
	Output    string
	allowWide bool
	jsonYaml  *genericclioptions.JSONYamlPrintFlags
	template  *genericclioptions.KubeTemplatePrintFlags
}

// NewFlags returns output flags; wide says whether `-o wide` means something for the command.
func NewFlags(wide bool) *Flags {
	return &Flags{
		allowWide: wide,
		jsonYaml:  genericclioptions.NewJSONYamlPrintFlags(),
		template:  genericclioptions.NewKubeTemplatePrintFlags(),
	}
}

func (f *Flags) formats() []string {
	var out []string
	if f.allowWide {
		out = append(out, "wide")
	}
	out = append(out, f.jsonYaml.AllowedFormats()...)
	return append(out, f.template.AllowedFormats()...)
}

// AddFlags binds -o and the template flags.
func (f *Flags) AddFlags(cmd *cobra.Command) {
	f.template.AddFlags(cmd)
	cmd.Flags().StringVarP(&f.Output, "output", "o", "", fmt.Sprintf("Output format. One of: (%s). Default: a table.", strings.Join(f.formats(), ", ")))
	_ = cmd.RegisterFlagCompletionFunc("output", func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		var out []string
		for _, f := range f.formats() {
			if strings.HasPrefix(f, prefix) {
				out = append(out, f)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})
}

// Human reports a table output (default or wide).
func (f *Flags) Human() bool { return f.Output == "" || (f.allowWide && f.Output == "wide") }

// Wide reports -o wide.
func (f *Flags) Wide() bool { return f.allowWide && f.Output == "wide" }

// ToPrinter resolves a machine-readable printer; only valid when !Human().
func (f *Flags) ToPrinter() (printers.ResourcePrinter, error) {
	format := f.Output
	if p, err := f.jsonYaml.ToPrinter(format); !genericclioptions.IsNoCompatiblePrinterError(err) {
		return p, err
	}
	if p, err := f.template.ToPrinter(format); !genericclioptions.IsNoCompatiblePrinterError(err) {
		return p, err
	}
	return nil, fmt.Errorf("unknown output format %q: use one of %s", format, strings.Join(f.formats(), ", "))
}

// Validate checks the flag values without printing anything.
func (f *Flags) Validate() error {
	if f.Human() {
		return nil
	}
	_, err := f.ToPrinter()
	return err
}

// APIVersion is the group/version of every document this tool prints.
const APIVersion = "kubectl-iomesh.dev/v1alpha1"

// Document is a report with its kind (a struct embedding metav1.TypeMeta).
type Document interface {
	GetObjectKind() schema.ObjectKind
}

// object adapts a Document to the printers' runtime.Object: they only read its kind and marshal
// it, so the report types need no generated deep-copy code.
type object struct{ doc Document }

func (o object) GetObjectKind() schema.ObjectKind { return o.doc.GetObjectKind() }
func (o object) DeepCopyObject() runtime.Object   { return o }
func (o object) MarshalJSON() ([]byte, error)     { return json.Marshal(o.doc) }

// Print writes doc in the machine-readable format chosen.
func (f *Flags) Print(doc Document, w io.Writer) error {
	p, err := f.ToPrinter()
	if err != nil {
		return err
	}
	return p.PrintObj(object{doc}, w)
}
