package cmd

import (
	"context"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
)

const rbacManifest = `---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: iomesh-chunk, namespace: iomesh-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: operator, namespace: iomesh-system}
`

// The roles name the release's own objects, exec reaches the chunk pods the licence allows,
// and an earlier shared binding is named with how to remove it.
func TestRBACReadsTheRelease(t *testing.T) {
	c := tf.NewClients(t, []tf.Rel{{Revision: 1, Manifest: rbacManifest}}, clusterObjects(5, 3, 3, "enterprise", testLicense(8, "2027-06-30"))...)
	if _, err := c.Kube.RbacV1().RoleBindings(tf.Namespace).Create(context.Background(), &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "iomesh-plugin-scale"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runRoot(c, "rbac", "scale", "--user", "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`resourceNames: ["iomesh-chunk"]`, `resourceNames: ["operator"]`, "name: iomesh-scale-user-alice",
		`"iomesh-chunk-7"`, `"iomesh-meta-4"`, `resourceNames: ["iomesh-scale-in"]`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %s in\n%s", want, out)
		}
	}
	if strings.Contains(out, `"iomesh-chunk-8"`) {
		t.Error("exec beyond the licence's 8 chunks")
	}
	if !strings.Contains(errOut, "kubectl delete rolebinding iomesh-plugin-scale -n iomesh-system") {
		t.Errorf("stderr %q", errOut)
	}
	// A Helm release is not a direct cluster; an unknown set and a missing subject are usage errors.
	for _, args := range [][]string{{"rbac", "direct", "--user", "a"}, {"rbac", "admin", "--user", "a"}, {"rbac", "scale"}} {
		if _, _, err := runRoot(c, args...); exitcode.Of(err) != exitcode.Usage {
			t.Errorf("%v: %v (exit %d), want a usage error", args, err, exitcode.Of(err))
		}
	}
	// No release and no IOMeshCluster: nothing to name, a clear error.
	if _, _, err := runRoot(tf.NewClients(t, nil), "rbac", "scale", "--user", "a"); err == nil || !strings.Contains(err.Error(), "whose objects the roles name") {
		t.Errorf("no release: %v", err)
	}
}

// A directly managed cluster: both bindings of the old direct set are named.
func TestRBACDirectSharedBindings(t *testing.T) {
	c := directCluster(t, false)
	for _, name := range []string{"iomesh-plugin-direct", "iomesh-plugin-direct-disks"} {
		if _, err := c.Kube.RbacV1().RoleBindings(tf.Namespace).Create(context.Background(), &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	out, errOut, err := runRoot(c, "rbac", "direct", "--user", "bob")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "name: iomesh-direct-user-bob") {
		t.Errorf("no per-subject binding in\n%s", out)
	}
	for _, name := range []string{"iomesh-plugin-direct", "iomesh-plugin-direct-disks"} {
		if !strings.Contains(errOut, "kubectl delete rolebinding "+name+" -n iomesh-system\n") {
			t.Errorf("%s not named: %q", name, errOut)
		}
	}
}

// The exec preflight --exec-storage-network needs is printed only on request, with what it grants.
func TestRBACStorageNetworkExecOnRequest(t *testing.T) {
	c := tf.NewClients(t, []tf.Rel{{Revision: 1, Manifest: rbacManifest}}, clusterObjects(5, 3, 3, "enterprise", testLicense(8, "2027-06-30"))...)
	out, _, err := runRoot(c, "rbac", "readonly", "--user", "alice")
	if err != nil || strings.Contains(out, "pods/exec") {
		t.Fatalf("readonly grants exec unasked: %v\n%s", err, out)
	}
	out, _, err = runRoot(c, "rbac", "readonly", "--user", "alice", "--exec-storage-network")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pods/exec", "exec into EVERY pod of the namespace", "--exec-storage-network"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}
