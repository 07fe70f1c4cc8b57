// `kubectl iomesh status`: one typed report built from plain inputs, rendered as a table or handed
// to the machine printers.

package view

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/edition"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/gitops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/snapshot"
)

// Status is the status of one IOMesh release.
type Status struct {
	metav1.TypeMeta `json:",inline"`
	Context         string `json:"context,omitempty"`
	Namespace       string `json:"namespace"`
	// ManagedBy is "helm" (a release) or "direct" (an IOMeshCluster applied without Helm).
	ManagedBy string `json:"managedBy"`
	// GitOps is the GitOps controller that owns the cluster, if any.
	GitOps  *gitops.Owner  `json:"gitOps,omitempty"`
	Release helmops.Info   `json:"release"`
	Edition edition.Result `json:"edition"`
	License LicenseView    `json:"license"`
	Chunk   ComponentView  `json:"chunk"`
	Meta    ComponentView  `json:"meta"`
	// IOMesh is what IOMesh itself reports on the IOMeshCluster (nil: no IOMeshCluster).
	IOMesh *IOMeshView `json:"iomesh,omitempty"`
	// Disks are the disks mounted on each chunk pod's node (-o wide).
	Disks    []NodeDisks `json:"disks,omitempty"`
	Warnings []string    `json:"warnings,omitempty"`
}

// How a cluster is managed.
const (
	ManagedByHelm   = "helm"
	ManagedByDirect = "direct"
)

// NodeDisks are the disks one chunk node has mounted, and where that was read.
type NodeDisks struct {
	Node   string   `json:"node"`
	Source string   `json:"source"`
	Disks  []string `json:"disks"`
}

// IOMeshView is IOMesh's own view: chunks registered with meta, the meta leader, capacity and
// tasks, as the IOMeshCluster's status reports them.
type IOMeshView struct {
	iomeshcluster.View `json:",inline"`
	// Healthy counts the CONNECTED_HEALTHY chunks; Desired is the chunk count asked for.
	Healthy int  `json:"healthyChunks"`
	Desired *int `json:"desiredChunks,omitempty"`
	// LeaderPods are the meta pods labelled iomesh.com/meta-leader.
	LeaderPods []string `json:"leaderPods,omitempty"`
}

// LicenseView is the licence as status shows it.
type LicenseView struct {
	Found bool `json:"found"`
	// Missing says why no licence could be shown.
	Missing string `json:"missing,omitempty"`
	edition.License
	DaysLeft *int `json:"daysLeft,omitempty"`
	Expired  bool `json:"expired"`
}

// ComponentView is one of chunk and meta.
type ComponentView struct {
	// Desired is the replica count in the release values.
	Desired *int `json:"desired,omitempty"`
	// StatefulSetReplicas is what the operator set on the StatefulSet.
	StatefulSetReplicas *int            `json:"statefulSetReplicas,omitempty"`
	StatefulSet         string          `json:"statefulSet,omitempty"`
	Ready               int             `json:"ready"`
	Pods                []output.PodRow `json:"pods"`
}

// BuildStatus assembles the report from a snapshot. It never fails: what cannot be read becomes a
// warning.
func BuildStatus(snap *snapshot.Snapshot, context string) *Status {
	r := &Status{
		TypeMeta:  metav1.TypeMeta{APIVersion: output.APIVersion, Kind: "Status"},
		Context:   context,
		Namespace: snap.Namespace,
		Release:   snap.Info,
		Edition:   snap.Edition,
		ManagedBy: ManagedByHelm,
	}
	if snap.Direct {
		r.ManagedBy = ManagedByDirect
	}
	r.GitOps = snap.GitOps
	info := snap.Info
	if helmops.Pending(info.Status) {
		r.Warnings = append(r.Warnings, fmt.Sprintf("release revision %d is %s: an operation did not finish; see `helm history %s -n %s`", info.Revision, info.Status, info.Name, snap.Namespace))
	} else if helmops.Failed(info.Status) {
		r.Warnings = append(r.Warnings, fmt.Sprintf("release revision %d failed: %s", info.Revision, info.Description))
	}
	if snap.ReplicasErr != nil {
		r.Warnings = append(r.Warnings, snap.ReplicasErr.Error())
	}
	r.License = licenseView(snap, &r.Warnings)

	r.Chunk = component(snap.Chunk, snap.Now)
	r.Meta = component(snap.Meta, snap.Now)
	if snap.ReplicasErr == nil {
		r.Chunk.Desired, r.Meta.Desired = intPtr(snap.Replicas.Chunk), intPtr(snap.Replicas.Meta)
	}
	for _, c := range snap.Counts() {
		if agree, _, text := c.Agreement(); !agree {
			r.Warnings = append(r.Warnings, text+": a scale-in is refused until they agree (see `kubectl iomesh preflight`)")
		}
	}
	r.Disks = mountedDisks(snap)
	if snap.Cluster.Object != nil {
		r.IOMesh = &IOMeshView{View: snap.Storage, Healthy: snap.Storage.Healthy(), Desired: r.Chunk.Desired, LeaderPods: iomeshcluster.LeaderPods(snap.Meta.Pods)}
	}
	for _, c := range []struct {
		view ComponentView
		set  inventory.Set
	}{{r.Chunk, snap.Chunk}, {r.Meta, snap.Meta}} {
		if c.set.StatefulSet == nil {
			r.Warnings = append(r.Warnings, fmt.Sprintf("StatefulSet %s-%s not found in namespace %s; pods matched by name", info.Name, c.set.Component, snap.Namespace))
		}
		if c.view.Desired != nil && c.view.Ready < *c.view.Desired {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%d of %d %s pods are ready", c.view.Ready, *c.view.Desired, c.set.Component))
		}
	}
	return r
}

func licenseView(snap *snapshot.Snapshot, warnings *[]string) LicenseView {
	if snap.License == nil {
		v := LicenseView{Missing: snap.LicenseMissing}
		if snap.Cluster.Err != nil || snap.Cluster.Absent != nil {
			*warnings = append(*warnings, v.Missing)
		}
		return v
	}
	lic := *snap.License
	v := LicenseView{Found: true, License: lic}
	if err := lic.MaxChunkNumError(); err != nil {
		*warnings = append(*warnings, err.Error())
	}
	days, has, err := lic.DaysLeft(snap.Now)
	if err != nil {
		*warnings = append(*warnings, err.Error())
	} else if has {
		v.DaysLeft = intPtr(days)
		v.Expired = days < 0
		if v.Expired {
			*warnings = append(*warnings, fmt.Sprintf("the licence expired on %s", lic.ExpirationDate))
		}
	}
	return v
}

func component(s inventory.Set, now time.Time) ComponentView {
	v := ComponentView{Pods: []output.PodRow{}}
	if s.StatefulSet != nil {
		v.StatefulSet = s.StatefulSet.Name
		if s.StatefulSet.Spec.Replicas != nil {
			v.StatefulSetReplicas = intPtr(int(*s.StatefulSet.Spec.Replicas))
		}
	}
	for i := range s.Pods {
		if output.PodReady(&s.Pods[i]) {
			v.Ready++
		}
		v.Pods = append(v.Pods, output.PodRowOf(&s.Pods[i], now))
	}
	return v
}

func intPtr(i int) *int { return &i }

// WriteStatus prints the human form of the report.
func WriteStatus(w io.Writer, r *Status, wide bool) error {
	rel := r.Release
	lines := [][2]string{}
	if r.Context != "" {
		lines = append(lines, [2]string{"Context", r.Context})
	}
	lines = append(lines,
		[2]string{"Namespace", r.Namespace},
	)
	if g := r.GitOps; g != nil {
		lines = append(lines, [2]string{"Managed by", managedByLine(g)})
	}
	if r.ManagedBy == ManagedByDirect {
		lines = append(lines, [2]string{"Release", fmt.Sprintf("none: IOMeshCluster %s is managed directly, no Helm release", rel.Name)})
	} else {
		lines = append(lines,
			[2]string{"Release", fmt.Sprintf("%s, revision %d, %s, %s apply", rel.Name, rel.Revision, rel.Status, rel.ApplyMethod)},
			[2]string{"Chart", strings.TrimSpace(fmt.Sprintf("%s-%s (app %s)", rel.Chart, rel.ChartVersion, orDash(rel.AppVersion)))})
	}
	lines = append(lines,
		[2]string{"Edition", fmt.Sprintf("%s (from %s)", r.Edition.Edition.Title(), r.Edition.Source.Describe())},
		[2]string{"License", licenseLine(r.License)},
		[2]string{"Chunk", countLine(r.Chunk)},
		[2]string{"Meta", countLine(r.Meta)},
	)
	for _, l := range lines {
		if _, err := fmt.Fprintf(w, "%-10s %s\n", l[0]+":", l[1]); err != nil {
			return err
		}
	}
	for _, warn := range r.Warnings {
		if _, err := fmt.Fprintf(w, "Warning:   %s\n", warn); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	rows := append(append([]output.PodRow{}, r.Chunk.Pods...), r.Meta.Pods...)
	if len(rows) == 0 {
		if _, err := fmt.Fprintf(w, "No chunk or meta pods found in namespace %s.\n", r.Namespace); err != nil {
			return err
		}
	} else {
		var extra []output.PodColumn
		if wide && r.IOMesh != nil && r.IOMesh.Summary {
			extra = append(extra, chunkColumn(r))
		}
		if wide && len(r.Disks) > 0 {
			extra = append(extra, diskColumn(r))
		}
		if err := output.WritePods(w, rows, wide, extra...); err != nil {
			return err
		}
	}
	if r.IOMesh == nil {
		return nil
	}
	return writeIOMesh(w, r.IOMesh)
}

// mountedDisks are the disks of each chunk pod's node: IOMesh's status.attachedDevices where
// reported, else the Claimed BlockDevices the deviceMap selects.
func mountedDisks(snap *snapshot.Snapshot) []NodeDisks {
	var out []NodeDisks
	for _, p := range snap.Chunk.Pods {
		node := p.Spec.NodeName
		if node == "" {
			continue
		}
		nd := NodeDisks{Node: node, Disks: []string{}}
		switch {
		case len(snap.Storage.Devices) > 0:
			nd.Source = "status.attachedDevices"
			for _, d := range snap.Storage.Devices {
				if d.Node == node {
					nd.Disks = append(nd.Disks, fmt.Sprintf("%s (%s)", d.Device, d.MountType))
				}
			}
		case snap.DisksRead:
			nd.Source = "claimed BlockDevices matching the deviceMap"
			m, err := placement.MountedDisks(snap.DeviceMap, snap.Devices, node)
			if err != nil {
				continue
			}
			for _, t := range sortedKeys(m.ByType) {
				for _, d := range m.ByType[t] {
					nd.Disks = append(nd.Disks, fmt.Sprintf("%s %s (%s)", d.Name, placement.HumanBytes(d.Bytes), t))
				}
			}
		default:
			continue
		}
		out = append(out, nd)
	}
	return out
}

func sortedKeys(m map[string][]placement.BlockDevice) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// diskColumn lists each chunk pod's node's disks (-o wide).
func diskColumn(r *Status) output.PodColumn {
	byNode := map[string]string{}
	for _, d := range r.Disks {
		byNode[d.Node] = orWord(strings.Join(d.Disks, ", "), "none")
	}
	chunkPod := map[string]bool{}
	for _, p := range r.Chunk.Pods {
		chunkPod[p.Name] = true
	}
	return output.PodColumn{Header: "DISKS", Cell: func(row output.PodRow) string {
		if s, ok := byNode[row.Node]; ok && chunkPod[row.Name] {
			return s
		}
		return "<none>"
	}}
}

// chunkColumn is each chunk pod's registration as IOMesh reports it (-o wide).
func chunkColumn(r *Status) output.PodColumn {
	byNode := map[string]string{}
	for _, c := range r.IOMesh.Chunks {
		if c.MatchedNode != "" {
			byNode[c.MatchedNode] = orWord(c.Status, "<unknown>")
		}
	}
	chunkPod := map[string]bool{}
	for _, p := range r.Chunk.Pods {
		chunkPod[p.Name] = true
	}
	return output.PodColumn{Header: "CHUNK STATUS", Cell: func(row output.PodRow) string {
		if !chunkPod[row.Name] {
			return "<none>"
		}
		if s, ok := byNode[row.Node]; ok {
			return s
		}
		return "not registered"
	}}
}

// writeIOMesh prints IOMesh's own view under the pod table.
func writeIOMesh(out io.Writer, v *IOMeshView) error {
	// The first failed write is the result; the lines after it are not written.
	w := &errWriter{w: out}
	fmt.Fprintln(w)
	line := func(k, val string) { fmt.Fprintf(w, "%-10s %s\n", k+":", val) }
	if !v.Summary && !v.MetaReported && v.Capacity == nil && !v.TaskReported {
		line("IOMesh", "chunk, meta and capacity summary "+iomeshcluster.NotReported)
		return w.err
	}
	if v.Summary {
		want := "?"
		if v.Desired != nil {
			want = fmt.Sprint(*v.Desired)
		}
		line("IOMesh", fmt.Sprintf("%d/%s chunks registered and healthy (%d registered)", v.Healthy, want, len(v.Chunks)))
	} else {
		line("IOMesh", "chunkSummary "+iomeshcluster.NotReported)
	}
	switch {
	case !v.MetaReported:
		line("Leader", "metaSummary "+iomeshcluster.NotReported+leaderPods(v.LeaderPods))
	case v.MetaLeader == "":
		line("Leader", "none reported"+leaderPods(v.LeaderPods))
	default:
		s := v.MetaLeader + leaderPods(v.LeaderPods) + fmt.Sprintf(", %d meta hosts alive", len(v.MetaAlive))
		if v.MetaStatus != "" {
			s += ", " + v.MetaStatus
		}
		line("Leader", s)
	}
	if c := v.Capacity; c != nil {
		line("Capacity", fmt.Sprintf("%s of %s used; cache %s of %s used", orWord(c.UsedData, "?"), orWord(c.TotalData, "?"), orWord(c.UsedCache, "?"), orWord(c.TotalCache, "?")))
	} else {
		line("Capacity", iomeshcluster.NotReported)
	}
	switch {
	case !v.TaskReported:
		line("Tasks", iomeshcluster.NotReported)
	case v.TaskInProcess == "":
		line("Tasks", "none in process")
	default:
		line("Tasks", v.TaskInProcess)
	}
	if len(v.Chunks) == 0 || w.err != nil {
		return w.err
	}
	fmt.Fprintln(w)
	cells := make([][]string, 0, len(v.Chunks))
	for _, c := range v.Chunks {
		used, total := "<none>", "<none>"
		if c.Space != nil {
			used, total = orWord(c.Space.UsedData, "<none>"), orWord(c.Space.TotalData, "<none>")
		}
		cells = append(cells, []string{fmt.Sprint(c.ID), orWord(c.MatchedNode, "<unknown>"), orWord(c.IP, "<none>"), orWord(c.Status, "<unknown>"), used, total})
	}
	if w.err != nil {
		return w.err
	}
	return output.Render(out, []string{"CHUNK", "NODE", "IP", "STATUS", "USED", "TOTAL"}, cells)
}

// errWriter keeps the first write error and writes nothing after it.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func leaderPods(pods []string) string {
	switch len(pods) {
	case 0:
		return " (no pod labelled " + iomeshcluster.LeaderLabel + ")"
	case 1:
		return " (pod " + pods[0] + ")"
	}
	return " (pods " + strings.Join(pods, ", ") + " all labelled leader)"
}

func orWord(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func licenseLine(l LicenseView) string {
	if !l.Found {
		return "unknown: " + l.Missing
	}
	var parts []string
	if l.LicenseType != "" {
		parts = append(parts, l.LicenseType)
	}
	if l.SoftwareEdition != "" {
		parts = append(parts, l.SoftwareEdition)
	}
	if l.MaxChunkNum != nil {
		parts = append(parts, fmt.Sprintf("up to %d chunk pods", *l.MaxChunkNum))
	}
	switch {
	case l.DaysLeft == nil && l.ExpirationDate == "":
		parts = append(parts, "never expires")
	case l.DaysLeft == nil:
		parts = append(parts, "expires "+l.ExpirationDate)
	case l.Expired:
		parts = append(parts, fmt.Sprintf("EXPIRED on %s", l.ExpirationDate))
	default:
		parts = append(parts, fmt.Sprintf("expires %s (%d days left)", l.ExpirationDate, *l.DaysLeft))
	}
	return strings.Join(parts, ", ")
}

func countLine(c ComponentView) string {
	desired := "?"
	if c.Desired != nil {
		desired = fmt.Sprint(*c.Desired)
	}
	s := fmt.Sprintf("%d/%s ready", c.Ready, desired)
	if c.StatefulSetReplicas != nil && (c.Desired == nil || *c.StatefulSetReplicas != *c.Desired) {
		s += fmt.Sprintf(" (StatefulSet %s has %d replicas)", c.StatefulSet, *c.StatefulSetReplicas)
	}
	return s
}

// managedByLine names the GitOps owner and whether it is paused.
func managedByLine(g *gitops.Owner) string {
	switch {
	case g.Read && g.Suspended:
		return g.String() + " (suspended)"
	case g.Read && g.Kind == gitops.ArgoApplication && !g.SelfHeal:
		return g.String() + " (no self-heal)"
	}
	return g.String() + ": make changes in Git"
}
