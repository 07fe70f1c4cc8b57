package access

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
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
		if w, ok := want[o.Name]; ok && !reflect.DeepEqual(o, w) {
			t.Errorf("%s: %+v, want %+v", o.Name, o, w)
		}
	}
	// A hook role carries its rules, as rendered.
	hook := ObjectsOf(zkHooks, "iomesh-system", true)
	if len(hook) != 5 {
		t.Fatalf("%d hook objects: %+v", len(hook), hook)
	}
	wantRole := Object{Group: rbacv1.GroupName, Kind: "Role", Namespace: "iomesh-system", Name: zkHook, Hook: true, Grants: []rbacv1.PolicyRule{
		{APIGroups: []string{"zookeeper.pravega.io"}, Resources: []string{"*"}, Verbs: []string{"get"}},
		{APIGroups: []string{"extensions"}, Resources: []string{"deployments"}, Verbs: []string{"get"}},
	}}
	if !reflect.DeepEqual(hook[0], wantRole) {
		t.Errorf("hook role %+v, want %+v", hook[0], wantRole)
	}
	if b := hook[1]; b.Kind != "RoleBinding" || b.RoleKind != "Role" || b.RoleName != zkHook || b.Grants != nil {
		t.Errorf("hook binding %+v", b)
	}
}

const zkHook = "iomesh-zookeeper-operator-post-install-upgrade"

// zkHooks are the official charts' ZooKeeper operator hooks (v1.0.1 to v1.2.0), as Helm renders
// them, without their annotations (Helm keeps those apart).
const zkHooks = `kind: Role
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  name: iomesh-zookeeper-operator-post-install-upgrade
  namespace: iomesh-system
rules:
- apiGroups: [zookeeper.pravega.io]
  resources: ["*"]
  verbs: [get]
- apiGroups: [extensions]
  resources: ["deployments"]
  verbs: [get]
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: iomesh-zookeeper-operator-post-install-upgrade, namespace: iomesh-system}
subjects: [{kind: ServiceAccount, name: iomesh-zookeeper-operator-post-install-upgrade, namespace: iomesh-system}]
roleRef: {kind: Role, name: iomesh-zookeeper-operator-post-install-upgrade, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: iomesh-zookeeper-operator-post-install-upgrade, namespace: iomesh-system}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: iomesh-zookeeper-operator-post-install-upgrade, namespace: iomesh-system}
---
apiVersion: batch/v1
kind: Job
metadata: {name: iomesh-zookeeper-operator-post-install-upgrade, namespace: iomesh-system}
`

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

// officialObjects reads testdata/official-VERSION.txt (hack/official-objects.sh writes them):
// every object `helm template` renders from the official IOMesh chart of that version, hooks
// marked, an upgrade hook role's rules in a seventh field.
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
		if len(fields) != 6 && len(fields) != 7 {
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
		if len(fields) == 7 && fields[6] != "-" {
			o.Grants = parseGrants(t, fields[6])
		}
		if o.Hook && (o.Kind == "Role" || o.Kind == "ClusterRole") && len(fields) != 7 {
			t.Fatalf("%s: upgrade hook role %s without its rules", path, o.Name)
		}
		out = append(out, o)
	}
	return out
}

// parseGrants reads group/resource:verb+verb[@name+name], ";" between them.
func parseGrants(t *testing.T, s string) []rbacv1.PolicyRule {
	t.Helper()
	var out []rbacv1.PolicyRule
	for _, g := range strings.Split(s, ";") {
		res, rest, ok := strings.Cut(g, ":")
		group, resource, ok2 := strings.Cut(res, "/")
		if !ok || !ok2 {
			t.Fatalf("grant %q", g)
		}
		verbs, names, _ := strings.Cut(rest, "@")
		r := rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{resource}, Verbs: strings.Split(verbs, "+")}
		if names != "" {
			r.ResourceNames = strings.Split(names, "+")
		}
		out = append(out, r)
	}
	return out
}

// What Helm 4 does with an upgrade hook (pkg/action/hooks.go): deletes it by name
// (before-hook-creation, then hook-succeeded or hook-failed), creates it (an apply patch by
// name when the release is applied server-side) and waits for it by listing and watching its
// kind in the namespace. It reads no hook by name.
func hookVerbs(serverSide bool) (named, unnamed []string) {
	if serverSide {
		return []string{"create", "patch", "delete"}, []string{"list", "watch"}
	}
	return []string{"delete"}, []string{"create", "list", "watch"}
}

// The official charts hold kinds the stand-in does not (CSIDriver, DaemonSet, ZookeeperCluster,
// APIService, LimitRange) and upgrade hooks with their own Role: each object gets get and patch
// by name; each upgrade hook kind the verbs Helm 4's hook handling uses; each hook role's rules
// are held, so that no escalate or bind is needed; nothing wider.
func TestOfficialCharts(t *testing.T) {
	paths, _ := filepath.Glob("testdata/official-*.txt")
	if len(paths) < 4 || !slices.Contains(paths, "testdata/official-v1.2.0.txt") {
		t.Fatalf("official chart objects: %v", paths)
	}
	for _, path := range paths {
		for _, ssa := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/server-side=%v", filepath.Base(path), ssa), func(t *testing.T) {
				objs := officialObjects(t, path)
				scope := Scope{Namespace: "iomesh-system", Release: "iomesh", Objects: objs, ServerSideApply: ssa, MetaPods: 5, ChunkPods: 255, Lease: "iomesh-scale-in"}
				b, err := Manifest(Sets[1], scope, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "bob"})
				if err != nil {
					t.Fatal(err)
				}
				g := grants(parse(t, b))
				hookKinds := map[string]bool{}
				for _, o := range objs {
					ns := o.Namespace
					if ns == "" {
						ns = "-"
					}
					res := o.Group + "/" + Resource(o.Kind)
					if !o.Hook {
						for _, v := range []string{"get", "patch"} {
							if !g[fmt.Sprintf("%s %s %s %s", ns, v, res, o.Name)] {
								t.Errorf("%s %s in %s: no %s by name", o.Kind, o.Name, ns, v)
							}
						}
						continue
					}
					hookKinds[o.Kind] = true
					named, unnamed := hookVerbs(ssa)
					for _, v := range named {
						if !g[fmt.Sprintf("%s %s %s %s", ns, v, res, o.Name)] {
							t.Errorf("hook %s %s: no %s by name", o.Kind, o.Name, v)
						}
					}
					for _, v := range unnamed {
						if !g[fmt.Sprintf("%s %s %s *", ns, v, res)] {
							t.Errorf("hook %s %s: no %s", o.Kind, o.Name, v)
						}
					}
					if !ssa && g[fmt.Sprintf("%s patch %s %s", ns, res, o.Name)] {
						t.Errorf("hook %s %s: patch on a release applied client-side, which creates hooks", o.Kind, o.Name)
					}
					if ssa && g[fmt.Sprintf("%s create %s *", ns, res)] {
						t.Errorf("hook %s %s: create on any name, where server-side apply names it", o.Kind, o.Name)
					}
					// The creator of a hook role holds what it grants.
					for _, r := range o.Grants {
						for _, v := range r.Verbs {
							if !g[fmt.Sprintf("%s %s %s/%s *", ns, v, r.APIGroups[0], r.Resources[0])] {
								t.Errorf("hook role %s grants %s %s/%s, which the roles do not", o.Name, v, r.APIGroups[0], r.Resources[0])
							}
						}
					}
				}
				// v1.0.1 on carry the ZooKeeper operator's hooks: the test must see them.
				if !strings.Contains(path, "v0.") {
					for _, k := range []string{"ServiceAccount", "ConfigMap", "Job", "Role", "RoleBinding"} {
						if !hookKinds[k] {
							t.Errorf("no upgrade hook %s in %s", k, path)
						}
					}
				}
				for k := range g {
					f := strings.Fields(k)
					if f[1] == "bind" || f[1] == "escalate" {
						t.Errorf("%s: the hooks' roles are held, so neither bind nor escalate is needed", k)
					}
					if f[1] == "create" && strings.Contains(f[2], "binding") && !strings.HasPrefix(k, "iomesh-system create rbac.authorization.k8s.io/rolebindings") {
						t.Errorf("create on bindings beyond the namespace's hooks: %s", k)
					}
					if f[1] == "get" && strings.HasSuffix(k, " *") && !strings.HasPrefix(f[2], "zookeeper.pravega.io/") && !strings.HasPrefix(f[2], "extensions/") {
						t.Errorf("get on any object: %s", k)
					}
				}
				// Every namespace-wide list and watch says so.
				for _, r := range Sets[1].Rules(scope) {
					if slices.Contains(r.Verbs, "watch") && len(r.Names) == 0 && r.Namespace != "" && slices.Contains(r.Verbs, "list") && !strings.Contains(r.Why, "cannot narrow") && r.Resource != "pods" {
						t.Errorf("%s: a namespace-wide list and watch that does not say so: %q", r.Resource, r.Why)
					}
				}
				// The check asks for every hook permission, so preflight refuses a user who lacks one.
				needs := map[string]bool{}
				for _, n := range ScaleNeeds(scope, false) {
					needs[n.Verb+" "+n.Group+"/"+n.Resource+" "+n.Name] = true
				}
				for _, o := range objs {
					if !o.Hook {
						continue
					}
					named, unnamed := hookVerbs(ssa)
					for _, v := range named {
						if !needs[v+" "+o.Group+"/"+Resource(o.Kind)+" "+o.Name] {
							t.Errorf("the check does not ask for %s on hook %s %s", v, o.Kind, o.Name)
						}
					}
					for _, v := range unnamed {
						if !needs[v+" "+o.Group+"/"+Resource(o.Kind)+" "] {
							t.Errorf("the check does not ask for %s on hook kind %s", v, o.Kind)
						}
					}
				}
			})
		}
	}
}

// A hook role that grants more than a scaler should hold is left out of the roles, said, and
// still asked for by the check, so a user without it is refused before anything is written.
func TestHookRoleBeyondAScaler(t *testing.T) {
	wide := strings.Replace(zkHooks, "  verbs: [get]\n- apiGroups: [extensions]", "  verbs: [get]\n- apiGroups: [\"\"]\n  resources: [secrets]\n  verbs: [get]\n- apiGroups: [extensions]", 1)
	if wide == zkHooks {
		t.Fatal("the hook was not widened")
	}
	scope := standinScope()
	scope.Objects = append(scope.Objects, ObjectsOf(wide, "iomesh-system", true)...)
	b, err := Manifest(Sets[1], scope, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	g := grants(parse(t, b))
	if g["iomesh-system get /secrets *"] {
		t.Error("the roles grant the hook's Secret access")
	}
	if !g["iomesh-system get zookeeper.pravega.io/* *"] {
		t.Error("the roles lost the hook's fitting grants")
	}
	if !strings.Contains(string(b), "# left out: the chart's upgrade hook Role "+zkHook+" grants get on secrets") ||
		!strings.Contains(string(b), `  # - apiGroups: [""]`) {
		t.Errorf("the manifest does not say what it left out:\n%s", b)
	}
	notes := strings.Join(Notes(Sets[1], scope), "\n")
	if !strings.Contains(notes, "left out") || !strings.Contains(notes, "namespace admin") {
		t.Errorf("notes %q", notes)
	}
	var asked []Need
	for _, n := range ScaleNeeds(scope, false) {
		if n.Resource == "secrets" && n.Verb == "get" {
			asked = append(asked, n)
		}
	}
	if len(asked) == 0 {
		t.Fatal("the check does not ask for the hook's grant")
	}
	if line := strings.Join(Group(asked), "\n"); !strings.Contains(line, "get secrets") || !strings.Contains(line, zkHook) {
		t.Errorf("the refusal does not name the rule: %s", line)
	}
	// The binding to the hook's own role asks for no bind, wide or not.
	for k := range g {
		if strings.Contains(k, " bind ") || strings.Contains(k, " escalate ") {
			t.Errorf("granted %s", k)
		}
	}
}

// A user holding the roles of earlier versions (hooks by name only, no hook kind listed or
// watched, none of the hook Role's grants) is refused by the check before anything is
// written, each missing permission with the rule that asks for it.
func TestCheckRefusesRolesWithoutTheHookRules(t *testing.T) {
	scope := standinScope()
	scope.ServerSideApply = true
	scope.Objects = append(scope.Objects, ObjectsOf(zkHooks, "iomesh-system", true)...)
	b, err := Manifest(Sets[1], scope, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "frank"})
	if err != nil {
		t.Fatal(err)
	}
	var held []authv1.ResourceRule
	for _, r := range rulesIn(parse(t, b), "iomesh-system") {
		if slices.Contains(r.Verbs, "watch") && len(r.ResourceNames) == 0 && r.Resources[0] != "pods" && r.Resources[0] != "nodes" {
			continue // the hook kinds' list and watch
		}
		if slices.Contains(r.APIGroups, "zookeeper.pravega.io") || slices.Contains(r.APIGroups, "extensions") {
			continue // the hook Role's grants
		}
		held = append(held, r)
	}
	n := 0
	missing, err := Missing(context.Background(), reviews(held, false, map[string]bool{"list nodes ": true, "watch nodes ": true, "list pods ": true, "get deployments snapshot-controller": true, "patch deployments snapshot-controller": true}, &n), "iomesh-system", ScaleNeeds(scope, false))
	if err != nil {
		t.Fatal(err)
	}
	lines := Group(missing)
	text := strings.Join(lines, "\n")
	for _, want := range []string{
		"namespace iomesh-system: list, watch configmaps (namespace-wide, as RBAC cannot narrow a list or watch",
		"namespace iomesh-system: list, watch jobs.batch", "namespace iomesh-system: list, watch roles.rbac.authorization.k8s.io",
		"namespace iomesh-system: get *.zookeeper.pravega.io (the chart's upgrade hook Role " + zkHook,
		"namespace iomesh-system: get deployments.extensions",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the refusal lacks %q:\n%s", want, text)
		}
	}
	if len(lines) != 7 {
		t.Errorf("%d lines missing, want the 5 hook kinds and the 2 hook Role grants:\n%s", len(lines), text)
	}
}
