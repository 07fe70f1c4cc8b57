//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// auditEvent is what the test reads of an audit log line (level Metadata).
type auditEvent struct {
	Stage string `json:"stage"`
	Verb  string `json:"verb"`
	User  struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		APIGroup    string `json:"apiGroup"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	Annotations map[string]string `json:"annotations"`
}

// refusal is a request the API server forbade.
type refusal struct {
	user       string
	permission permission
}

// permission is one verb on one object ("*": any name; namespace "-": cluster-wide).
type permission struct{ namespace, verb, resource, name string }

func (p permission) String() string {
	return fmt.Sprintf("%s %s %s in %s", p.verb, p.resource, p.name, p.namespace)
}

// granted expands the roles of a `kubectl iomesh rbac` manifest into permissions.
func granted(t *testing.T, manifest string) map[permission]bool {
	t.Helper()
	out := map[permission]bool{}
	for _, doc := range strings.Split(manifest, "\n---\n") {
		var role struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Namespace string `json:"namespace"`
			} `json:"metadata"`
			Rules []struct {
				APIGroups, Resources, Verbs, ResourceNames []string
			} `json:"rules"`
		}
		if err := yaml.Unmarshal([]byte(doc), &role); err != nil {
			t.Fatalf("%v in\n%s", err, doc)
		}
		if role.Kind != "Role" && role.Kind != "ClusterRole" {
			continue
		}
		ns := role.Metadata.Namespace
		if role.Kind == "ClusterRole" {
			ns = "-"
		}
		for _, r := range role.Rules {
			names := r.ResourceNames
			if len(names) == 0 {
				names = []string{"*"}
			}
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					for _, v := range r.Verbs {
						for _, n := range names {
							out[permission{ns, v, strings.TrimPrefix(g+"/"+res, "/"), n}] = true
						}
					}
				}
			}
		}
	}
	return out
}

// audited reads the audit log from offset: for each of users, the permissions their requests
// used, and every request the API server forbade.
func audited(t *testing.T, offset int64, users ...string) (used map[string]map[permission]int, forbidden []refusal) {
	t.Helper()
	f, err := os.Open(filepath.Join(env.clusterDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, 0); err != nil {
		t.Fatal(err)
	}
	used = map[string]map[permission]int{}
	for _, u := range users {
		used[u] = map[permission]int{}
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var e auditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit log: %v", err)
		}
		m, ok := used[e.User.Username]
		// Access reviews are every user's; discovery has no object.
		if !ok || e.ObjectRef == nil || strings.HasPrefix(e.ObjectRef.Resource, "selfsubject") || e.Stage == "ResponseStarted" {
			continue
		}
		o := e.ObjectRef
		res := o.Resource
		if o.APIGroup != "" {
			res = o.APIGroup + "/" + res
		}
		if o.Subresource != "" {
			res += "/" + o.Subresource
		}
		ns := o.Namespace
		if ns == "" {
			ns = "-"
		}
		p := permission{ns, e.Verb, res, o.Name}
		if p.name == "" {
			p.name = "*"
		}
		if e.Annotations["authorization.k8s.io/decision"] == "forbid" {
			forbidden = append(forbidden, refusal{e.User.Username, p})
			continue
		}
		m[p]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return used, forbidden
}

// allows reports whether grant covers use: the same verb and resource, any name or the same
// one, and a cluster-wide grant for any namespace.
func allows(grant, use permission) bool {
	return grant.verb == use.verb && grant.resource == use.resource &&
		(grant.name == "*" || grant.name == use.name) && (grant.namespace == "-" || grant.namespace == use.namespace)
}

// justified are the grants the suite need not use, each with why it is there anyway. Anything
// else granted and never used fails the test.
var justified = []struct {
	pattern *regexp.Regexp
	why     string
	// helm3 limits the reason to releases the Helm 3 CLI wrote (client-side apply), helm4 to
	// those the Helm 4 CLI wrote (server-side apply).
	helm3, helm4 bool
}{
	{regexp.MustCompile(`^\S+ (create|get) pods/exec \S+-(meta-[0-4]|chunk-\d+)$`), "exec reaches every meta pod IOMesh may run and every chunk pod the licence allows; a run uses the leader and the pods it removes", false, false},
	{regexp.MustCompile(`^iomesh-system delete secrets \*$`), "Helm prunes revisions beyond 10; the suite writes fewer", false, false},
	{regexp.MustCompile(`^\S+ list events \*$`), "read only when a pod does not come", false, false},
	{regexp.MustCompile(`^\S+ patch \S+ \S+$`), "client-side apply patches only the objects that change; server-side apply patches each one", true, false},
	{regexp.MustCompile(`^- get admissionregistration.k8s.io/validatingwebhookconfigurations \S+$`), "read only while the operator is down", false, false},
	// The upgrade hooks (the ZooKeeper operator's, as in the official charts).
	{regexp.MustCompile(`^iomesh-system create \S+ ` + zkHook + `$`), "server-side apply creates a hook with a patch, which the API server authorizes as a create too, within the same request", false, true},
	{regexp.MustCompile(`^iomesh-system list (serviceaccounts|configmaps|batch/jobs|rbac.authorization.k8s.io/roles|rbac.authorization.k8s.io/rolebindings) \*$`), "Helm's status watcher lists each hook kind through its watch (sendInitialEvents) on this API server; one without streaming lists gets a list", false, false},
	{regexp.MustCompile(`^iomesh-system get (zookeeper.pravega.io/\*|extensions/deployments) \*$`), "what the chart's hook Role grants, held so that Helm creating that Role anew is no escalation", false, false},
}

// zkHook names the ZooKeeper operator's upgrade hooks, each of the five kinds.
const zkHook = relName + "-zookeeper-operator-post-install-upgrade"

func (p permission) key() string { return p.namespace + " " + p.verb + " " + p.resource + " " + p.name }

// Every command, run by a user holding exactly the role `kubectl iomesh rbac` prints for it,
// with the API server's audit log on: no request is forbidden, and the roles grant nothing the
// commands did not use, beyond the reasons in justified.
func TestRolesAreExact(t *testing.T) {
	scaleInCluster(t, "", 3)
	viewerRole := applyPluginRBAC(t, "readonly", "iomesh-viewer")
	scalerRole := applyPluginRBAC(t, "scale", "iomesh-scaler")
	viewer := []string{"KUBECONFIG=" + filepath.Join(env.clusterDir, "viewer.kubeconfig")}
	scaler := []string{"KUBECONFIG=" + filepath.Join(env.clusterDir, "scaler.kubeconfig")}
	eventually(t, 30*time.Second, "the roles in force", func() bool {
		r := run(t, scaler, "kubectl", "iomesh", "preflight", "--chunk", "4")
		return r.code == 0
	})
	offset := auditOffset(t)

	// The read-only user reads, and reads the live webhook while the operator is down.
	// (Preflight fails rbac.permissions for the viewer, who may not scale: exit 3.)
	for _, args := range [][]string{{"status"}, {"status", "-o", "json"}, {"preflight"}, {"version"}} {
		r := run(t, viewer, "kubectl", append([]string{"iomesh"}, args...)...)
		if r.code != 0 && (args[0] != "preflight" || r.code != 3 || !strings.Contains(r.stdout, "[FAIL] rbac.permissions")) {
			t.Fatalf("%v as the viewer: %s", args, r)
		}
	}
	mustKubectl(t, "scale", "deployment", "operator", "-n", ns, "--replicas", "0")
	eventually(t, 30*time.Second, "the operator down", func() bool {
		d, err := env.kube.AppsV1().Deployments(ns).Get(context.Background(), "operator", metav1.GetOptions{})
		return err == nil && d.Status.AvailableReplicas == 0
	})
	r := run(t, viewer, "kubectl", "iomesh", "preflight", "--chunk", "5")
	mustContain(t, r, "operator.ready", "live failurePolicy")
	mustKubectl(t, "scale", "deployment", "operator", "-n", ns, "--replicas", "1")
	eventually(t, 60*time.Second, "the operator back", func() bool {
		d, err := env.kube.AppsV1().Deployments(ns).Get(context.Background(), "operator", metav1.GetOptions{})
		return err == nil && d.Status.AvailableReplicas == 1
	})

	// The scale user scales in (unregister, Lease, exec), back out, and plans.
	for _, args := range [][]string{
		{"preflight", "--chunk", "4"},
		{"scale", "--chunk", "4", "--yes", "--timeout", "3m"},
		{"scale", "--chunk", "5", "--yes", "--timeout", "3m"},
		{"scale", "--meta", "5", "--dry-run"},
		{"status"},
	} {
		if r := run(t, scaler, "kubectl", append([]string{"iomesh"}, args...)...); r.code != 0 {
			t.Fatalf("%v as the scaler: %s", args, r)
		}
	}
	if u := unregisters(t); len(u) != 1 {
		t.Fatalf("unregisters %v: the scale-in did not run as the scaler", u)
	}
	// Both upgrades ran the chart's upgrade hooks as the scaler: each of the five deleted,
	// created anew (a create, or under server-side apply an apply patch) and waited for.
	used, _ := audited(t, offset, "iomesh-scaler")
	for _, res := range []string{"serviceaccounts", "configmaps", "batch/jobs", "rbac.authorization.k8s.io/roles", "rbac.authorization.k8s.io/rolebindings"} {
		made := used["iomesh-scaler"][permission{ns, "create", res, zkHook}] + used["iomesh-scaler"][permission{ns, "patch", res, zkHook}]
		deleted := used["iomesh-scaler"][permission{ns, "delete", res, zkHook}]
		watched := used["iomesh-scaler"][permission{ns, "watch", res, "*"}]
		if made < 2 || deleted < 2 || watched < 2 {
			t.Errorf("upgrade hook %s %s as the scaler: made %d, deleted %d, watched %d times; want each at least twice (two upgrades)", res, zkHook, made, deleted, watched)
		}
	}

	assertExact(t, offset, map[string]string{"iomesh-viewer": viewerRole, "iomesh-scaler": scalerRole}, nil)
	record("security", "the roles of `kubectl iomesh rbac`, audited", "no request forbidden; nothing granted that no command used, beyond the listed reasons")
}

// A user bound to the scale role cannot make themselves cluster-admin, nor admin of the
// namespace; and two users' bindings coexist.
func TestScaleRoleCannotEscalate(t *testing.T) {
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10)})
	applyPluginRBAC(t, "scale", "iomesh-scaler")
	applyPluginRBAC(t, "scale", "iomesh-second")
	as := func(user string, args ...string) result {
		return run(t, nil, "kubectl", append(args, "--as", user)...)
	}
	eventually(t, 30*time.Second, "the roles in force", func() bool {
		return as("iomesh-second", "auth", "can-i", "patch", "statefulsets/iomesh-chunk", "-n", ns).code == 0
	})
	for _, args := range [][]string{
		{"create", "clusterrolebinding", "grab", "--clusterrole", "cluster-admin", "--user", "iomesh-scaler"},
		{"create", "rolebinding", "grab", "-n", ns, "--clusterrole", "cluster-admin", "--user", "iomesh-scaler"},
		{"create", "clusterrole", "grab", "--verb", "*", "--resource", "*"},
		{"patch", "clusterrole", relName + ":manager", "--type", "json", "-p", `[{"op":"add","path":"/rules/-","value":{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}}]`},
		{"patch", "clusterrolebinding", relName + ":manager", "--type", "json", "-p", `[{"op":"add","path":"/subjects/-","value":{"kind":"User","name":"iomesh-scaler","apiGroup":"rbac.authorization.k8s.io"}}]`},
		{"get", "secrets", "-n", "kube-system"},
	} {
		r := as("iomesh-scaler", args...)
		if r.code == 0 || !strings.Contains(r.stderr, "forbidden") {
			t.Errorf("as the scaler, %v: want forbidden, got exit %d:\n%s", args, r.code, r)
		}
	}
	// Both people keep their access: neither binding replaced the other.
	for _, user := range []string{"iomesh-scaler", "iomesh-second"} {
		if r := as(user, "auth", "can-i", "patch", "statefulsets/iomesh-chunk", "-n", ns); r.code != 0 {
			t.Errorf("%s lost the scale access: %s", user, r)
		}
		if r := as(user, "auth", "can-i", "list", "nodes"); r.code != 0 {
			t.Errorf("%s lost the cluster-wide access: %s", user, r)
		}
		if r := run(t, nil, "kubectl", "iomesh", "preflight", "--chunk", "5", "--as", user); r.code != 0 {
			t.Errorf("preflight as %s: %s", user, r)
		}
	}
	// The shared binding of earlier versions is named, with how to remove it.
	mustKubectl(t, "create", "rolebinding", "iomesh-plugin-scale", "-n", ns, "--role", "iomesh-plugin-scale", "--user", "someone")
	t.Cleanup(func() {
		run(t, nil, "kubectl", "delete", "rolebinding", "iomesh-plugin-scale", "-n", ns, "--ignore-not-found")
	})
	r := plugin(t, "rbac", "scale", "--user", "iomesh-scaler")
	mustContain(t, r, "kubectl delete rolebinding iomesh-plugin-scale -n iomesh-system")
	record("security", "the scale role tries to bind cluster-admin, edit the chart's roles, read kube-system Secrets", "all forbidden; two users' bindings coexist")
}

// auditOffset is where the audit log ends now: what the commands after it do is read from there.
func auditOffset(t *testing.T) int64 {
	t.Helper()
	st, err := os.Stat(filepath.Join(env.clusterDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// assertExact fails when a request of a user since offset was forbidden (unless expected says
// it may be), used what the user's role (by user) does not grant, or when the role grants what
// no request used and no reason in justified covers.
func assertExact(t *testing.T, offset int64, roles map[string]string, expected func(permission) bool) {
	t.Helper()
	users := make([]string, 0, len(roles))
	for u := range roles {
		users = append(users, u)
	}
	used, refused := audited(t, offset, users...)
	var forbidden []string
	for _, f := range refused {
		if expected == nil || !expected(f.permission) {
			forbidden = append(forbidden, f.user+": "+f.permission.String())
		}
	}
	if len(forbidden) > 0 {
		t.Errorf("the roles lack what the commands used:\n%s", strings.Join(forbidden, "\n"))
	}
	for user, role := range roles {
		grants := granted(t, role)
		if len(used[user]) == 0 || len(grants) == 0 {
			t.Fatalf("%s: nothing used (%d) or granted (%d)", user, len(used[user]), len(grants))
		}
		var unused, stray []string
		for g := range grants {
			hit := false
			for u := range used[user] {
				if allows(g, u) {
					hit = true
					break
				}
			}
			if hit {
				continue
			}
			why := ""
			for _, j := range justified {
				if j.pattern.MatchString(g.key()) && (!j.helm3 || env.helm == "helm3") && (!j.helm4 || env.helm != "helm3") {
					why = j.why
					break
				}
			}
			if why == "" {
				unused = append(unused, g.key())
			}
		}
		// What was used came from the role, not from some wider grant of the test cluster.
		for u := range used[user] {
			hit := false
			for g := range grants {
				if allows(g, u) {
					hit = true
					break
				}
			}
			if !hit {
				stray = append(stray, u.key())
			}
		}
		sort.Strings(unused)
		sort.Strings(stray)
		if len(unused) > 0 {
			t.Errorf("%s's role grants what no command used and no reason covers:\n%s", user, strings.Join(unused, "\n"))
		}
		if len(stray) > 0 {
			t.Errorf("%s used what its role does not grant:\n%s", user, strings.Join(stray, "\n"))
		}
		t.Logf("%s: %d permissions granted, %d used", user, len(grants), len(used[user]))
	}
}
