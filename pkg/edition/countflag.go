// Pod counts as people type them on the command line, and the --chunk/--meta flag value.

package edition

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseCount reads a pod count as people type it: a positive whole number in decimal.
func ParseCount(s string) (int, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("is empty: give a whole number such as 5")
	}
	if t[0] == '-' {
		return 0, fmt.Errorf("%s is negative: give the total number of pods you want", t)
	}
	for _, r := range t {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%s is not a whole number: give the total number of pods you want, such as 5", t)
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n > math.MaxInt32 {
		return 0, fmt.Errorf("%s is out of range: IOMesh allows at most %d chunk pods", t, ChunkMax)
	}
	return int(n), nil
}

// CountValue is a pflag.CountValue for --chunk and --meta: it stores the count and that it was given.
type CountValue struct {
	n   *int
	set *bool
}

// NewCountValue binds a count flag to n, recording in set whether it was given.
func NewCountValue(n *int, set *bool) CountValue { return CountValue{n: n, set: set} }

func (c CountValue) String() string {
	if c.n == nil || c.set == nil || !*c.set {
		return ""
	}
	return strconv.Itoa(*c.n)
}

func (c CountValue) Set(s string) error {
	n, err := ParseCount(s)
	if err != nil {
		return err
	}
	*c.n, *c.set = n, true
	return nil
}

func (c CountValue) Type() string { return "int" }
