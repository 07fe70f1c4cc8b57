package cmd

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	authv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// grantAll answers rules reviews with full access; grant lists what is allowed otherwise.
func grant(c tf.Clients, rules ...authv1.ResourceRule) {
	c.Kube.PrependReactor("create", "selfsubjectrulesreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, &authv1.SelfSubjectRulesReview{Status: authv1.SubjectRulesReviewStatus{ResourceRules: rules}}, nil
	})
	c.Kube.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, &authv1.SelfSubjectAccessReview{Status: authv1.SubjectAccessReviewStatus{Allowed: false}}, nil
	})
}

var everything = authv1.ResourceRule{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}

func healthyCluster(t *testing.T, nodes, chunk, meta int, vals values.Map, lic map[string]interface{}) tf.Clients {
	c := tf.NewClients(t, []tf.Rel{{Revision: 1, Values: vals}}, clusterObjects(nodes, chunk, meta, values.Edition(vals), lic)...)
	grant(c, everything)
	return c
}

// clusterObjects are nodes, the chunk/meta StatefulSets with Ready pods on the first nodes, and
// the IOMeshCluster with lic.
func clusterObjects(nodes, chunk, meta int, ed string, lic map[string]interface{}) []runtime.Object {
	if ed == "" {
		ed = "community"
	}
	cr := tf.IOMeshCluster("", lic)
	// As Helm renders it: the spec carries the counts.
	_ = unstructured.SetNestedField(cr.Object, int64(chunk), "spec", "chunk", "replicas")
	_ = unstructured.SetNestedField(cr.Object, int64(meta), "spec", "meta", "replicas")
	objs := []runtime.Object{
		tf.StatefulSet("chunk", int32(chunk), 3, "iomesh/zbs-chunkd:v5.3.0-rc13-"+ed),
		tf.StatefulSet("meta", int32(meta), 2, "iomesh/zbs-metad:v5.3.0-rc13-"+ed),
		cr,
		tf.Operator(1),
	}
	for i := 0; i < nodes; i++ {
		objs = append(objs, tf.Node(fmt.Sprintf("node-%d", i)))
	}
	for i := 0; i < chunk; i++ {
		objs = append(objs, tf.Pod("chunk", i, 3, fmt.Sprintf("node-%d", i), time.Hour, tf.Running))
	}
	for i := 0; i < meta; i++ {
		objs = append(objs, tf.Pod("meta", i, 2, fmt.Sprintf("node-%d", i), time.Hour, tf.Running))
	}
	return objs
}

func runCmd(t *testing.T, c tf.Clients, args ...string) (string, string, error) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	common := NewCommon(streams)
	common.SetClients(c.Kube, c.Dynamic, c.Helm)
	common.Now = func() time.Time { return tf.Now }
	root := NewRoot(common)
	root.SetArgs(append([]string{}, args...))
	err := root.Execute()
	return out.String(), errOut.String(), err
}

func TestPreflightGolden(t *testing.T) {
	// Chunk pods request 3 CPUs; node-3 has 2 allocatable, node-4 is at its pod limit; the
	// nodes hold disks, node-5 none and node-6 only an SSD.
	vals := values.Map{"iomesh": values.Map{"edition": "enterprise", "chunk": values.Map{"resources": values.Map{"requests": values.Map{"cpu": "3"}}}}}
	objs := clusterObjects(7, 3, 3, "enterprise", testLicense(4, "2026-12-10"))
	for i, o := range objs {
		if cr, ok := o.(*unstructured.Unstructured); ok {
			objs[i] = tf.HybridDeviceMap(cr)
		}
		if n, ok := o.(*corev1.Node); ok {
			n.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourcePods: resource.MustParse("110")}
			switch n.Name {
			case "node-3":
				n.Status.Allocatable[corev1.ResourceCPU] = resource.MustParse("2")
			case "node-4":
				n.Status.Allocatable[corev1.ResourcePods] = resource.MustParse("1")
			}
		}
	}
	filler := tf.Pod("meta", 9, 1, "node-4", time.Hour, tf.Running)
	filler.Name, filler.Namespace, filler.Labels = "other-app", "default", nil
	objs = append(objs, filler)
	for i := 0; i < 7; i++ {
		node := fmt.Sprintf("node-%d", i)
		if i != 5 {
			objs = append(objs, tf.BlockDevice(fmt.Sprintf("bd-%d-ssd", i), node, 400<<30, "SSD", "Unclaimed"))
		}
		if i != 5 && i != 6 {
			objs = append(objs, tf.BlockDevice(fmt.Sprintf("bd-%d-hdd", i), node, 4<<40, "HDD", "Unclaimed"))
		}
	}
	c := tf.NewClients(t, []tf.Rel{{Revision: 1, Values: vals}}, objs...)
	grant(c, everything)
	out, _, err := runCmd(t, c, "preflight", "--chunk", "5", "--meta", "5", "-o", "wide", "--color", "never")
	if exitcode.Of(err) != exitcode.Refused {
		t.Fatalf("exit %d (%v), want 3", exitcode.Of(err), err)
	}
	golden(t, "preflight-table", out)
	out, _, err = runCmd(t, c, "preflight", "--chunk", "5", "--meta", "5", "-o", "json")
	if exitcode.Of(err) != exitcode.Refused {
		t.Fatalf("json: exit %d, want 3", exitcode.Of(err))
	}
	golden(t, "preflight-json", out)
	yamlOut, _, err := runCmd(t, c, "preflight", "--chunk", "5", "--meta", "5", "-o", "yaml")
	if exitcode.Of(err) != exitcode.Refused {
		t.Fatalf("yaml: exit %d, want 3", exitcode.Of(err))
	}
	golden(t, "preflight-yaml", yamlOut)
	var doc map[string]interface{}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc["kind"] != "Preflight" {
		t.Fatalf("not one Preflight document: %v", err)
	}
}

func TestPreflightColour(t *testing.T) {
	c := healthyCluster(t, 5, 3, 3, values.Map{"iomesh": values.Map{"edition": "enterprise"}}, testLicense(6, "2027-06-30"))
	out, _, err := runCmd(t, c, "preflight", "--color", "always")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "\x1b[32m✓\x1b[0m") {
		t.Fatalf("--color always lacks the green mark:\n%s", out)
	}
	out, _, _ = runCmd(t, c, "preflight")
	if strings.Contains(out, "\x1b[") || !strings.Contains(out, "[PASS]") {
		t.Fatalf("a non-terminal must get plain ASCII:\n%s", out)
	}
}

func TestPreflightExitCodes(t *testing.T) {
	ent := values.Map{"iomesh": values.Map{"edition": "enterprise"}}
	cases := []struct {
		name string
		c    func(t *testing.T) tf.Clients
		args []string
		want int
	}{
		{"all pass", func(t *testing.T) tf.Clients { return healthyCluster(t, 5, 3, 3, ent, testLicense(6, "2027-06-30")) }, []string{"--chunk", "5", "--meta", "5"}, exitcode.OK},
		{"warning only", func(t *testing.T) tf.Clients { return healthyCluster(t, 5, 3, 3, ent, testLicense(6, "2027-06-30")) }, []string{"--chunk", "5"}, exitcode.OK},
		{"warning fails with flag", func(t *testing.T) tf.Clients { return healthyCluster(t, 5, 3, 3, ent, testLicense(6, "2027-06-30")) }, []string{"--chunk", "5", "--fail-on-warning"}, exitcode.Warnings},
		{"community refused", func(t *testing.T) tf.Clients { return healthyCluster(t, 5, 3, 3, values.Map{}, nil) }, []string{"--chunk", "4"}, exitcode.Refused},
		{"skip the failing check", func(t *testing.T) tf.Clients { return healthyCluster(t, 3, 3, 3, ent, testLicense(6, "2027-06-30")) }, []string{"--chunk", "5", "--meta", "5", "--skip-check", "nodes.eligible-chunk", "--skip-check", "nodes.eligible-meta"}, exitcode.OK},
		{"unknown check id", func(t *testing.T) tf.Clients { return healthyCluster(t, 3, 3, 3, ent, nil) }, []string{"--skip-check", "nodes.bogus"}, exitcode.Usage},
		{"zero chunk", func(t *testing.T) tf.Clients { return healthyCluster(t, 3, 3, 3, ent, nil) }, []string{"--chunk", "0"}, exitcode.Usage},
		{"not a number", func(t *testing.T) tf.Clients { return healthyCluster(t, 3, 3, 3, ent, nil) }, []string{"--chunk", "abc"}, exitcode.Usage},
		{"missing permission", func(t *testing.T) tf.Clients {
			c := healthyCluster(t, 5, 3, 3, ent, testLicense(6, "2027-06-30"))
			grant(c, authv1.ResourceRule{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{"*"}, Resources: []string{"*"}})
			return c
		}, []string{"--chunk", "5", "--meta", "5"}, exitcode.Refused},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := runCmd(t, tc.c(t), append([]string{"preflight"}, tc.args...)...)
			if got := exitcode.Of(err); got != tc.want {
				t.Fatalf("exit %d, want %d (err %v)\n%s%s", got, tc.want, err, out, errOut)
			}
		})
	}
}
