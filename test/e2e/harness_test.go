//go:build e2e

// Package e2e drives the real `kubectl iomesh` (found by kubectl's plugin discovery) against the
// local control plane that hack/cluster.sh runs, with the stand-in IOMesh chart served from a
// loopback Helm repository and cross-checked with the real helm CLI.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
)

const (
	ns      = "iomesh-system"
	relName = "iomesh"
)

// env is shared by every test in the suite.
var env struct {
	root       string // repository root
	clusterDir string
	kubeconfig string
	binDir     string // kubectl-iomesh and the Helm CLIs
	helm       string // the CLI that is `helm` in this run: helm4 or helm3
	helmHome   string // HELM_* config, cache and data
	repoURL    string
	chartDir   string // packaged charts
	kube       kubernetes.Interface
	dyn        dynamic.Interface
	// The cluster's Service and pod ranges, as hack/cluster.sh wrote them to ranges.
	serviceCIDR, podCIDR netip.Prefix
}

var iomeshGVR = iomeshcluster.GVR

func TestMain(m *testing.M) {
	if os.Getenv(fluxPostRenderEnv) == "1" {
		os.Exit(fluxLabels(os.Stdin, os.Stdout))
	}
	code := 1
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
	} else {
		code = m.Run()
	}
	if code == 0 {
		if err := writeReliability(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: writing the reliability table:", err)
			code = 1
		}
	}
	if code != 0 {
		// The control plane's log tails, to read next to the failure.
		cmd := exec.Command(filepath.Join(env.root, "hack", "cluster.sh"), "logs")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		_ = cmd.Run()
	}
	os.Exit(code)
}

func setup() error {
	wd, _ := os.Getwd()
	env.root = filepath.Clean(filepath.Join(wd, "..", ".."))
	env.clusterDir = os.Getenv("IOMESH_TEST_CLUSTER_DIR")
	if env.clusterDir == "" {
		return fmt.Errorf("IOMESH_TEST_CLUSTER_DIR is not set: run the suite with `make e2e`")
	}
	env.kubeconfig = filepath.Join(env.clusterDir, "admin.kubeconfig")
	if err := readRanges(); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "iomesh-e2e-")
	if err != nil {
		return err
	}
	env.binDir = filepath.Join(tmp, "bin")
	env.helmHome = filepath.Join(tmp, "helm")
	env.chartDir = filepath.Join(tmp, "charts")
	for _, d := range []string{env.binDir, env.helmHome, env.chartDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// The plugin, built as a release would be, and the helm CLI, both on PATH.
	build := exec.Command("make", "-C", env.root, "build")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("make build: %v\n%s", err, out)
	}
	if err := copyFile(filepath.Join(env.root, "bin", "kubectl-iomesh"), filepath.Join(env.binDir, "kubectl-iomesh")); err != nil {
		return err
	}
	// The binary is its own completion helper under that name, as the README tells users.
	if err := os.Symlink("kubectl-iomesh", filepath.Join(env.binDir, "kubectl_complete-iomesh")); err != nil {
		return err
	}
	// The stand-in for the closed-source IOMesh operator, started by the tests that need it, and
	// the stand-in iomeshctl, which kwok runs as /opt/iomesh/iomeshctl for `kubectl exec` into
	// the meta pods (hack/cluster.sh links it from the cluster directory).
	for _, b := range []struct{ out, pkg string }{
		{filepath.Join(env.binDir, "standin-operator"), "./test/standin-operator"},
		{filepath.Join(env.clusterDir, "iomeshctl"), "./test/standin-iomeshctl"},
	} {
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		cmd.Dir = env.root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %v\n%s", b.pkg, err, out)
		}
	}
	// Both Helm CLIs as helm4 and helm3; `helm`, which installs and upgrades the release in the
	// tests, is the one E2E_HELM names (4 unless told), so a pass runs on releases it wrote.
	bins := map[string]string{"helm4": os.Getenv("HELM_BIN"), "helm3": os.Getenv("HELM3_BIN")}
	for name, bin := range bins {
		if bin == "" {
			return fmt.Errorf("HELM_BIN and HELM3_BIN must name the Helm 4 and Helm 3 CLIs: run the suite with `make e2e`")
		}
		if err := os.Symlink(bin, filepath.Join(env.binDir, name)); err != nil {
			return err
		}
	}
	env.helm = "helm" + os.Getenv("E2E_HELM")
	if env.helm == "helm" {
		env.helm = "helm4"
	}
	if bins[env.helm] == "" {
		return fmt.Errorf("E2E_HELM=%s: use 4 or 3", os.Getenv("E2E_HELM"))
	}
	if err := os.Symlink(bins[env.helm], filepath.Join(env.binDir, "helm")); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "e2e: releases written by %s\n", env.helm)
	os.Setenv("PATH", env.binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	os.Setenv("KUBECONFIG", env.kubeconfig)
	os.Setenv("HELM_CONFIG_HOME", filepath.Join(env.helmHome, "config"))
	os.Setenv("HELM_CACHE_HOME", filepath.Join(env.helmHome, "cache"))
	os.Setenv("HELM_DATA_HOME", filepath.Join(env.helmHome, "data"))
	os.Setenv("HELM_REPOSITORY_CONFIG", filepath.Join(env.helmHome, "config", "repositories.yaml"))
	os.Setenv("HELM_REPOSITORY_CACHE", filepath.Join(env.helmHome, "cache", "repository"))
	os.Unsetenv("NO_COLOR")

	cfg, err := clientcmd.BuildConfigFromFlags("", env.kubeconfig)
	if err != nil {
		return err
	}
	// Test setup creates thousands of pods for the benchmarks: no client-side throttling.
	cfg.QPS, cfg.Burst = 500, 1000
	if env.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	if env.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return err
	}

	// The stand-in chart at the deployed version and a newer one, so a scale that drifts to
	// the newest chart would show.
	if err := packageCharts(); err != nil {
		return err
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(env.chartDir)))
	env.repoURL = srv.URL
	if out, err := exec.Command("helm", "repo", "add", "iomesh", env.repoURL).CombinedOutput(); err != nil {
		return fmt.Errorf("helm repo add: %v\n%s", err, out)
	}
	return nil
}

// readRanges reads the cluster's Service and pod ranges from the file hack/cluster.sh writes.
func readRanges() error {
	b, err := os.ReadFile(filepath.Join(env.clusterDir, "ranges"))
	if err != nil {
		return fmt.Errorf("the cluster's ranges: %v (start the cluster with hack/cluster.sh)", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		name, cidr, _ := strings.Cut(line, " ")
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			return fmt.Errorf("ranges: %q: %v", line, err)
		}
		switch name {
		case "service":
			env.serviceCIDR = p
		case "pod":
			env.podCIDR = p
		}
	}
	if !env.serviceCIDR.IsValid() || !env.podCIDR.IsValid() {
		return fmt.Errorf("ranges: %q lacks the service or the pod range", b)
	}
	return nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}

// packageCharts packages the stand-in chart as v1.0.1 (deployed in tests), v1.1.0 (newer) and
// v1.2.0 (the 1.2 scale-in procedure) and writes the repository index.
func packageCharts() error {
	src := filepath.Join(env.root, "deploy", "charts", "iomesh")
	for _, v := range []string{"v1.0.1", "v1.1.0", "v1.2.0"} {
		out, err := exec.Command("helm", "package", src, "--version", v, "-d", env.chartDir).CombinedOutput()
		if err != nil {
			return fmt.Errorf("helm package %s: %v\n%s", v, err, out)
		}
	}
	out, err := exec.Command("helm", "repo", "index", env.chartDir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("helm repo index: %v\n%s", err, out)
	}
	return nil
}

// result is one command's outcome.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// run runs a command with the suite's environment plus extra variables.
func run(t *testing.T, extraEnv []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), extraEnv...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		code = ee.ExitCode()
	}
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// plugin runs `kubectl iomesh ARGS`, through kubectl's plugin discovery.
func plugin(t *testing.T, args ...string) result {
	t.Helper()
	return run(t, nil, "kubectl", append([]string{"iomesh"}, args...)...)
}

func mustHelm(t *testing.T, args ...string) string {
	t.Helper()
	r := run(t, nil, "helm", args...)
	if r.code != 0 {
		t.Fatalf("helm %v failed: %s", args, r)
	}
	return r.stdout
}

// setNodes makes exactly n kwok worker nodes exist and be Ready, without taints or cordons.
func setNodes(t *testing.T, n int) {
	t.Helper()
	ctx := context.Background()
	list, err := env.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, node := range list.Items {
		have[node.Name] = true
		// A node marked NotReady by a test comes back from kwok without its address, which
		// kubectl exec dials: make it again.
		if idx := nodeIndex(node.Name); idx >= n || idx < 0 || len(node.Status.Addresses) == 0 {
			have[node.Name] = false
			if err := env.kube.CoreV1().Nodes().Delete(ctx, node.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Fatal(err)
			}
			continue
		}
		// Reset what a test may have changed.
		patch := `{"spec":{"unschedulable":false,"taints":null},"metadata":{"labels":{"iomesh-test/pool":null,"iomesh.com/iscsi-installed":"true"}}}`
		if _, err := env.kube.CoreV1().Nodes().Patch(ctx, node.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("kwok-node-%d", i)
		if have[name] {
			continue
		}
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name:        name,
				Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
				// Prepared for iSCSI, as prepare-csi leaves a node: no prepare-csi pod runs there.
				Labels: map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "type": "kwok", "node-role.kubernetes.io/worker": "",
					"iomesh.com/iscsi-installed": "true"},
			},
		}
		if _, err := env.kube.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		capacity := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("512Gi"), corev1.ResourcePods: resource.MustParse("1100")}
		// kwok updates the node too: retry on conflicts.
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := env.kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Status.Capacity, cur.Status.Allocatable = capacity, capacity
			_, err = env.kube.CoreV1().Nodes().UpdateStatus(ctx, cur, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 60*time.Second, fmt.Sprintf("%d nodes Ready", n), func() bool {
		list, err := env.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil || len(list.Items) != n {
			return false
		}
		for _, node := range list.Items {
			if !nodeReady(node) {
				return false
			}
			// The node controller removes its not-ready taint a moment after the node is Ready.
			for _, taint := range node.Spec.Taints {
				if strings.HasPrefix(taint.Key, "node.kubernetes.io/") {
					return false
				}
			}
		}
		return true
	})
}

func nodeIndex(name string) int {
	var i int
	if _, err := fmt.Sscanf(name, "kwok-node-%d", &i); err != nil {
		return -1
	}
	return i
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", timeout, what)
}

// install describes a fresh IOMesh install.
type install struct {
	nodes   int
	edition string // "" = community (chart default)
	values  []string
	license map[string]interface{} // nil = none published
	// skipWait leaves waiting for the pods to the test (pods that need node labels first).
	skipWait bool
	// postRenderer is a program helm pipes the rendered manifest through (--post-renderer).
	postRenderer string
	// version is the chart version (default v1.0.1).
	version string
}

func nodeName(i int) string { return fmt.Sprintf("kwok-node-%d", i) }

// freshInstall removes any previous release and installs the stand-in chart v1.0.1 from the
// repository with the real helm CLI, then waits for the chunk and meta pods.
func freshInstall(t *testing.T, in install) {
	t.Helper()
	ctx := context.Background()
	uninstall(t)
	setNodes(t, in.nodes)
	version := in.version
	if version == "" {
		version = "v1.0.1"
	}
	args := []string{"install", relName, "iomesh/iomesh", "--version", version, "-n", ns, "--create-namespace",
		"--set", "iomesh.chunk.dataCIDR=10.234.1.0/24"}
	if in.edition != "" {
		args = append(args, "--set", "iomesh.edition="+in.edition)
	}
	for _, v := range in.values {
		args = append(args, "--set-json", v)
	}
	if in.postRenderer != "" {
		args = append(args, "--post-renderer", in.postRenderer)
	}
	cli := "helm"
	if in.postRenderer != "" {
		// Helm 4 runs post-renderers only as plugins; the program stands for Flux's
		// helm-controller, whose Helm SDK writes a client-side release as Helm 3 does.
		cli = "helm3"
	}
	mustRun(t, cli, args...)
	if in.license != nil {
		patch, _ := json.Marshal(map[string]interface{}{"status": map[string]interface{}{"license": in.license}})
		eventually(t, 20*time.Second, "licence status patched", func() bool {
			_, err := env.dyn.Resource(iomeshGVR).Namespace(ns).Patch(ctx, relName, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
			return err == nil
		})
	}
	if !in.skipWait {
		waitPodsReady(t, "app in (iomesh-chunk,iomesh-meta)", 6)
		// The CSI node plugin's pods too, before a test counts the pods on each node.
		eventually(t, 60*time.Second, "CSI node plugin pods Ready", func() bool {
			ds, err := env.kube.AppsV1().DaemonSets(ns).Get(ctx, relName+"-csi-driver-node-plugin", metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true
			}
			return err == nil && ds.Status.DesiredNumberScheduled == int32(in.nodes) && ds.Status.NumberReady == ds.Status.DesiredNumberScheduled
		})
	}
}

func uninstall(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if r := run(t, nil, "helm", "status", relName, "-n", ns); r.code == 0 {
		mustHelm(t, "uninstall", relName, "-n", ns, "--wait", "--timeout", "60s")
	}
	deleteScaleInLease(t)
	eventually(t, 60*time.Second, "IOMesh pods gone", func() bool {
		pods, err := env.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(pods.Items) == 0
	})
}

func waitPodsReady(t *testing.T, selector string, n int) {
	t.Helper()
	eventually(t, 90*time.Second, fmt.Sprintf("%d ready pods matching %s", n, selector), func() bool {
		pods, err := env.kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err != nil || len(pods.Items) != n {
			return false
		}
		for _, p := range pods.Items {
			ready := false
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					ready = true
				}
			}
			if !ready {
				return false
			}
		}
		return true
	})
}

func enterpriseLicense(maxChunk int) map[string]interface{} {
	return map[string]interface{}{
		"maxChunkNum": maxChunk, "licenseType": "SUBSCRIPTION", "softwareEdition": "ENTERPRISE",
		"expirationDate": time.Now().AddDate(1, 0, 0).UTC().Format("2006-01-02"),
	}
}

func mustContain(t *testing.T, r result, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.stdout+r.stderr, p) {
			t.Fatalf("output lacks %q:\n%s", p, r)
		}
	}
}

// promptRun is a command run under a pseudo-terminal (`script`), held at its confirmation
// prompt until the test answers: the way to make two runs overlap for real.
type promptRun struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	mu    sync.Mutex
	out   strings.Builder
	done  chan struct{}
}

// startAtPrompt starts cmdline and returns once it prints prompt.
func startAtPrompt(t *testing.T, cmdline, prompt string) *promptRun {
	t.Helper()
	p := &promptRun{cmd: exec.Command("script", "-qefc", cmdline, "/dev/null"), done: make(chan struct{})}
	p.stdin, _ = p.cmd.StdinPipe()
	stdout, _ := p.cmd.StdoutPipe()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	asked := make(chan struct{})
	go func() {
		defer close(p.done)
		buf := make([]byte, 256)
		closed := false
		for {
			n, err := stdout.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			at := strings.Contains(p.out.String(), prompt)
			p.mu.Unlock()
			if (at || err != nil) && !closed {
				close(asked)
				closed = true
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-asked:
	case <-time.After(90 * time.Second):
		t.Fatalf("%s never asked %q", cmdline, prompt)
	}
	return p
}

// answer types the answer and returns the run's outcome.
func (p *promptRun) answer(s string) result {
	_, _ = io.WriteString(p.stdin, s)
	err := p.cmd.Wait()
	<-p.done
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return result{stdout: p.out.String(), code: code}
}
