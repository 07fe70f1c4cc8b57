package main

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/test/standin/drain"
)

// The label and chunk states IOMesh uses, as the plugin reads them.
const (
	LeaderLabel       = iomeshcluster.LeaderLabel
	ChunkInitializing = iomeshcluster.ChunkInitializing
	ChunkHealthy      = iomeshcluster.ChunkHealthy
)

// Per-chunk capacity the stand-in reports for a node whose disks it does not know.
const (
	chunkDataGiB  = 1024
	chunkCacheGiB = 200
)

// Disks is the raw capacity a chunk mounted on its node, in GiB.
type Disks struct{ DataGiB, CacheGiB int }

// Faults are the failures a test asks for.
type Faults struct {
	TaskInProcess string
	NoLeader      bool
	NoSummary     bool
	// UsedData replaces the cluster's usedDataSpace (a full cluster).
	UsedData string
	// Omit are registered chunks chunkSummary leaves out (they stay registered).
	Omit map[int64]bool
}

func faultsOf(ann map[string]string) Faults {
	return Faults{
		TaskInProcess: ann["standin.iomesh.com/task-in-process"],
		NoLeader:      ann["standin.iomesh.com/no-leader"] == "true",
		NoSummary:     ann["standin.iomesh.com/no-summary"] == "true",
		UsedData:      ann["standin.iomesh.com/used-data"],
		Omit:          drain.Omitted(ann),
	}
}

// PodState is what the stand-in needs of a pod.
type PodState struct {
	Name, Node, HostIP, PodIP string
	Ready                     bool
	ReadySince                time.Time
	Leader                    bool
}

// StorageIP is the address chunk pod ord has on the storage network (dataCIDR 10.234.1.0/24)
// with --storage-network; hack/cluster.sh gives the same address to kwok's `cat
// /proc/net/fib_trie` in that pod.
func StorageIP(ord int) string { return fmt.Sprintf("10.234.1.%d", 10+ord) }

// Input is one IOMeshCluster's pods and faults.
type Input struct {
	Name           string
	Pods           []PodState
	Faults         Faults
	RegisterAfter  time.Duration
	ReportNodename bool
	// StorageNetwork registers chunks at their storage-network address (StorageIP), as IOMesh
	// 1.0.1 does, rather than at the pod's IP.
	StorageNetwork bool
	Now            time.Time
	// NodeDisks is the capacity of the disks claimed on each node (absent: the defaults).
	NodeDisks map[string]Disks
	// Drains are the chunks being unregistered, each drained over DrainFor: its used space
	// falls to 0, then it leaves chunkSummary.
	Drains   []drain.Entry
	DrainFor time.Duration
}

// Output is the status to publish and the leader labels to set (pod -> has label).
type Output struct {
	ReadyReplicas map[string]int
	TaskInProcess string
	Summary       map[string]interface{}
	LeaderLabels  map[string]bool
	// Registered is the chunk each chunk pod has registered (listed, whatever the faults hide).
	Registered map[string]int64
}

// Compute derives the status from the pods.
func Compute(in Input) Output {
	chunkRE := regexp.MustCompile("^" + regexp.QuoteMeta(in.Name) + `-chunk-([0-9]+)$`)
	metaRE := regexp.MustCompile("^" + regexp.QuoteMeta(in.Name) + `-meta-([0-9]+)$`)
	out := Output{ReadyReplicas: map[string]int{in.Name + "-chunk": 0, in.Name + "-meta": 0}, TaskInProcess: in.Faults.TaskInProcess, LeaderLabels: map[string]bool{}, Registered: map[string]int64{}}
	var chunks []interface{}
	var alive []string
	var metas []PodState
	healthy := 0
	var total Disks
	sort.Slice(in.Pods, func(i, j int) bool { return in.Pods[i].Name < in.Pods[j].Name })
	for _, p := range in.Pods {
		if m := chunkRE.FindStringSubmatch(p.Name); m != nil {
			if !p.Ready {
				continue
			}
			out.ReadyReplicas[in.Name+"-chunk"]++
			ord, _ := strconv.Atoi(m[1])
			left := 1.0
			draining := false
			for _, e := range in.Drains {
				if e.ID == int64(ord+1) {
					left, draining = e.Left(in.Now, in.DrainFor), true
				}
			}
			if draining && left == 0 {
				continue // unregistered: IOMesh lists it no more
			}
			// A chunk registers with meta a while after its pod is Ready; until then it initialises.
			status := ChunkInitializing
			if in.Now.Sub(p.ReadySince) >= in.RegisterAfter {
				status = ChunkHealthy
				healthy++
			}
			d, ok := in.NodeDisks[p.Node]
			if !ok {
				d = Disks{DataGiB: chunkDataGiB, CacheGiB: chunkCacheGiB}
			}
			if status == ChunkHealthy {
				total.DataGiB += d.DataGiB
				total.CacheGiB += d.CacheGiB
			}
			sp := space(d, 1, status == ChunkHealthy)
			if draining {
				sp["usedDataSpace"] = fmt.Sprintf("%.2fGi", 20*left)
			}
			ip := ipOf(p)
			if in.StorageNetwork {
				ip = StorageIP(ord)
			}
			out.Registered[p.Name] = int64(ord + 1)
			c := map[string]interface{}{"id": ord + 1, "ip": ip, "status": status, "spaceInfo": sp}
			if in.ReportNodename {
				c["nodename"] = p.Node
			}
			if !in.Faults.Omit[int64(ord+1)] {
				chunks = append(chunks, c)
			}
		}
		if metaRE.MatchString(p.Name) {
			if p.Ready {
				out.ReadyReplicas[in.Name+"-meta"]++
				alive = append(alive, ipOf(p)+":10100")
				metas = append(metas, p)
			}
			out.LeaderLabels[p.Name] = false
		}
	}
	leader := ""
	if len(metas) > 0 && !in.Faults.NoLeader {
		// Keep a leader that is still alive; else the lowest ordinal.
		pick := metas[0]
		for _, m := range metas {
			if m.Leader {
				pick = m
				break
			}
		}
		leader = ipOf(pick) + ":10100"
		out.LeaderLabels[pick.Name] = true
	}
	for name, lead := range out.LeaderLabels {
		was := false
		for _, p := range in.Pods {
			if p.Name == name {
				was = p.Leader
			}
		}
		if was == lead {
			delete(out.LeaderLabels, name) // nothing to change
		}
	}
	if in.Faults.NoSummary {
		return out
	}
	if chunks == nil {
		chunks = []interface{}{}
	}
	if alive == nil {
		alive = []string{}
	}
	metaStatus := "META_RUNNING"
	if leader == "" {
		metaStatus = "META_NO_LEADER"
	}
	clusterSpace := space(total, healthy, true)
	if in.Faults.UsedData != "" {
		clusterSpace["usedDataSpace"] = in.Faults.UsedData
	}
	out.Summary = map[string]interface{}{
		"chunkSummary":   map[string]interface{}{"chunks": chunks},
		"metaSummary":    map[string]interface{}{"leader": leader, "aliveHost": alive, "status": metaStatus},
		"clusterSummary": map[string]interface{}{"spaceInfo": clusterSpace},
	}
	return out
}

// ipOf is the address a chunk registers with: its data IP. Real chunk pods use the host
// network, so pod and host IP agree; kwok's pods share one host IP, so the pod IP stands in.
func ipOf(p PodState) string {
	if p.PodIP != "" {
		return p.PodIP
	}
	return p.HostIP
}

// space is the spaceInfo of n healthy chunks with capacity d (all eight fields, as the CRD
// requires): 2% of the data and 5% of the cache in use.
func space(d Disks, n int, counted bool) map[string]interface{} {
	if !counted {
		n, d = 0, Disks{}
	}
	gi := func(v int) string {
		if v == 0 {
			return "0B"
		}
		if v >= 1024 && v%1024 == 0 {
			return fmt.Sprintf("%d.00Ti", v/1024)
		}
		return fmt.Sprintf("%d.00Gi", v)
	}
	return map[string]interface{}{
		"totalDataCapacity": gi(d.DataGiB), "usedDataSpace": gi(n * 20), "provisionedDataSpace": gi(n * 40),
		"failureDataSpace": "0B", "totalCacheCapacity": gi(d.CacheGiB), "usedCacheSpace": gi(n * 10),
		"dirtyCacheSpace": "0B", "failureCacheSpace": "0B",
	}
}
