package scale

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/scaleplan"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

const secret = `---
# Source: iomesh/templates/webhook.yaml
apiVersion: v1
kind: Secret
metadata:
  name: iomesh-webhook-cert
  namespace: iomesh-system
data:
  tls.crt: %s
`

const sts = `---
# Source: iomesh/templates/chunk.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: iomesh-chunk
  namespace: iomesh-system
spec:
  replicas: %d
  serviceName: iomesh-chunk
`

const kept = `---
# Source: iomesh/charts/csi-driver/templates/snapshotter.yaml
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: volumesnapshots.snapshot.storage.k8s.io
  annotations:
    helm.sh/resource-policy: keep
`

const subchart = `---
# Source: iomesh/charts/zookeeper-operator/templates/operator.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: iomesh-zookeeper-operator
  namespace: iomesh-system
spec:
  replicas: 1
`

func manifest(cert string, chunk int, extra ...string) string {
	return strings.Replace(secret, "%s", cert, 1) + strings.Replace(sts, "%d", itoa(chunk), 1) + strings.Join(extra, "")
}

func itoa(n int) string {
	return string(rune('0' + n))
}

var counts = values.Change{FromChunk: 3, ToChunk: 5, FromMeta: 3, ToMeta: 3}

func TestGuardPassesOnlyTheCounts(t *testing.T) {
	g, err := Check(Renders{
		Deployed: manifest("OLD", 3, subchart, kept),
		Current:  manifest("A", 3, subchart), // the kept CRD left the render, as after the first install
		Again:    manifest("B", 3, subchart),
		New:      manifest("C", 5, subchart),
	}, counts)
	if err != nil {
		t.Fatal(err)
	}
	if !g.OK() || len(g.Scale) != 1 || g.Scale[0].Path != "spec.replicas" || g.Objects != 3 {
		t.Fatalf("guard %+v", g)
	}
	if len(g.Kept) != 1 || !strings.Contains(g.Kept[0], "volumesnapshots") {
		t.Fatalf("kept %v", g.Kept)
	}
	if len(g.Pinned) != 1 || g.Pinned[0].Fields[0] != "data.tls.crt" || !g.Pins["Secret iomesh-system/iomesh-webhook-cert"]["data.tls.crt"] {
		t.Fatalf("pinned %+v", g.Pinned)
	}
}

func TestGuardRefuses(t *testing.T) {
	for name, r := range map[string]Renders{
		// a field that does not move with the counts
		"unexplained change": {Deployed: manifest("O", 3), Current: manifest("A", 3), Again: manifest("B", 3),
			New: strings.Replace(manifest("C", 5), "serviceName: iomesh-chunk", "serviceName: other", 1)},
		// an object the new values add or remove
		"added object":   {Deployed: manifest("O", 3), Current: manifest("A", 3), Again: manifest("B", 3), New: manifest("C", 5, subchart)},
		"removed object": {Deployed: manifest("O", 3, subchart), Current: manifest("A", 3, subchart), Again: manifest("B", 3, subchart), New: manifest("C", 5)},
		// a removed object without the keep policy is a loss, not a keep
		"drift loss": {Deployed: manifest("O", 3, subchart), Current: manifest("A", 3), Again: manifest("B", 3), New: manifest("C", 5)},
		// the chart renders differently from what is deployed
		"drift change": {Deployed: manifest("O", 3), Current: strings.Replace(manifest("A", 3), "iomesh-chunk\n", "x\n", 1),
			Again: strings.Replace(manifest("B", 3), "iomesh-chunk\n", "x\n", 1), New: strings.Replace(manifest("C", 5), "iomesh-chunk\n", "x\n", 1)},
		// a count field that moves, but not from the old count to the new one
		"wrong count": {Deployed: manifest("O", 3), Current: manifest("A", 3), Again: manifest("B", 3), New: manifest("C", 4)},
	} {
		g, err := Check(r, counts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if g.OK() {
			t.Errorf("%s: the guard let it through: %+v", name, g)
		}
	}
	if _, err := Check(Renders{Deployed: "---\nkind: [", Current: "", Again: "", New: ""}, counts); err == nil {
		t.Fatal("a broken manifest was accepted")
	}
}

func TestGuardMetaCount(t *testing.T) {
	c := values.Change{FromChunk: 3, ToChunk: 3, FromMeta: 3, ToMeta: 5}
	g, err := Check(Renders{Deployed: manifest("O", 3), Current: manifest("A", 3), Again: manifest("B", 3), New: manifest("C", 5)}, c)
	if err != nil {
		t.Fatal(err)
	}
	// The StatefulSet in these renders is chunk's shape, but only the numbers are judged: 3 -> 5
	// follows from the meta count.
	if !g.OK() {
		t.Fatalf("meta 3 -> 5 not explained: %+v", g.Unexplained)
	}
	if explained(g.Scale[0], values.Change{FromChunk: 3, ToChunk: 3, FromMeta: 3, ToMeta: 3}) {
		t.Fatal("a change explained by no count")
	}
}

// A step's render refusal is reported with its differences even when the run's time ran out or
// its Lease was lost at the same moment.
func TestStepGuardRefusalOutlivesTheStop(t *testing.T) {
	s := Step{Step: scaleplan.Step{Component: "chunk", Pod: "iomesh-chunk-3", From: 4, To: 3}}
	for _, cause := range []error{context.DeadlineExceeded, ErrLeaseLost} {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(cause)
		r := &run{plan: &job{Plan: &scaleplan.Plan{}, steps: []Step{s, s}}, acted: true, wrote: 1,
			h: Hooks{Resume: func(int) string { return "kubectl iomesh scale --chunk 3" }}}
		err := r.stopped(ctx, 1, s, &Refused{Guard: &scaleplan.Guard{Objects: 1}, Err: errors.New("refused by render.identical")})
		var refused *Refused
		if !errors.As(err, &refused) || refused.Guard == nil || exitcode.Of(err) != exitcode.Refused ||
			!strings.Contains(err.Error(), "at step 2 of 2 (iomesh-chunk-3)") || !strings.Contains(err.Error(), "run `kubectl iomesh scale --chunk 3 --skip-check render.identical`") {
			t.Fatalf("%v: %v", cause, err)
		}
	}
}
