package startup

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

// While the packages initialise the GC percent is InitGCPercent, and Go's default after Done,
// unless GOGC set it; the memory limit stays Go's own (none) unless GOMEMLIMIT set one.
func TestSettingsApplied(t *testing.T) {
	if os.Getenv("GOGC") != "" {
		t.Skip("GOGC is set: the runtime follows it")
	}
	if got := debug.SetGCPercent(InitGCPercent); got != InitGCPercent {
		t.Fatalf("GC percent during start-up %d, want %d", got, InitGCPercent)
	}
	Done()
	if got := debug.SetGCPercent(DefaultGCPercent); got != DefaultGCPercent {
		t.Fatalf("GC percent after Done %d, want %d", got, DefaultGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
			t.Fatalf("memory limit %d, want none", got)
		}
	}
}
