package values

import (
	"encoding/json"
	"testing"

	"sigs.k8s.io/yaml"
)

// FuzzReadReplicas feeds arbitrary YAML or JSON values through the reader and writer: no panic,
// and a tree the reader understands keeps being understood after the counts are written.
func FuzzReadReplicas(f *testing.F) {
	seeds := []string{
		"iomesh:\n  chunk:\n    replicaCount: 5\n  meta:\n    replicaCount: 3\n",
		"chunk:\n  replicaCount: 4.0\nmeta:\n  replicaCount: 5\n",
		`{"iomesh":{"chunk":{"replicaCount":"5"},"meta":{"replicaCount":null}}}`,
		`{"iomesh":{"chunk":{"replicaCount":1e300},"meta":{"replicaCount":-3}}}`,
		"iomesh: [1, 2]\nchunk: {}\n",
		"iomesh:\n  chunk: 3\n  meta: {replicaCount: 3}\n",
		"{}",
		"- a\n- b\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := yaml.YAMLToJSON(data)
		if err != nil {
			return
		}
		var vals Map
		if err := json.Unmarshal(j, &vals); err != nil || vals == nil {
			return
		}
		_ = Edition(vals)
		r, err := ReadReplicas(vals)
		if err != nil {
			return
		}
		seven, five := 7, 5
		out, err := WithReplicas(vals, r.Layout, &seven, &five)
		if err != nil {
			t.Fatalf("a readable tree could not take new counts: %v", err)
		}
		back, err := ReadReplicas(out)
		if err != nil || back.Chunk != 7 || back.Meta != 5 || back.Layout != r.Layout {
			t.Fatalf("after writing 7/5: %+v %v", back, err)
		}
	})
}
