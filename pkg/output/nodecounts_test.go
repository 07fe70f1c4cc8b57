package output

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// The server's documents as recorded (their pods unscheduled: nothing counted), then with the
// pods bound to nodes: the counts follow the nodes, from the Table and from a plain PodList (a
// server that serves no tables).
func TestNodeCountsOfServerDocuments(t *testing.T) {
	bind := map[string]func(doc map[string]interface{}, node func(i int) string){
		"testdata/server-table.json": func(doc map[string]interface{}, node func(i int) string) {
			col := -1
			for i, c := range doc["columnDefinitions"].([]interface{}) {
				if c.(map[string]interface{})["name"] == "Node" {
					col = i
				}
			}
			for i, r := range doc["rows"].([]interface{}) {
				r.(map[string]interface{})["cells"].([]interface{})[col] = node(i)
			}
		},
		"testdata/server-podlist.json": func(doc map[string]interface{}, node func(i int) string) {
			for i, it := range doc["items"].([]interface{}) {
				it.(map[string]interface{})["spec"].(map[string]interface{})["nodeName"] = node(i)
			}
		},
	}
	for fixture, bindTo := range bind {
		body, err := os.ReadFile(fixture)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := NodeCounts(body); err != nil || len(got) != 0 {
			t.Fatalf("%s as recorded: %v, %v; want no pod counted", fixture, got, err)
		}
		var doc map[string]interface{}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		bindTo(doc, func(i int) string { return []string{"n1", "n2", "n1"}[i%3] })
		bound, _ := json.Marshal(doc)
		got, err := NodeCounts(bound)
		if err != nil || len(got) != 2 || got["n1"] != 2 || got["n2"] != 1 {
			t.Fatalf("%s bound: %v, %v; want n1=2, n2=1", fixture, got, err)
		}
	}
}

func TestNodeCountsOfARowsOnlyTable(t *testing.T) {
	body := `{"kind":"Table","apiVersion":"meta.k8s.io/v1","columnDefinitions":[{"name":"Name"},{"name":"Status"},{"name":"Node"}],
	  "rows":[{"cells":["a","Running","n1"],"object":null},{"cells":["b","Running","n1"]},{"cells":["c","Pending","<none>"]},
	  {"cells":["d","Running","n2"]},{"cells":["short"]},{"cells":["f","Running"]},{"cells":["e","Pending",""]}]}`
	got, err := NodeCounts([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["n1"] != 2 || got["n2"] != 1 {
		t.Fatalf("counts %v: want n1=2, n2=1 (unscheduled and short rows not counted)", got)
	}
	for body, want := range map[string]string{
		`{"kind":"Table","columnDefinitions":[{"name":"Name"}],"rows":[{"cells":["a"]}]}`: `no "Node" column`,
		`{"kind":"Table","columnDefinitions":[{"name":"Node"}],"rows":[{"cells":[3]}]}`:   "is not a string",
		`{"kind":"Table","columnDefinitions":[{"name":"Node"}],"rows":[{"cells":"x"}]}`:   "reading the pod table",
		`{"kind":"PodList","items":"x"}`:                                                  "reading the pod list",
		`not json`:                                                                        "reading the pod list",
	} {
		if _, err := NodeCounts([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", body, err, want)
		}
	}
}
