package access

import (
	"bytes"
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// ParseSubject reads --user U, --group G or --serviceaccount NS:NAME.
func ParseSubject(user, group, serviceAccount string) (rbacv1.Subject, error) {
	given := 0
	for _, v := range []string{user, group, serviceAccount} {
		if v != "" {
			given++
		}
	}
	if given != 1 {
		return rbacv1.Subject{}, fmt.Errorf("name exactly one subject: --user U, --group G or --serviceaccount NAMESPACE:NAME")
	}
	switch {
	case user != "":
		return rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}, nil
	case group != "":
		return rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: group}, nil
	}
	ns, name, ok := strings.Cut(serviceAccount, ":")
	if !ok || ns == "" || name == "" {
		return rbacv1.Subject{}, fmt.Errorf("--serviceaccount %q: give NAMESPACE:NAME, as kubectl create rolebinding does", serviceAccount)
	}
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}, nil
}

// DefaultNamespace is IOMesh's namespace; roles for another one carry its name.
const DefaultNamespace = "iomesh-system"

// RoleName is the name of set's Role in each namespace and of its ClusterRole, for a cluster in
// namespace.
func RoleName(set, namespace string) string {
	if namespace == DefaultNamespace {
		return "iomesh-plugin-" + set
	}
	return "iomesh-plugin-" + set + "-" + namespace
}

// BindingName names set's bindings after the subject, so that several people's coexist:
// iomesh-scale-user-alice.
func BindingName(set, namespace string, s rbacv1.Subject) string {
	prefix := "iomesh-" + set
	if namespace != DefaultNamespace {
		prefix += "-" + namespace
	}
	return dnsName(prefix + "-" + strings.ToLower(s.Kind) + "-" + strings.ReplaceAll(subjectName(s), ":", "-"))
}

// SharedBinding is a RoleBinding an earlier version printed with one name for every subject:
// applying it for a second person replaced the first person's.
type SharedBinding struct{ Namespace, Name string }

// SharedBindings are where set's shared bindings were, for a cluster in namespace (the direct
// set kept its disks' binding in iomesh-system).
func SharedBindings(set, namespace string) []SharedBinding {
	if set == "direct" {
		return []SharedBinding{{namespace, "iomesh-plugin-direct"}, {DefaultNamespace, "iomesh-plugin-direct-disks"}}
	}
	return []SharedBinding{{namespace, "iomesh-plugin-" + set}}
}

// Manifest is the role set for scope, bound to subject: a Role and a RoleBinding in each
// namespace its rules name, a ClusterRole and a ClusterRoleBinding for the cluster-wide ones,
// every rule with its reason. The result is YAML for `kubectl apply -f -`.
func Manifest(set Set, scope Scope, subject rbacv1.Subject) ([]byte, error) {
	if errs := validation.IsDNS1123Label(scope.Namespace); len(errs) > 0 {
		return nil, fmt.Errorf("namespace %q: %s", scope.Namespace, strings.Join(errs, "; "))
	}
	rules := set.Rules(scope)
	role := RoleName(set.Name, scope.Namespace)
	binding := BindingName(set.Name, scope.Namespace, subject)
	var out bytes.Buffer
	fmt.Fprintf(&out, "# kubectl iomesh rbac %s: %s, for %s %s, %s in namespace %s.\n", set.Name, set.For, subject.Kind, subjectName(subject), scope.Release, scope.Namespace)
	for _, ns := range namespaces(rules) {
		kind, bindingKind, meta := "Role", "RoleBinding", fmt.Sprintf("  name: %s\n  namespace: %s\n", role, ns)
		if ns == "" {
			kind, bindingKind, meta = "ClusterRole", "ClusterRoleBinding", fmt.Sprintf("  name: %s\n", role)
		}
		fmt.Fprintf(&out, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: %s\nmetadata:\n%srules:\n", kind, meta)
		for _, r := range rules {
			if r.Namespace != ns {
				continue
			}
			if r.Withheld {
				// Left out, and said: the rule is there for whoever decides to grant it.
				out.WriteString("  # left out: " + strings.ReplaceAll(r.Why, "\n", " ") + "\n")
				out.WriteString(commented(r.yaml("  ")))
				continue
			}
			out.WriteString(r.explain("  "))
			out.WriteString(r.yaml("  "))
		}
		b, err := yaml.Marshal(bindingObject(bindingKind, binding, ns, kind, role, subject))
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		out.Write(b)
	}
	return out.Bytes(), nil
}

// commented turns YAML lines into comments at the same indent.
func commented(y string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(y, "\n") {
		if line == "" {
			continue
		}
		body := strings.TrimLeft(line, " ")
		b.WriteString(line[:len(line)-len(body)] + "# " + body)
	}
	return b.String()
}

func bindingObject(kind, name, namespace, roleKind, role string, s rbacv1.Subject) map[string]interface{} {
	meta := map[string]interface{}{"name": name}
	if namespace != "" {
		meta["namespace"] = namespace
	}
	return map[string]interface{}{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta,
		"roleRef":  map[string]interface{}{"apiGroup": rbacv1.GroupName, "kind": roleKind, "name": role},
		"subjects": []interface{}{subjectObject(s)},
	}
}

func subjectName(s rbacv1.Subject) string {
	if s.Kind == rbacv1.ServiceAccountKind {
		return s.Namespace + ":" + s.Name
	}
	return s.Name
}

func subjectObject(s rbacv1.Subject) map[string]interface{} {
	m := map[string]interface{}{"kind": s.Kind, "name": s.Name}
	if s.APIGroup != "" {
		m["apiGroup"] = s.APIGroup
	}
	if s.Namespace != "" {
		m["namespace"] = s.Namespace
	}
	return m
}

// dnsName is name lower case, in the characters a name may hold, at most 253.
func dnsName(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	out := strings.Trim(b.String(), "-.")
	if len(out) > validation.DNS1123SubdomainMaxLength {
		out = out[:validation.DNS1123SubdomainMaxLength]
	}
	return out
}
