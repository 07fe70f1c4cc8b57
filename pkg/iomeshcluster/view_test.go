package iomeshcluster

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

func parse(t *testing.T, doc string) map[string]interface{} {
	t.Helper()
	var obj map[string]interface{}
	if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

// fromStatus decodes obj as an IOMeshCluster and reads its view (nil: nothing).
func fromStatus(obj map[string]interface{}) View {
	if obj == nil {
		return ViewOf(nil)
	}
	c, err := FromObject(obj)
	if err != nil {
		panic(err)
	}
	return ViewOf(c)
}

// status101 is the status shape of the official chart v1.0.1: no nodename, taskInProcess a string.
const status101 = `
status:
  readyReplicas: {iomesh-chunk: 3}
  taskInProcess: ""
  attachedDevices:
  - {device: /dev/sdb, mountType: dataStore, nodeName: n0, uuid: u1}
  summary:
    chunkSummary:
      chunks:
      - {id: 2, ip: 10.0.0.2, status: CHUNK_STATUS_CONNECTED_HEALTHY, spaceInfo: {totalDataCapacity: 1.00Ti, usedDataSpace: 20.00Gi}}
      - {id: 1, ip: 10.0.0.1, status: CHUNK_STATUS_CONNECTED_HEALTHY}
      - {id: 3, ip: "10.0.0.3:10200", status: CHUNK_STATUS_BRAND_NEW}
    metaSummary: {leader: "10.0.0.1:10100", aliveHost: ["10.0.0.1:10100", "10.0.0.2:10100"], status: META_RUNNING}
    clusterSummary:
      spaceInfo: {totalDataCapacity: 2.00Ti, usedDataSpace: 40.00Gi, totalCacheCapacity: 400.00Gi, usedCacheSpace: 20.00Gi}
`

func pod(name, node, podIP, hostIP string) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{PodIP: podIP, HostIP: hostIP}}
}

func TestFromStatusV101(t *testing.T) {
	v := fromStatus(parse(t, status101))
	if !v.Summary || len(v.Chunks) != 3 || v.Chunks[0].ID != 1 {
		t.Fatalf("chunks not read in id order: %+v", v.Chunks)
	}
	if v.Chunks[1].Space == nil || v.Chunks[1].Space.TotalData != "1.00Ti" || v.Chunks[0].Space != nil {
		t.Fatalf("space: %+v %+v", v.Chunks[0].Space, v.Chunks[1].Space)
	}
	if v.Chunks[2].Status != "CHUNK_STATUS_BRAND_NEW" || v.Chunks[2].Healthy() || v.Healthy() != 2 {
		t.Fatalf("an unknown status is kept as written and not healthy: %+v", v.Chunks[2])
	}
	if !v.MetaReported || v.MetaLeader != "10.0.0.1:10100" || len(v.MetaAlive) != 2 || v.MetaStatus != "META_RUNNING" {
		t.Fatalf("meta: %+v", v)
	}
	if v.Capacity == nil || v.Capacity.TotalData != "2.00Ti" || v.Capacity.UsedCache != "20.00Gi" {
		t.Fatalf("capacity: %+v", v.Capacity)
	}
	if !v.TaskReported || v.TaskInProcess != "" {
		t.Fatalf("an empty taskInProcess is idle: %+v", v)
	}
	if len(v.Devices) != 1 || v.Devices[0].Node != "n0" || v.Devices[0].MountType != "dataStore" {
		t.Fatalf("devices: %+v", v.Devices)
	}
}

func TestFromStatusAbsentAndOddFields(t *testing.T) {
	for _, doc := range []string{"{}", "status: {}", "status: {license: {maxChunkNum: 3}}", "status: {summary: {}}"} {
		t.Run(doc, func(t *testing.T) {
			v := fromStatus(parse(t, doc))
			if v.Summary || v.MetaReported || v.TaskReported || v.Capacity != nil {
				t.Fatalf("%s: reported something: %+v", doc, v)
			}
		})
	}
	if v := fromStatus(nil); v.Summary {
		t.Fatal("nil object")
	}
	v := fromStatus(parse(t, "status: {taskInProcess: {migrate: 3}, summary: {chunkSummary: {chunks: [oops, {id: 1}]}}}"))
	if !v.Summary || len(v.Chunks) != 1 || v.TaskInProcess != "map[migrate:3]" {
		t.Fatalf("odd shapes: %+v", v)
	}
	if v := fromStatus(parse(t, "status: {taskInProcess: []}")); !v.TaskReported || v.TaskInProcess != "" {
		t.Fatalf("empty list task: %+v", v)
	}
}

func TestMatch(t *testing.T) {
	v := fromStatus(parse(t, status101))
	nodes := []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}}}}}
	// chunk 2 by its pod's IP; chunk 3 by host IP with a port; the shared 127.0.0.1 matches none.
	pods := []corev1.Pod{pod("c-1", "n2", "10.0.0.2", "127.0.0.1"), pod("c-2", "n3", "", "10.0.0.3"), pod("c-3", "n4", "", "127.0.0.1")}
	v.Match(nodes, pods)
	got := []string{v.Chunks[0].MatchedNode, v.Chunks[1].MatchedNode, v.Chunks[2].MatchedNode}
	if strings.Join(got, ",") != "n1,n2,n3" {
		t.Fatalf("matched %q", got)
	}
	ambiguous := View{Chunks: []RegisteredChunk{{ID: 1, IP: "127.0.0.1", Status: ChunkHealthy}}}
	ambiguous.Match(nil, pods)
	if ambiguous.Chunks[0].MatchedNode != "" {
		t.Fatal("an IP two nodes share matched one of them")
	}
	named := View{Chunks: []RegisteredChunk{{ID: 1, IP: "10.0.0.2", Node: "by-name", Status: ChunkHealthy}}}
	named.Match(nil, pods)
	if named.Chunks[0].MatchedNode != "by-name" {
		t.Fatal("nodename must win over the IP")
	}
}

func TestServing(t *testing.T) {
	v := View{Summary: true, Chunks: []RegisteredChunk{
		{ID: 1, Status: ChunkHealthy, MatchedNode: "n0"},
		{ID: 2, Status: ChunkInitializing, MatchedNode: "n1"},
	}}
	if ok, missing := v.Serving([]string{"n0", "n1"}); ok || strings.Join(missing, ",") != "n1" {
		t.Fatalf("an initialising chunk serves nothing: %v %v", ok, missing)
	}
	v.Chunks[1].Status = ChunkHealthy
	if ok, _ := v.Serving([]string{"n0", "n1"}); !ok {
		t.Fatal("both healthy")
	}
	// Chunks that match no node count: 2 healthy unmatched chunks cover 2 nodes, not 3.
	u := View{Chunks: []RegisteredChunk{{ID: 1, Status: ChunkHealthy}, {ID: 2, Status: ChunkHealthy}, {ID: 3, Status: ChunkSessionExpired}}}
	if ok, _ := u.Serving([]string{"a", "b"}); !ok {
		t.Fatal("by count: 2 healthy for 2 nodes")
	}
	if ok, missing := u.Serving([]string{"a", "b", "c"}); ok || len(missing) != 3 {
		t.Fatalf("by count: 2 healthy for 3 nodes: %v %v", ok, missing)
	}
}

func TestLeaderPods(t *testing.T) {
	a, b := pod("m-0", "n0", "", ""), pod("m-1", "n1", "", "")
	b.Labels = map[string]string{LeaderLabel: ""}
	if got := LeaderPods([]corev1.Pod{a, b}); len(got) != 1 || got[0] != "m-1" {
		t.Fatalf("leader pods %v", got)
	}
}

// Node addresses match by their internal and external IPs only: a Hostname that happens to read
// like an IP is not an IP of the node.
func TestMatchByNodeAddressTypes(t *testing.T) {
	node := func(name string, a corev1.NodeAddressType, ip string) corev1.Node {
		return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: a, Address: ip}}}}
	}
	v := View{Chunks: []RegisteredChunk{{ID: 1, IP: "192.0.2.1"}, {ID: 2, IP: "192.0.2.2"}, {ID: 3, IP: "192.0.2.3"}}}
	v.Match([]corev1.Node{node("ext", corev1.NodeExternalIP, "192.0.2.1"), node("int", corev1.NodeInternalIP, "192.0.2.2"),
		node("host", corev1.NodeHostName, "192.0.2.3")}, nil)
	got := []string{v.Chunks[0].MatchedNode, v.Chunks[1].MatchedNode, v.Chunks[2].MatchedNode}
	if strings.Join(got, ",") != "ext,int," {
		t.Fatalf("matched %q", got)
	}
}

// Chunks are listed by ID; chunks reported without one keep the operator's order.
func TestChunksWithoutIDKeepTheirOrder(t *testing.T) {
	v := fromStatus(parse(t, `{status: {summary: {chunkSummary: {chunks: [{ip: b}, {id: 2, ip: c}, {ip: a}, {id: 1, ip: d}]}}}}`))
	var ips []string
	for _, c := range v.Chunks {
		ips = append(ips, c.IP)
	}
	if strings.Join(ips, ",") != "b,a,d,c" {
		t.Fatalf("order %q", ips)
	}
	if !strings.Contains(v.Uncertain, "2 chunk(s) whose id is not an integer of 1 or more (none, none)") {
		t.Fatalf("uncertain: %q", v.Uncertain)
	}
}
