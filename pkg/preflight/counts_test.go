package preflight

import (
	"strings"
	"testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
)

func counts(values, spec, set int, ords ...int) Counts {
	return Counts{Release: "iomesh", Component: "chunk", Values: values, ValuesFrom: "release values (revision 2)", Spec: spec, Set: set, Ordinals: ords, Lowering: inventory.Lowering{To: -1}}
}

func TestCountsAgreement(t *testing.T) {
	lower := inventory.Lowering{Component: "chunk", From: 5, To: 4, Version: 3}
	with := func(c Counts, l inventory.Lowering) Counts { c.Lowering = l; return c }
	cases := []struct {
		name             string
		c                Counts
		agree, explained bool
		text             string
	}{
		{"all at 5", counts(5, 5, 5, 0, 1, 2, 3, 4), true, false, "release values (revision 2) 5, IOMeshCluster spec.chunk.replicas 5, StatefulSet spec.replicas 5"},
		{"kubectl edit raised the spec", counts(5, 6, 6, 0, 1, 2, 3, 4, 5), false, false, "pods at or above ordinal 5 run: iomesh-chunk-5"},
		{"the StatefulSet not read", counts(5, 5, -1, 0, 1, 2, 3, 4), false, false, "StatefulSet spec.replicas not known"},
		{"a pod beyond, counts equal", counts(5, 5, 5, 0, 1, 2, 3, 4, 6), false, false, "iomesh-chunk-6"},
		{"this tool's lower, not yet taken effect", with(counts(4, 5, 5, 0, 1, 2, 3, 4), lower), false, true, ""},
		{"this tool's lower, applied but its revision failed", with(counts(5, 4, 4, 0, 1, 2, 3), lower), false, true, ""},
		{"a recorded lower does not explain a raise", with(counts(5, 6, 6, 0, 1, 2, 3, 4, 5), lower), false, false, ""},
		{"a recorded lower of meta explains no chunk count", with(counts(4, 5, 5, 0, 1, 2, 3, 4), inventory.Lowering{Component: "meta", From: 5, To: 4}), false, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			agree, explained, text := c.c.Agreement()
			if agree != c.agree || explained != c.explained {
				t.Fatalf("Agreement = %v, %v, %q", agree, explained, text)
			}
			if c.text != "" && !strings.Contains(text, c.text) {
				t.Fatalf("text %q lacks %q", text, c.text)
			}
		})
	}
}

func TestCountsCheck(t *testing.T) {
	in := cluster(5, 5, 3, 10)
	expect(t, Run(in, nil, "v1"), CountsCheckID, Skipped, "not read")
	in.Counts = []Counts{counts(5, 6, 6, 0, 1, 2, 3, 4, 5)}
	expect(t, Run(in, nil, "v1"), CountsCheckID, Warn, "the chunk counts disagree")
	// Any write that sets a count below a live one removes pods it does not name: refused,
	// for the other component too, and for a raise that stays below the live count.
	for _, target := range []Target{{Meta: ip(5)}, {Chunk: ip(5)}} {
		in.Target = target
		expect(t, Run(in, nil, "v1"), CountsCheckID, Fail, "writing 5 would remove live pods")
	}
	in.Target = Target{Chunk: ip(7)}
	expect(t, Run(in, nil, "v1"), CountsCheckID, Warn, "the chunk counts disagree")
	// A scale-in from counts that disagree is refused before anything is unregistered.
	in.Target = Target{Chunk: ip(4)}
	expect(t, Run(in, nil, "v1"), CountsCheckID, Fail, "IOMeshCluster spec.chunk.replicas 6")
	in.Counts = []Counts{counts(5, 5, 5, 0, 1, 2, 3, 4)}
	expect(t, Run(in, nil, "v1"), CountsCheckID, Pass, "")
	in.Counts = []Counts{{Release: "iomesh", Component: "chunk", Values: 5, ValuesFrom: "v", Spec: 4, Set: 4, Ordinals: []int{0, 1, 2, 3},
		Lowering: inventory.Lowering{Component: "chunk", From: 5, To: 4}}}
	expect(t, Run(in, nil, "v1"), CountsCheckID, Warn, "the same command finishes it")
}
