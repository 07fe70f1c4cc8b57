package iomeshcluster

import (
	"fmt"
	"regexp"
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

// Removal is one chunk pod a scale-in removes and the chunk it serves.
type Removal struct {
	Ordinal int    `json:"ordinal"`
	Pod     string `json:"pod"`
	Node    string `json:"node,omitempty"`
	// Chunk is the chunk the pod serves (nil: none is registered for it, or it is not known).
	Chunk *RegisteredChunk `json:"chunk,omitempty"`
	// By says how the chunk was matched: "nodename", "ip", "--chunk-id".
	By string `json:"matchedBy,omitempty"`
	// Unregistered says no chunk is registered for the pod: every chunk IOMesh lists belongs to
	// another pod.
	Unregistered bool `json:"unregistered,omitempty"`
	// Problem says why the chunk is not known for certain ("" when it is).
	Problem string `json:"problem,omitempty"`
}

// Removals maps the chunk pods with ordinals in [to, from) to their chunks, highest ordinal
// first. A chunk matches the pod on its node (nodename, else its IP among the node's and the
// pods' addresses, see Match). ids are chunk IDs the user named, in the same order. A pod is
// unregistered only when every chunk IOMesh lists is matched to another pod: a chunk that
// matches no pod might be this one's.
func (v View) Removals(release string, chunkPods []corev1.Pod, from, to int, ids []int64) []Removal {
	byName := map[string]corev1.Pod{}
	for _, p := range chunkPods {
		byName[p.Name] = p
	}
	nodeOf := map[string]string{} // node -> pod
	for _, p := range chunkPods {
		if p.Spec.NodeName != "" {
			nodeOf[p.Spec.NodeName] = p.Name
		}
	}
	owner := make([]string, len(v.Chunks)) // chunk index -> pod
	unmatched := 0
	for i, c := range v.Chunks {
		if c.MatchedNode == "" || nodeOf[c.MatchedNode] == "" {
			unmatched++
			continue
		}
		owner[i] = nodeOf[c.MatchedNode]
	}
	var out []Removal
	for ord := from - 1; ord >= to; ord-- {
		r := Removal{Ordinal: ord, Pod: fmt.Sprintf("%s-chunk-%d", release, ord)}
		p, ok := byName[r.Pod]
		if ok {
			r.Node = p.Spec.NodeName
		}
		if n := from - 1 - ord; n < len(ids) {
			r.By = "--chunk-id"
			r.Problem = fmt.Sprintf("IOMesh lists no chunk %d", ids[n])
			for i := range v.Chunks {
				if v.Chunks[i].ID != ids[n] {
					continue
				}
				c := v.Chunks[i]
				r.Chunk, r.Problem = &c, ""
				if owner[i] != "" && owner[i] != r.Pod {
					r.Problem = fmt.Sprintf("chunk %d is on node %s, which runs %s", c.ID, c.MatchedNode, owner[i])
				}
			}
			out = append(out, r)
			continue
		}
		var mine []int
		for i := range v.Chunks {
			if owner[i] == r.Pod && r.Pod != "" {
				mine = append(mine, i)
			}
		}
		switch {
		case !v.Summary:
			r.Problem = "IOMesh reports no chunkSummary"
		case len(mine) > 1:
			r.Problem = fmt.Sprintf("%d chunks match node %s", len(mine), r.Node)
		case len(mine) == 1:
			c := v.Chunks[mine[0]]
			r.Chunk = &c
			r.By = "ip"
			if c.Node != "" {
				r.By = "nodename"
			}
		case unmatched > 0:
			r.Problem = fmt.Sprintf("no chunk matches node %s by nodename or IP, and %s no pod", orNone(r.Node), unmatchedText(unmatched))
		default:
			r.Unregistered = true
		}
		out = append(out, r)
	}
	return out
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
func (v View) RoomAfter(removals []Removal) (Room, error) {
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
