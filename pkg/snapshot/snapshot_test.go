package snapshot

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	rcommon "helm.sh/helm/v4/pkg/release/common"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/edition"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

func read(t *testing.T, rels []tf.Rel, opt Options, objs ...runtime.Object) *Snapshot {
	t.Helper()
	c := tf.NewClients(t, rels, objs...)
	r := inventory.Reader{Kube: c.Kube, Dynamic: c.Dynamic, Namespace: tf.Namespace, Release: tf.Release}
	opt.Now = tf.Now
	s, err := Read(context.Background(), Sources{Reader: r, Helm: c.Helm}, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func cluster() []runtime.Object {
	return []runtime.Object{
		tf.StatefulSet("chunk", 3, 3, "iomesh/zbs-chunkd:v5.3.0-rc13-enterprise"),
		tf.StatefulSet("meta", 3, 2, "iomesh/zbs-metad:v5.3.0-rc13-enterprise"),
		tf.Pod("chunk", 0, 3, "node-0", time.Hour, tf.Running),
		tf.Pod("meta", 0, 2, "node-0", time.Hour, tf.Running),
		tf.Node("node-0"),
	}
}

func TestReadDerivesOnce(t *testing.T) {
	vals := values.Map{"iomesh": values.Map{
		"chunk": values.Map{"replicaCount": 4, "podPolicy": values.Map{"nodeSelector": values.Map{"pool": "fast"}}},
	}}
	// The failed revision asked for 6; the counts and policies are the last deployed one's.
	failed := values.Map{"iomesh": values.Map{"chunk": values.Map{"replicaCount": 6}}}
	rels := []tf.Rel{{Revision: 1, Values: vals}, {Revision: 2, Status: rcommon.StatusFailed, Values: failed}}
	lic := map[string]interface{}{"maxChunkNum": int64(8), "softwareEdition": "ENTERPRISE"}
	s := read(t, rels, Options{History: true, Nodes: true}, append(cluster(), tf.IOMeshCluster("", lic))...)

	if s.Info.Revision != 2 || s.LastDeployed != 1 || s.Base.Version != 1 || s.BaseInfo.Revision != 1 {
		t.Fatalf("revision %d, last deployed %d, base %d; want 2, 1 and 1", s.Info.Revision, s.LastDeployed, s.Base.Version)
	}
	if s.Replicas.Chunk != 4 || s.Replicas.Meta != 3 || s.Replicas.Layout != values.Nested {
		t.Fatalf("replicas %+v", s.Replicas)
	}
	// No values edition: the licence decides before the image tags.
	if s.Edition.Edition != edition.Enterprise || s.Edition.Source != edition.SourceLicense {
		t.Fatalf("edition %+v", s.Edition)
	}
	if s.License == nil || *s.License.MaxChunkNum != 8 || s.LicenseMissing != "" {
		t.Fatalf("licence %+v / %q", s.License, s.LicenseMissing)
	}
	if s.ChunkPolicy.NodeSelector["pool"] != "fast" || s.MetaPolicy.NodeSelector != nil {
		t.Fatalf("policies %+v %+v", s.ChunkPolicy, s.MetaPolicy)
	}
	if s.PodSelector != "app in (iomesh-chunk,iomesh-meta)" {
		t.Fatalf("selector %q", s.PodSelector)
	}
	if len(s.Nodes) != 1 || len(s.Chunk.Pods) != 1 || len(s.Meta.Pods) != 1 {
		t.Fatalf("nodes %d chunk %d meta %d", len(s.Nodes), len(s.Chunk.Pods), len(s.Meta.Pods))
	}
	tgt := 5
	in := s.PreflightInput(preflight.Target{Chunk: &tgt})
	if in.LastDeployed != 1 || in.ReleaseStatus != "failed" || *in.Target.Chunk != 5 || in.License != s.License || in.Edition != s.Edition {
		t.Fatalf("preflight input %+v", in)
	}
}

func TestReadWithoutHistoryOrNodes(t *testing.T) {
	s := read(t, []tf.Rel{{Revision: 1}, {Revision: 2}}, Options{}, cluster()...)
	if s.Info.Revision != 2 || s.LastDeployed != 0 || s.Nodes != nil || s.Permissions.Checked {
		t.Fatalf("status snapshot read more than it needs: %+v", s)
	}
}

func TestLicenceMissingReasons(t *testing.T) {
	noCR := read(t, []tf.Rel{{Revision: 1}}, Options{}, cluster()...)
	if noCR.License != nil || !strings.Contains(noCR.LicenseMissing, "not found") {
		t.Fatalf("no IOMeshCluster: %q", noCR.LicenseMissing)
	}
	noStatus := read(t, []tf.Rel{{Revision: 1}}, Options{}, append(cluster(), tf.IOMeshCluster("", nil))...)
	if noStatus.License != nil || !strings.Contains(noStatus.LicenseMissing, "no status.license yet") {
		t.Fatalf("no licence: %q", noStatus.LicenseMissing)
	}
	// Without a licence or values, the image tags decide.
	if noStatus.Edition.Source != edition.SourceImage || noStatus.Edition.Edition != edition.Enterprise {
		t.Fatalf("edition %+v", noStatus.Edition)
	}
}

func TestReadFailsWithoutRelease(t *testing.T) {
	c := tf.NewClients(t, nil, cluster()...)
	r := inventory.Reader{Kube: c.Kube, Dynamic: c.Dynamic, Namespace: tf.Namespace, Release: tf.Release}
	if _, err := Read(context.Background(), Sources{Reader: r, Helm: c.Helm}, Options{}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("err = %v", err)
	}
}

// A shared release read gives the newest revision and its counts to both sides; permissions are
// asked only when wanted; the room is judged from every running pod when wanted.
func TestReadOptions(t *testing.T) {
	c := tf.NewClients(t, []tf.Rel{{Revision: 1}, {Revision: 2}}, append(cluster(), tf.IOMeshCluster("", nil))...)
	r := inventory.Reader{Kube: c.Kube, Dynamic: c.Dynamic, Namespace: tf.Namespace, Release: tf.Release}
	shared := NewReleases(c.Helm, tf.Release, tf.Namespace, true)
	opt := Options{History: true, Permissions: true, Room: true}
	s, err := Read(context.Background(), Sources{Reader: r, Helm: c.Helm, Releases: shared}, opt)
	if err != nil {
		t.Fatal(err)
	}
	f, err := shared.Get()
	if err != nil || f.Latest.Version != 2 || len(f.History) != 2 || f.Replicas != s.Replicas || s.Latest != f.Latest {
		t.Fatalf("shared read: revision %v, %d revisions, counts %+v against %+v (%v)", f.Latest, len(f.History), f.Replicas, s.Replicas, err)
	}
	if s.LastDeployed != 1 {
		t.Fatalf("last deployed %d, want 1", s.LastDeployed)
	}
	// The fake API server grants nothing: every permission a scale needs in the namespace is missing.
	if !s.Permissions.Checked || len(s.Permissions.Missing) == 0 {
		t.Fatalf("permissions %+v", s.Permissions)
	}
	if u := s.Usage["node-0"]; u.Pods != 2 {
		t.Fatalf("usage %+v", s.Usage)
	}
	if in := s.PreflightInput(preflight.Target{}); in.Cluster.Object == nil || s.PolicyErr != nil {
		t.Fatalf("cluster found %v, policy error %v", in.Cluster.Object != nil, s.PolicyErr)
	}
	s = read(t, []tf.Rel{{Revision: 1}}, Options{}, cluster()...)
	if s.Permissions.Missing != nil || s.Usage != nil || s.PreflightInput(preflight.Target{}).Cluster.Object != nil {
		t.Fatalf("read what was not asked for: %+v", s)
	}
}

// A podPolicy that is not one is an error, not ignored, for either component.
func TestPolicies(t *testing.T) {
	for _, c := range []string{"chunk", "meta"} {
		bad := values.Map{"iomesh": values.Map{c: values.Map{"replicaCount": 3, "podPolicy": values.Map{"nodeSelector": "pool=x"}}}}
		if s := read(t, []tf.Rel{{Revision: 1, Values: bad}}, Options{}, cluster()...); s.PolicyErr == nil {
			t.Fatalf("a %s nodeSelector that is not a map was accepted", c)
		}
	}
}

// A scale-in also asks for the exec and Lease permissions; a scale-out does not. Unreadable
// counts remove nothing.
func TestScaleInPermissions(t *testing.T) {
	for name, tc := range map[string]struct {
		chunk   int
		removes bool
	}{"scale-in": {2, true}, "scale-out": {5, false}} {
		t.Run(name, func(t *testing.T) {
			target := preflight.Target{Chunk: &tc.chunk}
			s := read(t, []tf.Rel{{Revision: 1}}, Options{Permissions: true, Target: target}, cluster()...)
			exec := false
			for _, m := range s.Permissions.Missing {
				if m.Resource == "pods/exec" {
					exec = true
				}
			}
			if exec != tc.removes {
				t.Fatalf("pods/exec asked for: %v, want %v (%+v)", exec, tc.removes, s.Permissions.Missing)
			}
			if to, meta, removes := s.Removes(target); removes != tc.removes || to != tc.chunk || meta != 3 {
				t.Fatalf("Removes = %d %d %v", to, meta, removes)
			}
			s.ReplicasErr = errors.New("unreadable")
			if _, _, removes := s.Removes(target); removes {
				t.Fatal("unreadable counts removed pods")
			}
		})
	}
}

// --exec-storage-network asks for exec into every pod of the namespace (the CSI node plugin's
// pods have random names), on a scale-out too; without it, a scale-out asks for no exec.
func TestStorageNetworkExecPermission(t *testing.T) {
	five := 5
	for _, opt := range []bool{false, true} {
		s := read(t, []tf.Rel{{Revision: 1}}, Options{Permissions: true, HostAddresses: opt, Target: preflight.Target{Chunk: &five}}, cluster()...)
		asked := false
		for _, m := range s.Permissions.Missing {
			if m.Resource == "pods/exec" && m.Name == "" && m.Verb == "create" {
				asked = true
			}
		}
		if asked != opt {
			t.Fatalf("--exec-storage-network %v: exec into any pod asked for: %v (%+v)", opt, asked, s.Permissions.Missing)
		}
	}
}
