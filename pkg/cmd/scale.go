package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/gitops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/scale"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/scaleplan"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/view"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
)

// ScaleOptions are the options of `kubectl iomesh scale`.
type ScaleOptions struct {
	*Common
	Targets TargetFlags
	Checks  CheckFlags
	Print   *PrintFlags

	// Chart and RepoURL say where the deployed chart version is (default: the Helm repositories).
	Chart, RepoURL string
	// WaitFor is what ends the wait: the pods Ready, or IOMesh serving storage on them.
	WaitFor string
	// DryRun is kubectl's: none, server (the API server checks the change and stores nothing) or
	// client (a plan from local renders only).
	DryRun string
	Yes    bool
	// ExecNetwork reads the addresses of nodes outside dataCIDR inside the CSI node plugin.
	ExecNetwork bool
	Timeout     time.Duration
	// timeoutSet says --timeout was given: a scale-in's migration wait has no limit otherwise.
	timeoutSet bool

	// IsTerminal tells whether the input can answer a confirmation prompt.
	IsTerminal func(io.Reader) bool
	Finder     *helmops.Finder
	skip       map[string]bool
}

// NewScaleCommand builds `kubectl iomesh scale`.
func NewScaleCommand(common *Common) *cobra.Command {
	o := &ScaleOptions{Common: common, Print: NewPrintFlags(false), Timeout: 10 * time.Minute}
	o.Checks.ColorEnv = output.SystemEnv()
	o.IsTerminal = isTerminal
	c := &cobra.Command{
		Use:     "scale --chunk N [--meta M]",
		Short:   "Scale the IOMesh chunk and meta pods out or in, safely",
		Long:    scaleLong,
		Example: scaleExample,
		Args:    NoArgs,
		RunE:    runE(o),
	}
	o.Targets.AddFlags(c)
	o.Checks.Extra = []string{scale.RenderCheckID}
	o.Checks.AddFlags(c)
	o.Print.AddFlags(c)
	f := c.Flags()
	f.StringVar(&o.Chart, "chart", "", "The deployed chart version as a .tgz, a directory or a URL (default: search your Helm repositories)")
	f.StringVar(&o.RepoURL, "repo", "", "Chart repository URL to take the deployed chart version from")
	f.StringVar(&o.DryRun, "dry-run", DryRunNone, `Print the plan (with -o yaml, the new values) and change nothing: "server" (--dry-run alone) also has the API server check the change, "client" renders locally only, "none" changes the cluster`)
	f.Lookup("dry-run").NoOptDefVal = DryRunServer
	_ = c.RegisterFlagCompletionFunc("dry-run", fixed([]string{DryRunNone, DryRunServer, DryRunClient}))
	f.BoolVarP(&o.Yes, "yes", "y", false, "Do not ask for confirmation")
	addExecNetworkFlag(c, &o.ExecNetwork)
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait for the pods to be Ready (and their chunks healthy); 0 does not wait. A scale-in has no limit unless given (a migration takes minutes to hours): then it is how long this run goes on, and the same command continues it")
	f.StringVar(&o.WaitFor, "wait-for", WaitForStorage, "What ends the wait: pods (Ready) or storage (IOMesh reports each chunk CONNECTED_HEALTHY; pod readiness where IOMesh does not report chunks)")
	_ = c.RegisterFlagCompletionFunc("wait-for", fixed([]string{WaitForPods, WaitForStorage}))
	return c
}

// Complete resolves the flags.
func (o *ScaleOptions) Complete(c *cobra.Command) error {
	o.Targets.Complete(c)
	o.timeoutSet = c.Flags().Changed("timeout")
	var err error
	if o.skip, err = o.Checks.Skip(scale.RenderCheckID); err != nil {
		return err
	}
	if o.Finder = o.ChartFinder; o.Finder == nil {
		o.Finder = helmops.NewFinder()
	}
	return nil
}

// Validate checks the flags.
func (o *ScaleOptions) Validate() error {
	if o.Targets.Target.Empty() {
		return exitcode.UsageError(errors.New("give a target: --chunk N and/or --meta M (the total number of pods you want)"))
	}
	if err := o.Targets.Validate(); err != nil {
		return err
	}
	if o.WaitFor != WaitForPods && o.WaitFor != WaitForStorage {
		return exitcode.UsageError(fmt.Errorf("--wait-for %q: give %s or %s", o.WaitFor, WaitForPods, WaitForStorage))
	}
	if o.Timeout < 0 {
		return exitcode.UsageError(fmt.Errorf("--timeout %v is negative: give a duration such as 10m, or 0 to not wait", o.Timeout))
	}
	if o.Chart != "" && o.RepoURL != "" {
		return exitcode.UsageError(errors.New("--chart and --repo both name the chart: give one"))
	}
	switch o.DryRun {
	case DryRunNone, DryRunServer, DryRunClient:
	default:
		return exitcode.UsageError(fmt.Errorf("--dry-run=%q: give none, server or client (--dry-run alone means server)", o.DryRun))
	}
	if !o.Print.Human() && !o.dryRun() {
		return exitcode.UsageError(errors.New("-o applies to --dry-run only: it prints the plan with the new values"))
	}
	return exitcode.UsageError(o.Print.Validate())
}

// Run scales through the engine's one entry point; the command keeps the flags, the prompt
// and the printing.
func (o *ScaleOptions) Run(ctx context.Context) error {
	e, err := o.engine()
	if err != nil {
		return err
	}
	req := scale.Request{Target: o.Targets.Target, DryRun: o.dryRun(), ServerCheck: o.DryRun == DryRunServer}
	if o.timeoutSet {
		req.Limit = o.Timeout
	}
	return e.Scale(ctx, req, scale.Callbacks{
		Progress: o.ErrOut,
		Read: func(st *scale.State) {
			if g := st.Snapshot.GitOps; g != nil && o.skip[preflight.GitOpsCheckID] {
				fmt.Fprintf(o.ErrOut, "Warning: --skip-check %s: %s reverts this change unless it is paused first (%s) and Git gets the change before it resumes.\n", preflight.GitOpsCheckID, g, gitops.SuspendCommand(g))
			}
		},
		Refused: o.printRefusal,
		Planned: func(st *scale.State, plan *scaleplan.Plan, _ *scaleplan.ScaleInPlan) {
			if !plan.AtTarget {
				view.WriteVerdicts(o.ErrOut, o.style(), st.Report, preflight.Warn)
			}
			if plan.SkippedGuard != nil {
				fmt.Fprintf(o.ErrOut, "Accepted with --skip-check %s:\n", scale.RenderCheckID)
				view.WriteGuard(o.ErrOut, *plan.SkippedGuard)
			}
		},
		Print: o.printPlan,
		Hooks: o.hooks,
	})
}

// hooks are what the engine's run asks of the command: the question, the progress and the
// output.
func (o *ScaleOptions) hooks(plan *scaleplan.Plan, rp *scaleplan.ScaleInPlan) scale.Hooks {
	h := scale.Hooks{
		Progress: o.ErrOut,
		Holder:   scale.Holder(),
		Confirm:  func() error { return o.confirm(plan) },
		Wait: scale.WaitOptions{
			Progress: o.ErrOut, Timeout: o.Timeout,
			// A live table on a terminal, one line per change otherwise (logs, CI).
			Live:   o.Checks.Color != output.Never && o.Checks.ColorEnv.Interactive(o.ErrOut),
			Resume: o.command(),
		},
		Storage: o.WaitFor == WaitForStorage,
		// The final table is the pods as the run last saw them, in kubectl's rows.
		Pods: func(pods []corev1.Pod) error { return output.WritePods(o.Out, output.PodRows(pods, o.Now()), false) },
		Served: func(res scale.StorageResult) error {
			_, err := fmt.Fprintf(o.Out, "\nIOMesh reports %d chunks CONNECTED_HEALTHY (%d registered).\nCapacity: %s\n", res.View.Healthy(), len(res.View.Chunks), res.CapacityChange())
			return err
		},
	}
	if rp != nil {
		h.Confirm = func() error { return o.confirmRemoval(rp) }
		h.Resume = o.resume(rp)
	}
	return h
}

// command is this scale command, to run again: against the same cluster (the context it ran
// against, whatever is current later, and the kubeconfig names given; never a token or a key,
// since the command is also kept on the scale-in Lease), as the same identity, with the same
// chart source (less any credentials in its URL) and skipped checks. A skipped render guard is
// not carried: the differences accepted were those of this run's render.
func (o *ScaleOptions) command() string {
	cmd := "kubectl iomesh scale" + o.Targets.Target.Args()
	if f := o.ConfigFlags; f != nil {
		ctx := o.ContextName()
		for _, p := range []struct {
			flag string
			v    *string
		}{{"kubeconfig", f.KubeConfig}, {"context", &ctx}, {"cluster", f.ClusterName}, {"user", f.AuthInfoName}, {"server", f.APIServer}, {"as", f.Impersonate}, {"as-uid", f.ImpersonateUID}} {
			if p.v != nil && *p.v != "" {
				cmd += " --" + p.flag + " " + shellWord(*p.v)
			}
		}
		if f.ImpersonateGroup != nil {
			for _, g := range *f.ImpersonateGroup {
				cmd += " --as-group " + shellWord(g)
			}
		}
	}
	cmd += fmt.Sprintf(" -n %s --release %s", shellWord(o.Namespace()), shellWord(o.Release))
	for _, p := range [][2]string{{"chart", withoutCredentials(o.Chart)}, {"repo", withoutCredentials(o.RepoURL)}} {
		if p[1] != "" {
			cmd += " --" + p[0] + " " + shellWord(p[1])
		}
	}
	for _, id := range o.Checks.SkipChecks {
		if id != scale.RenderCheckID {
			cmd += " --skip-check " + shellWord(id)
		}
	}
	return cmd
}

// withoutCredentials is a URL less its user and password (a path is returned as it is).
func withoutCredentials(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil || u.Host == "" {
		return s
	}
	u.User = nil
	return u.String()
}

// shellWord quotes s for a POSIX shell where it needs it.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// engine is the scale engine over the command's clients.
func (o *ScaleOptions) engine() (*scale.Engine, error) {
	reader, err := o.Reader()
	if err != nil {
		return nil, err
	}
	helm, err := o.Helm()
	if err != nil {
		return nil, err
	}
	locate := func(w helmops.Want) (*helmops.Source, error) { return o.Finder.Locate(o.Chart, o.RepoURL, w) }
	return &scale.Engine{
		Reader: reader, Helm: helm, Locate: locate, ClientRenders: o.DryRun == DryRunClient,
		Skip: o.skip, FailOnWarning: o.Checks.FailOnWarning, APIVersion: output.APIVersion,
		Context: o.ContextName(), Now: o.Now, Progress: o.ErrOut, ChunkIDs: o.Targets.ChunkIDs,
		NoChunk: o.Targets.NoChunk, Unregistered: o.Targets.Unregistered, HostAddresses: o.ExecNetwork,
	}, nil
}

// printPlan prints a dry run's plan: the removal steps for a scale-in.
func (o *ScaleOptions) printPlan(plan *scaleplan.Plan, rp *scaleplan.ScaleInPlan) error {
	if !o.Print.Human() {
		if rp != nil {
			return o.Print.Print(rp, o.Out)
		}
		return o.Print.Print(plan, o.Out)
	}
	if err := o.write(plan, rp); err != nil {
		return err
	}
	_, err := fmt.Fprintln(o.Out, "Dry run: nothing was changed.")
	return err
}

func (o *ScaleOptions) write(plan *scaleplan.Plan, rp *scaleplan.ScaleInPlan) error {
	if rp != nil {
		return view.WriteRemoval(o.Out, rp)
	}
	return view.WritePlan(o.Out, plan)
}

// confirm shows the plan and asks before its write.
func (o *ScaleOptions) confirm(plan *scaleplan.Plan) error {
	if err := view.WritePlan(o.Out, plan); err != nil {
		return err
	}
	if o.Yes {
		return nil
	}
	what := "upgrade"
	if plan.Direct != nil {
		what = "patch"
	}
	return confirm(o.IOStreams, o.IsTerminal, fmt.Sprintf("Proceed with this %s?", what), "pass --yes to scale, or --dry-run to only see the plan")
}
