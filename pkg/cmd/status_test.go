package cmd

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/cmd -update to create it)", err)
	}
	if string(want) != got {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("%s differs from testdata/%s.golden at line %d (run go test ./pkg/cmd -update after checking):\n got: %q\nwant: %q", name, name, i+1, g, w)
				return
			}
		}
	}
}

// runStatus runs the status command over fixture clients with the given flags.
func runStatus(t *testing.T, c tf.Clients, args ...string) (string, string, error) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	common := NewCommon(streams)
	common.SetClients(c.Kube, c.Dynamic, c.Helm)
	ctx := "test-context"
	common.ConfigFlags.Context = &ctx
	common.Now = func() time.Time { return tf.Now }
	cmd := NewStatusCommand(common)
	cmd.SetArgs(append([]string{}, args...))
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func enterpriseValues() values.Map {
	return values.Map{"iomesh": values.Map{
		"edition": "enterprise",
		"chunk":   values.Map{"replicaCount": 5, "dataCIDR": "10.234.1.0/24"},
	}}
}

func testLicense(maxChunk int, expires string) map[string]interface{} {
	return map[string]interface{}{"maxChunkNum": int64(maxChunk), "licenseType": "SUBSCRIPTION", "softwareEdition": "ENTERPRISE", "expirationDate": expires}
}

func mixedCluster(t *testing.T, rel tf.Rel, cr runtime.Object) tf.Clients {
	objs := []runtime.Object{
		tf.StatefulSet("chunk", 5, 3, "iomesh/zbs-chunkd:v5.3.0-rc13-enterprise"),
		tf.StatefulSet("meta", 3, 2, "iomesh/zbs-metad:v5.3.0-rc13-enterprise"),
		tf.Pod("chunk", 0, 3, "node-0", 5*time.Hour+5*time.Minute, tf.Running),
		tf.Pod("chunk", 1, 3, "node-1", 5*time.Hour+5*time.Minute, tf.CrashLoop),
		tf.Pod("chunk", 2, 3, "node-2", 5*time.Hour+5*time.Minute, tf.Terminating),
		tf.Pod("chunk", 3, 3, "", 2*time.Minute, tf.Pending),
		tf.Pod("chunk", 4, 3, "node-4", 30*time.Second, tf.ContainerCreating),
		tf.Pod("chunk", 10, 3, "node-9", 30*time.Second, tf.Running), // ordinal order, not text order
		tf.Pod("meta", 0, 2, "node-0", 26*time.Hour, tf.Running),
		tf.Pod("meta", 1, 2, "node-1", 26*time.Hour, tf.Running),
		tf.Pod("meta", 2, 2, "node-2", 26*time.Hour, tf.Running),
		tf.Pod("zookeeper", 0, 1, "node-0", 26*time.Hour, tf.Running), // not chunk or meta
	}
	if cr != nil {
		objs = append(objs, cr)
	}
	return tf.NewClients(t, []tf.Rel{{Revision: 1, Values: values.Map{}}, rel}, objs...)
}

func TestStatusGolden(t *testing.T) {
	c := mixedCluster(t, tf.Rel{Revision: 2, Values: enterpriseValues()}, tf.IOMeshCluster("", testLicense(6, "2026-12-31")))
	for _, format := range []string{"", "wide", "json", "yaml"} {
		t.Run("o="+format, func(t *testing.T) {
			args := []string{}
			name := "status-mixed-table"
			if format != "" {
				args = []string{"-o", format}
				name = "status-mixed-" + format
			}
			out, errOut, err := runStatus(t, c, args...)
			if err != nil {
				t.Fatalf("-o %s: %v (stderr %s)", format, err, errOut)
			}
			golden(t, name, out)
			if format == "json" {
				var doc map[string]interface{}
				dec := json.NewDecoder(strings.NewReader(out))
				if err := dec.Decode(&doc); err != nil {
					t.Fatalf("json: %v", err)
				}
				if dec.More() {
					t.Fatal("-o json printed more than one document")
				}
				if doc["kind"] != "Status" || doc["apiVersion"] == nil {
					t.Fatalf("json lacks kind/apiVersion: %v", doc)
				}
			}
		})
	}
}

func TestStatusMissingLicenceAndLegacyValues(t *testing.T) {
	legacyChart := tf.Chart("v0.10.1", values.Map{"chunk": values.Map{"replicaCount": 3}, "meta": values.Map{"replicaCount": 3}})
	rel := tf.Rel{Revision: 2, Chart: legacyChart, Values: values.Map{"chunk": values.Map{"replicaCount": 4}}}
	c := tf.NewClients(t, []tf.Rel{rel},
		tf.StatefulSet("chunk", 4, 2, "iomesh/zbs-chunkd:v5.0.0-community"),
		tf.Pod("chunk", 0, 2, "node-0", time.Hour, tf.Running),
		tf.Pod("meta", 0, 2, "node-0", time.Hour, tf.Running),
	)
	out, _, err := runStatus(t, c)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "status-legacy-nolicence", out)
}

func TestStatusEditionSources(t *testing.T) {
	ent := "iomesh/zbs-chunkd:v5.3.0-rc13-enterprise"
	com := "iomesh/zbs-chunkd:v5.3.0-rc13-community"
	cases := []struct {
		name        string
		vals        values.Map
		spec        string
		licEdition  string
		image       string
		wantEdition string
		wantSource  string
	}{
		{"values", values.Map{"iomesh": values.Map{"edition": "enterprise"}}, "community", "COMMUNITY", com, "enterprise", "values"},
		{"spec", values.Map{}, "enterprise", "COMMUNITY", com, "enterprise", "spec"},
		{"licence", values.Map{}, "", "ENTERPRISE", com, "enterprise", "license"},
		{"image", values.Map{}, "", "", ent, "enterprise", "image"},
		{"default", values.Map{}, "", "", "iomesh/zbs-chunkd:v5", "community", "default"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var lic map[string]interface{}
			if tc.licEdition != "" {
				lic = map[string]interface{}{"softwareEdition": tc.licEdition}
			}
			c := tf.NewClients(t, []tf.Rel{{Revision: 1, Values: tc.vals}},
				tf.StatefulSet("chunk", 3, 3, tc.image), tf.IOMeshCluster(tc.spec, lic))
			out, _, err := runStatus(t, c, "-o", "json")
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Edition struct{ Edition, Source string }
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Edition.Edition != tc.wantEdition || doc.Edition.Source != tc.wantSource {
				t.Fatalf("edition = %+v, want %s from %s", doc.Edition, tc.wantEdition, tc.wantSource)
			}
		})
	}
}

func TestStatusMissingCRD(t *testing.T) {
	c := tf.NewClients(t, []tf.Rel{{Revision: 1, Values: enterpriseValues()}})
	c.Dynamic.PrependReactor("get", "iomeshclusters", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewNotFound(schema.GroupResource{}, "")
	})
	out, _, err := runStatus(t, c)
	if err != nil {
		t.Fatalf("a missing CRD is a finding, not a failure: %v", err)
	}
	if !strings.Contains(out, "CRD (iomeshclusters.iomesh.com) is not installed") {
		t.Fatalf("missing CRD not reported:\n%s", out)
	}
}

func TestStatusForbiddenExitsOne(t *testing.T) {
	c := tf.NewClients(t, []tf.Rel{{Revision: 1, Values: enterpriseValues()}})
	c.Dynamic.PrependReactor("get", "iomeshclusters", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "iomesh.com", Resource: "iomeshclusters"}, "iomesh", nil)
	})
	out, _, err := runStatus(t, c)
	if exitcode.Of(err) != exitcode.Error {
		t.Fatalf("exit = %d, want 1", exitcode.Of(err))
	}
	if !strings.Contains(out, "not allowed to get iomeshclusters.iomesh.com") {
		t.Fatalf("forbidden not explained:\n%s", out)
	}
}

func TestStatusReleaseNotFound(t *testing.T) {
	c := tf.NewClients(t, nil)
	_, _, err := runStatus(t, c)
	if err == nil || !strings.Contains(err.Error(), "helm list -A") || exitcode.Of(err) != exitcode.Error {
		t.Fatalf("err = %v", err)
	}
}

func TestStatusBadOutputIsUsage(t *testing.T) {
	c := tf.NewClients(t, []tf.Rel{{Revision: 1, Values: enterpriseValues()}})
	_, _, err := runStatus(t, c, "-o", "xml")
	if exitcode.Of(err) != exitcode.Usage {
		t.Fatalf("exit = %d (%v), want 2", exitcode.Of(err), err)
	}
}

// summaryCluster is an IOMeshCluster whose operator reports the v1.0.1 summary: chunks 1-3
// registered (chunk 3 still initialising), meta-0 leads, a task in process.
func summaryCluster(task string) *unstructured.Unstructured {
	cr := tf.IOMeshCluster("", testLicense(6, "2026-12-31"))
	chunk := func(id int64, ip, status string) interface{} {
		return map[string]interface{}{"id": id, "ip": ip, "status": status, "spaceInfo": map[string]interface{}{
			"totalDataCapacity": "1.00Ti", "usedDataSpace": "20.00Gi", "totalCacheCapacity": "200.00Gi", "usedCacheSpace": "10.00Gi",
			"provisionedDataSpace": "40.00Gi", "failureDataSpace": "0B", "dirtyCacheSpace": "0B", "failureCacheSpace": "0B"}}
	}
	_ = unstructured.SetNestedField(cr.Object, map[string]interface{}{
		"chunkSummary": map[string]interface{}{"chunks": []interface{}{
			chunk(1, "10.0.0.10", "CHUNK_STATUS_CONNECTED_HEALTHY"),
			chunk(2, "10.0.0.11", "CHUNK_STATUS_CONNECTED_HEALTHY"),
			chunk(3, "10.9.9.9", "CHUNK_STATUS_INITIALIZING"),
		}},
		"metaSummary":    map[string]interface{}{"leader": "10.0.0.10:10100", "aliveHost": []interface{}{"10.0.0.10:10100", "10.0.0.11:10100", "10.0.0.12:10100"}, "status": "META_RUNNING"},
		"clusterSummary": map[string]interface{}{"spaceInfo": map[string]interface{}{"totalDataCapacity": "2.00Ti", "usedDataSpace": "40.00Gi", "totalCacheCapacity": "400.00Gi", "usedCacheSpace": "20.00Gi"}},
	}, "status", "summary")
	_ = unstructured.SetNestedField(cr.Object, task, "status", "taskInProcess")
	_ = unstructured.SetNestedSlice(cr.Object, []interface{}{
		map[string]interface{}{"device": "/dev/sdb", "mountType": "cacheWithJournal", "nodeName": "node-0", "uuid": "a"},
		map[string]interface{}{"device": "/dev/sdc", "mountType": "dataStore", "nodeName": "node-0", "uuid": "b"},
	}, "status", "attachedDevices")
	return cr
}

func TestStatusWithIOMeshSummaryGolden(t *testing.T) {
	c := mixedCluster(t, tf.Rel{Revision: 2, Values: enterpriseValues()}, summaryCluster("RECOVER 12 extents"))
	// meta-0 carries the leader label.
	meta0, err := c.Kube.CoreV1().Pods(tf.Namespace).Get(context.Background(), "iomesh-meta-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	meta0.Labels[iomeshcluster.LeaderLabel] = "true"
	if _, err := c.Kube.CoreV1().Pods(tf.Namespace).Update(context.Background(), meta0, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"", "wide", "json", "yaml"} {
		t.Run("o="+format, func(t *testing.T) {
			args, name := []string{}, "status-summary-table"
			if format != "" {
				args, name = []string{"-o", format}, "status-summary-"+format
			}
			out, errOut, err := runStatus(t, c, args...)
			if err != nil {
				t.Fatalf("-o %s: %v (stderr %s)", format, err, errOut)
			}
			golden(t, name, out)
		})
	}
	out, _, _ := runStatus(t, c, "-o", "jsonpath={.iomesh.healthyChunks}/{.iomesh.chunks[0].matchedNode}/{.iomesh.taskInProcess}/{.iomesh.leaderPods[0]}")
	if out != "2/node-0/RECOVER 12 extents/iomesh-meta-0" {
		t.Fatalf("typed fields: %q", out)
	}
}
