// Package iomeshstatus reads what IOMesh itself reports on the IOMeshCluster's status: the
// chunks registered with meta and their state, the meta leader and alive hosts, capacity, tasks
// in process and attached devices. Versions differ and the operator is closed source, so every
// field is optional: what is absent is reported as absent, never as a failure, and status
// strings IOMesh adds later are shown as they are.
package iomeshstatus

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/printers"
)

// Chunk states IOMesh reports (chunkSummary.chunks[].status).
const (
	ChunkHealthy        = "CHUNK_STATUS_CONNECTED_HEALTHY"
	ChunkInitializing   = "CHUNK_STATUS_INITIALIZING"
	ChunkSessionExpired = "CHUNK_STATUS_SESSION_EXPIRED"
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

// Chunk is one registered chunk.
type Chunk struct {
	ID     int64  `json:"id"`
	IP     string `json:"ip,omitempty"`
	Node   string `json:"nodeName,omitempty"`
	Status string `json:"status,omitempty"`
	Space  *Space `json:"space,omitempty"`
	// MatchedNode is the node the chunk was matched to (by nodename, else by IP); "" if none.
	MatchedNode string `json:"matchedNode,omitempty"`
}

// Healthy reports a chunk serving storage.
func (c Chunk) Healthy() bool { return c.Status == ChunkHealthy }

// Device is one disk a chunk mounted (status.attachedDevices[]).
type Device struct {
	Device    string `json:"device,omitempty"`
	MountType string `json:"mountType,omitempty"`
	Node      string `json:"nodeName,omitempty"`
}

// View is the IOMeshCluster's status as IOMesh reports it.
type View struct {
	// Summary says whether status.summary.chunkSummary was reported at all.
	Summary bool    `json:"summaryReported"`
	Chunks  []Chunk `json:"chunks,omitempty"`
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

// FromStatus reads the view from an IOMeshCluster's content (nil: nothing reported).
func FromStatus(obj map[string]interface{}) View {
	var v View
	status, _ := obj["status"].(map[string]interface{})
	if status == nil {
		return v
	}
	summary, _ := status["summary"].(map[string]interface{})
	if cs, ok := summary["chunkSummary"].(map[string]interface{}); ok {
		v.Summary = true
		list, _ := cs["chunks"].([]interface{})
		for _, raw := range list {
			m, ok := raw.(map[string]interface{})
			if !ok {
				continue
			}
			c := Chunk{ID: toInt(m["id"]), IP: str(m["ip"]), Node: str(m["nodename"]), Status: str(m["status"]), Space: space(m["spaceInfo"])}
			v.Chunks = append(v.Chunks, c)
		}
		sort.SliceStable(v.Chunks, func(i, j int) bool { return v.Chunks[i].ID < v.Chunks[j].ID })
	}
	if ms, ok := summary["metaSummary"].(map[string]interface{}); ok {
		v.MetaReported = true
		v.MetaLeader, v.MetaStatus = str(ms["leader"]), str(ms["status"])
		hosts, _ := ms["aliveHost"].([]interface{})
		for _, h := range hosts {
			if s := str(h); s != "" {
				v.MetaAlive = append(v.MetaAlive, s)
			}
		}
	}
	if cl, ok := summary["clusterSummary"].(map[string]interface{}); ok {
		v.Capacity = space(cl["spaceInfo"])
	}
	if t, ok := status["taskInProcess"]; ok {
		v.TaskReported = true
		v.TaskInProcess = printers.EscapeTerminal(strings.TrimSpace(taskText(t)))
	}
	devs, _ := status["attachedDevices"].([]interface{})
	for _, raw := range devs {
		if m, ok := raw.(map[string]interface{}); ok {
			v.Devices = append(v.Devices, Device{Device: str(m["device"]), MountType: str(m["mountType"]), Node: str(m["nodeName"])})
		}
	}
	return v
}

// taskText reads taskInProcess: a string in v1.0.1; anything else is shown as written.
func taskText(t interface{}) string {
	switch x := t.(type) {
	case nil:
		return ""
	case string:
		return x
	case map[string]interface{}:
		if len(x) == 0 {
			return ""
		}
	case []interface{}:
		if len(x) == 0 {
			return ""
		}
	}
	return fmt.Sprint(t)
}

// str reads a status string, escaped: the operator's text must not drive the terminal.
func str(v interface{}) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return printers.EscapeTerminal(strings.TrimSpace(x))
	}
	return printers.EscapeTerminal(fmt.Sprint(v))
}

func toInt(v interface{}) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case float64:
		return int64(x)
	}
	return 0
}

func space(raw interface{}) *Space {
	m, ok := raw.(map[string]interface{})
	if !ok {
		return nil
	}
	return &Space{TotalData: str(m["totalDataCapacity"]), UsedData: str(m["usedDataSpace"]), TotalCache: str(m["totalCacheCapacity"]), UsedCache: str(m["usedCacheSpace"])}
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
		c.MatchedNode = c.Node
		if c.MatchedNode != "" {
			continue
		}
		ip := c.IP
		if h, _, ok := strings.Cut(ip, ":"); ok {
			ip = h
		}
		if set := byIP[ip]; len(set) == 1 {
			for n := range set {
				c.MatchedNode = n
			}
		}
	}
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
