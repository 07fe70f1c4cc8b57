package cmd

import (
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/buildinfo"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
)

// VersionReport is what `kubectl iomesh version` prints.
type VersionReport struct {
	metav1.TypeMeta `json:",inline"`
	Client          buildinfo.Info `json:"client"`
	Server          *ServerVersion `json:"server,omitempty"`
}

// ServerVersion is the cluster side of the version report.
type ServerVersion struct {
	Kubernetes   string `json:"kubernetes"`
	Chart        string `json:"chart,omitempty"`
	ChartVersion string `json:"chartVersion,omitempty"`
	AppVersion   string `json:"appVersion,omitempty"`
	// ApplyMethod is how Helm applies the release: client-side or server-side (Helm 4 records it).
	ApplyMethod  string `json:"applyMethod,omitempty"`
	ReleaseError string `json:"releaseError,omitempty"`
}

// VersionOptions are the options of `kubectl iomesh version`.
type VersionOptions struct {
	*Common
	ClientOnly bool
	Print      *PrintFlags
}

// NewVersionCommand builds `kubectl iomesh version`.
func NewVersionCommand(common *Common) *cobra.Command {
	o := &VersionOptions{Common: common, Print: NewPrintFlags(false)}
	c := &cobra.Command{
		Use:   "version",
		Short: "Print the plugin version, and the cluster's Kubernetes and IOMesh chart versions",
		Args:  NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := exitcode.UsageError(o.Print.Validate()); err != nil {
				return err
			}
			return o.Run()
		},
	}
	c.Flags().BoolVar(&o.ClientOnly, "client", false, "Print the plugin version only; no cluster needed")
	o.Print.AddFlags(c)
	return c
}

// Run prints the versions (the server's through the client's request timeout).
func (o *VersionOptions) Run() error {
	rep := &VersionReport{TypeMeta: metav1.TypeMeta{APIVersion: output.APIVersion, Kind: "Version"}, Client: buildinfo.Get()}
	var failure error
	if !o.ClientOnly {
		rep.Server, failure = o.server()
	}
	if o.Print.Human() {
		c := rep.Client
		fmt.Fprintf(o.Out, "Client Version: %s (commit %s, built %s, %s, %s)\n", c.Version, orUnknown(c.Commit), orUnknown(c.BuildDate), c.GoVersion, c.Platform)
		fmt.Fprintf(o.Out, "Helm SDK: %s\n", orUnknown(c.HelmSDK))
		if s := rep.Server; s != nil {
			fmt.Fprintf(o.Out, "Kubernetes Version: %s\n", s.Kubernetes)
			if s.ReleaseError != "" {
				fmt.Fprintf(o.Out, "IOMesh Chart: unknown: %s\n", s.ReleaseError)
			} else {
				fmt.Fprintf(o.Out, "IOMesh Chart: %s-%s (app %s)\n", s.Chart, s.ChartVersion, s.AppVersion)
				fmt.Fprintf(o.Out, "Helm Apply Method: %s\n", s.ApplyMethod)
			}
		}
	} else if err := o.Print.Print(rep, o.Out); err != nil {
		return err
	}
	return failure
}

func (o *VersionOptions) server() (*ServerVersion, error) {
	k, err := o.Kube()
	if err != nil {
		return nil, err
	}
	v, err := k.Discovery().ServerVersion()
	if err != nil {
		return nil, inventory.Explain(err, "get", "the server version")
	}
	s := &ServerVersion{Kubernetes: v.GitVersion}
	h, err := o.Helm()
	if err != nil {
		return s, err
	}
	rel, err := helmops.Latest(h, o.Release, o.Namespace())
	if err != nil {
		s.ReleaseError = err.Error()
		return s, nil
	}
	if rel.Chart != nil && rel.Chart.Metadata != nil {
		s.Chart, s.ChartVersion, s.AppVersion = rel.Chart.Metadata.Name, rel.Chart.Metadata.Version, rel.Chart.Metadata.AppVersion
	}
	s.ApplyMethod = helmops.ApplyMethodOf(rel).String()
	return s, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
