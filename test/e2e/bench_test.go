//go:build e2e && bench

package e2e

// The benchmark run behind `make bench`: status, preflight and scale against the local control
// plane at 5, 50 and 255 nodes populated as IOMesh clusters of that size are, beside kubectl and
// helm on the same API server, through kubectl and as the plugin alone.
// It writes a Markdown report; it asserts nothing about speed.

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
)

// measure runs a command n times and returns the median wall time.
func measure(t *testing.T, n int, name string, args ...string) time.Duration {
	t.Helper()
	var walls []time.Duration
	for i := 0; i < n; i++ {
		walls = append(walls, timed(t, name, args...))
	}
	return median(walls)
}

// timed runs a command once and returns its wall time; exit codes 3 and 4 (refused, warnings)
// are outcomes the benchmark expects.
func timed(t *testing.T, name string, args ...string) time.Duration {
	t.Helper()
	cmd := exec.Command(name, args...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || (ee.ExitCode() != 3 && ee.ExitCode() != 4) {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	return wall
}

func median(walls []time.Duration) time.Duration {
	sort.Slice(walls, func(i, j int) bool { return walls[i] < walls[j] })
	return walls[len(walls)/2]
}

// requests runs the plugin alone with client-go's request log (-v=6: one "Response" line per
// request) under GNU time, and returns the total and discovery counts and the plugin's peak RSS in
// KiB. time forks for real, so the child's rusage is the plugin's own: a child of this test
// process, which os/exec starts with CLONE_VM, would report this process's peak instead.
func requests(t *testing.T, args ...string) (int, int, int64) {
	t.Helper()
	return timeAlone(t, nil, filepath.Join(env.binDir, "kubectl-iomesh"), append(args, "-v=6")...)
}

// timeAlone runs a plugin binary alone under GNU time with extra environment and returns the
// requests in its -v=6 log (if any), the discovery ones among them, and its peak RSS in KiB.
func timeAlone(t *testing.T, extraEnv []string, binary string, args ...string) (total, disc int, rss int64) {
	t.Helper()
	r := run(t, extraEnv, "/usr/bin/time", append([]string{"-f", "maxrss-kib %M", binary}, args...)...)
	if r.code != 0 && r.code != 3 && r.code != 4 {
		t.Fatalf("kubectl-iomesh %v: %s", args, r)
	}
	for _, line := range strings.Split(r.stderr, "\n") {
		if u, ok := responseURL(line); ok {
			total++
			if isDiscovery(u) {
				disc++
			}
		}
		if strings.HasPrefix(line, "maxrss-kib ") {
			fmt.Sscanf(line, "maxrss-kib %d", &rss)
		}
	}
	if rss == 0 {
		t.Fatalf("no peak RSS from /usr/bin/time for %v:\n%s", args, r.stderr)
	}
	return total, disc, rss
}

// responseURL is the URL of one of client-go's -v=6 request lines:
// `... round_trippers.go:632] "Response" verb="GET" url="https://..." status="200 OK" milliseconds=3`.
func responseURL(line string) (*url.URL, bool) {
	_, rest, ok := strings.Cut(line, `] "Response" verb=`)
	if !ok {
		return nil, false
	}
	_, rest, ok = strings.Cut(rest, ` url="`)
	if !ok {
		return nil, false
	}
	raw, _, _ := strings.Cut(rest, `"`)
	u, err := url.Parse(raw)
	return u, err == nil
}

// isDiscovery tells API discovery requests (group and resource lists, OpenAPI) from reads.
func isDiscovery(u *url.URL) bool {
	seg := strings.Split(strings.Trim(u.Path, "/"), "/")
	switch seg[0] {
	case "api":
		return len(seg) <= 2
	case "apis":
		return len(seg) <= 3
	case "openapi":
		return true
	}
	return false
}

// disksFor publishes 8 disks (2 SSD, 6 HDD) on each of n nodes, as NDM would.
func disksFor(t *testing.T, n int) {
	t.Helper()
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				driver, size := "HDD", int64(4<<40)
				if i%8 < 2 {
					driver, size = "SSD", 400<<30
				}
				bd := &unstructured.Unstructured{Object: map[string]interface{}{
					"apiVersion": "openebs.io/v1alpha1", "kind": "BlockDevice",
					"metadata": map[string]interface{}{"name": fmt.Sprintf("bd-%s-%d", nodeName(i/8), i%8), "namespace": ns, "labels": map[string]interface{}{
						"kubernetes.io/hostname": nodeName(i / 8), "iomesh.com/bd-driverType": driver}},
					"spec":   map[string]interface{}{"nodeAttributes": map[string]interface{}{"nodeName": nodeName(i / 8)}, "capacity": map[string]interface{}{"storage": size}},
					"status": map[string]interface{}{"claimState": "Unclaimed", "state": "Active"},
				}}
				_, _ = env.dyn.Resource(bdGVR).Namespace(ns).Create(context.Background(), bd, metav1.CreateOptions{})
			}
		}()
	}
	for i := 0; i < 8*n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
}

// settle waits until kwok has run every pod (no Pending pods left outside the scale under test).
func settle(t *testing.T) {
	t.Helper()
	eventually(t, 5*time.Minute, "filler pods Running", func() bool {
		l, err := env.kube.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{FieldSelector: "status.phase=Pending", Limit: 1})
		return err == nil && len(l.Items) == 0
	})
	time.Sleep(2 * time.Second)
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return st.Size()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

// The population of an IOMesh cluster of n worker nodes, from the official chart v1.0.1 (its
// `kubectl get pod -n iomesh-system` listing): per node the pods of its 7 DaemonSets (the
// stand-in chart runs the CSI node plugin's itself, the other 6 are made here), the
// singletons of its 6 Deployments, 3 ZooKeeper pods, 5 meta pods (3 below 5 nodes), a chunk pod
// on every node but one (the plan adds it); and, in 4 other namespaces, appsPerNode
// application pods per node.
var daemonSets = []string{"openebs-ndm", "openebs-ndm-node-exporter", "hostpath-provisioner",
	"iscsi-redirector", "localpv-manager", "blockdevice-monitor-prober"}

var singletons = []string{"blockdevice-monitor-0", "csi-driver-controller-plugin-0", "openebs-ndm-cluster-exporter-0",
	"openebs-ndm-operator-0", "zookeeper-0", "zookeeper-1", "zookeeper-2"}

const appsPerNode = 20

// populate brings the cluster to the model at n nodes from the model at from nodes.
func populate(t *testing.T, from, n int) {
	t.Helper()
	setNodes(t, n)
	meta := 3
	if n >= 5 {
		meta = 5
	}
	mustHelm(t, "upgrade", relName, "iomesh/iomesh", "--version", "v1.0.1", "-n", ns, "--reuse-values",
		"--set", fmt.Sprintf("iomesh.chunk.replicaCount=%d", n-1), "--set", fmt.Sprintf("iomesh.meta.replicaCount=%d", meta))
	var perNode []podSpec
	for i := from; i < n; i++ {
		for _, d := range daemonSets {
			perNode = append(perNode, podSpec{ns, fmt.Sprintf("iomesh-%s-%s", d, nodeName(i)), i})
		}
		for a := 0; a < appsPerNode; a++ {
			perNode = append(perNode, podSpec{fmt.Sprintf("apps-%d", a%4), fmt.Sprintf("app-%s-%d", nodeName(i), a), i})
		}
	}
	if from == 0 {
		for k, name := range singletons {
			perNode = append(perNode, podSpec{ns, "iomesh-" + name, k % n})
		}
	}
	createPods(t, perNode)
	eventually(t, 10*time.Minute, fmt.Sprintf("%d chunk and %d meta pods Ready", n-1, meta), func() bool {
		pods, err := env.kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app in (iomesh-chunk,iomesh-meta)"})
		if err != nil || len(pods.Items) != n-1+meta {
			return false
		}
		for i := range pods.Items {
			if pods.Items[i].Status.Phase != corev1.PodRunning {
				return false
			}
		}
		return true
	})
}

type podSpec struct {
	namespace, name string
	node            int
}

// createPods creates Running pods (pre-bound to their nodes, so kwok runs them).
func createPods(t *testing.T, specs []podSpec) {
	t.Helper()
	ctx := context.Background()
	seen := map[string]bool{}
	for _, s := range specs {
		if seen[s.namespace] {
			continue
		}
		seen[s.namespace] = true
		_, err := env.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.namespace}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	work := make(chan podSpec)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range work {
				p := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: s.namespace, Labels: map[string]string{"app": "filler"}},
					Spec: corev1.PodSpec{NodeName: nodeName(s.node), Containers: []corev1.Container{{Name: "c", Image: "filler"}},
						Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}}},
				}
				if _, err := env.kube.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, s := range specs {
		work <- s
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

// rounds runs the commands one after the other, n rounds, and returns each one's wall times by
// round: ratios are then taken round by round, over the same moments of a machine whose speed
// drifts.
func rounds(t *testing.T, n int, cmds ...[]string) [][]time.Duration {
	t.Helper()
	out := make([][]time.Duration, len(cmds))
	for r := 0; r < n; r++ {
		for i, c := range cmds {
			out[i] = append(out[i], timed(t, c[0], c[1:]...))
		}
	}
	return out
}

// med is the median of a series.
func med(ds []time.Duration) time.Duration { return median(append([]time.Duration(nil), ds...)) }

// ratio is the median of a/b, round by round.
func ratio(a, b []time.Duration) float64 {
	rs := make([]float64, len(a))
	for i := range a {
		rs[i] = float64(a[i]) / float64(b[i])
	}
	sort.Float64s(rs)
	return rs[len(rs)/2]
}

// floorOf is kubectl's start-up plus the plugin alone, round by round: what no plugin run through
// kubectl can go under.
func floorOf(kubectlStart, alone []time.Duration) []time.Duration {
	out := make([]time.Duration, len(alone))
	for i := range alone {
		out[i] = kubectlStart[i] + alone[i]
	}
	return out
}

func TestBench(t *testing.T) {
	smoke := os.Getenv("BENCH_MODE") != "full"
	scenarios, runs, pairRuns := []int{5, 50, 255}, 9, 21
	scaleNodes := 255
	if smoke {
		scenarios, runs, pairRuns = []int{5}, 1, 1
		scaleNodes = 5
	}
	var report strings.Builder
	w := func(format string, a ...interface{}) { fmt.Fprintf(&report, format, a...) }
	alone := filepath.Join(env.binDir, "kubectl-iomesh")

	freshInstall(t, install{nodes: scenarios[0], edition: "enterprise", license: enterpriseLicense(255), values: []string{hybridDeviceMap}})
	disksFor(t, scenarios[len(scenarios)-1])

	w("Population at n nodes (the model above): in `iomesh-system` 7 DaemonSet pods per node, 6 Deployment pods, 3 ZooKeeper, 5 meta and n-1 chunk pods; %d application pods per node in 4 other namespaces.\n\n", appsPerNode)
	w("| nodes | pods in `iomesh-system` | pods in cluster | `kubectl iomesh status` | plugin alone | floor (kubectl start-up + plugin alone) | `kubectl get pod -n iomesh-system` | through kubectl / floor | through kubectl / kubectl get pod | alone / kubectl get pod | `kubectl iomesh preflight` | preflight alone | status requests | preflight requests | status peak RSS | preflight peak RSS |\n")
	w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	type scenario struct {
		nodes                      int
		viaFloor, viaGet, aloneGet float64
		preflight, preflightAlone  time.Duration
		statusReqs, preflightReqs  int
		statusDisc, preflightDisc  int
		preflightRSS               int64
		plan, planAlone, helm      time.Duration
		planRatio                  float64
		plan3, helm3               time.Duration
		plan3Ratio                 float64
		planReqs, planDisc         int
		planRSS                    int64
	}
	var results []scenario
	// BENCH_COMPARE names another build of the plugin (an earlier revision, or a variant) to time
	// beside this one, alone, round by round: the one comparison that the machine's drift between
	// runs does not blur.
	compare := os.Getenv("BENCH_COMPARE")
	type abRow struct {
		nodes                   int
		status, preflight, plan float64
	}
	var ab []abRow
	from := 0
	for _, n := range scenarios {
		populate(t, from, n)
		from = n
		settle(t)
		sys, _ := env.kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{ResourceVersion: "0"})
		pods, _ := env.kube.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{ResourceVersion: "0"})
		plugin(t, "status") // warm the page cache and the discovery cache of kubectl
		run(t, nil, "kubectl", "get", "pod", "-n", ns)
		// Through kubectl, as users run it; the plugin alone; kubectl's own start-up; and kubectl
		// get pod, round by round.
		m := rounds(t, pairRuns, []string{"kubectl", "iomesh", "status"}, []string{alone, "status"},
			[]string{"kubectl", "version", "--client"}, []string{"kubectl", "get", "pod", "-n", ns})
		via, al, kstart, kget := m[0], m[1], m[2], m[3]
		floor := floorOf(kstart, al)
		sc := scenario{nodes: n, viaFloor: ratio(via, floor), viaGet: ratio(via, kget), aloneGet: ratio(al, kget)}
		pf := rounds(t, runs, []string{"kubectl", "iomesh", "preflight"}, []string{alone, "preflight"})
		sc.preflight, sc.preflightAlone = med(pf[0]), med(pf[1])
		var stRSS int64
		sc.statusReqs, sc.statusDisc, stRSS = requests(t, "status")
		sc.preflightReqs, sc.preflightDisc, sc.preflightRSS = requests(t, "preflight")
		// Request counts are deterministic, unlike times: hold them to the design. Preflight's
		// ninth is the operator Deployment (operator.ready), its tenth the DaemonSet pods (the
		// nodes' readiness): flat in the node count.
		if sc.statusReqs != 4 || sc.statusDisc != 0 || sc.preflightReqs != 10 || sc.preflightDisc != 0 {
			t.Errorf("requests at %d nodes: status %d (%d discovery), preflight %d (%d discovery); want 4 (0) and 10 (0)", n, sc.statusReqs, sc.statusDisc, sc.preflightReqs, sc.preflightDisc)
		}
		if sc.statusReqs == 0 || med(via) <= 0 || sc.preflight <= 0 {
			t.Fatalf("the benchmark measured nothing at %d nodes", n)
		}
		// The plan (the checks, three renders and the guard) beside one server-side dry run of the
		// CLI that wrote the release: Helm 4 (server-side apply), then Helm 3 (client-side apply)
		// after it wrote the latest revision; Helm 4 then takes the release back to server-side.
		target := fmt.Sprint(n)
		helmDryRun := func(cli string) []string {
			return []string{cli, "upgrade", relName, "iomesh/iomesh", "--version", "v1.0.1", "-n", ns, "--reuse-values",
				"--set", "iomesh.chunk.replicaCount=" + target, "--dry-run=server"}
		}
		planCmd := []string{"kubectl", "iomesh", "scale", "--chunk", target, "--dry-run"}
		mustApplyMethod(t, "server-side")
		pl := rounds(t, runs, planCmd, helmDryRun("helm4"), []string{alone, "scale", "--chunk", target, "--dry-run"})
		sc.plan, sc.helm, sc.planAlone, sc.planRatio = med(pl[0]), med(pl[1]), med(pl[2]), ratio(pl[0], pl[1])
		sc.planReqs, sc.planDisc, sc.planRSS = requests(t, "scale", "--chunk", target, "--dry-run")
		mustRun(t, "helm3", "upgrade", relName, "iomesh/iomesh", "--version", "v1.0.1", "-n", ns, "--reuse-values")
		mustApplyMethod(t, "client-side")
		pl3 := rounds(t, runs, planCmd, helmDryRun("helm3"))
		sc.plan3, sc.helm3, sc.plan3Ratio = med(pl3[0]), med(pl3[1]), ratio(pl3[0], pl3[1])
		mustRun(t, "helm4", "upgrade", relName, "iomesh/iomesh", "--version", "v1.0.1", "-n", ns, "--reuse-values", "--server-side=true")
		results = append(results, sc)
		if compare != "" {
			c := rounds(t, runs, []string{alone, "status"}, []string{compare, "status"}, []string{alone, "preflight"}, []string{compare, "preflight"},
				[]string{alone, "scale", "--chunk", target, "--dry-run"}, []string{compare, "scale", "--chunk", target, "--dry-run"})
			ab = append(ab, abRow{n, ratio(c[0], c[1]), ratio(c[2], c[3]), ratio(c[4], c[5])})
		}
		w("| %d | %d | %d | %s | %s | %s | %s | %.2f | %.2f | %.2f | %s | %s | %d (%d discovery) | %d (%d) | %d MiB | %d MiB |\n", n, len(sys.Items), len(pods.Items),
			ms(med(via)), ms(med(al)), ms(med(floor)), ms(med(kget)), sc.viaFloor, sc.viaGet, sc.aloneGet,
			ms(sc.preflight), ms(sc.preflightAlone), sc.statusReqs, sc.statusDisc, sc.preflightReqs, sc.preflightDisc, stRSS/1024, sc.preflightRSS/1024)
	}

	if len(ab) > 0 {
		w("\n| this build / BENCH_COMPARE (`%s`), both alone, round by round | status | preflight | plan (`scale --dry-run`) |\n|---|---|---|---|\n", filepath.Base(compare))
		for _, r := range ab {
			w("| %d nodes | %.2f | %.2f | %.2f |\n", r.nodes, r.status, r.preflight, r.plan)
		}
	}

	// The GC settings pkg/startup makes (GOGC 400 while the packages initialise, Go's default
	// after) against GOGC 400 throughout with the 64 MiB soft limit it used to set, and against
	// Go's default throughout, for preflight alone on the largest cluster.
	w("\n| GC settings, `kubectl-iomesh preflight` at %d nodes | median | peak RSS |\n|---|---|---|\n", from)
	variants := []struct{ name, env string }{
		{"pkg/startup's: GOGC 400 during start-up, then 100", ""},
		{"GOGC 400 throughout, 64 MiB soft limit (GOGC=400 GOMEMLIMIT=64MiB)", "GOGC=400 GOMEMLIMIT=64MiB"},
		{"Go's default throughout (GOGC=100)", "GOGC=100"},
	}
	var gcCmds [][]string
	for _, v := range variants {
		gcCmds = append(gcCmds, append(append([]string{"env"}, strings.Fields(v.env)...), alone, "preflight"))
	}
	gc := rounds(t, runs, gcCmds...)
	for i, v := range variants {
		_, _, rss := timeAlone(t, strings.Fields(v.env), alone, "preflight")
		w("| %s | %s | %d MiB |\n", v.name, ms(med(gc[i])), rss/1024)
	}

	st := rounds(t, runs*2, []string{alone, "version", "--client"}, []string{"kubectl", "version", "--client"}, []string{"kubectl", "iomesh", "version", "--client"},
		[]string{"env", "GOGC=100", alone, "version", "--client"})
	_, _, vcRSS := requests(t, "version", "--client")
	startup := med(st[0])
	w("\n| start-up | median | ratio |\n|---|---|---|\n")
	w("| `kubectl-iomesh version --client` (the plugin alone) | %s (peak RSS %d MiB) | %.2f |\n", ms(startup), vcRSS/1024, ratio(st[0], st[1]))
	w("| `kubectl iomesh version --client` (through kubectl) | %s | %.2f |\n", ms(med(st[2])), ratio(st[2], st[1]))
	w("| `kubectl-iomesh version --client` with Go's GC default (GOGC=100) | %s | %.2f |\n", ms(med(st[3])), ratio(st[3], st[1]))
	w("| `kubectl version --client` | %s | 1.00 |\n", ms(med(st[1])))
	// The machine's own kubectl, when it is another one: what its start-up adds to every command.
	if mk := os.Getenv("MACHINE_KUBECTL"); mk != "" {
		if path, err := exec.LookPath("kubectl"); err == nil && path != mk {
			mv := measure(t, runs*2, mk, "version", "--client")
			w("| `kubectl version --client` with this machine's kubectl (%s) | %s | %.2f |\n", strings.TrimPrefix(kubectlVersionOf(t, mk), "kubectl "), ms(mv), float64(mv)/float64(med(st[1])))
		}
	}
	w("\n| artefact | size |\n|---|---|\n")
	w("| binary (linux/amd64, stripped) | %.1f MB |\n", float64(fileSize(filepath.Join(env.root, "bin", "kubectl-iomesh")))/1e6)
	if a := os.Getenv("BENCH_ARCHIVE"); a != "" {
		w("| release archive `%s` | %.1f MB |\n", filepath.Base(a), float64(fileSize(a))/1e6)
	}

	w("\n| plan | nodes | through kubectl | plugin alone | ratio to helm (round by round) | API requests (discovery) | peak RSS |\n|---|---|---|---|---|---|---|\n")
	for _, p := range results {
		w("| `kubectl iomesh scale --chunk %d --dry-run` | %d | %s | %s | %.2f | %d (%d) | %d MiB |\n", p.nodes, p.nodes, ms(p.plan), ms(p.planAlone), p.planRatio, p.planReqs, p.planDisc, p.planRSS/1024)
		w("| `helm upgrade --reuse-values --set iomesh.chunk.replicaCount=%d --dry-run=server` (Helm 4 CLI, its server-side release) | %d | %s | | 1.00 | | |\n", p.nodes, p.nodes, ms(p.helm))
		w("| `kubectl iomesh scale --chunk %d --dry-run`, latest revision by the Helm 3 CLI | %d | %s | | %.2f | | |\n", p.nodes, p.nodes, ms(p.plan3), p.plan3Ratio)
		w("| `helm upgrade ... --dry-run=server` (Helm 3 CLI, its client-side revision) | %d | %s | | 1.00 | | |\n", p.nodes, ms(p.helm3))
	}

	// Scale 3 -> N: how soon after the last pod turns Ready does the plugin say so?
	mustHelm(t, "upgrade", relName, "iomesh/iomesh", "--version", "v1.0.1", "-n", ns, "--reuse-values", "--set", "iomesh.chunk.replicaCount=3")
	eventually(t, 5*time.Minute, "3 chunk pods", func() bool {
		l, err := env.kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=iomesh-chunk"})
		return err == nil && len(l.Items) == 3
	})
	lat, waitReqs, total := scaleLatency(t, scaleNodes)
	w("\n| scale | command to final table | detection latency | API requests while waiting |\n|---|---|---|---|\n")
	w("| chunk 3 -> %d on %d nodes | %s | %s | %d |\n", scaleNodes, scaleNodes, ms(total), ms(lat), waitReqs)

	// The every-pod read: once the chunk pods request resources, the room rules need every running
	// pod's requests, not only the pods per node.
	mustHelm(t, "upgrade", relName, "iomesh/iomesh", "--version", "v1.0.1", "-n", ns, "--reuse-values",
		"--set", "iomesh.chunk.resources.requests.cpu=500m", "--set", "iomesh.chunk.resources.requests.memory=2Gi")
	all, err := env.kube.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	epCmds := [][]string{{alone, "preflight"}}
	if compare != "" {
		epCmds = append(epCmds, []string{compare, "preflight"})
	}
	ep := rounds(t, runs, epCmds...)
	w("\n| preflight, chunk pods requesting cpu and memory (every pod read) | nodes | pods in cluster | plugin alone | API requests (discovery) | peak RSS |\n|---|---|---|---|---|---|\n")
	epReqs, epDisc, epRSS := requests(t, "preflight")
	w("| this build | %d | %d | %s | %d (%d) | %d MiB |\n", scaleNodes, len(all.Items), ms(med(ep[0])), epReqs, epDisc, epRSS/1024)
	if len(ep) > 1 {
		_, _, cRSS := timeAlone(t, nil, epCmds[1][0], "preflight")
		w("| BENCH_COMPARE (%s) | %d | %d | %s | | %d MiB |\n", filepath.Base(epCmds[1][0]), scaleNodes, len(all.Items), ms(med(ep[1])), cRSS/1024)
	}

	// The targets, judged on this run's figures.
	verdict := func(ok bool, miss string) string {
		if ok {
			return "met"
		}
		return "not met: " + miss
	}
	by := func(got, want float64) string { return fmt.Sprintf("%.0f%% over", 100*(got/want-1)) }
	w("\n## Against the targets\n\nJudged by the benchmark on this run's figures.\n\n")
	w("| target | measured | |\n|---|---|---|\n")
	for _, r := range results {
		switch {
		case r.nodes <= 5:
			w("| status through kubectl within 10%% of the floor, %d nodes | %.2fx the floor | %s |\n", r.nodes, r.viaFloor, verdict(r.viaFloor <= 1.10, by(r.viaFloor, 1.10)))
		case r.nodes < 255:
			w("| status through kubectl <= 1.0x `kubectl get pod -n iomesh-system`, %d nodes | %.2fx | %s |\n", r.nodes, r.viaGet, verdict(r.viaGet <= 1.0, by(r.viaGet, 1.0)))
		default:
			w("| status through kubectl <= 0.8x `kubectl get pod -n iomesh-system`, %d nodes | %.2fx | %s |\n", r.nodes, r.viaGet, verdict(r.viaGet <= 0.8, by(r.viaGet, 0.8)))
		}
		w("| the plugin alone <= 0.6x `kubectl get pod -n iomesh-system`, %d nodes | %.2fx | %s |\n", r.nodes, r.aloneGet, verdict(r.aloneGet <= 0.6, by(r.aloneGet, 0.6)))
		w("| plan through kubectl <= 0.8x one `helm upgrade --dry-run=server` (Helm 4 CLI), %d nodes | %.2fx | %s |\n", r.nodes, r.planRatio, verdict(r.planRatio <= 0.8, by(r.planRatio, 0.8)))
		w("| plan through kubectl <= 0.8x one `helm upgrade --dry-run=server` (Helm 3 CLI), %d nodes | %.2fx | %s |\n", r.nodes, r.plan3Ratio, verdict(r.plan3Ratio <= 0.8, by(r.plan3Ratio, 0.8)))
	}
	l := results[len(results)-1]
	w("| status 4 API requests, no discovery | %d, %d discovery | %s |\n", l.statusReqs, l.statusDisc, verdict(l.statusReqs == 4 && l.statusDisc == 0, "more requests"))
	w("| preflight <= 8 API requests, no discovery | %d, %d discovery | %s |\n", l.preflightReqs, l.preflightDisc, verdict(l.preflightReqs <= 8 && l.preflightDisc == 0, "the ninth reads the operator Deployment for operator.ready, the tenth the DaemonSet pods for the nodes' readiness"))
	w("| preflight <= 300 ms through kubectl, %d nodes | %s | %s |\n", l.nodes, ms(l.preflight), verdict(l.preflight <= 300*time.Millisecond, by(float64(l.preflight), float64(300*time.Millisecond))))
	w("| preflight <= 100 MiB peak RSS, %d nodes | %d MiB | %s |\n", l.nodes, l.preflightRSS/1024, verdict(l.preflightRSS <= 100*1024, by(float64(l.preflightRSS), 100*1024)))
	w("| start-up (`version --client`, the plugin alone) <= 30 ms | %s | %s |\n", ms(startup), verdict(startup <= 30*time.Millisecond, by(float64(startup), float64(30*time.Millisecond))))
	w("| scale notices the last Ready pod within 1 s | %s | %s |\n", ms(lat), verdict(lat < time.Second, by(float64(lat), float64(time.Second))))
	if a := os.Getenv("BENCH_ARCHIVE"); a != "" {
		size := fileSize(a)
		w("| release archive <= 25 MB | %.1f MB | %s |\n", float64(size)/1e6, verdict(size <= 25e6, by(float64(size), 25e6)))
	}

	header := fmt.Sprintf("Machine: %d cores (%s), %s; %s; Kubernetes %s (local control plane, kwok %s); %s.\nMode: %s, %d runs per median (status, the plugin alone, kubectl's start-up and `kubectl get pod` %d rounds each, one after the other; the plan and helm's dry run alternated).\n\n",
		runtime.NumCPU(), cpuModel(), memTotal(), runtime.Version(), "v1.36.3", "v0.8.0", kubectlVersion(t), map[bool]string{true: "smoke", false: "full"}[smoke], runs, pairRuns)
	out := header + report.String()
	t.Log("\n" + out)
	if path := os.Getenv("BENCH_OUT"); path != "" {
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func scaleLatency(t *testing.T, target int) (latency time.Duration, waitRequests int, total time.Duration) {
	t.Helper()
	setNodes(t, target)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var lastReady time.Time
	ready := map[string]bool{}
	watcher, err := env.kube.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: "app=iomesh-chunk"})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for ev := range watcher.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type == watch.Deleted {
				continue
			}
			isReady := false
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					isReady = true
				}
			}
			mu.Lock()
			if isReady && !ready[p.Name] {
				ready[p.Name] = true
				lastReady = time.Now()
			}
			mu.Unlock()
		}
	}()
	cmd := exec.Command("kubectl", "iomesh", "scale", "--chunk", fmt.Sprint(target), "--yes", "--timeout", "15m", "-v=6")
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var tableAt time.Time
	done := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "NAME ") && tableAt.IsZero() {
				tableAt = time.Now()
			}
		}
		close(done)
	}()
	waiting := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Waiting up to") {
			waiting = true
		}
		if _, ok := responseURL(line); waiting && ok {
			waitRequests++
		}
	}
	<-done
	if err := cmd.Wait(); err != nil {
		t.Fatalf("scale to %d: %v", target, err)
	}
	total = tableAt.Sub(start)
	mu.Lock()
	defer mu.Unlock()
	if len(ready) < target-3 {
		t.Fatalf("saw only %d chunk pods turn Ready", len(ready))
	}
	if tableAt.IsZero() || lastReady.IsZero() || tableAt.Before(lastReady) || waitRequests == 0 {
		t.Fatalf("the latency was not measured: table at %v, last Ready at %v, %d requests while waiting", tableAt, lastReady, waitRequests)
	}
	return tableAt.Sub(lastReady), waitRequests, total
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			return strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
		}
	}
	return runtime.GOARCH
}

func memTotal() string {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "MemTotal:") {
			var kb int64
			fmt.Sscanf(strings.TrimPrefix(l, "MemTotal:"), "%d", &kb)
			return fmt.Sprintf("%.0f GiB RAM", float64(kb)/1024/1024)
		}
	}
	return "unknown RAM"
}

func kubectlVersion(t *testing.T) string { return kubectlVersionOf(t, "kubectl") }

func kubectlVersionOf(t *testing.T, kubectl string) string {
	r := run(t, nil, kubectl, "version", "--client")
	return "kubectl " + strings.TrimSpace(strings.TrimPrefix(strings.SplitN(r.stdout, "\n", 2)[0], "Client Version: "))
}

// mustApplyMethod fails unless the release's latest revision records the given apply method.
func mustApplyMethod(t *testing.T, method string) {
	t.Helper()
	mustContain(t, plugin(t, "version"), "Helm Apply Method: "+method)
}
