package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	helmrelease "helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/chartsource"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/checkview"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/color"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshstatus"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/kubeerr"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/pin"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/podtable"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/printer"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/release"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/scaleplan"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/snapshot"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/waiter"
)

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

// RenderCheckID is the re-render guard's ID for --skip-check.
const RenderCheckID = "render.identical"

// ScaleOptions are the options of `kubectl iomesh scale`.
type ScaleOptions struct {
	*Common
	Targets TargetFlags
	Checks  CheckFlags
	Print   *PrintFlags

	Chart   string
	RepoURL string
	// WaitFor is what ends the wait: the pods Ready, or IOMesh serving storage on them.
	WaitFor string
	// DryRun is kubectl's: none, server (the API server checks the change and stores nothing) or
	// client (a plan from local renders only).
	DryRun  string
	Yes     bool
	Timeout time.Duration

	// IsTerminal tells whether the input can answer a confirmation prompt.
	IsTerminal func(io.Reader) bool
	Finder     *chartsource.Finder
	skip       map[string]bool
	direct     bool
}

// NewScaleCommand builds `kubectl iomesh scale`.
func NewScaleCommand(common *Common) *cobra.Command {
	o := &ScaleOptions{Common: common, Print: NewPrintFlags(false), Timeout: 10 * time.Minute}
	o.Checks.ColorEnv = color.SystemEnv()
	o.IsTerminal = func(r io.Reader) bool {
		return color.SystemEnv().IsTerminal(asWriter(r))
	}
	c := &cobra.Command{
		Use:   "scale --chunk N [--meta M]",
		Short: "Scale out the IOMesh chunk and meta pods, safely",
		Long: `Scale out an IOMesh cluster: what the IOMesh docs do by hand (edit replicaCount, helm upgrade,
watch kubectl get pod), with the checks first.

It reads the release from the cluster, runs the preflight checks for the target, finds the exact
chart version that is deployed (with its subcharts) in your Helm repositories or at --chart,
proves by rendering that only the replica counts change, shows the plan, upgrades the release
through the Helm SDK keeping every value you set, waits for the new pods and prints them as
` + "`kubectl get pod`" + ` does.

Removing chunk or meta pods is refused: it needs the documented scale-in procedure.

Exit codes: 0 done, 1 error, 2 bad usage, 3 refused by a check (nothing changed),
4 warnings with --fail-on-warning (nothing changed), 5 upgraded but the pods were not all
Ready before --timeout (run the same command again to keep waiting).`,
		Example: `  # Scale to 5 chunk and 5 meta pods (IOMesh Enterprise, 5 worker nodes)
  kubectl iomesh scale --chunk 5 --meta 5

  # See the plan, change nothing
  kubectl iomesh scale --chunk 6 --dry-run

  # Offline install: use the chart shipped in the offline package
  kubectl iomesh scale --chunk 5 --chart ./charts/iomesh --yes`,
		Args: NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.Complete(c); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	o.Targets.AddFlags(c)
	o.Checks.Extra = []string{RenderCheckID}
	o.Checks.AddFlags(c)
	o.Print.AddFlags(c)
	f := c.Flags()
	f.StringVar(&o.Chart, "chart", "", "The deployed chart version as a .tgz, a directory or a URL (default: search your Helm repositories)")
	f.StringVar(&o.RepoURL, "repo", "", "Chart repository URL to take the deployed chart version from")
	f.StringVar(&o.DryRun, "dry-run", DryRunNone, `Print the plan (with -o yaml, the new values) and change nothing: "server" (--dry-run alone) also has the API server check the change, "client" renders locally only, "none" changes the cluster`)
	f.Lookup("dry-run").NoOptDefVal = DryRunServer
	_ = c.RegisterFlagCompletionFunc("dry-run", fixed([]string{DryRunNone, DryRunServer, DryRunClient}))
	f.BoolVarP(&o.Yes, "yes", "y", false, "Do not ask for confirmation")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait for the pods to be Ready (and their chunks healthy); 0 does not wait")
	f.StringVar(&o.WaitFor, "wait-for", WaitForStorage, "What ends the wait: pods (Ready) or storage (IOMesh reports each chunk CONNECTED_HEALTHY; pod readiness where IOMesh does not report chunks)")
	_ = c.RegisterFlagCompletionFunc("wait-for", fixed([]string{WaitForPods, WaitForStorage}))
	return c
}

func asWriter(r io.Reader) io.Writer {
	if w, ok := r.(io.Writer); ok {
		return w
	}
	return io.Discard
}

// Complete resolves the flags.
func (o *ScaleOptions) Complete(c *cobra.Command) error {
	o.Targets.Complete(c)
	var err error
	if o.skip, err = o.Checks.Skip(RenderCheckID); err != nil {
		return err
	}
	if o.Finder = o.ChartFinder; o.Finder == nil {
		o.Finder = chartsource.NewFinder()
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

// Run plans, checks, upgrades and waits.
func (o *ScaleOptions) Run(ctx context.Context) error {
	target := o.Targets.Target
	// The chart is located and rendered while the cluster is still being read: both take about
	// as long, and a refusal by the checks only discards the renders.
	prepared := make(chan preparation, 1)
	started := false
	opts := snapshot.Options{History: true, Nodes: true, Permissions: true, Disks: true, Room: true,
		OnRelease: func(rel *helmrelease.Release) {
			started = true
			go func() { prepared <- o.prepare(ctx, rel, target) }()
		}}
	snap, err := o.Snapshot(ctx, opts)
	if err != nil {
		return err
	}
	report := preflight.Run(snap.PreflightInput(target), o.skip, printer.APIVersion)
	if snap.ReplicasErr != nil {
		o.printChecks(report)
		return exitcode.Wrap(exitcode.Refused, fmt.Errorf("cannot read the current replica counts: %v; nothing was changed", snap.ReplicasErr))
	}
	st := snap.Info
	cur := snap.Replicas
	plan := &scaleplan.Plan{
		Context: o.ContextName(), Namespace: o.Namespace(), Release: o.Release,
		Chart: st.Chart, ChartVersion: st.ChartVersion,
		FromRevision: st.Revision, ToRevision: st.Revision + 1,
		Chunk: scaleplan.Count{From: cur.Chunk, To: cur.Chunk},
		Meta:  scaleplan.Count{From: cur.Meta, To: cur.Meta},
	}
	plan.TypeMeta.APIVersion, plan.TypeMeta.Kind = printer.APIVersion, "ScalePlan"
	var chunkTo, metaTo *int
	if target.Chunk != nil && *target.Chunk != cur.Chunk {
		chunkTo, plan.Chunk.To = target.Chunk, *target.Chunk
	}
	if target.Meta != nil && *target.Meta != cur.Meta {
		metaTo, plan.Meta.To = target.Meta, *target.Meta
	}
	plan.AtTarget = chunkTo == nil && metaTo == nil
	if snap.Direct {
		plan.Direct = &scaleplan.DirectChange{Kind: "IOMeshCluster", Name: o.Release, ResourceVersion: snap.ResourceVersion()}
	}
	if plan.AtTarget && (snap.Direct || st.Status == string(helmrelease.StatusDeployed)) {
		// Nothing to change: a rerun after a timeout or an interrupt only waits.
		plan.ToRevision = plan.FromRevision
		if o.dryRun() {
			return o.printPlan(plan)
		}
		fmt.Fprintf(o.ErrOut, "%s is already at %d chunk and %d meta pods; waiting for the pods.\n", plan.Subject(), plan.Chunk.To, plan.Meta.To)
		return o.wait(ctx, plan, snap)
	}

	if report.Summary.Fail > 0 || report.Summary.Error > 0 || (report.Summary.Warn > 0 && o.Checks.FailOnWarning) {
		o.printChecks(report)
		fmt.Fprintf(o.ErrOut, "Nothing was changed. See every check with `kubectl iomesh preflight%s`.\n", target.Args())
		return ExitFor(report, o.Checks.FailOnWarning)
	}
	o.printWarnings(report)
	plan.Chunk.Nodes = eligible(report.Nodes.Chunk.Nodes, plan.Chunk)
	plan.Meta.Nodes = eligible(report.Nodes.Meta.Nodes, plan.Meta)
	if plan.Chunk.To > plan.Chunk.From && len(report.Nodes.Disks) > 0 {
		d := &scaleplan.DiskRoom{Nodes: len(report.Nodes.Disks)}
		for _, n := range report.Nodes.Disks {
			d.Disks += n.Count()
			d.RawBytes += n.Bytes
		}
		plan.Disks = d
	}
	if snap.Direct {
		o.direct = true
		return o.patchDirect(ctx, plan, snap, chunkTo, metaTo)
	}

	// The renders also find the fields the chart generates at random, which the upgrade keeps
	// at their deployed values: they run even when the guard's refusal is skipped.
	fmt.Fprintln(o.ErrOut, "Rendering the chart to check that only the replica counts change...")
	if !started {
		return fmt.Errorf("the release was read without preparing the chart")
	}
	p := <-prepared
	if p.valuesErr != nil {
		return exitcode.Wrap(exitcode.Refused, fmt.Errorf("cannot write the new counts into the release values: %w; nothing was changed", p.valuesErr))
	}
	newValues := p.newValues
	plan.NewValues = newValues
	plan.ValueChanges = scaleplan.ValueDiff(st.UserValues, newValues)
	if p.chartErr != nil {
		return exitcode.Wrap(exitcode.Refused, fmt.Errorf("%w; nothing was changed", p.chartErr))
	}
	src := p.src
	plan.ChartSource = src.Description
	helm, err := o.Helm()
	if err != nil {
		return err
	}
	if p.guardErr != nil {
		return p.guardErr
	}
	guard := p.guard
	switch {
	case guard.OK():
		plan.Guard = &guard
	case o.skip[RenderCheckID]:
		fmt.Fprintf(o.ErrOut, "Accepted with --skip-check %s:\n", RenderCheckID)
		scaleplan.WriteGuard(o.ErrOut, guard)
	default:
		scaleplan.WriteGuard(o.ErrOut, guard)
		return exitcode.Wrap(exitcode.Refused, fmt.Errorf("refused by %s: the upgrade would change more than the replica counts (above). Nothing was changed. If every difference is expected, pass --skip-check %s", RenderCheckID, RenderCheckID))
	}
	keep := pin.PostRenderer{Deployed: snap.Latest.Manifest, Fields: guard.Pins}

	if o.dryRun() {
		return o.printPlan(plan)
	}
	if err := scaleplan.Write(o.Out, plan); err != nil {
		return err
	}
	if err := o.confirm(); err != nil {
		return err
	}
	// The plan was made from revision FromRevision; another operation since (a second scale
	// while this one waited at its prompt) makes it stale.
	if now, err := release.Latest(helm, o.Release, o.Namespace()); err != nil {
		return err
	} else if now.Version != plan.FromRevision {
		return exitcode.Wrap(exitcode.Refused, fmt.Errorf("release %s changed since the plan was made (revision %d, now %d, %s): nothing was changed by this command; run it again to plan from the new revision", o.Release, plan.FromRevision, now.Version, now.Info.Status))
	}

	ch, err := src.Fresh()
	if err != nil {
		return fmt.Errorf("loading the chart again: %w", err)
	}
	desc := fmt.Sprintf("kubectl iomesh scale: chunk %d->%d, meta %d->%d", plan.Chunk.From, plan.Chunk.To, plan.Meta.From, plan.Meta.To)
	fmt.Fprintf(o.ErrOut, "Upgrading release %s to revision %d...\n", o.Release, plan.ToRevision)
	rel, err := helmops.Upgrade(ctx, helm, helmops.UpgradeRequest{
		Name: o.Release, Namespace: o.Namespace(), Chart: ch, Values: newValues,
		Description: desc, Timeout: 5 * time.Minute, PostRenderer: keep,
	})
	if err != nil {
		if errors.Is(err, helmops.ErrBusy) {
			return exitcode.Wrap(exitcode.Refused, fmt.Errorf("%v. Nothing was changed by this command; check `helm history %s -n %s` and run it again when the other operation has finished", err, o.Release, o.Namespace()))
		}
		next := fmt.Sprintf("fix the cause and run the same command again, or return to revision %d with `helm rollback %s %d -n %s`", plan.FromRevision, o.Release, plan.FromRevision, o.Namespace())
		if rel != nil {
			return fmt.Errorf("the upgrade to revision %d failed: %w\nThe release is now revision %d (%s): %s", plan.ToRevision, err, rel.Version, rel.Info.Status, next)
		}
		return fmt.Errorf("the upgrade to revision %d failed: %w\nNext: %s", plan.ToRevision, err, next)
	}
	fmt.Fprintf(o.ErrOut, "Release %s is at revision %d (%s).\n", o.Release, rel.Version, rel.Info.Status)
	return o.wait(ctx, plan, snap)
}

func (o *ScaleOptions) printChecks(r *preflight.Report) {
	style := checkview.Style{Fancy: o.Checks.Color.Enabled(o.ErrOut, o.Checks.ColorEnv)}
	fmt.Fprintln(o.ErrOut, "Refused by the preflight checks:")
	for _, res := range r.Results {
		if res.Verdict == preflight.Fail || res.Verdict == preflight.Error || (res.Verdict == preflight.Warn && o.Checks.FailOnWarning) {
			checkview.WriteResult(o.ErrOut, style, res)
		}
	}
}

func (o *ScaleOptions) printWarnings(r *preflight.Report) {
	style := checkview.Style{Fancy: o.Checks.Color.Enabled(o.ErrOut, o.Checks.ColorEnv)}
	for _, res := range r.Results {
		if res.Verdict == preflight.Warn {
			checkview.WriteResult(o.ErrOut, style, res)
		}
	}
}

func eligible(nodes []placement.Node, c scaleplan.Count) []string {
	if c.To <= c.From {
		return nil
	}
	var out []string
	for _, n := range nodes {
		if n.Eligible {
			out = append(out, n.Name)
		}
	}
	return out
}

func (o *ScaleOptions) locateChart(want chartsource.Want) (*chartsource.Source, error) {
	switch {
	case o.Chart != "":
		return o.Finder.FromPath(o.Chart, want)
	case o.RepoURL != "":
		return o.Finder.FromRepoURL(o.RepoURL, want)
	}
	return o.Finder.FromRepositories(want)
}

func (o *ScaleOptions) guard(ctx context.Context, deployed *helmrelease.Release, userValues values.Map, src *chartsource.Source, newValues values.Map, counts scaleplan.Counts, capsKnown bool) (scaleplan.Guard, error) {
	helm, err := o.Helm()
	if err != nil {
		return scaleplan.Guard{}, err
	}
	r := scaleplan.Renders{Deployed: deployed.Manifest}
	// The new values against the server, as `helm upgrade --dry-run=server` would: lookups,
	// validation, conflicts. Without known capabilities this render learns them.
	next := func() error {
		ch, err := src.Fresh()
		if err != nil {
			return err
		}
		r.New, err = helmops.Render(ctx, helm, o.Release, o.Namespace(), ch, newValues, o.DryRun != DryRunClient)
		return err
	}
	// The two renders of the current values only learn what differs from the deployed release
	// and what is random: without server round trips, unless the chart looks the cluster up.
	current := func(out *string) error {
		ch, err := src.Fresh()
		if err != nil {
			return err
		}
		if helmops.UsesLookup(ch) || helm.Capabilities == nil {
			*out, err = helmops.Render(ctx, helm, o.Release, o.Namespace(), ch, userValues, true)
		} else {
			*out, err = helmops.RenderLocal(ctx, deployed, helm.Capabilities, ch, userValues)
		}
		return err
	}
	if !capsKnown {
		if err := next(); err != nil {
			return scaleplan.Guard{}, err
		}
	}
	// The renders at once: each generates its own keys, which is most of its cost.
	var wg sync.WaitGroup
	var errNew, errCur, errAgain error
	if capsKnown {
		wg.Add(1)
		go func() { defer wg.Done(); errNew = next() }()
	}
	wg.Add(2)
	go func() { defer wg.Done(); errCur = current(&r.Current) }()
	go func() { defer wg.Done(); errAgain = current(&r.Again) }()
	wg.Wait()
	if err := errors.Join(errNew, errCur, errAgain); err != nil {
		return scaleplan.Guard{}, err
	}
	return scaleplan.Check(r, counts)
}

func (o *ScaleOptions) printPlan(plan *scaleplan.Plan) error {
	if o.Print.Human() {
		if err := scaleplan.Write(o.Out, plan); err != nil {
			return err
		}
		fmt.Fprintln(o.Out, "Dry run: nothing was changed.")
		return nil
	}
	return o.Print.Print(plan, o.Out)
}

func (o *ScaleOptions) confirm() error {
	if o.Yes {
		return nil
	}
	if o.IsTerminal == nil || !o.IsTerminal(o.In) {
		return exitcode.UsageError(errors.New("not asking for confirmation without a terminal: pass --yes to scale, or --dry-run to only see the plan. Nothing was changed"))
	}
	what := "upgrade"
	if o.direct {
		what = "patch"
	}
	fmt.Fprintf(o.ErrOut, "Proceed with this %s? [y/N]: ", what)
	answer, _ := bufio.NewReader(o.In).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return exitcode.Wrap(exitcode.Refused, errors.New("not confirmed; nothing was changed"))
}

// wait waits for the pods of the plan (found by the snapshot's selector), prints them as kubectl
// does, then, with --wait-for storage, waits until IOMesh reports their chunks healthy.
func (o *ScaleOptions) wait(ctx context.Context, plan *scaleplan.Plan, snap *snapshot.Snapshot) error {
	kube, err := o.Kube()
	if err != nil {
		return err
	}
	reader, err := o.Reader()
	if err != nil {
		return err
	}
	w := &waiter.Waiter{
		Kube: kube, Namespace: o.Namespace(), Progress: o.ErrOut, Now: o.Now, Selector: snap.PodSelector,
		// A live table on a terminal, one line per change otherwise (logs, CI).
		Live: o.Checks.Color != color.Never && o.Checks.ColorEnv.Interactive(o.ErrOut),
		Wants: []waiter.Want{
			{Prefix: reader.Name(inventory.Chunk), Count: plan.Chunk.To},
			{Prefix: reader.Name(inventory.Meta), Count: plan.Meta.To},
		},
	}
	if o.Timeout == 0 {
		fmt.Fprintln(o.ErrOut, "--timeout 0: not waiting for the pods.")
		return nil
	}
	fmt.Fprintf(o.ErrOut, "Waiting up to %v for %d chunk and %d meta pods to be Ready...\n", o.Timeout, plan.Chunk.To, plan.Meta.To)
	wctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	out, werr := w.Wait(wctx)
	// The final table is the pods as the wait last saw them, in kubectl's rows.
	rows := make([]podtable.Row, 0, len(out.Pods))
	for i := range out.Pods {
		rows = append(rows, podtable.Of(&out.Pods[i], o.Now()))
	}
	if err := podtable.Write(o.Out, rows, false); err != nil {
		return err
	}
	resume := fmt.Sprintf("kubectl iomesh scale%s -n %s --release %s", o.Targets.Target.Args(), o.Namespace(), o.Release)
	if werr == nil {
		if o.WaitFor != WaitForStorage {
			return nil
		}
		return o.waitStorage(wctx, plan, snap, out.Pods, resume)
	}
	for _, s := range out.Stuck {
		fmt.Fprintf(o.ErrOut, "  not ready: %s\n", s)
	}
	switch {
	case errors.Is(werr, waiter.ErrInterrupted):
		return exitcode.Wrap(exitcode.NotConverged, fmt.Errorf("interrupted: %s; run `%s` to keep waiting", plan.Stays(), resume))
	case errors.Is(werr, waiter.ErrTimeout):
		return exitcode.Wrap(exitcode.NotConverged, fmt.Errorf("%s but the pods were not all Ready within %v; run `%s` to keep waiting", plan.Done(), o.Timeout, resume))
	}
	return exitcode.Wrap(exitcode.NotConverged, fmt.Errorf("waiting for the pods: %w; %s, run `%s` to keep waiting", werr, plan.Stays(), resume))
}

// waitStorage waits until IOMesh reports a healthy chunk on the node of every chunk pod of the
// target, then says what capacity the scale added.
func (o *ScaleOptions) waitStorage(ctx context.Context, plan *scaleplan.Plan, snap *snapshot.Snapshot, pods []corev1.Pod, resume string) error {
	if snap.Cluster.Object == nil {
		fmt.Fprintln(o.ErrOut, "No IOMeshCluster to read IOMesh's view from: done at pod readiness.")
		return nil
	}
	dyn, err := o.Dynamic()
	if err != nil {
		return err
	}
	chunkPrefix := snap.Release + "-" + string(inventory.Chunk) + "-"
	var chunkPods []corev1.Pod
	var nodes []string
	for _, p := range pods {
		if strings.HasPrefix(p.Name, chunkPrefix) && inventory.Ordinal(p.Name) < plan.Chunk.To {
			chunkPods = append(chunkPods, p)
			nodes = append(nodes, p.Spec.NodeName)
		}
	}
	fmt.Fprintf(o.ErrOut, "Waiting for IOMesh to report %d chunks CONNECTED_HEALTHY...\n", len(nodes))
	s := waiter.Storage{Dynamic: dyn, Namespace: o.Namespace(), Name: snap.Release, Nodes: snap.Nodes, ChunkPods: chunkPods, Progress: o.ErrOut}
	out, err := s.Wait(ctx, nodes)
	switch {
	case errors.Is(err, waiter.ErrNotReported):
		fmt.Fprintf(o.ErrOut, "IOMesh does not report chunk registration (%v): done at pod readiness.\n", err)
		return nil
	case errors.Is(err, waiter.ErrInterrupted):
		return exitcode.Wrap(exitcode.NotConverged, fmt.Errorf("interrupted while IOMesh registers the chunks on %s: %s; run `%s` to keep waiting", strings.Join(out.Missing, ", "), plan.Stays(), resume))
	case errors.Is(err, waiter.ErrTimeout):
		return exitcode.Wrap(exitcode.NotConverged, fmt.Errorf("the pods are Ready but IOMesh reported no healthy chunk on %s within %v; check `kubectl describe iomesh %s -n %s`, then run `%s` to keep waiting", strings.Join(out.Missing, ", "), o.Timeout, snap.Release, o.Namespace(), resume))
	case err != nil:
		return exitcode.Wrap(exitcode.NotConverged, fmt.Errorf("watching the IOMeshCluster: %w; %s, run `%s` to keep waiting", err, plan.Stays(), resume))
	}
	fmt.Fprintf(o.Out, "\nIOMesh reports %d chunks CONNECTED_HEALTHY (%d registered).\n", out.View.Healthy(), len(out.View.Chunks))
	fmt.Fprintf(o.Out, "Capacity: %s\n", capacityChange(snap.Storage.Capacity, out.View.Capacity))
	return nil
}

// capacityChange says how the data and cache capacity moved.
func capacityChange(before, after *iomeshstatus.Space) string {
	if after == nil {
		return "clusterSummary " + iomeshstatus.NotReported
	}
	b := iomeshstatus.Space{TotalData: "?", TotalCache: "?"}
	if before != nil {
		b = *before
	}
	return fmt.Sprintf("data %s -> %s, cache %s -> %s", b.TotalData, after.TotalData, b.TotalCache, after.TotalCache)
}

// preparation is the chart and the renders for a target, worked out from the release alone.
type preparation struct {
	newValues values.Map
	valuesErr error
	src       *chartsource.Source
	chartErr  error
	guard     scaleplan.Guard
	guardErr  error
}

// prepare locates the deployed chart and runs the re-render guard for target, from the release
// record only; Run uses it once the checks pass.
func (o *ScaleOptions) prepare(ctx context.Context, rel *helmrelease.Release, target preflight.Target) preparation {
	var p preparation
	info, err := release.Describe(rel)
	if err != nil {
		p.valuesErr = err
		return p
	}
	cur, err := values.ReadReplicas(info.Effective)
	if err != nil {
		p.valuesErr = err
		return p
	}
	counts := scaleplan.Counts{FromChunk: cur.Chunk, ToChunk: cur.Chunk, FromMeta: cur.Meta, ToMeta: cur.Meta}
	var chunkTo, metaTo *int
	if target.Chunk != nil && *target.Chunk != cur.Chunk {
		chunkTo, counts.ToChunk = target.Chunk, *target.Chunk
	}
	if target.Meta != nil && *target.Meta != cur.Meta {
		metaTo, counts.ToMeta = target.Meta, *target.Meta
	}
	if chunkTo == nil && metaTo == nil {
		return p // at the target: nothing to render
	}
	if p.newValues, p.valuesErr = values.WithReplicas(info.UserValues, cur.Layout, chunkTo, metaTo); p.valuesErr != nil {
		return p
	}
	// The cluster's capabilities are learned while the chart is located, so that the three
	// renders can then run at once.
	caps := make(chan bool, 1)
	go func() {
		helm, err := o.Helm()
		if err == nil {
			_, err = helmops.Capabilities(helm)
		}
		caps <- err == nil
	}()
	p.src, p.chartErr = o.locateChart(chartsource.Want{Name: info.Chart, Version: info.ChartVersion})
	known := <-caps
	if p.chartErr != nil {
		return p
	}
	p.guard, p.guardErr = o.guard(ctx, rel, info.UserValues, p.src, p.newValues, counts, known)
	return p
}

// patchDirect scales an IOMeshCluster that no Helm release manages: a merge patch of only
// spec.chunk.replicas / spec.meta.replicas, conditional on the resourceVersion that was read, so
// an edit made in between is refused rather than overwritten.
func (o *ScaleOptions) patchDirect(ctx context.Context, plan *scaleplan.Plan, snap *snapshot.Snapshot, chunkTo, metaTo *int) error {
	spec := map[string]interface{}{}
	d := plan.Direct
	if chunkTo != nil {
		spec["chunk"] = map[string]interface{}{"replicas": *chunkTo}
		d.Fields = append(d.Fields, scaleplan.ValueChange{Path: "spec.chunk.replicas", Old: fmt.Sprint(plan.Chunk.From), New: fmt.Sprint(*chunkTo)})
	}
	if metaTo != nil {
		spec["meta"] = map[string]interface{}{"replicas": *metaTo}
		d.Fields = append(d.Fields, scaleplan.ValueChange{Path: "spec.meta.replicas", Old: fmt.Sprint(plan.Meta.From), New: fmt.Sprint(*metaTo)})
	}
	patch, err := json.Marshal(map[string]interface{}{
		"metadata": map[string]interface{}{"resourceVersion": d.ResourceVersion},
		"spec":     spec,
	})
	if err != nil {
		return err
	}
	dyn, err := o.Dynamic()
	if err != nil {
		return err
	}
	res := dyn.Resource(inventory.IOMeshClusterGVR).Namespace(o.Namespace())
	apply := func(opts metav1.PatchOptions) error {
		_, err := res.Patch(ctx, o.Release, types.MergePatchType, patch, opts)
		switch {
		case apierrors.IsConflict(err):
			return exitcode.Wrap(exitcode.Refused, fmt.Errorf("IOMeshCluster %s changed after it was read (resourceVersion %s): nothing was changed; run the same command again to plan from its new state", o.Release, d.ResourceVersion))
		case err != nil:
			return kubeerr.Explain(err, "patch", fmt.Sprintf("iomeshclusters.iomesh.com %q in namespace %q", o.Release, o.Namespace()))
		}
		return nil
	}
	switch o.DryRun {
	case DryRunServer:
		// The API server validates the patch (schema, admission webhooks) and stores nothing.
		if err := apply(metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			return err
		}
		d.ServerDryRun = true
		return o.printPlan(plan)
	case DryRunClient:
		return o.printPlan(plan)
	}
	if err := scaleplan.Write(o.Out, plan); err != nil {
		return err
	}
	if err := o.confirm(); err != nil {
		return err
	}
	fmt.Fprintf(o.ErrOut, "Patching IOMeshCluster %s...\n", o.Release)
	if err := apply(metav1.PatchOptions{}); err != nil {
		return err
	}
	return o.wait(ctx, plan, snap)
}
