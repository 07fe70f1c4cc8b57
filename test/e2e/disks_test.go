//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
)

var bdGVR = schema.GroupVersionResource{Group: "openebs.io", Version: "v1alpha1", Resource: "blockdevices"}

const hybridDeviceMap = `iomesh.chunk.deviceMap={"cacheWithJournal":{"selector":{"matchLabels":{"iomesh.com/bd-driverType":"SSD"}}},"dataStore":{"selector":{"matchLabels":{"iomesh.com/bd-driverType":"HDD"}}}}`

// createDisk makes an unformatted, unclaimed BlockDevice on node, as NDM would publish it.
func createDisk(t *testing.T, name, node, driver string, bytes int64) {
	t.Helper()
	bd := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "openebs.io/v1alpha1", "kind": "BlockDevice",
		"metadata": map[string]interface{}{"name": name, "namespace": ns, "labels": map[string]interface{}{
			"kubernetes.io/hostname": node, "iomesh.com/bd-driverType": driver, "iomesh.com/bd-deviceType": "disk"}},
		"spec":   map[string]interface{}{"nodeAttributes": map[string]interface{}{"nodeName": node}, "path": "/dev/" + name, "capacity": map[string]interface{}{"storage": bytes}, "filesystem": map[string]interface{}{}},
		"status": map[string]interface{}{"claimState": "Unclaimed", "state": "Active"},
	}}
	if _, err := env.dyn.Resource(bdGVR).Namespace(ns).Create(context.Background(), bd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func deleteDisks(t *testing.T) {
	t.Helper()
	_ = env.dyn.Resource(bdGVR).Namespace(ns).DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{})
}

// setAllocatablePods sets a node's pod capacity ("" restores the default 1100).
func setAllocatablePods(t *testing.T, node, pods string) {
	t.Helper()
	if pods == "" {
		pods = "1100"
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := env.kube.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Status.Allocatable[corev1.ResourcePods] = resource.MustParse(pods)
		n.Status.Capacity[corev1.ResourcePods] = resource.MustParse(pods)
		_, err = env.kube.CoreV1().Nodes().UpdateStatus(context.Background(), n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Disks and room per node, before anything changes: which disks each new chunk pod would mount,
// nodes without disks or at their pod limit named, the plan's capacity line, and the checks
// degrading cleanly without a deviceMap or without the BlockDevice API.
func TestDisksAndRoom(t *testing.T) {
	freshInstall(t, install{nodes: 6, edition: "enterprise", license: enterpriseLicense(10), values: []string{hybridDeviceMap}})
	deleteDisks(t)
	t.Cleanup(func() { deleteDisks(t) })
	ctx := context.Background()
	// The scheduler chose 3 of the 6 nodes for chunk pods: of the other three, one gets disks,
	// one none, and one is filled to its pod limit.
	pods, err := env.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	onNode, chunkOn := map[string]int{}, map[string]bool{}
	for _, p := range pods.Items {
		onNode[p.Spec.NodeName]++
		if strings.HasPrefix(p.Name, "iomesh-chunk-") {
			chunkOn[p.Spec.NodeName] = true
		}
	}
	var free []string
	for i := 0; i < 6; i++ {
		if n := nodeName(i); !chunkOn[n] {
			free = append(free, n)
		} else {
			createDisk(t, "bd-"+n+"-ssd", n, "SSD", 400<<30) // claimed by the running chunk in real life
		}
	}
	withDisks, noDisks, full := free[0], free[1], free[2]
	createDisk(t, "bd-"+withDisks+"-ssd", withDisks, "SSD", 400<<30)
	createDisk(t, "bd-"+withDisks+"-hdd", withDisks, "HDD", 4<<40)
	limit := fmt.Sprint(onNode[full] + 1)
	setAllocatablePods(t, full, limit)
	t.Cleanup(func() { setAllocatablePods(t, full, "") })
	filler := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other-app", Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: full, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if _, err := env.kube.CoreV1().Pods("default").Create(ctx, filler, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.kube.CoreV1().Pods("default").Delete(context.Background(), "other-app", metav1.DeleteOptions{})
	})

	r := plugin(t, "preflight", "--chunk", "5", "-o", "wide")
	mustContain(t, r, "disks.new-chunk-nodes", "1 eligible node has no usable disk: "+noDisks,
		"at its pod limit ("+limit+" of "+limit+" pods)", "NEW CHUNK DISKS",
		"cacheWithJournal: bd-"+withDisks+"-ssd 400Gi; dataStore: bd-"+withDisks+"-hdd 4Ti")
	if r.code != 0 {
		t.Fatalf("warnings only: want exit 0: %s", r)
	}
	if row := regexpLine(r.stdout, full+" "); !strings.Contains(row, "no: at its pod limit") {
		t.Fatalf("%s is not named ineligible for a chunk pod: %q", full, row)
	}

	r = plugin(t, "scale", "--chunk", "5", "--dry-run")
	if r.code != 0 {
		t.Fatalf("dry run: %s", r)
	}
	mustContain(t, r, "Disks:     up to 2 disks, 4.4Ti raw on the 2 eligible nodes (an upper bound: the scheduler picks the nodes)")

	// An empty deviceMap: nothing is mounted anywhere.
	patch := []byte(`{"spec":{"chunk":{"deviceMap":null}}}`)
	if _, err := env.dyn.Resource(iomeshGVR).Namespace(ns).Patch(context.Background(), relName, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	r = plugin(t, "preflight", "--chunk", "4")
	mustContain(t, r, "spec.chunk.deviceMap is empty: no disk is mounted on any node")

	// Without the BlockDevice API the check says so and is skipped.
	if out := run(t, nil, "kubectl", "delete", "crd", "blockdevices.openebs.io", "--wait"); out.code != 0 {
		t.Fatalf("delete crd: %s", out)
	}
	t.Cleanup(func() {
		run(t, nil, "kubectl", "apply", "-f", filepath.Join(env.root, "deploy", "charts", "iomesh", "crds", "openebs.io_blockdevices.yaml"))
	})
	eventually(t, 30e9, "the BlockDevice API gone", func() bool {
		_, err := env.dyn.Resource(bdGVR).Namespace(ns).List(context.Background(), metav1.ListOptions{})
		return err != nil
	})
	r = plugin(t, "preflight", "--chunk", "4")
	if r.code != 0 {
		t.Fatalf("without the BlockDevice API: want exit 0: %s", r)
	}
	mustContain(t, r, "[SKIP] disks.new-chunk-nodes", "the BlockDevice API (blockdevices.openebs.io) is not installed")
}
