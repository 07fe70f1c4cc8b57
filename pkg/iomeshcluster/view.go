// View: what IOMesh itself reports on the IOMeshCluster's status: the
// chunks registered with meta and their state, the meta leader and alive hosts, capacity, tasks
// in process and attached devices. Versions differ and the operator is closed source, so every
// field is optional: what is absent is reported as absent, never as a failure, and status
// strings IOMesh adds later are shown as they are.

package iomeshcluster

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/printers"
)

// LeaderLabel marks the meta leader's pod.
const LeaderLabel = "iomesh.com/meta-leader"

// NotReported is how absent fields are described.
const NotReported = "not reported by this IOMesh version"

// Space is a spaceInfo as IOMesh writes it ("1.38Ti", "0B").
type Space struct {
	TotalData  string `json:"totalDataCapacity,omitempty"`
	UsedData   string `json:"usedDataSpace,omitempty"`
	TotalCache string `json:"totalCacheCapacity,omitempty"`
	UsedCache  string `json:"usedCacheSpace,omitempty"`
}

// RegisteredChunk is one registered chunk.
type RegisteredChunk struct {
	ID     int64  `json:"id"`
	IP     string `json:"ip,omitempty"`
	Node   string `json:"nodeName,omitempty"`
	Status string `json:"status,omitempty"`
	Space  *Space `json:"space,omitempty"`
	// MatchedNode is the node the chunk was matched to; "" if none. MatchedBy says how:
	// MatchNodename, MatchAddress or MatchInPod.
	MatchedNode string `json:"matchedNode,omitempty"`
	MatchedBy   string `json:"matchedBy,omitempty"`
	// MatchedPod is the chunk pod whose own addresses hold the chunk's IP (MatchInPod).
	MatchedPod string `json:"matchedPod,omitempty"`
}

// How a chunk was matched to its pod.
const (
	MatchNodename = "nodename"
	MatchAddress  = "address"
	MatchInPod    = "address inside the pod"
)

// Healthy reports a chunk serving storage.
func (c RegisteredChunk) Healthy() bool { return c.Status == ChunkHealthy }

// Device is one disk a chunk mounted (status.attachedDevices[]).
type Device struct {
	Device    string `json:"device,omitempty"`
	MountType string `json:"mountType,omitempty"`
	Node      string `json:"nodeName,omitempty"`
}

// View is the IOMeshCluster's status as IOMesh reports it.
type View struct {
	// Summary says whether status.summary.chunkSummary was reported at all.
	Summary bool              `json:"summaryReported"`
	Chunks  []RegisteredChunk `json:"chunks,omitempty"`
	// Uncertain says why the chunk list cannot be trusted to name every registered chunk (an
	// id that is not an integer of 1 or more, an entry that could not be read); "" when it can.
	Uncertain string `json:"uncertain,omitempty"`
	// MetaReported says whether metaSummary was reported.
	MetaReported bool     `json:"metaReported"`
	MetaLeader   string   `json:"metaLeader,omitempty"`
	MetaAlive    []string `json:"metaAliveHosts,omitempty"`
	MetaStatus   string   `json:"metaStatus,omitempty"`
	Capacity     *Space   `json:"capacity,omitempty"`
	// TaskReported says whether taskInProcess was reported; TaskInProcess is "" when idle.
	TaskReported  bool     `json:"taskReported"`
	TaskInProcess string   `json:"taskInProcess,omitempty"`
	Devices       []Device `json:"attachedDevices,omitempty"`
}

// FromCluster reads the view from an IOMeshCluster (nil: nothing reported).
func ViewOf(c *IOMeshCluster) View {
	var v View
	if c == nil || c.Status == nil {
		return v
	}
	st := c.Status
	if cs := st.Summary.ChunkSummary; cs != nil {
		v.Summary = true
		var bad []string
		for _, ch := range cs.Chunks {
			// A chunk without a valid id is still shown (as id 0), and makes the list uncertain.
			if !ch.ID.Valid() {
				bad = append(bad, printers.EscapeTerminal(orText(ch.ID.Raw, "none")))
			}
			v.Chunks = append(v.Chunks, RegisteredChunk{ID: ch.ID.N, IP: str(ch.IP), Node: str(ch.NodeName), Status: str(ch.Status), Space: space(ch.SpaceInfo)})
		}
		switch {
		case len(bad) > 0:
			v.Uncertain = fmt.Sprintf("chunkSummary lists %d chunk(s) whose id is not an integer of 1 or more (%s)", len(bad), strings.Join(bad, ", "))
		case cs.Malformed > 0:
			v.Uncertain = fmt.Sprintf("chunkSummary has %d entry(ies) that could not be read", cs.Malformed)
		}
		sort.SliceStable(v.Chunks, func(i, j int) bool { return v.Chunks[i].ID < v.Chunks[j].ID })
	}
	if ms := st.Summary.MetaSummary; ms != nil {
		v.MetaReported = true
		v.MetaLeader, v.MetaStatus = str(ms.Leader), str(ms.Status)
		for _, h := range ms.AliveHost {
			if s := str(h); s != "" {
				v.MetaAlive = append(v.MetaAlive, s)
			}
		}
	}
	if cl := st.Summary.ClusterSummary; cl != nil {
		v.Capacity = space(cl.SpaceInfo)
	}
	if st.TaskInProcess != nil {
		v.TaskReported = true
		v.TaskInProcess = str(*st.TaskInProcess)
	}
	for _, d := range st.AttachedDevices {
		v.Devices = append(v.Devices, Device{Device: str(d.Device), MountType: str(d.MountType), Node: str(d.NodeName)})
	}
	return v
}

func orText(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

// str reads a status string, escaped: the operator's text must not drive the terminal.
func str(t Text) string { return t.Safe() }

func space(s *SpaceInfo) *Space {
	if s == nil {
		return nil
	}
	return &Space{TotalData: str(s.TotalDataCapacity), UsedData: str(s.UsedDataSpace), TotalCache: str(s.TotalCacheCapacity), UsedCache: str(s.UsedCacheSpace)}
}

// Match sets each chunk's MatchedNode: by its nodename where reported, else by its IP against
// the nodes' addresses and the chunk pods' host and pod IPs. An IP that several nodes share
// (pods on the host network of nodes behind one address) matches none.
func (v *View) Match(nodes []corev1.Node, chunkPods []corev1.Pod) {
	byIP := map[string]map[string]bool{}
	add := func(ip, node string) {
		if ip == "" || node == "" {
			return
		}
		if byIP[ip] == nil {
			byIP[ip] = map[string]bool{}
		}
		byIP[ip][node] = true
	}
	for _, n := range nodes {
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP || a.Type == corev1.NodeExternalIP {
				add(a.Address, n.Name)
			}
		}
	}
	for _, p := range chunkPods {
		add(p.Status.HostIP, p.Spec.NodeName)
		add(p.Status.PodIP, p.Spec.NodeName)
		for _, ip := range p.Status.PodIPs {
			add(ip.IP, p.Spec.NodeName)
		}
	}
	for i := range v.Chunks {
		c := &v.Chunks[i]
		c.MatchedNode, c.MatchedBy, c.MatchedPod = c.Node, "", ""
		if c.MatchedNode != "" {
			c.MatchedBy = MatchNodename
			continue
		}
		if set := byIP[c.Addr()]; len(set) == 1 {
			for n := range set {
				c.MatchedNode, c.MatchedBy = n, MatchAddress
			}
		}
	}
}

// Addr is the chunk's IP without a port.
func (c RegisteredChunk) Addr() string {
	if h, _, ok := strings.Cut(c.IP, ":"); ok {
		return h
	}
	return c.IP
}

// Unmatched counts the chunks matched to no node.
func (v View) Unmatched() int {
	n := 0
	for _, c := range v.Chunks {
		if c.MatchedNode == "" {
			n++
		}
	}
	return n
}

// MatchInPods matches the chunks still unmatched by the chunk pods' own LOCAL addresses (pod
// name to addresses, from /proc/net/fib_trie in the pod): chunk pods use the node's storage
// network, so a chunk's IP is one of its pod's addresses. An IP that several pods list matches
// none. nodeOf gives each pod's node.
func (v *View) MatchInPods(local map[string][]string, nodeOf map[string]string) {
	byIP := map[string][]string{}
	for pod, ips := range local {
		for _, ip := range ips {
			byIP[ip] = append(byIP[ip], pod)
		}
	}
	for i := range v.Chunks {
		c := &v.Chunks[i]
		if c.MatchedNode != "" {
			continue
		}
		if pods := byIP[c.Addr()]; len(pods) == 1 {
			c.MatchedPod, c.MatchedBy, c.MatchedNode = pods[0], MatchInPod, nodeOf[pods[0]]
		}
	}
}

// Presence is whether IOMesh lists a chunk, on positive evidence only.
type Presence int

const (
	// Unknown: the status does not say (no chunkSummary, an unreadable list, fewer chunks than
	// expected).
	Unknown Presence = iota
	// Listed: chunkSummary lists the chunk.
	Listed
	// Gone: a readable chunkSummary lists at least the chunks expected to remain, and not it.
	Gone
)

func (p Presence) String() string {
	switch p {
	case Listed:
		return "listed"
	case Gone:
		return "gone"
	}
	return "unknown"
}

// PresenceOf says whether the view lists chunk id. expect are the other chunks expected to stay
// registered: a list that lacks any of them leaves out entries, so the chunk's absence from it
// is not read as the chunk having left. why says what made it Unknown.
func (v View) PresenceOf(id int64, expect []int64) (p Presence, why string) {
	switch {
	case !v.Summary:
		return Unknown, "the IOMeshCluster status reports no chunkSummary"
	case v.Uncertain != "":
		return Unknown, v.Uncertain
	}
	if _, ok := v.Listed(id); ok {
		return Listed, ""
	}
	var missing []string
	for _, e := range expect {
		if _, ok := v.Listed(e); !ok && e != id {
			missing = append(missing, strconv.FormatInt(e, 10))
		}
	}
	if len(missing) > 0 {
		return Unknown, fmt.Sprintf("chunkSummary leaves out chunk %s, expected to stay registered, so it may leave out others too", strings.Join(missing, ", "))
	}
	return Gone, ""
}

// Healthy counts the healthy chunks.
func (v View) Healthy() int {
	n := 0
	for _, c := range v.Chunks {
		if c.Healthy() {
			n++
		}
	}
	return n
}

// Serving reports whether the chunk pods on nodes serve storage: every node has a healthy
// chunk matched to it; where chunks cannot be matched to nodes, at least len(nodes) chunks are
// healthy. missing names the nodes (or the shortfall) still waited for.
func (v View) Serving(nodes []string) (ok bool, missing []string) {
	healthyOn := map[string]bool{}
	unmatched := 0
	for _, c := range v.Chunks {
		if !c.Healthy() {
			continue
		}
		if c.MatchedNode == "" {
			unmatched++
			continue
		}
		healthyOn[c.MatchedNode] = true
	}
	for _, n := range nodes {
		if !healthyOn[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) <= unmatched {
		// The chunks IOMesh reports without a node to match cover the rest, by count.
		return true, nil
	}
	return false, missing
}

// LeaderPods are the pods that carry the meta-leader label.
func LeaderPods(metaPods []corev1.Pod) []string {
	var out []string
	for _, p := range metaPods {
		if _, ok := p.Labels[LeaderLabel]; ok {
			out = append(out, p.Name)
		}
	}
	return out
}
