package preflight

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/disks"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/edition"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
)

// The rollback hint names the last good revision only when there is one.
func TestRollbackHintOnlyWithAGoodRevision(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.ReleaseStatus, in.ReleaseDescription, in.Revision, in.LastDeployed = "failed", "boom", 3, 2
	if h := verdicts(Run(in, nil, "v1"))["release.deployed"].Hint; !strings.Contains(h, "helm rollback iomesh 2 -n iomesh-system") {
		t.Fatalf("failed, with a good revision: %q", h)
	}
	in.LastDeployed = 0
	if h := verdicts(Run(in, nil, "v1"))["release.deployed"].Hint; strings.Contains(h, "rollback") {
		t.Fatalf("failed, without a good revision: %q", h)
	}
	in.ReleaseStatus = "pending-install"
	if h := verdicts(Run(in, nil, "v1"))["release.pending"].Hint; !strings.Contains(h, "no earlier revision exists") || strings.Contains(h, "helm rollback") {
		t.Fatalf("pending, without a good revision: %q", h)
	}
}

// Without a licence the quota is skipped when nothing is asked of it, and a warning when a chunk
// count is.
func TestQuotaWithoutLicence(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.License, in.LicenseMissing = nil, "status.license is absent"
	expect(t, Run(in, nil, "v1"), "license.chunk-quota", Skipped, "no licence to read: status.license is absent")
	in.Target = Target{Chunk: ip(4)}
	expect(t, Run(in, nil, "v1"), "license.chunk-quota", Warn, "cannot check the licence's chunk quota: status.license is absent")
}

// An expired licence says how many days ago, counted as a positive number.
func TestExpiredLicenceDaysAgo(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.License.ExpirationDate = "2026-11-16 12:00:00" // ten days before the fixtures' clock
	expect(t, Run(in, nil, "v1"), "license.expiry", Fail, "(10 days ago)")
}

// Node eligibility: the count already running is a pass of its own, room not checked is said,
// and the reasons nodes are not eligible come most common first, then alphabetically.
func TestEligibleNodesWording(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.Target = Target{Chunk: ip(3)}
	expect(t, Run(in, nil, "v1"), "nodes.eligible-chunk", Pass, "3 nodes run a chunk pod; 2 more could take one")
	if r := verdicts(Run(in, nil, "v1"))["nodes.eligible-chunk"].Reason; strings.Contains(r, "not checked") {
		t.Fatalf("room said unchecked: %q", r)
	}
	in.RoomErr = errors.New("pods are forbidden")
	expect(t, Run(in, nil, "v1"), "nodes.eligible-chunk", Pass, "(room on the nodes not checked: pods are forbidden)")

	in = cluster(7, 3, 3, 10)
	in.Nodes[3].Spec.Unschedulable, in.Nodes[4].Spec.Unschedulable = true, true
	in.Nodes[5].Spec.Taints = []corev1.Taint{{Key: "b-key", Effect: corev1.TaintEffectNoSchedule}}
	in.Nodes[6].Spec.Taints = []corev1.Taint{{Key: "a-key", Effect: corev1.TaintEffectNoSchedule}}
	in.Target = Target{Chunk: ip(7)}
	reason := verdicts(Run(in, nil, "v1"))["nodes.eligible-chunk"].Reason
	cordoned, a, b := strings.Index(reason, "2 cordoned"), strings.Index(reason, "1 taint a-key:NoSchedule"), strings.Index(reason, "1 taint b-key:NoSchedule")
	if cordoned < 0 || a < 0 || b < 0 || cordoned >= a || a >= b {
		t.Fatalf("reasons not most common first, then alphabetical: %q", reason)
	}
}

// The pods check counts the Ready pods, and says "not Ready" only when some pod is not.
func TestPodsWording(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	expect(t, Run(in, nil, "v1"), "pods.healthy", Pass, "all 3 chunk and 3 meta pods are Ready")
	in.MetaPods = in.MetaPods[:2]
	if r := verdicts(Run(in, nil, "v1"))["pods.healthy"].Reason; strings.HasPrefix(r, "not Ready") {
		t.Fatalf("a missing pod is not a pod that is not Ready: %q", r)
	}
}

// The summary counts each verdict; a verdict is not worse than itself.
func TestSummaryCounts(t *testing.T) {
	r := Run(cluster(5, 3, 3, 10), nil, "v1")
	pass, fail := 0, 0
	for _, res := range r.Results {
		switch res.Verdict {
		case Pass:
			pass++
		case Fail:
			fail++
		}
	}
	if pass == 0 || r.Summary.Pass != pass || r.Summary.Fail != fail {
		t.Fatalf("summary %+v, counted %d pass, %d fail", r.Summary, pass, fail)
	}
	in := cluster(5, 3, 3, 10)
	in.ReleaseStatus, in.LastDeployed = "failed", 0
	if r := Run(in, nil, "v1"); r.Summary.Fail < 1 || r.Summary.Worst != Fail {
		t.Fatalf("failed release: %+v", r.Summary)
	}
	in = cluster(5, 3, 3, 10)
	in.Disks = DiskInput{Err: errors.New("blockdevices are forbidden")}
	if r := Run(in, nil, "v1"); r.Summary.Error != 1 || r.Summary.Worst != Error {
		t.Fatalf("one check in error: %+v", r.Summary)
	}
	for _, v := range []Verdict{Pass, Warn, Fail, Error} {
		if v.Worse(v) {
			t.Errorf("%s is worse than itself", v)
		}
	}
}

// Five meta pods are the limit only for Enterprise with room for five.
func TestMetaLimit(t *testing.T) {
	if l := Run(cluster(5, 3, 3, 10), nil, "v1").Limit.MaxMeta; l != edition.MetaLarge {
		t.Fatalf("Enterprise on 5 nodes: %d", l)
	}
	if l := Run(cluster(4, 3, 3, 10), nil, "v1").Limit.MaxMeta; l != edition.MetaSmall {
		t.Fatalf("Enterprise on 4 nodes: %d", l)
	}
	in := cluster(5, 3, 3, 10)
	in.Edition.Edition = edition.Community
	if l := Run(in, nil, "v1").Limit.MaxMeta; l != edition.MetaSmall {
		t.Fatalf("Community on 5 nodes: %d", l)
	}
}

// The disks of each eligible node are listed when the BlockDevices and the deviceMap were read.
func TestDisksForEligibleNodes(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	m := disks.MapFromSpec(tf.Typed(t, tf.HybridDeviceMap(tf.IOMeshCluster("enterprise", nil))).Spec)
	var objs []unstructured.Unstructured
	for _, n := range []string{"node-3", "node-4"} {
		objs = append(objs, *tf.BlockDevice("ssd-"+n, n, 400<<30, "SSD", "Unclaimed"), *tf.BlockDevice("hdd-"+n, n, 4<<40, "HDD", "Unclaimed"))
	}
	in.Disks = DiskInput{Read: true, Map: m, Devices: disks.FromObjects(objs), ClusterFound: true}
	r := Run(in, nil, "v1")
	if len(r.Nodes.Disks) != 2 {
		t.Fatalf("disks for %d nodes, want the 2 eligible: %+v", len(r.Nodes.Disks), r.Nodes.Disks)
	}
	expect(t, r, "disks.new-chunk-nodes", Pass, "2 eligible nodes have 4 usable disks")
	// One node without a disk, the other without its cache disk: both named.
	in.Disks.Devices = disks.FromObjects(objs[1:2])
	expect(t, Run(in, nil, "v1"), "disks.new-chunk-nodes", Warn, "1 eligible node has no usable disk: node-4; hybridFlash mode needs")
	in.Disks.Devices = disks.FromObjects(objs[:2])
	reason := verdicts(Run(in, nil, "v1"))["disks.new-chunk-nodes"].Reason
	if !strings.Contains(reason, "no usable disk: node-4") || strings.Contains(reason, "missing on") {
		t.Fatalf("only a node without disks: %q", reason)
	}
	// Both nodes with data disks only: the cache disk is missing, no node is without disks.
	in.Disks.Devices = disks.FromObjects([]unstructured.Unstructured{objs[1], objs[3]})
	reason = verdicts(Run(in, nil, "v1"))["disks.new-chunk-nodes"].Reason
	if !strings.Contains(reason, "missing on node-3") || strings.Contains(reason, "no usable disk") {
		t.Fatalf("only nodes lacking a mount type: %q", reason)
	}
	// No eligible node: nothing to list.
	full := cluster(3, 3, 3, 10)
	full.Disks = in.Disks
	expect(t, Run(full, nil, "v1"), "disks.new-chunk-nodes", Pass, "no node is eligible for a new chunk pod")
	in.Disks.MapErr = errors.New("bad selector")
	if r := Run(in, nil, "v1"); len(r.Nodes.Disks) != 0 {
		t.Fatalf("disks listed from a deviceMap that could not be read: %+v", r.Nodes.Disks)
	}
}
