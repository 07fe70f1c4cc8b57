package scale

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
)

// versioned makes the fake clientset keep Leases' resourceVersions as an API server does: each
// write gets a new one, and an update from an older one is a conflict. fail, when set, fails
// every update.
func versioned(kube *fake.Clientset, fail *atomic.Bool) {
	var mu sync.Mutex
	next := 100
	gr := schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}
	kube.PrependReactor("*", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		switch a.GetVerb() {
		case "create":
			next++
			a.(k8stesting.CreateAction).GetObject().(*coordinationv1.Lease).ResourceVersion = strconv.Itoa(next)
		case "update":
			if fail != nil && fail.Load() {
				return true, nil, apierrors.NewServiceUnavailable("etcd is away")
			}
			l := a.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease)
			cur, err := kube.Tracker().Get(gr.WithVersion("v1"), l.Namespace, l.Name)
			if err != nil {
				return true, nil, err
			}
			if cur.(*coordinationv1.Lease).ResourceVersion != l.ResourceVersion {
				return true, nil, apierrors.NewConflict(gr, l.Name, errors.New("the object has been modified"))
			}
			next++
			l.ResourceVersion = strconv.Itoa(next)
		}
		return false, nil, nil
	})
}

func leaseReader(objs ...runtime.Object) (inventory.Reader, *fake.Clientset) {
	kube := fake.NewSimpleClientset(objs...)
	return inventory.Reader{Kube: kube, Namespace: "iomesh-system", Release: "iomesh"}, kube
}

func heldLease(holder string) *coordinationv1.Lease {
	d := int32(leaseSeconds)
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "iomesh-scale-in", Namespace: "iomesh-system", ResourceVersion: "7",
			Annotations: map[string]string{inventory.CommandAnnotation: "kubectl iomesh scale --chunk 3 --yes", inventory.UnregisteringAnnotation: "5", inventory.PodAnnotation: "iomesh-chunk-4"}},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &d},
	}
}

func getLease(t *testing.T, r inventory.Reader) *coordinationv1.Lease {
	t.Helper()
	l, err := r.Kube.CoordinationV1().Leases(r.Namespace).Get(context.Background(), "iomesh-scale-in", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// waitWaiters blocks until something waits on the fake clock.
func waitWaiters(t *testing.T, fc *clocktesting.FakeClock) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !fc.HasWaiters() {
		if time.Now().After(deadline) {
			t.Fatal("nothing waits on the clock")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAcquireCreates(t *testing.T) {
	r, kube := leaseReader()
	versioned(kube, nil)
	fc := clocktesting.NewFakeClock(time.Unix(1000, 0))
	l, err := acquire(context.Background(), r, leaseRun{holder: "me", command: "kubectl iomesh scale --chunk 4 --yes", clock: fc, poll: time.Second, progress: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	got := getLease(t, r)
	if *got.Spec.HolderIdentity != "me" || got.Annotations[inventory.CommandAnnotation] != "kubectl iomesh scale --chunk 4 --yes" {
		t.Fatalf("lease: %+v", got)
	}
	if id, _ := l.recorded(); id != 0 {
		t.Fatalf("a new Lease records no chunk: %d", id)
	}
}

// A holder that renews while this run watches is alive: refused, naming it and its command.
func TestAcquireRefusesALiveHolder(t *testing.T) {
	r, kube := leaseReader(heldLease("other@host/1"))
	versioned(kube, nil)
	fc := clocktesting.NewFakeClock(time.Unix(1000, 0))
	var progress bytes.Buffer
	errc := make(chan error, 1)
	go func() {
		_, err := acquire(context.Background(), r, leaseRun{holder: "me", clock: fc, poll: 2 * time.Second, progress: &progress})
		errc <- err
	}()
	waitWaiters(t, fc)
	l := getLease(t, r)
	now := metav1.NewMicroTime(time.Unix(5000, 0)) // the other machine's clock: never compared
	l.Spec.RenewTime = &now
	if _, err := r.Kube.CoordinationV1().Leases(r.Namespace).Update(context.Background(), l, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fc.Step(2 * time.Second)
	err := <-errc
	if exitcode.Of(err) != exitcode.Refused || !strings.Contains(err.Error(), "other@host/1") || !strings.Contains(err.Error(), "kubectl iomesh scale --chunk 3 --yes") || !strings.Contains(err.Error(), "renewed") {
		t.Fatalf("%v (exit %d)", err, exitcode.Of(err))
	}
	if *getLease(t, r).Spec.HolderIdentity != "other@host/1" {
		t.Fatal("the live holder keeps its Lease")
	}
}

// A holder that stopped renewing is taken over once this process saw it unrenewed for the
// Lease's duration, by its own clock; the record of the chunk stays for the new holder.
func TestAcquireTakesOverAStoppedHolder(t *testing.T) {
	r, kube := leaseReader(heldLease("killed@host/9"))
	versioned(kube, nil)
	fc := clocktesting.NewFakeClock(time.Unix(1000, 0))
	var progress syncBuffer
	type res struct {
		l   *lock
		err error
	}
	done := make(chan res, 1)
	go func() {
		l, err := acquire(context.Background(), r, leaseRun{holder: "me", command: "resume", clock: fc, poll: 5 * time.Second, progress: &progress})
		done <- res{l, err}
	}()
	for i := 0; i < 12; i++ {
		waitWaiters(t, fc)
		select {
		case got := <-done:
			t.Fatalf("taken over after only %d polls: %+v", i, got)
		default:
		}
		fc.Step(5 * time.Second)
	}
	got := <-done
	if got.err != nil {
		t.Fatal(got.err)
	}
	l := getLease(t, r)
	if *l.Spec.HolderIdentity != "me" || l.Annotations[inventory.UnregisteringAnnotation] != "5" || l.Annotations[inventory.CommandAnnotation] != "resume" {
		t.Fatalf("lease: %+v", l)
	}
	if id, pod := got.l.recorded(); id != 5 || pod != "iomesh-chunk-4" {
		t.Fatalf("recorded %d %s", id, pod)
	}
	out := progress.String()
	if strings.Count(out, "waiting up to 1m0s") != 1 || !strings.Contains(out, "killed@host/9 did not renew") {
		t.Fatalf("progress says why once:\n%s", out)
	}
}

// A renewal that keeps failing ends the hold once two thirds of the duration have passed; a
// conflict (another writer) ends it at once.
func TestKeepLosesTheLease(t *testing.T) {
	for _, c := range []struct {
		name     string
		conflict bool
		want     string
	}{{"failing renewals", false, "not renewed for 40s"}, {"another writer", true, "another writer changed it"}} {
		t.Run(c.name, func(t *testing.T) {
			r, kube := leaseReader()
			var fail atomic.Bool
			versioned(kube, &fail)
			fc := clocktesting.NewFakeClock(time.Unix(1000, 0))
			l, err := acquire(context.Background(), r, leaseRun{holder: "me", clock: fc, poll: 5 * time.Second, progress: &bytes.Buffer{}})
			if err != nil {
				t.Fatal(err)
			}
			lost := make(chan error, 1)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go l.keep(ctx, func(err error) { lost <- err })
			if c.conflict {
				other := getLease(t, r)
				other.Annotations = map[string]string{"x": "y"}
				if _, err := r.Kube.CoordinationV1().Leases(r.Namespace).Update(ctx, other, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
			} else {
				fail.Store(true)
			}
			for i := 0; i < 20; i++ {
				waitWaiters(t, fc)
				fc.Step(5 * time.Second)
				select {
				case err := <-lost:
					if !errors.Is(err, ErrLeaseLost) || !strings.Contains(err.Error(), c.want) {
						t.Fatalf("%v", err)
					}
					if !c.conflict && fc.Since(time.Unix(1000, 0)) < 40*time.Second {
						t.Fatalf("lost after only %v", fc.Since(time.Unix(1000, 0)))
					}
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
			t.Fatal("the hold was never given up")
		})
	}
}

func TestUnfinishedRefuses(t *testing.T) {
	r, _ := leaseReader()
	if err := unfinished(context.Background(), r); err != nil {
		t.Fatalf("no Lease, nothing unfinished: %v", err)
	}
	r, _ = leaseReader(heldLease("run@a/1"))
	err := unfinished(context.Background(), r)
	if exitcode.Of(err) != exitcode.Refused || !strings.Contains(err.Error(), "run@a/1") || !strings.Contains(err.Error(), "`kubectl iomesh scale --chunk 3 --yes`") ||
		!strings.Contains(err.Error(), "chunk 5 of iomesh-chunk-4") || !strings.Contains(err.Error(), "kubectl delete lease iomesh-scale-in -n iomesh-system") {
		t.Fatalf("%v", err)
	}
	// A Lease nobody holds is cleared once the cluster is at its target; a held one stays.
	if err := deleteFinished(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	getLease(t, r)
	released := heldLease("")
	released.Spec.HolderIdentity = nil
	r, _ = leaseReader(released)
	if err := deleteFinished(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Kube.CoordinationV1().Leases(r.Namespace).Get(context.Background(), "iomesh-scale-in", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("released Lease still there: %v", err)
	}
}

// A run killed after its last lower leaves its Lease held: the same command, at the target, takes
// it over once it goes unrenewed and clears it. A Lease recording an unregister started but not
// seen finished stays, for the scale-in to decide.
func TestClearFinishedTakesOverADeadHolder(t *testing.T) {
	done := heldLease("killed@host/9")
	done.Annotations[inventory.UnregisteredAnnotation] = "5"
	r, kube := leaseReader(done)
	versioned(kube, nil)
	fc := clocktesting.NewFakeClock(time.Unix(1000, 0))
	var progress syncBuffer
	errc := make(chan error, 1)
	go func() {
		errc <- clearFinished(context.Background(), r, leaseRun{holder: "me", command: "same", clock: fc, poll: 5 * time.Second, progress: &progress})
	}()
	for i := 0; i < 12; i++ {
		waitWaiters(t, fc)
		select {
		case err := <-errc:
			t.Fatalf("cleared after only %d polls: %v", i, err)
		default:
		}
		fc.Step(5 * time.Second)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if _, err := kube.CoordinationV1().Leases(r.Namespace).Get(context.Background(), "iomesh-scale-in", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the finished scale-in's Lease is still there: %v", err)
	}
	// The intent without its completion: kept, whoever holds it.
	r, _ = leaseReader(heldLease(""))
	if err := clearFinished(context.Background(), r, leaseRun{holder: "me", clock: fc, poll: time.Second, progress: &progress}); err != nil {
		t.Fatal(err)
	}
	getLease(t, r)
}
