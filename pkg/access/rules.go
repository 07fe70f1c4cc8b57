package access

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/render"
)

// Rule is one permission rule the plugin needs, and why. The generated roles are these rules,
// and rbac.permissions checks the same ones, so the two cannot drift.
type Rule struct {
	// Namespace is where the rule applies; "" for a cluster-wide rule (a ClusterRole).
	Namespace string
	Group     string
	// Resource is the plural resource, "pods/exec" for a subresource.
	Resource string
	Verbs    []string
	// Names are the objects the rule is limited to (resourceNames); none means every object.
	Names []string
	Why   string
	// Withheld marks a rule the roles leave out (a chart's hook grants more than a scaler should
	// hold): the check still asks for it, and rbac says so.
	Withheld bool
}

// Object is one object a Helm upgrade writes: one of the release manifest's, or an upgrade hook.
type Object struct {
	Group, Kind, Namespace, Name string
	// Hook is set for an upgrade hook, which Helm creates, waits for and deletes on every upgrade.
	Hook bool
	// RoleKind and RoleName are the role a binding grants ("" for other kinds).
	RoleKind, RoleName string
	// Grants are the rules a Role or ClusterRole grants (none for other kinds).
	Grants []rbacv1.PolicyRule
}

// Scope is what the roles are for: one IOMesh cluster in a namespace, as its release (or the
// IOMeshCluster itself) describes it.
type Scope struct {
	Namespace string
	// Release is the Helm release, or the IOMeshCluster's name for a directly managed cluster.
	Release string
	// Objects are the release manifest's objects and upgrade hooks (none for a direct cluster).
	Objects []Object
	// ServerSideApply says the release is applied with server-side apply (as Helm 4 installs):
	// Helm then creates each upgrade hook with an apply patch rather than a create.
	ServerSideApply bool
	// Operator and Webhook are the operator Deployment and the IOMeshCluster webhook
	// configuration that operator.ready reads ("" when the release has none).
	Operator, Webhook string
	// MetaPods and ChunkPods are how many meta and chunk pods a scale-in may exec into:
	// <release>-meta-0 … and <release>-chunk-0 ….
	MetaPods, ChunkPods int
	// DiskNamespace is where the BlockDevices are (iomesh-system unless the cluster says).
	DiskNamespace string
	// Lease is the scale-in Lease's name.
	Lease string
}

// ObjectsOf reads the objects of a manifest; namespaced objects without a namespace go into
// namespace, as Helm places them. hooks marks them as upgrade hooks.
func ObjectsOf(manifest, namespace string, hooks bool) []Object {
	var out []Object
	for _, doc := range render.SplitDocs(manifest) {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
			RoleRef rbacv1.RoleRef      `json:"roleRef"`
			Rules   []rbacv1.PolicyRule `json:"rules"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil || head.Kind == "" || head.Metadata.Name == "" {
			continue
		}
		gv, err := schema.ParseGroupVersion(head.APIVersion)
		if err != nil {
			continue
		}
		o := Object{Group: gv.Group, Kind: head.Kind, Name: head.Metadata.Name, Hook: hooks}
		if !clusterScoped[head.Kind] {
			o.Namespace = head.Metadata.Namespace
			if o.Namespace == "" {
				o.Namespace = namespace
			}
		}
		switch head.Kind {
		case "RoleBinding", "ClusterRoleBinding":
			o.RoleKind, o.RoleName = head.RoleRef.Kind, head.RoleRef.Name
		case "Role", "ClusterRole":
			o.Grants = head.Rules
		}
		out = append(out, o)
	}
	return out
}

// readRules are what status and preflight read.
func readRules(s Scope) []Rule {
	ns := s.Namespace
	rules := []Rule{
		{Namespace: ns, Resource: "secrets", Verbs: []string{"list"},
			Why: "Helm keeps the release in Secrets and finds them by label, which RBAC cannot narrow: this lets the holder read every Secret here, the licence and the webhook's TLS key among them"},
		{Namespace: ns, Group: "iomesh.com", Resource: "iomeshclusters", Verbs: []string{"get"}, Names: []string{s.Release},
			Why: "IOMesh's own view: the cluster's spec and status"},
		{Namespace: ns, Group: "apps", Resource: "statefulsets", Verbs: []string{"list"},
			Why: "the chunk and meta StatefulSets"},
		{Namespace: ns, Resource: "pods", Verbs: []string{"list"},
			Why: "the chunk and meta pods, and the prepare-csi and CSI node plugin pods (nodes.iscsi-prepared, nodes.csi-node-ready)"},
		{Resource: "nodes", Verbs: []string{"list"},
			Why: "where chunk and meta pods may go"},
		{Resource: "pods", Verbs: []string{"list"},
			Why: "every running pod, once, to see how much room each node has left"},
		{Namespace: ns, Group: "openebs.io", Resource: "blockdevices", Verbs: []string{"list"},
			Why: "the disks new chunk pods would mount (disks.new-chunk-nodes), read here first"},
	}
	if d := s.diskNamespace(); d != ns {
		rules = append(rules, Rule{Namespace: d, Group: "openebs.io", Resource: "blockdevices", Verbs: []string{"list"},
			Why: "the disks, where the IOMeshCluster's spec.chunk.devicemanager.blockDeviceNamespace keeps them"})
	}
	if s.Operator != "" {
		rules = append(rules, Rule{Namespace: ns, Group: "apps", Resource: "deployments", Verbs: []string{"get"}, Names: []string{s.Operator},
			Why: "whether the operator is up (operator.ready)"})
	}
	if s.Webhook != "" {
		rules = append(rules, Rule{Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Verbs: []string{"get"}, Names: []string{s.Webhook},
			Why: "the live failurePolicy of the webhook that guards IOMeshCluster writes (operator.ready)"})
	}
	return rules
}

// waitRules are what a scale watches until IOMesh serves the new pods.
func waitRules(s Scope) []Rule {
	ns := s.Namespace
	return []Rule{
		{Namespace: ns, Resource: "pods", Verbs: []string{"watch"}, Why: "waiting for the pods"},
		{Resource: "nodes", Verbs: []string{"watch"}, Why: "saying while waiting when a node that runs a wanted pod turns NotReady"},
		{Namespace: ns, Group: "iomesh.com", Resource: "iomeshclusters", Verbs: []string{"watch"}, Names: []string{s.Release}, Why: "waiting until IOMesh serves the new chunks"},
		{Namespace: ns, Resource: "events", Verbs: []string{"list"}, Why: "why a pod does not come (its events)"},
	}
}

// helmRules are what a Helm upgrade of the release needs: its record, and every object of its
// manifest by name. Both apply methods read each object; server-side apply also patches each one
// (client-side apply only those that change). A patch that leaves a role or binding as it was
// is not checked for escalation, so the chart's own roles need no escalate or bind. The upgrade
// hooks are another matter: hookRules.
func helmRules(s Scope) []Rule {
	ns := s.Namespace
	rules := []Rule{
		{Namespace: ns, Resource: "secrets", Verbs: []string{"create", "update", "delete"},
			Why: "Helm writes the new revision, marks the previous one superseded and prunes those beyond 10; RBAC cannot name revisions not yet written"},
	}
	named := map[objectKey][]string{}
	for _, o := range s.Objects {
		if !o.Hook {
			k := keyOf(o)
			named[k] = append(named[k], o.Name)
		}
	}
	for _, k := range sortedKeys(named) {
		rules = append(rules, Rule{Namespace: k.ns, Group: k.group, Resource: k.resource, Verbs: []string{"get", "patch"}, Names: unique(named[k]),
			Why: "Helm reads every object of the release and patches it (server-side apply patches each one)"})
	}
	return append(rules, hookRules(s)...)
}

type objectKey struct{ ns, group, resource string }

func keyOf(o Object) objectKey { return objectKey{o.Namespace, o.Group, Resource(o.Kind)} }

// hookRules are what Helm 4 does with the chart's upgrade hooks (helm.sh/helm/v4 pkg/action
// hooks.go, on every upgrade): for each hook, delete it (its before-hook-creation policy, Helm's
// default), create it (with server-side apply, a patch of that name that the API server also
// authorizes as a create of it), wait for it (the status watcher of pkg/kube statuswait.go lists
// and watches its kind in the namespace, with no field selector; client-go streams the list
// through the watch where the server can) and delete it once it ran (hook-succeeded,
// hook-failed). Helm reads no hook by name.
//
// A hook Role or ClusterRole is created anew, and creating a role that grants what its creator
// does not hold is escalation: the user holds what it grants, read from the rendered hook, so
// that neither escalate nor bind is needed (escalate named by resourceNames does not cover a
// create). A grant a scaler should not hold is left out of the roles (Withheld), and said.
func hookRules(s Scope) []Rule {
	hooks := map[objectKey][]string{}
	roles := map[string]bool{}
	var out, grants []Rule
	bind := map[objectKey][]string{}
	for _, o := range s.Objects {
		if !o.Hook {
			continue
		}
		k := keyOf(o)
		hooks[k] = append(hooks[k], o.Name)
		if o.Kind == "Role" || o.Kind == "ClusterRole" {
			roles[o.Kind+"/"+o.Namespace+"/"+o.Name] = true
			grants = append(grants, heldGrants(o)...)
		}
	}
	for _, o := range s.Objects {
		if !o.Hook || (o.Kind != "RoleBinding" && o.Kind != "ClusterRoleBinding") {
			continue
		}
		rk, rns := objectKey{o.Namespace, rbacv1.GroupName, "roles"}, o.Namespace
		if o.RoleKind == "ClusterRole" {
			rk, rns = objectKey{"", rbacv1.GroupName, "clusterroles"}, ""
		}
		// A binding to the hooks' own role needs nothing more: its creator holds what it grants.
		if !roles[o.RoleKind+"/"+rns+"/"+o.RoleName] {
			bind[rk] = append(bind[rk], o.RoleName)
		}
	}
	for _, k := range sortedKeys(hooks) {
		names := unique(hooks[k])
		if s.ServerSideApply {
			out = append(out, Rule{Namespace: k.ns, Group: k.group, Resource: k.resource, Verbs: []string{"create", "patch"}, Names: names,
				Why: "this release is applied server-side, so Helm creates each upgrade hook anew on every upgrade with an apply patch, which the API server also authorizes as a create of that name"})
		} else {
			out = append(out, Rule{Namespace: k.ns, Group: k.group, Resource: k.resource, Verbs: []string{"create"},
				Why: "Helm creates the chart's upgrade hooks anew on every upgrade (RBAC cannot limit a create by name)"})
		}
		out = append(out, Rule{Namespace: k.ns, Group: k.group, Resource: k.resource, Verbs: []string{"delete"}, Names: names,
			Why: "Helm deletes each upgrade hook before creating it again (before-hook-creation) and once it ran (hook-succeeded, hook-failed)"})
		where := "in namespace " + k.ns
		if k.ns == "" {
			where = "in the cluster"
		}
		out = append(out, Rule{Namespace: k.ns, Group: k.group, Resource: k.resource, Verbs: []string{"list", "watch"},
			Why: fmt.Sprintf("namespace-wide, as RBAC cannot narrow a list or watch without a field selector by name: Helm 4 waits for each upgrade hook by listing and watching its kind with none, so this reads every object of the kind (%s) %s", k.resource, where)})
	}
	out = append(out, grants...)
	for _, k := range sortedKeys(bind) {
		out = append(out, Rule{Namespace: k.ns, Group: k.group, Resource: k.resource, Verbs: []string{"bind"}, Names: unique(bind[k]),
			Why: "an upgrade hook binds this role, which is not one of the chart's hook roles: creating that binding needs bind on it, and only on it"})
	}
	return out
}

// heldGrants are the rules of hook role o, one per group and resource, for its creator to hold.
// One a scaler should not hold (a write, or a read of Secrets) is Withheld.
func heldGrants(o Object) []Rule {
	var out []Rule
	what := fmt.Sprintf("the chart's upgrade hook %s %s grants this, and Helm creates that %s anew on every upgrade: holding what it grants is what lets the holder create it, with no escalate", o.Kind, o.Name, o.Kind)
	for _, g := range o.Grants {
		for _, group := range g.APIGroups {
			for _, res := range g.Resources {
				r := Rule{Namespace: o.Namespace, Group: group, Resource: res, Verbs: g.Verbs, Names: g.ResourceNames, Why: what}
				if why := unfit(group, res, g.Verbs); why != "" {
					r.Withheld = true
					r.Why = fmt.Sprintf("the chart's upgrade hook %s %s grants %s, and Helm creates it anew on every upgrade, which needs its creator to hold that: %s. These roles leave it out, so a scale with them stops at that hook. Run the scale as someone who holds it (a namespace admin), or add this rule knowing what it allows", o.Kind, o.Name, r.describe(), why)
				}
				out = append(out, r)
			}
		}
		for _, u := range g.NonResourceURLs {
			out = append(out, Rule{Group: "", Resource: u, Verbs: g.Verbs, Withheld: true,
				Why: fmt.Sprintf("the chart's upgrade hook %s %s grants %s on the URL %s, which these roles do not hold: run the scale as someone who does", o.Kind, o.Name, strings.Join(g.Verbs, ", "), u)})
		}
	}
	return out
}

// readVerbs are what a scaler may hold of a hook role's grants.
var readVerbs = map[string]bool{"get": true, "list": true, "watch": true}

// unfit says why a scaler should not hold a grant ("" when it may).
func unfit(group, resource string, verbs []string) string {
	for _, v := range verbs {
		if !readVerbs[v] {
			return fmt.Sprintf("%q is more than a read", v)
		}
	}
	base, _, _ := strings.Cut(resource, "/")
	switch {
	case group == "*":
		return "it reaches every API group, Secrets among them"
	case group == "" && (base == "*" || base == "secrets"):
		return "it reads Secrets"
	}
	return ""
}

func (r Rule) describe() string {
	res := r.Resource
	if r.Group != "" {
		res += "." + r.Group
	}
	if len(r.Names) > 0 {
		res += " " + strings.Join(r.Names, ", ")
	}
	return strings.Join(r.Verbs, ", ") + " on " + res
}

// scaleInRules are what removing pods needs: iomeshctl on the meta leader and the chunk pods
// (Kubernetes 1.35 on asks for create and get on pods/exec), and the scale-in Lease.
func scaleInRules(s Scope) []Rule {
	ns := s.Namespace
	var pods []string
	for i := 0; i < s.MetaPods; i++ {
		pods = append(pods, fmt.Sprintf("%s-meta-%d", s.Release, i))
	}
	for i := 0; i < s.ChunkPods; i++ {
		pods = append(pods, fmt.Sprintf("%s-chunk-%d", s.Release, i))
	}
	rules := []Rule{
		{Namespace: ns, Group: "coordination.k8s.io", Resource: "leases", Verbs: []string{"create"},
			Why: "the Lease that keeps two scale-ins from acting at once (RBAC cannot limit create by name)"},
	}
	// A rule meant for named objects is left out when it names none: without names it would
	// grant every object.
	if len(pods) > 0 {
		rules = append(rules, Rule{Namespace: ns, Resource: "pods/exec", Verbs: []string{"create", "get"}, Names: pods,
			Why: "a scale-in runs iomeshctl in the meta leader and reads each chunk pod's address"})
	}
	return append(rules, leaseRules(s)...)
}

// leaseRules are the reads and writes of the scale-in Lease by name: a scale-in records on it;
// a scale-out reads it, and clears one that a finished scale-in's killed run left.
func leaseRules(s Scope) []Rule {
	if s.Lease == "" {
		return nil
	}
	return []Rule{{Namespace: s.Namespace, Group: "coordination.k8s.io", Resource: "leases", Verbs: []string{"get", "update", "delete"}, Names: []string{s.Lease},
		Why: "the scale-in Lease records the chunk being unregistered"}}
}

// directRules are what a scale of an IOMeshCluster without a Helm release needs.
func directRules(s Scope) []Rule {
	return []Rule{
		{Namespace: s.Namespace, Group: "iomesh.com", Resource: "iomeshclusters", Verbs: []string{"patch"}, Names: []string{s.Release},
			Why: "the scale patches spec.chunk.replicas and spec.meta.replicas, nothing else"},
		{Group: "iomesh.com", Resource: "iomeshclusters", Verbs: []string{"list"},
			Why: "`status -A` lists the IOMeshClusters of every namespace, the directly managed ones among them"},
	}
}

func (s Scope) diskNamespace() string {
	if s.DiskNamespace != "" {
		return s.DiskNamespace
	}
	return s.Namespace
}

// Set is a role set `kubectl iomesh rbac` prints.
type Set struct {
	Name, For string
	Rules     func(Scope) []Rule
}

// Sets are the role sets, each everything its commands use and nothing more.
var Sets = []Set{
	{"readonly", "status and preflight", readRules},
	{"scale", "scale a Helm-managed IOMesh, in and out (and everything readonly allows)", func(s Scope) []Rule {
		return concat(readRules(s), waitRules(s), helmRules(s), scaleInRules(s))
	}},
	{"direct", "status, preflight and scale of an IOMeshCluster no Helm release manages", func(s Scope) []Rule {
		return concat(readRules(s), waitRules(s), directRules(s), scaleInRules(s))
	}},
}

// storageNetworkExec is the rule --exec-storage-network adds.
func storageNetworkExec(s Scope) Rule {
	return Rule{Namespace: s.Namespace, Resource: "pods/exec", Verbs: []string{"create", "get"},
		Why: "preflight --exec-storage-network reads each node's addresses inside the CSI node plugin (nodes.storage-network). This grants exec into EVERY pod of the namespace, privileged containers on the host's network among them: a shell as root on each node"}
}

// StorageNetworkExecNeeds are the permissions --exec-storage-network adds to a check of them.
func StorageNetworkExecNeeds(s Scope) []Need { return Needs([]Rule{storageNetworkExec(s)}) }

// WithStorageNetworkExec is set with the one permission `preflight --exec-storage-network`
// adds: exec into any pod of the namespace (the CSI node plugin's pods have random names), whose
// driver container is privileged and on the host's network. No default role grants it.
func WithStorageNetworkExec(set Set) Set {
	base := set.Rules
	set.Rules = func(s Scope) []Rule {
		return append(base(s), storageNetworkExec(s))
	}
	return set
}

// SetNamed returns the role set called name.
func SetNamed(name string) (Set, error) {
	for _, s := range Sets {
		if s.Name == name {
			return s, nil
		}
	}
	return Set{}, fmt.Errorf("no role set %q: give readonly, scale or direct", name)
}

// ScaleNeeds are the permissions a scale of a Helm release uses, from the same rules as the
// scale role; scaleIn adds exec and the Lease.
func ScaleNeeds(s Scope, scaleIn bool) []Need {
	rules := concat(readRules(s), waitRules(s), helmRules(s))
	if scaleIn {
		rules = append(rules, scaleInRules(s)...)
	} else {
		rules = append(rules, leaseRules(s)...)
	}
	return Needs(rules)
}

// DirectScaleNeeds are what a scale of a directly managed IOMeshCluster uses.
func DirectScaleNeeds(s Scope, scaleIn bool) []Need {
	rules := concat(readRules(s), waitRules(s), directRules(s))
	if scaleIn {
		rules = append(rules, scaleInRules(s)...)
	} else {
		rules = append(rules, leaseRules(s)...)
	}
	return Needs(rules)
}

// Needs flattens rules into one permission per verb and object name.
func Needs(rules []Rule) []Need {
	seen := map[Need]bool{}
	var out []Need
	add := func(n Need) {
		k := n
		k.Why = ""
		if !seen[k] {
			seen[k] = true
			out = append(out, n)
		}
	}
	for _, r := range rules {
		for _, v := range r.Verbs {
			if len(r.Names) == 0 {
				add(Need{Verb: v, Group: r.Group, Resource: r.Resource, Namespace: r.Namespace, Why: r.Why})
			}
			for _, name := range r.Names {
				add(Need{Verb: v, Group: r.Group, Resource: r.Resource, Namespace: r.Namespace, Name: name, Why: r.Why})
			}
		}
	}
	return out
}

func concat(lists ...[]Rule) []Rule {
	var out []Rule
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func unique(names []string) []string {
	sort.Strings(names)
	out := names[:0]
	for i, n := range names {
		if i == 0 || n != names[i-1] {
			out = append(out, n)
		}
	}
	return out
}

func sortedKeys[K comparable, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	return keys
}

// yaml is r as one item of a role's rules, its lists in flow style (JSON strings are YAML).
func (r Rule) yaml(indent string) string {
	list := func(items []string) string {
		b, _ := json.Marshal(items) // strings always marshal
		return string(b)
	}
	out := fmt.Sprintf("%s- apiGroups: %s\n%s  resources: %s\n%s  verbs: %s\n", indent, list([]string{r.Group}), indent, list([]string{r.Resource}), indent, list(r.Verbs))
	if len(r.Names) > 0 {
		out += fmt.Sprintf("%s  resourceNames: %s\n", indent, list(r.Names))
	}
	return out
}

// namespaces are the namespaces rules apply in ("" for cluster-wide), sorted, cluster-wide last.
func namespaces(rules []Rule) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rules {
		if !seen[r.Namespace] {
			seen[r.Namespace] = true
			out = append(out, r.Namespace)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i] == "") != (out[j] == "") {
			return out[j] == ""
		}
		return out[i] < out[j]
	})
	return out
}

// explain is a rule's reason as a YAML comment.
func (r Rule) explain(indent string) string {
	return indent + "# " + strings.ReplaceAll(r.Why, "\n", " ") + "\n"
}

// Notes say, for people, what in a role set may look like more than least privilege and why,
// and what the roles leave out that a scale would use.
func Notes(set Set, scope Scope) []string {
	var out []string
	for _, r := range set.Rules(scope) {
		if r.Withheld {
			out = append(out, fmt.Sprintf("note: left out: %s.", r.Why))
			continue
		}
		for _, v := range r.Verbs {
			if v == "bind" || v == "escalate" {
				out = append(out, fmt.Sprintf("note: %s on %s %s: %s.", v, r.Resource, strings.Join(r.Names, ", "), r.Why))
			}
		}
	}
	return out
}
