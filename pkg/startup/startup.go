// Package startup tunes the Go runtime for a command that lives a fraction of a second. It has no
// imports beyond the runtime's own, so it is initialised before the Helm SDK and client-go
// packages, whose initialisation allocates most of what start-up costs.
package startup

import (
	"os"
	"runtime/debug"
)

// GCPercent and MemoryLimit apply unless GOGC or GOMEMLIMIT say otherwise. A short command keeps
// most of what it allocates until it exits, so collecting when the heap has grown 4x instead of
// 2x is mostly time saved; the limit keeps a large read (thousands of pods or disks) from growing
// the heap past it before the collector runs.
const (
	GCPercent   = 400
	MemoryLimit = 64 << 20
)

func init() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(MemoryLimit)
	}
}
