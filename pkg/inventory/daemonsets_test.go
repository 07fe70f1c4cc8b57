package inventory

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
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

// execs answers by the command's first word; it records every command.
type execs struct {
	answers map[string]string
	fail    map[string]error
	ran     []string
}

func (x *execs) Exec(_ context.Context, _, pod, container string, cmd []string) (string, string, error) {
	x.ran = append(x.ran, pod+"/"+container+": "+strings.Join(cmd, " "))
	if err := x.fail[cmd[0]]; err != nil {
		return "", "", err
	}
	return x.answers[cmd[0]], "", nil
}

const fibTrie = `Local:
  +-- 0.0.0.0/0 3 0 5
     |-- 10.234.1.7
        /32 host LOCAL
     |-- 127.0.0.1
        /32 host LOCAL
`

// cat first; bash's $(< file) where cat is missing; a refused exec is not tried twice.
func TestHostAddresses(t *testing.T) {
	x := &execs{answers: map[string]string{"cat": fibTrie, "bash": fibTrie}}
	r := Reader{Namespace: "iomesh-system", Exec: x}
	got, err := r.HostAddresses(context.Background(), "iomesh-csi-driver-node-plugin-abc", NodePluginContainer)
	if err != nil || strings.Join(got, ",") != "10.234.1.7" || len(x.ran) != 1 || !strings.HasSuffix(x.ran[0], "/csi-driver: cat /proc/net/fib_trie") {
		t.Fatalf("%v %v %v", got, err, x.ran)
	}
	x = &execs{answers: map[string]string{"bash": fibTrie}, fail: map[string]error{"cat": errors.New(`exec: "cat": executable file not found`)}}
	r.Exec = x
	if got, err := r.HostAddresses(context.Background(), "p", NodePluginContainer); err != nil || strings.Join(got, ",") != "10.234.1.7" || len(x.ran) != 2 || !strings.Contains(x.ran[1], `bash -c echo "$(< /proc/net/fib_trie)"`) {
		t.Fatalf("%v %v %v", got, err, x.ran)
	}
	x = &execs{fail: map[string]error{"cat": apierrors.NewForbidden(schema.GroupResource{Resource: "pods/exec"}, "p", errors.New("no"))}}
	r.Exec = x
	if _, err := r.HostAddresses(context.Background(), "p", NodePluginContainer); !apierrors.IsForbidden(err) || len(x.ran) != 1 {
		t.Fatalf("%v %v", err, x.ran)
	}
	if _, err := (Reader{}).HostAddresses(context.Background(), "p", "c"); err != ErrNoExec {
		t.Fatal(err)
	}
}
