package cmd

// A run left behind is finished by the same command; what a run cannot prove, it does not act on.

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
)

// A two-step scale-in named with --chunk-id stops after step 1's lower was written (here
// --timeout; kill -9 alike). The same command, with both ids, finishes it: the Lease records the
// lower to the count now deployed and IOMesh no longer lists the first id.
func TestSameCommandFinishesAfterTheFirstLower(t *testing.T) {
	e, x := scaleInEnv(t, "")
	m := simulate(t, e, x)
	// As soon as Helm has recorded step 1's lower, in the same pass that removes its pod, a
	// remaining chunk turns unhealthy, so the run is still in step 1's wait when it stops (as a
	// kill -9 there would find it).
	m.set(func(m *iomesh) {
		m.onRevision = func(m *iomesh, version int) {
			if version >= 2 && m.extra == nil {
				m.extra = []interface{}{map[string]interface{}{"id": int64(1), "ip": "10.0.0.10", "status": "CHUNK_STATUS_SESSION_EXPIRED"}}
			}
		}
	})
	args := []string{"scale", "--chunk", "3", "--chunk-id", "5", "--chunk-id", "4", "--yes"}
	_, errOut, err := e.run(t, append(args, "--timeout", "6s")...)
	if err == nil || len(e.history(t)) != 2 {
		t.Fatalf("setup: want a stop after step 1's lower: %v, %d revisions\n%s", err, len(e.history(t)), errOut)
	}
	lease, lerr := e.clients.Kube.CoordinationV1().Leases(tf.Namespace).Get(context.Background(), tf.Release+"-scale-in", metav1.GetOptions{})
	if lerr != nil {
		t.Fatal(lerr)
	}
	recorded := lease.Annotations[inventory.CommandAnnotation]
	// The chunk serves again.
	m.set(func(m *iomesh) { m.extra, m.onRevision = nil, nil })
	time.Sleep(500 * time.Millisecond)
	_, errOut2, err2 := e.run(t, args...)
	if err2 != nil {
		t.Fatalf("the same command does not finish what the interrupted run left (the Lease records %q):\n%v\n%s", recorded, err2, errOut2)
	}
	if _, lost := m.state(); len(lost) != 0 {
		t.Fatalf("lost %v", lost)
	}
}

// The unregister's exec stream ends without iomeshctl's exit status (cut; client-go reports no
// error), the unregister did not happen, and the status leaves chunk 5 out: the run never takes
// that for a completion, and writes nothing.
func TestCutUnregisterStreamIsNoCompletion(t *testing.T) {
	e, x := scaleInEnv(t, "")
	m := simulate(t, e, x)
	m.set(func(m *iomesh) {
		m.reject[5] = true // IOMesh keeps chunk 5: its unregister never finished
		m.onUnregister = func() {
			m.set(func(m *iomesh) { m.omit[5] = true }) // the status leaves it out
		}
	})
	// The unregister's exec returns no error and no exit status, as a cut stream does.
	x.cut = func(cmd []string) bool { return len(cmd) > 2 && cmd[2] == "unregister" }
	_, errOut, err := e.run(t, "scale", "--chunk", "4", "--yes", "--timeout", "8s")
	if _, lost := m.state(); len(lost) != 0 {
		t.Fatalf("pods removed while their chunk was registered: %v\n%s", lost, errOut)
	}
	if err == nil || !strings.Contains(errOut+err.Error(), "without iomeshctl's exit status") || len(e.history(t)) != 1 {
		t.Fatalf("want a run that stops, says the stream ended without iomeshctl's exit status, and writes nothing: %v, %d revisions\n%s", err, len(e.history(t)), errOut)
	}
}

// A pod's chunk is never concluded absent from the status, even with --skip-check
// scale-in.chunk-mapped: here the status leaves out chunk 5 of iomesh-chunk-4 from the start.
func TestSkippedChunkMappedStillRefusesAbsence(t *testing.T) {
	e, x := scaleInEnv(t, "")
	m := simulate(t, e, x)
	m.set(func(m *iomesh) { m.omit[5] = true })
	time.Sleep(200 * time.Millisecond)
	_, errOut, _ := e.run(t, "scale", "--chunk", "4", "--yes", "--skip-check", "scale-in.chunk-mapped", "--timeout", "8s")
	if _, lost := m.state(); len(lost) != 0 {
		t.Fatalf("pods removed while their chunk was registered: %v\n%s", lost, errOut)
	}
}

// The command that continues a scale-in keeps the kubeconfig flags it ran with: without them it
// would act on whatever the current context is.
func TestResumeCommandKeepsTheContext(t *testing.T) {
	resume := resumeAfterAFailedUnregister(t, "--context", "prod-a", "--chunk", "4", "--yes")
	if !strings.Contains(resume, "--context prod-a") {
		t.Fatalf("the command that continues the scale-in drops the context it ran against: %s", resume)
	}
}
