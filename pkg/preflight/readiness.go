package preflight

// A node's readiness for IOMesh, from what the cluster already runs: the prepare-csi DaemonSet
// and the label it leaves (iSCSI), the CSI node plugin's pod, the node's capacity, and its
// addresses against dataCIDR. Nothing is installed or run on the node.

import (
	"fmt"
	"net"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
)

// Documentation pages the readiness hints point at.
const (
	DocSetupWorker = "https://docs.iomesh.com/appendices/setup-worker-node"
	DocInstall     = "https://docs.iomesh.com/deploy-iomesh-cluster/install-iomesh"
)

// MinCPU is the CPU threads IOMesh's prerequisites ask of a worker.
const MinCPU = 8

// MinMemoryWarn is the memory capacity below which nodes.resources warns: IOMesh asks for 16 GiB,
// and a 16 GB machine reports a little less.
var MinMemoryWarn = resource.MustParse("15Gi")

// Readiness is what says whether a node is ready for IOMesh (zero: not read).
type Readiness struct {
	// Read says the DaemonSets were looked for; Err that their pods could not be listed.
	Read bool
	Err  error
	// PrepareCSI and NodePlugin are the DaemonSets the release manifest names ("" none), and
	// NoPrepareCSI and NoNodePlugin why there is none.
	PrepareCSI, NoPrepareCSI string
	NodePlugin, NoNodePlugin string
	// Pods are those DaemonSets' pods.
	Pods []corev1.Pod
	// DataCIDR is the storage network from the values ("" not set), DataCIDRPath where.
	DataCIDR, DataCIDRPath string
	// Host are the addresses read inside the CSI node plugin on nodes whose own addresses are
	// outside dataCIDR, by node (nil: not asked for, --exec-storage-network).
	Host map[string]HostRead
}

// HostRead is a node's addresses as read inside a hostNetwork pod, or why they could not be.
type HostRead struct {
	Pod       string
	Addresses []string
	Err       error
}

// Finding is one requirement on one node. Skipped means it cannot be told.
type Finding struct {
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason"`
}

// NodeReadiness is every requirement on one node.
type NodeReadiness struct {
	Node      string  `json:"node"`
	ISCSI     Finding `json:"iscsiPrepared"`
	CSINode   Finding `json:"csiNodeReady"`
	Resources Finding `json:"resources"`
	Network   Finding `json:"storageNetwork"`
}

// LeftOut reports a node that fails a requirement a chunk pod cannot run without, and why.
func (n NodeReadiness) LeftOut() (string, bool) {
	if n.ISCSI.Verdict == Fail {
		return "iSCSI not prepared (nodes.iscsi-prepared)", true
	}
	if n.CSINode.Verdict == Fail {
		return "CSI node plugin not Ready (nodes.csi-node-ready)", true
	}
	return "", false
}

// Brief is the node's readiness in a table cell: "ok", or what is not ("" when not judged).
func (n NodeReadiness) Brief() string {
	if n.Node == "" {
		return ""
	}
	var parts []string
	for _, c := range []struct {
		name string
		f    Finding
	}{{"iscsi", n.ISCSI}, {"csi-node", n.CSINode}, {"resources", n.Resources}, {"data-net", n.Network}} {
		switch c.f.Verdict {
		case Pass:
		case Skipped:
			parts = append(parts, c.name+" ?")
		default:
			parts = append(parts, c.name+" "+string(c.f.Verdict))
		}
	}
	if len(parts) == 0 {
		return "ok"
	}
	return strings.Join(parts, ", ")
}

// Problems is what is not known to be ready on the node, each requirement with its reason
// ("" when all pass).
func (n NodeReadiness) Problems() string {
	var parts []string
	for _, c := range []struct {
		id string
		f  Finding
	}{{"nodes.iscsi-prepared", n.ISCSI}, {"nodes.csi-node-ready", n.CSINode}, {"nodes.resources", n.Resources}, {"nodes.storage-network", n.Network}} {
		if c.f.Verdict != Pass && c.f.Verdict != "" {
			parts = append(parts, fmt.Sprintf("%s %s: %s", c.id, c.f.Verdict, c.f.Reason))
		}
	}
	return strings.Join(parts, "; ")
}

// readinessList is the readiness of every node, by name.
func (f *Facts) readinessList() []NodeReadiness {
	out := make([]NodeReadiness, 0, len(f.Ready))
	for _, n := range f.Ready {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	if len(out) == 0 {
		return nil
	}
	return out
}

// readinessOf judges every node.
func readinessOf(in *Input) map[string]NodeReadiness {
	r := in.Readiness
	if !r.Read {
		return nil
	}
	prepare, plugin := map[string]*corev1.Pod{}, map[string]*corev1.Pod{}
	for i := range r.Pods {
		p := &r.Pods[i]
		node := inventory.PodNode(p)
		switch inventory.DaemonSetOf(p) {
		case r.PrepareCSI:
			prepare[node] = p
		case r.NodePlugin:
			plugin[node] = p
		}
	}
	_, cidrs, cidrErr := parseCIDRs(r.DataCIDR)
	out := make(map[string]NodeReadiness, len(in.Nodes))
	for i := range in.Nodes {
		n := &in.Nodes[i]
		nr := NodeReadiness{Node: n.Name}
		nr.ISCSI = iscsiOf(in, n, prepare[n.Name])
		nr.CSINode = csiNodeOf(in, n, plugin[n.Name], nr.ISCSI.Verdict == Fail)
		nr.Resources = resourcesOf(n)
		nr.Network = networkOf(r, n, cidrs, cidrErr)
		out[n.Name] = nr
	}
	return out
}

func iscsiOf(in *Input, n *corev1.Node, pod *corev1.Pod) Finding {
	r := in.Readiness
	if v, ok := n.Labels[inventory.IscsiInstalledLabel]; ok {
		return Finding{Pass, fmt.Sprintf("labelled %s=%s", inventory.IscsiInstalledLabel, v)}
	}
	byHand := "check on the node: `systemctl is-active iscsid`"
	if r.PrepareCSI == "" {
		return Finding{Skipped, fmt.Sprintf("cannot tell: no %s label and %s; %s", inventory.IscsiInstalledLabel, r.NoPrepareCSI, byHand)}
	}
	if pod == nil {
		why := fmt.Sprintf("cannot tell: no %s label and no %s pod: prepared by hand (CoreOS, which prepare-csi does not support), or %s does not run there", inventory.IscsiInstalledLabel, r.PrepareCSI, r.PrepareCSI)
		if t := taintsOf(n); t != "" {
			why += " (taints " + t + ")"
		}
		return Finding{Skipped, why + "; " + byHand}
	}
	state := PodState(pod, in.Namespace)
	if pod.Status.Phase == corev1.PodRunning && output.PodReady(pod) && restarts(pod) == 0 {
		return Finding{Warn, fmt.Sprintf("not labelled %s yet: %s is at work (%s)", inventory.IscsiInstalledLabel, pod.Name, state)}
	}
	return Finding{Fail, fmt.Sprintf("not labelled %s: %s", inventory.IscsiInstalledLabel, state)}
}

func csiNodeOf(in *Input, n *corev1.Node, pod *corev1.Pod, noISCSI bool) Finding {
	r := in.Readiness
	if r.NodePlugin == "" {
		return Finding{Skipped, "cannot tell: " + r.NoNodePlugin}
	}
	if pod == nil {
		why := fmt.Sprintf("no %s pod on the node: the DaemonSet does not run there", r.NodePlugin)
		if t := taintsOf(n); t != "" {
			why += " (taints " + t + ")"
		}
		return Finding{Warn, why}
	}
	if output.PodReady(pod) {
		return Finding{Pass, pod.Name + " is Ready"}
	}
	if noISCSI {
		return Finding{Fail, fmt.Sprintf("%s is not Ready: it cannot start on a node without iSCSI (it mounts the host's iscsiadm; see nodes.iscsi-prepared)", pod.Name)}
	}
	return Finding{Fail, "not Ready: " + PodState(pod, in.Namespace)}
}

func resourcesOf(n *corev1.Node) Finding {
	cpu, hasCPU := n.Status.Capacity[corev1.ResourceCPU]
	mem, hasMem := n.Status.Capacity[corev1.ResourceMemory]
	if !hasCPU && !hasMem {
		return Finding{Skipped, "cannot tell: the node states no capacity"}
	}
	var low []string
	if hasCPU && cpu.MilliValue() < MinCPU*1000 {
		low = append(low, fmt.Sprintf("%s CPUs, below %d", cpu.String(), MinCPU))
	}
	if hasMem && mem.Cmp(MinMemoryWarn) < 0 {
		low = append(low, fmt.Sprintf("%s memory, below 16 GiB", humanQuantity(mem)))
	}
	have := fmt.Sprintf("%s CPUs, %s memory", cpu.String(), humanQuantity(mem))
	if len(low) > 0 {
		return Finding{Warn, strings.Join(low, "; ") + " (capacity)"}
	}
	return Finding{Pass, have}
}

// humanQuantity is a memory size in GiB when it is a whole number of them, else as given.
func humanQuantity(q resource.Quantity) string {
	const gi = 1 << 30
	if v := q.Value(); v > 0 && v%gi == 0 {
		return fmt.Sprintf("%dGi", v/gi)
	} else if v > gi {
		return fmt.Sprintf("%.1fGi", float64(v)/gi)
	}
	return q.String()
}

func networkOf(r Readiness, n *corev1.Node, cidrs []*net.IPNet, cidrErr error) Finding {
	if r.DataCIDR == "" {
		return Finding{Skipped, fmt.Sprintf("cannot tell: %s is not set", orWord(r.DataCIDRPath, "dataCIDR"))}
	}
	if cidrErr != nil {
		return Finding{Error, cidrErr.Error()}
	}
	var addrs []string
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP && a.Type != corev1.NodeExternalIP {
			continue
		}
		ip := net.ParseIP(a.Address)
		for _, c := range cidrs {
			if ip != nil && c.Contains(ip) {
				return Finding{Pass, fmt.Sprintf("%s %s is in %s", a.Type, a.Address, r.DataCIDR)}
			}
		}
		addrs = append(addrs, a.Address)
	}
	have := "the node reports no address"
	if len(addrs) > 0 {
		have = "its addresses " + strings.Join(addrs, ", ") + " are outside " + r.DataCIDR
	}
	if h, ok := r.Host[n.Name]; ok {
		if h.Err != nil {
			return Finding{Skipped, fmt.Sprintf("cannot tell: %s, and reading them inside %s failed: %v; run `ip -4 addr` on the node", have, h.Pod, h.Err)}
		}
		for _, a := range h.Addresses {
			ip := net.ParseIP(a)
			for _, c := range cidrs {
				if ip != nil && c.Contains(ip) {
					return Finding{Pass, fmt.Sprintf("%s (read inside %s) is in %s", a, h.Pod, r.DataCIDR)}
				}
			}
		}
		return Finding{Warn, fmt.Sprintf("none of the node's addresses is in %s: %s, read inside %s", r.DataCIDR, orWord(strings.Join(h.Addresses, ", "), "none"), h.Pod)}
	}
	how := "run `ip -4 addr` on the node"
	if r.Host == nil {
		how += ", or pass --exec-storage-network to read them inside the CSI node plugin"
	}
	return Finding{Skipped, fmt.Sprintf("cannot tell: %s, and the storage network may be on another interface; %s", have, how)}
}

// parseCIDRs reads dataCIDR: one CIDR, or several separated by commas.
func parseCIDRs(s string) (string, []*net.IPNet, error) {
	var out []*net.IPNet
	if s == "" {
		return s, nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		_, c, err := net.ParseCIDR(strings.TrimSpace(part))
		if err != nil {
			return s, nil, fmt.Errorf("dataCIDR %q is not a CIDR: %v", s, err)
		}
		out = append(out, c)
	}
	return s, out, nil
}

func taintsOf(n *corev1.Node) string {
	var ts []string
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			ts = append(ts, taintText(t))
		}
	}
	return strings.Join(ts, ", ")
}

func taintText(t corev1.Taint) string {
	s := t.Key
	if t.Value != "" {
		s += "=" + t.Value
	}
	return s + ":" + string(t.Effect)
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, c := range p.Status.ContainerStatuses {
		n += c.RestartCount
	}
	for _, c := range p.Status.InitContainerStatuses {
		n += c.RestartCount
	}
	return n
}

// PodState says why a pod is not done, as `kubectl describe` would: Pending and why it is not
// scheduled, or the first container that is not ready with its state, its last exit (code,
// reason, message) and the command that shows its previous logs.
func PodState(p *corev1.Pod, namespace string) string {
	if p.DeletionTimestamp != nil {
		return p.Name + " is being deleted"
	}
	if p.Spec.NodeName == "" || p.Status.Phase == corev1.PodPending && len(p.Status.ContainerStatuses) == 0 {
		s := p.Name + " is Pending"
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				s += ", not scheduled: " + strings.TrimSpace(orWord(c.Message, c.Reason))
			}
		}
		return s
	}
	statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	sort.SliceStable(statuses, func(i, j int) bool { return !statuses[i].Ready && statuses[j].Ready })
	for _, c := range statuses {
		if c.Ready {
			continue
		}
		s := fmt.Sprintf("%s container %s", p.Name, c.Name)
		if w := c.State.Waiting; w != nil {
			s += " " + orWord(w.Reason, "Waiting")
		} else if c.State.Running != nil {
			s += " Running, not ready"
		} else if t := c.State.Terminated; t != nil {
			s += " " + exitText(t)
		}
		if c.RestartCount > 0 {
			s += fmt.Sprintf(", restarted %s", output.Plural(int(c.RestartCount), "time"))
		}
		if t := c.LastTerminationState.Terminated; t != nil {
			s += fmt.Sprintf(", last %s; see `kubectl logs -n %s %s -c %s --previous`", exitText(t), namespace, p.Name, c.Name)
		}
		return s
	}
	return fmt.Sprintf("%s is %s", p.Name, p.Status.Phase)
}

func exitText(t *corev1.ContainerStateTerminated) string {
	s := fmt.Sprintf("exited with code %d", t.ExitCode)
	if t.Reason != "" {
		s += " (" + t.Reason + ")"
	}
	if m := strings.TrimSpace(t.Message); m != "" {
		s += ": " + m
	}
	return s
}

// readinessCheck judges one requirement over the nodes a new chunk pod may go to.
func readinessCheck(f *Facts, pick func(NodeReadiness) Finding, what, hint, doc string) Result {
	if !f.Readiness.Read {
		return skip("the nodes' readiness was not read")
	}
	if f.Readiness.Err != nil {
		return bad(Error, f.Readiness.Err.Error(), fmt.Sprintf("Check your access to pods in namespace %s", f.Namespace), "")
	}
	if len(f.Candidates) == 0 {
		return skip("no node is eligible for a new chunk pod (see nodes.eligible-chunk)")
	}
	byVerdict := map[Verdict][]string{}
	reasons := map[Verdict]map[string][]string{}
	worst := Pass
	for _, name := range f.Candidates {
		fd := pick(f.Ready[name])
		byVerdict[fd.Verdict] = append(byVerdict[fd.Verdict], name)
		if reasons[fd.Verdict] == nil {
			reasons[fd.Verdict] = map[string][]string{}
		}
		reasons[fd.Verdict][fd.Reason] = append(reasons[fd.Verdict][fd.Reason], name)
		if severity(fd.Verdict) < severity(worst) {
			worst = fd.Verdict
		}
	}
	total := len(f.Candidates)
	// One line per node that fails or warns; nodes that cannot be told share a line per reason.
	var lines []string
	for _, v := range []Verdict{Fail, Error, Warn} {
		for _, name := range byVerdict[v] {
			tag := ""
			if v == Fail {
				tag = " (left out)"
			}
			lines = append(lines, fmt.Sprintf("%s%s: %s", name, tag, pick(f.Ready[name]).Reason))
		}
	}
	unknown := grouped(reasons[Skipped])
	if worst == Pass {
		if total == 1 {
			return pass("%s: %s", f.Candidates[0], pick(f.Ready[f.Candidates[0]]).Reason)
		}
		return pass("all %d eligible nodes %s", total, what)
	}
	if worst == Skipped {
		head := fmt.Sprintf("%d of %d eligible nodes %s; ", len(byVerdict[Pass]), total, what)
		if len(byVerdict[Pass]) == 0 {
			head = ""
		}
		return skip("%s%s", head, strings.Join(unknown, "; "))
	}
	head := fmt.Sprintf("%s of %d eligible:", output.N(len(byVerdict[Fail])+len(byVerdict[Error])+len(byVerdict[Warn]), "node", "nodes"), total)
	if len(byVerdict[Pass]) > 0 {
		head += fmt.Sprintf(" (%d %s)", len(byVerdict[Pass]), what)
	}
	lines = append(lines, unknown...)
	// A node that fails is left out of those a new chunk pod counts on (nodes.eligible-chunk
	// fails when too few remain): the check itself warns, as the scheduler may still pick it.
	if worst == Fail {
		worst = Warn
		hint += "; until then the scheduler may still put a chunk pod there: cordon the node, or keep it out with iomesh.chunk.podPolicy"
	}
	return bad(worst, head+"\n"+strings.Join(lines, "\n"), hint, doc)
}

// severity orders a node's findings worst first: one that cannot be told outweighs a pass.
func severity(v Verdict) int {
	if v == Skipped {
		return Pass.rank()
	}
	if v == Pass {
		return Skipped.rank()
	}
	return v.rank()
}

// grouped is "node-3, node-4: reason" per reason, in node order.
func grouped(m map[string][]string) []string {
	var out []string
	for reason, nodes := range m {
		out = append(out, someOf(nodes, namedNodes)+": "+reason)
	}
	sort.Strings(out)
	return out
}

func checkISCSI(f *Facts) Result {
	return readinessCheck(f, func(n NodeReadiness) Finding { return n.ISCSI }, "carry "+inventory.IscsiInstalledLabel,
		fmt.Sprintf("A node without iSCSI takes no new chunk pod: fix the prepare-csi pod (its logs, then delete it to retry), or install open-iscsi, start iscsid and label the node with `kubectl label node <node> %s=true`", inventory.IscsiInstalledLabel),
		DocSetupWorker)
}

func checkCSINode(f *Facts) Result {
	return readinessCheck(f, func(n NodeReadiness) Finding { return n.CSINode }, "run a Ready CSI node plugin",
		fmt.Sprintf("See why with `kubectl describe pod -n %s <pod>`; on a node without iSCSI fix nodes.iscsi-prepared first", f.Namespace),
		DocInstall)
}

func checkResources(f *Facts) Result {
	return readinessCheck(f, func(n NodeReadiness) Finding { return n.Resources }, fmt.Sprintf("have at least %d CPUs and 16 GiB of memory", MinCPU),
		fmt.Sprintf("IOMesh asks for at least %d CPU threads and 16 GiB of memory per worker: give the node more, or keep chunk pods off it with iomesh.chunk.podPolicy", MinCPU),
		DocPrerequisite)
}

func checkNetwork(f *Facts) Result {
	return readinessCheck(f, func(n NodeReadiness) Finding { return n.Network }, "have an address in "+orWord(f.Readiness.DataCIDR, "dataCIDR"),
		"Every IOMesh node needs an address in dataCIDR on the storage network: add one, or keep chunk pods off the node",
		DocPrerequisite)
}
