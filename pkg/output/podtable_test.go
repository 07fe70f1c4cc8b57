package output

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
)

func rows(n int) []PodRow {
	out := make([]PodRow, n)
	for i := range out {
		out[i] = PodRowOf(tf.Pod("chunk", i, 3, fmt.Sprintf("node-%d", i), time.Hour, tf.Running), tf.Now)
	}
	return out
}

func TestWriteAligns(t *testing.T) {
	var b strings.Builder
	if err := WritePods(&b, rows(12), true); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 13 {
		t.Fatalf("%d lines", len(lines))
	}
	col := strings.Index(lines[0], "READY")
	for _, l := range lines[1:] {
		if l[col-3:col] != "   " || l[col] == ' ' {
			t.Fatalf("READY column misaligned at %d:\n%s", col, b.String())
		}
	}
}

// BenchmarkWrite255 renders the pod table for 255 chunk pods.
func BenchmarkWrite255(b *testing.B) {
	r := rows(255)
	b.ReportAllocs()
	for b.Loop() {
		if err := WritePods(io.Discard, r, false); err != nil {
			b.Fatal(err)
		}
	}
}
