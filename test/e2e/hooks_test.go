//go:build e2e

package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The chart's post-upgrade hook fails after Helm applied every object of the new revision (a
// quota of no Jobs refuses the ZooKeeper operator's hook Job): the command says the new count
// is live though the revision is recorded as failed, that the next run plans from the deployed
// revision, and that the same command finishes; and it does, once the hook can run.
func TestFailedUpgradeHookIsExplained(t *testing.T) {
	ctx := context.Background()
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10)})
	quota := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "no-jobs", Namespace: ns},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"count/jobs.batch": resource.MustParse("0")}},
	}
	if _, err := env.kube.CoreV1().ResourceQuotas(ns).Create(ctx, quota, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	removeQuota := func() {
		_ = env.kube.CoreV1().ResourceQuotas(ns).Delete(ctx, quota.Name, metav1.DeleteOptions{})
	}
	t.Cleanup(removeQuota)
	eventually(t, 30*time.Second, "the quota in force", func() bool {
		q, err := env.kube.CoreV1().ResourceQuotas(ns).Get(ctx, quota.Name, metav1.GetOptions{})
		return err == nil && len(q.Status.Hard) > 0
	})

	r := plugin(t, "scale", "--chunk", "4", "--yes", "--timeout", "1m")
	if r.code != 1 {
		t.Fatalf("a post-upgrade hook refused: want exit 1:\n%s", r)
	}
	mustContain(t, r, "the upgrade to revision 2 failed", "post-upgrade hooks failed", "no-jobs",
		"Helm applied every object of revision 2 before the chart's post-upgrade hook Job "+zkHook+" failed",
		"its counts (chunk 4, meta 3) are live", "Helm records revision 2 as failed",
		"A later run plans from revision 1, the last deployed one", "the same command writes no new revision and waits for the pods",
		"helm rollback iomesh 2 -n iomesh-system")
	if hist := helmHistory(t, relName, ns); len(hist) != 2 || hist[1].Status != "failed" {
		t.Fatalf("history after the hook failed: %+v", hist)
	}
	// What the message says is live is live.
	o, err := env.dyn.Resource(iomeshGVR).Namespace(ns).Get(ctx, relName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n, _, _ := unstructured.NestedInt64(o.Object, "spec", "chunk", "replicas"); n != 4 {
		t.Fatalf("IOMeshCluster spec.chunk.replicas %d after the failed hook, want 4 (the message says it is live)", n)
	}

	// Once the hook can run: the same command finishes (no new revision, the pods Ready).
	removeQuota()
	eventually(t, 30*time.Second, "the quota gone", func() bool {
		_, err := env.kube.CoreV1().ResourceQuotas(ns).Get(ctx, quota.Name, metav1.GetOptions{})
		return err != nil
	})
	r = plugin(t, "scale", "--chunk", "4", "--yes", "--timeout", "2m")
	if r.code != 0 {
		t.Fatalf("the same command again: %s", r)
	}
	if hist := helmHistory(t, relName, ns); len(hist) != 2 || hist[1].Status != "failed" {
		t.Fatalf("the same command wrote a revision, which the message said it would not: %+v\n%s", hist, r)
	}
	waitPodsReady(t, "app=iomesh-chunk", 4)
	// The rollback the message gives records what is live, changing no pod; the next scale
	// plans from it and runs the hooks again.
	mustHelm(t, "rollback", relName, "2", "-n", ns)
	hist := helmHistory(t, relName, ns)
	if len(hist) != 3 || hist[1].Status != "failed" || hist[2].Status != "deployed" {
		t.Fatalf("history after the rollback to revision 2: %+v", hist)
	}
	waitPodsReady(t, "app=iomesh-chunk", 4)
	r = plugin(t, "scale", "--chunk", "5", "--yes", "--timeout", "2m")
	if r.code != 0 || !strings.Contains(r.stdout, "revision 3 -> 4") || !strings.Contains(r.stdout, "Chunk:     4 -> 5") {
		t.Fatalf("the next scale: %s", r)
	}
	if hist := helmHistory(t, relName, ns); len(hist) != 4 || hist[3].Status != "deployed" {
		t.Fatalf("history after the next upgrade: %+v\n%s", hist, r)
	}
	waitPodsReady(t, "app=iomesh-chunk", 5)
	record("fault", "the chart's post-upgrade hook fails after the new count was applied", "exit 1 saying the count is live, the revision failed and the next run plans from the deployed one; the same command finishes; the rollback it names records the live counts and the next scale runs the hooks")
}

// The scale role without what Helm 4 does with the hooks (the role earlier versions printed
// granted no list or watch on the hook kinds): preflight's rbac.permissions and the scale
// refuse before anything is written, naming the rule.
func TestScaleRefusedWithoutTheHookRules(t *testing.T) {
	ctx := context.Background()
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10)})
	applyPluginRBAC(t, "scale", "iomesh-scaler")
	role, err := env.kube.RbacV1().Roles(ns).Get(ctx, "iomesh-plugin-scale", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kept := role.Rules[:0]
	dropped := 0
	for _, r := range role.Rules {
		if len(r.Resources) == 1 && r.Resources[0] == "configmaps" && len(r.ResourceNames) == 0 && strings.Join(r.Verbs, ",") == "list,watch" {
			dropped++
			continue
		}
		kept = append(kept, r)
	}
	if dropped != 1 {
		t.Fatalf("the scale role has %d namespace-wide list/watch rules on configmaps, want 1:\n%+v", dropped, role.Rules)
	}
	role.Rules = kept
	if _, err := env.kube.RbacV1().Roles(ns).Update(ctx, role, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	scaler := []string{"KUBECONFIG=" + filepath.Join(env.clusterDir, "scaler.kubeconfig")}
	var r result
	eventually(t, 30*time.Second, "the narrowed role in force", func() bool {
		r = run(t, scaler, "kubectl", "iomesh", "preflight", "--chunk", "4")
		return r.code == 3
	})
	mustContain(t, r, "[FAIL] rbac.permissions", "namespace iomesh-system: list, watch configmaps (namespace-wide", "Helm 4 waits for each upgrade hook")
	r = run(t, scaler, "kubectl", "iomesh", "scale", "--chunk", "4", "--yes")
	if r.code != 3 || !strings.Contains(r.stderr+r.stdout, "list, watch configmaps") {
		t.Fatalf("the scale without the hook rule: want exit 3 naming it:\n%s", r)
	}
	if hist := helmHistory(t, relName, ns); len(hist) != 1 {
		t.Fatalf("a revision was written: %+v", hist)
	}
	record("security", "the scale role without the upgrade hooks' list and watch", "preflight and scale exit 3 naming the rule; no revision written")
}
