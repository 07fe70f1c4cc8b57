//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// liveObjects reads every object of the release from the API server (the manifest's objects,
// fetched by kubectl), without status and bookkeeping metadata, flattened to path -> value.
func liveObjects(t *testing.T) (map[string]map[string]string, map[string]string) {
	t.Helper()
	manifest := mustHelm(t, "get", "manifest", relName, "-n", ns)
	cmd := exec.Command("kubectl", "get", "-f", "-", "-o", "json")
	cmd.Stdin = strings.NewReader(manifest)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl get -f: %v", err)
	}
	var list struct {
		Items []map[string]interface{} `json:"items"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatal(err)
	}
	objs := map[string]map[string]string{}
	versions := map[string]string{}
	for _, o := range list.Items {
		md := o["metadata"].(map[string]interface{})
		key := fmt.Sprintf("%s %v/%v", o["kind"], md["namespace"], md["name"])
		versions[key], _ = md["resourceVersion"].(string)
		delete(o, "status")
		for _, k := range []string{"resourceVersion", "managedFields", "generation", "uid", "creationTimestamp"} {
			delete(md, k)
		}
		flat := map[string]string{}
		flattenJSON("", o, flat)
		objs[key] = flat
	}
	return objs, versions
}

func flattenJSON(prefix string, v interface{}, out map[string]string) {
	switch t := v.(type) {
	case map[string]interface{}:
		for k, val := range t {
			flattenJSON(prefix+"."+k, val, out)
		}
	case []interface{}:
		for i, val := range t {
			flattenJSON(fmt.Sprintf("%s[%d]", prefix, i), val, out)
		}
	default:
		b, _ := json.Marshal(t)
		out[prefix] = string(b)
	}
}

func objectDiff(before, after map[string]map[string]string) []string {
	var d []string
	for k, b := range before {
		a, ok := after[k]
		if !ok {
			d = append(d, k+" removed")
			continue
		}
		for p, v := range b {
			if a[p] != v {
				d = append(d, fmt.Sprintf("%s %s: %s -> %s", k, p, v, a[p]))
			}
		}
		for p, v := range a {
			if _, ok := b[p]; !ok {
				d = append(d, fmt.Sprintf("%s %s: added %s", k, p, v))
			}
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			d = append(d, k+" added")
		}
	}
	sort.Strings(d)
	return d
}

// A scale changes nothing in the cluster but the replica counts: the webhook certificates the
// chart generates at every render keep their deployed values, and a deviceMap set on the live
// IOMeshCluster (as `kubectl edit iomesh` does) survives.
func TestScaleChangesOnlyTheCounts(t *testing.T) {
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10)})
	ctx := context.Background()
	deviceMap := `{"spec":{"chunk":{"deviceMap":{"cacheWithJournal":{"selector":{"matchLabels":{"iomesh.com/bd-deviceType":"SSD"}}},"dataStore":{"selector":{"matchLabels":{"iomesh.com/bd-deviceType":"HDD"}},"exclude":["blockdevice-9"]}}}}}`
	if _, err := env.dyn.Resource(iomeshGVR).Namespace(ns).Patch(ctx, relName, types.MergePatchType, []byte(deviceMap), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	before, versions := liveObjects(t)
	r := plugin(t, "scale", "--chunk", "4", "--yes", "--timeout", "2m")
	if r.code != 0 {
		t.Fatalf("scale: %s", r)
	}
	mustContain(t, r, "Kept:      Secret iomesh-system/iomesh-webhook-cert data.ca.crt, data.tls.crt, data.tls.key",
		"webhooks[0].clientConfig.caBundle", "(generated anew at every render; the deployed values are kept)")
	after, afterVersions := liveObjects(t)
	allowed := map[string]bool{
		"StatefulSet iomesh-system/iomesh-chunk .spec.replicas: 3 -> 4":   true,
		"IOMeshCluster iomesh-system/iomesh .spec.chunk.replicas: 3 -> 4": true,
	}
	for _, d := range objectDiff(before, after) {
		if !allowed[d] {
			t.Errorf("changed beyond the counts: %s", d)
		}
	}
	if v := "Secret iomesh-system/iomesh-webhook-cert"; versions[v] == "" || versions[v] != afterVersions[v] {
		t.Errorf("the webhook Secret was written: resourceVersion %s -> %s", versions[v], afterVersions[v])
	}
	if !strings.Contains(after["IOMeshCluster iomesh-system/iomesh"][".spec.chunk.deviceMap.dataStore.exclude[0]"], "blockdevice-9") {
		t.Error("the deviceMap set on the live IOMeshCluster was lost")
	}

	// The next scale renders against a release whose stored certificates are the first ones:
	// nothing drifts, the same fields are kept, and again only the counts change.
	r = plugin(t, "scale", "--chunk", "5", "--meta", "5", "--yes", "--timeout", "2m")
	if r.code != 0 {
		t.Fatalf("second scale: %s", r)
	}
	mustContain(t, r, "nothing else differs from what is deployed", "Kept:      Secret iomesh-system/iomesh-webhook-cert")
	again, againVersions := liveObjects(t)
	for _, d := range objectDiff(after, again) {
		if !strings.HasSuffix(d, "replicas: 4 -> 5") && !strings.HasSuffix(d, "replicas: 3 -> 5") {
			t.Errorf("second scale changed beyond the counts: %s", d)
		}
	}
	if v := "Secret iomesh-system/iomesh-webhook-cert"; versions[v] != againVersions[v] {
		t.Errorf("the webhook Secret was written by the second scale")
	}
}
