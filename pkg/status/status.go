// Package status assembles `kubectl iomesh status`: one typed report built from plain inputs,
// rendered as a table or handed to the machine printers.
package status

import (
	"fmt"
	"io"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/edition"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/license"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/podrow"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/printer"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/release"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/table"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// APIVersion is the group/version of every document this tool prints.
const APIVersion = "kubectl-iomesh.dev/v1alpha1"

// Report is the status of one IOMesh release.
type Report struct {
	metav1.TypeMeta `json:",inline"`
	Context         string         `json:"context,omitempty"`
	Namespace       string         `json:"namespace"`
	Release         release.Info   `json:"release"`
	Edition         edition.Result `json:"edition"`
	License         LicenseView    `json:"license"`
	Chunk           ComponentView  `json:"chunk"`
	Meta            ComponentView  `json:"meta"`
	Warnings        []string       `json:"warnings,omitempty"`
}

// DeepCopyObject lets the cli-runtime printers handle a Report.
func (r *Report) DeepCopyObject() runtime.Object {
	out := new(Report)
	printer.DeepCopyJSON(r, out)
	return out
}

// LicenseView is the licence as status shows it.
type LicenseView struct {
	Found bool `json:"found"`
	// Missing says why no licence could be shown.
	Missing string `json:"missing,omitempty"`
	license.License
	DaysLeft *int `json:"daysLeft,omitempty"`
	Expired  bool `json:"expired"`
}

// ComponentView is one of chunk and meta.
type ComponentView struct {
	// Desired is the replica count in the release values.
	Desired *int `json:"desired,omitempty"`
	// StatefulSetReplicas is what the operator set on the StatefulSet.
	StatefulSetReplicas *int         `json:"statefulSetReplicas,omitempty"`
	StatefulSet         string       `json:"statefulSet,omitempty"`
	Ready               int          `json:"ready"`
	Pods                []podrow.Row `json:"pods"`
}

// Inputs are what the status is built from, read elsewhere.
type Inputs struct {
	Context   string
	Namespace string
	Release   release.Info
	Cluster   inventory.ClusterState
	Chunk     inventory.Set
	Meta      inventory.Set
	Now       time.Time
}

// Build assembles the report. It never fails: what cannot be read becomes a warning.
func Build(in Inputs) *Report {
	r := &Report{
		TypeMeta:  metav1.TypeMeta{APIVersion: APIVersion, Kind: "Status"},
		Context:   in.Context,
		Namespace: in.Namespace,
		Release:   in.Release,
	}
	if release.Pending(in.Release.Status) {
		r.Warnings = append(r.Warnings, fmt.Sprintf("release revision %d is %s: an operation did not finish; see `helm history %s -n %s`", in.Release.Revision, in.Release.Status, in.Release.Name, in.Namespace))
	} else if in.Release.Status == "failed" {
		r.Warnings = append(r.Warnings, fmt.Sprintf("release revision %d failed: %s", in.Release.Revision, in.Release.Description))
	}

	reps, err := values.ReadReplicas(in.Release.Effective)
	if err != nil {
		r.Warnings = append(r.Warnings, err.Error())
	}

	var obj map[string]interface{}
	if in.Cluster.Object != nil {
		obj = in.Cluster.Object.Object
	}
	lic, hasLic := license.FromStatus(obj)
	r.Edition = edition.Resolve(inventory.EditionInputs(values.Edition(in.Release.Effective), in.Cluster, in.Chunk, in.Meta))
	r.License = licenseView(in, lic, hasLic, &r.Warnings)

	r.Chunk = component(in.Chunk, in.Now)
	r.Meta = component(in.Meta, in.Now)
	if err == nil {
		r.Chunk.Desired, r.Meta.Desired = intPtr(reps.Chunk), intPtr(reps.Meta)
	}
	for _, c := range []struct {
		name string
		view ComponentView
		set  inventory.Set
	}{{"chunk", r.Chunk, in.Chunk}, {"meta", r.Meta, in.Meta}} {
		if c.set.StatefulSet == nil {
			r.Warnings = append(r.Warnings, fmt.Sprintf("StatefulSet %s-%s not found in namespace %s; pods matched by name", in.Release.Name, c.name, in.Namespace))
		}
		if c.view.Desired != nil && c.view.Ready < *c.view.Desired {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%d of %d %s pods are ready", c.view.Ready, *c.view.Desired, c.name))
		}
	}
	return r
}

func licenseView(in Inputs, lic license.License, found bool, warnings *[]string) LicenseView {
	v := LicenseView{Found: found, License: lic}
	switch {
	case in.Cluster.Err != nil:
		v.Missing = in.Cluster.Err.Error()
		*warnings = append(*warnings, v.Missing)
		return v
	case in.Cluster.Missing != "":
		v.Missing = in.Cluster.Missing
		*warnings = append(*warnings, v.Missing)
		return v
	case !found:
		v.Missing = "the IOMeshCluster has no status.license yet (the operator publishes it once the cluster is up)"
		return v
	}
	if err := lic.MaxChunkNumError(); err != nil {
		*warnings = append(*warnings, err.Error())
	}
	days, has, err := lic.DaysLeft(in.Now)
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
	v := ComponentView{Pods: []podrow.Row{}}
	if s.StatefulSet != nil {
		v.StatefulSet = s.StatefulSet.Name
		if s.StatefulSet.Spec.Replicas != nil {
			v.StatefulSetReplicas = intPtr(int(*s.StatefulSet.Spec.Replicas))
		}
	}
	for i := range s.Pods {
		row := podrow.Of(&s.Pods[i], now)
		if row.IsReady() {
			v.Ready++
		}
		v.Pods = append(v.Pods, row)
	}
	return v
}

func intPtr(i int) *int { return &i }

// PodHeaders are kubectl's pod columns; wide adds kubectl's -o wide columns.
func PodHeaders(wide bool) []string {
	h := []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"}
	if wide {
		h = append(h, "IP", "NODE", "NOMINATED NODE", "READINESS GATES")
	}
	return h
}

// PodCells is one row's cells under PodHeaders.
func PodCells(r podrow.Row, wide bool) []string {
	c := []string{r.Name, r.Ready, r.Status, r.Restarts, r.Age}
	if wide {
		c = append(c, r.IP, r.Node, r.NominatedNode, r.ReadinessGates)
	}
	return c
}

// WritePods prints rows exactly as `kubectl get pod` does.
func WritePods(w io.Writer, rows []podrow.Row, wide bool) error {
	cells := make([][]string, 0, len(rows))
	for _, r := range rows {
		cells = append(cells, PodCells(r, wide))
	}
	return table.Render(w, PodHeaders(wide), cells)
}

// WriteTable prints the human form of the report.
func WriteTable(w io.Writer, r *Report, wide bool) error {
	rel := r.Release
	lines := [][2]string{}
	if r.Context != "" {
		lines = append(lines, [2]string{"Context", r.Context})
	}
	lines = append(lines,
		[2]string{"Namespace", r.Namespace},
		[2]string{"Release", fmt.Sprintf("%s, revision %d, %s", rel.Name, rel.Revision, rel.Status)},
		[2]string{"Chart", strings.TrimSpace(fmt.Sprintf("%s-%s (app %s)", rel.Chart, rel.ChartVersion, orDash(rel.AppVersion)))},
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
	rows := append(append([]podrow.Row{}, r.Chunk.Pods...), r.Meta.Pods...)
	if len(rows) == 0 {
		_, err := fmt.Fprintf(w, "No chunk or meta pods found in namespace %s.\n", r.Namespace)
		return err
	}
	return WritePods(w, rows, wide)
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
