// Package access holds the permissions the plugin needs as one table of rules: the roles
// `kubectl iomesh rbac` prints, and the check that the current user holds them, with one
// SelfSubjectRulesReview (and SelfSubjectAccessReviews only where it cannot answer). It may not
// import the readers, the checks, the snapshot, the engine, the views or the commands (depguard).
package access

import (
	"context"
	"fmt"
	"sort"
	"strings"

	authv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Need is one permission.
type Need struct {
	Verb      string `json:"verb"`
	Group     string `json:"group,omitempty"`
	Resource  string `json:"resource"`
	Namespace string `json:"namespace,omitempty"`
	// Name is the one object the permission is for ("" for any object).
	Name string `json:"name,omitempty"`
	// Why is the reason of the rule that asks for it.
	Why string `json:"why,omitempty"`
}

func (n Need) String() string {
	res := n.Resource
	if n.Group != "" {
		res += "." + n.Group
	}
	if n.Name != "" {
		res += " " + n.Name
	}
	if n.Namespace != "" {
		return fmt.Sprintf("%s %s in namespace %s", n.Verb, res, n.Namespace)
	}
	return fmt.Sprintf("%s %s (cluster-wide)", n.Verb, res)
}

// Group lists needs for people: cluster-wide first, then per namespace, one resource a line with
// its verbs, the objects named and why the rules ask for them ("namespace iomesh-system: get,
// patch statefulsets iomesh-chunk (Helm reads every object ...)").
func Group(needs []Need) []string {
	// Permissions on any object and on named ones go on separate lines.
	type key struct {
		ns, res string
		named   bool
	}
	verbs := map[key]map[string]bool{}
	names := map[key]map[string]bool{}
	whys := map[key][]string{}
	var keys []key
	for _, n := range needs {
		res := n.Resource
		if n.Group != "" {
			res += "." + n.Group
		}
		k := key{n.Namespace, res, n.Name != ""}
		if _, ok := verbs[k]; !ok {
			keys = append(keys, k)
			verbs[k], names[k] = map[string]bool{}, map[string]bool{}
		}
		verbs[k][n.Verb] = true
		if n.Name != "" {
			names[k][n.Name] = true
		}
		if n.Why != "" && !contains(whys[k], n.Why) {
			whys[k] = append(whys[k], n.Why)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].ns != keys[j].ns {
			return keys[i].ns < keys[j].ns // "" (cluster-wide) first
		}
		if keys[i].res != keys[j].res {
			return keys[i].res < keys[j].res
		}
		return !keys[i].named
	})
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		scope := "cluster-wide"
		if k.ns != "" {
			scope = "namespace " + k.ns
		}
		line := fmt.Sprintf("%s: %s %s", scope, strings.Join(sortedSet(verbs[k]), ", "), k.res)
		if n := sortedSet(names[k]); len(n) > 0 {
			line += " " + strings.Join(n, ", ")
		}
		if len(whys[k]) > 0 {
			line += " (" + strings.Join(whys[k], "; ") + ")"
		}
		out = append(out, line)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
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

// Covered reports whether rules (from a rules review for need's namespace) allow need. A rule
// limited to named objects covers a need only for one of those names.
func Covered(rules []authv1.ResourceRule, need Need) bool {
	for _, r := range rules {
		if len(r.ResourceNames) > 0 && (need.Name == "" || !has(r.ResourceNames, need.Name)) {
			continue
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
			Namespace: n.Namespace, Verb: n.Verb, Group: n.Group, Resource: res, Subresource: sub, Name: n.Name,
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("asking the API server whether you may %s: %w", n, err)
	}
	return r.Status.Allowed, nil
}
