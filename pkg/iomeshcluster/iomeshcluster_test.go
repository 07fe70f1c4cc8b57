package iomeshcluster

import (
	"encoding/json"
	"testing"

	"sigs.k8s.io/yaml"
)

func decode(t *testing.T, doc string) *IOMeshCluster {
	t.Helper()
	b, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The official chart v1.0.1's shape: no spec.version, no nodename, every spaceInfo field set.
const v101 = `
apiVersion: iomesh.com/v1alpha1
kind: IOMeshCluster
metadata: {name: iomesh, namespace: iomesh-system, resourceVersion: "42"}
spec:
  diskDeploymentMode: hybridFlash
  chunk:
    replicas: 3
    image: {repository: iomesh/zbs-chunkd, tag: v5.3.0}
    devicemanager: {blockDeviceNamespace: disks}
    deviceMap:
      dataStore: {selector: {matchLabels: {a: b}}, exclude: [bd-1]}
  meta: {replicas: 3}
status:
  license: {maxChunkNum: 6, softwareEdition: ENTERPRISE, expirationDate: " 2027-01-01 "}
  taskInProcess: ""
  summary:
    chunkSummary:
      chunks:
      - id: 1
        ip: 10.0.0.1
        status: CHUNK_STATUS_CONNECTED_HEALTHY
        spaceInfo: {totalDataCapacity: 1.00Ti, usedDataSpace: 20.00Gi, totalCacheCapacity: 0B, usedCacheSpace: 0B, dirtyCacheSpace: 0B, failureCacheSpace: 0B, failureDataSpace: 0B, provisionedDataSpace: 0B}
    metaSummary: {leader: "10.0.0.1:10100", aliveHost: ["10.0.0.1:10100"], status: META_RUNNING}
`

// The 1.2 shape: spec.version, chunks[].nodename, spaceInfo with only some fields, and fields
// this tool does not know.
const v12 = `
apiVersion: iomesh.com/v1alpha1
kind: IOMeshCluster
metadata: {name: iomesh, namespace: iomesh-system}
spec:
  version: v1.2.0
  edition: enterprise
  platform: kubernetes
  chunk: {replicas: 5, prioritizedSpaceRatioMap: {a: 1}}
  meta: {replicas: 5, extraEnvs: [{name: X, value: "1"}]}
status:
  summary:
    chunkSummary:
      chunks:
      - {id: 7, ip: 10.0.0.7, nodename: node-7, status: CHUNK_STATUS_CONNECTED_HEALTHY, spaceInfo: {usedDataSpace: 1.00Gi, prioritizedPercentage: 3}}
    clusterSummary: {spaceInfo: {totalDataCapacity: 5.00Ti, allocatedDataSpace: 20.00Gi}}
`

func TestDecodeV101(t *testing.T) {
	c := decode(t, v101)
	if c.Name != "iomesh" || c.ResourceVersion != "42" || c.Kind != Kind || c.APIVersion != APIVersion {
		t.Fatalf("metadata: %+v %+v", c.ObjectMeta, c.TypeMeta)
	}
	if c.Spec.Version != "" || c.Spec.Chunk.Replicas == nil || *c.Spec.Chunk.Replicas != 3 || *c.Spec.Replicas("meta") != 3 || c.Spec.Replicas("zookeeper") != nil {
		t.Fatalf("spec: %+v", c.Spec)
	}
	if c.BlockDeviceNamespace() != "disks" || c.Spec.Chunk.DeviceMap["dataStore"].Selector.MatchLabels["a"] != "b" || c.Spec.Chunk.DeviceMap["dataStore"].Exclude[0] != "bd-1" {
		t.Fatalf("disks: %+v", c.Spec.Chunk)
	}
	if c.Spec.Component("chunk").Image.Tag != "v5.3.0" {
		t.Fatalf("image: %+v", c.Spec.Chunk.Image)
	}
	l := c.License()
	if l == nil || string(l.MaxChunkNum) != "6" || l.SoftwareEdition != "ENTERPRISE" || l.ExpirationDate.String() != "2027-01-01" {
		t.Fatalf("licence: %+v", l)
	}
	ch := c.Status.Summary.ChunkSummary.Chunks
	if len(ch) != 1 || ch[0].ID.N != 1 || ch[0].NodeName != "" || ch[0].SpaceInfo.ProvisionedDataSpace != "0B" {
		t.Fatalf("chunks: %+v", ch)
	}
	if c.Status.TaskInProcess == nil || *c.Status.TaskInProcess != "" {
		t.Fatalf("taskInProcess reported empty: %v", c.Status.TaskInProcess)
	}
}

func TestDecodeV12(t *testing.T) {
	c := decode(t, v12)
	if c.Spec.Version != "v1.2.0" || c.Spec.Edition != "enterprise" || *c.Spec.Chunk.Replicas != 5 {
		t.Fatalf("spec: %+v", c.Spec)
	}
	ch := c.Status.Summary.ChunkSummary.Chunks[0]
	if ch.NodeName != "node-7" || ch.SpaceInfo.UsedDataSpace != "1.00Gi" || ch.SpaceInfo.TotalDataCapacity != "" {
		t.Fatalf("chunk: %+v", ch)
	}
	if c.License() != nil || c.Status.TaskInProcess != nil || c.Status.Summary.MetaSummary != nil {
		t.Fatalf("absent parts must read as absent: %+v", c.Status)
	}
	if c.Status.Summary.ClusterSummary.SpaceInfo.AllocatedDataSpace != "20.00Gi" {
		t.Fatalf("cluster space: %+v", c.Status.Summary.ClusterSummary)
	}
}

// What the operator writes in an unexpected shape is kept readable, never fatal.
func TestDecodeTolerant(t *testing.T) {
	c := decode(t, `
metadata: {name: x}
status:
  license: []
  taskInProcess: {migrate: 3}
  summary:
    chunkSummary: {chunks: [oops, {id: "7"}, {id: 2.0, ip: 10, status: 3}]}
    metaSummary: {aliveHost: [a, 1, {b: c}]}
`)
	if c.License() != nil {
		t.Fatal("a licence that is not an object is no licence")
	}
	if got := c.Status.TaskInProcess.String(); got != "map[migrate:3]" {
		t.Fatalf("taskInProcess = %q", got)
	}
	ch := c.Status.Summary.ChunkSummary.Chunks
	if len(ch) != 2 || ch[0].ID.Valid() || ch[1].ID.N != 2 || ch[1].IP != "10" || ch[1].Status != "3" || c.Status.Summary.ChunkSummary.Malformed != 1 {
		t.Fatalf("chunks: %+v", ch)
	}
	// A chunk whose id is not an id, or an entry that cannot be read, makes the list uncertain.
	if v := ViewOf(c); v.Uncertain == "" || len(v.Chunks) != 2 {
		t.Fatalf("view: %+v", v)
	}
	// A part of an unexpected type is not reported; the rest of the status is kept.
	if p := decode(t, `{status: {readyReplicas: oops, summary: {metaSummary: bad, chunkSummary: {chunks: [{id: 1}]}}}}`); p.Status == nil || p.Status.ReadyReplicas != nil || p.Status.Summary.MetaSummary != nil || len(p.Status.Summary.ChunkSummary.Chunks) != 1 {
		t.Fatalf("status: %+v", p.Status)
	}
	if c := decode(t, `{status: {summary: {chunkSummary: {chunks: notalist}}}}`); ViewOf(c).Uncertain == "" {
		t.Fatal("chunks that is not a list is not an empty list")
	}
	if h := c.Status.Summary.MetaSummary.AliveHost; len(h) != 3 || h[1] != "1" {
		t.Fatalf("alive hosts: %q", h)
	}
	if c := decode(t, `{status: [1, 2]}`); c.Status != nil {
		t.Fatalf("a status that is not an object reads as not reported: %+v", c.Status)
	}
	if c := decode(t, `{status: {license: {}}}`); c.License() != nil {
		t.Fatal("an empty licence object is no licence")
	}
	if _, err := Decode([]byte(`{"spec": {"chunk": {"replicas": "three"}}}`)); err == nil {
		t.Fatal("a spec of another shape than the CRD's must fail")
	}
	if _, err := FromObject(map[string]interface{}{"spec": map[string]interface{}{"chunk": map[string]interface{}{"deviceMap": map[string]interface{}{"dataStore": 3}}}}); err == nil {
		t.Fatal("a malformed deviceMap must fail")
	}
}

// The operator's scalars arrive in whatever JSON type it wrote: an empty object or list is no
// text, and a whole number written as a float is that number.
func TestScalarsOfAnyType(t *testing.T) {
	for in, want := range map[string]Text{`{}`: "", `[]`: "", `"a"`: "a", `7`: "7", `null`: ""} {
		t.Run("text "+in, func(t *testing.T) {
			var got Text
			if err := json.Unmarshal([]byte(in), &got); err != nil || got != want {
				t.Fatalf("Text(%s) = %q, %v; want %q", in, got, err, want)
			}
		})
	}
	// Only a whole number of 1 or more is a chunk id: anything else stays invalid (N 0) rather
	// than becoming another chunk's id or a negative one.
	for in, want := range map[string]int64{`3`: 3, `3.0`: 3, `"4"`: 0, `null`: 0, `0`: 0, `-2`: 0, `2.5`: 0, `1e30`: 0, `9223372036854775808`: 0} {
		t.Run("chunk id "+in, func(t *testing.T) {
			var got ChunkID
			if err := json.Unmarshal([]byte(in), &got); err != nil || got.N != want || got.Valid() != (want >= 1) {
				t.Fatalf("ChunkID(%s) = %+v, %v; want %d", in, got, err, want)
			}
		})
	}
}
