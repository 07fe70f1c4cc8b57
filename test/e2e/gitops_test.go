//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// fluxPostRenderEnv makes the test binary a helm post-renderer that labels every object as
// Flux's helm-controller does (TestMain checks it first).
const fluxPostRenderEnv = "IOMESH_E2E_FLUX_POSTRENDER"

// fluxPostRenderer is a post-renderer program: this test binary in that mode.
func fluxPostRenderer(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "flux-labels")
	script := fmt.Sprintf("#!/bin/sh\n%s=1 exec %q\n", fluxPostRenderEnv, self)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// fluxLabels reads a manifest and writes it with helm-controller's labels on every object.
func fluxLabels(in io.Reader, out io.Writer) int {
	b, err := io.ReadAll(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, doc := range strings.Split(string(b), "\n---") {
		var obj map[string]interface{}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if len(obj) == 0 {
			continue
		}
		u := unstructured.Unstructured{Object: obj}
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels["helm.toolkit.fluxcd.io/name"], labels["helm.toolkit.fluxcd.io/namespace"] = "iomesh", "flux-system"
		u.SetLabels(labels)
		y, err := yaml.Marshal(u.Object)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintf(out, "---\n%s", y)
	}
	return 0
}

// helmReleaseCRD is a minimal copy of Flux's HelmRelease CRD: the fields this tool reads.
const helmReleaseCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: helmreleases.helm.toolkit.fluxcd.io}
spec:
  group: helm.toolkit.fluxcd.io
  names: {kind: HelmRelease, listKind: HelmReleaseList, plural: helmreleases, singular: helmrelease, shortNames: [hr]}
  scope: Namespaced
  versions:
  - name: v2
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
---
apiVersion: v1
kind: Namespace
metadata: {name: flux-system}
`

func kubectlApply(t *testing.T, doc string) {
	t.Helper()
	c := exec.Command("kubectl", "apply", "-f", "-")
	c.Env = os.Environ()
	c.Stdin = strings.NewReader(doc)
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
}

// A release Flux's helm-controller rendered is refused before the chart is fetched, with the
// edit to make in Git; nothing changes. A suspended HelmRelease is a warning only.
func TestGitOpsFluxHelmRelease(t *testing.T) {
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10), postRenderer: fluxPostRenderer(t)})
	before, rv := readRelease(t), clusterRV(t, ns, relName)
	r := plugin(t, "scale", "--chunk", "4", "--yes")
	if r.code != 3 {
		t.Fatalf("scale of a Flux-managed release: want exit 3:\n%s", r)
	}
	mustContain(t, r, "[FAIL] gitops.unmanaged", "Flux HelmRelease flux-system/iomesh owns this IOMesh cluster",
		"spec.values.iomesh.chunk.replicaCount: 4", "flux suspend helmrelease iomesh -n flux-system")
	if strings.Contains(r.stderr, "render.identical") || strings.Contains(r.stderr, "would be") {
		t.Fatalf("refused by the render guard instead of the GitOps check:\n%s", r)
	}
	assertUnchanged(t, before)
	if now := clusterRV(t, ns, relName); now != rv {
		t.Fatalf("the IOMeshCluster changed on a refusal: resourceVersion %s -> %s", rv, now)
	}
	r = plugin(t, "preflight", "--chunk", "4", "-o", "yaml")
	if r.code != 3 {
		t.Fatalf("preflight: want exit 3:\n%s", r)
	}
	mustContain(t, r, "gitOps:", "gitEdit:", "replicaCount: 4", "kind: Flux HelmRelease")
	r = plugin(t, "scale", "--chunk", "4", "--dry-run", "-o", "yaml")
	if r.code != 3 || !strings.Contains(r.stdout, "gitEdit:") || !strings.Contains(r.stdout, "replicaCount: 4") {
		t.Fatalf("scale --dry-run -o yaml: want exit 3 and the Git edit on stdout:\n%s", r)
	}
	r = plugin(t, "status")
	mustContain(t, r, "Managed by: Flux HelmRelease flux-system/iomesh: make changes in Git")
	record("gitops", "release rendered by Flux's helm-controller", "exit 3 before the chart is fetched, Git edit printed, release unchanged")

	// The HelmRelease suspended: a warning that Git must still get the change.
	kubectlApply(t, helmReleaseCRD)
	t.Cleanup(func() { run(t, nil, "kubectl", "delete", "crd", "helmreleases.helm.toolkit.fluxcd.io", "--wait=false") })
	hr := schema.GroupVersionResource{Group: "helm.toolkit.fluxcd.io", Version: "v2", Resource: "helmreleases"}
	obj := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
		"metadata": map[string]interface{}{"name": "iomesh", "namespace": "flux-system"},
		"spec":     map[string]interface{}{"suspend": true, "releaseName": relName, "targetNamespace": ns},
	}}
	eventually(t, 20*time.Second, "HelmRelease created", func() bool {
		_, err := env.dyn.Resource(hr).Namespace("flux-system").Create(context.Background(), obj, metav1.CreateOptions{})
		return err == nil
	})
	r = plugin(t, "preflight", "--chunk", "4")
	mustContain(t, r, "[WARN] gitops.unmanaged", "is suspended", "before resuming it")
	r = plugin(t, "status")
	mustContain(t, r, "Managed by: Flux HelmRelease flux-system/iomesh (suspended)")

	// Suspended, the override scales; the upgrade keeps Flux's labels on the objects.
	r = plugin(t, "scale", "--chunk", "4", "--yes", "--skip-check", "gitops.unmanaged", "--wait-for", "pods", "--timeout", "2m")
	if r.code != 0 {
		t.Fatalf("scale with --skip-check gitops.unmanaged: %s", r)
	}
	mustContain(t, r, "Warning: --skip-check gitops.unmanaged: Flux HelmRelease flux-system/iomesh reverts this change", "flux suspend helmrelease iomesh -n flux-system")
	o, err := env.dyn.Resource(iomeshGVR).Namespace(ns).Get(context.Background(), relName, metav1.GetOptions{})
	if err != nil || o.GetLabels()["helm.toolkit.fluxcd.io/name"] != "iomesh" {
		t.Fatalf("the upgrade dropped Flux's labels: %v %v", o.GetLabels(), err)
	}
	if after := readRelease(t); after.revision != before.revision+1 {
		t.Fatalf("want one new revision: %+v -> %+v", before, after)
	}
	record("gitops", "suspended Flux HelmRelease", "warning: the change must still reach Git")
}

// An IOMeshCluster applied by Argo CD (its tracking annotation, no Helm release) is refused
// rather than patched; --skip-check overrides with the way to pause self-heal.
func TestGitOpsArgoCDDirectCluster(t *testing.T) {
	freshInstall(t, install{nodes: 8, edition: "enterprise", license: enterpriseLicense(10)})
	name := "iomesh-argo"
	doc := strings.Replace(directCluster(name, ""), "metadata: {name: "+name+", namespace: "+name+"}",
		"metadata: {name: "+name+", namespace: "+name+", annotations: {argocd.argoproj.io/tracking-id: 'storage:iomesh.com/IOMeshCluster:"+name+"/"+name+"'}}", 1)
	if !strings.Contains(doc, "tracking-id") {
		t.Fatal("the Argo CD annotation was not placed")
	}
	kubectlApply(t, doc)
	t.Cleanup(func() { run(t, nil, "kubectl", "delete", "namespace", name, "--wait=false") })
	rv := func() string {
		o, err := env.dyn.Resource(iomeshGVR).Namespace(name).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return o.GetResourceVersion()
	}
	before := rv()
	r := plugin(t, "scale", "-n", name, "--release", name, "--chunk", "4", "--yes")
	if r.code != 3 {
		t.Fatalf("scale of an Argo CD cluster: want exit 3:\n%s", r)
	}
	mustContain(t, r, "[FAIL] gitops.unmanaged", "Argo CD Application storage owns this IOMesh cluster", "spec.chunk.replicas: 4", "--self-heal=false")
	if after := rv(); after != before {
		t.Fatalf("the IOMeshCluster changed on a refusal: resourceVersion %s -> %s", before, after)
	}
	r = plugin(t, "scale", "-n", name, "--release", name, "--chunk", "4", "--dry-run", "--skip-check", "gitops.unmanaged")
	mustContain(t, r, "Warning: --skip-check gitops.unmanaged: Argo CD Application storage reverts this change")
	r = plugin(t, "status", "-A")
	mustContain(t, r, "direct, Argo CD Application storage")
	record("gitops", "IOMeshCluster applied by Argo CD", "exit 3, Git edit printed, resourceVersion unchanged")
}

// clusterRV is the IOMeshCluster's resourceVersion: unchanged by every refusal.
func clusterRV(t *testing.T, namespace, name string) string {
	t.Helper()
	o, err := env.dyn.Resource(iomeshGVR).Namespace(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return o.GetResourceVersion()
}
