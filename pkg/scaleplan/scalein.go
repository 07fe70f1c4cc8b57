package scaleplan

import (
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
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
}

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
