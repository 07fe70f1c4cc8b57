//go:build !race

package scale

// raceEnabled says the tests run under the race detector.
const raceEnabled = false
