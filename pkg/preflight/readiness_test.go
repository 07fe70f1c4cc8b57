package preflight

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
)

// dsPod is a pod of DaemonSet ds for node: Ready, or with the given container state.
func dsPod(ds, node string, ready bool) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: ds + "-" + node, Namespace: "iomesh-system",
			OwnerReferences: []metav1.OwnerReference{{Kind: "DaemonSet", Name: ds}}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: ds}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: ds, Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}},
	}
	if !ready {
		p.Status.Conditions[0].Status = corev1.ConditionFalse
		p.Status.ContainerStatuses[0].Ready = false
	}
	return p
}

// crashing makes p's container crash in a loop, its last exit code 1 with a message.
func crashing(p corev1.Pod) corev1.Pod {
	p = dsPod(p.OwnerReferences[0].Name, p.Spec.NodeName, false)
	cs := &p.Status.ContainerStatuses[0]
	cs.RestartCount = 5
	cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
	cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: "yum: no repository for iscsi-initiator-utils"}}
	return p
}

// ready gives every node the label, a Ready CSI node plugin pod, 16 CPUs and 32 GiB, and an
// address in 10.234.1.0/24.
func ready(in *Input) *Input {
	in.Readiness = Readiness{Read: true, PrepareCSI: "prepare-csi", NodePlugin: "iomesh-csi-driver-node-plugin",
		DataCIDR: "10.234.1.0/24", DataCIDRPath: "iomesh.chunk.dataCIDR"}
	for i := range in.Nodes {
		n := &in.Nodes[i]
		n.Labels[inventory.IscsiInstalledLabel] = "true"
		n.Status.Capacity = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("16"), corev1.ResourceMemory: resource.MustParse("32Gi")}
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.234.1." + string(rune('1'+i))}}
		in.Readiness.Pods = append(in.Readiness.Pods, dsPod("iomesh-csi-driver-node-plugin", n.Name, true))
	}
	return in
}

func TestReadinessAllReady(t *testing.T) {
	in := ready(cluster(5, 3, 3, 10))
	in.Target = Target{Chunk: ip(5)}
	r := Run(in, nil, "v1")
	expect(t, r, "nodes.iscsi-prepared", Pass, "all 2 eligible nodes carry iomesh.com/iscsi-installed")
	expect(t, r, "nodes.csi-node-ready", Pass, "all 2 eligible nodes run a Ready CSI node plugin")
	expect(t, r, "nodes.resources", Pass, "have at least 8 CPUs")
	expect(t, r, "nodes.storage-network", Pass, "have an address in 10.234.1.0/24")
	expect(t, r, "nodes.eligible-chunk", Pass, "2 new chunk pods need 2 nodes; 2 are eligible")
	if len(r.Nodes.Readiness) != 5 || r.Nodes.Readiness[4].Brief() != "ok" {
		t.Fatalf("readiness per node: %+v", r.Nodes.Readiness)
	}
}

// A node without the label whose prepare-csi pod crashes fails iscsi-prepared with the pod's
// last exit and the logs command; its CSI node plugin, not Ready, is said once to follow from
// it; the node is left out of the chunk placement, one line, and the target no longer fits.
func TestReadinessUnpreparedNodeLeftOut(t *testing.T) {
	in := ready(cluster(5, 3, 3, 10))
	in.Target = Target{Chunk: ip(5)}
	delete(in.Nodes[4].Labels, inventory.IscsiInstalledLabel)
	in.Readiness.Pods[4] = dsPod("iomesh-csi-driver-node-plugin", "node-4", false)
	in.Readiness.Pods = append(in.Readiness.Pods, crashing(dsPod("prepare-csi", "node-4", false)))
	r := Run(in, nil, "v1")
	iscsi := verdicts(r)["nodes.iscsi-prepared"]
	for _, want := range []string{"1 node of 2 eligible: (1 carry", "node-4 (left out): not labelled iomesh.com/iscsi-installed: prepare-csi-node-4 container prepare-csi CrashLoopBackOff, restarted 5 times, last exited with code 1 (Error): yum: no repository for iscsi-initiator-utils; see `kubectl logs -n iomesh-system prepare-csi-node-4 -c prepare-csi --previous`"} {
		if iscsi.Verdict != Warn || !strings.Contains(iscsi.Reason, want) {
			t.Fatalf("iscsi-prepared %s %q, want %q", iscsi.Verdict, iscsi.Reason, want)
		}
	}
	if iscsi.Doc != DocSetupWorker || !strings.Contains(iscsi.Hint, "kubectl label node <node> iomesh.com/iscsi-installed=true") || !strings.Contains(iscsi.Hint, "cordon the node") {
		t.Fatalf("hint %q doc %q", iscsi.Hint, iscsi.Doc)
	}
	expect(t, r, "nodes.csi-node-ready", Warn, "node-4 (left out): iomesh-csi-driver-node-plugin-node-4 is not Ready: it cannot start on a node without iSCSI")
	expect(t, r, "nodes.eligible-chunk", Fail, "only 1 more is eligible (1 iSCSI not prepared (nodes.iscsi-prepared): node-4)\nleft out node-4: iSCSI not prepared (nodes.iscsi-prepared)")
	if len(r.Nodes.LeftOut) != 1 || r.Nodes.LeftOut[0] != "node-4: iSCSI not prepared (nodes.iscsi-prepared)" {
		t.Fatalf("left out %q", r.Nodes.LeftOut)
	}
	if r.Nodes.Chunk.Free != 1 || r.Limit.MaxChunk != 4 {
		t.Fatalf("free %d, limit %d", r.Nodes.Chunk.Free, r.Limit.MaxChunk)
	}
	if b := r.Nodes.Readiness[4].Brief(); b != "iscsi fail, csi-node fail" {
		t.Fatalf("brief %q", b)
	}
	if b, p := (NodeReadiness{}).Brief(), (NodeReadiness{}).Problems(); b != "" || p != "" {
		t.Fatalf("a node not judged: brief %q, problems %q", b, p)
	}
	// A target that fits the rest passes, still naming the node left out.
	in.Target = Target{Chunk: ip(4)}
	expect(t, Run(in, nil, "v1"), "nodes.eligible-chunk", Pass, "1 is eligible\nleft out node-4: iSCSI not prepared")
}

// A CSI node plugin not Ready on a prepared node fails with its state and leaves the node out;
// a Pending prepare-csi pod says why it is not scheduled.
func TestReadinessPodStates(t *testing.T) {
	in := ready(cluster(5, 3, 3, 10))
	in.Target = Target{Chunk: ip(5)}
	in.Readiness.Pods[3] = dsPod("iomesh-csi-driver-node-plugin", "node-3", false)
	in.Readiness.Pods[3].Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
	delete(in.Nodes[4].Labels, inventory.IscsiInstalledLabel)
	pending := dsPod("prepare-csi", "", false)
	pending.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"node-4"}}}}}}}}
	pending.Status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/5 nodes are available: 1 Insufficient cpu."}}}
	in.Readiness.Pods = append(in.Readiness.Pods, pending)
	r := Run(in, nil, "v1")
	expect(t, r, "nodes.csi-node-ready", Warn, "node-3 (left out): not Ready: iomesh-csi-driver-node-plugin-node-3 container iomesh-csi-driver-node-plugin ContainerCreating")
	expect(t, r, "nodes.iscsi-prepared", Warn, "node-4 (left out): not labelled iomesh.com/iscsi-installed: prepare-csi- is Pending, not scheduled: 0/5 nodes are available: 1 Insufficient cpu.")
	if len(verdicts(r)["nodes.eligible-chunk"].Reason) == 0 || r.Nodes.Chunk.Free != 0 {
		t.Fatalf("both nodes should be left out: free %d", r.Nodes.Chunk.Free)
	}
	// A prepare-csi pod still at work warns and keeps the node.
	in = ready(cluster(4, 3, 3, 10))
	delete(in.Nodes[3].Labels, inventory.IscsiInstalledLabel)
	in.Readiness.Pods = append(in.Readiness.Pods, dsPod("prepare-csi", "node-3", true))
	r = Run(in, nil, "v1")
	expect(t, r, "nodes.iscsi-prepared", Warn, "node-3: not labelled iomesh.com/iscsi-installed yet: prepare-csi-node-3 is at work")
	if r.Nodes.Chunk.Free != 1 {
		t.Fatalf("a warning left the node out: free %d", r.Nodes.Chunk.Free)
	}
}

// What cannot be told keeps the node eligible and says why.
func TestReadinessCannotTell(t *testing.T) {
	for name, tc := range map[string]struct {
		edit   func(*Input)
		id     string
		reason string
	}{
		"chart without prepare-csi": {func(in *Input) {
			delete(in.Nodes[3].Labels, inventory.IscsiInstalledLabel)
			in.Readiness.PrepareCSI, in.Readiness.NoPrepareCSI = "", "prepare-csi is disabled (csi-driver.prepareCSI.enabled=false), so nothing labels prepared nodes"
		}, "nodes.iscsi-prepared", "1 of 2 eligible nodes carry iomesh.com/iscsi-installed; node-3: cannot tell: no iomesh.com/iscsi-installed label and prepare-csi is disabled (csi-driver.prepareCSI.enabled=false)"},
		"prepared by hand": {func(in *Input) {
			delete(in.Nodes[3].Labels, inventory.IscsiInstalledLabel)
			in.Nodes[3].Spec.Taints = []corev1.Taint{{Key: "storage", Effect: corev1.TaintEffectNoSchedule}}
			in.ChunkPolicy.Tolerations = []corev1.Toleration{{Key: "storage", Operator: corev1.TolerationOpExists}}
		}, "nodes.iscsi-prepared", "node-3: cannot tell: no iomesh.com/iscsi-installed label and no prepare-csi pod: prepared by hand (CoreOS, which prepare-csi does not support), or prepare-csi does not run there (taints storage:NoSchedule); check on the node: `systemctl is-active iscsid`"},
		"no dataCIDR": {func(in *Input) { in.Readiness.DataCIDR = "" }, "nodes.storage-network", "node-3, node-4: cannot tell: iomesh.chunk.dataCIDR is not set"},
		"address outside": {func(in *Input) {
			in.Nodes[4].Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "172.16.0.5"}, {Type: corev1.NodeHostName, Address: "node-4"}}
		}, "nodes.storage-network", "node-4: cannot tell: its addresses 172.16.0.5 are outside 10.234.1.0/24, and the storage network may be on another interface; run `ip -4 addr` on the node"},
		"no capacity": {func(in *Input) { in.Nodes[3].Status.Capacity = nil }, "nodes.resources", "node-3: cannot tell: the node states no capacity"},
	} {
		t.Run(name, func(t *testing.T) {
			in := ready(cluster(5, 3, 3, 10))
			tc.edit(in)
			r := Run(in, nil, "v1")
			expect(t, r, tc.id, Skipped, tc.reason)
			if r.Nodes.Chunk.Free != 2 {
				t.Fatalf("a node that cannot be told was left out: free %d", r.Nodes.Chunk.Free)
			}
		})
	}
}

func TestReadinessResourcesAndErrors(t *testing.T) {
	in := ready(cluster(5, 3, 3, 10))
	in.Nodes[3].Status.Capacity[corev1.ResourceCPU] = resource.MustParse("4")
	in.Nodes[4].Status.Capacity[corev1.ResourceMemory] = resource.MustParse("14Gi")
	r := Run(in, nil, "v1")
	expect(t, r, "nodes.resources", Warn, "2 nodes of 2 eligible:\nnode-3: 4 CPUs, below 8 (capacity)\nnode-4: 14Gi memory, below 16 GiB (capacity)")
	if res := verdicts(r)["nodes.resources"]; res.Doc != DocPrerequisite || r.Nodes.Chunk.Free != 2 {
		t.Fatalf("doc %q, free %d", res.Doc, r.Nodes.Chunk.Free)
	}
	// 16 GB of memory as a machine reports it (15.6 GiB) passes.
	in.Nodes[4].Status.Capacity[corev1.ResourceMemory] = resource.MustParse("16303004Ki")
	expect(t, Run(in, nil, "v1"), "nodes.resources", Warn, "1 node of 2 eligible: (1 have")

	in = ready(cluster(5, 3, 3, 10))
	in.Readiness.DataCIDR = "10.234.1.0/33"
	expect(t, Run(in, nil, "v1"), "nodes.storage-network", Error, `dataCIDR "10.234.1.0/33" is not a CIDR`)
	in.Readiness.DataCIDR = "192.168.0.0/24, 10.234.1.0/24"
	expect(t, Run(in, nil, "v1"), "nodes.storage-network", Pass, "all 2 eligible nodes")

	in = ready(cluster(5, 3, 3, 10))
	in.Readiness.Err = errors.New("pods is forbidden")
	r = Run(in, nil, "v1")
	expect(t, r, "nodes.iscsi-prepared", Error, "pods is forbidden")
	in = cluster(5, 3, 3, 10)
	expect(t, Run(in, nil, "v1"), "nodes.csi-node-ready", Skipped, "not read")
	// No eligible node: nothing to judge.
	in = ready(cluster(3, 3, 3, 10))
	expect(t, Run(in, nil, "v1"), "nodes.iscsi-prepared", Skipped, "no node is eligible for a new chunk pod")
	// The CSI node plugin missing from a node warns with its taints.
	in = ready(cluster(4, 3, 3, 10))
	in.Readiness.Pods = in.Readiness.Pods[:3]
	expect(t, Run(in, nil, "v1"), "nodes.csi-node-ready", Warn, "node-3: no iomesh-csi-driver-node-plugin pod on the node")
}

// With --exec-storage-network, addresses read inside the CSI node plugin decide; a node with
// none in dataCIDR warns and stays eligible; a failed exec cannot tell, with why.
func TestReadinessHostAddresses(t *testing.T) {
	in := ready(cluster(6, 3, 3, 10))
	for i := 3; i < 6; i++ {
		in.Nodes[i].Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "172.16.0.9"}}
	}
	expect(t, Run(in, nil, "v1"), "nodes.storage-network", Skipped, "or pass --exec-storage-network")
	in.Readiness.Host = map[string]HostRead{
		"node-3": {Pod: "plugin-3", Addresses: []string{"172.16.0.9", "10.234.1.33"}},
		"node-4": {Pod: "plugin-4", Addresses: []string{"172.16.0.9"}},
		"node-5": {Pod: "plugin-5", Err: errors.New("pods \"plugin-5\" is forbidden")},
	}
	r := Run(in, nil, "v1")
	expect(t, r, "nodes.storage-network", Warn, "node-4: none of the node's addresses is in 10.234.1.0/24: 172.16.0.9, read inside plugin-4")
	expect(t, r, "nodes.storage-network", Warn, "node-5: cannot tell: its addresses 172.16.0.9 are outside 10.234.1.0/24, and reading them inside plugin-5 failed: pods \"plugin-5\" is forbidden; run `ip -4 addr` on the node")
	if got := r.Nodes.Readiness[3].Network; got.Verdict != Pass || got.Reason != "10.234.1.33 (read inside plugin-3) is in 10.234.1.0/24" {
		t.Fatalf("node-3 %+v", got)
	}
	if r.Nodes.Chunk.Free != 3 {
		t.Fatalf("a storage-network warning left a node out: free %d", r.Nodes.Chunk.Free)
	}
}
