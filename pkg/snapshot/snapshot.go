// Package snapshot reads one IOMesh cluster from the API server in a single concurrent pass and
// derives every fact the commands share, once: the release and its values, the replica counts and
// value layout, the edition and where it was read, the licence (or why there is none), the chunk
// and meta pods with the selector that finds them, the nodes and the podPolicies. It may not
// import the engine, the views or the commands (depguard).
package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"helm.sh/helm/v4/pkg/action"
	release "helm.sh/helm/v4/pkg/release/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/access"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/edition"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/gitops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// Sources are the clients a snapshot reads through.
type Sources struct {
	Reader inventory.Reader
	Helm   *action.Configuration
	// Releases, when set, is the release read shared with someone else (scale prepares the
	// chart from it while the rest is read); nil reads the release here.
	Releases *Releases
}

// Releases reads a release's revisions once, for whoever asks first, and derives what the
// newest one says (its description and replica counts) once.
type Releases struct {
	get func() (ReleaseFacts, error)
}

// ReleaseFacts are the revisions read and what the newest says.
type ReleaseFacts struct {
	History []*release.Release
	Latest  *release.Release
	Info    helmops.Info
	// Base is the revision a scale starts from: the newest, or, when the newest failed, the last
	// one deployed (Helm upgrades from it; the failed one stays in the history). Replicas are
	// its counts.
	Base        *release.Release
	BaseInfo    helmops.Info
	Replicas    values.Replicas
	ReplicasErr error
	// Owner is the GitOps controller the newest revision's objects name (nil: none).
	Owner *gitops.Owner
}

// NewReleases reads the release name in namespace through cfg: every revision with history,
// otherwise only the newest.
func NewReleases(cfg *action.Configuration, name, namespace string, history bool) *Releases {
	return &Releases{get: sync.OnceValues(func() (ReleaseFacts, error) {
		var f ReleaseFacts
		var err error
		if history {
			f.History, err = helmops.History(cfg, name, namespace)
		} else {
			var latest *release.Release
			if latest, err = helmops.Latest(cfg, name, namespace); err == nil {
				f.History = []*release.Release{latest}
			}
		}
		if err != nil {
			return f, err
		}
		f.Latest = f.History[len(f.History)-1]
		if f.Info, err = helmops.Describe(f.Latest); err != nil {
			return f, err
		}
		f.Base, f.BaseInfo = f.Latest, f.Info
		if good := helmops.LastGood(f.History); helmops.Failed(f.Info.Status) && good > 0 {
			for _, r := range f.History {
				if r.Version == good {
					f.Base = r
				}
			}
			if f.BaseInfo, err = helmops.Describe(f.Base); err != nil {
				return f, err
			}
		}
		f.Replicas, f.ReplicasErr = values.ReadReplicas(f.BaseInfo.Effective)
		f.Owner = gitops.Detect(gitops.FromManifest(f.Latest.Manifest))
		return f, nil
	})}
}

// Get waits for the read.
func (r *Releases) Get() (ReleaseFacts, error) { return r.get() }

// Options choose what to read beyond the release, the IOMeshCluster and the pods.
type Options struct {
	// History reads every stored revision (to find the last good one); otherwise only the newest.
	History bool
	// Nodes lists the nodes (placement) and, in one list, the pods of the DaemonSets that say
	// whether each node is ready for IOMesh (prepare-csi, the CSI node plugin).
	Nodes bool
	// Permissions asks which of the permissions a scale needs the user lacks; HostAddresses
	// adds the exec that --exec-storage-network uses.
	Permissions   bool
	HostAddresses bool
	// Disks lists the BlockDevices; Room lists every running pod (one list) for the nodes' room.
	Disks bool
	Room  bool
	// Operator reads the release's operator Deployment (the webhook comes from the manifest).
	Operator bool
	// Target, when it removes pods, reads what a removal needs (ReadScaleIn) and asks for its
	// permissions too; ChunkIDs are the chunks the user named for the pods removed.
	Target   preflight.Target
	ChunkIDs []int64
	// NoChunk are the removed pods a person stated hold no chunk (--no-chunk).
	NoChunk []string
	Now     time.Time
}

// Snapshot is the cluster as read at one moment, with what follows from it.
type Snapshot struct {
	Namespace string
	Release   string
	Now       time.Time

	// ReleaseFacts are the release as read, whole: Latest (the newest revision) and Info, Base
	// and BaseInfo (the revision a scale starts from, whose counts, requests and policies these
	// are), Replicas, and the GitOps Owner the manifest names. For a directly managed cluster
	// Info, BaseInfo and Replicas come from the IOMeshCluster and Latest is nil. LastDeployed is
	// the newest earlier revision that was deployed or superseded (what a rollback returns to),
	// 0 if none.
	ReleaseFacts
	LastDeployed int
	// LastDeployedReplicas are that revision's counts (nil: none, or not readable): whether a
	// rollback to it would remove pods.
	LastDeployedReplicas *values.Replicas
	// Direct says there is no Helm release: the IOMeshCluster of that name is managed directly
	// (applied with kubectl, as the multi-cluster doc does). Latest is then nil.
	Direct bool

	Cluster inventory.ClusterState
	Chunk   inventory.Set
	Meta    inventory.Set
	// PodSelector finds both components' pods in one list or watch; "" when it cannot.
	PodSelector string
	Nodes       []corev1.Node

	Edition edition.Result
	// License is nil when none could be read; LicenseMissing says why.
	License        *edition.License
	LicenseMissing string

	// Storage is what IOMesh reports on the IOMeshCluster's status, chunks matched to nodes.
	Storage iomeshcluster.View

	// GitOps is the GitOps controller that owns the cluster (nil: none marks it).
	GitOps *gitops.Owner
	// Operator is the IOMesh operator and its webhook (nil: not read).
	Operator *inventory.OperatorState

	// Policies are where the base revision's values let each component's pods go.
	preflight.Policies

	Permissions access.Review

	// Disks are the BlockDevices and the live IOMeshCluster's deviceMap; Room what the pods on
	// each node take and what one new pod requests. The checks read both as they are.
	preflight.Disks
	preflight.Room

	// ScaleIn is what removing pods needs, read by ReadScaleIn (nil: not read, or none removed).
	ScaleIn *preflight.ScaleInFacts

	// Readiness is what says whether each node is ready for IOMesh (read with the nodes).
	Readiness preflight.Readiness
}

// Read reads the cluster concurrently and derives the shared facts. It fails only when the
// release, the StatefulSets and pods or the nodes cannot be read; a missing IOMeshCluster or
// licence is a fact, not an error.
func Read(ctx context.Context, src Sources, opt Options) (*Snapshot, error) {
	r := src.Reader
	s := &Snapshot{Namespace: r.Namespace, Release: r.Release, Now: opt.Now}
	s.Permissions.Checked = opt.Permissions
	var (
		// basics are the release, the IOMeshCluster and the components: what the requests of a
		// new pod follow from, so the room read can choose its form once they are in.
		basics, wg               sync.WaitGroup
		relErr, compErr, nodeErr error
		rel                      ReleaseFacts
	)
	releases := src.Releases
	if releases == nil {
		releases = NewReleases(src.Helm, r.Release, r.Namespace, opt.History)
	}
	basics.Add(3)
	wg.Add(1)
	go func() {
		defer wg.Done()
		func() {
			defer basics.Done()
			rel, relErr = releases.Get()
		}()
		if relErr != nil {
			return
		}
		if opt.Nodes {
			wg.Add(1)
			go func() { defer wg.Done(); s.Readiness = ReadReadiness(ctx, r, rel) }()
		}
		if opt.Operator {
			wg.Add(1)
			go func() {
				defer wg.Done()
				op := r.Operator(ctx, rel.Latest.Manifest)
				s.Operator = &op
			}()
		}
		if !opt.Permissions {
			return
		}
		// Exec reaches the pods there are now; the disks are asked for in this namespace.
		scope := accessScope(r, rel.Latest, rel.Replicas.Meta, rel.Replicas.Chunk, r.Namespace)
		scaleIn := rel.ReplicasErr == nil && rel.Replicas.Removes(opt.Target.Chunk, opt.Target.Meta)
		needs := access.ScaleNeeds(scope, scaleIn)
		if opt.HostAddresses {
			needs = append(needs, access.StorageNetworkExecNeeds(scope)...)
		}
		s.Permissions.Missing, s.Permissions.Err = access.Missing(ctx, r.Kube, r.Namespace, needs)
	}()
	go func() { defer basics.Done(); s.Cluster = r.IOMeshCluster(ctx) }()
	go func() { defer basics.Done(); s.Chunk, s.Meta, compErr = r.Components(ctx) }()
	if opt.Nodes {
		wg.Add(1)
		go func() { defer wg.Done(); s.Nodes, nodeErr = r.Nodes(ctx) }()
	}
	var devs []unstructured.Unstructured
	if opt.Disks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			devs, s.DisksAbsent, s.DisksErr = r.BlockDevices(ctx, r.Namespace)
		}()
	}
	basics.Wait()
	if err := s.resolve(rel, relErr, compErr); err != nil {
		wg.Wait()
		return nil, err
	}
	s.deriveRequests()
	var running []corev1.Pod
	var perNode map[string]int
	if opt.Room {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A new pod that requests nothing fits wherever the pod count allows (as the
			// scheduler judges it), so the pods per node are all the room rules need: the
			// server's Table of every pod without the objects, several times cheaper than the pods.
			if placement.Requests(s.ChunkWant) || placement.Requests(s.MetaWant) {
				running, s.RoomErr = r.RunningPods(ctx)
			} else {
				perNode, s.RoomErr = r.RunningPodsPerNode(ctx)
			}
		}()
	}
	if s.Direct && opt.Permissions {
		_, _, removes := s.Removes(opt.Target)
		scope := accessScope(r, nil, s.Replicas.Meta, s.Replicas.Chunk, s.blockDeviceNamespace())
		needs := access.DirectScaleNeeds(scope, removes)
		if opt.HostAddresses {
			needs = append(needs, access.StorageNetworkExecNeeds(scope)...)
		}
		s.Permissions.Missing, s.Permissions.Err = access.Missing(ctx, r.Kube, r.Namespace, needs)
	}
	wg.Wait()
	if nodeErr != nil {
		return nil, nodeErr
	}
	if opt.Disks {
		// A directly managed cluster may keep its BlockDevices in another namespace.
		if ns := s.blockDeviceNamespace(); ns != r.Namespace && s.DisksErr == nil {
			devs, s.DisksAbsent, s.DisksErr = r.BlockDevices(ctx, ns)
		}
		s.DisksRead = s.DisksErr == nil && s.DisksAbsent == nil
		s.Devices = placement.BlockDevicesFrom(devs)
	}
	if opt.Room && s.RoomErr == nil {
		if perNode != nil {
			s.Usage = placement.UsageFromCounts(perNode)
		} else {
			s.Usage = placement.UsageByNode(running)
		}
	}
	s.derive()
	if s.GitOps != nil {
		r.ReadOwner(ctx, s.GitOps)
	}
	s.ReadScaleIn(ctx, r, opt.Target, opt.ChunkIDs, opt.NoChunk)
	return s, nil
}

// resolve settles what manages the cluster: the release read, or, when there is none, an
// IOMeshCluster of that name applied directly.
func (s *Snapshot) resolve(rel ReleaseFacts, relErr, compErr error) error {
	var notFound *helmops.ReleaseNotFoundError
	if errors.As(relErr, &notFound) {
		if s.Cluster.Object == nil {
			return fmt.Errorf("%w; no IOMeshCluster %q there either (all of them: `kubectl iomesh status -A`)", relErr, s.Release)
		}
		relErr, s.Direct = nil, true
	}
	for _, err := range []error{relErr, compErr} {
		if err != nil {
			return err
		}
	}
	if s.Direct {
		s.Info = helmops.Info{Name: s.Release, Namespace: s.Namespace, Effective: DirectValues(s.Cluster.Object.Spec)}
		s.Info.UserValues = s.Info.Effective
		s.BaseInfo = s.Info
		s.Replicas, s.ReplicasErr = values.ReadReplicas(s.Info.Effective)
		return nil
	}
	s.ReleaseFacts = rel
	s.LastDeployed = helmops.LastGood(rel.History)
	s.LastDeployedReplicas = lastDeployedReplicas(rel, s.LastDeployed)
	return nil
}

// DirectValues are a directly managed IOMeshCluster's spec in the chart's value layout
// (iomesh.chunk.replicaCount, podPolicy, resources), so the rules that read release values read
// such a cluster the same way. The edition is left to the spec, licence and image tags.
func DirectValues(spec iomeshcluster.Spec) values.Map {
	io := values.Map{}
	for _, c := range []string{string(inventory.Chunk), string(inventory.Meta)} {
		comp := spec.Component(c)
		m := values.Map{}
		if comp.Replicas != nil {
			m["replicaCount"] = *comp.Replicas
		}
		for key, raw := range map[string][]byte{"podPolicy": comp.PodPolicy, "resources": comp.Resources} {
			var v interface{}
			if len(raw) > 0 && json.Unmarshal(raw, &v) == nil {
				m[key] = v
			}
		}
		io[c] = m
	}
	return values.Map{"iomesh": io}
}

// ResourceVersion is the IOMeshCluster's resourceVersion as read ("" when there is none).
func (s *Snapshot) ResourceVersion() string {
	if s.Cluster.Object == nil {
		return ""
	}
	return s.Cluster.Object.ResourceVersion
}

// blockDeviceNamespace is where the cluster's BlockDevices live.
func (s *Snapshot) blockDeviceNamespace() string {
	if ns := s.Cluster.Object.BlockDeviceNamespace(); ns != "" {
		return ns
	}
	return s.Namespace
}

// layout is the values' layout, the nested one when the counts could not be read.
func (s *Snapshot) layout() values.Layout {
	if s.Replicas.Layout == "" {
		return values.Nested
	}
	return s.Replicas.Layout
}

// deriveRequests reads the replica counts and what one new chunk or meta pod requests, from the
// values and the components' pods, before the room is read (it decides how).
func (s *Snapshot) deriveRequests() {
	eff := s.BaseInfo.Effective
	chunkReq, err1 := placement.RequestsFromValues(eff, s.layout(), string(inventory.Chunk))
	metaReq, err2 := placement.RequestsFromValues(eff, s.layout(), string(inventory.Meta))
	s.RequestsErr = errors.Join(err1, err2)
	s.ChunkWant = placement.PodRequestsOf(chunkReq, s.Chunk.Pods)
	s.MetaWant = placement.PodRequestsOf(metaReq, s.Meta.Pods)
}

// derive computes every other fact that follows from what was read.
func (s *Snapshot) derive() {
	eff := s.BaseInfo.Effective
	s.Edition = edition.Resolve(inventory.EditionInputs(values.Edition(eff), s.Cluster, s.Chunk, s.Meta))
	s.PodSelector = inventory.PodSelector(s.Chunk, s.Meta)
	layout := s.layout()
	var err error
	if s.ChunkPolicy, err = placement.PolicyFromValues(eff, layout, string(inventory.Chunk)); err != nil {
		s.PolicyErr = err
	}
	if s.MetaPolicy, err = placement.PolicyFromValues(eff, layout, string(inventory.Meta)); err != nil {
		s.PolicyErr = err
	}
	s.License, s.LicenseMissing = licenseOf(s.Cluster, s.Release)
	s.GitOps = s.owner()
	if s.Cluster.Object != nil {
		s.Storage = iomeshcluster.ViewOf(s.Cluster.Object)
		s.Storage.Match(s.Nodes, s.Chunk.Pods)
		s.DeviceMap = placement.DeviceMapFromSpec(s.Cluster.Object.Spec)
	}
}

// owner is the GitOps controller the IOMeshCluster's labels and annotations name, else the one
// the release's objects name.
func (s *Snapshot) owner() *gitops.Owner {
	if c := s.Cluster.Object; c != nil {
		if o := gitops.Detect(gitops.Marks{Labels: c.Labels, Annotations: c.Annotations, HelmRelease: !s.Direct}); o != nil {
			return o
		}
	}
	if s.Owner != nil {
		o := *s.Owner // ReadOwner fills in the copy, not the shared release facts
		return &o
	}
	return nil
}

// licenseOf reads status.license, or says why there is none.
func licenseOf(c inventory.ClusterState, name string) (*edition.License, string) {
	if c.Err != nil {
		return nil, c.Err.Error()
	}
	if c.Absent != nil {
		return nil, c.Absent.Text
	}
	if lic, ok := edition.LicenseOf(c.Object); ok {
		return &lic, ""
	}
	return nil, fmt.Sprintf("IOMeshCluster %q has no status.license yet (the operator publishes it once the cluster is up)", name)
}

// PreflightInput is the checks' input for target.
func (s *Snapshot) PreflightInput(target preflight.Target) *preflight.Input {
	return &preflight.Input{
		Namespace: s.Namespace, Release: s.Release,
		ReleaseStatus: s.Info.Status, Revision: s.Info.Revision, LastDeployed: s.LastDeployed, LastDeployedReplicas: s.LastDeployedReplicas,
		ReleaseDescription: s.Info.Description, Direct: s.Direct,
		Replicas: s.Replicas, ReplicasErr: s.ReplicasErr, Counts: s.Counts(),
		Edition: s.Edition, Cluster: s.Cluster,
		License: s.License, LicenseMissing: s.LicenseMissing,
		Nodes: s.Nodes, ChunkPods: s.Chunk.Pods, MetaPods: s.Meta.Pods,
		Policies: s.Policies, Permissions: s.Permissions, Disks: s.Disks, Room: s.Room,
		Storage: s.Storage, LeaderPods: iomeshcluster.LeaderPods(s.Meta.Pods),
		GitOps: s.GitOps, Operator: s.Operator,
		ScaleIn: s.ScaleIn, Readiness: s.Readiness,
		Target: target, Now: s.Now,
	}
}

// Entry is one IOMesh cluster found across namespaces: its IOMeshCluster, its chunk and meta
// pods, and its Helm release when one manages it.
type Entry struct {
	Cluster *iomeshcluster.IOMeshCluster
	Chunk   []corev1.Pod
	Meta    []corev1.Pod
	// Release describes the managing Helm release (nil: managed directly); ReleaseErr says why it
	// could not be read.
	Release    *helmops.Info
	ReleaseErr error
	// Edition and Storage are derived as Read derives them for one cluster.
	Edition edition.Result
	Storage iomeshcluster.View
	// GitOps is the GitOps controller the IOMeshCluster's marks name (nil: none).
	GitOps *gitops.Owner
}

// HelmFor gives the Helm configuration of a namespace.
type HelmFor func(namespace string) (*action.Configuration, error)

// ReadAll finds every IOMeshCluster in the Kubernetes cluster (one list), the pods of each
// namespace that holds one (one list per namespace) and the release of each Helm-managed one.
// absent says the IOMeshCluster API is not installed.
func ReadAll(ctx context.Context, r inventory.Reader, helmFor HelmFor) (entries []Entry, absent *inventory.Unavailable, err error) {
	list, absent, err := r.AllIOMeshClusters(ctx)
	if err != nil || absent != nil {
		return nil, absent, err
	}
	pods := map[string][]corev1.Pod{}
	for _, c := range list {
		ns := c.Namespace
		if _, ok := pods[ns]; ok {
			continue
		}
		if pods[ns], err = r.PodsIn(ctx, ns); err != nil {
			return nil, nil, err
		}
	}
	for _, c := range list {
		e := Entry{Cluster: c}
		in := inventory.Reader{Namespace: c.Namespace, Release: c.Name}
		e.Chunk = in.ByName(pods[c.Namespace], inventory.Chunk)
		e.Meta = in.ByName(pods[c.Namespace], inventory.Meta)
		if ManagedByHelm(c) {
			e.Release, e.ReleaseErr = latestInfo(helmFor, c.Namespace, c.Annotations[helmReleaseAnnotation])
		}
		valuesEdition := ""
		if e.Release != nil {
			valuesEdition = values.Edition(e.Release.Effective)
		}
		cluster := inventory.ClusterState{Object: c}
		chunk := inventory.Set{Component: inventory.Chunk, Pods: e.Chunk}
		meta := inventory.Set{Component: inventory.Meta, Pods: e.Meta}
		e.Edition = edition.Resolve(inventory.EditionInputs(valuesEdition, cluster, chunk, meta))
		e.Storage = iomeshcluster.ViewOf(c)
		e.GitOps = gitops.Detect(gitops.Marks{Labels: c.Labels, Annotations: c.Annotations, HelmRelease: ManagedByHelm(c)})
		entries = append(entries, e)
	}
	return entries, nil, nil
}

// helmReleaseAnnotation is set by Helm on every object it creates.
const helmReleaseAnnotation = "meta.helm.sh/release-name"

// ManagedByHelm reports an object created by a Helm release.
func ManagedByHelm(obj *iomeshcluster.IOMeshCluster) bool {
	return obj.Annotations[helmReleaseAnnotation] != ""
}

func latestInfo(helmFor HelmFor, namespace, name string) (*helmops.Info, error) {
	cfg, err := helmFor(namespace)
	if err != nil {
		return nil, err
	}
	rel, err := helmops.Latest(cfg, name, namespace)
	if err != nil {
		return nil, err
	}
	info, err := helmops.Describe(rel)
	return &info, err
}

// lastDeployedReplicas are the counts of revision rev of the release (nil when there is none or
// its values cannot be read).
func lastDeployedReplicas(rel ReleaseFacts, rev int) *values.Replicas {
	if rev == 0 {
		return nil
	}
	if rel.Base != nil && rel.Base.Version == rev && rel.ReplicasErr == nil {
		r := rel.Replicas
		return &r
	}
	for _, h := range rel.History {
		if h.Version != rev {
			continue
		}
		info, err := helmops.Describe(h)
		if err != nil {
			return nil
		}
		r, err := values.ReadReplicas(info.Effective)
		if err != nil {
			return nil
		}
		return &r
	}
	return nil
}
