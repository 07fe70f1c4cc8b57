package access

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	authv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// role is a Role or ClusterRole as a manifest holds it.
type role struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Rules    []rbacv1.PolicyRule `json:"rules"`
	RoleRef  rbacv1.RoleRef      `json:"roleRef"`
	Subjects []rbacv1.Subject    `json:"subjects"`
}

func parse(t *testing.T, b []byte) []role {
	t.Helper()
	var out []role
	for _, d := range strings.Split(string(b), "\n---\n")[1:] {
		var r role
		if err := yaml.Unmarshal([]byte(d), &r); err != nil {
			t.Fatalf("%v in\n%s", err, d)
		}
		out = append(out, r)
	}
	return out
}

// rulesIn is what the manifest grants in namespace ns (its Role there and the ClusterRole), as
// a rules review reports it.
func rulesIn(objs []role, ns string) []authv1.ResourceRule {
	var out []authv1.ResourceRule
	for _, o := range objs {
		if (o.Kind == "Role" && o.Metadata.Namespace == ns) || o.Kind == "ClusterRole" {
			for _, r := range o.Rules {
				out = append(out, authv1.ResourceRule{Verbs: r.Verbs, APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames})
			}
		}
	}
	return out
}

const standin = `---
apiVersion: v1
kind: Secret
metadata: {name: iomesh-webhook-cert, namespace: iomesh-system}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: iomesh-csi-driver}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: operator}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: iomesh-chunk}
---
apiVersion: iomesh.com/v1alpha1
kind: IOMeshCluster
metadata: {name: iomesh}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: snapshot-controller, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: iomesh:manager}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: iomesh:manager}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: iomesh-validating-webhook-configuration}
webhooks:
  - name: x
    rules: [{apiGroups: [iomesh.com], resources: [iomeshclusters], operations: [UPDATE], apiVersions: ["*"]}]
---
# a document without an object
---
kind: [broken
`

func standinScope() Scope {
	return Scope{Namespace: "iomesh-system", Release: "iomesh", Objects: ObjectsOf(standin, "iomesh-system", false),
		Operator: "operator", Webhook: "iomesh-validating-webhook-configuration", MetaPods: 5, ChunkPods: 8, Lease: "iomesh-scale-in"}
}

func TestObjectsOf(t *testing.T) {
	objs := ObjectsOf(standin, "iomesh-system", false)
	if len(objs) != 8 {
		t.Fatalf("%d objects: %+v", len(objs), objs)
	}
	want := map[string]Object{
		"iomesh-csi-driver":   {Group: "storage.k8s.io", Kind: "StorageClass", Name: "iomesh-csi-driver"},
		"operator":            {Group: "apps", Kind: "Deployment", Namespace: "iomesh-system", Name: "operator"},
		"snapshot-controller": {Group: "apps", Kind: "Deployment", Namespace: "kube-system", Name: "snapshot-controller"},
		"iomesh:manager":      {Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding", Name: "iomesh:manager", RoleKind: "ClusterRole", RoleName: "iomesh:manager"},
	}
	for _, o := range objs {
		if w, ok := want[o.Name]; ok && o != w {
			t.Errorf("%s: %+v, want %+v", o.Name, o, w)
		}
	}
}

func TestManifestCoversTheCheck(t *testing.T) {
	alice := rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "alice"}
	scope := standinScope()
	for _, set := range Sets {
		t.Run(set.Name, func(t *testing.T) {
			b, err := Manifest(set, scope, alice)
			if err != nil {
				t.Fatal(err)
			}
			objs := parse(t, b)
			var needs []Need
			switch set.Name {
			case "scale":
				needs = ScaleNeeds(scope, true)
			case "direct":
				needs = DirectScaleNeeds(scope, true)
			default:
				needs = Needs(readRules(scope))
			}
			for _, n := range needs {
				ns := n.Namespace
				if ns == "" {
					ns = "iomesh-system"
				}
				if !Covered(rulesIn(objs, ns), n) {
					t.Errorf("the %s roles do not grant what the check asks: %s", set.Name, n)
				}
			}
			// Every rule says why; every role has one binding, named after the subject.
			if c := strings.Count(string(b), "\n  # "); c < len(set.Rules(scope)) {
				t.Errorf("%d comments for %d rules", c, len(set.Rules(scope)))
			}
			roles, bindings := 0, 0
			for _, o := range objs {
				switch o.Kind {
				case "Role", "ClusterRole":
					roles++
					if o.Metadata.Name != "iomesh-plugin-"+set.Name {
						t.Errorf("role %q", o.Metadata.Name)
					}
				case "RoleBinding", "ClusterRoleBinding":
					bindings++
					if o.Metadata.Name != "iomesh-"+set.Name+"-user-alice" || len(o.Subjects) != 1 || o.Subjects[0] != alice || o.RoleRef.Name != "iomesh-plugin-"+set.Name {
						t.Errorf("binding %+v", o)
					}
				}
			}
			if roles == 0 || roles != bindings {
				t.Errorf("%d roles, %d bindings", roles, bindings)
			}
		})
	}
}

// grants lists what a manifest allows as "namespace verb group/resource name" lines ("*" for
// any name, "-" for cluster-wide).
func grants(objs []role) map[string]bool {
	out := map[string]bool{}
	for _, o := range objs {
		ns := o.Metadata.Namespace
		if o.Kind == "ClusterRole" {
			ns = "-"
		}
		for _, r := range o.Rules {
			names := r.ResourceNames
			if len(names) == 0 {
				names = []string{"*"}
			}
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					for _, v := range r.Verbs {
						for _, n := range names {
							out[fmt.Sprintf("%s %s %s/%s %s", ns, v, g, res, n)] = true
						}
					}
				}
			}
		}
	}
	return out
}

func TestScaleRolesAreNarrow(t *testing.T) {
	b, err := Manifest(Sets[1], standinScope(), rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	g := grants(parse(t, b))
	for _, want := range []string{
		"iomesh-system get apps/deployments operator", "iomesh-system patch apps/statefulsets iomesh-chunk",
		"kube-system patch apps/deployments snapshot-controller", "- patch storage.k8s.io/storageclasses iomesh-csi-driver",
		"- get admissionregistration.k8s.io/validatingwebhookconfigurations iomesh-validating-webhook-configuration",
		"iomesh-system create /pods/exec iomesh-meta-4", "iomesh-system get /pods/exec iomesh-chunk-7",
		"iomesh-system update coordination.k8s.io/leases iomesh-scale-in", "iomesh-system create coordination.k8s.io/leases *",
		"- patch rbac.authorization.k8s.io/clusterrolebindings iomesh:manager", "iomesh-system create /secrets *",
	} {
		if !g[want] {
			t.Errorf("not granted: %s", want)
		}
	}
	for _, never := range []string{
		"iomesh-system create /pods/exec *", "iomesh-system create /pods/exec iomesh-chunk-8", "iomesh-system get coordination.k8s.io/leases *",
		"- bind rbac.authorization.k8s.io/clusterroles *", "- bind rbac.authorization.k8s.io/clusterroles iomesh:manager",
		"- escalate rbac.authorization.k8s.io/clusterroles *", "- create rbac.authorization.k8s.io/clusterrolebindings *",
		"iomesh-system get /secrets *", "iomesh-system patch apps/deployments *",
	} {
		if g[never] {
			t.Errorf("granted: %s", never)
		}
	}
	for k := range g {
		if strings.Contains(k, " */") || strings.HasPrefix(strings.Fields(k)[1], "*") {
			t.Errorf("a wildcard: %s", k)
		}
	}
}

func TestBindingsCoexist(t *testing.T) {
	scope := standinScope()
	names := map[string]string{}
	for _, s := range []rbacv1.Subject{
		{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "alice"},
		{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "bob"},
		{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "alice"},
		{Kind: rbacv1.ServiceAccountKind, Namespace: "ci", Name: "alice"},
	} {
		b, err := Manifest(Sets[1], scope, s)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range parse(t, b) {
			if strings.HasSuffix(o.Kind, "Binding") {
				key := o.Kind + "/" + o.Metadata.Namespace + "/" + o.Metadata.Name
				if prev, ok := names[key]; ok {
					t.Errorf("%s names %s and %s", key, prev, s.Name)
				}
				names[key] = s.Kind + "/" + s.Name
			}
		}
	}
	if n := BindingName("scale", "iomesh-system", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: "ci", Name: "Bot_1"}); n != "iomesh-scale-serviceaccount-ci-bot-1" {
		t.Errorf("binding name %q", n)
	}
	if n := BindingName("scale", "iomesh-system", rbacv1.Subject{Kind: rbacv1.UserKind, Name: strings.Repeat("x", 300)}); len(n) != 253 {
		t.Errorf("binding name of %d characters", len(n))
	}
	if n := BindingName("direct", "iomesh-cluster-1", rbacv1.Subject{Kind: rbacv1.UserKind, Name: "alice"}); n != "iomesh-direct-iomesh-cluster-1-user-alice" {
		t.Errorf("binding name %q", n)
	}
	if _, err := Manifest(Sets[1], Scope{Namespace: "Not_A_Namespace"}, rbacv1.Subject{Kind: rbacv1.UserKind, Name: "a"}); err == nil {
		t.Fatal("an invalid namespace was accepted")
	}
	if got := SharedBindings("direct", "iomesh-cluster-1"); len(got) != 2 || got[0] != (SharedBinding{"iomesh-cluster-1", "iomesh-plugin-direct"}) || got[1] != (SharedBinding{"iomesh-system", "iomesh-plugin-direct-disks"}) {
		t.Errorf("direct's shared bindings %v", got)
	}
	if _, err := SetNamed("admin"); err == nil {
		t.Fatal("an unknown role set was accepted")
	}
}

// officialObjects reads testdata/official-VERSION.txt: every object `helm template` renders from
// the official IOMesh chart of that version (github.com/iomesh/charts), hooks marked.
func officialObjects(t *testing.T, path string) []Object {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Object
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) != 6 {
			t.Fatalf("%s: %q", path, sc.Text())
		}
		gv, err := schema.ParseGroupVersion(fields[0])
		if err != nil {
			t.Fatal(err)
		}
		o := Object{Group: gv.Group, Kind: fields[1], Name: fields[3]}
		if !clusterScoped[o.Kind] {
			o.Namespace = "iomesh-system"
			if fields[2] != "-" {
				o.Namespace = fields[2]
			}
		}
		hook := fields[4]
		if hook != "-" && !strings.Contains(hook, "upgrade") {
			continue // an install or delete hook: not run by an upgrade
		}
		o.Hook = hook != "-"
		if fields[5] != "-" {
			o.RoleKind, o.RoleName, _ = strings.Cut(fields[5], "/")
		}
		out = append(out, o)
	}
	return out
}

// The official charts hold kinds the stand-in does not (CSIDriver, DaemonSet, ZookeeperCluster,
// upgrade hooks with their own Role): each gets get and patch by name, each upgrade hook create
// and delete, and the hooks' roles escalate and bind by name, nothing wider.
func TestOfficialCharts(t *testing.T) {
	paths, _ := filepath.Glob("testdata/official-*.txt")
	if len(paths) < 3 {
		t.Fatalf("official chart objects: %v", paths)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			objs := officialObjects(t, path)
			scope := Scope{Namespace: "iomesh-system", Release: "iomesh", Objects: objs, MetaPods: 5, ChunkPods: 255, Lease: "iomesh-scale-in"}
			b, err := Manifest(Sets[1], scope, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "bob"})
			if err != nil {
				t.Fatal(err)
			}
			g := grants(parse(t, b))
			for _, o := range objs {
				ns := o.Namespace
				if ns == "" {
					ns = "-"
				}
				res := o.Group + "/" + Resource(o.Kind)
				verbs := []string{"get", "patch"}
				if o.Hook {
					verbs = []string{"get", "delete", "watch"}
					if !g[fmt.Sprintf("%s create %s *", ns, res)] {
						t.Errorf("hook %s %s: no create", o.Kind, o.Name)
					}
				}
				for _, v := range verbs {
					if !g[fmt.Sprintf("%s %s %s %s", ns, v, res, o.Name)] {
						t.Errorf("%s %s in %s: no %s by name", o.Kind, o.Name, ns, v)
					}
				}
				if o.Hook && o.Kind == "Role" && !g[fmt.Sprintf("%s escalate %s %s", ns, res, o.Name)] {
					t.Errorf("hook role %s: no escalate", o.Name)
				}
				if o.Hook && o.Kind == "RoleBinding" && !g[fmt.Sprintf("%s bind rbac.authorization.k8s.io/roles %s", ns, o.RoleName)] {
					t.Errorf("hook binding %s: no bind on %s", o.Name, o.RoleName)
				}
			}
			for k := range g {
				f := strings.Fields(k)
				if (f[1] == "bind" || f[1] == "escalate") && f[3] == "*" {
					t.Errorf("unnamed %s", k)
				}
				if f[1] == "create" && strings.Contains(f[2], "binding") && !strings.HasPrefix(k, "iomesh-system create rbac.authorization.k8s.io/rolebindings") {
					t.Errorf("create on bindings beyond the namespace's hooks: %s", k)
				}
			}
		})
	}
}
