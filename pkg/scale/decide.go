package scale

import (
	"errors"
	"fmt"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
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

// Observation is one read of what a step depends on.
type Observation struct {
	// Full says Count, Version, Moved and Migrating were read, not only IOMesh's chunk list.
	Full bool
	// Counts are the counts in the release values (or the IOMeshCluster's spec), and Version
	// the release's revision (or the IOMeshCluster's metadata.generation).
	Counts  values.Replicas
	Version int64
	// Moved says who last changed the release or the IOMeshCluster, for messages.
	Moved string
	// Chunk is whether IOMesh lists the step's chunk, and Why what made it Unknown.
	Chunk iomeshcluster.Presence
	Why   string
	// Holding is a chunk other than the step's that IOMesh lists on the step's pod (0: none).
	Holding int64
	// Recorded is the chunk the Lease records as being unregistered, and RecordedPod its pod.
	Recorded    int64
	RecordedPod string
	// Migrating says `iomeshctl summary cluster` shows data moving; nil when not read.
	Migrating *bool
}

// Decision is the next phase of a step, with what to say (Note) or why it stops (Err).
type Decision struct {
	Phase Phase
	Note  string
	Err   error
}

// ErrMoved is a cluster that something else changed during the scale-in.
var ErrMoved = errors.New("the cluster changed under the scale-in")

// Decide is the next phase of step s, for every plan: a scale-out's one step goes from the
// re-check straight to Apply. expect is the release revision (or IOMeshCluster
// generation) the step starts from, and sent says this run sent the step's unregister. A count
// is lowered only on positive evidence: an unregister was sent (by this run, or recorded on the
// Lease by an earlier one), the chunk has left a readable chunkSummary that still lists the
// chunks expected to remain, IOMesh moves no data, the count is still the step's From, the
// version is still expect, and no listed chunk is on the pod. A missing or odd status means
// wait.
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
			if !o.Full {
				return Decision{Phase: NeedRead}
			}
			switch {
			case !sent && o.Recorded != id:
				return Decision{Phase: Wait, Note: fmt.Sprintf("chunk %d is not in chunkSummary, but no unregister was sent for it (none by this run, none recorded on the Lease): a list that leaves it out is no proof; waiting", id)}
			case o.Migrating == nil:
				return Decision{Phase: Wait, Note: fmt.Sprintf("chunk %d has left chunkSummary, but whether IOMesh still moves data cannot be read; waiting", id)}
			case *o.Migrating:
				return Decision{Phase: Wait, Note: fmt.Sprintf("chunk %d has left chunkSummary, but IOMesh still moves data; waiting until it is done", id)}
			}
		case iomeshcluster.Listed:
			if sent {
				return Decision{Phase: AwaitUnregister}
			}
			if !o.Full {
				return Decision{Phase: NeedRead}
			}
			if countOf(o.Counts, s.Component) > s.To && o.Recorded == id && o.RecordedPod == s.Pod {
				switch {
				case o.Migrating == nil:
					return Decision{Phase: Wait, Note: fmt.Sprintf("an earlier run started unregistering chunk %d, and whether IOMesh still moves its data cannot be read; waiting", id)}
				case *o.Migrating:
					return Decision{Phase: AwaitUnregister, Note: fmt.Sprintf("an earlier run started unregistering chunk %d: waiting while IOMesh moves its data", id)}
				}
			}
		}
	}
	if s.lowers() && s.Chunk == nil && s.Component == "chunk" && o.Chunk == iomeshcluster.Unknown {
		return Decision{Phase: Wait, Note: fmt.Sprintf("IOMesh listed no chunk for %s, but its list cannot be read now: %s; waiting", s.Pod, o.Why)}
	}
	if !o.Full {
		return Decision{Phase: NeedRead}
	}
	if s.plan != nil && o.Version != expect {
		// A step rendered ahead (a scale-out) is written only over the version it was made from.
		return stop("%s, not the %d the plan was made from", o.Moved, expect)
	}
	if s.reached(o.Counts) {
		if unreg && o.Chunk != iomeshcluster.Gone {
			return stop("the %s count is %d, lowered by someone else (%s) while chunk %d is still registered", s.Component, countOf(o.Counts, s.Component), o.Moved, id)
		}
		return Decision{Phase: Settle, Note: fmt.Sprintf("the %s count is already %d", s.Component, countOf(o.Counts, s.Component))}
	}
	if o.Version != expect {
		return stop("%s, not the %d this step started from", o.Moved, expect)
	}
	if m, c, ok := s.from(o.Counts); !ok {
		return stop("the %s count is %d, not the %d this step starts from (%s)", m.Component, c, m.From, o.Moved)
	}
	if unreg && o.Chunk == iomeshcluster.Listed {
		note := ""
		if o.Recorded == id {
			note = fmt.Sprintf("chunk %d is still registered and IOMesh shows no migration: the earlier unregister was never sent or was lost; sending it again", id)
		}
		return Decision{Phase: Unregister, Note: note}
	}
	if o.Holding != 0 {
		return stop("IOMesh lists chunk %d on %s, which lowering the count would remove", o.Holding, s.Pod)
	}
	return Decision{Phase: Apply}
}

func stop(format string, a ...interface{}) Decision {
	return Decision{Phase: Stop, Err: fmt.Errorf("%w: %s", ErrMoved, fmt.Sprintf(format, a...))}
}
