// Package access works out which API permissions a scale needs and whether the current user has
// them, with one SelfSubjectRulesReview (and SelfSubjectAccessReviews only where the rules
// review cannot answer).
package access

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/render"
	authv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// Need is one permission.
type Need struct {
	Verb      string `json:"verb"`
	Group     string `json:"group,omitempty"`
	Resource  string `json:"resource"`
	Namespace string `json:"namespace,omitempty"`
}

func (n Need) String() string {
	res := n.Resource
	if n.Group != "" {
		res += "." + n.Group
	}
	if n.Namespace != "" {
		return fmt.Sprintf("%s %s in namespace %s", n.Verb, res, n.Namespace)
	}
	return fmt.Sprintf("%s %s (cluster-wide)", n.Verb, res)
}

// Group lists needs for people: cluster-wide first, then per namespace, one resource a line with
// its verbs ("namespace iomesh-system: create, update secrets").
func Group(needs []Need) []string {
	type key struct{ ns, res string }
	verbs := map[key][]string{}
	var keys []key
	for _, n := range needs {
		res := n.Resource
		if n.Group != "" {
			res += "." + n.Group
		}
		k := key{n.Namespace, res}
		if _, ok := verbs[k]; !ok {
			keys = append(keys, k)
		}
		verbs[k] = append(verbs[k], n.Verb)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].ns != keys[j].ns {
			return keys[i].ns < keys[j].ns // "" (cluster-wide) first
		}
		return keys[i].res < keys[j].res
	})
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		vs := verbs[k]
		sort.Strings(vs)
		scope := "cluster-wide"
		if k.ns != "" {
			scope = "namespace " + k.ns
		}
		out = append(out, fmt.Sprintf("%s: %s %s", scope, strings.Join(vs, ", "), k.res))
	}
	return out
}

// Review is what was learned of the user's permissions for a scale.
type Review struct {
	// Checked is false when nothing was asked.
	Checked bool
	// Missing are the permissions the user lacks; Err says why they are unknown.
	Missing []Need
	Err     error
}

// clusterScoped are the kinds an IOMesh manifest may hold that live outside namespaces.
var clusterScoped = map[string]bool{
	"Namespace": true, "Node": true, "PersistentVolume": true, "StorageClass": true, "CSIDriver": true,
	"ClusterRole": true, "ClusterRoleBinding": true, "CustomResourceDefinition": true, "PriorityClass": true,
	"ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true, "APIService": true,
	"VolumeSnapshotClass": true, "ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
	"RuntimeClass": true, "IngressClass": true,
}

// Resource is the plural resource name of a kind, as the API names it.
func Resource(kind string) string {
	k := strings.ToLower(kind)
	switch {
	case strings.HasSuffix(k, "ss"), strings.HasSuffix(k, "sh"), strings.HasSuffix(k, "ch"), strings.HasSuffix(k, "x"):
		return k + "es"
	case strings.HasSuffix(k, "y") && !strings.HasSuffix(k, "ey") && !strings.HasSuffix(k, "ay"):
		return k[:len(k)-1] + "ies"
	case strings.HasSuffix(k, "s"):
		return k
	}
	return k + "s"
}

// ReadNeeds are the permissions status and preflight use.
func ReadNeeds(namespace string) []Need {
	return []Need{
		{Verb: "list", Resource: "secrets", Namespace: namespace},
		{Verb: "get", Group: "iomesh.com", Resource: "iomeshclusters", Namespace: namespace},
		{Verb: "list", Group: "apps", Resource: "statefulsets", Namespace: namespace},
		{Verb: "list", Resource: "pods", Namespace: namespace},
		{Verb: "list", Resource: "nodes"},
	}
}

// DirectScaleNeeds are what a scale of an IOMeshCluster managed without Helm needs: reading it,
// its StatefulSets, pods and the nodes, watching them while waiting, and patching the replicas.
func DirectScaleNeeds(namespace string) []Need {
	return []Need{
		{Verb: "get", Group: "iomesh.com", Resource: "iomeshclusters", Namespace: namespace},
		{Verb: "patch", Group: "iomesh.com", Resource: "iomeshclusters", Namespace: namespace},
		{Verb: "watch", Group: "iomesh.com", Resource: "iomeshclusters", Namespace: namespace},
		{Verb: "list", Group: "apps", Resource: "statefulsets", Namespace: namespace},
		{Verb: "list", Resource: "pods", Namespace: namespace},
		{Verb: "watch", Resource: "pods", Namespace: namespace},
		{Verb: "list", Resource: "nodes"},
	}
}

// ScaleNeeds are what a scale needs: reading everything preflight reads, writing the release
// record, and get/patch on every kind in the release manifest (Helm patches each object).
func ScaleNeeds(namespace, manifest string) []Need {
	needs := append(ReadNeeds(namespace),
		Need{Verb: "get", Resource: "secrets", Namespace: namespace},
		Need{Verb: "create", Resource: "secrets", Namespace: namespace},
		Need{Verb: "update", Resource: "secrets", Namespace: namespace},
		Need{Verb: "watch", Resource: "pods", Namespace: namespace},
		Need{Verb: "watch", Group: "apps", Resource: "statefulsets", Namespace: namespace},
		Need{Verb: "list", Resource: "events", Namespace: namespace},
		Need{Verb: "watch", Group: "iomesh.com", Resource: "iomeshclusters", Namespace: namespace},
	)
	seen := map[Need]bool{}
	for _, n := range needs {
		seen[n] = true
	}
	for _, gk := range manifestKinds(manifest) {
		ns := namespace
		if clusterScoped[gk.Kind] {
			ns = ""
		}
		for _, verb := range []string{"get", "patch"} {
			n := Need{Verb: verb, Group: gk.Group, Resource: Resource(gk.Kind), Namespace: ns}
			if !seen[n] {
				seen[n] = true
				needs = append(needs, n)
			}
		}
	}
	return needs
}

func manifestKinds(manifest string) []schema.GroupKind {
	seen := map[schema.GroupKind]bool{}
	var out []schema.GroupKind
	for _, doc := range render.SplitDocs(manifest) {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil || head.Kind == "" {
			continue
		}
		gv, err := schema.ParseGroupVersion(head.APIVersion)
		if err != nil {
			continue
		}
		gk := schema.GroupKind{Group: gv.Group, Kind: head.Kind}
		if !seen[gk] {
			seen[gk] = true
			out = append(out, gk)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Covered reports whether rules (from a rules review for need's namespace) allow need.
func Covered(rules []authv1.ResourceRule, need Need) bool {
	for _, r := range rules {
		if len(r.ResourceNames) > 0 {
			continue // limited to named objects: not enough for lists, creates or unknown names
		}
		if has(r.Verbs, need.Verb) && has(r.APIGroups, need.Group) && has(r.Resources, need.Resource) {
			return true
		}
	}
	return false
}

func has(list []string, want string) bool {
	for _, s := range list {
		if s == "*" || s == want {
			return true
		}
	}
	return false
}

// Missing returns the needs the current user lacks. One rules review answers for the namespace;
// needs it cannot settle (cluster-wide ones, or an incomplete review) get an access review each.
func Missing(ctx context.Context, kube kubernetes.Interface, namespace string, needs []Need) ([]Need, error) {
	review, err := kube.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, &authv1.SelfSubjectRulesReview{
		Spec: authv1.SelfSubjectRulesReviewSpec{Namespace: namespace},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("asking the API server what you may do in namespace %s: %w", namespace, err)
	}
	var missing []Need
	for _, n := range needs {
		if Covered(review.Status.ResourceRules, n) {
			continue
		}
		if n.Namespace == namespace && !review.Status.Incomplete {
			missing = append(missing, n)
			continue
		}
		// A rule granted by a RoleBinding in the namespace does not cover a cluster-wide need,
		// and a rule missing here may still be granted by a webhook authorizer: ask exactly.
		ok, err := allowed(ctx, kube, n)
		if err != nil {
			return nil, err
		}
		if !ok {
			missing = append(missing, n)
		}
	}
	return missing, nil
}

func allowed(ctx context.Context, kube kubernetes.Interface, n Need) (bool, error) {
	res, sub, _ := strings.Cut(n.Resource, "/") // pods/exec
	r, err := kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authv1.SelfSubjectAccessReview{
		Spec: authv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authv1.ResourceAttributes{
			Namespace: n.Namespace, Verb: n.Verb, Group: n.Group, Resource: res, Subresource: sub,
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("asking the API server whether you may %s: %w", n, err)
	}
	return r.Status.Allowed, nil
}

// ScaleInNeeds are what removing pods needs on top of a scale: running iomeshctl in the meta
// leader (create and get on pods/exec from Kubernetes 1.35 on) and the scale-in Lease that keeps
// two runs from acting at once.
func ScaleInNeeds(namespace string) []Need {
	needs := []Need{
		{Verb: "create", Resource: "pods/exec", Namespace: namespace},
		{Verb: "get", Resource: "pods/exec", Namespace: namespace},
	}
	for _, v := range []string{"get", "create", "update", "delete"} {
		needs = append(needs, Need{Verb: v, Group: "coordination.k8s.io", Resource: "leases", Namespace: namespace})
	}
	return needs
}
