package cmd

import (
	"context"
	"fmt"
	"sync"

	helmrelease "helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/access"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/edition"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/license"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/release"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// State is everything preflight and scale read from the cluster.
type State struct {
	Latest  *helmrelease.Release
	Info    release.Info
	Cluster inventory.ClusterState
	Chunk   inventory.Set
	Meta    inventory.Set
	Input   *preflight.Input
}

// gather reads the release history, the IOMeshCluster, the chunk/meta StatefulSets and pods, the
// nodes and the user's permissions, concurrently, and builds the preflight input for target.
func (c *Common) gather(ctx context.Context, target preflight.Target, checkPermissions bool) (*State, error) {
	reader, err := c.Reader()
	if err != nil {
		return nil, err
	}
	helm, err := c.Helm()
	if err != nil {
		return nil, err
	}
	kube, err := c.Kube()
	if err != nil {
		return nil, err
	}
	st := &State{}
	var (
		wg                        sync.WaitGroup
		histErr, compErr, nodeErr error
		hist                      []*helmrelease.Release
		nodes                     []corev1.Node
		missing                   []access.Need
		permErr                   error
	)
	wg.Add(4)
	go func() {
		defer wg.Done()
		hist, histErr = release.History(helm, c.Release, c.Namespace())
		if histErr != nil || !checkPermissions {
			return
		}
		latest := hist[len(hist)-1]
		missing, permErr = access.Missing(ctx, kube, c.Namespace(), access.ScaleNeeds(c.Namespace(), latest.Manifest))
	}()
	go func() { defer wg.Done(); st.Cluster = reader.IOMeshCluster(ctx) }()
	go func() { defer wg.Done(); st.Chunk, st.Meta, compErr = reader.Components(ctx) }()
	go func() { defer wg.Done(); nodes, nodeErr = reader.Nodes(ctx) }()
	wg.Wait()
	for _, err := range []error{histErr, compErr, nodeErr} {
		if err != nil {
			return nil, err
		}
	}
	st.Latest = hist[len(hist)-1]
	if st.Info, err = release.Describe(st.Latest); err != nil {
		return nil, err
	}
	in := &preflight.Input{
		Namespace: c.Namespace(), Release: c.Release,
		ReleaseStatus: st.Info.Status, Revision: st.Info.Revision, ReleaseDescription: st.Info.Description,
		Nodes: nodes, ChunkPods: st.Chunk.Pods, MetaPods: st.Meta.Pods,
		PermissionsChecked: checkPermissions, Missing: missing, PermissionsErr: permErr,
		Target: target, Now: c.Now(),
	}
	for i := len(hist) - 2; i >= 0; i-- {
		if s := hist[i].Info.Status; s == helmrelease.StatusDeployed || s == helmrelease.StatusSuperseded {
			in.LastDeployed = hist[i].Version
			break
		}
	}
	in.Replicas, in.ReplicasErr = values.ReadReplicas(st.Info.Effective)
	in.Edition = edition.Resolve(inventory.EditionInputs(values.Edition(st.Info.Effective), st.Cluster, st.Chunk, st.Meta))
	layout := in.Replicas.Layout
	if layout == "" {
		layout = values.Nested
	}
	var perr error
	if in.ChunkPolicy, perr = placement.PolicyFromValues(st.Info.Effective, layout, "chunk"); perr != nil {
		in.PolicyErr = perr
	}
	if in.MetaPolicy, perr = placement.PolicyFromValues(st.Info.Effective, layout, "meta"); perr != nil {
		in.PolicyErr = perr
	}
	in.ClusterMissing, in.ClusterErr = st.Cluster.Missing, st.Cluster.Err
	switch {
	case st.Cluster.Err != nil:
		in.LicenseMissing = st.Cluster.Err.Error()
	case st.Cluster.Missing != "":
		in.LicenseMissing = st.Cluster.Missing
	default:
		if lic, ok := license.FromStatus(st.Cluster.Object.Object); ok {
			in.License = &lic
		} else {
			in.LicenseMissing = fmt.Sprintf("IOMeshCluster %q has no status.license yet", c.Release)
		}
	}
	st.Input = in
	return st, nil
}
