// Package drain is the stand-in IOMesh's record of chunks being unregistered, shared by the
// stand-in iomeshctl (which starts a drain) and the stand-in operator (which moves the data),
// and of the chunks its status leaves out while they stay registered (meta still knows them).
package drain

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Annotation holds the drains on the IOMeshCluster: "<id>@<unix ms>,...".
const Annotation = "standin.iomesh.com/unregister"

// DurationAnnotation sets how long a drain takes, in seconds (default 4).
const DurationAnnotation = "standin.iomesh.com/drain-seconds"

// Entry is one chunk being unregistered since Start.
type Entry struct {
	ID    int64
	Start time.Time
}

// Parse reads the annotation; malformed entries are dropped.
func Parse(s string) []Entry {
	var out []Entry
	for _, part := range strings.Split(s, ",") {
		id, ms, ok := strings.Cut(strings.TrimSpace(part), "@")
		if !ok {
			continue
		}
		n, err1 := strconv.ParseInt(id, 10, 64)
		t, err2 := strconv.ParseInt(ms, 10, 64)
		if err1 == nil && err2 == nil {
			out = append(out, Entry{ID: n, Start: time.UnixMilli(t)})
		}
	}
	return out
}

// Format writes the annotation.
func Format(es []Entry) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = fmt.Sprintf("%d@%d", e.ID, e.Start.UnixMilli())
	}
	return strings.Join(parts, ",")
}

// Duration is how long a drain takes on the cluster with these annotations.
func Duration(ann map[string]string) time.Duration {
	if s, err := strconv.ParseFloat(ann[DurationAnnotation], 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	return 4 * time.Second
}

// Left is the share of the chunk's data still to move at now: 1 at the start, 0 when done.
func (e Entry) Left(now time.Time, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	f := 1 - float64(now.Sub(e.Start))/float64(d)
	if f < 0 {
		return 0
	}
	if f > 1 {
		return 1
	}
	return f
}

// OmitAnnotation lists chunks ("5,6") that chunkSummary leaves out while they stay registered,
// as a lagging or partial status would.
const OmitAnnotation = "standin.iomesh.com/omit-chunks"

// Omitted reads OmitAnnotation.
func Omitted(ann map[string]string) map[int64]bool {
	out := map[int64]bool{}
	for _, f := range strings.Split(ann[OmitAnnotation], ",") {
		if id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64); err == nil {
			out[id] = true
		}
	}
	return out
}
