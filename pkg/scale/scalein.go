package scale

import (
	"context"
	"fmt"
	"strings"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/scaleplan"
	corev1 "k8s.io/api/core/v1"
)

// Step is one step as the engine carries it out: what people read of it, and for a scale-out
// the counts it writes and its write, planned and rendered ahead.
type Step struct {
	scaleplan.Step

	// moves are the counts the step writes when it is more than Component's (a scale-out).
	moves []Move
	// plan is the step's write when it was planned and rendered ahead (a scale-out); nil when
	// the loop plans it from the cluster as it is just before the write.
	plan *job
}

// lowers says the step removes a pod.
func (s Step) lowers() bool { return s.To < s.From }

// planScaleIn works out a scale-in, its removal plan set, or refuses (*Refused) with nothing
// changed.
func (e *Engine) planScaleIn(ctx context.Context, st *State) (*job, error) {
	plan, err := e.plan(ctx, st)
	if err != nil {
		return nil, err
	}
	in := st.Snapshot.ScaleIn
	if in == nil {
		return nil, fmt.Errorf("the scale-in of %s was not read; nothing was changed", plan.subject())
	}
	rp := &scaleplan.ScaleInPlan{Plan: plan.Plan, Procedure: in.Procedure}
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
		s := scaleplan.Step{Component: string(inventory.Chunk), Pod: r.Pod, Node: r.Node, Chunk: r.Chunk, From: count, To: count - 1,
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
		rp.Steps = append(rp.Steps, scaleplan.Step{Component: string(inventory.Meta), Pod: pod, Node: nodeOf(st.Snapshot.Meta.Pods, pod), From: count, To: count - 1})
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
	plan.removal, plan.steps = rp, make([]Step, len(rp.Steps))
	for i, s := range rp.Steps {
		plan.steps[i] = Step{Step: s}
	}
	if len(in.Removals) > 0 {
		if in.RoomErr == nil {
			room := in.Room
			rp.Capacity = &room
		}
		if in.Procedure.Unregister {
			rp.LeftBehind = append(rp.LeftBehind, "on IOMesh 1.0.0, status.attachedDevices may still list the removed nodes' disks (a known issue)")
		}
	}
	return plan, nil
}

func orNode(n string) string {
	if n == "" {
		return "no node"
	}
	return n
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
