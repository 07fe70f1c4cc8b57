// Package preflight holds the IOMesh scale-out rules as data: each check has a stable ID, a
// category and a function over plain inputs that returns a verdict, the reason with the numbers
// that decided it, and what to do. The runner runs them all; renderers live elsewhere. It may not
// import the snapshot, the engine, the views or the commands (depguard).
package preflight

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/access"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/edition"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/gitops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// Verdict is a check's outcome.
type Verdict string

const (
	Pass    Verdict = "pass"
	Warn    Verdict = "warn"
	Fail    Verdict = "fail"
	Skipped Verdict = "skipped"
	Error   Verdict = "error"
)

// rank orders verdicts worst first.
func (v Verdict) rank() int {
	switch v {
	case Fail:
		return 0
	case Error:
		return 1
	case Warn:
		return 2
	case Skipped:
		return 4
	}
	return 3
}

// Worse reports whether v is worse than o.
func (v Verdict) Worse(o Verdict) bool { return v.rank() < o.rank() }

// Documentation pages the hints point at.
const (
	DocScaleOut     = "https://docs.iomesh.com/cluster-operations/scale-out-cluster"
	DocScaleIn      = "https://docs.iomesh.com/cluster-operations/scale-down-cluster"
	DocLicense      = "https://docs.iomesh.com/cluster-operations/manage-license"
	DocPrerequisite = "https://docs.iomesh.com/deploy-iomesh-cluster/prerequisites"
	DocReplaceDisk  = "https://docs.iomesh.com/cluster-operations/replace-failed-disk"
	DocSetup        = "https://docs.iomesh.com/deploy-iomesh-cluster/setup-iomesh"
)

// ExpiryWarning is how many days before the licence expires a warning starts.
const ExpiryWarning = 30

// Target is the requested replica counts; nil means "leave as is".
type Target struct {
	Chunk *int `json:"chunk,omitempty"`
	Meta  *int `json:"meta,omitempty"`
}

// Empty reports a target that asks for nothing.
func (t Target) Empty() bool { return t.Chunk == nil && t.Meta == nil }

// String is the target for people ("5 chunk, 5 meta"); "" when empty.
func (t Target) String() string {
	var parts []string
	if t.Chunk != nil {
		parts = append(parts, fmt.Sprintf("%d chunk", *t.Chunk))
	}
	if t.Meta != nil {
		parts = append(parts, fmt.Sprintf("%d meta", *t.Meta))
	}
	return strings.Join(parts, ", ")
}

// Args is the target as command-line flags (" --chunk 5 --meta 5"), to repeat a command.
func (t Target) Args() string {
	s := ""
	if t.Chunk != nil {
		s += fmt.Sprintf(" --chunk %d", *t.Chunk)
	}
	if t.Meta != nil {
		s += fmt.Sprintf(" --meta %d", *t.Meta)
	}
	return s
}

// Input is everything the checks look at, read elsewhere.
type Input struct {
	Namespace string
	Release   string
	// Counts are where each component's count lives (none: not read).
	Counts []Counts
	// ReleaseStatus and Revision are the newest revision's; LastDeployed is the newest revision
	// that was deployed or superseded (what a rollback would return to), 0 if none.
	ReleaseStatus      string
	Revision           int
	LastDeployed       int
	ReleaseDescription string
	// LastDeployedReplicas are revision LastDeployed's counts (nil: not known).
	LastDeployedReplicas *values.Replicas
	// Direct says the IOMeshCluster has no Helm release: it is managed directly.
	Direct bool
	// GitOps is the controller that owns the cluster (nil: none).
	GitOps *gitops.Owner
	// Operator is the IOMesh operator and its webhook (nil: not read).
	Operator *inventory.OperatorState

	// Replicas are the current counts from the values; ReplicasErr says why they are unknown.
	Replicas    values.Replicas
	ReplicasErr error

	Edition edition.Result

	// Cluster is the IOMeshCluster as read: the object, or why it is absent or unreadable.
	Cluster inventory.ClusterState

	// License is nil when none could be read; LicenseMissing says why.
	License        *edition.License
	LicenseMissing string

	Nodes     []corev1.Node
	ChunkPods []corev1.Pod
	MetaPods  []corev1.Pod
	Policies

	Permissions access.Review

	// Disks and Room are zero when not read.
	Disks
	Room

	// Storage is IOMesh's own report; LeaderPods are the meta pods labelled leader.
	Storage    iomeshcluster.View
	LeaderPods []string

	// Readiness is what says whether each node is ready for IOMesh (zero: not read).
	Readiness Readiness

	// ScaleIn is what removing pods needs (nil: the target removes none).
	ScaleIn *ScaleInFacts

	Target Target
	Now    time.Time
}

// ScaleInFacts are what the removal checks read of a scale-in.
type ScaleInFacts struct {
	Procedure iomeshcluster.Procedure
	// Removals are the chunk pods to remove, highest ordinal first, with their chunks. IDsErr
	// says why the --chunk-id values cannot name them (duplicates, not one per pod).
	Removals []iomeshcluster.PodRemoval
	IDsErr   error
	// Listing is the chunk pods, their nodes and the chunks IOMesh lists, for a person to
	// correct --chunk-id by.
	Listing string
	// MetaRemovals are the meta pods to remove, highest ordinal first.
	MetaRemovals []string
	// Room is the data beside the capacity that remains; RoomErr says why it is unknown.
	Room    iomeshcluster.Room
	RoomErr error
	// Migration is `iomeshctl summary cluster` on MigrationPod; MigrationErr says why it was not
	// read.
	Migration    *iomeshcluster.Migration
	MigrationPod string
	MigrationErr error
	// InFlight is the chunk an earlier run started to unregister (0: none), with that run's
	// holder and start.
	InFlight    int64
	InFlightPod string
	InFlightBy  string
	// Lowering is the lower an earlier run recorded on the Lease (To < 0: none).
	Lowering inventory.Lowering
}

// Policies are where the release values let each component's pods go; PolicyErr says why they
// could not be read.
type Policies struct {
	ChunkPolicy placement.Policy
	MetaPolicy  placement.Policy
	PolicyErr   error
}

// Disks are the BlockDevices and the live IOMeshCluster's deviceMap. DisksRead says the
// BlockDevices were listed; DisksAbsent that their API is not installed or may not be read;
// DisksErr that listing them failed.
type Disks struct {
	Devices     []placement.BlockDevice
	DisksRead   bool
	DisksAbsent *inventory.Unavailable
	DisksErr    error
	DeviceMap   placement.DeviceMap
}

// Room is what the pods on each node take (nil when not read) and what one new chunk or meta
// pod requests. RequestsErr says the requests could not be read from the values; RoomErr that
// the pods could not be listed, so room is not judged.
type Room struct {
	Usage       map[string]placement.Usage
	ChunkWant   corev1.ResourceList
	MetaWant    corev1.ResourceList
	RequestsErr error
	RoomErr     error
}

// ChunkRoom and MetaRoom are the nodes' room for one new pod of each component.
func (r Room) ChunkRoom() placement.RoomCheck {
	return placement.RoomCheck{Usage: r.Usage, Want: r.ChunkWant}
}

func (r Room) MetaRoom() placement.RoomCheck {
	return placement.RoomCheck{Usage: r.Usage, Want: r.MetaWant}
}

// Result is one check's outcome.
type Result struct {
	ID       string  `json:"id"`
	Category string  `json:"category"`
	Title    string  `json:"title"`
	Verdict  Verdict `json:"verdict"`
	Reason   string  `json:"reason"`
	Hint     string  `json:"hint,omitempty"`
	Doc      string  `json:"doc,omitempty"`
}

// Check is one rule.
type Check struct {
	ID       string
	Category string
	Title    string
	Run      func(*Facts) Result
}

// Limit is how far chunk pods can go, and what stops them.
type Limit struct {
	MaxChunk  int      `json:"maxChunk"`
	LimitedBy []string `json:"limitedBy"`
	MaxMeta   int      `json:"maxMeta"`
}
