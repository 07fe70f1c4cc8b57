package inventory

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const daemonSetManifest = `---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: iomesh-openebs-ndm, namespace: iomesh-system}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: iomesh-csi-driver-node-plugin, namespace: iomesh-system}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: prepare-csi
  namespace: iomesh-system
  labels: {app.kubernetes.io/name: prepare-csi}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: prepare-csi-node-plugin, namespace: iomesh-system}
`

func TestReleaseDaemonSets(t *testing.T) {
	got := ReleaseDaemonSets(daemonSetManifest)
	if got.PrepareCSI != "prepare-csi" || got.NodePlugin != "iomesh-csi-driver-node-plugin" {
		t.Fatalf("got %+v", got)
	}
	if got := ReleaseDaemonSets("kind: Deployment\nmetadata: {name: operator}\n"); got != (NodeDaemonSets{}) {
		t.Fatalf("a manifest without DaemonSets: %+v", got)
	}
}

func dsPod(name, owner, node string, labels map[string]string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "iomesh-system", Labels: labels}, Spec: corev1.PodSpec{NodeName: node}}
	if owner != "" {
		p.OwnerReferences = []metav1.OwnerReference{{Kind: "DaemonSet", Name: owner}}
	}
	return p
}

// One list of the DaemonSet pods, by the DaemonSet controller's label, keeps the named
// DaemonSets' pods; nothing is listed when none is named.
func TestDaemonSetPods(t *testing.T) {
	gen := map[string]string{"pod-template-generation": "1"}
	kube := fake.NewSimpleClientset(
		dsPod("prepare-csi-abcde", "prepare-csi", "node-1", gen),
		dsPod("iomesh-csi-driver-node-plugin-xyz", "iomesh-csi-driver-node-plugin", "node-1", gen),
		dsPod("iomesh-openebs-ndm-q", "iomesh-openebs-ndm", "node-1", gen),
		dsPod("iomesh-chunk-0", "", "node-1", map[string]string{"statefulset.kubernetes.io/pod-name": "iomesh-chunk-0"}),
	)
	r := Reader{Kube: kube, Namespace: "iomesh-system", Release: "iomesh"}
	pods, err := r.DaemonSetPods(context.Background(), "prepare-csi", "iomesh-csi-driver-node-plugin")
	if err != nil || len(pods) != 2 {
		t.Fatalf("pods %d, %v", len(pods), err)
	}
	var lists []string
	for _, a := range kube.Actions() {
		if l, ok := a.(k8stesting.ListAction); ok {
			lists = append(lists, l.GetListRestrictions().Labels.String())
		}
	}
	if len(lists) != 1 || lists[0] != "pod-template-generation" {
		t.Fatalf("lists %v", lists)
	}
	if pods, err := r.DaemonSetPods(context.Background(), "", ""); pods != nil || err != nil || len(kube.Actions()) != 1 {
		t.Fatalf("listed with no DaemonSet named: %v %v", pods, err)
	}
}

// A DaemonSet pod not yet scheduled is for the node its affinity pins.
func TestPodNode(t *testing.T) {
	p := dsPod("prepare-csi-abcde", "prepare-csi", "", nil)
	if PodNode(p) != "" {
		t.Fatal("a pod without a node or affinity")
	}
	p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"node-7"}}}}}}}}
	if got := PodNode(p); got != "node-7" {
		t.Fatalf("got %q", got)
	}
	p.Spec.NodeName = "node-8"
	if got := PodNode(p); got != "node-8" {
		t.Fatalf("got %q", got)
	}
}
