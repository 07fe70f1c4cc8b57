package scale

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	"k8s.io/utils/clock"
)

// leaseSeconds is how long a run that stops renewing keeps others out.
const leaseSeconds = 60

// ErrLeaseLost is a run that could not renew its hold on the scale-in Lease.
var ErrLeaseLost = errors.New("the scale-in Lease was lost")

// lock is this run's hold on the scale-in Lease. Every write is conditional on the version last
// seen, so two runs never both hold it.
type lock struct {
	kube      kubernetes.Interface
	namespace string
	holder    string
	clock     clock.WithTicker
	poll      time.Duration

	mu      sync.Mutex
	lease   *coordinationv1.Lease
	renewed time.Time // this process's time of the last write that succeeded
}

// Holder names this run in the Lease.
func Holder() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("kubectl-iomesh@%s/%d", host, os.Getpid())
}

// leaseRun is what acquire needs beside the reader.
type leaseRun struct {
	holder, command string
	clock           clock.WithTicker
	poll            time.Duration
	progress        io.Writer
}

// acquire takes the Lease. A Lease that another run holds is taken over only after this
// process has seen it go unrenewed for its whole duration, measured on this process's clock
// (as client-go's leader election does); a run that renews it meanwhile is alive, and then
// this one refuses.
func acquire(ctx context.Context, r inventory.Reader, o leaseRun) (*lock, error) {
	l := &lock{kube: r.Kube, namespace: r.Namespace, holder: o.holder, clock: o.clock, poll: o.poll}
	leases := r.Kube.CoordinationV1().Leases(r.Namespace)
	name := inventory.LeaseName(r.Release)
	var seenRV string
	var seenAt time.Time
	said := false
	for {
		cur, err := leases.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			t := metav1.NewMicroTime(o.clock.Now())
			d := int32(leaseSeconds)
			created, err := leases.Create(ctx, &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: r.Namespace, Labels: map[string]string{"app.kubernetes.io/managed-by": "kubectl-iomesh"},
					Annotations: map[string]string{inventory.CommandAnnotation: o.command}},
				Spec: coordinationv1.LeaseSpec{HolderIdentity: &o.holder, LeaseDurationSeconds: &d, AcquireTime: &t, RenewTime: &t},
			}, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				continue // another run created it just now: read it
			}
			if err != nil {
				return nil, fmt.Errorf("creating Lease %s in namespace %s: %w", name, r.Namespace, err)
			}
			l.lease, l.renewed = created, o.clock.Now()
			return l, nil
		case err != nil:
			return nil, fmt.Errorf("reading Lease %s in namespace %s: %w", name, r.Namespace, err)
		}
		s := inventory.LeaseOf(cur)
		if s.Holder != "" && s.Holder != o.holder {
			busy := func(why string) error {
				resume := ""
				if s.Command != "" {
					resume = fmt.Sprintf(" (it continues with `%s`)", s.Command)
				}
				return exitcode.Wrap(exitcode.Refused, fmt.Errorf("another run (%s) is removing pods from %s%s: %s. Nothing was changed; run the command again when it has finished", s.Holder, r.Release, resume, why))
			}
			switch {
			case seenRV == "":
				seenRV, seenAt = cur.ResourceVersion, o.clock.Now()
			case cur.ResourceVersion != seenRV:
				return nil, busy(fmt.Sprintf("it renewed Lease %s in namespace %s while this run watched", name, r.Namespace))
			}
			d := time.Duration(leaseSeconds) * time.Second
			if cur.Spec.LeaseDurationSeconds != nil {
				d = time.Duration(*cur.Spec.LeaseDurationSeconds) * time.Second
			}
			if o.clock.Since(seenAt) < d {
				if !said {
					fmt.Fprintf(o.progress, "Lease %s is held by %s: waiting up to %v to see whether it renews it (a run that stopped does not, and is then taken over)...\n", name, s.Holder, d)
					said = true
				}
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-o.clock.After(o.poll):
				}
				continue
			}
			fmt.Fprintf(o.progress, "%s did not renew Lease %s for %v: taking it over.\n", s.Holder, name, d)
		}
		l.lease = cur
		if err := l.update(ctx, func(x *coordinationv1.Lease) {
			t := metav1.NewMicroTime(o.clock.Now())
			d := int32(leaseSeconds)
			x.Spec.HolderIdentity, x.Spec.LeaseDurationSeconds, x.Spec.AcquireTime, x.Spec.RenewTime = &o.holder, &d, &t, &t
			if x.Annotations == nil {
				x.Annotations = map[string]string{}
			}
			x.Annotations[inventory.CommandAnnotation] = o.command
		}); apierrors.IsConflict(errors.Unwrap(err)) {
			seenRV, said = "", false
			continue // written in between: read it again
		} else if err != nil {
			return nil, err
		}
		return l, nil
	}
}

// update writes a change to the Lease as last seen; the write also renews it.
func (l *lock) update(ctx context.Context, change func(*coordinationv1.Lease)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	next := l.lease.DeepCopy()
	change(next)
	now := metav1.NewMicroTime(l.clock.Now())
	next.Spec.RenewTime = &now
	out, err := l.kube.CoordinationV1().Leases(l.namespace).Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("updating Lease %s in namespace %s: %w", l.lease.Name, l.namespace, err)
	}
	l.lease, l.renewed = out, l.clock.Now()
	return nil
}

// record notes the chunk whose unregister this run is about to send, for pod: the intent, not
// a send (0 clears the intent, its completion and the lower being written).
func (l *lock) record(ctx context.Context, id int64, pod string) error {
	return l.update(ctx, func(x *coordinationv1.Lease) {
		if x.Annotations == nil {
			x.Annotations = map[string]string{}
		}
		if id == 0 {
			delete(x.Annotations, inventory.UnregisteringAnnotation)
			delete(x.Annotations, inventory.PodAnnotation)
			delete(x.Annotations, inventory.UnregisteredAnnotation)
			delete(x.Annotations, inventory.LoweringAnnotation)
			return
		}
		// A new send is a new intent: any completion recorded before it no longer stands.
		delete(x.Annotations, inventory.UnregisteredAnnotation)
		x.Annotations[inventory.UnregisteringAnnotation] = strconv.FormatInt(id, 10)
		x.Annotations[inventory.PodAnnotation] = pod
	})
}

// complete notes that the unregister of chunk id finished (iomeshctl returned without error,
// or a person stated it), for pod.
func (l *lock) complete(ctx context.Context, id int64, pod string) error {
	return l.update(ctx, func(x *coordinationv1.Lease) {
		if x.Annotations == nil {
			x.Annotations = map[string]string{}
		}
		x.Annotations[inventory.UnregisteringAnnotation] = strconv.FormatInt(id, 10)
		x.Annotations[inventory.PodAnnotation] = pod
		x.Annotations[inventory.UnregisteredAnnotation] = strconv.FormatInt(id, 10)
	})
}

// removed notes that step s's pod is gone, with its chunk.
func (l *lock) removed(ctx context.Context, s Step) error {
	return l.update(ctx, func(x *coordinationv1.Lease) {
		if x.Annotations == nil {
			x.Annotations = map[string]string{}
		}
		m := inventory.ParseRemoved(x.Annotations[inventory.RemovedAnnotation])
		m[s.Pod] = 0
		if s.Chunk != nil {
			m[s.Pod] = s.Chunk.ID
		}
		x.Annotations[inventory.RemovedAnnotation] = inventory.FormatRemoved(m)
	})
}

// lower notes the lower this run is about to write (To < 0 clears it).
func (l *lock) lower(ctx context.Context, lw inventory.Lowering) error {
	if l == nil {
		return nil
	}
	return l.update(ctx, func(x *coordinationv1.Lease) {
		if x.Annotations == nil {
			x.Annotations = map[string]string{}
		}
		if lw.To < 0 {
			delete(x.Annotations, inventory.LoweringAnnotation)
			return
		}
		x.Annotations[inventory.LoweringAnnotation] = lw.String()
	})
}

// resume records the command that continues the scale-in.
func (l *lock) resume(ctx context.Context, command string) error {
	return l.update(ctx, func(x *coordinationv1.Lease) {
		if x.Annotations == nil {
			x.Annotations = map[string]string{}
		}
		x.Annotations[inventory.CommandAnnotation] = command
	})
}

// keep renews the Lease every quarter of its duration until ctx ends. A renewal that fails is
// tried again every poll; once two thirds of the duration have passed since the last write
// that succeeded, or another writer changed the Lease, lost is called and keep returns.
func (l *lock) keep(ctx context.Context, lost func(error)) {
	d := time.Duration(leaseSeconds) * time.Second
	t := l.clock.NewTicker(d / 4)
	defer t.Stop()
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		case <-retry:
		}
		err := l.update(ctx, func(*coordinationv1.Lease) {})
		retry = nil
		switch {
		case err == nil:
			continue
		case ctx.Err() != nil:
			return
		case apierrors.IsConflict(errors.Unwrap(err)):
			lost(fmt.Errorf("%w: another writer changed it (%v)", ErrLeaseLost, err))
			return
		}
		l.mu.Lock()
		since := l.clock.Since(l.renewed)
		l.mu.Unlock()
		if since >= 2*d/3 {
			lost(fmt.Errorf("%w: not renewed for %v (%v)", ErrLeaseLost, since.Round(time.Second), err))
			return
		}
		retry = l.clock.After(l.poll)
	}
}

// release ends this run's hold: the Lease goes when the scale-in is done, or when this run
// started nothing (no chunk recorded, no count changed); otherwise it stays, unheld, with the
// chunk being unregistered and the command that continues, for the next run.
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

// recorded is the chunk, and its pod, that the Lease records as being unregistered.
func (l *lock) recorded() (int64, string) {
	if l == nil {
		return 0, ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := inventory.LeaseOf(l.lease)
	return s.Unregistering, s.Pod
}

// completed is the chunk whose unregister the Lease records as finished (0: none).
func (l *lock) completed() int64 {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return inventory.LeaseOf(l.lease).Unregistered
}

// lowering is the lower the Lease records as being written (To < 0: none).
func (l *lock) lowering() inventory.Lowering {
	if l == nil {
		return inventory.Lowering{To: -1}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return inventory.LeaseOf(l.lease).Lowering
}

// unfinished refuses any scale while a scale-in's Lease is there: held, or left by a run that
// stopped before it finished (its chunk may be half unregistered).
func unfinished(ctx context.Context, r inventory.Reader) error {
	s, err := r.Lease(ctx)
	if err != nil || s.Object == nil {
		return err
	}
	by := "a run that stopped before it finished"
	if s.Holder != "" {
		by = s.Holder
	}
	next := "run the scale-in's own command again to finish it"
	if s.Command != "" {
		next = fmt.Sprintf("finish it with `%s`", s.Command)
	}
	chunk := ""
	if s.Unregistering != 0 {
		chunk = fmt.Sprintf("; chunk %d of %s is being unregistered", s.Unregistering, s.Pod)
	}
	return exitcode.Wrap(exitcode.Refused, fmt.Errorf("a scale-in of %s is not finished (Lease %s in namespace %s, by %s%s). Nothing was changed: %s first. To give it up instead, once no run is active and IOMesh shows no migration, delete the Lease: `kubectl delete lease %s -n %s`", r.Release, inventory.LeaseName(r.Release), r.Namespace, by, chunk, next, inventory.LeaseName(r.Release), r.Namespace))
}

// clearFinished deletes the scale-in Lease of a cluster already at its target, when it records
// no unregister started without its completion: the scale-in it recorded has nothing left to do.
// A Lease that a run still holds is taken over first, once that run has not renewed it for its
// duration (a run killed after its last lower), as any scale-in takes it over.
func clearFinished(ctx context.Context, r inventory.Reader, o leaseRun) error {
	s, err := r.Lease(ctx)
	if err != nil || s.Object == nil || (s.Unregistering != 0 && s.Unregistered != s.Unregistering) {
		return err
	}
	if s.Holder != "" && s.Holder != o.holder {
		l, err := acquire(ctx, r, o)
		if err != nil {
			return err
		}
		l.release(true)
		return nil
	}
	return deleteFinished(ctx, r)
}

// deleteFinished deletes a scale-in Lease that no run holds, for a cluster already at its
// target: the scale-in it recorded has nothing left to do. The delete is conditional on the
// version read, so a run that takes the Lease meanwhile keeps it.
func deleteFinished(ctx context.Context, r inventory.Reader) error {
	s, err := r.Lease(ctx)
	if err != nil || s.Object == nil || s.Holder != "" {
		return err
	}
	rv := s.Object.ResourceVersion
	err = r.Kube.CoordinationV1().Leases(r.Namespace).Delete(ctx, s.Object.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting the finished scale-in's Lease %s in namespace %s: %w", s.Object.Name, r.Namespace, err)
	}
	return nil
}
