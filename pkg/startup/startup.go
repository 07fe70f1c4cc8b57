// Package startup tunes the Go runtime for a command that lives a fraction of a second. It has no
// imports beyond the runtime's own, so it is initialised before the Helm SDK and client-go
// packages, whose initialisation allocates most of what start-up costs.
package startup

import (
	"os"
	"runtime/debug"
)

// InitGCPercent applies while the packages initialise, unless GOGC says otherwise: what they
// allocate lives until the command exits, so a collection then is time lost. Done returns to
// Go's default for the command itself, whose large reads (thousands of pods or disks) are
// garbage once decoded. The figures for both are in docs/benchmarks.md.
const InitGCPercent = 400

// DefaultGCPercent is Go's own.
const DefaultGCPercent = 100

func init() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(InitGCPercent)
	}
}

// Done ends start-up: the GC percent returns to Go's default, unless GOGC set one.
func Done() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(DefaultGCPercent)
	}
}
