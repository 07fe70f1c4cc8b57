package inventory

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/render"
)

// PrepareCSIName is the DaemonSet that installs open-iscsi on the nodes not yet labelled
// IscsiInstalledLabel (official charts from v1.0.1 on); PrepareCSIApp is its pods' label.
const (
	PrepareCSIName      = "prepare-csi"
	PrepareCSIApp       = "app.kubernetes.io/name"
	IscsiInstalledLabel = "iomesh.com/iscsi-installed"
	// NodePluginSuffix ends the name of the CSI driver's node plugin DaemonSet
	// (iomesh-csi-driver-node-plugin in the official charts).
	NodePluginSuffix = "-node-plugin"
	// daemonSetPodLabel is put by the DaemonSet controller on every pod it creates, and only there.
	daemonSetPodLabel = "pod-template-generation"
)

// NodeDaemonSets are the DaemonSets of a release manifest that say whether a node is ready
// for IOMesh: prepare-csi and the CSI node plugin ("" when the manifest has none).
type NodeDaemonSets struct {
	PrepareCSI string
	NodePlugin string
}

// ReleaseDaemonSets finds prepare-csi and the CSI node plugin in a release manifest.
func ReleaseDaemonSets(manifest string) NodeDaemonSets {
	var out NodeDaemonSets
	for _, doc := range render.SplitDocs(manifest) {
		if !strings.Contains(doc, "DaemonSet") {
			continue
		}
		var d struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name   string            `json:"name"`
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
		}
		if yaml.Unmarshal([]byte(doc), &d) != nil || d.Kind != "DaemonSet" {
			continue
		}
		name := d.Metadata.Name
		switch {
		case name == PrepareCSIName || d.Metadata.Labels[PrepareCSIApp] == PrepareCSIName:
			out.PrepareCSI = name
		case strings.HasSuffix(name, NodePluginSuffix) && strings.Contains(name, "csi") && out.NodePlugin == "":
			out.NodePlugin = name
		}
	}
	return out
}

// DaemonSetOf is the DaemonSet that owns a pod, or "".
func DaemonSetOf(p *corev1.Pod) string {
	for _, o := range p.OwnerReferences {
		if o.Kind == "DaemonSet" {
			return o.Name
		}
	}
	return ""
}

// DaemonSetPods lists, in one request from the API server's cache, the namespace's pods that
// DaemonSets made, and keeps those of the named DaemonSets.
func (r Reader) DaemonSetPods(ctx context.Context, names ...string) ([]corev1.Pod, error) {
	keep := map[string]bool{}
	for _, n := range names {
		if n != "" {
			keep[n] = true
		}
	}
	if len(keep) == 0 {
		return nil, nil
	}
	list, err := r.Kube.CoreV1().Pods(r.Namespace).List(ctx, metav1.ListOptions{LabelSelector: daemonSetPodLabel, ResourceVersion: "0"})
	if err != nil {
		return nil, Explain(err, "list", "DaemonSet pods in namespace "+r.Namespace+" (prepare-csi, the CSI node plugin)")
	}
	var out []corev1.Pod
	for i := range list.Items {
		if keep[DaemonSetOf(&list.Items[i])] {
			out = append(out, list.Items[i])
		}
	}
	return out, nil
}

// PodNode is the node a DaemonSet pod is for: where it is bound, or, before it is scheduled,
// the node its affinity names (the DaemonSet controller pins each pod by metadata.name).
func PodNode(p *corev1.Pod) string {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName
	}
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range t.MatchFields {
			if f.Key == "metadata.name" && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
				return f.Values[0]
			}
		}
	}
	return ""
}

// NodePluginContainer is the CSI node plugin's driver container: privileged, with bash; the
// registrar before it is distroless.
const NodePluginContainer = "csi-driver"

// HostAddresses reads a node's IPv4 addresses inside a hostNetwork pod's container: `cat
// /proc/net/fib_trie`, or, where the image has no cat, bash's `$(< /proc/net/fib_trie)`. A
// refused exec is not tried again.
func (r Reader) HostAddresses(ctx context.Context, pod, container string) ([]string, error) {
	if r.Exec == nil {
		return nil, ErrNoExec
	}
	stdout, _, err := r.Exec.Exec(ctx, r.Namespace, pod, container, []string{"cat", iomeshcluster.FibTrie})
	if err != nil && !apierrors.IsForbidden(err) {
		var err2 error
		if stdout, _, err2 = r.Exec.Exec(ctx, r.Namespace, pod, container, []string{"bash", "-c", `echo "$(< ` + iomeshcluster.FibTrie + `)"`}); err2 == nil {
			err = nil
		}
	}
	if err != nil {
		return nil, err
	}
	return iomeshcluster.LocalAddresses(stdout), nil
}
