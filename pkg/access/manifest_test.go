package access

import (
	"fmt"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-iomesh/kubectl-iomesh/deploy/rbac"
)

func docs(t *testing.T, b []byte) []unstructured.Unstructured {
	t.Helper()
	var out []unstructured.Unstructured
	for _, d := range strings.Split(string(b), "\n---\n")[1:] {
		var u unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(d), &u.Object); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

func TestManifest(t *testing.T) {
	sa := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: "ci", Name: "Scaler"}
	for _, tc := range []struct {
		set, ns string
		subject rbacv1.Subject
		// namespaces each namespaced object must be in
		namespaces map[string]string
	}{
		{"readonly", "storage", rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "alice"}, map[string]string{"iomesh-plugin-readonly": "storage"}},
		{"scale", "iomesh-system", rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "ops"}, map[string]string{"iomesh-plugin-scale": "iomesh-system"}},
		{"direct", "iomesh-cluster-2", sa, map[string]string{"iomesh-plugin-direct": "iomesh-cluster-2", "iomesh-plugin-direct-disks": "iomesh-system"}},
	} {
		t.Run(tc.set, func(t *testing.T) {
			b, err := Manifest(rbac.Files, tc.set, tc.ns, tc.subject)
			if err != nil {
				t.Fatal(err)
			}
			objs := docs(t, b)
			bindings := 0
			for _, o := range objs {
				if want, ok := tc.namespaces[o.GetName()]; ok && o.GetNamespace() != want {
					t.Errorf("%s %s in namespace %q, want %q", o.GetKind(), o.GetName(), o.GetNamespace(), want)
				}
				if o.GetKind() != "RoleBinding" && o.GetKind() != "ClusterRoleBinding" {
					continue
				}
				bindings++
				subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
				if len(subjects) != 1 {
					t.Fatalf("%s: subjects %v", o.GetName(), subjects)
				}
				s := subjects[0].(map[string]interface{})
				if s["kind"] != tc.subject.Kind || s["name"] != tc.subject.Name || (tc.subject.Namespace != "" && s["namespace"] != tc.subject.Namespace) {
					t.Errorf("%s: subject %v, want %+v", o.GetName(), s, tc.subject)
				}
				if o.GetKind() == "ClusterRoleBinding" && !strings.HasSuffix(o.GetName(), "-"+strings.ToLower(strings.ReplaceAll(tc.subject.Name, ":", "-"))) {
					t.Errorf("cluster binding %q not named for the subject", o.GetName())
				}
			}
			if bindings < 2 || strings.Contains(string(b), "iomesh-viewer") || strings.Contains(string(b), "iomesh-scaler") {
				t.Fatalf("placeholders left or bindings missing (%d):\n%s", bindings, b)
			}
		})
	}
	if _, err := Manifest(rbac.Files, "admin", "x", sa); err == nil {
		t.Fatal("an unknown role set was accepted")
	}
	if _, err := Manifest(rbac.Files, "scale", "Not_A_Namespace", sa); err == nil {
		t.Fatal("an invalid namespace was accepted")
	}
}

func TestParseSubject(t *testing.T) {
	for _, tc := range []struct {
		user, group, sa string
		want            rbacv1.Subject
		ok              bool
	}{
		{"alice", "", "", rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: "User", Name: "alice"}, true},
		{"", "ops", "", rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: "Group", Name: "ops"}, true},
		{"", "", "ci:bot", rbacv1.Subject{Kind: "ServiceAccount", Namespace: "ci", Name: "bot"}, true},
		{"", "", "bot", rbacv1.Subject{}, false},
		{"", "", ":bot", rbacv1.Subject{}, false},
		{"", "", "", rbacv1.Subject{}, false},
		{"alice", "ops", "", rbacv1.Subject{}, false},
	} {
		t.Run(fmt.Sprintf("user %q group %q serviceaccount %q", tc.user, tc.group, tc.sa), func(t *testing.T) {
			got, err := ParseSubject(tc.user, tc.group, tc.sa)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("ParseSubject(%q, %q, %q) = %+v, %v", tc.user, tc.group, tc.sa, got, err)
			}
		})
	}
	if n := bindingName("role", rbacv1.Subject{Name: strings.Repeat("x", 300)}); len(n) != 253 {
		t.Errorf("binding name of %d characters", len(n))
	}
	if n := bindingName("role", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: "ci", Name: "Bot_1"}); n != "role-ci-bot-1" {
		t.Errorf("binding name %q", n)
	}
}
