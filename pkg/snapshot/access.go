package snapshot

import (
	release "helm.sh/helm/v4/pkg/release/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/access"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/edition"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
)

// accessScope is what the roles and the permission check name for a cluster: the objects an
// upgrade of latest writes (its manifest and upgrade hooks; none for a direct cluster), the
// operator and its webhook, and how many meta and chunk pods a scale-in may exec into.
func accessScope(r inventory.Reader, latest *release.Release, metaPods, chunkPods int, diskNamespace string) access.Scope {
	s := access.Scope{
		Namespace: r.Namespace, Release: r.Release, MetaPods: metaPods, ChunkPods: chunkPods,
		DiskNamespace: diskNamespace, Lease: inventory.LeaseName(r.Release),
	}
	if latest == nil {
		return s
	}
	s.Objects = access.ObjectsOf(latest.Manifest, r.Namespace, false)
	// An upgrade keeps the apply method of the newest revision.
	s.ServerSideApply = helmops.ApplyMethodOf(latest) == helmops.ServerSideApply
	for _, h := range latest.Hooks {
		for _, e := range h.Events {
			if e == release.HookPreUpgrade || e == release.HookPostUpgrade {
				s.Objects = append(s.Objects, access.ObjectsOf(h.Manifest, r.Namespace, true)...)
				break
			}
		}
	}
	s.Operator, s.Webhook, _ = inventory.ReleaseOperator(latest.Manifest, r.Release)
	return s
}

// RoleScope is what `kubectl iomesh rbac` grants for this cluster: every object of the release,
// exec on every meta pod IOMesh may run and on every chunk pod the licence allows (the
// Enterprise limit when no licence says), and the disks where the cluster keeps them.
func (s *Snapshot) RoleScope(r inventory.Reader) access.Scope {
	chunks := edition.ChunkMax
	if s.License != nil && s.License.MaxChunkNum != nil && *s.License.MaxChunkNum > 0 {
		chunks = *s.License.MaxChunkNum
	}
	if s.Replicas.Chunk > chunks {
		chunks = s.Replicas.Chunk
	}
	return accessScope(r, s.Latest, edition.MetaLarge, chunks, s.blockDeviceNamespace())
}
