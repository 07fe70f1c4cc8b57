//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
)

func verdictsOf(t *testing.T, r result) map[string]string {
	t.Helper()
	var doc struct {
		Checks []struct{ ID, Verdict, Reason string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("preflight -o json: %v\n%s", err, r)
	}
	out := map[string]string{}
	for _, c := range doc.Checks {
		out[c.ID] = c.Verdict
	}
	return out
}

func wantVerdict(t *testing.T, r result, id, want string) {
	t.Helper()
	if got := verdictsOf(t, r)[id]; got != want {
		t.Fatalf("%s = %q, want %q\n%s", id, got, want, r)
	}
}

func TestPreflightCommunity(t *testing.T) {
	freshInstall(t, install{nodes: 5, license: map[string]interface{}{"maxChunkNum": 3, "softwareEdition": "COMMUNITY", "licenseType": "PERPETUAL"}})
	r := plugin(t, "preflight", "--chunk", "5", "--meta", "5", "-o", "json")
	if r.code != 3 {
		t.Fatalf("want exit 3:\n%s", r)
	}
	wantVerdict(t, r, "edition.community-limit", "fail")
	r = plugin(t, "preflight")
	if r.code != 0 {
		t.Fatalf("no target on Community: want exit 0 with a warning:\n%s", r)
	}
	mustContain(t, r, "[WARN] edition.community-limit", "cannot scale out")
	if r := plugin(t, "preflight", "--fail-on-warning"); r.code != 4 {
		t.Fatalf("--fail-on-warning: want exit 4:\n%s", r)
	}
}

func TestPreflightEnterpriseNodes(t *testing.T) {
	freshInstall(t, install{nodes: 3, edition: "enterprise", license: enterpriseLicense(10)})
	r := plugin(t, "preflight", "--chunk", "5", "--meta", "5", "-o", "json")
	if r.code != 3 {
		t.Fatalf("3 nodes, target 5: want exit 3:\n%s", r)
	}
	wantVerdict(t, r, "nodes.eligible-chunk", "fail")
	wantVerdict(t, r, "nodes.eligible-meta", "fail")

	setNodes(t, 5)
	r = plugin(t, "preflight", "--chunk", "5", "--meta", "5")
	if r.code != 0 {
		t.Fatalf("5 nodes, target 5: want exit 0:\n%s", r)
	}
	mustContain(t, r, "This cluster can take up to 5 chunk pods (limited by: nodes)")

	setNodes(t, 6)
	r = plugin(t, "preflight", "-o", "wide")
	if r.code != 0 {
		t.Fatalf("6 nodes: %s", r)
	}
	mustContain(t, r, "up to 6 chunk pods (limited by: nodes)", "kwok-node-5")

	// A cordoned node and a tainted node are not eligible.
	ctx := context.Background()
	free := freeNodes(t)
	if len(free) < 3 {
		t.Fatalf("want 3 nodes without chunk pods, have %v", free)
	}
	cordon := `{"spec":{"unschedulable":true}}`
	if _, err := env.kube.CoreV1().Nodes().Patch(ctx, free[0], types.StrategicMergePatchType, []byte(cordon), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	taint(t, free[1], corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule})
	r = plugin(t, "preflight", "--chunk", "5", "-o", "wide")
	if r.code != 3 {
		t.Fatalf("cordon + taint: want exit 3:\n%s", r)
	}
	mustContain(t, r, "cordoned (unschedulable)", "taint dedicated=db:NoSchedule not tolerated", "only 1 more is eligible")
	if r := plugin(t, "preflight", "--chunk", "4"); r.code != 0 {
		t.Fatalf("one free node left, target 4: want exit 0:\n%s", r)
	}
}

// freeNodes are the nodes without a chunk pod.
func freeNodes(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	pods, err := env.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=iomesh-chunk"})
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, p := range pods.Items {
		used[p.Spec.NodeName] = true
	}
	nodes, err := env.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var free []string
	for _, n := range nodes.Items {
		if !used[n.Name] {
			free = append(free, n.Name)
		}
	}
	return free
}

func TestPreflightLicenceAndSelector(t *testing.T) {
	// maxChunkNum below the node count; a podPolicy nodeSelector that only 4 nodes match.
	freshInstall(t, install{nodes: 6, edition: "enterprise", license: enterpriseLicense(4),
		values: []string{`iomesh.chunk.podPolicy={"nodeSelector":{"iomesh-test/pool":"storage"}}`}, skipWait: true})
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		patch := `{"metadata":{"labels":{"iomesh-test/pool":"storage"}}}`
		if _, err := env.kube.CoreV1().Nodes().Patch(ctx, nodeName(i), types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitPodsReady(t, "app in (iomesh-chunk,iomesh-meta)", 6)
	r := plugin(t, "preflight", "--chunk", "5", "-o", "json")
	if r.code != 3 {
		t.Fatalf("want exit 3:\n%s", r)
	}
	wantVerdict(t, r, "license.chunk-quota", "fail")
	wantVerdict(t, r, "nodes.eligible-chunk", "fail")
	r = plugin(t, "preflight", "--chunk", "5")
	mustContain(t, r, "does not match podPolicy nodeSelector/affinity", "up to 4 chunk pods (limited by: nodes, licence)")
}

func TestPreflightPendingRelease(t *testing.T) {
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10)})
	markPending(t)
	r := plugin(t, "preflight", "--chunk", "5")
	if r.code != 3 {
		t.Fatalf("pending: want exit 3:\n%s", r)
	}
	mustContain(t, r, "revision 2 is pending-upgrade", "helm rollback iomesh 1 -n iomesh-system")
}

func TestPreflightReadOnlyUser(t *testing.T) {
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10)})
	// The Helm-managed cluster's roles, as `kubectl iomesh rbac` prints them for each user (direct
	// is for a cluster applied without Helm).
	applyPluginRBAC(t, "readonly", "iomesh-viewer")
	applyPluginRBAC(t, "scale", "iomesh-scaler")
	viewer := []string{"KUBECONFIG=" + filepath.Join(env.clusterDir, "viewer.kubeconfig")}
	r := run(t, viewer, "kubectl", "iomesh", "status")
	if r.code != 0 {
		t.Fatalf("status as the read-only user: %s", r)
	}
	r = run(t, viewer, "kubectl", "iomesh", "preflight", "--chunk", "5", "--meta", "5")
	if r.code != 3 {
		t.Fatalf("preflight as the read-only user: want exit 3:\n%s", r)
	}
	mustContain(t, r, "[FAIL] rbac.permissions", "namespace iomesh-system: create, delete, update secrets")
	// The read-only user's scale is refused by preflight before any change.
	before := readRelease(t)
	r = run(t, viewer, "kubectl", "iomesh", "scale", "--chunk", "5", "--meta", "5", "--yes")
	if r.code != 3 || !strings.Contains(r.stderr, "rbac.permissions") || !strings.Contains(r.stderr, "namespace iomesh-system: create, delete, update secrets") {
		t.Fatalf("scale as the read-only user: want exit 3 naming the permission:\n%s", r)
	}
	assertUnchanged(t, before)
	scaler := []string{"KUBECONFIG=" + filepath.Join(env.clusterDir, "scaler.kubeconfig")}
	if r := run(t, scaler, "kubectl", "iomesh", "preflight", "--chunk", "5", "--meta", "5"); r.code != 0 {
		t.Fatalf("preflight as the scale user: want exit 0:\n%s", r)
	}
	// The scale user scales with exactly the permissions of `kubectl iomesh rbac scale`.
	r = run(t, scaler, "kubectl", "iomesh", "scale", "--chunk", "5", "--meta", "5", "--yes", "--timeout", "2m")
	if r.code != 0 {
		t.Fatalf("scale as the scale user: %s", r)
	}
	if after := readRelease(t); after.revision != before.revision+1 {
		t.Fatalf("want one new revision, got %+v", after)
	}
}

// applyPluginRBAC applies `kubectl iomesh rbac SET --user USER ARGS` with kubectl, and deletes
// it when the test ends; it returns the manifest.
func applyPluginRBAC(t *testing.T, set, user string, args ...string) string {
	t.Helper()
	r := plugin(t, append([]string{"rbac", set, "--user", user}, args...)...)
	if r.code != 0 {
		t.Fatalf("kubectl iomesh rbac %s: %s", set, r)
	}
	path := filepath.Join(t.TempDir(), set+".yaml")
	if err := os.WriteFile(path, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	mustKubectl(t, "apply", "-f", path)
	t.Cleanup(func() { run(t, nil, "kubectl", "delete", "--ignore-not-found", "-f", path) })
	return r.stdout
}

func mustKubectl(t *testing.T, args ...string) {
	t.Helper()
	if r := run(t, nil, "kubectl", args...); r.code != 0 {
		t.Fatalf("kubectl %v: %s", args, r)
	}
}

// taint adds a taint to a node, retrying when kwok updates the node at the same time.
func taint(t *testing.T, name string, tt corev1.Taint) {
	t.Helper()
	ctx := context.Background()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := env.kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		node.Spec.Taints = append(node.Spec.Taints, tt)
		_, err = env.kube.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
