//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-iomesh/kubectl-iomesh/test/standin/drain"
)

// The evidence model (docs/scale-in.md) on the local control plane, asserted from the stand-in
// operator's own record of when a chunk really left and of pods that went while registered.

// A live count above the values (someone edited the IOMeshCluster and scaled the StatefulSet):
// a lower from the values would remove iomesh-chunk-5, whose chunk 6 is registered. Refused
// before anything is unregistered, and status and preflight say so.
func TestScaleInLiveCountAboveTheValues(t *testing.T) {
	proofCluster(t)
	before := readRelease(t)
	ctx := context.Background()
	if _, err := env.dyn.Resource(iomeshGVR).Namespace(ns).Patch(ctx, relName, types.MergePatchType, []byte(`{"spec":{"chunk":{"replicas":6}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.kube.AppsV1().StatefulSets(ns).Patch(ctx, relName+"-chunk", types.MergePatchType, []byte(`{"spec":{"replicas":6}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPodsReady(t, "app=iomesh-chunk", 6)
	eventually(t, 60*time.Second, "6 chunks registered", func() bool {
		obj, err := env.dyn.Resource(iomeshGVR).Namespace(ns).Get(ctx, relName, metav1.GetOptions{})
		return err == nil && healthyChunks(obj.Object) == 6
	})
	r := plugin(t, "scale", "--chunk", "4", "--chunk-id", "5", "--yes")
	if r.code != 3 {
		t.Fatalf("want exit 3:\n%s", r)
	}
	mustContain(t, r, "counts.agree", "release values (revision 1) 5", "IOMeshCluster spec.chunk.replicas 6", "StatefulSet spec.replicas 6", "iomesh-chunk-5")
	if u := unregisters(t); len(u) != 0 {
		t.Fatalf("a refusal unregistered: %v", u)
	}
	assertUnchanged(t, before)
	if p := plugin(t, "preflight", "--chunk", "4"); p.code != 3 || !strings.Contains(p.stdout, "IOMeshCluster spec.chunk.replicas 6") {
		t.Fatalf("preflight: %s", p)
	}
	if s := plugin(t, "status"); s.code != 0 || !strings.Contains(s.stdout, "the chunk counts disagree") {
		t.Fatalf("status: %s", s)
	}
	nothingLost(t)
	record("scale-in evidence", "live chunk count (IOMeshCluster spec, StatefulSet, a sixth pod) above the release values", "exit 3 naming the three numbers and the pod beyond; nothing unregistered, release unchanged; status and preflight say so")
}

// A status that leaves out the chunk of the pod to remove: absence is not "no chunk".
func TestScaleInChunkLeftOutOfTheStatus(t *testing.T) {
	proofCluster(t)
	before := readRelease(t)
	annotate(t, drain.OmitAnnotation, "5", func(o map[string]interface{}) bool { return healthyChunks(o) == 4 })
	r := plugin(t, "scale", "--chunk", "4", "--yes")
	if r.code != 3 {
		t.Fatalf("want exit 3:\n%s", r)
	}
	mustContain(t, r, "scale-in.chunk-mapped", "IOMesh lists no chunk for iomesh-chunk-4", "--no-chunk iomesh-chunk-4")
	if u := unregisters(t); len(u) != 0 {
		t.Fatalf("a refusal unregistered: %v", u)
	}
	assertUnchanged(t, before)
	nothingLost(t)
	record("scale-in evidence", "chunkSummary leaves out the registered chunk of the pod to remove", "exit 3 asking for --no-chunk or --chunk-id; nothing unregistered, release unchanged")
}

// An unregister IOMesh rejects, then its chunk left out of the status, then the same command:
// only the intent is recorded, so the unregister is sent again for iomeshctl's answer; its
// refusal is unknown (exit 3 with the by-hand check); once IOMesh accepts, the same command
// finishes, and the chunk leaves before its pod.
func TestScaleInRejectedUnregisterThenLeftOut(t *testing.T) {
	proofCluster(t)
	before := readRelease(t)
	annotate(t, "standin.iomesh.com/unregister-refused", "chunk 5: rejected by meta", func(map[string]interface{}) bool { return true })
	r := plugin(t, "scale", "--chunk", "4", "--yes")
	if r.code != 1 {
		t.Fatalf("a rejected unregister: want exit 1:\n%s", r)
	}
	mustContain(t, r, "unregistering chunk 5 failed", "rejected by meta")
	if got := leaseRecord(t); got != "5" {
		t.Fatalf("the Lease must keep the intent: %q", got)
	}
	annotate(t, drain.OmitAnnotation, "5", func(o map[string]interface{}) bool { return healthyChunks(o) == 4 })
	r = plugin(t, "scale", "--chunk", "4", "--yes")
	if r.code != 3 {
		t.Fatalf("the same command with the chunk left out: want exit 3:\n%s", r)
	}
	mustContain(t, r, "no run saw its unregister finish", "chunk list", "--chunk-unregistered 5")
	if now := readRelease(t); now.revision != before.revision {
		t.Fatalf("lowered without evidence: revision %d", now.revision)
	}
	if u := unregisters(t); len(u) != 2 {
		t.Fatalf("want the first unregister and one sent for iomeshctl's answer: %v", u)
	}
	annotate(t, "standin.iomesh.com/unregister-refused", "", func(map[string]interface{}) bool { return true })
	r = plugin(t, "scale", "--chunk", "4", "--yes", "--timeout", "3m")
	if r.code != 0 {
		t.Fatalf("once IOMesh accepts, the same command finishes:\n%s", r)
	}
	if readRelease(t).revision != before.revision+1 {
		t.Fatal("want one revision")
	}
	waitPodsReady(t, "app=iomesh-chunk", 4)
	nothingLost(t, "5")
	record("scale-in evidence", "an unregister rejected, then its chunk left out of chunkSummary, then the same command", "exit 1, then exit 3 with the by-hand check (only the intent was recorded), then, once accepted, chunk 5 leaves before its pod")
}
