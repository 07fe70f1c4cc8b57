package startup

import (
	"os"
	"runtime/debug"
	"testing"
)

// The settings are in force once the package is initialised, unless the environment set them.
func TestSettingsApplied(t *testing.T) {
	if os.Getenv("GOGC") == "" {
		if got := debug.SetGCPercent(GCPercent); got != GCPercent {
			t.Fatalf("GC percent %d, want %d", got, GCPercent)
		}
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		if got := debug.SetMemoryLimit(-1); got != MemoryLimit {
			t.Fatalf("memory limit %d, want %d", got, MemoryLimit)
		}
	}
}
