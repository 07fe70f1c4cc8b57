package preflight

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/disks"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshstatus"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
)

// A cluster applied without Helm has no release to judge: the release checks pass with a note.
func TestReleaseChecksOfADirectCluster(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.Direct, in.ReleaseStatus = true, ""
	r := Run(in, nil, "v1")
	for _, id := range []string{"release.deployed", "release.pending"} {
		if v := verdicts(r)[id]; v.Verdict != Pass || v.Reason != directNote {
			t.Fatalf("%s = %s %q", id, v.Verdict, v.Reason)
		}
	}
}

func TestReleaseStatesOutsideTheKnownOnes(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.ReleaseStatus = "uninstalling"
	expect(t, Run(in, nil, "v1"), "release.deployed", Fail, "revision 2 is uninstalling, not deployed")
	expect(t, Run(in, nil, "v1"), "release.pending", Pass, "revision 2 is uninstalling")
	// Pending with no earlier revision: nothing to roll back to, and the hint says so.
	in.ReleaseStatus, in.LastDeployed = "pending-install", 0
	r := Run(in, nil, "v1")
	if h := verdicts(r)["release.pending"].Hint; !strings.Contains(h, "no earlier revision exists to roll back to; see `helm history iomesh -n iomesh-system`") {
		t.Fatalf("hint %q", h)
	}
	in.ReleaseStatus = "failed"
	if h := verdicts(Run(in, nil, "v1"))["release.deployed"].Hint; strings.Contains(h, "helm rollback") {
		t.Fatalf("a rollback offered with no good revision: %q", h)
	}
}

func TestClusterUnreadable(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.ClusterErr = errors.New("iomeshclusters.iomesh.com is forbidden")
	r := Run(in, nil, "v1")
	expect(t, r, "cluster.present", Error, "is forbidden")
	// IOMesh's view cannot be read either: its checks are skipped with the same reason.
	expect(t, r, "cluster.tasks-idle", Skipped, "is forbidden")
	expect(t, r, "cluster.meta-leader", Skipped, "is forbidden")
}

func TestLicenceWithAnUnreadableDate(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.License.ExpirationDate = "next spring"
	expect(t, Run(in, nil, "v1"), "license.expiry", Warn, "next spring")
}

func TestCountsUnreadable(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.ReplicasErr = errors.New("iomesh.chunk.replicaCount is \"three\"")
	in.Target = Target{Chunk: ip(4)}
	expect(t, Run(in, nil, "v1"), "chunk.no-scale-in", Error, "cannot read the current chunk count")
	// Without a target the counts to judge are unknown too.
	in.Target = Target{}
	f := Derive(in)
	if f.TargetChunkOK || f.TargetMetaOK {
		t.Fatalf("targets from unreadable counts: %+v", f)
	}
	in.ReplicasErr = nil
	if f := Derive(in); !f.TargetChunkOK || f.TargetChunk != 3 || !f.TargetMetaOK || f.TargetMeta != 3 {
		t.Fatalf("targets from the counts: chunk %d (%v), meta %d (%v)", f.TargetChunk, f.TargetChunkOK, f.TargetMeta, f.TargetMetaOK)
	}
}

func TestDisksNotJudged(t *testing.T) {
	m := disks.MapFromSpec(tf.Typed(t, tf.HybridDeviceMap(tf.IOMeshCluster("enterprise", nil))).Spec)
	for name, tc := range map[string]struct {
		in      DiskInput
		verdict Verdict
		reason  string
	}{
		"no API":         {DiskInput{Missing: "the BlockDevice API (blockdevices.openebs.io) is not installed"}, Skipped, "is not installed: IOMesh's node disk manager is not running here"},
		"unreadable":     {DiskInput{Err: errors.New("blockdevices.openebs.io is forbidden")}, Error, "is forbidden"},
		"not read":       {DiskInput{}, Skipped, "BlockDevices not read"},
		"no cluster":     {DiskInput{Read: true, Map: m}, Skipped, "no IOMeshCluster to read the deviceMap from"},
		"bad deviceMap":  {DiskInput{Read: true, ClusterFound: true, Map: m, MapErr: errors.New("a selector that is not one")}, Error, "a selector that is not one"},
		"empty":          {DiskInput{Read: true, ClusterFound: true}, Warn, "spec.chunk.deviceMap is empty"},
		"no usable disk": {DiskInput{Read: true, ClusterFound: true, Map: m}, Warn, "2 eligible nodes have no usable disk: node-3, node-4"},
	} {
		t.Run(name, func(t *testing.T) {
			in := cluster(5, 3, 3, 10)
			in.Disks = tc.in
			expect(t, Run(in, nil, "v1"), "disks.new-chunk-nodes", tc.verdict, tc.reason)
		})
	}
}

func TestLeaderNotReported(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.Storage = iomeshstatus.View{Summary: true}
	expect(t, Run(in, nil, "v1"), "cluster.meta-leader", Skipped, "no meta pod carries")
}

func TestTargetWords(t *testing.T) {
	for want, tgt := range map[string]Target{
		"":                    {},
		" --chunk 5":          {Chunk: ip(5)},
		" --meta 5":           {Meta: ip(5)},
		" --chunk 4 --meta 5": {Chunk: ip(4), Meta: ip(5)},
	} {
		if got := tgt.Args(); got != want {
			t.Errorf("Args() = %q, want %q", got, want)
		}
	}
	if got := (Target{Chunk: ip(4), Meta: ip(5)}).String(); !strings.Contains(got, "4 chunk") || !strings.Contains(got, "5 meta") {
		t.Errorf("String() = %q", got)
	}
}

// Why nodes are not eligible, the most common reason first, then by name.
func TestWhyNotOrdersReasonsByCount(t *testing.T) {
	in := cluster(6, 3, 3, 10)
	in.Nodes[3].Spec.Unschedulable = true
	for _, n := range []int{4, 5} {
		in.Nodes[n].Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}}
	}
	in.Target = Target{Chunk: ip(6)}
	expect(t, Run(in, nil, "v1"), "nodes.eligible-chunk", Fail, "(2 taint dedicated=db:NoSchedule not tolerated: node-4, node-5; 1 cordoned (unschedulable): node-3)")
}

// The licence's last day and the first day of the warning window, at their boundaries.
func TestLicenceExpiryBoundaries(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.License.ExpirationDate = "2026-11-27" // 12 hours after tf.Now: 0 whole days left, not yet expired
	expect(t, Run(in, nil, "v1"), "license.expiry", Warn, "in 0 days")
	in.License.ExpirationDate = "2026-12-27" // 30 days left: the last day of the warning
	expect(t, Run(in, nil, "v1"), "license.expiry", Warn, fmt.Sprintf("in %d days", ExpiryWarning))
	in.License.ExpirationDate = "2026-12-28"
	expect(t, Run(in, nil, "v1"), "license.expiry", Pass, fmt.Sprintf("in %d days", ExpiryWarning+1))
}

func TestCountsStayOrGrow(t *testing.T) {
	in := cluster(6, 3, 3, 10)
	in.Target = Target{Chunk: ip(5), Meta: ip(3)}
	r := Run(in, nil, "v1")
	expect(t, r, "chunk.no-scale-in", Pass, "chunk pods go from 3 to 5")
	expect(t, r, "meta.no-scale-in", Pass, "meta pods stay at 3")
}
