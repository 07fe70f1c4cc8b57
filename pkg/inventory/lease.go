package inventory

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/printers"
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
	// UnregisteredAnnotation is the chunk whose unregister iomeshctl reported finished (it
	// returned without error), or that a person stated has left (--chunk-unregistered): the
	// completion, kept apart from the intent above.
	UnregisteredAnnotation = "kubectl-iomesh.io/unregistered-chunk"
	// LoweringAnnotation is the lower a run is writing ("chunk 5->4 revision 7"), recorded
	// before the write: it explains counts that have not yet caught up with it.
	LoweringAnnotation = "kubectl-iomesh.io/lowering"
	// RemovedAnnotation are the pods this scale-in has removed, each with its chunk
	// ("iomesh-chunk-4=5,iomesh-chunk-3=": none for iomesh-chunk-3): the same command, given
	// again, sets their --chunk-id and --no-chunk aside.
	RemovedAnnotation = "kubectl-iomesh.io/removed"
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
	// Unregistered is the chunk whose unregister finished (0: none seen finished).
	Unregistered int64
	// Lowering is the lower being written: component, the count it goes to, and the revision
	// (or generation) written (Lowering.To < 0: none recorded).
	Lowering Lowering
	// Command continues the scale-in ("" when not recorded).
	Command string
	// Removed are the pods this scale-in removed, with their chunks (0: none).
	Removed map[string]int64
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
	if id, err := strconv.ParseInt(l.Annotations[UnregisteredAnnotation], 10, 64); err == nil {
		s.Unregistered = id
	}
	s.Lowering = ParseLowering(l.Annotations[LoweringAnnotation])
	s.Removed = ParseRemoved(l.Annotations[RemovedAnnotation])
	return s
}

// ParseRemoved reads a RemovedAnnotation; entries it cannot read are left out.
func ParseRemoved(v string) map[string]int64 {
	out := map[string]int64{}
	for _, e := range strings.Split(v, ",") {
		pod, id, ok := strings.Cut(e, "=")
		if !ok || pod == "" {
			continue
		}
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil && id != "" {
			continue
		}
		out[pod] = n
	}
	return out
}

// FormatRemoved is a RemovedAnnotation, in a stable order.
func FormatRemoved(m map[string]int64) string {
	var out []string
	for pod, id := range m {
		e := pod + "="
		if id != 0 {
			e += strconv.FormatInt(id, 10)
		}
		out = append(out, e)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// Lowering is a lower of one count, as recorded on the Lease before it is written.
type Lowering struct {
	Component string
	From, To  int
	Version   int64
}

// DescriptionPrefix starts the description of every revision this tool writes; HelmPreparing is
// the description Helm gives a revision it has recorded and not yet applied (it puts the
// upgrade's own only once the upgrade ends).
const (
	DescriptionPrefix = "kubectl iomesh scale: "
	HelmPreparing     = "Preparing upgrade"
)

// Wrote says a revision (its number, description, and the lowered component's count in its
// values, when known) is the one this lower writes: the revision recorded before the upgrade
// began, with this tool's description for it or, while Helm writes it, Helm's own and the
// lower's count.
func (l Lowering) Wrote(version int64, description string, count int, countKnown bool) bool {
	if l.To < 0 || l.Version != version {
		return false
	}
	if strings.HasPrefix(description, DescriptionPrefix) {
		return strings.Contains(description, fmt.Sprintf(" %s %d->%d", l.Component, l.From, l.To))
	}
	return description == HelmPreparing && countKnown && count == l.To
}

// String is the annotation's text.
func (l Lowering) String() string {
	return fmt.Sprintf("%s %d->%d revision %d", l.Component, l.From, l.To, l.Version)
}

// ParseLowering reads a LoweringAnnotation; To is -1 when there is none or it is not readable.
func ParseLowering(s string) Lowering {
	var l Lowering
	if n, err := fmt.Sscanf(s, "%s %d->%d revision %d", &l.Component, &l.From, &l.To, &l.Version); err != nil || n != 4 || (l.Component != string(Chunk) && l.Component != string(Meta)) {
		return Lowering{To: -1}
	}
	return l
}
