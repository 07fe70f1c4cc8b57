//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

const (
	ns2      = "iomesh-cluster-1"
	cluster2 = "iomesh-cluster-1"
)

// directCluster is an IOMeshCluster applied with kubectl in its own namespace, as the
// multi-cluster doc applies one: Enterprise by its image tags, its disks in iomesh-system, and
// podPolicy (a flow mapping, "" for none) on both components.
func directCluster(name, podPolicy string) string {
	policy := ""
	if podPolicy != "" {
		policy = "\n    podPolicy: " + podPolicy
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: iomesh.com/v1alpha1
kind: IOMeshCluster
metadata: {name: %[1]s, namespace: %[1]s}
spec:
  diskDeploymentMode: hybridFlash
  storageClass: hostpath
  reclaimPolicy: {volume: Delete, blockdevice: Delete}
  redirector: {dataCIDR: 10.234.1.0/24}
  probe: {}
  toolbox: {}
  meta:
    replicas: 3
    image: {repository: iomesh/zbs-metad, tag: v5.3.0-rc13-enterprise}%[2]s
  chunk:
    replicas: 3
    dataCIDR: 10.234.1.0/24
    image: {repository: iomesh/zbs-chunkd, tag: v5.3.0-rc13-enterprise}
    devicemanager: {blockDeviceNamespace: iomesh-system}%[2]s
`, name, policy)
}

// secondCluster is the multi-cluster doc's second IOMesh cluster, on the nodes labelled for it.
var secondCluster = directCluster(cluster2, "{nodeSelector: {iomesh-test/pool: cluster-1}}")

func labelPool(t *testing.T, nodes ...string) {
	t.Helper()
	for _, n := range nodes {
		patch := []byte(`{"metadata":{"labels":{"iomesh-test/pool":"cluster-1"}}}`)
		if _, err := env.kube.CoreV1().Nodes().Patch(context.Background(), n, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// A second IOMesh cluster applied without Helm beside the Helm-managed one: status, preflight,
// scale by patching the IOMeshCluster (the release untouched), a concurrent edit refused, and
// status -A listing both.
func TestDirectlyManagedCluster(t *testing.T) {
	freshInstall(t, install{nodes: 8, edition: "enterprise", license: enterpriseLicense(10)})
	ctx := context.Background()
	labelPool(t, nodeName(4), nodeName(5), nodeName(6), nodeName(7))
	apply := exec.Command("kubectl", "apply", "-f", "-")
	apply.Stdin = strings.NewReader(secondCluster)
	if out, err := apply.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		_ = env.dyn.Resource(iomeshGVR).Namespace(ns2).Delete(context.Background(), cluster2, metav1.DeleteOptions{})
		_ = env.kube.CoreV1().Namespaces().Delete(context.Background(), ns2, metav1.DeleteOptions{})
	})
	startOperator(t)
	lic, _ := json.Marshal(map[string]interface{}{"status": map[string]interface{}{"license": enterpriseLicense(10)}})
	if _, err := env.dyn.Resource(iomeshGVR).Namespace(ns2).Patch(ctx, cluster2, types.MergePatchType, lic, metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 90*time.Second, "the second cluster's chunks registered", func() bool {
		obj, err := env.dyn.Resource(iomeshGVR).Namespace(ns2).Get(ctx, cluster2, metav1.GetOptions{})
		return err == nil && healthyChunks(obj.Object) == 3
	})
	before := readRelease(t)

	r := plugin(t, "status", "-n", ns2, "--iomesh-cluster", cluster2)
	if r.code != 0 {
		t.Fatalf("status: %s", r)
	}
	mustContain(t, r, "Release:   none: IOMeshCluster iomesh-cluster-1 is managed directly, no Helm release",
		"Edition:   Enterprise", "Chunk:     3/3 ready", "IOMesh:    3/3 chunks registered and healthy")
	r = plugin(t, "preflight", "-n", ns2, "--release", cluster2, "--chunk", "4")
	if r.code != 0 {
		t.Fatalf("preflight: %s", r)
	}
	mustContain(t, r, "[PASS] release.deployed         no Helm release: the IOMeshCluster is managed directly",
		"nodes.eligible-chunk     1 new chunk pod needs 1 node; 1 is eligible")

	// The dry run is the server's: nothing stored.
	r = plugin(t, "scale", "-n", ns2, "--release", cluster2, "--chunk", "4", "--dry-run")
	if r.code != 0 {
		t.Fatalf("dry run: %s", r)
	}
	mustContain(t, r, "Managed:   directly: IOMeshCluster iomesh-cluster-1 has no Helm release", "Patch:     spec.chunk.replicas: 3 -> 4",
		"the API server accepted the patch in a dry run")
	if n := specChunk(t); n != 3 {
		t.Fatalf("the dry run changed spec.chunk.replicas to %d", n)
	}

	// An edit between the read and the patch: refused, nothing changed by the plugin.
	held := startAtPrompt(t, "kubectl iomesh scale -n "+ns2+" --release "+cluster2+" --chunk 4", "Proceed with this patch?")
	edit := []byte(`{"metadata":{"labels":{"edited-by":"someone-else"}}}`)
	if _, err := env.dyn.Resource(iomeshGVR).Namespace(ns2).Patch(ctx, cluster2, types.MergePatchType, edit, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := held.answer("y\n"); r.code != 3 || !strings.Contains(r.stdout, "changed after it was read") {
		t.Fatalf("concurrent edit: want exit 3 and a refusal:\n%s", r)
	}
	if n := specChunk(t); n != 3 {
		t.Fatalf("the refused patch changed spec.chunk.replicas to %d", n)
	}

	r = plugin(t, "scale", "-n", ns2, "--release", cluster2, "--chunk", "4", "--yes", "--timeout", "2m")
	if r.code != 0 {
		t.Fatalf("scale: %s", r)
	}
	mustContain(t, r, "Patching IOMeshCluster iomesh-cluster-1", "IOMesh reports 4 chunks CONNECTED_HEALTHY")
	if n := specChunk(t); n != 4 {
		t.Fatalf("spec.chunk.replicas = %d, want 4", n)
	}
	obj, _ := env.dyn.Resource(iomeshGVR).Namespace(ns2).Get(ctx, cluster2, metav1.GetOptions{})
	if obj.GetLabels()["edited-by"] != "someone-else" {
		t.Fatal("the patch dropped another field of the IOMeshCluster")
	}
	assertUnchanged(t, before)

	r = plugin(t, "status", "-A")
	if r.code != 0 {
		t.Fatalf("status -A: %s", r)
	}
	var rows []string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		rows = append(rows, strings.Join(strings.Fields(l), " "))
	}
	want := []string{
		"NAMESPACE NAME MANAGED BY EDITION CHUNK META CAPACITY",
		"iomesh-cluster-1 iomesh-cluster-1 direct Enterprise 4/4 3/3 80.00Gi/4.00Ti",
		"iomesh-system iomesh helm iomesh-v1.0.1 Enterprise 3/3 3/3 60.00Gi/3.00Ti",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Fatalf("status -A:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	// The least-privilege role for a directly managed cluster is enough for every command.
	directRole := applyPluginRBAC(t, "direct", "iomesh-scaler", "-n", ns2, "--release", cluster2)
	scaler := []string{"KUBECONFIG=" + filepath.Join(env.clusterDir, "scaler.kubeconfig")}
	eventually(t, 30*time.Second, "the direct role in force", func() bool {
		r := run(t, scaler, "kubectl", "iomesh", "preflight", "-n", ns2, "--release", cluster2, "--chunk", "4")
		return r.code == 0 && strings.Contains(r.stdout, "you have every permission a scale needs")
	})
	offset := auditOffset(t)
	if r := run(t, scaler, "kubectl", "iomesh", "status", "-A"); r.code != 0 {
		t.Fatalf("status -A as the scaler: %s", r)
	}
	if r := run(t, scaler, "kubectl", "iomesh", "status", "-n", ns2, "--release", cluster2); r.code != 0 {
		t.Fatalf("status as the scaler: %s", r)
	}

	// Scale-in as the scaler, with the direct role: the chunk is unregistered through exec on
	// the meta leader first, then the IOMeshCluster is patched; the Helm release is untouched.
	resetIomeshctl(t)
	r = run(t, scaler, "kubectl", "iomesh", "scale", "-n", ns2, "--release", cluster2, "--chunk", "3", "--yes", "--timeout", "2m")
	if r.code != 0 {
		t.Fatalf("direct scale-in: %s", r)
	}
	mustContain(t, r, "Managed:   directly: IOMeshCluster iomesh-cluster-1 has no Helm release; each step patches it",
		"/opt/iomesh/iomeshctl chunk unregister 4", "chunk 4 has left chunkSummary", "Patching IOMeshCluster iomesh-cluster-1")
	if n := specChunk(t); n != 3 {
		t.Fatalf("spec.chunk.replicas = %d after the scale-in, want 3", n)
	}
	if u := unregisters(t); strings.Join(u, ";") != "chunk unregister 4" {
		t.Fatalf("unregisters %v, want chunk 4 once", u)
	}
	assertUnchanged(t, before)
	record("scale-in", "directly managed cluster 4 -> 3", "unregister, then one patch; release untouched")
	// Back out as the scaler, so the wait's watches run under the role too.
	r = run(t, scaler, "kubectl", "iomesh", "scale", "-n", ns2, "--release", cluster2, "--chunk", "4", "--yes", "--timeout", "2m")
	if r.code != 0 {
		t.Fatalf("direct scale-out: %s", r)
	}
	// The direct role is exactly what these commands used. status -A also tries the Helm
	// release in iomesh-system, which this role does not cover: it says so and goes on.
	assertExact(t, offset, map[string]string{"iomesh-scaler": directRole}, func(p permission) bool {
		return p.namespace == ns && p.verb == "list" && p.resource == "secrets"
	})

	r = plugin(t, "status", "-A", "-o", "json")
	var list struct {
		Items []struct{ Namespace, Name, ManagedBy string } `json:"items"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list.Items) != 2 || list.Items[0].ManagedBy != "direct" {
		t.Fatalf("status -A -o json: %v %+v", err, list)
	}
}

func specChunk(t *testing.T) int64 {
	t.Helper()
	obj, err := env.dyn.Resource(iomeshGVR).Namespace(ns2).Get(context.Background(), cluster2, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, _, _ := unstructured.NestedInt64(obj.Object, "spec", "chunk", "replicas")
	return n
}

// status -A with no IOMeshCluster anywhere says so and succeeds.
func TestStatusAllNamespacesEmpty(t *testing.T) {
	uninstall(t)
	eventually(t, 60*time.Second, "no IOMeshCluster left", func() bool {
		list, err := env.dyn.Resource(iomeshGVR).Namespace("").List(context.Background(), metav1.ListOptions{})
		return apierrors.IsNotFound(err) || (err == nil && len(list.Items) == 0)
	})
	r := plugin(t, "status", "-A")
	if r.code != 0 {
		t.Fatalf("status -A: %s", r)
	}
	mustContain(t, r, "No IOMeshCluster found in any namespace.")
}
