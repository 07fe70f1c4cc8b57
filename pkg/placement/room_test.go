package placement

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

func podOn(node string, phase corev1.PodPhase, cpu string) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}}}},
		Status: corev1.PodStatus{Phase: phase},
	}
}

func nodeWith(pods, cpu string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{}}}
	if pods != "" {
		n.Status.Allocatable[corev1.ResourcePods] = resource.MustParse(pods)
	}
	if cpu != "" {
		n.Status.Allocatable[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	return n
}

func TestUsageCountsOnlyPodsThatHoldResources(t *testing.T) {
	u := UsageByNode([]corev1.Pod{
		podOn("n", corev1.PodRunning, "1"), podOn("n", corev1.PodPending, "500m"),
		podOn("n", corev1.PodSucceeded, "4"), podOn("n", corev1.PodFailed, "4"), podOn("", corev1.PodPending, "4"),
	})["n"]
	cpu := u.Requests[corev1.ResourceCPU]
	if u.Pods != 2 || cpu.String() != "1500m" {
		t.Fatalf("usage %d pods, %s cpu", u.Pods, cpu.String())
	}
}

func TestRoom(t *testing.T) {
	want := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("3")}
	used := UsageByNode([]corev1.Pod{podOn("n", corev1.PodRunning, "1")})["n"]
	for _, tc := range []struct {
		name      string
		node      *corev1.Node
		want, why string
	}{
		{"room", nodeWith("110", "8"), "", ""},
		{"pod limit", nodeWith("1", "8"), "", "at its pod limit (1 of 1 pods)"},
		{"cpu exactly fits", nodeWith("110", "4"), "", ""},
		{"cpu short", nodeWith("110", "3500m"), "", "not enough cpu: the pod requests 3, 2500m of 3500m is left"},
		{"no allocatable stated", nodeWith("", ""), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Room(tc.node, used, want); got != tc.why {
				t.Errorf("%s: %q, want %q", tc.name, got, tc.why)
			}
		})
	}
	over := UsageByNode([]corev1.Pod{podOn("n", corev1.PodRunning, "6")})["n"]
	if got := Room(nodeWith("110", "4"), over, want); !strings.Contains(got, "0 of 4 is left") {
		t.Errorf("overcommitted node: %q", got)
	}
	if got := Room(nodeWith("110", "8"), Usage{}, nil); got != "" {
		t.Errorf("a pod that requests nothing fits: %q", got)
	}
}

func TestRequests(t *testing.T) {
	vals := values.Map{"iomesh": map[string]interface{}{"chunk": map[string]interface{}{"resources": map[string]interface{}{"requests": map[string]interface{}{"cpu": "3", "memory": "5000Mi"}}}}}
	r, err := RequestsFromValues(vals, values.Nested, "chunk")
	if err != nil || r.Cpu().String() != "3" || r.Memory().String() != "5000Mi" {
		t.Fatalf("%v %v", r, err)
	}
	if r, err := RequestsFromValues(vals, values.Nested, "meta"); r != nil || err != nil {
		t.Fatalf("meta has none: %v %v", r, err)
	}
	bad := values.Map{"iomesh": map[string]interface{}{"meta": map[string]interface{}{"resources": map[string]interface{}{"requests": map[string]interface{}{"cpu": "lots"}}}}}
	if _, err := RequestsFromValues(bad, values.Nested, "meta"); err == nil {
		t.Fatal("a bad quantity was accepted")
	}
	existing := []corev1.Pod{podOn("n", corev1.PodRunning, "2")}
	if got := PodRequestsOf(nil, existing); got.Cpu().String() != "2" {
		t.Fatalf("from existing pods: %v", got)
	}
	if got := PodRequestsOf(r, existing); got.Cpu().String() != "3" {
		t.Fatalf("values win: %v", got)
	}
	if PodRequestsOf(nil, nil) != nil {
		t.Fatal("nothing known")
	}
}

func TestEvaluateWithRoom(t *testing.T) {
	nodes := []corev1.Node{*nodeWith("1", "8"), *nodeWith("110", "8")}
	nodes[0].Name, nodes[1].Name = "full", "free"
	for i := range nodes {
		nodes[i].Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	}
	usage := UsageByNode([]corev1.Pod{podOn("full", corev1.PodRunning, "1")})
	s := Evaluate("chunk", nodes, nil, Policy{}, RoomCheck{Usage: usage})
	if s.Free != 1 || s.Nodes[1].Eligible || !strings.Contains(strings.Join(s.Nodes[1].Reasons, ","), "pod limit") {
		t.Fatalf("%+v", s)
	}
}

// One pod below the node's pod limit still fits.
func TestRoomAtOneBelowThePodLimit(t *testing.T) {
	used := UsageByNode([]corev1.Pod{podOn("n", corev1.PodRunning, "1"), podOn("n", corev1.PodRunning, "1")})["n"]
	if got := Room(nodeWith("3", "8"), used, nil); got != "" {
		t.Fatalf("2 of 3 pods: %q", got)
	}
	if got := Room(nodeWith("2", "8"), used, nil); got != "at its pod limit (2 of 2 pods)" {
		t.Fatalf("2 of 2 pods: %q", got)
	}
}

// The requests of existing pods come from the first pod that has any.
func TestPodRequestsOfSkipsPodsWithoutRequests(t *testing.T) {
	bare := corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}}
	got := PodRequestsOf(nil, []corev1.Pod{bare, podOn("n", corev1.PodRunning, "2")})
	if cpu := got[corev1.ResourceCPU]; cpu.String() != "2" {
		t.Fatalf("requests %v", got)
	}
	if got := PodRequestsOf(nil, []corev1.Pod{bare}); got != nil {
		t.Fatalf("a pod without requests gave %v", got)
	}
}

// Only a pod that requests some resource needs the other pods' requests to be judged.
func TestRequestsSomething(t *testing.T) {
	for want, requests := range map[bool]corev1.ResourceList{
		false: nil,
		true:  {corev1.ResourceCPU: resource.MustParse("0"), corev1.ResourceMemory: resource.MustParse("1Mi")},
	} {
		if Requests(requests) != want {
			t.Errorf("Requests(%v) = %v", requests, !want)
		}
	}
	if Requests(corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("0")}) {
		t.Error("a zero request counts as a request")
	}
}

// Counts alone judge the pod limit exactly as the pods would, for a pod that requests nothing.
func TestUsageFromCounts(t *testing.T) {
	u := UsageFromCounts(map[string]int{"full": 110, "room": 3})
	full, room := &corev1.Node{}, &corev1.Node{}
	for _, n := range []*corev1.Node{full, room} {
		n.Status.Allocatable = corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110"), corev1.ResourceCPU: resource.MustParse("1")}
	}
	if why := Room(full, u["full"], nil); !strings.Contains(why, "at its pod limit (110 of 110 pods)") {
		t.Fatalf("full node: %q", why)
	}
	if why := Room(room, u["room"], nil); why != "" || u["room"].Pods != 3 || len(u) != 2 {
		t.Fatalf("node with room: %q, usage %+v", why, u)
	}
}
