package inventory

import (
	"context"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/gitops"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
)

// recordingExec answers every command with nothing and keeps what was run.
type recordingExec struct {
	mu   sync.Mutex
	cmds []string
}

func (x *recordingExec) Exec(_ context.Context, _, _, _ string, cmd []string) (string, string, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	cmd, _ = tf.Unshell(cmd)
	x.cmds = append(x.cmds, strings.Join(cmd, " "))
	return "", "", nil
}

// The reader never writes: every request its methods make is a get, list or watch, and its exec
// runs only the reads (iomeshctl summary cluster, the pods' own addresses).
func TestReaderOnlyReads(t *testing.T) {
	zero := int32(0)
	c := tf.NewClients(t, nil, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "operator", Namespace: tf.Namespace}, Spec: appsv1.DeploymentSpec{Replicas: &zero}})
	var mu sync.Mutex
	verbs := map[string]bool{}
	record := func(a k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		verbs[a.GetVerb()+" "+a.GetResource().Resource] = true
		return false, nil, nil
	}
	c.Kube.PrependReactor("*", "*", record)
	c.Dynamic.PrependReactor("*", "*", record)
	x := &recordingExec{}
	r := Reader{Kube: c.Kube, Dynamic: c.Dynamic, Namespace: tf.Namespace, Release: tf.Release, Exec: x}
	ctx := context.Background()
	r.IOMeshCluster(ctx)
	_, _, _ = r.Components(ctx)
	_, _, _ = r.AllIOMeshClusters(ctx)
	_, _ = r.PodsIn(ctx, tf.Namespace)
	_, _, _ = r.BlockDevices(ctx, tf.Namespace)
	_, _ = r.Nodes(ctx)
	r.ReadOwner(ctx, &gitops.Owner{Kind: gitops.FluxHelmRelease, Namespace: "flux-system", Name: "iomesh"})
	r.Operator(ctx, operatorManifest) // the operator down: the live webhook is read too
	_, _ = r.Lease(ctx)
	_, _ = r.SummaryCluster(ctx, "iomesh-meta-0")
	_, _ = r.LocalAddresses(ctx, corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "iomesh-chunk-0"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}})
	if len(verbs) < 8 {
		t.Fatalf("too few requests recorded to judge: %v", verbs)
	}
	for v := range verbs {
		switch strings.Fields(v)[0] {
		case "get", "list", "watch":
		default:
			t.Errorf("the reader wrote: %s", v)
		}
	}
	if strings.Join(x.cmds, "; ") != IOMeshctl+" summary cluster; cat /proc/net/fib_trie" {
		t.Errorf("the reader ran %q", x.cmds)
	}
	if !verbs["get validatingwebhookconfigurations"] {
		t.Errorf("the live webhook was not read: %v", verbs)
	}
}
