//go:build e2e

package e2e

// Bad input, faults and least privilege: every refusal exits by the contract, says what was wrong
// and what to do, and leaves the release as it was (checked with the real helm CLI).

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"
)

// reliabilityLog collects what docs/reliability.md tabulates.
var reliabilityLog struct {
	sync.Mutex
	rows []string
}

func record(kind, name, outcome string) {
	reliabilityLog.Lock()
	defer reliabilityLog.Unlock()
	reliabilityLog.rows = append(reliabilityLog.rows, fmt.Sprintf("| %s | %s | %s |", kind, name, outcome))
}

// writeReliability puts the cases the suite recorded, and their counts, into the reliability
// document between its markers, after a whole run that passed (a run narrowed with -run would
// publish a partial table).
func writeReliability() error {
	path := os.Getenv("RELIABILITY_OUT")
	if path == "" {
		return nil
	}
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" {
		fmt.Fprintln(os.Stderr, "e2e: -run narrows the suite; not writing", path)
		return nil
	}
	reliabilityLog.Lock()
	defer reliabilityLog.Unlock()
	count := map[string]int{}
	unchanged, refusals := 0, 0
	for _, r := range reliabilityLog.rows {
		cells := strings.Split(r, " | ")
		kind := strings.TrimPrefix(cells[0], "| ")
		count[kind]++
		if kind == "bad input" {
			refusals++
			if strings.Contains(r, "release unchanged") {
				unchanged++
			}
		}
	}
	var b strings.Builder
	b.WriteString("| | count |\n|---|---|\n")
	fmt.Fprintf(&b, "| bad-input cases tried | %d |\n", count["bad input"])
	fmt.Fprintf(&b, "| refused with the release unchanged (same revision, values and chart version, read with the helm CLI) | %d |\n", unchanged)
	fmt.Fprintf(&b, "| faults made | %d |\n", count["fault"])
	fmt.Fprintf(&b, "| security cases | %d |\n", count["security"])
	fmt.Fprintf(&b, "| GitOps ownership cases | %d |\n", count["gitops"])
	fmt.Fprintf(&b, "| isolation checks (test traffic stays on the machine) | %d |\n", count["isolation"])
	fmt.Fprintf(&b, "| scale-in runs (1.0.x with unregister, 1.2, directly managed) | %d |\n", count["scale-in"])
	fmt.Fprintf(&b, "| scale-in faults (migration in process, no room, iomeshctl refusing) | %d |\n", count["scale-in fault"])
	fmt.Fprintf(&b, "| scale-in interruptions and resumptions | %d |\n", count["scale-in interruption"])
	fmt.Fprintf(&b, "| scale-in concurrency and permission cases | %d |\n", count["scale-in concurrency"]+count["scale-in permission"])
	fmt.Fprintf(&b, "| scale-in chunk proofs and positive-evidence cases (asserted from the stand-in operator's record) | %d |\n", count["scale-in chunk proof"]+count["scale-in positive evidence"])
	fmt.Fprintf(&b, "| node readiness cases (iSCSI, CSI node plugin, capacity, dataCIDR) | %d |\n", count["readiness"])
	b.WriteString("\n| kind | case | outcome |\n|---|---|---|\n")
	b.WriteString(strings.Join(reliabilityLog.rows, "\n") + "\n")
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	text := string(doc)
	const begin, end = "<!-- make e2e: begin -->\n", "<!-- make e2e: end -->"
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %q ... %q markers", path, strings.TrimSpace(begin), end)
	}
	if refusals != unchanged {
		return fmt.Errorf("%d refusals recorded, %d with the release unchanged", refusals, unchanged)
	}
	return os.WriteFile(path, []byte(text[:i+len(begin)]+b.String()+text[j:]), 0o644)
}

type badCase struct {
	name string
	env  []string
	args []string
	code int
	msg  string
}

func TestBadInput(t *testing.T) {
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(4)})
	before := readRelease(t)
	broken := filepath.Join(t.TempDir(), "iomesh")
	if out, err := exec.Command("cp", "-r", filepath.Join(env.root, "deploy", "charts", "iomesh"), broken).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	if err := os.RemoveAll(filepath.Join(broken, "charts", "csi-driver")); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(t.TempDir(), "garbage.kubeconfig")
	if err := os.WriteFile(garbage, []byte("this: is: not: a kubeconfig\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []badCase{
		{"--chunk -1", nil, []string{"scale", "--chunk", "-1"}, 2, "is negative"},
		{"--chunk 0", nil, []string{"scale", "--chunk", "0"}, 2, "is not a pod count"},
		{"--chunk 2", nil, []string{"scale", "--chunk", "2", "--yes"}, 3, "at least 3 chunk pods"},
		{"--chunk abc", nil, []string{"scale", "--chunk", "abc"}, 2, "not a whole number"},
		{"--chunk 1e3", nil, []string{"scale", "--chunk", "1e3"}, 2, "not a whole number"},
		{"--chunk 256", nil, []string{"scale", "--chunk", "256", "--yes"}, 3, "at most 255 chunk pods"},
		{"--chunk 99999999999", nil, []string{"scale", "--chunk", "99999999999"}, 2, "out of range"},
		{"--meta 1", nil, []string{"scale", "--meta", "1", "--yes"}, 3, "3 or 5 meta pods"},
		{"--meta 2", nil, []string{"scale", "--meta", "2", "--yes"}, 3, "3 or 5 meta pods"},
		{"--meta 4", nil, []string{"scale", "--meta", "4", "--yes"}, 3, "3 or 5 meta pods"},
		{"--meta 6", nil, []string{"scale", "--meta", "6", "--yes"}, 3, "3 or 5 meta pods"},
		{"no target", nil, []string{"scale", "--yes"}, 2, "give a target"},
		{"unknown flag", nil, []string{"scale", "--chunk", "4", "--bogus"}, 2, "unknown flag: --bogus"},
		{"unknown command", nil, []string{"rescale"}, 2, `unknown command "rescale"`},
		{"positional argument", nil, []string{"scale", "--chunk", "4", "now"}, 2, "takes no arguments"},
		{"beyond the licence", nil, []string{"scale", "--chunk", "5", "--yes"}, 3, "maxChunkNum of 4"},
		{"beyond the eligible nodes", nil, []string{"scale", "--chunk", "6", "--yes", "--skip-check", "license.chunk-quota"}, 3, "6 chunk pods need 6 nodes"},
		{"unknown release", nil, []string{"scale", "--chunk", "4", "--release", "nope", "--yes"}, 1, `Helm release "nope" not found`},
		{"wrong namespace", nil, []string{"scale", "--chunk", "4", "-n", "default", "--yes"}, 1, `not found in namespace "default"`},
		{"--timeout -1", nil, []string{"scale", "--chunk", "4", "--timeout", "-1"}, 2, "timeout"},
		{"--timeout -1s", nil, []string{"scale", "--chunk", "4", "--timeout", "-1s"}, 2, "is negative"},
		{"--chart nowhere", nil, []string{"scale", "--chunk", "4", "--chart", "/nonexistent/iomesh.tgz", "--yes"}, 3, "no such file"},
		{"--chart other version", nil, []string{"scale", "--chunk", "4", "--chart", filepath.Join(env.chartDir, "iomesh-v1.1.0.tgz"), "--yes"}, 3, "is version v1.1.0, but the release runs v1.0.1"},
		{"--chart missing a subchart", nil, []string{"scale", "--chunk", "4", "--chart", broken, "--yes"}, 3, "missing in charts/ directory: csi-driver"},
		{"unreachable chart repository", nil, []string{"scale", "--chunk", "4", "--repo", "http://127.0.0.1:1", "--yes"}, 3, "reading the index of chart repository"},
		{"--chart with --repo", nil, []string{"scale", "--chunk", "4", "--chart", "x", "--repo", "y"}, 2, "give one"},
		{"-o without --dry-run", nil, []string{"scale", "--chunk", "4", "-o", "yaml"}, 2, "--dry-run only"},
		{"unknown output format", nil, []string{"scale", "--chunk", "4", "--dry-run", "-o", "xml"}, 2, "unknown output format"},
		{"unknown check ID", nil, []string{"scale", "--chunk", "4", "--skip-check", "nodes.bogus"}, 2, "is not a check"},
		{"missing kubeconfig", []string{"KUBECONFIG=/nonexistent/kubeconfig"}, []string{"scale", "--chunk", "4", "--yes"}, 1, "no cluster in the kubeconfig (/nonexistent/kubeconfig)"},
		{"invalid kubeconfig", []string{"KUBECONFIG=" + garbage}, []string{"scale", "--chunk", "4", "--yes"}, 1, "kubeconfig"},
		{"context that does not exist", nil, []string{"scale", "--chunk", "4", "--context", "nope", "--yes"}, 1, `context "nope" does not exist`},
		{"unreachable API server", nil, []string{"scale", "--chunk", "4", "--server", "https://127.0.0.1:1", "--yes"}, 1, "cannot reach the Kubernetes API server"},
		{"preflight --chunk abc", nil, []string{"preflight", "--chunk", "abc"}, 2, "not a whole number"},
		{"status -o xml", nil, []string{"status", "-o", "xml"}, 2, "unknown output format"},
		{"no terminal, no --yes", nil, []string{"scale", "--chunk", "4"}, 2, "pass --yes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.env, "kubectl", append([]string{"iomesh"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.msg) {
				t.Fatalf("want exit %d and %q:\n%s", tc.code, tc.msg, r)
			}
			assertUnchanged(t, before)
			record("bad input", tc.name, fmt.Sprintf("exit %d, release unchanged", r.code))
		})
	}
}

func TestBadReleaseStates(t *testing.T) {
	// A count stored as a string.
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10), values: []string{`iomesh.chunk.replicaCount="3"`}})
	before := readRelease(t)
	r := plugin(t, "scale", "--chunk", "4", "--yes")
	if r.code != 3 || !strings.Contains(r.stderr, `iomesh.chunk.replicaCount is the string "3"`) {
		t.Fatalf("string count: %s", r)
	}
	assertUnchanged(t, before)
	record("bad input", "replicaCount stored as a string", "exit 3, release unchanged")

	// The last revision failed.
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10)})
	// A scale starts from the last deployed revision, as Helm's upgrade does, and keeps the
	// failed one in the history.
	addRevision(t, rcommon.StatusFailed, "Upgrade \"iomesh\" failed: admission webhook denied the request")
	r = plugin(t, "preflight", "--chunk", "4")
	mustContain(t, r, "[WARN] release.deployed", "revision 2 failed", "a scale starts from revision 1, the last deployed", "helm rollback iomesh 1 -n iomesh-system")
	r = plugin(t, "scale", "--chunk", "4", "--yes", "--timeout", "2m")
	if r.code != 0 || !strings.Contains(r.stdout, "revision 2 -> 3") {
		t.Fatalf("scale after a failed revision: %s", r)
	}
	hist := helmHistory(t, relName, ns)
	if len(hist) != 3 || hist[1].Status != "failed" || hist[2].Status != "deployed" {
		t.Fatalf("history after the scale: %+v", hist)
	}
	record("fault", "last revision failed", "warning; planned from the last deployed revision, failed revision kept, converged")

	// A release in pending-upgrade.
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10)})
	markPending(t)
	before = readRelease(t)
	r = plugin(t, "scale", "--chunk", "4", "--yes")
	if r.code != 3 || !strings.Contains(r.stderr, "pending-upgrade") {
		t.Fatalf("pending: %s", r)
	}
	assertUnchanged(t, before)
	record("bad input", "release in pending-upgrade", "exit 3, rollback command printed, release unchanged")

	// The IOMeshCluster is gone.
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10)})
	if err := env.dyn.Resource(iomeshGVR).Namespace(ns).Delete(context.Background(), relName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	before = readRelease(t)
	r = plugin(t, "scale", "--chunk", "4", "--yes")
	if r.code != 3 || !strings.Contains(r.stderr, "cluster.present") {
		t.Fatalf("missing IOMeshCluster: %s", r)
	}
	assertUnchanged(t, before)
	record("bad input", "IOMeshCluster missing", "exit 3, release unchanged")

	// Scale-in of meta 5 -> 3.
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10), values: []string{`iomesh.meta.replicaCount=5`}, skipWait: true})
	waitPodsReady(t, "app=iomesh-meta", 5)
	before = readRelease(t)
	r = plugin(t, "scale", "--meta", "3", "--yes")
	if r.code != 3 || !strings.Contains(r.stderr, "meta.no-scale-in") {
		t.Fatalf("meta scale-in: %s", r)
	}
	assertUnchanged(t, before)
	record("bad input", "meta scale-in 5 -> 3", "exit 3, release unchanged")

	// Values without the iomesh key: another chart installed as "iomesh".
	other := filepath.Join(t.TempDir(), "other")
	if err := os.MkdirAll(filepath.Join(other, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"Chart.yaml":        "apiVersion: v2\nname: other\nversion: 0.1.0\n",
		"values.yaml":       "foo: bar\n",
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\ndata:\n  foo: {{ .Values.foo }}\n",
	} {
		if err := os.WriteFile(filepath.Join(other, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustHelm(t, "install", relName, other, "-n", "other-system", "--create-namespace")
	defer mustHelm(t, "uninstall", relName, "-n", "other-system")
	r = plugin(t, "scale", "--chunk", "4", "-n", "other-system", "--yes")
	if r.code != 3 || !strings.Contains(r.stderr, "does not look like an IOMesh release") {
		t.Fatalf("values without iomesh: %s", r)
	}
	record("bad input", "values without the iomesh key", "exit 3, release unchanged")
}

// addRevision stores a new revision with status, as a failed or interrupted upgrade leaves it.
func addRevision(t *testing.T, status rcommon.Status, desc string) {
	t.Helper()
	store := storage.Init(driver.NewSecrets(env.kube.CoreV1().Secrets(ns)))
	stored, err := store.Last(relName)
	if err != nil {
		t.Fatal(err)
	}
	last, ok := stored.(*release.Release)
	if !ok {
		t.Fatalf("release record %T", stored)
	}
	next := *last
	info := *last.Info
	info.Status, info.Description = status, desc
	next.Info, next.Version = &info, last.Version+1
	if err := store.Create(&next); err != nil {
		t.Fatal(err)
	}
}

func setUnschedulable(t *testing.T, nodes []string, on bool) {
	t.Helper()
	for _, n := range nodes {
		patch := fmt.Sprintf(`{"spec":{"unschedulable":%v}}`, on)
		if _, err := env.kube.CoreV1().Nodes().Patch(context.Background(), n, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// startPlugin starts `kubectl iomesh ARGS` and returns it with a channel that closes when its
// stderr shows want.
func startPlugin(t *testing.T, want string, args ...string) (*exec.Cmd, *strings.Builder, *strings.Builder, chan struct{}) {
	t.Helper()
	cmd := exec.Command("kubectl", append([]string{"iomesh"}, args...)...)
	var out, errOut strings.Builder
	cmd.Stdout = &out
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan struct{})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		closed := false
		for sc.Scan() {
			errOut.WriteString(sc.Text() + "\n")
			if !closed && strings.Contains(sc.Text(), want) {
				close(seen)
				closed = true
			}
		}
		if !closed {
			close(seen)
		}
	}()
	return cmd, &out, &errOut, seen
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

func TestFaultsWhileWaiting(t *testing.T) {
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10)})
	free := freeNodes(t)
	// The two nodes the new chunk pods need are cordoned after the plan: the pods stay Pending.
	setUnschedulable(t, free, true)
	r := plugin(t, "scale", "--chunk", "5", "--yes", "--timeout", "8s", "--skip-check", "nodes.eligible-chunk")
	if r.code != 5 || !strings.Contains(r.stderr, "FailedScheduling") || !strings.Contains(r.stderr, "run `kubectl iomesh scale --chunk 5") {
		t.Fatalf("pods never Ready: want exit 5 naming FailedScheduling:\n%s", r)
	}
	after := readRelease(t)
	if after.revision != 2 {
		t.Fatalf("want revision 2 deployed, got %+v", after)
	}
	record("fault", "pods never Ready (nodes cordoned after the plan)", "exit 5 after --timeout, FailedScheduling named, upgrade kept")

	// SIGINT while waiting: exit 5, the revision stays, a rerun only waits.
	cmd, _, errOut, seen := startPlugin(t, "Waiting up to", "scale", "--chunk", "5", "--yes", "--timeout", "5m")
	<-seen
	time.Sleep(500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if exitCode(err) != 5 || !strings.Contains(errOut.String(), "interrupted: the upgrade stays applied") {
		t.Fatalf("SIGINT: exit %d\n%s", exitCode(err), errOut.String())
	}
	assertUnchanged(t, after)
	record("fault", "SIGINT while waiting", "exit 5, revision kept, rerun resumes waiting")

	// A node turns NotReady while the command waits, and the API server restarts: the wait
	// reports the node, resumes, and completes once the nodes are schedulable again.
	cmd, out, errOut, seen := startPlugin(t, "Waiting up to", "scale", "--chunk", "5", "--yes", "--timeout", "3m")
	<-seen
	hosts := hostOf(t, "iomesh-chunk-0")
	setNodeReady(t, hosts, false)
	restart := exec.Command(filepath.Join(env.root, "hack", "cluster.sh"), "restart-apiserver", "3")
	if b, err := restart.CombinedOutput(); err != nil {
		t.Fatalf("restarting kube-apiserver: %v\n%s", err, b)
	}
	// The scheduler and controller-manager keep caches that a crashed API server can leave
	// inconsistent ("scheduler cache is corrupted"); restart them too so later tests start clean.
	defer func() {
		for _, c := range []string{"kube-scheduler", "kube-controller-manager", "kwok"} {
			if b, err := exec.Command(filepath.Join(env.root, "hack", "cluster.sh"), "restart", c).CombinedOutput(); err != nil {
				t.Fatalf("restarting %s: %v\n%s", c, err, b)
			}
		}
	}()
	setNodeReady(t, hosts, true)
	// The node controller marked the node's pods not Ready; a kubelet would report them Ready
	// again once its node is back, which kwok does not do for running pods.
	markPodsReady(t, hosts)
	setUnschedulable(t, free, false)
	err = cmd.Wait()
	if exitCode(err) != 0 {
		t.Fatalf("wait across an API server restart: exit %d\n%s\n%s", exitCode(err), out.String(), errOut.String())
	}
	if !strings.Contains(errOut.String(), "node "+hosts+" is NotReady") {
		t.Fatalf("the NotReady node was not reported:\n%s", errOut.String())
	}
	if !strings.Contains(errOut.String(), "already at 5 chunk") || !strings.Contains(out.String(), "iomesh-chunk-4") {
		t.Fatalf("rerun did not only wait:\n%s\n%s", out.String(), errOut.String())
	}
	assertUnchanged(t, after)
	record("fault", "kube-apiserver killed and restarted while waiting", "wait resumed and completed, exit 0")
	record("fault", "node NotReady while waiting", "reported with the pods it runs")
}

func hostOf(t *testing.T, pod string) string {
	t.Helper()
	p, err := env.kube.CoreV1().Pods(ns).Get(context.Background(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p.Spec.NodeName
}

func markPodsReady(t *testing.T, node string) {
	t.Helper()
	ctx := context.Background()
	pods, err := env.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := env.kube.CoreV1().Pods(ns).Get(ctx, p.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			for i := range cur.Status.Conditions {
				if cur.Status.Conditions[i].Type == corev1.PodReady || cur.Status.Conditions[i].Type == corev1.ContainersReady {
					cur.Status.Conditions[i].Status = corev1.ConditionTrue
				}
			}
			_, err = env.kube.CoreV1().Pods(ns).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func setNodeReady(t *testing.T, name string, ready bool) {
	t.Helper()
	status := corev1.ConditionTrue
	if !ready {
		status = corev1.ConditionFalse
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := env.kube.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for i := range n.Status.Conditions {
			if n.Status.Conditions[i].Type == corev1.NodeReady {
				n.Status.Conditions[i].Status = status
				n.Status.Conditions[i].Reason = "KubeletStopped"
				n.Status.Conditions[i].Message = "test: node marked NotReady"
				if ready {
					n.Status.Conditions[i].Reason, n.Status.Conditions[i].Message = "KubeletReady", "kubelet is posting ready status"
				}
			}
		}
		_, err = env.kube.CoreV1().Nodes().UpdateStatus(context.Background(), n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentScales(t *testing.T) {
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10)})
	before := readRelease(t)
	// The first run reads the release and waits at its prompt (a terminal); the second runs to
	// the end meanwhile; then the first is answered: the runs overlap for real.
	first := startAtPrompt(t, "kubectl iomesh scale --chunk 5 --timeout 2m", "Proceed with this upgrade?")
	results := make([]result, 2)
	results[1] = plugin(t, "scale", "--chunk", "5", "--yes", "--timeout", "2m")
	results[0] = first.answer("y\n")
	if results[0].code != 3 || !strings.Contains(results[0].stdout, "changed since the plan was made") {
		t.Fatalf("the first run, answered after the second upgraded: want exit 3 and a refusal:\n%s", results[0])
	}
	after := readRelease(t)
	if after.revision != before.revision+1 {
		t.Fatalf("want exactly one new revision, got %d -> %d\n%s\n%s", before.revision, after.revision, results[0], results[1])
	}
	ok, refused := 0, 0
	for _, r := range results {
		switch r.code {
		case 0:
			ok++
		case 3:
			refused++
		default:
			t.Fatalf("unexpected exit:\n%s", r)
		}
	}
	if ok == 0 {
		t.Fatalf("neither scale succeeded:\n%s\n%s", results[0], results[1])
	}
	hist := helmHistory(t, relName, ns)
	if hist[len(hist)-1].Status != "deployed" {
		t.Fatalf("release left %s", hist[len(hist)-1].Status)
	}
	record("fault", "two scale runs at once", fmt.Sprintf("one new revision; %d succeeded, %d refused; release deployed", ok, refused))
}

func TestAdmissionRejection(t *testing.T) {
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10)})
	policy := `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: iomesh-test-chunk-limit
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - apiGroups: ["iomesh.com"]
        apiVersions: ["v1alpha1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["iomeshclusters"]
  validations:
    - expression: "object.spec.chunk.replicas <= 4"
      message: "iomesh webhook: chunk replicas exceed what this cluster accepts"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: iomesh-test-chunk-limit
spec:
  policyName: iomesh-test-chunk-limit
  validationActions: [Deny]
`
	path := filepath.Join(t.TempDir(), "vap.yaml")
	if err := os.WriteFile(path, []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	mustKubectl(t, "apply", "-f", path)
	defer run(t, nil, "kubectl", "delete", "-f", path)
	// The policy takes effect asynchronously: wait until a dry-run update is rejected.
	eventually(t, 30*time.Second, "the admission policy to apply", func() bool {
		r := run(t, nil, "kubectl", "patch", "iomeshcluster", relName, "-n", ns, "--type=merge", "-p", `{"spec":{"chunk":{"replicas":5}}}`, "--dry-run=server")
		return r.code != 0
	})
	// The new counts go through admission in a dry run before Helm writes anything: refused with
	// the policy's message, and no revision is recorded.
	before := readRelease(t)
	r := plugin(t, "scale", "--chunk", "5", "--yes", "--timeout", "30s")
	if r.code != 3 || !strings.Contains(r.stderr, "chunk replicas exceed what this cluster accepts") || !strings.Contains(r.stderr, "no revision was written") {
		t.Fatalf("admission rejection: want exit 3 with the message verbatim before any revision:\n%s", r)
	}
	assertUnchanged(t, before)
	if hist := helmHistory(t, relName, ns); len(hist) != 1 || hist[0].Status != "deployed" {
		t.Fatalf("helm history after the refusal: %+v", hist)
	}
	// --dry-run (server) meets the same rejection.
	if r = plugin(t, "scale", "--chunk", "5", "--dry-run"); r.code != 3 || !strings.Contains(r.stderr, "chunk replicas exceed what this cluster accepts") {
		t.Fatalf("server dry run: want exit 3 with the message:\n%s", r)
	}
	record("fault", "admission rejection (ValidatingAdmissionPolicy)", "exit 3 before any Helm write, message verbatim, no new revision; --dry-run refused the same way")
}

func TestTokensNeverLogged(t *testing.T) {
	freshInstall(t, install{nodes: 3, edition: "enterprise", license: enterpriseLicense(10)})
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "iomesh-token-test", Namespace: ns}}
	if _, err := env.kube.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mustKubectl(t, "create", "clusterrolebinding", "iomesh-token-test", "--clusterrole=cluster-admin", "--serviceaccount="+ns+":iomesh-token-test")
	defer run(t, nil, "kubectl", "delete", "clusterrolebinding", "iomesh-token-test")
	tok := run(t, nil, "kubectl", "create", "token", "iomesh-token-test", "-n", ns)
	token := strings.TrimSpace(tok.stdout)
	if tok.code != 0 || len(token) < 20 {
		t.Fatalf("token: %s", tok)
	}
	server, _ := os.ReadFile(filepath.Join(env.clusterDir, "server"))
	kc := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: %s, certificate-authority: %s}\nusers:\n- name: u\n  user: {token: %s}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n",
		strings.TrimSpace(string(server)), filepath.Join(env.clusterDir, "pki", "ca.crt"), token)
	path := filepath.Join(t.TempDir(), "token.kubeconfig")
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"status", "-v=10"}, {"preflight", "-v=10"}, {"scale", "--chunk", "3", "--yes", "-v=10"}} {
		r := run(t, []string{"KUBECONFIG=" + path}, "kubectl", append([]string{"iomesh"}, args...)...)
		if r.code != 0 {
			t.Fatalf("%v with a token: %s", args, r)
		}
		if strings.Contains(r.stdout+r.stderr, token) || strings.Contains(r.stdout+r.stderr, token[len(token)-16:]) {
			t.Fatalf("%v printed the bearer token", args)
		}
	}
	// The licence code is never read, at any verbosity.
	mustKubectl(t, "create", "secret", "generic", "iomesh-authorization-code", "-n", ns, "--from-literal=authorizationCode=LICENCE-CODE-4f1c")
	for _, args := range [][]string{{"status"}, {"preflight", "--chunk", "5"}, {"scale", "--chunk", "3", "--yes"}} {
		r := plugin(t, append(args, "-v=10")...)
		if strings.Contains(r.stdout+r.stderr, "iomesh-authorization-code") || strings.Contains(r.stdout+r.stderr, "LICENCE-CODE-4f1c") {
			t.Fatalf("%v touched the licence Secret:\n%s", args, r)
		}
	}
	record("security", "licence Secret iomesh-authorization-code", "never requested or printed (request log at -v=10)")
	record("security", "bearer token at -v=10 (status, preflight, scale)", "never printed")
}

// helmHistory is `helm history -o json` of a release, read with the helm CLI.
func helmHistory(t *testing.T, name, namespace string) []struct{ Status string } {
	t.Helper()
	var hist []struct{ Status string }
	if err := json.Unmarshal([]byte(mustHelm(t, "history", name, "-n", namespace, "-o", "json")), &hist); err != nil || len(hist) == 0 {
		t.Fatalf("helm history %s: %v (%d revisions)", name, err, len(hist))
	}
	return hist
}
