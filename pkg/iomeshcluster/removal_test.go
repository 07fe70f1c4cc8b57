package iomeshcluster

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestProcedureFor(t *testing.T) {
	cases := []struct {
		spec, chart      string
		version, from    string
		unregister, meta bool
	}{
		{"", "v1.0.1", "v1.0.1", "the chart version", true, false},
		{"", "1.0.0", "1.0.0", "the chart version", true, false},
		{"v1.1.0", "v1.1.0", "v1.1.0", "spec.version", true, false},
		{"v1.2.0", "v1.0.1", "v1.2.0", "spec.version", false, true},
		{"1.3.1", "", "1.3.1", "spec.version", false, true},
		// An image-tag-like spec.version is not an IOMesh chart version.
		{"v5.3.0-rc13-enterprise", "v1.0.1", "v1.0.1", "the chart version", true, false},
		{"", "", "", "", true, false},
	}
	for _, c := range cases {
		t.Run(c.spec+"/"+c.chart, func(t *testing.T) {
			p := ProcedureFor(c.spec, c.chart)
			if p.Version != c.version || p.From != c.from || p.Unregister != c.unregister || p.MetaScaleIn != c.meta || p.Note == "" {
				t.Fatalf("got %+v", p)
			}
		})
	}
	if !strings.Contains(ProcedureFor("v1.1.0", "").Note, "no scale-down doc exists for IOMesh 1.1") {
		t.Fatal("1.1 must say that it is treated as 1.0.x")
	}
}

func chunkPod(ord int, node, ip string) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("iomesh-chunk-%d", ord)},
		Spec:       corev1.PodSpec{NodeName: node},
		Status:     corev1.PodStatus{PodIP: ip},
	}
}

func node(name, ip string) corev1.Node {
	return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}}}
}

// five is a 5-chunk cluster: node-i at 192.168.0.i, chunk pod i on it, chunk i+1 at ip.
func five(ip func(i int) string, nodename bool) (View, []corev1.Pod, []corev1.Node) {
	v := View{Summary: true}
	var pods []corev1.Pod
	var nodes []corev1.Node
	for i := 0; i < 5; i++ {
		n := fmt.Sprintf("node-%d", i)
		nodes = append(nodes, node(n, fmt.Sprintf("192.168.0.%d", i)))
		pods = append(pods, chunkPod(i, n, fmt.Sprintf("10.0.0.%d", i)))
		c := RegisteredChunk{ID: int64(i + 1), IP: ip(i), Status: ChunkHealthy, Space: &Space{TotalData: "1.00Ti", UsedData: "20.00Gi"}}
		if nodename {
			c.Node = n
		}
		v.Chunks = append(v.Chunks, c)
	}
	v.Match(nodes, pods)
	return v, pods, nodes
}

// removals is Removals with no claims, failing the test on a claims error.
func removals(t *testing.T, v View, pods []corev1.Pod, from, to int, cl Claims) []PodRemoval {
	t.Helper()
	rs, err := v.Removals("iomesh", pods, from, to, cl)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestRemovals(t *testing.T) {
	byNodeIP := func(i int) string { return fmt.Sprintf("192.168.0.%d:10200", i) }
	dataNet := func(i int) string { return fmt.Sprintf("10.234.1.%d", i) } // the storage network: no match
	t.Run("nodename", func(t *testing.T) {
		v, pods, _ := five(dataNet, true)
		rs := removals(t, v, pods, 5, 3, Claims{})
		if len(rs) != 2 || rs[0].Pod != "iomesh-chunk-4" || rs[0].Chunk.ID != 5 || rs[0].By != MatchNodename || rs[1].Chunk.ID != 4 {
			t.Fatalf("%+v", rs)
		}
	})
	t.Run("address", func(t *testing.T) {
		v, pods, _ := five(byNodeIP, false)
		rs := removals(t, v, pods, 5, 4, Claims{})
		if len(rs) != 1 || rs[0].Chunk == nil || rs[0].Chunk.ID != 5 || rs[0].By != MatchAddress || rs[0].Problem != "" {
			t.Fatalf("%+v", rs)
		}
	})
	t.Run("none matches", func(t *testing.T) {
		v, pods, _ := five(dataNet, false)
		rs := removals(t, v, pods, 5, 4, Claims{LocalErr: "exec refused"})
		if rs[0].Chunk != nil || rs[0].Unregistered || rs[0].Problem != "no chunk matches node node-4 by nodename or address, and 5 chunks IOMesh lists match no pod; exec refused" {
			t.Fatalf("%+v", rs)
		}
		// A pod not yet scheduled has no node to match.
		pods[4].Spec.NodeName = ""
		v.Chunks = v.Chunks[:1]
		if rs := removals(t, v, pods, 5, 4, Claims{}); rs[0].Problem != "no chunk matches node (none: the pod is not scheduled) by nodename or address, and 1 chunk IOMesh lists matches no pod" {
			t.Fatalf("%q", rs[0].Problem)
		}
	})
	t.Run("matched inside the pods", func(t *testing.T) {
		v, pods, _ := five(dataNet, false)
		local, nodeOf := map[string][]string{}, map[string]string{}
		for i, p := range pods {
			local[p.Name], nodeOf[p.Name] = []string{fmt.Sprintf("10.234.1.%d", i), "10.0.0.1"}, p.Spec.NodeName
		}
		local["iomesh-chunk-0"] = append(local["iomesh-chunk-0"], "10.0.0.1") // shared: matches none
		v.MatchInPods(local, nodeOf)
		rs := removals(t, v, pods, 5, 3, Claims{})
		if rs[0].Chunk == nil || rs[0].Chunk.ID != 5 || rs[0].By != MatchInPod || rs[1].Chunk.ID != 4 {
			t.Fatalf("%+v", rs)
		}
	})
	t.Run("absent from the list is not no chunk", func(t *testing.T) {
		v, pods, _ := five(byNodeIP, false)
		v.Chunks = v.Chunks[:4]
		// Chunk 5 recorded and gone, but a chunk matching no pod may have registered on the
		// pod since: not "already left".
		left := v
		left.Chunks = append(append([]RegisteredChunk(nil), v.Chunks...), RegisteredChunk{ID: 7, IP: "10.234.1.99"})
		if rs := removals(t, left, pods, 5, 4, Claims{Recorded: map[string]int64{"iomesh-chunk-4": 5}}); rs[0].Left || !strings.Contains(rs[0].Problem, "may be a chunk registered on it since") {
			t.Fatalf("%+v", rs)
		} // chunk 5 left chunkSummary; every other chunk is another pod's
		rs := removals(t, v, pods, 5, 4, Claims{})
		if rs[0].Unregistered || rs[0].Chunk != nil || !strings.Contains(rs[0].Problem, "--no-chunk iomesh-chunk-4") {
			t.Fatalf("%+v", rs)
		}
		// A person's statement, by name, after checking by hand.
		rs = removals(t, v, pods, 5, 4, Claims{NoChunk: map[string]bool{"iomesh-chunk-4": true}})
		if !rs[0].Unregistered || rs[0].By != ByNoChunk || rs[0].Problem != "" {
			t.Fatalf("%+v", rs)
		}
		// A statement about a pod the scale-in does not remove is a mistake.
		if _, err := v.Removals("iomesh", pods, 5, 4, Claims{NoChunk: map[string]bool{"iomesh-chunk-3": true}}); err == nil {
			t.Fatal("--no-chunk of a pod that stays was accepted")
		}
		// A pod not scheduled now may have run, and registered, before: unknown too.
		pods[4].Spec.NodeName = ""
		if rs := removals(t, v, pods, 5, 4, Claims{}); rs[0].Unregistered || !strings.Contains(rs[0].Problem, "not scheduled now") {
			t.Fatalf("%+v", rs)
		}
		if rs := removals(t, v, pods[:4], 5, 4, Claims{}); rs[0].Unregistered || rs[0].Problem == "" {
			t.Fatalf("a missing pod: %+v", rs)
		}
		pods[4].Spec.NodeName = "node-4"
		// A statement that IOMesh contradicts is refused.
		v, pods, _ = five(byNodeIP, false)
		if rs := removals(t, v, pods, 5, 4, Claims{NoChunk: map[string]bool{"iomesh-chunk-4": true}}); rs[0].Unregistered || !strings.Contains(rs[0].Problem, "IOMesh lists chunk 5") {
			t.Fatalf("%+v", rs)
		}
		v.Chunks = v.Chunks[:4]
		// One chunk that matches no pod might be this pod's: not certain.
		v.Chunks[0].MatchedNode = ""
		if rs := removals(t, v, pods, 5, 4, Claims{}); rs[0].Unregistered || rs[0].Problem == "" {
			t.Fatalf("%+v", rs)
		}
	})
	t.Run("ambiguous", func(t *testing.T) {
		v, pods, _ := five(byNodeIP, false)
		v.Chunks[3].MatchedNode = "node-4" // two chunks on node-4
		rs := removals(t, v, pods, 5, 4, Claims{})
		if rs[0].Chunk != nil || !strings.Contains(rs[0].Problem, "2 chunks match node node-4") {
			t.Fatalf("%+v", rs)
		}
	})
	t.Run("uncertain list", func(t *testing.T) {
		v, pods, _ := five(byNodeIP, false)
		v.Uncertain = "chunkSummary lists 1 chunk(s) whose id is not an integer of 1 or more (2.5)"
		if rs := removals(t, v, pods, 5, 4, Claims{IDs: []int64{5}}); rs[0].Problem != v.Uncertain {
			t.Fatalf("%+v", rs)
		}
	})
}

func TestRemovalsNamedIDs(t *testing.T) {
	dataNet := func(i int) string { return fmt.Sprintf("10.234.1.%d", i) }
	inPods := func() (View, []corev1.Pod) {
		v, pods, _ := five(dataNet, false)
		local, nodeOf := map[string][]string{}, map[string]string{}
		for i, p := range pods {
			local[p.Name], nodeOf[p.Name] = []string{fmt.Sprintf("10.234.1.%d", i)}, p.Spec.NodeName
		}
		v.MatchInPods(local, nodeOf)
		return v, pods
	}
	t.Run("a duplicate", func(t *testing.T) {
		v, pods := inPods()
		if _, err := v.Removals("iomesh", pods, 5, 3, Claims{IDs: []int64{5, 5}}); err == nil || !strings.Contains(err.Error(), "--chunk-id 5 is given twice") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("one per pod", func(t *testing.T) {
		v, pods := inPods()
		for _, ids := range [][]int64{{5}, {5, 4, 3}} {
			if _, err := v.Removals("iomesh", pods, 5, 3, Claims{IDs: ids}); err == nil || !strings.Contains(err.Error(), "give exactly one per pod") {
				t.Fatalf("%v: %v", ids, err)
			}
		}
	})
	t.Run("another pod's chunk", func(t *testing.T) {
		// --chunk 4 --chunk-id 1: chunk 1 lives on iomesh-chunk-0.
		v, pods := inPods()
		rs := removals(t, v, pods, 5, 4, Claims{IDs: []int64{1}})
		if !strings.Contains(rs[0].Problem, "chunk 1 (ip 10.234.1.0) is iomesh-chunk-0's, matched by address inside the pod on node node-0") {
			t.Fatalf("%+v", rs[0])
		}
	})
	t.Run("confirmed", func(t *testing.T) {
		v, pods := inPods()
		rs := removals(t, v, pods, 5, 3, Claims{IDs: []int64{5, 4}})
		if rs[0].Problem != "" || rs[0].By != MatchInPod || rs[0].Unconfirmed != "" || rs[1].Chunk.ID != 4 || rs[1].By != MatchInPod {
			t.Fatalf("%+v", rs)
		}
	})
	t.Run("not listed", func(t *testing.T) {
		v, pods := inPods()
		if rs := removals(t, v, pods, 5, 4, Claims{IDs: []int64{9}}); rs[0].Problem != "IOMesh lists no chunk 9, and iomesh-chunk-4 now serves chunk 5 (ip 10.234.1.4, by address inside the pod)" {
			t.Fatalf("%+v", rs)
		}
	})
	t.Run("recorded on the Lease, already left", func(t *testing.T) {
		v, pods := inPods()
		v.Chunks = v.Chunks[:4]
		for _, cl := range []Claims{{IDs: []int64{5}, Recorded: map[string]int64{"iomesh-chunk-4": 5}}, {Recorded: map[string]int64{"iomesh-chunk-4": 5}}} {
			rs := removals(t, v, pods, 5, 4, cl)
			if rs[0].Problem != "" || !rs[0].Left || rs[0].By != ByLease || rs[0].Chunk.ID != 5 {
				t.Fatalf("%+v: %+v", cl, rs)
			}
		}
		// Recorded for another pod: no evidence for this one.
		if rs := removals(t, v, pods, 5, 4, Claims{IDs: []int64{5}, Recorded: map[string]int64{"iomesh-chunk-3": 5}}); rs[0].Problem != "IOMesh lists no chunk 5" {
			t.Fatalf("%+v", rs)
		}
	})
	t.Run("the mapping says otherwise", func(t *testing.T) {
		v, pods := inPods()
		v.Chunks[3].MatchedPod, v.Chunks[3].MatchedNode, v.Chunks[3].MatchedBy = "", "", "" // chunk 4 matches no pod
		rs := removals(t, v, pods, 5, 4, Claims{IDs: []int64{4}})
		if !strings.Contains(rs[0].Problem, "iomesh-chunk-4 serves chunk 5 (ip 10.234.1.4, by address inside the pod), not chunk 4") {
			t.Fatalf("%+v", rs[0])
		}
	})
	t.Run("unconfirmed", func(t *testing.T) {
		v, pods, _ := five(dataNet, false) // no pod lists the chunks' addresses
		rs := removals(t, v, pods, 5, 4, Claims{IDs: []int64{5}})
		if rs[0].Problem != "" || rs[0].By != ByName || !strings.Contains(rs[0].Unconfirmed, "no chunk pod lists chunk 5's ip 10.234.1.4") {
			t.Fatalf("%+v", rs[0])
		}
		rs = removals(t, v, pods, 5, 4, Claims{IDs: []int64{5}, LocalErr: "pods/exec is forbidden"})
		if !strings.Contains(rs[0].Problem, "cannot be confirmed in iomesh-chunk-4: pods/exec is forbidden") {
			t.Fatalf("%+v", rs[0])
		}
	})
	t.Run("listing", func(t *testing.T) {
		v, pods := inPods()
		l := v.Listing(pods)
		if !strings.Contains(l, "iomesh-chunk-4 on node-4") || !strings.Contains(l, "chunk 5 ip 10.234.1.4 (node node-4, by address inside the pod)") {
			t.Fatal(l)
		}
	})
}

func TestPresenceOf(t *testing.T) {
	v, _, _ := five(func(i int) string { return fmt.Sprintf("10.0.0.%d", i) }, false)
	four := []int64{1, 2, 3, 4}
	swapped := append([]RegisteredChunk{{ID: 9}}, v.Chunks[1:4]...)
	cases := []struct {
		name   string
		view   View
		expect []int64
		want   Presence
	}{
		{"listed", v, four, Listed},
		{"gone", View{Summary: true, Chunks: v.Chunks[:4]}, four, Gone},
		{"no chunkSummary", View{}, four, Unknown},
		{"an empty list where four should remain", View{Summary: true}, four, Unknown},
		{"fewer than expected", View{Summary: true, Chunks: v.Chunks[:3]}, four, Unknown},
		{"as many as expected, but one expected is left out", View{Summary: true, Chunks: swapped}, four, Unknown},
		{"an unreadable entry", View{Summary: true, Chunks: v.Chunks[:4], Uncertain: "x"}, four, Unknown},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got, why := c.view.PresenceOf(5, c.expect); got != c.want || (got == Unknown) != (why != "") {
				t.Fatalf("PresenceOf = %s (%q), want %s", got, why, c.want)
			}
		})
	}
}

func TestLocalAddresses(t *testing.T) {
	fib := `Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 10.234.1.0/24 2 0 2
        |-- 10.234.1.0
           /32 link BROADCAST
           /24 link UNICAST
        |-- 10.234.1.14
           /32 host LOCAL
        |-- 10.234.1.255
           /32 link BROADCAST
     +-- 127.0.0.0/8 2 0 2
        |-- 127.0.0.1
           /32 host LOCAL
Local:
  +-- 0.0.0.0/0 3 0 5
        |-- 10.234.1.14
           /32 host LOCAL
        |-- 192.168.0.4
           /32 host LOCAL
`
	got := strings.Join(LocalAddresses(fib), ",")
	if got != "10.234.1.14,192.168.0.4" {
		t.Fatalf("LocalAddresses = %s", got)
	}
	if len(LocalAddresses("not a fib_trie")) != 0 {
		t.Fatal("no addresses in other text")
	}
}

func TestBytes(t *testing.T) {
	cases := map[string]int64{"0B": 0, "20.00Gi": 20 << 30, "1.00Ti": 1 << 40, "1.5Ti": 3 << 39, "512": 512, "512B": 512}
	for in, want := range cases {
		if got, err := Bytes(in); err != nil || got != want {
			t.Errorf("Bytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "lots", "1.2XB"} {
		if _, err := Bytes(bad); err == nil {
			t.Errorf("Bytes(%q) must fail", bad)
		}
	}
}

func TestRoomAfter(t *testing.T) {
	v, pods, _ := five(func(i int) string { return fmt.Sprintf("192.168.0.%d", i) }, false)
	v.Capacity = &Space{UsedData: "2.00Ti"}
	rs := removals(t, v, pods, 5, 3, Claims{})
	r, err := v.RoomAfter(rs)
	if err != nil || r.Used != 2<<40 || r.Remaining != 3<<40 || r.Leaving != 2<<40 {
		t.Fatalf("%+v %v", r, err)
	}
	if p := r.Percent(); p < 66.6 || p > 66.7 {
		t.Fatalf("percent %v", p)
	}
	v.Capacity = nil
	if _, err := v.RoomAfter(rs); err == nil {
		t.Fatal("no used data reported must be an error")
	}
	v.Capacity = &Space{UsedData: "1Gi"}
	v.Chunks[0].Space = nil
	if _, err := v.RoomAfter(rs); err == nil || !strings.Contains(err.Error(), "chunk 1 reports no totalDataCapacity") {
		t.Fatalf("%v", err)
	}
	if (Room{Used: 1}).Percent() <= 100 {
		t.Fatal("data with no capacity left is over 100%")
	}
	if p := (Room{}).Percent(); p != 100 {
		t.Fatalf("no capacity left at all is full, not %v", p)
	}
}

func TestParseMigration(t *testing.T) {
	idle := "cluster_summary:\n  num_ongoing_recovers: 0\n  num_pending_recovers: 0\n  num_ongoing_migrates: 0\n  num_pending_migrates: 0\n  space_info:\n    pending_migrates_bytes: 0\n    pending_recovers_bytes: 0\n  zone_summary:\n  - zone: a\n    num_ongoing_recovers: 0\n    num_ongoing_migrates: 0\n"
	m, err := ParseMigration(idle)
	if err != nil || len(m.Values) != 8 || len(m.Busy()) != 0 {
		t.Fatalf("%+v %v", m, err)
	}
	// A value that is not 0 at any depth is busy.
	busy := strings.Replace(idle, "    pending_migrates_bytes: 0", "    pending_migrates_bytes: 1073741824", 1)
	m, err = ParseMigration(busy)
	if err != nil || len(m.Busy()) != 1 || m.Busy()[0].Key != "pending_migrates_bytes" || m.Busy()[0].Depth != 2 {
		t.Fatalf("%+v %v", m, err)
	}
	if got := m.Busy()[0].String(); got != "    pending_migrates_bytes: 1073741824" {
		t.Fatalf("String() = %q", got)
	}
	if _, err := ParseMigration("Error: meta not ready\n"); err == nil || !strings.Contains(err.Error(), "not the documented output") {
		t.Fatalf("%v", err)
	}
	if _, err := ParseMigration(strings.Replace(idle, "num_ongoing_migrates: 0", "num_ongoing_migrates: many", 1)); err == nil {
		t.Fatal("a value that is not a number must fail")
	}
}
