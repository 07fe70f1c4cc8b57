//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// webhookServer is the IOMeshCluster webhook the operator would serve, on 127.0.0.1: it admits
// every request until it is "down" (503, as a webhook whose operator is gone fails).
type webhookServer struct {
	srv  *httptest.Server
	down atomic.Bool
	// denyWrites denies every request that changes the spec and is not a dry run: a failure
	// Helm meets only after it has recorded the revision (the operator's own annotation and
	// status writes still go through).
	denyWrites atomic.Bool
	// holdWrites holds those requests (up to 8s, under the webhook's 10s timeout) before
	// denying them: a write in flight, for a test to kill its writer meanwhile.
	holdWrites atomic.Bool
	// calls counts the reviews, dry runs among them; held the writes held.
	calls, dryRuns, held atomic.Int64
}

func startWebhook(t *testing.T) *webhookServer {
	t.Helper()
	w := &webhookServer{}
	w.srv = httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if w.down.Load() {
			http.Error(rw, "operator down", http.StatusServiceUnavailable)
			return
		}
		var review admissionv1.AdmissionReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(rw, "bad review", http.StatusBadRequest)
			return
		}
		w.calls.Add(1)
		if review.Request.DryRun != nil && *review.Request.DryRun {
			w.dryRuns.Add(1)
		}
		dry := review.Request.DryRun != nil && *review.Request.DryRun
		review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
		if !dry && specChanges(review.Request) && (w.denyWrites.Load() || w.holdWrites.Load()) {
			if w.holdWrites.Load() {
				w.held.Add(1)
				select {
				case <-r.Context().Done():
				case <-time.After(8 * time.Second):
				}
			}
			review.Response.Allowed = false
			review.Response.Result = &metav1.Status{Message: "iomesh operator: cluster is busy"}
		}
		review.Request = nil
		_ = json.NewEncoder(rw).Encode(review)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

// specChanges says the request writes a new spec (a create, or an update whose spec differs).
func specChanges(req *admissionv1.AdmissionRequest) bool {
	var obj, old struct {
		Spec json.RawMessage `json:"spec"`
	}
	if json.Unmarshal(req.Object.Raw, &obj) != nil {
		return true
	}
	if len(req.OldObject.Raw) == 0 || json.Unmarshal(req.OldObject.Raw, &old) != nil {
		return true
	}
	var a, b interface{}
	_ = json.Unmarshal(obj.Spec, &a)
	_ = json.Unmarshal(old.Spec, &b)
	return !reflect.DeepEqual(a, b)
}

// values are the stand-in chart's values that point its webhook here.
func (w *webhookServer) values(policy string) string {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.srv.Certificate().Raw})
	return fmt.Sprintf(`webhook={"url":%q,"caBundle":%q,"failurePolicy":%q}`, w.srv.URL+"/validate-iomesh-com-v1alpha1-iomeshcluster", base64.StdEncoding.EncodeToString(ca), policy)
}

func scaleOperator(t *testing.T, replicas int) {
	t.Helper()
	mustKubectl(t, "scale", "deployment", "operator", "-n", ns, "--replicas", fmt.Sprint(replicas))
	eventually(t, 60*time.Second, fmt.Sprintf("operator at %d available", replicas), func() bool {
		d, err := env.kube.AppsV1().Deployments(ns).Get(context.Background(), "operator", metav1.GetOptions{})
		return err == nil && int(d.Status.AvailableReplicas) == replicas
	})
}

// The operator down with the webhook as shipped (failurePolicy Fail): preflight fails
// operator.ready, scale and scale --dry-run are refused, and no revision is written, even with the
// check skipped (the API server's dry run of the new counts is rejected first).
func TestOperatorDownWebhookFail(t *testing.T) {
	wh := startWebhook(t)
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10), values: []string{wh.values("Fail")}})
	waitAvailable := func() { scaleOperator(t, 1) }
	waitAvailable()
	// Up: the checks pass, the plan's server dry run goes through the webhook.
	r := plugin(t, "scale", "--chunk", "4", "--dry-run")
	if r.code != 0 {
		t.Fatalf("dry run with the operator up: %s", r)
	}
	mustContain(t, r, "Server:    the API server and its admission webhooks accepted the new counts")
	if wh.dryRuns.Load() == 0 {
		t.Fatal("the webhook saw no dry-run review")
	}
	before := readRelease(t)

	scaleOperator(t, 0)
	rv := clusterRV(t, ns, relName)
	wh.down.Store(true)
	r = plugin(t, "preflight", "--chunk", "4")
	if r.code != 3 {
		t.Fatalf("preflight with the operator down: want exit 3:\n%s", r)
	}
	mustContain(t, r, "[FAIL] operator.ready", "Deployment operator is scaled to 0", "failurePolicy Fail", "--replicas 1")
	for _, args := range [][]string{
		{"scale", "--chunk", "4", "--yes"},
		{"scale", "--chunk", "4", "--dry-run"},
		{"scale", "--chunk", "4", "--yes", "--skip-check", "operator.ready"},
		{"scale", "--chunk", "4", "--dry-run", "--skip-check", "operator.ready"},
	} {
		r = plugin(t, args...)
		if r.code != 3 {
			t.Fatalf("%v with the operator down: want exit 3:\n%s", args, r)
		}
		assertUnchanged(t, before)
		if now := clusterRV(t, ns, relName); now != rv {
			t.Fatalf("%v changed the IOMeshCluster: resourceVersion %s -> %s", args, rv, now)
		}
	}
	mustContain(t, r, "rejected the new counts for IOMeshCluster iomesh in a dry run", "no revision was written", `failed calling webhook "iomeshcluster.iomesh.com"`)
	record("fault", "operator down, webhook failurePolicy Fail", "preflight fails operator.ready; scale and its dry run exit 3 with no new revision, also with the check skipped")

	// Back up: the same scale goes through.
	wh.down.Store(false)
	waitAvailable()
	r = plugin(t, "scale", "--chunk", "4", "--yes", "--timeout", "2m")
	if r.code != 0 {
		t.Fatalf("scale with the operator back: %s", r)
	}
	if after := readRelease(t); after.revision != before.revision+1 {
		t.Fatalf("want one new revision: %+v -> %+v", before, after)
	}
}

// A webhook that ignores failures accepts the change, but no operator makes the pods: a warning.
func TestOperatorDownWebhookIgnore(t *testing.T) {
	wh := startWebhook(t)
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10), values: []string{wh.values("Ignore")}})
	scaleOperator(t, 0)
	r := plugin(t, "preflight", "--chunk", "4")
	if r.code != 0 {
		t.Fatalf("a warning only: want exit 0:\n%s", r)
	}
	mustContain(t, r, "[WARN] operator.ready", "failurePolicy Ignore", "no pods come until the operator is back")
	if r = plugin(t, "preflight", "--chunk", "4", "--fail-on-warning"); r.code != 4 {
		t.Fatalf("--fail-on-warning: want exit 4:\n%s", r)
	}
	scaleOperator(t, 1)
	record("fault", "operator down, webhook failurePolicy Ignore", "operator.ready warns; exit 4 with --fail-on-warning")
}

// The release installed the webhook with Ignore, then someone set the live one back to Fail
// with kubectl: with the operator down preflight fails, naming the live policy and the
// manifest's, and the scale is refused with no new revision.
func TestOperatorDownLiveWebhookSetToFail(t *testing.T) {
	wh := startWebhook(t)
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10), values: []string{wh.values("Ignore")}})
	mustKubectl(t, "patch", "validatingwebhookconfiguration", relName+"-validating-webhook-configuration", "--type", "json",
		"-p", `[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Fail"}]`)
	before := readRelease(t)
	scaleOperator(t, 0)
	wh.down.Store(true)
	r := plugin(t, "preflight", "--chunk", "4")
	if r.code != 3 {
		t.Fatalf("preflight, operator down, live webhook Fail: want exit 3:\n%s", r)
	}
	mustContain(t, r, "[FAIL] operator.ready", "live failurePolicy Fail, though the release manifest says Ignore: it was changed in the cluster")
	if r = plugin(t, "scale", "--chunk", "4", "--yes"); r.code != 3 {
		t.Fatalf("scale: want exit 3:\n%s", r)
	}
	assertUnchanged(t, before)
	// The live webhook gone: the write is accepted, no pods come: a warning, naming it.
	mustKubectl(t, "delete", "validatingwebhookconfiguration", relName+"-validating-webhook-configuration")
	r = plugin(t, "preflight", "--chunk", "4")
	if r.code != 0 {
		t.Fatalf("webhook gone: want exit 0:\n%s", r)
	}
	mustContain(t, r, "[WARN] operator.ready", "webhook iomesh-validating-webhook-configuration is not in the cluster")
	wh.down.Store(false)
	scaleOperator(t, 1)
	record("fault", "operator down, live webhook set back to Fail over the release's Ignore", "preflight fails operator.ready naming both policies; scale exits 3, no new revision")
}

// A failure after Helm has recorded the revision (the write itself rejected): the command says
// which revision failed and which is still deployed; the same command again plans from the
// deployed one, keeps the failed one in the history, and converges.
func TestFailureAfterTheRevisionIsWritten(t *testing.T) {
	wh := startWebhook(t)
	freshInstall(t, install{nodes: 5, edition: "enterprise", license: enterpriseLicense(10), values: []string{wh.values("Fail")}})
	scaleOperator(t, 1)
	wh.denyWrites.Store(true)
	r := plugin(t, "scale", "--chunk", "4", "--yes", "--timeout", "1m")
	if r.code != 1 {
		t.Fatalf("a write rejected after the dry run passed: want exit 1:\n%s", r)
	}
	mustContain(t, r, "the upgrade to revision 2 failed", "iomesh operator: cluster is busy", "Revision 2 is recorded as failed; revision 1 is still the one deployed", "run the same command again (it plans from revision 1")
	if hist := helmHistory(t, relName, ns); len(hist) != 2 || hist[1].Status != "failed" {
		t.Fatalf("history after the failure: %+v", hist)
	}
	wh.denyWrites.Store(false)
	r = plugin(t, "scale", "--chunk", "4", "--yes", "--timeout", "2m")
	if r.code != 0 || !strings.Contains(r.stdout, "revision 2 -> 3") {
		t.Fatalf("the same command again: %s", r)
	}
	hist := helmHistory(t, relName, ns)
	if len(hist) != 3 || hist[1].Status != "failed" || hist[2].Status != "deployed" {
		t.Fatalf("history after recovery: %+v", hist)
	}
	waitPodsReady(t, "app=iomesh-chunk", 4)
	record("fault", "write rejected after the revision was written", "exit 1 naming the failed and the deployed revision; the same command converges from the deployed one")
}
