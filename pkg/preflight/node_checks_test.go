package preflight

import (
	"errors"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"strings"
	"testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

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

func TestDisksNotJudged(t *testing.T) {
	m := placement.DeviceMapFromSpec(tf.Typed(t, tf.HybridDeviceMap(tf.IOMeshCluster("enterprise", nil))).Spec)
	for name, tc := range map[string]struct {
		in      Disks
		found   bool // the IOMeshCluster was read
		verdict Verdict
		reason  string
	}{
		"no API":         {Disks{DisksAbsent: &inventory.Unavailable{Reason: inventory.NotInstalled, Text: "the BlockDevice API (blockdevices.openebs.io) is not installed"}}, true, Skipped, "is not installed: IOMesh's node disk manager is not running here"},
		"not permitted":  {Disks{DisksAbsent: &inventory.Unavailable{Reason: inventory.NotPermitted, Text: "you may not list blockdevices.openebs.io in namespace iomesh-system"}}, true, Skipped, "in namespace iomesh-system, so disks cannot be checked"},
		"unreadable":     {Disks{DisksErr: errors.New("blockdevices.openebs.io is forbidden")}, true, Error, "is forbidden"},
		"not read":       {Disks{}, true, Skipped, "BlockDevices not read"},
		"no cluster":     {Disks{DisksRead: true, DeviceMap: m}, false, Skipped, "no IOMeshCluster to read the deviceMap from"},
		"empty":          {Disks{DisksRead: true}, true, Warn, "spec.chunk.deviceMap is empty"},
		"no usable disk": {Disks{DisksRead: true, DeviceMap: m}, true, Warn, "2 eligible nodes have no usable disk: node-3, node-4"},
	} {
		t.Run(name, func(t *testing.T) {
			in := cluster(5, 3, 3, 10)
			in.Disks = tc.in
			if tc.found {
				in.Cluster.Object = tf.Typed(t, tf.IOMeshCluster("enterprise", nil))
			}
			expect(t, Run(in, nil, "v1"), "disks.new-chunk-nodes", tc.verdict, tc.reason)
		})
	}
}

// The disks of each eligible node are listed when the BlockDevices and the deviceMap were read.
func TestDisksForEligibleNodes(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	m := placement.DeviceMapFromSpec(tf.Typed(t, tf.HybridDeviceMap(tf.IOMeshCluster("enterprise", nil))).Spec)
	var objs []unstructured.Unstructured
	for _, n := range []string{"node-3", "node-4"} {
		objs = append(objs, *tf.BlockDevice("ssd-"+n, n, 400<<30, "SSD", "Unclaimed"), *tf.BlockDevice("hdd-"+n, n, 4<<40, "HDD", "Unclaimed"))
	}
	in.Disks = Disks{DisksRead: true, DeviceMap: m, Devices: placement.BlockDevicesFrom(objs)}
	in.Cluster.Object = tf.Typed(t, tf.IOMeshCluster("enterprise", nil))
	r := Run(in, nil, "v1")
	if len(r.Nodes.Disks) != 2 {
		t.Fatalf("disks for %d nodes, want the 2 eligible: %+v", len(r.Nodes.Disks), r.Nodes.Disks)
	}
	expect(t, r, "disks.new-chunk-nodes", Pass, "2 eligible nodes have 4 usable disks")
	// One node without a disk, the other without its cache disk: both named.
	in.Devices = placement.BlockDevicesFrom(objs[1:2])
	expect(t, Run(in, nil, "v1"), "disks.new-chunk-nodes", Warn, "1 eligible node has no usable disk: node-4; hybridFlash mode needs")
	in.Devices = placement.BlockDevicesFrom(objs[:2])
	reason := verdicts(Run(in, nil, "v1"))["disks.new-chunk-nodes"].Reason
	if !strings.Contains(reason, "no usable disk: node-4") || strings.Contains(reason, "missing on") {
		t.Fatalf("only a node without disks: %q", reason)
	}
	// Both nodes with data disks only: the cache disk is missing, no node is without disks.
	in.Devices = placement.BlockDevicesFrom([]unstructured.Unstructured{objs[1], objs[3]})
	reason = verdicts(Run(in, nil, "v1"))["disks.new-chunk-nodes"].Reason
	if !strings.Contains(reason, "missing on node-3") || strings.Contains(reason, "no usable disk") {
		t.Fatalf("only nodes lacking a mount type: %q", reason)
	}
	// No eligible node: nothing to list.
	full := cluster(3, 3, 3, 10)
	full.Disks, full.Cluster = in.Disks, in.Cluster
	expect(t, Run(full, nil, "v1"), "disks.new-chunk-nodes", Pass, "no node is eligible for a new chunk pod")
	in.DisksRead = false
	if r := Run(in, nil, "v1"); len(r.Nodes.Disks) != 0 {
		t.Fatalf("disks listed without the BlockDevices read: %+v", r.Nodes.Disks)
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

func TestLeaderNotReported(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.Storage = iomeshcluster.View{Summary: true}
	expect(t, Run(in, nil, "v1"), "cluster.meta-leader", Skipped, "no meta pod carries")
}
