package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/render"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/cli"
	"helm.sh/helm/v4/pkg/getter"
	kubefake "helm.sh/helm/v4/pkg/kube/fake"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	repo "helm.sh/helm/v4/pkg/repo/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

const standIn = "../../deploy/charts/iomesh"

func loadStandIn(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(standIn)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// chartRepo serves the stand-in chart at v1.0.1 and v1.1.0 from a loopback repository and
// returns Helm settings whose repositories config and cache know it as "iomesh".
func chartRepo(t *testing.T, mutate func(*chart.Chart)) *helmops.Finder {
	f, _ := republishingRepo(t, mutate)
	return f
}

// republishingRepo is chartRepo with a way to publish the charts again under the same versions,
// changed by another mutate (the repository's index and Helm's cached copy of it follow).
func republishingRepo(t *testing.T, mutate func(*chart.Chart)) (*helmops.Finder, func(func(*chart.Chart))) {
	t.Helper()
	dir := t.TempDir()
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	home := t.TempDir()
	settings := cli.New()
	settings.RepositoryConfig = filepath.Join(home, "repositories.yaml")
	settings.RepositoryCache = filepath.Join(home, "cache")
	if err := os.MkdirAll(settings.RepositoryCache, 0o755); err != nil {
		t.Fatal(err)
	}
	publish := func(mutate func(*chart.Chart)) {
		for _, v := range []string{"v1.0.1", "v1.1.0"} {
			ch := loadStandIn(t)
			ch.Metadata.Version = v
			if mutate != nil {
				mutate(ch)
			}
			if _, err := chartutil.Save(ch, dir); err != nil {
				t.Fatal(err)
			}
		}
		idx, err := repo.IndexDirectory(dir, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if err := idx.WriteFile(filepath.Join(settings.RepositoryCache, "iomesh-index.yaml"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	publish(mutate)
	rf := repo.NewFile()
	rf.Add(&repo.Entry{Name: "iomesh", URL: srv.URL})
	if err := rf.WriteFile(settings.RepositoryConfig, 0o644); err != nil {
		t.Fatal(err)
	}
	return &helmops.Finder{Settings: settings, Getters: getter.All(settings)}, publish
}

// scaleEnv is a fake cluster whose release was installed by the Helm SDK from the stand-in chart.
type scaleEnv struct {
	clients tf.Clients
	finder  *helmops.Finder
	exec    inventory.Executor
}

func newScaleEnv(t *testing.T, nodes int, user values.Map, objs ...runtime.Object) *scaleEnv {
	t.Helper()
	c := tf.NewClients(t, nil, clusterObjects(nodes, 3, 3, "enterprise", testLicense(10, "2027-06-30"))...)
	grant(c, everything)
	// The release is installed by the Helm SDK from the real chart.
	c.Helm.KubeClient = &kubefake.PrintingKubeClient{Out: io.Discard}
	c.Helm.Capabilities = common.DefaultCapabilities
	for _, o := range objs {
		if err := c.Kube.Tracker().Add(o); err != nil {
			t.Fatal(err)
		}
	}
	ch := loadStandIn(t)
	ins := action.NewInstall(c.Helm)
	ins.ReleaseName, ins.Namespace = tf.Release, tf.Namespace
	// Helm's printing fake builds no objects, and Helm 4 refuses a CRD it cannot build.
	ins.SkipCRDs = true
	if _, err := ins.Run(ch, values.DeepCopy(user)); err != nil {
		t.Fatalf("installing the stand-in chart: %v", err)
	}
	return &scaleEnv{clients: c, finder: chartRepo(t, nil)}
}

func (e *scaleEnv) run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	common := NewCommon(streams)
	common.SetClients(e.clients.Kube, e.clients.Dynamic, e.clients.Helm)
	common.Now = func() time.Time { return tf.Now }
	common.ChartFinder = e.finder
	common.Exec = e.exec
	root := NewRoot(common)
	root.SetArgs(append([]string{}, args...))
	err := root.Execute()
	return out.String(), errOut.String(), err
}

func (e *scaleEnv) history(t *testing.T) []*release.Release {
	t.Helper()
	h, err := helmops.History(e.clients.Helm, tf.Release, tf.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func userValues() values.Map {
	return values.Map{"iomesh": values.Map{
		"edition": "enterprise",
		"chunk": values.Map{
			"dataCIDR": "10.234.1.0/24",
			"deviceMap": values.Map{"dataStore": values.Map{
				"selector": values.Map{"matchLabels": values.Map{"iomesh.com/bd-deviceType": "disk"}},
				"exclude":  []interface{}{"blockdevice-a", "blockdevice-b"},
			}},
		},
		"meta": values.Map{"podPolicy": values.Map{"tolerations": []interface{}{values.Map{"key": "storage", "operator": "Exists"}}}},
	}, "csi-driver": values.Map{"driver": values.Map{"controller": values.Map{"replicas": 2}}}}
}

func TestScaleKeepsValuesAndChartVersion(t *testing.T) {
	e := newScaleEnv(t, 5, userValues())
	out, errOut, err := e.run(t, "scale", "--chunk", "5", "--meta", "5", "--yes", "--timeout", "0")
	if err != nil {
		t.Fatalf("scale: %v\n%s%s", err, out, errOut)
	}
	h := e.history(t)
	if len(h) != 2 || h[1].Info.Status != rcommon.StatusDeployed || h[1].Chart.Metadata.Version != "v1.0.1" {
		t.Fatalf("want revision 2 deployed on v1.0.1, got %d revisions, last %s %s", len(h), h[len(h)-1].Info.Status, h[len(h)-1].Chart.Metadata.Version)
	}
	if !strings.Contains(h[1].Manifest, "iomesh-zookeeper-operator") || !strings.Contains(h[1].Manifest, "iomesh-csi-driver-controller-plugin") {
		t.Fatal("the new revision lost subchart objects")
	}
	want := userValues()
	want["iomesh"].(values.Map)["chunk"].(values.Map)["replicaCount"] = 5
	want["iomesh"].(values.Map)["meta"].(values.Map)["replicaCount"] = 5
	got := values.DeepCopy(h[1].Config)
	if !reflect.DeepEqual(normalise(t, got), normalise(t, want)) {
		t.Fatalf("values:\n got %v\nwant %v", got, want)
	}
	if !strings.Contains(h[1].Info.Description, "chunk 3->5, meta 3->5") {
		t.Fatalf("description %q", h[1].Info.Description)
	}
}

// normalise passes values through JSON so numbers compare alike.
func normalise(t *testing.T, m values.Map) values.Map {
	t.Helper()
	out := values.Map{}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestScaleDryRunStoresNothing(t *testing.T) {
	e := newScaleEnv(t, 5, userValues())
	out, _, err := e.run(t, "scale", "--chunk", "5", "--dry-run", "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(e.history(t)) != 1 {
		t.Fatal("a dry run stored a revision")
	}
	if !strings.Contains(out, "kind: ScalePlan") || !strings.Contains(out, "replicaCount: 5") || !strings.Contains(out, "blockdevice-b") {
		t.Fatalf("dry-run -o yaml lacks the new values:\n%s", out)
	}
}

func TestScaleLegacyLayout(t *testing.T) {
	ch := loadStandIn(t)
	ch.Values = values.Map{"chunk": values.Map{"replicaCount": 3}, "meta": values.Map{"replicaCount": 3}}
	newValues, err := values.WithReplicas(values.Map{"chunk": values.Map{"dataCIDR": "x"}}, values.Legacy, ip(5), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(newValues, values.Map{"chunk": values.Map{"dataCIDR": "x", "replicaCount": 5}}) {
		t.Fatalf("legacy values: %v", newValues)
	}
}

func ip(i int) *int { return &i }

func TestScaleRefusesChartMissingSubchart(t *testing.T) {
	e := newScaleEnv(t, 5, userValues())
	e.finder = chartRepo(t, func(ch *chart.Chart) {
		var keep []*chart.Chart
		for _, d := range ch.Dependencies() {
			if d.Name() != "zookeeper-operator" {
				keep = append(keep, d)
			}
		}
		ch.SetDependencies(keep...)
	})
	_, _, err := e.run(t, "scale", "--chunk", "5", "--yes", "--timeout", "0")
	if exitcode.Of(err) != exitcode.Refused || !strings.Contains(err.Error(), "zookeeper-operator") {
		t.Fatalf("err = %v (exit %d)", err, exitcode.Of(err))
	}
	if len(e.history(t)) != 1 {
		t.Fatal("refused scale stored a revision")
	}
}

func TestScaleRefusesDrift(t *testing.T) {
	e := newScaleEnv(t, 5, userValues())
	// The repository's v1.0.1 renders differently from what was deployed (same version number,
	// different content: a re-published chart).
	e.finder = chartRepo(t, republished)
	_, errOut, err := e.run(t, "scale", "--chunk", "5", "--yes", "--timeout", "0")
	if exitcode.Of(err) != exitcode.Refused || !strings.Contains(err.Error(), "render.identical") {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(errOut, "Deployment.apps iomesh-system/operator: spec.template.spec.containers[0].args[0] added") {
		t.Fatalf("the diff does not name the object and field:\n%s", errOut)
	}
	if len(e.history(t)) != 1 {
		t.Fatal("refused scale stored a revision")
	}
	// With explicit consent it proceeds.
	if _, _, err := e.run(t, "scale", "--chunk", "5", "--yes", "--timeout", "0", "--skip-check", "render.identical"); err != nil {
		t.Fatalf("with --skip-check: %v", err)
	}
}

// republished changes the chart without changing its version, as a re-published chart would.
func republished(ch *chart.Chart) {
	for _, tpl := range ch.Templates {
		if tpl.Name == "templates/operator.yaml" {
			tpl.Data = []byte(strings.Replace(string(tpl.Data), "- name: operator\n", "- name: operator\n          args: [--republished]\n", 1))
		}
	}
}

func TestScaleRefusesPending(t *testing.T) {
	e := newScaleEnv(t, 5, userValues())
	last := e.history(t)[0]
	next := *last
	info := *last.Info
	info.Status = rcommon.StatusPendingUpgrade
	next.Info, next.Version = &info, 2
	if err := e.clients.Helm.Releases.Create(&next); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := e.run(t, "scale", "--chunk", "5", "--yes", "--timeout", "0")
	if exitcode.Of(err) != exitcode.Refused || !strings.Contains(errOut, "helm rollback iomesh 1 -n iomesh-system") {
		t.Fatalf("err = %v\n%s", err, errOut)
	}
	if len(e.history(t)) != 2 {
		t.Fatal("pending release changed")
	}
}

func TestScaleAtTargetOnlyWaits(t *testing.T) {
	e := newScaleEnv(t, 5, values.Map{"iomesh": values.Map{"edition": "enterprise"}})
	// The fixture already has 3 ready chunk and meta pods: the target equals the current state.
	out, errOut, err := e.run(t, "scale", "--chunk", "3", "--meta", "3", "--yes", "--timeout", "30s")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if len(e.history(t)) != 1 {
		t.Fatal("a scale to the current counts stored a revision")
	}
	if !strings.Contains(errOut, "already at 3 chunk and 3 meta pods") || !strings.Contains(out, "iomesh-meta-2    2/2     Running") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
}

func TestScaleUsage(t *testing.T) {
	e := newScaleEnv(t, 5, userValues())
	for _, args := range [][]string{
		{"scale"},
		{"scale", "--chunk", "-1"},
		{"scale", "--chunk", "abc"},
		{"scale", "--chunk", "1e3"},
		{"scale", "--chunk", "99999999999"},
		{"scale", "--chunk", "0"},
		{"scale", "--chunk", "5", "--meta", "-3"},
		{"scale", "--chunk", "5", "--timeout", "-1s"},
		{"scale", "--chunk", "5", "--chart", "a", "--repo", "b"},
		{"scale", "--chunk", "5", "--bogus"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, _, err := e.run(t, args...)
			if exitcode.Of(err) != exitcode.Usage {
				t.Errorf("%v: exit %d (%v), want 2", args, exitcode.Of(err), err)
			}
		})
	}
	// A count beyond the limits is still a count, refused by chunk.max.
	if _, _, err := e.run(t, "scale", "--chunk", "256", "--yes"); exitcode.Of(err) != exitcode.Refused {
		t.Errorf("--chunk 256: exit %d (%v), want 3", exitcode.Of(err), err)
	}
	if len(e.history(t)) != 1 {
		t.Fatal("bad usage stored a revision")
	}
}

// legacyChart writes a chart in the pre-v0.11 layout: chunk and meta at the top level.
func legacyChart(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "iomesh")
	files := map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: iomesh\nversion: v0.10.1\nappVersion: v5.0.0\n",
		"values.yaml": "edition: enterprise\nchunk:\n  replicaCount: 3\n  dataCIDR: \"\"\nmeta:\n  replicaCount: 3\n",
		"templates/sts.yaml": `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: {{ .Release.Name }}-chunk, namespace: {{ .Release.Namespace }}}
spec:
  replicas: {{ .Values.chunk.replicaCount }}
  selector: {matchLabels: {app: {{ .Release.Name }}-chunk}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}-chunk}}
    spec: {containers: [{name: c, image: "iomesh/zbs-chunkd:v5.0.0-enterprise"}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: {{ .Release.Name }}-meta, namespace: {{ .Release.Namespace }}}
spec:
  replicas: {{ .Values.meta.replicaCount }}
  selector: {matchLabels: {app: {{ .Release.Name }}-meta}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}-meta}}
    spec: {containers: [{name: c, image: "iomesh/zbs-metad:v5.0.0-enterprise"}]}
`,
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestScaleLegacyChart(t *testing.T) {
	c := tf.NewClients(t, nil, clusterObjects(5, 3, 3, "enterprise", testLicense(10, "2027-06-30"))...)
	grant(c, everything)
	c.Helm.KubeClient = &kubefake.PrintingKubeClient{Out: io.Discard}
	c.Helm.Capabilities = common.DefaultCapabilities
	dir := legacyChart(t)
	ch, err := loader.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ins := action.NewInstall(c.Helm)
	ins.ReleaseName, ins.Namespace = tf.Release, tf.Namespace
	// Helm's printing fake builds no objects, and Helm 4 refuses a CRD it cannot build.
	ins.SkipCRDs = true
	user := values.Map{"chunk": values.Map{"dataCIDR": "10.0.0.0/24"}}
	if _, err := ins.Run(ch, values.DeepCopy(user)); err != nil {
		t.Fatal(err)
	}
	e := &scaleEnv{clients: c, finder: chartRepo(t, nil)}
	out, errOut, err := e.run(t, "scale", "--chunk", "5", "--chart", dir, "--yes", "--timeout", "0")
	if err != nil {
		t.Fatalf("%v\n%s%s", err, out, errOut)
	}
	h := e.history(t)
	want := values.Map{"chunk": values.Map{"dataCIDR": "10.0.0.0/24", "replicaCount": 5}}
	if len(h) != 2 || !reflect.DeepEqual(normalise(t, h[1].Config), normalise(t, want)) {
		t.Fatalf("legacy values after scale: %v", h[len(h)-1].Config)
	}
	if !strings.Contains(out, "chunk.replicaCount: (not set) -> 5") || !strings.Contains(h[1].Manifest, "replicas: 5") {
		t.Fatalf("plan or manifest:\n%s", out)
	}
}

// The new revision's manifest is the deployed one with only the replica lines changed: the
// chart's generated certificates keep their deployed values.
func TestScaleKeepsGeneratedCertificates(t *testing.T) {
	e := newScaleEnv(t, 5, userValues())
	out, errOut, err := e.run(t, "scale", "--chunk", "5", "--meta", "5", "--yes", "--timeout", "0")
	if err != nil {
		t.Fatalf("scale: %v\n%s%s", err, out, errOut)
	}
	if !strings.Contains(out, "Kept:      Secret iomesh-system/iomesh-webhook-cert data.ca.crt, data.tls.crt, data.tls.key") {
		t.Fatalf("the plan does not say what it keeps:\n%s", out)
	}
	h := e.history(t)
	// Helm 4 writes a post-rendered manifest back in its own YAML style, so the revisions are
	// compared object by object, field by field.
	before, err := render.Parse(h[0].Manifest)
	if err != nil {
		t.Fatal(err)
	}
	after, err := render.Parse(h[1].Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != len(after) {
		t.Fatalf("manifest went from %d to %d objects", len(before), len(after))
	}
	changed := 0
	for key, obj := range before {
		was, now := render.Flatten(obj), render.Flatten(after[key])
		if len(was) != len(now) {
			t.Errorf("%s went from %d to %d fields", key, len(was), len(now))
		}
		for path, v := range was {
			if now[path] == v {
				continue
			}
			changed++
			if !strings.HasSuffix(path, "replicas") || now[path] != "5" {
				t.Errorf("%s %s changed beyond the counts: %s -> %s", key, path, v, now[path])
			}
		}
	}
	if changed != 4 {
		t.Fatalf("%d fields changed, want 4 (StatefulSet and IOMeshCluster replicas for chunk and meta)", changed)
	}
	// The next scale finds no random field left to tolerate between the deployed release and a
	// render with its values: the certificates in revision 2 are the deployed ones.
	out, _, err = e.run(t, "scale", "--chunk", "5", "--meta", "5", "--dry-run")
	if err != nil || !strings.Contains(out, "already at the target") {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
}

// --skip-check render.identical skips the refusal, not the pinning.
func TestSkipRenderCheckStillPins(t *testing.T) {
	e := newScaleEnv(t, 5, userValues())
	if _, _, err := e.run(t, "scale", "--chunk", "4", "--yes", "--timeout", "0", "--skip-check", "render.identical"); err != nil {
		t.Fatal(err)
	}
	h := e.history(t)
	certOf := func(m string) string {
		i := strings.Index(m, "tls.crt: ")
		return m[i : i+60]
	}
	if certOf(h[0].Manifest) != certOf(h[1].Manifest) {
		t.Fatal("the certificate was rotated")
	}
}

// triggerReader answers a prompt after running something first (another scale).
type triggerReader struct {
	before func()
	answer string
	done   bool
}

func (r *triggerReader) Read(p []byte) (int, error) {
	if r.done {
		return 0, io.EOF
	}
	r.before()
	r.done = true
	return copy(p, r.answer), nil
}

// A plan made before another scale upgraded the release is refused at its confirmation.
func TestStalePlanRefused(t *testing.T) {
	e := newScaleEnv(t, 5, userValues())
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	common := NewCommon(streams)
	common.SetClients(e.clients.Kube, e.clients.Dynamic, e.clients.Helm)
	common.Now = func() time.Time { return tf.Now }
	five := 5
	o := &ScaleOptions{Common: common, Print: NewPrintFlags(false), DryRun: DryRunNone, WaitFor: WaitForPods,
		IsTerminal: func(io.Reader) bool { return true }, Finder: e.finder, skip: map[string]bool{}}
	o.Targets.Target.Chunk = &five
	o.In = &triggerReader{answer: "y\n", before: func() {
		if _, _, err := e.run(t, "scale", "--chunk", "5", "--yes", "--timeout", "0"); err != nil {
			t.Errorf("the other scale: %v", err)
		}
	}}
	err := o.Run(context.Background())
	if exitcode.Of(err) != exitcode.Refused || !strings.Contains(err.Error(), "changed since the plan was made (revision 1, now 2, deployed)") {
		t.Fatalf("err = %v\n%s", err, out.String())
	}
	if n := len(e.history(t)); n != 2 {
		t.Fatalf("%d revisions, want 2 (only the other scale's)", n)
	}
}

// The new counts go to the IOMeshCluster as a dry-run patch before Helm writes anything: a
// rejection there refuses the scale (exit 3) with no revision written, for a real run and for
// --dry-run alike; an accepted one is named in the plan.
func TestScaleAdmissionDryRunFirst(t *testing.T) {
	e := newScaleEnv(t, 5, userValues())
	var dryRuns int
	e.clients.Dynamic.PrependReactor("patch", "iomeshclusters", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchActionImpl)
		if len(p.PatchOptions.DryRun) == 0 {
			return false, nil, nil
		}
		dryRuns++
		if !strings.Contains(string(p.Patch), `"replicas":5`) || strings.Contains(string(p.Patch), "resourceVersion") {
			t.Errorf("dry-run patch %s: want only the new chunk count, without a resourceVersion", p.Patch)
		}
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "iomesh.com", Resource: "iomeshclusters"}, "iomesh", errors.New("admission webhook \"iomeshcluster.iomesh.com\" denied the request: chunk is busy"))
	})
	for _, args := range [][]string{{"--yes", "--timeout", "0"}, {"--dry-run"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, errOut, err := e.run(t, append([]string{"scale", "--chunk", "5"}, args...)...)
			if exitcode.Of(err) != exitcode.Refused || !strings.Contains(err.Error(), "chunk is busy") || !strings.Contains(err.Error(), "no revision was written") {
				t.Fatalf("%v: want exit 3 quoting the webhook, got %v\n%s", args, err, errOut)
			}
			if len(e.history(t)) != 1 {
				t.Fatalf("%v: a revision was written after the rejection", args)
			}
		})
	}
	if dryRuns != 2 {
		t.Fatalf("%d dry-run patches, want 2", dryRuns)
	}
	e.clients.Dynamic.ReactionChain = e.clients.Dynamic.ReactionChain[1:]
	out, _, err := e.run(t, "scale", "--chunk", "5", "--dry-run")
	if err != nil || !strings.Contains(out, "admission webhooks accepted the new counts") {
		t.Fatalf("accepted dry run: %v\n%s", err, out)
	}
}
