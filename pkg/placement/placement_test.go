package placement

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

func TestPolicyFromValues(t *testing.T) {
	vals := values.Map{"iomesh": values.Map{"chunk": values.Map{"podPolicy": values.Map{
		"nodeSelector": values.Map{"pool": "storage"},
		"tolerations":  []interface{}{values.Map{"key": "k", "operator": "Exists"}},
	}}}}
	p, err := PolicyFromValues(vals, values.Nested, "chunk")
	if err != nil || p.NodeSelector["pool"] != "storage" || len(p.Tolerations) != 1 {
		t.Fatalf("%+v %v", p, err)
	}
	if _, err := PolicyFromValues(values.Map{"iomesh": values.Map{"chunk": values.Map{"podPolicy": values.Map{"tolerations": "nope"}}}}, values.Nested, "chunk"); err == nil {
		t.Fatal("a malformed podPolicy was accepted")
	}
	if p, err := PolicyFromValues(values.Map{}, values.Legacy, "meta"); err != nil || p.NodeSelector != nil {
		t.Fatalf("missing policy: %+v %v", p, err)
	}
}

func TestEvaluateCountsHostsAndFree(t *testing.T) {
	nodes := []corev1.Node{*tf.Node("a"), *tf.Node("b"), *tf.Node("c")}
	pods := []corev1.Pod{*tf.Pod("chunk", 0, 3, "a", time.Hour, tf.Running)}
	s := Evaluate("chunk", nodes, pods, Policy{}, RoomCheck{})
	if s.Hosting != 1 || s.Free != 2 || s.Capacity() != 3 || s.Nodes[0].Hosts != "iomesh-chunk-0" || s.Nodes[0].Eligible {
		t.Fatalf("%+v", s)
	}
}

func benchCluster(nodes, pods int) ([]corev1.Node, []corev1.Pod) {
	ns := make([]corev1.Node, nodes)
	for i := range ns {
		ns[i] = *tf.Node(fmt.Sprintf("node-%d", i))
		if i%7 == 0 {
			ns[i].Spec.Taints = []corev1.Taint{{Key: "dedicated", Effect: corev1.TaintEffectNoSchedule}}
		}
	}
	ps := make([]corev1.Pod, pods)
	for i := range ps {
		ps[i] = *tf.Pod("chunk", i, 3, fmt.Sprintf("node-%d", i%nodes), time.Hour, tf.Running)
	}
	return ns, ps
}

// BenchmarkEvaluate255x5000 is node eligibility over 255 nodes with 5,000 pods.
func BenchmarkEvaluate255x5000(b *testing.B) {
	nodes, pods := benchCluster(255, 5000)
	policy := Policy{NodeSelector: map[string]string{"kubernetes.io/hostname": "node-1"}}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate("chunk", nodes, pods, policy, RoomCheck{})
	}
}
