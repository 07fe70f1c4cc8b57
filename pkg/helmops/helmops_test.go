package helmops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"

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
		if got := Busy(tc.err); got != tc.busy {
			t.Errorf("%s: Busy = %v, want %v", tc.name, got, tc.busy)
		}
	}
}

func TestUsesLookup(t *testing.T) {
	plain := &chart.Chart{Metadata: &chart.Metadata{Name: "a"}, Templates: []*chart.File{{Name: "templates/a.yaml", Data: []byte("kind: ConfigMap # lookups are documented elsewhere\nlookupTable: x\n")}}}
	if UsesLookup(plain) {
		t.Fatal("a word that contains lookup is not a call")
	}
	sub := &chart.Chart{Metadata: &chart.Metadata{Name: "sub"}, Templates: []*chart.File{{Name: "templates/s.yaml", Data: []byte(`{{ (lookup "v1" "Secret" .Release.Namespace "x").data }}`)}}}
	plain.SetDependencies(sub)
	if !UsesLookup(plain) {
		t.Fatal("a subchart's lookup was missed")
	}
}

func TestRenderLocalMatchesTheUpgradeRender(t *testing.T) {
	ch := &chart.Chart{
		Metadata:  &chart.Metadata{Name: "c", Version: "v1", APIVersion: "v2"},
		Values:    map[string]interface{}{"n": 3},
		Templates: []*chart.File{{Name: "templates/cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  n: \"{{ .Values.n }}\"\n  revision: \"{{ .Release.Revision }}\"\n  upgrade: \"{{ .Release.IsUpgrade }}\"\n  kube: \"{{ .Capabilities.KubeVersion.Minor }}\"\n")}},
	}
	deployed := &helmrelease.Release{Name: "r", Namespace: "ns", Version: 4, Chart: ch, Config: map[string]interface{}{},
		Info: &helmrelease.Info{Status: helmrelease.StatusDeployed}}
	caps := chartutil.DefaultCapabilities.Copy()
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
