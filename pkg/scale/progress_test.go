package scale

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
)

// syncBuffer is written by the waiter's goroutines while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitForText fails the test unless text appears in buf within 5 s.
func waitForText(t *testing.T, buf *syncBuffer, text string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the progress:\n%s", text, buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// node is a worker with a Ready condition first and a pressure condition after it, so a check
// that reads the wrong condition gets the opposite answer.
func node(name string, ready bool, reason, message string) *corev1.Node {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: status, Reason: reason, Message: message},
			{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory"},
		}},
	}
}

func lines(s, substr string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

func TestWaitReportsNodeTransitionsAndDeletedPods(t *testing.T) {
	creating := tf.Pod("chunk", 1, 3, "n1", time.Minute, tf.ContainerCreating)
	creating.Spec.NodeName = "n1"
	kube := fake.NewSimpleClientset(
		tf.Pod("chunk", 0, 3, "n0", time.Hour, tf.Running), creating,
		node("n0", true, "KubeletReady", ""), node("n1", true, "KubeletReady", ""), node("n2", true, "KubeletReady", ""),
	)
	// Hold the test until the node watch is open, so no update falls between its list and watch.
	nodesWatched := make(chan struct{})
	var once sync.Once
	kube.PrependWatchReactor("nodes", func(a k8stesting.Action) (bool, watch.Interface, error) {
		w, err := kube.Tracker().Watch(corev1.SchemeGroupVersion.WithResource("nodes"), "")
		once.Do(func() { close(nodesWatched) })
		return true, w, err
	})
	var progress syncBuffer
	w := &Waiter{Kube: kube, Namespace: tf.Namespace, Wants: []Want{{Prefix: "iomesh-chunk", Count: 2}}, Progress: &progress, Now: func() time.Time { return tf.Now }}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	type result struct {
		out Outcome
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := w.Wait(ctx)
		done <- result{out, err}
	}()
	select {
	case <-nodesWatched:
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter never watched the nodes")
	}
	waitForText(t, &progress, "iomesh-chunk-1  0/3 ContainerCreating")
	nodes := kube.CoreV1().Nodes()
	update := func(n *corev1.Node) {
		t.Helper()
		if _, err := nodes.Update(context.Background(), n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	update(node("n1", false, "KubeletNotReady", "container runtime is down"))
	waitForText(t, &progress, "node n1 is NotReady: KubeletNotReady container runtime is down (runs iomesh-chunk-1)\n")
	// Still NotReady: nothing new to say.
	still := node("n1", false, "KubeletNotReady", "container runtime is down")
	still.Labels = map[string]string{"touched": "yes"}
	update(still)
	update(node("n2", false, "NodeStatusUnknown", ""))
	waitForText(t, &progress, "node n2 is NotReady: NodeStatusUnknown\n")
	update(node("n1", true, "KubeletReady", ""))
	waitForText(t, &progress, "node n1 is Ready again (runs iomesh-chunk-1)\n")
	if err := nodes.Delete(context.Background(), "n0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	pods := kube.CoreV1().Pods(tf.Namespace)
	if err := pods.Delete(context.Background(), creating.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForText(t, &progress, "iomesh-chunk-1  deleted\n")
	if _, err := pods.Create(context.Background(), tf.Pod("chunk", 1, 3, "n1", time.Minute, tf.Running), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, progress.String())
	}
	got := progress.String()
	if lines(got, "node n1 is NotReady") != 1 || lines(got, "node n0") != 0 || lines(got, "node n2 is NotReady: NodeStatusUnknown (runs") != 0 {
		t.Fatalf("node lines (one per transition, none for a Ready node or a deleted one):\n%s", got)
	}
	if len(r.out.Pods) != 2 || len(r.out.Stuck) != 0 {
		t.Fatalf("outcome %+v", r.out)
	}
}

func TestWaitProgressLinesAndOutcomeOrder(t *testing.T) {
	notReady := tf.Pod("chunk", 0, 3, "n0", time.Hour, tf.Running)
	notReady.Status.Conditions[0].Status = corev1.ConditionFalse // containers ready, the pod not
	pulling := tf.Pod("chunk", 1, 3, "n1", time.Minute, tf.ContainerCreating)
	pulling.Spec.NodeName = "n1"
	pulling.Status.ContainerStatuses[0].State.Waiting.Message = "pulling image iomesh/zbs"
	unschedulable := tf.Pod("chunk", 2, 3, "", time.Minute, tf.Pending)
	unschedulable.Status.Conditions[0].Message = "0/5 nodes are available: 5 Insufficient cpu."
	// Created in reverse, so the initial list is reported in name order only if it is sorted.
	objs := []runtime.Object{
		tf.Pod("meta", 0, 1, "n4", time.Hour, tf.Running),
		tf.Pod("chunk", 5, 3, "", time.Minute, tf.Pending), tf.Pod("chunk", 4, 3, "", time.Minute, tf.Pending),
		tf.Pod("chunk", 3, 3, "", time.Minute, tf.Pending),
		unschedulable, pulling, notReady,
	}
	kube := fake.NewSimpleClientset(objs...)
	var progress syncBuffer
	w := &Waiter{Kube: kube, Namespace: tf.Namespace, Progress: &progress, Now: func() time.Time { return tf.Now },
		Wants: []Want{{Prefix: "iomesh-meta", Count: 1}, {Prefix: "iomesh-chunk", Count: 6}}}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	out, err := w.Wait(ctx)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	want := strings.Join([]string{
		"iomesh-chunk-0  3/3 Running (pod not Ready)",
		"iomesh-chunk-1  0/3 ContainerCreating (c0: pulling image iomesh/zbs)",
		"iomesh-chunk-2  0/3 Pending (FailedScheduling (Unschedulable): 0/5 nodes are available: 5 Insufficient cpu.)",
		"iomesh-chunk-3  0/3 Pending",
		"iomesh-chunk-4  0/3 Pending",
		"iomesh-chunk-5  0/3 Pending",
		// iomesh-meta-0 was Ready when the wait began: no news, the final table shows it.
	}, "\n") + "\n"
	if got := progress.String(); got != want {
		t.Fatalf("progress:\n%s\nwant:\n%s", got, want)
	}
	var names []string
	for _, p := range out.Pods {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, " "); got != "iomesh-meta-0 iomesh-chunk-0 iomesh-chunk-1 iomesh-chunk-2 iomesh-chunk-3 iomesh-chunk-4 iomesh-chunk-5" {
		t.Fatalf("outcome pods in the order of the wants, then ordinal: %s", got)
	}
	if len(out.Stuck) != 6 || !strings.HasPrefix(out.Stuck[0], "iomesh-chunk-0 Running (3/3 ready)") || !strings.Contains(out.Stuck[1], "pulling image") {
		t.Fatalf("stuck = %q", out.Stuck)
	}
}

func TestWaitLiveTableRows(t *testing.T) {
	unschedulable := tf.Pod("chunk", 0, 3, "", time.Minute, tf.Pending)
	unschedulable.Status.Conditions[0].Message = "0/5 nodes are available"
	creating := tf.Pod("chunk", 1, 3, "n1", time.Minute, tf.ContainerCreating)
	kube := fake.NewSimpleClientset(unschedulable, creating, tf.Pod("chunk", 2, 3, "n2", time.Minute, tf.Running))
	var progress syncBuffer
	w := &Waiter{Kube: kube, Namespace: tf.Namespace, Wants: []Want{{Prefix: "iomesh-chunk", Count: 2}}, Progress: &progress, Live: true, Now: func() time.Time { return tf.Now }}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := w.Wait(ctx); !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	got := progress.String()
	last := got[strings.LastIndex(got, "NAME"):]
	rows := strings.Split(strings.TrimSpace(last), "\n")
	if len(rows) != 3 || !strings.HasPrefix(rows[1], "iomesh-chunk-0") || !strings.Contains(rows[1], "FailedScheduling (Unschedulable): 0/5 nodes are available") ||
		!strings.HasPrefix(rows[2], "iomesh-chunk-1") || !strings.HasSuffix(rows[2], "waiting") {
		t.Fatalf("live table: a row per wanted pod, the scheduler's words or \"waiting\":\n%s", last)
	}
}

func TestWaitInterrupted(t *testing.T) {
	kube := fake.NewSimpleClientset(tf.Pod("chunk", 0, 3, "", time.Minute, tf.Pending))
	w := &Waiter{Kube: kube, Namespace: tf.Namespace, Wants: []Want{{Prefix: "iomesh-chunk", Count: 1}}, Now: func() time.Time { return tf.Now }}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	if _, err := w.Wait(ctx); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	s, _ := storageWaiter(withChunks("CHUNK_STATUS_INITIALIZING"), &bytes.Buffer{})
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	if _, err := s.Wait(ctx, []string{"n0"}); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("storage err = %v, want ErrInterrupted", err)
	}
}
