package scale

import (
	"errors"
	"fmt"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
)

// Phase is what a step does next, from what the cluster shows.
type Phase string

const (
	// NeedRead: the decision needs the release (or spec), the Lease and the migration read.
	NeedRead Phase = "read"
	// Unregister sends `iomeshctl chunk unregister`; AwaitUnregister waits while IOMesh moves
	// the chunk's data; Wait waits because the status does not say whether the chunk left.
	Unregister      Phase = "unregister"
	AwaitUnregister Phase = "await-unregister"
	Wait            Phase = "wait"
	// Lower lowers the count by one; AwaitRemoval waits for a lowered count to take effect.
	Lower        Phase = "lower"
	AwaitRemoval Phase = "await-removal"
	// Stop: something else moved the cluster; nothing further is changed.
	Stop Phase = "stop"
)

// Observation is one read of what a step depends on.
type Observation struct {
	// Full says Count, Version, Moved and Migrating were read, not only IOMesh's chunk list.
	Full bool
	// Count is the component's count in the release values (or the IOMeshCluster's spec), and
	// Version the release's revision (or the IOMeshCluster's metadata.generation).
	Count   int
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

// Decide is the next phase of step s. expect is the release revision (or IOMeshCluster
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
			if o.Count > s.To && o.Recorded == id && o.RecordedPod == s.Pod {
				switch {
				case o.Migrating == nil:
					return Decision{Phase: Wait, Note: fmt.Sprintf("an earlier run started unregistering chunk %d, and whether IOMesh still moves its data cannot be read; waiting", id)}
				case *o.Migrating:
					return Decision{Phase: AwaitUnregister, Note: fmt.Sprintf("an earlier run started unregistering chunk %d: waiting while IOMesh moves its data", id)}
				}
			}
		}
	}
	if s.Chunk == nil && s.Component == "chunk" && o.Chunk == iomeshcluster.Unknown {
		return Decision{Phase: Wait, Note: fmt.Sprintf("IOMesh listed no chunk for %s, but its list cannot be read now: %s; waiting", s.Pod, o.Why)}
	}
	if !o.Full {
		return Decision{Phase: NeedRead}
	}
	if o.Count <= s.To {
		if unreg && o.Chunk != iomeshcluster.Gone {
			return stop("the %s count is %d, lowered by someone else (%s) while chunk %d is still registered", s.Component, o.Count, o.Moved, id)
		}
		return Decision{Phase: AwaitRemoval, Note: fmt.Sprintf("the %s count is already %d", s.Component, o.Count)}
	}
	if o.Version != expect {
		return stop("%s, not the %d this step started from", o.Moved, expect)
	}
	if o.Count != s.From {
		return stop("the %s count is %d, not the %d this step starts from (%s)", s.Component, o.Count, s.From, o.Moved)
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
	return Decision{Phase: Lower}
}

func stop(format string, a ...interface{}) Decision {
	return Decision{Phase: Stop, Err: fmt.Errorf("%w: %s", ErrMoved, fmt.Sprintf(format, a...))}
}
