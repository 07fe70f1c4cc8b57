package access

import (
	"bytes"
	"fmt"
	"io/fs"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// Roles are the least-privilege role sets, by name, with what each is for.
var Roles = map[string]string{
	"readonly": "status and preflight",
	"scale":    "scale a Helm-managed IOMesh (and everything readonly allows)",
	"direct":   "status, preflight and scale of an IOMeshCluster no Helm release manages",
}

// placeholder is the namespace each file is written for.
var placeholder = map[string]string{"readonly": "iomesh-system", "scale": "iomesh-system", "direct": "iomesh-cluster-1"}

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

// Manifest is the role set name (a key of Roles) from files, for namespace and bound to
// subject: its Roles and RoleBindings in namespace (the BlockDevices' Role of "direct" stays in
// iomesh-system), ClusterRoleBindings named for the subject. The result is YAML for
// `kubectl apply -f -`.
func Manifest(files fs.FS, name, namespace string, subject rbacv1.Subject) ([]byte, error) {
	if _, ok := Roles[name]; !ok {
		return nil, fmt.Errorf("no role set %q: give readonly, scale or direct", name)
	}
	if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
		return nil, fmt.Errorf("namespace %q: %s", namespace, strings.Join(errs, "; "))
	}
	raw, err := fs.ReadFile(files, name+".yaml")
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "# kubectl iomesh rbac %s: %s, for %s %s in namespace %s.\n", name, Roles[name], subject.Kind, subjectName(subject), namespace)
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		var obj unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
			return nil, fmt.Errorf("%s.yaml: %w", name, err)
		}
		if obj.Object == nil {
			continue
		}
		if obj.GetNamespace() == placeholder[name] {
			obj.SetNamespace(namespace)
		}
		switch obj.GetKind() {
		case "RoleBinding", "ClusterRoleBinding":
			s := subject
			if err := unstructured.SetNestedSlice(obj.Object, []interface{}{subjectObject(s)}, "subjects"); err != nil {
				return nil, err
			}
		}
		if obj.GetKind() == "ClusterRoleBinding" {
			// One binding per subject: the role's name, then the subject's.
			role, _, _ := unstructured.NestedString(obj.Object, "roleRef", "name")
			obj.SetName(bindingName(role, subject))
		}
		b, err := yaml.Marshal(obj.Object)
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		out.Write(b)
	}
	return out.Bytes(), nil
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

// bindingName is role-subject, lower case, in the characters a name may hold, at most 253.
func bindingName(role string, s rbacv1.Subject) string {
	var b strings.Builder
	for _, r := range strings.ToLower(role + "-" + strings.ReplaceAll(subjectName(s), ":", "-")) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	name := strings.Trim(b.String(), "-.")
	if len(name) > validation.DNS1123SubdomainMaxLength {
		name = name[:validation.DNS1123SubdomainMaxLength]
	}
	return name
}
