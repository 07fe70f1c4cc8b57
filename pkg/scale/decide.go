package scale

import (
	"errors"
	"fmt"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// Move is one count a step changes.
type Move struct {
	Component string
	From, To  int
}

// Moves are the counts step s changes: its own, and with a scale-out the other component's
// too (both are written at once).
func (s Step) Moves() []Move {
	if s.moves != nil {
		return s.moves
	}
	return []Move{{Component: s.Component, From: s.From, To: s.To}}
}

// reached says every count is at or past the step's target, in the step's direction.
func (s Step) reached(r values.Replicas) bool {
	for _, m := range s.Moves() {
		c := countOf(r, m.Component)
		if (m.To < m.From && c > m.To) || (m.To >= m.From && c != m.To) {
			return false
		}
	}
	return true
}

// from says every count is still the step's starting one; else the first that is not.
func (s Step) from(r values.Replicas) (Move, int, bool) {
	for _, m := range s.Moves() {
		if c := countOf(r, m.Component); c != m.From {
			return m, c, false
		}
	}
	return Move{}, 0, true
}

func countOf(r values.Replicas, component string) int {
	if component == string(inventory.Meta) {
		return r.Meta
	}
	return r.Chunk
}

// Phase is what a step of a plan does next, from what the cluster shows.
type Phase string

const (
	// NeedRead: the decision needs the release (or spec), the Lease and the migration read.
	NeedRead Phase = "read"
	// Unregister sends `iomeshctl chunk unregister`; AwaitUnregister waits while IOMesh moves
	// the chunk's data; Wait waits because the status does not say whether the chunk left.
	Unregister      Phase = "unregister"
	AwaitUnregister Phase = "await-unregister"
	Wait            Phase = "wait"
	// Apply writes the step's counts; Settle waits until they have taken effect (the new pods
	// serve, or the removed pod has gone and the rest serve).
	Apply  Phase = "apply"
	Settle Phase = "settle"
	// Stop: something else moved the cluster; nothing further is changed.
	Stop Phase = "stop"
)

// Observation is one read of what a step depends on: the facts of the evidence model
// (docs/scale-in.md), each read from its source, or marked unknown.
type Observation struct {
	// Full says Counts, Version, Live, Recorded, Finished and Migrating were read, not only
	// IOMesh's chunk list.
	Full bool
	// Counts are the counts in the values of the revision Helm upgrades from (or the
	// IOMeshCluster's spec), and Version the release's newest revision (or the IOMeshCluster's
	// metadata.generation).
	Counts  values.Replicas
	Version int64
	// Moved says who last changed the release or the IOMeshCluster, for messages.
	Moved string
	// Live is where the step's component's count lives (values, IOMeshCluster spec,
	// StatefulSet, pods); nil when it could not be read.
	Live *preflight.Counts
	// Chunk is whether IOMesh lists the step's chunk, and Why what made it Unknown.
	Chunk iomeshcluster.Presence
	Why   string
	// Holding is a chunk other than the step's that IOMesh lists on the step's pod, or that no
	// other pod can be shown to hold (0: none).
	Holding int64
	// Recorded is the chunk the Lease records an unregister was started for (the intent), and
	// RecordedPod its pod.
	Recorded    int64
	RecordedPod string
	// Finished says the step's chunk's unregister is known to have finished: this run's
	// iomeshctl returned without error, the Lease records that an earlier run's did, or a
	// person stated it by id (--chunk-unregistered).
	Finished bool
	// Migrating says `iomeshctl summary cluster` shows data moving; nil when not read.
	Migrating *bool
	// Running says this run's iomeshctl for the step's chunk has not returned: nothing is
	// lowered meanwhile, whatever else says the chunk left.
	Running bool
}

// Decision is the next phase of a step, with what to say (Note) or why it stops (Err).
type Decision struct {
	Phase Phase
	Note  string
	Err   error
}

// ErrMoved is a cluster that something else changed during the scale-in, or whose counts
// disagree so that a write would remove pods the plan does not name.
var ErrMoved = errors.New("the cluster changed under the scale-in")

// Decide is the next phase of step s, for every plan: a scale-out's one step goes from the
// re-check straight to Apply. expect is the release revision (or IOMeshCluster generation) the
// step starts from, and sent says this run sent the step's unregister. A count is lowered only
// on positive evidence, each fact from its source (docs/scale-in.md): the unregister finished
// (Finished); the chunk has left a readable chunkSummary that still lists every other chunk
// expected to stay; IOMesh moves no data; the values, the IOMeshCluster and the StatefulSet
// agree on the step's starting count, and no pod runs beyond it; the version is still expect;
// and no chunk IOMesh lists may be on the pod. A missing or odd fact means wait, or stop; it
// never means lower.
func Decide(s Step, expect int64, o Observation, sent bool) Decision {
	unreg := s.Chunk != nil && (len(s.Unregister) > 0 || s.Left)
	id := int64(0)
	if s.Chunk != nil {
		id = s.Chunk.ID
	}
	if unreg {
		switch o.Chunk {
		case iomeshcluster.Unknown:
			return Decision{Phase: Wait, Note: fmt.Sprintf("whether chunk %d has left is not known: %s; waiting, and changing nothing until it is", id, o.Why)}
		case iomeshcluster.Gone:
			if o.Running || (sent && !o.Finished) {
				return Decision{Phase: AwaitUnregister, Note: fmt.Sprintf("chunk %d is not in chunkSummary, but this run's `iomeshctl chunk unregister %d` has not returned: waiting for it", id, id)}
			}
			if !o.Full {
				return Decision{Phase: NeedRead}
			}
			switch {
			case o.Migrating == nil:
				return Decision{Phase: Wait, Note: fmt.Sprintf("chunk %d is not in chunkSummary, but whether IOMesh still moves data cannot be read; waiting", id)}
			case *o.Migrating:
				// Read, not unknown: waited for as long as it takes, as any migration.
				return Decision{Phase: AwaitUnregister, Note: fmt.Sprintf("chunk %d is not in chunkSummary, but IOMesh still moves data; waiting until it is done", id)}
			}
		case iomeshcluster.Listed:
			if o.Running {
				return Decision{Phase: AwaitUnregister}
			}
			if !o.Full {
				return Decision{Phase: NeedRead}
			}
			// Started by this run or, as the Lease records, an earlier one: waited for while
			// IOMesh moves its data; sent again only once IOMesh shows none moving and no run
			// saw it finish.
			if sent || (countOf(o.Counts, s.Component) > s.To && o.Recorded == id && o.RecordedPod == s.Pod) {
				who := "an earlier run"
				if sent {
					who = "this run"
				}
				switch {
				case o.Migrating == nil:
					return Decision{Phase: Wait, Note: fmt.Sprintf("%s started unregistering chunk %d, and whether IOMesh still moves its data cannot be read; waiting", who, id)}
				case *o.Migrating:
					return Decision{Phase: AwaitUnregister, Note: fmt.Sprintf("%s started unregistering chunk %d: waiting while IOMesh moves its data", who, id)}
				case o.Finished && sent:
					// An earlier run's completion with the chunk still listed is sent again.
					return Decision{Phase: Wait, Note: fmt.Sprintf("iomeshctl reported chunk %d unregistered, but chunkSummary still lists it and no data moves: waiting for the status to catch up (check with `iomeshctl chunk list` on the meta leader)", id)}
				}
			}
		}
	}
	if s.lowers() && s.Component == "chunk" && o.Chunk == iomeshcluster.Unknown {
		// Whichever procedure: no chunk list, no knowing what the write removes.
		return Decision{Phase: Wait, Note: fmt.Sprintf("IOMesh's chunk list cannot be read now: %s; waiting before anything removes %s", o.Why, s.Pod)}
	}
	if !o.Full {
		return Decision{Phase: NeedRead}
	}
	if s.plan != nil && o.Version != expect {
		// A step rendered ahead (a scale-out) is written only over the version it was made from.
		return stop("%s, not the %d the plan was made from", o.Moved, expect)
	}
	if s.reached(o.Counts) {
		if unreg && (o.Chunk != iomeshcluster.Gone || !o.Finished) {
			return stop("the %s count is %d, lowered by someone else (%s) while chunk %d is not known to have left", s.Component, countOf(o.Counts, s.Component), o.Moved, id)
		}
		return Decision{Phase: Settle, Note: fmt.Sprintf("the %s count is already %d", s.Component, countOf(o.Counts, s.Component))}
	}
	if o.Version != expect {
		return stop("%s, not the %d this step started from", o.Moved, expect)
	}
	if m, c, ok := s.from(o.Counts); !ok {
		return stop("the %s count is %d, not the %d this step starts from (%s)", m.Component, c, m.From, o.Moved)
	}
	if s.lowers() {
		// The pods a write removes are every pod at or above the new count: known only when
		// every place the count lives agrees.
		if o.Live == nil {
			return Decision{Phase: Wait, Note: fmt.Sprintf("the live %s count (IOMeshCluster spec, StatefulSet, pods) cannot be read; waiting", s.Component)}
		}
		if agree, explained, text := o.Live.Agreement(); !agree {
			if !explained {
				return stop("%s, so lowering the values would remove pods this plan does not name", text)
			}
			if o.Live.Values != o.Live.Lowering.From {
				return Decision{Phase: Wait, Note: text + ": waiting for this tool's recorded lower to take effect"}
			}
			// This tool's own lower was applied but not recorded as deployed (its upgrade
			// failed after applying): written again, once the rest of the evidence holds.
		}
	}
	if unreg && (o.Chunk == iomeshcluster.Listed || !o.Finished) {
		note := ""
		switch {
		case o.Chunk == iomeshcluster.Gone:
			note = fmt.Sprintf("chunk %d is not in chunkSummary, but no run saw its unregister finish: sending it to have iomeshctl's answer", id)
		case o.Recorded == id:
			note = fmt.Sprintf("chunk %d is still registered and IOMesh shows no migration: the earlier unregister was never sent or was lost; sending it again", id)
		}
		return Decision{Phase: Unregister, Note: note}
	}
	if o.Running {
		return Decision{Phase: AwaitUnregister}
	}
	if o.Holding != 0 {
		return stop("IOMesh lists chunk %d, which no pod but %s can be shown to hold, and lowering the count would remove it", o.Holding, s.Pod)
	}
	return Decision{Phase: Apply}
}

func stop(format string, a ...interface{}) Decision {
	return Decision{Phase: Stop, Err: fmt.Errorf("%w: %s", ErrMoved, fmt.Sprintf(format, a...))}
}
