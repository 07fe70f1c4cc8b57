package gitops

import (
	"strings"
	"testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name  string
		marks Marks
		want  string // the owner's String, "" for none
	}{
		{"flux helm-controller", Marks{Labels: map[string]string{FluxHelmName: "iomesh", FluxHelmNamespace: "flux-system"}, HelmRelease: true}, "Flux HelmRelease flux-system/iomesh"},
		{"flux kustomization", Marks{Labels: map[string]string{FluxKustName: "storage", FluxKustNamespace: "flux-system"}}, "Flux Kustomization flux-system/storage"},
		{"kustomization opted out", Marks{Labels: map[string]string{FluxKustName: "storage"}, Annotations: map[string]string{FluxKustReconcile: "disabled"}}, ""},
		{"argo cd 3 tracking id", Marks{Annotations: map[string]string{ArgoTrackingID: "iomesh:iomesh.com/IOMeshCluster:iomesh-system/iomesh"}}, "Argo CD Application iomesh"},
		{"argo cd apps in any namespace", Marks{Annotations: map[string]string{ArgoTrackingID: "team-a_iomesh:iomesh.com/IOMeshCluster:iomesh-system/iomesh"}}, "Argo CD Application team-a/iomesh"},
		{"argo cd 2 instance label without a release", Marks{Labels: map[string]string{ArgoInstance: "iomesh"}}, "Argo CD Application iomesh"},
		// The chart sets app.kubernetes.io/instance itself: on a Helm release it proves nothing.
		{"the chart's own instance label", Marks{Labels: map[string]string{ArgoInstance: "iomesh"}, HelmRelease: true}, ""},
		{"no marks", Marks{Labels: map[string]string{"app": "iomesh"}}, ""},
		{"a namespace label alone", Marks{Labels: map[string]string{FluxHelmNamespace: "flux-system"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Detect(tc.marks)
			got := ""
			if o != nil {
				got = o.String()
			}
			if got != tc.want {
				t.Fatalf("Detect = %q, want %q", got, tc.want)
			}
		})
	}
}

// Flux labels every object it renders; another object's label on an unrelated release is not
// ownership, and a manifest without the label has none.
func TestFromManifest(t *testing.T) {
	manifest := `---
# Source: iomesh/templates/sa.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: iomesh-operator
  annotations: {note: "mentions helm.toolkit.fluxcd.io/name in text only"}
---
apiVersion: iomesh.com/v1alpha1
kind: IOMeshCluster
metadata:
  name: iomesh
  labels:
    helm.toolkit.fluxcd.io/name: iomesh
    helm.toolkit.fluxcd.io/namespace: flux-system
`
	if o := Detect(FromManifest(manifest)); o == nil || o.String() != "Flux HelmRelease flux-system/iomesh" {
		t.Fatalf("owner %v", o)
	}
	if o := Detect(FromManifest("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: {app.kubernetes.io/instance: iomesh}\n")); o != nil {
		t.Fatalf("a release's own instance label is not Argo CD: %v", o)
	}
}

func TestEditFor(t *testing.T) {
	five, three := 5, 3
	hr := &Owner{Kind: FluxHelmRelease, Namespace: "flux-system", Name: "iomesh"}
	e := EditFor(hr, values.Nested, &five, nil)
	if got := strings.Join(e.Flat(), ", "); got != "spec.values.iomesh.chunk.replicaCount: 5" || !strings.Contains(e.Where, "HelmRelease flux-system/iomesh") {
		t.Fatalf("nested: %q in %q", got, e.Where)
	}
	e = EditFor(hr, values.Legacy, &five, &three)
	if got := strings.Join(e.Flat(), ", "); got != "spec.values.chunk.replicaCount: 5, spec.values.meta.replicaCount: 3" {
		t.Fatalf("charts before v0.11: %q", got)
	}
	argo := &Owner{Kind: ArgoApplication, Name: "iomesh"}
	if got := strings.Join(EditFor(argo, values.Nested, nil, &five).Flat(), ", "); got != "spec.meta.replicas: 5" {
		t.Fatalf("a CR in Git: %q", got)
	}
}

func TestSuspendCommand(t *testing.T) {
	for o, want := range map[*Owner]string{
		{Kind: FluxHelmRelease, Namespace: "gitops", Name: "iomesh"}: "flux suspend helmrelease iomesh -n gitops",
		{Kind: FluxKustomization, Name: "storage"}:                   "flux suspend kustomization storage -n flux-system",
		{Kind: ArgoApplication, Name: "iomesh"}:                      "argocd app set iomesh --self-heal=false",
	} {
		if got := SuspendCommand(o); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", o, got, want)
		}
	}
}
