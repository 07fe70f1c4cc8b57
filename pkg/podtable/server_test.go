package podtable

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The fixtures were recorded from kube-apiserver v1.36.3: three pods in the states where the
// rows computed locally and kubectl's differ, the server's Table of them (includeObject=Object),
// the plain list, and what `kubectl get pod` (and -o wide) printed at the same moment.
func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestServerTableIsKubectlsTable(t *testing.T) {
	list, err := DecodeList(readFixture(t, "server-table.json"), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Pods) != 3 || len(list.Rows) != 3 {
		t.Fatalf("got %d pods and %d rows, want 3 and 3", len(list.Pods), len(list.Rows))
	}
	rows := make([]Row, 0, len(list.Pods))
	for _, p := range list.Pods {
		rows = append(rows, list.Rows[p.Name])
	}
	for _, wide := range []bool{false, true} {
		var got bytes.Buffer
		if err := Write(&got, rows, wide); err != nil {
			t.Fatal(err)
		}
		want := readFixture(t, map[bool]string{false: "kubectl-get-pod.txt", true: "kubectl-get-pod-wide.txt"}[wide])
		if got.String() != string(want) {
			t.Errorf("wide=%v:\n%s\nwant (kubectl get pod):\n%s", wide, got.String(), want)
		}
	}
	// Readiness stays a function of the pod, whatever the row says.
	for _, r := range rows {
		if r.PodReady || r.ReadyContainers != 0 {
			t.Errorf("%s: counted as ready", r.Name)
		}
	}
	if rows[2].TotalContainers != 2 {
		t.Errorf("containers of %s: %d, want 2", rows[2].Name, rows[2].TotalContainers)
	}
}

// The same pods from a server that serves no tables: the local rows, which is why the server's
// are asked for (these three states differ from kubectl v1.36).
func TestPlainListFallsBackToLocalRows(t *testing.T) {
	list, err := DecodeList(readFixture(t, "server-podlist.json"), now)
	if err != nil {
		t.Fatal(err)
	}
	if list.Rows != nil || len(list.Pods) != 3 {
		t.Fatalf("plain list: rows %v, %d pods", list.Rows, len(list.Pods))
	}
	want := []string{"Pending", "Terminating", "Completed"}
	for i, p := range list.Pods {
		if got := Of(&p, now).Status; got != want[i] {
			t.Errorf("%s: local status %q, want %q", p.Name, got, want[i])
		}
	}
}

func TestDecodeListErrors(t *testing.T) {
	for name, body := range map[string]string{
		"not json":           "<html>",
		"row without object": `{"kind":"Table","columnDefinitions":[{"name":"Name"}],"rows":[{"cells":["p"]}]}`,
		"bad object":         `{"kind":"Table","rows":[{"cells":[],"object":{"metadata":"x"}}]}`,
		"bad list":           `{"kind":"PodList","items":{}}`,
	} {
		if _, err := DecodeList([]byte(body), now); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestFromCells(t *testing.T) {
	cols := []metav1.TableColumnDefinition{{Name: "Name"}, {Name: "Ready"}, {Name: "Status"}, {Name: "Restarts"}, {Name: "Age"},
		{Name: "IP"}, {Name: "Node"}, {Name: "Nominated Node"}, {Name: "Readiness Gates"}, {Name: "Unknown"}}
	cells := []interface{}{"n", "1/2", "Crash\nLoop", float64(3), "5m", "10.0.0.9", "node-\x1b[31mred", nil, "1/1", "x"}
	r := FromCells(basePod(), cols, cells, now)
	want := Row{Name: "n", Ready: "1/2", Status: "Crash...", Restarts: "3", Age: "5m", IP: "10.0.0.9", Node: `node-^[[31mred`,
		NominatedNode: "", ReadinessGates: "1/1", ReadyContainers: 2, TotalContainers: 2, PodReady: true}
	if r != want {
		t.Fatalf("got  %+v\nwant %+v", r, want)
	}
	// Fewer cells than columns: the rest keep the local values.
	r = FromCells(basePod(), cols, []interface{}{"only-name"}, now)
	if r.Name != "only-name" || r.Status != "Running" || r.Age != "90m" {
		t.Fatalf("short row: %+v", r)
	}
}

func TestCellText(t *testing.T) {
	for in, want := range map[interface{}]string{
		nil: "", "a\rb": "a...", "a\fb": "a...", float64(2.5): "2.5", true: "true", int64(7): "7", float64(-4): "-4",
	} {
		if got := cellText(in); got != want {
			t.Errorf("cellText(%#v) = %q, want %q", in, got, want)
		}
	}
}

// A Table of 260 pods, the fixture's rows repeated, as the chunk and meta pods of 255 nodes.
func BenchmarkDecodeList(b *testing.B) {
	var tbl map[string]interface{}
	raw, err := os.ReadFile("testdata/server-table.json")
	if err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal(raw, &tbl); err != nil {
		b.Fatal(err)
	}
	rows := tbl["rows"].([]interface{})
	var many []interface{}
	for i := 0; len(many) < 260; i++ {
		row := deepCopyJSON(b, rows[i%len(rows)]).(map[string]interface{})
		row["object"].(map[string]interface{})["metadata"].(map[string]interface{})["name"] = fmt.Sprintf("iomesh-chunk-%d", i)
		many = append(many, row)
	}
	tbl["rows"] = many
	body, _ := json.Marshal(tbl)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if l, err := DecodeList(body, now); err != nil || len(l.Rows) != 260 {
			b.Fatal(err, len(l.Rows))
		}
	}
}

func deepCopyJSON(b *testing.B, v interface{}) interface{} {
	raw, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	var out interface{}
	if err := json.Unmarshal(raw, &out); err != nil {
		b.Fatal(err)
	}
	return out
}
