package preflight

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
)

// CountsCheckID is the check that the places a count lives agree.
const CountsCheckID = "counts.agree"

// Counts are the places one component's count lives, read at one moment: the release values
// the next upgrade starts from (the IOMeshCluster's spec when it is managed directly), the
// IOMeshCluster's spec, the StatefulSet's spec.replicas (-1: not read), and the ordinals of
// the pods that exist. A write that lowers the values removes every pod at or above the new
// count, so the pods it removes are known only when all of them agree.
type Counts struct {
	Release, Component string
	// Values is the count in the values, and ValuesFrom where it was read.
	Values     int
	ValuesFrom string
	Spec, Set  int
	Ordinals   []int
	// Lowering is the lower this tool recorded on the scale-in Lease before writing it
	// (To < 0: none, or not read).
	Lowering inventory.Lowering
}

// Agreement says whether the counts agree; when they do not, whether a lower this tool
// recorded explains it (the values at its count or still at the count it lowers from, as after
// a write that failed once applied; the other places at its count or on their way to it; no pod
// beyond the count it lowers from), and a text naming every number and the pods beyond the
// values' count.
func (c Counts) Agreement() (agree, explained bool, text string) {
	beyond := c.Beyond()
	if c.Spec == c.Values && c.Set == c.Values && len(beyond) == 0 {
		return true, false, fmt.Sprintf("%s %d, IOMeshCluster spec.%s.replicas %d, StatefulSet spec.replicas %d", c.ValuesFrom, c.Values, c.Component, c.Spec, c.Set)
	}
	text = fmt.Sprintf("the %s counts disagree: %s %d, IOMeshCluster spec.%s.replicas %s, StatefulSet spec.replicas %s", c.Component, c.ValuesFrom, c.Values, c.Component, known(c.Spec), known(c.Set))
	if len(beyond) > 0 {
		text += fmt.Sprintf("; pods at or above ordinal %d run: %s", c.Values, strings.Join(beyond, ", "))
	}
	l := c.Lowering
	within := func(n int) bool { return n >= l.To && n <= l.From }
	if l.To >= 0 && l.Component == c.Component && (l.To == c.Values || l.From == c.Values) && within(c.Spec) && within(c.Set) {
		explained = true
		for _, o := range c.Ordinals {
			if o >= l.From {
				explained = false
			}
		}
	}
	return false, explained, text
}

// Live is the most pods any live place asks for or runs: the spec, the StatefulSet, the highest
// ordinal + 1.
func (c Counts) Live() int {
	n := max(c.Spec, c.Set)
	for _, o := range c.Ordinals {
		n = max(n, o+1)
	}
	return n
}

// Beyond are the pods at or above the values' count, by name.
func (c Counts) Beyond() []string {
	var out []string
	ords := append([]int(nil), c.Ordinals...)
	sort.Ints(ords)
	for _, o := range ords {
		if o >= c.Values {
			out = append(out, fmt.Sprintf("%s-%s-%d", c.Release, c.Component, o))
		}
	}
	return out
}

func known(n int) string {
	if n < 0 {
		return "not known"
	}
	return fmt.Sprint(n)
}

// checkCounts compares the release values with the live counts. A scale-in that lowers from
// counts that disagree would remove pods the plan does not name: refused. Otherwise a warning.
func checkCounts(f *Facts) Result {
	if len(f.Counts) == 0 {
		return skip("the live counts were not read (no IOMeshCluster or StatefulSets)")
	}
	var texts []string
	worst, component := Warn, ""
	for _, c := range f.Counts {
		agree, explained, text := c.Agreement()
		if agree {
			continue
		}
		// Whatever a write sets a count to removes every live pod at or above it: the
		// target where given, else the values' count written again.
		written := c.Values
		if t := f.Target.Chunk; c.Component == string(inventory.Chunk) && t != nil {
			written = *t
		}
		if t := f.Target.Meta; c.Component == string(inventory.Meta) && t != nil {
			written = *t
		}
		switch {
		case explained:
			text += fmt.Sprintf(" (explained by this tool's recorded lower, %s: the same command finishes it)", c.Lowering)
		case !f.Target.Empty() && written < c.Live():
			worst = Fail
			text += fmt.Sprintf("; writing %d would remove live pods the plan does not name", written)
		}
		if component == "" {
			component = c.Component
		}
		texts = append(texts, text)
	}
	if len(texts) == 0 {
		var each []string
		for _, c := range f.Counts {
			each = append(each, fmt.Sprintf("%s %d", c.Component, c.Values))
		}
		return pass("%s in the %s, the IOMeshCluster's spec and the StatefulSets; no pod beyond them", strings.Join(each, ", "), f.Counts[0].ValuesFrom)
	}
	hint := fmt.Sprintf("A lower from the values would remove every pod at or above the new count, including ones the values do not count. Bring the three together first: if the extra pods are wanted, `kubectl iomesh scale --%s <the live count>` records them in the release; if a run of this tool was stopped, run its command again; then scale in from there", component)
	return bad(worst, strings.Join(texts, "; "), hint, DocScaleIn)
}
