//go:build e2e

package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// applyMethod is what the release written by this run's CLI records: Helm 4 installs with
// server-side apply, Helm 3 knows only client-side apply.
func applyMethod() string {
	if env.helm == "helm3" {
		return "client-side"
	}
	return "server-side"
}

// replicasManager names the field manager that owns the StatefulSet's spec.replicas, and how
// it wrote it (Apply or Update).
func replicasManager(t *testing.T, name string) (string, string) {
	t.Helper()
	sts, err := env.kube.AppsV1().StatefulSets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range sts.ManagedFields {
		if m.FieldsV1 != nil && strings.Contains(m.FieldsV1.GetRawString(), `"f:replicas"`) && m.Subresource == "" {
			return m.Manager, string(m.Operation)
		}
	}
	t.Fatalf("no field manager owns %s spec.replicas: %+v", name, sts.ManagedFields)
	return "", ""
}

// A release keeps the apply method of the CLI that installed it through the plugin's upgrade,
// the plugin writes as field manager "helm" as that CLI does, and afterwards the user's own
// `helm upgrade --reuse-values` works with either CLI and keeps the plugin's counts.
func TestEitherCLIUpgradesAfterAScale(t *testing.T) {
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10)})
	sdk, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "helm.sh/helm/v4").Output()
	if err != nil {
		t.Fatal(err)
	}
	r := plugin(t, "version")
	if r.code != 0 {
		t.Fatalf("version: %s", r)
	}
	mustContain(t, r, "Helm SDK: "+strings.TrimSpace(string(sdk)), "Helm Apply Method: "+applyMethod())
	r = plugin(t, "status")
	mustContain(t, r, "revision 1, deployed, "+applyMethod()+" apply")

	r = plugin(t, "scale", "--chunk", "4", "--yes", "--timeout", "2m")
	if r.code != 0 {
		t.Fatalf("scale: %s", r)
	}
	r = plugin(t, "status")
	mustContain(t, r, "revision 2, deployed, "+applyMethod()+" apply")
	manager, op := replicasManager(t, relName+"-chunk")
	wantOp := "Apply"
	if env.helm == "helm3" {
		wantOp = "Update"
	}
	if manager != "helm" || op != wantOp {
		t.Fatalf("spec.replicas of the chunk StatefulSet is owned by %q (%s), want helm (%s)", manager, op, wantOp)
	}

	// The user's own upgrades: with Helm 4 a new count (under server-side apply it would
	// conflict with a count another manager owns), then with Helm 3 nothing but the reuse.
	mustRun(t, "helm4", "upgrade", relName, "iomesh/iomesh", "--version", "v1.0.1", "-n", ns, "--reuse-values", "--set", "iomesh.chunk.replicaCount=5")
	waitPodsReady(t, "app in (iomesh-chunk,iomesh-meta)", 8)
	mustRun(t, "helm3", "upgrade", relName, "iomesh/iomesh", "--version", "v1.0.1", "-n", ns, "--reuse-values")
	sts, err := env.kube.AppsV1().StatefulSets(ns).Get(context.Background(), relName+"-chunk", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sts.Spec.Replicas == nil || *sts.Spec.Replicas != 5 {
		t.Fatalf("chunk replicas after the users' upgrades: %v, want 5", sts.Spec.Replicas)
	}
	// Helm 3 wrote the newest revision: the plugin reads it and plans from it.
	r = plugin(t, "status")
	mustContain(t, r, "revision 4, deployed, client-side apply", "Chunk:")
	r = plugin(t, "preflight", "--chunk", "5")
	if r.code != 0 {
		t.Fatalf("preflight after the users' upgrades: %s", r)
	}
}

func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	r := run(t, nil, name, args...)
	if r.code != 0 {
		t.Fatalf("%s %v failed: %s", name, args, r)
	}
	return r.stdout
}
