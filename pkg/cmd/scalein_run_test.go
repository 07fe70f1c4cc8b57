package cmd

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// iomesh stands in for IOMesh and the StatefulSet controller around a scale-in on the fake
// clients: an unregistered chunk leaves chunkSummary once released (drain), and a lowered count
// removes the pod above it. lost records a pod removed while its chunk was listed.
type iomesh struct {
	e *scaleEnv
	x *fakeExec
	t *testing.T

	mu          sync.Mutex
	unregisters []int64
	// drain lets an unregistered chunk leave; hide drops chunkSummary from the status.
	drain, hide bool
	// frozen keeps the spec's counts as they are (a `kubectl edit` that Helm does not see).
	frozen bool
	// omit are registered chunks the status leaves out; reject are chunks whose unregister
	// IOMesh refuses (they stay registered).
	omit, reject map[int64]bool
	// extra are chunks registered beside the five of the fixture.
	extra        []interface{}
	lost         []string
	onUnregister func()
	// onRevision, when set, sees the release's newest revision at the start of each pass,
	// before the pass uses the chunks (a test's stand-in for IOMesh reacting to a write).
	onRevision func(m *iomesh, version int)
}

func (m *iomesh) cr() (*unstructured.Unstructured, error) {
	return m.e.clients.Dynamic.Resource(iomeshcluster.GVR).Namespace(tf.Namespace).Get(context.Background(), tf.Release, metav1.GetOptions{})
}

// tick is one pass of the simulation: IOMesh drops unregistered chunks, Helm's write of the
// IOMeshCluster carries the release's counts (unless frozen), the operator sets the StatefulSet
// from the spec, and the StatefulSet controller removes the pods above it. A removed pod whose
// chunk is still registered (ground truth, whatever the status shows) is lost.
func (m *iomesh) tick(summary map[string]interface{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ctx := context.Background()
	cr, err := m.cr()
	if err != nil {
		return
	}
	rel, relErr := helmops.Latest(m.e.clients.Helm, tf.Release, tf.Namespace)
	if relErr == nil && m.onRevision != nil {
		m.onRevision(m, rel.Version)
	}
	chunks := summary["chunkSummary"].(map[string]interface{})
	var shown []interface{}
	registered := map[int64]bool{}
	for _, c := range append(chunks["chunks"].([]interface{}), m.extra...) {
		id := c.(map[string]interface{})["id"].(int64)
		gone := false
		for _, u := range m.unregisters {
			if m.drain && u == id && !m.reject[id] {
				gone = true
			}
		}
		if !gone {
			registered[id] = true
			if !m.omit[id] {
				shown = append(shown, c)
			}
		}
	}
	chunks["chunks"] = shown
	spec := cr.Object["spec"].(map[string]interface{})
	if relErr == nil {
		if r, err := values.ReadReplicas(rel.Config); err == nil && !m.frozen {
			spec["chunk"].(map[string]interface{})["replicas"] = int64(r.Chunk)
			spec["meta"].(map[string]interface{})["replicas"] = int64(r.Meta)
		}
	}
	st := cr.Object["status"].(map[string]interface{})
	if m.hide {
		delete(st, "summary")
	} else {
		st["summary"] = summary
	}
	if _, err := m.e.clients.Dynamic.Resource(iomeshcluster.GVR).Namespace(tf.Namespace).Update(ctx, cr, metav1.UpdateOptions{}); err != nil {
		return
	}
	n, _ := spec["chunk"].(map[string]interface{})["replicas"].(int64)
	pods := m.e.clients.Kube.CoreV1().Pods(tf.Namespace)
	for ord := int(n); ord < 8; ord++ {
		name := fmt.Sprintf("%s-chunk-%d", tf.Release, ord)
		if _, err := pods.Get(ctx, name, metav1.GetOptions{}); err != nil {
			continue
		}
		if registered[int64(ord+1)] {
			m.lost = append(m.lost, name)
		}
		_ = pods.Delete(ctx, name, metav1.DeleteOptions{})
	}
	sts, err := m.e.clients.Kube.AppsV1().StatefulSets(tf.Namespace).Get(ctx, tf.Release+"-chunk", metav1.GetOptions{})
	if err == nil {
		c := int32(n)
		sts.Spec.Replicas, sts.Status.Replicas = &c, c
		_, _ = m.e.clients.Kube.AppsV1().StatefulSets(tf.Namespace).Update(ctx, sts, metav1.UpdateOptions{})
	}
}

// simulate runs the simulation until the test ends.
func simulate(t *testing.T, e *scaleEnv, x *fakeExec) *iomesh {
	m := &iomesh{e: e, x: x, t: t, drain: true, omit: map[int64]bool{}, reject: map[int64]bool{}}
	cr, err := m.cr()
	if err != nil {
		t.Fatal(err)
	}
	summary := cr.Object["status"].(map[string]interface{})["summary"].(map[string]interface{})
	x.onExec = func(cmd []string) {
		if len(cmd) == 4 && cmd[1] == "chunk" && cmd[2] == "unregister" {
			id, _ := strconv.ParseInt(cmd[3], 10, 64) // the run only sends ids it parsed
			m.mu.Lock()
			m.unregisters = append(m.unregisters, id)
			hook := m.onUnregister
			m.mu.Unlock()
			if hook != nil {
				hook()
			}
		}
	}
	// The sts must be at 5 like the pods.
	sts, _ := e.clients.Kube.AppsV1().StatefulSets(tf.Namespace).Get(context.Background(), tf.Release+"-chunk", metav1.GetOptions{})
	five := int32(5)
	sts.Spec.Replicas, sts.Status.Replicas = &five, 5
	_, _ = e.clients.Kube.AppsV1().StatefulSets(tf.Namespace).Update(context.Background(), sts, metav1.UpdateOptions{})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			m.tick(values.DeepCopy(summary))
			time.Sleep(20 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { stop(); <-done })
	return m
}

// set changes the simulation while it runs.
func (m *iomesh) set(change func(*iomesh)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	change(m)
}

func (m *iomesh) state() (unregisters []int64, lost []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]int64(nil), m.unregisters...), append([]string(nil), m.lost...)
}

// A whole scale-in: the chunk is unregistered, the count lowered only after it left.
func TestRunScaleIn(t *testing.T) {
	e, x := scaleInEnv(t, "")
	m := simulate(t, e, x)
	out, errOut, err := e.run(t, "scale", "--chunk", "4", "--yes")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	u, lost := m.state()
	if len(u) != 1 || u[0] != 5 || len(lost) != 0 || len(e.history(t)) != 2 {
		t.Fatalf("unregisters %v, lost %v, %d revisions\n%s", u, lost, len(e.history(t)), errOut)
	}
	if !strings.Contains(errOut, "chunk 5 has left chunkSummary") || !strings.Contains(out, "iomesh-chunk-3") {
		t.Fatalf("%s\n%s", out, errOut)
	}
	if _, err := e.clients.Kube.CoordinationV1().Leases(tf.Namespace).Get(context.Background(), tf.Release+"-scale-in", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the finished scale-in left its Lease: %v", err)
	}
}

// chunkSummary missing mid-run is "unknown": no revision until it shows the chunk gone.
func TestRunScaleInWaitsWhileTheSummaryIsMissing(t *testing.T) {
	e, x := scaleInEnv(t, "")
	m := simulate(t, e, x)
	m.set(func(m *iomesh) {
		m.onUnregister = func() { m.set(func(m *iomesh) { m.hide = true }) }
	})
	done := make(chan error, 1)
	var errOut string
	go func() {
		var err error
		_, errOut, err = e.run(t, "scale", "--chunk", "4", "--yes")
		done <- err
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if u, _ := m.state(); len(u) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no unregister")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(5 * time.Second) // two polls and more with the summary gone
	if n := len(e.history(t)); n != 1 {
		t.Fatalf("the count was lowered with chunkSummary missing: %d revisions", n)
	}
	m.set(func(m *iomesh) { m.hide = false })
	if err := <-done; err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if _, lost := m.state(); len(lost) != 0 || len(e.history(t)) != 2 || !strings.Contains(errOut, "whether chunk 5 has left is not known") {
		t.Fatalf("lost %v\n%s", lost, errOut)
	}
}

// A raw `helm upgrade` to 6 mid-migration: the run stops without lowering (exit 1).
func TestRunScaleInStopsWhenTheCountMoves(t *testing.T) {
	e, x := scaleInEnv(t, "")
	m := simulate(t, e, x)
	m.set(func(m *iomesh) { m.drain = false }) // the migration goes on until the raw upgrade is in
	hook := func() {
		go func() {
			up := action.NewUpgrade(e.clients.Helm)
			up.Namespace, up.ReuseValues = tf.Namespace, true
			rel, err := helmops.Latest(e.clients.Helm, tf.Release, tf.Namespace)
			if err == nil {
				vals := values.DeepCopy(rel.Config)
				vals["iomesh"].(map[string]interface{})["chunk"].(map[string]interface{})["replicaCount"] = 6
				_, err = up.Run(tf.Release, rel.Chart, vals)
			}
			if err != nil {
				t.Errorf("raw upgrade: %v", err)
			}
			m.set(func(m *iomesh) { m.drain = true })
		}()
	}
	m.set(func(m *iomesh) { m.onUnregister = hook })
	_, errOut, err := e.run(t, "scale", "--chunk", "4", "--yes")
	if exitcode.Of(err) != exitcode.Error || !strings.Contains(errOut+err.Error(), "Nothing further was changed") {
		t.Fatalf("want exit 1: %v\n%s", err, errOut)
	}
	h := e.history(t)
	r, _ := values.ReadReplicas(h[len(h)-1].Config)
	if len(h) != 2 || r.Chunk != 6 {
		t.Fatalf("only the raw upgrade may write: %d revisions, chunk %d", len(h), r.Chunk)
	}
}

// A rerun after an earlier run recorded the chunk but its unregister never reached IOMesh: no
// migration, so it is sent again, and the scale-in completes.
func TestRunScaleInResendsALostUnregister(t *testing.T) {
	e, x := scaleInEnv(t, "")
	d := int32(60)
	_, err := e.clients.Kube.CoordinationV1().Leases(tf.Namespace).Create(context.Background(), &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: tf.Release + "-scale-in", Namespace: tf.Namespace,
			Annotations: map[string]string{inventory.UnregisteringAnnotation: "5", inventory.PodAnnotation: tf.Release + "-chunk-4"}},
		Spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: &d},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := simulate(t, e, x)
	_, errOut, err := e.run(t, "scale", "--chunk", "4", "--yes")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if u, lost := m.state(); len(u) != 1 || len(lost) != 0 || !strings.Contains(errOut, "sending it again") {
		t.Fatalf("unregisters %v lost %v\n%s", u, lost, errOut)
	}
}

// A scale-in refused by render.identical unregisters nothing; accepted with --skip-check, it
// shows the differences the user accepted before it acts, as a scale-out does.
func TestScaleInShowsTheAcceptedRenderDifferences(t *testing.T) {
	e, x := scaleInEnv(t, "")
	m := simulate(t, e, x)
	e.finder = chartRepo(t, republished)
	_, errOut, err := e.run(t, "scale", "--chunk", "4", "--yes", "--timeout", "2m")
	if exitcode.Of(err) != exitcode.Refused || !strings.Contains(err.Error(), "render.identical") {
		t.Fatalf("want the render guard's refusal: %v\n%s", err, errOut)
	}
	if len(e.history(t)) != 1 || slices.ContainsFunc(x.calls, func(c string) bool { return strings.Contains(c, "unregister") }) {
		t.Fatalf("the refusal changed something: %d revisions, exec %v", len(e.history(t)), x.calls)
	}
	_, errOut, err = e.run(t, "scale", "--chunk", "4", "--yes", "--timeout", "2m", "--skip-check", "render.identical")
	if err != nil {
		t.Fatalf("with --skip-check render.identical: %v\n%s", err, errOut)
	}
	accepted := strings.Index(errOut, "Accepted with --skip-check render.identical:")
	diff := strings.Index(errOut, "Deployment.apps iomesh-system/operator: spec.template.spec.containers[0].args[0] added")
	unregister := strings.Index(errOut, "chunk unregister 5")
	if accepted < 0 || diff < accepted || unregister < diff {
		t.Fatalf("the accepted differences are not shown before the scale-in acts:\n%s", errOut)
	}
	if _, lost := m.state(); len(lost) != 0 {
		t.Fatalf("lost %v", lost)
	}
}

// A step planned just before its write is guarded as the plan was: a chart republished under
// the same version between two steps stops the run before the second lower, and the command
// shows the differences, as for a plan the guard refuses.
func TestScaleInStepRefusedByTheRenderGuard(t *testing.T) {
	e, x := scaleInEnv(t, "")
	finder, republish := republishingRepo(t, nil)
	e.finder = finder
	m := simulate(t, e, x)
	var once sync.Once
	m.set(func(m *iomesh) {
		m.onRevision = func(_ *iomesh, version int) {
			if version >= 2 {
				once.Do(func() { republish(republished) })
			}
		}
	})
	_, errOut, err := e.run(t, "scale", "--chunk", "3", "--yes", "--timeout", "2m")
	if exitcode.Of(err) != exitcode.Refused || !strings.Contains(err.Error(), "refused by render.identical at step 2 of 2 (iomesh-chunk-3)") ||
		!strings.Contains(err.Error(), "The steps before it stay done") || !strings.Contains(err.Error(), "kubectl iomesh scale --chunk 3") {
		t.Fatalf("want the render guard's refusal at step 2, with the steps before it done and the command that continues: %v\n%s", err, errOut)
	}
	guard := strings.Index(errOut, "The chart, rendered now with the current values, differs from what is deployed:")
	if guard < 0 || !strings.Contains(errOut[guard:], "--republished") || strings.Index(errOut, "Step 2 of 2") > guard {
		t.Fatalf("the step's refusal does not show the differences:\n%s", errOut)
	}
	if n := len(e.history(t)); n != 2 {
		t.Fatalf("%d revisions: want the first lower only", n)
	}
	if _, lost := m.state(); len(lost) != 0 {
		t.Fatalf("lost %v", lost)
	}
}

// A lower Helm refuses as busy (another writer took the revision first) went nowhere: the
// Lease's record of it is taken back, so that the other writer's revision of the same number is
// never taken for this tool's, and the same command finishes once the release is free.
func TestScaleInBusyLowerLeavesNoRecord(t *testing.T) {
	e, x := scaleInEnv(t, "")
	var taken atomic.Bool
	e.clients.Kube.PrependReactor("create", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		s, ok := a.(k8stesting.CreateAction).GetObject().(*corev1.Secret)
		if ok && s.Name == "sh.helm.release.v1."+tf.Release+".v2" && !taken.Swap(true) {
			return true, nil, apierrors.NewAlreadyExists(corev1.Resource("secrets"), s.Name)
		}
		return false, nil, nil
	})
	m := simulate(t, e, x)
	_, errOut, err := e.run(t, "scale", "--chunk", "4", "--yes", "--timeout", "2m")
	if exitcode.Of(err) != exitcode.Refused || !strings.Contains(err.Error(), "another Helm operation on this release is in progress") {
		t.Fatalf("want Helm's busy refusal: %v\n%s", err, errOut)
	}
	lease, lerr := e.clients.Kube.CoordinationV1().Leases(tf.Namespace).Get(context.Background(), tf.Release+"-scale-in", metav1.GetOptions{})
	if lerr != nil {
		t.Fatal(lerr)
	}
	if rec, ok := lease.Annotations[inventory.LoweringAnnotation]; ok {
		t.Fatalf("the Lease still records a lower that never went out: %q", rec)
	}
	if _, errOut, err = e.run(t, "scale", "--chunk", "4", "--yes", "--timeout", "2m"); err != nil {
		t.Fatalf("the same command once the release is free: %v\n%s", err, errOut)
	}
	if _, lost := m.state(); len(lost) != 0 {
		t.Fatalf("lost %v", lost)
	}
}
