package scaleplan

import "github.com/kubectl-iomesh/kubectl-iomesh/pkg/render"

// Guard is the re-render guard's finding.
type Guard struct {
	// Drift is how the current render differs from what is deployed: must be empty.
	Drift render.Diff `json:"drift"`
	// Kept are objects gone from the render that Helm keeps in the cluster (resource-policy keep).
	Kept []string `json:"kept,omitempty"`
	// Scale is every change the new values make; Unexplained are those that do not follow from
	// the replica counts.
	Scale       []render.Change `json:"scale"`
	Unexplained render.Diff     `json:"unexplained"`
	// Objects counts the objects in the new render.
	Objects int `json:"objects"`
	// Pinned are the fields the chart generates anew at every render that the upgrade keeps at
	// their deployed values; Fresh are random fields of objects new in the render (as rendered).
	Pinned []PinnedObject `json:"pinned,omitempty"`
	Fresh  []string       `json:"freshRandomFields,omitempty"`
	// Pins are the same fields for the post-renderer.
	Pins render.Fields `json:"-"`
}

// PinnedObject is one object's kept fields.
type PinnedObject struct {
	Object string   `json:"object"`
	Fields []string `json:"fields"`
}

// OK reports a scale that changes nothing but the replica counts.
func (g Guard) OK() bool { return g.Drift.Empty() && g.Unexplained.Empty() }
