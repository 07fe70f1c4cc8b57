package scale

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
)

func TestWaitCompletesWhenPodsTurnReady(t *testing.T) {
	kube := fake.NewSimpleClientset(
		tf.Pod("chunk", 0, 3, "n0", time.Hour, tf.Running),
		tf.Pod("chunk", 1, 3, "", time.Minute, tf.Pending),
		tf.Node("n0"),
	)
	var progress bytes.Buffer
	w := &Waiter{Kube: kube, Namespace: tf.Namespace, Wants: []Want{{Prefix: "iomesh-chunk", Count: 2}}, Progress: &progress, Now: func() time.Time { return tf.Now }}
	go func() {
		time.Sleep(200 * time.Millisecond)
		ready := tf.Pod("chunk", 1, 3, "n1", time.Minute, tf.Running)
		if _, err := kube.CoreV1().Pods(tf.Namespace).Update(context.Background(), ready, metav1.UpdateOptions{}); err != nil {
			t.Error(err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := w.Wait(ctx)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if len(out.Pods) != 2 || len(out.Stuck) != 0 {
		t.Fatalf("outcome %+v", out)
	}
	if !strings.Contains(progress.String(), "iomesh-chunk-1  0/3 Pending") || !strings.Contains(progress.String(), "iomesh-chunk-1  3/3 Running") {
		t.Fatalf("progress:\n%s", progress.String())
	}
}

func TestWaitTimesOutNamingTheReason(t *testing.T) {
	pending := tf.Pod("chunk", 0, 3, "", time.Minute, tf.Pending)
	pending.Status.Conditions[0].Message = "0/3 nodes are available: 3 node(s) were unschedulable."
	kube := fake.NewSimpleClientset(pending)
	var progress bytes.Buffer
	w := &Waiter{Kube: kube, Namespace: tf.Namespace, Wants: []Want{{Prefix: "iomesh-chunk", Count: 2}}, Progress: &progress, Live: true, Now: func() time.Time { return tf.Now }}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	out, err := w.Wait(ctx)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	if len(out.Stuck) != 2 || !strings.Contains(out.Stuck[0], "FailedScheduling (Unschedulable): 0/3 nodes are available") || !strings.Contains(out.Stuck[1], "does not exist yet") {
		t.Fatalf("stuck = %q", out.Stuck)
	}
	// The live table was drawn: a header, one row per wanted pod, and the scheduler's words.
	if !strings.Contains(progress.String(), "WAITING FOR") || !strings.Contains(progress.String(), "not created yet") {
		t.Fatalf("live table:\n%s", progress.String())
	}
}

func TestExplainEscapesClusterText(t *testing.T) {
	p := tf.Pod("chunk", 0, 3, "", time.Minute, tf.Pending)
	p.Status.Conditions[0].Message = "0/3 nodes \x1b[2J\x1b[31mare available"
	why := Explain(p, tf.Now)
	if strings.Contains(why.Detail, "\x1b") || !strings.Contains(why.Detail, "^[[2J") {
		t.Fatalf("escape sequences reach the terminal: %q", why.Detail)
	}
}

// The pods already there when the wait starts are reported in name order, as kubectl lists them.
func TestWaitReportsTheInitialPodsInNameOrder(t *testing.T) {
	var objs []runtime.Object
	for i := 0; i < 8; i++ {
		objs = append(objs, tf.Pod("chunk", i, 3, "", time.Minute, tf.Pending))
	}
	var progress bytes.Buffer
	w := &Waiter{Kube: fake.NewSimpleClientset(objs...), Namespace: tf.Namespace, Wants: []Want{{Prefix: "iomesh-chunk", Count: 8}}, Progress: &progress, Now: func() time.Time { return tf.Now }}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := w.Wait(ctx); !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	last := -1
	for i := 0; i < 8; i++ {
		at := strings.Index(progress.String(), fmt.Sprintf("iomesh-chunk-%d ", i))
		if at < 0 || at < last {
			t.Fatalf("iomesh-chunk-%d out of order:\n%s", i, progress.String())
		}
		last = at
	}
}
