package scale

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
)

func withChunks(statuses ...string) *unstructured.Unstructured {
	cr := tf.IOMeshCluster("", nil)
	var chunks []interface{}
	for i, s := range statuses {
		chunks = append(chunks, map[string]interface{}{"id": int64(i + 1), "ip": tf.Pod("chunk", i, 3, "", 0, tf.Running).Status.PodIP, "status": s})
	}
	_ = unstructured.SetNestedSlice(cr.Object, chunks, "status", "summary", "chunkSummary", "chunks")
	return cr
}

func storageWaiter(cr *unstructured.Unstructured, progress *bytes.Buffer) (Storage, *dynamicfake.FakeDynamicClient) {
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{iomeshcluster.GVR: "IOMeshClusterList"}, cr)
	var pods []corev1.Pod
	for i := 0; i < 2; i++ {
		pods = append(pods, *tf.Pod("chunk", i, 3, []string{"n0", "n1"}[i], time.Hour, tf.Running))
	}
	return Storage{Dynamic: dyn, Namespace: tf.Namespace, Name: tf.Release, ChunkPods: pods, Progress: progress}, dyn
}

func TestStorageWaitsForRegistration(t *testing.T) {
	var progress bytes.Buffer
	s, dyn := storageWaiter(withChunks("CHUNK_STATUS_CONNECTED_HEALTHY", "CHUNK_STATUS_INITIALIZING"), &progress)
	go func() {
		time.Sleep(200 * time.Millisecond)
		if _, err := dyn.Resource(iomeshcluster.GVR).Namespace(tf.Namespace).Update(context.Background(), withChunks("CHUNK_STATUS_CONNECTED_HEALTHY", "CHUNK_STATUS_CONNECTED_HEALTHY"), metav1.UpdateOptions{}); err != nil {
			t.Error(err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := s.Wait(ctx, []string{"n0", "n1"})
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if out.View.Healthy() != 2 || len(out.Missing) != 0 {
		t.Fatalf("outcome %+v", out)
	}
	if !strings.Contains(progress.String(), "waiting for chunks on n1") || !strings.HasSuffix(progress.String(), "\nIOMesh reports 2 healthy chunks\n") {
		t.Fatalf("progress:\n%s", progress.String())
	}
}

func TestStorageTimeoutAndNotReported(t *testing.T) {
	s, _ := storageWaiter(withChunks("CHUNK_STATUS_CONNECTED_HEALTHY", "CHUNK_STATUS_SESSION_EXPIRED"), &bytes.Buffer{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	out, err := s.Wait(ctx, []string{"n0", "n1"})
	if !errors.Is(err, ErrTimeout) || strings.Join(out.Missing, ",") != "n1" {
		t.Fatalf("err %v, missing %v", err, out.Missing)
	}
	s, _ = storageWaiter(tf.IOMeshCluster("", nil), &bytes.Buffer{})
	if _, err := s.Wait(context.Background(), []string{"n0"}); !errors.Is(err, ErrNotReported) {
		t.Fatalf("no summary: %v", err)
	}
}

// A node waited for is named with what preflight saw there; the timeout names the findings.
func TestStorageWaitNamesWhatPreflightSaw(t *testing.T) {
	var progress bytes.Buffer
	s, _ := storageWaiter(withChunks("CHUNK_STATUS_CONNECTED_HEALTHY", "CHUNK_STATUS_INITIALIZING"), &progress)
	ready := map[string]preflight.NodeReadiness{
		"n0": {Node: "n0", ISCSI: preflight.Finding{Verdict: preflight.Pass}, CSINode: preflight.Finding{Verdict: preflight.Pass},
			Resources: preflight.Finding{Verdict: preflight.Pass}, Network: preflight.Finding{Verdict: preflight.Pass}},
		"n1": {Node: "n1", ISCSI: preflight.Finding{Verdict: preflight.Fail, Reason: "not labelled iomesh.com/iscsi-installed: prepare-csi-x is Pending"},
			CSINode: preflight.Finding{Verdict: preflight.Pass}, Resources: preflight.Finding{Verdict: preflight.Pass},
			Network: preflight.Finding{Verdict: preflight.Skipped, Reason: "cannot tell: iomesh.chunk.dataCIDR is not set"}},
	}
	s.Brief = func(n string) string { return ready[n].Brief() }
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	out, err := s.Wait(ctx, []string{"n0", "n1"})
	if !errors.Is(err, ErrTimeout) || !strings.Contains(progress.String(), "waiting for chunks on n1 (iscsi fail, data-net ?)\n") {
		t.Fatalf("err %v, progress:\n%s", err, progress.String())
	}
	want := "; what preflight saw there before the scale: n1: nodes.iscsi-prepared fail: not labelled iomesh.com/iscsi-installed: prepare-csi-x is Pending; nodes.storage-network skipped: cannot tell: iomesh.chunk.dataCIDR is not set"
	if got := seen(ready, out.Missing); got != want {
		t.Fatalf("seen %q\nwant %q", got, want)
	}
	if got := seen(ready, []string{"n0"}); got != "" {
		t.Fatalf("a ready node: %q", got)
	}
}
