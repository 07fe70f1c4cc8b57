//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// readinessOf is each check's verdict and reason from preflight -o json, and the nodes left out.
func readinessOf(t *testing.T, r result) (map[string][2]string, []string) {
	t.Helper()
	var doc struct {
		Checks []struct{ ID, Verdict, Reason string }
		Nodes  struct {
			LeftOut []string `json:"leftOut"`
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("preflight -o json: %v\n%s", err, r)
	}
	out := map[string][2]string{}
	for _, c := range doc.Checks {
		out[c.ID] = [2]string{c.Verdict, c.Reason}
	}
	return out, doc.Nodes.LeftOut
}

// dsPodOn is the pod of the DaemonSet selected by selector on node, once there is one.
func dsPodOn(t *testing.T, selector, node string) corev1.Pod {
	t.Helper()
	var pod corev1.Pod
	eventually(t, 60*time.Second, selector+" pod on "+node, func() bool {
		pods, err := env.kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false
		}
		for _, p := range pods.Items {
			if p.Spec.NodeName == node && p.Status.PodIP != "" {
				pod = p
				return true
			}
		}
		return false
	})
	return pod
}

// setPodStatus replaces a pod's container state (kwok leaves a pod that is no longer Pending).
func setPodStatus(t *testing.T, pod corev1.Pod, edit func(*corev1.Pod)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := env.kube.CoreV1().Pods(ns).Get(context.Background(), pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		edit(cur)
		_, err = env.kube.CoreV1().Pods(ns).UpdateStatus(context.Background(), cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func notReady(p *corev1.Pod) {
	p.Status.Phase = corev1.PodRunning
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady || p.Status.Conditions[i].Type == corev1.ContainersReady {
			p.Status.Conditions[i].Status = corev1.ConditionFalse
		}
	}
}

// Preflight on the stand-in chart's prepare-csi and CSI node plugin DaemonSets: a node without
// the iSCSI label whose prepare-csi pod crashes in a loop, a node whose CSI node plugin is not
// Ready and that has 4 CPUs, nodes whose addresses are outside dataCIDR. Each shows its verdict;
// the two failing nodes are left out of the chunk placement and of the plan.
func TestPreflightNodeReadiness(t *testing.T) {
	freshInstall(t, install{nodes: 6, edition: "enterprise", license: enterpriseLicense(10)})
	waitPodsReady(t, "app=iomesh-csi-driver-node-plugin", 6)
	free := freeNodes(t)
	if len(free) != 3 {
		t.Fatalf("free nodes %v", free)
	}
	// a: 4 CPUs and its CSI node plugin not Ready; b: no iSCSI label; c: ready.
	a, b, c := free[0], free[1], free[2]
	r := plugin(t, "preflight", "--chunk", "6", "-o", "json")
	checks, left := readinessOf(t, r)
	for id, want := range map[string]string{"nodes.iscsi-prepared": "pass", "nodes.csi-node-ready": "pass", "nodes.resources": "pass", "nodes.storage-network": "skipped"} {
		if checks[id][0] != want {
			t.Fatalf("ready nodes: %s = %v, want %s\n%s", id, checks[id], want, r)
		}
	}
	// kwok gives every node 127.0.0.1: outside the dataCIDR the tests install with.
	if !strings.Contains(checks["nodes.storage-network"][1], "its addresses 127.0.0.1 are outside 10.234.1.0/24") || len(left) != 0 {
		t.Fatalf("storage network %v, left out %v", checks["nodes.storage-network"], left)
	}
	record("readiness", "nodes' addresses outside dataCIDR", "nodes.storage-network cannot tell, names the addresses and `ip -4 addr`")
	// Opted in, one exec per such node into its CSI node plugin (the stand-in cat, as kwok's
	// ClusterExec has it: 198.51.100.7, outside dataCIDR too): a warning naming what was read
	// and where, for preflight and for scale alike.
	r = plugin(t, "preflight", "--chunk", "6", "--exec-storage-network", "-o", "json")
	checks, _ = readinessOf(t, r)
	if net := checks["nodes.storage-network"]; net[0] != "warn" || !strings.Contains(net[1], "none of the node's addresses is in 10.234.1.0/24: 198.51.100.7") || !strings.Contains(net[1], "read inside iomesh-csi-driver-node-plugin-") {
		t.Fatalf("storage network with --exec-storage-network: %v\n%s", net, r)
	}
	r = plugin(t, "scale", "--chunk", "6", "--exec-storage-network", "--dry-run")
	mustContain(t, r, "[WARN] nodes.storage-network", "198.51.100.7, read inside iomesh-csi-driver-node-plugin-")
	record("readiness", "--exec-storage-network, the addresses read inside the CSI node plugin outside dataCIDR", "nodes.storage-network warns with the addresses and the pod, in preflight and scale")
	// Without the exec permission (the default roles), the opt-in is refused by rbac.permissions.
	// (TestPreflightReadOnlyUser covers the read-only role; the rule is in access.StorageNetworkExecNeeds.)

	// b loses the label: prepare-csi comes, and crashes in a loop.
	mustKubectl(t, "label", "node", b, "iomesh.com/iscsi-installed-")
	prep := dsPodOn(t, "app.kubernetes.io/name=prepare-csi", b)
	setPodStatus(t, prep, func(p *corev1.Pod) {
		notReady(p)
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "prepare-csi", Image: p.Spec.Containers[0].Image, RestartCount: 6,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error",
				Message: "no package iscsi-initiator-utils", StartedAt: metav1.Now(), FinishedAt: metav1.Now()}}}}
	})
	// a: 4 CPUs, and its CSI node plugin not Ready.
	setCPU(t, a, "4")
	t.Cleanup(func() { setCPU(t, a, "64") })
	plug := dsPodOn(t, "app=iomesh-csi-driver-node-plugin", a)
	setPodStatus(t, plug, func(p *corev1.Pod) {
		notReady(p)
		for i := range p.Status.ContainerStatuses {
			if p.Status.ContainerStatuses[i].Name == "csi-driver" {
				p.Status.ContainerStatuses[i].Ready = false
				p.Status.ContainerStatuses[i].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}
			}
		}
	})

	r = plugin(t, "preflight", "--chunk", "4", "-o", "json")
	if r.code != 0 {
		t.Fatalf("chunk 4 fits the one node left: want exit 0 (warnings)\n%s", r)
	}
	checks, left = readinessOf(t, r)
	iscsi := checks["nodes.iscsi-prepared"]
	if iscsi[0] != "warn" || !strings.Contains(iscsi[1], b+" (left out): not labelled iomesh.com/iscsi-installed: "+prep.Name+" container prepare-csi CrashLoopBackOff, restarted 6 times, last exited with code 1 (Error): no package iscsi-initiator-utils; see `kubectl logs -n iomesh-system "+prep.Name+" -c prepare-csi --previous`") {
		t.Fatalf("iscsi-prepared %v", iscsi)
	}
	record("readiness", "a node without the iSCSI label, prepare-csi in CrashLoopBackOff", "nodes.iscsi-prepared names the pod, its last exit and `kubectl logs --previous`; the node is left out")
	csi := checks["nodes.csi-node-ready"]
	if csi[0] != "warn" || !strings.Contains(csi[1], a+" (left out): not Ready: "+plug.Name+" container csi-driver Running, not ready") {
		t.Fatalf("csi-node-ready %v", csi)
	}
	record("readiness", "a CSI node plugin pod not Ready", "nodes.csi-node-ready names the pod and its container; the node is left out")
	if res := checks["nodes.resources"]; res[0] != "warn" || !strings.Contains(res[1], a+": 4 CPUs, below 8 (capacity)") {
		t.Fatalf("resources %v", res)
	}
	record("readiness", "a node with 4 CPUs", "nodes.resources warns with the numbers; the node stays eligible")
	want := []string{a + ": CSI node plugin not Ready (nodes.csi-node-ready)", b + ": iSCSI not prepared (nodes.iscsi-prepared)"}
	if strings.Join(left, "|") != strings.Join(want, "|") {
		t.Fatalf("left out %q, want %q", left, want)
	}
	// Two more chunk pods than the one node left: nodes.eligible-chunk fails, naming both.
	r = plugin(t, "preflight", "--chunk", "5")
	if r.code != 3 {
		t.Fatalf("chunk 5: want exit 3\n%s", r)
	}
	mustContain(t, r, "[FAIL] nodes.eligible-chunk", "left out "+want[0], "left out "+want[1], "[WARN] nodes.iscsi-prepared")
	// The plan names them, one row each, and new pods land only on c.
	r = plugin(t, "scale", "--chunk", "4", "--dry-run")
	if r.code != 0 {
		t.Fatalf("scale --dry-run\n%s", r)
	}
	mustContain(t, r, "new pods can land on "+c+"\n", "Left out:  "+want[0], "Left out:  "+want[1])
}

func setCPU(t *testing.T, node, cpu string) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := env.kube.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Status.Capacity[corev1.ResourceCPU] = resource.MustParse(cpu)
		_, err = env.kube.CoreV1().Nodes().UpdateStatus(context.Background(), cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
