package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// The fixtures were recorded from kube-apiserver v1.36.3: three pods in the states where older
// printers and kubectl v1.36 differ (scheduling-gated, Succeeded while being deleted, one
// container in Error beside one Completed), the plain list of them, the server's Table, and what
// `kubectl get pod` (and -o wide) printed 22 seconds after they were made.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixturePods(t testing.TB) []corev1.Pod {
	t.Helper()
	var list corev1.PodList
	if err := json.Unmarshal(readFixture(t, "server-podlist.json"), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 3 {
		t.Fatalf("fixture: %d pods, want 3", len(list.Items))
	}
	return list.Items
}

// The rows computed from the pods are, byte for byte, what kubectl printed for them.
func TestRowsAreKubectls(t *testing.T) {
	pods := fixturePods(t)
	at := pods[0].CreationTimestamp.Add(22 * time.Second)
	rows := make([]PodRow, 0, len(pods))
	for i := range pods {
		rows = append(rows, PodRowOf(&pods[i], at))
	}
	for _, wide := range []bool{false, true} {
		var got bytes.Buffer
		if err := WritePods(&got, rows, wide); err != nil {
			t.Fatal(err)
		}
		want := readFixture(t, map[bool]string{false: "kubectl-get-pod.txt", true: "kubectl-get-pod-wide.txt"}[wide])
		if got.String() != string(want) {
			t.Errorf("wide=%v:\n%s\nwant (kubectl get pod):\n%s", wide, got.String(), want)
		}
	}
	for i, r := range rows {
		if r.PodReady || r.ReadyContainers != 0 || PodReady(&pods[i]) {
			t.Errorf("%s: counted as ready", r.Name)
		}
	}
	if rows[2].TotalContainers != 2 {
		t.Errorf("containers of %s: %d, want 2", rows[2].Name, rows[2].TotalContainers)
	}
}

// 260 pods, the fixture's repeated, as the chunk and meta pods of 255 nodes.
func BenchmarkRows260(b *testing.B) {
	pods := fixturePods(b)
	many := make([]corev1.Pod, 0, 260)
	for i := 0; len(many) < 260; i++ {
		p := *pods[i%len(pods)].DeepCopy()
		p.Name = fmt.Sprintf("iomesh-chunk-%d", i)
		many = append(many, p)
	}
	at := pods[0].CreationTimestamp.Add(time.Hour)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range many {
			if r := PodRowOf(&many[j], at); r.Name == "" {
				b.Fatal("no row")
			}
		}
	}
}
