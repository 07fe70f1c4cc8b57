package scale

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/render"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/scaleplan"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// Renders are the manifests the guard compares.
type Renders struct {
	Deployed string // the manifest stored in the deployed release
	Current  string // the chart rendered now with the current values
	Again    string // the same, a second time (to learn which fields are random)
	New      string // the chart rendered with the new values
}

// Check compares the renders.
func Check(r Renders, c values.Change) (scaleplan.Guard, error) {
	parse := func(what, m string) (render.Objects, error) {
		objs, err := render.Parse(m)
		if err != nil {
			return nil, fmt.Errorf("%s manifest: %w", what, err)
		}
		return objs, nil
	}
	deployed, err := parse("deployed", r.Deployed)
	if err != nil {
		return scaleplan.Guard{}, err
	}
	cur, err := parse("current", r.Current)
	if err != nil {
		return scaleplan.Guard{}, err
	}
	again, err := parse("current", r.Again)
	if err != nil {
		return scaleplan.Guard{}, err
	}
	next, err := parse("new", r.New)
	if err != nil {
		return scaleplan.Guard{}, err
	}
	volatile := render.VolatileBetween(cur, again)
	// Labels Flux's post-renderer put on the deployed objects are not the chart's: they are kept
	// as deployed rather than seen as removed.
	for k, obj := range deployed {
		for p := range render.Flatten(obj) {
			if strings.HasPrefix(p, "metadata.labels.helm.toolkit.fluxcd.io/") || strings.HasPrefix(p, "metadata.labels.kustomize.toolkit.fluxcd.io/") {
				if volatile[k] == nil {
					volatile[k] = map[string]bool{}
				}
				volatile[k][p] = true
			}
		}
	}
	g := scaleplan.Guard{Objects: len(next)}
	g.Pins, g.Fresh = pins(deployed, cur, next, volatile, c)
	for _, line := range g.Pins.Keys() {
		g.Pinned = append(g.Pinned, scaleplan.PinnedObject{Object: line, Fields: g.Pins.Paths(line)})
	}

	drift := render.Compare(deployed, cur, volatile)
	var removed []string
	for _, k := range drift.Removed {
		if render.Kept(deployed[k]) {
			g.Kept = append(g.Kept, k)
		} else {
			removed = append(removed, k)
		}
	}
	drift.Removed = removed
	g.Drift = drift

	scale := render.Compare(cur, next, volatile)
	g.Unexplained.Added, g.Unexplained.Removed = scale.Added, scale.Removed
	for _, ch := range scale.Changed {
		g.Scale = append(g.Scale, ch)
		if !explained(ch, c) {
			g.Unexplained.Changed = append(g.Unexplained.Changed, ch)
		}
	}
	return g, nil
}

// pins are the random fields to keep at their deployed values: fields that differ between two
// renders of the same values, where the deployed object has them, except fields the new counts
// change. Random fields of objects the deployed release lacks are returned as fresh.
func pins(deployed, cur, next render.Objects, volatile render.Volatile, c values.Change) (render.Fields, []string) {
	byCounts := map[string]bool{}
	for _, ch := range render.Compare(cur, next, nil).Changed {
		if explained(ch, c) {
			byCounts[ch.Object+" "+ch.Path] = true
		}
	}
	out := render.Fields{}
	var fresh []string
	for obj, paths := range volatile {
		dep, ok := deployed[obj]
		if !ok {
			for p := range paths {
				fresh = append(fresh, obj+" "+p)
			}
			continue
		}
		has := render.Flatten(dep)
		for p := range paths {
			if _, ok := has[p]; !ok || byCounts[obj+" "+p] {
				continue
			}
			if out[obj] == nil {
				out[obj] = map[string]bool{}
			}
			out[obj][p] = true
		}
	}
	sort.Strings(fresh)
	return out, fresh
}

// explained: a field whose value moves from the old count to the new one follows from it.
func explained(ch render.Change, c values.Change) bool {
	old, err1 := number(ch.Old)
	nu, err2 := number(ch.New)
	if err1 != nil || err2 != nil {
		return false
	}
	return (c.FromChunk != c.ToChunk && old == c.FromChunk && nu == c.ToChunk) ||
		(c.FromMeta != c.ToMeta && old == c.FromMeta && nu == c.ToMeta)
}

func number(s string) (int, error) {
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	return strconv.Atoi(s)
}
