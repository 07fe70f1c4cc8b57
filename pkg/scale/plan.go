package scale

import (
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/render"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/scaleplan"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/snapshot"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// job is a plan as the engine carries it out: the plan people read, and what its writes need.
type job struct {
	*scaleplan.Plan
	// removal is the scale-in's plan, one step per pod (nil: the plan adds pods).
	removal *scaleplan.ScaleInPlan

	change values.Change
	snap   *snapshot.Snapshot
	src    *helmops.Source
	keep   render.PostRenderer
	// w writes the plan; steps are its writes, one at a time.
	w     writer
	steps []Step
}

// subject names what is scaled, for messages.
func (p *job) subject() string { return p.w.subject(p) }

// stays says that the change is in place, for messages about a wait cut short.
func (p *job) stays() string { return p.w.stays(p) }

// done says that the change was made, for messages about a wait that ran out.
func (p *job) done() string { return p.w.done(p) }

// raise is the plan as one step: both counts written at once, nothing unregistered.
func (p *job) raise() Step {
	s := Step{plan: p, moves: []Move{}}
	for _, m := range []Move{{string(inventory.Chunk), p.Chunk.From, p.Chunk.To}, {string(inventory.Meta), p.Meta.From, p.Meta.To}} {
		if m.From != m.To {
			s.moves = append(s.moves, m)
		}
	}
	if len(s.moves) > 0 {
		s.Component, s.From, s.To = s.moves[0].Component, s.moves[0].From, s.moves[0].To
	}
	return s
}
