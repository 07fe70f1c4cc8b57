package snapshot

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

func inNamespace(u *unstructured.Unstructured, ns string) *unstructured.Unstructured {
	u.SetNamespace(ns)
	return u
}

// A cluster applied without Helm is read from its spec; its BlockDevices are listed where the
// spec says they live, not in the cluster's namespace.
func TestReadDirectClusterWithDisksElsewhere(t *testing.T) {
	cr := tf.IOMeshCluster("enterprise", nil)
	cr.SetResourceVersion("42")
	for path, v := range map[string]interface{}{
		"spec.chunk.replicas":                           int64(4),
		"spec.meta.replicas":                            int64(3),
		"spec.chunk.resources":                          map[string]interface{}{"requests": map[string]interface{}{"cpu": "2"}},
		"spec.chunk.devicemanager.blockDeviceNamespace": "disks",
	} {
		if err := unstructured.SetNestedField(cr.Object, v, strings.Split(path, ".")...); err != nil {
			t.Fatal(err)
		}
	}
	objs := append(cluster(), cr,
		inNamespace(tf.BlockDevice("bd-a", "node-0", 1<<40, "HDD", "Unclaimed"), "disks"),
		inNamespace(tf.BlockDevice("bd-b", "node-0", 1<<40, "SSD", "Unclaimed"), "disks"),
		tf.BlockDevice("bd-here", "node-0", 1<<40, "HDD", "Unclaimed"))
	s := read(t, nil, Options{Disks: true, Permissions: true, Nodes: true}, objs...)
	if !s.Direct || s.Latest != nil || s.Info.Name != tf.Release {
		t.Fatalf("direct %v, latest %v, info %+v", s.Direct, s.Latest, s.Info)
	}
	if s.Replicas.Chunk != 4 || s.Replicas.Meta != 3 {
		t.Fatalf("replicas from the spec: %+v", s.Replicas)
	}
	if s.ChunkWant.Cpu().String() != "2" {
		t.Fatalf("chunk requests from the spec: %v", s.ChunkWant)
	}
	if s.ResourceVersion() != "42" {
		t.Fatalf("resourceVersion %q", s.ResourceVersion())
	}
	var names []string
	for _, d := range s.Devices {
		names = append(names, d.Name)
	}
	if !s.DisksRead || strings.Join(names, ",") != "bd-a,bd-b" {
		t.Fatalf("disks read %v: %v", s.DisksRead, names)
	}
	if !s.Permissions.Checked || len(s.Permissions.Missing) == 0 {
		t.Fatalf("permissions of a direct scale not asked: %+v", s.Permissions)
	}
}

func TestReadDisksOfAHelmRelease(t *testing.T) {
	objs := append(cluster(), tf.HybridDeviceMap(tf.IOMeshCluster("", nil)),
		tf.BlockDevice("bd-here", "node-0", 1<<40, "HDD", "Unclaimed"),
		inNamespace(tf.BlockDevice("bd-elsewhere", "node-0", 1<<40, "HDD", "Unclaimed"), "disks"))
	s := read(t, []tf.Rel{{Revision: 1}}, Options{Disks: true}, objs...)
	if s.Direct || !s.DisksRead || len(s.Devices) != 1 || s.Devices[0].Name != "bd-here" || s.DeviceMap.Empty() {
		t.Fatalf("disks read %v %+v, map %+v", s.DisksRead, s.Devices, s.DeviceMap)
	}
	// The cluster has no resourceVersion in the fake; a missing IOMeshCluster has none at all.
	if s = read(t, []tf.Rel{{Revision: 1}}, Options{}, cluster()...); s.ResourceVersion() != "" {
		t.Fatalf("resourceVersion without an IOMeshCluster: %q", s.ResourceVersion())
	}
}

func TestLicenceWhenTheClusterCannotBeRead(t *testing.T) {
	c := tf.NewClients(t, []tf.Rel{{Revision: 1}}, append(cluster(), tf.IOMeshCluster("", nil))...)
	c.Dynamic.PrependReactor("get", "iomeshclusters", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "iomesh.com", Resource: "iomeshclusters"}, tf.Release, errors.New("no RBAC"))
	})
	r := inventory.Reader{Kube: c.Kube, Dynamic: c.Dynamic, Namespace: tf.Namespace, Release: tf.Release}
	s, err := Read(context.Background(), Sources{Reader: r, Helm: c.Helm}, Options{Now: tf.Now})
	if err != nil {
		t.Fatal(err)
	}
	if s.License != nil || !strings.Contains(s.LicenseMissing, "forbidden") && !strings.Contains(s.LicenseMissing, "may not") {
		t.Fatalf("licence %v, missing %q", s.License, s.LicenseMissing)
	}
}

func TestReadAll(t *testing.T) {
	helmManaged := tf.IOMeshCluster("", nil)
	helmManaged.SetAnnotations(map[string]string{"meta.helm.sh/release-name": tf.Release})
	direct := inNamespace(tf.IOMeshCluster("", nil), "tenant")
	direct.SetName("c2")
	broken := inNamespace(tf.IOMeshCluster("", nil), "broken")
	broken.SetAnnotations(map[string]string{"meta.helm.sh/release-name": "gone"})
	tenantPod := tf.Pod("chunk", 0, 3, "node-0", time.Hour, tf.Running)
	tenantPod.Name, tenantPod.Namespace = "c2-chunk-0", "tenant"
	c := tf.NewClients(t, []tf.Rel{{Revision: 3}}, append(cluster(), helmManaged, direct, broken, tenantPod)...)
	r := inventory.Reader{Kube: c.Kube, Dynamic: c.Dynamic}
	helmFor := func(ns string) (*action.Configuration, error) {
		if ns == tf.Namespace {
			return c.Helm, nil
		}
		return nil, errors.New("no Helm storage in " + ns)
	}
	entries, missing, err := ReadAll(context.Background(), r, helmFor)
	if err != nil || missing != nil {
		t.Fatal(err, missing)
	}
	if len(entries) != 3 {
		t.Fatalf("%d entries", len(entries))
	}
	byNS := map[string]Entry{}
	var order []string
	for _, e := range entries {
		byNS[e.Cluster.GetNamespace()] = e
		order = append(order, e.Cluster.GetNamespace())
	}
	if strings.Join(order, " ") != "broken iomesh-system tenant" {
		t.Fatalf("order %v", order)
	}
	if e := byNS[tf.Namespace]; e.Release == nil || e.Release.Revision != 3 || len(e.Chunk) != 1 || len(e.Meta) != 1 {
		t.Fatalf("helm-managed entry %+v", e)
	}
	if e := byNS["tenant"]; e.Release != nil || e.ReleaseErr != nil || len(e.Chunk) != 1 || e.Chunk[0].Name != "c2-chunk-0" || len(e.Meta) != 0 {
		t.Fatalf("direct entry %+v", e)
	}
	if e := byNS["broken"]; e.ReleaseErr == nil || !strings.Contains(e.ReleaseErr.Error(), "no Helm storage in broken") {
		t.Fatalf("broken entry %+v", e)
	}

	c.Kube.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	if _, _, err := ReadAll(context.Background(), r, helmFor); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("pods unreadable: %v", err)
	}
	c.Dynamic.PrependReactor("list", "iomeshclusters", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewNotFound(schema.GroupResource{Group: "iomesh.com", Resource: "iomeshclusters"}, "")
	})
	if entries, missing, err := ReadAll(context.Background(), r, helmFor); err != nil || entries != nil || missing.Reason != inventory.NotInstalled || !strings.Contains(missing.Text, "not installed") {
		t.Fatalf("no CRD: %v %q %v", entries, missing, err)
	}
}

// The room is read as pods per node when the new pods request nothing, and as the pods with
// their requests when they request something.
func TestRoomReadsRequestsOnlyWhenThePodsHaveThem(t *testing.T) {
	s := read(t, []tf.Rel{{Revision: 1}}, Options{Room: true}, cluster()...)
	if u := s.Usage["node-0"]; u.Pods != 2 || u.Requests != nil || s.RoomErr != nil {
		t.Fatalf("without requests: usage %+v (%v)", u, s.RoomErr)
	}
	vals := values.Map{"iomesh": values.Map{"chunk": values.Map{"replicaCount": 3, "resources": values.Map{"requests": values.Map{"cpu": "2"}}}}}
	s = read(t, []tf.Rel{{Revision: 1, Values: vals}}, Options{Room: true}, cluster()...)
	if u := s.Usage["node-0"]; u.Pods != 2 || u.Requests == nil || s.ChunkWant.Cpu().String() != "2" {
		t.Fatalf("with requests: usage %+v, chunk want %v", u, s.ChunkWant)
	}
}

// Charts before v0.11 keep chunk and meta at the top of the values: the policies and requests
// are read there.
func TestLegacyLayout(t *testing.T) {
	vals := values.Map{"chunk": values.Map{"replicaCount": 4, "podPolicy": values.Map{"nodeSelector": values.Map{"pool": "fast"}},
		"resources": values.Map{"requests": values.Map{"cpu": "3"}}}, "meta": values.Map{"replicaCount": 3}}
	legacy := tf.Chart("v0.10.1", values.Map{"chunk": values.Map{"replicaCount": 3}, "meta": values.Map{"replicaCount": 3}})
	s := read(t, []tf.Rel{{Revision: 1, Values: vals, Chart: legacy}}, Options{}, cluster()...)
	if s.Replicas.Layout != values.Legacy || s.Replicas.Chunk != 4 {
		t.Fatalf("replicas %+v", s.Replicas)
	}
	if s.ChunkPolicy.NodeSelector["pool"] != "fast" || s.ChunkWant.Cpu().String() != "3" {
		t.Fatalf("legacy policy %+v, requests %v", s.ChunkPolicy, s.ChunkWant)
	}
}

// The IOMeshCluster's marks name the GitOps owner; its HelmRelease, where readable, says whether
// it is suspended. An Argo CD annotation on a directly managed cluster is ownership too.
func TestReadGitOpsOwner(t *testing.T) {
	cr := tf.IOMeshCluster("", nil)
	cr.SetLabels(map[string]string{"helm.toolkit.fluxcd.io/name": "iomesh", "helm.toolkit.fluxcd.io/namespace": "flux-system", "app.kubernetes.io/instance": "iomesh"})
	hr := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
		"metadata": map[string]interface{}{"name": "iomesh", "namespace": "flux-system"},
		"spec":     map[string]interface{}{"suspend": true},
	}}
	s := read(t, []tf.Rel{{Revision: 1}}, Options{}, append(cluster(), cr, hr)...)
	if o := s.GitOps; o == nil || o.String() != "Flux HelmRelease flux-system/iomesh" || !o.Read || !o.Suspended {
		t.Fatalf("owner %+v", o)
	}
	if in := s.PreflightInput(preflight.Target{}); in.GitOps != s.GitOps {
		t.Fatal("the checks do not see the owner")
	}
	// Without the HelmRelease object (no CRD, or not readable) the labels decide alone.
	s = read(t, []tf.Rel{{Revision: 1}}, Options{}, append(cluster(), cr)...)
	if o := s.GitOps; o == nil || o.Read || o.Suspended {
		t.Fatalf("owner from the labels alone %+v", o)
	}
	// The chart's own instance label on a Helm release is no owner.
	plain := tf.IOMeshCluster("", nil)
	plain.SetLabels(map[string]string{"app.kubernetes.io/instance": "iomesh"})
	if s = read(t, []tf.Rel{{Revision: 1}}, Options{}, append(cluster(), plain)...); s.GitOps != nil {
		t.Fatalf("a Helm release's instance label made an owner: %+v", s.GitOps)
	}
	argo := tf.IOMeshCluster("", nil)
	argo.SetAnnotations(map[string]string{"argocd.argoproj.io/tracking-id": "iomesh:iomesh.com/IOMeshCluster:iomesh-system/iomesh"})
	if s = read(t, nil, Options{}, append(cluster(), argo)...); !s.Direct || s.GitOps == nil || s.GitOps.Kind != "Argo CD Application" {
		t.Fatalf("argo cd: direct %v, owner %+v", s.Direct, s.GitOps)
	}
}
