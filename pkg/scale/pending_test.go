package scale

import (
	"context"
	"strings"
	"testing"
	"time"

	rcommon "helm.sh/helm/v4/pkg/release/common"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
)

// A revision this tool's killed run left pending-upgrade is marked failed by the same command,
// once the Lease's holder is seen not to renew for the Lease's duration and the revision has not
// changed for the upgrade's timeout (a clock 1000 times faster here); anything else stays.
func TestRecoverPending(t *testing.T) {
	// Helm records a revision as "Preparing upgrade" and gives it the upgrade's description
	// only once it ends: a killed run leaves Helm's words and the values it was writing.
	own, preparing := "kubectl iomesh scale: chunk 5->4, meta 3->3", inventory.HelmPreparing
	for _, c := range []struct {
		name, desc, lowering string
		chunks               int // the pending revision's chunk count (0: the fixture's)
		holder               string
		want                 rcommon.Status
	}{
		{"this tool's lower killed mid-write", preparing, "chunk 5->4 revision 2", 4, "kubectl-iomesh@gone/1", rcommon.StatusFailed},
		{"this tool's lower, the Lease let go", preparing, "chunk 5->4 revision 2", 4, "", rcommon.StatusFailed},
		{"this tool's description", own, "chunk 5->4 revision 2", 0, "kubectl-iomesh@gone/1", rcommon.StatusFailed},
		{"Helm's words, another count", preparing, "chunk 5->4 revision 2", 5, "kubectl-iomesh@gone/1", rcommon.StatusPendingUpgrade},
		{"Helm's words, no count", preparing, "chunk 5->4 revision 2", 0, "kubectl-iomesh@gone/1", rcommon.StatusPendingUpgrade},
		{"another writer's upgrade", "Upgrade in progress", "chunk 5->4 revision 2", 4, "kubectl-iomesh@gone/1", rcommon.StatusPendingUpgrade},
		{"the Lease records another revision", preparing, "chunk 5->4 revision 3", 4, "kubectl-iomesh@gone/1", rcommon.StatusPendingUpgrade},
		{"the Lease records another step", own, "chunk 4->3 revision 2", 4, "kubectl-iomesh@gone/1", rcommon.StatusPendingUpgrade},
		{"no lower recorded", preparing, "", 4, "kubectl-iomesh@gone/1", rcommon.StatusPendingUpgrade},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := tf.NewClients(t, []tf.Rel{{Revision: 1}, {Revision: 2, Status: rcommon.StatusPendingUpgrade}})
			versioned(cl.Kube, nil)
			last, err := helmops.Latest(cl.Helm, tf.Release, tf.Namespace)
			if err != nil {
				t.Fatal(err)
			}
			last.Info.Description = c.desc
			last.Config = map[string]interface{}{"iomesh": map[string]interface{}{"meta": map[string]interface{}{"replicaCount": 3}}}
			if c.chunks > 0 {
				last.Config["iomesh"].(map[string]interface{})["chunk"] = map[string]interface{}{"replicaCount": float64(c.chunks)}
			}
			if err := cl.Helm.Releases.Update(last); err != nil {
				t.Fatal(err)
			}
			ann := map[string]string{inventory.CommandAnnotation: "kubectl iomesh scale --chunk 4 -n iomesh-system --release iomesh"}
			if c.lowering != "" {
				ann[inventory.LoweringAnnotation] = c.lowering
			}
			d := int32(60)
			old := metav1.NewMicroTime(tf.Now.Add(-time.Hour))
			lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: inventory.LeaseName(tf.Release), Namespace: tf.Namespace, Annotations: ann},
				Spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: &d, RenewTime: &old}}
			if c.holder != "" {
				lease.Spec.HolderIdentity = &c.holder
			}
			ctx := context.Background()
			if _, err := cl.Kube.CoordinationV1().Leases(tf.Namespace).Create(ctx, lease, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			e := &Engine{Reader: inventory.Reader{Kube: cl.Kube, Dynamic: cl.Dynamic, Namespace: tf.Namespace, Release: tf.Release}, Helm: cl.Helm}
			var progress strings.Builder
			start := time.Now()
			clk := fastClock{start: start}
			if err := e.RecoverPending(ctx, Hooks{Progress: &progress, Holder: "kubectl-iomesh@here/2", Poll: time.Second, Clock: clk}); err != nil {
				t.Fatal(err)
			}
			got, err := helmops.Latest(cl.Helm, tf.Release, tf.Namespace)
			if err != nil {
				t.Fatal(err)
			}
			if got.Info.Status != c.want || got.Version != 2 {
				t.Fatalf("revision %d is %s, want 2 %s\n%s", got.Version, got.Info.Status, c.want, progress.String())
			}
			if c.want != rcommon.StatusFailed {
				return
			}
			// Not before the upgrade's timeout went by on this clock.
			if waited := clk.Since(tf.Now); waited < upgradeTimeout {
				t.Fatalf("marked failed after %v, before the upgrade timeout %v", waited, upgradeTimeout)
			}
			if !strings.Contains(got.Info.Description, "marked failed") {
				t.Fatalf("description %q does not say what marked it", got.Info.Description)
			}
			l, err := cl.Kube.CoordinationV1().Leases(tf.Namespace).Get(ctx, lease.Name, metav1.GetOptions{})
			if err != nil || l.Spec.HolderIdentity != nil || l.Annotations[inventory.LoweringAnnotation] != c.lowering {
				t.Fatalf("the Lease is to be let go with its records kept: %v %+v", err, l)
			}
		})
	}
}
