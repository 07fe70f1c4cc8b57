//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const statesNS = "pod-states"

// statesCluster is an IOMeshCluster applied without Helm and with no operator running, so its
// pods are found by name and can be put into any state.
var statesCluster = directCluster(statesNS, "")

// The pod rows are kubectl's: in the three states where kubectl v1.36 prints what older
// printers did not (scheduling-gated, Succeeded while being deleted, one container in Error
// beside one Completed), status prints exactly what `kubectl get pod` prints.
func TestPodRowsAreKubectls(t *testing.T) {
	freshInstall(t, install{nodes: 3, edition: "enterprise", license: enterpriseLicense(6)})
	ctx := context.Background()
	apply := exec.Command("kubectl", "apply", "-f", "-")
	apply.Stdin = strings.NewReader(statesCluster)
	if out, err := apply.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	pods := env.kube.CoreV1().Pods(statesNS)
	t.Cleanup(func() {
		bg := context.Background()
		_, _ = pods.Patch(bg, "pod-states-chunk-1", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
		_ = env.dyn.Resource(iomeshGVR).Namespace(statesNS).Delete(bg, statesNS, metav1.DeleteOptions{})
		_ = env.kube.CoreV1().Namespaces().Delete(bg, statesNS, metav1.DeleteOptions{})
	})
	gate := []corev1.PodSchedulingGate{{Name: "iomesh.com/held"}}
	mk := func(name string, containers ...string) {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{SchedulingGates: gate}}
		for _, c := range containers {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c, Image: "iomesh/" + c})
		}
		if name == "pod-states-chunk-1" {
			p.Finalizers = []string{"iomesh.com/test-hold"}
		}
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	terminated := func(name string, code int32, reason string) string {
		return fmt.Sprintf(`{"name":%q,"image":"iomesh/%s","imageID":"","ready":false,"restartCount":0,"state":{"terminated":{"exitCode":%d,"reason":%q}}}`,
			name, name, code, reason)
	}
	status := func(name, phase string, containers ...string) {
		patch := `{"status":{"phase":"` + phase + `","conditions":[{"type":"PodScheduled","status":"True"}],"containerStatuses":[` + strings.Join(containers, ",") + `]}}`
		if _, err := pods.Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil {
			t.Fatal(err)
		}
	}
	mk("pod-states-chunk-0", "zbs-chunkd")
	mk("pod-states-chunk-1", "zbs-chunkd")
	mk("pod-states-chunk-2", "zbs-chunkd", "chunk-exporter")
	status("pod-states-chunk-1", "Succeeded", terminated("zbs-chunkd", 0, "Completed"))
	status("pod-states-chunk-2", "Failed", terminated("zbs-chunkd", 0, "Completed"), terminated("chunk-exporter", 1, "Error"))
	if err := pods.Delete(ctx, "pod-states-chunk-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	fields := regexp.MustCompile(`\s{2,}`)
	rowsOf := func(out string) map[string][]string {
		rows := map[string][]string{}
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "pod-states-chunk-") {
				f := fields.Split(strings.TrimSpace(l), -1)
				rows[f[0]] = f
			}
		}
		return rows
	}
	// AGE aside (the two reads may fall on either side of a second), every column is the same.
	same := func(a, b []string) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if i != 4 && a[i] != b[i] {
				return false
			}
		}
		return true
	}
	for _, wide := range []bool{false, true} {
		args, kargs := []string{"status", "-n", statesNS, "--iomesh-cluster", statesNS}, []string{"get", "pod", "-n", statesNS}
		if wide {
			args, kargs = append(args, "-o", "wide"), append(kargs, "-o", "wide")
		}
		var ours, theirs map[string][]string
		eventually(t, 10*time.Second, "the same rows as kubectl", func() bool {
			r := plugin(t, args...)
			k := run(t, nil, "kubectl", kargs...)
			ours, theirs = rowsOf(r.stdout), rowsOf(k.stdout)
			if len(theirs) != 3 || len(ours) != 3 {
				return false
			}
			for name, want := range theirs {
				got := ours[name]
				if wide && len(got) > len(want) {
					got = got[:len(want)] // status -o wide adds its own columns after kubectl's
				}
				if !same(got, want) {
					return false
				}
			}
			return true
		})
		for name, want := range map[string]string{"pod-states-chunk-0": "SchedulingGated", "pod-states-chunk-1": "Completed", "pod-states-chunk-2": "Error"} {
			if ours[name][2] != want {
				t.Fatalf("%s: STATUS %q, want %q (ours %v, kubectl %v)", name, ours[name][2], want, ours, theirs)
			}
		}
	}
}
