package scale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/render"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/scaleplan"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/snapshot"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
	"golang.org/x/sync/errgroup"
	"helm.sh/helm/v4/pkg/action"
	release "helm.sh/helm/v4/pkg/release/v1"
	corev1 "k8s.io/api/core/v1"
)

// RenderCheckID is the re-render guard's ID for --skip-check.
const RenderCheckID = "render.identical"

// Engine scales one IOMesh cluster.
type Engine struct {
	Reader inventory.Reader
	Helm   *action.Configuration
	// Locate finds the deployed chart version (with its subcharts).
	Locate func(helmops.Want) (*helmops.Source, error)
	// ClientRenders renders locally only (--dry-run=client): no lookups, no server validation.
	ClientRenders bool
	// Skip are the checks (and the guard) the user accepts.
	Skip map[string]bool
	// FailOnWarning refuses on warnings too.
	FailOnWarning bool
	// APIVersion is the documents' apiVersion.
	APIVersion string
	Context    string
	Now        func() time.Time
	// Progress gets a line when the plan waits for the renders (nil: none).
	Progress io.Writer
	// ChunkIDs are the chunks the user named for the chunk pods a scale-in removes, highest
	// ordinal first.
	ChunkIDs []int64
	// NoChunk are the removed pods a person stated hold no chunk; Unregistered the chunks a
	// person stated have left IOMesh (each checked by hand).
	NoChunk      []string
	Unregistered []int64
	// HostAddresses reads the addresses of eligible nodes outside dataCIDR inside the CSI node
	// plugin (--exec-storage-network), for nodes.storage-network.
	HostAddresses bool
}

// State is the cluster as read for a target, with the chart being prepared beside it.
type State struct {
	Snapshot *snapshot.Snapshot
	Report   *preflight.Report
	Target   preflight.Target
	prep     chan preparation
	cancel   context.CancelFunc
}

// Close stops a preparation that is no longer wanted (a refusal, an error).
func (s *State) Close() {
	if s != nil && s.cancel != nil {
		s.cancel()
	}
}

// Read reads the cluster and runs the checks for target. The chart is located and rendered
// while the rest of the cluster is read: both take about as long, and a refusal by the checks
// only discards the renders. Close the state when done.
func (e *Engine) Read(ctx context.Context, target preflight.Target) (*State, error) {
	pctx, cancel := context.WithCancel(ctx)
	st := &State{Target: target, prep: make(chan preparation, 1), cancel: cancel}
	r := e.Reader
	releases := snapshot.NewReleases(e.Helm, r.Release, r.Namespace, true)
	go func() {
		f, err := releases.Get()
		if err != nil {
			st.prep <- preparation{err: err}
			return
		}
		st.prep <- e.prepare(pctx, f, target)
	}()
	opts := snapshot.Options{History: true, Nodes: true, Permissions: true, HostAddresses: e.HostAddresses, Disks: true, Room: true, Operator: true, Now: e.Now(), Target: target, ChunkIDs: e.ChunkIDs, NoChunk: e.NoChunk}
	snap, err := snapshot.Read(ctx, snapshot.Sources{Reader: r, Helm: e.Helm, Releases: releases}, opts)
	if err != nil {
		cancel()
		return nil, err
	}
	st.Snapshot = snap
	in := snap.PreflightInput(target)
	if e.HostAddresses {
		snapshot.ReadHostAddresses(ctx, r, in)
	}
	st.Report = preflight.Run(in, e.Skip, e.APIVersion)
	return st, nil
}

// Refused is a plan the checks refused: nothing was changed.
type Refused struct {
	Report *preflight.Report
	// Guard is set when the re-render guard refused.
	Guard *scaleplan.Guard
	Err   error
}

func (r *Refused) Error() string { return r.Err.Error() }
func (r *Refused) Unwrap() error { return r.Err }

// plan works out what the scale will do, or refuses (*Refused, exit 3 or 4) with nothing
// changed. The plan is one step that raises the counts; planScaleIn splits a scale-in into
// one step per pod.
func (e *Engine) plan(ctx context.Context, st *State) (*job, error) {
	snap, report := st.Snapshot, st.Report
	if snap.ReplicasErr != nil {
		return nil, &Refused{Report: report, Err: exitcode.Wrap(exitcode.Refused, fmt.Errorf("cannot read the current replica counts: %v; nothing was changed", snap.ReplicasErr))}
	}
	info, base := snap.Info, snap.BaseInfo
	change := snap.Replicas.To(st.Target.Chunk, st.Target.Meta)
	w := e.writerFor(snap)
	plan := &job{Plan: &scaleplan.Plan{
		Context: e.Context, Namespace: snap.Namespace, Release: snap.Release,
		Chart: base.Chart, ChartVersion: base.ChartVersion,
		FromRevision: info.Revision, ToRevision: info.Revision + 1,
		Chunk:    scaleplan.CountChange{From: change.FromChunk, To: change.ToChunk},
		Meta:     scaleplan.CountChange{From: change.FromMeta, To: change.ToMeta},
		AtTarget: change.None(),
		Layout:   snap.Replicas.Layout,
	}, change: change, snap: snap, w: w}
	plan.APIVersion, plan.Kind = e.APIVersion, "ScalePlan"
	w.begin(plan)
	plan.steps = []Step{plan.raise()}
	if plan.AtTarget && w.settled(snap) {
		// Nothing to change: a rerun after a timeout or an interrupt only waits.
		plan.ToRevision = plan.FromRevision
		return plan, nil
	}
	plan.AtTarget = false
	s := report.Summary
	if s.Fail > 0 || s.Error > 0 || (s.Warn > 0 && e.FailOnWarning) {
		return nil, &Refused{Report: report, Err: preflight.ExitError(report, e.FailOnWarning)}
	}
	plan.Chunk.Nodes = eligible(report.Nodes.Chunk.Nodes, plan.Chunk)
	if plan.Chunk.To > plan.Chunk.From {
		plan.Chunk.LeftOut = report.Nodes.LeftOut
	}
	plan.Meta.Nodes = eligible(report.Nodes.Meta.Nodes, plan.Meta)
	if plan.Chunk.To > plan.Chunk.From && len(report.Nodes.Disks) > 0 {
		d := &scaleplan.DiskRoom{Nodes: len(report.Nodes.Disks)}
		for _, n := range report.Nodes.Disks {
			d.Disks += n.Count()
			d.RawBytes += n.Bytes
		}
		plan.Disks = d
	}
	// The renders also find the fields the chart generates at random, which the upgrade keeps
	// at their deployed values: they run even when the guard's refusal is skipped.
	err := w.complete(ctx, plan, func() (preparation, error) {
		if e.Progress != nil {
			fmt.Fprintln(e.Progress, "Rendering the chart to check that only the replica counts change...")
		}
		select {
		case p := <-st.prep:
			return p, nil
		case <-ctx.Done():
			return preparation{}, ctx.Err()
		}
	})
	if err != nil {
		return nil, err
	}
	return plan, nil
}

// helmPlan completes a Helm plan from the chart prepared for it: the new values, the chart
// source, the re-render guard and the fields the upgrade keeps as deployed.
func (e *Engine) helmPlan(plan *job, p preparation, userValues values.Map, deployed string) error {
	switch {
	case p.err != nil:
		return p.err
	case p.valuesErr != nil:
		return exitcode.Wrap(exitcode.Refused, fmt.Errorf("cannot write the new counts into the release values: %w; nothing was changed", p.valuesErr))
	}
	if p.src == nil && p.chartErr == nil {
		return fmt.Errorf("the chart was not prepared for %s; nothing was changed", plan.subject())
	}
	plan.NewValues = p.newValues
	plan.ValueChanges = scaleplan.ValueDiff(userValues, p.newValues)
	if p.chartErr != nil {
		return exitcode.Wrap(exitcode.Refused, fmt.Errorf("%w; nothing was changed", p.chartErr))
	}
	plan.ChartSource = p.src.Description
	if p.guardErr != nil {
		return p.guardErr
	}
	guard := p.guard
	switch {
	case guard.OK():
		plan.Guard = &guard
	case e.Skip[RenderCheckID]:
		plan.SkippedGuard = &guard
	default:
		return &Refused{Guard: &guard, Err: exitcode.Wrap(exitcode.Refused, fmt.Errorf("refused by %s: the upgrade would change more than the replica counts (above). Nothing was changed. If every difference is expected, pass --skip-check %s", RenderCheckID, RenderCheckID))}
	}
	plan.src = p.src
	plan.keep = render.PostRenderer{Deployed: deployed, Fields: guard.Pins}
	return nil
}

func eligible(nodes []placement.Node, c scaleplan.CountChange) []string {
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

// serverDryRun has the API server check the plan's write (schema, admission webhooks) and
// store nothing.
func (e *Engine) serverDryRun(ctx context.Context, plan *job) error {
	if plan.AtTarget {
		return nil
	}
	return plan.w.dryRun(ctx, plan)
}

// preparation is the chart and the renders for a target, worked out from the release alone.
type preparation struct {
	err       error
	newValues values.Map
	valuesErr error
	src       *helmops.Source
	chartErr  error
	guard     scaleplan.Guard
	guardErr  error
}

// prepare locates the deployed chart and runs the re-render guard for target, from the release
// facts the snapshot shares.
func (e *Engine) prepare(ctx context.Context, f snapshot.ReleaseFacts, target preflight.Target) preparation {
	var p preparation
	if f.ReplicasErr != nil {
		p.valuesErr = f.ReplicasErr
		return p
	}
	change := f.Replicas.To(target.Chunk, target.Meta)
	if change.None() {
		return p // at the target: nothing to render
	}
	// A release a GitOps controller owns is refused by its check: no chart is fetched for it.
	if f.Owner != nil && !e.Skip[preflight.GitOpsCheckID] {
		return p
	}
	info := f.BaseInfo
	if p.newValues, p.valuesErr = values.WithReplicas(info.UserValues, f.Replicas.Layout, change.ChunkTo(), change.MetaTo()); p.valuesErr != nil {
		return p
	}
	// The cluster's capabilities are learned while the chart is located, so that the three
	// renders can then run at once.
	caps := make(chan bool, 1)
	go func() {
		_, err := helmops.Capabilities(e.Helm)
		caps <- err == nil
	}()
	p.src, p.chartErr = e.Locate(helmops.Want{Name: info.Chart, Version: info.ChartVersion})
	known := <-caps
	if p.chartErr != nil {
		return p
	}
	p.guard, p.guardErr = e.guard(ctx, f.Base, info.UserValues, p.src, p.newValues, change, known)
	return p
}

func (e *Engine) guard(ctx context.Context, deployed *release.Release, userValues values.Map, src *helmops.Source, newValues values.Map, change values.Change, capsKnown bool) (scaleplan.Guard, error) {
	helm := e.Helm
	name, ns := deployed.Name, deployed.Namespace
	var r Renders
	r.Deployed = deployed.Manifest
	// The new values against the server, as `helm upgrade --dry-run=server` would: lookups,
	// validation, conflicts. Without known capabilities this render learns them.
	next := func() error {
		ch, err := src.Fresh()
		if err != nil {
			return err
		}
		r.New, err = helmops.Render(ctx, helm, name, ns, ch, newValues, !e.ClientRenders)
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
			*out, err = helmops.Render(ctx, helm, name, ns, ch, userValues, true)
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
	var g errgroup.Group
	if capsKnown {
		g.Go(next)
	}
	g.Go(func() error { return current(&r.Current) })
	g.Go(func() error { return current(&r.Again) })
	if err := g.Wait(); err != nil {
		return scaleplan.Guard{}, err
	}
	return Check(r, change)
}

// chunkPods are the chunk pods of the plan's target among pods (the ones its storage wait
// waits for), and their nodes.
func (p *job) chunkPods(pods []corev1.Pod) ([]corev1.Pod, []string) {
	prefix := p.Release + "-" + string(inventory.Chunk) + "-"
	var out []corev1.Pod
	var nodes []string
	for _, pod := range pods {
		if strings.HasPrefix(pod.Name, prefix) && inventory.Ordinal(pod.Name) < p.Chunk.To {
			out = append(out, pod)
			nodes = append(nodes, pod.Spec.NodeName)
		}
	}
	return out, nodes
}

// WaitOptions say how to wait.
type WaitOptions struct {
	Progress io.Writer
	// Live draws a live table on a terminal instead of one line per change.
	Live bool
	// Timeout is only named in messages: the caller's context carries the deadline.
	Timeout time.Duration
	// Resume is the command that keeps waiting.
	Resume string
}

// waitPods waits until the plan's chunk and meta pods are Ready. The outcome holds the pods as
// last seen, for the final table.
func (e *Engine) waitPods(ctx context.Context, plan *job, o WaitOptions) (Outcome, error) {
	r := e.Reader
	w := &Waiter{
		Kube: r.Kube, Namespace: plan.Namespace, Progress: o.Progress, Now: e.Now, Selector: plan.snap.PodSelector, Live: o.Live,
		Wants: []Want{
			{Prefix: r.Name(inventory.Chunk), Count: plan.Chunk.To},
			{Prefix: r.Name(inventory.Meta), Count: plan.Meta.To},
		},
	}
	out, err := w.Wait(ctx)
	if err == nil {
		return out, nil
	}
	for _, s := range out.Stuck {
		fmt.Fprintf(o.Progress, "  not ready: %s\n", s)
	}
	switch {
	case errors.Is(err, ErrInterrupted):
		return out, exitcode.Wrap(exitcode.NotConverged, fmt.Errorf("interrupted: %s; run `%s` to keep waiting", plan.stays(), o.Resume))
	case errors.Is(err, ErrTimeout):
		return out, exitcode.Wrap(exitcode.NotConverged, fmt.Errorf("%s but the pods were not all Ready within %v; run `%s` to keep waiting", plan.done(), o.Timeout, o.Resume))
	}
	return out, exitcode.Wrap(exitcode.NotConverged, fmt.Errorf("waiting for the pods: %w; %s, run `%s` to keep waiting", err, plan.stays(), o.Resume))
}

// StorageResult is IOMesh's view once it serves the new chunks; nil View when IOMesh does not
// report chunks (the wait ended at pod readiness).
type StorageResult struct {
	View *iomeshcluster.View
	// Before is the capacity before the scale.
	Before *iomeshcluster.Space
	// Note says why the wait ended at pod readiness.
	Note string
}

// waitStorage waits until IOMesh reports a healthy chunk on the node of every chunk pod of the
// target among pods.
func (e *Engine) waitStorage(ctx context.Context, plan *job, pods []corev1.Pod, o WaitOptions) (StorageResult, error) {
	snap := plan.snap
	res := StorageResult{Before: snap.Storage.Capacity}
	if snap.Cluster.Object == nil {
		res.Note = "No IOMeshCluster to read IOMesh's view from: done at pod readiness."
		return res, nil
	}
	chunkPods, nodes := plan.chunkPods(pods)
	fmt.Fprintf(o.Progress, "Waiting for IOMesh to report %d chunks CONNECTED_HEALTHY...\n", len(nodes))
	// What the readiness checks saw on each node, to name beside a chunk that does not come.
	ready := preflight.Derive(snap.PreflightInput(preflight.Target{})).Ready
	s := Storage{Dynamic: e.Reader.Dynamic, Namespace: plan.Namespace, Name: snap.Release, Nodes: snap.Nodes, ChunkPods: chunkPods, Progress: o.Progress,
		Brief: func(n string) string { return ready[n].Brief() }}
	out, err := s.Wait(ctx, nodes)
	switch {
	case errors.Is(err, ErrNotReported):
		res.Note = fmt.Sprintf("IOMesh does not report chunk registration (%v): done at pod readiness.", err)
		return res, nil
	case errors.Is(err, ErrInterrupted):
		return res, exitcode.Wrap(exitcode.NotConverged, fmt.Errorf("interrupted while IOMesh registers the chunks on %s: %s; run `%s` to keep waiting", strings.Join(out.Missing, ", "), plan.stays(), o.Resume))
	case errors.Is(err, ErrTimeout):
		return res, exitcode.Wrap(exitcode.NotConverged, fmt.Errorf("the pods are Ready but IOMesh reported no healthy chunk on %s within %v%s; check `kubectl describe iomesh %s -n %s`, then run `%s` to keep waiting", strings.Join(out.Missing, ", "), o.Timeout, seen(ready, out.Missing), snap.Release, plan.Namespace, o.Resume))
	case err != nil:
		return res, exitcode.Wrap(exitcode.NotConverged, fmt.Errorf("watching the IOMeshCluster: %w; %s, run `%s` to keep waiting", err, plan.stays(), o.Resume))
	}
	res.View = &out.View
	return res, nil
}

// seen is what the readiness checks saw on the nodes, before the scale ("" when nothing).
func seen(ready map[string]preflight.NodeReadiness, nodes []string) string {
	var parts []string
	for _, n := range nodes {
		if p := ready[n].Problems(); p != "" {
			parts = append(parts, n+": "+p)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "; what preflight saw there before the scale: " + strings.Join(parts, "; ")
}

// CapacityChange says how the data and cache capacity moved.
func (r StorageResult) CapacityChange() string {
	if r.View == nil || r.View.Capacity == nil {
		return "clusterSummary " + iomeshcluster.NotReported
	}
	b := iomeshcluster.Space{TotalData: "?", TotalCache: "?"}
	if r.Before != nil {
		b = *r.Before
	}
	a := r.View.Capacity
	return fmt.Sprintf("data %s -> %s, cache %s -> %s", b.TotalData, a.TotalData, b.TotalCache, a.TotalCache)
}
