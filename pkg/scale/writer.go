package scale

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/scaleplan"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/snapshot"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/printers"
)

// writer is how a cluster's counts are written: an upgrade of its Helm release, or a patch of
// an IOMeshCluster no release manages. The engine picks one per cluster (writerFor); the plan
// and the change loop ask it, never which one it is.
type writer interface {
	// settled says a plan already at its target has nothing to write: a release whose newest
	// revision is not deployed is upgraded again.
	settled(snap *snapshot.Snapshot) bool
	// complete finishes a plan for its change with what only this writer knows: the chart and
	// its renders (prep), or the fields of the patch.
	complete(ctx context.Context, plan *job, prep func() (preparation, error)) error
	// read is the counts as written now and the version they are at; history also reads the
	// release's older revisions (the base of an upgrade after a failed one).
	read(ctx context.Context, history bool) (written, error)
	// next is a plan for target from what read returned, for a step whose write was not
	// planned ahead.
	next(ctx context.Context, base *job, at written, target preflight.Target) (*job, error)
	// dryRun has the API server check the plan's write and store nothing.
	dryRun(ctx context.Context, plan *job) error
	// write makes the plan's change; it returns the version written. last is called right
	// before the write, after every preparation: its error stops the write; the
	// resourceVersion it returns ("" for none) is what a patch is conditional on.
	write(ctx context.Context, plan *job, progress io.Writer, last func(context.Context) (string, error)) (int64, error)
	// stale is the refusal for a plan whose cluster changed before this run wrote anything.
	stale(plan *job, at written) error
	// begin fills in what the plan says about how it is written.
	begin(plan *job)
	// version is the version the plan starts from.
	version(plan *job) int64
	subject(plan *job) string
	stays(plan *job) string
	done(plan *job) string
}

// written is what a writer reads back: the counts and the version they are at.
type written struct {
	replicas values.Replicas
	version  int64
	// moved says where the release or IOMeshCluster is now and who wrote it, for messages;
	// source names where the counts were read.
	moved  string
	source string
	// status is the release revision's status; rv the IOMeshCluster's resourceVersion.
	status string
	rv     string
	facts  snapshot.ReleaseFacts
}

// writerFor is the writer of the cluster snap was read from.
func (e *Engine) writerFor(snap *snapshot.Snapshot) writer {
	if snap.Direct {
		return &patchWriter{e: e, snap: snap}
	}
	return &helmWriter{e: e, snap: snap}
}

// helmWriter upgrades the release from the deployed chart with only the counts changed.
type helmWriter struct {
	e    *Engine
	snap *snapshot.Snapshot
}

func (h *helmWriter) settled(snap *snapshot.Snapshot) bool {
	return snap.Info.Status == string(rcommon.StatusDeployed)
}

func (h *helmWriter) complete(_ context.Context, plan *job, prep func() (preparation, error)) error {
	p, err := prep()
	if err != nil {
		return err
	}
	return h.e.helmPlan(plan, p, plan.snap.BaseInfo.UserValues, plan.snap.Base.Manifest)
}

func (h *helmWriter) read(_ context.Context, history bool) (written, error) {
	f, err := snapshot.NewReleases(h.e.Helm, h.snap.Release, h.snap.Namespace, history).Get()
	if err != nil {
		return written{}, err
	}
	if f.ReplicasErr != nil {
		return written{}, f.ReplicasErr
	}
	at := written{replicas: f.Replicas, version: int64(f.Info.Revision), status: f.Info.Status, facts: f,
		source: fmt.Sprintf("release values (revision %d)", f.BaseInfo.Revision)}
	at.moved = fmt.Sprintf("release %s is at revision %d (%s", h.snap.Release, f.Info.Revision, f.Info.Status)
	if f.Latest != nil && f.Latest.Info != nil && f.Latest.Info.Description != "" {
		at.moved += ": " + printers.EscapeTerminal(f.Latest.Info.Description)
	}
	at.moved += ")"
	return at, nil
}

func (h *helmWriter) next(ctx context.Context, base *job, at written, target preflight.Target) (*job, error) {
	f := at.facts
	if f.BaseInfo.ChartVersion != base.ChartVersion {
		return nil, exitcode.Wrap(exitcode.Refused, fmt.Errorf("release %s now runs chart %s, not the %s the plan was made for; nothing further was changed, run the same command again", base.Release, f.BaseInfo.ChartVersion, base.ChartVersion))
	}
	snap := *base.snap
	snap.ReleaseFacts = f
	change := f.Replicas.To(target.Chunk, target.Meta)
	p := &job{Plan: &scaleplan.Plan{
		Namespace: base.Namespace, Release: base.Release, Chart: f.BaseInfo.Chart, ChartVersion: f.BaseInfo.ChartVersion,
		FromRevision: f.Info.Revision, ToRevision: f.Info.Revision + 1,
		Chunk: scaleplan.CountChange{From: change.FromChunk, To: change.ToChunk}, Meta: scaleplan.CountChange{From: change.FromMeta, To: change.ToMeta},
		Layout: f.Replicas.Layout,
	}, change: change, snap: &snap, w: h}
	return p, h.complete(ctx, p, func() (preparation, error) { return h.e.prepare(ctx, f, target), nil })
}

// dryRun sends the new counts to the live IOMeshCluster as a dry run before Helm writes a
// revision: a webhook or the schema that would reject the upgrade's write rejects this instead,
// and nothing is recorded. Helm's own server dry run sends no object through admission.
func (h *helmWriter) dryRun(ctx context.Context, plan *job) error {
	if plan.snap.Cluster.Object == nil {
		return nil
	}
	_, err := h.e.patch(ctx, plan, "", metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
	if err == nil {
		plan.AdmissionChecked = true
		return nil
	}
	return exitcode.Wrap(exitcode.Refused, fmt.Errorf("the API server rejected the new counts for IOMeshCluster %s in a dry run, so the upgrade would fail after Helm recorded revision %d: %v\nNothing was changed and no revision was written. If the operator serves the webhook, check it is running (`kubectl iomesh preflight` shows operator.ready)", plan.Release, plan.ToRevision, err))
}

func (h *helmWriter) write(ctx context.Context, plan *job, progress io.Writer, last func(context.Context) (string, error)) (int64, error) {
	if err := h.dryRun(ctx, plan); err != nil {
		return 0, err
	}
	// The last look before the upgrade: another operation since the plan was read (a second
	// scale while this one waited at its prompt) makes it stale.
	if now, err := helmops.Latest(h.e.Helm, plan.Release, plan.Namespace); err != nil {
		return 0, err
	} else if now.Version != plan.FromRevision {
		return 0, h.stale(plan, written{version: int64(now.Version), status: string(now.Info.Status)})
	}
	ch, err := plan.src.Fresh()
	if err != nil {
		return 0, fmt.Errorf("loading the chart again: %w", err)
	}
	if last != nil {
		if _, err := last(ctx); err != nil {
			return 0, err
		}
		// Helm's upgrade writes over whatever is deployed: another writer's revision since the
		// re-check read the release (it may have raised the count) stops the lower here.
		now, err := helmops.Latest(h.e.Helm, plan.Release, plan.Namespace)
		if err != nil {
			return 0, err
		}
		if now.Version != plan.FromRevision {
			return 0, fmt.Errorf("%w: release %s is at revision %d (%s), not %d, read again right before the upgrade; the lower was not written (%w)", ErrMoved, plan.Release, now.Version, now.Info.Status, plan.FromRevision, errChanged)
		}
	}
	desc := upgradeDescription(plan)
	fmt.Fprintf(progress, "Upgrading release %s to revision %d...\n", plan.Release, plan.ToRevision)
	rel, err := helmops.Upgrade(ctx, h.e.Helm, helmops.UpgradeRequest{
		Name: plan.Release, Namespace: plan.Namespace, Chart: ch, Values: plan.NewValues,
		Description: desc, Timeout: upgradeTimeout, PostRenderer: plan.keep,
	})
	if err != nil {
		if errors.Is(err, helmops.ErrBusy) {
			return 0, exitcode.Wrap(exitcode.Refused, fmt.Errorf("%w: Helm wrote no revision. Check `helm history %s -n %s` and run the same command again when the other operation has finished", err, plan.Release, plan.Namespace))
		}
		base := plan.snap.BaseInfo.Revision
		next := fmt.Sprintf("fix the cause and run the same command again (it plans from revision %d and keeps the failed one in the history)", base)
		if plan.Chunk.To <= plan.Chunk.From && plan.Meta.To <= plan.Meta.From {
			next += fmt.Sprintf(", or return to revision %d with `helm rollback %s %d -n %s`", base, plan.Release, base, plan.Namespace)
		} else {
			// Revision base has fewer pods than were applied: a rollback removes the new
			// chunk pods without unregistering their chunks.
			next += fmt.Sprintf("; do not `helm rollback` to revision %d: it has fewer pods than were just applied, and a rollback removes chunk pods without unregistering their chunks", base)
		}
		if rel != nil {
			return 0, fmt.Errorf("the upgrade to revision %d failed: %w\nRevision %d is recorded as %s; revision %d is still the one deployed. Objects Helm applied before the failure keep their new state (see `helm get manifest %s -n %s --revision %d`): %s", plan.ToRevision, err, rel.Version, rel.Info.Status, base, plan.Release, plan.Namespace, rel.Version, next)
		}
		return 0, fmt.Errorf("the upgrade to revision %d failed: %w\nNext: %s", plan.ToRevision, err, next)
	}
	fmt.Fprintf(progress, "Release %s is at revision %d (%s).\n", plan.Release, rel.Version, rel.Info.Status)
	return int64(rel.Version), nil
}

func (h *helmWriter) stale(plan *job, at written) error {
	return exitcode.Wrap(exitcode.Refused, fmt.Errorf("release %s changed since the plan was made (revision %d, now %d, %s): nothing was changed by this command; run it again to plan from the new revision", plan.Release, plan.FromRevision, at.version, at.status))
}

func (h *helmWriter) begin(*job)               {}
func (h *helmWriter) version(plan *job) int64  { return int64(plan.FromRevision) }
func (h *helmWriter) subject(plan *job) string { return "Release " + plan.Release }
func (h *helmWriter) stays(plan *job) string {
	return fmt.Sprintf("the upgrade stays applied (revision %d)", plan.ToRevision)
}
func (h *helmWriter) done(plan *job) string {
	return fmt.Sprintf("the release is upgraded (revision %d)", plan.ToRevision)
}

// patchWriter patches only the counts of an IOMeshCluster no Helm release manages, at the
// resourceVersion read.
type patchWriter struct {
	e    *Engine
	snap *snapshot.Snapshot
}

func (d *patchWriter) settled(*snapshot.Snapshot) bool { return true }

func (d *patchWriter) complete(_ context.Context, plan *job, _ func() (preparation, error)) error {
	plan.Direct.Fields = directFields(plan.change)
	return nil
}

func (d *patchWriter) read(ctx context.Context, _ bool) (written, error) {
	cr, err := d.e.cluster(ctx, d.snap.Release)
	if err != nil {
		return written{}, err
	}
	r, err := values.ReadReplicas(snapshot.DirectValues(cr.Spec))
	if err != nil {
		return written{}, err
	}
	return written{replicas: r, version: cr.Generation, rv: cr.ResourceVersion, source: "IOMeshCluster spec",
		moved: fmt.Sprintf("IOMeshCluster %s is at generation %d%s", cr.Name, cr.Generation, lastManager(cr.ManagedFields))}, nil
}

func (d *patchWriter) next(_ context.Context, base *job, at written, target preflight.Target) (*job, error) {
	return &job{Plan: &scaleplan.Plan{Namespace: base.Namespace, Release: base.Release,
		Direct: &scaleplan.DirectChange{Kind: iomeshcluster.Kind, Name: base.Release, ResourceVersion: at.rv}},
		snap: base.snap, change: at.replicas.To(target.Chunk, target.Meta), w: d}, nil
}

func (d *patchWriter) dryRun(ctx context.Context, plan *job) error {
	if _, err := d.e.patch(ctx, plan, plan.Direct.ResourceVersion, metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		return err
	}
	plan.Direct.ServerDryRun = true
	return nil
}

func (d *patchWriter) write(ctx context.Context, plan *job, progress io.Writer, last func(context.Context) (string, error)) (int64, error) {
	for attempt := 1; ; attempt++ {
		rv := plan.Direct.ResourceVersion
		if last != nil {
			now, err := last(ctx)
			if err != nil {
				return 0, err
			}
			if now != "" {
				// Conditional on the last read, which every fact of the step was checked in.
				rv = now
			}
		}
		fmt.Fprintf(progress, "Patching IOMeshCluster %s...\n", plan.Release)
		v, err := d.e.patch(ctx, plan, rv, metav1.PatchOptions{})
		// The operator writes the status often: a conflict with one is read again, every
		// fact checked anew, a few times.
		if !errors.Is(err, errChanged) || last == nil || attempt == 3 {
			return v, err
		}
	}
}

func (d *patchWriter) stale(plan *job, _ written) error {
	return changedAfterRead(plan.Release, plan.Direct.ResourceVersion)
}

// errChanged is a write refused because the object changed since the version it carried.
var errChanged = errors.New("changed after it was read")

func changedAfterRead(name, rv string) error {
	return exitcode.Wrap(exitcode.Refused, fmt.Errorf("IOMeshCluster %s %w (resourceVersion %s): nothing was changed; run the same command again to plan from its new state", name, errChanged, rv))
}

func (d *patchWriter) begin(plan *job) {
	plan.Direct = &scaleplan.DirectChange{Kind: iomeshcluster.Kind, Name: plan.Release, ResourceVersion: d.snap.ResourceVersion()}
}

func (d *patchWriter) version(plan *job) int64 {
	if c := plan.snap.Cluster.Object; c != nil {
		return c.Generation
	}
	return 0
}
func (d *patchWriter) subject(plan *job) string { return "IOMeshCluster " + plan.Release }
func (d *patchWriter) stays(plan *job) string {
	return "the patch to IOMeshCluster " + plan.Release + " stays applied"
}
func (d *patchWriter) done(plan *job) string { return "IOMeshCluster " + plan.Release + " is patched" }

// patch is a merge patch of only spec.chunk.replicas / spec.meta.replicas, conditional on the
// resourceVersion rv when given, so an edit made in between is refused rather than overwritten.
// It returns the object's metadata.generation after the patch.
func (e *Engine) patch(ctx context.Context, plan *job, rv string, opts metav1.PatchOptions) (int64, error) {
	spec := map[string]interface{}{}
	if to := plan.change.ChunkTo(); to != nil {
		spec["chunk"] = map[string]interface{}{"replicas": *to}
	}
	if to := plan.change.MetaTo(); to != nil {
		spec["meta"] = map[string]interface{}{"replicas": *to}
	}
	doc := map[string]interface{}{"spec": spec}
	if rv != "" {
		doc["metadata"] = map[string]interface{}{"resourceVersion": rv}
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return 0, err
	}
	res := e.Reader.Dynamic.Resource(iomeshcluster.GVR).Namespace(plan.Namespace)
	out, err := res.Patch(ctx, plan.Release, types.MergePatchType, body, opts)
	switch {
	case apierrors.IsConflict(err):
		return 0, changedAfterRead(plan.Release, rv)
	case err != nil:
		return 0, inventory.Explain(err, "patch", fmt.Sprintf("iomeshclusters.iomesh.com %q in namespace %q", plan.Release, plan.Namespace))
	}
	return out.GetGeneration(), nil
}

func directFields(c values.Change) []scaleplan.ValueChange {
	var out []scaleplan.ValueChange
	if to := c.ChunkTo(); to != nil {
		out = append(out, scaleplan.ValueChange{Path: "spec.chunk.replicas", Old: fmt.Sprint(c.FromChunk), New: fmt.Sprint(*to)})
	}
	if to := c.MetaTo(); to != nil {
		out = append(out, scaleplan.ValueChange{Path: "spec.meta.replicas", Old: fmt.Sprint(c.FromMeta), New: fmt.Sprint(*to)})
	}
	return out
}
