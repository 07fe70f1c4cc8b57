package scale

import (
	"testing"
	"time"
)

func TestPaceBacksOffOnFailures(t *testing.T) {
	p := pace{poll: 2 * time.Second}
	want := []struct {
		failed bool
		wait   time.Duration
	}{
		{false, 2 * time.Second},
		{true, 4 * time.Second},
		{true, 8 * time.Second},
		{true, 16 * time.Second},
		{true, 16 * time.Second}, // at most maxBackoff polls
		{false, 2 * time.Second}, // an answer: the poll interval again
		{true, 4 * time.Second},
	}
	for i, w := range want {
		if got := p.next(w.failed); got != w.wait {
			t.Fatalf("read %d (failed %v): wait %v, want %v", i, w.failed, got, w.wait)
		}
	}
}
