package snapshot

import (
	"context"
	"strings"
	"testing"

	release "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// dataCIDR comes from the values; a release without prepare-csi says whether a value turned it
// off or the chart has none; a manifest without either DaemonSet lists nothing.
func TestReadReadiness(t *testing.T) {
	kube := fake.NewSimpleClientset()
	r := inventory.Reader{Kube: kube, Namespace: "iomesh-system", Release: "iomesh"}
	rel := ReleaseFacts{Latest: &release.Release{Manifest: "kind: Deployment\nmetadata: {name: operator}\n"},
		BaseInfo: helmops.Info{Effective: values.Map{
			"iomesh":     values.Map{"chunk": values.Map{"dataCIDR": "10.234.1.0/24"}},
			"csi-driver": values.Map{"prepareCSI": values.Map{"enabled": false}}}},
		Replicas: values.Replicas{Layout: values.Nested}}
	got := ReadReadiness(context.Background(), r, rel)
	if !got.Read || got.DataCIDR != "10.234.1.0/24" || got.DataCIDRPath != "iomesh.chunk.dataCIDR" {
		t.Fatalf("got %+v", got)
	}
	if !strings.Contains(got.NoPrepareCSI, "csi-driver.prepareCSI.enabled=false") || got.NodePlugin != "" || got.NoNodePlugin == "" {
		t.Fatalf("why no prepare-csi: %+v", got)
	}
	if len(kube.Actions()) != 0 {
		t.Fatalf("listed pods for no DaemonSet: %v", kube.Actions())
	}
	rel.BaseInfo.Effective = values.Map{}
	if got := ReadReadiness(context.Background(), r, rel); !strings.Contains(got.NoPrepareCSI, "charts before v1.0.1") || got.DataCIDR != "" {
		t.Fatalf("got %+v", got)
	}
	if got := ReadReadiness(context.Background(), r, ReleaseFacts{}); !strings.Contains(got.NoPrepareCSI, "no Helm release") {
		t.Fatalf("no release: %+v", got)
	}
}
