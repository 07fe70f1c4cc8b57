// Package gitops recognises a GitOps controller that owns an IOMesh cluster (Flux's
// helm-controller or kustomize-controller, Argo CD) from the marks it leaves on the objects it
// applies, and says what a change must look like in Git instead. A controller reverts a change
// made outside Git; for IOMesh a reverted scale-out is an unplanned scale-in. Plain functions
// over plain data; it may import only the Kubernetes API libraries, pkg/values and pkg/render.
package gitops

import (
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/render"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// The marks each controller puts on what it applies.
const (
	FluxHelmName      = "helm.toolkit.fluxcd.io/name"
	FluxHelmNamespace = "helm.toolkit.fluxcd.io/namespace"
	FluxKustName      = "kustomize.toolkit.fluxcd.io/name"
	FluxKustNamespace = "kustomize.toolkit.fluxcd.io/namespace"
	// FluxKustReconcile "disabled" opts one object out of a Kustomization.
	FluxKustReconcile = "kustomize.toolkit.fluxcd.io/reconcile"
	ArgoTrackingID    = "argocd.argoproj.io/tracking-id"
	// ArgoInstance is Argo CD 2.x's tracking label; the IOMesh chart sets it too.
	ArgoInstance = "app.kubernetes.io/instance"
)

// Controller kinds.
const (
	FluxHelmRelease   = "Flux HelmRelease"
	FluxKustomization = "Flux Kustomization"
	ArgoApplication   = "Argo CD Application"
)

// Owner is the controller object that owns the cluster; nil when none does.
type Owner struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Evidence is the mark it was recognised by.
	Evidence string `json:"evidence"`
	// Read says the controller's own object was read (its CRD installed and readable);
	// Suspended and SelfHeal come from it.
	Read      bool `json:"read"`
	Suspended bool `json:"suspended,omitempty"`
	// SelfHeal is Argo CD's automated self-heal (true unless the Application was read and says
	// otherwise).
	SelfHeal bool `json:"selfHeal,omitempty"`
}

// String names the owner ("Flux HelmRelease flux-system/iomesh").
func (o *Owner) String() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// Marks are what the tool read of the IOMeshCluster (or, without one, of the release's objects).
type Marks struct {
	Labels      map[string]string
	Annotations map[string]string
	// HelmRelease says a Helm release of the cluster's name exists.
	HelmRelease bool
}

// Detect finds the owner from the marks; nil when nothing says a controller owns the cluster.
// Argo CD 2.x's instance label counts only where no Helm release exists: the chart sets it too.
func Detect(m Marks) *Owner {
	if name := m.Labels[FluxHelmName]; name != "" {
		return &Owner{Kind: FluxHelmRelease, Namespace: m.Labels[FluxHelmNamespace], Name: name, Evidence: "label " + FluxHelmName + "=" + name}
	}
	if name := m.Labels[FluxKustName]; name != "" && m.Annotations[FluxKustReconcile] != "disabled" {
		return &Owner{Kind: FluxKustomization, Namespace: m.Labels[FluxKustNamespace], Name: name, Evidence: "label " + FluxKustName + "=" + name}
	}
	if id := m.Annotations[ArgoTrackingID]; id != "" {
		app, _, _ := strings.Cut(id, ":")
		ns, name := argoApp(app)
		return &Owner{Kind: ArgoApplication, Namespace: ns, Name: name, Evidence: "annotation " + ArgoTrackingID, SelfHeal: true}
	}
	if app := m.Labels[ArgoInstance]; app != "" && !m.HelmRelease {
		ns, name := argoApp(app)
		return &Owner{Kind: ArgoApplication, Namespace: ns, Name: name, Evidence: "label " + ArgoInstance + " without a Helm release", SelfHeal: true}
	}
	return nil
}

// argoApp splits Argo CD's "<namespace>_<app>" (applications in any namespace); a plain name is
// an Application in Argo CD's own namespace, which the mark does not give.
func argoApp(app string) (ns, name string) {
	if n, a, ok := strings.Cut(app, "_"); ok && n != "" && a != "" {
		return n, a
	}
	return "", app
}

// FromManifest reads the marks of the first object in a release manifest that carries a
// controller's label: Flux's post-renderer labels every object it renders.
func FromManifest(manifest string) Marks {
	for _, doc := range render.SplitDocs(manifest) {
		if !strings.Contains(doc, FluxHelmName) && !strings.Contains(doc, FluxKustName) {
			continue
		}
		var obj struct {
			Metadata struct {
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		}
		if yaml.Unmarshal([]byte(doc), &obj) == nil && (obj.Metadata.Labels[FluxHelmName] != "" || obj.Metadata.Labels[FluxKustName] != "") {
			return Marks{Labels: obj.Metadata.Labels, Annotations: obj.Metadata.Annotations, HelmRelease: true}
		}
	}
	return Marks{HelmRelease: true}
}

// Edit is the change to make in Git instead, as a document to paste.
type Edit struct {
	// Where names the object the edit goes into.
	Where string `json:"where"`
	// Patch is the fields to set, in that object's own shape.
	Patch map[string]interface{} `json:"patch"`
}

// EditFor is the Git edit that sets the counts (nil: unchanged) for owner: the HelmRelease's
// spec.values in the chart's layout, or the IOMeshCluster's spec.
func EditFor(o *Owner, layout values.Layout, chunk, meta *int) Edit {
	if o.Kind == FluxHelmRelease {
		v := map[string]interface{}{}
		set := func(component string, n *int) {
			if n != nil {
				v[component] = map[string]interface{}{"replicaCount": *n}
			}
		}
		set("chunk", chunk)
		set("meta", meta)
		vals := v
		if layout != values.Legacy {
			vals = map[string]interface{}{"iomesh": v}
		}
		return Edit{Where: fmt.Sprintf("HelmRelease %s in Git", nsName(o)), Patch: map[string]interface{}{"spec": map[string]interface{}{"values": vals}}}
	}
	spec := map[string]interface{}{}
	if chunk != nil {
		spec["chunk"] = map[string]interface{}{"replicas": *chunk}
	}
	if meta != nil {
		spec["meta"] = map[string]interface{}{"replicas": *meta}
	}
	return Edit{Where: fmt.Sprintf("the IOMeshCluster in the Git source of %s", o), Patch: map[string]interface{}{"spec": spec}}
}

// Flat is the dotted form of the edit ("spec.values.iomesh.chunk.replicaCount: 5").
func (e Edit) Flat() []string {
	var out []string
	var walk func(prefix string, v interface{})
	walk = func(prefix string, v interface{}) {
		m, ok := v.(map[string]interface{})
		if !ok {
			out = append(out, fmt.Sprintf("%s: %v", prefix, v))
			return
		}
		for _, k := range sortedKeys(m) {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			walk(p, m[k])
		}
	}
	walk("", e.Patch)
	return out
}

func sortedKeys(m map[string]interface{}) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func nsName(o *Owner) string {
	if o.Namespace == "" {
		return o.Name
	}
	return o.Namespace + "/" + o.Name
}

// SuspendCommand pauses the owner, for a change that must be made outside Git for a while.
func SuspendCommand(o *Owner) string {
	switch o.Kind {
	case FluxHelmRelease:
		return fmt.Sprintf("flux suspend helmrelease %s -n %s", o.Name, orDefault(o.Namespace, "flux-system"))
	case FluxKustomization:
		return fmt.Sprintf("flux suspend kustomization %s -n %s", o.Name, orDefault(o.Namespace, "flux-system"))
	}
	return fmt.Sprintf("turn off automated self-heal of Argo CD Application %s (argocd app set %s --self-heal=false)", o.Name, o.Name)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
