package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/scaleplan"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
)

// The cases of the evidence model (docs/scale-in.md) on the fake clients, with a simulated
// IOMesh whose ground truth decides what a removed pod loses.

func unregisterSent(x *fakeExec) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for _, c := range x.calls {
		if strings.Contains(c, "chunk unregister") {
			n++
		}
	}
	return n
}

// raiseLive has someone `kubectl edit` the IOMeshCluster to 6 chunk pods: the spec, the
// StatefulSet and a sixth pod serving chunk 6, while the release values still say 5.
func (m *iomesh) raiseLive(t *testing.T) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	ctx := context.Background()
	m.frozen = true
	cr, err := m.cr()
	if err != nil {
		t.Fatal(err)
	}
	cr.Object["spec"].(map[string]interface{})["chunk"].(map[string]interface{})["replicas"] = int64(6)
	if _, err := m.e.clients.Dynamic.Resource(iomeshcluster.GVR).Namespace(tf.Namespace).Update(ctx, cr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.e.clients.Kube.CoreV1().Pods(tf.Namespace).Create(ctx, tf.Pod("chunk", 5, 3, "node-5", time.Hour, tf.Running), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	m.extra = append(m.extra, map[string]interface{}{"id": int64(6), "ip": "10.0.0.15", "status": iomeshcluster.ChunkHealthy,
		"spaceInfo": map[string]interface{}{"totalDataCapacity": "1.00Ti", "usedDataSpace": "20.00Gi"}})
}

// A live count above the values: a lower from the values would remove iomesh-chunk-5 too, whose
// chunk is registered. Refused before anything is unregistered, naming the three numbers.
func TestScaleInRefusesLiveCountsAboveTheValues(t *testing.T) {
	e, x := scaleInEnv(t, "")
	m := simulate(t, e, x)
	m.raiseLive(t)
	// A tick: the StatefulSet follows the spec.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		sts, err := e.clients.Kube.AppsV1().StatefulSets(tf.Namespace).Get(context.Background(), tf.Release+"-chunk", metav1.GetOptions{})
		if err == nil && sts.Spec.Replicas != nil && *sts.Spec.Replicas == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the StatefulSet never followed the spec to 6")
		}
	}
	_, errOut, err := e.run(t, "scale", "--chunk", "4", "--chunk-id", "5", "--yes")
	if exitcode.Of(err) != exitcode.Refused {
		t.Fatalf("want exit 3: %v\n%s", err, errOut)
	}
	for _, want := range []string{"counts.agree", "release values (revision 1) 5", "IOMeshCluster spec.chunk.replicas 6", "StatefulSet spec.replicas 6", "iomesh-chunk-5"} {
		if !strings.Contains(errOut, want) {
			t.Fatalf("the refusal lacks %q:\n%s", want, errOut)
		}
	}
	if _, lost := m.state(); unregisterSent(x) != 0 || len(lost) != 0 || len(e.history(t)) != 1 {
		t.Fatalf("changed something: %d unregisters, lost %v, %d revisions", unregisterSent(x), lost, len(e.history(t)))
	}
	// Preflight and status show it too.
	if _, errOut, err := e.run(t, "preflight", "--chunk", "4"); exitcode.Of(err) != exitcode.Refused {
		t.Fatalf("preflight: %v\n%s", err, errOut)
	}
	out, _, err := e.run(t, "status")
	if err != nil || !strings.Contains(out, "IOMeshCluster spec.chunk.replicas 6") {
		t.Fatalf("status: %v\n%s", err, out)
	}
}

// The live count moves above the values while the chunk migrates: the run stops before the
// lower (the unregister was sent, so exit 1), and nothing is lost.
func TestScaleInStopsWhenTheLiveCountRises(t *testing.T) {
	e, x := scaleInEnv(t, "")
	m := simulate(t, e, x)
	m.set(func(m *iomesh) {
		m.drain = false
		m.onUnregister = func() {
			go func() {
				m.raiseLive(t)
				m.set(func(m *iomesh) { m.drain = true })
			}()
		}
	})
	_, errOut, err := e.run(t, "scale", "--chunk", "4", "--yes")
	if exitcode.Of(err) != exitcode.Error || !strings.Contains(errOut+err.Error(), "IOMeshCluster spec.chunk.replicas 6") {
		t.Fatalf("want exit 1 naming the counts: %v\n%s", err, errOut)
	}
	if _, lost := m.state(); len(lost) != 0 || len(e.history(t)) != 1 {
		t.Fatalf("lowered: lost %v, %d revisions", lost, len(e.history(t)))
	}
}

// A status that leaves out the chunk of a Ready pod: not "no chunk", but unknown. Refused until
// a person says, by name, that the pod holds none.
func TestScaleInAbsenceIsNotNoChunk(t *testing.T) {
	e, x := scaleInEnv(t, "")
	m := simulate(t, e, x)
	m.set(func(m *iomesh) { m.omit[5] = true }) // registered, left out of chunkSummary
	m.listed(t, 5, false)
	_, errOut, err := e.run(t, "scale", "--chunk", "4", "--yes")
	if exitcode.Of(err) != exitcode.Refused || !strings.Contains(errOut, "--no-chunk iomesh-chunk-4") {
		t.Fatalf("want exit 3 naming --no-chunk: %v\n%s", err, errOut)
	}
	// The statement is checked against what IOMesh lists: chunk 5 listed again contradicts it.
	m.set(func(m *iomesh) { m.omit[5] = false })
	m.listed(t, 5, true)
	if _, errOut, err := e.run(t, "scale", "--chunk", "4", "--no-chunk", "iomesh-chunk-4", "--yes"); exitcode.Of(err) != exitcode.Refused || !strings.Contains(errOut, "IOMesh lists chunk 5") {
		t.Fatalf("a contradicted --no-chunk: %v\n%s", err, errOut)
	}
	if _, lost := m.state(); unregisterSent(x) != 0 || len(lost) != 0 || len(e.history(t)) != 1 {
		t.Fatalf("changed something: lost %v, %d revisions", lost, len(e.history(t)))
	}
	// Truly no chunk (it left by hand) and said so: the pod goes without an unregister.
	m.set(func(m *iomesh) { m.unregisters = append(m.unregisters, 5) })
	m.listed(t, 5, false)
	_, errOut, err = e.run(t, "scale", "--chunk", "4", "--no-chunk", "iomesh-chunk-4", "--yes")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if _, lost := m.state(); unregisterSent(x) != 0 || len(lost) != 0 || len(e.history(t)) != 2 {
		t.Fatalf("lost %v, %d revisions\n%s", lost, len(e.history(t)), errOut)
	}
}

// An unregister IOMesh rejects, then its chunk left out of the status, then the same command:
// the Lease holds only the intent, so the unregister is sent again for iomeshctl's answer; a
// refusal of it is unknown (exit 3, the by-hand check); once IOMesh accepts, the run finishes.
func TestScaleInRejectedUnregisterThenLeftOut(t *testing.T) {
	e, x := scaleInEnv(t, "")
	m := simulate(t, e, x)
	reject := errors.New("command terminated with exit code 1: chunk 5: operation rejected")
	m.set(func(m *iomesh) { m.reject[5] = true })
	x.mu.Lock()
	x.fail = func(cmd []string) error {
		if len(cmd) == 4 && cmd[2] == "unregister" {
			return reject
		}
		return nil
	}
	x.mu.Unlock()
	_, errOut, err := e.run(t, "scale", "--chunk", "4", "--yes")
	if exitcode.Of(err) != exitcode.Error || !strings.Contains(err.Error(), "unregistering chunk 5 failed") {
		t.Fatalf("run 1: %v\n%s", err, errOut)
	}
	l, err := e.clients.Kube.CoordinationV1().Leases(tf.Namespace).Get(context.Background(), tf.Release+"-scale-in", metav1.GetOptions{})
	if err != nil || l.Annotations[inventory.UnregisteringAnnotation] != "5" || l.Annotations[inventory.UnregisteredAnnotation] != "" {
		t.Fatalf("the Lease must record the intent and no completion: %v %v", err, l)
	}
	m.set(func(m *iomesh) { m.omit[5] = true })
	m.listed(t, 5, false)
	_, errOut, err = e.run(t, "scale", "--chunk", "4", "--yes")
	if exitcode.Of(err) != exitcode.Refused || !strings.Contains(err.Error(), "--chunk-unregistered 5") || !strings.Contains(err.Error(), "chunk list") {
		t.Fatalf("run 2: want exit 3 with the by-hand check: %v\n%s", err, errOut)
	}
	if _, lost := m.state(); len(lost) != 0 || len(e.history(t)) != 1 || unregisterSent(x) != 2 {
		t.Fatalf("run 2 lowered or sent no probe: lost %v, %d revisions, %d sent", lost, len(e.history(t)), unregisterSent(x))
	}
	// IOMesh accepts now: the same command sends it, sees it finish and lowers.
	x.mu.Lock()
	x.fail = nil
	x.mu.Unlock()
	m.set(func(m *iomesh) { m.reject[5] = false })
	_, errOut, err = e.run(t, "scale", "--chunk", "4", "--yes")
	if err != nil {
		t.Fatalf("run 3: %v\n%s", err, errOut)
	}
	if _, lost := m.state(); len(lost) != 0 || len(e.history(t)) != 2 {
		t.Fatalf("run 3: lost %v, %d revisions\n%s", lost, len(e.history(t)), errOut)
	}
}

// A chunk stated by hand to have left (--chunk-unregistered) where no run saw it finish: the
// statement is recorded on the Lease and stands in for the completion.
func TestScaleInStatedUnregistered(t *testing.T) {
	e, x := scaleInEnv(t, "")
	m := simulate(t, e, x)
	d := int32(60)
	_, err := e.clients.Kube.CoordinationV1().Leases(tf.Namespace).Create(context.Background(), heldBy(d, map[string]string{inventory.UnregisteringAnnotation: "5", inventory.PodAnnotation: tf.Release + "-chunk-4"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m.set(func(m *iomesh) { m.unregisters = append(m.unregisters, 5) }) // left by hand
	m.listed(t, 5, false)
	_, errOut, err := e.run(t, "scale", "--chunk", "4", "--chunk-unregistered", "5", "--yes")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if _, lost := m.state(); len(lost) != 0 || len(e.history(t)) != 2 || unregisterSent(x) != 0 || !strings.Contains(errOut, "stated to have left") {
		t.Fatalf("lost %v, %d revisions, %d sent\n%s", lost, len(e.history(t)), unregisterSent(x), errOut)
	}
}

// This run's own unregister has not returned while the status already leaves the chunk out:
// the count waits for iomeshctl's answer.
func TestScaleInWaitsForItsOwnUnregister(t *testing.T) {
	e, x := scaleInEnv(t, "")
	m := simulate(t, e, x)
	release := make(chan struct{})
	m.set(func(m *iomesh) { m.onUnregister = func() { <-release } })
	done := make(chan error, 1)
	var errOut string
	go func() {
		var err error
		_, errOut, err = e.run(t, "scale", "--chunk", "4", "--yes")
		done <- err
	}()
	deadline := time.Now().Add(20 * time.Second)
	for unregisterSent(x) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no unregister")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(5 * time.Second) // two polls and more with the chunk gone from the status
	if n := len(e.history(t)); n != 1 {
		close(release)
		t.Fatalf("the count was lowered while this run's unregister had not returned: %d revisions", n)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if _, lost := m.state(); len(lost) != 0 || len(e.history(t)) != 2 || !strings.Contains(errOut, "has not returned") {
		t.Fatalf("lost %v\n%s", lost, errOut)
	}
}

// listed waits until the simulated status lists (or leaves out) chunk id.
func (m *iomesh) listed(t *testing.T, id int64, want bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		cr, err := m.cr()
		if err == nil {
			got := false
			st, _ := cr.Object["status"].(map[string]interface{})
			sum, _ := st["summary"].(map[string]interface{})
			cs, _ := sum["chunkSummary"].(map[string]interface{})
			list, _ := cs["chunks"].([]interface{})
			for _, c := range list {
				if c.(map[string]interface{})["id"].(int64) == id {
					got = true
				}
			}
			if got == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the status never showed chunk %d listed=%v", id, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// heldBy is a scale-in Lease no run holds, with the annotations an earlier run left.
func heldBy(d int32, annotations map[string]string) *coordinationv1.Lease {
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-scale-in", tf.Release), Namespace: tf.Namespace, Annotations: annotations},
		Spec:       coordinationv1.LeaseSpec{LeaseDurationSeconds: &d},
	}
}

// A statement names what the scale-in removes: another chunk is refused; the plan shows it, and
// the command that continues carries it.
func TestScaleInStatementsInThePlan(t *testing.T) {
	e, x := scaleInEnv(t, "")
	simulate(t, e, x)
	if _, errOut, err := e.run(t, "scale", "--chunk", "4", "--chunk-unregistered", "2", "--yes"); exitcode.Of(err) != exitcode.Refused || !strings.Contains(errOut+err.Error(), "--chunk-unregistered 2 names no chunk this scale-in removes (it removes chunk 5)") {
		t.Fatalf("another pod's chunk stated: %v\n%s", err, errOut)
	}
	if _, errOut, err := e.run(t, "scale", "--chunk", "4", "--no-chunk", "iomesh-chunk-1", "--yes"); exitcode.Of(err) != exitcode.Refused || !strings.Contains(errOut, "--no-chunk iomesh-chunk-1 names no pod this scale-in removes") {
		t.Fatalf("a pod that stays: %v\n%s", err, errOut)
	}
	// A statement IOMesh contradicts: chunk 5 is still listed.
	if _, errOut, err := e.run(t, "scale", "--chunk", "4", "--chunk-unregistered", "5", "--dry-run"); exitcode.Of(err) != exitcode.Refused || !strings.Contains(errOut+err.Error(), "IOMesh still lists chunk 5") {
		t.Fatalf("a listed chunk stated gone: %v\n%s", err, errOut)
	}
	o := &ScaleOptions{Common: NewCommon(genericiooptions.NewTestIOStreamsDiscard()), Targets: TargetFlags{Unregistered: []int64{5}, NoChunk: []string{"iomesh-chunk-3"}}}
	o.Targets.Target.Chunk = func() *int { n := 3; return &n }()
	rp := &scaleplan.ScaleInPlan{Steps: []scaleplan.Step{
		{Component: "chunk", Pod: "iomesh-chunk-4", Chunk: &iomeshcluster.RegisteredChunk{ID: 5}},
		{Component: "chunk", Pod: "iomesh-chunk-3", MatchedBy: iomeshcluster.ByNoChunk},
	}}
	if got := o.resume(rp)(0); !strings.Contains(got, "--chunk-unregistered 5") || !strings.Contains(got, "--no-chunk iomesh-chunk-3") {
		t.Fatalf("resume %q", got)
	}
	if got := o.resume(rp)(1); strings.Contains(got, "--chunk-unregistered 5") || !strings.Contains(got, "--no-chunk iomesh-chunk-3") {
		t.Fatalf("resume from step 2 %q", got)
	}
}

// Every read of the IOMeshCluster fails once the run holds the Lease (a 403 after a binding was
// removed) on IOMesh 1.2, where the steps send no unregister: the run waits a poll between reads
// and ends with its --timeout, after a bounded number of requests.
func TestScaleInUnreadableClusterEndsInTime(t *testing.T) {
	e, _ := scaleInEnv(t, "v1.2.0")
	var failing atomic.Bool
	var reads atomic.Int64
	e.clients.Kube.PrependReactor("create", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		failing.Store(true)
		return false, nil, nil
	})
	e.clients.Dynamic.PrependReactor("get", "iomeshclusters", func(k8stesting.Action) (bool, runtime.Object, error) {
		if !failing.Load() {
			return false, nil, nil
		}
		reads.Add(1)
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "iomesh.com", Resource: "iomeshclusters"}, tf.Release, errors.New("binding removed"))
	})
	start := time.Now()
	_, errOut, err := e.run(t, "scale", "--meta", "3", "--yes", "--timeout", "5s")
	took := time.Since(start)
	if exitcode.Of(err) != exitcode.NotConverged && exitcode.Of(err) != exitcode.Error {
		t.Fatalf("want the run to end on its timeout: %v\n%s", err, errOut)
	}
	// 5 s and one poll (2 s) at most, with room for a loaded machine; a read every poll.
	if took > 12*time.Second || reads.Load() > 20 || reads.Load() == 0 {
		t.Fatalf("took %v, %d reads of the IOMeshCluster\n%s", took, reads.Load(), errOut)
	}
	if len(e.history(t)) != 1 {
		t.Fatalf("wrote without reading the cluster: %d revisions", len(e.history(t)))
	}
}
