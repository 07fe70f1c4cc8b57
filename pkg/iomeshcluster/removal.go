package iomeshcluster

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Procedure is how an IOMesh version removes a pod.
type Procedure struct {
	// Version is the IOMesh version the procedure was chosen for ("" when unknown), and From
	// where it was read (spec.version, the chart version).
	Version, From string
	// Unregister says each chunk is unregistered on the meta leader before its pod goes
	// (1.0.x, and 1.1, for which no scale-down doc exists); otherwise the operator does it and
	// a step is only the lower count (1.2).
	Unregister bool
	// MetaScaleIn says meta pods may be removed (1.2: 5 to 4 to 3).
	MetaScaleIn bool
	// Note says what was assumed.
	Note string
}

var versionRE = regexp.MustCompile(`^v?(\d+)\.(\d+)`)

// ProcedureFor chooses the documented scale-in procedure from the version the IOMeshCluster
// names (spec.version, which 1.1 charts set to the chart version), else the chart version of the
// release. A spec.version that is not an IOMesh chart version (an image tag such as v5.5.0) is
// passed over.
func ProcedureFor(specVersion, chartVersion string) Procedure {
	var p Procedure
	var m []string
	for _, c := range []struct{ v, from string }{{specVersion, "spec.version"}, {chartVersion, "the chart version"}} {
		if g := versionRE.FindStringSubmatch(c.v); g != nil && (g[1] == "0" || g[1] == "1") {
			p.Version, p.From, m = c.v, c.from, g
			break
		}
	}
	if m == nil {
		p.Unregister = true
		p.Note = "the IOMesh version is not known: the 1.0.x procedure is followed (unregister each chunk first)"
		return p
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	switch {
	case major > 1 || (major == 1 && minor >= 2):
		p.MetaScaleIn = true
		p.Note = "IOMesh 1.2 procedure: one pod per helm upgrade, the operator unregisters the chunk"
	case major == 1 && minor == 1:
		p.Unregister = true
		p.Note = "no scale-down doc exists for IOMesh 1.1: the 1.0.x procedure is followed (unregister each chunk first)"
	default:
		p.Unregister = true
		p.Note = "IOMesh 1.0.x procedure: unregister each chunk on the meta leader, then lower the count"
	}
	return p
}

// PodRemoval is one chunk pod a scale-in removes and the chunk it serves.
type PodRemoval struct {
	Ordinal int    `json:"ordinal"`
	Pod     string `json:"pod"`
	Node    string `json:"node,omitempty"`
	// Chunk is the chunk the pod serves (nil: none is registered for it, or it is not known).
	Chunk *RegisteredChunk `json:"chunk,omitempty"`
	// By says how the chunk was matched: MatchNodename, MatchAddress, MatchInPod, ByName
	// (--chunk-id, not confirmed) or ByLease (recorded by an earlier run).
	By string `json:"matchedBy,omitempty"`
	// Left says the chunk, recorded on the scale-in Lease by an earlier run, has already left
	// IOMesh: only the count is still to lower.
	Left bool `json:"left,omitempty"`
	// Unregistered says no chunk is registered for the pod: every chunk IOMesh lists belongs to
	// another pod.
	Unregistered bool `json:"unregistered,omitempty"`
	// Problem says why the chunk is not known for certain ("" when it is).
	Problem string `json:"problem,omitempty"`
	// Unconfirmed says why a chunk named with --chunk-id could not be confirmed in the pod
	// (no chunk pod lists its IP): a person may accept it, --yes may not.
	Unconfirmed string `json:"unconfirmed,omitempty"`
}

// How a chunk was matched beyond the view's own matching.
const (
	ByName    = "--chunk-id"
	ByLease   = "the scale-in Lease (an earlier run)"
	ByNoChunk = "--no-chunk"
)

// Claims are what the user and earlier runs say of the removed pods' chunks.
type Claims struct {
	// IDs are the chunks the user named (--chunk-id), one per pod removed, highest ordinal
	// first.
	IDs []int64
	// Recorded is the chunk an earlier run recorded on the scale-in Lease for a pod before it
	// unregistered it; that chunk may have left already.
	Recorded map[string]int64
	// LocalErr says why the chunk pods' own addresses could not be read ("" when they were, or
	// were not needed).
	LocalErr string
	// NoChunk are the pods a person stated hold no chunk (--no-chunk), having checked by hand.
	NoChunk map[string]bool
}

// CheckIDs refuses ids that cannot name the pods removed: duplicates, or not one per pod.
func CheckIDs(ids []int64, pods int) error {
	seen := map[int64]bool{}
	for _, id := range ids {
		if seen[id] {
			return fmt.Errorf("--chunk-id %d is given twice: each removed pod serves its own chunk", id)
		}
		seen[id] = true
	}
	if len(ids) > 0 && len(ids) != pods {
		return fmt.Errorf("%d --chunk-id values for %d chunk pods removed: give exactly one per pod, highest ordinal first", len(ids), pods)
	}
	return nil
}

// Removals maps the chunk pods with ordinals in [to, from) to their chunks, highest ordinal
// first. A chunk belongs to a pod when matched to it (nodename, an address of its node, or an
// address inside the pod: see Match and MatchInPods). A chunk the user named must be listed
// (or recorded on the Lease for that pod) and must not be another pod's. A pod is unregistered
// only when every chunk IOMesh lists is matched to another pod: a chunk that matches no pod
// might be this one's.
func (v View) Removals(release string, chunkPods []corev1.Pod, from, to int, cl Claims) ([]PodRemoval, error) {
	if err := CheckIDs(cl.IDs, from-to); err != nil {
		return nil, err
	}
	for pod := range cl.NoChunk {
		if o := ordinalOf(pod); o < to || o >= from || pod != fmt.Sprintf("%s-chunk-%d", release, o) {
			return nil, fmt.Errorf("--no-chunk %s names no pod this scale-in removes (%s-chunk-%d to %s-chunk-%d)", pod, release, to, release, from-1)
		}
	}
	byName := map[string]corev1.Pod{}
	podOn := map[string]string{} // node -> pod
	for _, p := range chunkPods {
		byName[p.Name] = p
		if p.Spec.NodeName != "" {
			podOn[p.Spec.NodeName] = p.Name
		}
	}
	owner := make([]string, len(v.Chunks)) // chunk index -> pod
	for i, c := range v.Chunks {
		owner[i] = c.MatchedPod
		if owner[i] == "" && c.MatchedNode != "" {
			owner[i] = podOn[c.MatchedNode]
		}
	}
	unmatched := 0
	for _, o := range owner {
		if o == "" {
			unmatched++
		}
	}
	var out []PodRemoval
	for ord := from - 1; ord >= to; ord-- {
		r := PodRemoval{Ordinal: ord, Pod: fmt.Sprintf("%s-chunk-%d", release, ord)}
		if p, ok := byName[r.Pod]; ok {
			r.Node = p.Spec.NodeName
		}
		var mine []int
		for i := range v.Chunks {
			if owner[i] == r.Pod {
				mine = append(mine, i)
			}
		}
		recorded := cl.Recorded[r.Pod]
		pod, exists := byName[r.Pod]
		ran := exists && pod.Spec.NodeName != ""
		switch {
		case cl.NoChunk[r.Pod] && (len(mine) > 0 || from-1-ord < len(cl.IDs) || recorded != 0):
			r.Problem = fmt.Sprintf("--no-chunk %s, but %s", r.Pod, v.claimOf(r.Pod, mine, recorded))
		case !v.Summary:
			r.Problem = "IOMesh reports no chunkSummary"
		case v.Uncertain != "":
			r.Problem = v.Uncertain
		case from-1-ord < len(cl.IDs):
			v.named(&r, cl.IDs[from-1-ord], recorded, owner, mine, cl.LocalErr)
		case recorded != 0:
			v.named(&r, recorded, recorded, owner, mine, cl.LocalErr)
			if r.Problem == "" && r.By == ByName {
				r.By, r.Unconfirmed = ByLease, ""
			}
			if r.Problem == "" && r.Left && unmatched > 0 {
				// Its recorded chunk left; one that matches no pod may have registered on it since.
				r.Problem = fmt.Sprintf("chunk %d, recorded for %s, has left, but %s no pod and may be a chunk registered on it since", recorded, r.Pod, unmatchedText(unmatched))
				if cl.LocalErr != "" {
					r.Problem += "; " + cl.LocalErr
				}
				r.Chunk, r.Left = nil, false
			}
		case len(mine) > 1:
			r.Problem = fmt.Sprintf("%d chunks match node %s", len(mine), r.Node)
		case len(mine) == 1:
			c := v.Chunks[mine[0]]
			r.Chunk, r.By = &c, c.MatchedBy
		case unmatched > 0:
			r.Problem = fmt.Sprintf("no chunk matches node %s by nodename or address, and %s no pod", orNone(r.Node), unmatchedText(unmatched))
			if cl.LocalErr != "" {
				r.Problem += "; " + cl.LocalErr
			}
		case cl.NoChunk[r.Pod]:
			r.Unregistered, r.By = true, ByNoChunk
		default:
			// Absence proves nothing: the status can leave a chunk out, and a pod that is
			// missing or not scheduled now may have run, and registered, before.
			where := "on " + r.Node
			if !ran {
				where = "(not scheduled now; an earlier instance may have registered one)"
			}
			r.Problem = fmt.Sprintf("IOMesh lists no chunk for %s %s, but a list can leave a chunk out, so that it holds none is not known. Check with `iomeshctl chunk list` on the meta leader; if it holds none, say so with --no-chunk %s, or name its chunk with --chunk-id", r.Pod, where, r.Pod)
		}
		out = append(out, r)
	}
	return out, nil
}

// claimOf says what else claims pod's chunk, for a --no-chunk that contradicts it.
func (v View) claimOf(pod string, mine []int, recorded int64) string {
	switch {
	case len(mine) > 0:
		c := v.Chunks[mine[0]]
		return fmt.Sprintf("IOMesh lists chunk %d (ip %s) on it, by %s", c.ID, c.IP, c.MatchedBy)
	case recorded != 0:
		return fmt.Sprintf("an earlier run recorded unregistering chunk %d for it", recorded)
	}
	return "--chunk-id names a chunk for it"
}

// ordinalOf is the ordinal of a StatefulSet pod's name (-1 when it has none).
func ordinalOf(name string) int {
	i := strings.LastIndex(name, "-")
	n, err := strconv.Atoi(name[i+1:])
	if i < 0 || err != nil {
		return -1
	}
	return n
}

// named checks the claim that r's pod serves chunk id.
func (v View) named(r *PodRemoval, id, recorded int64, owner []string, mine []int, localErr string) {
	idx := -1
	for i := range v.Chunks {
		if v.Chunks[i].ID == id {
			idx = i
		}
	}
	if idx < 0 {
		if len(mine) > 0 {
			m := v.Chunks[mine[0]]
			r.Problem = fmt.Sprintf("IOMesh lists no chunk %d, and %s now serves chunk %d (ip %s, by %s)", id, r.Pod, m.ID, m.IP, m.MatchedBy)
			return
		}
		if recorded == id {
			r.Chunk, r.By, r.Left = &RegisteredChunk{ID: id}, ByLease, true
			return
		}
		r.Problem = fmt.Sprintf("IOMesh lists no chunk %d", id)
		return
	}
	c := v.Chunks[idx]
	r.Chunk = &c
	switch o := owner[idx]; {
	case o != "" && o != r.Pod:
		r.Problem = fmt.Sprintf("chunk %d (ip %s) is %s's, matched by %s on node %s", id, c.IP, o, c.MatchedBy, orNone(c.MatchedNode))
	case o == r.Pod:
		r.By = c.MatchedBy
	case len(mine) > 0:
		m := v.Chunks[mine[0]]
		r.Problem = fmt.Sprintf("%s serves chunk %d (ip %s, by %s), not chunk %d", r.Pod, m.ID, m.IP, m.MatchedBy, id)
	case localErr != "":
		r.Problem = fmt.Sprintf("chunk %d (ip %s) cannot be confirmed in %s: %s", id, c.IP, r.Pod, localErr)
	default:
		r.By = ByName
		r.Unconfirmed = fmt.Sprintf("no chunk pod lists chunk %d's ip %s among its own addresses, so that it serves %s on %s cannot be confirmed", id, c.Addr(), r.Pod, orNone(r.Node))
	}
}

// Listing is the chunk pods, their nodes and the chunks IOMesh lists, for a person correcting
// --chunk-id.
func (v View) Listing(chunkPods []corev1.Pod) string {
	var b strings.Builder
	b.WriteString("chunk pods:")
	pods := append([]corev1.Pod(nil), chunkPods...)
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	for _, p := range pods {
		fmt.Fprintf(&b, " %s on %s;", p.Name, orNone(p.Spec.NodeName))
	}
	b.WriteString(" IOMesh lists:")
	if len(v.Chunks) == 0 {
		b.WriteString(" no chunk")
	}
	for _, c := range v.Chunks {
		fmt.Fprintf(&b, " chunk %d ip %s", c.ID, orText(c.IP, "?"))
		if c.MatchedNode != "" {
			fmt.Fprintf(&b, " (node %s, by %s)", c.MatchedNode, c.MatchedBy)
		}
		b.WriteString(";")
	}
	return strings.TrimSuffix(b.String(), ";")
}

func orNone(s string) string {
	if s == "" {
		return "(none: the pod is not scheduled)"
	}
	return s
}

func unmatchedText(n int) string {
	if n == 1 {
		return "1 chunk IOMesh lists matches"
	}
	return fmt.Sprintf("%d chunks IOMesh lists match", n)
}

// Listed reports whether IOMesh still lists the chunk id.
func (v View) Listed(id int64) (RegisteredChunk, bool) {
	for _, c := range v.Chunks {
		if c.ID == id {
			return c, true
		}
	}
	return RegisteredChunk{}, false
}

// Bytes reads a capacity as IOMesh writes it ("1.38Ti", "20.00Gi", "0B", "512").
func Bytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(t, "B")
	if t == "" || t == "0" {
		if strings.TrimSpace(s) == "" {
			return 0, fmt.Errorf("no capacity given")
		}
		return 0, nil
	}
	q, err := resource.ParseQuantity(t)
	if err != nil {
		return 0, fmt.Errorf("capacity %q: %w", s, err)
	}
	return q.Value(), nil
}

// Room is the data the cluster holds beside the data capacity left after a scale-in.
type Room struct {
	Used      int64 `json:"usedBytes"`
	Remaining int64 `json:"remainingCapacityBytes"`
	Leaving   int64 `json:"leavingCapacityBytes"`
}

// Percent is the used data as a share of what remains.
func (r Room) Percent() float64 {
	if r.Remaining <= 0 {
		return 100 * float64(r.Used+1)
	}
	return 100 * float64(r.Used) / float64(r.Remaining)
}

// RoomAfter works out whether the data fits in the chunks that remain: the cluster's used data
// against the total data capacity of every chunk not removed.
func (v View) RoomAfter(removals []PodRemoval) (Room, error) {
	var r Room
	if v.Capacity == nil || v.Capacity.UsedData == "" {
		return r, fmt.Errorf("clusterSummary.spaceInfo.usedDataSpace is %s", NotReported)
	}
	var err error
	if r.Used, err = Bytes(v.Capacity.UsedData); err != nil {
		return r, err
	}
	leaving := map[int64]bool{}
	for _, rm := range removals {
		if rm.Chunk != nil {
			leaving[rm.Chunk.ID] = true
		}
	}
	for _, c := range v.Chunks {
		if c.Space == nil || c.Space.TotalData == "" {
			return r, fmt.Errorf("chunk %d reports no totalDataCapacity", c.ID)
		}
		b, err := Bytes(c.Space.TotalData)
		if err != nil {
			return r, fmt.Errorf("chunk %d: %w", c.ID, err)
		}
		if leaving[c.ID] {
			r.Leaving += b
		} else {
			r.Remaining += b
		}
	}
	return r, nil
}

// Migration is what `iomeshctl summary cluster` says of recovery and migration: every line
// whose key names recovers or migrates, at every nesting depth.
type Migration struct {
	Values []Counter `json:"values"`
}

// Counter is one such line.
type Counter struct {
	Key   string `json:"key"`
	Depth int    `json:"depth"`
	Value int64  `json:"value"`
}

func (c Counter) String() string {
	return fmt.Sprintf("%s%s: %d", strings.Repeat("  ", c.Depth), c.Key, c.Value)
}

// Join lists counters on one line ("num_ongoing_migrates: 1, pending_migrates_bytes: 42").
func Join(cs []Counter) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = strings.TrimSpace(c.String())
	}
	return strings.Join(out, ", ")
}

// Pending is the cluster's pending_migrates_bytes (the shallowest such line).
func (m Migration) Pending() (int64, bool) {
	best := -1
	var v int64
	for _, c := range m.Values {
		if c.Key == "pending_migrates_bytes" && (best < 0 || c.Depth < best) {
			best, v = c.Depth, c.Value
		}
	}
	return v, best >= 0
}

// Busy are the non-zero counters.
func (m Migration) Busy() []Counter {
	var out []Counter
	for _, c := range m.Values {
		if c.Value != 0 {
			out = append(out, c)
		}
	}
	return out
}

var counterRE = regexp.MustCompile(`^(\s*)(?:-\s*)?([A-Za-z_]*(?:recover|migrate)[A-Za-z_]*)\s*:\s*(.*?)\s*$`)

// ParseMigration reads the output of `/opt/iomesh/iomeshctl summary cluster`. The documented
// lines are num_ongoing_recovers, num_pending_recovers, num_ongoing_migrates,
// num_pending_migrates and the indented pending_*_bytes, repeated at several depths. Output
// without them, or with a value that is not a number, is not the documented shape.
func ParseMigration(out string) (Migration, error) {
	var m Migration
	seen := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		g := counterRE.FindStringSubmatch(line)
		if g == nil {
			continue
		}
		n, err := strconv.ParseInt(g[3], 10, 64)
		if err != nil {
			return Migration{}, fmt.Errorf("%q: the value is not a number", strings.TrimSpace(line))
		}
		m.Values = append(m.Values, Counter{Key: g[2], Depth: len(strings.ReplaceAll(g[1], "\t", "  ")) / 2, Value: n})
		seen[g[2]] = true
	}
	for _, k := range []string{"num_ongoing_recovers", "num_ongoing_migrates"} {
		if !seen[k] {
			return Migration{}, fmt.Errorf("no %s line: this is not the documented output of `iomeshctl summary cluster`", k)
		}
	}
	return m, nil
}
