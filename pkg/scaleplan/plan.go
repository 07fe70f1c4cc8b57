package scaleplan

import (
	"sort"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/render"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CountChange is one component's count before and after.
type CountChange struct {
	From int `json:"from"`
	To   int `json:"to"`
	// Nodes are the nodes new pods can land on; LeftOut the nodes the readiness checks left out
	// of them, each with why ("kwok-node-6: iSCSI not prepared (nodes.iscsi-prepared)").
	Nodes   []string `json:"nodes,omitempty"`
	LeftOut []string `json:"leftOut,omitempty"`
}

// ValueChange is one changed value.
type ValueChange struct {
	Path string `json:"path"`
	Old  string `json:"old,omitempty"`
	New  string `json:"new"`
}

// Plan is what a scale will do.
type Plan struct {
	metav1.TypeMeta `json:",inline"`
	Context         string        `json:"context,omitempty"`
	Namespace       string        `json:"namespace"`
	Release         string        `json:"release"`
	Chart           string        `json:"chart"`
	ChartVersion    string        `json:"chartVersion"`
	ChartSource     string        `json:"chartSource,omitempty"`
	FromRevision    int           `json:"fromRevision"`
	ToRevision      int           `json:"toRevision"`
	Chunk           CountChange   `json:"chunk"`
	Meta            CountChange   `json:"meta"`
	ValueChanges    []ValueChange `json:"valueChanges"`
	NewValues       values.Map    `json:"newValues"`
	Guard           *Guard        `json:"renderGuard,omitempty"`
	// Disks is what the new chunk pods can mount, at most (nil: not known).
	Disks *DiskRoom `json:"newChunkDisks,omitempty"`
	// AtTarget reports a release already at the target: nothing to upgrade, only to wait for.
	AtTarget bool `json:"atTarget"`
	// Direct is set for an IOMeshCluster no Helm release manages: it is patched instead.
	Direct *DirectChange `json:"direct,omitempty"`
	// AdmissionChecked says the API server accepted the new counts on the IOMeshCluster in a
	// dry run (schema and admission webhooks).
	AdmissionChecked bool `json:"admissionChecked,omitempty"`
	// SkippedGuard is the guard's refusal the user accepted with --skip-check.
	SkippedGuard *Guard `json:"-"`
	// Layout is where the chart keeps the counts in its values.
	Layout values.Layout `json:"-"`
}

// DirectChange is the patch of a directly managed IOMeshCluster.
type DirectChange struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// ResourceVersion is the version read: the patch applies only to it.
	ResourceVersion string        `json:"resourceVersion"`
	Fields          []ValueChange `json:"fields,omitempty"`
	// ServerDryRun says the API server accepted the patch in a dry run.
	ServerDryRun bool `json:"serverDryRun,omitempty"`
}

// DiskRoom is the disks and raw capacity on the nodes new chunk pods can land on: an upper
// bound, since the scheduler picks the nodes.
type DiskRoom struct {
	Nodes    int   `json:"nodes"`
	Disks    int   `json:"disks"`
	RawBytes int64 `json:"rawBytes"`
}

// ValueDiff lists every value that differs between two user-supplied value trees.
func ValueDiff(before, after values.Map) []ValueChange {
	fo, fn := render.Flatten(before), render.Flatten(after)
	var out []ValueChange
	for p, nv := range fn {
		if ov, ok := fo[p]; !ok || ov != nv {
			out = append(out, ValueChange{Path: p, Old: fo[p], New: nv})
		}
	}
	for p, ov := range fo {
		if _, ok := fn[p]; !ok {
			out = append(out, ValueChange{Path: p, Old: ov, New: "(removed)"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
