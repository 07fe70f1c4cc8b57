package view

import (
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/edition"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/gitops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/snapshot"
)

// ClusterList is every IOMesh cluster in the Kubernetes cluster (`status -A`).
type ClusterList struct {
	metav1.TypeMeta `json:",inline"`
	Items           []ClusterRow `json:"items"`
	// Missing says why there is no IOMeshCluster at all.
	Missing string `json:"missing,omitempty"`
}

// ClusterRow is one IOMesh cluster at a glance.
type ClusterRow struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	ManagedBy string `json:"managedBy"`
	// GitOps is the GitOps controller that owns the cluster, if any.
	GitOps *gitops.Owner `json:"gitOps,omitempty"`
	// Chart is the managing release's chart and version ("iomesh-v1.0.1").
	Chart        string               `json:"chart,omitempty"`
	ReleaseError string               `json:"releaseError,omitempty"`
	Edition      edition.Result       `json:"edition"`
	ChunkReady   int                  `json:"chunkReady"`
	ChunkSpec    *int                 `json:"chunkSpec,omitempty"`
	MetaReady    int                  `json:"metaReady"`
	MetaSpec     *int                 `json:"metaSpec,omitempty"`
	Capacity     *iomeshcluster.Space `json:"capacity,omitempty"`
}

// BuildList assembles the list from what snapshot.ReadAll found.
func BuildList(entries []snapshot.Entry, missing string) *ClusterList {
	l := &ClusterList{TypeMeta: metav1.TypeMeta{APIVersion: output.APIVersion, Kind: "IOMeshClusterList"}, Items: []ClusterRow{}, Missing: missing}
	for i := range entries {
		e := &entries[i]
		row := ClusterRow{Namespace: e.Cluster.Namespace, Name: e.Cluster.Name, ManagedBy: ManagedByDirect}
		if snapshot.ManagedByHelm(e.Cluster) {
			row.ManagedBy = ManagedByHelm
			switch {
			case e.Release != nil:
				row.Chart = e.Release.Chart + "-" + e.Release.ChartVersion
			case e.ReleaseErr != nil:
				row.ReleaseError = e.ReleaseErr.Error()
			}
		}
		row.Edition = e.Edition
		row.GitOps = e.GitOps
		row.ChunkReady, row.MetaReady = ready(e.Chunk), ready(e.Meta)
		row.ChunkSpec, row.MetaSpec = specReplicas(e.Cluster.Spec.Chunk.Replicas), specReplicas(e.Cluster.Spec.Meta.Replicas)
		row.Capacity = e.Storage.Capacity
		l.Items = append(l.Items, row)
	}
	return l
}

func ready(pods []corev1.Pod) int {
	n := 0
	for i := range pods {
		if output.PodReady(&pods[i]) {
			n++
		}
	}
	return n
}

func specReplicas(v *int64) *int {
	if v == nil {
		return nil
	}
	n := int(*v)
	return &n
}

// WriteList prints one line per IOMesh cluster.
func WriteList(w io.Writer, l *ClusterList) error {
	if len(l.Items) == 0 {
		msg := "No IOMeshCluster found in any namespace."
		if l.Missing != "" {
			msg = "No IOMesh cluster: " + l.Missing + "."
		}
		_, err := fmt.Fprintln(w, msg)
		return err
	}
	rows := make([][]string, 0, len(l.Items))
	for _, r := range l.Items {
		managed := "direct"
		if r.ManagedBy == ManagedByHelm {
			managed = "helm " + orWord(r.Chart, "(release unreadable)")
		}
		if r.GitOps != nil {
			managed += ", " + r.GitOps.String()
		}
		capacity := "<none>"
		if c := r.Capacity; c != nil {
			capacity = fmt.Sprintf("%s/%s", orWord(c.UsedData, "?"), orWord(c.TotalData, "?"))
		}
		rows = append(rows, []string{r.Namespace, r.Name, managed, r.Edition.Edition.Title(),
			fmt.Sprintf("%d/%s", r.ChunkReady, intOrQ(r.ChunkSpec)), fmt.Sprintf("%d/%s", r.MetaReady, intOrQ(r.MetaSpec)), capacity})
	}
	return output.Render(w, []string{"NAMESPACE", "NAME", "MANAGED BY", "EDITION", "CHUNK", "META", "CAPACITY"}, rows)
}

func intOrQ(p *int) string {
	if p == nil {
		return "?"
	}
	return fmt.Sprint(*p)
}
