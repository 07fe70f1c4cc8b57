package inventory

import "testing"

func TestLoweringWrote(t *testing.T) {
	l := Lowering{Component: "chunk", From: 5, To: 4, Version: 3}
	for _, c := range []struct {
		name    string
		version int64
		desc    string
		count   int
		known   bool
		want    bool
	}{
		{"Helm's words, the lower's count", 3, HelmPreparing, 4, true, true},
		{"this tool's description", 3, DescriptionPrefix + "chunk 5->4, meta 3->3", 0, false, true},
		{"this tool's description of another step", 3, DescriptionPrefix + "chunk 4->3, meta 3->3", 4, true, false},
		{"another revision", 2, HelmPreparing, 4, true, false},
		{"another count", 3, HelmPreparing, 5, true, false},
		{"count not known", 3, HelmPreparing, 0, false, false},
		{"another writer", 3, "Upgrade in progress", 4, true, false},
	} {
		if got := l.Wrote(c.version, c.desc, c.count, c.known); got != c.want {
			t.Errorf("%s: Wrote = %v, want %v", c.name, got, c.want)
		}
	}
	if (Lowering{To: -1, Version: 3}).Wrote(3, HelmPreparing, -1, true) {
		t.Error("no lower recorded, yet a revision is named as its")
	}
}
