//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/test/standin/drain"
)

// The scale-in's promise, checked from what the stand-in operator saw happen (its record of
// chunks whose data left and of chunk pods that went while registered), not from the plugin's
// own output.

func chunkRecordPath() string { return filepath.Join(env.clusterDir, "chunks.log") }

// witnessed are the stand-in operator's records since the test began: "LEFT <id>" and
// "LOST <pod> <id>".
func witnessed(t *testing.T) []string {
	t.Helper()
	return logLines(t, chunkRecordPath())
}

// nothingLost fails the test if a chunk pod went while its chunk was registered, and checks
// that the chunks in left did leave.
func nothingLost(t *testing.T, left ...string) {
	t.Helper()
	got := witnessed(t)
	seen := map[string]bool{}
	for _, r := range got {
		if strings.HasPrefix(r, "LOST ") {
			t.Fatalf("a chunk pod went while its chunk was registered: %s (record %v)", r, got)
		}
		seen[r] = true
	}
	for _, id := range left {
		if !seen["LEFT "+id] {
			t.Fatalf("chunk %s's data never left (record %v)", id, got)
		}
	}
}

// waitLeft waits until the stand-in operator records that chunk id's data has left.
func waitLeft(t *testing.T, id string) {
	t.Helper()
	eventually(t, 60*time.Second, "the stand-in's record of chunk "+id+" leaving", func() bool {
		for _, r := range witnessed(t) {
			if r == "LEFT "+id {
				return true
			}
		}
		return false
	})
}

// proofCluster is 5 chunk pods on IOMesh 1.0.1's shape: chunks registered at storage-network
// addresses that no node or pod address matches, only the pods' own (kwok's cat).
func proofCluster(t *testing.T) {
	t.Helper()
	freshInstall(t, install{nodes: 6, edition: "enterprise", license: enterpriseLicense(10), skipWait: true,
		values: []string{`iomesh.chunk.replicaCount=5`}})
	waitPodsReady(t, "app in (iomesh-chunk,iomesh-meta)", 8)
	startOperator(t, "--register-after", "1s", "--storage-network")
	eventually(t, 60*time.Second, "5 chunks registered", func() bool {
		obj, err := env.dyn.Resource(iomeshGVR).Namespace(ns).Get(context.Background(), relName, metav1.GetOptions{})
		return err == nil && healthyChunks(obj.Object) == 5
	})
	resetIomeshctl(t)
}

// bgRun is `kubectl iomesh ...` running in the background.
type bgRun struct {
	cmd         *exec.Cmd
	out, errOut bytes.Buffer
	done        chan result
}

func background(t *testing.T, args ...string) *bgRun {
	t.Helper()
	return backgroundAs(t, nil, args...)
}

// backgroundAs is background with extra environment variables (another user's KUBECONFIG).
func backgroundAs(t *testing.T, extraEnv []string, args ...string) *bgRun {
	t.Helper()
	b := &bgRun{cmd: exec.Command("kubectl", append([]string{"iomesh"}, args...)...), done: make(chan result, 1)}
	b.cmd.Env = append(os.Environ(), extraEnv...)
	b.cmd.Stdout, b.cmd.Stderr = &b.out, &b.errOut
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := b.cmd.Wait()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
		}
		b.done <- result{stdout: b.out.String(), stderr: b.errOut.String(), code: code}
	}()
	t.Cleanup(func() { _ = b.cmd.Process.Kill() })
	return b
}

func (b *bgRun) wait(t *testing.T, within time.Duration) result {
	t.Helper()
	select {
	case r := <-b.done:
		return r
	case <-time.After(within):
		_ = b.cmd.Process.Kill()
		t.Fatalf("still running after %v", within)
	}
	return result{}
}

// signal sends sig to the plugin: kubectl execs a plugin in place, so it is the process started.
func (b *bgRun) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(b.cmd.Process.Pid, sig); err != nil {
		t.Fatal(err)
	}
}

// A named chunk is proved against the pod it removes: a duplicate is bad usage, another pod's
// chunk is refused, and nothing is unregistered; a chunk the pod's own address confirms goes.
func TestScaleInProvesTheChunk(t *testing.T) {
	proofCluster(t)
	before := readRelease(t)

	r := plugin(t, "scale", "--chunk", "3", "--chunk-id", "5", "--chunk-id", "5", "--yes")
	if r.code != 2 || !strings.Contains(r.stderr, "--chunk-id 5 is given twice") {
		t.Fatalf("duplicate --chunk-id: want exit 2:\n%s", r)
	}
	r = plugin(t, "scale", "--chunk", "4", "--chunk-id", "1", "--yes")
	if r.code != 3 || !strings.Contains(r.stderr, "chunk 1 (ip 10.234.1.10) is iomesh-chunk-0's, matched by address inside the pod") ||
		!strings.Contains(r.stderr, "iomesh-chunk-4 on kwok-node-") {
		t.Fatalf("another pod's chunk: want exit 3 with the pods and chunks:\n%s", r)
	}
	r = plugin(t, "scale", "--chunk", "3", "--chunk-id", "5", "--yes")
	if r.code != 3 || !strings.Contains(r.stderr, "give exactly one per pod") {
		t.Fatalf("one id for two pods: want exit 3:\n%s", r)
	}
	if u := unregisters(t); len(u) != 0 {
		t.Fatalf("a refusal unregistered: %v", u)
	}
	assertUnchanged(t, before)
	nothingLost(t)
	record("scale-in chunk proof", "--chunk-id given twice", "exit 2, nothing unregistered, release unchanged")
	record("scale-in chunk proof", "--chunk-id of another pod's chunk (storage-network addresses)", "exit 3 naming the pod that holds it, nothing unregistered")

	r = plugin(t, "scale", "--chunk", "4", "--dry-run")
	mustContain(t, r, "1. iomesh-chunk-4 on kwok-node-", "chunk 5 (ip 10.234.1.14, matched by address inside the pod)")
	r = plugin(t, "scale", "--chunk", "4", "--chunk-id", "5", "--yes", "--timeout", "3m")
	if r.code != 0 {
		t.Fatalf("a confirmed chunk: %s", r)
	}
	if u := unregisters(t); strings.Join(u, ";") != "chunk unregister 5" {
		t.Fatalf("unregisters %v", u)
	}
	waitPodsReady(t, "app=iomesh-chunk", 4)
	nothingLost(t, "5")
	record("scale-in chunk proof", "storage-network chunks matched by the pods' own addresses", "the plan says so; chunk 5 leaves before its pod")
}

// chunkSummary missing for 10 s while the chunk's data moves: the count waits.
func TestScaleInWaitsWhileTheSummaryIsMissing(t *testing.T) {
	proofCluster(t)
	before := readRelease(t)
	annotate(t, "standin.iomesh.com/drain-seconds", "4", func(map[string]interface{}) bool { return true })
	run := background(t, "scale", "--chunk", "4", "--yes")
	// The unregister started: called, and its drain recorded on the IOMeshCluster (hiding the
	// summary before that would race the stand-in's own write).
	eventually(t, 60*time.Second, "the unregister sent", func() bool {
		if len(unregisters(t)) != 1 {
			return false
		}
		obj, err := env.dyn.Resource(iomeshGVR).Namespace(ns).Get(context.Background(), relName, metav1.GetOptions{})
		return err == nil && obj.GetAnnotations()[drain.Annotation] != ""
	})
	annotate(t, "standin.iomesh.com/no-summary", "true", func(o map[string]interface{}) bool {
		st, _ := o["status"].(map[string]interface{})
		return st != nil && st["summary"] == nil
	})
	time.Sleep(10 * time.Second)
	if now := readRelease(t); now.revision != before.revision {
		t.Fatalf("the count was lowered while chunkSummary was missing (revision %d)", now.revision)
	}
	annotate(t, "standin.iomesh.com/no-summary", "", func(o map[string]interface{}) bool {
		st, _ := o["status"].(map[string]interface{})
		return st != nil && st["summary"] != nil
	})
	r := run.wait(t, 3*time.Minute)
	if r.code != 0 || !strings.Contains(r.stderr, "whether chunk 5 has left is not known") {
		t.Fatalf("want exit 0 after saying it waited:\n%s", r)
	}
	if readRelease(t).revision != before.revision+1 {
		t.Fatal("one revision, after the summary returned")
	}
	nothingLost(t, "5")
	record("scale-in positive evidence", "chunkSummary missing for 10 s during the migration", "the count waits; lowered once the summary shows the chunk gone")
}

// kill -9 and SIGINT mid-migration: no run saw the unregister return, so the same command waits
// out the migration, asks iomeshctl again, and takes its "not found" for unknown (exit 3 with the
// by-hand check); checked by hand and said with --chunk-unregistered, it finishes.
func TestScaleInResumesAfterKill(t *testing.T) {
	proofCluster(t)
	before := readRelease(t)
	annotate(t, "standin.iomesh.com/drain-seconds", "15", func(map[string]interface{}) bool { return true })
	sent := func(id string) func() bool {
		return func() bool {
			obj, err := env.dyn.Resource(iomeshGVR).Namespace(ns).Get(context.Background(), relName, metav1.GetOptions{})
			return err == nil && leaseRecord(t) == id && strings.Contains(obj.GetAnnotations()[drain.Annotation], id+"@")
		}
	}
	first := background(t, "scale", "--chunk", "4", "--yes")
	eventually(t, 60*time.Second, "chunk 5's unregister sent", sent("5"))
	first.signal(t, syscall.SIGKILL)
	first.wait(t, 30*time.Second)
	// The Lease still names the killed run: this one watches it go unrenewed, then takes over.
	r := plugin(t, "scale", "--chunk", "4", "--yes", "--timeout", "4m")
	if r.code != 3 || !strings.Contains(r.stderr, "did not renew Lease iomesh-scale-in") || !strings.Contains(r.stderr, "--chunk-unregistered 5") {
		t.Fatalf("after kill -9: want exit 3 with the by-hand check: %s", r)
	}
	assertUnchanged(t, before)
	waitLeft(t, "5") // checked "by hand", from the stand-in's record
	nothingLost(t, "5")
	r = plugin(t, "scale", "--chunk", "4", "--yes", "--timeout", "4m", "--chunk-unregistered", "5")
	if r.code != 0 {
		t.Fatalf("with the statement: %s", r)
	}
	if u := unregisters(t); strings.Join(u, ";") != "chunk unregister 5;chunk unregister 5" {
		t.Fatalf("unregisters %v: the first, and one for iomeshctl's answer", u)
	}
	if readRelease(t).revision != before.revision+1 {
		t.Fatal("want one revision")
	}
	waitPodsReady(t, "app=iomesh-chunk", 4)
	nothingLost(t, "5")
	record("scale-in interruption", "kill -9 mid-migration, then the same command", "waits out the Lease and the migration; no completion seen: exit 3 with the by-hand check; with --chunk-unregistered 5 it lowers; nothing lost")

	second := background(t, "scale", "--chunk", "3", "--yes")
	eventually(t, 60*time.Second, "chunk 4's unregister sent", sent("4"))
	// SIGHUP (an SSH session that drops) stops a run as SIGINT and SIGTERM do.
	second.signal(t, syscall.SIGHUP)
	if r := second.wait(t, 30*time.Second); r.code != 5 || !strings.Contains(r.stderr, "kubectl iomesh scale --chunk 3") {
		t.Fatalf("SIGHUP: want exit 5 and the command that continues:\n%s", r)
	}
	lease, err := env.kube.CoordinationV1().Leases(ns).Get(context.Background(), relName+"-scale-in", metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity != nil || leaseRecord(t) != "4" {
		t.Fatalf("after SIGHUP the Lease is let go with its record kept: %v %+v", err, lease)
	}
	r = plugin(t, "scale", "--chunk", "3", "--yes", "--timeout", "3m")
	if r.code != 3 || strings.Contains(r.stderr, "did not renew") || !strings.Contains(r.stderr, "--chunk-unregistered 4") {
		t.Fatalf("after SIGHUP the Lease is released and the rerun goes on at once, to the by-hand check: %s", r)
	}
	r = plugin(t, "scale", "--chunk", "3", "--yes", "--timeout", "3m", "--chunk-unregistered", "4")
	if r.code != 0 {
		t.Fatalf("with the statement: %s", r)
	}
	waitPodsReady(t, "app=iomesh-chunk", 3)
	nothingLost(t, "5", "4")
	record("scale-in interruption", "SIGHUP mid-migration, then the same command", "exit 5, the Lease let go with its record; the rerun continues at once to the by-hand check (exit 3); with --chunk-unregistered 4 it lowers; nothing lost")
}

// Someone else moves the count mid-migration: a scale-out is refused by the Lease, and a raw
// `helm upgrade` stops the scale-in before it lowers anything.
func TestScaleInStopsWhenTheCountMoves(t *testing.T) {
	proofCluster(t)
	before := readRelease(t)
	annotate(t, "standin.iomesh.com/drain-seconds", "20", func(map[string]interface{}) bool { return true })
	run := background(t, "scale", "--chunk", "4", "--yes")
	eventually(t, 60*time.Second, "chunk 5 recorded", func() bool { return leaseRecord(t) == "5" })

	r := plugin(t, "scale", "--chunk", "6", "--yes")
	if r.code != 3 || !strings.Contains(r.stderr, "a scale-in of iomesh is not finished") || !strings.Contains(r.stderr, "kubectl iomesh scale --chunk 4") {
		t.Fatalf("scale-out during a scale-in: want exit 3 naming the command that finishes it:\n%s", r)
	}
	assertUnchanged(t, before)
	record("scale-in concurrency", "a scale-out while a scale-in migrates", "exit 3 naming the scale-in's command; release unchanged")

	mustHelm(t, "upgrade", relName, "iomesh/iomesh", "--version", "v1.0.1", "-n", ns, "--reuse-values", "--set", "iomesh.chunk.replicaCount=6")
	res := run.wait(t, 3*time.Minute)
	if res.code != 1 || !strings.Contains(res.stderr, "Nothing further was changed") || !strings.Contains(res.stderr, "revision 2") {
		t.Fatalf("raw helm upgrade mid-migration: want exit 1, nothing lowered:\n%s", res)
	}
	now := readRelease(t)
	if now.revision != before.revision+1 || releaseChunks(now) != 6 {
		t.Fatalf("release %+v: only the raw upgrade may have written", now)
	}
	nothingLost(t)
	record("scale-in concurrency", "a raw helm upgrade to 6 mid-migration", "the scale-in stops, exit 1, count stays 6; nothing lost")
}

// The Lease goes with the release between tests.
func deleteScaleInLease(t *testing.T) {
	t.Helper()
	err := env.kube.CoordinationV1().Leases(ns).Delete(context.Background(), relName+"-scale-in", metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
}

// releaseChunks is iomesh.chunk.replicaCount in the release's user values.
func releaseChunks(r releaseState) int {
	io, _ := r.values["iomesh"].(map[string]interface{})
	chunk, _ := io["chunk"].(map[string]interface{})
	n, _ := chunk["replicaCount"].(float64)
	return int(n)
}
