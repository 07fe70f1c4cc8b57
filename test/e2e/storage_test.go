//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// startOperator runs the stand-in IOMesh operator until the test ends. Its record of what
// happened to the chunks starts empty, so a test never reads an earlier test's lines.
func startOperator(t *testing.T, args ...string) {
	t.Helper()
	if err := os.Remove(chunkRecordPath()); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	args = append([]string{"--kubeconfig", env.kubeconfig, "--record", chunkRecordPath()}, args...)
	cmd := exec.Command(filepath.Join(env.binDir, "standin-operator"), args...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("stand-in operator log:\n%s", logs.String())
		}
	})
}

// annotate sets (or with "" removes) a stand-in fault on the IOMeshCluster and waits until the
// operator's status shows it.
func annotate(t *testing.T, key, value string, shows func(map[string]interface{}) bool) {
	t.Helper()
	ctx := context.Background()
	v, _ := json.Marshal(value)
	if value == "" {
		v = []byte("null")
	}
	patch := []byte(`{"metadata":{"annotations":{"` + key + `":` + string(v) + `}}}`)
	if _, err := env.dyn.Resource(iomeshGVR).Namespace(ns).Patch(ctx, relName, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the stand-in operator reports "+key, func() bool {
		obj, err := env.dyn.Resource(iomeshGVR).Namespace(ns).Get(ctx, relName, metav1.GetOptions{})
		return err == nil && shows(obj.Object)
	})
}

func healthyChunks(obj map[string]interface{}) int {
	chunks, _, _ := unstructured.NestedSlice(obj, "status", "summary", "chunkSummary", "chunks")
	n := 0
	for _, c := range chunks {
		if m, ok := c.(map[string]interface{}); ok && m["status"] == "CHUNK_STATUS_CONNECTED_HEALTHY" {
			n++
		}
	}
	return n
}

// A scale ends when IOMesh reports the new chunks healthy, a few seconds after their pods are
// Ready, and says what capacity it added.
func TestScaleWaitsForStorage(t *testing.T) {
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10)})
	startOperator(t, "--register-after", "4s")
	annotate(t, "standin.iomesh.com/none", "", func(o map[string]interface{}) bool { return healthyChunks(o) == 3 })

	r := plugin(t, "status")
	if r.code != 0 {
		t.Fatalf("status: %s", r)
	}
	mustContain(t, r, "IOMesh:    3/3 chunks registered and healthy", "CHUNK_STATUS_CONNECTED_HEALTHY", "Capacity:  60.00Gi of 3.00Ti used", "Tasks:     none in process")
	leader := regexpLine(r.stdout, "Leader:")
	if !strings.Contains(leader, "(pod iomesh-meta-") {
		t.Fatalf("no labelled leader pod: %q", leader)
	}

	r = plugin(t, "scale", "--chunk", "5", "--meta", "5", "--yes", "--timeout", "2m")
	if r.code != 0 {
		t.Fatalf("scale: %s", r)
	}
	// The pods were Ready before IOMesh registered their chunks: the wait went on past them.
	mustContain(t, r, "Waiting for IOMesh to report 5 chunks CONNECTED_HEALTHY", "waiting for chunks on kwok-node-",
		"IOMesh reports 5 chunks CONNECTED_HEALTHY", "Capacity: data 3.00Ti -> 5.00Ti, cache 600.00Gi -> 1000.00Gi")
	obj, err := env.dyn.Resource(iomeshGVR).Namespace(ns).Get(context.Background(), relName, metav1.GetOptions{})
	if err != nil || healthyChunks(obj.Object) != 5 {
		t.Fatalf("after the scale IOMesh reports %d healthy chunks (%v)", healthyChunks(obj.Object), err)
	}

	// --wait-for pods ends at readiness, as before.
	if r := plugin(t, "scale", "--chunk", "5", "--meta", "5", "--yes", "--wait-for", "pods"); r.code != 0 || strings.Contains(r.stderr, "Waiting for IOMesh") {
		t.Fatalf("--wait-for pods: %s", r)
	}
	if r := plugin(t, "scale", "--chunk", "5", "--wait-for", "disks"); r.code != 2 {
		t.Fatalf("--wait-for disks: want exit 2: %s", r)
	}
}

// While IOMesh recovers or migrates data, preflight fails and scale is refused with the release
// untouched; a leader that vanishes is a warning.
func TestScaleRefusedWhileTaskInProcess(t *testing.T) {
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10)})
	startOperator(t, "--register-after", "0s")
	annotate(t, "standin.iomesh.com/task-in-process", "MIGRATE 12 extents", func(o map[string]interface{}) bool {
		s, _, _ := unstructured.NestedString(o, "status", "taskInProcess")
		return s == "MIGRATE 12 extents"
	})
	before := readRelease(t)
	r := plugin(t, "scale", "--chunk", "5", "--yes")
	if r.code != 3 {
		t.Fatalf("want exit 3: %s", r)
	}
	mustContain(t, r, "cluster.tasks-idle", "IOMesh reports a task in process: MIGRATE 12 extents", "Nothing was changed")
	assertUnchanged(t, before)

	annotate(t, "standin.iomesh.com/task-in-process", "", func(o map[string]interface{}) bool {
		s, _, _ := unstructured.NestedString(o, "status", "taskInProcess")
		return s == ""
	})
	annotate(t, "standin.iomesh.com/no-leader", "true", func(o map[string]interface{}) bool {
		s, _, _ := unstructured.NestedString(o, "status", "summary", "metaSummary", "leader")
		return s == ""
	})
	r = plugin(t, "preflight", "--chunk", "5", "--fail-on-warning")
	if r.code != 4 {
		t.Fatalf("no leader: want exit 4: %s", r)
	}
	mustContain(t, r, "cluster.meta-leader", "IOMesh reports no meta leader")
}

// An IOMesh that reports no summary: status says so, nothing fails, scale ends at the pods.
func TestStatusWithoutSummary(t *testing.T) {
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10)})
	startOperator(t)
	annotate(t, "standin.iomesh.com/no-summary", "true", func(o map[string]interface{}) bool {
		_, has, _ := unstructured.NestedMap(o, "status", "readyReplicas")
		_, hasSummary, _ := unstructured.NestedMap(o, "status", "summary")
		return has && !hasSummary
	})
	r := plugin(t, "status")
	if r.code != 0 {
		t.Fatalf("status: %s", r)
	}
	mustContain(t, r, "IOMesh:    chunkSummary not reported by this IOMesh version")
	r = plugin(t, "status", "-o", "json")
	var doc struct {
		IOMesh struct {
			SummaryReported bool `json:"summaryReported"`
			TaskReported    bool `json:"taskReported"`
		} `json:"iomesh"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.IOMesh.SummaryReported || !doc.IOMesh.TaskReported {
		t.Fatalf("json: %v %+v\n%s", err, doc, r)
	}
	r = plugin(t, "scale", "--chunk", "4", "--yes", "--timeout", "2m")
	if r.code != 0 {
		t.Fatalf("scale: %s", r)
	}
	mustContain(t, r, "IOMesh does not report chunk registration", "done at pod readiness")
}

func regexpLine(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
