package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/kubectl-iomesh/kubectl-iomesh/test/standin/drain"
)

func TestChunksRegisterAfterReady(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	in := Input{Name: "iomesh", RegisterAfter: 3 * time.Second, Now: now, Pods: []PodState{
		{Name: "iomesh-chunk-0", Node: "n0", PodIP: "198.19.0.1", Ready: true, ReadySince: now.Add(-time.Minute)},
		{Name: "iomesh-chunk-1", Node: "n1", HostIP: "198.19.0.2", Ready: true, ReadySince: now.Add(-time.Second)},
		{Name: "iomesh-chunk-2", Node: "n2", HostIP: "198.19.0.3"},
		{Name: "iomesh-meta-0", Node: "n0", HostIP: "198.19.0.1", Ready: true, ReadySince: now},
		{Name: "iomesh-meta-1", Node: "n1", PodIP: "198.19.0.2", Ready: true, ReadySince: now, Leader: true},
	}}
	out := Compute(in)
	if out.ReadyReplicas["iomesh-chunk"] != 2 || out.ReadyReplicas["iomesh-meta"] != 2 {
		t.Fatalf("readyReplicas %v", out.ReadyReplicas)
	}
	chunks := out.Summary["chunkSummary"].(map[string]interface{})["chunks"].([]interface{})
	if len(chunks) != 2 || chunks[0].(map[string]interface{})["status"] != ChunkHealthy || chunks[1].(map[string]interface{})["status"] != ChunkInitializing {
		t.Fatalf("chunks %v", chunks)
	}
	if _, has := chunks[0].(map[string]interface{})["nodename"]; has {
		t.Fatal("v1.0.1 reports no nodename")
	}
	meta := out.Summary["metaSummary"].(map[string]interface{})
	if meta["leader"] != "198.19.0.2:10100" || len(out.LeaderLabels) != 0 {
		t.Fatalf("the live leader moved: %v %v", meta, out.LeaderLabels)
	}
	if got := out.Summary["clusterSummary"].(map[string]interface{})["spaceInfo"].(map[string]interface{})["totalDataCapacity"]; got != "1.00Ti" {
		t.Fatalf("capacity counts only registered chunks: %v", got)
	}
}

func TestFaults(t *testing.T) {
	in := Input{Name: "c1", Now: time.Now(), Faults: Faults{NoLeader: true, TaskInProcess: "migrate"}, ReportNodename: true, Pods: []PodState{
		{Name: "c1-chunk-0", Node: "n0", PodIP: "10.1.0.1", Ready: true},
		{Name: "c1-meta-0", Ready: true, Leader: true},
	}}
	out := Compute(in)
	if out.Summary["metaSummary"].(map[string]interface{})["leader"] != "" || out.LeaderLabels["c1-meta-0"] != false || out.TaskInProcess != "migrate" {
		t.Fatalf("no-leader fault: %+v", out)
	}
	if c := out.Summary["chunkSummary"].(map[string]interface{})["chunks"].([]interface{})[0].(map[string]interface{}); c["nodename"] != "n0" || c["ip"] != "10.1.0.1" {
		t.Fatalf("chunk %v", c)
	}
	in.Faults = Faults{NoSummary: true}
	if Compute(in).Summary != nil {
		t.Fatal("no-summary fault still reports a summary")
	}
}

func TestComputeDrainsUnregisteredChunks(t *testing.T) {
	now := time.Now()
	in := Input{Name: "iomesh", Now: now, DrainFor: 10 * time.Second}
	for i := 0; i < 3; i++ {
		in.Pods = append(in.Pods, PodState{Name: fmt.Sprintf("iomesh-chunk-%d", i), Node: fmt.Sprintf("n%d", i), PodIP: fmt.Sprintf("198.19.0.%d", i), Ready: true, ReadySince: now.Add(-time.Hour)})
	}
	// Chunk 3 (pod 2) half drained, chunk 2 (pod 1) done.
	in.Drains = []drain.Entry{{ID: 3, Start: now.Add(-5 * time.Second)}, {ID: 2, Start: now.Add(-time.Minute)}}
	out := Compute(in)
	chunks := out.Summary["chunkSummary"].(map[string]interface{})["chunks"].([]interface{})
	if len(chunks) != 2 {
		t.Fatalf("a drained chunk must leave chunkSummary: %v", chunks)
	}
	c := chunks[1].(map[string]interface{})
	if c["id"] != 3 || c["spaceInfo"].(map[string]interface{})["usedDataSpace"] != "10.00Gi" {
		t.Fatalf("a draining chunk's used space falls: %v", c)
	}
}

// A chunk the status leaves out stays registered: the record that decides LOST still has it.
func TestComputeOmitsButKeepsRegistered(t *testing.T) {
	now := time.Now()
	in := Input{Name: "iomesh", Now: now, Faults: faultsOf(map[string]string{drain.OmitAnnotation: "2"})}
	for i := 0; i < 3; i++ {
		in.Pods = append(in.Pods, PodState{Name: fmt.Sprintf("iomesh-chunk-%d", i), PodIP: fmt.Sprintf("10.0.0.%d", i), Ready: true, ReadySince: now.Add(-time.Hour)})
	}
	out := Compute(in)
	chunks := out.Summary["chunkSummary"].(map[string]interface{})["chunks"].([]interface{})
	if len(chunks) != 2 || chunks[1].(map[string]interface{})["id"] != 3 || out.Registered["iomesh-chunk-1"] != 2 {
		t.Fatalf("chunks %v, registered %v", chunks, out.Registered)
	}
}
