package scale

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// leaseSeconds is how long a run that stops renewing keeps others out.
const leaseSeconds = 60

// lock is this run's hold on the scale-in Lease. Every write is conditional on the version last
// seen, so two runs never both hold it.
type lock struct {
	kube      kubernetes.Interface
	namespace string
	holder    string
	now       func() time.Time

	mu    sync.Mutex
	lease *coordinationv1.Lease
}

// Holder names this run in the Lease.
func Holder() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("kubectl-iomesh@%s/%d", host, os.Getpid())
}

// acquire takes the Lease, or refuses while another run holds it.
func acquire(ctx context.Context, r inventory.Reader, holder string, now func() time.Time) (*lock, error) {
	l := &lock{kube: r.Kube, namespace: r.Namespace, holder: holder, now: now}
	leases := r.Kube.CoordinationV1().Leases(r.Namespace)
	name := inventory.LeaseName(r.Release)
	cur, err := leases.Get(ctx, name, metav1.GetOptions{})
	busy := func(by string, until time.Time) error {
		return exitcode.Wrap(exitcode.Refused, fmt.Errorf("another run (%s) is removing pods from %s: Lease %s in namespace %s is held until %s. Nothing was changed; run the same command again when it has finished (or, if it stopped without releasing the Lease, after that time)", by, r.Release, name, r.Namespace, until.UTC().Format(time.RFC3339)))
	}
	switch {
	case apierrors.IsNotFound(err):
		t := metav1.NewMicroTime(now())
		d := int32(leaseSeconds)
		l.lease, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: r.Namespace, Labels: map[string]string{"app.kubernetes.io/managed-by": "kubectl-iomesh"}},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &d, AcquireTime: &t, RenewTime: &t},
		}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil, busy("started just now", now().Add(leaseSeconds*time.Second))
		}
		if err != nil {
			return nil, fmt.Errorf("creating Lease %s in namespace %s: %w", name, r.Namespace, err)
		}
		return l, nil
	case err != nil:
		return nil, fmt.Errorf("reading Lease %s in namespace %s: %w", name, r.Namespace, err)
	}
	if s := inventory.LeaseOf(cur, now()); s.Held && s.Holder != holder {
		return nil, busy(s.Holder, cur.Spec.RenewTime.Add(time.Duration(*cur.Spec.LeaseDurationSeconds)*time.Second))
	}
	l.lease = cur
	if err := l.update(ctx, func(x *coordinationv1.Lease) {
		t := metav1.NewMicroTime(now())
		d := int32(leaseSeconds)
		x.Spec.HolderIdentity, x.Spec.LeaseDurationSeconds, x.Spec.AcquireTime, x.Spec.RenewTime = &holder, &d, &t, &t
	}); apierrors.IsConflict(err) {
		return nil, busy("taken just now", now().Add(leaseSeconds*time.Second))
	} else if err != nil {
		return nil, err
	}
	return l, nil
}

// update writes a change to the Lease as last seen.
func (l *lock) update(ctx context.Context, change func(*coordinationv1.Lease)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	next := l.lease.DeepCopy()
	change(next)
	out, err := l.kube.CoordinationV1().Leases(l.namespace).Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("updating Lease %s in namespace %s: %w", l.lease.Name, l.namespace, err)
	}
	l.lease = out
	return nil
}

// record notes the chunk whose unregister this run starts (0 clears it).
func (l *lock) record(ctx context.Context, id int64, pod string) error {
	return l.update(ctx, func(x *coordinationv1.Lease) {
		if x.Annotations == nil {
			x.Annotations = map[string]string{}
		}
		if id == 0 {
			delete(x.Annotations, inventory.UnregisteringAnnotation)
			delete(x.Annotations, inventory.PodAnnotation)
			return
		}
		x.Annotations[inventory.UnregisteringAnnotation] = strconv.FormatInt(id, 10)
		x.Annotations[inventory.PodAnnotation] = pod
	})
}

// keep renews the Lease until ctx ends.
func (l *lock) keep(ctx context.Context) {
	t := time.NewTicker(leaseSeconds * time.Second / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = l.update(ctx, func(x *coordinationv1.Lease) {
				now := metav1.NewMicroTime(l.now())
				x.Spec.RenewTime = &now
			})
		}
	}
}

// release ends this run's hold: the Lease goes when the scale-in is done; otherwise it stays,
// unheld, with the chunk being unregistered for the next run.
func (l *lock) release(done bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if done {
		l.mu.Lock()
		defer l.mu.Unlock()
		rv := l.lease.ResourceVersion
		_ = l.kube.CoordinationV1().Leases(l.namespace).Delete(ctx, l.lease.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
		return
	}
	_ = l.update(ctx, func(x *coordinationv1.Lease) { x.Spec.HolderIdentity = nil })
}

// unregistering is the chunk an earlier run recorded (0: none).
func (l *lock) unregistering() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return inventory.LeaseOf(l.lease, l.now()).Unregistering
}
