package output

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func running(name string, ready bool) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, Ready: ready, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
}

// ended is a container that has terminated with reason (may be empty), exit code and signal.
func ended(name, reason string, code, signal int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code, Signal: signal}}}
}

func basePod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "iomesh-chunk-0", CreationTimestamp: metav1.NewTime(now.Add(-90 * time.Minute))},
		Spec:       corev1.PodSpec{NodeName: "n0", Containers: []corev1.Container{{Name: "a"}, {Name: "b"}}},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: "10.0.0.1",
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: corev1.PodInitialized, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{running("a", true), running("b", true)},
		},
	}
}

func withSidecar(p *corev1.Pod, started, ready bool, restarts int32) *corev1.Pod {
	always := corev1.ContainerRestartPolicyAlways
	p.Spec.InitContainers = []corev1.Container{{Name: "init"}, {Name: "proxy", RestartPolicy: &always}}
	p.Status.InitContainerStatuses = []corev1.ContainerStatus{
		ended("init", "Completed", 0, 0),
		{Name: "proxy", Ready: ready, Started: &started, RestartCount: restarts, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: metav1.NewTime(now.Add(-5 * time.Minute))}}},
	}
	return p
}

func TestRows(t *testing.T) {
	for _, tc := range []struct {
		name                         string
		pod                          *corev1.Pod
		ready, status, restarts, age string
		wantReady                    bool
	}{
		{"running", basePod(), "2/2", "Running", "0", "90m", true},
		{"sidecar counts in READY and RESTARTS", withSidecar(basePod(), true, true, 2), "3/3", "Running", "2 (5m ago)", "90m", true},
		{"sidecar not ready", withSidecar(basePod(), true, false, 0), "2/3", "Running", "0", "90m", false},
		{"one container not ready", func() *corev1.Pod {
			p := basePod()
			p.Status.ContainerStatuses[1].Ready = false
			p.Status.Conditions[0].Status = corev1.ConditionFalse
			return p
		}(), "1/2", "Running", "0", "90m", false},
		{"crash loop", func() *corev1.Pod {
			p := basePod()
			p.Status.ContainerStatuses[0] = corev1.ContainerStatus{Name: "a", RestartCount: 4,
				State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: metav1.NewTime(now.Add(-76 * time.Minute))}}}
			return p
		}(), "1/2", "CrashLoopBackOff", "4 (76m ago)", "90m", false},
		{"init container failing", func() *corev1.Pod {
			p := basePod()
			p.Spec.InitContainers = []corev1.Container{{Name: "init"}}
			p.Status.Phase = corev1.PodPending
			p.Status.Conditions = nil
			p.Status.ContainerStatuses = nil
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{ended("init", "", 2, 0)}
			return p
		}(), "0/2", "Init:ExitCode:2", "0", "90m", false},
		{"terminating", func() *corev1.Pod {
			p := basePod()
			ts := metav1.NewTime(now)
			p.DeletionTimestamp = &ts
			return p
		}(), "2/2", "Terminating", "0", "90m", false},
		{"node lost", func() *corev1.Pod {
			p := basePod()
			ts := metav1.NewTime(now)
			p.DeletionTimestamp = &ts
			p.Status.Reason = "NodeLost"
			return p
		}(), "2/2", "Unknown", "0", "90m", false},
		{"node NotReady keeps containers ready", func() *corev1.Pod {
			p := basePod()
			p.Status.Conditions[0].Status = corev1.ConditionFalse
			return p
		}(), "2/2", "Running", "0", "90m", false},
		{"evicted", func() *corev1.Pod {
			p := basePod()
			p.Status.Phase = corev1.PodFailed
			p.Status.Reason = "Evicted"
			return p
		}(), "2/2", "Evicted", "0", "90m", false},
		{"scheduling gated", func() *corev1.Pod {
			p := basePod()
			p.Spec.NodeName = ""
			p.Status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated}}}
			return p
		}(), "0/2", "SchedulingGated", "0", "90m", false},
		{"unschedulable stays Pending", func() *corev1.Pod {
			p := basePod()
			p.Spec.NodeName = ""
			p.Status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable}}}
			return p
		}(), "0/2", "Pending", "0", "90m", false},
		{"succeeded while being deleted", func() *corev1.Pod {
			p := basePod()
			ts := metav1.NewTime(now)
			p.DeletionTimestamp = &ts
			p.Status.Phase = corev1.PodSucceeded
			p.Status.Conditions = nil
			for i := range p.Status.ContainerStatuses {
				p.Status.ContainerStatuses[i].Ready = false
				p.Status.ContainerStatuses[i].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}
			}
			return p
		}(), "0/2", "Completed", "0", "90m", false},
		{"failed while being deleted", func() *corev1.Pod {
			p := basePod()
			ts := metav1.NewTime(now)
			p.DeletionTimestamp = &ts
			p.Status.Phase = corev1.PodFailed
			p.Status.Conditions = nil
			p.Status.ContainerStatuses = []corev1.ContainerStatus{ended("a", "", 137, 9)}
			return p
		}(), "0/2", "Signal:9", "0", "90m", false},
		{"error beside completed", func() *corev1.Pod {
			p := basePod()
			p.Status.Phase = corev1.PodFailed
			p.Status.Conditions = nil
			p.Status.ContainerStatuses = []corev1.ContainerStatus{
				ended("a", "Completed", 0, 0),
				ended("b", "", 3, 0)}
			return p
		}(), "0/2", "ExitCode:3", "0", "90m", false},
		{"the first failure wins", func() *corev1.Pod {
			p := basePod()
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "c"})
			p.Status.Phase = corev1.PodFailed
			p.Status.Conditions = nil
			p.Status.ContainerStatuses = []corev1.ContainerStatus{
				ended("a", "Completed", 0, 0),
				ended("b", "Error", 1, 0),
				ended("c", "OOMKilled", 2, 0)}
			return p
		}(), "0/3", "Error", "0", "90m", false},
		{"completed, one running, not ready", func() *corev1.Pod {
			p := basePod()
			p.Status.Conditions[0].Status = corev1.ConditionFalse
			p.Status.ContainerStatuses[1] = ended("b", "Completed", 0, 0)
			return p
		}(), "1/2", "NotReady", "0", "90m", false},
		{"completed, one running and ready, another failed", func() *corev1.Pod {
			p := basePod()
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "c"})
			p.Status.ContainerStatuses = []corev1.ContainerStatus{
				ended("a", "Completed", 0, 0),
				ended("b", "Error", 1, 0),
				running("c", true)}
			return p
		}(), "1/3", "Running", "0", "90m", false},
		{"completed, one running but not ready, another failed", func() *corev1.Pod {
			p := basePod()
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "c"})
			p.Status.Conditions[0].Status = corev1.ConditionFalse
			p.Status.ContainerStatuses = []corev1.ContainerStatus{
				ended("a", "Completed", 0, 0),
				ended("b", "Error", 1, 0),
				running("c", true)}
			return p
		}(), "1/3", "Error", "0", "90m", false},
		{"completed with one still running", func() *corev1.Pod {
			p := basePod()
			p.Status.ContainerStatuses[1] = ended("b", "Completed", 0, 0)
			return p
		}(), "1/2", "Running", "0", "90m", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := PodRowOf(tc.pod, now)
			if r.Ready != tc.ready || r.Status != tc.status || r.Restarts != tc.restarts || r.Age != tc.age {
				t.Fatalf("row = %s %s %s %s, want %s %s %s %s", r.Ready, r.Status, r.Restarts, r.Age, tc.ready, tc.status, tc.restarts, tc.age)
			}
			if got := PodReady(tc.pod); got != tc.wantReady {
				t.Fatalf("Ready = %v, want %v", got, tc.wantReady)
			}
		})
	}
}

func TestWideColumns(t *testing.T) {
	p := basePod()
	p.Status.NominatedNodeName = "n9"
	p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "x/ok"}, {ConditionType: "x/other"}}
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: "x/ok", Status: corev1.ConditionTrue})
	got := PodCells(PodRowOf(p, now), true)
	want := []string{"iomesh-chunk-0", "2/2", "Running", "0", "90m", "10.0.0.1", "n0", "n9", "1/2"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("cells = %q, want %q", got, want)
		}
	}
	// IP is the first of the pod's IPs (dual-stack), as kubectl shows it.
	p.Status.PodIPs = []corev1.PodIP{{IP: "fd00::1"}, {IP: "10.0.0.1"}}
	if got := PodRowOf(p, now).IP; got != "fd00::1" {
		t.Fatalf("IP of a dual-stack pod %q, want the first of its IPs", got)
	}
	empty := PodRowOf(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}, now)
	if empty.IP != "<none>" || empty.Node != "<none>" || empty.Age != "<unknown>" || empty.ReadinessGates != "<none>" {
		t.Fatalf("empty pod row = %+v", empty)
	}
	if PodReady(nil) || PodReady(&corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning}}) {
		t.Fatal("a pod without containers is not Ready")
	}
}

func TestLiveRedrawsInPlace(t *testing.T) {
	var b strings.Builder
	l := Live{W: &b}
	r := PodRowOf(basePod(), now)
	if err := l.Draw([]LiveRow{{Name: r.Name, Row: &r}, {Name: "iomesh-chunk-1"}}); err != nil {
		t.Fatal(err)
	}
	first := b.String()
	if first[0] == '\x1b' {
		t.Fatal("the first draw moved the cursor")
	}
	long := make([]byte, 150)
	for i := range long {
		long[i] = 'x'
	}
	if err := l.Draw([]LiveRow{{Name: r.Name, Row: &r, Waiting: string(long)}, {Name: "iomesh-chunk-1"}}); err != nil {
		t.Fatal(err)
	}
	second := b.String()[len(first):]
	if second[:7] != "\x1b[3A\x1b[J" {
		t.Fatalf("the second draw does not go back over 3 lines: %q", second[:10])
	}
	if !strings.Contains(second, string(long[:97])+"...") || strings.Contains(second, string(long[:98])) {
		t.Fatal("a long note is not cut at 100 characters")
	}
	// A note of exactly 100 characters is kept whole.
	before := b.Len()
	if err := l.Draw([]LiveRow{{Name: r.Name, Row: &r, Waiting: string(long[:100])}}); err != nil {
		t.Fatal(err)
	}
	if third := b.String()[before:]; !strings.Contains(third, string(long[:100])) || strings.Contains(third, "...") {
		t.Fatalf("a note of 100 characters was cut:\n%s", third)
	}
	if !strings.Contains(first, "not created yet") || !strings.Contains(first, "ready") {
		t.Fatalf("first draw:\n%s", first)
	}
}
