// Package values reads and changes the IOMesh chart's values: where the replica counts live
// (nested under `iomesh.` since chart v0.11, top level before), the edition, and numbers as any
// decoder hands them over. It imports no other package of this module (depguard).
package values

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// Layout names where a chart keeps its chunk and meta settings.
type Layout string

const (
	// Nested is chart v0.11 and later: iomesh.chunk, iomesh.meta.
	Nested Layout = "nested"
	// Legacy is chart v0.9.5 to v0.10.x: chunk and meta at the top level.
	Legacy Layout = "legacy"
)

// Prefix is the path prefix of the chunk and meta settings in this layout.
func (l Layout) Prefix() string {
	if l == Legacy {
		return ""
	}
	return "iomesh."
}

// ChunkReplicasPath is the dotted path of the chunk replica count.
func (l Layout) ChunkReplicasPath() string { return l.Prefix() + "chunk.replicaCount" }

// MetaReplicasPath is the dotted path of the meta replica count.
func (l Layout) MetaReplicasPath() string { return l.Prefix() + "meta.replicaCount" }

// Map is a decoded values tree.
type Map = map[string]interface{}

// Lookup returns the value at a dotted path and whether every step existed.
func Lookup(vals Map, path string) (interface{}, bool) {
	var cur interface{} = vals
	for _, key := range strings.Split(path, ".") {
		m, ok := asMap(cur)
		if !ok {
			return nil, false
		}
		cur, ok = m[key]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

func asMap(v interface{}) (Map, bool) {
	switch m := v.(type) {
	case map[string]interface{}:
		return m, true
	default:
		return nil, false
	}
}

// DetectLayout tells from a values tree (best: the effective values, chart defaults included)
// which layout the chart uses.
func DetectLayout(vals Map) (Layout, error) {
	if io, ok := asMap(vals["iomesh"]); ok {
		if _, c := io["chunk"]; c {
			return Nested, nil
		}
		if _, m := io["meta"]; m {
			return Nested, nil
		}
	}
	_, c := asMap(vals["chunk"])
	_, m := asMap(vals["meta"])
	if c || m {
		return Legacy, nil
	}
	return "", fmt.Errorf("the values have neither iomesh.chunk/iomesh.meta nor top-level chunk/meta: this does not look like an IOMesh release")
}

// Int converts a decoded number to an int. Helm decodes release values from JSON, so counts
// arrive as float64; values built in Go may hold int or int64. Strings are refused: the chart
// expects a number, and a quoted count is a mistake worth fixing rather than guessing at.
func Int(v interface{}) (int, error) {
	switch n := v.(type) {
	case int:
		return n, nil
	case int8:
		return int(n), nil
	case int16:
		return int(n), nil
	case int32:
		return int(n), nil
	case int64:
		return int64ToInt(n)
	case uint:
		return uint64ToInt(uint64(n))
	case uint8:
		return int(n), nil
	case uint16:
		return int(n), nil
	case uint32:
		return uint64ToInt(uint64(n))
	case uint64:
		return uint64ToInt(n)
	case float32:
		return floatToInt(float64(n))
	case float64:
		return floatToInt(n)
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return int64ToInt(i)
		}
		f, err := n.Float64()
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", n.String())
		}
		return floatToInt(f)
	case string:
		return 0, fmt.Errorf("is the string %q, not a number", n)
	case nil:
		return 0, fmt.Errorf("is empty (null)")
	default:
		return 0, fmt.Errorf("is a %T, not a number", v)
	}
}

func int64ToInt(i int64) (int, error) {
	if i > math.MaxInt32 || i < math.MinInt32 {
		return 0, fmt.Errorf("%d is out of range", i)
	}
	return int(i), nil
}

func uint64ToInt(u uint64) (int, error) {
	if u > math.MaxInt32 {
		return 0, fmt.Errorf("%d is out of range", u)
	}
	return int(u), nil
}

func floatToInt(f float64) (int, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) {
		return 0, fmt.Errorf("%v is not a whole number", f)
	}
	if f > math.MaxInt32 || f < math.MinInt32 {
		return 0, fmt.Errorf("%v is out of range", f)
	}
	return int(f), nil
}

// Replicas are the chunk and meta counts a release asks for.
type Replicas struct {
	Layout Layout
	Chunk  int
	Meta   int
}

// Change is a target against the current counts: From is now, To after (the current count
// where the target leaves a component alone).
type Change struct{ FromChunk, ToChunk, FromMeta, ToMeta int }

// To is the change that takes r to chunk and meta (nil: unchanged).
func (r Replicas) To(chunk, meta *int) Change {
	c := Change{FromChunk: r.Chunk, ToChunk: r.Chunk, FromMeta: r.Meta, ToMeta: r.Meta}
	if chunk != nil {
		c.ToChunk = *chunk
	}
	if meta != nil {
		c.ToMeta = *meta
	}
	return c
}

// Removes reports whether the change lowers a count.
func (c Change) Removes() bool { return c.ToChunk < c.FromChunk || c.ToMeta < c.FromMeta }

// Removes reports whether taking r to chunk and meta lowers a count.
func (r Replicas) Removes(chunk, meta *int) bool { return r.To(chunk, meta).Removes() }

// ChunkTo is the new chunk count, nil when it does not change.
func (c Change) ChunkTo() *int {
	if c.ToChunk == c.FromChunk {
		return nil
	}
	n := c.ToChunk
	return &n
}

// MetaTo is the new meta count, nil when it does not change.
func (c Change) MetaTo() *int {
	if c.ToMeta == c.FromMeta {
		return nil
	}
	n := c.ToMeta
	return &n
}

// None reports a change that changes nothing.
func (c Change) None() bool { return c.ChunkTo() == nil && c.MetaTo() == nil }

// ReadReplicas reads both counts from the effective values.
func ReadReplicas(effective Map) (Replicas, error) {
	layout, err := DetectLayout(effective)
	if err != nil {
		return Replicas{}, err
	}
	r := Replicas{Layout: layout}
	if r.Chunk, err = readCount(effective, layout.ChunkReplicasPath()); err != nil {
		return r, err
	}
	if r.Meta, err = readCount(effective, layout.MetaReplicasPath()); err != nil {
		return r, err
	}
	return r, nil
}

func readCount(vals Map, path string) (int, error) {
	v, ok := Lookup(vals, path)
	if !ok {
		return 0, fmt.Errorf("%s is not set in the release values", path)
	}
	n, err := Int(v)
	if err != nil {
		return 0, fmt.Errorf("%s %w", path, err)
	}
	return n, nil
}

// Edition returns iomesh.edition as written in the values, lower-cased and trimmed, or "".
func Edition(vals Map) string {
	v, ok := Lookup(vals, "iomesh.edition")
	if !ok {
		return ""
	}
	s, _ := v.(string)
	return strings.ToLower(strings.TrimSpace(s))
}

// DeepCopy copies a values tree, including nested maps and lists.
func DeepCopy(vals Map) Map {
	if vals == nil {
		return Map{}
	}
	out := make(Map, len(vals))
	for k, v := range vals {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		return DeepCopy(t)
	case []interface{}:
		c := make([]interface{}, len(t))
		for i := range t {
			c[i] = copyValue(t[i])
		}
		return c
	default:
		return t
	}
}

// Set writes v at a dotted path in vals, creating maps on the way. It refuses to replace a
// non-map value on the way, which would drop a user's setting.
func Set(vals Map, path string, v interface{}) error {
	keys := strings.Split(path, ".")
	cur := vals
	for i, key := range keys[:len(keys)-1] {
		next, exists := cur[key]
		if !exists || next == nil {
			m := Map{}
			cur[key] = m
			cur = m
			continue
		}
		m, ok := asMap(next)
		if !ok {
			return fmt.Errorf("cannot set %s: %s is a %T, not a map", path, strings.Join(keys[:i+1], "."), next)
		}
		cur = m
	}
	cur[keys[len(keys)-1]] = v
	return nil
}

// WithReplicas returns a deep copy of the user-supplied values with only the replica counts
// changed. A nil count leaves that count as it is (not even written when unset).
func WithReplicas(user Map, layout Layout, chunk, meta *int) (Map, error) {
	out := DeepCopy(user)
	if chunk != nil {
		if err := Set(out, layout.ChunkReplicasPath(), *chunk); err != nil {
			return nil, err
		}
	}
	if meta != nil {
		if err := Set(out, layout.MetaReplicasPath(), *meta); err != nil {
			return nil, err
		}
	}
	return out, nil
}
