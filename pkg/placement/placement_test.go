package placement

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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

func readyNode(name string, labels map[string]string, taints ...corev1.Taint) corev1.Node {
	return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
}

func TestTaintsAndAffinity(t *testing.T) {
	nodes := []corev1.Node{
		readyNode("a", map[string]string{"pool": "storage"}),
		readyNode("b", map[string]string{"pool": "storage"}, corev1.Taint{Key: "evict", Effect: corev1.TaintEffectNoExecute}),
		readyNode("c", map[string]string{"pool": "web"}),
		readyNode("d", map[string]string{"pool": "storage"}, corev1.Taint{Key: "soft", Effect: corev1.TaintEffectPreferNoSchedule}),
	}
	affinity := &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "pool", Operator: corev1.NodeSelectorOpIn, Values: []string{"storage"}}}}}}}}
	s := Evaluate("chunk", nodes, nil, Policy{Affinity: affinity}, RoomCheck{})
	want := map[string]bool{"a": true, "b": false, "c": false, "d": true}
	for _, n := range s.Nodes {
		if n.Eligible != want[n.Name] {
			t.Errorf("%s: eligible %v (%v)", n.Name, n.Eligible, n.Reasons)
		}
	}
	// Tolerating the NoExecute taint makes b eligible.
	s = Evaluate("chunk", nodes, nil, Policy{Affinity: affinity, Tolerations: []corev1.Toleration{{Key: "evict", Operator: corev1.TolerationOpExists}}}, RoomCheck{})
	if !s.Nodes[1].Eligible || s.Free != 3 {
		t.Fatalf("tolerated: %+v", s)
	}
}

// A taint is named as kubectl describes it: key=value:effect, or key:effect without a value.
func TestTaintReasons(t *testing.T) {
	nodes := []corev1.Node{
		readyNode("a", nil, corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}),
		readyNode("b", nil, corev1.Taint{Key: "maintenance", Effect: corev1.TaintEffectNoSchedule}),
	}
	s := Evaluate("chunk", nodes, nil, Policy{}, RoomCheck{})
	if r := strings.Join(s.Nodes[0].Reasons, ";"); !strings.Contains(r, "dedicated=db:NoSchedule") {
		t.Errorf("a: %q", r)
	}
	if r := strings.Join(s.Nodes[1].Reasons, ";"); !strings.Contains(r, "maintenance:NoSchedule") || strings.Contains(r, "maintenance=") {
		t.Errorf("b: %q", r)
	}
}
