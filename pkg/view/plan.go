package view

import (
	"fmt"
	"io"
	"strings"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/render"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/scaleplan"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// WritePlan prints a plan that adds pods (or changes no count) for people.
func WritePlan(w io.Writer, p *scaleplan.Plan) error {
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

func writeDirect(w io.Writer, p *scaleplan.Plan, d *scaleplan.DirectChange, row func(k, v string)) error {
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

func diskLine(d *scaleplan.DiskRoom) string {
	return fmt.Sprintf("up to %s, %s raw on the %s (an upper bound: the scheduler picks the nodes)", output.Plural(d.Disks, "disk"), placement.HumanBytes(d.RawBytes), output.Plural(d.Nodes, "eligible node"))
}

// leftOutRows names, one row each, the nodes left out of those new pods can land on.
func leftOutRows(c scaleplan.CountChange, row func(k, v string)) {
	for _, l := range c.LeftOut {
		row("Left out", l)
	}
}

func countText(c scaleplan.CountChange) string {
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
func WriteGuard(w io.Writer, g scaleplan.Guard) {
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

// WriteRemoval prints a scale-in plan for people.
func WriteRemoval(w io.Writer, rp *scaleplan.ScaleInPlan) error {
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
	row("Chunk", countText(scaleplan.CountChange{From: p.Chunk.From, To: p.Chunk.To}))
	row("Meta", countText(scaleplan.CountChange{From: p.Meta.From, To: p.Meta.To}))
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
			head += fmt.Sprintf(": chunk %d (ip %s, matched by %s)", c.ID, orWord(c.IP, "?"), orWord(s.MatchedBy, "?"))
			if c.Space != nil {
				head += fmt.Sprintf(", %s used, %s capacity leaving", orWord(c.Space.UsedData, "?"), orWord(c.Space.TotalData, "?"))
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
			path = countPath(p.Layout, s.Component)
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
