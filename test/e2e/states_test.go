//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// revision is one line of `helm history -o json`.
type revision struct {
	Revision    int    `json:"revision"`
	Status      string `json:"status"`
	Description string `json:"description"`
}

func revisions(t *testing.T) []revision {
	t.Helper()
	var hist []revision
	if err := json.Unmarshal([]byte(mustHelm(t, "history", relName, "-n", ns, "-o", "json")), &hist); err != nil || len(hist) == 0 {
		t.Fatalf("helm history: %v %v", err, hist)
	}
	return hist
}

// The lower's own write fails after its admission dry run passed: refused by the webhook, then
// killed (kill -9) while in flight. Either way the same command finishes: from the deployed
// revision and the live counts, on the unregister it recorded, with no second unregister.
func TestScaleInLowerWriteFails(t *testing.T) {
	wh := startWebhook(t)
	scaleInCluster(t, "", 3, wh.values("Fail"))
	scaleOperator(t, 1)

	wh.denyWrites.Store(true)
	r := plugin(t, "scale", "--chunk", "4", "--yes", "--timeout", "2m")
	if r.code != 1 {
		t.Fatalf("the lower refused after its dry run passed: want exit 1:\n%s", r)
	}
	mustContain(t, r, "the upgrade to revision 2 failed", "iomesh operator: cluster is busy", "Revision 2 is recorded as failed; revision 1 is still the one deployed")
	if wh.dryRuns.Load() == 0 {
		t.Fatal("the webhook saw no dry run: the refusal came before the write")
	}
	if hist := revisions(t); len(hist) != 2 || hist[1].Status != "failed" {
		t.Fatalf("history after the refused lower: %+v", hist)
	}
	if ids := chunkIDs(t, ns, relName); len(ids) != 4 {
		t.Fatalf("chunks %v: chunk 5 was unregistered before the lower", ids)
	}
	wh.denyWrites.Store(false)
	r = plugin(t, "scale", "--chunk", "4", "--yes", "--timeout", "2m")
	if r.code != 0 {
		t.Fatalf("the same command once the webhook accepts: %s", r)
	}
	mustContain(t, r, "Release iomesh is at revision 3", "iomesh-chunk-4 is gone")
	if u := unregisters(t); strings.Join(u, ";") != "chunk unregister 5" {
		t.Fatalf("unregisters %v: the recorded one only", u)
	}
	waitPodsReady(t, "app=iomesh-chunk", 4)
	nothingLost(t, "5")
	record("scale-in fault", "the lower refused by a webhook that accepted its dry run, then accepted", "exit 1 naming the failed and the deployed revision; the same command lowers from the deployed one on the recorded unregister; nothing lost")

	// kill -9 while the lower is written: the revision stays pending-upgrade.
	wh.holdWrites.Store(true)
	killed := background(t, "scale", "--chunk", "3", "--yes")
	eventually(t, 2*time.Minute, "the lower's write in flight", func() bool { return wh.held.Load() > 0 })
	killed.signal(t, syscall.SIGKILL)
	killed.wait(t, 30*time.Second)
	wh.holdWrites.Store(false)
	// Helm's words until the upgrade ends; the Lease recorded the lower and its revision first.
	hist := revisions(t)
	if last := hist[len(hist)-1]; last.Revision != 4 || last.Status != "pending-upgrade" || last.Description != "Preparing upgrade" {
		t.Fatalf("after kill -9 mid-write, want revision 4 pending-upgrade: %+v", hist)
	}
	r = plugin(t, "preflight", "--chunk", "3")
	mustContain(t, r, "[FAIL] release.pending", "its own command (kept on Lease iomesh-scale-in in namespace iomesh-system) finishes it instead")
	// The same command waits out the killed run's Lease and its upgrade timeout, marks the
	// revision failed, and lowers from revision 3.
	again := background(t, "scale", "--chunk", "3", "--yes", "--timeout", "3m")
	r = again.wait(t, 10*time.Minute)
	if r.code != 0 {
		t.Fatalf("the same command after kill -9 mid-write: %s", r)
	}
	mustContain(t, r, "Revision 4 of release iomesh is pending-upgrade", "did not renew Lease iomesh-scale-in", "Revision 4 marked failed", "Release iomesh is at revision 5", "iomesh-chunk-3 is gone")
	hist = revisions(t)
	if len(hist) != 5 || hist[3].Status != "failed" || !strings.Contains(hist[3].Description, "kubectl iomesh: marked failed") || hist[4].Status != "deployed" {
		t.Fatalf("history after the recovery: %+v", hist)
	}
	if u := unregisters(t); strings.Join(u, ";") != "chunk unregister 5;chunk unregister 4" {
		t.Fatalf("unregisters %v: one per chunk", u)
	}
	waitPodsReady(t, "app=iomesh-chunk", 3)
	nothingLost(t, "5", "4")
	if rec := leaseRecord(t); rec != "(no lease)" {
		t.Fatalf("the finished scale-in left its Lease (%q)", rec)
	}
	record("scale-in interruption", "kill -9 while the lower is written, then the same command", "the revision left pending-upgrade is marked failed once the Lease and the upgrade timeout have passed unrenewed and unchanged; the same command lowers from the deployed one; nothing lost")
}

// IOMesh 1.2, a chunk step and a meta step: the scaler's read of the IOMeshCluster forbidden
// while the run waits for the removed pod to go. Each run ends at its --timeout (exit 5, with
// the command that continues) having asked a few times, spaced, not in a loop; with the read
// allowed again the same command finishes.
func TestScaleIn12ReadForbiddenWhileWaiting(t *testing.T) {
	scaleInCluster(t, "v1.2.0", 5)
	applyPluginRBAC(t, "scale", "iomesh-scaler")
	scaler := []string{"KUBECONFIG=" + filepath.Join(env.clusterDir, "scaler.kubeconfig")}
	eventually(t, 30*time.Second, "the role in force", func() bool {
		return run(t, scaler, "kubectl", "iomesh", "preflight", "--chunk", "4").code == 0
	})
	for _, c := range []struct {
		pod  string
		args []string
	}{
		{"iomesh-chunk-4", []string{"--chunk", "4"}},
		{"iomesh-meta-4", []string{"--meta", "3"}},
	} {
		holdPod(t, c.pod)
		before := len(revisions(t))
		scale := append(append([]string{"scale"}, c.args...), "--yes", "--timeout", "40s")
		waiting := backgroundAs(t, scaler, scale...)
		// The wait begins once the lower is deployed: the StatefulSet may delete the pod while
		// Helm is still applying the IOMeshCluster, which also needs the read.
		eventually(t, 2*time.Minute, c.pod+" being removed after the lower", func() bool {
			p, err := env.kube.CoreV1().Pods(ns).Get(context.Background(), c.pod, metav1.GetOptions{})
			hist := revisions(t)
			return err == nil && p.DeletionTimestamp != nil && len(hist) > before && hist[len(hist)-1].Status == "deployed"
		})
		offset := auditOffset(t)
		restore := revokeVerb(t, "iomeshclusters", "get")
		r := waiting.wait(t, 2*time.Minute)
		if r.code != 5 || !strings.Contains(r.stderr, "kubectl iomesh scale "+strings.Join(c.args, " ")) {
			t.Fatalf("%v with the IOMeshCluster read forbidden while waiting: want exit 5 and the command that continues:\n%s", c.args, r)
		}
		_, forbidden := audited(t, offset, "iomesh-scaler")
		reads := 0
		for _, f := range forbidden {
			if f.permission.verb == "get" && f.permission.resource == "iomesh.com/iomeshclusters" {
				reads++
			}
		}
		// At least one read was refused; at a poll of 2s, backing off on failures, a 40s run
		// makes fewer than 20.
		if reads == 0 || reads >= 20 {
			t.Fatalf("%v: %d forbidden reads of the IOMeshCluster while waiting (forbidden: %v)", c.args, reads, forbidden)
		}
		t.Logf("%v: %d forbidden reads of the IOMeshCluster in the last 40s run", c.args, reads)
		restore()
		releasePod(t, c.pod)
		if r := run(t, scaler, "kubectl", append(append([]string{"iomesh", "scale"}, c.args...), "--yes", "--timeout", "3m")...); r.code != 0 {
			t.Fatalf("%v again with the read allowed: %s", c.args, r)
		}
	}
	waitPodsReady(t, "app in (iomesh-chunk,iomesh-meta)", 7)
	record("scale-in fault", "IOMesh 1.2, chunk step and meta step: the IOMeshCluster read forbidden while waiting", "each run ends at its --timeout (exit 5, the command that continues) after fewer than 20 spaced reads (audit log); the same command then finishes")
}

const holdFinalizer = "e2e.iomesh.com/hold"

// holdPod keeps a pod from going once deleted, until releasePod (or the test's end).
func holdPod(t *testing.T, name string) {
	t.Helper()
	patch := `{"metadata":{"finalizers":["` + holdFinalizer + `"]}}`
	if _, err := env.kube.CoreV1().Pods(ns).Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { releasePod(t, name) })
}

func releasePod(t *testing.T, name string) {
	t.Helper()
	_, err := env.kube.CoreV1().Pods(ns).Patch(context.Background(), name, types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	if err != nil && !strings.Contains(err.Error(), "not found") {
		t.Error(err)
	}
}

// revokeVerb removes verb on resource from every Role in the namespace, and returns what puts
// the Roles back.
func revokeVerb(t *testing.T, resource, verb string) func() {
	t.Helper()
	ctx := context.Background()
	roles, err := env.kube.RbacV1().Roles(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var saved []rbacv1.Role
	for _, role := range roles.Items {
		changed := role.DeepCopy()
		changed.Rules = nil
		for _, rule := range role.Rules {
			if !slices.Contains(rule.Resources, resource) || !slices.Contains(rule.Verbs, verb) {
				changed.Rules = append(changed.Rules, rule)
				continue
			}
			// The other resources keep the rule; this one keeps its other verbs.
			if others := slices.DeleteFunc(slices.Clone(rule.Resources), func(r string) bool { return r == resource }); len(others) > 0 {
				r := *rule.DeepCopy()
				r.Resources = others
				changed.Rules = append(changed.Rules, r)
			}
			r := *rule.DeepCopy()
			r.Resources = []string{resource}
			if r.Verbs = slices.DeleteFunc(r.Verbs, func(v string) bool { return v == verb }); len(r.Verbs) > 0 {
				changed.Rules = append(changed.Rules, r)
			}
		}
		if equalRules(changed.Rules, role.Rules) {
			continue
		}
		if _, err := env.kube.RbacV1().Roles(ns).Update(ctx, changed, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		saved = append(saved, role)
	}
	if len(saved) == 0 {
		t.Fatalf("no Role in %s grants %s %s", ns, verb, resource)
	}
	return func() {
		for _, role := range saved {
			cur, err := env.kube.RbacV1().Roles(ns).Get(ctx, role.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			cur.Rules = role.Rules
			if _, err := env.kube.RbacV1().Roles(ns).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func equalRules(a, b []rbacv1.PolicyRule) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// kill -9 after the last lower, while the run waits for the pod to go: the Lease stays held by
// the dead run. The same command takes it over once unrenewed and clears it; a scale-out then
// goes through.
func TestScaleInKilledAfterTheLastLower(t *testing.T) {
	scaleInCluster(t, "", 3)
	before := readRelease(t)
	holdPod(t, "iomesh-chunk-4")
	killed := background(t, "scale", "--chunk", "4", "--yes")
	eventually(t, 2*time.Minute, "the lower deployed and iomesh-chunk-4 going", func() bool {
		p, err := env.kube.CoreV1().Pods(ns).Get(context.Background(), "iomesh-chunk-4", metav1.GetOptions{})
		hist := revisions(t)
		last := hist[len(hist)-1]
		return err == nil && p.DeletionTimestamp != nil && last.Revision == before.revision+1 && last.Status == "deployed"
	})
	killed.signal(t, syscall.SIGKILL)
	killed.wait(t, 30*time.Second)
	releasePod(t, "iomesh-chunk-4")
	lease, err := env.kube.CoordinationV1().Leases(ns).Get(context.Background(), relName+"-scale-in", metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil {
		t.Fatalf("the killed run's Lease: %v %+v", err, lease)
	}
	r := plugin(t, "scale", "--chunk", "4", "--yes", "--timeout", "3m")
	if r.code != 0 {
		t.Fatalf("the same command after kill -9 past the last lower: %s", r)
	}
	mustContain(t, r, "did not renew Lease iomesh-scale-in")
	if rec := leaseRecord(t); rec != "(no lease)" {
		t.Fatalf("the same command left the Lease (%q)", rec)
	}
	if readRelease(t).revision != before.revision+1 {
		t.Fatal("the same command wrote again")
	}
	r = plugin(t, "scale", "--chunk", "5", "--yes", "--timeout", "2m")
	if r.code != 0 {
		t.Fatalf("a scale-out after the scale-in was finished: %s", r)
	}
	waitPodsReady(t, "app=iomesh-chunk", 5)
	if u := unregisters(t); strings.Join(u, ";") != "chunk unregister 5" {
		t.Fatalf("unregisters %v", u)
	}
	nothingLost(t, "5")
	record("scale-in interruption", "kill -9 after the last lower, then the same command, then a scale-out", "the same command takes the unrenewed Lease over and clears it (exit 0, no new revision); the scale-out then succeeds")
}
