package inventory

import (
	"k8s.io/cli-runtime/pkg/printers"

	"context"
	"fmt"
	"strconv"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The scale-in Lease: one run at a time acts on a cluster, and the chunk a run started to
// unregister is recorded on it, so that the next run knows the migration it sees is its own.
const (
	// UnregisteringAnnotation is the chunk whose unregister was started, and PodAnnotation the
	// pod it is for.
	UnregisteringAnnotation = "kubectl-iomesh.io/unregistering-chunk"
	PodAnnotation           = "kubectl-iomesh.io/unregistering-pod"
	// CommandAnnotation is the command that continues the scale-in.
	CommandAnnotation = "kubectl-iomesh.io/resume-command"
)

// LeaseName is the scale-in Lease of a cluster.
func LeaseName(release string) string { return release + "-scale-in" }

// ScaleInLease is the Lease as read.
type ScaleInLease struct {
	Object *coordinationv1.Lease
	// Holder is the run that holds it ("" when released). Whether that run still lives is
	// judged by watching it renew, never by comparing its clock with this machine's.
	Holder string
	// Unregistering is the chunk whose unregister a run started (0: none), for Pod.
	Unregistering int64
	Pod           string
	// Command continues the scale-in ("" when not recorded).
	Command string
}

// Lease reads the cluster's scale-in Lease (nil Object: there is none).
func (r Reader) Lease(ctx context.Context) (ScaleInLease, error) {
	l, err := r.Kube.CoordinationV1().Leases(r.Namespace).Get(ctx, LeaseName(r.Release), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ScaleInLease{}, nil
	}
	if err != nil {
		return ScaleInLease{}, fmt.Errorf("reading Lease %s in namespace %s: %w", LeaseName(r.Release), r.Namespace, err)
	}
	return LeaseOf(l), nil
}

// LeaseOf reads what a Lease says.
func LeaseOf(l *coordinationv1.Lease) ScaleInLease {
	// The texts are escaped: anyone who may write the Lease chooses them.
	s := ScaleInLease{Object: l, Pod: printers.EscapeTerminal(l.Annotations[PodAnnotation]), Command: printers.EscapeTerminal(l.Annotations[CommandAnnotation])}
	if l.Spec.HolderIdentity != nil {
		s.Holder = printers.EscapeTerminal(*l.Spec.HolderIdentity)
	}
	if id, err := strconv.ParseInt(l.Annotations[UnregisteringAnnotation], 10, 64); err == nil {
		s.Unregistering = id
	}
	return s
}
