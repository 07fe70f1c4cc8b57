package scale

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ScaleInPlan is a scale-in: one step per pod, highest ordinal first, chunk pods before meta
// pods. Plan is the whole change, checked (and its render guarded) as one.
type ScaleInPlan struct {
	metav1.TypeMeta `json:",inline"`
	Plan            *Plan                   `json:"plan"`
	Procedure       iomeshcluster.Procedure `json:"procedure"`
	Steps           []Step                  `json:"steps"`
	Capacity        *iomeshcluster.Room     `json:"capacity,omitempty"`
	LeftBehind      []string                `json:"leftBehind,omitempty"`
}

// Step removes one pod.
type Step struct {
	Component string `json:"component"`
	Pod       string `json:"pod"`
	Node      string `json:"node,omitempty"`
	// Chunk is the chunk the pod serves (nil: none, or a meta pod).
	Chunk *iomeshcluster.RegisteredChunk `json:"chunk,omitempty"`
	// Unregister is the command run on the meta leader first (empty: none, the operator does
	// it, or the chunk is already unregistered).
	Unregister []string `json:"unregister,omitempty"`
	// InFlight says an earlier run started the unregister: this one waits while IOMesh moves
	// the data, and sends it again if IOMesh shows no migration.
	InFlight bool `json:"inFlight,omitempty"`
	// MatchedBy says how the chunk was matched to the pod (iomeshcluster.Match*, ByName,
	// ByLease); Left says the chunk has already left IOMesh (an earlier run unregistered it).
	MatchedBy string `json:"matchedBy,omitempty"`
	Left      bool   `json:"left,omitempty"`
	// Stated says a person stated the chunk has left IOMesh (--chunk-unregistered): it stands
	// in for a finished unregister no run saw.
	Stated bool `json:"statedUnregistered,omitempty"`
	// Unconfirmed says why a chunk named with --chunk-id could not be confirmed in the pod: a
	// person must accept it, --yes refuses.
	Unconfirmed string `json:"unconfirmed,omitempty"`
	From        int    `json:"from"`
	To          int    `json:"to"`

	// moves are the counts the step writes when it is more than Component's (a scale-out).
	moves []Move
	// plan is the step's write when it was planned and rendered ahead (a scale-out); nil when
	// the loop plans it from the cluster as it is just before the write.
	plan *Plan
}

// lowers says the step removes a pod.
func (s Step) lowers() bool { return s.To < s.From }

// Unconfirmed are the steps whose chunk, named with --chunk-id, no chunk pod's own addresses
// confirm.
func (rp *ScaleInPlan) Unconfirmed() []Step {
	var out []Step
	for _, s := range rp.Steps {
		if s.Unconfirmed != "" && len(s.Unregister) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// PlanScaleIn works out a scale-in, or refuses (*Refused) with nothing changed.
func (e *Engine) PlanScaleIn(ctx context.Context, st *State) (*ScaleInPlan, error) {
	plan, err := e.Plan(ctx, st)
	if err != nil {
		return nil, err
	}
	in := st.Snapshot.ScaleIn
	if in == nil {
		return nil, fmt.Errorf("the scale-in of %s was not read; nothing was changed", plan.Subject())
	}
	rp := &ScaleInPlan{Plan: plan, Procedure: in.Procedure}
	rp.APIVersion, rp.Kind = e.APIVersion, "ScaleInPlan"
	if in.IDsErr != nil {
		// Whatever checks were skipped: ids that cannot name the pods plan nothing.
		return nil, exitcode.Wrap(exitcode.Refused, fmt.Errorf("%v; nothing was changed (scale-in.chunk-mapped is not skipped for this)", in.IDsErr))
	}
	count := plan.Chunk.From
	for _, r := range in.Removals {
		if r.Problem != "" {
			// Whatever checks were skipped: a pod whose chunk is not known is never removed.
			return nil, exitcode.Wrap(exitcode.Refused, fmt.Errorf("which chunk %s holds is not known: %s. Nothing was changed (scale-in.chunk-mapped guards against data loss and is not skipped)", r.Pod, r.Problem))
		}
		s := Step{Component: string(inventory.Chunk), Pod: r.Pod, Node: r.Node, Chunk: r.Chunk, From: count, To: count - 1,
			MatchedBy: r.By, Left: r.Left, Unconfirmed: r.Unconfirmed}
		if in.Procedure.Unregister && r.Chunk != nil && !r.Left {
			s.InFlight = in.InFlight == r.Chunk.ID
			s.Unregister = []string{inventory.IOMeshctl, "chunk", "unregister", fmt.Sprint(r.Chunk.ID)}
		}
		rp.Steps = append(rp.Steps, s)
		rp.LeftBehind = append(rp.LeftBehind, fmt.Sprintf("PVCs base-dir-%s and coredump-%s (hostpath, on %s)", r.Pod, r.Pod, orNode(r.Node)))
		count--
	}
	count = plan.Meta.From
	for _, pod := range in.MetaRemovals {
		rp.Steps = append(rp.Steps, Step{Component: string(inventory.Meta), Pod: pod, Node: nodeOf(st.Snapshot.Meta.Pods, pod), From: count, To: count - 1})
		rp.LeftBehind = append(rp.LeftBehind, fmt.Sprintf("PVCs db-data-%s and coredump-%s (hostpath)", pod, pod))
		count--
	}
	stated := map[int64]bool{}
	for _, id := range e.Unregistered {
		stated[id] = true
	}
	var removed []string
	for i := range rp.Steps {
		if c := rp.Steps[i].Chunk; c != nil {
			removed = append(removed, fmt.Sprint(c.ID))
			if stated[c.ID] {
				if !rp.Steps[i].Left && len(rp.Steps[i].Unregister) > 0 {
					return nil, exitcode.Wrap(exitcode.Refused, fmt.Errorf("--chunk-unregistered %d: IOMesh still lists chunk %d (on %s), so it has not left; nothing was changed. Drop --chunk-unregistered %d: the scale-in unregisters it", c.ID, c.ID, rp.Steps[i].Pod, c.ID))
				}
				rp.Steps[i].Stated = true
				delete(stated, c.ID)
			}
		}
	}
	for id := range stated {
		if l := in.Lowering; l.Component == string(inventory.Chunk) && l.To == plan.Chunk.From {
			if _, listed := st.Snapshot.Storage.Listed(id); !listed && st.Snapshot.Storage.Summary {
				continue // stated for a step an earlier run of the same command finished
			}
		}
		return nil, exitcode.Wrap(exitcode.Refused, fmt.Errorf("--chunk-unregistered %d names no chunk this scale-in removes (it removes chunk %s); nothing was changed", id, orQ(strings.Join(removed, ", "))))
	}
	plan.steps = rp.Steps
	if len(in.Removals) > 0 {
		if in.RoomErr == nil {
			room := in.Room
			rp.Capacity = &room
		}
		if in.Procedure.Unregister {
			rp.LeftBehind = append(rp.LeftBehind, "on IOMesh 1.0.0, status.attachedDevices may still list the removed nodes' disks (a known issue)")
		}
	}
	return rp, nil
}

func orNode(n string) string {
	if n == "" {
		return "no node"
	}
	return n
}

// WriteRemoval prints a scale-in plan for people.
func WriteRemoval(w io.Writer, rp *ScaleInPlan) error {
	p := rp.Plan
	fmt.Fprintln(w, "Scale-in plan:")
	row := func(k, v string) { fmt.Fprintf(w, "  %-10s %s\n", k+":", v) }
	more := func(v string) { fmt.Fprintf(w, "  %-10s %s\n", "", v) }
	if p.Context != "" {
		row("Context", p.Context)
	}
	row("Namespace", p.Namespace)
	if p.Direct != nil {
		row("Managed", fmt.Sprintf("directly: %s %s has no Helm release; each step patches it", p.Direct.Kind, p.Direct.Name))
	} else {
		row("Release", fmt.Sprintf("%s, revision %d; chart %s-%s (unchanged)", p.Release, p.FromRevision, p.Chart, p.ChartVersion))
	}
	version := rp.Procedure.Version
	if version == "" {
		version = "unknown"
	}
	row("IOMesh", fmt.Sprintf("%s (from %s): %s", version, rp.Procedure.From, rp.Procedure.Note))
	row("Chunk", countText(CountChange{From: p.Chunk.From, To: p.Chunk.To}))
	row("Meta", countText(CountChange{From: p.Meta.From, To: p.Meta.To}))
	if c := rp.Capacity; c != nil {
		row("Capacity", fmt.Sprintf("%s of data in use; %s of data capacity leaves, %s remains (%.1f%% in use after)", placement.HumanBytes(c.Used), placement.HumanBytes(c.Leaving), placement.HumanBytes(c.Remaining), c.Percent()))
	}
	fmt.Fprintln(w, "  Steps, one at a time (each waits for the one before):")
	rev := p.FromRevision
	for i, s := range rp.Steps {
		head := fmt.Sprintf("    %d. %s", i+1, s.Pod)
		if s.Node != "" {
			head += " on " + s.Node
		}
		if c := s.Chunk; c != nil && s.Left {
			head += fmt.Sprintf(": chunk %d, already unregistered by an earlier run (recorded on the Lease)", c.ID)
		} else if c != nil {
			head += fmt.Sprintf(": chunk %d (ip %s, matched by %s)", c.ID, orQ(c.IP), orQ(s.MatchedBy))
			if c.Space != nil {
				head += fmt.Sprintf(", %s used, %s capacity leaving", orQ(c.Space.UsedData), orQ(c.Space.TotalData))
			}
		} else if s.Component == string(inventory.Chunk) && s.MatchedBy == iomeshcluster.ByNoChunk {
			head += ": holds no chunk, as stated with --no-chunk (checked again before the lower)"
		} else if s.Component == string(inventory.Chunk) {
			head += ": never scheduled on a node, so no chunk server ran there"
		}
		fmt.Fprintln(w, head)
		if s.Unconfirmed != "" {
			fmt.Fprintf(w, "       not confirmed: %s\n", s.Unconfirmed)
		}
		if s.Stated {
			fmt.Fprintf(w, "       stated to have left IOMesh (--chunk-unregistered %d): taken for a finished unregister\n", s.Chunk.ID)
		}
		switch {
		case s.InFlight:
			fmt.Fprintf(w, "       an earlier run started `%s`: wait while IOMesh moves the data (or send it again if IOMesh shows no migration) until chunk %d leaves chunkSummary\n", strings.Join(s.Unregister, " "), s.Chunk.ID)
		case len(s.Unregister) > 0:
			fmt.Fprintf(w, "       run `%s` on the meta leader (container %s), then wait until chunk %d leaves chunkSummary\n", strings.Join(s.Unregister, " "), inventory.MetaContainer, s.Chunk.ID)
		}
		path := fmt.Sprintf("spec.%s.replicas", s.Component)
		if p.Direct == nil {
			rev++
			path = countPath(p.snap.Replicas.Layout, s.Component)
			fmt.Fprintf(w, "       helm upgrade to revision %d: %s %d -> %d\n", rev, path, s.From, s.To)
		} else {
			fmt.Fprintf(w, "       patch IOMeshCluster %s: %s %d -> %d\n", p.Release, path, s.From, s.To)
		}
		what := "the remaining chunks are CONNECTED_HEALTHY"
		if s.Component == string(inventory.Meta) {
			what = "the remaining meta pods are Ready"
		}
		fmt.Fprintf(w, "       wait until %s is gone, StatefulSet %s-%s is at %d and %s\n", s.Pod, p.Release, s.Component, s.To, what)
	}
	if g := p.Guard; g != nil {
		row("Render", fmt.Sprintf("only the replica counts change (%d fields); every other value is kept as deployed", len(g.Scale)))
	}
	if p.AdmissionChecked {
		row("Server", "the API server and its admission webhooks accepted the final counts in a dry run")
	}
	for i, l := range rp.LeftBehind {
		if i == 0 {
			row("Stays", l)
		} else {
			more(l)
		}
	}
	return nil
}

func countPath(l values.Layout, component string) string {
	if component == string(inventory.Meta) {
		return l.MetaReplicasPath()
	}
	return l.ChunkReplicasPath()
}

func nodeOf(pods []corev1.Pod, name string) string {
	for _, p := range pods {
		if p.Name == name {
			return p.Spec.NodeName
		}
	}
	return ""
}

func orQ(s string) string {
	if s == "" {
		return "?"
	}
	return s
}
