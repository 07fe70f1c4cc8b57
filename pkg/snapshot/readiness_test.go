package snapshot

import (
	"context"
	"fmt"
	"strings"
	"testing"

	release "helm.sh/helm/v4/pkg/release/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// dataCIDR comes from the values; a release without prepare-csi says whether a value turned it
// off or the chart has none; a manifest without either DaemonSet lists nothing.
func TestReadReadiness(t *testing.T) {
	kube := fake.NewSimpleClientset()
	r := inventory.Reader{Kube: kube, Namespace: "iomesh-system", Release: "iomesh"}
	rel := ReleaseFacts{Latest: &release.Release{Manifest: "kind: Deployment\nmetadata: {name: operator}\n"},
		BaseInfo: helmops.Info{Effective: values.Map{
			"iomesh":     values.Map{"chunk": values.Map{"dataCIDR": "10.234.1.0/24"}},
			"csi-driver": values.Map{"prepareCSI": values.Map{"enabled": false}}}},
		Replicas: values.Replicas{Layout: values.Nested}}
	got := ReadReadiness(context.Background(), r, rel)
	if !got.Read || got.DataCIDR != "10.234.1.0/24" || got.DataCIDRPath != "iomesh.chunk.dataCIDR" {
		t.Fatalf("got %+v", got)
	}
	if !strings.Contains(got.NoPrepareCSI, "csi-driver.prepareCSI.enabled=false") || got.NodePlugin != "" || got.NoNodePlugin == "" {
		t.Fatalf("why no prepare-csi: %+v", got)
	}
	if len(kube.Actions()) != 0 {
		t.Fatalf("listed pods for no DaemonSet: %v", kube.Actions())
	}
	rel.BaseInfo.Effective = values.Map{}
	if got := ReadReadiness(context.Background(), r, rel); !strings.Contains(got.NoPrepareCSI, "charts before v1.0.1") || got.DataCIDR != "" {
		t.Fatalf("got %+v", got)
	}
	if got := ReadReadiness(context.Background(), r, ReleaseFacts{}); !strings.Contains(got.NoPrepareCSI, "no Helm release") {
		t.Fatalf("no release: %+v", got)
	}
}

type oneExec struct{ ran []string }

func (x *oneExec) Exec(_ context.Context, _, pod, container string, cmd []string) (string, string, error) {
	x.ran = append(x.ran, pod+"/"+container)
	return "Local:\n  |-- 10.234.1.9\n     /32 host LOCAL\n", "", nil
}

// One exec per eligible node whose own addresses are outside dataCIDR, into its CSI node plugin.
func TestReadHostAddresses(t *testing.T) {
	in := &preflight.Input{Namespace: "iomesh-system", Release: "iomesh", Replicas: values.Replicas{Layout: values.Nested, Chunk: 1, Meta: 1},
		Readiness: preflight.Readiness{Read: true, NodePlugin: "plugin", PrepareCSI: "prepare-csi", DataCIDR: "10.234.1.0/24"}}
	for i, addr := range []string{"10.234.1.1", "172.16.0.2", "172.16.0.3"} {
		n := tf.Node(fmt.Sprintf("node-%d", i))
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: addr}}
		in.Nodes = append(in.Nodes, *n)
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("plugin-%d", i), OwnerReferences: []metav1.OwnerReference{{Kind: "DaemonSet", Name: "plugin"}}},
			Spec: corev1.PodSpec{NodeName: n.Name}}
		in.Readiness.Pods = append(in.Readiness.Pods, p)
	}
	// node-2 runs the chunk pod: not a candidate.
	in.ChunkPods = []corev1.Pod{*tf.Pod("chunk", 0, 1, "node-2", 0, tf.Running)}
	x := &oneExec{}
	ReadHostAddresses(context.Background(), inventory.Reader{Namespace: "iomesh-system", Exec: x}, in)
	if strings.Join(x.ran, ",") != "plugin-1/csi-driver" || len(in.Readiness.Host) != 1 || in.Readiness.Host["node-1"].Addresses[0] != "10.234.1.9" {
		t.Fatalf("ran %v, host %+v", x.ran, in.Readiness.Host)
	}
	r := preflight.Run(in, nil, "v1")
	for _, c := range r.Results {
		if c.ID == "nodes.storage-network" && c.Verdict != preflight.Pass {
			t.Fatalf("%+v", c)
		}
	}
}
