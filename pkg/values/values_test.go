package values

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func decode(t *testing.T, y string) Map {
	t.Helper()
	// Through JSON, as Helm stores release values: numbers become float64.
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	var m Map
	if err := json.Unmarshal(j, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestReadReplicas(t *testing.T) {
	cases := []struct {
		name    string
		values  string
		want    Replicas
		wantErr string
	}{
		{"nested", "iomesh:\n  chunk:\n    replicaCount: 5\n  meta:\n    replicaCount: 3\n", Replicas{Nested, 5, 3}, ""},
		{"legacy", "chunk:\n  replicaCount: 4\nmeta:\n  replicaCount: 5\n", Replicas{Legacy, 4, 5}, ""},
		{"nested wins over legacy", "iomesh:\n  chunk: {replicaCount: 6}\n  meta: {replicaCount: 5}\nchunk: {replicaCount: 3}\n", Replicas{Nested, 6, 5}, ""},
		{"string count", "iomesh:\n  chunk:\n    replicaCount: \"5\"\n  meta:\n    replicaCount: 3\n", Replicas{}, `iomesh.chunk.replicaCount is the string "5"`},
		{"fraction", "iomesh:\n  chunk:\n    replicaCount: 3.5\n  meta:\n    replicaCount: 3\n", Replicas{}, "not a whole number"},
		{"missing meta", "iomesh:\n  chunk:\n    replicaCount: 3\n", Replicas{}, "iomesh.meta.replicaCount is not set"},
		{"no iomesh", "foo: bar\n", Replicas{}, "does not look like an IOMesh release"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadReplicas(decode(t, tc.values))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestInt(t *testing.T) {
	good := []interface{}{float64(5), int(5), int64(5), int32(5), uint8(5), json.Number("5"), float32(5)}
	for _, v := range good {
		if n, err := Int(v); err != nil || n != 5 {
			t.Errorf("Int(%T %v) = %d, %v", v, v, n, err)
		}
	}
	// The bounds of int32, as each numeric type arrives.
	for v, want := range map[interface{}]int{int64(math.MaxInt32): math.MaxInt32, int64(math.MinInt32): math.MinInt32,
		uint64(math.MaxInt32): math.MaxInt32, float64(math.MaxInt32): math.MaxInt32, float64(math.MinInt32): math.MinInt32} {
		if n, err := Int(v); err != nil || n != want {
			t.Errorf("Int(%T %v) = %d, %v", v, v, n, err)
		}
	}
	bad := []interface{}{"5", 5.5, nil, true, float64(1e12), int64(1 << 40), []interface{}{}, json.Number("x"),
		int64(math.MaxInt32 + 1), int64(math.MinInt32 - 1), uint64(math.MaxInt32 + 1), uint32(math.MaxInt32 + 1),
		float64(math.MaxInt32 + 1), float64(math.MinInt32 - 1)}
	for _, v := range bad {
		if _, err := Int(v); err == nil {
			t.Errorf("Int(%T %v) accepted", v, v)
		}
	}
}

func TestWithReplicasKeepsEverythingElse(t *testing.T) {
	user := decode(t, `
iomesh:
  edition: enterprise
  chunk:
    dataCIDR: 10.0.0.0/24
    deviceMap:
      dataStore:
        selector:
          matchLabels: {iomesh.com/bd-deviceType: disk}
  meta:
    podPolicy:
      tolerations: [{key: a, operator: Exists}]
csi-driver:
  driver: {controller: {replicas: 3}}
list: [1, {a: b}]
`)
	before := DeepCopy(user)
	five, three := 5, 3
	got, err := WithReplicas(user, Nested, &five, &three)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(user, before) {
		t.Fatal("WithReplicas changed its input")
	}
	if v, _ := Lookup(got, "iomesh.chunk.replicaCount"); v != 5 {
		t.Fatalf("chunk = %v", v)
	}
	if v, _ := Lookup(got, "iomesh.meta.replicaCount"); v != 3 {
		t.Fatalf("meta = %v", v)
	}
	// Remove the two counts: the rest must equal the input.
	delete(got["iomesh"].(Map)["chunk"].(Map), "replicaCount")
	delete(got["iomesh"].(Map)["meta"].(Map), "replicaCount")
	if !reflect.DeepEqual(got, before) {
		t.Fatalf("other values changed:\n got %v\nwant %v", got, before)
	}
	// The copy must be deep: changing it leaves the input alone.
	got["list"].([]interface{})[1].(Map)["a"] = "changed"
	if before["list"].([]interface{})[1].(Map)["a"] != "b" || user["list"].([]interface{})[1].(Map)["a"] != "b" {
		t.Fatal("copy shares a nested list")
	}
}

func TestWithReplicasLegacyAndNil(t *testing.T) {
	four := 4
	got, err := WithReplicas(nil, Legacy, &four, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Map{"chunk": Map{"replicaCount": 4}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if _, err := WithReplicas(Map{"iomesh": "oops"}, Nested, &four, nil); err == nil {
		t.Fatal("replacing a scalar on the path must be refused")
	}
}

func TestEdition(t *testing.T) {
	if e := Edition(decode(t, "iomesh: {edition: ' Enterprise '}")); e != "enterprise" {
		t.Fatalf("got %q", e)
	}
	if e := Edition(decode(t, "iomesh: {}")); e != "" {
		t.Fatalf("got %q", e)
	}
}
