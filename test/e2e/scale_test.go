//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestScaleEnterpriseChunkAndMeta(t *testing.T) {
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10),
		values: []string{`iomesh.chunk.deviceMap={"dataStore":{"selector":{"matchLabels":{"iomesh.com/bd-deviceType":"disk"}},"exclude":["blockdevice-1"]}}`}})
	before := readRelease(t)

	// A dry run shows the plan and stores nothing.
	r := plugin(t, "scale", "--chunk", "5", "--meta", "5", "--dry-run")
	if r.code != 0 {
		t.Fatalf("dry run: %s", r)
	}
	mustContain(t, r, "revision 1 -> 2", "iomesh-v1.0.1 (unchanged)", "iomesh.chunk.replicaCount: (not set) -> 5", "Dry run: nothing was changed.")
	assertUnchanged(t, before)

	// Without a terminal and without --yes, nothing happens.
	if r := plugin(t, "scale", "--chunk", "5", "--meta", "5"); r.code != 2 {
		t.Fatalf("no --yes: want exit 2:\n%s", r)
	}
	assertUnchanged(t, before)

	r = plugin(t, "scale", "--chunk", "5", "--meta", "5", "--yes", "--timeout", "2m")
	if r.code != 0 {
		t.Fatalf("scale: %s", r)
	}
	// The final table is kubectl's, with every pod of the target Ready.
	row := regexp.MustCompile(`(?m)^iomesh-(chunk|meta)-[0-4]\s+(3/3|2/2)\s+Running\s+0\s+\S+$`)
	if n := len(row.FindAllString(r.stdout, -1)); n != 10 {
		t.Fatalf("want 10 Ready chunk/meta rows, got %d:\n%s", n, r)
	}

	after := readRelease(t)
	if after.revision != before.revision+1 {
		t.Fatalf("want exactly one new revision: %d -> %d", before.revision, after.revision)
	}
	if after.chartVersion != before.chartVersion || after.chartVersion != "iomesh-v1.0.1" {
		t.Fatalf("chart moved: %s -> %s", before.chartVersion, after.chartVersion)
	}
	// The values are the same apart from the two counts.
	want := before.values
	io := want["iomesh"].(map[string]interface{})
	io["chunk"].(map[string]interface{})["replicaCount"] = float64(5)
	io["meta"] = map[string]interface{}{"replicaCount": float64(5)}
	if !reflect.DeepEqual(after.values, want) {
		t.Fatalf("values changed beyond the counts:\n got %v\nwant %v", after.values, want)
	}
	// Every subchart object is still there.
	ctx := context.Background()
	for _, d := range []string{"iomesh-csi-driver-controller-plugin", "iomesh-zookeeper-operator", "operator"} {
		if _, err := env.kube.AppsV1().Deployments(ns).Get(ctx, d, metav1.GetOptions{}); err != nil {
			t.Fatalf("deployment %s: %v", d, err)
		}
	}
	if _, err := env.kube.StorageV1().StorageClasses().Get(ctx, "iomesh-csi-driver", metav1.GetOptions{}); err != nil {
		t.Fatalf("storage class: %v", err)
	}
	if _, err := env.kube.CoreV1().ConfigMaps(ns).Get(ctx, "iomesh-zookeeper-operator-config", metav1.GetOptions{}); err != nil {
		t.Fatalf("zookeeper config map: %v", err)
	}

	// Running it again changes nothing and only waits.
	r = plugin(t, "scale", "--chunk", "5", "--meta", "5", "--yes")
	if r.code != 0 {
		t.Fatalf("rerun: %s", r)
	}
	mustContain(t, r, "already at 5 chunk and 5 meta pods")
	if got := readRelease(t); got.revision != after.revision {
		t.Fatalf("a rerun made revision %d", got.revision)
	}

	// Scale-in is refused where IOMesh reports no chunks (no operator runs here).
	r = plugin(t, "scale", "--chunk", "4", "--yes")
	if r.code != 3 {
		t.Fatalf("scale-in: want exit 3:\n%s", r)
	}
	mustContain(t, r, "chunk.no-scale-in", "which chunk each pod serves cannot be known")
	assertUnchanged(t, after)
}

func TestScaleRefusals(t *testing.T) {
	freshInstall(t, install{nodes: 5, license: map[string]interface{}{"maxChunkNum": 3, "softwareEdition": "COMMUNITY"}})
	before := readRelease(t)
	r := plugin(t, "scale", "--chunk", "4", "--yes")
	if r.code != 3 {
		t.Fatalf("community: want exit 3:\n%s", r)
	}
	mustContain(t, r, "edition.community-limit", "Community edition", "Nothing was changed")
	assertUnchanged(t, before)

	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10)})
	before = readRelease(t)
	r = plugin(t, "scale", "--chunk", "6", "--yes")
	if r.code != 3 {
		t.Fatalf("beyond the nodes: want exit 3:\n%s", r)
	}
	mustContain(t, r, "nodes.eligible-chunk", "6 chunk pods need 6 nodes")
	assertUnchanged(t, before)
	if _, err := env.kube.CoreV1().Pods(ns).Get(context.Background(), "iomesh-chunk-5", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a refused scale created a pod: %v", err)
	}
}

func TestScaleChartSources(t *testing.T) {
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10)})
	before := readRelease(t)

	// A chart whose zookeeper-operator subchart is missing is refused.
	broken := filepath.Join(t.TempDir(), "iomesh")
	if out, err := exec.Command("cp", "-r", filepath.Join(env.root, "deploy", "charts", "iomesh"), broken).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	if err := os.RemoveAll(filepath.Join(broken, "charts", "zookeeper-operator")); err != nil {
		t.Fatal(err)
	}
	r := plugin(t, "scale", "--chunk", "4", "--chart", broken, "--yes")
	if r.code != 3 {
		t.Fatalf("chart missing a subchart: want exit 3:\n%s", r)
	}
	mustContain(t, r, "missing in charts/ directory: zookeeper-operator")
	assertUnchanged(t, before)

	// Another version of the chart is refused.
	r = plugin(t, "scale", "--chunk", "4", "--chart", filepath.Join(env.chartDir, "iomesh-v1.1.0.tgz"), "--yes")
	if r.code != 3 {
		t.Fatalf("other chart version: want exit 3:\n%s", r)
	}
	mustContain(t, r, "is version v1.1.0, but the release runs v1.0.1")
	assertUnchanged(t, before)

	// A path that does not exist.
	if r := plugin(t, "scale", "--chunk", "4", "--chart", "/nonexistent/iomesh.tgz", "--yes"); r.code != 3 {
		t.Fatalf("missing --chart: want exit 3:\n%s", r)
	}
	// An unreachable repository.
	r = plugin(t, "scale", "--chunk", "4", "--repo", "http://127.0.0.1:1", "--yes")
	if r.code != 3 {
		t.Fatalf("unreachable repo: want exit 3:\n%s", r)
	}
	mustContain(t, r, "reading the index of chart repository http://127.0.0.1:1")
	assertUnchanged(t, before)

	// The same version given with --repo and with --chart (a .tgz) both scale.
	r = plugin(t, "scale", "--chunk", "4", "--repo", env.repoURL, "--yes")
	if r.code != 0 {
		t.Fatalf("--repo: %s", r)
	}
	r = plugin(t, "scale", "--chunk", "5", "--chart", filepath.Join(env.chartDir, "iomesh-v1.0.1.tgz"), "--yes")
	if r.code != 0 {
		t.Fatalf("--chart: %s", r)
	}
	after := readRelease(t)
	if after.revision != before.revision+2 || after.chartVersion != "iomesh-v1.0.1" {
		t.Fatalf("want two new revisions on v1.0.1, got %+v", after)
	}
	if got := after.values["iomesh"].(map[string]interface{})["chunk"].(map[string]interface{})["replicaCount"]; got != float64(5) {
		t.Fatalf("chunk count = %v", fmt.Sprint(got))
	}
}

// A target that lowers one count and raises the other is refused before anything changes, with
// the two commands to run, the raise first; never half done with exit 0.
func TestScaleOneDirectionPerCommand(t *testing.T) {
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10), values: []string{`iomesh.chunk.replicaCount=4`}, skipWait: true})
	waitPodsReady(t, "app in (iomesh-chunk,iomesh-meta)", 7)
	before := readRelease(t)
	r := plugin(t, "scale", "--chunk", "3", "--meta", "5", "--yes")
	if r.code != 3 {
		t.Fatalf("chunk 4 -> 3 with meta 3 -> 5: want exit 3:\n%s", r)
	}
	mustContain(t, r, "scale-in.one-direction", "chunk 4 -> 3, meta 3 -> 5", "kubectl iomesh scale --meta 5 -n iomesh-system --release iomesh`, then `kubectl iomesh scale --chunk 3 -n iomesh-system --release iomesh")
	assertUnchanged(t, before)
	record("bad input", "a target that lowers chunk and raises meta", "exit 3 with the raise, then the lower, as two commands; release unchanged")
}
