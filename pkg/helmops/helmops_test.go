package helmops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	kubefake "helm.sh/helm/v4/pkg/kube/fake"
	"helm.sh/helm/v4/pkg/storage"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage/driver"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

func TestBusy(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		busy bool
	}{
		{"revision written by another upgrade", fmt.Errorf("create: %w", driver.ErrReleaseExists), true},
		{"helm's pending refusal", errors.New("UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress"), true},
		{"ownership conflict is not busy", errors.New(`rendered manifests contain a resource that already exists. Unable to continue with update: ConfigMap "x" in namespace "iomesh-system" exists and cannot be imported into the current release`), false},
		{"other failure", errors.New("timed out"), false},
		{"no error", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Busy(tc.err); got != tc.busy {
				t.Errorf("%s: Busy = %v, want %v", tc.name, got, tc.busy)
			}
		})
	}
}

func TestUsesLookup(t *testing.T) {
	plain := &chart.Chart{Metadata: &chart.Metadata{Name: "a"}, Templates: []*common.File{{Name: "templates/a.yaml", Data: []byte("kind: ConfigMap # lookups are documented elsewhere\nlookupTable: x\n")}}}
	if UsesLookup(plain) {
		t.Fatal("a word that contains lookup is not a call")
	}
	sub := &chart.Chart{Metadata: &chart.Metadata{Name: "sub"}, Templates: []*common.File{{Name: "templates/s.yaml", Data: []byte(`{{ (lookup "v1" "Secret" .Release.Namespace "x").data }}`)}}}
	plain.SetDependencies(sub)
	if !UsesLookup(plain) {
		t.Fatal("a subchart's lookup was missed")
	}
}

func TestRenderLocalMatchesTheUpgradeRender(t *testing.T) {
	ch := &chart.Chart{
		Metadata:  &chart.Metadata{Name: "c", Version: "v1", APIVersion: "v2"},
		Values:    map[string]interface{}{"n": 3},
		Templates: []*common.File{{Name: "templates/cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  n: \"{{ .Values.n }}\"\n  revision: \"{{ .Release.Revision }}\"\n  upgrade: \"{{ .Release.IsUpgrade }}\"\n  kube: \"{{ .Capabilities.KubeVersion.Minor }}\"\n")}},
	}
	deployed := &release.Release{Name: "r", Namespace: "ns", Version: 4, Chart: ch, Config: map[string]interface{}{},
		Info: &release.Info{Status: rcommon.StatusDeployed}}
	caps := common.DefaultCapabilities.Copy()
	caps.KubeVersion.Minor = "36"
	out, err := RenderLocal(context.Background(), deployed, caps, ch, values.Map{"n": 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`n: "5"`, `revision: "5"`, `upgrade: "true"`, `kube: "36"`, "# Source: c/templates/cm.yaml"} {
		if !strings.Contains(out, want) {
			t.Errorf("local render lacks %q:\n%s", want, out)
		}
	}
}

// Capabilities asks the server for its version and API versions once, as Helm would, and keeps
// them in the configuration for every later render.
func TestCapabilitiesFromTheServer(t *testing.T) {
	var versionCalls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/version":
			versionCalls++
			fmt.Fprint(w, `{"major":"1","minor":"36","gitVersion":"v1.36.3"}`)
		case "/api":
			fmt.Fprint(w, `{"kind":"APIVersions","versions":["v1"]}`)
		case "/api/v1":
			fmt.Fprint(w, `{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"pods","namespaced":true,"kind":"Pod","verbs":["get"]}]}`)
		case "/apis":
			fmt.Fprint(w, `{"kind":"APIGroupList","groups":[{"name":"iomesh.com","versions":[{"groupVersion":"iomesh.com/v1alpha1","version":"v1alpha1"}],"preferredVersion":{"groupVersion":"iomesh.com/v1alpha1","version":"v1alpha1"}}]}`)
		case "/apis/iomesh.com/v1alpha1":
			fmt.Fprint(w, `{"kind":"APIResourceList","groupVersion":"iomesh.com/v1alpha1","resources":[{"name":"iomeshclusters","namespaced":true,"kind":"IOMeshCluster","verbs":["get"]}]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	flags := genericclioptions.NewConfigFlags(false)
	host, cache := srv.URL, t.TempDir()
	flags.APIServer, flags.CacheDir = &host, &cache
	cfg := &action.Configuration{RESTClientGetter: flags}
	caps, err := Capabilities(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if caps.KubeVersion.Version != "v1.36.3" || caps.KubeVersion.Minor != "36" || !caps.APIVersions.Has("iomesh.com/v1alpha1/IOMeshCluster") || !caps.APIVersions.Has("v1") {
		t.Fatalf("capabilities %+v", caps)
	}
	if again, err := Capabilities(cfg); err != nil || again != caps || versionCalls != 1 {
		t.Fatalf("asked the server again (%d times): %v", versionCalls, err)
	}
	if _, err := Capabilities(&action.Configuration{}); err == nil {
		t.Fatal("capabilities without a client")
	}
	gone := genericclioptions.NewConfigFlags(false)
	down := "http://127.0.0.1:1"
	gone.APIServer, gone.CacheDir = &down, &cache
	if _, err := Capabilities(&action.Configuration{RESTClientGetter: gone}); err == nil || !strings.Contains(err.Error(), "server version") {
		t.Fatalf("unreachable server: %v", err)
	}
}

// recorder is a post-renderer that keeps what it was given.
type recorder struct{ seen []string }

func (r *recorder) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	r.seen = append(r.seen, in.String())
	return bytes.NewBufferString(in.String()), nil
}

// An upgrade keeps the apply method the release records (Helm 4's "auto"), and the
// post-renderer sees the chart's objects but never its hooks, as under Helm 3.
func TestUpgradeKeepsTheApplyMethod(t *testing.T) {
	ch := &chart.Chart{
		Metadata: &chart.Metadata{Name: "c", Version: "v1", APIVersion: "v2"},
		Values:   map[string]interface{}{"n": 3},
		Templates: []*common.File{
			{Name: "templates/cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  n: \"{{ .Values.n }}\"\n")},
			{Name: "templates/hook.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: h\n  annotations:\n    helm.sh/hook: pre-upgrade\n")},
		},
	}
	for _, tc := range []struct {
		recorded string
		want     ApplyMethod
	}{
		{"ssa", ServerSideApply},
		{"csa", ClientSideApply},
		{"", ClientSideApply},
	} {
		t.Run("recorded "+tc.recorded, func(t *testing.T) {
			mem := driver.NewMemory()
			mem.SetNamespace("ns")
			cfg := action.NewConfiguration(action.ConfigurationSetLogger(slog.DiscardHandler))
			cfg.Releases = storage.Init(mem)
			cfg.KubeClient = &kubefake.PrintingKubeClient{Out: io.Discard}
			cfg.Capabilities = common.DefaultCapabilities
			deployed := &release.Release{Name: "r", Namespace: "ns", Version: 1, Chart: ch, Config: map[string]interface{}{},
				Info: &release.Info{Status: rcommon.StatusDeployed}, ApplyMethod: tc.recorded}
			if err := cfg.Releases.Create(deployed); err != nil {
				t.Fatal(err)
			}
			if got := ApplyMethodOf(deployed); got != tc.want {
				t.Fatalf("ApplyMethodOf = %s, want %s", got, tc.want)
			}
			pr := &recorder{}
			rel, err := Upgrade(context.Background(), cfg, UpgradeRequest{Name: "r", Namespace: "ns", Chart: ch, Values: values.Map{"n": 5}, PostRenderer: pr})
			if err != nil {
				t.Fatal(err)
			}
			if rel.Version != 2 || ApplyMethodOf(rel) != tc.want || !strings.Contains(rel.Manifest, `n: "5"`) {
				t.Fatalf("revision %d applied %s (want %s):\n%s", rel.Version, ApplyMethodOf(rel), tc.want, rel.Manifest)
			}
			if len(pr.seen) != 1 || !strings.Contains(pr.seen[0], "name: c") || strings.Contains(pr.seen[0], "name: h") {
				t.Fatalf("post-renderer input: %q", pr.seen)
			}
			if info, err := Describe(rel); err != nil || info.ApplyMethod != tc.want {
				t.Fatalf("Describe: %+v %v", info.ApplyMethod, err)
			}
		})
	}
}
