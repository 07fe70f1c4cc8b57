package cmd

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/scaleplan"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// fakeExec answers iomeshctl as the docs show it and records what was run where.
type fakeExec struct {
	mu      sync.Mutex
	summary string
	calls   []string
	// onExec, when set, sees each command (a test's stand-in for IOMesh acting on it); fail,
	// when set, is the command's error.
	onExec func(cmd []string)
	fail   func(cmd []string) error
	// cut, when it says so, ends the command's stream before its exit status, as a stream
	// closed under it does (client-go then reports no error).
	cut func(cmd []string) bool
}

func (f *fakeExec) Exec(_ context.Context, _, pod, container string, cmd []string) (string, string, error) {
	cmd, shelled := tf.Unshell(cmd)
	f.mu.Lock()
	f.calls = append(f.calls, fmt.Sprintf("%s/%s: %s", pod, container, strings.Join(cmd, " ")))
	hook, out, fail, cut := f.onExec, f.summary, f.fail, f.cut
	f.mu.Unlock()
	if hook != nil {
		hook(cmd)
	}
	if fail != nil {
		if err := fail(cmd); err != nil {
			return "", err.Error(), err
		}
	}
	if shelled && (cut == nil || !cut(cmd)) {
		out = tf.Exited(out, 0)
	}
	return out, "", nil
}

const idleSummary = "cluster_summary:\n  num_ongoing_recovers: 0\n  num_pending_recovers: 0\n  num_ongoing_migrates: 0\n  num_pending_migrates: 0\n  space_info:\n    pending_migrates_bytes: 0\n    pending_recovers_bytes: 0\n"

// scaleInEnv is a release at 5 chunk and 5 meta pods whose IOMeshCluster reports a chunk at
// each chunk pod's IP, specVersion in spec.version, and iomesh-meta-0 as the meta leader.
func scaleInEnv(t *testing.T, specVersion string) (*scaleEnv, *fakeExec) {
	t.Helper()
	user := userValues()
	io := user["iomesh"].(values.Map)
	io["chunk"].(values.Map)["replicaCount"] = 5
	io["meta"].(values.Map)["replicaCount"] = 5
	var extra []runtime.Object
	for i := 3; i < 5; i++ {
		extra = append(extra, tf.Pod("chunk", i, 3, fmt.Sprintf("node-%d", i), time.Hour, tf.Running), tf.Pod("meta", i, 2, fmt.Sprintf("node-%d", i), time.Hour, tf.Running))
	}
	e := newScaleEnv(t, 5, user, extra...)
	ctx := context.Background()
	res := e.clients.Dynamic.Resource(iomeshcluster.GVR).Namespace(tf.Namespace)
	cr, err := res.Get(ctx, tf.Release, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var chunks []interface{}
	for i := 0; i < 5; i++ {
		chunks = append(chunks, map[string]interface{}{"id": int64(i + 1), "ip": fmt.Sprintf("10.0.0.%d", 10+i), "status": iomeshcluster.ChunkHealthy,
			"spaceInfo": map[string]interface{}{"totalDataCapacity": "1.00Ti", "usedDataSpace": "20.00Gi"}})
	}
	cr.Object["status"] = map[string]interface{}{"taskInProcess": "", "summary": map[string]interface{}{
		"chunkSummary":   map[string]interface{}{"chunks": chunks},
		"metaSummary":    map[string]interface{}{"leader": "10.0.0.10:10100", "status": "META_RUNNING"},
		"clusterSummary": map[string]interface{}{"spaceInfo": map[string]interface{}{"totalDataCapacity": "5.00Ti", "usedDataSpace": "100.00Gi"}},
	}}
	if specVersion != "" {
		cr.Object["spec"].(map[string]interface{})["version"] = specVersion
	}
	// Where the counts live agrees with the values: the spec and the StatefulSets at 5.
	spec := cr.Object["spec"].(map[string]interface{})
	for _, c := range []string{"chunk", "meta"} {
		comp, _ := spec[c].(map[string]interface{})
		if comp == nil {
			comp = map[string]interface{}{}
			spec[c] = comp
		}
		comp["replicas"] = int64(5)
		sts, err := e.clients.Kube.AppsV1().StatefulSets(tf.Namespace).Get(ctx, tf.Release+"-"+c, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		five := int32(5)
		sts.Spec.Replicas, sts.Status.Replicas = &five, 5
		if _, err := e.clients.Kube.AppsV1().StatefulSets(tf.Namespace).Update(ctx, sts, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := res.Update(ctx, cr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod, err := e.clients.Kube.CoreV1().Pods(tf.Namespace).Get(ctx, tf.Release+"-meta-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Labels[iomeshcluster.LeaderLabel] = "true"
	if _, err := e.clients.Kube.CoreV1().Pods(tf.Namespace).Update(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	x := &fakeExec{summary: idleSummary}
	e.exec = x
	return e, x
}

func removalPlan(t *testing.T, out string) scaleplan.ScaleInPlan {
	t.Helper()
	var rp scaleplan.ScaleInPlan
	if err := yaml.Unmarshal([]byte(out), &rp); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return rp
}

func TestScaleInPlan10(t *testing.T) {
	e, x := scaleInEnv(t, "")
	out, errOut, err := e.run(t, "scale", "--chunk", "3", "--dry-run", "-o", "yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	rp := removalPlan(t, out)
	if rp.Kind != "ScaleInPlan" || !rp.Procedure.Unregister || rp.Procedure.MetaScaleIn || len(rp.Steps) != 2 {
		t.Fatalf("plan: %+v", rp)
	}
	for i, want := range []struct {
		pod   string
		chunk int64
		from  int
	}{{"iomesh-chunk-4", 5, 5}, {"iomesh-chunk-3", 4, 4}} {
		s := rp.Steps[i]
		if s.Pod != want.pod || s.Chunk == nil || s.Chunk.ID != want.chunk || s.From != want.from || s.To != want.from-1 ||
			strings.Join(s.Unregister, " ") != fmt.Sprintf("/opt/iomesh/iomeshctl chunk unregister %d", want.chunk) {
			t.Fatalf("step %d: %+v", i+1, s)
		}
	}
	if rp.Capacity == nil || rp.Capacity.Remaining != 3<<40 || rp.Capacity.Leaving != 2<<40 {
		t.Fatalf("capacity: %+v", rp.Capacity)
	}
	// The dry run read recovery and migration on the leader, and unregistered nothing.
	if len(x.calls) != 1 || x.calls[0] != "iomesh-meta-0/iomesh-meta: /opt/iomesh/iomeshctl summary cluster" {
		t.Fatalf("exec calls: %v", x.calls)
	}
	if len(e.history(t)) != 1 {
		t.Fatal("a dry run stored a revision")
	}
	// Meta pods are not removed on 1.0.x.
	if _, errOut, err := e.run(t, "scale", "--meta", "3", "--dry-run"); err == nil || !strings.Contains(errOut, "meta.no-scale-in") {
		t.Fatalf("meta scale-in on 1.0.x: %v\n%s", err, errOut)
	}
}

func TestScaleInPlan12(t *testing.T) {
	e, _ := scaleInEnv(t, "v1.2.0")
	out, errOut, err := e.run(t, "scale", "--chunk", "4", "--meta", "3", "--dry-run", "-o", "yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	rp := removalPlan(t, out)
	if rp.Procedure.Unregister || !rp.Procedure.MetaScaleIn || rp.Procedure.From != "spec.version" {
		t.Fatalf("procedure: %+v", rp.Procedure)
	}
	var got []string
	for _, s := range rp.Steps {
		if len(s.Unregister) > 0 {
			t.Fatalf("1.2 unregisters nothing by hand: %+v", s)
		}
		got = append(got, fmt.Sprintf("%s %d->%d", s.Pod, s.From, s.To))
	}
	if strings.Join(got, ", ") != "iomesh-chunk-4 5->4, iomesh-meta-4 5->4, iomesh-meta-3 4->3" {
		t.Fatalf("steps: %s", strings.Join(got, ", "))
	}
}

func TestScaleInRefusedWhileMigrating(t *testing.T) {
	e, x := scaleInEnv(t, "")
	x.summary = strings.Replace(idleSummary, "num_pending_migrates: 0", "num_pending_migrates: 3", 1)
	_, errOut, err := e.run(t, "scale", "--chunk", "4", "--yes")
	if err == nil || !strings.Contains(errOut, "scale-in.migration-idle") || !strings.Contains(errOut, "num_pending_migrates: 3") {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if len(e.history(t)) != 1 || len(x.calls) != 1 {
		t.Fatalf("a refusal changed something: %d revisions, exec %v", len(e.history(t)), x.calls)
	}
}
