package scale

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/render"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/snapshot"
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

	change values.Change
	snap   *snapshot.Snapshot
	src    *helmops.Source
	keep   render.PostRenderer
	// w writes the plan; steps are its writes, one at a time.
	w     writer
	steps []Step
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

// Subject names what is scaled, for messages.
func (p *Plan) Subject() string { return p.w.subject(p) }

// Stays says that the change is in place, for messages about a wait cut short.
func (p *Plan) Stays() string { return p.w.stays(p) }

// Done says that the change was made, for messages about a wait that ran out.
func (p *Plan) Done() string { return p.w.done(p) }

// raise is the plan as one step: both counts written at once, nothing unregistered.
func (p *Plan) raise() Step {
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

// Write prints the plan for people.
func Write(w io.Writer, p *Plan) error {
	fmt.Fprintln(w, "Plan:")
	row := func(k, v string) { fmt.Fprintf(w, "  %-10s %s\n", k+":", v) }
	if p.Context != "" {
		row("Context", p.Context)
	}
	row("Namespace", p.Namespace)
	if d := p.Direct; d != nil {
		return writeDirect(w, p, d, row)
	}
	if p.AtTarget {
		row("Release", fmt.Sprintf("%s, revision %d (already at the target: no upgrade)", p.Release, p.FromRevision))
	} else {
		row("Release", fmt.Sprintf("%s, revision %d -> %d", p.Release, p.FromRevision, p.ToRevision))
	}
	chart := fmt.Sprintf("%s-%s (unchanged)", p.Chart, p.ChartVersion)
	if p.ChartSource != "" {
		chart += " from " + p.ChartSource
	}
	row("Chart", chart)
	row("Chunk", countText(p.Chunk))
	leftOutRows(p.Chunk, row)
	row("Meta", countText(p.Meta))
	if d := p.Disks; d != nil {
		row("Disks", diskLine(d))
	}
	if len(p.ValueChanges) > 0 {
		for i, c := range p.ValueChanges {
			old := c.Old
			if old == "" {
				old = "(not set)"
			}
			k := ""
			if i == 0 {
				k = "Values"
			}
			if k != "" {
				row(k, fmt.Sprintf("%s: %s -> %s", c.Path, old, c.New))
			} else {
				fmt.Fprintf(w, "  %-10s %s: %s -> %s\n", "", c.Path, old, c.New)
			}
		}
		fmt.Fprintf(w, "  %-10s %s\n", "", "every other value is kept as deployed")
	}
	if g := p.Guard; g != nil {
		row("Render", fmt.Sprintf("%s; %s, all from the replica counts; nothing else differs from what is deployed", output.Plural(g.Objects, "object"), output.N(len(g.Scale), "field changes", "fields change")))
		for _, k := range g.Kept {
			fmt.Fprintf(w, "  %-10s %s left the chart's output but stays in the cluster (helm.sh/resource-policy: keep)\n", "", k)
		}
		for i, p := range g.Pinned {
			k := ""
			if i == 0 {
				k = "Kept:"
			}
			fmt.Fprintf(w, "  %-10s %s %s\n", k, p.Object, strings.Join(p.Fields, ", "))
		}
		if len(g.Pinned) > 0 {
			fmt.Fprintf(w, "  %-10s %s\n", "", "(generated anew at every render; the deployed values are kept)")
		}
		for i, f := range g.Fresh {
			k := ""
			if i == 0 {
				k = "Generated:"
			}
			fmt.Fprintf(w, "  %-10s %s (random, in an object new to the release: as rendered)\n", k, f)
		}
	}
	if p.AdmissionChecked {
		row("Server", "the API server and its admission webhooks accepted the new counts on the IOMeshCluster in a dry run")
	}
	return nil
}

func writeDirect(w io.Writer, p *Plan, d *DirectChange, row func(k, v string)) error {
	row("Managed", fmt.Sprintf("directly: %s %s has no Helm release", d.Kind, d.Name))
	row("Chunk", countText(p.Chunk))
	leftOutRows(p.Chunk, row)
	row("Meta", countText(p.Meta))
	if dr := p.Disks; dr != nil {
		row("Disks", diskLine(dr))
	}
	if p.AtTarget {
		row("Patch", "none: already at the target")
		return nil
	}
	for i, f := range d.Fields {
		k := ""
		if i == 0 {
			k = "Patch"
		}
		fmt.Fprintf(w, "  %-10s %s: %s -> %s\n", k+map[bool]string{true: ":", false: ""}[k != ""], f.Path, f.Old, f.New)
	}
	fmt.Fprintf(w, "  %-10s %s\n", "", fmt.Sprintf("only if the object is still at resourceVersion %s; every other field is left as it is", d.ResourceVersion))
	if d.ServerDryRun {
		fmt.Fprintf(w, "  %-10s %s\n", "Server:", "the API server accepted the patch in a dry run")
	}
	return nil
}

func diskLine(d *DiskRoom) string {
	return fmt.Sprintf("up to %s, %s raw on the %s (an upper bound: the scheduler picks the nodes)", output.Plural(d.Disks, "disk"), placement.HumanBytes(d.RawBytes), output.Plural(d.Nodes, "eligible node"))
}

// leftOutRows names, one row each, the nodes left out of those new pods can land on.
func leftOutRows(c CountChange, row func(k, v string)) {
	for _, l := range c.LeftOut {
		row("Left out", l)
	}
}

func countText(c CountChange) string {
	if c.From == c.To {
		return fmt.Sprintf("%d (unchanged)", c.To)
	}
	s := fmt.Sprintf("%d -> %d", c.From, c.To)
	if len(c.Nodes) > 0 {
		s += "; new pods can land on " + strings.Join(c.Nodes, ", ")
	}
	return s
}

// WriteGuard explains a guard that refuses, object by object.
func WriteGuard(w io.Writer, g Guard) {
	if !g.Drift.Empty() {
		fmt.Fprintln(w, "The chart, rendered now with the current values, differs from what is deployed:")
		writeDiff(w, g.Drift)
	}
	if !g.Unexplained.Empty() {
		fmt.Fprintln(w, "The new values change more than the replica counts:")
		writeDiff(w, g.Unexplained)
	}
}

func writeDiff(w io.Writer, d render.Diff) {
	for _, k := range d.Removed {
		fmt.Fprintf(w, "  - %s would be deleted\n", k)
	}
	for _, k := range d.Added {
		fmt.Fprintf(w, "  + %s would be created\n", k)
	}
	const shown = 40
	for i, c := range d.Changed {
		if i == shown {
			fmt.Fprintf(w, "  ... and %d more %s\n", len(d.Changed)-shown, output.Agree(len(d.Changed)-shown, "changed field", "changed fields"))
			break
		}
		fmt.Fprintf(w, "  ~ %s\n", c)
	}
}
